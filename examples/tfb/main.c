/* chopin-tfb - the TechEmpower Framework Benchmarks endpoints.
 *
 * /json serializes a fresh object on every request (the rules forbid
 * pre-rendered JSON); /plaintext answers "Hello, World!". Both go through the
 * framework's router and response writer like any other route. Run it with
 * SERVER_MODE=performance for benchmarks (no access log, pinned workers).
 *
 * The database tests (/db, /queries, /fortunes, /updates, /cached-queries) use the app's
 * database, DATABASE_URL: PostgreSQL with bench/tfb/setup.sql loaded
 * (bench/tfb/load.sh URL). Their JSON is TechEmpower's fixed shapes, so they
 * write bare JSON, not the success envelope. When the database fails, a
 * handler just returns and Chopin answers 503 or 500 itself. */
#include <chopin.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void json(chopin_ctx *c) {
    chopin_json *j = chopin_json_begin(c, 200);
    chopin_json_object(j);
    chopin_json_key(j, "message");
    chopin_json_string(j, "Hello, World!");
    chopin_json_end(j);
    chopin_json_finish(j);
}

static void plaintext(chopin_ctx *c) {
    chopin_text(c, 200, "Hello, World!");
}

/* --- Random rows ------------------------------------------------------------ */

enum { WORLD_ROWS = 10000, MAX_QUERIES = 500 };

/* One generator per worker thread: rand() takes a lock shared by every
 * worker, and handlers of one worker never run at the same time. */
static _Thread_local uint64_t rng_state;

static uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

/* 1..WORLD_ROWS. xorshift64*, seeded on first use from the clock and this
 * thread's own address, so that workers do not draw the same sequence. */
static int32_t random_world(void) {
    uint64_t x = rng_state;
    if (!x) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        x = splitmix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                       (uint64_t)(uintptr_t)&rng_state);
        if (!x) x = 1;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    /* Multiply-shift maps the high 32 bits onto the range without a division;
     * the bias (10^4 / 2^32) is far below what the test could notice. */
    uint64_t hi = (x * 0x2545f4914f6cdd1du) >> 32;
    return (int32_t)((hi * WORLD_ROWS) >> 32) + 1;
}

/* TechEmpower's rule for ?queries= (and /cached-queries' ?count=):
 * missing, not an integer or below 1 reads as 1, above 500 as 500. */
static size_t count_param(chopin_ctx *c, const char *name) {
    chopin_str q = chopin_query(c, name);
    size_t i = 0;
    bool negative = false;
    if (!q.ptr || !q.len) return 1;
    if (q.ptr[0] == '-' || q.ptr[0] == '+') negative = q.ptr[i++] == '-';
    if (i == q.len) return 1;
    size_t n = 0;
    for (; i < q.len; i++) {
        if (q.ptr[i] < '0' || q.ptr[i] > '9') return 1;
        if (n <= MAX_QUERIES) n = n * 10 + (size_t)(q.ptr[i] - '0'); /* saturates past 500 */
    }
    if (negative || n < 1) return 1;
    return n > MAX_QUERIES ? MAX_QUERIES : n;
}

static void world_object(chopin_json *j, int64_t id, int64_t random_number) {
    chopin_json_object(j);
    chopin_json_key(j, "id");
    chopin_json_int(j, id);
    chopin_json_key(j, "randomNumber");
    chopin_json_int(j, random_number);
    chopin_json_end(j);
}

#define WORLD_BY_ID "SELECT id, randomnumber FROM world WHERE id = $1"

/* n random rows, each read with its own statement (the rules forbid one
 * IN (...) query); query_each sends all n at once, one round trip on
 * PostgreSQL. NULL when the database failed. */
static chopin_rows **random_worlds(chopin_ctx *c, size_t n) {
    chopin_arg *ids = chopin_alloc(c, n * sizeof *ids);
    if (!ids) return NULL;
    for (size_t i = 0; i < n; i++) ids[i] = chopin_arg_int(random_world());
    return chopin_db_query_each(c, WORLD_BY_ID, n, 1, ids);
}

