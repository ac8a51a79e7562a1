/* test_config.c - chopin_config_load: defaults, every environment variable
 * (valid and invalid values, units), the .env file and its syntax, and the
 * performance-mode default for the access log. Criterion runs each test in
 * its own process, so setenv() here cannot leak into another test. */
#include <criterion/criterion.h>

#include "chopin.h"

#include "app/app_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Every variable of the settings table in src/app/config.c. */
static const char *const all_vars[] = {
    "SERVER_HOST",
    "SERVER_PORT",
    "SERVER_MODE",
    "CHOPIN_WORKERS",
    "CHOPIN_MAX_CONNECTIONS",
    "CHOPIN_MAX_REQUEST_LINE",
    "CHOPIN_MAX_HEADER_BYTES",
    "CHOPIN_MAX_HEADERS",
    "CHOPIN_MAX_BODY_BYTES",
    "CHOPIN_MAX_PENDING_OUTPUT",
    "CHOPIN_HEADER_TIMEOUT",
    "CHOPIN_BODY_TIMEOUT",
    "CHOPIN_KEEPALIVE_TIMEOUT",
    "CHOPIN_WRITE_TIMEOUT",
    "CHOPIN_SHUTDOWN_TIMEOUT",
    "CHOPIN_ACCESS_LOG",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "METRICS",
    "AUTH_ROUTES",
    "SECURITY_HEADERS",
    "CHOPIN_REQUEST_TIMEOUT",
    "CHOPIN_STACK_SIZE",
    "CHOPIN_OFFLOAD_THREADS",
    "CHOPIN_OFFLOAD_QUEUE",
    "DATABASE_URL",
    "DATABASE_POOL_SIZE",
    "DATABASE_BUSY_TIMEOUT",
    "DATABASE_CONNECT_TIMEOUT",
    "DATABASE_MIGRATIONS",
    "DATABASE_AUTO_MIGRATE",
    "ENVIRONMENT",
    "JWT_SECRET",
    "JWT_ALGORITHM",
    "JWT_PRIVATE_KEY_FILE",
    "JWT_PUBLIC_KEY_FILE",
    "JWT_EXPIRY_HOURS",
    "JWT_REFRESH_EXPIRY_DAYS",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
    "AUTH_LOGIN_LIMIT_PER_IP",
    "AUTH_LOGIN_LIMIT_PER_ACCOUNT",
    "MAX_UPLOAD_SIZE",
    "UPLOAD_DIR",
    "S3_BUCKET",
    "S3_REGION",
    "S3_ENDPOINT",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "S3_PREFIX",
    "S3_PUBLIC_URL",
    "CACHE_MAX_BYTES",
    "REDIS_URL",
    "REDIS_TIMEOUT",
    "API_TITLE",
    "API_VERSION",
    "API_DESCRIPTION",
    "API_SERVER_URL",
    "API_DOCS",
    "API_DOCS_PATH",
    "API_DOCS_ASSETS",
    "API_DOCS_USERNAME",
    "API_DOCS_PASSWORD",
};
#define NUM_VARS (sizeof all_vars / sizeof all_vars[0])

static char env_path[64];

static void clean_env(void) {
    for (size_t i = 0; i < NUM_VARS; i++) unsetenv(all_vars[i]);
}

static void teardown(void) {
    if (env_path[0]) unlink(env_path);
    clean_env();
}

TestSuite(config, .init = clean_env, .fini = teardown);

/* Writes text to a fresh temporary file; its path is in env_path. */
static const char *write_env_file(const char *text) {
    if (env_path[0]) unlink(env_path);
    strcpy(env_path, "/tmp/chopin-test-env-XXXXXX");
    int fd = mkstemp(env_path);
    cr_assert_geq(fd, 0);
    size_t len = strlen(text);
    cr_assert_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
    return env_path;
}

static void load_ok(chopin_config *cfg, const char *path) {
    char err[512] = "";
    int rc = chopin_config_load(cfg, path, err, sizeof err);
    cr_assert_eq(rc, 0, "chopin_config_load failed: %s", err);
}

/* Loads expecting failure; the message must contain each of the needles. */
static void load_fails(const char *path, const char *needle1, const char *needle2) {
    chopin_config cfg;
    char err[512] = "";
    int rc = chopin_config_load(&cfg, path, err, sizeof err);
    cr_assert_eq(rc, -1, "expected failure (%s)", needle1);
    cr_assert(strstr(err, needle1), "message '%s' lacks '%s'", err, needle1);
    if (needle2) cr_assert(strstr(err, needle2), "message '%s' lacks '%s'", err, needle2);
}

/* --- Defaults ------------------------------------------------------------- */

