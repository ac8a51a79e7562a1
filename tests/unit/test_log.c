/* test_log.c - structured log lines: logfmt and JSON, escaping, levels,
 * truncation that keeps a line parseable. */
#include <criterion/criterion.h>

#include <chopin.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[] = "/tmp/chopin-log-XXXXXX";
static int saved_stderr = -1;

/* stderr goes to a file for the test; captured() reads it back. */
static void capture(void) {
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    saved_stderr = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

static char *captured(void) {
    static char text[16384];
    int fd = open(path, O_RDONLY);
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    text[n > 0 ? n : 0] = 0;
    return text;
}

static void restore(void) {
    if (saved_stderr >= 0) dup2(saved_stderr, STDERR_FILENO), close(saved_stderr);
    unlink(path);
    chopin_log_configure(CHOPIN_LOG_INFO, CHOPIN_LOG_TEXT);
}

TestSuite(log, .init = capture, .fini = restore);

Test(log, text_lines_quote_what_needs_it) {
    chopin_log_configure(CHOPIN_LOG_INFO, CHOPIN_LOG_TEXT);
    chopin_log(CHOPIN_LOG_WARN, "disk almost full", "path", "/var/x", "free", "3 %", "q",
               "say \"hi\"\n", "empty", "", "none", NULL, NULL);
    const char *out = captured();
    cr_assert(strstr(out, " level=warn msg=\"disk almost full\" path=/var/x free=\"3 %\" "
                          "q=\"say \\\"hi\\\"\\n\" empty=\"\" none=\"\"\n"),
              "%s", out);
    cr_assert(!strncmp(out, "ts=20", 5), "%s", out);
    cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "one line: %s", out);
}

Test(log, control_bytes_cannot_forge_a_line) {
    chopin_log(CHOPIN_LOG_INFO, "x", "v", "a\r\nts=0 level=error msg=forged\x01", NULL);
    const char *out = captured();
    cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "one line: %s", out);
    cr_assert(strstr(out, "v=\"a\\x0d\\nts=0 level=error msg=forged\\x01\""), "%s", out);
}

Test(log, json_lines_are_objects) {
    chopin_log_configure(CHOPIN_LOG_DEBUG, CHOPIN_LOG_JSON);
    chopin_log(CHOPIN_LOG_DEBUG, "a \"quoted\" msg", "k", "tab\there\x1f", NULL);
    const char *out = captured();
    cr_assert(!strncmp(out, "{\"ts\":\"20", 9), "%s", out);
    cr_assert(strstr(out, "\",\"level\":\"debug\",\"msg\":\"a \\\"quoted\\\" msg\","
                          "\"k\":\"tab\\u0009here\\u001f\"}\n"),
              "%s", out);
    chopin_json_error err;
    chopin_json_doc *doc = chopin_json_doc_parse(out, strlen(out) - 1, &err);
    cr_assert_not_null(doc, "not JSON at %zu: %s", err.offset, err.message);
    chopin_json_doc_free(doc);
}

Test(log, below_the_level_nothing_is_written) {
    chopin_log_configure(CHOPIN_LOG_WARN, CHOPIN_LOG_TEXT);
    cr_assert(!chopin_log_enabled(CHOPIN_LOG_INFO));
    cr_assert(chopin_log_enabled(CHOPIN_LOG_ERROR));
    chopin_log(CHOPIN_LOG_INFO, "quiet", NULL);
    chopin_log(CHOPIN_LOG_DEBUG, "quieter", NULL);
    chopin_log(CHOPIN_LOG_ERROR, "loud", NULL);
    const char *out = captured();
    cr_assert(!strstr(out, "quiet"), "%s", out);
    cr_assert(strstr(out, "level=error msg=loud\n"), "%s", out);
}

/* A field that does not fit is left out whole, and the line says so: JSON
 * stays parseable, logfmt keeps its quotes balanced. */
Test(log, long_lines_are_cut_between_fields) {
    static char big[6000];
    memset(big, 'x', sizeof big - 1);
    chopin_log_configure(CHOPIN_LOG_INFO, CHOPIN_LOG_JSON);
    chopin_log(CHOPIN_LOG_INFO, "big", "small", "kept", "huge", big, "after", "gone", NULL);
    chopin_log_configure(CHOPIN_LOG_INFO, CHOPIN_LOG_TEXT);
    chopin_log(CHOPIN_LOG_INFO, "big", "small", "kept", "huge", big, NULL);
    char *out = captured();
    char *second = strchr(out, '\n') + 1;
    second[-1] = 0;
    cr_assert(strstr(out, "\"small\":\"kept\",\"truncated\":\"true\"}"), "%.200s", out);
    cr_assert(!strstr(out, "huge") && !strstr(out, "gone"), "%.200s", out);
    chopin_json_error err;
    chopin_json_doc *doc = chopin_json_doc_parse(out, strlen(out), &err);
    cr_assert_not_null(doc, "not JSON at %zu: %s", err.offset, err.message);
    chopin_json_doc_free(doc);
    cr_assert(strstr(second, " small=kept truncated=true\n"), "%.200s", second);
    cr_assert_lt(strlen(second), 4096);
}
