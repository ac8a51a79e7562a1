/* conn.c - one connection: bytes in, requests out, responses back.
 *
 * The read buffer holds requests back to back. conn_process() answers every
 * complete one in order into the write buffer and stops at the first
 * incomplete one, so a pipelined batch costs one read and one write. Views
 * handed to handlers point into the read buffer, which is therefore never
 * moved while a handler runs; it is compacted only between batches. */
#include "engine.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

/* Room kept free before a read, so a read is worth its syscall. */
#define MIN_READ_SPACE 4096
static const char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";

void conn_init(conn *c, worker *w, int fd) {
    memset(c, 0, sizeof *c);
    c->ev_kind = EV_CONN;
    c->fd = fd;
    c->w = w;
    c->file_fd = -1;
    c->to_kind = TO_NONE;
    c->unread = true;
}

void conn_set_peer(conn *c, const struct sockaddr *sa) {
    if (sa->sa_family == AF_INET) {
        memcpy(c->peer, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        c->peer_family = AF_INET;
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) { /* ::ffff:1.2.3.4 is the IPv4 client 1.2.3.4 */
            memcpy(c->peer, a->s6_addr + 12, 4);
            c->peer_family = AF_INET;
        } else {
            memcpy(c->peer, a, 16);
            c->peer_family = AF_INET6;
        }
    }
}

static void reset_request(conn *c) {
    c->rstate = RS_HEAD;
    c->streaming = c->stream_done = c->stream_wants = false;
    c->stream_error = 0;
    c->stream_limit = c->stream_read = 0;
    c->chunk_end = 0;
    memset(&c->scan, 0, sizeof c->scan);
    memset(&c->chunked, 0, sizeof c->chunked);
    c->head_len = 0;
    c->body_len = 0;
    c->head_stale = false;
    c->sent_continue = false;
}

bool conn_is_idle(const conn *c) {
    return c->in.len == c->in_pos && c->rstate == RS_HEAD && c->out.len == c->out_sent &&
           c->file_fd < 0;
}

void conn_release_buffers(conn *c) {
    buf_release(&c->w->pool, &c->in);
    buf_release(&c->w->pool, &c->out);
    c->in_pos = c->out_sent = 0;
}

/* An engine-level error: answer it and close, since the rest of the input
 * can no longer be framed. */
static void fail(conn *c, int status) {
    response_error(c->w, c, status, true);
    c->close_after = true;
}

/* Writes a finished task's response and moves past its request. */
static void complete(conn *c, task *t) {
    worker *w = c->w;
    chopin_ctx *ctx = &t->ctx;
    const http1_request *req = &t->req;
    if (!ctx->status) chopin_error(ctx, 500, "INTERNAL_ERROR", "the handler sent no response");
    /* A streamed body the handler did not read to its end (or could not:
     * bad framing, too large) leaves the input unframed: close after this. */
    bool unframed = c->streaming && !c->stream_done;
    bool keep_alive = req->keep_alive && !w->stopping && !unframed;
    bool head_only = req->method == CHOPIN_HEAD;
    if (response_serialize(w, c, ctx, head_only, keep_alive, req->minor_version) != 0) {
        c->close_after = true; /* out of memory: nothing sane can be sent */
    } else if (ctx->file_fd >= 0 && !head_only) {
        c->file_fd = ctx->file_fd;
        c->file_off = ctx->file_off;
        c->file_left = ctx->file_len;
        ctx->file_fd = -1;
    }
    c->in_pos += t->consumed;
    c->task = NULL;
    task_free(w, t);
    reset_request(c);
    c->served = true;
    if (!keep_alive) c->close_after = true;
}

/* Runs the request's handler. Returns true when it has answered; false when
 * it waits (the connection then holds still until conn_task_done) or could
 * not start. */
static bool dispatch(conn *c, const http1_request *req, chopin_str body, size_t consumed) {
    worker *w = c->w;
    task *t = task_start(w, c, req, body, consumed);
    if (!t) {
        fail(c, 503);
        return false;
    }
    if (task_done(t)) {
        complete(c, t);
        return true;
    }
    c->task = t;
    worker_set_timeout(w, c, TO_HANDLER); /* no clock: the request deadline governs */
    return false;
}

/* The head must be parsed again when the buffer moved under its views, or
 * when the connection waited for its body: w->req is the worker's, and
 * other connections' requests were parsed into it meanwhile. */