Test(config, defaults) {
    chopin_config d, cfg;
    chopin_config_defaults(&d);
    cr_assert_str_eq(d.host, "127.0.0.1");
    cr_assert_eq(d.port, 3000);
    cr_assert_eq(d.mode, CHOPIN_MODE_STANDARD);
    cr_assert_eq(d.workers, 0);
    cr_assert_eq(d.max_connections, 10000);
    cr_assert_eq(d.max_request_line, 8 * 1024);
    cr_assert_eq(d.max_header_bytes, 16 * 1024);
    cr_assert_eq(d.max_headers, 100);
    cr_assert_eq(d.max_body_bytes, 1024 * 1024);
    cr_assert_eq(d.max_pending_output, 1024 * 1024);
    cr_assert_eq(d.header_timeout_ms, 10000);
    cr_assert_eq(d.body_timeout_ms, 30000);
    cr_assert_eq(d.keepalive_timeout_ms, 60000);
    cr_assert_eq(d.write_timeout_ms, 30000);
    cr_assert_eq(d.shutdown_timeout_ms, 10000);
    cr_assert(d.access_log);

    /* Nothing set, no .env: the defaults. */
    memset(&cfg, 0x5a, sizeof cfg);
    load_ok(&cfg, NULL);
    cr_assert(memcmp(&cfg, &d, sizeof cfg) == 0);

    /* A .env path that does not exist is not an error. */
    memset(&cfg, 0x5a, sizeof cfg);
    load_ok(&cfg, "/tmp/chopin-no-such-dir/.env");
    cr_assert(memcmp(&cfg, &d, sizeof cfg) == 0);
}

/* --- Every variable, valid and invalid ----------------------------------------- */

/* F_TEXT: a char array (want unused: the value itself); F_ENUM: an enum
 * (int-sized) field; F_FLAG: a bool field other than access_log. */
typedef enum { F_HOST, F_INT, F_SIZE, F_MODE, F_BOOL, F_TEXT, F_ENUM, F_FLAG } field_kind;

typedef struct {
    const char *var;
    field_kind kind;
    size_t offset;
    const char *valid;
    long long want; /* F_HOST: unused (want the value itself); F_MODE: the enum */
    const char *invalid[6];
} var_case;

#define OFF(f) offsetof(chopin_config, f)

/* Longer than any text setting holds (1100 bytes). */
static const char too_long[] = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

