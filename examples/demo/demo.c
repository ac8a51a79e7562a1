/* demo.c - chopin-demo's routes: a small tour of path parameters, query
 * strings, JSON in and out, a todo API on the ORM, accounts, a route group
 * with its own middleware, and the OpenAPI document of it all at /api-docs.
 * main.c serves it; tests/unit/test_openapi.c checks its document against
 * this route table.

 */
#include "demo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The app, for the index to list its routes from the route table. */
static const chopin_app *the_app;

static void index_page(chopin_ctx *c) {
    chopin_json *j = chopin_json_data_begin(c, 200);
    chopin_json_object(j);
    chopin_json_key(j, "name");
    chopin_json_string(j, "chopin-demo");
    chopin_json_key(j, "version");
    chopin_json_string(j, CHOPIN_VERSION);
    chopin_json_key(j, "docs");
    chopin_json_string(j, chopin_app_config(the_app)->api_docs_path);
    chopin_json_key(j, "routes");
    chopin_json_array(j);
    chopin_route_info r;
    for (size_t i = 0; chopin_app_route_at(the_app, i, &r); i++) {
        if (r.options->hidden) continue;
        const char *method = chopin_method_name(r.method);
        size_t len = strlen(method) + strlen(r.pattern) + 2;
        char *line = chopin_alloc(c, len);
        snprintf(line, len, "%s %s", method, r.pattern);
        chopin_json_string(j, line);
    }
    chopin_json_end(j);
    chopin_json_end(j);
    chopin_json_finish(j);
}

/* Small models for the tour's answers and queries: each one documents its
 * route in the OpenAPI document as well as shaping the JSON. */
typedef struct {
    const char *message;
} greeting;
#define GREETING_FIELDS(F) F(greeting, message, CHOPIN_STRING, .required = true)
CHOPIN_MODEL(greeting, GREETING_FIELDS);

static void hello(chopin_ctx *c) {
    chopin_str name = chopin_param(c, "name");
    char *text = chopin_alloc(c, name.len + 16);
    memcpy(text, "Hello, ", 7);
    memcpy(text + 7, name.ptr, name.len);
    memcpy(text + 7 + name.len, "!", 2);
    chopin_json_model(c, 200, &greeting_model, &(greeting){text});
}

/* GET /search?q=&limit=: the query bound into a model (422 on a bad limit),
 * answered with the same model. */
typedef struct {
    const char *q;
    int32_t limit;
    bool has_limit;
} search_query;
#define SEARCH_QUERY_FIELDS(F)                                                                     \
    F(search_query, q, CHOPIN_STRING, .nullable = true, .max_len = 200),                           \
        F(search_query, limit, CHOPIN_INT32, .has_min = true, .min = 1, .has_max = true,           \
          .max = 100, CHOPIN_PRESENCE(search_query, has_limit))
CHOPIN_MODEL(search_query, SEARCH_QUERY_FIELDS);

static void search(chopin_ctx *c) {
    search_query *q = chopin_bind_query(c, &search_query_model);
    if (!q) return;
    if (!q->has_limit) q->limit = 10, q->has_limit = true;
    chopin_json_model(c, 200, &search_query_model, q);
}

static void echo(chopin_ctx *c) {
    chopin_str type = chopin_req_header(c, "Content-Type");
    chopin_str body = chopin_req_body(c);
    chopin_send(c, 200,
                type.ptr ? chopin_strdup(c, type.ptr, type.len) : "application/octet-stream",
                body.ptr, body.len);
}

typedef struct {
    const char *path;
} file_path;
#define FILE_PATH_FIELDS(F) F(file_path, path, CHOPIN_STRING, .required = true)
CHOPIN_MODEL(file_path, FILE_PATH_FIELDS);

static void files(chopin_ctx *c) {
    chopin_str path = chopin_param(c, "path");
    const char *text = chopin_strdup(c, path.ptr ? path.ptr : "", path.len);
    chopin_json_model(c, 200, &file_path_model, &(file_path){text});
}

