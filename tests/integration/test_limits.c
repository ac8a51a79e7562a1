/* test_limits.c - limits, malformed input, timeouts, connection caps, many
 * connections, half-close and backpressure, against the real servers.
 *
 * Every rejected request must get the right status with the JSON error
 * envelope {"success":false,"error":{"status":N,...}}, "Connection: close", and then the
 * connection closed by the server. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>

#include "harness.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

TestSuite(limits, .fini = h_cleanup, .timeout = 60);

static void stop_ok(h_server *s) {
    cr_expect_eq(h_stop(s), 0, "server exit status");
    h_free(s);
}

/* Sends len bytes of req on a fresh connection; expects an error response
 * with status and the envelope, then the close. */
static void expect_rejected(h_server *s, const char *req, size_t len, int status) {
    h_conn *c = h_connect(s->port);
    cr_assert(h_send(c, req, len), "send: %s", strerror(errno));
    h_response *r = h_read_response(c, false, H_TIMEOUT_MS);
    cr_assert_not_null(r, "want %d for '%.60s': %s", status, req, h_last_error());
    cr_assert_eq(r->status, status, "want %d for '%.60s', got %d: %s", status, req, r->status,
                 r->body);
    cr_assert(h_is_error_envelope(r, status), "error envelope for %d: %s", status, r->body);
    const char *conn = h_header(r, "Connection");
    cr_assert(conn && !strcasecmp(conn, "close"), "%d must say Connection: close (got %s)", status,
              conn ? conn : "none");
    cr_assert(h_wait_close(c, 3000), "after %d the server must close the connection", status);
    cr_assert_eq(c->len, 0, "bytes after the %d response: '%.80s'", status, c->buf);
    h_response_free(r);
    h_close(c);
}

static void expect_rejected_s(h_server *s, const char *req, int status) {
    expect_rejected(s, req, strlen(req), status);
}

/* A request that must succeed, on a fresh connection. */
static h_response *expect_ok(h_server *s, const char *req, int status) {
    h_conn *c = h_connect(s->port);
    h_response *r = h_roundtrip(c, req);
    cr_assert_not_null(r, "'%.60s': %s", req, h_last_error());
    cr_assert_eq(r->status, status, "'%.60s': status %d: %s", req, r->status, r->body);
    h_close(c);
    return r;
}

/* --- Size limits ---------------------------------------------------------------- */