/* A row that is not there means the tables were not loaded. */
static bool has_row(chopin_ctx *c, const chopin_rows *r) {
    if (chopin_rows_count(r) == 1) return true;
    chopin_error(c, 500, "NO_WORLD", "world row missing: load bench/tfb/setup.sql");
    return false;
}

/* --- /db and /queries --------------------------------------------------------- */

static void db(chopin_ctx *c) {
    chopin_rows *r = chopin_sql(c, WORLD_BY_ID, chopin_arg_int(random_world()));
    if (!r || !has_row(c, r)) return;
    chopin_json *j = chopin_json_begin(c, 200);
    world_object(j, chopin_rows_int(r, 0, 0), chopin_rows_int(r, 0, 1));
    chopin_json_finish(j);
}

/* /db through the ORM: the same row found by key through the model layer,
 * to measure what the ORM costs over raw SQL (bench/db.sh reports both). */
typedef struct {
    int32_t id;
    int32_t randomnumber;
} world;
#define WORLD_FIELDS(F)                                                                            \
    F(world, id, CHOPIN_INT32, .primary_key = true), F(world, randomnumber, CHOPIN_INT32)
CHOPIN_MODEL(world, WORLD_FIELDS);

static void db_orm(chopin_ctx *c) {
    world *w = chopin_orm_find(c, &world_model, chopin_arg_int(random_world()));
    if (!w) return; /* 404 if the tables were not loaded, 503 when the database is away */
    chopin_json *j = chopin_json_begin(c, 200);
    world_object(j, w->id, w->randomnumber); /* TechEmpower's key is randomNumber */
    chopin_json_finish(j);
}

static void queries(chopin_ctx *c) {
    size_t n = count_param(c, "queries");
    chopin_rows **rs = random_worlds(c, n);
    if (!rs) return;
    for (size_t i = 0; i < n; i++)
        if (!has_row(c, rs[i])) return;
    chopin_json *j = chopin_json_begin(c, 200);
    chopin_json_array(j);
    for (size_t i = 0; i < n; i++)
        world_object(j, chopin_rows_int(rs[i], 0, 0), chopin_rows_int(rs[i], 0, 1));
    chopin_json_end(j);
    chopin_json_finish(j);
}

/* --- /cached-queries ------------------------------------------------------------ */

/* Worlds from the app's cache (memory, or Redis with REDIS_URL), each kept
 * as its JSON text under "world:<id>"; the ids the cache misses are read
 * from the database in one round trip and cached for next time. */
static void cached_queries(chopin_ctx *c) {
    size_t n = count_param(c, "count");
    int32_t *ids = chopin_alloc(c, n * sizeof *ids);
    const char **keys = chopin_alloc(c, n * sizeof *keys);
    chopin_str *hits = chopin_alloc(c, n * sizeof *hits);
    chopin_arg *missing = chopin_alloc(c, n * sizeof *missing);
    size_t *missing_at = chopin_alloc(c, n * sizeof *missing_at);
    if (!ids || !keys || !hits || !missing || !missing_at) return;
    for (size_t i = 0; i < n; i++) {
        ids[i] = random_world();
        char *key = chopin_alloc(c, 24);
        if (!key) return;
        snprintf(key, 24, "world:%d", (int)ids[i]);
        keys[i] = key;
    }
    size_t m = 0;
    if (chopin_cache_get_many(c, keys, n, hits) < n)
        for (size_t i = 0; i < n; i++)
            if (!hits[i].ptr) missing_at[m] = i, missing[m++] = chopin_arg_int(ids[i]);
    if (m) {
        chopin_rows **rs = chopin_db_query_each(c, WORLD_BY_ID, m, 1, missing);
        if (!rs) return;
        for (size_t k = 0; k < m; k++) {
            if (!has_row(c, rs[k])) return;
            char *text = chopin_alloc(c, 48);
            if (!text) return;
            int len = snprintf(text, 48, "{\"id\":%lld,\"randomNumber\":%lld}",
                               (long long)chopin_rows_int(rs[k], 0, 0),
                               (long long)chopin_rows_int(rs[k], 0, 1));
            hits[missing_at[k]] = (chopin_str){text, (size_t)len};
            chopin_cache_set(c, keys[missing_at[k]], text, (size_t)len, 0);
        }
    }
    chopin_json *j = chopin_json_begin(c, 200);
    chopin_json_array(j);
    for (size_t i = 0; i < n; i++) chopin_json_raw(j, hits[i].ptr, hits[i].len);
    chopin_json_end(j);
    chopin_json_finish(j);
}

