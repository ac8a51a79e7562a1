/* test_multipart.c - table tests for the multipart/form-data parser.
 *
 * Every body is fed whole, split in two at every position, and one byte at a
 * time; each piece is an exact-size heap copy, so AddressSanitizer catches a
 * read past what was handed over. Each way must give the same result and, for
 * well-formed bodies, exactly the expected parts: the callbacks are recorded
 * (in order, data concatenated) and compared with the table. For malformed
 * bodies the result must be the expected code however the body is cut, and
 * the callbacks made before the error must be the same as for the whole body.
 *
 * The memory test streams a 200 MiB part in 64 KiB pieces and measures the
 * parser's live heap bytes: under AddressSanitizer or ThreadSanitizer with
 * their malloc/free hooks, otherwise with malloc/realloc/calloc/free replaced in this executable by
 * wrappers around glibc's own (as test_alloc.c does). */
#include <criterion/criterion.h>

#include "core/core.h"
#include "upload/multipart.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Allocation accounting: live and peak bytes while `counting`. */

static volatile int counting;
static volatile int failing; /* allocations fail (not under a sanitizer) */
static long long live_bytes, peak_bytes;
static long allocations;

static void note_alloc(size_t n) {
    allocations++;
    live_bytes += (long long)n;
    if (live_bytes > peak_bytes) peak_bytes = live_bytes;
}

static void note_free(size_t n) {
    live_bytes -= (long long)n;
}

/* Both sanitizers own malloc (it cannot be replaced here) and both call
 * the hooks of sanitizer/allocator_interface.h. */
#if defined(CHOPIN_UNDER_ASAN) || defined(CHOPIN_UNDER_TSAN) /* core/core.h */
#if defined(__has_include) && __has_include(<sanitizer/allocator_interface.h>)
#include <sanitizer/allocator_interface.h>
#else /* gcc ships no such header; its libasan/libtsan have the functions all the same */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));
size_t __sanitizer_get_allocated_size(const volatile void *p);
#endif

static void on_malloc_hook(const volatile void *ptr, size_t size) {
    if (counting) note_alloc(size);
}

static void on_free_hook(const volatile void *ptr) {
    /* Called before the block is released, so its size is still known. */
    if (counting && ptr) note_free(__sanitizer_get_allocated_size((const void *)ptr));
}

static void accounting_init(void) {
    static bool installed;
    if (!installed) __sanitizer_install_malloc_and_free_hooks(on_malloc_hook, on_free_hook);
    installed = true;
}
#define CAN_FAIL_ALLOCATIONS 0
#else
#include <malloc.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

void *malloc(size_t n) {
    if (failing) return NULL;
    void *p = __libc_malloc(n);
    if (p && counting) note_alloc(malloc_usable_size(p));
    return p;
}

void *calloc(size_t a, size_t b) {
    if (failing) return NULL;
    void *p = __libc_calloc(a, b);
    if (p && counting) note_alloc(malloc_usable_size(p));
    return p;
}

void *realloc(void *p, size_t n) {
    if (failing) return NULL;
    size_t old = p && counting ? malloc_usable_size(p) : 0;
    void *q = __libc_realloc(p, n);
    if (q && counting) {
        note_free(old);
        note_alloc(malloc_usable_size(q));
    }
    return q;
}

void free(void *p) {
    if (p && counting) note_free(malloc_usable_size(p));
    __libc_free(p);
}

static void accounting_init(void) {}
#define CAN_FAIL_ALLOCATIONS 1
#endif

/* The recorder: what the callbacks saw. */

typedef struct {
    char *name, *filename, *type; /* filename NULL for a plain field */
    char *data;
    size_t len, cap;
    bool ended;
} rpart;

typedef struct {
    rpart *parts;
    size_t n, cap;
    bool open;      /* between part_begin and part_end */
    int misuse;     /* calls out of order, or data of length 0 */
    int stop_begin; /* stop at this part_begin (1-based); 0 never */
    int stop_data;  /* ... at this part_data */
    int stop_end;   /* ... at this part_end */
    int begins, datas, ends;
} recorder;

static char *dup_str(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    cr_assert(d);
    return memcpy(d, s, n);
}

static int on_begin(void *arg, const multipart_part *part) {
    recorder *r = arg;
    if (r->open || !part->name || !part->content_type) r->misuse++;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->parts = realloc(r->parts, r->cap * sizeof *r->parts);
        cr_assert(r->parts);
    }
    r->parts[r->n++] = (rpart){.name = dup_str(part->name),
                               .filename = dup_str(part->filename),
                               .type = dup_str(part->content_type)};
    r->open = true;
    return ++r->begins == r->stop_begin ? -1 : 0;
}

static int on_data(void *arg, const char *data, size_t len) {
    recorder *r = arg;
    if (!r->open || !len) {
        r->misuse++;
        return 0;
    }
    rpart *p = &r->parts[r->n - 1];
    if (p->cap - p->len < len) {
        p->cap = (p->len + len) * 2;
        p->data = realloc(p->data, p->cap);
        cr_assert(p->data);
    }
    memcpy(p->data + p->len, data, len);
    p->len += len;
    return ++r->datas == r->stop_data ? -1 : 0;
}

static int on_end(void *arg) {
    recorder *r = arg;
    if (!r->open) r->misuse++;
    if (r->n) r->parts[r->n - 1].ended = true;
    r->open = false;
    return ++r->ends == r->stop_end ? -1 : 0;
}

static void recorder_free(recorder *r) {
    for (size_t i = 0; i < r->n; i++) {
        free(r->parts[i].name);
        free(r->parts[i].filename);
        free(r->parts[i].type);
        free(r->parts[i].data);
    }
    free(r->parts);
    *r = (recorder){0};
}

