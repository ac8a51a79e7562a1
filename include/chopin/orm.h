/* chopin/orm.h - the model's field table is also its table's schema: rows
 * in and out of model structs without writing SQL, on SQLite and PostgreSQL
 * alike.
 *
 *   typedef struct { int64_t id; const char *title; bool done; int64_t created_at; } todo;
 *   #define TODO_FIELDS(F)                                                     \
 *       F(todo, id, CHOPIN_INT64, CHOPIN_PK),                                  \
 *       F(todo, title, CHOPIN_STRING, .required = true, .max_len = 200),       \
 *       F(todo, done, CHOPIN_BOOL),                                            \
 *       F(todo, created_at, CHOPIN_TIMESTAMP, CHOPIN_CREATED_AT)
 *   CHOPIN_MODEL(todo, TODO_FIELDS, .table = "todos");
 *
 *   todo *t = chopin_bind(c, &todo_model);
 *   if (!t || chopin_orm_insert(c, &todo_model, t)) return;  // id, created_at filled in
 *   chopin_json_model(c, 201, &todo_model, t);
 *
 * Every value travels as a $n parameter; table and column names come from
 * the model only (a filter or an ordering naming anything else is answered
 * 422), and are quoted. Functions return 0 / a pointer on success, and -1 /
 * NULL on failure with the failure kept on the request (chopin/db.h): a
 * handler that then returns without answering gets the mapped error (404
 * when a find, update or delete matches no row, 409 on a unique violation,
 * 422, 503, 500).
 *
 * Storage: numbers, booleans and strings in their natural column types;
 * timestamps as TIMESTAMPTZ (PostgreSQL) or fixed-width RFC 3339 text in UTC
 * (SQLite, so text order is time order); uuid as UUID / TEXT; nested objects
 * and arrays as JSON (JSONB / TEXT). */
#ifndef CHOPIN_ORM_H
#define CHOPIN_ORM_H

#include "db.h"
#include "model.h"

/* --- Rows by key ------------------------------------------------------------------ */

/* INSERTs obj's fields (not the database's: a generated key), sets the
 * CHOPIN_CREATED_AT / _UPDATED_AT times, and reads back the read-only
 * fields (the new id) into obj. A read-only uuid key left NULL gets a
 * random (version 4) uuid. */
int chopin_orm_insert(chopin_ctx *c, const chopin_model *m, void *obj);
/* The same for count structs laid out contiguously, in one transaction (a
 * savepoint inside one already open); one round trip on PostgreSQL. */
int chopin_orm_insert_many(chopin_ctx *c, const chopin_model *m, void *objs, size_t count);
/* The row whose primary key is id, as a new struct in the request arena;
 * NULL when there is none (404) or on failure. */
void *chopin_orm_find(chopin_ctx *c, const chopin_model *m, chopin_arg id);
/* UPDATEs every writable field of the row with obj's key (404 if none), and
 * reads back the read-only ones. */
int chopin_orm_update(chopin_ctx *c, const chopin_model *m, void *obj);
/* The same for the named fields only: a NULL-terminated list of names. */
int chopin_orm_update_fields(chopin_ctx *c, const chopin_model *m, void *obj,
                             const char *const *fields);
/* DELETEs the row with this key; 404 if there is none. */
int chopin_orm_delete(chopin_ctx *c, const chopin_model *m, chopin_arg id);
/* INSERT, or UPDATE of the writable fields when a row with the same value
 * of conflict_field (a unique field; NULL: the primary key) exists. */
int chopin_orm_upsert(chopin_ctx *c, const chopin_model *m, void *obj, const char *conflict_field);

/* --- Lists ---------------------------------------------------------------------------- */

typedef enum {
    CHOPIN_EQ,
    CHOPIN_NE,
    CHOPIN_LT,
    CHOPIN_LE,
    CHOPIN_GT,
    CHOPIN_GE,
    CHOPIN_IN,       /* values[0..nvalues) */
    CHOPIN_LIKE,     /* case-sensitive on both databases; % and _ are wildcards, \ escapes */
    CHOPIN_ILIKE,    /* the same, ignoring case (on SQLite: of ASCII letters only) */
    CHOPIN_IS_NULL,  /* no value */
    CHOPIN_NOT_NULL, /* no value */
} chopin_op;

typedef struct {
    const char *field; /* a field of the model */
    chopin_op op;
    chopin_arg value;
    const chopin_arg *values; /* CHOPIN_IN */
    size_t nvalues;
} chopin_filter;

/* chopin_where("done", CHOPIN_EQ, chopin_arg_bool(false)),
 * chopin_where("note", CHOPIN_IS_NULL, chopin_arg_null()),
 * chopin_where_in("priority", values, n) */
static inline chopin_filter chopin_where(const char *field, chopin_op op, chopin_arg value) {
    return (chopin_filter){.field = field, .op = op, .value = value, .values = NULL, .nvalues = 0};
}
static inline chopin_filter chopin_where_in(const char *field, const chopin_arg *values, size_t n) {
    return (chopin_filter){
        .field = field, .op = CHOPIN_IN, .value = {0}, .values = values, .nvalues = n};
}

typedef struct {
    const chopin_filter *filters; /* all must hold */
    size_t nfilters;
    /* "title", "-created_at" (descending), "done,-id": field names of the
     * model, e.g. straight from ?sort=; the primary key is always the last
     * tiebreaker, so pages never overlap. NULL: by primary key. NULLs come
     * last going up and first going down, on both databases. */
    const char *order_by;
    int64_t limit; /* 0: all */
    int64_t offset;
    bool with_total; /* also count every matching row (for pages) */
} chopin_list_opts;

typedef struct {
    void *items; /* count structs of the model, in the request arena */
    size_t count;
    int64_t total; /* with_total: rows matching the filters; else -1 */
} chopin_list;

int chopin_orm_list(chopin_ctx *c, const chopin_model *m, const chopin_list_opts *opts,
                    chopin_list *out);
/* Rows matching the filters; -1 on failure. */
int64_t chopin_orm_count(chopin_ctx *c, const chopin_model *m, const chopin_filter *filters,
                         size_t nfilters);

/* A page from chopin_bind_page, answered with chopin_json_page: the common
 * "list" route in three lines. */
int chopin_orm_page(chopin_ctx *c, const chopin_model *m, const chopin_filter *filters,
                    size_t nfilters, const char *order_by, const chopin_page *page,
                    chopin_list *out);

/* --- Relations -------------------------------------------------------------------------- */

/* The children (model child, whose field fk refers to the parents) of
 * nparents parents (in any order, repeats allowed), in one round trip
 * however many parents: never N+1. Ordered by fk, then by order_by (as in
 * chopin_list_opts). */
int chopin_orm_children(chopin_ctx *c, const chopin_model *child, const char *fk,
                        const chopin_model *parent, const void *parents, size_t nparents,
                        const char *order_by, chopin_list *out);

/* --- Schema ------------------------------------------------------------------------------ */

/* CREATE TABLE IF NOT EXISTS for the model in the dialect (with UNIQUE,
 * NOT NULL, foreign keys, and CREATE INDEX for .indexed fields), as a
 * malloc'd string of ';'-separated statements (free() it). For migrations:
 * print it into your first migration. */
char *chopin_orm_create_sql(const chopin_model *m, chopin_db_dialect dialect);

#endif
