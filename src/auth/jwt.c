/* jwt.c - JSON Web Tokens: keys, signing, verification (see chopin/jwt.h).
 *
 * Verification interprets as little as possible of what a client sent
 * before the signature holds: the length first, then the three segments
 * (strict base64url, which interprets nothing), then the header's JSON
 * (small, and needed to refuse a wrong alg), then the signature over the
 * segments as sent, and only then the payload's JSON and its claims. OpenSSL errors are cleared
 * where they happen, so that a refused token never leaves entries on the thread's error queue for
 * unrelated code (a TLS library, the database driver) to trip over. */
#include "chopin/jwt.h"

#include "chopin/base.h"
#include "chopin/json.h"
#include "chopin/json_read.h"
#include "jwt_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

/* RFC 7518 section 3.3 asks for 2048 bits at least; beyond 8192 verifying
 * costs tens of milliseconds, a gift to anyone flooding the auth routes. */
#define RSA_MIN_BITS    2048
#define RSA_MAX_BITS    8192
#define MAX_SIG_LEN     (RSA_MAX_BITS / 8)
#define ED25519_SIG_LEN 64
#define HS256_SIG_LEN   32

/* Our headers have two members; anyone's have a handful. The cap bounds the
 * duplicate-name check on the one part parsed before the signature. */
#define MAX_HEADER_MEMBERS 16

#define PEM_FILE_MAX (1u << 20)

struct chopin_jwt_key {
    chopin_jwt_alg alg;    /* pinned: the only alg a token may name */
    bool can_sign;         /* a secret, or a private key */
    unsigned char *secret; /* HS256 */
    size_t secret_len;
    EVP_MD *sha256; /* HS256: fetched once rather than on every token */
    EVP_PKEY *pkey; /* RS256, EdDSA */
};

static const char *alg_name(chopin_jwt_alg alg) {
    switch (alg) {
    case CHOPIN_JWT_HS256:
        return "HS256";
    case CHOPIN_JWT_RS256:
        return "RS256";
    case CHOPIN_JWT_EDDSA:
        return "EdDSA";
    }
    return "(invalid)"; /* unreachable: keys are made with one of the above */
}

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t err_len,
                                                          const char *fmt, ...) {
    if (!err || !err_len) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

/* OpenSSL's reason for the last failure, then a clean queue. The reason is
 * static text about the input's shape, never key material. */
static const char *take_ssl_reason(void) {
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return r ? r : "unknown reason";
}

/* --- Keys ----------------------------------------------------------------------- */

chopin_jwt_key *chopin_jwt_key_hs256(const void *secret, size_t len, char *err, size_t err_len) {
    if (!secret || len < CHOPIN_JWT_HS256_MIN_SECRET) {
        set_err(err, err_len, "an HS256 secret needs at least %d bytes, this one has %zu",
                CHOPIN_JWT_HS256_MIN_SECRET, secret ? len : 0);
        return NULL;
    }
    if (len > INT_MAX) {
        set_err(err, err_len, "an HS256 secret of %zu bytes is too long", len);
        return NULL;
    }
    /* A key file pasted where the secret goes would turn "verify with the
     * public key" into "anyone holding the public key can sign". */
    if (memmem(secret, len, "-----BEGIN", 10)) {
        set_err(err, err_len, "an HS256 secret must not be a PEM key (use chopin_jwt_key_pem)");
        return NULL;
    }
    chopin_jwt_key *k = calloc(1, sizeof *k);
    if (!k || !(k->secret = malloc(len)) || !(k->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL))) {
        ERR_clear_error();
        chopin_jwt_key_free(k);
        set_err(err, err_len, "out of memory");
        return NULL;
    }
    memcpy(k->secret, secret, len);
    k->secret_len = len;
    k->alg = CHOPIN_JWT_HS256;
    k->can_sign = true;
    return k;
}

