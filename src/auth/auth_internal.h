/* auth_internal.h - shared by the auth module's files. Internal. */
#ifndef CHOPIN_AUTH_INTERNAL_H
#define CHOPIN_AUTH_INTERNAL_H

#include "chopin/auth.h"

#include "../app/app_internal.h"

#include <pthread.h>

/* guard.c: what the auth middleware does, for handlers that check inline
 * (min_rank 0: any role). CHOPIN_STOP when it answered 401/403. */
chopin_flow auth_guard(chopin_ctx *c, int min_rank);

/* ratelimit.c: fixed windows of window_s seconds. True when the key may go
 * on (and counts it); false with *retry_after in seconds when over limit.
 * limit <= 0: no limit. */
typedef struct rate_limiter rate_limiter;
rate_limiter *rate_limiter_new(void);
void rate_limiter_free(rate_limiter *r);
bool rate_limit_take(rate_limiter *r, const char *key, int limit, int window_s, int *retry_after);

/* revoke.c */
revocations *revocations_new(void);
void revocations_free(revocations *r);

#endif
