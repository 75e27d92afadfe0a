// SPDX-License-Identifier: MIT
/* The one summary of a set of stalls (summary.h): counted as they come,
 * sorted by stated keys when asked. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "summary.h"

void summary__init(struct summary *s)
{
	memset(s, 0, sizeof(*s));
	s->worst_severity = -1;
	for (int c = 0; c <= CAT__N; c++)
		s->by_cat[c].category = c < CAT__N ? c : -1;
}

static int strcmp_null(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static char *dup_or_null(const char *s, int *err)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*err = -ENOMEM;
	return d;
}

static struct finding_group *group_of(struct summary *s, const struct finding *fd)
{
	struct finding_group *g;
	int err = 0;

	for (uint32_t j = 0; j < s->n_groups; j++) {
		g = &s->groups[j];
		if (g->rule == fd->rule && g->line == fd->line && !strcmp_null(g->file, fd->file))
			return g;
	}
	g = realloc(s->groups, (s->n_groups + 1) * sizeof(*g));
	if (!g)
		return NULL;
	s->groups = g;
	g = &g[s->n_groups];
	memset(g, 0, sizeof(*g));
	g->rule = fd->rule;
	g->line = fd->line;
	g->file = dup_or_null(fd->file, &err);
	g->function = dup_or_null(fd->function, &err);
	g->code = dup_or_null(fd->code, &err);
	if (err) {
		free(g->file);
		free(g->function);
		free(g->code);
		return NULL;
	}
	s->n_groups++;
	return g;
}

static struct loop_summary *loop_at(struct summary *s, uint32_t pid, uint32_t tid,
				    const char *thread)
{
	struct loop_summary *l;

	for (uint32_t j = 0; j < s->n_loops; j++)
		if (s->loops[j].tid == tid && s->loops[j].pid == pid)
			return &s->loops[j];
	l = realloc(s->loops, (s->n_loops + 1) * sizeof(*l));
	if (!l)
		return NULL;
	s->loops = l;
	l = &l[s->n_loops++];
	memset(l, 0, sizeof(*l));
	l->pid = pid;
	l->tid = tid;
	snprintf(l->thread, sizeof(l->thread), "%.*s", (int)sizeof(l->thread) - 1,
		 thread ? thread : "");
	return l;
}

static struct loop_summary *loop_of(struct summary *s, const struct stall *st)
{
	return loop_at(s, st->pid, st->tid, st->thread);
}

int summary__lag(struct summary *s, uint32_t pid, uint32_t tid, const char *thread,
		 const struct lag *lag)
{
	struct loop_summary *l = loop_at(s, pid, tid, thread);

	if (!l)
		return -ENOMEM;
	l->lag = *lag;
	return 0;
}

static struct proc_summary *proc_of(struct summary *s, const struct stall *st)
{
	struct proc_summary *p;

	for (uint32_t j = 0; j < s->n_procs; j++)
		if (s->procs[j].pid == st->pid)
			return &s->procs[j];
	p = realloc(s->procs, (s->n_procs + 1) * sizeof(*p));
	if (!p)
		return NULL;
	s->procs = p;
	p = &p[s->n_procs++];
	memset(p, 0, sizeof(*p));
	p->pid = st->pid;
	memcpy(p->process, st->process, sizeof(p->process));
	p->process[sizeof(p->process) - 1] = 0;
	return p;
}

/* Room for every piece of st first, so a failure counts none of it. */
static int reserve(struct summary *s, const struct stall *st)
{
	if (s->stalls == s->cap_durs) {
		uint32_t cap = s->cap_durs ? 2 * s->cap_durs : 64;
		uint64_t *d = realloc(s->durs, cap * sizeof(*d));

		if (!d)
			return -ENOMEM;
		s->durs = d;
		s->cap_durs = cap;
	}
	if (!loop_of(s, st) || !proc_of(s, st))
		return -ENOMEM;
	for (uint32_t k = 0; k < st->n_findings; k++)
		if (!group_of(s, &st->findings[k]))
			return -ENOMEM;
	return 0;
}

