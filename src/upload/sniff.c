/* sniff.c - what an uploaded file is (libmagic), and how it is named. */
#include "upload_internal.h"

#include "../core/core.h"
#include "../engine/engine.h"

#include <ctype.h>
#include <magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

/* A libmagic handle per worker: loading the database takes milliseconds
 * and a handle may not be shared between threads. */
static const int magic_key;

static void *magic_new(void *arg) {
    (void)arg;
    magic_t m = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR);
    if (m && magic_load(m, NULL) != 0) {
        magic_close(m);
        m = NULL;
    }
    return m;
}

static void magic_free(void *m) {
    if (m) magic_close(m);
}

const char *sniff_type(chopin_ctx *c, const char *head, size_t len) {
    task *t = ctx_task(c);
    magic_t m =
        t ? worker_local_get(t->w, &magic_key, magic_new, NULL, magic_free) : magic_new(NULL);
    const char *type = m && len ? magic_buffer(m, head, len) : NULL;
    const char *out = type ? chopin_strdup(c, type, strlen(type)) : NULL;
    if (!t) magic_free(m);
    if (!len) return "application/x-empty";
    return out ? out : "application/octet-stream";
}

/* One item of a comma-separated list, trimmed. */
static bool next_item(const char **p, const char **item, size_t *len) {
    while (**p == ' ' || **p == ',') (*p)++;
    if (!**p) return false;
    *item = *p;
    *len = strcspn(*p, ",");
    *p += *len;
    while (*len && (*item)[*len - 1] == ' ') (*len)--;
    return true;
}

bool type_allowed(const char *list, const char *type) {
    if (!list) return true;
    size_t tlen = strlen(type);
    const char *item;
    size_t len;
    for (const char *p = list; next_item(&p, &item, &len);) {
        if (len >= 2 && item[len - 1] == '*' &&
            item[len - 2] == '/') { /* a family: "image" "/" star */
            if (tlen > len - 1 && !strncasecmp(type, item, len - 1)) return true;
        } else if (len == tlen && !strncasecmp(type, item, len)) {
            return true;
        }
    }
    return false;
}

bool extension_allowed(const char *list, const char *name) {
    if (!list) return true;
    const char *dot = name ? strrchr(name, '.') : NULL;
    if (!dot || !dot[1]) return false;
    size_t elen = strlen(dot);
    const char *item;
    size_t len;
    for (const char *p = list; next_item(&p, &item, &len);)
        if (len == elen && !strncasecmp(item, dot, len)) return true;
    return false;
}

char *sanitize_name(chopin_ctx *c, const char *name) {
    if (!name) name = "";
    const char *base = name;
    for (const char *p = name; *p; p++)
        if (*p == '/' || *p == '\\') base = p + 1;
    while (*base == '.' || *base == ' ') base++;
    size_t n = strlen(base);
    char *out = chopin_alloc(c, n + 1);
    if (!out) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n && k < 255; i++) {
        unsigned char ch = (unsigned char)base[i];
        if (ch < 0x20 || ch == 0x7f) continue;
        if (ch >= 0x80) { /* keep whole UTF-8 characters only */
            size_t len = ch >= 0xf0 ? 4 : ch >= 0xe0 ? 3 : ch >= 0xc0 ? 2 : 1;
            if (len == 1 || i + len > n || k + len > 255) {
                if (len == 1) continue;
                break;
            }
            bool ok = true;
            for (size_t j = 1; j < len; j++) ok &= ((unsigned char)base[i + j] & 0xc0) == 0x80;
            if (!ok) continue;
            memcpy(out + k, base + i, len);
            k += len;
            i += len - 1;
            continue;
        }
        out[k++] = (char)ch;
    }
    out[k] = 0;
    return out;
}

char *stored_name(chopin_ctx *c, const char *client_name) {
    char uuid[37];
    if (random_uuid(uuid)) return NULL;
    char ext[11] = "bin";
    const char *dot = client_name ? strrchr(client_name, '.') : NULL;
    size_t elen = dot ? strlen(dot + 1) : 0;
    bool alnum = elen >= 1 && elen <= 10;
    for (size_t i = 0; alnum && i < elen; i++) alnum = isalnum((unsigned char)dot[1 + i]) != 0;
    if (alnum)
        for (size_t i = 0; i <= elen; i++) ext[i] = (char)tolower((unsigned char)dot[1 + i]);
    char *out = chopin_alloc(c, 48);
    if (out) snprintf(out, 48, "%s.%s", uuid, ext);
    return out;
}
