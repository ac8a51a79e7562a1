/* test_json_read_numbers.c - numbers in the JSON reader: compared bit for
 * bit with glibc's correctly rounded strtod, alone and inside containers;
 * -0; and 100,000 random doubles through the writer and back.
 *
 * Every input is parsed from an exact-size malloc'd copy
 * (json_read_fixture.h), so AddressSanitizer catches a read past the end. */
#include "json_read_fixture.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

/* --- Numbers against strtod -------------------------------------------------------- */

typedef struct {
    const char *text;
    bool is_int;
    int64_t i;
} numrow;

static const numrow nums[] = {
    {"0", true, 0},
    {"-0", true, 0},
    {"1", true, 1},
    {"-1", true, -1},
    {"0.1", false, 0},
    {"0.5", false, 0},
    {"1e5", false, 0},
    {"1E+5", false, 0},
    {"1e-5", false, 0},
    {"-0.0", false, 0},
    {"0.30000000000000004", false, 0},
    {"2.2250738585072011e-308", false, 0},
    {"2.2250738585072014e-308", false, 0},
    {"-2.2250738585072011e-308", false, 0},
    {"1.7976931348623157e308", false, 0},
    {"-1.7976931348623157e308", false, 0},
    {"1.7976931348623158e308", false, 0},
    {"1.7976931348623159e308", false, 0},
    {"9007199254740993", true, 9007199254740993},
    {"-9007199254740993", true, -9007199254740993},
    {"9007199254740993.0", false, 0},
    {"9007199254740993e0", false, 0},
    {"4.9406564584124654e-324", false, 0},
    {"5e-324", false, 0},
    {"2.4703282292062328e-324", false, 0},
    {"2.4703282292062327e-324", false, 0},
    {"123456789012345678901234567890", false, 0},
    {"-123456789012345678901234567890", false, 0},
    {"9223372036854775807", true, INT64_MAX},
    {"-9223372036854775808", true, INT64_MIN},
    {"9223372036854775808", false, 0},
    {"-9223372036854775809", false, 0},
    {"18446744073709551615", false, 0},
    {"18446744073709551616", false, 0},
    {"1000000000000000000", true, 1000000000000000000},
    {"-999999999999999999", true, -999999999999999999},
    {"1e400", false, 0},
    {"-1e400", false, 0},
    {"1e-400", false, 0},
    {"-1e-400", false, 0},
    {"1e99999999999999999999", false, 0},
    {"1e-99999999999999999999", false, 0},
    {"0e99999999999999999999", false, 0},
    {"1e22", false, 0},
    {"1e23", false, 0},
    {"1e-22", false, 0},
    {"1e-23", false, 0},
    {"8.98846567431158e307", false, 0},
    {"1.00000000000000011102230246251565404236316680908203125", false, 0},
    {"1.00000000000000011102230246251565404236316680908203124", false, 0},
    {"1.00000000000000011102230246251565404236316680908203126", false, 0},
    {"4503599627370497.5", false, 0},
    {"4503599627370496.5", false, 0},
    {"100000000000000000000000e-2", false, 0},
    {"0.000000000000000000000000000000000000000001", false, 0},
    {"3.0517578125e-05", false, 0},
    {"7.2057594037927933e16", false, 0},
    {"12345678901234567890e-10", false, 0},
    {"0.12345678901234567890123", false, 0},
    {"-0.000001", false, 0},
    {"1.5", false, 0},
    {"-2.5e-3", false, 0},
};

