/* server.c - listeners, worker threads, start and graceful stop.
 *
 * Each worker gets its own SO_REUSEPORT listener, so the kernel spreads new
 * connections across workers and no accept lock exists. With port 0 the
 * first listener picks a free port and the others join it. */
#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static int open_listener_flags(const char *host, int port, bool reuseport, int *bound_port) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    char port_str[16];
    snprintf(port_str, sizeof port_str, "%d", port);
    struct addrinfo *res;
    int rc = getaddrinfo(host[0] ? host : NULL, port_str, &hints, &res);
    if (rc) {
        chopin_log(CHOPIN_LOG_ERROR, "SERVER_HOST cannot be resolved", "host", host, "error",
                   gai_strerror(rc), NULL);
        return -1;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 4096)) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        char port_text[8];
        snprintf(port_text, sizeof port_text, "%d", port);
        chopin_log(CHOPIN_LOG_ERROR, "cannot listen", "host", host, "port", port_text, "error",
                   strerror(err), NULL);
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    *bound_port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                           : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

static int open_listener(const char *host, int port, int *bound_port) {
    return open_listener_flags(host, port, true, bound_port);
}

/* One worker per online core: the count when CHOPIN_WORKERS is 0. */
int server_default_workers(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static void pin_to_core(pthread_t t, int core) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(core % server_default_workers(), &set);
    pthread_setaffinity_np(t, sizeof set, &set);
}

int server_start(server *s) {
    const chopin_config *cfg = s->cfg;
    signal(SIGPIPE, SIG_IGN); /* a peer that went away is an error code, not a signal */
    coro_install_overflow_handler();
    s->num_workers = cfg->workers > 0 ? cfg->workers : server_default_workers();
    s->workers = calloc((size_t)s->num_workers, sizeof *s->workers);
    if (!s->workers) return -1;
    atomic_store(&s->stopping, false);
    for (int i = 0; i < s->num_workers; i++) /* so that a partial failure closes nothing else */
        s->workers[i].epfd = s->workers[i].listen_fd = s->workers[i].wake_fd = -1;
    int port = cfg->port;
    /* SERVER_PORT=0 (tests, tools): one listener, shared by the workers. A
     * port the kernel picks for SO_REUSEPORT sockets may be one another
     * process of the same user listens on with SO_REUSEPORT, and the two
     * would then share connections; a socket without it is ours alone. */
    int shared = -1;
    if (port == 0 && (shared = open_listener_flags(cfg->host, 0, false, &port)) < 0) goto fail;
    for (int i = 0; i < s->num_workers; i++) {
        worker *w = &s->workers[i];
        if (worker_init(w, s, i)) goto fail;
        if (shared >= 0)
            w->listen_fd = i == 0 ? shared : fcntl(shared, F_DUPFD_CLOEXEC, 0);
        else
            w->listen_fd = open_listener(cfg->host, port, &port);
        if (w->listen_fd < 0 || worker_open_loop(w)) goto fail;
    }
    s->port = port;
    if (!s->offload) {
        s->offload = offload_pool_new(cfg->offload_threads > 0 ? cfg->offload_threads
                                                               : server_default_workers(),
                                      cfg->offload_queue);
        if (!s->offload) goto fail;
    }
    for (int i = 0; i < s->num_workers; i++) {
        if (pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i])) {
            chopin_log(CHOPIN_LOG_ERROR, "cannot start a worker thread", NULL);
            s->num_workers = i; /* the ones started will be stopped and joined */
            server_stop(s);
            server_wait(s);
            return -1;
        }
        if (cfg->mode == CHOPIN_MODE_PERFORMANCE) pin_to_core(s->workers[i].thread, i);
    }
    return 0;
fail:
    for (int i = 0; i < s->num_workers; i++) worker_destroy(&s->workers[i]);
    free(s->workers);
    s->workers = NULL;
    return -1;
}

void server_stop(server *s) {
    atomic_store(&s->stopping, true);
    uint64_t one = 1;
    for (int i = 0; i < s->num_workers; i++) {
        ssize_t ignored = write(s->workers[i].wake_fd, &one, sizeof one);
        (void)ignored;
    }
}

void server_wait(server *s) {
    for (int i = 0; i < s->num_workers; i++) pthread_join(s->workers[i].thread, NULL);
    for (int i = 0; i < s->num_workers; i++) worker_destroy(&s->workers[i]);
    free(s->workers);
    s->workers = NULL;
    s->num_workers = 0;
    offload_pool_free(s->offload);
    s->offload = NULL;
}
