/* test_model_good_bodies.c - models (chopin/model.h) through the in-process
 * test client: good bodies that must bind and round-trip through
 * chopin_json_model, and, for some, the exact response body. The models and
 * the app are those of model_fixture.h; bad bodies are tested in
 * test_model_bad_bodies.c. The expected behaviour is the contract in
 * model.h. */
#include "model_fixture.h"

#include <ctype.h>
#include <time.h>

TestSuite(model, .init = setup, .fini = teardown);

/* --- Good bodies: bind and round-trip ------------------------------------------- */

/* RFC 3339 -> microseconds (test's own reading, via timegm). */
static bool rfc3339(const char *s, int64_t *out) {
    int y, mo, d, h, mi, sec, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%*1[Tt]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
        n != 19)
        return false;
    const char *p = s + 19;
    int64_t frac = 0;
    int digits = 0;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            if (digits < 6) frac = frac * 10 + (*p - '0'), digits++;
            p++;
        }
        if (!digits) return false;
        while (digits++ < 6) frac *= 10;
    }
    long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2) return false;
        off = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return false;
    }
    if (*p) return false;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    *out = ((int64_t)timegm(&tm) - off) * 1000000 + frac;
    return true;
}

/* Output timestamps are "YYYY-MM-DDTHH:MM:SS[.f...]Z". */
static bool canonical_timestamp(const char *s) {
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    for (size_t i = 0; i < sizeof shape - 1; i++)
        if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i]) return false;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) return false;
        while (isdigit((unsigned char)*p)) p++;
    }
    return p[0] == 'Z' && p[1] == '\0';
}

static bool is_nullish(const chopin_json_value *v) {
    return !v || v->type == CHOPIN_JSON_NULL;
}

static bool same_bytes(const chopin_json_value *a, const chopin_json_value *b) {
    return a->type == CHOPIN_JSON_STRING && b->type == CHOPIN_JSON_STRING &&
           a->u.str.len == b->u.str.len && !memcmp(a->u.str.ptr, b->u.str.ptr, a->u.str.len);
}

static void cmp_model(const char *row, const char *path, const chopin_model *m,
                      const chopin_json_value *in, const chopin_json_value *out);

/* A field absent (or null) in the input must come out as its zero value. */
static void cmp_default(const char *row, const char *path, const chopin_field *f,
                        const chopin_json_value *ov) {
    switch (f->type) {
    case CHOPIN_BOOL:
        cr_expect(ov && ov->type == CHOPIN_JSON_BOOL && !ov->u.b, "%s: %s should be false", row,
                  path);
        break;
    case CHOPIN_INT32:
    case CHOPIN_INT64:
    case CHOPIN_DOUBLE:
        cr_expect(ov && ov->type == CHOPIN_JSON_NUMBER && ov->u.num.d == 0, "%s: %s should be 0",
                  row, path);
        break;
    case CHOPIN_TIMESTAMP:
        if (f->presence) {
            cr_expect(is_nullish(ov), "%s: %s should be null or absent", row, path);
        } else {
            int64_t us = -1;
            cr_expect(ov && rfc3339(str_or(ov, ""), &us) && us == 0, "%s: %s should be the epoch",
                      row, path);
        }
        break;
    case CHOPIN_OBJECT:
        if (ov && ov->type == CHOPIN_JSON_OBJECT)
            cmp_model(row, path, f->model, NULL, ov);
        else
            cr_expect(is_nullish(ov), "%s: %s should be a zero object, null or absent", row, path);
        break;
    case CHOPIN_ARRAY:
        cr_expect(is_nullish(ov) || (ov->type == CHOPIN_JSON_ARRAY && ov->u.arr.count == 0),
                  "%s: %s should be empty", row, path);
        break;
    default:
        cr_expect(is_nullish(ov), "%s: %s should be null or absent", row, path);
    }
}

