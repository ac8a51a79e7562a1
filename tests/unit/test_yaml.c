/* test_yaml.c - the OpenAPI document's YAML form (src/openapi/yaml.c).
 *
 * Exact output for small documents (layout, escapes, numbers), NULL for
 * invalid JSON, and a round trip through independent readers: Debian's
 * /usr/bin/python3 with PyYAML (package python3-yaml) loads the YAML, with its
 * pure-Python reader and with libyaml's when it has it, and the stdlib json
 * module loads the JSON; the trees must match with the same types (so "yes",
 * "null" or "1.0" coming back as a boolean, None or a float fails, and so
 * does true coming back as 1). Both readers implement YAML 1.1; the output
 * sticks to forms that mean the same in 1.1 and 1.2 (quoted strings, floats
 * with a '.'), so passing here is the harder half.
 *
 * Without python3-yaml the round trip tests fail, saying so: never skipped. */
#include <criterion/criterion.h>

#include "openapi/openapi_internal.h"
#include "core/core.h" /* CHOPIN_UNDER_ASAN, CHOPIN_UNDER_TSAN */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* --- Helpers ------------------------------------------------------------------ */

/* The YAML of json, from an exact-size heap copy so that AddressSanitizer
 * catches a read past its end. */
static char *yaml_of(const char *json, size_t len) {
    char *copy = malloc(len ? len : 1);
    cr_assert_not_null(copy);
    memcpy(copy, json, len);
    char *y = openapi_yaml_from_json(copy, len);
    free(copy);
    return y;
}

static void expect(const char *json, const char *want) {
    char *got = yaml_of(json, strlen(json));
    cr_assert_not_null(got, "no YAML for %s", json);
    cr_expect_str_eq(got, want, "JSON: %s", json);
    free(got);
}

/* A growable string for the generated documents. */
typedef struct {
    char *p;
    size_t len, cap;
} text;

static void add(text *t, const char *s) {
    size_t n = strlen(s);
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->p = realloc(t->p, t->cap);
        cr_assert_not_null(t->p);
    }
    memcpy(t->p + t->len, s, n + 1);
    t->len += n;
}

static void write_file(const char *path, const char *data) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s", path);
    cr_assert_eq(fwrite(data, 1, strlen(data), f), strlen(data));
    cr_assert_eq(fclose(f), 0);
}

static void temp_path(char *path, size_t size, const char *suffix) {
    snprintf(path, size, "/tmp/chopin_yaml_%ld_%s", (long)getpid(), suffix);
}

/* Compares with types: in Python True == 1 and 1 == 1.0, which would let a
 * boolean or a float pass for an integer. Floats are compared by repr, so
 * -0.0 and 0.0 differ. Key order counts as well. Exits 1 naming the path of
 * the first difference. */
static const char checker[] =
    "import json, sys\n"
    "try:\n"
    "    import yaml\n"
    "except ImportError:\n"
    "    sys.exit('PyYAML is missing: apt-get install python3-yaml')\n"
    "def same(a, b, path):\n"
    "    if type(a) is not type(b):\n"
    "        return path + ': ' + repr(a) + ' (YAML) vs ' + repr(b) + ' (JSON)'\n"
    "    if isinstance(a, dict):\n"
    "        if list(a) != list(b):\n"
    "            return path + ': keys ' + repr(list(a)) + ' vs ' + repr(list(b))\n"
    "        for k in a:\n"
    "            d = same(a[k], b[k], path + '.' + repr(k))\n"
    "            if d: return d\n"
    "        return None\n"
    "    if isinstance(a, list):\n"
    "        if len(a) != len(b):\n"
    "            return path + ': lengths ' + str(len(a)) + ' vs ' + str(len(b))\n"
    "        for i, (x, y) in enumerate(zip(a, b)):\n"
    "            d = same(x, y, path + '[' + str(i) + ']')\n"
    "            if d: return d\n"
    "        return None\n"
    "    ok = repr(a) == repr(b) if isinstance(a, float) else a == b\n"
    "    return None if ok else path + ': ' + repr(a) + ' (YAML) vs ' + repr(b) + ' (JSON)'\n"
    "j = json.load(open(sys.argv[2], encoding='utf-8'))\n"
    "loaders = [yaml.SafeLoader] + ([yaml.CSafeLoader] if yaml.__with_libyaml__ else [])\n"
    "for loader in loaders:\n"
    "    y = yaml.load(open(sys.argv[1], encoding='utf-8'), Loader=loader)\n"
    "    d = same(y, j, '$')\n"
    "    if d: sys.exit(loader.__name__ + ' differs at ' + d)\n";

