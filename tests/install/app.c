/* Built against an installed libchopin (pkg-config or find_package) by
 * scripts/test.sh: proves the installed headers and libraries are complete. */
#include <chopin.h>

#include <stdio.h>

static void hello(chopin_ctx *c) {
    chopin_text(c, 200, "installed");
}

int main(void) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    chopin_app *app = chopin_app_new_with(&cfg);
    chopin_get(app, "/", hello);
    chopin_test_response *r = chopin_test_request(app, "GET", "/", NULL, NULL, 0);
    int ok = r && r->status == 200 && r->body_len == 9 && memcmp(r->body, "installed", 9) == 0;
    printf("installed library: %s\n", ok ? "ok" : "FAILED");
    chopin_test_response_free(r);
    chopin_app_free(app);
    return ok ? 0 : 1;
}
