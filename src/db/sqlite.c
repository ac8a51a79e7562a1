/* sqlite.c - the SQLite backend: one connection per worker, WAL, foreign
 * keys on, statements prepared once.
 *
 * A connection serves one statement (or one transaction) at a time; other
 * requests of the worker queue for it, suspended. A write that finds the
 * database locked by another connection waits in the busy handler, which
 * sleeps the handler's coroutine rather than the worker thread, up to
 * DATABASE_BUSY_TIMEOUT, then fails with 503. */
#include "db_internal.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <time.h>

typedef struct {
    chopin_db *db;
    sqlite3 *handle;
    stmt_cache cache;
    db_session *owner; /* the session using the connection, NULL when free */
    bool pinned;       /* the owner holds it for a transaction */
    db_waitq waiters;
    int64_t busy_since_ms;
} lite_worker;

/* --- Opening ------------------------------------------------------------------- */

static int busy_wait(void *arg, int count);

static sqlite3 *open_conn(chopin_db *db, char *err, size_t err_len) {
    sqlite3 *handle = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX |
                SQLITE_OPEN_EXRESCODE;
    int rc = sqlite3_open_v2(db->sqlite_path, &handle, flags, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, err_len, "cannot open the SQLite database %s: %s",
                 db->sqlite_memory ? "in memory" : db->sqlite_path,
                 handle ? sqlite3_errmsg(handle) : sqlite3_errstr(rc));
        sqlite3_close(handle);
        return NULL;
    }
    /* WAL lets readers of other workers go on while one writes; NORMAL
     * syncs at checkpoints only, which WAL makes safe against corruption. */
    /* case_sensitive_like: LIKE means the same as on PostgreSQL. */
    const char *setup = db->sqlite_memory ? "PRAGMA foreign_keys = ON;"
                                            "PRAGMA case_sensitive_like = ON;"
                                          : "PRAGMA journal_mode = WAL;"
                                            "PRAGMA synchronous = NORMAL;"
                                            "PRAGMA foreign_keys = ON;"
                                            "PRAGMA case_sensitive_like = ON;";
    /* Switching to WAL takes a lock another process may hold for a moment
     * (another app server, `app db migrate`, a test beside this one): wait
     * for it as a query would, not fail at once. The coroutine-aware busy
     * handler replaces this once the connection serves requests. */
    sqlite3_busy_timeout(handle, db->busy_timeout_ms);
    char *msg = NULL;
    int rc_setup;
    /* SQLite answers BUSY at once, without the handler, where waiting could
     * deadlock (two connections changing the journal mode together): try
     * again for as long as the handler would have waited. */
    for (int64_t waited = 0;
         ((rc_setup = sqlite3_exec(handle, setup, NULL, NULL, &msg)) & 0xff) == SQLITE_BUSY &&
         waited < db->busy_timeout_ms;
         waited += 10) {
        sqlite3_free(msg);
        msg = NULL;
        nanosleep(&(struct timespec){0, 10 * 1000000L}, NULL);
    }
    if (rc_setup != SQLITE_OK) {
        snprintf(err, err_len, "cannot set up the SQLite database: %s", msg ? msg : "?");
        sqlite3_free(msg);
        sqlite3_close(handle);
        return NULL;
    }
    return handle;
}

int db_sqlite_anchor(chopin_db *db, char *err, size_t err_len) {
    db->sqlite_anchor = open_conn(db, err, err_len);
    return db->sqlite_anchor ? 0 : -1;
}

void db_sqlite_anchor_close(chopin_db *db) {
    if (db->sqlite_anchor) sqlite3_close(db->sqlite_anchor);
    db->sqlite_anchor = NULL;
}

static void evict(stmt_slot *slot, void *arg) {
    (void)arg;
    sqlite3_finalize(slot->stmt);
}

static void *lite_worker_new(chopin_db *db) {
    lite_worker *lw = calloc(1, sizeof *lw);
    if (!lw) return NULL;
    lw->db = db;
    return lw;
}

