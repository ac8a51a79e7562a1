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

/* keyed.c: a sharded table of short keys, each with a stamp (seconds; an
 * entry whose stamp has passed is dropped when its shard grows) and a count. */
#define KEYED_KEY_MAX 96
typedef struct {
    char key[KEYED_KEY_MAX];
    int64_t stamp; /* 0: an empty slot */
    int count;
} keyed_entry;
typedef struct keyed_table keyed_table;
keyed_table *keyed_new(void);
void keyed_free(keyed_table *t);
/* Calls fn with key's entry under its shard's lock (NULL when absent and
 * not created, or out of memory); a created entry has stamp 0: fn must set
 * it. Returns 0, or -1 when growing the shard failed. */
int keyed_with(keyed_table *t, const char *key, int64_t now, bool create,
               void (*fn)(keyed_entry *e, void *arg), void *arg);

/* ratelimit.c: fixed windows of window_s seconds. True when the key may go
 * on (and counts it); false with *retry_after in seconds when over limit.
 * limit <= 0: no limit. */
bool rate_limit_take(keyed_table *r, const char *key, int limit, int window_s, int *retry_after);

#endif
