// SPDX-License-Identifier: MIT
/* CI budgets judged on a summary (budget.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "budget.h"
#include "fmt.h"

int budgets__parse_pct(const char *s, double *pct)
{
	char *end;
	double v = strtod(s, &end);

	while (*end == ' ')
		end++;
	if (*end == '%')
		end++;
	if (end == s || *end || !isfinite(v) || v < 0 || v > 100)
		return -EINVAL;
	*pct = v;
	return 0;
}

static void judge_ns(struct budget_result *r, const char *name, const char *what,
		     uint64_t value, uint64_t limit)
{
	char a[32], b[32];

	r->name = name;
	r->value = value / 1e6;
	r->limit = limit / 1e6;
	r->broken = value > limit;
	snprintf(r->line, sizeof(r->line), "%s %s, limit %s", what,
		 fmt_dur(value, a, sizeof(a)), fmt_dur(limit, b, sizeof(b)));
}

int budgets__judge(const struct budgets *b, const struct summary *s, uint64_t span_ns,
		   uint32_t n_loops, struct budget_result *out)
{
	int n = 0;

	if (b->max_stall_ns)
		judge_ns(&out[n++], "max_stall_ms", "longest stall", s->max_ns, b->max_stall_ns);
	if (b->stalled_set) {
		struct budget_result *r = &out[n++];
		double loop_ns = (double)span_ns * (n_loops ? n_loops : 1);

		r->name = "max_stalled_pct";
		r->value = loop_ns > 0 ? 100.0 * s->stalled_ns / loop_ns : 0;
		r->limit = b->max_stalled_pct;
		r->broken = r->value > r->limit;
		snprintf(r->line, sizeof(r->line), "stalled %.3g%% of the time, limit %g%%",
			 r->value, r->limit);
	}
	if (b->max_p99_ns)
		judge_ns(&out[n++], "max_p99_ms", "p99 of busy intervals",
			 lag__quantile(&s->lag, 0.99), b->max_p99_ns);
	return n;
}
