/* test_s3.c - uploads stored in S3-compatible storage, against a real
 * server: s3rver (npm, installed by scripts/test.sh into CHOPIN_NPM_DIR).
 * Uploads through the router (the worker-loop path of s3.c), a file large
 * enough for a multipart upload, presigned GET URLs fetched with curl (and
 * refused once expired), delete, and a store that refuses the object:
 * answered 500, nothing kept. s3rver checks no signature (it accepts a
 * wrong one): SigV4 itself is checked against AWS's vectors in test_sigv4. */
#include <criterion/criterion.h>

#include <chopin.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[64];
static pid_t server = -1;
static int port;
static chopin_app *app;

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

static bool answers(int p) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void upload_route(chopin_ctx *c) {
    chopin_upload *up = chopin_upload_receive(c, NULL);
    if (!up) return;
    chopin_json *j = chopin_json_data_begin(c, 201);
    chopin_json_array(j);
    for (size_t i = 0; i < up->count; i++) {
        chopin_json_object(j);
        chopin_json_key(j, "key");
        chopin_json_string(j, up->files[i].path);
        chopin_json_key(j, "sha256");
        chopin_json_string(j, up->files[i].sha256);
        chopin_json_key(j, "get");
        chopin_json_string(j, chopin_upload_url(c, up->files[i].path, 60));
        chopin_json_end(j);
    }
    chopin_json_end(j);
    chopin_json_finish(j);
}

static void start_app(const char *secret) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    snprintf(cfg.database_url, sizeof cfg.database_url, "sqlite::memory:");
    snprintf(cfg.upload_dir, sizeof cfg.upload_dir, "%s/tmp-uploads", dir);
    snprintf(cfg.s3_bucket, sizeof cfg.s3_bucket, "test");
    snprintf(cfg.s3_endpoint, sizeof cfg.s3_endpoint, "http://127.0.0.1:%d", port);
    snprintf(cfg.s3_access_key_id, sizeof cfg.s3_access_key_id, "S3RVER");
    snprintf(cfg.s3_secret_access_key, sizeof cfg.s3_secret_access_key, "%s", secret);
    snprintf(cfg.s3_prefix, sizeof cfg.s3_prefix, "media");
    app = chopin_app_new_with(&cfg);
    cr_assert_not_null(app);
    chopin_post_with(app, "/up", upload_route, .stream_body = true, .max_body_bytes = 64 << 20);
}

static void setup(void) {
    const char *npm = getenv("CHOPIN_NPM_DIR");
    cr_assert(npm && *npm, "CHOPIN_NPM_DIR is not set: run scripts/test.sh, which installs s3rver");
    snprintf(dir, sizeof dir, "/tmp/chopin-s3-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    port = free_port();
    char bin[512], data[128], port_s[16];
    snprintf(bin, sizeof bin, "%s/node_modules/.bin/s3rver", npm);
    snprintf(data, sizeof data, "%s/s3", dir);
    snprintf(port_s, sizeof port_s, "%d", port);
    cr_assert_eq(access(bin, X_OK), 0, "%s is missing: run scripts/test.sh", bin);
    server = fork();
    if (server == 0) {
        int null = open("/dev/null", 1);
        dup2(null, 1);
        dup2(null, 2);
        execl(bin, bin, "-d", data, "-a", "127.0.0.1", "-p", port_s, "--configure-bucket", "test",
              "-s", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && !answers(port); i++) sleep_ms(50);
    cr_assert(answers(port), "s3rver did not start");
    start_app("S3RVER");
}

static void teardown(void) {
    chopin_app_free(app);
    if (server > 0) {
        kill(server, SIGTERM);
        waitpid(server, NULL, 0);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) {
    }
}

TestSuite(s3, .init = setup, .fini = teardown, .timeout = 120);

static char *make_file(const char *name, size_t size, char **data_out) {
    char *path = malloc(256);
    snprintf(path, 256, "%s/%s", dir, name);
    char *data = malloc(size);
    uint64_t x = 88172645463325252ull + size;
    for (size_t i = 0; i < size; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        data[i] = (char)x;
    }
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, size, f);
    fclose(f);
    *data_out = data;
    return path;
}

/* A multipart body with one file part. */
static char *multipart(const char *data, size_t size, size_t *len) {
    static const char head[] =
        "--BOUNDARY\r\nContent-Disposition: form-data; name=\"file\"; "
        "filename=\"photo.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n";
    static const char tail[] = "\r\n--BOUNDARY--\r\n";
    *len = sizeof head - 1 + size + sizeof tail - 1;
    char *body = malloc(*len);
    memcpy(body, head, sizeof head - 1);
    memcpy(body + sizeof head - 1, data, size);
    memcpy(body + sizeof head - 1 + size, tail, sizeof tail - 1);
    return body;
}

static chopin_test_response *upload(const char *data, size_t size) {
    size_t len;
    char *body = multipart(data, size, &len);
    const char *headers[] = {"Content-Type: multipart/form-data; boundary=BOUNDARY", NULL};
    chopin_test_response *r = chopin_test_request(app, "POST", "/up", headers, body, len);
    free(body);
    cr_assert_not_null(r);
    return r;
}

/* The output of a command, trimmed. */
static char *run(const char *cmd) {
    FILE *f = popen(cmd, "r");
    char *out = calloc(1, 4096);
    size_t n = fread(out, 1, 4095, f);
    while (n && (out[n - 1] == '\n' || out[n - 1] == ' ')) out[--n] = 0;
    pclose(f);
    return out;
}

static char *json_field(const char *json, const char *name) {
    char key[64];
    snprintf(key, sizeof key, "\"%s\":\"", name);
    const char *p = strstr(json, key);
    cr_assert_not_null(p, "no %s in %s", name, json);
    p += strlen(key);
    return strndup(p, strcspn(p, "\""));
}

/* Uploads size bytes, fetches them back through the presigned URL with curl
 * and compares SHA-256s. The key, malloc'd. */
static char *round_trip(size_t size) {
    char *data;
    char *path = make_file("src.bin", size, &data);
    chopin_test_response *r = upload(data, size);
    cr_assert_eq(r->status, 201, "%s", r->body);
    char *key = json_field(r->body, "key"), *sha = json_field(r->body, "sha256");
    char *url = json_field(r->body, "get");
    cr_assert(!strncmp(key, "media/", 6), "%s", key);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "sha256sum '%s' | cut -c1-64", path);
    char *want = run(cmd);
    cr_assert_str_eq(sha, want);
    snprintf(cmd, sizeof cmd, "curl -sS --fail '%s' | sha256sum | cut -c1-64", url);
    char *got = run(cmd);
    cr_assert_str_eq(got, want, "the object fetched with the presigned URL");
    chopin_test_response_free(r);
    free(sha), free(url), free(want), free(got), free(path), free(data);
    return key;
}

