// SPDX-License-Identifier: MIT
/* The Prometheus text exposition of a session (prom.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include "prom.h"

int prom__count(struct prom_counts *c, const struct stall *st)
{
	const struct finding *f = stall__primary(st);
	const struct rule *r = f ? f->rule : NULL;

	for (uint32_t i = 0; i < c->n; i++)
		if (c->v[i].pid == st->pid && c->v[i].tid == st->tid && c->v[i].rule == r) {
			c->v[i].stalls++;
			return 0;
		}
	if (c->n == c->cap) {
		uint32_t cap = c->cap ? 2 * c->cap : 16;
		struct prom_count *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = (struct prom_count){ st->pid, st->tid, r, 1 };
	return 0;
}

void prom__free(struct prom_counts *c)
{
	free(c->v);
	*c = (struct prom_counts){};
}

/* A label value: \ " and newline escaped. */
static void label(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++)
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	fputc('"', f);
}

/* pid="…",process="…",loop="THREAD/TID" */
static void loop_labels(FILE *f, const struct loop_summary *l, const char *title)
{
	char loop[PYTHREAD_NAME_MAX + 16];

	snprintf(loop, sizeof(loop), "%s/%u", l->thread[0] ? l->thread : "?", l->tid);
	fprintf(f, "pid=\"%u\",process=", l->pid);
	label(f, title);
	fputs(",loop=", f);
	label(f, loop);
}

static const struct loop_summary *loop_of(const struct summary *sum, uint32_t pid, uint32_t tid)
{
	for (uint32_t i = 0; i < sum->n_loops; i++)
		if (sum->loops[i].pid == pid && sum->loops[i].tid == tid)
			return &sum->loops[i];
	return NULL;
}

static void stalls_total(FILE *f, const struct summary *sum, const struct prom_counts *c,
			 const char *(*title)(void *, uint32_t), void *ctx)
{
	fputs("# HELP loopstall_stalls_total Stalls: busy intervals of an event loop at or "
	      "above the threshold, by the rule of their primary finding.\n"
	      "# TYPE loopstall_stalls_total counter\n", f);
	for (uint32_t i = 0; i < c->n; i++) {
		const struct prom_count *k = &c->v[i];
		const struct loop_summary *l = loop_of(sum, k->pid, k->tid);

		if (!l)
			continue;
		fputs("loopstall_stalls_total{", f);
		loop_labels(f, l, title(ctx, l->pid));
		fputs(",rule=", f);
		label(f, k->rule ? k->rule->id : "");
		fprintf(f, ",category=\"%s\"} %" PRIu64 "\n",
			k->rule ? rule_category_name(k->rule->category) : "none", k->stalls);
	}
}

static void busy_seconds(FILE *f, const struct loop_summary *l, const char *title)
{
	uint64_t cum = 0, lo, hi;

	for (uint32_t b = 0; b < LS_BUSY_BUCKETS; b++) {
		cum += l->lag.hist[b];
		lag__bounds(b, &lo, &hi);
		fputs("loopstall_busy_seconds_bucket{", f);
		loop_labels(f, l, title);
		if (hi == UINT64_MAX)
			fprintf(f, ",le=\"+Inf\"} %" PRIu64 "\n", cum);
		else
			fprintf(f, ",le=\"%g\"} %" PRIu64 "\n", hi / 1e9, cum);
	}
	fputs("loopstall_busy_seconds_sum{", f);
	loop_labels(f, l, title);
	fprintf(f, "} %.9f\nloopstall_busy_seconds_count{", l->lag.sum_ns / 1e9);
	loop_labels(f, l, title);
	fprintf(f, "} %" PRIu64 "\n", cum);
}

int prom__write(FILE *f, const struct summary *sum, const struct prom_counts *c,
		const char *(*title)(void *ctx, uint32_t pid), void *ctx,
		const struct prom_lost *lost)
{
	stalls_total(f, sum, c, title, ctx);
	fputs("# HELP loopstall_stalled_seconds_total Time event loops spent in stalls.\n"
	      "# TYPE loopstall_stalled_seconds_total counter\n", f);
	for (uint32_t i = 0; i < sum->n_loops; i++) {
		fputs("loopstall_stalled_seconds_total{", f);
		loop_labels(f, &sum->loops[i], title(ctx, sum->loops[i].pid));
		fprintf(f, "} %.9f\n", sum->loops[i].stalled_ns / 1e9);
	}
	fputs("# HELP loopstall_busy_seconds Busy intervals of event loops (each run "
	      "between two waits for events), stall or not.\n"
	      "# TYPE loopstall_busy_seconds histogram\n", f);
	for (uint32_t i = 0; i < sum->n_loops; i++)
		busy_seconds(f, &sum->loops[i], title(ctx, sum->loops[i].pid));
	fprintf(f, "# HELP loopstall_lost_events_total Events the kernel side could not "
		"pass on (ring buffer or table full).\n"
		"# TYPE loopstall_lost_events_total counter\n"
		"loopstall_lost_events_total{kind=\"stalls\"} %" PRIu64 "\n"
		"loopstall_lost_events_total{kind=\"samples\"} %" PRIu64 "\n"
		"loopstall_lost_events_total{kind=\"threads\"} %" PRIu64 "\n"
		"loopstall_lost_events_total{kind=\"processes\"} %" PRIu64 "\n",
		lost->stalls, lost->samples, lost->threads, lost->processes);
	return ferror(f) ? -EIO : 0;
}
