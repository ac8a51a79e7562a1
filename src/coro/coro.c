/* coro.c - coroutine life cycle, the stack pool and the overflow report. */
#include "coro_internal.h"

#include "../core/core.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef CHOPIN_UNDER_ASAN
/* AddressSanitizer must be told about every switch between stacks, or it
 * takes the other stack for a corrupted one. */
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old,
                                     size_t *size_old);
#endif

#ifdef CHOPIN_UNDER_TSAN
/* ThreadSanitizer keeps a shadow call stack and a clock per thread: a stack
 * switch it is not told about mixes the coroutine's frames with the worker's
 * (and crashes it, or yields reports with impossible stacks). Each coroutine
 * is a fiber of its own, created in coro_new and destroyed in coro_release:
 * a released coroutine may be parked mid-coro_yield (task.c's coro_loop never
 * returns), so its fiber's shadow stack is not empty and cannot be reused.
 * Switches pass flags 0: a switch on one thread is ordered, so it
 * synchronizes the two fibers (no false race between worker and coroutine). */
#include <sanitizer/tsan_interface.h>
#endif

/* Valgrind knows one stack per thread: a switch to a coroutine's stack looks
 * to it like a frame megabytes deep ("client switching stacks?"), after which
 * it checks stack accesses against the wrong bounds and reports errors that
 * are not there. Each stack is therefore registered with it while mapped.
 * The client requests are a few instructions that do nothing outside
 * Valgrind; without its header (valgrind not installed) they are left out. */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define CHOPIN_HAVE_VALGRIND 1
#endif
#endif

/* The coroutine running on this thread, for the overflow handler. */
static _Thread_local coro *running;

static size_t page_size(void) {
    static size_t cached;
    if (!cached) cached = (size_t)sysconf(_SC_PAGESIZE);
    return cached;
}

void coro_pool_init(coro_pool *p, size_t stack_size, size_t max_free) {
    size_t pg = page_size();
    if (stack_size < 4 * pg) stack_size = 4 * pg;
    p->stack_size = (stack_size + pg - 1) / pg * pg;
    p->free_list = NULL;
    p->free_count = 0;
    p->max_free = max_free;
    p->live = 0;
}

static void unmap(coro *co) {
#ifdef CHOPIN_HAVE_VALGRIND
    VALGRIND_STACK_DEREGISTER(co->valgrind_stack);
#endif
    munmap(co->stack_lo - page_size(), co->map_size);
}

void coro_pool_destroy(coro_pool *p) {
    while (p->free_list) {
        coro *co = p->free_list;
        p->free_list = co->next_free;
        unmap(co);
    }
    p->free_count = 0;
}

/* Pages a released stack may keep: handlers that stay shallow never pay for
 * giving pages back (madvise is a syscall and a TLB flush on every core). */
#define KEEP_BYTES (32 * 1024)
#define DEEP_MAGIC 0x43484f50494e5f44ull

/* A word KEEP_BYTES below the top: overwritten only by a deep stack. */
static uint64_t *deep_mark(coro *co) {
    if ((size_t)(co->stack_hi - co->stack_lo) <= KEEP_BYTES + 64) return NULL;
    return (uint64_t *)(((uintptr_t)co->stack_hi - KEEP_BYTES) & ~(uintptr_t)7);
}

#if defined(__clang__) || defined(__GNUC__)
#define NO_ASAN __attribute__((no_sanitize_address))
#else
#define NO_ASAN
#endif

/* The mark sits in memory that dead frames may have left poisoned (ASan),
 * or below the stack pointer, where Valgrind forbids access: reading it is
 * the point, so it is declared readable first. */
NO_ASAN static bool went_deep(coro *co, uint64_t **mark_out) {
    uint64_t *mark = deep_mark(co);
    *mark_out = mark;
    if (!mark) return false;
#ifdef CHOPIN_HAVE_VALGRIND
    VALGRIND_MAKE_MEM_DEFINED(mark, sizeof *mark);
#endif
    return *mark != DEEP_MAGIC;
}

NO_ASAN static void set_deep_mark(coro *co) {
    uint64_t *mark = deep_mark(co);
    if (!mark) return;
#ifdef CHOPIN_HAVE_VALGRIND
    VALGRIND_MAKE_MEM_UNDEFINED(mark, sizeof *mark); /* addressable, for the write */
#endif
    *mark = DEEP_MAGIC;
}

/* The coro struct lives at the top of its own stack: one mapping per coroutine. */
static coro *map_new(coro_pool *p) {
    size_t pg = page_size();
    size_t size = pg + p->stack_size;
    char *base =
        mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (base == MAP_FAILED) return NULL;
    if (mprotect(base, pg, PROT_NONE)) { /* the guard page */
        munmap(base, size);
        return NULL;
    }
    coro *co = (coro *)(base + size - ((sizeof(coro) + 63) & ~(size_t)63));
    memset(co, 0, sizeof *co);
    co->stack_lo = base + pg;
    co->stack_hi = (char *)co;
    co->map_size = size;
#ifdef CHOPIN_HAVE_VALGRIND
    co->valgrind_stack = VALGRIND_STACK_REGISTER(co->stack_lo, co->stack_hi);
#endif
    set_deep_mark(co);
    return co;
}

