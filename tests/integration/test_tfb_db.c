/* test_tfb_db.c - TechEmpower's database tests on the real chopin-tfb,
 * against the PostgreSQL server named by CHOPIN_PG_URL (scripts/test.sh
 * starts one). Without it every test fails and says so: never a silent skip.
 *
 * Before each test bench/tfb/load.sh loads bench/tfb/setup.sql into that
 * database (so it is tested too); the checks then read the world table back
 * with psql and hold every answer to TechEmpower's rules:
 *   /db        {"id":N,"randomNumber":M}, the row as stored, 1 <= N, M <= 10000
 *   /queries   ?queries= clamped to 1..500, missing or not an integer -> 1
 *   /fortunes  the 12 rows + 1 added at request time, sorted by message,
 *              HTML-escaped, text/html; charset=utf-8
 *   /updates   the same counts; every row reported is stored with its new
 *              number, which differs from the old one; concurrent batches
 *              do not deadlock. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>

#include "harness.h"

#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum { WORLD_ROWS = 10000, MAX_QUERIES = 500 };

/* The server's database, or a failed test that says how to get one. */
static const char *pg_url(void) {
    const char *url = getenv("CHOPIN_PG_URL");
    if (!url || !*url)
        cr_assert_fail("CHOPIN_PG_URL is not set: run scripts/test.sh, which starts PostgreSQL, "
                       "or eval \"$(scripts/pg-server.sh start)\" first");
    return url;
}

/* A file of the repository, found from this source file's own path (CMake
 * compiles it by absolute path). */
static const char *repo_file(const char *rel, char *out, size_t len) {
    char src[1024];
    snprintf(src, sizeof src, "%s", __FILE__);
    snprintf(out, len, "%s/../../%s", dirname(src), rel);
    return out;
}

/* Runs a shell command; the URL travels in the environment as
 * $CHOPIN_PG_URL, never pasted into the command line. */
static void run_ok(const char *cmd) {
    int rc = system(cmd);
    cr_assert_eq(rc, 0, "'%s' failed (status %d)", cmd, rc);
}

static void load_tables(void) {
    pg_url();
    char script[1100], cmd[1200];
    repo_file("bench/tfb/load.sh", script, sizeof script);
    snprintf(cmd, sizeof cmd, "bash '%s' \"$CHOPIN_PG_URL\"", script);
    run_ok(cmd);
}

/* SQL through psql -At (unaligned, tuples only); the output, malloc'd. */
static char *psql(const char *sql) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "psql -X -At -v ON_ERROR_STOP=1 -d \"$CHOPIN_PG_URL\" -c \"%s\"",
             sql);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f, "popen psql");
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    cr_assert_not_null(out);
    size_t got;
    while ((got = fread(out + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 4096) {
            out = realloc(out, cap *= 2);
            cr_assert_not_null(out);
        }
    }
    out[len] = 0;
    cr_assert_eq(pclose(f), 0, "psql -c \"%s\" failed", sql);
    return out;
}

/* The whole world table: table[id] = randomnumber. */
static void read_world(int *table) {
    memset(table, 0, (WORLD_ROWS + 1) * sizeof *table);
    char *out = psql("SELECT id, randomnumber FROM world");
    int rows = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        int id, rn;
        cr_assert_eq(sscanf(line, "%d|%d", &id, &rn), 2, "psql line '%s'", line);
        cr_assert(id >= 1 && id <= WORLD_ROWS, "id %d", id);
        table[id] = rn;
        rows++;
    }
    cr_assert_eq(rows, WORLD_ROWS);
    free(out);
}

static void setup(void) {
    load_tables();
}

TestSuite(tfb_db, .init = setup, .fini = h_cleanup, .timeout = 120);

static h_server *start_tfb(const char *workers) {
    char db[1100], w[64];
    snprintf(db, sizeof db, "DATABASE_URL=%s", pg_url());
    snprintf(w, sizeof w, "CHOPIN_WORKERS=%s", workers);
    const char *const env[] = {db, w, "CHOPIN_ACCESS_LOG=0", NULL};
    return h_start(CHOPIN_TFB_BIN, env);
}