Test(limits, request_line_too_long_414) {
    h_server *s = h_start(CHOPIN_DEMO_BIN, NULL);
    size_t n = 9000; /* default limit 8 KiB */
    char *req = malloc(n + 64);
    strcpy(req, "GET /");
    memset(req + 5, 'a', n);
    strcpy(req + 5 + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_rejected_s(s, req, 414);
    /* Also while the line is still arriving (no CRLF yet). */
    req[5 + n] = 0;
    expect_rejected_s(s, req, 414);
    free(req);
    /* Just under the limit is fine (404: no such route). */
    req = malloc(8192);
    strcpy(req, "GET /");
    memset(req + 5, 'b', 8000);
    strcpy(req + 5 + 8000, " HTTP/1.1\r\nHost: x\r\n\r\n");
    h_response_free(expect_ok(s, req, 404));
    free(req);
    stop_ok(s);
}

Test(limits, header_block_too_large_431) {
    h_server *s = h_start(CHOPIN_DEMO_BIN, NULL);
    /* 20 fields of ~1 KiB each: 20 KiB against a 16 KiB default. */
    char *req = malloc(32768);
    size_t len = (size_t)sprintf(req, "GET /hello/x HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 20; i++) {
        len += (size_t)sprintf(req + len, "X-Pad-%02d: ", i);
        memset(req + len, 'p', 1000);
        len += 1000;
        len += (size_t)sprintf(req + len, "\r\n");
    }
    len += (size_t)sprintf(req + len, "\r\n");
    expect_rejected(s, req, len, 431);
    /* The same, never finished. */
    expect_rejected(s, req, len - 2, 431);
    free(req);
    stop_ok(s);
}

Test(limits, too_many_headers_431) {
    const char *env[] = {"CHOPIN_MAX_HEADERS=10", NULL};
    h_server *s = h_start(CHOPIN_DEMO_BIN, env);
    char req[1024];
    size_t len = (size_t)sprintf(req, "GET /hello/x HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 10; i++) len += (size_t)sprintf(req + len, "X-H%d: v\r\n", i);
    strcpy(req + len, "\r\n");
    expect_rejected_s(s, req, 431); /* 11 fields */
    /* Exactly 10 is fine. */
    len = (size_t)sprintf(req, "GET /hello/x HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 9; i++) len += (size_t)sprintf(req + len, "X-H%d: v\r\n", i);
    strcpy(req + len, "\r\n");
    h_response_free(expect_ok(s, req, 200));
    stop_ok(s);
}

Test(limits, body_too_large_by_content_length_413) {
    const char *env[] = {"CHOPIN_MAX_BODY_BYTES=1024", NULL};
    h_server *s = h_start(CHOPIN_DEMO_BIN, env);
    /* Rejected from the head alone, before any body byte is sent. */
    expect_rejected_s(s, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n", 413);
    /* And with the body sent along. */
    char *req = malloc(4096);
    int n = sprintf(req, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n");
    memset(req + n, 'z', 2048);
    expect_rejected(s, req, (size_t)n + 2048, 413);
    /* Exactly the limit is fine. */
    n = sprintf(req, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\n\r\n");
    memset(req + n, 'y', 1024);
    req[n + 1024] = 0;
    h_response *r = expect_ok(s, req, 200);
    cr_assert_eq(r->body_len, 1024);
    h_response_free(r);
    free(req);
    stop_ok(s);
}

Test(limits, chunked_body_too_large_413) {
    const char *env[] = {"CHOPIN_MAX_BODY_BYTES=1024", NULL};
    h_server *s = h_start(CHOPIN_DEMO_BIN, env);
    char chunk[400];
    memset(chunk, 'c', sizeof chunk);
    char *req = malloc(8192);
    /* Three chunks of 400: the third passes 1024. */
    size_t len = (size_t)sprintf(
        req, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 3; i++) {
        len += (size_t)sprintf(req + len, "190\r\n");
        memcpy(req + len, chunk, 400);
        len += 400;
        len += (size_t)sprintf(req + len, "\r\n");
    }
    len += (size_t)sprintf(req + len, "0\r\n\r\n");
    expect_rejected(s, req, len, 413);
    /* One huge chunk size. */
    expect_rejected_s(s,
                      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "FFFFFFFF\r\n",
                      413);
    /* Two chunks of 400 are fine. */
    len = (size_t)sprintf(req,
                          "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 2; i++) {
        len += (size_t)sprintf(req + len, "190\r\n");
        memcpy(req + len, chunk, 400);
        len += 400;
        len += (size_t)sprintf(req + len, "\r\n");
    }
    sprintf(req + len, "0\r\n\r\n");
    h_response *r = expect_ok(s, req, 200);
    cr_assert_eq(r->body_len, 800);
    h_response_free(r);
    free(req);
    stop_ok(s);
}

Test(limits, absurd_content_length_413) {
    h_server *s = h_start(CHOPIN_DEMO_BIN, NULL);
    expect_rejected_s(s,
                      "POST /echo HTTP/1.1\r\nHost: x\r\n"
                      "Content-Length: 123456789012345678901234567890\r\n\r\n",
                      413);
    stop_ok(s);
}

/* --- Malformed requests ------------------------------------------------------- */

Test(limits, content_length_with_transfer_encoding_400) {
    h_server *s = h_start(CHOPIN_DEMO_BIN, NULL);
    expect_rejected_s(s,
                      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                      400);
    expect_rejected_s(s,
                      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                      "Content-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                      400);
    stop_ok(s);
}

Test(limits, bad_chunk_size_400) {
    h_server *s = h_start(CHOPIN_DEMO_BIN, NULL);
    const char *head = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    const char *bodies[] = {
        "zz\r\nhello\r\n0\r\n\r\n",                /* not hex */
        "-5\r\nhello\r\n0\r\n\r\n",                /* sign */
        "\r\nhello\r\n0\r\n\r\n",                  /* empty size */
        "0x5\r\nhello\r\n0\r\n\r\n",               /* 0x prefix */
        "5\r\nhelloXX\r\n0\r\n\r\n",               /* data longer than the size */
        "11111111111111111\r\nhello\r\n0\r\n\r\n", /* 17 digits */
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        char req[512];
        snprintf(req, sizeof req, "%s%s", head, bodies[i]);
        expect_rejected_s(s, req, 400);
    }
    stop_ok(s);
}

Test(limits, obs_fold_400) {
    h_server *s = h_start(CHOPIN_DEMO_BIN, NULL);
    expect_rejected_s(s, "GET /hello/x HTTP/1.1\r\nHost: x\r\nX-A: one\r\n  two\r\n\r\n", 400);
    expect_rejected_s(s, "GET /hello/x HTTP/1.1\r\nHost: x\r\nX-A: one\r\n\ttwo\r\n\r\n", 400);
    stop_ok(s);
}

Test(limits, bare_lf_400) {
    h_server *s = h_start(CHOPIN_DEMO_BIN, NULL);
    expect_rejected_s(s, "GET /hello/x HTTP/1.1\nHost: x\n\n", 400);
    expect_rejected_s(s, "GET /hello/x HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n", 400);
    expect_rejected_s(s, "GET /hello/x HTTP/1.1\r\nHost: x\r\n\n", 400);
    stop_ok(s);
}

Test(limits, nul_byte_400) {
    h_server *s = h_start(CHOPIN_DEMO_BIN, NULL);
    static const char in_value[] = "GET /hello/x HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n";
    expect_rejected(s, in_value, sizeof in_value - 1, 400);
    static const char in_target[] = "GET /hello/x\0y HTTP/1.1\r\nHost: x\r\n\r\n";
    expect_rejected(s, in_target, sizeof in_target - 1, 400);
    static const char in_name[] = "GET /hello/x HTTP/1.1\r\nHost: x\r\nX-\0A: a\r\n\r\n";
    expect_rejected(s, in_name, sizeof in_name - 1, 400);
    stop_ok(s);
}

Test(limits, unknown_method_501) {
    h_server *s = h_start(CHOPIN_DEMO_BIN, NULL);
    expect_rejected_s(s, "BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n", 501);
    expect_rejected_s(s, "TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", 501);
    stop_ok(s);
}

Test(limits, http2_version_505) {
    h_server *s = h_start(CHOPIN_DEMO_BIN, NULL);
    expect_rejected_s(s, "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505);

    stop_ok(s);
}

Test(limits, differing_duplicate_content_length_400) {
    h_server *s = h_start(CHOPIN_DEMO_BIN, NULL);
    expect_rejected_s(s,
                      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                      "Content-Length: 6\r\n\r\nhello!",
                      400);
    /* Identical duplicates are one length. */
    h_response *r = expect_ok(s,
                              "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                              "Content-Length: 5\r\n\r\nhello",
                              200);
    cr_assert_str_eq(r->body, "hello");
    h_response_free(r);
    stop_ok(s);
}

/* --- Timeouts ------------------------------------------------------------------ */

/* A client trickling a head one byte every 200 ms is cut off after the 1 s
 * header timeout (408 then close, or just close), while another client on
 * the same worker is served normally all along. */
Test(limits, slowloris_cut_off_by_header_timeout) {
    const char *env[] = {"CHOPIN_HEADER_TIMEOUT=1s", "CHOPIN_ACCESS_LOG=0", NULL};
    h_server *s = h_start(CHOPIN_DEMO_BIN, env);
    static const char trickle[] = "GET /hello/slow HTTP/1.1\r\nHost: x\r\nX-Slow: "
                                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    h_conn *slow = h_connect(s->port);
    int64_t t0 = h_now_ms(), cut_at = -1;
    int served = 0;
    for (size_t i = 0; i < sizeof trickle - 1 && h_now_ms() - t0 < 5000; i++) {
        if (!h_send(slow, trickle + i, 1)) {
            cut_at = h_now_ms();
            break;
        }
        /* A normal client meanwhile. */
        h_conn *other = h_connect(s->port);
        h_response *r = h_roundtrip(other, "GET /hello/normal HTTP/1.1\r\nHost: x\r\n\r\n");
        cr_assert_not_null(r, "a normal client failed while the slow one trickled: %s",
                           h_last_error());
        cr_assert_eq(r->status, 200);
        served++;
        h_response_free(r);
        h_close(other);
        /* Wait out the rest of the 200 ms, watching for the close. */
        int64_t next = t0 + (int64_t)(i + 1) * 200;
        while (!slow->eof && h_now_ms() < next) h_read_some(slow, (int)(next - h_now_ms()));
        if (slow->eof) {
            cut_at = h_now_ms();
            break;
        }
    }
    cr_assert(cut_at >= 0, "the trickling client was never disconnected (%lld ms)",
              (long long)(h_now_ms() - t0));
    int64_t after = cut_at - t0;
    cr_assert(after >= 800 && after <= 3000, "disconnected after %lld ms, want ~1-3 s",
              (long long)after);
    if (slow->len) { /* a 408 before the close */
        h_response *r;
        cr_assert_gt(h_parse_response(slow->buf, slow->len, false, true, &r), 0,
                     "garbage before the close: '%.80s'", slow->buf);
        cr_assert(h_is_error_envelope(r, 408), "status %d: %s", r->status, r->body);
        h_response_free(r);
    }
    cr_assert_geq(served, 4, "only %d normal requests served during the trickle", served);
    h_close(slow);
    stop_ok(s);
}

Test(limits, keepalive_idle_timeout_closes) {
    const char *env[] = {"CHOPIN_KEEPALIVE_TIMEOUT=1s", NULL};
    h_server *s = h_start(CHOPIN_TFB_BIN, env);
    h_conn *c = h_connect(s->port);
    h_response *r = h_roundtrip(c, "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert_not_null(r, "%s", h_last_error());
    h_response_free(r);
    /* Still open after half the timeout, and the timer restarts. */
    h_sleep_ms(600);
    r = h_roundtrip(c, "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert_not_null(r, "the connection died before the idle timeout: %s", h_last_error());
    h_response_free(r);
    int64_t t0 = h_now_ms();
    cr_assert(h_wait_close(c, 4000), "an idle connection must be closed after 1 s");
    int64_t after = h_now_ms() - t0;
    cr_assert(after >= 700 && after <= 3000, "closed after %lld ms idle, want ~1 s",
              (long long)after);
    cr_assert_eq(c->len, 0, "an idle close sends nothing: '%s'", c->buf);
    h_close(c);
    stop_ok(s);
}

/* --- Connection limits ---------------------------------------------------------- */

/* Holds CHOPIN_MAX_CONNECTIONS=4 connections open (one worker), each having
 * made a request, so all four are accepted and counted. */
static h_server *start_full(h_conn *held[4]) {
    const char *env[] = {"CHOPIN_MAX_CONNECTIONS=4", "CHOPIN_WORKERS=1", NULL};
    h_server *s = h_start(CHOPIN_TFB_BIN, env);
    for (int i = 0; i < 4; i++) {
        held[i] = h_connect(s->port);
        h_response *r = h_roundtrip(held[i], "GET /json HTTP/1.1\r\nHost: x\r\n\r\n");
        cr_assert_not_null(r, "connection %d: %s", i, h_last_error());
        cr_assert_eq(r->status, 200);
        h_response_free(r);
    }
    return s;
}

/* Over the limit: a complete 503 with the envelope, then the close. */
Test(limits, max_connections_503_envelope) {
    h_conn *held[4];
    h_server *s = start_full(held);
    h_conn *extra = h_connect(s->port);
    h_response *r = h_read_response(extra, false, H_TIMEOUT_MS);
    cr_assert_not_null(r, "extra connection: %s", h_last_error());
    cr_assert_eq(r->status, 503);
    const char *conn = h_header(r, "Connection");
    cr_assert(conn && !strcasecmp(conn, "close"));
    cr_assert(h_wait_close(extra, 2000), "the server must close an over-limit connection");
    cr_assert(h_is_error_envelope(r, 503), "503 body (Content-Length %s): %s",
              h_header(r, "Content-Length"), r->body);
    cr_assert_eq(extra->len, 0, "%zu bytes after the 503 response: '%s'", extra->len, extra->buf);
    h_response_free(r);
    h_close(extra);
    for (int i = 0; i < 4; i++) h_close(held[i]);
    stop_ok(s);
}

/* The held connections keep working; once two close, new connections are
 * served again. */
Test(limits, max_connections_recovers) {
    h_conn *held[4];
    h_server *s = start_full(held);
    for (int k = 0; k < 3; k++) {
        h_conn *extra = h_connect(s->port);
        h_response *r = h_read_response(extra, false, H_TIMEOUT_MS);
        cr_assert_not_null(r, "extra connection %d: %s", k, h_last_error());
        cr_assert_eq(r->status, 503);
        cr_assert(h_wait_close(extra, 2000));
        h_response_free(r);
        h_close(extra);
    }
    for (int i = 0; i < 4; i++) {
        h_response *r = h_roundtrip(held[i], "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
        cr_assert_not_null(r, "held connection %d: %s", i, h_last_error());
        cr_assert_eq(r->status, 200);
        h_response_free(r);
    }
    /* The server learns of the closes asynchronously: allow it a moment. */
    h_close(held[0]);
    h_close(held[1]);
    int64_t deadline = h_now_ms() + 2000;
    int ok = 0;
    while (ok < 2 && h_now_ms() < deadline) {
        h_conn *c = h_connect(s->port);
        h_response *r = h_roundtrip(c, "GET /json HTTP/1.1\r\nHost: x\r\n\r\n");
        cr_assert_not_null(r, "%s", h_last_error());
        if (r->status == 200) {
            ok++;
            held[ok - 1] = c; /* keep it: it counts against the limit */
        } else {
            cr_assert_eq(r->status, 503);
            h_close(c);
            h_sleep_ms(20);
        }
        h_response_free(r);
    }
    cr_assert_eq(ok, 2, "the server did not serve again after two connections closed");
    /* Full again. */
    h_conn *extra = h_connect(s->port);
    h_response *r = h_read_response(extra, false, H_TIMEOUT_MS);
    cr_assert_not_null(r, "%s", h_last_error());
    cr_assert_eq(r->status, 503, "a fifth connection must be refused again");
    h_response_free(r);
    h_close(extra);
    for (int i = 0; i < 4; i++) h_close(held[i]);
    stop_ok(s);
}

Test(limits, thousand_concurrent_connections) {
    enum { N = 1000 };
    struct rlimit rl;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rlim_t nofile = 4096;
    if (rl.rlim_cur < nofile) {
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 2 * N + 100)
            cr_skip_test("RLIMIT_NOFILE hard limit %lu is too low", (unsigned long)rl.rlim_max);
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > nofile ? nofile : rl.rlim_max;
        cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0, "setrlimit: %s", strerror(errno));
    }
    /* The server inherits the raised limit. */
    const char *env[] = {"CHOPIN_WORKERS=2", "CHOPIN_ACCESS_LOG=0", NULL};
    h_server *s = h_start(CHOPIN_DEMO_BIN, env);

    struct pollfd *pfd = calloc(N, sizeof *pfd);
    h_conn *conns = calloc(N, sizeof *conns);
    int *state = calloc(N, sizeof *state); /* 0 connecting, 1 connected, 2 answered */
    char req[N][64];
    size_t req_len[N];
    for (int i = 0; i < N; i++) {
        int fd = h_socket_connecting(s->port);
        cr_assert(fd >= 0, "socket %d: %s", i, strerror(errno));
        conns[i].fd = fd;
        req_len[i] = (size_t)snprintf(req[i], sizeof req[i],
                                      "GET /hello/c%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
    }
    /* Phase 1: every connection established, all open at once. */
    int64_t deadline = h_now_ms() + 20000;
    int connected = 0;
    while (connected < N && h_now_ms() < deadline) {
        for (int i = 0; i < N; i++) {
            pfd[i].fd = state[i] == 0 ? conns[i].fd : -1;
            pfd[i].events = POLLOUT;
            pfd[i].revents = 0;
        }
        cr_assert_geq(poll(pfd, N, 1000), 0);
        for (int i = 0; i < N; i++) {
            if (!pfd[i].revents) continue;
            int err = 0;
            socklen_t elen = sizeof err;
            getsockopt(conns[i].fd, SOL_SOCKET, SO_ERROR, &err, &elen);
            cr_assert_eq(err, 0, "connect %d: %s", i, strerror(err));
            state[i] = 1;
            connected++;
        }
    }
    cr_assert_eq(connected, N, "only %d of %d connections established", connected, N);
    /* Phase 2: a request on each; every one answered 200, connections held. */
    for (int i = 0; i < N; i++) cr_assert(h_send(&conns[i], req[i], req_len[i]), "send %d", i);
    int answered = 0;
    while (answered < N && h_now_ms() < deadline) {
        for (int i = 0; i < N; i++) {
            pfd[i].fd = state[i] == 1 ? conns[i].fd : -1;
            pfd[i].events = POLLIN;
            pfd[i].revents = 0;
        }
        cr_assert_geq(poll(pfd, N, 1000), 0);
        for (int i = 0; i < N; i++) {
            if (!pfd[i].revents) continue;
            h_read_some(&conns[i], 0);
            h_response *r;
            long n = h_parse_response(conns[i].buf ? conns[i].buf : "", conns[i].len, false,
                                      conns[i].eof, &r);
            cr_assert_geq(n, 0, "connection %d: %s", i, h_last_error());
            if (n == 0) {
                cr_assert(!conns[i].eof, "connection %d closed before its response", i);
                continue;
            }
            cr_assert_eq(r->status, 200, "connection %d: status %d", i, r->status);
            char want[64];
            snprintf(want, sizeof want, "{\"success\":true,\"data\":{\"message\":\"Hello, c%d!\"}}",
                     i);
            cr_assert_str_eq(r->body, want, "connection %d", i);
            h_response_free(r);
            state[i] = 2;
            answered++;
        }
    }
    cr_assert_eq(answered, N, "only %d of %d connections answered", answered, N);
    for (int i = 0; i < N; i++) {
        close(conns[i].fd);
        free(conns[i].buf);
    }
    free(conns);
    free(pfd);
    free(state);
    stop_ok(s);
}

/* --- Half-close ------------------------------------------------------------------ */

Test(limits, half_close_after_request_still_answered) {
    h_server *s = h_start(CHOPIN_DEMO_BIN, NULL);
    for (int i = 0; i < 5; i++) {
        h_conn *c = h_connect(s->port);
        cr_assert(h_sends(c, "GET /hello/half HTTP/1.1\r\nHost: x\r\n\r\n"));
        cr_assert_eq(shutdown(c->fd, SHUT_WR), 0);
        h_response *r = h_read_response(c, false, H_TIMEOUT_MS);
        cr_assert_not_null(r, "round %d: no response after half-close: %s", i, h_last_error());
        cr_assert_eq(r->status, 200);
        cr_assert_str_eq(r->body, "{\"success\":true,\"data\":{\"message\":\"Hello, half!\"}}");
        h_response_free(r);
        h_close(c);
    }
    /* Pipelined requests before the half-close: all answered. */
    h_conn *c = h_connect(s->port);
    cr_assert(h_sends(c, "GET /hello/a HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /hello/b HTTP/1.1\r\nHost: x\r\n\r\n"));
    cr_assert_eq(shutdown(c->fd, SHUT_WR), 0);
    const char *want[] = {"{\"success\":true,\"data\":{\"message\":\"Hello, a!\"}}",
                          "{\"success\":true,\"data\":{\"message\":\"Hello, b!\"}}"};
    for (int i = 0; i < 2; i++) {
        h_response *r = h_read_response(c, false, H_TIMEOUT_MS);
        cr_assert_not_null(r, "pipelined %d after half-close: %s", i, h_last_error());
        cr_assert_str_eq(r->body, want[i]);
        h_response_free(r);
    }
    h_close(c);
    stop_ok(s);
}

/* Once a half-closed client has its response, nothing more can come on the
 * connection: the server should close its side promptly rather than keep
 * the connection until the keep-alive timeout (60 s by default). */
Test(limits, half_close_then_server_closes) {
    h_server *s = h_start(CHOPIN_DEMO_BIN, NULL);
    /* Deterministic form: the only worker is busy with a slow request while
     * the request and the FIN arrive, so both wait in the socket together. */
    h_conn *busy = h_connect(s->port);
    cr_assert(h_sends(busy, "GET /slow?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n"));
    h_sleep_ms(100);
    h_conn *hc = h_connect(s->port);
    cr_assert(h_sends(hc, "GET /hello/half HTTP/1.1\r\nHost: x\r\n\r\n"));
    cr_assert_eq(shutdown(hc->fd, SHUT_WR), 0);
    h_response *r = h_read_response(hc, false, H_TIMEOUT_MS);
    cr_assert_not_null(r, "%s", h_last_error());
    cr_assert_eq(r->status, 200);
    h_response_free(r);
    r = h_read_response(busy, false, H_TIMEOUT_MS);
    cr_assert_not_null(r, "%s", h_last_error());
    h_response_free(r);
    h_close(busy);
    cr_assert(h_wait_close(hc, 2000),
              "request and FIN queued together: the server answered but kept the "
              "half-closed connection open");
    h_close(hc);
    /* And as fast as a client can go. */
    for (int i = 0; i < 5; i++) {
        h_conn *c = h_connect(s->port);
        cr_assert(h_sends(c, "GET /hello/half HTTP/1.1\r\nHost: x\r\n\r\n"));
        cr_assert_eq(shutdown(c->fd, SHUT_WR), 0);
        r = h_read_response(c, false, H_TIMEOUT_MS);
        cr_assert_not_null(r, "round %d: %s", i, h_last_error());
        h_response_free(r);
        cr_assert(h_wait_close(c, 2000),
                  "round %d: the server kept a half-closed connection open after answering", i);
        h_close(c);
    }
    stop_ok(s);
}

/* --- Backpressure ------------------------------------------------------------- */

/* 200 pipelined requests for ~200-400 KiB responses each (~60 MiB in all),
 * and a client that does not read for 1 s: the server must stop producing
 * once CHOPIN_MAX_PENDING_OUTPUT (1 MiB) is waiting, so its memory stays
 * bounded; then every response arrives, complete and in order. */
#define BIG_HEAD "{\"success\":true,\"data\":[{\"i\":0,"
Test(limits, backpressure_bounds_memory) {
    enum { N = 200 };
    const char *env[] = {"CHOPIN_ACCESS_LOG=0", NULL};
    h_server *s = h_start(CHOPIN_DEMO_BIN, env);
    /* Warm up: one big response, so buffers and pools exist before the baseline. */
    h_conn *w = h_connect(s->port);
    h_response *r = h_roundtrip(w, "GET /big?kib=400 HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert_not_null(r, "%s", h_last_error());
    h_response_free(r);
    h_close(w);
    h_sleep_ms(100);
    long base = h_rss_kib(s);
    cr_assert_gt(base, 0);

    h_conn *c = h_connect(s->port);
    char *batch = malloc(N * 64);
    size_t len = 0;
    for (int i = 0; i < N; i++)
        len += (size_t)sprintf(batch + len, "GET /big?kib=%d HTTP/1.1\r\nHost: x\r\n\r\n", 200 + i);
    cr_assert(h_send(c, batch, len));
    free(batch);
    h_sleep_ms(1000);
    long rss = h_rss_kib(s), hwm = h_hwm_kib(s);
    long peak = hwm > rss ? hwm : rss;
    cr_log_info("backpressure: RSS %ld KiB before, %ld KiB after 1 s unread (peak %ld KiB)", base,
                rss, peak);
    cr_assert_lt(peak - base, 30 * 1024,
                 "server memory grew by %ld KiB while the client did not read (limit 30 MiB)",
                 peak - base);

    for (int i = 0; i < N; i++) {
        r = h_read_response(c, false, 10000);
        cr_assert_not_null(r, "response %d: %s", i, h_last_error());
        cr_assert_eq(r->status, 200, "response %d", i);
        int kib = 200 + i;
        char tail[128];
        int tl = snprintf(tail, sizeof tail,
                          "{\"i\":%d,\"s\":\"0123456789abcdef0123456789abcdef0123456789\"}]}",
                          kib * 16 - 1);
        cr_assert(r->body_len > (size_t)tl && !memcmp(r->body, BIG_HEAD, sizeof BIG_HEAD - 1) &&
                      !memcmp(r->body + r->body_len - tl, tail, (size_t)tl),
                  "response %d incomplete or out of order (length %zu)", i, r->body_len);
        h_response_free(r);
    }
    cr_assert(!h_wait_close(c, 100));
    cr_assert_eq(c->len, 0);
    h_close(c);
    stop_ok(s);
}

/* CPU seconds the process has used (user + system), from /proc. */
static double cpu_seconds(pid_t pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the command may hold spaces */
    unsigned long utime = 0, stime = 0;
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* Out of file descriptors: the server neither spins nor floods its log
 * (the listener leaves the loop for a moment, one line every 10 s), the
 * clients past the limit wait in the backlog, and are served as soon as
 * descriptors come free. */
Test(limits, out_of_file_descriptors_waits_quietly) {
    struct rlimit old, low = {.rlim_cur = 40, .rlim_max = 40};
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    low.rlim_max = old.rlim_max;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    static const char *const one_worker[] = {"CHOPIN_ACCESS_LOG=0", "CHOPIN_WORKERS=1", NULL};
    h_server *s = h_start(CHOPIN_DEMO_BIN, one_worker);
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0); /* the server keeps the low one */
    enum { HELD = 60 };
    h_conn *held[HELD];
    for (int i = 0; i < HELD; i++) held[i] = h_connect(s->port);
    h_sleep_ms(300);
    double before = cpu_seconds(s->pid);
    h_sleep_ms(1000);
    double used = cpu_seconds(s->pid) - before;
    cr_assert_lt(used, 0.3, "the server spun: %.2f CPU-s in 1 s with no descriptors", used);
    char *log = h_stderr(s);
    size_t lines = 0;
    for (const char *p = log; (p = strstr(p, "out of file descriptors")); p++) lines++;
    free(log);
    cr_assert_eq(lines, 1, "%zu warnings, one expected", lines);
    /* The last connections wait in the backlog; freeing the first ones lets
     * the server take them, and they are answered. */
    for (int i = 0; i < 45; i++) h_close(held[i]);
    for (int i = 45; i < HELD; i++) {
        h_response *r = h_roundtrip(held[i], "GET /hello/fd HTTP/1.1\r\nHost: x\r\n\r\n");
        cr_assert_not_null(r, "connection %d: %s", i, h_last_error());
        cr_assert_eq(r->status, 200);
        h_response_free(r);
        h_close(held[i]);
    }
    cr_assert_eq(h_stop(s), 0);
    h_free(s);
}
