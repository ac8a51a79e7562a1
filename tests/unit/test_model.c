/* test_model.c - models (chopin/model.h) through the in-process test client:
 * one model using every field type and constraint, a table of bad bodies
 * checked for their exact status and error list (and, for some, the exact
 * response body), and good bodies that must bind and round-trip through
 * chopin_json_model. The expected behaviour is the contract in model.h. */
#include <criterion/criterion.h>

#include "chopin.h"
#include "chopin/model.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- The models -------------------------------------------------------------- */

typedef struct {
    const char *city;
    const char *zip;
} postal;

#define POSTAL_FIELDS(F)                                                                           \
    F(postal, city, CHOPIN_STRING, .required = true), F(postal, zip, CHOPIN_STRING, .max_len = 5)
CHOPIN_MODEL(postal, POSTAL_FIELDS);

typedef struct {
    const char *name;
    int32_t qty;
} line;

#define LINE_FIELDS(F)                                                                             \
    F(line, name, CHOPIN_STRING, .required = true),                                                \
        F(line, qty, CHOPIN_INT32, .min = 1, .has_min = true)
CHOPIN_MODEL(line, LINE_FIELDS);

typedef struct {
    int64_t id;
    bool active;
    int32_t score;
    int32_t stock;
    int64_t views;
    double weight;
    const char *title;
    const char *notes;
    const char *email;
    const char *ref;
    const char *priority;
    int64_t due;
    bool has_due;
    postal address;
    chopin_array tags;
    chopin_array items;
    const char *password;
} order;

#define ORDER_FIELDS(F)                                                                            \
    F(order, id, CHOPIN_INT64, .read_only = true), F(order, active, CHOPIN_BOOL),                  \
        F(order, score, CHOPIN_INT32, .min = 0, .max = 100, .has_min = true, .has_max = true),     \
        F(order, stock, CHOPIN_INT32), F(order, views, CHOPIN_INT64),                              \
        F(order, weight, CHOPIN_DOUBLE, .min = 0, .has_min = true),                                \
        F(order, title, CHOPIN_STRING, .required = true, .min_len = 3, .max_len = 10),             \
        F(order, notes, CHOPIN_TEXT), F(order, email, CHOPIN_STRING, .format = "email"),           \
        F(order, ref, CHOPIN_UUID),                                                                \
        F(order, priority, CHOPIN_ENUM, CHOPIN_ONE_OF("low", "normal", "high")),                   \
        F(order, due, CHOPIN_TIMESTAMP, .nullable = true, CHOPIN_PRESENCE(order, has_due)),        \
        F(order, address, CHOPIN_OBJECT, .model = &postal_model),                                  \
        F(order, tags, CHOPIN_ARRAY, .item = CHOPIN_STRING, .max = 3, .has_max = true),            \
        F(order, items, CHOPIN_ARRAY, .item = CHOPIN_OBJECT, .model = &line_model),                \
        F(order, password, CHOPIN_STRING, .write_only = true)
CHOPIN_MODEL(order, ORDER_FIELDS);

/* A strict model. */
typedef struct {
    const char *text;
    bool pinned;
} note;

#define NOTE_FIELDS(F) F(note, text, CHOPIN_STRING, .required = true), F(note, pinned, CHOPIN_BOOL)
CHOPIN_MODEL(note, NOTE_FIELDS, .strict = true);

/* --- The app ------------------------------------------------------------------- */

/* What the handler saw once bound: values a JSON echo cannot show. */
static char snapshot[1024];

static void post_order(chopin_ctx *c) {
    order *o = chopin_bind(c, &order_model);
    if (!o) return;
    snprintf(snapshot, sizeof snapshot,
             "id=%" PRId64 " due=%" PRId64 " has_due=%d ref=%s password=%s tags=%zu items=%zu",
             o->id, o->due, o->has_due, o->ref ? o->ref : "NULL",
             o->password ? o->password : "NULL", o->tags.count, o->items.count);
    chopin_json_model(c, 201, &order_model, o);
}

static void post_note(chopin_ctx *c) {
    note *n = chopin_bind(c, &note_model);
    if (!n) return;
    snprintf(snapshot, sizeof snapshot, "text=%s pinned=%d", n->text ? n->text : "NULL", n->pinned);
    chopin_json_model(c, 201, &note_model, n);
}

static chopin_app *app;

static void setup(void) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    app = chopin_app_new_with(&cfg);
    cr_assert_not_null(app);
    chopin_post(app, "/orders", post_order);
    chopin_post(app, "/notes", post_note);
}

