/* test_model_basic.c - models end to end through the test client: a good
 * body binds and encodes (read-only ignored, write-only never emitted,
 * timestamps normalized to UTC), a bad one gets every problem listed. The
 * exhaustive tables are test_model_bad_bodies.c and test_model_good_bodies.c. */
#include <criterion/criterion.h>

#include <chopin.h>

#include <stdio.h>
#include <stdlib.h>

typedef struct {
    const char *city;
    const char *zip;
} address;
#define ADDRESS_FIELDS(F)                                                                          \
    F(address, city, CHOPIN_STRING, .required = true), F(address, zip, CHOPIN_STRING, .max_len = 5)
CHOPIN_MODEL(address, ADDRESS_FIELDS);

typedef struct {
    int64_t id;
    const char *title;
    bool done;
    int32_t priority;
    const char *email;
    int64_t due;
    bool has_due;
    address addr;
    chopin_array tags;
    const char *level;
    const char *password;
} todo;
#define TODO_FIELDS(F)                                                                             \
    F(todo, id, CHOPIN_INT64, .read_only = true),                                                  \
        F(todo, title, CHOPIN_STRING, .required = true, .max_len = 10),                            \
        F(todo, done, CHOPIN_BOOL),                                                                \
        F(todo, priority, CHOPIN_INT32, .has_min = true, .min = 1, .has_max = true, .max = 5),     \
        F(todo, email, CHOPIN_STRING, .format = "email"),                                          \
        F(todo, due, CHOPIN_TIMESTAMP, .nullable = true, CHOPIN_PRESENCE(todo, has_due)),          \
        F(todo, addr, CHOPIN_OBJECT, .model = &address_model),                                     \
        F(todo, tags, CHOPIN_ARRAY, .item = CHOPIN_STRING, .has_max = true, .max = 2,              \
          .max_len = 4),                                                                           \
        F(todo, level, CHOPIN_ENUM, CHOPIN_ONE_OF("low", "high")),                                 \
        F(todo, password, CHOPIN_STRING, .write_only = true)
CHOPIN_MODEL(todo, TODO_FIELDS);

static void create(chopin_ctx *c) {
    todo *t = chopin_bind(c, &todo_model);
    if (!t) return;
    t->id = 7;
    chopin_json_model(c, 201, &todo_model, t);
}

static chopin_test_response *post(chopin_app *app, const char *body) {
    return chopin_test_request(app, "POST", "/todos", NULL, body, strlen(body));
}

static chopin_app *make_app(void) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    chopin_app *app = chopin_app_new_with(&cfg);
    chopin_post(app, "/todos", create);
    return app;
}

Test(model, good_body_binds_and_encodes) {
    chopin_app *app = make_app();
    chopin_test_response *r =
        post(app, "{\"id\":99,\"title\":\"milk\",\"done\":true,\"priority\":3,\"email\":\"a@b.co\","
                  "\"due\":\"2026-11-27T09:04:32.5+01:00\",\"addr\":{\"city\":\"Paris\",\"zip\":"
                  "\"75001\"},\"tags\":[\"a\",\"b\"],\"level\":\"low\",\"password\":\"secret\"}");
    cr_assert_eq(r->status, 201, "%s", r->body);
    cr_assert_str_eq(r->body, "{\"success\":true,\"data\":{\"id\":7,\"title\":\"milk\",\"done\":"
                              "true,\"priority\":3,\"email\":"
                              "\"a@b.co\",\"due\":\"2026-11-27T08:04:32.500000Z\",\"addr\":{"
                              "\"city\":\"Paris\",\"zip\":\"75001\"},\"tags\":[\"a\",\"b\"],"
                              "\"level\":\"low\"}}");
    chopin_test_response_free(r);
    r = post(app, "{\"title\":\"x\",\"due\":null}");
    cr_assert_eq(r->status, 201, "%s", r->body);
    cr_assert(strstr(r->body, "\"due\":null"), "%s", r->body);
    cr_assert(!strstr(r->body, "\"email\""), "absent, not nullable: left out: %s", r->body);
    cr_assert(strstr(r->body, "\"tags\":[]"), "%s", r->body);
    chopin_test_response_free(r);
    chopin_app_free(app);
}

