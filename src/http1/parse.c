/* parse.c - HTTP/1.x request heads (RFC 9112 sections 2-3, 5-6).
 *
 * Two passes over a head: a cheap one that only looks for the blank line that
 * ends it (remembering how far it got, so bytes arriving one at a time are
 * looked at once), then, when the head is complete, one full validating pass
 * that fills http1_request with views into the buffer. */
#include "http1.h"
#include "scan.h"

#include <string.h>

#define MAX_LEADING_EMPTY_LINES 8

/* RFC 9110 5.6.2 tchar: "!#$%&'*+-.^_`|~", digits and letters. */
static const unsigned char is_tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
    ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,  ['~'] = 1, ['0'] = 1,
    ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,  ['7'] = 1, ['8'] = 1,
    ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,  ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1,  ['N'] = 1, ['O'] = 1,
    ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,  ['V'] = 1, ['W'] = 1,
    ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,  ['d'] = 1, ['e'] = 1,
    ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1,  ['l'] = 1, ['m'] = 1,
    ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1,  ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

bool http1_name_eq(chopin_str name, const char *lower, size_t lower_len) {
    if (name.len != lower_len) return false;
    /* Callers compare validated tokens, where OR-ing 0x20 folds only letters. */
    for (size_t i = 0; i < lower_len; i++)
        if (((unsigned char)name.ptr[i] | 0x20) != (unsigned char)lower[i]) return false;
    return true;
}

static bool ieq_literal(const char *p, size_t len, const char *lower) {
    return http1_name_eq((chopin_str){p, len}, lower, strlen(lower));
}

static int method_from(const char *p, size_t len, chopin_method *out) {
    static const struct {
        const char *name;
        size_t len;
        int method;
    } known[] = {
        {"GET", 3, CHOPIN_GET},         {"POST", 4, CHOPIN_POST},     {"HEAD", 4, CHOPIN_HEAD},
        {"PUT", 3, CHOPIN_PUT},         {"DELETE", 6, CHOPIN_DELETE}, {"PATCH", 5, CHOPIN_PATCH},
        {"OPTIONS", 7, CHOPIN_OPTIONS},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (known[i].len == len && memcmp(known[i].name, p, len) == 0) {
            *out = (chopin_method)known[i].method;
            return 0;
        }
    }
    return -501; /* a well-formed token we do not implement (CONNECT, TRACE, ...) */
}

/* The answer when n bytes past the leading empty lines have arrived without
 * the head ending: 414 once the request line is over its limit with no LF
 * yet, 431 once the head is. When both are over, the one crossed first. */
static int over_limits(size_t n, bool line_ended, const http1_limits *lim) {
    bool line_over = !line_ended && n > lim->max_request_line;
    bool head_over = n > lim->max_header_bytes;
    if (line_over && (!head_over || lim->max_request_line <= lim->max_header_bytes)) return -414;
    return head_over ? -431 : 0;
}

/* Finds the end of the head: the index just past "\r\n\r\n", 0 if not there
 * yet, -400 on an LF that is not preceded by CR, -414/-431 on a limit. The
 * limits are judged on the bytes before each LF, so that the answer is the
 * one the bytes would have got arriving one at a time, however they arrive. */
static long find_head_end(const char *buf, size_t len, size_t start, const http1_limits *lim,
                          http1_scan *scan) {
    size_t pos = scan->scanned > start ? scan->scanned : start;
    while (pos < len) {
        const char *lf = memchr(buf + pos, '\n', len - pos);
        if (!lf) break;
        size_t i = (size_t)(lf - buf);
        int rc = over_limits(i - start, scan->line_ended, lim);
        if (rc) return rc;
        if (i == start || buf[i - 1] != '\r') return -400;
        scan->line_ended = true;
        if (i >= start + 3 && buf[i - 2] == '\n') return (long)(i + 1);
        pos = i + 1;
    }
    scan->scanned = len;
    return over_limits(len - start, scan->line_ended, lim);
}

static int parse_version(const char *p, int *minor) {
    if (memcmp(p, "HTTP/", 5) != 0) return -400;
    char major = p[5], dot = p[6], min = p[7];
    if (major < '0' || major > '9' || dot != '.' || min < '0' || min > '9') return -400;
    if (major != '1') return -505;
    /* A later 1.x is processed as 1.1, the highest we implement (RFC 9110
     * 2.5); the answer says HTTP/1.1. */
    *minor = min > '1' ? 1 : min - '0';
    return 0;
}

/* What RFC 3986 allows in a URI: unreserved, reserved and '%'. Visible
 * ASCII that is not in it (space is already gone): " < > \ ^ ` { | } and
 * '#', which no client sends (a fragment stays in the client). */
static const unsigned char in_uri[256] = {
    ['!'] = 1, ['$'] = 1, ['%'] = 1,         ['&'] = 1,         ['\''] = 1,
    ['('] = 1, [')'] = 1, ['*'] = 1,         ['+'] = 1,         [','] = 1,
    ['-'] = 1, ['.'] = 1, ['/'] = 1,         [':'] = 1,         [';'] = 1,
    ['='] = 1, ['?'] = 1, ['@'] = 1,         ['['] = 1,         [']'] = 1,
    ['_'] = 1, ['~'] = 1, ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1};

