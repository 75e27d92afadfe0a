// SPDX-License-Identifier: MIT
/* A stall through the rules: its stacks as the matcher sees them, and the
 * matcher's hits turned into the findings people read. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "findings.h"
#include "fmt.h"
#include "match.h"
#include "segments.h"
#include "syscalls.h"

#define MAX_FINDINGS 32

static const char *base(const char *path)
{
	const char *b = path ? strrchr(path, '/') : NULL;

	return b ? b + 1 : path;
}

/* A stall's stacks as the matcher sees them; its arrays, one allocation
 * each, freed by view_free(). */
struct view {
	struct match_stall ms;
	struct match_stack *stacks;
	struct match_frame *mf;
	char (*mods)[128];
};

static void view_free(struct view *v)
{
	free(v->stacks);
	free(v->mf);
	free(v->mods);
}

static void view_frame(struct view *v, uint32_t k, const struct frame *f, struct source *src)
{
	struct match_frame *m = &v->mf[k];

	m->python = f->kind == FRAME_PYTHON;
	m->user = f->user;
	m->function = f->function;
	m->file = f->file;
	m->line = f->line;
	m->code = f->code;
	if (m->python) {
		m->module = match__module_of(f->file, v->mods[k], sizeof(v->mods[k]));
		m->source = f->firstline ? source__function(src, f->file, f->firstline) : NULL;
		m->source_line = f->firstline;
	} else {
		m->library = base(f->module);
	}
}

/* Stack k of st as the view's stack i, its frames from mf[*nf] on, its
 * share of the segment's time. */
static void view_stack(struct view *v, const struct stall *st, uint32_t i, uint32_t k,
		       double share, uint32_t *nf, const struct frames *frames,
		       struct source *src)
{
	const struct stack_count *sc = &st->stacks[k];
	struct match_stack *m = &v->stacks[i];
	unsigned int ints = syscall__int_args(sc->nr);

	m->frames = &v->mf[*nf];
	m->share = share;
	m->on_cpu = sc->kind == LS_SAMPLE_ONCPU || sc->nr == LS_WAIT_RUNQ;	/* preempted */
	m->nr = sc->nr;
	m->fd_kind = sc->fd_kind;
	for (int a = 0; a < 6; a++)
		m->args[a] = ints & (1u << a) ?
			(int64_t)(int32_t)sc->args[a] : (int64_t)sc->args[a];
	for (uint32_t j = 0; j < sc->n_frames; j++) {
		const struct frame *f = frames__get(frames, sc->frames[j]);

		if (!f)
			continue;
		view_frame(v, (*nf)++, f, src);
		m->n++;
	}
}

/* The weight of stack sc in its segment: its samples', scaled as
 * segments.c's fit() scaled the segment's on-CPU (k[1]) or off-CPU (k[0])
 * time. */
static double weight(const struct stack_count *sc, const double k[2])
{
	return (double)sc->weight_ns * k[sc->kind == LS_SAMPLE_ONCPU];
}

/* Segment g's scale factors (weight()), its time *total and the part of
 * it that was preempted (*runq). */
static void view_weights(const struct stall *st, const struct segment *g, double k[2],
			 double *total, double *runq)
{
	uint64_t w[2] = { 0, 0 };

	for (uint32_t i = 0; i < g->n_stacks; i++) {
		const struct stack_count *sc = &st->stacks[g->stacks[i]];

		w[sc->kind == LS_SAMPLE_ONCPU] += sc->weight_ns;
	}
	k[0] = w[0] ? (double)g->off_ns / w[0] : 1;
	k[1] = w[1] ? (double)g->on_ns / w[1] : 1;
	*total = *runq = 0;
	for (uint32_t i = 0; i < g->n_stacks; i++) {
		const struct stack_count *sc = &st->stacks[g->stacks[i]];

		*total += weight(sc, k);
		if (sc->kind != LS_SAMPLE_ONCPU && sc->nr == LS_WAIT_RUNQ)
			*runq += weight(sc, k);
	}
}

