/* test_json_read_api.c - the JSON reader in use: chopin_json_get on
 * duplicate keys, an absent body, the reader inside a handler through the
 * in-process test client, and a document and a writer reused.
 *
 * Inputs are parsed from an exact-size malloc'd copy (json_read_fixture.h),
 * so AddressSanitizer catches a read past the end. */
#include "json_read_fixture.h"

#include <stdio.h>

/* --- Objects: duplicate keys, chopin_json_get ------------------------------------ */

Test(json_read, get_returns_the_last_duplicate) {
    const char *t = "{\"a\":1,\"b\":\"x\",\"a\":2,\"a\\u0000\":3}";
    parsed p = parse_exact(t, strlen(t));
    cr_assert_not_null(p.doc);
    const chopin_json_value *root = chopin_json_doc_root(p.doc);
    cr_expect_eq(root->u.obj.count, 4u);
    const chopin_json_value *a = chopin_json_get(root, "a");
    cr_assert_not_null(a);
    cr_expect(a->type == CHOPIN_JSON_NUMBER && a->is_int && a->u.num.i == 2);
    const chopin_json_value *b = chopin_json_get(root, "b");
    cr_expect(b && b->type == CHOPIN_JSON_STRING && chopin_str_eq(b->u.str, "x"));
    cr_expect_null(chopin_json_get(root, "c"));
    cr_expect_null(chopin_json_get(root, ""));
    cr_expect_null(chopin_json_get(b, "a"), "get on a string");
    cr_expect_null(chopin_json_get(NULL, "a"));
    parsed_free(&p);
}

/* --- An absent body -------------------------------------------------------------- */

/* An absent body is the view {NULL, 0} (chopin/base.h): parsing it is the
 * empty text, rejected at 0, without pointer arithmetic on NULL (UBSan). */
Test(json_read, null_text_of_length_zero) {
    chopin_json_error err = {.offset = 99, .message = NULL};
    chopin_json_doc *doc = chopin_json_doc_parse(NULL, 0, &err);
    cr_expect_null(doc);
    cr_expect_eq(err.offset, 0u);
    cr_expect_not_null(err.message);
    chopin_json_doc_free(doc);
}

/* --- Inside a handler -------------------------------------------------------------- */

static chopin_app *app;
static void teardown(void) {
    chopin_app_free(app);
    app = NULL;
}

/* Parses the body; answers "<members> <name> <body unchanged>" or
 * "<offset> <message>" with 400, 422 for a non-object. */
static void h_count(chopin_ctx *c) {
    chopin_str body = chopin_req_body(c);
    char *copy = malloc(body.len + 1);
    if (body.len) memcpy(copy, body.ptr, body.len);
    chopin_json_error err;
    const chopin_json_value *v = chopin_json_parse(c, body.ptr, body.len, &err);
    int unchanged = body.len == 0 || memcmp(copy, body.ptr, body.len) == 0;
    free(copy);
    char out[256];
    if (!v) {
        snprintf(out, sizeof out, "%zu %s", err.offset, err.message);
        chopin_text(c, 400, out);
        return;
    }
    if (v->type != CHOPIN_JSON_OBJECT) {
        chopin_text(c, 422, "not an object");
        return;
    }
    const chopin_json_value *name = chopin_json_get(v, "name");
    snprintf(out, sizeof out, "%zu %s %d", v->u.obj.count,
             name && name->type == CHOPIN_JSON_STRING ? name->u.str.ptr : "-", unchanged);
    chopin_text(c, 200, out);
}

static chopin_test_response *post(const char *body, size_t len) {
    static const char *const headers[] = {"Content-Type: application/json", NULL};
    chopin_test_response *r = chopin_test_request(app, "POST", "/count", headers, body, len);
    cr_assert_not_null(r, "malformed response");
    return r;
}

Test(json_read, parse_in_a_handler, .fini = teardown) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    app = chopin_app_new_with(&cfg);
    cr_assert_not_null(app);
    chopin_post(app, "/count", h_count);

    const char *good =
        "{\"name\":\"Chopin\",\"a\":[1,2,{}],\"b\":{\"c\":null},\"name\":\"F\\u00e9\"}";
    chopin_test_response *r = post(good, strlen(good));
    cr_expect_eq(r->status, 200);
    cr_expect_str_eq(r->body, "4 F\xC3\xA9 1");
    chopin_test_response_free(r);

    r = post("{\"a\":1,}", 8);
    cr_expect_eq(r->status, 400);
    cr_expect(strncmp(r->body, "7 ", 2) == 0, "body %s", r->body);
    chopin_test_response_free(r);

    r = post("", 0);
    cr_expect_eq(r->status, 400);
    cr_expect(strncmp(r->body, "0 ", 2) == 0, "body %s", r->body);
    chopin_test_response_free(r);

    r = post("[1,2]", 5);
    cr_expect_eq(r->status, 422);
    chopin_test_response_free(r);

    /* Many requests on one app: the arena is reset between them. */
    for (int i = 0; i < 200; i++) {
        r = post(good, strlen(good));
        cr_expect_eq(r->status, 200);
        chopin_test_response_free(r);
    }
}

/* Reusing a document and a writer: the next text replaces the previous one,
 * and an error leaves the document without a tree but still usable. */
Test(json_read, doc_reparse_and_writer_reuse) {
    chopin_json_doc *doc = chopin_json_doc_new();
    cr_assert_not_null(doc);
    chopin_json *w = chopin_json_new();
    for (int i = 0; i < 1000; i++) {
        char text[64];
        int n = snprintf(text, sizeof text, "{\"i\":%d,\"s\":\"x\\n%d\"}", i, i);
        const chopin_json_value *v = chopin_json_doc_reparse(doc, text, (size_t)n, NULL);
        cr_assert_not_null(v);
        cr_assert_eq(chopin_json_doc_root(doc), v);
        const chopin_json_value *iv = chopin_json_get(v, "i");
        cr_assert(iv && iv->is_int && iv->u.num.i == i);
        chopin_json_reset(w);
        chopin_json_object(w);
        chopin_json_key(w, "i");
        chopin_json_int(w, iv->u.num.i);
        chopin_json_end(w);
        size_t len;
        const char *out = chopin_json_text(w, &len);
        char expect[32];
        int en = snprintf(expect, sizeof expect, "{\"i\":%d}", i);
        cr_assert_eq(len, (size_t)en);
        cr_assert_str_eq(out, expect);
    }
    chopin_json_error err;
    cr_assert_null(chopin_json_doc_reparse(doc, "[1,]", 4, &err));
    cr_assert_eq(err.offset, 3);
    cr_assert_null(chopin_json_doc_root(doc));
    cr_assert_not_null(chopin_json_doc_reparse(doc, "[1]", 3, NULL));
    chopin_json_reset(w);
    cr_assert_null(chopin_json_text(w, NULL), "an empty writer holds no document");
    chopin_json_free(w);
    chopin_json_doc_free(doc);
}
