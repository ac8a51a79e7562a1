/* pg.c - the PostgreSQL backend: libpq in non-blocking pipeline mode,
 * driven by the worker's loop.
 *
 * Each worker keeps up to DATABASE_POOL_SIZE connections, opened when
 * needed. A query is queued on a connection as Parse (the first time that
 * connection sees the SQL) + Bind/Execute + Sync, and its request is
 * suspended; the loop reads results as they come and resumes requests in
 * order. Queries of concurrent requests on one connection are pipelined:
 * they share round trips instead of waiting for each other. A transaction
 * pins one connection to its request until commit or rollback.
 *
 * A connection that fails (server restart, network) fails its queries with
 * 503 and is reopened by the next query; while the server stays down, new
 * attempts are spaced by RETRY_MS so that an outage answers quickly. */
#include "db_internal.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdlib.h>

#define RETRY_MS 250

typedef struct pg_worker pg_worker;
typedef struct pg_conn pg_conn;
typedef struct pg_pending pg_pending;

/* One Sync-terminated group on the wire: its units (a Parse, an Execute)
 * give one result each; the last unit's result, or the first error, is the
 * answer. */
struct pg_pending {
    db_session *s; /* NULL once abandoned: the result is dropped */
    bool done;
    int units, unit;
    stmt_slot *parse_slot; /* the statement this group prepares, if any */
    PGresult *result;
    bool lost;   /* the connection failed before the answer */
    bool notify; /* its request is parked waiting for this very group */
    pg_pending *next;
};

typedef enum { PG_DOWN, PG_CONNECTING, PG_READY } pg_state;

struct pg_conn {
    pg_worker *pw;
    PGconn *pg;
    loop_watch watch;
    chopin_timer connect_timer;
    pg_state state;
    pg_pending *head, *tail;
    int inflight;
    db_session *pinned_by;
    stmt_cache cache;
    int64_t failed_at_ms;
    db_waitq connect_waiters;
    int connect_waiting;  /* sessions in connect_waiters */
    char last_error[200]; /* libpq's word on the last failure, for the log */
    bool need_flush;
};

struct pg_worker {
    chopin_db *db;
    worker *w; /* NULL for a detached context: waits block */
    int count;
    pg_conn *conns;
    db_waitq pool_waiters; /* all connections pinned */
    pg_pending *free_pending;
};

enum { SLOT_NONE = 0, SLOT_QUEUED, SLOT_READY };

static void on_ready(worker *w, loop_watch *lw, uint32_t events);
static void on_connect_timeout(worker *w, chopin_timer *t);

/* --- Pending groups -------------------------------------------------------------- */

static pg_pending *pending_new(pg_worker *pw) {
    pg_pending *p = pw->free_pending;
    if (p)
        pw->free_pending = p->next;
    else if (!(p = malloc(sizeof *p)))
        return NULL;
    *p = (pg_pending){0};
    return p;
}

static void pending_free(pg_worker *pw, pg_pending *p) {
    if (p->result) PQclear(p->result);
    p->result = NULL;
    p->next = pw->free_pending;
    pw->free_pending = p;
}

/* The group has its answer: resume its request, or drop it if abandoned. */
static void pending_finish(pg_conn *pc, pg_pending *p) {
    p->done = true;
    if (!p->s) {
        pending_free(pc->pw, p);
        return;
    }
    if (p->notify && p->s->t) task_unpark(p->s->t, 0);
}

static void abandon_pending(void *arg) {
    pg_pending *p = arg;
    p->s = NULL; /* the group stays queued: its answer will be read and dropped */
    p->notify = false;
}

/* --- Connections ------------------------------------------------------------------- */

static void watch(pg_conn *pc, uint32_t events) {
    if (pc->pw->w) worker_watch(pc->pw->w, &pc->watch, events);
}

static void evict(stmt_slot *slot, void *arg) {
    (void)slot;
    (void)arg;
}

