/* test_orm.c - the ORM over real databases: SQLite in memory, or the
 * PostgreSQL server of CHOPIN_TEST_DATABASE_URL (scripts/test.sh runs the
 * same code on both). Tables come from the models' own CREATE TABLE. */
#include <criterion/criterion.h>

#include <chopin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- Models ------------------------------------------------------------------------ */

typedef struct {
    int64_t id;
    const char *name;
    const char *email;
    int64_t created_at;
} author;
#define AUTHOR_FIELDS(F)                                                                           \
    F(author, id, CHOPIN_INT64, CHOPIN_PK), F(author, name, CHOPIN_STRING, .required = true),      \
        F(author, email, CHOPIN_STRING, .unique = true),                                           \
        F(author, created_at, CHOPIN_TIMESTAMP, CHOPIN_CREATED_AT)
CHOPIN_MODEL(author, AUTHOR_FIELDS, .table = "orm_authors");

typedef struct {
    const char *city;
    int32_t floor;
} place;
#define PLACE_FIELDS(F) F(place, city, CHOPIN_STRING), F(place, floor, CHOPIN_INT32)
CHOPIN_MODEL(place, PLACE_FIELDS);

typedef struct {
    int64_t id;
    int64_t author_id;
    const char *title;
    bool done;
    int32_t priority;
    double score;
    const char *status;
    const char *note;
    int64_t due;
    bool has_due;
    place where;
    chopin_array tags;
    int64_t created_at;
    int64_t updated_at;
} task_row;
#define TASK_FIELDS(F)                                                                             \
    F(task_row, id, CHOPIN_INT64, CHOPIN_PK),                                                      \
        F(task_row, author_id, CHOPIN_INT64, .references = &author_model),                         \
        F(task_row, title, CHOPIN_STRING, .required = true, .indexed = true),                      \
        F(task_row, done, CHOPIN_BOOL), F(task_row, priority, CHOPIN_INT32),                       \
        F(task_row, score, CHOPIN_DOUBLE),                                                         \
        F(task_row, status, CHOPIN_ENUM, CHOPIN_ONE_OF("open", "closed", "it's odd")),             \
        F(task_row, note, CHOPIN_TEXT, .nullable = true),                                          \
        F(task_row, due, CHOPIN_TIMESTAMP, .nullable = true, CHOPIN_PRESENCE(task_row, has_due)),  \
        F(task_row, where, CHOPIN_OBJECT, .model = &place_model),                                  \
        F(task_row, tags, CHOPIN_ARRAY, .item = CHOPIN_STRING),                                    \
        F(task_row, created_at, CHOPIN_TIMESTAMP, CHOPIN_CREATED_AT),                              \
        F(task_row, updated_at, CHOPIN_TIMESTAMP, CHOPIN_UPDATED_AT)
CHOPIN_MODEL(task_row, TASK_FIELDS, .table = "orm_tasks");

typedef struct {
    const char *id;
    const char *label;
} token;
#define TOKEN_FIELDS(F)                                                                            \
    F(token, id, CHOPIN_UUID, CHOPIN_PK), F(token, label, CHOPIN_STRING, .required = true)
CHOPIN_MODEL(token, TOKEN_FIELDS, .table = "orm_tokens");

/* --- Setup ------------------------------------------------------------------------------ */

static chopin_app *make_app(void) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    const char *url = getenv("CHOPIN_TEST_DATABASE_URL");
    snprintf(cfg.database_url, sizeof cfg.database_url, "%s",
             url && *url ? url : "sqlite::memory:");
    chopin_app *app = chopin_app_new_with(&cfg);
    cr_assert_not_null(app);
    return app;
}

static const char *err_of(chopin_ctx *c) {
    const chopin_db_error *e = chopin_db_last_error(c);
    return e ? e->detail : "(no error)";
}

static void create_tables(chopin_app *app) {
    chopin_ctx *c = chopin_ctx_new(app);
    chopin_db_dialect d = chopin_db_dialect_of(chopin_app_db(app));
    cr_assert_eq(chopin_db_exec_script(
                     c, "DROP TABLE IF EXISTS orm_tasks; DROP TABLE IF EXISTS orm_authors; "
                        "DROP TABLE IF EXISTS orm_tokens;"),
                 0, "%s", err_of(c));
    const chopin_model *models[] = {&author_model, &task_row_model, &token_model};
    for (size_t i = 0; i < 3; i++) {
        char *sql = chopin_orm_create_sql(models[i], d);
        cr_assert_not_null(sql);
        cr_assert_eq(chopin_db_exec_script(c, sql), 0, "%s\n%s", sql, err_of(c));
        free(sql);
    }
    chopin_ctx_free(c);
}

