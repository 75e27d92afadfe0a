#include <stdio.h>
#include <string.h>
#include "events.h"
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
	for (int i = 0; i < NSYSCALLS; i++)
		if (ls_syscall_names[i] && !strcmp(ls_syscall_names[i], name))
			return i;
	return -1;
}

const char *syscall__wait_label(int nr, char *buf, unsigned long len)
{
	const char *name;

	if (nr == LS_WAIT_RUNQ)
		return "runqueue (CPU busy)";
	if (nr == LS_WAIT_OTHER)
		return "other (page fault)";
	name = syscall__name(nr);
	if (!name) {
		snprintf(buf, len, "syscall %d", nr);
		return buf;
	}
	if (!strcmp(name, "futex") || !strcmp(name, "futex_waitv"))
		return "futex (lock/GIL)";
	return name;
}
