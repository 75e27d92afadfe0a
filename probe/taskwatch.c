// SPDX-License-Identifier: MIT
/* Await timing (session.h): each tick, every task's chain of coroutines
 * and where each is suspended, compared with the task's chain at the last
 * tick, link by link. A coroutine call (its object, in the same task)
 * waits at one await while it stays suspended at the same code unit on
 * the same awaited object; when either changes, or the call ends, that
 * wait ended: it lasted from the first tick that saw it to the last, plus
 * a tick. The waits of the user's coroutines are counted per line, and
 * those seen on two ticks or more ("real waits") make the call's
 * sequence, handed over when the call ends, when its code goes back (a
 * loop), or when full. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "session.h"

#define TW_MAX_TASKS	65536
#define TW_CACHE	1024	/* (code, lasti) -> frame id, direct mapped */
#define TW_SMALL	64	/* up to this many tasks: a list every tick */
#define SWAP(a, b)	do { __typeof__(a) t_ = (a); (a) = (b); (b) = t_; } while (0)

/* A call's real waits so far, in turn (user code only). */
struct tw_seq {
	uint32_t frames[AWAITSEQ_MAX];
	uint64_t ns[AWAITSEQ_MAX];
	uint32_t steps;
	int last_line;
};

/* One link of a task's chain, followed: a coroutine call and its wait. */
struct tw_call {
	uint64_t coro, code, awaits;
	uint32_t lasti, nsnap;
	uint64_t first_ns, last_ns;
	struct tw_seq *seq;
};

struct tw_task {
	uint64_t id, gen;
	uint64_t seen_ns;		/* last seen with its chain unchanged */
	uint16_t n;
	struct tw_call c[PYTASK_WAIT_DEPTH];
};

/* A code unit's frame (a Python frame at its line), and whether its
 * function's source was kept (keep_source()). */
struct tw_frame {
	uint64_t code;
	uint32_t lasti, frame;
	bool kept;
};

struct taskwatch {
	struct pytask_wait *w, *w2;	/* the tasks now, by id; the next list */
	struct tw_task *st, *st2;	/* each one's chain followed */
	int n, cap;
	uint32_t tick;
	struct tw_frame cache[TW_CACHE];
};

void taskwatch__free(struct taskwatch *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->n; i++)
		for (int k = 0; k < w->st[i].n; k++)
			free(w->st[i].c[k].seq);
	free(w->w);
	free(w->w2);
	free(w->st);
	free(w->st2);
	free(w);
}

/* The frame of code at lasti (frame UINT32_MAX when it cannot be told),
 * resolved once while it stays in the cache. */
static struct tw_frame *frame_of(struct proc *p, struct taskwatch *w, uint64_t code,
				 uint32_t lasti)
{
	struct tw_frame *e = &w->cache[((code >> 4) ^ lasti) % TW_CACHE];
	struct ls_pyframe pf = { .code = code, .lasti = lasti };
	bool entry;

	if (e->code == code && e->lasti == lasti)
		return e;
	*e = (struct tw_frame){ .code = code, .lasti = lasti };
	if (resolver__python(&p->res, &pf, 1, &e->frame, &entry) != 1)
		e->frame = UINT32_MAX;
	return e;
}

/* The function of frame id kept in the session's sources, read from p's
 * (the sequence is judged on it once p is gone, and recorded with it). */
static int keep_source(struct session *s, struct proc *p, uint32_t id)
{
	const struct frame *f = frames__get(s->frames, id);
	const char *text;

	if (!s->aw_src && !(s->aw_src = source__new_recorded()))
		return -ENOMEM;
	if (!f || !f->file || f->firstline <= 0 ||
	    source__function(s->aw_src, f->file, f->firstline) || !p->res.src ||
	    !(text = source__function(p->res.src, f->file, f->firstline)))
		return 0;
	source__put_function(s->aw_src, f->file, f->firstline, text);
	return 0;
}

/* Sequential awaits said as they are found: each finding of q's lines
 * under the pack, once per rule, function and lines, at the second call
 * that shows it (a first call is often seen in part: its task found late,
 * its first waits read before their code was). */
