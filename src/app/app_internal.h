/* app_internal.h - the application object, shared by app.c (registration,
 * dispatch, serving) and the in-process test client. Internal. */
#ifndef CHOPIN_APP_INTERNAL_H
#define CHOPIN_APP_INTERNAL_H

#include "../db/db_internal.h"
#include "../engine/engine.h"

typedef struct {
    chopin_middleware *items;
    size_t count;
} mw_list;

typedef struct route_entry {
    chopin_method method;
    char *pattern;
    chopin_handler handler;
    chopin_group *group; /* NULL for app routes */
    mw_list chain;       /* composed at start: the group's middleware, outermost first */
    int auth_rank;       /* composed at start: chopin_route_info's */
    size_t index;        /* in the app's routes: its row in the metrics */
    /* Last: dispatch reads the fields above; only the docs read these. */
    chopin_route_options opts; /* strings owned by the entry (route_options_copy) */
} route_entry;

struct chopin_group {
    chopin_app *app;
    chopin_group *parent;
    char *prefix; /* the full prefix, parents included */
    mw_list mw;
    chopin_group *next; /* all groups of the app, for freeing */
};

struct chopin_app {
    chopin_config cfg;
    router *router;
    mw_list mw;        /* app-level, as registered by the user */
    mw_list app_chain; /* composed at start: built-ins first, then the user's */
    route_entry **routes;
    size_t num_routes;
    chopin_group *groups;
    bool composed;
    bool prepared;     /* composed and migrated (app_prepare) */
    bool auth_mounted; /* chopin_auth_mount ran: AUTH_ROUTES does not mount again */
    bool broken;       /* a route failed to register: start-up refuses */
    server srv;
    bool running;
    worker *test_worker;            /* the in-process test client's worker, made on first use */
    server test_srv;                /* its server: the same config and handler, no sockets */
    chopin_db *db;                  /* DATABASE_URL, connected lazily per worker */
    struct chopin_jwt_key *jwt_key; /* JWT_* (src/auth/keys.c) */
    bool jwt_secret_generated;      /* development without JWT_SECRET: said at start-up */
    struct openapi_docs *docs;      /* the document and the docs page (src/openapi) */
    struct mem_cache *cache;        /* chopin/cache.h's in-memory store (src/cache) */
    struct redis_backend *redis;    /* REDIS_URL's server instead, when set */
    struct app_owned *owned;        /* freed with the app (app_own) */
    struct app_metrics *metrics;    /* GET /metrics's counters, made at start (metrics.c) */
};

/* --- notify.c: READY=1 / STOPPING=1 to NOTIFY_SOCKET (systemd Type=notify) --- */
void app_notify(const char *state);

/* --- metrics.c: per-route counters and latency, GET /metrics ------------------ */

typedef struct app_metrics app_metrics;
/* Rows for num_routes routes plus unmatched requests, slots for the test
 * client's worker and `workers` server workers (0: one per core). */
app_metrics *metrics_new(size_t num_routes, int workers);
void metrics_free(app_metrics *m);
/* Called by the worker owning the slot (0: the test client's, id + 1: a
 * server worker's); row is a route's index, or num_routes + the method. */
void metrics_record(app_metrics *m, int slot, size_t row, int status, uint64_t dur_us);
/* GET /metrics, when METRICS is on and the app has no route of that name. */
void metrics_mount(chopin_app *app);
/* health.c: GET /health (readiness) and /health/live (liveness). */
void health_mount(chopin_app *app);
/* Whether a route with this method and pattern is registered. */
bool app_has_route(const chopin_app *app, chopin_method m, const char *pattern);

/* src/openapi/serve.c: registers the docs routes (API_DOCS) and builds what
 * they serve; called by app_compose before the chains are composed. 0, or
 * -1 with a message. openapi_docs_free takes NULL. */
int openapi_mount(chopin_app *app, char *err, size_t err_len);
void openapi_docs_free(struct openapi_docs *docs);

/* Hands p to the app: destroy(p) runs in chopin_app_free (route data). */
void app_own(chopin_app *app, void *p, void (*destroy)(void *));

/* Registration for the app's own routes (the docs). */
void app_add_route(chopin_app *app, chopin_group *g, chopin_method m, const char *pattern,
                   chopin_handler h, const chopin_route_options *opts);

/* config.c: settings that only make sense together, checked when the app
 * is made (S3_BUCKET needs its keys). 0, or -1 with a message. */
int config_check_s3(const chopin_config *cfg, char *err, size_t err_len);

/* src/auth/keys.c: the app's token key from JWT_*. 0, or -1 with a message. */
int app_jwt_init(chopin_app *app, char *err, size_t err_len);

/* Composes middleware chains once; later calls do nothing. Returns -1 if the
 * app cannot start (a bad route). */
int app_compose(chopin_app *app);
/* app_compose, then DATABASE_AUTO_MIGRATE's migrations: what serving and the
 * test client need before the first request. 0 or -1 (said in the log). */
int app_prepare(chopin_app *app);
/* The engine's question before reading a body: the route's streaming limit
 * (.stream_body), or -1 to read the body whole first. */
int64_t app_stream_limit(const http1_request *req, void *arg);
/* The engine's entry: app middleware, routing, route middleware, handler. */
void app_handle(chopin_ctx *c, void *arg);

#endif