static bool same_str(const char *a, const char *b) {
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Writes the first difference between got and want into diff. */
static bool same_parts(const recorder *got, const recorder *want, char *diff, size_t cap) {
    if (got->misuse) return snprintf(diff, cap, "%d callbacks out of order", got->misuse), false;
    if (got->n != want->n)
        return snprintf(diff, cap, "%zu parts, want %zu", got->n, want->n), false;
    for (size_t i = 0; i < got->n; i++) {
        const rpart *g = &got->parts[i], *w = &want->parts[i];
        if (!same_str(g->name, w->name))
            return snprintf(diff, cap, "part %zu: name \"%s\", want \"%s\"", i, g->name, w->name),
                   false;
        if (!same_str(g->filename, w->filename))
            return snprintf(diff, cap, "part %zu: filename \"%s\", want \"%s\"", i,
                            g->filename ? g->filename : "(null)",
                            w->filename ? w->filename : "(null)"),
                   false;
        if (!same_str(g->type, w->type))
            return snprintf(diff, cap, "part %zu: type \"%s\", want \"%s\"", i, g->type, w->type),
                   false;
        if (g->len != w->len || (g->len && memcmp(g->data, w->data, g->len)))
            return snprintf(diff, cap, "part %zu: data \"%.*s\" (%zu bytes), want \"%.*s\" (%zu)",
                            i, (int)(g->len < 200 ? g->len : 200), g->data ? g->data : "", g->len,
                            (int)(w->len < 200 ? w->len : 200), w->data ? w->data : "", w->len),
                   false;
        if (g->ended != w->ended)
            return snprintf(diff, cap, "part %zu: %s", i, g->ended ? "ended" : "not ended"), false;
    }
    return true;
}

/* Running the parser. */

typedef struct {
    const char *boundary; /* NULL: AaB03x */
    multipart_limits lim;
    int stop_begin, stop_data, stop_end;
} setup;

/* Feeds body[0, first), then pieces of step bytes (0: the rest at once), and
 * checks that a result other than MULTIPART_MORE sticks. Returns the result,
 * or finish's when every feed wanted more. */
static int run(const char *title, const char *how, const setup *s, const char *body, size_t len,
               size_t first, size_t step, recorder *rec) {
    *rec =
        (recorder){.stop_begin = s->stop_begin, .stop_data = s->stop_data, .stop_end = s->stop_end};
    multipart_callbacks cb = {.part_begin = on_begin, .part_data = on_data, .part_end = on_end};
    multipart_parser *p = multipart_new(s->boundary ? s->boundary : "AaB03x", &s->lim, &cb, rec);
    cr_assert(p, "%s: multipart_new failed", title);
    int got = MULTIPART_MORE;
    size_t at = 0, piece = first;
    for (;;) {
        if (piece > len - at) piece = len - at;
        char *buf = malloc(piece ? piece : 1);
        cr_assert(buf);
        memcpy(buf, body + at, piece);
        int rc = multipart_feed(p, buf, piece);
        free(buf);
        if (got != MULTIPART_MORE)
            cr_expect_eq(rc, got, "%s: %s: %d at %zu after %d: not sticky", title, how, rc, at,
                         got);
        else
            got = rc;
        at += piece;
        if (at >= len) break;
        piece = step ? step : len - at;
    }
    int fin = multipart_finish(p);
    if (got == MULTIPART_MORE)
        got = fin;
    else
        cr_expect_eq(fin, got, "%s: %s: finish %d after %d", title, how, fin, got);
    cr_expect_eq(multipart_feed(p, "\r\n--AaB03x\r\n", 12), got, "%s: %s: not sticky after finish",
                 title, how);
    multipart_free(p);
    return got;
}

/* Whole, split in two at every k, one byte at a time: calls check(k) with
 * first/step set; stops at the first way that fails. */
typedef struct {
    const char *title;
    const setup *s;
    const char *body;
    size_t len;
    int want;
    const recorder *want_parts; /* NULL: not compared */
} expectation;

static bool run_one_way(const expectation *e, const char *how, size_t first, size_t step) {
    recorder rec;
    int got = run(e->title, how, e->s, e->body, e->len, first, step, &rec);
    bool ok = got == e->want;
    cr_expect(ok, "%s: %s: result %d (%s), want %d (%s)", e->title, how, got,
              multipart_error_text(got), e->want, multipart_error_text(e->want));
    char diff[600];
    if (ok && e->want_parts && !same_parts(&rec, e->want_parts, diff, sizeof diff)) {
        cr_expect(0, "%s: %s: %s", e->title, how, diff);
        ok = false;
    }
    recorder_free(&rec);
    return ok;
}

static void run_every_way(const expectation *e) {
    if (!run_one_way(e, "whole", e->len, 0)) return;
    char how[64];
    for (size_t k = 0; k <= e->len; k++) {
        snprintf(how, sizeof how, "split at %zu", k);
        if (!run_one_way(e, how, k, 0)) return;
    }
    run_one_way(e, "byte by byte", 1, 1);
}

/* Well-formed bodies. */

typedef struct {
    const char *name, *filename, *type;
    const char *data;
    size_t len;
} xpart;

#define MAX_XPARTS 6

typedef struct {
    const char *title;
    const char *body;
    size_t len;
    setup s;
    xpart parts[MAX_XPARTS]; /* up to the first with name NULL */
} vcase;

#define RAW(str) .body = (str), .len = sizeof(str) - 1
#define P(n, f, t, d)                                                                              \
    { .name = (n), .filename = (f), .type = (t), .data = (d), .len = sizeof(d) - 1 }
#define TEXT(n, d) P(n, NULL, "text/plain", d)
#define B          "--AaB03x"
#define CRLF       "\r\n"
#define END        CRLF B "--"
#define CD(n)      "Content-Disposition: form-data; name=\"" n "\"\r\n"
#define CDF(n, f)  "Content-Disposition: form-data; name=\"" n "\"; filename=\"" f "\"\r\n"
#define FIELD(n, v)                                                                                \
    B CRLF CD(n)                                                                                   \
    CRLF v CRLF
#define LAST_FIELD(n, v)                                                                           \
    B CRLF CD(n)                                                                                   \
    CRLF v END
#define HEADERS_AND(h, v) B CRLF h CRLF v END
#define B70               "0123456789abcdefghijABCDEFGHIJ0123456789abcdefghijABCDEFGHIJ0123456789"

static void expect_parts(const char *title, const setup *s, const char *body, size_t len,
                         const xpart *parts, size_t n) {
    recorder want = {0};
    want.parts = calloc(n ? n : 1, sizeof *want.parts);
    cr_assert(want.parts);
    for (size_t i = 0; i < n; i++)
        want.parts[i] = (rpart){.name = (char *)parts[i].name,
                                .filename = (char *)parts[i].filename,
                                .type = (char *)parts[i].type,
                                .data = (char *)parts[i].data,
                                .len = parts[i].len,
                                .ended = true};
    want.n = n;
    expectation e = {.title = title,
                     .s = s,
                     .body = body,
                     .len = len,
                     .want = MULTIPART_DONE,
                     .want_parts = &want};
    run_every_way(&e);
    free(want.parts);
}

static const vcase valid[] = {
    {.title = "one field", RAW(LAST_FIELD("a", "1") CRLF), .parts = {TEXT("a", "1")}},
    {.title = "two fields",
     RAW(FIELD("a", "1") LAST_FIELD("b", "hello world")),
     .parts = {TEXT("a", "1"), TEXT("b", "hello world")}},
    {.title = "file",
     RAW(HEADERS_AND(CDF("f", "x.txt") "Content-Type: text/plain\r\n", "file body")),
     .parts = {P("f", "x.txt", "text/plain", "file body")}},
    {.title = "field and file, RFC 7578 style",
     RAW("--AaB03x\r\n"
         "Content-Disposition: form-data; name=\"submit-name\"\r\n"
         "\r\n"
         "Larry\r\n"
         "--AaB03x\r\n"
         "Content-Disposition: form-data; name=\"files\"; filename=\"file1.txt\"\r\n"
         "Content-Type: text/plain\r\n"
         "\r\n"
         "... contents of file1.txt ...\r\n"
         "--AaB03x--\r\n"),
     .parts = {TEXT("submit-name", "Larry"),
               P("files", "file1.txt", "text/plain", "... contents of file1.txt ...")}},
    {.title = "content type with parameters",
     RAW(HEADERS_AND(CDF("f", "t.csv") "Content-Type: text/csv; charset=utf-8 \r\n", "a,b")),
     .parts = {P("f", "t.csv", "text/csv; charset=utf-8", "a,b")}},
    {.title = "empty field",
     RAW(FIELD("e", "") LAST_FIELD("f", "")),
     .parts = {TEXT("e", ""), TEXT("f", "")}},
    {.title = "empty part without the blank line's data CRLF",
     RAW(B CRLF CD("e") CRLF B CRLF CD("f") CRLF "--AaB03x--"),
     .parts = {TEXT("e", ""), TEXT("f", "")}},
    {.title = "empty filename",
     RAW(HEADERS_AND(CDF("up", "") "Content-Type: application/octet-stream\r\n", "")),
     .parts = {P("up", "", "application/octet-stream", "")}},
    {.title = "quoted name with escapes",
     RAW(HEADERS_AND("Content-Disposition: form-data; name=\"a\\\"b\\\\c\\d;e=f\"\r\n", "v")),
     .parts = {TEXT("a\"b\\cd;e=f", "v")}},
    {.title = "token name",
     RAW(HEADERS_AND("Content-Disposition: form-data; name=token_1.x\r\n", "v")),
     .parts = {TEXT("token_1.x", "v")}},
    {.title = "empty quoted name",
     RAW(HEADERS_AND("Content-Disposition: form-data; name=\"\"\r\n", "v")),
     .parts = {TEXT("", "v")}},
    {.title = "filename*",
     RAW(HEADERS_AND(
         "Content-Disposition: form-data; name=f; filename*=UTF-8''%E2%82%AC%20rates.txt\r\n",
         "x")),
     .parts = {P("f", "\xE2\x82\xAC rates.txt", "text/plain", "x")}},
    {.title = "filename* wins over filename",
     RAW(HEADERS_AND("Content-Disposition: form-data; name=f; filename=\"fallback.txt\"; "
                     "filename*=utf-8'en'na%c3%AFve.txt\r\n",
                     "x")),
     .parts = {P("f", "na\xC3\xAFve.txt", "text/plain", "x")}},
    {.title = "filename* before filename",
     RAW(HEADERS_AND("Content-Disposition: form-data; filename*=UTF-8''a%2Fb; name=f; "
                     "filename=\"fallback.txt\"\r\n",
                     "x")),
     .parts = {P("f", "a/b", "text/plain", "x")}},
    {.title = "empty filename*",
     RAW(HEADERS_AND("Content-Disposition: form-data; name=f; filename*=UTF-8''\r\n", "x")),
     .parts = {P("f", "", "text/plain", "x")}},
    {.title = "raw UTF-8 filename, path kept",
     RAW(HEADERS_AND(CDF("f", "../d\xC3\xA9j\xC3\xA0/\xE2\x82\xAC.txt"), "x")),
     .parts = {P("f", "../d\xC3\xA9j\xC3\xA0/\xE2\x82\xAC.txt", "text/plain", "x")}},
    {.title = "filename with escaped backslashes",
     RAW(HEADERS_AND(CDF("f", "C:\\\\dir\\\\f.txt"), "x")),
     .parts = {P("f", "C:\\dir\\f.txt", "text/plain", "x")}},
    {.title = "preamble and epilogue",
     RAW("This is the preamble.\r\nIt is to be ignored, --AaB03x too.\r\n" FIELD("a", "1")
             LAST_FIELD("b", "2") "\r\nThis is the epilogue: --AaB03x\r\n--AaB03x\r\njunk"),
     .parts = {TEXT("a", "1"), TEXT("b", "2")}},
    {.title = "preamble with boundary-like lines",
     RAW("--AaB03 \r\n-AaB03x\r\n--AaB03X\r\nx--AaB03x\r\n\r\n" LAST_FIELD("a", "1")),
     .parts = {TEXT("a", "1")}},
    {.title = "preamble is a CRLF", RAW(CRLF LAST_FIELD("a", "1")), .parts = {TEXT("a", "1")}},
    {.title = "transport padding",
     RAW(B " \t \r\n" CD("a") CRLF "1" CRLF B "\t\r\n" CD("b") CRLF "2" END " \t\r\n"),
     .parts = {TEXT("a", "1"), TEXT("b", "2")}},
    {.title = "CRLF inside data",
     RAW(FIELD("a", "line1\r\nline2\r\n") FIELD("b", "\r\n") LAST_FIELD("c", "\r\n\r\nx")),
     .parts = {TEXT("a", "line1\r\nline2\r\n"), TEXT("b", "\r\n"), TEXT("c", "\r\n\r\nx")}},
    {.title = "boundary without CRLF before it is data",
     RAW(LAST_FIELD("a", "a--AaB03x x--AaB03x--\n--AaB03x\r--AaB03x\n\r--AaB03x")),
     .parts = {TEXT("a", "a--AaB03x x--AaB03x--\n--AaB03x\r--AaB03x\n\r--AaB03x")}},
    {.title = "delimiter prefixes",
     RAW(LAST_FIELD("a", "\r\n--AaB03\r\n--AaB0\r\n-\r\n\r\r\n--AaB03X\r\n--aab03x\r")),
     .parts = {TEXT("a", "\r\n--AaB03\r\n--AaB0\r\n-\r\n\r\r\n--AaB03X\r\n--aab03x\r")}},
    {.title = "data starting with dashes",
     RAW(FIELD("a", "--AaB03y") FIELD("b", "-") LAST_FIELD("c", "--")),
     .parts = {TEXT("a", "--AaB03y"), TEXT("b", "-"), TEXT("c", "--")}},
    {.title = "data ending in CR", RAW(LAST_FIELD("a", "abc\r")), .parts = {TEXT("a", "abc\r")}},
    {.title = "binary data with NULs",
     RAW(HEADERS_AND(CDF("bin", "b.bin") "Content-Type: application/octet-stream\r\n",
                     "\0\1\2\r\0\n\xff\xfe\r\r\n\0--\0")),
     .parts = {P("bin", "b.bin", "application/octet-stream", "\0\1\2\r\0\n\xff\xfe\r\r\n\0--\0")}},
    {.title = "no parts", RAW(B "--\r\n")},
    {.title = "no parts, epilogue", RAW(B "--\r\nepilogue\r\n" B "\r\n")},
    {.title = "header names in any case",
     RAW(HEADERS_AND("content-disposition: form-data; name=x\r\nCONTENT-TYPE: Text/HTML\r\n",
                     "<p>")),
     .parts = {P("x", NULL, "Text/HTML", "<p>")}},
    {.title = "unknown headers ignored",
     RAW(HEADERS_AND("X-Foo: bar\r\n" CD("a") "Content-Transfer-Encoding: binary\r\n"
                                              "Content-Length: 3\r\nX-Empty:\r\n",
                     "abc")),
     .parts = {TEXT("a", "abc")}},
    {.title = "parameter names in any case, whitespace around",
     RAW(HEADERS_AND("Content-Disposition: Form-Data ;NAME = \"n\" ;  FileName=\"f\"  \r\n", "v")),
     .parts = {P("n", "f", "text/plain", "v")}},
    {.title = "other parameters ignored",
     RAW(HEADERS_AND(
         "Content-Disposition: form-data; foo=bar; name=\"a\"; size=3; x=\"y\\\"z;\"\r\n", "v")),
     .parts = {TEXT("a", "v")}},
    {.title = "tabs in headers",
     RAW(HEADERS_AND("Content-Disposition:\tform-data;\tname=\"t\"\t\r\nContent-Type:\ta/b\t\r\n",
                     "v")),
     .parts = {P("t", NULL, "a/b", "v")}},
    {.title = "boundary with specials",
     RAW("--a'()+_,-./:=? z\r\n" CD("a") CRLF "1\r\n--a'()+_,-./:=? z--"),
     .s = {.boundary = "a'()+_,-./:=? z"},
     .parts = {TEXT("a", "1")}},
    {.title = "70-character boundary",
     RAW("--" B70 "\r\n" CD("a") CRLF "x--" B70 "--\r\n--" B70 "--"),
     .s = {.boundary = B70},
     .parts = {TEXT("a", "x--" B70 "--")}},
    {.title = "one-character boundary",
     RAW("--z\r\n" CD("a") CRLF "-z\r\n-z\r\n--z--"),
     .s = {.boundary = "z"},
     .parts = {TEXT("a", "-z\r\n-z")}},
    {.title = "exactly max_parts",
     RAW(FIELD("a", "1") LAST_FIELD("b", "2")),
     .s = {.lim = {.max_parts = 2}},
     .parts = {TEXT("a", "1"), TEXT("b", "2")}},
    {.title = "headers exactly max_header_bytes",
     RAW(LAST_FIELD("a", "1")),
     .s = {.lim = {.max_header_bytes = sizeof CD("a") - 1}},
     .parts = {TEXT("a", "1")}},
    {.title = "close delimiter, then anything",
     RAW(LAST_FIELD("a", "1") "garbage\r\n\0\xff"),
     .parts = {TEXT("a", "1")}},
};

Test(multipart, valid) {
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        const vcase *c = &valid[i];
        size_t n = 0;
        while (n < MAX_XPARTS && c->parts[n].name) n++;
        expect_parts(c->title, &c->s, c->body, c->len, c->parts, n);
    }
}