static void cmp_value(const char *row, const char *path, chopin_field_type type,
                      const chopin_model *sub, const chopin_field *f, const chopin_json_value *iv,
                      const chopin_json_value *ov) {
    cr_expect_not_null(ov, "%s: %s missing from the output", row, path);
    if (!ov) return;
    switch (type) {
    case CHOPIN_BOOL:
        cr_expect(ov->type == CHOPIN_JSON_BOOL && ov->u.b == iv->u.b, "%s: %s", row, path);
        break;
    case CHOPIN_INT32:
    case CHOPIN_INT64:
        cr_expect(ov->type == CHOPIN_JSON_NUMBER && ov->is_int && ov->u.num.i == iv->u.num.i,
                  "%s: %s is %" PRId64 ", expected %" PRId64, row, path, ov->u.num.i, iv->u.num.i);
        break;
    case CHOPIN_DOUBLE:
        cr_expect(ov->type == CHOPIN_JSON_NUMBER && ov->u.num.d == iv->u.num.d,
                  "%s: %s is %.17g, expected %.17g", row, path, ov->u.num.d, iv->u.num.d);
        break;
    case CHOPIN_UUID: {
        char low[64] = {0};
        for (size_t i = 0; i < iv->u.str.len && i < 63; i++)
            low[i] = (char)tolower((unsigned char)iv->u.str.ptr[i]);
        cr_expect(is_str(ov, low), "%s: %s is %s, expected %s", row, path, str_or(ov, "?"), low);
        break;
    }
    case CHOPIN_TIMESTAMP: {
        int64_t a = 0, b = 1;
        const char *os = str_or(ov, "");
        cr_expect(canonical_timestamp(os), "%s: %s output %s is not YYYY-MM-DDTHH:MM:SS[.f]Z", row,
                  path, os);
        cr_expect(rfc3339(iv->u.str.ptr, &a) && rfc3339(os, &b) && a == b,
                  "%s: %s output %s is not the instant %s", row, path, os, iv->u.str.ptr);
        break;
    }
    case CHOPIN_OBJECT:
        cmp_model(row, path, sub, iv, ov);
        break;
    case CHOPIN_ARRAY: {
        cr_expect(ov->type == CHOPIN_JSON_ARRAY && ov->u.arr.count == iv->u.arr.count,
                  "%s: %s has the wrong length", row, path);
        if (ov->type != CHOPIN_JSON_ARRAY || ov->u.arr.count != iv->u.arr.count) return;
        for (size_t i = 0; i < iv->u.arr.count; i++) {
            char p[256];
            snprintf(p, sizeof p, "%s[%zu]", path, i);
            cmp_value(row, p, f->item, f->model, NULL, &iv->u.arr.items[i], &ov->u.arr.items[i]);
        }
        break;
    }
    default: /* STRING, TEXT, ENUM: the same bytes */
        cr_expect(same_bytes(iv, ov), "%s: %s is %s, expected %s", row, path, str_or(ov, "?"),
                  iv->u.str.ptr);
    }
}

static void cmp_model(const char *row, const char *path, const chopin_model *m,
                      const chopin_json_value *in, const chopin_json_value *out) {
    cr_expect(out && out->type == CHOPIN_JSON_OBJECT, "%s: %s is not an object", row,
              path[0] ? path : "the output");
    if (!out || out->type != CHOPIN_JSON_OBJECT) return;
    for (size_t i = 0; i < m->count; i++) {
        const chopin_field *f = &m->fields[i];
        char p[256];
        snprintf(p, sizeof p, "%s%s%s", path, path[0] ? "." : "", f->name);
        const chopin_json_value *iv = in ? chopin_json_get(in, f->name) : NULL;
        const chopin_json_value *ov = chopin_json_get(out, f->name);
        if (f->write_only) {
            cr_expect_null(ov, "%s: write-only %s in the output", row, p);
        } else if (f->read_only || is_nullish(iv)) {
            cmp_default(row, p, f, ov);
        } else {
            cmp_value(row, p, f->type, f->model, f, iv, ov);
        }
    }
    /* nothing but the model's readable fields, each once */
    for (size_t k = 0; k < out->u.obj.count; k++) {
        const char *key = out->u.obj.members[k].key.ptr;
        bool known = false;
        for (size_t i = 0; i < m->count; i++)
            if (!strcmp(m->fields[i].name, key) && !m->fields[i].write_only) known = true;
        cr_expect(known, "%s: unexpected member %s in %s", row, key, path[0] ? path : "output");
        for (size_t j = 0; j < k; j++)
            cr_expect(strcmp(out->u.obj.members[j].key.ptr, key), "%s: %s twice", row, key);
    }
}

typedef struct {
    const char *name, *route, *body;
    const char *snap; /* expected snapshot, or NULL */
} good_row;

