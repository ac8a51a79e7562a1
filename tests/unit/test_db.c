/* test_db.c - the query API on a real database: SQLite in memory by
 * default, or the PostgreSQL server named by CHOPIN_TEST_DATABASE_URL
 * (scripts/test.sh runs this file once for each, with the same code).
 *
 * Covers typed rows, $n parameters, hostile values, error mapping to the
 * envelope (and no driver text in answers), transactions with savepoints,
 * a transaction abandoned by its handler, rows bound into models, and
 * concurrent requests on one worker. */
#include <criterion/criterion.h>

#include <chopin.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

static const char *db_url(void) {
    const char *url = getenv("CHOPIN_TEST_DATABASE_URL");
    return url && *url ? url : "sqlite::memory:";
}

static chopin_app *make_app(int workers) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    cfg.port = 0;
    cfg.workers = workers;
    snprintf(cfg.database_url, sizeof cfg.database_url, "%s", db_url());
    chopin_app *app = chopin_app_new_with(&cfg);
    cr_assert_not_null(app, "app for %s", db_url());
    return app;
}

static bool is_pg(chopin_app *app) {
    return chopin_db_dialect_of(chopin_app_db(app)) == CHOPIN_POSTGRES;
}

/* Runs sql on a detached context; asserts it worked. */
static void exec_ok(chopin_app *app, const char *sql) {
    chopin_ctx *c = chopin_ctx_new(app);
    chopin_rows *r = chopin_sql(c, sql);
    const chopin_db_error *e = chopin_db_last_error(c);
    cr_assert_not_null(r, "%s: %s", sql, e ? e->detail : "?");
    chopin_ctx_free(c);
}

static void setup_items(chopin_app *app) {
    exec_ok(app, "DROP TABLE IF EXISTS items");
    exec_ok(app, is_pg(app) ? "CREATE TABLE items (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL "
                              "UNIQUE, qty INTEGER NOT NULL CHECK (qty >= 0), price DOUBLE "
                              "PRECISION, active BOOLEAN NOT NULL DEFAULT true, note TEXT)"
                            : "CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT "
                              "NOT NULL UNIQUE, qty INTEGER NOT NULL CHECK (qty >= 0), price REAL, "
                              "active BOOLEAN NOT NULL DEFAULT true, note TEXT)");
}

Test(db, typed_rows_and_parameters) {
    chopin_app *app = make_app(1);
    setup_items(app);
    chopin_ctx *c = chopin_ctx_new(app);
    chopin_rows *r =
        chopin_sql(c,
                   "INSERT INTO items (name, qty, price, active, note) VALUES ($1, $2, "
                   "$3, $4, $5) RETURNING id, name, qty, price, active, note",
                   chopin_arg_text("pencil"), chopin_arg_int(12), chopin_arg_double(0.25),
                   chopin_arg_bool(false), chopin_arg_null());
    cr_assert_not_null(r, "%s", chopin_db_last_error(c)->detail);
    cr_assert_eq(chopin_rows_count(r), 1);
    cr_assert_eq(chopin_rows_columns(r), 6);
    cr_assert_eq(chopin_rows_affected(r), 1);
    cr_assert_str_eq(chopin_rows_name(r, 1), "name");
    cr_assert_eq(chopin_rows_find(r, "price"), 3);
    cr_assert_eq(chopin_rows_find(r, "nope"), -1);
    cr_assert_gt(chopin_rows_int(r, 0, 0), 0);
    cr_assert_str_eq(chopin_rows_text(r, 0, 1), "pencil");
    cr_assert_eq(chopin_rows_len(r, 0, 1), 6);
    cr_assert_eq(chopin_rows_int(r, 0, 2), 12);
    cr_assert_float_eq(chopin_rows_double(r, 0, 3), 0.25, 1e-12);
    cr_assert(!chopin_rows_bool(r, 0, 4));
    cr_assert(chopin_rows_null(r, 0, 5));
    cr_assert_null(chopin_rows_text(r, 0, 5));
    /* out of range reads as NULL, not a crash */
    cr_assert(chopin_rows_null(r, 5, 0));
    cr_assert(chopin_rows_null(r, 0, 99));

    /* $1 used twice; a statement without arguments */
    r = chopin_sql(c, "SELECT $1 || '-' || $1 AS twice", chopin_arg_text("ab"));
    cr_assert_not_null(r);
    cr_assert_str_eq(chopin_rows_text(r, 0, 0), "ab-ab");
    r = chopin_sql(c, "SELECT count(*) AS n FROM items");
    cr_assert_eq(chopin_rows_int(r, 0, 0), 1);

    /* UPDATE without RETURNING: no rows, the count of changed ones */
    r = chopin_sql(c, "UPDATE items SET qty = qty + $1 WHERE name = $2", chopin_arg_int(3),
                   chopin_arg_textn("pencil-and-more", 6));
    cr_assert_not_null(r);
    cr_assert_eq(chopin_rows_count(r), 0);
    cr_assert_eq(chopin_rows_affected(r), 1);
    chopin_ctx_free(c);
    chopin_app_free(app);
}

