/* generate.c - `chopin generate model NAME field:type...` writes a model
 * with its CRUD routes, its migration (the table as the ORM would make it,
 * for SQLite and PostgreSQL) and its tests, and registers the routes;
 * `chopin generate migration NAME` writes an empty migration. */
#include "cli.h"

#include <chopin.h>

#include <ctype.h>
#include <stdarg.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- Field types ---------------------------------------------------------------------- */

typedef struct {
    const char *name;                   /* as typed: title:string */
    const char *c_type;                 /* in the struct */
    const char *chopin;                 /* CHOPIN_STRING... */
    const char *options;                /* always there: ", .max_len = 255" */
    chopin_field_type type;             /* for the table's SQL */
    const char *sample, *sample2, *bad; /* JSON values for the tests */
} field_type;

static const field_type types[] = {
    {"string", "const char *", "CHOPIN_STRING", ", .max_len = 255", CHOPIN_STRING, "\"a string\"",
     "\"another string\"", "5"},
    {"text", "const char *", "CHOPIN_TEXT", "", CHOPIN_TEXT, "\"some text\"", "\"more text\"", "5"},
    {"int", "int32_t ", "CHOPIN_INT32", "", CHOPIN_INT32, "7", "8", "\"seven\""},
    {"bigint", "int64_t ", "CHOPIN_INT64", "", CHOPIN_INT64, "7000000000", "8000000000",
     "\"seven\""},
    {"float", "double ", "CHOPIN_DOUBLE", "", CHOPIN_DOUBLE, "1.5", "2.5", "\"one\""},
    {"bool", "bool ", "CHOPIN_BOOL", "", CHOPIN_BOOL, "true", "false", "\"yes\""},
    {"timestamp", "int64_t ", "CHOPIN_TIMESTAMP", "", CHOPIN_TIMESTAMP, "\"2026-01-02T03:04:05Z\"",
     "\"2027-02-03T04:05:06Z\"", "\"soon\""},
    {"uuid", "const char *", "CHOPIN_UUID", "", CHOPIN_UUID,
     "\"6f1c2c4e-8d1a-4a57-9a3e-2b7f0c9d1e5a\"", "\"0b9e4f7a-1c2d-4e5f-8a9b-0c1d2e3f4a5b\"", "5"},
    {"email", "const char *", "CHOPIN_STRING", ", .format = \"email\", .max_len = 254",
     CHOPIN_STRING, "\"ada@example.com\"", "\"grace@example.com\"", "\"not an email\""},
};

typedef struct {
    char name[64];
    const field_type *type;
    bool required, unique, indexed;
} field_spec;

#define MAX_FIELDS 32

static const field_type *find_type(const char *name) {
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(types[i].name, name)) return &types[i];
    return NULL;
}

static bool is_identifier(const char *s, size_t max) {
    size_t n = strlen(s);
    if (!n || n > max || !islower((unsigned char)s[0])) return false;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_') return false;
    return true;
}

