/* test_app.c - the application through the in-process test client
 * (chopin/testing.h): routing, parameters, query strings, JSON and error
 * responses, automatic 404/405/OPTIONS/HEAD, headers, redirects, middleware
 * (app, groups, CORS, request id, access log), pipelining, bodies and limits,
 * and the Date header.
 *
 * Every test builds its own app with chopin_app_new_with(); the access log is
 * off except where it is the subject, to keep stderr quiet. */
#include <criterion/criterion.h>

#include "chopin.h"

#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static chopin_app *app;

static void teardown(void) {
    chopin_app_free(app);
    app = NULL;
}

TestSuite(app, .fini = teardown);

static chopin_config quiet_config(void) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    return cfg;
}

static chopin_app *new_app_with(const chopin_config *cfg) {
    app = chopin_app_new_with(cfg);
    cr_assert_not_null(app);
    return app;
}

static chopin_app *new_app(void) {
    chopin_config cfg = quiet_config();
    return new_app_with(&cfg);
}

static chopin_test_response *request(const char *method, const char *target,
                                     const char *const *headers, const void *body,
                                     size_t body_len) {
    chopin_test_response *r = chopin_test_request(app, method, target, headers, body, body_len);
    cr_assert_not_null(r, "%s %s: malformed response", method, target);
    return r;
}

static chopin_test_response *get(const char *target) {
    return request("GET", target, NULL, NULL, 0);
}

static chopin_test_response *get_h(const char *target, const char *const *headers) {
    return request("GET", target, headers, NULL, 0);
}

static char *raw(const char *bytes, size_t *out_len) {
    size_t len = 0;
    char *out = chopin_test_raw(app, bytes, strlen(bytes), &len);
    cr_assert_not_null(out);
    if (out_len) *out_len = len;
    return out;
}

static size_t header_count(const chopin_test_response *r, const char *name) {
    size_t n = 0;
    for (size_t i = 0; i < r->header_count; i++) n += !strcasecmp(r->header_names[i], name);
    return n;
}

static void expect_header(const chopin_test_response *r, const char *name, const char *want) {
    const char *v = chopin_test_header(r, name);
    cr_assert_not_null(v, "header %s missing in:\n%s", name, r->raw);
    cr_assert_str_eq(v, want, "header %s", name);
}

static void expect_no_header(const chopin_test_response *r, const char *name) {
    cr_assert_null(chopin_test_header(r, name), "unexpected header %s in:\n%s", name, r->raw);
}

static void expect_body(const chopin_test_response *r, const char *want) {
    cr_assert_eq(r->body_len, strlen(want), "body '%s', want '%s'", r->body, want);
    cr_assert_str_eq(r->body, want);
}

/* The methods of an Allow value, as a bit set (order and spacing aside). */
static unsigned allow_bits(const char *allow) {
    unsigned bits = 0;
    char copy[128];
    snprintf(copy, sizeof copy, "%s", allow);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        int m;
        for (m = 0; m < CHOPIN_METHOD_COUNT; m++)
            if (!strcmp(tok, chopin_method_name((chopin_method)m))) break;
        cr_assert_lt(m, CHOPIN_METHOD_COUNT, "unknown method '%s' in Allow '%s'", tok, allow);
        cr_assert_eq(bits & (1u << m), 0u, "'%s' twice in Allow '%s'", tok, allow);
        bits |= 1u << m;
    }
    return bits;
}

static void expect_allow(const chopin_test_response *r, const char *want) {
    const char *allow = chopin_test_header(r, "Allow");
    cr_assert_not_null(allow, "no Allow header in:\n%s", r->raw);
    cr_assert_eq(allow_bits(allow), allow_bits(want), "Allow '%s', want '%s'", allow, want);
}

/* Splits concatenated responses (none to HEAD) into status and body. */
typedef struct {
    int status;
    char body[256];
    bool close;
} mini_response;

static size_t split_responses(const char *bytes, size_t len, mini_response *out, size_t max) {
    const char *p = bytes, *end = bytes + len;
    size_t n = 0;
    while (p < end && n < max) {
        const char *head_end = strstr(p, "\r\n\r\n");
        cr_assert_not_null(head_end, "response %zu has no end of head", n);
        cr_assert_eq(sscanf(p, "HTTP/1.1 %d", &out[n].status), 1, "response %zu: bad status", n);
        const char *cl = strstr(p, "\r\nContent-Length: ");
        size_t body_len = 0;
        if (cl && cl < head_end) body_len = (size_t)strtoul(cl + 18, NULL, 10);
        const char *conn = strstr(p, "\r\nConnection: close");
        out[n].close = conn && conn < head_end;
        const char *body = head_end + 4;
        cr_assert_leq(body + body_len, end, "response %zu: truncated body", n);
        snprintf(out[n].body, sizeof out[n].body, "%.*s", (int)body_len, body);
        p = body + body_len;
        n++;
    }
    cr_assert_eq(p, end, "bytes left after %zu responses", n);
    return n;
}

static char *capture_stderr(void (*fn)(void));

/* --- Handlers --------------------------------------------------------------- */

static void h_hello(chopin_ctx *c) {
    chopin_text(c, 200, "hello world");
}

static void json_str_or_null(chopin_json *j, chopin_str s) {
    if (s.ptr)
        chopin_json_stringn(j, s.ptr, s.len);
    else
        chopin_json_null(j);
}

static void h_user(chopin_ctx *c) {
    chopin_json *j = chopin_json_begin(c, 200);
    chopin_json_object(j);
    chopin_json_key(j, "id");
    json_str_or_null(j, chopin_param(c, "id"));
    chopin_json_end(j);
    chopin_json_finish(j);
}

static void h_post(chopin_ctx *c) {
    chopin_json *j = chopin_json_begin(c, 200);
    chopin_json_object(j);
    chopin_json_key(j, "id");
    json_str_or_null(j, chopin_param(c, "id"));
    chopin_json_key(j, "pid");
    json_str_or_null(j, chopin_param(c, "pid"));
    chopin_json_key(j, "nope");
    json_str_or_null(j, chopin_param(c, "nope"));
    chopin_json_end(j);
    chopin_json_finish(j);
}

static void h_files(chopin_ctx *c) {
    chopin_json *j = chopin_json_begin(c, 200);
    chopin_json_object(j);
    chopin_json_key(j, "path");
    json_str_or_null(j, chopin_param(c, "path"));
    chopin_json_end(j);
    chopin_json_finish(j);
}

static void h_query(chopin_ctx *c) {
    static const char *const names[] = {"name", "x",    "tag", "empty",  "flag",
                                        "key",  "plus", "amp", "missing"};
    chopin_json *j = chopin_json_begin(c, 200);
    chopin_json_object(j);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        chopin_json_key(j, names[i]);
        json_str_or_null(j, chopin_query(c, names[i]));
    }
    chopin_json_key(j, "raw");
    json_str_or_null(j, chopin_req_query(c));
    chopin_json_key(j, "path");
    json_str_or_null(j, chopin_req_path(c));
    chopin_json_end(j);
    chopin_json_finish(j);
}

static void h_error(chopin_ctx *c) {
    chopin_error(c, 422, "VALIDATION_FAILED", "name is \"required\"");
}

