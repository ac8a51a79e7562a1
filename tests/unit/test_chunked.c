/* test_chunked.c - table tests for http1_decode_chunked.
 *
 * Every case is decoded three ways: the whole body at once; one byte at a
 * time (a fresh buffer, len growing by one, the state kept); and one byte at
 * a time with the engine's squeeze between calls (the decoded bytes and the
 * undecoded rest are brought together, in = out). The answers must agree, and
 * after every call the decoded prefix buf[0, out) must be a prefix of the
 * expected body. Bytes past len are poisoned under AddressSanitizer, and bytes
 * after the end of the encoding (a pipelined request) must come out intact. */
#include <criterion/criterion.h>

#include "core/core.h"
#include "http1/http1.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef CHOPIN_UNDER_ASAN /* core/core.h */
#define HAVE_ASAN 1
#endif
#ifdef HAVE_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define DEFAULT_MAX_BODY ((size_t)1 << 20)
#define DONE             INT64_MAX /* want: the encoding is len - trail bytes */

typedef struct {
    const char *name;
    const char *raw;
    size_t len;
    int64_t want; /* DONE, 0 (incomplete) or -status */
    size_t trail; /* bytes after the encoding */
    const char *body;
    size_t body_len; /* decoded body (or decoded so far when incomplete); NULL: unchecked */
    size_t max_body; /* 0: DEFAULT_MAX_BODY */
} ccase;

#define RAW(s)  .raw = (s), .len = sizeof(s) - 1
#define BODY(s) .body = (s), .body_len = sizeof(s) - 1

/* A request pipelined after a chunked body. */
#define NEXT "GET / HTTP/1.1\r\nHost: x\r\n\r\n"

static void expect_prefix(const char *name, const char *how, size_t k, const char *buf, size_t out,
                          const char *body, size_t body_len) {
    if (!body) return;
    cr_expect(out <= body_len && memcmp(buf, body, out) == 0,
              "%s: %s: at len %zu the decoded %zu bytes are not a prefix of the body", name, how, k,
              out);
}

/* Decodes raw whole and byte by byte (squeezing or not); returns the whole
 * result and leaves the whole-buffer state in *st_out. */