/* The connection is gone: everything queued on it fails with 503. */
static void conn_down(pg_conn *pc) {
    if (pc->pw->w && pc->watch.events) worker_watch(pc->pw->w, &pc->watch, 0);
    pc->watch.events = 0;
    if (pc->pw->w) timer_cancel(&pc->pw->w->timers, &pc->connect_timer);
    if (pc->pg) {
        const char *why = PQerrorMessage(pc->pg);
        snprintf(pc->last_error, sizeof pc->last_error, "%.*s", (int)strcspn(why, "\n"),
                 why[0] ? why : "closed");
        PQfinish(pc->pg);
    }
    pc->pg = NULL;
    pc->state = PG_DOWN;
    pc->failed_at_ms = chopin_now_ms();
    pc->need_flush = false;
    stmt_cache_clear(&pc->cache, evict, NULL);
    while (pc->head) {
        pg_pending *p = pc->head;
        pc->head = p->next;
        p->lost = true;
        pending_finish(pc, p);
    }
    pc->tail = NULL;
    pc->inflight = 0;
    db_waitq_wake_all(&pc->connect_waiters, 0); /* they find it down */
}

/* Moves the watch to the socket libpq now uses (it may change while
 * connecting, e.g. when it tries the next address). */
static void watch_socket(pg_conn *pc, uint32_t events) {
    int fd = PQsocket(pc->pg);
    if (fd != pc->watch.fd) {
        if (pc->watch.events) watch(pc, 0);
        pc->watch.events = 0;
        pc->watch.fd = fd;
    }
    watch(pc, events);
}

/* One step of the non-blocking connect; returns the events to wait for, 0
 * when connected, -1 when it failed. */
static int connect_step(pg_conn *pc) {
    switch (PQconnectPoll(pc->pg)) {
    case PGRES_POLLING_READING:
        return EPOLLIN;
    case PGRES_POLLING_WRITING:
        return EPOLLOUT;
    case PGRES_POLLING_OK:
        if (PQsetnonblocking(pc->pg, 1) || !PQenterPipelineMode(pc->pg)) return -1;
        pc->state = PG_READY;
        return 0;
    default:
        return -1;
    }
}

static void connect_progress(pg_conn *pc) {
    int ev = connect_step(pc);
    if (ev < 0) {
        conn_down(pc);
        return;
    }
    if (ev > 0) {
        watch_socket(pc, (uint32_t)ev);
        return;
    }
    if (pc->pw->w) timer_cancel(&pc->pw->w->timers, &pc->connect_timer);
    watch_socket(pc, EPOLLIN);
    db_waitq_wake_all(&pc->connect_waiters, 0);
}

/* NOTICEs ("table does not exist, skipping") are the server chatting, not
 * failures: libpq would print them to stderr. */
static void ignore_notice(void *arg, const char *message) {
    (void)arg;
    (void)message;
}

static int start_connect(db_session *s, pg_conn *pc) {
    pc->pg = PQconnectStart(s->db->pg_conninfo);
    if (!pc->pg || PQstatus(pc->pg) == CONNECTION_BAD) {
        conn_down(pc);
        return db_fail(s, CHOPIN_DB_UNAVAILABLE, "08001", NULL, "cannot start a connection");
    }
    PQsetNoticeProcessor(pc->pg, ignore_notice, NULL);
    pc->state = PG_CONNECTING;
    pc->watch.fd = -1;
    pc->watch.events = 0;
    if (pc->pw->w)
        timer_add(&pc->pw->w->timers, &pc->connect_timer,
                  chopin_now_ms() + s->db->connect_timeout_ms);
    watch_socket(pc, EPOLLOUT);
    return 0;
}

/* Blocks (detached context) or suspends (request) until pc is connected. */
static int wait_connected(db_session *s, pg_conn *pc) {
    if (pc->pw->w) {
        while (pc->state == PG_CONNECTING) {
            pc->connect_waiting++;
            int rc = db_waitq_park(s, &pc->connect_waiters);
            pc->connect_waiting--;
            if (rc < 0) return db_fail(s, CHOPIN_DB_CANCELLED, "57014", NULL, "request ended");
        }
    } else {
        int64_t deadline = chopin_now_ms() + s->db->connect_timeout_ms;
        int ev = EPOLLOUT;
        while (pc->state == PG_CONNECTING) {
            int64_t left = deadline - chopin_now_ms();
            int r = left > 0 ? db_wait_fd(s, PQsocket(pc->pg),
                                          ev == EPOLLIN ? CHOPIN_READABLE : CHOPIN_WRITABLE, left)
                             : 0;
            if (r <= 0) {
                conn_down(pc);
                break;
            }
            ev = connect_step(pc);
            if (ev < 0) conn_down(pc);
        }
    }
    if (pc->state != PG_READY)
        return db_fail(s, CHOPIN_DB_UNAVAILABLE, "08006", NULL, "cannot connect to PostgreSQL: %s",
                       pc->last_error[0] ? pc->last_error : "timed out");
    return 0;
}

