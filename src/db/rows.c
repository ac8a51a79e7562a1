/* rows.c - result sets: every cell converted once to a typed value in the
 * request arena, so that both backends hand over the same thing and the
 * driver's own result can be freed at once. */
#include "db_internal.h"

#include "../json/json_internal.h"
#include "../model/model_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

chopin_rows *rows_new(chopin_ctx *c, size_t ncols, size_t nrows) {
    chopin_rows *r = chopin_alloc(c, sizeof *r);
    if (!r) return NULL;
    *r = (chopin_rows){.nrows = nrows, .ncols = ncols, .c = c};
    if (ncols) {
        r->names = chopin_alloc(c, ncols * sizeof *r->names);
        if (!r->names) return NULL;
    }
    if (ncols && nrows) {
        if (nrows > SIZE_MAX / ncols / sizeof *r->cells) return NULL;
        r->cells = chopin_alloc(c, nrows * ncols * sizeof *r->cells);
        if (!r->cells) return NULL;
    }
    return r;
}

size_t chopin_rows_count(const chopin_rows *r) {
    return r ? r->nrows : 0;
}
size_t chopin_rows_columns(const chopin_rows *r) {
    return r ? r->ncols : 0;
}
const char *chopin_rows_name(const chopin_rows *r, size_t col) {
    return r && col < r->ncols ? r->names[col] : NULL;
}
int64_t chopin_rows_affected(const chopin_rows *r) {
    return r ? r->affected : 0;
}

int chopin_rows_find(const chopin_rows *r, const char *name) {
    for (size_t i = 0; r && i < r->ncols; i++)
        if (!strcmp(r->names[i], name)) return (int)i;
    return -1;
}

static const chopin_arg *cell(const chopin_rows *r, size_t row, size_t col) {
    static const chopin_arg null_cell = {.type = CHOPIN_ARG_NULL};
    if (!r || row >= r->nrows || col >= r->ncols) return &null_cell;
    return &r->cells[row * r->ncols + col];
}

bool chopin_rows_null(const chopin_rows *r, size_t row, size_t col) {
    return cell(r, row, col)->type == CHOPIN_ARG_NULL;
}

int64_t chopin_rows_int(const chopin_rows *r, size_t row, size_t col) {
    const chopin_arg *v = cell(r, row, col);
    switch (v->type) {
    case CHOPIN_ARG_INT:
    case CHOPIN_ARG_BOOL:
        return v->i;
    case CHOPIN_ARG_DOUBLE:
        return v->d >= -9.2e18 && v->d <= 9.2e18 ? (int64_t)v->d : 0;
    case CHOPIN_ARG_TEXT:
        return strtoll(v->s, NULL, 10);
    default:
        return 0;
    }
}

double chopin_rows_double(const chopin_rows *r, size_t row, size_t col) {
    const chopin_arg *v = cell(r, row, col);
    switch (v->type) {
    case CHOPIN_ARG_INT:
    case CHOPIN_ARG_BOOL:
        return (double)v->i;
    case CHOPIN_ARG_DOUBLE:
        return v->d;
    case CHOPIN_ARG_TEXT:
        return strtod(v->s, NULL);
    default:
        return 0;
    }
}

bool chopin_rows_bool(const chopin_rows *r, size_t row, size_t col) {
    const chopin_arg *v = cell(r, row, col);
    if (v->type == CHOPIN_ARG_TEXT)
        return v->len && (v->s[0] == 't' || v->s[0] == 'T' || v->s[0] == '1' || v->s[0] == 'y');
    return chopin_rows_int(r, row, col) != 0;
}

/* A number's text, made once on first ask and kept in the cell (whose s
 * and len are unused for numbers): "42", "1.5", "true". */
static const chopin_arg *with_text(const chopin_rows *r, size_t row, size_t col) {
    const chopin_arg *v = cell(r, row, col);
    if (v->type == CHOPIN_ARG_TEXT || v->type == CHOPIN_ARG_NULL || v->s) return v;
    char buf[40];
    size_t n;
    if (v->type == CHOPIN_ARG_DOUBLE)
        n = json_format_double(buf, v->d);
    else if (v->type == CHOPIN_ARG_BOOL)
        n = (size_t)snprintf(buf, sizeof buf, "%s", v->i ? "true" : "false");
    else
        n = json_format_int(buf, v->i);
    if (!n)
        n = (size_t)snprintf(buf, sizeof buf, "%s",
                             v->d != v->d ? "NaN"
                             : v->d < 0   ? "-Infinity"
                                          : "Infinity");
    chopin_arg *w = (chopin_arg *)v; /* rows belong to one request: no one else reads them */
    w->s = chopin_strdup(r->c, buf, n);
    w->len = w->s ? n : 0;
    return v;
}

const char *chopin_rows_text(const chopin_rows *r, size_t row, size_t col) {
    return with_text(r, row, col)->s;
}

size_t chopin_rows_len(const chopin_rows *r, size_t row, size_t col) {
    const chopin_arg *v = with_text(r, row, col);
    return v->s ? v->len : 0;
}

/* --- Timestamps ------------------------------------------------------------------ */

