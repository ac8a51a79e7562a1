/* app.c - the application: registration, composition, dispatch, serving. */
#include "app_internal.h"
#include "../auth/auth_internal.h"
#include "../cache/cache_internal.h"
#include "../upload/upload_internal.h"

#include "chopin/async.h"
#include "chopin/auth.h"
#include "chopin/middleware.h"
#include "chopin/jwt.h"
#include "chopin/migrate.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void route_options_free(chopin_route_options *o);

struct app_owned {
    void *p;
    void (*destroy)(void *);
    struct app_owned *next;
};

static void mw_push(mw_list *l, chopin_middleware mw) {
    chopin_middleware *n = realloc(l->items, (l->count + 1) * sizeof *n);
    if (!n) abort();
    n[l->count++] = mw;
    l->items = n;
}

chopin_app *chopin_app_new_with(const chopin_config *cfg) {
    chopin_log_configure(cfg->log_level, cfg->log_format);
    chopin_app *app = calloc(1, sizeof *app);
    if (!app) return NULL;
    app->cfg = *cfg;
    char err[256];
    if (config_check_s3(&app->cfg, err, sizeof err)) {
        chopin_log(CHOPIN_LOG_ERROR, err, NULL);
        free(app);
        return NULL;
    }
    app->db = db_open(&app->cfg, err, sizeof err);
    if (!app->db) {
        chopin_log(CHOPIN_LOG_ERROR, err, NULL);
        free(app);
        return NULL;
    }
    app->cache = mem_cache_new(app->cfg.cache_max_bytes);
    bool redis_ok = !app->cfg.redis_url[0] ||
                    (app->redis = redis_backend_new(app->cfg.redis_url, app->cfg.redis_timeout_ms,
                                                    err, sizeof err));
    if (!app->cache || !redis_ok || app_jwt_init(app, err, sizeof err)) {
        if (!app->cache) snprintf(err, sizeof err, "out of memory");
        mem_cache_free(app->cache);
        redis_backend_free(app->redis);
        chopin_log(CHOPIN_LOG_ERROR, err, NULL);
        db_close(app->db);
        free(app);
        return NULL;
    }
    app->router = router_new();
    if (!app->router) {
        mem_cache_free(app->cache);
        redis_backend_free(app->redis);
        chopin_jwt_key_free(app->jwt_key);
        db_close(app->db);
        free(app);
        return NULL;
    }
    return app;
}

chopin_db *chopin_app_db(chopin_app *app) {
    return app->db;
}

chopin_app *chopin_app_new(void) {
    chopin_config cfg;
    char err[512];
    if (chopin_config_load(&cfg, ".env", err, sizeof err)) {
        chopin_log_configure(cfg.log_level, cfg.log_format); /* read before the bad one */
        chopin_log(CHOPIN_LOG_ERROR, err, NULL);
        return NULL;
    }
    return chopin_app_new_with(&cfg);
}

const chopin_config *chopin_app_config(const chopin_app *app) {
    return &app->cfg;
}

void chopin_app_free(chopin_app *app) {
    if (!app) return;
    if (app->test_worker) {
        worker_destroy(app->test_worker);
        free(app->test_worker);
        offload_pool_free(app->test_srv.offload);
    }
    for (size_t i = 0; i < app->num_routes; i++) {
        route_options_free(&app->routes[i]->opts);
        free(app->routes[i]->pattern);
        free(app->routes[i]->chain.items);
        free(app->routes[i]);
    }
    free(app->routes);
    for (size_t i = 0; i < app->mw.count; i++)
        if (app->mw.items[i].destroy) app->mw.items[i].destroy(app->mw.items[i].state);
    while (app->groups) {
        chopin_group *g = app->groups;
        for (size_t i = 0; i < g->mw.count; i++)
            if (g->mw.items[i].destroy) g->mw.items[i].destroy(g->mw.items[i].state);
        app->groups = g->next;
        free(g->prefix);
        free(g->mw.items);
        free(g);
    }
    free(app->mw.items);
    free(app->app_chain.items);
    router_free(app->router);
    db_close(app->db); /* after the workers: their connections went with them */
    chopin_jwt_key_free(app->jwt_key);
    openapi_docs_free(app->docs);
    while (app->owned) {
        struct app_owned *o = app->owned;
        app->owned = o->next;
        o->destroy(o->p);
        free(o);
    }
    mem_cache_free(app->cache);
    redis_backend_free(app->redis);
    metrics_free(app->metrics);
    free(app);
}

