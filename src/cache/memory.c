/* memory.c - the in-memory cache: sharded hash tables with LRU eviction, a
 * byte bound and TTL expiry (contract in cache_internal.h). */
#include "cache_internal.h"

#include "../core/core.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One allocation per entry: the header, the key (NUL-terminated) and the
 * value (NUL-terminated too, so that a copy of it is a C string). */
typedef struct entry {
    struct entry *hnext;         /* hash chain */
    struct entry *newer, *older; /* LRU list */
    uint64_t hash;
    int64_t expires_ms; /* 0: never */
    size_t cost;        /* what it counts toward the bound */
    bool pinned;        /* never evicted: kept off the LRU list */
    uint32_t klen;
    uint32_t vlen;
    char data[];
} entry;

/* Cache-line aligned so that two shards' locks never share a line. */
typedef struct {
    _Alignas(64) pthread_mutex_t lock;
    entry **buckets;
    size_t nbuckets; /* a power of two */
    size_t count;
    entry *newest, *oldest;
    size_t bytes, max_bytes;
    size_t sweep_cursor; /* the sweeper's next bucket */
    uint64_t evictions, expired;
} shard;

struct mem_cache {
    shard *shards;
    size_t nshards; /* a power of two */
    size_t max_bytes;
    pthread_t sweeper;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    bool stopping, sweeper_started;
};

/* Each shard holds at least this much, so that a value of a few MiB fits;
 * more shards than cores buys nothing. */
#define SHARD_MIN_BYTES   (4u << 20)
#define MAX_SHARDS        64
#define FIRST_BUCKETS     64
#define SWEEP_BUCKETS     512 /* per shard per sweep step */
#define SWEEP_INTERVAL_MS 100
/* malloc's own header beside the usable size. */
#define MALLOC_OVERHEAD 16

int64_t mem_cache_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* FNV-1a, its high bits folded down: the shard takes the top bits, the
 * bucket the low ones. */
static uint64_t hash_key(const char *key, size_t len) {
    uint64_t h = hash_bytes(key, len);
    return h ^ (h >> 29);
}

static shard *shard_of(mem_cache *mc, uint64_t hash) {
    return &mc->shards[(hash >> 48) & (mc->nshards - 1)];
}

static bool expired(const entry *e, int64_t now) {
    return e->expires_ms && e->expires_ms <= now;
}

/* --- One shard's list and table (its lock held) ------------------------------------ */