static void add_finding(struct summary *s, const struct stall *st, uint32_t k)
{
	const struct finding *fd = &st->findings[k];
	struct finding_group *g = group_of(s, fd);	/* reserved: found */

	if ((int)fd->rule->severity > s->worst_severity)
		s->worst_severity = fd->rule->severity;
	g->count++;
	g->total_ns += fd->ns;
	if (g->count == 1 || fd->ns > g->worst_ns) {
		g->worst_ns = fd->ns;
		g->worst_stall = s->stalls;
		g->worst_finding = k;
	}
}

/* A stall's time by category: each segment's under its own primary
 * finding's, what no segment of its own holds (other, unsampled) under
 * the stall's; the stall counted once, under the stall's. */
static void add_categories(struct summary *s, const struct stall *st)
{
	const struct finding *p = stall__primary(st);
	uint64_t rest = st->duration_ns;

	for (uint32_t i = 0; i < st->n_segments; i++) {
		const struct finding *q = stall__segment_primary(st, i);
		uint64_t ns = st->segments[i].ns < rest ? st->segments[i].ns : rest;

		if (!q)
			continue;
		s->by_cat[q->rule->category].ns += ns;
		rest -= ns;
	}
	s->by_cat[p ? (int)p->rule->category : CAT__N].ns += rest;
	s->by_cat[p ? (int)p->rule->category : CAT__N].stalls++;
}