static chopin_app *fresh(void) {
    chopin_app *app = make_app();
    create_tables(app);
    return app;
}

static int64_t add_author(chopin_ctx *c, const char *name, const char *email) {
    author a = {.name = name, .email = email};
    cr_assert_eq(chopin_orm_insert(c, &author_model, &a), 0, "%s", err_of(c));
    return a.id;
}

/* --- CRUD ------------------------------------------------------------------------------------ */

Test(orm, create_sql_has_the_constraints) {
    char *pg = chopin_orm_create_sql(&task_row_model, CHOPIN_POSTGRES);
    char *lite = chopin_orm_create_sql(&task_row_model, CHOPIN_SQLITE);
    cr_assert(strstr(pg, "\"id\" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"), "%s", pg);
    cr_assert(strstr(lite, "\"id\" INTEGER PRIMARY KEY AUTOINCREMENT"), "%s", lite);
    cr_assert(strstr(pg, "\"author_id\" BIGINT NOT NULL REFERENCES \"orm_authors\" (\"id\")"), "%s",
              pg);
    cr_assert(strstr(pg, "\"title\" TEXT NOT NULL"), "%s", pg);
    cr_assert(strstr(pg, "CHECK (\"status\" IN ('open', 'closed', 'it''s odd'))"), "%s", pg);
    cr_assert(strstr(pg, "\"due\" TIMESTAMPTZ,"), "nullable: no NOT NULL: %s", pg);
    cr_assert(strstr(pg, "\"where\" JSONB"), "%s", pg);
    cr_assert(strstr(lite, "\"where\" TEXT"), "%s", lite);
    cr_assert(strstr(pg, "CREATE INDEX IF NOT EXISTS \"orm_tasks_title_idx\""), "%s", pg);
    cr_assert(strstr(pg, "CREATE INDEX IF NOT EXISTS \"orm_tasks_author_id_idx\""), "%s", pg);
    free(pg);
    free(lite);
    char *a = chopin_orm_create_sql(&author_model, CHOPIN_POSTGRES);
    cr_assert(strstr(a, "\"email\" TEXT UNIQUE"), "%s", a);
    free(a);
}