/* --- Registration -------------------------------------------------------------- */

void app_own(chopin_app *app, void *p, void (*destroy)(void *)) {
    struct app_owned *o = malloc(sizeof *o);
    if (!o) abort();
    *o = (struct app_owned){p, destroy, app->owned};
    app->owned = o;
}

static char *dup_or_null(const char *s) {
    char *d = s ? strdup(s) : NULL;
    if (s && !d) abort();
    return d;
}

/* The caller's options may live on its stack (a compound literal): the
 * entry keeps copies of the strings; models are static by construction. */
static void route_options_copy(chopin_route_options *dst, const chopin_route_options *src) {
    *dst = *src;
    dst->summary = dup_or_null(src->summary);
    dst->description = dup_or_null(src->description);
    dst->tags = dup_or_null(src->tags);
    dst->operation_id = dup_or_null(src->operation_id);
    dst->auth = dup_or_null(src->auth);
    dst->cache_vary = dup_or_null(src->cache_vary);
    for (size_t i = 0; i < CHOPIN_MAX_RESPONSES && src->responses[i].status; i++)
        dst->responses[i].description = dup_or_null(src->responses[i].description);
}

static void route_options_free(chopin_route_options *o) {
    free((char *)o->summary);
    free((char *)o->description);
    free((char *)o->tags);
    free((char *)o->operation_id);
    free((char *)o->auth);
    free((char *)o->cache_vary);
    for (size_t i = 0; i < CHOPIN_MAX_RESPONSES && o->responses[i].status; i++)
        free((char *)o->responses[i].description);
}

void app_add_route(chopin_app *app, chopin_group *g, chopin_method m, const char *pattern,
                   chopin_handler h, const chopin_route_options *opts) {
    if (app->composed) {
        chopin_log(CHOPIN_LOG_ERROR, "route registered after start: ignored", "route", pattern,
                   NULL);
        app->broken = true;
        return;
    }
    size_t plen = strlen(g ? g->prefix : "") + strlen(pattern) + 1;
    route_entry *r = calloc(1, sizeof *r);
    char *full = malloc(plen);
    route_entry **nr = realloc(app->routes, (app->num_routes + 1) * sizeof *nr);
    if (!r || !full || !nr) abort();
    snprintf(full, plen, "%s%s", g ? g->prefix : "", pattern);
    app->routes = nr;
    r->method = m;
    r->pattern = full;
    r->handler = h;
    r->group = g;
    r->index = app->num_routes;
    if (opts) route_options_copy(&r->opts, opts);
    app->routes[app->num_routes++] = r;
    char err[256];
    if (!h || (unsigned)m >= CHOPIN_METHOD_COUNT) {
        chopin_log(CHOPIN_LOG_ERROR, "a route needs a handler and a known method", "route", full,
                   NULL);
        app->broken = true;
    } else if (r->opts.auth && !chopin_auth_role_rank(r->opts.auth)) {
        chopin_log(CHOPIN_LOG_ERROR, "unknown .auth role: roles are user, admin, superuser",
                   "route", full, "auth", r->opts.auth, NULL);
        app->broken = true;
    } else if (router_add(app->router, m, full, r, err, sizeof err)) {
        chopin_log(CHOPIN_LOG_ERROR, err, "route", full, NULL);
        app->broken = true;
    }
}

