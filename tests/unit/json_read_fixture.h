/* json_read_fixture.h - what the test_json_read_*.c suites share: parsing
 * from an exact-size malloc'd copy of the input, so that AddressSanitizer
 * catches a read past its end. */
#ifndef CHOPIN_TESTS_JSON_READ_FIXTURE_H
#define CHOPIN_TESTS_JSON_READ_FIXTURE_H

#include <criterion/criterion.h>

#include "chopin.h"
#include "chopin/json_read.h"

#include <stdlib.h>
#include <string.h>

/* A parse of an exact-size heap copy; the copy lives as long as the doc. */
typedef struct {
    char *buf;
    chopin_json_doc *doc;
    chopin_json_error err;
} parsed;

static inline parsed parse_exact(const char *in, size_t len) {
    parsed p = {0};
    p.buf = malloc(len);
    if (!p.buf && len == 0) p.buf = malloc(1);
    cr_assert_not_null(p.buf);
    if (len) memcpy(p.buf, in, len);
    p.err.offset = (size_t)-1;
    p.err.message = NULL;
    p.doc = chopin_json_doc_parse(p.buf, len, &p.err);
    return p;
}

static inline void parsed_free(parsed *p) {
    chopin_json_doc_free(p->doc);
    free(p->buf);
}

#endif
