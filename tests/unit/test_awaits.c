// SPDX-License-Identifier: MIT
/* Unit tests: report/awaits.c (the tasks' waits: sites, their histograms
 * and quantiles, sequences, and their sequential-await findings under a
 * real rule pack, rules/match.c match__sequence included), and how
 * rules/load.c gives 'async_rules:' rules the sequential-await category.
 * Run from the repo root (tests/unit/data/rules/perf-async.yaml). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "awaits.h"
#include "match.h"
#include "rule.h"
#include "source.h"
#include "stack.h"

#define US 1000ULL
#define MS 1000000ULL
#define SEC 1000000000ULL
#define PERF_ASYNC "tests/unit/data/rules/perf-async.yaml"

/* ---- helpers ------------------------------------------------------------ */

static uint32_t pyframe(struct frames *t, const char *fn, const char *file, int line,
			int firstline, const char *code)
{
	struct frame f = { .kind = FRAME_PYTHON, .user = true, .line = line,
			   .firstline = firstline, .function = (char *)fn,
			   .file = (char *)file, .code = (char *)code };
	uint32_t id = frames__intern(t, &f);

	cr_assert_neq(id, UINT32_MAX);
	return id;
}

static void dump(const struct rule_diags *d)
{
	for (int i = 0; i < d->n; i++)
		cr_log_info("%s:%d:%d: %s%s", d->v[i].file, d->v[i].line, d->v[i].column,
			    d->v[i].warning ? "warning: " : "", d->v[i].msg);
}

static const struct rule *find_rule(const struct rule_pack *p, const char *id)
{
	for (int i = 0; i < p->n; i++)
		if (!strcmp(p->v[i].id, id))
			return &p->v[i];
	return NULL;
}

/* A pack from YAML text (rules__load reads files: through a temp file). */
static void load_yaml(struct rule_pack *pack, const char *yaml)
{
	char path[] = "/tmp/ls-awaits-XXXXXX.yaml";
	struct rule_diags d = {};
	int fd = mkstemps(path, 5), err;

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
	close(fd);
	err = rules__load(pack, path, &d);
	dump(&d);
	unlink(path);
	cr_assert_eq(err, 0, "rules__load: %d", err);
	cr_assert_eq(d.errors, 0);
	rule_diags__free(&d);
}

static void load_default(struct rule_pack *pack)
{
	struct rule_diags d = {};

	cr_assert_eq(rules__load_default(pack, &d), 0);
	dump(&d);
	cr_assert_eq(d.errors, 0);
	rule_diags__free(&d);
}

/* ---- sites: awaits__wait, quantiles ------------------------------------- */

Test(awaits, wait_counts_totals_and_max_per_frame)
{
	struct awaits a;

	awaits__init(&a);
	cr_assert_eq(awaits__wait(&a, 7, 10 * MS), 0);
	cr_assert_eq(awaits__wait(&a, 3, 2 * MS), 0);
	cr_assert_eq(awaits__wait(&a, 7, 30 * MS), 0);
	cr_assert_eq(awaits__wait(&a, 7, 20 * MS), 0);
	cr_assert_eq(a.n_sites, 2, "the same frame twice goes to one site");
	cr_expect_eq(a.sites[0].frame, 7);
	cr_expect_eq(a.sites[0].count, 3);
	cr_expect_eq(a.sites[0].total_ns, 60 * MS);
	cr_expect_eq(a.sites[0].max_ns, 30 * MS);
	cr_expect_eq(a.sites[1].frame, 3);
	cr_expect_eq(a.sites[1].count, 1);
	cr_expect_eq(a.sites[1].total_ns, 2 * MS);
	cr_expect_eq(a.sites[1].max_ns, 2 * MS);

	uint32_t in_hist = 0;

	for (int b = 0; b < AWAIT_BUCKETS; b++)
		in_hist += a.sites[0].hist[b];
	cr_expect_eq(in_hist, 3, "every wait in one bucket");
	/* many sites: the array grows, each keeps its own */
	for (uint32_t f = 100; f < 200; f++)
		cr_assert_eq(awaits__wait(&a, f, f * US), 0);
	cr_assert_eq(a.n_sites, 102);
	for (uint32_t i = 2; i < 102; i++) {
		cr_expect_eq(a.sites[i].frame, 98 + i);
		cr_expect_eq(a.sites[i].total_ns, (98 + i) * US);
	}
	cr_expect_eq(a.sites[0].count, 3);
	awaits__free(&a);
	cr_expect_null(a.sites);
	cr_expect_eq(a.n_sites, 0);
}

Test(awaits, clear_empties_and_keeps_memory)
{
	struct awaits a;
	struct await_site *sites;

	awaits__init(&a);
	awaits__wait(&a, 1, 5 * MS);
	cr_assert_eq(awaits__add_seq(&a, (uint32_t[]){ 1, 2 }, (uint64_t[]){ 1, 2 }, 2, 1), 0);
	sites = a.sites;
	awaits__clear(&a);
	cr_expect_eq(a.n_sites, 0);
	cr_expect_eq(a.n_seqs, 0);
	cr_expect_eq(a.n_findings, 0);
	cr_expect_eq(a.sites, sites, "memory kept");
	cr_expect_geq(a.cap_sites, 1);
	/* a site seen again starts from zero */
	awaits__wait(&a, 1, 7 * MS);
	cr_assert_eq(a.n_sites, 1);
	cr_expect_eq(a.sites[0].count, 1);
	cr_expect_eq(a.sites[0].total_ns, 7 * MS);
	cr_expect_eq(a.sites[0].max_ns, 7 * MS);
	uint32_t in_hist = 0;

	for (int b = 0; b < AWAIT_BUCKETS; b++)
		in_hist += a.sites[0].hist[b];
	cr_expect_eq(in_hist, 1, "the histogram starts over too");
	awaits__free(&a);
}