static const good_row good_rows[] = {
    {"minimal", O, "{\"title\":\"Widget\"}",
     "id=0 due=0 has_due=0 ref=NULL password=NULL tags=0 items=0"},
    {"everything", O,
     "{\"id\":99,\"active\":true,\"score\":100,\"stock\":2147483647,"
     "\"views\":9223372036854775807,\"weight\":0,\"title\":\"Widget\",\"notes\":\"some notes\","
     "\"email\":\"ann@example.com\",\"ref\":\"550E8400-E29B-41D4-A716-446655440000\","
     "\"priority\":\"high\",\"due\":\"2024-02-29T12:30:00.123456+02:00\","
     "\"address\":{\"city\":\"Paris\",\"zip\":\"75001\"},\"tags\":[\"a\",\"b\",\"c\"],"
     "\"items\":[{\"name\":\"bolt\",\"qty\":1},{\"name\":\"nut\",\"qty\":2147483647}],"
     "\"password\":\"s3cret\"}",
     "id=0 due=1709202600123456 has_due=1 ref=550e8400-e29b-41d4-a716-446655440000 "
     "password=s3cret tags=3 items=2"},
    {"lower bounds", O,
     "{\"title\":\"abc\",\"score\":0,\"stock\":-2147483648,\"views\":-9223372036854775808,"
     "\"weight\":0.0,\"priority\":\"low\",\"tags\":[],\"items\":[]}",
     NULL},
    {"escapes and UTF-8", O,
     "{\"title\":\"a\\\"b\\\\c\\/\\n\\u00e9\","
     "\"notes\":\"tab\\there \\ud83c\\udfb5 \\u0001 \xe2\x82\xac\"}",
     NULL},
    {"10 code points in 30 bytes", O,
     "{\"title\":\"\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97"
     "\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\"}",
     NULL},
    {"3 code points with a surrogate pair", O, "{\"title\":\"\\ud83c\\udfb5ab\"}", NULL},
    {"null timestamp", O, "{\"title\":\"Widget\",\"due\":null}",
     "id=0 due=0 has_due=0 ref=NULL password=NULL tags=0 items=0"},
    {"epoch timestamp is present", O, "{\"title\":\"Widget\",\"due\":\"1970-01-01T00:00:00Z\"}",
     "id=0 due=0 has_due=1 ref=NULL password=NULL tags=0 items=0"},
    {"before the epoch", O, "{\"title\":\"Widget\",\"due\":\"1969-12-31T23:59:59.5Z\"}",
     "id=0 due=-500000 has_due=1 ref=NULL password=NULL tags=0 items=0"},
    {"negative offset", O, "{\"title\":\"Widget\",\"due\":\"2023-12-31T20:00:00-05:30\"}",
     "id=0 due=1704072600000000 has_due=1 ref=NULL password=NULL tags=0 items=0"},
    {"unknown members ignored", O,
     "{\"color\":\"red\",\"title\":\"Widget\",\"nested\":{\"x\":[1,2]},\"id\":\"junk\"}", NULL},
    {"address with city only", O,
     "{\"title\":\"Widget\",\"address\":{\"city\":\"Z\xc3\xbcrich\",\"extra\":1}}", NULL},
    {"fractional and large doubles", O, "{\"title\":\"Widget\",\"weight\":0.1}", NULL},
    {"large double", O, "{\"title\":\"Widget\",\"weight\":1.5e300}", NULL},
    {"integral double", O, "{\"title\":\"Widget\",\"weight\":3}", NULL},
    {"whitespace around", O, " \r\n\t{ \"title\" : \"Widget\" , \"active\" : false }\n ", NULL},
    {"strict model", S, "{\"text\":\"hi \\u2603\",\"pinned\":true}", NULL},
    {"strict model minimal", S, "{\"text\":\"x\"}", "text=x pinned=0"},
};

Test(model, good_bodies_round_trip) {
    size_t n = sizeof good_rows / sizeof good_rows[0];
    cr_assert_geq(n, 10);
    for (size_t i = 0; i < n; i++) {
        const good_row *g = &good_rows[i];
        chopin_test_response *r = post(g->route, g->body, strlen(g->body));
        cr_expect_eq(r->status, 201, "%s: status %d, body %s", g->name, r->status, r->body);
        if (g->snap) cr_expect_str_eq(snapshot, g->snap, "%s", g->name);
        chopin_json_error err;
        chopin_json_doc *in = chopin_json_doc_parse(g->body, strlen(g->body), &err);
        cr_assert_not_null(in, "%s: the test's own body is not JSON", g->name);
        chopin_json_doc *out = chopin_json_doc_parse(r->body, r->body_len, &err);
        cr_expect_not_null(out, "%s: output is not JSON: %s", g->name, r->body);
        if (out && r->status == 201) {
            const chopin_model *m = !strcmp(g->route, S) ? &note_model : &order_model;
            const chopin_json_value *root = chopin_json_doc_root(out);
            const chopin_json_value *ok = chopin_json_get(root, "success");
            cr_expect(ok && ok->type == CHOPIN_JSON_BOOL && ok->u.b, "%s: envelope: %s", g->name,
                      r->body);
            cmp_model(g->name, "", m, chopin_json_doc_root(in), chopin_json_get(root, "data"));
            cr_expect_null(strstr(r->body, "s3cret"), "%s: the password leaked: %s", g->name,
                           r->body);
        }
        chopin_json_doc_free(out);
        chopin_json_doc_free(in);
        chopin_test_response_free(r);
    }
}

