/* writer.c - the streaming JSON writer (see chopin/json.h).
 *
 * Every value goes through begin_value(), which places the comma and checks
 * that a value is allowed here; everything else is appending bytes. Misuse
 * sets the sticky `failed` flag and further calls do nothing, so a handler
 * checks once, at the end (chopin_json_finish does it for you). */
#include "json_internal.h"

#include <stdlib.h>

#if defined(__AVX2__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

void json_writer_init(chopin_json *j, chopin_buf *out, chopin_buf_pool *pool) {
    j->out = out;
    j->pool = pool;
    j->failed = false;
    j->after_key = false;
    j->has_value = false;
    j->depth = 0;
    j->enveloped = false;
}

static inline bool put(chopin_json *j, const void *p, size_t n) {
    if (j->failed) return false;
    if (j->out->cap - j->out->len < n && buf_reserve(j->pool, j->out, n)) {
        j->failed = true;
        return false;
    }
    memcpy(j->out->data + j->out->len, p, n);
    j->out->len += n;
    return true;
}

static inline bool begin_value(chopin_json *j) {
    if (j->failed) return false;
    if (j->after_key) {
        j->after_key = false;
        return true;
    }
    if (j->depth == 0) { /* the top-level value: only one per document */
        if (j->has_value) {
            j->failed = true;
            return false;
        }
        j->has_value = true;
        return true;
    }
    uint8_t *lv = &j->level[j->depth - 1];
    if (*lv & JSON_LEVEL_OBJECT) { /* a value in an object needs a key first */
        j->failed = true;
        return false;
    }
    if (*lv & JSON_LEVEL_HAS_ITEMS) return put(j, ",", 1);
    *lv |= JSON_LEVEL_HAS_ITEMS;
    return true;
}

static void open_container(chopin_json *j, char c, uint8_t kind) {
    if (!begin_value(j)) return;
    if (j->depth == CHOPIN_JSON_MAX_DEPTH) {
        j->failed = true;
        return;
    }
    j->level[j->depth++] = kind;
    put(j, &c, 1);
}

void chopin_json_object(chopin_json *j) {
    open_container(j, '{', JSON_LEVEL_OBJECT);
}
void chopin_json_array(chopin_json *j) {
    open_container(j, '[', 0);
}

void chopin_json_end(chopin_json *j) {
    if (j->failed) return;
    if (j->depth == 0 || j->after_key) {
        j->failed = true;
        return;
    }
    char c = (j->level[--j->depth] & JSON_LEVEL_OBJECT) ? '}' : ']';
    put(j, &c, 1);
}

/* Bytes that must be escaped inside a JSON string: '"', '\\' and 0x00-0x1f. */
static const char escape_letter[32] = {
    ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't',
};

static inline bool needs_escape(unsigned char c) {
    return c < 0x20 || c == '"' || c == '\\';
}

/* Index of the first byte needing an escape in s[0..len), or len. */
static size_t find_escape(const char *s, size_t len) {
    size_t i = 0;
#if defined(__AVX2__)
    const __m256i quote = _mm256_set1_epi8('"'), bslash = _mm256_set1_epi8('\\');
    const __m256i ctl = _mm256_set1_epi8(0x1f);
    for (; i + 32 <= len; i += 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(s + i));
        __m256i hit = _mm256_or_si256(
            _mm256_or_si256(_mm256_cmpeq_epi8(v, quote), _mm256_cmpeq_epi8(v, bslash)),
            _mm256_cmpeq_epi8(_mm256_min_epu8(v, ctl), v));
        uint32_t m = (uint32_t)_mm256_movemask_epi8(hit);
        if (m) return i + (size_t)__builtin_ctz(m);
    }
#elif defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i ctl = _mm_set1_epi8(0x1f);
    for (; i + 16 <= len; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
        __m128i hit =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                         _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v));
        unsigned m = (unsigned)_mm_movemask_epi8(hit);
        if (m) return i + (size_t)__builtin_ctz(m);
    }
#endif
    while (i < len && !needs_escape((unsigned char)s[i])) i++;
    return i;
}