static void h_error_defaults(chopin_ctx *c) {
    chopin_error(c, 409, NULL, NULL);
}

static void h_silent(chopin_ctx *c) {
    (void)c;
}

static void h_bad_json(chopin_ctx *c) {
    chopin_json *j = chopin_json_begin(c, 200);
    chopin_json_object(j);
    chopin_json_int(j, 1); /* no key */
    chopin_json_end(j);
    chopin_json_finish(j);
}

static void h_unclosed_json(chopin_ctx *c) {
    chopin_json *j = chopin_json_begin(c, 201);
    chopin_json_array(j);
    chopin_json_finish(j);
}

static void h_two_values(chopin_ctx *c) {
    chopin_json *j = chopin_json_begin(c, 200);
    chopin_json_object(j);
    chopin_json_end(j);
    chopin_json_object(j); /* a second document in one body */
    chopin_json_end(j);
    chopin_json_finish(j);
}

static void h_json_types(chopin_ctx *c) {
    chopin_json *j = chopin_json_begin(c, 201);
    chopin_json_object(j);
    chopin_json_key(j, "s");
    chopin_json_string(j, "tab\there");
    chopin_json_key(j, "i");
    chopin_json_int(j, -5);
    chopin_json_key(j, "d");
    chopin_json_double(j, 0.5);
    chopin_json_key(j, "b");
    chopin_json_bool(j, false);
    chopin_json_key(j, "n");
    chopin_json_null(j);
    chopin_json_key(j, "a");
    chopin_json_array(j);
    chopin_json_uint(j, 1);
    chopin_json_uint(j, 2);
    chopin_json_end(j);
    chopin_json_end(j);
    chopin_json_finish(j);
}

static void h_echo(chopin_ctx *c) {
    chopin_str body = chopin_req_body(c);
    chopin_send(c, 200, "application/octet-stream", body.ptr, body.len);
}

static void h_num(chopin_ctx *c) {
    chopin_str n = chopin_param(c, "n");
    chopin_send(c, 200, "text/plain", n.ptr, n.len);
}

static void h_rid(chopin_ctx *c) {
    chopin_str id = chopin_request_id(c);
    chopin_send(c, 200, "text/plain", id.ptr, id.len);
}

static void h_kilobyte(chopin_ctx *c) {
    static char kb[1000];
    memset(kb, 'k', sizeof kb);
    chopin_send(c, 200, "text/plain", kb, sizeof kb);
}

static char file_path[64];
static void h_file(chopin_ctx *c) {
    chopin_send_file(c, 200, "text/plain", file_path);
}

static void h_redirect(chopin_ctx *c) {
    chopin_redirect(c, 302, "/new/place?x=1");
}

static void h_redirect_injection(chopin_ctx *c) {
    chopin_redirect(c, 301, "/x\r\nSet-Cookie: stolen=1");
}

/* --- Routing, parameters, query strings ----------------------------------------- */

Test(app, routes_and_params) {
    new_app();
    chopin_get(app, "/hello", h_hello);
    chopin_get(app, "/users/:id", h_user);
    chopin_get(app, "/users/:id/posts/:pid", h_post);
    chopin_get(app, "/files/*path", h_files);

    chopin_test_response *r = get("/hello");
    cr_assert_eq(r->status, 200);
    expect_body(r, "hello world");
    expect_header(r, "Content-Type", "text/plain");
    expect_header(r, "Content-Length", "11");
    chopin_test_response_free(r);

    r = get("/users/42");
    cr_assert_eq(r->status, 200);
    expect_header(r, "Content-Type", "application/json");
    expect_body(r, "{\"id\":\"42\"}");
    chopin_test_response_free(r);

    /* Parameters are percent-decoded; '+' is not a space in a path. */
    r = get("/users/a%20b+c%2Fd");
    expect_body(r, "{\"id\":\"a b+c/d\"}");
    chopin_test_response_free(r);

    r = get("/users/7/posts/x-1?ignored=1");
    expect_body(r, "{\"id\":\"7\",\"pid\":\"x-1\",\"nope\":null}");
    chopin_test_response_free(r);

    r = get("/files/dir/sub%2Fname.txt");
    expect_body(r, "{\"path\":\"dir/sub/name.txt\"}");
    chopin_test_response_free(r);

    r = get("/files/");
    expect_body(r, "{\"path\":\"\"}");
    chopin_test_response_free(r);
}

Test(app, query_parsing) {
    new_app();
    chopin_get(app, "/q", h_query);

    chopin_test_response *r =
        get("/q?name=J%C3%B6rg&x=a+b&tag=1&tag=2&empty=&flag&%6Bey=v&plus=%2B&&amp=%26%3D");
    cr_assert_eq(r->status, 200);
    expect_body(r, "{\"name\":\"J\xc3\xb6rg\",\"x\":\"a b\",\"tag\":\"1\",\"empty\":\"\","
                   "\"flag\":\"\",\"key\":\"v\",\"plus\":\"+\",\"amp\":\"&=\",\"missing\":null,"
                   "\"raw\":\"name=J%C3%B6rg&x=a+b&tag=1&tag=2&empty=&flag&%6Bey=v&plus=%2B&&amp="
                   "%26%3D\",\"path\":\"/q\"}");
    chopin_test_response_free(r);

    r = get("/q"); /* no query at all */
    expect_body(r,
                "{\"name\":null,\"x\":null,\"tag\":null,\"empty\":null,\"flag\":null,\"key\":null,"
                "\"plus\":null,\"amp\":null,\"missing\":null,\"raw\":null,\"path\":\"/q\"}");
    chopin_test_response_free(r);

    r = get("/q?"); /* an empty query */
    cr_assert_eq(r->status, 200);
    cr_assert(strstr(r->body, "\"name\":null"));
    cr_assert(strstr(r->body, "\"raw\":\"\""));
    chopin_test_response_free(r);
}

Test(app, json_responses) {
    new_app();
    chopin_get(app, "/types", h_json_types);
    chopin_test_response *r = get("/types");
    cr_assert_eq(r->status, 201);
    expect_header(r, "Content-Type", "application/json");
    expect_body(r, "{\"s\":\"tab\\there\",\"i\":-5,\"d\":0.5,\"b\":false,\"n\":null,\"a\":[1,2]}");
    char len[16];
    snprintf(len, sizeof len, "%zu", r->body_len);
    expect_header(r, "Content-Length", len);
    chopin_test_response_free(r);
}

Test(app, error_envelope) {
    new_app();
    chopin_get(app, "/err", h_error);
    chopin_get(app, "/conflict", h_error_defaults);

    chopin_test_response *r = get("/err");
    cr_assert_eq(r->status, 422);
    expect_header(r, "Content-Type", "application/json");
    expect_body(r, "{\"success\":false,\"error\":{\"status\":422,\"code\":\"VALIDATION_FAILED\","
                   "\"message\":\"name is \\\"required\\\"\"}}");
    chopin_test_response_free(r);

    r = get("/conflict"); /* code and message default from the status */
    cr_assert_eq(r->status, 409);
    expect_body(r, "{\"success\":false,\"error\":{\"status\":409,\"code\":\"CONFLICT\",\"message\":\"Conflict\"}}");
    chopin_test_response_free(r);
}

