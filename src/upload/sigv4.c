/* sigv4.c - AWS Signature Version 4 signing (see sigv4.h).
 *
 * The canonical request is written through a sink: into the caller's buffer
 * for sigv4_canonical_request, straight into SHA-256 when signing, so that a
 * signature needs neither a buffer as long as the request nor an allocation.
 * Headers and query parameters are sorted as slices of the caller's strings;
 * the encoded form of a parameter is produced a byte at a time, when it is
 * compared or written, and never stored. Everything lives on the stack,
 * under 8 KiB, well within a handler coroutine's stack. */
#include "sigv4.h"

#include "../core/core.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define ALGORITHM        "AWS4-HMAC-SHA256"
#define UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SCOPE_TERMINATOR "aws4_request"
#define SHA256_LEN       32
#define HEX_LEN          (2 * SHA256_LEN)
#define DATE_LEN         8 /* the scope's date: the first 8 characters of x-amz-date */

/* Added here: host, x-amz-content-sha256, x-amz-date, x-amz-security-token. */
#define COMPUTED_HEADERS 4

/* "AKID/20150830/us-east-1/service/aws4_request" at its longest. */
#define CREDENTIAL_MAX                                                                             \
    (SIGV4_MAX_ACCESS_KEY + 1 + DATE_LEN + 2 * (1 + SIGV4_MAX_SCOPE_PART) + 1 +                    \
     sizeof SCOPE_TERMINATOR)
/* ALGORITHM \n x-amz-date \n scope \n hex, NUL included. */
#define STRING_TO_SIGN_MAX                                                                         \
    (sizeof ALGORITHM + SIGV4_AMZ_DATE_LEN + 1 + CREDENTIAL_MAX + HEX_LEN + 1)

/* --- Sinks ----------------------------------------------------------------------- */

/* Where canonical text goes: a caller's buffer (kept NUL-terminated), a
 * SHA-256 (bytes staged, sparing a digest call per byte), or nowhere
 * (neither). A failure is sticky and checked once, at the end. */
typedef struct {
    char *buf; /* text: buf[0..cap), len < cap */
    size_t cap;
    size_t len;     /* bytes written so far, whatever the kind */
    EVP_MD_CTX *md; /* digest */
    unsigned char stage[256];
    size_t staged;
    bool failed; /* out of room or a digest error */
} sink;

/* A sink writing to buf (cap bytes, NUL included); with buf NULL, a sink
 * that drops what it is given. */
static sink text_sink(char *buf, size_t cap) {
    sink s = {.buf = buf, .cap = cap, .failed = buf && !cap};
    if (buf && cap) buf[0] = '\0';
    return s;
}

static void flush_stage(sink *s) {
    if (s->staged && EVP_DigestUpdate(s->md, s->stage, s->staged) != 1) s->failed = true;
    s->staged = 0;
}

static void emit(sink *s, const void *p, size_t n) {
    if (s->failed || !n) return;
    s->len += n;
    if (s->md) {
        if (s->staged + n > sizeof s->stage) flush_stage(s);
        if (n > sizeof s->stage) {
            if (EVP_DigestUpdate(s->md, p, n) != 1) s->failed = true;
            return;
        }
        memcpy(s->stage + s->staged, p, n);
        s->staged += n;
    } else if (s->buf) {
        size_t at = s->len - n;
        if (n >= s->cap - at) {
            s->failed = true;
            return;
        }
        memcpy(s->buf + at, p, n);
        s->buf[s->len] = '\0';
    }
}

static void emit_char(sink *s, char c) {
    emit(s, &c, 1);
}
static void emit_str(sink *s, const char *str) {
    emit(s, str, strlen(str));
}

/* --- Characters ------------------------------------------------------------------ */

static const char hex_upper[] = "0123456789ABCDEF";

