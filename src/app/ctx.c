/* ctx.c - the handler's view of a request and the ways to answer it. */
#include "ctx_internal.h"

#include "../engine/engine.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

const char *chopin_method_name(chopin_method m) {
    static const char *const names[CHOPIN_METHOD_COUNT] = {"GET",    "HEAD",  "POST",   "PUT",
                                                           "DELETE", "PATCH", "OPTIONS"};
    return (unsigned)m < CHOPIN_METHOD_COUNT ? names[m] : "?";
}

void ctx_init(chopin_ctx *c, chopin_arena *arena, chopin_buf_pool *pool, const chopin_config *cfg) {
    /* Field by field rather than memset: the router match is large and only
     * its counters need resetting. */
    c->req = NULL;
    c->body = CHOPIN_STR_NULL;
    c->body_read = 0;
    c->arena = arena;
    c->pool = pool;
    c->cfg = cfg;
    c->start_us = 0;
    c->match.num_params = 0;
    c->match.route = NULL;
    c->match.allow = 0;
    c->route = NULL;
    c->query_parsed = false;
    c->num_query = 0;
    c->query = NULL;
    c->status = 0;
    c->content_type = CHOPIN_STR_NULL;
    c->headers = c->headers_tail = NULL;
    c->file_fd = -1;
    c->file_len = 0;
    c->is_json = false;
    c->request_id = CHOPIN_STR_NULL;
    c->user = NULL;
    c->body_buf.len = 0;
    c->db_session = NULL;
    c->auth_claims = NULL;
}

void ctx_finish(chopin_ctx *c) {
    if (c->file_fd >= 0) close(c->file_fd);
    c->file_fd = -1;
    /* A big body's buffer goes back; a pooled block stays with the context. */
    if (c->body_buf.cap > CHOPIN_BUF_BLOCK) buf_release(c->pool, &c->body_buf);
    c->body_buf.len = 0;
}

/* --- Request ------------------------------------------------------------------ */

chopin_method chopin_req_method(const chopin_ctx *c) {
    return c->req->method;
}
chopin_str chopin_req_path(const chopin_ctx *c) {
    return c->req->path;
}
chopin_str chopin_req_query(const chopin_ctx *c) {
    return c->req->query;
}
chopin_str chopin_req_body(const chopin_ctx *c) {
    return c->body;
}
int chopin_req_http_minor(const chopin_ctx *c) {
    return c->req->minor_version;
}
size_t chopin_req_header_count(const chopin_ctx *c) {
    return c->req->num_headers;
}
chopin_str chopin_request_id(const chopin_ctx *c) {
    return c->request_id;
}
void chopin_set_user(chopin_ctx *c, void *data) {
    c->user = data;
}
void *chopin_user(const chopin_ctx *c) {
    return c->user;
}

void chopin_req_header_at(const chopin_ctx *c, size_t i, chopin_str *name, chopin_str *value) {
    *name = c->req->headers[i].name;
    *value = c->req->headers[i].value;
}

static bool name_ieq(chopin_str a, const char *b, size_t n) {
    if (a.len != n) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a.ptr[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z') x |= 0x20;
        if (y >= 'A' && y <= 'Z') y |= 0x20;
        if (x != y) return false;
    }
    return true;
}

chopin_str chopin_req_header(const chopin_ctx *c, const char *name) {
    size_t n = strlen(name);
    for (size_t i = 0; i < c->req->num_headers; i++)
        if (name_ieq(c->req->headers[i].name, name, n)) return c->req->headers[i].value;
    return CHOPIN_STR_NULL;
}

void *chopin_alloc(chopin_ctx *c, size_t size) {
    return arena_alloc(c->arena, size);
}

char *chopin_strdup(chopin_ctx *c, const char *s, size_t len) {
    char *p = arena_alloc(c->arena, len + 1);
    if (!p) return NULL;
    memcpy(p, s, len);
    p[len] = 0;
    return p;
}

static chopin_str decode(chopin_ctx *c, chopin_str raw, bool form) {
    if (!memchr(raw.ptr, '%', raw.len) && !(form && memchr(raw.ptr, '+', raw.len))) return raw;
    char *out = arena_alloc(c->arena, raw.len + 1);
    if (!out) return CHOPIN_STR_NULL;
    size_t n = url_decode(out, raw.ptr, raw.len, form);
    out[n] = 0;
    return (chopin_str){out, n};
}

chopin_str chopin_param(const chopin_ctx *c, const char *name) {
    size_t n = strlen(name);
    for (size_t i = 0; i < c->match.num_params; i++) {
        const router_param *p = &c->match.params[i];
        if (p->name.len == n && memcmp(p->name.ptr, name, n) == 0)
            return decode((chopin_ctx *)c, p->raw, false);
    }
    return CHOPIN_STR_NULL;
}