static void get_conflicting(void) {
    chopin_get(app, "/users/:uid/posts/:pid", h_post); /* ":id" and ":uid" at one position */
}

Test(app, bad_route_refuses_to_start) {
    new_app();
    chopin_get(app, "/users/:id", h_user);
    char *log = capture_stderr(get_conflicting);
    cr_assert(strstr(log, "/users/:uid/posts/:pid"), "the message names the route: '%s'", log);
    free(log);
    cr_assert_null(chopin_test_request(app, "GET", "/users/1", NULL, NULL, 0));
    cr_assert_eq(chopin_app_start(app), -1);
}

/* --- 404, 405, OPTIONS, HEAD ------------------------------------------------------- */

Test(app, not_found) {
    new_app();
    chopin_get(app, "/hello", h_hello);
    static const char *const paths[] = {"/", "/nothing", "/hello/", "/hello/x", "/HELLO"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        chopin_test_response *r = get(paths[i]);
        cr_assert_eq(r->status, 404, "%s", paths[i]);
        expect_header(r, "Content-Type", "application/json");
        expect_body(r, "{\"success\":false,\"error\":{\"status\":404,\"code\":\"NOT_FOUND\","
                       "\"message\":\"no route matches this path\"}}");
        expect_no_header(r, "Allow");
        chopin_test_response_free(r);
    }
}

Test(app, method_not_allowed) {
    new_app();
    chopin_get(app, "/only", h_hello);
    chopin_put(app, "/only", h_hello);
    chopin_post(app, "/form", h_hello);

    chopin_test_response *r = request("POST", "/only", NULL, "x", 1);
    cr_assert_eq(r->status, 405);
    expect_allow(r, "GET, HEAD, PUT, OPTIONS");
    expect_body(r, "{\"success\":false,\"error\":{\"status\":405,\"code\":\"METHOD_NOT_ALLOWED\","
                   "\"message\":\"this path does not accept this method\"}}");
    chopin_test_response_free(r);

    r = request("DELETE", "/form", NULL, NULL, 0); /* no GET: no HEAD either */
    cr_assert_eq(r->status, 405);
    expect_allow(r, "POST, OPTIONS");
    chopin_test_response_free(r);

    r = request("HEAD", "/form", NULL, NULL, 0);
    cr_assert_eq(r->status, 405);
    expect_allow(r, "POST, OPTIONS");
    chopin_test_response_free(r);
}

/* 405 lists every method the path routes, across static and param routes. */
Test(app, method_not_allowed_lists_every_route_of_the_path) {
    new_app();
    chopin_get(app, "/users/me", h_hello);
    chopin_post(app, "/users/:id", h_user);
    chopin_test_response *r = request("POST", "/users/me", NULL, "", 0);
    cr_assert_eq(r->status, 200, "POST /users/me backtracks to /users/:id");
    expect_body(r, "{\"id\":\"me\"}");
    chopin_test_response_free(r);

    r = request("DELETE", "/users/me", NULL, NULL, 0);
    cr_assert_eq(r->status, 405);
    expect_allow(r, "GET, HEAD, POST, OPTIONS");
    chopin_test_response_free(r);

    r = request("OPTIONS", "/users/me", NULL, NULL, 0);
    cr_assert_eq(r->status, 204);
    expect_allow(r, "GET, HEAD, POST, OPTIONS");
    chopin_test_response_free(r);
}

Test(app, automatic_options) {
    new_app();
    chopin_get(app, "/only", h_hello);
    chopin_put(app, "/only", h_hello);

    chopin_test_response *r = request("OPTIONS", "/only", NULL, NULL, 0);
    cr_assert_eq(r->status, 204);
    expect_allow(r, "GET, HEAD, PUT, OPTIONS");
    cr_assert_eq(r->body_len, 0);
    expect_no_header(r, "Content-Length"); /* 204 has no content */
    expect_no_header(r, "Content-Type");
    chopin_test_response_free(r);

    r = request("OPTIONS", "/nothing", NULL, NULL, 0);
    cr_assert_eq(r->status, 404);
    chopin_test_response_free(r);

    r = request("OPTIONS", "*", NULL, NULL, 0); /* the server as a whole */
    cr_assert_eq(r->status, 204);
    expect_allow(r, "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS");
    chopin_test_response_free(r);
}

static void h_options(chopin_ctx *c) {
    chopin_text(c, 200, "custom options");
}

Test(app, explicit_options_route_wins) {
    new_app();
    chopin_get(app, "/x", h_hello);
    chopin_route(app, CHOPIN_OPTIONS, "/x", h_options);
    chopin_test_response *r = request("OPTIONS", "/x", NULL, NULL, 0);
    cr_assert_eq(r->status, 200);
    expect_body(r, "custom options");
    chopin_test_response_free(r);
}