static bool is_alnum(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 3986 unreserved: the only bytes SigV4 leaves unencoded. */
static bool is_unreserved(unsigned char c) {
    return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 9110 tchar: what header names and methods are made of. */
static bool is_tchar(unsigned char c) {
    return is_alnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_ctl(unsigned char c) {
    return c < 0x20 || c == 0x7f;
}
static bool is_blank(char c) {
    return c == ' ' || c == '\t';
}
static char to_lower(char c) {
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_token(const char *s) {
    if (!s || !*s) return false;
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s)) return false;
    return true;
}

/* Printable ASCII without space: a host, a session token. */
static bool is_visible(const char *s) {
    if (!s || !*s) return false;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f) return false;
    return true;
}

/* A header field value may hold tabs and obs-text, no other control byte:
 * CR or LF would end the header early, or fold it. */
static bool is_field_value(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (is_ctl((unsigned char)p[i]) && p[i] != '\t') return false;
    return true;
}

/* No control byte, and no '#' (which would end the URL's query or path). */
static bool is_url_part(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (is_ctl((unsigned char)p[i]) || p[i] == '#') return false;
    return true;
}

/* Every '%' starts a %XX escape: decoding must be unambiguous. */
static bool has_valid_escapes(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] == '%') {
            if (n - i < 3 || hex_value((unsigned char)p[i + 1]) < 0 ||
                hex_value((unsigned char)p[i + 2]) < 0)
                return false;
            i += 2;
        }
    return true;
}

/* An access key id, region or service: non-empty, at most max bytes, and
 * nothing that would split the credential scope ('/') or the Authorization
 * header (',', space) or the header line itself. */
static bool is_scope_part(const char *s, size_t max) {
    if (!s || !*s) return false;
    size_t n = 0;
    for (; s[n]; n++)
        if (n == max || is_ctl((unsigned char)s[n]) || s[n] == ' ' || s[n] == '/' || s[n] == ',')
            return false;
    return true;
}

/* --- Encoding -------------------------------------------------------------------- */

static void emit_percent(sink *s, unsigned char c) {
    char esc[3] = {'%', hex_upper[c >> 4], hex_upper[c & 15]};
    emit(s, esc, sizeof esc);
}

static void emit_encoded(sink *s, const char *p, size_t n, bool encode_slash) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (is_unreserved(c) || (c == '/' && !encode_slash))
            emit_char(s, (char)c);
        else
            emit_percent(s, c);
    }
}

/* Yields the bytes of p[0..end) percent-decoded, then encoded by the SigV4
 * rule, one at a time: what a parameter or an S3 path is signed as, without
 * a buffer to hold it. Escapes must have been checked (has_valid_escapes). */
typedef struct {
    const char *p, *end;
    bool encode_slash;
    char pending[2]; /* the hex digits still owed after a '%' */
    int owed;
} recoder;

static int recode_next(recoder *r) {
    if (r->owed) return (unsigned char)r->pending[2 - r->owed--];
    if (r->p == r->end) return -1;
    unsigned char c = (unsigned char)*r->p++;
    if (c == '%') {
        c = (unsigned char)(hex_value((unsigned char)r->p[0]) << 4 |
                            hex_value((unsigned char)r->p[1]));
        r->p += 2;
    }
    if (is_unreserved(c) || (c == '/' && !r->encode_slash)) return c;
    r->pending[0] = hex_upper[c >> 4];
    r->pending[1] = hex_upper[c & 15];
    r->owed = 2;
    return '%';
}

static void emit_recoded(sink *s, const char *p, size_t n, bool encode_slash) {
    recoder r = {.p = p, .end = p + n, .encode_slash = encode_slash};
    for (int c; (c = recode_next(&r)) >= 0;) emit_char(s, (char)c);
}

/* Byte order of the recoded forms: the order SigV4 sorts parameters in. */
static int compare_recoded(const char *a, size_t an, const char *b, size_t bn) {
    recoder x = {.p = a, .end = a + an, .encode_slash = true};
    recoder y = {.p = b, .end = b + bn, .encode_slash = true};
    for (;;) {
        int ca = recode_next(&x), cb = recode_next(&y);
        if (ca != cb) return ca - cb; /* the end (-1) sorts before any byte */
        if (ca < 0) return 0;
    }
}

int sigv4_uri_encode(const char *s, size_t len, bool encode_slash, char *out, size_t cap) {
    if (!out || !cap) return -1;
    sink o = text_sink(out, cap);
    if (s) emit_encoded(&o, s, len, encode_slash);
    if (o.failed || o.len > INT_MAX || (!s && len)) {
        out[0] = '\0';
        return -1;
    }
    return (int)o.len;
}

