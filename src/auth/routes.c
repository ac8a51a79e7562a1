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

/* One issued refresh token: rotation marks it used; presenting a used one
 * again means it was stolen, and its whole family is revoked. */
typedef struct {
    const char *jti;
    const char *family;
    int64_t user_id;
    int64_t expires_at;
    bool used;
    int64_t created_at;
} refresh_row;
#define REFRESH_FIELDS(F)                                                                          \
    F(refresh_row, jti, CHOPIN_STRING, .primary_key = true, .required = true),                     \
        F(refresh_row, family, CHOPIN_STRING, .required = true, .indexed = true),                  \
        F(refresh_row, user_id, CHOPIN_INT64, .references = &chopin_auth_user_model),              \
        F(refresh_row, expires_at, CHOPIN_TIMESTAMP), F(refresh_row, used, CHOPIN_BOOL),           \
        F(refresh_row, created_at, CHOPIN_TIMESTAMP, CHOPIN_CREATED_AT)
static const chopin_field refresh_fields[] = {REFRESH_FIELDS(CHOPIN_FIELD)};
static const chopin_model refresh_model = {.name = "refresh_token",
                                           .size = sizeof(refresh_row),
                                           .fields = refresh_fields,
                                           .count =
                                               sizeof refresh_fields / sizeof refresh_fields[0],
                                           .table = "refresh_tokens"};

/* What signup and login read. */
typedef struct {
    const char *email;
    const char *username;
    const char *password;
} credentials;
#define SIGNUP_FIELDS(F)                                                                           \
    F(credentials, email, CHOPIN_STRING, .required = true, .format = "email", .max_len = 254),     \
        F(credentials, username, CHOPIN_STRING, .required = true, .min_len = 3, .max_len = 32,     \
          .format = "handle"),                                                                     \
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

/* --- Tokens --------------------------------------------------------------------- */

static void random_id(char *out, size_t len) {
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) memset(b, 0, sizeof b);
    size_t n = (len - 1) / 2 < sizeof b ? (len - 1) / 2 : sizeof b;
    hex_encode(out, b, n);
}

/* {"access_token":...,"refresh_token":...,"token_type":"Bearer",
 *  "expires_in":N,"user":{...}} in the success envelope. family: the
 * refresh family to continue (a rotation), or NULL for a new one. Both
 * tokens carry it, so that revoking the family ends the access token too. */
typedef struct {
    char *access, *refresh;
    size_t access_len, refresh_len;
    int64_t expires_in;
} token_pair;

/* Signs the pair and records the refresh token (in the caller's
 * transaction, if any). 0, or -1 with the answer given or the failure kept. */
static int issue_tokens(chopin_ctx *c, const chopin_auth_user *u, const char *family,
                        token_pair *out) {
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
    if (family)
        snprintf(refresh.fam, sizeof refresh.fam, "%s", family);
    else
        random_id(refresh.fam, sizeof refresh.fam);
    snprintf(access.fam, sizeof access.fam, "%s", refresh.fam);
    refresh.exp = now + (int64_t)cfg->jwt_refresh_expiry_days * 86400;
    out->access = chopin_alloc(c, CHOPIN_JWT_MAX_LEN + 1);
    out->refresh = chopin_alloc(c, CHOPIN_JWT_MAX_LEN + 1);
    ssize_t an =
        out->access ? chopin_jwt_sign(key, &access, out->access, CHOPIN_JWT_MAX_LEN + 1) : -1;
    ssize_t rn =
        out->refresh ? chopin_jwt_sign(key, &refresh, out->refresh, CHOPIN_JWT_MAX_LEN + 1) : -1;
    if (an < 0 || rn < 0) {
        chopin_error(c, 500, "INTERNAL_ERROR", "cannot sign tokens (a verify-only key?)");
        return -1;
    }
    out->access_len = (size_t)an;
    out->refresh_len = (size_t)rn;
    out->expires_in = access_s;
    refresh_row row = {.jti = refresh.jti,
                       .family = refresh.fam,
                       .user_id = u->id,
                       .expires_at = refresh.exp * 1000000};
    return chopin_orm_insert(c, &refresh_model, &row);
}

/* The answer of signup, login and refresh; a model, so that it is also
 * what the OpenAPI document says. */
