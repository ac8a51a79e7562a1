/* read.c - the JSON reader (see chopin/json_read.h).
 *
 * A recursive-descent parser over bytes, one function per grammar rule of
 * RFC 8259. Containers are built on two scratch stacks (values, members) and
 * copied into the arena in one piece when they close, so every array and
 * object is a contiguous C array. Each error names the first byte at which
 * the text can no longer become valid JSON. */
#include "chopin/json_read.h"

#include "../app/ctx_internal.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

typedef struct {
    const unsigned char *start, *p, *end;
    chopin_arena *arena;
    chopin_json_error *err;
    int depth;
    chopin_json_value *values; /* scratch stack for array items */
    size_t num_values, cap_values;
    chopin_json_member *members; /* scratch stack for object members */
    size_t num_members, cap_members;
    chopin_json_value inline_values[16];
    chopin_json_member inline_members[16];
} parser;

/* Records the first error only; returns false so callers can `return fail(...)`. */
static bool fail(parser *ps, const unsigned char *at, const char *message) {
    if (!ps->err->message) {
        ps->err->offset = (size_t)(at - ps->start);
        ps->err->message = message;
    }
    return false;
}

static bool at_end(parser *ps, const char *message) {
    return fail(ps, ps->end, message);
}

static void skip_ws(parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
        ps->p++;
}

static bool parse_value(parser *ps, chopin_json_value *out);

/* --- Literals ------------------------------------------------------------------ */

static bool literal(parser *ps, const char *word, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (ps->p + i >= ps->end) return at_end(ps, "unexpected end of text in a literal");
        if (ps->p[i] != (unsigned char)word[i]) return fail(ps, ps->p + i, "invalid literal");
    }
    ps->p += len;
    return true;
}

/* --- Numbers --------------------------------------------------------------------- */

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void make_c_locale(void) {
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/* Exact powers of ten that a double holds without rounding. */
static const double exact_pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static double slow_double(const unsigned char *s, size_t len) {
    char small[64];
    char *buf = len < sizeof small ? small : malloc(len + 1);
    if (!buf) return NAN;
    memcpy(buf, s, len);
    buf[len] = 0;
    pthread_once(&c_locale_once, make_c_locale);
    /* strtod_l is correctly rounded in glibc and ignores the process locale. */
    double d = c_locale ? strtod_l(buf, NULL, c_locale) : strtod(buf, NULL);
    if (buf != small) free(buf);
    return d;
}

static bool digit(parser *ps) {
    return ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9';
}

static bool parse_number(parser *ps, chopin_json_value *out) {
    const unsigned char *s = ps->p;
    bool neg = false;
    if (*ps->p == '-') {
        neg = true;
        ps->p++;
        if (ps->p == ps->end) return at_end(ps, "unexpected end of text in a number");
        if (!digit(ps)) return fail(ps, ps->p, "expected a digit");
    }
    uint64_t mantissa = 0;
    int digits = 0;  /* significant digits gathered in mantissa */
    int dropped = 0; /* integer digits beyond what mantissa holds */
    bool exact_int = true;
    if (*ps->p == '0') {
        ps->p++;
    } else {
        while (digit(ps)) {
            if (digits < 19) {
                mantissa = mantissa * 10 + (uint64_t)(*ps->p - '0');
                if (mantissa) digits++;
            } else {
                dropped++;
            }
            ps->p++;
        }
    }
    int frac_digits = 0;
    if (ps->p < ps->end && *ps->p == '.') {
        exact_int = false;
        ps->p++;
        if (ps->p == ps->end) return at_end(ps, "unexpected end of text in a number");
        if (!digit(ps)) return fail(ps, ps->p, "expected a digit after '.'");
        while (digit(ps)) {
            if (digits < 19) {
                mantissa = mantissa * 10 + (uint64_t)(*ps->p - '0');
                if (mantissa) digits++;
                frac_digits++;
            }
            ps->p++;
        }
    }
    int64_t exp10 = 0;
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        exact_int = false;
        ps->p++;
        bool eneg = false;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-')) eneg = *ps->p++ == '-';
        if (ps->p == ps->end) return at_end(ps, "unexpected end of text in a number");
        if (!digit(ps)) return fail(ps, ps->p, "expected a digit in the exponent");
        while (digit(ps)) {
            if (exp10 < 100000) exp10 = exp10 * 10 + (*ps->p - '0');
            ps->p++;
        }
        if (eneg) exp10 = -exp10;
    }
    out->type = CHOPIN_JSON_NUMBER;
    out->is_int = false;
    /* int64: up to 19 digits, all kept, within range. */
    if (exact_int && !dropped) {
        if (!neg && mantissa <= (uint64_t)INT64_MAX) {
            out->is_int = true;
            out->u.num.i = (int64_t)mantissa;
        } else if (neg && mantissa <= (uint64_t)INT64_MAX + 1) {
            out->is_int = true;
            out->u.num.i = mantissa == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mantissa;
        }
    }
    /* Clinger's fast path: an exact mantissa times an exact power of ten is
     * one correctly rounded operation. Everything else: strtod_l. */
    int64_t e = exp10 + dropped - frac_digits;
    size_t len = (size_t)(ps->p - s);
    if (mantissa < (1ull << 53) && e >= -22 && e <= 22) {
        double d = e >= 0 ? (double)mantissa * exact_pow10[e] : (double)mantissa / exact_pow10[-e];
        out->u.num.d = neg ? -d : d;
    } else {
        out->u.num.d = slow_double(s, len); /* the sign is in the text */
    }
    return true;
}