static int64_t decode_checked(const char *name, const char *raw, size_t len, size_t max_body,
                              int64_t want, const char *body, size_t body_len,
                              http1_chunked *st_out) {
    char *buf = malloc(len ? len : 1);
    cr_assert(buf);
    memcpy(buf, raw, len);
    http1_chunked st = {0};
    int64_t rc = http1_decode_chunked(buf, len, &st, max_body);
    cr_expect_eq(rc, want, "%s: whole: got %lld, want %lld", name, (long long)rc, (long long)want);
    if (body && want >= 0) {
        cr_expect_eq(st.out, body_len, "%s: whole: decoded %zu bytes, want %zu", name, st.out,
                     body_len);
        expect_prefix(name, "whole", len, buf, st.out, body, body_len);
    }
    if (rc > 0)
        cr_expect(memcmp(buf + rc, raw + rc, len - (size_t)rc) == 0,
                  "%s: whole: bytes after the encoding were changed", name);
    *st_out = st;

    for (int squeeze = 0; squeeze <= 1; squeeze++) {
        const char *how = squeeze ? "byte by byte, squeezed" : "byte by byte";
        memcpy(buf, raw, len);
        POISON(buf, len);
        http1_chunked bs = {0};
        int64_t first = 0;
        size_t first_at = 0, have = 0;
        for (size_t k = 1; k <= len; k++) {
            /* The k-th byte arrives: squeezed, it lands right after what is kept. */
            UNPOISON(buf, have + 1);
            if (squeeze) buf[have] = raw[k - 1];
            have++;
            int64_t r = http1_decode_chunked(buf, have, &bs, max_body);
            if (r > 0) {
                /* Done exactly with the encoding's last byte; squeezed, the
                 * count is of the compacted buffer, all of it. */
                cr_expect_eq((int64_t)k, want, "%s: %s: %lld at len %zu, want %lld", name, how,
                             (long long)r, k, (long long)want);
                cr_expect_eq(r, (int64_t)have, "%s: %s: %lld, %zu bytes held", name, how,
                             (long long)r, have);
                first = r;
                first_at = k;
                break;
            }
            if (r == 0) {
                expect_prefix(name, how, k, buf, bs.out, body, body_len);
                if (squeeze && bs.in > bs.out) {
                    memmove(buf + bs.out, buf + bs.in, have - bs.in);
                    have -= bs.in - bs.out;
                    bs.in = bs.out;
                    POISON(buf + have, len - have);
                }
            }
            if (first) {
                cr_expect_eq(r, first, "%s: %s: %lld at len %zu after %lld at len %zu", name, how,
                             (long long)r, k, (long long)first, first_at);
            } else if (r < 0) {
                first = r;
                first_at = k;
                cr_expect_eq(r, want, "%s: %s: %lld at len %zu, want %lld", name, how, (long long)r,
                             k, (long long)want);
            }
        }
        UNPOISON(buf, len);
        if (rc > 0 && first > 0) {
            cr_expect_eq(bs.out, st.out, "%s: %s: decoded %zu bytes, whole %zu", name, how, bs.out,
                         st.out);
            expect_prefix(name, how, len, buf, bs.out, body, body_len);
        } else {
            cr_expect_eq(first, rc, "%s: %s: ended with %lld, whole %lld", name, how,
                         (long long)first, (long long)rc);
            if (rc == 0 && body)
                cr_expect_eq(bs.out, body_len, "%s: %s: decoded %zu, want %zu", name, how, bs.out,
                             body_len);
        }
    }
    free(buf);
    return rc;
}

static void check_case(const ccase *c) {
    int64_t want = c->want == DONE ? (int64_t)(c->len - c->trail) : c->want;
    http1_chunked st;
    decode_checked(c->name, c->raw, c->len, c->max_body ? c->max_body : DEFAULT_MAX_BODY, want,
                   c->body, c->body_len, &st);
}

static void run_table(const ccase *cases, size_t n) {
    for (size_t i = 0; i < n; i++) check_case(&cases[i]);
}

#define RUN(table) run_table(table, sizeof table / sizeof table[0])

