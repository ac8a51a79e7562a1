/* test_jwt_interop.c - JSON Web Tokens made by Chopin read by PyJWT, and
 * made by PyJWT read by Chopin, for the three algorithms.
 *
 * Python is Debian's (/usr/bin/python3, where python3-jwt lives) unless
 * CHOPIN_PYTHON names another. The keys and helpers are those of
 * jwt_fixture.h. */
#include "jwt_fixture.h"

#include <chopin/json_read.h>

#include <inttypes.h>
#include <time.h>

/* --- Interoperability with PyJWT -------------------------------------------------------- */

static const char *python(void) {
    const char *p = getenv("CHOPIN_PYTHON");
    if (p && *p) return p;
    return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

/* decode ALG KEY TOKEN AUD ISS: prints the claims as JSON.
 * encode ALG KEY CLAIMS_JSON: prints the token.
 * KEY is a hex secret for HS256, else a PEM file. */
static const char interop_py[] =
    "import sys, json, jwt\n"
    "mode, alg, key = sys.argv[1:4]\n"
    "key = bytes.fromhex(key) if alg == 'HS256' else open(key, 'rb').read()\n"
    "if mode == 'decode':\n"
    "    c = jwt.decode(sys.argv[4], key, algorithms=[alg], audience=sys.argv[5],\n"
    "                   issuer=sys.argv[6])\n"
    "    h = jwt.get_unverified_header(sys.argv[4])\n"
    "    print(json.dumps({'claims': c, 'header': h}))\n"
    "else:\n"
    "    print(jwt.encode(json.loads(sys.argv[4]), key, algorithm=alg))\n";

/* Runs the interop script; returns its stdout (malloc'd), asserting exit 0. */
static char *pyjwt(const char *mode, const char *alg, const char *key, const char *arg,
                   const char *extra) {
    char script[128];
    make_key_dir();
    snprintf(script, sizeof script, "%s/interop.py", key_dir);
    if (access(script, R_OK) != 0) {
        FILE *f = fopen(script, "w");
        cr_assert_not_null(f);
        fputs(interop_py, f);
        fclose(f);
    }
    char *cmd = malloc(TOKBUF);
    snprintf(cmd, TOKBUF, "%s %s %s %s %s '%s' %s", python(), script, mode, alg, key, arg,
             extra ? extra : "");
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char *out = calloc(1, TOKBUF);
    size_t n = fread(out, 1, TOKBUF - 1, p);
    int rc = pclose(p);
    cr_assert_eq(rc, 0, "%s exited %d (is python3-jwt installed? scripts/install-deps.sh test)",
                 cmd, rc);
    free(cmd);
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r')) out[--n] = 0;
    return out;
}

static const char *hex_secret(void) {
    static char hex[2 * sizeof SECRET];
    for (size_t i = 0; i < strlen(SECRET); i++)
        snprintf(hex + 2 * i, 3, "%02x", (unsigned char)SECRET[i]);
    return hex;
}

static const char *json_str(const chopin_json_value *obj, const char *name) {
    const chopin_json_value *v = chopin_json_get(obj, name);
    return v && v->type == CHOPIN_JSON_STRING ? v->u.str.ptr : "(missing)";
}

static int64_t json_int(const chopin_json_value *obj, const char *name) {
    const chopin_json_value *v = chopin_json_get(obj, name);
    return v && v->type == CHOPIN_JSON_NUMBER && v->is_int ? v->u.num.i : -1;
}

static void chopin_to_pyjwt(const chopin_jwt_key *k, const char *alg, const char *pykey) {
    int64_t now = (int64_t)time(NULL);
    chopin_jwt_claims c = full_claims(now);
    char tok[CHOPIN_JWT_MAX_LEN + 1];
    cr_assert_gt(chopin_jwt_sign(k, &c, tok, sizeof tok), 0);
    char *out = pyjwt("decode", alg, pykey, tok, "api chopin");
    chopin_json_doc *doc = chopin_json_doc_parse(out, strlen(out), NULL);
    cr_assert_not_null(doc, "PyJWT said: %s", out);
    const chopin_json_value *claims = chopin_json_get(chopin_json_doc_root(doc), "claims");
    const chopin_json_value *header = chopin_json_get(chopin_json_doc_root(doc), "header");
    cr_expect_str_eq(json_str(header, "alg"), alg);
    cr_expect_str_eq(json_str(header, "typ"), "JWT");
    cr_expect_str_eq(json_str(claims, "sub"), c.sub);
    cr_expect_str_eq(json_str(claims, "role"), c.role);
    cr_expect_str_eq(json_str(claims, "jti"), c.jti);
    cr_expect_str_eq(json_str(claims, "typ"), c.typ);
    cr_expect_str_eq(json_str(claims, "fam"), c.fam);
    cr_expect_str_eq(json_str(claims, "iss"), c.iss);
    cr_expect_str_eq(json_str(claims, "aud"), c.aud);
    cr_expect_eq(json_int(claims, "iat"), c.iat);
    cr_expect_eq(json_int(claims, "nbf"), c.nbf);
    cr_expect_eq(json_int(claims, "exp"), c.exp);
    chopin_json_doc_free(doc);
    free(out);
}

static void pyjwt_to_chopin(const chopin_jwt_key *k, const char *alg, const char *pykey) {
    int64_t now = (int64_t)time(NULL);
    char claims[512];
    snprintf(claims, sizeof claims,
             "{\"sub\": \"py-7\", \"role\": \"user\", \"jti\": \"py-jti\", \"typ\": \"refresh\", "
             "\"fam\": \"fam-9\", \"iss\": \"chopin\", \"aud\": [\"web\", \"api\"], "
             "\"iat\": %" PRId64 ", \"nbf\": %" PRId64 ", \"exp\": %" PRId64
             ", \"extra\": {\"ignored\": [1, 2.5, null]}}",
             now, now - 1, now + 300);
    char *tok = pyjwt("encode", alg, pykey, claims, NULL);
    chopin_jwt_expect ex = {.iss = "chopin", .aud = "api", .typ = "refresh"};
    chopin_jwt_claims back;
    chopin_jwt_status st = verify_s(k, tok, &ex, &back);
    cr_assert_eq(st, CHOPIN_JWT_OK, "%s: %s for %s", alg, status_name(st), tok);
    cr_expect_str_eq(back.sub, "py-7");
    cr_expect_str_eq(back.role, "user");
    cr_expect_str_eq(back.jti, "py-jti");
    cr_expect_str_eq(back.typ, "refresh");
    cr_expect_str_eq(back.fam, "fam-9");
    cr_expect_str_eq(back.iss, "chopin");
    cr_expect_str_eq(back.aud, "api", "the audience that matched");
    cr_expect_eq(back.iat, now);
    cr_expect_eq(back.nbf, now - 1);
    cr_expect_eq(back.exp, now + 300);
    /* and it is a refresh token, not an access one */
    ex.typ = "access";
    cr_expect_eq(verify_s(k, tok, &ex, NULL), CHOPIN_JWT_BAD_TYPE);
    free(tok);
}

Test(jwt_interop, hs256_both_ways) {
    chopin_jwt_key *k = hs_key();
    chopin_to_pyjwt(k, "HS256", hex_secret());
    pyjwt_to_chopin(k, "HS256", hex_secret());
    chopin_jwt_key_free(k);
}

Test(jwt_interop, rs256_both_ways) {
    chopin_jwt_key *priv = pem_key(CHOPIN_JWT_RS256, "rsa");
    chopin_jwt_key *pub = pem_key(CHOPIN_JWT_RS256, "rsa_pub");
    chopin_to_pyjwt(priv, "RS256", key_file("rsa_pub"));
    pyjwt_to_chopin(pub, "RS256", key_file("rsa"));
    chopin_jwt_key_free(priv);
    chopin_jwt_key_free(pub);
}

Test(jwt_interop, eddsa_both_ways) {
    chopin_jwt_key *priv = pem_key(CHOPIN_JWT_EDDSA, "ed");
    chopin_jwt_key *pub = pem_key(CHOPIN_JWT_EDDSA, "ed_pub");
    chopin_to_pyjwt(priv, "EdDSA", key_file("ed_pub"));
    pyjwt_to_chopin(pub, "EdDSA", key_file("ed"));
    chopin_jwt_key_free(priv);
    chopin_jwt_key_free(pub);
}
