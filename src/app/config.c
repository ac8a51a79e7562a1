/* config.c - settings from defaults, a .env file and the environment.
 *
 * One table names every setting, its variable, its kind and its range, so
 * that parsing, validation and the error message are the same code for all.
 * The environment wins over .env (the usual dotenv rule): a deployment can
 * always override a checked-in file. */
#include "chopin/app.h"

#include "app_internal.h"

#include "../core/core.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum { K_HOST, K_INT, K_SIZE, K_MS, K_BOOL, K_SWITCH, K_TEXT, K_CHOICE } setting_kind;

typedef struct {
    const char *env;
    setting_kind kind;
    size_t offset;
    long long min, max;
    const char *const *choices; /* K_CHOICE: the names, in the enum's order, NULL-terminated */
} setting;

static const char *const modes[] = {"standard", "performance", NULL};
static const char *const environments[] = {"development", "production", "test", NULL};
static const char *const algorithms[] = {"HS256", "RS256", "EdDSA", NULL};
static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const log_formats[] = {"text", "json", NULL};

#define OFF(field) offsetof(chopin_config, field)
static const setting settings[] = {
    /* First: a later setting's error is then logged in the asked-for form. */
    {"LOG_LEVEL", K_CHOICE, OFF(log_level), 0, 0, log_levels},
    {"LOG_FORMAT", K_CHOICE, OFF(log_format), 0, 0, log_formats},
    {"SERVER_HOST", K_HOST, OFF(host), 0, 0, NULL},
    {"SERVER_PORT", K_INT, OFF(port), 0, 65535, NULL},
    {"SERVER_MODE", K_CHOICE, OFF(mode), 0, 0, modes},
    {"CHOPIN_WORKERS", K_INT, OFF(workers), 0, 1024, NULL},
    {"CHOPIN_MAX_CONNECTIONS", K_INT, OFF(max_connections), 1, 10000000, NULL},
    {"CHOPIN_MAX_REQUEST_LINE", K_SIZE, OFF(max_request_line), 64, 1 << 20, NULL},
    {"CHOPIN_MAX_HEADER_BYTES", K_SIZE, OFF(max_header_bytes), 256, 1 << 24, NULL},
    {"CHOPIN_MAX_HEADERS", K_SIZE, OFF(max_headers), 1, 10000, NULL},
    {"CHOPIN_MAX_BODY_BYTES", K_SIZE, OFF(max_body_bytes), 0, 1LL << 40, NULL},
    {"CHOPIN_MAX_PENDING_OUTPUT", K_SIZE, OFF(max_pending_output), 4096, 1LL << 32, NULL},
    {"CHOPIN_HEADER_TIMEOUT", K_MS, OFF(header_timeout_ms), 1, 3600000, NULL},
    {"CHOPIN_BODY_TIMEOUT", K_MS, OFF(body_timeout_ms), 1, 3600000, NULL},
    {"CHOPIN_KEEPALIVE_TIMEOUT", K_MS, OFF(keepalive_timeout_ms), 1, 3600000, NULL},
    {"CHOPIN_WRITE_TIMEOUT", K_MS, OFF(write_timeout_ms), 1, 3600000, NULL},
    {"CHOPIN_SHUTDOWN_TIMEOUT", K_MS, OFF(shutdown_timeout_ms), 0, 3600000, NULL},
    {"CHOPIN_ACCESS_LOG", K_BOOL, OFF(access_log), 0, 1, NULL},
    {"METRICS", K_BOOL, OFF(metrics), 0, 1, NULL},
    {"SECURITY_HEADERS", K_BOOL, OFF(security_headers), 0, 1, NULL},
    {"CHOPIN_REQUEST_TIMEOUT", K_MS, OFF(request_timeout_ms), 1, 86400000, NULL},
    {"CHOPIN_STACK_SIZE", K_SIZE, OFF(stack_size), 16 * 1024, 64LL << 20, NULL},
    {"CHOPIN_OFFLOAD_THREADS", K_INT, OFF(offload_threads), 0, 1024, NULL},
    {"CHOPIN_OFFLOAD_QUEUE", K_INT, OFF(offload_queue), 1, 1000000, NULL},
    {"DATABASE_URL", K_TEXT, OFF(database_url), 1, sizeof(((chopin_config *)0)->database_url) - 1,
     NULL},
    {"DATABASE_POOL_SIZE", K_INT, OFF(database_pool_size), 1, 1000, NULL},
    {"DATABASE_BUSY_TIMEOUT", K_MS, OFF(database_busy_timeout_ms), 0, 3600000, NULL},
    {"DATABASE_CONNECT_TIMEOUT", K_MS, OFF(database_connect_timeout_ms), 100, 600000, NULL},
    {"DATABASE_MIGRATIONS", K_TEXT, OFF(database_migrations), 1,
     sizeof(((chopin_config *)0)->database_migrations) - 1, NULL},
    {"DATABASE_AUTO_MIGRATE", K_BOOL, OFF(database_auto_migrate), 0, 1, NULL},
    {"AUTH_ROUTES", K_BOOL, OFF(auth_routes), 0, 1, NULL},
    {"ENVIRONMENT", K_CHOICE, OFF(environment), 0, 0, environments},
    {"JWT_SECRET", K_TEXT, OFF(jwt_secret), 0, sizeof(((chopin_config *)0)->jwt_secret) - 1, NULL},
    {"JWT_ALGORITHM", K_CHOICE, OFF(jwt_algorithm), 0, 0, algorithms},
    {"JWT_PRIVATE_KEY_FILE", K_TEXT, OFF(jwt_private_key_file), 0,
     sizeof(((chopin_config *)0)->jwt_private_key_file) - 1, NULL},
    {"JWT_PUBLIC_KEY_FILE", K_TEXT, OFF(jwt_public_key_file), 0,
     sizeof(((chopin_config *)0)->jwt_public_key_file) - 1, NULL},
    {"JWT_EXPIRY_HOURS", K_INT, OFF(jwt_expiry_hours), 1, 8760, NULL},
    {"JWT_REFRESH_EXPIRY_DAYS", K_INT, OFF(jwt_refresh_expiry_days), 1, 3650, NULL},
    {"JWT_ISSUER", K_TEXT, OFF(jwt_issuer), 0, sizeof(((chopin_config *)0)->jwt_issuer) - 1, NULL},
    {"JWT_AUDIENCE", K_TEXT, OFF(jwt_audience), 0, sizeof(((chopin_config *)0)->jwt_audience) - 1,
     NULL},
    {"AUTH_LOGIN_LIMIT_PER_IP", K_INT, OFF(auth_login_limit_per_ip), 0, 1000000, NULL},
    {"AUTH_LOGIN_LIMIT_PER_ACCOUNT", K_INT, OFF(auth_login_limit_per_account), 0, 1000000, NULL},
    {"MAX_UPLOAD_SIZE", K_SIZE, OFF(max_upload_bytes), 0, 1LL << 50, NULL},
    {"UPLOAD_DIR", K_TEXT, OFF(upload_dir), 1, sizeof(((chopin_config *)0)->upload_dir) - 1, NULL},
    {"S3_BUCKET", K_TEXT, OFF(s3_bucket), 0, sizeof(((chopin_config *)0)->s3_bucket) - 1, NULL},
    {"S3_REGION", K_TEXT, OFF(s3_region), 1, sizeof(((chopin_config *)0)->s3_region) - 1, NULL},
    {"S3_ENDPOINT", K_TEXT, OFF(s3_endpoint), 0, sizeof(((chopin_config *)0)->s3_endpoint) - 1,
     NULL},
    {"S3_ACCESS_KEY_ID", K_TEXT, OFF(s3_access_key_id), 0,
     sizeof(((chopin_config *)0)->s3_access_key_id) - 1, NULL},
    {"S3_SECRET_ACCESS_KEY", K_TEXT, OFF(s3_secret_access_key), 0,
     sizeof(((chopin_config *)0)->s3_secret_access_key) - 1, NULL},
    {"S3_PREFIX", K_TEXT, OFF(s3_prefix), 0, sizeof(((chopin_config *)0)->s3_prefix) - 1, NULL},
    {"S3_PUBLIC_URL", K_TEXT, OFF(s3_public_url), 0,
     sizeof(((chopin_config *)0)->s3_public_url) - 1, NULL},
    {"CACHE_MAX_BYTES", K_SIZE, OFF(cache_max_bytes), 64 * 1024, 1LL << 40, NULL},
    {"REDIS_URL", K_TEXT, OFF(redis_url), 0, sizeof(((chopin_config *)0)->redis_url) - 1, NULL},
    {"REDIS_TIMEOUT", K_MS, OFF(redis_timeout_ms), 1, 600000, NULL},
    {"API_TITLE", K_TEXT, OFF(api_title), 1, sizeof(((chopin_config *)0)->api_title) - 1, NULL},
    {"API_VERSION", K_TEXT, OFF(api_version), 1, sizeof(((chopin_config *)0)->api_version) - 1,
     NULL},
    {"API_DESCRIPTION", K_TEXT, OFF(api_description), 0,
     sizeof(((chopin_config *)0)->api_description) - 1, NULL},
    {"API_SERVER_URL", K_TEXT, OFF(api_server_url), 0,
     sizeof(((chopin_config *)0)->api_server_url) - 1, NULL},
    {"API_DOCS", K_SWITCH, OFF(api_docs), 0, 1, NULL},
    {"API_DOCS_PATH", K_TEXT, OFF(api_docs_path), 2,
     sizeof(((chopin_config *)0)->api_docs_path) - 1, NULL},
    {"API_DOCS_ASSETS", K_TEXT, OFF(api_docs_assets), 0,
     sizeof(((chopin_config *)0)->api_docs_assets) - 1, NULL},
    {"API_DOCS_USERNAME", K_TEXT, OFF(api_docs_username), 0,
     sizeof(((chopin_config *)0)->api_docs_username) - 1, NULL},
    {"API_DOCS_PASSWORD", K_TEXT, OFF(api_docs_password), 0,
     sizeof(((chopin_config *)0)->api_docs_password) - 1, NULL},
};

