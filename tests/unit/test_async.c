/* test_async.c - handlers that wait: sleeps, fd waits, the offload pool,
 * cancellation on disconnect, the request deadline and stack overflow.
 *
 * The app runs in this process (chopin_app_start, port 0) so that the tests
 * can read chopin_app_stats; clients are plain sockets. */
#include <criterion/criterion.h>

#include <chopin.h>

#include "loopback.h"

#include "core/core.h" /* CHOPIN_UNDER_TSAN */

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long query_long(chopin_ctx *c, const char *name, long fallback) {
    chopin_str v = chopin_query(c, name);
    return v.ptr ? strtol(chopin_strdup(c, v.ptr, v.len), NULL, 10) : fallback;
}

static void json(chopin_ctx *c) {
    chopin_text(c, 200, "{\"ok\":true}");
}

static void sleep_route(chopin_ctx *c) {
    if (chopin_sleep(c, query_long(c, "ms", 1000)) != 0) return;
    chopin_text(c, 200, "slept");
}

/* Jobs running at once on the pool, and the most seen. */
static atomic_int jobs_running, jobs_running_max;

/* 200 ms of this thread's CPU time, however slow the build. */
static void burn_cpu(void *arg) {
    (void)arg;
    int now = atomic_fetch_add(&jobs_running, 1) + 1;
    for (int seen = atomic_load(&jobs_running_max);
         now > seen && !atomic_compare_exchange_weak(&jobs_running_max, &seen, now);)
        ;
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    int64_t start = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, t;
    volatile uint64_t x = 1;
    do {
        for (int i = 0; i < 10000; i++) x = x * 6364136223846793005ull + 1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        t = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    } while (t - start < 200);
    atomic_fetch_sub(&jobs_running, 1);
}

static void cpu_route(chopin_ctx *c) {
    if (chopin_offload(c, burn_cpu, NULL) != 0) return;
    chopin_text(c, 200, "burnt");
}

/* /pipe/wait waits for a byte on a pipe that /pipe/poke writes: one request
 * waits on an fd while the worker serves the other. */
static int pipe_fds[2] = {-1, -1};

static void pipe_wait(chopin_ctx *c) {
    int r = chopin_wait_fd(c, pipe_fds[0], CHOPIN_READABLE, 5000);
    if (r <= 0) {
        chopin_error(c, 500, "WAIT", r == 0 ? "timed out" : "failed");
        return;
    }
    char byte = 0;
    if (read(pipe_fds[0], &byte, 1) != 1) byte = '?';
    char body[2] = {byte, 0};
    chopin_text(c, 200, body);
}

static void pipe_poke(chopin_ctx *c) {
    ssize_t n = write(pipe_fds[1], "k", 1);
    chopin_text(c, n == 1 ? 200 : 500, "poked");
}

static void wait_timeout(chopin_ctx *c) {
    int fds[2];
    if (pipe(fds)) {
        chopin_error(c, 500, "PIPE", "pipe failed");
        return;
    }
    int64_t t0 = now_ms();
    int r = chopin_wait_fd(c, fds[0], CHOPIN_READABLE, 100);
    int64_t waited = now_ms() - t0;
    ssize_t w = write(fds[1], "x", 1);
    int r2 = chopin_wait_fd(c, fds[0], CHOPIN_READABLE, 1000);
    close(fds[0]);
    close(fds[1]);
    char body[96];
    snprintf(body, sizeof body, "%d %d %d %lld", r, (int)w, r2, (long long)waited);
    chopin_text(c, 200, body);
}

static chopin_app *start_app(int workers, int request_timeout_ms, int offload_threads) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.port = 0;
    cfg.workers = workers;
    cfg.access_log = false;
    cfg.max_connections = 4096;
    cfg.request_timeout_ms = request_timeout_ms;
    cfg.offload_threads = offload_threads;
    chopin_app *app = chopin_app_new_with(&cfg);
    cr_assert_not_null(app);
    chopin_get(app, "/json", json);
    chopin_get(app, "/sleep", sleep_route);
    chopin_get(app, "/cpu", cpu_route);
    chopin_get(app, "/pipe/wait", pipe_wait);
    chopin_get(app, "/pipe/poke", pipe_poke);
    chopin_get(app, "/wait-timeout", wait_timeout);
    cr_assert_eq(chopin_app_start(app), 0);
    return app;
}

static void stop_app(chopin_app *app) {
    chopin_app_stop(app);
    chopin_app_wait(app);
    chopin_app_free(app);
}

static void send_get(int fd, const char *target) {
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", target);
    cr_assert_eq(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
}

/* Reads one response (headers + Content-Length body) within timeout_ms;
 * returns the status, fills body. -1 on timeout or close. */
static int read_response(int fd, char *body, size_t body_cap, int timeout_ms) {
    char buf[4096];
    size_t len = 0;
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        buf[len] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (end) {
            char *cl = strstr(buf, "Content-Length: ");
            size_t blen = cl ? (size_t)atol(cl + 16) : 0;
            if (len >= (size_t)(end + 4 - buf) + blen) {
                int status = atoi(buf + 9);
                size_t n = blen < body_cap - 1 ? blen : body_cap - 1;
                memcpy(body, end + 4, n);
                body[n] = 0;
                return status;
            }
        }
        int left = (int)(deadline - now_ms());
        if (left <= 0 || len == sizeof buf - 1) return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, left) <= 0) return -1;
        ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (n <= 0) return -1;
        len += (size_t)n;
    }
}

