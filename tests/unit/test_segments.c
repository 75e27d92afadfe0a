// SPDX-License-Identifier: MIT
/* Unit tests: report/segments.c (a stall split by call site) and the
 * stack printing helpers of report/stall.c (recursion folded, user frames
 * kept). Stalls are built by hand from interned frames: weights, the
 * recursion's entry line, the GIL holder as call site, the 20% / 25 ms
 * cut, the fold into "other", and the time adding up to the duration. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include "segments.h"

#define MS 1000000ULL

static struct frames *t;
static uint32_t F_SLEEP, F_NANOSLEEP, F_LOGIN_SLEEP, F_LOGIN_HASH, F_PBKDF2, F_MAIN,
	F_FIB, F_FIB_BASE, F_HANDLER_FIB, F_LIB, F_FUTEX, F_TAKE_GIL, F_WORKER, F_RUN,
	F_LIB_FIB_CALLER;

static uint32_t py(const char *fn, const char *file, int line, bool user, const char *code)
{
	struct frame f = { .kind = FRAME_PYTHON, .user = user, .function = (char *)fn,
			   .file = (char *)file, .line = line, .code = (char *)code };
	uint32_t id = frames__intern(t, &f);

	cr_assert_neq(id, UINT32_MAX);
	return id;
}

static uint32_t nat(const char *fn)
{
	struct frame f = { .kind = FRAME_NATIVE, .function = (char *)fn,
			   .module = "/usr/lib/x86_64-linux-gnu/libc.so.6" };
	uint32_t id = frames__intern(t, &f);

	cr_assert_neq(id, UINT32_MAX);
	return id;
}

static void setup(void)
{
	t = frames__new();
	cr_assert_not_null(t);
	F_NANOSLEEP = nat("clock_nanosleep");
	F_SLEEP = nat("time_sleep");
	F_PBKDF2 = nat("pbkdf2_hmac");
	F_FUTEX = nat("futex_wait");
	F_TAKE_GIL = nat("take_gil");
	F_LOGIN_SLEEP = py("login", "/app/stally.py", 43, true, "time.sleep(0.1)");
	F_LOGIN_HASH = py("login", "/app/stally.py", 52, true,
			  "d = hashlib.pbkdf2_hmac(\"sha256\", pw, salt, n)");
	F_MAIN = py("main", "/app/stally.py", 90, true, "await login()");
	F_FIB_BASE = py("fib", "/app/app.py", 65, true, "if n < 2:");
	F_FIB = py("fib", "/app/app.py", 66, true, "return fib(n - 1) + fib(n - 2)");
	F_HANDLER_FIB = py("handler", "/app/app.py", 70, true, "return {\"n\": fib(31)}");
	F_LIB = py("Runner.run", "/usr/lib/python3.11/asyncio/runners.py", 118, false, NULL);
	F_LIB_FIB_CALLER = py("map_all", "/usr/lib/python3/dist-packages/lib.py", 9, false,
			      NULL);
	F_WORKER = py("warm", "/app/cache.py", 12, true, "total += x * x");
	F_RUN = py("Thread.run", "/usr/lib/python3.11/threading.py", 975, false, NULL);
}

static void teardown(void)
{
	frames__free(t);
}

TestSuite(segments, .init = setup, .fini = teardown);

static struct stall *mk(uint64_t dur_ms)
{
	struct stall *st = calloc(1, sizeof(*st));

	cr_assert_not_null(st);
	st->duration_ns = dur_ms * MS;
	return st;
}

/* A stack of n frames (innermost first) weighing ms. */
static void stack(struct stall *st, bool on_cpu, int32_t nr, double ms, int n, ...)
{
	struct stack_count *sc;
	va_list ap;

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
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		sc->frames[i] = va_arg(ap, uint32_t);
	va_end(ap);
}

static uint64_t sum(const struct stall *st)
{
	uint64_t ns = st->unsampled_ns;

	for (uint32_t i = 0; i < st->n_segments; i++)
		ns += st->segments[i].ns;
	return ns;
}

/* /login: 100 ms in time.sleep at :43, 43 ms of pbkdf2 at :52 (on-CPU
 * samples of a 5 ms period), the rest unsampled. */