/* Buckets (report/awaits.c): two an octave of µs, [2^e, 1.5 * 2^e) with
 * its top at 1.5 * 2^e µs and [1.5 * 2^e, 2^(e+1)) at 2^(e+1) µs. 10 ms =
 * 10000 µs is in [8192, 12288): top 12.288 ms; 1 s = 1000000 µs in
 * [786432, 1048576): top 1.048576 s, above the longest wait. */
Test(awaits, quantile_is_the_bucket_top_at_most_the_max)
{
	struct awaits a;
	const struct await_site *s;

	awaits__init(&a);
	for (int i = 0; i < 100; i++)
		awaits__wait(&a, 1, 10 * MS);
	awaits__wait(&a, 1, 1 * SEC);
	s = &a.sites[0];
	cr_assert_eq(s->count, 101);

	uint64_t p99 = awaits__quantile(s, 0.99);

	cr_expect_geq(p99, 10 * MS);
	cr_expect_leq(p99, 12500 * US);
	cr_expect_eq(p99, 12288 * US, "p99 %lu", (unsigned long)p99);
	cr_expect_eq(awaits__quantile(s, 0.5), 12288 * US);
	cr_expect_eq(awaits__quantile(s, 0.0), 12288 * US, "q 0: the first bucket's top");
	/* the longest wait's bucket tops at 1.048576 s: the max */
	cr_expect_eq(awaits__quantile(s, 1.0), 1 * SEC);
	cr_expect_eq(awaits__quantile(s, 0.999), 1 * SEC);

	/* only 10 ms waits: every quantile is the max itself */
	awaits__wait(&a, 2, 10 * MS);
	awaits__wait(&a, 2, 10 * MS);
	cr_expect_eq(awaits__quantile(&a.sites[1], 0.99), 10 * MS);
	cr_expect_eq(awaits__quantile(&a.sites[1], 0.5), 10 * MS);

	/* an empty site */
	struct await_site empty = { .frame = 9 };

	cr_expect_eq(awaits__quantile(&empty, 0.99), 0);
	cr_expect_eq(awaits__quantile(&empty, 0.0), 0);
	awaits__free(&a);
}

