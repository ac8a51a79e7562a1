/* ratelimit.c - fixed-window counters in the app's cache: one counter per
 * key and clock window ("chopin:limit:ip:203.0.113.7:1795779660"), counted
 * with the cache's increment and gone when the window is. */
#include "auth_internal.h"

#include "../cache/cache_internal.h"

#include <stdio.h>
#include <time.h>

bool rate_limit_take(chopin_ctx *c, const char *key, int limit, int window_s, int *retry_after) {
    if (limit <= 0 || window_s <= 0) return true; /* no limit configured */
    int64_t now = (int64_t)time(NULL), window_end = now - now % window_s + window_s;
    char counter[CACHE_KEY_MAX];
    int n = snprintf(counter, sizeof counter, "chopin:limit:%s:%lld", key, (long long)window_end);
    if (n < 0 || (size_t)n >= sizeof counter) return true;
    int64_t count;
    /* The counter lives a second past its window, so that a clock second
     * boundary never leaves a stale count behind. */
    if (cache_incr_flags(c, counter, (size_t)n, 1, (window_end - now + 1) * 1000, CACHE_PINNED,
                         &count))
        return true; /* no cache (out of memory, Redis down): do not lock people out for it */
    if (count <= limit) return true;
    if (retry_after) *retry_after = (int)(window_end - now);
    return false;
}
