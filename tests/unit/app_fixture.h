/* app_fixture.h - what the test_app_*.c suites share: the app under test
 * (one per test, freed by teardown), built with chopin_app_new_with() and the
 * access log off unless a test asks for it; requests through the in-process
 * test client (chopin/testing.h); checks of headers, bodies and Allow; stderr
 * captured; and the "hello world" handler. Each suite is an executable of its
 * own, so the static state here is its own too. */
#ifndef CHOPIN_TESTS_APP_FIXTURE_H
#define CHOPIN_TESTS_APP_FIXTURE_H

#include <criterion/criterion.h>

#include "chopin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static chopin_app *app;

static inline void teardown(void) {
    chopin_app_free(app);
    app = NULL;
}

static inline chopin_config quiet_config(void) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    return cfg;
}

static inline chopin_app *new_app_with(const chopin_config *cfg) {
    app = chopin_app_new_with(cfg);
    cr_assert_not_null(app);
    return app;
}

static inline chopin_app *new_app(void) {
    chopin_config cfg = quiet_config();
    return new_app_with(&cfg);
}

static inline chopin_test_response *request(const char *method, const char *target,
                                            const char *const *headers, const void *body,
                                            size_t body_len) {
    chopin_test_response *r = chopin_test_request(app, method, target, headers, body, body_len);
    cr_assert_not_null(r, "%s %s: malformed response", method, target);
    return r;
}

static inline chopin_test_response *get(const char *target) {
    return request("GET", target, NULL, NULL, 0);
}

static inline chopin_test_response *get_h(const char *target, const char *const *headers) {
    return request("GET", target, headers, NULL, 0);
}

static inline char *raw(const char *bytes, size_t *out_len) {
    size_t len = 0;
    char *out = chopin_test_raw(app, bytes, strlen(bytes), &len);
    cr_assert_not_null(out);
    if (out_len) *out_len = len;
    return out;
}

static inline size_t header_count(const chopin_test_response *r, const char *name) {
    size_t n = 0;
    for (size_t i = 0; i < r->header_count; i++) n += !strcasecmp(r->header_names[i], name);
    return n;
}

static inline void expect_header(const chopin_test_response *r, const char *name,
                                 const char *want) {
    const char *v = chopin_test_header(r, name);
    cr_assert_not_null(v, "header %s missing in:\n%s", name, r->raw);
    cr_assert_str_eq(v, want, "header %s", name);
}

static inline void expect_no_header(const chopin_test_response *r, const char *name) {
    cr_assert_null(chopin_test_header(r, name), "unexpected header %s in:\n%s", name, r->raw);
}

static inline void expect_body(const chopin_test_response *r, const char *want) {
    cr_assert_eq(r->body_len, strlen(want), "body '%s', want '%s'", r->body, want);
    cr_assert_str_eq(r->body, want);
}

/* The methods of an Allow value, as a bit set (order and spacing aside). */
static inline unsigned allow_bits(const char *allow) {
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

static inline void expect_allow(const chopin_test_response *r, const char *want) {
    const char *allow = chopin_test_header(r, "Allow");
    cr_assert_not_null(allow, "no Allow header in:\n%s", r->raw);
    cr_assert_eq(allow_bits(allow), allow_bits(want), "Allow '%s', want '%s'", allow, want);
}

/* Runs fn with stderr going to a temporary file; returns what was written. */
static inline char *capture_stderr(void (*fn)(void)) {
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

static inline void h_hello(chopin_ctx *c) {
    chopin_text(c, 200, "hello world");
}

#endif