static const var_case cases[] = {
    {"SERVER_HOST", F_HOST, OFF(host), "0.0.0.0", 0, {"", NULL}},
    {"SERVER_HOST", F_HOST, OFF(host), "::1", 0, {NULL}},
    {"SERVER_PORT", F_INT, OFF(port), "8080", 8080, {"65536", "-1", "abc", "80x", "", " 80"}},
    {"SERVER_PORT", F_INT, OFF(port), "0", 0, {"99999999999999999999", "8k", NULL}},
    {"SERVER_PORT", F_INT, OFF(port), "65535", 65535, {NULL}},
    {"SERVER_MODE", F_MODE, OFF(mode), "performance", CHOPIN_MODE_PERFORMANCE, {"fast", "", NULL}},
    {"SERVER_MODE", F_MODE, OFF(mode), "standard", CHOPIN_MODE_STANDARD, {NULL}},
    {"CHOPIN_WORKERS", F_INT, OFF(workers), "4", 4, {"1025", "-1", "four", "2.5", NULL}},
    {"CHOPIN_WORKERS", F_INT, OFF(workers), "0", 0, {NULL}},
    {"CHOPIN_MAX_CONNECTIONS", F_INT, OFF(max_connections), "500", 500, {"0", "10000001", NULL}},
    {"CHOPIN_MAX_REQUEST_LINE",
     F_SIZE,
     OFF(max_request_line),
     "4k",
     4096,
     {"63", "2m", "4q", NULL}},
    {"CHOPIN_MAX_REQUEST_LINE", F_SIZE, OFF(max_request_line), "1m", 1 << 20, {NULL}},
    {"CHOPIN_MAX_HEADER_BYTES", F_SIZE, OFF(max_header_bytes), "32K", 32768, {"255", "17m", NULL}},
    {"CHOPIN_MAX_HEADERS", F_SIZE, OFF(max_headers), "50", 50, {"0", "10001", "many", NULL}},
    {"CHOPIN_MAX_BODY_BYTES", F_SIZE, OFF(max_body_bytes), "10m", 10 << 20, {"2048g", "-5", NULL}},
    {"CHOPIN_MAX_BODY_BYTES", F_SIZE, OFF(max_body_bytes), "0", 0, {"1.5m", "1 m", NULL}},
    {"CHOPIN_MAX_BODY_BYTES", F_SIZE, OFF(max_body_bytes), "2g", 2LL << 30, {NULL}},
    {"CHOPIN_MAX_BODY_BYTES", F_SIZE, OFF(max_body_bytes), "512kb", 512 << 10, {NULL}},
    {"CHOPIN_MAX_BODY_BYTES", F_SIZE, OFF(max_body_bytes), "3MiB", 3 << 20, {NULL}},
    {"CHOPIN_MAX_BODY_BYTES", F_SIZE, OFF(max_body_bytes), "100b", 100, {NULL}},
    {"CHOPIN_MAX_PENDING_OUTPUT",
     F_SIZE,
     OFF(max_pending_output),
     "64k",
     65536,
     {"4095", "5g", "9223372036854775807g", NULL}},
    {"CHOPIN_HEADER_TIMEOUT", F_INT, OFF(header_timeout_ms), "5s", 5000, {"0", "2h", "61m", NULL}},
    {"CHOPIN_HEADER_TIMEOUT", F_INT, OFF(header_timeout_ms), "250ms", 250, {"1.5s", "s", NULL}},
    {"CHOPIN_HEADER_TIMEOUT", F_INT, OFF(header_timeout_ms), "1500", 1500, {"-1s", NULL}},
    {"CHOPIN_BODY_TIMEOUT", F_INT, OFF(body_timeout_ms), "2m", 120000, {"0ms", "3600001", NULL}},
    {"CHOPIN_BODY_TIMEOUT", F_INT, OFF(body_timeout_ms), "60m", 3600000, {NULL}},
    {"CHOPIN_KEEPALIVE_TIMEOUT", F_INT, OFF(keepalive_timeout_ms), "75s", 75000, {"0", "1d", NULL}},
    {"CHOPIN_WRITE_TIMEOUT", F_INT, OFF(write_timeout_ms), "10s", 10000, {"0s", "x", NULL}},
    {"CHOPIN_SHUTDOWN_TIMEOUT", F_INT, OFF(shutdown_timeout_ms), "0", 0, {"-1", "3601s", NULL}},
    {"CHOPIN_SHUTDOWN_TIMEOUT", F_INT, OFF(shutdown_timeout_ms), "1m", 60000, {NULL}},
    {"CHOPIN_ACCESS_LOG", F_BOOL, OFF(access_log), "off", 0, {"maybe", "", "2", NULL}},
    {"CHOPIN_ACCESS_LOG", F_BOOL, OFF(access_log), "no", 0, {NULL}},
    {"CHOPIN_ACCESS_LOG", F_BOOL, OFF(access_log), "0", 0, {NULL}},
    {"CHOPIN_ACCESS_LOG", F_BOOL, OFF(access_log), "FALSE", 0, {NULL}},
    {"CHOPIN_ACCESS_LOG", F_BOOL, OFF(access_log), "yes", 1, {NULL}},
    {"CHOPIN_ACCESS_LOG", F_BOOL, OFF(access_log), "On", 1, {NULL}},
    {"CHOPIN_ACCESS_LOG", F_BOOL, OFF(access_log), "true", 1, {NULL}},
    {"CHOPIN_ACCESS_LOG", F_BOOL, OFF(access_log), "1", 1, {NULL}},
    {"LOG_LEVEL", F_ENUM, OFF(log_level), "debug", CHOPIN_LOG_DEBUG, {"verbose", "", "INFO", NULL}},
    {"LOG_LEVEL", F_ENUM, OFF(log_level), "error", CHOPIN_LOG_ERROR, {NULL}},
    {"LOG_FORMAT", F_ENUM, OFF(log_format), "json", CHOPIN_LOG_JSON, {"xml", "", NULL}},
    {"LOG_FORMAT", F_ENUM, OFF(log_format), "text", CHOPIN_LOG_TEXT, {NULL}},
    {"METRICS", F_FLAG, OFF(metrics), "off", 0, {"maybe", NULL}},
    {"AUTH_ROUTES", F_FLAG, OFF(auth_routes), "off", 0, {"sometimes", NULL}},
    {"SECURITY_HEADERS", F_FLAG, OFF(security_headers), "off", 0, {"maybe", NULL}},
    {"CHOPIN_REQUEST_TIMEOUT", F_INT, OFF(request_timeout_ms), "2s", 2000, {"0", "25h", NULL}},
    {"CHOPIN_STACK_SIZE", F_SIZE, OFF(stack_size), "128k", 128 << 10, {"8k", "65m", NULL}},
    {"CHOPIN_OFFLOAD_THREADS", F_INT, OFF(offload_threads), "3", 3, {"-1", "1025", NULL}},
    {"CHOPIN_OFFLOAD_QUEUE", F_INT, OFF(offload_queue), "64", 64, {"0", "1000001", "x", NULL}},
    {"DATABASE_URL", F_TEXT, OFF(database_url), "postgres://u:p@db/app", 0, {"", NULL}},
    {"DATABASE_POOL_SIZE", F_INT, OFF(database_pool_size), "8", 8, {"0", "1001", "x", NULL}},
    {"DATABASE_BUSY_TIMEOUT", F_INT, OFF(database_busy_timeout_ms), "1s", 1000, {"-1", NULL}},
    {"DATABASE_CONNECT_TIMEOUT", F_INT, OFF(database_connect_timeout_ms), "2s", 2000, {"50", NULL}},
    {"DATABASE_MIGRATIONS", F_TEXT, OFF(database_migrations), "db/migrations", 0, {"", NULL}},
    {"DATABASE_AUTO_MIGRATE", F_FLAG, OFF(database_auto_migrate), "true", 1, {"sometimes", NULL}},
    {"ENVIRONMENT",
     F_ENUM,
     OFF(environment),
     "production",
     CHOPIN_ENV_PRODUCTION,
     {"prod", "", NULL}},
    {"ENVIRONMENT", F_ENUM, OFF(environment), "test", CHOPIN_ENV_TEST, {"Production", NULL}},
    {"JWT_SECRET",
     F_TEXT,
     OFF(jwt_secret),
     "0123456789abcdef0123456789abcdef",
     0,
     {too_long, NULL}},
    {"JWT_ALGORITHM",
     F_ENUM,
     OFF(jwt_algorithm),
     "RS256",
     CHOPIN_JWT_ALG_RS256,
     {"none", "hs256", "", NULL}},
    {"JWT_ALGORITHM", F_ENUM, OFF(jwt_algorithm), "EdDSA", CHOPIN_JWT_ALG_EDDSA, {"ES256", NULL}},
    {"JWT_PRIVATE_KEY_FILE",
     F_TEXT,
     OFF(jwt_private_key_file),
     "/etc/app/jwt.pem",
     0,
     {too_long, NULL}},
    {"JWT_PUBLIC_KEY_FILE",
     F_TEXT,
     OFF(jwt_public_key_file),
     "/etc/app/jwt.pub",
     0,
     {too_long, NULL}},
    {"JWT_EXPIRY_HOURS", F_INT, OFF(jwt_expiry_hours), "2", 2, {"0", "8761", NULL}},
    {"JWT_REFRESH_EXPIRY_DAYS", F_INT, OFF(jwt_refresh_expiry_days), "7", 7, {"0", "3651", NULL}},
    {"JWT_ISSUER", F_TEXT, OFF(jwt_issuer), "https://api.example.com", 0, {too_long, NULL}},
    {"JWT_AUDIENCE", F_TEXT, OFF(jwt_audience), "web", 0, {too_long, NULL}},
    {"AUTH_LOGIN_LIMIT_PER_IP",
     F_INT,
     OFF(auth_login_limit_per_ip),
     "0",
     0,
     {"-1", "1000001", "x", NULL}},
    {"AUTH_LOGIN_LIMIT_PER_ACCOUNT",
     F_INT,
     OFF(auth_login_limit_per_account),
     "5",
     5,
     {"-5", "five", NULL}},
    {"MAX_UPLOAD_SIZE", F_SIZE, OFF(max_upload_bytes), "2g", 2LL << 30, {"-1", "1e9", "2p", NULL}},
    {"UPLOAD_DIR", F_TEXT, OFF(upload_dir), "/var/lib/app/uploads", 0, {"", too_long, NULL}},
    {"S3_BUCKET", F_TEXT, OFF(s3_bucket), "media", 0, {too_long, NULL}},
    {"S3_REGION", F_TEXT, OFF(s3_region), "eu-west-3", 0, {"", too_long, NULL}},
    {"S3_ENDPOINT", F_TEXT, OFF(s3_endpoint), "http://127.0.0.1:4569", 0, {too_long, NULL}},
    {"S3_ACCESS_KEY_ID", F_TEXT, OFF(s3_access_key_id), "AKIDEXAMPLE", 0, {too_long, NULL}},
    {"S3_SECRET_ACCESS_KEY",
     F_TEXT,
     OFF(s3_secret_access_key),
     "wJalrXUtnFEMI",
     0,
     {too_long, NULL}},
    {"S3_PREFIX", F_TEXT, OFF(s3_prefix), "uploads", 0, {too_long, NULL}},
    {"S3_PUBLIC_URL", F_TEXT, OFF(s3_public_url), "https://cdn.example.com", 0, {too_long, NULL}},
    {"CACHE_MAX_BYTES", F_SIZE, OFF(cache_max_bytes), "256m", 256 << 20, {"64k1", "1k", "x", NULL}},
    {"REDIS_URL", F_TEXT, OFF(redis_url), "redis://:pw@cache:6379/1", 0, {too_long, NULL}},
    {"REDIS_TIMEOUT", F_INT, OFF(redis_timeout_ms), "250ms", 250, {"0", "11m", "soon", NULL}},
    {"API_TITLE", F_TEXT, OFF(api_title), "Todo API", 0, {"", too_long, NULL}},
    {"API_VERSION", F_TEXT, OFF(api_version), "2.1.0", 0, {"", too_long, NULL}},
    {"API_DESCRIPTION", F_TEXT, OFF(api_description), "Todos, with accounts", 0, {too_long, NULL}},
    {"API_SERVER_URL", F_TEXT, OFF(api_server_url), "https://api.example.com", 0, {too_long, NULL}},
    {"API_DOCS", F_ENUM, OFF(api_docs), "off", 0, {"sometimes", "", NULL}},
    {"API_DOCS", F_ENUM, OFF(api_docs), "on", 1, {NULL}},
    {"API_DOCS_PATH",
     F_TEXT,
     OFF(api_docs_path),
     "/internal/docs",
     0,
     {"api-docs", "/docs/", "/", "/docs/:x", too_long, NULL}},
    {"API_DOCS_ASSETS", F_TEXT, OFF(api_docs_assets), "/usr/share/swagger-ui", 0, {too_long, NULL}},
    {"API_DOCS_USERNAME", F_TEXT, OFF(api_docs_username), "docs", 0, {"a:b", too_long, NULL}},
    {"API_DOCS_PASSWORD", F_TEXT, OFF(api_docs_password), "hunter2hunter2", 0, {too_long, NULL}},
};
#define NUM_CASES (sizeof cases / sizeof cases[0])

