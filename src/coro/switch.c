/* switch.c - the context switch, in assembly, one version per architecture.
 *
 * coro_switch(from, to) saves the callee-saved registers of the running
 * context on its own stack, stores its stack pointer in *from, loads to's
 * stack pointer and restores its registers. That is all a cooperative switch
 * needs: caller-saved registers are dead across a call by the ABI.
 *
 * A new context is a stack prepared by coro_prepare_stack() so that its first
 * switch "returns" into coro_trampoline, which calls entry(arg). entry never
 * returns (the coroutine ends by switching away for good). */
#include "coro_internal.h"

#include <stdint.h>

#if defined(__x86_64__)

/* Frame: fcw+mxcsr (8 bytes), r15, r14, r13, r12, rbx, rbp, return address. */
__asm__(".text\n"
        ".globl coro_switch\n"
        ".type coro_switch,@function\n"
        ".hidden coro_switch\n"
        "coro_switch:\n"
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    subq $8, %rsp\n"
        "    stmxcsr (%rsp)\n"
        "    fnstcw 4(%rsp)\n"
        "    movq %rsp, (%rdi)\n"
        "    movq (%rsi), %rsp\n"
        "    ldmxcsr (%rsp)\n"
        "    fldcw 4(%rsp)\n"
        "    addq $8, %rsp\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    ret\n"
        ".size coro_switch,.-coro_switch\n"
        /* Entered by ret with rsp 16-byte aligned; r12 = entry, r13 = arg. */
        ".globl coro_trampoline\n"
        ".type coro_trampoline,@function\n"
        ".hidden coro_trampoline\n"
        "coro_trampoline:\n"
        "    movq %r13, %rdi\n"
        "    callq *%r12\n"
        "    ud2\n"
        ".size coro_trampoline,.-coro_trampoline\n");

void coro_trampoline(void);

void *coro_prepare_stack(char *stack_hi, void (*entry)(void *), void *arg) {
    uint64_t *top = (uint64_t *)((uintptr_t)stack_hi & ~(uintptr_t)15);
    uint64_t *sp = top - 10;
    /* After the 8-byte control word, six pops and ret, rsp = top - 2 words:
     * 16-byte aligned, as the trampoline's call requires. */
    uint32_t *control = (uint32_t *)sp;
    control[0] = 0x1f80;                /* MXCSR: all exceptions masked, round to nearest */
    control[1] = 0x037f;                /* x87 control word: the ABI default */
    sp[1] = 0;                          /* r15 */
    sp[2] = 0;                          /* r14 */
    sp[3] = (uint64_t)(uintptr_t)arg;   /* r13 */
    sp[4] = (uint64_t)(uintptr_t)entry; /* r12 */
    sp[5] = 0;                          /* rbx */
    sp[6] = 0;                          /* rbp: ends frame-pointer walks */
    sp[7] = (uint64_t)(uintptr_t)coro_trampoline; /* return address */
    return sp;
}

#elif defined(__aarch64__)

/* Frame (176 bytes): x19..x28, x29 (fp), x30 (lr), d8..d15. */
__asm__(".text\n"
        ".globl coro_switch\n"
        ".type coro_switch,%function\n"
        ".hidden coro_switch\n"
        "coro_switch:\n"
        "    sub sp, sp, #176\n"
        "    stp x19, x20, [sp, #0]\n"
        "    stp x21, x22, [sp, #16]\n"
        "    stp x23, x24, [sp, #32]\n"
        "    stp x25, x26, [sp, #48]\n"
        "    stp x27, x28, [sp, #64]\n"
        "    stp x29, x30, [sp, #80]\n"
        "    stp d8, d9, [sp, #96]\n"
        "    stp d10, d11, [sp, #112]\n"
        "    stp d12, d13, [sp, #128]\n"
        "    stp d14, d15, [sp, #144]\n"
        "    mov x9, sp\n"
        "    str x9, [x0]\n"
        "    ldr x9, [x1]\n"
        "    mov sp, x9\n"
        "    ldp x19, x20, [sp, #0]\n"
        "    ldp x21, x22, [sp, #16]\n"
        "    ldp x23, x24, [sp, #32]\n"
        "    ldp x25, x26, [sp, #48]\n"
        "    ldp x27, x28, [sp, #64]\n"
        "    ldp x29, x30, [sp, #80]\n"
        "    ldp d8, d9, [sp, #96]\n"
        "    ldp d10, d11, [sp, #112]\n"
        "    ldp d12, d13, [sp, #128]\n"
        "    ldp d14, d15, [sp, #144]\n"
        "    add sp, sp, #176\n"
        "    ret\n"
        ".size coro_switch,.-coro_switch\n"
        /* Entered by ret through x30; x19 = entry, x20 = arg. */
        ".globl coro_trampoline\n"
        ".type coro_trampoline,%function\n"
        ".hidden coro_trampoline\n"
        "coro_trampoline:\n"
        "    mov x0, x20\n"
        "    blr x19\n"
        "    brk #0\n"
        ".size coro_trampoline,.-coro_trampoline\n");

void coro_trampoline(void);

void *coro_prepare_stack(char *stack_hi, void (*entry)(void *), void *arg) {
    uint64_t *top = (uint64_t *)((uintptr_t)stack_hi & ~(uintptr_t)15);
    uint64_t *sp = top - 22; /* 176 bytes, keeps sp 16-byte aligned */
    for (int i = 0; i < 22; i++) sp[i] = 0;
    sp[0] = (uint64_t)(uintptr_t)entry;            /* x19 */
    sp[1] = (uint64_t)(uintptr_t)arg;              /* x20 */
    sp[11] = (uint64_t)(uintptr_t)coro_trampoline; /* x30 */
    return sp;
}

#else
#error "coroutines: no context switch for this architecture (x86-64 and aarch64 only)"
#endif
