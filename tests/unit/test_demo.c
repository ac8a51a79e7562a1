/* test_demo.c - the demo app (examples/demo/demo.c) end to end through the
 * in-process test client, as a user of Chopin would test their own app:
 * accounts (signup, login, me, refresh, logout), the todo API (validation,
 * filters, sorting, paging, PUT/PATCH/DELETE, one account never seeing
 * another's todos), response caching (X-Cache, ETag, 304, invalidation),
 * roles, multipart uploads served back, /health, /metrics, the OpenAPI
 * document, and the test helpers themselves (JSON by path, signup).
 *
 * Each test gets a fresh app (in-memory SQLite, its own upload folder) from
 * the suite's .init; every response and token is kept and freed in .fini,
 * so that a failed assertion leaks nothing either. */
#include <criterion/criterion.h>

#include <chopin.h>
#include <chopin/testing.h>

#include "demo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PASSWORD "a long enough password"

static chopin_app *app;
static chopin_test_response *responses[128];
static size_t num_responses;
static char *tokens[16];
static size_t num_tokens;

static void setup(void) {
    app = chopin_test_app();
    cr_assert_not_null(app, "chopin_test_app failed");
    cr_assert_eq(demo_setup(app), 0, "demo_setup failed");
}

static void teardown(void) {
    for (size_t i = 0; i < num_responses; i++) chopin_test_response_free(responses[i]);
    for (size_t i = 0; i < num_tokens; i++) free(tokens[i]);
    num_responses = num_tokens = 0;
    chopin_app_free(app);
    app = NULL;
}

TestSuite(demo, .init = setup, .fini = teardown);

/* --- Helpers -------------------------------------------------------------------- */

static chopin_test_response *keep(chopin_test_response *r, const char *method, const char *target) {
    cr_assert_not_null(r, "malformed response to %s %s", method, target);
    cr_assert_lt(num_responses, sizeof responses / sizeof responses[0], "too many responses");
    return responses[num_responses++] = r;
}

static chopin_test_response *call(const char *method, const char *target, const char *token,
                                  const char *json) {
    return keep(chopin_test_call(app, method, target, token, json), method, target);
}

static chopin_test_response *request(const char *method, const char *target,
                                     const char *const *headers, const void *body, size_t len) {
    return keep(chopin_test_request(app, method, target, headers, body, len), method, target);
}

static void expect_status(chopin_test_response *r, int status) {
    cr_assert_eq(r->status, status, "status %d, expected %d: %s", r->status, status, r->body);
}

static void expect_str(chopin_test_response *r, const char *path, const char *want) {
    const char *got = chopin_test_json_str(r, path);
    cr_assert_not_null(got, "%s is not a string in %s", path, r->body);
    cr_assert_str_eq(got, want, "%s is \"%s\", expected \"%s\"", path, got, want);
}

static void expect_int(chopin_test_response *r, const char *path, int64_t want) {
    int64_t got = chopin_test_json_int(r, path, INT64_MIN);
    cr_assert_eq(got, want, "%s is %lld, expected %lld in %s", path, (long long)got,
                 (long long)want, r->body);
}

static void expect_error(chopin_test_response *r, int status, const char *code) {
    expect_status(r, status);
    cr_assert_eq(chopin_test_json_bool(r, "success", true), false, "%s", r->body);
    expect_str(r, "error.code", code);
}

/* Whether error.fields lists this field. */
static bool lists_field(chopin_test_response *r, const char *field) {
    long n = chopin_test_json_count(r, "error.fields");
    for (long i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof path, "error.fields[%ld].field", i);
        const char *f = chopin_test_json_str(r, path);
        if (f && !strcmp(f, field)) return true;
    }
    return false;
}

/* An account's access token (username: the email's part before '@'). */
static char *user(const char *email) {
    char *token = chopin_test_signup(app, email, PASSWORD);
    cr_assert_not_null(token, "cannot sign %s up", email);
    cr_assert_lt(num_tokens, sizeof tokens / sizeof tokens[0], "too many tokens");
    return tokens[num_tokens++] = token;
}

