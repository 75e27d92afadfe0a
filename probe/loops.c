// SPDX-License-Identifier: MIT
/* The loop threads of a session: which polling threads run an asyncio or
 * uvloop loop (told by their Python stack while they poll), the thread
 * states BPF walks, loops blocked long enough to say so live, and who
 * held the GIL while a loop waited for it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "events.h"
#include "loopstall.skel.h"
#include "syscalls.h"
#include "session.h"

#define TSTATE_INTERVAL_NS	2000000000ULL	/* thread-state refresh */
#define CLASSIFY_TRIES		20		/* then a loop, unclassified */

/* Drop the thread states p handed BPF before whose threads are gone
 * (their TIDs are reusable); keep the new list. Other processes' entries
 * are theirs (the thread of a forked child: BPF's own). */
static void tstates_prune(int fd, struct proc *p, const struct py_thread *v, int n,
			  uint32_t *tids)
{
	for (uint32_t i = 0; i < p->n_tids; i++) {
		bool live = false;

		for (int j = 0; j < n && !live; j++)
			live = v[j].tid == p->tids[i];
		if (!live)
			bpf_map_delete_elem(fd, &p->tids[i]);
	}
	free(p->tids);
	p->tids = tids;
	p->n_tids = 0;
	for (int j = 0; j < n; j++)
		if (v[j].tid)
			tids[p->n_tids++] = v[j].tid;
}

/* p's Python threads, into *v (freed by the caller): how many, -errno,
 * or -ENOMEM (then *v is NULL). */
static int py_threads(struct proc *p, struct py_thread **v)
{
	*v = calloc(LS_MAX_PY_THREADS, sizeof(**v));
	if (!*v)
		return -ENOMEM;
	return pyproc__threads(&p->py, *v, LS_MAX_PY_THREADS);
}

int loops__tstates(struct session *s, struct proc *p)
{
	int fd = bpf_map__fd(s->bpf.skel->maps.py_tstates);
	struct py_thread *v;
	uint32_t *tids;
	int n;

	p->loops.tstates_at = now_mono();
	if (!p->have_py)
		return 0;
	n = py_threads(p, &v);
	if (!v)
		return -ENOMEM;
	tids = calloc(n > 0 ? n : 1, sizeof(*tids));
	if (!tids) {
		free(v);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		__u64 ts = v[i].tstate;

		if (v[i].tid)
			bpf_map_update_elem(fd, &v[i].tid, &ts, BPF_ANY);
	}
	if (n >= 0)
		tstates_prune(fd, p, v, n, tids);
	else
		free(tids);
	free(v);
	return 0;
}

uint64_t loops__tstate(struct session *s, struct proc *p, uint32_t tid)
{
	int fd = bpf_map__fd(s->bpf.skel->maps.py_tstates);
	__u64 ts = 0;

	if (bpf_map_lookup_elem(fd, &tid, &ts)) {
		if (loops__tstates(s, p) || bpf_map_lookup_elem(fd, &tid, &ts))
			return 0;
	}
	return ts;
}

bool loops__thread_name(struct proc *p, uint32_t tid, char *buf, size_t len)
{
	if (p->names && !pythreads__name(p->names, tid, buf, len))
		return true;
	target__thread_name(p->pid, tid, buf, len);
	pythread__clean_name(buf);
	return false;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = s ? strlen(s) : 0, b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* Is this polling thread an asyncio or uvloop event loop? Its Python
 * stack says: asyncio's run loop, or uvloop, is on it. An enum loop_kind,
 * or -ENOMEM. */
static int classify(struct session *s, struct proc *p, uint32_t tid)
{
	struct ls_pyframe pf[LS_MAX_PYFRAMES];
	uint32_t ids[LS_MAX_PYFRAMES], flags;
	bool entry[LS_MAX_PYFRAMES];
	uint64_t ts;
	int n;

	if (!p->have_py || !(ts = loops__tstate(s, p, tid)))
		return LOOP_UNKNOWN;
	n = pyproc__walk(&p->py, ts, pf, LS_MAX_PYFRAMES, &flags);
	if (n <= 0)
		return LOOP_UNKNOWN;
	if (resolver__python(&p->res, pf, n, ids, entry) < 0)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		const struct frame *f = frames__get(s->frames, ids[i]);
		const char *file = f ? f->file : NULL;

		if (file && strstr(file, "uvloop"))
			return LOOP_UVLOOP;
		if (ends_with(file, "asyncio/base_events.py") ||
		    ends_with(file, "asyncio/runners.py"))
			return LOOP_ASYNCIO;
	}
	return (flags & (LS_PY_READ_ERR | LS_PY_TRUNCATED)) ? LOOP_UNKNOWN : LOOP_NOT;
}

