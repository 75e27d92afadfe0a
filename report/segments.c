// SPDX-License-Identifier: MIT
/* A stall split by call site (segments.h): which line each sample stands
 * for, the samples grouped by it, their time, and the small ones folded
 * into "other". */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include "segments.h"
#include "syscalls.h"

#define NONE UINT32_MAX

bool segments__gil_wait(const struct stack_count *sc, const struct frames *frames)
{
	const char *name = syscall__name(sc->nr);

	if (!name || strcmp(name, "futex"))
		return false;
	for (uint32_t i = 0; i < sc->n_frames; i++) {
		const struct frame *f = frames__get(frames, sc->frames[i]);

		if (!f || f->kind != FRAME_NATIVE || !f->function)
			continue;
		/* CPython's locks wait on semaphores; its GIL on a condvar */
		if (!strcmp(f->function, "take_gil") ||
		    !fnmatch("*pthread_cond_*wait*", f->function, 0))
			return true;
		if (!fnmatch("sem_*wait*", f->function, 0) ||
		    !strcmp(f->function, "PyThread_acquire_lock_timed"))
			return false;
	}
	return false;
}

static bool streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static bool same_function(const struct frame *a, const struct frame *b)
{
	return a && b && a->kind == FRAME_PYTHON && b->kind == FRAME_PYTHON &&
	       streq(a->function, b->function) && streq(a->file, b->file);
}

/* Frame u runs a user function; when it recurses (the same function runs
 * further out), the call that entered the recursion: the caller of its
 * outermost call when that caller is user code, else that outermost call. */
static uint32_t recursion_entry(const uint32_t *ids, uint32_t n, uint32_t u,
				const struct frames *t)
{
	const struct frame *f = frames__get(t, ids[u]);
	uint32_t outer = u;

	for (uint32_t j = u + 1; j < n; j++)
		if (same_function(frames__get(t, ids[j]), f))
			outer = j;
	if (outer == u)
		return u;
	for (uint32_t j = outer + 1; j < n; j++) {
		const struct frame *c = frames__get(t, ids[j]);

		if (c && c->kind == FRAME_PYTHON)
			return c->user ? j : outer;
	}
	return outer;
}

/* A native frame without a name in the interpreter itself (a stripped
 * python3.X or libpython3.X): taken for its machinery. */
static bool unnamed_interp(const struct frame *f)
{
	const char *b = f->module ? strrchr(f->module, '/') : NULL;

	b = b ? b + 1 : f->module;
	return !f->function && b && (!strncmp(b, "python3", 7) || !strncmp(b, "libpython3", 10));
}

/* Does the thread run frame u's own code: no Python frame inside it, and
 * the innermost frame is Python or the interpreter's (not a library or C
 * function it called)? Only the innermost native frame is asked: where
 * native frames could not be placed among the Python ones (stripped
 * interpreters), all of them come first. */
static bool runs_own_code(const uint32_t *ids, uint32_t u, const struct frames *t)
{
	const struct frame *f = frames__get(t, ids[0]);

	for (uint32_t i = 0; i < u; i++) {
		const struct frame *g = frames__get(t, ids[i]);

		if (!g || g->kind == FRAME_PYTHON)
			return false;
	}
	return f && (f->kind == FRAME_PYTHON || f->interp || f->eval || unnamed_interp(f));
}

uint32_t segments__site(const uint32_t *ids, uint32_t n, const struct frames *t)
{
	uint32_t py = NONE;

	for (uint32_t i = 0; i < n; i++) {
		const struct frame *f = frames__get(t, ids[i]);

		if (!f || f->kind != FRAME_PYTHON)
			continue;
		/* a recursion's own code: charged to the call that entered it;
		 * a call it makes (a sleep at its bottom) keeps its line */
		if (f->user && runs_own_code(ids, i, t))
			return ids[recursion_entry(ids, n, i, t)];
		if (f->user)
			return ids[i];
		if (py == NONE)
			py = ids[i];
	}
	return py != NONE ? py : n ? ids[0] : NONE;
}