static bool reparse_head(conn *c) {
    if (!c->head_stale) return true;
    http1_scan scan = {0};
    int rc =
        http1_parse_request(c->in.data + c->in_pos, c->head_len, &scan, &c->w->lim, &c->w->req);
    c->head_stale = false;
    return rc == (int)c->head_len;
}

/* The body is not all here: say 100 Continue if asked, start the timer. */
static void wait_for_body(conn *c) {
    worker *w = c->w;
    if (w->req.expect_continue && !c->sent_continue && w->req.minor_version == 1) {
        c->sent_continue = true;
        if (buf_append(&w->pool, &c->out, continue_line, sizeof continue_line - 1))
            c->close_after = true;
    }
    worker_set_timeout(w, c, TO_BODY);
    c->head_stale = true; /* the rest comes in a later round: see reparse_head */
}

/* The route streams its body: the handler starts now, with the head
 * copied into its task and the head's bytes dropped from the buffer, which
 * from here on holds only body bytes (body.c). A Content-Length over the
 * route's limit is refused before a byte of the body is read. */
static bool dispatch_streaming(conn *c, const http1_request *req, size_t head_len, int64_t limit) {
    worker *w = c->w;
    if (req->content_length > limit) {
        fail(c, 413);
        return false;
    }
    c->streaming = true;
    c->stream_limit = limit;
    if (req->chunked)
        c->rstate = RS_CHUNKED;
    else
        c->rstate = RS_BODY, c->body_len = req->content_length;
    const char *head = c->in.data + c->in_pos;
    c->in_pos += head_len; /* before the handler runs: it reads from here */
    c->head_len = 0;
    task *t = task_start_streaming(w, c, req, head, head_len);
    if (!t) {
        fail(c, 503);
        return false;
    }
    if (task_done(t)) {
        complete(c, t);
        return !c->close_after;
    }
    c->task = t;
    /* Parked for its body: the body's clock (408), else the request's. */
    worker_set_timeout(w, c, c->stream_wants ? TO_BODY : TO_HANDLER);
    return false;
}

/* Starts a request whose head is complete. Returns false to stop the batch. */
static bool begin_body(conn *c, size_t head_len) {
    worker *w = c->w;
    const http1_request *req = &w->req;
    c->head_len = head_len;
    if (req->content_length > 0 && (uint64_t)req->content_length > w->srv->cfg->max_body_bytes) {
        fail(c, 413);
        return false;
    }
    if (req->chunked)
        c->rstate = RS_CHUNKED;
    else if (req->content_length > 0)
        c->rstate = RS_BODY, c->body_len = req->content_length;
    return true;
}

/* The route's streaming limit when the request has a body to stream, else -1. */
static int64_t stream_limit_of(const worker *w, const http1_request *req) {
    if (!w->srv->stream_limit || (!req->chunked && req->content_length <= 0)) return -1;
    return w->srv->stream_limit(req, w->srv->handle_arg);
}

/* Drops the bytes between the decoded body and the undecoded rest, so a
 * chunked body never holds more memory than its decoded size plus a line. */
static void squeeze_chunked(conn *c) {
    char *body = c->in.data + c->in_pos + c->head_len;
    size_t have = c->in.len - c->in_pos - c->head_len;
    size_t gap = c->chunked.in - c->chunked.out;
    if (!gap) return;
    memmove(body + c->chunked.out, body + c->chunked.in, have - c->chunked.in);
    c->in.len -= gap;
    c->chunked.in = c->chunked.out;
}

/* One step on the request at in_pos. Returns true if a request was answered
 * and the batch may go on. */
