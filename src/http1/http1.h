/* http1 - the HTTP/1.x request parser (RFC 9112). Internal to libchopin.
 *
 * Owns: turning bytes into a request head made of views into those bytes
 * (zero-copy), and decoding chunked bodies in place. Never allocates, never
 * does I/O, never answers: it returns a result and the engine answers.
 *
 * Result convention for both entry points:
 *   > 0   done; the number of bytes consumed
 *   0     incomplete; call again with the same buffer plus more bytes
 *   < 0   invalid; the negated HTTP status to answer (-400, -414, -431, ...)
 *
 * Decisions (docs/http.md repeats them for users):
 * - Lines end with CRLF. A bare LF or a bare CR is rejected with 400 rather
 *   than tolerated: lenient line endings are a request-smuggling vector when a
 *   proxy in front reads them differently.
 * - Up to 8 empty lines before the request line are skipped (RFC 9112 2.2).
 * - obs-fold, whitespace before ':', Content-Length together with
 *   Transfer-Encoding, differing duplicate Content-Length, two
 *   Transfer-Encoding fields, a missing or repeated Host on HTTP/1.1: 400.
 * - Unknown but well-formed methods, and a transfer coding other than exactly
 *   "chunked": 501 (RFC 9112 6.1). HTTP versions other than 1.0/1.1: 505. */
#ifndef CHOPIN_HTTP1_H
#define CHOPIN_HTTP1_H

#include "chopin/base.h"

typedef struct {
    chopin_str name;
    chopin_str value;
} http1_header;

typedef struct {
    size_t max_request_line; /* longer request line: 414 */
    size_t max_header_bytes; /* longer head (request line + fields): 431 */
    size_t max_headers;      /* more fields: 431 */
} http1_limits;

typedef struct {
    chopin_method method;
    chopin_str method_name;
    chopin_str target;     /* as sent */
    chopin_str path;       /* origin path; for absolute-form the part after the authority */
    chopin_str query;      /* after '?', without it; ptr NULL if none */
    int minor_version;     /* 0 or 1 */
    http1_header *headers; /* caller-provided array of limits->max_headers entries */
    size_t num_headers;
    int64_t content_length; /* -1 when absent */
    bool chunked;
    bool keep_alive;
    bool expect_continue;
} http1_request;

/* Scan state carried between calls for one request, so that a head arriving
 * one byte at a time costs O(n) overall, not O(n^2). Zero it per request. */
typedef struct {
    size_t scanned;  /* bytes known to hold no end of head */
    bool line_ended; /* the request line's LF has been seen */
} http1_scan;

int http1_parse_request(const char *buf, size_t len, http1_scan *scan, const http1_limits *lim,
                        http1_request *req);

/* Chunked body decoder, in place: the decoded bytes are moved down to the
 * start of the body so the body ends up contiguous. */
typedef struct {
    size_t in;           /* read cursor, relative to the body start */
    size_t out;          /* decoded bytes so far (the body is [0, out)) */
    uint64_t chunk_left; /* data bytes left in the current chunk */
    int state;
    size_t line_bytes; /* bytes in the current size/extension/trailer line */
} http1_chunked;

/* buf is the body start, len the bytes available from it. Returns the bytes
 * consumed from buf (the whole chunked encoding, trailers included) when done,
 * 0 to wait for more, -400 on bad framing, -413 once the decoded size would
 * pass max_body. */
int64_t http1_decode_chunked(char *buf, size_t len, http1_chunked *st, size_t max_body);

/* An If-None-Match value lists etag ("..." or W/"..."), by the weak
 * comparison RFC 9110 13.1.2 asks for there; "*" lists every tag. */
bool http1_etag_listed(chopin_str header, const char *etag);

/* Case-insensitive comparison of a view with a lowercase ASCII literal. */
bool http1_name_eq(chopin_str name, const char *lower, size_t lower_len);

#endif
