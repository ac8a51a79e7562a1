/* fuzz_config.c - libFuzzer target for the .env parser and the settings'
 * validation (chopin_config_load, src/app/config.c).
 *
 * Input: the .env file. It is written to a memfd and loaded through its
 * /proc/self/fd path, with every setting removed from the environment once
 * at start-up. The result must be 0 or -1 and must be the one a model gives,
 * written from docs/configuration.md:
 *
 * - the file is read a whole line at a time (getline), each line up to its
 *   first NUL; blank and '#' lines are skipped; "export " is dropped;
 *   KEY=VALUE with spaces and tabs around both dropped, the key letters,
 *   digits and '_'; a value in matching quotes loses them, one that opens a
 *   quote without closing it is an error; in an unquoted value " #" starts
 *   a comment; the last assignment of a key wins;
 * - then each setting in config.c's order (LOG_LEVEL and LOG_FORMAT first),
 *   by its kind and its documented range; the first invalid one is reported;
 * - then API_DOCS_PATH and API_DOCS_USERNAME together.
 *
 * On -1 the message (in an exact-size heap buffer) must be NUL-terminated,
 * not empty, and name what the model found: the file and line of a line
 * that cannot be parsed, or the setting, with its value quoted (cut at 64
 * bytes) unless the setting may hold a secret (DATABASE_URL, JWT_SECRET,
 * REDIS_URL, API_DOCS_PASSWORD, S3_SECRET_ACCESS_KEY): then the message
 * must be exactly "NAME (value not shown) is invalid: expected text of MIN
 * to MAX bytes", and the value must not be anywhere in it. The same load
 * with a short buffer must give the start of the same message.
 *
 * On 0 the whole config must be byte for byte the model's (defaults, then
 * the file's values, then performance mode turning the access log off unless
 * CHOPIN_ACCESS_LOG was given), every numeric field must be inside its
 * documented range, and config_check_s3 must give the model's answer.
 *
 * At start-up the table here is checked against config.c: for each numeric
 * setting its minimum and maximum load and one past them does not, for
 * each text setting the same for its length, and the environment wins over
 * the file. */
#include "chopin/app.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_check.h"

/* Not in a public header: src/app/config.c. */
int config_check_s3(const chopin_config *cfg, char *err, size_t err_len);

#define ERR_LEN 512

typedef enum { HOST, INT, SIZE, MS, BOOL, SWITCH, TEXT, CHOICE } kind;

typedef struct {
    const char *name;
    kind kind;
    size_t offset;
    long long min, max; /* the value's range, or the text's length */
    const char *const *choices;
} setting;

static const char *const modes[] = {"standard", "performance", NULL};
static const char *const environments[] = {"development", "production", "test", NULL};
static const char *const algorithms[] = {"HS256", "RS256", "EdDSA", NULL};
static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const log_formats[] = {"text", "json", NULL};

#define OFF(f)      offsetof(chopin_config, f)
#define TXT(f)      OFF(f), 0, sizeof(((chopin_config *)0)->f) - 1, NULL
#define TXT1(f)     OFF(f), 1, sizeof(((chopin_config *)0)->f) - 1, NULL
#define CH(f, list) OFF(f), 0, 0, list

