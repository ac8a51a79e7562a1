/* fuzz_multipart.c - libFuzzer target for the multipart/form-data parser.
 *
 * Input: a selector byte, a mode byte, then the body. The body is parsed
 * whole, then again in two pieces, the first ending at a point the selector
 * picks (selector 0: one byte at a time instead); bodies up to 512 bytes are
 * also fed one byte at a time. Every way must give the same result and the
 * same callbacks: the same parts with the same name, filename and type, and
 * the concatenation of each part's part_data the same bytes. A difference, a
 * result outside the contract or a callback out of order aborts.
 *
 * Mode bit 0: the boundary is "AaB03x" (0), or the body's first line is a
 *   Content-Type value and its boundary parameter is used (1); the first
 *   line is then not part of the body.
 * Mode bits 1-2: 1 stops at a part_begin, 2 at a part_end (the n-th, n from
 *   bits 3-5, plus one); never in part_data, where how much came first
 *   depends on the pieces.
 * The limits are small, so that too many parts and too large headers are
 * within reach. Every buffer handed over is an exact-size heap copy, so
 * AddressSanitizer sees a read past its end. */
#include "upload/multipart.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

static const multipart_limits lim = {.max_header_bytes = 256, .max_parts = 16};

/* A growable byte string. */
typedef struct {
    char *p;
    size_t len, cap;
} bytes;

static void put(bytes *b, const void *data, size_t n) {
    if (b->cap - b->len < n) {
        size_t cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, cap);
        CHECK(b->p);
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void put_str(bytes *b, const char *s) {
    put(b, s, strlen(s) + 1);
}

/* The callbacks, written down in a form that does not depend on how the
 * data was cut: each part's data is written whole when the part ends. */
typedef struct {
    bytes log;
    bytes data; /* the open part's data so far */
    size_t data_total;
    bool open;
    int stop_kind; /* 0: never; 1: at a part_begin; 2: at a part_end */
    int stop_at;   /* the n-th of them (1-based) */
    int begins, ends;
} recorder;

static void flush_data(recorder *r) {
    uint64_t n = r->data.len;
    put(&r->log, "D", 1);
    put(&r->log, &n, sizeof n);
    put(&r->log, r->data.p, r->data.len);
    r->data.len = 0;
}

static int on_begin(void *arg, const multipart_part *part) {
    recorder *r = arg;
    CHECK(!r->open);
    CHECK(part->name && part->content_type);
    put(&r->log, "B", 1);
    put_str(&r->log, part->name);
    if (part->filename) {
        put(&r->log, "F", 1);
        put_str(&r->log, part->filename);
    } else {
        put(&r->log, "-", 1);
    }
    put_str(&r->log, part->content_type);
    r->open = true;
    return r->stop_kind == 1 && ++r->begins == r->stop_at ? -1 : 0;
}

static int on_data(void *arg, const char *data, size_t len) {
    recorder *r = arg;
    CHECK(r->open);
    CHECK(len > 0);
    put(&r->data, data, len);
    r->data_total += len;
    return 0;
}

static int on_end(void *arg) {
    recorder *r = arg;
    CHECK(r->open);
    flush_data(r);
    put(&r->log, "E", 1);
    r->open = false;
    return r->stop_kind == 2 && ++r->ends == r->stop_at ? -1 : 0;
}

static bool known_result(int rc) {
    return rc == MULTIPART_DONE || rc == MULTIPART_BAD || rc == MULTIPART_TOO_MANY_PARTS ||
           rc == MULTIPART_HEADERS_TOO_LARGE || rc == MULTIPART_STOPPED || rc == MULTIPART_NOMEM;
}

/* Parses body with the first piece `first` bytes long and the rest in
 * pieces of `step` (0: at once). Returns the final result; r holds the log. */
static int parse(const char *boundary, const char *body, size_t n, size_t first, size_t step,
                 int stop_kind, int stop_at, recorder *r) {
    *r = (recorder){.stop_kind = stop_kind, .stop_at = stop_at};
    multipart_callbacks cb = {.part_begin = on_begin, .part_data = on_data, .part_end = on_end};
    multipart_parser *p = multipart_new(boundary, &lim, &cb, r);
    CHECK(p);
    int result = MULTIPART_MORE;
    size_t at = 0, piece = first;
    for (;;) {
        if (piece > n - at) piece = n - at;
        char *buf = malloc(piece ? piece : 1);
        CHECK(buf);
        if (piece) memcpy(buf, body + at, piece);
        int rc = multipart_feed(p, buf, piece);
        free(buf);
        CHECK(rc == MULTIPART_MORE || known_result(rc));
        if (result != MULTIPART_MORE)
            CHECK(rc == result); /* sticky */
        else
            result = rc;
        at += piece;
        if (at >= n) break;
        piece = step ? step : n - at;
    }
    int fin = multipart_finish(p);
    CHECK(known_result(fin));
    CHECK(result == MULTIPART_MORE ? fin == MULTIPART_BAD : fin == result);
    CHECK(multipart_feed(p, "\r\n", 2) == fin);
    multipart_free(p);
    if (r->open) flush_data(r); /* what an unfinished part got */
    CHECK(r->data_total <= n);
    CHECK(!(fin == MULTIPART_DONE && r->open));
    return fin;
}

static void same(const char *how, int wrc, const recorder *w, int rc, const recorder *r) {
    if (rc != wrc) {
        fprintf(stderr, "fuzz_multipart: whole %d, %s %d\n", wrc, how, rc);
        abort();
    }
    if (r->log.len != w->log.len || (w->log.len && memcmp(r->log.p, w->log.p, w->log.len))) {
        fprintf(stderr, "fuzz_multipart: %s: the callbacks differ from the whole body's\n", how);
        abort();
    }
}

static void recorder_free(recorder *r) {
    free(r->log.p);
    free(r->data.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    unsigned sel = data[0], mode = data[1];
    const char *body = (const char *)data + 2;
    size_t n = size - 2;

    char boundary[80] = "AaB03x";
    if (mode & 1) {
        const char *nl = memchr(body, '\n', n);
        size_t line = nl ? (size_t)(nl - body) : n;
        char *ct = malloc(line ? line : 1); /* exact size, as for the body */
        CHECK(ct);
        if (line) memcpy(ct, body, line);
        int rc = multipart_boundary(ct, line, boundary, sizeof boundary);
        free(ct);
        CHECK(rc == 0 || rc == -1);
        if (rc < 0) return 0;
        size_t blen = strlen(boundary);
        CHECK(blen >= 1 && blen <= 70 && boundary[blen - 1] != ' ');
        body += nl ? line + 1 : line;
        n -= nl ? line + 1 : line;
    }
    int stop_kind = (mode >> 1) & 3;
    if (stop_kind == 3) stop_kind = 0;
    int stop_at = (int)((mode >> 3) & 7) + 1;

    recorder whole, piece;
    int wrc = parse(boundary, body, n, n, 0, stop_kind, stop_at, &whole);
    size_t k = sel ? n * sel / 255 : 1;
    int rc = parse(boundary, body, n, k, sel ? 0 : 1, stop_kind, stop_at, &piece);
    same(sel ? "in two pieces" : "byte by byte", wrc, &whole, rc, &piece);
    recorder_free(&piece);
    if (sel && n <= 512) {
        rc = parse(boundary, body, n, 1, 1, stop_kind, stop_at, &piece);
        same("byte by byte", wrc, &whole, rc, &piece);
        recorder_free(&piece);
    }
    recorder_free(&whole);
    return 0;
}
