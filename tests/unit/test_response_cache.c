/* test_response_cache.c - the .cache_seconds route option through the real
 * router: hits and misses by path, query, vary headers and user; ETag and
 * 304; Cache-Control; what is never cached; invalidation by path prefix;
 * expiry. Runs on the in-memory store and on Redis (CHOPIN_TEST_REDIS_URL). */
#include <criterion/criterion.h>

#include <chopin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static chopin_app *app;
static int runs; /* how often a handler really ran */

static void items(chopin_ctx *c) {
    runs++;
    chopin_str q = chopin_query(c, "q");
    chopin_str lang = chopin_req_header(c, "Accept-Language");
    const chopin_jwt_claims *who = chopin_auth_claims(c);
    char body[256];
    snprintf(body, sizeof body, "{\"run\":%d,\"q\":\"%.*s\",\"lang\":\"%.*s\",\"user\":\"%s\"}",
             runs, (int)q.len, q.ptr ? q.ptr : "", (int)lang.len, lang.ptr ? lang.ptr : "",
             who ? who->sub : "");
    chopin_send(c, 200, "application/json", body, strlen(body));
}

static void missing(chopin_ctx *c) {
    runs++;
    chopin_error(c, 404, "NOT_FOUND", "never cached");
}

static void add_item(chopin_ctx *c) {
    runs++;
    chopin_cache_invalidate(c, "/items");
    chopin_send_status(c, 204);
}

static void setup(void) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    snprintf(cfg.database_url, sizeof cfg.database_url, "sqlite::memory:");
    snprintf(cfg.jwt_secret, sizeof cfg.jwt_secret, "test-secret-test-secret-test-secret!");
    const char *redis = getenv("CHOPIN_TEST_REDIS_URL");
    if (redis) snprintf(cfg.redis_url, sizeof cfg.redis_url, "%s", redis);
    app = chopin_app_new_with(&cfg);
    cr_assert_not_null(app);
    chopin_ctx *c = chopin_ctx_new(app);
    chopin_cache_invalidate(c, "/"); /* a clean slate on a shared Redis */
    chopin_ctx_free(c);
    runs = 0;
    chopin_get_with(app, "/items", items, .cache_seconds = 30, .cache_vary = "Accept-Language");
    chopin_get_with(app, "/items/:id", items, .cache_seconds = 30);
    chopin_post_with(app, "/items", add_item, .cache_seconds = 30);
    chopin_get_with(app, "/missing", missing, .cache_seconds = 30);
    chopin_get_with(app, "/mine", items, .cache_seconds = 30, .auth = "user",
                    .cache_per_user = true);
    chopin_get_with(app, "/short", items, .cache_seconds = 1);
}

static void teardown(void) {
    chopin_app_free(app);
}

TestSuite(response_cache, .init = setup, .fini = teardown);

typedef struct {
    int status;
    char body[512];
    char etag[64], control[64], state[16], vary[64];
} answer;

static answer get(const char *target, const char *h1, const char *h2) {
    const char *headers[] = {h1, h2, NULL};
    if (!h1) headers[0] = h2, headers[1] = NULL;
    chopin_test_response *r = chopin_test_request(app, "GET", target, headers, NULL, 0);
    cr_assert_not_null(r);
    answer a = {.status = r->status};
    snprintf(a.body, sizeof a.body, "%s", r->body);
    const char *v;
    if ((v = chopin_test_header(r, "ETag"))) snprintf(a.etag, sizeof a.etag, "%s", v);
    if ((v = chopin_test_header(r, "Cache-Control")))
        snprintf(a.control, sizeof a.control, "%s", v);
    if ((v = chopin_test_header(r, "X-Cache"))) snprintf(a.state, sizeof a.state, "%s", v);
    if ((v = chopin_test_header(r, "Vary"))) snprintf(a.vary, sizeof a.vary, "%s", v);
    chopin_test_response_free(r);
    return a;
}

Test(response_cache, the_second_get_is_served_from_the_cache) {
    answer first = get("/items/7", NULL, NULL);
    cr_assert_eq(first.status, 200);
    cr_assert_str_eq(first.state, "MISS");
    cr_assert_str_eq(first.control, "public, max-age=30");
    cr_assert_eq(strlen(first.etag), 34, "%s", first.etag);
    for (int i = 0; i < 3; i++) {
        answer again = get("/items/7", NULL, NULL);
        cr_assert_eq(again.status, 200);
        cr_assert_str_eq(again.state, "HIT");
        cr_assert_str_eq(again.body, first.body);
        cr_assert_str_eq(again.etag, first.etag);
        cr_assert_str_eq(again.control, "public, max-age=30");
    }
    cr_assert_eq(runs, 1);
    cr_assert_str_eq(get("/items/8", NULL, NULL).state, "MISS", "another path");
    cr_assert_eq(runs, 2);
}

