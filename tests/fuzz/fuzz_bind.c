/* fuzz_bind.c - model binding on hostile bodies: every input goes through
 * the real request path (test client -> parser -> router -> chopin_bind) of
 * a model with every field type. The answer must be 201, 400 or 422 with a
 * JSON body; on 201 the body must parse and bind again to the same output. */
#include <chopin.h>

#include <stdlib.h>

typedef struct {
    const char *city;
    const char *zip;
} place;
#define PLACE_FIELDS(F)                                                                            \
    F(place, city, CHOPIN_STRING, .required = true, .max_len = 20), F(place, zip, CHOPIN_STRING)
CHOPIN_MODEL(place, PLACE_FIELDS);

typedef struct {
    int64_t id;
    bool flag;
    int32_t small;
    int64_t big;
    double ratio;
    const char *name;
    const char *mail;
    const char *ref;
    const char *kind;
    int64_t when;
    bool has_when;
    place where;
    bool has_where;
    chopin_array tags;
    chopin_array places;
    const char *secret;
} thing;
#define THING_FIELDS(F)                                                                            \
    F(thing, id, CHOPIN_INT64, .read_only = true), F(thing, flag, CHOPIN_BOOL),                    \
        F(thing, small, CHOPIN_INT32, .has_min = true, .min = -5, .has_max = true, .max = 5),      \
        F(thing, big, CHOPIN_INT64), F(thing, ratio, CHOPIN_DOUBLE),                               \
        F(thing, name, CHOPIN_STRING, .required = true, .min_len = 1, .max_len = 30),              \
        F(thing, mail, CHOPIN_STRING, .format = "email"), F(thing, ref, CHOPIN_UUID),              \
        F(thing, kind, CHOPIN_ENUM, CHOPIN_ONE_OF("a", "b")),                                      \
        F(thing, when, CHOPIN_TIMESTAMP, .nullable = true, CHOPIN_PRESENCE(thing, has_when)),      \
        F(thing, where, CHOPIN_OBJECT, .model = &place_model, CHOPIN_PRESENCE(thing, has_where)),  \
        F(thing, tags, CHOPIN_ARRAY, .item = CHOPIN_STRING, .has_max = true, .max = 4),            \
        F(thing, places, CHOPIN_ARRAY, .item = CHOPIN_OBJECT, .model = &place_model),              \
        F(thing, secret, CHOPIN_STRING, .write_only = true)
CHOPIN_MODEL(thing, THING_FIELDS);

static void create(chopin_ctx *c) {
    thing *t = chopin_bind(c, &thing_model);
    if (t) chopin_json_model(c, 201, &thing_model, t);
}

static chopin_app *app;

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    if (!app) {
        chopin_config cfg;
        chopin_config_defaults(&cfg);
        cfg.access_log = false;
        cfg.max_body_bytes = 1 << 20;
        app = chopin_app_new_with(&cfg);
        chopin_post(app, "/things", create);
    }
    chopin_test_response *r = chopin_test_request(app, "POST", "/things", NULL, data, size);
    if (!r) abort();
    if (r->status != 201 && r->status != 400 && r->status != 422 && r->status != 413) abort();
    chopin_json_doc *doc = chopin_json_doc_parse(r->body, r->body_len, NULL);
    if (!doc) abort(); /* every answer is JSON */
    chopin_json_doc_free(doc);
    if (r->status == 201) { /* what we wrote binds again, to the same text */
        static const char head[] = "{\"success\":true,\"data\":";
        size_t head_len = sizeof head - 1;
        if (r->body_len < head_len + 1 || memcmp(r->body, head, head_len) != 0 ||
            r->body[r->body_len - 1] != '}')
            abort(); /* the success envelope */
        chopin_test_response *again = chopin_test_request(
            app, "POST", "/things", NULL, r->body + head_len, r->body_len - head_len - 1);
        if (!again || again->status != 201 || again->body_len != r->body_len ||
            memcmp(again->body, r->body, r->body_len) != 0)
            abort();
        chopin_test_response_free(again);
    }
    chopin_test_response_free(r);
    return 0;
}
