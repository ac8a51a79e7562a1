/* test_auth_keys.c - the app's token key from configuration: production
 * refuses to start without a real secret, development makes one, key files
 * for RS256 and EdDSA, and the key signs tokens that verify. */
#include <criterion/criterion.h>

#include <chopin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static chopin_app *app_with(chopin_environment env, const char *secret, chopin_jwt_algorithm alg,
                            const char *private_key, const char *public_key) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    cfg.environment = env;
    cfg.jwt_algorithm = alg;
    snprintf(cfg.jwt_secret, sizeof cfg.jwt_secret, "%s", secret ? secret : "");
    snprintf(cfg.jwt_private_key_file, sizeof cfg.jwt_private_key_file, "%s",
             private_key ? private_key : "");
    snprintf(cfg.jwt_public_key_file, sizeof cfg.jwt_public_key_file, "%s",
             public_key ? public_key : "");
    return chopin_app_new_with(&cfg);
}

/* The app's key signs an access token that it verifies. */
static void signs_and_verifies(chopin_app *app) {
    const chopin_jwt_key *k = chopin_app_jwt_key(app);
    cr_assert_not_null(k);
    chopin_jwt_claims claims = {.sub = "42", .role = "user", .typ = "access"};
    claims.exp = (int64_t)time(NULL) + 60;
    char token[CHOPIN_JWT_MAX_LEN + 1];
    ssize_t n = chopin_jwt_sign(k, &claims, token, sizeof token);
    cr_assert_gt(n, 0);
    chopin_jwt_claims out;
    chopin_jwt_expect want = {.typ = "access"};
    cr_assert_eq(chopin_jwt_verify(k, token, (size_t)n, &want, &out), CHOPIN_JWT_OK);
    cr_assert_str_eq(out.sub, "42");
}

Test(auth_keys, production_needs_a_real_secret) {
    cr_assert_null(app_with(CHOPIN_ENV_PRODUCTION, NULL, CHOPIN_JWT_ALG_HS256, NULL, NULL));
    cr_assert_null(
        app_with(CHOPIN_ENV_PRODUCTION, "short-secret", CHOPIN_JWT_ALG_HS256, NULL, NULL));
    cr_assert_null(
        app_with(CHOPIN_ENV_DEVELOPMENT, "short-secret", CHOPIN_JWT_ALG_HS256, NULL, NULL),
        "a short secret is refused in any environment");
    chopin_app *app = app_with(CHOPIN_ENV_PRODUCTION, "0123456789abcdef0123456789abcdef",
                               CHOPIN_JWT_ALG_HS256, NULL, NULL);
    cr_assert_not_null(app);
    signs_and_verifies(app);
    chopin_app_free(app);
}

Test(auth_keys, development_makes_a_random_secret) {
    chopin_app *a = app_with(CHOPIN_ENV_DEVELOPMENT, NULL, CHOPIN_JWT_ALG_HS256, NULL, NULL);
    chopin_app *b = app_with(CHOPIN_ENV_DEVELOPMENT, NULL, CHOPIN_JWT_ALG_HS256, NULL, NULL);
    cr_assert(a && b);
    signs_and_verifies(a);
    /* Two apps, two secrets: a's token does not verify with b's key. */
    chopin_jwt_claims claims = {.sub = "1", .typ = "access"};
    claims.exp = (int64_t)time(NULL) + 60;
    char token[CHOPIN_JWT_MAX_LEN + 1];
    ssize_t n = chopin_jwt_sign(chopin_app_jwt_key(a), &claims, token, sizeof token);
    chopin_jwt_claims out;
    cr_assert_eq(chopin_jwt_verify(chopin_app_jwt_key(b), token, (size_t)n, NULL, &out),
                 CHOPIN_JWT_BAD_SIGNATURE);
    chopin_app_free(a);
    chopin_app_free(b);
}

Test(auth_keys, rs256_and_eddsa_from_key_files) {
    char dir[] = "/tmp/chopin-keys-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "cd %s && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem "
             "2>/dev/null && openssl pkey -in rsa.pem -pubout -out rsa.pub && openssl genpkey "
             "-algorithm ed25519 -out ed.pem && openssl pkey -in ed.pem -pubout -out ed.pub",
             dir);
    cr_assert_eq(system(cmd), 0);
    char rsa[96], rsa_pub[96], ed[96];
    snprintf(rsa, sizeof rsa, "%s/rsa.pem", dir);
    snprintf(rsa_pub, sizeof rsa_pub, "%s/rsa.pub", dir);
    snprintf(ed, sizeof ed, "%s/ed.pem", dir);
    chopin_app *app = app_with(CHOPIN_ENV_PRODUCTION, NULL, CHOPIN_JWT_ALG_RS256, rsa, NULL);
    cr_assert_not_null(app, "RS256 needs no JWT_SECRET");
    signs_and_verifies(app);
    chopin_app_free(app);
    app = app_with(CHOPIN_ENV_PRODUCTION, NULL, CHOPIN_JWT_ALG_EDDSA, ed, NULL);
    cr_assert_not_null(app);
    signs_and_verifies(app);
    chopin_app_free(app);
    /* A public key alone verifies but cannot sign. */
    app = app_with(CHOPIN_ENV_PRODUCTION, NULL, CHOPIN_JWT_ALG_RS256, NULL, rsa_pub);
    cr_assert_not_null(app);
    chopin_jwt_claims claims = {.sub = "1", .typ = "access"};
    claims.exp = (int64_t)time(NULL) + 60;
    char token[CHOPIN_JWT_MAX_LEN + 1];
    cr_assert_lt(chopin_jwt_sign(chopin_app_jwt_key(app), &claims, token, sizeof token), 0);
    chopin_app_free(app);
    /* The wrong kind of key, or none, stops start-up. */
    cr_assert_null(app_with(CHOPIN_ENV_PRODUCTION, NULL, CHOPIN_JWT_ALG_EDDSA, rsa, NULL));
    cr_assert_null(app_with(CHOPIN_ENV_PRODUCTION, NULL, CHOPIN_JWT_ALG_RS256, NULL, NULL));
    cr_assert_null(
        app_with(CHOPIN_ENV_PRODUCTION, NULL, CHOPIN_JWT_ALG_RS256, "/nonexistent.pem", NULL));
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}