static const char *poll_name(uint32_t kind)
{
	switch (kind) {
	case LS_POLL_EPOLL: return "epoll";
	case LS_POLL_POLL: return "poll";
	case LS_POLL_SELECT: return "select";
	default: return "?";
	}
}

struct loop_state *loops__find(struct proc *p, uint32_t tid)
{
	for (unsigned int i = 0; i < p->loops.n; i++)
		if (p->loops.v[i].info.tid == tid)
			return &p->loops.v[i];
	return NULL;
}

static struct loop_state *loop_new(struct proc *p, uint32_t tid, uint32_t poll_kind)
{
	struct loops *ls = &p->loops;
	struct loop_state *l = realloc(ls->v, (ls->n + 1) * sizeof(*l));

	if (!l)
		return NULL;
	ls->v = l;
	l = &ls->v[ls->n++];
	memset(l, 0, sizeof(*l));
	l->info.pid = p->pid;
	l->info.tid = tid;
	l->info.poll = poll_name(poll_kind);
	l->kind = LOOP_PENDING;
	return l;
}

/* A polling thread that is no event loop is dropped from BPF's table and
 * never looked at again. */
static void loop_ignore(struct session *s, struct proc *p, struct loop_state *l)
{
	__u32 tid = l->info.tid;
	__u8 one = 1;

	bpf_map_update_elem(bpf_map__fd(s->bpf.skel->maps.not_loops), &tid, &one, BPF_ANY);
	bpf_map_delete_elem(bpf_map__fd(s->bpf.skel->maps.threads), &tid);
	if (s->o->verbose)
		fprintf(stderr, "loopstall: thread %s (TID %u, PID %u) polls but runs no "
			"asyncio or uvloop loop: ignored\n", l->info.thread, tid, p->pid);
}

/* Say a loop was found: text or JSON, its process named when several;
 * kept for the summary. 0 or -ENOMEM. */
static int loop_found(struct session *s, struct proc *p, const struct loop_state *l)
{
	struct proc_info pi;

	session__announce(s, p);
	proc__info(p, &pi);
	print_loop(session__out(s), s->o->format, &pi, s->multi, &l->info);
	return session__loop_found(s, &l->info);
}

/* Is tid in its poll now (BPF's view)? *seq: its busy interval number. */
static bool in_poll_now(struct session *s, uint32_t tid, uint64_t *seq)
{
	struct ls_thread t;

	if (bpf_map_lookup_elem(bpf_map__fd(s->bpf.skel->maps.threads), &tid, &t))
		return false;
	*seq = t.seq;
	return t.in_poll;
}

/* Classified while in its poll (in_poll: now, or at a stall's end, which
 * is a poll's entry): then the stack shows what runs the poll. The walk
 * counts only if the thread stayed in that one poll throughout: a stack
 * read while it runs can be torn (cut short with no error to tell), and
 * a loop once judged no loop is never looked at again. Asyncio's or
 * uvloop's frames found count always: a loop under load may never stay
 * in its poll for a whole walk. */
