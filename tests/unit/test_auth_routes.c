/* test_auth_routes.c - signup, login and me through the real router, on
 * SQLite in memory or the PostgreSQL of CHOPIN_TEST_DATABASE_URL (the same
 * code runs on both). */
#include <criterion/criterion.h>

#include <chopin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static chopin_app *app;

static void setup(void) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    cfg.port = 0; /* a port of its own: the SQLite and PostgreSQL runs go at once */
    const char *url = getenv("CHOPIN_TEST_DATABASE_URL");
    snprintf(cfg.database_url, sizeof cfg.database_url, "%s",
             url && *url ? url : "sqlite::memory:");
    snprintf(cfg.jwt_secret, sizeof cfg.jwt_secret, "route-test-secret-route-test-secret!!");
    app = chopin_app_new_with(&cfg);
    cr_assert_not_null(app);
    chopin_ctx *c = chopin_ctx_new(app);
    cr_assert_eq(chopin_db_exec_script(c, "DROP TABLE IF EXISTS refresh_tokens; "
                                          "DROP TABLE IF EXISTS users"),
                 0);
    chopin_ctx_free(c);
    cr_assert_eq(chopin_auth_mount(app, NULL), 0);
}

static void teardown(void) {
    chopin_app_free(app);
}

TestSuite(auth_routes, .init = setup, .fini = teardown);

static chopin_test_response *post(const char *path, const char *body) {
    const char *headers[] = {"Content-Type: application/json", NULL};
    chopin_test_response *r = chopin_test_request(app, "POST", path, headers, body, strlen(body));
    cr_assert_not_null(r);
    return r;
}

/* The value of "key":"..." in a JSON text (test helper; values without escapes). */
static char *field(const char *json, const char *key) {
    static char out[4][CHOPIN_JWT_MAX_LEN + 1];
    static int turn;
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(json, pat);
    cr_assert_not_null(p, "%s not in %s", key, json);
    p += strlen(pat);
    char *o = out[turn++ % 4];
    size_t n = strcspn(p, "\"");
    memcpy(o, p, n);
    o[n] = 0;
    return o;
}

static chopin_test_response *me(const char *token) {
    char h[CHOPIN_JWT_MAX_LEN + 32];
    snprintf(h, sizeof h, "Authorization: Bearer %s", token);
    const char *headers[] = {h, NULL};
    chopin_test_response *r = chopin_test_request(app, "GET", "/api/auth/me", headers, NULL, 0);
    cr_assert_not_null(r);
    return r;
}

Test(auth_routes, signup_then_login_then_me) {
    chopin_test_response *r =
        post("/api/auth/signup", "{\"email\":\"Ada@Example.COM\",\"username\":\"ada.l\","
                                 "\"password\":\"correct horse\"}");
    cr_assert_eq(r->status, 201, "%s", r->body);
    cr_assert(strstr(r->body, "{\"success\":true,\"data\":{\"access_token\":\""), "%s", r->body);
    cr_assert(strstr(r->body, "\"token_type\":\"Bearer\",\"expires_in\":86400,\"user\":{\"id\":1,"
                              "\"email\":\"ada@example.com\",\"username\":\"ada.l\",\"role\":"
                              "\"user\",\"is_active\":true,\"created_at\":\""),
              "%s", r->body);
    cr_assert_null(strstr(r->body, "password"), "no hash ever leaves: %s", r->body);
    char access[CHOPIN_JWT_MAX_LEN + 1];
    snprintf(access, sizeof access, "%s", field(r->body, "access_token"));
    char *refresh = field(r->body, "refresh_token");
    cr_assert_str_neq(access, refresh);
    chopin_test_response_free(r);

    r = me(access);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert(strstr(r->body, "\"username\":\"ada.l\""), "%s", r->body);
    cr_assert_null(strstr(r->body, "password"));
    chopin_test_response_free(r);

    /* login by email (any case) and by username */
    r = post("/api/auth/login", "{\"email\":\"ADA@example.com\",\"password\":\"correct horse\"}");
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert(strstr(r->body, "\"user\":{\"id\":1,"), "%s", r->body);
    chopin_test_response_free(r);
    r = post("/api/auth/login", "{\"username\":\"ada.l\",\"password\":\"correct horse\"}");
    cr_assert_eq(r->status, 200, "%s", r->body);
    char *token2 = field(r->body, "access_token");
    chopin_test_response_free(r);
    r = me(token2);
    cr_assert_eq(r->status, 200);
    chopin_test_response_free(r);
}

