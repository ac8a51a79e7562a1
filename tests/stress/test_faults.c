/* test_faults.c - faults a running server must answer and get over without
 * a restart: the offload pool saturated, a queued job past its deadline,
 * the upload folder's disk full.
 *
 * (PostgreSQL restarted: unit.test_db_fault; Redis killed:
 * unit.test_cache.redis and integration.test_tfb_db; a handler past its
 * deadline: unit.test_async.)
 *
 * The app runs in this process (chopin_app_start, port 0) so that the tests
 * can read chopin_app_stats; clients are plain sockets. */
#include <criterion/criterion.h>

#include <chopin.h>

#include "../unit/loopback.h"

#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* --- A tiny client ------------------------------------------------------------ */

static void send_all(int fd, const char *data, size_t len) {
    while (len) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0) return; /* the server may answer and close before the end */
        data += n;
        len -= (size_t)n;
    }
}

static int send_get(int port, const char *target) {
    int fd = connect_to(port);
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", target);
    send_all(fd, req, (size_t)n);
    return fd;
}

typedef struct {
    int status;
    char head[2048];
    char body[2048];
} response;

/* One response (head + Content-Length body) within timeout_ms: its status,
 * or -1 on a timeout or a close. */
static int read_response(int fd, response *r, int timeout_ms) {
    char buf[4096];
    size_t len = 0;
    int64_t deadline = now_ms() + timeout_ms;
    memset(r, 0, sizeof *r);
    r->status = -1;
    for (;;) {
        buf[len] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (end) {
            char *cl = strstr(buf, "Content-Length: ");
            size_t head_len = (size_t)(end + 4 - buf), blen = cl ? (size_t)atol(cl + 16) : 0;
            if (len >= head_len + blen) {
                r->status = atoi(buf + 9);
                snprintf(r->head, sizeof r->head, "%.*s", (int)head_len, buf);
                snprintf(r->body, sizeof r->body, "%.*s", (int)blen, end + 4);
                return r->status;
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

static int get(int port, const char *target, response *r, int timeout_ms) {
    int fd = send_get(port, target);
    int status = read_response(fd, r, timeout_ms);
    close(fd);
    return status;
}

/* --- The app ------------------------------------------------------------------ */

/* /block's job holds its pool thread until the test posts: which jobs run,
 * wait or are refused is then decided by the test, not by timing. */
static sem_t release;

static void blocking_job(void *arg) {
    int *ran = arg;
    sem_wait(&release);
    *ran = 1;
}

static void block(chopin_ctx *c) {
    int ran = 0;
    if (chopin_offload(c, blocking_job, &ran) != 0) return; /* 503, 504 or gone: answered */
    chopin_text(c, 200, ran ? "ran" : "did not run");
}

static void json(chopin_ctx *c) {
    chopin_text(c, 200, "{\"ok\":true}");
}

static void upload(chopin_ctx *c) {
    chopin_upload *up = chopin_upload_receive(c, NULL);
    if (!up) return;
    chopin_text(c, 201, up->count ? up->files[0].stored_name : "");
}

static chopin_app *start_app(chopin_config *cfg) {
    cfg->port = 0;
    cfg->workers = 1;
    cfg->access_log = false;
    chopin_app *app = chopin_app_new_with(cfg);
    cr_assert_not_null(app);
    chopin_get(app, "/block", block);
    chopin_get(app, "/json", json);
    chopin_post_with(app, "/upload", upload, .stream_body = true);
    cr_assert_eq(chopin_app_start(app), 0);
    return app;
}

static void stop_app(chopin_app *app) {
    chopin_app_stop(app);
    chopin_app_wait(app);
    chopin_app_free(app);
}

static size_t offload_pending(chopin_app *app) {
    chopin_stats st;
    chopin_app_stats(app, &st);
    return st.offload_pending;
}

/* Until the app counts n offload jobs (the requests sent have reached it). */
static void wait_pending(chopin_app *app, size_t n) {
    int64_t deadline = now_ms() + 5000;
    while (offload_pending(app) != n && now_ms() < deadline) usleep(5000);
    cr_assert_eq(offload_pending(app), n);
}

/* --- The offload pool saturated ------------------------------------------------ */

Test(faults, offload_pool_saturated_answers_503_then_recovers, .timeout = 60) {
    cr_assert_eq(sem_init(&release, 0, 0), 0);
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.offload_threads = 1;
    cfg.offload_queue = 2;
    chopin_app *app = start_app(&cfg);
    int port = chopin_app_port(app);

    /* One job runs (and blocks), two wait in the queue: the pool is full. */
    int held[3];
    for (int i = 0; i < 3; i++) {
        held[i] = send_get(port, "/block");
        wait_pending(app, (size_t)i + 1);
    }
    /* Past the queue: a quick 503 the client may retry, not a hang. */
    response r;
    for (int i = 0; i < 5; i++) {
        int64_t t0 = now_ms();
        cr_assert_eq(get(port, "/block", &r, 2000), 503, "head: %s", r.head);
        cr_expect_lt(now_ms() - t0, 1000);
        cr_assert(strstr(r.body, "\"code\":\"OVERLOADED\""), "body: %s", r.body);
        cr_assert(strstr(r.head, "\r\nRetry-After: 1\r\n"), "head: %s", r.head);
    }
    cr_assert_eq(offload_pending(app), 3, "refused jobs are not counted");
    /* Requests that need no pool thread are served meanwhile. */
    cr_assert_eq(get(port, "/json", &r, 2000), 200);

    /* The held jobs finish, each answered in full. */
    for (int i = 0; i < 3; i++) sem_post(&release);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(read_response(held[i], &r, 5000), 200);
        cr_assert_str_eq(r.body, "ran");
        close(held[i]);
    }
    wait_pending(app, 0);
    /* Recovered without a restart. */
    sem_post(&release);
    cr_assert_eq(get(port, "/block", &r, 5000), 200);
    cr_assert_str_eq(r.body, "ran");
    stop_app(app);
    sem_destroy(&release);
}

Test(faults, queued_offload_job_is_withdrawn_at_the_deadline, .timeout = 60) {
    cr_assert_eq(sem_init(&release, 0, 0), 0);
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.offload_threads = 1;
    cfg.request_timeout_ms = 300;
    chopin_app *app = start_app(&cfg);
    int port = chopin_app_port(app);

    int running = send_get(port, "/block");
    wait_pending(app, 1);
    /* The second waits behind a job that never ends: it must get its 504 at
     * its deadline, not when the first job lets the thread go. */
    int64_t t0 = now_ms();
    int queued = send_get(port, "/block");
    response r;
    cr_assert_eq(read_response(queued, &r, 5000), 504, "head: %s", r.head);
    cr_assert(strstr(r.body, "\"code\":\"TIMEOUT\""), "body: %s", r.body);
    cr_expect_lt(now_ms() - t0, 3000);
    close(queued);
    /* Its job was taken back: only the running one is left, and when the
     * thread is free the withdrawn job never runs (one post, one run). */
    cr_assert_eq(offload_pending(app), 1);
    sem_post(&release);
    cr_assert_eq(read_response(running, &r, 5000), 504); /* it ran past its deadline too */
    close(running);
    wait_pending(app, 0);
    int left = -1;
    sem_getvalue(&release, &left);
    cr_assert_eq(left, 0);
    /* A client that leaves while its job is queued: the job is withdrawn too. */
    cfg.request_timeout_ms = 30000;
    stop_app(app);
    app = start_app(&cfg);
    port = chopin_app_port(app);
    running = send_get(port, "/block");
    wait_pending(app, 1);
    int leaving = send_get(port, "/block");
    wait_pending(app, 2);
    close(leaving);
    wait_pending(app, 1);
    sem_post(&release);
    cr_assert_eq(read_response(running, &r, 5000), 200);
    close(running);
    stop_app(app);
    sem_destroy(&release);
}

/* --- The upload folder's disk full -------------------------------------------- */

/* Files under dir, counted through subfolders (.tmp). */
static int count_files(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st)) continue;
        n += S_ISDIR(st.st_mode) ? count_files(path) : 1;
    }
    closedir(d);
    return n;
}

