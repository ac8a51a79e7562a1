/* test_upload.c - chopin_upload_receive's rules through the router (the
 * in-process test client, files under a temporary UPLOAD_DIR): text fields
 * bound into a model (422 lists every problem), types sniffed from the
 * content (not the client's word) against allow-lists, extensions, each
 * limit with its answer, a whole-body upload, a malformed body; and after
 * every refusal, nothing stored and no temporary file. */
#include <criterion/criterion.h>

#include <chopin.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static chopin_app *app;
static char dir[64];

typedef struct {
    const char *title;
    int32_t rating;
    bool has_rating;
} photo_fields;
#define PHOTO_FIELDS(F)                                                                            \
    F(photo_fields, title, CHOPIN_STRING, .required = true, .max_len = 20),                        \
        F(photo_fields, rating, CHOPIN_INT32, .has_min = true, .min = 1, .has_max = true,          \
          .max = 5, CHOPIN_PRESENCE(photo_fields, has_rating))
CHOPIN_MODEL(photo_fields, PHOTO_FIELDS);

/* Answers "<count> <type of the first> <title>" on success. */
static void answer(chopin_ctx *c, const chopin_upload *up) {
    char out[512];
    const photo_fields *f = up->fields;
    snprintf(out, sizeof out, "%zu %s %s %s", up->count,
             up->count ? up->files[0].content_type : "-",
             up->count ? up->files[0].original_name : "-", f ? f->title : "-");
    chopin_text(c, 201, out);
}

static void photos(chopin_ctx *c) {
    chopin_upload *up = chopin_upload_receive(c, &(chopin_upload_options){
                                                     .max_files = 1,
                                                     .max_field_bytes = 30,
                                                     .max_file_bytes = 4096,
                                                     .allowed_types = "image/png,image/gif",
                                                     .allowed_extensions = ".png,.gif",
                                                     .fields = &photo_fields_model,
                                                     .subdir = "photos",
                                                 });
    if (up) answer(c, up);
}

static void anything(chopin_ctx *c) {
    chopin_upload *up = chopin_upload_receive(c, NULL);
    if (up) answer(c, up);
}

/* Text fields without a model: all of them, as sent. */
static void values(chopin_ctx *c) {
    chopin_upload *up = chopin_upload_receive(c, NULL);
    if (!up) return;
    char out[256];
    size_t n = 0;
    for (size_t i = 0; i < up->num_values; i++)
        n += (size_t)snprintf(out + n, sizeof out - n, "%s=%s;", up->values[i].name,
                              up->values[i].value);
    chopin_text(c, 201, n ? out : "none");
}

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/chopin-up-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    snprintf(cfg.database_url, sizeof cfg.database_url, "sqlite::memory:");
    snprintf(cfg.upload_dir, sizeof cfg.upload_dir, "%s", dir);
    app = chopin_app_new_with(&cfg);
    cr_assert_not_null(app);
    chopin_post_with(app, "/photos", photos, .stream_body = true);
    chopin_post_with(app, "/any", anything, .stream_body = true);
    chopin_post_with(app, "/values", values, .stream_body = true);
}

static void teardown(void) {
    chopin_app_free(app);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) {
    }
}

TestSuite(upload_rules, .init = setup, .fini = teardown);

/* A 1x1 PNG (the smallest valid one). */
static const unsigned char png[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
    0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00,
    0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78,
    0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00,
    0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

typedef struct {
    const char *name, *filename; /* filename NULL: a text field */
    const void *data;
    size_t len;
} part;

/* A multipart body of the parts; malloc'd. */
static char *body_of(const part *parts, size_t n, size_t *len) {
    size_t cap = 1024;
    for (size_t i = 0; i < n; i++) cap += parts[i].len + 256;
    char *b = malloc(cap);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].filename)
            k += (size_t)sprintf(b + k,
                                 "--XX\r\nContent-Disposition: form-data; name=\"%s\"; "
                                 "filename=\"%s\"\r\nContent-Type: image/png\r\n\r\n",
                                 parts[i].name, parts[i].filename);
        else
            k += (size_t)sprintf(b + k,
                                 "--XX\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n",
                                 parts[i].name);
        memcpy(b + k, parts[i].data, parts[i].len);
        k += parts[i].len;
        memcpy(b + k, "\r\n", 2);
        k += 2;
    }
    k += (size_t)sprintf(b + k, "--XX--\r\n");
    *len = k;
    return b;
}

static chopin_test_response *post(const char *path, const part *parts, size_t n) {
    size_t len;
    char *body = body_of(parts, n, &len);
    const char *headers[] = {"Content-Type: multipart/form-data; boundary=XX", NULL};
    chopin_test_response *r = chopin_test_request(app, "POST", path, headers, body, len);
    free(body);
    cr_assert_not_null(r);
    return r;
}

static int files_in(const char *sub) {
    char path[160];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    DIR *d = opendir(path);
    if (!d) return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += e->d_type == DT_REG;
    closedir(d);
    return n;
}

static void nothing_kept(void) {
    cr_assert_eq(files_in("photos"), 0, "a file was kept");
    cr_assert_eq(files_in(".tmp"), 0, "a temporary file was left");
}

