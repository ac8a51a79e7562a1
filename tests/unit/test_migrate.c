/* test_migrate.c - migrations from a folder, on SQLite in memory or the
 * PostgreSQL server of CHOPIN_TEST_DATABASE_URL (same code for both). */
#include <criterion/criterion.h>

#include <chopin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static chopin_app *make_app(bool auto_migrate) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    cfg.port = 0;
    cfg.workers = 1;
    const char *url = getenv("CHOPIN_TEST_DATABASE_URL");
    snprintf(cfg.database_url, sizeof cfg.database_url, "%s",
             url && *url ? url : "sqlite::memory:");
    snprintf(cfg.database_migrations, sizeof cfg.database_migrations, "%s", dir);
    cfg.database_auto_migrate = auto_migrate;
    chopin_app *app = chopin_app_new_with(&cfg);
    cr_assert_not_null(app);
    return app;
}

static void write_file(const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static void remove_file(const char *name) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
}

static void exec(chopin_app *app, const char *sql) {
    chopin_ctx *c = chopin_ctx_new(app);
    cr_assert_eq(chopin_db_exec_script(c, sql), 0, "%s", sql);
    chopin_ctx_free(c);
}

/* True when the table exists (a query on it works). */
static bool table_exists(chopin_app *app, const char *table) {
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    chopin_ctx *c = chopin_ctx_new(app);
    bool ok = chopin_sql(c, sql) != NULL;
    chopin_ctx_free(c);
    return ok;
}

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/chopin-migrations.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    chopin_app *app = make_app(false);
    exec(app, "DROP TABLE IF EXISTS mig_posts; DROP TABLE IF EXISTS mig_users; "
              "DROP TABLE IF EXISTS mig_broken; DROP TABLE IF EXISTS mig_variant; "
              "DROP TABLE IF EXISTS chopin_migrations");
    chopin_app_free(app);
    write_file("0001_users.up.sql",
               "-- the users; a ';' in a comment\n"
               "CREATE TABLE mig_users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);\n"
               "INSERT INTO mig_users (id, email) VALUES (1, 'semi;colon@example.com');\n");
    write_file("0001_users.down.sql", "DROP TABLE mig_users;");
    write_file("0002_posts.up.sql",
               "CREATE TABLE mig_posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL "
               "REFERENCES mig_users (id), body TEXT);\n"
               "INSERT INTO mig_posts VALUES (1, 1, 'it''s /* not a comment */ -- nor this');");
    write_file("0002_posts.down.sql", "DROP TABLE mig_posts;");
    write_file("README.md", "not a migration");
}

static void teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(migrate, .init = setup, .fini = teardown);

Test(migrate, applies_in_order_once) {
    chopin_app *app = make_app(false);
    char err[512] = "";
    cr_assert_eq(chopin_migrate(app, dir, err, sizeof err), 2, "%s", err);
    cr_assert(table_exists(app, "mig_posts"));
    chopin_ctx *c = chopin_ctx_new(app);
    chopin_rows *r = chopin_sql(c, "SELECT body FROM mig_posts");
    cr_assert_str_eq(chopin_rows_text(r, 0, 0), "it's /* not a comment */ -- nor this");
    r = chopin_sql(c, "SELECT email FROM mig_users");
    cr_assert_str_eq(chopin_rows_text(r, 0, 0), "semi;colon@example.com");
    chopin_ctx_free(c);
    cr_assert_eq(chopin_migrate(app, dir, err, sizeof err), 0, "nothing pending: %s", err);

    write_file("0010_more.up.sql", "ALTER TABLE mig_posts ADD COLUMN title TEXT;");
    write_file("0010_more.down.sql", "ALTER TABLE mig_posts DROP COLUMN title;");
    cr_assert_eq(chopin_migrate(app, dir, err, sizeof err), 1, "%s", err);

    chopin_migration *st;
    size_t n;
    cr_assert_eq(chopin_migrate_status(app, dir, &st, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 3);
    cr_assert_eq(st[0].version, 1);
    cr_assert_str_eq(st[0].name, "users");
    cr_assert_eq(st[2].version, 10);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(st[i].state, CHOPIN_MIGRATION_APPLIED);
        cr_assert_eq(strlen(st[i].applied_at), 27, "%s", st[i].applied_at);
    }
    free(st);
    chopin_app_free(app);
}

Test(migrate, an_edited_migration_is_refused) {
    chopin_app *app = make_app(false);
    char err[512] = "";
    cr_assert_eq(chopin_migrate(app, dir, err, sizeof err), 2, "%s", err);
    write_file("0001_users.up.sql", "CREATE TABLE mig_users (id INTEGER PRIMARY KEY);");
    write_file("0003_new.up.sql", "CREATE TABLE mig_broken (id INTEGER);");
    cr_assert_eq(chopin_migrate(app, dir, err, sizeof err), -1);
    cr_assert(strstr(err, "0001_users was edited after it was applied"), "%s", err);
    cr_assert(!table_exists(app, "mig_broken"), "nothing runs while one is edited");
    chopin_migration *st;
    size_t n;
    cr_assert_eq(chopin_migrate_status(app, dir, &st, &n, err, sizeof err), 0);
    cr_assert_eq(st[0].state, CHOPIN_MIGRATION_CHANGED);
    cr_assert_eq(st[2].state, CHOPIN_MIGRATION_PENDING);
    free(st);
    remove_file("0002_posts.up.sql");
    remove_file("0002_posts.down.sql");
    cr_assert_eq(chopin_migrate_status(app, dir, &st, &n, err, sizeof err), 0);
    cr_assert_eq(st[1].state, CHOPIN_MIGRATION_MISSING);
    cr_assert_str_eq(st[1].name, "posts", "the name comes from the table");
    free(st);
    chopin_app_free(app);
}