static void entry(void *arg) {
    coro *co = arg;
#ifdef CHOPIN_UNDER_ASAN
    __sanitizer_finish_switch_fiber(co->asan_fake_stack, &co->asan_caller_bottom,
                                    &co->asan_caller_size);
#endif
    co->fn(co, co->arg);
    co->done = true;
#ifdef CHOPIN_UNDER_ASAN
    /* NULL: this stack is finished, its fake frames can go. */
    __sanitizer_start_switch_fiber(NULL, co->asan_caller_bottom, co->asan_caller_size);
#endif
#ifdef CHOPIN_UNDER_TSAN
    __tsan_switch_to_fiber(co->tsan_caller, 0);
#endif
    coro_switch(&co->ctx, &co->caller);
    abort(); /* a finished coroutine is never resumed */
}

coro *coro_new(coro_pool *p, coro_fn fn, void *arg, coro_describe_fn describe) {
    coro *co = p->free_list;
    if (co) {
        p->free_list = co->next_free;
        p->free_count--;
    } else if (!(co = map_new(p))) {
        return NULL;
    }
    co->fn = fn;
    co->arg = arg;
    co->done = false;
    co->asan_fake_stack = NULL; /* a recycled stack starts a new fiber */
    co->describe = describe;
    co->next_free = NULL;
    co->ctx.sp = coro_prepare_stack(co->stack_hi, entry, co);
#ifdef CHOPIN_UNDER_TSAN
    co->tsan_fiber = __tsan_create_fiber(0);
    co->tsan_caller = NULL;
#endif
    /* One writer (the worker); chopin_app_stats reads it from elsewhere. */
    __atomic_store_n(&p->live, p->live + 1, __ATOMIC_RELAXED);
    return co;
}

void coro_release(coro_pool *p, coro *co) {
    __atomic_store_n(&p->live, p->live - 1, __ATOMIC_RELAXED);
#ifdef CHOPIN_UNDER_TSAN
    /* Never the running fiber: co is done, never started, or parked. */
    __tsan_destroy_fiber(co->tsan_fiber);
    co->tsan_fiber = NULL;
#endif
    if (p->free_count < p->max_free) {
        co->next_free = p->free_list;
        p->free_list = co;
        p->free_count++;
        /* A stack that went deep gives its lower pages back; the next request
         * rarely needs them. The common shallow case costs one load. */
        uint64_t *mark;
        if (went_deep(co, &mark)) {
            madvise(co->stack_lo, (size_t)((char *)mark - co->stack_lo) & ~(page_size() - 1),
                    MADV_DONTNEED);
            set_deep_mark(co);
        }
    } else {
        unmap(co);
    }
}

bool coro_resume(coro *co) {
    coro *outer = running;
    running = co;
#ifdef CHOPIN_UNDER_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, co->stack_lo, (size_t)(co->stack_hi - co->stack_lo));
    coro_switch(&co->caller, &co->ctx);
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#elif defined(CHOPIN_UNDER_TSAN)
    /* Whoever resumes it: the worker, or a coroutine resuming another. */
    co->tsan_caller = __tsan_get_current_fiber();
    __tsan_switch_to_fiber(co->tsan_fiber, 0);
    coro_switch(&co->caller, &co->ctx);
#else
    coro_switch(&co->caller, &co->ctx);
#endif
    running = outer;
    return co->done;
}

void coro_yield(coro *co) {
#ifdef CHOPIN_UNDER_ASAN
    __sanitizer_start_switch_fiber(&co->asan_fake_stack, co->asan_caller_bottom,
                                   co->asan_caller_size);
    coro_switch(&co->ctx, &co->caller);
    __sanitizer_finish_switch_fiber(co->asan_fake_stack, &co->asan_caller_bottom,
                                    &co->asan_caller_size);
#elif defined(CHOPIN_UNDER_TSAN)
    __tsan_switch_to_fiber(co->tsan_caller, 0);
    coro_switch(&co->ctx, &co->caller);
#else
    coro_switch(&co->ctx, &co->caller);
#endif
}

/* --- Stack overflow ------------------------------------------------------------ */

static void put(const char *s) {
    ssize_t ignored = write(STDERR_FILENO, s, strlen(s));
    (void)ignored;
}

static void on_fault(int sig, siginfo_t *info, void *uctx) {
    (void)uctx;
    coro *co = running;
    char *addr = info->si_addr;
    size_t pg = page_size();
    if (co && addr >= co->stack_lo - pg && addr < co->stack_lo + 256) {
        char kib[24];
        size_t n = (co->map_size - pg) / 1024, i = sizeof kib - 1;
        kib[i] = 0;
        do kib[--i] = (char)('0' + n % 10), n /= 10;
        while (n && i);
        char what[128] = "a coroutine";
        if (co->describe) co->describe(co->arg, what, sizeof what);
        put("chopin: stack overflow in ");
        put(what);
        put(" (coroutine stack of ");
        put(kib + i);
        put(" KiB; raise CHOPIN_STACK_SIZE)\n");
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    /* Not ours: die of the original signal, as if no handler were there. */
    signal(sig, SIG_DFL);
    raise(sig);
}

void coro_install_overflow_handler(void) {
    static int installed;
    if (__atomic_exchange_n(&installed, 1, __ATOMIC_SEQ_CST)) return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
}

static _Thread_local void *alt_stack;

int coro_thread_init(void) {
    if (alt_stack) return 0;
    size_t size = 64 * 1024;
    alt_stack = malloc(size);
    if (!alt_stack) return -1;
    stack_t ss = {.ss_sp = alt_stack, .ss_size = size, .ss_flags = 0};
    return sigaltstack(&ss, NULL);
}

void coro_thread_exit(void) {
    if (!alt_stack) return;
    stack_t ss = {.ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
    free(alt_stack);
    alt_stack = NULL;
}
