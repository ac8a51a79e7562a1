/* db_internal.h - the database module's shared parts. Internal.
 *
 * db.c owns the public query API, sessions (one per request that touches the
 * database), transactions and error mapping; rows.c the result sets;
 * sqlite.c and pg.c are the two backends behind db_backend; stmt_cache.c
 * maps SQL text to prepared statements for both. */
#ifndef CHOPIN_DB_INTERNAL_H
#define CHOPIN_DB_INTERNAL_H

#include "chopin/async.h"
#include "chopin/db.h"

#include "../engine/engine.h"

#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

typedef struct db_session db_session;

/* A backend keeps per-worker state (its connections) made by worker_new,
 * and runs statements for a session. */
typedef struct {
    void *(*worker_new)(chopin_db *db);
    void (*worker_free)(void *state);
    /* Runs sql n times for s, with args[i * nargs ...] the i-th time, on one
     * connection of state (the pinned one when s holds a transaction);
     * out[i] gets the i-th rows (in s's arena). 0, or -1 with s->err. */
    int (*query)(db_session *s, void *state, const char *sql, size_t n, size_t nargs,
                 const chopin_arg *args, chopin_rows **out);
    /* Runs a script of ';'-separated statements without arguments. */
    int (*script)(db_session *s, void *state, const char *sql);
    /* Gives s a connection of its own until unpin (transactions). 0 or -1. */
    int (*pin)(db_session *s, void *state);
    /* Ends the pin, rolling back first when asked (an abandoned transaction). */
    void (*unpin)(db_session *s, void *state, bool rollback);
} db_backend;

extern const db_backend db_sqlite_backend;
extern const db_backend db_pg_backend;

struct chopin_db {
    chopin_db_dialect dialect;
    const db_backend *backend;
    char *url;
    /* SQLite */
    char *sqlite_path; /* a file name, or a memdb URI for sqlite::memory: */
    bool sqlite_memory;
    void *sqlite_anchor; /* keeps an in-memory database alive */
    /* PostgreSQL */
    char *pg_conninfo;
    int pool_size;
    int busy_timeout_ms;
    int connect_timeout_ms;
    pthread_mutex_t log_mu;
    int64_t last_warn_ms; /* rate limit for "database unavailable" log lines */
};

/* A request's use of the database: set up on first use, ended (transaction
 * rolled back, connection released) when the handler returns. */
struct db_session {
    chopin_db *db;
    chopin_ctx *c;
    task *t;        /* NULL: a detached context, whose waits block */
    void *state;    /* the backend's per-worker state, or the detached context's own */
    void *pinned;   /* the connection a transaction holds */
    int tx_depth;   /* 0: none; 1: BEGIN; more: savepoints */
    bool tx_broken; /* a failure inside: only rollback remains */
    chopin_db_error err;
    bool failed;
};

/* DATABASE_URL -> a database (nothing connected yet). NULL with a message. */
chopin_db *db_open(const chopin_config *cfg, char *err, size_t err_len);
void db_close(chopin_db *db);
/* sqlite.c: the connection that keeps an in-memory database alive. */
int db_sqlite_anchor(chopin_db *db, char *err, size_t err_len);
void db_sqlite_anchor_close(chopin_db *db);

/* The session of c, made on first use; NULL (answered 500) when c's app has
 * no database. */
db_session *db_session_of(chopin_ctx *c);
/* Ends c's session: rolls back an open transaction, releases connections,
 * and answers a recorded failure if the handler did not answer. */
void db_request_end(chopin_ctx *c);
/* Detached contexts keep their backend state here. */
void db_detached_free(chopin_db *db, void *state);

/* Records a failure on s (and logs the detail). Returns -1. */
int db_fail(db_session *s, chopin_db_status st, const char *sqlstate, const char *column,
            const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Sessions waiting for something (a connection); each entry lives on its
 * waiter's coroutine stack while it is parked. */
typedef struct db_waiter db_waiter;
typedef struct {
    db_waiter *head, *tail;
} db_waitq;
struct db_waiter {
    db_session *s;
    db_waitq *q;
    db_waiter *next;
};
/* Parks s's task at the end of q until woken: returns the wake result, or -1
 * with errno when the request ends first (it has then left the queue). */
int db_waitq_park(db_session *s, db_waitq *q);
/* Wakes the first waiter with result; returns its session, or NULL. */
db_session *db_waitq_wake_one(db_waitq *q, int result);
void db_waitq_wake_all(db_waitq *q, int result);

/* Waits for fd in s's way: suspending the handler, or blocking (detached).
 * Returns ready events, 0 on timeout, -1 with errno. */
int db_wait_fd(db_session *s, int fd, int events, int64_t timeout_ms);

/* --- split.c: a script into statements (malloc'd strings in a malloc'd
 * array; free each and the array). --- */
size_t db_split_statements(const char *sql, char ***out);

/* --- rows.c --- */
struct chopin_rows {
    size_t nrows, ncols;
    const char **names;
    chopin_arg *cells; /* nrows * ncols, row-major; TEXT cells are NUL-terminated */
    int64_t affected;
    chopin_ctx *c; /* whose arena holds the text of numbers, made when asked */
};
chopin_rows *rows_new(chopin_ctx *c, size_t ncols, size_t nrows);
/* Row `row` of r into the fields of obj that have a column of their name
 * (only the read-only ones when asked: what INSERT ... RETURNING gives
 * back). False, with the failure recorded, when a value does not fit. */
bool rows_apply(chopin_ctx *c, const chopin_rows *r, size_t row, const chopin_model *m, void *obj,
                bool read_only_only);

/* --- stmt_cache.c: SQL text -> a backend's prepared statement --- */
#define STMT_CACHE_MAX 512
typedef struct stmt_slot {
    char *sql; /* owned copy */
    uint64_t hash;
    void *stmt;  /* sqlite3_stmt *; unused for PostgreSQL */
    unsigned id; /* PostgreSQL: prepared as "s<id>", never reused */
    int ready;   /* PostgreSQL: not yet, Parse queued, or prepared */
} stmt_slot;
typedef struct {
    stmt_slot **slots;
    size_t cap, count;
    unsigned next_id;
} stmt_cache;
/* The slot for sql, new (stmt NULL, a fresh id) when absent; NULL on OOM.
 * A slot stays at its address until the cache is cleared. */
stmt_slot *stmt_cache_get(stmt_cache *sc, const char *sql);
/* STMT_CACHE_MAX statements: the owner should clear before adding more. */
bool stmt_cache_full(const stmt_cache *sc);
void stmt_cache_clear(stmt_cache *sc, void (*evict)(stmt_slot *s, void *arg), void *arg);

/* --- timestamps: "YYYY-MM-DD[T ]HH:MM:SS[.f][Z|+HH[:MM]]" both dialects --- */
bool db_parse_timestamp(const char *s, size_t len, int64_t *micros);
/* Fixed width, so that text order is time order: "2026-11-27T09:04:32.500000Z". */
size_t db_format_timestamp(char *out, int64_t micros);

#endif