static void check_field(const chopin_config *cfg, const var_case *c) {
    const char *field = (const char *)cfg + c->offset;
    switch (c->kind) {
    case F_HOST:
        cr_assert_str_eq(cfg->host, c->valid, "%s", c->var);
        break;
    case F_INT:
        cr_assert_eq(*(const int *)field, (int)c->want, "%s=%s", c->var, c->valid);
        break;
    case F_SIZE:
        cr_assert_eq(*(const size_t *)field, (size_t)c->want, "%s=%s: got %zu", c->var, c->valid,
                     *(const size_t *)field);
        break;
    case F_MODE:
        cr_assert_eq((long long)cfg->mode, c->want, "%s=%s", c->var, c->valid);
        break;
    case F_BOOL:
        cr_assert_eq(cfg->access_log, c->want != 0, "%s=%s", c->var, c->valid);
        break;
    case F_TEXT:
        cr_assert_str_eq(field, c->valid, "%s", c->var);
        break;
    case F_ENUM:
        cr_assert_eq(*(const int *)field, (int)c->want, "%s=%s", c->var, c->valid);
        break;
    case F_FLAG:
        cr_assert_eq(*(const bool *)field, c->want != 0, "%s=%s", c->var, c->valid);
        break;
    }
}

/* Every variable of the table is covered by at least one case, so a new
 * setting without a test shows up here. */