static int64_t my_id(const char *token) {
    chopin_test_response *r = call("GET", "/api/auth/me", token, NULL);
    expect_status(r, 200);
    int64_t id = chopin_test_json_int(r, "data.id", -1);
    cr_assert_gt(id, 0, "no data.id in %s", r->body);
    return id;
}

/* POSTs a todo, expects 201 and returns its id. */
static int64_t create(const char *token, const char *json) {
    chopin_test_response *r = call("POST", "/todos", token, json);
    expect_status(r, 201);
    int64_t id = chopin_test_json_int(r, "data.id", -1);
    cr_assert_gt(id, 0, "no data.id in %s", r->body);
    return id;
}

static const char *todo_path(int64_t id) {
    static char path[4][32];
    static int turn;
    char *p = path[turn++ % 4];
    snprintf(p, sizeof path[0], "/todos/%lld", (long long)id);
    return p;
}

/* The titles of data.items, comma-separated: "E,D,C". */
static const char *titles(chopin_test_response *r) {
    static char out[256];
    size_t n = 0;
    out[0] = 0;
    for (long i = 0; i < chopin_test_json_count(r, "data.items"); i++) {
        char path[64];
        snprintf(path, sizeof path, "data.items[%ld].title", i);
        const char *t = chopin_test_json_str(r, path);
        n += (size_t)snprintf(out + n, sizeof out - n, "%s%s", i ? "," : "", t ? t : "?");
    }
    return out;
}

/* --- Accounts ------------------------------------------------------------------- */

Test(demo, signup_answers_201_with_tokens_and_the_user) {
    chopin_test_response *r =
        call("POST", "/api/auth/signup", NULL,
             "{\"email\":\"Ada@Example.com\",\"username\":\"ada\",\"password\":\"" PASSWORD "\"}");
    expect_status(r, 201);
    cr_assert_str_eq(chopin_test_header(r, "Content-Type"), "application/json");
    cr_assert_eq(chopin_test_json_bool(r, "success", false), true);
    const char *access = chopin_test_json_str(r, "data.access_token");
    const char *refresh = chopin_test_json_str(r, "data.refresh_token");
    cr_assert(access && strlen(access) > 20, "no access token in %s", r->body);
    cr_assert(refresh && strlen(refresh) > 20, "no refresh token in %s", r->body);
    cr_assert_str_neq(access, refresh);
    expect_str(r, "data.token_type", "Bearer");
    cr_assert_gt(chopin_test_json_int(r, "data.expires_in", 0), 0);
    expect_str(r, "data.user.email", "ada@example.com"); /* stored lowercase */
    expect_str(r, "data.user.username", "ada");
    expect_str(r, "data.user.role", "user");
    cr_assert_null(chopin_test_json(r, "data.user.password_hash"), "hash leaked: %s", r->body);
    /* The token it gave works. */
    expect_str(call("GET", "/api/auth/me", access, NULL), "data.username", "ada");
}

Test(demo, signup_with_a_taken_email_or_username_is_409) {
    user("ada@example.com");
    chopin_test_response *r = call(
        "POST", "/api/auth/signup", NULL,
        "{\"email\":\"ADA@example.com\",\"username\":\"other\",\"password\":\"" PASSWORD "\"}");
    expect_error(r, 409, "CONFLICT");
    r = call("POST", "/api/auth/signup", NULL,
             "{\"email\":\"new@example.com\",\"username\":\"ada\",\"password\":\"" PASSWORD "\"}");
    expect_error(r, 409, "CONFLICT");
}

Test(demo, signup_with_invalid_fields_lists_every_one) {
    chopin_test_response *r =
        call("POST", "/api/auth/signup", NULL,
             "{\"email\":\"not-an-email\",\"username\":\"ab\",\"password\":\"short\"}");
    expect_error(r, 422, "VALIDATION_FAILED");
    cr_assert_eq(chopin_test_json_count(r, "error.fields"), 3, "%s", r->body);
    cr_assert(lists_field(r, "email"), "%s", r->body);
    cr_assert(lists_field(r, "username"), "%s", r->body);
    cr_assert(lists_field(r, "password"), "%s", r->body);
}