/* Segment g of st as the matcher sees it: its stacks, heaviest first,
 * their shares of its time (their weights scaled as g's time was). */
static int view_build(struct view *v, const struct stall *st, const struct segment *g,
		      const struct frames *frames, struct source *src)
{
	double k[2], total, runq, cpu;
	uint32_t nf = 0;

	memset(v, 0, sizeof(*v));
	for (uint32_t i = 0; i < g->n_stacks; i++)
		nf += st->stacks[g->stacks[i]].n_frames;
	view_weights(st, g, k, &total, &runq);
	v->stacks = calloc(g->n_stacks ? g->n_stacks : 1, sizeof(*v->stacks));
	v->mf = calloc(nf ? nf : 1, sizeof(*v->mf));
	v->mods = calloc(nf ? nf : 1, sizeof(*v->mods));
	if (!v->stacks || !v->mf || !v->mods)
		return -ENOMEM;
	nf = 0;
	for (uint32_t i = 0; i < g->n_stacks; i++)
		view_stack(v, st, i, g->stacks[i],
			   total > 0 ? weight(&st->stacks[g->stacks[i]], k) / total : 0,
			   &nf, frames, src);
	/* preempted, the thread still wanted the CPU: its time counts as
	 * on-CPU to the rules (a busy machine would hide CPU work else) */
	cpu = total > 0 ? g->on_ns + runq : 0;
	cpu = cpu < total ? cpu : total;
	v->ms = (struct match_stall){
		.duration_ns = (uint64_t)total, .on_cpu_ns = (uint64_t)cpu,
		.off_cpu_ns = (uint64_t)total - (uint64_t)cpu,
		.stacks = v->stacks, .n = g->n_stacks,
		.gil_wait = g->gil,
	};
	return 0;
}

/* A call site's strings into a finding: file, line, function and the
 * source line (read from the target's files, else the frame's). */
static int set_site(char **file, int *line, char **function, char **code,
		    const char *f_file, int f_line, const char *f_function,
		    const char *f_code, struct source *src)
{
	const char *c = source__line(src, f_file, f_line);

	*line = f_line;
	*file = f_file ? strdup(f_file) : NULL;
	*function = f_function ? strdup(f_function) : NULL;
	if (code) {
		c = c ? c : f_code;
		*code = c ? strdup(c) : NULL;
		if (c && !*code)
			return -ENOMEM;
	}
	return (f_file && !*file) || (f_function && !*function) ? -ENOMEM : 0;
}

static int frame_site(struct finding *o, uint32_t id, const struct frames *frames,
		      struct source *src)
{
	const struct frame *f = frames__get(frames, id);

	if (!f)
		return 0;
	return set_site(&o->file, &o->line, &o->function, &o->code, f->file, f->line,
			f->function, f->code, src);
}

/* A matcher's hit in segment seg as the finding people read: its time
 * (the part's, in the proportion the rule holds on of what the hits'
 * rules naming something hold on: named; the rest of a call site's time,
 * its Python around the call and what a rule too small to be a hit
 * holds on, goes with the causes found), and its call site: the
 * segment's (a line found by a source pattern stays), and for a GIL wait
 * the loop's own as well. */
static int finding_of(struct finding *o, const struct match_hit *hit, const struct view *v,
		      const struct stall *st, uint32_t seg, double named,
		      const struct frames *frames, struct source *src)
{
	const struct segment *g = &st->segments[seg];
	const struct frame *loop = frames__get(frames, g->loop_site);
	double k = named > 0 ? hit->share / named : 1;
	const struct match_frame *m;

	o->rule = hit->rule;
	o->segment = seg;
	o->ns = (uint64_t)(g->ns * (k < 1 ? k : 1));
	o->share = st->duration_ns ? (double)o->ns / st->duration_ns : 0;
	memcpy(o->evidence, hit->evidence, sizeof(o->evidence));
	if (g->gil && loop &&
	    set_site(&o->loop_file, &o->loop_line, &o->loop_function, NULL, loop->file,
		     loop->line, loop->function, NULL, src))
		return -ENOMEM;
	if (hit->site < 0 || (!rule__has_source(hit->rule) && g->site != UINT32_MAX))
		return frame_site(o, g->site, frames, src);
	m = &v->stacks[hit->stack].frames[hit->site];
	return set_site(&o->file, &o->line, &o->function, &o->code, m->file, hit->line,
			m->function, m->code, src);
}