Test(config, cases_cover_every_variable) {
    for (size_t v = 0; v < NUM_VARS; v++) {
        bool valid = false, invalid = false;
        for (size_t i = 0; i < NUM_CASES; i++) {
            if (strcmp(cases[i].var, all_vars[v]) != 0) continue;
            valid = true;
            if (cases[i].invalid[0]) invalid = true;
        }
        cr_assert(valid && invalid, "%s lacks a valid or an invalid case", all_vars[v]);
    }
}

Test(config, every_variable_valid_from_environment) {
    for (size_t i = 0; i < NUM_CASES; i++) {
        const var_case *c = &cases[i];
        clean_env();
        setenv(c->var, c->valid, 1);
        chopin_config cfg, d;
        load_ok(&cfg, NULL);
        check_field(&cfg, c);
        /* Nothing else moved (the access log aside: SERVER_MODE may move it). */
        chopin_config_defaults(&d);
        char *field = (char *)&d + c->offset;
        if (c->kind == F_TEXT)
            strcpy(field, c->valid);
        else
            memcpy(field, (const char *)&cfg + c->offset,
                   c->kind == F_HOST                        ? sizeof d.host
                   : c->kind == F_SIZE                      ? sizeof(size_t)
                   : c->kind == F_BOOL || c->kind == F_FLAG ? sizeof(bool)
                   : c->kind == F_MODE                      ? sizeof d.mode
                                                            : sizeof(int));
        d.access_log = cfg.access_log;
        cr_assert(memcmp(&cfg, &d, sizeof d) == 0, "%s=%s changed another setting", c->var,
                  c->valid);
    }
}

Test(config, every_variable_invalid_is_rejected_by_name) {
    for (size_t i = 0; i < NUM_CASES; i++) {
        for (size_t k = 0; k < 6 && cases[i].invalid[k]; k++) {
            clean_env();
            setenv(cases[i].var, cases[i].invalid[k], 1);
            chopin_config cfg;
            char err[512] = "";
            int rc = chopin_config_load(&cfg, NULL, err, sizeof err);
            cr_assert_eq(rc, -1, "%s='%s' accepted", cases[i].var, cases[i].invalid[k]);
            cr_assert(strstr(err, cases[i].var), "%s='%s': message '%s' does not name it",
                      cases[i].var, cases[i].invalid[k], err);
        }
    }
}

Test(config, too_large_values_rejected) {
    /* Beyond LLONG_MAX, and LLONG_MAX itself times a unit. */
    static const char *const vars[] = {"CHOPIN_MAX_BODY_BYTES", "CHOPIN_HEADER_TIMEOUT",
                                       "SERVER_PORT"};
    static const char *const values[] = {"99999999999999999999", "9223372036854775807g",
                                         "9223372036854775807s", "9223372036854775807"};
    for (size_t v = 0; v < 3; v++)
        for (size_t i = 0; i < 4; i++) {
            clean_env();
            setenv(vars[v], values[i], 1);
            load_fails(NULL, vars[v], NULL);
        }
}

