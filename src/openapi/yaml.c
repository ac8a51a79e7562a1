/* yaml.c - the OpenAPI document as YAML, converted from its JSON text.
 *
 * Block style, 2-space indentation, and every key and string double-quoted
 * with JSON's escapes (all of which YAML shares). A double-quoted scalar is
 * never resolved to a number, boolean, null, date or merge key, under YAML 1.1
 * (PyYAML and much tooling) or 1.2 alike, so no plain-scalar quoting rules are
 * needed. Numbers are written so that both versions read them back with the
 * type and value JSON gave them. */
#include "openapi_internal.h"

#include "chopin/json_read.h"
#include "../core/core.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* YAML limits an implicit (single-line) key to 1024 characters from its first
 * character to the ':'. A quoted key longer than this, in bytes (never fewer
 * than its characters), is written as an explicit "? key" entry instead. */
#define IMPLICIT_KEY_MAX 1024

typedef struct {
    chopin_buf b;
    bool failed; /* sticky: memory ran out, the output is incomplete */
} out;

static void put(out *o, const void *p, size_t n) {
    if (!o->failed && buf_append(NULL, &o->b, p, n)) o->failed = true;
}

static void put_str(out *o, const char *s) {
    put(o, s, strlen(s));
}

static void put_indent(out *o, size_t n) {
    static const char spaces[] = "                                ";
    while (n) {
        size_t k = n < sizeof spaces - 1 ? n : sizeof spaces - 1;
        put(o, spaces, k);
        n -= k;
    }
}

/* --- Strings ------------------------------------------------------------------- */

/* The code point at s and its length in bytes. The reader hands over valid
 * UTF-8 only; should a stray byte appear anyway, it is passed on alone, as is,
 * rather than read beyond the string (*cp is then UINT32_MAX). */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp) {
    size_t len = s[0] < 0x80 ? 1 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
    if (len > n || (s[0] >= 0x80 && s[0] < 0xc0)) {
        *cp = UINT32_MAX;
        return 1;
    }
    uint32_t v = len == 1 ? s[0] : s[0] & (0x7fu >> len);
    for (size_t i = 1; i < len; i++) v = v << 6 | (s[i] & 0x3fu);
    *cp = v;
    return len;
}

/* Characters that may not appear raw in a YAML stream (C0 and C1 controls,
 * DEL, the noncharacters U+FFFE/U+FFFF: PyYAML rejects the document), that
 * YAML 1.1 reads as line breaks (NEL U+0085, LS U+2028, PS U+2029), or that
 * some readers strip wherever they find it (the byte order mark U+FEFF). Raw
 * tabs and line breaks are allowed but would be folded in a quoted scalar. */
static bool must_escape(uint32_t cp) {
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0xfeff || cp == 0xfffe || cp == 0xffff;
}

/* The escape for cp, or NULL: the short forms JSON has, and \uXXXX (in
 * lowercase, as the JSON writer does) written into esc for the rest, all of
 * which must_escape keeps within U+FFFF. */
static const char *escape_of(uint32_t cp, char esc[7]) {
    switch (cp) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\n':
        return "\\n";
    case '\t':
        return "\\t";
    case '\r':
        return "\\r";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    }
    if (!must_escape(cp)) return NULL;
    static const char hex[] = "0123456789abcdef";
    esc[0] = '\\';
    esc[1] = 'u';
    for (int i = 0; i < 4; i++) esc[2 + i] = hex[cp >> (12 - 4 * i) & 15];
    esc[6] = 0;
    return esc;
}

/* s as a double-quoted scalar; runs that need no escape are copied whole. */
static void put_quoted(out *o, const char *s, size_t len) {
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0; /* start of the bytes not yet written */
    put(o, "\"", 1);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_next(u + i, len - i, &cp);
        char buf[7];
        const char *esc = escape_of(cp, buf);
        if (esc) {
            put(o, s + run, i - run);
            put_str(o, esc);
            run = i + n;
        }
        i += n;
    }
    put(o, s + run, len - run);
    put(o, "\"", 1);
}

/* --- Numbers ------------------------------------------------------------------- */

/* A double as a float under YAML 1.1 and 1.2: the shortest of %.15g..%.17g
 * that reads back as d, always with a '.', because YAML 1.1 takes "1e+20"
 * for a string and "100" for an integer. The text is rebuilt from its
 * characters' classes so that a process locale with a decimal comma cannot
 * leak in (snprintf and strtod share it, so the round trip check holds). */