static void teardown(void) {
    chopin_app_free(app);
    app = NULL;
}

TestSuite(model, .init = setup, .fini = teardown);

static chopin_test_response *post(const char *route, const char *body, size_t len) {
    static const char *const headers[] = {"Content-Type: application/json", NULL};
    snapshot[0] = '\0';
    chopin_test_response *r = chopin_test_request(app, "POST", route, headers, body, len);
    cr_assert_not_null(r, "POST %s %s: malformed response", route, body);
    return r;
}

/* --- Helpers over parsed JSON ---------------------------------------------------- */

static bool is_str(const chopin_json_value *v, const char *s) {
    return v && v->type == CHOPIN_JSON_STRING && strlen(s) == v->u.str.len &&
           !memcmp(v->u.str.ptr, s, v->u.str.len);
}

static const char *str_or(const chopin_json_value *v, const char *dflt) {
    return v && v->type == CHOPIN_JSON_STRING ? v->u.str.ptr : dflt;
}

/* --- Bad bodies -------------------------------------------------------------- */

typedef struct {
    const char *field, *code;
} fe;

typedef struct {
    const char *name;
    const char *route;
    const char *body;
    int status;
    long offset; /* 400: the byte offset the message must name */
    fe fields[8];
} bad_row;

#define O "/orders"
#define S "/notes"