static void on_connect_timeout(worker *w, chopin_timer *t) {
    (void)w;
    pg_conn *pc = (pg_conn *)((char *)t - offsetof(pg_conn, connect_timer));
    if (pc->state == PG_CONNECTING) conn_down(pc);
}

/* --- Reading results ------------------------------------------------------------------ */

/* Reads every result available without blocking and finishes the groups
 * that are complete. */
static void read_results(pg_conn *pc) {
    if (!PQconsumeInput(pc->pg)) {
        conn_down(pc);
        return;
    }
    while (pc->head && !PQisBusy(pc->pg)) {
        pg_pending *p = pc->head;
        PGresult *r = PQgetResult(pc->pg);
        if (!r) { /* the end of one unit */
            if (p->unit < p->units) p->unit++;
            continue;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            pc->head = p->next;
            if (!pc->head) pc->tail = NULL;
            pc->inflight--;
            pending_finish(pc, p);
            continue;
        }
        bool is_error = st == PGRES_FATAL_ERROR || st == PGRES_PIPELINE_ABORTED;
        if (p->parse_slot && p->unit == 0 && p->units == 2) /* the Parse's own result */
            p->parse_slot->ready = is_error ? SLOT_NONE : SLOT_READY;
        /* The answer: the first error, else the last unit's result. */
        if (p->result && PQresultStatus(p->result) == PGRES_FATAL_ERROR) {
            PQclear(r);
        } else {
            if (p->result) PQclear(p->result);
            p->result = r;
        }
    }
    if (pc->state == PG_READY && PQstatus(pc->pg) == CONNECTION_BAD) conn_down(pc);
}

static void flush(pg_conn *pc) {
    int rc = PQflush(pc->pg);
    if (rc < 0) {
        conn_down(pc);
        return;
    }
    pc->need_flush = rc == 1;
    watch(pc, EPOLLIN | (pc->need_flush ? EPOLLOUT : 0));
}

/* The round is over: what its requests queued leaves in one write. */
static void on_round_end(worker *w, loop_watch *lw) {
    (void)w;
    pg_conn *pc = (pg_conn *)((char *)lw - offsetof(pg_conn, watch));
    if (pc->state == PG_READY) flush(pc);
}

/* Sends queued output now (a detached context) or at the end of the round. */
static void flush_soon(pg_conn *pc) {
    if (pc->pw->w)
        worker_round_end(pc->pw->w, &pc->watch);
    else
        flush(pc);
}

static void on_ready(worker *w, loop_watch *lw, uint32_t events) {
    (void)w;
    pg_conn *pc = (pg_conn *)((char *)lw - offsetof(pg_conn, watch));
    if (pc->state == PG_CONNECTING) {
        connect_progress(pc);
        return;
    }
    if (pc->state != PG_READY) return;
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) flush(pc);
    if (pc->state == PG_READY && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) read_results(pc);
}

/* --- The pool ---------------------------------------------------------------------------- */

static void *pg_worker_new(chopin_db *db) {
    pg_worker *pw = calloc(1, sizeof *pw);
    if (!pw) return NULL;
    pw->db = db;
    pw->count = db->pool_size;
    pw->conns = calloc((size_t)pw->count, sizeof *pw->conns);
    if (!pw->conns) {
        free(pw);
        return NULL;
    }
    for (int i = 0; i < pw->count; i++) {
        pg_conn *pc = &pw->conns[i];
        pc->pw = pw;
        pc->watch = (loop_watch){
            .ev_kind = EV_WATCH, .fd = -1, .ready = on_ready, .round_end = on_round_end};
        pc->connect_timer.fire = on_connect_timeout;
    }
    return pw;
}

