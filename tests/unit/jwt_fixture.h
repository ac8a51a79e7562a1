/* jwt_fixture.h - what the test_jwt_*.c suites share: the time, secret and
 * buffer size the tokens are made for, status names, keys, full claims, and
 * verification.
 *
 * Keys are made at test time with the openssl command into a temporary
 * directory (one per test process, removed at exit). Every token is verified
 * from an exact-size heap copy, so AddressSanitizer sees a read past its
 * end. Each suite is an executable of its own, so the static state here is
 * its own too. */
#ifndef CHOPIN_TESTS_JWT_FIXTURE_H
#define CHOPIN_TESTS_JWT_FIXTURE_H

#include <criterion/criterion.h>

#include <chopin/jwt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOW    INT64_C(1700000000)
#define TOKBUF 20000
#define SECRET "0123456789abcdef0123456789abcdef-chopin-test"

static inline const char *status_name(chopin_jwt_status st) {
    static const char *names[] = {"OK",       "MALFORMED",     "BAD_ALG",    "BAD_SIGNATURE",
                                  "EXPIRED",  "NOT_YET_VALID", "BAD_ISSUER", "BAD_AUDIENCE",
                                  "BAD_TYPE", "TOO_LARGE"};
    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "?";
}

static char key_dir[64];

static inline void remove_keys(void) {
    char cmd[128];
    if (!key_dir[0]) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", key_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", key_dir);
}

static inline void run(const char *cmd) {
    int rc = system(cmd);
    cr_assert_eq(rc, 0, "%s exited %d", cmd, rc);
}

/* The path of a PEM file in the key directory, made on first use:
 * rsa, rsa2, rsa1024 (private, PKCS#8), rsa_pub, rsa_pkcs1 (PKCS#1 private),
 * rsa_enc (encrypted), ed, ed2, ed448 (private), ed_pub. */
static inline void make_key_dir(void) {
    if (key_dir[0]) return;
    strcpy(key_dir, "/tmp/chopin-jwt-XXXXXX");
    cr_assert_not_null(mkdtemp(key_dir));
    atexit(remove_keys);
}

static inline const char *key_file(const char *name) {
    static char paths[16][128];
    static int used;
    make_key_dir();
    char path[128];
    snprintf(path, sizeof path, "%s/%s.pem", key_dir, name);
    for (int i = 0; i < used; i++)
        if (!strcmp(paths[i], path)) return paths[i];
    char cmd[512];
    const char *q = "openssl";
    if (!strcmp(name, "rsa") || !strcmp(name, "rsa2"))
        snprintf(cmd, sizeof cmd,
                 "%s genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s", q, path);
    else if (!strcmp(name, "rsa1024"))
        snprintf(cmd, sizeof cmd,
                 "%s genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out %s", q, path);
    else if (!strcmp(name, "ed") || !strcmp(name, "ed2"))
        snprintf(cmd, sizeof cmd, "%s genpkey -quiet -algorithm ED25519 -out %s", q, path);
    else if (!strcmp(name, "ed448"))
        snprintf(cmd, sizeof cmd, "%s genpkey -quiet -algorithm ED448 -out %s", q, path);
    else if (!strcmp(name, "rsa_pub"))
        snprintf(cmd, sizeof cmd, "%s pkey -in %s -pubout -out %s", q, key_file("rsa"), path);
    else if (!strcmp(name, "ed_pub"))
        snprintf(cmd, sizeof cmd, "%s pkey -in %s -pubout -out %s", q, key_file("ed"), path);
    else if (!strcmp(name, "rsa_pkcs1"))
        snprintf(cmd, sizeof cmd, "%s pkey -in %s -traditional -out %s", q, key_file("rsa"), path);
    else if (!strcmp(name, "rsa_enc"))
        snprintf(cmd, sizeof cmd, "%s pkey -in %s -aes256 -passout pass:hunter2 -out %s", q,
                 key_file("rsa"), path);
    else
        cr_assert_fail("no recipe for key %s", name);
    run(cmd);
    cr_assert_lt(used, 16);
    strcpy(paths[used], path);
    return paths[used++];
}

static inline char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    char *buf = malloc(1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

static inline chopin_jwt_key *hs_key(void) {
    char err[256] = "";
    chopin_jwt_key *k = chopin_jwt_key_hs256(SECRET, strlen(SECRET), err, sizeof err);
    cr_assert_not_null(k, "%s", err);
    return k;
}

static inline chopin_jwt_key *pem_key(chopin_jwt_alg alg, const char *name) {
    char err[256] = "";
    chopin_jwt_key *k = chopin_jwt_key_pem_file(alg, key_file(name), err, sizeof err);
    cr_assert_not_null(k, "%s: %s", name, err);
    return k;
}

/* Verifies an exact-size heap copy of token[0..len). */
static inline chopin_jwt_status verify_n(const chopin_jwt_key *k, const char *token, size_t len,
                                         const chopin_jwt_expect *ex, chopin_jwt_claims *out) {
    char *copy = malloc(len ? len : 1);
    memcpy(copy, token, len);
    chopin_jwt_status st = chopin_jwt_verify(k, copy, len, ex, out);
    free(copy);
    return st;
}

static inline chopin_jwt_status verify_s(const chopin_jwt_key *k, const char *token,
                                         const chopin_jwt_expect *ex, chopin_jwt_claims *out) {
    return verify_n(k, token, strlen(token), ex, out);
}

static inline chopin_jwt_claims full_claims(int64_t now) {
    chopin_jwt_claims c = {.sub = "user-42",
                           .role = "admin",
                           .typ = "access",
                           .fam = "family-1",
                           .iss = "chopin",
                           .aud = "api",
                           .exp = now + 900};
    return c;
}

#endif