Test(auth_routes, refused_logins_look_alike) {
    chopin_test_response *r =
        post("/api/auth/signup", "{\"email\":\"bob@example.com\",\"username\":\"bob\","
                                 "\"password\":\"hunter2hunter2\"}");
    cr_assert_eq(r->status, 201, "%s", r->body);
    chopin_test_response_free(r);
    const char *bad[] = {
        "{\"email\":\"bob@example.com\",\"password\":\"wrong password\"}",
        "{\"email\":\"nobody@example.com\",\"password\":\"hunter2hunter2\"}",
        "{\"username\":\"nobody\",\"password\":\"hunter2hunter2\"}",
    };
    char first[512] = "";
    for (size_t i = 0; i < 3; i++) {
        r = post("/api/auth/login", bad[i]);
        cr_assert_eq(r->status, 401, "%s: %s", bad[i], r->body);
        if (!i) snprintf(first, sizeof first, "%s", r->body);
        cr_assert_str_eq(r->body, first, "one answer for unknown users and wrong passwords");
        chopin_test_response_free(r);
    }
    cr_assert(strstr(first, "\"code\":\"INVALID_CREDENTIALS\""), "%s", first);
    /* a deactivated account */
    chopin_ctx *c = chopin_ctx_new(app);
    cr_assert_not_null(chopin_sql(c, "UPDATE users SET is_active = $1 WHERE username = 'bob'",
                                  chopin_arg_bool(false)));
    chopin_ctx_free(c);
    r = post("/api/auth/login", "{\"username\":\"bob\",\"password\":\"hunter2hunter2\"}");
    cr_assert_eq(r->status, 401, "%s", r->body);
    cr_assert(strstr(r->body, "ACCOUNT_DISABLED"), "%s", r->body);
    chopin_test_response_free(r);
    /* neither or both of email and username */
    r = post("/api/auth/login", "{\"password\":\"hunter2hunter2\"}");
    cr_assert_eq(r->status, 422, "%s", r->body);
    chopin_test_response_free(r);
}

