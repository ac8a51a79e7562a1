/* files.c - writing a project's files: folders, new files that never
 * overwrite, templates, and insertions at marker lines. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

bool valid_project_name(const char *name) {
    size_t n = strlen(name);
    if (!n || n > 48 || !isalpha((unsigned char)name[0])) return false;
    for (; *name; name++)
        if (!isalnum((unsigned char)*name) && *name != '_' && *name != '-') return false;
    return true;
}

int make_dirs(const char *path) {
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0755) && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) && errno != EEXIST ? -1 : 0;
}

static int make_parent(const char *path) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return 0;
    *slash = 0;
    return make_dirs(dir);
}

static int write_mode(const char *path, const char *text, const char *mode) {
    if (make_parent(path)) {
        fprintf(stderr, "chopin: cannot make the folder of %s: %s\n", path, strerror(errno));
        return -1;
    }
    FILE *f = fopen(path, mode);
    if (!f) {
        fprintf(stderr, "chopin: cannot write %s: %s\n", path,
                errno == EEXIST ? "it exists already" : strerror(errno));
        return -1;
    }
    bool ok = fputs(text, f) >= 0;
    if (fclose(f) || !ok) {
        fprintf(stderr, "chopin: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

int write_new_file(const char *path, const char *text) {
    return write_mode(path, text, "wx");
}

int write_file(const char *path, const char *text) {
    return write_mode(path, text, "w");
}

char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *s = malloc(cap);
    size_t n;
    while (s && (n = fread(s + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len > 1) continue;
        char *grown = realloc(s, cap *= 2);
        if (!grown) free(s);
        s = grown;
    }
    fclose(f);
    if (s) s[len] = 0;
    return s;
}

static const char *lookup(const char *const *vars, const char *key, size_t len) {
    for (; vars[0]; vars += 2)
        if (strlen(vars[0]) == len && !memcmp(vars[0], key, len)) return vars[1];
    return NULL;
}

char *expand(const char *tmpl, const char *const *vars) {
    size_t cap = strlen(tmpl) * 2 + 1024, len = 0;
    char *out = malloc(cap);
    for (const char *p = tmpl; out && *p;) {
        const char *value = NULL;
        size_t skip = 1;
        if (p[0] == '{' && p[1] == '{') {
            const char *end = strstr(p + 2, "}}");
            if (end && (value = lookup(vars, p + 2, (size_t)(end - p - 2))))
                skip = (size_t)(end + 2 - p);
        }
        size_t add = value ? strlen(value) : 1;
        if (len + add + 1 > cap) {
            while (len + add + 1 > cap) cap *= 2;
            char *grown = realloc(out, cap);
            if (!grown) free(out);
            out = grown;
            if (!out) break;
        }
        memcpy(out + len, value ? value : p, add);
        len += add;
        p += skip;
    }
    if (out) out[len] = 0;
    return out;
}

int insert_before_marker(const char *path, const char *marker, const char *text) {
    char *old = read_text(path);
    char *at = old ? strstr(old, marker) : NULL;
    if (!at) {
        fprintf(stderr, "chopin: %s has no line with \"%s\": add this there yourself:\n%s", path,
                marker, text);
        free(old);
        return -1;
    }
    while (at > old && at[-1] != '\n') at--; /* the start of the marker's line */
    size_t head = (size_t)(at - old), len = strlen(old) + strlen(text) + 1;
    char *updated = malloc(len);
    if (!updated) {
        free(old);
        return -1;
    }
    snprintf(updated, len, "%.*s%s%s", (int)head, old, text, at);
    int rc = write_file(path, updated);
    free(updated);
    free(old);
    return rc;
}