static void lru_unlink(shard *s, entry *e) {
    if (e->newer)
        e->newer->older = e->older;
    else
        s->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        s->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void lru_push_newest(shard *s, entry *e) {
    e->older = s->newest;
    e->newer = NULL;
    if (s->newest) s->newest->newer = e;
    s->newest = e;
    if (!s->oldest) s->oldest = e;
}

static entry **find_slot(shard *s, const char *key, size_t klen, uint64_t hash) {
    entry **slot = &s->buckets[hash & (s->nbuckets - 1)];
    for (; *slot; slot = &(*slot)->hnext) {
        entry *e = *slot;
        if (e->hash == hash && e->klen == klen && !memcmp(e->data, key, klen)) return slot;
    }
    return slot;
}

static void remove_at(shard *s, entry **slot) {
    entry *e = *slot;
    *slot = e->hnext;
    if (!e->pinned) lru_unlink(s, e);
    s->count--;
    s->bytes -= e->cost;
    free(e);
}

static void remove_entry(shard *s, entry *e) {
    remove_at(s, find_slot(s, e->data, e->klen, e->hash));
}

/* Doubles the table when it is as full as it is long; a failed grow keeps
 * the old table (longer chains, still correct). */
static void maybe_grow(shard *s) {
    if (s->count < s->nbuckets) return;
    size_t n = s->nbuckets * 2;
    entry **b = calloc(n, sizeof *b);
    if (!b) return;
    for (size_t i = 0; i < s->nbuckets; i++)
        for (entry *e = s->buckets[i], *next; e; e = next) {
            next = e->hnext;
            e->hnext = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = n;
    s->sweep_cursor = 0;
}

/* The entry for key when it is there and alive; an expired one is dropped. */
static entry **live_slot(shard *s, const char *key, size_t klen, uint64_t hash, int64_t now) {
    entry **slot = find_slot(s, key, klen, hash);
    if (*slot && expired(*slot, now)) {
        remove_at(s, slot);
        s->expired++;
        return NULL;
    }
    return *slot ? slot : NULL;
}

static entry *make_entry(const char *key, size_t klen, const void *value, size_t vlen,
                         uint64_t hash, int64_t expires_ms, unsigned flags) {
    entry *e = malloc(sizeof *e + klen + 1 + vlen + 1);
    if (!e) return NULL;
    *e = (entry){.hash = hash,
                 .expires_ms = expires_ms,
                 .pinned = flags & CACHE_PINNED,
                 .klen = (uint32_t)klen,
                 .vlen = (uint32_t)vlen};
    memcpy(e->data, key, klen);
    e->data[klen] = 0;
    if (vlen) memcpy(e->data + klen + 1, value, vlen);
    e->data[klen + 1 + vlen] = 0;
    e->cost = malloc_usable_size(e) + MALLOC_OVERHEAD;
    return e;
}

/* Puts e in (replacing an entry of the same key), evicting the least
 * recently used entries until it fits. 0, or -1 with errno E2BIG (larger
 * than the shard) or ENOSPC (the shard is full of pinned entries). */
static int insert(shard *s, entry *e) {
    entry **old = find_slot(s, e->data, e->klen, e->hash);
    if (*old) remove_at(s, old);
    if (e->cost > s->max_bytes) {
        free(e);
        errno = E2BIG;
        return -1;
    }
    while (s->bytes + e->cost > s->max_bytes && s->oldest) {
        remove_entry(s, s->oldest);
        s->evictions++;
    }
    if (s->bytes + e->cost > s->max_bytes) {
        free(e);
        errno = ENOSPC;
        return -1;
    }
    maybe_grow(s);
    entry **slot = &s->buckets[e->hash & (s->nbuckets - 1)];
    e->hnext = *slot;
    *slot = e;
    if (!e->pinned) lru_push_newest(s, e);
    s->count++;
    s->bytes += e->cost;
    return 0;
}

/* --- The API ------------------------------------------------------------------ */

static int64_t expiry(int64_t ttl_ms) {
    return ttl_ms > 0 ? mem_cache_now_ms() + ttl_ms : 0;
}

int mem_cache_get(mem_cache *mc, const char *key, size_t klen, void *(*alloc)(void *, size_t),
                  void *alloc_arg, char **out, size_t *out_len) {
    uint64_t hash = hash_key(key, klen);
    shard *s = shard_of(mc, hash);
    int64_t now = mem_cache_now_ms();
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    entry **slot = live_slot(s, key, klen, hash, now);
    if (slot) {
        entry *e = *slot;
        if (!e->pinned) {
            lru_unlink(s, e);
            lru_push_newest(s, e);
        }
        char *copy = alloc(alloc_arg, (size_t)e->vlen + 1);
        if (copy) {
            memcpy(copy, e->data + e->klen + 1, (size_t)e->vlen + 1);
            *out = copy;
            *out_len = e->vlen;
            rc = 1;
        } else {
            rc = -1;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int mem_cache_set(mem_cache *mc, const char *key, size_t klen, const void *value, size_t len,
                  int64_t ttl_ms, unsigned flags) {
    if (klen > CACHE_KEY_MAX || len > UINT32_MAX) {
        errno = E2BIG;
        return -1;
    }
    uint64_t hash = hash_key(key, klen);
    entry *e = make_entry(key, klen, value, len, hash, expiry(ttl_ms), flags); /* unlocked */
    if (!e) {
        errno = ENOMEM;
        return -1;
    }
    shard *s = shard_of(mc, hash);
    pthread_mutex_lock(&s->lock);
    int rc = insert(s, e);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int mem_cache_delete(mem_cache *mc, const char *key, size_t klen) {
    uint64_t hash = hash_key(key, klen);
    shard *s = shard_of(mc, hash);
    pthread_mutex_lock(&s->lock);
    entry **slot = find_slot(s, key, klen, hash);
    int found = *slot && !expired(*slot, mem_cache_now_ms());
    if (*slot) remove_at(s, slot);
    pthread_mutex_unlock(&s->lock);
    return found;
}

size_t mem_cache_delete_prefix(mem_cache *mc, const char *prefix, size_t plen) {
    size_t deleted = 0;
    for (size_t i = 0; i < mc->nshards; i++) {
        shard *s = &mc->shards[i];
        pthread_mutex_lock(&s->lock);
        for (size_t b = 0; b < s->nbuckets; b++)
            for (entry **slot = &s->buckets[b]; *slot;) {
                if ((*slot)->klen >= plen && !memcmp((*slot)->data, prefix, plen)) {
                    remove_at(s, slot);
                    deleted++;
                } else {
                    slot = &(*slot)->hnext;
                }
            }
        pthread_mutex_unlock(&s->lock);
    }
    return deleted;
}

bool mem_cache_exists(mem_cache *mc, const char *key, size_t klen) {
    uint64_t hash = hash_key(key, klen);
    shard *s = shard_of(mc, hash);
    pthread_mutex_lock(&s->lock);
    bool there = live_slot(s, key, klen, hash, mem_cache_now_ms()) != NULL;
    pthread_mutex_unlock(&s->lock);
    return there;
}

/* A whole decimal int64 (as Redis stores counters), or false. */
static bool parse_int(const char *s, size_t len, int64_t *out) {
    if (!len || len > 20) return false;
    char buf[24];
    memcpy(buf, s, len);
    buf[len] = 0;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || *end || buf[0] == ' ' || buf[0] == '+') return false;
    *out = v;
    return true;
}

int mem_cache_incr(mem_cache *mc, const char *key, size_t klen, int64_t by, int64_t ttl_ms,
                   unsigned flags, int64_t *value) {
    if (klen > CACHE_KEY_MAX) {
        errno = E2BIG;
        return -1;
    }
    uint64_t hash = hash_key(key, klen);
    shard *s = shard_of(mc, hash);
    int64_t now = mem_cache_now_ms(), current = 0, expires = expiry(ttl_ms);
    pthread_mutex_lock(&s->lock);
    entry **slot = live_slot(s, key, klen, hash, now);
    if (slot) {
        entry *old = *slot;
        if (!parse_int(old->data + old->klen + 1, old->vlen, &current) ||
            __builtin_add_overflow(current, by, &current)) {
            pthread_mutex_unlock(&s->lock);
            errno = EINVAL;
            return -1;
        }
        if (old->expires_ms) expires = old->expires_ms; /* a window keeps its end */
    } else {
        current = by;
    }
    char text[24];
    int n = snprintf(text, sizeof text, "%" PRId64, current);
    entry *e = make_entry(key, klen, text, (size_t)n, hash, expires, flags);
    int rc = e ? insert(s, e) : -1;
    pthread_mutex_unlock(&s->lock);
    if (!e) errno = ENOMEM;
    if (rc == 0) *value = current;
    return rc;
}

void mem_cache_stats_get(mem_cache *mc, mem_cache_stats *out) {
    *out = (mem_cache_stats){.max_bytes = mc->max_bytes, .shards = mc->nshards};
    for (size_t i = 0; i < mc->nshards; i++) {
        shard *s = &mc->shards[i];
        pthread_mutex_lock(&s->lock);
        out->entries += s->count;
        out->bytes += s->bytes;
        out->evictions += s->evictions;
        out->expired += s->expired;
        pthread_mutex_unlock(&s->lock);
    }
}

/* --- Expiry in the background ------------------------------------------------------ */

size_t mem_cache_sweep(mem_cache *mc, int64_t now) {
    size_t dropped = 0;
    for (size_t i = 0; i < mc->nshards; i++) {
        shard *s = &mc->shards[i];
        pthread_mutex_lock(&s->lock);
        for (size_t n = 0; n < SWEEP_BUCKETS && n < s->nbuckets; n++) {
            size_t b = s->sweep_cursor++ & (s->nbuckets - 1);
            for (entry **slot = &s->buckets[b]; *slot;) {
                if (expired(*slot, now)) {
                    remove_at(s, slot);
                    s->expired++;
                    dropped++;
                } else {
                    slot = &(*slot)->hnext;
                }
            }
        }
        pthread_mutex_unlock(&s->lock);
    }
    return dropped;
}

static void *sweeper_main(void *arg) {
    mem_cache *mc = arg;
    pthread_mutex_lock(&mc->stop_lock);
    while (!mc->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += SWEEP_INTERVAL_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&mc->stop_cond, &mc->stop_lock, &until);
        if (mc->stopping) break;
        pthread_mutex_unlock(&mc->stop_lock);
        mem_cache_sweep(mc, mem_cache_now_ms());
        pthread_mutex_lock(&mc->stop_lock);
    }
    pthread_mutex_unlock(&mc->stop_lock);
    return NULL;
}

/* --- Life ------------------------------------------------------------------------ */

mem_cache *mem_cache_new(size_t max_bytes) {
    mem_cache *mc = calloc(1, sizeof *mc);
    if (!mc) return NULL;
    size_t n = 1;
    while (n < MAX_SHARDS && max_bytes / (n * 2) >= SHARD_MIN_BYTES) n *= 2;
    mc->nshards = n;
    mc->max_bytes = max_bytes;
    mc->shards = aligned_alloc(64, n * sizeof *mc->shards);
    if (!mc->shards) {
        free(mc);
        return NULL;
    }
    memset(mc->shards, 0, n * sizeof *mc->shards);
    pthread_mutex_init(&mc->stop_lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&mc->stop_cond, &attr);
    pthread_condattr_destroy(&attr);
    for (size_t i = 0; i < n; i++) {
        shard *s = &mc->shards[i];
        pthread_mutex_init(&s->lock, NULL);
        s->max_bytes = max_bytes / n;
        s->nbuckets = FIRST_BUCKETS;
        s->buckets = calloc(FIRST_BUCKETS, sizeof *s->buckets);
        if (!s->buckets) {
            mc->nshards = i + 1;
            mem_cache_free(mc);
            return NULL;
        }
    }
    /* The sweeper takes no signals: SIGINT and SIGTERM belong to the thread
     * that waits for them (chopin_app_run), and a thread made before it
     * blocks them would otherwise inherit them and die of them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    mc->sweeper_started = pthread_create(&mc->sweeper, NULL, sweeper_main, mc) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return mc;
}

void mem_cache_free(mem_cache *mc) {
    if (!mc) return;
    if (mc->sweeper_started) {
        pthread_mutex_lock(&mc->stop_lock);
        mc->stopping = true;
        pthread_cond_signal(&mc->stop_cond);
        pthread_mutex_unlock(&mc->stop_lock);
        pthread_join(mc->sweeper, NULL);
    }
    for (size_t i = 0; i < mc->nshards; i++) {
        shard *s = &mc->shards[i];
        for (size_t b = 0; s->buckets && b < s->nbuckets; b++)
            for (entry *e = s->buckets[b], *next; e; e = next) {
                next = e->hnext;
                free(e);
            }
        free(s->buckets);
        pthread_mutex_destroy(&s->lock);
    }
    free(mc->shards);
    pthread_mutex_destroy(&mc->stop_lock);
    pthread_cond_destroy(&mc->stop_cond);
    free(mc);
}
