/* test_jwt_core.c - JSON Web Tokens: strict base64url, keys, round trips
 * for the three algorithms, what signing refuses, status texts, and the
 * defaults of verification.
 *
 * Interoperability with PyJWT is tested in test_jwt_interop.c, hostile
 * tokens in test_jwt_hostile.c, with the keys and helpers of jwt_fixture.h. */
#include "jwt_fixture.h"

#include "auth/jwt_internal.h"

#include <time.h>

/* --- base64url ------------------------------------------------------------------- */

Test(jwt_b64url, rfc4648_vectors_both_ways) {
    static const struct {
        const char *bytes, *text;
    } v[] = {{"", ""},
             {"f", "Zg"},
             {"fo", "Zm8"},
             {"foo", "Zm9v"},
             {"foob", "Zm9vYg"},
             {"fooba", "Zm9vYmE"},
             {"foobar", "Zm9vYmFy"},
             /* the two characters that differ from base64: '-' and '_' */
             {"\xfb\xff\xbf", "-_-_"},
             {"\xff\xff\xfe", "___-"}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char text[32];
        size_t n = b64url_encode(text, v[i].bytes, strlen(v[i].bytes));
        cr_expect_eq(n, B64URL_ENCODED_LEN(strlen(v[i].bytes)));
        cr_expect(n == strlen(v[i].text) && !memcmp(text, v[i].text, n), "encode %s", v[i].text);
        unsigned char bytes[32];
        ssize_t m = b64url_decode(bytes, v[i].text, strlen(v[i].text));
        cr_expect(m == (ssize_t)strlen(v[i].bytes) && !memcmp(bytes, v[i].bytes, (size_t)m),
                  "decode %s", v[i].text);
    }
}

Test(jwt_b64url, every_byte_string_round_trips) {
    unsigned char src[300], back[B64URL_DECODED_MAX(400)];
    char text[400];
    for (size_t i = 0; i < sizeof src; i++) src[i] = (unsigned char)(i * 131 + 7);
    for (size_t len = 0; len <= sizeof src; len++) {
        size_t n = b64url_encode(text, src, len);
        cr_assert_eq(b64url_decode(back, text, n), (ssize_t)len);
        cr_assert(!memcmp(back, src, len), "len %zu", len);
    }
}

Test(jwt_b64url, strict_decoding) {
    static const char *bad[] = {
        "Zg==",  /* padding */
        "Zg=",   /* padding */
        "Zm9v=", /* padding after a full group */
        "Z",     /* 4n+1 characters cannot be bytes */
        "Zm9vY", /* the same after a full group */
        "Zh",    /* 'h' leaves non-zero bits after the last byte: not canonical */
        "Zm8",   /* fine: "fo" */
        "Zm+v",  /* base64, not base64url */
        "Zm/v",  /* base64, not base64url */
        "Zm 9v", /* whitespace */
        "Zm9v\n",
    };
    static const bool ok[] = {false, false, false, false, false, false,
                              true,  false, false, false, false};
    unsigned char out[16];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(b64url_decode(out, bad[i], strlen(bad[i])) >= 0, ok[i], "%s", bad[i]);
    cr_expect_eq(b64url_decode(out, "Zm\0v", 4), -1, "NUL");
    /* Exactly one of the 16 last characters after "Z" spells 'f' canonically. */
    int canonical = 0;
    for (const char *c = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"; *c;
         c++) {
        char t[2] = {'Z', *c};
        canonical += b64url_decode(out, t, 2) == 1;
    }
    cr_expect_eq(canonical, 4, "Zg Zw Z0 Z_ (low 4 bits zero)");
    /* Every byte that is not in the alphabet is refused in any position. */
    for (int b = 0; b < 256; b++) {
        if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", b) && b)
            continue;
        for (int pos = 0; pos < 4; pos++) {
            char t[4] = {'Q', 'U', 'J', 'D'};
            t[pos] = (char)b;
            cr_expect_eq(b64url_decode(out, t, 4), -1, "byte %d at %d", b, pos);
        }
    }
}

