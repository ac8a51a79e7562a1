/* multipart - a streaming multipart/form-data parser (RFC 7578; the body
 * syntax of RFC 2046 5.1). Internal to libchopin.
 *
 * Owns: finding the parts of a form body fed in pieces of any size, parsing
 * each part's header lines, and handing the caller the part's name, filename
 * and type and then its bytes, through callbacks, in order. Never does I/O,
 * never touches the file system, never answers; it never holds a whole part:
 * its memory is the parser (the delimiter kept inline, under 100 bytes of
 * lookbehind) plus one part's header lines, at most max_header_bytes.
 *
 * The body, as this parser reads it:
 *   [preamble CRLF] "--" boundary padding CRLF part
 *   *( CRLF "--" boundary padding CRLF part )
 *   CRLF "--" boundary "--" [anything: the epilogue]
 *   part = *( header-line CRLF ) CRLF data
 * padding is spaces and tabs (transport padding). The body is read as if a
 * CRLF came before it, so a body may start with the first boundary line.
 *
 * Decisions:
 * - A delimiter (CRLF "--" boundary) must be followed by padding and CRLF or
 *   by "--": anything else is the boundary inside a part, and RFC 2046 says
 *   the sender must have chosen a boundary that never appears there. That is
 *   MULTIPART_BAD, not data: two readers must not split one body differently.
 * - The CRLF that ends a part's headers also counts as the CRLF of a
 *   delimiter, so a part whose data is empty may be sent with or without the
 *   blank line (RFC 2046: the body of a part is optional). The cost: a part's
 *   data cannot start with "--" boundary, which it may not contain anyway.
 * - A body that opens with the close delimiter is a form with no fields
 *   (browsers send that): MULTIPART_DONE without any callback. After a
 *   preamble, a close delimiter with no part before it is MULTIPART_BAD.
 * - Part headers: lines end with CRLF (a bare CR or LF is MULTIPART_BAD);
 *   names are tokens, compared case-insensitively; no space before ':';
 *   obsolete line folding, control characters and NUL are refused. Bytes
 *   0x80-0xFF are allowed: browsers send UTF-8 filenames raw.
 * - Content-Disposition is required, once, of type form-data, with one name
 *   parameter. name and filename are tokens or quoted-strings (backslash
 *   escapes undone). filename* (RFC 8187) must be UTF-8''percent-encoded and
 *   wins over filename (RFC 6266 4.3); %00 in it is refused. A repeated
 *   parameter, a trailing ';' or a parameter without a value is
 *   MULTIPART_BAD. Other parameters are checked for syntax and ignored.
 * - Content-Type, at most once, must start with type "/" subtype; it is
 *   passed on as sent (parameters included). Other headers are ignored,
 *   Content-Transfer-Encoding too (RFC 7578 4.7: senders must not use it).
 * - Filenames are passed on as sent: no path stripping, no charset check.
 *   Choosing a safe name to store under is the caller's job.
 * - A part counts against max_parts when its boundary line ends, before its
 *   headers are read. */
#ifndef CHOPIN_UPLOAD_MULTIPART_H
#define CHOPIN_UPLOAD_MULTIPART_H

#include <stddef.h>

/* One part, as part_begin sees it. The strings live in the parser and are
 * valid only during that call: copy what you keep. */
typedef struct {
    const char *name;     /* the form field's name (Content-Disposition name=), NUL-terminated */
    const char *filename; /* filename= as sent (RFC 7578 4.2; also filename*=UTF-8''... decoded),
                             NULL for a plain field */
    const char
        *content_type; /* the part's Content-Type, or "text/plain" when absent (RFC 7578 4.4) */
} multipart_part;

/* Each callback may be NULL. Any return other than 0 stops the parser:
 * multipart_feed returns MULTIPART_STOPPED then and for good. Callbacks must
 * not call back into the same parser. A part's calls are part_begin, zero or
 * more part_data (never with len 0), then part_end once its delimiter line is
 * complete; after an error part_end is not called for the open part. */
typedef struct {
    int (*part_begin)(void *arg, const multipart_part *part);  /* 0 goes on, -1 stops */
    int (*part_data)(void *arg, const char *data, size_t len); /* body bytes of the current part,
                                                                  in order, any chunking */
    int (*part_end)(void *arg);
} multipart_callbacks;

typedef struct {
    size_t max_header_bytes; /* all header lines of one part together, CRLFs included; 0: 8 KiB */
    size_t max_parts;        /* 0: 1000 */
} multipart_limits;

enum {
    MULTIPART_MORE = 0,
    MULTIPART_DONE = 1,
    MULTIPART_BAD = -1, /* malformed */
    MULTIPART_TOO_MANY_PARTS = -2,
    MULTIPART_HEADERS_TOO_LARGE = -3,
    MULTIPART_STOPPED = -4,
    MULTIPART_NOMEM = -5
};

/* The boundary parameter of a Content-Type value (multipart/form-data;
 * boundary=...; quoted or not, RFC 2046: 1..70 chars from the allowed set, no
 * trailing space), copied NUL-terminated to out. Returns 0, or -1 when it is
 * not multipart/form-data with one valid boundary or out (cap bytes) is too
 * small. Reads exactly len bytes of content_type. */
int multipart_boundary(const char *content_type, size_t len, char *out, size_t cap);

typedef struct multipart_parser multipart_parser;

/* boundary: NUL-terminated, as multipart_boundary gives it. lim and cb may be
 * NULL (defaults; no callbacks). Returns NULL for an invalid boundary or when
 * out of memory. */
multipart_parser *multipart_new(const char *boundary, const multipart_limits *lim,
                                const multipart_callbacks *cb, void *arg);

/* Feeds the next len bytes of the body (any split, even 1 byte at a time).
 * Returns MULTIPART_MORE (need more), MULTIPART_DONE (the close delimiter was
 * seen; bytes after it, the epilogue, are ignored) or an error (sticky: every
 * later call returns it). */
int multipart_feed(multipart_parser *p, const char *data, size_t len);

/* After the body ended: MULTIPART_DONE if the close delimiter was seen, the
 * error multipart_feed returned if there was one, else MULTIPART_BAD
 * (truncated). Final: multipart_feed returns the same from then on. */
int multipart_finish(multipart_parser *p);

/* A short English description of a result code, for logs. Never NULL. */
const char *multipart_error_text(int code);

void multipart_free(multipart_parser *p);

#endif
