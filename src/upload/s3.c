/* s3.c - objects in S3-compatible storage: PUT (multipart above a size),
 * HEAD, DELETE and presigned GET URLs, signed with SigV4 (sigv4.c).
 *
 * Each request is one libcurl transfer driven from the handler: libcurl
 * says which socket it waits on and for what (its socket callback), and the
 * handler waits for that with chopin_wait_fd, so the worker serves others
 * meanwhile. A context outside any request (a script) just lets libcurl
 * block. */
#include "s3.h"

#include "sigv4.h"

#include "chopin/async.h"

#include "../engine/engine.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PART_BYTES (8 * 1024 * 1024) /* multipart upload parts (S3's minimum is 5 MiB) */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_setup(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* --- One signed request ------------------------------------------------------------- */

typedef struct {
    int fd; /* the body's file, or -1 */
    int64_t off, left;
    const char *mem; /* or a body in memory */
    size_t mem_len, mem_pos;
    chopin_buf reply;
    char etag[128]; /* the response's ETag header */
    long status;
} transfer;

static size_t read_body(char *dst, size_t size, size_t n, void *arg) {
    transfer *t = arg;
    size_t cap = size * n;
    if (t->mem) {
        size_t k = t->mem_len - t->mem_pos < cap ? t->mem_len - t->mem_pos : cap;
        memcpy(dst, t->mem + t->mem_pos, k);
        t->mem_pos += k;
        return k;
    }
    if (t->left <= 0) return 0;
    size_t want = (int64_t)cap < t->left ? cap : (size_t)t->left;
    ssize_t got = pread(t->fd, dst, want, t->off);
    if (got <= 0) return CURL_READFUNC_ABORT;
    t->off += got;
    t->left -= got;
    return (size_t)got;
}

static size_t write_reply(char *src, size_t size, size_t n, void *arg) {
    transfer *t = arg;
    if (t->reply.len + size * n > 1 << 20) return 0; /* S3's answers are small */
    return buf_append(NULL, &t->reply, src, size * n) ? 0 : size * n;
}

static size_t read_header(char *line, size_t size, size_t n, void *arg) {
    transfer *t = arg;
    size_t len = size * n;
    if (len > 6 && !strncasecmp(line, "ETag:", 5)) {
        const char *v = line + 5;
        while (*v == ' ') v++;
        size_t vl = len - (size_t)(v - line);
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) vl--;
        snprintf(t->etag, sizeof t->etag, "%.*s", (int)vl, v);
    }
    return len;
}

/* libcurl's sockets, as its callback reports them: the one to wait on. */
typedef struct {
    curl_socket_t fd;
    int what;
    long timeout_ms;
} curl_wait;

static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp) {
    (void)e;
    (void)socketp;
    curl_wait *w = userp;
    if (what == CURL_POLL_REMOVE) {
        if (w->fd == s) w->fd = CURL_SOCKET_BAD;
    } else {
        w->fd = s;
        w->what = what;
    }
    return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp) {
    (void)m;
    ((curl_wait *)userp)->timeout_ms = timeout_ms;
    return 0;
}

/* Runs the transfer on the handler's coroutine. 0, or -1 when it could not
 * finish (the request ended, or the connection failed). */
static int drive(chopin_ctx *c, CURL *e) {
    if (!c || !ctx_task(c)) return curl_easy_perform(e) == CURLE_OK ? 0 : -1;
    CURLM *m = curl_multi_init();
    if (!m) return -1;
    curl_wait w = {.fd = CURL_SOCKET_BAD, .timeout_ms = -1};
    curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(m, CURLMOPT_SOCKETDATA, &w);
    curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(m, CURLMOPT_TIMERDATA, &w);
    curl_multi_add_handle(m, e);
    int running = 1, rc = 0;
    curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
    while (running) {
        long wait_ms = w.timeout_ms < 0 ? 1000 : w.timeout_ms;
        if (w.fd == CURL_SOCKET_BAD) { /* resolving, or between steps */
            if (chopin_sleep(c, wait_ms > 50 ? 50 : wait_ms)) {
                rc = -1;
                break;
            }
            curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
            continue;
        }
        int want = (w.what & CURL_POLL_IN ? CHOPIN_READABLE : 0) |
                   (w.what & CURL_POLL_OUT ? CHOPIN_WRITABLE : 0);
        int ready = chopin_wait_fd(c, w.fd, want, wait_ms);
        if (ready < 0) {
            rc = -1;
            break;
        }
        if (ready == 0) {
            curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
            continue;
        }
        int flags = (ready & CHOPIN_READABLE ? CURL_CSELECT_IN : 0) |
                    (ready & CHOPIN_WRITABLE ? CURL_CSELECT_OUT : 0);
        curl_multi_socket_action(m, w.fd, flags, &running);
    }
    int left;
    for (CURLMsg *msg; (msg = curl_multi_info_read(m, &left));)
        if (msg->msg == CURLMSG_DONE && msg->data.result != CURLE_OK) rc = -1;
    curl_multi_remove_handle(m, e);
    curl_multi_cleanup(m);
    return rc;
}