Test(awaits, quantile_bucket_bounds)
{
	/* a wait of v µs alone, or in a site whose max is far above: the
	 * bucket's top, exactly */
	static const struct { uint64_t us, top_us; } cases[] = {
		{ 2, 3 }, { 3, 4 }, { 4, 6 }, { 5, 6 }, { 6, 8 }, { 7, 8 },
		{ 8, 12 }, { 11, 12 }, { 12, 16 }, { 15, 16 }, { 100, 128 },
		{ 1000, 1024 }, { 8192, 12288 }, { 12288, 16384 }, { 16383, 16384 },
		{ 786432, 1048576 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct awaits a;

		awaits__init(&a);
		awaits__wait(&a, 1, cases[i].us * US);
		awaits__wait(&a, 1, 100 * SEC);		/* the max, far above */
		/* 2 waits: q 0.5 is the first */
		cr_expect_eq(awaits__quantile(&a.sites[0], 0.5), cases[i].top_us * US,
			     "%lu µs: %lu, want %lu", (unsigned long)cases[i].us,
			     (unsigned long)awaits__quantile(&a.sites[0], 0.5),
			     (unsigned long)(cases[i].top_us * US));
		awaits__free(&a);
	}
}

Test(awaits, quantile_never_above_max_nor_below_a_lone_wait)
{
	/* durations over 4 orders of magnitude and a bit (from 2 µs: see
	 * quantile_of_a_wait_under_2us), each alone: the bucket's top is
	 * above it, so every quantile is the wait itself */
	for (uint64_t ns = 2000; ns < 200 * SEC; ns = ns * 7 / 5 + 13) {
		struct awaits a;

		awaits__init(&a);
		awaits__wait(&a, 1, ns);
		for (double q = 0; q <= 1.0; q += 0.25) {
			uint64_t v = awaits__quantile(&a.sites[0], q);

			cr_expect_eq(v, ns, "%lu ns, q %.2f: %lu", (unsigned long)ns, q,
				     (unsigned long)v);
		}
		awaits__free(&a);
	}
	/* mixed sites: p99 is at most the max */
	struct awaits a;

	awaits__init(&a);
	for (uint64_t i = 1; i <= 1000; i++)
		awaits__wait(&a, 1, i * i * 997);
	for (double q = 0; q <= 1.0; q += 0.01)
		cr_expect_leq(awaits__quantile(&a.sites[0], q), a.sites[0].max_ns);
	cr_expect_leq(awaits__quantile(&a.sites[0], 0.99), a.sites[0].max_ns);
	cr_expect_geq(awaits__quantile(&a.sites[0], 0.99), 990ULL * 990 * 997,
		      "at least the 990th wait");
	awaits__free(&a);
}

/* Bucket 0 holds waits of [0, 2) µs: its top is 2 µs, so a wait of 1..2
 * µs is its own quantile (once found at 1 µs: a quantile below the wait). */
Test(awaits, quantile_of_a_wait_under_2us)
{
	struct awaits a;

	awaits__init(&a);
	awaits__wait(&a, 1, 1500);
	cr_expect_eq(awaits__quantile(&a.sites[0], 0.99), 1500);
	awaits__wait(&a, 2, 1999);
	cr_expect_eq(awaits__quantile(&a.sites[1], 0.99), 1999);
	awaits__wait(&a, 3, 500);
	cr_expect_eq(awaits__quantile(&a.sites[2], 0.99), 500);
	/* with a longer wait beside it: the top of [0, 2) µs */
	awaits__wait(&a, 4, 1500);
	awaits__wait(&a, 4, 1 * SEC);
	cr_expect_geq(awaits__quantile(&a.sites[3], 0.5), 1500);
	awaits__free(&a);
}

/* ---- add_site, add_seq, merge ------------------------------------------- */

Test(awaits, add_seq_bounds)
{
	uint32_t fr[AWAITSEQ_MAX + 1];
	uint64_t ns[AWAITSEQ_MAX + 1];
	struct awaits a;

	for (int i = 0; i <= AWAITSEQ_MAX; i++) {
		fr[i] = i;
		ns[i] = i * MS;
	}
	awaits__init(&a);
	cr_expect_eq(awaits__add_seq(&a, fr, ns, 0, 1), -EINVAL);
	cr_expect_eq(awaits__add_seq(&a, fr, ns, 1, 1), -EINVAL);
	cr_expect_eq(awaits__add_seq(&a, fr, ns, AWAITSEQ_MAX + 1, 1), -EINVAL);
	cr_expect_eq(a.n_seqs, 0);
	cr_expect_eq(awaits__add_seq(&a, fr, ns, 2, 1), 0);
	cr_expect_eq(awaits__add_seq(&a, fr, ns, AWAITSEQ_MAX, 1), 0);
	cr_assert_eq(a.n_seqs, 2);
	cr_expect_eq(a.seqs[1].n, AWAITSEQ_MAX);
	cr_expect_eq(a.seqs[1].frames[AWAITSEQ_MAX - 1], AWAITSEQ_MAX - 1);
	cr_expect_eq(a.seqs[1].ns[AWAITSEQ_MAX - 1], (AWAITSEQ_MAX - 1) * MS);
	awaits__free(&a);
}

Test(awaits, add_seq_merges_the_same_frames)
{
	struct awaits a;

	awaits__init(&a);
	cr_assert_eq(awaits__add_seq(&a, (uint32_t[]){ 4, 5, 6 },
				     (uint64_t[]){ 10 * MS, 20 * MS, 30 * MS }, 3, 1), 0);
	cr_assert_eq(awaits__add_seq(&a, (uint32_t[]){ 4, 5, 6 },
				     (uint64_t[]){ 30 * MS, 40 * MS, 50 * MS }, 3, 2), 0);
	cr_assert_eq(a.n_seqs, 1);
	cr_expect_eq(a.seqs[0].n, 3);
	cr_expect_eq(a.seqs[0].count, 3);
	cr_expect_eq(a.seqs[0].ns[0], 40 * MS);
	cr_expect_eq(a.seqs[0].ns[1], 60 * MS);
	cr_expect_eq(a.seqs[0].ns[2], 80 * MS);
	cr_expect_eq(a.seqs[0].frames[2], 6);

	/* other frames, another order, a prefix: each its own */
	cr_assert_eq(awaits__add_seq(&a, (uint32_t[]){ 4, 6, 5 },
				     (uint64_t[]){ 1, 2, 3 }, 3, 1), 0);
	cr_assert_eq(awaits__add_seq(&a, (uint32_t[]){ 4, 5 }, (uint64_t[]){ 1, 2 }, 2, 1), 0);
	cr_assert_eq(awaits__add_seq(&a, (uint32_t[]){ 4, 5, 7 },
				     (uint64_t[]){ 1, 2, 3 }, 3, 1), 0);
	cr_assert_eq(a.n_seqs, 4);
	cr_expect_eq(a.seqs[0].count, 3, "untouched");
	cr_expect_eq(a.seqs[1].frames[1], 6);
	cr_expect_eq(a.seqs[2].n, 2);
	cr_expect_eq(a.seqs[3].frames[2], 7);
	cr_expect_eq(a.seqs[3].ns[2], 3);
	/* many: the array grows */
	for (uint32_t i = 0; i < 100; i++)
		cr_assert_eq(awaits__add_seq(&a, (uint32_t[]){ 1000 + i, 1 },
					     (uint64_t[]){ i, i }, 2, 1), 0);
	cr_assert_eq(a.n_seqs, 104);
	cr_expect_eq(a.seqs[103].frames[0], 1099);
	cr_expect_eq(a.seqs[0].ns[2], 80 * MS);
	awaits__free(&a);
}

Test(awaits, add_site_adds_counts_and_histograms)
{
	struct awaits a;
	struct await_site in = { .frame = 5, .count = 4, .total_ns = 40 * MS, .max_ns = 25 * MS };

	in.hist[3] = 1;
	in.hist[26] = 3;
	awaits__init(&a);
	awaits__wait(&a, 5, 30 * MS);
	cr_assert_eq(awaits__add_site(&a, &in), 0);
	cr_assert_eq(a.n_sites, 1);
	cr_expect_eq(a.sites[0].count, 5);
	cr_expect_eq(a.sites[0].total_ns, 70 * MS);
	cr_expect_eq(a.sites[0].max_ns, 30 * MS, "the larger max");
	cr_expect_eq(a.sites[0].hist[3], 1);
	cr_expect_eq(a.sites[0].hist[26], 3);
	/* 30 ms = 30000 µs: [24576, 32768) µs, bucket 2 * 14 + 1 */
	cr_expect_eq(a.sites[0].hist[29], 1);
	in.max_ns = 90 * MS;
	in.frame = 6;
	cr_assert_eq(awaits__add_site(&a, &in), 0);
	cr_assert_eq(a.n_sites, 2);
	cr_expect_eq(a.sites[1].max_ns, 90 * MS);
	cr_expect_eq(a.sites[1].count, 4);
	awaits__free(&a);
}

Test(awaits, merge_adds_sites_histograms_and_seqs)
{
	struct awaits a, b;

	awaits__init(&a);
	awaits__init(&b);
	awaits__wait(&a, 1, 10 * MS);
	awaits__wait(&a, 2, 3 * MS);
	awaits__add_seq(&a, (uint32_t[]){ 1, 2 }, (uint64_t[]){ 10 * MS, 3 * MS }, 2, 1);

	awaits__wait(&b, 1, 10 * MS);
	awaits__wait(&b, 1, 1 * SEC);
	awaits__wait(&b, 9, 5 * MS);
	awaits__add_seq(&b, (uint32_t[]){ 1, 2 }, (uint64_t[]){ 20 * MS, 6 * MS }, 2, 2);
	awaits__add_seq(&b, (uint32_t[]){ 1, 9 }, (uint64_t[]){ 7, 8 }, 2, 1);

	cr_assert_eq(awaits__merge(&a, &b), 0);
	cr_assert_eq(a.n_sites, 3);
	cr_expect_eq(a.sites[0].frame, 1);
	cr_expect_eq(a.sites[0].count, 3);
	cr_expect_eq(a.sites[0].total_ns, 20 * MS + 1 * SEC);
	cr_expect_eq(a.sites[0].max_ns, 1 * SEC);
	cr_expect_eq(a.sites[0].hist[26], 2, "10 ms, twice");
	cr_expect_eq(a.sites[0].hist[39], 1, "1 s");
	cr_expect_eq(a.sites[1].frame, 2);
	cr_expect_eq(a.sites[1].count, 1);
	cr_expect_eq(a.sites[2].frame, 9);
	cr_expect_eq(a.sites[2].total_ns, 5 * MS);
	cr_expect_eq(awaits__quantile(&a.sites[0], 0.5), 12288 * US);
	cr_expect_eq(awaits__quantile(&a.sites[0], 1.0), 1 * SEC);

	cr_assert_eq(a.n_seqs, 2);
	cr_expect_eq(a.seqs[0].count, 3);
	cr_expect_eq(a.seqs[0].ns[0], 30 * MS);
	cr_expect_eq(a.seqs[0].ns[1], 9 * MS);
	cr_expect_eq(a.seqs[1].frames[1], 9);
	cr_expect_eq(a.seqs[1].ns[1], 8);

	/* b is unchanged; merging into an empty one copies */
	struct awaits c;

	awaits__init(&c);
	cr_assert_eq(awaits__merge(&c, &b), 0);
	cr_expect_eq(c.n_sites, b.n_sites);
	cr_expect_eq(c.n_seqs, b.n_seqs);
	cr_expect_eq(b.sites[0].count, 2);
	cr_expect_eq(memcmp(c.sites, b.sites, b.n_sites * sizeof(*b.sites)), 0);
	awaits__free(&a);
	awaits__free(&b);
	awaits__free(&c);
}

/* ---- sort ---------------------------------------------------------------- */

Test(awaits, sort_by_total_then_count_then_frame)
{
	static const struct { uint32_t frame, count; uint64_t total; } in[] = {
		{ 8, 1, 5 * MS }, { 3, 2, 50 * MS }, { 4, 5, 50 * MS }, { 9, 1, 1 * SEC },
		{ 2, 2, 50 * MS }, { 1, 1, 5 * MS }, { 7, 3, 0 },
	};
	static const uint32_t want[] = { 9, 4, 2, 3, 1, 8, 7 };
	struct awaits a;

	awaits__init(&a);
	awaits__sort(&a);	/* empty: nothing to do */
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct await_site s = { .frame = in[i].frame, .count = in[i].count,
					.total_ns = in[i].total, .max_ns = in[i].total };

		cr_assert_eq(awaits__add_site(&a, &s), 0);
	}
	awaits__sort(&a);
	cr_assert_eq(a.n_sites, 7);
	for (uint32_t i = 0; i < 7; i++)
		cr_expect_eq(a.sites[i].frame, want[i], "site %u: frame %u, want %u", i,
			     a.sites[i].frame, want[i]);
	/* still one site per frame after sorting */
	awaits__wait(&a, 4, 1 * MS);
	cr_expect_eq(a.n_sites, 7);
	cr_expect_eq(a.sites[1].count, 6);
	awaits__free(&a);
}