static void pg_worker_free(void *state) {
    pg_worker *pw = state;
    for (int i = 0; i < pw->count; i++) {
        pg_conn *pc = &pw->conns[i];
        while (pc->head) { /* the worker is gone: nobody waits for these */
            pg_pending *p = pc->head;
            pc->head = p->next;
            pending_free(pw, p);
        }
        if (pc->pg) PQfinish(pc->pg);
        stmt_cache_clear(&pc->cache, evict, NULL);
    }
    while (pw->free_pending) {
        pg_pending *p = pw->free_pending;
        pw->free_pending = p->next;
        free(p);
    }
    free(pw->conns);
    free(pw);
}

/* A detached context's pool has one connection and no worker. */
static pg_worker *worker_of(db_session *s, void *state) {
    pg_worker *pw = state;
    if (!s->t)
        pw->count = 1;
    else if (!pw->w)
        pw->w = s->t->w;
    return pw;
}

/* The connection for s's next query: its pinned one; else the least loaded
 * (queries queued, or requests waiting for it to connect) of the ready and
 * connecting ones, unless all are busy and a closed one can be opened (the
 * pool grows under load). NULL: all are pinned, or down and failed recently. */
static int load(const pg_conn *pc) {
    return pc->inflight + pc->connect_waiting;
}

static pg_conn *pick(pg_worker *pw, db_session *s, bool *all_pinned) {
    if (s->pinned) return s->pinned;
    pg_conn *best = NULL, *down = NULL;
    int64_t now = chopin_now_ms();
    *all_pinned = true;
    for (int i = 0; i < pw->count; i++) {
        pg_conn *pc = &pw->conns[i];
        if (pc->pinned_by) continue;
        *all_pinned = false;
        if (pc->state == PG_DOWN) {
            if (!down && (!pc->failed_at_ms || now - pc->failed_at_ms >= RETRY_MS)) down = pc;
        } else if (!best || load(pc) < load(best)) {
            best = pc;
        }
    }
    if (best && load(best) == 0) return best;
    return down ? down : best;
}

static int get_conn(db_session *s, pg_worker *pw, pg_conn **out) {
    for (;;) {
        bool all_pinned;
        pg_conn *pc = pick(pw, s, &all_pinned);
        if (!pc) {
            if (!all_pinned || !s->t)
                return db_fail(s, CHOPIN_DB_UNAVAILABLE, "08006", NULL,
                               "PostgreSQL is unreachable (retrying every %d ms): %s", RETRY_MS,
                               pw->conns[0].last_error[0] ? pw->conns[0].last_error : "?");
            if (db_waitq_park(s, &pw->pool_waiters) < 0)
                return db_fail(s, CHOPIN_DB_CANCELLED, "57014", NULL, "request ended");
            continue;
        }
        if (pc->state == PG_DOWN && start_connect(s, pc)) return -1;
        if (pc->state == PG_CONNECTING && wait_connected(s, pc)) return -1;
        if (pc->state != PG_READY) continue;
        *out = pc;
        return 0;
    }
}

/* --- Queries ------------------------------------------------------------------------------- */

/* Parameters as text, NUL-terminated, in the request arena. */
static int param_values(db_session *s, size_t nargs, const chopin_arg *args, const char **values) {
    for (size_t i = 0; i < nargs; i++) {
        const chopin_arg *a = &args[i];
        char buf[40];
        int n;
        switch (a->type) {
        case CHOPIN_ARG_NULL:
            values[i] = NULL;
            continue;
        case CHOPIN_ARG_BOOL:
            values[i] = a->i ? "t" : "f";
            continue;
        case CHOPIN_ARG_INT:
            n = snprintf(buf, sizeof buf, "%lld", (long long)a->i);
            break;
        case CHOPIN_ARG_DOUBLE:
            n = snprintf(buf, sizeof buf, "%.17g", a->d);
            break;
        default:
            if (memchr(a->s, 0, a->len))
                return db_fail(s, CHOPIN_DB_INVALID, "22021", NULL,
                               "text argument $%zu holds a NUL byte", i + 1);
            if (a->i == 1) { /* already NUL-terminated */
                values[i] = a->s;
                continue;
            }
            values[i] = chopin_strdup(s->c, a->s, a->len);
            if (!values[i]) return db_fail(s, CHOPIN_DB_FAILED, "53200", NULL, "out of memory");
            continue;
        }
        values[i] = chopin_strdup(s->c, buf, (size_t)n);
        if (!values[i]) return db_fail(s, CHOPIN_DB_FAILED, "53200", NULL, "out of memory");
    }
    return 0;
}

