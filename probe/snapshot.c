// SPDX-License-Identifier: MIT
/* A sample of a blocked thread taken from user space (snapshot.h): its
 * syscall and registers from /proc, its stack and Python frames read from
 * its memory. The target is never stopped. */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "snapshot.h"

int snapshot__parse_syscall(const char *text, struct thread_syscall *out)
{
	uint64_t v[8];
	int nr, n;

	memset(out, 0, sizeof(*out));
	if (!strncmp(text, "running", 7)) {
		out->nr = -2;
		return 0;
	}
	n = sscanf(text, "%d %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64
		   " %" SCNx64 " %" SCNx64 " %" SCNx64, &nr, &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]);
	if (n == 3 && nr == -1) {		/* blocked outside a syscall */
		out->nr = -1;
		out->sp = v[0];
		out->pc = v[1];
		return 0;
	}
	if (n != 9 || nr < 0)
		return -EINVAL;
	out->nr = nr;
	memcpy(out->args, v, sizeof(out->args));
	out->sp = v[6];
	out->pc = v[7];
	return 0;
}

int snapshot__syscall(int pid, uint32_t tid, struct thread_syscall *out)
{
	char path[64], text[256];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%u/syscall", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	return snapshot__parse_syscall(text, out);
}

int snapshot__sample(const struct pyproc *py, uint32_t tid, uint64_t tstate,
		     const struct thread_syscall *sc, struct ls_sample *s)
{
	static const uint32_t lens[] = { LS_STACK_BYTES, LS_STACK_BYTES / 4, 256 };
	uint32_t flags = 0;
	int n;

	memset(s, 0, offsetof(struct ls_sample, stack));
	s->hdr.type = LS_EV_SAMPLE;
	s->hdr.size = sizeof(*s);
	s->hdr.pid = py->pid;
	s->hdr.tid = tid;
	s->kind = LS_SAMPLE_OFFCPU;
	s->nr = sc->nr >= 0 ? sc->nr : LS_WAIT_OTHER;
	memcpy(s->args, sc->args, sizeof(s->args));
	s->regs[LS_REG_IP] = sc->pc;
	s->regs[LS_REG_SP] = sc->sp;
	s->fd_kind = LS_FD_UNKNOWN;
	for (unsigned int i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		if (!pyproc__read(py, sc->sp, s->stack, lens[i])) {
			s->stack_len = lens[i];
			break;
		}
	n = pyproc__walk(py, tstate, s->py, LS_MAX_PYFRAMES, &flags);
	s->n_py = n > 0 ? n : 0;
	s->py_flags = flags | (n < 0 ? LS_PY_READ_ERR : 0);
	return 0;
}
