/* test_json_read_conformance.c - the JSON reader against RFC 8259, rule by
 * rule.
 *
 * The conformance table: each row is an input (explicit length, so NUL bytes
 * work), and either the decoded tree it must give (a canonical dump, see
 * dump()) or the byte offset of the error. The offset is the one a careful
 * parser reports: the length of the longest prefix of the input that can
 * still grow into a valid JSON text, i.e. the offset of the first byte that
 * makes the text invalid, or the length of the input when it is cut short.
 *
 * Every input is parsed from an exact-size malloc'd copy
 * (json_read_fixture.h), so AddressSanitizer catches a read past the end.
 * Every accepted row is also parsed cut at every byte: a prefix is accepted
 * only when it is itself a complete text (the whole value with part of the
 * trailing whitespace, or a top-level number cut where the number grammar
 * allows), and otherwise rejected at its length.
 *
 * Then: exhaustive single-byte loops, and nesting at the limit. Numbers are
 * tested in test_json_read_numbers.c, the reader in use (chopin_json_get, in
 * a handler, documents reused) in test_json_read_api.c. */
#include "json_read_fixture.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

/* --- Helpers ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *in;
    size_t len;
    const char *want; /* dump of the accepted tree; NULL: rejected */
    size_t off;       /* when rejected: the error offset */
} row;

#define OK(name, lit, dump)                                                                        \
    { name, lit, sizeof(lit) - 1, dump, 0 }
#define NO(name, lit, off)                                                                         \
    { name, lit, sizeof(lit) - 1, NULL, off }

typedef struct {
    char s[1 << 16];
    size_t n;
} dumpbuf;

static void put(dumpbuf *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(dumpbuf *d, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(d->s + d->n, sizeof d->s - d->n, fmt, ap);
    va_end(ap);
    cr_assert(n >= 0 && (size_t)n < sizeof d->s - d->n, "dump too long");
    d->n += (size_t)n;
}

/* Shortest of %.15g, %.16g, %.17g that reads back as v ("inf", "-0" as printf says). */
static void put_double(dumpbuf *d, double v) {
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (!isfinite(v) || strtod(tmp, NULL) == v) break;
    }
    put(d, "%s", tmp);
}

static void put_str(dumpbuf *d, chopin_str s) {
    cr_assert_not_null(s.ptr, "string without a pointer");
    cr_assert_eq(s.ptr[s.len], '\0', "string not NUL-terminated");
    put(d, "'");
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\')
            put(d, "\\x%02x", c);
        else
            put(d, "%c", c);
    }
    put(d, "'");
}

/* The canonical dump: null true false; integers (is_int) as #i, other
 * numbers as put_double(d); strings in single quotes with \xHH for bytes
 * outside 0x20..0x7e and for ' and \; [a,b] and {'k':v}. Checks on the way
 * that an is_int number's d is i as a double and that strings end in NUL. */
static void dump(dumpbuf *d, const chopin_json_value *v) {
    switch (v->type) {
    case CHOPIN_JSON_NULL:
        put(d, "null");
        break;
    case CHOPIN_JSON_BOOL:
        put(d, v->u.b ? "true" : "false");
        break;
    case CHOPIN_JSON_NUMBER:
        if (v->is_int) {
            cr_assert(v->u.num.d == (double)v->u.num.i, "is_int %" PRId64 " but d %.17g",
                      v->u.num.i, v->u.num.d);
            put(d, "#%" PRId64, v->u.num.i);
        } else {
            put_double(d, v->u.num.d);
        }
        break;
    case CHOPIN_JSON_STRING:
        put_str(d, v->u.str);
        break;
    case CHOPIN_JSON_ARRAY:
        cr_assert(v->u.arr.count == 0 || v->u.arr.items, "array items NULL");
        put(d, "[");
        for (size_t i = 0; i < v->u.arr.count; i++) {
            if (i) put(d, ",");
            dump(d, &v->u.arr.items[i]);
        }
        put(d, "]");
        break;
    case CHOPIN_JSON_OBJECT:
        cr_assert(v->u.obj.count == 0 || v->u.obj.members, "object members NULL");
        put(d, "{");
        for (size_t i = 0; i < v->u.obj.count; i++) {
            if (i) put(d, ",");
            put_str(d, v->u.obj.members[i].key);
            put(d, ":");
            dump(d, &v->u.obj.members[i].value);
        }
        put(d, "}");
        break;
    default:
        cr_assert_fail("bad type %d", (int)v->type);
    }
}