size_t ctx_parse_pairs(chopin_ctx *c, chopin_str text, query_param **out) {
    *out = NULL;
    if (!text.ptr || !text.len) return 0;
    size_t cap = 1, n = 0;
    for (size_t i = 0; i < text.len; i++) cap += text.ptr[i] == '&';
    query_param *pairs = arena_alloc(c->arena, cap * sizeof *pairs);
    if (!pairs) return 0;
    const char *p = text.ptr, *end = text.ptr + text.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if (stop > p) {
            const char *eq = memchr(p, '=', (size_t)(stop - p));
            chopin_str k = {p, (size_t)((eq ? eq : stop) - p)};
            chopin_str v = eq ? (chopin_str){eq + 1, (size_t)(stop - eq - 1)} : CHOPIN_STR("");
            pairs[n].name = decode(c, k, true);
            pairs[n].value = decode(c, v, true);
            n++;
        }
        p = stop + 1;
    }
    *out = pairs;
    return n;
}

static void parse_query(chopin_ctx *c) {
    c->query_parsed = true;
    c->num_query = ctx_parse_pairs(c, c->req->query, &c->query);
}

/* The 400 of ctx_check_text; name NULL for a query parameter's name. */
static int bad_text(chopin_ctx *c, const char *where, const chopin_str *name) {
    static const char tail[] = " is not UTF-8 text once decoded (or holds a NUL byte)";
    size_t cap = strlen(where) + (name ? name->len : 0) + sizeof tail + 4;
    char *msg = arena_alloc(c->arena, cap);
    if (msg && name)
        snprintf(msg, cap, "%s \"%.*s\"%s", where, (int)name->len, name->ptr, tail);
    else if (msg)
        snprintf(msg, cap, "%s%s", where, tail);
    chopin_error(c, 400, "BAD_REQUEST", msg ? msg : "a parameter is not UTF-8 text");
    return -1;
}

int ctx_check_text(chopin_ctx *c) {
    for (size_t i = 0; i < c->match.num_params; i++) {
        const router_param *p = &c->match.params[i];
        if (!memchr(p->raw.ptr, '%', p->raw.len)) continue;
        chopin_str v = decode(c, p->raw, false);
        if (v.ptr && !utf8_text_ok(v.ptr, v.len)) return bad_text(c, "path parameter", &p->name);
    }
    chopin_str q = c->req->query;
    if (!q.len || !memchr(q.ptr, '%', q.len)) return 0;
    if (!c->query_parsed) parse_query(c);
    for (size_t i = 0; i < c->num_query; i++) {
        const query_param *p = &c->query[i];
        if (!utf8_text_ok(p->name.ptr, p->name.len))
            return bad_text(c, "a query parameter's name", NULL);
        if (!utf8_text_ok(p->value.ptr, p->value.len))
            return bad_text(c, "query parameter", &p->name);
    }
    return 0;
}

chopin_str chopin_query(chopin_ctx *c, const char *name) {
    if (!c->query_parsed) parse_query(c);
    size_t n = strlen(name);
    for (size_t i = 0; i < c->num_query; i++)
        if (c->query[i].name.len == n && memcmp(c->query[i].name.ptr, name, n) == 0)
            return c->query[i].value;
    return CHOPIN_STR_NULL;
}

/* --- Response ----------------------------------------------------------------- */

static bool has_crlf_nul(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0') return true;
    return false;
}

int chopin_set_headern(chopin_ctx *c, const char *name, size_t name_len, const char *value,
                       size_t value_len) {
    static const char *const reserved[] = {"server", "date", "content-length", "connection",
                                           "transfer-encoding"};
    chopin_str n = {name, name_len};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (name_ieq(n, reserved[i], strlen(reserved[i]))) return -1;
    if (!name_len || has_crlf_nul(name, name_len) || has_crlf_nul(value, value_len)) return -1;
    for (size_t i = 0; i < name_len; i++)
        if (name[i] == ':' || name[i] == ' ' || name[i] == '\t') return -1;
    if (name_ieq(n, "content-type", 12)) {
        char *v = chopin_strdup(c, value, value_len);
        if (!v) return -1;
        c->content_type = (chopin_str){v, value_len};
        return 0;
    }
    resp_header *h = arena_alloc(c->arena, sizeof *h);
    char *nc = chopin_strdup(c, name, name_len), *vc = chopin_strdup(c, value, value_len);
    if (!h || !nc || !vc) return -1;
    h->name = (chopin_str){nc, name_len};
    h->value = (chopin_str){vc, value_len};
    h->next = NULL;
    if (c->headers_tail)
        c->headers_tail->next = h;
    else
        c->headers = h;
    c->headers_tail = h;
    return 0;
}

