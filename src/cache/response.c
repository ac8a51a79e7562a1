/* response.c - response caching, a route option (.cache_seconds): a GET
 * route's 200 answers are kept in the app's cache and served from it, with
 * an ETag (304 to a matching If-None-Match) and Cache-Control.
 *
 * The key is "chopin:resp:" + the path + "?" + a SHA-256 of what else
 * tells answers apart (the query, the .cache_vary headers' values, the
 * user when .cache_per_user), so that invalidating a path prefix is a
 * prefix delete and answers of different users can never be confused. */
#include "cache_internal.h"

#include "chopin/auth.h"
#include "chopin/cache.h"

#include "../app/app_internal.h"

#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#define RESP_PREFIX "chopin:resp:"

static void hex(char *out, const unsigned char *bytes, size_t n) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = 0;
}

/* Each part is hashed with its length first, so that no two different
 * lists of parts hash alike; an absent part (p NULL) has a length no
 * present one can have. */
static void digest_part(EVP_MD_CTX *md, const char *p, size_t len) {
    uint64_t n = p ? (uint64_t)len : UINT64_MAX;
    unsigned char bytes[8];
    for (int i = 0; i < 8; i++) bytes[i] = (unsigned char)(n >> (8 * i));
    EVP_DigestUpdate(md, bytes, sizeof bytes);
    if (p && len) EVP_DigestUpdate(md, p, len);
}

/* The cache key of this request, in the arena; NULL when it cannot be
 * made (a path too long for a key, no memory). */
static char *response_key(chopin_ctx *c, const chopin_route_options *o) {
    const http1_request *req = c->req;
    size_t need = sizeof RESP_PREFIX + req->path.len + 1 + 64 + 1;
    if (need > CACHE_KEY_MAX) return NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(md);
        return NULL;
    }
    digest_part(md, req->query.ptr, req->query.len);
    for (const char *v = o->cache_vary; v && *v;) {
        size_t len = strcspn(v, ",");
        const char *name = v;
        size_t nlen = len;
        while (nlen && *name == ' ') name++, nlen--;
        while (nlen && name[nlen - 1] == ' ') nlen--;
        char header[128];
        if (nlen && nlen < sizeof header) {
            memcpy(header, name, nlen);
            header[nlen] = 0;
            chopin_str value = chopin_req_header(c, header);
            digest_part(md, header, nlen);
            digest_part(md, value.ptr, value.len);
        }
        v += len + (v[len] == ',');
    }
    if (o->cache_per_user) {
        const chopin_jwt_claims *who = chopin_auth_claims(c);
        digest_part(md, who ? who->sub : NULL, who ? strlen(who->sub) : 0);
    }
    unsigned char sum[32];
    unsigned int sum_len = 0;
    bool ok = EVP_DigestFinal_ex(md, sum, &sum_len) && sum_len == sizeof sum;
    EVP_MD_CTX_free(md);
    char *key = ok ? chopin_alloc(c, need) : NULL;
    if (!key) return NULL;
    int n = snprintf(key, need, RESP_PREFIX "%.*s?", (int)req->path.len, req->path.ptr);
    hex(key + n, sum, sizeof sum);
    return key;
}

/* A strong validator of the body: "<first 128 bits of its SHA-256>". */
static void make_etag(const char *body, size_t len, char out[35]) {
    unsigned char sum[32];
    unsigned int n = 0;
    EVP_Digest(body, len, sum, &n, EVP_sha256(), NULL);
    out[0] = '"';
    hex(out + 1, sum, 16);
    out[33] = '"';
    out[34] = 0;
}

/* If-None-Match holds this entity tag (weak comparison, RFC 9110 13.1.2). */
static bool none_match_hits(chopin_str header, const char *etag) {
    if (!header.ptr) return false;
    size_t elen = strlen(etag);
    for (size_t i = 0; i < header.len;) {
        while (i < header.len && (header.ptr[i] == ' ' || header.ptr[i] == ',')) i++;
        if (i < header.len && header.ptr[i] == '*') return true;
        if (i + 2 <= header.len && !memcmp(header.ptr + i, "W/", 2)) i += 2;
        size_t start = i;
        while (i < header.len && header.ptr[i] != ',') i++;
        size_t end = i;
        while (end > start && header.ptr[end - 1] == ' ') end--;
        if (end - start == elen && !memcmp(header.ptr + start, etag, elen)) return true;
    }
    return false;
}