void chopin_route(chopin_app *app, chopin_method m, const char *pattern, chopin_handler h) {
    app_add_route(app, NULL, m, pattern, h, NULL);
}
void chopin_route_with(chopin_app *app, chopin_method m, const char *pattern, chopin_handler h,
                       const chopin_route_options *opts) {
    app_add_route(app, NULL, m, pattern, h, opts);
}
void chopin_get(chopin_app *app, const char *p, chopin_handler h) {
    chopin_route(app, CHOPIN_GET, p, h);
}
void chopin_post(chopin_app *app, const char *p, chopin_handler h) {
    chopin_route(app, CHOPIN_POST, p, h);
}
void chopin_put(chopin_app *app, const char *p, chopin_handler h) {
    chopin_route(app, CHOPIN_PUT, p, h);
}
void chopin_patch(chopin_app *app, const char *p, chopin_handler h) {
    chopin_route(app, CHOPIN_PATCH, p, h);
}
void chopin_delete(chopin_app *app, const char *p, chopin_handler h) {
    chopin_route(app, CHOPIN_DELETE, p, h);
}

void chopin_use(chopin_app *app, chopin_middleware mw) {
    mw_push(&app->mw, mw);
}

static chopin_group *group_new(chopin_app *app, chopin_group *parent, const char *prefix) {
    chopin_group *g = calloc(1, sizeof *g);
    size_t len = strlen(parent ? parent->prefix : "") + strlen(prefix) + 1;
    if (!g || !(g->prefix = malloc(len))) abort();
    snprintf(g->prefix, len, "%s%s", parent ? parent->prefix : "", prefix);
    g->app = app;
    g->parent = parent;
    g->next = app->groups;
    app->groups = g;
    return g;
}

chopin_group *chopin_group_new(chopin_app *app, const char *prefix) {
    return group_new(app, NULL, prefix);
}
chopin_group *chopin_group_sub(chopin_group *g, const char *prefix) {
    return group_new(g->app, g, prefix);
}
void chopin_group_use(chopin_group *g, chopin_middleware mw) {
    mw_push(&g->mw, mw);
}
void chopin_group_route(chopin_group *g, chopin_method m, const char *pattern, chopin_handler h) {
    app_add_route(g->app, g, m, pattern, h, NULL);
}
void chopin_group_route_with(chopin_group *g, chopin_method m, const char *pattern,
                             chopin_handler h, const chopin_route_options *opts) {
    app_add_route(g->app, g, m, pattern, h, opts);
}

bool app_has_route(const chopin_app *app, chopin_method m, const char *pattern) {
    for (size_t i = 0; i < app->num_routes; i++)
        if (app->routes[i]->method == m && !strcmp(app->routes[i]->pattern, pattern)) return true;
    return false;
}

/* The strictest auth a route's options, groups or the app's own middleware
 * ask for. */
static int route_auth_rank(const chopin_app *app, const route_entry *r) {
    int rank = r->opts.auth ? chopin_auth_role_rank(r->opts.auth) : -1;
    for (size_t i = 0; i < app->mw.count; i++) {
        int mw_rank = auth_middleware_rank(&app->mw.items[i]);
        if (mw_rank > rank) rank = mw_rank;
    }
    for (const chopin_group *g = r->group; g; g = g->parent)
        for (size_t i = 0; i < g->mw.count; i++) {
            int mw_rank = auth_middleware_rank(&g->mw.items[i]);
            if (mw_rank > rank) rank = mw_rank;
        }
    return rank;
}

size_t chopin_app_route_count(const chopin_app *app) {
    return app->num_routes;
}

bool chopin_app_route_at(const chopin_app *app, size_t i, chopin_route_info *out) {
    if (i >= app->num_routes) return false;
    const route_entry *r = app->routes[i];
    *out = (chopin_route_info){.method = r->method,
                               .pattern = r->pattern,
                               .options = &r->opts,
                               .auth_rank = route_auth_rank(app, r)};
    return true;
}

