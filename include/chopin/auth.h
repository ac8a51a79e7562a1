/* chopin/auth.h - protecting routes with the app's tokens, and revoking
 * them.
 *
 *   chopin_group *api = chopin_group_new(app, "/api");
 *   chopin_group_use(api, chopin_auth_required());          // 401 without a valid token
 *   chopin_group *admin = chopin_group_sub(api, "/admin");
 *   chopin_group_use(admin, chopin_auth_role("admin"));      // 403 below admin
 *
 *   static void me(chopin_ctx *c) {
 *       const chopin_jwt_claims *who = chopin_auth_claims(c);  // sub, role, jti, exp
 *       ...
 *   }
 *
 * A request is authenticated by "Authorization: Bearer <access token>"
 * signed with the app's key (chopin_app_jwt_key: JWT_ALGORITHM, pinned), not
 * expired (60 s leeway), of type "access" (a refresh token is refused), with
 * JWT_ISSUER / JWT_AUDIENCE when set, and whose jti is not revoked. The role
 * comes from the token (no database read per request); roles are ordered
 * user < admin < superuser. Answers: 401 with "WWW-Authenticate: Bearer"
 * (codes UNAUTHORIZED: no token; INVALID_TOKEN; TOKEN_EXPIRED;
 * TOKEN_REVOKED), 403 FORBIDDEN for a role too low. */
#ifndef CHOPIN_AUTH_H
#define CHOPIN_AUTH_H

#include "app.h"
#include "jwt.h"
#include "model.h"

/* Middleware: the request must carry a valid access token. */
chopin_middleware chopin_auth_required(void);
/* Middleware: the same, and a role at least min_role ("user", "admin" or
 * "superuser"; anything else aborts start-up: a programming error). */
chopin_middleware chopin_auth_role(const char *min_role);

/* The verified claims of this request's token, or NULL when no auth
 * middleware ran or it failed. In the request arena. */
const chopin_jwt_claims *chopin_auth_claims(const chopin_ctx *c);

/* Rank of a role: user 1, admin 2, superuser 3, anything else 0. */
int chopin_auth_role_rank(const char *role);

/* Revokes the token with this jti until exp (seconds since the epoch; after
 * that it is expired anyway). Kept in the app's cache (chopin/cache.h): in
 * process memory, pinned so that other cached data never evicts it, or in
 * Redis (REDIS_URL), shared by every app server; login counters too. Works
 * in a handler (it may wait for Redis) and on a chopin_ctx_new context. */
int chopin_auth_revoke(chopin_ctx *c, const char *jti, int64_t exp);
bool chopin_auth_is_revoked(chopin_ctx *c, const char *jti);

/* --- Accounts --------------------------------------------------------------- */

/* A user, as the users table holds it (password_hash is never written to
 * JSON). The table: id, email (stored lowercase, unique), username (unique),
 * password_hash (argon2id, chopin/password.h), role, is_active, created_at,
 * updated_at; and refresh_tokens: jti, family, user_id, expires_at, used. */
typedef struct {
    int64_t id;
    const char *email;
    const char *username;
    const char *password_hash;
    const char *role; /* user | admin | superuser */
    bool is_active;
    int64_t created_at;
    int64_t updated_at;
} chopin_auth_user;
extern const chopin_model chopin_auth_user_model;

/* Creates the users table if it is missing and mounts, under prefix
 * (NULL: "/api/auth"):
 *   POST signup {email, username, password} -> 201 {access_token,
 *        refresh_token, token_type, expires_in, user}; 422 listing every
 *        invalid field; 409 when the email or username is taken
 *   POST login {email or username, password} -> 200, the same shape; 401
 *        with one message for an unknown user and a wrong password alike
 *        (both cost a password verification), 401 for a deactivated account
 *   GET  me (bearer token) -> 200 the user
 *   POST refresh {refresh_token} -> 200 a new pair of the same family; the
 *        old refresh token is used up, and presenting a used one again
 *        (stolen, or replayed) revokes its whole family: 401 TOKEN_REUSED
 *   POST logout (bearer token) -> 200; that access token and its refresh
 *        family are revoked
 * Returns 0, or -1 with a message on stderr (the table could not be made). */
int chopin_auth_mount(chopin_app *app, const char *prefix);

/* The same with routes left out: an app that makes its users itself turns
 * signup off, say. The tables are made whatever is mounted. */
typedef struct {
    const char *prefix; /* NULL: "/api/auth" */
    bool no_signup, no_login, no_me, no_refresh, no_logout;
} chopin_auth_options;
int chopin_auth_mount_with(chopin_app *app, const chopin_auth_options *opts);

#endif