/* --- Fields: headers and query parameters ---------------------------------------- */

/* A name and a value, slices of the caller's strings. */
typedef struct {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} field;

/* Header names compare as their lowercase forms. */
static int compare_header_names(const field *a, const field *b) {
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    for (size_t i = 0; i < n; i++) {
        int d = (unsigned char)to_lower(a->name[i]) - (unsigned char)to_lower(b->name[i]);
        if (d) return d;
    }
    return (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

static int compare_params(const field *a, const field *b) {
    int d = compare_recoded(a->name, a->name_len, b->name, b->name_len);
    return d ? d : compare_recoded(a->value, a->value_len, b->value, b->value_len);
}

/* Insertion sort: the lists are short, and it is stable, which keeps the
 * values of one header name in the order given. */
static void sort_fields(field *f, size_t n, int (*cmp)(const field *, const field *)) {
    for (size_t i = 1; i < n; i++) {
        field x = f[i];
        size_t j = i;
        for (; j > 0 && cmp(&f[j - 1], &x) > 0; j--) f[j] = f[j - 1];
        f[j] = x;
    }
}

static bool is_s3(const sigv4_credentials *cred) {
    return !strcmp(cred->service, "s3");
}

static bool has_token(const sigv4_credentials *cred) {
    return cred->session_token && cred->session_token[0];
}

/* The names added here (and authorization, which a signature cannot cover):
 * passed in as well, they would be signed twice or contradict ours. */
static bool is_reserved_header(const char *name, size_t len) {
    static const char *const reserved[] = {"host", "x-amz-date", "x-amz-content-sha256",
                                           "x-amz-security-token", "authorization"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
        field a = {.name = name, .name_len = len};
        field b = {.name = reserved[i], .name_len = strlen(reserved[i])};
        if (!compare_header_names(&a, &b)) return true;
    }
    return false;
}

static field header(const char *name, const char *value) {
    return (field){
        .name = name, .name_len = strlen(name), .value = value, .value_len = strlen(value)};
}

/* The headers to sign, sorted. amz_date NULL: presigned, only host. */
static bool collect_headers(const sigv4_credentials *cred, const sigv4_request *req,
                            const char *amz_date, field *h, size_t *count) {
    size_t n = 0;
    h[n++] = header("host", req->host);
    if (amz_date) {
        if (is_s3(cred)) h[n++] = header("x-amz-content-sha256", req->payload_sha256);
        h[n++] = header("x-amz-date", amz_date);
        if (has_token(cred)) h[n++] = header("x-amz-security-token", cred->session_token);
    }
    size_t given = 0;
    for (const char *const *p = req->headers; p && *p; p++) {
        const char *colon = strchr(*p, ':');
        if (!colon || colon == *p || ++given > SIGV4_MAX_HEADERS) return false;
        size_t name_len = (size_t)(colon - *p);
        for (size_t i = 0; i < name_len; i++)
            if (!is_tchar((unsigned char)(*p)[i])) return false;
        if (is_reserved_header(*p, name_len)) return false;
        size_t value_len = strlen(colon + 1);
        if (!is_field_value(colon + 1, value_len)) return false;
        h[n++] =
            (field){.name = *p, .name_len = name_len, .value = colon + 1, .value_len = value_len};
    }
    sort_fields(h, n, compare_header_names);
    *count = n;
    return true;
}

/* The query's parameters, sorted; empty ones ("a=1&&b=2") are skipped. */
static bool collect_params(const char *query, field *q, size_t *count) {
    size_t n = 0;
    for (const char *p = query; p && *p;) {
        const char *end = strchr(p, '&');
        if (!end) end = p + strlen(p);
        if (end > p) {
            if (n == SIGV4_MAX_PARAMS) return false;
            const char *eq = memchr(p, '=', (size_t)(end - p));
            field f = {.name = p,
                       .name_len = (size_t)((eq ? eq : end) - p),
                       .value = eq ? eq + 1 : end,
                       .value_len = eq ? (size_t)(end - eq - 1) : 0};
            if (!has_valid_escapes(f.name, f.name_len) || !has_valid_escapes(f.value, f.value_len))
                return false;
            q[n++] = f;
        }
        p = *end ? end + 1 : end;
    }
    sort_fields(q, n, compare_params);
    *count = n;
    return true;
}

/* --- Canonical request ----------------------------------------------------------- */

static void emit_lower(sink *s, const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) emit_char(s, to_lower(p[i]));
}

/* value trimmed, each run of spaces and tabs inside it one space. */
static void emit_trimmed(sink *s, const char *v, size_t n) {
    size_t i = 0;
    while (i < n && is_blank(v[i])) i++;
    while (n > i && is_blank(v[n - 1])) n--;
    while (i < n) {
        size_t word = i;
        while (i < n && !is_blank(v[i])) i++;
        emit(s, v + word, i - word);
        if (i == n) break;
        emit_char(s, ' ');
        while (is_blank(v[i])) i++;
    }
}

/* "name:value[,value...]\n" per name, values of one name in the order given. */
static void emit_canonical_headers(sink *s, const field *h, size_t n) {
    for (size_t i = 0; i < n;) {
        emit_lower(s, h[i].name, h[i].name_len);
        emit_char(s, ':');
        size_t j = i;
        do {
            if (j > i) emit_char(s, ',');
            emit_trimmed(s, h[j].value, h[j].value_len);
            j++;
        } while (j < n && !compare_header_names(&h[i], &h[j]));
        emit_char(s, '\n');
        i = j;
    }
}

static void emit_signed_headers(sink *s, const field *h, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (i && !compare_header_names(&h[i - 1], &h[i])) continue;
        if (i) emit_char(s, ';');
        emit_lower(s, h[i].name, h[i].name_len);
    }
}

