/* fuzz_jwt.c - libFuzzer target for JWT verification (src/auth/jwt.c) and,
 * through it, strict base64url and the JSON reader on hostile headers.
 *
 * A fuzzer cannot forge an HMAC, so on its own it would never get past the
 * signature. Each input is therefore verified three ways with one fixed
 * HS256 key, each under two expectations (none; issuer, audience and type):
 *   1. as it is (an exact-size heap copy, so AddressSanitizer sees a read
 *      past the end);
 *   2. when it has two dots or more: with everything after the last dot
 *      replaced by the right HMAC of what precedes it, so that header and
 *      payload are explored behind a valid signature;
 *   3. when it has a newline: the text before it as the header JSON, the
 *      rest as the payload JSON, encoded and signed here.
 * Checked on every result: a status from the enum with a text; claims zeroed
 * unless OK; TOO_LARGE exactly when over CHOPIN_JWT_MAX_LEN; never
 * BAD_SIGNATURE for tokens signed here. When a token is accepted, its claims
 * are signed again and the new token must verify to the same claims. Any
 * difference aborts. */
#include "chopin/jwt.h"

#include "auth/jwt_internal.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

/* The seeds in tests/fuzz/corpus/jwt are signed with this secret, at this time. */
#define FUZZ_SECRET "chopin-fuzz-secret-0123456789abcdef"
#define FUZZ_NOW    INT64_C(1700000000)

static chopin_jwt_key *key;

/* sign_again compares claims with memcmp: no padding bytes. */
_Static_assert(sizeof(chopin_jwt_claims) == 128 + 32 + 64 + 16 + 64 + 128 + 128 + 3 * 8,
               "chopin_jwt_claims has padding");

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    key = chopin_jwt_key_hs256(FUZZ_SECRET, strlen(FUZZ_SECRET), NULL, 0);
    CHECK(key);
    return 0;
}

static const chopin_jwt_expect expects[] = {
    {.now = FUZZ_NOW},
    {.now = FUZZ_NOW, .iss = "chopin", .aud = "api", .typ = "access"},
};

static void sign_again(const chopin_jwt_claims *got, const chopin_jwt_expect *ex) {
    chopin_jwt_claims c = *got;
    /* 0 asks chopin_jwt_sign for "now", which is not the fuzzer's now */
    if (!c.iat) c.iat = FUZZ_NOW;
    if (!c.nbf) c.nbf = FUZZ_NOW;
    char token[CHOPIN_JWT_MAX_LEN + 1];
    ssize_t n = chopin_jwt_sign(key, &c, token, sizeof token);
    CHECK(n > 0);
    CHECK((size_t)n == strlen(token));
    chopin_jwt_claims back;
    chopin_jwt_status st = chopin_jwt_verify(key, token, (size_t)n, ex, &back);
    CHECK(st == CHOPIN_JWT_OK);
    /* Strings are zero-filled past their NUL on both sides, and the struct
     * has no padding (560 bytes of chars, then int64s): compare it whole. */
    CHECK(memcmp(&c, &back, sizeof c) == 0);
}

/* signed_here: the signature is right by construction. */
static void verify_one(const char *token, size_t len, bool signed_here) {
    char *copy = malloc(len ? len : 1);
    CHECK(copy);
    memcpy(copy, token, len);
    for (size_t e = 0; e < sizeof expects / sizeof expects[0]; e++) {
        chopin_jwt_claims out;
        memset(&out, 0x5a, sizeof out);
        chopin_jwt_status st = chopin_jwt_verify(key, copy, len, &expects[e], &out);
        CHECK(st >= CHOPIN_JWT_OK && st <= CHOPIN_JWT_TOO_LARGE);
        CHECK(chopin_jwt_status_text(st) && *chopin_jwt_status_text(st));
        CHECK((st == CHOPIN_JWT_TOO_LARGE) == (len > CHOPIN_JWT_MAX_LEN));
        if (signed_here) CHECK(st != CHOPIN_JWT_BAD_SIGNATURE);
        if (st != CHOPIN_JWT_OK) {
            static const chopin_jwt_claims zero;
            CHECK(memcmp(&out, &zero, sizeof out) == 0);
            continue;
        }
        /* accepted: every string terminated within its field, exp present and live */
        CHECK(memchr(out.sub, 0, sizeof out.sub) && memchr(out.aud, 0, sizeof out.aud));
        CHECK(out.exp > FUZZ_NOW - CHOPIN_JWT_DEFAULT_LEEWAY_S);
        if (expects[e].typ) CHECK(!strcmp(out.typ, expects[e].typ));
        sign_again(&out, &expects[e]);
    }
    free(copy);
}

static void hmac_b64(char *out, const char *data, size_t len) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    CHECK(HMAC(EVP_sha256(), FUZZ_SECRET, (int)strlen(FUZZ_SECRET), (const unsigned char *)data,
               len, mac, &mac_len));
    out[b64url_encode(out, mac, mac_len)] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    verify_one(text, size, false);
    if (size > 2 * CHOPIN_JWT_MAX_LEN) return 0;

    /* 2: the same token, signed right */
    const char *last_dot = memrchr(text, '.', size);
    if (last_dot && memchr(text, '.', (size_t)(last_dot - text))) {
        size_t head = (size_t)(last_dot - text) + 1;
        char *token = malloc(head + 64);
        CHECK(token);
        memcpy(token, text, head);
        hmac_b64(token + head, text, head - 1);
        verify_one(token, strlen(token + head) + head, true);
        free(token);
    }

    /* 3: header JSON, newline, payload JSON */
    const char *nl = memchr(text, '\n', size);
    if (nl) {
        size_t hl = (size_t)(nl - text), pl = size - hl - 1;
        char *token = malloc(B64URL_ENCODED_LEN(hl) + B64URL_ENCODED_LEN(pl) + 64);
        CHECK(token);
        size_t n = b64url_encode(token, text, hl);
        token[n++] = '.';
        n += b64url_encode(token + n, nl + 1, pl);
        token[n] = '.';
        hmac_b64(token + n + 1, token, n);
        verify_one(token, strlen(token), true);
        free(token);
    }
    return 0;
}
