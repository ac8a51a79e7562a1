/* chopin-tfb - the TechEmpower Framework Benchmarks endpoints.
 *
 * /json serializes a fresh object on every request (the rules forbid
 * pre-rendered JSON); /plaintext answers "Hello, World!". Both go through the
 * framework's router and response writer like any other route. Run it with
 * SERVER_MODE=performance for benchmarks (no access log, pinned workers). */
#include <chopin.h>

static void json(chopin_ctx *c) {
    chopin_json *j = chopin_json_begin(c, 200);
    chopin_json_object(j);
    chopin_json_key(j, "message");
    chopin_json_string(j, "Hello, World!");
    chopin_json_end(j);
    chopin_json_finish(j);
}

static void plaintext(chopin_ctx *c) {
    chopin_text(c, 200, "Hello, World!");
}

int main(void) {
    chopin_app *app = chopin_app_new();
    if (!app) return 2;
    chopin_get(app, "/json", json);
    chopin_get(app, "/plaintext", plaintext);
    int rc = chopin_app_run(app);
    chopin_app_free(app);
    return rc;
}
