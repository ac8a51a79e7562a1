/* worker.c - one thread: an epoll loop over its listener and connections.
 *
 * Connections are registered once, edge-triggered, for input and output, so
 * a request costs no epoll_ctl. Timeouts live in one list per kind (see
 * timeout_kind); the loop wakes at the earliest deadline among list heads. */
#include "engine.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS      256
#define FREE_CONNS_KEPT 1024
#define LINGER_MS       2000

/* epoll user data for the two non-connection fds; connections use their pointer. */
static char listen_tag, wake_tag;

/* Sent as is when a worker is at its connection limit. */
#define BUSY_BODY                                                                                  \
    "{\"success\":false,\"error\":{\"status\":503,\"code\":\"UNAVAILABLE\",\"message\":\"the "     \
    "server is at its "                                                                            \
    "connection limit\"}}"
static const char busy_body[] = BUSY_BODY;
static const char busy_head[] = "HTTP/1.1 503 Service Unavailable\r\nServer: chopin\r\n"
                                "Content-Type: application/json\r\nConnection: close\r\n"
                                "Content-Length: ";

static void send_busy(int fd) {
    char msg[sizeof busy_head + sizeof busy_body + 32];
    int n =
        snprintf(msg, sizeof msg, "%s%zu\r\n\r\n%s", busy_head, sizeof busy_body - 1, busy_body);
    ssize_t ignored = send(fd, msg, (size_t)n, MSG_NOSIGNAL);
    (void)ignored;
}

int worker_init(worker *w, server *s, int id) {
    const chopin_config *cfg = s->cfg;
    memset(w, 0, sizeof *w);
    w->id = id;
    w->srv = s;
    w->epfd = w->listen_fd = w->wake_fd = -1;
    w->lim = (http1_limits){cfg->max_request_line, cfg->max_header_bytes, cfg->max_headers};
    w->headers = calloc(cfg->max_headers ? cfg->max_headers : 1, sizeof *w->headers);
    if (!w->headers) return -1;
    w->req.headers = w->headers;
    buf_pool_init(&w->pool, 4096);
    /* Free stacks kept for reuse: enough for a burst of a few hundred
     * waiting handlers (database load) without unmapping and mapping again;
     * a kept stack holds at most 32 KiB of resident pages (coro.c). */
    coro_pool_init(&w->coros, cfg->stack_size, 256);
    pthread_mutex_init(&w->done_mu, NULL);
    int n = s->num_workers > 0 ? s->num_workers : 1;
    w->max_conns = (size_t)(cfg->max_connections + n - 1) / (size_t)n;
    w->now_ms = chopin_now_ms();
    worker_refresh_date(w);
    return 0;
}

void worker_destroy(worker *w) {
    while (w->locals) {
        worker_local *l = w->locals;
        w->locals = l->next;
        if (l->destroy) l->destroy(l->value);
        free(l);
    }
    while (w->free_conns) {
        conn *c = w->free_conns;
        w->free_conns = c->next_free;
        free(c);
    }
    if (w->epfd >= 0) close(w->epfd);
    if (w->wake_fd >= 0) close(w->wake_fd);
    if (w->listen_fd >= 0) close(w->listen_fd);
    free(w->headers);
    w->headers = NULL;
    task_pool_destroy(w);
    if (w->spare_co) coro_release(&w->coros, w->spare_co);
    w->spare_co = NULL;
    coro_pool_destroy(&w->coros);
    timer_heap_destroy(&w->timers);
    pthread_mutex_destroy(&w->done_mu);
    buf_pool_destroy(&w->pool);
}

/* --- Date cache ------------------------------------------------------------ */

void worker_refresh_date(worker *w) {
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL);
    if (now == w->date_sec && w->date_len) return;
    struct tm tm;
    gmtime_r(&now, &tm);
    /* Formatted by hand: strftime's %a and %b follow the locale. */
    int n = snprintf(w->date_line, sizeof w->date_line,
                     "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n", days[tm.tm_wday], tm.tm_mday,
                     months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    w->date_len = n > 0 ? (size_t)n : 0;
    w->date_sec = now;
}

/* --- Timeouts ---------------------------------------------------------------- */

/* While stopping, how long an idle connection is kept for a request that may
 * already be on its way: under load a client sends its next request right
 * after the last answer, and closing at that moment would fail it (served
 * instead, with Connection: close). Short, so that stopping stays quick. */
#define DRAIN_IDLE_MS 500