Test(orm, insert_find_update_delete) {
    chopin_app *app = fresh();
    chopin_ctx *c = chopin_ctx_new(app);
    int64_t ada = add_author(c, "Ada", "ada@example.com");
    cr_assert_gt(ada, 0);
    const char *tags[] = {"x", "y"};
    task_row t = {.author_id = ada,
                  .title = "write",
                  .priority = 3,
                  .score = 1.5,
                  .status = "open",
                  .note = "it's \"quoted\"",
                  .due = 1795770272500000LL,
                  .has_due = true,
                  .where = {"Paris", 4},
                  .tags = {tags, 2}};
    cr_assert_eq(chopin_orm_insert(c, &task_row_model, &t), 0, "%s", err_of(c));
    cr_assert_gt(t.id, 0);
    cr_assert_gt(t.created_at, 1700000000000000LL, "created_at set by the ORM");
    cr_assert_eq(t.updated_at, t.created_at);

    task_row *got = chopin_orm_find(c, &task_row_model, chopin_arg_int(t.id));
    cr_assert_not_null(got, "%s", err_of(c));
    cr_assert_str_eq(got->title, "write");
    cr_assert_eq(got->priority, 3);
    cr_assert_float_eq(got->score, 1.5, 1e-12);
    cr_assert_str_eq(got->status, "open");
    cr_assert_str_eq(got->note, "it's \"quoted\"");
    cr_assert(got->has_due);
    cr_assert_eq(got->due, 1795770272500000LL);
    cr_assert_str_eq(got->where.city, "Paris");
    cr_assert_eq(got->where.floor, 4);
    cr_assert_eq(got->tags.count, 2);
    cr_assert_str_eq(((const char **)got->tags.items)[1], "y");
    cr_assert_eq(got->created_at, t.created_at, "timestamps round-trip to the microsecond");

    /* whole update; the creation time stays, the update time moves */
    got->done = true;
    got->title = "written";
    got->has_due = false;
    got->created_at = 0; /* read-only: not written */
    cr_assert_eq(chopin_orm_update(c, &task_row_model, got), 0, "%s", err_of(c));
    cr_assert_eq(got->created_at, t.created_at, "read back from the row");
    task_row *again = chopin_orm_find(c, &task_row_model, chopin_arg_int(t.id));
    cr_assert(again->done);
    cr_assert_str_eq(again->title, "written");
    cr_assert(!again->has_due, "NULL now");
    cr_assert_geq(again->updated_at, t.updated_at);

    /* partial update: only the named field */
    again->priority = 5;
    again->title = "not this";
    const char *const only[] = {"priority", NULL};
    cr_assert_eq(chopin_orm_update_fields(c, &task_row_model, again, only), 0, "%s", err_of(c));
    task_row *third = chopin_orm_find(c, &task_row_model, chopin_arg_text("1"));
    cr_assert_not_null(third, "a key given as text (from a path) works too: %s", err_of(c));
    cr_assert_eq(third->priority, 5);
    cr_assert_str_eq(third->title, "written");

    cr_assert_eq(chopin_orm_delete(c, &task_row_model, chopin_arg_int(t.id)), 0);
    cr_assert_null(chopin_orm_find(c, &task_row_model, chopin_arg_int(t.id)));
    cr_assert_eq(chopin_db_last_error(c)->status, CHOPIN_DB_NOT_FOUND);
    cr_assert_eq(chopin_db_last_error(c)->http_status, 404);
    cr_assert_neq(chopin_orm_delete(c, &task_row_model, chopin_arg_int(t.id)), 0);
    cr_assert_eq(chopin_db_last_error(c)->status, CHOPIN_DB_NOT_FOUND);
    task_row ghost = {.id = 999999, .title = "x", .author_id = ada};
    cr_assert_neq(chopin_orm_update(c, &task_row_model, &ghost), 0);
    cr_assert_eq(chopin_db_last_error(c)->status, CHOPIN_DB_NOT_FOUND);
    chopin_ctx_free(c);
    chopin_app_free(app);
}

Test(orm, constraints_map_to_answers) {
    chopin_app *app = fresh();
    chopin_ctx *c = chopin_ctx_new(app);
    add_author(c, "Ada", "ada@example.com");
    author dup = {.name = "Other", .email = "ada@example.com"};
    cr_assert_neq(chopin_orm_insert(c, &author_model, &dup), 0);
    cr_assert_eq(chopin_db_last_error(c)->status, CHOPIN_DB_CONFLICT);
    cr_assert_str_eq(chopin_db_last_error(c)->column, "email");
    task_row orphan = {.author_id = 424242, .title = "x", .status = "open"};
    cr_assert_neq(chopin_orm_insert(c, &task_row_model, &orphan), 0);
    cr_assert_eq(chopin_db_last_error(c)->status, CHOPIN_DB_INVALID, "foreign key");
    task_row bad = {.author_id = 1, .title = "x", .status = "weird"};
    cr_assert_neq(chopin_orm_insert(c, &task_row_model, &bad), 0);
    cr_assert_eq(chopin_db_last_error(c)->status, CHOPIN_DB_INVALID, "CHECK from one_of");
    author nameless = {.email = "n@example.com"};
    cr_assert_neq(chopin_orm_insert(c, &author_model, &nameless), 0);
    cr_assert_eq(chopin_db_last_error(c)->status, CHOPIN_DB_INVALID, "NOT NULL");
    chopin_ctx_free(c);
    chopin_app_free(app);
}