/* --- Composition ------------------------------------------------------------- */

static void compose_group(mw_list *out, const chopin_group *g) {
    if (!g) return;
    compose_group(out, g->parent); /* outer groups first */
    for (size_t i = 0; i < g->mw.count; i++) mw_push(out, g->mw.items[i]);
}

static bool app_uses(const chopin_app *app, const char *name) {
    for (size_t i = 0; i < app->mw.count; i++)
        if (app->mw.items[i].name && !strcmp(app->mw.items[i].name, name)) return true;
    return false;
}

int app_compose(chopin_app *app) {
    if (app->broken) return -1;
    if (app->composed) return 0;
    if (app->cfg.access_log) {
        /* Built-ins go first (outermost) unless the user placed them already. */
        if (!app_uses(app, "request_id")) mw_push(&app->app_chain, chopin_request_id_middleware());
        if (!app_uses(app, "access_log")) mw_push(&app->app_chain, chopin_access_log());
    }
    for (size_t i = 0; i < app->mw.count; i++) mw_push(&app->app_chain, app->mw.items[i]);
    if (app->cfg.auth_routes && !app->auth_mounted && chopin_auth_mount(app, NULL)) return -1;
    char err[512];
    if (openapi_mount(app, err, sizeof err)) {
        chopin_log(CHOPIN_LOG_ERROR, err, NULL);
        return -1;
    }
    if (!app_has_route(app, CHOPIN_GET, "/health")) health_mount(app);
    if (app->cfg.metrics && !app_has_route(app, CHOPIN_GET, "/metrics")) metrics_mount(app);
    if (app->broken) return -1;
    app->metrics = metrics_new(app->num_routes, app->cfg.workers);
    if (!app->metrics) return -1;
    for (size_t i = 0; i < app->num_routes; i++) {
        route_entry *r = app->routes[i];
        compose_group(&r->chain, r->group);
        if (r->opts.auth) mw_push(&r->chain, chopin_auth_role(r->opts.auth));
        r->auth_rank = route_auth_rank(app, r);
    }
    app->composed = true;
    return 0;
}

/* --- Dispatch ----------------------------------------------------------------- */

/* Runs a chain around fn: befores in order until one stops, fn if none did,
 * afters in reverse for every before that ran. */
static void run_chain(chopin_ctx *c, const mw_list *chain, void (*fn)(chopin_ctx *, void *),
                      void *arg) {
    size_t ran = 0;
    bool stopped = false;
    while (ran < chain->count) {
        const chopin_middleware *m = &chain->items[ran++];
        if (m->before && m->before(c, m->state) == CHOPIN_STOP) {
            stopped = true;
            break;
        }
    }
    if (!stopped && !c->status) fn(c, arg);
    while (ran > 0) {
        const chopin_middleware *m = &chain->items[--ran];
        if (m->after) m->after(c, m->state);
    }
}

/* The handler, then its database session's end: an open transaction rolled
 * back and a failure it left unanswered answered, before the route's
 * after-middleware sees the status. */
static void call_handler(chopin_ctx *c, void *arg) {
    route_entry *r = arg;
    if (r->opts.cache_seconds > 0)
        response_cache_run(c, &r->opts, r->auth_rank, r->handler);
    else
        r->handler(c);
    if (c->db_session) db_request_end(c);
}

static void set_allow(chopin_ctx *c, unsigned allow) {
    char buf[96];
    size_t n = 0;
    if (allow & (1u << CHOPIN_GET)) allow |= 1u << CHOPIN_HEAD;
    allow |= 1u << CHOPIN_OPTIONS;
    for (int m = 0; m < CHOPIN_METHOD_COUNT; m++) {
        if (!(allow & (1u << m))) continue;
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? ", " : "",
                              chopin_method_name((chopin_method)m));
    }
    chopin_set_headern(c, "Allow", 5, buf, n);
}