/* ---- findings ------------------------------------------------------------ */

#define SVC "/srv/app/svc.py"

/* file lines 10..14 */
static const char ORDER_PAGE[] =
	"async def order_page(s):\n"
	"    user = await get_user(s)\n"
	"    await asyncio.sleep(0.1)\n"
	"    items = await get_items(s)\n"
	"    return user, items\n";

/* the same shape, each await using the one before's result */
static const char ORDER_CHAIN[] =
	"async def order_chain(s):\n"
	"    user = await get_user(s)\n"
	"    page = await get_page(user)\n"
	"    items = await get_items(page)\n"
	"    return user, items\n";

struct fx {
	struct frames *ft;
	struct source *src;
	struct rule_pack pack;
	struct awaits a;
	uint32_t f11, f12, f13;
};

static void fx_init(struct fx *x)
{
	memset(x, 0, sizeof(*x));
	x->ft = frames__new();
	x->src = source__new_recorded();
	cr_assert(x->ft && x->src);
	awaits__init(&x->a);
	x->f11 = pyframe(x->ft, "order_page", SVC, 11, 10, "user = await get_user(s)");
	x->f12 = pyframe(x->ft, "order_page", SVC, 12, 10, "await asyncio.sleep(0.1)");
	x->f13 = pyframe(x->ft, "order_page", SVC, 13, 10, "items = await get_items(s)");
	source__put_function(x->src, SVC, 10, ORDER_PAGE);
}

static void fx_free(struct fx *x)
{
	awaits__free(&x->a);
	rules__free(&x->pack);
	frames__free(x->ft);
	source__free(x->src);
}

static const uint64_t NS3[3] = { 900 * MS, 990 * MS, 870 * MS };	/* 3 calls */

static void expect_order_page(const struct await_finding *f, const struct rule *r,
			      uint32_t frame, uint32_t calls, const uint64_t *ns)
{
	cr_expect_eq(f->rule, r, "rule %s", f->rule ? f->rule->id : "-");
	cr_expect_eq(f->frame, frame);
	cr_assert_eq(f->n, 3);
	cr_expect_eq(f->lines[0], 11);
	cr_expect_eq(f->lines[1], 12);
	cr_expect_eq(f->lines[2], 13);
	cr_expect_eq(f->calls, calls);
	for (int i = 0; i < 3; i++)
		cr_expect_eq(f->ns[i], ns[i], "ns[%d] %lu, want %lu", i,
			     (unsigned long)f->ns[i], (unsigned long)ns[i]);
	cr_expect_eq(f->turn_ns, ns[0] + ns[1] + ns[2]);
	uint64_t top = ns[0] > ns[1] ? ns[0] : ns[1];

	cr_expect_eq(f->together_ns, top > ns[2] ? top : ns[2]);
	cr_expect_neq(f->evidence[0], 0, "evidence");
}

