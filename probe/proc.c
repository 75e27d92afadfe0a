// SPDX-License-Identifier: MIT
/* The process table of a session (proc.h). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "proc.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

struct proc *procs__find_any(struct procs *t, uint32_t pid)
{
	if (t->last && t->last->pid == pid)
		return t->last;
	for (unsigned int i = t->n; i-- > 0;)
		if (t->v[i]->pid == pid)
			return t->last = t->v[i];
	return NULL;
}

struct proc *procs__find(struct procs *t, uint32_t pid)
{
	struct proc *p = procs__find_any(t, pid);

	return p && p->state != PROC_GONE ? p : NULL;
}

struct proc *procs__add(struct procs *t, uint32_t pid, uint32_t ppid)
{
	struct proc **v = realloc(t->v, (t->n + 1) * sizeof(*v));
	struct proc *p;

	if (!v)
		return NULL;
	t->v = v;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->ppid = ppid;
	p->state = PROC_PENDING;
	p->tgt.pidfd = -1;
	p->tgt.py_fd = -1;
	p->pidfd = syscall(SYS_pidfd_open, pid, 0);
	proctitle__read(pid, p->title, sizeof(p->title));
	t->v[t->n++] = p;
	return t->last = p;
}

unsigned int procs__count(const struct procs *t, enum proc_state st)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < t->n; i++)
		n += t->v[i]->state == st;
	return n;
}

bool proc__alive(const struct proc *p)
{
	if (p->pidfd >= 0) {
		struct pollfd pf = { .fd = p->pidfd, .events = POLLIN };

		return poll(&pf, 1, 0) == 0;
	}
	return !(kill(p->pid, 0) && errno == ESRCH);
}

void loops__free(struct loops *ls)
{
	for (unsigned int i = 0; i < ls->n; i++) {
		free(ls->v[i].gil_frames);
		for (int k = 0; k < LOOP_TASKS; k++)
			free(ls->v[i].tasks[k].frames);
	}
	free(ls->v);
	memset(ls, 0, sizeof(*ls));
}

void proc__drop_python(struct proc *p)
{
	pythreads__free(p->names);
	p->names = NULL;
	taskwatch__free(p->tw);
	p->tw = NULL;
	pytasks__free(p->tasks);
	p->tasks = NULL;
	p->tasks_tried = false;
	if (p->res_ready)
		resolver__free(&p->res);
	p->res_ready = false;
	p->have_py = false;
	target__close(&p->tgt);
	loops__free(&p->loops);
	free(p->tids);
	p->tids = NULL;
	p->n_tids = 0;
}

void proc__info(const struct proc *p, struct proc_info *out)
{
	*out = (struct proc_info){
		.pid = p->pid, .ppid = p->ppid, .title = p->title, .comm = p->tgt.comm,
		.py_version = p->tgt.py_version[0] ? p->tgt.py_version : NULL,
	};
}

void procs__free(struct procs *t)
{
	for (unsigned int i = 0; i < t->n; i++) {
		proc__drop_python(t->v[i]);
		if (t->v[i]->pidfd >= 0)
			close(t->v[i]->pidfd);
		free(t->v[i]);
	}
	free(t->v);
	memset(t, 0, sizeof(*t));
}