Test(app, head_is_get_without_body) {
    new_app();
    chopin_get(app, "/hello", h_hello);
    chopin_get(app, "/users/:id", h_user);

    chopin_test_response *g = get("/hello");
    chopin_test_response *h = request("HEAD", "/hello", NULL, NULL, 0);
    cr_assert_eq(h->status, 200);
    expect_header(h, "Content-Length", chopin_test_header(g, "Content-Length"));
    expect_header(h, "Content-Type", "text/plain");
    cr_assert_eq(h->body_len, 0);
    const char *head_end = strstr(h->raw, "\r\n\r\n");
    cr_assert_not_null(head_end);
    cr_assert_eq((size_t)(head_end + 4 - h->raw), h->raw_len, "HEAD response carries a body");
    chopin_test_response_free(g);
    chopin_test_response_free(h);

    h = request("HEAD", "/users/123", NULL, NULL, 0);
    cr_assert_eq(h->status, 200);
    expect_header(h, "Content-Length", "12"); /* {"id":"123"} */
    expect_header(h, "Content-Type", "application/json");
    chopin_test_response_free(h);

    /* Framing holds on a connection: HEAD then GET, pipelined. */
    size_t len;
    char *out =
        raw("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &len);
    char *first_end = strstr(out, "\r\n\r\n");
    cr_assert_not_null(first_end);
    cr_assert(!strncmp(first_end + 4, "HTTP/1.1 200 OK\r\n", 17), "after HEAD: '%s'",
              first_end + 4);
    cr_assert(len > 11 && !memcmp(out + len - 11, "hello world", 11));
    free(out);

    h = request("HEAD", "/missing", NULL, NULL, 0);
    cr_assert_eq(h->status, 404);
    cr_assert_eq(h->body_len, 0);
    cr_assert_not_null(chopin_test_header(h, "Content-Length"));
    chopin_test_response_free(h);
}

/* --- Handler mistakes ------------------------------------------------------------ */

Test(app, handler_without_response_is_500) {
    new_app();
    chopin_get(app, "/silent", h_silent);
    chopin_test_response *r = get("/silent");
    cr_assert_eq(r->status, 500);
    expect_header(r, "Content-Type", "application/json");
    expect_body(r, "{\"success\":false,\"error\":{\"status\":500,\"code\":\"INTERNAL_ERROR\","
                   "\"message\":\"the handler sent no response\"}}");
    chopin_test_response_free(r);
}

Test(app, invalid_json_is_500) {
    new_app();
    chopin_get(app, "/bad", h_bad_json);
    chopin_get(app, "/unclosed", h_unclosed_json);
    chopin_get(app, "/two", h_two_values);
    static const char *const paths[] = {"/bad", "/unclosed", "/two"};
    for (size_t i = 0; i < 3; i++) {
        chopin_test_response *r = get(paths[i]);
        cr_assert_eq(r->status, 500, "%s", paths[i]);
        expect_header(r, "Content-Type", "application/json");
        expect_body(r, "{\"success\":false,\"error\":{\"status\":500,\"code\":\"INTERNAL_ERROR\","
                       "\"message\":\"the handler wrote invalid JSON\"}}");
        chopin_test_response_free(r);
    }
}

static void h_no_content_with_body(chopin_ctx *c) {
    chopin_send(c, 204, "text/plain", "dropped", 7);
}

static void h_big(chopin_ctx *c) {
    enum { BIG = 100000 };
    char *body = chopin_alloc(c, BIG);
    for (size_t i = 0; i < BIG; i++) body[i] = (char)('a' + i % 26);
    chopin_send(c, 200, "text/plain", body, BIG);
}

Test(app, status_without_content_drops_body) {
    new_app();
    chopin_get(app, "/nc", h_no_content_with_body);
    chopin_test_response *r = get("/nc");
    cr_assert_eq(r->status, 204);
    cr_assert_eq(r->body_len, 0);
    expect_no_header(r, "Content-Length");
    expect_no_header(r, "Content-Type");
    cr_assert_null(strstr(r->raw, "dropped"));
    chopin_test_response_free(r);
}

Test(app, large_body) {
    new_app();
    chopin_get(app, "/big", h_big);
    chopin_test_response *r = get("/big");
    cr_assert_eq(r->status, 200);
    expect_header(r, "Content-Length", "100000");
    cr_assert_eq(r->body_len, 100000);
    for (size_t i = 0; i < 100000; i++)
        cr_assert_eq(r->body[i], (char)('a' + i % 26), "byte %zu", i);
    chopin_test_response_free(r);
    r = get("/big"); /* again, on the reused worker buffers */
    cr_assert_eq(r->body_len, 100000);
    chopin_test_response_free(r);
}

/* A handler answers once: later answers are ignored, whichever call makes them. */
static void h_send_twice(chopin_ctx *c) {
    chopin_text(c, 200, "first");
    chopin_text(c, 500, "second");
    chopin_error(c, 500, "INTERNAL_ERROR", "third");
    chopin_redirect(c, 302, "/elsewhere");
    chopin_send_status(c, 204);
}

static void h_send_then_json(chopin_ctx *c) {
    chopin_text(c, 200, "first");
    chopin_json *j = chopin_json_begin(c, 500);
    chopin_json_object(j);
    chopin_json_end(j);
    chopin_json_finish(j);
}

Test(app, second_answer_ignored) {
    new_app();
    chopin_get(app, "/twice", h_send_twice);
    chopin_test_response *r = get("/twice");
    cr_assert_eq(r->status, 200);
    expect_body(r, "first");
    expect_no_header(r, "Location");
    chopin_test_response_free(r);
}

/* BUG (src/app/ctx.c, chopin_json_begin): the first line,
 * `c->body_buf.len = 0;`, runs before the `if (c->status)` check, so a
 * chopin_json_begin() after the handler has already answered wipes the body
 * of that answer: GET /send-then-json gives "200 OK", Content-Type
 * text/plain, Content-Length: 0 and no body, instead of the body "first". */
Test(app, json_after_answer_keeps_first_body) {
    new_app();
    chopin_get(app, "/send-then-json", h_send_then_json);
    chopin_test_response *r = get("/send-then-json");
    cr_assert_eq(r->status, 200);
    expect_header(r, "Content-Type", "text/plain");
    expect_body(r, "first");
    chopin_test_response_free(r);
}

/* --- Headers and redirects ------------------------------------------------------------ */

static int header_results[32];
static size_t num_header_results;

static void h_headers(chopin_ctx *c) {
    static const char *const refused[][2] = {
        {"Content-Length", "5"},
        {"content-length", "5"},
        {"Server", "evil"},
        {"SERVER", "evil"},
        {"Date", "yesterday"},
        {"Connection", "close"},
        {"Transfer-Encoding", "chunked"},
        {"X-Evil", "a\r\nInjected: 1"},
        {"X-Evil", "a\nInjected: 1"},
        {"X-Evil", "a\rInjected: 1"},
        {"X-Evil\r\nInjected", "1"},
        {"Bad Name", "1"},
        {"Bad:Name", "1"},
        {"", "1"},
    };
    num_header_results = 0;
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        header_results[num_header_results++] = chopin_set_header(c, refused[i][0], refused[i][1]);
    header_results[num_header_results++] = chopin_set_headern(c, "X-Nul", 5, "a\0Injected", 10);
    /* Accepted ones (0 expected from here on). */
    header_results[num_header_results++] = chopin_set_header(c, "X-Custom", "yes");
    header_results[num_header_results++] = chopin_set_header(c, "X-Multi", "1");
    header_results[num_header_results++] = chopin_set_header(c, "X-Multi", "2");
    header_results[num_header_results++] = chopin_set_header(c, "X-Empty", "");
    header_results[num_header_results++] =
        chopin_set_header(c, "Content-Type", "application/vnd.test+json");
    chopin_send(c, 200, NULL, "ok", 2);
}

Test(app, set_header_rules) {
    new_app();
    chopin_get(app, "/h", h_headers);
    chopin_test_response *r = get("/h");
    cr_assert_eq(r->status, 200);
    cr_assert_eq(num_header_results, 20);
    for (size_t i = 0; i < 15; i++)
        cr_assert_eq(header_results[i], -1, "refused header %zu was accepted", i);
    for (size_t i = 15; i < 20; i++)
        cr_assert_eq(header_results[i], 0, "accepted header %zu was refused", i);

    cr_assert_null(strstr(r->raw, "Injected"), "header injection:\n%s", r->raw);
    cr_assert_null(strstr(r->raw, "evil"));
    expect_header(r, "X-Custom", "yes");
    expect_header(r, "X-Empty", "");
    cr_assert_eq(header_count(r, "X-Multi"), 2);
    cr_assert(strstr(r->raw, "X-Multi: 1\r\nX-Multi: 2\r\n"), "in order");
    expect_header(r, "Content-Type", "application/vnd.test+json");
    cr_assert_eq(header_count(r, "Content-Type"), 1);
    expect_header(r, "Content-Length", "2");
    cr_assert_eq(header_count(r, "Content-Length"), 1);
    expect_header(r, "Server", "chopin");
    cr_assert_eq(header_count(r, "Server"), 1);
    cr_assert_eq(header_count(r, "Date"), 1);
    expect_no_header(r, "Connection"); /* HTTP/1.1 keep-alive needs none */
    expect_no_header(r, "Transfer-Encoding");
    expect_body(r, "ok");
    chopin_test_response_free(r);
}

Test(app, redirect) {
    new_app();
    chopin_get(app, "/old", h_redirect);
    chopin_get(app, "/evil", h_redirect_injection);

    chopin_test_response *r = get("/old");
    cr_assert_eq(r->status, 302);
    expect_header(r, "Location", "/new/place?x=1");
    cr_assert_eq(r->body_len, 0);
    chopin_test_response_free(r);

    r = get("/evil");
    cr_assert_eq(r->status, 500);
    expect_no_header(r, "Location");
    expect_no_header(r, "Set-Cookie");
    cr_assert_null(strstr(r->raw, "stolen"));
    chopin_test_response_free(r);
}

/* --- Middleware ------------------------------------------------------------------------ */

static char trace[512];

static void trace_add(const char *s) {
    cr_assert_lt(strlen(trace) + strlen(s), sizeof trace);
    strcat(trace, s);
}

static chopin_flow tr_before(chopin_ctx *c, void *state) {
    (void)c;
    trace_add(state);
    trace_add(">");
    return CHOPIN_NEXT;
}

static void tr_after(chopin_ctx *c, void *state) {
    trace_add("<");
    trace_add(state);
    char status[16];
    snprintf(status, sizeof status, "%d", chopin_response_status(c));
    char name[32];
    snprintf(name, sizeof name, "X-After-%s", (const char *)state);
    chopin_set_header(c, name, status); /* afters see the decided response */
}

static chopin_middleware tr(const char *name) {
    return (chopin_middleware){
        .name = name, .before = tr_before, .after = tr_after, .state = (void *)name};
}

static chopin_flow stop_before(chopin_ctx *c, void *state) {
    trace_add(state);
    trace_add("!");
    chopin_error(c, 403, "FORBIDDEN", "stopped by middleware");
    return CHOPIN_STOP;
}

static chopin_middleware stopper(const char *name) {
    return (chopin_middleware){
        .name = name, .before = stop_before, .after = tr_after, .state = (void *)name};
}

static void h_traced(chopin_ctx *c) {
    trace_add("H");
    chopin_text(c, 200, "traced");
}

Test(app, middleware_order) {
    new_app();
    chopin_use(app, tr("A"));
    chopin_use(app, tr("B"));
    chopin_use(app, tr("C"));
    chopin_get(app, "/t", h_traced);

    chopin_test_response *r = get("/t");
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(trace, "A>B>C>H<C<B<A");
    expect_header(r, "X-After-A", "200");
    expect_header(r, "X-After-C", "200");
    chopin_test_response_free(r);

    /* App middleware runs before routing: it sees 404s too. */
    trace[0] = 0;
    r = get("/missing");
    cr_assert_eq(r->status, 404);
    cr_assert_str_eq(trace, "A>B>C><C<B<A");
    expect_header(r, "X-After-B", "404");
    chopin_test_response_free(r);
}

Test(app, middleware_short_circuit) {
    new_app();
    chopin_use(app, tr("A"));
    chopin_use(app, stopper("S"));
    chopin_use(app, tr("C"));
    chopin_get(app, "/t", h_traced);

    chopin_test_response *r = get("/t");
    cr_assert_eq(r->status, 403);
    cr_assert_str_eq(trace, "A>S!<S<A", "handler and later befores skipped, afters still run");
    expect_header(r, "X-After-A", "403");
    expect_no_header(r, "X-After-C");
    cr_assert(strstr(r->body, "\"code\":\"FORBIDDEN\""));
    chopin_test_response_free(r);
}

static chopin_flow stop_silently(chopin_ctx *c, void *state) {
    (void)c, (void)state;
    return CHOPIN_STOP;
}

Test(app, middleware_stop_without_response_is_500) {
    new_app();
    chopin_use(app, (chopin_middleware){.name = "mute", .before = stop_silently});
    chopin_get(app, "/t", h_traced);
    chopin_test_response *r = get("/t");
    cr_assert_eq(r->status, 500);
    cr_assert_str_eq(trace, "");
    chopin_test_response_free(r);
}

Test(app, group_middleware_only_for_group_routes) {
    new_app();
    chopin_group *admin = chopin_group_new(app, "/admin");
    chopin_group_use(admin, tr("G"));
    chopin_group_route(admin, CHOPIN_GET, "/stats", h_traced);
    chopin_get(app, "/public", h_traced);
    chopin_get(app, "/admin", h_traced); /* the prefix itself, outside the group */

    chopin_test_response *r = get("/admin/stats");
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(trace, "G>H<G");
    chopin_test_response_free(r);

    trace[0] = 0;
    r = get("/public");
    cr_assert_str_eq(trace, "H");
    expect_no_header(r, "X-After-G");
    chopin_test_response_free(r);

    trace[0] = 0;
    r = get("/admin");
    cr_assert_str_eq(trace, "H");
    chopin_test_response_free(r);

    trace[0] = 0;
    r = get("/admin/nothing"); /* no route: group middleware runs after routing */
    cr_assert_eq(r->status, 404);
    cr_assert_str_eq(trace, "");
    chopin_test_response_free(r);

    trace[0] = 0;
    r = request("POST", "/admin/stats", NULL, NULL, 0); /* 405: no route either */
    cr_assert_eq(r->status, 405);
    cr_assert_str_eq(trace, "");
    chopin_test_response_free(r);
}

Test(app, nested_groups) {
    new_app();
    chopin_use(app, tr("A"));
    chopin_group *api = chopin_group_new(app, "/api");
    chopin_group *v1 = chopin_group_sub(api, "/v1");
    chopin_group_use(api, tr("G1"));
    chopin_group_route(v1, CHOPIN_GET, "/items/:id", h_traced);
    chopin_group_route(api, CHOPIN_GET, "/ping", h_traced);
    /* Middleware added after the routes still applies: chains are composed at start. */
    chopin_group_use(v1, tr("S1"));
    chopin_group_use(v1, tr("S2"));

    chopin_test_response *r = get("/api/v1/items/5");
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(trace, "A>G1>S1>S2>H<S2<S1<G1<A");
    chopin_test_response_free(r);

    trace[0] = 0;
    r = get("/api/ping");
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(trace, "A>G1>H<G1<A");
    chopin_test_response_free(r);

    trace[0] = 0;
    r = get("/v1/items/5"); /* the sub-group's prefix alone is not a route */
    cr_assert_eq(r->status, 404);
    chopin_test_response_free(r);
}

Test(app, group_middleware_short_circuit) {
    new_app();
    chopin_use(app, tr("A"));
    chopin_group *g = chopin_group_new(app, "/g");
    chopin_group_use(g, tr("G"));
    chopin_group_use(g, stopper("S"));
    chopin_group_use(g, tr("X"));
    chopin_group_route(g, CHOPIN_GET, "/r", h_traced);
    chopin_test_response *r = get("/g/r");
    cr_assert_eq(r->status, 403);
    cr_assert_str_eq(trace, "A>G>S!<S<G<A");
    chopin_test_response_free(r);
}

static int destroyed;
static void count_destroy(void *state) {
    (void)state;
    destroyed++;
}

Test(app, middleware_destroyed_with_app) {
    new_app();
    chopin_use(app, (chopin_middleware){.name = "d1", .destroy = count_destroy});
    chopin_group *g = chopin_group_new(app, "/g");
    chopin_group_use(g, (chopin_middleware){.name = "d2", .destroy = count_destroy});
    chopin_group_route(g, CHOPIN_GET, "/r", h_hello);
    chopin_test_response *r = get("/g/r");
    cr_assert_eq(r->status, 200);
    chopin_test_response_free(r);
    cr_assert_eq(destroyed, 0);
    chopin_app_free(app);
    app = NULL;
    cr_assert_eq(destroyed, 2);
}

/* --- CORS ------------------------------------------------------------------------------ */

static int auth_calls;

static chopin_flow require_auth(chopin_ctx *c, void *state) {
    (void)state;
    auth_calls++;
    if (!chopin_req_header(c, "Authorization").ptr) {
        chopin_error(c, 401, "UNAUTHORIZED", "no credentials");
        return CHOPIN_STOP;
    }
    return CHOPIN_NEXT;
}

static void cors_app(const char *origins) {
    new_app();
    chopin_use(app, chopin_cors(&(chopin_cors_options){.allow_origins = origins}));
    chopin_group *admin = chopin_group_new(app, "/admin");
    chopin_group_use(admin, (chopin_middleware){.name = "auth", .before = require_auth});
    chopin_group_route(admin, CHOPIN_GET, "/stats", h_hello);
    chopin_group_route(admin, CHOPIN_POST, "/stats", h_hello);
    chopin_get(app, "/public", h_hello);
}

Test(app, cors_simple_request) {
    cors_app("https://a.example, https://b.example");
    const char *const from_a[] = {"Origin: https://a.example", NULL};
    chopin_test_response *r = get_h("/public", from_a);
    cr_assert_eq(r->status, 200);
    expect_header(r, "Access-Control-Allow-Origin", "https://a.example");
    expect_header(r, "Vary", "Origin");
    expect_no_header(r, "Access-Control-Allow-Methods"); /* preflight only */
    chopin_test_response_free(r);

    const char *const from_b[] = {"Origin: https://b.example", NULL};
    r = get_h("/public", from_b);
    expect_header(r, "Access-Control-Allow-Origin", "https://b.example");
    chopin_test_response_free(r);

    r = get("/public"); /* same-origin: no CORS headers */
    expect_no_header(r, "Access-Control-Allow-Origin");
    chopin_test_response_free(r);

    /* An error still carries CORS headers, so the page can read it. */
    r = get_h("/admin/stats", from_a);
    cr_assert_eq(r->status, 401);
    expect_header(r, "Access-Control-Allow-Origin", "https://a.example");
    cr_assert_eq(auth_calls, 1);
    chopin_test_response_free(r);
}

Test(app, cors_any_origin) {
    cors_app("*");
    const char *const hdrs[] = {"Origin: https://anything.example", NULL};
    chopin_test_response *r = get_h("/public", hdrs);
    expect_header(r, "Access-Control-Allow-Origin", "*");
    expect_no_header(r, "Vary");
    chopin_test_response_free(r);
}

Test(app, cors_preflight_skips_route_middleware) {
    cors_app("https://a.example");
    const char *const preflight[] = {"Origin: https://a.example",
                                     "Access-Control-Request-Method: POST",
                                     "Access-Control-Request-Headers: Authorization", NULL};
    chopin_test_response *r = request("OPTIONS", "/admin/stats", preflight, NULL, 0);
    cr_assert_eq(r->status, 204, "preflight must not meet the auth middleware (got %d)", r->status);
    cr_assert_eq(auth_calls, 0);
    expect_header(r, "Access-Control-Allow-Origin", "https://a.example");
    const char *methods = chopin_test_header(r, "Access-Control-Allow-Methods");
    cr_assert_not_null(methods);
    cr_assert(strstr(methods, "POST"));
    expect_header(r, "Access-Control-Allow-Headers", "Authorization, Content-Type");
    expect_header(r, "Access-Control-Max-Age", "600");
    cr_assert_eq(r->body_len, 0);
    chopin_test_response_free(r);

    /* A plain OPTIONS (no Access-Control-Request-Method) is routed: automatic 204. */
    const char *const plain[] = {"Origin: https://a.example", NULL};
    r = request("OPTIONS", "/admin/stats", plain, NULL, 0);
    cr_assert_eq(r->status, 204);
    expect_allow(r, "GET, HEAD, POST, OPTIONS");
    expect_header(r, "Access-Control-Allow-Origin", "https://a.example");
    chopin_test_response_free(r);
}

Test(app, cors_disallowed_origin) {
    cors_app("https://a.example");
    const char *const evil[] = {"Origin: https://evil.example", NULL};
    chopin_test_response *r = get_h("/public", evil);
    cr_assert_eq(r->status, 200); /* served; the browser withholds it */
    for (size_t i = 0; i < r->header_count; i++)
        cr_assert(strncasecmp(r->header_names[i], "Access-Control-", 15) != 0,
                  "CORS header %s for a refused origin", r->header_names[i]);
    chopin_test_response_free(r);

    const char *const evil_preflight[] = {"Origin: https://evil.example",
                                          "Access-Control-Request-Method: GET", NULL};
    r = request("OPTIONS", "/admin/stats", evil_preflight, NULL, 0);
    cr_assert_eq(r->status, 204);
    for (size_t i = 0; i < r->header_count; i++)
        cr_assert(strncasecmp(r->header_names[i], "Access-Control-", 15) != 0,
                  "CORS header %s for a refused origin", r->header_names[i]);
    cr_assert_eq(auth_calls, 0);
    chopin_test_response_free(r);

    /* A prefix or suffix of an allowed origin is not that origin. */
    static const char *const near[] = {"Origin: https://a.exampl", "Origin: https://a.example.evil",
                                       "Origin: http://a.example"};
    for (size_t i = 0; i < 3; i++) {
        const char *const h[] = {near[i], NULL};
        r = get_h("/public", h);
        expect_no_header(r, "Access-Control-Allow-Origin");
        chopin_test_response_free(r);
    }
}

/* --- Request id -------------------------------------------------------------------------- */

static bool is_generated_id(const char *id) {
    regex_t re;
    cr_assert_eq(regcomp(&re, "^[0-9a-f]{16}-[0-9a-f]{8}$", REG_EXTENDED | REG_NOSUB), 0);
    bool ok = regexec(&re, id, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

static void rid_app(void) {
    new_app();
    chopin_use(app, chopin_request_id_middleware());
    chopin_get(app, "/rid", h_rid);
}

Test(app, request_id_generated_when_absent) {
    rid_app();
    chopin_test_response *r = get("/rid");
    const char *id = chopin_test_header(r, "X-Request-Id");
    cr_assert_not_null(id);
    cr_assert(is_generated_id(id), "generated id '%s'", id);
    expect_body(r, id); /* chopin_request_id() sees the same */
    cr_assert_eq(header_count(r, "X-Request-Id"), 1);

    chopin_test_response *r2 = get("/rid");
    const char *id2 = chopin_test_header(r2, "X-Request-Id");
    cr_assert_not_null(id2);
    cr_assert_str_neq(id, id2, "two requests, one id");
    chopin_test_response_free(r);
    chopin_test_response_free(r2);
}

Test(app, request_id_echoed_when_valid) {
    rid_app();
    char id64[80] = "X-Request-Id: ";
    memset(id64 + 14, 'k', 64);
    id64[14 + 64] = 0;
    const char *const valid[] = {"X-Request-Id: abc-123_X.y:z", "x-request-id: 7", id64};
    const char *const want[] = {"abc-123_X.y:z", "7", id64 + 14};
    for (size_t i = 0; i < 3; i++) {
        const char *const h[] = {valid[i], NULL};
        chopin_test_response *r = get_h("/rid", h);
        expect_header(r, "X-Request-Id", want[i]);
        expect_body(r, want[i]);
        cr_assert_eq(header_count(r, "X-Request-Id"), 1);
        chopin_test_response_free(r);
    }
}

Test(app, request_id_replaced_when_invalid) {
    rid_app();
    char id100[128] = "X-Request-Id: ", id65[96] = "X-Request-Id: ";
    memset(id100 + 14, 'a', 100);
    id100[114] = 0;
    memset(id65 + 14, 'b', 65);
    id65[79] = 0;
    const char *const invalid[] = {id100,
                                   id65,
                                   "X-Request-Id: has spaces in it",
                                   "X-Request-Id: semi;colon",
                                   "X-Request-Id: quote\"d",
                                   "X-Request-Id: "};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        const char *const h[] = {invalid[i], NULL};
        chopin_test_response *r = get_h("/rid", h);
        cr_assert_eq(r->status, 200);
        const char *id = chopin_test_header(r, "X-Request-Id");
        cr_assert_not_null(id);
        cr_assert(is_generated_id(id), "'%s' should have been replaced, got '%s'", invalid[i], id);
        expect_body(r, id);
        chopin_test_response_free(r);
    }
}

Test(app, request_id_in_error_envelope) {
    rid_app();
    const char *const h[] = {"X-Request-Id: req-42", NULL};
    chopin_test_response *r = get_h("/missing", h);
    cr_assert_eq(r->status, 404);
    expect_body(r,
                "{\"success\":false,\"error\":{\"status\":404,\"code\":\"NOT_FOUND\",\"message\":\"no route matches "
                "this path\",\"request_id\":\"req-42\"}}");
    chopin_test_response_free(r);
}

/* Runs fn with stderr going to a temporary file; returns what was written. */
static char *capture_stderr(void (*fn)(void)) {
    char path[] = "/tmp/chopin-test-stderr-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    unlink(path);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    cr_assert_geq(saved, 0);
    dup2(fd, STDERR_FILENO);
    fn();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    off_t size = lseek(fd, 0, SEEK_END);
    char *text = calloc(1, (size_t)size + 1);
    cr_assert_not_null(text);
    cr_assert_eq(pread(fd, text, (size_t)size, 0), size);
    close(fd);
    return text;
}

static chopin_test_response *captured;
static void get_hello(void) {
    captured = get("/hello?secret=hunter2");
}

Test(app, access_log_on_by_default) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cr_assert(cfg.access_log, "the access log is on by default");
    new_app_with(&cfg);
    chopin_get(app, "/hello", h_hello);
    char *log = capture_stderr(get_hello);
    cr_assert_eq(captured->status, 200);
    cr_assert(strstr(log, "msg=request method=GET path=/hello status=200 bytes=11 "),
              "access log line: '%s'", log);
    cr_assert_null(strstr(log, "hunter2"), "the query string is not logged");
    /* The log's request id is the one the response carries. */
    const char *id = chopin_test_header(captured, "X-Request-Id");
    cr_assert_not_null(id, "the default stack gives a request id");
    char rid[96];
    snprintf(rid, sizeof rid, "request_id=%s\n", id);
    cr_assert(strstr(log, rid), "'%s' not in '%s'", rid, log);
    chopin_test_response_free(captured);
    free(log);
}

Test(app, access_log_off_is_silent) {
    new_app();
    chopin_get(app, "/hello", h_hello);
    char *log = capture_stderr(get_hello);
    cr_assert_eq(captured->status, 200);
    cr_assert_str_eq(log, "");
    expect_no_header(captured, "X-Request-Id");
    chopin_test_response_free(captured);
    free(log);
}

/* BUG (src/app/app.c, app_compose): with the access log on (the default),
 * app_compose() adds its own request-id middleware ahead of the user's. An
 * app that also does chopin_use(app, chopin_request_id_middleware()) - the
 * documented way to get request ids - runs it twice: each run sets an
 * X-Request-Id response header, so the response carries two different ids
 * (the second run does not see the first one's id, since it reads the request
 * header) and the access log records the second while the client may read
 * the first. Expected: exactly one X-Request-Id. */
Test(app, request_id_not_duplicated_with_default_access_log) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    new_app_with(&cfg);
    chopin_use(app, chopin_request_id_middleware());
    chopin_get(app, "/hello", h_hello);
    char *log = capture_stderr(get_hello);
    cr_assert_eq(captured->status, 200);
    cr_assert_eq(header_count(captured, "X-Request-Id"), 1, "X-Request-Id sent %zu times:\n%s",
                 header_count(captured, "X-Request-Id"), captured->raw);
    chopin_test_response_free(captured);
    free(log);
}