/* POSTs a multipart body with one file of size bytes; the response. */
static int post_file(int port, size_t size, response *r) {
    static const char boundary[] = "chopinfaultboundary";
    char head_part[256], tail_part[64], req[512];
    int hp = snprintf(head_part, sizeof head_part,
                      "--%s\r\nContent-Disposition: form-data; name=\"file\"; "
                      "filename=\"data.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n",
                      boundary);
    int tp = snprintf(tail_part, sizeof tail_part, "\r\n--%s--\r\n", boundary);
    int n = snprintf(req, sizeof req,
                     "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; "
                     "boundary=%s\r\nContent-Length: %zu\r\n\r\n",
                     boundary, (size_t)hp + size + (size_t)tp);
    int fd = connect_to(port);
    send_all(fd, req, (size_t)n);
    send_all(fd, head_part, (size_t)hp);
    char chunk[65536];
    for (size_t i = 0; i < sizeof chunk; i++) chunk[i] = (char)(i * 7 + 1);
    for (size_t sent = 0; sent < size; sent += sizeof chunk)
        send_all(fd, chunk, size - sent < sizeof chunk ? size - sent : sizeof chunk);
    send_all(fd, tail_part, (size_t)tp);
    int status = read_response(fd, r, 10000);
    close(fd);
    return status;
}