typedef struct {
    const char *access_token;
    const char *refresh_token;
    const char *token_type;
    int64_t expires_in;
    chopin_auth_user user;
} tokens_answer;
#define TOKENS_FIELDS(F)                                                                           \
    F(tokens_answer, access_token, CHOPIN_STRING, .required = true),                               \
        F(tokens_answer, refresh_token, CHOPIN_STRING, .required = true),                          \
        F(tokens_answer, token_type, CHOPIN_ENUM, .required = true, CHOPIN_ONE_OF("Bearer")),      \
        F(tokens_answer, expires_in, CHOPIN_INT64, .required = true),                              \
        F(tokens_answer, user, CHOPIN_OBJECT, .required = true, .model = &chopin_auth_user_model)
static const chopin_field tokens_fields[] = {TOKENS_FIELDS(CHOPIN_FIELD)};
static const chopin_model tokens_model = {
    .name = "tokens", .size = sizeof(tokens_answer), .fields = tokens_fields, .count = 5};

static void write_tokens(chopin_ctx *c, int status, const chopin_auth_user *u,
                         const token_pair *t) {
    tokens_answer a = {.access_token = t->access,
                       .refresh_token = t->refresh,
                       .token_type = "Bearer",
                       .expires_in = t->expires_in,
                       .user = *u};
    chopin_json_model(c, status, &tokens_model, &a);
}

/* A new family (signup, login): issued and answered. */
static void answer_tokens(chopin_ctx *c, int status, const chopin_auth_user *u) {
    token_pair t;
    if (!issue_tokens(c, u, NULL, &t)) write_tokens(c, status, u, &t);
}

/* --- Routes ------------------------------------------------------------------------- */

/* True (429 answered, with Retry-After) when kind:who is over its limit
 * for this minute. The attempt counts either way. */
static bool too_many(chopin_ctx *c, const char *kind, const char *who, int limit) {
    if (!who || !*who) return false;
    char key[160];
    snprintf(key, sizeof key, "%s:%s", kind, who);
    int retry = 0;
    if (rate_limit_take(c, key, limit, 60, &retry)) return false;
    char seconds[16];
    snprintf(seconds, sizeof seconds, "%d", retry > 0 ? retry : 1);
    chopin_set_header(c, "Retry-After", seconds);
    chopin_error(c, 429, "TOO_MANY_REQUESTS", "too many attempts: try again later");
    return true;
}

static bool ip_too_many(chopin_ctx *c) {
    chopin_str ip = chopin_client_addr(c);
    return too_many(c, "ip", ip.ptr, chopin_app_config(c->app)->auth_login_limit_per_ip);
}

static void signup(chopin_ctx *c) {
    if (ip_too_many(c)) return;
    credentials *in = chopin_bind(c, &signup_model);
    if (!in) return;
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
    /* The user and its first tokens together: a key that cannot sign (a
     * verify-only deployment) leaves no account behind. */
    token_pair t;
    if (chopin_db_begin(c)) return;
    if (chopin_orm_insert(c, &chopin_auth_user_model, &u) || issue_tokens(c, &u, NULL, &t)) {
        chopin_db_rollback(c); /* 409 names the email or username; 500 for a key */
        return;
    }
    if (chopin_db_commit(c)) return;
    write_tokens(c, 201, &u, &t);
}

static void bad_login(chopin_ctx *c) {
    chopin_error(c, 401, "INVALID_CREDENTIALS", "wrong email, username or password");
}

