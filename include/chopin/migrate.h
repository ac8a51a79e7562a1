/* chopin/migrate.h - versioned SQL migrations.
 *
 * A folder of files named NNNN_name.up.sql and NNNN_name.down.sql (NNNN: a
 * version number, any width; applied in numeric order). Each migration runs
 * in a transaction of its own together with its row in the
 * chopin_migrations table (version, name, SHA-256 of the up file, when), so
 * it is applied entirely or not at all. A migration edited after it was
 * applied is refused: its checksum no longer matches, and nothing runs
 * until the file is restored (write a new migration instead).
 *
 * Several app servers starting together may all call chopin_migrate: on
 * PostgreSQL an advisory lock lets one apply each migration; the others find
 * it applied. With DATABASE_AUTO_MIGRATE (on by default) the app applies
 * pending migrations from DATABASE_MIGRATIONS (default "migrations") before
 * its first request; `app db migrate` (chopin_app_main) calls the same
 * functions. A version may have a variant per database,
 * NNNN_name.up.postgres.sql or NNNN_name.up.sqlite.sql, which wins over the
 * plain file on its database. */
#ifndef CHOPIN_MIGRATE_H
#define CHOPIN_MIGRATE_H

#include <stddef.h>
#include <stdint.h>

typedef struct chopin_app chopin_app;

/* Applies every pending migration of dir in order. Returns how many were
 * applied, or -1 with a message in err (which migration, and why). */
int chopin_migrate(chopin_app *app, const char *dir, char *err, size_t err_len);

/* Runs the down files of the last n applied migrations, newest first.
 * Returns how many were rolled back, or -1 with a message in err. */
int chopin_migrate_rollback(chopin_app *app, const char *dir, int n, char *err, size_t err_len);

typedef enum {
    CHOPIN_MIGRATION_PENDING,
    CHOPIN_MIGRATION_APPLIED,
    CHOPIN_MIGRATION_CHANGED, /* applied, and its file was edited since */
    CHOPIN_MIGRATION_MISSING, /* applied, and its file is gone */
} chopin_migration_state;

typedef struct {
    int64_t version;
    char name[128];
    chopin_migration_state state;
    char applied_at[40]; /* RFC 3339, empty when pending */
} chopin_migration;

/* Every migration known to the folder or the table, by version, in a
 * malloc'd array (free() it); -1 with a message in err. */
int chopin_migrate_status(chopin_app *app, const char *dir, chopin_migration **out, size_t *count,
                          char *err, size_t err_len);

#endif
