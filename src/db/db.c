/* db.c - the query API both backends share: opening DATABASE_URL, a session
 * per request, transactions as nested savepoints, and the one place where
 * database failures become HTTP answers. */
#include "db_internal.h"

#include "../app/app_internal.h"
#include "../cache/cache_internal.h"
#include "../core/core.h"
#include "../model/model_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>

/* --- Opening -------------------------------------------------------------------- */

static bool has_prefix(const char *s, const char *prefix) {
    return !strncmp(s, prefix, strlen(prefix));
}

chopin_db *db_open(const chopin_config *cfg, char *err, size_t err_len) {
    const char *url = cfg->database_url;
    chopin_db *db = calloc(1, sizeof *db);
    if (!db || !(db->url = strdup(url))) goto oom;
    db->pool_size = cfg->database_pool_size > 0 ? cfg->database_pool_size : 1;
    db->busy_timeout_ms = cfg->database_busy_timeout_ms;
    db->connect_timeout_ms = cfg->database_connect_timeout_ms;
    pthread_mutex_init(&db->log_mu, NULL);
    if (!strcmp(url, "sqlite::memory:") || !strcmp(url, "sqlite://:memory:")) {
        char name[64];
        /* A named in-memory database shared by every connection of this
         * process (the memdb VFS), so that all workers see the same data. */
        snprintf(name, sizeof name, "file:/chopin-memory-%p?vfs=memdb", (void *)db);
        db->dialect = CHOPIN_SQLITE;
        db->sqlite_memory = true;
        if (!(db->sqlite_path = strdup(name))) goto oom;
    } else if (has_prefix(url, "sqlite://")) {
        const char *path = url + strlen("sqlite://");
        if (!*path) {
            snprintf(err, err_len, "DATABASE_URL: sqlite:// needs a file name (sqlite://app.db)");
            goto fail;
        }
        db->dialect = CHOPIN_SQLITE;
        if (!(db->sqlite_path = strdup(path))) goto oom;
    } else if (has_prefix(url, "postgres://") || has_prefix(url, "postgresql://")) {
        db->dialect = CHOPIN_POSTGRES;
        if (!(db->pg_conninfo = strdup(url))) goto oom;
    } else {
        /* Not echoed: a URL may hold a password. */
        snprintf(err, err_len,
                 "DATABASE_URL is invalid: expected sqlite://file, sqlite::memory: or "
                 "postgres://user:password@host:port/database");
        goto fail;
    }
    db->backend = db->dialect == CHOPIN_SQLITE ? &db_sqlite_backend : &db_pg_backend;
    if (db->sqlite_memory && db_sqlite_anchor(db, err, err_len)) goto fail;
    return db;
oom:
    snprintf(err, err_len, "out of memory");
fail:
    db_close(db);
    return NULL;
}

void db_close(chopin_db *db) {
    if (!db) return;
    db_sqlite_anchor_close(db);
    pthread_mutex_destroy(&db->log_mu);
    free(db->url);
    free(db->sqlite_path);
    free(db->pg_conninfo);
    free(db);
}

chopin_db_dialect chopin_db_dialect_of(const chopin_db *db) {
    return db->dialect;
}

/* --- Sessions ------------------------------------------------------------------- */

db_session *db_session_of(chopin_ctx *c) {
    if (c->db_session) return c->db_session;
    if (!c->db) {
        chopin_error(c, 500, "INTERNAL_ERROR", "no database is configured");
        return NULL;
    }
    db_session *s = chopin_alloc(c, sizeof *s);
    if (!s) {
        chopin_error(c, 500, "INTERNAL_ERROR", "out of memory");
        return NULL;
    }
    *s = (db_session){.db = c->db, .c = c, .t = ctx_task(c)};
    const db_backend *b = c->db->backend;
    if (s->t) {
        s->state = worker_local_get(s->t->w, c->db, (void *(*)(void *))b->worker_new, c->db,
                                    b->worker_free);
    } else {
        if (!c->db_detached) c->db_detached = b->worker_new(c->db);
        s->state = c->db_detached;
    }
    if (!s->state) {
        chopin_error(c, 500, "INTERNAL_ERROR", "out of memory");
        return NULL;
    }
    c->db_session = s;
    return s;
}

