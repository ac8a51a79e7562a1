/* migrate.c - versioned migrations: files on one side, the
 * chopin_migrations table on the other, each migration and its row in one
 * transaction. */
#include "chopin/migrate.h"

#include "../app/app_internal.h"
#include "db_internal.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>

#define MAX_MIGRATION_BYTES (16 << 20)
/* Any constant: the key of the PostgreSQL advisory lock migrations take. */
#define MIGRATION_LOCK 0x43686f70 /* "Chop" */

typedef struct {
    int64_t version;
    char name[128];
    char stem[160]; /* the file name without .up.sql: "0003_add_users" */
    char *up_path, *down_path;
    bool up_dialect, down_dialect; /* the path is the database's own variant */
    char checksum[65];
    /* from the table */
    bool applied;
    char applied_checksum[65];
    char applied_at[40];
} migration;

typedef struct {
    migration *items;
    size_t count, cap;
} migration_list;

static int failf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failf(char *err, size_t len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -1;
}

static void list_free(migration_list *l) {
    for (size_t i = 0; i < l->count; i++) free(l->items[i].up_path), free(l->items[i].down_path);
    free(l->items);
    *l = (migration_list){0};
}

static migration *find_version(migration_list *l, int64_t version, bool add) {
    for (size_t i = 0; i < l->count; i++)
        if (l->items[i].version == version) return &l->items[i];
    if (!add) return NULL;
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        migration *items = realloc(l->items, cap * sizeof *items);
        if (!items) return NULL;
        l->items = items;
        l->cap = cap;
    }
    migration *m = &l->items[l->count++];
    *m = (migration){.version = version};
    return m;
}

static char *read_file(const char *path, size_t *len_out) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *text = NULL;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && st.st_size <= MAX_MIGRATION_BYTES &&
        (text = malloc((size_t)st.st_size + 1))) {
        size_t n = fread(text, 1, (size_t)st.st_size, f);
        text[n] = 0;
        if (len_out) *len_out = n;
    }
    fclose(f);
    return text;
}

static void sha256_hex(const char *text, size_t len, char out[65]) {
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(text, len, md, &n, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static bool ends_with(const char *s, size_t *len, const char *suffix) {
    size_t n = strlen(suffix);
    if (*len <= n || memcmp(s + *len - n, suffix, n)) return false;
    *len -= n;
    return true;
}

/* "0003_add_users.up.sql" -> version 3, name "add_users", up. A variant for
 * one database, "0003_add_users.up.postgres.sql" or ".up.sqlite.sql", sets
 * *dialect (0 for the plain form). */
static bool parse_name(const char *file, int64_t *version, char *name, size_t name_len, bool *up,
                       char *stem, size_t stem_len, int *dialect) {
    char *end;
    if (file[0] < '0' || file[0] > '9') return false;
    errno = 0;
    long long v = strtoll(file, &end, 10);
    if (errno || *end != '_') return false;
    const char *n = end + 1;
    size_t len = strlen(n);
    if (!ends_with(n, &len, ".sql")) return false;
    *dialect = ends_with(n, &len, ".postgres") ? CHOPIN_POSTGRES
               : ends_with(n, &len, ".sqlite") ? CHOPIN_SQLITE
                                               : 0;
    if (ends_with(n, &len, ".up"))
        *up = true;
    else if (ends_with(n, &len, ".down"))
        *up = false;
    else
        return false;
    if (!len || len >= name_len) return false;
    snprintf(name, name_len, "%.*s", (int)len, n);
    snprintf(stem, stem_len, "%.*s", (int)(n + len - file), file);
    *version = v;
    return true;
}

/* Each version's up and down files for this database: its own variant
 * when there is one, else the plain file; the other database's variants
 * are not this database's business. */
static int scan_dir(const char *dir, int db_dialect, migration_list *l, char *err, size_t err_len) {
    DIR *d = opendir(dir);
    if (!d)
        return failf(err, err_len, "cannot read the migrations folder %s: %s", dir,
                     strerror(errno));
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(d))) {
        int64_t version;
        char name[128], stem[160];
        bool up;
        int dialect;
        if (!parse_name(e->d_name, &version, name, sizeof name, &up, stem, sizeof stem, &dialect) ||
            (dialect && dialect != db_dialect))
            continue;
        migration *m = find_version(l, version, true);
        if (!m) {
            rc = failf(err, err_len, "out of memory");
            break;
        }
        if (m->stem[0] && strcmp(m->stem, stem))
            rc = failf(err, err_len, "two migrations have version %lld: %s and %s",
                       (long long)version, m->stem, stem);
        snprintf(m->name, sizeof m->name, "%s", name);
        snprintf(m->stem, sizeof m->stem, "%s", stem);
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char **slot = up ? &m->up_path : &m->down_path;
        bool *own = up ? &m->up_dialect : &m->down_dialect;
        if (*own && !dialect) continue; /* the variant wins over the plain file */
        free(*slot);
        *slot = strdup(path);
        *own = dialect != 0;
    }
    closedir(d);
    for (size_t i = 0; !rc && i < l->count; i++) {
        migration *m = &l->items[i];
        if (!m->up_path) {
            rc = failf(err, err_len, "migration %s has a down file but no up file", m->stem);
            break;
        }
        size_t len;
        char *text = read_file(m->up_path, &len);
        if (!text) {
            rc = failf(err, err_len, "cannot read %s", m->up_path);
            break;
        }
        sha256_hex(text, len, m->checksum);
        free(text);
    }
    return rc;
}

