/* test_metrics.c - GET /metrics through the test client: counts per route
 * and status, the "other" status past 15, the histogram's shape; and the
 * auth routes refusing to start on a users table that is not theirs. */
#include <criterion/criterion.h>

#include <chopin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static chopin_app *app;

static void teardown(void) {
    chopin_app_free(app);
    app = NULL;
}

/* GET /status/:code answers with that status. */
static void any_status(chopin_ctx *c) {
    chopin_str code = chopin_param(c, "code");
    char text[8];
    snprintf(text, sizeof text, "%.*s", (int)code.len, code.ptr);
    chopin_send_status(c, atoi(text));
}

static char *scrape(void) {
    chopin_test_response *r = chopin_test_call(app, "GET", "/metrics", NULL, NULL);
    cr_assert_eq(r->status, 200);
    char *text = strdup(r->body);
    chopin_test_response_free(r);
    return text;
}

static void call(const char *method, const char *path, int want) {
    chopin_test_response *r = chopin_test_call(app, method, path, NULL, NULL);
    cr_assert_eq(r->status, want, "%s %s: %d", method, path, r->status);
    chopin_test_response_free(r);
}

Test(metrics, counts_by_route_and_status_with_other_past_fifteen, .fini = teardown) {
    app = chopin_test_app();
    chopin_get(app, "/status/:code", any_status);
    for (int code = 200; code < 220; code++) { /* 20 distinct statuses, code - 199 times each */
        char path[32];
        snprintf(path, sizeof path, "/status/%d", code);
        for (int i = 0; i < code - 199; i++) call("GET", path, code);
    }
    call("GET", "/nowhere", 404);
    call("DELETE", "/status/200", 405);
    char *m = scrape();
    const char *row = "chopin_http_requests_total{method=\"GET\",route=\"/status/:code\"";
    char line[160];
    for (int code = 200; code < 215; code++) { /* the first 15 by their own name */
        snprintf(line, sizeof line, "%s,status=\"%d\"} %d\n", row, code, code - 199);
        cr_assert(strstr(m, line), "missing %s", line);
    }
    /* 215..219: 16 + 17 + 18 + 19 + 20 = 90 under "other", never by name */
    snprintf(line, sizeof line, "%s,status=\"other\"} 90\n", row);
    cr_assert(strstr(m, line), "missing %s in\n%s", line, m);
    snprintf(line, sizeof line, "%s,status=\"215\"}", row);
    cr_assert_null(strstr(m, line));
    cr_assert(
        strstr(m, "chopin_http_requests_total{method=\"GET\",route=\"\",status=\"404\"} 1\n"));
    cr_assert(
        strstr(m, "chopin_http_requests_total{method=\"DELETE\",route=\"\",status=\"405\"} 1\n"));
    /* 210 requests on the route: its histogram's +Inf bucket and count */
    cr_assert(strstr(m, "chopin_http_request_duration_seconds_bucket{method=\"GET\","
                        "route=\"/status/:code\",le=\"+Inf\"} 210\n"),
              "%s", m);
    cr_assert(strstr(m, "chopin_http_request_duration_seconds_count{method=\"GET\","
                        "route=\"/status/:code\"} 210\n"));
    free(m);
    m = scrape(); /* the first scrape is counted in the second */
    cr_assert(strstr(m, "{method=\"GET\",route=\"/metrics\",status=\"200\"} 1\n"), "%s", m);
    free(m);
}

Test(metrics, off_means_no_route, .fini = teardown) {
    chopin_config cfg;
    chopin_test_config(&cfg);
    cfg.metrics = false;
    app = chopin_test_app_with(&cfg);
    call("GET", "/metrics", 404);
    call("GET", "/health/live", 200);
}

/* An app whose own users table lacks the auth columns: start-up fails
 * with a message, instead of every signup failing later with a 500. */
Test(metrics, auth_refuses_a_users_table_that_is_not_its_own, .fini = teardown) {
    char db[] = "/tmp/chopin-users-XXXXXX";
    int fd = mkstemp(db);
    cr_assert_geq(fd, 0);
    chopin_config cfg;
    chopin_test_config(&cfg);
    snprintf(cfg.database_url, sizeof cfg.database_url, "sqlite://%s", db);
    app = chopin_test_app_with(&cfg);
    chopin_ctx *c = chopin_ctx_new(app);
    cr_assert_eq(chopin_db_exec_script(c, "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)"),
                 0);
    chopin_ctx_free(c);
    cr_assert_eq(chopin_auth_mount(app, NULL), -1);
    chopin_app_free(app);
    cfg.auth_routes = false; /* the opt-out: the app keeps its own table */
    app = chopin_test_app_with(&cfg);
    call("GET", "/api/auth/me", 404);
    call("GET", "/health", 200);
    close(fd);
    unlink(db);
}
