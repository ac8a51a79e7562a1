/* chopin/json_read.h - the JSON reader (RFC 8259).
 *
 * Parses a complete JSON text into a tree of values allocated from one
 * allocator: the request arena inside a handler (nothing to free), or a
 * document you free at once outside one. Strict RFC 8259: no comments, no
 * trailing commas, no NaN/Infinity, no leading zeros, no control characters
 * in strings, valid UTF-8 only (no overlong forms, no surrogates encoded in
 * UTF-8, nothing above U+10FFFF), \u escapes with surrogate pairs decoded and
 * lone surrogates rejected, one value per text with only whitespace around
 * it, nesting at most CHOPIN_JSON_MAX_NESTING deep.
 *
 * Numbers keep both forms: `is_int` is true when the text is an integer that
 * fits int64_t exactly (then `i` holds it); `d` always holds the nearest
 * double (correctly rounded, whatever the locale).
 *
 * Numbers too large for a double (1e400) are accepted with d = +/-HUGE_VAL;
 * too small ones become 0 or a subnormal, as strtod does.
 *
 * Strings (and keys) are decoded (escapes resolved) into NUL-terminated
 * copies; len counts the bytes, so a string holding \u0000 keeps them all.
 *
 * On error the result is NULL and *err says what and where: offset is the
 * first byte at which the text stops being the beginning of some valid JSON
 * text (the length of the text when it merely ends too soon):
 *   "[1,]"  -> offset 3, "expected a value"
 *   "01"    -> offset 1, "expected end of text" (no leading zeros) */
#ifndef CHOPIN_JSON_READ_H
#define CHOPIN_JSON_READ_H

#include "base.h"
#include "ctx.h"

#define CHOPIN_JSON_MAX_NESTING 128

typedef enum {
    CHOPIN_JSON_NULL,
    CHOPIN_JSON_BOOL,
    CHOPIN_JSON_NUMBER,
    CHOPIN_JSON_STRING,
    CHOPIN_JSON_ARRAY,
    CHOPIN_JSON_OBJECT
} chopin_json_type;

typedef struct chopin_json_value chopin_json_value;
typedef struct chopin_json_member chopin_json_member;

struct chopin_json_value {
    chopin_json_type type;
    bool is_int; /* NUMBER: an integer that fits int64_t */
    union {
        bool b;
        struct {
            int64_t i; /* when is_int */
            double d;  /* always */
        } num;
        chopin_str str; /* decoded; ptr is NUL-terminated */
        struct {
            chopin_json_value *items;
            size_t count;
        } arr;
        struct {
            chopin_json_member *members; /* in document order; duplicates kept */
            size_t count;
        } obj;
    } u;
};

struct chopin_json_member {
    chopin_str key; /* decoded; NUL-terminated */
    chopin_json_value value;
};

typedef struct {
    size_t offset;       /* byte offset in the text where the problem was found */
    const char *message; /* static text */
} chopin_json_error;

/* Inside a handler: parses text into the request arena. */
const chopin_json_value *chopin_json_parse(chopin_ctx *c, const char *text, size_t len,
                                           chopin_json_error *err);

/* Outside a request: the tree lives in a document freed with chopin_json_doc_free. */
typedef struct chopin_json_doc chopin_json_doc;
chopin_json_doc *chopin_json_doc_parse(const char *text, size_t len, chopin_json_error *err);
const chopin_json_value *chopin_json_doc_root(const chopin_json_doc *doc);
/* Parses another text into doc, reusing its memory: the previous tree is gone.
 * Returns the new root, or NULL with *err (doc then holds no tree). doc must
 * not be NULL: chopin_json_doc_new() makes an empty one for the first call. */
chopin_json_doc *chopin_json_doc_new(void);
const chopin_json_value *chopin_json_doc_reparse(chopin_json_doc *doc, const char *text, size_t len,
                                                 chopin_json_error *err);
void chopin_json_doc_free(chopin_json_doc *doc);

/* The last member named key in an object (JSON says keys should be unique;
 * when they are not, the last one wins, as in most parsers), or NULL. */
const chopin_json_value *chopin_json_get(const chopin_json_value *obj, const char *key);

#endif
