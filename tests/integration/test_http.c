/* test_http.c - HTTP/1.1 behaviour of the real servers (chopin-demo and
 * chopin-tfb) over sockets: keep-alive, HTTP/1.0, pipelining, HEAD, request
 * forms, 100-continue, chunked bodies, standard headers, error envelopes,
 * OPTIONS, libcurl round trips, a 10 MiB body, IPv6, port 0 and workers. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>

#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

TestSuite(http, .fini = h_cleanup, .timeout = 60);

static const char *const quiet_env[] = {"CHOPIN_ACCESS_LOG=0", NULL};

static h_server *start_hello(void) {
    return h_start(CHOPIN_DEMO_BIN, NULL);
}
static h_server *start_tfb(void) {
    return h_start(CHOPIN_TFB_BIN, quiet_env);
}

static void stop_ok(h_server *s) {
    cr_expect_eq(h_stop(s), 0, "server exit status");
    h_free(s);
}

/* Sends req on c and expects a complete response with status; returns it. */
static h_response *expect_status(h_conn *c, const char *req, int status) {
    h_response *r = h_roundtrip(c, req);
    cr_assert_not_null(r, "request '%.40s...': %s", req, h_last_error());
    cr_assert_eq(r->status, status, "request '%.40s...': status %d, body %s", req, r->status,
                 r->body);
    return r;
}

static void expect_body(const h_response *r, const char *body) {
    cr_assert_eq(r->body_len, strlen(body), "body length %zu, want %zu: %s", r->body_len,
                 strlen(body), r->body);
    cr_assert_str_eq(r->body, body);
}

/* --- Keep-alive and connection management ---------------------------------- */

Test(http, keep_alive_several_requests_on_one_socket_hello) {
    h_server *s = start_hello();
    h_conn *c = h_connect(s->port);
    const char *names[] = {"Ada", "Grace", "Linus", "Ken", "Dennis"};
    for (int i = 0; i < 5; i++) {
        char req[128], want[128];
        snprintf(req, sizeof req, "GET /hello/%s HTTP/1.1\r\nHost: localhost\r\n\r\n", names[i]);
        snprintf(want, sizeof want, "{\"success\":true,\"data\":{\"message\":\"Hello, %s!\"}}",
                 names[i]);
        h_response *r = expect_status(c, req, 200);
        expect_body(r, want);
        cr_expect_null(h_header(r, "Connection"), "HTTP/1.1 keep-alive needs no Connection header");
        cr_expect_str_eq(h_header(r, "Content-Type"), "application/json");
        h_response_free(r);
    }
    cr_assert(!c->eof, "the connection must stay open");
    h_close(c);
    stop_ok(s);
}

Test(http, keep_alive_several_requests_on_one_socket_tfb) {
    h_server *s = start_tfb();
    h_conn *c = h_connect(s->port);
    for (int i = 0; i < 10; i++) {
        h_response *r;
        if (i % 2) {
            r = expect_status(c, "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n", 200);
            expect_body(r, "Hello, World!");
            cr_expect_str_eq(h_header(r, "Content-Type"), "text/plain");
        } else {
            r = expect_status(c, "GET /json HTTP/1.1\r\nHost: x\r\n\r\n", 200);
            expect_body(r, "{\"message\":\"Hello, World!\"}");
        }
        h_response_free(r);
    }
    h_close(c);
    stop_ok(s);
}

Test(http, http10_closes_by_default) {
    h_server *s = start_tfb();
    h_conn *c = h_connect(s->port);
    h_response *r = expect_status(c, "GET /plaintext HTTP/1.0\r\n\r\n", 200);
    expect_body(r, "Hello, World!");
    const char *conn = h_header(r, "Connection");
    cr_expect(conn && !strcasecmp(conn, "close"), "Connection: %s", conn ? conn : "(none)");
    cr_assert(h_wait_close(c, 2000), "HTTP/1.0 without keep-alive: the server must close");
    cr_assert_eq(c->len, 0, "nothing after the response: %s", c->buf);
    h_response_free(r);
    h_close(c);
    stop_ok(s);
}

