/* chopin/model.h - one declaration of a C struct drives JSON decoding with
 * validation (chopin_bind) and JSON encoding (chopin_json_model).
 *
 *   typedef struct { int64_t id; const char *title; bool done; int32_t priority; } todo;
 *
 *   #define TODO_FIELDS(F)                                                   \
 *       F(todo, id, CHOPIN_INT64, .read_only = true),                        \
 *       F(todo, title, CHOPIN_STRING, .required = true, .max_len = 200),     \
 *       F(todo, done, CHOPIN_BOOL),                                          \
 *       F(todo, priority, CHOPIN_INT32, .min = 1, .max = 5, .has_min = true, .has_max = true)
 *   CHOPIN_MODEL(todo, TODO_FIELDS);            // defines `const chopin_model todo_model`
 *
 *   todo *t = chopin_bind(c, &todo_model);      // NULL: 400 or 422 already sent
 *   chopin_json_model(c, 201, &todo_model, t);  // {"success":true,"data":{...}}
 *
 * Field storage by type:
 *   CHOPIN_BOOL bool, CHOPIN_INT32 int32_t, CHOPIN_INT64 int64_t, CHOPIN_DOUBLE double,
 *   CHOPIN_STRING / CHOPIN_TEXT / CHOPIN_UUID / CHOPIN_ENUM  const char * (NUL-terminated, NULL
 *     when absent or null; UUIDs are stored lowercase),
 *   CHOPIN_TIMESTAMP int64_t microseconds since 1970-01-01T00:00:00Z (RFC 3339 text in JSON),
 *   CHOPIN_OBJECT the nested struct itself (.model = &its_model),
 *   CHOPIN_ARRAY chopin_array (.item = element type, .model for arrays of objects).
 * A scalar that may be absent or null names a bool that records its presence:
 *   F(todo, due, CHOPIN_TIMESTAMP, .nullable = true, CHOPIN_PRESENCE(todo, has_due))
 *
 * Bound data lives in the request arena. Validation collects every problem
 * before answering 422; each has a path ("address.city", "tags[2]"), a code
 * (required, type, null, min, max, min_length, max_length, format, one_of,
 * unknown) and a message. */
#ifndef CHOPIN_MODEL_H
#define CHOPIN_MODEL_H

#include <stddef.h>

#include "ctx.h"
#include "json.h"
#include "json_read.h"

typedef enum {
    CHOPIN_BOOL = 1,
    CHOPIN_INT32,
    CHOPIN_INT64,
    CHOPIN_DOUBLE,
    CHOPIN_STRING,
    CHOPIN_TEXT, /* a long string: no default length limit in schemas */
    CHOPIN_TIMESTAMP,
    CHOPIN_UUID,
    CHOPIN_ENUM, /* a string from .one_of */
    CHOPIN_OBJECT,
    CHOPIN_ARRAY
} chopin_field_type;

typedef struct {
    void *items; /* count elements of the item type's storage, in the arena */
    size_t count;
} chopin_array;

typedef struct chopin_model chopin_model;

typedef struct {
    const char *name;
    size_t offset, size;
    chopin_field_type type;
    chopin_field_type item;    /* CHOPIN_ARRAY: the element type */
    const chopin_model *model; /* CHOPIN_OBJECT, or an array of objects */
    bool required, nullable, read_only, write_only;
    bool has_min, has_max;
    double min, max;           /* numbers: inclusive bounds; arrays: item counts */
    size_t min_len, max_len;   /* strings, in characters (UTF-8 code points); max 0 = none */
    const char *format;        /* "email", "uuid" or "uri" for strings */
    const char *const *one_of; /* NULL-terminated allowed strings (CHOPIN_ENUM, or any string) */
    size_t presence;           /* offsetof(bool) + 1 of the presence flag; 0 = none */
} chopin_field;

struct chopin_model {
    const char *name;
    size_t size;
    const chopin_field *fields;
    size_t count;
    bool strict; /* unknown members are errors (default: ignored) */
};

#define CHOPIN_FIELD(T, field, ...)                                                                \
    {                                                                                              \
        .name = #field, .offset = offsetof(T, field), .size = sizeof(((T *)0)->field),             \
        .type = __VA_ARGS__                                                                        \
    }
