/* test_jwt_hostile.c - JSON Web Tokens against hostile input: a table of
 * forged tokens each with the exact status it must get, claims that do not
 * fit, raw texts, tampered tokens, every single change and every prefix, and
 * an RSA signature without its leading zero.
 *
 * Hostile tokens are forged here with OpenSSL directly, never with the code
 * under test: a bug in chopin_jwt_sign cannot hide a bug in
 * chopin_jwt_verify. The keys and helpers are those of jwt_fixture.h. */
#include "jwt_fixture.h"

#include "auth/jwt_internal.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

/* --- Helpers ------------------------------------------------------------------ */

#define SECRET2 "fedcba9876543210fedcba9876543210-chopin-test"

#define HDR_HS "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define HDR_RS "{\"alg\":\"RS256\",\"typ\":\"JWT\"}"
#define HDR_ED "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}"
/* A payload valid at NOW: exp NOW + 600. */
#define PAY "{\"sub\":\"42\",\"iat\":1700000000,\"nbf\":1700000000,\"exp\":1700000600}"

static EVP_PKEY *evp_key(const char *name) {
    FILE *f = fopen(key_file(name), "r");
    cr_assert_not_null(f);
    EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    cr_assert_not_null(pk, "%s", name);
    return pk;
}

/* out = b64(header) "." b64(payload); returns its length. */
static size_t signing_input(char *out, const char *header, const char *payload) {
    size_t n = b64url_encode(out, header, strlen(header));
    out[n++] = '.';
    n += b64url_encode(out + n, payload, strlen(payload));
    out[n] = 0;
    return n;
}

static void append_sig(char *out, size_t n, const unsigned char *sig, size_t len) {
    out[n++] = '.';
    n += b64url_encode(out + n, sig, len);
    out[n] = 0;
}

static void forge_hmac(char *out, const char *header, const char *payload, const void *secret,
                       size_t secret_len, const char *md) {
    size_t n = signing_input(out, header, payload);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    cr_assert_not_null(HMAC(EVP_get_digestbyname(md), secret, (int)secret_len,
                            (const unsigned char *)out, n, mac, &mac_len));
    append_sig(out, n, mac, mac_len);
}

/* md: "SHA256", "SHA512", or NULL for Ed25519. */
static void forge_pkey(char *out, const char *header, const char *payload, EVP_PKEY *pk,
                       const char *md) {
    size_t n = signing_input(out, header, payload);
    unsigned char sig[1024];
    size_t sig_len = sizeof sig;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    cr_assert_eq(EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, pk, NULL), 1);
    cr_assert_eq(EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)out, n), 1);
    EVP_MD_CTX_free(ctx);
    append_sig(out, n, sig, sig_len);
}

static void forge_raw(char *out, const char *header, const char *payload, const char *sig_b64) {
    size_t n = signing_input(out, header, payload);
    snprintf(out + n, TOKBUF - n, ".%s", sig_b64);
}

static const chopin_jwt_expect at_now = {.now = NOW};

/* --- Hostile tokens -------------------------------------------------------------------- */

typedef enum {
    SIG_HS,        /* HMAC-SHA256 with SECRET */
    SIG_HS_OTHER,  /* HMAC-SHA256 with SECRET2 */
    SIG_HS384,     /* HMAC-SHA384 with SECRET */
    SIG_HS_PUBPEM, /* HMAC-SHA256 keyed with the RSA public key PEM: the famous swap */
    SIG_RS,        /* RSA-SHA256 with rsa */
    SIG_RS512,     /* RSA-SHA512 with rsa */
    SIG_RS_OTHER,  /* RSA-SHA256 with rsa2 */
    SIG_ED,        /* Ed25519 with ed */
    SIG_ED_OTHER,  /* Ed25519 with ed2 */
    SIG_EMPTY,     /* no signature at all: "h.p." */
    SIG_JUNK,      /* a signature of the right length for HS256, all zeros */
} sig_kind;

typedef enum { KEY_HS, KEY_RS_PUB, KEY_ED_PUB } key_kind;

typedef struct {
    const char *name;
    key_kind key;
    const char *header, *payload;
    sig_kind sig;
    chopin_jwt_status want;
    const char *iss, *aud, *typ; /* expectations besides now = NOW */
    int64_t leeway;
} hostile;

#define ROW(name, key, header, payload, sig, want)                                                 \
    { name, key, header, payload, sig, want, NULL, NULL, NULL, 0 }
#define ROWX(name, header, payload, want, iss, aud, typ, leeway)                                   \
    { name, KEY_HS, header, payload, SIG_HS, want, iss, aud, typ, leeway }

/* Payload fragments around NOW = 1700000000. */
#define EXP_OK "\"exp\":1700000600"

