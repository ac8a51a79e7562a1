/* orm.c - rows by key, lists, pages and children of model structs, over
 * the query API. Each function builds one statement (orm_sql.c), runs it
 * with chopin_db_query / chopin_db_query_each, and maps rows back into the
 * structs. */
#include "orm_sql.h"

#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

static int64_t now_micros(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Runs b's text when it was built cleanly. */
static chopin_rows *run(db_session *s, sqlb *b, const argv_t *args) {
    chopin_rows *r = NULL;
    if (b->err)
        db_fail(s, CHOPIN_DB_MISUSE, "42602", NULL, "cannot build the statement: %s", b->err);
    else
        r = chopin_db_query(s->c, b->text, args->count, args->items);
    sqlb_free(b);
    return r;
}

static const chopin_field *need_pk(db_session *s, const chopin_model *m) {
    const chopin_field *pk = orm_pk(m);
    if (!pk)
        db_fail(s, CHOPIN_DB_MISUSE, "42P10", NULL, "model %s has no primary key (CHOPIN_PK)",
                m->name);
    return pk;
}

static int not_found(db_session *s, const chopin_model *m) {
    return db_fail(s, CHOPIN_DB_NOT_FOUND, "02000", NULL, "no %s with this key", m->name);
}

/* A random version 4 uuid for a read-only uuid key left empty. */
static const char *new_uuid(chopin_ctx *c) {
    char text[37];
    return random_uuid(text) ? NULL : chopin_strdup(c, text, 36);
}

/* Fields the ORM fills before writing: auto times, and a uuid key. */
static int prepare_write(db_session *s, const chopin_model *m, void *obj, bool inserting) {
    int64_t now = now_micros();
    for (size_t i = 0; i < m->count; i++) {
        const chopin_field *f = &m->fields[i];
        char *p = (char *)obj + f->offset;
        if (f->type == CHOPIN_TIMESTAMP && (f->auto_time == CHOPIN_AUTO_UPDATED ||
                                            (f->auto_time == CHOPIN_AUTO_CREATED && inserting))) {
            memcpy(p, &now, sizeof now);
            if (f->presence) ((char *)obj)[f->presence - 1] = true;
        }
        if (inserting && f->primary_key && f->read_only && f->type == CHOPIN_UUID &&
            !*(const char **)p) {
            const char *id = new_uuid(s->c);
            if (!id) return db_fail(s, CHOPIN_DB_FAILED, "58000", NULL, "no random bytes");
            memcpy(p, &id, sizeof id);
        }
    }
    return 0;
}

/* Columns an INSERT writes: all but those the database makes (a read-only
 * key other than a uuid the ORM made, other read-only fields not kept by
 * the ORM). */
static bool inserted(const chopin_field *f) {
    if (!f->read_only) return true;
    if (f->auto_time) return true;
    return f->primary_key && f->type == CHOPIN_UUID;
}

/* Columns an UPDATE writes. */
static bool updated(const chopin_field *f) {
    return !f->primary_key && (!f->read_only || f->auto_time == CHOPIN_AUTO_UPDATED);
}

/* also: a column to write even though the database would make it (the key
 * of an upsert). */
static void insert_sql(db_session *s, sqlb *b, argv_t *args, const chopin_model *m, const void *obj,
                       const chopin_field *also) {
    sqlb_add(b, "INSERT INTO ");
    sqlb_ident(b, orm_table(m));
    sqlb_add(b, " (");
    size_t n = 0;
    for (size_t i = 0; i < m->count; i++) {
        if (!inserted(&m->fields[i]) && &m->fields[i] != also) continue;
        if (n++) sqlb_add(b, ", ");
        sqlb_ident(b, m->fields[i].name);
    }
    if (!n) {
        sqlb_add(b, ") DEFAULT VALUES");
    } else {
        sqlb_add(b, ") VALUES (");
        n = 0;
        for (size_t i = 0; i < m->count; i++) {
            if (!inserted(&m->fields[i]) && &m->fields[i] != also) continue;
            size_t k = argv_push(s->c, args, orm_field_arg(s->c, &m->fields[i], obj));
            sqlb_addf(b, "%s$%zu", n++ ? ", " : "", k);
        }
        sqlb_add(b, ")");
    }
}

static void returning(sqlb *b, const chopin_model *m) {
    sqlb_add(b, " RETURNING ");
    orm_columns(b, m, true);
}

int chopin_orm_insert(chopin_ctx *c, const chopin_model *m, void *obj) {
    db_session *s = db_session_of(c);
    if (!s || prepare_write(s, m, obj, true)) return -1;
    sqlb b = {0};
    argv_t args = {0};
    insert_sql(s, &b, &args, m, obj, NULL);
    returning(&b, m);
    chopin_rows *r = run(s, &b, &args);
    if (!r) return -1;
    return chopin_rows_count(r) && rows_apply(c, r, 0, m, obj, true) ? 0 : -1;
}

int chopin_orm_insert_many(chopin_ctx *c, const chopin_model *m, void *objs, size_t count) {
    db_session *s = db_session_of(c);
    if (!s) return -1;
    if (!count) return 0;
    /* One statement, count argument sets: one round trip on PostgreSQL. */
    sqlb b = {0};
    argv_t args = {0};
    size_t per_row = 0;
    for (size_t i = 0; i < count; i++) {
        char *obj = (char *)objs + i * m->size;
        if (prepare_write(s, m, obj, true)) return -1;
        size_t before = args.count;
        if (i == 0) {
            insert_sql(s, &b, &args, m, obj, NULL);
            returning(&b, m);
            per_row = args.count;
        } else {
            for (size_t f = 0; f < m->count; f++)
                if (inserted(&m->fields[f]))
                    argv_push(c, &args, orm_field_arg(c, &m->fields[f], obj));
        }
        if (args.count - before != per_row) {
            sqlb_free(&b);
            return db_fail(s, CHOPIN_DB_FAILED, "53200", NULL, "out of memory");
        }
    }
    if (b.err) {
        sqlb_free(&b);
        return db_fail(s, CHOPIN_DB_MISUSE, "42602", NULL, "cannot build the statement");
    }
    if (chopin_db_begin(c)) {
        sqlb_free(&b);
        return -1;
    }
    chopin_rows **rows = chopin_db_query_each(c, b.text, count, per_row, args.items);
    sqlb_free(&b);
    bool ok = rows != NULL;
    for (size_t i = 0; ok && i < count; i++)
        ok = chopin_rows_count(rows[i]) &&
             rows_apply(c, rows[i], 0, m, (char *)objs + i * m->size, true);
    if (!ok) {
        chopin_db_rollback(c);
        return -1;
    }
    return chopin_db_commit(c);
}

/* The text of statements that depend on the model alone (find and delete
 * by key), built once per worker and kept with it: per request the ORM then
 * costs its binding work, not string building. */
typedef enum { BY_KEY_FIND, BY_KEY_DELETE } by_key;
typedef struct {
    struct {
        const chopin_model *m;
        by_key kind;
        char *sql;
    } items[64];
    size_t count;
} sql_memo;
static const char memo_key; /* its address names the worker-local value */

static void *memo_new(void *arg) {
    (void)arg;
    return calloc(1, sizeof(sql_memo));
}

static void memo_free(void *value) {
    sql_memo *mm = value;
    for (size_t i = 0; i < mm->count; i++) free(mm->items[i].sql);
    free(mm);
}

static char *by_key_sql(const chopin_model *m, const chopin_field *pk, by_key kind) {
    sqlb b = {0};
    if (kind == BY_KEY_FIND) {
        sqlb_add(&b, "SELECT ");
        orm_columns(&b, m, false);
        sqlb_add(&b, " FROM ");
    } else {
        sqlb_add(&b, "DELETE FROM ");
    }
    sqlb_ident(&b, orm_table(m));
    sqlb_add(&b, " WHERE ");
    sqlb_ident(&b, pk->name);
    sqlb_add(&b, " = $1");
    if (b.err) {
        sqlb_free(&b);
        return NULL;
    }
    return b.text;
}

/* The statement's text; *owned is set when the caller must free it (no
 * worker to keep it: a detached context, or a full memo). */
static const char *memo_sql(db_session *s, const chopin_model *m, const chopin_field *pk,
                            by_key kind, char **owned) {
    *owned = NULL;
    sql_memo *mm = s->t ? worker_local_get(s->t->w, &memo_key, memo_new, NULL, memo_free) : NULL;
    for (size_t i = 0; mm && i < mm->count; i++)
        if (mm->items[i].m == m && mm->items[i].kind == kind) return mm->items[i].sql;
    char *sql = by_key_sql(m, pk, kind);
    if (!sql) {
        db_fail(s, CHOPIN_DB_MISUSE, "42602", NULL, "cannot build the statement for %s", m->name);
        return NULL;
    }
    if (mm && mm->count < sizeof mm->items / sizeof mm->items[0]) {
        mm->items[mm->count].m = m;
        mm->items[mm->count].kind = kind;
        mm->items[mm->count++].sql = sql;
        return sql;
    }
    return *owned = sql;
}

void *chopin_orm_find(chopin_ctx *c, const chopin_model *m, chopin_arg id) {
    db_session *s = db_session_of(c);
    const chopin_field *pk = s ? need_pk(s, m) : NULL;
    if (!pk || !orm_coerce(s, pk, &id)) return NULL;
    char *owned;
    const char *sql = memo_sql(s, m, pk, BY_KEY_FIND, &owned);
    chopin_rows *r = sql ? chopin_db_query(c, sql, 1, &id) : NULL;
    free(owned);
    if (!r) return NULL;
    if (!chopin_rows_count(r)) {
        not_found(s, m);
        return NULL;
    }
    return chopin_rows_bind(c, r, m);
}

static int update_sql(chopin_ctx *c, const chopin_model *m, void *obj, const char *const *only) {
    db_session *s = db_session_of(c);
    const chopin_field *pk = s ? need_pk(s, m) : NULL;
    if (!pk) return -1;
    for (size_t i = 0; only && only[i]; i++) {
        const chopin_field *f = orm_field(m, only[i]);
        if (!f || !updated(f))
            return db_fail(s, CHOPIN_DB_INVALID, "42703", only[i], "not a writable field");
    }
    if (prepare_write(s, m, obj, false)) return -1;
    sqlb b = {0};
    argv_t args = {0};
    sqlb_add(&b, "UPDATE ");
    sqlb_ident(&b, orm_table(m));
    sqlb_add(&b, " SET ");
    size_t n = 0;
    for (size_t i = 0; i < m->count; i++) {
        const chopin_field *f = &m->fields[i];
        if (!updated(f)) continue;
        bool wanted = !only || f->auto_time;
        for (size_t k = 0; only && only[k] && !wanted; k++) wanted = !strcmp(only[k], f->name);
        if (!wanted) continue;
        if (n++) sqlb_add(&b, ", ");
        sqlb_ident(&b, f->name);
        sqlb_addf(&b, " = $%zu", argv_push(c, &args, orm_field_arg(c, f, obj)));
    }
    if (!n) { /* nothing to write: still a find, so a missing row is a 404 */
        sqlb_ident(&b, pk->name);
        sqlb_add(&b, " = ");
        sqlb_ident(&b, pk->name);
    }
    sqlb_add(&b, " WHERE ");
    sqlb_ident(&b, pk->name);
    sqlb_addf(&b, " = $%zu", argv_push(c, &args, orm_field_arg(c, pk, obj)));
    returning(&b, m);
    chopin_rows *r = run(s, &b, &args);
    if (!r) return -1;
    if (!chopin_rows_count(r)) return not_found(s, m);
    return rows_apply(c, r, 0, m, obj, true) ? 0 : -1;
}

int chopin_orm_update(chopin_ctx *c, const chopin_model *m, void *obj) {
    return update_sql(c, m, obj, NULL);
}

int chopin_orm_update_fields(chopin_ctx *c, const chopin_model *m, void *obj,
                             const char *const *fields) {
    static const char *const none[] = {NULL};
    return update_sql(c, m, obj, fields ? fields : none);
}

int chopin_orm_delete(chopin_ctx *c, const chopin_model *m, chopin_arg id) {
    db_session *s = db_session_of(c);
    const chopin_field *pk = s ? need_pk(s, m) : NULL;
    if (!pk || !orm_coerce(s, pk, &id)) return -1;
    char *owned;
    const char *sql = memo_sql(s, m, pk, BY_KEY_DELETE, &owned);
    chopin_rows *r = sql ? chopin_db_query(c, sql, 1, &id) : NULL;
    free(owned);
    if (!r) return -1;
    return chopin_rows_affected(r) ? 0 : not_found(s, m);
}

int chopin_orm_upsert(chopin_ctx *c, const chopin_model *m, void *obj, const char *conflict_field) {
    db_session *s = db_session_of(c);
    if (!s) return -1;
    const chopin_field *key = conflict_field ? orm_field(m, conflict_field) : need_pk(s, m);
    if (!key)
        return conflict_field
                   ? db_fail(s, CHOPIN_DB_INVALID, "42703", conflict_field, "no such field")
                   : -1;
    if (prepare_write(s, m, obj, true)) return -1;
    sqlb b = {0};
    argv_t args = {0};
    /* A generated key is written when it is the conflict target and set:
     * the caller names the row. Zero: a new row, whose key the database
     * makes. */
    chopin_arg key_value = orm_field_arg(c, key, obj);
    bool unset = key->read_only && key_value.type == CHOPIN_ARG_INT && key_value.i == 0;
    insert_sql(s, &b, &args, m, obj, unset ? NULL : key);
    sqlb_add(&b, " ON CONFLICT (");
    sqlb_ident(&b, key->name);
    sqlb_add(&b, ") DO UPDATE SET ");
    size_t n = 0;
    for (size_t i = 0; i < m->count; i++) {
        const chopin_field *f = &m->fields[i];
        /* What a new row would have written, except the key and the
         * creation time: the existing row keeps those. */
        if (!inserted(f) || f == key || f->primary_key || f->auto_time == CHOPIN_AUTO_CREATED)
            continue;
        if (n++) sqlb_add(&b, ", ");
        sqlb_ident(&b, f->name);
        sqlb_add(&b, " = excluded.");
        sqlb_ident(&b, f->name);
    }
    if (!n) {
        sqlb_ident(&b, key->name);
        sqlb_add(&b, " = excluded.");
        sqlb_ident(&b, key->name);
    }
    returning(&b, m);
    chopin_rows *r = run(s, &b, &args);
    if (!r) return -1;
    return chopin_rows_count(r) && rows_apply(c, r, 0, m, obj, true) ? 0 : -1;
}

/* --- Lists ------------------------------------------------------------------------------------ */

int64_t chopin_orm_count(chopin_ctx *c, const chopin_model *m, const chopin_filter *filters,
                         size_t nfilters) {
    db_session *s = db_session_of(c);
    if (!s) return -1;
    sqlb b = {0};
    argv_t args = {0};
    sqlb_add(&b, "SELECT count(*) FROM ");
    sqlb_ident(&b, orm_table(m));
    if (!orm_where(s, &b, &args, m, filters, nfilters, s->db->dialect)) {
        sqlb_free(&b);
        return -1;
    }
    chopin_rows *r = run(s, &b, &args);
    return r ? chopin_rows_int(r, 0, 0) : -1;
}

int chopin_orm_list(chopin_ctx *c, const chopin_model *m, const chopin_list_opts *opts,
                    chopin_list *out) {
    static const chopin_list_opts all = {0};
    db_session *s = db_session_of(c);
    *out = (chopin_list){.total = -1};
    if (!s) return -1;
    if (!opts) opts = &all;
    if (opts->limit < 0 || opts->offset < 0)
        return db_fail(s, CHOPIN_DB_INVALID, "2201W", "limit",
                       "limit and offset cannot be negative");
    sqlb b = {0};
    argv_t args = {0};
    sqlb_add(&b, "SELECT ");
    orm_columns(&b, m, false);
    sqlb_add(&b, " FROM ");
    sqlb_ident(&b, orm_table(m));
    if (!orm_where(s, &b, &args, m, opts->filters, opts->nfilters, s->db->dialect) ||
        !orm_order(s, &b, m, opts->order_by, s->db->dialect)) {
        sqlb_free(&b);
        return -1;
    }
    if (opts->limit)
        sqlb_addf(&b, " LIMIT $%zu", argv_push(c, &args, chopin_arg_int(opts->limit)));
    else if (opts->offset && s->db->dialect == CHOPIN_SQLITE)
        sqlb_add(&b, " LIMIT -1"); /* SQLite's OFFSET needs a LIMIT */
    if (opts->offset)
        sqlb_addf(&b, " OFFSET $%zu", argv_push(c, &args, chopin_arg_int(opts->offset)));
    chopin_rows *r = run(s, &b, &args);
    if (!r) return -1;
    out->items = chopin_rows_bind(c, r, m);
    if (!out->items) return -1;
    out->count = chopin_rows_count(r);
    if (opts->with_total) {
        /* A short first page already knows the total. */
        if (opts->offset == 0 && (opts->limit == 0 || (int64_t)out->count < opts->limit))
            out->total = (int64_t)out->count;
        else if ((out->total = chopin_orm_count(c, m, opts->filters, opts->nfilters)) < 0)
            return -1;
    }
    return 0;
}

int chopin_orm_page(chopin_ctx *c, const chopin_model *m, const chopin_filter *filters,
                    size_t nfilters, const char *order_by, const chopin_page *page,
                    chopin_list *out) {
    chopin_list_opts o = {.filters = filters,
                          .nfilters = nfilters,
                          .order_by = order_by,
                          .limit = page->limit,
                          .offset = page->offset,
                          .with_total = true};
    return chopin_orm_list(c, m, &o, out);
}

/* --- Relations -----------------------------------------------------------------------------------
 */

#define CHILDREN_CHUNK 256

/* Keys in ascending order, so that chunk after chunk the children come out
 * ordered by key overall; NULLs (no key) last. */
static int key_cmp(const void *pa, const void *pb) {
    const chopin_arg *a = pa, *b = pb;
    if (a->type != b->type) return (a->type == CHOPIN_ARG_NULL) - (b->type == CHOPIN_ARG_NULL);
    if (a->type == CHOPIN_ARG_TEXT) {
        int c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
        return c ? c : (a->len > b->len) - (a->len < b->len);
    }
    if (a->type == CHOPIN_ARG_DOUBLE) return (a->d > b->d) - (a->d < b->d);
    return (a->i > b->i) - (a->i < b->i);
}

int chopin_orm_children(chopin_ctx *c, const chopin_model *child, const char *fk,
                        const chopin_model *parent, const void *parents, size_t nparents,
                        const char *order_by, chopin_list *out) {
    db_session *s = db_session_of(c);
    *out = (chopin_list){.total = -1};
    if (!s) return -1;
    const chopin_field *fkf = orm_field(child, fk);
    const chopin_field *ppk = need_pk(s, parent);
    if (!fkf) return db_fail(s, CHOPIN_DB_INVALID, "42703", fk, "no such field");
    if (!ppk) return -1;
    out->items = chopin_alloc(c, child->size);
    if (!nparents) return out->items ? 0 : -1;
    /* One statement text, its IN list of CHILDREN_CHUNK keys padded with
     * NULLs, run once per chunk: one round trip for all on PostgreSQL. */
    size_t cap = (nparents + CHILDREN_CHUNK - 1) / CHILDREN_CHUNK * CHILDREN_CHUNK;
    chopin_arg *keys = chopin_alloc(c, cap * sizeof *keys);
    if (!keys) return db_fail(s, CHOPIN_DB_FAILED, "53200", NULL, "out of memory");
    for (size_t i = 0; i < nparents; i++)
        keys[i] = orm_field_arg(c, ppk, (const char *)parents + i * parent->size);
    qsort(keys, nparents, sizeof *keys, key_cmp);
    size_t nkeys = 0; /* a parent listed twice is asked for once */
    for (size_t i = 0; i < nparents; i++)
        if (!nkeys || key_cmp(&keys[i], &keys[nkeys - 1])) keys[nkeys++] = keys[i];
    size_t nchunks = (nkeys + CHILDREN_CHUNK - 1) / CHILDREN_CHUNK;
    for (size_t i = nkeys; i < nchunks * CHILDREN_CHUNK; i++) keys[i] = chopin_arg_null();
    sqlb b = {0};
    sqlb_add(&b, "SELECT ");
    orm_columns(&b, child, false);
    sqlb_add(&b, " FROM ");
    sqlb_ident(&b, orm_table(child));
    sqlb_add(&b, " WHERE ");
    sqlb_ident(&b, fkf->name);
    sqlb_add(&b, " IN (");
    for (size_t i = 0; i < CHILDREN_CHUNK; i++) sqlb_addf(&b, "%s$%zu", i ? ", " : "", i + 1);
    sqlb_add(&b, ")");
    /* by parent first, then as asked */
    char *order = NULL;
    size_t olen = strlen(fk) + (order_by ? strlen(order_by) : 0) + 2;
    if ((order = malloc(olen)))
        snprintf(order, olen, "%s%s%s", fk, order_by ? "," : "", order_by ? order_by : "");
    bool ok = order && orm_order(s, &b, child, order, s->db->dialect);
    free(order);
    if (!ok || b.err) {
        if (ok) db_fail(s, CHOPIN_DB_MISUSE, "42602", NULL, "cannot build the statement");
        sqlb_free(&b);
        return -1;
    }
    chopin_rows **rows = chopin_db_query_each(c, b.text, nchunks, CHILDREN_CHUNK, keys);
    sqlb_free(&b);
    if (!rows) return -1;
    size_t total = 0;
    for (size_t i = 0; i < nchunks; i++) total += chopin_rows_count(rows[i]);
    char *items = chopin_alloc(c, (total ? total : 1) * child->size);
    if (!items) return db_fail(s, CHOPIN_DB_FAILED, "53200", NULL, "out of memory");
    size_t at = 0;
    for (size_t i = 0; i < nchunks; i++) {
        size_t n = chopin_rows_count(rows[i]);
        void *part = chopin_rows_bind(c, rows[i], child);
        if (!part) return -1;
        memcpy(items + at * child->size, part, n * child->size);
        at += n;
    }
    out->items = items;
    out->count = total;
    return 0;
}
