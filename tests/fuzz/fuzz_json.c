/* fuzz_json.c - libFuzzer target for the JSON reader and, through it, the
 * writer.
 *
 * The input is parsed whole (an exact-size heap copy, so AddressSanitizer
 * sees a read past the end). A rejected text must come with a message and an
 * offset within the text. An accepted one is written back with the streaming
 * writer (a walk over the tree calling chopin_json_*), and the writer's text
 * must parse again into the same tree: same types, counts, keys and strings
 * byte for byte; an integer (is_int) stays the same integer, any other
 * number keeps its double bit for bit (it may come back as an integer: 1.0
 * is written "1"). Two exceptions follow the writer's documented behaviour:
 * a number that overflowed to an infinity is written as null, and a tree
 * deeper than the writer's CHOPIN_JSON_MAX_DEPTH is not written at all.
 * Any difference aborts. */
#include "chopin/json.h"
#include "chopin/json_read.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

static size_t depth_of(const chopin_json_value *v) {
    size_t deepest = 0;
    if (v->type == CHOPIN_JSON_ARRAY) {
        for (size_t i = 0; i < v->u.arr.count; i++) {
            size_t d = depth_of(&v->u.arr.items[i]);
            if (d > deepest) deepest = d;
        }
        return deepest + 1;
    }
    if (v->type == CHOPIN_JSON_OBJECT) {
        for (size_t i = 0; i < v->u.obj.count; i++) {
            size_t d = depth_of(&v->u.obj.members[i].value);
            if (d > deepest) deepest = d;
        }
        return deepest + 1;
    }
    return 0;
}

static void check_str(chopin_str s) {
    CHECK(s.ptr);
    CHECK(s.ptr[s.len] == '\0');
}

static void write_value(chopin_json *j, const chopin_json_value *v) {
    switch (v->type) {
    case CHOPIN_JSON_NULL:
        chopin_json_null(j);
        break;
    case CHOPIN_JSON_BOOL:
        chopin_json_bool(j, v->u.b);
        break;
    case CHOPIN_JSON_NUMBER:
        if (v->is_int) {
            CHECK(v->u.num.d == (double)v->u.num.i);
            chopin_json_int(j, v->u.num.i);
        } else {
            CHECK(!isnan(v->u.num.d));
            chopin_json_double(j, v->u.num.d);
        }
        break;
    case CHOPIN_JSON_STRING:
        check_str(v->u.str);
        chopin_json_stringn(j, v->u.str.ptr, v->u.str.len);
        break;
    case CHOPIN_JSON_ARRAY:
        CHECK(v->u.arr.count == 0 || v->u.arr.items);
        chopin_json_array(j);
        for (size_t i = 0; i < v->u.arr.count; i++) write_value(j, &v->u.arr.items[i]);
        chopin_json_end(j);
        break;
    case CHOPIN_JSON_OBJECT:
        CHECK(v->u.obj.count == 0 || v->u.obj.members);
        chopin_json_object(j);
        for (size_t i = 0; i < v->u.obj.count; i++) {
            const chopin_json_member *m = &v->u.obj.members[i];
            check_str(m->key);
            chopin_json_keyn(j, m->key.ptr, m->key.len);
            write_value(j, &m->value);
        }
        chopin_json_end(j);
        break;
    default:
        CHECK(!"unknown type");
    }
}

static bool same_str(chopin_str a, chopin_str b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static bool same_bits(double a, double b) {
    return memcmp(&a, &b, sizeof a) == 0;
}

/* a: the first tree; b: the tree read back from the writer's text. */
static void check_same(const chopin_json_value *a, const chopin_json_value *b) {
    if (a->type == CHOPIN_JSON_NUMBER && !a->is_int && !isfinite(a->u.num.d)) {
        CHECK(b->type == CHOPIN_JSON_NULL); /* the writer's null for an infinity */
        return;
    }
    CHECK(a->type == b->type);
    switch (a->type) {
    case CHOPIN_JSON_NULL:
        break;
    case CHOPIN_JSON_BOOL:
        CHECK(a->u.b == b->u.b);
        break;
    case CHOPIN_JSON_NUMBER:
        if (a->is_int) {
            CHECK(b->is_int);
            CHECK(a->u.num.i == b->u.num.i);
        } else {
            if (!same_bits(a->u.num.d, b->u.num.d)) {
                fprintf(stderr, "fuzz_json: %a (%.17g) read back as %a (%.17g)\n", a->u.num.d,
                        a->u.num.d, b->u.num.d, b->u.num.d);
                abort();
            }
        }
        break;
    case CHOPIN_JSON_STRING:
        check_str(b->u.str);
        CHECK(same_str(a->u.str, b->u.str));
        break;
    case CHOPIN_JSON_ARRAY:
        CHECK(a->u.arr.count == b->u.arr.count);
        for (size_t i = 0; i < a->u.arr.count; i++)
            check_same(&a->u.arr.items[i], &b->u.arr.items[i]);
        break;
    case CHOPIN_JSON_OBJECT:
        CHECK(a->u.obj.count == b->u.obj.count);
        for (size_t i = 0; i < a->u.obj.count; i++) {
            check_str(b->u.obj.members[i].key);
            CHECK(same_str(a->u.obj.members[i].key, b->u.obj.members[i].key));
            check_same(&a->u.obj.members[i].value, &b->u.obj.members[i].value);
        }
        break;
    default:
        CHECK(!"unknown type");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size ? size : 1);
    CHECK(text);
    if (size) memcpy(text, data, size);

    chopin_json_error err = {.offset = (size_t)-1, .message = NULL};
    chopin_json_doc *doc = chopin_json_doc_parse(text, size, &err);
    if (!doc) {
        CHECK(err.message);
        CHECK(err.offset <= size);
        free(text);
        return 0;
    }
    const chopin_json_value *root = chopin_json_doc_root(doc);
    CHECK(root);
    CHECK(depth_of(root) <= CHOPIN_JSON_MAX_NESTING);

    if (depth_of(root) <= CHOPIN_JSON_MAX_DEPTH) {
        chopin_json *j = chopin_json_new();
        CHECK(j);
        write_value(j, root);
        CHECK(!chopin_json_failed(j));
        size_t len = 0;
        char *out = chopin_json_take(j, &len);
        chopin_json_free(j);
        CHECK(out);
        CHECK(strlen(out) == len); /* the writer escapes every NUL */

        char *again_text = malloc(len ? len : 1);
        CHECK(again_text);
        memcpy(again_text, out, len);
        chopin_json_error err2 = {.offset = (size_t)-1, .message = NULL};
        chopin_json_doc *again = chopin_json_doc_parse(again_text, len, &err2);
        if (!again) {
            fprintf(stderr, "fuzz_json: the writer's text is rejected at %zu (%s): %s\n",
                    err2.offset, err2.message ? err2.message : "?", out);
            abort();
        }
        check_same(root, chopin_json_doc_root(again));
        chopin_json_doc_free(again);
        free(again_text);
        free(out);
    }
    chopin_json_doc_free(doc);
    free(text);
    return 0;
}