void db_detached_free(chopin_db *db, void *state) {
    if (state) db->backend->worker_free(state);
}

int db_wait_fd(db_session *s, int fd, int events, int64_t timeout_ms) {
    if (s->t) return chopin_wait_fd(s->c, fd, events, timeout_ms);
    struct pollfd p = {.fd = fd,
                       .events = (short)((events & CHOPIN_READABLE ? POLLIN : 0) |
                                         (events & CHOPIN_WRITABLE ? POLLOUT : 0))};
    int n;
    do n = poll(&p, 1, timeout_ms < 0 ? -1 : (int)timeout_ms);
    while (n < 0 && errno == EINTR);
    if (n <= 0) return n;
    int ready =
        (p.revents & POLLIN ? CHOPIN_READABLE : 0) | (p.revents & POLLOUT ? CHOPIN_WRITABLE : 0);
    if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) ready |= events;
    return ready;
}

/* --- Wait queues ----------------------------------------------------------------- */

static void waitq_remove(void *arg) {
    db_waiter *me = arg;
    db_waitq *q = me->q;
    db_waiter *prev = NULL;
    for (db_waiter **pp = &q->head; *pp; prev = *pp, pp = &(*pp)->next)
        if (*pp == me) {
            *pp = me->next;
            if (q->tail == me) q->tail = prev;
            return;
        }
}

int db_waitq_park(db_session *s, db_waitq *q) {
    db_waiter me = {s, q, NULL};
    if (q->tail)
        q->tail->next = &me;
    else
        q->head = &me;
    q->tail = &me;
    return task_park(s->t, waitq_remove, &me);
}

db_session *db_waitq_wake_one(db_waitq *q, int result) {
    db_waiter *w = q->head;
    if (!w) return NULL;
    q->head = w->next;
    if (!q->head) q->tail = NULL;
    task_unpark(w->s->t, result);
    return w->s;
}

void db_waitq_wake_all(db_waitq *q, int result) {
    while (db_waitq_wake_one(q, result)) continue;
}

/* --- Failures ------------------------------------------------------------------- */

static const int http_of[] = {
    [CHOPIN_DB_OK] = 200,        [CHOPIN_DB_CONFLICT] = 409,    [CHOPIN_DB_INVALID] = 422,
    [CHOPIN_DB_NOT_FOUND] = 404, [CHOPIN_DB_UNAVAILABLE] = 503, [CHOPIN_DB_CANCELLED] = 499,
    [CHOPIN_DB_MISUSE] = 500,    [CHOPIN_DB_FAILED] = 500,
};

int db_fail(db_session *s, chopin_db_status st, const char *sqlstate, const char *column,
            const char *fmt, ...) {
    chopin_db_error *e = &s->err;
    e->status = st;
    e->http_status = http_of[st];
    snprintf(e->sqlstate, sizeof e->sqlstate, "%s", sqlstate ? sqlstate : "");
    snprintf(e->column, sizeof e->column, "%s", column ? column : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->detail, sizeof e->detail, fmt, ap);
    va_end(ap);
    s->failed = true;
    if (s->tx_depth) s->tx_broken = true;
    /* Client mistakes (409, 422, 404) are answers, not incidents: only the
     * server's side is logged, and an outage once a second at most. */
    if (e->http_status < 500 || st == CHOPIN_DB_CANCELLED) return -1;
    chopin_db *db = s->db;
    int64_t now = chopin_now_ms();
    pthread_mutex_lock(&db->log_mu);
    bool quiet = st == CHOPIN_DB_UNAVAILABLE && now - db->last_warn_ms < 1000;
    if (!quiet && st == CHOPIN_DB_UNAVAILABLE) db->last_warn_ms = now;
    pthread_mutex_unlock(&db->log_mu);
    if (!quiet) {
        chopin_str rid = chopin_request_id(s->c);
        char rid_text[72];
        snprintf(rid_text, sizeof rid_text, "%.*s", (int)rid.len, rid.ptr ? rid.ptr : "");
        chopin_log(CHOPIN_LOG_ERROR,
                   st == CHOPIN_DB_UNAVAILABLE ? "database unavailable" : "database error",
                   "sqlstate", e->sqlstate, "error", e->detail, "request_id", rid_text, NULL);
    }
    return -1;
}