Test(config, host_length_limit) {
    char host[300];
    memset(host, 'h', 255);
    host[255] = 0;
    setenv("SERVER_HOST", host, 1);
    chopin_config cfg;
    load_ok(&cfg, NULL);
    cr_assert_str_eq(cfg.host, host);
    host[255] = 'h';
    host[256] = 0;
    setenv("SERVER_HOST", host, 1);
    load_fails(NULL, "SERVER_HOST", NULL);
}

/* A database URL and a JWT secret hold credentials: a bad one is named, its
 * value never shown. */
Test(config, secrets_are_never_echoed) {
    char long_url[1100], long_secret[600];
    snprintf(long_url, sizeof long_url, "postgres://admin:hunter2@db/%01000d", 0);
    memset(long_secret, 's', sizeof long_secret - 1);
    long_secret[sizeof long_secret - 1] = 0;
    memcpy(long_secret, "topsecret", 9);
    setenv("DATABASE_URL", long_url, 1);
    chopin_config cfg;
    char err[512] = "";
    cr_assert_eq(chopin_config_load(&cfg, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "DATABASE_URL (value not shown)"), "%s", err);
    cr_assert_null(strstr(err, "hunter2"), "%s", err);
    clean_env();
    setenv("JWT_SECRET", long_secret, 1);
    cr_assert_eq(chopin_config_load(&cfg, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "JWT_SECRET (value not shown)"), "%s", err);
    cr_assert_null(strstr(err, "topsecret"), "%s", err);
    clean_env();
    setenv("API_DOCS_PASSWORD", long_secret, 1);
    cr_assert_eq(chopin_config_load(&cfg, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "API_DOCS_PASSWORD (value not shown)"), "%s", err);
    cr_assert_null(strstr(err, "topsecret"), "%s", err);
    clean_env();
    setenv("REDIS_URL", long_url, 1);
    cr_assert_eq(chopin_config_load(&cfg, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "REDIS_URL (value not shown)"), "%s", err);
    cr_assert_null(strstr(err, "hunter2"), "%s", err);
}

Test(config, error_message_shows_value_and_expectation) {
    setenv("SERVER_PORT", "http", 1);
    load_fails(NULL, "SERVER_PORT", "'http'");
    clean_env();
    setenv("CHOPIN_MAX_BODY_BYTES", "lots", 1);
    load_fails(NULL, "CHOPIN_MAX_BODY_BYTES", "size");
    clean_env();
    setenv("CHOPIN_BODY_TIMEOUT", "soon", 1);
    load_fails(NULL, "CHOPIN_BODY_TIMEOUT", "duration");
}

/* --- Units ------------------------------------------------------------------- */

Test(config, size_suffixes) {
    static const struct {
        const char *v;
        size_t want;
    } sizes[] = {
        {"1", 1},        {"1b", 1},         {"1B", 1},         {"2k", 2048},
        {"2K", 2048},    {"2kb", 2048},     {"2KiB", 2048},    {"3m", 3 << 20},
        {"3M", 3 << 20}, {"3mb", 3 << 20},  {"3mib", 3 << 20}, {"1g", 1 << 30},
        {"1G", 1 << 30}, {"1gb", 1 << 30},  {"1GiB", 1 << 30}, {"1024g", 1ULL << 40},
        {"0k", 0},       {"007k", 7 << 10},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        clean_env();
        setenv("CHOPIN_MAX_BODY_BYTES", sizes[i].v, 1);
        chopin_config cfg;
        load_ok(&cfg, NULL);
        cr_assert_eq(cfg.max_body_bytes, sizes[i].want, "%s: got %zu", sizes[i].v,
                     cfg.max_body_bytes);
    }
    static const char *const bad[] = {"1t", "1kk", "k", "1 k", "1k ", "1e3", "0x10", "+1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clean_env();
        setenv("CHOPIN_MAX_BODY_BYTES", bad[i], 1);
        load_fails(NULL, "CHOPIN_MAX_BODY_BYTES", NULL);
    }
}

Test(config, duration_suffixes) {
    static const struct {
        const char *v;
        int want;
    } times[] = {
        {"1", 1},      {"1ms", 1},      {"250ms", 250},   {"1s", 1000},       {"90s", 90000},
        {"1m", 60000}, {"1min", 60000}, {"60m", 3600000}, {"3600s", 3600000},
    };
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        clean_env();
        setenv("CHOPIN_KEEPALIVE_TIMEOUT", times[i].v, 1);
        chopin_config cfg;
        load_ok(&cfg, NULL);
        cr_assert_eq(cfg.keepalive_timeout_ms, times[i].want, "%s: got %d", times[i].v,
                     cfg.keepalive_timeout_ms);
    }
    static const char *const bad[] = {"1h", "1sec", "1 s", "1.5s", "ms", "1mss", "3601s", "61m"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clean_env();
        setenv("CHOPIN_KEEPALIVE_TIMEOUT", bad[i], 1);
        load_fails(NULL, "CHOPIN_KEEPALIVE_TIMEOUT", NULL);
    }
}

/* --- .env --------------------------------------------------------------------- */

