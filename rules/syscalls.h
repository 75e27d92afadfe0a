/* SPDX-License-Identifier: MIT */
/* Syscall names and what a wait in them means to a loop. */
#ifndef LS_SYSCALLS_H
#define LS_SYSCALLS_H
#include <stdbool.h>

/* Name of syscall nr, or NULL. */
const char *syscall__name(int nr);
/* Number of a syscall by name, or -1; "stopped": LS_WAIT_STOPPED (a wait
 * kind, not a syscall, that rules may name). */
int syscall__nr(const char *name);
/* nr is what a loop can wait in, or what ends a stall: a syscall, an
 * LS_WAIT_* kind, LS_END_EXIT. */
bool syscall__is_wait(int nr);
/* What an off-CPU wait in nr is shown as: "clock_nanosleep",
 * "futex (lock/GIL)", "runqueue (CPU busy)". Never NULL. */
const char *syscall__wait_label(int nr, char *buf, unsigned long len);

/* Bit a set for each argument a of syscall nr that is a C int: it comes
 * in a 64-bit register zero- or sign-extended depending on the libc, so
 * read it as 32 bits (poll's timeout -1 is 4294967295 from glibc 2.36). */
unsigned int syscall__int_args(int nr);

#endif
