/* body.c - request bodies read a piece at a time (chopin_body_read).
 *
 * A route with .stream_body gets its handler started as soon as the head is
 * in; the body stays in the connection's read buffer, which holds only a
 * read's worth of it: the handler takes what is there, and when nothing is,
 * it is parked until the socket has more. So an upload of any size costs a
 * buffer, not its size, and a slow reader slows the client (TCP backpressure)
 * rather than growing memory. Other routes read their whole body first;
 * chopin_body_read then hands out that copy the same way. */
#include "engine.h"

#include <errno.h>
#include <sys/socket.h>

/* Reads of at least this much: fewer syscalls per megabyte. */
#define STREAM_READ_SPACE (64 * 1024)

/* Drops handed-over bytes from the front of the buffer once they are most
 * of it, so that it never grows past a read's worth. */
static void compact(conn *c) {
    if (c->in_pos && c->in_pos * 2 >= c->in.len) {
        buf_consume(&c->in, c->in_pos);
        c->in_pos = 0;
    }
}

static ssize_t take_plain(conn *c, char *dst, size_t cap) {
    size_t have = c->in.len - c->in_pos;
    size_t n = have < cap ? have : cap;
    if ((int64_t)n > c->body_len) n = (size_t)c->body_len;
    if (n == 0) return c->body_len == 0 ? 0 : BODY_AGAIN;
    memcpy(dst, c->in.data + c->in_pos, n);
    c->in_pos += n;
    c->body_len -= (int64_t)n;
    if (c->body_len == 0) c->stream_done = true;
    return (ssize_t)n;
}

/* Chunked: decode what is buffered (in place; decoded bytes gather at the
 * front), hand over the decoded ones, and shift the rest down. */
static ssize_t take_chunked(conn *c, char *dst, size_t cap) {
    char *body = c->in.data + c->in_pos;
    size_t have = c->in.len - c->in_pos;
    if (!c->chunk_end) {
        int64_t allowed = c->stream_limit - c->stream_read;
        int64_t rc = http1_decode_chunked(body, have, &c->chunked, (size_t)allowed);
        if (rc < 0) {
            c->stream_error = (int)-rc;
            return -1;
        }
        if (rc > 0) c->chunk_end = (size_t)rc;
    }
    size_t n = c->chunked.out < cap ? c->chunked.out : cap;
    if (n == 0) {
        if (!c->chunk_end) return BODY_AGAIN;
        c->in_pos += c->chunk_end; /* the encoding's end: pipelined input may follow */
        c->chunk_end = 0;
        c->stream_done = true;
        return 0;
    }
    memcpy(dst, body, n);
    memmove(body, body + n, have - n);
    c->in.len -= n;
    c->chunked.out -= n;
    c->chunked.in -= n;
    if (c->chunk_end) c->chunk_end -= n;
    return (ssize_t)n;
}

ssize_t conn_stream_take(conn *c, char *dst, size_t cap) {
    if (c->stream_error) return -1;
    if (c->stream_done) return 0;
    if (!c->in.data) return BODY_AGAIN;
    ssize_t n = c->rstate == RS_CHUNKED ? take_chunked(c, dst, cap) : take_plain(c, dst, cap);
    if (n > 0) {
        c->stream_read += n;
        compact(c);
    }
    return n;
}

int conn_stream_fill(conn *c) {
    worker *w = c->w;
    if (c->fd < 0) return -1; /* the test client: all the input is in already */
    if (!c->in.data && buf_acquire(&w->pool, &c->in)) return -1;
    if (c->in.cap - c->in.len < STREAM_READ_SPACE / 4 &&
        buf_reserve(&w->pool, &c->in, STREAM_READ_SPACE))
        return -1;
    for (;;) {
        ssize_t n = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, 0);
        if (n > 0) {
            c->in.len += (size_t)n;
            return 1;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->unread = false;
            return 0;
        }
        c->peer_closed = true;
        return -1;
    }
}

static const char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";

/* Expect: 100-continue is answered when the handler first asks for the
 * body: a handler that refuses the upload (401, 413) saves the client from
 * sending it. */
static void say_continue(conn *c, const task *t) {
    if (!t->req.expect_continue || c->sent_continue || t->req.minor_version != 1) return;
    c->sent_continue = true;
    if (buf_append(&c->w->pool, &c->out, continue_line, sizeof continue_line - 1) ||
        conn_flush(c) < 0)
        c->close_after = true;
}

static void forget_wait(void *arg) {
    ((conn *)arg)->stream_wants = false;
}

static ssize_t fail_with(int err) {
    errno = err;
    return -1;
}

/* The handler's side: take, else read the socket, else wait for it. */
static ssize_t read_stream(chopin_ctx *ctx, task *t, char *dst, size_t cap) {
    for (;;) {
        conn *c = t->c;
        if (t->cancelled || !c) return fail_with(ECANCELED);
        if (t->timed_out) return fail_with(ETIMEDOUT);
        ssize_t n = conn_stream_take(c, dst, cap);
        if (n > 0) { /* progress: an upload is not one slow wait */
            timer_add(&t->w->timers, &t->deadline,
                      chopin_now_ms() + t->w->srv->cfg->request_timeout_ms);
            return n;
        }
        if (n == 0) return 0;
        if (n == -1) return fail_with(c->stream_error == 413 ? EMSGSIZE : EPROTO);
        say_continue(c, t);
        int got = conn_stream_fill(c);
        if (got > 0) continue;
        if (got < 0) {
            c->close_after = true;
            return fail_with(ECONNRESET); /* the client stopped before the end */
        }
        c->stream_wants = true; /* conn.c's read path unparks us */
        worker_set_timeout(t->w, c, TO_BODY);
        int rc = task_park(t, forget_wait, c);
        if (t->c) worker_set_timeout(t->w, t->c, TO_HANDLER);
        if (rc < 0) return -1;
        (void)ctx;
    }
}

ssize_t chopin_body_read(chopin_ctx *c, void *buf, size_t cap) {
    task *t = c->task;
    if (t && t->stream) return read_stream(c, t, buf, cap);
    /* A body read whole: hand out the rest of the copy. */
    size_t left = c->body.len - c->body_read;
    size_t n = left < cap ? left : cap;
    if (n) memcpy(buf, c->body.ptr + c->body_read, n);
    c->body_read += n;
    return (ssize_t)n;
}

bool chopin_body_streamed(const chopin_ctx *c) {
    const task *t = c->task;
    return t && t->stream;
}
