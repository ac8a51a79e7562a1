/* routes.c - the built-in account routes: signup, login, me. Users live in
 * the app's database (the users table, made from chopin_auth_user_model);
 * passwords are argon2id hashes made and checked off the workers; tokens
 * are the app's (chopin_app_jwt_key). */
#include "auth_internal.h"

#include "chopin/orm.h"
#include "chopin/password.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define USER_FIELDS(F)                                                                             \
    F(chopin_auth_user, id, CHOPIN_INT64, CHOPIN_PK),                                              \
        F(chopin_auth_user, email, CHOPIN_STRING, .required = true, .unique = true,                \
          .format = "email", .max_len = 254),                                                      \
        F(chopin_auth_user, username, CHOPIN_STRING, .required = true, .unique = true,             \
          .min_len = 3, .max_len = 32),                                                            \
        F(chopin_auth_user, password_hash, CHOPIN_STRING, .required = true, .write_only = true),   \
        F(chopin_auth_user, role, CHOPIN_ENUM, .required = true,                                   \
          CHOPIN_ONE_OF("user", "admin", "superuser")),                                            \
        F(chopin_auth_user, is_active, CHOPIN_BOOL),                                               \
        F(chopin_auth_user, created_at, CHOPIN_TIMESTAMP, CHOPIN_CREATED_AT),                      \
        F(chopin_auth_user, updated_at, CHOPIN_TIMESTAMP, CHOPIN_UPDATED_AT)
static const chopin_field user_fields[] = {USER_FIELDS(CHOPIN_FIELD)};
const chopin_model chopin_auth_user_model = {.name = "user",
                                             .size = sizeof(chopin_auth_user),
                                             .fields = user_fields,
                                             .count = sizeof user_fields / sizeof user_fields[0],
                                             .table = "users"};

/* What signup and login read. */
typedef struct {
    const char *email;
    const char *username;
    const char *password;
} credentials;
#define SIGNUP_FIELDS(F)                                                                           \
    F(credentials, email, CHOPIN_STRING, .required = true, .format = "email", .max_len = 254),     \
        F(credentials, username, CHOPIN_STRING, .required = true, .min_len = 3, .max_len = 32),    \
        F(credentials, password, CHOPIN_STRING, .required = true, .min_len = 8, .max_len = 128)
static const chopin_field signup_fields[] = {SIGNUP_FIELDS(CHOPIN_FIELD)};
static const chopin_model signup_model = {
    .name = "signup", .size = sizeof(credentials), .fields = signup_fields, .count = 3};
#define LOGIN_FIELDS(F)                                                                            \
    F(credentials, email, CHOPIN_STRING, .max_len = 254),                                          \
        F(credentials, username, CHOPIN_STRING, .max_len = 32),                                    \
        F(credentials, password, CHOPIN_STRING, .required = true, .max_len = 128)
static const chopin_field login_fields[] = {LOGIN_FIELDS(CHOPIN_FIELD)};
static const chopin_model login_model = {
    .name = "login", .size = sizeof(credentials), .fields = login_fields, .count = 3};

/* Emails compare without case: stored and looked up in lowercase. */
static char *lower(chopin_ctx *c, const char *s) {
    size_t n = strlen(s);
    char *out = chopin_strdup(c, s, n);
    for (size_t i = 0; out && i < n; i++) out[i] = (char)tolower((unsigned char)out[i]);
    return out;
}

static bool username_ok(const char *u) {
    for (; *u; u++)
        if (!isalnum((unsigned char)*u) && *u != '_' && *u != '.' && *u != '-') return false;
    return true;
}

/* --- Tokens --------------------------------------------------------------------- */

static void random_id(char *out, size_t len) {
    unsigned char b[16];
    static const char hex[] = "0123456789abcdef";
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) memset(b, 0, sizeof b);
    size_t n = 0;
    for (size_t i = 0; i < sizeof b && n + 2 < len; i++) {
        out[n++] = hex[b[i] >> 4];
        out[n++] = hex[b[i] & 15];
    }
    out[n] = 0;
}

/* {"access_token":...,"refresh_token":...,"token_type":"Bearer",
 *  "expires_in":N,"user":{...}} in the success envelope. */
static void answer_tokens(chopin_ctx *c, int status, const chopin_auth_user *u) {
    chopin_app *app = c->app;
    const chopin_config *cfg = chopin_app_config(app);
    const chopin_jwt_key *key = chopin_app_jwt_key(app);
    int64_t now = (int64_t)time(NULL), access_s = (int64_t)cfg->jwt_expiry_hours * 3600;
    chopin_jwt_claims access = {0}, refresh = {0};
    snprintf(access.sub, sizeof access.sub, "%lld", (long long)u->id);
    snprintf(access.role, sizeof access.role, "%s", u->role);
    snprintf(access.iss, sizeof access.iss, "%s", cfg->jwt_issuer);
    snprintf(access.aud, sizeof access.aud, "%s", cfg->jwt_audience);
    refresh = access;
    snprintf(access.typ, sizeof access.typ, "access");
    access.exp = now + access_s;
    snprintf(refresh.typ, sizeof refresh.typ, "refresh");
    random_id(refresh.fam, sizeof refresh.fam);
    refresh.exp = now + (int64_t)cfg->jwt_refresh_expiry_days * 86400;
    char *a = chopin_alloc(c, CHOPIN_JWT_MAX_LEN + 1), *r = chopin_alloc(c, CHOPIN_JWT_MAX_LEN + 1);
    ssize_t an = a ? chopin_jwt_sign(key, &access, a, CHOPIN_JWT_MAX_LEN + 1) : -1;
    ssize_t rn = r ? chopin_jwt_sign(key, &refresh, r, CHOPIN_JWT_MAX_LEN + 1) : -1;
    if (an < 0 || rn < 0) {
        chopin_error(c, 500, "INTERNAL_ERROR", "cannot sign tokens (a verify-only key?)");
        return;
    }
    chopin_json *j = chopin_json_data_begin(c, status);
    chopin_json_object(j);
    chopin_json_key(j, "access_token");
    chopin_json_stringn(j, a, (size_t)an);
    chopin_json_key(j, "refresh_token");
    chopin_json_stringn(j, r, (size_t)rn);
    chopin_json_key(j, "token_type");
    chopin_json_string(j, "Bearer");
    chopin_json_key(j, "expires_in");
    chopin_json_int(j, access_s);
    chopin_json_key(j, "user");
    chopin_model_write(j, &chopin_auth_user_model, u);
    chopin_json_end(j);
    chopin_json_finish(j);
}

