/* url.c - percent-decoding for path parameters and query strings. */
#include "router.h"

#include "../core/core.h"

size_t url_decode(char *out, const char *in, size_t len, bool form) {
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '%' && i + 2 < len) {
            int hi = hex_value((unsigned char)in[i + 1]), lo = hex_value((unsigned char)in[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out[o++] = (char)(hi << 4 | lo);
                i += 2;
                continue;
            }
        }
        out[o++] = (form && c == '+') ? ' ' : c;
    }
    return o;
}
