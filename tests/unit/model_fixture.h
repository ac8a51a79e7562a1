/* model_fixture.h - what the test_model_*.c suites share: one model using
 * every field type and constraint (with a nested object and an array of
 * objects) and a strict one; an app binding each on a POST route (set up and
 * torn down for every test) and echoing it with chopin_json_model; the
 * request helper; and helpers over parsed JSON. Each suite is an executable
 * of its own, so the static state here is its own too. */
#ifndef CHOPIN_TESTS_MODEL_FIXTURE_H
#define CHOPIN_TESTS_MODEL_FIXTURE_H

#include <criterion/criterion.h>

#include "chopin.h"
#include "chopin/model.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static inline void post_order(chopin_ctx *c) {
    order *o = chopin_bind(c, &order_model);
    if (!o) return;
    snprintf(snapshot, sizeof snapshot,
             "id=%" PRId64 " due=%" PRId64 " has_due=%d ref=%s password=%s tags=%zu items=%zu",
             o->id, o->due, o->has_due, o->ref ? o->ref : "NULL",
             o->password ? o->password : "NULL", o->tags.count, o->items.count);
    chopin_json_model(c, 201, &order_model, o);
}

static inline void post_note(chopin_ctx *c) {
    note *n = chopin_bind(c, &note_model);
    if (!n) return;
    snprintf(snapshot, sizeof snapshot, "text=%s pinned=%d", n->text ? n->text : "NULL", n->pinned);
    chopin_json_model(c, 201, &note_model, n);
}

static chopin_app *app;

static inline void setup(void) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    app = chopin_app_new_with(&cfg);
    cr_assert_not_null(app);
    chopin_post(app, "/orders", post_order);
    chopin_post(app, "/notes", post_note);
}

static inline void teardown(void) {
    chopin_app_free(app);
    app = NULL;
}

static inline chopin_test_response *post(const char *route, const char *body, size_t len) {
    static const char *const headers[] = {"Content-Type: application/json", NULL};
    snapshot[0] = '\0';
    chopin_test_response *r = chopin_test_request(app, "POST", route, headers, body, len);
    cr_assert_not_null(r, "POST %s %s: malformed response", route, body);
    return r;
}

/* --- Helpers over parsed JSON ---------------------------------------------------- */

static inline bool is_str(const chopin_json_value *v, const char *s) {
    return v && v->type == CHOPIN_JSON_STRING && strlen(s) == v->u.str.len &&
           !memcmp(v->u.str.ptr, s, v->u.str.len);
}

static inline const char *str_or(const chopin_json_value *v, const char *dflt) {
    return v && v->type == CHOPIN_JSON_STRING ? v->u.str.ptr : dflt;
}

/* The routes of the two models. */
#define O "/orders"
#define S "/notes"

/* A request and the exact full response body it must get. */
typedef struct {
    const char *route, *body;
    int status;
    const char *want;
} exact_row;

#endif
