/* chopin/db.h - one query API over SQLite (embedded, the default) and
 * PostgreSQL, with $1-style parameters only.
 *
 *   chopin_rows *r = chopin_sql(c, "SELECT id, title FROM todos WHERE done = $1 LIMIT $2",
 *                               chopin_arg_bool(false), chopin_arg_int(20));
 *   if (!r) return;                 // Chopin answers 409/422/503/500 for you
 *   for (size_t i = 0; i < chopin_rows_count(r); i++)
 *       printf("%lld %s\n", (long long)chopin_rows_int(r, i, 0), chopin_rows_text(r, i, 1));
 *
 * The database is the app's (DATABASE_URL, opened by chopin_app_new and
 * connected on first use): sqlite://path (default sqlite://chopin.db),
 * sqlite::memory:, postgres://user:pass@host:port/db?sslmode=require or
 * postgres:///db?host=/run/postgresql for a unix socket.
 *
 * In a handler every call suspends the handler's coroutine while the
 * database works (PostgreSQL: the worker's loop waits on the socket, and
 * queries of concurrent requests share round trips in pipeline mode;
 * SQLite: one connection per worker, a write waiting for the lock sleeps
 * instead of blocking the worker). Rows live in the request arena.
 *
 * Failures return NULL / -1. The error is kept (chopin_db_last_error), and if
 * the handler returns without answering, Chopin answers with the mapped
 * status: unique violation 409 CONFLICT, not-null / check / foreign key 422,
 * not found (ORM) 404, connection lost or database busy 503, anything else
 * 500. Driver messages go to the log, never to the client. */
#ifndef CHOPIN_DB_H
#define CHOPIN_DB_H

#include "base.h"
#include "ctx.h"
#include "model.h"

typedef struct chopin_db chopin_db;
typedef struct chopin_app chopin_app;

typedef enum { CHOPIN_SQLITE = 1, CHOPIN_POSTGRES = 2 } chopin_db_dialect;

/* The app's database. */
chopin_db *chopin_app_db(chopin_app *app);
chopin_db_dialect chopin_db_dialect_of(const chopin_db *db);

/* --- Arguments ------------------------------------------------------------ */

typedef enum {
    CHOPIN_ARG_NULL,
    CHOPIN_ARG_INT,
    CHOPIN_ARG_DOUBLE,
    CHOPIN_ARG_TEXT,
    CHOPIN_ARG_BOOL,
} chopin_arg_type;

typedef struct {
    chopin_arg_type type;
    int64_t i; /* INT, BOOL (0 or 1); TEXT: 1 when s[len] is a NUL */
    double d;
    const char *s; /* TEXT: need not be NUL-terminated */
    size_t len;
} chopin_arg;

static inline chopin_arg chopin_arg_int(int64_t v) {
    return (chopin_arg){.type = CHOPIN_ARG_INT, .i = v};
}
static inline chopin_arg chopin_arg_double(double v) {
    return (chopin_arg){.type = CHOPIN_ARG_DOUBLE, .d = v};
}
static inline chopin_arg chopin_arg_bool(bool v) {
    return (chopin_arg){.type = CHOPIN_ARG_BOOL, .i = v};
}
static inline chopin_arg chopin_arg_textn(const char *s, size_t len) {
    return s ? (chopin_arg){.type = CHOPIN_ARG_TEXT, .s = s, .len = len}
             : (chopin_arg){.type = CHOPIN_ARG_NULL};
}
static inline chopin_arg chopin_arg_text(const char *s) { /* NULL is SQL NULL */
    chopin_arg a = chopin_arg_textn(s, s ? strlen(s) : 0);
    a.i = 1;
    return a;
}
static inline chopin_arg chopin_arg_null(void) {
    return (chopin_arg){.type = CHOPIN_ARG_NULL};
}

/* --- Queries -------------------------------------------------------------- */

typedef struct chopin_rows chopin_rows;

/* Runs one statement with args bound to $1..$n. Statements are prepared
 * once per connection and cached by their text. Returns the rows (none for
 * INSERT/UPDATE/DELETE without RETURNING), or NULL on failure. */
chopin_rows *chopin_db_query(chopin_ctx *c, const char *sql, size_t nargs, const chopin_arg *args);
/* chopin_sql(c, sql, args...): the same with the arguments listed inline. */
#define chopin_sql(...) chopin_sql_(__VA_ARGS__, )
#define chopin_sql_(c, sql, ...)                                                                   \
    chopin_db_query((c), (sql), sizeof((chopin_arg[]){{0}, __VA_ARGS__}) / sizeof(chopin_arg) - 1, \
                    (const chopin_arg[]){{0}, __VA_ARGS__} + 1)

