/* chopin/app.h - the application: configuration, routes, middleware, serving.
 *
 *   chopin_app *app = chopin_app_new();        // env + .env; NULL on bad config
 *   chopin_get(app, "/users/:id", get_user);
 *   return chopin_app_run(app);                 // serves until SIGINT/SIGTERM
 *
 * Routes and middleware are registered before the app starts; the router and
 * every route's middleware chain are composed once, at start. */
#ifndef CHOPIN_APP_H
#define CHOPIN_APP_H

#include "base.h"
#include "ctx.h"
#include "log.h"

typedef struct chopin_app chopin_app;
typedef struct chopin_group chopin_group;

#define CHOPIN_DEFAULT_MIGRATIONS "migrations"

typedef enum { CHOPIN_MODE_STANDARD, CHOPIN_MODE_PERFORMANCE } chopin_server_mode;
typedef enum { CHOPIN_ENV_DEVELOPMENT, CHOPIN_ENV_PRODUCTION, CHOPIN_ENV_TEST } chopin_environment;
typedef enum {
    CHOPIN_JWT_ALG_HS256,
    CHOPIN_JWT_ALG_RS256,
    CHOPIN_JWT_ALG_EDDSA
} chopin_jwt_algorithm;

/* Every setting, with its environment variable. docs/configuration.md is the
 * table of defaults. Sizes in bytes, times in milliseconds. */
