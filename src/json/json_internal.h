/* json_internal.h - the writer's state, shared with the ctx module that
 * embeds a writer in every request. Internal to libchopin. */
#ifndef CHOPIN_JSON_INTERNAL_H
#define CHOPIN_JSON_INTERNAL_H

#include "chopin/json.h"
#include "../core/core.h"

enum { JSON_LEVEL_OBJECT = 1, JSON_LEVEL_HAS_ITEMS = 2 };

struct chopin_json {
    chopin_buf *out;       /* where the text goes */
    chopin_buf_pool *pool; /* out's pool; NULL for a standalone writer */
    bool failed;           /* sticky: misuse or out of memory */
    bool after_key;        /* a key was written, its value is next */
    bool has_value;        /* the top-level value has begun: a document holds one */
    uint8_t depth;
    uint8_t level[CHOPIN_JSON_MAX_DEPTH]; /* JSON_LEVEL_* bits per open container */
    chopin_buf own;                       /* the buffer of a standalone writer */
    void *ctx;                            /* the request that owns this writer, if any */
    bool enveloped; /* opened as {"success":true,"data": ; finish closes it */
    int status;
};

void json_writer_init(chopin_json *j, chopin_buf *out, chopin_buf_pool *pool);

/* Formats v in decimal into out (at least 21 bytes); returns the length. */
size_t json_format_int(char *out, int64_t v);
size_t json_format_uint(char *out, uint64_t v);
/* Shortest of %.15g / %.17g that reads back as v; integral values as integers.
 * out must hold 32 bytes. Returns 0 for NaN and infinities. */
size_t json_format_double(char *out, double v);

#endif
