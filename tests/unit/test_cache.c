/* test_cache.c - chopin/cache.h on the in-memory store: values, expiry
 * (on read and by the sweeper, without reads), counters, prefixes, LRU
 * eviction, the byte bound (filling 10x CACHE_MAX_BYTES keeps the process
 * within the bound plus a small overhead), models, and many threads at
 * once. */
#include <criterion/criterion.h>

#include <chopin.h>

#include "app/app_internal.h"
#include "cache/cache_internal.h"
#include "core/core.h"

#include <hiredis/hiredis.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static chopin_app *app;
static chopin_ctx *c;

/* The suite runs twice (tests/CMakeLists.txt): on the in-memory store, and
 * on the Redis server scripts/test.sh starts (CHOPIN_TEST_REDIS_URL). The
 * tests of the store's own mechanics (sweeper, LRU, byte bound, pinning)
 * always use the in-memory store. */
static void start_app(size_t max_bytes, const char *redis_url) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    cfg.cache_max_bytes = max_bytes;
    snprintf(cfg.database_url, sizeof cfg.database_url, "sqlite::memory:");
    snprintf(cfg.redis_url, sizeof cfg.redis_url, "%s", redis_url ? redis_url : "");
    app = chopin_app_new_with(&cfg);
    cr_assert_not_null(app);
    c = chopin_ctx_new(app);
    cr_assert_not_null(c);
    if (redis_url) { /* each test starts from an empty database */
        struct redisReply *r = redis_command(c, 1, (const char *[]){"FLUSHDB"}, (size_t[]){7});
        cr_assert_not_null(r, "Redis at %s does not answer", redis_backend_where(app->redis));
        freeReplyObject(r);
    }
}

static void start_with(size_t max_bytes) {
    start_app(max_bytes, NULL);
}

static void setup(void) {
    start_app(64 << 20, getenv("CHOPIN_TEST_REDIS_URL"));
}

static void teardown(void) {
    chopin_ctx_free(c);
    chopin_app_free(app);
    c = NULL;
    app = NULL;
}

/* Each test starts its app: setup() for the suite's backend, start_with()
 * for the in-memory store of a given size. */
TestSuite(cache, .fini = teardown);

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool hit_is(const char *key, const char *want, size_t want_len) {
    chopin_str v;
    if (chopin_cache_get(c, key, &v) != 1) return false;
    return v.len == want_len && !memcmp(v.ptr, want, want_len) && v.ptr[v.len] == 0;
}

Test(cache, set_get_overwrite_and_miss) {
    setup();
    chopin_str v = {0};
    cr_assert_eq(chopin_cache_get(c, "nothing", &v), 0);
    cr_assert_eq(chopin_cache_set(c, "greeting", "hello", 5, 0), 0);
    cr_assert(hit_is("greeting", "hello", 5));
    cr_assert_eq(chopin_cache_set(c, "greeting", "bonjour!", 8, 0), 0);
    cr_assert(hit_is("greeting", "bonjour!", 8));
    static const char binary[] = {'a', 0, 'b', 0, (char)0xff};
    cr_assert_eq(chopin_cache_set(c, "bin", binary, sizeof binary, 0), 0);
    cr_assert(hit_is("bin", binary, sizeof binary));
    cr_assert_eq(chopin_cache_set(c, "empty", "", 0, 0), 0);
    cr_assert(hit_is("empty", "", 0));
    cr_assert_eq(chopin_cache_exists(c, "empty"), 1);
    cr_assert_eq(chopin_cache_exists(c, "absent"), 0);
}