#define CHOPIN_PRESENCE(T, flag) .presence = offsetof(T, flag) + 1
#define CHOPIN_ONE_OF(...)                                                                         \
    .one_of = (const char *const[]) {                                                              \
        __VA_ARGS__, NULL                                                                          \
    }

#define CHOPIN_MODEL(T, FIELDS)                                                                    \
    static const chopin_field T##_fields_[] = {FIELDS(CHOPIN_FIELD)};                              \
    const chopin_model T##_model = {#T, sizeof(T), T##_fields_,                                    \
                                    sizeof T##_fields_ / sizeof T##_fields_[0], false}

/* Decodes the request body (JSON, or an application/x-www-form-urlencoded
 * form read like a query string) into a new struct in the request arena and
 * validates it. On malformed JSON answers 400 (with the byte offset), on a
 * body that is not an object or fails validation answers 422 listing every
 * invalid field, and returns NULL. */
void *chopin_bind(chopin_ctx *c, const chopin_model *m);

/* One validation problem; a list in the request arena, in the model's field
 * order whatever the body's key order (a strict model's unknown members first),
 * so the same mistakes always give the same answer. */
typedef struct chopin_field_error chopin_field_error;
struct chopin_field_error {
    const char *field;   /* "title", "address.city", "tags[2]"; "" for the body itself */
    const char *code;    /* required, type, null, min, max, min_length, max_length, format,
                            one_of, unknown */
    const char *message; /* for people */
    chopin_field_error *next;
};

/* The same from an already parsed value, without answering: returns the
 * struct, or NULL with *errors set (for custom envelopes, tests, nested use). */
void *chopin_model_decode(chopin_ctx *c, const chopin_model *m, const chopin_json_value *v,
                          chopin_field_error **errors);
/* Answers 422 with the error envelope and a "fields" array:
 *   {"error":{"status":422,"code":"VALIDATION_FAILED","message":"...",
 *             "fields":[{"field":"title","code":"required","message":"..."}]}} */
void chopin_error_fields(chopin_ctx *c, const chopin_field_error *errors);

/* Binds the query string (?name=value&...) into a model the same way: numbers
 * and booleans (true/false/1/0) are read from their text, repeated keys make
 * arrays, and problems answer 422 (field paths as in the body). NULL when
 * answered. */
void *chopin_bind_query(chopin_ctx *c, const chopin_model *m);

/* Pagination from the query: ?limit=&offset= or ?page=&per_page= (1-based).
 * limit defaults to default_limit and may not pass max_limit; bad values
 * answer 422. Returns false when answered. */
typedef struct {
    int64_t limit;
    int64_t offset;
} chopin_page;
bool chopin_bind_page(chopin_ctx *c, chopin_page *page, int64_t default_limit, int64_t max_limit);

/* The model's JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) as a
 * NUL-terminated malloc'd string (free() it): properties with types, formats,
 * bounds, enums, readOnly/writeOnly, nullability and the required list;
 * nested models inline. */
char *chopin_model_schema(const chopin_model *m);

/* Writes the struct as a JSON object. Write-only fields are left out; so are
 * absent ones (NULL strings, scalars whose presence flag is false) unless the
 * field is nullable, when they are written as null: what is written always
 * binds again into the same struct. */
void chopin_model_write(chopin_json *j, const chopin_model *m, const void *obj);
/* Answers with the struct in the success envelope:
 *   {"success":true,"data":{...}} */
void chopin_json_model(chopin_ctx *c, int status, const chopin_model *m, const void *obj);
/* Answers with an array of count structs laid out contiguously:
 *   {"success":true,"data":[{...},{...}]} */
void chopin_json_models(chopin_ctx *c, int status, const chopin_model *m, const void *objs,
                        size_t count);
/* Answers with one page of a longer list, total being the length of the
 * whole list (page is what chopin_bind_page read):
 *   {"success":true,"data":{"items":[...],"total":42,"limit":20,"offset":40}} */
void chopin_json_page(chopin_ctx *c, int status, const chopin_model *m, const void *objs,
                      size_t count, const chopin_page *page, int64_t total);

#endif