static const ccase valid[] = {
    {"single", RAW("5\r\nhello\r\n0\r\n\r\n"), DONE, BODY("hello")},
    {"many", RAW("1\r\na\r\n2\r\nbc\r\n3\r\ndef\r\n4\r\nghij\r\n0\r\n\r\n"), DONE,
     BODY("abcdefghij")},
    {"empty body", RAW("0\r\n\r\n"), DONE, BODY("")},
    {"uppercase hex", RAW("A\r\n0123456789\r\n0\r\n\r\n"), DONE, BODY("0123456789")},
    {"mixed case hex",
     RAW("1F\r\nabcdefghijklmnopqrstuvwxyz01234\r\n1f\r\nABCDEFGHIJKLMNOPQRSTUVWXYZ01234\r\n0\r\n"
         "\r\n"),
     DONE, BODY("abcdefghijklmnopqrstuvwxyz01234ABCDEFGHIJKLMNOPQRSTUVWXYZ01234")},
    {"binary data", RAW("6\r\n\r\n\000\n\r\377\r\n0\r\n\r\n"), DONE, BODY("\r\n\000\n\r\377")},
    {"ext with value", RAW("5;name=value\r\nhello\r\n0\r\n\r\n"), DONE, BODY("hello")},
    {"ext without value", RAW("5;foo\r\nhello\r\n0;bar\r\n\r\n"), DONE, BODY("hello")},
    {"ext quoted", RAW("5;a=\"x y\\\"z\"\r\nhello\r\n0\r\n\r\n"), DONE, BODY("hello")},
    {"ext several", RAW("5;a=1;b=2 ; c\r\nhello\r\n0\r\n\r\n"), DONE, BODY("hello")},
    {"ext obs-text", RAW("5;a=\xc3\xa9\x80\r\nhello\r\n0\r\n\r\n"), DONE, BODY("hello")},
    {"ext tab", RAW("5;a=\tb\r\nhello\r\n0\r\n\r\n"), DONE, BODY("hello")},
    {"bws before ;", RAW("5 ;x=1\r\nhello\r\n0\t;y\r\n\r\n"), DONE, BODY("hello")},
    {"much bws before ;", RAW("5 \t \t;x\r\nhello\r\n0\r\n\r\n"), DONE, BODY("hello")},
    {"trailers", RAW("5\r\nhello\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n"), DONE, BODY("hello")},
    {"trailer obs-text and tab", RAW("5\r\nhello\r\n0\r\nX-T: a\tb\xff\r\n\r\n"), DONE,
     BODY("hello")},
    {"trailer after ext", RAW("0;e\r\nX: 1\r\n\r\n"), DONE, BODY("")},
    {"leading zeros", RAW("0005\r\nhello\r\n000\r\n\r\n"), DONE, BODY("hello")},
    {"16 digits", RAW("0000000000000005\r\nhello\r\n0000000000000000\r\n\r\n"), DONE,
     BODY("hello")},
    {"at max_body", RAW("5\r\nhello\r\n0\r\n\r\n"), DONE, BODY("hello"), .max_body = 5},
    {"cumulative at max_body", RAW("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"), DONE, BODY("abcde"),
     .max_body = 5},
    {"pipelined request after", RAW("5\r\nhello\r\n0\r\n\r\n" NEXT), DONE, .trail = sizeof NEXT - 1,
     BODY("hello")},
    {"pipelined after trailers", RAW("3\r\nabc\r\n0\r\nT: 1\r\n\r\n" NEXT), DONE,
     .trail = sizeof NEXT - 1, BODY("abc")},
    {"next starts with crlf", RAW("1\r\nz\r\n0\r\n\r\n\r\n0\r\n\r\n"), DONE, .trail = 7, BODY("z")},
};

Test(chunked, valid) {
    RUN(valid);
}