#define TEXT(s) s, sizeof s - 1

Test(upload_rules, fields_bind_and_a_png_is_accepted) {
    part parts[] = {{"title", NULL, TEXT("Sunset")},
                    {"rating", NULL, TEXT("4")},
                    {"photo", "sunset.png", png, sizeof png}};
    chopin_test_response *r = post("/photos", parts, 3);
    cr_assert_eq(r->status, 201, "%s", r->body);
    cr_assert_str_eq(r->body, "1 image/png sunset.png Sunset");
    cr_assert_eq(files_in("photos"), 1);
    chopin_test_response_free(r);
}

Test(upload_rules, every_problem_is_listed_and_nothing_kept) {
    static const char text[] = "just some text, not an image at all";
    part parts[] = {{"rating", NULL, TEXT("9")}, /* out of range, and no title */
                    {"photo", "fake.png", text, sizeof text - 1}};
    chopin_test_response *r = post("/photos", parts, 2);
    cr_assert_eq(r->status, 422, "%s", r->body);
    cr_assert(strstr(r->body, "\"field\":\"photo\",\"code\":\"type\""), "%s", r->body);
    cr_assert(strstr(r->body, "\"field\":\"title\""), "files and fields in one 422: %s", r->body);
    cr_assert(strstr(r->body, "\"field\":\"rating\""), "%s", r->body);
    chopin_test_response_free(r);
    nothing_kept();
    /* Fields alone: the model's 422 lists title and rating. */
    part fields[] = {{"rating", NULL, TEXT("9")}, {"photo", "ok.png", png, sizeof png}};
    r = post("/photos", fields, 2);
    cr_assert_eq(r->status, 422, "%s", r->body);
    cr_assert(strstr(r->body, "\"field\":\"title\""), "%s", r->body);
    cr_assert(strstr(r->body, "\"field\":\"rating\""), "%s", r->body);
    chopin_test_response_free(r);
    nothing_kept();
}

Test(upload_rules, the_extension_is_checked_too) {
    part parts[] = {{"title", NULL, TEXT("x")}, {"photo", "setup.exe", png, sizeof png}};
    chopin_test_response *r = post("/photos", parts, 2);
    cr_assert_eq(r->status, 422, "%s", r->body);
    cr_assert(strstr(r->body, "\"code\":\"extension\""), "%s", r->body);
    chopin_test_response_free(r);
    nothing_kept();
}

Test(upload_rules, limits) {
    static char big[4097];
    memcpy(big, png, sizeof png);
    struct {
        part parts[3];
        size_t n;
        int status;
        const char *code;
    } rows[] = {
        {{{"title", NULL, TEXT("x")},
          {"a", "a.png", png, sizeof png},
          {"b", "b.png", png, sizeof png}},
         3,
         413,
         "TOO_MANY_FILES"},
        {{{"title", NULL, TEXT("0123456789012345678901234567890")}}, 1, 413, "FIELD_TOO_LARGE"},
        {{{"title", NULL, TEXT("x")}, {"photo", "big.png", big, sizeof big}},
         2,
         413,
         "FILE_TOO_LARGE"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        chopin_test_response *r = post("/photos", rows[i].parts, rows[i].n);
        cr_assert_eq(r->status, rows[i].status, "row %zu: %s", i, r->body);
        cr_assert(strstr(r->body, rows[i].code), "row %zu: %s", i, r->body);
        chopin_test_response_free(r);
        nothing_kept();
    }
}

Test(upload_rules, a_whole_body_is_one_file) {
    const char *headers[] = {"Content-Type: application/octet-stream",
                             "Content-Disposition: attachment; filename=\"../report final.pdf\"",
                             NULL};
    static const char pdf[] = "%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";
    chopin_test_response *r =
        chopin_test_request(app, "POST", "/any", headers, pdf, sizeof pdf - 1);
    cr_assert_eq(r->status, 201, "%s", r->body);
    cr_assert_str_eq(r->body, "1 application/pdf report final.pdf -");
    chopin_test_response_free(r);
}

Test(upload_rules, malformed_bodies_are_400) {
    const char *headers[] = {"Content-Type: multipart/form-data; boundary=XX", NULL};
    static const char cut[] = "--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end";
    chopin_test_response *r =
        chopin_test_request(app, "POST", "/any", headers, cut, sizeof cut - 1);
    cr_assert_eq(r->status, 400, "%s", r->body);
    chopin_test_response_free(r);
    const char *no_boundary[] = {"Content-Type: multipart/form-data", NULL};
    r = chopin_test_request(app, "POST", "/any", no_boundary, "x", 1);
    cr_assert_eq(r->status, 400, "%s", r->body);
    chopin_test_response_free(r);
    cr_assert_eq(files_in(".tmp"), 0);
}

Test(upload_rules, text_fields_without_a_model) {
    part parts[] = {
        {"note", NULL, TEXT("hello")}, {"f", "a.txt", TEXT("x")}, {"tag", NULL, TEXT("")}};
    chopin_test_response *r = post("/values", parts, 3);
    cr_assert_eq(r->status, 201, "%s", r->body);
    cr_assert_str_eq(r->body, "note=hello;tag=;");
    chopin_test_response_free(r);
}
