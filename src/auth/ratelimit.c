/* ratelimit.c - fixed-window counters by key ("ip:203.0.113.7",
 * "account:#42") in keyed.c: the stamp is the end of the counted window,
 * the count the attempts in it. A Redis-backed limiter shared by app
 * servers comes with the cache layer. */
#include "auth_internal.h"

#include <time.h>

typedef struct {
    int64_t window_end;
    int limit;
    bool allowed;
} take;

static void count(keyed_entry *e, void *arg) {
    take *t = arg;
    if (!e) return;                  /* out of memory: do not lock people out for it */
    if (e->stamp != t->window_end) { /* a new window */
        e->stamp = t->window_end;
        e->count = 0;
    }
    if (e->count >= t->limit)
        t->allowed = false;
    else
        e->count++;
}

bool rate_limit_take(keyed_table *r, const char *key, int limit, int window_s, int *retry_after) {
    if (!r || limit <= 0 || window_s <= 0) return true; /* no limit configured */
    int64_t now = (int64_t)time(NULL);
    take t = {.window_end = now - now % window_s + window_s, .limit = limit, .allowed = true};
    keyed_with(r, key, now, true, count, &t);
    if (!t.allowed && retry_after) *retry_after = (int)(t.window_end - now);
    return t.allowed;
}