_Static_assert(sizeof(chopin_server_mode) == sizeof(int) &&
                   sizeof(chopin_environment) == sizeof(int) &&
                   sizeof(chopin_jwt_algorithm) == sizeof(int) &&
                   sizeof(chopin_log_level) == sizeof(int) &&
                   sizeof(chopin_log_format) == sizeof(int),
               "K_CHOICE stores an int");

/* AddressSanitizer's redzones make frames several times larger: the same
 * handlers need a bigger default stack in a sanitizer build. */
#ifdef CHOPIN_UNDER_ASAN
#define DEFAULT_STACK_SIZE (1024 * 1024)
#endif
#ifndef DEFAULT_STACK_SIZE
#define DEFAULT_STACK_SIZE (256 * 1024)
#endif

void chopin_config_defaults(chopin_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->host, "127.0.0.1");
    cfg->port = 3000;
    cfg->mode = CHOPIN_MODE_STANDARD;
    cfg->workers = 0;
    cfg->max_connections = 10000;
    cfg->max_request_line = 8 * 1024;
    cfg->max_header_bytes = 16 * 1024;
    cfg->max_headers = 100;
    cfg->max_body_bytes = 1024 * 1024;
    cfg->max_pending_output = 1024 * 1024;
    cfg->header_timeout_ms = 10000;
    cfg->body_timeout_ms = 30000;
    cfg->keepalive_timeout_ms = 60000;
    cfg->write_timeout_ms = 30000;
    cfg->shutdown_timeout_ms = 10000;
    cfg->access_log = true;
    cfg->log_level = CHOPIN_LOG_INFO;
    cfg->log_format = CHOPIN_LOG_TEXT;
    cfg->metrics = true;
    cfg->security_headers = true;
    cfg->request_timeout_ms = 30000;
    cfg->stack_size = DEFAULT_STACK_SIZE;
    cfg->offload_threads = 0;
    cfg->offload_queue = 1024;
    strcpy(cfg->database_url, "sqlite://chopin.db");
    cfg->database_pool_size = 4;
    cfg->database_busy_timeout_ms = 5000;
    cfg->database_connect_timeout_ms = 5000;
    strcpy(cfg->database_migrations, CHOPIN_DEFAULT_MIGRATIONS);
    cfg->database_auto_migrate = true;
    cfg->auth_routes = true;
    cfg->environment = CHOPIN_ENV_DEVELOPMENT;
    cfg->jwt_algorithm = CHOPIN_JWT_ALG_HS256;
    cfg->jwt_expiry_hours = 24;
    cfg->jwt_refresh_expiry_days = 30;
    cfg->auth_login_limit_per_ip = 30;
    cfg->auth_login_limit_per_account = 10;
    cfg->max_upload_bytes = 100 << 20;
    strcpy(cfg->upload_dir, "uploads");
    strcpy(cfg->s3_region, "us-east-1");
    cfg->cache_max_bytes = 64 << 20;
    cfg->redis_timeout_ms = 1000;
    strcpy(cfg->api_title, "Chopin API");
    strcpy(cfg->api_version, "1.0.0");
    cfg->api_docs = -1;
    strcpy(cfg->api_docs_path, "/api-docs");
}

