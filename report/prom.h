/* SPDX-License-Identifier: MIT */
/* The Prometheus text exposition (format 0.0.4) of a live session, served
 * by `attach --metrics` (probe/metrics.c; docs/fleet.md):
 *   loopstall_stalls_total{pid,process,loop,rule,category}  counter
 *   loopstall_stalled_seconds_total{pid,process,loop}       counter
 *   loopstall_busy_seconds{pid,process,loop}                histogram
 *   loopstall_lost_events_total{kind}                       counter
 * A stall counts under its primary finding's rule (rule="" and category
 * "none" without one). Pure: a summary and the counts in, text out. */
#ifndef LS_PROM_H
#define LS_PROM_H
#include <stdint.h>
#include <stdio.h>
#include "summary.h"

struct prom_count {
	uint32_t pid, tid;
	const struct rule *rule;	/* NULL: no finding */
	uint64_t stalls;
};

struct prom_counts {
	struct prom_count *v;
	uint32_t n, cap;
};

struct prom_lost {
	uint64_t stalls, samples, threads, processes;
};

/* Count st under its primary finding's rule. 0 or -ENOMEM. */
int prom__count(struct prom_counts *c, const struct stall *st);
void prom__free(struct prom_counts *c);
/* The exposition of every loop of sum into f; title(ctx, pid) names a
 * process (NULL: ""). 0 or -EIO. */
int prom__write(FILE *f, const struct summary *sum, const struct prom_counts *c,
		const char *(*title)(void *ctx, uint32_t pid), void *ctx,
		const struct prom_lost *lost);

#endif
