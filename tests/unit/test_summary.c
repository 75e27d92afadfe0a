// SPDX-License-Identifier: MIT
/* Unit tests: the one summary of stalls (report/summary.c) that attach and
 * report both print from: findings with equal rule and call site merged,
 * groups, loops and categories in their stated orders whatever order the
 * stalls came in, ties broken by the stated keys, the worst stall of each
 * group, percentiles, and the worst severity for --fail-on. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "summary.h"

#define MS 1000000ULL

static struct rule R_HTTP = { .id = "LS001", .name = "http", .category = CAT_HTTP,
			      .severity = SEV_ERROR };
static struct rule R_TIMEOUT = { .id = "LS010", .name = "timeout", .category = CAT_TIMEOUT,
				 .severity = SEV_WARNING };
static struct rule R_SLEEP = { .id = "LS020", .name = "sleep", .category = CAT_SLEEP,
			       .severity = SEV_ERROR };
static struct rule R_INFO = { .id = "LS099", .name = "info", .category = CAT_OTHER,
			      .severity = SEV_INFO };

struct spec {
	const struct rule *rule;
	const char *file, *function;
	int line;
};

/* A stall of tid lasting ms, with findings as given (up to 3). */
static struct stall *mk(uint32_t tid, uint64_t ms, const struct spec *f, int n)
{
	struct stall *st = calloc(1, sizeof(*st));

	cr_assert_not_null(st);
	st->tid = tid;
	snprintf(st->thread, sizeof(st->thread), "loop-%u", tid);
	st->duration_ns = ms * MS;
	st->findings = calloc(n ? n : 1, sizeof(*st->findings));
	st->n_findings = n;
	for (int i = 0; i < n; i++) {
		st->findings[i].rule = f[i].rule;
		st->findings[i].file = f[i].file ? strdup(f[i].file) : NULL;
		st->findings[i].function = f[i].function ? strdup(f[i].function) : NULL;
		st->findings[i].line = f[i].line;
		st->findings[i].ns = st->duration_ns;	/* one cause: all of it */
		st->findings[i].share = 1;
	}
	return st;
}

static void add_all(struct summary *s, struct stall **v, int n)
{
	summary__init(s);
	for (int i = 0; i < n; i++)
		cr_assert_eq(summary__add(s, v[i]), 0);
	cr_assert_eq(summary__finish(s), 0);
}

static void free_all(struct stall **v, int n)
{
	for (int i = 0; i < n; i++)
		stall__free(v[i]);
}

Test(summary, equal_call_sites_merge)
{
	struct spec a = { &R_HTTP, "/app/h.py", "get_user", 41 };
	struct spec b = { &R_HTTP, "/app/h.py", "get_user_again", 41 };	/* same site */
	struct spec c = { &R_HTTP, "/app/h.py", "get_user", 42 };	/* another line */
	struct spec d = { &R_TIMEOUT, "/app/h.py", "get_user", 41 };	/* another rule */
	struct stall *v[] = { mk(1, 100, &a, 1), mk(1, 300, &b, 1), mk(1, 200, &c, 1),
			      mk(1, 50, &d, 1) };
	struct summary s;

	add_all(&s, v, 4);
	cr_assert_eq(s.n_groups, 3);
	/* LS001 line 41: 400 ms in two, first seen's function and site kept */
	cr_assert_eq(s.groups[0].rule, &R_HTTP);
	cr_assert_eq(s.groups[0].line, 41);
	cr_assert_eq(s.groups[0].count, 2);
	cr_assert_eq(s.groups[0].total_ns, 400 * MS);
	cr_assert_eq(s.groups[0].worst_ns, 300 * MS);
	cr_assert_str_eq(s.groups[0].function, "get_user");
	cr_assert_eq(s.groups[0].worst_stall, 1);
	cr_assert_eq(s.groups[1].line, 42);
	cr_assert_eq(s.groups[2].rule, &R_TIMEOUT);
	cr_assert_eq(s.stalls, 4);
	cr_assert_eq(s.stalled_ns, 650 * MS);
	cr_assert_eq(s.worst_severity, SEV_ERROR);
	summary__free(&s);
	free_all(v, 4);
}

Test(summary, groups_owned_not_borrowed)
{
	struct spec a = { &R_SLEEP, "/app/x.py", "f", 7 };
	struct stall *st = mk(1, 100, &a, 1);
	struct summary s;

	summary__init(&s);
	cr_assert_eq(summary__add(&s, st), 0);
	stall__free(st);		/* attach frees each stall once counted */
	cr_assert_eq(summary__finish(&s), 0);
	cr_assert_str_eq(s.groups[0].file, "/app/x.py");
	cr_assert_str_eq(s.groups[0].function, "f");
	summary__free(&s);
}