/* A number with an optional unit; mult_units maps suffixes to multipliers. */
static int parse_number(const char *s, long long *out, setting_kind kind) {
    errno = 0;
    char *end;
    if (!isdigit((unsigned char)*s)) return -1;
    long long v = strtoll(s, &end, 10);
    if (errno) return -1;
    long long mult = 1;
    if (kind == K_SIZE) {
        if (!strcasecmp(end, "k") || !strcasecmp(end, "kb") || !strcasecmp(end, "kib"))
            mult = 1LL << 10;
        else if (!strcasecmp(end, "m") || !strcasecmp(end, "mb") || !strcasecmp(end, "mib"))
            mult = 1LL << 20;
        else if (!strcasecmp(end, "g") || !strcasecmp(end, "gb") || !strcasecmp(end, "gib"))
            mult = 1LL << 30;
        else if (*end && strcasecmp(end, "b"))
            return -1;
    } else if (kind == K_MS) {
        if (!strcmp(end, "s"))
            mult = 1000;
        else if (!strcmp(end, "m") || !strcmp(end, "min"))
            mult = 60000;
        else if (*end && strcmp(end, "ms"))
            return -1;
    } else if (*end) {
        return -1;
    }
    if (v > LLONG_MAX / mult) return -1;
    *out = v * mult;
    return 0;
}