static int announce(struct session *s, const struct tw_seq *q)
{
	struct awaits one;
	int err = 0;

	awaits__init(&one);
	if (awaits__add_seq(&one, q->frames, q->ns, q->steps, 1) ||
	    awaits__match(&one, &s->rules, s->frames, s->aw_src) == -2)
		err = -ENOMEM;
	for (uint32_t i = 0; !err && i < one.n_findings; i++) {
		const struct await_finding *g = &one.findings[i];
		const struct frame *f = frames__get(s->frames, g->frame);
		uint64_t h = 14695981039346656037ULL ^ (uintptr_t)g->rule;
		uint64_t *v;

		h = (h ^ (uint64_t)(f ? f->firstline : 0)) * 1099511628211ULL;
		for (const char *c = f && f->file ? f->file : ""; *c; c++)
			h = (h ^ (unsigned char)*c) * 1099511628211ULL;
		for (int k = 0; k < g->n; k++)
			h = (h ^ (uint64_t)g->lines[k]) * 1099511628211ULL;
		h &= ~1ULL;		/* the low bit: said already */
		for (uint32_t k = 0; k < s->n_said; k++)
			if ((s->said[k] & ~1ULL) == h) {
				if (!(s->said[k] & 1))
					print_await(session__out(s), s->o->format, g, s->frames);
				s->said[k] |= 1;
				goto next;
			}
		if (!(v = realloc(s->said, (s->n_said + 1) * sizeof(*v)))) {
			err = -ENOMEM;
			break;
		}
		s->said = v;
		s->said[s->n_said++] = h;
next:;
	}
	awaits__free(&one);
	return err;
}

/* The call's sequence so far, handed over (two real waits or more); said
 * while its lines have been seen twice at most (later calls would only
 * judge the same source again). */
static int flush_seq(struct session *s, struct proc *p, struct tw_call *c)
{
	struct tw_seq *q = c->seq;
	int err = 0;

	if (q && q->steps >= 2 &&
	    (awaits__add_seq(&s->out.sum.aw, q->frames, q->ns, q->steps, 1) ||
	     (awaits__seq(&s->out.sum.aw, q->frames, q->steps)->count <= 2 && announce(s, q)) ||
	     (s->out.rec && awaits__add_seq(&s->out.aw_new, q->frames, q->ns, q->steps, 1))))
		err = -ENOMEM;
	if (q)
		q->steps = q->last_line = 0;
	return err;
}

/* The call's current wait ended (at the tick after its last_ns). */
static int end_wait(struct session *s, struct proc *p, struct taskwatch *w,
		    struct tw_call *c, uint64_t period)
{
	uint64_t ns = c->last_ns - c->first_ns + period;
	struct tw_frame *e;
	const struct frame *f;
	uint32_t id;

	if (!c->nsnap)
		return 0;	/* no wait: left_wait() */
	e = frame_of(p, w, c->code, c->lasti);
	id = e->frame;
	f = id == UINT32_MAX ? NULL : frames__get(s->frames, id);
	if (!f || !f->user || f->line <= 0)
		return 0;
	/* its function's source kept before the frame is first recorded */
	if (!e->kept && keep_source(s, p, id))
		return -ENOMEM;
	e->kept = true;
	if (awaits__wait(&s->out.sum.aw, id, ns) ||
	    (s->out.rec && awaits__wait(&s->out.aw_new, id, ns)))
		return -ENOMEM;
	if (c->nsnap < 2)
		return 0;		/* seen once: too short to tell */
	if (!c->seq && !(c->seq = calloc(1, sizeof(*c->seq))))
		return -ENOMEM;
	if ((c->seq->steps && f->line <= c->seq->last_line) || c->seq->steps == AWAITSEQ_MAX)
		if (flush_seq(s, p, c))
			return -ENOMEM;
	c->seq->frames[c->seq->steps] = id;
	c->seq->ns[c->seq->steps++] = ns;
	c->seq->last_line = f->line;
	return 0;
}

/* The ticks that saw t's chain unchanged without reading it: its calls
 * were in their waits then too. */
static void catch_up(struct tw_task *t)
{
	for (int k = 0; k < t->n; k++)
		if (t->c[k].nsnap && t->c[k].last_ns < t->seen_ns) {
			t->c[k].nsnap += t->c[k].last_ns != t->seen_ns;
			t->c[k].last_ns = t->seen_ns;
		}
}

/* Calls [from, t->n) of t ended: their last waits, their sequences. */
static int end_calls(struct session *s, struct proc *p, struct taskwatch *w,
		     struct tw_task *t, int from, uint64_t period)
{
	int err = 0;

	catch_up(t);
	for (int k = from; k < t->n; k++) {
		if (!err && (end_wait(s, p, w, &t->c[k], period) || flush_seq(s, p, &t->c[k])))
			err = -ENOMEM;
		free(t->c[k].seq);
		t->c[k].seq = NULL;
	}
	if (from < t->n)
		t->n = from;
	return err;
}

/* Is running link l at the line of call c's wait? Running inside that
 * await (its inner call going on), a frame holds another code unit of it
 * than when suspended (SEND, not YIELD_VALUE): lines are compared. */