struct loop_state *loops__get(struct session *s, struct proc *p, uint32_t tid,
			      uint32_t poll_kind, bool in_poll)
{
	struct loop_state *l = loops__find(p, tid);
	uint64_t seq0, seq1;
	int kind;

	if (!l && !(l = loop_new(p, tid, poll_kind)))
		return NULL;
	/* a process whose interpreter is not found yet: its stalls wait */
	if (l->kind != LOOP_PENDING || !in_poll || p->state != PROC_PYTHON ||
	    !in_poll_now(s, tid, &seq0))
		return l;
	loops__thread_name(p, tid, l->info.thread, sizeof(l->info.thread));
	kind = classify(s, p, tid);
	if (kind < 0)
		return NULL;
	if ((kind == LOOP_NOT || kind == LOOP_UNKNOWN) &&
	    (!in_poll_now(s, tid, &seq1) || seq1 != seq0))
		return l;	/* it ran meanwhile: ask again in its next poll */
	if (kind == LOOP_UNKNOWN && p->have_py && ++l->tries < CLASSIFY_TRIES)
		return l;	/* no stack to tell by now: its stalls wait */
	l->kind = kind;
	if (l->kind == LOOP_NOT) {
		loop_ignore(s, p, l);
		return l;
	}
	if (l->kind == LOOP_UVLOOP)
		l->info.poll = "uvloop";
	return loop_found(s, p, l) ? NULL : l;
}

/* Say so when a loop has been blocked past a whole second more. */
static void loop_blocked(struct session *s, struct proc *p, struct loop_state *l,
			 const struct ls_thread *t, uint64_t now)
{
	uint64_t blocked, secs;
	struct proc_info pi;

	if (l->kind == LOOP_NOT || l->kind == LOOP_PENDING || !t->busy_start ||
	    now < t->busy_start)
		return;
	blocked = now - t->busy_start;
	if (blocked < s->o->blocked_report_ns || blocked < s->o->threshold_ns)
		return;
	secs = blocked / 1000000000ULL;
	if (l->blocked_seq == t->seq && l->blocked_secs >= secs)
		return;
	l->blocked_seq = t->seq;
	l->blocked_secs = secs;
	proc__info(p, &pi);
	print_blocked(session__out(s), s->o->format, &pi, s->multi, l->info.tid, l->info.thread,
		      now + s->mono_to_unix, blocked, t->off_start ? t->off_nr : -1);
}

#define REDISCOVER_MAX	30	/* scans: 3 s */

/* Has an event loop been found in p? */
static bool loops__any(const struct proc *p)
{
	for (unsigned int i = 0; i < p->loops.n; i++)
		if (p->loops.v[i].kind == LOOP_ASYNCIO || p->loops.v[i].kind == LOOP_UVLOOP)
			return true;
	return false;
}

/* p's thread states, now and then; its loops looked for again while none
 * is found. */
static int scan_proc(struct session *s, struct proc *p, uint64_t now)
{
	if (p->state != PROC_PYTHON)
		return 0;
	if (now - p->loops.tstates_at >= TSTATE_INTERVAL_NS && loops__tstates(s, p))
		return -ENOMEM;
	/* an idle loop blocked in its poll since before attach never polls
	 * again for BPF to see: when discovery at attach could not tell it
	 * (its stack read mid-change), try again, 3 s at most */
	if (!loops__any(p) && p->loops.rediscover < REDISCOVER_MAX) {
		p->loops.rediscover++;
		if (loops__discover(s, p))
			return -ENOMEM;
	}
	return 0;
}

int loops__scan(struct session *s)
{
	int fd = bpf_map__fd(s->bpf.skel->maps.threads);
	uint64_t now = now_mono();
	__u32 key, next, *prev = NULL;
	struct ls_thread t;

	for (unsigned int i = 0; i < s->procs.n; i++)
		if (scan_proc(s, s->procs.v[i], now))
			return -ENOMEM;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct loop_state *l;
		struct proc *p;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &t) || !(p = procs__find(&s->procs, t.tgid)))
			continue;
		l = loops__get(s, p, key, t.poll_kind, t.in_poll);
		if (!l)
			return -ENOMEM;
		loop_blocked(s, p, l, &t, now);
	}
	return 0;
}