Test(auth_routes, signup_validation_and_conflicts) {
    chopin_test_response *r =
        post("/api/auth/signup",
             "{\"email\":\"not-an-email\",\"username\":\"x\",\"password\":\"short\"}");
    cr_assert_eq(r->status, 422, "%s", r->body);
    cr_assert(strstr(r->body, "{\"field\":\"email\",\"code\":\"format\""), "%s", r->body);
    cr_assert(strstr(r->body, "{\"field\":\"username\",\"code\":\"min_length\""), "%s", r->body);
    cr_assert(strstr(r->body, "{\"field\":\"password\",\"code\":\"min_length\""), "%s", r->body);
    chopin_test_response_free(r);
    r = post("/api/auth/signup", "{\"email\":\"a@b.co\",\"username\":\"no spaces\",\"password\":"
                                 "\"long enough\"}");
    cr_assert_eq(r->status, 422, "%s", r->body);
    cr_assert(strstr(r->body, "{\"field\":\"username\",\"code\":\"format\""), "%s", r->body);
    chopin_test_response_free(r);
    /* every invalid field at once, the username's charset included */
    r = post("/api/auth/signup", "{\"email\":\"nope\",\"username\":\"bad name\",\"password\":"
                                 "\"long enough\"}");
    cr_assert_eq(r->status, 422, "%s", r->body);
    cr_assert(strstr(r->body, "{\"field\":\"email\",\"code\":\"format\""), "%s", r->body);
    cr_assert(strstr(r->body, "{\"field\":\"username\",\"code\":\"format\""), "%s", r->body);
    chopin_test_response_free(r);
    char big[300];
    snprintf(big, sizeof big, "{\"email\":\"a@b.co\",\"username\":\"abc\",\"password\":\"%0129d\"}",
             0);
    r = post("/api/auth/signup", big);
    cr_assert_eq(r->status, 422, "a 129-character password: %s", r->body);
    chopin_test_response_free(r);
    r = post("/api/auth/signup",
             "{\"email\":\"A@B.co\",\"username\":\"abc\",\"password\":\"long enough\"}");
    cr_assert_eq(r->status, 201, "%s", r->body);
    chopin_test_response_free(r);
    r = post("/api/auth/signup",
             "{\"email\":\"a@b.CO\",\"username\":\"other\",\"password\":\"long enough\"}");
    cr_assert_eq(r->status, 409, "the same email in another case: %s", r->body);
    cr_assert(strstr(r->body, "this email already exists"), "%s", r->body);
    chopin_test_response_free(r);
    r = post("/api/auth/signup",
             "{\"email\":\"c@d.co\",\"username\":\"abc\",\"password\":\"long enough\"}");
    cr_assert_eq(r->status, 409, "%s", r->body);
    cr_assert(strstr(r->body, "this username already exists"), "%s", r->body);
    chopin_test_response_free(r);
    r = post("/api/auth/signup", "{\"email\":");
    cr_assert_eq(r->status, 400, "%s", r->body);
    chopin_test_response_free(r);
}

Test(auth_routes, me_needs_a_valid_token) {
    chopin_test_response *r = chopin_test_request(app, "GET", "/api/auth/me", NULL, NULL, 0);
    cr_assert_eq(r->status, 401, "%s", r->body);
    chopin_test_response_free(r);
    r = me("garbage");
    cr_assert_eq(r->status, 401, "%s", r->body);
    chopin_test_response_free(r);
}

/* --- Refresh rotation and logout ------------------------------------------------------- */

static chopin_test_response *post_token(const char *path, const char *refresh) {
    char body[CHOPIN_JWT_MAX_LEN + 64];
    snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", refresh);
    return post(path, body);
}

static chopin_test_response *logout(const char *access) {
    char h[CHOPIN_JWT_MAX_LEN + 32];
    snprintf(h, sizeof h, "Authorization: Bearer %s", access);
    const char *headers[] = {h, NULL};
    chopin_test_response *r =
        chopin_test_request(app, "POST", "/api/auth/logout", headers, NULL, 0);
    cr_assert_not_null(r);
    return r;
}

