/* auth_internal.h - shared by the auth module's files. Internal. */
#ifndef CHOPIN_AUTH_INTERNAL_H
#define CHOPIN_AUTH_INTERNAL_H

#include "chopin/auth.h"

#include "../app/app_internal.h"

#include <pthread.h>

/* revoke.c */
revocations *revocations_new(void);
void revocations_free(revocations *r);

#endif
