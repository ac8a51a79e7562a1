/* document.c - the OpenAPI 3.1 document, from the route table, the routes'
 * options and their models. One pass writes the paths, remembering every
 * model and shared response they reference; components follow, so each
 * schema is written exactly once and everything written is used. */
#include "openapi_internal.h"

#include "chopin/openapi.h"

#include "../app/app_internal.h"
#include "../model/model_internal.h"

#include <stdio.h>
#include <stdlib.h>

#define REF_PREFIX "#/components/schemas/"

typedef struct {
    const chopin_model *model; /* NULL: one of Chopin's own schemas (the error envelope) */
    bool partial;              /* the model with nothing required: a PATCH body */
    char name[64];
    char ref[sizeof REF_PREFIX + 64];
} named_schema;

/* The error responses every API shares, as components.responses. */
typedef struct {
    int status;
    const char *name, *description, *header;
} shared_response;
static const shared_response shared_responses[] = {
    {400, "BadRequest", "The body is not valid JSON, or the request is malformed", NULL},
    {401, "Unauthorized", "No token, or a token that is invalid, expired or revoked",
     "WWW-Authenticate"},
    {403, "Forbidden", "The token's role does not allow this", NULL},
    {404, "NotFound", "Nothing has this identifier", NULL},
    {409, "Conflict", "A unique value is already taken", NULL},
    {422, "ValidationFailed", "Invalid fields, each listed in error.fields", NULL},
    {429, "TooManyRequests", "Too many attempts: wait Retry-After seconds", "Retry-After"},
    {500, "InternalError", "The server failed", NULL},
};
#define NUM_SHARED (sizeof shared_responses / sizeof shared_responses[0])

typedef struct {
    const chopin_app *app;
    chopin_json *j;
    named_schema *schemas;
    size_t num_schemas;
    bool shared_used[NUM_SHARED];
    bool bearer_used;
    char **op_ids; /* operationIds given so far, to keep them unique */
    size_t num_op_ids;
    bool failed; /* out of memory */
} doc;

/* --- Names ---------------------------------------------------------------- */

/* Component names allow [A-Za-z0-9._-]; anything else becomes '_'. */
static void safe_name(char *out, size_t cap, const char *name) {
    size_t n = 0;
    for (const char *p = name && *name ? name : "model"; *p && n + 1 < cap; p++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_';
        out[n++] = ok ? ch : '_';
    }
    out[n] = 0;
}

static bool schema_name_taken(const doc *d, const char *name) {
    for (size_t i = 0; i < d->num_schemas; i++)
        if (!strcmp(d->schemas[i].name, name)) return true;
    return false;
}

/* The entry for m (NULL with name: Chopin's own), added on first sight
 * under a name no other model has. */
static named_schema *schema_entry(doc *d, const chopin_model *m, const char *own_name,
                                  bool partial) {
    for (size_t i = 0; i < d->num_schemas; i++)
        if (m ? d->schemas[i].model == m && d->schemas[i].partial == partial
              : !d->schemas[i].model && !strcmp(d->schemas[i].name, own_name))
            return &d->schemas[i];
    named_schema *grown = realloc(d->schemas, (d->num_schemas + 1) * sizeof *grown);
    if (!grown) {
        d->failed = true;
        return NULL;
    }
    d->schemas = grown;
    named_schema *e = &d->schemas[d->num_schemas];
    char base[48];
    safe_name(base, sizeof base - 6, m ? m->name : own_name);
    if (partial) strcat(base, "_patch");
    snprintf(e->name, sizeof e->name, "%s", base);
    for (int k = 2; schema_name_taken(d, e->name); k++)
        snprintf(e->name, sizeof e->name, "%s_%d", base, k);
    e->model = m;
    e->partial = partial;
    snprintf(e->ref, sizeof e->ref, REF_PREFIX "%s", e->name);
    d->num_schemas++;
    return e;
}

