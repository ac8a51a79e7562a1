/* test_static.c - chopin_static: files with their type, validators and
 * caching headers; 304 on If-None-Match / If-Modified-Since; ranges (206,
 * 416, suffix, open-ended, several = whole file, If-Range); folders and
 * index files; and a table of hostile paths (traversal in every spelling,
 * encoded and double-encoded, NUL, backslashes, hidden files, symbolic links
 * out of the root), none of which may reach anything outside the folder. */
#include <criterion/criterion.h>

#include <chopin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static chopin_app *app;
static char base[64], root[96];

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static void setup(void) {
    snprintf(base, sizeof base, "/tmp/chopin-static-XXXXXX");
    cr_assert_not_null(mkdtemp(base));
    snprintf(root, sizeof root, "%s/root", base);
    char p[256];
    cr_assert_eq(mkdir(root, 0755), 0);
    snprintf(p, sizeof p, "%s/outside.txt", base);
    write_file(p, "SECRET outside the root\n");
    snprintf(p, sizeof p, "%s/a.txt", root);
    write_file(p, "0123456789abcdef");
    snprintf(p, sizeof p, "%s/sub", root);
    cr_assert_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/sub/page.html", root);
    write_file(p, "<p>hi</p>");
    snprintf(p, sizeof p, "%s/sub/index.html", root);
    write_file(p, "<p>index</p>");
    snprintf(p, sizeof p, "%s/empty", root);
    cr_assert_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/.env", root);
    write_file(p, "SECRET=hidden\n");
    snprintf(p, sizeof p, "%s/%%2e%%2e", root); /* a file literally named %2e%2e */
    write_file(p, "literal");
    char link[256];
    snprintf(link, sizeof link, "%s/link_out", root);
    cr_assert_eq(symlink("../outside.txt", link), 0);
    snprintf(link, sizeof link, "%s/link_abs", root);
    snprintf(p, sizeof p, "%s/outside.txt", base);
    cr_assert_eq(symlink(p, link), 0);
    snprintf(link, sizeof link, "%s/link_etc", root);
    cr_assert_eq(symlink("/etc", link), 0);
    snprintf(link, sizeof link, "%s/link_in", root);
    cr_assert_eq(symlink("a.txt", link), 0);

    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    snprintf(cfg.database_url, sizeof cfg.database_url, "sqlite::memory:");
    app = chopin_app_new_with(&cfg);
    cr_assert_not_null(app);
    cr_assert_eq(chopin_static(app, "/files", root, &(chopin_static_options){.max_age = 600}), 0);
    cr_assert_eq(chopin_static(app, "/site", root, &(chopin_static_options){.index = "index.html"}),
                 0);
    cr_assert_eq(chopin_static(app, "/user", root, &(chopin_static_options){.untrusted = true}), 0);
}