/* docs/configuration.md's table, in config.c's order. */
static const setting settings[] = {
    {"LOG_LEVEL", CHOICE, CH(log_level, log_levels)},
    {"LOG_FORMAT", CHOICE, CH(log_format, log_formats)},
    {"SERVER_HOST", HOST, OFF(host), 1, 255, NULL},
    {"SERVER_PORT", INT, OFF(port), 0, 65535, NULL},
    {"SERVER_MODE", CHOICE, CH(mode, modes)},
    {"CHOPIN_WORKERS", INT, OFF(workers), 0, 1024, NULL},
    {"CHOPIN_MAX_CONNECTIONS", INT, OFF(max_connections), 1, 10000000, NULL},
    {"CHOPIN_MAX_REQUEST_LINE", SIZE, OFF(max_request_line), 64, 1 << 20, NULL},
    {"CHOPIN_MAX_HEADER_BYTES", SIZE, OFF(max_header_bytes), 256, 16 << 20, NULL},
    {"CHOPIN_MAX_HEADERS", SIZE, OFF(max_headers), 1, 10000, NULL},
    {"CHOPIN_MAX_BODY_BYTES", SIZE, OFF(max_body_bytes), 0, 1LL << 40, NULL},
    {"CHOPIN_MAX_PENDING_OUTPUT", SIZE, OFF(max_pending_output), 4096, 1LL << 32, NULL},
    {"CHOPIN_HEADER_TIMEOUT", MS, OFF(header_timeout_ms), 1, 3600000, NULL},
    {"CHOPIN_BODY_TIMEOUT", MS, OFF(body_timeout_ms), 1, 3600000, NULL},
    {"CHOPIN_KEEPALIVE_TIMEOUT", MS, OFF(keepalive_timeout_ms), 1, 3600000, NULL},
    {"CHOPIN_WRITE_TIMEOUT", MS, OFF(write_timeout_ms), 1, 3600000, NULL},
    {"CHOPIN_SHUTDOWN_TIMEOUT", MS, OFF(shutdown_timeout_ms), 0, 3600000, NULL},
    {"CHOPIN_ACCESS_LOG", BOOL, OFF(access_log), 0, 1, NULL},
    {"METRICS", BOOL, OFF(metrics), 0, 1, NULL},
    {"SECURITY_HEADERS", BOOL, OFF(security_headers), 0, 1, NULL},
    {"CHOPIN_REQUEST_TIMEOUT", MS, OFF(request_timeout_ms), 1, 86400000, NULL},
    {"CHOPIN_STACK_SIZE", SIZE, OFF(stack_size), 16 << 10, 64 << 20, NULL},
    {"CHOPIN_OFFLOAD_THREADS", INT, OFF(offload_threads), 0, 1024, NULL},
    {"CHOPIN_OFFLOAD_QUEUE", INT, OFF(offload_queue), 1, 1000000, NULL},
    {"DATABASE_URL", TEXT, TXT1(database_url)},
    {"DATABASE_POOL_SIZE", INT, OFF(database_pool_size), 1, 1000, NULL},
    {"DATABASE_BUSY_TIMEOUT", MS, OFF(database_busy_timeout_ms), 0, 3600000, NULL},
    {"DATABASE_CONNECT_TIMEOUT", MS, OFF(database_connect_timeout_ms), 100, 600000, NULL},
    {"DATABASE_MIGRATIONS", TEXT, TXT1(database_migrations)},
    {"DATABASE_AUTO_MIGRATE", BOOL, OFF(database_auto_migrate), 0, 1, NULL},
    {"AUTH_ROUTES", BOOL, OFF(auth_routes), 0, 1, NULL},
    {"ENVIRONMENT", CHOICE, CH(environment, environments)},
    {"JWT_SECRET", TEXT, TXT(jwt_secret)},
    {"JWT_ALGORITHM", CHOICE, CH(jwt_algorithm, algorithms)},
    {"JWT_PRIVATE_KEY_FILE", TEXT, TXT(jwt_private_key_file)},
    {"JWT_PUBLIC_KEY_FILE", TEXT, TXT(jwt_public_key_file)},
    {"JWT_EXPIRY_HOURS", INT, OFF(jwt_expiry_hours), 1, 8760, NULL},
    {"JWT_REFRESH_EXPIRY_DAYS", INT, OFF(jwt_refresh_expiry_days), 1, 3650, NULL},
    {"JWT_ISSUER", TEXT, TXT(jwt_issuer)},
    {"JWT_AUDIENCE", TEXT, TXT(jwt_audience)},
    {"AUTH_LOGIN_LIMIT_PER_IP", INT, OFF(auth_login_limit_per_ip), 0, 1000000, NULL},
    {"AUTH_LOGIN_LIMIT_PER_ACCOUNT", INT, OFF(auth_login_limit_per_account), 0, 1000000, NULL},
    {"MAX_UPLOAD_SIZE", SIZE, OFF(max_upload_bytes), 0, 1LL << 50, NULL},
    {"UPLOAD_DIR", TEXT, TXT1(upload_dir)},
    {"S3_BUCKET", TEXT, TXT(s3_bucket)},
    {"S3_REGION", TEXT, TXT1(s3_region)},
    {"S3_ENDPOINT", TEXT, TXT(s3_endpoint)},
    {"S3_ACCESS_KEY_ID", TEXT, TXT(s3_access_key_id)},
    {"S3_SECRET_ACCESS_KEY", TEXT, TXT(s3_secret_access_key)},
    {"S3_PREFIX", TEXT, TXT(s3_prefix)},
    {"S3_PUBLIC_URL", TEXT, TXT(s3_public_url)},
    {"CACHE_MAX_BYTES", SIZE, OFF(cache_max_bytes), 64 << 10, 1LL << 40, NULL},
    {"REDIS_URL", TEXT, TXT(redis_url)},
    {"REDIS_TIMEOUT", MS, OFF(redis_timeout_ms), 1, 600000, NULL},
    {"API_TITLE", TEXT, TXT1(api_title)},
    {"API_VERSION", TEXT, TXT1(api_version)},
    {"API_DESCRIPTION", TEXT, TXT(api_description)},
    {"API_SERVER_URL", TEXT, TXT(api_server_url)},
    {"API_DOCS", SWITCH, OFF(api_docs), 0, 1, NULL},
    {"API_DOCS_PATH", TEXT, OFF(api_docs_path), 2, sizeof(((chopin_config *)0)->api_docs_path) - 1,
     NULL},
    {"API_DOCS_ASSETS", TEXT, TXT(api_docs_assets)},
    {"API_DOCS_USERNAME", TEXT, TXT(api_docs_username)},
    {"API_DOCS_PASSWORD", TEXT, TXT(api_docs_password)},
};
#define NUM_SETTINGS (sizeof settings / sizeof settings[0])