/* Ends a group with a Sync. libpq 17 can queue it and let the round-end
 * flush carry the groups of every request of the round in one write; older
 * libpq (Debian 12 has 15) flushes on every Sync. */
static bool sync_group(pg_conn *pc) {
#ifdef LIBPQ_HAS_SEND_PIPELINE_SYNC
    return PQsendPipelineSync(pc->pg) == 1;
#else
    return PQpipelineSync(pc->pg) == 1;
#endif
}

/* Queues Parse (first use on this connection) + Execute + Sync. */
static pg_pending *send_query(db_session *s, pg_conn *pc, const char *sql, size_t nargs,
                              const char *const *values, bool unnamed) {
    if (stmt_cache_full(&pc->cache) && pc->inflight == 0) {
        /* Nothing queued refers to a slot: forget them all, here and on
         * the server. */
        stmt_cache_clear(&pc->cache, evict, NULL);
        if (!PQsendQueryParams(pc->pg, "DEALLOCATE ALL", 0, NULL, NULL, NULL, NULL, 0) ||
            !sync_group(pc))
            goto lost_early;
        pg_pending *d = pending_new(pc->pw);
        if (!d) goto lost_early;
        d->units = 1;
        if (pc->tail)
            pc->tail->next = d;
        else
            pc->head = d;
        pc->tail = d;
        pc->inflight++;
    }
    pg_pending *p = pending_new(pc->pw);
    if (p && unnamed) { /* once only (scripts): not worth a prepared statement */
        p->s = s;
        p->units = 1;
        if (!PQsendQueryParams(pc->pg, sql, (int)nargs, NULL, values, NULL, NULL, 0) ||
            !sync_group(pc))
            goto lost;
        goto queued;
    }
    stmt_slot *slot = p ? stmt_cache_get(&pc->cache, sql) : NULL;
    if (!slot) {
        if (p) pending_free(pc->pw, p);
        db_fail(s, CHOPIN_DB_FAILED, "53200", NULL, "out of memory");
        return NULL;
    }
    char name[24];
    snprintf(name, sizeof name, "s%u", slot->id);
    p->s = s;
    p->units = 1;
    if (slot->ready == SLOT_NONE) {
        if (!PQsendPrepare(pc->pg, name, sql, (int)nargs, NULL)) goto lost;
        slot->ready = SLOT_QUEUED;
        p->parse_slot = slot;
        p->units = 2;
    }
    if (!PQsendQueryPrepared(pc->pg, name, (int)nargs, values, NULL, NULL, 0) || !sync_group(pc))
        goto lost;
queued:
    if (pc->tail)
        pc->tail->next = p;
    else
        pc->head = p;
    pc->tail = p;
    pc->inflight++;
    flush_soon(pc);
    return p;
lost:
    pending_free(pc->pw, p);
lost_early:
    db_fail(s, CHOPIN_DB_UNAVAILABLE, "08006", NULL, "cannot send: %s", PQerrorMessage(pc->pg));
    conn_down(pc);
    return NULL;
}

/* Until p has its answer: suspended (request) or driving the socket (detached). */
static int wait_answer(db_session *s, pg_conn *pc, pg_pending *p) {
    if (s->t) {
        if (p->done) return 0;
        p->notify = true;
        int rc = task_park(s->t, abandon_pending, p);
        p->notify = false;
        if (rc < 0) return db_fail(s, CHOPIN_DB_CANCELLED, "57014", NULL, "request ended");
        return 0;
    }
    while (!p->done) {
        int ev = CHOPIN_READABLE | (pc->need_flush ? CHOPIN_WRITABLE : 0);
        int r = db_wait_fd(s, PQsocket(pc->pg), ev, -1);
        if (r < 0) {
            conn_down(pc);
            break;
        }
        on_ready(NULL, &pc->watch,
                 (r & CHOPIN_READABLE ? EPOLLIN : 0) | (r & CHOPIN_WRITABLE ? EPOLLOUT : 0));
    }
    return 0;
}