/* Refuses to decrypt: without it OpenSSL would prompt on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u) {
    return -1;
}

chopin_jwt_key *chopin_jwt_key_pem(chopin_jwt_alg alg, const char *pem, size_t len, char *err,
                                   size_t err_len) {
    if (alg == CHOPIN_JWT_HS256) {
        set_err(err, err_len, "HS256 takes a secret (chopin_jwt_key_hs256), not a PEM key");
        return NULL;
    }
    if (alg != CHOPIN_JWT_RS256 && alg != CHOPIN_JWT_EDDSA) {
        set_err(err, err_len, "unknown JWT algorithm %d", (int)alg);
        return NULL;
    }
    if (!pem || !len || len > INT_MAX) {
        set_err(err, err_len, "no PEM text");
        return NULL;
    }
    bool priv = true;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
    BIO_free(bio);
    if (!pkey) {
        ERR_clear_error();
        priv = false;
        bio = BIO_new_mem_buf(pem, (int)len);
        pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL) : NULL;
        BIO_free(bio);
    }
    if (!pkey) {
        const char *why = take_ssl_reason();
        if (memmem(pem, len, "ENCRYPTED", 9))
            set_err(err, err_len, "encrypted private keys are not supported: decrypt it first");
        else
            set_err(err, err_len, "no PEM private or public key found (%s)", why);
        return NULL;
    }
    chopin_jwt_key *k = NULL;
    int type = EVP_PKEY_get_base_id(pkey);
    if (alg == CHOPIN_JWT_RS256) {
        int bits = EVP_PKEY_get_bits(pkey);
        if (type != EVP_PKEY_RSA) {
            set_err(err, err_len, "RS256 needs an RSA key, this PEM holds another type");
            goto fail;
        }
        if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
            set_err(err, err_len, "RS256 needs an RSA key of %d to %d bits, this one has %d",
                    RSA_MIN_BITS, RSA_MAX_BITS, bits);
            goto fail;
        }
    } else if (type != EVP_PKEY_ED25519) {
        set_err(err, err_len, "EdDSA needs an Ed25519 key, this PEM holds another type");
        goto fail;
    }
    if (!(k = calloc(1, sizeof *k))) {
        set_err(err, err_len, "out of memory");
        goto fail;
    }
    k->alg = alg;
    k->pkey = pkey;
    k->can_sign = priv;
    return k;
fail:
    EVP_PKEY_free(pkey);
    return NULL;
}

chopin_jwt_key *chopin_jwt_key_pem_file(chopin_jwt_alg alg, const char *path, char *err,
                                        size_t err_len) {
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) {
        set_err(err, err_len, "%s: %s", path ? path : "(null)", strerror(path ? errno : EINVAL));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (uintmax_t)st.st_size > PEM_FILE_MAX) {
        set_err(err, err_len, "%s: not a regular file of 1 byte to 1 MiB", path);
        close(fd);
        return NULL;
    }
    size_t size = (size_t)st.st_size, got = 0;
    char *text = malloc(size);
    while (text && got < size) {
        ssize_t n = read(fd, text + got, size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    int read_errno = errno;
    close(fd);
    if (!text || got != size) {
        set_err(err, err_len, "%s: %s", path, text ? strerror(read_errno) : "out of memory");
        free(text);
        return NULL;
    }
    chopin_jwt_key *k = chopin_jwt_key_pem(alg, text, size, err, err_len);
    OPENSSL_clear_free(text, size); /* it may hold a private key */
    return k;
}

void chopin_jwt_key_free(chopin_jwt_key *k) {
    if (!k) return;
    if (k->secret) OPENSSL_clear_free(k->secret, k->secret_len);
    EVP_MD_free(k->sha256);
    EVP_PKEY_free(k->pkey);
    free(k);
}

chopin_jwt_alg chopin_jwt_key_alg(const chopin_jwt_key *k) {
    return k->alg;
}

/* --- Signatures ------------------------------------------------------------------ */

