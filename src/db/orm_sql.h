/* orm_sql.h - building the ORM's SQL text: quoted names from the model
 * only, values as numbered parameters. Internal to the db module. */
#ifndef CHOPIN_ORM_SQL_H
#define CHOPIN_ORM_SQL_H

#include "chopin/orm.h"

#include "db_internal.h"

/* A growing SQL text; a failed one (out of memory, a bad name) stays failed
 * and says why in err. */
typedef struct {
    char *text;
    size_t len, cap;
    const char *err;
} sqlb;

void sqlb_free(sqlb *b);
void sqlb_add(sqlb *b, const char *s);
void sqlb_addf(sqlb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "name", refusing anything but letters, digits and '_' (names come from
 * models, but a model is code too). */
void sqlb_ident(sqlb *b, const char *name);

/* The arguments of a statement being built. */
typedef struct {
    chopin_arg *items;
    size_t count, cap;
} argv_t;

/* Appends a, returns its $n. */
size_t argv_push(chopin_ctx *c, argv_t *v, chopin_arg a);

const char *orm_table(const chopin_model *m);
const chopin_field *orm_field(const chopin_model *m, const char *name);
const chopin_field *orm_pk(const chopin_model *m);
/* The field's value in obj as an argument (timestamps as fixed-width text,
 * objects and arrays as JSON, absent values as NULL). */
chopin_arg orm_field_arg(chopin_ctx *c, const chopin_field *f, const void *obj);
/* A filter's value converted to what the field's column holds; false (and
 * the request's failure set: 422) when text does not read as that type. */
bool orm_coerce(db_session *s, const chopin_field *f, chopin_arg *a);

/* " WHERE ..." for the filters (nothing for none), arguments appended. */
bool orm_where(db_session *s, sqlb *b, argv_t *args, const chopin_model *m,
               const chopin_filter *filters, size_t n, chopin_db_dialect d);
/* " ORDER BY ..." from "a,-b", the primary key last. */
bool orm_order(db_session *s, sqlb *b, const chopin_model *m, const char *order_by,
               chopin_db_dialect d);
/* Every column of the model, quoted, comma-separated. */
void orm_columns(sqlb *b, const chopin_model *m, bool read_only_only);

#endif
