/* query.c - query strings into models, and pagination.
 *
 * The query is turned into the JSON value a client would have sent (numbers
 * and booleans read from their text, repeated keys as arrays) and decoded by
 * the same code as bodies, so the rules and messages are the same. */
#include "model_internal.h"

#include "../app/ctx_internal.h"

#include <stdlib.h>

/* The value of one query text for a field of type t, as JSON would give it. */
static void text_value(chopin_ctx *c, chopin_field_type t, chopin_str text,
                       chopin_json_value *out) {
    out->is_int = false;
    if (t == CHOPIN_BOOL) {
        if (chopin_str_eq(text, "true") || chopin_str_eq(text, "1")) {
            out->type = CHOPIN_JSON_BOOL;
            out->u.b = true;
            return;
        }
        if (chopin_str_eq(text, "false") || chopin_str_eq(text, "0")) {
            out->type = CHOPIN_JSON_BOOL;
            out->u.b = false;
            return;
        }
    } else if (t == CHOPIN_INT32 || t == CHOPIN_INT64 || t == CHOPIN_DOUBLE) {
        const chopin_json_value *n = chopin_json_parse(c, text.ptr, text.len, NULL);
        if (n && n->type == CHOPIN_JSON_NUMBER) {
            *out = *n;
            return;
        }
    }
    /* Anything else stays a string: the decoder reports a wrong type. */
    out->type = CHOPIN_JSON_STRING;
    out->u.str = (chopin_str){chopin_strdup(c, text.ptr, text.len), text.len};
}

#define QUERY_INVALID "the query string has invalid fields"

/* Decoded name=value pairs as the JSON object a client would have sent for
 * m; NULL (answered 500) when out of memory. */
const chopin_json_value *model_pairs_value(chopin_ctx *c, const chopin_model *m,
                                           const query_param *pairs, size_t count) {
    chopin_json_member *members = chopin_alloc(c, (m->count ? m->count : 1) * sizeof *members);
    chopin_json_value *obj = chopin_alloc(c, sizeof *obj);
    if (!members || !obj) {
        chopin_error(c, 500, "INTERNAL_ERROR", "out of memory");
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < m->count; i++) {
        const chopin_field *f = &m->fields[i];
        size_t hits = 0;
        for (size_t q = 0; q < count; q++) hits += chopin_str_eq(pairs[q].name, f->name);
        if (!hits) continue;
        chopin_json_member *mem = &members[n++];
        mem->key = chopin_str_c(f->name);
        if (f->type != CHOPIN_ARRAY) {
            size_t first = 0;
            while (!chopin_str_eq(pairs[first].name, f->name)) first++;
            text_value(c, f->type, pairs[first].value, &mem->value);
            continue;
        }
        chopin_json_value *items = chopin_alloc(c, hits * sizeof *items);
        if (!items) continue;
        size_t k = 0;
        for (size_t q = 0; q < count; q++)
            if (chopin_str_eq(pairs[q].name, f->name))
                text_value(c, f->item, pairs[q].value, &items[k++]);
        mem->value = (chopin_json_value){.type = CHOPIN_JSON_ARRAY, .u.arr = {items, k}};
    }
    *obj = (chopin_json_value){.type = CHOPIN_JSON_OBJECT, .u.obj = {members, n}};
    return obj;
}

void *model_bind_pairs(chopin_ctx *c, const chopin_model *m, const query_param *pairs, size_t count,
                       const char *message) {
    const chopin_json_value *obj = model_pairs_value(c, m, pairs, count);
    if (!obj) return NULL;
    chopin_field_error *errs;
    void *out = chopin_model_decode(c, m, obj, &errs);
    if (!out) model_error_fields(c, errs, message);
    return out;
}

void *chopin_bind_query(chopin_ctx *c, const chopin_model *m) {
    chopin_query(c, ""); /* parses the query once */
    return model_bind_pairs(c, m, c->query, c->num_query, QUERY_INVALID);
}

typedef struct {
    int64_t limit, offset, page, per_page;
    bool has_limit, has_offset, has_page, has_per_page;
} page_query;

bool chopin_bind_page(chopin_ctx *c, chopin_page *page, int64_t default_limit, int64_t max_limit) {
    /* The bounds depend on the call, so the model is built here, on the stack. */
    chopin_field fields[] = {
        {.name = "limit",
         .offset = offsetof(page_query, limit),
         .type = CHOPIN_INT64,
         .has_min = true,
         .min = 1,
         .has_max = true,
         .max = (double)max_limit,
         .presence = offsetof(page_query, has_limit) + 1},
        {.name = "offset",
         .offset = offsetof(page_query, offset),
         .type = CHOPIN_INT64,
         .has_min = true,
         .min = 0,
         .presence = offsetof(page_query, has_offset) + 1},
        {.name = "page",
         .offset = offsetof(page_query, page),
         .type = CHOPIN_INT64,
         .has_min = true,
         .min = 1,
         .presence = offsetof(page_query, has_page) + 1},
        {.name = "per_page",
         .offset = offsetof(page_query, per_page),
         .type = CHOPIN_INT64,
         .has_min = true,
         .min = 1,
         .has_max = true,
         .max = (double)max_limit,
         .presence = offsetof(page_query, has_per_page) + 1},
    };
    chopin_model model = {
        .name = "pagination", .size = sizeof(page_query), .fields = fields, .count = 4};
    page_query *q = chopin_bind_query(c, &model);
    if (!q) return false;
    if ((q->has_page || q->has_per_page) && (q->has_limit || q->has_offset)) {
        chopin_field_error e = {"page", "one_of", "use limit/offset or page/per_page, not both",
                                NULL};
        model_error_fields(c, &e, QUERY_INVALID);
        return false;
    }
    if (q->has_page || q->has_per_page) {
        int64_t per = q->has_per_page ? q->per_page : default_limit;
        int64_t pg = q->has_page ? q->page : 1;
        if (pg - 1 > INT64_MAX / per) {
            chopin_field_error e = {"page", "max", "is too large", NULL};
            model_error_fields(c, &e, QUERY_INVALID);
            return false;
        }
        page->limit = per;
        page->offset = (pg - 1) * per;
    } else {
        page->limit = q->has_limit ? q->limit : default_limit;
        page->offset = q->has_offset ? q->offset : 0;
    }
    return true;
}