int chopin_set_header(chopin_ctx *c, const char *name, const char *value) {
    return chopin_set_headern(c, name, strlen(name), value, strlen(value));
}

bool chopin_responded(const chopin_ctx *c) {
    return c->status != 0;
}
int chopin_response_status(const chopin_ctx *c) {
    return c->status;
}

/* Every answer goes through here: a second answer is a bug and is ignored. */
static bool claim(chopin_ctx *c, int status) {
    if (c->status) return false;
    if (status < 100 || status > 999) status = 500;
    c->status = status;
    return true;
}

void chopin_send(chopin_ctx *c, int status, const char *content_type, const void *body,
                 size_t len) {
    if (!claim(c, status)) return;
    if (content_type) c->content_type = chopin_str_c(content_type);
    c->body_buf.len = 0;
    if (len && buf_append(c->pool, &c->body_buf, body, len)) {
        c->status = 500;
        c->content_type = CHOPIN_STR_NULL;
    }
}

void chopin_text(chopin_ctx *c, int status, const char *text) {
    chopin_send(c, status, "text/plain", text, strlen(text));
}

void chopin_send_status(chopin_ctx *c, int status) {
    chopin_send(c, status, NULL, NULL, 0);
}

void chopin_redirect(chopin_ctx *c, int status, const char *location) {
    if (c->status) return;
    if (chopin_set_header(c, "Location", location)) {
        chopin_error(c, 500, "INTERNAL_ERROR", "invalid redirect location");
        return;
    }
    chopin_send_status(c, status);
}

void chopin_send_file(chopin_ctx *c, int status, const char *content_type, const char *path) {
    if (c->status) return;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        if (fd >= 0) close(fd);
        chopin_error(c, 404, "NOT_FOUND", "no such file");
        return;
    }
    claim(c, status);
    c->content_type =
        content_type ? chopin_str_c(content_type) : CHOPIN_STR("application/octet-stream");
    c->file_fd = fd;
    c->file_off = 0;
    c->file_len = st.st_size;
}

void ctx_send_fd(chopin_ctx *c, int status, const char *content_type, int fd, int64_t off,
                 int64_t len) {
    if (!claim(c, status)) {
        close(fd);
        return;
    }
    c->content_type =
        content_type ? chopin_str_c(content_type) : CHOPIN_STR("application/octet-stream");
    c->file_fd = fd;
    c->file_off = off;
    c->file_len = len;
}

chopin_json *ctx_error_open(chopin_ctx *c, int status, const char *code, const char *message) {
    chopin_json *j = chopin_json_begin(c, status);
    chopin_json_object(j);
    chopin_json_key(j, "success");
    chopin_json_bool(j, false);
    chopin_json_key(j, "error");
    chopin_json_object(j);
    chopin_json_key(j, "status");
    chopin_json_int(j, status);
    chopin_json_key(j, "code");
    chopin_json_string(j, code ? code : status_code_word(status));
    chopin_json_key(j, "message");
    chopin_json_string(j, message ? message : chopin_status_reason(status));
    if (c->request_id.len) {
        chopin_json_key(j, "request_id");
        chopin_json_stringn(j, c->request_id.ptr, c->request_id.len);
    }
    return j;
}

void chopin_error(chopin_ctx *c, int status, const char *code, const char *message) {
    if (c->status) return;
    chopin_json *j = ctx_error_open(c, status, code, message);
    chopin_json_end(j);
    chopin_json_end(j);
    chopin_json_finish(j);
}

chopin_json *chopin_json_begin(chopin_ctx *c, int status) {
    json_writer_init(&c->json, &c->body_buf, c->pool);
    c->json.ctx = c;
    c->json.status = status;
    /* Already answered: a failed writer writes nothing, so the first
     * answer's body survives. */
    if (c->status)
        c->json.failed = true;
    else
        c->body_buf.len = 0;
    return &c->json;
}

chopin_json *chopin_json_data_begin(chopin_ctx *c, int status) {
    chopin_json *j = chopin_json_begin(c, status);
    chopin_json_object(j);
    chopin_json_key(j, "success");
    chopin_json_bool(j, true);
    chopin_json_key(j, "data");
    j->enveloped = true;
    return j;
}

void chopin_json_finish(chopin_json *j) {
    chopin_ctx *c = j->ctx;
    if (!c || c->status) return;
    /* The envelope's own brace, only once the data value is complete. */
    if (j->enveloped && j->depth == 1 && !j->after_key) chopin_json_end(j);
    if (j->failed || j->depth || j->after_key || !j->has_value) {
        c->body_buf.len = 0;
        chopin_error(c, 500, "INTERNAL_ERROR", "the handler wrote invalid JSON");
        return;
    }
    c->status = j->status < 100 || j->status > 999 ? 500 : j->status;
    c->content_type = CHOPIN_STR("application/json");
    c->is_json = true;
}
