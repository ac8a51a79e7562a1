/* log.c - one structured line per event, text (logfmt) or JSON.
 *
 * The line is built in a stack buffer and written with one write(2): stderr
 * is unbuffered and shared by every worker, and a single write of a few KiB
 * reaches a pipe or a terminal whole. */
#include "chopin/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4096

static chopin_log_level min_level = CHOPIN_LOG_INFO;
static chopin_log_format line_format = CHOPIN_LOG_TEXT;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void chopin_log_configure(chopin_log_level level, chopin_log_format format) {
    __atomic_store_n(&min_level, level, __ATOMIC_RELAXED);
    __atomic_store_n(&line_format, format, __ATOMIC_RELAXED);
}

bool chopin_log_enabled(chopin_log_level level) {
    return level >= __atomic_load_n(&min_level, __ATOMIC_RELAXED);
}

/* Fields fill up to FIELDS_MAX; the rest of the buffer is kept for the
 * truncation marker, the closing brace and the newline. */
#define FIELDS_MAX (LINE_MAX_BYTES - 48)

typedef struct {
    char data[LINE_MAX_BYTES];
    size_t len;
    bool full;
} line;

static void put(line *l, const char *s, size_t n) {
    if (l->full || n > FIELDS_MAX - l->len) {
        l->full = true;
        return;
    }
    memcpy(l->data + l->len, s, n);
    l->len += n;
}

static void put_char(line *l, char ch) {
    put(l, &ch, 1);
}

/* Control bytes become \u00XX in JSON and \xXX in text: a value can never
 * start a new line or hide part of one. */
static void put_escaped(line *l, const char *s, bool json) {
    static const char hex[] = "0123456789abcdef";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            put_char(l, '\\');
            put_char(l, (char)ch);
        } else if (ch == '\n') {
            put(l, "\\n", 2);
        } else if (ch < 0x20 || ch == 0x7f) {
            char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
            if (json)
                put(l, esc, 6);
            else
                put(l, (char[]){'\\', 'x', hex[ch >> 4], hex[ch & 15]}, 4);
        } else {
            put_char(l, (char)ch);
        }
    }
}

/* logfmt: bare when the value has no space, quote, '=' or control byte. */
static bool needs_quotes(const char *s) {
    if (!*s) return true;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == '"' || *s == '=' || *s == '\\' || *s == 0x7f)
            return true;
    return false;
}

static void put_field_raw(line *l, const char *key, const char *value, bool json, bool first) {
    if (json) {
        if (!first) put_char(l, ',');
        put_char(l, '"');
        put_escaped(l, key, true);
        put(l, "\":\"", 3);
        put_escaped(l, value, true);
        put_char(l, '"');
        return;
    }
    if (!first) put_char(l, ' ');
    put_escaped(l, key, false);
    put_char(l, '=');
    if (!needs_quotes(value)) {
        put(l, value, strlen(value));
        return;
    }
    put_char(l, '"');
    put_escaped(l, value, false);
    put_char(l, '"');
}

/* A field that does not fit is left out whole (a cut line still parses);
 * the line then ends with truncated=true. Returns false once full. */
static bool put_field(line *l, const char *key, const char *value, bool json, bool first) {
    size_t before = l->len;
    put_field_raw(l, key, value ? value : "", json, first);
    if (!l->full) return true;
    l->len = before;
    return false;
}

static void timestamp(char *out, size_t len) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ts.tv_nsec / 1000000) % 1000);
}

void chopin_log(chopin_log_level level, const char *msg, ...) {
    if (!chopin_log_enabled(level)) return;
    if ((unsigned)level > CHOPIN_LOG_ERROR) level = CHOPIN_LOG_ERROR;
    bool json = __atomic_load_n(&line_format, __ATOMIC_RELAXED) == CHOPIN_LOG_JSON;
    char ts[64];
    timestamp(ts, sizeof ts);
    line l;
    l.len = 0;
    l.full = false;
    if (json) put_char(&l, '{');
    put_field(&l, "ts", ts, json, true);
    put_field(&l, "level", level_names[level], json, false);
    bool fits = put_field(&l, "msg", msg, json, false);
    va_list ap;
    va_start(ap, msg);
    const char *key;
    while (fits && (key = va_arg(ap, const char *)))
        fits = put_field(&l, key, va_arg(ap, const char *), json, false);
    va_end(ap);
    /* The reserve after FIELDS_MAX holds what follows. */
    const char *tail = fits ? "" : json ? ",\"truncated\":\"true\"" : " truncated=true";
    memcpy(l.data + l.len, tail, strlen(tail));
    l.len += strlen(tail);
    if (json) l.data[l.len++] = '}';
    l.data[l.len++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, l.data, l.len);
    (void)ignored;
}
