/* serve.c - the docs routes: the document as JSON and YAML, the Swagger UI
 * page and its assets. Everything served is made once at start: the routes
 * are fixed by then, so the document cannot change. */
#include "openapi_internal.h"

#include "chopin/openapi.h"

#include "../app/app_internal.h"
#include "../core/core.h"

#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

/* The CDN copy pinned, with its Subresource Integrity hashes (sha384 of the
 * npm package's files, which jsDelivr serves unchanged). */
#define CDN_BASE    "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.35.0"
#define CDN_CSS_SRI "sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I"
#define CDN_JS_SRI  "sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9"

/* The only files served from API_DOCS_ASSETS: a fixed list, so no request
 * path ever reaches the file system. */
typedef struct {
    const char *name, *type;
    bool required;
} asset_kind;
static const asset_kind asset_kinds[] = {
    {"swagger-ui.css", "text/css; charset=utf-8", true},
    {"swagger-ui-bundle.js", "text/javascript; charset=utf-8", true},
    {"favicon-32x32.png", "image/png", false},
    {"favicon-16x16.png", "image/png", false},
};
#define NUM_ASSETS (sizeof asset_kinds / sizeof asset_kinds[0])

typedef struct {
    char *data; /* NULL: not there */
    size_t len;
    char etag[24];
} asset;

struct openapi_docs {
    char *json, *yaml, *page, *init_js;
    asset assets[NUM_ASSETS];
    char *basic; /* base64 of "user:password" (HTTP Basic), or NULL: open */
};

void openapi_docs_free(struct openapi_docs *docs) {
    if (!docs) return;
    free(docs->json);
    free(docs->yaml);
    free(docs->page);
    free(docs->init_js);
    for (size_t i = 0; i < NUM_ASSETS; i++) free(docs->assets[i].data);
    if (docs->basic) OPENSSL_cleanse(docs->basic, strlen(docs->basic));
    free(docs->basic);
    free(docs);
}

/* --- Handlers ----------------------------------------------------------------- */

static struct openapi_docs *docs_of(chopin_ctx *c) {
    return c->app->docs;
}

/* HTTP Basic when configured: the scheme without regard to case (RFC 9110
 * 11.1), the credentials compared in constant time. */
static bool allowed(chopin_ctx *c) {
    const char *expected = docs_of(c)->basic;
    if (!expected) return true;
    chopin_str auth = chopin_req_header(c, "Authorization");
    if (auth.len > 6 && !strncasecmp(auth.ptr, "Basic ", 6)) {
        size_t skip = 6;
        while (skip < auth.len && auth.ptr[skip] == ' ') skip++;
        if (chopin_secure_equal(expected, strlen(expected), auth.ptr + skip, auth.len - skip))
            return true;
    }
    chopin_set_header(c, "WWW-Authenticate", "Basic realm=\"API docs\", charset=\"UTF-8\"");
    chopin_error(c, 401, "UNAUTHORIZED", "the API docs need a user name and password");
    return false;
}

static void send_text(chopin_ctx *c, const char *type, const char *text) {
    if (!allowed(c)) return;
    chopin_set_header(c, "Cache-Control", "no-cache");
    chopin_send(c, 200, type, text, strlen(text));
}

static void serve_json(chopin_ctx *c) {
    send_text(c, "application/json", docs_of(c)->json);
}
static void serve_yaml(chopin_ctx *c) {
    send_text(c, "application/yaml; charset=utf-8", docs_of(c)->yaml);
}
static void serve_page(chopin_ctx *c) {
    send_text(c, "text/html; charset=utf-8", docs_of(c)->page);
}
static void serve_init(chopin_ctx *c) {
    send_text(c, "text/javascript; charset=utf-8", docs_of(c)->init_js);
}