const chopin_db_error *chopin_db_last_error(const chopin_ctx *c) {
    const db_session *s = c->db_session;
    return s && s->failed ? &s->err : NULL;
}

/* The answer for a failure the handler left unanswered. */
static void answer_failure(chopin_ctx *c, const chopin_db_error *e) {
    char msg[160];
    switch (e->status) {
    case CHOPIN_DB_CONFLICT:
        if (e->column[0])
            snprintf(msg, sizeof msg, "a record with this %s already exists", e->column);
        else
            snprintf(msg, sizeof msg, "the record conflicts with an existing one");
        chopin_error(c, 409, "CONFLICT", msg);
        return;
    case CHOPIN_DB_INVALID: {
        static const struct {
            const char *sqlstate, *code, *why;
        } kinds[] = {
            {"23502", "required", "is required"},
            {"23503", "reference", "does not refer to an existing record"},
            {"42703", "unknown", "is not a field of this resource"},
            {"22P02", "type", "has a value of the wrong type"},
            {"2201W", "min", "must not be negative"},
        };
        const char *code = "constraint", *why = "violates a constraint";
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
            if (!strcmp(e->sqlstate, kinds[i].sqlstate)) code = kinds[i].code, why = kinds[i].why;
        chopin_field_error fe = {
            .field = e->column[0] ? e->column : "", .code = code, .message = why};
        model_error_fields(c, &fe, "the request has invalid values");
        return;
    }
    case CHOPIN_DB_NOT_FOUND:
        chopin_error(c, 404, "NOT_FOUND", "no such record");
        return;
    case CHOPIN_DB_UNAVAILABLE:
        chopin_set_header(c, "Retry-After", "1");
        chopin_error(c, 503, "UNAVAILABLE", "the database is unavailable, try again");
        return;
    case CHOPIN_DB_CANCELLED:
        return;
    default:
        chopin_error(c, 500, "INTERNAL_ERROR", "database error");
        return;
    }
}

void db_request_end(chopin_ctx *c) {
    db_session *s = c->db_session;
    if (!s) return;
    if (s->tx_depth) { /* left open by the handler: nothing of it is kept */
        s->db->backend->unpin(s, s->state, true);
        s->tx_depth = 0;
    }
    if (s->failed && !c->status) answer_failure(c, &s->err);
    c->db_session = NULL;
}

/* --- Queries -------------------------------------------------------------------- */

chopin_rows *chopin_db_query(chopin_ctx *c, const char *sql, size_t nargs, const chopin_arg *args) {
    db_session *s = db_session_of(c);
    if (!s) return NULL;
    chopin_rows *rows = NULL;
    if (s->tx_broken) {
        db_fail(s, CHOPIN_DB_MISUSE, "25P02", NULL,
                "a statement inside a failed transaction: roll it back first");
        return NULL;
    }
    if (s->db->backend->query(s, s->state, sql, 1, nargs, args, &rows)) return NULL;
    return rows;
}

chopin_rows **chopin_db_query_each(chopin_ctx *c, const char *sql, size_t n, size_t nargs,
                                   const chopin_arg *args) {
    db_session *s = db_session_of(c);
    if (!s) return NULL;
    chopin_rows **out = chopin_alloc(c, (n ? n : 1) * sizeof *out);
    if (!out) {
        db_fail(s, CHOPIN_DB_FAILED, "53200", NULL, "out of memory");
        return NULL;
    }
    if (n == 0) return out;
    if (s->tx_broken) {
        db_fail(s, CHOPIN_DB_MISUSE, "25P02", NULL,
                "a statement inside a failed transaction: roll it back first");
        return NULL;
    }
    if (s->db->backend->query(s, s->state, sql, n, nargs, args, out)) return NULL;
    return out;
}

