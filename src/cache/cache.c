/* cache.c - chopin/cache.h over the app's backend: the in-memory store, or
 * Redis when REDIS_URL is set. Failures of Redis are misses and dropped
 * writes, never failed requests (redis.c warns about them). */
#include "cache_internal.h"

#include "chopin/cache.h"
#include "chopin/model.h"

#include "../app/app_internal.h"

#include <hiredis/hiredis.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static void *arena_alloc_fn(void *c, size_t n) {
    return chopin_alloc(c, n);
}

/* Keys are text of 1 to CACHE_KEY_MAX bytes. */
static bool key_ok(const char *key, size_t *len) {
    *len = key ? strlen(key) : 0;
    if (*len == 0 || *len > CACHE_KEY_MAX) {
        errno = EINVAL;
        return false;
    }
    return true;
}

/* One Redis command from strings with their lengths. */
static redisReply *command(chopin_ctx *c, int argc, const char **argv, const size_t *lens) {
    return redis_command(c, argc, argv, lens);
}

static bool reply_is(const redisReply *r, int type) {
    return r && r->type == type;
}

/* --- Redis ------------------------------------------------------------------------- */

static int redis_get(chopin_ctx *c, const char *key, size_t klen, chopin_str *value) {
    redisReply *r = command(c, 2, (const char *[]){"GET", key}, (size_t[]){3, klen});
    int hit = 0;
    if (reply_is(r, REDIS_REPLY_STRING)) {
        char *copy = chopin_alloc(c, r->len + 1);
        if (copy) {
            memcpy(copy, r->str, r->len);
            copy[r->len] = 0;
            *value = (chopin_str){copy, r->len};
            hit = 1;
        }
    }
    if (r) freeReplyObject(r);
    return hit;
}

static int redis_set(chopin_ctx *c, const char *key, size_t klen, const void *value, size_t len,
                     int64_t ttl_ms) {
    char ttl[24];
    int n = snprintf(ttl, sizeof ttl, "%" PRId64, ttl_ms);
    const char *argv[] = {"SET", key, value, "PX", ttl};
    size_t lens[] = {3, klen, len, 2, (size_t)n};
    redisReply *r = command(c, ttl_ms > 0 ? 5 : 3, argv, lens);
    int rc = reply_is(r, REDIS_REPLY_STATUS) ? 0 : -1;
    if (r) freeReplyObject(r);
    if (rc) errno = EIO;
    return rc;
}

/* An integer reply, or -1. */
static long long redis_integer(chopin_ctx *c, int argc, const char **argv, const size_t *lens) {
    redisReply *r = command(c, argc, argv, lens);
    long long v = reply_is(r, REDIS_REPLY_INTEGER) ? r->integer : -1;
    if (r) freeReplyObject(r);
    return v;
}

/* INCRBY, and the window's expiry set by the count that made the key: one
 * script, so that no other client sees the key without its expiry. */
static const char incr_script[] =
    "local v = redis.call('INCRBY', KEYS[1], ARGV[1]) "
    "if tonumber(ARGV[2]) > 0 and redis.call('PTTL', KEYS[1]) == -1 then "
    "redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return v";

static int redis_incr(chopin_ctx *c, const char *key, size_t klen, int64_t by, int64_t ttl_ms,
                      int64_t *value) {
    char by_s[24], ttl_s[24];
    int nb = snprintf(by_s, sizeof by_s, "%" PRId64, by);
    int nt = snprintf(ttl_s, sizeof ttl_s, "%" PRId64, ttl_ms);
    const char *argv[] = {"EVAL", incr_script, "1", key, by_s, ttl_s};
    size_t lens[] = {4, sizeof incr_script - 1, 1, klen, (size_t)nb, (size_t)nt};
    redisReply *r = command(c, 6, argv, lens);
    int rc = -1;
    if (reply_is(r, REDIS_REPLY_INTEGER)) {
        *value = r->integer;
        rc = 0;
    } else {
        errno = reply_is(r, REDIS_REPLY_ERROR) ? EINVAL : EIO; /* not an integer, overflow */
    }
    if (r) freeReplyObject(r);
    return rc;
}