static int timeout_ms(const worker *w, timeout_kind k) {
    const chopin_config *cfg = w->srv->cfg;
    switch (k) {
    case TO_HEAD:
        return cfg->header_timeout_ms;
    case TO_BODY:
        return cfg->body_timeout_ms;
    case TO_IDLE:
        return w->stopping && cfg->keepalive_timeout_ms > DRAIN_IDLE_MS ? DRAIN_IDLE_MS
                                                                        : cfg->keepalive_timeout_ms;
    case TO_WRITE:
        return cfg->write_timeout_ms;
    case TO_LINGER:
        return LINGER_MS;
    case TO_HANDLER:
        return 1 << 30;
    default:
        return 0;
    }
}

static void list_remove(worker *w, conn *c) {
    if (c->to_kind == TO_NONE) return;
    conn_list *l = &w->timeouts[c->to_kind];
    if (c->to_prev)
        c->to_prev->to_next = c->to_next;
    else
        l->head = c->to_next;
    if (c->to_next)
        c->to_next->to_prev = c->to_prev;
    else
        l->tail = c->to_prev;
    c->to_prev = c->to_next = NULL;
    c->to_kind = TO_NONE;
}

void worker_set_timeout(worker *w, conn *c, timeout_kind k) {
    if (c->fd < 0) return; /* the test client has no clock */
    list_remove(w, c);
    conn_list *l = &w->timeouts[k];
    c->to_kind = k;
    c->deadline_ms = w->now_ms + timeout_ms(w, k);
    c->to_prev = l->tail;
    c->to_next = NULL;
    if (l->tail)
        l->tail->to_next = c;
    else
        l->head = c;
    l->tail = c;
}

/* --- Connections ------------------------------------------------------------- */

void worker_defer(worker *w, conn *c) {
    if (c->deferred || c->fd < 0) return;
    c->deferred = true;
    c->next_deferred = w->deferred;
    w->deferred = c;
}

void worker_close_conn(worker *w, conn *c) {
    if (c->closed) return;
    if (c->task) task_cancel(w, c->task); /* the handler unwinds; its views stay valid */
    list_remove(w, c);
    if (c->deferred) { /* rare: unlink before the conn is reused */
        conn **pp = &w->deferred;
        while (*pp != c) pp = &(*pp)->next_deferred;
        *pp = c->next_deferred;
        c->deferred = false;
    }
    if (c->file_fd >= 0) close(c->file_fd);
    c->file_fd = -1;
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    conn_release_buffers(c);
    /* One writer (this worker); GET /metrics reads it from other workers. */
    __atomic_store_n(&w->num_conns, w->num_conns - 1, __ATOMIC_RELAXED);
    /* Events for c may still be in this round's batch: it is recycled after. */
    c->closed = true;
    c->next_free = w->closed_conns;
    w->closed_conns = c;
}

static void recycle_closed(worker *w) {
    while (w->closed_conns) {
        conn *c = w->closed_conns;
        w->closed_conns = c->next_free;
        if (w->num_conns < FREE_CONNS_KEPT) {
            c->next_free = w->free_conns;
            w->free_conns = c;
        } else {
            free(c);
        }
    }
}

#define close_conn worker_close_conn

static void on_timeout(worker *w, conn *c) {
    /* A request partly received gets a 408 before the close; an idle or
     * lingering connection just closes. */
    if (c->to_kind == TO_HEAD || c->to_kind == TO_BODY) {
        if (c->in.len > c->in_pos || c->rstate != RS_HEAD) {
            c->out.len = c->out_sent = 0;
            if (!response_error(w, c, 408, true)) conn_flush(c);
        }
    }
    close_conn(w, c);
}

static void expire(worker *w) {
    for (int k = 0; k < TO_COUNT; k++) {
        conn *c;
        while ((c = w->timeouts[k].head) && c->deadline_ms <= w->now_ms) on_timeout(w, c);
    }
}

static int next_wait_ms(const worker *w) {
    int64_t earliest = -1;
    for (int k = 0; k < TO_COUNT; k++) {
        const conn *c = w->timeouts[k].head;
        if (c && (earliest < 0 || c->deadline_ms < earliest)) earliest = c->deadline_ms;
    }
    if (w->stopping && (earliest < 0 || w->stop_deadline_ms < earliest))
        earliest = w->stop_deadline_ms;
    if (w->accept_resume_ms && (earliest < 0 || w->accept_resume_ms < earliest))
        earliest = w->accept_resume_ms;
    if (earliest < 0) return 1000;
    int64_t d = earliest - w->now_ms;
    return d < 0 ? 0 : d > 1000 ? 1000 : (int)d;
}