/* A Host value: a host (a name, an IPv4 address or a bracketed IPv6
 * literal) and an optional port, or nothing (RFC 9112 3.2). */
static bool valid_host(chopin_str v) {
    for (size_t i = 0; i < v.len; i++) {
        unsigned char ch = (unsigned char)v.ptr[i];
        if (!in_uri[ch] || ch == '/' || ch == '?' || ch == '@' || ch == '#') return false;
    }
    return true;
}

/* Splits the target into path and query; accepts origin-form, absolute-form
 * (the authority is dropped: routing is by path) and "*" for OPTIONS. */
static int split_target(http1_request *req) {
    const char *t = req->target.ptr, *end = t + req->target.len;
    for (const char *c = t; c < end; c++)
        if (!in_uri[(unsigned char)*c]) return -400;
    const char *path = t;
    if (*t != '/') {
        if (req->target.len == 1 && *t == '*' && req->method == CHOPIN_OPTIONS) {
            req->path = req->target;
            req->query = CHOPIN_STR_NULL;
            return 0;
        }
        size_t skip;
        if (req->target.len > 7 && ieq_literal(t, 7, "http://"))
            skip = 7;
        else if (req->target.len > 8 && ieq_literal(t, 8, "https://"))
            skip = 8;
        else
            return -400;
        const char *auth = t + skip;
        path = auth;
        while (path < end && *path != '/' && *path != '?') path++;
        if (path == auth) return -400;                             /* no authority */
        if (memchr(auth, '@', (size_t)(path - auth))) return -400; /* userinfo: RFC 9110 4.2.4 */
        if (path == end || *path == '?') {
            /* "http://host" or "http://host?q": the path is "/" (RFC 9112 3.2.2). */
            req->path = CHOPIN_STR("/");
            req->query =
                path < end ? (chopin_str){path + 1, (size_t)(end - path - 1)} : CHOPIN_STR_NULL;
            return 0;
        }
    }
    const char *q = memchr(path, '?', (size_t)(end - path));
    if (q) {
        req->path = (chopin_str){path, (size_t)(q - path)};
        req->query = (chopin_str){q + 1, (size_t)(end - q - 1)};
    } else {
        req->path = (chopin_str){path, (size_t)(end - path)};
        req->query = CHOPIN_STR_NULL;
    }
    return 0;
}

/* Parses the request line starting at p; returns the index after its CRLF. */
static long parse_request_line(const char *buf, size_t p, size_t end, const http1_limits *lim,
                               http1_request *req) {
    size_t line_start = p, m = p;
    while (m < end && is_tchar[(unsigned char)buf[m]]) m++;
    if (m == p || m >= end || buf[m] != ' ') return -400;
    req->method_name = (chopin_str){buf + p, m - p};

    const char *t = buf + m + 1;
    const char *t_end = scan_vchar(t, buf + end);
    if (t_end == t || t_end >= buf + end || *t_end != ' ') return -400;
    req->target = (chopin_str){t, (size_t)(t_end - t)};

    size_t v = (size_t)(t_end - buf) + 1;
    if (v + 10 > end || buf[v + 8] != '\r' || buf[v + 9] != '\n') return -400;
    if (v + 10 - line_start > lim->max_request_line) return -414;
    int rc = parse_version(buf + v, &req->minor_version);
    if (rc) return rc;
    rc = method_from(req->method_name.ptr, req->method_name.len, &req->method);
    if (rc) return rc;
    rc = split_target(req);
    if (rc) return rc;
    return (long)(v + 10);
}

static int parse_content_length(chopin_str v, int64_t *out) {
    if (v.len == 0) return -400;
    int64_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        unsigned d = (unsigned char)v.ptr[i] - '0';
        if (d > 9) return -400;
        /* Past 18 digits the value is absurd for any body limit: saturate, so
         * the engine answers 413 rather than overflowing. */
        n = n > (INT64_MAX - 9) / 10 ? INT64_MAX : n * 10 + d;
    }
    *out = n;
    return 0;
}

/* Walks a comma-separated token list (Connection). */
static void parse_connection(chopin_str v, bool *close, bool *keep_alive) {
    const char *p = v.ptr, *end = v.ptr + v.len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) p++;
        const char *s = p;
        while (p < end && *p != ',' && *p != ' ' && *p != '\t') p++;
        if (ieq_literal(s, (size_t)(p - s), "close"))
            *close = true;
        else if (ieq_literal(s, (size_t)(p - s), "keep-alive"))
            *keep_alive = true;
    }
}

typedef struct {
    int host_count;
    int te_count;
    bool close, keep_alive;
} framing;

