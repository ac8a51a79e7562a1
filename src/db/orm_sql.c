/* orm_sql.c - SQL text for the ORM. Only this file writes names into SQL,
 * and it writes only names found in a model, quoted; every value becomes a
 * $n parameter. */
#include "orm_sql.h"

#include "../model/model_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

/* --- Text ------------------------------------------------------------------------ */

void sqlb_free(sqlb *b) {
    free(b->text);
    *b = (sqlb){0};
}

static bool reserve(sqlb *b, size_t extra) {
    if (b->err) return false;
    if (b->len + extra + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    char *text = realloc(b->text, cap);
    if (!text) {
        b->err = "out of memory";
        return false;
    }
    b->text = text;
    b->cap = cap;
    return true;
}

void sqlb_add(sqlb *b, const char *s) {
    size_t n = strlen(s);
    if (!reserve(b, n)) return;
    memcpy(b->text + b->len, s, n + 1);
    b->len += n;
}

void sqlb_addf(sqlb *b, const char *fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf) {
        if (!b->err) b->err = "SQL fragment too long";
        return;
    }
    sqlb_add(b, buf);
}

void sqlb_ident(sqlb *b, const char *name) {
    bool ok = name && *name && !(*name >= '0' && *name <= '9') && strlen(name) < 64;
    for (const char *p = name; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             *p == '_';
    if (!ok) {
        if (!b->err) b->err = "a model or field name that is not a plain identifier";
        return;
    }
    sqlb_add(b, "\"");
    sqlb_add(b, name);
    sqlb_add(b, "\"");
}

size_t argv_push(chopin_ctx *c, argv_t *v, chopin_arg a) {
    if (v->count == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        chopin_arg *items = chopin_alloc(c, cap * sizeof *items);
        if (!items) return 0;
        if (v->count) memcpy(items, v->items, v->count * sizeof *items);
        v->items = items;
        v->cap = cap;
    }
    v->items[v->count++] = a;
    return v->count;
}

/* --- The model's names --------------------------------------------------------------- */

const char *orm_table(const chopin_model *m) {
    return m->table ? m->table : m->name;
}

const chopin_field *orm_field(const chopin_model *m, const char *name) {
    for (size_t i = 0; i < m->count; i++)
        if (!strcmp(m->fields[i].name, name)) return &m->fields[i];
    return NULL;
}

const chopin_field *orm_pk(const chopin_model *m) {
    for (size_t i = 0; i < m->count; i++)
        if (m->fields[i].primary_key) return &m->fields[i];
    return orm_field(m, "id");
}

void orm_columns(sqlb *b, const chopin_model *m, bool read_only_only) {
    bool first = true;
    for (size_t i = 0; i < m->count; i++) {
        if (read_only_only && !m->fields[i].read_only) continue;
        if (!first) sqlb_add(b, ", ");
        sqlb_ident(b, m->fields[i].name);
        first = false;
    }
    if (first) sqlb_add(b, "1"); /* nothing to read back */
}

/* --- Values ------------------------------------------------------------------------------ */

static chopin_arg timestamp_arg(chopin_ctx *c, int64_t us) {
    char buf[48];
    size_t n = db_format_timestamp(buf, us);
    return chopin_arg_text(chopin_strdup(c, buf, n));
}

chopin_arg orm_field_arg(chopin_ctx *c, const chopin_field *f, const void *obj) {
    const char *p = (const char *)obj + f->offset;
    if (f->presence && !((const char *)obj)[f->presence - 1]) return chopin_arg_null();
    switch (f->type) {
    case CHOPIN_BOOL:
        return chopin_arg_bool(*(const bool *)p);
    case CHOPIN_INT32:
        return chopin_arg_int(*(const int32_t *)p);
    case CHOPIN_INT64:
        return chopin_arg_int(*(const int64_t *)p);
    case CHOPIN_DOUBLE:
        return chopin_arg_double(*(const double *)p);
    case CHOPIN_TIMESTAMP:
        return timestamp_arg(c, *(const int64_t *)p);
    case CHOPIN_OBJECT:
    case CHOPIN_ARRAY: {
        chopin_json *j = chopin_json_new();
        if (!j) return chopin_arg_null();
        model_write_field(j, f, p);
        size_t len;
        const char *text = chopin_json_text(j, &len);
        chopin_arg a = text ? chopin_arg_text(chopin_strdup(c, text, len)) : chopin_arg_null();
        chopin_json_free(j);
        return a;
    }
    default:
        return chopin_arg_text(*(const char *const *)p);
    }
}

static bool text_bool(const char *s, bool *out) {
    if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "t")) return *out = true, true;
    if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "f")) return *out = false, true;
    return false;
}