static void serve_asset(chopin_ctx *c) {
    if (!allowed(c)) return;
    chopin_str file = chopin_param(c, "file");
    for (size_t i = 0; i < NUM_ASSETS; i++) {
        const asset *a = &docs_of(c)->assets[i];
        if (!a->data || !chopin_str_eq(file, asset_kinds[i].name)) continue;
        chopin_set_header(c, "ETag", a->etag);
        chopin_set_header(c, "Cache-Control", "public, max-age=86400");
        chopin_str match = chopin_req_header(c, "If-None-Match");
        if (http1_etag_listed(match, a->etag))
            chopin_send_status(c, 304);
        else
            chopin_send(c, 200, asset_kinds[i].type, a->data, a->len);
        return;
    }
    chopin_error(c, 404, "NOT_FOUND", "no such docs asset");
}

/* --- Building what is served ------------------------------------------------- */

static int read_whole(const char *path, asset *out) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t cap = 1 << 16, len = 0;
    char *data = malloc(cap);
    size_t n;
    while (data && (n = fread(data + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            char *grown = realloc(data, cap *= 2);
            if (!grown) free(data);
            data = grown;
        }
    }
    bool bad = ferror(f) || !data;
    fclose(f);
    if (bad) {
        free(data);
        return -1;
    }
    uint64_t h = hash_bytes(data, len); /* FNV-1a: a strong enough ETag for a fixed file */
    snprintf(out->etag, sizeof out->etag, "\"%016llx\"", (unsigned long long)h);
    out->data = data;
    out->len = len;
    return 0;
}

static int load_assets(struct openapi_docs *docs, const char *dir, char *err, size_t err_len) {
    for (size_t i = 0; i < NUM_ASSETS; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, asset_kinds[i].name);
        if (read_whole(path, &docs->assets[i]) == 0 || !asset_kinds[i].required) continue;
        snprintf(err, err_len,
                 "API_DOCS_ASSETS='%.200s' is invalid: cannot read %s there (expected the "
                 "folder of the npm package swagger-ui-dist)",
                 dir, asset_kinds[i].name);
        return -1;
    }
    return 0;
}

/* Page text is built in a buffer whose failure is remembered, so that one
 * check at the end covers every append. */
typedef struct {
    chopin_buf b;
    bool failed;
} text_buf;

static void append_n(text_buf *t, const char *s, size_t n) {
    if (buf_append(NULL, &t->b, s, n)) t->failed = true;
}

static void append(text_buf *t, const char *s) {
    append_n(t, s, strlen(s));
}

/* Text for an HTML element or a double-quoted attribute. */
static void html_escaped(text_buf *b, const char *s) {
    for (; *s; s++) {
        const char *e = *s == '<'    ? "&lt;"
                        : *s == '>'  ? "&gt;"
                        : *s == '&'  ? "&amp;"
                        : *s == '"'  ? "&quot;"
                        : *s == '\'' ? "&#39;"
                                     : NULL;
        if (e)
            append(b, e);
        else
            append_n(b, s, 1);
    }
}

/* The page links no inline script (a Content-Security-Policy can forbid
 * those): the initializer is a file of its own. */
static char *make_page(const chopin_config *cfg, const struct openapi_docs *docs, bool local) {
    text_buf b = {0};
    const char *path = cfg->api_docs_path;
    append(&b, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
               "<title>");
    html_escaped(&b, cfg->api_title);
    append(&b, "</title>\n<link rel=\"stylesheet\" href=\"");
    if (local) {
        html_escaped(&b, path);
        append(&b, "/assets/swagger-ui.css\">\n");
    } else {
        append(&b, CDN_BASE "/swagger-ui.css\" integrity=\"" CDN_CSS_SRI
                            "\" crossorigin=\"anonymous\">\n");
    }
    for (size_t i = 0; local && i < NUM_ASSETS; i++) {
        if (!docs->assets[i].data || strncmp(asset_kinds[i].name, "favicon-", 8)) continue;
        append(&b, "<link rel=\"icon\" type=\"image/png\" href=\"");
        html_escaped(&b, path);
        append(&b, "/assets/");
        append(&b, asset_kinds[i].name);
        append(&b, "\">\n");
    }
    append(&b, "</head>\n<body>\n<div id=\"swagger-ui\"></div>\n<script src=\"");
    if (local) {
        html_escaped(&b, path);
        append(&b, "/assets/swagger-ui-bundle.js\"></script>\n");
    } else {
        append(&b, CDN_BASE "/swagger-ui-bundle.js\" integrity=\"" CDN_JS_SRI
                            "\" crossorigin=\"anonymous\"></script>\n");
    }
    append(&b, "<script src=\"");
    html_escaped(&b, path);
    append(&b, "/init.js\"></script>\n</body>\n</html>\n");
    append_n(&b, "", 1);
    if (!b.failed) return b.b.data;
    buf_release(NULL, &b.b);
    return NULL;
}

