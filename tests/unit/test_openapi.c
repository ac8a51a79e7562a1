/* test_openapi.c - the OpenAPI document against the route table it comes
 * from: every route of the demo app (examples/demo/demo.c) with its
 * methods, parameters, body and responses, read back from the served
 * document and compared with chopin_app_route_at, not with a snapshot; the
 * YAML form against the JSON one (an independent YAML parser); the docs
 * routes, their switches, HTTP Basic and local assets; route options'
 * auth enforced; schemas written once and referenced. */
#include <criterion/criterion.h>

#include <chopin.h>

#include "demo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static chopin_app *app;
static chopin_json_doc *doc;

static void test_config(chopin_config *cfg) {
    chopin_config_defaults(cfg);
    cfg->access_log = false;
    cfg->environment = CHOPIN_ENV_TEST;
    snprintf(cfg->database_url, sizeof cfg->database_url, "sqlite::memory:");
    snprintf(cfg->jwt_secret, sizeof cfg->jwt_secret, "test-secret-test-secret-test-secret!");
    cfg->auth_routes = false; /* only the routes each test registers */
}

static chopin_test_response *get(const char *target, const char *const *headers) {
    chopin_test_response *r = chopin_test_request(app, "GET", target, headers, NULL, 0);
    cr_assert_not_null(r, "no response to %s", target);
    return r;
}