static void login(chopin_ctx *c) {
    if (ip_too_many(c)) return;
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
    /* Counted per account, whichever of its names the request gives; an
     * unknown name counts for itself. */
    char account[48];
    if (found.count)
        snprintf(account, sizeof account, "#%lld",
                 (long long)((chopin_auth_user *)found.items)->id);
    else
        snprintf(account, sizeof account, "%.40s", in->email ? lower(c, in->email) : in->username);
    if (too_many(c, "account", account, chopin_app_config(c->app)->auth_login_limit_per_account))
        return;
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

static void me(chopin_ctx *c) { /* .auth: the guard ran */
    const chopin_jwt_claims *who = chopin_auth_claims(c);
    chopin_auth_user *u = chopin_orm_find(c, &chopin_auth_user_model, chopin_arg_text(who->sub));
    if (!u) return; /* 404: the account is gone */
    if (!u->is_active) {
        chopin_error(c, 401, "ACCOUNT_DISABLED", "this account is deactivated");
        return;
    }
    chopin_json_model(c, 200, &chopin_auth_user_model, u);
}

/* Revokes a family: its rows are marked used (any of them presented again
 * is refused), and its access tokens are refused by the guard until the
 * longest of them could have lived. */
static int revoke_family(chopin_ctx *c, const char *family) {
    const chopin_config *cfg = chopin_app_config(c->app);
    char key[80];
    snprintf(key, sizeof key, "fam:%s", family);
    chopin_auth_revoke(c, key, (int64_t)time(NULL) + (int64_t)cfg->jwt_expiry_hours * 3600);
    return chopin_sql(c, "UPDATE refresh_tokens SET used = $1 WHERE family = $2",
                      chopin_arg_bool(true), chopin_arg_text(family))
               ? 0
               : -1;
}

typedef struct {
    const char *refresh_token;
} refresh_body;
#define REFRESH_BODY_FIELDS(F)                                                                     \
    F(refresh_body, refresh_token, CHOPIN_STRING, .required = true, .max_len = CHOPIN_JWT_MAX_LEN)
static const chopin_field refresh_body_fields[] = {REFRESH_BODY_FIELDS(CHOPIN_FIELD)};
static const chopin_model refresh_body_model = {
    .name = "refresh", .size = sizeof(refresh_body), .fields = refresh_body_fields, .count = 1};

static void refresh(chopin_ctx *c) {
    refresh_body *in = chopin_bind(c, &refresh_body_model);
    if (!in) return;
    const chopin_config *cfg = chopin_app_config(c->app);
    chopin_jwt_expect want = {.iss = cfg->jwt_issuer[0] ? cfg->jwt_issuer : NULL,
                              .aud = cfg->jwt_audience[0] ? cfg->jwt_audience : NULL,
                              .typ = "refresh"};
    chopin_jwt_claims t;
    chopin_jwt_status st = chopin_jwt_verify(chopin_app_jwt_key(c->app), in->refresh_token,
                                             strlen(in->refresh_token), &want, &t);
    if (st != CHOPIN_JWT_OK) {
        chopin_error(c, 401, st == CHOPIN_JWT_EXPIRED ? "TOKEN_EXPIRED" : "INVALID_TOKEN",
                     "the refresh token is not valid");
        return;
    }
    /* One transaction: two requests racing with the same token cannot both
     * rotate it. */
    if (chopin_db_begin(c)) return;
    refresh_row *row = chopin_orm_find(c, &refresh_model, chopin_arg_text(t.jti));
    if (!row) {
        chopin_db_rollback(c);
        if (chopin_db_last_error(c)->status == CHOPIN_DB_NOT_FOUND)
            chopin_error(c, 401, "INVALID_TOKEN", "the refresh token is not valid");
        return;
    }
    if (row->used) { /* presented twice: stolen, or replayed; end the family */
        chopin_db_rollback(c);
        if (!revoke_family(c, row->family))
            chopin_error(c, 401, "TOKEN_REUSED",
                         "this refresh token was already used: sign in again");
        return;
    }
    static const char *const used_only[] = {"used", NULL};
    row->used = true;
    chopin_auth_user *u = NULL;
    if (chopin_orm_update_fields(c, &refresh_model, row, used_only) ||
        !(u = chopin_orm_find(c, &chopin_auth_user_model, chopin_arg_int(row->user_id)))) {
        chopin_db_rollback(c);
        return;
    }
    if (!u->is_active) {
        chopin_db_commit(c);
        chopin_error(c, 401, "ACCOUNT_DISABLED", "this account is deactivated");
        return;
    }
    /* Committed before answering: a client never holds a pair whose
     * refresh token was not recorded. */
    token_pair pair;
    if (issue_tokens(c, u, row->family, &pair)) {
        chopin_db_rollback(c);
        return;
    }
    if (chopin_db_commit(c)) return;
    write_tokens(c, 200, u, &pair);
}

typedef struct {
    bool logged_out;
} logout_answer;
#define LOGOUT_FIELDS(F) F(logout_answer, logged_out, CHOPIN_BOOL, .required = true)
static const chopin_field logout_fields[] = {LOGOUT_FIELDS(CHOPIN_FIELD)};
static const chopin_model logout_model = {
    .name = "logged_out", .size = sizeof(logout_answer), .fields = logout_fields, .count = 1};

static void logout(chopin_ctx *c) { /* .auth: the guard ran */
    const chopin_jwt_claims *who = chopin_auth_claims(c);
    if (chopin_auth_revoke(c, who->jti, who->exp)) {
        chopin_error(c, 500, "INTERNAL_ERROR", "cannot revoke");
        return;
    }
    if (who->fam[0] && revoke_family(c, who->fam)) return;
    chopin_json_model(c, 200, &logout_model, &(logout_answer){true});
}

int chopin_auth_mount(chopin_app *app, const char *prefix) {
    chopin_auth_options o = {.prefix = prefix};
    return chopin_auth_mount_with(app, &o);
}

/* A table of that name made by someone else (the app's own users table)
 * would fail every signup with a 500: say so at start instead. 0 when
 * every column of the model is there. */
static int check_columns(chopin_ctx *c, const chopin_model *m) {
    /* Bare column names: SQLite reads a double-quoted name that is no
     * column as a string, and the check would pass. */
    char sql[512];
    size_t n = (size_t)snprintf(sql, sizeof sql, "SELECT ");
    for (size_t i = 0; i < m->count && n < sizeof sql; i++)
        n += (size_t)snprintf(sql + n, sizeof sql - n, "%s%s", i ? ", " : "", m->fields[i].name);
    if (n < sizeof sql) snprintf(sql + n, sizeof sql - n, " FROM \"%s\" WHERE 1 = 0", m->table);
    if (chopin_sql(c, sql)) return 0;
    const chopin_db_error *e = chopin_db_last_error(c);
    chopin_log(CHOPIN_LOG_ERROR,
               "the accounts' table exists without the columns Chopin's auth needs: rename "
               "yours, or set AUTH_ROUTES=off and do not mount the auth routes",
               "table", m->table, "error", e ? e->detail : "unknown", NULL);
    return -1;
}

int chopin_auth_mount_with(chopin_app *app, const chopin_auth_options *opts) {
    const char *prefix = opts && opts->prefix ? opts->prefix : "/api/auth";
    chopin_ctx *c = chopin_ctx_new(app);
    chopin_db_dialect d = chopin_db_dialect_of(chopin_app_db(app));
    char *sql = chopin_orm_create_sql(&chopin_auth_user_model, d);
    char *sql2 = chopin_orm_create_sql(&refresh_model, d);
    int rc = c && sql && sql2 ? chopin_db_exec_script(c, sql) : -1;
    if (!rc) rc = chopin_db_exec_script(c, sql2);
    free(sql2);
    bool tables_made = !rc;
    if (!rc) rc = check_columns(c, &chopin_auth_user_model) || check_columns(c, &refresh_model);
    if (rc && !tables_made) {
        const chopin_db_error *e = c ? chopin_db_last_error(c) : NULL;
        chopin_log(CHOPIN_LOG_ERROR, "cannot create the users and refresh_tokens tables", "error",
                   e ? e->detail : "out of memory", NULL);
    }
    free(sql);
    chopin_ctx_free(c);
    if (rc) return -1;
    app->auth_mounted = true;
    chopin_group *g = chopin_group_new(app, prefix);
    static const chopin_auth_options all = {0};
    if (!opts) opts = &all;
    if (!opts->no_signup)
        chopin_group_route_with(
            g, CHOPIN_POST, "/signup", signup,
            &(chopin_route_options){
                .summary = "Create an account and sign in",
                .tags = "auth",
                .body = &signup_model,
                .responses = {{.status = 201, .model = &tokens_model},
                              {.status = 409, .description = "The email or the username is taken"},
                              {.status = 429}},
            });
    if (!opts->no_login)
        chopin_group_route_with(
            g, CHOPIN_POST, "/login", login,
            &(chopin_route_options){
                .summary = "Sign in with an email or a username",
                .tags = "auth",
                .description = "Give email or username, and the password. Unknown accounts and "
                               "wrong passwords get the same 401.",
                .body = &login_model,
                .responses = {{.status = 200, .model = &tokens_model},
                              {.status = 401,
                               .description = "Wrong credentials, or a deactivated account"},
                              {.status = 429}},
            });
    if (!opts->no_me)
        chopin_group_route_with(
            g, CHOPIN_GET, "/me", me,
            &(chopin_route_options){
                .summary = "The signed-in account",
                .tags = "auth",
                .auth = "user",
                .responses = {{.status = 200, .model = &chopin_auth_user_model}, {.status = 404}},
            });
    if (!opts->no_refresh)
        chopin_group_route_with(
            g, CHOPIN_POST, "/refresh", refresh,
            &(chopin_route_options){
                .summary = "Trade a refresh token for a new pair",
                .tags = "auth",
                .description = "The refresh token is used up; presenting a used one again "
                               "revokes its whole family (401 TOKEN_REUSED).",
                .body = &refresh_body_model,
                .responses = {{.status = 200, .model = &tokens_model},
                              {.status = 401,
                               .description = "Invalid, expired, revoked or reused token"}},
            });
    if (!opts->no_logout)
        chopin_group_route_with(g, CHOPIN_POST, "/logout", logout,
                                &(chopin_route_options){
                                    .summary = "Revoke this token and its refresh family",
                                    .tags = "auth",
                                    .auth = "user",
                                    .responses = {{.status = 200, .model = &logout_model}},
                                });
    return 0;
}
