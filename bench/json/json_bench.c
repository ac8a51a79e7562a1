/* json_bench.c - Chopin's JSON reader and writer against Jansson and cJSON,
 * in one process, on the same documents (bench/json.sh builds and runs it).
 *
 * Documents: a generated ~1 MiB API response (an array of user records with
 * strings, escapes, non-ASCII text, integers, doubles, booleans, nulls, a
 * nested object and an array each) and the TechEmpower {"message":...}.
 * Parse: text -> tree -> freed. Serialize: the library's own tree -> compact
 * text. Each figure is the median of ROUNDS timed rounds. */
#include <chopin.h>

#include <cjson/cJSON.h>
#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ROUNDS 7

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median seconds per iteration of fn over iters iterations. */
static double measure(void (*fn)(void *), void *arg, int iters) {
    double t[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        double s = now_s();
        for (int i = 0; i < iters; i++) fn(arg);
        t[r] = (now_s() - s) / iters;
    }
    qsort(t, ROUNDS, sizeof t[0], cmp_double);
    return t[ROUNDS / 2];
}

/* --- The documents ------------------------------------------------------------ */

static char *make_big(size_t *len) {
    static const char *names[] = {"Ada Lovelace", "Frédéric Chopin", "Grace \"Amazing\" Hopper",
                                  "Alan Turing",  "Ежи Лем",         "Dennis Ritchie",
                                  "李小龙"};
    static const char *cities[] = {"London", "Paris", "New York", "Zürich", "Kraków"};
    chopin_json *j = chopin_json_new();
    chopin_json_object(j);
    chopin_json_key(j, "data");
    chopin_json_array(j);
    for (int i = 0; i < 3000; i++) {
        chopin_json_object(j);
        chopin_json_key(j, "id");
        chopin_json_int(j, 1000000 + i * 7919);
        chopin_json_key(j, "name");
        chopin_json_string(j, names[i % 7]);
        chopin_json_key(j, "email");
        char email[64];
        snprintf(email, sizeof email, "user%d@example.com", i);
        chopin_json_string(j, email);
        chopin_json_key(j, "active");
        chopin_json_bool(j, i % 3 != 0);
        chopin_json_key(j, "score");
        chopin_json_double(j, (i * 37 % 1000) / 7.0);
        chopin_json_key(j, "balance");
        chopin_json_double(j, i * 12.25 - 500);
        chopin_json_key(j, "manager");
        if (i % 5)
            chopin_json_int(j, i / 5);
        else
            chopin_json_null(j);
        chopin_json_key(j, "bio");
        chopin_json_string(j, "Line one\nLine two\twith a tab and a \\ backslash, \"quoted\".");
        chopin_json_key(j, "created_at");
        chopin_json_string(j, "2026-11-27T08:49:59.123Z");
        chopin_json_key(j, "tags");
        chopin_json_array(j);
        for (int k = 0; k < i % 5; k++) chopin_json_string(j, k % 2 ? "admin" : "beta-tester");
        chopin_json_end(j);
        chopin_json_key(j, "address");
        chopin_json_object(j);
        chopin_json_key(j, "city");
        chopin_json_string(j, cities[i % 5]);
        chopin_json_key(j, "zip");
        chopin_json_string(j, "75001");
        chopin_json_key(j, "geo");
        chopin_json_array(j);
        chopin_json_double(j, 48.8566 + i * 1e-4);
        chopin_json_double(j, 2.3522 - i * 1e-4);
        chopin_json_end(j);
        chopin_json_end(j);
        chopin_json_end(j);
    }
    chopin_json_end(j);
    chopin_json_key(j, "total");
    chopin_json_int(j, 3000);
    chopin_json_end(j);
    char *text = chopin_json_take(j, len);
    chopin_json_free(j);
    return text;
}

static const char small_doc[] = "{\"message\":\"Hello, World!\"}";

typedef struct {
    const char *text;
    size_t len;
    void *tree; /* for serializing: the library's parsed tree */
} doc;

/* --- Chopin ------------------------------------------------------------------------- */

static void chopin_parse(void *arg) {
    doc *d = arg;
    chopin_json_doc *t = chopin_json_doc_parse(d->text, d->len, NULL);
    if (!t) abort();
    chopin_json_doc_free(t);
}

static void write_value(chopin_json *j, const chopin_json_value *v) {
    switch (v->type) {
    case CHOPIN_JSON_NULL:
        chopin_json_null(j);
        break;
    case CHOPIN_JSON_BOOL:
        chopin_json_bool(j, v->u.b);
        break;
    case CHOPIN_JSON_NUMBER:
        if (v->is_int)
            chopin_json_int(j, v->u.num.i);
        else
            chopin_json_double(j, v->u.num.d);
        break;
    case CHOPIN_JSON_STRING:
        chopin_json_stringn(j, v->u.str.ptr, v->u.str.len);
        break;
    case CHOPIN_JSON_ARRAY:
        chopin_json_array(j);
        for (size_t i = 0; i < v->u.arr.count; i++) write_value(j, &v->u.arr.items[i]);
        chopin_json_end(j);
        break;
    case CHOPIN_JSON_OBJECT:
        chopin_json_object(j);
        for (size_t i = 0; i < v->u.obj.count; i++) {
            chopin_json_keyn(j, v->u.obj.members[i].key.ptr, v->u.obj.members[i].key.len);
            write_value(j, &v->u.obj.members[i].value);
        }
        chopin_json_end(j);
        break;
    }
}