static const bad_row bad_rows[] = {
    /* required and string lengths (code points, not bytes) */
    {"missing required", O, "{}", 422, 0, {{"title", "required"}}},
    {"title too short", O, "{\"title\":\"ab\"}", 422, 0, {{"title", "min_length"}}},
    {"title empty", O, "{\"title\":\"\"}", 422, 0, {{"title", "min_length"}}},
    {"title 2 code points in 4 bytes",
     O,
     "{\"title\":\"\xc3\xa9\xc3\xa9\"}",
     422,
     0,
     {{"title", "min_length"}}},
    {"title too long", O, "{\"title\":\"abcdefghijk\"}", 422, 0, {{"title", "max_length"}}},
    {"title 11 code points",
     O,
     "{\"title\":\"\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97"
     "\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\"}",
     422,
     0,
     {{"title", "max_length"}}},
    {"title number", O, "{\"title\":42}", 422, 0, {{"title", "type"}}},
    /* bool */
    {"active string",
     O,
     "{\"title\":\"Widget\",\"active\":\"true\"}",
     422,
     0,
     {{"active", "type"}}},
    {"active number", O, "{\"title\":\"Widget\",\"active\":1}", 422, 0, {{"active", "type"}}},
    {"active null", O, "{\"title\":\"Widget\",\"active\":null}", 422, 0, {{"active", "null"}}},
    /* int32 */
    {"score below min", O, "{\"title\":\"Widget\",\"score\":-1}", 422, 0, {{"score", "min"}}},
    {"score above max", O, "{\"title\":\"Widget\",\"score\":101}", 422, 0, {{"score", "max"}}},
    {"score fraction", O, "{\"title\":\"Widget\",\"score\":1.5}", 422, 0, {{"score", "type"}}},
    {"score string", O, "{\"title\":\"Widget\",\"score\":\"5\"}", 422, 0, {{"score", "type"}}},
    {"score null", O, "{\"title\":\"Widget\",\"score\":null}", 422, 0, {{"score", "null"}}},
    {"stock 2^31", O, "{\"title\":\"Widget\",\"stock\":2147483648}", 422, 0, {{"stock", "type"}}},
    {"stock -2^31-1",
     O,
     "{\"title\":\"Widget\",\"stock\":-2147483649}",
     422,
     0,
     {{"stock", "type"}}},
    /* int64 */
    {"views string", O, "{\"title\":\"Widget\",\"views\":\"10\"}", 422, 0, {{"views", "type"}}},
    {"views 2^63",
     O,
     "{\"title\":\"Widget\",\"views\":9223372036854775808}",
     422,
     0,
     {{"views", "type"}}},
    {"views fraction", O, "{\"title\":\"Widget\",\"views\":2.5}", 422, 0, {{"views", "type"}}},
    /* double */
    {"weight below min", O, "{\"title\":\"Widget\",\"weight\":-0.5}", 422, 0, {{"weight", "min"}}},
    {"weight string", O, "{\"title\":\"Widget\",\"weight\":\"1\"}", 422, 0, {{"weight", "type"}}},
    {"weight bool", O, "{\"title\":\"Widget\",\"weight\":true}", 422, 0, {{"weight", "type"}}},
    /* text */
    {"notes number", O, "{\"title\":\"Widget\",\"notes\":5}", 422, 0, {{"notes", "type"}}},
    {"notes array", O, "{\"title\":\"Widget\",\"notes\":[\"a\"]}", 422, 0, {{"notes", "type"}}},
    /* email */
    {"email no at",
     O,
     "{\"title\":\"Widget\",\"email\":\"plainaddress\"}",
     422,
     0,
     {{"email", "format"}}},
    {"email no domain",
     O,
     "{\"title\":\"Widget\",\"email\":\"ann@\"}",
     422,
     0,
     {{"email", "format"}}},
    {"email no local part",
     O,
     "{\"title\":\"Widget\",\"email\":\"@example.com\"}",
     422,
     0,
     {{"email", "format"}}},
    {"email number", O, "{\"title\":\"Widget\",\"email\":7}", 422, 0, {{"email", "type"}}},
    {"email null", O, "{\"title\":\"Widget\",\"email\":null}", 422, 0, {{"email", "null"}}},
    /* uuid */
    {"uuid short", O, "{\"title\":\"Widget\",\"ref\":\"1234\"}", 422, 0, {{"ref", "format"}}},
    {"uuid bad hex",
     O,
     "{\"title\":\"Widget\",\"ref\":\"g50e8400-e29b-41d4-a716-446655440000\"}",
     422,
     0,
     {{"ref", "format"}}},
    {"uuid misplaced hyphen",
     O,
     "{\"title\":\"Widget\",\"ref\":\"550e8400e-29b-41d4-a716-446655440000\"}",
     422,
     0,
     {{"ref", "format"}}},
    {"uuid number", O, "{\"title\":\"Widget\",\"ref\":7}", 422, 0, {{"ref", "type"}}},
    /* enum */
    {"enum unknown",
     O,
     "{\"title\":\"Widget\",\"priority\":\"urgent\"}",
     422,
     0,
     {{"priority", "one_of"}}},
    {"enum wrong case",
     O,
     "{\"title\":\"Widget\",\"priority\":\"High\"}",
     422,
     0,
     {{"priority", "one_of"}}},
    {"enum number", O, "{\"title\":\"Widget\",\"priority\":1}", 422, 0, {{"priority", "type"}}},
    /* timestamp */
    {"timestamp month 13",
     O,
     "{\"title\":\"Widget\",\"due\":\"2024-13-01T00:00:00Z\"}",
     422,
     0,
     {{"due", "format"}}},
    {"timestamp Feb 29 non-leap",
     O,
     "{\"title\":\"Widget\",\"due\":\"2023-02-29T00:00:00Z\"}",
     422,
     0,
     {{"due", "format"}}},
    {"timestamp date only",
     O,
     "{\"title\":\"Widget\",\"due\":\"2024-01-01\"}",
     422,
     0,
     {{"due", "format"}}},
    {"timestamp no zone",
     O,
     "{\"title\":\"Widget\",\"due\":\"2024-01-01T10:00:00\"}",
     422,
     0,
     {{"due", "format"}}},
    {"timestamp words",
     O,
     "{\"title\":\"Widget\",\"due\":\"tomorrow\"}",
     422,
     0,
     {{"due", "format"}}},
    {"timestamp number", O, "{\"title\":\"Widget\",\"due\":1700000000}", 422, 0, {{"due", "type"}}},
    /* nested object */
    {"address string",
     O,
     "{\"title\":\"Widget\",\"address\":\"Paris\"}",
     422,
     0,
     {{"address", "type"}}},
    {"address null", O, "{\"title\":\"Widget\",\"address\":null}", 422, 0, {{"address", "null"}}},
    {"address missing city",
     O,
     "{\"title\":\"Widget\",\"address\":{}}",
     422,
     0,
     {{"address.city", "required"}}},
    {"address zip too long",
     O,
     "{\"title\":\"Widget\",\"address\":{\"city\":\"Paris\",\"zip\":\"123456\"}}",
     422,
     0,
     {{"address.zip", "max_length"}}},
    {"address city number",
     O,
     "{\"title\":\"Widget\",\"address\":{\"city\":5}}",
     422,
     0,
     {{"address.city", "type"}}},
    /* array of strings */
    {"tags string", O, "{\"title\":\"Widget\",\"tags\":\"a\"}", 422, 0, {{"tags", "type"}}},
    {"tags item number",
     O,
     "{\"title\":\"Widget\",\"tags\":[\"a\",5]}",
     422,
     0,
     {{"tags[1]", "type"}}},
    {"tags item null", O, "{\"title\":\"Widget\",\"tags\":[null]}", 422, 0, {{"tags[0]", "null"}}},
    {"tags too many",
     O,
     "{\"title\":\"Widget\",\"tags\":[\"a\",\"b\",\"c\",\"d\"]}",
     422,
     0,
     {{"tags", "max"}}},
    {"tags null", O, "{\"title\":\"Widget\",\"tags\":null}", 422, 0, {{"tags", "null"}}},
    /* array of objects */
    {"items qty below min",
     O,
     "{\"title\":\"Widget\",\"items\":[{\"name\":\"bolt\",\"qty\":0}]}",
     422,
     0,
     {{"items[0].qty", "min"}}},
    {"items second without name",
     O,
     "{\"title\":\"Widget\",\"items\":[{\"name\":\"bolt\"},{\"qty\":2}]}",
     422,
     0,
     {{"items[1].name", "required"}}},
    {"items item number",
     O,
     "{\"title\":\"Widget\",\"items\":[1]}",
     422,
     0,
     {{"items[0]", "type"}}},
    {"items object", O, "{\"title\":\"Widget\",\"items\":{}}", 422, 0, {{"items", "type"}}},
    /* write-only still validated */
    {"password number",
     O,
     "{\"title\":\"Widget\",\"password\":123}",
     422,
     0,
     {{"password", "type"}}},
    /* several at once, in document (= field) order */
    {"five at once",
     O,
     "{\"active\":\"yes\",\"score\":101,\"title\":\"ab\",\"email\":\"x\",\"priority\":\"urgent\"}",
     422,
     0,
     {{"active", "type"},
      {"score", "max"},
      {"title", "min_length"},
      {"email", "format"},
      {"priority", "one_of"}}},
    {"nested and array errors together",
     O,
     "{\"title\":\"Widget\",\"address\":{\"city\":\"Paris\",\"zip\":\"123456\"},"
     "\"tags\":[\"ok\",1,false],\"items\":[{\"qty\":0}]}",
     422,
     0,
     {{"address.zip", "max_length"},
      {"tags[1]", "type"},
      {"tags[2]", "type"},
      {"items[0].name", "required"},
      {"items[0].qty", "min"}}},
    {"every type wrong",
     O,
     "{\"active\":0,\"score\":\"1\",\"stock\":true,\"views\":{},\"weight\":[],\"title\":1,"
     "\"notes\":false,\"email\":1,\"ref\":1,\"priority\":1,\"due\":1,\"address\":1,\"tags\":1,"
     "\"items\":1,\"password\":1}",
     422,
     0,
     {{"active", "type"},
      {"score", "type"},
      {"stock", "type"},
      {"views", "type"},
      {"weight", "type"},
      {"title", "type"},
      {"notes", "type"},
      {"email", "type"}}},
    /* more edge cases */
    {"missing required with another error",
     O,
     "{\"score\":500}",
     422,
     0,
     {{"score", "max"}, {"title", "required"}}},
    {"required title null", O, "{\"title\":null}", 422, 0, {{"title", "null"}}},
    {"weight too large for a double",
     O,
     "{\"title\":\"Widget\",\"weight\":1e400}",
     422,
     0,
     {{"weight", "type"}}},
    {"timestamp hour 24",
     O,
     "{\"title\":\"Widget\",\"due\":\"2024-01-01T24:00:00Z\"}",
     422,
     0,
     {{"due", "format"}}},
    {"timestamp offset +24:00",
     O,
     "{\"title\":\"Widget\",\"due\":\"2024-01-01T10:00:00+24:00\"}",
     422,
     0,
     {{"due", "format"}}},
    {"timestamp empty fraction",
     O,
     "{\"title\":\"Widget\",\"due\":\"2024-01-01T10:00:00.Z\"}",
     422,
     0,
     {{"due", "format"}}},
    {"uuid in braces",
     O,
     "{\"title\":\"Widget\",\"ref\":\"{550e8400-e29b-41d4-a716-446655440000}\"}",
     422,
     0,
     {{"ref", "format"}}},
    {"enum empty string",
     O,
     "{\"title\":\"Widget\",\"priority\":\"\"}",
     422,
     0,
     {{"priority", "one_of"}}},
    {"duplicate key: the last one counts",
     O,
     "{\"title\":\"Widget\",\"title\":\"ab\"}",
     422,
     0,
     {{"title", "min_length"}}},
    {"strict unknown and missing required",
     S,
     "{\"extra\":true}",
     422,
     0,
     {{"extra", "unknown"}, {"text", "required"}}},
    /* model.h: errors in the model's field order, whatever the body's key order
     * (a strict model's unknown members first) */
    {"errors in field order, not document order",
     O,
     "{\"title\":\"Widget\",\"priority\":\"x\",\"score\":-1,\"active\":1}",
     422,
     0,
     {{"active", "type"}, {"score", "min"}, {"priority", "one_of"}}},
    {"strict: unknown members first, then fields in field order",
     S,
     "{\"pinned\":\"x\",\"extra\":1,\"text\":5}",
     422,
     0,
     {{"extra", "unknown"}, {"text", "type"}, {"pinned", "type"}}},
    {"lone surrogate", O, "{\"title\":\"\\ud800\"}", 400, 16, {{NULL, NULL}}},
    {"invalid UTF-8", O, "{\"title\":\"\xff\"}", 400, 10, {{NULL, NULL}}},
    /* body not an object */
    {"body array", O, "[]", 422, 0, {{"", "type"}}},
    {"body number", O, "42", 422, 0, {{"", "type"}}},
    {"body string", O, "\"x\"", 422, 0, {{"", "type"}}},
    {"body null", O, "null", 422, 0, {{"", "type"}}},
    /* malformed JSON: 400 naming the byte offset */
    {"empty body", O, "", 400, 0, {{NULL, NULL}}},
    {"truncated", O, "{\"title\":", 400, 9, {{NULL, NULL}}},
    {"trailing comma", O, "{\"title\":\"x\",}", 400, 13, {{NULL, NULL}}},
    {"garbage after", O, "{\"title\":\"Widget\"} x", 400, 19, {{NULL, NULL}}},
    {"single quotes", O, "{'title':1}", 400, 1, {{NULL, NULL}}},
    /* strict model */
    {"strict unknown", S, "{\"text\":\"hi\",\"extra\":1}", 422, 0, {{"extra", "unknown"}}},
    {"strict two unknown",
     S,
     "{\"a\":1,\"text\":\"hi\",\"b\":2}",
     422,
     0,
     {{"a", "unknown"}, {"b", "unknown"}}},
    {"strict wrong type", S, "{\"text\":\"hi\",\"pinned\":\"yes\"}", 422, 0, {{"pinned", "type"}}},
};

