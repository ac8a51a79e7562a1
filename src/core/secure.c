/* secure.c - comparisons of secrets whose time does not depend on where the
 * inputs differ, so that a client timing answers learns nothing about a
 * token, a signature or a password hash byte by byte. */
#include <chopin/base.h>

bool chopin_secure_equal(const void *a, size_t a_len, const void *b, size_t b_len) {
    const volatile unsigned char *x = a, *y = b;
    /* Walk the whole of b (the attacker's side) whatever a's length, so the
     * time depends only on what the attacker already knows. */
    unsigned char diff = a_len != b_len;
    for (size_t i = 0; i < b_len; i++) diff |= (unsigned char)((i < a_len ? x[i] : 0) ^ y[i]);
    return diff == 0;
}
