/* test_hostile_sockets.c - hostile clients against the real chopin-demo,
 * beyond single requests: slow writers and bodies, a reader that never
 * reads, half-closed and aborted sockets, connection floods and pipelining
 * abuse, each with the well-behaved client running through it (hostile.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "hostile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

TestSuite(hostile, .fini = h_cleanup, .timeout = 120);

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/resource.h>

/* --- Small helpers ------------------------------------------------------------ */

/* The inode of the server's end of the client's connection c, from
 * /proc/net/tcp; 0 until the server has accepted it. */
static unsigned long server_side_inode(int server_port, const h_conn *c) {
    struct sockaddr_in me;
    socklen_t len = sizeof me;
    if (getsockname(c->fd, (struct sockaddr *)&me, &len)) return 0;
    unsigned my_port = ntohs(me.sin_port);
    FILE *f = fopen("/proc/net/tcp", "r");
    if (!f) return 0;
    char line[512];
    unsigned long found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        unsigned lport, rport;
        unsigned long inode;
        if (sscanf(line, " %*d: %*x:%x %*x:%x %*x %*s %*s %*s %*u %*u %lu", &lport, &rport,
                   &inode) == 3 &&
            lport == (unsigned)server_port && rport == my_port)
            found = inode;
    }
    fclose(f);
    return found;
}

/* Whether the server process still has a descriptor on socket inode. */
static bool server_holds(const h_server *s, unsigned long inode) {
    char dir[64], want[64];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)s->pid);
    snprintf(want, sizeof want, "socket:[%lu]", inode);
    DIR *d = opendir(dir);
    if (!d) return false;
    bool held = false;
    struct dirent *e;
    while (!held && (e = readdir(d))) {
        char path[600], target[64];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n > 0) {
            target[n] = 0;
            held = !strcmp(target, want);
        }
    }
    closedir(d);
    return held;
}

static void raise_nofile(rlim_t want) {
    struct rlimit rl;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur >= want) return;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
        cr_skip_test("RLIMIT_NOFILE hard limit %lu is too low", (unsigned long)rl.rlim_max);
    rl.rlim_cur = want;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0, "setrlimit: %s", strerror(errno));
}

/* Closes with an RST instead of a FIN. */
static void close_rst(h_conn *c) {
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    h_close(c);
}

/* --- Slow writers ---------------------------------------------------------------- */

/* Reads one response within timeout_ms, failing the test otherwise. */
static h_response *must_read(h_conn *c, int timeout_ms, const char *what) {
    h_response *r = h_read_response(c, false, timeout_ms);
    cr_assert_not_null(r, "%s: %s", what, h_last_error());
    return r;
}

/* At once: one client dribbling a head a byte every 50 ms (done in 2 s,
 * inside the 3 s header timeout: answered), and 50 sending a byte every
 * 250 ms (cut at 3 s, the timeout counting from the connection: 408, close). */
