// SPDX-License-Identifier: MIT
/* Unit tests: report/findings.c, a stall through the rules: each part
 * as the matcher sees it, with its time as segments.c fitted it. Stalls
 * are built by hand from interned frames; no pack (the built-in LS000
 * speaks, its evidence says the part's on-CPU share). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include "findings.h"
#include "source.h"

#define MS 1000000ULL

static struct frames *t;
static struct source *src;
static uint32_t F_FUTEX, F_WARM;

static void setup(void)
{
	struct frame futex = { .kind = FRAME_NATIVE, .function = "futex_wait",
			       .module = "/usr/lib/x86_64-linux-gnu/libc.so.6" };
	struct frame warm = { .kind = FRAME_PYTHON, .user = true, .function = "warm",
			      .file = "/app/cache.py", .line = 12,
			      .code = "total += x * x" };

	t = frames__new();
	src = source__new_recorded();
	cr_assert(t && src);
	F_FUTEX = frames__intern(t, &futex);
	F_WARM = frames__intern(t, &warm);
	cr_assert(F_FUTEX != UINT32_MAX && F_WARM != UINT32_MAX);
}

static void teardown(void)
{
	source__free(src);
	frames__free(t);
}

TestSuite(findings, .init = setup, .fini = teardown);

/* A stack of n frames (innermost first) weighing ms. */
static void stack(struct stall *st, bool on_cpu, int32_t nr, double ms, int n,
		  const uint32_t *ids)
{
	struct stack_count *sc;

	st->stacks = realloc(st->stacks, (st->n_stacks + 1) * sizeof(*st->stacks));
	cr_assert_not_null(st->stacks);
	sc = &st->stacks[st->n_stacks++];
	memset(sc, 0, sizeof(*sc));
	sc->kind = on_cpu ? LS_SAMPLE_ONCPU : LS_SAMPLE_OFFCPU;
	sc->nr = nr;
	sc->fd_kind = -1;
	sc->count = 1;
	sc->weight_ns = (uint64_t)(ms * MS);
	sc->n_frames = n;
	sc->frames = malloc(n * sizeof(*sc->frames));
	cr_assert_not_null(sc->frames);
	memcpy(sc->frames, ids, n * sizeof(*ids));
}

/* Two on-CPU ticks for 60 ms on the CPU (a thread preempted often), and a
 * 10 ms wait: fit() scales the ticks up to 60 ms, and the rules see the
 * part so, its stacks weighted alike: 86% on-CPU, not 300% (60 ms of
 * on-CPU time among 20 ms of samples), and the finding all of its 70 ms. */
Test(findings, the_rules_see_a_part_scaled_as_its_time)
{
	struct stall *st = calloc(1, sizeof(*st));
	const uint32_t waits[] = { F_FUTEX, F_WARM }, runs[] = { F_WARM };

	cr_assert_not_null(st);
	st->duration_ns = 70 * MS;
	st->on_cpu_ns = 60 * MS;
	st->off_cpu_ns = 10 * MS;
	stack(st, false, SYS_futex, 10, 2, waits);
	stack(st, true, -1, 5.025, 1, runs);
	stack(st, true, -1, 5.025, 1, runs);
	cr_assert_eq(findings__match(NULL, st, t, src), 0);
	cr_assert_eq(st->n_segments, 1);
	cr_expect_eq(st->segments[0].on_ns, 60 * MS);
	cr_assert_eq(st->n_findings, 1);
	cr_expect_str_eq(st->findings[0].rule->id, "LS000");
	cr_expect_eq(st->findings[0].ns, 70 * MS);
	cr_expect(strstr(st->findings[0].evidence, "on-CPU 86%"), "%s",
		  st->findings[0].evidence);
	stall__free(st);
}
