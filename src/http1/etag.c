/* etag.c - If-None-Match's entity tags (RFC 9110 13.1.2), shared by the
 * static files and the response cache. */
#include "http1.h"

#include <string.h>

bool http1_etag_listed(chopin_str header, const char *etag) {
    /* Weak comparison: the opaque tags match, W/ on either side or none. */
    const char *opaque = etag[0] == 'W' && etag[1] == '/' ? etag + 2 : etag;
    size_t olen = strlen(opaque);
    for (size_t i = 0; header.ptr && i < header.len;) {
        while (i < header.len && (header.ptr[i] == ' ' || header.ptr[i] == ',')) i++;
        if (i < header.len && header.ptr[i] == '*') return true;
        if (i + 2 <= header.len && !memcmp(header.ptr + i, "W/", 2)) i += 2;
        size_t start = i;
        while (i < header.len && header.ptr[i] != ',') i++;
        size_t end = i;
        while (end > start && header.ptr[end - 1] == ' ') end--;
        if (end - start == olen && !memcmp(header.ptr + start, opaque, olen)) return true;
    }
    return false;
}