static int get(int port, const char *target, char *body, size_t cap, int timeout_ms) {
    int fd = connect_to(port);
    send_get(fd, target);
    int status = read_response(fd, body, cap, timeout_ms);
    close(fd);
    return status;
}

static size_t live_coroutines(chopin_app *app) {
    chopin_stats st;
    chopin_app_stats(app, &st);
    return st.coroutines;
}

/* What the app was busy with when a /json was answered meanwhile: the fewest
 * and the most coroutines and offload jobs seen. */
typedef struct {
    size_t min_coroutines, max_coroutines, min_offload;
} busy;

/* Sends target on n connections at once and collects every response, with
 * /json answered json_checks times meanwhile (busy: what the app was doing
 * then). Returns the time it all took. */
static int64_t concurrent(chopin_app *app, const char *target, int n, const char *expect_body,
                          int timeout_ms, int json_checks, busy *b) {
    int port = chopin_app_port(app);
    int *fds = calloc((size_t)n, sizeof *fds);
    int64_t t0 = now_ms();
    for (int i = 0; i < n; i++) {
        fds[i] = connect_to(port);
        send_get(fds[i], target);
    }
    *b = (busy){SIZE_MAX, 0, SIZE_MAX};
    char body[256];
    for (int k = 0; k < json_checks; k++) { /* /json while the others wait */
        cr_assert_eq(get(port, "/json", body, sizeof body, 10000), 200);
        chopin_stats st;
        chopin_app_stats(app, &st);
        if (st.coroutines < b->min_coroutines) b->min_coroutines = st.coroutines;
        if (st.coroutines > b->max_coroutines) b->max_coroutines = st.coroutines;
        if (st.offload_pending < b->min_offload) b->min_offload = st.offload_pending;
        usleep(50 * 1000);
    }
    for (int i = 0; i < n; i++) {
        int status = read_response(fds[i], body, sizeof body, timeout_ms);
        cr_assert_eq(status, 200, "request %d of %d: status %d", i, n, status);
        cr_assert_str_eq(body, expect_body);
        close(fds[i]);
    }
    free(fds);
    return now_ms() - t0;
}

/* No timing asserted (the machine may be loaded): what proves that a sleep
 * does not hold the worker is that all 200 sleep at once on one worker
 * (200 suspended coroutines seen) while it answers /json, and that the whole
 * takes a few seconds, not the 200 s of sleeping one after another. */
Test(async, sleeping_handlers_do_not_block_the_worker, .timeout = 60) {
    chopin_app *app = start_app(1, 30000, 2);
    busy b;
    int64_t took = concurrent(app, "/sleep?ms=1000", 200, "slept", 30000, 5, &b);
    cr_log_info("200 concurrent 1 s sleeps on one worker: %lld ms", (long long)took);
    cr_expect_eq(b.max_coroutines, 200, "at most %zu handlers slept at once, not 200",
                 b.max_coroutines);
    cr_expect_lt(took, 30000, "200 concurrent 1 s sleeps took %lld ms", (long long)took);
    cr_expect_eq(live_coroutines(app), 0);
    stop_app(app);
}

/* No timing asserted beyond the lower bound (each job burns 200 ms of CPU):
 * the jobs run on the pool's threads side by side, never more at once than
 * it has, and the worker answers /json while they run. */
Test(async, offloaded_cpu_work_runs_on_the_pool, .timeout = 120) {
    const int pool = 2, n = 50;
    atomic_store(&jobs_running_max, 0);
    chopin_app *app = start_app(1, 120000, pool);
    busy b;
    int64_t took = concurrent(app, "/cpu", n, "burnt", 100000, 8, &b);
    int64_t ideal = n * 200 / pool; /* 5 s */
    cr_log_info("%d jobs of 200 ms on %d threads: %lld ms (ideal %lld)", n, pool, (long long)took,
                (long long)ideal);
    cr_expect_geq(took, ideal * 9 / 10, "%d jobs of 200 ms on %d threads took only %lld ms", n,
                  pool, (long long)took);
    cr_expect_eq(atomic_load(&jobs_running_max), pool, "%d jobs ran at once on a pool of %d",
                 atomic_load(&jobs_running_max), pool);
    cr_expect_gt(b.min_offload, 0, "/json was answered only once the pool was idle");
    stop_app(app);
}

