/* engine - workers, connections and the bytes on the wire. Internal.
 *
 * Owns: sockets, the epoll loop of each worker, per-connection state (read
 * buffer -> parser -> handler call -> write buffer), timeouts, limits,
 * backpressure and graceful shutdown. It does not know about routes or
 * middleware: it hands each complete request to server->handle and writes
 * whatever response the context holds.
 *
 * Threads: one worker per thread; a connection belongs to one worker for its
 * whole life. The only cross-thread state is server->stopping and the
 * listeners' port, both written before or signalled through eventfd. */
#ifndef CHOPIN_ENGINE_H
#define CHOPIN_ENGINE_H

#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <time.h>

#include "../app/ctx_internal.h"
#include "../coro/coro.h"

typedef struct worker worker;
typedef struct conn conn;
typedef struct server server;
typedef struct task task;
typedef struct offload_pool offload_pool;

/* What an epoll event's data.ptr points to: every such object starts with
 * an int holding one of these. */
enum { EV_CONN = 1, EV_TASK = 2, EV_WATCH = 3 };

/* A file descriptor watched by the loop itself rather than by one task: a
 * database connection shared by the requests of a worker. ready runs on the
 * loop (not in a coroutine) with the epoll events. */
typedef struct loop_watch loop_watch;
struct loop_watch {
    int ev_kind; /* EV_WATCH */
    int fd;
    uint32_t events; /* registered events; 0 when not registered */
    void (*ready)(worker *w, loop_watch *lw, uint32_t events);
    /* Called once at the end of the round it was asked for in
     * (worker_round_end): output written by many requests of one round
     * leaves in one write. */
    void (*round_end)(worker *w, loop_watch *lw);
    loop_watch *next_round_end;
    bool round_end_queued;
};

/* Something a worker owns for a module above the engine (a database
 * connection pool), found by key, destroyed with the worker. */
typedef struct worker_local worker_local;
struct worker_local {
    const void *key;
    void *value;
    void (*destroy)(void *value);
    worker_local *next;
};

/* A one-shot timer in a worker's heap (timer.c). */
typedef struct chopin_timer chopin_timer;
struct chopin_timer {
    int64_t at; /* monotonic ms */
    size_t heap_index;
    bool armed;
    void (*fire)(worker *w, chopin_timer *t);
};

typedef struct {
    chopin_timer **items;
    size_t count, cap;
} timer_heap;

int timer_add(timer_heap *h, chopin_timer *t, int64_t at); /* re-arms if armed */
void timer_cancel(timer_heap *h, chopin_timer *t);
chopin_timer *timer_pop_expired(timer_heap *h, int64_t now);
int64_t timer_next(const timer_heap *h); /* -1 when empty */
void timer_heap_destroy(timer_heap *h);

/* What a handler's coroutine is waiting for. */
typedef enum { WAIT_NONE, WAIT_SLEEP, WAIT_FD, WAIT_OFFLOAD, WAIT_PARK } wait_kind;

typedef struct offload_job offload_job;
struct offload_job {
    void (*fn)(void *arg);
    void *arg;
    task *owner;
    offload_job *next;
};

/* One request being handled: its coroutine, context, memory and waits. A
 * task outlives its connection when the client goes away mid-wait: it then
 * owns the read buffer its views point into until the handler unwinds. */
struct task {
    int ev_kind; /* EV_TASK: epoll data for chopin_wait_fd */
    worker *w;
    conn *c; /* NULL once the connection is gone */
    coro *co;
    chopin_ctx ctx;
    chopin_arena arena;
    http1_request req; /* a copy: the worker's parse scratch is reused */
    http1_header *headers;
    size_t consumed;      /* input bytes this request used */
    chopin_buf orphan_in; /* the read buffer, when the connection went first */
    wait_kind waiting;
    int wait_result;
    int wait_errno;
    int wait_fd;
    chopin_timer wait_timer;
    chopin_timer deadline;
    bool finished;  /* the handler has returned */
    bool stream;    /* its body is streamed from the connection (body.c) */
    bool cancelled; /* client gone: waits fail with ECANCELED */
    bool timed_out; /* deadline passed: waits fail with ETIMEDOUT */
    offload_job job;
    /* WAIT_PARK: called when the request ends (ECANCELED, ETIMEDOUT) before
     * task_unpark, so that whoever would unpark the task forgets it. */
    void (*park_abandon)(void *arg);
    void *park_arg;
    task *next_ready; /* in the worker's ready list, after task_unpark */
    bool ready;
    task *next_free;
};

/* The timeouts a connection can be waiting on. Each kind has one duration,
 * so appending to the kind's list keeps it sorted by deadline: checking
 * timeouts is looking at list heads, and refreshing one is O(1). */
typedef enum {
    TO_NONE = -1,
    TO_HEAD,    /* waiting for the rest of a request head (slowloris) */
    TO_BODY,    /* waiting for more of a body */
    TO_IDLE,    /* keep-alive, between requests */
    TO_WRITE,   /* output pending, client not reading */
    TO_LINGER,  /* closing: draining what the client still sends */
    TO_HANDLER, /* a handler is waiting: no timeout here, the request deadline rules */
    TO_COUNT
} timeout_kind;