static void lite_worker_free(void *state) {
    lite_worker *lw = state;
    stmt_cache_clear(&lw->cache, evict, NULL);
    if (lw->handle) sqlite3_close(lw->handle);
    free(lw);
}

/* Opened on first use, so that an app that never queries creates no file. */
static int ensure_open(db_session *s, lite_worker *lw) {
    if (lw->handle) return 0;
    char err[256];
    lw->handle = open_conn(lw->db, err, sizeof err);
    if (!lw->handle) return db_fail(s, CHOPIN_DB_UNAVAILABLE, "08001", NULL, "%s", err);
    sqlite3_busy_handler(lw->handle, busy_wait, lw);
    return 0;
}

/* --- The connection, one user at a time ---------------------------------------------- */

static int acquire(db_session *s, lite_worker *lw) {
    if (lw->owner == s) return 0;
    if (!lw->owner) {
        lw->owner = s;
        return 0;
    }
    if (!s->t) /* a detached context has a connection of its own */
        return db_fail(s, CHOPIN_DB_MISUSE, "55006", NULL, "connection in use");
    /* release() hands the connection over: we own it when woken with 0. */
    if (db_waitq_park(s, &lw->waiters) < 0)
        return db_fail(s, CHOPIN_DB_CANCELLED, "57014", NULL, "request ended while queued");
    return 0;
}

static void release(lite_worker *lw) {
    lw->pinned = false;
    lw->owner = db_waitq_wake_one(&lw->waiters, 0);
}

/* SQLite calls this from inside sqlite3_step while another connection holds
 * the lock: sleep the coroutine (the worker serves others), then retry. */
static int busy_wait(void *arg, int count) {
    lite_worker *lw = arg;
    db_session *s = lw->owner;
    int64_t now = chopin_now_ms();
    if (count == 0) lw->busy_since_ms = now;
    if (!s || now - lw->busy_since_ms >= lw->db->busy_timeout_ms) return 0;
    int64_t ms = count < 5 ? 1 << count : 20;
    if (s->t) return chopin_sleep(s->c, ms) == 0;
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
    return 1;
}

/* --- Errors ----------------------------------------------------------------------------- */

/* "UNIQUE constraint failed: todos.title" -> "title". */
static const char *constraint_column(const char *msg, char *out, size_t len) {
    const char *p = strstr(msg, "failed: ");
    if (!p) return NULL;
    p += 8;
    const char *end = p + strcspn(p, ",");
    const char *dot = memchr(p, '.', (size_t)(end - p));
    if (dot) p = dot + 1;
    snprintf(out, len, "%.*s", (int)(end - p), p);
    return out;
}

static int fail_from(db_session *s, sqlite3 *handle, int rc) {
    const char *msg = sqlite3_errmsg(handle);
    char col[64];
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return db_fail(s, CHOPIN_DB_CONFLICT, "23505", constraint_column(msg, col, sizeof col),
                       "%s", msg);
    case SQLITE_CONSTRAINT_NOTNULL:
        return db_fail(s, CHOPIN_DB_INVALID, "23502", constraint_column(msg, col, sizeof col), "%s",
                       msg);
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return db_fail(s, CHOPIN_DB_INVALID, "23503", NULL, "%s", msg);
    case SQLITE_CONSTRAINT_CHECK:
        return db_fail(s, CHOPIN_DB_INVALID, "23514", NULL, "%s", msg);
    default:
        break;
    }
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return db_fail(s, CHOPIN_DB_UNAVAILABLE, "55P03", NULL, "%s", msg);
    case SQLITE_CONSTRAINT:
        return db_fail(s, CHOPIN_DB_INVALID, "23000", NULL, "%s", msg);
    case SQLITE_ERROR:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
        return db_fail(s, CHOPIN_DB_MISUSE, "42000", NULL, "%s", msg);
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
        return db_fail(s, CHOPIN_DB_UNAVAILABLE, "58030", NULL, "%s", msg);
    default:
        return db_fail(s, CHOPIN_DB_FAILED, "XX000", NULL, "%s", msg);
    }
}