/* SCAN for prefix*, glob characters of the prefix escaped, deleting each
 * batch as it comes. */
static long redis_delete_prefix(chopin_ctx *c, const char *prefix, size_t plen) {
    char *pattern = chopin_alloc(c, plen * 2 + 2);
    if (!pattern) return -1;
    size_t n = 0;
    for (size_t i = 0; i < plen; i++) {
        if (strchr("*?[]\\", prefix[i])) pattern[n++] = '\\';
        pattern[n++] = prefix[i];
    }
    pattern[n++] = '*';
    char cursor[32] = "0";
    long deleted = 0;
    do {
        const char *argv[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"};
        size_t lens[] = {4, strlen(cursor), 5, n, 5, 4};
        redisReply *r = command(c, 6, argv, lens);
        if (!reply_is(r, REDIS_REPLY_ARRAY) || r->elements != 2 ||
            !reply_is(r->element[0], REDIS_REPLY_STRING) ||
            !reply_is(r->element[1], REDIS_REPLY_ARRAY)) {
            if (r) freeReplyObject(r);
            return deleted ? deleted : -1;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        redisReply *keys = r->element[1];
        if (keys->elements) {
            const char **argv_del = chopin_alloc(c, (keys->elements + 1) * sizeof *argv_del);
            size_t *lens_del = chopin_alloc(c, (keys->elements + 1) * sizeof *lens_del);
            if (!argv_del || !lens_del) {
                freeReplyObject(r);
                return -1;
            }
            argv_del[0] = "DEL";
            lens_del[0] = 3;
            for (size_t i = 0; i < keys->elements; i++) {
                argv_del[i + 1] = keys->element[i]->str;
                lens_del[i + 1] = keys->element[i]->len;
            }
            long long d = redis_integer(c, (int)keys->elements + 1, argv_del, lens_del);
            if (d > 0) deleted += (long)d;
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0"));
    return deleted;
}

/* --- The API --------------------------------------------------------------------- */

int cache_set_flags(chopin_ctx *c, const char *key, size_t klen, const void *value, size_t len,
                    int64_t ttl_ms, unsigned flags) {
    if (ttl_ms < 0) { /* a time already past: not "forever" */
        errno = EINVAL;
        return -1;
    }
    if (c->app->redis) return redis_set(c, key, klen, value, len, ttl_ms);
    return mem_cache_set(c->app->cache, key, klen, value, len, ttl_ms, flags);
}

int cache_incr_flags(chopin_ctx *c, const char *key, size_t klen, int64_t by, int64_t ttl_ms,
                     unsigned flags, int64_t *value) {
    if (ttl_ms < 0) {
        errno = EINVAL;
        return -1;
    }
    if (c->app->redis) return redis_incr(c, key, klen, by, ttl_ms, value);
    return mem_cache_incr(c->app->cache, key, klen, by, ttl_ms, flags, value);
}

bool cache_exists_key(chopin_ctx *c, const char *key, size_t klen) {
    if (c->app->redis)
        return redis_integer(c, 2, (const char *[]){"EXISTS", key}, (size_t[]){6, klen}) > 0;
    return mem_cache_exists(c->app->cache, key, klen);
}

int chopin_cache_get(chopin_ctx *c, const char *key, chopin_str *value) {
    size_t klen;
    if (!key_ok(key, &klen)) return 0;
    if (c->app->redis) return redis_get(c, key, klen, value);
    char *text;
    size_t len;
    if (mem_cache_get(c->app->cache, key, klen, arena_alloc_fn, c, &text, &len) != 1) return 0;
    *value = (chopin_str){text, len};
    return 1;
}

/* MGET: keys that are not valid are asked for anyway as "" (a miss), so
 * that replies stay in step with keys. */
static size_t redis_get_many(chopin_ctx *c, const char *const *keys, size_t n, chopin_str *values) {
    const char **argv = chopin_alloc(c, (n + 1) * sizeof *argv);
    size_t *lens = chopin_alloc(c, (n + 1) * sizeof *lens);
    if (!argv || !lens || n > INT32_MAX - 1) return 0;
    argv[0] = "MGET";
    lens[0] = 4;
    for (size_t i = 0; i < n; i++) {
        size_t klen;
        bool ok = key_ok(keys[i], &klen);
        argv[i + 1] = ok ? keys[i] : "";
        lens[i + 1] = ok ? klen : 0;
    }
    redisReply *r = command(c, (int)n + 1, argv, lens);
    size_t hits = 0;
    if (reply_is(r, REDIS_REPLY_ARRAY) && r->elements == n) {
        for (size_t i = 0; i < n; i++) {
            redisReply *e = r->element[i];
            char *copy =
                reply_is(e, REDIS_REPLY_STRING) && lens[i + 1] ? chopin_alloc(c, e->len + 1) : NULL;
            if (!copy) continue;
            memcpy(copy, e->str, e->len);
            copy[e->len] = 0;
            values[i] = (chopin_str){copy, e->len};
            hits++;
        }
    }
    if (r) freeReplyObject(r);
    return hits;
}

size_t chopin_cache_get_many(chopin_ctx *c, const char *const *keys, size_t n, chopin_str *values) {
    for (size_t i = 0; i < n; i++) values[i] = (chopin_str){NULL, 0};
    if (!n) return 0;
    if (c->app->redis) return redis_get_many(c, keys, n, values);
    size_t hits = 0;
    for (size_t i = 0; i < n; i++) hits += chopin_cache_get(c, keys[i], &values[i]) == 1;
    return hits;
}

int chopin_cache_set(chopin_ctx *c, const char *key, const void *value, size_t len,
                     int64_t ttl_ms) {
    size_t klen;
    if (!key_ok(key, &klen)) return -1;
    return cache_set_flags(c, key, klen, value, len, ttl_ms, 0);
}

int chopin_cache_delete(chopin_ctx *c, const char *key) {
    size_t klen;
    if (!key_ok(key, &klen)) return 0;
    if (c->app->redis)
        return redis_integer(c, 2, (const char *[]){"DEL", key}, (size_t[]){3, klen}) > 0;
    return mem_cache_delete(c->app->cache, key, klen);
}

long chopin_cache_delete_prefix(chopin_ctx *c, const char *prefix) {
    size_t plen = prefix ? strlen(prefix) : 0;
    if (plen > CACHE_KEY_MAX) return 0;
    if (!prefix) prefix = "";
    if (c->app->redis) return redis_delete_prefix(c, prefix, plen);
    return (long)mem_cache_delete_prefix(c->app->cache, prefix, plen);
}

int chopin_cache_exists(chopin_ctx *c, const char *key) {
    size_t klen;
    return key_ok(key, &klen) && cache_exists_key(c, key, klen);
}

int chopin_cache_incr(chopin_ctx *c, const char *key, int64_t by, int64_t ttl_ms, int64_t *value) {
    size_t klen;
    if (!key_ok(key, &klen)) return -1;
    return cache_incr_flags(c, key, klen, by, ttl_ms, 0, value);
}

void *chopin_cache_get_model(chopin_ctx *c, const char *key, const chopin_model *m) {
    chopin_str text;
    if (chopin_cache_get(c, key, &text) != 1) return NULL;
    chopin_json_error err;
    const chopin_json_value *v = chopin_json_parse(c, text.ptr, text.len, &err);
    chopin_field_error *errors = NULL;
    return v ? chopin_model_decode(c, m, v, &errors) : NULL;
}

int chopin_cache_set_model(chopin_ctx *c, const char *key, const chopin_model *m, const void *obj,
                           int64_t ttl_ms) {
    chopin_json *j = chopin_json_new();
    if (!j) return -1;
    chopin_model_write(j, m, obj);
    size_t len;
    const char *text = chopin_json_text(j, &len);
    int rc = text ? chopin_cache_set(c, key, text, len, ttl_ms) : -1;
    chopin_json_free(j);
    return rc;
}