static bool step(conn *c) {
    worker *w = c->w;
    char *start = c->in.data + c->in_pos;
    size_t avail = c->in.len - c->in_pos;
    if (c->rstate == RS_HEAD) {
        if (avail == 0) return false;
        int rc = http1_parse_request(start, avail, &c->scan, &w->lim, &w->req);
        if (rc == 0) {
            if (c->to_kind != TO_HEAD) worker_set_timeout(w, c, TO_HEAD);
            return false;
        }
        if (rc < 0) {
            fail(c, -rc);
            return false;
        }
        int64_t limit = stream_limit_of(w, &w->req);
        if (limit >= 0) return dispatch_streaming(c, &w->req, (size_t)rc, limit);
        if (!begin_body(c, (size_t)rc)) return false;
        if (c->rstate == RS_HEAD) return dispatch(c, &w->req, CHOPIN_STR_NULL, (size_t)rc);
    } else if (!reparse_head(c)) { /* back for more of the body */
        fail(c, 400);
        return false;
    }
    size_t have = avail - c->head_len;
    char *body = start + c->head_len;
    size_t consumed;
    chopin_str body_view;
    if (c->rstate == RS_BODY) {
        if ((int64_t)have < c->body_len) {
            wait_for_body(c);
            return false;
        }
        consumed = (size_t)c->body_len;
        body_view = (chopin_str){body, consumed};
    } else {
        int64_t rc = http1_decode_chunked(body, have, &c->chunked, w->srv->cfg->max_body_bytes);
        if (rc < 0) {
            fail(c, (int)-rc);
            return false;
        }
        if (rc == 0) {
            squeeze_chunked(c);
            wait_for_body(c);
            return false;
        }
        consumed = (size_t)rc;
        body_view = (chopin_str){body, c->chunked.out};
    }
    return dispatch(c, &w->req, body_view, c->head_len + consumed);
}

void conn_process(conn *c) {
    size_t max_out = c->w->srv->cfg->max_pending_output;
    while (!c->close_after && c->file_fd < 0 && !c->task) {
        if (c->out.len - c->out_sent > max_out) {
            c->read_paused = true; /* backpressure: let the client read first */
            break;
        }
        if (!step(c)) break;
    }
    if (c->in_pos && !c->task) { /* a waiting handler's views point into in */
        buf_consume(&c->in, c->in_pos);
        c->in_pos = 0;
        if (c->rstate != RS_HEAD) c->head_stale = true;
    }
}

/* Makes room for the next read: the whole announced body at once, or at
 * least MIN_READ_SPACE bytes. */
static int ensure_read_space(conn *c) {
    worker *w = c->w;
    char *before = c->in.data;
    size_t want = MIN_READ_SPACE;
    if (c->rstate == RS_BODY && !c->streaming) {
        size_t need = c->head_len + (size_t)c->body_len;
        size_t have = c->in.len - c->in_pos;
        if (need > have) want = need - have;
    }
    if (!c->in.data) {
        if (buf_acquire(&w->pool, &c->in)) return -1;
    }
    if (c->in.cap - c->in.len < want && buf_reserve(&w->pool, &c->in, want)) return -1;
    if (before && c->in.data != before && c->rstate != RS_HEAD) c->head_stale = true;
    return 0;
}

int conn_flush(conn *c) {
    if (c->fd < 0) return 1; /* test client: the output stays in out */
    while (c->out_sent < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_sent, c->out.len - c->out_sent, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_sent += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        return -1;
    }
    c->out.len = c->out_sent = 0;
    while (c->file_fd >= 0) {
        size_t chunk = c->file_left > (1 << 30) ? (size_t)1 << 30 : (size_t)c->file_left;
        ssize_t n = chunk ? sendfile(c->fd, c->file_fd, &c->file_off, chunk) : 0;
        if (n > 0)
            c->file_left -= n;
        else if (n < 0 && errno == EINTR)
            continue;
        else if (n < 0 && errno == EAGAIN)
            return 0;
        else if (chunk)
            return -1; /* the file shrank: the framing is lost */
        if (c->file_left == 0) {
            close(c->file_fd);
            c->file_fd = -1;
        }
    }
    return 1;
}

/* After reading or writing: pick the connection's next wait. Returns -1 to close. */
static int settle(conn *c, int flushed) {
    worker *w = c->w;
    if (flushed < 0) return -1;
    if (c->task) return 0; /* the handler's deadline is the only clock now */
    if (flushed == 0) {
        worker_set_timeout(w, c, TO_WRITE);
        return 0;
    }
    buf_release(&w->pool, &c->out);
    if (c->close_after) {
        if (c->peer_closed || c->fd < 0) return -1;
        if (!c->lingering) {
            /* Half-close and drain: closing with unread input would send RST
             * and could destroy the response before the client reads it. */
            shutdown(c->fd, SHUT_WR);
            c->lingering = true;
            buf_release(&w->pool, &c->in);
            c->in_pos = 0;
            worker_set_timeout(w, c, TO_LINGER);
        }
        return 0;
    }
    if (c->in.len == c->in_pos && c->rstate == RS_HEAD) {
        if (c->peer_closed) return -1;
        /* in_pos too: after a handler that waited, complete() left it at
         * the end of the request, and the next one starts a new buffer. */
        buf_release(&w->pool, &c->in);
        c->in_pos = 0;
        /* A connection that never sent a request stays on the header
         * timeout it got at accept; only a served one earns keep-alive.
         * While stopping, every idle one waits the short drain time on the
         * idle list (begin_stop put it there): its request may be on the
         * way, and closing now would fail it. */
        if (w->stopping) {
            if (c->to_kind != TO_IDLE) worker_set_timeout(w, c, TO_IDLE);
        } else if (c->served)
            worker_set_timeout(w, c, TO_IDLE);
        else if (c->to_kind != TO_HEAD)
            worker_set_timeout(w, c, TO_HEAD);
    }
    return 0;
}