/* One number from the query, for the routes below: ?kib=, ?ms=, ?n=. */
typedef struct {
    int64_t kib;
    bool has_kib;
} big_query;
#define BIG_QUERY_FIELDS(F)                                                                        \
    F(big_query, kib, CHOPIN_INT64, .has_min = true, .min = 1, .has_max = true, .max = 65536,      \
      CHOPIN_PRESENCE(big_query, has_kib))
CHOPIN_MODEL(big_query, BIG_QUERY_FIELDS);

/* A JSON array of about kib KiB (default 1024), to show bodies of any size. */
static void big(chopin_ctx *c) {
    big_query *q = chopin_bind_query(c, &big_query_model);
    if (!q) return;
    long kib = q->has_kib ? (long)q->kib : 1024;
    chopin_json *j = chopin_json_data_begin(c, 200);
    chopin_json_array(j);
    /* Each item {"i":N,"s":"0123456789abcdef..."} is about 64 bytes. */
    for (long i = 0; i < kib * 16; i++) {
        chopin_json_object(j);
        chopin_json_key(j, "i");
        chopin_json_int(j, i);
        chopin_json_key(j, "s");
        chopin_json_string(j, "0123456789abcdef0123456789abcdef0123456789");
        chopin_json_end(j);
    }
    chopin_json_end(j);
    chopin_json_finish(j);
}

typedef struct {
    int64_t ms;
    bool has_ms;
} slow_query;
#define SLOW_QUERY_FIELDS(F)                                                                       \
    F(slow_query, ms, CHOPIN_INT64, .has_min = true, .min = 0, .has_max = true, .max = 60000,      \
      CHOPIN_PRESENCE(slow_query, has_ms))
CHOPIN_MODEL(slow_query, SLOW_QUERY_FIELDS);

typedef struct {
    int64_t slept_ms;
} slept;
#define SLEPT_FIELDS(F) F(slept, slept_ms, CHOPIN_INT64, .required = true)
CHOPIN_MODEL(slept, SLEPT_FIELDS);

/* Waits ?ms= milliseconds (at most 60000) without blocking its worker: the
 * handler's coroutine is suspended and the worker serves others meanwhile. */
static void slow(chopin_ctx *c) {
    slow_query *q = chopin_bind_query(c, &slow_query_model);
    if (!q) return;
    int64_t ms = q->has_ms ? q->ms : 100;
    if (chopin_sleep(c, ms) != 0) return; /* client gone or deadline passed */
    chopin_json_model(c, 200, &slept_model, &(slept){ms});
}

/* Counts primes below ?n= on the offload pool: CPU work that would stall the
 * worker if it ran in the handler itself. */
typedef struct {
    long n;
    long primes;
} prime_job;

static void count_primes(void *arg) {
    prime_job *job = arg;
    long count = 0;
    for (long i = 2; i < job->n; i++) {
        bool prime = true;
        for (long d = 2; d * d <= i; d++)
            if (i % d == 0) {
                prime = false;
                break;
            }
        count += prime;
    }
    job->primes = count;
}

typedef struct {
    int64_t n;
    bool has_n;
    int64_t primes;
} primes_answer;
#define PRIMES_FIELDS(F)                                                                           \
    F(primes_answer, n, CHOPIN_INT64, .has_min = true, .min = 2, .has_max = true, .max = 50000000, \
      CHOPIN_PRESENCE(primes_answer, has_n)),                                                      \
        F(primes_answer, primes, CHOPIN_INT64, .read_only = true)
CHOPIN_MODEL(primes_answer, PRIMES_FIELDS);

static void primes(chopin_ctx *c) {
    primes_answer *q = chopin_bind_query(c, &primes_answer_model);
    if (!q) return;
    prime_job job = {.n = q->has_n ? (long)q->n : 100000};
    if (chopin_offload(c, count_primes, &job) != 0) return;
    q->n = job.n, q->has_n = true, q->primes = job.primes;
    chopin_json_model(c, 200, &primes_answer_model, q);
}