bool orm_coerce(db_session *s, const chopin_field *f, chopin_arg *a) {
    if (a->type != CHOPIN_ARG_TEXT && !(f->type == CHOPIN_TIMESTAMP && a->type == CHOPIN_ARG_INT))
        return true;
    const char *text = a->type == CHOPIN_ARG_TEXT ? chopin_strdup(s->c, a->s, a->len) : NULL;
    char *end = NULL;
    bool ok = true;
    switch (f->type) {
    case CHOPIN_BOOL: {
        bool b;
        ok = text && text_bool(text, &b);
        if (ok) *a = chopin_arg_bool(b);
        break;
    }
    case CHOPIN_INT32:
    case CHOPIN_INT64: {
        errno = 0;
        long long v = text ? strtoll(text, &end, 10) : 0;
        ok = text && *text && !*end && !errno;
        if (ok) *a = chopin_arg_int(v);
        break;
    }
    case CHOPIN_DOUBLE: {
        double v = text ? strtod(text, &end) : 0;
        ok = text && *text && !*end;
        if (ok) *a = chopin_arg_double(v);
        break;
    }
    case CHOPIN_TIMESTAMP: { /* fixed width, so that SQLite's text order is time order */
        int64_t us = a->i;
        ok = !text || model_parse_rfc3339(text, strlen(text), &us);
        if (ok) *a = timestamp_arg(s->c, us);
        break;
    }
    default:
        break;
    }
    if (!ok) db_fail(s, CHOPIN_DB_INVALID, "22P02", f->name, "a filter value of the wrong type");
    return ok;
}

/* --- WHERE and ORDER BY ---------------------------------------------------------------------- */

static bool unknown(db_session *s, const char *name) {
    db_fail(s, CHOPIN_DB_INVALID, "42703", name, "no such field");
    return false;
}

/* The smallest power of two >= n (at least 1): IN lists are padded with
 * NULLs to these sizes, so that they make few distinct statements. */
static size_t padded(size_t n) {
    size_t p = 1;
    while (p < n) p *= 2;
    return p;
}