/* Values an attacker would send: stored and read back byte for byte, and
 * the statement's meaning never changes (the table survives). */
Test(db, hostile_values_are_only_values) {
    chopin_app *app = make_app(1);
    setup_items(app);
    const char *hostile[] = {
        "'; DROP TABLE items; --",
        "\" OR 1=1 --",
        "Robert'); DELETE FROM items;--",
        "$1",
        "?",
        ":name",
        "\\x00\\'",
        "ünïcødé ✓ 🎵",
        "a\nb\r\tc",
        "%_%",
        "' OR ''='",
        "1; SELECT pg_sleep(10)",
        "/* comment */",
        "\\",
        "''''",
    };
    chopin_ctx *c = chopin_ctx_new(app);
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        chopin_rows *r =
            chopin_sql(c, "INSERT INTO items (name, qty) VALUES ($1, $2) RETURNING name",
                       chopin_arg_text(hostile[i]), chopin_arg_int((int64_t)i));
        cr_assert_not_null(r, "%s: %s", hostile[i], chopin_db_last_error(c)->detail);
        cr_assert_str_eq(chopin_rows_text(r, 0, 0), hostile[i]);
        r = chopin_sql(c, "SELECT qty FROM items WHERE name = $1", chopin_arg_text(hostile[i]));
        cr_assert_eq(chopin_rows_count(r), 1, "%s", hostile[i]);
        cr_assert_eq(chopin_rows_int(r, 0, 0), (int64_t)i);
    }
    chopin_rows *r = chopin_sql(c, "SELECT count(*) FROM items");
    cr_assert_eq(chopin_rows_int(r, 0, 0), (int64_t)(sizeof hostile / sizeof hostile[0]));
    /* A NUL inside text: refused on PostgreSQL (422), kept on SQLite. */
    r = chopin_sql(c, "SELECT $1 AS v", chopin_arg_textn("a\0b", 3));
    if (is_pg(app)) {
        cr_assert_null(r);
        cr_assert_eq(chopin_db_last_error(c)->status, CHOPIN_DB_INVALID);
    } else {
        cr_assert_not_null(r);
    }
    chopin_ctx_free(c);
    chopin_app_free(app);
}

Test(db, parameters_are_dollar_numbers_only) {
    chopin_app *app = make_app(1);
    chopin_ctx *c = chopin_ctx_new(app);
    cr_assert_null(chopin_sql(c, "SELECT $2 AS v", chopin_arg_int(1)));
    cr_assert_eq(chopin_db_last_error(c)->status, CHOPIN_DB_MISUSE);
    chopin_ctx_free(c);
    c = chopin_ctx_new(app);
    cr_assert_null(chopin_sql(c, "SELECT 1; SELECT 2"));
    cr_assert_eq(chopin_db_last_error(c)->status, CHOPIN_DB_MISUSE);
    chopin_ctx_free(c);
    if (!is_pg(app)) { /* PostgreSQL itself rejects '?' as a syntax error */
        c = chopin_ctx_new(app);
        cr_assert_null(chopin_sql(c, "SELECT ? AS v", chopin_arg_int(1)));
        cr_assert_eq(chopin_db_last_error(c)->status, CHOPIN_DB_MISUSE);
        chopin_ctx_free(c);
    }
    chopin_app_free(app);
}

