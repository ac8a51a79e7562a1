/* chopin/cache.h - a key-value cache with expiry, shared by the app's
 * workers; with REDIS_URL, shared by every app server through Redis.
 *
 *   chopin_str hit;
 *   if (chopin_cache_get(c, "weather:paris", &hit) == 1) {
 *       chopin_send(c, 200, "application/json", hit.ptr, hit.len);
 *       return;
 *   }
 *   ... compute body ...
 *   chopin_cache_set(c, "weather:paris", body, len, 60 * 1000);   // a minute
 *
 * The in-memory store (the default) holds at most CACHE_MAX_BYTES, evicting
 * the least recently used entries, and drops expired ones in the background.
 * Values are bytes (any length up to the store's share per shard); keys are
 * text of at most 1024 bytes. A cache is a cache: a miss is always a correct
 * answer, and a backend that fails makes reads miss and writes drop, not
 * requests fail. */
#ifndef CHOPIN_CACHE_H
#define CHOPIN_CACHE_H

#include "ctx.h"

typedef struct chopin_model chopin_model;

/* 1 hit (value, NUL-terminated, in the request arena), 0 miss. */
int chopin_cache_get(chopin_ctx *c, const char *key, chopin_str *value);
/* n lookups at once (one round trip to Redis): values[i] is the hit, or
 * {NULL, 0} for a miss. Returns the number of hits. */
size_t chopin_cache_get_many(chopin_ctx *c, const char *const *keys, size_t n, chopin_str *values);
/* Stores value for ttl_ms milliseconds (0: until evicted). 0, or -1 when
 * it was not stored (errno E2BIG: too large; EINVAL: a bad key). */
int chopin_cache_set(chopin_ctx *c, const char *key, const void *value, size_t len, int64_t ttl_ms);
/* 1 deleted, 0 there was none. */
int chopin_cache_delete(chopin_ctx *c, const char *key);
/* Deletes every key that starts with prefix ("user:42:"); returns how
 * many. It looks at every entry: for invalidating groups of keys, not for
 * every request. */
long chopin_cache_delete_prefix(chopin_ctx *c, const char *prefix);
/* 1 when key is there (and not expired), else 0. */
int chopin_cache_exists(chopin_ctx *c, const char *key);
/* Adds by to the integer at key, made 0 with ttl_ms first when absent (a
 * counter whose window starts with its first count: rate limits). 0 with
 * *value, or -1 (errno EINVAL: the value there is not an integer). */
int chopin_cache_incr(chopin_ctx *c, const char *key, int64_t by, int64_t ttl_ms, int64_t *value);

/* Deletes the cached answers of routes with .cache_seconds (chopin/app.h)
 * whose path starts with path_prefix: after a POST /todos, say,
 * chopin_cache_invalidate(c, "/todos") drops GET /todos and /todos/7 alike.
 * Returns how many. */
long chopin_cache_invalidate(chopin_ctx *c, const char *path_prefix);

/* Models as JSON (chopin/model.h): the struct, decoded into the request
 * arena, or NULL on a miss (or a value that no longer decodes, say after
 * the model changed); set returns as chopin_cache_set. */
void *chopin_cache_get_model(chopin_ctx *c, const char *key, const chopin_model *m);
int chopin_cache_set_model(chopin_ctx *c, const char *key, const chopin_model *m, const void *obj,
                           int64_t ttl_ms);

#endif