static void stop_ok(h_server *s) {
    cr_expect_eq(h_stop(s), 0, "server exit status");
    h_free(s);
}

static h_response *get(h_conn *c, const char *target) {
    char req[512];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target);
    h_response *r = h_roundtrip(c, req);
    cr_assert_not_null(r, "GET %s: %s", target, h_last_error());
    cr_assert_eq(r->status, 200, "GET %s: status %d, body %s", target, r->status, r->body);
    cr_assert_not_null(h_header(r, "Server"), "GET %s: no Server header", target);
    cr_assert_not_null(h_header(r, "Date"), "GET %s: no Date header", target);
    return r;
}

/* --- TechEmpower's JSON, read strictly --------------------------------------- */

typedef struct {
    int id, random_number;
} world;

/* {"id":N,"randomNumber":M} at *p; advances *p. */
static bool parse_world(const char **p, world *w) {
    int used = 0;
    if (sscanf(*p, "{\"id\":%d,\"randomNumber\":%d}%n", &w->id, &w->random_number, &used) != 2 ||
        !used)
        return false;
    *p += used;
    return true;
}

/* A JSON array of world objects; the count, or -1 when it is anything else. */
static int parse_worlds(const char *body, world *out, int max) {
    const char *p = body;
    int n = 0;
    if (*p++ != '[') return -1;
    while (*p != ']') {
        if (n && *p++ != ',') return -1;
        if (n == max || !parse_world(&p, &out[n++])) return -1;
    }
    return p[1] == 0 ? n : -1;
}

static void expect_json_type(const h_response *r) {
    const char *type = h_header(r, "Content-Type");
    cr_assert(type && !strcmp(type, "application/json"), "Content-Type %s", type ? type : "-");
}

/* Every row in range and as stored. */
static void expect_stored(const world *w, int n, const int *table, const char *what) {
    for (int i = 0; i < n; i++) {
        cr_assert(w[i].id >= 1 && w[i].id <= WORLD_ROWS, "%s: row %d id %d", what, i, w[i].id);
        cr_assert(w[i].random_number >= 1 && w[i].random_number <= WORLD_ROWS,
                  "%s: row %d randomNumber %d", what, i, w[i].random_number);
        cr_assert_eq(w[i].random_number, table[w[i].id],
                     "%s: row %d says id %d has %d, the table has %d", what, i, w[i].id,
                     w[i].random_number, table[w[i].id]);
    }
}

/* --- /db -------------------------------------------------------------------- */

Test(tfb_db, db_one_random_row_as_stored) {
    static int table[WORLD_ROWS + 1];
    read_world(table);
    h_server *s = start_tfb("1");
    h_conn *c = h_connect(s->port);
    enum { N = 200 };
    bool seen[WORLD_ROWS + 1] = {0};
    int distinct = 0;
    for (int i = 0; i < N; i++) {
        /* every other one through the ORM (/db-orm): the same answer */
        const char *route = i % 2 ? "/db-orm" : "/db";
        h_response *r = get(c, route);
        expect_json_type(r);
        const char *p = r->body;
        world w;
        cr_assert(parse_world(&p, &w) && !*p, "%s: not TechEmpower's shape: %s", route, r->body);
        expect_stored(&w, 1, table, route);
        if (!seen[w.id]) seen[w.id] = true, distinct++;
        h_response_free(r);
    }
    /* Random ids: 200 draws of 10,000 repeat a few times, not often. */
    cr_assert_gt(distinct, N - 20, "only %d distinct ids in %d requests", distinct, N);
    h_close(c);
    stop_ok(s);
}

/* --- /queries and /updates: the count rules ----------------------------------- */