static int by_version(const void *a, const void *b) {
    int64_t x = ((const migration *)a)->version, y = ((const migration *)b)->version;
    return (x > y) - (x < y);
}

/* --- The table ----------------------------------------------------------------- */

static const char *db_detail(chopin_ctx *c) {
    const chopin_db_error *e = chopin_db_last_error(c);
    return e ? e->detail : "unknown error";
}

/* Under the migrations' lock on PostgreSQL: two servers creating the table
 * at once would otherwise collide in PostgreSQL's catalog even with IF NOT
 * EXISTS. */
static int ensure_table(chopin_ctx *c, char *err, size_t err_len) {
    bool pg = chopin_db_dialect_of(c->db) == CHOPIN_POSTGRES;
    int rc = chopin_db_begin(c);
    if (!rc && pg)
        rc = !chopin_sql(c, "SELECT pg_advisory_xact_lock($1)", chopin_arg_int(MIGRATION_LOCK));
    if (!rc)
        rc = !chopin_sql(
            c, "CREATE TABLE IF NOT EXISTS chopin_migrations (version BIGINT PRIMARY KEY, "
               "name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)");
    if (!rc) rc = chopin_db_commit(c);
    if (rc) {
        failf(err, err_len, "cannot create chopin_migrations: %s", db_detail(c));
        chopin_db_rollback(c);
        return -1;
    }
    return 0;
}

/* The folder's migrations and the table's rows, merged, by version. */
static int load(chopin_ctx *c, const char *dir, migration_list *l, char *err, size_t err_len) {
    if (scan_dir(dir, chopin_db_dialect_of(c->db), l, err, err_len) ||
        ensure_table(c, err, err_len))
        return -1;
    chopin_rows *r = chopin_sql(
        c, "SELECT version, name, checksum, applied_at FROM chopin_migrations ORDER BY version");
    if (!r) return failf(err, err_len, "cannot read chopin_migrations: %s", db_detail(c));
    for (size_t i = 0; i < chopin_rows_count(r); i++) {
        migration *m = find_version(l, chopin_rows_int(r, i, 0), true);
        if (!m) return failf(err, err_len, "out of memory");
        m->applied = true;
        if (!m->name[0]) {
            snprintf(m->name, sizeof m->name, "%s", chopin_rows_text(r, i, 1));
            snprintf(m->stem, sizeof m->stem, "%lld_%s", (long long)m->version, m->name);
        }
        snprintf(m->applied_checksum, sizeof m->applied_checksum, "%s", chopin_rows_text(r, i, 2));
        snprintf(m->applied_at, sizeof m->applied_at, "%s", chopin_rows_text(r, i, 3));
    }
    if (l->count) qsort(l->items, l->count, sizeof *l->items, by_version);
    return 0;
}

/* Inside a migration's transaction: waits for other app servers migrating
 * the same database, then tells whether this version is still to do. */
static int still_pending(chopin_ctx *c, int64_t version) {
    if (chopin_db_dialect_of(c->db) == CHOPIN_POSTGRES &&
        !chopin_sql(c, "SELECT pg_advisory_xact_lock($1)", chopin_arg_int(MIGRATION_LOCK)))
        return -1;
    chopin_rows *r = chopin_sql(c, "SELECT 1 FROM chopin_migrations WHERE version = $1",
                                chopin_arg_int(version));
    return !r ? -1 : chopin_rows_count(r) == 0;
}