bool db_parse_timestamp(const char *s, size_t len, int64_t *micros) {
    /* PostgreSQL (DateStyle ISO) writes "2026-11-27 09:04:32.5+00" or
     * "+05:30"; rewrite into RFC 3339 and let the model's parser judge. */
    char buf[48];
    if (len < 19 || len >= sizeof buf - 3) return false;
    memcpy(buf, s, len);
    if (buf[10] == ' ') buf[10] = 'T';
    size_t n = len;
    if (n >= 3 && (buf[n - 3] == '+' || buf[n - 3] == '-') && buf[n - 3 + 1] >= '0' &&
        buf[n - 3 + 1] <= '9') {
        memcpy(buf + n, ":00", 3);
        n += 3;
    } else if (buf[n - 1] >= '0' && buf[n - 1] <= '9' && (n == 19 || buf[19] == '.')) {
        buf[n++] = 'Z'; /* no zone: a timestamp stored in UTC */
    }
    return model_parse_rfc3339(buf, n, micros);
}

size_t db_format_timestamp(char *out, int64_t micros) {
    size_t n = model_format_rfc3339(out, micros);
    if (n && out[n - 1] == 'Z' && (n < 21 || out[19] != '.')) { /* add ".000000" */
        memcpy(out + n - 1, ".000000Z", 9);
        n += 7;
    }
    return n;
}

/* --- Binding into models ------------------------------------------------------------ */

/* One cell into one field; false when it does not fit. */
static bool bind_cell(chopin_ctx *c, const chopin_field *f, char *obj, const chopin_arg *v) {
    char *p = obj + f->offset;
    if (f->presence) obj[f->presence - 1] = v->type != CHOPIN_ARG_NULL;
    if (v->type == CHOPIN_ARG_NULL) { /* NULL: the field's zero */
        memset(p, 0, f->size);
        return true;
    }
    switch (f->type) {
    case CHOPIN_BOOL: {
        bool b = v->type == CHOPIN_ARG_TEXT     ? (v->len && (v->s[0] == 't' || v->s[0] == '1'))
                 : v->type == CHOPIN_ARG_DOUBLE ? v->d != 0
                                                : v->i != 0;
        memcpy(p, &b, sizeof b);
        return true;
    }
    case CHOPIN_INT32:
    case CHOPIN_INT64: {
        int64_t i;
        if (v->type == CHOPIN_ARG_INT || v->type == CHOPIN_ARG_BOOL) {
            i = v->i;
        } else if (v->type == CHOPIN_ARG_TEXT) {
            char *end;
            errno = 0;
            i = strtoll(v->s, &end, 10);
            if (errno || end == v->s || *end) return false;
        } else {
            return false;
        }
        if (f->type == CHOPIN_INT32) {
            if (i < INT32_MIN || i > INT32_MAX) return false;
            int32_t i32 = (int32_t)i;
            memcpy(p, &i32, sizeof i32);
        } else {
            memcpy(p, &i, sizeof i);
        }
        return true;
    }
    case CHOPIN_DOUBLE: {
        double d = v->type == CHOPIN_ARG_DOUBLE ? v->d
                   : v->type == CHOPIN_ARG_TEXT ? strtod(v->s, NULL)
                                                : (double)v->i;
        memcpy(p, &d, sizeof d);
        return true;
    }
    case CHOPIN_TIMESTAMP: {
        int64_t us;
        if (v->type == CHOPIN_ARG_INT)
            us = v->i; /* stored as microseconds */
        else if (v->type != CHOPIN_ARG_TEXT || !db_parse_timestamp(v->s, v->len, &us))
            return false;
        memcpy(p, &us, sizeof us);
        return true;
    }
    case CHOPIN_OBJECT:
    case CHOPIN_ARRAY: { /* kept as JSON text */
        if (v->type != CHOPIN_ARG_TEXT) return false;
        const chopin_json_value *jv = chopin_json_parse(c, v->s, v->len, NULL);
        return jv && model_decode_field(c, f, jv, p);
    }
    default: { /* the string types */
        if (v->type != CHOPIN_ARG_TEXT) return false;
        const char *str = v->s;
        memcpy(p, &str, sizeof str);
        return true;
    }
    }
}

bool rows_apply(chopin_ctx *c, const chopin_rows *r, size_t row, const chopin_model *m, void *obj,
                bool read_only_only) {
    for (size_t f = 0; f < m->count; f++) {
        const chopin_field *fd = &m->fields[f];
        if (read_only_only && !fd->read_only) continue;
        int col = chopin_rows_find(r, fd->name);
        if (col < 0) continue;
        if (!bind_cell(c, fd, obj, cell(r, row, (size_t)col))) {
            db_session *s = db_session_of(c);
            if (s)
                db_fail(s, CHOPIN_DB_MISUSE, "XX000", fd->name,
                        "column %s of row %zu does not fit field %s.%s", fd->name, row, m->name,
                        fd->name);
            return false;
        }
    }
    return true;
}

void *chopin_rows_bind(chopin_ctx *c, const chopin_rows *r, const chopin_model *m) {
    size_t n = chopin_rows_count(r);
    char *objs = chopin_alloc(c, (n ? n : 1) * m->size);
    if (!objs) return NULL;
    memset(objs, 0, (n ? n : 1) * m->size);
    for (size_t i = 0; i < n; i++)
        if (!rows_apply(c, r, i, m, objs + i * m->size, false)) return NULL;
    return objs;
}
