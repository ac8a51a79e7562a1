/* fuzz_sql_split - the PostgreSQL script splitter (src/db/split.c) on any
 * text: it never reads past the end, never crashes, and every statement it
 * returns is a piece of the input that holds something besides blanks, in
 * order, no more pieces than semicolons + 1. */
#include "db/db_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    size_t len = strlen(text); /* a NUL inside ends the script, as for a C string */
    size_t semicolons = 0;
    for (size_t i = 0; i < len; i++) semicolons += text[i] == ';';
    char **stmts;
    size_t n = db_split_statements(text, &stmts);
    if (n > semicolons + 1) abort();
    const char *from = text;
    for (size_t i = 0; i < n; i++) {
        const char *at = strstr(from, stmts[i]);
        if (!at || !stmts[i][strspn(stmts[i], " \t\r\n")]) abort();
        from = at + strlen(stmts[i]);
        free(stmts[i]);
    }
    free(stmts);
    free(text);
    return 0;
}
