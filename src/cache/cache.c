/* cache.c - chopin/cache.h over the app's backend. */
#include "cache_internal.h"

#include "chopin/cache.h"
#include "chopin/model.h"

#include "../app/app_internal.h"

#include <errno.h>
#include <stdlib.h>

static void *arena_alloc_fn(void *c, size_t n) {
    return chopin_alloc(c, n);
}

/* Keys are text of 1 to CACHE_KEY_MAX bytes. */
static bool key_ok(const char *key, size_t *len) {
    *len = key ? strlen(key) : 0;
    if (*len == 0 || *len > CACHE_KEY_MAX) {
        errno = EINVAL;
        return false;
    }
    return true;
}

int chopin_cache_get(chopin_ctx *c, const char *key, chopin_str *value) {
    size_t klen;
    char *text;
    size_t len;
    if (!key_ok(key, &klen)) return 0;
    if (mem_cache_get(c->app->cache, key, klen, arena_alloc_fn, c, &text, &len) != 1) return 0;
    *value = (chopin_str){text, len};
    return 1;
}

int chopin_cache_set(chopin_ctx *c, const char *key, const void *value, size_t len,
                     int64_t ttl_ms) {
    size_t klen;
    if (!key_ok(key, &klen)) return -1;
    return mem_cache_set(c->app->cache, key, klen, value, len, ttl_ms < 0 ? 0 : ttl_ms, 0);
}

int chopin_cache_delete(chopin_ctx *c, const char *key) {
    size_t klen;
    return key_ok(key, &klen) ? mem_cache_delete(c->app->cache, key, klen) : 0;
}

long chopin_cache_delete_prefix(chopin_ctx *c, const char *prefix) {
    return (long)mem_cache_delete_prefix(c->app->cache, prefix, prefix ? strlen(prefix) : 0);
}

int chopin_cache_exists(chopin_ctx *c, const char *key) {
    size_t klen;
    return key_ok(key, &klen) && mem_cache_exists(c->app->cache, key, klen);
}

int chopin_cache_incr(chopin_ctx *c, const char *key, int64_t by, int64_t ttl_ms, int64_t *value) {
    size_t klen;
    if (!key_ok(key, &klen)) return -1;
    return mem_cache_incr(c->app->cache, key, klen, by, ttl_ms < 0 ? 0 : ttl_ms, 0, value);
}

void *chopin_cache_get_model(chopin_ctx *c, const char *key, const chopin_model *m) {
    chopin_str text;
    if (chopin_cache_get(c, key, &text) != 1) return NULL;
    chopin_json_error err;
    const chopin_json_value *v = chopin_json_parse(c, text.ptr, text.len, &err);
    chopin_field_error *errors = NULL;
    return v ? chopin_model_decode(c, m, v, &errors) : NULL;
}

int chopin_cache_set_model(chopin_ctx *c, const char *key, const chopin_model *m, const void *obj,
                           int64_t ttl_ms) {
    chopin_json *j = chopin_json_new();
    if (!j) return -1;
    chopin_model_write(j, m, obj);
    size_t len;
    const char *text = chopin_json_text(j, &len);
    int rc = text ? chopin_cache_set(c, key, text, len, ttl_ms) : -1;
    chopin_json_free(j);
    return rc;
}
