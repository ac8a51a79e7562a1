/* chopin/base.h - the few types every Chopin module shares.
 *
 * chopin_str is a view: a pointer and a length, not NUL-terminated, owned by
 * someone else (the connection's read buffer or the request arena). A view
 * handed to a handler stays valid until the handler's response is finished. */
#ifndef CHOPIN_BASE_H
#define CHOPIN_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    const char *ptr; /* NULL when the value is absent */
    size_t len;
} chopin_str;

#define CHOPIN_STR(literal) ((chopin_str){(literal), sizeof(literal) - 1})
#define CHOPIN_STR_NULL     ((chopin_str){NULL, 0})

static inline chopin_str chopin_str_c(const char *s) {
    return (chopin_str){s, s ? strlen(s) : 0};
}

static inline bool chopin_str_eq(chopin_str a, const char *s) {
    size_t n = strlen(s);
    return a.ptr && a.len == n && memcmp(a.ptr, s, n) == 0;
}

/* The methods Chopin routes. Any other syntactically valid method gets 501. */
typedef enum {
    CHOPIN_GET,
    CHOPIN_HEAD,
    CHOPIN_POST,
    CHOPIN_PUT,
    CHOPIN_DELETE,
    CHOPIN_PATCH,
    CHOPIN_OPTIONS,
    CHOPIN_METHOD_COUNT
} chopin_method;

const char *chopin_method_name(chopin_method m);

/* The reason phrase of an HTTP status ("Not Found"), "Unknown" if unlisted. */
const char *chopin_status_reason(int status);

/* True when the two byte strings are equal, in a time that depends only on
 * b_len: compare secrets (tokens, signatures, hashes) with it, the expected
 * value as a and what the client sent as b. */
bool chopin_secure_equal(const void *a, size_t a_len, const void *b, size_t b_len);

#endif
