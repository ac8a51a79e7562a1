/* ratelimit.c - fixed-window counters by key ("ip:203.0.113.7",
 * "account:ada@example.com"), shared by the workers of this process.
 *
 * Sharded like the revocation list; a shard drops the counters of past
 * windows as it grows, so memory follows the keys seen in one window. A
 * Redis-backed limiter shared by app servers comes with the cache layer. */
#include "auth_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SHARDS 16
#define KEY_MAX 96

typedef struct {
    char key[KEY_MAX];
    int64_t window; /* start of the counted window, seconds; 0: empty */
    int count;
} counter;

typedef struct {
    pthread_mutex_t mu;
    counter *slots;
    size_t cap, count;
} shard;

struct rate_limiter {
    shard shards[SHARDS];
};

static uint64_t hash_key(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

rate_limiter *rate_limiter_new(void) {
    rate_limiter *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    for (int i = 0; i < SHARDS; i++) pthread_mutex_init(&r->shards[i].mu, NULL);
    return r;
}

void rate_limiter_free(rate_limiter *r) {
    if (!r) return;
    for (int i = 0; i < SHARDS; i++) {
        pthread_mutex_destroy(&r->shards[i].mu);
        free(r->shards[i].slots);
    }
    free(r);
}

static counter *find_slot(counter *slots, size_t cap, const char *key, uint64_t h) {
    for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1))
        if (!slots[i].window || !strcmp(slots[i].key, key)) return &slots[i];
}

/* Keeps only the counters of the current window. */
static int rebuild(shard *s, size_t cap, int64_t window) {
    counter *slots = calloc(cap, sizeof *slots);
    if (!slots) return -1;
    size_t count = 0;
    for (size_t i = 0; i < s->cap; i++) {
        counter *e = &s->slots[i];
        if (e->window != window) continue;
        *find_slot(slots, cap, e->key, hash_key(e->key)) = *e;
        count++;
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    s->count = count;
    return 0;
}

bool rate_limit_take(rate_limiter *r, const char *key, int limit, int window_s, int *retry_after) {
    if (!r || limit <= 0 || window_s <= 0) return true; /* no limit configured */
    char k[KEY_MAX];
    snprintf(k, sizeof k, "%s", key); /* longer keys share a counter: fine for limiting */
    int64_t now = (int64_t)time(NULL), window = now - now % window_s + 1;
    uint64_t h = hash_key(k);
    shard *s = &r->shards[h % SHARDS];
    pthread_mutex_lock(&s->mu);
    bool allowed = true;
    if ((s->count + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap : 64;
        if (s->cap) rebuild(s, cap, window);
        while ((s->count + 1) * 2 > cap) cap *= 2;
        if (cap != s->cap && rebuild(s, cap, window)) {
            pthread_mutex_unlock(&s->mu);
            return true; /* out of memory: do not lock people out for it */
        }
    }
    counter *e = find_slot(s->slots, s->cap, k, h);
    if (e->window != window) {
        if (!e->window) s->count++;
        snprintf(e->key, sizeof e->key, "%s", k);
        e->window = window;
        e->count = 0;
    }
    if (e->count >= limit) {
        allowed = false;
        if (retry_after) *retry_after = (int)(window - 1 + window_s - now);
    } else {
        e->count++;
    }
    pthread_mutex_unlock(&s->mu);
    return allowed;
}
