/* test_json.c - the streaming JSON writer, standalone (chopin_json_new /
 * chopin_json_take): structure, every value type, string escaping (checked
 * against a plain reference escaper, including the SIMD paths), numbers
 * (round-trip through strtod) and misuse. */
#include <criterion/criterion.h>

#include "chopin.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Takes the writer's text (asserting success), frees the writer. */
static char *take_ok(chopin_json *j, size_t *len) {
    cr_assert(!chopin_json_failed(j), "writer failed");
    char *s = chopin_json_take(j, len);
    cr_assert_not_null(s, "chopin_json_take returned NULL");
    chopin_json_free(j);
    return s;
}

static void expect_text(chopin_json *j, const char *want) {
    size_t len = 0;
    char *s = take_ok(j, &len);
    cr_assert_str_eq(s, want);
    cr_assert_eq(len, strlen(want));
    free(s);
}

static void expect_fail(chopin_json *j, const char *what) {
    size_t len = 12345;
    char *s = chopin_json_take(j, &len);
    cr_assert_null(s, "%s: take should fail, got '%s'", what, s ? s : "");
    chopin_json_free(j);
}

/* The reference: RFC 8259 escaping, byte by byte, no cleverness. */
static size_t ref_escape(char *out, const unsigned char *s, size_t len) {
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        switch (c) {
        case '"':
            o += (size_t)sprintf(out + o, "\\\"");
            break;
        case '\\':
            o += (size_t)sprintf(out + o, "\\\\");
            break;
        case '\b':
            o += (size_t)sprintf(out + o, "\\b");
            break;
        case '\f':
            o += (size_t)sprintf(out + o, "\\f");
            break;
        case '\n':
            o += (size_t)sprintf(out + o, "\\n");
            break;
        case '\r':
            o += (size_t)sprintf(out + o, "\\r");
            break;
        case '\t':
            o += (size_t)sprintf(out + o, "\\t");
            break;
        default:
            if (c < 0x20)
                o += (size_t)sprintf(out + o, "\\u%04x", c);
            else
                out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    out[o] = 0;
    return o;
}

/* Escapes s both with chopin_json_escape (into a buffer of exactly the
 * documented worst-case size, so ASan sees any overrun) and through the
 * writer, and compares both with the reference. */
static void check_escape(const unsigned char *s, size_t len) {
    char *want = malloc(6 * len + 3);
    char *got = malloc(6 * len + 2);
    cr_assert(want && got);
    size_t wn = ref_escape(want, s, len);
    size_t gn = chopin_json_escape(got, (const char *)s, len);
    cr_assert_eq(gn, wn, "len %zu: escape length %zu, want %zu", len, gn, wn);
    cr_assert(memcmp(got, want, wn) == 0, "len %zu: escape differs:\n got  %.*s\n want %s", len,
              (int)gn, got, want);

    chopin_json *j = chopin_json_new();
    chopin_json_stringn(j, (const char *)s, len);
    size_t tn;
    char *text = take_ok(j, &tn);
    cr_assert_eq(tn, wn);
    cr_assert(memcmp(text, want, wn) == 0, "len %zu: writer differs from the reference", len);
    free(text);
    free(want);
    free(got);
}

/* --- Structure ------------------------------------------------------------- */

Test(json, empty_containers) {
    chopin_json *j = chopin_json_new();
    chopin_json_object(j);
    chopin_json_end(j);
    expect_text(j, "{}");

    j = chopin_json_new();
    chopin_json_array(j);
    chopin_json_end(j);
    expect_text(j, "[]");
}

Test(json, nesting_and_commas) {
    chopin_json *j = chopin_json_new();
    chopin_json_object(j);
    chopin_json_key(j, "a");
    chopin_json_array(j);
    chopin_json_int(j, 1);
    chopin_json_object(j);
    chopin_json_key(j, "b");
    chopin_json_array(j);
    chopin_json_end(j);
    chopin_json_key(j, "c");
    chopin_json_object(j);
    chopin_json_end(j);
    chopin_json_end(j);
    chopin_json_array(j);
    chopin_json_array(j);
    chopin_json_end(j);
    chopin_json_array(j);
    chopin_json_end(j);
    chopin_json_end(j);
    chopin_json_int(j, 2);
    chopin_json_end(j);
    chopin_json_key(j, "d");
    chopin_json_object(j);
    chopin_json_key(j, "e");
    chopin_json_null(j);
    chopin_json_key(j, "f");
    chopin_json_array(j);
    chopin_json_string(j, "x");
    chopin_json_string(j, "y");
    chopin_json_end(j);
    chopin_json_end(j);
    chopin_json_end(j);
    expect_text(j,
                "{\"a\":[1,{\"b\":[],\"c\":{}},[[],[]],2],\"d\":{\"e\":null,\"f\":[\"x\",\"y\"]}}");
}

Test(json, top_level_scalars) {
    chopin_json *j = chopin_json_new();
    chopin_json_int(j, 42);
    expect_text(j, "42");
    j = chopin_json_new();
    chopin_json_string(j, "s");
    expect_text(j, "\"s\"");
    j = chopin_json_new();
    chopin_json_null(j);
    expect_text(j, "null");
}

Test(json, all_value_types) {
    chopin_json *j = chopin_json_new();
    chopin_json_array(j);
    chopin_json_string(j, "str");
    chopin_json_stringn(j, "abcdef", 3);
    chopin_json_stringn(j, "a\0b", 3);
    chopin_json_string(j, NULL); /* null */
    chopin_json_string(j, "");
    chopin_json_int(j, -17);
    chopin_json_uint(j, 17);
    chopin_json_double(j, 2.5);
    chopin_json_double(j, 3.0);
    chopin_json_bool(j, true);
    chopin_json_bool(j, false);
    chopin_json_null(j);
    chopin_json_raw(j, "{\"pre\":[1,2]}", 13);
    chopin_json_end(j);
    expect_text(j,
                "[\"str\",\"abc\",\"a\\u0000b\",null,\"\",-17,17,2.5,3,true,false,null,{\"pre\":[1,"
                "2]}]");
}

Test(json, object_keys_and_values) {
    chopin_json *j = chopin_json_new();
    chopin_json_object(j);
    chopin_json_key(j, "s");
    chopin_json_string(j, "v");
    chopin_json_keyn(j, "long-key-cut", 4);
    chopin_json_int(j, 0);
    chopin_json_key(j, "q\"k\n");
    chopin_json_bool(j, true);
    chopin_json_key(j, "raw");
    chopin_json_raw(j, "[]", 2);
    chopin_json_key(j, "");
    chopin_json_double(j, NAN);
    chopin_json_end(j);
    expect_text(j, "{\"s\":\"v\",\"long\":0,\"q\\\"k\\n\":true,\"raw\":[],\"\":null}");
}

/* A long document grows the buffer many times over. */
Test(json, large_document) {
    chopin_json *j = chopin_json_new();
    chopin_json_array(j);
    for (int i = 0; i < 20000; i++) {
        chopin_json_object(j);
        chopin_json_key(j, "i");
        chopin_json_int(j, i);
        chopin_json_end(j);
    }
    chopin_json_end(j);
    size_t len;
    char *s = take_ok(j, &len);
    cr_assert_eq(len, strlen(s));
    cr_assert_eq(s[0], '[');
    cr_assert_eq(s[len - 1], ']');
    cr_assert(strstr(s, "{\"i\":0},{\"i\":1},"));
    cr_assert(strstr(s, ",{\"i\":19999}]"));
    free(s);
}

/* --- Escaping ----------------------------------------------------------------- */

Test(json, escape_every_control_byte) {
    static const char *const short_forms[32] = {
        ['\b'] = "\\b", ['\f'] = "\\f", ['\n'] = "\\n", ['\r'] = "\\r", ['\t'] = "\\t",
    };
    for (int c = 0; c < 0x20; c++) {
        char in = (char)c, want[16];
        if (short_forms[c])
            snprintf(want, sizeof want, "\"%s\"", short_forms[c]);
        else
            snprintf(want, sizeof want, "\"\\u%04x\"", c);
        chopin_json *j = chopin_json_new();
        chopin_json_stringn(j, &in, 1);
        size_t len;
        char *s = take_ok(j, &len);
        cr_assert_str_eq(s, want, "byte 0x%02x", c);
        free(s);
    }
}

Test(json, escape_quote_backslash_and_nothing_else) {
    chopin_json *j = chopin_json_new();
    chopin_json_string(j, "a\"b\\c/d'e\x7f");
    expect_text(j, "\"a\\\"b\\\\c/d'e\x7f\"");
}

Test(json, utf8_and_high_bytes_pass_through) {
    chopin_json *j = chopin_json_new();
    chopin_json_string(j, "h\xc3\xa9llo \xe2\x82\xac \xf0\x9d\x84\x9e");
    expect_text(j, "\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9d\x84\x9e\"");

    /* Every byte from 0x80 to 0xff, long enough for the vector paths: none is
     * a control character, whatever the signedness of char. */
    unsigned char high[128];
    for (int i = 0; i < 128; i++) high[i] = (unsigned char)(0x80 + i);
    char out[6 * 128 + 2];
    size_t n = chopin_json_escape(out, (const char *)high, sizeof high);
    cr_assert_eq(n, 130);
    cr_assert(memcmp(out + 1, high, 128) == 0);
    check_escape(high, sizeof high);
}

/* Escapes at every offset 0..70 of strings longer than the vector widths
 * (16 and 32 bytes), so each lands in a vector block, a block boundary or
 * the scalar tail. */
Test(json, long_strings_escape_at_every_offset) {
    static const unsigned char specials[] = {'"', '\\', '\n', '\t', 0x00, 0x01, 0x1f, 0x7f, 0x80};
    static const size_t lengths[] = {65, 71, 96, 100, 130};
    unsigned char s[160];
    for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
        size_t len = lengths[li];
        for (size_t off = 0; off <= 70 && off < len; off++) {
            for (size_t k = 0; k < sizeof specials; k++) {
                for (size_t i = 0; i < len; i++) s[i] = (unsigned char)('a' + i % 26);
                s[off] = specials[k];
                check_escape(s, len);
                /* A second escape further on, across a block boundary. */
                if (off + 33 < len) {
                    s[off + 33] = '"';
                    check_escape(s, len);
                }
            }
        }
    }
}