/* The document as the app serves it. */
static const chopin_json_value *served_document(void) {
    chopin_test_response *r = get("/api-docs/openapi.json", NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_str_eq(chopin_test_header(r, "Content-Type"), "application/json");
    chopin_json_error err;
    doc = chopin_json_doc_parse(r->body, r->body_len, &err);
    cr_assert_not_null(doc, "invalid JSON at %zu: %s", err.offset, err.message);
    chopin_test_response_free(r);
    return chopin_json_doc_root(doc);
}

static void teardown(void) {
    chopin_json_doc_free(doc);
    doc = NULL;
    chopin_app_free(app);
    app = NULL;
}

static void demo_setup_app(void) {
    chopin_config cfg;
    test_config(&cfg);
    app = chopin_app_new_with(&cfg);
    cr_assert_not_null(app);
    cr_assert_eq(demo_setup(app), 0);
}

/* --- Reading the document -------------------------------------------------------- */

static const chopin_json_value *at(const chopin_json_value *v, const char *key) {
    return v && v->type == CHOPIN_JSON_OBJECT ? chopin_json_get(v, key) : NULL;
}

static bool str_is(const chopin_json_value *v, const char *s) {
    return v && v->type == CHOPIN_JSON_STRING && !strcmp(v->u.str.ptr, s);
}

/* Follows "#/components/..." references. */
static const chopin_json_value *resolve(const chopin_json_value *root, const chopin_json_value *v) {
    const chopin_json_value *ref = at(v, "$ref");
    if (!ref) return v;
    cr_assert(ref->type == CHOPIN_JSON_STRING && !strncmp(ref->u.str.ptr, "#/", 2));
    char path[256];
    snprintf(path, sizeof path, "%s", ref->u.str.ptr + 2);
    const chopin_json_value *cur = root;
    for (char *save, *seg = strtok_r(path, "/", &save); seg; seg = strtok_r(NULL, "/", &save))
        cur = at(cur, seg);
    cr_assert_not_null(cur, "dangling reference %s", ref->u.str.ptr);
    return cur;
}

/* Every $ref anywhere resolves. Returns how many were checked. */
static size_t check_refs(const chopin_json_value *root, const chopin_json_value *v) {
    size_t n = 0;
    if (v->type == CHOPIN_JSON_OBJECT) {
        if (at(v, "$ref")) resolve(root, v), n++;
        for (size_t i = 0; i < v->u.obj.count; i++)
            n += check_refs(root, &v->u.obj.members[i].value);
    } else if (v->type == CHOPIN_JSON_ARRAY) {
        for (size_t i = 0; i < v->u.arr.count; i++) n += check_refs(root, &v->u.arr.items[i]);
    }
    return n;
}

/* "/todos/:id" -> "/todos/{id}", written here independently of the library. */
static void template_of(const char *pattern, char *out, size_t cap) {
    size_t n = 0;
    for (const char *p = pattern; *p && n + 3 < cap;) {
        if ((*p == ':' || *p == '*') && p[-1] == '/') {
            size_t len = strcspn(p + 1, "/");
            n += (size_t)snprintf(out + n, cap - n, "{%.*s}", (int)len, p + 1);
            p += 1 + len;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = 0;
}

static size_t pattern_params(const char *pattern, char names[][64], size_t max) {
    size_t n = 0;
    for (const char *p = strchr(pattern, '/'); p && n < max; p = strchr(p + 1, '/'))
        if (p[1] == ':' || p[1] == '*')
            snprintf(names[n++], 64, "%.*s", (int)strcspn(p + 2, "/"), p + 2);
    return n;
}

static const chopin_json_value *find_param(const chopin_json_value *root,
                                           const chopin_json_value *op, const char *name,
                                           const char *in) {
    const chopin_json_value *params = at(op, "parameters");
    for (size_t i = 0; params && i < params->u.arr.count; i++) {
        const chopin_json_value *p = resolve(root, &params->u.arr.items[i]);
        if (str_is(at(p, "name"), name) && str_is(at(p, "in"), in)) return p;
    }
    return NULL;
}

static size_t count_params(const chopin_json_value *op, const char *in) {
    const chopin_json_value *params = at(op, "parameters");
    size_t n = 0;
    for (size_t i = 0; params && i < params->u.arr.count; i++)
        n += str_is(at(&params->u.arr.items[i], "in"), in);
    return n;
}

static const char *json_type_of(chopin_field_type t) {
    switch (t) {
    case CHOPIN_BOOL:
        return "boolean";
    case CHOPIN_INT32:
    case CHOPIN_INT64:
        return "integer";
    case CHOPIN_DOUBLE:
        return "number";
    case CHOPIN_ARRAY:
        return "array";
    case CHOPIN_OBJECT:
        return "object";
    default:
        return "string";
    }
}

/* A schema's type is t, alone or with "null". */
static bool schema_type_is(const chopin_json_value *schema, const char *t) {
    const chopin_json_value *type = at(schema, "type");
    if (str_is(type, t)) return true;
    for (size_t i = 0; type && type->type == CHOPIN_JSON_ARRAY && i < type->u.arr.count; i++)
        if (str_is(&type->u.arr.items[i], t)) return true;
    return false;
}

/* A components schema holds exactly the model's fields, typed. */
static void check_model_schema(const chopin_json_value *root, const chopin_json_value *schema,
                               const chopin_model *m) {
    const chopin_json_value *s = resolve(root, schema);
    cr_assert(at(schema, "$ref"), "model %s not referenced from components", m->name);
    const chopin_json_value *props = at(s, "properties");
    cr_assert_not_null(props, "model %s has no properties", m->name);
    cr_assert_eq(props->u.obj.count, m->count, "model %s: %zu properties for %zu fields", m->name,
                 props->u.obj.count, m->count);
    for (size_t i = 0; i < m->count; i++) {
        const chopin_field *f = &m->fields[i];
        const chopin_json_value *p = at(props, f->name);
        cr_assert_not_null(p, "model %s: no property %s", m->name, f->name);
        if (f->type != CHOPIN_OBJECT)
            cr_assert(schema_type_is(p, json_type_of(f->type)), "%s.%s: not %s", m->name, f->name,
                      json_type_of(f->type));
        if (f->read_only) cr_assert(at(p, "readOnly"), "%s.%s not readOnly", m->name, f->name);
    }
}

/* The schema of data in a success envelope, for the response's shape. */
static void check_success(const chopin_json_value *root, const chopin_json_value *response,
                          const chopin_response_doc *rd) {
    const chopin_json_value *schema =
        at(at(at(at(response, "content"), "application/json"), "schema"), "properties");
    cr_assert_not_null(schema, "%d: no envelope schema", rd->status);
    cr_assert_not_null(at(at(schema, "success"), "const"));
    const chopin_json_value *data = at(schema, "data");
    if (rd->shape == CHOPIN_SHAPE_LIST) data = at(data, "items");
    if (rd->shape == CHOPIN_SHAPE_PAGE) {
        const chopin_json_value *page = at(data, "properties");
        for (const char *const *k = (const char *const[]){"total", "limit", "offset", NULL}; *k;
             k++)
            cr_assert(schema_type_is(at(page, *k), "integer"), "page.%s", *k);
        data = at(at(page, "items"), "items");
    }
    check_model_schema(root, data, rd->model);
}

static bool declared(const chopin_route_options *o, int status) {
    for (size_t i = 0; i < CHOPIN_MAX_RESPONSES && o->responses[i].status; i++)
        if (o->responses[i].status == status) return true;
    return false;
}

static bool has_page_shape(const chopin_route_options *o) {
    for (size_t i = 0; i < CHOPIN_MAX_RESPONSES && o->responses[i].status; i++)
        if (o->responses[i].shape == CHOPIN_SHAPE_PAGE) return true;
    return false;
}

/* One route's operation, as its registration says it must be. */
static void check_operation(const chopin_json_value *root, const chopin_route_info *r,
                            const chopin_json_value *op) {
    const chopin_route_options *o = r->options;
    char names[8][64];
    size_t np = pattern_params(r->pattern, names, 8);
    cr_assert_eq(count_params(op, "path"), np, "%s: path parameters", r->pattern);
    for (size_t i = 0; i < np; i++) {
        const chopin_json_value *p = find_param(root, op, names[i], "path");
        cr_assert_not_null(p, "%s: no path parameter %s", r->pattern, names[i]);
        cr_assert(at(p, "required")->u.b);
        const char *want = "string";
        for (size_t k = 0; o->params && k < o->params->count; k++)
            if (!strcmp(o->params->fields[k].name, names[i]))
                want = json_type_of(o->params->fields[k].type);
        cr_assert(schema_type_is(at(p, "schema"), want), "%s: %s is not %s", r->pattern, names[i],
                  want);
    }
    size_t nq = o->query ? o->query->count : 0;
    for (size_t i = 0; i < nq; i++) {
        const chopin_field *f = &o->query->fields[i];
        const chopin_json_value *p = find_param(root, op, f->name, "query");
        cr_assert_not_null(p, "%s: no query parameter %s", r->pattern, f->name);
        cr_assert_eq(at(p, "required")->u.b, f->required);
        cr_assert(schema_type_is(at(p, "schema"), json_type_of(f->type)));
    }
    cr_assert_eq(count_params(op, "query"), nq + (has_page_shape(o) ? 4 : 0), "%s: query params",
                 r->pattern);

    const chopin_json_value *body = at(op, "requestBody");
    cr_assert_eq(body != NULL, o->body != NULL, "%s: request body", r->pattern);
    if (o->body) {
        const chopin_json_value *schema = at(at(at(body, "content"), "application/json"), "schema");
        check_model_schema(root, schema, o->body);
        bool any_required = false;
        for (size_t i = 0; i < o->body->count; i++) any_required |= o->body->fields[i].required;
        /* PATCH: only what changes (chopin_bind_patch), so nothing is required. */
        bool listed = at(resolve(root, schema), "required") != NULL;
        cr_assert_eq(listed, any_required && r->method != CHOPIN_PATCH, "%s %s: required list",
                     chopin_method_name(r->method), r->pattern);
    }

    const chopin_json_value *responses = at(op, "responses");
    cr_assert_not_null(responses);
    size_t expected = 0;
    for (size_t i = 0; i < CHOPIN_MAX_RESPONSES && o->responses[i].status; i++, expected++) {
        const chopin_response_doc *rd = &o->responses[i];
        char status[8];
        snprintf(status, sizeof status, "%d", rd->status);
        const chopin_json_value *resp = at(responses, status);
        cr_assert_not_null(resp, "%s %s: no %d response", chopin_method_name(r->method), r->pattern,
                           rd->status);
        resp = resolve(root, resp);
        cr_assert_not_null(at(resp, "description"));
        if (rd->status < 300 && rd->model) check_success(root, resp, rd);
        if (rd->status == 204 || (rd->status < 300 && !rd->model))
            cr_assert_null(at(resp, "content"), "%d: has content", rd->status);
        if (rd->status >= 400)
            cr_assert_not_null(at(at(at(resp, "content"), "application/json"), "schema"));
    }
    /* The errors the route can give, and no others. */
    bool input = o->body || o->query || o->params || has_page_shape(o);
    struct {
        int status;
        bool applies;
    } errors[] = {
        {400, o->body != NULL},
        {401, r->auth_rank >= 0},
        {403, r->auth_rank >= 2},
        {404, o->params != NULL},
        {422, input},
        {500, true},
    };
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        char status[8];
        snprintf(status, sizeof status, "%d", errors[i].status);
        bool present = at(responses, status) != NULL;
        if (errors[i].applies || declared(o, errors[i].status))
            cr_assert(present, "%s %s: no %d", chopin_method_name(r->method), r->pattern,
                      errors[i].status);
        else
            cr_assert(!present, "%s %s: %d does not apply", chopin_method_name(r->method),
                      r->pattern, errors[i].status);
        if (present && !declared(o, errors[i].status)) expected++;
    }
    bool conflict = false;
    for (size_t i = 0; o->body && i < o->body->count; i++) conflict |= o->body->fields[i].unique;
    if (conflict && !declared(o, 409)) expected++;
    bool has_2xx = false;
    for (size_t i = 0; i < CHOPIN_MAX_RESPONSES && o->responses[i].status; i++)
        has_2xx |= o->responses[i].status < 400;
    if (!has_2xx) expected++;   /* a plain 200 */
    if (o->cache_seconds > 0) { /* a cached GET: 304 to If-None-Match */
        expected++;
        cr_assert_not_null(at(responses, "304"), "%s: cached but no 304", r->pattern);
    }
    cr_assert_eq(responses->u.obj.count, expected, "%s %s: %zu responses, expected %zu",
                 chopin_method_name(r->method), r->pattern, responses->u.obj.count, expected);

    const chopin_json_value *security = at(op, "security");
    cr_assert_not_null(security, "%s: no security", r->pattern);
    if (r->auth_rank < 0) {
        cr_assert_eq(security->u.arr.count, 0, "%s: public but secured", r->pattern);
    } else {
        cr_assert_eq(security->u.arr.count, 1);
        cr_assert_not_null(at(&security->u.arr.items[0], "bearerAuth"));
    }
    if (o->summary) cr_assert(str_is(at(op, "summary"), o->summary));
    cr_assert_eq(at(op, "deprecated") != NULL, o->deprecated);
}

/* --- The demo's document ------------------------------------------------------------ */

Test(openapi, demo_document_matches_the_route_table, .init = demo_setup_app, .fini = teardown) {
    const chopin_json_value *root = served_document();
    cr_assert(str_is(at(root, "openapi"), "3.1.0"));
    cr_assert(str_is(at(at(root, "info"), "title"), "Chopin API"));
    const chopin_json_value *paths = at(root, "paths");
    cr_assert_not_null(paths);

    size_t documented = 0, hidden = 0, protected_routes = 0;
    chopin_route_info r;
    for (size_t i = 0; chopin_app_route_at(app, i, &r); i++) {
        char path[256], method[16];
        template_of(r.pattern, path, sizeof path);
        snprintf(method, sizeof method, "%s", chopin_method_name(r.method));
        for (char *p = method; *p; p++) *p = (char)(*p | 0x20);
        const chopin_json_value *op = at(at(paths, path), method);
        if (r.options->hidden) {
            cr_assert_null(op, "hidden route %s %s documented", method, path);
            hidden++;
            continue;
        }
        cr_assert_not_null(op, "route %s %s is not in the document", method, path);
        check_operation(root, &r, op);
        documented++;
        protected_routes += r.auth_rank >= 0;
    }
    /* Nothing in the document that is not a route. */
    size_t operations = 0;
    for (size_t i = 0; i < paths->u.obj.count; i++)
        operations += paths->u.obj.members[i].value.u.obj.count;
    cr_assert_eq(operations, documented);
    cr_assert_geq(documented, 20, "the demo has %zu documented routes", documented);
    cr_assert_geq(hidden, 4, "the docs routes are in the table, hidden");
    cr_assert_eq(protected_routes, 9, "/api/auth/me, /logout, the todos and /admin/stats");
    cr_assert_gt(check_refs(root, root), 30);
    cr_assert_not_null(at(at(at(root, "components"), "securitySchemes"), "bearerAuth"));
    /* The users model is written once and referenced (tokens.user, /me). */
    const chopin_json_value *schemas = at(at(root, "components"), "schemas");
    cr_assert_not_null(at(schemas, "user"));
    const chopin_json_value *tokens_user = at(at(at(schemas, "tokens"), "properties"), "user");
    cr_assert(str_is(at(tokens_user, "$ref"), "#/components/schemas/user"));
}

/* An independent YAML parser (PyYAML, Debian's python3-yaml) reads the
 * YAML form as the same data as the JSON form. */
Test(openapi, yaml_is_the_same_document, .init = demo_setup_app, .fini = teardown) {
    char dir[] = "/tmp/chopin-openapi-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    const char *forms[] = {"/api-docs/openapi.json", "/api-docs/openapi.yaml"};
    const char *files[] = {"doc.json", "doc.yaml"};
    for (int i = 0; i < 2; i++) {
        chopin_test_response *r = get(forms[i], NULL);
        cr_assert_eq(r->status, 200);
        char path[128];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        FILE *f = fopen(path, "w");
        cr_assert_not_null(f);
        fwrite(r->body, 1, r->body_len, f);
        fclose(f);
        if (i == 1)
            cr_assert_str_eq(chopin_test_header(r, "Content-Type"),
                             "application/yaml; charset=utf-8");
        chopin_test_response_free(r);
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import json, sys, yaml; "
             "a = json.load(open(sys.argv[1])); b = yaml.safe_load(open(sys.argv[2])); "
             "sys.exit(0 if a == b and len(a[\"paths\"]) > 10 else 1)' %s/doc.json %s/doc.yaml",
             dir, dir);
    int rc = system(cmd);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(rc, 0, "PyYAML read the YAML differently (is python3-yaml installed?)");
}

/* --- The docs routes ---------------------------------------------------------------- */

static void app_with(void (*change)(chopin_config *)) {
    chopin_config cfg;
    test_config(&cfg);
    if (change) change(&cfg);
    app = chopin_app_new_with(&cfg);
    cr_assert_not_null(app);
    cr_assert_eq(demo_setup(app), 0);
}

Test(openapi, page_from_a_cdn_by_default, .fini = teardown) {
    app_with(NULL);
    chopin_test_response *r = get("/api-docs", NULL);
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(chopin_test_header(r, "Content-Type"), "text/html; charset=utf-8");
    cr_assert(strstr(r->body, "https://cdn.jsdelivr.net/npm/swagger-ui-dist@"));
    cr_assert(strstr(r->body, "integrity=\"sha384-"), "CDN assets pinned by integrity");
    cr_assert(strstr(r->body, "<script src=\"/api-docs/init.js\">"));
    cr_assert_null(strstr(r->body, "<script>"), "no inline script");
    chopin_test_response_free(r);
    r = get("/api-docs/init.js", NULL);
    cr_assert_eq(r->status, 200);
    cr_assert(strstr(r->body, "url: \"/api-docs/openapi.json\""), "%s", r->body);
    chopin_test_response_free(r);
    r = get("/api-docs/assets/swagger-ui.css", NULL);
    cr_assert_eq(r->status, 404, "no assets route without API_DOCS_ASSETS");
    chopin_test_response_free(r);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static char assets_dir[64];
static void use_assets(chopin_config *cfg) {
    snprintf(cfg->api_docs_assets, sizeof cfg->api_docs_assets, "%s", assets_dir);
}

Test(openapi, page_and_assets_from_a_local_folder, .fini = teardown) {
    snprintf(assets_dir, sizeof assets_dir, "/tmp/chopin-assets-XXXXXX");
    cr_assert_not_null(mkdtemp(assets_dir));
    char path[128];
    snprintf(path, sizeof path, "%s/swagger-ui.css", assets_dir);
    write_file(path, "body { color: black }\n");
    snprintf(path, sizeof path, "%s/swagger-ui-bundle.js", assets_dir);
    write_file(path, "window.SwaggerUIBundle = function () {};\n");
    snprintf(path, sizeof path, "%s/secret.txt", assets_dir);
    write_file(path, "not served\n");
    snprintf(path, sizeof path, "%s/favicon-16x16.png", assets_dir);
    write_file(path, "PNG\n");
    app_with(use_assets);

    chopin_test_response *r = get("/api-docs", NULL);
    cr_assert_eq(r->status, 200);
    cr_assert(strstr(r->body, "href=\"/api-docs/assets/swagger-ui.css\""));
    cr_assert(strstr(r->body, "src=\"/api-docs/assets/swagger-ui-bundle.js\""));
    cr_assert_null(strstr(r->body, "cdn.jsdelivr.net"), "no CDN with local assets");
    cr_assert(strstr(r->body, "<link rel=\"icon\" type=\"image/png\" "
                              "href=\"/api-docs/assets/favicon-16x16.png\">"));
    cr_assert_null(strstr(r->body, "favicon-32x32"), "only the icons that are there");
    chopin_test_response_free(r);
    r = get("/api-docs/assets/favicon-16x16.png", NULL);
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(chopin_test_header(r, "Content-Type"), "image/png");
    chopin_test_response_free(r);

    r = get("/api-docs/assets/swagger-ui-bundle.js", NULL);
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(r->body, "window.SwaggerUIBundle = function () {};\n");
    cr_assert_str_eq(chopin_test_header(r, "Content-Type"), "text/javascript; charset=utf-8");
    const char *etag = chopin_test_header(r, "ETag");
    cr_assert_not_null(etag);
    char if_none[96];
    snprintf(if_none, sizeof if_none, "If-None-Match: %s", etag);
    chopin_test_response_free(r);
    r = get("/api-docs/assets/swagger-ui-bundle.js", (const char *const[]){if_none, NULL});
    cr_assert_eq(r->status, 304);
    chopin_test_response_free(r);

    /* Only the listed files: nothing else in the folder, nothing outside it. */
    const char *refused[] = {
        "/api-docs/assets/secret.txt",           "/api-docs/assets/..%2Fsecret.txt",
        "/api-docs/assets/../assets/secret.txt", "/api-docs/assets/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/api-docs/assets/swagger-ui.css%00.js", "/api-docs/assets/favicon-32x32.png"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        r = chopin_test_request(app, "GET", refused[i], NULL, NULL, 0);
        cr_assert(r && (r->status == 404 || r->status == 400), "%s: %d", refused[i],
                  r ? r->status : -1);
        chopin_test_response_free(r);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", assets_dir);
    cr_assert_eq(system(cmd), 0);
}

Test(openapi, a_missing_assets_folder_stops_start_up, .fini = teardown) {
    snprintf(assets_dir, sizeof assets_dir, "/nonexistent/swagger-ui-dist");
    app_with(use_assets);
    cr_assert_null(chopin_test_request(app, "GET", "/api-docs", NULL, NULL, 0),
                   "the app must refuse to start");
}

static void docs_off(chopin_config *cfg) {
    cfg->api_docs = 0;
}
static void production(chopin_config *cfg) {
    cfg->environment = CHOPIN_ENV_PRODUCTION;
}
static void production_docs_on(chopin_config *cfg) {
    cfg->environment = CHOPIN_ENV_PRODUCTION;
    cfg->api_docs = 1;
}

static int status_of(const char *target) {
    chopin_test_response *r = get(target, NULL);
    int status = r->status;
    chopin_test_response_free(r);
    return status;
}

Test(openapi, off_by_setting_and_by_default_in_production, .fini = teardown) {
    app_with(docs_off);
    cr_assert_eq(status_of("/api-docs"), 404);
    cr_assert_eq(status_of("/api-docs/openapi.json"), 404);
    chopin_app_free(app);
    app_with(production);
    cr_assert_eq(status_of("/api-docs/openapi.json"), 404);
    cr_assert_eq(status_of("/api-docs/openapi.yaml"), 404);
    chopin_app_free(app);
    app_with(production_docs_on);
    cr_assert_eq(status_of("/api-docs/openapi.json"), 200);
}

static void basic_auth(chopin_config *cfg) {
    snprintf(cfg->api_docs_username, sizeof cfg->api_docs_username, "docs");
    snprintf(cfg->api_docs_password, sizeof cfg->api_docs_password, "s3cret pass");
    snprintf(cfg->api_docs_path, sizeof cfg->api_docs_path, "/internal/docs");
}

Test(openapi, protected_by_http_basic_on_another_path, .fini = teardown) {
    app_with(basic_auth);
    cr_assert_eq(status_of("/api-docs"), 404, "moved by API_DOCS_PATH");
    const char *targets[] = {"/internal/docs", "/internal/docs/openapi.json",
                             "/internal/docs/openapi.yaml", "/internal/docs/init.js"};
    /* base64("docs:s3cret pass") = ZG9jczpzM2NyZXQgcGFzcw== */
    const char *wrong[] = {NULL,
                           "Authorization: Basic ZG9jczpzM2NyZXQgcGFzcw",
                           "Authorization: Basic ZG9jczp3cm9uZw==",
                           "Authorization: Bearer ZG9jczpzM2NyZXQgcGFzcw==",
                           "Authorization: Basic ZG9jczpzM2NyZXQgcGFzcw==x",
                           "Authorization: Basic"};
    for (size_t t = 0; t < 4; t++) {
        for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
            chopin_test_response *r = get(targets[t], (const char *const[]){wrong[i], NULL});
            cr_assert_eq(r->status, 401, "%s with %s", targets[t], wrong[i] ? wrong[i] : "none");
            cr_assert(strstr(chopin_test_header(r, "WWW-Authenticate"), "Basic realm="));
            cr_assert(strstr(r->body, "\"success\":false"));
            chopin_test_response_free(r);
        }
        chopin_test_response *r =
            get(targets[t],
                (const char *const[]){t % 2 ? "Authorization: basic  ZG9jczpzM2NyZXQgcGFzcw=="
                                            : "Authorization: Basic ZG9jczpzM2NyZXQgcGFzcw==",
                                      NULL});
        cr_assert_eq(r->status, 200, "%s", targets[t]);
        chopin_test_response_free(r);
    }
}

/* --- Route options ---------------------------------------------------------------------- */

typedef struct {
    const char *street;
    const char *city;
} address;
#define ADDRESS_FIELDS(F)                                                                          \
    F(address, street, CHOPIN_STRING), F(address, city, CHOPIN_STRING, .required = true)
CHOPIN_MODEL(address, ADDRESS_FIELDS);

typedef struct {
    const char *code;
} Error;
#define ERROR_FIELDS(F) F(Error, code, CHOPIN_STRING)
CHOPIN_MODEL(Error, ERROR_FIELDS);

typedef struct {
    int64_t id;
    const char *email;
    address home;
    address work;
    bool has_work;
    chopin_array past;
} person;
#define PERSON_FIELDS(F)                                                                           \
    F(person, id, CHOPIN_INT64, CHOPIN_PK), F(person, email, CHOPIN_STRING, .unique = true),       \
        F(person, home, CHOPIN_OBJECT, .model = &address_model),                                   \
        F(person, work, CHOPIN_OBJECT, .model = &address_model, .nullable = true,                  \
          CHOPIN_PRESENCE(person, has_work)),                                                      \
        F(person, past, CHOPIN_ARRAY, .item = CHOPIN_OBJECT, .model = &address_model)
CHOPIN_MODEL(person, PERSON_FIELDS);

static void answer_ok(chopin_ctx *c) {
    chopin_text(c, 200, "ok");
}

/* Registered from a function whose options die when it returns: the app
 * must have copied them. */
static void register_people(void) {
    char summary[32];
    snprintf(summary, sizeof summary, "Make %s", "a person");
    chopin_post_with(app, "/people", answer_ok, .summary = summary, .tags = " people , crm ",
                     .body = &person_model, .responses = {{.status = 201, .model = &person_model}});
    chopin_get_with(app, "/people/:id", answer_ok, .deprecated = true, .auth = "admin",
                    .responses = {{.status = 200, .model = &person_model},
                                  {.status = 418, .model = &Error_model, .description = "x"}});
    chopin_get_with(
        app, "/people/:id/errors", answer_ok, .operation_id = "get_people_by_id",
        .responses = {{.status = 200, .model = &Error_model, .shape = CHOPIN_SHAPE_LIST}});
    chopin_get_with(app, "/hidden", answer_ok, .hidden = true);
    memset(summary, 'x', sizeof summary - 1);
}

static chopin_jwt_claims *claims_for(const char *role) {
    static chopin_jwt_claims claims;
    memset(&claims, 0, sizeof claims);
    snprintf(claims.sub, sizeof claims.sub, "7");
    snprintf(claims.role, sizeof claims.role, "%s", role);
    snprintf(claims.typ, sizeof claims.typ, "access");
    claims.exp = (int64_t)time(NULL) + 600;
    return &claims;
}

Test(openapi, route_options_schemas_and_auth, .fini = teardown) {
    chopin_config cfg;
    test_config(&cfg);
    snprintf(cfg.api_title, sizeof cfg.api_title, "People <API>");
    snprintf(cfg.api_description, sizeof cfg.api_description, "For tests");
    snprintf(cfg.api_server_url, sizeof cfg.api_server_url, "https://api.example.com/v1");
    app = chopin_app_new_with(&cfg);
    cr_assert_not_null(app);
    register_people();
    const chopin_json_value *root = served_document();
    cr_assert(str_is(at(at(root, "info"), "title"), "People <API>"));
    cr_assert(str_is(at(at(root, "info"), "description"), "For tests"));
    cr_assert(
        str_is(at(&at(root, "servers")->u.arr.items[0], "url"), "https://api.example.com/v1"));
    const chopin_json_value *paths = at(root, "paths");
    cr_assert_eq(paths->u.obj.count, 3, "the hidden route stays out");

    const chopin_json_value *post = at(at(paths, "/people"), "post");
    cr_assert(str_is(at(post, "summary"), "Make a person"), "options copied at registration");
    const chopin_json_value *tags = at(post, "tags");
    cr_assert_eq(tags->u.arr.count, 2);
    cr_assert(str_is(&tags->u.arr.items[0], "people") && str_is(&tags->u.arr.items[1], "crm"));
    cr_assert_not_null(at(at(post, "responses"), "409"), "a unique field: 409");
    cr_assert_not_null(at(at(post, "responses"), "400"));

    /* Nested models by reference, each schema once; a user model called
     * Error does not take the place of the error envelope. */
    const chopin_json_value *schemas = at(at(root, "components"), "schemas");
    cr_assert_not_null(at(schemas, "address"));
    cr_assert_not_null(at(schemas, "Error_2"));
    cr_assert_not_null(at(at(at(schemas, "Error"), "properties"), "success"));
    const chopin_json_value *props = at(at(schemas, "person"), "properties");
    cr_assert(str_is(at(at(props, "home"), "$ref"), "#/components/schemas/address"));
    const chopin_json_value *any_of = at(at(props, "work"), "anyOf");
    cr_assert(any_of && any_of->u.arr.count == 2, "nullable nested model");
    cr_assert(str_is(at(at(at(props, "past"), "items"), "$ref"), "#/components/schemas/address"));
    check_refs(root, root);

    const chopin_json_value *get_one = at(at(paths, "/people/{id}"), "get");
    cr_assert(at(get_one, "deprecated")->u.b);
    cr_assert(str_is(at(get_one, "operationId"), "get_people_by_id"));
    const chopin_json_value *sec = at(&at(get_one, "security")->u.arr.items[0], "bearerAuth");
    cr_assert(sec && sec->u.arr.count == 1 && str_is(&sec->u.arr.items[0], "admin"));
    cr_assert_not_null(at(at(get_one, "responses"), "401"));
    cr_assert_not_null(at(at(get_one, "responses"), "403"));
    cr_assert_null(at(at(get_one, "responses"), "404"), "no params model: no 404");
    cr_assert(strstr(at(get_one, "description")->u.str.ptr, "admin"));
    const chopin_json_value *teapot =
        at(at(at(at(at(get_one, "responses"), "418"), "content"), "application/json"), "schema");
    cr_assert(str_is(at(teapot, "$ref"), "#/components/schemas/Error_2"));
    /* A given operationId already taken gets a suffix: ids stay unique. */
    cr_assert(str_is(at(at(at(paths, "/people/{id}/errors"), "get"), "operationId"),
                     "get_people_by_id_2"));

    /* .auth is enforced, not only documented. */
    cr_assert_eq(status_of("/people/1"), 401);
    char token[CHOPIN_JWT_MAX_LEN + 1], header[CHOPIN_JWT_MAX_LEN + 32];
    const char *roles[] = {"user", "admin", "superuser"};
    int want[] = {403, 200, 200};
    for (int i = 0; i < 3; i++) {
        cr_assert_gt(
            chopin_jwt_sign(chopin_app_jwt_key(app), claims_for(roles[i]), token, sizeof token), 0);
        snprintf(header, sizeof header, "Authorization: Bearer %s", token);
        chopin_test_response *r = get("/people/1", (const char *const[]){header, NULL});
        cr_assert_eq(r->status, want[i], "%s: %d", roles[i], r->status);
        chopin_test_response_free(r);
    }
}

Test(openapi, a_bad_role_in_options_stops_start_up, .fini = teardown) {
    chopin_config cfg;
    test_config(&cfg);
    app = chopin_app_new_with(&cfg);
    chopin_get_with(app, "/x", answer_ok, .auth = "root");
    cr_assert_null(chopin_test_request(app, "GET", "/x", NULL, NULL, 0));
}

/* The document is there before start too (a tool exporting it). */
Test(openapi, exported_without_serving, .fini = teardown) {
    demo_setup_app();
    char *json = chopin_openapi_json(app);
    char *yaml = chopin_openapi_yaml(app);
    cr_assert(json && strstr(json, "\"/todos/{id}\""));
    cr_assert(yaml && strstr(yaml, "\"/todos/{id}\":"));
    free(json);
    free(yaml);
}