/* host[:port] and the base path ("" or "/bucket") of the store's URLs. */
static void endpoint_parts(const s3_config *s3, char *scheme, size_t scap, char *host, size_t hcap,
                           char *base, size_t bcap) {
    if (s3->endpoint[0]) { /* a compatible server: path-style URLs */
        const char *p = strstr(s3->endpoint, "://");
        snprintf(scheme, scap, "%.*s", p ? (int)(p - s3->endpoint) : 5, p ? s3->endpoint : "https");
        const char *h = p ? p + 3 : s3->endpoint;
        snprintf(host, hcap, "%.*s", (int)strcspn(h, "/"), h);
        snprintf(base, bcap, "/%s", s3->bucket);
    } else { /* AWS: virtual-hosted */
        snprintf(scheme, scap, "https");
        snprintf(host, hcap, "%s.s3.%s.amazonaws.com", s3->bucket, s3->region);
        base[0] = 0;
    }
}

/* The request path of an object: base + "/" + prefix + key, each URI-encoded. */
static int object_path(const s3_config *s3, const char *base, const char *key, char *out,
                       size_t cap) {
    char full[1200];
    int n = s3->prefix[0] ? snprintf(full, sizeof full, "%s/%s", s3->prefix, key)
                          : snprintf(full, sizeof full, "%s", key);
    if (n < 0 || (size_t)n >= sizeof full) return -1;
    int b = snprintf(out, cap, "%s/", base);
    return sigv4_uri_encode(full, (size_t)n, false, out + b, cap - (size_t)b) < 0 ? -1 : 0;
}

typedef struct {
    const char *method, *key, *query, *content_type, *payload_sha256;
} s3_call;

/* Sends one signed request; its status in t->status. 0, or -1. */
static int call(chopin_ctx *c, const s3_config *s3, const s3_call *k, transfer *t) {
    pthread_once(&curl_once, curl_setup);
    char scheme[16], host[512], base[300], path[2600];
    endpoint_parts(s3, scheme, sizeof scheme, host, sizeof host, base, sizeof base);
    if (object_path(s3, base, k->key, path, sizeof path)) return -1;
    char type_header[300] = "";
    const char *signed_headers[2] = {NULL, NULL};
    if (k->content_type) {
        snprintf(type_header, sizeof type_header, "Content-Type: %s", k->content_type);
        signed_headers[0] = type_header;
    }
    sigv4_credentials cred = {.access_key_id = s3->access_key_id,
                              .secret_access_key = s3->secret_access_key,
                              .region = s3->region,
                              .service = "s3"};
    sigv4_request req = {.method = k->method,
                         .host = host,
                         .path = path,
                         .query = k->query,
                         .headers = signed_headers,
                         .payload_sha256 = k->payload_sha256,
                         .time = (int64_t)time(NULL)};
    char auth[1024], date[SIGV4_AMZ_DATE_LEN + 1];
    if (sigv4_sign(&cred, &req, auth, sizeof auth, date)) return -1;
    char url[3300], h_auth[1100], h_date[64], h_sha[128];
    snprintf(url, sizeof url, "%s://%s%s%s%s", scheme, host, path, k->query ? "?" : "",
             k->query ? k->query : "");
    snprintf(h_auth, sizeof h_auth, "Authorization: %s", auth);
    snprintf(h_date, sizeof h_date, "x-amz-date: %s", date);
    snprintf(h_sha, sizeof h_sha, "x-amz-content-sha256: %s", k->payload_sha256);
    struct curl_slist *headers = NULL;
    headers = curl_slist_append(headers, h_auth);
    headers = curl_slist_append(headers, h_date);
    headers = curl_slist_append(headers, h_sha);
    headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */
    if (k->content_type) headers = curl_slist_append(headers, type_header);
    CURL *e = curl_easy_init();
    if (!e || !headers) {
        curl_slist_free_all(headers);
        if (e) curl_easy_cleanup(e);
        return -1;
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L); /* a stalled transfer fails */
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_reply);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, read_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    if (!strcmp(k->method, "PUT")) {
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, read_body);
        curl_easy_setopt(e, CURLOPT_READDATA, t);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE,
                         (curl_off_t)(t->mem ? (int64_t)t->mem_len : t->left));
    } else if (!strcmp(k->method, "POST")) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->mem ? t->mem : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->mem_len);
    } else if (!strcmp(k->method, "HEAD")) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, k->method);
    }
    int rc = drive(c, e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &t->status);
    curl_easy_cleanup(e);
    curl_slist_free_all(headers);
    return rc;
}