Test(faults, disk_full_on_the_upload_folder_answers_507_and_keeps_nothing, .timeout = 60) {
    /* A 1 MiB tmpfs seen by this test's process only (Criterion runs each
     * test in a process of its own): a real ENOSPC from the kernel. */
    if (unshare(CLONE_NEWNS) != 0)
        cr_skip_test("needs a mount namespace (root or CAP_SYS_ADMIN): %s", strerror(errno));
    /* So that the tmpfs is not propagated to the machine's namespace. In a
     * chroot (a build jail) "/" is no mount point and this fails with
     * EINVAL: the mount is then unmounted at the end, which propagates the
     * same way. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        cr_assert_eq(errno, EINVAL, "%s", strerror(errno));
    char dir[] = "/tmp/chopin-full.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(mount("tmpfs", dir, "tmpfs", 0, "size=1m"), 0, "%s", strerror(errno));

    chopin_config cfg;
    chopin_config_defaults(&cfg);
    snprintf(cfg.upload_dir, sizeof cfg.upload_dir, "%s", dir);
    cfg.max_upload_bytes = 8 << 20;
    chopin_app *app = start_app(&cfg);
    int port = chopin_app_port(app);

    response r;
    cr_assert_eq(post_file(port, 100 * 1024, &r), 201, "head: %s body: %s", r.head, r.body);
    cr_assert_eq(count_files(dir), 1);
    /* 2 MiB into what is left of 1 MiB. */
    cr_assert_eq(post_file(port, 2 << 20, &r), 507, "head: %s body: %s", r.head, r.body);
    cr_assert(strstr(r.body, "\"code\":\"STORAGE\""), "body: %s", r.body);
    /* Loses nothing: the stored file stays, the partial one is gone, and
     * its space is free again. */
    cr_assert_eq(count_files(dir), 1);
    cr_assert_eq(get(port, "/json", &r, 2000), 200);
    /* Recovered without a restart. */
    cr_assert_eq(post_file(port, 600 * 1024, &r), 201, "head: %s body: %s", r.head, r.body);
    cr_assert_eq(count_files(dir), 2);
    stop_app(app);
    umount(dir);
    rmdir(dir);
}