/* The "every type wrong" row lists its first 8 expectations here; the rest: */
static const fe every_type_wrong_rest[] = {
    {"ref", "type"},  {"priority", "type"}, {"due", "type"},      {"address", "type"},
    {"tags", "type"}, {"items", "type"},    {"password", "type"},
};

static size_t row_count(const bad_row *row, const fe **extra, size_t *extra_n) {
    size_t n = 0;
    while (n < 8 && row->fields[n].field) n++;
    *extra = NULL;
    *extra_n = 0;
    if (!strcmp(row->name, "every type wrong")) {
        *extra = every_type_wrong_rest;
        *extra_n = sizeof every_type_wrong_rest / sizeof every_type_wrong_rest[0];
    }
    return n;
}

/* Checks one bad row; returns the number of failed expectations. */
static int check_bad(const bad_row *row) {
    int fails = 0;
#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fails++;                                                                               \
            cr_log_error("[%s] " __VA_ARGS__);                                                     \
        }                                                                                          \
    } while (0)
    chopin_test_response *r = post(row->route, row->body, strlen(row->body));
    EXPECT(r->status == row->status, "status %d, expected %d; body %s", row->name, r->status,
           row->status, r->body);
    EXPECT(snapshot[0] == '\0', "the handler went on after chopin_bind: %s", row->name, snapshot);
    const char *ct = chopin_test_header(r, "Content-Type");
    EXPECT(ct && !strncmp(ct, "application/json", 16), "content type %s", row->name,
           ct ? ct : "(none)");
    chopin_json_error err;
    chopin_json_doc *doc = chopin_json_doc_parse(r->body, r->body_len, &err);
    EXPECT(doc, "response is not JSON: %s", row->name, r->body);
    if (!doc) {
        chopin_test_response_free(r);
        return fails;
    }
    const chopin_json_value *root = chopin_json_doc_root(doc);
    const chopin_json_value *e = chopin_json_get(root, "error");
    const chopin_json_value *ok = chopin_json_get(root, "success");
    EXPECT(root->type == CHOPIN_JSON_OBJECT && root->u.obj.count == 2 && ok &&
               ok->type == CHOPIN_JSON_BOOL && !ok->u.b && e && e->type == CHOPIN_JSON_OBJECT,
           "no error envelope: %s", row->name, r->body);
    if (!e || e->type != CHOPIN_JSON_OBJECT) goto done;
    const chopin_json_value *st = chopin_json_get(e, "status");
    EXPECT(st && st->type == CHOPIN_JSON_NUMBER && st->is_int && st->u.num.i == row->status,
           "error.status wrong: %s", row->name, r->body);
    /* model.h leaves the 400's code open; the implementation says INVALID_JSON */
    const char *want_code = row->status == 422 ? "VALIDATION_FAILED" : "INVALID_JSON";
    EXPECT(is_str(chopin_json_get(e, "code"), want_code), "error.code not %s: %s", row->name,
           want_code, r->body);
    const chopin_json_value *msg = chopin_json_get(e, "message");
    EXPECT(msg && msg->type == CHOPIN_JSON_STRING && msg->u.str.len > 0,
           "error.message missing: %s", row->name, r->body);
    const chopin_json_value *fields = chopin_json_get(e, "fields");
    if (row->status == 400) {
        EXPECT(!fields, "a 400 with fields: %s", row->name, r->body);
        EXPECT(e->u.obj.count == 3, "unexpected members: %s", row->name, r->body);
        if (msg && msg->type == CHOPIN_JSON_STRING) {
            /* the offset as a whole number somewhere in the message */
            char num[32];
            snprintf(num, sizeof num, "%ld", row->offset);
            const char *m = msg->u.str.ptr, *p = m;
            bool found = false;
            while ((p = strstr(p, num))) {
                bool left = p == m || !isdigit((unsigned char)p[-1]);
                bool right = !isdigit((unsigned char)p[strlen(num)]);
                if (left && right) found = true;
                p++;
            }
            EXPECT(found, "message does not name offset %ld: %s", row->name, row->offset, r->body);
        }
        goto done;
    }
    EXPECT(e->u.obj.count == 4, "error has %zu members, expected 4: %s", row->name, e->u.obj.count,
           r->body);
    EXPECT(fields && fields->type == CHOPIN_JSON_ARRAY, "no fields array: %s", row->name, r->body);
    if (!fields || fields->type != CHOPIN_JSON_ARRAY) goto done;
    const fe *extra;
    size_t extra_n;
    size_t n = row_count(row, &extra, &extra_n);
    EXPECT(fields->u.arr.count == n + extra_n, "%zu field errors, expected %zu: %s", row->name,
           fields->u.arr.count, n + extra_n, r->body);
    for (size_t i = 0; i < fields->u.arr.count && i < n + extra_n; i++) {
        const fe *want = i < n ? &row->fields[i] : &extra[i - n];
        const chopin_json_value *fv = &fields->u.arr.items[i];
        EXPECT(fv->type == CHOPIN_JSON_OBJECT && fv->u.obj.count == 3,
               "fields[%zu] is not {field,code,message}: %s", row->name, i, r->body);
        EXPECT(is_str(chopin_json_get(fv, "field"), want->field) &&
                   is_str(chopin_json_get(fv, "code"), want->code),
               "fields[%zu] is (%s,%s), expected (%s,%s): %s", row->name, i,
               str_or(chopin_json_get(fv, "field"), "?"), str_or(chopin_json_get(fv, "code"), "?"),
               want->field, want->code, r->body);
        const chopin_json_value *fm = chopin_json_get(fv, "message");
        EXPECT(fm && fm->type == CHOPIN_JSON_STRING && fm->u.str.len > 0,
               "fields[%zu] without a message: %s", row->name, i, r->body);
    }