Test(demo, login_by_email_and_by_username) {
    user("ada@example.com");
    chopin_test_response *r = call("POST", "/api/auth/login", NULL,
                                   "{\"email\":\"ada@example.com\",\"password\":\"" PASSWORD "\"}");
    expect_status(r, 200);
    expect_str(r, "data.user.username", "ada");
    const char *token = chopin_test_json_str(r, "data.access_token");
    cr_assert_not_null(token, "%s", r->body);
    expect_str(call("GET", "/api/auth/me", token, NULL), "data.email", "ada@example.com");

    r = call("POST", "/api/auth/login", NULL,
             "{\"username\":\"ada\",\"password\":\"" PASSWORD "\"}");
    expect_status(r, 200);
    expect_str(r, "data.user.email", "ada@example.com");
}

Test(demo, login_with_a_wrong_password_or_unknown_user_is_401) {
    user("ada@example.com");
    chopin_test_response *r =
        call("POST", "/api/auth/login", NULL,
             "{\"email\":\"ada@example.com\",\"password\":\"wrong password\"}");
    expect_error(r, 401, "INVALID_CREDENTIALS");
    cr_assert_null(chopin_test_json(r, "data"), "%s", r->body);
    r = call("POST", "/api/auth/login", NULL,
             "{\"email\":\"bob@example.com\",\"password\":\"" PASSWORD "\"}");
    expect_error(r, 401, "INVALID_CREDENTIALS");
}

Test(demo, me_needs_a_token) {
    char *token = user("ada@example.com");
    chopin_test_response *r = call("GET", "/api/auth/me", token, NULL);
    expect_status(r, 200);
    expect_str(r, "data.email", "ada@example.com");
    expect_str(r, "data.role", "user");

    r = call("GET", "/api/auth/me", NULL, NULL);
    expect_error(r, 401, "UNAUTHORIZED");
    cr_assert_str_eq(chopin_test_header(r, "WWW-Authenticate"), "Bearer");
    expect_error(call("GET", "/api/auth/me", "not.a.token", NULL), 401, "INVALID_TOKEN");
}

Test(demo, refresh_gives_a_new_pair_and_a_reused_token_is_401) {
    chopin_test_response *s =
        call("POST", "/api/auth/signup", NULL,
             "{\"email\":\"ada@example.com\",\"username\":\"ada\",\"password\":\"" PASSWORD "\"}");
    expect_status(s, 201);
    const char *access = chopin_test_json_str(s, "data.access_token");
    const char *refresh = chopin_test_json_str(s, "data.refresh_token");
    cr_assert(access && refresh, "%s", s->body);
    char body[4096];
    snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", refresh);

    chopin_test_response *r = call("POST", "/api/auth/refresh", NULL, body);
    expect_status(r, 200);
    const char *access2 = chopin_test_json_str(r, "data.access_token");
    const char *refresh2 = chopin_test_json_str(r, "data.refresh_token");
    cr_assert(access2 && refresh2, "%s", r->body);
    cr_assert_str_neq(access2, access);
    cr_assert_str_neq(refresh2, refresh);
    expect_str(call("GET", "/api/auth/me", access2, NULL), "data.email", "ada@example.com");

    /* The old one again: refused, and its whole family with it. */
    expect_error(call("POST", "/api/auth/refresh", NULL, body), 401, "TOKEN_REUSED");
    snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", refresh2);
    expect_status(call("POST", "/api/auth/refresh", NULL, body), 401);
    expect_error(call("GET", "/api/auth/me", access2, NULL), 401, "TOKEN_REVOKED");
}

Test(demo, logout_revokes_the_access_token) {
    char *token = user("ada@example.com");
    expect_status(call("GET", "/todos", token, NULL), 200);
    chopin_test_response *r = call("POST", "/api/auth/logout", token, NULL);
    expect_status(r, 200);
    cr_assert_eq(chopin_test_json_bool(r, "data.logged_out", false), true, "%s", r->body);
    expect_error(call("GET", "/api/auth/me", token, NULL), 401, "TOKEN_REVOKED");
    expect_error(call("GET", "/todos", token, NULL), 401, "TOKEN_REVOKED");
    /* Another account's token still works. */
    expect_status(call("GET", "/api/auth/me", user("bob@example.com"), NULL), 200);
}