/* Out of file descriptors: a level-triggered listener would wake the loop
 * again at once, for ever. It leaves the loop for a moment instead (the
 * kernel keeps new connections in the backlog), and the event is logged
 * at most every 10 s. */
#define ACCEPT_PAUSE_MS 100

static void pause_accepting(worker *w) {
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->listen_fd, NULL);
    w->accept_resume_ms = w->now_ms + ACCEPT_PAUSE_MS;
    if (w->fd_warning_ms && w->now_ms - w->fd_warning_ms < 10000) return;
    w->fd_warning_ms = w->now_ms;
    chopin_log(CHOPIN_LOG_ERROR,
               "out of file descriptors: new connections wait in the backlog (raise the "
               "limit: ulimit -n, LimitNOFILE)",
               NULL);
}

static int watch_listener(worker *w) {
    /* EPOLLEXCLUSIVE: when workers share one listener (SERVER_PORT=0), a
     * new connection wakes one of them, not all. */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &listen_tag};
    return epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->listen_fd, &ev);
}

static void accept_all(worker *w);

static void resume_accepting(worker *w) {
    if (!w->accept_resume_ms || w->now_ms < w->accept_resume_ms) return;
    w->accept_resume_ms = 0;
    if (w->listen_fd < 0 || watch_listener(w)) return;
    accept_all(w);
}

static void accept_all(worker *w) {
    if (w->accept_resume_ms) return;
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        int fd = accept4(w->listen_fd, (struct sockaddr *)&peer, &peer_len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE) pause_accepting(w);
            return; /* EAGAIN, or try again on the next wake-up */
        }
        if (w->num_conns >= w->max_conns) {
            send_busy(fd);
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn *c = w->free_conns;
        if (c)
            w->free_conns = c->next_free;
        else
            c = malloc(sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        conn_init(c, w, fd);
        conn_set_peer(c, (const struct sockaddr *)&peer);
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                 .data.ptr = c};
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev)) {
            close(fd);
            free(c);
            continue;
        }
        /* Relaxed, as in worker_close_conn. */
        __atomic_store_n(&w->num_conns, w->num_conns + 1, __ATOMIC_RELAXED);
        worker_set_timeout(w, c, TO_HEAD);
    }
}

/* Graceful shutdown, step one: take what is already queued on the listener,
 * stop listening, and close every connection with nothing in flight. */
static void begin_stop(worker *w) {
    if (w->stopping) return;
    w->stopping = true;
    w->stop_deadline_ms = w->now_ms + w->srv->cfg->shutdown_timeout_ms;
    if (w->listen_fd >= 0) {
        accept_all(w);
        w->accept_resume_ms = 0;
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->listen_fd, NULL);
        close(w->listen_fd);
        w->listen_fd = -1;
    }
    /* Idle and just-accepted connections: read once in case a request is
     * already there; whatever stays idle gets DRAIN_IDLE_MS more (re-armed
     * in order, so the idle list stays sorted by deadline), then closes. */
    timeout_kind kinds[] = {TO_IDLE, TO_HEAD};
    for (size_t i = 0; i < 2; i++) {
        conn *c = w->timeouts[kinds[i]].head, *last = w->timeouts[kinds[i]].tail;
        while (c) {
            conn *next = c->to_next;
            bool was_last = c == last; /* re-armed ones go behind it */
            if (conn_is_idle(c)) {
                if (conn_on_readable(c) < 0)
                    close_conn(w, c);
                else if (conn_is_idle(c))
                    worker_set_timeout(w, c, TO_IDLE);
            }
            if (was_last) break;
            c = next;
        }
    }
}

static void close_all(worker *w) {
    for (int k = 0; k < TO_COUNT; k++)
        while (w->timeouts[k].head) close_conn(w, w->timeouts[k].head);
}

static void run_deferred(worker *w) {
    conn *list = w->deferred;
    w->deferred = NULL;
    while (list) {
        conn *c = list;
        list = c->next_deferred;
        c->deferred = false;
        if (conn_on_readable(c) < 0) {
            /* close_conn must not find c in the list we are walking */
            close_conn(w, c);
        }
    }
}

static void on_conn_event(worker *w, conn *c, uint32_t events) {
    if (c->closed) return;
    int rc = 0;
    if (events & EPOLLERR) rc = -1;
    /* A client gone while its handler waits: cancel (the handler unwinds) and close. */
    if (c->task && (events & (EPOLLRDHUP | EPOLLHUP))) rc = -1;
    if (events & EPOLLRDHUP) c->rdhup = true;
    if (!rc && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))) rc = conn_on_readable(c);
    if (!rc && (events & EPOLLOUT)) rc = conn_on_writable(c);
    if (rc < 0) close_conn(w, c);
}