/* --- Connections: pipelining, bodies, limits, malformed input --------------------------------- */

Test(app, pipelined_requests_in_order) {
    new_app();
    chopin_get(app, "/n/:n", h_num);
    enum { N = 100 };
    static char buf[N * 64];
    size_t len = 0;
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len,
                                "GET /n/%d HTTP/1.1\r\nHost: t\r\n\r\n", i);
    size_t out_len;
    char *out = chopin_test_raw(app, buf, len, &out_len);
    cr_assert_not_null(out);
    static mini_response resp[N + 1];
    size_t n = split_responses(out, out_len, resp, N + 1);
    cr_assert_eq(n, N, "%zu responses for %d requests", n, N);
    for (int i = 0; i < N; i++) {
        char want[16];
        snprintf(want, sizeof want, "%d", i);
        cr_assert_eq(resp[i].status, 200, "response %d", i);
        cr_assert_str_eq(resp[i].body, want, "response %d out of order", i);
        cr_assert(!resp[i].close);
    }
    free(out);
}

/* BUG (src/testing/client.c, chopin_test_raw): conn_process() stops once the
 * unsent output passes max_pending_output (backpressure: on a socket the
 * worker resumes when the client has read). chopin_test_raw() calls it once
 * and returns, so the requests behind that point are silently dropped:
 * here 20 pipelined GETs of a 1000-byte body with max_pending_output = 4096
 * give 4 responses, not 20. Expected: the test client keeps processing
 * (treating its output buffer as read) until the input is used up. */