Test(awaits_match, independent_awaits_under_LS120)
{
	struct fx x;
	const struct rule *ls120;

	fx_init(&x);
	load_default(&x.pack);
	ls120 = find_rule(&x.pack, "LS120");
	cr_assert_not_null(ls120);
	cr_expect_eq(ls120->category, CAT_SEQUENTIAL_AWAIT);
	cr_expect_eq(ls120->severity, SEV_WARNING);
	cr_assert_eq(awaits__add_seq(&x.a, (uint32_t[]){ x.f11, x.f12, x.f13 }, NS3, 3, 3), 0);

	int worst = awaits__match(&x.a, &x.pack, x.ft, x.src);

	cr_expect_eq(worst, SEV_WARNING);
	cr_assert_eq(x.a.n_findings, 1);
	expect_order_page(&x.a.findings[0], ls120, x.f11, 3,
			  (const uint64_t[]){ 300 * MS, 330 * MS, 290 * MS });
	cr_expect_eq(x.a.findings[0].turn_ns, 920 * MS);
	cr_expect_eq(x.a.findings[0].together_ns, 330 * MS);
	cr_expect_str_eq(x.a.findings[0].evidence,
			 "3 awaits in turn, none using an earlier one's result");
	/* matched again: the same, not twice */
	cr_expect_eq(awaits__match(&x.a, &x.pack, x.ft, x.src), SEV_WARNING);
	cr_expect_eq(x.a.n_findings, 1);
	fx_free(&x);
}

Test(awaits_match, small_pack_one_rule)
{
	struct fx x;

	fx_init(&x);
	load_yaml(&x.pack, "rules:\n"
		  "  - id: SEQ-1\n"
		  "    name: awaits in turn\n"
		  "    category: sequential-await\n"
		  "    severity: error\n"
		  "    file_pattern: \"**/*.py\"\n");
	cr_assert_eq(x.pack.n, 1);
	cr_assert_eq(x.pack.v[0].category, CAT_SEQUENTIAL_AWAIT);
	awaits__add_seq(&x.a, (uint32_t[]){ x.f11, x.f12, x.f13 }, NS3, 3, 3);
	cr_expect_eq(awaits__match(&x.a, &x.pack, x.ft, x.src), SEV_ERROR);
	cr_assert_eq(x.a.n_findings, 1);
	expect_order_page(&x.a.findings[0], &x.pack.v[0], x.f11, 3,
			  (const uint64_t[]){ 300 * MS, 330 * MS, 290 * MS });
	fx_free(&x);
}

Test(awaits_match, file_pattern_not_matching)
{
	struct fx x;

	fx_init(&x);
	load_yaml(&x.pack, "rules:\n"
		  "  - id: SEQ-1\n"
		  "    name: awaits in turn\n"
		  "    category: sequential-await\n"
		  "    severity: error\n"
		  "    file_pattern: \"**/api/*.py\"\n");
	awaits__add_seq(&x.a, (uint32_t[]){ x.f11, x.f12, x.f13 }, NS3, 3, 3);
	cr_expect_eq(awaits__match(&x.a, &x.pack, x.ft, x.src), -1);
	cr_expect_eq(x.a.n_findings, 0);
	fx_free(&x);
}

Test(awaits_match, dependent_chain_no_finding)
{
	struct fx x;
	uint32_t c11, c12, c13;

	fx_init(&x);
	load_default(&x.pack);
	c11 = pyframe(x.ft, "order_chain", "/srv/app/chain.py", 11, 10,
		      "user = await get_user(s)");
	c12 = pyframe(x.ft, "order_chain", "/srv/app/chain.py", 12, 10,
		      "page = await get_page(user)");
	c13 = pyframe(x.ft, "order_chain", "/srv/app/chain.py", 13, 10,
		      "items = await get_items(page)");
	source__put_function(x.src, "/srv/app/chain.py", 10, ORDER_CHAIN);
	awaits__add_seq(&x.a, (uint32_t[]){ c11, c12, c13 }, NS3, 3, 3);
	cr_expect_eq(awaits__match(&x.a, &x.pack, x.ft, x.src), -1);
	cr_expect_eq(x.a.n_findings, 0);
	fx_free(&x);
}

/* A sequence that missed a wait (lines 11, 13) beside the whole one: only
 * the whole one's finding, whichever came first. */
Test(awaits_match, subset_dropped)
{
	for (int order = 0; order < 2; order++) {
		struct fx x;
		const struct rule *ls120;

		fx_init(&x);
		load_default(&x.pack);
		ls120 = find_rule(&x.pack, "LS120");
		if (order == 0)
			awaits__add_seq(&x.a, (uint32_t[]){ x.f11, x.f13 },
					(uint64_t[]){ 100 * MS, 100 * MS }, 2, 2);
		awaits__add_seq(&x.a, (uint32_t[]){ x.f11, x.f12, x.f13 }, NS3, 3, 3);
		if (order == 1)
			awaits__add_seq(&x.a, (uint32_t[]){ x.f11, x.f13 },
					(uint64_t[]){ 100 * MS, 100 * MS }, 2, 2);
		cr_expect_eq(awaits__match(&x.a, &x.pack, x.ft, x.src), SEV_WARNING);
		cr_assert_eq(x.a.n_findings, 1, "order %d", order);
		expect_order_page(&x.a.findings[0], ls120, x.f11, 3,
				  (const uint64_t[]){ 300 * MS, 330 * MS, 290 * MS });
		fx_free(&x);
	}
}