/* Groups of equal total time: count, then severity (descending), then rule
 * id, file, line (ascending); the same order whatever order they came in. */
Test(summary, ties_sorted_by_stated_key)
{
	struct spec one[] = {
		{ &R_SLEEP, "/b.py", "f", 1 },		/* 100 ms, 1 stall, error */
		{ &R_TIMEOUT, "/a.py", "f", 9 },	/* 100 ms, 1 stall, warning */
		{ &R_HTTP, "/c.py", "f", 5 },		/* 100 ms, 1 stall, error */
		{ &R_HTTP, "/a.py", "f", 5 },		/* 100 ms, 1 stall, error */
		{ &R_HTTP, "/a.py", "f", 3 },		/* 100 ms, 1 stall, error */
	};
	struct spec two = { &R_INFO, "/z.py", "f", 1 };	/* 100 ms in 2 stalls */
	const char *want[][2] = { { "LS099", "/z.py" }, { "LS001", "/a.py" },
				  { "LS001", "/a.py" }, { "LS001", "/c.py" },
				  { "LS020", "/b.py" }, { "LS010", "/a.py" } };
	const int want_line[] = { 1, 3, 5, 5, 1, 9 };

	for (int order = 0; order < 2; order++) {
		struct stall *v[7];
		struct summary s;
		int n = 0;

		for (int i = 0; i < 5; i++)
			v[n++] = mk(1, 100, &one[order ? 4 - i : i], 1);
		v[n++] = mk(1, 50, &two, 1);
		v[n++] = mk(1, 50, &two, 1);
		add_all(&s, v, n);
		cr_assert_eq(s.n_groups, 6);
		for (int i = 0; i < 6; i++) {
			cr_expect_str_eq(s.groups[i].rule->id, want[i][0], "order %d, #%d", order, i);
			cr_expect_str_eq(s.groups[i].file, want[i][1], "order %d, #%d", order, i);
			cr_expect_eq(s.groups[i].line, want_line[i], "order %d, #%d", order, i);
		}
		cr_assert_eq(s.sev_count[SEV_ERROR], 4);
		cr_assert_eq(s.sev_count[SEV_WARNING], 1);
		cr_assert_eq(s.sev_count[SEV_INFO], 1);
		summary__free(&s);
		free_all(v, n);
	}
}

/* The worst stall of a group is the first of the longest. */
Test(summary, worst_is_first_of_longest)
{
	struct spec a[] = { { &R_TIMEOUT, "/a.py", "f", 1 }, { &R_HTTP, "/a.py", "f", 1 } };
	struct stall *v[] = { mk(1, 100, &a[1], 1), mk(1, 200, a, 2), mk(1, 200, a, 2) };
	struct summary s;

	add_all(&s, v, 3);
	cr_assert_eq(s.groups[0].rule, &R_HTTP);
	cr_assert_eq(s.groups[0].worst_stall, 1);
	cr_assert_eq(s.groups[0].worst_finding, 1);
	cr_assert_eq(s.groups[1].rule, &R_TIMEOUT);
	cr_assert_eq(s.groups[1].worst_stall, 1);
	cr_assert_eq(s.groups[1].worst_finding, 0);
	summary__free(&s);
	free_all(v, 3);
}

/* Loops: stalled time descending, then TID; categories by the primary
 * (most severe) finding, "no finding" last whatever its time. */
Test(summary, loops_and_categories)
{
	struct spec both[] = { { &R_TIMEOUT, "/a.py", "f", 1 }, { &R_HTTP, "/a.py", "f", 1 } };
	struct spec sleep = { &R_SLEEP, "/a.py", "f", 2 };
	struct stall *v[] = { mk(30, 100, NULL, 0), mk(20, 100, both, 2), mk(10, 100, &sleep, 1),
			      mk(30, 900, NULL, 0), mk(20, 50, &sleep, 1) };
	struct summary s;

	add_all(&s, v, 5);
	cr_assert_eq(s.n_loops, 3);
	cr_assert_eq(s.loops[0].tid, 30);
	cr_assert_eq(s.loops[0].stalls, 2);
	cr_assert_eq(s.loops[0].worst_ns, 900 * MS);
	cr_assert_str_eq(s.loops[0].thread, "loop-30");
	cr_assert_eq(s.loops[1].tid, 20);	/* 150 ms */
	cr_assert_eq(s.loops[2].tid, 10);	/* 100 ms */
	cr_assert_eq(summary__loop(&s, 0, 20), &s.loops[1]);
	cr_assert_eq(summary__loop(&s, 0, 99)->stalls, 0);
	cr_assert_eq(summary__loop(&s, 7, 20)->stalls, 0);	/* another process's */
	cr_assert_eq(s.n_cats, 3);
	cr_assert_eq(s.cats[0].category, CAT_SLEEP);	/* 150 ms */
	cr_assert_eq(s.cats[0].stalls, 2);
	cr_assert_eq(s.cats[1].category, CAT_HTTP);	/* the error, not the warning */
	cr_assert_eq(s.cats[2].category, -1);		/* 1 s, still last */
	cr_assert_eq(s.cats[2].ns, 1000 * MS);
	summary__free(&s);
	free_all(v, 5);
}

