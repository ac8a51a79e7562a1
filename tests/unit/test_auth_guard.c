/* test_auth_guard.c - routes behind chopin_auth_required / chopin_auth_role:
 * every way a token can be missing, wrong, expired, of the wrong type,
 * revoked or too weak, each with its exact answer; and the claims reach the
 * handler. */
#include <criterion/criterion.h>

#include <chopin.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

static chopin_app *app;

static void whoami(chopin_ctx *c) {
    const chopin_jwt_claims *who = chopin_auth_claims(c);
    char body[160];
    snprintf(body, sizeof body, "%s/%s", who ? who->sub : "-", who ? who->role : "-");
    chopin_text(c, 200, body);
}

static void open_route(chopin_ctx *c) {
    chopin_text(c, 200, chopin_auth_claims(c) ? "claims leaked" : "open");
}

static void setup(void) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    snprintf(cfg.jwt_secret, sizeof cfg.jwt_secret, "test-secret-test-secret-test-secret!");
    app = chopin_app_new_with(&cfg);
    cr_assert_not_null(app);
    chopin_group *api = chopin_group_new(app, "/api");
    chopin_group_use(api, chopin_auth_required());
    chopin_group_route(api, CHOPIN_GET, "/me", whoami);
    chopin_group *admin = chopin_group_new(app, "/admin");
    chopin_group_use(admin, chopin_auth_role("admin"));
    chopin_group_route(admin, CHOPIN_GET, "/me", whoami);
    chopin_group *root = chopin_group_new(app, "/root");
    chopin_group_use(root, chopin_auth_role("superuser"));
    chopin_group_route(root, CHOPIN_GET, "/me", whoami);
    chopin_get(app, "/open", open_route);
}

static void teardown(void) {
    chopin_app_free(app);
}

TestSuite(auth_guard, .init = setup, .fini = teardown);

/* A token from the app's key; exp relative to now. */
static const char *token(const char *sub, const char *role, const char *typ, int64_t exp_in,
                         char *jti_out) {
    static char buf[CHOPIN_JWT_MAX_LEN + 1];
    chopin_jwt_claims claims = {0};
    snprintf(claims.sub, sizeof claims.sub, "%s", sub);
    snprintf(claims.role, sizeof claims.role, "%s", role);
    snprintf(claims.typ, sizeof claims.typ, "%s", typ);
    claims.exp = (int64_t)time(NULL) + exp_in;
    if (exp_in < 0) claims.iat = claims.nbf = claims.exp - 3600;
    ssize_t n = chopin_jwt_sign(chopin_app_jwt_key(app), &claims, buf, sizeof buf);
    cr_assert_gt(n, 0);
    if (jti_out) strcpy(jti_out, claims.jti);
    return buf;
}

static chopin_test_response *get(const char *path, const char *auth) {
    char header[CHOPIN_JWT_MAX_LEN + 64];
    const char *headers[] = {header, NULL};
    if (auth) snprintf(header, sizeof header, "Authorization: %s", auth);
    chopin_test_response *r = chopin_test_request(app, "GET", path, auth ? headers : NULL, NULL, 0);
    cr_assert_not_null(r);
    return r;
}

static void expect(const char *path, const char *auth, int status, const char *fragment) {
    chopin_test_response *r = get(path, auth);
    cr_assert_eq(r->status, status, "%s with '%.40s': %d %s", path, auth ? auth : "(none)",
                 r->status, r->body);
    cr_assert(strstr(r->body, fragment), "%s: '%s' not in %s", path, fragment, r->body);
    if (status == 401) {
        const char *www = chopin_test_header(r, "WWW-Authenticate");
        cr_assert(www && !strcmp(www, "Bearer"), "401 says how to authenticate");
    }
    chopin_test_response_free(r);
}

Test(auth_guard, valid_tokens_pass_with_their_claims) {
    char auth[CHOPIN_JWT_MAX_LEN + 16];
    snprintf(auth, sizeof auth, "Bearer %s", token("42", "user", "access", 600, NULL));
    expect("/api/me", auth, 200, "42/user");
    snprintf(auth, sizeof auth, "bearer   %s", token("7", "admin", "access", 600, NULL));
    expect("/api/me", auth, 200, "7/admin");
    expect("/open", auth, 200, "open"); /* no guard, no claims */
    expect("/open", NULL, 200, "open");
}

