/* multipart.c - multipart/form-data bodies (RFC 7578, RFC 2046 5.1), streamed.
 *
 * How the delimiter is found without a lookbehind buffer: the delimiter is
 * CRLF "--" boundary, and boundary characters never include CR, so its only
 * CR is its first byte. A partial match can therefore only be a prefix of the
 * delimiter, and when it fails nothing inside it can start another match
 * except the byte that broke it. The bytes held back while a match is open
 * are exactly delim[0, matched): the parser keeps the count, not the bytes,
 * and replays them from delim when they turn out to be data.
 *
 * Part data is scanned with memchr for CR and handed on in one piece per fed
 * buffer wherever possible; the header lines, which are short, go byte by
 * byte through a small state machine into one buffer and are parsed a line at
 * a time as each line ends, in place (decoding only ever shrinks a value). */
#include "multipart.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_HEADER_BYTES (8 * 1024)
#define DEFAULT_MAX_PARTS        1000
#define MAX_BOUNDARY             70 /* RFC 2046 5.1.1 */
#define DELIM_PREFIX             4  /* CRLF "--" */
#define HEADER_FIRST_CAP         256
#define NO_OFFSET                SIZE_MAX

enum {
    S_DATA = 0,       /* preamble or part data, looking for the delimiter */
    S_AFTER_BOUNDARY, /* the delimiter matched: "--", padding or CRLF next */
    S_CLOSE_DASH,     /* one '-' of the close delimiter seen */
    S_PADDING,        /* spaces and tabs after the boundary */
    S_BOUNDARY_LF,    /* LF ending the boundary line */
    S_LINE_START,     /* start of a header line, or CR of the blank line */
    S_LINE,           /* inside a header line */
    S_LINE_LF,        /* LF ending a header line */
    S_BLANK_LF,       /* LF of the blank line ending the headers */
};

struct multipart_parser {
    multipart_callbacks cb;
    void *arg;
    size_t max_header_bytes;
    size_t max_parts;
    int state;
    int result;   /* 0 while parsing; then DONE or the error, returned for good */
    bool in_part; /* between part_begin and part_end (false in the preamble) */
    bool opened;  /* the body began with its first delimiter: no preamble */
    size_t parts; /* parts begun */

    size_t matched; /* bytes of delim matched and held back */
    size_t virt;    /* of which the first virt are the implied CRLF, never data */
    size_t delim_len;
    char delim[DELIM_PREFIX + MAX_BOUNDARY + 1]; /* CRLF "--" boundary */

    /* The current part's header lines, each stored without its CRLF and
     * ending in NUL; decoded values are rewritten in place, so they are kept
     * as offsets (the buffer may move while it grows). */
    char *hbuf;
    size_t hlen, hcap;
    size_t header_bytes; /* as sent, CRLFs included: what max_header_bytes bounds */
    size_t line_start;   /* offset of the line being read */
    size_t name_off, filename_off, type_off; /* NO_OFFSET when absent */
};

/* Character classes. */

