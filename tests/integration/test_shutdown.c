/* test_shutdown.c - graceful shutdown of a real server on SIGTERM / SIGINT:
 * requests in flight are finished, idle connections are closed, the listener
 * goes away, and a client that never finishes cannot hold the exit past
 * CHOPIN_SHUTDOWN_TIMEOUT. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>

#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

TestSuite(shutdown, .fini = h_cleanup, .timeout = 90);

static void expect_refused(int port, const char *when) {
    errno = 0;
    h_conn *c = h_try_connect(AF_INET, port);
    if (c) {
        /* Accepted by a listener that should be gone: say what happened next. */
        h_response *r = h_roundtrip(c, "GET /hello/late HTTP/1.1\r\nHost: x\r\n\r\n");
        int status = r ? r->status : 0;
        h_response_free(r);
        h_close(c);
        cr_assert_fail("%s: a new connection was accepted (then status %d)", when, status);
    }
    cr_assert_eq(errno, ECONNREFUSED, "%s: connect failed with %s, want ECONNREFUSED", when,
                 strerror(errno));
}

/* 20 connections each with GET /slow?ms=800 in flight on two workers, then
 * SIGTERM 200 ms later: every request completes with a 200, the exit status
 * is 0, and the port refuses connections afterwards. The slow handler holds
 * its worker, so the 20 requests take ~8 s to drain; the shutdown timeout is
 * raised so that this test is about draining, not about the timeout. */
Test(shutdown, in_flight_requests_complete) {
    enum { N = 20 };
    const char *env[] = {"CHOPIN_WORKERS=2", "CHOPIN_SHUTDOWN_TIMEOUT=30s", NULL};
    h_server *s = h_start(CHOPIN_DEMO_BIN, env);
    int port = s->port;
    h_conn *cs[N];
    for (int i = 0; i < N; i++) {
        cs[i] = h_connect(port);
        cr_assert(h_sends(cs[i], "GET /slow?ms=800 HTTP/1.1\r\nHost: x\r\n\r\n"));
    }
    h_sleep_ms(200);
    int64_t t_term = h_now_ms();
    h_signal(s, SIGTERM);
    for (int i = 0; i < N; i++) {
        h_response *r = h_read_response(cs[i], false, 25000);
        cr_assert_not_null(r, "request %d in flight at SIGTERM: %s", i, h_last_error());
        cr_assert_eq(r->status, 200, "request %d: status %d", i, r->status);
        cr_assert_str_eq(r->body, "{\"success\":true,\"data\":{\"slept_ms\":800}}", "request %d",
                         i);
        const char *conn = h_header(r, "Connection");
        if (conn) cr_expect_str_eq(conn, "close");
        h_response_free(r);
    }
    /* Every connection is closed once answered. */
    for (int i = 0; i < N; i++) {
        cr_assert(h_wait_close(cs[i], 3000), "connection %d left open during shutdown", i);
        cr_assert_eq(cs[i]->len, 0);
        h_close(cs[i]);
    }
    /* Nothing is in flight any more: the exit must follow promptly (the
     * shutdown timeout is 30 s, so this is not the timeout firing). */
    int st = h_wait_exit(s, 10000);
    cr_log_info("shutdown with %d slow requests in flight took %lld ms", N,
                (long long)(h_now_ms() - t_term));
    cr_assert_neq(st, -1, "still running 10 s after the last in-flight request was answered");
    cr_assert_eq(st, 0, "exit status %d after SIGTERM", st);
    expect_refused(port, "after the exit");
    h_free(s);
}

/* Keep-alive connections idle at SIGTERM are closed (read returns 0) and the
 * server exits at once, without waiting for them. */
Test(shutdown, idle_keepalive_connections_closed) {
    enum { N = 5 };
    const char *env[] = {"CHOPIN_WORKERS=2", NULL};
    h_server *s = h_start(CHOPIN_TFB_BIN, env);
    h_conn *cs[N];
    for (int i = 0; i < N; i++) {
        cs[i] = h_connect(s->port);
        h_response *r = h_roundtrip(cs[i], "GET /json HTTP/1.1\r\nHost: x\r\n\r\n");
        cr_assert_not_null(r, "%s", h_last_error());
        cr_assert_eq(r->status, 200);
        h_response_free(r);
    }
    /* And one that connected but has not sent anything yet. */
    h_conn *fresh = h_connect(s->port);
    h_sleep_ms(100);
    int64_t t0 = h_now_ms();
    h_signal(s, SIGTERM);
    for (int i = 0; i < N; i++) {
        cr_assert(h_wait_close(cs[i], 2000), "idle connection %d not closed at shutdown", i);
        cr_assert_eq(cs[i]->len, 0, "bytes on an idle connection: '%s'", cs[i]->buf);
        cr_assert_eq(cs[i]->err, 0, "idle connection %d reset rather than closed: %s", i,
                     strerror(cs[i]->err));
        h_close(cs[i]);
    }
    cr_assert(h_wait_close(fresh, 2000), "a fresh, silent connection not closed at shutdown");
    h_close(fresh);
    int st = h_wait_exit(s, 3000);
    int64_t took = h_now_ms() - t0;
    cr_assert_eq(st, 0, "exit status %d (or still running after 3 s)", st);
    cr_assert_lt(took, 2000, "shutdown with only idle connections took %lld ms", (long long)took);
    h_free(s);
}

