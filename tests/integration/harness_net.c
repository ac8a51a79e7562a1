/* harness_net.c - the integration tests' side of the wire: raw sockets
 * (connect, send, read with deadlines), the HTTP/1.1 response parser and a
 * libcurl GET. See harness.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"
#include "harness_internal.h"

#include <criterion/criterion.h>
#include <curl/curl.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_HEAD_BYTES (1 << 20) /* a response head larger than this is an error */

/* --- Raw sockets ----------------------------------------------------------- */

static int fill_addr(int family, int port, struct sockaddr_storage *ss, socklen_t *len) {
    memset(ss, 0, sizeof *ss);
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        a->sin6_addr = in6addr_loopback;
        *len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *len = sizeof *a;
    }
    return 0;
}

static int socket_connecting(int family, int port) {
    struct sockaddr_storage ss;
    socklen_t len;
    fill_addr(family, port, &ss, &len);
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int h_socket_connecting(int port) {
    return socket_connecting(AF_INET, port);
}

h_conn *h_try_connect(int family, int port) {
    int fd = socket_connecting(family, port);
    if (fd < 0) return NULL;
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int64_t deadline = h_now_ms() + H_TIMEOUT_MS;
    int pr;
    while ((pr = poll(&p, 1, harness_remaining_ms(deadline))) < 0 && errno == EINTR) {
    }
    int err = 0;
    socklen_t elen = sizeof err;
    if (pr == 0)
        err = ETIMEDOUT;
    else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen))
        err = errno;
    if (err) {
        close(fd);
        errno = err;
        return NULL;
    }
    h_conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    c->fd = fd;
    return c;
}

static h_conn *connect_or_fail(int family, int port) {
    h_conn *c = h_try_connect(family, port);
    cr_assert_not_null(c, "connect to %s port %d: %s", family == AF_INET6 ? "[::1]" : "127.0.0.1",
                       port, strerror(errno));
    return c;
}

h_conn *h_connect(int port) {
    return connect_or_fail(AF_INET, port);
}
h_conn *h_connect6(int port) {
    return connect_or_fail(AF_INET6, port);
}

void h_close(h_conn *c) {
    if (!c) return;
    if (c->fd >= 0) close(c->fd);
    free(c->buf);
    free(c);
}

bool h_send(h_conn *c, const void *data, size_t len) {
    const char *p = data;
    int64_t deadline = h_now_ms() + H_TIMEOUT_MS;
    while (len) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            deadline = h_now_ms() + H_TIMEOUT_MS; /* progress */
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pf = {.fd = c->fd, .events = POLLOUT};
            int left = harness_remaining_ms(deadline);
            if (left == 0 || poll(&pf, 1, left) == 0) {
                errno = ETIMEDOUT;
                return false;
            }
            continue;
        }
        return false;
    }
    return true;
}

bool h_sends(h_conn *c, const char *s) {
    return h_send(c, s, strlen(s));
}

ssize_t h_read_some(h_conn *c, int timeout_ms) {
    if (c->eof) return 0;
    int64_t deadline = h_now_ms() + timeout_ms;
    for (;;) {
        if (c->cap - c->len < 65536) {
            size_t ncap = c->cap ? c->cap * 2 : 131072;
            while (ncap - c->len < 65536) ncap *= 2;
            char *nb = realloc(c->buf, ncap + 1);
            cr_assert_not_null(nb);
            c->buf = nb;
            c->cap = ncap;
        }
        ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (n > 0) {
            c->len += (size_t)n;
            c->buf[c->len] = 0;
            return n;
        }
        if (n == 0) {
            c->eof = true;
            return 0;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            struct pollfd pf = {.fd = c->fd, .events = POLLIN};
            int left = harness_remaining_ms(deadline);
            if (left == 0) return -1;
            int pr = poll(&pf, 1, left);
            if (pr == 0) return -1;
            continue;
        }
        c->err = errno; /* ECONNRESET and friends: the connection is over */
        c->eof = true;
        return 0;
    }
}