Test(response_cache, the_query_and_vary_headers_tell_answers_apart) {
    cr_assert_str_eq(get("/items?q=a", NULL, NULL).state, "MISS");
    cr_assert_str_eq(get("/items?q=b", NULL, NULL).state, "MISS");
    cr_assert_str_eq(get("/items?q=a", NULL, NULL).state, "HIT");
    answer en = get("/items?q=a", "Accept-Language: en", NULL);
    cr_assert_str_eq(en.state, "MISS", "a header value is not its absence");
    cr_assert(strstr(en.body, "\"lang\":\"en\""));
    cr_assert_str_eq(en.vary, "Accept-Language");
    answer fr = get("/items?q=a", "Accept-Language: fr", NULL);
    cr_assert_str_eq(fr.state, "MISS");
    cr_assert(strstr(fr.body, "\"lang\":\"fr\""));
    answer en2 = get("/items?q=a", "Accept-Language: en", NULL);
    cr_assert_str_eq(en2.state, "HIT");
    cr_assert_str_eq(en2.body, en.body);
    cr_assert_eq(runs, 4);
}

Test(response_cache, if_none_match_gets_304) {
    answer first = get("/items/1", NULL, NULL);
    char match[128];
    const char *forms[] = {"If-None-Match: %s", "If-None-Match: \"x\", %s", "If-None-Match: W/%s",
                           "If-None-Match: *"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        snprintf(match, sizeof match, forms[i], first.etag);
        answer a = get("/items/1", match, NULL);
        cr_assert_eq(a.status, 304, "%s", match);
        cr_assert_str_eq(a.body, "");
        cr_assert_str_eq(a.etag, first.etag);
    }
    answer other = get("/items/1", "If-None-Match: \"0123\"", NULL);
    cr_assert_eq(other.status, 200);
    cr_assert_str_eq(other.body, first.body);
    cr_assert_eq(runs, 1);
}

Test(response_cache, errors_and_other_methods_are_not_cached) {
    for (int i = 0; i < 3; i++) {
        answer a = get("/missing", NULL, NULL);
        cr_assert_eq(a.status, 404);
        cr_assert_str_eq(a.state, "", "no cache headers on an error");
    }
    cr_assert_eq(runs, 3);
    chopin_test_response *r = chopin_test_request(app, "POST", "/items", NULL, NULL, 0);
    cr_assert_eq(r->status, 204);
    chopin_test_response_free(r);
    r = chopin_test_request(app, "POST", "/items", NULL, NULL, 0);
    cr_assert_eq(r->status, 204);
    chopin_test_response_free(r);
    cr_assert_eq(runs, 5, "every POST ran");
}

Test(response_cache, invalidating_a_path_prefix_drops_its_answers) {
    get("/items/1", NULL, NULL);
    get("/items/2", NULL, NULL);
    get("/items?q=z", NULL, NULL);
    get("/missing", NULL, NULL);
    cr_assert_str_eq(get("/items/1", NULL, NULL).state, "HIT");
    chopin_test_response *r = chopin_test_request(app, "POST", "/items", NULL, NULL, 0);
    chopin_test_response_free(r); /* add_item invalidates "/items" */
    cr_assert_str_eq(get("/items/1", NULL, NULL).state, "MISS");
    cr_assert_str_eq(get("/items/2", NULL, NULL).state, "MISS");
    cr_assert_str_eq(get("/items?q=z", NULL, NULL).state, "MISS");
}

static const char *bearer(const char *sub, char *out, size_t cap) {
    chopin_jwt_claims claims = {0};
    snprintf(claims.sub, sizeof claims.sub, "%s", sub);
    snprintf(claims.role, sizeof claims.role, "user");
    snprintf(claims.typ, sizeof claims.typ, "access");
    claims.exp = (int64_t)time(NULL) + 600;
    char token[CHOPIN_JWT_MAX_LEN + 1];
    cr_assert_gt(chopin_jwt_sign(chopin_app_jwt_key(app), &claims, token, sizeof token), 0);
    snprintf(out, cap, "Authorization: Bearer %s", token);
    return out;
}

/* A per-user answer is never given to another user, and the guard still
 * runs before the cache: no token, no answer. */