/* --- Errors through real requests ----------------------------------------------------------- */

static void add_item(chopin_ctx *c) {
    chopin_str name = chopin_query(c, "name"), qty = chopin_query(c, "qty");
    chopin_rows *r = chopin_sql(c, "INSERT INTO items (name, qty) VALUES ($1, $2) RETURNING id",
                                chopin_arg_textn(name.ptr, name.len),
                                qty.ptr ? chopin_arg_int(atoi(chopin_strdup(c, qty.ptr, qty.len)))
                                        : chopin_arg_null());
    if (!r) return; /* Chopin answers */
    chopin_json *j = chopin_json_data_begin(c, 201);
    chopin_json_object(j);
    chopin_json_key(j, "id");
    chopin_json_int(j, chopin_rows_int(r, 0, 0));
    chopin_json_end(j);
    chopin_json_finish(j);
}

static void bad_sql(chopin_ctx *c) {
    if (!chopin_sql(c, "SELEC nonsense FROM nowhere")) return;
    chopin_text(c, 200, "unreachable");
}

/* The handler answers the failure itself, with its own words. */
static void custom_conflict(chopin_ctx *c) {
    if (chopin_sql(c, "INSERT INTO items (name, qty) VALUES ('dup', 1)")) {
        chopin_text(c, 200, "first");
        return;
    }
    const chopin_db_error *e = chopin_db_last_error(c);
    if (e && e->status == CHOPIN_DB_CONFLICT)
        chopin_error(c, 409, "NAME_TAKEN", "pick another name");
}

static chopin_test_response *get(chopin_app *app, const char *target) {
    chopin_test_response *r = chopin_test_request(app, "GET", target, NULL, NULL, 0);
    cr_assert_not_null(r);
    return r;
}

Test(db, failures_become_the_error_envelope) {
    chopin_app *app = make_app(1);
    setup_items(app);
    chopin_get(app, "/add", add_item);
    chopin_get(app, "/bad", bad_sql);
    chopin_get(app, "/custom", custom_conflict);
    chopin_test_response *r = get(app, "/add?name=pen&qty=1");
    cr_assert_eq(r->status, 201, "%s", r->body);
    cr_assert(strstr(r->body, "{\"success\":true,\"data\":{\"id\":"), "%s", r->body);
    chopin_test_response_free(r);

    r = get(app, "/add?name=pen&qty=2");
    cr_assert_eq(r->status, 409, "%s", r->body);
    cr_assert_str_eq(r->body, "{\"success\":false,\"error\":{\"status\":409,\"code\":\"CONFLICT\","
                              "\"message\":\"a record with this name already exists\"}}");
    chopin_test_response_free(r);

    r = get(app, "/add?name=nothing"); /* qty NULL */
    cr_assert_eq(r->status, 422, "%s", r->body);
    cr_assert(strstr(r->body, "\"code\":\"VALIDATION_FAILED\""), "%s", r->body);
    cr_assert(strstr(r->body, "\"code\":\"required\""), "%s", r->body);
    chopin_test_response_free(r);

    r = get(app, "/add?name=neg&qty=-5"); /* CHECK */
    cr_assert_eq(r->status, 422, "%s", r->body);
    cr_assert(strstr(r->body, "\"code\":\"constraint\""), "%s", r->body);
    chopin_test_response_free(r);

    r = get(app, "/bad");
    cr_assert_eq(r->status, 500, "%s", r->body);
    cr_assert_str_eq(r->body, "{\"success\":false,\"error\":{\"status\":500,\"code\":"
                              "\"INTERNAL_ERROR\",\"message\":\"database error\"}}");
    chopin_test_response_free(r);

    r = get(app, "/custom");
    cr_assert_eq(r->status, 200);
    chopin_test_response_free(r);
    r = get(app, "/custom");
    cr_assert_eq(r->status, 409);
    cr_assert(strstr(r->body, "NAME_TAKEN"), "%s", r->body);
    chopin_test_response_free(r);
    chopin_app_free(app);
}

/* --- Transactions ---------------------------------------------------------------------------- */