static bool is_alnum(unsigned char c) {
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

static bool in_set(unsigned char c, const char *set) {
    return c != 0 && strchr(set, c) != NULL;
}

/* RFC 9110 5.6.2 */
static bool is_tchar(unsigned char c) {
    return is_alnum(c) || in_set(c, "!#$%&'*+-.^_`|~");
}

/* RFC 2046 5.1.1 bcharsnospace */
static bool is_bchar_nospace(unsigned char c) {
    return is_alnum(c) || in_set(c, "'()+_,-./:=?");
}

/* RFC 8187 3.2.1 attr-char */
static bool is_attr_char(unsigned char c) {
    return is_alnum(c) || in_set(c, "!#$&+-.^_`|~");
}

static bool is_ows(unsigned char c) {
    return c == ' ' || c == '\t';
}

/* What a header line may hold: HTAB, SP, VCHAR and obs-text. Everything else
 * (NUL, CR, LF, other controls, DEL) is refused. */
static bool is_field_byte(unsigned char c) {
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int hex_digit(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static unsigned char fold(unsigned char c) {
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

/* Case-insensitive comparison of p[0, len) with a lowercase literal. */
static bool ieq(const char *p, size_t len, const char *lower) {
    if (strlen(lower) != len) return false;
    for (size_t i = 0; i < len; i++)
        if (fold((unsigned char)p[i]) != (unsigned char)lower[i]) return false;
    return true;
}

static size_t token_len(const char *s, const char *end) {
    const char *t = s;
    while (t < end && is_tchar((unsigned char)*t)) t++;
    return (size_t)(t - s);
}

static size_t ows_len(const char *s, const char *end) {
    const char *t = s;
    while (t < end && is_ows((unsigned char)*t)) t++;
    return (size_t)(t - s);
}

/* The boundary parameter. */

static bool valid_boundary(const char *b, size_t len) {
    if (len < 1 || len > MAX_BOUNDARY || b[len - 1] == ' ') return false;
    for (size_t i = 0; i < len; i++)
        if (b[i] != ' ' && !is_bchar_nospace((unsigned char)b[i])) return false;
    return true;
}

/* A quoted-string starting at *s (on the opening quote), undone into out
 * (cap bytes; NULL to only skip it). Returns the decoded length, or -1 if it
 * is malformed or does not fit. */
static long quoted_string(const char **s, const char *end, char *out, size_t cap) {
    const char *r = *s + 1;
    size_t n = 0;
    for (;;) {
        if (r == end) return -1;
        unsigned char c = (unsigned char)*r++;
        if (c == '"') break;
        if (c == '\\') {
            if (r == end) return -1;
            c = (unsigned char)*r++;
        }
        if (!is_field_byte(c)) return -1;
        if (out) {
            if (n == cap) return -1;
            out[n] = (char)c;
        }
        n++;
    }
    *s = r;
    return (long)n;
}

/* An unquoted boundary: RFC 2046 allows characters a token does not
 * (":=?/(),") and senders use them unquoted; none of them can be mistaken for
 * the ';' or whitespace that end the value. */
static long bare_boundary(const char **s, const char *end, char *out, size_t cap) {
    const char *r = *s;
    size_t n = 0;
    while (r < end && *r != ';' && !is_ows((unsigned char)*r)) {
        if (!is_bchar_nospace((unsigned char)*r) || n == cap) return -1;
        out[n++] = *r++;
    }
    *s = r;
    return (long)n;
}

int multipart_boundary(const char *content_type, size_t len, char *out, size_t cap) {
    const char *s = content_type, *end = content_type + len;
    s += ows_len(s, end);
    size_t t = token_len(s, end);
    if (!ieq(s, t, "multipart")) return -1;
    s += t;
    if (s == end || *s != '/') return -1;
    s++;
    t = token_len(s, end);
    if (!ieq(s, t, "form-data")) return -1;
    s += t;

    char found[MAX_BOUNDARY];
    long found_len = -1;
    for (;;) {
        s += ows_len(s, end);
        if (s == end) break;
        if (*s != ';') return -1;
        s++;
        s += ows_len(s, end);
        const char *name = s;
        t = token_len(s, end);
        s += t;
        /* RFC 9110 5.6.6: no whitespace around '=' in a parameter. */
        if (!t || s == end || *s != '=') return -1;
        s++;
        if (ieq(name, t, "boundary")) {
            if (found_len >= 0) return -1; /* which one would the sender mean? */
            if (s < end && *s == '"')
                found_len = quoted_string(&s, end, found, sizeof found);
            else
                found_len = bare_boundary(&s, end, found, sizeof found);
            if (found_len < 0) return -1;
        } else if (s < end && *s == '"') {
            if (quoted_string(&s, end, NULL, 0) < 0) return -1;
        } else {
            t = token_len(s, end);
            if (!t) return -1;
            s += t;
        }
    }
    if (found_len < 0 || !valid_boundary(found, (size_t)found_len) || (size_t)found_len >= cap)
        return -1;
    memcpy(out, found, (size_t)found_len);
    out[found_len] = '\0';
    return 0;
}

/* Callbacks. */

static int emit(multipart_parser *p, const char *data, size_t len) {
    if (!len || !p->in_part || !p->cb.part_data) return 0;
    return p->cb.part_data(p->arg, data, len) ? MULTIPART_STOPPED : 0;
}

static int end_part(multipart_parser *p) {
    if (!p->in_part) return 0;
    p->in_part = false;
    if (p->cb.part_end && p->cb.part_end(p->arg)) return MULTIPART_STOPPED;
    return 0;
}

/* Data: everything up to the next delimiter. */

static int delimiter_found(multipart_parser *p) {
    /* Still on the implied CRLF, and not in a part: the body's first bytes. */
    if (p->virt && !p->in_part && !p->parts) p->opened = true;
    p->matched = p->virt = 0;
    p->state = S_AFTER_BOUNDARY;
    return 0;
}

/* Consumes data bytes from d[0, n) (*used of them), handing them on, until
 * the input ends or the delimiter has been matched. */
static int scan_data(multipart_parser *p, const char *d, size_t n, size_t *used) {
    size_t i = 0;
    /* A match left open by the previous input, or the implied CRLF: it
     * resolves within a few bytes, one at a time. */
    while (p->matched && i < n) {
        if (d[i] == p->delim[p->matched]) {
            i++;
            if (++p->matched == p->delim_len) {
                *used = i;
                return delimiter_found(p);
            }
            continue;
        }
        /* Not a delimiter: the held bytes were data, and d[i] is looked at
         * afresh below (it may be the CR of a new match). */
        int rc = emit(p, p->delim + p->virt, p->matched - p->virt);
        p->matched = p->virt = 0;
        if (rc) return rc;
    }

    size_t start = i; /* d[start, i) is data not handed on yet */
    while (i < n) {
        const char *cr = memchr(d + i, '\r', n - i);
        if (!cr) break;
        size_t at = (size_t)(cr - d);
        size_t avail = n - at < p->delim_len ? n - at : p->delim_len;
        size_t k = 1;
        while (k < avail && d[at + k] == p->delim[k]) k++;
        if (k == p->delim_len) {
            *used = at + k;
            int rc = emit(p, d + start, at - start);
            return rc ? rc : delimiter_found(p);
        }
        if (k == avail) {
            /* The input ends inside what may be the delimiter: hold it. */
            *used = n;
            p->matched = k;
            return emit(p, d + start, at - start);
        }
        i = at + k; /* d[at + 1, at + k) holds no CR: delim has only the one */
    }
    *used = n;
    return emit(p, d + start, n - start);
}

/* Header lines. */

static int count_header_bytes(multipart_parser *p, size_t n) {
    if (p->max_header_bytes - p->header_bytes < n) return MULTIPART_HEADERS_TOO_LARGE;
    p->header_bytes += n;
    return 0;
}

/* Stores one byte. hlen never passes header_bytes, which never passes
 * max_header_bytes, so a buffer of that size is always enough. */
static int store_header_byte(multipart_parser *p, char c) {
    if (p->hlen == p->hcap) {
        size_t cap = p->hcap ? p->hcap * 2 : HEADER_FIRST_CAP;
        if (p->hcap > SIZE_MAX / 2 || cap > p->max_header_bytes) cap = p->max_header_bytes;
        char *b = realloc(p->hbuf, cap);
        if (!b) return MULTIPART_NOMEM;
        p->hbuf = b;
        p->hcap = cap;
    }
    p->hbuf[p->hlen++] = c;
    return 0;
}

/* A parameter value as found in a header line. */
typedef struct {
    char *ptr; /* NULL: absent */
    size_t len;
    bool quoted; /* ptr is the inside of a quoted-string, escapes still in */
} param_value;

/* Reads a token or quoted-string at *s; the line was checked byte by byte
 * already, so only the structure is left to check. */
static int read_param_value(char **s, const char *end, param_value *v) {
    char *r = *s;
    if (r < end && *r == '"') {
        char *q = ++r;
        while (q < end && *q != '"') {
            if (*q == '\\' && ++q == end) return -1; /* a quoted-pair cut short */
            q++;
        }
        if (q == end) return -1; /* unterminated */
        *v = (param_value){.ptr = r, .len = (size_t)(q - r), .quoted = true};
        *s = q + 1;
        return 0;
    }
    size_t t = token_len(r, end);
    if (!t) return -1;
    *v = (param_value){.ptr = r, .len = t, .quoted = false};
    *s = r + t;
    return 0;
}

/* Decodes a value in place and NUL-terminates it. The byte after a value (its
 * closing quote, ';', whitespace or the line's NUL) has been read by then, so
 * it may be overwritten. */
static void decode_plain(param_value *v) {
    size_t w = 0;
    for (size_t r = 0; r < v->len; r++) {
        if (v->quoted && v->ptr[r] == '\\') r++; /* read_param_value: never the last byte */
        v->ptr[w++] = v->ptr[r];
    }
    v->ptr[w] = '\0';
}

/* RFC 8187 ext-value: charset "'" [language] "'" *(pct-encoded / attr-char).
 * Only UTF-8: another charset would need converting, and a filename that
 * cannot be read right is worse than a refused request. */
static int decode_ext(param_value *v) {
    if (v->quoted) return -1;
    char *s = v->ptr, *end = v->ptr + v->len;
    char *q1 = memchr(s, '\'', v->len);
    if (!q1 || !ieq(s, (size_t)(q1 - s), "utf-8")) return -1;
    char *q2 = memchr(q1 + 1, '\'', (size_t)(end - q1 - 1));
    if (!q2) return -1;
    for (char *l = q1 + 1; l < q2; l++)
        if (!is_alnum((unsigned char)*l) && *l != '-') return -1;
    char *w = v->ptr;
    for (char *r = q2 + 1; r < end; r++) {
        unsigned char c = (unsigned char)*r;
        if (c == '%') {
            if (end - r < 3) return -1;
            int hi = hex_digit((unsigned char)r[1]), lo = hex_digit((unsigned char)r[2]);
            if (hi < 0 || lo < 0 || (hi | lo) == 0) return -1; /* %00: no NUL in a name */
            c = (unsigned char)(hi << 4 | lo);
            r += 2;
        } else if (!is_attr_char(c)) {
            return -1;
        }
        *w++ = (char)c;
    }
    *w = '\0';
    return 0;
}

/* Content-Disposition: form-data; name=...; filename=...; filename*=... */
static int parse_disposition(multipart_parser *p, char *s, char *end) {
    if (p->name_off != NO_OFFSET) return MULTIPART_BAD; /* a second one */
    size_t t = token_len(s, end);
    if (!ieq(s, t, "form-data")) return MULTIPART_BAD;
    s += t;
    param_value name = {0}, filename = {0}, filename_ext = {0};
    for (;;) {
        s += ows_len(s, end);
        if (s == end) break;
        if (*s != ';') return MULTIPART_BAD;
        s++;
        s += ows_len(s, end);
        char *pname = s;
        t = token_len(s, end);
        if (!t) return MULTIPART_BAD; /* also a trailing ';' */
        s += t;
        s += ows_len(s, end);
        if (s == end || *s != '=') return MULTIPART_BAD;
        s++;
        s += ows_len(s, end);
        param_value v;
        if (read_param_value(&s, end, &v) < 0) return MULTIPART_BAD;
        param_value *slot = ieq(pname, t, "name")        ? &name
                            : ieq(pname, t, "filename")  ? &filename
                            : ieq(pname, t, "filename*") ? &filename_ext
                                                         : NULL;
        if (!slot) continue;
        if (slot->ptr) return MULTIPART_BAD; /* RFC 6266 4.1: repeated parameter */
        *slot = v;
    }
    if (!name.ptr) return MULTIPART_BAD;
    decode_plain(&name);
    p->name_off = (size_t)(name.ptr - p->hbuf);
    if (filename_ext.ptr) {
        if (decode_ext(&filename_ext) < 0) return MULTIPART_BAD;
        p->filename_off = (size_t)(filename_ext.ptr - p->hbuf);
    } else if (filename.ptr) {
        decode_plain(&filename);
        p->filename_off = (size_t)(filename.ptr - p->hbuf);
    }
    return 0;
}

/* Content-Type: type "/" subtype, then parameters, passed on unparsed. */
static int parse_content_type(multipart_parser *p, char *s, char *end) {
    if (p->type_off != NO_OFFSET) return MULTIPART_BAD;
    size_t t = token_len(s, end);
    if (!t || s + t == end || s[t] != '/') return MULTIPART_BAD;
    char *r = s + t + 1;
    t = token_len(r, end);
    r += t;
    if (!t || (r < end && *r != ';' && !is_ows((unsigned char)*r))) return MULTIPART_BAD;
    *end = '\0'; /* trailing whitespace, or the line's own NUL */
    p->type_off = (size_t)(s - p->hbuf);
    return 0;
}

/* One complete header line, hbuf[line_start, hlen - 1), NUL at hlen - 1. */
static int parse_line(multipart_parser *p) {
    char *line = p->hbuf + p->line_start, *end = p->hbuf + p->hlen - 1;
    size_t t = token_len(line, end);
    if (!t || line + t == end || line[t] != ':') return MULTIPART_BAD; /* incl. space before ':' */
    char *v = line + t + 1;
    v += ows_len(v, end);
    while (end > v && is_ows((unsigned char)end[-1])) end--;
    if (ieq(line, t, "content-disposition")) return parse_disposition(p, v, end);
    if (ieq(line, t, "content-type")) return parse_content_type(p, v, end);
    return 0;
}

/* The boundary line ended with CRLF: a part starts. */
static int begin_headers(multipart_parser *p) {
    int rc = end_part(p);
    if (rc) return rc;
    if (p->parts >= p->max_parts) return MULTIPART_TOO_MANY_PARTS;
    p->parts++;
    p->hlen = p->header_bytes = 0;
    p->name_off = p->filename_off = p->type_off = NO_OFFSET;
    p->state = S_LINE_START;
    return 0;
}

/* The blank line ended the headers: announce the part, then its data. */
static int begin_data(multipart_parser *p) {
    if (p->name_off == NO_OFFSET) return MULTIPART_BAD;
    multipart_part part = {
        .name = p->hbuf + p->name_off,
        .filename = p->filename_off == NO_OFFSET ? NULL : p->hbuf + p->filename_off,
        .content_type = p->type_off == NO_OFFSET ? "text/plain" : p->hbuf + p->type_off,
    };
    p->in_part = true;
    p->state = S_DATA;
    p->matched = p->virt = 2; /* the blank line's CRLF may be the delimiter's */
    if (p->cb.part_begin && p->cb.part_begin(p->arg, &part)) return MULTIPART_STOPPED;
    return 0;
}

/* One byte of a header line, or the CR ending it. */
static int line_byte(multipart_parser *p, unsigned char c) {
    if (c == '\r') {
        p->state = S_LINE_LF;
        return 0;
    }
    if (!is_field_byte(c)) return MULTIPART_BAD;
    int rc = count_header_bytes(p, 1);
    return rc ? rc : store_header_byte(p, (char)c);
}

/* One byte outside the data: boundary line and header lines. */
static int step(multipart_parser *p, unsigned char c) {
    int rc;
    switch (p->state) {
    case S_AFTER_BOUNDARY:
        if (c == '-')
            p->state = S_CLOSE_DASH;
        else if (is_ows(c))
            p->state = S_PADDING;
        else if (c == '\r')
            p->state = S_BOUNDARY_LF;
        else
            return MULTIPART_BAD; /* the boundary inside a part */
        return 0;
    case S_CLOSE_DASH:
        if (c != '-') return MULTIPART_BAD;
        /* No parts at all: only as the whole body, the way browsers send an
         * empty form; after a preamble the sender lost something. */
        if (!p->parts && !p->opened) return MULTIPART_BAD;
        rc = end_part(p);
        return rc ? rc : MULTIPART_DONE;
    case S_PADDING:
        if (c == '\r')
            p->state = S_BOUNDARY_LF;
        else if (!is_ows(c))
            return MULTIPART_BAD;
        return 0;
    case S_BOUNDARY_LF:
        return c == '\n' ? begin_headers(p) : MULTIPART_BAD;
    case S_LINE_START:
        if (c == '\r') {
            p->state = S_BLANK_LF;
            return 0;
        }
        if (is_ows(c)) return MULTIPART_BAD; /* obs-fold (RFC 9112 5.2), or a first line so */
        p->line_start = p->hlen;
        p->state = S_LINE;
        return line_byte(p, c);
    case S_LINE:
        return line_byte(p, c);
    case S_LINE_LF:
        if (c != '\n') return MULTIPART_BAD;
        if ((rc = count_header_bytes(p, 2)) || (rc = store_header_byte(p, '\0'))) return rc;
        p->state = S_LINE_START;
        return parse_line(p);
    case S_BLANK_LF:
        return c == '\n' ? begin_data(p) : MULTIPART_BAD;
    default:
        return MULTIPART_BAD;
    }
}

multipart_parser *multipart_new(const char *boundary, const multipart_limits *lim,
                                const multipart_callbacks *cb, void *arg) {
    size_t blen = 0;
    while (blen <= MAX_BOUNDARY && boundary[blen]) blen++;
    if (!valid_boundary(boundary, blen)) return NULL;
    multipart_parser *p = malloc(sizeof *p);
    if (!p) return NULL;
    *p = (multipart_parser){
        .cb = cb ? *cb : (multipart_callbacks){0},
        .arg = arg,
        .max_header_bytes =
            lim && lim->max_header_bytes ? lim->max_header_bytes : DEFAULT_MAX_HEADER_BYTES,
        .max_parts = lim && lim->max_parts ? lim->max_parts : DEFAULT_MAX_PARTS,
        .state = S_DATA,
        /* The body is read as if it followed a CRLF: it may open with the
         * first boundary line. */
        .matched = 2,
        .virt = 2,
        .delim_len = DELIM_PREFIX + blen,
        .name_off = NO_OFFSET,
        .filename_off = NO_OFFSET,
        .type_off = NO_OFFSET,
    };
    memcpy(p->delim, "\r\n--", DELIM_PREFIX);
    memcpy(p->delim + DELIM_PREFIX, boundary, blen);
    return p;
}

int multipart_feed(multipart_parser *p, const char *data, size_t len) {
    size_t i = 0;
    while (!p->result && i < len) {
        size_t used = 1;
        int rc = p->state == S_DATA ? scan_data(p, data + i, len - i, &used)
                                    : step(p, (unsigned char)data[i]);
        i += used;
        p->result = rc;
    }
    return p->result;
}

int multipart_finish(multipart_parser *p) {
    if (!p->result) p->result = MULTIPART_BAD; /* truncated; and the body has ended for good */
    return p->result;
}

const char *multipart_error_text(int code) {
    switch (code) {
    case MULTIPART_MORE:
        return "multipart body incomplete";
    case MULTIPART_DONE:
        return "multipart body complete";
    case MULTIPART_BAD:
        return "malformed multipart body";
    case MULTIPART_TOO_MANY_PARTS:
        return "too many parts in multipart body";
    case MULTIPART_HEADERS_TOO_LARGE:
        return "multipart part headers too large";
    case MULTIPART_STOPPED:
        return "multipart parsing stopped by the caller";
    case MULTIPART_NOMEM:
        return "out of memory parsing multipart body";
    default:
        return "unknown multipart result";
    }
}

void multipart_free(multipart_parser *p) {
    if (!p) return;
    free(p->hbuf);
    free(p);
}