static void route_request(chopin_ctx *c, void *arg) {
    chopin_app *app = arg;
    const http1_request *req = c->req;
    router_lookup(app->router, req->method, req->path.ptr, req->path.len, &c->match);
    route_entry *r = c->match.route;
    if (r) {
        c->route = r;
        /* Most requests have neither: no call for them. */
        if ((c->match.num_params || c->req->query.len) && ctx_check_text(c)) return;
        if (r->chain.count)
            run_chain(c, &r->chain, call_handler, r);
        else
            call_handler(c, r);
        return;
    }
    if (req->method == CHOPIN_OPTIONS && (c->match.allow || chopin_str_eq(req->path, "*"))) {
        set_allow(c, c->match.allow ? c->match.allow : ~0u);
        chopin_send_status(c, 204);
        return;
    }
    if (c->match.allow) {
        set_allow(c, c->match.allow);
        chopin_error(c, 405, "METHOD_NOT_ALLOWED", "this path does not accept this method");
        return;
    }
    chopin_error(c, 404, "NOT_FOUND", "no route matches this path");
}

const void *chopin_route_data(const chopin_ctx *c) {
    const route_entry *r = c->route;
    return r ? r->opts.data : NULL;
}

int64_t app_stream_limit(const http1_request *req, void *arg) {
    chopin_app *app = arg;
    router_match m;
    router_lookup(app->router, req->method, req->path.ptr, req->path.len, &m);
    const route_entry *r = m.route;
    if (!r || !r->opts.stream_body) return -1;
    return r->opts.max_body_bytes ? (int64_t)r->opts.max_body_bytes
                                  : (int64_t)app->cfg.max_upload_bytes;
}

static uint64_t monotonic_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The request's row in the metrics: its route, or its method's unmatched row. */
static void record(chopin_app *app, chopin_ctx *c, uint64_t start_us) {
    const task *t = c->task;
    if (!t) return;
    int slot = t->w == app->test_worker ? 0 : t->w->id + 1;
    const route_entry *r = c->route;
    size_t row = r ? r->index : app->num_routes + (size_t)c->req->method;
    int status = c->status ? c->status : 500; /* unanswered: the engine's 500 */
    metrics_record(app->metrics, slot, row, status, monotonic_us() - start_us);
}

void app_handle(chopin_ctx *c, void *arg) {
    chopin_app *app = arg;
    uint64_t start_us = monotonic_us();
    c->start_us = (int64_t)start_us; /* the access log's start too: one clock read */
    c->db = app->db;
    c->app = app;
    if (app->app_chain.count)
        run_chain(c, &app->app_chain, route_request, app);
    else
        route_request(c, app);
    if (c->db_session) db_request_end(c); /* middleware used the database too */
    record(app, c, start_us);
}

/* --- Serving -------------------------------------------------------------------- */

/* DATABASE_AUTO_MIGRATE: pending migrations applied before the first
 * request. The default folder may well not exist (an app without
 * migrations); a folder named in DATABASE_MIGRATIONS must. */
static int auto_migrate(chopin_app *app) {
    const char *dir = app->cfg.database_migrations;
    if (!app->cfg.database_auto_migrate) return 0;
    if (!strcmp(dir, CHOPIN_DEFAULT_MIGRATIONS) && access(dir, F_OK) && errno == ENOENT) return 0;
    char err[512];
    int n = chopin_migrate(app, dir, err, sizeof err);
    if (n < 0) {
        chopin_log(CHOPIN_LOG_ERROR, "migrations failed", "error", err, NULL);
        return -1;
    }
    if (n) {
        char count[16];
        snprintf(count, sizeof count, "%d", n);
        chopin_log(CHOPIN_LOG_INFO, "migrations applied", "count", count, "folder", dir, NULL);
    }
    return 0;
}