/* A body of n parts with awkward data (delimiter prefixes, CRs, dashes),
 * every third a file, with the parts it must give. */
typedef struct {
    char name[24], filename[32], data[64];
} gen_part;

static char *many_parts_body(size_t n, size_t *len, xpart *parts, gen_part *gen) {
    static const char bits[] = "\r\n--AaB03\r\r\n-x";
    size_t cap = n * 160 + 32;
    char *body = malloc(cap);
    cr_assert(body);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        gen_part *g = &gen[i];
        snprintf(g->name, sizeof g->name, "f%zu", i);
        snprintf(g->filename, sizeof g->filename, "f%zu.bin", i);
        size_t dl = 0;
        for (size_t j = 0; j < i % 40; j++) g->data[dl++] = bits[(i + j) % (sizeof bits - 1)];
        g->data[dl] = '\0';
        bool file = i % 3 == 0;
        if (file)
            at += (size_t)snprintf(body + at, cap - at,
                                   "--AaB03x\r\nContent-Disposition: form-data; filename=\"%s\"; "
                                   "name=\"%s\"\r\n\r\n",
                                   g->filename, g->name);
        else
            at += (size_t)snprintf(body + at, cap - at,
                                   "--AaB03x\r\nContent-Disposition: form-data; name=%s\r\n\r\n",
                                   g->name);
        memcpy(body + at, g->data, dl);
        at += dl;
        memcpy(body + at, "\r\n", 2);
        at += 2;
        parts[i] = (xpart){.name = g->name,
                           .filename = file ? g->filename : NULL,
                           .type = "text/plain",
                           .data = g->data,
                           .len = dl};
    }
    at += (size_t)snprintf(body + at, cap - at, "--AaB03x--\r\n");
    *len = at;
    return body;
}