Test(hostile, slow_writers) {
    fixture f;
    fixture_start(&f);
    static const char fast[] = "GET /hello/dribble HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char slow[] =
        "GET /hello/slowloris HTTP/1.1\r\nHost: x\r\nX-Slow: "
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    enum { SLOW = 50 };
    h_conn *dribble = h_connect(f.s->port);
    h_conn *loris[SLOW];
    for (int i = 0; i < SLOW; i++) loris[i] = h_connect(f.s->port);
    int64_t t0 = h_now_ms();
    size_t fast_sent = 0, slow_sent = 0;
    int64_t cut_at[SLOW];
    for (int i = 0; i < SLOW; i++) cut_at[i] = -1;
    int cut = 0;
    for (int tick = 0; h_now_ms() - t0 < 6000 && cut < SLOW; tick++) {
        if (fast_sent < sizeof fast - 1) {
            cr_assert(h_send(dribble, fast + fast_sent, 1), "dribble: %s", strerror(errno));
            fast_sent++;
        }
        if (tick % 5 == 0 && slow_sent < sizeof slow - 1) {
            for (int i = 0; i < SLOW; i++)
                if (cut_at[i] < 0) h_send(loris[i], slow + slow_sent, 1);
            slow_sent++;
        }
        int64_t next = t0 + (int64_t)(tick + 1) * 50;
        for (int i = 0; i < SLOW; i++) {
            if (cut_at[i] >= 0) continue;
            h_read_some(loris[i], 0);
            if (loris[i]->eof) cut_at[i] = h_now_ms(), cut++;
        }
        int64_t left = next - h_now_ms();
        if (left > 0) h_sleep_ms((int)left);
    }
    cr_assert_eq(fast_sent, sizeof fast - 1);
    h_response *r = must_read(dribble, 1000, "the dribbled request");
    char want[96];
    hello_body(want, sizeof want, "dribble");
    cr_assert_eq(r->status, 200, "the dribbled request: %d %s", r->status, r->body);
    cr_assert_str_eq(r->body, want);
    h_response_free(r);
    h_close(dribble);
    cr_assert_eq(cut, SLOW, "%d of %d slow clients were cut off", cut, SLOW);
    for (int i = 0; i < SLOW; i++) {
        int64_t after = cut_at[i] - t0;
        cr_assert(after >= HEADER_TIMEOUT_MS - 300 && after <= HEADER_TIMEOUT_MS + 2000,
                  "slow client %d cut after %lld ms, want about %d", i, (long long)after,
                  HEADER_TIMEOUT_MS);
        h_response *x;
        cr_assert_gt(
            h_parse_response(loris[i]->buf ? loris[i]->buf : "", loris[i]->len, false, true, &x), 0,
            "slow client %d: want a 408 before the close, got '%.80s'", i,
            loris[i]->buf ? loris[i]->buf : "");
        cr_assert(h_is_error_envelope(x, 408), "slow client %d: %d %s", i, x->status, x->body);
        h_response_free(x);
        h_close(loris[i]);
    }
    fixture_finish(&f);
}

/* A body dribbled a byte every 50 ms is fine (the body timeout is between
 * reads); a body that stops is cut after the body timeout with a 408. */