static const hostile hostiles[] = {
    ROW("baseline HS256", KEY_HS, HDR_HS, PAY, SIG_HS, CHOPIN_JWT_OK),
    ROW("baseline RS256", KEY_RS_PUB, HDR_RS, PAY, SIG_RS, CHOPIN_JWT_OK),
    ROW("baseline EdDSA", KEY_ED_PUB, HDR_ED, PAY, SIG_ED, CHOPIN_JWT_OK),
    /* alg */
    ROW("alg none, no signature", KEY_HS, "{\"alg\":\"none\",\"typ\":\"JWT\"}", PAY, SIG_EMPTY,
        CHOPIN_JWT_BAD_ALG),
    ROW("alg none, with a valid HMAC", KEY_HS, "{\"alg\":\"none\"}", PAY, SIG_HS,
        CHOPIN_JWT_BAD_ALG),
    ROW("alg None", KEY_HS, "{\"alg\":\"None\"}", PAY, SIG_EMPTY, CHOPIN_JWT_BAD_ALG),
    ROW("alg NONE", KEY_RS_PUB, "{\"alg\":\"NONE\"}", PAY, SIG_EMPTY, CHOPIN_JWT_BAD_ALG),
    ROW("alg none against EdDSA", KEY_ED_PUB, "{\"alg\":\"none\"}", PAY, SIG_EMPTY,
        CHOPIN_JWT_BAD_ALG),
    ROW("alg missing", KEY_HS, "{\"typ\":\"JWT\"}", PAY, SIG_HS, CHOPIN_JWT_BAD_ALG),
    ROW("alg not a string", KEY_HS, "{\"alg\":256}", PAY, SIG_HS, CHOPIN_JWT_BAD_ALG),
    ROW("alg null", KEY_HS, "{\"alg\":null}", PAY, SIG_HS, CHOPIN_JWT_BAD_ALG),
    ROW("alg in an array", KEY_HS, "{\"alg\":[\"HS256\"]}", PAY, SIG_HS, CHOPIN_JWT_BAD_ALG),
    ROW("alg empty", KEY_HS, "{\"alg\":\"\"}", PAY, SIG_HS, CHOPIN_JWT_BAD_ALG),
    ROW("alg with a NUL", KEY_HS, "{\"alg\":\"HS256\\u0000\"}", PAY, SIG_HS, CHOPIN_JWT_BAD_ALG),
    ROW("alg lowercase hs256", KEY_HS, "{\"alg\":\"hs256\"}", PAY, SIG_HS, CHOPIN_JWT_BAD_ALG),
    ROW("alg HS384", KEY_HS, "{\"alg\":\"HS384\"}", PAY, SIG_HS384, CHOPIN_JWT_BAD_ALG),
    ROW("alg RS512 for an RS256 key", KEY_RS_PUB, "{\"alg\":\"RS512\"}", PAY, SIG_RS512,
        CHOPIN_JWT_BAD_ALG),
    ROW("alg rs256 lowercase", KEY_RS_PUB, "{\"alg\":\"rs256\"}", PAY, SIG_RS, CHOPIN_JWT_BAD_ALG),
    ROW("alg PS256 for an RS256 key", KEY_RS_PUB, "{\"alg\":\"PS256\"}", PAY, SIG_RS,
        CHOPIN_JWT_BAD_ALG),
    ROW("HS256 token, RS256 key", KEY_RS_PUB, HDR_HS, PAY, SIG_HS, CHOPIN_JWT_BAD_ALG),
    ROW("swap: HS256 keyed with the RS256 public PEM", KEY_RS_PUB, HDR_HS, PAY, SIG_HS_PUBPEM,
        CHOPIN_JWT_BAD_ALG),
    ROW("RS256 token, HS256 key", KEY_HS, HDR_RS, PAY, SIG_RS, CHOPIN_JWT_BAD_ALG),
    ROW("EdDSA token, RS256 key", KEY_RS_PUB, HDR_ED, PAY, SIG_ED, CHOPIN_JWT_BAD_ALG),
    ROW("alg Ed25519 for an EdDSA key", KEY_ED_PUB, "{\"alg\":\"Ed25519\"}", PAY, SIG_ED,
        CHOPIN_JWT_BAD_ALG),
    ROW("alg ES256 for an EdDSA key", KEY_ED_PUB, "{\"alg\":\"ES256\"}", PAY, SIG_ED,
        CHOPIN_JWT_BAD_ALG),
    /* RFC 7515: names unique; two algs are how two parsers disagree */
    ROW("duplicate alg", KEY_HS, "{\"alg\":\"none\",\"alg\":\"HS256\"}", PAY, SIG_HS,
        CHOPIN_JWT_MALFORMED),
    ROW("duplicate alg, same value", KEY_HS, "{\"alg\":\"HS256\",\"alg\":\"HS256\"}", PAY, SIG_HS,
        CHOPIN_JWT_MALFORMED),
    /* key selection by the token, extensions */
    ROW("jku", KEY_HS, "{\"alg\":\"HS256\",\"jku\":\"https://evil.example/k\"}", PAY, SIG_HS,
        CHOPIN_JWT_BAD_ALG),
    ROW("x5u", KEY_HS, "{\"alg\":\"HS256\",\"x5u\":\"https://evil.example/c\"}", PAY, SIG_HS,
        CHOPIN_JWT_BAD_ALG),
    ROW("jwk", KEY_RS_PUB,
        "{\"alg\":\"RS256\",\"jwk\":{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}}", PAY, SIG_RS,
        CHOPIN_JWT_BAD_ALG),
    ROW("x5c", KEY_RS_PUB, "{\"alg\":\"RS256\",\"x5c\":[\"MIIB\"]}", PAY, SIG_RS,
        CHOPIN_JWT_BAD_ALG),
    ROW("crit", KEY_HS, "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", PAY, SIG_HS, CHOPIN_JWT_BAD_ALG),
    ROW("kid is ignored", KEY_HS, "{\"alg\":\"HS256\",\"kid\":\"../../etc/passwd\"}", PAY, SIG_HS,
        CHOPIN_JWT_OK),
    /* header typ */
    ROW("typ absent", KEY_HS, "{\"alg\":\"HS256\"}", PAY, SIG_HS, CHOPIN_JWT_OK),
    ROW("typ at+jwt", KEY_HS, "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", PAY, SIG_HS,
        CHOPIN_JWT_BAD_TYPE),
    ROW("typ jwt lowercase", KEY_HS, "{\"alg\":\"HS256\",\"typ\":\"jwt\"}", PAY, SIG_HS,
        CHOPIN_JWT_BAD_TYPE),
    ROW("typ a number", KEY_HS, "{\"alg\":\"HS256\",\"typ\":1}", PAY, SIG_HS, CHOPIN_JWT_BAD_TYPE),
    /* header shape */
    ROW("header not JSON", KEY_HS, "{alg:HS256}", PAY, SIG_HS, CHOPIN_JWT_MALFORMED),
    ROW("header an array", KEY_HS, "[\"HS256\"]", PAY, SIG_HS, CHOPIN_JWT_MALFORMED),
    ROW("header a string", KEY_HS, "\"HS256\"", PAY, SIG_HS, CHOPIN_JWT_MALFORMED),
    ROW("header null", KEY_HS, "null", PAY, SIG_HS, CHOPIN_JWT_MALFORMED),
    ROW("header empty", KEY_HS, "", PAY, SIG_HS, CHOPIN_JWT_MALFORMED),
    ROW("header two objects", KEY_HS, HDR_HS HDR_HS, PAY, SIG_HS, CHOPIN_JWT_MALFORMED),
    ROW("header with 17 members", KEY_HS,
        "{\"alg\":\"HS256\",\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1,"
        "\"i\":1,\"j\":1,\"k\":1,\"l\":1,\"m\":1,\"n\":1,\"o\":1,\"p\":1}",
        PAY, SIG_HS, CHOPIN_JWT_MALFORMED),
    ROW("header with 16 members", KEY_HS,
        "{\"alg\":\"HS256\",\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1,"
        "\"i\":1,\"j\":1,\"k\":1,\"l\":1,\"m\":1,\"n\":1,\"o\":1}",
        PAY, SIG_HS, CHOPIN_JWT_OK),
    /* signatures */
    ROW("HS256 with another secret", KEY_HS, HDR_HS, PAY, SIG_HS_OTHER, CHOPIN_JWT_BAD_SIGNATURE),
    ROW("HS256 all-zero MAC", KEY_HS, HDR_HS, PAY, SIG_JUNK, CHOPIN_JWT_BAD_SIGNATURE),
    ROW("HS256 no signature", KEY_HS, HDR_HS, PAY, SIG_EMPTY, CHOPIN_JWT_BAD_SIGNATURE),
    ROW("RS256 by another key", KEY_RS_PUB, HDR_RS, PAY, SIG_RS_OTHER, CHOPIN_JWT_BAD_SIGNATURE),
    ROW("RS256 no signature", KEY_RS_PUB, HDR_RS, PAY, SIG_EMPTY, CHOPIN_JWT_BAD_SIGNATURE),
    ROW("RS256 a SHA-512 signature", KEY_RS_PUB, HDR_RS, PAY, SIG_RS512, CHOPIN_JWT_BAD_SIGNATURE),
    ROW("EdDSA by another key", KEY_ED_PUB, HDR_ED, PAY, SIG_ED_OTHER, CHOPIN_JWT_BAD_SIGNATURE),
    ROW("EdDSA no signature", KEY_ED_PUB, HDR_ED, PAY, SIG_EMPTY, CHOPIN_JWT_BAD_SIGNATURE),
    /* the signature is checked before the payload is looked at */
    ROW("bad signature over an expired payload", KEY_HS, HDR_HS, "{\"exp\":1}", SIG_HS_OTHER,
        CHOPIN_JWT_BAD_SIGNATURE),
    ROW("bad signature over a non-JSON payload", KEY_HS, HDR_HS, "not json", SIG_HS_OTHER,
        CHOPIN_JWT_BAD_SIGNATURE),
    /* payload shape */
    ROW("payload not JSON", KEY_HS, HDR_HS, "{\"exp\":1700000600", SIG_HS, CHOPIN_JWT_MALFORMED),
    ROW("payload an array", KEY_HS, HDR_HS, "[1700000600]", SIG_HS, CHOPIN_JWT_MALFORMED),
    ROW("payload a number", KEY_HS, HDR_HS, "1700000600", SIG_HS, CHOPIN_JWT_MALFORMED),
    ROW("payload null", KEY_HS, HDR_HS, "null", SIG_HS, CHOPIN_JWT_MALFORMED),
    ROW("payload empty", KEY_HS, HDR_HS, "", SIG_HS, CHOPIN_JWT_MALFORMED),
    ROW("payload not UTF-8", KEY_HS, HDR_HS, "{\"sub\":\"\xff\"," EXP_OK "}", SIG_HS,
        CHOPIN_JWT_MALFORMED),
    ROW("payload duplicate exp", KEY_HS, HDR_HS, "{\"exp\":1," EXP_OK "}", SIG_HS,
        CHOPIN_JWT_MALFORMED),
    ROW("payload duplicate sub", KEY_HS, HDR_HS, "{\"sub\":\"1\",\"sub\":\"2\"," EXP_OK "}", SIG_HS,
        CHOPIN_JWT_MALFORMED),
    /* numeric dates */
    ROW("exp missing", KEY_HS, HDR_HS, "{\"sub\":\"42\"}", SIG_HS, CHOPIN_JWT_MALFORMED),
    ROW("exp a string", KEY_HS, HDR_HS, "{\"exp\":\"1700000600\"}", SIG_HS, CHOPIN_JWT_MALFORMED),
    ROW("exp a fraction", KEY_HS, HDR_HS, "{\"exp\":1700000600.5}", SIG_HS, CHOPIN_JWT_MALFORMED),
    ROW("exp in exponent form", KEY_HS, HDR_HS, "{\"exp\":1.7000006e9}", SIG_HS,
        CHOPIN_JWT_MALFORMED),
    ROW("exp beyond int64", KEY_HS, HDR_HS, "{\"exp\":99999999999999999999}", SIG_HS,
        CHOPIN_JWT_MALFORMED),
    ROW("exp true", KEY_HS, HDR_HS, "{\"exp\":true}", SIG_HS, CHOPIN_JWT_MALFORMED),
    ROW("exp null", KEY_HS, HDR_HS, "{\"exp\":null}", SIG_HS, CHOPIN_JWT_MALFORMED),
    ROW("nbf a string", KEY_HS, HDR_HS, "{\"nbf\":\"0\"," EXP_OK "}", SIG_HS, CHOPIN_JWT_MALFORMED),
    ROW("iat a string", KEY_HS, HDR_HS, "{\"iat\":\"0\"," EXP_OK "}", SIG_HS, CHOPIN_JWT_MALFORMED),
    ROW("exp INT64_MAX", KEY_HS, HDR_HS, "{\"exp\":9223372036854775807}", SIG_HS, CHOPIN_JWT_OK),
    ROW("exp INT64_MIN", KEY_HS, HDR_HS, "{\"exp\":-9223372036854775808}", SIG_HS,
        CHOPIN_JWT_EXPIRED),
    /* time, with the default 60 s leeway */
    ROW("expired long ago", KEY_HS, HDR_HS, "{\"exp\":1600000000}", SIG_HS, CHOPIN_JWT_EXPIRED),
    ROW("expired 61 s ago", KEY_HS, HDR_HS, "{\"exp\":1699999939}", SIG_HS, CHOPIN_JWT_EXPIRED),
    ROW("expired 60 s ago", KEY_HS, HDR_HS, "{\"exp\":1699999940}", SIG_HS, CHOPIN_JWT_EXPIRED),
    ROW("expired 59 s ago: within leeway", KEY_HS, HDR_HS, "{\"exp\":1699999941}", SIG_HS,
        CHOPIN_JWT_OK),
    ROW("expired 30 s ago: within leeway", KEY_HS, HDR_HS, "{\"exp\":1699999970}", SIG_HS,
        CHOPIN_JWT_OK),
    ROW("nbf 61 s ahead", KEY_HS, HDR_HS, "{\"nbf\":1700000061," EXP_OK "}", SIG_HS,
        CHOPIN_JWT_NOT_YET_VALID),
    ROW("nbf 60 s ahead: within leeway", KEY_HS, HDR_HS, "{\"nbf\":1700000060," EXP_OK "}", SIG_HS,
        CHOPIN_JWT_OK),
    ROW("nbf an hour ahead", KEY_HS, HDR_HS, "{\"nbf\":1700003600,\"exp\":1700007200}", SIG_HS,
        CHOPIN_JWT_NOT_YET_VALID),
    ROW("iat an hour ahead", KEY_HS, HDR_HS, "{\"iat\":1700003600,\"exp\":1700007200}", SIG_HS,
        CHOPIN_JWT_NOT_YET_VALID),
    ROW("expired and not yet valid: expired first", KEY_HS, HDR_HS,
        "{\"nbf\":1800000000,\"exp\":1600000000}", SIG_HS, CHOPIN_JWT_EXPIRED),
    ROWX("no leeway: exp now", HDR_HS, "{\"exp\":1700000000}", CHOPIN_JWT_EXPIRED, NULL, NULL, NULL,
         -1),
    ROWX("no leeway: exp 1 s ago", HDR_HS, "{\"exp\":1699999999}", CHOPIN_JWT_EXPIRED, NULL, NULL,
         NULL, -1),
    ROWX("no leeway: exp in 1 s", HDR_HS, "{\"exp\":1700000001}", CHOPIN_JWT_OK, NULL, NULL, NULL,
         -1),
    ROWX("no leeway: nbf in 1 s", HDR_HS, "{\"nbf\":1700000001," EXP_OK "}",
         CHOPIN_JWT_NOT_YET_VALID, NULL, NULL, NULL, -1),
    ROWX("leeway 300: expired 299 s ago", HDR_HS, "{\"exp\":1699999701}", CHOPIN_JWT_OK, NULL, NULL,
         NULL, 300),
    /* issuer */
    ROWX("iss wrong", HDR_HS, "{\"iss\":\"evil\"," EXP_OK "}", CHOPIN_JWT_BAD_ISSUER, "chopin",
         NULL, NULL, 0),
    ROWX("iss missing", HDR_HS, "{" EXP_OK "}", CHOPIN_JWT_BAD_ISSUER, "chopin", NULL, NULL, 0),
    ROWX("iss prefix", HDR_HS, "{\"iss\":\"chop\"," EXP_OK "}", CHOPIN_JWT_BAD_ISSUER, "chopin",
         NULL, NULL, 0),
    ROWX("iss longer", HDR_HS, "{\"iss\":\"chopin2\"," EXP_OK "}", CHOPIN_JWT_BAD_ISSUER, "chopin",
         NULL, NULL, 0),
    ROWX("iss a number", HDR_HS, "{\"iss\":5," EXP_OK "}", CHOPIN_JWT_MALFORMED, "chopin", NULL,
         NULL, 0),
    ROWX("iss right", HDR_HS, "{\"iss\":\"chopin\"," EXP_OK "}", CHOPIN_JWT_OK, "chopin", NULL,
         NULL, 0),
    ROWX("iss not checked when not expected", HDR_HS, "{\"iss\":\"anyone\"," EXP_OK "}",
         CHOPIN_JWT_OK, NULL, NULL, NULL, 0),
    /* audience */
    ROWX("aud wrong string", HDR_HS, "{\"aud\":\"web\"," EXP_OK "}", CHOPIN_JWT_BAD_AUDIENCE, NULL,
         "api", NULL, 0),
    ROWX("aud wrong array", HDR_HS, "{\"aud\":[\"web\",\"admin\"]," EXP_OK "}",
         CHOPIN_JWT_BAD_AUDIENCE, NULL, "api", NULL, 0),
    ROWX("aud empty array", HDR_HS, "{\"aud\":[]," EXP_OK "}", CHOPIN_JWT_BAD_AUDIENCE, NULL, "api",
         NULL, 0),
    ROWX("aud missing", HDR_HS, "{" EXP_OK "}", CHOPIN_JWT_BAD_AUDIENCE, NULL, "api", NULL, 0),
    ROWX("aud case differs", HDR_HS, "{\"aud\":\"API\"," EXP_OK "}", CHOPIN_JWT_BAD_AUDIENCE, NULL,
         "api", NULL, 0),
    ROWX("aud present, none expected", HDR_HS, "{\"aud\":\"api\"," EXP_OK "}",
         CHOPIN_JWT_BAD_AUDIENCE, NULL, NULL, NULL, 0),
    ROWX("aud string right", HDR_HS, "{\"aud\":\"api\"," EXP_OK "}", CHOPIN_JWT_OK, NULL, "api",
         NULL, 0),
    ROWX("aud array holding ours", HDR_HS, "{\"aud\":[\"web\",\"api\"]," EXP_OK "}", CHOPIN_JWT_OK,
         NULL, "api", NULL, 0),
    ROWX("aud array with a number", HDR_HS, "{\"aud\":[\"api\",1]," EXP_OK "}",
         CHOPIN_JWT_MALFORMED, NULL, "api", NULL, 0),
    ROWX("aud a number", HDR_HS, "{\"aud\":7," EXP_OK "}", CHOPIN_JWT_MALFORMED, NULL, "api", NULL,
         0),
    ROWX("aud an object", HDR_HS, "{\"aud\":{\"api\":1}," EXP_OK "}", CHOPIN_JWT_MALFORMED, NULL,
         "api", NULL, 0),
    /* private typ claim */
    ROWX("typ refresh where access expected", HDR_HS, "{\"typ\":\"refresh\"," EXP_OK "}",
         CHOPIN_JWT_BAD_TYPE, NULL, NULL, "access", 0),
    ROWX("typ missing where access expected", HDR_HS, "{" EXP_OK "}", CHOPIN_JWT_BAD_TYPE, NULL,
         NULL, "access", 0),
    ROWX("typ a number", HDR_HS, "{\"typ\":1," EXP_OK "}", CHOPIN_JWT_MALFORMED, NULL, NULL,
         "access", 0),
    ROWX("typ access", HDR_HS, "{\"typ\":\"access\"," EXP_OK "}", CHOPIN_JWT_OK, NULL, NULL,
         "access", 0),
    /* check order: time, then issuer, then audience, then type */
    ROWX("everything wrong: expired first", HDR_HS,
         "{\"iss\":\"x\",\"aud\":\"x\",\"typ\":\"x\",\"exp\":1}", CHOPIN_JWT_EXPIRED, "chopin",
         "api", "access", 0),
    ROWX("iss, aud and typ wrong: issuer first", HDR_HS,
         "{\"iss\":\"x\",\"aud\":\"x\",\"typ\":\"x\"," EXP_OK "}", CHOPIN_JWT_BAD_ISSUER, "chopin",
         "api", "access", 0),
    ROWX("aud and typ wrong: audience first", HDR_HS,
         "{\"iss\":\"chopin\",\"aud\":\"x\",\"typ\":\"x\"," EXP_OK "}", CHOPIN_JWT_BAD_AUDIENCE,
         "chopin", "api", "access", 0),
    /* string claims */
    ROW("sub a number", KEY_HS, HDR_HS, "{\"sub\":42," EXP_OK "}", SIG_HS, CHOPIN_JWT_MALFORMED),
    ROW("sub with a NUL", KEY_HS, HDR_HS, "{\"sub\":\"admin\\u0000x\"," EXP_OK "}", SIG_HS,
        CHOPIN_JWT_MALFORMED),
    ROW("role an array", KEY_HS, HDR_HS, "{\"role\":[\"admin\"]," EXP_OK "}", SIG_HS,
        CHOPIN_JWT_MALFORMED),
    ROW("unknown claims ignored", KEY_HS, HDR_HS,
        "{\"admin\":true,\"scope\":[\"a\"],\"n\":{\"m\":null}," EXP_OK "}", SIG_HS, CHOPIN_JWT_OK),
};