static const ccase invalid[] = {
    {"no digits", RAW("\r\nhello\r\n0\r\n\r\n"), -400},
    {"ext without size", RAW(";a\r\nhello\r\n0\r\n\r\n"), -400},
    {"space first", RAW(" 5\r\nhello\r\n0\r\n\r\n"), -400},
    {"not hex", RAW("g\r\n"), -400},
    {"0x prefix", RAW("0x5\r\nhello\r\n0\r\n\r\n"), -400},
    {"minus", RAW("-1\r\n"), -400},
    {"17 digits", RAW("00000000000000005\r\nhello\r\n0\r\n\r\n"), -400},
    {"size overflow", RAW("10000000000000000\r\n"), -400},
    {"size overflow Fs", RAW("FFFFFFFFFFFFFFFFF\r\n"), -400},
    {"space without ;", RAW("1 \r\na\r\n0\r\n\r\n"), -400},
    {"tab without ;", RAW("1\t\r\na\r\n0\r\n\r\n"), -400},
    {"space then junk", RAW("1 x\r\na\r\n0\r\n\r\n"), -400},
    {"lf without cr after size", RAW("1\na\r\n0\r\n\r\n"), -400},
    {"cr without lf after size", RAW("1\rXa\r\n0\r\n\r\n"), -400},
    {"cr cr after size", RAW("1\r\r\na\r\n0\r\n\r\n"), -400},
    {"lf without cr after ext", RAW("1;a\na\r\n0\r\n\r\n"), -400},
    {"missing crlf after data", RAW("1\r\nab\r\n0\r\n\r\n"), -400, BODY("a")},
    {"lf without cr after data", RAW("1\r\na\n0\r\n\r\n"), -400, BODY("a")},
    {"cr without lf after data", RAW("1\r\na\rX0\r\n\r\n"), -400, BODY("a")},
    {"data longer than size", RAW("3\r\nabcd\r\n0\r\n\r\n"), -400, BODY("abc")},
    {"ctl in ext", RAW("1;a\001b\r\na\r\n0\r\n\r\n"), -400},
    {"nul in ext", RAW("1;a\000\r\na\r\n0\r\n\r\n"), -400},
    {"del in ext", RAW("1;a\177\r\na\r\n0\r\n\r\n"), -400},
    {"lf in ext", RAW("1;a\nb\r\na\r\n0\r\n\r\n"), -400},
    {"trailer starts with space", RAW("0\r\n X: 1\r\n\r\n"), -400},
    {"trailer starts with tab", RAW("0\r\n\tX: 1\r\n\r\n"), -400},
    {"trailer obs-fold", RAW("0\r\nX: 1\r\n 2\r\n\r\n"), -400},
    {"trailer empty name", RAW("0\r\n: 1\r\n\r\n"), -400},
    {"ctl in trailer", RAW("0\r\nX: a\001\r\n\r\n"), -400},
    {"del in trailer", RAW("0\r\nX: a\177\r\n\r\n"), -400},
    {"lf without cr in trailer", RAW("0\r\nX: a\n\r\n"), -400},
    {"cr without lf in trailer", RAW("0\r\nX: a\rb\r\n\r\n"), -400},
    {"final lf without cr", RAW("5\r\nhello\r\n0\r\n\n"), -400, BODY("hello")},
    {"final cr without lf", RAW("5\r\nhello\r\n0\r\n\rX"), -400, BODY("hello")},
    {"chunk over max_body", RAW("5\r\nhello\r\n0\r\n\r\n"), -413, .max_body = 4},
    {"cumulative over max_body", RAW("5\r\nhello\r\n2\r\nab\r\n0\r\n\r\n"), -413, BODY("hello"),
     .max_body = 6},
    {"16 Fs over max_body", RAW("FFFFFFFFFFFFFFFF\r\n"), -413},
    {"huge size with ext", RAW("7FFFFFFFFFFFFFFF;x\r\n"), -413},
};

Test(chunked, invalid) {
    RUN(invalid);
}

static const ccase incomplete[] = {
    {"nothing", RAW(""), 0, BODY("")},
    {"size only", RAW("5"), 0, BODY("")},
    {"size cr", RAW("5\r"), 0, BODY("")},
    {"size line", RAW("5\r\n"), 0, BODY("")},
    {"part of the data", RAW("5\r\nhel"), 0, BODY("hel")},
    {"data no crlf", RAW("5\r\nhello"), 0, BODY("hello")},
    {"in the ext", RAW("5;name=va"), 0, BODY("")},
    {"last chunk", RAW("5\r\nhello\r\n0\r\n"), 0, BODY("hello")},
    {"last cr", RAW("5\r\nhello\r\n0\r\n\r"), 0, BODY("hello")},
    {"in a trailer", RAW("5\r\nhello\r\n0\r\nX-T: 1\r\n"), 0, BODY("hello")},
    {"16 Fs, no end yet", RAW("FFFFFFFFFFFFFFFF"), 0, BODY("")},
};

Test(chunked, incomplete) {
    RUN(incomplete);
}

Test(chunked, table_size) {
    size_t n = sizeof valid / sizeof valid[0] + sizeof invalid / sizeof invalid[0] +
               sizeof incomplete / sizeof incomplete[0];
    cr_log_info("chunked: %zu table cases", n);
    cr_expect_geq(n, 60);
}

/* ---- generated -------------------------------------------------------- */