static const char *dump_root(dumpbuf *d, const chopin_json_doc *doc) {
    d->n = 0;
    d->s[0] = 0;
    const chopin_json_value *root = chopin_json_doc_root(doc);
    cr_assert_not_null(root);
    dump(d, root);
    return d->s;
}

static bool is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* RFC 8259 section 6, written out on its own: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? */
static bool number_text(const char *s, size_t n) {
    size_t i = 0;
    if (i < n && s[i] == '-') i++;
    if (i >= n) return false;
    if (s[i] == '0') {
        i++;
    } else if (s[i] >= '1' && s[i] <= '9') {
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    } else {
        return false;
    }
    if (i < n && s[i] == '.') {
        i++;
        size_t start = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == start) return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t start = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == start) return false;
    }
    return i == n;
}

static dumpbuf dbuf;

/* Parses a row whole and, when it is accepted, cut at every byte. */
static void check_row(const row *r) {
    parsed p = parse_exact(r->in, r->len);
    if (!r->want) {
        cr_expect_null(p.doc, "%s: accepted, expected an error at %zu", r->name, r->off);
        if (!p.doc) {
            cr_expect_not_null(p.err.message, "%s: no error message", r->name);
            cr_expect_eq(p.err.offset, r->off, "%s: error at %zu (%s), expected %zu", r->name,
                         p.err.offset, p.err.message ? p.err.message : "?", r->off);
        }
        parsed_free(&p);
        /* The prefix before the bad byte can still become valid: it is
         * accepted (a complete number such as "0" of "01") or cut short. */
        if (r->off < r->len) {
            parsed q = parse_exact(r->in, r->off);
            if (!q.doc)
                cr_expect_eq(q.err.offset, r->off, "%s: prefix of %zu rejected at %zu (%s)",
                             r->name, r->off, q.err.offset, q.err.message);
            parsed_free(&q);
        }
        return;
    }
    if (!p.doc) {
        cr_expect_not_null(p.doc, "%s: rejected at %zu (%s), expected %s", r->name, p.err.offset,
                           p.err.message ? p.err.message : "?", r->want);
        parsed_free(&p);
        return;
    }
    const char *got = dump_root(&dbuf, p.doc);
    cr_expect_str_eq(got, r->want, "%s: got %s, expected %s", r->name, got, r->want);
    parsed_free(&p);

    size_t a = 0, b = r->len;
    while (a < r->len && is_ws(r->in[a])) a++;
    while (b > a && is_ws(r->in[b - 1])) b--;
    bool top_number = a < b && (r->in[a] == '-' || (r->in[a] >= '0' && r->in[a] <= '9'));
    for (size_t k = 0; k < r->len; k++) {
        parsed q = parse_exact(r->in, k);
        bool want_ok = k >= b || (top_number && k > a && number_text(r->in + a, k - a));
        if (want_ok) {
            cr_expect_not_null(q.doc, "%s: prefix of %zu bytes rejected at %zu (%s)", r->name, k,
                               q.err.offset, q.err.message ? q.err.message : "?");
            if (q.doc && k >= b) {
                const char *pg = dump_root(&dbuf, q.doc);
                cr_expect_str_eq(pg, r->want, "%s: prefix of %zu: %s", r->name, k, pg);
            }
        } else {
            cr_expect_null(q.doc, "%s: prefix of %zu bytes accepted", r->name, k);
            if (!q.doc)
                cr_expect_eq(q.err.offset, k, "%s: prefix of %zu bytes rejected at %zu (%s)",
                             r->name, k, q.err.offset, q.err.message ? q.err.message : "?");
        }
        parsed_free(&q);
    }
}

/* --- The conformance table ---------------------------------------------------- */

