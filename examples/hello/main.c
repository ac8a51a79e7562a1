/* chopin-hello - a small tour: path parameters, query strings, JSON in and
 * out, a route group with its own middleware, CORS, and a big response.
 *
 *   curl localhost:3000/hello/Ada
 *   curl 'localhost:3000/search?q=chopin&limit=3'
 *   curl -X POST localhost:3000/echo -d '{"any":"json"}' -H 'Content-Type: application/json'
 *   curl -H 'Authorization: Bearer demo-token' localhost:3000/admin/stats
 */
#include <chopin.h>

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
    const char *routes[] = {"GET /hello/:name", "GET /search?q=&limit=", "POST /echo",
                            "GET /files/*path", "GET /big?kib=",         "GET /admin/stats"};
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

/* A model: one declaration drives decoding, validation and encoding. There
 * is no database yet, so the todo is only validated and echoed with an id. */
typedef struct {
    int64_t id;
    const char *title;
    bool done;
    int32_t priority;
    const char *tag;
} todo;

#define TODO_FIELDS(F)                                                                             \
    F(todo, id, CHOPIN_INT64, .read_only = true),                                                  \
        F(todo, title, CHOPIN_STRING, .required = true, .min_len = 1, .max_len = 200),             \
        F(todo, done, CHOPIN_BOOL),                                                                \
        F(todo, priority, CHOPIN_INT32, .has_min = true, .min = 1, .has_max = true, .max = 5),     \
        F(todo, tag, CHOPIN_ENUM, CHOPIN_ONE_OF("home", "work", "errand"))
CHOPIN_MODEL(todo, TODO_FIELDS);

static void create_todo(chopin_ctx *c) {
    static _Atomic int64_t next_id = 1;
    todo *t = chopin_bind(c, &todo_model); /* 400 or 422 already sent when NULL */
    if (!t) return;
    t->id = next_id++;
    chopin_json_model(c, 201, &todo_model, t);
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

    chopin_group *admin = chopin_group_new(app, "/admin");
    chopin_group_use(admin, (chopin_middleware){
                                .name = "token", .before = require_token, .state = "demo-token"});
    chopin_group_route(admin, CHOPIN_GET, "/stats", admin_stats);

    int rc = chopin_app_run(app);
    chopin_app_free(app);
    return rc;
}