Test(orm, upsert_insert_many_and_uuid_keys) {
    chopin_app *app = fresh();
    chopin_ctx *c = chopin_ctx_new(app);
    author a = {.name = "Ada", .email = "ada@example.com"};
    cr_assert_eq(chopin_orm_upsert(c, &author_model, &a, "email"), 0, "%s", err_of(c));
    int64_t first_id = a.id, created = a.created_at;
    author b = {.name = "Ada Lovelace", .email = "ada@example.com"};
    cr_assert_eq(chopin_orm_upsert(c, &author_model, &b, "email"), 0, "%s", err_of(c));
    cr_assert_eq(b.id, first_id, "the same row");
    cr_assert_eq(b.created_at, created, "created_at kept by the update");
    author *got = chopin_orm_find(c, &author_model, chopin_arg_int(first_id));
    cr_assert_str_eq(got->name, "Ada Lovelace");
    cr_assert_eq(chopin_orm_count(c, &author_model, NULL, 0), 1);

    enum { N = 40 };
    author many[N];
    char names[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "a%02d", i);
        many[i] = (author){.name = names[i]};
    }
    cr_assert_eq(chopin_orm_insert_many(c, &author_model, many, N), 0, "%s", err_of(c));
    for (int i = 1; i < N; i++) cr_assert_eq(many[i].id, many[i - 1].id + 1, "ids in order");
    cr_assert_eq(chopin_orm_count(c, &author_model, NULL, 0), N + 1);
    /* all or nothing: a batch with one conflict inserts none */
    author two[2] = {{.name = "z1", .email = "z@example.com"},
                     {.name = "z2", .email = "z@example.com"}};
    cr_assert_neq(chopin_orm_insert_many(c, &author_model, two, 2), 0);
    cr_assert_eq(chopin_orm_count(c, &author_model, NULL, 0), N + 1);
    chopin_ctx_free(c);

    c = chopin_ctx_new(app);
    /* upsert by a generated key: 0 makes a new row, a set key updates it */
    author fresh_one = {.name = "new"};
    cr_assert_eq(chopin_orm_upsert(c, &author_model, &fresh_one, NULL), 0, "%s", err_of(c));
    cr_assert_gt(fresh_one.id, 0);
    fresh_one.name = "renamed";
    int64_t before = chopin_orm_count(c, &author_model, NULL, 0);
    cr_assert_eq(chopin_orm_upsert(c, &author_model, &fresh_one, NULL), 0, "%s", err_of(c));
    cr_assert_eq(chopin_orm_count(c, &author_model, NULL, 0), before);
    cr_assert_str_eq(
        ((author *)chopin_orm_find(c, &author_model, chopin_arg_int(fresh_one.id)))->name,
        "renamed");

    token t = {.label = "api"};
    cr_assert_eq(chopin_orm_insert(c, &token_model, &t), 0, "%s", err_of(c));
    cr_assert_not_null(t.id);
    cr_assert_eq(strlen(t.id), 36);
    cr_assert_eq(t.id[14], '4', "version 4: %s", t.id);
    token *tk = chopin_orm_find(c, &token_model, chopin_arg_text(t.id));
    cr_assert_not_null(tk, "%s", err_of(c));
    cr_assert_str_eq(tk->label, "api");
    chopin_ctx_free(c);
    chopin_app_free(app);
}

/* --- Lists ----------------------------------------------------------------------------------- */

static void seed_tasks(chopin_ctx *c, int64_t author_id, int n) {
    for (int i = 0; i < n; i++) {
        char title[32];
        snprintf(title, sizeof title, "%s %02d", i % 2 ? "Odd" : "even", i);
        task_row t = {.author_id = author_id,
                      .title = chopin_strdup(c, title, strlen(title)),
                      .done = i % 3 == 0,
                      .priority = i % 5,
                      .score = i * 0.5,
                      .status = i % 4 ? "open" : "closed",
                      .note = i % 2 ? NULL : "n",
                      .due = 1700000000000000LL + i * 1000000LL,
                      .has_due = i < 10};
        cr_assert_eq(chopin_orm_insert(c, &task_row_model, &t), 0, "%s", err_of(c));
    }
}

static size_t count_of(chopin_ctx *c, const chopin_filter *f, size_t n) {
    chopin_list l;
    chopin_list_opts o = {.filters = f, .nfilters = n};
    cr_assert_eq(chopin_orm_list(c, &task_row_model, &o, &l), 0, "%s", err_of(c));
    cr_assert_eq((int64_t)l.count, chopin_orm_count(c, &task_row_model, f, n));
    return l.count;
}

