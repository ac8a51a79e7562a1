/* stmt_cache.c - prepared statements by SQL text, per connection. Keyed by
 * content, not by pointer: the ORM builds its SQL in the request arena.
 * Slots are allocated one by one so that a pointer to one stays valid while
 * the table grows. An application has a bounded set of statements; past
 * STMT_CACHE_MAX (SQL with values pasted in would do that) the cache is
 * emptied, when its owner says it may, rather than grown forever. */
#include "db_internal.h"

#include "../core/core.h"

#include <stdlib.h>

void stmt_cache_clear(stmt_cache *sc, void (*evict)(stmt_slot *s, void *arg), void *arg) {
    for (size_t i = 0; i < sc->cap; i++) {
        stmt_slot *s = sc->slots[i];
        if (!s) continue;
        if (evict) evict(s, arg);
        free(s->sql);
        free(s);
    }
    free(sc->slots);
    sc->slots = NULL;
    sc->cap = sc->count = 0;
}

static stmt_slot **find(stmt_slot **slots, size_t cap, const char *sql, uint64_t h) {
    for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1)) {
        stmt_slot *s = slots[i];
        if (!s || (s->hash == h && !strcmp(s->sql, sql))) return &slots[i];
    }
}

static int grow(stmt_cache *sc) {
    size_t cap = sc->cap ? sc->cap * 2 : 32;
    stmt_slot **slots = calloc(cap, sizeof *slots);
    if (!slots) return -1;
    for (size_t i = 0; i < sc->cap; i++)
        if (sc->slots[i]) *find(slots, cap, sc->slots[i]->sql, sc->slots[i]->hash) = sc->slots[i];
    free(sc->slots);
    sc->slots = slots;
    sc->cap = cap;
    return 0;
}

bool stmt_cache_full(const stmt_cache *sc) {
    return sc->count >= STMT_CACHE_MAX;
}

stmt_slot *stmt_cache_get(stmt_cache *sc, const char *sql) {
    uint64_t h = hash_text(sql);
    if (sc->cap) {
        stmt_slot *s = *find(sc->slots, sc->cap, sql, h);
        if (s) return s;
    }
    if ((sc->count + 1) * 2 > sc->cap && grow(sc)) return NULL;
    stmt_slot *s = calloc(1, sizeof *s);
    if (!s || !(s->sql = strdup(sql))) {
        free(s);
        return NULL;
    }
    s->hash = h;
    s->id = ++sc->next_id;
    *find(sc->slots, sc->cap, sql, h) = s;
    sc->count++;
    return s;
}