done:
    chopin_json_doc_free(doc);
    chopin_test_response_free(r);
    return fails;
#undef EXPECT
}

Test(model, bad_bodies_table) {
    size_t n = sizeof bad_rows / sizeof bad_rows[0];
    cr_assert_geq(n, 45);
    int failed_rows = 0;
    for (size_t i = 0; i < n; i++) failed_rows += check_bad(&bad_rows[i]) > 0;
    cr_expect_eq(failed_rows, 0, "%d of %zu bad-body rows failed (see the log above)", failed_rows,
                 n);
}

/* Exact full bodies, copied from the implementation after checking each by eye. */
typedef struct {
    const char *route, *body;
    int status;
    const char *want;
} exact_row;

static const exact_row exact_rows[] = {
    {O, "{}", 422,
     "{\"success\":false,\"error\":{\"status\":422,\"code\":\"VALIDATION_FAILED\",\"message\":"
     "\"the request body has "
     "invalid fields\",\"fields\":[{\"field\":\"title\",\"code\":\"required\",\"message\":\"is "
     "required\"}]}}"},
    {O, "{\"title\":\"\xc3\xa9\xc3\xa9\"}", 422,
     "{\"success\":false,\"error\":{\"status\":422,\"code\":\"VALIDATION_FAILED\",\"message\":"
     "\"the request body has "
     "invalid fields\",\"fields\":[{\"field\":\"title\",\"code\":\"min_length\",\"message\":\"must "
     "be at least 3 characters\"}]}}"},
    {O, "{\"title\":\"Widget\",\"score\":1.5}", 422,
     "{\"success\":false,\"error\":{\"status\":422,\"code\":\"VALIDATION_FAILED\",\"message\":"
     "\"the request body has "
     "invalid fields\",\"fields\":[{\"field\":\"score\",\"code\":\"type\",\"message\":\"must be a "
     "whole number from -2147483648 to 2147483647\"}]}}"},
    {O, "{\"title\":\"Widget\",\"stock\":2147483648}", 422,
     "{\"success\":false,\"error\":{\"status\":422,\"code\":\"VALIDATION_FAILED\",\"message\":"
     "\"the request body has "
     "invalid fields\",\"fields\":[{\"field\":\"stock\",\"code\":\"type\",\"message\":\"must be a "
     "whole number from -2147483648 to 2147483647\"}]}}"},
    {O, "{\"title\":\"Widget\",\"email\":null}", 422,
     "{\"success\":false,\"error\":{\"status\":422,\"code\":\"VALIDATION_FAILED\",\"message\":"
     "\"the request body has "
     "invalid fields\",\"fields\":[{\"field\":\"email\",\"code\":\"null\",\"message\":\"must not "
     "be null\"}]}}"},
    {O, "{\"title\":\"Widget\",\"priority\":\"urgent\"}", 422,
     "{\"success\":false,\"error\":{\"status\":422,\"code\":\"VALIDATION_FAILED\",\"message\":"
     "\"the request body has "
     "invalid fields\",\"fields\":[{\"field\":\"priority\",\"code\":\"one_of\",\"message\":\"must "
     "be one of: low, normal, high\"}]}}"},
    {O, "{\"title\":\"Widget\",\"due\":\"2023-02-29T00:00:00Z\"}", 422,
     "{\"success\":false,\"error\":{\"status\":422,\"code\":\"VALIDATION_FAILED\",\"message\":"
     "\"the request body has "
     "invalid fields\",\"fields\":[{\"field\":\"due\",\"code\":\"format\",\"message\":\"must be an "
     "RFC 3339 date-time, e.g. 2026-11-27T09:04:32Z\"}]}}"},
    {O, "{\"title\":\"Widget\",\"address\":{}}", 422,
     "{\"success\":false,\"error\":{\"status\":422,\"code\":\"VALIDATION_FAILED\",\"message\":"
     "\"the request body has "
     "invalid "
     "fields\",\"fields\":[{\"field\":\"address.city\",\"code\":\"required\",\"message\":\"is "
     "required\"}]}}"},
    {O, "{\"title\":\"Widget\",\"tags\":[\"a\",5]}", 422,
     "{\"success\":false,\"error\":{\"status\":422,\"code\":\"VALIDATION_FAILED\",\"message\":"
     "\"the request body has "
     "invalid fields\",\"fields\":[{\"field\":\"tags[1]\",\"code\":\"type\",\"message\":\"must be "
     "a string\"}]}}"},
    {O, "{\"title\":\"Widget\",\"tags\":[\"a\",\"b\",\"c\",\"d\"]}", 422,
     "{\"success\":false,\"error\":{\"status\":422,\"code\":\"VALIDATION_FAILED\",\"message\":"
     "\"the request body has "
     "invalid fields\",\"fields\":[{\"field\":\"tags\",\"code\":\"max\",\"message\":\"must have at "
     "most 3 items\"}]}}"},
    {O, "{\"title\":\"Widget\",\"items\":[{\"name\":\"bolt\"},{\"qty\":2}]}", 422,
     "{\"success\":false,\"error\":{\"status\":422,\"code\":\"VALIDATION_FAILED\",\"message\":"
     "\"the request body has "
     "invalid "
     "fields\",\"fields\":[{\"field\":\"items[1].name\",\"code\":\"required\",\"message\":\"is "
     "required\"}]}}"},
    {O,
     "{\"active\":\"yes\",\"score\":101,\"title\":\"ab\",\"email\":\"x\",\"priority\":\"urgent\"}",
     422,
     "{\"success\":false,\"error\":{\"status\":422,\"code\":\"VALIDATION_FAILED\",\"message\":"
     "\"the request body has "
     "invalid fields\",\"fields\":[{\"field\":\"active\",\"code\":\"type\",\"message\":\"must be "
     "true or false\"},{\"field\":\"score\",\"code\":\"max\",\"message\":\"must be at most "
     "100\"},{\"field\":\"title\",\"code\":\"min_length\",\"message\":\"must be at least 3 "
     "characters\"},{\"field\":\"email\",\"code\":\"format\",\"message\":\"must be a valid "
     "email\"},{\"field\":\"priority\",\"code\":\"one_of\",\"message\":\"must be one of: low, "
     "normal, high\"}]}}"},
    {O,
     "{\"title\":\"Widget\",\"address\":{\"city\":\"Paris\",\"zip\":\"123456\"},\"tags\":[\"ok\",1,"
     "false],\"items\":[{\"qty\":0}]}",
     422,
     "{\"success\":false,\"error\":{\"status\":422,\"code\":\"VALIDATION_FAILED\",\"message\":"
     "\"the request body has "
     "invalid "
     "fields\",\"fields\":[{\"field\":\"address.zip\",\"code\":\"max_length\",\"message\":\"must "
     "be at most 5 characters\"},{\"field\":\"tags[1]\",\"code\":\"type\",\"message\":\"must be a "
     "string\"},{\"field\":\"tags[2]\",\"code\":\"type\",\"message\":\"must be a "
     "string\"},{\"field\":\"items[0].name\",\"code\":\"required\",\"message\":\"is "
     "required\"},{\"field\":\"items[0].qty\",\"code\":\"min\",\"message\":\"must be at least "
     "1\"}]}}"},
    {O, "[]", 422,
     "{\"success\":false,\"error\":{\"status\":422,\"code\":\"VALIDATION_FAILED\",\"message\":"
     "\"the request body has "
     "invalid fields\",\"fields\":[{\"field\":\"\",\"code\":\"type\",\"message\":\"must be an "
     "object\"}]}}"},
    {O, "", 400,
     "{\"success\":false,\"error\":{\"status\":400,\"code\":\"INVALID_JSON\",\"message\":\"invalid "
     "JSON at byte 0: "
     "expected a value\"}}"},
    {O, "{\"title\":\"x\",}", 400,
     "{\"success\":false,\"error\":{\"status\":400,\"code\":\"INVALID_JSON\",\"message\":\"invalid "
     "JSON at byte 13: "
     "expected a string key\"}}"},
    {S, "{\"text\":\"hi\",\"extra\":1}", 422,
     "{\"success\":false,\"error\":{\"status\":422,\"code\":\"VALIDATION_FAILED\",\"message\":"
     "\"the request body has "
     "invalid fields\",\"fields\":[{\"field\":\"extra\",\"code\":\"unknown\",\"message\":\"is not "
     "a known field\"}]}}"},
    {O, "{\"score\":500}", 422,
     "{\"success\":false,\"error\":{\"status\":422,\"code\":\"VALIDATION_FAILED\",\"message\":"
     "\"the request body has "
     "invalid fields\",\"fields\":[{\"field\":\"score\",\"code\":\"max\",\"message\":\"must be at "
     "most 100\"},{\"field\":\"title\",\"code\":\"required\",\"message\":\"is required\"}]}}"},
    {O, "{\"title\":\"\xff\"}", 400,
     "{\"success\":false,\"error\":{\"status\":400,\"code\":\"INVALID_JSON\",\"message\":\"invalid "
     "JSON at byte 10: "
     "invalid UTF-8\"}}"},
    {NULL, NULL, 0, NULL},
};

Test(model, bad_bodies_exact) {
    size_t n = 0;
    for (size_t i = 0; exact_rows[i].route; i++, n++) {
        const exact_row *x = &exact_rows[i];
        chopin_test_response *r = post(x->route, x->body, strlen(x->body));
        cr_expect_eq(r->status, x->status, "%s: status %d", x->body, r->status);
        cr_expect_str_eq(r->body, x->want, "%s", x->body);
        chopin_test_response_free(r);
    }
    cr_expect_geq(n, 10, "only %zu exact rows", n);
}

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
