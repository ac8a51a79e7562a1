/* test_restart.c - zero-downtime restart: a new server process joins the
 * port (SO_REUSEPORT), the old one gets SIGTERM and drains, while clients
 * keep sending requests; not one of them may fail.
 *
 * It runs in a network namespace of its own (the servers started from here
 * inherit it), so that it can set net.ipv4.tcp_migrate_req there without
 * touching the machine's: with it, connections the kernel queued on the old
 * process's listener when it closes move to the new one instead of being
 * reset. docs/deployment.md is the recipe this test proves. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>

#include "harness.h"
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

TestSuite(restart, .fini = h_cleanup, .timeout = 120);

enum { PORT = 18080 };

/* --- A namespace of our own ------------------------------------------------- */

static bool set_sysctl(const char *path, const char *value) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) return false;
    bool ok = write(fd, value, strlen(value)) == (ssize_t)strlen(value);
    close(fd);
    return ok;
}

/* The test's own network namespace, with tcp_migrate_req set there. */
static bool private_network_migrating(bool migrate_requests) {
    if (!private_network()) return false;
    cr_assert(set_sysctl("/proc/sys/net/ipv4/tcp_migrate_req", migrate_requests ? "1" : "0"),
              "cannot set net.ipv4.tcp_migrate_req (Linux 5.14 or later): %s", strerror(errno));
    return true;
}

/* --- The load: clients that count every failure ------------------------------ */

typedef struct {
    bool keep_alive; /* else a new connection per request */
    atomic_bool *stop;
    atomic_long ok, failed;
    char first_failure[160];
} client;

static int64_t now_ms(void) {
    return h_now_ms();
}

static int dial(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(PORT), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* One request on fd: 1 answered 200 (*close_after if the server said
 * Connection: close), 0 failed, with why in *why. */
static int exchange(int fd, bool keep_alive, bool *close_after, const char **why) {
    const char *req = keep_alive
                          ? "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n"
                          : "GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    size_t len = strlen(req);
    if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len) return *why = "send failed", 0;
    char buf[2048];
    size_t got = 0;
    int64_t deadline = now_ms() + 10000;
    for (;;) {
        buf[got] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (end) {
            char *cl = strcasestr(buf, "\r\nContent-Length: ");
            size_t need = (size_t)(end + 4 - buf) + (cl ? (size_t)atol(cl + 18) : 0);
            if (got >= need) {
                *close_after = strcasestr(buf, "\r\nConnection: close\r\n") != NULL;
                if (strncmp(buf, "HTTP/1.1 200 ", 13)) return *why = "status not 200", 0;
                return 1;
            }
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)(deadline - now_ms());
        if (left <= 0 || poll(&p, 1, left) <= 0) return *why = "no answer within 10 s", 0;
        ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (n < 0) return *why = errno == ECONNRESET ? "reset" : "recv failed", 0;
        if (n == 0) return *why = "closed before the answer", 0;
        got += (size_t)n;
        if (got == sizeof buf - 1) return *why = "answer too long", 0;
    }
}

static void *client_main(void *arg) {
    client *cl = arg;
    int fd = -1;
    while (!atomic_load(cl->stop)) {
        const char *why = NULL;
        bool close_after = false;
        if (fd < 0 && (fd = dial()) < 0) why = "connect failed";
        if (!why && exchange(fd, cl->keep_alive, &close_after, &why)) {
            atomic_fetch_add(&cl->ok, 1);
            if (!cl->keep_alive || close_after) {
                close(fd);
                fd = -1;
            }
            continue;
        }
        if (atomic_fetch_add(&cl->failed, 1) == 0)
            snprintf(cl->first_failure, sizeof cl->first_failure, "%s (%s) on a %s client at %lld",
                     why, errno ? strerror(errno) : "",
                     cl->keep_alive ? "keep-alive" : "connection-per-request", (long long)now_ms());
        if (fd >= 0) close(fd);
        fd = -1;
    }
    if (fd >= 0) close(fd);
    return NULL;
}

enum { CLIENTS = 8 };

typedef struct {
    atomic_bool stop;
    client clients[CLIENTS];
    pthread_t threads[CLIENTS];
} load;

static void load_start(load *l) {
    atomic_init(&l->stop, false);
    for (int i = 0; i < CLIENTS; i++) {
        client *cl = &l->clients[i];
        cl->keep_alive = i % 2 == 0;
        cl->stop = &l->stop;
        atomic_init(&cl->ok, 0);
        atomic_init(&cl->failed, 0);
        cl->first_failure[0] = 0;
        cr_assert_eq(pthread_create(&l->threads[i], NULL, client_main, cl), 0);
    }
}

