/* task.c - handlers on coroutines, and what they can wait for.
 *
 * Every request runs in a task: a coroutine with its own context and arena.
 * A handler that never waits costs one switch in and one out. One that waits
 * (chopin_sleep, chopin_wait_fd, chopin_offload) is suspended; the worker
 * goes on with other connections and resumes it from a timer, an epoll event
 * or an offload completion, always on the worker's own thread. */
#include "engine.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <sys/epoll.h>

#define FREE_TASKS_KEPT 256

#define TASK_OF(ptr, field) ((task *)((char *)(ptr)-offsetof(task, field)))

static void on_wait_timer(worker *w, chopin_timer *tm);
static void on_deadline(worker *w, chopin_timer *tm);

static task *task_get(worker *w) {
    task *t = w->free_tasks;
    if (t) {
        w->free_tasks = t->next_free;
        w->free_task_count--;
        return t;
    }
    t = calloc(1, sizeof *t);
    if (!t) return NULL;
    size_t n = w->srv->cfg->max_headers ? w->srv->cfg->max_headers : 1;
    t->headers = calloc(n, sizeof *t->headers);
    if (!t->headers) {
        free(t);
        return NULL;
    }
    t->ev_kind = EV_TASK;
    t->w = w;
    arena_init(&t->arena);
    t->wait_timer.fire = on_wait_timer;
    t->deadline.fire = on_deadline;
    return t;
}

static void task_destroy(worker *w, task *t) {
    arena_destroy(&t->arena);
    buf_release(&w->pool, &t->ctx.body_buf);
    free(t->headers);
    free(t);
}

void task_free(worker *w, task *t) {
    timer_cancel(&w->timers, &t->wait_timer);
    timer_cancel(&w->timers, &t->deadline);
    if (t->co) coro_release(&w->coros, t->co); /* never ran */
    t->co = NULL;
    __atomic_store_n(&w->tasks_live, w->tasks_live - 1, __ATOMIC_RELAXED);
    ctx_finish(&t->ctx);
    arena_reset(&t->arena);
    buf_release(&w->pool, &t->orphan_in);
    t->c = NULL;
    if (w->free_task_count >= FREE_TASKS_KEPT) {
        task_destroy(w, t);
        return;
    }
    t->next_free = w->free_tasks;
    w->free_tasks = t;
    w->free_task_count++;
}

void task_pool_destroy(worker *w) {
    while (w->free_tasks) {
        task *t = w->free_tasks;
        w->free_tasks = t->next_free;
        task_destroy(w, t);
    }
    w->free_task_count = 0;
}

/* The body of every handler coroutine: run the task it is given, say so, and
 * park. A coroutine whose handler never waited is used again for the next
 * request as it is (no new stack frame to prepare): the fast path is just the
 * two switches. */
static void coro_loop(coro *co, void *arg) {
    (void)arg; /* the current task is co->arg, set before every resume */
    for (;;) {
        task *t = co->arg;
        t->w->srv->handle(&t->ctx, t->w->srv->handle_arg);
        t->finished = true;
        coro_yield(co);
    }
}

/* t's handler has returned: its coroutine becomes the worker's spare, or goes
 * back to the pool when there is one already. */
static void park(worker *w, task *t) {
    if (!w->spare_co) {
        w->spare_co = t->co;
        w->spare_co->arg = NULL;
    } else {
        coro_release(&w->coros, t->co);
    }
    t->co = NULL;
}

/* "GET /path" for the stack overflow message: plain copies, no formatting,
 * since it runs in the SIGSEGV handler. */
static void describe(void *arg, char *buf, size_t cap) {
    const task *t = arg;
    size_t n = 0;
    if (!t) return;
    chopin_str parts[3] = {t->req.method_name, CHOPIN_STR(" "), t->req.path};
    for (int i = 0; i < 3 && n + 1 < cap; i++) {
        size_t k = parts[i].len < cap - 1 - n ? parts[i].len : cap - 1 - n;
        memcpy(buf + n, parts[i].ptr, k);
        n += k;
    }
    buf[n] = 0;
}

/* A view into [old, old + len) moved to the same place in copy. */
static void rebase(chopin_str *s, const char *old, size_t len, const char *copy) {
    if (s->ptr && s->ptr >= old && s->ptr < old + len) s->ptr = copy + (s->ptr - old);
}

static task *task_run(worker *w, task *t);
static task *task_start_prepared(worker *w, conn *c, const http1_request *req, chopin_str body,
                                 size_t consumed);

task *task_start_streaming(worker *w, conn *c, const http1_request *req, const char *head,
                           size_t head_len) {
    task *t = task_start_prepared(w, c, req, CHOPIN_STR_NULL, 0);
    if (!t) return NULL;
    t->stream = true;
    char *copy = arena_alloc(&t->arena, head_len);
    if (!copy) {
        task_free(w, t);
        return NULL;
    }
    memcpy(copy, head, head_len);
    rebase(&t->req.method_name, head, head_len, copy);
    rebase(&t->req.target, head, head_len, copy);
    rebase(&t->req.path, head, head_len, copy);
    rebase(&t->req.query, head, head_len, copy);
    for (size_t i = 0; i < t->req.num_headers; i++) {
        rebase(&t->headers[i].name, head, head_len, copy);
        rebase(&t->headers[i].value, head, head_len, copy);
    }
    return task_run(w, t);
}