static const struct {
    const char *query;
    int rows;
} counts[] = {
    {"?queries=0", 1},
    {"?queries=1", 1},
    {"?queries=20", 20},
    {"?queries=500", 500},
    {"?queries=501", 500},
    {"?queries=foo", 1},
    {"", 1},
    {"?queries=", 1},
    {"?queries=-3", 1},
    {"?queries=2x", 1},
    {"?queries=99999999999999999999", 500},
};

Test(tfb_db, queries_count_rules_and_rows_as_stored) {
    static int table[WORLD_ROWS + 1];
    static world w[MAX_QUERIES + 1];
    read_world(table);
    h_server *s = start_tfb("1");
    h_conn *c = h_connect(s->port);
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        char target[128];
        snprintf(target, sizeof target, "/queries%s", counts[i].query);
        h_response *r = get(c, target);
        expect_json_type(r);
        int n = parse_worlds(r->body, w, MAX_QUERIES + 1);
        cr_assert_eq(n, counts[i].rows, "%s: %d rows, want %d: %.200s", target, n, counts[i].rows,
                     r->body);
        expect_stored(w, n, table, target);
        h_response_free(r);
    }
    h_close(c);
    stop_ok(s);
}

Test(tfb_db, updates_count_rules_and_rows_changed) {
    static int before[WORLD_ROWS + 1], after[WORLD_ROWS + 1];
    static world w[MAX_QUERIES + 1];
    h_server *s = start_tfb("1");
    h_conn *c = h_connect(s->port);
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        char target[128];
        snprintf(target, sizeof target, "/updates%s", counts[i].query);
        read_world(before);
        h_response *r = get(c, target);
        expect_json_type(r);
        int n = parse_worlds(r->body, w, MAX_QUERIES + 1);
        cr_assert_eq(n, counts[i].rows, "%s: %d rows, want %d: %.200s", target, n, counts[i].rows,
                     r->body);
        read_world(after);
        /* What it reports is what is stored now (a repeated id included),
         * and differs from what was there. */
        expect_stored(w, n, after, target);
        int changed = 0;
        for (int id = 1; id <= WORLD_ROWS; id++) changed += before[id] != after[id];
        bool reported[WORLD_ROWS + 1] = {0};
        int distinct = 0;
        for (int k = 0; k < n; k++) {
            cr_assert_neq(before[w[k].id], after[w[k].id], "%s: id %d not changed", target,
                          w[k].id);
            if (!reported[w[k].id]) reported[w[k].id] = true, distinct++;
        }
        cr_assert_eq(changed, distinct, "%s: %d rows changed, %d distinct reported", target,
                     changed, distinct);
        h_response_free(r);
    }
    h_close(c);
    stop_ok(s);
}

/* Batches of 500 from many connections on two workers: the ids of each
 * UPDATE are sorted, so concurrent batches take their row locks in one
 * order and never deadlock (PostgreSQL would abort one: a 503). */
typedef struct {
    int port, ok, failed, status;
} updater;

static void *update_many(void *arg) {
    updater *u = arg;
    h_conn *c = h_try_connect(AF_INET, u->port);
    if (!c) {
        u->failed = -1;
        return NULL;
    }
    for (int i = 0; i < 10; i++) {
        h_response *r = h_roundtrip(c, "GET /updates?queries=500 HTTP/1.1\r\nHost: x\r\n\r\n");
        if (r && r->status == 200) {
            u->ok++;
        } else {
            u->failed++;
            u->status = r ? r->status : -1;
        }
        h_response_free(r);
        if (!r) break;
    }
    h_close(c);
    return NULL;
}

Test(tfb_db, concurrent_updates_do_not_deadlock) {
    h_server *s = start_tfb("2");
    enum { T = 8 };
    pthread_t th[T];
    updater u[T];
    for (int i = 0; i < T; i++) {
        u[i] = (updater){.port = s->port};
        cr_assert_eq(pthread_create(&th[i], NULL, update_many, &u[i]), 0);
    }
    for (int i = 0; i < T; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < T; i++)
        cr_expect(u[i].ok == 10 && u[i].failed == 0, "client %d: %d ok, %d failed (last %d)", i,
                  u[i].ok, u[i].failed, u[i].status);
    stop_ok(s);
}