Test(segments, two_causes_by_line_with_their_time)
{
	struct stall *st = mk(153);

	stack(st, false, SYS_clock_nanosleep, 100.2, 4, F_NANOSLEEP, F_SLEEP, F_LOGIN_SLEEP,
	      F_MAIN);
	for (int i = 0; i < 8; i++)
		stack(st, true, -1, 5.025, 3, F_PBKDF2, F_LOGIN_HASH, F_MAIN);
	cr_assert_eq(segments__build(st, t), 0);
	cr_assert_eq(st->n_segments, 2);
	cr_expect_eq(st->segments[0].site, F_LOGIN_SLEEP);
	cr_expect_eq(st->segments[0].ns, 100200 * 1000);
	cr_expect_eq(st->segments[0].off_ns, 100200 * 1000);
	cr_expect_eq(st->segments[1].site, F_LOGIN_HASH);
	cr_expect_eq(st->segments[1].ns, 8 * 5025 * 1000);
	cr_expect_eq(st->segments[1].on_ns, 8 * 5025 * 1000);
	cr_expect_eq(st->segments[1].n_stacks, 8);
	cr_expect_eq(st->unsampled_ns, 153 * MS - 100200 * 1000 - 8 * 5025 * 1000);
	cr_expect_eq(sum(st), st->duration_ns, "segments and unsampled add up");
	stall__free(st);
}

Test(segments, what_is_the_first_call_of_the_line)
{
	struct stall *st = mk(153);
	char buf[64];

	stack(st, false, SYS_clock_nanosleep, 100, 3, F_NANOSLEEP, F_LOGIN_SLEEP, F_MAIN);
	stack(st, true, -1, 45, 2, F_PBKDF2, F_LOGIN_HASH);
	cr_assert_eq(segments__build(st, t), 0);
	cr_expect_str_eq(segments__what(st, 0, t, buf, sizeof(buf)), "time.sleep");
	cr_expect_str_eq(segments__what(st, 1, t, buf, sizeof(buf)), "hashlib.pbkdf2_hmac");
	stall__free(st);
}

/* More time in samples than the stall lasted: the on-CPU estimates give
 * way, the exact off-CPU intervals stay. */
Test(segments, overweight_on_cpu_is_scaled_to_fit)
{
	struct stall *st = mk(150);

	stack(st, false, SYS_clock_nanosleep, 100, 2, F_NANOSLEEP, F_LOGIN_SLEEP);
	stack(st, true, -1, 60, 2, F_PBKDF2, F_LOGIN_HASH);
	cr_assert_eq(segments__build(st, t), 0);
	cr_expect_eq(st->segments[0].ns, 100 * MS);
	cr_expect_eq(st->segments[1].ns, 50 * MS);
	cr_expect_eq(st->unsampled_ns, 0);
	cr_expect_eq(sum(st), st->duration_ns);
	stall__free(st);
}

/* Fewer on-CPU ticks than the stall's on-CPU time (none in its first
 * tenth of the threshold, fewer when preempted): the on-CPU estimates
 * grow to that exact time, by line in their proportions, never past what
 * the off-CPU samples leave of the stall; with no on-CPU sample it stays
 * unsampled. */
Test(segments, short_on_cpu_is_scaled_to_the_on_cpu_time)
{
	struct stall *st = mk(153);

	st->on_cpu_ns = 52800 * 1000;
	stack(st, false, SYS_clock_nanosleep, 100.2, 3, F_NANOSLEEP, F_LOGIN_SLEEP, F_MAIN);
	for (int i = 0; i < 6; i++)
		stack(st, true, -1, 5.025, 3, F_PBKDF2, F_LOGIN_HASH, F_MAIN);
	stack(st, true, -1, 5.025, 1, F_WORKER);
	stack(st, true, -1, 5.025, 1, F_WORKER);
	cr_assert_eq(segments__build(st, t), 0);
	cr_assert_eq(st->n_segments, 3);
	cr_expect_eq(st->segments[0].ns, 100200 * 1000, "off-CPU: exact already");
	cr_expect_eq(st->segments[1].site, F_LOGIN_HASH);
	cr_expect_eq(st->segments[1].ns, 39600 * 1000, "6/8 of 52.8 ms");
	cr_expect_eq(st->segments[2].ns, 13200 * 1000);
	cr_expect_eq(st->unsampled_ns, 0);
	cr_expect_eq(sum(st), st->duration_ns);
	stall__free(st);

	st = mk(153);		/* the sleep's sample lost: its time stays unsampled */
	st->on_cpu_ns = 52800 * 1000;
	for (int i = 0; i < 8; i++)
		stack(st, true, -1, 5.025, 3, F_PBKDF2, F_LOGIN_HASH, F_MAIN);
	cr_assert_eq(segments__build(st, t), 0);
	cr_expect_eq(st->segments[0].ns, 52800 * 1000);
	cr_expect_eq(st->unsampled_ns, 100200 * 1000);
	stall__free(st);

	st = mk(153);		/* more on-CPU time than the off-CPU samples leave */
	st->on_cpu_ns = 60 * MS;
	stack(st, false, SYS_clock_nanosleep, 100.2, 3, F_NANOSLEEP, F_LOGIN_SLEEP, F_MAIN);
	stack(st, true, -1, 40, 3, F_PBKDF2, F_LOGIN_HASH, F_MAIN);
	cr_assert_eq(segments__build(st, t), 0);
	cr_expect_eq(st->segments[1].ns, 52800 * 1000);
	cr_expect_eq(st->unsampled_ns, 0);
	stall__free(st);

	st = mk(153);		/* on the CPU, never sampled there: unsampled */
	st->on_cpu_ns = 3 * MS;
	stack(st, false, SYS_clock_nanosleep, 150, 3, F_NANOSLEEP, F_LOGIN_SLEEP, F_MAIN);
	cr_assert_eq(segments__build(st, t), 0);
	cr_expect_eq(st->segments[0].ns, 150 * MS);
	cr_expect_eq(st->unsampled_ns, 3 * MS);
	stall__free(st);
}

