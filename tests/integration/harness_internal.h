/* harness_internal.h - what harness.c and harness_net.c share; not for
 * the tests themselves (harness.h is theirs). */
#ifndef CHOPIN_TEST_HARNESS_INTERNAL_H
#define CHOPIN_TEST_HARNESS_INTERNAL_H

#include <stdint.h>

/* Milliseconds left until deadline (h_now_ms), between 0 and 60 s. */
int harness_remaining_ms(int64_t deadline);
/* Sets what h_last_error() says. */
void harness_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Once per process: the wrapper's settings, SIGPIPE ignored, h_cleanup at exit. */
void harness_init(void);

#endif
