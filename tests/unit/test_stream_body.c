/* test_stream_body.c - request bodies streamed to their handler (.stream_body
 * and chopin_body_read): Content-Length and chunked, in the test client and
 * over real sockets with the body arriving in pieces and pauses; the
 * route's limit (413 before reading when announced, EMSGSIZE when chunked);
 * bad framing; 100-continue only once the handler asks; a handler that does
 * not read the body; pipelined requests after a streamed one; memory that
 * does not grow with the body. */
#include <criterion/criterion.h>

#include <chopin.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static chopin_app *app;
static int sink_runs;

/* Reads the whole body in pieces of ?piece= bytes and answers its size, an
 * FNV-1a of it, and the largest piece it got. */
static void sink(chopin_ctx *c) {
    sink_runs++;
    chopin_str piece_s = chopin_query(c, "piece");
    size_t piece = piece_s.ptr ? (size_t)atol(chopin_strdup(c, piece_s.ptr, piece_s.len)) : 4096;
    if (piece < 1 || piece > 1 << 20) piece = 4096;
    char *buf = chopin_alloc(c, piece);
    uint64_t h = 1469598103934665603ull, total = 0;
    ssize_t n;
    while ((n = chopin_body_read(c, buf, piece)) > 0) {
        for (ssize_t i = 0; i < n; i++) h = (h ^ (unsigned char)buf[i]) * 1099511628211ull;
        total += (uint64_t)n;
    }
    if (n < 0) {
        int status = errno == EMSGSIZE ? 413 : errno == EPROTO ? 400 : 499;
        if (!chopin_responded(c)) chopin_error(c, status, "BODY", strerror(errno));
        return;
    }
    char out[128];
    snprintf(out, sizeof out, "%llu %016llx %d", (unsigned long long)total, (unsigned long long)h,
             chopin_body_streamed(c));
    chopin_text(c, 200, out);
}

static void ignore_body(chopin_ctx *c) {
    sink_runs++;
    chopin_text(c, 200, "not reading it");
}

static void setup(void) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    cfg.workers = 1;
    cfg.port = 0;
    cfg.max_body_bytes = 1024; /* buffered routes: small */
    snprintf(cfg.database_url, sizeof cfg.database_url, "sqlite::memory:");
    app = chopin_app_new_with(&cfg);
    cr_assert_not_null(app);
    sink_runs = 0;
    chopin_post_with(app, "/sink", sink, .stream_body = true, .max_body_bytes = 64 << 20);
    chopin_post_with(app, "/small", sink, .stream_body = true, .max_body_bytes = 1000);
    chopin_post_with(app, "/ignore", ignore_body, .stream_body = true);
    chopin_post(app, "/buffered", sink);
}

static void teardown(void) {
    chopin_app_free(app);
}

TestSuite(stream_body, .init = setup, .fini = teardown, .timeout = 60);