/* Converts json, then has PyYAML and Python's json read both forms back. */
static void round_trip(const char *json) {
    char *y = yaml_of(json, strlen(json));
    cr_assert_not_null(y, "no YAML for %.200s", json);
    char ypath[64], jpath[64], spath[64], cmd[256];
    temp_path(ypath, sizeof ypath, "doc.yaml");
    temp_path(jpath, sizeof jpath, "doc.json");
    temp_path(spath, sizeof spath, "check.py");
    write_file(ypath, y);
    write_file(jpath, json);
    write_file(spath, checker);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s %s", spath, ypath, jpath);
    int status = system(cmd);
    cr_expect(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "PyYAML disagrees (status %d) on\nJSON: %.500s\nYAML: %.500s", status, json, y);
    unlink(ypath);
    unlink(jpath);
    unlink(spath);
    free(y);
}

/* --- Exact output --------------------------------------------------------------- */

Test(yaml, scalars_at_the_top) {
    expect("null", "null\n");
    expect(" true ", "true\n");
    expect("false", "false\n");
    expect("\"x\"", "\"x\"\n");
    expect("\"\"", "\"\"\n");
    expect("{}", "{}\n");
    expect("[ ]", "[]\n");
}

Test(yaml, integers_as_written) {
    expect("0", "0\n");
    expect("-0", "0\n"); /* JSON's -0 integer is 0 */
    expect("42", "42\n");
    expect("-17", "-17\n");
    expect("9223372036854775807", "9223372036854775807\n");
    expect("-9223372036854775808", "-9223372036854775808\n");
}

/* Always with a '.': YAML 1.1 reads "1e+20" as a string and "100" as an int. */
Test(yaml, doubles_stay_floats) {
    expect("1.5", "1.5\n");
    expect("-0.25", "-0.25\n");
    expect("0.1", "0.1\n"); /* shortest form, not 0.10000000000000001 */
    expect("1.0", "1.0\n");
    expect("-0.0", "-0.0\n");
    expect("1e2", "100.0\n");
    expect("1E-7", "1.0e-07\n");
    expect("1e20", "1.0e+20\n");
    expect("-2.5e-300", "-2.5e-300\n");
    expect("1.7976931348623157e308", "1.7976931348623157e+308\n");
    expect("0.30000000000000004", "0.30000000000000004\n");
    expect("123456.789", "123456.789\n");
}

/* The reader accepts numbers beyond a double's range as infinities. */
Test(yaml, huge_numbers_are_yaml_infinities) {
    expect("1e400", ".inf\n");
    expect("-1e400", "-.inf\n");
    expect("[1e999]", "- .inf\n");
}

Test(yaml, nested_layout) {
    expect("{\"a\":1,\"b\":[1,{\"c\":null,\"d\":[]},[2,[3]],{}],\"e\":{\"f\":{\"g\":\"h\"}}}",
           "\"a\": 1\n"
           "\"b\":\n"
           "  - 1\n"
           "  - \"c\": null\n"
           "    \"d\": []\n"
           "  - - 2\n"
           "    - - 3\n"
           "  - {}\n"
           "\"e\":\n"
           "  \"f\":\n"
           "    \"g\": \"h\"\n");
    expect("[{\"a\":{\"b\":[true,false]},\"c\":{}}]", "- \"a\":\n"
                                                      "    \"b\":\n"
                                                      "      - true\n"
                                                      "      - false\n"
                                                      "  \"c\": {}\n");
    expect("[[[]]]", "- - []\n");
}

Test(yaml, keys_keep_order_and_duplicates) {
    expect("{\"z\":1,\"a\":2,\"z\":3,\"\":4}", "\"z\": 1\n\"a\": 2\n\"z\": 3\n\"\": 4\n");
}

