/* revoke.c - revoked token ids, kept in the app's cache until the token
 * would have expired anyway: in this process's store, pinned so that no
 * amount of other cached data pushes a revocation out, or in Redis, where
 * every app server sees it. */
#include "auth_internal.h"

#include "../cache/cache_internal.h"

#include "../app/ctx_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define REVOKED_PREFIX "chopin:revoked:"
#define JTI_MAX        256

static size_t revoked_key(char *out, size_t cap, const char *jti) {
    return (size_t)snprintf(out, cap, REVOKED_PREFIX "%s", jti);
}

int chopin_auth_revoke(chopin_ctx *c, const char *jti, int64_t exp) {
    if (!jti || !*jti || strlen(jti) > JTI_MAX) return -1;
    int64_t now = (int64_t)time(NULL);
    if (exp <= now) return 0; /* expired already: nothing to remember */
    char key[sizeof REVOKED_PREFIX + JTI_MAX];
    size_t klen = revoked_key(key, sizeof key, jti);
    return cache_set_flags(c, key, klen, "1", 1, (exp - now) * 1000, CACHE_PINNED);
}

bool chopin_auth_is_revoked(chopin_ctx *c, const char *jti) {
    if (!jti || !*jti || strlen(jti) > JTI_MAX) return false;
    char key[sizeof REVOKED_PREFIX + JTI_MAX];
    size_t klen = revoked_key(key, sizeof key, jti);
    return cache_exists_key(c, key, klen);
}