static uint64_t fnv(const char *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

static char *pattern(size_t n) {
    char *p = malloc(n);
    cr_assert_not_null(p);
    for (size_t i = 0; i < n; i++) p[i] = (char)(i * 131 + (i >> 9));
    return p;
}

static void expect_sum(const char *body, size_t n, const char *got, int streamed) {
    char want[128];
    snprintf(want, sizeof want, "%zu %016llx %d", n, (unsigned long long)fnv(body, n), streamed);
    cr_assert_str_eq(got, want);
}

Test(stream_body, content_length_in_pieces_through_the_test_client) {
    size_t n = 1 << 20;
    char *body = pattern(n);
    const char *pieces[] = {"/sink?piece=1", "/sink?piece=1000", "/sink?piece=65536"};
    for (size_t i = 0; i < 3; i++) {
        if (i == 0)
            n = 5000; /* a byte at a time: keep it short */
        else
            n = 1 << 20;
        chopin_test_response *r = chopin_test_request(app, "POST", pieces[i], NULL, body, n);
        cr_assert_eq(r->status, 200, "%s", r->body);
        expect_sum(body, n, r->body, 1);
        chopin_test_response_free(r);
    }
    free(body);
}

Test(stream_body, buffered_routes_read_the_same_way) {
    char *body = pattern(1000);
    chopin_test_response *r =
        chopin_test_request(app, "POST", "/buffered?piece=7", NULL, body, 1000);
    cr_assert_eq(r->status, 200);
    expect_sum(body, 1000, r->body, 0);
    chopin_test_response_free(r);
    free(body);
}

/* A chunked body, then a pipelined request behind it on the same input. */
Test(stream_body, chunked_and_pipelined) {
    static const char raw[] =
        "POST /sink?piece=3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"
        "POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
    size_t len;
    char *out = chopin_test_raw(app, raw, sizeof raw - 1, &len);
    cr_assert_not_null(out);
    char want1[64], want2[64];
    snprintf(want1, sizeof want1, "16 %016llx 1", (unsigned long long)fnv("hello 0123456789", 16));
    snprintf(want2, sizeof want2, "3 %016llx 1", (unsigned long long)fnv("abc", 3));
    char *first = strstr(out, want1), *second = strstr(out, want2);
    cr_assert(first && second && first < second, "%s", out);
    free(out);
}

Test(stream_body, an_announced_body_over_the_limit_is_refused_before_it_is_read) {
    char body[1001] = {0};
    chopin_test_response *r = chopin_test_request(app, "POST", "/small", NULL, body, 1001);
    cr_assert_eq(r->status, 413);
    cr_assert_eq(sink_runs, 0, "the handler did not run");
    chopin_test_response_free(r);
    r = chopin_test_request(app, "POST", "/small", NULL, body, 1000);
    cr_assert_eq(r->status, 200, "at the limit: %s", r->body);
    chopin_test_response_free(r);
}

Test(stream_body, a_chunked_body_over_the_limit_and_bad_framing) {
    char raw[4096];
    int n = snprintf(raw, sizeof raw,
                     "POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "3e8\r\n%01000d\r\n1\r\nx\r\n0\r\n\r\n",
                     0);
    size_t len;
    char *out = chopin_test_raw(app, raw, (size_t)n, &len);
    cr_assert(strstr(out, "HTTP/1.1 413 "), "%s", out);
    cr_assert(strstr(out, "Connection: close"), "the rest cannot be framed: %s", out);
    free(out);
    static const char bad[] = "POST /sink HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "zz\r\nhello\r\n0\r\n\r\n";
    out = chopin_test_raw(app, bad, sizeof bad - 1, &len);
    cr_assert(strstr(out, "HTTP/1.1 400 "), "%s", out);
    free(out);
}

Test(stream_body, a_handler_that_does_not_read_closes_the_connection) {
    static const char raw[] =
        "POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"
        "GET /never HTTP/1.1\r\nHost: x\r\n\r\n";
    size_t len;
    char *out = chopin_test_raw(app, raw, sizeof raw - 1, &len);
    cr_assert(strstr(out, "not reading it"), "%s", out);
    cr_assert(strstr(out, "Connection: close"), "%s", out);
    cr_assert_null(strstr(out, "HTTP/1.1 404"), "nothing after it is read: %s", out);
    free(out);
}

/* --- Over real sockets -------------------------------------------------------------- */

static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void send_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        cr_assert_gt(k, 0, "send: %s", strerror(errno));
        p += k, n -= (size_t)k;
    }
}

/* Reads until the peer closes or timeout_ms passes; NUL-terminated. */
static char *read_all(int fd, int timeout_ms, size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0) break;
        ssize_t k = recv(fd, out + n, cap - n - 1, 0);
        if (k <= 0) break;
        n += (size_t)k;
        if (cap - n < 1024) out = realloc(out, cap *= 2);
    }
    out[n] = 0;
    *len = n;
    return out;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kib = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return kib;
}

/* 48 MiB in 256 KiB writes with pauses: the handler waits for the pieces,
 * and the process does not grow by the body's size. */
