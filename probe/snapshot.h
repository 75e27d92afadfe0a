/* SPDX-License-Identifier: MIT */
/* A sample of a thread taken from user space, as the BPF programs would
 * take it at a switch-out: for a loop already blocked when loopstall
 * attaches, which switched out before any probe was there. */
#ifndef LS_SNAPSHOT_H
#define LS_SNAPSHOT_H
#include <stdint.h>
#include "events.h"
#include "pyproc.h"

/* What /proc/PID/task/TID/syscall says of a thread. */
struct thread_syscall {
	int32_t nr;		/* syscall it waits in; -1 blocked outside one;
				   -2 running */
	uint64_t args[6];
	uint64_t sp, pc;
};

/* Parse that file's text ("230 0x1 ... 0xsp 0xpc", "-1 0xsp 0xpc",
 * "running"). 0 or -EINVAL. Pure, for tests. */
int snapshot__parse_syscall(const char *text, struct thread_syscall *out);
/* Read it for tid of pid. 0 or -errno. */
int snapshot__syscall(int pid, uint32_t tid, struct thread_syscall *out);
/* An off-CPU sample of tid, blocked in sc: its registers as far as known
 * (pc, sp), a copy of its user stack, its Python frames from tstate. The
 * header's seq and the sample's id, time and weight are the caller's.
 * 0 or -errno. */
int snapshot__sample(const struct pyproc *py, uint32_t tid, uint64_t tstate,
		     const struct thread_syscall *sc, struct ls_sample *s);

#endif