int summary__add(struct summary *s, const struct stall *st)
{
	struct loop_summary *l;
	struct proc_summary *p;

	if (reserve(s, st))
		return -ENOMEM;
	l = loop_of(s, st);
	l->stalls++;
	l->stalled_ns += st->duration_ns;
	if (st->duration_ns > l->worst_ns)
		l->worst_ns = st->duration_ns;
	p = proc_of(s, st);
	p->stalls++;
	p->stalled_ns += st->duration_ns;
	if (st->duration_ns > p->worst_ns)
		p->worst_ns = st->duration_ns;
	add_categories(s, st);
	for (uint32_t k = 0; k < st->n_findings; k++)
		add_finding(s, st, k);
	s->durs[s->stalls++] = st->duration_ns;
	s->stalled_ns += st->duration_ns;
	return 0;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

static int cmp_group(const void *x, const void *y)
{
	const struct finding_group *a = x, *b = y;
	int c;

	if (a->total_ns != b->total_ns)
		return a->total_ns < b->total_ns ? 1 : -1;
	if (a->count != b->count)
		return a->count < b->count ? 1 : -1;
	if (a->rule->severity != b->rule->severity)
		return a->rule->severity < b->rule->severity ? 1 : -1;
	if ((c = strcmp(a->rule->id, b->rule->id)))
		return c;
	if ((c = strcmp_null(a->file, b->file)))
		return c;
	return (a->line > b->line) - (a->line < b->line);
}

static int cmp_cat(const void *x, const void *y)
{
	const struct category_summary *a = x, *b = y;

	if ((a->category < 0) != (b->category < 0))
		return a->category < 0 ? 1 : -1;	/* "no finding" last */
	if (a->ns != b->ns)
		return a->ns < b->ns ? 1 : -1;
	return a->category - b->category;
}

static int cmp_loop(const void *x, const void *y)
{
	const struct loop_summary *a = x, *b = y;

	if (a->stalled_ns != b->stalled_ns)
		return a->stalled_ns < b->stalled_ns ? 1 : -1;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return a->tid < b->tid ? -1 : a->tid > b->tid;
}

static int cmp_proc(const void *x, const void *y)
{
	const struct proc_summary *a = x, *b = y;

	if (a->stalled_ns != b->stalled_ns)
		return a->stalled_ns < b->stalled_ns ? 1 : -1;
	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

uint64_t summary__percentile(const uint64_t *sorted, uint32_t n, double p)
{
	double rank;
	uint32_t i;

	if (!n)
		return 0;
	rank = ceil(p / 100.0 * n);
	i = rank < 1 ? 0 : (uint32_t)rank - 1;
	return sorted[i < n ? i : n - 1];
}

static int percentiles(struct summary *s)
{
	uint64_t *sorted = malloc((s->stalls ? s->stalls : 1) * sizeof(*sorted));

	if (!sorted)
		return -ENOMEM;
	if (s->stalls)		/* durs is NULL without stalls: no memcpy of it */
		memcpy(sorted, s->durs, s->stalls * sizeof(*sorted));
	qsort(sorted, s->stalls, sizeof(*sorted), cmp_u64);
	s->p50_ns = summary__percentile(sorted, s->stalls, 50);
	s->p95_ns = summary__percentile(sorted, s->stalls, 95);
	s->p99_ns = summary__percentile(sorted, s->stalls, 99);
	s->max_ns = s->stalls ? sorted[s->stalls - 1] : 0;
	free(sorted);
	return 0;
}

int summary__finish(struct summary *s)
{
	if (!s->cats && !(s->cats = calloc(CAT__N + 1, sizeof(*s->cats))))
		return -ENOMEM;
	if (percentiles(s))
		return -ENOMEM;
	for (uint32_t i = 0; i < s->n_groups; i++)
		if (!s->groups[i].count) {	/* room kept by a failed add */
			free(s->groups[i].file);
			free(s->groups[i].function);
			free(s->groups[i].code);
			s->groups[i--] = s->groups[--s->n_groups];
		}
	s->n_cats = 0;
	for (int c = 0; c <= CAT__N; c++)
		if (s->by_cat[c].stalls || s->by_cat[c].ns)
			s->cats[s->n_cats++] = s->by_cat[c];
	qsort(s->cats, s->n_cats, sizeof(*s->cats), cmp_cat);
	memset(&s->lag, 0, sizeof(s->lag));
	for (uint32_t i = 0; i < s->n_loops; i++)
		lag__add(&s->lag, &s->loops[i].lag);
	if (s->n_loops)
		qsort(s->loops, s->n_loops, sizeof(*s->loops), cmp_loop);
	if (s->n_procs)
		qsort(s->procs, s->n_procs, sizeof(*s->procs), cmp_proc);
	if (s->n_groups)
		qsort(s->groups, s->n_groups, sizeof(*s->groups), cmp_group);
	memset(s->sev_count, 0, sizeof(s->sev_count));
	for (uint32_t i = 0; i < s->n_groups; i++)
		s->sev_count[s->groups[i].rule->severity]++;
	return 0;
}

const struct loop_summary *summary__loop(const struct summary *s, uint32_t pid, uint32_t tid)
{
	static const struct loop_summary none;

	for (uint32_t i = 0; i < s->n_loops; i++)
		if (s->loops[i].tid == tid && s->loops[i].pid == pid)
			return &s->loops[i];
	return &none;
}

const struct proc_summary *summary__proc(const struct summary *s, uint32_t pid)
{
	static const struct proc_summary none;

	for (uint32_t i = 0; i < s->n_procs; i++)
		if (s->procs[i].pid == pid)
			return &s->procs[i];
	return &none;
}

int summary__awaits(struct summary *s, const struct rule_pack *p, const struct frames *fr,
		    struct source *src)
{
	int worst;

	s->aw_frames = fr;
	awaits__sort(&s->aw);
	worst = awaits__match(&s->aw, p, fr, src);
	if (worst == -2)
		return -ENOMEM;
	if (worst > s->worst_severity)
		s->worst_severity = worst;
	return 0;
}

void summary__free(struct summary *s)
{
	awaits__free(&s->aw);
	for (uint32_t i = 0; i < s->n_groups; i++) {
		free(s->groups[i].file);
		free(s->groups[i].function);
		free(s->groups[i].code);
	}
	free(s->groups);
	free(s->loops);
	free(s->procs);
	free(s->cats);
	free(s->durs);
	summary__init(s);
}