Test(auth_guard, missing_or_bad_tokens_are_401) {
    expect("/api/me", NULL, 401, "\"code\":\"UNAUTHORIZED\"");
    expect("/api/me", "Basic dXNlcjpwdw==", 401, "\"code\":\"UNAUTHORIZED\"");
    expect("/api/me", "Bearer", 401, "\"code\":\"UNAUTHORIZED\"");
    expect("/api/me", "Bearer ", 401, "\"code\":\"UNAUTHORIZED\"");
    expect("/api/me", "Bearer not.a.token", 401, "\"code\":\"INVALID_TOKEN\"");
    expect("/api/me", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIiwiZXhwIjo5OTk5OTk5OTk5fQ.", 401,
           "\"code\":\"INVALID_TOKEN\""); /* alg none */
    char auth[CHOPIN_JWT_MAX_LEN + 16];
    snprintf(auth, sizeof auth, "Bearer %s", token("42", "user", "access", -120, NULL));
    expect("/api/me", auth, 401, "\"code\":\"TOKEN_EXPIRED\"");
    snprintf(auth, sizeof auth, "Bearer %s", token("42", "user", "refresh", 600, NULL));
    expect("/api/me", auth, 401, "\"code\":\"INVALID_TOKEN\""); /* a refresh token */
    /* tampered: one character of the payload changed */
    snprintf(auth, sizeof auth, "Bearer %s", token("42", "user", "access", 600, NULL));
    char *dot = strchr(auth + 7, '.');
    dot[3] = dot[3] == 'A' ? 'B' : 'A';
    expect("/api/me", auth, 401, "\"code\":\"INVALID_TOKEN\"");
    /* signed with another key */
    char err[128];
    chopin_jwt_key *other =
        chopin_jwt_key_hs256("another-secret-another-secret-another!", 38, err, sizeof err);
    chopin_jwt_claims claims = {.sub = "42", .role = "superuser", .typ = "access"};
    claims.exp = (int64_t)time(NULL) + 600;
    char forged[CHOPIN_JWT_MAX_LEN + 1];
    cr_assert_gt(chopin_jwt_sign(other, &claims, forged, sizeof forged), 0);
    chopin_jwt_key_free(other);
    snprintf(auth, sizeof auth, "Bearer %s", forged);
    expect("/root/me", auth, 401, "\"code\":\"INVALID_TOKEN\"");
}

Test(auth_guard, roles_are_ordered) {
    char auth[CHOPIN_JWT_MAX_LEN + 16];
    snprintf(auth, sizeof auth, "Bearer %s", token("1", "user", "access", 600, NULL));
    expect("/admin/me", auth, 403, "\"code\":\"FORBIDDEN\"");
    snprintf(auth, sizeof auth, "Bearer %s", token("2", "admin", "access", 600, NULL));
    expect("/admin/me", auth, 200, "2/admin");
    expect("/root/me", auth, 403, "\"code\":\"FORBIDDEN\"");
    snprintf(auth, sizeof auth, "Bearer %s", token("3", "superuser", "access", 600, NULL));
    expect("/admin/me", auth, 200, "3/superuser");
    expect("/root/me", auth, 200, "3/superuser");
    snprintf(auth, sizeof auth, "Bearer %s", token("4", "wizard", "access", 600, NULL));
    expect("/api/me", auth, 200, "4/wizard");    /* authenticated, */
    expect("/admin/me", auth, 403, "FORBIDDEN"); /* but an unknown role ranks lowest */
    cr_assert_eq(chopin_auth_role_rank("admin"), 2);
    cr_assert_eq(chopin_auth_role_rank("Admin"), 0);
}

Test(auth_guard, revoked_tokens_are_401_until_they_expire) {
    chopin_ctx *c = chopin_ctx_new(app);
    char jti[64], auth[CHOPIN_JWT_MAX_LEN + 16];
    snprintf(auth, sizeof auth, "Bearer %s", token("42", "user", "access", 600, jti));
    expect("/api/me", auth, 200, "42/user");
    cr_assert(!chopin_auth_is_revoked(c, jti));
    cr_assert_eq(chopin_auth_revoke(c, jti, (int64_t)time(NULL) + 600), 0);
    cr_assert(chopin_auth_is_revoked(c, jti));
    expect("/api/me", auth, 401, "\"code\":\"TOKEN_REVOKED\"");
    /* other tokens of the same user are not */
    snprintf(auth, sizeof auth, "Bearer %s", token("42", "user", "access", 600, NULL));
    expect("/api/me", auth, 200, "42/user");
    /* an id whose token expired already is not kept */
    cr_assert_eq(chopin_auth_revoke(c, "old-jti", (int64_t)time(NULL) - 1), 0);
    cr_assert(!chopin_auth_is_revoked(c, "old-jti"));
    /* many revocations: all remembered (the shards grow) */
    char id[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof id, "j%d", i);
        cr_assert_eq(chopin_auth_revoke(c, id, (int64_t)time(NULL) + 600), 0);
    }
    for (int i = 0; i < 5000; i += 97) {
        snprintf(id, sizeof id, "j%d", i);
        cr_assert(chopin_auth_is_revoked(c, id), "%s", id);
    }
    cr_assert(!chopin_auth_is_revoked(c, "j5000"));
    cr_assert(chopin_auth_is_revoked(c, jti));
    chopin_ctx_free(c);
}