Test(auth_routes, refresh_rotates_and_a_reused_token_ends_the_family) {
    chopin_test_response *r = post("/api/auth/signup", "{\"email\":\"eve@example.com\","
                                                       "\"username\":\"eve\",\"password\":"
                                                       "\"longpassword\"}");
    cr_assert_eq(r->status, 201, "%s", r->body);
    char access1[CHOPIN_JWT_MAX_LEN + 1], refresh1[CHOPIN_JWT_MAX_LEN + 1];
    snprintf(access1, sizeof access1, "%s", field(r->body, "access_token"));
    snprintf(refresh1, sizeof refresh1, "%s", field(r->body, "refresh_token"));
    chopin_test_response_free(r);

    /* an access token is not a refresh token */
    r = post_token("/api/auth/refresh", access1);
    cr_assert_eq(r->status, 401, "%s", r->body);
    chopin_test_response_free(r);

    r = post_token("/api/auth/refresh", refresh1);
    cr_assert_eq(r->status, 200, "%s", r->body);
    char access2[CHOPIN_JWT_MAX_LEN + 1], refresh2[CHOPIN_JWT_MAX_LEN + 1];
    snprintf(access2, sizeof access2, "%s", field(r->body, "access_token"));
    snprintf(refresh2, sizeof refresh2, "%s", field(r->body, "refresh_token"));
    cr_assert_str_neq(refresh1, refresh2);
    chopin_test_response_free(r);
    r = me(access2);
    cr_assert_eq(r->status, 200, "%s", r->body);
    chopin_test_response_free(r);

    /* the first refresh token again: reuse; the whole family ends */
    r = post_token("/api/auth/refresh", refresh1);
    cr_assert_eq(r->status, 401, "%s", r->body);
    cr_assert(strstr(r->body, "TOKEN_REUSED"), "%s", r->body);
    chopin_test_response_free(r);
    r = post_token("/api/auth/refresh", refresh2);
    cr_assert_eq(r->status, 401, "the newer token of the family too: %s", r->body);
    chopin_test_response_free(r);
    r = me(access2);
    cr_assert_eq(r->status, 401, "and its access tokens: %s", r->body);
    cr_assert(strstr(r->body, "TOKEN_REVOKED"), "%s", r->body);
    chopin_test_response_free(r);

    /* a new login starts a new family */
    r = post("/api/auth/login", "{\"username\":\"eve\",\"password\":\"longpassword\"}");
    cr_assert_eq(r->status, 200, "%s", r->body);
    char access3[CHOPIN_JWT_MAX_LEN + 1], refresh3[CHOPIN_JWT_MAX_LEN + 1];
    snprintf(access3, sizeof access3, "%s", field(r->body, "access_token"));
    snprintf(refresh3, sizeof refresh3, "%s", field(r->body, "refresh_token"));
    chopin_test_response_free(r);
    r = me(access3);
    cr_assert_eq(r->status, 200, "%s", r->body);
    chopin_test_response_free(r);

    /* logout: the access token and the refresh family end */
    r = logout(access3);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_str_eq(r->body, "{\"success\":true,\"data\":{\"logged_out\":true}}");
    chopin_test_response_free(r);
    r = me(access3);
    cr_assert_eq(r->status, 401, "%s", r->body);
    chopin_test_response_free(r);
    r = post_token("/api/auth/refresh", refresh3);
    cr_assert_eq(r->status, 401, "%s", r->body);
    chopin_test_response_free(r);
    r = post("/api/auth/refresh", "{\"refresh_token\":\"garbage\"}");
    cr_assert_eq(r->status, 401, "%s", r->body);
    chopin_test_response_free(r);
}

/* --- Login limits ------------------------------------------------------------------------------
 */

/* The limits count per clock minute: a test that straddles a minute
 * boundary would see its count restart. Begin early in a minute. */
static void early_in_a_minute(void) {
    time_t now = time(NULL);
    if (now % 60 >= 40) sleep((unsigned)(60 - now % 60));
}

Test(auth_routes, login_attempts_are_limited_per_account) {
    chopin_test_response *r = post("/api/auth/signup", "{\"email\":\"lim@example.com\","
                                                       "\"username\":\"lim\",\"password\":"
                                                       "\"longpassword\"}");
    cr_assert_eq(r->status, 201, "%s", r->body);
    chopin_test_response_free(r);
    early_in_a_minute();
    /* 10 a minute by default, wrong passwords and right ones alike, by email
     * or by username: one account, one count */
    for (int i = 0; i < 10; i++) {
        r = post("/api/auth/login",
                 i % 2 ? "{\"email\":\"LIM@example.com\",\"password\":\"wrong!!!\"}"
                       : "{\"username\":\"lim\",\"password\":\"wrong!!!\"}");
        cr_assert_eq(r->status, 401, "attempt %d: %s", i + 1, r->body);
        chopin_test_response_free(r);
    }
    r = post("/api/auth/login", "{\"username\":\"x\",\"email\":\"lim@example.com\",\"password\":"
                                "\"longpassword\"}");
    cr_assert_eq(r->status, 422, "both given: %s", r->body); /* not counted: refused before */
    chopin_test_response_free(r);
    r = post("/api/auth/login", "{\"email\":\"lim@example.com\",\"password\":\"longpassword\"}");
    cr_assert_eq(r->status, 429, "the 11th, even right: %s", r->body);
    cr_assert(strstr(r->body, "\"code\":\"TOO_MANY_REQUESTS\""), "%s", r->body);
    const char *retry = chopin_test_header(r, "Retry-After");
    cr_assert(retry && atoi(retry) >= 1 && atoi(retry) <= 60, "Retry-After: %s",
              retry ? retry : "(none)");
    chopin_test_response_free(r);
    /* another account is not affected */
    r = post("/api/auth/login", "{\"email\":\"other@example.com\",\"password\":\"longpassword\"}");
    cr_assert_eq(r->status, 401, "%s", r->body);
    chopin_test_response_free(r);
}

