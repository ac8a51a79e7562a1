/* fuzz_http1.c - libFuzzer target for the HTTP/1 head parser and the chunked
 * decoder.
 *
 * Input: one selector byte, then the bytes of a connection. The bytes are
 * parsed whole, then again in two pieces, the first ending at a point the
 * selector picks (selector 0: one byte at a time instead), carrying the scan
 * state as the engine does. However the bytes arrive the answer must be the
 * same; a difference, a result outside the contract or a view outside the
 * head aborts. When the head announces a chunked body, the rest is decoded
 * the same two ways and must give the same result and the same body.
 *
 * Every buffer is an exact-size heap copy, so AddressSanitizer sees a read
 * past the len handed over. */
#include "http1/http1.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

#define MAX_HEADERS 16
#define MAX_BODY    4096

/* Small limits, so that 414 and 431 are within a fuzzer's reach. */
static const http1_limits lim = {
    .max_request_line = 256, .max_header_bytes = 1024, .max_headers = MAX_HEADERS};

static char *copy(const char *p, size_t n) {
    char *b = malloc(n ? n : 1);
    CHECK(b);
    if (n) memcpy(b, p, n);
    return b;
}

static bool known_error(int rc) {
    return rc == -400 || rc == -414 || rc == -417 || rc == -431 || rc == -501 || rc == -505;
}

static bool view_in(chopin_str s, const char *buf, size_t len) {
    return s.ptr && s.ptr >= buf && s.len <= len && (size_t)(s.ptr - buf) <= len - s.len;
}

/* The head parsed: what it says is possible, and its views lie in it. */
static void check_head(const char *buf, int rc, const http1_request *r) {
    size_t n = (size_t)rc;
    CHECK(r->method < CHOPIN_METHOD_COUNT);
    CHECK(r->minor_version == 0 || r->minor_version == 1);
    CHECK(r->num_headers <= MAX_HEADERS);
    CHECK(r->content_length >= -1);
    CHECK(!(r->chunked && r->content_length >= 0));
    CHECK(!(r->chunked && r->minor_version == 0));
    CHECK(view_in(r->method_name, buf, n) && r->method_name.len > 0);
    CHECK(view_in(r->target, buf, n) && r->target.len > 0);
    /* Absolute-form without a path gets the literal "/". */
    CHECK(view_in(r->path, buf, n) || (r->path.len == 1 && r->path.ptr && r->path.ptr[0] == '/'));
    CHECK(!r->query.ptr || view_in(r->query, buf, n));
    for (size_t i = 0; i < r->num_headers; i++) {
        CHECK(view_in(r->headers[i].name, buf, n) && r->headers[i].name.len > 0);
        CHECK(view_in(r->headers[i].value, buf, n));
    }
}

static bool same_view(chopin_str a, const char *ba, chopin_str b, const char *bb) {
    if (a.len != b.len || !a.ptr != !b.ptr) return false;
    return !a.ptr || memcmp(a.ptr, b.ptr, a.len) == 0 || a.ptr - ba == b.ptr - bb;
}

static void check_same(const char *ba, const http1_request *a, const char *bb,
                       const http1_request *b) {
    CHECK(a->method == b->method);
    CHECK(a->minor_version == b->minor_version);
    CHECK(a->content_length == b->content_length);
    CHECK(a->chunked == b->chunked);
    CHECK(a->keep_alive == b->keep_alive);
    CHECK(a->expect_continue == b->expect_continue);
    CHECK(a->num_headers == b->num_headers);
    CHECK(same_view(a->method_name, ba, b->method_name, bb));
    CHECK(same_view(a->target, ba, b->target, bb));
    CHECK(same_view(a->path, ba, b->path, bb));
    CHECK(same_view(a->query, ba, b->query, bb));
    for (size_t i = 0; i < a->num_headers; i++) {
        CHECK(same_view(a->headers[i].name, ba, b->headers[i].name, bb));
        CHECK(same_view(a->headers[i].value, ba, b->headers[i].value, bb));
    }
}

/* The chunked body at in[0, n): whole, then in pieces. */
static void fuzz_chunked(const char *in, size_t n, unsigned sel) {
    char *whole = copy(in, n);
    http1_chunked ws = {0};
    int64_t rc = http1_decode_chunked(whole, n, &ws, MAX_BODY);
    CHECK(rc == 0 || rc == -400 || rc == -413 || (rc > 0 && (size_t)rc <= n));
    CHECK(ws.out <= MAX_BODY && ws.out <= ws.in && ws.in <= n);
    if (rc > 0) CHECK(ws.in == (size_t)rc && memcmp(whole + rc, in + rc, n - (size_t)rc) == 0);

    /* work is the buffer as the decoder leaves it between calls; each call
     * gets an exact-size copy of the first k bytes. */
    char *work = copy(in, n);
    http1_chunked ps = {0};
    int64_t r;
    size_t k = sel ? n * sel / 255 : (n > 0);
    for (;;) {
        char *buf = copy(work, k);
        r = http1_decode_chunked(buf, k, &ps, MAX_BODY);
        memcpy(work, buf, k);
        free(buf);
        if (r != 0 || k >= n) break;
        k = sel ? n : k + 1;
    }
    if (r != rc) {
        fprintf(stderr, "fuzz_http1: chunked: whole %lld, in pieces (selector %u) %lld\n",
                (long long)rc, sel, (long long)r);
        abort();
    }
    CHECK(ps.out == ws.out && ps.in == ws.in);
    CHECK(memcmp(work, whole, ws.out) == 0);
    free(work);
    free(whole);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned sel = data[0];
    const char *in = (const char *)data + 1;
    size_t n = size - 1;

    char *whole = copy(in, n);
    http1_header wh[MAX_HEADERS];
    http1_request wr = {.headers = wh};
    http1_scan wscan = {0};
    int rc = http1_parse_request(whole, n, &wscan, &lim, &wr);
    CHECK(rc == 0 || known_error(rc) || (rc > 0 && (size_t)rc <= n));
    if (rc > 0) check_head(whole, rc, &wr);

    /* The same bytes in pieces. */
    http1_header ph[MAX_HEADERS];
    http1_request pr = {.headers = ph};
    http1_scan pscan = {0};
    char *buf = NULL;
    int r;
    size_t k = sel ? n * sel / 255 : (n > 0);
    for (;;) {
        free(buf);
        buf = copy(in, k);
        r = http1_parse_request(buf, k, &pscan, &lim, &pr);
        if (r > 0) CHECK((size_t)r <= k);
        if (r != 0 || k >= n) break;
        k = sel ? n : k + 1;
    }
    if (r != rc) {
        fprintf(stderr, "fuzz_http1: whole %d, in pieces (selector %u) %d\n", rc, sel, r);
        abort();
    }
    if (rc > 0) check_same(whole, &wr, buf, &pr);
    free(buf);

    if (rc > 0 && wr.chunked) fuzz_chunked(in + rc, n - (size_t)rc, sel);
    free(whole);
    return 0;
}