Test(hostile, slow_body) {
    fixture f;
    fixture_start(&f);
    h_conn *c = h_connect(f.s->port);
    cr_assert(h_sends(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n"));
    static const char body[] = "0123456789abcdefghij";
    for (size_t i = 0; i < 20; i++) {
        h_sleep_ms(50);
        cr_assert(h_send(c, body + i, 1));
    }
    h_response *r = must_read(c, 2000, "the dribbled body");
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(r->body, body);
    h_response_free(r);
    h_close(c);

    c = h_connect(f.s->port);
    cr_assert(h_sends(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello"));
    int64_t t0 = h_now_ms();
    r = must_read(c, BODY_TIMEOUT_MS + 3000, "the stalled body");
    int64_t after = h_now_ms() - t0;
    cr_assert(h_is_error_envelope(r, 408), "stalled body: %d %s", r->status, r->body);
    cr_assert(after >= BODY_TIMEOUT_MS - 200 && after <= BODY_TIMEOUT_MS + 2000,
              "408 after %lld ms, want about %d", (long long)after, BODY_TIMEOUT_MS);
    cr_assert(h_wait_close(c, 2000), "the server must close after the 408");
    h_response_free(r);
    h_close(c);
    fixture_finish(&f);
}

/* --- Slow readers ---------------------------------------------------------------- */

/* Twenty pipelined requests for 4 MiB each (80 MiB of answers) from a client
 * that never reads: the server stops producing once its pending output is
 * over CHOPIN_MAX_PENDING_OUTPUT (1 MiB), so its memory peaks at about one
 * response more than that; after CHOPIN_WRITE_TIMEOUT (1 s) without
 * progress it closes the connection. */
Test(hostile, slow_reader) {
    fixture f;
    fixture_start(&f);
    long hwm0 = h_hwm_kib(f.s); /* the warm-up built one such response */
    h_conn *c = h_connect(f.s->port);
    char batch[20 * 64];
    size_t len = 0;
    for (int i = 0; i < 20; i++)
        len += (size_t)sprintf(batch + len, "GET /big?kib=4096 HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert(h_send(c, batch, len));
    int64_t t0 = h_now_ms(), gone_at = -1;
    unsigned long inode = 0;
    while (!inode && h_now_ms() - t0 < 2000) {
        inode = server_side_inode(f.s->port, c);
        if (!inode) h_sleep_ms(10);
    }
    cr_assert_neq(inode, 0, "the server's end of the connection is not in /proc/net/tcp");
    /* The connection must go away on the server's side without the client
     * reading a byte. The FIN would wait behind the unread answers in the
     * kernels' buffers: what is watched is the server dropping the socket. */
    long peak = 0;
    while (h_now_ms() - t0 < WRITE_TIMEOUT_MS + 5000) {
        long rss = h_rss_kib(f.s);
        if (rss > peak) peak = rss;
        if (!server_holds(f.s, inode)) {
            gone_at = h_now_ms();
            break;
        }
        h_sleep_ms(50);
    }
    long hwm = h_hwm_kib(f.s);
    if (hwm > peak) peak = hwm;
    cr_log_info("slow reader: RSS %ld KiB before, peak %ld KiB (high-water mark before %ld KiB)",
                f.rss0, peak, hwm0);
    cr_assert(gone_at >= 0, "the server kept a connection that reads nothing for %lld ms",
              (long long)(h_now_ms() - t0));
    int64_t after = gone_at - t0;
    cr_log_info("slow reader: dropped by the server %lld ms after its requests", (long long)after);
    cr_assert(after >= WRITE_TIMEOUT_MS - 200, "closed after %lld ms, before the write timeout",
              (long long)after);
    /* One 4 MiB response built (the JSON writer's buffer grows by doubling,
     * then the response is copied out: the warm-up's high-water mark shows
     * about 8 MiB for one) plus the 1 MiB of pending output: RSS_GROWTH_KIB
     * over the warm state holds that, and not the 80 MiB of answers a server
     * without backpressure would hold. */
    cr_assert_lt(peak - f.rss0, RSS_GROWTH_KIB,
                 "RSS grew by %ld KiB for a client that reads nothing", peak - f.rss0);
    /* What the client then finds: some of the first answer, then the end. */
    cr_assert(h_wait_close(c, 10000), "the client does not see the close");
    cr_assert_lt(c->len, (size_t)20 * 4096 * 1024, "every answer arrived: no backpressure?");
    h_close(c);
    fixture_finish(&f);
}

/* --- Half-closed and aborted sockets ------------------------------------------ */

/* One pass of half-closed and vanishing clients. */
static void half_close_pass(int port) {
    char want[96];
    /* A whole request, then the client's FIN: answered, then closed. */
    for (int i = 0; i < 20; i++) {
        h_conn *c = h_connect(port);
        cr_assert(h_sends(c, "GET /hello/half HTTP/1.1\r\nHost: x\r\n\r\n"));
        cr_assert_eq(shutdown(c->fd, SHUT_WR), 0);
        h_response *r = must_read(c, H_TIMEOUT_MS, "request then half-close");
        hello_body(want, sizeof want, "half");
        cr_assert_eq(r->status, 200);
        cr_assert_str_eq(r->body, want);
        h_response_free(r);
        cr_assert(h_wait_close(c, 2000),
                  "round %d: not closed after answering a half-closed client", i);
        h_close(c);
    }
    /* Three pipelined, then the FIN: three answers. */
    h_conn *c = h_connect(port);
    cr_assert(h_sends(c, "GET /hello/a HTTP/1.1\r\nHost: x\r\n\r\n"
                         "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok"
                         "GET /hello/c HTTP/1.1\r\nHost: x\r\n\r\n"));
    cr_assert_eq(shutdown(c->fd, SHUT_WR), 0);
    for (int i = 0; i < 3; i++) h_response_free(must_read(c, H_TIMEOUT_MS, "pipelined + FIN"));
    cr_assert(h_wait_close(c, 2000));
    cr_assert_eq(c->len, 0);
    h_close(c);
    /* A large answer to a half-closed client arrives whole. */
    c = h_connect(port);
    cr_assert(h_sends(c, "GET /big?kib=2048 HTTP/1.1\r\nHost: x\r\n\r\n"));
    cr_assert_eq(shutdown(c->fd, SHUT_WR), 0);
    h_response *r = must_read(c, 10000, "2 MiB to a half-closed client");
    cr_assert_eq(r->status, 200);
    static const char tail[] =
        "{\"i\":32767,\"s\":\"0123456789abcdef0123456789abcdef0123456789\"}]}";
    cr_assert(r->body_len > (size_t)1900 * 1024 &&
                  !strcmp(r->body + r->body_len - (sizeof tail - 1), tail),
              "2 MiB answer cut short: %zu bytes", r->body_len);
    h_response_free(r);
    cr_assert(h_wait_close(c, 2000));
    h_close(c);
    /* The FIN before the request is complete: closed, nothing answered. */
    const char *partial[] = {
        "",
        "GET /hello/x HTTP/1.1\r\nHost: x\r\n",
        "GET /hel",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof partial / sizeof partial[0]; i++) {
        c = h_connect(port);
        cr_assert(h_sends(c, partial[i]));
        cr_assert_eq(shutdown(c->fd, SHUT_WR), 0);
        int64_t t0 = h_now_ms();
        cr_assert(h_wait_close(c, 2000), "partial %zu: the server kept it open", i);
        cr_assert(h_now_ms() - t0 < 1000, "partial %zu: closed only after %lld ms", i,
                  (long long)(h_now_ms() - t0));
        /* Only the interim 100 may have come. */
        const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        cr_assert(c->len == 0 || (c->len == sizeof cont - 1 && !memcmp(c->buf, cont, c->len)),
                  "partial %zu: answered '%.80s'", i, c->buf);
        h_close(c);
    }
    /* Clients that vanish: a request then an RST; a large answer asked for
     * and the socket closed unread; an RST in the middle of a head or body. */
    for (int i = 0; i < 100; i++) {
        c = h_connect(port);
        h_sends(c, i % 2 ? "GET /hello/gone HTTP/1.1\r\nHost: x\r\n\r\n"
                         : "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc");
        close_rst(c);
    }
    for (int i = 0; i < 20; i++) {
        c = h_connect(port);
        cr_assert(h_sends(c, "GET /big?kib=1024 HTTP/1.1\r\nHost: x\r\n\r\n"));
        h_read_some(c, 200); /* the answer has started */
        if (i % 2)
            close_rst(c);
        else
            h_close(c);
    }
}

Test(hostile, half_closed_and_aborted) {
    fixture f;
    fixture_start(&f);
    half_close_pass(f.s->port);
    fixture_mark(&f);
    half_close_pass(f.s->port);
    fixture_finish(&f);
}

/* --- Connection floods ---------------------------------------------------------------- */

/* 2000 connections opened and dropped as fast as the client can: FIN, RST,
 * a few bytes then RST, a few bytes then FIN. */
static void churn(int port) {
    for (int i = 0; i < 2000; i++) {
        h_conn *c = h_connect(port);
        switch (i % 4) {
        case 0:
            h_close(c);
            break;
        case 1:
            close_rst(c);
            break;
        case 2:
            h_sends(c, "GET /hello/x HT");
            close_rst(c);
            break;
        default:
            h_sends(c, "\x16\x03\x01");
            h_close(c);
        }
    }
}

/* 500 connections held open without a byte: the server keeps serving
 * meanwhile, and reaps them at the header timeout (no answer: nothing was
 * asked). Then the churn, twice. */
Test(hostile, connection_flood) {
    raise_nofile(2048);
    fixture f;
    fixture_start(&f);
    int port = f.s->port;
    enum { HELD = 500 };
    h_conn **held = calloc(HELD, sizeof *held);
    cr_assert_not_null(held);
    int64_t t0 = h_now_ms();
    for (int i = 0; i < HELD; i++) held[i] = h_connect(port);
    /* Served while they are held. */
    for (int i = 0; i < 20; i++) {
        char name[16];
        snprintf(name, sizeof name, "held%d", i);
        h_response_free(get_ok(port, name));
    }
    int with_held = settled_fds(f.s, 1 << 30, 300);
    cr_assert_geq(with_held, f.fd0 + HELD, "the server has %d descriptors with %d held", with_held,
                  HELD);
    /* Reaped at the header timeout, while the client still holds them: back
     * to f.fd0 plus the well-behaved client's connection (two while it
     * reconnects). */
    int fds = settled_fds(f.s, f.fd0 + 2, HEADER_TIMEOUT_MS + 3000);
    int64_t after = h_now_ms() - t0;
    cr_assert_leq(fds, f.fd0 + 2, "%d descriptors %lld ms after %d silent connections were opened",
                  fds, (long long)after, HELD);
    cr_assert_geq(after, HEADER_TIMEOUT_MS - 300, "silent connections reaped after %lld ms",
                  (long long)after);
    for (int i = 0; i < HELD; i++) {
        cr_assert(h_wait_close(held[i], 1000), "held %d is still open", i);
        cr_assert_eq(held[i]->len, 0, "held %d got '%.40s' without asking", i, held[i]->buf);
        h_close(held[i]);
    }
    free(held);
    churn(port);
    h_response_free(get_ok(port, "after-flood"));
    fixture_mark(&f);
    churn(port);
    h_response_free(get_ok(port, "after-flood"));
    fixture_finish(&f);
}

/* --- Pipelining abuse ---------------------------------------------------------------- */

/* 1000 requests in one write, answered in order; then 1000 more followed by
 * a malformed one: 1000 answers, the 400, the close. */
Test(hostile, pipelined_thousand) {
    fixture f;
    fixture_start(&f);
    enum { N = 1000 };
    char *batch = malloc(N * 64 + 64);
    cr_assert_not_null(batch);
    for (int round = 0; round < 2; round++) {
        size_t len = 0;
        for (int i = 0; i < N; i++)
            len += (size_t)sprintf(batch + len, "GET /hello/p%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
        if (round == 1) len += (size_t)sprintf(batch + len, "GET /hello/bad HTTP/1.1\r\n\r\n");
        h_conn *c = h_connect(f.s->port);
        cr_assert(h_send(c, batch, len), "one write of %zu bytes", len);
        for (int i = 0; i < N; i++) {
            h_response *r = must_read(c, H_TIMEOUT_MS, "pipelined");
            char want[96], name[16];
            snprintf(name, sizeof name, "p%d", i);
            hello_body(want, sizeof want, name);
            cr_assert_eq(r->status, 200, "round %d, answer %d", round, i);
            cr_assert_str_eq(r->body, want, "round %d, answer %d out of order", round, i);
            h_response_free(r);
        }
        if (round == 0) {
            cr_assert(!h_wait_close(c, 100));
        } else {
            h_response *r = must_read(c, H_TIMEOUT_MS, "the malformed one");
            cr_assert(h_is_error_envelope(r, 400), "%d %s", r->status, r->body);
            h_response_free(r);
            cr_assert(h_wait_close(c, 2000));
        }
        cr_assert_eq(c->len, 0);
        h_close(c);
    }
    free(batch);
    fixture_finish(&f);
}
