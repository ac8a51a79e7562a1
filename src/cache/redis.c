/* redis.c - the cache on Redis (REDIS_URL): a connection per worker, driven
 * by the worker's loop like the PostgreSQL pool. Commands of all the
 * requests of one loop round leave in one write, replies come back in
 * order and wake their requests. hiredis formats commands and parses
 * replies; the socket is ours, so that it lives in our loop.
 *
 * Redis is a cache here: when it is down or slow, commands fail at once
 * (reads miss, writes are dropped) with a warning at most every 10 s per
 * process, the connection is tried again a second later, and its return
 * is logged. */
#include "cache_internal.h"

#include "../app/app_internal.h"
#include "../core/core.h"

#include <hiredis/hiredis.h>

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define RETRY_MS      1000  /* a failed connection is tried again after this */
#define WARN_EVERY_MS 10000 /* at most one warning per this, per process */
#define READ_CHUNK    (16 * 1024)

struct redis_backend {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char where[300];    /* host:port or the socket's path, for messages */
    char username[128]; /* an ACL user (Redis 6+); empty: the default user */
    char password[256];
    int db;
    int timeout_ms;
    int64_t last_warning_ms; /* atomic */
    int down;                /* atomic: a warning was given, the return is not yet logged */
};

typedef enum { RC_DOWN, RC_CONNECTING, RC_READY } rconn_state;

typedef struct rpending {
    struct rpending *next;
    task *t;           /* the waiting request; NULL in a detached context */
    redisReply *reply; /* the answer, NULL when the connection failed */
    int64_t sent_ms;
    bool waited; /* false: nobody will look (an abandoned request, AUTH, SELECT) */
    bool done;
    bool checked; /* AUTH / SELECT: an error reply means the connection is unusable */
} rpending;

typedef struct {
    redis_backend *rb;
    worker *w; /* NULL: a detached context, which drives the socket itself */
    loop_watch watch;
    chopin_timer timer; /* connect and reply deadline */
    rconn_state state;
    chopin_buf out;
    redisReader *reader;
    rpending *head, *tail;
    int64_t retry_at_ms;
    char why[160]; /* the last failure, for the warning */
} rconn;

/* --- Opening REDIS_URL ------------------------------------------------------------- */

static int parse_fail(char *err, size_t err_len, const char *why) {
    /* The URL is not echoed: it may hold a password. */
    snprintf(err, err_len,
             "REDIS_URL is invalid: %s (expected redis://[[user]:password@]host[:port][/db] or "
             "unix:///path/to/redis.sock[?db=N])",
             why);
    return -1;
}

static int parse_db(const char *s, int *db) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 0 || v > 1000) return -1;
    *db = (int)v;
    return 0;
}

/* redis://[[user]:password@]host[:port][/db], unix://[:password@]/path[?db=N] */
static int parse_url(redis_backend *rb, const char *url, char *err, size_t err_len) {
    bool unix_socket = !strncmp(url, "unix://", 7);
    if (!unix_socket && strncmp(url, "redis://", 8)) return parse_fail(err, err_len, "scheme");
    const char *p = url + (unix_socket ? 7 : 8);
    const char *at = strrchr(p, '@');
    if (at) { /* [user]:password@ */
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (!colon || (size_t)(at - colon - 1) >= sizeof rb->password ||
            (size_t)(colon - p) >= sizeof rb->username)
            return parse_fail(err, err_len, "credentials");
        snprintf(rb->username, sizeof rb->username, "%.*s", (int)(colon - p), p);
        snprintf(rb->password, sizeof rb->password, "%.*s", (int)(at - colon - 1), colon + 1);
        p = at + 1;
    }
    if (unix_socket) {
        const char *q = strchr(p, '?');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        struct sockaddr_un *sun = (struct sockaddr_un *)&rb->addr;
        if (!len || p[0] != '/' || len >= sizeof sun->sun_path)
            return parse_fail(err, err_len, "socket path");
        if (q && (strncmp(q, "?db=", 4) || parse_db(q + 4, &rb->db)))
            return parse_fail(err, err_len, "db");
        sun->sun_family = AF_UNIX;
        memcpy(sun->sun_path, p, len);
        rb->addr_len = sizeof *sun;
        snprintf(rb->where, sizeof rb->where, "%.*s", (int)len, p);
        return 0;
    }
    char host[256] = "", port[8] = "6379";
    size_t hlen = strcspn(p, ":/");
    if (!hlen || hlen >= sizeof host) return parse_fail(err, err_len, "host");
    memcpy(host, p, hlen);
    p += hlen;
    if (*p == ':') {
        size_t plen = strcspn(++p, "/");
        if (!plen || plen >= sizeof port) return parse_fail(err, err_len, "port");
        memcpy(port, p, plen);
        port[plen] = 0;
        p += plen;
    }
    if (*p == '/' && p[1] && parse_db(p + 1, &rb->db)) return parse_fail(err, err_len, "db");
    /* Resolved once, at start: a worker never waits on DNS. */
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc || !res || res->ai_addrlen > sizeof rb->addr) {
        if (res) freeaddrinfo(res);
        snprintf(err, err_len, "REDIS_URL: cannot resolve %s:%s: %s", host, port,
                 rc ? gai_strerror(rc) : "no address");
        return -1;
    }
    memcpy(&rb->addr, res->ai_addr, res->ai_addrlen);
    rb->addr_len = res->ai_addrlen;
    freeaddrinfo(res);
    snprintf(rb->where, sizeof rb->where, "%s:%s", host, port);
    return 0;
}