/* sig must hold MAX_SIG_LEN bytes. */
static bool sign_bytes(const chopin_jwt_key *k, const char *data, size_t len, unsigned char *sig,
                       size_t *sig_len) {
    if (k->alg == CHOPIN_JWT_HS256) {
        unsigned int n = 0;
        bool ok = HMAC(k->sha256, k->secret, (int)k->secret_len, (const unsigned char *)data, len,
                       sig, &n) != NULL;
        if (!ok) ERR_clear_error();
        *sig_len = n;
        return ok;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    bool rsa = k->alg == CHOPIN_JWT_RS256;
    *sig_len = MAX_SIG_LEN;
    /* Ed25519 hashes inside the signature scheme: no digest name. */
    bool ok =
        md &&
        EVP_DigestSignInit_ex(md, &pctx, rsa ? "SHA256" : NULL, NULL, NULL, k->pkey, NULL) == 1 &&
        (!rsa || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1) &&
        EVP_DigestSign(md, sig, sig_len, (const unsigned char *)data, len) == 1;
    if (!ok) ERR_clear_error();
    EVP_MD_CTX_free(md);
    return ok;
}

static bool verify_bytes(const chopin_jwt_key *k, const char *data, size_t len,
                         const unsigned char *sig, size_t sig_len) {
    if (k->alg == CHOPIN_JWT_HS256) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        if (!HMAC(k->sha256, k->secret, (int)k->secret_len, (const unsigned char *)data, len, mac,
                  &n)) {
            ERR_clear_error();
            return false;
        }
        bool same = chopin_secure_equal(mac, n, sig, sig_len);
        OPENSSL_cleanse(mac, sizeof mac);
        return same;
    }
    bool rsa = k->alg == CHOPIN_JWT_RS256;
    /* Exactly the modulus size (RFC 8017 I2OSP): OpenSSL 3 refuses other
     * lengths as well, but one signature must never have two texts, whatever
     * the library version. */
    size_t want = rsa ? (size_t)EVP_PKEY_get_size(k->pkey) : ED25519_SIG_LEN;
    if (sig_len != want) return false;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    bool ok =
        md &&
        EVP_DigestVerifyInit_ex(md, &pctx, rsa ? "SHA256" : NULL, NULL, NULL, k->pkey, NULL) == 1 &&
        (!rsa || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1) &&
        EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)data, len) == 1;
    if (!ok) ERR_clear_error();
    EVP_MD_CTX_free(md);
    return ok;
}

/* --- Signing ---------------------------------------------------------------------- */

static bool terminated(const char *field, size_t size) {
    return memchr(field, 0, size) != NULL;
}

static void put_claim(chopin_json *j, const char *name, const char *value) {
    if (!value[0]) return;
    chopin_json_key(j, name);
    chopin_json_string(j, value);
}

/* Appends the base64url of src to out at *at if it fits (with room for a
 * NUL), else returns false. */
static bool append_b64(char *out, size_t out_len, size_t *at, const void *src, size_t len) {
    size_t n = B64URL_ENCODED_LEN(len);
    if (out_len - *at <= n) return false;
    *at += b64url_encode(out + *at, src, len);
    return true;
}

static bool append_dot(char *out, size_t out_len, size_t *at) {
    if (out_len - *at <= 1) return false;
    out[(*at)++] = '.';
    return true;
}

