/* fuzz_url.c - libFuzzer target for percent-decoding (src/router/url.c) and
 * the query-string splitting built on it (ctx_parse_pairs, chopin_query and
 * chopin_param in src/app/ctx.c, linked as they are).
 *
 * Input: one flag byte, then the text. The text is decoded in both modes
 * into an exact-size heap buffer (url_decode's contract: the output holds
 * len bytes), so AddressSanitizer sees any write past it, and each result
 * must equal a model written from router.h and docs/routing.md: "%XX" with
 * two hex digits (either case) is the byte, any other '%' is kept as it is
 * (also one with fewer than two bytes after it), and '+' is a space in form
 * mode only (a "%2B" stays '+'). The decoded length is at most the input's.
 *
 * Round trips: the text encoded by a small encoder here (every byte but the
 * unreserved ones as %XX, hex case from flag bit 0; in form mode a space as
 * '+' when flag bit 1 is set, and '+' always as %2B), and encoded minimally
 * (only '%', and in form mode '+', escaped: the other bytes, high ones and
 * controls included, go through as they are), must decode back to the text.
 *
 * The text is then a query string: the first chopin_query on a context made
 * with ctx_init parses it with ctx_parse_pairs, which must give the model's pairs (split at '&',
 * empty pairs skipped, a pair split at its first '=', both sides decoded in form mode, a missing
 * '=' giving an empty value whose ptr is not NULL), undecoded ones as views
 * into the text and decoded ones NUL-terminated; chopin_query must return
 * the first pair of each name. As a path parameter (chopin_param) the text
 * must decode in path mode, and an absent parameter is {NULL, 0}. */
#include "app/ctx_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

static char *copy(const char *p, size_t n) {
    char *b = malloc(n ? n : 1);
    CHECK(b);
    if (n) memcpy(b, p, n);
    return b;
}

static int model_hex(char c) {
    static const char digits[] = "0123456789abcdef0123456789ABCDEF";
    const char *d = c ? strchr(digits, c) : NULL;
    return d ? (int)((d - digits) % 16) : -1;
}

/* The model decoder: returns the length written to out (room for n bytes). */
static size_t model_decode(char *out, const char *in, size_t n, bool form) {
    size_t o = 0, i = 0;
    while (i < n) {
        if (in[i] == '%' && n - i >= 3 && model_hex(in[i + 1]) >= 0 && model_hex(in[i + 2]) >= 0) {
            out[o++] = (char)(model_hex(in[i + 1]) * 16 + model_hex(in[i + 2]));
            i += 3;
        } else if (form && in[i] == '+') {
            out[o++] = ' ';
            i++;
        } else {
            out[o++] = in[i++];
        }
    }
    return o;
}