Test(model, every_problem_is_listed) {
    chopin_app *app = make_app();
    chopin_test_response *r =
        post(app, "{\"title\":\"a very long title\",\"priority\":9,\"email\":\"nope\",\"due\":"
                  "\"yesterday\",\"addr\":{\"zip\":\"123456\"},\"tags\":[\"a\",\"toolong\",3],"
                  "\"level\":\"mid\",\"done\":1}");
    cr_assert_eq(r->status, 422);
    cr_assert_str_eq(
        r->body,
        "{\"success\":false,\"error\":{\"status\":422,\"code\":\"VALIDATION_FAILED\",\"message\":"
        "\"the request body "
        "has invalid fields\",\"fields\":[{\"field\":\"title\",\"code\":\"max_length\",\"message\":"
        "\"must be at most 10 characters\"},{\"field\":\"done\",\"code\":\"type\",\"message\":"
        "\"must be true or false\"},{\"field\":\"priority\",\"code\":\"max\",\"message\":\"must be "
        "at most 5\"},{\"field\":\"email\",\"code\":\"format\",\"message\":\"must be a valid "
        "email\"},{\"field\":\"due\",\"code\":\"format\",\"message\":\"must be an RFC 3339 "
        "date-time, e.g. 2026-11-27T09:04:32Z\"},{\"field\":\"addr.city\",\"code\":\"required\","
        "\"message\":\"is required\"},{\"field\":\"addr.zip\",\"code\":\"max_length\",\"message\":"
        "\"must be at most 5 characters\"},{\"field\":\"tags\",\"code\":\"max\",\"message\":\"must "
        "have at most 2 items\"},{\"field\":\"tags[1]\",\"code\":\"max_length\",\"message\":\"must "
        "be at most 4 characters\"},{\"field\":\"tags[2]\",\"code\":\"type\",\"message\":\"must be "
        "a string\"},{\"field\":\"level\",\"code\":\"one_of\",\"message\":\"must be one of: low, "
        "high\"}]}}");
    chopin_test_response_free(r);
    chopin_app_free(app);
}

Test(model, malformed_and_non_object_bodies) {
    chopin_app *app = make_app();
    chopin_test_response *r = post(app, "{\"title\":");
    cr_assert_eq(r->status, 400);
    cr_assert(strstr(r->body, "invalid JSON at byte 9"), "%s", r->body);
    chopin_test_response_free(r);
    r = post(app, "[]");
    cr_assert_eq(r->status, 422);
    cr_assert(strstr(r->body, "{\"field\":\"\",\"code\":\"type\""), "%s", r->body);
    chopin_test_response_free(r);
    r = post(app, "{\"title\":null,\"priority\":2147483648}");
    cr_assert_eq(r->status, 422);
    cr_assert(strstr(r->body, "{\"field\":\"title\",\"code\":\"null\""), "%s", r->body);
    cr_assert(strstr(r->body, "{\"field\":\"priority\",\"code\":\"type\""), "%s", r->body);
    chopin_test_response_free(r);
    chopin_app_free(app);
}

typedef struct {
    const char *q;
    int32_t min_score;
    bool open;
    chopin_array tags;
} search;
#define SEARCH_FIELDS(F)                                                                           \
    F(search, q, CHOPIN_STRING, .required = true, .max_len = 20),                                  \
        F(search, min_score, CHOPIN_INT32, .has_min = true, .min = 0),                             \
        F(search, open, CHOPIN_BOOL), F(search, tags, CHOPIN_ARRAY, .item = CHOPIN_STRING)
CHOPIN_MODEL(search, SEARCH_FIELDS);

static void search_route(chopin_ctx *c) {
    search *s = chopin_bind_query(c, &search_model);
    if (!s) return;
    chopin_json_model(c, 200, &search_model, s);
}

static void page_route(chopin_ctx *c) {
    chopin_page p;
    if (!chopin_bind_page(c, &p, 20, 100)) return;
    char body[64];
    snprintf(body, sizeof body, "%lld %lld", (long long)p.limit, (long long)p.offset);
    chopin_text(c, 200, body);
}

