/* uuid.c - random version 4 UUIDs (RFC 9562), for generated keys and
 * stored file names. */
#include "core.h"

#include <sys/random.h>

int random_uuid(char out[37]) {
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* variant 10 */
    char hex[33];
    hex_encode(hex, b, sizeof b);
    size_t n = 0;
    for (size_t i = 0; i < 32; i++) {
        if (i == 8 || i == 12 || i == 16 || i == 20) out[n++] = '-';
        out[n++] = hex[i];
    }
    out[n] = 0;
    return 0;
}