static const row rows[] = {
    /* RFC 8259 section 2: JSON-text = ws value ws; any value at the top. */
    OK("top number", "1", "#1"),
    OK("top string", "\"s\"", "'s'"),
    OK("top null", "null", "null"),
    OK("top true", "true", "true"),
    OK("top false", "false", "false"),
    OK("top empty array", "[]", "[]"),
    OK("top empty object", "{}", "{}"),
    NO("empty input", "", 0),
    NO("whitespace only: SP", " ", 1),
    NO("whitespace only: all four", " \t\n\r", 4),
    NO("two values", "1 2", 2),
    NO("object then garbage", "{} x", 3),
    NO("two arrays", "[][]", 2),
    NO("value then comma", "[1],", 3),
    NO("string then string", "\"a\"\"b\"", 3),
    NO("true false", "true false", 5),
    NO("NUL after a value", "1\0", 1),
    NO("NUL before a value",
       "\0"
       "1",
       0),
    NO("lone ]", "]", 0),
    NO("lone }", "}", 0),
    NO("lone comma", ",", 0),
    NO("lone colon", ":", 0),
    NO("comment //", "[1]//", 3),
    NO("comment /* */ before", "/**/1", 0),
    NO("comment inside an array", "[1/*x*/]", 2),
    NO("single-quoted string", "'a'", 0),
    NO("UTF-8 outside a string", "\xC3\xA9", 0),

    /* Section 2: ws = SP / HTAB / LF / CR, and nothing else. */
    OK("ws around a number", " 1 ", "#1"),
    OK("all four ws around", " \t\n\r1 \t\n\r", "#1"),
    OK("ws inside an array", "[ 1 , 2 ]", "[#1,#2]"),
    OK("ws inside an object", " { \"a\" : 1 , \"b\" :\n2 } ", "{'a':#1,'b':#2}"),
    OK("ws inside an empty array", "[ \t\r\n]", "[]"),
    OK("ws inside an empty object", "{ \n}", "{}"),
    OK("tab-indented document", "{\n\t\"a\": [\r\n\t\t1\r\n\t]\n}\n", "{'a':[#1]}"),
    NO("form feed before", "\f1", 0),
    NO("form feed after", "1\f", 1),
    NO("vertical tab before", "\v1", 0),
    NO("vertical tab in an array", "[\v1]", 1),
    NO("vertical tab before a colon", "{\"a\"\v:1}", 4),
    NO("NBSP before",
       "\xC2\xA0"
       "1",
       0),
    NO("NBSP after", "1\xC2\xA0", 1),
    NO("BOM",
       "\xEF\xBB\xBF"
       "1",
       0),
    NO("U+2028 before",
       "\xE2\x80\xA8"
       "1",
       0),
    NO("NUL in an array",
       "[\0"
       "1]",
       1),

    /* Section 3: the literals, lowercase, exactly. */
    OK("literals in an array", "[true,false,null]", "[true,false,null]"),
    NO("tru", "tru", 3),
    NO("nul", "nul", 3),
    NO("fals", "fals", 4),
    NO("t", "t", 1),
    NO("True", "True", 0),
    NO("NULL", "NULL", 0),
    NO("FALSE", "FALSE", 0),
    NO("trUe", "trUe", 2),
    NO("nulL", "nulL", 3),
    NO("fasle", "fasle", 2),
    NO("truex", "truex", 4),
    NO("true1", "true1", 4),
    NO("nullnull", "nullnull", 4),
    NO("NaN", "NaN", 0),
    NO("nan", "nan", 1),
    NO("Infinity", "Infinity", 0),
    NO("-Infinity", "-Infinity", 1),
    NO("inf", "inf", 0),
    NO("undefined", "undefined", 0),
    NO("tru in an array", "[tru]", 4),
    NO("NaN in an array", "[NaN]", 1),

    /* Section 6: number = [ minus ] int [ frac ] [ exp ]. */
    OK("0", "0", "#0"),
    OK("-0", "-0", "#0"),
    OK("10", "10", "#10"),
    OK("-123", "-123", "#-123"),
    OK("1e5", "1e5", "100000"),
    OK("1E5", "1E5", "100000"),
    OK("1E+5", "1E+5", "100000"),
    OK("1e-5", "1e-5", "1e-05"),
    OK("0.5", "0.5", "0.5"),
    OK("-0.0", "-0.0", "-0"),
    OK("1.0 is not an integer text", "1.0", "1"),
    OK("1e+0", "1e+0", "1"),
    OK("0e0", "0e0", "0"),
    OK("-0e-0", "-0e-0", "-0"),
    OK("1.5e3", "1.5e3", "1500"),
    OK("exponent with leading zeros", "1e007", "10000000"),
    OK("pi", "3.141592653589793", "3.141592653589793"),
    OK("0.1", "0.1", "0.1"),
    OK("int64 max", "9223372036854775807", "#9223372036854775807"),
    OK("int64 min", "-9223372036854775808", "#-9223372036854775808"),
    OK("int64 max + 1", "9223372036854775808", "9.223372036854776e+18"),
    OK("int64 min - 1", "-9223372036854775809", "-9.223372036854776e+18"),
    OK("1e400 overflows to inf", "1e400", "inf"),
    OK("-1e400 overflows to -inf", "-1e400", "-inf"),
    OK("1e-400 underflows to 0", "1e-400", "0"),
    OK("-1e-400 underflows to -0", "-1e-400", "-0"),
    OK("30 digits", "123456789012345678901234567890", "1.2345678901234568e+29"),
    OK("numbers in an array", "[0,-1,2.5,-3e2]", "[#0,#-1,2.5,-300]"),
    NO("01", "01", 1),
    NO("-01", "-01", 2),
    NO("00", "00", 1),
    NO("octal 017", "017", 1),
    NO("1.", "1.", 2),
    NO(".5", ".5", 0),
    NO("+1", "+1", 0),
    NO("1e", "1e", 2),
    NO("1e+", "1e+", 3),
    NO("1E-", "1E-", 3),
    NO("-", "-", 1),
    NO("--1", "--1", 1),
    NO("0x10", "0x10", 1),
    NO("0X1", "0X1", 1),
    NO("1.e5", "1.e5", 2),
    NO("1..2", "1..2", 2),
    NO("1.2.3", "1.2.3", 3),
    NO("1e5.5", "1e5.5", 3),
    NO("1ee5", "1ee5", 2),
    NO("1e+-5", "1e+-5", 3),
    NO("1e--5", "1e--5", 3),
    NO("- 1", "- 1", 1),
    NO("-.5", "-.5", 1),
    NO("1 .5", "1 .5", 2),
    NO("1a", "1a", 1),
    NO("-a", "-a", 1),
    NO("1.5e", "1.5e", 4),
    NO("0.-1", "0.-1", 2),
    NO("1,", "1,", 1),
    NO("[01]", "[01]", 2),
    NO("[1.]", "[1.]", 3),
    NO("[-]", "[-]", 2),

    /* Section 7: strings, escapes, \u with surrogate pairs. */
    OK("empty string", "\"\"", "''"),
    OK("escape \\\"", "\"\\\"\"", "'\"'"),
    OK("escape \\\\", "\"\\\\\"", "'\\x5c'"),
    OK("escape \\/", "\"\\/\"", "'/'"),
    OK("escape \\b", "\"\\b\"", "'\\x08'"),
    OK("escape \\f", "\"\\f\"", "'\\x0c'"),
    OK("escape \\n", "\"\\n\"", "'\\x0a'"),
    OK("escape \\r", "\"\\r\"", "'\\x0d'"),
    OK("escape \\t", "\"\\t\"", "'\\x09'"),
    OK("all short escapes", "\"a\\\"\\\\\\/\\b\\f\\n\\r\\tz\"",
       "'a\"\\x5c/\\x08\\x0c\\x0a\\x0d\\x09z'"),
    OK("\\u0000 keeps the NUL", "\"a\\u0000b\"", "'a\\x00b'"),
    OK("\\u0041", "\"\\u0041\"", "'A'"),
    OK("\\u00e9", "\"\\u00e9\"", "'\\xc3\\xa9'"),
    OK("\\u00E9 uppercase hex", "\"\\u00E9\"", "'\\xc3\\xa9'"),
    OK("\\u007f", "\"\\u007f\"", "'\\x7f'"),
    OK("\\u0080", "\"\\u0080\"", "'\\xc2\\x80'"),
    OK("\\u07FF", "\"\\u07FF\"", "'\\xdf\\xbf'"),
    OK("\\u0800", "\"\\u0800\"", "'\\xe0\\xa0\\x80'"),
    OK("\\u20AC", "\"\\u20AC\"", "'\\xe2\\x82\\xac'"),
    OK("\\uD7FF", "\"\\uD7FF\"", "'\\xed\\x9f\\xbf'"),
    OK("\\uE000", "\"\\uE000\"", "'\\xee\\x80\\x80'"),
    OK("\\uFFFF", "\"\\uFFFF\"", "'\\xef\\xbf\\xbf'"),
    OK("surrogate pair U+1F600", "\"\\uD83D\\uDE00\"", "'\\xf0\\x9f\\x98\\x80'"),
    OK("surrogate pair lowercase", "\"\\ud83d\\ude00\"", "'\\xf0\\x9f\\x98\\x80'"),
    OK("surrogate pair U+10000", "\"\\uD800\\uDC00\"", "'\\xf0\\x90\\x80\\x80'"),
    OK("surrogate pair U+10FFFF", "\"\\uDBFF\\uDFFF\"", "'\\xf4\\x8f\\xbf\\xbf'"),
    OK("escapes between text", "\"a\\nb\"", "'a\\x0ab'"),
    OK("single quote inside", "\"'\"", "'\\x27'"),
    OK("spaces kept", "\" a b \"", "' a b '"),
    NO("unterminated", "\"abc", 4),
    NO("just a quote", "\"", 1),
    NO("backslash at the end", "\"\\", 2),
    NO("escape \\x", "\"\\x\"", 2),
    NO("escape \\'", "\"\\'\"", 2),
    NO("escape \\U0041", "\"\\U0041\"", 2),
    NO("escape \\a", "\"\\a\"", 2),
    NO("escape \\0", "\"\\0\"", 2),
    NO("escape \\ space", "\"\\ \"", 2),
    NO("short \\u12", "\"\\u12\"", 5),
    NO("\\u12 at the end", "\"\\u12", 5),
    NO("\\u00g0", "\"\\u00g0\"", 5),
    NO("\\u-123", "\"\\u-123\"", 3),
    NO("lone high surrogate", "\"\\uD800\"", 7),
    NO("lone high surrogate at the end", "\"\\uD800", 7),
    NO("high surrogate then a letter", "\"\\uD83Dx\"", 7),
    NO("high surrogate then \\n", "\"\\uD800\\n\"", 8),
    NO("high surrogate then \\u0041", "\"\\uD800\\u0041\"", 9),
    NO("high surrogate then a high one", "\"\\uD800\\uD800\"", 10),
    NO("high surrogate then \\uE000", "\"\\uD800\\uE000\"", 9),
    NO("high then low cut short", "\"\\uD800\\uDC", 11),
    NO("lone low surrogate DC00", "\"\\uDC00\"", 4),
    NO("lone low surrogate DFFF", "\"\\uDFFF\"", 4),
    NO("pair reversed", "\"\\uDE00\\uD83D\"", 4),
    NO("lone low surrogate cut short", "\"\\uDC0", 4),
    NO("lone low surrogate cut after C", "\"\\uDC", 4),
    NO("raw newline", "\"a\nb\"", 2),
    NO("raw tab", "\"\t\"", 1),
    NO("raw NUL", "\"\0\"", 1),
    NO("raw 0x1f", "\"\x1f\"", 1),

    /* Section 8.1: UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
    OK("DEL raw", "\"\x7f\"", "'\\x7f'"),
    OK("UTF-8 2 bytes", "\"\xC3\xA9\"", "'\\xc3\\xa9'"),
    OK("UTF-8 3 bytes", "\"\xE2\x82\xAC\"", "'\\xe2\\x82\\xac'"),
    OK("UTF-8 4 bytes", "\"\xF0\x9F\x98\x80\"", "'\\xf0\\x9f\\x98\\x80'"),
    OK("UTF-8 U+0080", "\"\xC2\x80\"", "'\\xc2\\x80'"),
    OK("UTF-8 U+0800", "\"\xE0\xA0\x80\"", "'\\xe0\\xa0\\x80'"),
    OK("UTF-8 U+D7FF", "\"\xED\x9F\xBF\"", "'\\xed\\x9f\\xbf'"),
    OK("UTF-8 U+E000", "\"\xEE\x80\x80\"", "'\\xee\\x80\\x80'"),
    OK("UTF-8 U+FFFF", "\"\xEF\xBF\xBF\"", "'\\xef\\xbf\\xbf'"),
    OK("UTF-8 U+10000", "\"\xF0\x90\x80\x80\"", "'\\xf0\\x90\\x80\\x80'"),
    OK("UTF-8 U+40000", "\"\xF1\x80\x80\x80\"", "'\\xf1\\x80\\x80\\x80'"),
    OK("UTF-8 U+10FFFF", "\"\xF4\x8F\xBF\xBF\"", "'\\xf4\\x8f\\xbf\\xbf'"),
    OK("UTF-8 mixed with escapes", "\"\\n\xC3\xA9x\"", "'\\x0a\\xc3\\xa9x'"),
    NO("stray continuation 80", "\"\x80\"", 1),
    NO("stray continuation BF", "\"\xBF\"", 1),
    NO("overlong C0 AF", "\"\xC0\xAF\"", 1),
    NO("overlong C1 BF", "\"\xC1\xBF\"", 1),
    NO("overlong E0 80 AF", "\"\xE0\x80\xAF\"", 2),
    NO("overlong E0 9F BF", "\"\xE0\x9F\xBF\"", 2),
    NO("overlong F0 80 80 AF", "\"\xF0\x80\x80\xAF\"", 2),
    NO("overlong F0 8F BF BF", "\"\xF0\x8F\xBF\xBF\"", 2),
    NO("surrogate ED A0 80", "\"\xED\xA0\x80\"", 2),
    NO("surrogate ED BF BF", "\"\xED\xBF\xBF\"", 2),
    NO("above U+10FFFF F4 90 80 80", "\"\xF4\x90\x80\x80\"", 2),
    NO("F5", "\"\xF5\x80\x80\x80\"", 1),
    NO("F8", "\"\xF8\x88\x80\x80\x80\"", 1),
    NO("FE", "\"\xFE\"", 1),
    NO("FF", "\"\xFF\"", 1),
    NO("2-byte cut by the quote", "\"\xC3\"", 2),
    NO("3-byte cut by the quote", "\"\xE2\x82\"", 3),
    NO("4-byte cut by the quote", "\"\xF0\x9F\x98\"", 4),
    NO("2-byte cut at the end", "\"\xC3", 2),
    NO("4-byte cut at the end", "\"\xF0\x9F", 3),
    NO("lead then ASCII",
       "\"\xC3"
       "A\"",
       2),
    NO("lead then lead", "\"\xC3\xC3\xA9\"", 2),
    NO("one continuation too many", "\"\xC3\xA9\xA9\"", 3),
    NO("invalid UTF-8 in a key", "{\"\x80\":1}", 2),

    /* Sections 4 and 5: objects and arrays. */
    OK("nested arrays", "[[[]]]", "[[[]]]"),
    OK("mixed nesting", "{\"a\":[1,{\"b\":null}],\"c\":\"d\"}", "{'a':[#1,{'b':null}],'c':'d'}"),
    OK("every type in an array", "[null,true,false,0,\"\",[],{}]", "[null,true,false,#0,'',[],{}]"),
    OK("duplicate keys kept in order", "{\"a\":1,\"a\":2}", "{'a':#1,'a':#2}"),
    OK("empty key", "{\"\":0}", "{'':#0}"),
    OK("key with escapes", "{\"\\u0041\\n\":1}", "{'A\\x0a':#1}"),
    OK("key with \\u0000", "{\"a\\u0000b\":1}", "{'a\\x00b':#1}"),
    OK("object of objects", "{\"a\":{\"b\":{\"c\":{}}}}", "{'a':{'b':{'c':{}}}}"),
    OK("array of objects", "[{\"a\":1},{\"a\":2}]", "[{'a':#1},{'a':#2}]"),
    NO("trailing comma in an array", "[1,]", 3),
    NO("trailing comma in an object", "{\"a\":1,}", 7),
    NO("trailing comma after ws", "[1 , ]", 5),
    NO("nested trailing comma", "[[1,],2]", 4),
    NO("leading comma", "[,1]", 1),
    NO("double comma", "[1,,2]", 3),
    NO("only a comma: array", "[,]", 1),
    NO("only a comma: object", "{,}", 1),
    NO("missing comma: numbers", "[1 2]", 3),
    NO("missing comma: strings", "[\"a\"\"b\"]", 4),
    NO("missing comma: members", "{\"a\":1 \"b\":2}", 7),
    NO("missing colon", "{\"a\" 1}", 5),
    NO("missing colon, no ws", "{\"a\"1}", 4),
    NO("colon instead of comma", "{\"a\":1:2}", 6),
    NO("comma instead of colon", "{\"a\",1}", 4),
    NO("missing value", "{\"a\":}", 5),
    NO("key without value", "{\"a\"}", 4),
    NO("second key without value", "{\"a\":1,\"b\"}", 10),
    NO("number key", "{1:2}", 1),
    NO("bare key", "{a:1}", 1),
    NO("single-quoted key", "{'a':1}", 1),
    NO("null key", "{null:1}", 1),
    NO("array key", "{[]:1}", 1),
    NO("unclosed [", "[", 1),
    NO("unclosed [ ws", "[ ", 2),
    NO("unclosed [1", "[1", 2),
    NO("unclosed [1,", "[1,", 3),
    NO("unclosed {", "{", 1),
    NO("unclosed { ws", "{ ", 2),
    NO("unclosed after key", "{\"a\"", 4),
    NO("unclosed after colon", "{\"a\":", 5),
    NO("unclosed after colon ws", "{\"a\": ", 6),
    NO("unclosed after value", "{\"a\":1", 6),
    NO("unclosed nested", "[[[]]", 5),
    NO("extra ]", "[1]]", 3),
    NO("extra }", "{}}", 2),
    NO("{ closed by ]", "{]", 1),
    NO("[ closed by }", "[}", 1),
    NO("crossed brackets", "[{]}", 2),
};

