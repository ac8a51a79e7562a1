/* chopin/jwt.h - JSON Web Tokens (RFC 7519) in JWS compact form (RFC 7515),
 * following the JWT best current practices of RFC 8725.
 *
 * Owns: signing a fixed set of claims into a token, and verifying a token
 * against one key whose algorithm is pinned when the key is made. It never
 * lets the token choose: the header's "alg" must name the key's algorithm
 * exactly ("none", another algorithm, a missing alg: CHOPIN_JWT_BAD_ALG), and
 * a header that points at other keys (jku, jwk, x5u, x5c) or demands
 * extensions (crit) is refused; "kid" is ignored. It never fetches anything,
 * never logs, and never prints: errors are returned.
 *
 * Tokens are at most CHOPIN_JWT_MAX_LEN bytes; longer ones are refused before
 * any parsing. Decoding is strict: base64url without padding, whitespace or
 * non-canonical trailing bits, header and payload JSON objects without
 * duplicate names (RFC 7515 section 4 allows rejecting them, and rejecting
 * them is the only way two parsers cannot disagree about "alg").
 *
 * A key is immutable once made: one key may verify and sign on any number of
 * threads at once.
 *
 *   chopin_jwt_key *k = chopin_jwt_key_hs256(secret, 32, err, sizeof err);
 *   chopin_jwt_claims cl = {.sub = "42", .typ = "access", .exp = time(NULL) + 900};
 *   char token[CHOPIN_JWT_MAX_LEN + 1];
 *   ssize_t n = chopin_jwt_sign(k, &cl, token, sizeof token);
 *   ...
 *   chopin_jwt_expect ex = {.aud = NULL, .typ = "access"};
 *   if (chopin_jwt_verify(k, token, n, &ex, &cl) != CHOPIN_JWT_OK) -> 401 */
#ifndef CHOPIN_JWT_H
#define CHOPIN_JWT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The longest token accepted (and produced): far above what our claims make,
 * low enough that an attacker cannot make us parse much before the signature
 * check. */
#define CHOPIN_JWT_MAX_LEN 8192

/* The shortest HS256 secret: the hash's output size (RFC 7518 section 3.2). */
#define CHOPIN_JWT_HS256_MIN_SECRET 32

typedef enum {
    CHOPIN_JWT_HS256 = 1, /* HMAC-SHA-256 with a shared secret */
    CHOPIN_JWT_RS256,     /* RSASSA-PKCS1-v1_5 with SHA-256, RSA of 2048 to 8192 bits */
    CHOPIN_JWT_EDDSA      /* Ed25519 (RFC 8037); Ed448 is not accepted */
} chopin_jwt_alg;

/* Opaque: the pinned algorithm and its key material. */
typedef struct chopin_jwt_key chopin_jwt_key;

/* An HS256 key from a secret of at least CHOPIN_JWT_HS256_MIN_SECRET bytes
 * (copied). A secret that is a PEM text is refused: a public key used as an
 * HMAC secret is the classic RS256 -> HS256 confusion. On failure returns
 * NULL and writes a message (never the secret) to err, if err_len > 0. */
chopin_jwt_key *chopin_jwt_key_hs256(const void *secret, size_t len, char *err, size_t err_len);

/* An RS256 or EdDSA key from PEM text: a private key (PKCS#8 "PRIVATE KEY",
 * or PKCS#1 "RSA PRIVATE KEY") signs and verifies; a public key ("PUBLIC
 * KEY") only verifies. The key type must match alg (an Ed25519 key is not an
 * RS256 key). Encrypted private keys are refused (no passphrase prompt).
 * alg CHOPIN_JWT_HS256 is refused: HS256 takes a secret. */
chopin_jwt_key *chopin_jwt_key_pem(chopin_jwt_alg alg, const char *pem, size_t len, char *err,
                                   size_t err_len);
/* The same, reading the PEM from a file (at most 1 MiB). */
chopin_jwt_key *chopin_jwt_key_pem_file(chopin_jwt_alg alg, const char *path, char *err,
                                        size_t err_len);
/* Frees the key, wiping a secret first. NULL is fine. */
void chopin_jwt_key_free(chopin_jwt_key *k);