static void emit_query(sink *s, const field *q, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (i) emit_char(s, '&');
        emit_recoded(s, q[i].name, q[i].name_len, true);
        emit_char(s, '=');
        emit_recoded(s, q[i].value, q[i].value_len, true);
    }
}

/* The generic rule: dot segments and empty segments removed (a trailing '/'
 * kept), each byte that is not unreserved encoded, '%' included. */
static bool emit_normalized_path(sink *s, const char *path, size_t n) {
    struct {
        const char *p;
        size_t len;
    } seg[SIGV4_MAX_SEGMENTS];
    size_t depth = 0;
    for (size_t i = 0; i < n;) {
        size_t start = i;
        while (i < n && path[i] != '/') i++;
        size_t len = i - start;
        if (i < n) i++; /* past the '/' */
        if (!len || (len == 1 && path[start] == '.')) continue;
        if (len == 2 && path[start] == '.' && path[start + 1] == '.') {
            if (depth) depth--;
            continue;
        }
        if (depth == SIGV4_MAX_SEGMENTS) return false;
        seg[depth].p = path + start;
        seg[depth++].len = len;
    }
    for (size_t k = 0; k < depth; k++) {
        emit_char(s, '/');
        emit_encoded(s, seg[k].p, seg[k].len, true);
    }
    if (!depth || path[n - 1] == '/') emit_char(s, '/');
    return true;
}

static bool emit_path(sink *s, const char *path, bool s3) {
    size_t n = strlen(path);
    if (!n) {
        emit_char(s, '/');
        return true;
    }
    if (path[0] != '/' || !is_url_part(path, n) || memchr(path, '?', n)) return false;
    if (!s3) return emit_normalized_path(s, path, n);
    if (!has_valid_escapes(path, n)) return false;
    emit_recoded(s, path, n, false);
    return true;
}

static bool is_payload_hash(const char *h) {
    if (!h) return false;
    if (!strcmp(h, UNSIGNED_PAYLOAD)) return true;
    size_t n = 0;
    for (; h[n]; n++)
        if (!((h[n] >= '0' && h[n] <= '9') || (h[n] >= 'a' && h[n] <= 'f'))) return false;
    return n == HEX_LEN;
}

/* Writes the canonical request to creq and the signed header list to sh.
 * amz_date NULL: presigned, the date and credential travel in the query and
 * only host is signed. */