Test(json, strings_of_every_length) {
    unsigned char s[200] = {0};
    for (size_t len = 0; len < sizeof s; len++) {
        for (size_t i = 0; i < len; i++) s[i] = (unsigned char)(0x20 + (i * 7) % 95);
        check_escape(s, len); /* includes '"' and '\\' at varying places */
        for (size_t i = 0; i < len; i++) s[i] = 'x';
        check_escape(s, len); /* nothing to escape */
    }
}

Test(json, escape_random_strings) {
    unsigned seed = 12345;
    unsigned char s[300];
    for (int round = 0; round < 3000; round++) {
        seed = seed * 1103515245u + 12345u;
        size_t len = (seed >> 16) % sizeof s;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = (seed >> 16) & 0xff;
            /* Mostly plain text, some controls, quotes, backslashes, high bytes. */
            s[i] = r < 200   ? (unsigned char)('a' + r % 26)
                   : r < 220 ? (unsigned char)(r % 32)
                   : r < 230 ? '"'
                   : r < 240 ? '\\'
                             : (unsigned char)r;
        }
        check_escape(s, len);
    }
}

Test(json, escape_direct) {
    char out[64];
    cr_assert_eq(chopin_json_escape(out, "", 0), 2);
    cr_assert(memcmp(out, "\"\"", 2) == 0);

    size_t n = chopin_json_escape(out, "a\"b", 3);
    cr_assert_eq(n, 6);
    cr_assert(memcmp(out, "\"a\\\"b\"", 6) == 0);

    /* Only len bytes are read: an embedded NUL is data, not an end. */
    n = chopin_json_escape(out, "x\0y", 3);
    cr_assert_eq(n, 10);
    cr_assert(memcmp(out, "\"x\\u0000y\"", 10) == 0);

    /* The documented worst case is exact: every byte a \u00XX escape. */
    enum { L = 100 };
    char in[L];
    memset(in, 0x01, L);
    char *worst = malloc(6 * L + 2);
    cr_assert_not_null(worst);
    cr_assert_eq(chopin_json_escape(worst, in, L), 6 * L + 2);
    cr_assert(memcmp(worst, "\"\\u0001\\u0001", 13) == 0);
    cr_assert_eq(worst[6 * L + 1], '"');
    free(worst);
}

