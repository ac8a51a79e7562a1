/* chopin-demo - the demo server: a todo API with accounts (each user sees
 * their own todos), validation, pagination, caching, uploads, a small tour
 * of the framework, and its API docs at /api-docs (routes in demo.c).
 *
 *   curl localhost:3000/api/auth/signup -H 'Content-Type: application/json' \
 *        -d '{"email":"ada@example.com","username":"ada","password":"correct horse"}'
 *   TOKEN=...   (data.access_token of the answer)
 *   curl localhost:3000/todos -H "Authorization: Bearer $TOKEN" \
 *        -H 'Content-Type: application/json' -d '{"title":"milk"}'
 *   curl 'localhost:3000/todos?done=false&sort=-priority' -H "Authorization: Bearer $TOKEN"
 *   curl localhost:3000/hello/Ada
 *   curl localhost:3000/api-docs/openapi.json      (or open /api-docs in a browser)
 *
 * `chopin-demo help` lists its other commands (routes, docs export, db,
 * createsuperuser). */
#include "demo.h"

int main(int argc, char **argv) {
    chopin_app *app = chopin_app_new();
    if (app && demo_setup(app)) {
        chopin_app_free(app);
        return 1;
    }
    int rc = chopin_app_main(app, argc, argv);
    chopin_app_free(app);
    return rc;
}