static bool same_line(struct proc *p, struct taskwatch *tw, const struct tw_call *c,
		      const struct pytask_link *l)
{
	uint32_t a, b;

	if (c->code != l->code)
		return false;
	if (c->lasti == l->lasti)
		return true;
	a = frame_of(p, tw, c->code, c->lasti)->frame;
	b = frame_of(p, tw, l->code, l->lasti)->frame;
	return a == b || a == UINT32_MAX || b == UINT32_MAX;	/* unknown: as it was */
}

/* t's coroutine seen running at lasti, away from the await it was
 * followed at (blocking work between two awaits, maybe back at the same
 * one before the next read): that wait ended, and the calls it awaited;
 * the call goes on (its sequence too), at no wait until the next read. */
static int left_wait(struct session *s, struct proc *p, struct taskwatch *tw,
		     struct tw_task *t, uint32_t lasti, uint64_t period)
{
	struct tw_call *c = &t->c[0];

	if (end_calls(s, p, tw, t, 1, period) || end_wait(s, p, tw, c, period))
		return -ENOMEM;
	c->lasti = lasti;
	c->awaits = 0;
	c->nsnap = 0;
	return 0;
}

/* Task w's chain now against the one followed in t. */
static int see_task(struct session *s, struct proc *p, struct taskwatch *tw,
		    struct tw_task *t, const struct pytask_wait *w, uint64_t now, uint64_t period)
{
	int k = 0;

	if (w->gone)
		return end_calls(s, p, tw, t, 0, period);
	if (!w->ok) {	/* running now: if elsewhere, its wait ended */
		const struct pytask_link *l = &w->c[0];

		if (w->running && t->n && t->c[0].coro == l->coro && t->c[0].nsnap &&
		    !same_line(p, tw, &t->c[0], l))
			return left_wait(s, p, tw, t, l->lasti, period);
		return 0;
	}
	if (!w->fresh) {
		t->seen_ns = now;	/* not read: where it was */
		return 0;
	}
	catch_up(t);
	if (t->gen != w->gen && end_calls(s, p, tw, t, 0, period))
		return -ENOMEM;		/* a new task at a freed one's place */
	t->gen = w->gen;
	for (; k < w->n && k < t->n; k++) {
		const struct pytask_link *l = &w->c[k];
		struct tw_call *c = &t->c[k];

		if (c->coro != l->coro || c->code != l->code)
			break;		/* another call from here on */
		if (c->lasti == l->lasti && c->awaits == l->awaits) {
			c->last_ns = now;
			c->nsnap++;
			continue;
		}
		if (end_wait(s, p, tw, c, period))
			return -ENOMEM;
		c->lasti = l->lasti;
		c->awaits = l->awaits;
		c->first_ns = c->last_ns = now;
		c->nsnap = 1;
	}
	if (end_calls(s, p, tw, t, k, period))
		return -ENOMEM;
	for (; k < w->n; k++)
		t->c[k] = (struct tw_call){ .coro = w->c[k].coro, .code = w->c[k].code,
					    .awaits = w->c[k].awaits, .lasti = w->c[k].lasti,
					    .nsnap = 1, .first_ns = now, .last_ns = now };
	t->n = w->n;
	return 0;
}

/* A new list of the tasks (sorted by id): the chains of those still there
 * carried over, those of tasks gone ended. 0 or -ENOMEM. */
static int relist(struct session *s, struct proc *p, struct taskwatch *w, uint64_t period)
{
	int n, i = 0, j = 0;

	while ((n = pytasks__ids(p->tasks, w->w2, w->cap)) == w->cap && w->cap < TW_MAX_TASKS) {
		int cap = 2 * w->cap;
		struct pytask_wait *a = realloc(w->w2, cap * sizeof(*a));
		struct pytask_wait *b = a ? realloc(w->w, cap * sizeof(*b)) : NULL;
		struct tw_task *c = b ? realloc(w->st, cap * sizeof(*c)) : NULL;
		struct tw_task *d = c ? realloc(w->st2, cap * sizeof(*d)) : NULL;

		if (a)
			w->w2 = a;
		if (b)
			w->w = b;
		if (c)
			w->st = c;
		if (!d)
			return -ENOMEM;
		w->st2 = d;
		w->cap = cap;
	}
	n = n < 0 ? 0 : n;		/* sorted by id (pytasks.h) */
	for (; j < n; j++) {
		while (i < w->n && w->w[i].id < w->w2[j].id)
			if (end_calls(s, p, w, &w->st[i++], 0, period))
				return -ENOMEM;
		if (i < w->n && w->w[i].id == w->w2[j].id) {
			if (w->w[i].type == w->w2[j].type)
				w->w2[j] = w->w[i];	/* its chain as last read */
			w->st2[j] = w->st[i++];
		} else
			w->st2[j] = (struct tw_task){ .id = w->w2[j].id };
	}
	for (; i < w->n; i++)
		if (end_calls(s, p, w, &w->st[i], 0, period))
			return -ENOMEM;
	SWAP(w->w, w->w2);
	SWAP(w->st, w->st2);
	w->n = n;
	return 0;
}