/* --- Routes ------------------------------------------------------------------------- */

static void signup(chopin_ctx *c) {
    credentials *in = chopin_bind(c, &signup_model);
    if (!in) return;
    if (!username_ok(in->username)) {
        chopin_field_error e = {.field = "username",
                                .code = "format",
                                .message = "may hold only letters, digits, '_', '.' and '-'"};
        chopin_error_fields(c, &e);
        return;
    }
    char *hash = chopin_alloc(c, CHOPIN_PASSWORD_HASH_MAX);
    if (!hash || chopin_password_hash(c, in->password, strlen(in->password), hash,
                                      CHOPIN_PASSWORD_HASH_MAX)) {
        if (!chopin_responded(c)) chopin_error(c, 500, "INTERNAL_ERROR", "cannot hash");
        return;
    }
    chopin_auth_user u = {.email = lower(c, in->email),
                          .username = in->username,
                          .password_hash = hash,
                          .role = "user",
                          .is_active = true};
    if (chopin_orm_insert(c, &chopin_auth_user_model, &u)) return; /* 409 names email or username */
    answer_tokens(c, 201, &u);
}

static void bad_login(chopin_ctx *c) {
    chopin_error(c, 401, "INVALID_CREDENTIALS", "wrong email, username or password");
}

static void login(chopin_ctx *c) {
    credentials *in = chopin_bind(c, &login_model);
    if (!in) return;
    if (!in->email == !in->username) {
        chopin_field_error e = {
            .field = "email", .code = "one_of", .message = "give either email or username"};
        chopin_error_fields(c, &e);
        return;
    }
    chopin_filter by = in->email
                           ? chopin_where("email", CHOPIN_EQ, chopin_arg_text(lower(c, in->email)))
                           : chopin_where("username", CHOPIN_EQ, chopin_arg_text(in->username));
    chopin_list_opts o = {.filters = &by, .nfilters = 1, .limit = 1};
    chopin_list found;
    if (chopin_orm_list(c, &chopin_auth_user_model, &o, &found)) return;
    size_t plen = strlen(in->password);
    if (!found.count) { /* as long as a real check: no user enumeration by timing */
        if (chopin_password_verify_nobody(c, in->password, plen) == 0) bad_login(c);
        return;
    }
    chopin_auth_user *u = found.items;
    int ok = chopin_password_verify(c, u->password_hash, in->password, plen);
    if (ok < 0) {
        if (!chopin_responded(c))
            chopin_error(c, 500, "INTERNAL_ERROR", "unreadable password hash");
        return;
    }
    if (!ok) {
        bad_login(c);
        return;
    }
    if (!u->is_active) {
        chopin_error(c, 401, "ACCOUNT_DISABLED", "this account is deactivated");
        return;
    }
    if (chopin_password_needs_rehash(u->password_hash)) { /* parameters changed since */
        char *hash = chopin_alloc(c, CHOPIN_PASSWORD_HASH_MAX);
        static const char *const only[] = {"password_hash", NULL};
        if (hash && !chopin_password_hash(c, in->password, plen, hash, CHOPIN_PASSWORD_HASH_MAX)) {
            u->password_hash = hash;
            if (chopin_orm_update_fields(c, &chopin_auth_user_model, u, only)) return;
        }
    }
    answer_tokens(c, 200, u);
}

static void me(chopin_ctx *c) {
    if (auth_guard(c, 0) == CHOPIN_STOP) return;
    const chopin_jwt_claims *who = chopin_auth_claims(c);
    chopin_auth_user *u = chopin_orm_find(c, &chopin_auth_user_model, chopin_arg_text(who->sub));
    if (!u) return; /* 404: the account is gone */
    if (!u->is_active) {
        chopin_error(c, 401, "ACCOUNT_DISABLED", "this account is deactivated");
        return;
    }
    chopin_json_model(c, 200, &chopin_auth_user_model, u);
}

int chopin_auth_mount(chopin_app *app, const char *prefix) {
    if (!prefix) prefix = "/api/auth";
    chopin_ctx *c = chopin_ctx_new(app);
    char *sql =
        chopin_orm_create_sql(&chopin_auth_user_model, chopin_db_dialect_of(chopin_app_db(app)));
    int rc = c && sql ? chopin_db_exec_script(c, sql) : -1;
    if (rc) {
        const chopin_db_error *e = c ? chopin_db_last_error(c) : NULL;
        fprintf(stderr, "chopin: cannot create the users table: %s\n",
                e ? e->detail : "out of memory");
    }
    free(sql);
    chopin_ctx_free(c);
    if (rc) return -1;
    chopin_group *g = chopin_group_new(app, prefix);
    chopin_group_route(g, CHOPIN_POST, "/signup", signup);
    chopin_group_route(g, CHOPIN_POST, "/login", login);
    chopin_group_route(g, CHOPIN_GET, "/me", me);
    return 0;
}
