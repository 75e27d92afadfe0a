/* SPDX-License-Identifier: MIT */
/* Budgets for CI (--max-stall, --max-stalled, --max-p99): how much a run
 * may stall its loops. attach, record and report judge their summary
 * against them; one broken makes the exit code 1 (docs/ci.md). Pure. */
#ifndef LS_BUDGET_H
#define LS_BUDGET_H
#include <stdbool.h>
#include <stdint.h>
#include "summary.h"

/* All zero: no budget. */
struct budgets {
	uint64_t max_stall_ns;		/* the longest stall; 0: no budget */
	bool stalled_set;		/* max_stalled_pct is a budget */
	double max_stalled_pct;		/* stalled share of the loops' time, in % */
	uint64_t max_p99_ns;		/* p99 of every busy interval; 0: none */
};

enum { BUDGET_STALL, BUDGET_STALLED, BUDGET_P99, BUDGET__N };

struct budget_result {
	const char *name;		/* "max_stall_ms", "max_stalled_pct", "max_p99_ms" */
	double value, limit;		/* in ms, or % */
	bool broken;
	char line[120];			/* "stalled 3.2% of the time, limit 1%" */
};

/* "1%", "0.5", "2.5 %": a share in % (0 to 100) into *pct. 0 or -EINVAL. */
int budgets__parse_pct(const char *s, double *pct);
/* Judge s, over span_ns of n_loops loops, against the budgets set in b:
 * one result each, in out (room for BUDGET__N); their count. */
int budgets__judge(const struct budgets *b, const struct summary *s, uint64_t span_ns,
		   uint32_t n_loops, struct budget_result *out);

#endif
