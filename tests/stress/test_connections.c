/* test_connections.c - 50,000 keep-alive connections held at once: each
 * served a request, all kept open, all answering again a second later, a
 * new client served meanwhile, every descriptor given back when the clients
 * leave; the server's memory per connection is reported (docs/benchmarks.md).
 *
 * The descriptor limit: a process needs one per connection. Where the hard
 * limit allows (root with CAP_SYS_RESOURCE, or LimitNOFILE), one server
 * process holds them all. Where it does not (a sandbox's hard limit of
 * 20,000), as many server processes as needed share the port with
 * SO_REUSEPORT, as in docs/deployment.md, each under the limit. The clients
 * are split over child processes the same way; each drives its sockets with
 * epoll from several loopback source addresses, since one address pair
 * offers only the ports of ip_local_port_range.
 *
 * It runs in a network namespace of its own: a fixed port, and no other
 * program's connections in the way. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>

#include "harness.h"
#include "netns.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

TestSuite(connections, .fini = h_cleanup, .timeout = 300);

enum { CONNS = 50000, SOURCES = 4 };

static const char request[] = "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n";

typedef struct {
    int fd;
    int got;  /* bytes of the current answer */
    int want; /* its whole length, once the head is in */
    char buf[256];
} client;

/* A non-blocking connect from 127.0.0.(2 + i % SOURCES). */
static int dial(int port, int i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    /* The port is picked at connect, per destination: not one per bind. */
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    struct sockaddr_in src = {.sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(i % SOURCES))};
    struct sockaddr_in dst = {.sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr *)&src, sizeof src) ||
        (connect(fd, (struct sockaddr *)&dst, sizeof dst) && errno != EINPROGRESS)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads what is there for c: 1 when its answer is complete (a 200), 0 for
 * more to come, -1 on a failure (closed, reset, not a 200). */
static int take_answer(client *c) {
    for (;;) {
        ssize_t n = recv(c->fd, c->buf + c->got, sizeof c->buf - 1 - (size_t)c->got, 0);
        if (n < 0) return errno == EAGAIN ? 0 : -1;
        if (n == 0) return -1;
        c->got += (int)n;
        c->buf[c->got] = 0;
        char *end = strstr(c->buf, "\r\n\r\n");
        char *cl = strcasestr(c->buf, "\r\nContent-Length: ");
        if (end && cl) c->want = (int)(end + 4 - c->buf) + atoi(cl + 18);
        if (c->want && c->got >= c->want) {
            int ok = strncmp(c->buf, "HTTP/1.1 200 ", 13) == 0 && c->got == c->want;
            c->got = c->want = 0;
            return ok ? 1 : -1;
        }
        if (c->got == (int)sizeof c->buf - 1) return -1;
    }
}

/* Sends the request on every client and waits for all the answers; the
 * number that failed or did not come within a minute. */
static long round_trip_all(int ep, client *cs, int count) {
    long expected = 0, done = 0, failed = 0;
    for (int i = 0; i < count; i++) {
        if (cs[i].fd < 0) continue; /* counted when it failed to open */
        if (send(cs[i].fd, request, sizeof request - 1, MSG_NOSIGNAL) == sizeof request - 1)
            expected++;
        else
            failed++;
    }
    struct epoll_event evs[512];
    int64_t deadline = h_now_ms() + 60000;
    while (done < expected && h_now_ms() < deadline) {
        int n = epoll_wait(ep, evs, 512, 1000);
        for (int k = 0; k < n; k++) {
            int r = take_answer(evs[k].data.ptr);
            if (r > 0) done++;
            if (r < 0) {
                failed++;
                expected--;
            }
        }
    }
    return failed + (expected - done);
}

/* The server's open descriptors. */
static int open_fds(const h_server *s) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)s->pid);
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    while (readdir(d)) n++;
    closedir(d);
    return n - 2; /* . and .. */
}

/* One request on a connection of its own: the answer's status. */
static int get_once(int port) {
    h_conn *c = h_connect(port);
    h_response *r = h_roundtrip(c, request);
    int status = r ? r->status : -1;
    h_response_free(r);
    h_close(c);
    return status;
}

/* The descriptors this process may have: the soft limit raised to the hard. */
static long usable_fds(void) {
    struct rlimit rl;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rlim_t want = 2 * CONNS + 1000;
    if (rl.rlim_max < want) {
        struct rlimit raised = {want, want};
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) return (long)want;
    }
    rl.rlim_cur = rl.rlim_max;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0, "%s", strerror(errno));
    return rl.rlim_cur == RLIM_INFINITY ? 1L << 30 : (long)rl.rlim_cur;
}

/* --- A client process: `count` connections from index `first` ------------- */

/* Commands on its pipe: 'r' sends a request on every connection (opening
 * them the first time) and reports the failures; 'q' closes them and exits. */
static void client_process(int port, int first, int count, int cmd_fd, int res_fd) {
    client *cs = calloc((size_t)count, sizeof *cs);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    bool opened = false;
    char cmd;
    while (read(cmd_fd, &cmd, 1) == 1 && cmd == 'r') {
        long failed = 0;
        if (!opened) {
            for (int i = 0; i < count; i++) {
                cs[i].fd = dial(port, first + i);
                struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.ptr = &cs[i]};
                if (cs[i].fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev)) failed++;
            }
            opened = true;
        }
        failed += round_trip_all(ep, cs, count);
        if (write(res_fd, &failed, sizeof failed) != sizeof failed) break;
    }
    for (int i = 0; i < count; i++)
        if (cs[i].fd > 0) close(cs[i].fd);
    _exit(0);
}