/* --- Todos ---------------------------------------------------------------------- */

Test(demo, todos_need_a_token) {
    expect_error(call("GET", "/todos", NULL, NULL), 401, "UNAUTHORIZED");
    expect_error(call("POST", "/todos", NULL, "{\"title\":\"x\"}"), 401, "UNAUTHORIZED");
    expect_error(call("GET", "/todos/1", NULL, NULL), 401, "UNAUTHORIZED");
    expect_error(call("DELETE", "/todos/1", NULL, NULL), 401, "UNAUTHORIZED");
}

Test(demo, create_answers_201_owned_by_the_caller) {
    char *token = user("ada@example.com");
    int64_t me = my_id(token);
    chopin_test_response *r = call("POST", "/todos", token,
                                   "{\"title\":\"Write tests\",\"priority\":3,\"tag\":\"work\"}");
    expect_status(r, 201);
    cr_assert_gt(chopin_test_json_int(r, "data.id", 0), 0, "%s", r->body);
    expect_str(r, "data.title", "Write tests");
    cr_assert_eq(chopin_test_json_bool(r, "data.done", true), false, "%s", r->body);
    expect_int(r, "data.priority", 3);
    expect_str(r, "data.tag", "work");
    expect_int(r, "data.owner_id", me);
    cr_assert_not_null(chopin_test_json_str(r, "data.created_at"), "%s", r->body);
}

Test(demo, create_with_invalid_fields_is_422_listing_each) {
    char *token = user("ada@example.com");
    chopin_test_response *r = call("POST", "/todos", token, "{\"priority\":9}");
    expect_error(r, 422, "VALIDATION_FAILED");
    cr_assert_eq(chopin_test_json_count(r, "error.fields"), 2, "%s", r->body);
    cr_assert(lists_field(r, "title"), "%s", r->body);
    cr_assert(lists_field(r, "priority"), "%s", r->body);
    r = call("POST", "/todos", token, "{\"title\":\"x\",\"tag\":\"party\"}");
    expect_error(r, 422, "VALIDATION_FAILED");
    cr_assert(lists_field(r, "tag"), "%s", r->body);
    expect_int(call("GET", "/todos", token, NULL), "data.total", 0);
}

Test(demo, list_is_a_page_with_filters_sorting_and_paging) {
    char *token = user("ada@example.com");
    create(token, "{\"title\":\"A\",\"priority\":1,\"tag\":\"work\"}");
    create(token, "{\"title\":\"B\",\"priority\":5,\"tag\":\"home\",\"done\":true}");
    create(token, "{\"title\":\"C\",\"priority\":3,\"tag\":\"work\"}");
    create(token, "{\"title\":\"D\",\"priority\":2,\"tag\":\"errand\"}");
    create(token, "{\"title\":\"E\",\"priority\":4,\"tag\":\"work\",\"done\":true}");

    chopin_test_response *r = call("GET", "/todos", token, NULL);
    expect_status(r, 200);
    cr_assert_eq(chopin_test_json_count(r, "data.items"), 5, "%s", r->body);
    expect_int(r, "data.total", 5);
    expect_int(r, "data.limit", 20);
    expect_int(r, "data.offset", 0);
    cr_assert_str_eq(titles(r), "E,D,C,B,A"); /* newest first by default */

    r = call("GET", "/todos?done=false", token, NULL);
    expect_int(r, "data.total", 3);
    cr_assert_str_eq(titles(r), "D,C,A");
    r = call("GET", "/todos?tag=work", token, NULL);
    expect_int(r, "data.total", 3);
    cr_assert_str_eq(titles(r), "E,C,A");
    r = call("GET", "/todos?tag=work&done=true", token, NULL);
    cr_assert_str_eq(titles(r), "E");

    r = call("GET", "/todos?sort=-priority", token, NULL);
    cr_assert_str_eq(titles(r), "B,E,C,D,A");
    r = call("GET", "/todos?sort=priority", token, NULL);
    cr_assert_str_eq(titles(r), "A,D,C,E,B");

    r = call("GET", "/todos?per_page=2&page=2", token, NULL);
    expect_status(r, 200);
    expect_int(r, "data.total", 5);
    expect_int(r, "data.limit", 2);
    expect_int(r, "data.offset", 2);
    cr_assert_str_eq(titles(r), "C,B");
    r = call("GET", "/todos?per_page=2&page=3", token, NULL);
    cr_assert_str_eq(titles(r), "A");

    r = call("GET", "/todos?tag=party", token, NULL);
    expect_error(r, 422, "VALIDATION_FAILED");
    cr_assert(lists_field(r, "tag"), "%s", r->body);
    expect_status(call("GET", "/todos?per_page=101", token, NULL), 422);
}

