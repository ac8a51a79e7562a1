/* chopin-hello - a small tour: path parameters, query strings, JSON in and
 * out, a route group with its own middleware, CORS, and a big response.
 *
 *   curl localhost:3000/hello/Ada
 *   curl 'localhost:3000/search?q=chopin&limit=3'
 *   curl -X POST localhost:3000/echo -d '{"any":"json"}' -H 'Content-Type: application/json'
 *   curl -H 'Authorization: Bearer demo-token' localhost:3000/admin/stats
 *   curl localhost:3000/todos -H 'Content-Type: application/json' -d '{"title":"milk"}'
 *   curl 'localhost:3000/todos?done=false&sort=-priority'
 *   curl localhost:3000/api/auth/signup -H 'Content-Type: application/json' \
 *        -d '{"email":"ada@example.com","username":"ada","password":"correct horse"}'
 */
#include <chopin.h>

#include <stdio.h>
#include <stdlib.h>

static void index_page(chopin_ctx *c) {
    chopin_json *j = chopin_json_data_begin(c, 200);
    chopin_json_object(j);
    chopin_json_key(j, "name");
    chopin_json_string(j, "chopin-hello");
    chopin_json_key(j, "version");
    chopin_json_string(j, CHOPIN_VERSION);
    chopin_json_key(j, "routes");
    chopin_json_array(j);
    const char *routes[] = {"GET /hello/:name",
                            "GET /search?q=&limit=",
                            "POST /echo",
                            "GET /files/*path",
                            "GET /big?kib=",
                            "GET /admin/stats",
                            "POST /todos",
                            "GET /todos",
                            "GET /todos/:id",
                            "PUT /todos/:id",
                            "PATCH /todos/:id",
                            "DELETE /todos/:id",
                            "POST /api/auth/signup",
                            "POST /api/auth/login",
                            "GET /api/auth/me",
                            "POST /api/auth/refresh",
                            "POST /api/auth/logout"};
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) chopin_json_string(j, routes[i]);
    chopin_json_end(j);
    chopin_json_end(j);
    chopin_json_finish(j);
}

static void hello(chopin_ctx *c) {
    chopin_str name = chopin_param(c, "name");
    chopin_json *j = chopin_json_data_begin(c, 200);
    chopin_json_object(j);
    chopin_json_key(j, "message");
    char *greeting = chopin_alloc(c, name.len + 16);
    memcpy(greeting, "Hello, ", 7);
    memcpy(greeting + 7, name.ptr, name.len);
    memcpy(greeting + 7 + name.len, "!", 2);
    chopin_json_string(j, greeting);
    chopin_json_end(j);
    chopin_json_finish(j);
}

static void search(chopin_ctx *c) {
    chopin_str q = chopin_query(c, "q");
    chopin_str limit_s = chopin_query(c, "limit");
    long limit = 10;
    if (limit_s.ptr) {
        char *text = chopin_strdup(c, limit_s.ptr, limit_s.len), *end;
        limit = strtol(text, &end, 10);
        if (*end || limit < 1 || limit > 100) {
            chopin_error(c, 422, "VALIDATION_FAILED", "limit must be a whole number from 1 to 100");
            return;
        }
    }
    chopin_json *j = chopin_json_data_begin(c, 200);
    chopin_json_object(j);
    chopin_json_key(j, "q");
    if (q.ptr)
        chopin_json_stringn(j, q.ptr, q.len);
    else
        chopin_json_null(j);
    chopin_json_key(j, "limit");
    chopin_json_int(j, limit);
    chopin_json_end(j);
    chopin_json_finish(j);
}

static void echo(chopin_ctx *c) {
    chopin_str type = chopin_req_header(c, "Content-Type");
    chopin_str body = chopin_req_body(c);
    chopin_send(c, 200,
                type.ptr ? chopin_strdup(c, type.ptr, type.len) : "application/octet-stream",
                body.ptr, body.len);
}

static void files(chopin_ctx *c) {
    chopin_str path = chopin_param(c, "path");
    chopin_json *j = chopin_json_data_begin(c, 200);
    chopin_json_object(j);
    chopin_json_key(j, "path");
    chopin_json_stringn(j, path.ptr ? path.ptr : "", path.len);
    chopin_json_end(j);
    chopin_json_finish(j);
}

