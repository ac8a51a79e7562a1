/* test_model_basic.c - models end to end through the test client: a good
 * body binds and encodes (read-only ignored, write-only never emitted,
 * timestamps normalized to UTC), a bad one gets every problem listed. The
 * exhaustive table is test_model.c. */
#include <criterion/criterion.h>

#include <chopin.h>

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
    cr_assert_str_eq(r->body, "{\"id\":7,\"title\":\"milk\",\"done\":true,\"priority\":3,\"email\":"
                              "\"a@b.co\",\"due\":\"2026-11-27T08:04:32.500000Z\",\"addr\":{"
                              "\"city\":\"Paris\",\"zip\":\"75001\"},\"tags\":[\"a\",\"b\"],"
                              "\"level\":\"low\"}");
    chopin_test_response_free(r);
    r = post(app, "{\"title\":\"x\",\"due\":null}");
    cr_assert_eq(r->status, 201, "%s", r->body);
    cr_assert(strstr(r->body, "\"due\":null"), "%s", r->body);
    cr_assert(strstr(r->body, "\"email\":null"), "%s", r->body);
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
        "{\"error\":{\"status\":422,\"code\":\"VALIDATION_FAILED\",\"message\":\"the request body "
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
