// SPDX-License-Identifier: MIT
/* The loop lag's histogram and percentiles (lag.h). */
#include <string.h>
#include "lag.h"

void lag__set(struct lag *l, const struct ls_busy *b)
{
	l->count = b->count;
	l->sum_ns = b->sum_ns;
	l->max_ns = b->max_ns;
	for (uint32_t i = 0; i < LS_BUSY_BUCKETS; i++)
		l->hist[i] = b->hist[i];
}

void lag__add(struct lag *to, const struct lag *from)
{
	to->count += from->count;
	to->sum_ns += from->sum_ns;
	if (from->max_ns > to->max_ns)
		to->max_ns = from->max_ns;
	for (uint32_t i = 0; i < LS_BUSY_BUCKETS; i++)
		to->hist[i] += from->hist[i];
}

void lag__bounds(uint32_t b, uint64_t *lo, uint64_t *hi)
{
	*lo = b ? ls_busy_bound_ns(b - 1) : 0;
	*hi = b + 1 < LS_BUSY_BUCKETS ? ls_busy_bound_ns(b) : UINT64_MAX;
}

uint64_t lag__quantile(const struct lag *l, double q)
{
	uint64_t total = 0, seen = 0, lo, hi, v;
	double want;

	for (uint32_t i = 0; i < LS_BUSY_BUCKETS; i++)
		total += l->hist[i];
	if (!total)
		return 0;
	want = q * (double)total;
	for (uint32_t i = 0; i < LS_BUSY_BUCKETS; i++) {
		if (!l->hist[i] || (double)(seen + l->hist[i]) < want) {
			seen += l->hist[i];
			continue;
		}
		lag__bounds(i, &lo, &hi);
		if (hi == UINT64_MAX || hi > l->max_ns)
			hi = l->max_ns > lo ? l->max_ns : lo;
		v = lo + (uint64_t)((double)(hi - lo) * ((want - (double)seen) /
							  (double)l->hist[i]));
		return v < l->max_ns ? v : l->max_ns;
	}
	return l->max_ns;
}