Test(app, pipelined_requests_beyond_pending_output_limit) {
    chopin_config cfg = quiet_config();
    cfg.max_pending_output = 4096;
    new_app_with(&cfg);
    chopin_get(app, "/kb", h_kilobyte);
    enum { N = 20 };
    static char buf[N * 64];
    size_t len = 0;
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "GET /kb HTTP/1.1\r\nHost: t\r\n\r\n");
    size_t out_len;
    char *out = chopin_test_raw(app, buf, len, &out_len);
    cr_assert_not_null(out);
    size_t n = 0;
    for (const char *p = out; (p = strstr(p, "HTTP/1.1 200 OK\r\n")); p++) n++;
    cr_assert_eq(n, N, "%zu responses for %d pipelined requests", n, N);
    free(out);
}

/* BUG (src/testing/client.c, chopin_test_raw): the same for a file
 * response: conn_process() stops at a response with a file to send (the
 * engine resumes once sendfile is done); the test client appends the file
 * and returns, dropping the requests pipelined behind it. Expected: 2
 * responses; actual: 1. */
Test(app, pipelined_request_after_file_response) {
    char path[] = "/tmp/chopin-test-file-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "file body\n", 10), 10);
    close(fd);
    strcpy(file_path, path);
    new_app();
    chopin_get(app, "/file", h_file);
    chopin_get(app, "/hello", h_hello);

    chopin_test_response *r = get("/file");
    unlink(path);
    cr_assert_eq(r->status, 200);
    expect_header(r, "Content-Length", "10");
    expect_body(r, "file body\n");
    chopin_test_response_free(r);

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "file body\n", 10), 10);
    close(fd);
    size_t len;
    char *out =
        raw("GET /file HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &len);
    unlink(path);
    mini_response resp[3];
    size_t n = split_responses(out, len, resp, 3);
    cr_assert_eq(n, 2, "%zu responses for 2 pipelined requests:\n%s", n, out);
    cr_assert_str_eq(resp[0].body, "file body\n");
    cr_assert_str_eq(resp[1].body, "hello world");
    free(out);
}

