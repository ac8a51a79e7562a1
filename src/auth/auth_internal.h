/* auth_internal.h - shared by the auth module's files. Internal. */
#ifndef CHOPIN_AUTH_INTERNAL_H
#define CHOPIN_AUTH_INTERNAL_H

#include "chopin/auth.h"

#include "../app/app_internal.h"

#include <pthread.h>

/* guard.c: what the auth middleware does, for handlers that check inline
 * (min_rank 0: any role). CHOPIN_STOP when it answered 401/403. */
chopin_flow auth_guard(chopin_ctx *c, int min_rank);
/* The rank an auth middleware requires (0: any valid token), or -1 when m is
 * not one of chopin_auth_required / chopin_auth_role. */
int auth_middleware_rank(const chopin_middleware *m);

/* ratelimit.c: fixed windows of window_s seconds on the clock, counted in
 * the app's cache. True when the key may go on (and counts it); false with
 * *retry_after in seconds when over limit. limit <= 0: no limit. */
bool rate_limit_take(chopin_ctx *c, const char *key, int limit, int window_s, int *retry_after);

#endif