static bool canonicalize(const sigv4_credentials *cred, const sigv4_request *req,
                         const char *amz_date, sink *creq, sink *sh) {
    field h[COMPUTED_HEADERS + SIGV4_MAX_HEADERS];
    field q[SIGV4_MAX_PARAMS];
    size_t nh, nq;
    if (!is_token(req->method) || !is_visible(req->host) || !req->path ||
        !is_payload_hash(req->payload_sha256))
        return false;
    if (req->query && !is_url_part(req->query, strlen(req->query))) return false;
    if (!collect_headers(cred, req, amz_date, h, &nh) || !collect_params(req->query, q, &nq))
        return false;
    emit_str(creq, req->method);
    emit_char(creq, '\n');
    if (!emit_path(creq, req->path, is_s3(cred))) return false;
    emit_char(creq, '\n');
    emit_query(creq, q, nq);
    emit_char(creq, '\n');
    emit_canonical_headers(creq, h, nh);
    emit_char(creq, '\n');
    emit_signed_headers(creq, h, nh);
    emit_char(creq, '\n');
    emit_str(creq, req->payload_sha256);
    emit_signed_headers(sh, h, nh);
    return !creq->failed && !sh->failed;
}

/* --- Credentials, time, string to sign ------------------------------------------- */

static bool valid_credentials(const sigv4_credentials *cred) {
    return cred && is_scope_part(cred->access_key_id, SIGV4_MAX_ACCESS_KEY) &&
           cred->secret_access_key && cred->secret_access_key[0] &&
           strlen(cred->secret_access_key) <= SIGV4_MAX_SECRET &&
           is_scope_part(cred->region, SIGV4_MAX_SCOPE_PART) &&
           is_scope_part(cred->service, SIGV4_MAX_SCOPE_PART) &&
           (!has_token(cred) || is_visible(cred->session_token));
}

/* "YYYYMMDDTHHMMSSZ"; 9999-12-31T23:59:59Z at the latest, as four digits of
 * year are all the format has. */
static bool format_amz_date(int64_t t, char out[SIGV4_AMZ_DATE_LEN + 1]) {
    time_t tt = (time_t)t;
    struct tm tm;
    if (t < 0 || t > INT64_C(253402300799) || (int64_t)tt != t || !gmtime_r(&tt, &tm)) return false;
    return strftime(out, SIGV4_AMZ_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm) == SIGV4_AMZ_DATE_LEN;
}

/* "20150830/us-east-1/service/aws4_request" */
static void emit_scope(sink *s, const sigv4_credentials *cred, const char *amz_date) {
    emit(s, amz_date, DATE_LEN);
    emit_char(s, '/');
    emit_str(s, cred->region);
    emit_char(s, '/');
    emit_str(s, cred->service);
    emit_str(s, "/" SCOPE_TERMINATOR);
}

static void emit_string_to_sign(sink *s, const sigv4_credentials *cred, const char *amz_date,
                                const char hash_hex[HEX_LEN + 1]) {
    emit_str(s, ALGORITHM "\n");
    emit_str(s, amz_date);
    emit_char(s, '\n');
    emit_scope(s, cred, amz_date);
    emit_char(s, '\n');
    emit(s, hash_hex, HEX_LEN);
}

/* The hex SHA-256 of the canonical request, computed as it is written; the
 * signed header list goes to sh. OpenSSL's error queue is left clean. */
static bool canonical_hash(const sigv4_credentials *cred, const sigv4_request *req,
                           const char *amz_date, sink *sh, char hex[HEX_LEN + 1]) {
    sink d = {.md = EVP_MD_CTX_new()};
    unsigned char md[SHA256_LEN];
    unsigned int md_len = 0;
    bool ok = d.md && EVP_DigestInit_ex(d.md, EVP_sha256(), NULL) == 1 &&
              canonicalize(cred, req, amz_date, &d, sh);
    if (ok) flush_stage(&d);
    ok = ok && !d.failed && EVP_DigestFinal_ex(d.md, md, &md_len) == 1 && md_len == SHA256_LEN;
    EVP_MD_CTX_free(d.md);
    if (!ok) {
        ERR_clear_error();
        return false;
    }
    hex_encode(hex, md, SHA256_LEN);
    return true;
}

