/* test_alloc.c - the hot path allocates nothing per request.
 *
 * malloc, calloc and realloc are replaced in this executable by counting
 * wrappers around glibc's own; batches of pipelined requests go through the
 * real connection code (socketless), and after a warm-up batch the count must
 * stay at zero. Skipped under AddressSanitizer and ThreadSanitizer, which own
 * malloc themselves. */
#include <criterion/criterion.h>

#include "app/app_internal.h"

#include <stdio.h>

#if defined(CHOPIN_UNDER_ASAN) || defined(CHOPIN_UNDER_TSAN) /* core/core.h */
#define SANITIZER_MALLOC 1
#endif

#ifndef SANITIZER_MALLOC
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static volatile int counting;
static volatile long allocations;
void *malloc(size_t n) {
    if (counting) allocations++;
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b) {
    if (counting) allocations++;
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n) {
    if (counting) allocations++;
    return __libc_realloc(p, n);
}
#endif

#ifndef SANITIZER_MALLOC
static void json(chopin_ctx *c) {
    chopin_json *j = chopin_json_begin(c, 200);
    chopin_json_object(j);
    chopin_json_key(j, "message");
    chopin_json_string(j, "Hello, World!");
    chopin_json_end(j);
    chopin_json_finish(j);
}

static void user(chopin_ctx *c) {
    chopin_str id = chopin_param(c, "id");
    chopin_str q = chopin_query(c, "q");
    chopin_json *j = chopin_json_begin(c, 200);
    chopin_json_object(j);
    chopin_json_key(j, "id");
    chopin_json_stringn(j, id.ptr, id.len);
    chopin_json_key(j, "q");
    chopin_json_stringn(j, q.ptr ? q.ptr : "", q.len);
    chopin_json_end(j);
    chopin_json_finish(j);
}
#endif

Test(alloc, no_malloc_per_request_after_warmup) {
#ifdef SANITIZER_MALLOC
    cr_skip_test("malloc is the sanitizer's in this build");
#else
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    chopin_app *app = chopin_app_new_with(&cfg);
    chopin_get(app, "/json", json);
    chopin_get(app, "/users/:id", user);
    cr_assert_eq(app_compose(app), 0);
    server srv = {.cfg = &app->cfg, .handle = app_handle, .handle_arg = app, .num_workers = 1};
    worker w;
    cr_assert_eq(worker_init(&w, &srv, 0), 0);

    static const char one[] = "GET /json HTTP/1.1\r\nHost: x\r\n\r\n"
                              "GET /users/42?q=a%20b HTTP/1.1\r\nHost: x\r\n\r\n"
                              "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n";
    /* 60 pipelined requests: their answers (about 14 KB) fit one pooled
     * block; a batch whose answers outgrow it costs one malloc, whatever
     * its number of requests. */
    char batch[sizeof one * 20];
    size_t len = 0;
    for (int i = 0; i < 20; i++) {
        memcpy(batch + len, one, sizeof one - 1);
        len += sizeof one - 1;
    }
    conn c;
    conn_init(&c, &w, -1);
    long per_batch[5];
    for (int round = 0; round < 5; round++) {
        cr_assert_eq(buf_append(&w.pool, &c.in, batch, len), 0);
        allocations = 0;
        counting = 1;
        conn_process(&c);
        counting = 0;
        per_batch[round] = allocations;
        cr_assert_eq(c.in.len, 0, "every request consumed");
        cr_assert(c.out.len > 60 * 100, "60 responses written (%zu bytes)", c.out.len);
        cr_assert_eq(memcmp(c.out.data, "HTTP/1.1 200 OK\r\n", 17), 0);
        /* What the socket would do: the output leaves, the buffers go back. */
        c.out.len = 0;
        conn_release_buffers(&c);
    }
    cr_assert(per_batch[0] > 0, "the counter works: the first batch fills the pools");
    for (int round = 1; round < 5; round++)
        cr_expect_eq(per_batch[round], 0, "round %d: %ld allocations for 60 requests", round,
                     per_batch[round]);
    worker_destroy(&w);
    chopin_app_free(app);
#endif
}
