// SPDX-License-Identifier: MIT
/* Unit tests: the loop lag (report/lag.c and the bucket function BPF uses,
 * bpf/loopstall.h): every duration in the bucket whose bounds hold it, two
 * buckets an octave from 1 ms, the last one open; percentiles interpolated
 * inside their bucket and never past the longest interval; the CI budgets
 * judged on a summary (report/budget.c); the Prometheus exposition
 * (report/prom.c): cumulative buckets, escaped labels. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "budget.h"
#include "lag.h"
#include "prom.h"

#define MS 1000000ULL

static void add(struct lag *l, uint64_t ns, uint64_t n)
{
	l->hist[ls_busy_bucket(ns)] += n;
	l->count += n;
	l->sum_ns += ns * n;
	if (ns > l->max_ns)
		l->max_ns = ns;
}

Test(lag, every_duration_falls_between_its_bucket_bounds)
{
	uint64_t lo, hi;

	for (uint64_t ns = 1; ns < 120000 * MS; ns = ns * 9 / 8 + 7) {
		uint32_t b = ls_busy_bucket(ns);

		cr_assert_lt(b, LS_BUSY_BUCKETS);
		lag__bounds(b, &lo, &hi);
		cr_assert(lo <= ns && ns < hi, "%llu ns in bucket %u [%llu, %llu)",
			  (unsigned long long)ns, b, (unsigned long long)lo,
			  (unsigned long long)hi);
	}
}

Test(lag, buckets_are_two_an_octave_from_one_ms)
{
	static const double want_ms[] = { 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48 };
	uint64_t lo, hi;

	cr_assert_eq(ls_busy_bucket(999999), 0);
	for (uint32_t b = 0; b < sizeof(want_ms) / sizeof(*want_ms); b++) {
		lag__bounds(b, &lo, &hi);
		cr_assert_eq(hi, (uint64_t)(want_ms[b] * MS), "bucket %u ends at %llu", b,
			     (unsigned long long)hi);
		cr_assert_eq(ls_busy_bucket(hi), b + 1);
		cr_assert_eq(ls_busy_bucket(hi - 1), b);
	}
	lag__bounds(LS_BUSY_BUCKETS - 1, &lo, &hi);
	cr_assert_eq(hi, UINT64_MAX, "the last bucket is open");
	cr_assert_eq(ls_busy_bucket(3600000 * MS), LS_BUSY_BUCKETS - 1);
}

Test(lag, percentiles_inside_their_bucket_never_past_the_longest)
{
	struct lag l = {};

	cr_assert_eq(lag__quantile(&l, 0.99), 0, "no interval: 0");
	add(&l, MS / 2, 900);		/* 90% under 1 ms */
	add(&l, 5 * MS, 90);		/* [4, 6) ms */
	add(&l, 70 * MS, 10);		/* [64, 96) ms: the longest is 70 */
	cr_assert_lt(lag__quantile(&l, 0.5), MS);
	uint64_t p95 = lag__quantile(&l, 0.95);

	cr_assert(p95 >= 4 * MS && p95 < 6 * MS, "p95 %llu", (unsigned long long)p95);
	uint64_t p999 = lag__quantile(&l, 0.999);

	cr_assert(p999 >= 64 * MS && p999 <= 70 * MS, "p99.9 %llu", (unsigned long long)p999);
	cr_assert_eq(lag__quantile(&l, 1.0), 70 * MS);
}

Test(lag, add_sums_counts_and_keeps_the_longest)
{
	struct lag a = {}, b = {};

	add(&a, 2 * MS, 3);
	add(&b, 2 * MS, 1);
	add(&b, 90 * MS, 1);
	lag__add(&a, &b);
	cr_assert_eq(a.count, 5);
	cr_assert_eq(a.sum_ns, 98 * MS);
	cr_assert_eq(a.max_ns, 90 * MS);
	cr_assert_eq(a.hist[ls_busy_bucket(2 * MS)], 4);
}