static void drain_offload(worker *w) {
    pthread_mutex_lock(&w->done_mu);
    offload_job *jobs = w->done_jobs;
    w->done_jobs = NULL;
    pthread_mutex_unlock(&w->done_mu);
    while (jobs) {
        offload_job *job = jobs;
        jobs = job->next;
        task_offload_done(w, job);
    }
}

static void run_timers(worker *w) {
    chopin_timer *t;
    while ((t = timer_pop_expired(&w->timers, w->now_ms))) t->fire(w, t);
}

int worker_watch(worker *w, loop_watch *lw, uint32_t events) {
    if (events == lw->events) return 0;
    struct epoll_event ev = {.events = events, .data.ptr = lw};
    int op = !events ? EPOLL_CTL_DEL : lw->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(w->epfd, op, lw->fd, &ev) && op != EPOLL_CTL_DEL) return -1;
    lw->events = events;
    return 0;
}

void worker_round_end(worker *w, loop_watch *lw) {
    if (lw->round_end_queued) return;
    lw->round_end_queued = true;
    lw->next_round_end = w->round_end;
    w->round_end = lw;
}

/* The round's end calls; a call may run tasks (none do today) that ask for
 * more, which the loop takes too. */
static void run_round_end(worker *w) {
    while (w->round_end) {
        loop_watch *lw = w->round_end;
        w->round_end = lw->next_round_end;
        lw->round_end_queued = false;
        lw->round_end(w, lw);
    }
}

void *worker_local_get(worker *w, const void *key, void *(*make)(void *arg), void *arg,
                       void (*destroy)(void *value)) {
    for (worker_local *l = w->locals; l; l = l->next)
        if (l->key == key) return l->value;
    worker_local *l = malloc(sizeof *l);
    if (!l) return NULL;
    void *value = make(arg);
    if (!value) {
        free(l);
        return NULL;
    }
    *l = (worker_local){key, value, destroy, w->locals};
    w->locals = l;
    return value;
}

static int poll_wait_ms(worker *w, int max_ms) {
    if (w->deferred || w->ready_head || w->round_end) return 0;
    int wait = next_wait_ms(w);
    int64_t next_timer = timer_next(&w->timers);
    if (next_timer >= 0) {
        int64_t d = next_timer - w->now_ms;
        if (d < wait) wait = d < 0 ? 0 : (int)d;
    }
    return wait < max_ms ? wait : max_ms;
}

void worker_poll(worker *w, int max_ms) {
    struct epoll_event events[MAX_EVENTS];
    int n = epoll_wait(w->epfd, events, MAX_EVENTS, poll_wait_ms(w, max_ms));
    w->now_ms = chopin_now_ms();
    worker_refresh_date(w);
    for (int i = 0; i < n; i++) {
        void *tag = events[i].data.ptr;
        if (tag == &listen_tag) {
            if (w->listen_fd >= 0) accept_all(w);
        } else if (tag == &wake_tag) {
            uint64_t v;
            ssize_t ignored = read(w->wake_fd, &v, sizeof v);
            (void)ignored;
            drain_offload(w);
            if (atomic_load(&w->srv->stopping)) begin_stop(w);
        } else if (*(int *)tag == EV_TASK) {
            task_fd_ready(w, tag, events[i].events);
        } else if (*(int *)tag == EV_WATCH) {
            loop_watch *lw = tag;
            lw->ready(w, lw, events[i].events);
        } else {
            on_conn_event(w, tag, events[i].events);
        }
    }
    task_run_ready(w);
    w->now_ms = chopin_now_ms();
    run_timers(w);
    task_run_ready(w);
    run_deferred(w);
    task_run_ready(w);
    run_round_end(w);
    expire(w);
    recycle_closed(w);
    resume_accepting(w);
}

void *worker_main(void *arg) {
    worker *w = arg;
    coro_thread_init();
    for (;;) {
        if (w->stopping && w->now_ms >= w->stop_deadline_ms && w->num_conns) close_all(w);
        /* Offloaded jobs point into tasks: wait for them even past the deadline. */
        if (w->stopping && w->num_conns == 0 && w->offload_pending == 0) break;
        worker_poll(w, 1000);
    }
    close_all(w);
    recycle_closed(w);
    coro_thread_exit();
    return NULL;
}

int worker_open_loop(worker *w) {
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->epfd < 0 || w->wake_fd < 0) return -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &wake_tag};
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wake_fd, &ev)) return -1;
    if (w->listen_fd < 0) return 0; /* the test client's worker */
    return watch_listener(w);
}
