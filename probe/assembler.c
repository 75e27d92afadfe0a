// SPDX-License-Identifier: MIT
/* Stall assembly (assembler.h): samples kept per thread and busy interval
 * until the interval ends as a stall or below the threshold. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "assembler.h"

struct kept {
	uint64_t ts;
	uint32_t id;			/* off-CPU sample id */
	int32_t fd_kind;
	uint64_t args[6];
	uint32_t kind;
	int32_t nr;
	uint64_t weight_ns;
	uint32_t n_frames;
	uint32_t *frames;
};

struct pending {
	uint32_t pid, tid;
	uint64_t seq;
	struct kept *v;
	unsigned int n, cap;
};

void assembler__init(struct assembler *a, unsigned int max_samples)
{
	memset(a, 0, sizeof(*a));
	a->max_samples = max_samples;
}

static void pending_clear(struct pending *p)
{
	for (unsigned int i = 0; i < p->n; i++)
		free(p->v[i].frames);
	p->n = 0;
}

void assembler__free(struct assembler *a)
{
	for (unsigned int i = 0; i < a->n; i++) {
		pending_clear(&a->v[i]);
		free(a->v[i].v);
	}
	free(a->v);
	memset(a, 0, sizeof(*a));
}

static struct pending *pending_of(struct assembler *a, uint32_t tid, bool create)
{
	for (unsigned int i = 0; i < a->n; i++)
		if (a->v[i].tid == tid)
			return &a->v[i];
	if (!create)
		return NULL;
	if (a->n == a->cap) {
		unsigned int cap = a->cap ? a->cap * 2 : 8;
		struct pending *v = realloc(a->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		a->v = v;
		a->cap = cap;
	}
	memset(&a->v[a->n], 0, sizeof(a->v[0]));
	a->v[a->n].tid = tid;
	return &a->v[a->n++];
}

int assembler__add_sample(struct assembler *a, const struct ls_sample *s,
			  const uint32_t *frames, uint32_t n_frames, int fd_kind)
{
	struct pending *p = pending_of(a, s->hdr.tid, true);
	struct kept *k;

	if (!p)
		return -ENOMEM;
	if (p->pid != s->hdr.pid) {	/* a TID another process had */
		p->pid = s->hdr.pid;
		p->seq = 0;
		pending_clear(p);
	}
	if (p->seq != s->hdr.seq) {
		if (s->hdr.seq < p->seq)
			return 0;	/* late sample of an old interval */
		p->seq = s->hdr.seq;	/* that interval ended below the threshold */
		pending_clear(p);
	}
	if (p->n >= a->max_samples) {
		a->samples_dropped++;
		return 0;
	}
	if (p->n == p->cap) {
		unsigned int cap = p->cap ? p->cap * 2 : 16;
		struct kept *v = realloc(p->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	k = &p->v[p->n];
	k->frames = malloc((n_frames ? n_frames : 1) * sizeof(*frames));
	if (!k->frames)
		return -ENOMEM;
	p->n++;
	if (n_frames)		/* a sample of no frames may have frames NULL */
		memcpy(k->frames, frames, n_frames * sizeof(*frames));
	k->n_frames = n_frames;
	k->ts = s->ts;
	k->id = s->id;
	k->fd_kind = fd_kind;
	memcpy(k->args, s->args, sizeof(k->args));
	k->kind = s->kind;
	k->nr = s->nr;
	k->weight_ns = s->weight_ns;
	return 0;
}

void assembler__drop_pid(struct assembler *a, uint32_t pid)
{
	for (unsigned int i = 0; i < a->n;) {
		if (a->v[i].pid != pid) {
			i++;
			continue;
		}
		pending_clear(&a->v[i]);
		free(a->v[i].v);
		a->v[i] = a->v[--a->n];
	}
}

int assembler__set_weight(struct assembler *a, uint32_t tid, uint64_t seq,
			  uint32_t id, uint64_t weight_ns)
{
	struct pending *p = pending_of(a, tid, false);

	if (!p || p->seq != seq)
		return -ENOENT;
	for (unsigned int i = p->n; i-- > 0;) {	/* the newest, most likely */
		struct kept *k = &p->v[i];

		if (k->kind == LS_SAMPLE_OFFCPU && k->id == id) {
			k->weight_ns = weight_ns;
			return 0;
		}
	}
	return -ENOENT;
}

bool assembler__held_needed(const struct ls_thread *t, uint64_t now_ns, uint64_t *weight_ns)
{
	bool off_now = t->off_start && now_ns > t->off_start;

	*weight_ns = t->carry_ns + (off_now ? now_ns - t->off_start : 0);
	if (off_now && t->off_sampled)
		return false;
	return *weight_ns || !t->n_samples;
}

static int cmp_stack(const void *x, const void *y)
{
	const struct stack_count *a = x, *b = y;

	if (a->weight_ns != b->weight_ns)
		return a->weight_ns < b->weight_ns ? 1 : -1;
	return a->count < b->count ? 1 : a->count > b->count ? -1 : 0;
}

static int cmp_wait(const void *x, const void *y)
{
	const struct ls_wait *a = x, *b = y;

	return a->ns < b->ns ? 1 : a->ns > b->ns ? -1 : 0;
}

/* Group the kept samples of p into distinct stacks. */
/* The kept samples of p as st's stacks: moved (taken), or copied (keep:
 * the interval goes on and its samples stay for the stall it ends as). */
static int stall_take_samples(struct stall *st, struct pending *p, bool keep)
{
	if (!p || p->seq != st->seq || !p->n)
		return 0;
	st->stacks = calloc(p->n, sizeof(*st->stacks));
	if (!st->stacks)
		return -ENOMEM;
	for (unsigned int i = 0; i < p->n; i++) {
		struct kept *k = &p->v[i];
		struct stack_count *sc = NULL;

		/* an off-CPU sample is taken when the wait starts */
		uint64_t at = k->ts > st->start_ns ? k->ts - st->start_ns : 0;

		if (i == 0 || at < st->first_sample_ns)
			st->first_sample_ns = at;
		if (at > st->last_sample_ns)
			st->last_sample_ns = at;
		if (k->kind == LS_SAMPLE_ONCPU)
			st->samples_on++;
		else
			st->samples_off++;
		for (unsigned int j = 0; j < st->n_stacks; j++) {
			struct stack_count *c = &st->stacks[j];

			if (c->kind == k->kind && c->nr == k->nr && c->fd_kind == k->fd_kind &&
			    c->n_frames == k->n_frames &&
			    !memcmp(c->frames, k->frames, k->n_frames * sizeof(k->frames[0]))) {
				sc = c;
				break;
			}
		}
		if (!sc) {
			sc = &st->stacks[st->n_stacks++];
			sc->kind = k->kind;
			sc->nr = k->nr;
			sc->fd_kind = k->fd_kind;
			memcpy(sc->args, k->args, sizeof(sc->args));
			sc->n_frames = k->n_frames;
			if (keep) {
				sc->frames = malloc((k->n_frames ? k->n_frames : 1) *
						    sizeof(*sc->frames));
				if (!sc->frames)
					return -ENOMEM;
				memcpy(sc->frames, k->frames, k->n_frames * sizeof(*sc->frames));
			} else {
				sc->frames = k->frames;	/* ownership moves to the stall */
				k->frames = NULL;
			}
		}
		sc->count++;
		sc->weight_ns += k->weight_ns;
	}
	qsort(st->stacks, st->n_stacks, sizeof(*st->stacks), cmp_stack);
	if (!keep)
		pending_clear(p);
	return 0;
}

static void stall_set_waits(struct stall *st, const struct ls_wait *w, uint32_t n)
{
	st->n_waits = n > LS_MAX_WAITS ? LS_MAX_WAITS : n;
	memcpy(st->waits, w, st->n_waits * sizeof(*w));
	qsort(st->waits, st->n_waits, sizeof(*w), cmp_wait);
}

struct stall *assembler__complete(struct assembler *a, const struct ls_stall *e)
{
	struct stall *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->pid = e->hdr.pid;
	st->tid = e->hdr.tid;
	st->seq = e->hdr.seq;
	st->start_ns = e->start_ns;
	st->duration_ns = e->end_ns - e->start_ns;
	st->off_cpu_ns = e->off_cpu_ns > st->duration_ns ? st->duration_ns : e->off_cpu_ns;
	st->on_cpu_ns = st->duration_ns - st->off_cpu_ns;
	st->end_nr = e->end_nr;
	st->samples_sent = e->n_samples;
	st->samples_lost = e->n_lost;
	proctitle__from_args((const char *)e->title, sizeof(e->title), e->title_len,
			     st->process, sizeof(st->process));
	/* its OS name: the name of a thread gone before it is read */
	proctitle__from_cmdline(e->comm, strnlen(e->comm, sizeof(e->comm)), st->thread,
				sizeof(st->thread));
	stall_set_waits(st, e->waits, e->n_waits);
	if (stall_take_samples(st, pending_of(a, e->hdr.tid, false), false)) {
		stall__free(st);
		return NULL;
	}
	return st;
}

static struct stall *ongoing(struct assembler *a, const struct ls_thread *t, uint32_t pid,
			     uint32_t tid, uint64_t now_ns, bool keep)
{
	struct stall *st;

	if (!t->busy_start || now_ns < t->busy_start)
		return NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->pid = pid;
	st->tid = tid;
	st->seq = t->seq;
	st->ongoing = true;
	st->start_ns = t->busy_start;
	st->duration_ns = now_ns - t->busy_start;
	st->off_cpu_ns = t->off_cpu_ns;
	if (t->off_start && now_ns > t->off_start)	/* off-CPU right now */
		st->off_cpu_ns += now_ns - t->off_start;
	if (st->off_cpu_ns > st->duration_ns)
		st->off_cpu_ns = st->duration_ns;
	st->on_cpu_ns = st->duration_ns - st->off_cpu_ns;
	st->end_nr = t->off_start ? t->off_nr : -1;	/* what it waits in */
	st->samples_sent = t->n_samples;
	st->samples_lost = t->n_lost;
	stall_set_waits(st, t->waits, t->n_waits);
	if (t->off_start && now_ns > t->off_start) {
		/* the wait in progress counts too */
		uint32_t i;

		for (i = 0; i < st->n_waits; i++)
			if (st->waits[i].nr == t->off_nr)
				break;
		if (i == st->n_waits && i < LS_MAX_WAITS) {
			st->waits[i].nr = t->off_nr;
			st->n_waits++;
		}
		if (i < LS_MAX_WAITS) {
			st->waits[i].ns += now_ns - t->off_start;
			st->waits[i].count++;
		}
		qsort(st->waits, st->n_waits, sizeof(st->waits[0]), cmp_wait);
	}
	if (stall_take_samples(st, pending_of(a, tid, false), keep)) {
		stall__free(st);
		return NULL;
	}
	return st;
}

struct stall *assembler__ongoing(struct assembler *a, const struct ls_thread *t,
				 uint32_t pid, uint32_t tid, uint64_t now_ns)
{
	return ongoing(a, t, pid, tid, now_ns, false);
}

struct stall *assembler__peek(struct assembler *a, const struct ls_thread *t,
			      uint32_t pid, uint32_t tid, uint64_t now_ns)
{
	return ongoing(a, t, pid, tid, now_ns, true);
}