Test(config, env_file_syntax) {
    const char *path = write_env_file("# a comment line\n"
                                      "\n"
                                      "   \n"
                                      "SERVER_PORT=4000\n"
                                      "export CHOPIN_WORKERS=3\n"
                                      "SERVER_HOST=\"10.1.2.3\"\n"
                                      "SERVER_MODE='performance'\n"
                                      "CHOPIN_MAX_HEADERS=77 # an inline comment\n"
                                      "   CHOPIN_BODY_TIMEOUT = 7s   \n"
                                      "\t# an indented comment\n"
                                      "UNRELATED_SETTING=whatever the app reads itself\n"
                                      "CHOPIN_MAX_BODY_BYTES=1k\n"
                                      "CHOPIN_MAX_BODY_BYTES=2k\n"  /* the last one wins */
                                      "CHOPIN_WRITE_TIMEOUT=9s\r\n" /* CRLF */
                                      "CHOPIN_MAX_CONNECTIONS=12"); /* no final newline */
    chopin_config cfg;
    load_ok(&cfg, path);
    cr_assert_eq(cfg.port, 4000);
    cr_assert_eq(cfg.workers, 3);
    cr_assert_str_eq(cfg.host, "10.1.2.3");
    cr_assert_eq(cfg.mode, CHOPIN_MODE_PERFORMANCE);
    cr_assert_eq(cfg.max_headers, 77);
    cr_assert_eq(cfg.body_timeout_ms, 7000);
    cr_assert_eq(cfg.max_body_bytes, 2048);
    cr_assert_eq(cfg.write_timeout_ms, 9000);
    cr_assert_eq(cfg.max_connections, 12);
    cr_assert(!cfg.access_log, "performance mode from .env turns the access log off");
    /* Untouched settings keep their defaults. */
    cr_assert_eq(cfg.keepalive_timeout_ms, 60000);
    cr_assert_eq(cfg.max_request_line, 8192);
}

Test(config, env_file_quotes_protect_hash_and_spaces) {
    chopin_config cfg;
    load_ok(&cfg, write_env_file("SERVER_HOST=\"my host # not a comment\"\n"));
    cr_assert_str_eq(cfg.host, "my host # not a comment");
    load_ok(&cfg, write_env_file("SERVER_HOST='  spaced  '\n"));
    cr_assert_str_eq(cfg.host, "  spaced  ");
    load_ok(&cfg, write_env_file("SERVER_HOST=\"\"\nSERVER_HOST=last\n"));
    cr_assert_str_eq(cfg.host, "last");
    /* Quoted spaces are kept, so this is not a number. */
    load_fails(write_env_file("SERVER_PORT='  81  '\n"), "SERVER_PORT", NULL);
    /* '#' without a space before it is part of the value: not a number either. */
    load_fails(write_env_file("CHOPIN_WORKERS=5#comment\n"), "CHOPIN_WORKERS", NULL);
    /* An empty quoted value is empty, and empty is not a host. */
    load_fails(write_env_file("SERVER_HOST=\"\"\n"), "SERVER_HOST", NULL);
}

/* docs/configuration.md: a value that opens a quote must end with the same
 * quote, so a comment after a quoted value is an error (reported by file and
 * line), not silently part of the value. Many dotenv tools accept
 * KEY="value" # why; Chopin chose to refuse it. */
Test(config, env_file_comment_after_quoted_value_is_an_error) {
    static const char *const lines[] = {
        "SERVER_HOST=\"10.0.0.1\" # the primary",
        "SERVER_MODE='performance'   # for the benchmark",
        "CHOPIN_WORKERS='2'#right after the quote",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "SERVER_PORT=4000\n%s\n", lines[i]);
        const char *path = write_env_file(text);
        char where[96];
        snprintf(where, sizeof where, "%s:2", path);
        load_fails(path, where, "expected KEY=VALUE");
    }
}

Test(config, environment_wins_over_env_file) {
    const char *path = write_env_file("SERVER_PORT=4000\nCHOPIN_WORKERS=3\n");
    setenv("SERVER_PORT", "5000", 1);
    chopin_config cfg;
    load_ok(&cfg, path);
    cr_assert_eq(cfg.port, 5000, "the environment overrides .env");
    cr_assert_eq(cfg.workers, 3, ".env still fills what the environment leaves");

    /* An invalid .env value is not checked when the environment overrides it... */
    path = write_env_file("SERVER_PORT=not-a-port\n");
    load_ok(&cfg, path);
    cr_assert_eq(cfg.port, 5000);
    /* ...but is reported, by name, when it is used. */
    unsetenv("SERVER_PORT");
    load_fails(path, "SERVER_PORT", NULL);
}