Test(multipart, many_parts_every_way) {
    enum { N = 40 };
    static xpart parts[N];
    static gen_part gen[N];
    size_t len;
    char *body = many_parts_body(N, &len, parts, gen);
    expect_parts("many parts", &(setup){0}, body, len, parts, N);
    free(body);
}

/* Bigger bodies: whole and byte by byte only (every split would be slow). */
static void expect_parts_whole_and_bytewise(const char *title, const setup *s, const char *body,
                                            size_t len, int want, size_t want_parts) {
    const char *how[] = {"whole", "byte by byte"};
    for (int i = 0; i < 2; i++) {
        recorder rec;
        int got = run(title, how[i], s, body, len, i ? 1 : len, i ? 1 : 0, &rec);
        cr_expect_eq(got, want, "%s: %s: %d, want %d", title, how[i], got, want);
        cr_expect_eq(rec.n, want_parts, "%s: %s: %zu parts, want %zu", title, how[i], rec.n,
                     want_parts);
        cr_expect_eq(rec.misuse, 0, "%s: %s: callbacks out of order", title, how[i]);
        recorder_free(&rec);
    }
}

Test(multipart, default_max_parts) {
    enum { N = 1001 };
    static xpart parts[N];
    static gen_part gen[N];
    size_t len;
    char *body = many_parts_body(N - 1, &len, parts, gen);
    expect_parts_whole_and_bytewise("1000 parts", &(setup){0}, body, len, MULTIPART_DONE, N - 1);
    free(body);
    body = many_parts_body(N, &len, parts, gen);
    expect_parts_whole_and_bytewise("1001 parts", &(setup){0}, body, len, MULTIPART_TOO_MANY_PARTS,
                                    N - 1);
    free(body);
}