Test(cache, keys_are_text_of_1_to_1024_bytes) {
    setup();
    char key[1026];
    memset(key, 'k', sizeof key);
    key[1024] = 0;
    cr_assert_eq(chopin_cache_set(c, key, "v", 1, 0), 0);
    cr_assert(hit_is(key, "v", 1));
    key[1024] = 'k', key[1025] = 0;
    errno = 0;
    cr_assert_eq(chopin_cache_set(c, key, "v", 1, 0), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(chopin_cache_set(c, "", "v", 1, 0), -1);
    cr_assert_eq(chopin_cache_set(c, NULL, "v", 1, 0), -1);
    chopin_str v;
    cr_assert_eq(chopin_cache_get(c, "", &v), 0);
    cr_assert_eq(chopin_cache_delete(c, NULL), 0);
}

Test(cache, entries_expire) {
    setup();
    errno = 0;
    cr_assert_eq(chopin_cache_set(c, "past", "x", 1, -5), -1, "a time already past");
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(chopin_cache_set(c, "short", "x", 1, 60), 0);
    cr_assert_eq(chopin_cache_set(c, "long", "y", 1, 60000), 0);
    cr_assert_eq(chopin_cache_set(c, "forever", "z", 1, 0), 0);
    cr_assert_eq(chopin_cache_exists(c, "short"), 1);
    sleep_ms(100);
    cr_assert_eq(chopin_cache_exists(c, "short"), 0);
    cr_assert_eq(chopin_cache_set(c, "short2", "x", 1, 30), 0);
    sleep_ms(60);
    cr_assert_eq(chopin_cache_delete(c, "short2"), 0, "an expired entry is not there to delete");
    chopin_str v;
    cr_assert_eq(chopin_cache_get(c, "short", &v), 0);
    cr_assert(hit_is("long", "y", 1));
    cr_assert(hit_is("forever", "z", 1));
}

/* Expired entries go even when nobody reads them again: the sweeper. */
Test(cache, the_sweeper_reclaims_expired_entries_without_reads) {
    start_with(64 << 20);
    mem_cache_stats st;
    char key[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "gone:%d", i);
        cr_assert_eq(chopin_cache_set(c, key, "0123456789", 10, 50), 0);
    }
    cr_assert_eq(chopin_cache_set(c, "stays", "1", 1, 0), 0);
    mem_cache_stats_get(app->cache, &st);
    cr_assert_eq(st.entries, 5001);
    size_t full = st.bytes;
    for (int waited = 0; waited < 3000; waited += 50) {
        sleep_ms(50);
        mem_cache_stats_get(app->cache, &st);
        if (st.entries == 1) break;
    }
    cr_assert_eq(st.entries, 1, "%zu entries left", st.entries);
    cr_assert_eq(st.expired, 5000);
    cr_assert_lt(st.bytes, full / 1000);
    cr_assert(hit_is("stays", "1", 1));
}

Test(cache, delete_and_delete_by_prefix) {
    setup();
    char key[32];
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof key, "%s:%d", i % 3 ? "user:42" : "user:420", i);
        cr_assert_eq(chopin_cache_set(c, key, "v", 1, 0), 0);
    }
    cr_assert_eq(chopin_cache_set(c, "other", "v", 1, 0), 0);
    cr_assert_eq(chopin_cache_delete(c, "other"), 1);
    cr_assert_eq(chopin_cache_delete(c, "other"), 0);
    cr_assert_eq(chopin_cache_delete_prefix(c, "user:42:"), 200);
    cr_assert_eq(chopin_cache_delete_prefix(c, "user:42:"), 0);
    cr_assert_eq(chopin_cache_exists(c, "user:420:0"), 1);
    cr_assert_eq(chopin_cache_delete_prefix(c, "user:"), 100);
    cr_assert_eq(chopin_cache_delete_prefix(c, ""), 0, "nothing left");
}

