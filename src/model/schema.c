/* schema.c - a model's JSON Schema (draft 2020-12, OpenAPI 3.1's dialect). */
#include "model_internal.h"

#include <stdlib.h>

static void type_schema(chopin_json *j, const chopin_field *f, chopin_field_type t, bool item,
                        const schema_refs *refs);

/* JSON Schema's "required" holds for requests and responses alike: a
 * write-only field is never in a response and a read-only one never in a
 * request, so neither is listed (binding still enforces .required). */
static bool required_both_ways(const chopin_field *f) {
    return f->required && !f->write_only && !f->read_only;
}

static void model_schema(chopin_json *j, const chopin_model *m, const schema_refs *refs,
                         bool partial) {
    chopin_json_object(j);
    chopin_json_key(j, "type");
    chopin_json_string(j, "object");
    chopin_json_key(j, "properties");
    chopin_json_object(j);
    for (size_t i = 0; i < m->count; i++) {
        chopin_json_key(j, m->fields[i].name);
        type_schema(j, &m->fields[i], m->fields[i].type, false, refs);
    }
    chopin_json_end(j);
    size_t required = 0;
    for (size_t i = 0; i < m->count && !partial; i++) required += required_both_ways(&m->fields[i]);
    if (required) {
        chopin_json_key(j, "required");
        chopin_json_array(j);
        for (size_t i = 0; i < m->count; i++)
            if (required_both_ways(&m->fields[i])) chopin_json_string(j, m->fields[i].name);
        chopin_json_end(j);
    }
    if (m->strict) {
        chopin_json_key(j, "additionalProperties");
        chopin_json_bool(j, false);
    }
    chopin_json_end(j);
}

static const char *json_type(chopin_field_type t) {
    switch (t) {
    case CHOPIN_BOOL:
        return "boolean";
    case CHOPIN_INT32:
    case CHOPIN_INT64:
        return "integer";
    case CHOPIN_DOUBLE:
        return "number";
    case CHOPIN_OBJECT:
        return "object";
    case CHOPIN_ARRAY:
        return "array";
    default:
        return "string";
    }
}

/* A nested model by reference: {"$ref": ...} with the field's own
 * keywords beside it (JSON Schema 2020-12 allows siblings of $ref), and
 * null allowed through anyOf when the field is nullable. */
static void ref_schema(chopin_json *j, const chopin_field *f, bool item, const schema_refs *refs) {
    chopin_json_object(j);
    if (f->nullable && !item) {
        chopin_json_key(j, "anyOf");
        chopin_json_array(j);
        chopin_json_object(j);
        chopin_json_key(j, "$ref");
        chopin_json_string(j, refs->ref(f->model, refs->arg));
        chopin_json_end(j);
        chopin_json_object(j);
        chopin_json_key(j, "type");
        chopin_json_string(j, "null");
        chopin_json_end(j);
        chopin_json_end(j);
    } else {
        chopin_json_key(j, "$ref");
        chopin_json_string(j, refs->ref(f->model, refs->arg));
    }
    if (!item && f->read_only) {
        chopin_json_key(j, "readOnly");
        chopin_json_bool(j, true);
    }
    if (!item && f->write_only) {
        chopin_json_key(j, "writeOnly");
        chopin_json_bool(j, true);
    }
    chopin_json_end(j);
}

static void type_schema(chopin_json *j, const chopin_field *f, chopin_field_type t, bool item,
                        const schema_refs *refs) {
    if (t == CHOPIN_OBJECT && refs) {
        ref_schema(j, f, item, refs);
        return;
    }
    if (t == CHOPIN_OBJECT && !f->nullable) {
        model_schema(j, f->model, refs, false);
        return;
    }
    chopin_json_object(j);
    chopin_json_key(j, "type");
    if (f->nullable && !item) {
        chopin_json_array(j);
        chopin_json_string(j, json_type(t));
        chopin_json_string(j, "null");
        chopin_json_end(j);
    } else {
        chopin_json_string(j, json_type(t));
    }
    if (t == CHOPIN_INT32 || t == CHOPIN_INT64) {
        chopin_json_key(j, "format");
        chopin_json_string(j, t == CHOPIN_INT32 ? "int32" : "int64");
    }
    const char *format = t == CHOPIN_UUID        ? "uuid"
                         : t == CHOPIN_TIMESTAMP ? "date-time"
                                                 : f->format;
    if (format && json_type(t)[0] == 's' && !strcmp(format, "handle")) {
        chopin_json_key(j, "pattern"); /* no JSON Schema format says it */
        chopin_json_string(j, "^[A-Za-z0-9_.-]*$");
    } else if (format && json_type(t)[0] == 's') {
        chopin_json_key(j, "format");
        chopin_json_string(j, !strcmp(format, "email") ? "email" : format);
    }
    bool numeric = t == CHOPIN_INT32 || t == CHOPIN_INT64 || t == CHOPIN_DOUBLE;
    if (numeric && !item && f->has_min) {
        chopin_json_key(j, "minimum");
        chopin_json_double(j, f->min);
    }
    if (numeric && !item && f->has_max) {
        chopin_json_key(j, "maximum");
        chopin_json_double(j, f->max);
    }
    bool stringy = json_type(t)[0] == 's' && t != CHOPIN_TIMESTAMP;
    if (stringy && f->min_len) {
        chopin_json_key(j, "minLength");
        chopin_json_uint(j, f->min_len);
    }
    if (stringy && f->max_len) {
        chopin_json_key(j, "maxLength");
        chopin_json_uint(j, f->max_len);
    }
    if (stringy && f->one_of) {
        chopin_json_key(j, "enum");
        chopin_json_array(j);
        for (const char *const *v = f->one_of; *v; v++) chopin_json_string(j, *v);
        chopin_json_end(j);
    }
    if (t == CHOPIN_OBJECT) { /* nullable nested object */
        chopin_json_key(j, "properties");
        chopin_json_object(j);
        for (size_t i = 0; i < f->model->count; i++) {
            chopin_json_key(j, f->model->fields[i].name);
            type_schema(j, &f->model->fields[i], f->model->fields[i].type, false, refs);
        }
        chopin_json_end(j);
    }
    if (t == CHOPIN_ARRAY) {
        chopin_json_key(j, "items");
        type_schema(j, f, f->item, true, refs);
        if (f->has_min) {
            chopin_json_key(j, "minItems");
            chopin_json_double(j, f->min);
        }
        if (f->has_max) {
            chopin_json_key(j, "maxItems");
            chopin_json_double(j, f->max);
        }
    }
    if (!item && f->read_only) {
        chopin_json_key(j, "readOnly");
        chopin_json_bool(j, true);
    }
    if (!item && f->write_only) {
        chopin_json_key(j, "writeOnly");
        chopin_json_bool(j, true);
    }
    chopin_json_end(j);
}

char *chopin_model_schema(const chopin_model *m) {
    chopin_json *j = chopin_json_new();
    if (!j) return NULL;
    model_schema(j, m, NULL, false);
    char *text = chopin_json_take(j, NULL);
    chopin_json_free(j);
    return text;
}

void model_schema_write(chopin_json *j, const chopin_model *m, const schema_refs *refs,
                        bool partial) {
    model_schema(j, m, refs, partial);
}

void field_schema_write(chopin_json *j, const chopin_field *f, const schema_refs *refs) {
    type_schema(j, f, f->type, false, refs);
}