task *task_start(worker *w, conn *c, const http1_request *req, chopin_str body, size_t consumed) {
    task *t = task_start_prepared(w, c, req, body, consumed);
    return t ? task_run(w, t) : NULL;
}

/* A task for the request, not yet run. */
static task *task_start_prepared(worker *w, conn *c, const http1_request *req, chopin_str body,
                                 size_t consumed) {
    task *t = task_get(w);
    if (!t) return NULL;
    t->c = c;
    t->consumed = consumed;
    t->req = *req;
    if (req == &w->req) { /* take the parser's array, leave ours for its next parse */
        http1_header *mine = t->headers;
        t->headers = w->headers;
        w->headers = w->req.headers = mine;
    } else {
        memcpy(t->headers, req->headers, req->num_headers * sizeof *t->headers);
    }
    t->req.headers = t->headers;
    ctx_init(&t->ctx, &t->arena, &w->pool, w->srv->cfg);
    t->ctx.req = &t->req;
    t->ctx.body = body;
    t->ctx.task = t;
    t->cancelled = t->timed_out = t->finished = t->stream = false;
    t->waiting = WAIT_NONE;
    __atomic_store_n(&w->tasks_live, w->tasks_live + 1, __ATOMIC_RELAXED);
    t->co = w->spare_co ? w->spare_co : coro_new(&w->coros, coro_loop, NULL, describe);
    w->spare_co = NULL;
    if (!t->co) {
        task_free(w, t);
        return NULL;
    }
    return t;
}

static task *task_run(worker *w, task *t) {
    t->co->arg = t;
    coro_resume(t->co);
    if (t->finished)
        park(w, t);
    else /* it waits: from now on the deadline counts */
        timer_add(&w->timers, &t->deadline, w->now_ms + w->srv->cfg->request_timeout_ms);
    return t;
}

bool task_done(const task *t) {
    return t->finished;
}

/* Runs t until its next wait or its end; an ended task goes to its connection. */
static void resume(worker *w, task *t) {
    coro_resume(t->co);
    if (!t->finished) return;
    park(w, t);
    conn *c = t->c;
    if (!c) {
        task_free(w, t);
        return;
    }
    if (conn_task_done(c, t) < 0) worker_close_conn(w, c);
}

static void wake(worker *w, task *t, int result, int err) {
    t->wait_result = result;
    t->wait_errno = err;
    resume(w, t);
}

/* Ends whatever t waits for. An offload job still in the pool's queue is
 * taken back; one a thread has started cannot be: the task then resumes
 * when it returns. */
static void interrupt(worker *w, task *t, int err) {
    switch (t->waiting) {
    case WAIT_FD:
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, t->wait_fd, NULL);
        /* fall through */
    case WAIT_SLEEP:
        timer_cancel(&w->timers, &t->wait_timer);
        wake(w, t, -1, err);
        break;
    case WAIT_PARK:
        if (t->ready) break; /* already unparked: it resumes with its result */
        t->park_abandon(t->park_arg);
        wake(w, t, -1, err);
        break;
    case WAIT_OFFLOAD:
        if (!offload_recall(w->srv->offload, &t->job)) break;
        __atomic_sub_fetch(&w->offload_pending, 1, __ATOMIC_RELAXED);
        wake(w, t, -1, err);
        break;
    default:
        break;
    }
}

void task_cancel(worker *w, task *t) {
    conn *c = t->c;
    t->cancelled = true;
    if (c) { /* the handler's views point into c's read buffer: keep it */
        t->orphan_in = c->in;
        c->in = (chopin_buf){0};
        c->task = NULL;
        t->c = NULL;
    }
    interrupt(w, t, ECANCELED);
}

static void on_deadline(worker *w, chopin_timer *tm) {
    task *t = TASK_OF(tm, deadline);
    t->timed_out = true;
    if (!t->ctx.status) {
        chopin_error(&t->ctx, 504, "TIMEOUT", "the request took longer than the server allows");
        t->ctx.json.failed = true; /* the handler's writer, if any, writes nothing more */
    }
    interrupt(w, t, ETIMEDOUT);
}

static void on_wait_timer(worker *w, chopin_timer *tm) {
    task *t = TASK_OF(tm, wait_timer);
    if (t->waiting == WAIT_FD) epoll_ctl(w->epfd, EPOLL_CTL_DEL, t->wait_fd, NULL);
    wake(w, t, 0, 0);
}

