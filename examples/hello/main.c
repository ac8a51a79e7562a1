/* chopin-hello - the demo server: a todo API with accounts, a small tour of
 * the framework, and its API docs at /api-docs (routes in demo.c).
 *
 *   curl localhost:3000/hello/Ada
 *   curl 'localhost:3000/search?q=chopin&limit=3'
 *   curl -X POST localhost:3000/echo -d '{"any":"json"}' -H 'Content-Type: application/json'
 *   curl -H 'Authorization: Bearer demo-token' localhost:3000/admin/stats
 *   curl localhost:3000/todos -H 'Content-Type: application/json' -d '{"title":"milk"}'
 *   curl 'localhost:3000/todos?done=false&sort=-priority'
 *   curl localhost:3000/api/auth/signup -H 'Content-Type: application/json' \
 *        -d '{"email":"ada@example.com","username":"ada","password":"correct horse"}'
 *   curl localhost:3000/api-docs/openapi.json      (or open /api-docs in a browser)
 */
#include "demo.h"

int main(void) {
    chopin_app *app = chopin_app_new();
    if (!app) return 2;
    if (demo_setup(app)) {
        chopin_app_free(app);
        return 1;
    }
    int rc = chopin_app_run(app);
    chopin_app_free(app);
    return rc;
}
