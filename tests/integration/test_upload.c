/* test_upload.c - uploads to the real chopin-demo (POST /uploads, files
 * under UPLOAD_DIR, served back at GET /uploads/<name>):
 *   - a 1 GiB file through multipart (curl -F) completes with the server's
 *     RSS growing by less than 32 MiB, and the stored file's SHA-256 is the
 *     source's;
 *   - an upload cut off halfway leaves no temporary file and stores nothing;
 *   - an upload over MAX_UPLOAD_SIZE is refused at once (413) without a
 *     byte stored;
 *   - curl -F with several files and fields, served back byte for byte. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>

#include "harness.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], uploads[96];

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/chopin-upload-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(uploads, sizeof uploads, "%s/files", dir);
}

static void teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) {
    }
    h_cleanup();
}

TestSuite(upload, .init = setup, .fini = teardown, .timeout = 280);

static h_server *start_hello(const char *max_upload) {
    char up[128], mx[64];
    snprintf(up, sizeof up, "UPLOAD_DIR=%s", uploads);
    snprintf(mx, sizeof mx, "MAX_UPLOAD_SIZE=%s", max_upload);
    const char *const env[] = {
        up, mx, "DATABASE_URL=sqlite::memory:", "CHOPIN_WORKERS=2", "CHOPIN_ACCESS_LOG=0", NULL};
    return h_start(CHOPIN_DEMO_BIN, env);
}

/* Files directly in a folder (not counting . and ..), or -1. */
static int count_files(const char *path) {
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_type == DT_REG) n++;
    closedir(d);
    return n;
}

/* The output of a shell command, trimmed; malloc'd. */
static char *run(const char *cmd) {
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    char *out = calloc(1, 1 << 16);
    size_t n = fread(out, 1, (1 << 16) - 1, f);
    out[n] = 0;
    while (n && (out[n - 1] == '\n' || out[n - 1] == ' ')) out[--n] = 0;
    cr_assert_eq(pclose(f), 0, "'%s' failed: %s", cmd, out);
    return out;
}

/* A file of pseudo-random bytes (xorshift: fast, and no compression helps). */
static void make_file(const char *path, uint64_t size) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    static uint64_t block[1 << 14];
    uint64_t x = 0x9e3779b97f4a7c15ull ^ size;
    for (uint64_t done = 0; done < size;) {
        for (size_t i = 0; i < sizeof block / 8; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            block[i] = x;
        }
        size_t n = size - done < sizeof block ? (size_t)(size - done) : sizeof block;
        cr_assert_eq(fwrite(block, 1, n, f), n);
        done += n;
    }
    cr_assert_eq(fclose(f), 0);
}

/* "sha256":"<hex>" of the first file in an answer. */
static void answer_sha(const char *json, char out[65]) {
    const char *p = strstr(json, "\"sha256\":\"");
    cr_assert_not_null(p, "%s", json);
    memcpy(out, p + 10, 64);
    out[64] = 0;
}

Test(upload, one_gib_through_multipart_in_bounded_memory) {
    char src[128], cmd[512];
    snprintf(src, sizeof src, "%s/big.bin", dir);
    make_file(src, 1ull << 30);
    char *want = run((snprintf(cmd, sizeof cmd, "sha256sum '%s' | cut -c1-64", src), cmd));
    h_server *s = start_hello("2g");
    h_sleep_ms(200);
    long before = h_rss_kib(s);
    snprintf(cmd, sizeof cmd,
             "curl -sS --fail-with-body -F 'file=@%s;type=application/octet-stream' "
             "http://127.0.0.1:%d/uploads",
             src, s->port);
    char *answer = run(cmd);
    long peak = h_hwm_kib(s);
    char got[65];
    answer_sha(answer, got);
    cr_assert_str_eq(got, want, "the server's SHA-256");
    cr_assert(strstr(answer, "\"size\":1073741824"), "%.300s", answer);
    /* The stored file itself, hashed from disk. */
    const char *name = strstr(answer, "\"stored_name\":\"") + 15;
    char stored[256];
    snprintf(stored, sizeof stored, "%s/%.*s", uploads, (int)strcspn(name, "\""), name);
    char *on_disk = run((snprintf(cmd, sizeof cmd, "sha256sum '%s' | cut -c1-64", stored), cmd));
    cr_assert_str_eq(on_disk, want, "the stored file's SHA-256");
    cr_log_info("1 GiB upload: RSS %ld KiB before, peak %ld KiB (+%ld KiB)", before, peak,
                peak - before);
    cr_assert_lt(peak - before, 32 * 1024, "RSS grew by %ld KiB", peak - before);
    snprintf(cmd, sizeof cmd, "%s/.tmp", uploads);
    cr_assert_eq(count_files(cmd), 0, "a temporary file was left");
    free(want);
    free(answer);
    free(on_disk);
    cr_assert_eq(h_stop(s), 0);
    h_free(s);
}

