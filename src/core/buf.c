/* buf.c - growable buffers and the per-worker pool of fixed-size blocks.
 *
 * The pool is what lets an idle keep-alive connection cost no buffer memory:
 * the engine releases a connection's buffers whenever they are empty, and the
 * next request on any connection of the worker takes them back from here. */
#include "core.h"

#include <stdlib.h>
#include <string.h>

void buf_pool_init(chopin_buf_pool *pool, size_t max_kept) {
    pool->free_blocks = NULL;
    pool->count = pool->cap = 0;
    pool->max_kept = max_kept;
}

void buf_pool_destroy(chopin_buf_pool *pool) {
    for (size_t i = 0; i < pool->count; i++) free(pool->free_blocks[i]);
    free(pool->free_blocks);
    pool->free_blocks = NULL;
    pool->count = pool->cap = 0;
}

int buf_acquire(chopin_buf_pool *pool, chopin_buf *b) {
    if (b->data) return 0;
    if (!pool) { /* standalone use (a JSON text built outside a request): start small */
        b->data = malloc(CHOPIN_BUF_SMALL);
        b->cap = CHOPIN_BUF_SMALL;
        b->len = 0;
        return b->data ? 0 : -1;
    }
    b->data = pool->count ? pool->free_blocks[--pool->count] : malloc(CHOPIN_BUF_BLOCK);
    if (!b->data) return -1;
    b->cap = CHOPIN_BUF_BLOCK;
    b->len = 0;
    return 0;
}

void buf_release(chopin_buf_pool *pool, chopin_buf *b) {
    if (!b->data) return;
    bool keep = pool && b->cap == CHOPIN_BUF_BLOCK && pool->count < pool->max_kept;
    if (keep && pool->count == pool->cap) {
        size_t ncap = pool->cap ? pool->cap * 2 : 64;
        char **nb = realloc(pool->free_blocks, ncap * sizeof *nb);
        if (nb) {
            pool->free_blocks = nb;
            pool->cap = ncap;
        } else {
            keep = false;
        }
    }
    if (keep)
        pool->free_blocks[pool->count++] = b->data;
    else
        free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int buf_reserve(chopin_buf_pool *pool, chopin_buf *b, size_t extra) {
    if (!b->data && buf_acquire(pool, b)) return -1;
    if (b->cap - b->len >= extra) return 0;
    size_t need = b->len + extra, ncap = b->cap * 2;
    while (ncap < need) ncap *= 2;
    char *nd = malloc(ncap);
    if (!nd) return -1;
    memcpy(nd, b->data, b->len);
    size_t len = b->len;
    buf_release(pool, b); /* the old block goes back to the pool */
    b->data = nd;
    b->len = len;
    b->cap = ncap;
    return 0;
}

int buf_append(chopin_buf_pool *pool, chopin_buf *b, const void *p, size_t n) {
    if (buf_reserve(pool, b, n)) return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void buf_consume(chopin_buf *b, size_t n) {
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}
