/* test_model_bad_bodies.c - models (chopin/model.h) through the in-process
 * test client: a table of bad bodies checked for their exact status and
 * error list, and, for some, the exact response body. The models and the app
 * are those of model_fixture.h; good bodies are tested in
 * test_model_good_bodies.c. The expected behaviour is the contract in
 * model.h. */
#include "model_fixture.h"

#include <ctype.h>

TestSuite(model, .init = setup, .fini = teardown);

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
