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
#include "../core/core.h"

#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#define RESP_PREFIX "chopin:resp:"

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
    hex_encode(key + n, sum, sizeof sum);
    return key;
}

/* A strong validator of the body: "<first 128 bits of its SHA-256>". */
static void make_etag(const char *body, size_t len, char out[35]) {
    unsigned char sum[32];
    unsigned int n = 0;
    EVP_Digest(body, len, sum, &n, EVP_sha256(), NULL);
    out[0] = '"';
    hex_encode(out + 1, sum, 16);
    out[33] = '"';
    out[34] = 0;
}

/* A response header the handler set, or {NULL, 0}. */
static chopin_str answer_header(const chopin_ctx *c, const char *name) {
    for (const resp_header *h = c->headers; h; h = h->next)
        if (h->name.len == strlen(name) && !strncasecmp(h->name.ptr, name, h->name.len))
            return h->value;
    return (chopin_str){NULL, 0};
}

static bool contains(chopin_str s, const char *word) {
    size_t n = strlen(word);
    for (size_t i = 0; s.ptr && i + n <= s.len; i++)
        if (!strncasecmp(s.ptr + i, word, n)) return true;
    return false;
}

/* age_s: how long ago the stored answer was made (the Age header, so that
 * a downstream cache counts max-age from then, RFC 9111 5.1). A handler's
 * own Cache-Control stays the only one. */
static void cache_headers(chopin_ctx *c, const chopin_route_options *o, bool private_answer,
                          const char *etag, int64_t age_s, const char *state) {
    char control[64], age[24];
    snprintf(control, sizeof control, "%s, max-age=%d", private_answer ? "private" : "public",
             o->cache_seconds);
    chopin_set_header(c, "ETag", etag);
    if (!answer_header(c, "Cache-Control").ptr) chopin_set_header(c, "Cache-Control", control);
    if (age_s > 0) {
        snprintf(age, sizeof age, "%lld", (long long)age_s);
        chopin_set_header(c, "Age", age);
    }
    chopin_set_header(c, "X-Cache", state);
    if (o->cache_vary) chopin_set_header(c, "Vary", o->cache_vary);
}

/* Stored as "<etag>\n<made, seconds since the epoch>\n<content type>\n<n>\n"
 * then n "Name: value\n" lines (the headers the handler set) and the body.
 * Header values hold no line break (chopin_set_header refuses them). */
static bool answer_from(chopin_ctx *c, const chopin_route_options *o, bool private_answer,
                        chopin_str stored) {
    const char *end = stored.ptr + stored.len, *line[5], *p = stored.ptr;
    for (int i = 0; i < 4; i++) {
        line[i] = p;
        const char *nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
        if (!nl) return false; /* not ours: a miss */
        p = nl + 1;
    }
    line[4] = p;
    if (line[1] - line[0] != 35) return false;
    char etag[35];
    memcpy(etag, line[0], 34);
    etag[34] = 0;
    long long made = strtoll(line[1], NULL, 10);
    long headers = strtol(line[3], NULL, 10);
    char *type = chopin_strdup(c, line[2], (size_t)(line[3] - line[2] - 1));
    for (long i = 0; i < headers; i++) {
        const char *nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
        const char *colon = nl ? memchr(p, ':', (size_t)(nl - p)) : NULL;
        if (!colon || colon + 2 > nl) return false;
        chopin_set_headern(c, p, (size_t)(colon - p), colon + 2, (size_t)(nl - colon - 2));
        p = nl + 1;
    }
    cache_headers(c, o, private_answer, etag, (int64_t)time(NULL) - made, "HIT");
    if (http1_etag_listed(chopin_req_header(c, "If-None-Match"), etag))
        chopin_send_status(c, 304);
    else
        chopin_send(c, 200, type ? type : "application/octet-stream", p, (size_t)(end - p));
    return true;
}

/* Only whole 200 answers in memory; never one that sets a cookie (it would
 * go to other clients) or that its handler marked no-store, or private
 * unless the route is per user. */
static bool storable(const chopin_ctx *c, const chopin_route_options *o) {
    if (c->status != 200 || c->file_fd >= 0 || answer_header(c, "Set-Cookie").ptr) return false;
    chopin_str control = answer_header(c, "Cache-Control");
    return !contains(control, "no-store") && (o->cache_per_user || !contains(control, "private"));
}

/* The headers the handler set: those after `before` in the answer's list
 * (middleware sets its own again on every request). */
static void store(chopin_ctx *c, const chopin_route_options *o, bool private_answer,
                  const char *key, const resp_header *before) {
    if (!storable(c, o)) return;
    const resp_header *first = before ? before->next : c->headers;
    char etag[35], made[24], count[16];
    make_etag(c->body_buf.data ? c->body_buf.data : "", c->body_buf.len, etag);
    int mlen = snprintf(made, sizeof made, "%lld", (long long)time(NULL));
    size_t n = 0, hbytes = 0;
    for (const resp_header *h = first; h; h = h->next)
        n++, hbytes += h->name.len + h->value.len + 3;
    int clen = snprintf(count, sizeof count, "%zu", n);
    size_t tlen = c->content_type.len;
    size_t len = 35 + (size_t)mlen + 1 + tlen + 1 + (size_t)clen + 1 + hbytes + c->body_buf.len;
    char *value = malloc(len), *p = value;
    if (value) {
        memcpy(p, etag, 34), p += 34, *p++ = '\n';
        memcpy(p, made, (size_t)mlen), p += mlen, *p++ = '\n';
        memcpy(p, c->content_type.ptr, tlen), p += tlen, *p++ = '\n';
        memcpy(p, count, (size_t)clen), p += clen, *p++ = '\n';
        for (const resp_header *h = first; h; h = h->next) {
            memcpy(p, h->name.ptr, h->name.len), p += h->name.len, *p++ = ':', *p++ = ' ';
            memcpy(p, h->value.ptr, h->value.len), p += h->value.len, *p++ = '\n';
        }
        if (c->body_buf.len) memcpy(p, c->body_buf.data, c->body_buf.len);
        chopin_cache_set(c, key, value, len, (int64_t)o->cache_seconds * 1000);
        free(value);
    }
    cache_headers(c, o, private_answer, etag, 0, "MISS");
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
    const resp_header *before = c->headers_tail;
    handler(c);
    store(c, o, private_answer, key, before);
}

long chopin_cache_invalidate(chopin_ctx *c, const char *path_prefix) {
    size_t plen = path_prefix ? strlen(path_prefix) : 0;
    if (plen + sizeof RESP_PREFIX > CACHE_KEY_MAX) return 0;
    char key[CACHE_KEY_MAX + 1];
    snprintf(key, sizeof key, RESP_PREFIX "%s", path_prefix ? path_prefix : "");
    return chopin_cache_delete_prefix(c, key);
}