/* The [11, 13] sequence alone is a finding of its own. */
Test(awaits_match, missed_wait_alone_is_a_finding)
{
	struct fx x;

	fx_init(&x);
	load_default(&x.pack);
	awaits__add_seq(&x.a, (uint32_t[]){ x.f11, x.f13 },
			(uint64_t[]){ 100 * MS, 300 * MS }, 2, 2);
	cr_expect_eq(awaits__match(&x.a, &x.pack, x.ft, x.src), SEV_WARNING);
	cr_assert_eq(x.a.n_findings, 1);
	cr_assert_eq(x.a.findings[0].n, 2);
	cr_expect_eq(x.a.findings[0].lines[0], 11);
	cr_expect_eq(x.a.findings[0].lines[1], 13);
	cr_expect_eq(x.a.findings[0].ns[0], 50 * MS);
	cr_expect_eq(x.a.findings[0].ns[1], 150 * MS);
	cr_expect_eq(x.a.findings[0].turn_ns, 200 * MS);
	cr_expect_eq(x.a.findings[0].together_ns, 150 * MS);
	cr_expect_str_eq(x.a.findings[0].evidence,
			 "2 awaits in turn, none using an earlier one's result");
	fx_free(&x);
}

/* Sequences of other frames on the same lines (a second frame for line 12:
 * frames__intern() tells frames apart by kind, line, addr, function, file
 * and module, not by code or firstline, so another qualname): one finding,
 * the calls added, the waits the mean over all. */
Test(awaits_match, same_lines_other_frames_merged)
{
	struct fx x;
	const struct rule *ls120;
	uint32_t f12b;

	fx_init(&x);
	load_default(&x.pack);
	ls120 = find_rule(&x.pack, "LS120");
	f12b = pyframe(x.ft, "order_page.<b>", SVC, 12, 10, "await asyncio.sleep(0.1)");
	cr_assert_neq(f12b, x.f12);
	awaits__add_seq(&x.a, (uint32_t[]){ x.f11, x.f12, x.f13 }, NS3, 3, 3);
	awaits__add_seq(&x.a, (uint32_t[]){ x.f11, f12b, x.f13 },
			(uint64_t[]){ 100 * MS, 200 * MS, 300 * MS }, 3, 1);
	cr_assert_eq(x.a.n_seqs, 2);
	cr_expect_eq(awaits__match(&x.a, &x.pack, x.ft, x.src), SEV_WARNING);
	cr_assert_eq(x.a.n_findings, 1);
	/* (300 * 3 + 100) / 4, (330 * 3 + 200) / 4, (290 * 3 + 300) / 4 */
	expect_order_page(&x.a.findings[0], ls120, x.f11, 4,
			  (const uint64_t[]){ 250 * MS, 297500 * US, 292500 * US });
	cr_expect_eq(x.a.findings[0].turn_ns, 840 * MS);
	cr_expect_eq(x.a.findings[0].together_ns, 297500 * US);
	fx_free(&x);
}

/* Three sequences on the same lines, and a subset between them. */
Test(awaits_match, three_on_the_same_lines_and_a_subset)
{
	struct fx x;
	const struct rule *ls120;
	uint32_t f12b, f12c;

	fx_init(&x);
	load_default(&x.pack);
	ls120 = find_rule(&x.pack, "LS120");
	f12b = pyframe(x.ft, "order_page.<b>", SVC, 12, 10, "await asyncio.sleep(0.1)");
	f12c = pyframe(x.ft, "order_page.<c>", SVC, 12, 10, "await asyncio.sleep(0.1)");
	cr_assert(f12b != x.f12 && f12c != x.f12 && f12b != f12c);
	awaits__add_seq(&x.a, (uint32_t[]){ x.f11, x.f12, x.f13 },
			(uint64_t[]){ 10 * MS, 20 * MS, 30 * MS }, 3, 1);
	awaits__add_seq(&x.a, (uint32_t[]){ x.f11, x.f13 },
			(uint64_t[]){ 1 * SEC, 1 * SEC }, 2, 5);
	awaits__add_seq(&x.a, (uint32_t[]){ x.f11, f12b, x.f13 },
			(uint64_t[]){ 20 * MS, 40 * MS, 60 * MS }, 3, 1);
	awaits__add_seq(&x.a, (uint32_t[]){ x.f11, f12c, x.f13 },
			(uint64_t[]){ 30 * MS, 60 * MS, 90 * MS }, 3, 1);
	cr_expect_eq(awaits__match(&x.a, &x.pack, x.ft, x.src), SEV_WARNING);
	cr_assert_eq(x.a.n_findings, 1);
	expect_order_page(&x.a.findings[0], ls120, x.f11, 3,
			  (const uint64_t[]){ 20 * MS, 40 * MS, 60 * MS });
	fx_free(&x);
}

Test(awaits_match, no_source_no_finding)
{
	struct fx x;
	uint32_t g11, g12;

	fx_init(&x);
	load_default(&x.pack);
	g11 = pyframe(x.ft, "other", "/srv/app/nosrc.py", 11, 10, "a = await f()");
	g12 = pyframe(x.ft, "other", "/srv/app/nosrc.py", 12, 10, "b = await g()");
	awaits__add_seq(&x.a, (uint32_t[]){ g11, g12 }, (uint64_t[]){ 5 * MS, 5 * MS }, 2, 1);
	cr_expect_eq(awaits__match(&x.a, &x.pack, x.ft, x.src), -1);
	cr_expect_eq(x.a.n_findings, 0);
	/* no source at all */
	awaits__add_seq(&x.a, (uint32_t[]){ x.f11, x.f12, x.f13 }, NS3, 3, 3);
	cr_expect_eq(awaits__match(&x.a, &x.pack, x.ft, NULL), -1);
	cr_expect_eq(x.a.n_findings, 0);
	/* and with it: that sequence only */
	cr_expect_eq(awaits__match(&x.a, &x.pack, x.ft, x.src), SEV_WARNING);
	cr_expect_eq(x.a.n_findings, 1);
	fx_free(&x);
}

