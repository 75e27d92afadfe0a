/* SPDX-License-Identifier: MIT */
/* The tasks' waits (await timing, docs/awaits.md): how long coroutines of
 * the user's code waited at each await line (count, total, p99), and the
 * waits of one coroutine call in turn, judged for independent awaits that
 * could have run together (rules of category sequential-await: LS120, the
 * user's PERF-037). attach builds it from probe/taskwatch.c, report from a
 * recording's AWAITS records. Frames are ids of one frames table (each a
 * Python frame at the await's line). */
#ifndef LS_AWAITS_H
#define LS_AWAITS_H
#include <stdbool.h>
#include <stdint.h>
#include "awaitseq.h"
#include "rule.h"
#include "source.h"
#include "stack.h"

#define AWAIT_BUCKETS	96	/* durations: two buckets an octave of µs */
#define AWAIT_RUNS	4	/* runs of independent awaits kept a sequence */

/* The waits at one await line. */
struct await_site {
	uint32_t frame;
	uint32_t count;
	uint64_t total_ns, max_ns;
	uint32_t hist[AWAIT_BUCKETS];
};

/* Calls of one coroutine that waited at the same lines in the same order:
 * ns[i] adds up the i-th wait of every such call. */
struct await_seq {
	uint32_t frames[AWAITSEQ_MAX];
	uint64_t ns[AWAITSEQ_MAX];
	uint32_t n, count;
};

/* A sequential-await finding: awaits of one coroutine, each independent
 * of the ones before, under a rule of that category; the calls of every
 * sequence that had them in turn (a sequence seen with fewer of those
 * lines, a wait missed, is left out). */
struct await_finding {
	const struct rule *rule;
	uint32_t frame;			/* the first await's (its function) */
	int lines[AWAITSEQ_MAX];
	uint64_t ns[AWAITSEQ_MAX];	/* a call's wait at each, the mean */
	int n;
	uint32_t calls;
	uint64_t turn_ns, together_ns;	/* a call's: the sum, the longest */
	char evidence[192];
};

struct awaits {
	struct await_site *sites;	/* by awaits__sort(): total time */
	uint32_t n_sites, cap_sites;
	struct await_seq *seqs;
	uint32_t n_seqs, cap_seqs;
	struct await_finding *findings;	/* awaits__match(): saving, then rule */
	uint32_t n_findings, cap_findings;
};

void awaits__init(struct awaits *a);
void awaits__free(struct awaits *a);
/* Emptied, its memory kept (a recorder's delta). */
void awaits__clear(struct awaits *a);
/* One wait of ns at frame's line. 0 or -ENOMEM. */
int awaits__wait(struct awaits *a, uint32_t frame, uint64_t ns);
/* Waits counted elsewhere (a recording's delta, another awaits' site),
 * added. 0 or -ENOMEM. */
int awaits__add_site(struct awaits *a, const struct await_site *s);
/* count calls that waited at frames[0..n) in turn, ns[i] in all at the
 * i-th (n >= 2, n <= AWAITSEQ_MAX). 0 or -ENOMEM/-EINVAL. */
int awaits__add_seq(struct awaits *a, const uint32_t *frames, const uint64_t *ns,
		    uint32_t n, uint32_t count);
/* The sequence of frames[0..n) in a, or NULL. */
const struct await_seq *awaits__seq(const struct awaits *a, const uint32_t *frames, uint32_t n);
/* Everything of b added to a. 0 or -ENOMEM. */
int awaits__merge(struct awaits *a, const struct awaits *b);
/* The q-quantile (0..1) of a site's waits: its bucket's upper bound, at
 * most the longest wait. */
uint64_t awaits__quantile(const struct await_site *s, double q);
/* Sites by total time, descending (then count, then frame). */
void awaits__sort(struct awaits *a);
/* The findings of the sequences under the pack's sequential-await rules:
 * each run of independent awaits (rules/awaitseq.h, on the function's
 * source from src) that a rule holds on. The worst severity found, or -1;
 * -ENOMEM as -2. */
int awaits__match(struct awaits *a, const struct rule_pack *p, const struct frames *fr,
		  struct source *src);

#endif