typedef struct {
    conn *head, *tail;
} conn_list;

typedef enum { RS_HEAD, RS_BODY, RS_CHUNKED } read_state;

struct conn {
    int ev_kind; /* EV_CONN */
    int fd;      /* -1 for the in-process test client */
    worker *w;
    chopin_buf in, out;
    size_t out_sent; /* bytes of out already written */
    size_t in_pos;   /* start of the request being read */
    read_state rstate;
    http1_scan scan;
    size_t head_len;       /* when reading a body */
    int64_t body_len;      /* Content-Length being read */
    http1_chunked chunked; /* when reading a chunked body */
    bool head_stale;       /* w->req may not hold this head any more: parse it again */
    bool sent_continue;
    bool close_after; /* close once out is flushed */
    bool read_paused; /* backpressure: unread input may wait in the socket */
    bool peer_closed; /* read returned 0 */
    bool lingering;
    bool served; /* at least one request answered: idle now means keep-alive */
    bool closed; /* closed this round; reused only after the round's events */
    bool rdhup;  /* the peer shut its side: read to the end, a short read proves nothing */
    bool unread; /* the socket may hold input we have not read (edge-triggered: no new wake-up) */
    int file_fd; /* a file being sent after out drains, or -1 */
    off_t file_off;
    int64_t file_left;
    /* Timeout list membership. */
    timeout_kind to_kind;
    int64_t deadline_ms;
    conn *to_prev, *to_next;
    conn *next_free;
    conn *next_deferred; /* in the worker's deferred list */
    bool deferred;
    task *task; /* a handler suspended on this connection's request */
    /* A streamed body (a route with .stream_body): the handler runs once the
     * head is in and pulls the body with chopin_body_read; the head was
     * copied into its task, so in holds only body bytes from in_pos. */
    bool streaming;
    bool stream_done;  /* the whole body has been handed over */
    bool stream_wants; /* the handler is parked until more body arrives */
    int stream_error;  /* 413 / 400 from the framing, or 0 */
    int64_t stream_limit;
    int64_t stream_read; /* body bytes handed to the handler */
    size_t chunk_end;    /* chunked: where the encoding ended, once it has */
    uint8_t peer[16];    /* the client's address (4 bytes for IPv4), for chopin_client_addr */
    uint8_t peer_family; /* AF_INET, AF_INET6, or 0 when unknown */
};

struct worker {
    int id;
    server *srv;
    pthread_t thread;
    int epfd;
    int listen_fd;
    int wake_fd; /* eventfd: shutdown */
    chopin_buf_pool pool;
    chopin_arena arena;
    http1_limits lim;
    http1_header *headers; /* cfg->max_headers entries, reused per request */
    http1_request req;
    chopin_ctx ctx;
    size_t num_conns; /* written by this worker only, with relaxed stores: GET /metrics reads it */
    size_t max_conns;
    conn *free_conns;
    conn *closed_conns; /* closed during this round of events */
    conn *deferred;     /* connections with input left after their read budget */
    conn_list timeouts[TO_COUNT];
    int64_t now_ms;
    /* Date header: "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n", refreshed when the second changes. */
    time_t date_sec;
    char date_line[48];
    size_t date_len;
    bool stopping;
    int64_t stop_deadline_ms;
    /* Out of file descriptors: the listener leaves the loop until then (0:
     * accepting), and the last time that was logged. */
    int64_t accept_resume_ms;
    int64_t fd_warning_ms;
    timer_heap timers;
    coro_pool coros;
    task *free_tasks;
    size_t free_task_count;
    size_t tasks_live; /* requests being handled (read by chopin_app_stats) */
    coro *spare_co;    /* a parked coroutine whose last handler returned */
    /* Offload completions, pushed by pool threads, drained on wake_fd. */
    pthread_mutex_t done_mu;
    offload_job *done_jobs;
    size_t offload_pending; /* jobs out in the pool; the worker waits for them before exiting */
    task *ready_head, *ready_tail; /* unparked tasks, resumed at the end of the round */
    loop_watch *round_end;         /* watches asking for their round_end call */
    worker_local *locals;
};

struct server {
    const chopin_config *cfg;
    void (*handle)(chopin_ctx *c, void *arg);
    void *handle_arg;
    /* Whether the request's body is streamed to its handler, and up to what
     * size: -1 reads it whole first (up to CHOPIN_MAX_BODY_BYTES). NULL: never. */
    int64_t (*stream_limit)(const http1_request *req, void *arg);
    worker *workers;
    int num_workers;
    int port; /* the bound port, known once started */
    atomic_bool stopping;
    offload_pool *offload;
};

/* --- server.c --- */
int server_start(server *s); /* binds, spawns workers; -1 with errno and a message printed */
/* Workers when CHOPIN_WORKERS is 0 (one per online core); metrics size their
 * slots with it too. */
int server_default_workers(void);
void server_stop(server *s); /* asks workers to shut down gracefully (async-signal-safe) */
void server_wait(server *s); /* joins workers, frees them */

