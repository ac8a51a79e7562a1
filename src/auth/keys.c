/* keys.c - the app's token key, from configuration: JWT_ALGORITHM with
 * JWT_SECRET or the key files. Production refuses to start without a real
 * secret; development makes a random one (tokens then die with the process)
 * and says so at start-up. */
#include "chopin/jwt.h"

#include "../app/app_internal.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

int app_jwt_init(chopin_app *app, char *err, size_t err_len) {
    const chopin_config *cfg = &app->cfg;
    char why[256] = "";
    if (cfg->jwt_algorithm != CHOPIN_JWT_ALG_HS256) {
        chopin_jwt_alg alg =
            cfg->jwt_algorithm == CHOPIN_JWT_ALG_RS256 ? CHOPIN_JWT_RS256 : CHOPIN_JWT_EDDSA;
        const char *path =
            cfg->jwt_private_key_file[0] ? cfg->jwt_private_key_file : cfg->jwt_public_key_file;
        if (!path[0]) {
            snprintf(err, err_len,
                     "JWT_ALGORITHM=%s needs JWT_PRIVATE_KEY_FILE (to sign) or "
                     "JWT_PUBLIC_KEY_FILE (to verify only)",
                     alg == CHOPIN_JWT_RS256 ? "RS256" : "EdDSA");
            return -1;
        }
        app->jwt_key = chopin_jwt_key_pem_file(alg, path, why, sizeof why);
        if (!app->jwt_key) snprintf(err, err_len, "JWT key %s: %s", path, why);
        return app->jwt_key ? 0 : -1;
    }
    size_t len = strlen(cfg->jwt_secret);
    if (!len) {
        if (cfg->environment == CHOPIN_ENV_PRODUCTION) {
            snprintf(err, err_len,
                     "ENVIRONMENT=production needs JWT_SECRET (at least %d bytes, e.g. "
                     "`openssl rand -base64 48`)",
                     CHOPIN_JWT_HS256_MIN_SECRET);
            return -1;
        }
        unsigned char random_secret[48];
        if (getrandom(random_secret, sizeof random_secret, 0) != (ssize_t)sizeof random_secret) {
            snprintf(err, err_len, "no random bytes for a development JWT secret");
            return -1;
        }
        app->jwt_key = chopin_jwt_key_hs256(random_secret, sizeof random_secret, why, sizeof why);
        memset(random_secret, 0, sizeof random_secret);
        app->jwt_secret_generated = true;
    } else {
        app->jwt_key = chopin_jwt_key_hs256(cfg->jwt_secret, len, why, sizeof why);
    }
    if (!app->jwt_key) snprintf(err, err_len, "JWT_SECRET: %s", why);
    return app->jwt_key ? 0 : -1;
}

const chopin_jwt_key *chopin_app_jwt_key(chopin_app *app) {
    return app->jwt_key;
}
