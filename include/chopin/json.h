/* chopin/json.h - a streaming JSON writer.
 *
 * The writer appends straight into a growable byte buffer (a response body,
 * usually): no tree, no intermediate strings. Commas and colons are placed for
 * you; strings are escaped per RFC 8259 (control characters, '"' and '\\');
 * integers and doubles are formatted without printf on the common paths.
 * Doubles that are NaN or infinite are written as null (JSON has neither).
 *
 *   chopin_json *j = chopin_json_begin(c, 200);
 *   chopin_json_object(j);
 *   chopin_json_key(j, "message"); chopin_json_string(j, "Hello, World!");
 *   chopin_json_end(j);
 *   chopin_json_finish(j);       // sends the response
 *
 * A document is exactly one value. Nesting deeper than CHOPIN_JSON_MAX_DEPTH,
 * a key outside an object, a second top-level value or no value at all sets a
 * sticky error flag: the response becomes a 500 instead of invalid JSON. */
#ifndef CHOPIN_JSON_H
#define CHOPIN_JSON_H

#include "base.h"

#define CHOPIN_JSON_MAX_DEPTH 128 /* the reader's CHOPIN_JSON_MAX_NESTING too */

typedef struct chopin_json chopin_json;

void chopin_json_object(chopin_json *j); /* { */
void chopin_json_array(chopin_json *j);  /* [ */
void chopin_json_end(chopin_json *j);    /* } or ] of the innermost open one */
void chopin_json_key(chopin_json *j, const char *key);
void chopin_json_keyn(chopin_json *j, const char *key, size_t len);
/* Strings must be UTF-8: the writer escapes them but does not validate them
 * (text from outside, say a database of another encoding, is the caller's to
 * check). */
void chopin_json_string(chopin_json *j, const char *s); /* NULL writes null */
void chopin_json_stringn(chopin_json *j, const char *s, size_t len);
void chopin_json_int(chopin_json *j, int64_t v);
void chopin_json_uint(chopin_json *j, uint64_t v);
void chopin_json_double(chopin_json *j, double v);
void chopin_json_bool(chopin_json *j, bool v);
void chopin_json_null(chopin_json *j);
/* Inserts already-encoded JSON as one value (trusted: not validated). */
void chopin_json_raw(chopin_json *j, const char *json, size_t len);
/* True once the writer has seen misuse (unbalanced nesting, key outside an object). */
bool chopin_json_failed(const chopin_json *j);

/* --- Standalone use, outside a request (tests, tools, caches) ------------ */

/* A writer over a caller-owned malloc'd buffer; chopin_json_take() hands the
 * NUL-terminated text to the caller (free() it), or NULL if the writer failed
 * or holds no complete value. */
chopin_json *chopin_json_new(void);
char *chopin_json_take(chopin_json *j, size_t *len_out);
/* The text so far, without giving it up (NULL if the writer failed or holds
 * no complete value); valid until the next call on j. */
const char *chopin_json_text(chopin_json *j, size_t *len_out);
/* Empties a standalone writer for the next document, keeping its buffer. */
void chopin_json_reset(chopin_json *j);
void chopin_json_free(chopin_json *j);

/* Writes s as a JSON string literal (with quotes) into out, which must hold
 * at least 6 * len + 2 bytes; returns the number of bytes written. */
size_t chopin_json_escape(char *out, const char *s, size_t len);

#endif