static long load_ok(load *l) {
    long n = 0;
    for (int i = 0; i < CLIENTS; i++) n += atomic_load(&l->clients[i].ok);
    return n;
}

/* Stops the clients; the failures, and the first one's reason in why. */
static long load_stop(load *l, char *why, size_t why_len) {
    atomic_store(&l->stop, true);
    long failed = 0;
    why[0] = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(l->threads[i], NULL);
        failed += atomic_load(&l->clients[i].failed);
        if (!why[0] && l->clients[i].first_failure[0])
            snprintf(why, why_len, "%s", l->clients[i].first_failure);
    }
    return failed;
}

/* --- The restart ---------------------------------------------------------------- */

static const char *const server_env[] = {"SERVER_PORT=18080", "CHOPIN_WORKERS=2",
                                         "CHOPIN_ACCESS_LOG=off", "CHOPIN_SHUTDOWN_TIMEOUT=10s",
                                         NULL};

/* Replaces the serving process `rounds` times under load; the failures. */
static long restarts_under_load(int rounds, long *served) {
    h_server *old = h_start(CHOPIN_TFB_BIN, server_env);
    load l;
    load_start(&l);
    h_sleep_ms(300);
    for (int i = 0; i < rounds; i++) {
        /* The new process is up and listening before the old one stops. */
        h_server *next = h_start(CHOPIN_TFB_BIN, server_env);
        h_sleep_ms(200);
        long before = load_ok(&l);
        cr_log_info("round %d: SIGTERM at %lld", i, (long long)now_ms());
        h_signal(old, SIGTERM);
        int64_t t_term = now_ms();
        int status = h_wait_exit(old, 15000);
        cr_log_info("round %d: the old server exited in %lld ms", i,
                    (long long)(now_ms() - t_term));
        cr_assert_eq(status, 0, "round %d: the old server's exit status %d", i, status);
        h_free(old);
        old = next;
        /* The new one serves alone now. */
        h_sleep_ms(300);
        cr_assert_gt(load_ok(&l), before, "round %d: nothing served after the old one left", i);
    }
    char why[160];
    long failed = load_stop(&l, why, sizeof why);
    *served = load_ok(&l);
    cr_assert_eq(h_stop(old), 0);
    h_free(old);
    if (failed) cr_log_info("first failure: %s", why);
    return failed;
}

Test(restart, new_process_takes_the_port_while_the_old_drains_no_request_fails) {
    if (!private_network_migrating(true))
        cr_skip_test("needs a network namespace (root or CAP_NET_ADMIN): %s", strerror(errno));
    long served;
    long failed = restarts_under_load(5, &served);
    cr_log_info("5 restarts under load (8 clients: 4 keep-alive, 4 a connection per request): "
                "%ld requests served, %ld failed",
                served, failed);
    cr_assert_eq(failed, 0, "%ld of %ld requests failed across the restarts", failed,
                 served + failed);
    cr_assert_gt(served, 1000);
}

/* systemd's Type=notify: READY=1 once listening (a rolling restart waits
 * for it before stopping the other instance), STOPPING=1 at SIGTERM. */
static void expect_notification(int fd, const char *state, pid_t pid) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    cr_assert_eq(poll(&p, 1, 5000), 1, "no %s notification within 5 s", state);
    char msg[256];
    ssize_t n = recv(fd, msg, sizeof msg - 1, 0);
    cr_assert_gt(n, 0);
    msg[n] = 0;
    char want[128];
    snprintf(want, sizeof want, "%s\nMAINPID=%ld", state, (long)pid);
    cr_assert_str_eq(msg, want);
}

Test(restart, tells_systemd_when_ready_and_when_stopping) {
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert(fd >= 0);
    char path[64], env_entry[96];
    snprintf(path, sizeof path, "/tmp/chopin-notify.%ld", (long)getpid());
    unlink(path);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0, "%s", strerror(errno));
    snprintf(env_entry, sizeof env_entry, "NOTIFY_SOCKET=%s", path);
    const char *env[] = {env_entry, "CHOPIN_ACCESS_LOG=off", NULL};
    h_server *s = h_start(CHOPIN_TFB_BIN, env);
    expect_notification(fd, "READY=1", s->pid);
    h_signal(s, SIGTERM);
    expect_notification(fd, "STOPPING=1", s->pid);
    cr_assert_eq(h_wait_exit(s, 10000), 0);
    h_free(s);
    close(fd);
    unlink(path);
}
