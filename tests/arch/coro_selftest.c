/* coro_selftest.c - the context switch on its own, for architectures CI does
 * not run natively. scripts/check-aarch64.sh cross-compiles it with
 * aarch64-linux-gnu-gcc and runs it under qemu-aarch64 (Debian packages
 * gcc-aarch64-linux-gnu and qemu-user).
 *
 * It checks that values in callee-saved integer and floating-point registers
 * survive switches in both directions, that a coroutine's locals survive its
 * suspensions, that stacks are reused from the pool, and that two coroutines
 * interleave. Exit status 0 on success. */
#include "coro/coro.h"

#include <stdio.h>
#include <stdlib.h>

static int failures;
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAILED %s:%d: %s\n", __FILE__, __LINE__, #cond);                      \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

typedef struct {
    int id;
    long steps;
    double acc;
} job;

/* Enough live values that the compiler keeps some in callee-saved registers
 * (x19-x28 / d8-d15 on aarch64, rbx/rbp/r12-r15 on x86-64) across the yields. */
static void body(coro *co, void *arg) {
    job *j = arg;
    long a = j->id * 3 + 1, b = a * 7, c = b ^ 0x55, d = c + a, e = d * 2, f = e - b;
    double x = j->id + 0.5, y = x * 1.25, z = y / 3.0, w = z + x;
    for (int i = 0; i < 5; i++) {
        coro_yield(co);
        a += 1, b += 2, c += 3, d += 4, e += 5, f += 6;
        x += 1.0, y += 2.0, z += 3.0, w += 4.0;
        j->steps++;
    }
    j->acc = (double)(a + b + c + d + e + f) + x + y + z + w;
}

static double expected(int id) {
    long a = id * 3 + 1, b = a * 7, c = b ^ 0x55, d = c + a, e = d * 2, f = e - b;
    double x = id + 0.5, y = x * 1.25, z = y / 3.0, w = z + x;
    for (int i = 0; i < 5; i++) {
        a += 1, b += 2, c += 3, d += 4, e += 5, f += 6;
        x += 1.0, y += 2.0, z += 3.0, w += 4.0;
    }
    return (double)(a + b + c + d + e + f) + x + y + z + w;
}

int main(void) {
    coro_pool pool;
    coro_pool_init(&pool, 64 * 1024, 4);
    /* The caller's own callee-saved values must survive too. */
    volatile double keep_d = 3.25;
    long keep_l = 12345;
    for (int round = 0; round < 3; round++) {
        job j1 = {.id = 1 + round}, j2 = {.id = 10 + round};
        coro *c1 = coro_new(&pool, body, &j1, NULL);
        coro *c2 = coro_new(&pool, body, &j2, NULL);
        CHECK(c1 && c2);
        bool d1 = false, d2 = false;
        int turns = 0;
        while (!d1 || !d2) {
            if (!d1) d1 = coro_resume(c1);
            if (!d2) d2 = coro_resume(c2);
            CHECK(keep_l == 12345 && keep_d == 3.25);
            CHECK(++turns < 100);
        }
        CHECK(j1.steps == 5 && j2.steps == 5);
        CHECK(j1.acc == expected(j1.id));
        CHECK(j2.acc == expected(j2.id));
        coro_release(&pool, c1);
        coro_release(&pool, c2);
        CHECK(pool.live == 0 && pool.free_count == 2); /* reused from the pool next round */
    }
    coro_pool_destroy(&pool);
    printf("coro selftest: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