static uint64_t bits(double d) {
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

Test(json_read, numbers_match_strtod) {
    for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++) {
        const numrow *r = &nums[k];
        size_t len = strlen(r->text);
        errno = 0;
        double want = strtod(r->text, NULL);
        parsed p = parse_exact(r->text, len);
        cr_expect_not_null(p.doc, "%s rejected at %zu (%s)", r->text, p.err.offset,
                           p.err.message ? p.err.message : "?");
        if (p.doc) {
            const chopin_json_value *v = chopin_json_doc_root(p.doc);
            cr_expect_eq(v->type, CHOPIN_JSON_NUMBER, "%s: type %d", r->text, (int)v->type);
            cr_expect_eq(v->is_int, r->is_int, "%s: is_int %d", r->text, v->is_int);
            if (r->is_int && v->is_int)
                cr_expect_eq(v->u.num.i, r->i, "%s: i %" PRId64, r->text, v->u.num.i);
            cr_expect_eq(bits(v->u.num.d), bits(want), "%s: d %a (%.17g), strtod %a (%.17g)",
                         r->text, v->u.num.d, v->u.num.d, want, want);
        }
        parsed_free(&p);
        /* The same number inside an array and an object. */
        char wrapped[128];
        snprintf(wrapped, sizeof wrapped, "[{\"n\":%s}]", r->text);
        p = parse_exact(wrapped, strlen(wrapped));
        cr_expect_not_null(p.doc, "%s rejected", wrapped);
        if (p.doc) {
            const chopin_json_value *v =
                chopin_json_get(&chopin_json_doc_root(p.doc)->u.arr.items[0], "n");
            cr_expect(v && v->type == CHOPIN_JSON_NUMBER && bits(v->u.num.d) == bits(want) &&
                          v->is_int == r->is_int,
                      "%s: wrong number", wrapped);
        }
        parsed_free(&p);
    }
}

/* -0 is an integer (i == 0) whose nearest double is -0.0, as strtod says. */
Test(json_read, minus_zero_keeps_its_sign) {
    parsed p = parse_exact("-0", 2);
    cr_assert_not_null(p.doc);
    const chopin_json_value *v = chopin_json_doc_root(p.doc);
    cr_expect(v->is_int && v->u.num.i == 0);
    cr_expect(signbit(v->u.num.d), "-0 gave d = %g", v->u.num.d);
    parsed_free(&p);
}

/* --- Writer round trip ------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void) {
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static void round_trip(double v) {
    chopin_json *j = chopin_json_new();
    cr_assert_not_null(j);
    chopin_json_double(j, v);
    size_t len = 0;
    char *text = chopin_json_take(j, &len);
    chopin_json_free(j);
    cr_assert_not_null(text, "writer failed on %a", v);
    parsed p = parse_exact(text, len);
    cr_assert_not_null(p.doc, "%a written as %s: rejected at %zu (%s)", v, text, p.err.offset,
                       p.err.message);
    const chopin_json_value *r = chopin_json_doc_root(p.doc);
    cr_assert_eq(r->type, CHOPIN_JSON_NUMBER, "%s", text);
    /* The writer prints -0.0 as "-0": the sign must survive too. */
    cr_assert_eq(bits(r->u.num.d), bits(v), "%a written as %s read back as %a", v, text,
                 r->u.num.d);
    parsed_free(&p);
    free(text);
}

Test(json_read, writer_round_trip_100k_doubles) {
    round_trip(0.0);
    round_trip(-0.0);
    round_trip(DBL_MAX);
    round_trip(-DBL_MAX);
    round_trip(DBL_MIN);
    round_trip(DBL_TRUE_MIN);
    round_trip(9007199254740992.0);
    round_trip(-9223372036854775808.0);
    round_trip(9223372036854775808.0);
    /* Short decimals (prices, scores, coordinates): the writer's fixed-point path. */
    for (int k = 0; k < 20000; k++) {
        double m = (double)(rng() % 2000000000) - 1e9;
        round_trip(m / 100.0);
        round_trip(m / 1e6);
        round_trip(m / 1e15);
    }
    int done = 0;
    while (done < 100000) {
        uint64_t u = rng();
        double v;
        memcpy(&v, &u, sizeof v);
        if (!isfinite(v)) continue;
        round_trip(v);
        done++;
    }
}