/* A client that never finishes its request (half a head, or half a body)
 * cannot keep the server alive past CHOPIN_SHUTDOWN_TIMEOUT. */
Test(shutdown, bounded_by_shutdown_timeout) {
    const char *env[] = {"CHOPIN_SHUTDOWN_TIMEOUT=1s", "CHOPIN_WORKERS=1", NULL};
    h_server *s = h_start(CHOPIN_DEMO_BIN, env);
    int port = s->port;
    h_conn *head = h_connect(port);
    cr_assert(h_sends(head, "GET /hello/x HTTP/1.1\r\nHost: x\r\nX-Never: end"));
    h_conn *body = h_connect(port);
    cr_assert(h_sends(body, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf"));
    h_sleep_ms(200);
    int64_t t0 = h_now_ms();
    h_signal(s, SIGTERM);
    int st = h_wait_exit(s, 8000);
    int64_t took = h_now_ms() - t0;
    cr_assert_neq(st, -1, "still running %lld ms after SIGTERM with a 1 s shutdown timeout",
                  (long long)took);
    cr_assert_eq(st, 0, "exit status %d", st);
    cr_assert(took >= 800, "exited after %lld ms: the unfinished requests got no grace period",
              (long long)took);
    cr_assert(took <= 3000, "exited after %lld ms, want ~1 s", (long long)took);
    cr_assert(h_wait_close(head, 1000));
    cr_assert(h_wait_close(body, 1000));
    h_close(head);
    h_close(body);
    expect_refused(port, "after the exit");
    h_free(s);
}

/* SIGTERM while a handler waits (GET /slow suspends its coroutine, the
 * worker stays free) and another keep-alive connection is idle: the idle one
 * is closed at once, the slow request still gets its 200, and with nothing
 * left in flight the server exits promptly, not when CHOPIN_SHUTDOWN_TIMEOUT
 * (5 s here) runs out. */
Test(shutdown, idle_closed_and_waiting_handler_finishes_after_sigterm) {
    const char *env[] = {"CHOPIN_WORKERS=1", "CHOPIN_SHUTDOWN_TIMEOUT=5s", NULL};
    h_server *s = h_start(CHOPIN_DEMO_BIN, env);
    h_conn *idle = h_connect(s->port);
    h_response *r = h_roundtrip(idle, "GET /hello/idle HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert_not_null(r, "%s", h_last_error());
    cr_assert_eq(r->status, 200);
    h_response_free(r);
    h_conn *busy = h_connect(s->port);
    cr_assert(h_sends(busy, "GET /slow?ms=600 HTTP/1.1\r\nHost: x\r\n\r\n"));
    h_sleep_ms(150);
    int64_t t0 = h_now_ms();
    h_signal(s, SIGTERM);
    cr_assert(h_wait_close(idle, 1000), "the idle keep-alive connection is closed at shutdown");
    r = h_read_response(busy, false, H_TIMEOUT_MS);
    cr_assert_not_null(r, "slow request: %s", h_last_error());
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(r->body, "{\"success\":true,\"data\":{\"slept_ms\":600}}");
    cr_assert_str_eq(h_header(r, "Connection"), "close");
    h_response_free(r);
    cr_assert(h_wait_close(busy, 2000));
    h_close(busy);
    h_close(idle);
    int st = h_wait_exit(s, 8000);
    int64_t took = h_now_ms() - t0;
    cr_assert_eq(st, 0, "exit status %d (-1: still running)", st);
    cr_assert_lt(took, 2500,
                 "exit %lld ms after SIGTERM although nothing was in flight after ~450 ms "
                 "(CHOPIN_SHUTDOWN_TIMEOUT is 5 s)",
                 (long long)took);
    h_free(s);
}

/* SIGINT is a graceful stop too, and requests made before it were served. */
Test(shutdown, sigint_exits_zero) {
    h_server *s = h_start(CHOPIN_TFB_BIN, NULL);
    h_conn *c = h_connect(s->port);
    h_response *r = h_roundtrip(c, "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert_not_null(r, "%s", h_last_error());
    h_response_free(r);
    h_close(c);
    cr_assert_eq(h_stop_signal(s, SIGINT), 0);
    char *err = h_stderr(s);
    cr_assert(strstr(err, "msg=stopped signal=SIGINT"), "stderr: %s", err);
    free(err);
    h_free(s);
}
