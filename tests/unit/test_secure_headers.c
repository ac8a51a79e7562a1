/* test_secure_headers.c - SECURITY_HEADERS: every answer (a handler's, a
 * 404, the engine's own 400) carries nosniff, frame and referrer headers
 * once; a handler's own value wins; off means none. */
#include <criterion/criterion.h>

#include <chopin.h>

#include <stdlib.h>
#include <string.h>

static chopin_app *app;

static void teardown(void) {
    chopin_app_free(app);
    app = NULL;
}

static void plain(chopin_ctx *c) {
    chopin_text(c, 200, "hi");
}

static void framable(chopin_ctx *c) {
    chopin_set_header(c, "x-frame-options", "SAMEORIGIN");
    chopin_text(c, 200, "frame me");
}

static size_t count(const char *raw, const char *needle) {
    size_t n = 0;
    for (const char *p = raw; (p = strcasestr(p, needle)); p++) n++;
    return n;
}

static void expect_all_once(const char *raw) {
    cr_assert_eq(count(raw, "\r\nX-Content-Type-Options: nosniff\r\n"), 1, "%s", raw);
    cr_assert_eq(count(raw, "\r\nX-Frame-Options: DENY\r\n"), 1, "%s", raw);
    cr_assert_eq(count(raw, "\r\nReferrer-Policy: no-referrer\r\n"), 1, "%s", raw);
}

Test(secure_headers, on_every_answer_by_default, .fini = teardown) {
    app = chopin_test_app();
    chopin_get(app, "/plain", plain);
    const char *paths[] = {"/plain", "/nowhere", "/health/live"};
    for (size_t i = 0; i < 3; i++) {
        chopin_test_response *r = chopin_test_call(app, "GET", paths[i], NULL, NULL);
        expect_all_once(r->raw);
        chopin_test_response_free(r);
    }
    static const char bad[] = "GET /plain HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n";
    size_t len;
    char *raw = chopin_test_raw(app, bad, sizeof bad - 1, &len);
    cr_assert(!strncmp(raw, "HTTP/1.1 400 ", 13), "%s", raw);
    expect_all_once(raw); /* the engine's own error too */
    free(raw);
}

Test(secure_headers, the_handlers_own_value_wins, .fini = teardown) {
    app = chopin_test_app();
    chopin_get(app, "/framable", framable);
    chopin_test_response *r = chopin_test_call(app, "GET", "/framable", NULL, NULL);
    cr_assert_eq(count(r->raw, "X-Frame-Options:"), 1, "%s", r->raw);
    cr_assert_str_eq(chopin_test_header(r, "X-Frame-Options"), "SAMEORIGIN");
    cr_assert_eq(count(r->raw, "\r\nX-Content-Type-Options: nosniff\r\n"), 1, "%s", r->raw);
    cr_assert_eq(count(r->raw, "\r\nReferrer-Policy: no-referrer\r\n"), 1, "%s", r->raw);
    chopin_test_response_free(r);
}

Test(secure_headers, off_sends_none, .fini = teardown) {
    chopin_config cfg;
    chopin_test_config(&cfg);
    cfg.security_headers = false;
    app = chopin_test_app_with(&cfg);
    chopin_get(app, "/plain", plain);
    chopin_test_response *r = chopin_test_call(app, "GET", "/plain", NULL, NULL);
    cr_assert_eq(r->status, 200);
    cr_assert_null(chopin_test_header(r, "X-Frame-Options"));
    cr_assert_null(chopin_test_header(r, "X-Content-Type-Options"));
    cr_assert_null(chopin_test_header(r, "Referrer-Policy"));
    chopin_test_response_free(r);
}
