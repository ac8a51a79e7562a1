/* chopin/log.h - structured logs: one line per event on stderr.
 *
 *   chopin_log(CHOPIN_LOG_WARN, "upload refused", "route", "/files", "reason", why, NULL);
 *
 * prints, in the text format (LOG_FORMAT=text, the default)
 *
 *   ts=2026-11-27T15:14:02.123Z level=warn msg="upload refused" route=/files reason="too big"
 *
 * or in the JSON format (LOG_FORMAT=json) one object per line:
 *
 *   {"ts":"2026-11-27T15:14:02.123Z","level":"warn","msg":"upload refused","route":"/files",...}
 *
 * The fields after msg are pairs of strings ending with NULL. Each line is
 * one write(2), so lines from different threads never interleave. Events
 * below LOG_LEVEL are dropped before anything is formatted. Never pass a
 * secret (a password, a token, a key, a connection string with its
 * password): logs are read by more people than secrets should be. */
#ifndef CHOPIN_LOG_H
#define CHOPIN_LOG_H

#include <stdbool.h>

typedef enum {
    CHOPIN_LOG_DEBUG,
    CHOPIN_LOG_INFO,
    CHOPIN_LOG_WARN,
    CHOPIN_LOG_ERROR
} chopin_log_level;
typedef enum { CHOPIN_LOG_TEXT, CHOPIN_LOG_JSON } chopin_log_format;

/* Process-wide; chopin_app_new sets them from LOG_LEVEL and LOG_FORMAT. */
void chopin_log_configure(chopin_log_level min_level, chopin_log_format format);
bool chopin_log_enabled(chopin_log_level level);

/* msg, then key, value, key, value, ..., NULL. A NULL value is written as
 * an empty string. Lines are cut at 4 KiB. */
void chopin_log(chopin_log_level level, const char *msg, ...);

#endif