int chopin_db_exec_script(chopin_ctx *c, const char *sql) {
    db_session *s = db_session_of(c);
    if (!s) return -1;
    if (s->tx_broken)
        return db_fail(s, CHOPIN_DB_MISUSE, "25P02", NULL,
                       "a statement inside a failed transaction: roll it back first");
    return s->db->backend->script(s, s->state, sql);
}

/* --- Transactions ----------------------------------------------------------------- */

static int run(db_session *s, const char *sql) {
    chopin_rows *ignored;
    return s->db->backend->query(s, s->state, sql, 1, 0, NULL, &ignored);
}

int chopin_db_begin(chopin_ctx *c) {
    db_session *s = db_session_of(c);
    if (!s) return -1;
    if (s->tx_depth == 0) {
        if (s->db->backend->pin(s, s->state)) return -1;
        s->tx_broken = false;
        if (run(s, "BEGIN")) {
            s->db->backend->unpin(s, s->state, false);
            return -1;
        }
    } else {
        if (s->tx_broken)
            return db_fail(s, CHOPIN_DB_MISUSE, "25P02", NULL,
                           "a savepoint inside a failed transaction");
        char sql[48];
        snprintf(sql, sizeof sql, "SAVEPOINT chopin_%d", s->tx_depth);
        if (run(s, sql)) return -1;
    }
    s->tx_depth++;
    return 0;
}

int chopin_db_commit(chopin_ctx *c) {
    db_session *s = db_session_of(c);
    if (!s) return -1;
    if (s->tx_depth == 0)
        return db_fail(s, CHOPIN_DB_MISUSE, "25000", NULL, "commit without begin");
    if (s->tx_broken) { /* what failed inside cannot be committed */
        chopin_db_rollback(c);
        return -1;
    }
    if (s->tx_depth == 1) {
        int rc = run(s, "COMMIT");
        s->tx_depth = 0;
        /* A failed COMMIT has rolled back on both databases. */
        s->db->backend->unpin(s, s->state, rc != 0);
        return rc;
    }
    char sql[48];
    snprintf(sql, sizeof sql, "RELEASE SAVEPOINT chopin_%d", s->tx_depth - 1);
    s->tx_depth--;
    return run(s, sql);
}

int chopin_db_rollback(chopin_ctx *c) {
    db_session *s = db_session_of(c);
    if (!s) return -1;
    if (s->tx_depth == 0)
        return db_fail(s, CHOPIN_DB_MISUSE, "25000", NULL, "rollback without begin");
    if (s->tx_depth == 1) {
        s->tx_depth = 0;
        s->tx_broken = false;
        s->db->backend->unpin(s, s->state, true);
        return 0;
    }
    /* Back to the savepoint; the transaction around it is usable again. */
    char sql[96];
    s->tx_depth--;
    s->tx_broken = false;
    snprintf(sql, sizeof sql, "ROLLBACK TO SAVEPOINT chopin_%d", s->tx_depth);
    int rc = run(s, sql);
    if (!rc) {
        snprintf(sql, sizeof sql, "RELEASE SAVEPOINT chopin_%d", s->tx_depth);
        rc = run(s, sql);
    }
    return rc;
}

/* --- Detached contexts ----------------------------------------------------------------- */

typedef struct {
    chopin_ctx ctx;
    chopin_arena arena;
    chopin_buf_pool pool;
} detached_ctx;

chopin_ctx *chopin_ctx_new(chopin_app *app) {
    detached_ctx *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    arena_init(&d->arena);
    buf_pool_init(&d->pool, 4);
    ctx_init(&d->ctx, &d->arena, &d->pool, &app->cfg);
    d->ctx.db = app->db;
    d->ctx.app = app;
    return &d->ctx;
}

void chopin_ctx_free(chopin_ctx *c) {
    if (!c) return;
    detached_ctx *d = (detached_ctx *)c;
    db_request_end(c);
    if (c->db && c->db_detached) db_detached_free(c->db, c->db_detached);
    if (c->cache_detached) redis_detached_free(c->cache_detached);
    ctx_finish(c);
    buf_release(&d->pool, &c->body_buf);
    buf_pool_destroy(&d->pool);
    arena_destroy(&d->arena);
    free(d);
}