Test(s3, a_small_upload_stored_and_fetched_back) {
    char *key = round_trip(300000);
    free(key);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "ls %s/tmp-uploads/.tmp | wc -l", dir);
    char *left = run(tmp);
    cr_assert_str_eq(left, "0", "temporary files left");
    free(left);
}

Test(s3, a_large_upload_goes_in_parts) {
    char *key = round_trip(20 << 20); /* over 16 MiB: a multipart upload of 3 parts */
    free(key);
}

Test(s3, presigned_urls_expire_and_deleted_objects_are_gone) {
    char *data;
    char *path = make_file("x.bin", 1000, &data);
    chopin_test_response *r = upload(data, 1000);
    cr_assert_eq(r->status, 201, "%s", r->body);
    char *key = json_field(r->body, "key");
    chopin_ctx *c = chopin_ctx_new(app);
    char *short_url = chopin_upload_url(c, key, 1);
    cr_assert_not_null(short_url);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "curl -s -o /dev/null -w '%%{http_code}' '%s'", short_url);
    char *code = run(cmd);
    cr_assert_str_eq(code, "200");
    free(code);
    sleep_ms(2200);
    code = run(cmd);
    cr_assert_str_eq(code, "403", "an expired URL");
    free(code);
    chopin_upload_file f = {.path = key, .remote = true};
    cr_assert_eq(chopin_upload_remove(c, &f), 0);
    char *url = chopin_upload_url(c, key, 60);
    snprintf(cmd, sizeof cmd, "curl -s -o /dev/null -w '%%{http_code}' '%s'", url);
    code = run(cmd);
    cr_assert_str_eq(code, "404", "deleted");
    free(code);
    chopin_ctx_free(c);
    chopin_test_response_free(r);
    free(key), free(path), free(data);
}

/* A store that refuses the object (here: no such bucket) answers 500 and
 * keeps nothing, neither in the store nor as a temporary file. */
Test(s3, a_refused_store_answers_500_and_keeps_nothing) {
    chopin_app_free(app);
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    snprintf(cfg.database_url, sizeof cfg.database_url, "sqlite::memory:");
    snprintf(cfg.upload_dir, sizeof cfg.upload_dir, "%s/tmp-uploads", dir);
    snprintf(cfg.s3_bucket, sizeof cfg.s3_bucket, "no-such-bucket");
    snprintf(cfg.s3_endpoint, sizeof cfg.s3_endpoint, "http://127.0.0.1:%d", port);
    snprintf(cfg.s3_access_key_id, sizeof cfg.s3_access_key_id, "S3RVER");
    snprintf(cfg.s3_secret_access_key, sizeof cfg.s3_secret_access_key, "S3RVER");
    app = chopin_app_new_with(&cfg);
    chopin_post_with(app, "/up", upload_route, .stream_body = true);
    char *data;
    char *path = make_file("y.bin", 5000, &data);
    chopin_test_response *r = upload(data, 5000);
    cr_assert_eq(r->status, 500, "%s", r->body);
    cr_assert(strstr(r->body, "\"code\":\"STORAGE\""), "%s", r->body);
    chopin_test_response_free(r);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls %s/tmp-uploads/.tmp | wc -l", dir);
    char *left = run(cmd);
    cr_assert_str_eq(left, "0");
    free(left), free(path), free(data);
}