int app_prepare(chopin_app *app) {
    if (app->prepared) return 0;
    if (app_compose(app) || auto_migrate(app)) return -1;
    app->prepared = true;
    return 0;
}

int chopin_app_start(chopin_app *app) {
    if (app->running || app_prepare(app)) return -1;
    /* Uploads cut off by a process that died left .part files: an hour old
     * is no upload in progress any more (another process may share the
     * folder during a restart). */
    local_clean_stale(app->cfg.upload_dir, 3600);
    app->srv.cfg = &app->cfg;
    app->srv.handle = app_handle;
    app->srv.handle_arg = app;
    app->srv.stream_limit = app_stream_limit;
    /* Set before the workers exist: handlers read it (GET /metrics), and
     * pthread_create orders this write before anything they do. Set after,
     * it would race with the first request. */
    app->running = true;
    if (server_start(&app->srv)) {
        app->running = false; /* no worker left running: server_start joined them */
        return -1;
    }
    return 0;
}

int chopin_app_port(const chopin_app *app) {
    return app->srv.port;
}

void chopin_app_stop(chopin_app *app) {
    if (app->running) server_stop(&app->srv);
}

int chopin_app_wait(chopin_app *app) {
    if (!app->running) return 1;
    server_wait(&app->srv);
    app->running = false;
    return 0;
}

/* What a person starting the server wants to see: the mode, where it
 * listens, where the docs and the probes are. The first line ends with the
 * URL (scripts read the port from it). */
static void print_banner(const chopin_app *app) {
    const chopin_config *cfg = &app->cfg;
    bool v6 = strchr(cfg->host, ':') != NULL;
    char url[300];
    snprintf(url, sizeof url, "http://%s%s%s:%d", v6 ? "[" : "", cfg->host, v6 ? "]" : "",
             app->srv.port);
    static const char *const env_names[] = {"development", "production", "test"};
    printf("chopin %s mode, %d workers, listening on %s\n",
           cfg->mode == CHOPIN_MODE_PERFORMANCE ? "performance" : "standard", app->srv.num_workers,
           url);
    printf("  environment %s, access log %s\n", env_names[cfg->environment],
           cfg->access_log ? "on" : "off");
    if (app->docs) printf("  docs     %s%s\n", url, cfg->api_docs_path);
    printf("  health   %s/health\n", url);
    if (cfg->metrics) printf("  metrics  %s/metrics\n", url);
}

int chopin_app_run(chopin_app *app) {
    /* Workers inherit this mask, so the signals reach only the sigwait below. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (chopin_app_start(app)) {
        chopin_log(CHOPIN_LOG_ERROR, "start-up failed", NULL);
        return 1;
    }
    print_banner(app);
    if (app->jwt_secret_generated)
        chopin_log(CHOPIN_LOG_WARN,
                   "JWT_SECRET is not set: tokens are signed with a random secret made now, and "
                   "die with this process (set it; production requires it)",
                   NULL);
    fflush(stdout);
    app_notify("READY=1");
    int sig;
    sigwait(&set, &sig);
    app_notify("STOPPING=1");
    chopin_app_stop(app);
    chopin_app_wait(app);
    chopin_log(CHOPIN_LOG_INFO, "stopped", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM", NULL);
    return 0;
}

static void add_worker_stats(const worker *w, chopin_stats *out) {
    out->coroutines += __atomic_load_n(&w->tasks_live, __ATOMIC_RELAXED);
    out->offload_pending += __atomic_load_n(&w->offload_pending, __ATOMIC_RELAXED);
}

void chopin_app_stats(chopin_app *app, chopin_stats *out) {
    memset(out, 0, sizeof *out);
    if (app->running)
        for (int i = 0; i < app->srv.num_workers; i++) add_worker_stats(&app->srv.workers[i], out);
    if (app->test_worker) add_worker_stats(app->test_worker, out);
}