Test(upload, cut_off_halfway_leaves_nothing) {
    h_server *s = start_hello("100m");
    h_conn *c = h_connect(s->port);
    static const char head[] = "POST /uploads HTTP/1.1\r\nHost: x\r\n"
                               "Content-Type: multipart/form-data; boundary=XyZ\r\n"
                               "Content-Length: 10000000\r\n\r\n"
                               "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
                               "filename=\"half.bin\"\r\n\r\n";
    cr_assert(h_sends(c, head));
    static char data[3 << 20];
    memset(data, 'x', sizeof data);
    cr_assert(h_send(c, data, sizeof data)); /* 3 of the 10 MB promised */
    h_sleep_ms(300);
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%s/.tmp", uploads);
    cr_assert_eq(count_files(tmp), 1, "the upload was being written");
    h_close(c); /* the client goes away */
    for (int i = 0; i < 50 && count_files(tmp) != 0; i++) h_sleep_ms(50);
    cr_assert_eq(count_files(tmp), 0, "the temporary file stayed");
    cr_assert_eq(count_files(uploads), 0, "something was stored");
    cr_assert_eq(h_stop(s), 0);
    h_free(s);
}

Test(upload, over_the_limit_is_refused_at_once) {
    h_server *s = start_hello("1m");
    h_conn *c = h_connect(s->port);
    /* The head only: the answer comes before any body is sent. */
    static const char head[] = "POST /uploads HTTP/1.1\r\nHost: x\r\n"
                               "Content-Type: multipart/form-data; boundary=XyZ\r\n"
                               "Content-Length: 5000000\r\n\r\n";
    cr_assert(h_sends(c, head));
    h_response *r = h_read_response(c, false, 3000);
    cr_assert_not_null(r, "%s", h_last_error());
    cr_assert_eq(r->status, 413);
    cr_assert(h_is_error_envelope(r, 413));
    h_response_free(r);
    h_close(c);
    /* Chunked, so the size is known only as it comes: refused once past. */
    char cmd[512], src[128];
    snprintf(src, sizeof src, "%s/two.bin", dir);
    make_file(src, 2 << 20);
    snprintf(cmd, sizeof cmd,
             "curl -s -o /dev/null -w '%%{http_code}' -H 'Transfer-Encoding: chunked' "
             "-F 'file=@%s' http://127.0.0.1:%d/uploads",
             src, s->port);
    char *code = run(cmd);
    cr_assert_str_eq(code, "413");
    free(code);
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%s/.tmp", uploads);
    cr_assert(count_files(tmp) <= 0, "a temporary file stayed");
    cr_assert(count_files(uploads) <= 0, "something was stored");
    cr_assert_eq(h_stop(s), 0);
    h_free(s);
}

Test(upload, curl_f_files_and_fields_served_back) {
    h_server *s = start_hello("10m");
    char a[128], b[128], cmd[1024];
    snprintf(a, sizeof a, "%s/a.bin", dir);
    snprintf(b, sizeof b, "%s/b.txt", dir);
    make_file(a, 123457);
    FILE *f = fopen(b, "w");
    fputs("plain text, with a name to sanitize\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "curl -sS --fail-with-body -F 'one=@%s' -F 'two=@%s;filename=../../etc/x y.txt' "
             "-F note=hello http://127.0.0.1:%d/uploads",
             a, b, s->port);
    char *answer = run(cmd);
    cr_assert(strstr(answer, "\"field\":\"one\""), "%s", answer);
    cr_assert(strstr(answer, "\"original_name\":\"x y.txt\""), "sanitized: %s", answer);
    cr_assert(strstr(answer, "\"content_type\":\"text/plain\""), "sniffed: %s", answer);
    cr_assert_null(strstr(answer, "\"stored_name\":\"x y"), "the client named a file: %s", answer);
    /* Each file back through the static route, byte for byte. */
    const char *sources[] = {a, b};
    const char *p = answer;
    for (int i = 0; i < 2; i++) {
        p = strstr(p, "\"url\":\"") + 7;
        snprintf(cmd, sizeof cmd,
                 "curl -sS --fail http://127.0.0.1:%d%.*s | cmp - '%s' && echo same", s->port,
                 (int)strcspn(p, "\""), p, sources[i]);
        char *same = run(cmd);
        cr_assert_str_eq(same, "same");
        free(same);
    }
    cr_assert_eq(count_files(uploads), 2);
    free(answer);
    cr_assert_eq(h_stop(s), 0);
    h_free(s);
}

/* A .part file left by a process that died is removed at the next start
 * once it is an hour old; a fresh one (an upload in progress elsewhere)
 * stays. */
Test(upload, stale_temporary_files_are_cleaned_at_start) {
    char tmp[160], old[200], fresh[200];
    snprintf(tmp, sizeof tmp, "%s/.tmp", uploads);
    cr_assert_eq(mkdir(uploads, 0750), 0);
    cr_assert_eq(mkdir(tmp, 0750), 0);
    snprintf(old, sizeof old, "%s/dead.part", tmp);
    snprintf(fresh, sizeof fresh, "%s/live.part", tmp);
    fclose(fopen(old, "w"));
    fclose(fopen(fresh, "w"));
    char cmd[300];
    snprintf(cmd, sizeof cmd, "touch -d '2 hours ago' '%s'", old);
    cr_assert_eq(system(cmd), 0);
    h_server *s = start_hello("1m");
    cr_assert_eq(access(old, F_OK), -1, "the stale file stayed");
    cr_assert_eq(access(fresh, F_OK), 0, "a fresh one was removed");
    cr_assert_eq(h_stop(s), 0);
    h_free(s);
}