static const char *expectation(const setting *s, char *buf, size_t len) {
    switch (s->kind) {
    case K_HOST:
        return "a host name or IP address (at most 255 bytes)";
    case K_CHOICE: {
        size_t n = 0, count = 0;
        while (s->choices[count]) count++;
        for (size_t i = 0; i < count; i++)
            n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s'%s'",
                                  !i              ? ""
                                  : i + 1 < count ? ", "
                                                  : " or ",
                                  s->choices[i]);
        return buf;
    }
    case K_TEXT:
        snprintf(buf, len, "text of %lld to %lld bytes", s->min, s->max);
        return buf;
    case K_BOOL:
    case K_SWITCH:
        return "true/false, on/off, yes/no or 1/0";
    case K_SIZE:
        snprintf(buf, len, "a size in bytes (suffix k, m or g allowed) between %lld and %lld",
                 s->min, s->max);
        return buf;
    case K_MS:
        snprintf(buf, len, "a duration in ms (suffix s or m allowed) between %lld and %lld ms",
                 s->min, s->max);
        return buf;
    default:
        snprintf(buf, len, "a whole number between %lld and %lld", s->min, s->max);
        return buf;
    }
}

static int parse_bool(const char *value, bool *out) {
    if (!strcasecmp(value, "1") || !strcasecmp(value, "true") || !strcasecmp(value, "on") ||
        !strcasecmp(value, "yes"))
        *out = true;
    else if (!strcasecmp(value, "0") || !strcasecmp(value, "false") || !strcasecmp(value, "off") ||
             !strcasecmp(value, "no"))
        *out = false;
    else
        return -1;
    return 0;
}