Test(stream_body, a_large_body_over_a_socket_in_pieces) {
    cr_assert_eq(chopin_app_start(app), 0);
    int fd = connect_to(chopin_app_port(app));
    const size_t total = 48 << 20, piece = 256 << 10;
    char *chunk = pattern(piece);
    char head[256];
    int hn = snprintf(head, sizeof head,
                      "POST /sink?piece=65536 HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      total);
    send_all(fd, head, (size_t)hn);
    long before = rss_kib();
    uint64_t h = 1469598103934665603ull;
    for (size_t sent = 0; sent < total; sent += piece) {
        send_all(fd, chunk, piece);
        for (size_t i = 0; i < piece; i++) h = (h ^ (unsigned char)chunk[i]) * 1099511628211ull;
        if (sent % (8 << 20) == 0) sleep_ms(20);
    }
    long grown = rss_kib() - before;
    size_t len;
    char *out = read_all(fd, 10000, &len);
    char want[128];
    snprintf(want, sizeof want, "%zu %016llx 1", total, (unsigned long long)h);
    cr_assert(strstr(out, want), "%s", out);
    cr_log_info("48 MiB streamed; RSS grew %ld KiB meanwhile", grown);
    cr_assert_lt(grown, 16 * 1024, "RSS grew %ld KiB for a 48 MiB body", grown);
    free(out);
    free(chunk);
    close(fd);
    chopin_app_stop(app);
    chopin_app_wait(app);
}

/* 100-continue is sent when the handler first reads, not before: a client
 * that waits for it sends the body only then. */
Test(stream_body, expect_100_continue_when_the_handler_reads) {
    cr_assert_eq(chopin_app_start(app), 0);
    int fd = connect_to(chopin_app_port(app));
    static const char head[] = "POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                               "Expect: 100-continue\r\nConnection: close\r\n\r\n";
    send_all(fd, head, sizeof head - 1);
    char buf[256] = {0};
    struct pollfd p = {.fd = fd, .events = POLLIN};
    cr_assert_eq(poll(&p, 1, 3000), 1, "no 100 Continue");
    ssize_t k = recv(fd, buf, sizeof buf - 1, 0);
    cr_assert_gt(k, 0);
    cr_assert(!strncmp(buf, "HTTP/1.1 100 Continue\r\n\r\n", 25), "%s", buf);
    send_all(fd, "hello", 5);
    size_t len;
    char *out = read_all(fd, 3000, &len);
    char want[64];
    snprintf(want, sizeof want, "5 %016llx 1", (unsigned long long)fnv("hello", 5));
    cr_assert(strstr(out, want), "%s", out);
    free(out);
    close(fd);
    /* A refused upload: the answer comes without 100 Continue, before any body. */
    fd = connect_to(chopin_app_port(app));
    static const char big[] = "POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
                              "Expect: 100-continue\r\n\r\n";
    send_all(fd, big, sizeof big - 1);
    out = read_all(fd, 3000, &len);
    cr_assert(!strncmp(out, "HTTP/1.1 413 ", 13), "%s", out);
    free(out);
    close(fd);
    chopin_app_stop(app);
    chopin_app_wait(app);
}

/* A client that stops halfway: the handler sees ECONNRESET (or the request
 * ends), nothing hangs, and the worker serves others. */
Test(stream_body, a_client_that_stops_halfway) {
    cr_assert_eq(chopin_app_start(app), 0);
    int fd = connect_to(chopin_app_port(app));
    static const char head[] = "POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n";
    send_all(fd, head, sizeof head - 1);
    char half[1000] = {0};
    send_all(fd, half, sizeof half);
    sleep_ms(100);
    close(fd);
    sleep_ms(200);
    chopin_stats st;
    chopin_app_stats(app, &st);
    cr_assert_eq(st.coroutines, 0, "the handler did not end");
    fd = connect_to(chopin_app_port(app));
    static const char ok[] = "POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                             "Connection: close\r\n\r\nhi";
    send_all(fd, ok, sizeof ok - 1);
    size_t len;
    char *out = read_all(fd, 3000, &len);
    cr_assert(strstr(out, "HTTP/1.1 200 "), "%s", out);
    free(out);
    close(fd);
    chopin_app_stop(app);
    chopin_app_wait(app);
}

/* A client that sends the head and then nothing: the body's clock
 * (CHOPIN_BODY_TIMEOUT) ends it with 408, not the request's (504, later). */
Test(stream_body, a_stalled_body_times_out_on_the_body_clock) {
    chopin_app_free(app); /* the suite's: this one needs short clocks */
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    cfg.workers = 1;
    cfg.port = 0;
    cfg.body_timeout_ms = 400;
    cfg.request_timeout_ms = 10000;
    snprintf(cfg.database_url, sizeof cfg.database_url, "sqlite::memory:");
    app = chopin_app_new_with(&cfg);
    chopin_post_with(app, "/sink", sink, .stream_body = true);
    cr_assert_eq(chopin_app_start(app), 0);
    int fd = connect_to(chopin_app_port(app));
    static const char head[] = "POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n";
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    send_all(fd, head, sizeof head - 1);
    size_t len;
    char *out = read_all(fd, 5000, &len);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_assert(strstr(out, "HTTP/1.1 408 "), "after %.2f s: %s", s, out);
    cr_assert_lt(s, 3.0, "took %.2f s", s);
    free(out);
    close(fd);
    chopin_app_stop(app);
    chopin_app_wait(app);
}