/* --- Strings ---------------------------------------------------------------------- */

/* Reads the 4 hex digits of a \u escape at ps->p. low: this must be the low
 * half of a surrogate pair, so the digits must spell DC00..DFFF and the text
 * turns invalid at the first digit that cannot. */
static bool hex4(parser *ps, unsigned *out, bool low) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        if (ps->p >= ps->end) return at_end(ps, "unexpected end of text in a \\u escape");
        int h = hex_value(*ps->p);
        if (h < 0) return fail(ps, ps->p, "expected a hex digit");
        if (low && ((i == 0 && h != 0xd) || (i == 1 && h < 0xc)))
            return fail(ps, ps->p, "expected a low surrogate (\\uDC00-\\uDFFF)");
        /* \uDC.. to \uDF.. can only be a lone low surrogate: invalid at the 2nd digit. */
        if (!low && i == 1 && v == 0xd && h >= 0xc) return fail(ps, ps->p, "lone low surrogate");
        v = v << 4 | (unsigned)h;
        ps->p++;
    }
    *out = v;
    return true;
}

static size_t put_utf8(unsigned char *o, unsigned cp) {
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* One escape after the backslash; writes its UTF-8 to *o. */
static bool escape(parser *ps, unsigned char **o) {
    if (ps->p >= ps->end) return at_end(ps, "unexpected end of text in an escape");
    unsigned char c = *ps->p++;
    static const unsigned char simple[128] = {
        ['"'] = '"',  ['\\'] = '\\', ['/'] = '/',  ['b'] = '\b',
        ['f'] = '\f', ['n'] = '\n',  ['r'] = '\r', ['t'] = '\t'};
    if (c < 128 && simple[c]) {
        *(*o)++ = simple[c];
        return true;
    }
    if (c != 'u') return fail(ps, ps->p - 1, "invalid escape");
    unsigned cp;
    if (!hex4(ps, &cp, false)) return false;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (ps->p >= ps->end) return at_end(ps, "unexpected end of text after a high surrogate");
        if (*ps->p != '\\') return fail(ps, ps->p, "expected a low surrogate after a high one");
        ps->p++;
        if (ps->p >= ps->end) return at_end(ps, "unexpected end of text after a high surrogate");
        if (*ps->p != 'u') return fail(ps, ps->p, "expected a low surrogate after a high one");
        ps->p++;
        unsigned lo;
        if (!hex4(ps, &lo, true)) return false;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    *o += put_utf8(*o, cp);
    return true;
}

/* A string at ps->p (the opening quote). Decoded into the arena. */
/* 1 for the bytes a string copies as they are: printable ASCII but '"' and
 * '\\'. One load per byte instead of four comparisons. */
static const unsigned char string_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static bool parse_string(parser *ps, chopin_str *out) {
    ps->p++;
    /* The decoded text is never longer than the encoded one: decode straight
     * into the arena's free tail when the rest of the text fits there (one
     * pass), else measure the string first. */
    size_t avail, rest = (size_t)(ps->end - ps->p);
    unsigned char *buf = arena_tail(ps->arena, &avail);
    bool in_tail = buf && avail > rest;
    if (!in_tail) {
        const unsigned char *scan = ps->p;
        while (scan < ps->end && *scan != '"') scan += *scan == '\\' ? 2 : 1;
        buf = arena_alloc(ps->arena, (size_t)(scan - ps->p) + 1);
    }
    if (!buf) return fail(ps, ps->p, "out of memory");
    unsigned char *o = buf;
    for (;;) {
        const unsigned char *run = ps->p;
        while (ps->p < ps->end && string_plain[*ps->p]) ps->p++;
        memcpy(o, run, (size_t)(ps->p - run));
        o += ps->p - run;
        if (ps->p >= ps->end) return at_end(ps, "unexpected end of text in a string");
        unsigned char c = *ps->p;
        if (c == '"') {
            ps->p++;
            break;
        }
        if (c == '\\') {
            ps->p++;
            if (!escape(ps, &o)) return false;
        } else if (c < 0x20) {
            return fail(ps, ps->p, "control character in a string (escape it)");
        } else {
            const unsigned char *bad;
            size_t n = utf8_seq(ps->p, ps->end, &bad);
            if (!n) {
                if (bad == ps->end) return at_end(ps, "unexpected end of text in a string");
                return fail(ps, bad, "invalid UTF-8");
            }
            memcpy(o, ps->p, n);
            o += n;
            ps->p += n;
        }
    }
    *o = 0;
    if (in_tail) arena_commit(ps->arena, (size_t)(o - buf) + 1);
    out->ptr = (const char *)buf;
    out->len = (size_t)(o - buf);
    return true;
}

/* --- Containers ------------------------------------------------------------------- */

/* The scratch stacks start in the parser (on the C stack): small documents
 * never touch malloc for them. */
static bool push_value(parser *ps, const chopin_json_value *v) {
    if (ps->num_values == ps->cap_values) {
        size_t ncap = ps->cap_values * 2;
        chopin_json_value *n = ps->values == ps->inline_values
                                   ? malloc(ncap * sizeof *n)
                                   : realloc(ps->values, ncap * sizeof *n);
        if (!n) return fail(ps, ps->p, "out of memory");
        if (ps->values == ps->inline_values) memcpy(n, ps->values, ps->num_values * sizeof *n);
        ps->values = n;
        ps->cap_values = ncap;
    }
    ps->values[ps->num_values++] = *v;
    return true;
}

static bool push_member(parser *ps, const chopin_json_member *m) {
    if (ps->num_members == ps->cap_members) {
        size_t ncap = ps->cap_members * 2;
        chopin_json_member *n = ps->members == ps->inline_members
                                    ? malloc(ncap * sizeof *n)
                                    : realloc(ps->members, ncap * sizeof *n);
        if (!n) return fail(ps, ps->p, "out of memory");
        if (ps->members == ps->inline_members) memcpy(n, ps->members, ps->num_members * sizeof *n);
        ps->members = n;
        ps->cap_members = ncap;
    }
    ps->members[ps->num_members++] = *m;
    return true;
}

static bool parse_array(parser *ps, chopin_json_value *out) {
    ps->p++;
    size_t base = ps->num_values;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
    } else {
        for (;;) {
            chopin_json_value item;
            if (!parse_value(ps, &item) || !push_value(ps, &item)) return false;
            skip_ws(ps);
            if (ps->p >= ps->end) return at_end(ps, "unexpected end of text in an array");
            if (*ps->p == ']') {
                ps->p++;
                break;
            }
            if (*ps->p != ',') return fail(ps, ps->p, "expected ',' or ']' after an array item");
            ps->p++;
        }
    }
    size_t count = ps->num_values - base;
    out->type = CHOPIN_JSON_ARRAY;
    out->u.arr.count = count;
    out->u.arr.items = NULL;
    if (count) {
        out->u.arr.items = arena_alloc(ps->arena, count * sizeof *out->u.arr.items);
        if (!out->u.arr.items) return fail(ps, ps->p, "out of memory");
        memcpy(out->u.arr.items, ps->values + base, count * sizeof *out->u.arr.items);
    }
    ps->num_values = base;
    return true;
}

