/* SPDX-License-Identifier: MIT */
/* The loop lag: every busy interval of a loop (stall or not) counted in a
 * histogram of its duration, so a user sees how close a loop runs to the
 * threshold: its percentiles, per loop and for all loops together. The
 * buckets are the BPF side's (bpf/loopstall.h ls_busy: two an octave from
 * 1 ms). Pure. */
#ifndef LS_LAG_H
#define LS_LAG_H
#include <linux/types.h>
#include <stdbool.h>
#include <stdint.h>
#include "loopstall.h"

struct lag {
	uint64_t count;			/* busy intervals */
	uint64_t sum_ns, max_ns;
	uint64_t hist[LS_BUSY_BUCKETS];
};

/* A loop's lag as BPF counted it (a copy: the counts only grow). */
void lag__set(struct lag *l, const struct ls_busy *b);
/* Add from into to (all loops together). */
void lag__add(struct lag *to, const struct lag *from);
/* The q-quantile (0 < q <= 1) of the busy intervals, interpolated inside
 * its bucket (as Prometheus' histogram_quantile does) and never past the
 * longest; 0 with no interval. */
uint64_t lag__quantile(const struct lag *l, double q);
/* Bucket b's bounds [lo, hi) in ns; hi is UINT64_MAX for the last. */
void lag__bounds(uint32_t b, uint64_t *lo, uint64_t *hi);

#endif