static int apply(chopin_config *cfg, const setting *s, const char *value) {
    char *field = (char *)cfg + s->offset;
    switch (s->kind) {
    case K_HOST:
        if (!*value || strlen(value) >= sizeof cfg->host) return -1;
        strcpy(cfg->host, value);
        return 0;
    case K_TEXT:
        if (strlen(value) < (size_t)s->min || strlen(value) > (size_t)s->max) return -1;
        strcpy(field, value);
        return 0;
    case K_CHOICE: /* the config's enums are int-sized, numbered as the names */
        for (int i = 0; s->choices[i]; i++)
            if (!strcmp(value, s->choices[i])) return *(int *)field = i, 0;
        return -1;
    case K_SWITCH: {
        bool on;
        if (parse_bool(value, &on)) return -1;
        *(int *)field = on;
        return 0;
    }
    case K_BOOL:
        return parse_bool(value, (bool *)field);
    default: {
        long long v;
        if (parse_number(value, &v, s->kind) || v < s->min || v > s->max) return -1;
        if (s->kind == K_SIZE)
            *(size_t *)field = (size_t)v;
        else
            *(int *)field = (int)v;
        return 0;
    }
    }
}

/* --- .env ---------------------------------------------------------------- */

typedef struct {
    char *key, *value;
} env_pair;

typedef struct {
    env_pair *pairs;
    size_t count;
} env_file;

static void env_file_free(env_file *f) {
    for (size_t i = 0; i < f->count; i++) free(f->pairs[i].key), free(f->pairs[i].value);
    free(f->pairs);
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n')) *--e = 0;
    return s;
}

/* Parses one line; returns 1 for a pair, 0 for blank/comment, -1 if malformed. */
static int parse_env_line(char *line, char **key, char **value) {
    char *s = trim(line);
    if (!*s || *s == '#') return 0;
    if (!strncmp(s, "export ", 7)) s = trim(s + 7);
    char *eq = strchr(s, '=');
    if (!eq) return -1;
    *eq = 0;
    char *k = trim(s), *v = trim(eq + 1);
    if (!*k) return -1;
    for (char *p = k; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_') return -1;
    size_t vl = strlen(v);
    if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
        v[vl - 1] = 0;
        v++;
    } else if (vl && (v[0] == '"' || v[0] == '\'')) {
        return -1; /* unterminated quote */
    } else {
        char *hash = strstr(v, " #");
        if (hash) *hash = 0, v = trim(v);
    }
    *key = k;
    *value = v;
    return 1;
}

static int env_file_load(env_file *f, const char *path, char *err, size_t err_len) {
    FILE *fp = fopen(path, "r");
    if (!fp) return 0; /* no .env is fine */
    /* Whole lines, however long (a PEM key, a long URL): a fixed buffer
     * would read the rest of a long one as a line of its own. */
    char *line = NULL;
    size_t line_cap = 0;
    int lineno = 0, rc = 0;
    while (getline(&line, &line_cap, fp) >= 0) {
        lineno++;
        char *k, *v;
        int r = parse_env_line(line, &k, &v);
        if (r == 0) continue;
        if (r < 0) {
            snprintf(err, err_len, "%s:%d: expected KEY=VALUE", path, lineno);
            rc = -1;
            break;
        }
        env_pair *np = realloc(f->pairs, (f->count + 1) * sizeof *np);
        if (!np) {
            rc = -1;
            snprintf(err, err_len, "out of memory");
            break;
        }
        f->pairs = np;
        f->pairs[f->count].key = strdup(k);
        f->pairs[f->count].value = strdup(v);
        f->count++;
    }
    free(line);
    fclose(fp);
    return rc;
}

