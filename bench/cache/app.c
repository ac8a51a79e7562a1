/* bench/cache/app.c - the same GET route cached and uncached, for
 * bench/cache.sh. GET /rows answers 50 rows of a SQLite table as JSON
 * through the ORM (a typical list endpoint); GET /rows-cached is the same
 * handler with .cache_seconds, served from the app's cache (memory, or Redis
 * with REDIS_URL) after the first request. */
#include <chopin.h>

#include <stdio.h>
#include <stdlib.h>

typedef struct {
    int64_t id;
    const char *title;
    bool done;
    int32_t priority;
} row;
#define ROW_FIELDS(F)                                                                              \
    F(row, id, CHOPIN_INT64, CHOPIN_PK), F(row, title, CHOPIN_STRING, .required = true),           \
        F(row, done, CHOPIN_BOOL), F(row, priority, CHOPIN_INT32)
CHOPIN_MODEL(row, ROW_FIELDS, .table = "rows");

static void rows(chopin_ctx *c) {
    chopin_page page = {.limit = 50, .offset = 0};
    chopin_list list;
    if (chopin_orm_page(c, &row_model, NULL, 0, "id", &page, &list)) return;
    chopin_json_page(c, 200, &row_model, list.items, list.count, &page, list.total);
}

static int fill(chopin_app *app) {
    chopin_ctx *c = chopin_ctx_new(app);
    char *sql = chopin_orm_create_sql(&row_model, chopin_db_dialect_of(chopin_app_db(app)));
    int rc = c && sql ? chopin_db_exec_script(c, sql) : -1;
    for (int i = 1; i <= 200 && !rc; i++) {
        char title[64];
        snprintf(title, sizeof title, "Row number %d, with a title of some length", i);
        row r = {.title = title, .done = i % 3 == 0, .priority = i % 5 + 1};
        rc = chopin_orm_insert(c, &row_model, &r);
    }
    free(sql);
    chopin_ctx_free(c);
    return rc;
}

int main(void) {
    chopin_app *app = chopin_app_new();
    if (!app) return 2;
    chopin_get(app, "/rows", rows);
    chopin_get_with(app, "/rows-cached", rows, .cache_seconds = 600);
    if (fill(app)) {
        fprintf(stderr, "cache-bench: cannot make the table\n");
        chopin_app_free(app);
        return 1;
    }
    int rc = chopin_app_run(app);
    chopin_app_free(app);
    return rc;
}