/* A Transfer-Encoding other than exactly "chunked": without chunked as the
 * final coding (or with chunked twice) the body's end cannot be known, a
 * 400 that closes (RFC 9112 6.1, 6.3); chunked last behind codings we do
 * not decode (gzip, chunked) is a 501. */
static int te_list_verdict(chopin_str v) {
    const char *p = v.ptr, *end = v.ptr + v.len;
    int chunked_seen = 0;
    bool last_is_chunked = false;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end, *s = p;
        while (s < e && (*s == ' ' || *s == '\t')) s++;
        const char *t = e;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t')) t--;
        last_is_chunked = ieq_literal(s, (size_t)(t - s), "chunked");
        chunked_seen += last_is_chunked;
        if (!comma) break;
        p = comma + 1;
    }
    return last_is_chunked && chunked_seen == 1 ? -501 : -400;
}

static int note_header(http1_request *req, const http1_header *h, framing *f) {
    chopin_str n = h->name;
    switch (n.len) {
    case 4:
        if (!http1_name_eq(n, "host", 4)) return 0;
        f->host_count++;
        return valid_host(h->value) ? 0 : -400;
    case 6:
        if (!http1_name_eq(n, "expect", 6)) return 0;
        if (!ieq_literal(h->value.ptr, h->value.len, "100-continue")) return -417;
        req->expect_continue = true;
        return 0;
    case 10:
        if (http1_name_eq(n, "connection", 10))
            parse_connection(h->value, &f->close, &f->keep_alive);
        return 0;
    case 14: {
        if (!http1_name_eq(n, "content-length", 14)) return 0;
        int64_t cl;
        int rc = parse_content_length(h->value, &cl);
        if (rc) return rc;
        if (req->content_length >= 0 && req->content_length != cl) return -400;
        req->content_length = cl;
        return 0;
    }
    case 17:
        if (!http1_name_eq(n, "transfer-encoding", 17)) return 0;
        if (++f->te_count > 1) return -400;
        if (!ieq_literal(h->value.ptr, h->value.len, "chunked")) return te_list_verdict(h->value);
        req->chunked = true;
        return 0;
    default:
        return 0;
    }
}

/* One field line at p; returns the index after its CRLF. */
static long parse_field(const char *buf, size_t p, size_t end, http1_header *h) {
    size_t n = p;
    while (n < end && is_tchar[(unsigned char)buf[n]]) n++;
    if (n == p || n >= end || buf[n] != ':') return -400; /* also: space before ':' */
    h->name = (chopin_str){buf + p, n - p};
    const char *v = buf + n + 1, *stop = buf + end;
    while (v < stop && (*v == ' ' || *v == '\t')) v++;
    const char *e = v;
    for (;;) {
        e = scan_field(e, stop);
        if (e >= stop) return -400;
        if (*e == '\t') {
            e++;
            continue;
        }
        if (*e == '\r' && e + 1 < stop && e[1] == '\n') break;
        return -400; /* NUL, bare CR, other control bytes, DEL */
    }
    const char *ve = e;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
    h->value = (chopin_str){v, (size_t)(ve - v)};
    return (long)(e - buf) + 2;
}

static int parse_fields(const char *buf, size_t p, size_t end, const http1_limits *lim,
                        http1_request *req) {
    framing f = {0};
    while (!(buf[p] == '\r' && buf[p + 1] == '\n')) {
        if (buf[p] == ' ' || buf[p] == '\t') return -400; /* obs-fold */
        if (req->num_headers == lim->max_headers) return -431;
        http1_header *h = &req->headers[req->num_headers];
        long next = parse_field(buf, p, end, h);
        if (next < 0) return (int)next;
        req->num_headers++;
        int rc = note_header(req, h, &f);
        if (rc) return rc;
        p = (size_t)next;
    }
    if (req->chunked && req->content_length >= 0) return -400;
    if (req->chunked && req->minor_version == 0) return -400;
    if (req->minor_version == 1 && f.host_count != 1) return -400;
    if (f.host_count > 1) return -400;
    req->keep_alive = req->minor_version == 1 ? !f.close : (f.keep_alive && !f.close);
    return 0;
}

int http1_parse_request(const char *buf, size_t len, http1_scan *scan, const http1_limits *lim,
                        http1_request *req) {
    size_t start = 0;
    while (start + 1 < len && buf[start] == '\r' && buf[start + 1] == '\n') {
        start += 2;
        if (start > 2 * MAX_LEADING_EMPTY_LINES) return -400;
    }
    if (start < len && buf[start] == '\n') return -400;

    long end = find_head_end(buf, len, start, lim, scan);
    if (end <= 0) return (int)end;
    if ((size_t)end - start > lim->max_header_bytes) return -431;

    req->num_headers = 0;
    req->content_length = -1;
    req->chunked = false;
    req->expect_continue = false;
    long p = parse_request_line(buf, start, (size_t)end, lim, req);
    if (p < 0) return (int)p;
    int rc = parse_fields(buf, (size_t)p, (size_t)end, lim, req);
    if (rc) return rc;
    return (int)end;
}
