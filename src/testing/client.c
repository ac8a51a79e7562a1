/* client.c - the in-process test client.
 *
 * A request is written out as the bytes a client would send and fed to a
 * socketless connection of a private worker: the same parser, router,
 * middleware, handler and response writer as on the network. The bytes that
 * come back are parsed as a client would. */
#include "chopin/testing.h"

#include "../app/app_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

static worker *test_worker(chopin_app *app) {
    if (app->test_worker) return app->test_worker;
    if (app_prepare(app)) return NULL;
    app->test_srv.cfg = &app->cfg;
    app->test_srv.handle = app_handle;
    app->test_srv.handle_arg = app;
    app->test_srv.stream_limit = app_stream_limit;
    app->test_srv.num_workers = 1;
    worker *w = calloc(1, sizeof *w);
    if (!w || worker_init(w, &app->test_srv, 0) || worker_open_loop(w)) {
        if (w) worker_destroy(w);
        free(w);
        return NULL;
    }
    int threads = app->cfg.offload_threads > 0 ? app->cfg.offload_threads : 2;
    app->test_srv.offload = offload_pool_new(threads, app->cfg.offload_queue);
    coro_install_overflow_handler();
    coro_thread_init();
    app->test_worker = w;
    return w;
}

/* Appends the pending file response as the socket would have sent it. */
static void append_file(worker *w, conn *c) {
    char chunk[8192];
    ssize_t n;
    while (c->file_left > 0 && (n = pread(c->file_fd, chunk, sizeof chunk, c->file_off)) > 0) {
        buf_append(&w->pool, &c->out, chunk, (size_t)n);
        c->file_off += n;
        c->file_left -= n;
    }
    close(c->file_fd);
    c->file_fd = -1;
}

char *chopin_test_raw(chopin_app *app, const void *bytes, size_t len, size_t *out_len) {
    worker *w = test_worker(app);
    if (!w) return NULL;
    w->now_ms = chopin_now_ms();
    worker_refresh_date(w);
    conn c;
    conn_init(&c, w, -1);
    char *result = NULL;
    if (buf_append(&w->pool, &c.in, bytes, len) == 0) {
        /* What drive() does on a socket, with a client that reads at once:
         * resume after backpressure pauses and after file responses. */
        for (;;) {
            conn_process(&c);
            /* A handler that waits: run the worker's loop (timers, fd waits,
             * offload completions) until the connection is free again. */
            while (c.task) worker_poll(w, 1000);
            c.out_sent = c.out.len; /* as if the client had read it all */
            if (c.file_fd >= 0)
                append_file(w, &c);
            else if (!c.read_paused)
                break;
            c.read_paused = false;
            if (c.close_after || c.in.len == c.in_pos) break;
        }
        result = malloc(c.out.len + 1);
        if (result) {
            memcpy(result, c.out.data ? c.out.data : "", c.out.len);
            result[c.out.len] = 0;
            if (out_len) *out_len = c.out.len;
        }
    }
    c.out_sent = 0;
    conn_release_buffers(&c);
    return result;
}

static bool has_header(const char *const *headers, const char *name) {
    size_t n = strlen(name);
    for (; headers && *headers; headers++)
        if (!strncasecmp(*headers, name, n) && (*headers)[n] == ':') return true;
    return false;
}

static char *build_request(const char *method, const char *target, const char *const *headers,
                           const void *body, size_t body_len, size_t *len) {
    size_t cap = strlen(method) + strlen(target) + body_len + 128;
    for (const char *const *h = headers; h && *h; h++) cap += strlen(*h) + 2;
    char *raw = malloc(cap);
    if (!raw) return NULL;
    size_t n = (size_t)snprintf(raw, cap, "%s %s HTTP/1.1\r\n", method, target);
    if (!has_header(headers, "Host")) n += (size_t)snprintf(raw + n, cap - n, "Host: test\r\n");
    for (const char *const *h = headers; h && *h; h++)
        n += (size_t)snprintf(raw + n, cap - n, "%s\r\n", *h);
    if ((body_len || body) && !has_header(headers, "Content-Length") &&
        !has_header(headers, "Transfer-Encoding"))
        n += (size_t)snprintf(raw + n, cap - n, "Content-Length: %zu\r\n", body_len);
    n += (size_t)snprintf(raw + n, cap - n, "\r\n");
    if (body_len) memcpy(raw + n, body, body_len);
    *len = n + body_len;
    return raw;
}

static char *dup_range(const char *p, size_t n) {
    char *s = malloc(n + 1);
    if (!s) return NULL;
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

/* Parses the first response in raw; a bodiless response to HEAD when head. */
static chopin_test_response *parse_response(char *raw, size_t raw_len, bool head) {
    chopin_test_response *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->raw = raw;
    r->raw_len = raw_len;
    char *end = strstr(raw, "\r\n\r\n");
    int status;
    if (!end || sscanf(raw, "HTTP/1.1 %3d", &status) != 1) goto bad;
    r->status = status;
    char *line = strstr(raw, "\r\n") + 2;
    long long content_length = -1;
    while (line < end + 2) {
        char *eol = strstr(line, "\r\n");
        if (eol == line) break;
        char *colon = memchr(line, ':', (size_t)(eol - line));
        if (!colon) goto bad;
        char *v = colon + 1;
        while (*v == ' ') v++;
        char **nn = realloc(r->header_names, (r->header_count + 1) * sizeof *nn);
        if (!nn) goto bad;
        r->header_names = nn;
        char **nv = realloc(r->header_values, (r->header_count + 1) * sizeof *nv);
        if (!nv) goto bad;
        r->header_values = nv;
        r->header_names[r->header_count] = dup_range(line, (size_t)(colon - line));
        r->header_values[r->header_count] = dup_range(v, (size_t)(eol - v));
        r->header_count++;
        if (!strncasecmp(line, "Content-Length:", 15)) content_length = atoll(v);
        line = eol + 2;
    }
    char *body = end + 4;
    size_t avail = raw_len - (size_t)(body - raw);
    size_t blen = head || content_length < 0 ? 0 : (size_t)content_length;
    if (blen > avail) goto bad;
    r->body = dup_range(body, blen);
    r->body_len = blen;
    return r;
bad:
    chopin_test_response_free(r);
    return NULL;
}

chopin_test_response *chopin_test_request(chopin_app *app, const char *method, const char *target,
                                          const char *const *headers, const void *body,
                                          size_t body_len) {
    size_t len;
    char *req = build_request(method, target, headers, body, body_len, &len);
    if (!req) return NULL;
    size_t out_len = 0;
    char *raw = chopin_test_raw(app, req, len, &out_len);
    free(req);
    if (!raw) return NULL;
    return parse_response(raw, out_len, !strcmp(method, "HEAD"));
}

const char *chopin_test_header(const chopin_test_response *r, const char *name) {
    for (size_t i = 0; i < r->header_count; i++)
        if (!strcasecmp(r->header_names[i], name)) return r->header_values[i];
    return NULL;
}

void chopin_test_response_free(chopin_test_response *r) {
    if (!r) return;
    for (size_t i = 0; i < r->header_count; i++)
        free(r->header_names[i]), free(r->header_values[i]);
    free(r->header_names);
    free(r->header_values);
    free(r->body);
    free(r->raw);
    chopin_json_doc_free(r->json);
    free(r);
}