Test(demo, get_put_patch_and_delete_one_todo) {
    char *token = user("ada@example.com");
    int64_t me = my_id(token);
    int64_t id = create(token, "{\"title\":\"Draft\",\"priority\":2,\"tag\":\"home\"}");

    chopin_test_response *r = call("GET", todo_path(id), token, NULL);
    expect_status(r, 200);
    expect_int(r, "data.id", id);
    expect_str(r, "data.title", "Draft");
    const char *created = chopin_test_json_str(r, "data.created_at");
    cr_assert_not_null(created, "%s", r->body);

    r = call(
        "PUT", todo_path(id), token,
        "{\"title\":\"Final\",\"done\":true,\"priority\":5,\"tag\":\"work\",\"owner_id\":999}");
    expect_status(r, 200);
    expect_int(r, "data.id", id);
    expect_str(r, "data.title", "Final");
    cr_assert_eq(chopin_test_json_bool(r, "data.done", false), true, "%s", r->body);
    expect_int(r, "data.priority", 5);
    expect_int(r, "data.owner_id", me);

    /* PATCH: only what is named changes; owner_id is the server's. */
    r = call("PATCH", todo_path(id), token, "{\"done\":false,\"owner_id\":999}");
    expect_status(r, 200);
    cr_assert_eq(chopin_test_json_bool(r, "data.done", true), false, "%s", r->body);
    expect_str(r, "data.title", "Final");
    expect_int(r, "data.priority", 5);
    expect_str(r, "data.tag", "work");
    expect_int(r, "data.owner_id", me);

    /* What is stored, read back. */
    r = call("GET", todo_path(id), token, NULL);
    expect_status(r, 200);
    expect_str(r, "data.title", "Final");
    cr_assert_eq(chopin_test_json_bool(r, "data.done", true), false, "%s", r->body);
    expect_int(r, "data.priority", 5);
    expect_int(r, "data.owner_id", me);
    expect_str(r, "data.created_at", created);
    expect_status(call("PATCH", todo_path(id), token, "{\"priority\":0}"), 422);

    r = call("DELETE", todo_path(id), token, NULL);
    expect_status(r, 204);
    cr_assert_eq(r->body_len, 0, "a 204 with a body: %s", r->body);
    expect_error(call("GET", todo_path(id), token, NULL), 404, "NOT_FOUND");
    expect_error(call("DELETE", todo_path(id), token, NULL), 404, "NOT_FOUND");
    expect_int(call("GET", "/todos", token, NULL), "data.total", 0);
}

Test(demo, another_account_never_sees_the_todos) {
    char *ada = user("ada@example.com");
    int64_t id = create(ada, "{\"title\":\"Private\"}");
    char *bob = user("bob@example.com");

    chopin_test_response *r = call("GET", "/todos", bob, NULL);
    expect_status(r, 200);
    expect_int(r, "data.total", 0);
    cr_assert_eq(chopin_test_json_count(r, "data.items"), 0, "%s", r->body);
    expect_error(call("GET", todo_path(id), bob, NULL), 404, "NOT_FOUND");
    expect_error(call("PATCH", todo_path(id), bob, "{\"title\":\"Mine\"}"), 404, "NOT_FOUND");
    expect_error(call("PUT", todo_path(id), bob, "{\"title\":\"Mine\"}"), 404, "NOT_FOUND");
    expect_error(call("DELETE", todo_path(id), bob, NULL), 404, "NOT_FOUND");

    /* Untouched for its owner. */
    r = call("GET", todo_path(id), ada, NULL);
    expect_status(r, 200);
    expect_str(r, "data.title", "Private");
    expect_int(call("GET", "/todos", ada, NULL), "data.total", 1);
}