bool h_read_until_close(h_conn *c, size_t max, int timeout_ms) {
    int64_t deadline = h_now_ms() + timeout_ms;
    while (!c->eof && c->len < max) {
        int left = harness_remaining_ms(deadline);
        if (left == 0) break;
        if (h_read_some(c, left) < 0) break;
    }
    return c->eof;
}

bool h_wait_close(h_conn *c, int timeout_ms) {
    return h_read_until_close(c, SIZE_MAX, timeout_ms);
}

/* --- Responses ------------------------------------------------------------- */

void h_response_free(h_response *r) {
    if (!r) return;
    for (size_t i = 0; i < r->nheaders; i++) free(r->names[i]), free(r->values[i]);
    free(r->names);
    free(r->values);
    free(r->body);
    free(r);
}

const char *h_header(const h_response *r, const char *name) {
    for (size_t i = 0; i < r->nheaders; i++)
        if (!strcasecmp(r->names[i], name)) return r->values[i];
    return NULL;
}

static const char *find_crlf2(const char *buf, size_t len) {
    for (size_t i = 3; i < len; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
            return buf + i + 1;
    return NULL;
}

long h_parse_response(const char *buf, size_t len, bool head_only, bool at_eof, h_response **out) {
    *out = NULL;
    const char *head_end = find_crlf2(buf, len);
    if (!head_end) {
        if (len > MAX_HEAD_BYTES) {
            harness_set_error("no end of response head in %zu bytes", len);
            return -1;
        }
        return 0;
    }
    size_t head_len = (size_t)(head_end - buf);
    /* Status line. */
    if (head_len < 14 || memcmp(buf, "HTTP/1.", 7) || (buf[7] != '0' && buf[7] != '1') ||
        buf[8] != ' ' || buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' ||
        buf[11] < '0' || buf[11] > '9' || (buf[12] != ' ' && buf[12] != '\r')) {
        harness_set_error("bad status line: '%.60s'", buf);
        return -1;
    }
    h_response *r = calloc(1, sizeof *r);
    cr_assert_not_null(r);
    r->minor = buf[7] - '0';
    r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    const char *p = memchr(buf, '\n', head_len) + 1;
    /* Header fields. */
    int64_t content_length = -1;
    bool chunked = false;
    while (p < head_end - 2) {
        const char *eol = memchr(p, '\n', (size_t)(head_end - p));
        if (!eol || eol[-1] != '\r') {
            harness_set_error("header line without CRLF");
            h_response_free(r);
            return -1;
        }
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon || colon == p) {
            harness_set_error("bad header line: '%.*s'", (int)(eol - p - 1), p);
            h_response_free(r);
            return -1;
        }
        const char *v = colon + 1, *ve = eol - 1;
        while (v < ve && (*v == ' ' || *v == '\t')) v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        char **nn = realloc(r->names, (r->nheaders + 1) * sizeof *nn);
        cr_assert_not_null(nn);
        r->names = nn;
        char **nv = realloc(r->values, (r->nheaders + 1) * sizeof *nv);
        cr_assert_not_null(nv);
        r->values = nv;
        r->names[r->nheaders] = strndup(p, (size_t)(colon - p));
        r->values[r->nheaders] = strndup(v, (size_t)(ve - v));
        const char *name = r->names[r->nheaders], *value = r->values[r->nheaders];
        r->nheaders++;
        if (!strcasecmp(name, "Content-Length")) {
            char *end;
            errno = 0;
            long long cl = strtoll(value, &end, 10);
            if (!*value || *end || cl < 0 || errno ||
                (content_length >= 0 && cl != content_length)) {
                harness_set_error("bad Content-Length '%s'", value);
                h_response_free(r);
                return -1;
            }
            content_length = cl;
        } else if (!strcasecmp(name, "Transfer-Encoding")) {
            chunked = true;
        }
        p = eol + 1;
    }
    /* Body. */
    bool no_body = head_only || r->status < 200 || r->status == 204 || r->status == 304;
    size_t body_len = 0;
    if (no_body) {
        body_len = 0;
    } else if (chunked) {
        harness_set_error("chunked responses are not expected from chopin");
        h_response_free(r);
        return -1;
    } else if (content_length >= 0) {
        if (len - head_len < (uint64_t)content_length) {
            h_response_free(r);
            return 0;
        }
        body_len = (size_t)content_length;
    } else {
        if (!at_eof) { /* delimited by the close */
            h_response_free(r);
            return 0;
        }
        body_len = len - head_len;
    }
    r->body = malloc(body_len + 1);
    cr_assert_not_null(r->body);
    memcpy(r->body, head_end, body_len);
    r->body[body_len] = 0;
    r->body_len = body_len;
    r->raw_len = head_len + body_len;
    *out = r;
    return (long)r->raw_len;
}