static const chopin_jwt_key *table_key(key_kind kind) {
    static chopin_jwt_key *keys[3];
    if (!keys[kind])
        keys[kind] = kind == KEY_HS       ? hs_key()
                     : kind == KEY_RS_PUB ? pem_key(CHOPIN_JWT_RS256, "rsa_pub")
                                          : pem_key(CHOPIN_JWT_EDDSA, "ed_pub");
    return keys[kind];
}

static void forge(char *out, const char *header, const char *payload, sig_kind sig) {
    static EVP_PKEY *rsa, *rsa2, *ed, *ed2;
    switch (sig) {
    case SIG_HS:
        forge_hmac(out, header, payload, SECRET, strlen(SECRET), "SHA256");
        break;
    case SIG_HS_OTHER:
        forge_hmac(out, header, payload, SECRET2, strlen(SECRET2), "SHA256");
        break;
    case SIG_HS384:
        forge_hmac(out, header, payload, SECRET, strlen(SECRET), "SHA384");
        break;
    case SIG_HS_PUBPEM: {
        size_t len;
        char *pem = read_all(key_file("rsa_pub"), &len);
        forge_hmac(out, header, payload, pem, len, "SHA256");
        free(pem);
        break;
    }
    case SIG_RS:
        forge_pkey(out, header, payload, rsa ? rsa : (rsa = evp_key("rsa")), "SHA256");
        break;
    case SIG_RS512:
        forge_pkey(out, header, payload, rsa ? rsa : (rsa = evp_key("rsa")), "SHA512");
        break;
    case SIG_RS_OTHER:
        forge_pkey(out, header, payload, rsa2 ? rsa2 : (rsa2 = evp_key("rsa2")), "SHA256");
        break;
    case SIG_ED:
        forge_pkey(out, header, payload, ed ? ed : (ed = evp_key("ed")), NULL);
        break;
    case SIG_ED_OTHER:
        forge_pkey(out, header, payload, ed2 ? ed2 : (ed2 = evp_key("ed2")), NULL);
        break;
    case SIG_EMPTY:
        forge_raw(out, header, payload, "");
        break;
    case SIG_JUNK:
        forge_raw(out, header, payload, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        break;
    }
}

Test(jwt_hostile, table_of_forged_tokens) {
    static char tok[TOKBUF];
    for (size_t i = 0; i < sizeof hostiles / sizeof hostiles[0]; i++) {
        const hostile *h = &hostiles[i];
        forge(tok, h->header, h->payload, h->sig);
        chopin_jwt_expect ex = {
            .now = NOW, .iss = h->iss, .aud = h->aud, .typ = h->typ, .leeway_s = h->leeway};
        chopin_jwt_claims out;
        memset(&out, 0xa5, sizeof out);
        chopin_jwt_status st = verify_s(table_key(h->key), tok, &ex, &out);
        cr_expect_eq(st, h->want, "%s: got %s, want %s", h->name, status_name(st),
                     status_name(h->want));
        if (st != CHOPIN_JWT_OK) {
            /* a caller that ignores the status still holds no identity */
            static const chopin_jwt_claims zero;
            cr_expect(!memcmp(&out, &zero, sizeof out), "%s: claims not zeroed", h->name);
        }
    }
}

Test(jwt_hostile, claims_that_do_not_fit_are_refused_not_truncated) {
    static const struct {
        const char *name;
        size_t size;
    } fields[] = {{"sub", 128}, {"role", 32}, {"jti", 64}, {"typ", 16},
                  {"fam", 64},  {"iss", 128}, {"aud", 128}};
    const chopin_jwt_key *k = table_key(KEY_HS);
    static char tok[TOKBUF];
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        for (size_t len = fields[i].size - 2; len <= fields[i].size + 1; len++) {
            char value[256], payload[512];
            memset(value, 'v', len);
            value[len] = 0;
            snprintf(payload, sizeof payload, "{\"%s\":\"%s\"," EXP_OK "}", fields[i].name, value);
            forge(tok, HDR_HS, payload, SIG_HS);
            /* expect the value itself when it is the issuer or audience */
            chopin_jwt_expect ex = {.now = NOW};
            if (!strcmp(fields[i].name, "aud")) ex.aud = value;
            chopin_jwt_claims out;
            chopin_jwt_status st = verify_s(k, tok, &ex, &out);
            chopin_jwt_status want = len < fields[i].size ? CHOPIN_JWT_OK : CHOPIN_JWT_MALFORMED;
            cr_expect_eq(st, want, "%s of %zu bytes: %s", fields[i].name, len, status_name(st));
        }
    }
    /* an array audience whose matching entry does not fit our field */
    char value[200], payload[512];
    memset(value, 'a', 150);
    value[150] = 0;
    snprintf(payload, sizeof payload, "{\"aud\":[\"x\",\"%s\"]," EXP_OK "}", value);
    forge(tok, HDR_HS, payload, SIG_HS);
    chopin_jwt_expect ex = {.now = NOW, .aud = value};
    cr_expect_eq(verify_s(k, tok, &ex, NULL), CHOPIN_JWT_MALFORMED);
}