/* The segment of a site, added when new. NULL on ENOMEM. */
static struct segment *segment_of(struct stall *st, uint32_t site, bool gil, uint32_t *cap)
{
	struct segment *g;

	for (uint32_t i = 0; i < st->n_segments; i++)
		if (st->segments[i].site == site && st->segments[i].gil == gil)
			return &st->segments[i];
	if (st->n_segments == *cap) {
		uint32_t c = *cap ? 2 * *cap : 4;

		g = realloc(st->segments, c * sizeof(*g));
		if (!g)
			return NULL;
		st->segments = g;
		*cap = c;
	}
	g = &st->segments[st->n_segments++];
	*g = (struct segment){ .site = site, .loop_site = NONE, .gil = gil };
	g->stacks = calloc(st->n_stacks, sizeof(*g->stacks));
	if (!g->stacks) {
		st->n_segments--;
		return NULL;
	}
	return g;
}

/* Put stack k of st in its call site's segment. */
static int add_stack(struct stall *st, uint32_t k, const struct frames *t, uint32_t *cap)
{
	const struct stack_count *sc = &st->stacks[k];
	uint32_t site = segments__site(sc->frames, sc->n_frames, t), loop = NONE;
	bool gil = segments__gil_wait(sc, t);
	struct segment *g;

	if (gil && st->n_gil_frames) {	/* the holder known: its line */
		loop = site;
		site = segments__site(st->gil_frames, st->n_gil_frames, t);
	}
	g = segment_of(st, site, gil, cap);
	if (!g)
		return -ENOMEM;
	if (gil && g->loop_site == NONE)
		g->loop_site = loop;
	g->stacks[g->n_stacks++] = k;
	g->ns += sc->weight_ns;
	if (sc->kind == LS_SAMPLE_ONCPU)
		g->on_ns += sc->weight_ns;
	else
		g->off_ns += sc->weight_ns;
	return 0;
}

static int cmp_segment(const void *x, const void *y)
{
	const struct segment *a = x, *b = y;

	if (a->ns != b->ns)
		return a->ns < b->ns ? 1 : -1;
	return (a->site > b->site) - (a->site < b->site);
}

/* Scale the on-CPU time of every segment by k (all of it when all). */
static void scale(struct stall *st, double k, bool all)
{
	for (uint32_t i = 0; i < st->n_segments; i++) {
		struct segment *g = &st->segments[i];

		g->on_ns = (uint64_t)(g->on_ns * k);
		if (all)
			g->off_ns = (uint64_t)(g->off_ns * k);
		g->ns = g->on_ns + g->off_ns;
	}
}

/* The time a stall's segments stand for, and its on-CPU part (*on). */
static uint64_t sampled(const struct stall *st, uint64_t *on)
{
	uint64_t total = 0;

	*on = 0;
	for (uint32_t i = 0; i < st->n_segments; i++) {
		total += st->segments[i].ns;
		*on += st->segments[i].on_ns;
	}
	return total;
}

/* On-CPU samples estimate the stall's on-CPU time, which sched_switch
 * measured exactly: each stands for a whole period, none is taken in the
 * first tenth of the threshold, and a thread preempted often gets more or
 * fewer ticks than its time. Scale the on-CPU estimates up to that time
 * when short of it (never past what the off-CPU samples leave of the
 * stall), or down to fit the stall when samples stand for more than it
 * lasted (everything, if that is not enough). */
static void fit(struct stall *st)
{
	uint64_t on, total = sampled(st, &on), off = total - on;
	uint64_t room = off < st->duration_ns ? st->duration_ns - off : 0;
	uint64_t want = st->on_cpu_ns < room ? st->on_cpu_ns : room;

	if (on && on < want) {
		scale(st, (double)want / on, false);
		total = sampled(st, &on);
	}
	if (total > st->duration_ns) {
		uint64_t excess = total - st->duration_ns;

		if (on > excess)
			scale(st, (double)(on - excess) / on, false);
		else
			scale(st, (double)st->duration_ns / total, true);
		total = sampled(st, &on);
	}
	st->unsampled_ns = st->duration_ns > total ? st->duration_ns - total : 0;
}