/* --- Statements ------------------------------------------------------------------------- */

static bool only_space(const char *p) {
    for (; *p; p++)
        if (*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r' && *p != ';') return false;
    return true;
}

static sqlite3_stmt *prepare(db_session *s, lite_worker *lw, const char *sql) {
    if (stmt_cache_full(&lw->cache)) stmt_cache_clear(&lw->cache, evict, NULL);
    stmt_slot *slot = stmt_cache_get(&lw->cache, sql);
    if (!slot) {
        db_fail(s, CHOPIN_DB_FAILED, "53200", NULL, "out of memory");
        return NULL;
    }
    if (slot->stmt) return slot->stmt;
    const char *tail = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(lw->handle, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, &tail);
    if (rc != SQLITE_OK || !st) {
        if (rc == SQLITE_OK)
            db_fail(s, CHOPIN_DB_MISUSE, "42601", NULL, "empty statement");
        else
            fail_from(s, lw->handle, rc);
        sqlite3_finalize(st);
        return NULL;
    }
    if (tail && !only_space(tail)) {
        sqlite3_finalize(st);
        db_fail(s, CHOPIN_DB_MISUSE, "42601", NULL, "one statement per query: %.60s", tail);
        return NULL;
    }
    slot->stmt = st;
    return st;
}

/* Binds $1..$n. Each parameter the statement names must be one of those:
 * "?" and ":name" are refused so that one way of writing works on both
 * databases. */
static int bind_args(db_session *s, sqlite3_stmt *st, size_t nargs, const chopin_arg *args) {
    int n = sqlite3_bind_parameter_count(st);
    for (int j = 1; j <= n; j++) {
        const char *name = sqlite3_bind_parameter_name(st, j);
        char *end;
        long k = name && name[0] == '$' ? strtol(name + 1, &end, 10) : 0;
        if (!name || name[0] != '$' || *end || k < 1)
            return db_fail(s, CHOPIN_DB_MISUSE, "42P02", NULL,
                           "parameters are written $1, $2, ...: found %s", name ? name : "?");
        if ((size_t)k > nargs)
            return db_fail(s, CHOPIN_DB_MISUSE, "42P02", NULL,
                           "the statement uses $%ld but %zu argument(s) were given", k, nargs);
        const chopin_arg *a = &args[k - 1];
        int rc;
        switch (a->type) {
        case CHOPIN_ARG_INT:
        case CHOPIN_ARG_BOOL:
            rc = sqlite3_bind_int64(st, j, a->i);
            break;
        case CHOPIN_ARG_DOUBLE:
            rc = sqlite3_bind_double(st, j, a->d);
            break;
        case CHOPIN_ARG_TEXT:
            rc = sqlite3_bind_text64(st, j, a->s, a->len, SQLITE_STATIC, SQLITE_UTF8);
            break;
        default:
            rc = sqlite3_bind_null(st, j);
            break;
        }
        if (rc != SQLITE_OK) return fail_from(s, sqlite3_db_handle(st), rc);
    }
    return 0;
}

/* Copies the current row's cells into the growing vector *cells. */
static int take_row(db_session *s, sqlite3_stmt *st, int ncols, chopin_arg **cells, size_t *count,
                    size_t *cap) {
    if (*count + (size_t)ncols > *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        while (ncap < *count + (size_t)ncols) ncap *= 2;
        chopin_arg *grown = realloc(*cells, ncap * sizeof *grown);
        if (!grown) return db_fail(s, CHOPIN_DB_FAILED, "53200", NULL, "out of memory");
        *cells = grown;
        *cap = ncap;
    }
    for (int i = 0; i < ncols; i++) {
        chopin_arg *v = &(*cells)[(*count)++];
        switch (sqlite3_column_type(st, i)) {
        case SQLITE_INTEGER:
            *v = chopin_arg_int(sqlite3_column_int64(st, i));
            break;
        case SQLITE_FLOAT:
            *v = chopin_arg_double(sqlite3_column_double(st, i));
            break;
        case SQLITE_NULL:
            *v = chopin_arg_null();
            break;
        default: { /* TEXT and BLOB */
            const unsigned char *p = sqlite3_column_text(st, i);
            size_t len = (size_t)sqlite3_column_bytes(st, i);
            char *copy = chopin_strdup(s->c, p ? (const char *)p : "", len);
            if (!copy) return db_fail(s, CHOPIN_DB_FAILED, "53200", NULL, "out of memory");
            *v = chopin_arg_textn(copy, len);
        }
        }
    }
    return 0;
}

static int run_statement(db_session *s, lite_worker *lw, sqlite3_stmt *st, size_t nargs,
                         const chopin_arg *args, chopin_rows **out) {
    if (bind_args(s, st, nargs, args)) return -1;
    int ncols = sqlite3_column_count(st);
    chopin_arg *cells = NULL;
    size_t count = 0, cap = 0, nrows = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (take_row(s, st, ncols, &cells, &count, &cap)) break;
        nrows++;
    }
    int failed = rc != SQLITE_DONE && rc != SQLITE_ROW ? fail_from(s, lw->handle, rc)
                 : rc == SQLITE_ROW                    ? -1 /* take_row failed */
                                                       : 0;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    chopin_rows *r = failed ? NULL : rows_new(s->c, (size_t)ncols, nrows);
    if (!failed && !r) failed = db_fail(s, CHOPIN_DB_FAILED, "53200", NULL, "out of memory");
    if (!failed) {
        for (int i = 0; i < ncols; i++) {
            const char *name = sqlite3_column_name(st, i);
            r->names[i] = chopin_strdup(s->c, name ? name : "", name ? strlen(name) : 0);
        }
        if (count) memcpy(r->cells, cells, count * sizeof *cells);
        r->affected = sqlite3_stmt_readonly(st) ? 0 : sqlite3_changes64(lw->handle);
        *out = r;
    }
    free(cells);
    return failed;
}