Test(jwt_hostile, raw_texts) {
    const chopin_jwt_key *k = table_key(KEY_HS);
    static char good[TOKBUF], tok[2 * TOKBUF];
    forge(good, HDR_HS, PAY, SIG_HS);
    size_t n = strlen(good);
    cr_assert_eq(verify_s(k, good, &at_now, NULL), CHOPIN_JWT_OK);
    const char *sig = strrchr(good, '.') + 1;
    const char *pay = strchr(good, '.') + 1;

    cr_expect_eq(verify_n(k, "", 0, &at_now, NULL), CHOPIN_JWT_MALFORMED, "empty");
    cr_expect_eq(chopin_jwt_verify(k, NULL, 0, &at_now, NULL), CHOPIN_JWT_MALFORMED, "NULL");
    cr_expect_eq(verify_s(NULL, good, &at_now, NULL), CHOPIN_JWT_BAD_ALG, "no key");
    static const char *shapes[] = {".", "..", "...", "a", "a.b", "a.b.c.d", "....."};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        cr_expect_eq(verify_s(k, shapes[i], &at_now, NULL), CHOPIN_JWT_MALFORMED, "%s", shapes[i]);

    /* an extra segment, and the five of a JWE */
    snprintf(tok, sizeof tok, "%s.%s", good, sig);
    cr_expect_eq(verify_s(k, tok, &at_now, NULL), CHOPIN_JWT_MALFORMED, "4 segments");
    snprintf(tok, sizeof tok, "%s.", good);
    cr_expect_eq(verify_s(k, tok, &at_now, NULL), CHOPIN_JWT_MALFORMED, "trailing dot");
    snprintf(tok, sizeof tok, "%s.AAAA.BBBB", good);
    cr_expect_eq(verify_s(k, tok, &at_now, NULL), CHOPIN_JWT_MALFORMED, "5 segments");

    /* padding on each segment: a 32-byte MAC is 43 characters, "=" makes 44 */
    snprintf(tok, sizeof tok, "%s=", good);
    cr_expect_eq(verify_s(k, tok, &at_now, NULL), CHOPIN_JWT_MALFORMED, "padded signature");
    for (int seg = 0; seg < 2; seg++) {
        const char *dot = seg == 0 ? pay - 1 : sig - 1;
        size_t at = (size_t)(dot - good);
        snprintf(tok, sizeof tok, "%.*s=%s", (int)at, good, dot);
        cr_expect_eq(verify_s(k, tok, &at_now, NULL), CHOPIN_JWT_MALFORMED, "padded segment %d",
                     seg);
    }
    /* characters outside base64url, in each segment */
    static const char intruders[] = {'+',  '/', '=', ' ',    '\n',  '\t',
                                     '\0', '"', '%', '\x80', '\xff'};
    size_t positions[] = {3, (size_t)(pay - good) + 3, (size_t)(sig - good) + 3, n - 1};
    for (size_t p = 0; p < sizeof positions / sizeof positions[0]; p++)
        for (size_t c = 0; c < sizeof intruders; c++) {
            memcpy(tok, good, n + 1);
            tok[positions[p]] = intruders[c];
            cr_expect_eq(verify_n(k, tok, n, &at_now, NULL), CHOPIN_JWT_MALFORMED,
                         "byte %#x at %zu", (unsigned char)intruders[c], positions[p]);
        }
    /* what a careless caller passes: the Authorization header's value, or a line */
    snprintf(tok, sizeof tok, "Bearer %s", good);
    cr_expect_eq(verify_s(k, tok, &at_now, NULL), CHOPIN_JWT_MALFORMED);
    snprintf(tok, sizeof tok, "%s\n", good);
    cr_expect_eq(verify_s(k, tok, &at_now, NULL), CHOPIN_JWT_MALFORMED);
    cr_expect_eq(verify_n(k, good, n + 1, &at_now, NULL), CHOPIN_JWT_MALFORMED, "with its NUL");

    /* size: 8 KiB is the limit, checked before anything else */
    char *big = malloc(100001);
    memset(big, 'A', 100000);
    cr_expect_eq(verify_n(k, big, CHOPIN_JWT_MAX_LEN + 1, &at_now, NULL), CHOPIN_JWT_TOO_LARGE);
    cr_expect_eq(verify_n(k, big, 100000, &at_now, NULL), CHOPIN_JWT_TOO_LARGE);
    cr_expect_eq(verify_n(NULL, big, 100000, &at_now, NULL), CHOPIN_JWT_TOO_LARGE);
    cr_expect_eq(verify_n(k, big, CHOPIN_JWT_MAX_LEN, &at_now, NULL), CHOPIN_JWT_MALFORMED);
    /* a valid token padded out with a huge unknown claim past the limit */
    char *payload = malloc(9000);
    snprintf(payload, 9000, "{\"pad\":\"%.*s\"," EXP_OK "}", 6200, big);
    forge(tok, HDR_HS, payload, SIG_HS);
    cr_expect_gt(strlen(tok), CHOPIN_JWT_MAX_LEN);
    cr_expect_eq(verify_s(k, tok, &at_now, NULL), CHOPIN_JWT_TOO_LARGE);
    snprintf(payload, 9000, "{\"pad\":\"%.*s\"," EXP_OK "}", 5000, big);
    forge(tok, HDR_HS, payload, SIG_HS);
    cr_expect_lt(strlen(tok), CHOPIN_JWT_MAX_LEN);
    cr_expect_eq(verify_s(k, tok, &at_now, NULL), CHOPIN_JWT_OK, "a large one within the limit");
    free(payload);
    free(big);
}

