/* cache_internal.h - the cache's backends, shared by the module's files.
 * Internal. */
#ifndef CHOPIN_CACHE_INTERNAL_H
#define CHOPIN_CACHE_INTERNAL_H

#include "chopin/app.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest key either backend takes (Redis takes more; a longer key is a
 * mistake worth an error). */
#define CACHE_KEY_MAX 1024

/* --- memory.c: the in-process store ----------------------------------------
 *
 * Shared by every worker of the process: entries are spread over shards,
 * each with its own lock, hash table and LRU list, so that workers touching
 * different keys do not wait on each other. The total of entry sizes (as
 * malloc counts them) stays within max_bytes: a store evicts its least
 * recently used entries to make room. Expired entries are dropped when
 * seen and by a sweeper thread that walks the shards a little at a time,
 * so memory is given back even for keys nobody reads again.
 *
 * Times are milliseconds of CLOCK_MONOTONIC (mem_cache_now_ms); ttl 0
 * means no expiry. */
typedef struct mem_cache mem_cache;

mem_cache *mem_cache_new(size_t max_bytes);
void mem_cache_free(mem_cache *mc);
int64_t mem_cache_now_ms(void);

/* Copies a hit's value out, under the shard's lock, through alloc (the
 * request arena, say); *out gets a NUL-terminated copy. 1 hit, 0 miss,
 * -1 out of memory. */
int mem_cache_get(mem_cache *mc, const char *key, size_t klen, void *(*alloc)(void *, size_t),
                  void *alloc_arg, char **out, size_t *out_len);
/* Flags: a pinned entry is never evicted to make room (it still expires):
 * revoked tokens and rate-limit counters, which must not be forgotten
 * because other keys came in. */
#define CACHE_PINNED 1u
/* 0, or -1 with errno E2BIG (larger than a shard may hold), ENOSPC (the
 * shard is full of pinned entries) or ENOMEM. */
int mem_cache_set(mem_cache *mc, const char *key, size_t klen, const void *value, size_t len,
                  int64_t ttl_ms, unsigned flags);
/* 1 deleted, 0 there was none. */
int mem_cache_delete(mem_cache *mc, const char *key, size_t klen);
/* How many keys starting with prefix were deleted. Walks every entry. */
size_t mem_cache_delete_prefix(mem_cache *mc, const char *prefix, size_t plen);
bool mem_cache_exists(mem_cache *mc, const char *key, size_t klen);
/* Adds by to the decimal integer stored at key (absent: 0, then stored with
 * ttl_ms; present: its expiry is kept). 0 with *value set, or -1 with errno
 * EINVAL (the value is not an integer, or the sum overflows) or ENOMEM. */
int mem_cache_incr(mem_cache *mc, const char *key, size_t klen, int64_t by, int64_t ttl_ms,
                   unsigned flags, int64_t *value);

typedef struct {
    size_t entries;
    size_t bytes;     /* counted toward max_bytes */
    size_t max_bytes; /* as given */
    size_t shards;
    uint64_t evictions; /* entries dropped for room */
    uint64_t expired;   /* entries dropped because their time was up */
} mem_cache_stats;
void mem_cache_stats_get(mem_cache *mc, mem_cache_stats *out);
/* One step of the sweeper's work on every shard, now; for tests. */
size_t mem_cache_sweep(mem_cache *mc, int64_t now_ms);

/* --- redis.c: the Redis backend ---------------------------------------------- */

typedef struct redis_backend redis_backend;
struct redisReply;

/* From REDIS_URL (resolved now); NULL with a message that does not echo
 * the URL (it may hold a password). */
redis_backend *redis_backend_new(const char *url, int timeout_ms, char *err, size_t err_len);
void redis_backend_free(redis_backend *rb);
const char *redis_backend_where(const redis_backend *rb);
/* Sends one command on the request's connection (its worker's) and waits
 * for the reply: the reply (freeReplyObject it), or NULL when Redis is
 * down, too slow, or the request ended. */
struct redisReply *redis_command(chopin_ctx *c, int argc, const char **argv, const size_t *lens);
/* A detached context's connection (chopin_ctx_free). */
void redis_detached_free(void *state);

/* --- response.c: the .cache_seconds route option ---------------------------- */

/* Answers from the cache when it holds this request's answer (GET/HEAD),
 * else runs handler and keeps a 200 answer; auth_rank >= 0 (a protected
 * route) makes the answers private to the client. */
void response_cache_run(chopin_ctx *c, const chopin_route_options *o, int auth_rank,
                        chopin_handler handler);

/* --- cache.c: the backend of the app, for the auth module ------------------ */

int cache_set_flags(chopin_ctx *c, const char *key, size_t klen, const void *value, size_t len,
                    int64_t ttl_ms, unsigned flags);
int cache_incr_flags(chopin_ctx *c, const char *key, size_t klen, int64_t by, int64_t ttl_ms,
                     unsigned flags, int64_t *value);
bool cache_exists_key(chopin_ctx *c, const char *key, size_t klen);

#endif