/* --- /updates ------------------------------------------------------------------ */

/* One statement for the whole batch (allowed by the rules): the ids and the
 * new numbers travel as two int[] literals, "{3,17,42}". */
#define UPDATE_WORLDS                                                                              \
    "UPDATE world SET randomnumber = u.r FROM (SELECT unnest($1::int[]) AS id, "                   \
    "unnest($2::int[]) AS r) u WHERE world.id = u.id"

typedef struct {
    int32_t id, random_number;
    uint32_t at; /* its place in the answer */
} world_update;

static int by_id(const void *a, const void *b) {
    const world_update *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static char *put_int(char *p, int32_t v) {
    char tmp[12];
    size_t n = 0;
    uint32_t u = v < 0 ? (uint32_t)0 - (uint32_t)v : (uint32_t)v;
    do tmp[n++] = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0) *p++ = '-';
    while (n) *p++ = tmp[--n];
    return p;
}

static void updates(chopin_ctx *c) {
    size_t n = count_param(c, "queries");
    chopin_rows **rs = random_worlds(c, n);
    if (!rs) return;
    world_update *u = chopin_alloc(c, n * sizeof *u);
    /* int[] literals: at most 11 characters and a comma per number */
    char *ids = chopin_alloc(c, n * 12 + 3), *nums = chopin_alloc(c, n * 12 + 3);
    if (!u || !ids || !nums) {
        chopin_error(c, 500, "INTERNAL_ERROR", "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!has_row(c, rs[i])) return;
        int32_t old = (int32_t)chopin_rows_int(rs[i], 0, 1), next;
        /* A new number that differs from the one read, so that every row
         * reported is a row changed. */
        do next = random_world();
        while (next == old);
        u[i] = (world_update){(int32_t)chopin_rows_int(rs[i], 0, 0), next, (uint32_t)i};
    }
    /* Ids in order: concurrent batches then lock their common rows in the
     * same order and cannot deadlock. A repeated id is written once, and
     * every place that reports it reports the value written. */
    qsort(u, n, sizeof *u, by_id);
    char *pi = ids, *pn = nums;
    for (size_t i = 0; i < n; i++) {
        if (i && u[i].id == u[i - 1].id) {
            u[i].random_number = u[i - 1].random_number;
            continue;
        }
        *pi++ = i ? ',' : '{';
        *pn++ = i ? ',' : '{';
        pi = put_int(pi, u[i].id);
        pn = put_int(pn, u[i].random_number);
    }
    *pi++ = '}';
    *pn++ = '}';
    *pi = *pn = 0;
    if (!chopin_sql(c, UPDATE_WORLDS, chopin_arg_textn(ids, (size_t)(pi - ids)),
                    chopin_arg_textn(nums, (size_t)(pn - nums))))
        return;
    /* Back in the order the rows were drawn. */
    world_update **answer = chopin_alloc(c, n * sizeof *answer);
    if (!answer) {
        chopin_error(c, 500, "INTERNAL_ERROR", "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) answer[u[i].at] = &u[i];
    chopin_json *j = chopin_json_begin(c, 200);
    chopin_json_array(j);
    for (size_t i = 0; i < n; i++) world_object(j, answer[i]->id, answer[i]->random_number);
    chopin_json_end(j);
    chopin_json_finish(j);
}

/* --- /fortunes ------------------------------------------------------------------ */

typedef struct {
    int64_t id;
    const char *message;
    size_t len;
} fortune;

static int by_message(const void *a, const void *b) {
    const fortune *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int d = memcmp(x->message, y->message, n); /* UTF-8 bytes sort as code points */
    return d ? d : (x->len > y->len) - (x->len < y->len);
}

/* Appends a string literal. */
#define PUT(p, lit) (memcpy((p), lit, sizeof lit - 1), (p) += sizeof lit - 1)

/* The five characters TechEmpower's check escapes; one input byte becomes
 * at most 6 output bytes (&quot;). */
static char *put_escaped(char *p, const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        switch (s[i]) {
        case '&':
            PUT(p, "&amp;");
            break;
        case '<':
            PUT(p, "&lt;");
            break;
        case '>':
            PUT(p, "&gt;");
            break;
        case '"':
            PUT(p, "&quot;");
            break;
        case '\'':
            PUT(p, "&#39;");
            break;
        default:
            *p++ = s[i];
        }
    }
    return p;
}

static void fortunes(chopin_ctx *c) {
    chopin_rows *r = chopin_sql(c, "SELECT id, message FROM fortune");
    if (!r) return;
    size_t n = chopin_rows_count(r) + 1, size = 0;
    fortune *f = chopin_alloc(c, n * sizeof *f);
    if (!f) {
        chopin_error(c, 500, "INTERNAL_ERROR", "out of memory");
        return;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        f[i] = (fortune){chopin_rows_int(r, i, 0), chopin_rows_text(r, i, 1),
                         chopin_rows_len(r, i, 1)};
        if (!f[i].message) f[i].message = "";
    }
    /* The rules: one fortune added at request time, then sorted by message. */
    static const char extra[] = "Additional fortune added at request time.";
    f[n - 1] = (fortune){0, extra, sizeof extra - 1};
    qsort(f, n, sizeof *f, by_message);

    static const char head[] = "<!DOCTYPE html><html><head><title>Fortunes</title></head><body>"
                               "<table><tr><th>id</th><th>message</th></tr>";
    static const char tail[] = "</table></body></html>";
    /* An upper bound: each row's tags and id, and each byte escaped at most 6x. */
    for (size_t i = 0; i < n; i++) size += 48 + 6 * f[i].len;
    char *html = chopin_alloc(c, sizeof head + size + sizeof tail);
    if (!html) {
        chopin_error(c, 500, "INTERNAL_ERROR", "out of memory");
        return;
    }
    char *p = html;
    PUT(p, head);
    for (size_t i = 0; i < n; i++) {
        PUT(p, "<tr><td>");
        p = put_int(p, (int32_t)f[i].id);
        PUT(p, "</td><td>");
        p = put_escaped(p, f[i].message, f[i].len);
        PUT(p, "</td></tr>");
    }
    PUT(p, tail);
    chopin_send(c, 200, "text/html; charset=utf-8", html, (size_t)(p - html));
}

int main(void) {
    /* TechEmpower's database has no accounts: no auth routes, no users table.
     * Its answers carry exactly the headers the benchmark asks for, as the
     * peers' do: the browser security headers (87 bytes, about 15% of
     * pipelined /plaintext's throughput here) are off. The environment
     * still wins. */
    setenv("AUTH_ROUTES", "off", 0);
    setenv("SECURITY_HEADERS", "off", 0);
    chopin_app *app = chopin_app_new();
    if (!app) return 2;
    chopin_get(app, "/json", json);
    chopin_get(app, "/plaintext", plaintext);
    chopin_get(app, "/db", db);
    chopin_get(app, "/db-orm", db_orm);
    chopin_get(app, "/queries", queries);
    chopin_get(app, "/cached-queries", cached_queries);
    chopin_get(app, "/fortunes", fortunes);
    chopin_get(app, "/updates", updates);
    int rc = chopin_app_run(app);
    chopin_app_free(app);
    return rc;
}