static void write_ref_of(doc *d, const chopin_model *m, const char *own_name, bool partial) {
    named_schema *e = schema_entry(d, m, own_name, partial);
    chopin_json_object(d->j);
    chopin_json_key(d->j, "$ref");
    chopin_json_string(d->j, e ? e->ref : REF_PREFIX "model");
    chopin_json_end(d->j);
}

static const char *model_ref(const chopin_model *m, void *arg) {
    named_schema *e = schema_entry(arg, m, NULL, false);
    return e ? e->ref : REF_PREFIX "model";
}

static void write_ref(doc *d, const chopin_model *m, const char *own_name) {
    write_ref_of(d, m, own_name, false);
}

/* get_todos_by_id for GET /todos/:id; unique within the document. */
static void write_operation_id(doc *d, chopin_method m, const char *pattern, const char *given) {
    char id[256];
    size_t n = 0;
    if (given) {
        snprintf(id, sizeof id, "%s", given);
    } else {
        for (const char *s = chopin_method_name(m); *s && n + 1 < sizeof id; s++)
            id[n++] = (char)(*s | 0x20);
        const char *p = pattern;
        bool root = !strcmp(pattern, "/");
        while (*p && n + 8 < sizeof id) {
            if (*p == '/') {
                id[n++] = '_';
                p++;
                if (*p == ':' || *p == '*') {
                    memcpy(id + n, "by_", 3), n += 3;
                    p++;
                }
                continue;
            }
            char ch = *p++;
            bool ok =
                (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
            id[n++] = ok ? ch : '_';
        }
        while (n > 0 && id[n - 1] == '_') n--;
        if (root && n + 5 < sizeof id) memcpy(id + n, "_root", 5), n += 5;
        id[n] = 0;
    }
    char unique[280];
    snprintf(unique, sizeof unique, "%s", id);
    for (int k = 2;; k++) {
        bool taken = false;
        for (size_t i = 0; i < d->num_op_ids; i++) taken |= !strcmp(d->op_ids[i], unique);
        if (!taken) break;
        snprintf(unique, sizeof unique, "%s_%d", id, k);
    }
    char **grown = realloc(d->op_ids, (d->num_op_ids + 1) * sizeof *grown);
    char *copy = strdup(unique);
    if (!grown || !copy) {
        free(grown == d->op_ids ? NULL : grown);
        free(copy);
        d->failed = true;
    } else {
        d->op_ids = grown;
        d->op_ids[d->num_op_ids++] = copy;
    }
    chopin_json_key(d->j, "operationId");
    chopin_json_string(d->j, unique);
}

/* --- Paths ------------------------------------------------------------------ */

/* "/todos/:id" -> "/todos/{id}"; a "*rest" segment -> "{rest}". */
static void openapi_path(const char *pattern, char *out, size_t cap) {
    size_t n = 0;
    for (const char *p = pattern; *p && n + 2 < cap; p++) {
        if ((*p == ':' || *p == '*') && p > pattern && p[-1] == '/') {
            out[n++] = '{';
            while (p[1] && p[1] != '/' && n + 2 < cap) out[n++] = *++p;
            out[n++] = '}';
        } else {
            out[n++] = *p;
        }
    }
    out[n] = 0;
}

/* The i-th parameter name of a pattern (":id" or "*path" segments). */
static bool path_param(const char *pattern, size_t i, const char **name, size_t *len, bool *rest) {
    for (const char *p = pattern; (p = strchr(p, '/')); p++) {
        if (p[1] != ':' && p[1] != '*') continue;
        if (i-- > 0) continue;
        *name = p + 2;
        *len = strcspn(p + 2, "/");
        *rest = p[1] == '*';
        return true;
    }
    return false;
}

static const chopin_field *model_field(const chopin_model *m, const char *name, size_t len) {
    for (size_t i = 0; m && i < m->count; i++)
        if (strlen(m->fields[i].name) == len && !memcmp(m->fields[i].name, name, len))
            return &m->fields[i];
    return NULL;
}

static void write_param(doc *d, const char *name, size_t len, const char *where, bool required,
                        const chopin_field *f, const char *description) {
    chopin_json *j = d->j;
    chopin_json_object(j);
    chopin_json_key(j, "name");
    chopin_json_stringn(j, name, len);
    chopin_json_key(j, "in");
    chopin_json_string(j, where);
    chopin_json_key(j, "required");
    chopin_json_bool(j, required);
    if (description) {
        chopin_json_key(j, "description");
        chopin_json_string(j, description);
    }
    chopin_json_key(j, "schema");
    schema_refs refs = {model_ref, d};
    if (f) {
        field_schema_write(j, f, &refs);
    } else {
        chopin_json_object(j);
        chopin_json_key(j, "type");
        chopin_json_string(j, "string");
        chopin_json_end(j);
    }
    chopin_json_end(j);
}

static bool has_page_response(const chopin_route_options *o) {
    for (size_t i = 0; i < CHOPIN_MAX_RESPONSES && o->responses[i].status; i++)
        if (o->responses[i].shape == CHOPIN_SHAPE_PAGE) return true;
    return false;
}

/* chopin_bind_page's parameters, unless the query model names them itself. */
static void write_page_params(doc *d, const chopin_model *query) {
    static const chopin_field paging[] = {
        {.name = "limit", .type = CHOPIN_INT64, .has_min = true, .min = 1},
        {.name = "offset", .type = CHOPIN_INT64, .has_min = true, .min = 0},
        {.name = "page", .type = CHOPIN_INT64, .has_min = true, .min = 1},
        {.name = "per_page", .type = CHOPIN_INT64, .has_min = true, .min = 1},
    };
    static const char *const why[] = {"How many items (at most the route's maximum)",
                                      "How many items to skip", "Page number, from 1",
                                      "Items per page (with page)"};
    for (size_t i = 0; i < 4; i++) {
        const char *name = paging[i].name;
        if (model_field(query, name, strlen(name))) continue;
        write_param(d, name, strlen(name), "query", false, &paging[i], why[i]);
    }
}

static void write_parameters(doc *d, const chopin_route_info *r) {
    const chopin_route_options *o = r->options;
    const char *name;
    size_t len;
    bool rest;
    bool any = path_param(r->pattern, 0, &name, &len, &rest) || (o->query && o->query->count) ||
               has_page_response(o);
    if (!any) return;
    chopin_json_key(d->j, "parameters");
    chopin_json_array(d->j);
    for (size_t i = 0; path_param(r->pattern, i, &name, &len, &rest); i++)
        write_param(d, name, len, "path", true, model_field(o->params, name, len),
                    rest ? "The rest of the path" : NULL);
    for (size_t i = 0; o->query && i < o->query->count; i++) {
        const chopin_field *f = &o->query->fields[i];
        write_param(d, f->name, strlen(f->name), "query", f->required, f, NULL);
    }
    if (has_page_response(o)) write_page_params(d, o->query);
    chopin_json_end(d->j);
}

/* A PATCH body names only what changes (chopin_bind_patch): the model
 * with nothing required. */
static void write_request_body(doc *d, const chopin_model *body, bool partial) {
    chopin_json *j = d->j;
    chopin_json_key(j, "requestBody");
    chopin_json_object(j);
    chopin_json_key(j, "required");
    chopin_json_bool(j, true);
    chopin_json_key(j, "content");
    chopin_json_object(j);
    chopin_json_key(j, "application/json");
    chopin_json_object(j);
    chopin_json_key(j, "schema");
    write_ref_of(d, body, NULL, partial);
    chopin_json_end(j);
    chopin_json_end(j);
    chopin_json_end(j);
}

/* --- Responses ------------------------------------------------------------- */

static void write_integer(chopin_json *j, int64_t minimum) {
    chopin_json_object(j);
    chopin_json_key(j, "type");
    chopin_json_string(j, "integer");
    chopin_json_key(j, "minimum");
    chopin_json_int(j, minimum);
    chopin_json_end(j);
}

static void write_data_schema(doc *d, const chopin_response_doc *rd) {
    chopin_json *j = d->j;
    if (rd->shape == CHOPIN_SHAPE_ONE) {
        write_ref(d, rd->model, NULL);
        return;
    }
    chopin_json_object(j);
    chopin_json_key(j, "type");
    if (rd->shape == CHOPIN_SHAPE_LIST) {
        chopin_json_string(j, "array");
        chopin_json_key(j, "items");
        write_ref(d, rd->model, NULL);
        chopin_json_end(j);
        return;
    }
    chopin_json_string(j, "object");
    chopin_json_key(j, "required");
    chopin_json_array(j);
    static const char *const page_keys[] = {"items", "total", "limit", "offset"};
    for (size_t i = 0; i < 4; i++) chopin_json_string(j, page_keys[i]);
    chopin_json_end(j);
    chopin_json_key(j, "properties");
    chopin_json_object(j);
    chopin_json_key(j, "items");
    chopin_json_object(j);
    chopin_json_key(j, "type");
    chopin_json_string(j, "array");
    chopin_json_key(j, "items");
    write_ref(d, rd->model, NULL);
    chopin_json_end(j);
    chopin_json_key(j, "total");
    write_integer(j, 0);
    chopin_json_key(j, "limit");
    write_integer(j, 1);
    chopin_json_key(j, "offset");
    write_integer(j, 0);
    chopin_json_end(j);
    chopin_json_end(j);
}

static void write_json_content(doc *d, void (*schema)(doc *, const chopin_response_doc *),
                               const chopin_response_doc *rd) {
    chopin_json *j = d->j;
    chopin_json_key(j, "content");
    chopin_json_object(j);
    chopin_json_key(j, "application/json");
    chopin_json_object(j);
    chopin_json_key(j, "schema");
    schema(d, rd);
    chopin_json_end(j);
    chopin_json_end(j);
}

/* {"success":true,"data":...} */
static void success_schema(doc *d, const chopin_response_doc *rd) {
    chopin_json *j = d->j;
    chopin_json_object(j);
    chopin_json_key(j, "type");
    chopin_json_string(j, "object");
    chopin_json_key(j, "required");
    chopin_json_array(j);
    chopin_json_string(j, "success");
    chopin_json_string(j, "data");
    chopin_json_end(j);
    chopin_json_key(j, "properties");
    chopin_json_object(j);
    chopin_json_key(j, "success");
    chopin_json_object(j);
    chopin_json_key(j, "const");
    chopin_json_bool(j, true);
    chopin_json_end(j);
    chopin_json_key(j, "data");
    write_data_schema(d, rd);
    chopin_json_end(j);
    chopin_json_end(j);
}

static void error_schema(doc *d, const chopin_response_doc *rd) {
    if (rd->model)
        write_ref(d, rd->model, NULL); /* a shape of the handler's own */
    else
        write_ref(d, NULL, "Error");
}

static size_t shared_index(int status) {
    for (size_t i = 0; i < NUM_SHARED; i++)
        if (shared_responses[i].status == status) return i;
    return NUM_SHARED;
}

static void write_response(doc *d, const chopin_response_doc *rd) {
    chopin_json *j = d->j;
    size_t shared = shared_index(rd->status);
    if (rd->status >= 400 && !rd->model && !rd->description && shared < NUM_SHARED) {
        d->shared_used[shared] = true;
        chopin_json_object(j);
        chopin_json_key(j, "$ref");
        char ref[64];
        snprintf(ref, sizeof ref, "#/components/responses/%s", shared_responses[shared].name);
        chopin_json_string(j, ref);
        chopin_json_end(j);
        return;
    }
    chopin_json_object(j);
    chopin_json_key(j, "description");
    const char *reason = chopin_status_reason(rd->status);
    if (!reason || !strcmp(reason, "Unknown")) reason = "Response";
    chopin_json_string(j, rd->description ? rd->description : reason);
    if (rd->status >= 400)
        write_json_content(d, error_schema, rd);
    else if (rd->status >= 200 && rd->status < 300 && rd->status != 204 && rd->model)
        write_json_content(d, success_schema, rd);
    chopin_json_end(j);
}

static bool body_has_unique(const chopin_model *m) {
    for (size_t i = 0; m && i < m->count; i++)
        if (m->fields[i].unique) return true;
    return false;
}

/* The declared responses, then the errors the route can give that were
 * not declared, in status order. */
static void write_responses(doc *d, const chopin_route_info *r) {
    const chopin_route_options *o = r->options;
    chopin_response_doc all[CHOPIN_MAX_RESPONSES + NUM_SHARED + 2];
    size_t n = 0;
    bool has_success = false;
    for (size_t i = 0; i < CHOPIN_MAX_RESPONSES && o->responses[i].status; i++) {
        all[n++] = o->responses[i];
        has_success |= o->responses[i].status < 400;
    }
    if (!has_success) all[n++] = (chopin_response_doc){.status = 200, .description = "OK"};
    if (o->cache_seconds > 0 && (r->method == CHOPIN_GET || r->method == CHOPIN_HEAD))
        all[n++] = (chopin_response_doc){
            .status = 304, .description = "Not Modified: the If-None-Match entity tag still holds"};
    const char *name;
    size_t len;
    bool rest;
    bool input = o->body || o->query || o->params || has_page_response(o);
    bool automatic[] = {
        [0] = o->body != NULL,
        [1] = r->auth_rank >= 0,
        [2] = r->auth_rank >= 2,
        [3] = o->params && path_param(r->pattern, 0, &name, &len, &rest),
        [4] = body_has_unique(o->body),
        [5] = input,
        [6] = false, /* 429: declared by the routes that limit */
        [7] = true,
    };
    for (size_t s = 0; s < NUM_SHARED; s++) {
        bool declared = false;
        for (size_t i = 0; i < n; i++) declared |= all[i].status == shared_responses[s].status;
        if (automatic[s] && !declared)
            all[n++] = (chopin_response_doc){.status = shared_responses[s].status};
    }
    for (size_t i = 1; i < n; i++) /* insertion sort: a handful of entries */
        for (size_t k = i; k > 0 && all[k - 1].status > all[k].status; k--) {
            chopin_response_doc t = all[k];
            all[k] = all[k - 1];
            all[k - 1] = t;
        }
    chopin_json_key(d->j, "responses");
    chopin_json_object(d->j);
    for (size_t i = 0; i < n; i++) {
        char status[16];
        snprintf(status, sizeof status, "%d", all[i].status);
        chopin_json_key(d->j, status);
        write_response(d, &all[i]);
    }
    chopin_json_end(d->j);
}

/* --- Operations ---------------------------------------------------------- */

/* Calls fn for each tag of a route: its options' list, else the path's
 * first static segment. */
static void each_tag(const chopin_route_info *r, void (*fn)(const char *, size_t, void *),
                     void *arg) {
    const char *tags = r->options->tags;
    if (tags) {
        for (const char *p = tags; *p;) {
            size_t len = strcspn(p, ",");
            const char *s = p;
            size_t l = len;
            while (l && *s == ' ') s++, l--;
            while (l && s[l - 1] == ' ') l--;
            if (l) fn(s, l, arg);
            p += len + (p[len] == ',');
        }
        return;
    }
    const char *seg = r->pattern + 1;
    size_t len = strcspn(seg, "/");
    if (len && *seg != ':' && *seg != '*') fn(seg, len, arg);
}

static void write_tag(const char *tag, size_t len, void *arg) {
    chopin_json_stringn(arg, tag, len);
}

static void write_operation(doc *d, const chopin_route_info *r) {
    chopin_json *j = d->j;
    const chopin_route_options *o = r->options;
    chopin_json_object(j);
    write_operation_id(d, r->method, r->pattern, o->operation_id);
    if (o->summary) {
        chopin_json_key(j, "summary");
        chopin_json_string(j, o->summary);
    }
    if (o->description || r->auth_rank >= 2) {
        static const char *const roles[] = {"", "user", "admin", "superuser"};
        char text[2048];
        snprintf(text, sizeof text, "%s%s%s%s", o->description ? o->description : "",
                 o->description && r->auth_rank >= 2 ? "\n\n" : "",
                 r->auth_rank >= 2 ? "Requires the role " : "",
                 r->auth_rank >= 2 ? roles[r->auth_rank > 3 ? 3 : r->auth_rank] : "");
        if (r->auth_rank >= 2) strncat(text, " or higher.", sizeof text - strlen(text) - 1);
        chopin_json_key(j, "description");
        chopin_json_string(j, text);
    }
    chopin_json_key(j, "tags");
    chopin_json_array(j);
    each_tag(r, write_tag, j);
    chopin_json_end(j);
    if (o->deprecated) {
        chopin_json_key(j, "deprecated");
        chopin_json_bool(j, true);
    }
    write_parameters(d, r);
    if (o->body) write_request_body(d, o->body, r->method == CHOPIN_PATCH);
    write_responses(d, r);
    chopin_json_key(j, "security");
    chopin_json_array(j);
    if (r->auth_rank >= 0) { /* public operations say so with [] */
        d->bearer_used = true;
        chopin_json_object(j);
        chopin_json_key(j, "bearerAuth");
        chopin_json_array(j);
        if (r->auth_rank >= 1) {
            static const char *const roles[] = {"", "user", "admin", "superuser"};
            chopin_json_string(j, roles[r->auth_rank > 3 ? 3 : r->auth_rank]);
        }
        chopin_json_end(j);
        chopin_json_end(j);
    }
    chopin_json_end(j);
    chopin_json_end(j);
}

static bool documented(const chopin_route_info *r) {
    return !r->options->hidden && r->method != CHOPIN_HEAD && r->method != CHOPIN_OPTIONS;
}

/* A second registration of the same method and pattern stops start-up;
 * a document exported before start shows the first one only. */
static bool registered_before(const chopin_app *app, size_t k, const chopin_route_info *r) {
    for (size_t i = 0; i < k; i++) {
        chopin_route_info e;
        chopin_app_route_at(app, i, &e);
        if (e.method == r->method && !strcmp(e.pattern, r->pattern)) return true;
    }
    return false;
}

static void write_paths(doc *d) {
    const chopin_app *app = d->app;
    size_t count = chopin_app_route_count(app);
    chopin_json_key(d->j, "paths");
    chopin_json_object(d->j);
    for (size_t i = 0; i < count; i++) {
        chopin_route_info r;
        chopin_app_route_at(app, i, &r);
        if (!documented(&r)) continue;
        char path[1024], other[1024];
        openapi_path(r.pattern, path, sizeof path);
        bool seen = false; /* written with an earlier route of the same path */
        for (size_t k = 0; k < i && !seen; k++) {
            chopin_route_info e;
            chopin_app_route_at(app, k, &e);
            openapi_path(e.pattern, other, sizeof other);
            seen = documented(&e) && !strcmp(path, other);
        }
        if (seen) continue;
        chopin_json_key(d->j, path);
        chopin_json_object(d->j);
        for (size_t k = i; k < count; k++) {
            chopin_route_info e;
            chopin_app_route_at(app, k, &e);
            openapi_path(e.pattern, other, sizeof other);
            if (!documented(&e) || strcmp(path, other) || registered_before(app, k, &e)) continue;
            char method[16];
            snprintf(method, sizeof method, "%s", chopin_method_name(e.method));
            for (char *p = method; *p; p++) *p = (char)(*p | 0x20);
            chopin_json_key(d->j, method);
            write_operation(d, &e);
        }
        chopin_json_end(d->j);
    }
    chopin_json_end(d->j);
}

/* --- Top level and components ----------------------------------------------- */

typedef struct {
    char **names;
    size_t count;
    bool failed;
} tag_set;

static void collect_tag(const char *tag, size_t len, void *arg) {
    tag_set *s = arg;
    for (size_t i = 0; i < s->count; i++)
        if (strlen(s->names[i]) == len && !memcmp(s->names[i], tag, len)) return;
    char **grown = realloc(s->names, (s->count + 1) * sizeof *grown);
    char *copy = strndup(tag, len);
    if (!grown || !copy) {
        if (grown) s->names = grown;
        free(copy);
        s->failed = true;
        return;
    }
    s->names = grown;
    s->names[s->count++] = copy;
}

static void write_top(doc *d) {
    const chopin_config *cfg = chopin_app_config(d->app);
    chopin_json *j = d->j;
    chopin_json_key(j, "openapi");
    chopin_json_string(j, "3.1.0");
    chopin_json_key(j, "info");
    chopin_json_object(j);
    chopin_json_key(j, "title");
    chopin_json_string(j, cfg->api_title);
    chopin_json_key(j, "version");
    chopin_json_string(j, cfg->api_version);
    if (cfg->api_description[0]) {
        chopin_json_key(j, "description");
        chopin_json_string(j, cfg->api_description);
    }
    chopin_json_end(j);
    chopin_json_key(j, "servers");
    chopin_json_array(j);
    chopin_json_object(j);
    chopin_json_key(j, "url");
    chopin_json_string(j, cfg->api_server_url[0] ? cfg->api_server_url : "/");
    chopin_json_end(j);
    chopin_json_end(j);
    tag_set tags = {0};
    for (size_t i = 0; i < chopin_app_route_count(d->app); i++) {
        chopin_route_info r;
        chopin_app_route_at(d->app, i, &r);
        if (documented(&r)) each_tag(&r, collect_tag, &tags);
    }
    d->failed |= tags.failed;
    if (tags.count) {
        chopin_json_key(j, "tags");
        chopin_json_array(j);
        for (size_t i = 0; i < tags.count; i++) {
            chopin_json_object(j);
            chopin_json_key(j, "name");
            chopin_json_string(j, tags.names[i]);
            chopin_json_end(j);
        }
        chopin_json_end(j);
    }
    for (size_t i = 0; i < tags.count; i++) free(tags.names[i]);
    free(tags.names);
}

static void string_schema(chopin_json *j) {
    chopin_json_object(j);
    chopin_json_key(j, "type");
    chopin_json_string(j, "string");
    chopin_json_end(j);
}

/* {"success":false,"error":{"status","code","message","request_id"?,"fields"?}} */
static void write_error_schema(doc *d) {
    chopin_json *j = d->j;
    chopin_json_object(j);
    chopin_json_key(j, "type");
    chopin_json_string(j, "object");
    chopin_json_key(j, "required");
    chopin_json_array(j);
    chopin_json_string(j, "success");
    chopin_json_string(j, "error");
    chopin_json_end(j);
    chopin_json_key(j, "properties");
    chopin_json_object(j);
    chopin_json_key(j, "success");
    chopin_json_object(j);
    chopin_json_key(j, "const");
    chopin_json_bool(j, false);
    chopin_json_end(j);
    chopin_json_key(j, "error");
    chopin_json_object(j);
    chopin_json_key(j, "type");
    chopin_json_string(j, "object");
    chopin_json_key(j, "required");
    chopin_json_array(j);
    chopin_json_string(j, "status");
    chopin_json_string(j, "code");
    chopin_json_string(j, "message");
    chopin_json_end(j);
    chopin_json_key(j, "properties");
    chopin_json_object(j);
    chopin_json_key(j, "status");
    write_integer(j, 400);
    chopin_json_key(j, "code");
    string_schema(j);
    chopin_json_key(j, "message");
    string_schema(j);
    chopin_json_key(j, "request_id");
    string_schema(j);
    chopin_json_key(j, "fields");
    chopin_json_object(j);
    chopin_json_key(j, "type");
    chopin_json_string(j, "array");
    chopin_json_key(j, "items");
    write_ref(d, NULL, "FieldError");
    chopin_json_end(j);
    chopin_json_end(j);
    chopin_json_end(j);
    chopin_json_end(j);
    chopin_json_end(j);
}

/* {"field","code","message"} */
static void write_field_error_schema(chopin_json *j) {
    chopin_json_object(j);
    chopin_json_key(j, "type");
    chopin_json_string(j, "object");
    chopin_json_key(j, "required");
    chopin_json_array(j);
    static const char *const keys[] = {"field", "code", "message"};
    for (size_t i = 0; i < 3; i++) chopin_json_string(j, keys[i]);
    chopin_json_end(j);
    chopin_json_key(j, "properties");
    chopin_json_object(j);
    for (size_t i = 0; i < 3; i++) {
        chopin_json_key(j, keys[i]);
        string_schema(j);
    }
    chopin_json_end(j);
    chopin_json_end(j);
}

static void write_shared_responses(doc *d) {
    chopin_json *j = d->j;
    bool any = false;
    for (size_t i = 0; i < NUM_SHARED; i++) any |= d->shared_used[i];
    if (!any) return;
    chopin_json_key(j, "responses");
    chopin_json_object(j);
    for (size_t i = 0; i < NUM_SHARED; i++) {
        if (!d->shared_used[i]) continue;
        const shared_response *s = &shared_responses[i];
        chopin_json_key(j, s->name);
        chopin_json_object(j);
        chopin_json_key(j, "description");
        chopin_json_string(j, s->description);
        if (s->header) {
            chopin_json_key(j, "headers");
            chopin_json_object(j);
            chopin_json_key(j, s->header);
            chopin_json_object(j);
            chopin_json_key(j, "schema");
            string_schema(j);
            chopin_json_end(j);
            chopin_json_end(j);
        }
        static const chopin_response_doc error_only = {0};
        write_json_content(d, error_schema, &error_only);
        chopin_json_end(j);
    }
    chopin_json_end(j);
}

/* Schemas are written in order of first reference; writing one may
 * reference more (nested models), which the loop then reaches. */
static void write_components(doc *d) {
    chopin_json *j = d->j;
    chopin_json_key(j, "components");
    chopin_json_object(j);
    write_shared_responses(d); /* before the schemas: they reference Error */
    if (d->num_schemas) {
        chopin_json_key(j, "schemas");
        chopin_json_object(j);
        schema_refs refs = {model_ref, d};
        for (size_t i = 0; i < d->num_schemas && !d->failed; i++) {
            named_schema e = d->schemas[i]; /* the array may move while writing */
            chopin_json_key(j, e.name);
            if (e.model)
                model_schema_write(j, e.model, &refs, e.partial);
            else if (!strcmp(e.name, "Error"))
                write_error_schema(d);
            else
                write_field_error_schema(j);
        }
        chopin_json_end(j);
    }
    if (d->bearer_used) {
        chopin_json_key(j, "securitySchemes");
        chopin_json_object(j);
        chopin_json_key(j, "bearerAuth");
        chopin_json_object(j);
        chopin_json_key(j, "type");
        chopin_json_string(j, "http");
        chopin_json_key(j, "scheme");
        chopin_json_string(j, "bearer");
        chopin_json_key(j, "bearerFormat");
        chopin_json_string(j, "JWT");
        chopin_json_key(j, "description");
        chopin_json_string(j, "An access token from the login or signup route");
        chopin_json_end(j);
        chopin_json_end(j);
    }
    chopin_json_end(j);
}

char *chopin_openapi_json(const chopin_app *app) {
    doc d = {.app = app, .j = chopin_json_new()};
    if (!d.j) return NULL;
    /* Chopin's own names first: a user model called Error becomes Error_2. */
    schema_entry(&d, NULL, "Error", false);
    schema_entry(&d, NULL, "FieldError", false);
    chopin_json_object(d.j);
    write_top(&d);
    write_paths(&d);
    write_components(&d);
    chopin_json_end(d.j);
    char *text = d.failed ? NULL : chopin_json_take(d.j, NULL);
    chopin_json_free(d.j);
    for (size_t i = 0; i < d.num_op_ids; i++) free(d.op_ids[i]);
    free(d.op_ids);
    free(d.schemas);
    return text;
}

char *chopin_openapi_yaml(const chopin_app *app) {
    char *json = chopin_openapi_json(app);
    char *yaml = json ? openapi_yaml_from_json(json, strlen(json)) : NULL;
    free(json);
    return yaml;
}