/* --- Response caching ------------------------------------------------------------ */

Test(demo, list_is_cached_with_an_etag_and_cleared_by_a_write) {
    char *token = user("ada@example.com");
    create(token, "{\"title\":\"First\"}");

    chopin_test_response *r1 = call("GET", "/todos", token, NULL);
    expect_status(r1, 200);
    cr_assert_str_eq(chopin_test_header(r1, "X-Cache"), "MISS");
    const char *etag = chopin_test_header(r1, "ETag");
    cr_assert(etag && etag[0] == '"' && strlen(etag) == 34, "ETag %s", etag ? etag : "(none)");
    cr_assert_str_eq(chopin_test_header(r1, "Cache-Control"), "private, max-age=30");

    chopin_test_response *r2 = call("GET", "/todos", token, NULL);
    expect_status(r2, 200);
    cr_assert_str_eq(chopin_test_header(r2, "X-Cache"), "HIT");
    cr_assert_str_eq(chopin_test_header(r2, "ETag"), etag);
    cr_assert_eq(r2->body_len, r1->body_len);
    cr_assert_eq(memcmp(r2->body, r1->body, r1->body_len), 0, "%s", r2->body);

    char inm[96];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    char auth[2048];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    const char *headers[] = {auth, inm, NULL};
    chopin_test_response *r3 = request("GET", "/todos", headers, NULL, 0);
    expect_status(r3, 304);
    cr_assert_eq(r3->body_len, 0, "a 304 with a body: %s", r3->body);
    cr_assert_str_eq(chopin_test_header(r3, "ETag"), etag);

    /* Another account's list is its own, not the cached one. */
    expect_int(call("GET", "/todos", user("bob@example.com"), NULL), "data.total", 0);

    create(token, "{\"title\":\"Second\"}");
    chopin_test_response *r4 = call("GET", "/todos", token, NULL);
    expect_status(r4, 200);
    cr_assert_str_eq(chopin_test_header(r4, "X-Cache"), "MISS");
    cr_assert_str_neq(chopin_test_header(r4, "ETag"), etag);
    expect_int(r4, "data.total", 2);
    cr_assert_str_eq(titles(r4), "Second,First");
    /* The old ETag no longer matches. */
    expect_status(request("GET", "/todos", headers, NULL, 0), 200);
}

/* --- Roles ---------------------------------------------------------------------- */

Test(demo, admin_stats_needs_the_admin_role) {
    char *token = user("ada@example.com");
    create(token, "{\"title\":\"one\"}");
    create(token, "{\"title\":\"two\"}");
    create(token, "{\"title\":\"three\"}");
    expect_error(call("GET", "/admin/stats", NULL, NULL), 401, "UNAUTHORIZED");
    expect_error(call("GET", "/admin/stats", token, NULL), 403, "FORBIDDEN");

    char *admin = chopin_test_user(app, "root@example.com", "admin");
    cr_assert_not_null(admin);
    tokens[num_tokens++] = admin;
    chopin_test_response *r = call("GET", "/admin/stats", admin, NULL);
    expect_status(r, 200);
    expect_int(r, "data.users", 2);
    expect_int(r, "data.todos", 3);
    expect_str(call("GET", "/api/auth/me", admin, NULL), "data.role", "admin");
}

/* --- Uploads -------------------------------------------------------------------- */

#define BOUNDARY "----chopin-test-7d1f"
#define CONTENT  "Hello, Chopin!\n"
/* printf 'Hello, Chopin!\n' | sha256sum */
#define CONTENT_SHA256 "a8f15eb5b53a02e90fac655bc88344107783cbe34e425a304b23186dba97d4a2"

