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
#include "json_read.h"

typedef struct {
    int status;
    size_t header_count;
    char **header_names; /* as sent */
    char **header_values;
    char *body; /* NUL-terminated for convenience; body_len is authoritative */
    size_t body_len;
    char *raw; /* the whole response as bytes */
    size_t raw_len;
    struct chopin_json_doc *json; /* the body parsed on the first chopin_test_json* call */
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

/* --- A test app and helpers ------------------------------------------------------
 *
 *   chopin_app *app = chopin_test_app();          // in-memory SQLite, test secret
 *   add_routes(app);                              // what main() registers
 *   char *token = chopin_test_signup(app, "ada@example.com", "a long password");
 *   chopin_test_response *r = chopin_test_call(app, "POST", "/posts", token,
 *                                              "{\"title\":\"Hi\"}");
 *   assert(r->status == 201);
 *   assert(!strcmp(chopin_test_json_str(r, "data.title"), "Hi"));
 *   chopin_test_response_free(r);
 *   free(token);
 *   chopin_app_free(app);                         // the upload folder goes too
 */

/* The settings of a test app: the defaults (not the environment, not .env),
 * ENVIRONMENT=test, DATABASE_URL=sqlite::memory: (CHOPIN_TEST_DATABASE_URL
 * in the environment overrides it: the same tests on PostgreSQL), a random
 * JWT_SECRET, no access log, LOG_LEVEL=warn, no login limits, API docs on.
 * UPLOAD_DIR is left for chopin_test_app to make. */
void chopin_test_config(chopin_config *cfg);
/* An app with chopin_test_config's settings and a fresh temporary
 * UPLOAD_DIR, removed with everything in it by chopin_app_free. Migrations
 * (DATABASE_MIGRATIONS, relative to the working directory) are applied
 * before the first request. NULL (with a message) on failure. */
chopin_app *chopin_test_app(void);
chopin_app *chopin_test_app_with(const chopin_config *cfg);

/* A request with an optional bearer token and JSON body (Content-Type set
 * when json is not NULL). */
chopin_test_response *chopin_test_call(chopin_app *app, const char *method, const char *target,
                                       const char *token, const char *json);

/* Signs a new account up through POST /api/auth/signup (username: the
 * email's part before '@') and returns its access token (free() it), or
 * NULL when the signup was refused. */
char *chopin_test_signup(chopin_app *app, const char *email, const char *password);
/* The same account with a role ("user", "admin" or "superuser"): signed
 * up, given the role in the database, signed in again for a token that
 * carries it. */
char *chopin_test_user(chopin_app *app, const char *email, const char *role);

/* JSON assertions by path into the body: "data.items[0].title" (a key
 * containing '.' or '[' cannot be reached). NULL / the fallback when the
 * body is not JSON, the path does not exist, or the value has another type. */
const chopin_json_value *chopin_test_json(chopin_test_response *r, const char *path);
const char *chopin_test_json_str(chopin_test_response *r, const char *path);
int64_t chopin_test_json_int(chopin_test_response *r, const char *path, int64_t fallback);
bool chopin_test_json_bool(chopin_test_response *r, const char *path, bool fallback);
/* Items of an array or members of an object; -1 when it is neither. */
long chopin_test_json_count(chopin_test_response *r, const char *path);

#endif