/* A part whose header lines total `total` bytes as sent. */
static char *headers_of_size(size_t total, size_t *len) {
    static const char cd[] = "Content-Disposition: form-data; name=a\r\n";
    const char *pad = "X-Pad: ";
    size_t fill = total - (sizeof cd - 1) - strlen(pad) - 2;
    size_t cap = total + 64;
    char *body = malloc(cap);
    cr_assert(body);
    size_t at = (size_t)snprintf(body, cap, "--AaB03x\r\n%s%s", cd, pad);
    memset(body + at, 'p', fill);
    at += fill;
    at += (size_t)snprintf(body + at, cap - at, "\r\n\r\nv\r\n--AaB03x--");
    *len = at;
    return body;
}

Test(multipart, default_max_header_bytes) {
    size_t len;
    char *body = headers_of_size(8192, &len);
    expect_parts_whole_and_bytewise("headers of 8 KiB", &(setup){0}, body, len, MULTIPART_DONE, 1);
    free(body);
    body = headers_of_size(8193, &len);
    expect_parts_whole_and_bytewise("headers of 8 KiB + 1", &(setup){0}, body, len,
                                    MULTIPART_HEADERS_TOO_LARGE, 0);
    free(body);
    /* A larger limit: the buffer grows to it. */
    body = headers_of_size(100000, &len);
    expect_parts_whole_and_bytewise("headers of 100000",
                                    &(setup){.lim = {.max_header_bytes = 100000}}, body, len,
                                    MULTIPART_DONE, 1);
    free(body);
}

/* Malformed bodies. */

typedef struct {
    const char *title;
    const char *body;
    size_t len;
    setup s;
    int want;
    bool loose; /* stopped in part_data: how much data came first depends on the pieces */
} icase;

#define CD_LINE(v)     "Content-Disposition: " v "\r\n"
#define BAD_CD(v)      RAW(HEADERS_AND(CD_LINE(v), "x")), .want = MULTIPART_BAD
#define BAD_HEADERS(h) RAW(HEADERS_AND(h, "x")), .want = MULTIPART_BAD