typedef struct {
    char host[256];                  /* SERVER_HOST, 127.0.0.1 */
    int port;                        /* SERVER_PORT, 3000; 0 picks a free port */
    chopin_server_mode mode;         /* SERVER_MODE, standard | performance */
    int workers;                     /* CHOPIN_WORKERS, 0 = one per core */
    int max_connections;             /* CHOPIN_MAX_CONNECTIONS, 10000 */
    size_t max_request_line;         /* CHOPIN_MAX_REQUEST_LINE, 8 KiB -> 414 */
    size_t max_header_bytes;         /* CHOPIN_MAX_HEADER_BYTES, 16 KiB -> 431 */
    size_t max_headers;              /* CHOPIN_MAX_HEADERS, 100 -> 431 */
    size_t max_body_bytes;           /* CHOPIN_MAX_BODY_BYTES, 1 MiB -> 413 */
    size_t max_pending_output;       /* CHOPIN_MAX_PENDING_OUTPUT, 1 MiB: stop reading past it */
    int header_timeout_ms;           /* CHOPIN_HEADER_TIMEOUT, 10 s: whole head must arrive */
    int body_timeout_ms;             /* CHOPIN_BODY_TIMEOUT, 30 s: between body reads */
    int keepalive_timeout_ms;        /* CHOPIN_KEEPALIVE_TIMEOUT, 60 s idle */
    int write_timeout_ms;            /* CHOPIN_WRITE_TIMEOUT, 30 s without output progress */
    int shutdown_timeout_ms;         /* CHOPIN_SHUTDOWN_TIMEOUT, 10 s to finish in-flight */
    int request_timeout_ms;          /* CHOPIN_REQUEST_TIMEOUT, 30 s for a waiting handler -> 504 */
    size_t stack_size;               /* CHOPIN_STACK_SIZE, 256 KiB per handler coroutine */
    int offload_threads;             /* CHOPIN_OFFLOAD_THREADS, 0 = one per core */
    int offload_queue;               /* CHOPIN_OFFLOAD_QUEUE: jobs that may wait, then 503 */
    bool access_log;                 /* CHOPIN_ACCESS_LOG, on in standard mode */
    chopin_log_level log_level;      /* LOG_LEVEL, debug | info | warn | error (chopin/log.h) */
    chopin_log_format log_format;    /* LOG_FORMAT, text | json */
    bool metrics;                    /* METRICS, on: GET /metrics (Prometheus text) */
    /* SECURITY_HEADERS, on: every answer says X-Content-Type-Options: nosniff,
     * X-Frame-Options: DENY, Referrer-Policy: no-referrer (a handler's own
     * header of the same name wins). */
    bool security_headers;
    char database_url[1024];         /* DATABASE_URL, sqlite://chopin.db (see chopin/db.h) */
    int database_pool_size;          /* DATABASE_POOL_SIZE, 4 PostgreSQL connections per worker */
    int database_busy_timeout_ms;    /* DATABASE_BUSY_TIMEOUT, 5 s: SQLite lock wait -> 503 */
    int database_connect_timeout_ms; /* DATABASE_CONNECT_TIMEOUT, 5 s */
    char database_migrations[512];   /* DATABASE_MIGRATIONS, "migrations" (chopin/migrate.h) */
    bool database_auto_migrate;     /* DATABASE_AUTO_MIGRATE, true: pending ones applied at start */
    chopin_environment environment; /* ENVIRONMENT, development | production | test */
    /* AUTH_ROUTES, on: the account routes (chopin/auth.h) mounted under
     * /api/auth at start unless the app mounted them itself. */
    bool auth_routes;
    /* Tokens (chopin/jwt.h). HS256 signs with JWT_SECRET: in production at
     * least 32 bytes or start-up fails; in development a random one is made
     * (and said). RS256 / EdDSA sign with the private key file and verify
     * with it or with the public key file. */
    char jwt_secret[512];               /* JWT_SECRET, never logged */
    chopin_jwt_algorithm jwt_algorithm; /* JWT_ALGORITHM, HS256 | RS256 | EdDSA */
    char jwt_private_key_file[512];     /* JWT_PRIVATE_KEY_FILE (PEM) */
    char jwt_public_key_file[512];      /* JWT_PUBLIC_KEY_FILE (PEM) */
    int jwt_expiry_hours;               /* JWT_EXPIRY_HOURS, 24: access tokens */
    int jwt_refresh_expiry_days;        /* JWT_REFRESH_EXPIRY_DAYS, 30: refresh tokens */
    char jwt_issuer[128];               /* JWT_ISSUER, empty: no iss claim */
    char jwt_audience[128];             /* JWT_AUDIENCE, empty: no aud claim */
    int auth_login_limit_per_ip; /* AUTH_LOGIN_LIMIT_PER_IP, 30 a minute (signup too); 0: none */
    int auth_login_limit_per_account; /* AUTH_LOGIN_LIMIT_PER_ACCOUNT, 10 a minute; 0: none */
    size_t max_upload_bytes;          /* MAX_UPLOAD_SIZE, 100 MiB: bodies of .stream_body routes */
    char upload_dir[512];             /* UPLOAD_DIR, "uploads": chopin/upload.h's files */
    /* S3-compatible storage for uploads instead of UPLOAD_DIR, when S3_BUCKET is set. */
    char s3_bucket[256];            /* S3_BUCKET */
    char s3_region[64];             /* S3_REGION, "us-east-1" */
    char s3_endpoint[512];          /* S3_ENDPOINT, empty: AWS; "http://host:port": path-style */
    char s3_access_key_id[128];     /* S3_ACCESS_KEY_ID */
    char s3_secret_access_key[256]; /* S3_SECRET_ACCESS_KEY, never logged */
    char s3_prefix[256];            /* S3_PREFIX, keys under "<prefix>/" */
    char s3_public_url[512];        /* S3_PUBLIC_URL, where objects are public: file URLs */
    size_t cache_max_bytes; /* CACHE_MAX_BYTES, 64 MiB: the in-memory cache (chopin/cache.h) */
    /* REDIS_URL, empty: the cache in process memory. redis://[[user]:password@]host[:port][/db] or
     * unix:///path/redis.sock[?db=N]: the cache, revocations and login counters in Redis. */
    char redis_url[512];
    int redis_timeout_ms; /* REDIS_TIMEOUT, 1 s: connect and reply deadline, then a miss */
    /* The OpenAPI document and its docs page (chopin/openapi.h). */
    char api_title[128];         /* API_TITLE, "Chopin API" */
    char api_version[64];        /* API_VERSION, "1.0.0": the API's, not Chopin's */
    char api_description[1024];  /* API_DESCRIPTION, empty */
    char api_server_url[512];    /* API_SERVER_URL, empty: "/" (the server the page came from) */
    int api_docs;                /* API_DOCS, on | off; unset (-1): on except in production */
    char api_docs_path[128];     /* API_DOCS_PATH, "/api-docs" */
    char api_docs_assets[512];   /* API_DOCS_ASSETS, a swagger-ui-dist folder; empty: a CDN */
    char api_docs_username[128]; /* API_DOCS_USERNAME: with the password, HTTP Basic on the docs */
    char api_docs_password[256]; /* API_DOCS_PASSWORD, never logged */
} chopin_config;

/* Reads the environment, then a .env file in the working directory (the
 * environment wins). On a bad value logs "SETTING='value' is invalid:
 * expected ..." (the value left out for secrets) and returns NULL. */