void task_fd_ready(worker *w, task *t, uint32_t events) {
    /* An event already in this round's batch can name a task whose wait has
     * ended meanwhile; such a stale event is dropped. */
    if (t->waiting != WAIT_FD) return;
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, t->wait_fd, NULL);
    timer_cancel(&w->timers, &t->wait_timer);
    int ready = (int)(events & (EPOLLIN | EPOLLOUT));
    if (events & (EPOLLERR | EPOLLHUP)) ready |= t->wait_result; /* the asked-for events */
    wake(w, t, ready ? ready : (int)(EPOLLIN | EPOLLOUT), 0);
}

void task_offload_done(worker *w, offload_job *job) {
    task *t = job->owner;
    __atomic_sub_fetch(&w->offload_pending, 1, __ATOMIC_RELAXED);
    int err = t->cancelled ? ECANCELED : t->timed_out ? ETIMEDOUT : 0;
    wake(w, t, err ? -1 : 0, err);
}

/* --- The public waits ---------------------------------------------------------- */

/* The task a handler runs in, or NULL (with errno) when the request is over. */
static task *begin_wait(chopin_ctx *c) {
    task *t = c->task;
    if (t->cancelled) {
        errno = ECANCELED;
        return NULL;
    }
    if (t->timed_out) {
        errno = ETIMEDOUT;
        return NULL;
    }
    return t;
}

static int suspend(task *t, wait_kind kind) {
    t->waiting = kind;
    coro_yield(t->co);
    t->waiting = WAIT_NONE;
    if (t->wait_result < 0) errno = t->wait_errno;
    return t->wait_result;
}

chopin_str chopin_client_addr(chopin_ctx *c) {
    task *t = c->task;
    conn *cn = t ? t->c : NULL;
    if (!cn || !cn->peer_family) return CHOPIN_STR_NULL;
    char text[INET6_ADDRSTRLEN];
    if (!inet_ntop(cn->peer_family, cn->peer, text, sizeof text)) return CHOPIN_STR_NULL;
    size_t n = strlen(text);
    char *copy = chopin_strdup(c, text, n);
    return copy ? (chopin_str){copy, n} : CHOPIN_STR_NULL;
}

task *ctx_task(chopin_ctx *c) {
    return c->task;
}

int task_park(task *t, void (*abandon)(void *arg), void *arg) {
    if (t->cancelled || t->timed_out) {
        errno = t->cancelled ? ECANCELED : ETIMEDOUT;
        abandon(arg);
        return -1;
    }
    t->park_abandon = abandon;
    t->park_arg = arg;
    return suspend(t, WAIT_PARK);
}

void task_unpark(task *t, int result) {
    if (t->waiting != WAIT_PARK || t->ready) return;
    worker *w = t->w;
    t->ready = true;
    t->wait_result = result;
    t->wait_errno = 0;
    t->next_ready = NULL;
    if (w->ready_tail)
        w->ready_tail->next_ready = t;
    else
        w->ready_head = t;
    w->ready_tail = t;
}

void task_run_ready(worker *w) {
    while (w->ready_head) {
        task *t = w->ready_head;
        w->ready_head = t->next_ready;
        if (!w->ready_head) w->ready_tail = NULL;
        t->ready = false;
        resume(w, t);
    }
}

int chopin_sleep(chopin_ctx *c, int64_t ms) {
    task *t = begin_wait(c);
    if (!t) return -1;
    if (timer_add(&t->w->timers, &t->wait_timer, chopin_now_ms() + (ms > 0 ? ms : 0))) {
        errno = ENOMEM;
        return -1;
    }
    return suspend(t, WAIT_SLEEP);
}

int chopin_wait_fd(chopin_ctx *c, int fd, int events, int64_t timeout_ms) {
    task *t = begin_wait(c);
    if (!t) return -1;
    worker *w = t->w;
    uint32_t want = (uint32_t)events & (EPOLLIN | EPOLLOUT);
    struct epoll_event ev = {.events = want, .data.ptr = t};
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev)) return -1;
    t->wait_fd = fd;
    t->wait_result = (int)want; /* what an error or hang-up reports as ready */
    if (timeout_ms >= 0 && timer_add(&w->timers, &t->wait_timer, chopin_now_ms() + timeout_ms)) {
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
        errno = ENOMEM;
        return -1;
    }
    return suspend(t, WAIT_FD);
}

int chopin_offload(chopin_ctx *c, void (*fn)(void *arg), void *arg) {
    task *t = begin_wait(c);
    if (!t) return -1;
    worker *w = t->w;
    t->job = (offload_job){.fn = fn, .arg = arg, .owner = t};
    if (offload_submit(w->srv->offload, &t->job)) {
        /* Saturated: a quick 503 the client may retry beats a 504 after
         * the whole deadline spent in a queue. */
        if (!t->ctx.status) {
            chopin_error(&t->ctx, 503, "OVERLOADED", "the server is too busy now; try again");
            chopin_set_header(&t->ctx, "Retry-After", "1");
        }
        errno = EBUSY;
        return -1;
    }
    __atomic_add_fetch(&w->offload_pending, 1, __ATOMIC_RELAXED);
    return suspend(t, WAIT_OFFLOAD);
}