static const icase invalid[] = {
    {.title = "empty body", RAW(""), .want = MULTIPART_BAD},
    {.title = "preamble only", RAW("hello\r\n--AaB03\r\n"), .want = MULTIPART_BAD},
    {.title = "first boundary not at a line start",
     RAW("x" LAST_FIELD("a", "1")),
     .want = MULTIPART_BAD},
    {.title = "no parts after a preamble", RAW("preamble\r\n" B "--\r\n"), .want = MULTIPART_BAD},
    {.title = "no parts after an empty preamble", RAW(CRLF B "--"), .want = MULTIPART_BAD},
    {.title = "no close delimiter", RAW(FIELD("a", "1")), .want = MULTIPART_BAD},
    {.title = "truncated in data", RAW(B CRLF CD("a") CRLF "hello"), .want = MULTIPART_BAD},
    {.title = "truncated in headers", RAW(B CRLF "Content-Disp"), .want = MULTIPART_BAD},
    {.title = "truncated after a header line", RAW(B CRLF CD("a")), .want = MULTIPART_BAD},
    {.title = "truncated after the boundary line", RAW(B CRLF), .want = MULTIPART_BAD},
    {.title = "truncated in the delimiter", RAW(FIELD("a", "1") "--AaB0"), .want = MULTIPART_BAD},
    {.title = "truncated close delimiter", RAW(FIELD("a", "1") B "-"), .want = MULTIPART_BAD},
    {.title = "close delimiter with one dash",
     RAW(FIELD("a", "1") B "-x\r\n"),
     .want = MULTIPART_BAD},
    {.title = "padding before the close dashes",
     RAW(FIELD("a", "1") B " --"),
     .want = MULTIPART_BAD},
    {.title = "boundary inside data",
     RAW(LAST_FIELD("a", "x\r\n--AaB03xyz")),
     .want = MULTIPART_BAD},
    {.title = "boundary line with text",
     RAW(B "x\r\n" CD("a") CRLF "1" END),
     .want = MULTIPART_BAD},
    {.title = "padding then text", RAW(B "  x\r\n" CD("a") CRLF "1" END), .want = MULTIPART_BAD},
    {.title = "bare LF after boundary", RAW(B "\n" CD("a") CRLF "1" END), .want = MULTIPART_BAD},
    {.title = "CR without LF after boundary",
     RAW(B "\rX" CD("a") CRLF "1" END),
     .want = MULTIPART_BAD},
    {.title = "LF line endings throughout",
     RAW("--AaB03x\nContent-Disposition: form-data; name=a\n\n1\n--AaB03x--\n"),
     .want = MULTIPART_BAD},
    {.title = "no Content-Disposition", BAD_HEADERS("Content-Type: text/plain\r\n")},
    {.title = "no headers at all", BAD_HEADERS("")},
    {.title = "no name", BAD_CD("form-data; filename=\"a.txt\"")},
    {.title = "attachment", BAD_CD("attachment; name=\"a\"")},
    {.title = "inline", BAD_CD("inline; name=a")},
    {.title = "no disposition type", BAD_CD("; name=a")},
    {.title = "empty Content-Disposition", BAD_CD("")},
    {.title = "name twice", BAD_CD("form-data; name=a; name=b")},
    {.title = "name twice, other case", BAD_CD("form-data; name=a; NAME=a")},
    {.title = "filename twice", BAD_CD("form-data; name=a; filename=x; filename=\"x\"")},
    {.title = "filename* twice",
     BAD_CD("form-data; name=a; filename*=UTF-8''x; filename*=UTF-8''x")},
    {.title = "two Content-Dispositions", BAD_HEADERS(CD("a") CD("b"))},
    {.title = "obs-fold", BAD_HEADERS("Content-Disposition: form-data;\r\n name=\"a\"\r\n")},
    {.title = "folded unknown header", BAD_HEADERS(CD("a") "X-A: 1\r\n\t2\r\n")},
    {.title = "first header line starts with space", BAD_HEADERS(" " CD("a"))},
    {.title = "header without colon", BAD_HEADERS(CD("a") "X-Foo\r\n")},
    {.title = "space before colon", BAD_HEADERS("Content-Disposition : form-data; name=a\r\n")},
    {.title = "empty header name", BAD_HEADERS(CD("a") ": x\r\n")},
    {.title = "bad header name", BAD_HEADERS(CD("a") "X(1): x\r\n")},
    {.title = "bare LF in headers", BAD_HEADERS("X-A: 1\n" CD("a"))},
    {.title = "bare CR in a header", BAD_HEADERS(CD("a") "X-A: 1\r2\r\n")},
    {.title = "CR without LF after headers",
     RAW(B CRLF CD("a") "\rX"
                        "1" END),
     .want = MULTIPART_BAD},
    {.title = "control character in a header", BAD_HEADERS(CD("a") "X-A: 1\0012\r\n")},
    {.title = "NUL in a header", BAD_HEADERS(CD("a") "X-A: 1\0002\r\n")},
    {.title = "NUL in a name", BAD_CD("form-data; name=\"a\0b\"")},
    {.title = "DEL in a header", BAD_HEADERS(CD("a") "X-A: 1\1772\r\n")},
    {.title = "unterminated quoted name", BAD_CD("form-data; name=\"abc")},
    {.title = "quoted-pair cut short", BAD_CD("form-data; name=\"abc\\\"")},
    {.title = "text after a quoted value", BAD_CD("form-data; name=\"a\"b")},
    {.title = "missing semicolon", BAD_CD("form-data name=a")},
    {.title = "parameter without value", BAD_CD("form-data; name")},
    {.title = "empty token value", BAD_CD("form-data; name=")},
    {.title = "empty parameter", BAD_CD("form-data; ; name=a")},
    {.title = "trailing semicolon", BAD_CD("form-data; name=a;")},
    {.title = "unquoted value with a space", BAD_CD("form-data; name=a b")},
    {.title = "unquoted value with obs-text", BAD_CD("form-data; name=\xc3\xa9")},
    {.title = "filename* in another charset", BAD_CD("form-data; name=a; filename*=iso-8859-1''a")},
    {.title = "filename* with %00", BAD_CD("form-data; name=a; filename*=UTF-8''a%00b")},
    {.title = "filename* with a bad escape", BAD_CD("form-data; name=a; filename*=UTF-8''%G1")},
    {.title = "filename* with a short escape", BAD_CD("form-data; name=a; filename*=UTF-8''a%4")},
    {.title = "filename* quoted", BAD_CD("form-data; name=a; filename*=\"UTF-8''a\"")},
    {.title = "filename* with a non attr-char", BAD_CD("form-data; name=a; filename*=UTF-8''a*b")},
    {.title = "filename* without language quote", BAD_CD("form-data; name=a; filename*=UTF-8'a")},
    {.title = "filename* bad language", BAD_CD("form-data; name=a; filename*=UTF-8'e_n'a")},
    {.title = "Content-Type without subtype", BAD_HEADERS(CD("a") "Content-Type: text\r\n")},
    {.title = "Content-Type with empty subtype", BAD_HEADERS(CD("a") "Content-Type: text/\r\n")},
    {.title = "empty Content-Type", BAD_HEADERS(CD("a") "Content-Type: \r\n")},
    {.title = "Content-Type junk after subtype", BAD_HEADERS(CD("a") "Content-Type: a/b\"c\r\n")},
    {.title = "Content-Type twice",
     BAD_HEADERS(CD("a") "Content-Type: text/plain\r\nContent-Type: text/plain\r\n")},
    {.title = "headers one byte too large",
     RAW(LAST_FIELD("a", "1")),
     .s = {.lim = {.max_header_bytes = sizeof CD("a") - 2}},
     .want = MULTIPART_HEADERS_TOO_LARGE},
    {.title = "headers too large over several lines",
     RAW(HEADERS_AND("X-1: 0123456789\r\nX-2: 0123456789\r\n" CD("a"), "1")),
     .s = {.lim = {.max_header_bytes = 48}},
     .want = MULTIPART_HEADERS_TOO_LARGE},
    {.title = "headers too large, second part",
     RAW(FIELD("a", "1") HEADERS_AND(CD("b") "X: 1\r\n", "2")),
     .s = {.lim = {.max_header_bytes = sizeof CD("b") + 3}},
     .want = MULTIPART_HEADERS_TOO_LARGE},
    {.title = "too many parts",
     RAW(FIELD("a", "1") FIELD("b", "2") LAST_FIELD("c", "3")),
     .s = {.lim = {.max_parts = 2}},
     .want = MULTIPART_TOO_MANY_PARTS},
    {.title = "too many parts, before their headers",
     RAW(FIELD("a", "1") B CRLF "garbage"),
     .s = {.lim = {.max_parts = 1}},
     .want = MULTIPART_TOO_MANY_PARTS},
    {.title = "stopped at the first part_begin",
     RAW(FIELD("a", "1") LAST_FIELD("b", "2")),
     .s = {.stop_begin = 1},
     .want = MULTIPART_STOPPED},
    {.title = "stopped at the second part_begin",
     RAW(FIELD("a", "1") LAST_FIELD("b", "2")),
     .s = {.stop_begin = 2},
     .want = MULTIPART_STOPPED},
    {.title = "stopped at part_end",
     RAW(FIELD("a", "1") LAST_FIELD("b", "2")),
     .s = {.stop_end = 1},
     .want = MULTIPART_STOPPED},
    {.title = "stopped at the last part_end",
     RAW(FIELD("a", "1") LAST_FIELD("b", "2")),
     .s = {.stop_end = 2},
     .want = MULTIPART_STOPPED},
    {.title = "stopped at part_data",
     RAW(FIELD("a", "1") LAST_FIELD("b", "2")),
     .s = {.stop_data = 1},
     .want = MULTIPART_STOPPED,
     .loose = true},
    {.title = "error after a complete part",
     RAW(FIELD("a", "1") B CRLF "X-A: 1\r\n\r\n2" END),
     .want = MULTIPART_BAD},
};

