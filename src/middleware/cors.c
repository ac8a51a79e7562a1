/* cors.c - Cross-Origin Resource Sharing (Fetch standard, CORS protocol).
 *
 * Runs as app middleware, before routing: a preflight is answered here and
 * never reaches route middleware (auth would reject it: browsers send no
 * credentials on a preflight). Origins are matched exactly. */
#include "chopin/middleware.h"

#include "../app/ctx_internal.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct {
    char *origins; /* "*" or ", "-separated exact origins */
    bool any_origin;
    char *methods, *headers, *expose;
    bool credentials;
    char max_age[16];
} cors_state;

static bool origin_allowed(const cors_state *s, chopin_str origin) {
    if (s->any_origin) return true;
    const char *p = s->origins;
    while (*p) {
        while (*p == ' ' || *p == ',') p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ') e++;
        if ((size_t)(e - p) == origin.len && memcmp(p, origin.ptr, origin.len) == 0) return true;
        p = e;
    }
    return false;
}

static void allow_origin(chopin_ctx *c, const cors_state *s, chopin_str origin) {
    if (s->any_origin && !s->credentials) {
        chopin_set_header(c, "Access-Control-Allow-Origin", "*");
    } else {
        chopin_set_headern(c, "Access-Control-Allow-Origin", 27, origin.ptr, origin.len);
        chopin_set_header(c, "Vary", "Origin");
    }
    if (s->credentials) chopin_set_header(c, "Access-Control-Allow-Credentials", "true");
}

static chopin_flow cors_before(chopin_ctx *c, void *state) {
    const cors_state *s = state;
    chopin_str origin = chopin_req_header(c, "Origin");
    if (!origin.ptr) return CHOPIN_NEXT;
    bool preflight = chopin_req_method(c) == CHOPIN_OPTIONS &&
                     chopin_req_header(c, "Access-Control-Request-Method").ptr;
    bool allowed = origin_allowed(s, origin);
    if (allowed) allow_origin(c, s, origin);
    if (!preflight) {
        if (allowed && s->expose) chopin_set_header(c, "Access-Control-Expose-Headers", s->expose);
        return CHOPIN_NEXT;
    }
    if (allowed) {
        chopin_set_header(c, "Access-Control-Allow-Methods", s->methods);
        chopin_set_header(c, "Access-Control-Allow-Headers", s->headers);
        chopin_set_header(c, "Access-Control-Max-Age", s->max_age);
    }
    /* A refused origin gets no CORS headers: the browser blocks the request. */
    chopin_send_status(c, 204);
    return CHOPIN_STOP;
}

static void cors_destroy(void *state) {
    cors_state *s = state;
    free(s->origins);
    free(s->methods);
    free(s->headers);
    free(s->expose);
    free(s);
}

static char *dup_or(const char *v, const char *fallback) {
    char *d = strdup(v ? v : fallback);
    if (!d) abort();
    return d;
}

chopin_middleware chopin_cors(const chopin_cors_options *o) {
    chopin_cors_options none = {0};
    if (!o) o = &none;
    cors_state *s = calloc(1, sizeof *s);
    if (!s) abort();
    s->origins = dup_or(o->allow_origins, "*");
    s->any_origin = strcmp(s->origins, "*") == 0;
    s->methods = dup_or(o->allow_methods, "GET, POST, PUT, PATCH, DELETE, OPTIONS");
    s->headers = dup_or(o->allow_headers, "Authorization, Content-Type");
    s->expose = o->expose_headers ? dup_or(o->expose_headers, "") : NULL;
    /* Credentials with a wildcard would let any site act as the user. */
    s->credentials = o->allow_credentials && !s->any_origin;
    snprintf(s->max_age, sizeof s->max_age, "%d",
             o->max_age_seconds > 0 ? o->max_age_seconds : 600);
    return (chopin_middleware){
        .name = "cors", .before = cors_before, .state = s, .destroy = cors_destroy};
}