/* One byte of payload changed, one byte of signature changed: the exact
 * status, for each algorithm. */
Test(jwt_hostile, tampered_payload_and_signature) {
    static const struct {
        key_kind key;
        const char *header;
        sig_kind sig;
    } algs[] = {
        {KEY_HS, HDR_HS, SIG_HS}, {KEY_RS_PUB, HDR_RS, SIG_RS}, {KEY_ED_PUB, HDR_ED, SIG_ED}};
    static char good[TOKBUF], tok[TOKBUF];
    for (size_t a = 0; a < 3; a++) {
        const chopin_jwt_key *k = table_key(algs[a].key);
        /* "sub":"42" -> "sub":"43", re-encoded: the payload text differs in one byte */
        forge(good, algs[a].header, PAY, algs[a].sig);
        char *dot2 = strrchr(good, '.');
        char other[TOKBUF];
        signing_input(other, algs[a].header,
                      "{\"sub\":\"43\",\"iat\":1700000000,\"nbf\":1700000000,\"exp\":1700000600}");
        size_t diff = 0, at = 0;
        for (size_t i = 0; i < (size_t)(dot2 - good); i++)
            if (good[i] != other[i]) diff++, at = i;
        cr_assert_eq(diff, 1, "one character of base64url apart");
        memcpy(tok, good, strlen(good) + 1);
        tok[at] = other[at];
        cr_expect_eq(verify_s(k, tok, &at_now, NULL), CHOPIN_JWT_BAD_SIGNATURE, "alg %zu payload",
                     a);
        /* a signature byte: the 4th character is the low six bits of the 3rd byte */
        memcpy(tok, good, strlen(good) + 1);
        tok[dot2 - good + 4] = tok[dot2 - good + 4] == 'A' ? 'B' : 'A';
        cr_expect_eq(verify_s(k, tok, &at_now, NULL), CHOPIN_JWT_BAD_SIGNATURE, "alg %zu sig", a);
    }
}