static bool own(const struct stall *st, const struct segment *g, uint32_t i)
{
	return i == 0 || (i < SEG_MAX_OWN && (g->ns >= SEG_MIN_NS ||
					      g->ns >= SEG_MIN_SHARE * st->duration_ns));
}

/* Segments past the ones that own their time go into one "other". */
static void fold(struct stall *st)
{
	uint32_t keep = 0;
	struct segment *o;

	while (keep < st->n_segments && own(st, &st->segments[keep], keep))
		keep++;
	if (keep == st->n_segments)
		return;
	o = &st->segments[keep];
	for (uint32_t i = keep + 1; i < st->n_segments; i++) {
		struct segment *g = &st->segments[i];

		memcpy(o->stacks + o->n_stacks, g->stacks, g->n_stacks * sizeof(*g->stacks));
		o->n_stacks += g->n_stacks;
		o->ns += g->ns;
		o->on_ns += g->on_ns;
		o->off_ns += g->off_ns;
		free(g->stacks);
	}
	o->site = o->loop_site = NONE;
	o->gil = false;
	o->other = true;
	st->n_segments = keep + 1;
	if (!o->ns) {		/* samples that stand for no time */
		free(o->stacks);
		st->n_segments = keep;
	}
}

void segments__free(struct stall *st)
{
	for (uint32_t i = 0; i < st->n_segments; i++)
		free(st->segments[i].stacks);
	free(st->segments);
	st->segments = NULL;
	st->n_segments = 0;
	st->unsampled_ns = 0;
}

int segments__build(struct stall *st, const struct frames *frames)
{
	uint32_t cap = 0;

	segments__free(st);
	for (uint32_t k = 0; k < st->n_stacks; k++)
		if (add_stack(st, k, frames, &cap)) {
			segments__free(st);
			return -ENOMEM;
		}
	if (st->n_segments)	/* none: segments is NULL, no qsort of it */
		qsort(st->segments, st->n_segments, sizeof(*st->segments), cmp_segment);
	fit(st);
	fold(st);
	return 0;
}

static bool keyword(const char *w, size_t n)
{
	static const char *const kw[] = { "if", "elif", "while", "return", "await", "and",
					  "or", "not", "in", "for", "assert", "yield",
					  "lambda", "with", "del", "else" };

	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		if (strlen(kw[i]) == n && !strncmp(kw[i], w, n))
			return true;
	return false;
}

/* The first call in a line of source: "time.sleep" in "time.sleep(0.1)",
 * "hashlib.pbkdf2_hmac" in "d = hashlib.pbkdf2_hmac(...)". */
static bool first_call(const char *code, char *buf, size_t len)
{
	for (const char *p = code; p && *p; p++) {
		const char *w = p, *e;

		if (!(*p == '_' || isalpha((unsigned char)*p)) ||
		    (p > code && (p[-1] == '_' || p[-1] == '.' || isalnum((unsigned char)p[-1]))))
			continue;
		for (e = w; *e == '_' || *e == '.' || isalnum((unsigned char)*e); e++)
			;
		p = e - 1;
		if (*e != '(' || keyword(w, e - w) || e[-1] == '.')
			continue;
		snprintf(buf, len, "%.*s", (int)(e - w), w);
		return true;
	}
	return false;
}

const char *segments__what(const struct stall *st, uint32_t seg, const struct frames *t,
			   char *buf, size_t len)
{
	const struct segment *g = &st->segments[seg];
	const struct frame *f = frames__get(t, g->site);

	if (g->other)
		snprintf(buf, len, "other");
	else if (g->gil)
		snprintf(buf, len, "GIL held by %s", st->gil_thread[0] ? st->gil_thread : "?");
	else if (f && f->kind == FRAME_PYTHON && f->code && first_call(f->code, buf, len))
		;
	else if (f && f->function)
		snprintf(buf, len, "%s", f->function);
	else
		snprintf(buf, len, "?");
	return buf;
}