/* A model: one declaration drives decoding, validation, encoding and the
 * table (DATABASE_URL, SQLite in ./chopin.db unless told otherwise). */
typedef struct {
    int64_t id;
    const char *title;
    bool done;
    int32_t priority;
    bool has_priority; /* optional: NULL in the table when absent */
    const char *tag;
    int64_t owner_id; /* the account's id: each user sees only their own todos */
    int64_t created_at;
    int64_t updated_at;
} todo;

#define TODO_FIELDS(F)                                                                             \
    F(todo, id, CHOPIN_INT64, CHOPIN_PK),                                                          \
        F(todo, title, CHOPIN_STRING, .required = true, .min_len = 1, .max_len = 200),             \
        F(todo, done, CHOPIN_BOOL),                                                                \
        F(todo, priority, CHOPIN_INT32, .has_min = true, .min = 1, .has_max = true, .max = 5,      \
          CHOPIN_PRESENCE(todo, has_priority)),                                                    \
        F(todo, tag, CHOPIN_ENUM, CHOPIN_ONE_OF("home", "work", "errand")),                        \
        F(todo, owner_id, CHOPIN_INT64), /* set by the server from the token */                    \
        F(todo, created_at, CHOPIN_TIMESTAMP, CHOPIN_CREATED_AT),                                  \
        F(todo, updated_at, CHOPIN_TIMESTAMP, CHOPIN_UPDATED_AT)
CHOPIN_MODEL(todo, TODO_FIELDS, .table = "todos");

/* Every failure below (400/422 from binding, 404, 409, 503 from the
 * database) is answered by Chopin: the handler just returns. */
/* The routes below require a token (.auth = "user"): the account is its
 * subject. */
static int64_t owner(chopin_ctx *c) {
    return strtoll(chopin_auth_claims(c)->sub, NULL, 10);
}

static void create_todo(chopin_ctx *c) {
    todo *t = chopin_bind(c, &todo_model);
    if (!t) return;
    t->owner_id = owner(c);
    if (chopin_orm_insert(c, &todo_model, t)) return;
    chopin_cache_invalidate(c, "/todos"); /* the cached lists and rows are stale now */
    chopin_json_model(c, 201, &todo_model, t);
}

/* The list's filters, as a query model: bound with validation, and listed
 * as the operation's parameters in the OpenAPI document. */
typedef struct {
    bool done;
    bool has_done;
    const char *tag;
    const char *sort;
} todo_filter;
#define TODO_FILTER_FIELDS(F)                                                                      \
    F(todo_filter, done, CHOPIN_BOOL, CHOPIN_PRESENCE(todo_filter, has_done)),                     \
        F(todo_filter, tag, CHOPIN_ENUM, CHOPIN_ONE_OF("home", "work", "errand")),                 \
        F(todo_filter, sort, CHOPIN_STRING, .max_len = 64)
CHOPIN_MODEL(todo_filter, TODO_FILTER_FIELDS);

/* GET /todos?done=false&tag=work&sort=-priority&page=2&per_page=10 */
static void list_todos(chopin_ctx *c) {
    chopin_page page;
    todo_filter *f = chopin_bind_query(c, &todo_filter_model);
    if (!f || !chopin_bind_page(c, &page, 20, 100)) return;
    chopin_filter filters[3];
    size_t n = 0;
    filters[n++] = chopin_where("owner_id", CHOPIN_EQ, chopin_arg_int(owner(c)));
    if (f->has_done) filters[n++] = chopin_where("done", CHOPIN_EQ, chopin_arg_bool(f->done));
    if (f->tag) filters[n++] = chopin_where("tag", CHOPIN_EQ, chopin_arg_text(f->tag));
    chopin_list list;
    if (chopin_orm_page(c, &todo_model, filters, n, f->sort ? f->sort : "-id", &page, &list))
        return;
    chopin_json_page(c, 200, &todo_model, list.items, list.count, &page, list.total);
}