Test(yaml, escapes) {
    expect("\"q\\\"b\\\\s/\\n\\t\\r\\b\\f\"", "\"q\\\"b\\\\s/\\n\\t\\r\\b\\f\"\n");
    /* Other C0 controls, NUL, DEL and the C1 controls (NEL among them). */
    expect("\"\\u0000\\u0001\\u001f\\u007f\\u0080\\u0085\\u009f\"",
           "\"\\u0000\\u0001\\u001f\\u007f\\u0080\\u0085\\u009f\"\n");
    /* Line and paragraph separators, the BOM, the noncharacters at U+FFFx. */
    expect("\"a\\u2028b\\u2029c\\ufeff\\ufffe\\uffff\"",
           "\"a\\u2028b\\u2029c\\ufeff\\ufffe\\uffff\"\n");
    /* Raw in the JSON text, the same. */
    expect("\"\xe2\x80\xa8\xc2\x85\"", "\"\\u2028\\u0085\"\n");
    expect("{\"a\\nb\\\"\":\"\\t\"}", "\"a\\nb\\\"\": \"\\t\"\n");
}

Test(yaml, unicode_passes_through) {
    /* é, U+00A0 (the first printable after the C1 block), 日本, U+2027 and
     * U+202A around the separators, U+FFFD, 😀 raw and from a surrogate pair. */
    expect("\"\xc3\xa9\xc2\xa0\xe6\x97\xa5\xe6\x9c\xac\xe2\x80\xa7\xe2\x80\xaa\xef\xbf\xbd"
           "\xf0\x9f\x98\x80\\ud83d\\ude00\\u00e9\"",
           "\"\xc3\xa9\xc2\xa0\xe6\x97\xa5\xe6\x9c\xac\xe2\x80\xa7\xe2\x80\xaa\xef\xbf\xbd"
           "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xc3\xa9\"\n");
}

/* A quoted key of up to 1024 bytes is an implicit key; past that YAML wants
 * the explicit "? key" form. */
Test(yaml, long_keys_become_explicit) {
    for (size_t n = 1021; n <= 1024; n++) {
        char *key = malloc(n + 1);
        memset(key, 'k', n);
        key[n] = 0;
        text json = {0}, want = {0};
        add(&json, "{\"");
        add(&json, key);
        add(&json, "\":[1]}");
        bool explicit_key = n + 2 > 1024;
        add(&want, explicit_key ? "? \"" : "\"");
        add(&want, key);
        add(&want, explicit_key ? "\"\n:\n  - 1\n" : "\":\n  - 1\n");
        expect(json.p, want.p);
        free(key);
        free(json.p);
        free(want.p);
    }
}

