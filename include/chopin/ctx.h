/* chopin/ctx.h - what a handler sees: the request, and the ways to answer it.
 *
 * A chopin_ctx lives for one request. Everything it hands out (views, arena
 * memory) is valid until the response is finished; copy what must outlive it.
 * A handler answers exactly once, with one of the chopin_send* / chopin_json*
 * / chopin_error / chopin_redirect / chopin_send_file calls. A handler that
 * returns without answering gets a 500 error. */
#ifndef CHOPIN_CTX_H
#define CHOPIN_CTX_H

#include "base.h"
#include "json.h"

#include <sys/types.h> /* ssize_t */

typedef struct chopin_ctx chopin_ctx;
typedef void (*chopin_handler)(chopin_ctx *c);

/* --- The request ---------------------------------------------------------- */

chopin_method chopin_req_method(const chopin_ctx *c);
chopin_str chopin_req_path(const chopin_ctx *c);  /* raw path, without the query */
chopin_str chopin_req_query(const chopin_ctx *c); /* raw query string, without '?' */
chopin_str chopin_req_body(const chopin_ctx *c);  /* decoded (de-chunked) body */
/* The body a piece at a time, for every route: up to cap bytes into buf;
 * returns how many, 0 at the end, or -1 with errno ECANCELED / ETIMEDOUT
 * (the request is over), EMSGSIZE (past the route's limit: answer 413),
 * EPROTO (bad chunked framing: 400) or ECONNRESET (the client stopped
 * sending). On a route with .stream_body (chopin/app.h) the body is not read
 * before the handler runs: chopin_body_read takes it from the connection as
 * it arrives, suspending the handler while there is none, and
 * chopin_req_body is empty. Elsewhere it hands out the body already read. */
ssize_t chopin_body_read(chopin_ctx *c, void *buf, size_t cap);
/* True when this request's body is streamed (read with chopin_body_read). */
bool chopin_body_streamed(const chopin_ctx *c);
int chopin_req_http_minor(const chopin_ctx *c); /* 0 for HTTP/1.0, 1 for HTTP/1.1 */
/* A request header by case-insensitive name; the first one if repeated. */
chopin_str chopin_req_header(const chopin_ctx *c, const char *name);
size_t chopin_req_header_count(const chopin_ctx *c);
void chopin_req_header_at(const chopin_ctx *c, size_t i, chopin_str *name, chopin_str *value);
/* A path parameter (":id" or "*rest" in the route), percent-decoded. */
chopin_str chopin_param(const chopin_ctx *c, const char *name);
/* The .data of the route's options (chopin/app.h), or NULL. */
const void *chopin_route_data(const chopin_ctx *c);
/* A query parameter, percent-decoded ('+' is a space); the first if repeated.
 * The query string is parsed on the first call, not before. */
chopin_str chopin_query(chopin_ctx *c, const char *name);
/* The request id given by the request-id middleware (empty without it). */
chopin_str chopin_request_id(const chopin_ctx *c);
/* The client's IP address as text ("203.0.113.7", "2001:db8::1"; an IPv4
 * client on an IPv6 socket reads as IPv4), in the request arena; empty when
 * unknown (the in-process test client, or the client gone). This is the
 * TCP peer: behind a proxy, the proxy. */
chopin_str chopin_client_addr(chopin_ctx *c);

/* --- Request-scoped memory ------------------------------------------------ */

/* Memory freed in bulk when the request ends; NULL only if the system is out of memory. */
void *chopin_alloc(chopin_ctx *c, size_t size);
char *chopin_strdup(chopin_ctx *c, const char *s, size_t len); /* NUL-terminated copy */
/* One pointer of per-request user data, for middleware to hand values to handlers. */
void chopin_set_user(chopin_ctx *c, void *data);
void *chopin_user(const chopin_ctx *c);

/* --- The response ---------------------------------------------------------- */

/* Adds a response header (both copied). Server, Date, Content-Length,
 * Connection and Transfer-Encoding are the engine's and are refused (returns
 * -1); so are empty names, names holding ':', a space or a tab, and names or
 * values holding CR, LF or NUL (header injection). Content-Type replaces the
 * response's content type. */
int chopin_set_header(chopin_ctx *c, const char *name, const char *value);
int chopin_set_headern(chopin_ctx *c, const char *name, size_t name_len, const char *value,
                       size_t value_len);

void chopin_send(chopin_ctx *c, int status, const char *content_type, const void *body, size_t len);
void chopin_text(chopin_ctx *c, int status, const char *text); /* text/plain */
void chopin_send_status(chopin_ctx *c, int status);            /* no body */
void chopin_redirect(chopin_ctx *c, int status, const char *location);
/* Sends a regular file with sendfile(2); 404 error if it cannot be opened.
 * With a status that has no body (1xx, 204, 304) only the status is sent. */
void chopin_send_file(chopin_ctx *c, int status, const char *content_type, const char *path);

/* The one error envelope every Chopin error uses (the engine's own 400, 408,
 * 413, 431, 503 answers included):
 *   {"success":false,"error":{"status":404,"code":"NOT_FOUND","message":"...",
 *                             "request_id":"..."}}
 * code is a stable machine-readable word; message is for people; request_id
 * is there when the request_id middleware runs; a 422 adds "fields". */
void chopin_error(chopin_ctx *c, int status, const char *code, const char *message);

/* A JSON response written in place; see chopin/json.h. chopin_json_finish
 * sends it (a 500 error instead if the writer was misused). */
chopin_json *chopin_json_begin(chopin_ctx *c, int status);
void chopin_json_finish(chopin_json *j);
/* The same inside the success envelope: {"success":true,"data":<one value>}.
 * Write exactly one value (object, array or scalar), then chopin_json_finish,
 * which closes the envelope. chopin_json_model & co. use it. */
chopin_json *chopin_json_data_begin(chopin_ctx *c, int status);

/* True once the handler (or a middleware) has answered. */
bool chopin_responded(const chopin_ctx *c);
int chopin_response_status(const chopin_ctx *c); /* 0 until answered */

#endif