static char *make_init_js(const chopin_config *cfg) {
    chopin_json *url = chopin_json_new(); /* the path as a JavaScript string literal */
    char doc_url[160];
    snprintf(doc_url, sizeof doc_url, "%s/openapi.json", cfg->api_docs_path);
    if (!url) return NULL;
    chopin_json_string(url, doc_url);
    char *literal = chopin_json_take(url, NULL);
    chopin_json_free(url);
    if (!literal) return NULL;
    const char *fmt = "window.ui = SwaggerUIBundle({\n  url: %s,\n  dom_id: \"#swagger-ui\",\n"
                      "  deepLinking: true,\n  persistAuthorization: true\n});\n";
    size_t len = strlen(fmt) + strlen(literal);
    char *js = malloc(len);
    if (js) snprintf(js, len, fmt, literal);
    free(literal);
    return js;
}

static char *make_basic(const chopin_config *cfg) {
    char pair[sizeof cfg->api_docs_username + sizeof cfg->api_docs_password + 2];
    int n = snprintf(pair, sizeof pair, "%s:%s", cfg->api_docs_username, cfg->api_docs_password);
    char *basic = malloc(4 * ((size_t)n + 2) / 3 + 1);
    if (basic) EVP_EncodeBlock((unsigned char *)basic, (const unsigned char *)pair, n);
    OPENSSL_cleanse(pair, sizeof pair);
    return basic;
}

static bool docs_enabled(const chopin_config *cfg) {
    return cfg->api_docs < 0 ? cfg->environment != CHOPIN_ENV_PRODUCTION : cfg->api_docs != 0;
}

static void add_docs_route(chopin_app *app, const char *suffix, chopin_handler h) {
    char pattern[192];
    snprintf(pattern, sizeof pattern, "%s%s", app->cfg.api_docs_path, suffix);
    app_add_route(app, NULL, CHOPIN_GET, pattern, h, &(chopin_route_options){.hidden = true});
}

int openapi_mount(chopin_app *app, char *err, size_t err_len) {
    const chopin_config *cfg = &app->cfg;
    if (!docs_enabled(cfg) || app->docs) return 0;
    if (!cfg->api_docs_username[0] != !cfg->api_docs_password[0]) {
        snprintf(err, err_len,
                 "API_DOCS_USERNAME and API_DOCS_PASSWORD go together: set both "
                 "(HTTP Basic on the docs) or neither");
        return -1;
    }
    struct openapi_docs *docs = calloc(1, sizeof *docs);
    if (!docs) goto oom;
    app->docs = docs;
    bool local = cfg->api_docs_assets[0] != 0;
    if (local && load_assets(docs, cfg->api_docs_assets, err, err_len)) return -1;
    add_docs_route(app, "", serve_page);
    add_docs_route(app, "/init.js", serve_init);
    add_docs_route(app, "/openapi.json", serve_json);
    add_docs_route(app, "/openapi.yaml", serve_yaml);
    if (local) add_docs_route(app, "/assets/:file", serve_asset);
    docs->json = chopin_openapi_json(app);
    docs->yaml = docs->json ? openapi_yaml_from_json(docs->json, strlen(docs->json)) : NULL;
    docs->page = make_page(cfg, docs, local);
    docs->init_js = make_init_js(cfg);
    if (cfg->api_docs_username[0] && !(docs->basic = make_basic(cfg))) goto oom;
    if (!docs->json || !docs->yaml || !docs->page || !docs->init_js) goto oom;
    return 0;
oom:
    snprintf(err, err_len, "out of memory making the API docs");
    return -1;
}