/* --- Numbers --------------------------------------------------------------------- */

static char *one_value_int(int64_t v) {
    chopin_json *j = chopin_json_new();
    chopin_json_int(j, v);
    return take_ok(j, NULL);
}

Test(json, integers) {
    static const struct {
        int64_t v;
        const char *want;
    } cases[] = {
        {0, "0"},
        {1, "1"},
        {-1, "-1"},
        {9, "9"},
        {10, "10"},
        {99, "99"},
        {100, "100"},
        {-100, "-100"},
        {12345, "12345"},
        {INT64_MAX, "9223372036854775807"},
        {INT64_MIN, "-9223372036854775808"},
        {INT64_MIN + 1, "-9223372036854775807"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = one_value_int(cases[i].v);
        cr_assert_str_eq(s, cases[i].want);
        free(s);
    }
    /* Every power of ten and its neighbours, against printf. */
    for (int e = 0; e <= 18; e++) {
        int64_t p = 1;
        for (int k = 0; k < e; k++) p *= 10;
        int64_t vals[] = {p - 1, p, p + 1, -p + 1, -p, -p - 1};
        for (size_t k = 0; k < 6; k++) {
            char want[32];
            snprintf(want, sizeof want, "%lld", (long long)vals[k]);
            char *s = one_value_int(vals[k]);
            cr_assert_str_eq(s, want);
            free(s);
        }
    }
}

Test(json, unsigned_integers) {
    static const struct {
        uint64_t v;
        const char *want;
    } cases[] = {
        {0, "0"},
        {7, "7"},
        {(uint64_t)INT64_MAX + 1, "9223372036854775808"},
        {UINT64_MAX, "18446744073709551615"},
        {10000000000000000000u, "10000000000000000000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        chopin_json *j = chopin_json_new();
        chopin_json_uint(j, cases[i].v);
        expect_text(j, cases[i].want);
    }
}

/* A JSON number per RFC 8259: -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)? */
static bool is_json_number(const char *s) {
    if (*s == '-') s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9') s++;
    else
        return false;
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9')) return false;
        while (*s >= '0' && *s <= '9') s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-') s++;
        if (!(*s >= '0' && *s <= '9')) return false;
        while (*s >= '0' && *s <= '9') s++;
    }
    return *s == 0;
}

static char *one_double(double v) {
    chopin_json *j = chopin_json_new();
    chopin_json_double(j, v);
    return take_ok(j, NULL);
}

Test(json, doubles_round_trip) {
    const double values[] = {
        0.1,
        0.2,
        0.3,
        1e300,
        -1e300,
        1e-300,
        -0.0,
        0.0,
        1.0 / 3.0,
        2.0 / 3.0,
        9007199254740992.0,  /* 2^53 */
        9007199254740993.0,  /* rounds to 2^53 */
        9007199254740994.0,  /* 2^53 + 2 */
        -9007199254740992.0, /* -2^53 */
        9007199254740991.0,  /* 2^53 - 1: the integer path */
        1e21,
        1e22,
        123456789012345678.0,
        1.5,
        -2.25,
        3.0,
        -3.0,
        5e-324, /* smallest subnormal */
        DBL_MIN,
        DBL_MAX,
        -DBL_MAX,
        DBL_EPSILON,
        1.7976931348623157e308,
        2.2250738585072014e-308,
        0.1 + 0.2,
        100.0,
        1e15 + 0.3,
        3.141592653589793,
        2.718281828459045,
    };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        double v = values[i];
        char *s = one_double(v);
        cr_assert(is_json_number(s), "%.17g written as '%s': not a JSON number", v, s);
        double back = strtod(s, NULL);
        cr_assert(back == v, "%.17g written as '%s' reads back as %.17g", v, s, back);
        cr_assert_eq(!!signbit(back), !!signbit(v), "%.17g written as '%s': sign lost", v, s);
        free(s);
    }
}