static bool hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                        unsigned char out[SHA256_LEN]) {
    unsigned int out_len = 0;
    if (!HMAC(EVP_sha256(), key, (int)key_len, msg, msg_len, out, &out_len) ||
        out_len != SHA256_LEN) {
        ERR_clear_error();
        return false;
    }
    return true;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" secret, date), region), service),
 * "aws4_request"). Every intermediate key is wiped, whichever way this
 * returns; two buffers take turns so that no HMAC writes over its own key. */
static bool signing_key(const sigv4_credentials *cred, const char *amz_date,
                        unsigned char key[SHA256_LEN]) {
    unsigned char seed[4 + SIGV4_MAX_SECRET], a[SHA256_LEN], b[SHA256_LEN];
    size_t secret_len = strlen(cred->secret_access_key);
    memcpy(seed, "AWS4", 4);
    memcpy(seed + 4, cred->secret_access_key, secret_len);
    bool ok = hmac_sha256(seed, 4 + secret_len, amz_date, DATE_LEN, a) &&
              hmac_sha256(a, SHA256_LEN, cred->region, strlen(cred->region), b) &&
              hmac_sha256(b, SHA256_LEN, cred->service, strlen(cred->service), a) &&
              hmac_sha256(a, SHA256_LEN, SCOPE_TERMINATOR, strlen(SCOPE_TERMINATOR), key);
    OPENSSL_cleanse(seed, sizeof seed);
    OPENSSL_cleanse(a, sizeof a);
    OPENSSL_cleanse(b, sizeof b);
    if (!ok) OPENSSL_cleanse(key, SHA256_LEN);
    return ok;
}

static bool sign_string(const sigv4_credentials *cred, const char *amz_date, const char *sts,
                        size_t len, char signature[SIGV4_SIGNATURE_LEN + 1]) {
    unsigned char key[SHA256_LEN], mac[SHA256_LEN];
    bool ok = signing_key(cred, amz_date, key) && hmac_sha256(key, sizeof key, sts, len, mac);
    OPENSSL_cleanse(key, sizeof key);
    if (ok) hex_encode(signature, mac, SHA256_LEN);
    return ok;
}

/* The signature for a canonical request whose hash is hash_hex. */
static bool sign_hash(const sigv4_credentials *cred, const char *amz_date,
                      const char hash_hex[HEX_LEN + 1], char signature[SIGV4_SIGNATURE_LEN + 1]) {
    char sts[STRING_TO_SIGN_MAX];
    sink s = text_sink(sts, sizeof sts);
    emit_string_to_sign(&s, cred, amz_date, hash_hex);
    return !s.failed && sign_string(cred, amz_date, sts, s.len, signature);
}

/* --- The contract ---------------------------------------------------------------- */

int sigv4_canonical_request(const sigv4_credentials *cred, const sigv4_request *req, char *out,
                            size_t cap, char *signed_headers, size_t sh_cap) {
    char amz_date[SIGV4_AMZ_DATE_LEN + 1];
    if (!out || !cap) return -1;
    sink c = text_sink(out, cap), sh = text_sink(signed_headers, sh_cap);
    if (valid_credentials(cred) && req && format_amz_date(req->time, amz_date) &&
        canonicalize(cred, req, amz_date, &c, &sh) && c.len <= INT_MAX)
        return (int)c.len;
    out[0] = '\0';
    if (signed_headers && sh_cap) signed_headers[0] = '\0';
    return -1;
}

int sigv4_string_to_sign(const sigv4_credentials *cred, int64_t time, const char *canonical,
                         size_t len, char *out, size_t cap) {
    char amz_date[SIGV4_AMZ_DATE_LEN + 1], hash[HEX_LEN + 1];
    unsigned char md[SHA256_LEN];
    unsigned int md_len = 0;
    if (!out || !cap) return -1;
    sink s = text_sink(out, cap);
    if (valid_credentials(cred) && format_amz_date(time, amz_date) && canonical &&
        EVP_Digest(canonical, len, md, &md_len, EVP_sha256(), NULL) == 1 && md_len == SHA256_LEN) {
        hex_encode(hash, md, SHA256_LEN);
        emit_string_to_sign(&s, cred, amz_date, hash);
        if (!s.failed) return (int)s.len;
    }
    ERR_clear_error();
    out[0] = '\0';
    return -1;
}

