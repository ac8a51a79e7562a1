/* coro - stackful coroutines: a context switch and a pool of guarded stacks.
 * Internal to libchopin.
 *
 * Owns: switching between a worker's own stack and a coroutine's, and the
 * memory of coroutine stacks. It knows nothing of requests or I/O: the engine
 * decides when to switch (coro_resume / coro_yield) and why.
 *
 * A stack is one mmap: a PROT_NONE guard page below the usable part, so that
 * running off the end faults at once instead of overwriting a neighbour.
 * coro_install_overflow_handler() turns that fault into a message naming the
 * handler that overflowed.
 *
 * Threads: a pool and its coroutines belong to one worker thread. */
#ifndef CHOPIN_CORO_H
#define CHOPIN_CORO_H

#include "../core/core.h" /* CHOPIN_UNDER_TSAN */

#include <stdbool.h>
#include <stddef.h>

/* Saved stack pointer of a suspended context; the registers live on that stack. */
typedef struct {
    void *sp;
} coro_context;

typedef struct coro coro;
typedef void (*coro_fn)(coro *co, void *arg);
/* Writes a NUL-terminated description of what runs on the coroutine (for the
 * overflow message). Called from a signal handler: plain copies only. */
typedef void (*coro_describe_fn)(void *arg, char *buf, size_t cap);

struct coro {
    coro_context ctx;    /* the coroutine's own, while it is suspended */
    coro_context caller; /* the worker's, while the coroutine runs */
    char *stack_lo;      /* usable stack [stack_lo, stack_hi) */
    char *stack_hi;
    size_t map_size; /* the whole mapping, guard page included */
    coro_fn fn;
    void *arg;
    bool done;                 /* fn has returned */
    coro_describe_fn describe; /* what runs on it, for the overflow message */
    coro *next_free;
    unsigned valgrind_stack; /* the stack's id with Valgrind (coro.c) */
    void *asan_fake_stack;   /* AddressSanitizer bookkeeping */
    const void *asan_caller_bottom;
    size_t asan_caller_size;
#ifdef CHOPIN_UNDER_TSAN
    void *tsan_fiber;  /* ThreadSanitizer's context for this coroutine, coro_new to coro_release */
    void *tsan_caller; /* the fiber that resumed it, to switch back to */
#endif
};

typedef struct {
    coro *free_list;
    size_t free_count, max_free;
    size_t stack_size; /* usable bytes per stack, a multiple of the page size */
    size_t live;       /* coroutines handed out and not yet released */
} coro_pool;

void coro_pool_init(coro_pool *p, size_t stack_size, size_t max_free);
void coro_pool_destroy(coro_pool *p); /* frees the free list; live ones are the caller's */
/* A coroutine ready to run fn(co, arg) on its first resume; NULL if out of memory. */
coro *coro_new(coro_pool *p, coro_fn fn, void *arg, coro_describe_fn describe);
void coro_release(coro_pool *p, coro *co); /* back to the pool (must be done or never started) */

/* Runs co until it yields or finishes; returns true when it has finished. */
bool coro_resume(coro *co);
/* From inside co: back to whoever resumed it. */
void coro_yield(coro *co);

/* Installs (once per process) a SIGSEGV/SIGBUS handler on an alternate
 * signal stack that recognizes a hit on a coroutine guard page, prints
 *   chopin: stack overflow in <description> (coroutine stack of N KiB; raise CHOPIN_STACK_SIZE)
 * and aborts. Each thread that runs coroutines calls coro_thread_init(). */
void coro_install_overflow_handler(void);
int coro_thread_init(void); /* the alternate signal stack of this thread */
void coro_thread_exit(void);

#endif