Test(cache, counters) {
    setup();
    int64_t v = 0;
    cr_assert_eq(chopin_cache_incr(c, "hits", 1, 0, &v), 0);
    cr_assert_eq(v, 1);
    cr_assert_eq(chopin_cache_incr(c, "hits", 41, 0, &v), 0);
    cr_assert_eq(v, 42);
    cr_assert_eq(chopin_cache_incr(c, "hits", -50, 0, &v), 0);
    cr_assert_eq(v, -8);
    cr_assert(hit_is("hits", "-8", 2), "stored as decimal text, like Redis");
    cr_assert_eq(chopin_cache_set(c, "word", "ten", 3, 0), 0);
    errno = 0;
    cr_assert_eq(chopin_cache_incr(c, "word", 1, 0, &v), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(chopin_cache_set(c, "big", "9223372036854775807", 19, 0), 0);
    cr_assert_eq(chopin_cache_incr(c, "big", 1, 0, &v), -1, "overflow refused");
    cr_assert(hit_is("big", "9223372036854775807", 19), "and the value kept");
}

/* A counter's window starts with its first count and is not extended by
 * the next ones (a fixed-window rate limit). */
Test(cache, a_counter_keeps_its_window) {
    setup();
    int64_t v;
    cr_assert_eq(chopin_cache_incr(c, "window", 1, 150, &v), 0);
    sleep_ms(80);
    cr_assert_eq(chopin_cache_incr(c, "window", 1, 150, &v), 0);
    cr_assert_eq(v, 2);
    sleep_ms(100); /* 180 ms after the first count */
    cr_assert_eq(chopin_cache_incr(c, "window", 1, 150, &v), 0);
    cr_assert_eq(v, 1, "a new window");
    /* A counter made without an expiry gets one from the first count that
     * asks for it (the same on both backends). */
    cr_assert_eq(chopin_cache_incr(c, "open", 1, 0, &v), 0);
    cr_assert_eq(chopin_cache_incr(c, "open", 1, 100, &v), 0);
    cr_assert_eq(v, 2);
    sleep_ms(150);
    cr_assert_eq(chopin_cache_exists(c, "open"), 0);
}

Test(cache, least_recently_used_goes_first) {
    start_with(256 * 1024); /* one shard */
    char key[32], value[1000];
    memset(value, 'v', sizeof value);
    cr_assert_eq(chopin_cache_set(c, "keep", value, sizeof value, 0), 0);
    for (int i = 0; i < 1000; i++) {
        chopin_str v;
        cr_assert_eq(chopin_cache_get(c, "keep", &v), 1, "read before write %d", i);
        snprintf(key, sizeof key, "fill:%d", i);
        cr_assert_eq(chopin_cache_set(c, key, value, sizeof value, 0), 0);
    }
    mem_cache_stats st;
    mem_cache_stats_get(app->cache, &st);
    cr_assert_leq(st.bytes, st.max_bytes);
    cr_assert_gt(st.evictions, 700);
    cr_assert_eq(chopin_cache_exists(c, "fill:0"), 0, "the oldest went");
    cr_assert_eq(chopin_cache_exists(c, "fill:999"), 1);
    cr_assert_eq(chopin_cache_exists(c, "keep"), 1, "read every time: never the oldest");
    errno = 0;
    static char huge[300 * 1024];
    cr_assert_eq(chopin_cache_set(c, "huge", huge, sizeof huge, 0), -1);
    cr_assert_eq(errno, E2BIG);
}

static long rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kib = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return kib;
}

/* ThreadSanitizer keeps 4 bytes of shadow memory, resident once touched,
 * for every byte of the program's: RSS is up to 5 times the program's own
 * memory. Keeping what was evicted (9 times the bound, and its shadow)
 * would still be far over. */
#if CHOPIN_UNDER_TSAN
#define RSS_FACTOR 5
#else
#define RSS_FACTOR 1
#endif

/* 10x CACHE_MAX_BYTES of values in: the store stays within its bound, and
 * so does the process's resident memory (plus a small overhead). */
Test(cache, memory_stays_within_the_bound, .timeout = 60) {
    const size_t max = 16 << 20;
    start_with(max);
    long before = rss_kib();
    char key[32];
    static char value[4000];
    size_t written = 0;
    for (int i = 0; written < 10 * max; i++) {
        memset(value, 'a' + i % 26, sizeof value);
        snprintf(key, sizeof key, "blob:%d", i);
        cr_assert_eq(chopin_cache_set(c, key, value, sizeof value - (size_t)(i % 512), 0), 0);
        written += sizeof value - (size_t)(i % 512);
    }
    mem_cache_stats st;
    mem_cache_stats_get(app->cache, &st);
    long growth_kib = rss_kib() - before;
    cr_log_info("wrote %zu MiB into a %zu MiB cache: %zu entries, %zu bytes counted, %" PRIu64
                " evictions, RSS +%ld KiB",
                written >> 20, max >> 20, st.entries, st.bytes, st.evictions, growth_kib);
    cr_assert_leq(st.bytes, max);
    cr_assert_gt(st.bytes, max - max / 8, "the store is used, not emptied");
#if !CHOPIN_UNDER_ASAN /* AddressSanitizer keeps freed memory in quarantine */
    /* The bound, the hash tables (8 bytes an entry) and malloc's slack;
     * times RSS_FACTOR under ThreadSanitizer. */
    cr_assert_lt(growth_kib, RSS_FACTOR * ((long)(max + max / 8) / 1024 + 4096),
                 "RSS grew by %ld KiB", growth_kib);
#endif
}

typedef struct {
    const char *title;
    int64_t votes;
} poll_item;
#define POLL_FIELDS(F)                                                                             \
    F(poll_item, title, CHOPIN_STRING, .required = true), F(poll_item, votes, CHOPIN_INT64)
CHOPIN_MODEL(poll_item, POLL_FIELDS);

