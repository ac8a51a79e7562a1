/* number.c - integer and double formatting for the JSON writer.
 *
 * Integers: two digits per step from a 200-byte table, right to left; no
 * division by a variable, no locale, no printf. Doubles: integral values in
 * the exact range of a double take the integer path (the common case in API
 * payloads); others use %.15g and fall back to %.17g when 15 digits do not
 * read back as the same double, which keeps every value round-trip exact. */
#include "json_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static const char digit_pairs[201] = "00010203040506070809"
                                     "10111213141516171819"
                                     "20212223242526272829"
                                     "30313233343536373839"
                                     "40414243444546474849"
                                     "50515253545556575859"
                                     "60616263646566676869"
                                     "70717273747576777879"
                                     "80818283848586878889"
                                     "90919293949596979899";

size_t json_format_uint(char *out, uint64_t v) {
    char tmp[20];
    char *p = tmp + sizeof tmp;
    while (v >= 100) {
        unsigned pair = (unsigned)(v % 100) * 2;
        v /= 100;
        *--p = digit_pairs[pair + 1];
        *--p = digit_pairs[pair];
    }
    if (v >= 10) {
        unsigned pair = (unsigned)v * 2;
        *--p = digit_pairs[pair + 1];
        *--p = digit_pairs[pair];
    } else {
        *--p = (char)('0' + v);
    }
    size_t n = (size_t)(tmp + sizeof tmp - p);
    memcpy(out, p, n);
    return n;
}

size_t json_format_int(char *out, int64_t v) {
    if (v >= 0) return json_format_uint(out, (uint64_t)v);
    out[0] = '-';
    /* -(v + 1) + 1 avoids negating INT64_MIN. */
    return 1 + json_format_uint(out + 1, (uint64_t)(-(v + 1)) + 1);
}

static const double pow10_exact[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

/* The fewest fraction digits k such that m / 10^k, with m = round(v * 10^k)
 * an exact integer, is v again. Division of two exact values is correctly
 * rounded, and so is strtod, so the text "m/10^k" reads back as v: the same
 * guarantee as %.17g, in far fewer digits and without printf. Covers the
 * usual money, score and coordinate values; others take the slow path. */
static size_t fixed_point(char *out, double v) {
    double a = fabs(v);
    if (a >= 1e9 || a < 1e-6) return 0;
    for (int k = 1; k <= 15; k++) {
        double scaled = a * pow10_exact[k];
        if (scaled >= 9007199254740992.0) return 0; /* m would not be exact */
        double m = nearbyint(scaled);
        if (m / pow10_exact[k] != a) continue;
        uint64_t mi = (uint64_t)m, ip = mi / (uint64_t)pow10_exact[k];
        uint64_t fp = mi % (uint64_t)pow10_exact[k];
        char *o = out;
        if (v < 0) *o++ = '-';
        o += json_format_uint(o, ip);
        *o++ = '.';
        for (int i = k - 1; i >= 0; i--) { /* k digits, leading zeros kept */
            o[i] = (char)('0' + fp % 10);
            fp /= 10;
        }
        return (size_t)(o + k - out);
    }
    return 0;
}

size_t json_format_double(char *out, double v) {
    if (!isfinite(v)) return 0;
    if (v == floor(v) && fabs(v) < 9007199254740992.0 && !(v == 0 && signbit(v)))
        return json_format_int(out, (int64_t)v);
    size_t fast = fixed_point(out, v);
    if (fast) return fast;
    int n = snprintf(out, 32, "%.15g", v);
    if (strtod(out, NULL) != v) n = snprintf(out, 32, "%.17g", v);
    return (size_t)n;
}