/* --- /fortunes ------------------------------------------------------------------ */

#define FORTUNE_ROW(id, msg) "<tr><td>" id "</td><td>" msg "</td></tr>"

/* TechEmpower's expected table, in order, escaped. */
static const char *const fortune_rows[][2] = {
    {"11", "&lt;script&gt;alert(&quot;This should not be displayed in a browser alert "
           "box.&quot;);&lt;/script&gt;"},
    {"4", "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"},
    {"5", "A computer program does what you tell it to do, not what you want it to do."},
    {"2", "A computer scientist is someone who fixes things that aren&#39;t broken."},
    {"8", "A list is only as strong as its weakest link. — Donald Knuth"},
    {"0", "Additional fortune added at request time."},
    {"3", "After enough decimal places, nobody gives a damn."},
    {"7", "Any program that runs right is obsolete."},
    {"10", "Computers make very fast, very accurate mistakes."},
    {"6", "Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen"},
    {"9", "Feature: A bug with seniority."},
    {"1", "fortune: No such file or directory"},
    {"12", "フレームワークのベンチマーク"},
};

static const char *fortunes_html(void) {
    static char html[4096];
    size_t n = (size_t)snprintf(html, sizeof html, "%s",
                                "<!DOCTYPE html><html><head><title>Fortunes</title></head><body>"
                                "<table><tr><th>id</th><th>message</th></tr>");
    for (size_t i = 0; i < sizeof fortune_rows / sizeof fortune_rows[0]; i++)
        n += (size_t)snprintf(html + n, sizeof html - n, FORTUNE_ROW("%s", "%s"),
                              fortune_rows[i][0], fortune_rows[i][1]);
    snprintf(html + n, sizeof html - n, "</table></body></html>");
    return html;
}

static void expect_html(const h_response *r) {
    const char *type = h_header(r, "Content-Type");
    cr_assert(type && !strcmp(type, "text/html; charset=utf-8"), "Content-Type %s",
              type ? type : "-");
}

Test(tfb_db, fortunes_exact_html) {
    h_server *s = start_tfb("1");
    h_conn *c = h_connect(s->port);
    for (int i = 0; i < 3; i++) { /* the added row is per request, not kept */
        h_response *r = get(c, "/fortunes");
        expect_html(r);
        const char *want = fortunes_html();
        cr_assert_eq(r->body_len, strlen(want), "length %zu, want %zu:\n%s", r->body_len,
                     strlen(want), r->body);
        cr_assert_str_eq(r->body, want);
        cr_assert_null(strstr(r->body, "<script>"), "unescaped script tag");
        h_response_free(r);
    }
    h_close(c);
    stop_ok(s);
}

/* Each of & < > " ' escaped wherever it sits, and rows the test adds sorted
 * among the others by their bytes. */
Test(tfb_db, fortunes_escape_each_special_character) {
    free(psql("INSERT INTO fortune (id, message) VALUES (13, 'a&b<c>d\\\"e''f'), "
              "(14, '&&'), (15, 'Z'), (16, '''quoted''')"));
    h_server *s = start_tfb("1");
    h_conn *c = h_connect(s->port);
    h_response *r = get(c, "/fortunes");
    expect_html(r);
    const char *order[] = {FORTUNE_ROW("14", "&amp;&amp;"),
                           FORTUNE_ROW("16", "&#39;quoted&#39;"),
                           FORTUNE_ROW("11", "&lt;script&gt;"),
                           FORTUNE_ROW("15", "Z"),
                           FORTUNE_ROW("13", "a&amp;b&lt;c&gt;d&quot;e&#39;f"),
                           FORTUNE_ROW("1", "fortune: No such file")};
    const char *from = r->body;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        /* the 11th row only up to its first escape */
        char want[128];
        snprintf(want, sizeof want, "%s", order[i]);
        if (strstr(order[i], "script") || strstr(order[i], "No such"))
            want[strlen(want) - strlen("</td></tr>")] = 0;
        const char *at = strstr(from, want);
        cr_assert_not_null(at, "'%s' missing or out of order in:\n%s", want, r->body);
        from = at + strlen(want);
    }
    int rows = 0;
    for (const char *p = r->body; (p = strstr(p, "<tr>")); p++) rows++;
    cr_assert_eq(rows, 1 + 16 + 1, "header + 16 stored + 1 added");
    h_response_free(r);
    h_close(c);
    stop_ok(s);
}