static int64_t count_items(chopin_app *app) {
    chopin_ctx *c = chopin_ctx_new(app);
    chopin_rows *r = chopin_sql(c, "SELECT count(*) FROM items");
    cr_assert_not_null(r);
    int64_t n = chopin_rows_int(r, 0, 0);
    chopin_ctx_free(c);
    return n;
}

static void insert_named(chopin_ctx *c, const char *name) {
    cr_assert_not_null(
        chopin_sql(c, "INSERT INTO items (name, qty) VALUES ($1, 1)", chopin_arg_text(name)), "%s",
        chopin_db_last_error(c) ? chopin_db_last_error(c)->detail : "");
}

Test(db, transactions_commit_rollback_and_savepoints) {
    chopin_app *app = make_app(1);
    setup_items(app);
    chopin_ctx *c = chopin_ctx_new(app);
    cr_assert_eq(chopin_db_begin(c), 0);
    insert_named(c, "a");
    cr_assert_eq(chopin_db_commit(c), 0);
    cr_assert_eq(count_items(app), 1);

    cr_assert_eq(chopin_db_begin(c), 0);
    insert_named(c, "b");
    cr_assert_eq(chopin_db_rollback(c), 0);
    cr_assert_eq(count_items(app), 1);

    /* outer keeps c, inner savepoint with d rolled back, e in a committed inner */
    cr_assert_eq(chopin_db_begin(c), 0);
    insert_named(c, "c");
    cr_assert_eq(chopin_db_begin(c), 0);
    insert_named(c, "d");
    cr_assert_eq(chopin_db_rollback(c), 0);
    cr_assert_eq(chopin_db_begin(c), 0);
    insert_named(c, "e");
    cr_assert_eq(chopin_db_commit(c), 0);
    cr_assert_eq(chopin_db_commit(c), 0);
    chopin_rows *r = chopin_sql(c, "SELECT name FROM items ORDER BY name");
    cr_assert_eq(chopin_rows_count(r), 3);
    cr_assert_str_eq(chopin_rows_text(r, 0, 0), "a");
    cr_assert_str_eq(chopin_rows_text(r, 1, 0), "c");
    cr_assert_str_eq(chopin_rows_text(r, 2, 0), "e");

    /* A failure inside: the transaction refuses more until rolled back. */
    cr_assert_eq(chopin_db_begin(c), 0);
    insert_named(c, "f");
    cr_assert_null(chopin_sql(c, "INSERT INTO items (name, qty) VALUES ('a', 1)"));
    cr_assert_eq(chopin_db_last_error(c)->status, CHOPIN_DB_CONFLICT);
    cr_assert_null(chopin_sql(c, "SELECT 1"));
    cr_assert_neq(chopin_db_commit(c), 0, "a broken transaction does not commit");
    cr_assert_eq(count_items(app), 3, "f was rolled back with it");
    chopin_ctx_free(c);

    /* A savepoint absorbs a failure: the outer transaction goes on. */
    c = chopin_ctx_new(app);
    cr_assert_eq(chopin_db_begin(c), 0);
    insert_named(c, "g");
    cr_assert_eq(chopin_db_begin(c), 0);
    cr_assert_null(chopin_sql(c, "INSERT INTO items (name, qty) VALUES ('a', 1)"));
    cr_assert_eq(chopin_db_rollback(c), 0);
    insert_named(c, "h");
    cr_assert_eq(chopin_db_commit(c), 0);
    cr_assert_eq(count_items(app), 5);
    chopin_ctx_free(c);
    chopin_app_free(app);
}

static void leaves_transaction_open(chopin_ctx *c) {
    if (chopin_db_begin(c)) return;
    if (!chopin_sql(c, "INSERT INTO items (name, qty) VALUES ('ghost', 1)")) return;
    chopin_text(c, 200, "forgot to commit");
}

static void counts(chopin_ctx *c) {
    chopin_rows *r = chopin_sql(c, "SELECT count(*) FROM items");
    if (!r) return;
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)chopin_rows_int(r, 0, 0));
    chopin_text(c, 200, buf);
}

