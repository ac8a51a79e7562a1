/* test_app_connection.c - the application's connections through the
 * in-process test client (chopin/testing.h): pipelined requests, request
 * bodies (Content-Length and chunked), the body limit, and malformed input.
 *
 * Routing is tested in test_app_routing.c, middleware in
 * test_app_middleware.c, with the helpers of app_fixture.h. Every test builds
 * its own app with chopin_app_new_with(); the access log is off, to keep
 * stderr quiet. */
#include "app_fixture.h"

#include <fcntl.h>

TestSuite(app, .fini = teardown);

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

/* --- Handlers --------------------------------------------------------------- */

static void h_echo(chopin_ctx *c) {
    chopin_str body = chopin_req_body(c);
    chopin_send(c, 200, "application/octet-stream", body.ptr, body.len);
}

static void h_num(chopin_ctx *c) {
    chopin_str n = chopin_param(c, "n");
    chopin_send(c, 200, "text/plain", n.ptr, n.len);
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
        cr_assert_str_eq(resp[0].body,
                         "{\"success\":false,\"error\":{\"status\":400,\"code\":\"BAD_REQUEST\","
                         "\"message\":\"malformed HTTP request\"}}");
        free(out);
    }
}
