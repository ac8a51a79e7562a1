/* revoke.c - revoked token ids, remembered until the token would have
 * expired anyway (keyed.c holds them). */
#include "auth_internal.h"

#include <string.h>
#include <time.h>

static void extend(keyed_entry *e, void *arg) {
    int64_t exp = *(const int64_t *)arg;
    if (e && exp > e->stamp) e->stamp = exp;
}

int chopin_auth_revoke(chopin_app *app, const char *jti, int64_t exp) {
    if (!app->revoked || !jti || !*jti || strlen(jti) >= KEYED_KEY_MAX) return -1;
    if (exp <= (int64_t)time(NULL)) return 0; /* expired already: nothing to remember */
    return keyed_with(app->revoked, jti, (int64_t)time(NULL), true, extend, &exp);
}

static void live(keyed_entry *e, void *arg) {
    bool *out = arg;
    *out = e && e->stamp > (int64_t)time(NULL);
}

bool chopin_auth_is_revoked(chopin_app *app, const char *jti) {
    bool revoked = false;
    if (app->revoked && jti && *jti)
        keyed_with(app->revoked, jti, (int64_t)time(NULL), false, live, &revoked);
    return revoked;
}