/* --- Errors and rows -------------------------------------------------------------------------- */

/* 'Key (email)=(a@b.c) already exists.' -> "email" (the value is not kept). */
static const char *key_column(const char *detail, char *out, size_t len) {
    if (!detail || strncmp(detail, "Key (", 5)) return NULL;
    const char *p = detail + 5, *end = strstr(p, ")=");
    if (!end || (size_t)(end - p) >= len) return NULL;
    snprintf(out, len, "%.*s", (int)(end - p), p);
    return out;
}

static int fail_from(db_session *s, const PGresult *r) {
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    const char *column = PQresultErrorField(r, PG_DIAG_COLUMN_NAME);
    char col[64];
    if (!state) state = "XX000";
    if (!msg) msg = PQresultStatus(r) == PGRES_PIPELINE_ABORTED ? "pipeline aborted" : "?";
    chopin_db_status st = CHOPIN_DB_FAILED;
    if (!strcmp(state, "23505")) {
        st = CHOPIN_DB_CONFLICT;
        column = key_column(PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL), col, sizeof col);
    } else if (!strncmp(state, "23", 2) || !strncmp(state, "22", 2)) {
        st = CHOPIN_DB_INVALID;
    } else if (!strncmp(state, "08", 2) || !strncmp(state, "57P", 3) || !strcmp(state, "57014") ||
               !strcmp(state, "40001") || !strcmp(state, "40P01") || !strncmp(state, "53", 2)) {
        st = CHOPIN_DB_UNAVAILABLE;
    } else if (!strncmp(state, "42", 2) || !strncmp(state, "26", 2) || !strncmp(state, "25", 2) ||
               !strncmp(state, "0A", 2)) {
        st = CHOPIN_DB_MISUSE;
    }
    return db_fail(s, st, state, column, "%s", msg);
}

static chopin_arg cell_of(db_session *s, const PGresult *r, int row, int col, Oid type) {
    if (PQgetisnull(r, row, col)) return chopin_arg_null();
    const char *v = PQgetvalue(r, row, col);
    switch (type) {
    case 16: /* bool */
        return chopin_arg_bool(v[0] == 't');
    case 20: /* int8, int2, int4, oid */
    case 21:
    case 23:
    case 26:
        return chopin_arg_int(strtoll(v, NULL, 10));
    case 700: /* float4, float8 */
    case 701:
        return chopin_arg_double(strtod(v, NULL));
    default: {
        size_t len = (size_t)PQgetlength(r, row, col);
        char *copy = chopin_strdup(s->c, v, len);
        chopin_arg a = copy ? chopin_arg_textn(copy, len) : chopin_arg_null();
        a.i = 1;
        return a;
    }
    }
}

static chopin_rows *rows_from(db_session *s, const PGresult *r) {
    int nrows = PQntuples(r), ncols = PQnfields(r);
    chopin_rows *rows = rows_new(s->c, (size_t)ncols, (size_t)nrows);
    if (!rows) {
        db_fail(s, CHOPIN_DB_FAILED, "53200", NULL, "out of memory");
        return NULL;
    }
    for (int j = 0; j < ncols; j++) {
        const char *name = PQfname(r, j);
        rows->names[j] = chopin_strdup(s->c, name, strlen(name));
    }
    for (int i = 0; i < nrows; i++)
        for (int j = 0; j < ncols; j++)
            rows->cells[(size_t)i * (size_t)ncols + (size_t)j] = cell_of(s, r, i, j, PQftype(r, j));
    const char *affected = PQcmdTuples((PGresult *)r);
    rows->affected = affected && *affected ? strtoll(affected, NULL, 10) : 0;
    return rows;
}

/* Groups from..n-1 will not be read by their request: a finished one is
 * freed now, a queued one when its answer arrives. */
static void drop_pending(pg_worker *pw, pg_pending **ps, size_t from, size_t n) {
    for (size_t i = from; i < n; i++) {
        if (!ps[i]) continue;
        if (ps[i]->done) {
            pending_free(pw, ps[i]);
        } else {
            ps[i]->s = NULL;
            ps[i]->notify = false;
        }
    }
}