/* Every position of a valid token replaced by every other base64url
 * character, and every prefix: never accepted, never a crash, and a status
 * that says why. The last character of a segment mostly changes only
 * padding bits: strict decoding is what refuses those. */
Test(jwt_hostile, every_single_change_and_every_prefix_is_refused) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    static const struct {
        key_kind key;
        const char *header;
        sig_kind sig;
        size_t stride; /* of replacement characters: RSA is slow under sanitizers */
    } algs[] = {{KEY_HS, HDR_HS, SIG_HS, 1},
                {KEY_ED_PUB, HDR_ED, SIG_ED, 1},
                {KEY_RS_PUB, HDR_RS, SIG_RS, 13}};
    static char good[TOKBUF], tok[TOKBUF];
    for (size_t a = 0; a < 3; a++) {
        const chopin_jwt_key *k = table_key(algs[a].key);
        forge(good, algs[a].header, PAY, algs[a].sig);
        size_t n = strlen(good);
        cr_assert_eq(verify_s(k, good, &at_now, NULL), CHOPIN_JWT_OK);
        for (size_t len = 0; len < n; len++) {
            chopin_jwt_status st = verify_n(k, good, len, &at_now, NULL);
            cr_assert(st == CHOPIN_JWT_MALFORMED || st == CHOPIN_JWT_BAD_SIGNATURE,
                      "alg %zu prefix %zu: %s", a, len, status_name(st));
        }
        size_t tried = 0;
        for (size_t i = 0; i < n; i++) {
            if (good[i] == '.') continue;
            for (size_t c = i % algs[a].stride; c < 64; c += algs[a].stride) {
                if (alphabet[c] == good[i]) continue;
                memcpy(tok, good, n + 1);
                tok[i] = alphabet[c];
                chopin_jwt_status st = verify_n(k, tok, n, &at_now, NULL);
                cr_assert_neq(st, CHOPIN_JWT_OK, "alg %zu: '%c' at %zu accepted", a, alphabet[c],
                              i);
                tried++;
            }
        }
        cr_expect_gt(tried, n * (64 / algs[a].stride) / 2);
    }
}