Test(budget, percentages_parse_with_or_without_the_sign)
{
	double v;

	cr_assert_eq(budgets__parse_pct("1%", &v), 0);
	cr_assert_float_eq(v, 1.0, 1e-9);
	cr_assert_eq(budgets__parse_pct("0.5", &v), 0);
	cr_assert_float_eq(v, 0.5, 1e-9);
	cr_assert_eq(budgets__parse_pct("2.5 %", &v), 0);
	cr_assert_float_eq(v, 2.5, 1e-9);
	cr_assert_eq(budgets__parse_pct("101", &v), -EINVAL);
	cr_assert_eq(budgets__parse_pct("-1", &v), -EINVAL);
	cr_assert_eq(budgets__parse_pct("1%%", &v), -EINVAL);
	cr_assert_eq(budgets__parse_pct("", &v), -EINVAL);
	cr_assert_eq(budgets__parse_pct("nan", &v), -EINVAL);
}

Test(budget, each_budget_set_is_judged_and_only_those)
{
	struct summary s;
	struct budgets b = {};
	struct budget_result r[BUDGET__N];

	summary__init(&s);
	cr_assert_eq(budgets__judge(&b, &s, 1000 * MS, 1, r), 0);
	s.max_ns = 300 * MS;
	s.stalled_ns = 20 * MS;		/* of 2 loops over 1 s: 1% */
	add(&s.lag, MS / 2, 98);
	add(&s.lag, 300 * MS, 2);
	b.max_stall_ns = 200 * MS;
	b.stalled_set = true;
	b.max_stalled_pct = 1;
	b.max_p99_ns = 100 * MS;
	cr_assert_eq(budgets__judge(&b, &s, 1000 * MS, 2, r), 3);
	cr_assert(r[0].broken && !strcmp(r[0].name, "max_stall_ms"));
	cr_assert_str_eq(r[0].line, "longest stall 300.0 ms, limit 200.0 ms");
	cr_assert_not(r[1].broken, "exactly at the limit: kept");
	cr_assert_str_eq(r[1].line, "stalled 1% of the time, limit 1%");
	cr_assert(r[2].broken && !strcmp(r[2].name, "max_p99_ms"));
	b.max_stall_ns = 0;
	b.stalled_set = false;
	cr_assert_eq(budgets__judge(&b, &s, 1000 * MS, 2, r), 1);
	cr_assert_str_eq(r[0].name, "max_p99_ms");
}

static const char *title(void *ctx, uint32_t pid)
{
	(void)ctx;
	return pid == 7 ? "gunicorn: worker \"a\\b\"\nx" : NULL;
}

Test(prom, buckets_are_cumulative_and_labels_escaped)
{
	struct rule r = { .id = "LS020", .category = CAT_SLEEP, .severity = SEV_ERROR };
	struct finding f = { .rule = &r };
	struct stall st = { .pid = 7, .tid = 8, .findings = &f, .n_findings = 1 };
	struct prom_counts c = {};
	struct prom_lost lost = { .samples = 3 };
	struct summary s;
	struct lag l = {};
	char *out = NULL;
	size_t len = 0;
	FILE *fp;

	summary__init(&s);
	add(&l, MS / 2, 5);
	add(&l, 2 * MS, 2);
	add(&l, 3600000 * MS, 1);
	cr_assert_eq(summary__lag(&s, 7, 8, "MainThread", &l), 0);
	cr_assert_eq(prom__count(&c, &st), 0);
	cr_assert_eq(prom__count(&c, &st), 0);
	fp = open_memstream(&out, &len);
	cr_assert_eq(prom__write(fp, &s, &c, title, NULL, &lost), 0);
	fclose(fp);
	cr_assert_not_null(strstr(out, "loopstall_stalls_total{pid=\"7\",process=\"gunicorn: "
				  "worker \\\"a\\\\b\\\"\\nx\",loop=\"MainThread/8\","
				  "rule=\"LS020\",category=\"sleep\"} 2\n"), "%s", out);
	cr_assert_not_null(strstr(out, ",le=\"0.001\"} 5\n"), "%s", out);
	cr_assert_not_null(strstr(out, ",le=\"0.003\"} 7\n"), "%s", out);
	cr_assert_not_null(strstr(out, ",le=\"+Inf\"} 8\n"), "%s", out);
	cr_assert_not_null(strstr(out, "_count{pid=\"7\""), "%s", out);
	cr_assert_not_null(strstr(out, "loopstall_lost_events_total{kind=\"samples\"} 3\n"));
	free(out);
	prom__free(&c);
	summary__free(&s);
}