Test(db, a_transaction_left_open_is_rolled_back) {
    chopin_app *app = make_app(1);
    setup_items(app);
    chopin_get(app, "/open", leaves_transaction_open);
    chopin_get(app, "/count", counts);
    for (int i = 0; i < 3; i++) { /* and the connection is free again each time */
        chopin_test_response *r = get(app, "/open");
        cr_assert_eq(r->status, 200, "%s", r->body);
        chopin_test_response_free(r);
        r = get(app, "/count");
        cr_assert_str_eq(r->body, "0");
        chopin_test_response_free(r);
    }
    chopin_app_free(app);
}

/* --- Models ------------------------------------------------------------------------------------
 */

typedef struct {
    int64_t id;
    const char *name;
    int32_t qty;
    double price;
    bool active;
    const char *note;
    int64_t seen;
    bool has_seen;
} item;
#define ITEM_FIELDS(F)                                                                             \
    F(item, id, CHOPIN_INT64, .read_only = true), F(item, name, CHOPIN_STRING),                    \
        F(item, qty, CHOPIN_INT32), F(item, price, CHOPIN_DOUBLE), F(item, active, CHOPIN_BOOL),   \
        F(item, note, CHOPIN_TEXT),                                                                \
        F(item, seen, CHOPIN_TIMESTAMP, .nullable = true, CHOPIN_PRESENCE(item, has_seen))
CHOPIN_MODEL(item, ITEM_FIELDS);

Test(db, rows_bind_into_models) {
    chopin_app *app = make_app(1);
    exec_ok(app, "DROP TABLE IF EXISTS seen_items");
    exec_ok(app, is_pg(app)
                     ? "CREATE TABLE seen_items (id BIGINT, name TEXT, qty INTEGER, price "
                       "DOUBLE PRECISION, active BOOLEAN, note TEXT, seen TIMESTAMPTZ, extra "
                       "TEXT)"
                     : "CREATE TABLE seen_items (id INTEGER, name TEXT, qty INTEGER, price "
                       "REAL, active BOOLEAN, note TEXT, seen TEXT, extra TEXT)");
    chopin_ctx *c = chopin_ctx_new(app);
    cr_assert_not_null(chopin_sql(c,
                                  "INSERT INTO seen_items VALUES (1, 'bolt', 7, 1.5, true, NULL, "
                                  "$1, 'x'), (2, 'nut', 0, 0.25, false, 'n', NULL, 'y')",
                                  chopin_arg_text("2026-11-27T09:04:32.500000Z")),
                       "%s", chopin_db_last_error(c) ? chopin_db_last_error(c)->detail : "");
    chopin_rows *r = chopin_sql(c, "SELECT * FROM seen_items ORDER BY id");
    cr_assert_eq(chopin_rows_count(r), 2);
    item *items = chopin_rows_bind(c, r, &item_model);
    cr_assert_not_null(items);
    cr_assert_eq(items[0].id, 1);
    cr_assert_str_eq(items[0].name, "bolt");
    cr_assert_eq(items[0].qty, 7);
    cr_assert_float_eq(items[0].price, 1.5, 1e-12);
    cr_assert(items[0].active);
    cr_assert_null(items[0].note);
    cr_assert(items[0].has_seen);
    cr_assert_eq(items[0].seen, 1795770272500000LL);
    cr_assert(!items[1].active);
    cr_assert_str_eq(items[1].note, "n");
    cr_assert(!items[1].has_seen);
    /* A value that does not fit its field is an error, not a wrapped number. */
    r = chopin_sql(c, "SELECT 9999999999 AS qty");
    cr_assert_null(chopin_rows_bind(c, r, &item_model));
    chopin_ctx_free(c);
    chopin_app_free(app);
}

/* --- Concurrency: requests of one worker wait for the database together ------------------------
 */

typedef struct {
    int port;
    const char *target;
    int status;
} http_get;

static void *do_get(void *arg) {
    http_get *g = arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        char req[256];
        int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                         g->target);
        if (write(fd, req, (size_t)n) == n) {
            char buf[4096];
            ssize_t got = read(fd, buf, sizeof buf - 1);
            if (got > 12) g->status = atoi(buf + 9);
        }
    }
    close(fd);
    return NULL;
}

