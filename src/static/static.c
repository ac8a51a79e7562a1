/* static.c - a folder's files over HTTP (contract in chopin/static.h). */
#include "chopin/static.h"
#include "static_internal.h"

#include "../app/app_internal.h"
#include "../core/core.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int dir_fd; /* O_PATH | O_DIRECTORY, for openat2 */
    char *dir;  /* for the fallback without openat2 */
    chopin_static_options opts;
    char *index;
} static_root;

/* --- Content types ------------------------------------------------------------- */

static const struct {
    const char *ext, *type;
} types[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/x-icon"},
    {"bmp", "image/bmp"},
    {"pdf", "application/pdf"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"wasm", "application/wasm"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
    {"wav", "audio/wav"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"mov", "video/quicktime"},
    {"doc", "application/msword"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
};

const char *static_content_type(const char *name) {
    const char *dot = strrchr(name, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (!strcasecmp(dot + 1, types[i].ext)) return types[i].type;
    return "application/octet-stream";
}

/* --- The path ------------------------------------------------------------------ */

/* The *path parameter as sent: chopin_param decodes it already, and this
 * file decodes exactly once, itself. */
static chopin_str raw_path(const chopin_ctx *c) {
    for (size_t i = 0; i < c->match.num_params; i++)
        if (chopin_str_eq(c->match.params[i].name, "path")) return c->match.params[i].raw;
    return CHOPIN_STR_NULL;
}

/* Percent-decodes raw once into the arena and checks every segment;
 * NULL refuses the request (404). */
static char *safe_relative_path(chopin_ctx *c, chopin_str raw, bool hidden_files) {
    char *out = chopin_alloc(c, raw.len + 1);
    if (!out) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < raw.len; i++) {
        char ch = raw.ptr[i];
        if (ch == '%') {
            int hi = i + 2 < raw.len ? hex_value((unsigned char)raw.ptr[i + 1]) : -1;
            int lo = hi >= 0 ? hex_value((unsigned char)raw.ptr[i + 2]) : -1;
            if (lo < 0) return NULL;
            ch = (char)(hi << 4 | lo);
            i += 2;
        }
        if (ch == 0 || ch == '\\') return NULL;
        out[n++] = ch;
    }
    out[n] = 0;
    if (n == 0 || out[0] == '/') return NULL;
    for (const char *seg = out; *seg;) {
        size_t len = strcspn(seg, "/");
        if (len == 0) return NULL; /* "a//b" */
        if (seg[0] == '.') {       /* ".", "..", or hidden (".git", ".env") */
            bool dots = len == 1 || (len == 2 && seg[1] == '.');
            if (dots || !hidden_files) return NULL;
        }
        seg += len + (seg[len] == '/');
    }
    return out;
}

/* Opens rel below the root and nowhere else: RESOLVE_BENEATH refuses "..",
 * absolute paths and symlinks that leave it. Where openat2 is missing
 * (kernels before 5.6), the resolved path must start with the root's. */
static int open_beneath(const static_root *root, const char *rel) {
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    long fd = syscall(SYS_openat2, root->dir_fd, rel, &how, sizeof how);
    if (fd >= 0 || errno != ENOSYS) return (int)fd;
    char path[4096], real[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", root->dir, rel) >= sizeof path) return -1;
    if (!realpath(path, real)) return -1;
    size_t dlen = strlen(root->dir);
    if (strncmp(real, root->dir, dlen) || (real[dlen] != '/' && real[dlen] != 0)) return -1;
    return open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY);
}

/* --- Validators and ranges ---------------------------------------------------- */

static const char *const day_names[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* IMF-fixdate (RFC 9110 5.6.7), by hand: strftime follows the locale. */
static void http_date(time_t t, char out[32]) {
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT", day_names[tm.tm_wday], tm.tm_mday,
             month_names[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Reads an IMF-fixdate; -1 when it is not one. */
static time_t parse_http_date(chopin_str s) {
    char buf[40], day[4], mon[4];
    if (!s.ptr || s.len >= sizeof buf) return -1;
    memcpy(buf, s.ptr, s.len);
    buf[s.len] = 0;
    struct tm tm = {0};
    int used = 0;
    if (sscanf(buf, "%3s, %2d %3s %4d %2d:%2d:%2d GMT%n", day, &tm.tm_mday, mon, &tm.tm_year,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 7 ||
        (size_t)used != s.len)
        return -1;
    tm.tm_mon = -1;
    for (int i = 0; i < 12; i++)
        if (!strcmp(mon, month_names[i])) tm.tm_mon = i;
    if (tm.tm_mon < 0) return -1;
    tm.tm_year -= 1900;
    return timegm(&tm);
}

/* W/"<size>-<mtime in ns>": cheap, and changes whenever the file does. */
static void make_etag(const struct stat *st, char out[64]) {
    snprintf(out, 64, "W/\"%llx-%llx\"", (unsigned long long)st->st_size,
             (unsigned long long)st->st_mtim.tv_sec * 1000000000ull +
                 (unsigned long long)st->st_mtim.tv_nsec);
}

/* RFC 9110 13.2.2: If-None-Match wins over If-Modified-Since. */
static bool not_modified(chopin_ctx *c, const struct stat *st, const char *etag) {
    chopin_str inm = chopin_req_header(c, "If-None-Match");
    if (inm.ptr) return http1_etag_listed(inm, etag);
    time_t since = parse_http_date(chopin_req_header(c, "If-Modified-Since"));
    return since >= 0 && st->st_mtim.tv_sec <= since;
}

typedef enum { RANGE_NONE, RANGE_ONE, RANGE_UNSATISFIABLE } range_kind;

/* One "bytes=first-last" range (or "-suffix", "first-"); several ranges,
 * or anything else, serve the whole file. */
static range_kind parse_range(chopin_str h, int64_t size, int64_t *first, int64_t *last) {
    if (!h.ptr || h.len < 7 || strncmp(h.ptr, "bytes=", 6) || memchr(h.ptr, ',', h.len))
        return RANGE_NONE;
    char buf[64];
    if (h.len - 6 >= sizeof buf) return RANGE_NONE;
    memcpy(buf, h.ptr + 6, h.len - 6);
    buf[h.len - 6] = 0;
    char *dash = strchr(buf, '-'), *end;
    if (!dash) return RANGE_NONE;
    *dash = 0;
    errno = 0;
    if (!buf[0]) { /* the last N bytes */
        long long n = strtoll(dash + 1, &end, 10);
        if (errno || *end || !dash[1] || n < 0) return RANGE_NONE;
        if (n == 0 || size == 0) return RANGE_UNSATISFIABLE;
        *first = n >= size ? 0 : size - n;
        *last = size - 1;
        return RANGE_ONE;
    }
    long long a = strtoll(buf, &end, 10);
    if (errno || *end || a < 0 || buf[0] == '+') return RANGE_NONE;
    long long b = size - 1;
    if (dash[1]) {
        b = strtoll(dash + 1, &end, 10);
        if (errno || *end || b < a || dash[1] == '+') return RANGE_NONE;
    }
    if (a >= size) return RANGE_UNSATISFIABLE;
    *first = a;
    *last = b >= size ? size - 1 : b;
    return RANGE_ONE;
}

/* If-Range: the range holds only for this very representation. */
static bool range_applies(chopin_ctx *c, const struct stat *st, const char *etag) {
    chopin_str ir = chopin_req_header(c, "If-Range");
    if (!ir.ptr) return true;
    if (ir.len && ir.ptr[0] == '"') return false; /* strong comparison: ours is weak */
    if (ir.len > 2 && !memcmp(ir.ptr, "W/", 2)) return false;
    time_t t = parse_http_date(ir);
    return t >= 0 && st->st_mtim.tv_sec == t;
}

/* --- The handler ------------------------------------------------------------------- */

static void set_validators(chopin_ctx *c, const static_root *root, const struct stat *st,
                           const char *etag) {
    char date[32], control[64];
    http_date(st->st_mtim.tv_sec, date);
    chopin_set_header(c, "ETag", etag);
    chopin_set_header(c, "Last-Modified", date);
    if (root->opts.max_age > 0)
        snprintf(control, sizeof control, "public, max-age=%d%s", root->opts.max_age,
                 root->opts.immutable ? ", immutable" : "");
    else
        snprintf(control, sizeof control, "no-cache");
    chopin_set_header(c, "Cache-Control", control);
    chopin_set_header(c, "Accept-Ranges", "bytes");
    chopin_set_header(c, "X-Content-Type-Options", "nosniff");
}

static void not_found(chopin_ctx *c) {
    chopin_error(c, 404, "NOT_FOUND", "no such file");
}

/* A folder: its index file when there is one (opened below the root like
 * any file), else -1. */
static int open_index(chopin_ctx *c, const static_root *root, const char *rel, struct stat *st) {
    size_t len = strlen(rel) + strlen(root->index) + 2;
    char *path = chopin_alloc(c, len);
    if (!path) return -1;
    snprintf(path, len, "%s/%s", rel, root->index);
    int fd = open_beneath(root, path);
    if (fd >= 0 && (fstat(fd, st) || !S_ISREG(st->st_mode))) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Files from users (.untrusted) must not run as the site: a page or an SVG
 * a user uploaded would otherwise execute with the API's origin. Every
 * answer gets a sandboxing policy, and types a browser would render
 * actively are downloads, not pages. */
static void guard_untrusted(chopin_ctx *c, const char *name) {
    chopin_set_header(c, "Content-Security-Policy", "default-src 'none'; sandbox");
    const char *type = static_content_type(name);
    static const char *const active[] = {"text/html", "image/svg+xml",   "application/xml",
                                         "text/xml",  "text/javascript", "application/xhtml+xml"};
    for (size_t i = 0; i < sizeof active / sizeof active[0]; i++)
        if (!strncmp(type, active[i], strlen(active[i]))) {
            chopin_set_header(c, "Content-Disposition", "attachment");
            return;
        }
}

static void serve_file(chopin_ctx *c) {
    const static_root *root = chopin_route_data(c);
    char *rel = safe_relative_path(c, raw_path(c), root->opts.hidden_files);
    int fd = rel ? open_beneath(root, rel) : -1;
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) {
        if (fd >= 0) close(fd);
        not_found(c);
        return;
    }
    const char *name = rel;
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        fd = root->index ? open_index(c, root, rel, &st) : -1;
        if (fd < 0) {
            not_found(c);
            return;
        }
        name = root->index;
    } else if (!S_ISREG(st.st_mode)) {
        close(fd);
        not_found(c);
        return;
    }
    char etag[64];
    make_etag(&st, etag);
    if (not_modified(c, &st, etag)) {
        close(fd);
        set_validators(c, root, &st, etag);
        chopin_send_status(c, 304);
        return;
    }
    int64_t size = st.st_size, first = 0, last = size - 1;
    range_kind range = range_applies(c, &st, etag)
                           ? parse_range(chopin_req_header(c, "Range"), size, &first, &last)
                           : RANGE_NONE;
    char content_range[80];
    if (range == RANGE_UNSATISFIABLE) {
        close(fd);
        snprintf(content_range, sizeof content_range, "bytes */%lld", (long long)size);
        chopin_set_header(c, "Content-Range", content_range);
        chopin_error(c, 416, "RANGE_NOT_SATISFIABLE", "the range is outside the file");
        return;
    }
    set_validators(c, root, &st, etag);
    if (root->opts.untrusted) guard_untrusted(c, name);
    if (range == RANGE_ONE) {
        snprintf(content_range, sizeof content_range, "bytes %lld-%lld/%lld", (long long)first,
                 (long long)last, (long long)size);
        chopin_set_header(c, "Content-Range", content_range);
        ctx_send_fd(c, 206, static_content_type(name), fd, first, last - first + 1);
        return;
    }
    ctx_send_fd(c, 200, static_content_type(name), fd, 0, size);
}

/* --- Registration ---------------------------------------------------------------- */

static void root_free(void *state) {
    static_root *root = state;
    if (root->dir_fd >= 0) close(root->dir_fd);
    free(root->dir);
    free(root->index);
    free(root);
}

int chopin_static(chopin_app *app, const char *prefix, const char *dir,
                  const chopin_static_options *opts) {
    static_root *root = calloc(1, sizeof *root);
    char real[PATH_MAX];
    if (!root || !realpath(dir, real)) {
        chopin_log(CHOPIN_LOG_ERROR, "chopin_static: cannot open the folder", "prefix", prefix,
                   "dir", dir, "error", root ? strerror(errno) : "out of memory", NULL);
        free(root);
        app->broken = true;
        return -1;
    }
    root->dir_fd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
    root->dir = strdup(real);
    if (opts) root->opts = *opts;
    root->index = opts && opts->index ? strdup(opts->index) : NULL;
    if (root->dir_fd < 0 || !root->dir || (opts && opts->index && !root->index)) {
        chopin_log(CHOPIN_LOG_ERROR, "chopin_static: cannot open the folder", "prefix", prefix,
                   "dir", dir, "error", strerror(errno), NULL);
        root_free(root);
        app->broken = true;
        return -1;
    }
    root->opts.index = root->index;
    root->opts.summary = NULL;
    char pattern[512], summary[600];
    snprintf(pattern, sizeof pattern, "%s/*path", strcmp(prefix, "/") ? prefix : "");
    snprintf(summary, sizeof summary, "Files under %s", prefix);
    app_add_route(
        app, NULL, CHOPIN_GET, pattern, serve_file,
        &(chopin_route_options){.summary = opts && opts->summary ? opts->summary : summary,
                                .tags = "files",
                                .data = root,
                                .responses = {{.status = 200, .description = "The file"},
                                              {.status = 206, .description = "A range"},
                                              {.status = 304},
                                              {.status = 404},
                                              {.status = 416}}});
    app_own(app, root, root_free);
    return 0;
}
