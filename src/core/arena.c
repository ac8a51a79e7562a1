/* arena.c - the per-request bump allocator. */
#include "core.h"

#include <stdlib.h>
#include <time.h>

struct arena_chunk {
    arena_chunk *next; /* the chunk allocated before this one */
    size_t size;       /* usable bytes after the header */
    _Alignas(16) char data[];
};

void arena_init(chopin_arena *a) {
    arena_init_sized(a, 0);
}

void arena_init_sized(chopin_arena *a, size_t first_size) {
    a->head = a->first = NULL;
    a->used = 0;
    a->first_size = first_size ? (first_size + 15) & ~(size_t)15 : CHOPIN_ARENA_FIRST_CHUNK;
}

static arena_chunk *chunk_new(size_t size, arena_chunk *next) {
    arena_chunk *c = malloc(sizeof *c + size);
    if (!c) return NULL;
    c->next = next;
    c->size = size;
    return c;
}

void *arena_alloc(chopin_arena *a, size_t size) {
    size = (size + 15) & ~(size_t)15;
    if (!a->head) {
        size_t first = a->first_size > size ? a->first_size : size;
        a->first = a->head = chunk_new(first, NULL);
        if (!a->head) return NULL;
        a->used = 0;
    }
    if (a->head->size - a->used < size) {
        size_t csize = a->head->size * 2;
        while (csize < size) csize *= 2;
        arena_chunk *c = chunk_new(csize, a->head);
        if (!c) return NULL;
        a->head = c;
        a->used = 0;
    }
    void *p = a->head->data + a->used;
    a->used += size;
    return p;
}

void *arena_tail(chopin_arena *a, size_t *avail) {
    if (!a->head) {
        a->first = a->head = chunk_new(a->first_size, NULL);
        if (!a->head) return NULL;
        a->used = 0;
    }
    *avail = a->head->size - a->used;
    return a->head->data + a->used;
}

void arena_commit(chopin_arena *a, size_t used) {
    a->used += (used + 15) & ~(size_t)15;
}

void arena_reset(chopin_arena *a) {
    while (a->head && a->head != a->first) {
        arena_chunk *prev = a->head->next;
        free(a->head);
        a->head = prev;
    }
    a->used = 0;
}

void arena_destroy(chopin_arena *a) {
    arena_reset(a);
    free(a->first);
    a->head = a->first = NULL;
}

int64_t chopin_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