Test(json, doubles_exact_text) {
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {0.1, "0.1"},
        {0.0, "0"},
        {-0.0, "-0"},
        {1.5, "1.5"},
        {3.0, "3"},
        {-42.0, "-42"},
        {9007199254740992.0, "9007199254740992"},
        {1e300, "1e+300"},
        {1.0 / 3.0, "0.33333333333333331"},
        {0.1 + 0.2, "0.30000000000000004"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = one_double(cases[i].v);
        cr_assert_str_eq(s, cases[i].want);
        free(s);
    }
}

Test(json, non_finite_doubles_are_null) {
    chopin_json *j = chopin_json_new();
    chopin_json_array(j);
    chopin_json_double(j, NAN);
    chopin_json_double(j, -NAN);
    chopin_json_double(j, INFINITY);
    chopin_json_double(j, -INFINITY);
    chopin_json_double(j, 1.0);
    chopin_json_end(j);
    expect_text(j, "[null,null,null,null,1]");
}

/* --- Misuse ------------------------------------------------------------------------ */

Test(json, misuse_value_in_object_without_key) {
    chopin_json *j = chopin_json_new();
    chopin_json_object(j);
    chopin_json_int(j, 1);
    chopin_json_end(j);
    cr_assert(chopin_json_failed(j));
    expect_fail(j, "value without key");

    j = chopin_json_new();
    chopin_json_object(j);
    chopin_json_key(j, "a");
    chopin_json_int(j, 1);
    chopin_json_string(j, "second value for one key");
    chopin_json_end(j);
    expect_fail(j, "two values for one key");

    j = chopin_json_new();
    chopin_json_object(j);
    chopin_json_array(j);
    chopin_json_end(j);
    chopin_json_end(j);
    expect_fail(j, "container without key");
}

