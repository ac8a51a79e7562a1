/* fuzz_check.h - CHECK(cond) for the fuzz targets: a property the target
 * checks. A failure names the file, the line and the condition, then
 * aborts, which libFuzzer reports as a crash and saves the input. */
#ifndef CHOPIN_FUZZ_CHECK_H
#define CHOPIN_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