Test(http, http10_keep_alive_stays_open) {
    h_server *s = start_tfb();
    h_conn *c = h_connect(s->port);
    for (int i = 0; i < 3; i++) {
        h_response *r =
            expect_status(c, "GET /json HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200);
        expect_body(r, "{\"message\":\"Hello, World!\"}");
        const char *conn = h_header(r, "Connection");
        cr_assert(conn && !strcasecmp(conn, "keep-alive"), "Connection: %s",
                  conn ? conn : "(none)");
        cr_assert_eq(r->minor, 1, "chopin answers as HTTP/1.1");
        h_response_free(r);
    }
    cr_assert(!h_wait_close(c, 300), "an HTTP/1.0 keep-alive connection must stay open");
    /* The last one without keep-alive closes it. */
    h_response *r = expect_status(c, "GET /json HTTP/1.0\r\n\r\n", 200);
    cr_assert(h_wait_close(c, 2000));
    h_response_free(r);
    h_close(c);
    stop_ok(s);
}

Test(http, connection_close_honoured) {
    h_server *s = start_hello();
    h_conn *c = h_connect(s->port);
    h_response *r =
        expect_status(c, "GET /hello/Bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200);
    expect_body(r, "{\"success\":true,\"data\":{\"message\":\"Hello, Bye!\"}}");
    const char *conn = h_header(r, "Connection");
    cr_expect(conn && !strcasecmp(conn, "close"), "Connection: %s", conn ? conn : "(none)");
    cr_assert(h_wait_close(c, 2000), "the server must close after Connection: close");
    cr_assert_eq(c->len, 0, "nothing after the response: %s", c->buf);
    h_response_free(r);
    h_close(c);
    stop_ok(s);
}

/* --- Pipelining -------------------------------------------------------------- */

Test(http, pipelined_100_requests_answered_in_order_hello) {
    h_server *s = h_start(CHOPIN_DEMO_BIN, quiet_env);
    h_conn *c = h_connect(s->port);
    char *batch = malloc(100 * 128);
    size_t len = 0;
    for (int i = 0; i < 100; i++)
        len += (size_t)sprintf(batch + len, "GET /hello/n%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
    cr_assert(h_send(c, batch, len), "one write of %zu bytes", len);
    free(batch);
    for (int i = 0; i < 100; i++) {
        h_response *r = h_read_response(c, false, H_TIMEOUT_MS);
        cr_assert_not_null(r, "response %d: %s", i, h_last_error());
        cr_assert_eq(r->status, 200, "response %d", i);
        char want[64];
        snprintf(want, sizeof want, "{\"success\":true,\"data\":{\"message\":\"Hello, n%d!\"}}", i);
        cr_assert_str_eq(r->body, want, "response %d out of order or wrong", i);
        h_response_free(r);
    }
    cr_assert(!h_wait_close(c, 200));
    cr_assert_eq(c->len, 0, "no bytes beyond the 100 responses");
    h_close(c);
    stop_ok(s);
}

Test(http, pipelined_100_requests_answered_in_order_tfb) {
    h_server *s = start_tfb();
    h_conn *c = h_connect(s->port);
    char *batch = malloc(100 * 64);
    size_t len = 0;
    for (int i = 0; i < 100; i++)
        len += (size_t)sprintf(batch + len, "GET /%s HTTP/1.1\r\nHost: x\r\n\r\n",
                               i % 3 ? "plaintext" : "json");
    cr_assert(h_send(c, batch, len));
    free(batch);
    for (int i = 0; i < 100; i++) {
        h_response *r = h_read_response(c, false, H_TIMEOUT_MS);
        cr_assert_not_null(r, "response %d: %s", i, h_last_error());
        cr_assert_eq(r->status, 200, "response %d", i);
        cr_assert_str_eq(r->body, i % 3 ? "Hello, World!" : "{\"message\":\"Hello, World!\"}",
                         "response %d out of order", i);
        h_response_free(r);
    }
    cr_assert_eq(c->len, 0);
    h_close(c);
    stop_ok(s);
}

/* --- HEAD, request-target forms, 100-continue, chunked ------------------------- */

Test(http, head_has_content_length_but_no_body) {
    h_server *s = start_tfb();
    h_conn *c = h_connect(s->port);
    /* HEAD then GET in one write: a body after the HEAD response would
     * corrupt the framing of the second response. */
    cr_assert(h_sends(c, "HEAD /json HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
    h_response *r = h_read_response(c, true, H_TIMEOUT_MS);
    cr_assert_not_null(r, "%s", h_last_error());
    cr_assert_eq(r->status, 200);
    const char *cl = h_header(r, "Content-Length");
    cr_assert_not_null(cl, "HEAD must carry the Content-Length of the GET");
    cr_assert_str_eq(cl, "27");
    cr_expect_str_eq(h_header(r, "Content-Type"), "application/json");
    h_response_free(r);
    r = h_read_response(c, false, H_TIMEOUT_MS);
    cr_assert_not_null(r, "after HEAD: %s", h_last_error());
    cr_assert_eq(r->status, 200);
    expect_body(r, "Hello, World!");
    h_response_free(r);
    cr_assert(!h_wait_close(c, 200));
    cr_assert_eq(c->len, 0, "stray bytes after the HEAD response: '%s'", c->buf);
    h_close(c);
    stop_ok(s);
}

Test(http, absolute_form_target) {
    h_server *s = start_hello();
    h_conn *c = h_connect(s->port);
    char req[256];
    snprintf(req, sizeof req,
             "GET http://127.0.0.1:%d/hello/Absolute HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n",
             s->port, s->port);
    h_response *r = expect_status(c, req, 200);
    expect_body(r, "{\"success\":true,\"data\":{\"message\":\"Hello, Absolute!\"}}");
    h_response_free(r);
    snprintf(req, sizeof req,
             "GET http://example.test/search?q=abs&limit=2 HTTP/1.1\r\nHost: example.test\r\n\r\n");
    r = expect_status(c, req, 200);
    expect_body(r, "{\"success\":true,\"data\":{\"q\":\"abs\",\"limit\":2}}");
    h_response_free(r);
    h_close(c);
    stop_ok(s);
}

Test(http, expect_100_continue) {
    h_server *s = start_hello();
    h_conn *c = h_connect(s->port);
    cr_assert(h_sends(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         "Content-Length: 13\r\nExpect: 100-continue\r\n\r\n"));
    h_response *r = h_read_response(c, false, 2000);
    cr_assert_not_null(r, "100 Continue expected before the body is sent: %s", h_last_error());
    cr_assert_eq(r->status, 100, "interim status %d", r->status);
    cr_assert_eq(r->minor, 1);
    cr_assert_eq(r->raw_len, strlen("HTTP/1.1 100 Continue\r\n\r\n"));
    h_response_free(r);
    cr_assert(h_sends(c, "{\"hi\":\"you\"}\n"));
    r = h_read_response(c, false, H_TIMEOUT_MS);
    cr_assert_not_null(r, "%s", h_last_error());
    cr_assert_eq(r->status, 200);
    expect_body(r, "{\"hi\":\"you\"}\n");
    cr_expect_str_eq(h_header(r, "Content-Type"), "application/json");
    h_response_free(r);
    /* With the body already sent along, a 100 is optional; the final
     * response must come either way, and the connection stays usable. */
    cr_assert(h_sends(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                         "Expect: 100-continue\r\n\r\nok"));
    r = h_read_response(c, false, H_TIMEOUT_MS);
    cr_assert_not_null(r, "%s", h_last_error());
    if (r->status == 100) {
        h_response_free(r);
        r = h_read_response(c, false, H_TIMEOUT_MS);
        cr_assert_not_null(r, "%s", h_last_error());
    }
    cr_assert_eq(r->status, 200);
    expect_body(r, "ok");
    h_response_free(r);
    h_close(c);
    stop_ok(s);
}

Test(http, chunked_request_body_echoed) {
    h_server *s = start_hello();
    h_conn *c = h_connect(s->port);
    /* Several chunks, an extension, a trailer, sent in pieces. */
    static const char head[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n";
    const char *parts[] = {head,
                           "5\r\nHello\r\n",
                           "2;ext=1\r\n, \r\n",
                           "1",
                           "A\r\n0123456789",
                           "ABCDEF0123456789",
                           "\r\n",
                           "0\r\nX-Trailer: yes\r\n\r\n"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        cr_assert(h_sends(c, parts[i]));
        h_sleep_ms(20);
    }
    h_response *r = h_read_response(c, false, H_TIMEOUT_MS);
    cr_assert_not_null(r, "%s", h_last_error());
    cr_assert_eq(r->status, 200, "status %d: %s", r->status, r->body);
    expect_body(r, "Hello, 0123456789ABCDEF0123456789");
    cr_assert_str_eq(h_header(r, "Content-Length"), "33");
    cr_expect_str_eq(h_header(r, "Content-Type"), "text/plain");
    h_response_free(r);
    /* And in a single write, followed by a pipelined request. */
    cr_assert(h_sends(c, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n"
                         "GET /hello/after HTTP/1.1\r\nHost: x\r\n\r\n"));
    r = h_read_response(c, false, H_TIMEOUT_MS);
    cr_assert_not_null(r, "%s", h_last_error());
    cr_assert_eq(r->status, 200);
    expect_body(r, "abcdef");
    h_response_free(r);
    r = h_read_response(c, false, H_TIMEOUT_MS);
    cr_assert_not_null(r, "%s", h_last_error());
    expect_body(r, "{\"success\":true,\"data\":{\"message\":\"Hello, after!\"}}");
    h_response_free(r);
    h_close(c);
    stop_ok(s);
}

/* --- Standard headers and errors ---------------------------------------------- */

Test(http, server_and_date_headers) {
    h_server *s = start_tfb();
    h_conn *c = h_connect(s->port);
    const char *reqs[] = {"GET /json HTTP/1.1\r\nHost: x\r\n\r\n",
                          "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"};
    for (int i = 0; i < 2; i++) {
        h_response *r = h_roundtrip(c, reqs[i]);
        cr_assert_not_null(r, "%s", h_last_error());
        const char *server = h_header(r, "Server");
        cr_assert_not_null(server, "Server header missing");
        cr_assert_str_eq(server, "chopin");
        const char *date = h_header(r, "Date");
        cr_assert_not_null(date, "Date header missing");
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = strptime(date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cr_assert(end && !*end, "Date not in IMF-fixdate form: '%s'", date);
        cr_assert_eq(strlen(date), 29, "IMF-fixdate is 29 characters: '%s'", date);
        time_t t = timegm(&tm), now = time(NULL);
        cr_assert(t >= now - 5 && t <= now + 1, "Date '%s' is not now", date);
        h_response_free(r);
    }
    h_close(c);
    stop_ok(s);
}

Test(http, not_found_and_method_not_allowed_envelopes) {
    h_server *s = start_hello();
    h_conn *c = h_connect(s->port);
    h_response *r = expect_status(c, "GET /no/such/route HTTP/1.1\r\nHost: x\r\n\r\n", 404);
    cr_assert(h_is_error_envelope(r, 404), "404 body: %s", r->body);
    cr_assert(strstr(r->body, "\"code\":\"NOT_FOUND\""), "%s", r->body);
    h_response_free(r);
    r = expect_status(c, "DELETE /hello/Ada HTTP/1.1\r\nHost: x\r\n\r\n", 405);
    cr_assert(h_is_error_envelope(r, 405), "405 body: %s", r->body);
    cr_assert(strstr(r->body, "\"code\":\"METHOD_NOT_ALLOWED\""), "%s", r->body);
    const char *allow = h_header(r, "Allow");
    cr_assert_not_null(allow, "a 405 must say what is allowed");
    cr_assert_str_eq(allow, "GET, HEAD, OPTIONS");
    h_response_free(r);
    /* The connection survives application-level errors. */
    r = expect_status(c, "GET /hello/still HTTP/1.1\r\nHost: x\r\n\r\n", 200);
    h_response_free(r);
    /* tfb too. */
    h_close(c);
    stop_ok(s);
    s = start_tfb();
    c = h_connect(s->port);
    r = expect_status(c, "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405);
    cr_assert(h_is_error_envelope(r, 405), "405 body: %s", r->body);
    h_response_free(r);
    r = expect_status(c, "GET /jsonx HTTP/1.1\r\nHost: x\r\n\r\n", 404);
    cr_assert(h_is_error_envelope(r, 404), "404 body: %s", r->body);
    h_response_free(r);
    h_close(c);
    stop_ok(s);
}

Test(http, options_answered_with_allow) {
    h_server *s = start_hello();
    h_conn *c = h_connect(s->port);
    h_response *r = expect_status(c, "OPTIONS /echo HTTP/1.1\r\nHost: x\r\n\r\n", 204);
    const char *allow = h_header(r, "Allow");
    cr_assert_not_null(allow, "OPTIONS must answer with Allow");
    cr_assert_str_eq(allow, "POST, PUT, OPTIONS");
    cr_assert_eq(r->body_len, 0);
    h_response_free(r);
    r = expect_status(c, "OPTIONS /hello/x HTTP/1.1\r\nHost: x\r\n\r\n", 204);
    cr_assert_str_eq(h_header(r, "Allow") ? h_header(r, "Allow") : "", "GET, HEAD, OPTIONS");
    h_response_free(r);
    r = expect_status(c, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 204);
    cr_assert_not_null(h_header(r, "Allow"), "OPTIONS * must answer with Allow");
    h_response_free(r);
    /* A CORS preflight is answered by the CORS middleware. */
    r = expect_status(c,
                      "OPTIONS /echo HTTP/1.1\r\nHost: x\r\nOrigin: http://app.test\r\n"
                      "Access-Control-Request-Method: POST\r\n\r\n",
                      204);
    cr_assert_not_null(h_header(r, "Access-Control-Allow-Origin"));
    h_response_free(r);
    /* OPTIONS on an unknown path is a 404. */
    r = expect_status(c, "OPTIONS /nothing HTTP/1.1\r\nHost: x\r\n\r\n", 404);
    h_response_free(r);
    h_close(c);
    stop_ok(s);
}

/* --- libcurl ------------------------------------------------------------------- */

static void curl_expect(int port, const char *path, long status, const char *body) {
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    h_curl_response r = h_curl_get(url);
    cr_assert_eq(r.curl_code, 0, "curl %s: code %d", url, r.curl_code);
    cr_assert_eq(r.status, status, "curl %s: status %ld: %s", url, r.status, r.body);
    if (body) cr_assert_str_eq(r.body, body, "curl %s", url);
    h_curl_free(&r);
}

Test(http, path_params_and_query_via_libcurl) {
    h_server *s = start_hello();
    curl_expect(s->port, "/hello/Ada", 200,
                "{\"success\":true,\"data\":{\"message\":\"Hello, Ada!\"}}");
    curl_expect(s->port, "/hello/Ada%20Lovelace", 200,
                "{\"success\":true,\"data\":{\"message\":\"Hello, Ada Lovelace!\"}}");
    curl_expect(s->port, "/search?q=chopin&limit=3", 200,
                "{\"success\":true,\"data\":{\"q\":\"chopin\",\"limit\":3}}");
    curl_expect(s->port, "/search?q=a+b%26c&limit=100", 200,
                "{\"success\":true,\"data\":{\"q\":\"a b&c\",\"limit\":100}}");
    curl_expect(s->port, "/search", 200, "{\"success\":true,\"data\":{\"q\":null,\"limit\":10}}");
    curl_expect(s->port, "/search?limit=0", 422, NULL);
    curl_expect(s->port, "/files/a/b/c.txt", 200,
                "{\"success\":true,\"data\":{\"path\":\"a/b/c.txt\"}}");
    curl_expect(s->port, "/admin/stats", 401, NULL);
    stop_ok(s);
}

/* Keep-alive after a handler that waited (its request was completed later,
 * from the loop): the next requests on the connection, shorter, as long
 * and longer than the first, are each read from their first byte. */
Test(http, keep_alive_after_a_waiting_handler) {
    h_server *s = start_hello();
    h_conn *c = h_connect(s->port);
    char pad[2100];
    memset(pad, 'a', 2000);
    pad[2000] = 0;
    char first[2200];
    snprintf(first, sizeof first, "GET /slow?ms=5 HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n\r\n", pad);
    size_t first_len = strlen(first);
    h_response *r = expect_status(c, first, 200);
    h_response_free(r);
    r = expect_status(c, "GET /hello/short HTTP/1.1\r\nHost: x\r\n\r\n", 200);
    expect_body(r, "{\"success\":true,\"data\":{\"message\":\"Hello, short!\"}}");
    h_response_free(r);
    r = expect_status(c, first, 200); /* waits again */
    h_response_free(r);
    /* exactly as long as the first */
    char same[2200];
    int n = snprintf(same, sizeof same, "GET /hello/same HTTP/1.1\r\nHost: x\r\nX-Pad: ");
    while ((size_t)n < first_len - 4) same[n++] = 'b';
    memcpy(same + n, "\r\n\r\n", 5);
    cr_assert_eq(strlen(same), first_len);
    r = expect_status(c, same, 200);
    expect_body(r, "{\"success\":true,\"data\":{\"message\":\"Hello, same!\"}}");
    h_response_free(r);
    r = expect_status(c, first, 200);
    h_response_free(r);
    char longer[2400];
    snprintf(longer, sizeof longer, "GET /hello/longer HTTP/1.1\r\nHost: x\r\nX-Pad: %s%s\r\n\r\n",
             pad, "cccccccccccccccccccccccccccccccccccccccc");
    r = expect_status(c, longer, 200);
    expect_body(r, "{\"success\":true,\"data\":{\"message\":\"Hello, longer!\"}}");
    h_response_free(r);
    /* The next request arrives while the handler waits (its edge comes
     * and goes then), and one comes pipelined behind a waiting one. */
    cr_assert(h_sends(c, "GET /slow?ms=100 HTTP/1.1\r\nHost: x\r\n\r\n"));
    h_sleep_ms(30);
    cr_assert(h_sends(c, "GET /hello/during HTTP/1.1\r\nHost: x\r\n\r\n"));
    r = h_read_response(c, false, H_TIMEOUT_MS);
    cr_assert_not_null(r, "%s", h_last_error());
    expect_body(r, "{\"success\":true,\"data\":{\"slept_ms\":100}}");
    h_response_free(r);
    r = h_read_response(c, false, H_TIMEOUT_MS);
    cr_assert_not_null(r, "the request sent during the wait: %s", h_last_error());
    expect_body(r, "{\"success\":true,\"data\":{\"message\":\"Hello, during!\"}}");
    h_response_free(r);
    cr_assert(h_sends(c, "GET /slow?ms=20 HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /hello/behind HTTP/1.1\r\nHost: x\r\n\r\n"));
    r = h_read_response(c, false, H_TIMEOUT_MS);
    cr_assert_not_null(r, "%s", h_last_error());
    h_response_free(r);
    r = h_read_response(c, false, H_TIMEOUT_MS);
    cr_assert_not_null(r, "pipelined behind a waiting one: %s", h_last_error());
    expect_body(r, "{\"success\":true,\"data\":{\"message\":\"Hello, behind!\"}}");
    h_response_free(r);
    h_close(c);
    stop_ok(s);
}

/* One request on c with an optional bearer token and JSON body, expecting
 * status. */
static h_response *call(h_conn *c, const char *method, const char *path, const char *token,
                        const char *body, int status) {
    char req[2048];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: x\r\n", method, path);
    if (token)
        n += snprintf(req + n, sizeof req - (size_t)n, "Authorization: Bearer %s\r\n", token);
    if (body)
        n += snprintf(req + n, sizeof req - (size_t)n,
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n", strlen(body));
    snprintf(req + n, sizeof req - (size_t)n, "\r\n%s", body ? body : "");
    return expect_status(c, req, status);
}

/* Signs an account up on the demo and returns its access token. */
static char *demo_signup(h_conn *c, const char *name) {
    char body[256];
    snprintf(body, sizeof body,
             "{\"email\":\"%s@example.com\",\"username\":\"%s\",\"password\":\"a long password\"}",
             name, name);
    h_response *r = call(c, "POST", "/api/auth/signup", NULL, body, 201);
    const char *at = strstr(r->body, "\"access_token\":\"");
    cr_assert_not_null(at, "%s", r->body);
    at += strlen("\"access_token\":\"");
    char *token = strndup(at, strcspn(at, "\""));
    h_response_free(r);
    return token;
}

/* The demo's todo API: the ORM on SQLite, every answer in the envelopes,
 * each account's todos its own. */
Test(http, demo_todos_crud) {
    h_server *s = start_hello();
    h_conn *c = h_connect(s->port);
    char *tok = demo_signup(c, "ada");
    h_response_free(call(c, "POST", "/todos", NULL, "{\"title\":\"milk\"}", 401));
    const char *bodies[] = {"{\"title\":\"milk\",\"priority\":2,\"tag\":\"home\"}",
                            "{\"title\":\"code\",\"priority\":5,\"tag\":\"work\",\"id\":99}",
                            "{\"title\":\"walk\",\"owner_id\":77}"};
    for (int i = 0; i < 3; i++) {
        h_response *r = call(c, "POST", "/todos", tok, bodies[i], 201);
        char want[48];
        snprintf(want, sizeof want, "{\"success\":true,\"data\":{\"id\":%d,", i + 1);
        cr_assert(!strncmp(r->body, want, strlen(want)), "read-only id ignored: %s", r->body);
        cr_assert(strstr(r->body, "\"owner_id\":1,"), "read-only owner ignored: %s", r->body);
        cr_assert(strstr(r->body, "\"created_at\":\"20"), "%s", r->body);
        h_response_free(r);
    }
    h_response *r = call(c, "GET", "/todos?sort=-priority&tag=work", tok, NULL, 200);
    cr_assert(strstr(r->body, "\"items\":[{\"id\":2,\"title\":\"code\""), "%s", r->body);
    cr_assert(strstr(r->body, "\"total\":1,\"limit\":20,\"offset\":0}}"), "%s", r->body);
    h_response_free(r);
    r = call(c, "GET", "/todos?per_page=2&page=2", tok, NULL, 200);
    cr_assert(strstr(r->body, "{\"success\":true,\"data\":{\"items\":[{\"id\":1,"),
              "newest first: %s", r->body);
    cr_assert(strstr(r->body, "\"total\":3,\"limit\":2,\"offset\":2}}"), "%s", r->body);
    h_response_free(r);
    r = call(c, "PUT", "/todos/3", tok, "{\"title\":\"run\",\"done\":true}", 200);
    cr_assert(strstr(r->body, "\"title\":\"run\",\"done\":true"), "%s", r->body);
    h_response_free(r);
    /* PATCH: only what the body names; title stays required by PUT, not here */
    r = call(c, "PATCH", "/todos/2", tok, "{\"done\":true,\"priority\":1}", 200);
    cr_assert(strstr(r->body,
                     "\"id\":2,\"title\":\"code\",\"done\":true,\"priority\":1,\"tag\":\"work\""),
              "%s", r->body);
    h_response_free(r);
    h_response_free(call(c, "PATCH", "/todos/2", tok, "{\"done\":true,\"priority\":10}", 422));
    r = call(c, "GET", "/todos/2", tok, NULL, 200);
    cr_assert(strstr(r->body, "\"priority\":1,"), "a refused PATCH changes nothing: %s", r->body);
    h_response_free(r);
    /* Another account sees none of them, and cannot touch them. */
    char *other = demo_signup(c, "bob");
    r = call(c, "GET", "/todos", other, NULL, 200);
    cr_assert(strstr(r->body, "\"items\":[],\"total\":0"), "%s", r->body);
    h_response_free(r);
    h_response_free(call(c, "GET", "/todos/2", other, NULL, 404));
    h_response_free(call(c, "DELETE", "/todos/2", other, NULL, 404));
    h_response_free(call(c, "PATCH", "/todos/2", other, "{\"done\":false}", 404));
    free(other);
    h_response_free(call(c, "DELETE", "/todos/1", tok, NULL, 204));
    r = call(c, "GET", "/todos/1", tok, NULL, 404);
    cr_assert(strstr(r->body, "\"code\":\"NOT_FOUND\""), "%s", r->body);
    h_response_free(r);
    h_response_free(call(c, "GET", "/todos/x", tok, NULL, 422));
    r = call(c, "GET", "/todos?sort=nope", tok, NULL, 422);
    cr_assert(strstr(r->body, "{\"field\":\"nope\",\"code\":\"unknown\""), "%s", r->body);
    h_response_free(r);
    h_response_free(call(c, "GET", "/todos?done=maybe", tok, NULL, 422));
    free(tok);
    h_close(c);
    stop_ok(s);
}

/* The demo's /admin/stats: a token with the admin role or above; a user's
 * token is a 403, anything that is not a valid token a 401. */
Test(http, admin_route_wants_the_role) {
    h_server *s = start_hello();
    h_conn *c = h_connect(s->port);
    char *tok = demo_signup(c, "eve");
    char auth[1024];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", tok);
    char tampered[1024];
    snprintf(tampered, sizeof tampered, "Authorization: Bearer %.*sx\r\n", (int)strlen(tok) - 1,
             tok);
    const struct {
        const char *auth;
        int status;
    } rows[] = {
        {auth, 403},
        {tampered, 401},
        {"Authorization: Bearer demo-token\r\n", 401},
        {"Authorization: Bearer \r\n", 401},
        {"Authorization: Basic ZXZlOnB3\r\n", 401},
        {"", 401},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char req[1200];
        snprintf(req, sizeof req, "GET /admin/stats HTTP/1.1\r\nHost: x\r\n%s\r\n", rows[i].auth);
        h_response *r = expect_status(c, req, rows[i].status);
        char want[64];
        snprintf(want, sizeof want, "{\"success\":false,\"error\":{\"status\":%d", rows[i].status);
        cr_assert(!strncmp(r->body, want, strlen(want)), "row %zu: %s", i, r->body);
        h_response_free(r);
    }
    free(tok);
    h_close(c);
    stop_ok(s);
}

Test(http, ten_mib_response_via_libcurl) {
    h_server *s = h_start(CHOPIN_DEMO_BIN, quiet_env);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/big?kib=10240", s->port);
    h_curl_response r = h_curl_get(url);
    cr_assert_eq(r.curl_code, 0, "curl code %d", r.curl_code);
    cr_assert_eq(r.status, 200);
    /* 16 items per KiB, each {"i":N,"s":"<42 characters>"} (55 bytes and the
     * digits of N), with commas between them and brackets around, in the
     * success envelope {"success":true,"data":...} (24 bytes). */
    size_t want = 24 + 2 + 10240 * 16 - 1;
    for (long i = 0; i < 10240 * 16; i++) want += 55 + (size_t)snprintf(NULL, 0, "%ld", i);
    cr_assert_eq(r.body_len, want, "body of %zu bytes, want %zu (~10 MiB)", r.body_len, want);
    cr_assert_eq(r.content_length, (int64_t)r.body_len, "Content-Length %lld, received %zu",
                 (long long)r.content_length, r.body_len);
    cr_assert(!strncmp(r.body, "{\"success\":true,\"data\":[{\"i\":0,\"s\":\"", 36), "start: %.40s",
              r.body);
    /* 16 items per KiB: the last one is 10240 * 16 - 1. */
    const char *tail = "{\"i\":163839,\"s\":\"0123456789abcdef0123456789abcdef0123456789\"}]}";
    size_t tl = strlen(tail);
    cr_assert(r.body_len > tl && !memcmp(r.body + r.body_len - tl, tail, tl), "end: %s",
              r.body + r.body_len - (r.body_len > 80 ? 80 : r.body_len));
    h_curl_free(&r);
    stop_ok(s);
}

/* --- Addresses, ports and workers ---------------------------------------------- */

Test(http, ipv6_loopback) {
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    if (probe < 0) cr_skip_test("no IPv6 on this host");
    close(probe);
    const char *env[] = {"SERVER_HOST=::1", NULL};
    h_server *s = h_start(CHOPIN_DEMO_BIN, env);
    char want[64];
    snprintf(want, sizeof want, "listening on http://[::1]:%d", s->port);
    cr_assert(strstr(s->banner, want), "banner: %s", s->banner);
    h_conn *c = h_connect6(s->port);
    h_response *r = expect_status(c, "GET /hello/six HTTP/1.1\r\nHost: [::1]\r\n\r\n", 200);
    expect_body(r, "{\"success\":true,\"data\":{\"message\":\"Hello, six!\"}}");
    h_response_free(r);
    h_close(c);
    char url[96];
    snprintf(url, sizeof url, "http://[::1]:%d/search?q=v6", s->port);
    h_curl_response cr = h_curl_get(url);
    cr_assert_eq(cr.curl_code, 0);
    cr_assert_eq(cr.status, 200);
    cr_assert_str_eq(cr.body, "{\"success\":true,\"data\":{\"q\":\"v6\",\"limit\":10}}");
    h_curl_free(&cr);
    /* Not on IPv4. */
    errno = 0;
    h_conn *v4 = h_try_connect(AF_INET, s->port);
    cr_assert_null(v4, "bound to ::1 only, yet 127.0.0.1 accepted");
    cr_assert_eq(errno, ECONNREFUSED);
    stop_ok(s);
}

Test(http, port_zero_gives_a_real_port) {
    h_server *a = start_tfb();
    h_server *b = start_tfb();
    cr_assert(a->port > 0 && b->port > 0);
    cr_assert_neq(a->port, b->port, "two servers on port 0 got the same port");
    cr_assert_neq(a->port, 3000);
    char want[64];
    snprintf(want, sizeof want, "listening on http://127.0.0.1:%d", a->port);
    cr_assert(strstr(a->banner, want), "banner: %s", a->banner);
    h_server *both[] = {a, b};
    for (int i = 0; i < 2; i++) {
        h_conn *c = h_connect(both[i]->port);
        h_response *r = expect_status(c, "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n", 200);
        h_response_free(r);
        h_close(c);
    }
    stop_ok(a);
    stop_ok(b);
}

/* With two workers, a worker stuck in a slow handler does not stop the other
 * one from serving: while connection A holds one worker for 1.5 s, fresh
 * connections are spread by SO_REUSEPORT over both, and some of them must be
 * answered right away. Every one is answered in the end, A included. */
Test(http, two_workers_both_serving) {
    const char *env[] = {"CHOPIN_WORKERS=2", "CHOPIN_ACCESS_LOG=0", NULL};
    h_server *s = h_start(CHOPIN_DEMO_BIN, env);
    cr_assert(strstr(s->banner, "2 workers"), "banner: %s", s->banner);
    h_conn *slow = h_connect(s->port);
    cr_assert(h_sends(slow, "GET /slow?ms=1500 HTTP/1.1\r\nHost: x\r\n\r\n"));
    h_sleep_ms(100); /* let a worker pick it up */
    int64_t t0 = h_now_ms();
    enum { N = 16 };
    h_conn *cs[N];
    for (int i = 0; i < N; i++) {
        cs[i] = h_connect(s->port);
        char req[96];
        snprintf(req, sizeof req, "GET /hello/w%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
        cr_assert(h_sends(cs[i], req));
    }
    /* Whatever is answered within 500 ms was answered by the free worker. */
    h_sleep_ms(500 - (int)(h_now_ms() - t0));
    int quick = 0;
    for (int i = 0; i < N; i++) {
        while (h_read_some(cs[i], 0) > 0) {
        }
        h_response *r;
        if (h_parse_response(cs[i]->buf ? cs[i]->buf : "", cs[i]->len, false, false, &r) > 0) {
            quick++;
            h_response_free(r);
        }
    }
    for (int i = 0; i < N; i++) {
        h_response *r = h_read_response(cs[i], false, H_TIMEOUT_MS);
        cr_assert_not_null(r, "connection %d: %s", i, h_last_error());
        char want[64];
        snprintf(want, sizeof want, "{\"success\":true,\"data\":{\"message\":\"Hello, w%d!\"}}", i);
        cr_assert_str_eq(r->body, want);
        h_response_free(r);
    }
    h_response *r = h_read_response(slow, false, H_TIMEOUT_MS);
    cr_assert_not_null(r, "slow: %s", h_last_error());
    cr_assert_eq(r->status, 200);
    expect_body(r, "{\"success\":true,\"data\":{\"slept_ms\":1500}}");
    h_response_free(r);
    cr_assert_gt(quick, 0, "no request was answered while one worker was busy: one worker only?");
    cr_log_info("two workers: %d of %d answered at once", quick, N);
    for (int i = 0; i < N; i++) h_close(cs[i]);
    h_close(slow);
    stop_ok(s);
}

/* A body that comes in a later read than its head, while another
 * connection's request is parsed on the same worker in between: the
 * waiting request must still be answered as itself (the worker's parse
 * buffer had served the other request meanwhile). */
Test(http, a_body_after_another_connections_request_keeps_its_own_head) {
    static const char *const one_worker[] = {"CHOPIN_WORKERS=1", "CHOPIN_ACCESS_LOG=0", NULL};
    h_server *s = h_start(CHOPIN_DEMO_BIN, one_worker);
    for (int round = 0; round < 3; round++) {
        h_conn *a = h_connect(s->port), *b = h_connect(s->port);
        cr_assert(h_sends(a, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                             "Content-Length: 12\r\n\r\n"));
        h_sleep_ms(50); /* A's head is parsed and waits for its body */
        h_response *rb = h_roundtrip(b, "GET /hello/from-B HTTP/1.1\r\nHost: b\r\n\r\n");
        cr_assert_not_null(rb, "%s", h_last_error());
        expect_body(rb, "{\"success\":true,\"data\":{\"message\":\"Hello, from-B!\"}}");
        h_response_free(rb);
        cr_assert(h_sends(a, round == 2 ? "{\"from\":\"A\"" : "{\"from\":\"A\"}"));
        if (round == 2) { /* and once more in pieces, with B in between again */
            h_sleep_ms(50);
            rb = h_roundtrip(b, "GET /hello/again HTTP/1.1\r\nHost: b\r\n\r\n");
            cr_assert_not_null(rb, "%s", h_last_error());
            h_response_free(rb);
            cr_assert(h_sends(a, "}"));
        }
        h_response *ra = h_read_response(a, false, H_TIMEOUT_MS);
        cr_assert_not_null(ra, "%s", h_last_error());
        cr_assert_eq(ra->status, 200, "%s", ra->body);
        cr_assert(strstr(ra->body, "{\"from\":\"A\"}"), "A got another request's answer: %s",
                  ra->body);
        h_response_free(ra);
        h_close(a);
        h_close(b);
    }
    stop_ok(s);
}
