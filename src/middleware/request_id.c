/* request_id.c - X-Request-Id: kept when the client sent a sane one,
 * otherwise made here from a per-thread random prefix and a counter (unique
 * without a syscall per request). */
#include "chopin/middleware.h"

#include "../app/ctx_internal.h"

#include <stdio.h>
#include <sys/random.h>

#define MAX_ID_LEN 64

static _Thread_local uint64_t id_prefix;
static _Thread_local uint64_t id_counter;

static bool acceptable(chopin_str v) {
    if (!v.len || v.len > MAX_ID_LEN) return false;
    for (size_t i = 0; i < v.len; i++) {
        char ch = v.ptr[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == ':';
        if (!ok) return false;
    }
    return true;
}

static chopin_flow request_id_before(chopin_ctx *c, void *state) {
    (void)state;
    chopin_str given = chopin_req_header(c, "X-Request-Id");
    if (acceptable(given)) {
        c->request_id = given;
    } else {
        if (!id_prefix) {
            if (getrandom(&id_prefix, sizeof id_prefix, 0) != sizeof id_prefix)
                id_prefix = (uint64_t)chopin_now_ms() * 0x9e3779b97f4a7c15ull;
            id_prefix |= 1; /* never zero, so it is drawn once */
        }
        char *id = chopin_alloc(c, 40);
        if (!id) return CHOPIN_NEXT;
        int n = snprintf(id, 40, "%016llx-%08llx", (unsigned long long)id_prefix,
                         (unsigned long long)++id_counter);
        c->request_id = (chopin_str){id, (size_t)n};
    }
    chopin_set_headern(c, "X-Request-Id", 12, c->request_id.ptr, c->request_id.len);
    return CHOPIN_NEXT;
}

chopin_middleware chopin_request_id_middleware(void) {
    return (chopin_middleware){.name = "request_id", .before = request_id_before};
}