/* --- /cached-queries, and the cache's Redis killed under load ----------------- */

static const char *redis_env(const char *name) {
    const char *v = getenv(name);
    if (!v || !*v)
        cr_assert_fail("%s is not set: run scripts/test.sh, which starts Redis, or "
                       "eval \"$(scripts/redis-server.sh start)\" first",
                       name);
    return v;
}

/* chopin-tfb with its cache in memory (redis NULL) or in Redis. */
static h_server *start_tfb_cached(const char *workers, const char *redis) {
    char db[1100], w[64], r[600];
    snprintf(db, sizeof db, "DATABASE_URL=%s", pg_url());
    snprintf(w, sizeof w, "CHOPIN_WORKERS=%s", workers);
    snprintf(r, sizeof r, "REDIS_URL=%s", redis ? redis : "");
    const char *const env[] = {db, w, r, "REDIS_TIMEOUT=500ms", "CHOPIN_ACCESS_LOG=0", NULL};
    return h_start(CHOPIN_TFB_BIN, env);
}

/* The number of keys in the Redis database of CHOPIN_REDIS_URL. */
static long redis_dbsize(void) {
    redis_env("CHOPIN_REDIS_URL");
    FILE *f = popen("redis-cli --no-auth-warning -p \"$CHOPIN_REDIS_PORT\" "
                    "-a \"$CHOPIN_REDIS_PASSWORD\" -n 2 dbsize",
                    "r");
    cr_assert_not_null(f);
    long n = -1;
    if (fscanf(f, "%ld", &n) != 1) n = -1;
    pclose(f);
    return n;
}

/* Database 2 is CHOPIN_REDIS_URL's. */
static void flush_redis(void) {
    run_ok("redis-cli --no-auth-warning -p \"$CHOPIN_REDIS_PORT\" -a \"$CHOPIN_REDIS_PASSWORD\" "
           "-n 2 flushdb >/dev/null");
}

static void cached_queries_checked(const char *redis) {
    static int table[WORLD_ROWS + 1];
    static world w[MAX_QUERIES + 1];
    read_world(table);
    h_server *s = start_tfb_cached("2", redis);
    h_conn *c = h_connect(s->port);
    for (int round = 0; round < 2; round++) /* the second from the cache */
        for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
            char target[128];
            snprintf(target, sizeof target, "/cached-queries%s", counts[i].query);
            char *q = strstr(target, "queries=");
            if (q) memcpy(q, "count=  ", 8), memmove(q + 6, q + 8, strlen(q + 8) + 1);
            h_response *r = get(c, target);
            expect_json_type(r);
            int n = parse_worlds(r->body, w, MAX_QUERIES + 1);
            cr_assert_eq(n, counts[i].rows, "%s: %d rows, want %d", target, n, counts[i].rows);
            expect_stored(w, n, table, target);
            h_response_free(r);
        }
    h_close(c);
    stop_ok(s);
}

Test(tfb_db, cached_queries_in_memory_as_stored) {
    cached_queries_checked(NULL);
}

Test(tfb_db, cached_queries_in_redis_as_stored) {
    const char *url = redis_env("CHOPIN_REDIS_URL");
    flush_redis();
    cached_queries_checked(url);
    cr_assert_gt(redis_dbsize(), 500, "the worlds are in Redis");
}

/* ok is read by the test while the loader runs (and stop written): atomics,
 * relaxed since they carry no other data. failed and last_status are read
 * after pthread_join only. */