/* The settings that may hold a secret: their values are never shown. */
static bool secret(const setting *s) {
    static const char *const names[] = {"DATABASE_URL", "JWT_SECRET", "REDIS_URL",
                                        "API_DOCS_PASSWORD", "S3_SECRET_ACCESS_KEY"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s->name, names[i])) return true;
    return false;
}

/* --- The model --------------------------------------------------------------- */

typedef struct {
    const char *value[NUM_SETTINGS]; /* the last assignment, NULL if none */
    int bad_line;                    /* the first line that cannot be parsed, 0 if none */
} env_model;

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n')) *--e = 0;
    return s;
}

/* 1: a pair; 0: nothing; -1: cannot be parsed. line is changed in place. */
static int model_line(char *line, char **key, char **value) {
    char *s = trim(line);
    if (!*s || *s == '#') return 0;
    if (strncmp(s, "export ", 7) == 0) s = trim(s + 7);
    char *eq = strchr(s, '=');
    if (!eq) return -1;
    *eq = 0;
    char *k = trim(s), *v = trim(eq + 1);
    if (!*k) return -1;
    for (const char *p = k; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return -1;
    size_t vl = strlen(v);
    if (vl && (v[0] == '"' || v[0] == '\'')) {
        if (vl < 2 || v[vl - 1] != v[0]) return -1;
        v[vl - 1] = 0;
        v++;
    } else {
        char *hash = strstr(v, " #");
        if (hash) {
            *hash = 0;
            v = trim(v);
        }
    }
    *key = k;
    *value = v;
    return 1;
}

/* Reads text a whole line at a time; the values point into lines, which the
 * caller frees. */
static void model_env(const char *text, size_t n, env_model *em, char ***lines, size_t *num_lines) {
    memset(em, 0, sizeof *em);
    *lines = NULL;
    *num_lines = 0;
    size_t at = 0;
    int lineno = 0;
    while (at < n) {
        size_t piece = 0;
        while (at + piece < n) {
            if (text[at + piece++] == '\n') break;
        }
        char *line = strndup(text + at, piece); /* up to its first NUL */
        CHECK(line);
        at += piece;
        lineno++;
        *lines = realloc(*lines, (*num_lines + 1) * sizeof **lines);
        CHECK(*lines);
        (*lines)[(*num_lines)++] = line;
        char *k, *v;
        int r = model_line(line, &k, &v);
        if (r < 0) {
            em->bad_line = lineno;
            return;
        }
        if (r == 0) continue;
        for (size_t i = 0; i < NUM_SETTINGS; i++)
            if (!strcmp(k, settings[i].name)) em->value[i] = v;
    }
}

static bool model_bool(const char *v, bool *out) {
    static const char *const yes[] = {"1", "true", "on", "yes"}, *const no[] = {"0", "false", "off",
                                                                                "no"};
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(v, yes[i])) return *out = true, true;
        if (!strcasecmp(v, no[i])) return *out = false, true;
    }
    return false;
}