static void chopin_write(void *arg) {
    doc *d = arg;
    chopin_json *j = chopin_json_new();
    write_value(j, chopin_json_doc_root(d->tree));
    free(chopin_json_take(j, NULL));
    chopin_json_free(j);
}

/* Chopin as the framework uses it: memory reused from one request to the
 * next (the request arena, the pooled response buffer). */
static chopin_json_doc *reused_doc;
static chopin_json *reused_writer;

static void chopin_parse_reuse(void *arg) {
    doc *d = arg;
    if (!chopin_json_doc_reparse(reused_doc, d->text, d->len, NULL)) abort();
}

static void chopin_write_reuse(void *arg) {
    doc *d = arg;
    chopin_json_reset(reused_writer);
    write_value(reused_writer, chopin_json_doc_root(d->tree));
    if (!chopin_json_text(reused_writer, NULL)) abort();
}

/* --- Jansson --------------------------------------------------------------------------- */

static void jansson_parse(void *arg) {
    doc *d = arg;
    json_t *t = json_loadb(d->text, d->len, 0, NULL);
    if (!t) abort();
    json_decref(t);
}

static void jansson_write(void *arg) {
    doc *d = arg;
    free(json_dumps(d->tree, JSON_COMPACT));
}

/* --- cJSON ------------------------------------------------------------------------------- */

static void cjson_parse(void *arg) {
    doc *d = arg;
    cJSON *t = cJSON_ParseWithLength(d->text, d->len);
    if (!t) abort();
    cJSON_Delete(t);
}

static void cjson_write(void *arg) {
    doc *d = arg;
    free(cJSON_PrintUnformatted(d->tree));
}

int main(void) {
    size_t big_len;
    char *big = make_big(&big_len);
    doc bigd = {big, big_len, NULL}, smalld = {small_doc, sizeof small_doc - 1, NULL};
    int big_iters = 20, small_iters = 200000;
    printf("documents: big %.2f MiB, small %zu bytes; median of %d rounds\n", big_len / 1048576.0,
           smalld.len, ROUNDS);

    struct {
        const char *name;
        void (*parse)(void *);
        void (*write)(void *);
    } libs[] = {{"chopin", chopin_parse, chopin_write},
                {"jansson", jansson_parse, jansson_write},
                {"cjson", cjson_parse, cjson_write},
                {"chopin-reuse", chopin_parse_reuse, chopin_write_reuse}};
    enum { NLIBS = 4 };
    double parse_mbs[NLIBS], write_mbs[NLIBS], parse_ns[NLIBS], write_ns[NLIBS];
    reused_doc = chopin_json_doc_new();
    reused_writer = chopin_json_new();
    for (int l = 0; l < NLIBS; l++) {
        /* Trees to serialize, built by each library's own parser. */
        if (l == 0 || l == 3) {
            bigd.tree = chopin_json_doc_parse(big, big_len, NULL);
            smalld.tree = chopin_json_doc_parse(small_doc, smalld.len, NULL);
        } else if (l == 1) {
            bigd.tree = json_loadb(big, big_len, 0, NULL);
            smalld.tree = json_loadb(small_doc, smalld.len, 0, NULL);
        } else {
            bigd.tree = cJSON_ParseWithLength(big, big_len);
            smalld.tree = cJSON_ParseWithLength(small_doc, smalld.len);
        }
        parse_mbs[l] = big_len / 1e6 / measure(libs[l].parse, &bigd, big_iters);
        write_mbs[l] = big_len / 1e6 / measure(libs[l].write, &bigd, big_iters);
        parse_ns[l] = 1e9 * measure(libs[l].parse, &smalld, small_iters);
        write_ns[l] = 1e9 * measure(libs[l].write, &smalld, small_iters);
        if (l == 0 || l == 3) {
            chopin_json_doc_free(bigd.tree);
            chopin_json_doc_free(smalld.tree);
        } else if (l == 1) {
            json_decref(bigd.tree);
            json_decref(smalld.tree);
        } else {
            cJSON_Delete(bigd.tree);
            cJSON_Delete(smalld.tree);
        }
    }
    printf("%-13s %12s %12s %14s %14s\n", "library", "parse MB/s", "write MB/s", "parse ns/small",
           "write ns/small");
    for (int l = 0; l < NLIBS; l++)
        printf("%-13s %12.1f %12.1f %14.1f %14.1f\n", libs[l].name, parse_mbs[l], write_mbs[l],
               parse_ns[l], write_ns[l]);
    double best_parse = parse_mbs[1] > parse_mbs[2] ? parse_mbs[1] : parse_mbs[2];
    double best_write = write_mbs[1] > write_mbs[2] ? write_mbs[1] : write_mbs[2];
    double best_parse_ns = parse_ns[1] < parse_ns[2] ? parse_ns[1] : parse_ns[2];
    double best_write_ns = write_ns[1] < write_ns[2] ? write_ns[1] : write_ns[2];
    printf("chopin vs the faster of jansson/cjson: parse %.2fx, write %.2fx (big); "
           "parse %.2fx, write %.2fx (small)\n",
           parse_mbs[0] / best_parse, write_mbs[0] / best_write, best_parse_ns / parse_ns[0],
           best_write_ns / write_ns[0]);
    printf("chopin-reuse vs the faster of jansson/cjson: parse %.2fx, write %.2fx (big); "
           "parse %.2fx, write %.2fx (small)\n",
           parse_mbs[3] / best_parse, write_mbs[3] / best_write, best_parse_ns / parse_ns[3],
           best_write_ns / write_ns[3]);
    chopin_json_doc_free(reused_doc);
    chopin_json_free(reused_writer);
    free(big);
    return 0;
}