static void transfer_done(transfer *t) {
    buf_release(NULL, &t->reply);
}

/* A clean-up (DELETE of an object, abort of a multipart upload) for a
 * request that is over: its waits fail at once, so the call runs on a
 * thread of its own instead, blocking there, and is not waited for. */
typedef struct {
    s3_config s3;
    char method[8], key[1100], query[400];
} detached_call;

static void *run_detached(void *arg) {
    detached_call *d = arg;
    transfer t = {.fd = -1};
    s3_call k = {.method = d->method,
                 .key = d->key,
                 .query = d->query[0] ? d->query : NULL,
                 .payload_sha256 =
                     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"};
    call(NULL, &d->s3, &k, &t);
    transfer_done(&t);
    explicit_bzero(d, sizeof *d);
    free(d);
    return NULL;
}

static bool request_over(chopin_ctx *c) {
    task *t = c ? ctx_task(c) : NULL;
    return t && (t->cancelled || t->timed_out);
}

static void call_later(const s3_config *s3, const char *method, const char *key,
                       const char *query) {
    detached_call *d = calloc(1, sizeof *d);
    if (!d) return;
    d->s3 = *s3;
    snprintf(d->method, sizeof d->method, "%s", method);
    snprintf(d->key, sizeof d->key, "%s", key);
    snprintf(d->query, sizeof d->query, "%s", query ? query : "");
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old); /* signals stay with chopin_app_run's thread */
    if (pthread_create(&th, &attr, run_detached, d)) {
        explicit_bzero(d, sizeof *d);
        free(d);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
}

/* --- Objects -------------------------------------------------------------------------- */

static const char empty_sha256[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

static void hex_sha256(const char *p, size_t n, char out[65]) {
    unsigned char sum[32];
    unsigned int len = 0;
    EVP_Digest(p, n, sum, &len, EVP_sha256(), NULL);
    hex_encode(out, sum, sizeof sum);
}

/* The text between <tag> and </tag> of an XML answer (S3's are flat). */
static bool xml_value(const chopin_buf *b, const char *tag, char *out, size_t cap) {
    char open[64], close_tag[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close_tag, sizeof close_tag, "</%s>", tag);
    if (!b->data) return false;
    const char *s = memmem(b->data, b->len, open, strlen(open));
    if (!s) return false;
    s += strlen(open);
    const char *e = memmem(s, b->len - (size_t)(s - b->data), close_tag, strlen(close_tag));
    if (!e || (size_t)(e - s) >= cap) return false;
    memcpy(out, s, (size_t)(e - s));
    out[e - s] = 0;
    return true;
}

static int put_whole(chopin_ctx *c, const s3_config *s3, const char *key, int fd, uint64_t size,
                     const char *type, const char *sha256) {
    transfer t = {.fd = fd, .off = 0, .left = (int64_t)size};
    s3_call k = {.method = "PUT", .key = key, .content_type = type, .payload_sha256 = sha256};
    int rc = call(c, s3, &k, &t);
    if (!rc && t.status != 200) rc = -1;
    transfer_done(&t);
    return rc;
}

static void abort_multipart(chopin_ctx *c, const s3_config *s3, const char *key, const char *id) {
    char query[400];
    snprintf(query, sizeof query, "uploadId=%s", id);
    if (request_over(c)) {
        call_later(s3, "DELETE", key, query);
        return;
    }
    transfer t = {.fd = -1};
    s3_call k = {.method = "DELETE", .key = key, .query = query, .payload_sha256 = empty_sha256};
    call(c, s3, &k, &t);
    transfer_done(&t);
}

static int put_multipart(chopin_ctx *c, const s3_config *s3, const char *key, int fd, uint64_t size,
                         const char *type) {
    transfer t = {.fd = -1, .mem = "", .mem_len = 0};
    s3_call k = {.method = "POST",
                 .key = key,
                 .query = "uploads",
                 .content_type = type,
                 .payload_sha256 = empty_sha256};
    char id[300];
    int rc = call(c, s3, &k, &t);
    bool ok = !rc && t.status == 200 && xml_value(&t.reply, "UploadId", id, sizeof id);
    transfer_done(&t);
    if (!ok) return -1;
    chopin_buf done = {0}; /* the CompleteMultipartUpload document */
    bool failed = buf_append(NULL, &done, "<CompleteMultipartUpload>", 25) != 0;
    int parts = 0;
    for (uint64_t off = 0; off < size && !failed; off += PART_BYTES) {
        char query[400], entry[300];
        snprintf(query, sizeof query, "partNumber=%d&uploadId=%s", ++parts, id);
        uint64_t len = size - off < PART_BYTES ? size - off : PART_BYTES;
        transfer p = {.fd = fd, .off = (int64_t)off, .left = (int64_t)len};
        s3_call part = {
            .method = "PUT", .key = key, .query = query, .payload_sha256 = "UNSIGNED-PAYLOAD"};
        failed = call(c, s3, &part, &p) || p.status != 200 || !p.etag[0];
        int n = snprintf(entry, sizeof entry,
                         "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", parts, p.etag);
        failed = failed || buf_append(NULL, &done, entry, (size_t)n);
        transfer_done(&p);
    }
    failed = failed || buf_append(NULL, &done, "</CompleteMultipartUpload>", 26);
    if (!failed) {
        char query[400], sha[65];
        snprintf(query, sizeof query, "uploadId=%s", id);
        hex_sha256(done.data, done.len, sha);
        transfer f = {.fd = -1, .mem = done.data, .mem_len = done.len};
        s3_call fin = {.method = "POST",
                       .key = key,
                       .query = query,
                       .content_type = "application/xml",
                       .payload_sha256 = sha};
        /* S3 may answer 200 with an <Error> inside: both must be right. */
        failed = call(c, s3, &fin, &f) || f.status != 200 ||
                 (f.reply.data && memmem(f.reply.data, f.reply.len, "<Error>", 7));
        transfer_done(&f);
    }
    buf_release(NULL, &done);
    if (failed) abort_multipart(c, s3, key, id);
    return failed ? -1 : 0;
}

int s3_put_file(chopin_ctx *c, const s3_config *s3, const char *key, int fd, uint64_t size,
                const char *content_type, const char *sha256) {
    if (size > 2 * (uint64_t)PART_BYTES) return put_multipart(c, s3, key, fd, size, content_type);
    return put_whole(c, s3, key, fd, size, content_type, sha256);
}

int s3_delete(chopin_ctx *c, const s3_config *s3, const char *key) {
    if (request_over(c)) {
        call_later(s3, "DELETE", key, NULL);
        return 0;
    }
    transfer t = {.fd = -1};
    s3_call k = {.method = "DELETE", .key = key, .payload_sha256 = empty_sha256};
    int rc = call(c, s3, &k, &t);
    transfer_done(&t);
    return !rc && (t.status == 204 || t.status == 200) ? 0 : -1;
}

int s3_head(chopin_ctx *c, const s3_config *s3, const char *key, long *status) {
    transfer t = {.fd = -1};
    s3_call k = {.method = "HEAD", .key = key, .payload_sha256 = empty_sha256};
    int rc = call(c, s3, &k, &t);
    *status = t.status;
    transfer_done(&t);
    return rc;
}

char *s3_presign_get(chopin_ctx *c, const s3_config *s3, const char *key, int expires_s) {
    char scheme[16], host[512], base[300], path[2600], query[2048];
    endpoint_parts(s3, scheme, sizeof scheme, host, sizeof host, base, sizeof base);
    if (object_path(s3, base, key, path, sizeof path)) return NULL;
    sigv4_credentials cred = {.access_key_id = s3->access_key_id,
                              .secret_access_key = s3->secret_access_key,
                              .region = s3->region,
                              .service = "s3"};
    if (sigv4_presign_query(&cred, "GET", host, path, (int64_t)time(NULL), expires_s, query,
                            sizeof query))
        return NULL;
    size_t len = strlen(scheme) + strlen(host) + strlen(path) + strlen(query) + 8;
    char *url = chopin_alloc(c, len);
    if (url) snprintf(url, len, "%s://%s%s?%s", scheme, host, path, query);
    return url;
}