static void cache_headers(chopin_ctx *c, const chopin_route_options *o, bool private_answer,
                          const char *etag, int64_t max_age_s, const char *state) {
    char control[64];
    snprintf(control, sizeof control, "%s, max-age=%lld", private_answer ? "private" : "public",
             (long long)(max_age_s > 0 ? max_age_s : 0));
    chopin_set_header(c, "ETag", etag);
    chopin_set_header(c, "Cache-Control", control);
    chopin_set_header(c, "X-Cache", state);
    if (o->cache_vary) chopin_set_header(c, "Vary", o->cache_vary);
}

/* Stored as "<etag>\n<content type>\n<body>". */
static bool answer_from(chopin_ctx *c, const chopin_route_options *o, bool private_answer,
                        chopin_str stored) {
    const char *nl1 = memchr(stored.ptr, '\n', stored.len);
    const char *nl2 =
        nl1 ? memchr(nl1 + 1, '\n', stored.len - (size_t)(nl1 + 1 - stored.ptr)) : NULL;
    if (!nl1 || !nl2 || nl1 - stored.ptr != 34) return false; /* not ours: a miss */
    char etag[35];
    memcpy(etag, stored.ptr, 34);
    etag[34] = 0;
    char *type = chopin_strdup(c, nl1 + 1, (size_t)(nl2 - nl1 - 1));
    const char *body = nl2 + 1;
    size_t len = stored.len - (size_t)(body - stored.ptr);
    cache_headers(c, o, private_answer, etag, o->cache_seconds, "HIT");
    if (none_match_hits(chopin_req_header(c, "If-None-Match"), etag))
        chopin_send_status(c, 304);
    else
        chopin_send(c, 200, type ? type : "application/octet-stream", body, len);
    return true;
}

static void store(chopin_ctx *c, const chopin_route_options *o, bool private_answer,
                  const char *key) {
    if (c->status != 200 || c->file_fd >= 0) return; /* only whole answers in memory */
    char etag[35];
    make_etag(c->body_buf.data ? c->body_buf.data : "", c->body_buf.len, etag);
    size_t tlen = c->content_type.len, len = 34 + 1 + tlen + 1 + c->body_buf.len;
    char *value = malloc(len);
    if (value) {
        memcpy(value, etag, 34);
        value[34] = '\n';
        memcpy(value + 35, c->content_type.ptr, tlen);
        value[35 + tlen] = '\n';
        if (c->body_buf.len) memcpy(value + 36 + tlen, c->body_buf.data, c->body_buf.len);
        chopin_cache_set(c, key, value, len, (int64_t)o->cache_seconds * 1000);
        free(value);
    }
    cache_headers(c, o, private_answer, etag, o->cache_seconds, "MISS");
}

void response_cache_run(chopin_ctx *c, const chopin_route_options *o, int auth_rank,
                        chopin_handler handler) {
    chopin_method m = c->req->method;
    char *key = m == CHOPIN_GET || m == CHOPIN_HEAD ? response_key(c, o) : NULL;
    if (!key) {
        handler(c);
        return;
    }
    /* An answer that depends on who asks is for that client only. */
    bool private_answer = o->cache_per_user || auth_rank >= 0;
    chopin_str stored;
    if (chopin_cache_get(c, key, &stored) == 1 && answer_from(c, o, private_answer, stored)) return;
    handler(c);
    store(c, o, private_answer, key);
}

long chopin_cache_invalidate(chopin_ctx *c, const char *path_prefix) {
    size_t plen = path_prefix ? strlen(path_prefix) : 0;
    if (plen + sizeof RESP_PREFIX > CACHE_KEY_MAX) return 0;
    char key[CACHE_KEY_MAX + 1];
    snprintf(key, sizeof key, RESP_PREFIX "%s", path_prefix ? path_prefix : "");
    return chopin_cache_delete_prefix(c, key);
}