/* An RSA signature is exactly the modulus size: with its leading zero byte
 * dropped it would be a second text for the same token. */
Test(jwt_hostile, rsa_signature_without_its_leading_zero) {
    chopin_jwt_key *priv = pem_key(CHOPIN_JWT_RS256, "rsa");
    char tok[CHOPIN_JWT_MAX_LEN + 1];
    unsigned char sig[512];
    ssize_t sig_len = 0;
    size_t tries = 0;
    char *dot2 = NULL;
    do {
        cr_assert_lt(tries++, 5000, "no signature starting with 0x00 in 5000 tries");
        chopin_jwt_claims c = {.exp = NOW + 600, .iat = NOW, .nbf = NOW};
        cr_assert_gt(chopin_jwt_sign(priv, &c, tok, sizeof tok), 0);
        dot2 = strrchr(tok, '.');
        sig_len = b64url_decode(sig, dot2 + 1, strlen(dot2 + 1));
        cr_assert_eq(sig_len, 256);
    } while (sig[0] != 0);
    cr_assert_eq(verify_s(priv, tok, &at_now, NULL), CHOPIN_JWT_OK);
    size_t at = (size_t)(dot2 + 1 - tok);
    at += b64url_encode(tok + at, sig + 1, (size_t)sig_len - 1);
    tok[at] = 0;
    cr_expect_eq(verify_s(priv, tok, &at_now, NULL), CHOPIN_JWT_BAD_SIGNATURE, "after %zu tries",
                 tries);
    chopin_jwt_key_free(priv);
}