static void pg_sleeper(chopin_ctx *c) {
    chopin_rows *r = chopin_sql(c, "SELECT pg_sleep(0.3), $1::int AS n", chopin_arg_int(7));
    if (!r) return;
    chopin_text(c, 200, chopin_rows_text(r, 0, 1) ? chopin_rows_text(r, 0, 1) : "7");
}

static void lite_writer(chopin_ctx *c) {
    if (chopin_db_begin(c)) return;
    if (!chopin_sql(
            c, "INSERT INTO items (name, qty) VALUES ($1, 1)",
            chopin_arg_text(chopin_strdup(c, chopin_req_query(c).ptr, chopin_req_query(c).len))))
        return;
    if (chopin_sleep(c, 20)) return; /* holds the connection while suspended */
    if (chopin_db_commit(c)) return;
    chopin_text(c, 200, "ok");
}

Test(db, concurrent_requests_on_one_worker) {
    chopin_app *app = make_app(1);
    setup_items(app);
    chopin_get(app, "/sleep", pg_sleeper);
    chopin_get(app, "/write", lite_writer);
    cr_assert_eq(chopin_app_start(app), 0);
    enum { N = 20 };
    pthread_t th[N];
    http_get g[N];
    char targets[N][32];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < N; i++) {
        if (is_pg(app))
            snprintf(targets[i], sizeof targets[i], "/sleep");
        else
            snprintf(targets[i], sizeof targets[i], "/write?w%d", i);
        g[i] = (http_get){chopin_app_port(app), targets[i], 0};
        pthread_create(&th[i], NULL, do_get, &g[i]);
    }
    for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    for (int i = 0; i < N; i++) cr_expect_eq(g[i].status, 200, "request %d: %d", i, g[i].status);
    if (is_pg(app)) /* 20 x 0.3 s on a pool of 4 connections: ~1.5 s, never 6 s */
        cr_expect_lt(secs, 4.0, "20 queries sleeping 0.3 s took %.2f s", secs);
    else
        cr_expect_eq(count_items(app), N, "every transaction committed once");
    chopin_app_stop(app);
    chopin_app_wait(app);
    chopin_app_free(app);
}

/* --- Several executions at once ------------------------------------------------------------------
 */

Test(db, query_each_runs_one_statement_many_times) {
    chopin_app *app = make_app(1);
    setup_items(app);
    chopin_ctx *c = chopin_ctx_new(app);
    enum { N = 50 };
    chopin_arg args[N * 2];
    char names[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "n%02d", i);
        args[2 * i] = chopin_arg_text(names[i]);
        args[2 * i + 1] = chopin_arg_int(i);
    }
    chopin_rows **r = chopin_db_query_each(
        c, "INSERT INTO items (name, qty) VALUES ($1, $2) RETURNING qty", N, 2, args);
    cr_assert_not_null(r, "%s", chopin_db_last_error(c)->detail);
    for (int i = 0; i < N; i++) cr_assert_eq(chopin_rows_int(r[i], 0, 0), i);
    chopin_arg ids[N];
    for (int i = 0; i < N; i++) ids[i] = chopin_arg_text(names[N - 1 - i]);
    r = chopin_db_query_each(c, "SELECT qty FROM items WHERE name = $1", N, 1, ids);
    cr_assert_not_null(r);
    for (int i = 0; i < N; i++) cr_assert_eq(chopin_rows_int(r[i], 0, 0), N - 1 - i);
    /* one failure fails the call, and says which */
    ids[7] = chopin_arg_text("n03");
    r = chopin_db_query_each(c, "INSERT INTO items (name, qty) VALUES ($1, 1)", 1, 1, &ids[7]);
    cr_assert_null(r);
    cr_assert_eq(chopin_db_last_error(c)->status, CHOPIN_DB_CONFLICT);
    cr_assert_not_null(chopin_db_query_each(c, "SELECT 1", 0, 0, NULL), "n = 0 is nothing to do");
    chopin_ctx_free(c);
    chopin_app_free(app);
}

/* --- Connection forms (PostgreSQL): TLS through sslmode, a unix socket
 * ---------------------------- */