Test(demo, upload_a_file_and_get_it_back) {
    static const char body[] = "--" BOUNDARY "\r\n"
                               "Content-Disposition: form-data; name=\"note\"\r\n\r\n"
                               "a note\r\n"
                               "--" BOUNDARY "\r\n"
                               "Content-Disposition: form-data; name=\"file\"; "
                               "filename=\"hello.txt\"\r\n"
                               "Content-Type: text/plain\r\n\r\n" CONTENT "\r\n"
                               "--" BOUNDARY "--\r\n";
    const char *headers[] = {"Content-Type: multipart/form-data; boundary=" BOUNDARY, NULL};
    chopin_test_response *r = request("POST", "/uploads", headers, body, sizeof body - 1);
    expect_status(r, 201);
    cr_assert_eq(chopin_test_json_count(r, "data"), 1, "%s", r->body);
    expect_str(r, "data[0].field", "file");
    expect_str(r, "data[0].original_name", "hello.txt");
    expect_int(r, "data[0].size", (int64_t)strlen(CONTENT));
    expect_str(r, "data[0].sha256", CONTENT_SHA256);
    const char *stored = chopin_test_json_str(r, "data[0].stored_name");
    cr_assert(stored && strlen(stored) > 4 && !strcmp(stored + strlen(stored) - 4, ".txt"),
              "stored_name %s", stored ? stored : "(none)");
    const char *url = chopin_test_json_str(r, "data[0].url");
    cr_assert_not_null(url, "%s", r->body);
    char want[256];
    snprintf(want, sizeof want, "/uploads/%s", stored);
    cr_assert_str_eq(url, want);

    chopin_test_response *g = request("GET", url, NULL, NULL, 0);
    expect_status(g, 200);
    cr_assert_eq(g->body_len, strlen(CONTENT), "%zu bytes: %s", g->body_len, g->body);
    cr_assert_eq(memcmp(g->body, CONTENT, strlen(CONTENT)), 0, "%s", g->body);
    cr_assert_not_null(chopin_test_header(g, "Content-Security-Policy"));
    expect_status(request("GET", "/uploads/no-such-file.txt", NULL, NULL, 0), 404);
}

/* --- Operations ----------------------------------------------------------------- */

Test(demo, health_and_liveness) {
    chopin_test_response *r = call("GET", "/health", NULL, NULL);
    expect_status(r, 200);
    expect_str(r, "data.status", "ok");
    expect_str(r, "data.checks.database", "ok");
    cr_assert_str_eq(chopin_test_header(r, "Cache-Control"), "no-store");
    r = call("GET", "/health/live", NULL, NULL);
    expect_status(r, 200);
    expect_str(r, "data.status", "ok");
}

/* Whether the body holds this whole line. */
static bool has_line(const chopin_test_response *r, const char *line) {
    size_t n = strlen(line);
    for (const char *p = r->body; (p = strstr(p, line)); p++)
        if ((p == r->body || p[-1] == '\n') && p[n] == '\n') return true;
    return false;
}

Test(demo, metrics_count_requests_by_route_and_status) {
    char *token = user("ada@example.com");
    int created = 0;
    for (; created < 3; created++) create(token, "{\"title\":\"counted\"}");
    expect_status(call("POST", "/todos", token, "{}"), 422);

    chopin_test_response *r = call("GET", "/metrics", NULL, NULL);
    expect_status(r, 200);
    const char *type = chopin_test_header(r, "Content-Type");
    cr_assert(type && !strncmp(type, "text/plain", 10), "Content-Type %s", type ? type : "");
    char line[128];
    snprintf(line, sizeof line,
             "chopin_http_requests_total{method=\"POST\",route=\"/todos\",status=\"201\"} %d",
             created);
    cr_assert(has_line(r, line), "no line \"%s\" in:\n%s", line, r->body);
    cr_assert(has_line(r, "chopin_http_requests_total{method=\"POST\",route=\"/todos\","
                          "status=\"422\"} 1"),
              "%s", r->body);
    cr_assert(has_line(r, "chopin_http_requests_total{method=\"POST\",route=\"/api/auth/signup\","
                          "status=\"201\"} 1"),
              "%s", r->body);
}

/* --- The OpenAPI document -------------------------------------------------------- */

