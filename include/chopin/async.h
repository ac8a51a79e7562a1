/* chopin/async.h - waiting without blocking the worker.
 *
 * Every handler runs on its own coroutine. A handler that calls one of these
 * functions is suspended there; its worker serves other connections, and the
 * handler continues, on the same worker thread, when the wait is over. The
 * code stays plain sequential C.
 *
 * Every wait fails (returns -1) instead of waiting when the request is over:
 *   errno == ECANCELED  the client disconnected; the response will not be sent
 *   errno == ETIMEDOUT  the request deadline (CHOPIN_REQUEST_TIMEOUT) passed;
 *                       the client already has a 504
 * A handler that gets -1 should release what it holds and return.
 *
 * Never block a worker: no sleep(), no blocking socket or file calls, no
 * long computation in a handler. Use these, or chopin_offload for anything
 * that has no file descriptor to wait on. */
#ifndef CHOPIN_ASYNC_H
#define CHOPIN_ASYNC_H

#include "ctx.h"

/* Suspends the handler for ms milliseconds. 0, or -1 with errno as above. */
int chopin_sleep(chopin_ctx *c, int64_t ms);

/* Events for chopin_wait_fd (the epoll values). */
#define CHOPIN_READABLE 0x001
#define CHOPIN_WRITABLE 0x004

/* Suspends until fd is ready for events (CHOPIN_READABLE | CHOPIN_WRITABLE),
 * or timeout_ms passes (< 0: no timeout of its own). Returns the ready events
 * (error and hang-up conditions are reported as both readable and writable,
 * so the caller's next read or write sees them), 0 on timeout, or -1 with
 * errno (ECANCELED, ETIMEDOUT, or an epoll_ctl error such as EPERM for a
 * regular file). fd must not be registered with the worker by someone else. */
int chopin_wait_fd(chopin_ctx *c, int fd, int events, int64_t timeout_ms);

/* Runs fn(arg) on the shared offload pool (CHOPIN_OFFLOAD_THREADS threads)
 * and suspends until it has returned. Returns 0, or -1 with errno:
 * ECANCELED or ETIMEDOUT if the request ended meanwhile (fn either never
 * started, or has run to the end: arg may live on the handler's stack), or
 * EBUSY if CHOPIN_OFFLOAD_QUEUE jobs already wait (fn does not run; the
 * response is 503 OVERLOADED unless the handler had set one). */
int chopin_offload(chopin_ctx *c, void (*fn)(void *arg), void *arg);

/* Counters for tests and metrics, summed over the workers. */
typedef struct {
    size_t coroutines; /* requests being handled, each on its own coroutine */
    size_t offload_pending;
} chopin_stats;
typedef struct chopin_app chopin_app;
void chopin_app_stats(chopin_app *app, chopin_stats *out);

#endif