/* Processes: a loop is its PID and TID (a TID again in another process
 * is another loop); each process's stalls add up, largest first, then
 * by PID; its title is the one of its first stall. */
Test(summary, processes_and_their_loops)
{
	struct stall *v[] = { mk(10, 100, NULL, 0), mk(10, 300, NULL, 0), mk(11, 50, NULL, 0),
			      mk(20, 200, NULL, 0) };
	struct summary s;

	v[0]->pid = v[1]->pid = 900;		/* TID 10 in two processes */
	v[2]->pid = 800;
	v[3]->pid = 800;
	strcpy(v[0]->process, "worker a");
	strcpy(v[1]->process, "renamed");
	strcpy(v[2]->process, "worker b");
	v[1]->pid = 700;
	add_all(&s, v, 4);
	cr_assert_eq(s.n_loops, 4);
	cr_assert_eq(summary__loop(&s, 900, 10)->stalls, 1);
	cr_assert_eq(summary__loop(&s, 700, 10)->stalled_ns, 300 * MS);
	cr_assert_eq(s.n_procs, 3);
	cr_assert_eq(s.procs[0].pid, 700);	/* 300 ms */
	cr_assert_eq(s.procs[1].pid, 800);	/* 250 ms */
	cr_assert_eq(s.procs[1].stalls, 2);
	cr_assert_eq(s.procs[1].worst_ns, 200 * MS);
	cr_assert_str_eq(s.procs[1].process, "worker b");
	cr_assert_eq(s.procs[2].pid, 900);
	cr_assert_str_eq(summary__proc(&s, 700)->process, "renamed");
	cr_assert_eq(summary__proc(&s, 1)->stalls, 0);
	summary__free(&s);
	free_all(v, 4);
}

Test(summary, percentiles_and_finish_again)
{
	struct stall *v[10];
	struct summary s;

	for (int i = 0; i < 10; i++)
		v[i] = mk(1, 10 * (10 - i), NULL, 0);	/* 100, 90, ... 10 ms */
	add_all(&s, v, 10);
	cr_assert_eq(s.p50_ns, 50 * MS);
	cr_assert_eq(s.p95_ns, 100 * MS);
	cr_assert_eq(s.max_ns, 100 * MS);
	cr_assert_eq(s.worst_severity, -1);
	cr_assert_eq(s.n_groups, 0);
	/* more stalls after a finish: counted, orders and figures redone */
	cr_assert_eq(summary__add(&s, v[0]), 0);
	cr_assert_eq(summary__finish(&s), 0);
	cr_assert_eq(s.stalls, 11);
	cr_assert_eq(s.n_cats, 1);
	cr_assert_eq(s.cats[0].stalls, 11);
	summary__free(&s);
	free_all(v, 10);
}

Test(summary, empty)
{
	struct summary s;

	summary__init(&s);
	cr_assert_eq(summary__finish(&s), 0);
	cr_assert_eq(s.stalls, 0);
	cr_assert_eq(s.max_ns, 0);
	cr_assert_eq(s.p99_ns, 0);
	cr_assert_eq(s.n_cats, 0);
	summary__free(&s);
}

Test(summary, percentile_nearest_rank)
{
	const uint64_t v[] = { 1, 2, 3, 4 };

	cr_assert_eq(summary__percentile(v, 4, 50), 2);
	cr_assert_eq(summary__percentile(v, 4, 51), 3);
	cr_assert_eq(summary__percentile(v, 4, 100), 4);
	cr_assert_eq(summary__percentile(v, 4, 0), 1);
	cr_assert_eq(summary__percentile(v, 0, 50), 0);
}