Test(yaml, invalid_json_is_null) {
    static const char *bad[] = {
        "",        " ",   "{",        "[1,]",         "nul",        "01", "{\"a\"}", "\"\\ud800\"",
        "[1] [2]", "NaN", "\"\x01\"", "\"\xc0\xaf\"", "{\"a\":1,}", "'x'"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_expect_null(yaml_of(bad[i], strlen(bad[i])), "accepted: %s", bad[i]);
    cr_expect_null(openapi_yaml_from_json(NULL, 0));
    /* Beyond the reader's nesting limit. */
    text deep = {0};
    for (int i = 0; i < 200; i++) add(&deep, "[");
    for (int i = 0; i < 200; i++) add(&deep, "]");
    cr_expect_null(yaml_of(deep.p, deep.len));
    free(deep.p);
}

/* --- Round trips through PyYAML --------------------------------------------------- */

/* Strings that a careless emitter would let YAML read as something else, as
 * JSON string literals (so also usable as keys). */
static const char *const tricky[] = {
    "\"yes\"",
    "\"no\"",
    "\"null\"",
    "\"1.0\"",
    "\"0x10\"",
    "\"~\"",
    "\":\"",
    "\"- x\"",
    "\"#c\"",
    "\"  lead\"",
    "\"trail \"",
    "\"a: b\"",
    "\"@\"",
    "\"`\"",
    "\"\"",
    "\"'q'\"",
    "\"\\\"dq\\\"\"",
    "\"multi\\nline\"",
    "\"on\"",
    "\"Off\"",
    "\"Y\"",
    "\"n\"",
    "\"true\"",
    "\"False\"",
    "\"NULL\"",
    "\".inf\"",
    "\"-.Inf\"",
    "\".nan\"",
    "\"1e3\"",
    "\"0o17\"",
    "\"010\"",
    "\"1_000\"",
    "\"12:30:00\"",
    "\"2001-12-14\"",
    "\"<<\"",
    "\"=\"",
    "\"!tag\"",
    "\"&a\"",
    "\"*a\"",
    "\"|\"",
    "\"> x\"",
    "\"%x\"",
    "\"{a}\"",
    "\"[a]\"",
    "\",\"",
    "\"? x\"",
    "\"a #b\"",
    "\"\\t\"",
    "\"\\u0085x\"",
    "\"\\u2028\"",
    "\"\\u2029\"",
    "\"\\ufeff\"",
    "\"\\u0000\"",
    "\"\\\\\"",
    "\"\\r\\n\"",
    "\"\\u007f\\u0080\\u009f\"",
    "\"\\uffff\"",
    "\"\xc3\xa9\"",
    "\"\xf0\x9f\x98\x80\"",
    "\"\\ud83d\\ude00\"",
    "\"---\"",
    "\"...\"",
    "\"-\"",
    "\"?\"",
    "\"'\"",
    "\"\\\"\"",
    "\" \"",
    "\"0\"",
    "\"-0\"",
    "\"+1\"",
    "\".5\"",
    "\"1.\"",
    "\"0b101\"",
};
#define NTRICKY (sizeof tricky / sizeof *tricky)

static const char *const numbers[] = {
    "0",
    "-0",
    "42",
    "-1",
    "9223372036854775807",
    "-9223372036854775808",
    "1.5",
    "-0.0",
    "0.1",
    "1e300",
    "1E-300",
    "2.5e-8",
    "1e2",
    "1.0",
    "1e20",
    "1e400",
    "-1e400",
    "5e-324",
    "123456.789",
    "0.30000000000000004",
};
#define NNUMBERS (sizeof numbers / sizeof *numbers)

Test(yaml, tricky_strings_round_trip) {
    text arr = {0}, obj = {0};
    add(&arr, "[");
    add(&obj, "{");
    for (size_t i = 0; i < NTRICKY; i++) {
        if (i) add(&arr, ","), add(&obj, ",");
        add(&arr, tricky[i]);
        add(&obj, tricky[i]); /* as a key, and as its value */
        add(&obj, ":");
        add(&obj, tricky[i]);
        round_trip(tricky[i]); /* alone, as the whole document */
    }
    add(&arr, "]");
    add(&obj, "}");
    round_trip(arr.p);
    round_trip(obj.p);
    free(arr.p);
    free(obj.p);
}

Test(yaml, scalars_round_trip) {
    round_trip("{\"t\":true,\"f\":false,\"n\":null,\"e\":{},\"a\":[],\"s\":\"\"}");
    round_trip("[true,false,null,{},[],\"\"]");
    text arr = {0};
    add(&arr, "[");
    for (size_t i = 0; i < NNUMBERS; i++) {
        if (i) add(&arr, ",");
        add(&arr, numbers[i]);
        round_trip(numbers[i]);
    }
    add(&arr, "]");
    round_trip(arr.p);
    free(arr.p);
}

Test(yaml, long_keys_round_trip) {
    /* Around the implicit key limit, in ASCII and in 2-byte characters (whose
     * byte count exceeds the limit before their character count does). */
    static const size_t sizes[] = {1, 1021, 1022, 1023, 1024, 3000};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        for (int wide = 0; wide <= 1; wide++) {
            text key = {0}, json = {0};
            for (size_t k = 0; k < sizes[i]; k++) add(&key, wide ? "\xc3\xa9" : "k");
            add(&json, "[{\"");
            add(&json, key.p);
            add(&json, "\":{\"");
            add(&json, key.p);
            add(&json, "\":[1,{\"x\":2}]},\"b\":\"\"},{\"");
            add(&json, key.p);
            add(&json, "\":3}]");
            round_trip(json.p);
            free(key.p);
            free(json.p);
        }
    }
}

