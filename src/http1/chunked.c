/* chunked.c - chunked transfer coding (RFC 9112 7.1), decoded in place.
 *
 * Strict by design: exactly CRLF after each size line and after each chunk's
 * data; at most 16 hex digits of size; whitespace after the size only before
 * a ';' extension. Each of these has been the hinge of a smuggling attack when
 * a front proxy was lenient in a different way. */
#include "http1.h"

#include "../core/core.h"

#include <string.h>

enum {
    S_SIZE = 0, /* hex digits, at least one */
    S_SIZE_WS,  /* whitespace after the size: only ';' may follow */
    S_EXT,      /* chunk extension, ignored, up to CR */
    S_SIZE_LF,  /* LF ending the size line */
    S_DATA,     /* chunk_left data bytes */
    S_DATA_CR,  /* CR after the data */
    S_DATA_LF,  /* LF after the data */
    S_TRAILER,  /* start of a trailer line, or CR of the final empty line */
    S_TRAILER_LINE,
    S_TRAILER_LF,
    S_END_LF,
    S_DONE
};

#define MAX_SIZE_DIGITS 16
#define MAX_LINE_BYTES  4096 /* a size line with extensions, or one trailer line */

int64_t http1_decode_chunked(char *buf, size_t len, http1_chunked *st, size_t max_body) {
    while (st->in < len) {
        unsigned char c = (unsigned char)buf[st->in];
        switch (st->state) {
        case S_SIZE: {
            int h = hex_value(c);
            if (h >= 0) {
                if (++st->line_bytes > MAX_SIZE_DIGITS) return -400;
                st->chunk_left = st->chunk_left << 4 | (uint64_t)h;
                st->in++;
                break;
            }
            if (st->line_bytes == 0) return -400;
            if (st->chunk_left > max_body || st->out + st->chunk_left > max_body) return -413;
            if (c == '\r')
                st->state = S_SIZE_LF;
            else if (c == ';')
                st->state = S_EXT;
            else if (c == ' ' || c == '\t')
                st->state = S_SIZE_WS;
            else
                return -400;
            st->in++;
            break;
        }
        case S_SIZE_WS:
            if (c == ';')
                st->state = S_EXT;
            else if (c != ' ' && c != '\t')
                return -400;
            st->in++;
            break;
        case S_EXT:
            if (++st->line_bytes > MAX_LINE_BYTES) return -400;
            if (c == '\r')
                st->state = S_SIZE_LF;
            else if ((c < 0x20 && c != '\t') || c == 0x7f)
                return -400;
            st->in++;
            break;
        case S_SIZE_LF:
            if (c != '\n') return -400;
            st->in++;
            st->line_bytes = 0;
            st->state = st->chunk_left ? S_DATA : S_TRAILER;
            break;
        case S_DATA: {
            size_t avail = len - st->in;
            size_t n = st->chunk_left < avail ? (size_t)st->chunk_left : avail;
            if (st->out != st->in) memmove(buf + st->out, buf + st->in, n);
            st->out += n;
            st->in += n;
            st->chunk_left -= n;
            if (!st->chunk_left) st->state = S_DATA_CR;
            break;
        }
        case S_DATA_CR:
            if (c != '\r') return -400;
            st->in++;
            st->state = S_DATA_LF;
            break;
        case S_DATA_LF:
            if (c != '\n') return -400;
            st->in++;
            st->line_bytes = 0;
            st->state = S_SIZE;
            break;
        case S_TRAILER:
            if (c == '\r')
                st->state = S_END_LF;
            else if (c < 0x21 || c == 0x7f || c == ':')
                return -400; /* obs-fold or empty name */
            else {
                st->state = S_TRAILER_LINE;
                st->line_bytes = 1;
            }
            st->in++;
            break;
        case S_TRAILER_LINE:
            if (++st->line_bytes > MAX_LINE_BYTES) return -400;
            if (c == '\r')
                st->state = S_TRAILER_LF;
            else if ((c < 0x20 && c != '\t') || c == 0x7f)
                return -400;
            st->in++;
            break;
        case S_TRAILER_LF:
            if (c != '\n') return -400;
            st->in++;
            st->state = S_TRAILER;
            break;
        case S_END_LF:
            if (c != '\n') return -400;
            st->in++;
            st->state = S_DONE;
            return (int64_t)st->in;
        default:
            return (int64_t)st->in;
        }
    }
    return 0;
}