chopin_app *chopin_app_new(void);
/* The same from an explicit config (chopin_config_defaults + your changes). */
chopin_app *chopin_app_new_with(const chopin_config *cfg);
void chopin_app_free(chopin_app *app);
const chopin_config *chopin_app_config(const chopin_app *app);

void chopin_config_defaults(chopin_config *cfg);
/* Fills cfg from defaults, then .env at env_path (may be NULL), then the
 * environment. Returns 0, or -1 with a message naming the setting in err. */
int chopin_config_load(chopin_config *cfg, const char *env_path, char *err, size_t err_len);

/* --- Routes ------------------------------------------------------------- */

/* Patterns: static segments, ":name" (one segment), "*name" (the rest, last
 * only). Registering the same method and pattern twice, or a malformed
 * pattern, aborts start-up with a message: it is a programming error. */
void chopin_route(chopin_app *app, chopin_method m, const char *pattern, chopin_handler h);
void chopin_get(chopin_app *app, const char *pattern, chopin_handler h);
void chopin_post(chopin_app *app, const char *pattern, chopin_handler h);
void chopin_put(chopin_app *app, const char *pattern, chopin_handler h);
void chopin_patch(chopin_app *app, const char *pattern, chopin_handler h);
void chopin_delete(chopin_app *app, const char *pattern, chopin_handler h);

/* --- Route options: what an operation is --------------------------------------
 *
 * Options describe a route for the OpenAPI document (chopin/openapi.h) and
 * may require a token. Models are referenced (keep them static, as
 * CHOPIN_MODEL makes them); everything else is copied at registration.
 *
 *   chopin_get_with(app, "/todos/:id", get_todo, .summary = "Get one todo", .tags = "todos",
 *                   .params = &todo_id_model, .auth = "user",
 *                   .responses = {{.status = 200, .model = &todo_model}, {.status = 404}});
 */
typedef struct chopin_model chopin_model;

typedef enum {
    CHOPIN_SHAPE_ONE = 0, /* data is one model (chopin_json_model) */
    CHOPIN_SHAPE_LIST,    /* data is an array of them (chopin_json_models) */
    CHOPIN_SHAPE_PAGE     /* data is {items,total,limit,offset} (chopin_json_page); the
                             operation also takes limit/offset/page/per_page */
} chopin_response_shape;

typedef struct {
    int status;                /* 0 ends the list */
    const chopin_model *model; /* the data in the success envelope; NULL: a 2xx without a
                                  body schema (a 204, or a shape of the handler's own), a
                                  4xx/5xx with the error envelope */
    chopin_response_shape shape;
    const char *description; /* NULL: the status's reason phrase */
} chopin_response_doc;

#define CHOPIN_MAX_RESPONSES 8

typedef struct {
    const char *summary;
    const char *description;
    const char *tags;           /* comma-separated; NULL: the path's first static segment */
    const char *operation_id;   /* NULL: made from the method and the path */
    const chopin_model *body;   /* the request body, as chopin_bind reads it */
    const chopin_model *query;  /* query parameters, as chopin_bind_query reads them */
    const chopin_model *params; /* types of the :name path parameters (string otherwise) */
    chopin_response_doc responses[CHOPIN_MAX_RESPONSES];
    /* NULL: public. "user", "admin" or "superuser": a valid access token with
     * at least that role is required (401/403, as chopin_auth_role) and the
     * operation is documented as protected. */
    const char *auth;
    bool deprecated;
    bool hidden; /* left out of the document */
    /* Response caching (GET and HEAD; chopin/cache.h): a 200 answer is kept
     * for cache_seconds, keyed by path and query, and by the values of the
     * cache_vary request headers (comma-separated) and by the token's user
     * when cache_per_user; served with ETag (304 to If-None-Match) and
     * Cache-Control (private on protected or per-user routes).
     * chopin_cache_invalidate drops them by path prefix. */
    int cache_seconds;
    const char *cache_vary;
    bool cache_per_user;
    /* The body is not read before the handler: it pulls it with
     * chopin_body_read as it arrives (uploads; chopin/upload.h), up to
     * max_body_bytes (0: MAX_UPLOAD_SIZE) instead of CHOPIN_MAX_BODY_BYTES.
     * A larger Content-Length is refused with 413 before the body is read. */
    bool stream_body;
    uint64_t max_body_bytes;
    /* Anything the handler needs that is the route's own (a folder, a
     * store): chopin_route_data(c) gives it back. Not copied. */
    const void *data;
} chopin_route_options;