Test(config, env_file_malformed_line_names_file_and_line) {
    static const char *const bad_lines[] = {
        "NOT A PAIR", /* no '=' */
        "=value",     /* no key */
        "BAD-KEY=1",  /* not a name */
        "SERVER_HOST=\"unterminated",
        "SERVER_HOST='mismatched\"",
        "export =1",
        "SERVER_HOST=\"x\" trailing text", /* after the closing quote */
    };
    for (size_t i = 0; i < sizeof bad_lines / sizeof bad_lines[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "# header\nSERVER_PORT=4000\n%s\nCHOPIN_WORKERS=2\n",
                 bad_lines[i]);
        const char *path = write_env_file(text);
        char where[96];
        snprintf(where, sizeof where, "%s:3", path);
        chopin_config cfg;
        char err[512] = "";
        int rc = chopin_config_load(&cfg, path, err, sizeof err);
        cr_assert_eq(rc, -1, "'%s' accepted", bad_lines[i]);
        cr_assert(strstr(err, where), "'%s': message '%s' lacks '%s'", bad_lines[i], err, where);
    }
}

/* --- Access log and mode ----------------------------------------------------------- */

Test(config, performance_mode_turns_access_log_off) {
    setenv("SERVER_MODE", "performance", 1);
    chopin_config cfg;
    load_ok(&cfg, NULL);
    cr_assert_eq(cfg.mode, CHOPIN_MODE_PERFORMANCE);
    cr_assert(!cfg.access_log);

    setenv("CHOPIN_ACCESS_LOG", "on", 1);
    load_ok(&cfg, NULL);
    cr_assert(cfg.access_log, "an explicit CHOPIN_ACCESS_LOG wins over the mode's default");

    setenv("CHOPIN_ACCESS_LOG", "off", 1);
    load_ok(&cfg, NULL);
    cr_assert(!cfg.access_log);

    /* Asked for in .env counts as explicit too. */
    unsetenv("CHOPIN_ACCESS_LOG");
    load_ok(&cfg, write_env_file("CHOPIN_ACCESS_LOG=true\n"));
    cr_assert(cfg.access_log);

    /* Standard mode keeps it on; off when asked. */
    setenv("SERVER_MODE", "standard", 1);
    load_ok(&cfg, write_env_file("\n"));
    cr_assert(cfg.access_log);
    setenv("CHOPIN_ACCESS_LOG", "0", 1);
    load_ok(&cfg, NULL);
    cr_assert(!cfg.access_log);
}

Test(config, error_buffer_small) {
    setenv("CHOPIN_MAX_CONNECTIONS", "none", 1);
    chopin_config cfg;
    char err[10];
    memset(err, 'x', sizeof err);
    cr_assert_eq(chopin_config_load(&cfg, NULL, err, sizeof err), -1);
    cr_assert_eq(strlen(err), sizeof err - 1, "truncated and terminated");
}

/* S3_BUCKET without its keys, or with a bad endpoint, stops start-up
 * (chopin_app_new) with the setting named, the secret never shown. */
Test(config, s3_settings_go_together) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    snprintf(cfg.database_url, sizeof cfg.database_url, "sqlite::memory:");
    snprintf(cfg.s3_bucket, sizeof cfg.s3_bucket, "media");
    cr_assert_null(chopin_app_new_with(&cfg), "no keys");
    snprintf(cfg.s3_access_key_id, sizeof cfg.s3_access_key_id, "AKID");
    cr_assert_null(chopin_app_new_with(&cfg), "no secret");
    snprintf(cfg.s3_secret_access_key, sizeof cfg.s3_secret_access_key, "topsecret-key");
    snprintf(cfg.s3_endpoint, sizeof cfg.s3_endpoint, "minio:9000");
    cr_assert_null(chopin_app_new_with(&cfg), "no scheme");
    char err[256];
    cr_assert_eq(config_check_s3(&cfg, err, sizeof err), -1);
    cr_assert(strstr(err, "S3_ENDPOINT='minio:9000' is invalid"), "%s", err);
    cr_assert_null(strstr(err, "topsecret"), "%s", err);
    cfg.s3_secret_access_key[0] = 0;
    cr_assert_eq(config_check_s3(&cfg, err, sizeof err), -1);
    cr_assert(strstr(err, "S3_SECRET_ACCESS_KEY is missing"), "%s", err);
    snprintf(cfg.s3_secret_access_key, sizeof cfg.s3_secret_access_key, "topsecret-key");
    snprintf(cfg.s3_endpoint, sizeof cfg.s3_endpoint, "http://minio:9000");
    chopin_app *app = chopin_app_new_with(&cfg);
    cr_assert_not_null(app);
    chopin_app_free(app);
}

/* A line longer than any buffer is one line, never read as two: a comment
 * line of 4,110 bytes ending in "SERVER_PORT=1" sets nothing (a 4096-byte
 * buffer once read its end as a line of its own). */
Test(config, env_file_long_line_is_one_line) {
    char text[8192];
    size_t k = 4095;
    text[0] = '#';
    memset(text + 1, 'x', k - 1);
    strcpy(text + k, "SERVER_PORT=1\nCHOPIN_WORKERS=3\n");
    chopin_config cfg;
    load_ok(&cfg, write_env_file(text));
    cr_assert_neq(cfg.port, 1, "the end of a long comment line was read as a setting");
    cr_assert_eq(cfg.workers, 3, "the next line still counts");
}