static bool model_number(const setting *s, const char *v, long long *out) {
    if (!(*v >= '0' && *v <= '9')) return false;
    long long x = 0;
    for (; *v >= '0' && *v <= '9'; v++)
        if (__builtin_mul_overflow(x, 10, &x) || __builtin_add_overflow(x, *v - '0', &x))
            return false;
    long long mult = 0;
    if (s->kind == SIZE) {
        static const struct {
            const char *suffix;
            long long mult;
        } units[] = {{"", 1},          {"b", 1},        {"k", 1 << 10},  {"kb", 1 << 10},
                     {"kib", 1 << 10}, {"m", 1 << 20},  {"mb", 1 << 20}, {"mib", 1 << 20},
                     {"g", 1 << 30},   {"gb", 1 << 30}, {"gib", 1 << 30}};
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (!strcasecmp(v, units[i].suffix)) mult = units[i].mult;
    } else if (s->kind == MS) {
        static const struct {
            const char *suffix;
            long long mult;
        } units[] = {{"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"min", 60000}};
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (!strcmp(v, units[i].suffix)) mult = units[i].mult;
    } else {
        mult = *v ? 0 : 1;
    }
    if (!mult || __builtin_mul_overflow(x, mult, &x)) return false;
    *out = x;
    return true;
}

/* Applies v to the model config; false if invalid. */
static bool model_apply(chopin_config *cfg, const setting *s, const char *v) {
    char *field = (char *)cfg + s->offset;
    switch (s->kind) {
    case HOST:
    case TEXT:
        if ((long long)strlen(v) < s->min || (long long)strlen(v) > s->max) return false;
        strcpy(field, v);
        return true;
    case CHOICE:
        for (int i = 0; s->choices[i]; i++)
            if (!strcmp(v, s->choices[i])) {
                memcpy(field, &i, sizeof i);
                return true;
            }
        return false;
    case BOOL: {
        bool b;
        if (!model_bool(v, &b)) return false;
        memcpy(field, &b, sizeof b);
        return true;
    }
    case SWITCH: {
        bool b;
        if (!model_bool(v, &b)) return false;
        int i = b;
        memcpy(field, &i, sizeof i);
        return true;
    }
    default: {
        long long x;
        if (!model_number(s, v, &x) || x < s->min || x > s->max) return false;
        if (s->kind == SIZE) {
            size_t z = (size_t)x;
            memcpy(field, &z, sizeof z);
        } else {
            int i = (int)x;
            memcpy(field, &i, sizeof i);
        }
        return true;
    }
    }
}

/* --- Checks ------------------------------------------------------------------ */

static int env_fd = -1;
static size_t access_log_index; /* of CHOPIN_ACCESS_LOG in settings */
static char env_path[64];

static void write_env(const char *text, size_t n) {
    CHECK(ftruncate(env_fd, 0) == 0);
    CHECK(n == 0 || pwrite(env_fd, text, n, 0) == (ssize_t)n);
}

/* Loads the file with an exact-size message buffer of err_len bytes. */
static int load(chopin_config *cfg, char *msg, size_t err_len) {
    char *err = malloc(err_len);
    CHECK(err);
    memset(err, 0x5a, err_len);
    int rc = chopin_config_load(cfg, env_path, err, err_len);
    CHECK(rc == 0 || rc == -1);
    if (rc == -1) {
        CHECK(memchr(err, '\0', err_len) != NULL);
        CHECK(err_len < 2 || err[0] != '\0');
        strcpy(msg, err);
    }
    free(err);
    return rc;
}

static bool has_prefix(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void check_ranges(const chopin_config *cfg) {
    for (size_t i = 0; i < NUM_SETTINGS; i++) {
        const setting *s = &settings[i];
        const char *field = (const char *)cfg + s->offset;
        long long x;
        switch (s->kind) {
        case HOST:
        case TEXT: {
            size_t len = strnlen(field, (size_t)s->max + 1);
            CHECK(len <= (size_t)s->max);
            CHECK((long long)len >= s->min);
            continue;
        }
        case CHOICE: {
            int v;
            memcpy(&v, field, sizeof v);
            int count = 0;
            while (s->choices[count]) count++;
            CHECK(v >= 0 && v < count);
            continue;
        }
        case BOOL: {
            unsigned char b;
            memcpy(&b, field, 1);
            CHECK(b <= 1);
            continue;
        }
        case SWITCH: {
            int v;
            memcpy(&v, field, sizeof v);
            CHECK(v >= -1 && v <= 1); /* -1: unset */
            continue;
        }
        case SIZE: {
            size_t z;
            memcpy(&z, field, sizeof z);
            x = (long long)z;
            break;
        }
        default: {
            int v;
            memcpy(&v, field, sizeof v);
            x = v;
            break;
        }
        }
        if (x < s->min || x > s->max) {
            fprintf(stderr, "fuzz_config: %s = %lld, outside %lld..%lld\n", s->name, x, s->min,
                    s->max);
            abort();
        }
    }
}

/* The model's config_check_s3 message, or "" when it passes. */
static void model_s3(const chopin_config *cfg, char *want, size_t len) {
    want[0] = 0;
    if (!cfg->s3_bucket[0]) return;
    const char *missing = !cfg->s3_access_key_id[0]       ? "S3_ACCESS_KEY_ID"
                          : !cfg->s3_secret_access_key[0] ? "S3_SECRET_ACCESS_KEY"
                                                          : NULL;
    const char *e = cfg->s3_endpoint;
    if (missing)
        snprintf(want, len, "%s is missing: S3_BUCKET is set, so uploads go to S3 and need it",
                 missing);
    else if (e[0] && !has_prefix(e, "http://") && !has_prefix(e, "https://"))
        snprintf(want, len,
                 "S3_ENDPOINT='%.64s' is invalid: expected http://host[:port] or "
                 "https://host[:port]",
                 e);
}

static void check_one(const char *text, size_t n) {
    write_env(text, n);
    env_model em;
    char **lines;
    size_t num_lines;
    model_env(text, n, &em, &lines, &num_lines);

    /* The model's outcome. */
    chopin_config want;
    chopin_config_defaults(&want);
    int bad = -1; /* the first invalid setting */
    if (!em.bad_line) {
        for (size_t i = 0; i < NUM_SETTINGS && bad < 0; i++)
            if (em.value[i] && !model_apply(&want, &settings[i], em.value[i])) bad = (int)i;
    }
    const char *path = want.api_docs_path;
    bool docs_path_bad = path[0] != '/' || path[strlen(path) - 1] == '/' || strpbrk(path, ":*?#% ");
    bool docs_user_bad = strchr(want.api_docs_username, ':') != NULL;
    if (!em.value[access_log_index] && want.mode == CHOPIN_MODE_PERFORMANCE)
        want.access_log = false;
    int want_rc = em.bad_line || bad >= 0 || docs_path_bad || docs_user_bad ? -1 : 0;

    chopin_config cfg;
    char msg[ERR_LEN];
    int rc = load(&cfg, msg, ERR_LEN);
    if (rc != want_rc) {
        fprintf(stderr, "fuzz_config: chopin_config_load %d (%s), the model %d\n", rc,
                rc ? msg : "", want_rc);
        if (bad >= 0)
            fprintf(stderr, "fuzz_config: the model's bad setting: %s\n", settings[bad].name);
        abort();
    }

    if (rc == 0) {
        if (memcmp(&cfg, &want, sizeof cfg) != 0) {
            for (size_t i = 0; i < NUM_SETTINGS; i++)
                if (em.value[i])
                    fprintf(stderr, "fuzz_config: %s='%s'\n", settings[i].name, em.value[i]);
            for (size_t off = 0; off < sizeof cfg; off++)
                if (((char *)&cfg)[off] != ((char *)&want)[off]) {
                    fprintf(stderr, "fuzz_config: the config differs from the model's at %zu\n",
                            off);
                    break;
                }
            abort();
        }
        check_ranges(&cfg);
        char s3[ERR_LEN], s3_want[ERR_LEN];
        int s3_rc = config_check_s3(&cfg, s3, sizeof s3);
        model_s3(&cfg, s3_want, sizeof s3_want);
        CHECK(s3_rc == (s3_want[0] ? -1 : 0));
        if (s3_rc) CHECK(!strcmp(s3, s3_want));
    } else {
        char head[ERR_LEN];
        if (em.bad_line) {
            snprintf(head, sizeof head, "%s:%d: expected KEY=VALUE", env_path, em.bad_line);
            CHECK(!strcmp(msg, head));
        } else if (bad >= 0) {
            const setting *s = &settings[bad];
            if (secret(s)) { /* the whole message is known: nothing of the value in it */
                CHECK(s->kind == TEXT);
                snprintf(head, sizeof head,
                         "%s (value not shown) is invalid: expected text of %lld to %lld bytes",
                         s->name, s->min, s->max);
                if (strcmp(msg, head) != 0 || (em.value[bad][0] && strstr(msg, em.value[bad]))) {
                    fprintf(stderr, "fuzz_config: the message about %s: %s\n", s->name, msg);
                    abort();
                }
            } else {
                snprintf(head, sizeof head, "%s='%.64s' is invalid: expected ", s->name,
                         em.value[bad]);
            }
            if (!has_prefix(msg, head)) {
                fprintf(stderr, "fuzz_config: message '%s', expected it to start '%s'\n", msg,
                        head);
                abort();
            }
        } else if (docs_path_bad) {
            snprintf(head, sizeof head, "API_DOCS_PATH='%.64s' is invalid: ", want.api_docs_path);
            CHECK(has_prefix(msg, head));
        } else {
            CHECK(!strcmp(msg, "API_DOCS_USERNAME is invalid: expected no ':' (HTTP Basic)"));
        }
        /* A short buffer: the start of the same message. */
        size_t short_len = 1 + n % 40;
        char cut[ERR_LEN];
        CHECK(load(&cfg, cut, short_len) == -1);
        CHECK(strlen(cut) == (strlen(msg) < short_len ? strlen(msg) : short_len - 1));
        CHECK(!strncmp(cut, msg, strlen(cut)));
    }

    for (size_t i = 0; i < num_lines; i++) free(lines[i]);
    free(lines);
}

/* --- Start-up ---------------------------------------------------------------- */

static int load_text(const char *text, chopin_config *cfg, char *msg) {
    write_env(text, strlen(text));
    return load(cfg, msg, ERR_LEN);
}

static void expect_load(const setting *s, const char *value, bool ok) {
    size_t len = strlen(s->name) + strlen(value) + 2;
    char *text = malloc(len);
    CHECK(text);
    snprintf(text, len, "%s=%s", s->name, value);
    chopin_config cfg;
    char msg[ERR_LEN];
    int rc = load_text(text, &cfg, msg);
    if (rc != (ok ? 0 : -1) || (!ok && !has_prefix(msg, s->name))) {
        fprintf(stderr, "fuzz_config: the table disagrees with config.c: %.80s gives %d (%s)\n",
                text, rc, rc ? msg : "");
        abort();
    }
    free(text);
}

static void check_table(void) {
    char v[2048];
    for (size_t i = 0; i < NUM_SETTINGS; i++) {
        const setting *s = &settings[i];
        switch (s->kind) {
        case INT:
        case SIZE:
        case MS:
            snprintf(v, sizeof v, "%lld", s->min);
            expect_load(s, v, true);
            snprintf(v, sizeof v, "%lld", s->max);
            expect_load(s, v, true);
            snprintf(v, sizeof v, "%lld", s->max + 1);
            expect_load(s, v, false);
            if (s->min > 0) {
                snprintf(v, sizeof v, "%lld", s->min - 1);
                expect_load(s, v, false);
            }
            break;
        case HOST:
        case TEXT: {
            const long long lens[] = {s->min - 1, s->min, s->max, s->max + 1};
            for (int k = 0; k < 4; k++) {
                if (lens[k] < 0) continue;
                size_t len = (size_t)lens[k];
                CHECK(len < sizeof v);
                memset(v, 'x', len);
                v[len] = 0;
                if (len && !strcmp(s->name, "API_DOCS_PATH")) v[0] = '/';
                expect_load(s, v, k == 1 || k == 2);
            }
            break;
        }
        case CHOICE:
            for (int c = 0; s->choices[c]; c++) expect_load(s, s->choices[c], true);
            expect_load(s, "x", false);
            break;
        default:
            expect_load(s, "on", true);
            expect_load(s, "x", false);
            break;
        }
    }
    /* The environment wins over the file. */
    chopin_config cfg;
    char msg[ERR_LEN];
    CHECK(setenv("SERVER_PORT", "1234", 1) == 0);
    CHECK(load_text("SERVER_PORT=99\n", &cfg, msg) == 0 && cfg.port == 1234);
    CHECK(unsetenv("SERVER_PORT") == 0);
    CHECK(load_text("SERVER_PORT=99\n", &cfg, msg) == 0 && cfg.port == 99);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    for (size_t i = 0; i < NUM_SETTINGS; i++) {
        CHECK(unsetenv(settings[i].name) == 0);
        if (!strcmp(settings[i].name, "CHOPIN_ACCESS_LOG")) access_log_index = i;
    }
    env_fd = memfd_create("fuzz_config.env", MFD_CLOEXEC);
    CHECK(env_fd >= 0);
    snprintf(env_path, sizeof env_path, "/proc/self/fd/%d", env_fd);
    check_table();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check_one((const char *)data, size);
    return 0;
}