Test(cache, models_as_json) {
    setup();
    poll_item in = {"Best composer", 1810};
    cr_assert_eq(chopin_cache_set_model(c, "poll:1", &poll_item_model, &in, 0), 0);
    cr_assert(hit_is("poll:1", "{\"title\":\"Best composer\",\"votes\":1810}", 38));
    poll_item *out = chopin_cache_get_model(c, "poll:1", &poll_item_model);
    cr_assert_not_null(out);
    cr_assert_str_eq(out->title, "Best composer");
    cr_assert_eq(out->votes, 1810);
    cr_assert_null(chopin_cache_get_model(c, "poll:2", &poll_item_model));
    cr_assert_eq(chopin_cache_set(c, "poll:3", "{\"votes\":1}", 11, 0), 0);
    cr_assert_null(chopin_cache_get_model(c, "poll:3", &poll_item_model),
                   "a value that no longer validates is a miss");
    cr_assert_eq(chopin_cache_set(c, "poll:4", "{not json", 9, 0), 0);
    cr_assert_null(chopin_cache_get_model(c, "poll:4", &poll_item_model));
}

/* Workers share the store: counts from many threads all land. */
#define THREADS 4
#define ROUNDS  20000
static void *hammer(void *arg) {
    chopin_ctx *mine = chopin_ctx_new(app);
    char key[32];
    int64_t v;
    for (int i = 0; i < ROUNDS; i++) {
        snprintf(key, sizeof key, "k:%d", (i * 7 + (int)(intptr_t)arg) % 500);
        chopin_cache_set(mine, key, key, strlen(key), i % 3 ? 0 : 5);
        chopin_str got;
        if (chopin_cache_get(mine, key, &got) == 1 && strncmp(got.ptr, "k:", 2)) abort();
        chopin_cache_incr(mine, "total", 1, 0, &v);
        if (i % 1000 == 0) chopin_cache_delete_prefix(mine, "k:1");
    }
    chopin_ctx_free(mine);
    return NULL;
}

Test(cache, threads_share_one_store) {
    setup();
    pthread_t t[THREADS];
    for (intptr_t i = 0; i < THREADS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, hammer, (void *)i), 0);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    int64_t total;
    cr_assert_eq(chopin_cache_incr(c, "total", 0, 0, &total), 0);
    cr_assert_eq(total, THREADS * ROUNDS);
}

/* Revoked tokens and login counters live in the same store, pinned: no
 * amount of other data pushes them out (else filling the cache would undo a
 * logout). */
Test(cache, revocations_survive_a_flood_of_other_entries) {
    start_with(256 * 1024);
    int64_t exp = (int64_t)time(NULL) + 3600;
    cr_assert_eq(chopin_auth_revoke(c, "jti-flood", exp), 0);
    cr_assert(chopin_auth_is_revoked(c, "jti-flood"));
    cr_assert_not(chopin_auth_is_revoked(c, "jti-other"));
    char key[32], value[2000] = {0};
    for (int i = 0; i < 2000; i++) { /* 4 MB through a 256 KiB store */
        snprintf(key, sizeof key, "flood:%d", i);
        cr_assert_eq(chopin_cache_set(c, key, value, sizeof value, 0), 0);
    }
    mem_cache_stats st;
    mem_cache_stats_get(app->cache, &st);
    cr_assert_gt(st.evictions, 1800);
    cr_assert(chopin_auth_is_revoked(c, "jti-flood"), "the revocation was evicted");
    cr_assert_eq(chopin_auth_revoke(c, "jti-past", (int64_t)time(NULL) - 1), 0);
    cr_assert_not(chopin_auth_is_revoked(c, "jti-past"), "expired: nothing to keep");
}

/* A store full of pinned entries refuses more (ENOSPC) instead of dropping
 * any of them. */
Test(cache, a_store_full_of_pinned_entries_refuses_more) {
    start_with(64 * 1024);
    char key[32], value[1000] = {0};
    int stored = 0;
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "pin:%d", i);
        if (mem_cache_set(app->cache, key, strlen(key), value, sizeof value, 0, CACHE_PINNED))
            break;
        stored++;
    }
    cr_assert(stored > 40 && stored < 200, "%d stored", stored);
    errno = 0;
    cr_assert_eq(mem_cache_set(app->cache, "one more", 8, value, sizeof value, 0, CACHE_PINNED),
                 -1);
    cr_assert_eq(errno, ENOSPC);
    for (int i = 0; i < stored; i++) {
        snprintf(key, sizeof key, "pin:%d", i);
        cr_assert(chopin_cache_exists(c, key), "%s was dropped", key);
    }
}