Test(json_read, conformance_table) {
    size_t n = sizeof rows / sizeof rows[0];
    cr_assert_geq(n, 170, "only %zu rows", n);
    for (size_t i = 0; i < n; i++) check_row(&rows[i]);
}

/* --- Exhaustive single bytes ----------------------------------------------------- */

/* "X": every byte as a whole text. */
Test(json_read, every_byte_alone) {
    for (int c = 0; c < 256; c++) {
        char in[1] = {(char)c};
        parsed p = parse_exact(in, 1);
        if (c >= '0' && c <= '9') {
            cr_expect_not_null(p.doc, "byte %02x rejected", c);
        } else {
            cr_expect_null(p.doc, "byte %02x accepted", c);
            /* Bytes that can begin a value (or be leading ws) are cut short. */
            bool start = strchr("\"[{tfn- \t\r\n", c) && c != 0;
            if (!p.doc)
                cr_expect_eq(p.err.offset, start ? 1u : 0u, "byte %02x: error at %zu", c,
                             p.err.offset);
        }
        parsed_free(&p);
    }
}

/* "\"X\"": every byte alone inside a string (section 7 and 8.1). */
Test(json_read, every_byte_in_a_string) {
    for (int c = 0; c < 256; c++) {
        char in[3] = {'"', (char)c, '"'};
        parsed p = parse_exact(in, 3);
        size_t off = (size_t)-1; /* accepted */
        if (c < 0x20)
            off = 1; /* control characters must be escaped */
        else if (c == '"')
            off = 2; /* "" then a stray quote */
        else if (c == '\\')
            off = 3; /* \" is an escape: the string is unterminated */
        else if (c >= 0xc2 && c <= 0xf4)
            off = 2; /* a lead byte: the quote is not a continuation */
        else if (c >= 0x80)
            off = 1; /* a continuation byte, C0, C1, F5..FF */
        if (off == (size_t)-1) {
            cr_expect_not_null(p.doc, "byte %02x in a string rejected at %zu", c, p.err.offset);
            if (p.doc) {
                const chopin_json_value *v = chopin_json_doc_root(p.doc);
                cr_expect_eq(v->type, CHOPIN_JSON_STRING);
                cr_expect(v->u.str.len == 1 && (unsigned char)v->u.str.ptr[0] == c);
            }
        } else {
            cr_expect_null(p.doc, "byte %02x in a string accepted", c);
            if (!p.doc)
                cr_expect_eq(p.err.offset, off, "byte %02x in a string: error at %zu, want %zu", c,
                             p.err.offset, off);
        }
        parsed_free(&p);
    }
}