/* GIL findings name the holder. */
static void gil_evidence(struct stall *st, const struct frames *frames)
{
	const struct frame *top = st->n_gil_frames ? frames__get(frames, st->gil_frames[0]) : NULL;

	for (uint32_t i = 0; i < st->n_findings && st->gil_tid; i++) {
		struct finding *o = &st->findings[i];
		size_t len = strlen(o->evidence);

		if (!st->segments[o->segment].gil && o->rule->category != CAT_GIL)
			continue;
		snprintf(o->evidence + len, sizeof(o->evidence) - len,
			 "%sheld by thread %s (TID %u)%s%s%s%s%s", len ? "; " : "",
			 st->gil_thread, st->gil_tid, top ? " in " : "",
			 top && top->function ? top->function : "", top ? " (" : "",
			 top ? base(top->file) : "", top ? ")" : "");
	}
}

/* Room for n more findings in st. */
static int grow(struct stall *st, uint32_t n, uint32_t *cap)
{
	struct finding *v;
	uint32_t c = *cap;

	if (st->n_findings + n <= c)
		return 0;
	while (c < st->n_findings + n)
		c = c ? 2 * c : 4;
	v = realloc(st->findings, c * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memset(v + *cap, 0, (c - *cap) * sizeof(*v));
	st->findings = v;
	*cap = c;
	return 0;
}

/* The findings of segment seg: the rules that hold on its samples, else
 * LS000 ("other"). */
static int match_segment(const struct rule_pack *pack, struct stall *st, uint32_t seg,
			 const struct frames *frames, struct source *src, uint32_t *cap)
{
	struct match_hit found[MAX_FINDINGS];
	double named = 0;
	struct view v;
	int n, err = -ENOMEM;

	if (view_build(&v, st, &st->segments[seg], frames, src))
		goto cleanup;
	n = pack ? match__stall(pack, &v.ms, found, MAX_FINDINGS) : 0;
	if (n)
		named = match__named_share(found, n, &v.ms);
	if (!n) {	/* still reported, under "other" */
		match__other(&v.ms, &found[0]);
		n = 1;
	}
	if (grow(st, n, cap))
		goto cleanup;
	for (int i = 0; i < n; i++)
		if (finding_of(&st->findings[st->n_findings++], &found[i], &v, st, seg, named,
			       frames, src))
			goto cleanup;
	err = 0;
cleanup:
	view_free(&v);
	return err;
}

/* A stall without a sample: one LS000 finding for all of it. */
static int match_unsampled(struct stall *st)
{
	static const struct match_stall none;
	struct match_hit hit;

	st->findings = calloc(1, sizeof(*st->findings));
	if (!st->findings)
		return -ENOMEM;
	st->n_findings = 1;
	match__other(&none, &hit);
	st->findings[0].rule = hit.rule;
	memcpy(st->findings[0].evidence, hit.evidence, sizeof(hit.evidence));
	st->findings[0].ns = st->duration_ns;
	st->findings[0].share = 1;
	return 0;
}

int findings__match(const struct rule_pack *pack, struct stall *st,
		    const struct frames *frames, struct source *src)
{
	uint32_t cap = 0;

	if (segments__build(st, frames))
		return -ENOMEM;
	if (!st->n_segments)
		return match_unsampled(st);
	for (uint32_t i = 0; i < st->n_segments; i++)
		if (!st->segments[i].other &&
		    match_segment(pack, st, i, frames, src, &cap))
			return -ENOMEM;
	gil_evidence(st, frames);
	return 0;
}
