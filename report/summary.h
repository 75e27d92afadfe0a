/* SPDX-License-Identifier: MIT */
/* The one summary of a set of stalls: totals, durations, stalled time per
 * loop thread and per category, and the findings grouped by rule and call
 * site. attach builds it as stalls happen, report from a recording; both
 * print from it.
 *
 * Orders (each a total order, so equal inputs print alike):
 * - groups: total time, then count, then severity (all descending), then
 *   rule id, file, line (ascending);
 * - loops: stalled time descending, then PID, then TID ascending;
 * - processes: stalled time descending, then PID ascending;
 * - categories: "no finding" last, then time descending, then category. */
#ifndef LS_SUMMARY_H
#define LS_SUMMARY_H
#include <stdint.h>
#include "awaits.h"
#include "lag.h"
#include "rule.h"
#include "stall.h"

/* Findings with the same rule and call site (file and line): the time
 * each stood for (finding.ns) added up, the largest as worst. */
struct finding_group {
	const struct rule *rule;
	char *file, *function, *code;	/* the call site, as first seen (owned) */
	int line;
	uint32_t count;
	uint64_t total_ns, worst_ns;
	uint32_t worst_stall;		/* the worst stall's index, in the order
					   summary__add() was given the stalls */
	uint32_t worst_finding;		/* the group's finding in that stall */
};

/* Stalled time of one loop thread. */
struct loop_summary {
	uint32_t pid, tid;
	char thread[PYTHREAD_NAME_MAX];
	uint32_t stalls;
	uint64_t stalled_ns, worst_ns;
	struct lag lag;			/* every busy interval (summary__lag()) */
};

/* Stalled time of one process, all its loops together. */
struct proc_summary {
	uint32_t pid;
	char process[PROC_TITLE_MAX];	/* its title at its first stall */
	uint32_t stalls;
	uint64_t stalled_ns, worst_ns;
};

/* Stalled time under one category: each segment of a stall with findings
 * counts under its primary finding's category, the rest of the stall and
 * the stall itself under the stall's primary finding's (stall__primary()). */
struct category_summary {
	int category;			/* enum rule_category; -1: no finding */
	uint32_t stalls;
	uint64_t ns;
};

struct summary {
	uint32_t stalls;
	uint64_t stalled_ns;
	uint64_t p50_ns, p95_ns, p99_ns, max_ns;	/* of stall durations */
	int worst_severity;		/* of every finding; -1: none */
	struct loop_summary *loops;
	uint32_t n_loops;
	struct proc_summary *procs;
	uint32_t n_procs;
	struct category_summary *cats;
	uint32_t n_cats;
	struct finding_group *groups;
	uint32_t n_groups;
	uint32_t sev_count[SEV__N];	/* finding groups per severity */
	/* the tasks' waits and their findings (sequential awaits): frame ids
	 * of aw_frames; worst_severity counts the findings after
	 * summary__awaits() */
	struct awaits aw;
	const struct frames *aw_frames;
	/* the busy intervals of every loop together (summary__finish()), when
	 * their lag was given (summary__lag()) */
	struct lag lag;
	/* private */
	uint64_t *durs;
	uint32_t cap_durs;
	struct category_summary by_cat[CAT__N + 1];
};

void summary__init(struct summary *s);
/* The findings of the waits in s->aw (frames fr, sources src) under p,
 * counted in worst_severity. 0 or -ENOMEM. */
int summary__awaits(struct summary *s, const struct rule_pack *p, const struct frames *fr,
		    struct source *src);
/* The busy intervals of loop thread tid of process pid (named thread), as
 * counted so far: replaces what was given before. 0 or -ENOMEM. */
int summary__lag(struct summary *s, uint32_t pid, uint32_t tid, const char *thread,
		 const struct lag *l);
/* Count st (its findings already matched). 0 or -ENOMEM (s stays whole:
 * what was added before is kept). */
int summary__add(struct summary *s, const struct stall *st);
/* Sort and compute percentiles; may be called again after more adds.
 * 0 or -ENOMEM. */
int summary__finish(struct summary *s);
void summary__free(struct summary *s);
/* The line of loop thread tid of process pid; one of zeros when it had
 * no stall. */
const struct loop_summary *summary__loop(const struct summary *s, uint32_t pid, uint32_t tid);
/* Process pid's line; one of zeros when it had no stall. */
const struct proc_summary *summary__proc(const struct summary *s, uint32_t pid);
/* Percentile p (0..100) of sorted values, nearest rank. */
uint64_t summary__percentile(const uint64_t *sorted, uint32_t n, double p);

#endif