Test(migrate, a_failing_migration_leaves_nothing) {
    write_file("0003_broken.up.sql",
               "CREATE TABLE mig_broken (id INTEGER);\nINSERT INTO mig_broken VALUES (1);\n"
               "INSERT INTO no_such_table VALUES (1);");
    chopin_app *app = make_app(false);
    char err[512] = "";
    cr_assert_eq(chopin_migrate(app, dir, err, sizeof err), -1);
    cr_assert(strstr(err, "migration 0003_broken failed, nothing of it was kept"), "%s", err);
    cr_assert(table_exists(app, "mig_posts"), "the ones before it stay applied");
    cr_assert(!table_exists(app, "mig_broken"), "its first statements were rolled back");
    chopin_migration *st;
    size_t n;
    cr_assert_eq(chopin_migrate_status(app, dir, &st, &n, err, sizeof err), 0);
    cr_assert_eq(st[2].state, CHOPIN_MIGRATION_PENDING);
    free(st);
    chopin_app_free(app);
}

Test(migrate, rollback_newest_first) {
    chopin_app *app = make_app(false);
    char err[512] = "";
    cr_assert_eq(chopin_migrate(app, dir, err, sizeof err), 2, "%s", err);
    cr_assert_eq(chopin_migrate_rollback(app, dir, 1, err, sizeof err), 1, "%s", err);
    cr_assert(!table_exists(app, "mig_posts"));
    cr_assert(table_exists(app, "mig_users"));
    cr_assert_eq(chopin_migrate(app, dir, err, sizeof err), 1, "and again: %s", err);
    cr_assert_eq(chopin_migrate_rollback(app, dir, 5, err, sizeof err), 2, "%s", err);
    cr_assert(!table_exists(app, "mig_users"));
    cr_assert_eq(chopin_migrate_rollback(app, dir, 1, err, sizeof err), 0, "none left");
    cr_assert_eq(chopin_migrate(app, dir, err, sizeof err), 2, "%s", err);
    remove_file("0002_posts.down.sql");
    cr_assert_eq(chopin_migrate_rollback(app, dir, 1, err, sizeof err), -1);
    cr_assert(strstr(err, "no readable down file"), "%s", err);
    cr_assert(table_exists(app, "mig_posts"));
    chopin_app_free(app);
}

Test(migrate, bad_folders_are_explained) {
    chopin_app *app = make_app(false);
    char err[512] = "";
    write_file("2_posts.up.sql", "SELECT 1;");
    cr_assert_eq(chopin_migrate(app, dir, err, sizeof err), -1);
    cr_assert(strstr(err, "two migrations have version 2"), "%s", err);
    remove_file("2_posts.up.sql");
    write_file("0005_orphan.down.sql", "SELECT 1;");
    cr_assert_eq(chopin_migrate(app, dir, err, sizeof err), -1);
    cr_assert(strstr(err, "has a down file but no up file"), "%s", err);
    cr_assert_eq(chopin_migrate(app, "/nonexistent/migrations", err, sizeof err), -1);
    cr_assert(strstr(err, "cannot read the migrations folder"), "%s", err);
    chopin_app_free(app);
}

Test(migrate, the_app_applies_them_at_start_when_asked) {
    chopin_app *app = make_app(true);
    cr_assert_eq(chopin_app_start(app), 0);
    chopin_app_stop(app);
    chopin_app_wait(app);
    cr_assert(table_exists(app, "mig_posts"));
    chopin_app_free(app);
    write_file("0003_broken.up.sql", "CREATE TABLE oops (;");
    app = make_app(true);
    cr_assert_neq(chopin_app_start(app), 0, "a failing migration stops start-up");
    chopin_app_free(app);
}

/* A version may have a variant per database: that one runs on its
 * database, the plain file elsewhere, and the other database's is ignored. */
Test(migrate, a_database_variant_wins_over_the_plain_file) {
    chopin_app *app = make_app(false);
    bool pg = chopin_db_dialect_of(chopin_app_db(app)) == CHOPIN_POSTGRES;
    write_file("0003_variant.up.sql", "CREATE TABLE mig_variant (plain INTEGER);");
    write_file(pg ? "0003_variant.up.postgres.sql" : "0003_variant.up.sqlite.sql",
               "CREATE TABLE mig_variant (own INTEGER);");
    write_file(pg ? "0003_variant.up.sqlite.sql" : "0003_variant.up.postgres.sql",
               "this is not SQL at all;");
    write_file("0003_variant.down.sql", "DROP TABLE mig_variant;");
    char err[256];
    cr_assert_eq(chopin_migrate(app, dir, err, sizeof err), 3, "%s", err);
    chopin_ctx *c = chopin_ctx_new(app);
    cr_assert_not_null(chopin_sql(c, "SELECT own FROM mig_variant"), "the variant ran");
    chopin_ctx_free(c);
    chopin_migration *list;
    size_t count;
    cr_assert_eq(chopin_migrate_status(app, dir, &list, &count, err, sizeof err), 0, "%s", err);
    cr_assert_eq(count, 3);
    cr_assert_str_eq(list[2].name, "variant", "one migration, whatever its files");
    free(list);
    cr_assert_eq(chopin_migrate_rollback(app, dir, 1, err, sizeof err), 1, "%s", err);
    cr_assert(!table_exists(app, "mig_variant"), "the plain down file ran");
    chopin_app_free(app);
}