Test(demo, openapi_document_lists_the_todo_routes) {
    chopin_test_response *r = call("GET", "/api-docs/openapi.json", NULL, NULL);
    expect_status(r, 200);
    const char *version = chopin_test_json_str(r, "openapi");
    cr_assert(version && !strncmp(version, "3.", 2), "openapi %s", version ? version : "");
    cr_assert_gt(chopin_test_json_count(r, "paths./todos"), 0, "no /todos in the document");
    cr_assert_not_null(chopin_test_json(r, "paths./todos.get"));
    cr_assert_not_null(chopin_test_json(r, "paths./todos/{id}.patch"));
    cr_assert_gt(chopin_test_json_count(r, "paths./todos.post.security"), 0,
                 "POST /todos has no security requirement");
    cr_assert_null(chopin_test_json(r, "paths./health"), "a hidden route is documented");
}

/* --- The helpers themselves ------------------------------------------------------ */

Test(demo, json_paths_reach_nested_arrays_and_miss_cleanly) {
    char *token = user("ada@example.com");
    create(token, "{\"title\":\"older\",\"priority\":2}");
    create(token, "{\"title\":\"newer\"}");
    chopin_test_response *r = call("GET", "/todos", token, NULL);
    expect_status(r, 200);
    expect_str(r, "data.items[1].title", "older");
    expect_str(r, "data.items[0].title", "newer");
    expect_int(r, "data.items[1].priority", 2);
    cr_assert_null(chopin_test_json(r, "data.items[2]"));
    cr_assert_null(chopin_test_json(r, "data.items[x]"));
    cr_assert_null(chopin_test_json(r, "data.nothing"));
    cr_assert_null(chopin_test_json(r, "data.total.more"));
    cr_assert_null(chopin_test_json_str(r, "data.total"), "a number read as a string");
    cr_assert_eq(chopin_test_json_int(r, "data.nothing", 42), 42);
    cr_assert_eq(chopin_test_json_int(r, "data.items[0].title", -7), -7);
    cr_assert_eq(chopin_test_json_bool(r, "data.nothing", true), true);
    cr_assert_eq(chopin_test_json_bool(r, "data.nothing", false), false);
    cr_assert_eq(chopin_test_json_count(r, "data.items"), 2); /* an array */
    cr_assert_eq(chopin_test_json_count(r, "data"), 4);       /* items, total, limit, offset */
    cr_assert_eq(chopin_test_json_count(r, "data.items[1]"), 7, "%s", r->body); /* all 8 but tag */
    cr_assert_eq(chopin_test_json_count(r, "data.items[0]"), 6, "%s",
                 r->body); /* no priority, no tag */
    cr_assert_null(chopin_test_json(r, "data.items[0].priority"), "%s", r->body);
    cr_assert_eq(chopin_test_json_count(r, "data.total"), -1);      /* a number */
    cr_assert_eq(chopin_test_json_count(r, "data.nothing"), -1);    /* missing */
    cr_assert_eq(chopin_test_json_bool(r, "success", false), true); /* the envelope */
}

Test(demo, json_helpers_on_a_body_that_is_not_json) {
    chopin_test_response *r = call("GET", "/upload-form", NULL, NULL);
    expect_status(r, 200);
    cr_assert_not_null(strstr(r->body, "<form"), "%s", r->body);
    cr_assert_str_eq(chopin_test_header(r, "content-type"), "text/html; charset=utf-8");
    cr_assert_null(chopin_test_json(r, ""));
    cr_assert_null(chopin_test_json(r, "data"));
    cr_assert_null(chopin_test_json_str(r, "data"));
    cr_assert_eq(chopin_test_json_int(r, "data", 5), 5);
    cr_assert_eq(chopin_test_json_count(r, ""), -1);
    cr_assert_null(chopin_test_header(r, "X-No-Such-Header"));
}

Test(demo, test_signup_and_user_refuse_what_the_app_refuses) {
    cr_assert_null(chopin_test_signup(app, "not an email", PASSWORD));
    cr_assert_null(chopin_test_signup(app, "ada@example.com", "short"));
    user("ada@example.com");
    cr_assert_null(chopin_test_signup(app, "ada@example.com", PASSWORD), "a duplicate signed up");
    cr_assert_null(chopin_test_user(app, "root@example.com", "emperor"), "an unknown role");
    expect_status(call("POST", "/api/auth/login", NULL,
                       "{\"email\":\"root@example.com\",\"password\":\"" PASSWORD "\"}"),
                  401);
}