Test(async, disconnect_frees_the_coroutine_at_once, .timeout = 30) {
    chopin_app *app = start_app(1, 30000, 1);
    int fd = connect_to(chopin_app_port(app));
    send_get(fd, "/sleep?ms=5000");
    int64_t deadline = now_ms() + 2000;
    while (live_coroutines(app) != 1 && now_ms() < deadline) usleep(1000);
    cr_assert_eq(live_coroutines(app), 1, "the handler is asleep on its coroutine");
    close(fd);
    int64_t t0 = now_ms();
    while (live_coroutines(app) != 0 && now_ms() - t0 < 2000) usleep(1000);
    int64_t took = now_ms() - t0;
    cr_assert_eq(live_coroutines(app), 0, "the coroutine is still there");
    cr_expect_lt(took, 500, "freeing took %lld ms, not 'at once'", (long long)took);
    char body[256];
    cr_assert_eq(get(chopin_app_port(app), "/json", body, sizeof body, 2000), 200);
    stop_app(app);
}

Test(async, deadline_answers_504_and_unwinds, .timeout = 30) {
    chopin_app *app = start_app(1, 300, 1);
    char body[256];
    int64_t t0 = now_ms();
    int status = get(chopin_app_port(app), "/sleep?ms=5000", body, sizeof body, 3000);
    int64_t took = now_ms() - t0;
    cr_assert_eq(status, 504, "body: %s", body);
    cr_assert(strstr(body, "\"code\":\"TIMEOUT\""), "body: %s", body);
    cr_expect_lt(took, 2000);
    cr_expect_eq(live_coroutines(app), 0);
    stop_app(app);
}

Test(async, wait_fd_lets_one_request_wake_another, .timeout = 30) {
    cr_assert_eq(pipe2(pipe_fds, O_NONBLOCK), 0);
    chopin_app *app = start_app(1, 30000, 1);
    int port = chopin_app_port(app);
    int waiter = connect_to(port);
    send_get(waiter, "/pipe/wait");
    usleep(100 * 1000);
    char body[256];
    cr_assert_eq(get(port, "/pipe/poke", body, sizeof body, 2000), 200);
    cr_assert_eq(read_response(waiter, body, sizeof body, 2000), 200);
    cr_assert_str_eq(body, "k");
    close(waiter);
    cr_assert_eq(get(port, "/wait-timeout", body, sizeof body, 3000), 200);
    int r, w, r2;
    long long waited;
    cr_assert_eq(sscanf(body, "%d %d %d %lld", &r, &w, &r2, &waited), 4, "body: %s", body);
    cr_expect_eq(r, 0, "timeout returns 0");
    cr_expect_geq(waited, 90);
    cr_expect_eq(w, 1);
    cr_expect_eq(r2, CHOPIN_READABLE);
    stop_app(app);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
}

Test(async, test_client_runs_waiting_handlers) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    chopin_app *app = chopin_app_new_with(&cfg);
    chopin_get(app, "/sleep", sleep_route);
    chopin_get(app, "/cpu", cpu_route);
    chopin_test_response *r = chopin_test_request(app, "GET", "/sleep?ms=30", NULL, NULL, 0);
    cr_assert_not_null(r);
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(r->body, "slept");
    chopin_test_response_free(r);
    r = chopin_test_request(app, "GET", "/cpu", NULL, NULL, 0);
    cr_assert_not_null(r);
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(r->body, "burnt");
    chopin_test_response_free(r);
    chopin_app_free(app);
}

/* --- Stack overflow: a death test, in a child process ------------------------ */

#ifdef CHOPIN_UNDER_TSAN
/* The child forked below starts the app's threads, and this process has one
 * already (Criterion's I/O thread): ThreadSanitizer kills such a child by
 * default (die_after_fork), since the parent's other threads are missing
 * from it. This child only runs to its abort and never touches what those
 * threads own. Read at start-up; TSAN_OPTIONS still overrides it. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) {
    return "die_after_fork=0";
}
#endif

static int recurse(volatile char *prev, int depth) {
    volatile char frame[1024];
    frame[0] = (char)depth;
    frame[1023] = prev ? prev[0] : 0;
    return depth > 1000000 ? frame[0] : recurse(frame, depth + 1) + frame[1023];
}

static void deep(chopin_ctx *c) {
    char body[32];
    snprintf(body, sizeof body, "%d", recurse(NULL, 0));
    chopin_text(c, 200, body);
}

Test(async, stack_overflow_is_reported_not_silent, .timeout = 30) {
    int err_pipe[2];
    cr_assert_eq(pipe(err_pipe), 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(err_pipe[1], STDERR_FILENO);
        close(err_pipe[0]);
        chopin_config cfg;
        chopin_config_defaults(&cfg);
        cfg.access_log = false;
        cfg.stack_size = 64 * 1024;
        chopin_app *app = chopin_app_new_with(&cfg);
        chopin_get(app, "/deep", deep);
        chopin_test_response *r = chopin_test_request(app, "GET", "/deep", NULL, NULL, 0);
        (void)r;
        _exit(0); /* reaching this is the failure */
    }
    close(err_pipe[1]);
    char out[4096];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof out - 1 && (n = read(err_pipe[0], out + len, sizeof out - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = 0;
    close(err_pipe[0]);
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
              "the child should abort; status %d, stderr: %s", status, out);
    cr_assert(strstr(out, "chopin: stack overflow in GET /deep (coroutine stack of 64 KiB"),
              "stderr: %s", out);
}
