/* router - a radix tree of route patterns. Internal to libchopin.
 *
 * Owns: matching a path and method to a route, and the path parameters found
 * on the way. Patterns hold static text, ":name" (one segment) and "*name"
 * (the rest of the path, last). Static beats ":param" beats "*wildcard"; when
 * the best path match lacks the method, the lookup backtracks to find one
 * that has it before settling for 405.
 *
 * The tree is built single-threaded before the workers start and only read
 * afterwards, so lookups take no lock. */
#ifndef CHOPIN_ROUTER_H
#define CHOPIN_ROUTER_H

#include "chopin/base.h"

#define ROUTER_MAX_PARAMS 16

typedef struct router router;

typedef struct {
    chopin_str name;
    chopin_str raw; /* view into the path, still percent-encoded */
} router_param;

typedef struct {
    void *route;    /* the value registered for (method, pattern); NULL if none */
    unsigned allow; /* methods the matched path has (bit per chopin_method); 0: 404 */
    size_t num_params;
    router_param params[ROUTER_MAX_PARAMS];
} router_match;

router *router_new(void);
void router_free(router *r);
/* Returns 0, or -1 with a message in err for a malformed or duplicate pattern. */
int router_add(router *r, chopin_method m, const char *pattern, void *route, char *err,
               size_t err_len);
/* Fills match. A HEAD request falls back to the GET route. */
void router_lookup(const router *r, chopin_method m, const char *path, size_t len,
                   router_match *match);
/* Calls fn for every registered route (for composing middleware chains). */
void router_each(router *r, void (*fn)(void *route, void *arg), void *arg);

/* Percent-decoding (plus '+' as space when form is true) into out, which
 * holds at least len bytes. Invalid escapes are kept as they are. Returns the
 * decoded length. */
size_t url_decode(char *out, const char *in, size_t len, bool form);

#endif