Test(model, query_and_pagination) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    chopin_app *app = chopin_app_new_with(&cfg);
    chopin_get(app, "/search", search_route);
    chopin_get(app, "/page", page_route);
    struct {
        const char *target;
        int status;
        const char *body; /* exact, or a fragment when it starts with '~' */
    } cases[] = {
        {"/search?q=chopin+rocks&min_score=3&open=1&tags=a&tags=b", 200,
         "{\"success\":true,\"data\":{\"q\":\"chopin rocks\",\"min_score\":3,\"open\":true,"
         "\"tags\":[\"a\",\"b\"]}}"},
        {"/search?q=x", 200,
         "{\"success\":true,\"data\":{\"q\":\"x\",\"min_score\":0,\"open\":false,\"tags\":[]}}"},
        {"/search?min_score=-1&open=maybe", 422, "~{\"field\":\"q\",\"code\":\"required\""},
        {"/search?q=x&min_score=-1", 422, "~{\"field\":\"min_score\",\"code\":\"min\""},
        {"/search?q=x&min_score=1.5", 422, "~{\"field\":\"min_score\",\"code\":\"type\""},
        {"/search?q=x&open=maybe", 422, "~{\"field\":\"open\",\"code\":\"type\""},
        {"/page", 200, "20 0"},
        {"/page?limit=5&offset=10", 200, "5 10"},
        {"/page?page=3&per_page=7", 200, "7 14"},
        {"/page?page=2", 200, "20 20"},
        {"/page?limit=101", 422, "~{\"field\":\"limit\",\"code\":\"max\""},
        {"/page?limit=0", 422, "~{\"field\":\"limit\",\"code\":\"min\""},
        {"/page?page=0", 422, "~{\"field\":\"page\",\"code\":\"min\""},
        {"/page?page=2&limit=5", 422, "~{\"field\":\"page\",\"code\":\"one_of\""},
        {"/page?offset=x", 422, "~{\"field\":\"offset\",\"code\":\"type\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        chopin_test_response *r = chopin_test_request(app, "GET", cases[i].target, NULL, NULL, 0);
        cr_assert_eq(r->status, cases[i].status, "%s: %d %s", cases[i].target, r->status, r->body);
        if (cases[i].body[0] == '~')
            cr_assert(strstr(r->body, cases[i].body + 1), "%s: %s", cases[i].target, r->body);
        else
            cr_assert_str_eq(r->body, cases[i].body, "%s", cases[i].target);
        chopin_test_response_free(r);
    }
    chopin_app_free(app);
}

Test(model, json_schema) {
    char *schema = chopin_model_schema(&todo_model);
    cr_assert_not_null(schema);
    chopin_json_doc *doc = chopin_json_doc_parse(schema, strlen(schema), NULL);
    cr_assert_not_null(doc, "the schema is valid JSON: %s", schema);
    const chopin_json_value *root = chopin_json_doc_root(doc);
    const chopin_json_value *props = chopin_json_get(root, "properties");
    cr_assert_not_null(props);
    cr_assert_str_eq(chopin_json_get(chopin_json_get(props, "id"), "type")->u.str.ptr, "integer");
    cr_assert(chopin_json_get(chopin_json_get(props, "id"), "readOnly")->u.b);
    cr_assert(chopin_json_get(chopin_json_get(props, "password"), "writeOnly")->u.b);
    cr_assert_eq(chopin_json_get(chopin_json_get(props, "title"), "maxLength")->u.num.i, 10);
    cr_assert_str_eq(chopin_json_get(chopin_json_get(props, "email"), "format")->u.str.ptr,
                     "email");
    cr_assert_str_eq(chopin_json_get(chopin_json_get(props, "due"), "format")->u.str.ptr,
                     "date-time");
    const chopin_json_value *due_type = chopin_json_get(chopin_json_get(props, "due"), "type");
    cr_assert_eq(due_type->type, CHOPIN_JSON_ARRAY, "nullable: [\"string\",\"null\"]");
    cr_assert_eq(chopin_json_get(chopin_json_get(props, "priority"), "maximum")->u.num.d, 5);
    cr_assert_eq(chopin_json_get(chopin_json_get(props, "level"), "enum")->u.arr.count, 2);
    cr_assert_eq(chopin_json_get(chopin_json_get(props, "tags"), "maxItems")->u.num.d, 2);
    const chopin_json_value *addr = chopin_json_get(props, "addr");
    cr_assert_str_eq(chopin_json_get(addr, "required")->u.arr.items[0].u.str.ptr, "city");
    cr_assert_str_eq(chopin_json_get(root, "required")->u.arr.items[0].u.str.ptr, "title");
    chopin_json_doc_free(doc);
    free(schema);
}