static bool tls_in_use(const char *url) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    snprintf(cfg.database_url, sizeof cfg.database_url, "%s", url);
    chopin_app *app = chopin_app_new_with(&cfg);
    cr_assert_not_null(app);
    chopin_ctx *c = chopin_ctx_new(app);
    chopin_rows *r = chopin_sql(c, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
    cr_assert_not_null(r, "%s: %s", url, chopin_db_last_error(c)->detail);
    bool ssl = chopin_rows_bool(r, 0, 0);
    chopin_ctx_free(c);
    chopin_app_free(app);
    return ssl;
}

Test(db, postgres_tls_and_unix_socket) {
    const char *url = getenv("CHOPIN_TEST_DATABASE_URL");
    if (!url || strncmp(url, "postgres", 8)) cr_skip_test("PostgreSQL only (the .postgres run)");
    char with[600];
    snprintf(with, sizeof with, "%s%ssslmode=require", url, strchr(url, '?') ? "&" : "?");
    cr_assert(tls_in_use(with), "sslmode=require gives a TLS connection");
    snprintf(with, sizeof with, "%s%ssslmode=disable", url, strchr(url, '?') ? "&" : "?");
    cr_assert(!tls_in_use(with));
    const char *dir = getenv("CHOPIN_PG_DIR"), *port = getenv("CHOPIN_PG_PORT");
    cr_assert(dir && port, "scripts/test.sh exports CHOPIN_PG_DIR and CHOPIN_PG_PORT");
    snprintf(with, sizeof with, "postgres:///chopin_test?host=%s&port=%s&user=chopin", dir, port);
    cr_assert(!tls_in_use(with), "a unix socket (no TLS there)");
}

/* --- SQLite: a write waiting for another connection's lock sleeps its
 * coroutine, and the worker goes on serving others meanwhile -------------------------------------
 */

static void lite_write(chopin_ctx *c) {
    if (!chopin_sql(c, "INSERT INTO items (name, qty) VALUES ('waited', 1)")) return;
    chopin_text(c, 200, "written");
}

static void ping(chopin_ctx *c) {
    chopin_text(c, 200, "pong");
}

static void *hold_lock(void *arg) {
    http_get *g = arg;
    do_get(g);
    return NULL;
}

Test(db, sqlite_lock_waits_do_not_stall_the_worker) {
    if (getenv("CHOPIN_TEST_DATABASE_URL") && *getenv("CHOPIN_TEST_DATABASE_URL"))
        cr_skip_test("SQLite only (the plain run)");
    char path[] = "/tmp/chopin-lock-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    cfg.port = 0;
    cfg.workers = 1;
    snprintf(cfg.database_url, sizeof cfg.database_url, "sqlite://%s", path);
    chopin_app *app = chopin_app_new_with(&cfg);
    setup_items(app);
    chopin_get(app, "/write", lite_write);
    chopin_get(app, "/ping", ping);
    cr_assert_eq(chopin_app_start(app), 0);
    /* Another connection (a detached context) takes the write lock. */
    chopin_ctx *holder = chopin_ctx_new(app);
    cr_assert_eq(chopin_db_begin(holder), 0);
    cr_assert_not_null(chopin_sql(holder, "INSERT INTO items (name, qty) VALUES ('holder', 1)"));
    http_get w = {chopin_app_port(app), "/write", 0};
    pthread_t th;
    pthread_create(&th, NULL, hold_lock, &w);
    usleep(300 * 1000); /* the write is now waiting in the busy handler */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    http_get p = {chopin_app_port(app), "/ping", 0};
    do_get(&p);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    cr_assert_eq(p.status, 200);
    cr_assert_lt(ms, 200, "the worker answered /ping in %.1f ms while the write waited", ms);
    cr_assert_eq(w.status, 0, "the write is still waiting");
    cr_assert_eq(chopin_db_commit(holder), 0);
    pthread_join(th, NULL);
    cr_assert_eq(w.status, 200, "and goes through once the lock is free");
    chopin_ctx_free(holder);
    chopin_app_stop(app);
    chopin_app_wait(app);
    cr_assert_eq(count_items(app), 2);
    chopin_app_free(app);
    char wal[64];
    unlink(path);
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
}