/* Over real TCP: the client's address, and the per-address limit (30 a minute). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static void show_addr(chopin_ctx *c) {
    chopin_str a = chopin_client_addr(c);
    chopin_send(c, 200, "text/plain", a.ptr ? a.ptr : "", a.len);
}

/* One request on a fresh connection; returns the status, the body in out. */
static int http(int port, const char *method, const char *path, const char *body, char *out,
                size_t out_len) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int status = 0;
    out[0] = 0;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        char req[512];
        int n = snprintf(req, sizeof req,
                         "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: "
                         "application/json\r\nContent-Length: %zu\r\n\r\n%s",
                         method, path, strlen(body), body);
        if (write(fd, req, (size_t)n) == n) {
            char buf[4096];
            size_t got = 0;
            ssize_t k;
            while (got < sizeof buf - 1 && (k = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
                got += (size_t)k;
            buf[got] = 0;
            if (got > 12) status = atoi(buf + 9);
            const char *b = strstr(buf, "\r\n\r\n");
            if (b) snprintf(out, out_len, "%s", b + 4);
        }
    }
    close(fd);
    return status;
}

Test(auth_routes, client_address_and_the_per_address_limit) {
    chopin_get(app, "/ip", show_addr);
    cr_assert_eq(chopin_app_start(app), 0);
    int port = chopin_app_port(app);
    char body[2048];
    cr_assert_eq(http(port, "GET", "/ip", "", body, sizeof body), 200);
    cr_assert_str_eq(body, "127.0.0.1");
    early_in_a_minute();
    int last = 0;
    for (int i = 0; i < 30; i++) {
        char attempt[96]; /* another account each time: only the address repeats */
        snprintf(attempt, sizeof attempt, "{\"username\":\"nobody%d\",\"password\":\"whatever1\"}",
                 i);
        last = http(port, "POST", "/api/auth/login", attempt, body, sizeof body);
        cr_assert_eq(last, 401, "attempt %d: %d %s", i + 1, last, body);
    }
    last =
        http(port, "POST", "/api/auth/signup",
             "{\"email\":\"n@example.com\",\"username\":\"newbie\",\"password\":\"longpassword\"}",
             body, sizeof body);
    cr_assert_eq(last, 429, "signup from the same address, 31st attempt: %d %s", last, body);
    chopin_app_stop(app);
    chopin_app_wait(app);
    /* The test client has no address: no per-address limit there. */
    chopin_test_response *r = chopin_test_request(app, "GET", "/ip", NULL, NULL, 0);
    cr_assert_eq(r->body_len, 0);
    chopin_test_response_free(r);
}

/* --- Options and rehash -------------------------------------------------------------------------
 */