Test(model, form_bodies_bind_like_queries) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    chopin_app *app = chopin_app_new_with(&cfg);
    chopin_post(app, "/todos", create);
    const char *form[] = {"Content-Type: application/x-www-form-urlencoded; charset=utf-8", NULL};
    const char *good = "title=milk+%26+egg&done=true&priority=2&level=high&tags=a&tags=b";
    chopin_test_response *r = chopin_test_request(app, "POST", "/todos", form, good, strlen(good));
    cr_assert_eq(r->status, 201, "%s", r->body);
    cr_assert_str_eq(r->body,
                     "{\"success\":true,\"data\":{\"id\":7,\"title\":\"milk & egg\",\"done\":"
                     "true,\"priority\":2,\"due\":null,\"addr\":{},\"tags\":[\"a\",\"b\"],"
                     "\"level\":\"high\"}}");
    chopin_test_response_free(r);
    const char *bad = "priority=x&level=mid";
    r = chopin_test_request(app, "POST", "/todos", form, bad, strlen(bad));
    cr_assert_eq(r->status, 422);
    cr_assert(strstr(r->body, "{\"field\":\"title\",\"code\":\"required\""), "%s", r->body);
    cr_assert(strstr(r->body, "{\"field\":\"priority\",\"code\":\"type\""), "%s", r->body);
    cr_assert(strstr(r->body, "{\"field\":\"level\",\"code\":\"one_of\""), "%s", r->body);
    chopin_test_response_free(r);
    chopin_app_free(app);
}

/* A list of 45 tags, served a page at a time. */
typedef struct {
    int64_t id;
    const char *name;
} tag;
#define TAG_FIELDS(F) F(tag, id, CHOPIN_INT64, .read_only = true), F(tag, name, CHOPIN_STRING)
CHOPIN_MODEL(tag, TAG_FIELDS);
#define TAG_TOTAL 45

static void tags_page(chopin_ctx *c) {
    chopin_page p;
    if (!chopin_bind_page(c, &p, 20, 100)) return;
    size_t count = 0;
    tag *items = chopin_alloc(c, (size_t)p.limit * sizeof *items);
    for (int64_t id = p.offset + 1; id <= TAG_TOTAL && (int64_t)count < p.limit; id++) {
        char name[16];
        int n = snprintf(name, sizeof name, "tag%lld", (long long)id);
        items[count++] = (tag){id, chopin_strdup(c, name, (size_t)n)};
    }
    chopin_json_page(c, 200, &tag_model, items, count, &p, TAG_TOTAL);
}

static void tags_all(chopin_ctx *c) {
    tag items[] = {{1, "a"}, {2, NULL}};
    chopin_json_models(c, 200, &tag_model, items, chopin_param(c, "n").ptr[0] - '0');
}

/* chopin_json_data_begin: one value inside the envelope, any type. */
static void data_scalar(chopin_ctx *c) {
    chopin_json *j = chopin_json_data_begin(c, 200);
    chopin_json_int(j, 42);
    chopin_json_finish(j);
}
static void data_missing(chopin_ctx *c) {
    chopin_json_finish(chopin_json_data_begin(c, 200));
}
static void data_unclosed(chopin_ctx *c) {
    chopin_json *j = chopin_json_data_begin(c, 200);
    chopin_json_array(j);
    chopin_json_finish(j);
}