static void teardown(void) {
    chopin_app_free(app);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", base);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(static_files, .init = setup, .fini = teardown);

static chopin_test_response *get(const char *target, const char *header) {
    const char *headers[] = {header, NULL};
    chopin_test_response *r =
        chopin_test_request(app, "GET", target, header ? headers : NULL, NULL, 0);
    cr_assert_not_null(r, "%s", target);
    return r;
}

Test(static_files, a_file_with_its_headers) {
    chopin_test_response *r = get("/files/a.txt", NULL);
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(r->body, "0123456789abcdef");
    cr_assert_str_eq(chopin_test_header(r, "Content-Type"), "text/plain; charset=utf-8");
    cr_assert_str_eq(chopin_test_header(r, "Content-Length"), "16");
    cr_assert_str_eq(chopin_test_header(r, "Cache-Control"), "public, max-age=600");
    cr_assert_str_eq(chopin_test_header(r, "Accept-Ranges"), "bytes");
    cr_assert_str_eq(chopin_test_header(r, "X-Content-Type-Options"), "nosniff");
    const char *etag = chopin_test_header(r, "ETag"), *lm = chopin_test_header(r, "Last-Modified");
    cr_assert(etag && !strncmp(etag, "W/\"", 3), "%s", etag);
    cr_assert(lm && strstr(lm, " GMT"), "%s", lm);
    chopin_test_response_free(r);
    r = get("/files/sub/page.html", NULL);
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(chopin_test_header(r, "Content-Type"), "text/html; charset=utf-8");
    chopin_test_response_free(r);
    r = get("/files/link_in", NULL); /* a link that stays inside: fine */
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(r->body, "0123456789abcdef");
    chopin_test_response_free(r);
    r = get("/site/sub/page.html", NULL);
    cr_assert_str_eq(chopin_test_header(r, "Cache-Control"), "no-cache");
    chopin_test_response_free(r);
}

Test(static_files, not_modified) {
    chopin_test_response *r = get("/files/a.txt", NULL);
    char inm[128], ims[128];
    snprintf(inm, sizeof inm, "If-None-Match: %s", chopin_test_header(r, "ETag"));
    snprintf(ims, sizeof ims, "If-Modified-Since: %s", chopin_test_header(r, "Last-Modified"));
    chopin_test_response_free(r);
    const char *hits[] = {inm, ims, "If-None-Match: *"};
    for (size_t i = 0; i < 3; i++) {
        r = get("/files/a.txt", hits[i]);
        cr_assert_eq(r->status, 304, "%s", hits[i]);
        cr_assert_eq(r->body_len, 0);
        chopin_test_response_free(r);
    }
    const char *misses[] = {"If-None-Match: \"other\"",
                            "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT",
                            "If-Modified-Since: yesterday"};
    for (size_t i = 0; i < 3; i++) {
        r = get("/files/a.txt", misses[i]);
        cr_assert_eq(r->status, 200, "%s", misses[i]);
        chopin_test_response_free(r);
    }
}

Test(static_files, ranges) {
    struct {
        const char *range;
        int status;
        const char *body, *content_range;
    } rows[] = {
        {"Range: bytes=0-4", 206, "01234", "bytes 0-4/16"},
        {"Range: bytes=10-", 206, "abcdef", "bytes 10-15/16"},
        {"Range: bytes=-3", 206, "def", "bytes 13-15/16"},
        {"Range: bytes=-100", 206, "0123456789abcdef", "bytes 0-15/16"},
        {"Range: bytes=14-99", 206, "ef", "bytes 14-15/16"},
        {"Range: bytes=16-", 416, NULL, "bytes */16"},
        {"Range: bytes=-0", 416, NULL, "bytes */16"},
        {"Range: bytes=0-1,4-5", 200, "0123456789abcdef", NULL}, /* several: the whole */
        {"Range: bytes=5-2", 200, "0123456789abcdef", NULL},     /* invalid: ignored */
        {"Range: items=0-1", 200, "0123456789abcdef", NULL},
        {"Range: bytes=x-1", 200, "0123456789abcdef", NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        chopin_test_response *r = get("/files/a.txt", rows[i].range);
        cr_assert_eq(r->status, rows[i].status, "%s: %d", rows[i].range, r->status);
        if (rows[i].body) cr_assert_str_eq(r->body, rows[i].body, "%s", rows[i].range);
        const char *cr = chopin_test_header(r, "Content-Range");
        if (rows[i].content_range)
            cr_assert(cr && !strcmp(cr, rows[i].content_range), "%s: %s", rows[i].range, cr);
        else
            cr_assert_null(cr, "%s", rows[i].range);
        chopin_test_response_free(r);
    }
    /* If-Range that does not match: the whole file. */
    const char *headers[] = {"Range: bytes=0-4", "If-Range: Sat, 01 Jan 2000 00:00:00 GMT", NULL};
    chopin_test_response *r = chopin_test_request(app, "GET", "/files/a.txt", headers, NULL, 0);
    cr_assert_eq(r->status, 200);
    chopin_test_response_free(r);
}

Test(static_files, folders_and_index_files) {
    chopin_test_response *r = get("/files/sub", NULL);
    cr_assert_eq(r->status, 404, "no index on /files");
    chopin_test_response_free(r);
    r = get("/site/sub", NULL);
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(r->body, "<p>index</p>");
    cr_assert_str_eq(chopin_test_header(r, "Content-Type"), "text/html; charset=utf-8");
    chopin_test_response_free(r);
    r = get("/site/empty", NULL);
    cr_assert_eq(r->status, 404);
    chopin_test_response_free(r);
    r = get("/files/", NULL);
    cr_assert_eq(r->status, 404);
    chopin_test_response_free(r);
}

/* Never anything outside the root, nor a hidden file: 404 (or 400 where the
 * HTTP parser refuses the request line first). */
Test(static_files, hostile_paths_are_refused) {
    static const char *const hostile[] = {
        "/files/../outside.txt",
        "/files/..",
        "/files/../",
        "/files/../../etc/passwd",
        "/files/sub/../../outside.txt",
        "/files/sub/../a.txt", /* even a harmless .. */
        "/files/./a.txt",
        "/files/%2e%2e/outside.txt",
        "/files/%2E%2E/outside.txt",
        "/files/%2e%2e%2foutside.txt",
        "/files/..%2foutside.txt",
        "/files/..%2Foutside.txt",
        "/files/%2e./outside.txt",
        "/files/.%2e/outside.txt",
        "/files/..%5coutside.txt",
        "/files/..\\outside.txt",
        "/files/sub%5c..%5c..%5coutside.txt",
        "/files/%2fetc%2fpasswd",
        "/files//etc/passwd",
        "/files/%2F%2Fetc/passwd",
        "/files/a.txt%00.png",
        "/files/%00",
        "/files/a.txt%",
        "/files/a.txt%2",
        "/files/%zz",
        "/files/.env",
        "/files/%2eenv",
        "/files/sub/.%2e/.%2e/outside.txt",
        "/files/link_out",
        "/files/link_abs",
        "/files/link_etc/passwd",
        "/files/link_etc/hostname",
        "/files/sub//page.html",
        "/files/%c0%ae%c0%ae/outside.txt", /* overlong UTF-8 dots: just bytes, no such name */
        "/files/%252e%252e/outside.txt",   /* double encoding: decoded once only */
        "/files/....//outside.txt",
        "/files/.../outside.txt",
        "/site/../outside.txt",
        "/site/%2e%2e/outside.txt",
        "/files/sub/..",
    };
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        chopin_test_response *r = chopin_test_request(app, "GET", hostile[i], NULL, NULL, 0);
        cr_assert_not_null(r, "%s", hostile[i]);
        cr_assert(r->status == 404 || r->status == 400, "%s: %d", hostile[i], r->status);
        cr_assert_null(strstr(r->body, "SECRET"), "%s leaked: %s", hostile[i], r->body);
        cr_assert_null(strstr(r->body, "root:"), "%s leaked /etc/passwd", hostile[i]);
        chopin_test_response_free(r);
    }
    cr_assert_geq(sizeof hostile / sizeof hostile[0], 30);
    /* The literal file named "%2e%2e" is reached by encoding its '%'. */
    chopin_test_response *r = get("/files/%252e%252e", NULL);
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(r->body, "literal");
    chopin_test_response_free(r);
}

Test(static_files, a_missing_folder_stops_start_up, .init = NULL, .fini = NULL) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    snprintf(cfg.database_url, sizeof cfg.database_url, "sqlite::memory:");
    chopin_app *a = chopin_app_new_with(&cfg);
    cr_assert_eq(chopin_static(a, "/x", "/nonexistent/folder", NULL), -1);
    cr_assert_null(chopin_test_request(a, "GET", "/x/y", NULL, NULL, 0));
    chopin_app_free(a);
}