/* --- Keys ------------------------------------------------------------------------ */

Test(jwt_key, hs256_secret_of_32_bytes_at_least) {
    char err[256] = "";
    const char *s31 = "0123456789abcdef0123456789abcde";
    cr_assert_null(chopin_jwt_key_hs256(s31, 31, err, sizeof err));
    cr_expect(strstr(err, "32"), "the message says what is needed: %s", err);
    cr_expect_null(strstr(err, s31), "never the secret: %s", err);
    cr_assert_null(chopin_jwt_key_hs256("", 0, err, sizeof err));
    cr_assert_null(chopin_jwt_key_hs256(NULL, 40, err, sizeof err));
    cr_assert_null(chopin_jwt_key_hs256(s31, 31, NULL, 0), "no err buffer is fine");
    chopin_jwt_key *k = chopin_jwt_key_hs256("0123456789abcdef0123456789abcdef", 32, err, 1);
    cr_assert_not_null(k);
    cr_expect_eq(chopin_jwt_key_alg(k), CHOPIN_JWT_HS256);
    chopin_jwt_key_free(k);
    chopin_jwt_key_free(NULL);
}

Test(jwt_key, pem_keys_are_pinned_to_their_algorithm) {
    char err[256];
    size_t len;
    char *rsa_pub = read_all(key_file("rsa_pub"), &len);
    /* A public key is not an HMAC secret, whatever the caller says. */
    err[0] = 0;
    cr_expect_null(chopin_jwt_key_hs256(rsa_pub, len, err, sizeof err));
    cr_expect(strstr(err, "PEM"), "%s", err);
    err[0] = 0;
    cr_expect_null(chopin_jwt_key_pem(CHOPIN_JWT_HS256, rsa_pub, len, err, sizeof err));
    cr_expect(strstr(err, "secret"), "%s", err);
    cr_expect_null(chopin_jwt_key_pem((chopin_jwt_alg)0, rsa_pub, len, err, sizeof err));
    cr_expect_null(chopin_jwt_key_pem((chopin_jwt_alg)99, rsa_pub, len, err, sizeof err));
    free(rsa_pub);

    static const struct {
        chopin_jwt_alg alg;
        const char *file;
        const char *message; /* part of the error; NULL: accepted */
    } rows[] = {
        {CHOPIN_JWT_RS256, "rsa", NULL},          {CHOPIN_JWT_RS256, "rsa_pub", NULL},
        {CHOPIN_JWT_RS256, "rsa_pkcs1", NULL},    {CHOPIN_JWT_EDDSA, "ed", NULL},
        {CHOPIN_JWT_EDDSA, "ed_pub", NULL},       {CHOPIN_JWT_RS256, "ed", "RSA"},
        {CHOPIN_JWT_RS256, "ed_pub", "RSA"},      {CHOPIN_JWT_EDDSA, "rsa", "Ed25519"},
        {CHOPIN_JWT_EDDSA, "rsa_pub", "Ed25519"}, {CHOPIN_JWT_EDDSA, "ed448", "Ed25519"},
        {CHOPIN_JWT_RS256, "rsa1024", "2048"},    {CHOPIN_JWT_RS256, "rsa_enc", "encrypted"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        err[0] = 0;
        chopin_jwt_key *k =
            chopin_jwt_key_pem_file(rows[i].alg, key_file(rows[i].file), err, sizeof err);
        if (!rows[i].message) {
            cr_expect_not_null(k, "%s: %s", rows[i].file, err);
            if (k) cr_expect_eq(chopin_jwt_key_alg(k), rows[i].alg);
        } else {
            cr_expect_null(k, "%s", rows[i].file);
            cr_expect(strstr(err, rows[i].message), "%s: %s", rows[i].file, err);
        }
        chopin_jwt_key_free(k);
    }

    const char *junk[] = {"", "not a key",
                          "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        err[0] = 0;
        cr_expect_null(
            chopin_jwt_key_pem(CHOPIN_JWT_RS256, junk[i], strlen(junk[i]), err, sizeof err));
        cr_expect(err[0], "a message for junk %zu", i);
    }
    err[0] = 0;
    cr_expect_null(
        chopin_jwt_key_pem_file(CHOPIN_JWT_RS256, "/nonexistent/k.pem", err, sizeof err));
    cr_expect(strstr(err, "/nonexistent/k.pem"), "%s", err);
    cr_expect_null(chopin_jwt_key_pem_file(CHOPIN_JWT_RS256, key_dir, err, sizeof err), "a dir");
    cr_expect_null(chopin_jwt_key_pem_file(CHOPIN_JWT_RS256, NULL, err, sizeof err));
}

/* --- Round trips -------------------------------------------------------------------- */

static void expect_same_claims(const chopin_jwt_claims *a, const chopin_jwt_claims *b) {
    cr_expect_str_eq(a->sub, b->sub);
    cr_expect_str_eq(a->role, b->role);
    cr_expect_str_eq(a->jti, b->jti);
    cr_expect_str_eq(a->typ, b->typ);
    cr_expect_str_eq(a->fam, b->fam);
    cr_expect_str_eq(a->iss, b->iss);
    cr_expect_str_eq(a->aud, b->aud);
    cr_expect_eq(a->iat, b->iat);
    cr_expect_eq(a->nbf, b->nbf);
    cr_expect_eq(a->exp, b->exp);
}

static void round_trip(const chopin_jwt_key *signer, const chopin_jwt_key *verifier,
                       const char *alg) {
    int64_t now = (int64_t)time(NULL);
    chopin_jwt_claims c = full_claims(now);
    char tok[CHOPIN_JWT_MAX_LEN + 1];
    ssize_t n = chopin_jwt_sign(signer, &c, tok, sizeof tok);
    cr_assert_gt(n, 0, "%s", alg);
    cr_assert_eq((size_t)n, strlen(tok));
    /* defaults written back */
    cr_expect(c.iat >= now && c.iat <= now + 5);
    cr_expect_eq(c.nbf, c.iat);
    cr_expect_eq(strlen(c.jti), 22, "128 bits in base64url: %s", c.jti);
    unsigned char raw[32];
    cr_expect_eq(b64url_decode(raw, c.jti, strlen(c.jti)), 16);

    /* the header is exactly ours */
    char header[64];
    const char *dot = strchr(tok, '.');
    ssize_t hn = b64url_decode((unsigned char *)header, tok, (size_t)(dot - tok));
    cr_assert_gt(hn, 0);
    header[hn] = 0;
    char want[64];
    snprintf(want, sizeof want, "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
    cr_expect_str_eq(header, want);

    chopin_jwt_expect ex = {.iss = "chopin", .aud = "api", .typ = "access"};
    chopin_jwt_claims back;
    chopin_jwt_status st = verify_n(verifier, tok, (size_t)n, &ex, &back);
    cr_assert_eq(st, CHOPIN_JWT_OK, "%s: %s", alg, status_name(st));
    expect_same_claims(&c, &back);

    /* A second token gets another jti. */
    chopin_jwt_claims c2 = full_claims(now);
    char tok2[CHOPIN_JWT_MAX_LEN + 1];
    cr_assert_gt(chopin_jwt_sign(signer, &c2, tok2, sizeof tok2), 0);
    cr_expect_str_neq(c.jti, c2.jti);

    /* Minimal claims: only exp; absent claims come back empty. */
    chopin_jwt_claims m = {.exp = now + 60, .jti = "fixed-id"};
    cr_assert_gt(chopin_jwt_sign(signer, &m, tok, sizeof tok), 0);
    st = verify_s(verifier, tok, NULL, &back);
    cr_assert_eq(st, CHOPIN_JWT_OK, "%s", status_name(st));
    cr_expect_str_eq(back.jti, "fixed-id");
    cr_expect_str_eq(back.sub, "");
    cr_expect_str_eq(back.aud, "");
    cr_expect_eq(back.exp, now + 60);
}

Test(jwt_round_trip, hs256) {
    chopin_jwt_key *k = hs_key();
    round_trip(k, k, "HS256");
    chopin_jwt_key_free(k);
}

Test(jwt_round_trip, rs256_private_signs_public_verifies) {
    chopin_jwt_key *priv = pem_key(CHOPIN_JWT_RS256, "rsa");
    chopin_jwt_key *pub = pem_key(CHOPIN_JWT_RS256, "rsa_pub");
    chopin_jwt_key *pkcs1 = pem_key(CHOPIN_JWT_RS256, "rsa_pkcs1");
    round_trip(priv, pub, "RS256");
    round_trip(priv, priv, "RS256");
    round_trip(pkcs1, pub, "RS256");
    chopin_jwt_claims c = full_claims(NOW);
    char tok[CHOPIN_JWT_MAX_LEN + 1];
    cr_expect_eq(chopin_jwt_sign(pub, &c, tok, sizeof tok), -1, "a public key cannot sign");
    chopin_jwt_key_free(priv);
    chopin_jwt_key_free(pub);
    chopin_jwt_key_free(pkcs1);
}

Test(jwt_round_trip, eddsa) {
    chopin_jwt_key *priv = pem_key(CHOPIN_JWT_EDDSA, "ed");
    chopin_jwt_key *pub = pem_key(CHOPIN_JWT_EDDSA, "ed_pub");
    round_trip(priv, pub, "EdDSA");
    round_trip(priv, priv, "EdDSA");
    chopin_jwt_claims c = full_claims(NOW);
    char tok[CHOPIN_JWT_MAX_LEN + 1];
    cr_expect_eq(chopin_jwt_sign(pub, &c, tok, sizeof tok), -1, "a public key cannot sign");
    chopin_jwt_key_free(priv);
    chopin_jwt_key_free(pub);
}

/* Every field full, of characters the writer must escape six bytes wide:
 * still within CHOPIN_JWT_MAX_LEN with RSA, and back byte for byte. */
Test(jwt_round_trip, fullest_claims_fit_and_come_back) {
    chopin_jwt_key *k = pem_key(CHOPIN_JWT_RS256, "rsa");
    chopin_jwt_claims c = {.exp = NOW + 600, .iat = NOW, .nbf = NOW};
    memset(c.sub, 1, sizeof c.sub - 1);
    memset(c.role, '"', sizeof c.role - 1);
    memset(c.jti, '\\', sizeof c.jti - 1);
    memset(c.typ, 0x1f, sizeof c.typ - 1);
    memset(c.fam, 'f', sizeof c.fam - 1);
    memset(c.iss, '\n', sizeof c.iss - 1);
    memset(c.aud, 2, sizeof c.aud - 1);
    char tok[CHOPIN_JWT_MAX_LEN + 1];
    ssize_t n = chopin_jwt_sign(k, &c, tok, sizeof tok);
    cr_assert_gt(n, 0);
    chopin_jwt_expect ex = {.now = NOW, .iss = c.iss, .aud = c.aud, .typ = c.typ};
    chopin_jwt_claims back;
    chopin_jwt_status st = verify_n(k, tok, (size_t)n, &ex, &back);
    cr_assert_eq(st, CHOPIN_JWT_OK, "%s", status_name(st));
    expect_same_claims(&c, &back);
    chopin_jwt_key_free(k);
}

Test(jwt_sign, refuses_what_it_cannot_sign) {
    chopin_jwt_key *k = hs_key();
    char tok[CHOPIN_JWT_MAX_LEN + 1];
    chopin_jwt_claims c = full_claims(NOW);
    ssize_t n = chopin_jwt_sign(k, &c, tok, sizeof tok);
    cr_assert_gt(n, 0);
    /* Every buffer too small by even one byte (the NUL) fails, without writing past it. */
    for (size_t size = 0; size <= (size_t)n; size++) {
        char *small = malloc(size ? size : 1);
        cr_assert_eq(chopin_jwt_sign(k, &c, small, size), -1, "size %zu", size);
        free(small);
    }
    char *exact = malloc((size_t)n + 1);
    cr_assert_eq(chopin_jwt_sign(k, &c, exact, (size_t)n + 1), n);
    cr_expect_str_eq(exact, tok, "same claims (jti kept), same token");
    free(exact);

    chopin_jwt_claims no_exp = full_claims(NOW);
    no_exp.exp = 0;
    cr_expect_eq(chopin_jwt_sign(k, &no_exp, tok, sizeof tok), -1, "exp is required");
    chopin_jwt_claims unterminated = full_claims(NOW);
    memset(unterminated.role, 'r', sizeof unterminated.role);
    cr_expect_eq(chopin_jwt_sign(k, &unterminated, tok, sizeof tok), -1, "role not terminated");
    chopin_jwt_claims bad_utf8 = full_claims(NOW);
    strcpy(bad_utf8.sub, "caf\xe9");
    cr_expect_eq(chopin_jwt_sign(k, &bad_utf8, tok, sizeof tok), -1, "Latin-1 is not UTF-8");
    strcpy(bad_utf8.sub, "caf\xc3\xa9");
    cr_expect_gt(chopin_jwt_sign(k, &bad_utf8, tok, sizeof tok), 0, "UTF-8 is");
    cr_expect_eq(chopin_jwt_sign(NULL, &c, tok, sizeof tok), -1);
    cr_expect_eq(chopin_jwt_sign(k, NULL, tok, sizeof tok), -1);
    cr_expect_eq(chopin_jwt_sign(k, &c, NULL, 100), -1);
    chopin_jwt_key_free(k);
}

Test(jwt_status, every_status_has_its_own_text) {
    for (int a = CHOPIN_JWT_OK; a <= CHOPIN_JWT_TOO_LARGE; a++) {
        const char *ta = chopin_jwt_status_text((chopin_jwt_status)a);
        cr_assert(ta && *ta, "status %d", a);
        for (int b = CHOPIN_JWT_OK; b < a; b++)
            cr_expect_str_neq(ta, chopin_jwt_status_text((chopin_jwt_status)b));
    }
    cr_expect_str_eq(chopin_jwt_status_text(CHOPIN_JWT_EXPIRED), "token expired");
    cr_expect_str_eq(chopin_jwt_status_text((chopin_jwt_status)42), "unknown status");
}

/* Verification with now = 0 uses the clock; a zeroed expectation is the default. */
Test(jwt_verify, defaults_use_the_clock) {
    chopin_jwt_key *k = hs_key();
    int64_t now = (int64_t)time(NULL);
    chopin_jwt_claims c = {.sub = "1", .exp = now + 30};
    char tok[CHOPIN_JWT_MAX_LEN + 1];
    cr_assert_gt(chopin_jwt_sign(k, &c, tok, sizeof tok), 0);
    chopin_jwt_expect zero = {0};
    cr_expect_eq(verify_s(k, tok, &zero, NULL), CHOPIN_JWT_OK);
    cr_expect_eq(verify_s(k, tok, NULL, NULL), CHOPIN_JWT_OK);
    chopin_jwt_expect later = {.now = now + 30 + 61};
    cr_expect_eq(verify_s(k, tok, &later, NULL), CHOPIN_JWT_EXPIRED);
    chopin_jwt_expect earlier = {.now = now - 61 - 5};
    cr_expect_eq(verify_s(k, tok, &earlier, NULL), CHOPIN_JWT_NOT_YET_VALID, "nbf defaulted");
    chopin_jwt_key_free(k);
}