redis_backend *redis_backend_new(const char *url, int timeout_ms, char *err, size_t err_len) {
    redis_backend *rb = calloc(1, sizeof *rb);
    if (!rb) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    rb->timeout_ms = timeout_ms;
    if (parse_url(rb, url, err, err_len)) {
        free(rb);
        return NULL;
    }
    return rb;
}

void redis_backend_free(redis_backend *rb) {
    if (rb) explicit_bzero(rb, sizeof *rb);
    free(rb);
}

const char *redis_backend_where(const redis_backend *rb) {
    return rb->where;
}

/* One line on stderr at most every WARN_EVERY_MS for the whole process:
 * a dead Redis must not flood the log at the request rate. */
static void warn(rconn *rc) {
    redis_backend *rb = rc->rb;
    int64_t now = chopin_now_ms();
    int64_t last = __atomic_load_n(&rb->last_warning_ms, __ATOMIC_RELAXED);
    if (last && now - last < WARN_EVERY_MS) return;
    if (!__atomic_compare_exchange_n(&rb->last_warning_ms, &last, now, false, __ATOMIC_RELAXED,
                                     __ATOMIC_RELAXED))
        return;
    __atomic_store_n(&rb->down, 1, __ATOMIC_RELAXED);
    chopin_log(CHOPIN_LOG_WARN,
               "Redis is unavailable: cache reads miss and writes are dropped until it is back",
               "redis", rb->where, "error", rc->why, NULL);
}

/* --- The connection ------------------------------------------------------------ */

static void watch(rconn *rc, uint32_t events) {
    if (rc->w && rc->watch.events != events) worker_watch(rc->w, &rc->watch, events);
    rc->watch.events = events;
}

/* The answer is in: wake its request, or drop it if nobody waits. */
static void finish(rpending *p, redisReply *reply) {
    p->reply = reply;
    p->done = true;
    if (!p->waited) {
        if (reply) freeReplyObject(reply);
        free(p);
    } else if (p->t) {
        task_unpark(p->t, 0);
    }
}

static void arm_timer(rconn *rc) {
    if (!rc->w) return;
    if (rc->head || rc->state == RC_CONNECTING) {
        int64_t from = rc->head ? rc->head->sent_ms : chopin_now_ms();
        timer_add(&rc->w->timers, &rc->timer, from + rc->rb->timeout_ms);
    } else {
        timer_cancel(&rc->w->timers, &rc->timer);
    }
}

static void conn_down(rconn *rc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rc->why, sizeof rc->why, fmt, ap);
    va_end(ap);
    watch(rc, 0);
    if (rc->watch.fd >= 0) close(rc->watch.fd);
    rc->watch.fd = -1;
    rc->state = RC_DOWN;
    rc->retry_at_ms = chopin_now_ms() + RETRY_MS;
    rc->out.len = 0;
    if (rc->reader) redisReaderFree(rc->reader);
    rc->reader = NULL;
    while (rc->head) {
        rpending *p = rc->head;
        rc->head = p->next;
        finish(p, NULL);
    }
    rc->tail = NULL;
    arm_timer(rc);
    warn(rc);
}