Test(multipart, invalid) {
    cr_assert_geq(sizeof invalid / sizeof invalid[0], 25);
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        const icase *c = &invalid[i];
        /* The whole body's callbacks are the reference for every other way. */
        recorder whole;
        int got = run(c->title, "whole", &c->s, c->body, c->len, c->len, 0, &whole);
        cr_expect_eq(got, c->want, "%s: whole: %d (%s), want %d (%s)", c->title, got,
                     multipart_error_text(got), c->want, multipart_error_text(c->want));
        cr_expect_eq(whole.misuse, 0, "%s: callbacks out of order", c->title);
        expectation e = {.title = c->title,
                         .s = &c->s,
                         .body = c->body,
                         .len = c->len,
                         .want = c->want,
                         .want_parts = c->loose ? NULL : &whole};
        run_every_way(&e);
        recorder_free(&whole);
    }
}

Test(multipart, error_is_sticky) {
    recorder rec = {0};
    multipart_callbacks cb = {.part_begin = on_begin, .part_data = on_data, .part_end = on_end};
    multipart_parser *p = multipart_new("AaB03x", NULL, &cb, &rec);
    cr_assert(p);
    static const char bad[] = B "x\r\n";
    static const char good[] = LAST_FIELD("a", "1");
    cr_expect_eq(multipart_feed(p, bad, sizeof bad - 1), MULTIPART_BAD);
    cr_expect_eq(multipart_feed(p, good, sizeof good - 1), MULTIPART_BAD);
    cr_expect_eq(multipart_feed(p, NULL, 0), MULTIPART_BAD);
    cr_expect_eq(multipart_finish(p), MULTIPART_BAD);
    cr_expect_eq(rec.n, 0);
    multipart_free(p);
    recorder_free(&rec);
}

Test(multipart, done_ignores_the_rest) {
    recorder rec = {0};
    multipart_callbacks cb = {.part_begin = on_begin, .part_data = on_data, .part_end = on_end};
    multipart_parser *p = multipart_new("AaB03x", NULL, &cb, &rec);
    cr_assert(p);
    static const char body[] = LAST_FIELD("a", "1");
    static const char more[] = CRLF FIELD("b", "2") B "--";
    cr_expect_eq(multipart_feed(p, NULL, 0), MULTIPART_MORE);
    cr_expect_eq(multipart_feed(p, body, sizeof body - 1), MULTIPART_DONE);
    cr_expect_eq(multipart_feed(p, more, sizeof more - 1), MULTIPART_DONE);
    cr_expect_eq(multipart_finish(p), MULTIPART_DONE);
    cr_expect_eq(rec.n, 1);
    multipart_free(p);
    recorder_free(&rec);
}

Test(multipart, no_callbacks_no_limits) {
    multipart_parser *p = multipart_new("AaB03x", NULL, NULL, NULL);
    cr_assert(p);
    static const char body[] = FIELD("a", "1") LAST_FIELD("b", "2");
    cr_expect_eq(multipart_feed(p, body, sizeof body - 1), MULTIPART_DONE);
    multipart_free(p);
    multipart_free(NULL);
}

