/* core - memory the engine reuses: growable byte buffers, a pool of them,
 * and the per-request arena. Internal to libchopin.
 *
 * Nothing here is thread-safe: every pool belongs to one worker. */
#ifndef CHOPIN_CORE_H
#define CHOPIN_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer. data is NULL until first use. Buffers of exactly
 * CHOPIN_BUF_BLOCK bytes come from and go back to a pool; a buffer that had
 * to grow past that is plain malloc'd memory, freed when released. */
typedef struct {
    char *data;
    size_t len; /* bytes in use */
    size_t cap;
} chopin_buf;

#define CHOPIN_BUF_BLOCK (16 * 1024)
#define CHOPIN_BUF_SMALL 256 /* first size of a buffer without a pool */

typedef struct {
    char **free_blocks;
    size_t count, cap;
    size_t max_kept; /* blocks beyond this go back to the system */
} chopin_buf_pool;

/* Every buf_* function accepts pool == NULL: plain malloc/free then. */
void buf_pool_init(chopin_buf_pool *pool, size_t max_kept);
void buf_pool_destroy(chopin_buf_pool *pool);
/* Gives b a block if it has none. Returns -1 when out of memory. */
int buf_acquire(chopin_buf_pool *pool, chopin_buf *b);
/* Returns b's memory (pooled or freed); b becomes empty. */
void buf_release(chopin_buf_pool *pool, chopin_buf *b);
/* Makes room for `extra` more bytes, growing (pooled block -> heap) if needed. */
int buf_reserve(chopin_buf_pool *pool, chopin_buf *b, size_t extra);
int buf_append(chopin_buf_pool *pool, chopin_buf *b, const void *p, size_t n);
/* Drops the first n bytes, moving the rest down. */
void buf_consume(chopin_buf *b, size_t n);

/* The request arena: bump allocation from a chain of chunks, all released at
 * once. The first chunk is kept across resets, so a request that fits in it
 * never calls malloc. */
typedef struct arena_chunk arena_chunk;
typedef struct {
    arena_chunk *head;  /* current chunk */
    arena_chunk *first; /* kept across resets */
    size_t used;        /* bytes used in head */
    size_t first_size;  /* size of the first chunk; 0 = CHOPIN_ARENA_FIRST_CHUNK */
} chopin_arena;

#define CHOPIN_ARENA_FIRST_CHUNK (8 * 1024)

void arena_init(chopin_arena *a);
/* An arena whose first chunk is first_size bytes (for a short-lived one whose
 * need is known, such as a parsed document). */
void arena_init_sized(chopin_arena *a, size_t first_size);
void *arena_alloc(chopin_arena *a, size_t size); /* 16-byte aligned; NULL if out of memory */
void arena_reset(chopin_arena *a);
/* For a write whose size is known only afterwards: the free bytes at the end
 * of the current chunk (NULL if out of memory), then arena_commit(used) to
 * keep the first `used` of them. Nothing else may be allocated in between. */
void *arena_tail(chopin_arena *a, size_t *avail);
void arena_commit(chopin_arena *a, size_t used);
void arena_destroy(chopin_arena *a);

/* The value of one hex digit, or -1. Shared by the chunked decoder, URL
 * decoding, the JSON reader and UUID checks. */
/* FNV-1a of a NUL-terminated string: for the small hash tables keyed by
 * text (prepared statements, revoked ids, login counters). */
static inline uint64_t hash_text(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The same over len bytes (cache keys, file contents for an ETag). */
static inline uint64_t hash_bytes(const void *p, size_t len) {
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* n bytes as 2n lowercase hex digits and a NUL (digests, random ids). */
static inline void hex_encode(char *out, const unsigned char *bytes, size_t n) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = 0;
}

/* A random version 4 UUID, lowercase with hyphens. 0, or -1 when the
 * kernel gave no randomness. */
int random_uuid(char out[37]);

static inline int hex_value(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0 with
 * *bad set to the first byte that makes it invalid (end when cut short). */
static inline size_t utf8_seq(const unsigned char *p, const unsigned char *end,
                              const unsigned char **bad) {
    unsigned char c = p[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c == 0xe0)
        n = 3, lo = 0xa0;
    else if (c == 0xed)
        n = 3, hi = 0x9f; /* no UTF-16 surrogates */
    else if (c >= 0xe1 && c <= 0xef)
        n = 3;
    else if (c == 0xf0)
        n = 4, lo = 0x90;
    else if (c == 0xf4)
        n = 4, hi = 0x8f; /* nothing above U+10FFFF */
    else if (c >= 0xf1 && c <= 0xf3)
        n = 4;
    else {
        *bad = p; /* continuation byte, overlong lead C0/C1, F5..FF */
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if (p + i >= end) {
            *bad = end;
            return 0;
        }
        if (p[i] < lo || p[i] > hi) {
            *bad = p + i;
            return 0;
        }
        lo = 0x80, hi = 0xbf; /* only the second byte has a narrower range */
    }
    return n;
}

/* Text a C string can hold and JSON can carry: valid UTF-8, no NUL. */
static inline bool utf8_text_ok(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s, *end = p + len, *bad;
    while (p < end) {
        if (*p < 0x80) {
            if (!*p) return false;
            p++;
            continue;
        }
        size_t n = utf8_seq(p, end, &bad);
        if (!n) return false;
        p += n;
    }
    return true;
}

/* CHOPIN_UNDER_ASAN is 1 in an AddressSanitizer build (gcc or clang). */
#if defined(__SANITIZE_ADDRESS__)
#define CHOPIN_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CHOPIN_UNDER_ASAN 1
#endif
#endif

/* CHOPIN_UNDER_TSAN is 1 in a ThreadSanitizer build (gcc or clang). */
#if defined(__SANITIZE_THREAD__)
#define CHOPIN_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CHOPIN_UNDER_TSAN 1
#endif
#endif

/* Milliseconds from CLOCK_MONOTONIC. */
int64_t chopin_now_ms(void);

#endif