static void put_double(out *o, double d) {
    /* The reader turns JSON numbers too large for a double (1e400) into
     * infinities; JSON has no NaN, but it costs nothing to cover. */
    if (isnan(d) || isinf(d)) {
        put_str(o, isnan(d) ? ".nan" : d < 0 ? "-.inf" : ".inf");
        return;
    }
    char tmp[48], text[48];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d) break;
    }
    size_t n = 0;
    bool dot = false;
    const char *p = tmp;
    for (; *p && *p != 'e'; p++) {
        if ((*p >= '0' && *p <= '9') || *p == '-') {
            text[n++] = *p;
        } else if (!dot) { /* the decimal point, however the locale spells it */
            text[n++] = '.';
            dot = true;
        }
    }
    if (!dot) { /* 100 -> 100.0, -0 -> -0.0, 1e+20 -> 1.0e+20 */
        memcpy(text + n, ".0", 2);
        n += 2;
    }
    put(o, text, n);
    put_str(o, p); /* the exponent, if any: 'e', a sign, two or three digits */
}

static void put_number(out *o, const chopin_json_value *v) {
    if (!v->is_int) {
        put_double(o, v->u.num.d);
        return;
    }
    char text[24];
    int n = snprintf(text, sizeof text, "%" PRId64, v->u.num.i);
    put(o, text, (size_t)n);
}

/* --- Nodes --------------------------------------------------------------------- */

/* A container with something in it takes the following lines (block style);
 * everything else, empty containers included, fits after "key: " or "- ". */
static bool is_block(const chopin_json_value *v) {
    return (v->type == CHOPIN_JSON_ARRAY && v->u.arr.count) ||
           (v->type == CHOPIN_JSON_OBJECT && v->u.obj.count);
}

static void put_inline(out *o, const chopin_json_value *v) {
    switch (v->type) {
    case CHOPIN_JSON_NULL:
        put_str(o, "null");
        break;
    case CHOPIN_JSON_BOOL:
        put_str(o, v->u.b ? "true" : "false");
        break;
    case CHOPIN_JSON_NUMBER:
        put_number(o, v);
        break;
    case CHOPIN_JSON_STRING:
        put_quoted(o, v->u.str.ptr, v->u.str.len);
        break;
    case CHOPIN_JSON_ARRAY:
        put_str(o, "[]");
        break;
    case CHOPIN_JSON_OBJECT:
        put_str(o, "{}");
        break;
    }
}

static void put_block(out *o, const chopin_json_value *v, size_t indent, bool first_inline);

/* After "- " or "key:": an inline value ends the line; a block value starts
 * either on this line (in a sequence, "- - x" and "- key: x" are the compact
 * YAML forms) or on the next lines, two spaces deeper. */
static void put_value(out *o, const chopin_json_value *v, size_t indent, bool same_line) {
    if (!is_block(v)) {
        put(o, " ", 1);
        put_inline(o, v);
        put(o, "\n", 1);
    } else if (same_line) {
        put(o, " ", 1);
        put_block(o, v, indent + 2, true);
    } else {
        put(o, "\n", 1);
        put_block(o, v, indent + 2, false);
    }
}

/* A key and its ':'. Written first as an explicit "? key", the "? " is taken
 * back when the key turns out short enough to be implicit, which is nearly
 * always; a long one keeps it and puts the ':' on the next line. */
static void put_key(out *o, chopin_str key, size_t indent) {
    size_t start = o->b.len;
    put(o, "? ", 2);
    put_quoted(o, key.ptr, key.len);
    if (o->failed) return;
    if (o->b.len - start - 2 <= IMPLICIT_KEY_MAX) {
        memmove(o->b.data + start, o->b.data + start + 2, o->b.len - start - 2);
        o->b.len -= 2;
    } else {
        put(o, "\n", 1);
        put_indent(o, indent);
    }
    put(o, ":", 1);
}

/* first_inline: the first line's indentation is already written ("- "). */
static void put_block(out *o, const chopin_json_value *v, size_t indent, bool first_inline) {
    if (v->type == CHOPIN_JSON_ARRAY) {
        for (size_t i = 0; i < v->u.arr.count; i++) {
            if (i || !first_inline) put_indent(o, indent);
            put(o, "-", 1);
            put_value(o, &v->u.arr.items[i], indent, true);
        }
        return;
    }
    for (size_t i = 0; i < v->u.obj.count; i++) {
        const chopin_json_member *m = &v->u.obj.members[i];
        if (i || !first_inline) put_indent(o, indent);
        put_key(o, m->key, indent);
        put_value(o, &m->value, indent, false);
    }
}

char *openapi_yaml_from_json(const char *json, size_t len) {
    if (!json) return NULL;
    chopin_json_error err = {0};
    chopin_json_doc *doc = chopin_json_doc_parse(json, len, &err);
    if (!doc) return NULL;
    const chopin_json_value *root = chopin_json_doc_root(doc);
    out o = {{0}, false};
    if (is_block(root)) {
        put_block(&o, root, 0, false);
    } else {
        put_inline(&o, root);
        put(&o, "\n", 1);
    }
    put(&o, "", 1); /* the terminating NUL */
    chopin_json_doc_free(doc);
    if (o.failed) {
        buf_release(NULL, &o.b);
        return NULL;
    }
    return o.b.data;
}