ssize_t chopin_jwt_sign(const chopin_jwt_key *k, chopin_jwt_claims *claims, char *out,
                        size_t out_len) {
    if (!k || !k->can_sign || !claims || !out || !out_len || !claims->exp) return -1;
    chopin_jwt_claims *c = claims;
#define TERMINATED(f) terminated((f), sizeof(f))
    if (!TERMINATED(c->sub) || !TERMINATED(c->role) || !TERMINATED(c->jti) || !TERMINATED(c->typ) ||
        !TERMINATED(c->fam) || !TERMINATED(c->iss) || !TERMINATED(c->aud))
        return -1;
#undef TERMINATED
    int64_t now = (int64_t)time(NULL);
    if (!c->iat) c->iat = now;
    if (!c->nbf) c->nbf = now;
    if (!c->jti[0]) {
        unsigned char id[16];
        if (RAND_bytes(id, sizeof id) != 1) {
            ERR_clear_error();
            return -1;
        }
        c->jti[b64url_encode(c->jti, id, sizeof id)] = '\0';
    }

    chopin_json *j = chopin_json_new();
    if (!j) return -1;
    chopin_json_object(j);
    put_claim(j, "iss", c->iss);
    put_claim(j, "sub", c->sub);
    put_claim(j, "aud", c->aud);
    chopin_json_key(j, "iat");
    chopin_json_int(j, c->iat);
    chopin_json_key(j, "nbf");
    chopin_json_int(j, c->nbf);
    chopin_json_key(j, "exp");
    chopin_json_int(j, c->exp);
    put_claim(j, "jti", c->jti);
    put_claim(j, "typ", c->typ);
    put_claim(j, "role", c->role);
    put_claim(j, "fam", c->fam);
    chopin_json_end(j);
    size_t payload_len = 0;
    const char *payload = chopin_json_text(j, &payload_len);
    /* The writer escapes but does not validate UTF-8; the reader does. A
     * token our own verifier would refuse is not worth issuing. */
    chopin_json_doc *check = payload ? chopin_json_doc_parse(payload, payload_len, NULL) : NULL;
    bool ok = check != NULL;
    chopin_json_doc_free(check);

    char header[48];
    int header_len =
        snprintf(header, sizeof header, "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg_name(k->alg));
    size_t at = 0;
    ok = ok && append_b64(out, out_len, &at, header, (size_t)header_len) &&
         append_dot(out, out_len, &at) && append_b64(out, out_len, &at, payload, payload_len);
    chopin_json_free(j);
    unsigned char sig[MAX_SIG_LEN];
    size_t sig_len = 0;
    ok = ok && sign_bytes(k, out, at, sig, &sig_len) && append_dot(out, out_len, &at) &&
         append_b64(out, out_len, &at, sig, sig_len) && at <= CHOPIN_JWT_MAX_LEN;
    if (!ok) {
        out[0] = '\0';
        return -1;
    }
    out[at] = '\0';
    return (ssize_t)at;
}

/* --- Verification ------------------------------------------------------------------- */

static bool has_duplicate_names(const chopin_json_value *obj) {
    const chopin_json_member *m = obj->u.obj.members;
    for (size_t i = 1; i < obj->u.obj.count; i++)
        for (size_t j = 0; j < i; j++)
            if (m[i].key.len == m[j].key.len && !memcmp(m[i].key.ptr, m[j].key.ptr, m[i].key.len))
                return true;
    return false;
}

static chopin_jwt_status check_header(const chopin_jwt_key *k, const chopin_json_value *hdr) {
    if (hdr->type != CHOPIN_JSON_OBJECT || hdr->u.obj.count > MAX_HEADER_MEMBERS ||
        has_duplicate_names(hdr))
        return CHOPIN_JWT_MALFORMED;
    const chopin_json_value *alg = chopin_json_get(hdr, "alg");
    if (!alg || alg->type != CHOPIN_JSON_STRING || !chopin_str_eq(alg->u.str, alg_name(k->alg)))
        return CHOPIN_JWT_BAD_ALG;
    /* Each of these would let the token pick its own key or change the
     * rules (RFC 8725 section 3.10); the key was chosen by configuration. */
    static const char *const refused[] = {"crit", "jku", "jwk", "x5u", "x5c"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (chopin_json_get(hdr, refused[i])) return CHOPIN_JWT_BAD_ALG;
    const chopin_json_value *typ = chopin_json_get(hdr, "typ");
    if (typ && (typ->type != CHOPIN_JSON_STRING || !chopin_str_eq(typ->u.str, "JWT")))
        return CHOPIN_JWT_BAD_TYPE;
    return CHOPIN_JWT_OK;
}

/* Copies a string claim into dst[size]; false when it is not a string, holds
 * a NUL (C code would read a shorter string than was signed) or does not fit. */
static bool copy_string(const chopin_json_value *v, char *dst, size_t size) {
    if (v->type != CHOPIN_JSON_STRING || v->u.str.len >= size ||
        memchr(v->u.str.ptr, 0, v->u.str.len))
        return false;
    memcpy(dst, v->u.str.ptr, v->u.str.len + 1);
    return true;
}

static bool read_string(const chopin_json_value *payload, const char *name, char *dst,
                        size_t size) {
    const chopin_json_value *v = chopin_json_get(payload, name);
    return !v || copy_string(v, dst, size);
}

/* A NumericDate: an integer, as we issue them (RFC 7519 allows fractions;
 * nobody needs them, and refusing them leaves no rounding to argue about). */
static bool read_date(const chopin_json_value *payload, const char *name, int64_t *dst,
                      bool *present) {
    const chopin_json_value *v = chopin_json_get(payload, name);
    *present = v != NULL;
    if (!v) return true;
    if (v->type != CHOPIN_JSON_NUMBER || !v->is_int) return false;
    *dst = v->u.num.i;
    return true;
}

static int64_t sat_add(int64_t a, int64_t b) {
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

static int64_t sat_sub(int64_t a, int64_t b) {
    int64_t r;
    return __builtin_sub_overflow(a, b, &r) ? (b > 0 ? INT64_MIN : INT64_MAX) : r;
}

static chopin_jwt_status check_claims(const chopin_json_value *payload,
                                      const chopin_jwt_expect *expect, chopin_jwt_claims *cl) {
    if (payload->type != CHOPIN_JSON_OBJECT || has_duplicate_names(payload))
        return CHOPIN_JWT_MALFORMED;
    bool has_exp, has_nbf, has_iat;
    if (!read_string(payload, "sub", cl->sub, sizeof cl->sub) ||
        !read_string(payload, "role", cl->role, sizeof cl->role) ||
        !read_string(payload, "jti", cl->jti, sizeof cl->jti) ||
        !read_string(payload, "typ", cl->typ, sizeof cl->typ) ||
        !read_string(payload, "fam", cl->fam, sizeof cl->fam) ||
        !read_string(payload, "iss", cl->iss, sizeof cl->iss) ||
        !read_date(payload, "exp", &cl->exp, &has_exp) ||
        !read_date(payload, "nbf", &cl->nbf, &has_nbf) ||
        !read_date(payload, "iat", &cl->iat, &has_iat) || !has_exp)
        return CHOPIN_JWT_MALFORMED;

    /* aud: one string or an array of strings (RFC 7519 section 4.1.3). */
    const char *want_aud = expect ? expect->aud : NULL;
    const chopin_json_value *aud = chopin_json_get(payload, "aud");
    bool aud_matched = false;
    if (aud && aud->type == CHOPIN_JSON_STRING) {
        if (!copy_string(aud, cl->aud, sizeof cl->aud)) return CHOPIN_JWT_MALFORMED;
        aud_matched = want_aud && chopin_str_eq(aud->u.str, want_aud);
    } else if (aud && aud->type == CHOPIN_JSON_ARRAY) {
        for (size_t i = 0; i < aud->u.arr.count; i++) {
            const chopin_json_value *item = &aud->u.arr.items[i];
            if (item->type != CHOPIN_JSON_STRING) return CHOPIN_JWT_MALFORMED;
            if (want_aud && chopin_str_eq(item->u.str, want_aud)) aud_matched = true;
        }
        /* The caller learns the audience it is: the one that matched. */
        if (aud_matched) {
            size_t n = strlen(want_aud);
            if (n >= sizeof cl->aud) return CHOPIN_JWT_MALFORMED;
            memcpy(cl->aud, want_aud, n + 1);
        }
    } else if (aud) {
        return CHOPIN_JWT_MALFORMED;
    }

    int64_t now = expect && expect->now ? expect->now : (int64_t)time(NULL);
    int64_t leeway = !expect || !expect->leeway_s ? CHOPIN_JWT_DEFAULT_LEEWAY_S
                     : expect->leeway_s < 0       ? 0
                                                  : expect->leeway_s;
    if (cl->exp <= sat_sub(now, leeway)) return CHOPIN_JWT_EXPIRED;
    if (has_nbf && cl->nbf > sat_add(now, leeway)) return CHOPIN_JWT_NOT_YET_VALID;
    if (has_iat && cl->iat > sat_add(now, leeway)) return CHOPIN_JWT_NOT_YET_VALID;

    if (expect && expect->iss && (!chopin_json_get(payload, "iss") || strcmp(cl->iss, expect->iss)))
        return CHOPIN_JWT_BAD_ISSUER;
    /* A token meant for some audience is not for a service that names none. */
    if (want_aud ? !aud_matched : aud != NULL) return CHOPIN_JWT_BAD_AUDIENCE;
    if (expect && expect->typ && strcmp(cl->typ, expect->typ)) return CHOPIN_JWT_BAD_TYPE;
    return CHOPIN_JWT_OK;
}

static chopin_jwt_status verify(const chopin_jwt_key *k, const char *token, size_t len,
                                const chopin_jwt_expect *expect, chopin_jwt_claims *cl) {
    if (len > CHOPIN_JWT_MAX_LEN) return CHOPIN_JWT_TOO_LARGE;
    if (!k) return CHOPIN_JWT_BAD_ALG;
    if (!token || !len) return CHOPIN_JWT_MALFORMED;
    const char *end = token + len;
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1)) : NULL;
    if (!dot2 || memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1))) return CHOPIN_JWT_MALFORMED;
    size_t header_len = (size_t)(dot1 - token);
    size_t payload_len = (size_t)(dot2 - dot1 - 1);
    size_t sig_len = (size_t)(end - dot2 - 1);

    /* One buffer for the three decoded segments: heap, not stack, since
     * handlers run on coroutine stacks that may be small. */
    size_t header_cap = B64URL_DECODED_MAX(header_len);
    size_t payload_cap = B64URL_DECODED_MAX(payload_len);
    unsigned char *buf = malloc(header_cap + payload_cap + B64URL_DECODED_MAX(sig_len));
    chopin_json_doc *doc = chopin_json_doc_new();
    chopin_jwt_status st = CHOPIN_JWT_MALFORMED;
    if (!buf || !doc) goto done; /* out of memory: refuse rather than guess */
    unsigned char *header = buf, *payload = buf + header_cap, *sig = payload + payload_cap;

    /* All three segments must be strict base64url before anything is parsed
     * (decoding interprets nothing). */
    ssize_t hn = b64url_decode(header, token, header_len);
    ssize_t pn = b64url_decode(payload, dot1 + 1, payload_len);
    ssize_t sn = b64url_decode(sig, dot2 + 1, sig_len);
    if (hn <= 0 || pn <= 0 || sn < 0) goto done;

    const chopin_json_value *v =
        chopin_json_doc_reparse(doc, (const char *)header, (size_t)hn, NULL);
    if (!v) goto done;
    if ((st = check_header(k, v)) != CHOPIN_JWT_OK) goto done;
    if (!verify_bytes(k, token, (size_t)(dot2 - token), sig, (size_t)sn)) {
        st = CHOPIN_JWT_BAD_SIGNATURE;
        goto done;
    }
    v = chopin_json_doc_reparse(doc, (const char *)payload, (size_t)pn, NULL);
    st = v ? check_claims(v, expect, cl) : CHOPIN_JWT_MALFORMED;