/* The path's :id, typed for the document (the ORM refuses a non-number
 * with 422). */
typedef struct {
    int64_t id;
} todo_id;
#define TODO_ID_FIELDS(F) F(todo_id, id, CHOPIN_INT64, .has_min = true, .min = 1)
CHOPIN_MODEL(todo_id, TODO_ID_FIELDS);

static chopin_arg id_param(chopin_ctx *c) {
    chopin_str id = chopin_param(c, "id");
    return chopin_arg_textn(id.ptr, id.len); /* not a number: 422 */
}

/* The caller's todo, or NULL with 404 answered: another account's todo
 * does not exist for this one. */
static todo *find_own(chopin_ctx *c) {
    todo *t = chopin_orm_find(c, &todo_model, id_param(c));
    if (t && t->owner_id != owner(c)) {
        chopin_error(c, 404, "NOT_FOUND", "todo not found");
        return NULL;
    }
    return t;
}

static void get_todo(chopin_ctx *c) {
    todo *t = find_own(c);
    if (t) chopin_json_model(c, 200, &todo_model, t);
}

static void replace_todo(chopin_ctx *c) {
    todo *t = chopin_bind(c, &todo_model);
    if (!t) return;
    todo *old = find_own(c);
    if (!old) return;
    t->id = old->id;
    t->owner_id = old->owner_id;
    if (chopin_orm_update(c, &todo_model, t)) return;
    chopin_cache_invalidate(c, "/todos");
    chopin_json_model(c, 200, &todo_model, t);
}

/* PATCH: only what the body names changes. */
static void patch_todo(chopin_ctx *c) {
    todo *t = find_own(c);
    int64_t owner_id = t ? t->owner_id : 0;
    const char *const *changed = t ? chopin_bind_patch(c, &todo_model, t) : NULL;
    if (!changed) return;
    t->owner_id = owner_id; /* the server's to set: a value sent is ignored */
    if (chopin_orm_update_fields(c, &todo_model, t, changed)) return;
    chopin_cache_invalidate(c, "/todos");
    chopin_json_model(c, 200, &todo_model, t);
}

static void delete_todo(chopin_ctx *c) {
    todo *t = find_own(c);
    if (!t || chopin_orm_delete(c, &todo_model, chopin_arg_int(t->id))) return;
    chopin_cache_invalidate(c, "/todos");
    chopin_send_status(c, 204);
}

/* The model writes its own CREATE TABLE (both dialects); a real app would
 * keep it in a migration (chopin/migrate.h). */
static int create_tables(chopin_app *app) {
    chopin_ctx *c = chopin_ctx_new(app);
    char *sql = chopin_orm_create_sql(&todo_model, chopin_db_dialect_of(chopin_app_db(app)));
    int rc = c && sql ? chopin_db_exec_script(c, sql) : -1;
    if (rc) {
        const chopin_db_error *e = c ? chopin_db_last_error(c) : NULL;
        chopin_log(CHOPIN_LOG_ERROR, "cannot create the todos table", "error",
                   e ? e->detail : "out of memory", NULL);
    }
    free(sql);
    chopin_ctx_free(c);
    return rc;
}

typedef struct {
    int64_t users;
    int64_t todos;
} stats;
#define STATS_FIELDS(F)                                                                            \
    F(stats, users, CHOPIN_INT64, .required = true), F(stats, todos, CHOPIN_INT64, .required = true)
CHOPIN_MODEL(stats, STATS_FIELDS);

/* For accounts with the admin role (`chopin-demo createsuperuser` makes one). */
static void admin_stats(chopin_ctx *c) {
    int64_t users = chopin_orm_count(c, &chopin_auth_user_model, NULL, 0);
    int64_t todos = users < 0 ? -1 : chopin_orm_count(c, &todo_model, NULL, 0);
    if (todos < 0) return; /* the database's error is answered */
    chopin_json_model(c, 200, &stats_model, &(stats){users, todos});
}