/* Files from users must not run as the site (stored XSS): sandboxed, and
 * pages, SVG, XML and scripts only as downloads. */
Test(static_files, untrusted_files_never_run_as_the_site) {
    chopin_test_response *r = get("/user/sub/page.html", NULL);
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(chopin_test_header(r, "Content-Disposition"), "attachment");
    cr_assert_str_eq(chopin_test_header(r, "Content-Security-Policy"),
                     "default-src 'none'; sandbox");
    chopin_test_response_free(r);
    r = get("/user/a.txt", NULL);
    cr_assert_null(chopin_test_header(r, "Content-Disposition"), "text is shown, sandboxed");
    cr_assert_not_null(chopin_test_header(r, "Content-Security-Policy"));
    chopin_test_response_free(r);
    r = get("/files/sub/page.html", NULL);
    cr_assert_null(chopin_test_header(r, "Content-Security-Policy"), "the site's own files");
    chopin_test_response_free(r);
}

/* An error is not a representation to cache or validate. */
Test(static_files, a_416_carries_no_validators) {
    chopin_test_response *r = get("/files/a.txt", "Range: bytes=99-");
    cr_assert_eq(r->status, 416);
    cr_assert_null(chopin_test_header(r, "ETag"));
    cr_assert_null(chopin_test_header(r, "Cache-Control"));
    chopin_test_response_free(r);
}