Test(awaits_match, frames_of_two_functions_not_judged)
{
	struct fx x;
	uint32_t g;

	fx_init(&x);
	load_default(&x.pack);
	g = pyframe(x.ft, "elsewhere", "/srv/app/other.py", 12, 10, "b = await g()");
	awaits__add_seq(&x.a, (uint32_t[]){ x.f11, g, x.f13 }, NS3, 3, 3);
	cr_expect_eq(awaits__match(&x.a, &x.pack, x.ft, x.src), -1);
	cr_expect_eq(x.a.n_findings, 0);
	/* an unknown frame id */
	awaits__clear(&x.a);
	awaits__add_seq(&x.a, (uint32_t[]){ x.f11, 4242 }, NS3, 2, 1);
	cr_expect_eq(awaits__match(&x.a, &x.pack, x.ft, x.src), -1);
	cr_expect_eq(x.a.n_findings, 0);
	/* no pack */
	awaits__clear(&x.a);
	awaits__add_seq(&x.a, (uint32_t[]){ x.f11, x.f12, x.f13 }, NS3, 3, 3);
	cr_expect_eq(awaits__match(&x.a, NULL, x.ft, x.src), -1);
	cr_expect_eq(x.a.n_findings, 0);
	fx_free(&x);
}

Test(awaits_match, other_categories_never_hold)
{
	struct fx x;
	struct match_frame mf = { .python = true, .user = true, .function = "order_page",
				  .file = SVC, .line = 11, .source = ORDER_PAGE,
				  .source_line = 10 };
	char why[160];
	int others = 0;

	fx_init(&x);
	load_default(&x.pack);
	for (int i = 0; i < x.pack.n; i++) {
		const struct rule *r = &x.pack.v[i];
		bool holds = match__sequence(r, &mf, 11, 13, why, sizeof(why));

		if (r->category == CAT_SEQUENTIAL_AWAIT) {
			cr_expect(holds, "%s", r->id);
			continue;
		}
		others++;
		cr_expect(!holds, "%s (%s) holds on a sequence", r->id,
			  rule_category_name(r->category));
	}
	cr_expect_gt(others, 10);
	rules__free(&x.pack);

	/* a pack of one rule without conditions, category sleep */
	load_yaml(&x.pack, "rules:\n"
		  "  - id: SLEEPY\n"
		  "    name: any sleep\n"
		  "    category: sleep\n"
		  "    severity: error\n"
		  "    file_pattern: \"**/*.py\"\n");
	cr_assert_eq(x.pack.n, 1);
	cr_expect(!match__sequence(&x.pack.v[0], &mf, 11, 13, why, sizeof(why)));
	awaits__add_seq(&x.a, (uint32_t[]){ x.f11, x.f12, x.f13 }, NS3, 3, 3);
	cr_expect_eq(awaits__match(&x.a, &x.pack, x.ft, x.src), -1);
	cr_expect_eq(x.a.n_findings, 0);
	fx_free(&x);
}

/* ---- the user's format: PERF-037 ----------------------------------------- */

/* Three bare awaits, file lines 1..5 */
static const char HANDLER[] =
	"async def handler(uid):\n"
	"    await get_user(uid)\n"
	"    await get_orders(uid)\n"
	"    await get_preferences(uid)\n"
	"    return uid\n";

Test(awaits_rules, async_rules_with_awaits_in_turn_are_sequential)
{
	struct rule_pack pack = {};
	const struct rule *r;

	/* PERF-037 as the user wrote it, and a rule naming await once */
	load_yaml(&pack, "async_rules:\n"
		  "  - id: \"PERF-037\"\n"
		  "    name: \"Parallel independent operations\"\n"
		  "    severity: warning\n"
		  "    file_pattern: \"**/*.py\"\n"
		  "    anti_patterns:\n"
		  "      - 'await\\\\s+\\\\w+\\\\([^)]*\\\\)\\\\s*\\\\n\\\\s*await\\\\s+\\\\w+"
		  "\\\\([^)]*\\\\)\\\\s*\\\\n\\\\s*await\\\\s+\\\\w+\\\\('\n"
		  "    suggested_patterns:\n"
		  "      - \"asyncio\\\\.gather|asyncio\\\\.create_task\"\n"
		  "  - id: \"ONCE-1\"\n"
		  "    name: \"await in a loop\"\n"
		  "    severity: info\n"
		  "    file_pattern: \"**/*.py\"\n"
		  "    anti_patterns:\n"
		  "      - \"for .* in .*:\\\\n\\\\s*await\\\\s\"\n"
		  "  - id: \"CAT-1\"\n"
		  "    name: \"awaits in turn, said to be sleep\"\n"
		  "    category: sleep\n"
		  "    severity: info\n"
		  "    anti_patterns:\n"
		  "      - \"await a\\\\(\\\\)\\\\n\\\\s*await b\\\\(\"\n");
	cr_assert_eq(pack.n, 3);
	r = find_rule(&pack, "PERF-037");
	cr_assert_not_null(r);
	cr_expect_eq(r->category, CAT_SEQUENTIAL_AWAIT);
	cr_expect_eq(r->severity, SEV_WARNING);
	cr_assert_eq(r->n_anti, 1);
	r = find_rule(&pack, "ONCE-1");
	cr_assert_not_null(r);
	cr_expect_eq(r->category, CAT_OTHER, "await named once");
	r = find_rule(&pack, "CAT-1");
	cr_assert_not_null(r);
	cr_expect_eq(r->category, CAT_SLEEP, "a category given stays");
	rules__free(&pack);

	/* the user's file itself */
	struct rule_diags d = {};

	cr_assert_eq(rules__load(&pack, PERF_ASYNC, &d), 0);
	r = find_rule(&pack, "PERF-037");
	cr_assert_not_null(r);
	cr_expect_eq(r->category, CAT_SEQUENTIAL_AWAIT);
	for (int i = 0; i < pack.n; i++)
		if (&pack.v[i] != r)
			cr_expect_eq(pack.v[i].category, CAT_OTHER, "%s", pack.v[i].id);
	rules__free(&pack);
	rule_diags__free(&d);
}

