/* health.c - GET /health (readiness: the database and Redis answer) and
 * GET /health/live (liveness: the process serves).
 *
 * A load balancer takes an instance out while /health answers 503 and puts
 * it back when it answers 200; an orchestrator restarts it only when
 * /health/live stops answering, so an outage of a dependency never causes
 * a restart storm. */
#include "app_internal.h"
#include "../cache/cache_internal.h"

#include "chopin/db.h"

#include <hiredis/hiredis.h>
#include <stdio.h>

static bool database_ready(chopin_ctx *c) {
    chopin_rows *r = chopin_sql(c, "SELECT 1");
    return r && chopin_rows_int(r, 0, 0) == 1;
}

static bool redis_ready(chopin_ctx *c) {
    const char *argv[] = {"PING"};
    size_t lens[] = {4};
    redisReply *r = redis_command(c, 1, argv, lens);
    bool ok = r && r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "PONG");
    if (r) freeReplyObject(r);
    return ok;
}

static void health(chopin_ctx *c) {
    chopin_app *app = c->app;
    bool db_ok = database_ready(c);
    bool redis_on = app->redis != NULL;
    bool redis_ok = !redis_on || redis_ready(c);
    if (!db_ok || !redis_ok) {
        char why[96];
        snprintf(why, sizeof why, "not ready:%s%s", db_ok ? "" : " the database is unavailable",
                 redis_ok ? ""
                 : db_ok  ? " Redis is unavailable"
                          : ", Redis is unavailable");
        chopin_set_header(c, "Cache-Control", "no-store");
        chopin_error(c, 503, "UNAVAILABLE", why);
        return;
    }
    chopin_set_header(c, "Cache-Control", "no-store");
    chopin_json *j = chopin_json_data_begin(c, 200);
    chopin_json_object(j);
    chopin_json_key(j, "status");
    chopin_json_string(j, "ok");
    chopin_json_key(j, "checks");
    chopin_json_object(j);
    chopin_json_key(j, "database");
    chopin_json_string(j, "ok");
    chopin_json_key(j, "redis");
    chopin_json_string(j, redis_on ? "ok" : "not configured");
    chopin_json_end(j);
    chopin_json_end(j);
    chopin_json_finish(j);
}

static void live(chopin_ctx *c) {
    chopin_set_header(c, "Cache-Control", "no-store");
    chopin_json *j = chopin_json_data_begin(c, 200);
    chopin_json_object(j);
    chopin_json_key(j, "status");
    chopin_json_string(j, "ok");
    chopin_json_end(j);
    chopin_json_finish(j);
}

void health_mount(chopin_app *app) {
    app_add_route(app, NULL, CHOPIN_GET, "/health", health,
                  &(chopin_route_options){.hidden = true});
    app_add_route(app, NULL, CHOPIN_GET, "/health/live", live,
                  &(chopin_route_options){.hidden = true});
}