typedef struct {
    pid_t pid;
    int cmd_fd, res_fd;
} client_proc;

/* Sends cmd to every client process; the failures they report for 'r'. */
static long command_all(client_proc *ps, int n, char cmd) {
    long failed = 0;
    for (int i = 0; i < n; i++) cr_assert_eq(write(ps[i].cmd_fd, &cmd, 1), 1);
    if (cmd != 'r') return 0;
    for (int i = 0; i < n; i++) {
        long f = 0;
        cr_assert_eq(read(ps[i].res_fd, &f, sizeof f), (ssize_t)sizeof f, "client %d died", i);
        failed += f;
    }
    return failed;
}

static long rss_sum(h_server **ss, int n) {
    long sum = 0;
    for (int i = 0; i < n; i++) sum += h_rss_kib(ss[i]);
    return sum;
}

static int fds_sum(h_server **ss, int n) {
    int sum = 0;
    for (int i = 0; i < n; i++) sum += open_fds(ss[i]);
    return sum;
}

enum { MAX_PROCS = 64 };

Test(connections, fifty_thousand_keep_alive_connections_held) {
    if (!private_network())
        cr_skip_test("needs a network namespace (root or CAP_NET_ADMIN): %s", strerror(errno));
    long per_process = usable_fds() - 500; /* room for the process's own files */
    cr_assert_gt(per_process, 1000);
    int servers = (int)((CONNS + per_process - 1) / per_process);
    int clients = (int)((CONNS + per_process - 1) / per_process);
    /* The kernel's spread over the servers is not exactly even: a margin. */
    if (servers > 1 && CONNS / servers > per_process * 9 / 10) servers++;
    cr_assert_leq(servers, MAX_PROCS);
    cr_assert_leq(clients, MAX_PROCS);
    cr_log_info("descriptor limit %ld per process: %d server process(es), %d client process(es)",
                per_process + 500, servers, clients);

    const char *env[] = {"SERVER_PORT=18081",
                         "CHOPIN_WORKERS=2",
                         "CHOPIN_MAX_CONNECTIONS=200000",
                         "CHOPIN_ACCESS_LOG=off",
                         "CHOPIN_KEEPALIVE_TIMEOUT=10m",
                         NULL};
    h_server *ss[MAX_PROCS];
    for (int i = 0; i < servers; i++) ss[i] = h_start(CHOPIN_TFB_BIN, env);
    int port = ss[0]->port;
    /* Warm: the first requests make each worker's buffers and the like. */
    for (int i = 0; i < 200; i++) cr_assert_eq(get_once(port), 200);
    h_sleep_ms(200);
    long rss0 = rss_sum(ss, servers);
    int fds0 = fds_sum(ss, servers);

    client_proc ps[MAX_PROCS];
    for (int i = 0; i < clients; i++) {
        int cmd[2], res[2];
        cr_assert_eq(pipe(cmd), 0);
        cr_assert_eq(pipe(res), 0);
        int first = i * (CONNS / clients);
        int count = i == clients - 1 ? CONNS - first : CONNS / clients;
        pid_t pid = fork();
        cr_assert(pid >= 0);
        if (pid == 0) {
            close(cmd[1]);
            close(res[0]);
            client_process(port, first, count, cmd[0], res[1]);
        }
        close(cmd[0]);
        close(res[1]);
        ps[i] = (client_proc){pid, cmd[1], res[0]};
    }

    /* Every connection opened and served once. */
    int64_t t0 = h_now_ms();
    long failed = command_all(ps, clients, 'r');
    int64_t opened_ms = h_now_ms() - t0;
    cr_assert_eq(failed, 0, "%ld of %d connections not served", failed, CONNS);
    h_sleep_ms(500);
    long rss_held = rss_sum(ss, servers);
    int fds_held = fds_sum(ss, servers);
    cr_log_info("%d keep-alive connections opened and served in %lld ms; %d server descriptors; "
                "server RSS %ld KiB before, %ld KiB with them: %.2f KiB per connection",
                CONNS, (long long)opened_ms, fds_held, rss0, rss_held,
                (double)(rss_held - rss0) / CONNS);
    cr_assert_geq(fds_held, fds0 + CONNS, "the servers do not hold every connection");

    /* Held: a new client is served, and all of them answer again later. */
    cr_assert_eq(get_once(port), 200, "a new client while %d are held", CONNS);
    h_sleep_ms(1000);
    failed = command_all(ps, clients, 'r');
    cr_assert_eq(failed, 0, "%ld of %d held connections failed their second request", failed,
                 CONNS);

    /* The clients leave: the servers let go of every descriptor. */
    command_all(ps, clients, 'q');
    for (int i = 0; i < clients; i++) {
        int st;
        cr_assert_eq(waitpid(ps[i].pid, &st, 0), ps[i].pid);
        close(ps[i].cmd_fd);
        close(ps[i].res_fd);
    }
    int64_t until = h_now_ms() + 20000;
    while (fds_sum(ss, servers) > fds0 + 2 * servers && h_now_ms() < until) h_sleep_ms(100);
    cr_assert_eq(get_once(port), 200);
    cr_log_info("after the clients left: %d descriptors (%d before), RSS %ld KiB",
                fds_sum(ss, servers), fds0, rss_sum(ss, servers));
    cr_assert_leq(fds_sum(ss, servers), fds0 + 2 * servers,
                  "the servers kept descriptors after the clients left");
    for (int i = 0; i < servers; i++) {
        cr_assert_eq(h_stop(ss[i]), 0);
        h_free(ss[i]);
    }
}