Test(awaits_rules, perf037_holds_from_a_line_of_the_run)
{
	struct rule_pack pack = {};
	struct rule_diags d = {};
	const struct rule *r;
	struct match_frame mf = { .python = true, .user = true, .function = "handler",
				  .file = "/srv/app/h.py", .line = 2, .source = HANDLER,
				  .source_line = 1 };
	char why[160];

	cr_assert_eq(rules__load(&pack, PERF_ASYNC, &d), 0);
	r = find_rule(&pack, "PERF-037");
	cr_assert_not_null(r);
	cr_expect(match__sequence(r, &mf, 2, 4, why, sizeof(why)));
	cr_expect(strstr(why, "line 2 matches the anti-pattern"), "%s", why);
	cr_expect(match__sequence(r, &mf, 1, 2, why, sizeof(why)), "starts at 2: in [1, 2]");
	cr_expect(match__sequence(r, &mf, 2, 2, why, sizeof(why)));
	/* the match starts at line 2: not in [3, 4], nor [1, 1], nor [5, 9] */
	cr_expect(!match__sequence(r, &mf, 3, 4, why, sizeof(why)));
	cr_expect_str_eq(why, "");
	cr_expect(!match__sequence(r, &mf, 1, 1, why, sizeof(why)));
	cr_expect(!match__sequence(r, &mf, 5, 9, why, sizeof(why)));
	/* the file pattern: no .py */
	mf.file = "/srv/app/h.pyx";
	cr_expect(!match__sequence(r, &mf, 2, 4, why, sizeof(why)));
	mf.file = "/srv/app/h.py";
	/* no source: an anti-pattern cannot hold */
	mf.source = NULL;
	cr_expect(!match__sequence(r, &mf, 2, 4, why, sizeof(why)));
	mf.source = HANDLER;
	/* two bare awaits only: no */
	mf.source = "async def handler(uid):\n"
		    "    await get_user(uid)\n"
		    "    await get_orders(uid)\n"
		    "    return uid\n";
	cr_expect(!match__sequence(r, &mf, 2, 3, why, sizeof(why)));
	rules__free(&pack);
	rule_diags__free(&d);
}

/* Four bare awaits, lines 2..5, the run the last three (3..5): the three
 * at 3..5 match the anti-pattern from line 3. */
static const char HANDLER4[] =
	"async def handler(uid):\n"
	"    await get_user(uid)\n"
	"    await get_orders(uid)\n"
	"    await get_preferences(uid)\n"
	"    await get_cart(uid)\n";

/* A match starting inside an earlier one that starts before `first` is
 * found (the search once went on from the earlier match's end). HANDLER4
 * (firstline 1), PERF-037, first 3, last 5: the leftmost match starts at
 * line 2 and ends in line 4; the one from line 3 (lines 3, 4, 5) holds. */
Test(awaits_rules, perf037_overlapping_match_from_a_later_line)
{
	struct rule_pack pack = {};
	struct rule_diags d = {};
	const struct rule *r;
	struct match_frame mf = { .python = true, .user = true, .function = "handler",
				  .file = "/srv/app/h.py", .line = 3, .source = HANDLER4,
				  .source_line = 1 };
	char why[160];

	cr_assert_eq(rules__load(&pack, PERF_ASYNC, &d), 0);
	r = find_rule(&pack, "PERF-037");
	cr_assert_not_null(r);
	cr_expect(match__sequence(r, &mf, 3, 5, why, sizeof(why)));
	cr_expect(strstr(why, "line 3 matches the anti-pattern"), "%s", why);
	rules__free(&pack);
	rule_diags__free(&d);
}

Test(awaits_rules, perf037_finding_on_bare_awaits)
{
	struct rule_pack pack = {};
	struct rule_diags d = {};
	struct frames *ft = frames__new();
	struct source *src = source__new_recorded();
	struct awaits a;
	uint32_t h2, h3, h4;
	const struct rule *r;

	cr_assert(ft && src);
	awaits__init(&a);
	cr_assert_eq(rules__load(&pack, PERF_ASYNC, &d), 0);
	r = find_rule(&pack, "PERF-037");
	h2 = pyframe(ft, "handler", "/srv/app/h.py", 2, 1, "await get_user(uid)");
	h3 = pyframe(ft, "handler", "/srv/app/h.py", 3, 1, "await get_orders(uid)");
	h4 = pyframe(ft, "handler", "/srv/app/h.py", 4, 1, "await get_preferences(uid)");
	source__put_function(src, "/srv/app/h.py", 1, HANDLER);
	awaits__add_seq(&a, (uint32_t[]){ h2, h3, h4 },
			(uint64_t[]){ 20 * MS, 40 * MS, 60 * MS }, 3, 2);
	cr_expect_eq(awaits__match(&a, &pack, ft, src), SEV_WARNING);
	cr_assert_eq(a.n_findings, 1);
	cr_expect_eq(a.findings[0].rule, r);
	cr_expect_eq(a.findings[0].n, 3);
	cr_expect_eq(a.findings[0].calls, 2);
	cr_expect_eq(a.findings[0].turn_ns, 60 * MS);
	cr_expect_eq(a.findings[0].together_ns, 30 * MS);
	cr_expect(strstr(a.findings[0].evidence, "line 2 matches the anti-pattern"), "%s",
		  a.findings[0].evidence);
	/* the last two only: the anti-pattern starts at line 2, outside */
	awaits__clear(&a);
	awaits__add_seq(&a, (uint32_t[]){ h3, h4 }, (uint64_t[]){ 40 * MS, 60 * MS }, 2, 2);
	cr_expect_eq(awaits__match(&a, &pack, ft, src), -1);
	cr_expect_eq(a.n_findings, 0);

	/* with the default pack too: LS120 and PERF-037, one finding each,
	 * the same saving: by rule id */
	struct rule_diags d2 = {};

	cr_assert_eq(rules__load_default(&pack, &d2), 0);
	awaits__clear(&a);
	awaits__add_seq(&a, (uint32_t[]){ h2, h3, h4 },
			(uint64_t[]){ 20 * MS, 40 * MS, 60 * MS }, 3, 2);
	cr_expect_eq(awaits__match(&a, &pack, ft, src), SEV_WARNING);
	cr_assert_eq(a.n_findings, 2);
	cr_expect_str_eq(a.findings[0].rule->id, "LS120");
	cr_expect_str_eq(a.findings[1].rule->id, "PERF-037");
	rule_diags__free(&d2);
	awaits__free(&a);
	rules__free(&pack);
	rule_diags__free(&d);
	frames__free(ft);
	source__free(src);
}
