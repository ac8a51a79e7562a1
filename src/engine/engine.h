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
#include <stdatomic.h>
#include <sys/types.h>
#include <time.h>

#include "../app/ctx_internal.h"

typedef struct worker worker;
typedef struct conn conn;
typedef struct server server;

/* The timeouts a connection can be waiting on. Each kind has one duration,
 * so appending to the kind's list keeps it sorted by deadline: checking
 * timeouts is looking at list heads, and refreshing one is O(1). */
typedef enum {
    TO_NONE = -1,
    TO_HEAD,   /* waiting for the rest of a request head (slowloris) */
    TO_BODY,   /* waiting for more of a body */
    TO_IDLE,   /* keep-alive, between requests */
    TO_WRITE,  /* output pending, client not reading */
    TO_LINGER, /* closing: draining what the client still sends */
    TO_COUNT
} timeout_kind;

typedef struct {
    conn *head, *tail;
} conn_list;

typedef enum { RS_HEAD, RS_BODY, RS_CHUNKED } read_state;

struct conn {
    int fd; /* -1 for the in-process test client */
    worker *w;
    chopin_buf in, out;
    size_t out_sent; /* bytes of out already written */
    size_t in_pos;   /* start of the request being read */
    read_state rstate;
    http1_scan scan;
    size_t head_len;       /* when reading a body */
    int64_t body_len;      /* Content-Length being read */
    http1_chunked chunked; /* when reading a chunked body */
    bool head_moved;       /* the buffer moved since the head was parsed: parse again */
    bool sent_continue;
    bool close_after; /* close once out is flushed */
    bool read_paused; /* backpressure: unread input may wait in the socket */
    bool peer_closed; /* read returned 0 */
    bool lingering;
    bool served; /* at least one request answered: idle now means keep-alive */
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
    size_t num_conns, max_conns;
    conn *free_conns;
    conn *deferred; /* connections with input left after their read budget */
    conn_list timeouts[TO_COUNT];
    int64_t now_ms;
    /* Date header: "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n", refreshed when the second changes. */
    time_t date_sec;
    char date_line[48];
    size_t date_len;
    bool stopping;
    int64_t stop_deadline_ms;
};

struct server {
    const chopin_config *cfg;
    void (*handle)(chopin_ctx *c, void *arg);
    void *handle_arg;
    worker *workers;
    int num_workers;
    int port; /* the bound port, known once started */
    atomic_bool stopping;
};

/* --- server.c --- */
int server_start(server *s); /* binds, spawns workers; -1 with errno and a message printed */
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

/* --- response.c --- */
/* Appends the head and body of c->ctx's response to out. */
int response_serialize(worker *w, conn *c, chopin_ctx *ctx, bool head_only, bool keep_alive,
                       int minor);
/* Appends a complete error response (JSON envelope) for an engine-level error. */
int response_error(worker *w, conn *c, int status, bool close);
const char *status_code_word(int status);

#endif