Test(yaml, deepest_nesting_round_trips) {
    /* Objects and arrays in turn, as deep as the reader allows (128). */
    text json = {0};
    for (int i = 0; i < 128; i++) add(&json, i % 2 ? "[1," : "{\"k\":");
    add(&json, "\"bottom\"");
    for (int i = 127; i >= 0; i--) add(&json, i % 2 ? "]" : "}");
    round_trip(json.p);
    free(json.p);
}

/* A fixed-seed pseudo-random document of a few hundred kilobytes: objects,
 * arrays (nested directly in arrays too), empty ones, every tricky string as
 * key and value, every number. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static unsigned rnd(unsigned n) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

static void gen(text *t, int depth) {
    unsigned kind = depth >= 7 ? 2 + rnd(4) : rnd(6);
    if (kind < 2) {
        bool object = kind == 0;
        unsigned n = rnd(6);
        add(t, object ? "{" : "[");
        for (unsigned i = 0; i < n; i++) {
            if (i) add(t, ",");
            if (object) {
                add(t, tricky[rnd(NTRICKY)]);
                add(t, ":");
            }
            gen(t, depth + 1);
        }
        add(t, object ? "}" : "]");
    } else if (kind == 2) {
        add(t, numbers[rnd(NNUMBERS)]);
    } else if (kind == 3) {
        add(t, rnd(3) == 0 ? "true" : rnd(2) ? "false" : "null");
    } else {
        add(t, tricky[rnd(NTRICKY)]);
    }
}

Test(yaml, large_generated_document_round_trips) {
    text json = {0};
    add(&json, "{");
    for (int i = 0; json.len < 300 * 1024; i++) {
        if (i) add(&json, ",");
        char key[32];
        snprintf(key, sizeof key, "\"part%d\":", i);
        add(&json, key);
        add(&json, "{\"a\":");
        gen(&json, 0);
        add(&json, ",\"b\":[");
        gen(&json, 1);
        add(&json, ",");
        gen(&json, 1);
        add(&json, "]}");
    }
    add(&json, "}");
    round_trip(json.p);
    free(json.p);
}

/* --- Out of memory ---------------------------------------------------------------- */

/* Every allocation failing in turn: NULL each time (or the right text once
 * no failure is reached), never a crash or a leak. malloc is replaced in this
 * executable as in test_alloc.c, so not under AddressSanitizer or
 * ThreadSanitizer (each owns malloc). */
#if !defined(CHOPIN_UNDER_ASAN) && !defined(CHOPIN_UNDER_TSAN)
extern void *__libc_malloc(size_t);
extern void *__libc_realloc(void *, size_t);
static volatile long fail_countdown = -1; /* the allocation that fails; -1: none */
static bool fail_now(void) {
    return fail_countdown >= 0 && fail_countdown-- == 0;
}
void *malloc(size_t n) {
    return fail_now() ? NULL : __libc_malloc(n);
}
void *realloc(void *p, size_t n) {
    return fail_now() ? NULL : __libc_realloc(p, n);
}

Test(yaml, out_of_memory_is_null) {
    text json = {0};
    add(&json, "{\"paths\":{\"/x\":{\"get\":{\"responses\":[1,2.5,\"three\",{}]}}},\"e\":\"");
    for (int i = 0; i < 300; i++) add(&json, "\\n\xc3\xa9"); /* makes the output buffer grow */
    add(&json, "\"}");
    char *want = openapi_yaml_from_json(json.p, json.len);
    cr_assert_not_null(want);
    bool succeeded = false;
    for (long n = 0; n < 1000 && !succeeded; n++) {
        fail_countdown = n;
        char *got = openapi_yaml_from_json(json.p, json.len);
        bool failure_reached = fail_countdown < 0;
        fail_countdown = -1;
        if (failure_reached) {
            cr_expect_null(got, "allocation %ld failed, yet there was a result", n);
        } else {
            cr_assert_not_null(got);
            cr_expect_str_eq(got, want);
            succeeded = true;
        }
        free(got);
    }
    cr_expect(succeeded, "still failing after 1000 allocations");
    free(want);
    free(json.p);
}
#endif