/* Section 7: all 32 control characters, raw, rejected at their own offset;
 * the same in a key, and escaped as \u00XX they decode to the byte. */
Test(json_read, control_characters) {
    for (int c = 0; c < 0x20; c++) {
        char in[5] = {'"', 'a', (char)c, 'b', '"'};
        parsed p = parse_exact(in, 5);
        cr_expect_null(p.doc, "raw %02x accepted", c);
        if (!p.doc) cr_expect_eq(p.err.offset, 2u, "raw %02x: error at %zu", c, p.err.offset);
        parsed_free(&p);

        char key[9] = {'{', '"', (char)c, '"', ':', '1', '}'};
        p = parse_exact(key, 7);
        cr_expect_null(p.doc, "raw %02x in a key accepted", c);
        if (!p.doc) cr_expect_eq(p.err.offset, 2u, "raw %02x in a key: at %zu", c, p.err.offset);
        parsed_free(&p);

        char esc[9];
        snprintf(esc, sizeof esc, "\"\\u%04X\"", (unsigned)c);
        p = parse_exact(esc, 8);
        cr_expect_not_null(p.doc, "\\u%04x rejected", (unsigned)c);
        if (p.doc) {
            const chopin_json_value *v = chopin_json_doc_root(p.doc);
            cr_expect(v->type == CHOPIN_JSON_STRING && v->u.str.len == 1 &&
                          v->u.str.ptr[0] == (char)c && v->u.str.ptr[1] == 0,
                      "\\u%04x decoded wrong", (unsigned)c);
        }
        parsed_free(&p);
    }
}