static int linger_read(conn *c) {
    char sink[4096];
    for (;;) {
        ssize_t n = recv(c->fd, sink, sizeof sink, 0);
        if (n > 0) continue;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        return -1; /* EOF or error: done lingering */
    }
}

/* Reads until the socket is empty or input must wait (pause, close, file).
 * Returns 1 when the read budget ran out with input possibly left. */
static int read_some(conn *c, int *budget) {
    for (;;) {
        if (c->file_fd >= 0) c->read_paused = true; /* resume once the file is out */
        /* A handler waiting for more of its streamed body: read for it. */
        if (c->task && c->streaming && c->stream_wants) {
            int got = conn_stream_fill(c);
            if (got == 0) return 0;
            c->stream_wants = false;
            task_unpark(c->task, 0); /* it takes the bytes, or sees the close */
            c->unread = got > 0;
            return 0;
        }
        /* While a handler waits, its views pin the read buffer: the input
         * stays in the socket until the handler is done. */
        if (c->read_paused || c->close_after || c->task) {
            c->unread = true; /* an edge may be spent: read when free again */
            return 0;
        }
        if (*budget == 0) {
            c->unread = true;
            return 1;
        }
        --*budget;
        if (ensure_read_space(c)) return -1;
        size_t space = c->in.cap - c->in.len;
        ssize_t n = recv(c->fd, c->in.data + c->in.len, space, 0);
        if (n > 0) {
            c->in.len += (size_t)n;
            if (c->rstate != RS_HEAD) worker_set_timeout(c->w, c, TO_BODY);
            conn_process(c);
            /* A short read means the socket is empty: with edge-triggered
             * epoll the next arrival wakes us, so no read-until-EAGAIN. */
            if ((size_t)n < space && !c->rdhup) {
                c->unread = false;
                return 0;
            }
            continue;
        }
        if (n == 0) {
            c->peer_closed = true;
            c->close_after = true; /* what is unanswered now never will be */
            return 0;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            c->unread = false;
            return 0;
        }
        return -1;
    }
}

/* Reads per wake-up before a connection yields to the others of its worker:
 * a client that pipelines without pause must not starve them. */
#define READ_BUDGET 16

/* Moves the connection as far as it can go without waiting. */
static int drive(conn *c, bool try_read) {
    int budget = READ_BUDGET;
    for (;;) {
        if (try_read) {
            int r = read_some(c, &budget);
            if (r < 0) return -1;
            if (r > 0) worker_defer(c->w, c); /* more to read: after the others */
        }
        int flushed = conn_flush(c);
        if (flushed != 1 || c->close_after) return settle(c, flushed);
        if (c->read_paused) {
            /* Output drained: answer what waited in the buffer, then read
             * again, since input that came meanwhile left no edge to wake us. */
            c->read_paused = false;
            conn_process(c);
            try_read = budget > 0;
            if (!try_read) worker_defer(c->w, c);
            continue;
        }
        if (c->in.len > c->in_pos && c->rstate == RS_HEAD) {
            conn_process(c); /* requests that waited behind a file */
            if (c->out.len || c->file_fd >= 0) {
                try_read = false;
                continue;
            }
        }
        return settle(c, 1);
    }
}

int conn_task_done(conn *c, task *t) {
    complete(c, t);
    if (c->fd < 0) { /* the test client drives itself */
        conn_process(c);
        return 0;
    }
    /* A client usually waits for this answer: read first only if input may
     * have come while the handler waited (else the read finds nothing). */
    return drive(c, c->unread);
}

int conn_on_readable(conn *c) {
    if (c->lingering) return linger_read(c);
    return drive(c, true);
}

int conn_on_writable(conn *c) {
    if (c->lingering) return 0;
    return drive(c, false);
}