static bool parse_object(parser *ps, chopin_json_value *out) {
    ps->p++;
    size_t base = ps->num_members;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
    } else {
        for (;;) {
            chopin_json_member m;
            skip_ws(ps);
            if (ps->p >= ps->end) return at_end(ps, "unexpected end of text in an object");
            if (*ps->p != '"') return fail(ps, ps->p, "expected a string key");
            if (!parse_string(ps, &m.key)) return false;
            skip_ws(ps);
            if (ps->p >= ps->end) return at_end(ps, "unexpected end of text in an object");
            if (*ps->p != ':') return fail(ps, ps->p, "expected ':' after a key");
            ps->p++;
            if (!parse_value(ps, &m.value) || !push_member(ps, &m)) return false;
            skip_ws(ps);
            if (ps->p >= ps->end) return at_end(ps, "unexpected end of text in an object");
            if (*ps->p == '}') {
                ps->p++;
                break;
            }
            if (*ps->p != ',') return fail(ps, ps->p, "expected ',' or '}' after an object member");
            ps->p++;
        }
    }
    size_t count = ps->num_members - base;
    out->type = CHOPIN_JSON_OBJECT;
    out->u.obj.count = count;
    out->u.obj.members = NULL;
    if (count) {
        out->u.obj.members = arena_alloc(ps->arena, count * sizeof *out->u.obj.members);
        if (!out->u.obj.members) return fail(ps, ps->p, "out of memory");
        memcpy(out->u.obj.members, ps->members + base, count * sizeof *out->u.obj.members);
    }
    ps->num_members = base;
    return true;
}