static int tick_proc(struct session *s, struct proc *p, uint64_t now, uint64_t period)
{
	struct taskwatch *w = p->tw;
	int err;

	if (!w && !(w = p->tw = calloc(1, sizeof(*w))))
		return -ENOMEM;
	if (!w->cap) {
		w->cap = 256;
		w->w = calloc(w->cap, sizeof(*w->w));
		w->w2 = calloc(w->cap, sizeof(*w->w2));
		w->st = calloc(w->cap, sizeof(*w->st));
		w->st2 = calloc(w->cap, sizeof(*w->st2));
		if (!w->w || !w->w2 || !w->st || !w->st2)
			return -ENOMEM;
	}
	if (pytasks__snapshot(p->tasks))
		return -ENOMEM;
	if ((w->n <= TW_SMALL || w->tick % TASKWATCH_IDS_EVERY == 0) && relist(s, p, w, period)) {
		pytasks__snapshot_end(p->tasks);
		return -ENOMEM;
	}
	w->tick++;
	if ((uint32_t)w->n > s->tw_tasks_max)
		s->tw_tasks_max = w->n;
	err = pytasks__waits(p->tasks, w->w, w->n);
	pytasks__snapshot_end(p->tasks);
	if (err)
		return -ENOMEM;
	for (int i = 0; i < w->n; i++)
		if (see_task(s, p, w, &w->st[i], &w->w[i], now, period))
			return -ENOMEM;
	return 0;
}

uint64_t taskwatch__due(const struct session *s, uint64_t now)
{
	if (!s->o->tasks || !s->o->task_hz)
		return UINT64_MAX;
	return now >= s->tw_next_ns ? 0 : s->tw_next_ns - now;
}

/* This thread's CPU time: a tick's cost is what it takes of a core, not
 * the wall time a busy machine stretches it to. */
static uint64_t cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int taskwatch__tick(struct session *s, uint64_t now)
{
	uint64_t period = 1000000000ULL / s->o->task_hz, gap, cost, cpu0;

	if (taskwatch__due(s, now))
		return 0;
	cpu0 = cpu_now();
	gap = s->tw_last_ns ? now - s->tw_last_ns : period;
	for (unsigned int i = 0; i < s->procs.n; i++) {
		struct proc *p = s->procs.v[i];

		if (p->state == PROC_GONE || !p->have_py || !p->loops.n || !p->res_ready)
			continue;
		if (!p->tasks_tried) {
			int err = 0;

			p->tasks_tried = true;
			p->tasks = pytasks__new(&p->py, &err);
		}
		if (p->tasks && tick_proc(s, p, now, gap))
			return -ENOMEM;
	}
	/* the next tick a period on, or later when this one cost more than
	 * the budget allows */
	/* the cost of a tick, averaged (a list of the tasks every tenth
	 * tick costs more): when it is more than the budget allows at this
	 * rate, the ticks are spaced out to fit */
	cost = cpu_now() - cpu0;
	s->tw_cost = s->tw_cost ? (7 * s->tw_cost + cost) / 8 : cost;
	s->tw_last_ns = now;
	if (!s->tw_first_ns)
		s->tw_first_ns = now;
	if (s->tw_cost > TASKWATCH_BUDGET * period)
		s->tw_next_ns = now + (uint64_t)(s->tw_cost / TASKWATCH_BUDGET);
	else	/* on the period's grid, unless a tick was missed */
		s->tw_next_ns = s->tw_next_ns + period > now ? s->tw_next_ns + period :
				now + period;
	s->tw_ticks++;
	return 0;
}

int taskwatch__end(struct session *s, struct proc *p)
{
	struct taskwatch *w = p->tw;

	/* a wait still going on has not ended: not counted */
	for (int i = 0; w && i < w->n; i++)
		for (int k = 0; k < w->st[i].n; k++)
			if (flush_seq(s, p, &w->st[i].c[k]))
				return -ENOMEM;
	taskwatch__free(w);
	p->tw = NULL;
	return 0;
}