/* Every byte after a backslash: only " \ / b f n r t u begin an escape. */
Test(json_read, every_byte_after_a_backslash) {
    for (int c = 0; c < 256; c++) {
        char in[4] = {'"', '\\', (char)c, '"'};
        parsed p = parse_exact(in, 4);
        if (c && strchr("\"\\/bfnrt", c)) {
            cr_expect_not_null(p.doc, "escape \\%c rejected at %zu", c, p.err.offset);
        } else {
            cr_expect_null(p.doc, "escape byte %02x accepted", c);
            /* \u then a quote: the quote is not a hex digit. */
            if (!p.doc)
                cr_expect_eq(p.err.offset, c == 'u' ? 3u : 2u, "escape byte %02x: at %zu", c,
                             p.err.offset);
        }
        parsed_free(&p);
    }
}

/* --- Nesting ------------------------------------------------------------------------ */

static char *repeat(const char *open, const char *mid, const char *close, int n, size_t *len) {
    size_t lo = strlen(open), lm = strlen(mid), lc = strlen(close);
    char *s = malloc(lo * (size_t)n + lm + lc * (size_t)n + 1);
    cr_assert_not_null(s);
    size_t k = 0;
    for (int i = 0; i < n; i++, k += lo) memcpy(s + k, open, lo);
    memcpy(s + k, mid, lm);
    k += lm;
    for (int i = 0; i < n; i++, k += lc) memcpy(s + k, close, lc);
    s[k] = 0;
    *len = k;
    return s;
}