/* Runs a script of ';'-separated statements without arguments: schema
 * changes, migrations, test setup. SQLite runs it as one text; on
 * PostgreSQL it is split at top-level semicolons (quotes, dollar quotes and
 * comments respected) and sent statement by statement. 0 or -1. */
int chopin_db_exec_script(chopin_ctx *c, const char *sql);

/* The same statement n times, the i-th time with args[i * nargs] ..
 * args[i * nargs + nargs - 1]: on PostgreSQL all n are sent at once and
 * share one round trip. Returns n result sets (an array in the request
 * arena), or NULL when any failed. Outside a transaction each execution
 * stands alone: on PostgreSQL those after a failed one still run, on SQLite
 * they do not; inside one, a failure fails the transaction on both. For
 * TechEmpower's /queries, or loading several rows by key. */
chopin_rows **chopin_db_query_each(chopin_ctx *c, const char *sql, size_t n, size_t nargs,
                                   const chopin_arg *args);

size_t chopin_rows_count(const chopin_rows *r);
size_t chopin_rows_columns(const chopin_rows *r);
const char *chopin_rows_name(const chopin_rows *r, size_t col);
/* The column's index by name, or -1. */
int chopin_rows_find(const chopin_rows *r, const char *name);
/* Rows changed by an INSERT, UPDATE or DELETE. */
int64_t chopin_rows_affected(const chopin_rows *r);

/* Typed access; out-of-range cells and NULLs read as 0 / NULL / false. Text
 * converts to numbers and numbers to text the way the database would. */
bool chopin_rows_null(const chopin_rows *r, size_t row, size_t col);
int64_t chopin_rows_int(const chopin_rows *r, size_t row, size_t col);
double chopin_rows_double(const chopin_rows *r, size_t row, size_t col);
bool chopin_rows_bool(const chopin_rows *r, size_t row, size_t col);
const char *chopin_rows_text(const chopin_rows *r, size_t row, size_t col); /* NUL-terminated */
size_t chopin_rows_len(const chopin_rows *r, size_t row, size_t col);

/* The rows as an array of structs of model m (columns matched to fields by
 * name, unknown columns ignored, timestamps parsed), in the request arena;
 * chopin_rows_count(r) of them. NULL on a value that does not fit its field
 * (an error, answered 500). */
void *chopin_rows_bind(chopin_ctx *c, const chopin_rows *r, const chopin_model *m);

/* --- Transactions ---------------------------------------------------------- */

/* BEGIN, or a SAVEPOINT when a transaction is already open: the request
 * keeps one connection until the outermost commit or rollback. A handler
 * that returns with a transaction open has it rolled back. 0 or -1. */
int chopin_db_begin(chopin_ctx *c);
int chopin_db_commit(chopin_ctx *c);
int chopin_db_rollback(chopin_ctx *c);

/* --- Errors ---------------------------------------------------------------- */

typedef enum {
    CHOPIN_DB_OK = 0,
    CHOPIN_DB_CONFLICT,    /* unique violation: 409 */
    CHOPIN_DB_INVALID,     /* not-null, check or foreign key violation: 422 */
    CHOPIN_DB_NOT_FOUND,   /* the ORM found no row: 404 */
    CHOPIN_DB_UNAVAILABLE, /* cannot connect, connection lost, busy: 503 */
    CHOPIN_DB_CANCELLED,   /* the request ended (client gone, deadline) */
    CHOPIN_DB_MISUSE,      /* bad SQL or arguments: a bug, 500 */
    CHOPIN_DB_FAILED,      /* anything else: 500 */
} chopin_db_status;

typedef struct {
    chopin_db_status status;
    int http_status;  /* what Chopin answers */
    char sqlstate[6]; /* PostgreSQL's SQLSTATE, or SQLite's nearest equivalent */
    char column[64];  /* the column a constraint names, when the driver says */
    char detail[256]; /* the driver's message: for logs, never for clients */
} chopin_db_error;

/* The last failure of this request, or NULL. */
const chopin_db_error *chopin_db_last_error(const chopin_ctx *c);

/* --- Outside requests ------------------------------------------------------- */

/* A context of its own for work outside any request (start-up, scripts, the
 * CLI, test setup): the same calls work on it, and their waits block the
 * calling thread. Free it from the thread that made it. */
chopin_ctx *chopin_ctx_new(chopin_app *app);
void chopin_ctx_free(chopin_ctx *c);

#endif