/* The answer of one finished group, as rows or as s's error. */
static chopin_rows *answer_of(db_session *s, pg_pending *p) {
    if (p->lost || !p->result) {
        db_fail(s, CHOPIN_DB_UNAVAILABLE, "08006", NULL, "connection to PostgreSQL lost");
        return NULL;
    }
    ExecStatusType st = PQresultStatus(p->result);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) return rows_from(s, p->result);
    fail_from(s, p->result);
    return NULL;
}

/* n executions of sql, queued back to back on one connection: one round
 * trip for all of them. */
static int pg_query(db_session *s, void *state, const char *sql, size_t n, size_t nargs,
                    const chopin_arg *args, chopin_rows **out) {
    pg_worker *pw = worker_of(s, state);
    if (nargs > 65535) return db_fail(s, CHOPIN_DB_MISUSE, "54023", NULL, "too many arguments");
    size_t nvalues = n * nargs;
    const char **values = nvalues ? chopin_alloc(s->c, nvalues * sizeof *values) : NULL;
    pg_pending **ps = chopin_alloc(s->c, n * sizeof *ps);
    if ((nvalues && !values) || !ps)
        return db_fail(s, CHOPIN_DB_FAILED, "53200", NULL, "out of memory");
    if (param_values(s, nvalues, args, values)) return -1;
    pg_conn *pc;
    if (get_conn(s, pw, &pc)) return -1;
    for (size_t i = 0; i < n; i++) {
        ps[i] = send_query(s, pc, sql, nargs, nargs ? values + i * nargs : values, false);
        if (!ps[i]) {
            drop_pending(pw, ps, 0, i);
            return -1;
        }
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (!rc && wait_answer(s, pc, ps[i])) rc = -1;
        if (rc) {
            drop_pending(pw, ps, i, n);
            break;
        }
        out[i] = answer_of(s, ps[i]);
        if (!out[i]) rc = -1;
        pending_free(pw, ps[i]);
    }
    return rc;
}

/* Each statement of the script in turn, unprepared, on one connection. */
static int pg_script(db_session *s, void *state, const char *sql) {
    pg_worker *pw = worker_of(s, state);
    char **stmts;
    size_t n = db_split_statements(sql, &stmts);
    pg_conn *pc = NULL;
    int rc = get_conn(s, pw, &pc);
    for (size_t i = 0; i < n; i++) {
        if (!rc) {
            pg_pending *p = send_query(s, pc, stmts[i], 0, NULL, true);
            rc = !p ? -1 : wait_answer(s, pc, p);
            if (p && rc) drop_pending(pw, &p, 0, 1);
            if (p && !rc) {
                chopin_rows *r = answer_of(s, p);
                pending_free(pw, p);
                if (!r) rc = -1;
            }
        }
        free(stmts[i]);
    }
    free(stmts);
    return rc;
}

/* --- Transactions -------------------------------------------------------------------------------
 */

static int pg_pin(db_session *s, void *state) {
    pg_worker *pw = worker_of(s, state);
    pg_conn *pc;
    if (get_conn(s, pw, &pc)) return -1;
    pc->pinned_by = s;
    s->pinned = pc;
    return 0;
}

static void pg_unpin(db_session *s, void *state, bool rollback) {
    pg_worker *pw = state;
    pg_conn *pc = s->pinned;
    if (!pc) return;
    if (rollback && pc->state == PG_READY) {
        /* Queued and not waited for: the request may be over already, and
         * the pipeline keeps it ahead of anyone's next query. */
        db_session detached = *s;
        detached.t = NULL;
        pg_pending *p = send_query(&detached, pc, "ROLLBACK", 0, NULL, true);
        if (p) drop_pending(pw, &p, 0, 1);
    }
    pc->pinned_by = NULL;
    s->pinned = NULL;
    if (pw->w) db_waitq_wake_one(&pw->pool_waiters, 0);
}

const db_backend db_pg_backend = {
    .worker_new = pg_worker_new,
    .worker_free = pg_worker_free,
    .query = pg_query,
    .script = pg_script,
    .pin = pg_pin,
    .unpin = pg_unpin,
};