void loops__forget(struct session *s, struct proc *p)
{
	int fd = bpf_map__fd(s->bpf.skel->maps.threads);
	__u32 key, next, *prev = NULL;
	struct ls_thread t;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		if (!bpf_map_lookup_elem(fd, &key, &t) && t.tgid == p->pid &&
		    !bpf_map_delete_elem(fd, &key)) {
			held__drop(&s->held, key);
			continue;	/* deleted: next key from the same place */
		}
		prev = &key;
	}
	for (unsigned int i = 0; i < p->loops.n; i++)
		held__drop(&s->held, p->loops.v[i].info.tid);
}

/* Read who holds the GIL the loop of l waits for, and the holder's
 * Python stack. 0 (nobody else holds it: nothing read) or -ENOMEM. */
static int gil_read(struct session *s, struct proc *p, struct loop_state *l, uint64_t seq)
{
	struct ls_pyframe pf[LS_MAX_PYFRAMES];
	bool entry[LS_MAX_PYFRAMES];
	uint64_t ts = 0;
	uint32_t holder, flags, *ids;
	int n;

	if (!p->have_py)
		return 0;
	holder = pyproc__gil_holder(&p->py, &ts);
	if (!holder || holder == l->info.tid)
		return 0;
	n = pyproc__walk(&p->py, ts, pf, LS_MAX_PYFRAMES, &flags);
	ids = calloc(n > 0 ? n : 1, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	if (n > 0 && (n = resolver__python(&p->res, pf, n, ids, entry)) < 0) {
		free(ids);
		return -ENOMEM;
	}
	free(l->gil_frames);
	l->gil_frames = ids;
	l->n_gil_frames = n > 0 ? n : 0;
	l->gil_seq = seq;
	l->gil_tid = holder;
	l->gil_named = loops__thread_name(p, holder, l->gil_thread, sizeof(l->gil_thread));
	return 0;
}

int loops__gil_holder(struct session *s, struct proc *p, uint32_t tid, uint64_t seq)
{
	struct loop_state *l = loops__find(p, tid);

	if (!l || (l->gil_seq == seq && l->gil_tid))
		return 0;
	l->gil_seq = seq;
	l->gil_wait = true;	/* nobody may hold it yet: read again */
	return gil_read(s, p, l, seq);
}

static bool has_user_frame(struct session *s, const uint32_t *ids, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct frame *f = frames__get(s->frames, ids[i]);

		if (f && f->kind == FRAME_PYTHON && f->user)
			return true;
	}
	return false;
}

static int gil_recheck(struct session *s, struct proc *p)
{
	for (unsigned int i = 0; i < p->loops.n; i++) {
		struct loop_state *l = &p->loops.v[i];

		/* read as the holder started (still in threading's bootstrap,
		 * not yet among the Python names read): read again until its
		 * own code runs and it has its Python name, while the loop waits */
		if (l->gil_wait && (!l->gil_named ||
				    !has_user_frame(s, l->gil_frames, l->n_gil_frames)) &&
		    gil_read(s, p, l, l->gil_seq))
			return -ENOMEM;
	}
	return 0;
}

int loops__gil_recheck(struct session *s)
{
	for (unsigned int i = 0; i < s->procs.n; i++)
		if (s->procs.v[i]->state == PROC_PYTHON && gil_recheck(s, s->procs.v[i]))
			return -ENOMEM;
	return 0;
}

void loops__gil_to_stall(struct proc *p, struct stall *st)
{
	struct loop_state *l = loops__find(p, st->tid);

	if (l && l->gil_seq == st->seq)
		l->gil_wait = false;
	if (!l || l->gil_seq != st->seq || !l->gil_tid)
		return;
	st->gil_tid = l->gil_tid;
	/* named while it held the GIL; a Python name read since wins */
	if (!p->names || pythreads__name(p->names, l->gil_tid, st->gil_thread,
					 sizeof(st->gil_thread)))
		pythread__copy_name(st->gil_thread, sizeof(st->gil_thread), l->gil_thread);
	st->gil_frames = l->gil_frames;
	st->n_gil_frames = l->n_gil_frames;
	l->gil_frames = NULL;
	l->n_gil_frames = 0;
	l->gil_tid = 0;
}