static bool parse_value(parser *ps, chopin_json_value *out) {
    skip_ws(ps);
    if (ps->p >= ps->end) return at_end(ps, "expected a value");
    out->is_int = false;
    switch (*ps->p) {
    case '{':
    case '[': {
        if (ps->depth == CHOPIN_JSON_MAX_NESTING) return fail(ps, ps->p, "nested too deeply");
        ps->depth++;
        bool ok = *ps->p == '{' ? parse_object(ps, out) : parse_array(ps, out);
        ps->depth--;
        return ok;
    }
    case '"':
        out->type = CHOPIN_JSON_STRING;
        return parse_string(ps, &out->u.str);
    case 't':
        out->type = CHOPIN_JSON_BOOL;
        out->u.b = true;
        return literal(ps, "true", 4);
    case 'f':
        out->type = CHOPIN_JSON_BOOL;
        out->u.b = false;
        return literal(ps, "false", 5);
    case 'n':
        out->type = CHOPIN_JSON_NULL;
        return literal(ps, "null", 4);
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) return parse_number(ps, out);
        return fail(ps, ps->p, "expected a value");
    }
}

static const chopin_json_value *parse_text(chopin_arena *arena, const char *text, size_t len,
                                           chopin_json_error *err) {
    chopin_json_error local;
    if (!err) err = &local;
    err->offset = 0;
    err->message = NULL;
    parser ps;
    if (!text) text = ""; /* an empty body is {NULL, 0}: no arithmetic on NULL */
    ps.start = ps.p = (const unsigned char *)text;
    ps.end = ps.start + len;
    ps.arena = arena;
    ps.err = err;
    ps.depth = 0;
    ps.values = ps.inline_values;
    ps.members = ps.inline_members;
    ps.num_values = ps.num_members = 0;
    ps.cap_values = sizeof ps.inline_values / sizeof ps.inline_values[0];
    ps.cap_members = sizeof ps.inline_members / sizeof ps.inline_members[0];
    chopin_json_value *root = arena_alloc(arena, sizeof *root);
    bool ok = root && parse_value(&ps, root);
    if (ok) {
        skip_ws(&ps);
        if (ps.p != ps.end) ok = fail(&ps, ps.p, "expected end of text");
    } else if (!root) {
        fail(&ps, ps.p, "out of memory");
    }
    if (ps.values != ps.inline_values) free(ps.values);
    if (ps.members != ps.inline_members) free(ps.members);
    return ok ? root : NULL;
}

const chopin_json_value *chopin_json_parse(chopin_ctx *c, const char *text, size_t len,
                                           chopin_json_error *err) {
    return parse_text(c->arena, text, len, err);
}

struct chopin_json_doc {
    chopin_arena arena;
    const chopin_json_value *root;
};

chopin_json_doc *chopin_json_doc_parse(const char *text, size_t len, chopin_json_error *err) {
    chopin_json_doc *doc = malloc(sizeof *doc);
    if (!doc) {
        if (err) err->offset = 0, err->message = "out of memory";
        return NULL;
    }
    /* A tree takes about twice its text: size the first chunk for that. */
    size_t first = len < 128 ? 256 : len * 2;
    arena_init_sized(&doc->arena, first > (8u << 20) ? 8u << 20 : first);
    doc->root = parse_text(&doc->arena, text, len, err);
    if (!doc->root) {
        chopin_json_doc_free(doc);
        return NULL;
    }
    return doc;
}

const chopin_json_value *chopin_json_doc_root(const chopin_json_doc *doc) {
    return doc->root;
}

chopin_json_doc *chopin_json_doc_new(void) {
    chopin_json_doc *doc = malloc(sizeof *doc);
    if (!doc) return NULL;
    arena_init(&doc->arena);
    doc->root = NULL;
    return doc;
}

const chopin_json_value *chopin_json_doc_reparse(chopin_json_doc *doc, const char *text, size_t len,
                                                 chopin_json_error *err) {
    arena_reset(&doc->arena); /* keeps the first chunk: no malloc for small texts */
    doc->root = parse_text(&doc->arena, text, len, err);
    return doc->root;
}

void chopin_json_doc_free(chopin_json_doc *doc) {
    if (!doc) return;
    arena_destroy(&doc->arena);
    free(doc);
}

const chopin_json_value *chopin_json_get(const chopin_json_value *obj, const char *key) {
    if (!obj || obj->type != CHOPIN_JSON_OBJECT) return NULL;
    size_t n = strlen(key);
    for (size_t i = obj->u.obj.count; i-- > 0;) {
        const chopin_json_member *m = &obj->u.obj.members[i];
        if (m->key.len == n && memcmp(m->key.ptr, key, n) == 0) return &m->value;
    }
    return NULL;
}