static bool filter_sql(db_session *s, sqlb *b, argv_t *args, const chopin_field *f,
                       const chopin_filter *flt, chopin_db_dialect d) {
    static const char *const cmp[] = {
        [CHOPIN_EQ] = " = ",  [CHOPIN_NE] = " <> ", [CHOPIN_LT] = " < ",
        [CHOPIN_LE] = " <= ", [CHOPIN_GT] = " > ",  [CHOPIN_GE] = " >= "};
    chopin_arg v = flt->value;
    switch (flt->op) {
    case CHOPIN_EQ:
    case CHOPIN_NE:
    case CHOPIN_LT:
    case CHOPIN_LE:
    case CHOPIN_GT:
    case CHOPIN_GE:
        if (!orm_coerce(s, f, &v)) return false;
        sqlb_ident(b, f->name);
        sqlb_addf(b, "%s$%zu", cmp[flt->op], argv_push(s->c, args, v));
        return true;
    case CHOPIN_LIKE:
    case CHOPIN_ILIKE:
        /* SQLite is told PostgreSQL's escape character, so that \% and \_
         * match themselves on both. */
        if (flt->op == CHOPIN_ILIKE && d == CHOPIN_SQLITE) {
            sqlb_add(b, "lower(");
            sqlb_ident(b, f->name);
            sqlb_addf(b, ") LIKE lower($%zu) ESCAPE '\\'", argv_push(s->c, args, v));
        } else if (d == CHOPIN_SQLITE) {
            sqlb_ident(b, f->name);
            sqlb_addf(b, " LIKE $%zu ESCAPE '\\'", argv_push(s->c, args, v));
        } else {
            sqlb_ident(b, f->name);
            sqlb_addf(b, " %s $%zu", flt->op == CHOPIN_LIKE ? "LIKE" : "ILIKE",
                      argv_push(s->c, args, v));
        }
        return true;
    case CHOPIN_IN: {
        if (!flt->nvalues) {
            sqlb_add(b, "1 = 0"); /* IN () matches nothing */
            return true;
        }
        sqlb_ident(b, f->name);
        sqlb_add(b, " IN (");
        size_t n = padded(flt->nvalues);
        for (size_t i = 0; i < n; i++) {
            chopin_arg a = i < flt->nvalues ? flt->values[i] : chopin_arg_null();
            if (i < flt->nvalues && !orm_coerce(s, f, &a)) return false;
            sqlb_addf(b, "%s$%zu", i ? ", " : "", argv_push(s->c, args, a));
        }
        sqlb_add(b, ")");
        return true;
    }
    case CHOPIN_IS_NULL:
    case CHOPIN_NOT_NULL:
        sqlb_ident(b, f->name);
        sqlb_add(b, flt->op == CHOPIN_IS_NULL ? " IS NULL" : " IS NOT NULL");
        return true;
    }
    db_fail(s, CHOPIN_DB_MISUSE, "42601", f->name, "unknown filter operator");
    return false;
}

bool orm_where(db_session *s, sqlb *b, argv_t *args, const chopin_model *m,
               const chopin_filter *filters, size_t n, chopin_db_dialect d) {
    for (size_t i = 0; i < n; i++) {
        const chopin_field *f = filters[i].field ? orm_field(m, filters[i].field) : NULL;
        if (!f) return unknown(s, filters[i].field ? filters[i].field : "");
        sqlb_add(b, i ? " AND " : " WHERE ");
        if (!filter_sql(s, b, args, f, &filters[i], d)) return false;
    }
    return true;
}

bool orm_order(db_session *s, sqlb *b, const chopin_model *m, const char *order_by,
               chopin_db_dialect d) {
    /* NULLs as PostgreSQL places them (last going up, first going down);
     * SQLite's own default is the opposite, so it is told. */
    const char *asc = d == CHOPIN_SQLITE ? " NULLS LAST" : "";
    const char *desc = d == CHOPIN_SQLITE ? " DESC NULLS FIRST" : " DESC";
    const chopin_field *pk = orm_pk(m);
    bool pk_seen = false, first = true;
    sqlb_add(b, " ORDER BY ");
    for (const char *p = order_by; p && *p;) {
        while (*p == ' ' || *p == ',') p++;
        if (!*p) break;
        bool desc_field = *p == '-';
        if (*p == '-' || *p == '+') p++;
        size_t len = strcspn(p, ", ");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(len < 63 ? len : 63), p);
        p += len;
        const chopin_field *f = len < 64 ? orm_field(m, name) : NULL;
        if (!f || f->type == CHOPIN_OBJECT || f->type == CHOPIN_ARRAY) return unknown(s, name);
        if (!first) sqlb_add(b, ", ");
        sqlb_ident(b, f->name);
        sqlb_add(b, desc_field ? desc : asc);
        pk_seen |= f == pk;
        first = false;
    }
    if (pk && !pk_seen) {
        if (!first) sqlb_add(b, ", ");
        sqlb_ident(b, pk->name);
    } else if (first) {
        sqlb_add(b, "1");
    }
    return true;
}
