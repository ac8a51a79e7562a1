/* access_log.c - one structured line per request on stderr, written with a
 * single write so lines from different workers never interleave. */
#include "chopin/middleware.h"

#include "../app/ctx_internal.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static chopin_flow access_log_before(chopin_ctx *c, void *state) {
    (void)state;
    c->start_us = now_us();
    return CHOPIN_NEXT;
}

static void access_log_after(chopin_ctx *c, void *state) {
    (void)state;
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    int64_t bytes = c->file_fd >= 0 ? c->file_len : (int64_t)c->body_buf.len;
    chopin_str path = c->req->path;
    char line[1024];
    /* The path holds only visible ASCII (the parser guarantees it), so it
     * cannot break the line; the query is left out on purpose. */
    int n = snprintf(line, sizeof line,
                     "ts=%04d-%02d-%02dT%02d:%02d:%02dZ level=info msg=request method=%.*s "
                     "path=%.*s status=%d bytes=%lld dur_us=%lld rid=%.*s\n",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)c->req->method_name.len, c->req->method_name.ptr,
                     (int)(path.len > 512 ? 512 : path.len), path.ptr, c->status, (long long)bytes,
                     (long long)(now_us() - c->start_us), (int)c->request_id.len,
                     c->request_id.ptr ? c->request_id.ptr : "");
    if (n > (int)sizeof line) n = (int)sizeof line;
    ssize_t ignored = write(STDERR_FILENO, line, (size_t)n);
    (void)ignored;
}

chopin_middleware chopin_access_log(void) {
    return (chopin_middleware){
        .name = "access_log", .before = access_log_before, .after = access_log_after};
}
