// SPDX-License-Identifier: MIT
/* The asyncio task a stall ran in (session.h): the running task of the
 * loop's thread, read from the target's memory (symbolizer/pytasks.c) at
 * the first sample of a busy interval, kept only if the thread was in that
 * interval before and after the read (else it may be the next task's). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "loopstall.skel.h"
#include "session.h"

/* Is tid still busy in interval seq (BPF's view)? */
static bool busy_in(struct session *s, uint32_t tid, uint64_t seq)
{
	struct ls_thread t;

	if (bpf_map_lookup_elem(bpf_map__fd(s->bpf.skel->maps.threads), &tid, &t))
		return false;
	return t.seq == seq && !t.in_poll;
}

static struct pytasks *tasks_of(struct proc *p)
{
	int err = 0;

	if (!p->tasks_tried && p->have_py) {
		p->tasks_tried = true;
		p->tasks = pytasks__new(&p->py, &err);
	}
	return p->tasks;
}

/* The running task's chain from its own coroutine inward: the thread's
 * Python frames from the one running that coroutine's code to the
 * innermost, innermost first, into pf; its count, 0 when the coroutine is
 * not on the stack (then the task's own chain, a suspended one's, is
 * used). */
static int running_chain(struct proc *p, uint64_t ts, const struct pytask *t,
			 struct ls_pyframe *pf)
{
	uint32_t flags;
	int n = t->n_frames ? pyproc__walk(&p->py, ts, pf, LS_MAX_PYFRAMES, &flags) : 0;

	for (int i = n - 1; i >= 0; i--)
		if (pf[i].code == t->frames[0].code)
			return i + 1;
	return 0;
}

/* Frame ids of the chain (innermost first in ids[0..n)), into lt
 * outermost first: the task's coroutine and the user's frames inside it. */
static int keep_chain(struct proc *p, struct loop_task *lt, const uint32_t *ids, int n)
{
	uint32_t *v = calloc(n ? n : 1, sizeof(*v)), k = 0;

	if (!v)
		return -ENOMEM;
	for (int i = n - 1; i >= 0; i--) {
		const struct frame *f = frames__get(p->res.frames, ids[i]);

		if (i == n - 1 || (f && f->user))
			v[k++] = ids[i];
	}
	free(lt->frames);
	lt->frames = v;
	lt->n_frames = k;
	return 0;
}

/* The task's coroutines as frame ids, into lt: 0 or -ENOMEM. */
static int task_frames(struct proc *p, struct loop_task *lt, uint64_t ts,
		       const struct pytask *t)
{
	struct ls_pyframe pf[LS_MAX_PYFRAMES];
	bool entry[LS_MAX_PYFRAMES];
	uint32_t ids[LS_MAX_PYFRAMES];
	int n = running_chain(p, ts, t, pf);

	if (!n) {	/* outermost first: turned innermost first */
		for (int i = 0; i < t->n_frames; i++)
			pf[t->n_frames - 1 - i] = (struct ls_pyframe){
				.code = t->frames[i].code, .lasti = t->frames[i].lasti,
				.guard = t->frames[i].guard };
		n = t->n_frames;
	}
	n = n ? resolver__python(&p->res, pf, n, ids, entry) : 0;
	return n < 0 ? -ENOMEM : keep_chain(p, lt, ids, n);
}

int stalltask__sample(struct session *s, struct proc *p, uint32_t tid, uint64_t seq)
{
	struct loop_state *l = loops__find(p, tid);
	struct loop_task *lt;
	struct pytasks *tasks;
	struct pytask t;
	uint64_t ts;

	if (!s->o->tasks || !l || l->task_seq == seq)
		return 0;
	l->task_seq = seq;
	lt = &l->tasks[seq % LOOP_TASKS];
	lt->seq = seq;
	lt->id = 0;
	if (!(tasks = tasks_of(p)) || !busy_in(s, tid, seq) ||
	    !(ts = loops__tstate(s, p, tid)) || pytasks__running(tasks, ts, tid, &t) ||
	    !busy_in(s, tid, seq))
		return 0;
	if (task_frames(p, lt, ts, &t))
		return -ENOMEM;
	lt->id = t.id;
	memcpy(lt->name, t.name, sizeof(lt->name));
	return 0;
}

int stalltask__busy(struct session *s, uint64_t now)
{
	int fd = bpf_map__fd(s->bpf.skel->maps.threads);

	if (!s->o->tasks)
		return 0;
	for (unsigned int i = 0; i < s->procs.n; i++) {
		struct proc *p = s->procs.v[i];

		if (p->have_py && p->loops.n)	/* ready before a stall needs it */
			tasks_of(p);
		for (unsigned int k = 0; p->have_py && k < p->loops.n; k++) {
			struct loop_state *l = &p->loops.v[k];
			__u32 tid = l->info.tid;
			struct ls_thread t;

			if ((l->kind != LOOP_ASYNCIO && l->kind != LOOP_UVLOOP) ||
			    bpf_map_lookup_elem(fd, &tid, &t) || t.in_poll || !t.busy_start ||
			    t.seq == l->task_seq || now < t.busy_start + s->o->threshold_ns / 2)
				continue;
			if (stalltask__sample(s, p, tid, t.seq))
				return -ENOMEM;
		}
	}
	return 0;
}

void stalltask__to_stall(struct proc *p, struct stall *st)
{
	struct loop_state *l = loops__find(p, st->tid);
	struct loop_task *lt = l ? &l->tasks[st->seq % LOOP_TASKS] : NULL;

	if (!lt || lt->seq != st->seq || !lt->id)
		return;
	st->task_id = lt->id;
	memcpy(st->task, lt->name, sizeof(st->task));
	free(st->task_frames);
	st->task_frames = lt->frames;
	st->n_task_frames = lt->n_frames;
	lt->frames = NULL;
	lt->n_frames = 0;
	lt->id = 0;
}