/* Exact 201 bodies for a few good rows, pinned after checking by eye. Absent
 * non-nullable fields are left out (so the output binds again). */
static const exact_row exact_good[] = {
    {O, "{\"title\":\"Widget\"}", 201,
     "{\"id\":0,\"active\":false,\"score\":0,\"stock\":0,\"views\":0,\"weight\":0,\"title\":"
     "\"Widget\",\"due\":null,"
     "\"address\":{},\"tags\":[],\"items\":[]}"},
    {O,
     "{\"id\":99,\"active\":true,\"score\":100,\"stock\":2147483647,\"views\":9223372036854775807,"
     "\"weight\":0,\"title\":\"Widget\",\"notes\":\"some "
     "notes\",\"email\":\"ann@example.com\",\"ref\":\"550E8400-E29B-41D4-A716-446655440000\","
     "\"priority\":\"high\",\"due\":\"2024-02-29T12:30:00.123456+02:00\",\"address\":{\"city\":"
     "\"Paris\",\"zip\":\"75001\"},\"tags\":[\"a\",\"b\",\"c\"],\"items\":[{\"name\":\"bolt\","
     "\"qty\":1},{\"name\":\"nut\",\"qty\":2147483647}],\"password\":\"s3cret\"}",
     201,
     "{\"id\":0,\"active\":true,\"score\":100,\"stock\":2147483647,\"views\":9223372036854775807,"
     "\"weight\":0,\"title\":\"Widget\",\"notes\":\"some "
     "notes\",\"email\":\"ann@example.com\",\"ref\":\"550e8400-e29b-41d4-a716-446655440000\","
     "\"priority\":\"high\",\"due\":\"2024-02-29T10:30:00.123456Z\",\"address\":{\"city\":"
     "\"Paris\",\"zip\":\"75001\"},\"tags\":[\"a\",\"b\",\"c\"],\"items\":[{\"name\":\"bolt\","
     "\"qty\":1},{\"name\":\"nut\",\"qty\":2147483647}]}"},
    {O,
     "{\"title\":\"a\\\"b\\\\c\\/\\n\\u00e9\",\"notes\":\"tab\\there \\ud83c\\udfb5 \\u0001 "
     "\xe2\x82\xac\"}",
     201,
     "{\"id\":0,\"active\":false,\"score\":0,\"stock\":0,\"views\":0,\"weight\":0,\"title\":"
     "\"a\\\"b\\\\c/\\n\xc3\xa9\",\"notes\":\"tab\\there \xf0\x9f\x8e\xb5 \\u0001 "
     "\xe2\x82\xac\",\"due\":null,\"address\":{},\"tags\":[],\"items\":[]}"},
    {O, "{\"title\":\"Widget\",\"due\":\"1969-12-31T23:59:59.5Z\"}", 201,
     "{\"id\":0,\"active\":false,\"score\":0,\"stock\":0,\"views\":0,\"weight\":0,\"title\":"
     "\"Widget\",\"due\":\"1969-12-"
     "31T23:59:59.500000Z\",\"address\":{},\"tags\":[],\"items\":[]}"},
    {O, "{\"title\":\"Widget\",\"due\":\"2023-12-31T20:00:00-05:30\"}", 201,
     "{\"id\":0,\"active\":false,\"score\":0,\"stock\":0,\"views\":0,\"weight\":0,\"title\":"
     "\"Widget\",\"due\":\"2024-01-"
     "01T01:30:00Z\",\"address\":{},\"tags\":[],\"items\":[]}"},
    {S, "{\"text\":\"hi \\u2603\",\"pinned\":true}", 201,
     "{\"text\":\"hi \xe2\x98\x83\",\"pinned\":true}"},
    {NULL, NULL, 0, NULL},
};

Test(model, good_bodies_exact) {
    for (size_t i = 0; exact_good[i].route; i++) {
        const exact_row *x = &exact_good[i];
        chopin_test_response *r = post(x->route, x->body, strlen(x->body));
        cr_expect_eq(r->status, x->status, "%s: status %d", x->body, r->status);
        /* the rows hold the data; the answer wraps it in the success envelope */
        char want[1024];
        snprintf(want, sizeof want, "{\"success\":true,\"data\":%s}", x->want);
        cr_expect_str_eq(r->body, want, "%s", x->body);
        chopin_test_response_free(r);
    }
}