/* REDIS_URL: a bad one stops start-up with a message that does not echo
 * it (it may hold a password). */
Test(cache, a_bad_redis_url_stops_start_up) {
    const char *bad[] = {"http://cache:6379",      "redis://",
                         "redis://:secret@:6379",  "redis://host:/1",
                         "redis://host:6379/x",    "unix://relative.sock",
                         "unix:///tmp/r.sock?db=", "redis://no-such-host.invalid:6379"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        chopin_config cfg;
        chopin_config_defaults(&cfg);
        snprintf(cfg.database_url, sizeof cfg.database_url, "sqlite::memory:");
        snprintf(cfg.redis_url, sizeof cfg.redis_url, "%s", bad[i]);
        chopin_app *a = chopin_app_new_with(&cfg);
        cr_assert_null(a, "%s was accepted", bad[i]);
    }
}

/* With Redis down, the cache misses and drops writes at once, requests go
 * on; the connection is tried again and the cache comes back by itself. */
Test(cache, redis_down_is_a_miss_and_comes_back, .timeout = 30) {
    const char *url = getenv("CHOPIN_TEST_REDIS_URL");
    const char *dir = getenv("CHOPIN_REDIS_DIR");
    if (!url || !dir) cr_skip_test("the in-memory run: this one needs the Redis server");
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    snprintf(cfg.database_url, sizeof cfg.database_url, "sqlite::memory:");
    snprintf(cfg.redis_url, sizeof cfg.redis_url, "%s", url);
    cfg.redis_timeout_ms = 500;
    app = chopin_app_new_with(&cfg);
    c = chopin_ctx_new(app);
    cr_assert_eq(chopin_cache_set(c, "before", "1", 1, 0), 0);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s/scripts/redis-server.sh kill %s", CHOPIN_SOURCE_DIR, dir);
    cr_assert_eq(system(cmd), 0);
    int64_t t0 = mem_cache_now_ms();
    chopin_str v;
    cr_assert_eq(chopin_cache_get(c, "before", &v), 0, "a miss");
    cr_assert_eq(chopin_cache_set(c, "during", "1", 1, 0), -1, "dropped");
    cr_assert_eq(chopin_cache_exists(c, "during"), 0);
    int64_t n;
    cr_assert_eq(chopin_cache_incr(c, "count", 1, 0, &n), -1);
    cr_assert_lt(mem_cache_now_ms() - t0, 1500, "failures are quick, not timeouts each");
    snprintf(cmd, sizeof cmd, "%s/scripts/redis-server.sh resume %s", CHOPIN_SOURCE_DIR, dir);
    cr_assert_eq(system(cmd), 0);
    int ok = -1;
    for (int i = 0; i < 40 && ok != 0; i++) { /* retried after a second */
        sleep_ms(100);
        ok = chopin_cache_set(c, "after", "2", 1, 0);
    }
    cr_assert_eq(ok, 0, "the cache did not come back");
    cr_assert(hit_is("after", "2", 1));
}

/* Through the router on a worker: a request's commands go on its worker's
 * connection (pipelined with the others of the round) and the handler waits
 * without blocking the worker. */
static void visit(chopin_ctx *rc) {
    char key[96];
    chopin_str name = chopin_param(rc, "name");
    snprintf(key, sizeof key, "visits:%.*s", (int)name.len, name.ptr);
    int64_t n = -1;
    chopin_str last = {0};
    if (chopin_cache_incr(rc, key, 1, 60000, &n) ||
        chopin_cache_set(rc, "last", key, strlen(key), 0) ||
        chopin_cache_get(rc, "last", &last) != 1) {
        chopin_text(rc, 503, "cache failed");
        return;
    }
    char body[160];
    snprintf(body, sizeof body, "%lld %s", (long long)n, last.ptr);
    chopin_text(rc, 200, body);
}

Test(cache, handlers_use_it_through_the_router) {
    setup();
    chopin_get(app, "/visit/:name", visit);
    for (int i = 1; i <= 50; i++) {
        chopin_test_response *r =
            chopin_test_request(app, "GET", i % 2 ? "/visit/ada" : "/visit/bob", NULL, NULL, 0);
        cr_assert_not_null(r);
        cr_assert_eq(r->status, 200, "%d: %s", i, r->body);
        char want[64];
        snprintf(want, sizeof want, "%d visits:%s", (i + 1) / 2, i % 2 ? "ada" : "bob");
        cr_assert_str_eq(r->body, want);
        chopin_test_response_free(r);
    }
}
