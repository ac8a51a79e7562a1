/* chopin/testing.h - the in-process test client.
 *
 * Runs a request through the app's real parser, router, middleware, handler
 * and response writer, without sockets or threads, and returns the response
 * as the client would see it:
 *
 *   chopin_test_response *r = chopin_test_request(app, "GET", "/users/7", NULL, NULL, 0);
 *   assert(r->status == 200);
 *   chopin_test_response_free(r);
 */
#ifndef CHOPIN_TESTING_H
#define CHOPIN_TESTING_H

#include "app.h"

typedef struct {
    int status;
    size_t header_count;
    char **header_names; /* as sent */
    char **header_values;
    char *body; /* NUL-terminated for convenience; body_len is authoritative */
    size_t body_len;
    char *raw; /* the whole response as bytes */
    size_t raw_len;
} chopin_test_response;

/* headers: NULL or a NULL-terminated list of "Name: value" strings. Host and
 * Content-Length are added when absent. Returns NULL only on a malformed
 * response (a bug worth failing on). */
chopin_test_response *chopin_test_request(chopin_app *app, const char *method, const char *target,
                                          const char *const *headers, const void *body,
                                          size_t body_len);
/* Feeds raw bytes as they would arrive on a connection (pipelined requests
 * included) and returns everything the server wrote back, NUL-terminated. */
char *chopin_test_raw(chopin_app *app, const void *bytes, size_t len, size_t *out_len);
/* A response header by case-insensitive name, or NULL. */
const char *chopin_test_header(const chopin_test_response *r, const char *name);
void chopin_test_response_free(chopin_test_response *r);

#endif