/* Uploads: files streamed to UPLOAD_DIR whatever their size (up to
 * MAX_UPLOAD_SIZE), each answered with where it is now. */
typedef struct {
    const char *field;
    const char *original_name;
    const char *stored_name;
    const char *url;
    const char *content_type;
    int64_t size;
    const char *sha256;
} stored_file;
#define STORED_FILE_FIELDS(F)                                                                      \
    F(stored_file, field, CHOPIN_STRING, .required = true),                                        \
        F(stored_file, original_name, CHOPIN_STRING, .required = true),                            \
        F(stored_file, stored_name, CHOPIN_STRING, .required = true),                              \
        F(stored_file, url, CHOPIN_STRING, .required = true),                                      \
        F(stored_file, content_type, CHOPIN_STRING, .required = true),                             \
        F(stored_file, size, CHOPIN_INT64, .required = true),                                      \
        F(stored_file, sha256, CHOPIN_STRING, .required = true)
CHOPIN_MODEL(stored_file, STORED_FILE_FIELDS);

static void upload_files(chopin_ctx *c) {
    chopin_upload *up = chopin_upload_receive(c, NULL);
    if (!up) return; /* 400 / 413 / 422 answered, nothing kept */
    stored_file *out = chopin_alloc(c, (up->count ? up->count : 1) * sizeof *out);
    if (!out) return;
    for (size_t i = 0; i < up->count; i++) {
        const chopin_upload_file *f = &up->files[i];
        size_t len = strlen(f->stored_name) + 16;
        char *url = chopin_alloc(c, len);
        if (!url) return;
        snprintf(url, len, "/uploads/%s", f->stored_name);
        out[i] = (stored_file){f->field,        f->original_name, f->stored_name, url,
                               f->content_type, (int64_t)f->size, f->sha256};
    }
    chopin_json_models(c, 201, &stored_file_model, out, up->count);
}

/* A page with a form that uploads to POST /uploads, for trying it from a
 * browser (tests/upload/browser.sh does, with headless Chromium). */
static void upload_form(chopin_ctx *c) {
    static const char page[] =
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">"
        "<title>Upload a file</title></head>\n<body>\n<h1>Upload a file</h1>\n"
        "<form action=\"/uploads\" method=\"post\" enctype=\"multipart/form-data\">\n"
        "<p><input type=\"file\" name=\"file\" required></p>\n"
        "<p><label>Note <input name=\"note\"></label></p>\n"
        "<p><button type=\"submit\">Upload</button></p>\n</form>\n</body>\n</html>\n";
    chopin_send(c, 200, "text/html; charset=utf-8", page, sizeof page - 1);
}