Test(response_cache, per_user_answers_stay_with_their_user) {
    char ada[CHOPIN_JWT_MAX_LEN + 32], bob[CHOPIN_JWT_MAX_LEN + 32];
    bearer("1", ada, sizeof ada);
    bearer("2", bob, sizeof bob);
    answer a1 = get("/mine", ada, NULL);
    cr_assert_eq(a1.status, 200);
    cr_assert(strstr(a1.body, "\"user\":\"1\""));
    cr_assert_str_eq(a1.control, "private, max-age=30");
    answer b1 = get("/mine", bob, NULL);
    cr_assert_str_eq(b1.state, "MISS");
    cr_assert(strstr(b1.body, "\"user\":\"2\""));
    answer a2 = get("/mine", ada, NULL);
    cr_assert_str_eq(a2.state, "HIT");
    cr_assert(strstr(a2.body, "\"user\":\"1\""));
    cr_assert_eq(get("/mine", NULL, NULL).status, 401);
    cr_assert_eq(runs, 2);
}

Test(response_cache, answers_expire, .timeout = 10) {
    cr_assert_str_eq(get("/short", NULL, NULL).state, "MISS");
    cr_assert_str_eq(get("/short", NULL, NULL).state, "HIT");
    struct timespec ts = {1, 200 * 1000000L};
    nanosleep(&ts, NULL);
    cr_assert_str_eq(get("/short", NULL, NULL).state, "MISS");
}

static void with_cookie(chopin_ctx *c) {
    runs++;
    chopin_set_header(c, "Set-Cookie", "session=abc; HttpOnly");
    chopin_text(c, 200, "personal");
}

static void no_store(chopin_ctx *c) {
    runs++;
    chopin_set_header(c, "Cache-Control", "no-store");
    chopin_text(c, 200, "fresh every time");
}

static void own_control(chopin_ctx *c) {
    runs++;
    chopin_set_header(c, "Cache-Control", "public, max-age=5, stale-while-revalidate=30");
    chopin_text(c, 200, "mine");
}

static int count_header(const chopin_test_response *r, const char *name) {
    int n = 0;
    for (size_t i = 0; i < r->header_count; i++) n += !strcasecmp(r->header_names[i], name);
    return n;
}

/* A cookie never goes to another client; a handler's no-store is obeyed and
 * its own Cache-Control is the only one sent. */
Test(response_cache, what_the_handler_says_about_caching_wins) {
    chopin_app_free(app);
    setup();
    chopin_get_with(app, "/cookie", with_cookie, .cache_seconds = 30);
    chopin_get_with(app, "/no-store", no_store, .cache_seconds = 30);
    chopin_get_with(app, "/own", own_control, .cache_seconds = 30);
    for (int i = 0; i < 2; i++) {
        answer a = get("/cookie", NULL, NULL);
        cr_assert_eq(a.status, 200);
        cr_assert_str_eq(a.state, "", "a Set-Cookie answer was cached");
        answer b = get("/no-store", NULL, NULL);
        cr_assert_str_eq(b.state, "");
        cr_assert_str_eq(b.control, "no-store");
    }
    cr_assert_eq(runs, 4);
    for (int i = 0; i < 2; i++) {
        chopin_test_response *r = chopin_test_request(app, "GET", "/own", NULL, NULL, 0);
        cr_assert_eq(count_header(r, "Cache-Control"), 1);
        cr_assert_str_eq(chopin_test_header(r, "Cache-Control"),
                         "public, max-age=5, stale-while-revalidate=30");
        cr_assert_str_eq(chopin_test_header(r, "X-Cache"), i ? "HIT" : "MISS");
        chopin_test_response_free(r);
    }
}

/* A hit says how old it is, so that downstream caches count max-age from
 * when the answer was made. */
Test(response_cache, a_hit_carries_its_age, .timeout = 10) {
    answer first = get("/items/5", NULL, NULL);
    cr_assert_str_eq(first.state, "MISS");
    struct timespec ts = {1, 100 * 1000000L};
    nanosleep(&ts, NULL);
    chopin_test_response *r = chopin_test_request(app, "GET", "/items/5", NULL, NULL, 0);
    cr_assert_str_eq(chopin_test_header(r, "X-Cache"), "HIT");
    const char *age = chopin_test_header(r, "Age");
    cr_assert(age && atoi(age) >= 1 && atoi(age) <= 3, "Age %s", age ? age : "-");
    chopin_test_response_free(r);
}

/* Auth put on the whole app (chopin_use) makes cached answers private too. */
Test(response_cache, app_level_auth_makes_answers_private) {
    chopin_app_free(app);
    setup();
    chopin_use(app, chopin_auth_required());
    char ada[CHOPIN_JWT_MAX_LEN + 32];
    bearer("1", ada, sizeof ada);
    answer a = get("/items/3", ada, NULL);
    cr_assert_eq(a.status, 200);
    cr_assert_str_eq(a.control, "private, max-age=30");
}
