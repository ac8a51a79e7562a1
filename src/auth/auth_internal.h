/* auth_internal.h - shared by the auth module's files. Internal. */
#ifndef CHOPIN_AUTH_INTERNAL_H
#define CHOPIN_AUTH_INTERNAL_H

#include "chopin/auth.h"

#include "../app/app_internal.h"

#include <pthread.h>

/* guard.c: what the auth middleware does, for handlers that check inline
 * (min_rank 0: any role). CHOPIN_STOP when it answered 401/403. */
chopin_flow auth_guard(chopin_ctx *c, int min_rank);

/* revoke.c */
revocations *revocations_new(void);
void revocations_free(revocations *r);

#endif