Test(orm, filters_ordering_and_pages) {
    chopin_app *app = fresh();
    chopin_ctx *c = chopin_ctx_new(app);
    int64_t a = add_author(c, "Ada", NULL);
    seed_tasks(c, a, 20);
    chopin_arg in_vals[] = {chopin_arg_int(1), chopin_arg_int(3), chopin_arg_text("4")};
    struct {
        chopin_filter f;
        size_t want;
    } rows[] = {
        {chopin_where("done", CHOPIN_EQ, chopin_arg_bool(true)), 7},
        {chopin_where("done", CHOPIN_EQ, chopin_arg_text("false")), 13},
        {chopin_where("priority", CHOPIN_NE, chopin_arg_int(0)), 16},
        {chopin_where("priority", CHOPIN_LT, chopin_arg_int(2)), 8},
        {chopin_where("priority", CHOPIN_LE, chopin_arg_text("2")), 12},
        {chopin_where("score", CHOPIN_GT, chopin_arg_double(7.5)), 4},
        {chopin_where("score", CHOPIN_GE, chopin_arg_double(7.5)), 5},
        {chopin_where_in("priority", in_vals, 3), 12},
        {chopin_where_in("priority", in_vals, 0), 0},
        {chopin_where("title", CHOPIN_LIKE, chopin_arg_text("Odd%")), 10},
        {chopin_where("title", CHOPIN_LIKE, chopin_arg_text("odd%")), 0},
        {chopin_where("title", CHOPIN_ILIKE, chopin_arg_text("odd%")), 10},
        {chopin_where("note", CHOPIN_IS_NULL, chopin_arg_null()), 10},
        {chopin_where("note", CHOPIN_NOT_NULL, chopin_arg_null()), 10},
        {chopin_where("due", CHOPIN_IS_NULL, chopin_arg_null()), 10},
        {chopin_where("due", CHOPIN_GE, chopin_arg_text("2023-11-14T22:13:25Z")), 5},
        {chopin_where("due", CHOPIN_LT, chopin_arg_int(1700000000000000LL + 2000000LL)), 2},
        {chopin_where("status", CHOPIN_EQ, chopin_arg_text("closed")), 5},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        cr_expect_eq(count_of(c, &rows[i].f, 1), rows[i].want, "row %zu (%s)", i, rows[i].f.field);
    chopin_filter both[] = {chopin_where("done", CHOPIN_EQ, chopin_arg_bool(false)),
                            chopin_where("status", CHOPIN_EQ, chopin_arg_text("open"))};
    cr_assert_eq(count_of(c, both, 2), 10);

    /* ordering: priority descending, then score ascending, id last */
    chopin_list l;
    chopin_list_opts o = {.order_by = "-priority, score", .limit = 3};
    cr_assert_eq(chopin_orm_list(c, &task_row_model, &o, &l), 0, "%s", err_of(c));
    task_row *t = l.items;
    cr_assert_eq(l.count, 3);
    cr_assert_eq(t[0].priority, 4);
    cr_assert_float_eq(t[0].score, 2.0, 1e-9);
    cr_assert_float_eq(t[1].score, 4.5, 1e-9);
    cr_assert_eq(l.total, -1, "no total unless asked");

    /* NULLs sort as on PostgreSQL on both: last going up, first going down */
    chopin_list_opts by_due = {.order_by = "due", .limit = 20};
    cr_assert_eq(chopin_orm_list(c, &task_row_model, &by_due, &l), 0, "%s", err_of(c));
    cr_assert(((task_row *)l.items)[0].has_due);
    cr_assert(!((task_row *)l.items)[19].has_due);
    by_due.order_by = "-due";
    cr_assert_eq(chopin_orm_list(c, &task_row_model, &by_due, &l), 0, "%s", err_of(c));
    cr_assert(!((task_row *)l.items)[0].has_due);
    cr_assert(((task_row *)l.items)[19].has_due);
    /* a backslash escapes % and _ in LIKE on both */
    task_row lit = {.author_id = a, .title = "100%_sure", .status = "open"};
    cr_assert_eq(chopin_orm_insert(c, &task_row_model, &lit), 0, "%s", err_of(c));
    chopin_filter esc = chopin_where("title", CHOPIN_LIKE, chopin_arg_text("100\\%\\_%"));
    cr_assert_eq(count_of(c, &esc, 1), 1);
    chopin_filter esc_none = chopin_where("title", CHOPIN_LIKE, chopin_arg_text("100\\_%"));
    cr_assert_eq(count_of(c, &esc_none, 1), 0);
    cr_assert_eq(chopin_orm_delete(c, &task_row_model, chopin_arg_int(lit.id)), 0);

    /* pages cover every row once */
    int seen[21] = {0};
    for (int64_t off = 0; off < 20; off += 6) {
        chopin_page p = {.limit = 6, .offset = off};
        cr_assert_eq(chopin_orm_page(c, &task_row_model, NULL, 0, "done", &p, &l), 0);
        cr_assert_eq(l.total, 20);
        for (size_t i = 0; i < l.count; i++) seen[((task_row *)l.items)[i].id]++;
    }
    for (int i = 1; i <= 20; i++) cr_assert_eq(seen[i], 1, "row %d seen %d times", i, seen[i]);
    chopin_page past = {.limit = 5, .offset = 100};
    cr_assert_eq(chopin_orm_page(c, &task_row_model, NULL, 0, NULL, &past, &l), 0);
    cr_assert_eq(l.count, 0);
    cr_assert_eq(l.total, 20);
    chopin_list_opts off_only = {.offset = 18};
    cr_assert_eq(chopin_orm_list(c, &task_row_model, &off_only, &l), 0, "%s", err_of(c));
    cr_assert_eq(l.count, 2);
    chopin_ctx_free(c);
    chopin_app_free(app);
}

Test(orm, children_in_one_query) {
    chopin_app *app = fresh();
    chopin_ctx *c = chopin_ctx_new(app);
    enum { AUTHORS = 300 };
    author *as = calloc(AUTHORS, sizeof *as);
    for (int i = 0; i < AUTHORS; i++) as[i].name = "x";
    cr_assert_eq(chopin_orm_insert_many(c, &author_model, as, AUTHORS), 0, "%s", err_of(c));
    seed_tasks(c, as[0].id, 3);
    seed_tasks(c, as[299].id, 2);
    seed_tasks(c, as[150].id, 1);
    chopin_list kids;
    cr_assert_eq(chopin_orm_children(c, &task_row_model, "author_id", &author_model, as, AUTHORS,
                                     "-title", &kids),
                 0, "%s", err_of(c));
    cr_assert_eq(kids.count, 6);
    task_row *k = kids.items;
    cr_assert_eq(k[0].author_id, as[0].id);
    cr_assert_str_eq(k[0].title, "even 02", "then by -title");
    cr_assert_eq(k[3].author_id, as[150].id);
    cr_assert_eq(k[5].author_id, as[299].id);
    /* parents in any order, some twice, past one chunk of 256 keys: still
     * ordered by key overall, each child once */
    author *mixed = calloc(AUTHORS + 2, sizeof *mixed);
    for (int i = 0; i < AUTHORS; i++) mixed[i] = as[AUTHORS - 1 - i];
    mixed[AUTHORS] = as[0];
    mixed[AUTHORS + 1] = as[150];
    cr_assert_eq(chopin_orm_children(c, &task_row_model, "author_id", &author_model, mixed,
                                     AUTHORS + 2, NULL, &kids),
                 0, "%s", err_of(c));
    cr_assert_eq(kids.count, 6);
    for (size_t i = 1; i < kids.count; i++)
        cr_assert_leq(((task_row *)kids.items)[i - 1].author_id,
                      ((task_row *)kids.items)[i].author_id);
    free(mixed);
    cr_assert_eq(chopin_orm_children(c, &task_row_model, "nope", &author_model, as, 1, NULL, &kids),
                 -1);
    free(as);
    chopin_ctx_free(c);
    chopin_app_free(app);
}

/* --- Hostile input through every entry point -----------------------------------------------------
 */

static const char *const hostile[] = {
    "'; DROP TABLE orm_tasks; --",
    "\" OR \"1\"=\"1",
    "title; DELETE FROM orm_tasks",
    "title\" DESC, (SELECT 1) --",
    "1) OR (1=1",
    "$1",
    "%' OR '%'='",
    "\\'",
    "title--",
    "ti\"tle",
    "(SELECT name FROM orm_authors)",
};

static void list_route(chopin_ctx *c) {
    chopin_str sort = chopin_query(c, "sort"), field = chopin_query(c, "field"),
               value = chopin_query(c, "value");
    chopin_filter f =
        chopin_where(field.ptr ? chopin_strdup(c, field.ptr, field.len) : "title", CHOPIN_EQ,
                     chopin_arg_textn(value.ptr ? value.ptr : "", value.len));
    chopin_list_opts o = {.filters = &f,
                          .nfilters = 1,
                          .order_by = sort.ptr ? chopin_strdup(c, sort.ptr, sort.len) : NULL};
    chopin_list l;
    if (chopin_orm_list(c, &task_row_model, &o, &l)) return;
    chopin_json_models(c, 200, &task_row_model, l.items, l.count);
}

static char *encode(const char *s) {
    static char buf[512];
    size_t n = 0;
    for (; *s && n + 4 < sizeof buf; s++)
        n += (size_t)snprintf(buf + n, 4, "%%%02X", (unsigned char)*s);
    buf[n] = 0;
    return buf;
}

Test(orm, hostile_names_and_values_change_nothing) {
    chopin_app *app = fresh();
    chopin_ctx *c = chopin_ctx_new(app);
    int64_t a = add_author(c, "Ada", NULL);
    seed_tasks(c, a, 4);
    chopin_ctx_free(c);
    chopin_get(app, "/tasks", list_route);
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        char target[1024];
        /* as an ordering: not a field, 422 */
        snprintf(target, sizeof target, "/tasks?value=x&sort=%s", encode(hostile[i]));
        chopin_test_response *r = chopin_test_request(app, "GET", target, NULL, NULL, 0);
        cr_assert_eq(r->status, 422, "sort %s: %d %s", hostile[i], r->status, r->body);
        cr_assert(strstr(r->body, "\"code\":\"unknown\""), "%s", r->body);
        chopin_test_response_free(r);
        /* as a filter's field: 422 */
        snprintf(target, sizeof target, "/tasks?value=x&field=%s", encode(hostile[i]));
        r = chopin_test_request(app, "GET", target, NULL, NULL, 0);
        cr_assert_eq(r->status, 422, "field %s: %d %s", hostile[i], r->status, r->body);
        chopin_test_response_free(r);
        /* as a value: just a value that matches nothing */
        snprintf(target, sizeof target, "/tasks?value=%s", encode(hostile[i]));
        r = chopin_test_request(app, "GET", target, NULL, NULL, 0);
        cr_assert_eq(r->status, 200, "value %s: %d %s", hostile[i], r->status, r->body);
        cr_assert_str_eq(r->body, "{\"success\":true,\"data\":[]}");
        chopin_test_response_free(r);
    }
    /* and as stored values: written and read back as they are */
    c = chopin_ctx_new(app);
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        task_row t = {.author_id = a, .title = hostile[i], .status = "open", .note = hostile[i]};
        cr_assert_eq(chopin_orm_insert(c, &task_row_model, &t), 0, "%s", err_of(c));
        chopin_filter f = chopin_where("title", CHOPIN_EQ, chopin_arg_text(hostile[i]));
        cr_assert_eq(count_of(c, &f, 1), 1, "%s", hostile[i]);
        chopin_filter like = chopin_where("note", CHOPIN_LIKE, chopin_arg_text(hostile[i]));
        chopin_list l;
        chopin_list_opts o = {.filters = &like, .nfilters = 1};
        cr_assert_eq(chopin_orm_list(c, &task_row_model, &o, &l), 0);
        task_row *back = chopin_orm_find(c, &task_row_model, chopin_arg_int(t.id));
        cr_assert_str_eq(back->note, hostile[i]);
        cr_assert_eq(chopin_orm_upsert(c, &task_row_model, back, NULL), 0, "%s", err_of(c));
    }
    cr_assert_eq(chopin_orm_count(c, &task_row_model, NULL, 0),
                 4 + (int64_t)(sizeof hostile / sizeof hostile[0]), "the table is intact");
    chopin_ctx_free(c);
    chopin_app_free(app);
}

/* A filter value of the wrong type for its field is the client's mistake. */
Test(orm, wrong_typed_filter_values_are_422) {
    chopin_app *app = fresh();
    chopin_get(app, "/tasks", list_route);
    chopin_test_response *r =
        chopin_test_request(app, "GET", "/tasks?field=priority&value=high", NULL, NULL, 0);
    cr_assert_eq(r->status, 422, "%s", r->body);
    cr_assert(strstr(r->body, "{\"field\":\"priority\",\"code\":\"type\""), "%s", r->body);
    chopin_test_response_free(r);
    r = chopin_test_request(app, "GET", "/tasks?field=due&value=yesterday", NULL, NULL, 0);
    cr_assert_eq(r->status, 422, "%s", r->body);
    chopin_test_response_free(r);
    chopin_app_free(app);
}
