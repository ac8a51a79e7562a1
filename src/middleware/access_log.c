/* access_log.c - one structured line per request (chopin/log.h: text or
 * JSON, one write per line, so workers' lines never interleave). */
#include "chopin/middleware.h"

#include "../app/ctx_internal.h"

#include <stdio.h>
#include <time.h>

static int64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static chopin_flow access_log_before(chopin_ctx *c, void *state) {
    (void)state;
    if (!c->start_us) c->start_us = now_us(); /* the app's dispatch has set it */
    return CHOPIN_NEXT;
}

static void access_log_after(chopin_ctx *c, void *state) {
    (void)state;
    if (!chopin_log_enabled(CHOPIN_LOG_INFO)) return;
    int64_t bytes = c->file_fd >= 0 ? c->file_len : (int64_t)c->body_buf.len;
    chopin_str path = c->req->path, method = c->req->method_name, rid = c->request_id;
    /* The query is left out on purpose: it may hold secrets. */
    char method_text[24], path_text[520], status[8], bytes_text[24], dur_us[24], rid_text[72];
    snprintf(method_text, sizeof method_text, "%.*s", (int)method.len, method.ptr);
    snprintf(path_text, sizeof path_text, "%.*s", (int)(path.len > 512 ? 512 : path.len), path.ptr);
    snprintf(status, sizeof status, "%d", c->status);
    snprintf(bytes_text, sizeof bytes_text, "%lld", (long long)bytes);
    snprintf(dur_us, sizeof dur_us, "%lld", (long long)(now_us() - c->start_us));
    snprintf(rid_text, sizeof rid_text, "%.*s", (int)rid.len, rid.ptr ? rid.ptr : "");
    chopin_log(CHOPIN_LOG_INFO, "request", "method", method_text, "path", path_text, "status",
               status, "bytes", bytes_text, "dur_us", dur_us, "request_id", rid_text, NULL);
}

chopin_middleware chopin_access_log(void) {
    return (chopin_middleware){
        .name = "access_log", .before = access_log_before, .after = access_log_after};
}
