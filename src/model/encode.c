/* encode.c - model structs into JSON with the streaming writer. */
#include "model_internal.h"

static void write_value(chopin_json *j, const chopin_field *f, chopin_field_type t,
                        const char *src) {
    switch (t) {
    case CHOPIN_BOOL:
        chopin_json_bool(j, *(const bool *)src);
        break;
    case CHOPIN_INT32:
        chopin_json_int(j, *(const int32_t *)src);
        break;
    case CHOPIN_INT64:
        chopin_json_int(j, *(const int64_t *)src);
        break;
    case CHOPIN_DOUBLE:
        chopin_json_double(j, *(const double *)src);
        break;
    case CHOPIN_TIMESTAMP: {
        char buf[40];
        size_t n = model_format_rfc3339(buf, *(const int64_t *)src);
        chopin_json_stringn(j, buf, n);
        break;
    }
    case CHOPIN_OBJECT:
        chopin_model_write(j, f->model, src);
        break;
    case CHOPIN_ARRAY: {
        const chopin_array *a = (const chopin_array *)src;
        size_t size = model_item_size(f->item, f->model);
        chopin_json_array(j);
        for (size_t i = 0; i < a->count; i++)
            write_value(j, f, f->item, (const char *)a->items + i * size);
        chopin_json_end(j);
        break;
    }
    default:
        chopin_json_string(j, *(const char *const *)src);
        break; /* NULL -> null */
    }
}

void model_write_field(chopin_json *j, const chopin_field *f, const void *field_ptr) {
    write_value(j, f, f->type, field_ptr);
}

static bool is_string(chopin_field_type t) {
    return t == CHOPIN_STRING || t == CHOPIN_TEXT || t == CHOPIN_UUID || t == CHOPIN_ENUM;
}

void chopin_model_write(chopin_json *j, const chopin_model *m, const void *obj) {
    chopin_json_object(j);
    for (size_t i = 0; i < m->count; i++) {
        const chopin_field *f = &m->fields[i];
        if (f->write_only) continue; /* passwords and the like never leave */
        const char *src = (const char *)obj + f->offset;
        bool absent = f->presence ? !*(const bool *)((const char *)obj + f->presence - 1)
                                  : is_string(f->type) && !*(const char *const *)src;
        /* Absent: null where the field may be null, left out where it may not,
         * so that what is written always binds again. */
        if (absent && !f->nullable) continue;
        chopin_json_key(j, f->name);
        if (absent)
            chopin_json_null(j);
        else
            write_value(j, f, f->type, src);
    }
    chopin_json_end(j);
}

static void write_array(chopin_json *j, const chopin_model *m, const void *objs, size_t count) {
    chopin_json_array(j);
    for (size_t i = 0; i < count; i++) chopin_model_write(j, m, (const char *)objs + i * m->size);
    chopin_json_end(j);
}

void chopin_json_model(chopin_ctx *c, int status, const chopin_model *m, const void *obj) {
    chopin_json *j = chopin_json_data_begin(c, status);
    chopin_model_write(j, m, obj);
    chopin_json_finish(j);
}

void chopin_json_models(chopin_ctx *c, int status, const chopin_model *m, const void *objs,
                        size_t count) {
    chopin_json *j = chopin_json_data_begin(c, status);
    write_array(j, m, objs, count);
    chopin_json_finish(j);
}

void chopin_json_page(chopin_ctx *c, int status, const chopin_model *m, const void *objs,
                      size_t count, const chopin_page *page, int64_t total) {
    chopin_json *j = chopin_json_data_begin(c, status);
    chopin_json_object(j);
    chopin_json_key(j, "items");
    write_array(j, m, objs, count);
    chopin_json_key(j, "total");
    chopin_json_int(j, total);
    chopin_json_key(j, "limit");
    chopin_json_int(j, page->limit);
    chopin_json_key(j, "offset");
    chopin_json_int(j, page->offset);
    chopin_json_end(j);
    chopin_json_finish(j);
}
