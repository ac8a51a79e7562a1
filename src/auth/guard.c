/* guard.c - the middleware that lets a request through only with a valid
 * access token (and a role high enough), and keeps its claims on the
 * request for the handler. */
#include "auth_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int chopin_auth_role_rank(const char *role) {
    static const char *const roles[] = {"user", "admin", "superuser"};
    for (int i = 0; role && i < 3; i++)
        if (!strcmp(role, roles[i])) return i + 1;
    return 0;
}

const chopin_jwt_claims *chopin_auth_claims(const chopin_ctx *c) {
    return c->auth_claims;
}

static chopin_flow refuse(chopin_ctx *c, const char *code, const char *message) {
    chopin_set_header(c, "WWW-Authenticate", "Bearer");
    chopin_error(c, 401, code, message);
    return CHOPIN_STOP;
}

/* "Bearer <token>" -> the token; the scheme is case-insensitive (RFC 9110). */
static bool bearer(chopin_str auth, chopin_str *token) {
    if (auth.len < 8 || strncasecmp(auth.ptr, "Bearer ", 7) != 0) return false;
    size_t i = 7;
    while (i < auth.len && auth.ptr[i] == ' ') i++;
    *token = (chopin_str){auth.ptr + i, auth.len - i};
    return token->len > 0;
}

static chopin_flow check(chopin_ctx *c, void *state) {
    return auth_guard(c, (int)(intptr_t)state);
}

chopin_flow auth_guard(chopin_ctx *c, int min_rank) {
    chopin_app *app = c->app;
    chopin_str token;
    if (!bearer(chopin_req_header(c, "Authorization"), &token))
        return refuse(c, "UNAUTHORIZED", "a bearer token is required");
    const chopin_config *cfg = chopin_app_config(app);
    chopin_jwt_expect want = {.iss = cfg->jwt_issuer[0] ? cfg->jwt_issuer : NULL,
                              .aud = cfg->jwt_audience[0] ? cfg->jwt_audience : NULL,
                              .typ = "access"};
    chopin_jwt_claims *claims = chopin_alloc(c, sizeof *claims);
    if (!claims) {
        chopin_error(c, 500, "INTERNAL_ERROR", "out of memory");
        return CHOPIN_STOP;
    }
    chopin_jwt_status st =
        chopin_jwt_verify(chopin_app_jwt_key(app), token.ptr, token.len, &want, claims);
    if (st == CHOPIN_JWT_EXPIRED) return refuse(c, "TOKEN_EXPIRED", "the token has expired");
    if (st != CHOPIN_JWT_OK) return refuse(c, "INVALID_TOKEN", "the token is not valid");
    char fam[80];
    snprintf(fam, sizeof fam, "fam:%s", claims->fam);
    if (chopin_auth_is_revoked(c, claims->jti) ||
        (claims->fam[0] && chopin_auth_is_revoked(c, fam)))
        return refuse(c, "TOKEN_REVOKED", "the token has been revoked");
    c->auth_claims = claims;
    if (chopin_auth_role_rank(claims->role) < min_rank) {
        chopin_error(c, 403, "FORBIDDEN", "your role does not allow this");
        return CHOPIN_STOP;
    }
    return CHOPIN_NEXT;
}

chopin_middleware chopin_auth_required(void) {
    return (chopin_middleware){.name = "auth", .before = check, .state = (void *)(intptr_t)0};
}

chopin_middleware chopin_auth_role(const char *min_role) {
    int rank = chopin_auth_role_rank(min_role);
    if (!rank) {
        chopin_log(CHOPIN_LOG_ERROR, "chopin_auth_role: the roles are user, admin, superuser",
                   "role", min_role ? min_role : "(null)", NULL);
        abort(); /* a programming error, met at start-up */
    }
    return (chopin_middleware){
        .name = "auth-role", .before = check, .state = (void *)(intptr_t)rank};
}

int auth_middleware_rank(const chopin_middleware *m) {
    return m->before == check ? (int)(intptr_t)m->state : -1;
}