Test(app, post_body_content_length) {
    new_app();
    chopin_post(app, "/echo", h_echo);
    chopin_test_response *r = request("POST", "/echo", NULL, "hello world", 11);
    cr_assert_eq(r->status, 200);
    expect_body(r, "hello world");
    chopin_test_response_free(r);

    unsigned char bin[256];
    for (int i = 0; i < 256; i++) bin[i] = (unsigned char)i;
    r = request("POST", "/echo", NULL, bin, sizeof bin);
    cr_assert_eq(r->status, 200);
    cr_assert_eq(r->body_len, sizeof bin);
    cr_assert(memcmp(r->body, bin, sizeof bin) == 0);
    chopin_test_response_free(r);

    r = request("POST", "/echo", NULL, "", 0); /* Content-Length: 0 */
    cr_assert_eq(r->status, 200);
    cr_assert_eq(r->body_len, 0);
    chopin_test_response_free(r);
}

Test(app, post_body_chunked) {
    new_app();
    chopin_post(app, "/echo", h_echo);
    chopin_get(app, "/hello", h_hello);
    size_t len;
    char *out = raw("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
                    "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n",
                    &len);
    mini_response resp[3];
    cr_assert_eq(split_responses(out, len, resp, 3), 2);
    cr_assert_eq(resp[0].status, 200);
    cr_assert_str_eq(resp[0].body, "hello world");
    cr_assert_eq(resp[1].status, 200);
    cr_assert_str_eq(resp[1].body, "hello world");
    free(out);
}