Test(auth_routes, routes_can_be_turned_off_and_moved) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    snprintf(cfg.jwt_secret, sizeof cfg.jwt_secret, "route-test-secret-route-test-secret!!");
    snprintf(cfg.database_url, sizeof cfg.database_url, "sqlite::memory:");
    chopin_app *other = chopin_app_new_with(&cfg);
    chopin_auth_options o = {.prefix = "/accounts", .no_signup = true};
    cr_assert_eq(chopin_auth_mount_with(other, &o), 0);
    const char *h[] = {"Content-Type: application/json", NULL};
    const char *body = "{\"email\":\"a@b.co\",\"username\":\"abc\",\"password\":\"long enough\"}";
    chopin_test_response *r =
        chopin_test_request(other, "POST", "/accounts/signup", h, body, strlen(body));
    cr_assert_eq(r->status, 404, "signup is off: %s", r->body);
    chopin_test_response_free(r);
    r = chopin_test_request(other, "POST", "/accounts/login", h, body, strlen(body));
    cr_assert_eq(r->status, 422, "login is there (and wants one of email or username): %s",
                 r->body);
    chopin_test_response_free(r);
    chopin_app_free(other);
}

Test(auth_routes, login_rehashes_when_the_parameters_changed) {
    chopin_password_params old = chopin_password_get_params();
    chopin_password_set_params((chopin_password_params){8192, 1, 1});
    chopin_test_response *r = post("/api/auth/signup", "{\"email\":\"re@example.com\","
                                                       "\"username\":\"rehash\",\"password\":"
                                                       "\"longpassword\"}");
    cr_assert_eq(r->status, 201, "%s", r->body);
    chopin_test_response_free(r);
    chopin_password_set_params(old);
    r = post("/api/auth/login", "{\"username\":\"rehash\",\"password\":\"longpassword\"}");
    cr_assert_eq(r->status, 200, "the old hash still verifies: %s", r->body);
    chopin_test_response_free(r);
    chopin_ctx *c = chopin_ctx_new(app);
    chopin_rows *rows = chopin_sql(c, "SELECT password_hash FROM users WHERE username = 'rehash'");
    cr_assert_not_null(rows);
    const char *hash = chopin_rows_text(rows, 0, 0);
    cr_assert(!strncmp(hash, "$argon2id$v=19$m=19456,t=2,p=1$", 31), "rehashed: %s", hash);
    chopin_ctx_free(c);
}

/* A verify-only key cannot sign: signup answers 500 and leaves no account. */
Test(auth_routes, a_failed_signup_leaves_no_account) {
    char dir[] = "/tmp/chopin-vk-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char cmd[256], pub[64];
    snprintf(cmd, sizeof cmd,
             "cd %s && openssl genpkey -algorithm ed25519 -out k.pem && openssl pkey -in k.pem "
             "-pubout -out k.pub",
             dir);
    cr_assert_eq(system(cmd), 0);
    snprintf(pub, sizeof pub, "%s/k.pub", dir);
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    cfg.jwt_algorithm = CHOPIN_JWT_ALG_EDDSA;
    snprintf(cfg.jwt_public_key_file, sizeof cfg.jwt_public_key_file, "%s", pub);
    snprintf(cfg.database_url, sizeof cfg.database_url, "sqlite::memory:");
    chopin_app *verifier = chopin_app_new_with(&cfg);
    cr_assert_not_null(verifier);
    cr_assert_eq(chopin_auth_mount(verifier, NULL), 0);
    const char *h[] = {"Content-Type: application/json", NULL};
    const char *body = "{\"email\":\"v@b.co\",\"username\":\"vee\",\"password\":\"long enough\"}";
    chopin_test_response *r =
        chopin_test_request(verifier, "POST", "/api/auth/signup", h, body, strlen(body));
    cr_assert_eq(r->status, 500, "%s", r->body);
    chopin_test_response_free(r);
    chopin_ctx *c = chopin_ctx_new(verifier);
    chopin_rows *rows = chopin_sql(c, "SELECT count(*) FROM users");
    cr_assert_eq(chopin_rows_int(rows, 0, 0), 0, "rolled back with the tokens");
    chopin_ctx_free(c);
    chopin_app_free(verifier);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}