/* "title:string:required" */
static int parse_field(const char *arg, field_spec *f) {
    char buf[160];
    snprintf(buf, sizeof buf, "%s", arg);
    char *save = NULL, *name = strtok_r(buf, ":", &save), *type = strtok_r(NULL, ":", &save);
    *f = (field_spec){0};
    if (!name || !type || !is_identifier(name, 48)) {
        fprintf(stderr, "chopin: '%s': expected name:type with a lowercase name (a-z, 0-9, _)\n",
                arg);
        return -1;
    }
    static const char *const reserved[] = {"id", "owner_id", "created_at", "updated_at"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (!strcmp(name, reserved[i])) {
            fprintf(stderr, "chopin: '%s': every model has %s already\n", arg, name);
            return -1;
        }
    if (!(f->type = find_type(type))) {
        fprintf(stderr,
                "chopin: '%s': the types are string text int bigint float bool timestamp "
                "uuid email\n",
                arg);
        return -1;
    }
    snprintf(f->name, sizeof f->name, "%s", name);
    for (char *mod; (mod = strtok_r(NULL, ":", &save));) {
        if (!strcmp(mod, "required"))
            f->required = true;
        else if (!strcmp(mod, "unique"))
            f->unique = true;
        else if (!strcmp(mod, "index"))
            f->indexed = true;
        else {
            fprintf(stderr, "chopin: '%s': the modifiers are required, unique and index\n", arg);
            return -1;
        }
    }
    return 0;
}

/* post -> posts, box -> boxes, story -> stories. */
static void plural_of(const char *s, char *out, size_t len) {
    size_t n = strlen(s);
    bool vowel_before_y = n > 1 && strchr("aeiou", s[n - 2]);
    if (n > 1 && s[n - 1] == 'y' && !vowel_before_y)
        snprintf(out, len, "%.*sies", (int)n - 1, s);
    else if ((n && strchr("sxz", s[n - 1])) ||
             (n > 1 && (!strcmp(s + n - 2, "ch") || !strcmp(s + n - 2, "sh"))))
        snprintf(out, len, "%ses", s);
    else
        snprintf(out, len, "%ss", s);
}

/* --- Text pieces ------------------------------------------------------------------------ */

typedef struct {
    char *data;
    size_t len, cap;
} text;

static void add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(text *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char piece[2048];
    int n = vsnprintf(piece, sizeof piece, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        while (t->len + (size_t)n + 1 > cap) cap *= 2;
        char *grown = realloc(t->data, cap);
        if (!grown) abort();
        t->data = grown;
        t->cap = cap;
    }
    memcpy(t->data + t->len, piece, (size_t)n + 1);
    t->len += (size_t)n;
}

/* A JSON value written inside a C string literal. */
static void add_c_escaped(text *t, const char *s) {
    for (; *s; s++) add(t, *s == '"' ? "\\\"" : "%c", *s);
}

static void add_json_object(text *t, const field_spec *f, size_t n, int which) {
    add(t, "{");
    for (size_t i = 0; i < n; i++) {
        add(t, "%s\\\"%s\\\":", i ? "," : "", f[i].name);
        add_c_escaped(t, which == 1 ? f[i].type->sample : f[i].type->sample2);
    }
    add(t, "}");
}

/* Assertions that the answer in r holds the value. */
static void add_check(text *t, const field_spec *f, const char *value) {
    const field_type *ty = f->type;
    if (ty->type == CHOPIN_BOOL)
        add(t,
            "    cr_assert_eq(chopin_test_json_bool(r, \"data.%s\", %s), %s, \"%%s\", r->body);\n",
            f->name, !strcmp(value, "true") ? "false" : "true", value);
    else if (ty->type == CHOPIN_INT32 || ty->type == CHOPIN_INT64)
        add(t,
            "    cr_assert_eq(chopin_test_json_int(r, \"data.%s\", -1), %s, \"%%s\", r->body);\n",
            f->name, value);
    else if (ty->type == CHOPIN_DOUBLE)
        add(t, "    cr_assert_float_eq(chopin_test_json(r, \"data.%s\")->u.num.d, %s, 1e-9);\n",
            f->name, value);
    else if (ty->type == CHOPIN_TIMESTAMP) /* the server's own RFC 3339 form: same second */
        add(t,
            "    cr_assert(!strncmp(chopin_test_json_str(r, \"data.%s\"), \"%.19s\", 19), \"%%s\", "
            "r->body);\n",
            f->name, value + 1);
    else /* a JSON string of plain ASCII is a C string literal as it is */
        add(t,
            "    cr_assert_str_eq(chopin_test_json_str(r, \"data.%s\"), %s, \"%%s\", r->body);\n",
            f->name, value);
}

static void add_checks(text *t, const field_spec *f, size_t n, int which, bool first_from_1) {
    for (size_t i = 0; i < n; i++) {
        int w = i == 0 && first_from_1 ? 1 : which;
        add_check(t, &f[i], w == 1 ? f[i].type->sample : f[i].type->sample2);
    }
}

/* --- Migrations ----------------------------------------------------------------------- */

/* The next version in migrations/: one more than the highest there. */
static int next_version(void) {
    DIR *d = opendir("migrations");
    long highest = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (isdigit((unsigned char)e->d_name[0])) {
            long v = strtol(e->d_name, NULL, 10);
            if (v > highest) highest = v;
        }
    if (d) closedir(d);
    return (int)highest + 1;
}

/* The table as the ORM makes it from the model the template declares:
 * one SQL per database, so PostgreSQL and SQLite each get their types. */
static int write_table_migration(const char *model, const char *table, const field_spec *f,
                                 size_t n, char *stem, size_t stem_len) {
    chopin_field fields[MAX_FIELDS + 4];
    size_t count = 0;
    fields[count++] = (chopin_field){
        .name = "id", .type = CHOPIN_INT64, .primary_key = true, .read_only = true, .size = 8};
    for (size_t i = 0; i < n; i++)
        fields[count++] = (chopin_field){.name = f[i].name,
                                         .type = f[i].type->type,
                                         .size = 8,
                                         .required = f[i].required,
                                         .unique = f[i].unique,
                                         .indexed = f[i].indexed};
    fields[count++] =
        (chopin_field){.name = "owner_id", .type = CHOPIN_INT64, .indexed = true, .size = 8};
    fields[count++] = (chopin_field){.name = "created_at",
                                     .type = CHOPIN_TIMESTAMP,
                                     .size = 8,
                                     .auto_time = CHOPIN_AUTO_CREATED,
                                     .read_only = true};
    fields[count++] = (chopin_field){.name = "updated_at",
                                     .type = CHOPIN_TIMESTAMP,
                                     .size = 8,
                                     .auto_time = CHOPIN_AUTO_UPDATED,
                                     .read_only = true};
    chopin_model m = {
        .name = model, .size = 8 * count, .fields = fields, .count = count, .table = table};
    snprintf(stem, stem_len, "%04d_create_%s", next_version(), table);
    static const struct {
        chopin_db_dialect dialect;
        const char *suffix;
    } dbs[] = {{CHOPIN_SQLITE, "sqlite"}, {CHOPIN_POSTGRES, "postgres"}};
    for (size_t i = 0; i < 2; i++) {
        char *sql = chopin_orm_create_sql(&m, dbs[i].dialect);
        char path[256], *body = NULL;
        snprintf(path, sizeof path, "migrations/%s.up.%s.sql", stem, dbs[i].suffix);
        size_t len = sql ? strlen(sql) + 256 : 0;
        if (sql && (body = malloc(len)))
            snprintf(body, len, "-- The %s table (%s), made by chopin generate model.\n%s\n", table,
                     dbs[i].suffix, sql);
        int rc = body ? write_new_file(path, body) : -1;
        free(body);
        free(sql);
        if (rc) return -1;
    }
    char path[256], down[256];
    snprintf(path, sizeof path, "migrations/%s.down.sql", stem);
    snprintf(down, sizeof down, "DROP TABLE IF EXISTS \"%s\";\n", table);
    return write_new_file(path, down);
}

static int generate_migration(int argc, char **argv) {
    if (argc != 1 || !is_identifier(argv[0], 64)) {
        fprintf(stderr, "usage: chopin generate migration NAME   (NAME: a-z, 0-9, _)\n");
        return 2;
    }
    char up[256], down[256];
    int v = next_version();
    snprintf(up, sizeof up, "migrations/%04d_%s.up.sql", v, argv[0]);
    snprintf(down, sizeof down, "migrations/%04d_%s.down.sql", v, argv[0]);
    if (write_new_file(up, "-- What this migration changes (SQL; ';' between statements).\n"
                           "-- For one database only: name the file NNNN_name.up.postgres.sql\n"
                           "-- or NNNN_name.up.sqlite.sql.\n") ||
        write_new_file(down, "-- How to undo it (chopin db rollback).\n"))
        return 1;
    printf("created %s\ncreated %s\n", up, down);
    return 0;
}

/* --- Models ------------------------------------------------------------------------------ */

static char *struct_fields(const field_spec *f, size_t n) {
    text t = {0};
    for (size_t i = 0; i < n; i++) add(&t, "    %s%s;\n", f[i].type->c_type, f[i].name);
    return t.data;
}

static char *model_fields(const char *model, const field_spec *f, size_t n) {
    text t = {0};
    for (size_t i = 0; i < n; i++) {
        text line = {0};
        add(&line, "        F(%s, %s, %s%s%s%s%s),", model, f[i].name, f[i].type->chopin,
            f[i].type->options, f[i].required ? ", .required = true" : "",
            f[i].unique ? ", .unique = true" : "", f[i].indexed ? ", .indexed = true" : "");
        add(&t, "%-99s\\\n", line.data); /* the macro's backslashes in one column */
        free(line.data);
    }
    return t.data;
}

static int register_routes(const char *table) {
    char decl[160], call[160];
    snprintf(decl, sizeof decl, "void %s_routes(chopin_app *app);\n", table);
    snprintf(call, sizeof call, "    %s_routes(app);\n", table);
    return insert_before_marker("src/app.h", DECLS_MARKER, decl) ||
           insert_before_marker("src/routes.c", ROUTES_MARKER, call);
}

static int generate_model(int argc, char **argv) {
    if (argc < 2 || !is_identifier(argv[0], 40)) {
        fprintf(stderr,
                "usage: chopin generate model NAME field:type[:required|:unique|:index]...\n"
                "  NAME: singular, lowercase (a-z, 0-9, _), e.g. post\n"
                "  types: string text int bigint float bool timestamp uuid email\n");
        return 2;
    }
    const char *model = argv[0];
    field_spec fields[MAX_FIELDS];
    size_t n = 0;
    for (int i = 1; i < argc; i++) {
        if (n == MAX_FIELDS) {
            fprintf(stderr, "chopin: at most %d fields\n", MAX_FIELDS);
            return 2;
        }
        if (parse_field(argv[i], &fields[n])) return 2;
        for (size_t j = 0; j < n; j++)
            if (!strcmp(fields[j].name, fields[n].name)) {
                fprintf(stderr, "chopin: the field %s is there twice\n", fields[n].name);
                return 2;
            }
        n++;
    }
    char table[64], upper[64], source[128], test[128];
    plural_of(model, table, sizeof table);
    for (size_t i = 0; i <= strlen(model); i++) upper[i] = (char)toupper((unsigned char)model[i]);
    snprintf(source, sizeof source, "src/%s.c", table);
    snprintf(test, sizeof test, "tests/test_%s.c", table);
    if (!access(source, F_OK) || !access(test, F_OK)) {
        fprintf(stderr, "chopin: %s or %s exists already\n", source, test);
        return 1;
    }
    char stem[128];
    if (write_table_migration(model, table, fields, n, stem, sizeof stem)) return 1;
    text sample = {0}, sample2 = {0}, patch = {0}, bad = {0}, checks = {0}, checks2 = {0},
         checks_patch = {0};
    add_json_object(&sample, fields, n, 1);
    add_json_object(&sample2, fields, n, 2);
    add_json_object(&patch, fields, 1, 1);
    add(&bad, "{\\\"%s\\\":", fields[0].name);
    add_c_escaped(&bad, fields[0].type->bad);
    add(&bad, "}");
    add_checks(&checks, fields, n, 1, false);
    add_checks(&checks2, fields, n, 2, false);
    add_checks(&checks_patch, fields, n, 2, true);
    char migration[160];
    snprintf(migration, sizeof migration, "%s.up.*.sql", stem);
    char *sf = struct_fields(fields, n), *mf = model_fields(model, fields, n);
    const char *const vars[] = {"model",
                                model,
                                "MODEL",
                                upper,
                                "table",
                                table,
                                "migration",
                                migration,
                                "struct_fields",
                                sf,
                                "model_fields",
                                mf,
                                "sample",
                                sample.data,
                                "sample2",
                                sample2.data,
                                "patch",
                                patch.data,
                                "bad",
                                bad.data,
                                "first",
                                fields[0].name,
                                "checks",
                                checks.data,
                                "checks2",
                                checks2.data,
                                "checks_patch",
                                checks_patch.data,
                                NULL};
    char *src = expand(tmpl_model_c, vars), *tst = expand(tmpl_model_test_c, vars);
    int rc = src && tst && !write_new_file(source, src) && !write_new_file(test, tst) &&
                     !register_routes(table)
                 ? 0
                 : 1;
    if (!rc)
        printf("created %s (the %s model and its routes under /%s)\ncreated %s\n"
               "created migrations/%s.up.sqlite.sql, .up.postgres.sql, .down.sql\n"
               "registered %s_routes in src/app.h and src/routes.c\n",
               source, model, table, test, stem, table);
    free(src), free(tst), free(sf), free(mf);
    free(sample.data), free(sample2.data), free(patch.data), free(bad.data);
    free(checks.data), free(checks2.data), free(checks_patch.data);
    return rc;
}

int cli_generate(int argc, char **argv) {
    bool help = argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h");
    for (int i = 0; i < argc; i++) help |= !strcmp(argv[i], "--help");
    if (help) {
        printf("usage: chopin generate model NAME field:type[:required|:unique|:index]...\n"
               "       chopin generate migration NAME\n"
               "\n"
               "model: src/<names>.c (the model and CRUD routes under /<names>, a token\n"
               "required, each account seeing its own), migrations/NNNN_create_<names>\n"
               "(SQLite and PostgreSQL), tests/test_<names>.c; the routes are registered in\n"
               "src/routes.c. Types: string text int bigint float bool timestamp uuid email.\n"
               "migration: migrations/NNNN_NAME.up.sql and .down.sql to fill in.\n"
               "Run it in the project (where chopin.project is).\n");
        return argc < 1 ? 2 : 0;
    }
    cli_project p;
    if (project_find(&p)) return 1;
    if (chdir(p.root)) return 1;
    if (!strcmp(argv[0], "model")) return generate_model(argc - 1, argv + 1);
    if (!strcmp(argv[0], "migration")) return generate_migration(argc - 1, argv + 1);
    fprintf(stderr, "chopin: generate model or generate migration (chopin generate --help)\n");
    return 2;
}
