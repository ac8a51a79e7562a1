/* response.c - a response context becomes bytes in the connection's buffer.
 *
 * The head is assembled with memcpy from pieces that are mostly constant;
 * Date comes from the worker's once-a-second cache. Content-Length is always
 * computed here, never taken from the handler. */
#include "engine.h"

#include "../json/json_internal.h"

#include <stdio.h>
#include <strings.h>

const char *chopin_status_reason(int status) {
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

const char *status_code_word(int status) {
    switch (status) {
    case 400:
        return "BAD_REQUEST";
    case 401:
        return "UNAUTHORIZED";
    case 403:
        return "FORBIDDEN";
    case 404:
        return "NOT_FOUND";
    case 405:
        return "METHOD_NOT_ALLOWED";
    case 408:
        return "REQUEST_TIMEOUT";
    case 409:
        return "CONFLICT";
    case 413:
        return "PAYLOAD_TOO_LARGE";
    case 414:
        return "URI_TOO_LONG";
    case 415:
        return "UNSUPPORTED_MEDIA_TYPE";
    case 417:
        return "EXPECTATION_FAILED";
    case 422:
        return "VALIDATION_FAILED";
    case 429:
        return "TOO_MANY_REQUESTS";
    case 431:
        return "HEADERS_TOO_LARGE";
    case 501:
        return "NOT_IMPLEMENTED";
    case 503:
        return "UNAVAILABLE";
    case 504:
        return "TIMEOUT";
    case 505:
        return "HTTP_VERSION_NOT_SUPPORTED";
    default:
        return status >= 500 ? "INTERNAL_ERROR" : "ERROR";
    }
}

static const char *engine_error_message(int status) {
    switch (status) {
    case 400:
        return "malformed HTTP request";
    case 408:
        return "the request did not arrive in time";
    case 413:
        return "the request body is larger than the server accepts";
    case 414:
        return "the request line is longer than the server accepts";
    case 417:
        return "only 'Expect: 100-continue' is supported";
    case 431:
        return "the request header fields are too large or too many";
    case 501:
        return "method or transfer coding not implemented";
    case 503:
        return "the server is at its connection limit";
    case 505:
        return "only HTTP/1.0 and HTTP/1.1 are supported";
    default:
        return chopin_status_reason(status);
    }
}

static bool status_has_body(int status) {
    return !(status < 200 || status == 204 || status == 304);
}

#define PUT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), (p) += sizeof(lit) - 1)

static char *put_str(char *p, chopin_str s) {
    memcpy(p, s.ptr, s.len);
    return p + s.len;
}

static char *put_status_line(char *p, int status) {
    PUT(p, "HTTP/1.1 ");
    if (status == 200) {
        PUT(p, "200 OK\r\n");
        return p;
    }
    *p++ = (char)('0' + status / 100 % 10);
    *p++ = (char)('0' + status / 10 % 10);
    *p++ = (char)('0' + status % 10);
    *p++ = ' ';
    const char *reason = chopin_status_reason(status);
    p = put_str(p, chopin_str_c(reason));
    PUT(p, "\r\n");
    return p;
}

/* SECURITY_HEADERS (on by default): what a browser should never do with
 * an API's answer: guess its type, frame it, or send its URL on. A header
 * of the same name set by the handler wins. */
#define SECURE_HEADERS                                                                             \
    "X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n"                                 \
    "Referrer-Policy: no-referrer\r\n"

static bool handler_set(const chopin_ctx *ctx, const char *name, size_t len) {
    for (const resp_header *h = ctx->headers; h; h = h->next)
        if (h->name.len == len && !strncasecmp(h->name.ptr, name, len)) return true;
    return false;
}

static char *put_secure_headers(char *p, const chopin_ctx *ctx) {
    if (!ctx || !ctx->headers) {
        PUT(p, SECURE_HEADERS);
        return p;
    }
    if (!handler_set(ctx, "X-Content-Type-Options", 22))
        PUT(p, "X-Content-Type-Options: nosniff\r\n");
    if (!handler_set(ctx, "X-Frame-Options", 15)) PUT(p, "X-Frame-Options: DENY\r\n");
    if (!handler_set(ctx, "Referrer-Policy", 15)) PUT(p, "Referrer-Policy: no-referrer\r\n");
    return p;
}

int response_serialize(worker *w, conn *c, chopin_ctx *ctx, bool head_only, bool keep_alive,
                       int minor) {
    int status = ctx->status;
    bool has_body = status_has_body(status);
    int64_t body_len = ctx->file_fd >= 0 ? ctx->file_len : (int64_t)ctx->body_buf.len;
    size_t head_max = 256 + sizeof SECURE_HEADERS + ctx->content_type.len + w->date_len;
    for (resp_header *h = ctx->headers; h; h = h->next) head_max += h->name.len + h->value.len + 4;
    size_t copy_body = (has_body && !head_only && ctx->file_fd < 0) ? ctx->body_buf.len : 0;
    if (buf_reserve(&w->pool, &c->out, head_max + copy_body)) return -1;

    char *start = c->out.data + c->out.len, *p = start;
    p = put_status_line(p, status);
    PUT(p, "Server: chopin\r\n");
    memcpy(p, w->date_line, w->date_len);
    p += w->date_len;
    if (ctx->content_type.len && has_body) {
        PUT(p, "Content-Type: ");
        p = put_str(p, ctx->content_type);
        PUT(p, "\r\n");
    }
    if (has_body) {
        PUT(p, "Content-Length: ");
        p += json_format_int(p, body_len);
        PUT(p, "\r\n");
    }
    if (!keep_alive)
        PUT(p, "Connection: close\r\n");
    else if (minor == 0)
        PUT(p, "Connection: keep-alive\r\n");
    if (w->srv->cfg->security_headers) p = put_secure_headers(p, ctx);
    for (resp_header *h = ctx->headers; h; h = h->next) {
        p = put_str(p, h->name);
        PUT(p, ": ");
        p = put_str(p, h->value);
        PUT(p, "\r\n");
    }
    PUT(p, "\r\n");
    if (copy_body) {
        memcpy(p, ctx->body_buf.data, copy_body);
        p += copy_body;
    }
    c->out.len += (size_t)(p - start);
    return 0;
}

int response_error(worker *w, conn *c, int status, bool close) {
    char body[256];
    int n =
        snprintf(body, sizeof body,
                 "{\"success\":false,\"error\":{\"status\":%d,\"code\":\"%s\",\"message\":\"%s\"}}",
                 status, status_code_word(status), engine_error_message(status));
    if (buf_reserve(&w->pool, &c->out, 512 + sizeof SECURE_HEADERS + w->date_len)) return -1;
    char *start = c->out.data + c->out.len, *p = start;
    p = put_status_line(p, status);
    PUT(p, "Server: chopin\r\n");
    memcpy(p, w->date_line, w->date_len);
    p += w->date_len;
    PUT(p, "Content-Type: application/json\r\nContent-Length: ");
    p += json_format_int(p, n);
    PUT(p, "\r\n");
    if (close) PUT(p, "Connection: close\r\n");
    if (w->srv->cfg->security_headers) PUT(p, SECURE_HEADERS);
    PUT(p, "\r\n");
    memcpy(p, body, (size_t)n);
    p += n;
    c->out.len += (size_t)(p - start);
    return 0;
}