size_t chopin_json_escape(char *out, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    char *o = out;
    *o++ = '"';
    size_t i = 0;
    while (i < len) {
        size_t run = find_escape(s + i, len - i);
        memcpy(o, s + i, run);
        o += run;
        i += run;
        if (i == len) break;
        unsigned char c = (unsigned char)s[i++];
        *o++ = '\\';
        if (c == '"' || c == '\\') {
            *o++ = (char)c;
        } else if (escape_letter[c]) {
            *o++ = escape_letter[c];
        } else {
            memcpy(o, "u00", 3);
            o[3] = hex[c >> 4];
            o[4] = hex[c & 15];
            o += 5;
        }
    }
    *o++ = '"';
    return (size_t)(o - out);
}

static void put_string(chopin_json *j, const char *s, size_t len) {
    if (len > (SIZE_MAX - 2) / 6) {
        j->failed = true;
        return;
    }
    size_t worst = len * 6 + 2;
    if (j->out->cap - j->out->len < worst && buf_reserve(j->pool, j->out, worst)) {
        j->failed = true;
        return;
    }
    j->out->len += chopin_json_escape(j->out->data + j->out->len, s, len);
}

void chopin_json_keyn(chopin_json *j, const char *key, size_t len) {
    if (j->failed) return;
    if (j->depth == 0 || !(j->level[j->depth - 1] & JSON_LEVEL_OBJECT) || j->after_key) {
        j->failed = true;
        return;
    }
    uint8_t *lv = &j->level[j->depth - 1];
    if (*lv & JSON_LEVEL_HAS_ITEMS) put(j, ",", 1);
    *lv |= JSON_LEVEL_HAS_ITEMS;
    put_string(j, key, len);
    put(j, ":", 1);
    j->after_key = true;
}

void chopin_json_key(chopin_json *j, const char *key) {
    chopin_json_keyn(j, key, strlen(key));
}

void chopin_json_stringn(chopin_json *j, const char *s, size_t len) {
    if (begin_value(j)) put_string(j, s, len);
}

void chopin_json_string(chopin_json *j, const char *s) {
    if (!s)
        chopin_json_null(j);
    else
        chopin_json_stringn(j, s, strlen(s));
}

void chopin_json_int(chopin_json *j, int64_t v) {
    char tmp[24];
    if (begin_value(j)) put(j, tmp, json_format_int(tmp, v));
}

void chopin_json_uint(chopin_json *j, uint64_t v) {
    char tmp[24];
    if (begin_value(j)) put(j, tmp, json_format_uint(tmp, v));
}

void chopin_json_double(chopin_json *j, double v) {
    char tmp[32];
    if (!begin_value(j)) return;
    size_t n = json_format_double(tmp, v);
    if (n)
        put(j, tmp, n);
    else
        put(j, "null", 4);
}

void chopin_json_bool(chopin_json *j, bool v) {
    if (begin_value(j)) put(j, v ? "true" : "false", v ? 4 : 5);
}

void chopin_json_null(chopin_json *j) {
    if (begin_value(j)) put(j, "null", 4);
}

void chopin_json_raw(chopin_json *j, const char *json, size_t len) {
    if (begin_value(j)) put(j, json, len);
}

bool chopin_json_failed(const chopin_json *j) {
    return j->failed;
}

chopin_json *chopin_json_new(void) {
    chopin_json *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    json_writer_init(j, &j->own, NULL);
    return j;
}

char *chopin_json_take(chopin_json *j, size_t *len_out) {
    if (j->failed || j->depth != 0 || j->after_key || !j->has_value || !put(j, "", 1)) return NULL;
    char *text = j->own.data;
    if (len_out) *len_out = j->own.len - 1;
    j->own.data = NULL;
    j->own.len = j->own.cap = 0;
    return text;
}

const char *chopin_json_text(chopin_json *j, size_t *len_out) {
    if (j->failed || j->depth != 0 || j->after_key || !j->has_value || !put(j, "", 1)) return NULL;
    j->own.len--; /* the NUL stays after the text but is not part of it */
    if (len_out) *len_out = j->own.len;
    return j->own.data;
}

void chopin_json_reset(chopin_json *j) {
    j->own.len = 0;
    json_writer_init(j, &j->own, NULL);
}

void chopin_json_free(chopin_json *j) {
    if (!j) return;
    buf_release(NULL, &j->own);
    free(j);
}