Test(multipart, new_refuses_bad_boundaries) {
    static const char *bad[] = {
        "", "abc ", "a\rb", "a;b", "a\"b", "a\\b", "a@b", "\xc3\xa9", B70 "x", /* 71 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_null(multipart_new(bad[i], NULL, NULL, NULL), "boundary \"%s\" accepted", bad[i]);
    multipart_parser *p = multipart_new(B70, NULL, NULL, NULL);
    cr_expect(p, "70 characters refused");
    multipart_free(p);
}

Test(multipart, error_texts) {
    int codes[] = {MULTIPART_MORE,
                   MULTIPART_DONE,
                   MULTIPART_BAD,
                   MULTIPART_TOO_MANY_PARTS,
                   MULTIPART_HEADERS_TOO_LARGE,
                   MULTIPART_STOPPED,
                   MULTIPART_NOMEM,
                   42};
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        const char *t = multipart_error_text(codes[i]);
        cr_assert(t && *t);
        for (size_t j = 0; j < i; j++)
            cr_expect(strcmp(t, multipart_error_text(codes[j])) != 0, "%d and %d: same text",
                      codes[i], codes[j]);
    }
}

/* multipart_boundary */

typedef struct {
    const char *ct;
    size_t len;
    int want;
    const char *boundary;
    size_t cap; /* 0: 128 */
} bcase;

#define CT(s) .ct = (s), .len = sizeof(s) - 1

static const bcase boundaries[] = {
    {CT("multipart/form-data; boundary=AaB03x"), .boundary = "AaB03x"},
    {CT("multipart/form-data; boundary=\"AaB03x\""), .boundary = "AaB03x"},
    {CT("Multipart/Form-Data; BOUNDARY=abc"), .boundary = "abc"},
    {CT("MULTIPART/FORM-DATA;boundary=abc"), .boundary = "abc"},
    {CT("  multipart/form-data ; boundary=abc  "), .boundary = "abc"},
    {CT("multipart/form-data; charset=utf-8; boundary=abc"), .boundary = "abc"},
    {CT("multipart/form-data; boundary=abc; charset=\"utf-8\""), .boundary = "abc"},
    {CT("multipart/form-data; x=\"a;boundary=no\"; boundary=yes"), .boundary = "yes"},
    {CT("multipart/form-data; boundary=\"a b'()+_,-./:=? z\""), .boundary = "a b'()+_,-./:=? z"},
    {CT("multipart/form-data; boundary=\"a\\bc\""), .boundary = "abc"},
    {CT("multipart/form-data; boundary=----=_Part_0_1.2:3"), .boundary = "----=_Part_0_1.2:3"},
    {CT("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW"),
     .boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW"},
    {CT("multipart/form-data; boundary=" B70), .boundary = B70},
    {CT("multipart/form-data; boundary=\"" B70 "\""), .boundary = B70},
    {CT("multipart/form-data; boundary=abc"), .boundary = "abc", .cap = 4},
    {.ct = "multipart/form-data; boundary=abcdef", .len = 33, .boundary = "abc"}, /* len ends it */
    {CT("multipart/form-data; boundary=abc"), .want = -1, .cap = 3},
    {CT("multipart/form-data; boundary=" B70 "x"), .want = -1},
    {CT("multipart/form-data; boundary=\"" B70 "x\""), .want = -1},
    {CT("multipart/form-data; boundary="), .want = -1},
    {CT("multipart/form-data; boundary=\"\""), .want = -1},
    {CT("multipart/form-data"), .want = -1},
    {CT("multipart/form-data;"), .want = -1},
    {CT("multipart/form-data; charset=utf-8"), .want = -1},
    {CT("multipart/form-data; boundary=abc;"), .want = -1},
    {CT("multipart/form-data; boundary=abc; boundary=abc"), .want = -1},
    {CT("multipart/form-data; boundary = abc"), .want = -1},
    {CT("multipart/form-data; boundary=abc def"), .want = -1},
    {CT("multipart/form-data; boundary=ab@c"), .want = -1},
    {CT("multipart/form-data; boundary=ab!c"), .want = -1},
    {CT("multipart/form-data; boundary=\"a@b\""), .want = -1},
    {CT("multipart/form-data; boundary=\"abc \""), .want = -1},
    {CT("multipart/form-data; boundary=\"abc"), .want = -1},
    {CT("multipart/form-data; boundary=\"ab\tc\""), .want = -1},
    {CT("multipart/form-data; boundary=a\0b"), .want = -1},
    {CT("multipart/form-data; x=\"unterminated; boundary=abc"), .want = -1},
    {CT("multipart/form-data; =abc; boundary=abc"), .want = -1},
    {CT("multipart/form-data boundary=abc"), .want = -1},
    {CT("multipart/form-datax; boundary=abc"), .want = -1},
    {CT("multipart/mixed; boundary=abc"), .want = -1},
    {CT("text/plain; boundary=abc"), .want = -1},
    {CT("multipart; boundary=abc"), .want = -1},
    {CT("form-data; boundary=abc"), .want = -1},
    {CT(""), .want = -1},
};

Test(multipart, boundary_parameter) {
    for (size_t i = 0; i < sizeof boundaries / sizeof boundaries[0]; i++) {
        const bcase *c = &boundaries[i];
        char out[128];
        memset(out, '#', sizeof out);
        size_t cap = c->cap ? c->cap : sizeof out;
        int rc = multipart_boundary(c->ct, c->len, out, cap);
        cr_expect_eq(rc, c->want, "\"%.*s\": %d, want %d", (int)c->len, c->ct, rc, c->want);
        if (rc == 0 && c->want == 0)
            cr_expect_str_eq(out, c->boundary, "\"%.*s\": boundary \"%s\", want \"%s\"",
                             (int)c->len, c->ct, out, c->boundary);
        if (rc != 0) cr_expect_eq(out[0], '#', "\"%.*s\": out written", (int)c->len, c->ct);
    }
}

/* Memory. */

#define PIECE_BYTES ((size_t)64 * 1024)
#define PART_BYTES  ((size_t)200 * 1024 * 1024)

typedef struct {
    const char *piece; /* the data is this piece over and over */
    size_t total;
    bool mismatch;
} stream_check;

static int count_data(void *arg, const char *data, size_t len) {
    stream_check *s = arg;
    while (len) {
        size_t at = s->total % PIECE_BYTES;
        size_t n = PIECE_BYTES - at < len ? PIECE_BYTES - at : len;
        if (memcmp(data, s->piece + at, n)) s->mismatch = true;
        s->total += n;
        data += n;
        len -= n;
    }
    return 0;
}

Test(multipart, memory_bounded_on_a_200_mib_part, .timeout = 120) {
    /* Bytes of all kinds, with delimiter prefixes, one of them cut by the
     * end of the piece so that a match stays open between feeds. */
    char *piece = malloc(PIECE_BYTES);
    cr_assert(piece);
    for (size_t i = 0; i < PIECE_BYTES; i++) piece[i] = (char)(i * 7 + (i >> 8));
    for (size_t i = 1000; i + 16 < PIECE_BYTES; i += 4099) memcpy(piece + i, "\r\n--AaB03\r\n", 11);
    memcpy(piece + PIECE_BYTES - 8, "\r\n--AaB0", 8);
    piece[0] = 'Z';
    char *twice = malloc(2 * PIECE_BYTES);
    cr_assert(twice);
    memcpy(twice, piece, PIECE_BYTES);
    memcpy(twice + PIECE_BYTES, piece, PIECE_BYTES);
    cr_assert_null(memmem(twice, 2 * PIECE_BYTES, "\r\n--AaB03x", 10),
                   "the data holds a delimiter");
    free(twice);

    static const char head[] =
        B CRLF CDF("big", "big.bin") "Content-Type: application/octet-stream\r\n\r\n";
    static const char tail[] = END CRLF;
    stream_check check = {.piece = piece};
    multipart_callbacks cb = {.part_data = count_data};

    accounting_init();
    live_bytes = peak_bytes = 0;
    allocations = 0;
    counting = 1;
    multipart_parser *p = multipart_new("AaB03x", NULL, &cb, &check);
    int rc = p ? multipart_feed(p, head, sizeof head - 1) : MULTIPART_NOMEM;
    for (size_t sent = 0; rc == MULTIPART_MORE && sent < PART_BYTES; sent += PIECE_BYTES)
        rc = multipart_feed(p, piece, PIECE_BYTES);
    if (rc == MULTIPART_MORE) rc = multipart_feed(p, tail, sizeof tail - 1);
    int fin = p ? multipart_finish(p) : rc;
    multipart_free(p);
    counting = 0;

    cr_assert_eq(rc, MULTIPART_DONE, "%d (%s)", rc, multipart_error_text(rc));
    cr_expect_eq(fin, MULTIPART_DONE);
    cr_expect_eq(check.total, PART_BYTES, "%zu bytes of data, want %zu", check.total, PART_BYTES);
    cr_expect(!check.mismatch, "the data came out changed");
    cr_expect_geq(allocations, 1, "allocations were not counted");
    cr_expect_lt(peak_bytes, 64 * 1024, "the parser held %lld bytes at its peak", peak_bytes);
    cr_expect_eq(live_bytes, 0, "%lld bytes not freed", live_bytes);
    cr_log_info("200 MiB part: %ld allocations, peak %lld bytes", allocations, peak_bytes);
    free(piece);
}

Test(multipart, out_of_memory) {
    if (!CAN_FAIL_ALLOCATIONS) {
        cr_log_info("skipped under a sanitizer, which owns malloc");
        return;
    }
    failing = 1;
    multipart_parser *none = multipart_new("AaB03x", NULL, NULL, NULL);
    failing = 0;
    cr_expect_null(none);

    multipart_parser *p = multipart_new("AaB03x", NULL, NULL, NULL);
    cr_assert(p);
    static const char body[] = B CRLF CD("a");
    failing = 1; /* the header buffer's first allocation */
    int rc = multipart_feed(p, body, sizeof body - 1);
    failing = 0;
    cr_expect_eq(rc, MULTIPART_NOMEM);
    cr_expect_eq(multipart_feed(p, "x", 1), MULTIPART_NOMEM);
    cr_expect_eq(multipart_finish(p), MULTIPART_NOMEM);
    multipart_free(p);
}