/* The poll kind of a loop-wait syscall, 0 for any other (poll with one
 * fd: a socket timeout). */
static uint32_t poll_kind_of(const struct thread_syscall *sc)
{
	const char *name = sc->nr >= 0 ? syscall__name(sc->nr) : NULL;

	if (!name)
		return 0;
	if (!strncmp(name, "epoll_wait", 10) || !strncmp(name, "epoll_pwait", 11))
		return LS_POLL_EPOLL;
	if ((!strcmp(name, "poll") || !strcmp(name, "ppoll")) && sc->args[1] >= 2)
		return LS_POLL_POLL;
	if (!strcmp(name, "select") || !strcmp(name, "pselect6"))
		return LS_POLL_SELECT;
	return 0;
}

/* BPF's entry for a loop found at attach. In its poll: its next return
 * starts a busy interval. Outside: busy from now (LS_T_ATTACHED_BUSY: if
 * it was in its poll after all, the return says so), and when blocked in
 * a syscall, off-CPU from now with sample 1 (loopstall takes it). */
static int loop_register(struct session *s, struct proc *p, uint32_t tid,
			 const struct thread_syscall *sc, uint32_t poll_kind)
{
	struct ls_thread t = { .seq = 1, .off_nr = -1, .in_poll = !!poll_kind, .tgid = p->pid,
			       .poll_kind = poll_kind ? poll_kind : LS_POLL_EPOLL };
	uint64_t now = now_mono();

	if (!poll_kind) {
		t.busy_start = now;
		t.flags = LS_T_ATTACHED_BUSY;
	}
	if (!poll_kind && sc->nr != -2) {
		t.off_start = now;
		t.off_nr = sc->nr >= 0 ? sc->nr : LS_WAIT_OTHER;
		t.off_sampled = 1;
		t.off_id = 1;
	}
	/* BPF may have made it first: the thread entered its poll since */
	return bpf_map_update_elem(bpf_map__fd(s->bpf.skel->maps.threads), &tid, &t,
				   BPF_NOEXIST);
}

/* One thread at attach: a loop? In its poll, or busy? */
static int discover_thread(struct session *s, struct proc *p, uint32_t tid)
{
	struct thread_syscall sc;
	struct loop_state *l;
	uint32_t poll_kind;
	int kind;

	if (loops__find(p, tid) || snapshot__syscall(p->pid, tid, &sc))
		return 0;
	kind = classify(s, p, tid);
	if (kind < 0)
		return -ENOMEM;
	if (kind != LOOP_ASYNCIO && kind != LOOP_UVLOOP)
		return 0;	/* no loop yet, or none: BPF finds it if it polls */
	poll_kind = poll_kind_of(&sc);
	if (loop_register(s, p, tid, &sc, poll_kind))
		return 0;
	if (!(l = loop_new(p, tid, poll_kind ? poll_kind : LS_POLL_EPOLL)))
		return -ENOMEM;
	loops__thread_name(p, tid, l->info.thread, sizeof(l->info.thread));
	l->kind = kind;
	if (kind == LOOP_UVLOOP)
		l->info.poll = "uvloop";
	if (!poll_kind) {
		l->attach_seq = 1;
		l->attach_off_cpu = sc.nr != -2;
		l->attach_sc = sc;
	}
	return loop_found(s, p, l);
}

int loops__discover(struct session *s, struct proc *p)
{
	struct py_thread *v;
	int n, err = 0;

	if (!p->have_py)
		return 0;
	n = py_threads(p, &v);
	if (!v)
		return -ENOMEM;
	for (int i = 0; i < n && !err; i++)
		if (v[i].tid)
			err = discover_thread(s, p, v[i].tid);
	free(v);
	return err;
}
