/* coro_internal.h - the assembly entry points of switch.c. */
#ifndef CHOPIN_CORO_INTERNAL_H
#define CHOPIN_CORO_INTERNAL_H

#include "coro.h"

void coro_switch(coro_context *from, coro_context *to);
/* Lays out a first frame on a fresh stack; returns the stack pointer to load. */
void *coro_prepare_stack(char *stack_hi, void (*entry)(void *), void *arg);

#endif
