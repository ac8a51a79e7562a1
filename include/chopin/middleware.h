/* chopin/middleware.h - middleware shipped with Chopin.
 *
 *   chopin_use(app, chopin_request_id_middleware());
 *   chopin_use(app, chopin_cors(&(chopin_cors_options){.allow_origins = "*"}));
 *   chopin_use(app, chopin_access_log());
 */
#ifndef CHOPIN_MIDDLEWARE_H
#define CHOPIN_MIDDLEWARE_H

#include "app.h"

/* X-Request-Id: kept from the request when it is 1..64 safe characters,
 * otherwise generated; echoed on the response; chopin_request_id() reads it. */
chopin_middleware chopin_request_id_middleware(void);

/* CORS. A preflight (OPTIONS with Origin and Access-Control-Request-Method) is
 * answered 204 here, before routing, so route middleware such as auth never
 * sees it. Strings are copied. */
typedef struct {
    const char *allow_origins;  /* "*" or a comma-separated list of exact origins */
    const char *allow_methods;  /* default "GET, POST, PUT, PATCH, DELETE, OPTIONS" */
    const char *allow_headers;  /* default "Authorization, Content-Type" */
    const char *expose_headers; /* default none */
    bool allow_credentials;     /* never combined with a literal "*" origin */
    int max_age_seconds;        /* preflight cache, default 600 */
} chopin_cors_options;
chopin_middleware chopin_cors(const chopin_cors_options *opts);

/* One structured line per request on stderr:
 *   ts=... level=info msg=request method=GET path=/x status=200 bytes=27 dur_us=41 rid=...
 * Query strings are not logged (they may hold secrets). */
chopin_middleware chopin_access_log(void);

#endif