/* A JSON array of about kib KiB (default 1024), to show bodies of any size. */
static void big(chopin_ctx *c) {
    chopin_str kib_s = chopin_query(c, "kib");
    long kib = kib_s.ptr ? strtol(chopin_strdup(c, kib_s.ptr, kib_s.len), NULL, 10) : 1024;
    if (kib < 1 || kib > 64 * 1024) {
        chopin_error(c, 422, "VALIDATION_FAILED", "kib must be from 1 to 65536");
        return;
    }
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

/* Waits ?ms= milliseconds (at most 60000) without blocking its worker: the
 * handler's coroutine is suspended and the worker serves others meanwhile. */
static void slow(chopin_ctx *c) {
    chopin_str ms_s = chopin_query(c, "ms");
    long ms = ms_s.ptr ? strtol(chopin_strdup(c, ms_s.ptr, ms_s.len), NULL, 10) : 100;
    if (ms < 0 || ms > 60000) {
        chopin_error(c, 422, "VALIDATION_FAILED", "ms must be from 0 to 60000");
        return;
    }
    if (chopin_sleep(c, ms) != 0) return; /* client gone or deadline passed */
    chopin_json *j = chopin_json_data_begin(c, 200);
    chopin_json_object(j);
    chopin_json_key(j, "slept_ms");
    chopin_json_int(j, ms);
    chopin_json_end(j);
    chopin_json_finish(j);
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

static void primes(chopin_ctx *c) {
    chopin_str n_s = chopin_query(c, "n");
    prime_job job = {.n = n_s.ptr ? strtol(chopin_strdup(c, n_s.ptr, n_s.len), NULL, 10) : 100000};
    if (job.n < 2 || job.n > 50000000) {
        chopin_error(c, 422, "VALIDATION_FAILED", "n must be from 2 to 50000000");
        return;
    }
    if (chopin_offload(c, count_primes, &job) != 0) return;
    chopin_json *j = chopin_json_data_begin(c, 200);
    chopin_json_object(j);
    chopin_json_key(j, "n");
    chopin_json_int(j, job.n);
    chopin_json_key(j, "primes");
    chopin_json_int(j, job.primes);
    chopin_json_end(j);
    chopin_json_finish(j);
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
        F(todo, created_at, CHOPIN_TIMESTAMP, CHOPIN_CREATED_AT),                                  \
        F(todo, updated_at, CHOPIN_TIMESTAMP, CHOPIN_UPDATED_AT)
CHOPIN_MODEL(todo, TODO_FIELDS, .table = "todos");

/* Every failure below (400/422 from binding, 404, 409, 503 from the
 * database) is answered by Chopin: the handler just returns. */
static void create_todo(chopin_ctx *c) {
    todo *t = chopin_bind(c, &todo_model);
    if (!t || chopin_orm_insert(c, &todo_model, t)) return;
    chopin_json_model(c, 201, &todo_model, t);
}

/* GET /todos?done=false&tag=work&sort=-priority&page=2&per_page=10 */
static void list_todos(chopin_ctx *c) {
    chopin_page page;
    if (!chopin_bind_page(c, &page, 20, 100)) return;
    chopin_filter filters[2];
    size_t n = 0;
    chopin_str done = chopin_query(c, "done"), tag = chopin_query(c, "tag");
    if (done.ptr)
        filters[n++] = chopin_where("done", CHOPIN_EQ, chopin_arg_textn(done.ptr, done.len));
    if (tag.ptr) filters[n++] = chopin_where("tag", CHOPIN_EQ, chopin_arg_textn(tag.ptr, tag.len));
    chopin_str sort = chopin_query(c, "sort");
    chopin_list list;
    if (chopin_orm_page(c, &todo_model, filters, n,
                        sort.ptr ? chopin_strdup(c, sort.ptr, sort.len) : "-id", &page, &list))
        return;
    chopin_json_page(c, 200, &todo_model, list.items, list.count, &page, list.total);
}

static chopin_arg id_param(chopin_ctx *c) {
    chopin_str id = chopin_param(c, "id");
    return chopin_arg_textn(id.ptr, id.len); /* not a number: 422 */
}

static void get_todo(chopin_ctx *c) {
    todo *t = chopin_orm_find(c, &todo_model, id_param(c));
    if (t) chopin_json_model(c, 200, &todo_model, t);
}

static void replace_todo(chopin_ctx *c) {
    todo *t = chopin_bind(c, &todo_model);
    if (!t) return;
    todo *old = chopin_orm_find(c, &todo_model, id_param(c));
    if (!old) return;
    t->id = old->id;
    if (chopin_orm_update(c, &todo_model, t)) return;
    chopin_json_model(c, 200, &todo_model, t);
}

/* PATCH: only what the body names changes. */
static void patch_todo(chopin_ctx *c) {
    todo *t = chopin_orm_find(c, &todo_model, id_param(c));
    const char *const *changed = t ? chopin_bind_patch(c, &todo_model, t) : NULL;
    if (!changed || chopin_orm_update_fields(c, &todo_model, t, changed)) return;
    chopin_json_model(c, 200, &todo_model, t);
}

static void delete_todo(chopin_ctx *c) {
    if (chopin_orm_delete(c, &todo_model, id_param(c)) == 0) chopin_send_status(c, 204);
}

/* The model writes its own CREATE TABLE (both dialects); a real app would
 * keep it in a migration (chopin/migrate.h). */
static int create_tables(chopin_app *app) {
    chopin_ctx *c = chopin_ctx_new(app);
    char *sql = chopin_orm_create_sql(&todo_model, chopin_db_dialect_of(chopin_app_db(app)));
    int rc = c && sql ? chopin_db_exec_script(c, sql) : -1;
    if (rc) {
        const chopin_db_error *e = c ? chopin_db_last_error(c) : NULL;
        fprintf(stderr, "chopin-hello: cannot create the todos table: %s\n",
                e ? e->detail : "out of memory");
    }
    free(sql);
    chopin_ctx_free(c);
    return rc;
}

/* Group middleware: the /admin routes want a bearer token. */
static chopin_flow require_token(chopin_ctx *c, void *state) {
    const char *token = state;
    chopin_str auth = chopin_req_header(c, "Authorization");
    size_t tlen = strlen(token);
    if (auth.len < 7 || memcmp(auth.ptr, "Bearer ", 7) != 0 ||
        !chopin_secure_equal(token, tlen, auth.ptr + 7, auth.len - 7)) {
        chopin_set_header(c, "WWW-Authenticate", "Bearer");
        chopin_error(c, 401, "UNAUTHORIZED", "missing or invalid bearer token");
        return CHOPIN_STOP;
    }
    return CHOPIN_NEXT;
}

static void admin_stats(chopin_ctx *c) {
    chopin_json *j = chopin_json_data_begin(c, 200);
    chopin_json_object(j);
    chopin_json_key(j, "ok");
    chopin_json_bool(j, true);
    chopin_json_end(j);
    chopin_json_finish(j);
}

int main(void) {
    chopin_app *app = chopin_app_new();
    if (!app) return 2;
    chopin_use(app, chopin_cors(&(chopin_cors_options){.allow_origins = "*"}));
    chopin_get(app, "/", index_page);
    chopin_get(app, "/hello/:name", hello);
    chopin_get(app, "/search", search);
    chopin_post(app, "/echo", echo);
    chopin_put(app, "/echo", echo);
    chopin_get(app, "/files/*path", files);
    chopin_get(app, "/big", big);
    chopin_get(app, "/slow", slow);
    chopin_get(app, "/primes", primes);
    chopin_post(app, "/todos", create_todo);
    chopin_get(app, "/todos", list_todos);
    chopin_get(app, "/todos/:id", get_todo);
    chopin_put(app, "/todos/:id", replace_todo);
    chopin_patch(app, "/todos/:id", patch_todo);
    chopin_delete(app, "/todos/:id", delete_todo);
    if (create_tables(app)) {
        chopin_app_free(app);
        return 1;
    }
    /* Accounts: POST /api/auth/signup, /login, /refresh, /logout, GET /me. */
    if (chopin_auth_mount(app, NULL)) {
        chopin_app_free(app);
        return 1;
    }

    chopin_group *admin = chopin_group_new(app, "/admin");
    chopin_group_use(admin, (chopin_middleware){
                                .name = "token", .before = require_token, .state = "demo-token"});
    chopin_group_route(admin, CHOPIN_GET, "/stats", admin_stats);

    int rc = chopin_app_run(app);
    chopin_app_free(app);
    return rc;
}
