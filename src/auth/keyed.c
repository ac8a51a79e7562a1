/* keyed.c - short string keys with a stamp (a time, seconds) and a count,
 * shared by the workers of a process: revoked token ids (stamp: when the
 * token expires) and login counters (stamp: when the window ends). Sharded
 * by the key's hash so that workers rarely wait on one another; each shard
 * is an open-addressing table that drops the entries whose stamp has passed
 * whenever it grows, so memory follows the live keys. */
#include "auth_internal.h"

#include "../core/core.h"

#include <stdlib.h>
#include <string.h>

#define SHARDS 16

typedef struct {
    pthread_mutex_t mu;
    keyed_entry *slots;
    size_t cap, count;
} shard;

struct keyed_table {
    shard shards[SHARDS];
};

keyed_table *keyed_new(void) {
    keyed_table *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    for (int i = 0; i < SHARDS; i++) pthread_mutex_init(&t->shards[i].mu, NULL);
    return t;
}

void keyed_free(keyed_table *t) {
    if (!t) return;
    for (int i = 0; i < SHARDS; i++) {
        pthread_mutex_destroy(&t->shards[i].mu);
        free(t->shards[i].slots);
    }
    free(t);
}

/* An empty slot has stamp 0. */
static keyed_entry *find_slot(keyed_entry *slots, size_t cap, const char *key, uint64_t h) {
    for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1))
        if (!slots[i].stamp || !strcmp(slots[i].key, key)) return &slots[i];
}

/* Rebuilds the shard at cap slots, without the entries whose stamp has
 * passed. */
static int rebuild(shard *s, size_t cap, int64_t now) {
    keyed_entry *slots = calloc(cap, sizeof *slots);
    if (!slots) return -1;
    size_t count = 0;
    for (size_t i = 0; i < s->cap; i++) {
        keyed_entry *e = &s->slots[i];
        if (!e->stamp || e->stamp <= now) continue;
        *find_slot(slots, cap, e->key, hash_text(e->key)) = *e;
        count++;
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    s->count = count;
    return 0;
}

int keyed_with(keyed_table *t, const char *key, int64_t now, bool create,
               void (*fn)(keyed_entry *e, void *arg), void *arg) {
    char k[KEYED_KEY_MAX];
    snprintf(k, sizeof k, "%s", key); /* longer keys share an entry: harmless for both uses */
    uint64_t h = hash_text(k);
    shard *s = &t->shards[h % SHARDS];
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    if (create && (s->count + 1) * 2 > s->cap) {
        /* Drop the stale first; grow only if the live ones need it. */
        size_t cap = s->cap ? s->cap : 64;
        if (s->cap && rebuild(s, cap, now)) rc = -1;
        while (!rc && (s->count + 1) * 2 > cap) cap *= 2;
        if (!rc && cap != s->cap) rc = rebuild(s, cap, now);
    }
    keyed_entry *e = !rc && s->cap ? find_slot(s->slots, s->cap, k, h) : NULL;
    if (e && !e->stamp && !create) e = NULL;
    if (e && !e->stamp) {
        snprintf(e->key, sizeof e->key, "%s", k);
        s->count++;
    }
    fn(e, arg); /* NULL: absent (or out of memory when creating) */
    pthread_mutex_unlock(&s->mu);
    return rc;
}