/* fib recursing 22 deep under a handler: the line to change is the
 * handler's fib(31), whatever line of fib each sample caught. */
Test(segments, recursion_is_charged_to_the_line_that_entered_it)
{
	struct stall *st = mk(300);
	uint32_t ids[24];

	ids[0] = F_FIB_BASE;
	for (int i = 1; i < 22; i++)
		ids[i] = F_FIB;
	ids[22] = F_HANDLER_FIB;
	ids[23] = F_LIB;
	stack(st, true, -1, 150, 0);
	free(st->stacks[0].frames);	/* stack()'s of no frames */
	st->stacks[0].frames = malloc(sizeof(ids));
	memcpy(st->stacks[0].frames, ids, sizeof(ids));
	st->stacks[0].n_frames = 24;
	stack(st, true, -1, 140, 4, F_FIB, F_FIB, F_HANDLER_FIB, F_LIB);
	cr_assert_eq(segments__site(ids, 24, t), F_HANDLER_FIB);
	cr_assert_eq(segments__build(st, t), 0);
	cr_assert_eq(st->n_segments, 1);
	cr_expect_eq(st->segments[0].site, F_HANDLER_FIB);
	cr_expect_eq(st->segments[0].ns, 290 * MS);
	/* a call the recursion makes (a sleep at its bottom) keeps its line */
	cr_expect_eq(segments__site((uint32_t[]){ F_NANOSLEEP, F_FIB_BASE, F_FIB,
						   F_HANDLER_FIB }, 4, t), F_FIB_BASE);
	/* no recursion: the innermost user frame itself */
	cr_expect_eq(segments__site((uint32_t[]){ F_FIB, F_HANDLER_FIB }, 2, t), F_FIB);
	/* entered from a library: the outermost call of the recursion */
	cr_expect_eq(segments__site((uint32_t[]){ F_FIB_BASE, F_FIB, F_LIB_FIB_CALLER }, 3, t),
		     F_FIB);
	/* no user frame: the innermost Python one; no Python: the innermost */
	cr_expect_eq(segments__site((uint32_t[]){ F_NANOSLEEP, F_LIB }, 2, t), F_LIB);
	cr_expect_eq(segments__site((uint32_t[]){ F_NANOSLEEP, F_SLEEP }, 2, t), F_NANOSLEEP);
	cr_expect_eq(segments__site(NULL, 0, t), UINT32_MAX);
	stall__free(st);
}

/* The loop waiting for the GIL: the code to change is the holder's. */
Test(segments, a_gil_wait_is_charged_to_the_holder)
{
	struct stall *st = mk(300);
	uint32_t holder[] = { F_WORKER, F_RUN };

	stack(st, false, SYS_futex, 280, 4, F_FUTEX, F_TAKE_GIL, F_LOGIN_SLEEP, F_MAIN);
	st->gil_tid = 77;
	st->n_gil_frames = 2;
	st->gil_frames = malloc(sizeof(holder));
	memcpy(st->gil_frames, holder, sizeof(holder));
	cr_assert(segments__gil_wait(&st->stacks[0], t));
	cr_assert_eq(segments__build(st, t), 0);
	cr_assert_eq(st->n_segments, 1);
	cr_expect(st->segments[0].gil);
	cr_expect_eq(st->segments[0].site, F_WORKER);
	cr_expect_eq(st->segments[0].loop_site, F_LOGIN_SLEEP);
	stall__free(st);
}

/* Own findings: >= 20% or >= 25 ms, the largest always, 5 at most; the
 * rest folded into one "other" after them. */
