/* model_internal.h - shared by the model module's files. Internal. */
#ifndef CHOPIN_MODEL_INTERNAL_H
#define CHOPIN_MODEL_INTERNAL_H

#include "chopin/model.h"

#include "../app/ctx_internal.h"

#include <stdio.h>
#include <string.h>

/* "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM)" -> microseconds since the epoch, UTC. */
bool model_parse_rfc3339(const char *s, size_t len, int64_t *micros);
/* Microseconds -> "YYYY-MM-DDTHH:MM:SS[.ffffff]Z"; out holds 40 bytes. */
size_t model_format_rfc3339(char *out, int64_t micros);

/* name=value pairs (query or form body) into a model; answers 422 with
 * message on problems. */
void *model_bind_pairs(chopin_ctx *c, const chopin_model *m, const query_param *pairs,
                       size_t count, const char *message);
const chopin_json_value *model_pairs_value(chopin_ctx *c, const chopin_model *m,
                                           const query_param *pairs, size_t count);
/* chopin_error_fields with the envelope's message of the caller's choice. */
void model_error_fields(chopin_ctx *c, const chopin_field_error *errs, const char *message);

/* One field's value (at field_ptr) as JSON, and back: the database keeps
 * nested objects and arrays as JSON text. */
void model_write_field(chopin_json *j, const chopin_field *f, const void *field_ptr);
bool model_decode_field(chopin_ctx *c, const chopin_field *f, const chopin_json_value *v,
                        void *field_ptr);

/* Storage size of one element of a type (arrays). */
size_t model_item_size(chopin_field_type t, const chopin_model *m);

/* schema.c, for the OpenAPI document: schemas whose nested models are
 * references. ref returns the reference's target ("#/components/schemas/x")
 * and remembers the model so that its schema is written once, elsewhere. */
typedef struct {
    const char *(*ref)(const chopin_model *m, void *arg);
    void *arg;
} schema_refs;
/* partial: nothing required at the top (a PATCH body, chopin_bind_patch). */
void model_schema_write(chopin_json *j, const chopin_model *m, const schema_refs *refs,
                        bool partial);
/* One field's schema alone (a query or path parameter). */
void field_schema_write(chopin_json *j, const chopin_field *f, const schema_refs *refs);

#endif
