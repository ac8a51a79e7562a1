/* helpers.c - what a test of an app needs around the client: an app made
 * for tests, requests with a token and a JSON body, accounts, and reading
 * the JSON that came back by path. */
#include "chopin/testing.h"

#include "chopin/auth.h"
#include "chopin/db.h"

#include "../app/app_internal.h"
#include "../core/core.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

void chopin_test_config(chopin_config *cfg) {
    chopin_config_defaults(cfg);
    cfg->environment = CHOPIN_ENV_TEST;
    const char *db = getenv("CHOPIN_TEST_DATABASE_URL");
    snprintf(cfg->database_url, sizeof cfg->database_url, "%s", db && *db ? db : "sqlite::memory:");
    uint8_t secret[32];
    if (getrandom(secret, sizeof secret, 0) != (ssize_t)sizeof secret) abort();
    hex_encode(cfg->jwt_secret, secret, sizeof secret);
    cfg->access_log = false;
    cfg->log_level = CHOPIN_LOG_WARN;
    cfg->auth_login_limit_per_ip = 0;
    cfg->auth_login_limit_per_account = 0;
    cfg->api_docs = 1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    remove(path); /* best effort: the rest still goes */
    return 0;
}

static void remove_tree(void *path) {
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(path);
}

chopin_app *chopin_test_app_with(const chopin_config *base) {
    chopin_config cfg = *base;
    char tmpl[] = "/tmp/chopin-test-uploads-XXXXXX";
    char *dir = mkdtemp(tmpl) ? strdup(tmpl) : NULL;
    if (!dir) {
        chopin_log(CHOPIN_LOG_ERROR, "chopin_test_app: cannot make a temporary upload folder",
                   NULL);
        return NULL;
    }
    snprintf(cfg.upload_dir, sizeof cfg.upload_dir, "%s", dir);
    chopin_app *app = chopin_app_new_with(&cfg);
    if (!app) {
        remove_tree(dir);
        return NULL;
    }
    app_own(app, dir, remove_tree);
    return app;
}

chopin_app *chopin_test_app(void) {
    chopin_config cfg;
    chopin_test_config(&cfg);
    return chopin_test_app_with(&cfg);
}

chopin_test_response *chopin_test_call(chopin_app *app, const char *method, const char *target,
                                       const char *token, const char *json) {
    char auth[2048];
    const char *headers[3];
    size_t n = 0;
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        headers[n++] = auth;
    }
    if (json) headers[n++] = "Content-Type: application/json";
    headers[n] = NULL;
    return chopin_test_request(app, method, target, headers, json, json ? strlen(json) : 0);
}

/* --- Accounts ------------------------------------------------------------------- */

static char *json_quote(const char *s) {
    size_t len = strlen(s);
    char *out = malloc(6 * len + 3);
    if (!out) return NULL;
    out[chopin_json_escape(out, s, len)] = 0;
    return out;
}

/* A username the signup accepts: the email's local part, other bytes as
 * '_', 3 to 32 characters. */
static void username_of(const char *email, char out[33]) {
    size_t n = 0;
    for (const char *p = email; *p && *p != '@' && n < 32; p++)
        out[n++] =
            strchr("_.-", *p) || (*p >= '0' && *p <= '9') || ((*p | 32) >= 'a' && (*p | 32) <= 'z')
                ? *p
                : '_';
    while (n < 3) out[n++] = '_';
    out[n] = 0;
}

static char *access_token_of(chopin_test_response *r, int want_status) {
    const char *token =
        r && r->status == want_status ? chopin_test_json_str(r, "data.access_token") : NULL;
    char *copy = token ? strdup(token) : NULL;
    chopin_test_response_free(r);
    return copy;
}