static bool same(const char *a, size_t an, const char *b, size_t bn) {
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* Decodes with url_decode into an exact-size buffer and checks it against the
 * model. Returns the decoded bytes (malloc'd) and their length. */
static char *decode_checked(const char *in, size_t n, bool form, size_t *out_len) {
    char *src = copy(in, n);
    char *out = malloc(n ? n : 1);
    CHECK(out);
    size_t len = url_decode(out, src, n, form);
    CHECK(len <= n);
    char *want = malloc(n ? n : 1);
    CHECK(want);
    size_t want_len = model_decode(want, src, n, form);
    if (!same(out, len, want, want_len)) {
        fprintf(stderr, "fuzz_url: url_decode(form=%d) of '%.*s' gave '%.*s', the model '%.*s'\n",
                form, (int)n, src, (int)len, out, (int)want_len, want);
        abort();
    }
    if (!memchr(src, '%', n) && !(form && memchr(src, '+', n))) CHECK(same(out, len, src, n));
    free(want);
    free(src);
    *out_len = len;
    return out;
}

static bool unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* full: every byte but the unreserved ones escaped; else only '%' (and '+' in
 * form mode). out holds 3 * n bytes. */
static size_t encode(char *out, const char *in, size_t n, bool form, bool full, bool upper,
                     bool plus_space) {
    const char *hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (form && plus_space && c == ' ') {
            out[o++] = '+';
        } else if (full ? !unreserved(c) : c == '%' || (form && c == '+')) {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    return o;
}

static void round_trip(const char *text, size_t n, bool form, bool full, unsigned flags) {
    char *enc = malloc(3 * n + 1);
    CHECK(enc);
    size_t elen = encode(enc, text, n, form, full, flags & 1, flags & 2);
    size_t dlen;
    char *dec = decode_checked(enc, elen, form, &dlen);
    if (!same(dec, dlen, text, n)) {
        fprintf(stderr, "fuzz_url: '%.*s' encoded (form=%d full=%d) as '%.*s' decodes to '%.*s'\n",
                (int)n, text, form, full, (int)elen, enc, (int)dlen, dec);
        abort();
    }
    free(dec);
    free(enc);
}

/* One side of a pair as ctx_parse_pairs must give it. */
static void check_side(chopin_str got, const char *raw, size_t raw_len, const char *text,
                       size_t text_len) {
    CHECK(got.ptr);
    size_t want_len;
    char *want = decode_checked(raw, raw_len, true, &want_len);
    CHECK(same(got.ptr, got.len, want, want_len));
    if (!memchr(raw, '%', raw_len) && !memchr(raw, '+', raw_len)) {
        if (raw_len) CHECK(got.ptr == raw); /* a view, not a copy */
    } else {
        CHECK(got.ptr[got.len] == '\0');
        CHECK(!(got.ptr >= text && got.ptr < text + text_len)); /* a copy */
    }
    free(want);
}

static void check_query(const char *in, size_t n) {
    char *text = copy(in, n);
    chopin_arena arena;
    arena_init(&arena);
    chopin_ctx *c = calloc(1, sizeof *c);
    CHECK(c);
    ctx_init(c, &arena, NULL, NULL);
    http1_request req = {.query = {text, n}};
    c->req = &req;

    /* The first chopin_query parses the query (ctx_parse_pairs) into c. */
    chopin_str by_empty = chopin_query(c, "");
    CHECK(c->query_parsed);
    query_param *pairs = c->query;
    size_t num = c->num_query;
    CHECK(num == 0 || pairs);

    /* The model's split. */
    size_t k = 0;
    for (const char *p = text, *end = text + n; p < end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if (stop > p) {
            CHECK(k < num);
            const char *eq = memchr(p, '=', (size_t)(stop - p));
            const char *name_end = eq ? eq : stop;
            check_side(pairs[k].name, p, (size_t)(name_end - p), text, n);
            if (eq) {
                check_side(pairs[k].value, eq + 1, (size_t)(stop - eq - 1), text, n);
            } else {
                CHECK(pairs[k].value.ptr && pairs[k].value.len == 0);
            }
            k++;
        }
        p = stop + 1;
    }
    CHECK(k == num);

    /* chopin_query: the first pair of each name; the names here hold no NUL. */
    for (size_t i = 0; i < num; i++) {
        chopin_str name = pairs[i].name;
        if (memchr(name.ptr, '\0', name.len)) continue;
        char *z = strndup(name.ptr, name.len);
        CHECK(z);
        size_t first = i;
        for (size_t j = 0; j < i; j++)
            if (same(pairs[j].name.ptr, pairs[j].name.len, name.ptr, name.len)) {
                first = j;
                break;
            }
        chopin_str v = chopin_query(c, z);
        CHECK(v.ptr == pairs[first].value.ptr && v.len == pairs[first].value.len);
        free(z);
    }
    const query_param *first_empty = NULL; /* what chopin_query(c, "") must have found */
    for (size_t i = 0; i < num && !first_empty; i++)
        if (pairs[i].name.len == 0) first_empty = &pairs[i];
    if (first_empty)
        CHECK(by_empty.ptr == first_empty->value.ptr && by_empty.len == first_empty->value.len);
    else
        CHECK(by_empty.ptr == NULL && by_empty.len == 0);

    /* The text as a path parameter: path mode, '+' stays. */
    c->match.num_params = 1;
    c->match.params[0].name = CHOPIN_STR("p");
    c->match.params[0].raw = (chopin_str){text, n};
    chopin_str pv = chopin_param(c, "p");
    size_t want_len;
    char *want = decode_checked(text, n, false, &want_len);
    CHECK(pv.ptr && same(pv.ptr, pv.len, want, want_len));
    if (!memchr(text, '%', n)) CHECK(pv.ptr == text);
    free(want);
    chopin_str absent = chopin_param(c, "q");
    CHECK(!absent.ptr && !absent.len);

    free(c);
    arena_destroy(&arena);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned flags = data[0];
    const char *text = (const char *)data + 1;
    size_t n = size - 1;

    for (int form = 0; form <= 1; form++) {
        size_t len;
        free(decode_checked(text, n, form, &len));
        round_trip(text, n, form, true, flags);
        round_trip(text, n, form, false, flags);
    }
    check_query(text, n);
    return 0;
}
