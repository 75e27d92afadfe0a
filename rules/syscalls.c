// SPDX-License-Identifier: MIT
/* Syscall names and numbers (from the generated syscall_names.h), how an
 * off-CPU wait is labelled, and which arguments are C ints. */
#include <stdio.h>
#include <string.h>
#include <linux/types.h>
#include "loopstall.h"	/* LS_WAIT_* */
#include "syscalls.h"
#include "syscall_names.h"

#define NSYSCALLS (int)(sizeof(ls_syscall_names) / sizeof(ls_syscall_names[0]))

const char *syscall__name(int nr)
{
	if (nr < 0 || nr >= NSYSCALLS)
		return NULL;
	return ls_syscall_names[nr];
}

int syscall__nr(const char *name)
{
	if (!strcmp(name, "stopped"))	/* not a syscall: a wait kind rules name */
		return LS_WAIT_STOPPED;
	for (int i = 0; i < NSYSCALLS; i++)
		if (ls_syscall_names[i] && !strcmp(ls_syscall_names[i], name))
			return i;
	return -1;
}

bool syscall__is_wait(int nr)
{
	return nr >= 0 || nr == LS_WAIT_RUNQ || nr == LS_WAIT_OTHER || nr == LS_WAIT_STOPPED ||
	       nr == LS_END_EXIT;
}

const char *syscall__wait_label(int nr, char *buf, unsigned long len)
{
	const char *name;

	if (nr == LS_WAIT_RUNQ)
		return "runqueue (CPU busy)";
	if (nr == LS_WAIT_OTHER)
		return "other (page fault)";
	if (nr == LS_WAIT_STOPPED)
		return "stopped (SIGSTOP, debugger)";
	if (nr == LS_END_EXIT)
		return "target exit";
	name = syscall__name(nr);
	if (!name) {
		snprintf(buf, len, "syscall %d", nr);
		return buf;
	}
	if (!strcmp(name, "futex") || !strcmp(name, "futex_waitv"))
		return "futex (lock/GIL)";
	return name;
}

unsigned int syscall__int_args(int nr)
{
	static const struct { const char *name; unsigned int mask; } ints[] = {
		{ "poll", 1u << 2 },		/* int timeout */
		{ "epoll_wait", 1u << 0 | 1u << 2 | 1u << 3 },
		{ "epoll_pwait", 1u << 0 | 1u << 2 | 1u << 3 },
		{ "read", 1u << 0 }, { "write", 1u << 0 }, { "recvfrom", 1u << 0 },
		{ "sendto", 1u << 0 }, { "recvmsg", 1u << 0 }, { "sendmsg", 1u << 0 },
		{ "connect", 1u << 0 }, { "fsync", 1u << 0 }, { "fdatasync", 1u << 0 },
		{ "futex", 1u << 1 },		/* int op */
	};
	const char *name = syscall__name(nr);

	for (size_t i = 0; name && i < sizeof(ints) / sizeof(ints[0]); i++)
		if (!strcmp(name, ints[i].name))
			return ints[i].mask;
	return 0;
}
