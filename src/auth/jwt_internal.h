/* jwt_internal.h - base64url (RFC 4648 section 5) as JWS uses it: no padding.
 * Internal to libchopin; the unit tests use it to forge tokens. */
#ifndef CHOPIN_JWT_INTERNAL_H
#define CHOPIN_JWT_INTERNAL_H

#include <stddef.h>
#include <sys/types.h>

/* Characters needed for n bytes, without padding. */
#define B64URL_ENCODED_LEN(n) ((n) / 3 * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))
/* Bytes that len characters can decode to, at most. */
#define B64URL_DECODED_MAX(len) ((len) / 4 * 3 + 2)

/* Writes the base64url of src[0..len) to out (B64URL_ENCODED_LEN(len) bytes,
 * no NUL) and returns that length. */
size_t b64url_encode(char *out, const void *src, size_t len);

/* Decodes src[0..len) into out (B64URL_DECODED_MAX(len) bytes) and returns
 * the decoded length, or -1. Strict: only A-Z a-z 0-9 - _, no '=', no
 * whitespace, no length of 4n+1, and the bits of the last character that
 * fall past the last byte must be zero. That last rule makes the encoding
 * one-to-one, so no two token texts carry the same bytes (otherwise a
 * "different" token could be made from a valid one without the key). */
ssize_t b64url_decode(unsigned char *out, const char *src, size_t len);

#endif