static int apply_one(chopin_ctx *c, const migration *m, char *err, size_t err_len) {
    char *sql = read_file(m->up_path, NULL);
    if (!sql) return failf(err, err_len, "cannot read %s", m->up_path);
    char now[48];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    db_format_timestamp(now, (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
    int rc = chopin_db_begin(c);
    int pending = rc ? -1 : still_pending(c, m->version);
    if (pending == 1)
        rc = chopin_db_exec_script(c, sql) ||
             !chopin_sql(c,
                         "INSERT INTO chopin_migrations (version, name, checksum, applied_at) "
                         "VALUES ($1, $2, $3, $4)",
                         chopin_arg_int(m->version), chopin_arg_text(m->name),
                         chopin_arg_text(m->checksum), chopin_arg_text(now));
    else
        rc = pending < 0;
    free(sql);
    if (rc) {
        failf(err, err_len, "migration %s failed, nothing of it was kept: %s", m->stem,
              db_detail(c));
        chopin_db_rollback(c);
        return -1;
    }
    if (pending == 0) { /* another server applied it meanwhile */
        chopin_db_rollback(c);
        return 0;
    }
    if (chopin_db_commit(c))
        return failf(err, err_len, "migration %s did not commit: %s", m->stem, db_detail(c));
    return 1;
}

int chopin_migrate(chopin_app *app, const char *dir, char *err, size_t err_len) {
    chopin_ctx *c = chopin_ctx_new(app);
    if (!c) return failf(err, err_len, "out of memory");
    migration_list l = {0};
    int applied = load(c, dir, &l, err, err_len);
    for (size_t i = 0; applied == 0 && i < l.count; i++) {
        const migration *m = &l.items[i];
        if (m->applied && m->up_path && strcmp(m->checksum, m->applied_checksum))
            applied = failf(err, err_len,
                            "migration %s was edited after it was applied (checksum %.12s, "
                            "applied %.12s): restore it and write a new migration instead",
                            m->stem, m->checksum, m->applied_checksum);
    }
    for (size_t i = 0; applied >= 0 && i < l.count; i++) {
        if (l.items[i].applied) continue;
        int rc = apply_one(c, &l.items[i], err, err_len);
        applied = rc < 0 ? -1 : applied + rc;
    }
    list_free(&l);
    chopin_ctx_free(c);
    return applied;
}

int chopin_migrate_rollback(chopin_app *app, const char *dir, int n, char *err, size_t err_len) {
    chopin_ctx *c = chopin_ctx_new(app);
    if (!c) return failf(err, err_len, "out of memory");
    migration_list l = {0};
    int done = load(c, dir, &l, err, err_len);
    for (size_t k = l.count; done >= 0 && done < n && k-- > 0;) {
        const migration *m = &l.items[k];
        if (!m->applied) continue;
        char *sql = m->down_path ? read_file(m->down_path, NULL) : NULL;
        if (!sql) {
            done = failf(err, err_len, "migration %s has no readable down file", m->stem);
            break;
        }
        int rc = chopin_db_begin(c) || chopin_db_exec_script(c, sql) ||
                 !chopin_sql(c, "DELETE FROM chopin_migrations WHERE version = $1",
                             chopin_arg_int(m->version));
        free(sql);
        if (rc || chopin_db_commit(c)) {
            done = failf(err, err_len, "rolling back %s failed, nothing of it was undone: %s",
                         m->stem, db_detail(c));
            if (rc) chopin_db_rollback(c);
            break;
        }
        done++;
    }
    list_free(&l);
    chopin_ctx_free(c);
    return done;
}

int chopin_migrate_status(chopin_app *app, const char *dir, chopin_migration **out, size_t *count,
                          char *err, size_t err_len) {
    *out = NULL;
    *count = 0;
    chopin_ctx *c = chopin_ctx_new(app);
    if (!c) return failf(err, err_len, "out of memory");
    migration_list l = {0};
    int rc = load(c, dir, &l, err, err_len);
    if (!rc && l.count && !(*out = calloc(l.count, sizeof **out)))
        rc = failf(err, err_len, "out of memory");
    for (size_t i = 0; !rc && i < l.count; i++) {
        const migration *m = &l.items[i];
        chopin_migration *s = &(*out)[i];
        s->version = m->version;
        snprintf(s->name, sizeof s->name, "%s", m->name);
        snprintf(s->applied_at, sizeof s->applied_at, "%s", m->applied_at);
        s->state = !m->applied                                ? CHOPIN_MIGRATION_PENDING
                   : !m->up_path                              ? CHOPIN_MIGRATION_MISSING
                   : strcmp(m->checksum, m->applied_checksum) ? CHOPIN_MIGRATION_CHANGED
                                                              : CHOPIN_MIGRATION_APPLIED;
    }
    if (!rc) *count = l.count;
    list_free(&l);
    chopin_ctx_free(c);
    return rc;
}