/* Extension and trailer lines are bounded (a few KiB). */
Test(chunked, long_lines) {
    size_t n = 9000;
    char *raw = malloc(n + 64);
    cr_assert(raw);
    http1_chunked st;

    size_t len = (size_t)sprintf(raw, "1;");
    memset(raw + len, 'e', 1000);
    len += 1000;
    len += (size_t)sprintf(raw + len, "\r\na\r\n0\r\n\r\n");
    decode_checked("ext of 1000", raw, len, DEFAULT_MAX_BODY, (int64_t)len, "a", 1, &st);

    len = (size_t)sprintf(raw, "1;");
    memset(raw + len, 'e', n);
    len += n;
    len += (size_t)sprintf(raw + len, "\r\na\r\n0\r\n\r\n");
    decode_checked("ext of 9000", raw, len, DEFAULT_MAX_BODY, -400, NULL, 0, &st);

    len = (size_t)sprintf(raw, "0\r\nX: ");
    memset(raw + len, 't', n);
    len += n;
    len += (size_t)sprintf(raw + len, "\r\n\r\n");
    decode_checked("trailer of 9000", raw, len, DEFAULT_MAX_BODY, -400, NULL, 0, &st);
    free(raw);
}

/* Many chunks of many sizes; the body is every byte value. */
Test(chunked, many_chunks) {
    size_t cap = 64 * 1024;
    char *raw = malloc(cap), *body = malloc(cap);
    cr_assert(raw && body);
    size_t len = 0, blen = 0;
    for (size_t size = 1; size <= 300; size += 7) {
        if (size % 2)
            len += (size_t)snprintf(raw + len, cap - len, "%zx\r\n", size);
        else
            len += (size_t)snprintf(raw + len, cap - len, "%zX;i=%zu\r\n", size, size);
        for (size_t i = 0; i < size; i++) {
            char b = (char)((blen + i) * 7 % 256);
            raw[len + i] = b;
            body[blen + i] = b;
        }
        len += size;
        blen += size;
        len += (size_t)snprintf(raw + len, cap - len, "\r\n");
    }
    len += (size_t)snprintf(raw + len, cap - len, "0\r\nDone: yes\r\n\r\n");
    http1_chunked st;
    int64_t rc =
        decode_checked("many chunks", raw, len, DEFAULT_MAX_BODY, (int64_t)len, body, blen, &st);
    cr_expect_eq(rc, (int64_t)len);
    cr_expect_eq(st.out, blen);
    /* One byte less than the body: 413 at the size line that passes it. */
    decode_checked("many chunks, max_body short by one", raw, len, blen - 1, -413, body, blen, &st);
    free(raw);
    free(body);
}

/* A body of 1 MiB in one chunk, fed in two pieces at many split points. */
Test(chunked, big_chunk_split) {
    size_t size = (size_t)1 << 20;
    char *raw = malloc(size + 64), *buf = malloc(size + 64);
    cr_assert(raw && buf);
    size_t len = (size_t)sprintf(raw, "%zx\r\n", size);
    size_t data_at = len;
    for (size_t i = 0; i < size; i++) raw[len + i] = (char)(i * 31 + 7);
    len += size;
    len += (size_t)sprintf(raw + len, "\r\n0\r\n\r\n");
    for (size_t split = 0; split <= len; split += len / 37 + 1) {
        memcpy(buf, raw, len);
        http1_chunked st = {0};
        int64_t r1 = http1_decode_chunked(buf, split, &st, size);
        cr_expect_eq(r1, split == len ? (int64_t)len : 0, "split %zu: first piece %lld", split,
                     (long long)r1);
        int64_t r2 = split == len ? r1 : http1_decode_chunked(buf, len, &st, size);
        cr_expect_eq(r2, (int64_t)len, "split %zu: %lld", split, (long long)r2);
        cr_expect_eq(st.out, size);
        cr_expect(memcmp(buf, raw + data_at, size) == 0, "split %zu: body differs", split);
    }
    http1_chunked st = {0};
    memcpy(buf, raw, len);
    cr_expect_eq(http1_decode_chunked(buf, len, &st, size - 1), -413);
    free(raw);
    free(buf);
}