int sigv4_signature(const sigv4_credentials *cred, int64_t time, const char *string_to_sign,
                    size_t len, char signature[SIGV4_SIGNATURE_LEN + 1]) {
    char amz_date[SIGV4_AMZ_DATE_LEN + 1];
    if (!signature) return -1;
    if (valid_credentials(cred) && format_amz_date(time, amz_date) && string_to_sign &&
        sign_string(cred, amz_date, string_to_sign, len, signature))
        return 0;
    signature[0] = '\0';
    return -1;
}

int sigv4_sign(const sigv4_credentials *cred, const sigv4_request *req, char *authorization,
               size_t auth_cap, char amz_date[SIGV4_AMZ_DATE_LEN + 1]) {
    char date[SIGV4_AMZ_DATE_LEN + 1], hash[HEX_LEN + 1], sig[SIGV4_SIGNATURE_LEN + 1];
    if (!authorization || !auth_cap) return -1;
    sink a = text_sink(authorization, auth_cap);
    if (!amz_date) return -1;
    bool ok = valid_credentials(cred) && req && format_amz_date(req->time, date);
    if (ok) {
        emit_str(&a, ALGORITHM " Credential=");
        emit_str(&a, cred->access_key_id);
        emit_char(&a, '/');
        emit_scope(&a, cred, date);
        emit_str(&a, ", SignedHeaders=");
        /* the signed header list lands in the Authorization value, in place */
        ok = canonical_hash(cred, req, date, &a, hash) && sign_hash(cred, date, hash, sig);
    }
    if (ok) {
        emit_str(&a, ", Signature=");
        emit_str(&a, sig);
        ok = !a.failed;
    }
    if (!ok) {
        authorization[0] = '\0';
        amz_date[0] = '\0';
        return -1;
    }
    memcpy(amz_date, date, sizeof date);
    return 0;
}

int sigv4_presign_query(const sigv4_credentials *cred, const char *method, const char *host,
                        const char *path, int64_t time, int expires_s, char *out, size_t cap) {
    char date[SIGV4_AMZ_DATE_LEN + 1], hash[HEX_LEN + 1], sig[SIGV4_SIGNATURE_LEN + 1];
    char credential[CREDENTIAL_MAX], expires[16];
    if (!out || !cap) return -1;
    sink o = text_sink(out, cap), discard = text_sink(NULL, 0);
    bool ok = valid_credentials(cred) && format_amz_date(time, date) && expires_s >= 1 &&
              expires_s <= SIGV4_MAX_EXPIRES;
    if (ok) {
        sink c = text_sink(credential, sizeof credential);
        emit_str(&c, cred->access_key_id);
        emit_char(&c, '/');
        emit_scope(&c, cred, date);
        snprintf(expires, sizeof expires, "%d", expires_s);
        /* Written in sorted order, so that the URL's order is the signed one. */
        emit_str(&o, "X-Amz-Algorithm=" ALGORITHM "&X-Amz-Credential=");
        emit_encoded(&o, credential, c.len, true);
        emit_str(&o, "&X-Amz-Date=");
        emit_str(&o, date);
        emit_str(&o, "&X-Amz-Expires=");
        emit_str(&o, expires);
        if (has_token(cred)) {
            emit_str(&o, "&X-Amz-Security-Token=");
            emit_encoded(&o, cred->session_token, strlen(cred->session_token), true);
        }
        emit_str(&o, "&X-Amz-SignedHeaders=host");
        ok = !c.failed && !o.failed;
    }
    if (ok) {
        /* The query signed is the one just written: the parameters above
         * become part of the canonical request like any others. */
        sigv4_request req = {.method = method,
                             .host = host,
                             .path = path,
                             .query = out,
                             .payload_sha256 = UNSIGNED_PAYLOAD,
                             .time = time};
        ok = canonical_hash(cred, &req, NULL, &discard, hash) && sign_hash(cred, date, hash, sig);
    }
    if (ok) {
        emit_str(&o, "&X-Amz-Signature=");
        emit_str(&o, sig);
        ok = !o.failed;
    }
    if (!ok) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}
