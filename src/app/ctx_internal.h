/* ctx_internal.h - the request context, shared by the engine (which fills
 * the request side and serializes the response side) and the app (which
 * routes and runs handlers). Internal to libchopin. */
#ifndef CHOPIN_CTX_INTERNAL_H
#define CHOPIN_CTX_INTERNAL_H

#include "chopin/app.h"
#include "../core/core.h"
#include "../http1/http1.h"
#include "../json/json_internal.h"
#include "../router/router.h"

typedef struct resp_header resp_header;
struct resp_header {
    resp_header *next;
    chopin_str name, value; /* arena copies */
};

typedef struct {
    chopin_str name, value; /* decoded, arena copies */
} query_param;

struct chopin_ctx {
    /* Set by the engine for each request. */
    const http1_request *req;
    chopin_str body;
    size_t body_read;      /* chopin_body_read's place in body */
    chopin_arena *arena;   /* the worker's, reset after the response */
    chopin_buf_pool *pool; /* the worker's */
    const chopin_config *cfg;
    int64_t start_us; /* monotonic, for durations */

    /* Set by routing. */
    router_match match;
    void *route; /* the app's route entry */

    /* Parsed on demand. */
    bool query_parsed;
    size_t num_query;
    query_param *query;

    /* The response being built. */
    int status; /* 0 until answered */
    chopin_str content_type;
    resp_header *headers, *headers_tail;
    chopin_buf body_buf; /* response body, from the worker's pool */
    int file_fd;         /* -1, or a file to send after the head */
    int64_t file_off;    /* from this offset */
    int64_t file_len;    /* this many bytes */
    bool is_json;
    chopin_json json;

    chopin_str request_id;
    void *user;
    void *task; /* the engine's task this request runs in */

    /* The database (db module): the app's, this request's session, and the
     * backend state of a detached context (chopin_ctx_new). */
    struct chopin_db *db;
    struct db_session *db_session;
    void *db_detached;
    void *cache_detached; /* a detached context's Redis connection (src/cache/redis.c) */

    struct chopin_app *app;  /* set by the app's dispatch */
    const void *auth_claims; /* chopin_jwt_claims of a verified token (auth module) */
};

/* Resets c for a new request on the given worker resources. */
void ctx_init(chopin_ctx *c, chopin_arena *arena, chopin_buf_pool *pool, const chopin_config *cfg);
/* Splits "a=1&b=x+y" into decoded pairs in the arena ('+' is a space);
 * returns the count. The query string and form bodies share it. */
size_t ctx_parse_pairs(chopin_ctx *c, chopin_str text, query_param **out);
/* Before a handler: the path parameters and the query, once percent-decoded,
 * must be UTF-8 text without NUL (a C string cuts at NUL; JSON carries only
 * UTF-8). Otherwise answers 400 naming the parameter and returns -1. Only
 * values with a '%' are looked at: the parser lets no other byte through. */
int ctx_check_text(chopin_ctx *c);

/* Starts the one error envelope, {"success":false,"error":{"status","code",
 * "message","request_id"?, leaving the inner object open for more members (422 adds
 * "fields"); close it with two chopin_json_end and chopin_json_finish. */
chopin_json *ctx_error_open(chopin_ctx *c, int status, const char *code, const char *message);

/* Answers with len bytes of the open file fd from off (sendfile), which the
 * response now owns. */
void ctx_send_fd(chopin_ctx *c, int status, const char *content_type, int fd, int64_t off,
                 int64_t len);

/* Releases what the response held (body buffer, file descriptor). */
void ctx_finish(chopin_ctx *c);

#endif
