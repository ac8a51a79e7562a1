/* revoke.c - revoked token ids, until they would have expired anyway.
 *
 * Sharded by the id's hash so that workers checking tokens rarely wait on
 * one another; each shard is an open-addressing set that drops expired ids
 * as it grows, so the memory is bounded by the tokens revoked within one
 * token lifetime. */
#include "auth_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SHARDS 16

typedef struct {
    char jti[64];
    int64_t exp; /* 0: empty slot */
} entry;

typedef struct {
    pthread_mutex_t mu;
    entry *slots;
    size_t cap, count;
} shard;

struct revocations {
    shard shards[SHARDS];
};

static uint64_t hash_id(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

revocations *revocations_new(void) {
    revocations *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    for (int i = 0; i < SHARDS; i++) pthread_mutex_init(&r->shards[i].mu, NULL);
    return r;
}

void revocations_free(revocations *r) {
    if (!r) return;
    for (int i = 0; i < SHARDS; i++) {
        pthread_mutex_destroy(&r->shards[i].mu);
        free(r->shards[i].slots);
    }
    free(r);
}

static entry *find_slot(entry *slots, size_t cap, const char *jti, uint64_t h) {
    for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1))
        if (!slots[i].exp || !strcmp(slots[i].jti, jti)) return &slots[i];
}

/* Rebuilds the shard at cap slots, keeping only ids not yet expired. */
static int rebuild(shard *s, size_t cap, int64_t now) {
    entry *slots = calloc(cap, sizeof *slots);
    if (!slots) return -1;
    size_t count = 0;
    for (size_t i = 0; i < s->cap; i++) {
        entry *e = &s->slots[i];
        if (!e->exp || e->exp <= now) continue;
        *find_slot(slots, cap, e->jti, hash_id(e->jti)) = *e;
        count++;
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    s->count = count;
    return 0;
}

int chopin_auth_revoke(chopin_app *app, const char *jti, int64_t exp) {
    revocations *r = app->revoked;
    if (!r || !jti || !*jti || strlen(jti) >= sizeof((entry *)0)->jti) return -1;
    int64_t now = (int64_t)time(NULL);
    if (exp <= now) return 0; /* expired already: nothing to remember */
    uint64_t h = hash_id(jti);
    shard *s = &r->shards[h % SHARDS];
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    if ((s->count + 1) * 2 > s->cap) {
        /* Drop the expired first; grow only if the live ones need it. */
        size_t cap = s->cap ? s->cap : 64;
        if (s->cap && rebuild(s, cap, now)) rc = -1;
        while (!rc && (s->count + 1) * 2 > cap) cap *= 2;
        if (!rc && cap != s->cap) rc = rebuild(s, cap, now);
    }
    if (!rc) {
        entry *e = find_slot(s->slots, s->cap, jti, h);
        if (!e->exp) s->count++;
        snprintf(e->jti, sizeof e->jti, "%s", jti);
        if (exp > e->exp) e->exp = exp;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

bool chopin_auth_is_revoked(chopin_app *app, const char *jti) {
    revocations *r = app->revoked;
    if (!r || !jti || !*jti) return false;
    uint64_t h = hash_id(jti);
    shard *s = &r->shards[h % SHARDS];
    pthread_mutex_lock(&s->mu);
    bool revoked = false;
    if (s->cap) {
        entry *e = find_slot(s->slots, s->cap, jti, h);
        revoked = e->exp > (int64_t)time(NULL);
    }
    pthread_mutex_unlock(&s->mu);
    return revoked;
}