Test(json_read, nesting_limit) {
    const int max = CHOPIN_JSON_MAX_NESTING;
    size_t len;
    static char want[4096];

    char *s = repeat("[", "", "]", max, &len);
    memcpy(want, s, len + 1);
    check_row(&(row){"arrays at the limit", s, len, want, 0});
    free(s);

    s = repeat("[", "", "]", max + 1, &len);
    check_row(&(row){"arrays one past the limit", s, len, NULL, (size_t)max});
    free(s);

    s = repeat("{\"a\":", "1", "}", max, &len);
    char *w = repeat("{'a':", "#1", "}", max, &(size_t){0});
    check_row(&(row){"objects at the limit", s, len, w, 0});
    free(w);
    free(s);

    s = repeat("{\"a\":", "1", "}", max + 1, &len);
    check_row(&(row){"objects one past the limit", s, len, NULL, (size_t)max * 5});
    free(s);

    /* Past the limit without the closing brackets: the same offset. */
    s = repeat("[", "", "", max + 5, &len);
    check_row(&(row){"unclosed, past the limit", s, len, NULL, (size_t)max});
    free(s);

    /* Depth counts open containers, not siblings: many at depth 2 are fine. */
    s = repeat("[", "[],[],[]", "]", 1, &len);
    check_row(&(row){"siblings", s, len, "[[],[],[]]", 0});
    free(s);
}