Test(app, body_limit) {
    chopin_config cfg = quiet_config();
    cfg.max_body_bytes = 16;
    new_app_with(&cfg);
    chopin_post(app, "/echo", h_echo);
    chopin_get(app, "/hello", h_hello);

    chopin_test_response *r = request("POST", "/echo", NULL, "0123456789abcdef", 16);
    cr_assert_eq(r->status, 200, "exactly the limit is fine");
    expect_body(r, "0123456789abcdef");
    chopin_test_response_free(r);

    /* One byte over, with a request pipelined behind it: 413, then close. */
    size_t len;
    char *out = raw("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 17\r\n\r\n"
                    "0123456789abcdefg"
                    "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n",
                    &len);
    mini_response resp[3];
    cr_assert_eq(split_responses(out, len, resp, 3), 1, "nothing after a 413:\n%s", out);
    cr_assert_eq(resp[0].status, 413);
    cr_assert(resp[0].close, "413 closes the connection");
    cr_assert(strstr(resp[0].body, "\"code\":\"PAYLOAD_TOO_LARGE\""), "%s", resp[0].body);
    cr_assert(strstr(out, "Content-Type: application/json\r\n"));
    free(out);

    /* The same through a chunked body. */
    out = raw("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
              "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n",
              &len);
    cr_assert_eq(split_responses(out, len, resp, 3), 1);
    cr_assert_eq(resp[0].status, 413);
    cr_assert(resp[0].close);
    free(out);
}

Test(app, malformed_request_is_400) {
    new_app();
    chopin_get(app, "/hello", h_hello);
    static const char *const bad[] = {
        "GET /hello HTTP/1.1\r\nHost: t\r\nNo colon here\r\n\r\n",
        "GET /hello HTTP/1.1\r\nHost : t\r\n\r\n",
        "GET /hello HTTP/1.1\nHost: t\n\n",
        "GET /hello HTTP/1.1\r\n\r\n", /* no Host */
        "GET hello HTTP/1.1\r\nHost: t\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len;
        char *out = raw(bad[i], &len);
        mini_response resp[2];
        cr_assert_eq(split_responses(out, len, resp, 2), 1, "case %zu", i);
        cr_assert_eq(resp[0].status, 400, "case %zu: %d", i, resp[0].status);
        cr_assert(resp[0].close, "case %zu: 400 closes", i);
        cr_assert(strstr(out, "Content-Type: application/json\r\n"));
        cr_assert_str_eq(resp[0].body, "{\"success\":false,\"error\":{\"status\":400,\"code\":\"BAD_REQUEST\","
                                       "\"message\":\"malformed HTTP request\"}}");
        free(out);
    }
}

/* --- Date ------------------------------------------------------------------------------------- */

Test(app, date_header) {
    new_app();
    chopin_get(app, "/hello", h_hello);
    chopin_test_response *r = get("/hello");
    const char *date = chopin_test_header(r, "Date");
    cr_assert_not_null(date);
    cr_assert_eq(header_count(r, "Date"), 1);

    regex_t re;
    cr_assert_eq(regcomp(&re,
                         "^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
                         "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
                         "[0-9]{2}:[0-9]{2}:[0-9]{2} GMT$",
                         REG_EXTENDED | REG_NOSUB),
                 0);
    cr_assert_eq(regexec(&re, date, 0, NULL, 0), 0, "Date '%s' is not an IMF-fixdate", date);
    regfree(&re);

    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cr_assert(end && *end == 0, "strptime could not read '%s'", date);
    time_t t = timegm(&tm);
    time_t now = time(NULL);
    cr_assert(t <= now && now - t <= 2, "Date '%s' is %lld s away from now", date,
              (long long)(now - t));

    /* The weekday agrees with the date. */
    struct tm check;
    gmtime_r(&t, &check);
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    cr_assert(!strncmp(date, days[check.tm_wday], 3), "'%s': wrong weekday", date);
    chopin_test_response_free(r);
}