static void flush(rconn *rc) {
    while (rc->out.len) {
        ssize_t n = send(rc->watch.fd, rc->out.data, rc->out.len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        if (n <= 0) {
            conn_down(rc, "send: %s", n < 0 ? strerror(errno) : "closed");
            return;
        }
        buf_consume(&rc->out, (size_t)n);
    }
    watch(rc, EPOLLIN | (rc->out.len ? EPOLLOUT : 0));
}

static void read_replies(rconn *rc) {
    char chunk[READ_CHUNK];
    for (;;) {
        ssize_t n = recv(rc->watch.fd, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        if (n <= 0) {
            conn_down(rc, "%s", n < 0 ? strerror(errno) : "connection closed by the server");
            return;
        }
        if (redisReaderFeed(rc->reader, chunk, (size_t)n) != REDIS_OK) {
            conn_down(rc, "out of memory");
            return;
        }
        void *reply;
        while (rc->reader && redisReaderGetReply(rc->reader, &reply) == REDIS_OK && reply) {
            rpending *p = rc->head;
            if (!p) {
                freeReplyObject(reply);
                conn_down(rc, "a reply nobody asked for");
                return;
            }
            rc->head = p->next;
            if (!rc->head) rc->tail = NULL;
            bool refused = p->checked && ((redisReply *)reply)->type == REDIS_REPLY_ERROR;
            /* Back when it answers, not when it accepts: a stopped Redis
             * (SIGSTOP, a full disk) still completes connections. */
            if (!refused && __atomic_exchange_n(&rc->rb->down, 0, __ATOMIC_RELAXED))
                chopin_log(CHOPIN_LOG_INFO, "Redis is back", "redis", rc->rb->where, NULL);
            char why[120];
            if (refused) { /* "WRONGPASS ... disabled." without its full stop */
                snprintf(why, sizeof why, "%s", ((redisReply *)reply)->str);
                size_t wl = strlen(why);
                if (wl && why[wl - 1] == '.') why[wl - 1] = 0;
            }
            finish(p, reply);
            if (refused) {
                conn_down(rc, "%s", why);
                return;
            }
        }
        if (rc->reader && rc->reader->err) {
            conn_down(rc, "protocol error: %s", rc->reader->errstr);
            return;
        }
    }
    arm_timer(rc);
}

static void on_ready(worker *w, loop_watch *lw, uint32_t events) {
    (void)w;
    rconn *rc = (rconn *)((char *)lw - offsetof(rconn, watch));
    if (rc->state == RC_CONNECTING) {
        int soerr = 0;
        socklen_t len = sizeof soerr;
        getsockopt(rc->watch.fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
        if (soerr) {
            conn_down(rc, "connect: %s", strerror(soerr));
            return;
        }
        rc->state = RC_READY;
        arm_timer(rc);
    }
    if (rc->state != RC_READY) return;
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) flush(rc);
    if (rc->state == RC_READY && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) read_replies(rc);
}

/* The round is over: what its requests queued leaves in one write. */
static void on_round_end(worker *w, loop_watch *lw) {
    (void)w;
    rconn *rc = (rconn *)((char *)lw - offsetof(rconn, watch));
    if (rc->state == RC_READY) flush(rc);
}

static void on_timer(worker *w, chopin_timer *t) {
    (void)w;
    rconn *rc = (rconn *)((char *)t - offsetof(rconn, timer));
    if (rc->state == RC_CONNECTING)
        conn_down(rc, "connect timed out after %d ms", rc->rb->timeout_ms);
    else if (rc->head && chopin_now_ms() - rc->head->sent_ms >= rc->rb->timeout_ms)
        conn_down(rc, "no reply within %d ms", rc->rb->timeout_ms);
    else
        arm_timer(rc);
}

/* Queues a command; the pending is the caller's to wait on (or NULL when
 * the connection is down or memory ran out). */
static rpending *queue(rconn *rc, int argc, const char **argv, const size_t *lens, bool checked) {
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, lens);
    rpending *p = len > 0 ? calloc(1, sizeof *p) : NULL;
    if (!p || buf_append(NULL, &rc->out, cmd, (size_t)len)) {
        free(cmd);
        free(p);
        return NULL;
    }
    free(cmd);
    p->sent_ms = chopin_now_ms();
    p->checked = checked;
    if (rc->tail)
        rc->tail->next = p;
    else
        rc->head = p;
    rc->tail = p;
    return p;
}

static int start_connect(rconn *rc) {
    redis_backend *rb = rc->rb;
    int fd = socket(rb->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        conn_down(rc, "socket: %s", strerror(errno));
        return -1;
    }
    if (rb->addr.ss_family != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    rc->watch.fd = fd;
    if (!(rc->reader = redisReaderCreate())) {
        conn_down(rc, "out of memory");
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&rb->addr, rb->addr_len) && errno != EINPROGRESS) {
        conn_down(rc, "connect: %s", strerror(errno));
        return -1;
    }
    rc->state = RC_CONNECTING;
    if (rb->password[0]) { /* AUTH [user] password */
        const char *argv[] = {"AUTH", rb->username, rb->password};
        size_t lens[] = {4, strlen(rb->username), strlen(rb->password)};
        bool user = rb->username[0];
        if (!queue(rc, user ? 3 : 2, user ? argv : (const char *[]){"AUTH", rb->password},
                   user ? lens : (size_t[]){4, lens[2]}, true))
            goto oom;
    }
    if (rb->db) {
        char db[16];
        snprintf(db, sizeof db, "%d", rb->db);
        const char *argv[] = {"SELECT", db};
        size_t lens[] = {6, strlen(db)};
        if (!queue(rc, 2, argv, lens, true)) goto oom;
    }
    watch(rc, EPOLLOUT);
    arm_timer(rc);
    return 0;
oom:
    conn_down(rc, "out of memory");
    return -1;
}

static void *rconn_new(void *arg) {
    rconn *rc = calloc(1, sizeof *rc);
    if (!rc) return NULL;
    rc->rb = arg;
    rc->watch =
        (loop_watch){.ev_kind = EV_WATCH, .fd = -1, .ready = on_ready, .round_end = on_round_end};
    rc->timer.fire = on_timer;
    return rc;
}

static void rconn_free(void *state) {
    rconn *rc = state;
    if (!rc) return;
    while (rc->head) { /* the worker is gone: nobody waits for these */
        rpending *p = rc->head;
        rc->head = p->next;
        if (p->reply) freeReplyObject(p->reply);
        free(p);
    }
    if (rc->w && rc->timer.armed) timer_cancel(&rc->w->timers, &rc->timer);
    if (rc->watch.fd >= 0) close(rc->watch.fd);
    if (rc->reader) redisReaderFree(rc->reader);
    buf_release(NULL, &rc->out);
    free(rc);
}

void redis_detached_free(void *state) {
    rconn_free(state);
}

/* A request's connection is its worker's; a detached context has its own. */
static rconn *conn_of(chopin_ctx *c) {
    redis_backend *rb = c->app->redis;
    task *t = ctx_task(c);
    if (!t) {
        if (!c->cache_detached) c->cache_detached = rconn_new(rb);
        return c->cache_detached;
    }
    rconn *rc = worker_local_get(t->w, rb, rconn_new, rb, rconn_free);
    if (rc && !rc->w) rc->w = t->w;
    return rc;
}

/* A detached context drives the socket itself, blocking, until p is done. */
static void drive(rconn *rc, rpending *p) {
    while (!p->done && rc->state != RC_DOWN) {
        int64_t from = rc->head ? rc->head->sent_ms : chopin_now_ms();
        int64_t left = from + rc->rb->timeout_ms - chopin_now_ms();
        short want = (short)(POLLIN | (rc->out.len || rc->state == RC_CONNECTING ? POLLOUT : 0));
        struct pollfd pfd = {.fd = rc->watch.fd, .events = want};
        int n = left > 0 ? poll(&pfd, 1, (int)left) : 0;
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            conn_down(rc, n < 0 ? "poll: %s" : "no reply within %d ms",
                      n < 0 ? strerror(errno) : "", rc->rb->timeout_ms);
            break;
        }
        uint32_t ev = (pfd.revents & POLLIN ? EPOLLIN : 0) |
                      (pfd.revents & POLLOUT ? EPOLLOUT : 0) |
                      (pfd.revents & (POLLERR | POLLHUP) ? EPOLLERR : 0);
        on_ready(NULL, &rc->watch, ev);
    }
}

static void abandon(void *arg) {
    ((rpending *)arg)->waited = false; /* its reply will be read and dropped */
}

redisReply *redis_command(chopin_ctx *c, int argc, const char **argv, const size_t *lens) {
    rconn *rc = conn_of(c);
    if (!rc) return NULL;
    if (rc->state == RC_DOWN) {
        if (chopin_now_ms() < rc->retry_at_ms) {
            warn(rc);
            return NULL;
        }
        if (start_connect(rc)) return NULL;
    }
    rpending *p = queue(rc, argc, argv, lens, false);
    if (!p) return NULL;
    p->waited = true;
    task *t = ctx_task(c);
    if (!t) {
        if (rc->state == RC_READY) flush(rc);
        drive(rc, p);
        if (!p->done) { /* the connection went down before it was sent */
            p->waited = false;
            return NULL;
        }
    } else {
        if (rc->state == RC_READY) worker_round_end(rc->w, &rc->watch);
        arm_timer(rc);
        p->t = t;
        if (task_park(t, abandon, p) < 0) return NULL; /* the request ended: p is dropped later */
    }
    redisReply *reply = p->reply;
    free(p);
    return reply;
}