int demo_setup(chopin_app *app) {
    the_app = app;
    chopin_use(app, chopin_cors(&(chopin_cors_options){.allow_origins = "*"}));
    chopin_get_with(
        app, "/", index_page, .summary = "What this server offers", .tags = "tour",
        .responses = {{.status = 200, .description = "Name, version and the route table"}});
    chopin_get_with(app, "/hello/:name", hello, .summary = "Greet someone", .tags = "tour",
                    .responses = {{.status = 200, .model = &greeting_model}});
    chopin_get_with(app, "/search", search, .summary = "Echo a validated query", .tags = "tour",
                    .query = &search_query_model,
                    .responses = {{.status = 200, .model = &search_query_model}});
    chopin_post_with(app, "/echo", echo, .summary = "Send the body back", .tags = "tour",
                     .description = "Answers with the request's body and Content-Type.",
                     .responses = {{.status = 200, .description = "The body as it was sent"}});
    chopin_put_with(app, "/echo", echo, .summary = "Send the body back (PUT)", .tags = "tour",
                    .responses = {{.status = 200, .description = "The body as it was sent"}});
    chopin_get_with(app, "/files/*path", files, .summary = "Match the rest of a path",
                    .tags = "tour", .responses = {{.status = 200, .model = &file_path_model}});
    chopin_get_with(app, "/big", big, .summary = "A large JSON array", .tags = "tour",
                    .query = &big_query_model,
                    .responses = {{.status = 200, .description = "An array of about kib KiB"}});
    chopin_get_with(app, "/slow", slow, .summary = "Wait without blocking the worker",
                    .tags = "tour", .query = &slow_query_model,
                    .responses = {{.status = 200, .model = &slept_model}});
    chopin_get_with(app, "/primes", primes, .summary = "Count primes on the offload pool",
                    .tags = "tour", .query = &primes_answer_model,
                    .responses = {{.status = 200, .model = &primes_answer_model}});

    /* Each account's own todos: a token is required, and the cached answers
     * are kept per user. */
    chopin_post_with(app, "/todos", create_todo, .summary = "Create a todo", .tags = "todos",
                     .auth = "user", .body = &todo_model,
                     .responses = {{.status = 201, .model = &todo_model}});
    chopin_get_with(
        app, "/todos", list_todos, .summary = "List your todos, a page at a time", .tags = "todos",
        .auth = "user", .query = &todo_filter_model, .cache_seconds = 30, .cache_per_user = true,
        .description = "sort names a field, with - for descending (default -id). Answers are "
                       "cached for 30 s (per user and query); every write clears them.",
        .responses = {{.status = 200, .model = &todo_model, .shape = CHOPIN_SHAPE_PAGE}});
    chopin_get_with(app, "/todos/:id", get_todo, .summary = "Get a todo", .tags = "todos",
                    .auth = "user", .params = &todo_id_model, .cache_seconds = 30,
                    .cache_per_user = true, .responses = {{.status = 200, .model = &todo_model}});
    chopin_put_with(app, "/todos/:id", replace_todo, .summary = "Replace a todo", .tags = "todos",
                    .auth = "user", .params = &todo_id_model, .body = &todo_model,
                    .responses = {{.status = 200, .model = &todo_model}});
    chopin_patch_with(app, "/todos/:id", patch_todo, .summary = "Change some of a todo's fields",
                      .tags = "todos", .auth = "user", .params = &todo_id_model,
                      .body = &todo_model, .responses = {{.status = 200, .model = &todo_model}});
    chopin_delete_with(app, "/todos/:id", delete_todo, .summary = "Delete a todo", .tags = "todos",
                       .auth = "user", .params = &todo_id_model,
                       .responses = {{.status = 204, .description = "Deleted"}});
    chopin_post_with(
        app, "/uploads", upload_files, .stream_body = true, .tags = "files",
        .summary = "Upload files (multipart/form-data, or one file as the body)",
        .responses = {{.status = 201, .model = &stored_file_model, .shape = CHOPIN_SHAPE_LIST},
                      {.status = 400},
                      {.status = 413},
                      {.status = 422}});
    chopin_get_with(app, "/upload-form", upload_form, .tags = "files",
                    .summary = "An HTML form that uploads a file",
                    .responses = {{.status = 200, .description = "An HTML page"}});
    /* What was uploaded is served back from the same folder. */
    const char *dir = chopin_app_config(app)->upload_dir;
    if (mkdir(dir, 0750) && errno != EEXIST) {
        chopin_log(CHOPIN_LOG_ERROR, "cannot make the upload folder", "dir", dir, "error",
                   strerror(errno), NULL);
        return -1;
    }
    if (chopin_static(app, "/uploads", dir,
                      &(chopin_static_options){.max_age = 3600, .untrusted = true}))
        return -1;
    if (create_tables(app)) return -1;
    /* Accounts: POST /api/auth/signup, /login, /refresh, /logout, GET /me. */
    if (chopin_auth_mount(app, NULL)) return -1;

    chopin_get_with(app, "/admin/stats", admin_stats, .summary = "How many accounts and todos",
                    .tags = "admin", .auth = "admin",
                    .description = "For accounts with the admin or superuser role.",
                    .responses = {{.status = 200, .model = &stats_model}});
    return 0;
}
