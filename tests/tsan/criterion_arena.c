/* criterion_arena.c - lets Criterion run under ThreadSanitizer (linked into
 * the Criterion test executables of a CHOPIN_TSAN build only).
 *
 * Criterion's sandbox (BoxFort) keeps its shared arenas, one for the runner
 * and one per test, at addresses it draws at random: 0x2000'0000'0000 +
 * (rand_r() & 0x3fffff) * 16 MiB, ten draws at most, each kept only when
 * mincore() finds the range unmapped. ThreadSanitizer reserves nearly all of
 * that range for its shadow and metadata, and refuses a MAP_FIXED mapping
 * outside the application ranges it tracks: only 0x5500'0000'0000 to
 * 0x5680'0000'0000 is both (about 2% of the draws). Most runs then die with
 * "Could not initialize inheritable arena" or, when a test's arena fails,
 * a SEGV inside Criterion (Criterion issue #274, open upstream).
 *
 * The one input BoxFort takes from outside is rand_r, which the executable
 * may define (ThreadSanitizer's own rand_r is a weak interceptor). For calls
 * from libcriterion only, this rand_r draws inside 0x5500'0000'0000 to
 * 0x5550'0000'0000: application memory for ThreadSanitizer, and below where
 * the kernel loads a PIE binary and its heap (0x5555'5555'4000 and up), so
 * the child process BoxFort starts can map the arena at the same address.
 * The draws are still random (glibc's rand_r on BoxFort's seed): arenas of
 * tests running side by side do not collide. Every other caller gets glibc's
 * rand_r unchanged. */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define ARENA_BASE     0x200000000000ull /* BoxFort's mmap_base */
#define ARENA_STEP_LOG 24                /* BoxFort's mmap_off: 16 MiB */
#define WINDOW_LO      0x550000000000ull /* ThreadSanitizer's mid application range */
#define WINDOW_HI      0x555000000000ull /* below the kernel's PIE load address */

typedef int rand_r_fn(unsigned *);

static bool called_from_criterion(const void *ret) {
    Dl_info info;
    return dladdr(ret, &info) && info.dli_fname && strstr(info.dli_fname, "libcriterion");
}

int rand_r(unsigned *seed) {
    static rand_r_fn *libc_rand_r;
    rand_r_fn *real = __atomic_load_n(&libc_rand_r, __ATOMIC_ACQUIRE);
    if (!real) {
        /* The next definition after this executable's: glibc's. */
        real = (rand_r_fn *)dlsym(RTLD_NEXT, "rand_r");
        __atomic_store_n(&libc_rand_r, real, __ATOMIC_RELEASE);
    }
    int r = real(seed);
    if (!called_from_criterion(__builtin_return_address(0))) return r;
    unsigned first = (unsigned)((WINDOW_LO - ARENA_BASE) >> ARENA_STEP_LOG);
    unsigned slots = (unsigned)((WINDOW_HI - WINDOW_LO) >> ARENA_STEP_LOG);
    return (int)(first + (unsigned)r % slots);
}