Test(json, misuse_key_outside_object) {
    chopin_json *j = chopin_json_new();
    chopin_json_array(j);
    chopin_json_key(j, "k");
    chopin_json_int(j, 1);
    chopin_json_end(j);
    cr_assert(chopin_json_failed(j));
    expect_fail(j, "key in array");

    j = chopin_json_new();
    chopin_json_key(j, "k");
    expect_fail(j, "key at top level");

    j = chopin_json_new();
    chopin_json_object(j);
    chopin_json_key(j, "a");
    chopin_json_key(j, "b");
    chopin_json_int(j, 1);
    chopin_json_end(j);
    expect_fail(j, "two keys in a row");
}

Test(json, misuse_unbalanced) {
    chopin_json *j = chopin_json_new();
    chopin_json_end(j);
    cr_assert(chopin_json_failed(j));
    expect_fail(j, "end at top level");

    j = chopin_json_new();
    chopin_json_array(j);
    chopin_json_end(j);
    chopin_json_end(j);
    expect_fail(j, "one end too many");

    j = chopin_json_new();
    chopin_json_object(j);
    chopin_json_key(j, "a");
    chopin_json_array(j);
    chopin_json_end(j);
    expect_fail(j, "object left open");

    j = chopin_json_new();
    chopin_json_object(j);
    chopin_json_key(j, "a");
    chopin_json_end(j);
    expect_fail(j, "key without value, then end");

    j = chopin_json_new();
    chopin_json_object(j);
    chopin_json_key(j, "a");
    expect_fail(j, "key without value at take");
}

/* One document is one value: a second top-level value would make "12" or
 * "{}{}", which is not JSON. */
Test(json, misuse_two_top_level_values) {
    chopin_json *j = chopin_json_new();
    chopin_json_int(j, 1);
    chopin_json_int(j, 2);
    expect_fail(j, "two top-level numbers");

    j = chopin_json_new();
    chopin_json_object(j);
    chopin_json_end(j);
    chopin_json_object(j);
    chopin_json_end(j);
    expect_fail(j, "two top-level objects");
}

Test(json, max_depth) {
    chopin_json *j = chopin_json_new();
    for (int i = 0; i < CHOPIN_JSON_MAX_DEPTH; i++) chopin_json_array(j);
    for (int i = 0; i < CHOPIN_JSON_MAX_DEPTH; i++) chopin_json_end(j);
    size_t len;
    char *s = take_ok(j, &len);
    cr_assert_eq(len, 2 * CHOPIN_JSON_MAX_DEPTH, "exactly the maximum depth is allowed");
    for (int i = 0; i < CHOPIN_JSON_MAX_DEPTH; i++) {
        cr_assert_eq(s[i], '[');
        cr_assert_eq(s[CHOPIN_JSON_MAX_DEPTH + i], ']');
    }
    free(s);

    j = chopin_json_new();
    for (int i = 0; i < CHOPIN_JSON_MAX_DEPTH + 1; i++) chopin_json_array(j);
    cr_assert(chopin_json_failed(j));
    for (int i = 0; i < CHOPIN_JSON_MAX_DEPTH + 1; i++) chopin_json_end(j);
    expect_fail(j, "one level too deep");

    /* Objects count the same way. */
    j = chopin_json_new();
    chopin_json_object(j);
    for (int i = 1; i < CHOPIN_JSON_MAX_DEPTH + 1; i++) {
        chopin_json_key(j, "k");
        chopin_json_object(j);
    }
    cr_assert(chopin_json_failed(j));
    expect_fail(j, "objects one level too deep");
}

Test(json, failure_is_sticky) {
    chopin_json *j = chopin_json_new();
    chopin_json_array(j);
    chopin_json_key(j, "oops");
    cr_assert(chopin_json_failed(j));
    chopin_json_int(j, 1); /* valid from here on, but too late */
    chopin_json_end(j);
    cr_assert(chopin_json_failed(j));
    expect_fail(j, "sticky");
}

Test(json, take_twice_and_free_without_take) {
    chopin_json *j = chopin_json_new();
    chopin_json_array(j);
    chopin_json_end(j);
    size_t len;
    char *s = chopin_json_take(j, &len);
    cr_assert_str_eq(s, "[]");
    free(s);
    chopin_json_free(j);

    j = chopin_json_new(); /* freed with its text: ASan checks for the leak */
    chopin_json_string(j, "abandoned");
    chopin_json_free(j);
    chopin_json_free(NULL);
}