static chopin_test_response *post_credentials(chopin_app *app, const char *path, const char *email,
                                              const char *password, bool with_username) {
    char name[33];
    username_of(email, name);
    char *e = json_quote(email), *p = json_quote(password), *u = json_quote(name);
    size_t cap = (e ? strlen(e) : 0) + (p ? strlen(p) : 0) + (u ? strlen(u) : 0) + 64;
    char *body = e && p && u ? malloc(cap) : NULL;
    chopin_test_response *r = NULL;
    if (body) {
        if (with_username)
            snprintf(body, cap, "{\"email\":%s,\"username\":%s,\"password\":%s}", e, u, p);
        else
            snprintf(body, cap, "{\"email\":%s,\"password\":%s}", e, p);
        r = chopin_test_call(app, "POST", path, NULL, body);
    }
    free(body), free(e), free(p), free(u);
    return r;
}

char *chopin_test_signup(chopin_app *app, const char *email, const char *password) {
    return access_token_of(post_credentials(app, "/api/auth/signup", email, password, true), 201);
}

char *chopin_test_user(chopin_app *app, const char *email, const char *role) {
    static const char password[] = "chopin test password";
    if (!chopin_auth_role_rank(role)) return NULL;
    char *token = chopin_test_signup(app, email, password);
    if (!token) return NULL;
    free(token);
    chopin_ctx *c = chopin_ctx_new(app);
    chopin_rows *r = c ? chopin_sql(c, "UPDATE users SET role = $1 WHERE email = $2",
                                    chopin_arg_text(role), chopin_arg_text(email))
                       : NULL;
    bool changed = r && chopin_rows_affected(r) == 1;
    chopin_ctx_free(c);
    if (!changed) return NULL;
    return access_token_of(post_credentials(app, "/api/auth/login", email, password, false), 200);
}

/* --- JSON by path ---------------------------------------------------------------- */

static const chopin_json_value *step(const chopin_json_value *v, const char **path) {
    const char *p = *path;
    if (*p == '[') {
        char *end;
        unsigned long i = strtoul(p + 1, &end, 10);
        if (end == p + 1 || *end != ']' || !v || v->type != CHOPIN_JSON_ARRAY ||
            i >= v->u.arr.count)
            return NULL;
        *path = end + 1;
        return &v->u.arr.items[i];
    }
    size_t n = strcspn(p, ".[");
    if (!v || v->type != CHOPIN_JSON_OBJECT || !n) return NULL;
    const chopin_json_value *found = NULL;
    for (size_t i = 0; i < v->u.obj.count; i++) {
        const chopin_json_member *m = &v->u.obj.members[i];
        if (m->key.len == n && !memcmp(m->key.ptr, p, n)) found = &m->value;
    }
    *path = p + n;
    return found;
}

const chopin_json_value *chopin_test_json(chopin_test_response *r, const char *path) {
    if (!r) return NULL;
    if (!r->json) {
        chopin_json_error err;
        r->json = chopin_json_doc_parse(r->body ? r->body : "", r->body_len, &err);
        if (!r->json) return NULL;
    }
    const chopin_json_value *v = chopin_json_doc_root(r->json);
    while (v && *path) {
        if (*path == '.') path++;
        v = step(v, &path);
    }
    return v;
}

const char *chopin_test_json_str(chopin_test_response *r, const char *path) {
    const chopin_json_value *v = chopin_test_json(r, path);
    return v && v->type == CHOPIN_JSON_STRING ? v->u.str.ptr : NULL;
}

int64_t chopin_test_json_int(chopin_test_response *r, const char *path, int64_t fallback) {
    const chopin_json_value *v = chopin_test_json(r, path);
    return v && v->type == CHOPIN_JSON_NUMBER && v->is_int ? v->u.num.i : fallback;
}

bool chopin_test_json_bool(chopin_test_response *r, const char *path, bool fallback) {
    const chopin_json_value *v = chopin_test_json(r, path);
    return v && v->type == CHOPIN_JSON_BOOL ? v->u.b : fallback;
}

long chopin_test_json_count(chopin_test_response *r, const char *path) {
    const chopin_json_value *v = chopin_test_json(r, path);
    if (v && v->type == CHOPIN_JSON_ARRAY) return (long)v->u.arr.count;
    if (v && v->type == CHOPIN_JSON_OBJECT) return (long)v->u.obj.count;
    return -1;
}