void chopin_route_with(chopin_app *app, chopin_method m, const char *pattern, chopin_handler h,
                       const chopin_route_options *opts);
void chopin_group_route_with(chopin_group *g, chopin_method m, const char *pattern,
                             chopin_handler h, const chopin_route_options *opts);
#define chopin_get_with(app, pattern, h, ...)                                                      \
    chopin_route_with(app, CHOPIN_GET, pattern, h, &(chopin_route_options){__VA_ARGS__})
#define chopin_post_with(app, pattern, h, ...)                                                     \
    chopin_route_with(app, CHOPIN_POST, pattern, h, &(chopin_route_options){__VA_ARGS__})
#define chopin_put_with(app, pattern, h, ...)                                                      \
    chopin_route_with(app, CHOPIN_PUT, pattern, h, &(chopin_route_options){__VA_ARGS__})
#define chopin_patch_with(app, pattern, h, ...)                                                    \
    chopin_route_with(app, CHOPIN_PATCH, pattern, h, &(chopin_route_options){__VA_ARGS__})
#define chopin_delete_with(app, pattern, h, ...)                                                   \
    chopin_route_with(app, CHOPIN_DELETE, pattern, h, &(chopin_route_options){__VA_ARGS__})

/* The route table, in registration order (the docs routes join at start). */
typedef struct {
    chopin_method method;
    const char *pattern;                 /* group prefixes included */
    const chopin_route_options *options; /* zeroes when none were given */
    /* What the route requires, from its options or its groups' auth
     * middleware: -1 public, 0 any valid token, 1 user, 2 admin, 3 superuser. */
    int auth_rank;
} chopin_route_info;
size_t chopin_app_route_count(const chopin_app *app);
/* false when i is out of range. */
bool chopin_app_route_at(const chopin_app *app, size_t i, chopin_route_info *out);

/* --- Middleware ------------------------------------------------------------ */

/* before runs ahead of the handler; it returns CHOPIN_NEXT to go on, or
 * answers the request and returns CHOPIN_STOP. after runs once the response
 * is decided (in reverse order), for every middleware whose before ran; it may
 * add headers. Either may be NULL. state is the middleware's own data. */
typedef enum { CHOPIN_NEXT = 0, CHOPIN_STOP = 1 } chopin_flow;
typedef struct {
    const char *name;
    chopin_flow (*before)(chopin_ctx *c, void *state);
    void (*after)(chopin_ctx *c, void *state);
    void *state;
    void (*destroy)(void *state); /* called by chopin_app_free; may be NULL */
} chopin_middleware;

/* App-level middleware runs for every request, before routing (so it sees
 * 404s, 405s and CORS preflights). */
void chopin_use(chopin_app *app, chopin_middleware mw);

/* A group shares a path prefix and middleware that runs after routing, for its
 * routes only. Groups nest. */
chopin_group *chopin_group_new(chopin_app *app, const char *prefix);
chopin_group *chopin_group_sub(chopin_group *g, const char *prefix);
void chopin_group_use(chopin_group *g, chopin_middleware mw);
void chopin_group_route(chopin_group *g, chopin_method m, const char *pattern, chopin_handler h);

/* --- Serving ------------------------------------------------------------- */

/* Starts the workers and serves until SIGINT or SIGTERM, then shuts down
 * gracefully. Prints a one-line banner with the URL to stdout. Returns the
 * process exit status (0 after a clean shutdown). */
int chopin_app_run(chopin_app *app);

/* main() in one call: with no arguments (or "serve") chopin_app_run; else
 * the app's commands, which the `chopin` tool runs for a project:
 *   routes | docs export [--format json|yaml] [--output FILE] |
 *   db migrate | db rollback [N] | db status | db reset [--force] |
 *   createsuperuser [--email E] [--username U] | help
 * Returns the exit status (2 for bad usage, and for a NULL app: a bad
 * setting was reported).
 *
 *   int main(int argc, char **argv) {
 *       chopin_app *app = chopin_app_new();
 *       if (app) add_routes(app);
 *       int rc = chopin_app_main(app, argc, argv);
 *       chopin_app_free(app);
 *       return rc;
 *   } */
int chopin_app_main(chopin_app *app, int argc, char **argv);

/* Non-blocking form, for tests and embedding: start, learn the bound port,
 * stop (graceful, same as SIGTERM) and wait. */
int chopin_app_start(chopin_app *app);
int chopin_app_port(const chopin_app *app);
void chopin_app_stop(chopin_app *app);
int chopin_app_wait(chopin_app *app);

#endif