Test(segments, small_call_sites_fold_into_other)
{
	struct stall *st = mk(1000);
	uint32_t site[8];
	char file[8][32];

	for (int i = 0; i < 8; i++) {
		snprintf(file[i], sizeof(file[i]), "/app/m%d.py", i);
		site[i] = py("f", file[i], 10 + i, true, NULL);
	}
	/* 300, 100, 30, 26, 24 (under 25 ms and 20%), 10, 10, 5 */
	stack(st, true, -1, 300, 1, site[0]);
	stack(st, true, -1, 100, 1, site[1]);
	stack(st, true, -1, 30, 1, site[2]);
	stack(st, true, -1, 26, 1, site[3]);
	stack(st, true, -1, 24, 1, site[4]);
	stack(st, true, -1, 10, 1, site[5]);
	stack(st, true, -1, 10, 1, site[6]);
	stack(st, true, -1, 5, 1, site[7]);
	cr_assert_eq(segments__build(st, t), 0);
	cr_assert_eq(st->n_segments, 5);
	for (int i = 0; i < 4; i++) {
		cr_expect_eq(st->segments[i].site, site[i]);
		cr_expect_not(st->segments[i].other);
	}
	cr_expect(st->segments[4].other);
	cr_expect_eq(st->segments[4].ns, 49 * MS);
	cr_expect_eq(st->segments[4].n_stacks, 4);
	cr_expect_eq(st->unsampled_ns, 495 * MS);
	cr_expect_eq(sum(st), st->duration_ns);
	stall__free(st);
}

Test(segments, the_largest_owns_its_time_even_when_small_and_six_is_too_many)
{
	struct stall *st = mk(2000);
	uint32_t site[7];
	char file[7][32];

	stack(st, true, -1, 10, 1, F_LOGIN_HASH);	/* 0.5%: still the largest */
	cr_assert_eq(segments__build(st, t), 0);
	cr_assert_eq(st->n_segments, 1);
	cr_expect_not(st->segments[0].other);
	stall__free(st);

	st = mk(2000);
	for (int i = 0; i < 7; i++) {
		snprintf(file[i], sizeof(file[i]), "/app/n%d.py", i);
		site[i] = py("g", file[i], 5, true, NULL);
		stack(st, true, -1, 200 - i, 1, site[i]);
	}
	cr_assert_eq(segments__build(st, t), 0);
	cr_assert_eq(st->n_segments, SEG_MAX_OWN + 1);
	cr_expect(st->segments[SEG_MAX_OWN].other);
	cr_expect_eq(st->segments[SEG_MAX_OWN].ns, (195 + 194) * MS);
	stall__free(st);
}

Test(segments, no_sample_no_segment)
{
	struct stall *st = mk(60);

	cr_assert_eq(segments__build(st, t), 0);
	cr_expect_eq(st->n_segments, 0);
	cr_expect_eq(st->unsampled_ns, 60 * MS, "all of it unsampled");
	stall__free(st);
}

Test(segments, recursion_is_folded_for_printing)
{
	uint32_t ids[] = { F_FIB_BASE, F_FIB, F_FIB, F_FIB, F_HANDLER_FIB, F_FIB };
	uint32_t idx[] = { 0, 1, 2, 3, 4, 5 }, reps[6];
	int n = stack__fold_runs(ids, idx, reps, 6);

	cr_assert_eq(n, 4);
	cr_expect_eq(idx[1], 1);
	cr_expect_eq(reps[1], 3);
	cr_expect_eq(reps[0], 1);
	cr_expect_eq(idx[2], 4);
	cr_expect_eq(idx[3], 5);
}

/* A deep stack cut to 6 lines: library frames in the middle go, the
 * innermost and every user frame stay. */
Test(segments, printed_stacks_keep_every_user_frame)
{
	struct stall *st = mk(100);
	struct stack_line lines[LS_MAX_STACK];
	uint32_t ids[23];
	char file[20][48];
	int n, users = 0, elided = 0;

	ids[0] = F_NANOSLEEP;
	for (int i = 0; i < 20; i++) {
		snprintf(file[i], sizeof(file[i]), "/usr/lib/python3/dist-packages/l%d.py", i);
		ids[1 + i] = py("lib", file[i], i + 1, false, NULL);
	}
	ids[21] = F_LOGIN_SLEEP;
	ids[22] = F_MAIN;
	stack(st, false, SYS_clock_nanosleep, 100, 0);
	free(st->stacks[0].frames);	/* stack()'s of no frames */
	st->stacks[0].frames = malloc(sizeof(ids));
	memcpy(st->stacks[0].frames, ids, sizeof(ids));
	st->stacks[0].n_frames = 23;
	n = stack__lines(&st->stacks[0], t, true, 6, lines);
	for (int i = 0; i < n; i++) {
		if (lines[i].elided) {
			elided += lines[i].elided;
			continue;
		}
		users += st->stacks[0].frames[lines[i].idx] == F_LOGIN_SLEEP ||
			 st->stacks[0].frames[lines[i].idx] == F_MAIN;
	}
	cr_expect_eq(users, 2, "user frames are never cut");
	cr_expect_eq(lines[0].idx, 0, "the innermost frame stays");
	cr_expect_leq(n, 6);
	cr_expect_eq(n - 1 + elided, 23, "every frame shown or counted");
	stall__free(st);
}
