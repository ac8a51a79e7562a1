/* scan.h - the byte scanners behind the parser's hot loops.
 *
 * Each returns a pointer to the first byte in [p, end) that stops the scan,
 * or end. The vector versions look at 32 (AVX2) or 16 (SSE2) bytes a step and
 * finish with the scalar loop; which one is compiled is decided at build time
 * (-mavx2 via CHOPIN_NATIVE, SSE2 is always there on x86-64, scalar elsewhere).
 * Unaligned loads never read past end: the vector loop stops a full vector
 * before it. */
#ifndef CHOPIN_HTTP1_SCAN_H
#define CHOPIN_HTTP1_SCAN_H

#include <stdint.h>

#if defined(__AVX2__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Request-target bytes: visible ASCII only (0x21..0x7e). */
static inline const char *scan_vchar(const char *p, const char *end) {
#if defined(__AVX2__)
    const __m256i bias = _mm256_set1_epi8(0x21), top = _mm256_set1_epi8(0x7e - 0x21);
    while (end - p >= 32) {
        __m256i v = _mm256_sub_epi8(_mm256_loadu_si256((const __m256i *)p), bias);
        uint32_t ok = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_min_epu8(v, top), v));
        if (ok != 0xffffffffu) return p + __builtin_ctz(~ok);
        p += 32;
    }
#elif defined(__SSE2__)
    const __m128i bias = _mm_set1_epi8(0x21), top = _mm_set1_epi8(0x7e - 0x21);
    while (end - p >= 16) {
        __m128i v = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)p), bias);
        unsigned ok = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, top), v));
        if (ok != 0xffffu) return p + __builtin_ctz(~ok & 0xffffu);
        p += 16;
    }
#endif
    while (p < end && (unsigned char)(*p - 0x21) <= 0x7e - 0x21) p++;
    return p;
}

/* Field-value bytes: stops at any control byte (CR, LF, HTAB, NUL...) and DEL.
 * obs-text (0x80..0xff) passes; HTAB is legal and the caller steps over it. */
static inline const char *scan_field(const char *p, const char *end) {
#if defined(__AVX2__)
    const __m256i low = _mm256_set1_epi8(0x20), del = _mm256_set1_epi8(0x7f);
    while (end - p >= 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)p);
        __m256i ok = _mm256_andnot_si256(_mm256_cmpeq_epi8(v, del),
                                         _mm256_cmpeq_epi8(_mm256_max_epu8(v, low), v));
        uint32_t m = (uint32_t)_mm256_movemask_epi8(ok);
        if (m != 0xffffffffu) return p + __builtin_ctz(~m);
        p += 32;
    }
#elif defined(__SSE2__)
    const __m128i low = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        __m128i ok =
            _mm_andnot_si128(_mm_cmpeq_epi8(v, del), _mm_cmpeq_epi8(_mm_max_epu8(v, low), v));
        unsigned m = (unsigned)_mm_movemask_epi8(ok);
        if (m != 0xffffu) return p + __builtin_ctz(~m & 0xffffu);
        p += 16;
    }
#endif
    while (p < end && (unsigned char)*p >= 0x20 && (unsigned char)*p != 0x7f) p++;
    return p;
}

#endif