chopin_jwt_alg chopin_jwt_key_alg(const chopin_jwt_key *k);

/* The claims Chopin issues and reads. Strings are NUL-terminated UTF-8; an
 * empty string means the claim is absent. */
typedef struct {
    char sub[128];           /* subject: the user id */
    char role[32];           /* private claim */
    char jti[64];            /* unique token id (128 random bits, base64url) */
    char typ[16];            /* "access" or "refresh": private, so that one never stands in
                                for the other */
    char fam[64];            /* refresh-token family, optional */
    char iss[128], aud[128]; /* optional */
    int64_t iat, nbf, exp;   /* seconds since the epoch; 0 = absent */
} chopin_jwt_claims;

/* Signs claims into out as a NUL-terminated token and returns its length,
 * or -1 (k cannot sign, out too small, exp not set, a string not terminated
 * within its field or not UTF-8, no randomness). Defaults are written back
 * into claims: iat and nbf become now when 0, jti gets 128 random bits when
 * empty. A buffer of CHOPIN_JWT_MAX_LEN + 1 bytes always suffices. */
ssize_t chopin_jwt_sign(const chopin_jwt_key *k, chopin_jwt_claims *claims, char *out,
                        size_t out_len);

/* What a token must satisfy besides its signature. A NULL expect, or a
 * zeroed one, means: no issuer, no audience, no type required, 60 s leeway,
 * now = time(NULL). */
typedef struct {
    const char *iss;  /* required issuer, or NULL (then any iss is accepted) */
    const char *aud;  /* this service's audience, or NULL. Per RFC 7519 a token that has an
                         aud must list ours: with NULL, a token with any aud is refused */
    int64_t leeway_s; /* clock skew allowed on exp, nbf and iat: 0 = 60 s, < 0 = none */
    int64_t now;      /* seconds since the epoch; 0 = time(NULL) */
    const char *typ;  /* required private typ claim ("access"), or NULL */
} chopin_jwt_expect;

#define CHOPIN_JWT_DEFAULT_LEEWAY_S 60

/* Results in the order verification proceeds: the first failing check wins. */
typedef enum {
    CHOPIN_JWT_OK = 0,
    CHOPIN_JWT_MALFORMED,     /* not three strict base64url segments of JSON objects, a
                                 duplicate name, a claim of the wrong type, a claim that does
                                 not fit its field, exp missing */
    CHOPIN_JWT_BAD_ALG,       /* alg other than the key's, or jku/jwk/x5u/x5c/crit */
    CHOPIN_JWT_BAD_SIGNATURE, /* checked before the payload's JSON is parsed */
    CHOPIN_JWT_EXPIRED,       /* now - leeway >= exp */
    CHOPIN_JWT_NOT_YET_VALID, /* now + leeway < nbf, or < iat */
    CHOPIN_JWT_BAD_ISSUER,    /* iss missing or different from expect->iss */
    CHOPIN_JWT_BAD_AUDIENCE,  /* aud lacks expect->aud, or aud present and none expected */
    CHOPIN_JWT_BAD_TYPE,      /* header typ not "JWT", or typ claim not expect->typ */
    CHOPIN_JWT_TOO_LARGE      /* longer than CHOPIN_JWT_MAX_LEN */
} chopin_jwt_status;

/* Verifies token[0..len) with k and fills out (may be NULL) with its claims.
 * On any status but OK, out is zeroed: a caller that forgets the status
 * still holds no identity. A NULL k gives CHOPIN_JWT_BAD_ALG. */
chopin_jwt_status chopin_jwt_verify(const chopin_jwt_key *k, const char *token, size_t len,
                                    const chopin_jwt_expect *expect, chopin_jwt_claims *out);

/* A short static text for logs ("token expired"); never includes the token. */
const char *chopin_jwt_status_text(chopin_jwt_status st);

/* The app's key, made by chopin_app_new from JWT_ALGORITHM and JWT_SECRET
 * or the key files (in development without a secret: a random one). */
typedef struct chopin_app chopin_app;
const chopin_jwt_key *chopin_app_jwt_key(chopin_app *app);

#endif