typedef struct {
    int port;
    bool *stop;
    int ok, failed, last_status;
} loader;

static void *load_cached(void *arg) {
    loader *l = arg;
    h_conn *c = h_try_connect(AF_INET, l->port);
    while (c && !__atomic_load_n(l->stop, __ATOMIC_RELAXED)) {
        h_response *r = h_roundtrip(c, "GET /cached-queries?count=20 HTTP/1.1\r\nHost: x\r\n\r\n");
        if (r && r->status == 200 && parse_worlds(r->body, (world[21]){0}, 21) == 20) {
            __atomic_fetch_add(&l->ok, 1, __ATOMIC_RELAXED);
        } else {
            l->failed++;
            l->last_status = r ? r->status : -1;
        }
        h_response_free(r);
        if (!r) break;
    }
    if (c) h_close(c);
    return NULL;
}

/* Redis is killed while 8 clients load /cached-queries, and comes back a
 * second later: every request succeeds (misses go to the database), and
 * the cache fills again by itself. */
Test(tfb_db, redis_killed_under_load_fails_no_request) {
    const char *url = redis_env("CHOPIN_REDIS_URL");
    redis_env("CHOPIN_REDIS_DIR");
    flush_redis();
    h_server *s = start_tfb_cached("2", url);
    enum { T = 8 };
    pthread_t th[T];
    loader l[T];
    bool stop = false;
    for (int i = 0; i < T; i++) {
        l[i] = (loader){.port = s->port, .stop = &stop};
        cr_assert_eq(pthread_create(&th[i], NULL, load_cached, &l[i]), 0);
    }
    char script[1100], cmd[1300];
    repo_file("scripts/redis-server.sh", script, sizeof script);
    h_sleep_ms(1000);
    /* Under a wrapper (Valgrind) the first requests of each path take
     * seconds: the load has to be there before the kill, so it may take
     * longer to build up (the scaled bound), never less than the 1 s. */
    int64_t load_by = h_now_ms() + 1000 * (h_time_scale() - 1);
    for (;;) {
        int served = 0;
        for (int i = 0; i < T; i++) served += l[i].ok;
        if (served > 50 || h_now_ms() >= load_by) break;
        h_sleep_ms(50);
    }
    snprintf(cmd, sizeof cmd, "bash '%s' kill \"$CHOPIN_REDIS_DIR\"", script);
    run_ok(cmd);
    int before = 0;
    for (int i = 0; i < T; i++) before += __atomic_load_n(&l[i].ok, __ATOMIC_RELAXED);
    h_sleep_ms(1500);
    int during = -before;
    for (int i = 0; i < T; i++) during += __atomic_load_n(&l[i].ok, __ATOMIC_RELAXED);
    snprintf(cmd, sizeof cmd, "bash '%s' resume \"$CHOPIN_REDIS_DIR\"", script);
    run_ok(cmd);
    h_sleep_ms(2500); /* reconnects within a second of the next command */
    __atomic_store_n(&stop, true, __ATOMIC_RELAXED);
    int ok = 0, failed = 0;
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        ok += l[i].ok;
        failed += l[i].failed;
        cr_expect_eq(l[i].failed, 0, "client %d: %d failed (last status %d)", i, l[i].failed,
                     l[i].last_status);
    }
    cr_log_info("%d requests before the kill, %d while Redis was down, %d in all, %d failed",
                before, during, ok, failed);
    cr_assert_eq(failed, 0);
    cr_assert_gt(before, 50);
    cr_assert_gt(during, 50, "requests went on while Redis was down");
    cr_assert_gt(redis_dbsize(), 100, "the cache did not fill again after the restart");
    char *log = h_stderr(s);
    bool logged =
        log && strstr(log, "msg=\"Redis is unavailable") && strstr(log, "msg=\"Redis is back\"");
    free(log);
    cr_assert(logged, "the outage was not logged");
    stop_ok(s);
}