static int lite_query(db_session *s, void *state, const char *sql, size_t n, size_t nargs,
                      const chopin_arg *args, chopin_rows **out) {
    lite_worker *lw = state;
    if (acquire(s, lw)) return -1;
    int rc = ensure_open(s, lw);
    sqlite3_stmt *st = rc ? NULL : prepare(s, lw, sql);
    if (!st) rc = -1;
    for (size_t i = 0; !rc && i < n; i++)
        rc = run_statement(s, lw, st, nargs, nargs ? args + i * nargs : args, &out[i]);
    if (!lw->pinned) release(lw);
    return rc;
}

static int lite_script(db_session *s, void *state, const char *sql) {
    lite_worker *lw = state;
    if (acquire(s, lw)) return -1;
    int rc = ensure_open(s, lw);
    if (!rc) {
        int src = sqlite3_exec(lw->handle, sql, NULL, NULL, NULL);
        if (src != SQLITE_OK) rc = fail_from(s, lw->handle, sqlite3_extended_errcode(lw->handle));
    }
    if (!lw->pinned) release(lw);
    return rc;
}

static int lite_pin(db_session *s, void *state) {
    lite_worker *lw = state;
    if (acquire(s, lw)) return -1;
    if (ensure_open(s, lw)) {
        release(lw);
        return -1;
    }
    lw->pinned = true;
    return 0;
}

static void lite_unpin(db_session *s, void *state, bool rollback) {
    lite_worker *lw = state;
    if (lw->owner != s) return;
    if (rollback && lw->handle && !sqlite3_get_autocommit(lw->handle))
        sqlite3_exec(lw->handle, "ROLLBACK", NULL, NULL, NULL);
    release(lw);
}

const db_backend db_sqlite_backend = {
    .worker_new = lite_worker_new,
    .worker_free = lite_worker_free,
    .query = lite_query,
    .script = lite_script,
    .pin = lite_pin,
    .unpin = lite_unpin,
};