h_response *h_read_response(h_conn *c, bool head_only, int timeout_ms) {
    int64_t deadline = h_now_ms() + timeout_ms;
    for (;;) {
        h_response *r;
        long n = h_parse_response(c->buf ? c->buf : "", c->len, head_only, c->eof, &r);
        if (n > 0) {
            memmove(c->buf, c->buf + n, c->len - (size_t)n);
            c->len -= (size_t)n;
            return r;
        }
        if (n < 0) return NULL;
        if (c->eof) {
            harness_set_error("connection closed after %zu bytes of a response (%s): '%.80s'",
                              c->len, c->err ? strerror(c->err) : "EOF", c->buf ? c->buf : "");
            return NULL;
        }
        int left = harness_remaining_ms(deadline);
        if (left == 0 || h_read_some(c, left) < 0) {
            harness_set_error("no complete response within %d ms (%zu bytes buffered: '%.80s')",
                              timeout_ms, c->len, c->buf ? c->buf : "");
            return NULL;
        }
    }
}

h_response *h_roundtrip(h_conn *c, const char *req) {
    if (!h_sends(c, req)) {
        harness_set_error("send failed: %s", strerror(errno));
        return NULL;
    }
    return h_read_response(c, strncmp(req, "HEAD ", 5) == 0, H_TIMEOUT_MS);
}

bool h_is_error_envelope(const h_response *r, int status) {
    if (!r || r->status != status) return false;
    const char *type = h_header(r, "Content-Type");
    if (!type || strncmp(type, "application/json", 16)) return false;
    char prefix[64];
    int n = snprintf(prefix, sizeof prefix,
                     "{\"success\":false,\"error\":{\"status\":%d,\"code\":\"", status);
    if (r->body_len < (size_t)n + 2 || memcmp(r->body, prefix, (size_t)n)) return false;
    if (!strstr(r->body, "\"message\":\"")) return false;
    return !strcmp(r->body + r->body_len - 2, "}}");
}

/* --- libcurl ------------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len, cap;
} growbuf;

static size_t grow_append(void *ptr, size_t size, size_t nmemb, void *userdata) {
    growbuf *g = userdata;
    size_t n = size * nmemb;
    if (g->cap - g->len < n + 1) {
        size_t ncap = g->cap ? g->cap : 16384;
        while (ncap - g->len < n + 1) ncap *= 2;
        char *nd = realloc(g->data, ncap);
        if (!nd) return 0;
        g->data = nd;
        g->cap = ncap;
    }
    memcpy(g->data + g->len, ptr, n);
    g->len += n;
    g->data[g->len] = 0;
    return n;
}

h_curl_response h_curl_get(const char *url) {
    static bool curl_ready;
    harness_init();
    if (!curl_ready) {
        cr_assert_eq(curl_global_init(CURL_GLOBAL_ALL), CURLE_OK);
        curl_ready = true;
    }
    h_curl_response r = {.content_length = -1};
    CURL *h = curl_easy_init();
    cr_assert_not_null(h);
    growbuf body = {0}, heads = {0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, grow_append);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, grow_append);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &heads);
    r.curl_code = (int)curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    curl_off_t cl = -1;
    if (curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK)
        r.content_length = cl;
    curl_easy_cleanup(h);
    r.body = body.data ? body.data : calloc(1, 1);
    r.body_len = body.len;
    r.headers = heads.data ? heads.data : calloc(1, 1);
    r.headers_len = heads.len;
    return r;
}

void h_curl_free(h_curl_response *r) {
    free(r->body);
    free(r->headers);
    r->body = r->headers = NULL;
}