done:
    chopin_json_doc_free(doc);
    free(buf);
    return st;
}

chopin_jwt_status chopin_jwt_verify(const chopin_jwt_key *k, const char *token, size_t len,
                                    const chopin_jwt_expect *expect, chopin_jwt_claims *out) {
    chopin_jwt_claims scratch;
    chopin_jwt_claims *cl = out ? out : &scratch;
    memset(cl, 0, sizeof *cl);
    chopin_jwt_status st = verify(k, token, len, expect, cl);
    if (st != CHOPIN_JWT_OK) memset(cl, 0, sizeof *cl);
    return st;
}

const char *chopin_jwt_status_text(chopin_jwt_status st) {
    switch (st) {
    case CHOPIN_JWT_OK:
        return "ok";
    case CHOPIN_JWT_MALFORMED:
        return "malformed token";
    case CHOPIN_JWT_BAD_ALG:
        return "algorithm or key source not allowed";
    case CHOPIN_JWT_BAD_SIGNATURE:
        return "bad signature";
    case CHOPIN_JWT_EXPIRED:
        return "token expired";
    case CHOPIN_JWT_NOT_YET_VALID:
        return "token not yet valid";
    case CHOPIN_JWT_BAD_ISSUER:
        return "wrong issuer";
    case CHOPIN_JWT_BAD_AUDIENCE:
        return "wrong audience";
    case CHOPIN_JWT_BAD_TYPE:
        return "wrong token type";
    case CHOPIN_JWT_TOO_LARGE:
        return "token too large";
    }
    return "unknown status";
}
