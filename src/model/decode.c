/* decode.c - JSON values into model structs, with validation.
 *
 * Every field is checked and every problem recorded before anything is
 * answered, so a client learns about all its mistakes at once. Paths name
 * fields the way a client would write them: "address.city", "tags[2]". */
#include "model_internal.h"

#include <math.h>
#include <stdarg.h>

typedef struct {
    chopin_ctx *c;
    chopin_field_error *head, *tail;
    bool partial; /* a PATCH: top-level fields may be absent, required or not */
} errors;

static void add(errors *e, const char *path, const char *code, const char *message) {
    chopin_field_error *fe = chopin_alloc(e->c, sizeof *fe);
    if (!fe) return;
    fe->field = path;
    fe->code = code;
    fe->message = message;
    fe->next = NULL;
    if (e->tail)
        e->tail->next = fe;
    else
        e->head = fe;
    e->tail = fe;
}

/* A message with one number or word in it, in the arena. */
static const char *msgf(errors *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *msgf(errors *e, const char *fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return "invalid";
    return chopin_strdup(e->c, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static const char *join(errors *e, const char *parent, const char *name) {
    if (!parent || !*parent) return name;
    size_t a = strlen(parent), b = strlen(name);
    char *p = chopin_alloc(e->c, a + b + 2);
    if (!p) return name;
    memcpy(p, parent, a);
    p[a] = '.';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

static const char *index_path(errors *e, const char *parent, size_t i) {
    return msgf(e, "%s[%zu]", parent ? parent : "", i);
}

size_t model_item_size(chopin_field_type t, const chopin_model *m) {
    switch (t) {
    case CHOPIN_BOOL:
        return sizeof(bool);
    case CHOPIN_INT32:
        return sizeof(int32_t);
    case CHOPIN_INT64:
    case CHOPIN_TIMESTAMP:
        return sizeof(int64_t);
    case CHOPIN_DOUBLE:
        return sizeof(double);
    case CHOPIN_OBJECT:
        return m ? m->size : 0;
    case CHOPIN_ARRAY:
        return sizeof(chopin_array);
    default:
        return sizeof(const char *);
    }
}

/* --- String checks ------------------------------------------------------------------ */

static size_t code_points(chopin_str s) {
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++) n += ((unsigned char)s.ptr[i] & 0xc0) != 0x80;
    return n;
}

/* A user name or slug: letters, digits, '_', '.', '-'. */
static bool is_handle(chopin_str s) {
    for (size_t i = 0; i < s.len; i++) {
        unsigned char ch = (unsigned char)s.ptr[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-'))
            return false;
    }
    return true;
}

static bool is_email(chopin_str s) {
    const char *at = memchr(s.ptr, '@', s.len);
    if (!at || at == s.ptr || s.len > 254) return false;
    size_t local = (size_t)(at - s.ptr), domain = s.len - local - 1;
    if (!domain || memchr(at + 1, '@', domain) || !memchr(at + 1, '.', domain)) return false;
    if (at[1] == '.' || s.ptr[s.len - 1] == '.') return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char ch = (unsigned char)s.ptr[i];
        if (ch <= ' ' || ch == 0x7f || ch == '(' || ch == ')' || ch == ',' || ch == ';' ||
            ch == '<' || ch == '>' || ch == '[' || ch == ']' || ch == '\\' || ch == '"')
            return false;
    }
    return true;
}

static bool is_uuid(chopin_str s) {
    if (s.len != 36) return false;
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s.ptr[i] != '-' : hex_value((unsigned char)s.ptr[i]) < 0) return false;
    }
    return true;
}

static bool is_uri(chopin_str s) {
    size_t i = 0;
    if (!s.len || !((s.ptr[0] | 0x20) >= 'a' && (s.ptr[0] | 0x20) <= 'z')) return false;
    while (i < s.len && s.ptr[i] != ':') {
        char ch = s.ptr[i];
        if (!((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') && !(ch >= '0' && ch <= '9') && ch != '+' &&
            ch != '-' && ch != '.')
            return false;
        i++;
    }
    if (i == s.len || i + 1 == s.len) return false;
    for (; i < s.len; i++)
        if ((unsigned char)s.ptr[i] <= ' ' || s.ptr[i] == 0x7f) return false;
    return true;
}

static bool in_list(const char *const *list, chopin_str s) {
    for (; *list; list++)
        if (strlen(*list) == s.len && memcmp(*list, s.ptr, s.len) == 0) return true;
    return false;
}

static const char *list_text(errors *e, const char *const *list) {
    char buf[256];
    size_t n = 0;
    for (; *list && n < sizeof buf - 1; list++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? ", " : "", *list);
    return chopin_strdup(e->c, buf, n < sizeof buf ? n : sizeof buf - 1);
}

/* A string-typed value: type, lengths, format, allowed values. */
static bool check_string(errors *e, const chopin_field *f, chopin_field_type t,
                         const chopin_json_value *v, const char *path, const char **out) {
    if (v->type != CHOPIN_JSON_STRING) {
        add(e, path, "type", "must be a string");
        return false;
    }
    chopin_str s = v->u.str;
    bool ok = true;
    size_t cps = code_points(s);
    if (f->min_len && cps < f->min_len) {
        add(e, path, "min_length", msgf(e, "must be at least %zu characters", f->min_len));
        ok = false;
    }
    if (f->max_len && cps > f->max_len) {
        add(e, path, "max_length", msgf(e, "must be at most %zu characters", f->max_len));
        ok = false;
    }
    const char *format = t == CHOPIN_UUID ? "uuid" : f->format;
    if (format) {
        bool handle = !strcmp(format, "handle");
        bool good = !strcmp(format, "email")  ? is_email(s)
                    : !strcmp(format, "uuid") ? is_uuid(s)
                    : !strcmp(format, "uri")  ? is_uri(s)
                    : handle                  ? is_handle(s)
                                              : true;
        if (!good) {
            add(e, path, "format",
                handle ? "may hold only letters, digits, '_', '.' and '-'"
                       : msgf(e, "must be a valid %s", format));
            ok = false;
        }
    }
    if (f->one_of && !in_list(f->one_of, s)) {
        add(e, path, "one_of", msgf(e, "must be one of: %s", list_text(e, f->one_of)));
        ok = false;
    }
    if (!ok) return false;
    if (t == CHOPIN_UUID) { /* stored lowercase: one spelling per value */
        char *low = chopin_strdup(e->c, s.ptr, s.len);
        for (size_t i = 0; low && i < s.len; i++)
            if (low[i] >= 'A' && low[i] <= 'F') low[i] = (char)(low[i] | 0x20);
        *out = low;
    } else {
        *out = s.ptr; /* the reader's copy: NUL-terminated, in the arena */
    }
    return true;
}

static bool check_range(errors *e, const chopin_field *f, double x, const char *path) {
    bool ok = true;
    if (f->has_min && x < f->min) {
        add(e, path, "min", msgf(e, "must be at least %.15g", f->min));
        ok = false;
    }
    if (f->has_max && x > f->max) {
        add(e, path, "max", msgf(e, "must be at most %.15g", f->max));
        ok = false;
    }
    return ok;
}

static bool decode_object(errors *e, const chopin_model *m, const chopin_json_value *v, void *out,
                          const char *path);

/* One value of type t into dst. Array item constraints use the array's
 * field for lengths, formats and allowed values, not for counts. */
static bool decode_value(errors *e, const chopin_field *f, chopin_field_type t,
                         const chopin_json_value *v, void *dst, const char *path, bool item) {
    switch (t) {
    case CHOPIN_BOOL:
        if (v->type != CHOPIN_JSON_BOOL) {
            add(e, path, "type", "must be true or false");
            return false;
        }
        *(bool *)dst = v->u.b;
        return true;
    case CHOPIN_INT32:
    case CHOPIN_INT64: {
        bool i32 = t == CHOPIN_INT32;
        if (v->type != CHOPIN_JSON_NUMBER || !v->is_int ||
            (i32 && (v->u.num.i < INT32_MIN || v->u.num.i > INT32_MAX))) {
            add(e, path, "type",
                i32 ? "must be a whole number from -2147483648 to 2147483647"
                    : "must be a whole number from -9223372036854775808 to 9223372036854775807");
            return false;
        }
        if (!item && !check_range(e, f, (double)v->u.num.i, path)) return false;
        if (i32)
            *(int32_t *)dst = (int32_t)v->u.num.i;
        else
            *(int64_t *)dst = v->u.num.i;
        return true;
    }
    case CHOPIN_DOUBLE:
        if (v->type != CHOPIN_JSON_NUMBER || !isfinite(v->u.num.d)) {
            add(e, path, "type", "must be a finite number");
            return false;
        }
        if (!item && !check_range(e, f, v->u.num.d, path)) return false;
        *(double *)dst = v->u.num.d;
        return true;
    case CHOPIN_TIMESTAMP: {
        int64_t us;
        if (v->type != CHOPIN_JSON_STRING) {
            add(e, path, "type", "must be a string (an RFC 3339 date-time)");
            return false;
        }
        if (!model_parse_rfc3339(v->u.str.ptr, v->u.str.len, &us)) {
            add(e, path, "format", "must be an RFC 3339 date-time, e.g. 2026-11-27T09:04:32Z");
            return false;
        }
        *(int64_t *)dst = us;
        return true;
    }
    case CHOPIN_STRING:
    case CHOPIN_TEXT:
    case CHOPIN_UUID:
    case CHOPIN_ENUM:
        return check_string(e, f, t, v, path, (const char **)dst);
    case CHOPIN_OBJECT:
        return decode_object(e, f->model, v, dst, path);
    case CHOPIN_ARRAY: {
        if (v->type != CHOPIN_JSON_ARRAY) {
            add(e, path, "type", "must be an array");
            return false;
        }
        size_t n = v->u.arr.count;
        bool ok = true;
        if (f->has_min && (double)n < f->min) {
            add(e, path, "min", msgf(e, "must have at least %.0f items", f->min));
            ok = false;
        }
        if (f->has_max && (double)n > f->max) {
            add(e, path, "max", msgf(e, "must have at most %.0f items", f->max));
            ok = false;
        }
        size_t size = model_item_size(f->item, f->model);
        char *items = n ? chopin_alloc(e->c, n * size) : NULL;
        if (n && !items) return false;
        if (n) memset(items, 0, n * size);
        for (size_t i = 0; i < n; i++) {
            const chopin_json_value *it = &v->u.arr.items[i];
            const char *ipath = index_path(e, path, i);
            if (it->type == CHOPIN_JSON_NULL) {
                add(e, ipath, "null", "must not be null");
                ok = false;
                continue;
            }
            if (!decode_value(e, f, f->item, it, items + i * size, ipath, true)) ok = false;
        }
        ((chopin_array *)dst)->items = items;
        ((chopin_array *)dst)->count = n;
        return ok;
    }
    }
    add(e, path, "type", "has an unknown type in its model");
    return false;
}

static bool is_field(const chopin_model *m, chopin_str key) {
    for (size_t i = 0; i < m->count; i++)
        if (strlen(m->fields[i].name) == key.len && !memcmp(m->fields[i].name, key.ptr, key.len))
            return true;
    return false;
}

static bool decode_object(errors *e, const chopin_model *m, const chopin_json_value *v, void *out,
                          const char *path) {
    if (v->type != CHOPIN_JSON_OBJECT) {
        add(e, path ? path : "", "type", "must be an object");
        return false;
    }
    bool ok = true;
    if (m->strict)
        for (size_t i = 0; i < v->u.obj.count; i++)
            if (!is_field(m, v->u.obj.members[i].key)) {
                add(e, join(e, path, v->u.obj.members[i].key.ptr), "unknown",
                    "is not a known field");
                ok = false;
            }
    for (size_t i = 0; i < m->count; i++) {
        const chopin_field *f = &m->fields[i];
        if (f->read_only) continue; /* the server's to set: ignored on input */
        const chopin_json_value *fv = chopin_json_get(v, f->name);
        const char *fpath = join(e, path, f->name);
        char *dst = (char *)out + f->offset;
        if (!fv) {
            if (f->required && !(e->partial && (!path || !*path))) {
                add(e, fpath, "required", "is required");
                ok = false;
            }
            continue;
        }
        if (fv->type == CHOPIN_JSON_NULL) {
            if (!f->nullable) {
                add(e, fpath, "null", "must not be null");
                ok = false;
            }
            continue; /* zero: NULL pointer, presence false */
        }
        if (!decode_value(e, f, f->type, fv, dst, fpath, false)) {
            ok = false;
            continue;
        }
        if (f->presence) *(bool *)((char *)out + f->presence - 1) = true;
    }
    return ok;
}

bool model_decode_field(chopin_ctx *c, const chopin_field *f, const chopin_json_value *v,
                        void *field_ptr) {
    errors e = {c, NULL, NULL, false};
    return decode_value(&e, f, f->type, v, field_ptr, f->name, false) && !e.head;
}

void *chopin_model_decode(chopin_ctx *c, const chopin_model *m, const chopin_json_value *v,
                          chopin_field_error **out_errors) {
    errors e = {c, NULL, NULL, false};
    void *obj = chopin_alloc(c, m->size ? m->size : 1);
    if (!obj) {
        add(&e, "", "memory", "out of memory");
        *out_errors = e.head;
        return NULL;
    }
    memset(obj, 0, m->size);
    bool ok = decode_object(&e, m, v, obj, "");
    *out_errors = e.head;
    return ok && !e.head ? obj : NULL;
}

void chopin_error_fields(chopin_ctx *c, const chopin_field_error *errs) {
    model_error_fields(c, errs, "the request body has invalid fields");
}

void model_error_fields(chopin_ctx *c, const chopin_field_error *errs, const char *message) {
    if (chopin_responded(c)) return;
    chopin_json *j = ctx_error_open(c, 422, "VALIDATION_FAILED", message);
    chopin_json_key(j, "fields");
    chopin_json_array(j);
    for (; errs; errs = errs->next) {
        chopin_json_object(j);
        chopin_json_key(j, "field");
        chopin_json_string(j, errs->field);
        chopin_json_key(j, "code");
        chopin_json_string(j, errs->code);
        chopin_json_key(j, "message");
        chopin_json_string(j, errs->message);
        chopin_json_end(j);
    }
    chopin_json_end(j);
    chopin_json_end(j);
    chopin_json_end(j);
    chopin_json_finish(j);
}

static bool is_form(chopin_str type) {
    static const char form[] = "application/x-www-form-urlencoded";
    size_t n = sizeof form - 1;
    if (type.len < n) return false;
    for (size_t i = 0; i < n; i++)
        if ((type.ptr[i] | 0x20) != form[i] && type.ptr[i] != form[i]) return false;
    return type.len == n || type.ptr[n] == ';' || type.ptr[n] == ' ';
}

/* The body as a JSON value: parsed JSON, or an HTML form read as the object
 * it stands for. NULL when answered (400 with the offset). */
static const chopin_json_value *body_value(chopin_ctx *c, const chopin_model *m) {
    chopin_str body = chopin_req_body(c);
    if (is_form(chopin_req_header(c, "Content-Type"))) { /* an HTML form: same rules */
        query_param *pairs;
        size_t n = ctx_parse_pairs(c, body, &pairs);
        return model_pairs_value(c, m, pairs, n);
    }
    chopin_json_error err;
    const chopin_json_value *v = chopin_json_parse(c, body.ptr, body.len, &err);
    if (!v) {
        char msg[160];
        snprintf(msg, sizeof msg, "invalid JSON at byte %zu: %s", err.offset, err.message);
        chopin_error(c, 400, "INVALID_JSON", msg);
    }
    return v;
}

void *chopin_bind(chopin_ctx *c, const chopin_model *m) {
    const chopin_json_value *v = body_value(c, m);
    if (!v) return NULL;
    chopin_field_error *errs;
    void *obj = chopin_model_decode(c, m, v, &errs);
    if (!obj) chopin_error_fields(c, errs);
    return obj;
}

const char *const *chopin_bind_patch(chopin_ctx *c, const chopin_model *m, void *obj) {
    const chopin_json_value *v = body_value(c, m);
    if (!v) return NULL;
    errors e = {c, NULL, NULL, true};
    char *tmp = chopin_alloc(c, m->size ? m->size : 1);
    const char **names = chopin_alloc(c, (m->count + 1) * sizeof *names);
    if (!tmp || !names) {
        chopin_error(c, 500, "INTERNAL_ERROR", "out of memory");
        return NULL;
    }
    memset(tmp, 0, m->size);
    if (!decode_object(&e, m, v, tmp, "") || e.head) {
        chopin_error_fields(c, e.head);
        return NULL;
    }
    /* Only now, all of it valid, do the present fields replace obj's. */
    size_t n = 0;
    for (size_t i = 0; i < m->count; i++) {
        const chopin_field *f = &m->fields[i];
        if (f->read_only || !chopin_json_get(v, f->name)) continue;
        memcpy((char *)obj + f->offset, tmp + f->offset, f->size);
        if (f->presence) ((char *)obj)[f->presence - 1] = tmp[f->presence - 1];
        names[n++] = f->name;
    }
    names[n] = NULL;
    return names;
}