Test(model, envelopes_for_lists_pages_and_free_data) {
    chopin_app *app = make_app();
    chopin_get(app, "/tags", tags_page);
    chopin_get(app, "/all/:n", tags_all);
    chopin_get(app, "/scalar", data_scalar);
    chopin_get(app, "/missing", data_missing);
    chopin_get(app, "/unclosed", data_unclosed);
    struct {
        const char *target;
        int status;
        const char *body;
    } cases[] = {
        {"/tags?limit=2&offset=3", 200,
         "{\"success\":true,\"data\":{\"items\":[{\"id\":4,\"name\":\"tag4\"},{\"id\":5,\"name\":"
         "\"tag5\"}],\"total\":45,\"limit\":2,\"offset\":3}}"},
        {"/tags?page=3&per_page=20", 200,
         "{\"success\":true,\"data\":{\"items\":[{\"id\":41,\"name\":\"tag41\"},{\"id\":42,"
         "\"name\":\"tag42\"},{\"id\":43,\"name\":\"tag43\"},{\"id\":44,\"name\":\"tag44\"},"
         "{\"id\":45,\"name\":\"tag45\"}],\"total\":45,\"limit\":20,\"offset\":40}}"},
        {"/tags?offset=100", 200,
         "{\"success\":true,\"data\":{\"items\":[],\"total\":45,\"limit\":20,\"offset\":100}}"},
        {"/all/2", 200, "{\"success\":true,\"data\":[{\"id\":1,\"name\":\"a\"},{\"id\":2}]}"},
        {"/all/0", 200, "{\"success\":true,\"data\":[]}"},
        {"/scalar", 200, "{\"success\":true,\"data\":42}"},
        {"/missing", 500,
         "{\"success\":false,\"error\":{\"status\":500,\"code\":\"INTERNAL_ERROR\",\"message\":"
         "\"the handler wrote invalid JSON\"}}"},
        {"/unclosed", 500,
         "{\"success\":false,\"error\":{\"status\":500,\"code\":\"INTERNAL_ERROR\",\"message\":"
         "\"the handler wrote invalid JSON\"}}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        chopin_test_response *r = chopin_test_request(app, "GET", cases[i].target, NULL, NULL, 0);
        cr_expect_eq(r->status, cases[i].status, "%s: %d %s", cases[i].target, r->status, r->body);
        cr_expect_str_eq(r->body, cases[i].body, "%s", cases[i].target);
        chopin_test_response_free(r);
    }
    chopin_app_free(app);
}

/* PATCH: the body's fields over an existing struct. */
static todo patched;
static void patch_route(chopin_ctx *c) {
    todo t = {.id = 7, .title = "milk", .priority = 2, .due = 5, .has_due = true, .level = "low"};
    const char *const *changed = chopin_bind_patch(c, &todo_model, &t);
    patched = t;
    if (!changed) return;
    chopin_json *j = chopin_json_data_begin(c, 200);
    chopin_json_array(j);
    for (size_t i = 0; changed[i]; i++) chopin_json_string(j, changed[i]);
    chopin_json_end(j);
    chopin_json_finish(j);
}

Test(model, bind_patch_changes_only_what_the_body_names) {
    chopin_app *app = make_app();
    chopin_patch(app, "/t", patch_route);
    struct {
        const char *body;
        int status;
        const char *answer; /* exact, or a fragment when it starts with '~' */
    } cases[] = {
        {"{}", 200, "{\"success\":true,\"data\":[]}"},
        {"{\"done\":true}", 200, "{\"success\":true,\"data\":[\"done\"]}"},
        {"{\"id\":99,\"priority\":4,\"due\":null}", 200,
         "{\"success\":true,\"data\":[\"priority\",\"due\"]}"},
        {"{\"title\":null}", 422, "~{\"field\":\"title\",\"code\":\"null\""},
        {"{\"priority\":9,\"done\":true}", 422, "~{\"field\":\"priority\",\"code\":\"max\""},
        {"{\"addr\":{\"zip\":\"1\"}}", 422, "~{\"field\":\"addr.city\",\"code\":\"required\""},
        {"[1]", 422, "~\"code\":\"type\""},
        {"{\"done\":", 400, "~invalid JSON at byte 8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        chopin_test_response *r =
            chopin_test_request(app, "PATCH", "/t", NULL, cases[i].body, strlen(cases[i].body));
        cr_assert_eq(r->status, cases[i].status, "%s: %d %s", cases[i].body, r->status, r->body);
        if (cases[i].answer[0] == '~')
            cr_assert(strstr(r->body, cases[i].answer + 1), "%s: %s", cases[i].body, r->body);
        else
            cr_assert_str_eq(r->body, cases[i].answer, "%s", cases[i].body);
        if (i == 2) { /* what changed, and what did not */
            cr_assert_eq(patched.id, 7, "read-only");
            cr_assert_eq(patched.priority, 4);
            cr_assert(!patched.has_due, "null cleared the nullable field");
            cr_assert_str_eq(patched.title, "milk");
            cr_assert_str_eq(patched.level, "low");
        }
        if (cases[i].status != 200) { /* refused: untouched */
            cr_assert_eq(patched.priority, 2, "%s", cases[i].body);
            cr_assert(!patched.done);
        }
        chopin_test_response_free(r);
    }
    chopin_app_free(app);
}