static const char *env_file_get(const env_file *f, const char *key) {
    const char *found = NULL;
    for (size_t i = 0; i < f->count; i++)
        if (f->pairs[i].key && !strcmp(f->pairs[i].key, key)) found = f->pairs[i].value;
    return found; /* the last assignment wins, as in a shell */
}

/* S3_BUCKET needs its keys: without them every upload would fail at the
 * first request instead of the start. */
int config_check_s3(const chopin_config *cfg, char *err, size_t err_len) {
    if (!cfg->s3_bucket[0]) return 0;
    const char *missing = !cfg->s3_access_key_id[0]       ? "S3_ACCESS_KEY_ID"
                          : !cfg->s3_secret_access_key[0] ? "S3_SECRET_ACCESS_KEY"
                                                          : NULL;
    const char *e = cfg->s3_endpoint;
    if (!missing && e[0] && strncmp(e, "http://", 7) && strncmp(e, "https://", 8)) {
        snprintf(err, err_len,
                 "S3_ENDPOINT='%.64s' is invalid: expected http://host[:port] or "
                 "https://host[:port]",
                 e);
        return -1;
    }
    if (!missing) return 0;
    snprintf(err, err_len, "%s is missing: S3_BUCKET is set, so uploads go to S3 and need it",
             missing);
    return -1;
}

/* Settings that only make sense together. */
static int validate_docs(const chopin_config *cfg, char *err, size_t err_len) {
    const char *path = cfg->api_docs_path;
    if (path[0] != '/' || path[strlen(path) - 1] == '/' || strpbrk(path, ":*?#% ")) {
        snprintf(err, err_len,
                 "API_DOCS_PATH='%.64s' is invalid: expected a path like /api-docs (no trailing "
                 "slash, no : * ? # %% or spaces)",
                 path);
        return -1;
    }
    if (strchr(cfg->api_docs_username, ':')) {
        snprintf(err, err_len, "API_DOCS_USERNAME is invalid: expected no ':' (HTTP Basic)");
        return -1;
    }
    return 0;
}

int chopin_config_load(chopin_config *cfg, const char *env_path, char *err, size_t err_len) {
    chopin_config_defaults(cfg);
    env_file f = {0};
    if (env_path && env_file_load(&f, env_path, err, err_len)) {
        env_file_free(&f);
        return -1;
    }
    bool access_log_set = false;
    int rc = 0;
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        const setting *s = &settings[i];
        const char *v = getenv(s->env);
        if (!v) v = env_file_get(&f, s->env);
        if (!v) continue;
        if (s->offset == OFF(access_log)) access_log_set = true;
        if (apply(cfg, s, v)) {
            char why[160];
            if (s->offset == OFF(database_url) || s->offset == OFF(jwt_secret) ||
                s->offset == OFF(api_docs_password) || s->offset == OFF(redis_url) ||
                s->offset == OFF(s3_secret_access_key))
                snprintf(err, err_len, "%s (value not shown) is invalid: expected %s", s->env,
                         expectation(s, why, sizeof why));
            else
                snprintf(err, err_len, "%s='%.64s' is invalid: expected %s", s->env, v,
                         expectation(s, why, sizeof why));
            rc = -1;
            break;
        }
    }
    if (!rc && validate_docs(cfg, err, err_len)) rc = -1;
    /* Performance mode turns the access log off unless asked for explicitly. */
    if (!access_log_set && cfg->mode == CHOPIN_MODE_PERFORMANCE) cfg->access_log = false;
    env_file_free(&f);
    return rc;
}