/* --- worker.c --- */
int worker_init(worker *w, server *s, int id);
void worker_destroy(worker *w);
void *worker_main(void *arg);
/* Creates the epoll instance and the wake eventfd, registers listen_fd. */
int worker_open_loop(worker *w);
void worker_set_timeout(worker *w, conn *c, timeout_kind k);
void worker_refresh_date(worker *w);
/* Queues c to be driven again after this round of events (fairness). */
void worker_defer(worker *w, conn *c);

/* --- conn.c --- */
void conn_init(conn *c, worker *w, int fd);
void conn_set_peer(conn *c, const struct sockaddr *sa);
/* Processes buffered input: every complete request is answered into out. */
void conn_process(conn *c);
/* Reads what the socket has, processes, writes. Returns -1 when c must be closed. */
int conn_on_readable(conn *c);
int conn_on_writable(conn *c);
/* Writes pending output (and file). Returns 1 when all is out, 0 when the socket is full, -1 on
 * error. */
int conn_flush(conn *c);
void conn_release_buffers(conn *c);
/* True when no request is partly read and nothing waits to be written. */
bool conn_is_idle(const conn *c);

/* --- task.c --- */
/* Runs the request's handler on a coroutine until it finishes or waits.
 * Returns NULL when out of memory. */
task *task_start(worker *w, conn *c, const http1_request *req, chopin_str body, size_t consumed);
/* The same for a streamed body: the head (head_len bytes at head, which req's
 * views point into) is copied into the task first. */
task *task_start_streaming(worker *w, conn *c, const http1_request *req, const char *head,
                           size_t head_len);
bool task_done(const task *t);
void task_free(worker *w, task *t);
/* The client went away: waits fail with ECANCELED; the task keeps c's read buffer. */
void task_cancel(worker *w, task *t);
void task_fd_ready(worker *w, task *t, uint32_t events);
void task_offload_done(worker *w, offload_job *job);
void task_pool_destroy(worker *w);
/* The task a request runs in, NULL outside the engine (a detached context). */
task *ctx_task(chopin_ctx *c);
/* Suspends the handler until task_unpark(t, result). Returns result, or -1
 * with errno ECANCELED / ETIMEDOUT when the request ends first (abandon(arg)
 * has then been called). */
int task_park(task *t, void (*abandon)(void *arg), void *arg);
/* Makes a parked task ready; it resumes at the end of the loop's round, never
 * inside the caller (who may be a loop callback or another task). */
void task_unpark(task *t, int result);
/* Resumes the tasks made ready; worker_poll calls it after every round. */
void task_run_ready(worker *w);

/* --- body.c --- */
/* The next body bytes of a streamed request into dst: the count, 0 at the
 * end, BODY_AGAIN when none are here yet, or -1 (c->stream_error says why). */
#define BODY_AGAIN (-2)
ssize_t conn_stream_take(conn *c, char *dst, size_t cap);
/* One read from the socket for a waiting handler: 1 read something, 0 would
 * block, -1 the client closed or failed. */
int conn_stream_fill(conn *c);

/* --- offload.c --- */
/* CHOPIN_OFFLOAD_QUEUE's default: jobs that may wait for a thread. */
#define OFFLOAD_DEFAULT_QUEUE 1024
/* max_queued 0: OFFLOAD_DEFAULT_QUEUE. */
offload_pool *offload_pool_new(int threads, size_t max_queued);
void offload_pool_free(offload_pool *p); /* waits for queued jobs */
/* Queues job; -1 when max_queued jobs already wait (the pool is saturated). */
int offload_submit(offload_pool *p, offload_job *job);
/* Takes job back if no thread has started it: true then, and it never runs. */
bool offload_recall(offload_pool *p, offload_job *job);

/* --- conn.c, continued --- */
/* t finished: write its response into c and carry on with c's input. Returns -1 to close c. */
int conn_task_done(conn *c, task *t);

/* --- worker.c, continued --- */
void worker_close_conn(worker *w, conn *c);
/* Registers lw->fd for events (0: unregisters). Returns 0 or -1 with errno. */
int worker_watch(worker *w, loop_watch *lw, uint32_t events);
/* Asks for lw->round_end at the end of this round (once however often asked). */
void worker_round_end(worker *w, loop_watch *lw);
/* The value a module keeps in this worker under key, made by make(arg) on
 * first use (a NULL from make is returned and not kept) and destroyed with
 * the worker. */
void *worker_local_get(worker *w, const void *key, void *(*make)(void *arg), void *arg,
                       void (*destroy)(void *value));
/* One round of the loop: wait up to max_ms, handle events, timers, deferred work. */
void worker_poll(worker *w, int max_ms);

/* --- response.c --- */
/* Appends the head and body of c->ctx's response to out. */
int response_serialize(worker *w, conn *c, chopin_ctx *ctx, bool head_only, bool keep_alive,
                       int minor);
/* Appends a complete error response (JSON envelope) for an engine-level error. */
int response_error(worker *w, conn *c, int status, bool close);
const char *status_code_word(int status);

#endif
