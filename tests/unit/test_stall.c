// SPDX-License-Identifier: MIT
/* Unit tests: probe/assembler.c (the stall assembler). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include "stack.h"
#include "assembler.h"

#define MS 1000000ULL
#define SEC 1000000000ULL
#define PID 100
#define TID 101

static struct assembler a;
static struct ls_sample *smp;	/* ~11 KB: on the heap, reused */
static uint64_t sample_ts;	/* ts of the samples add() makes */

static void setup(void)
{
	assembler__init(&a, 64);
	smp = calloc(1, sizeof(*smp));
	cr_assert_not_null(smp);
}

static void teardown(void)
{
	assembler__free(&a);
	free(smp);
}

TestSuite(stall, .init = setup, .fini = teardown);

/* Fill smp as a sample of (tid, seq) would arrive from BPF. */
static void sample_of(uint32_t tid, uint64_t seq, uint32_t kind, int32_t nr,
		      uint64_t weight_ns)
{

	memset(smp, 0, sizeof(*smp));
	smp->hdr.type = LS_EV_SAMPLE;
	smp->hdr.size = sizeof(*smp);
	smp->hdr.pid = PID;
	smp->hdr.tid = tid;
	smp->hdr.seq = seq;
	smp->ts = sample_ts;
	smp->kind = kind;
	smp->nr = nr;
	smp->weight_ns = weight_ns;
}

/* Add one sample: its n resolved frame ids (innermost first) follow. The
 * ids are passed in a buffer that is scribbled over afterwards: the
 * assembler must keep a copy. */
static void add(uint32_t tid, uint64_t seq, uint32_t kind, int32_t nr,
		uint64_t weight_ns, uint32_t n, ...)
{
	uint32_t *ids = malloc((n ? n : 1) * sizeof(*ids));
	va_list ap;

	cr_assert_not_null(ids);
	sample_of(tid, seq, kind, nr, weight_ns);
	va_start(ap, n);
	for (uint32_t i = 0; i < n; i++)
		ids[i] = va_arg(ap, unsigned int);
	va_end(ap);
	cr_assert_eq(assembler__add_sample(&a, smp, ids, n, -1), 0);
	memset(ids, 0xee, (n ? n : 1) * sizeof(*ids));
	free(ids);
}

/* n plain on-CPU samples with the stack {0x1000 + i} */
static void add_n(uint32_t tid, uint64_t seq, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		add(tid, seq, LS_SAMPLE_ONCPU, -1, 1 * MS, 1, 0x1000 + i);
}

static struct ls_stall ev(uint32_t tid, uint64_t seq, uint64_t start, uint64_t end,
			  uint64_t off, uint32_t n_samples)
{
	struct ls_stall e;

	memset(&e, 0, sizeof(e));
	e.hdr.type = LS_EV_STALL;
	e.hdr.size = sizeof(e);
	e.hdr.pid = PID;
	e.hdr.tid = tid;
	e.hdr.seq = seq;
	e.start_ns = start;
	e.end_ns = end;
	e.off_cpu_ns = off;
	e.end_nr = SYS_epoll_pwait;
	e.n_samples = n_samples;
	return e;
}

static struct stall *complete(uint32_t tid, uint64_t seq)
{
	struct ls_stall e = ev(tid, seq, 5 * SEC, 5 * SEC + 300 * MS, 0, 0);
	struct stall *st = assembler__complete(&a, &e);

	cr_assert_not_null(st);
	return st;
}

static uint32_t nsamples(const struct stall *st)
{
	return st->samples_on + st->samples_off;
}

static void free_stall(struct stall *st)
{
	stall__free(st);
}

/* ---- sequence handling ----------------------------------------------- */

Test(stall, older_seq_dropped_when_newer_starts)
{
	struct stall *st;

	add_n(TID, 1, 3);	/* interval 1 ended below the threshold */
	add_n(TID, 2, 2);
	st = complete(TID, 2);
	cr_expect_eq(nsamples(st), 2, "took %u samples, want the 2 of seq 2", nsamples(st));
	cr_expect_eq(st->seq, 2);
	free_stall(st);
	/* seq 1's samples are gone, not waiting for a late stall event */
	st = complete(TID, 1);
	cr_expect_eq(nsamples(st), 0);
	cr_expect_eq(st->n_stacks, 0);
	cr_expect_null(st->stacks);
	free_stall(st);
}

Test(stall, late_sample_of_old_seq_ignored)
{
	struct stall *st;

	add_n(TID, 5, 2);
	add_n(TID, 4, 3);	/* arrives late from an earlier interval */
	st = complete(TID, 5);
	cr_expect_eq(nsamples(st), 2);
	free_stall(st);
}

Test(stall, complete_takes_only_matching_samples)
{
	struct stall *st;

	add_n(TID, 7, 3);
	add_n(TID + 1, 7, 4);		/* another loop thread, same seq */
	add_n(TID + 2, 9, 5);

	st = complete(TID, 6);		/* an older interval of TID */
	cr_expect_eq(nsamples(st), 0);
	free_stall(st);
	st = complete(TID, 8);		/* a newer one, samples not seen */
	cr_expect_eq(nsamples(st), 0);
	free_stall(st);
	st = complete(TID + 3, 7);	/* a thread with none */
	cr_expect_eq(nsamples(st), 0);
	free_stall(st);

	st = complete(TID, 7);
	cr_expect_eq(nsamples(st), 3);
	cr_expect_eq(st->tid, TID);
	free_stall(st);
	st = complete(TID + 1, 7);
	cr_expect_eq(nsamples(st), 4);
	cr_expect_eq(st->tid, TID + 1);
	free_stall(st);
	st = complete(TID + 2, 9);
	cr_expect_eq(nsamples(st), 5);
	free_stall(st);

	/* taken means gone */
	st = complete(TID, 7);
	cr_expect_eq(nsamples(st), 0);
	free_stall(st);
}

Test(stall, samples_after_complete_start_fresh)
{
	struct stall *st;

	add_n(TID, 1, 3);
	st = complete(TID, 1);
	cr_expect_eq(nsamples(st), 3);
	free_stall(st);
	add_n(TID, 2, 1);
	st = complete(TID, 2);
	cr_expect_eq(nsamples(st), 1);
	free_stall(st);
}

/* ---- grouping -------------------------------------------------------- */

static void expect_stack(const struct stack_count *sc, uint32_t kind, int32_t nr,
			 uint32_t count, uint64_t weight, uint32_t n_frames,
			 const uint32_t *frames, const char *what)
{
	cr_expect_eq(sc->kind, kind, "%s: kind %u", what, sc->kind);
	cr_expect_eq(sc->nr, nr, "%s: nr %d", what, sc->nr);
	cr_expect_eq(sc->count, count, "%s: count %u, want %u", what, sc->count, count);
	cr_expect_eq(sc->weight_ns, weight, "%s: weight %llu, want %llu", what,
		     (unsigned long long)sc->weight_ns, (unsigned long long)weight);
	cr_assert_eq(sc->n_frames, n_frames, "%s: n_frames %u, want %u", what, sc->n_frames,
		     n_frames);
	cr_assert(!n_frames || sc->frames, "%s: no frames", what);
	for (uint32_t i = 0; i < n_frames; i++)
		cr_expect_eq(sc->frames[i], frames[i], "%s: frames[%u] %u, want %u", what, i,
			     sc->frames[i], frames[i]);
}

Test(stall, identical_stacks_grouped_heaviest_first)
{
	static const uint32_t abc[] = { 0xa, 0xb, 0xc }, abd[] = { 0xa, 0xb, 0xd },
			      ab[] = { 0xa, 0xb };
	struct stall *st;

	/* A: on-CPU, no syscall, {a,b,c}: 3 x 10 ms, interleaved */
	add(TID, 3, LS_SAMPLE_ONCPU, -1, 10 * MS, 3, 0xa, 0xb, 0xc);
	/* B: another leaf */
	add(TID, 3, LS_SAMPLE_ONCPU, -1, 10 * MS, 3, 0xa, 0xb, 0xd);
	add(TID, 3, LS_SAMPLE_ONCPU, -1, 10 * MS, 3, 0xa, 0xb, 0xc);
	/* C: same frames as A, but off-CPU in futex */
	add(TID, 3, LS_SAMPLE_OFFCPU, SYS_futex, 25 * MS, 3, 0xa, 0xb, 0xc);
	/* D: same frames and kind as A, but in a syscall */
	add(TID, 3, LS_SAMPLE_ONCPU, SYS_read, 1 * MS, 3, 0xa, 0xb, 0xc);
	add(TID, 3, LS_SAMPLE_ONCPU, -1, 10 * MS, 3, 0xa, 0xb, 0xc);
	add(TID, 3, LS_SAMPLE_OFFCPU, SYS_futex, 25 * MS, 3, 0xa, 0xb, 0xc);
	/* E: a prefix of A is a different stack */
	add(TID, 3, LS_SAMPLE_ONCPU, -1, 2 * MS, 2, 0xa, 0xb);
	/* F: same weight as B, more samples: sorts before B */
	add(TID, 3, LS_SAMPLE_OFFCPU, LS_WAIT_RUNQ, 5 * MS, 1, 0xe);
	add(TID, 3, LS_SAMPLE_OFFCPU, LS_WAIT_RUNQ, 5 * MS, 1, 0xe);
	/* G: same frames and syscall as D, but off-CPU */
	add(TID, 3, LS_SAMPLE_OFFCPU, SYS_read, 4 * MS, 3, 0xa, 0xb, 0xc);

	st = complete(TID, 3);
	cr_expect_eq(st->samples_on, 6);
	cr_expect_eq(st->samples_off, 5);
	cr_assert_eq(st->n_stacks, 7, "%u distinct stacks, want 7", st->n_stacks);
	expect_stack(&st->stacks[0], LS_SAMPLE_OFFCPU, SYS_futex, 2, 50 * MS, 3, abc, "C");
	expect_stack(&st->stacks[1], LS_SAMPLE_ONCPU, -1, 3, 30 * MS, 3, abc, "A");
	expect_stack(&st->stacks[2], LS_SAMPLE_OFFCPU, LS_WAIT_RUNQ, 2, 10 * MS, 1,
		     (const uint32_t[]){ 0xe }, "F");
	expect_stack(&st->stacks[3], LS_SAMPLE_ONCPU, -1, 1, 10 * MS, 3, abd, "B");
	expect_stack(&st->stacks[4], LS_SAMPLE_OFFCPU, SYS_read, 1, 4 * MS, 3, abc, "G");
	expect_stack(&st->stacks[5], LS_SAMPLE_ONCPU, -1, 1, 2 * MS, 2, ab, "E");
	expect_stack(&st->stacks[6], LS_SAMPLE_ONCPU, SYS_read, 1, 1 * MS, 3, abc, "D");
	for (uint32_t i = 1; i < st->n_stacks; i++)
		cr_expect_geq(st->stacks[i - 1].weight_ns, st->stacks[i].weight_ns);
	free_stall(st);
}

Test(stall, empty_stacks_group_together)
{
	struct stall *st;

	add(TID, 1, LS_SAMPLE_ONCPU, -1, 1 * MS, 0);
	add(TID, 1, LS_SAMPLE_ONCPU, -1, 1 * MS, 0);
	st = complete(TID, 1);
	cr_assert_eq(st->n_stacks, 1);
	cr_expect_eq(st->stacks[0].count, 2);
	cr_expect_eq(st->stacks[0].n_frames, 0);
	free_stall(st);
}

Test(stall, long_stack_kept_whole)
{
	uint32_t *ids = malloc(LS_MAX_STACK * sizeof(*ids));
	struct stall *st;

	cr_assert_not_null(ids);
	sample_of(TID, 1, LS_SAMPLE_ONCPU, -1, 1 * MS);
	for (uint32_t i = 0; i < LS_MAX_STACK; i++)
		ids[i] = 1000000 + i;
	cr_assert_eq(assembler__add_sample(&a, smp, ids, LS_MAX_STACK, -1), 0);
	cr_assert_eq(assembler__add_sample(&a, smp, ids, LS_MAX_STACK - 1, -1), 0);	/* a prefix */
	free(ids);
	st = complete(TID, 1);
	cr_assert_eq(st->n_stacks, 2, "a prefix is another stack");
	cr_expect_eq(st->stacks[0].n_frames + st->stacks[1].n_frames, 2 * LS_MAX_STACK - 1);
	for (uint32_t k = 0; k < 2; k++) {
		const struct stack_count *sc = &st->stacks[k];

		cr_assert_geq(sc->n_frames, LS_MAX_STACK - 1);
		for (uint32_t i = 0; i < sc->n_frames; i++)
			cr_assert_eq(sc->frames[i], 1000000 + i, "stack %u frames[%u]", k, i);
	}
	free_stall(st);
}

/* ---- ownership of frame ids ------------------------------------------- */

Test(stall, frames_copied_from_caller)
{
	uint32_t ids[3] = { 7, 8, 9 };
	struct stall *st;

	sample_of(TID, 1, LS_SAMPLE_ONCPU, -1, 1 * MS);
	cr_assert_eq(assembler__add_sample(&a, smp, ids, 3, -1), 0);
	ids[0] = ids[1] = ids[2] = 0;	/* the caller reuses its buffer */
	cr_assert_eq(assembler__add_sample(&a, smp, ids, 3, -1), 0);
	st = complete(TID, 1);
	cr_assert_eq(st->n_stacks, 2);
	cr_expect_neq(st->stacks[0].frames, ids);
	cr_expect_neq(st->stacks[1].frames, ids);
	cr_expect_neq(st->stacks[0].frames, st->stacks[1].frames);
	/* same weight and count: either order; find {7,8,9} */
	const struct stack_count *sc = st->stacks[0].frames[0] == 7 ? &st->stacks[0] : &st->stacks[1];

	expect_stack(sc, LS_SAMPLE_ONCPU, -1, 1, 1 * MS, 3, (const uint32_t[]){ 7, 8, 9 }, "copy");
	free_stall(st);
}

Test(stall, no_frames_null_pointer)
{
	struct stall *st;

	/* an unresolvable sample: no ids at all, not even a buffer */
	sample_of(TID, 1, LS_SAMPLE_OFFCPU, SYS_futex, 3 * MS);
	cr_assert_eq(assembler__add_sample(&a, smp, NULL, 0, -1), 0);
	cr_assert_eq(assembler__add_sample(&a, smp, NULL, 0, -1), 0);
	st = complete(TID, 1);
	cr_assert_eq(st->n_stacks, 1);
	expect_stack(&st->stacks[0], LS_SAMPLE_OFFCPU, SYS_futex, 2, 6 * MS, 0, NULL, "empty");
	free_stall(st);
}

/* Every frames array allocated for a sample ends up freed exactly once:
 * moved into the stall and freed by stall__free, or freed with a
 * duplicate, a dropped interval, or the assembler. Run under valgrind to
 * see it (valgrind --leak-check=full --trace-children=yes
 * build/tests/test_stall --jobs=1 --no-early-exit). */
Test(stall, stall_free_frees_frames)
{
	struct stall *st;

	for (int i = 0; i < 10; i++)	/* 3 distinct stacks, duplicates of them */
		add(TID, 1, LS_SAMPLE_ONCPU, -1, 1 * MS, 4, 1, 2, 3, 4 + i % 3);
	add(TID, 1, LS_SAMPLE_OFFCPU, SYS_read, 1 * MS, 0);
	st = complete(TID, 1);
	cr_assert_eq(st->n_stacks, 4);
	cr_expect_eq(nsamples(st), 11);
	for (uint32_t i = 0; i < st->n_stacks; i++)
		cr_expect_not_null(st->stacks[i].frames, "stack %u", i);
	stall__free(st);

	/* an interval that ended below the threshold: its frames go when the
	 * next one starts; the next one's are left to assembler__free */
	add(TID, 2, LS_SAMPLE_ONCPU, -1, 1 * MS, 2, 5, 6);
	add(TID, 3, LS_SAMPLE_ONCPU, -1, 1 * MS, 2, 5, 6);
	add(TID + 1, 3, LS_SAMPLE_ONCPU, -1, 1 * MS, 3, 5, 6, 7);

	/* an ongoing stall takes its samples too */
	struct ls_thread t;

	memset(&t, 0, sizeof(t));
	t.seq = 3;
	t.busy_start = 1;
	st = assembler__ongoing(&a, &t, PID, TID + 1, 2 * SEC);
	cr_assert_not_null(st);
	cr_assert_eq(st->n_stacks, 1);
	expect_stack(&st->stacks[0], LS_SAMPLE_ONCPU, -1, 1, 1 * MS, 3,
		     (const uint32_t[]){ 5, 6, 7 }, "ongoing");
	stall__free(st);
}

/* ---- sample times and losses ---------------------------------------- */

Test(stall, first_and_last_sample_offsets)
{
	struct ls_stall e = ev(TID, 2, 10 * SEC, 10 * SEC + 500 * MS, 0, 4);
	struct stall *st;

	sample_ts = 10 * SEC + 120 * MS;
	add(TID, 2, LS_SAMPLE_ONCPU, -1, 1 * MS, 1, 0x1);
	sample_ts = 10 * SEC + 30 * MS;		/* out of order: earliest */
	add(TID, 2, LS_SAMPLE_OFFCPU, SYS_futex, 1 * MS, 1, 0x2);
	sample_ts = 10 * SEC + 450 * MS;		/* latest */
	add(TID, 2, LS_SAMPLE_ONCPU, -1, 1 * MS, 1, 0x1);
	sample_ts = 10 * SEC + 200 * MS;
	add(TID, 2, LS_SAMPLE_ONCPU, -1, 1 * MS, 1, 0x3);
	st = assembler__complete(&a, &e);
	cr_assert_not_null(st);
	cr_expect_eq(st->first_sample_ns, 30 * MS, "first %llu", (unsigned long long)st->first_sample_ns);
	cr_expect_eq(st->last_sample_ns, 450 * MS, "last %llu", (unsigned long long)st->last_sample_ns);
	stall__free(st);
}

Test(stall, sample_before_start_counts_as_zero)
{
	struct ls_stall e = ev(TID, 2, 10 * SEC, 10 * SEC + 500 * MS, 0, 2);
	struct stall *st;

	sample_ts = 10 * SEC - 5 * MS;	/* clock of another CPU, a hair early */
	add(TID, 2, LS_SAMPLE_ONCPU, -1, 1 * MS, 1, 0x1);
	sample_ts = 10 * SEC + 7 * MS;
	add(TID, 2, LS_SAMPLE_ONCPU, -1, 1 * MS, 1, 0x1);
	st = assembler__complete(&a, &e);
	cr_assert_not_null(st);
	cr_expect_eq(st->first_sample_ns, 0);
	cr_expect_eq(st->last_sample_ns, 7 * MS);
	stall__free(st);
}

Test(stall, no_samples_no_times)
{
	struct ls_stall e = ev(TID, 2, 10 * SEC, 10 * SEC + 500 * MS, 0, 0);
	struct stall *st = assembler__complete(&a, &e);

	cr_assert_not_null(st);
	cr_expect_eq(st->first_sample_ns, 0);
	cr_expect_eq(st->last_sample_ns, 0);
	stall__free(st);
}

Test(stall, lost_samples_passed_on)
{
	struct ls_stall e = ev(TID, 2, 0, 1 * SEC, 0, 10);
	struct ls_thread t;
	struct stall *st;

	e.n_lost = 6;
	st = assembler__complete(&a, &e);
	cr_assert_not_null(st);
	cr_expect_eq(st->samples_lost, 6);
	cr_expect_eq(st->samples_sent, 10);
	stall__free(st);

	memset(&t, 0, sizeof(t));
	t.seq = 3;
	t.busy_start = 1 * SEC;
	t.n_samples = 8;
	t.n_lost = 2;
	st = assembler__ongoing(&a, &t, PID, TID, 2 * SEC);
	cr_assert_not_null(st);
	cr_expect_eq(st->samples_lost, 2);
	cr_expect_eq(st->samples_sent, 8);
	stall__free(st);
}

/* ---- times and waits -------------------------------------------------- */

Test(stall, on_off_split)
{
	struct ls_stall e = ev(TID, 1, 10 * SEC, 10 * SEC + 250 * MS, 40 * MS, 0);
	struct stall *st = assembler__complete(&a, &e);

	cr_assert_not_null(st);
	cr_expect_eq(st->pid, PID);
	cr_expect_eq(st->tid, TID);
	cr_expect_eq(st->start_ns, 10 * SEC);
	cr_expect_eq(st->duration_ns, 250 * MS);
	cr_expect_eq(st->off_cpu_ns, 40 * MS);
	cr_expect_eq(st->on_cpu_ns, 210 * MS);
	cr_expect_eq(st->end_nr, SYS_epoll_pwait);
	cr_expect_eq(st->ongoing, false);
	free_stall(st);

	/* off-CPU can not exceed the interval */
	e = ev(TID, 2, 10 * SEC, 10 * SEC + 250 * MS, 300 * MS, 0);
	st = assembler__complete(&a, &e);
	cr_assert_not_null(st);
	cr_expect_eq(st->off_cpu_ns, 250 * MS);
	cr_expect_eq(st->on_cpu_ns, 0);
	free_stall(st);

	/* all on CPU */
	e = ev(TID, 3, 10 * SEC, 11 * SEC, 0, 0);
	st = assembler__complete(&a, &e);
	cr_assert_not_null(st);
	cr_expect_eq(st->on_cpu_ns, 1 * SEC);
	cr_expect_eq(st->off_cpu_ns, 0);
	free_stall(st);
}

Test(stall, waits_sorted_longest_first)
{
	struct ls_stall e = ev(TID, 1, 0, 1 * SEC, 600 * MS, 0);
	struct stall *st;

	e.n_waits = 4;
	e.waits[0] = (struct ls_wait){ SYS_futex, 3, 30 * MS };
	e.waits[1] = (struct ls_wait){ SYS_clock_nanosleep, 1, 500 * MS };
	e.waits[2] = (struct ls_wait){ LS_WAIT_RUNQ, 9, 1 * MS };
	e.waits[3] = (struct ls_wait){ SYS_read, 2, 69 * MS };
	st = assembler__complete(&a, &e);
	cr_assert_not_null(st);
	cr_assert_eq(st->n_waits, 4);
	cr_expect_eq(st->waits[0].nr, SYS_clock_nanosleep);
	cr_expect_eq(st->waits[0].count, 1);
	cr_expect_eq(st->waits[0].ns, 500 * MS);
	cr_expect_eq(st->waits[1].nr, SYS_read);
	cr_expect_eq(st->waits[1].count, 2);
	cr_expect_eq(st->waits[2].nr, SYS_futex);
	cr_expect_eq(st->waits[2].ns, 30 * MS);
	cr_expect_eq(st->waits[3].nr, LS_WAIT_RUNQ);
	cr_expect_eq(st->waits[3].count, 9);
	free_stall(st);
}

Test(stall, waits_count_clamped)
{
	struct ls_stall e = ev(TID, 1, 0, 1 * SEC, 0, 0);
	struct stall *st;

	e.n_waits = 1000;	/* corrupt */
	for (int i = 0; i < LS_MAX_WAITS; i++)
		e.waits[i] = (struct ls_wait){ i, 1, (uint64_t)(i + 1) * MS };
	st = assembler__complete(&a, &e);
	cr_assert_not_null(st);
	cr_assert_eq(st->n_waits, LS_MAX_WAITS);
	for (int i = 0; i < LS_MAX_WAITS; i++)
		cr_expect_eq(st->waits[i].nr, LS_MAX_WAITS - 1 - i);
	free_stall(st);
}

/* ---- the per-interval cap -------------------------------------------- */

Test(stall, max_samples_cap)
{
	static const uint32_t ids[] = { 1, 2 };
	struct assembler small;
	struct stall *st;
	struct ls_stall e;

	assembler__init(&small, 4);
	memset(smp, 0, sizeof(*smp));
	smp->hdr.tid = TID;
	smp->hdr.seq = 1;
	for (int i = 0; i < 6; i++)
		cr_assert_eq(assembler__add_sample(&small, smp, ids, 2, -1), 0);
	cr_expect_eq(small.samples_dropped, 2);

	/* a second thread has its own cap */
	smp->hdr.tid = TID + 1;
	for (int i = 0; i < 5; i++)
		cr_assert_eq(assembler__add_sample(&small, smp, ids, 2, -1), 0);
	cr_expect_eq(small.samples_dropped, 3);

	e = ev(TID, 1, 0, 1 * SEC, 0, 6);
	st = assembler__complete(&small, &e);
	cr_assert_not_null(st);
	cr_expect_eq(nsamples(st), 4);
	cr_expect_eq(st->samples_sent, 6);
	cr_assert_eq(st->n_stacks, 1);
	expect_stack(&st->stacks[0], LS_SAMPLE_ONCPU, 0, 4, 0, 2, ids, "capped");
	stall__free(st);

	/* a new interval starts with a fresh cap; the total keeps counting */
	smp->hdr.tid = TID;
	smp->hdr.seq = 2;
	for (int i = 0; i < 4; i++)
		cr_assert_eq(assembler__add_sample(&small, smp, ids, 2, -1), 0);
	cr_expect_eq(small.samples_dropped, 3);
	cr_assert_eq(assembler__add_sample(&small, smp, ids, 2, -1), 0);
	cr_expect_eq(small.samples_dropped, 4);
	assembler__free(&small);
}

Test(stall, max_samples_zero_keeps_none)
{
	struct assembler none;
	struct stall *st;
	struct ls_stall e = ev(TID, 1, 0, 1 * SEC, 0, 2);

	assembler__init(&none, 0);
	memset(smp, 0, sizeof(*smp));
	smp->hdr.tid = TID;
	smp->hdr.seq = 1;
	cr_assert_eq(assembler__add_sample(&none, smp, (const uint32_t[]){ 1 }, 1, -1), 0);
	cr_assert_eq(assembler__add_sample(&none, smp, NULL, 0, -1), 0);
	cr_expect_eq(none.samples_dropped, 2);
	st = assembler__complete(&none, &e);
	cr_assert_not_null(st);
	cr_expect_eq(nsamples(st), 0);
	stall__free(st);
	assembler__free(&none);
}

/* ---- off-CPU weights that come later ---------------------------------- */

/* An off-CPU sample of (TID, seq) with id; its weight is not known yet. */
static void add_off(uint64_t seq, uint32_t id, int32_t nr, uint32_t frame)
{
	sample_of(TID, seq, LS_SAMPLE_OFFCPU, nr, 0);
	smp->id = id;
	cr_assert_eq(assembler__add_sample(&a, smp, &frame, 1, -1), 0);
}

Test(stall, set_weight_later)
{
	struct stall *st;

	add(TID, 1, LS_SAMPLE_ONCPU, -1, 10 * MS, 1, 0x10);
	add_off(1, 1, SYS_futex, 0x20);
	add_off(1, 2, SYS_read, 0x30);
	add_off(1, 3, SYS_futex, 0x20);
	cr_expect_eq(assembler__set_weight(&a, TID, 1, 2, 200 * MS), 0);
	cr_expect_eq(assembler__set_weight(&a, TID, 1, 1, 5 * MS), 0);
	cr_expect_eq(assembler__set_weight(&a, TID, 1, 3, 6 * MS), 0);
	cr_expect_eq(assembler__set_weight(&a, TID, 1, 3, 7 * MS), 0, "set again: the last wins");
	st = complete(TID, 1);
	cr_assert_eq(st->n_stacks, 3);
	expect_stack(&st->stacks[0], LS_SAMPLE_OFFCPU, SYS_read, 1, 200 * MS, 1,
		     (const uint32_t[]){ 0x30 }, "read, now the heaviest");
	expect_stack(&st->stacks[1], LS_SAMPLE_OFFCPU, SYS_futex, 2, 12 * MS, 1,
		     (const uint32_t[]){ 0x20 }, "futex, both weights");
	expect_stack(&st->stacks[2], LS_SAMPLE_ONCPU, -1, 1, 10 * MS, 1,
		     (const uint32_t[]){ 0x10 }, "on-CPU");
	free_stall(st);
}

Test(stall, set_weight_not_kept)
{
	struct stall *st;

	add_off(2, 7, SYS_futex, 0x20);
	cr_expect_eq(assembler__set_weight(&a, TID + 1, 2, 7, 1 * MS), -ENOENT, "other thread");
	cr_expect_eq(assembler__set_weight(&a, TID, 1, 7, 1 * MS), -ENOENT, "older interval");
	cr_expect_eq(assembler__set_weight(&a, TID, 3, 7, 1 * MS), -ENOENT, "newer interval");
	cr_expect_eq(assembler__set_weight(&a, TID, 2, 8, 1 * MS), -ENOENT, "other id");
	/* an on-CPU sample has no id to match */
	sample_of(TID, 2, LS_SAMPLE_ONCPU, -1, 1 * MS);
	smp->id = 9;
	cr_assert_eq(assembler__add_sample(&a, smp, NULL, 0, -1), 0);
	cr_expect_eq(assembler__set_weight(&a, TID, 2, 9, 1 * MS), -ENOENT, "on-CPU");
	st = complete(TID, 2);
	cr_expect_eq(nsamples(st), 2);
	free_stall(st);
	/* taken by the stall: too late */
	cr_expect_eq(assembler__set_weight(&a, TID, 2, 7, 1 * MS), -ENOENT, "after complete");
}

Test(stall, set_weight_over_cap)
{
	struct assembler small;
	uint32_t frame = 1;

	assembler__init(&small, 1);
	sample_of(TID, 1, LS_SAMPLE_OFFCPU, SYS_futex, 0);
	smp->id = 1;
	cr_assert_eq(assembler__add_sample(&small, smp, &frame, 1, -1), 0);
	smp->id = 2;
	cr_assert_eq(assembler__add_sample(&small, smp, &frame, 1, -1), 0);	/* dropped */
	cr_expect_eq(assembler__set_weight(&small, TID, 1, 1, 1 * MS), 0);
	cr_expect_eq(assembler__set_weight(&small, TID, 1, 2, 1 * MS), -ENOENT);
	assembler__free(&small);
}

/* ---- a stall without samples ----------------------------------------- */

Test(stall, no_samples)
{
	struct ls_stall e = ev(TID, 4, 2 * SEC, 2 * SEC + 150 * MS, 0, 3);
	struct stall *st = assembler__complete(&a, &e);

	cr_assert_not_null(st);
	cr_expect_eq(st->n_stacks, 0);
	cr_expect_null(st->stacks);
	cr_expect_eq(st->samples_on, 0);
	cr_expect_eq(st->samples_off, 0);
	cr_expect_eq(st->samples_sent, 3);	/* all three lost */
	cr_expect_eq(st->duration_ns, 150 * MS);
	cr_expect_eq(st->n_waits, 0);
	stall__free(st);
	stall__free(NULL);
}

/* ---- ongoing --------------------------------------------------------- */

static struct ls_thread thread_blocked(void)
{
	struct ls_thread t;

	memset(&t, 0, sizeof(t));
	t.seq = 7;
	t.busy_start = 1 * SEC;
	t.off_start = 1 * SEC + 500 * MS;	/* off CPU since then */
	t.off_cpu_ns = 100 * MS;		/* before that */
	t.off_nr = SYS_futex;
	t.n_samples = 5;
	t.n_waits = 1;
	t.waits[0] = (struct ls_wait){ SYS_clock_nanosleep, 1, 100 * MS };
	return t;
}

Test(stall, ongoing_adds_wait_in_progress)
{
	struct ls_thread t = thread_blocked();
	struct stall *st;

	add(TID, 7, LS_SAMPLE_ONCPU, -1, 10 * MS, 1, 0x10);
	add(TID, 7, LS_SAMPLE_OFFCPU, SYS_futex, 500 * MS, 1, 0x20);
	add(TID, 6, LS_SAMPLE_ONCPU, -1, 10 * MS, 1, 0x30);	/* late, old */
	st = assembler__ongoing(&a, &t, PID, TID, 2 * SEC);
	cr_assert_not_null(st);
	cr_expect_eq(st->ongoing, true);
	cr_expect_eq(st->pid, PID);
	cr_expect_eq(st->tid, TID);
	cr_expect_eq(st->seq, 7);
	cr_expect_eq(st->start_ns, 1 * SEC);
	cr_expect_eq(st->duration_ns, 1 * SEC);
	cr_expect_eq(st->off_cpu_ns, 600 * MS);
	cr_expect_eq(st->on_cpu_ns, 400 * MS);
	cr_expect_eq(st->end_nr, SYS_futex);		/* what it waits in */
	cr_expect_eq(st->samples_sent, 5);
	cr_assert_eq(st->n_waits, 2);
	cr_expect_eq(st->waits[0].nr, SYS_futex);	/* 500 ms, in progress */
	cr_expect_eq(st->waits[0].ns, 500 * MS);
	cr_expect_eq(st->waits[0].count, 1);
	cr_expect_eq(st->waits[1].nr, SYS_clock_nanosleep);
	cr_expect_eq(st->waits[1].ns, 100 * MS);
	cr_expect_eq(st->samples_on, 1);
	cr_expect_eq(st->samples_off, 1);
	cr_assert_eq(st->n_stacks, 2);
	expect_stack(&st->stacks[0], LS_SAMPLE_OFFCPU, SYS_futex, 1, 500 * MS, 1,
		     (const uint32_t[]){ 0x20 }, "heavier");
	expect_stack(&st->stacks[1], LS_SAMPLE_ONCPU, -1, 1, 10 * MS, 1,
		     (const uint32_t[]){ 0x10 }, "lighter");
	stall__free(st);
}

Test(stall, ongoing_extends_known_wait)
{
	struct ls_thread t = thread_blocked();
	struct stall *st;

	t.off_nr = SYS_clock_nanosleep;	/* sleeping again */
	st = assembler__ongoing(&a, &t, PID, TID, 2 * SEC);
	cr_assert_not_null(st);
	cr_expect_eq(st->end_nr, SYS_clock_nanosleep);
	cr_assert_eq(st->n_waits, 1);
	cr_expect_eq(st->waits[0].nr, SYS_clock_nanosleep);
	cr_expect_eq(st->waits[0].ns, 600 * MS);
	cr_expect_eq(st->waits[0].count, 2);
	stall__free(st);
}

Test(stall, ongoing_resorts_waits)
{
	struct ls_thread t = thread_blocked();
	struct stall *st;

	t.n_waits = 2;
	t.waits[0] = (struct ls_wait){ SYS_read, 1, 300 * MS };
	t.waits[1] = (struct ls_wait){ SYS_clock_nanosleep, 1, 100 * MS };
	t.off_nr = SYS_clock_nanosleep;	/* +500 ms: now the longest */
	st = assembler__ongoing(&a, &t, PID, TID, 2 * SEC);
	cr_assert_not_null(st);
	cr_assert_eq(st->n_waits, 2);
	cr_expect_eq(st->waits[0].nr, SYS_clock_nanosleep);
	cr_expect_eq(st->waits[0].ns, 600 * MS);
	cr_expect_eq(st->waits[1].nr, SYS_read);
	stall__free(st);
}

Test(stall, ongoing_on_cpu)
{
	struct ls_thread t = thread_blocked();
	struct stall *st;

	t.off_start = 0;	/* running: nothing in progress to add */
	st = assembler__ongoing(&a, &t, PID, TID, 2 * SEC);
	cr_assert_not_null(st);
	cr_expect_eq(st->off_cpu_ns, 100 * MS);
	cr_expect_eq(st->on_cpu_ns, 900 * MS);
	cr_expect_eq(st->end_nr, -1);
	cr_assert_eq(st->n_waits, 1);
	cr_expect_eq(st->waits[0].ns, 100 * MS);
	cr_expect_eq(st->waits[0].count, 1);
	cr_expect_eq(st->n_stacks, 0);
	stall__free(st);
}

Test(stall, ongoing_waits_full)
{
	struct ls_thread t = thread_blocked();
	struct stall *st;

	t.n_waits = LS_MAX_WAITS;
	for (int i = 0; i < LS_MAX_WAITS; i++)
		t.waits[i] = (struct ls_wait){ 1000 + i, 1, 1 * MS };
	st = assembler__ongoing(&a, &t, PID, TID, 2 * SEC);
	cr_assert_not_null(st);
	cr_expect_eq(st->n_waits, LS_MAX_WAITS);	/* no room: not added */
	for (int i = 0; i < LS_MAX_WAITS; i++)
		cr_expect_neq(st->waits[i].nr, SYS_futex);
	cr_expect_eq(st->off_cpu_ns, 600 * MS);		/* but the time counts */
	stall__free(st);
}

Test(stall, ongoing_clamps_off_cpu)
{
	struct ls_thread t = thread_blocked();
	struct stall *st;

	t.off_cpu_ns = 900 * MS;	/* + 500 in progress > 1 s busy */
	t.off_nr = LS_WAIT_RUNQ;	/* preempted */
	st = assembler__ongoing(&a, &t, PID, TID, 2 * SEC);
	cr_assert_not_null(st);
	cr_expect_eq(st->end_nr, LS_WAIT_RUNQ);
	cr_expect_eq(st->off_cpu_ns, 1 * SEC);
	cr_expect_eq(st->on_cpu_ns, 0);
	stall__free(st);
}

Test(stall, ongoing_not_busy)
{
	struct ls_thread t = thread_blocked();

	t.busy_start = 0;	/* in poll */
	cr_expect_null(assembler__ongoing(&a, &t, PID, TID, 2 * SEC));
	t = thread_blocked();
	cr_expect_null(assembler__ongoing(&a, &t, PID, TID, 1 * SEC - 1));	/* clock skew */
}

/* ---- the held off-CPU stack ------------------------------------------ */

/* BPF sends the held stack of a stall's latest unsent wait just before the
 * stall event, its weight final (no LS_EV_OFFCPU_END follows): the stall
 * takes it like any sample, with its time, and a late copy of an older
 * interval never reaches the next one. */
Test(stall, held_sample_sent_before_its_stall_is_its_stack)
{
	struct ls_stall e = ev(TID, 9, 1 * SEC, 1 * SEC + 2100000, 2050000, 1);
	struct stall *st;

	sample_ts = 1 * SEC + 40000;	/* taken at the switch-out */
	sample_of(TID, 9, LS_SAMPLE_OFFCPU, SYS_clock_nanosleep, 2050000);
	smp->id = 4;
	cr_assert_eq(assembler__add_sample(&a, smp, (const uint32_t[]){ 0x50, 0x51 }, 2, -1), 0);
	st = assembler__complete(&a, &e);
	cr_assert_not_null(st);
	cr_assert_eq(st->n_stacks, 1);
	expect_stack(&st->stacks[0], LS_SAMPLE_OFFCPU, SYS_clock_nanosleep, 1, 2050000, 2,
		     (const uint32_t[]){ 0x50, 0x51 }, "the held wait");
	cr_expect_eq(st->samples_off, 1);
	cr_expect_eq(st->first_sample_ns, 40000, "from its switch-out");
	stall__free(st);
	sample_of(TID, 8, LS_SAMPLE_OFFCPU, SYS_clock_nanosleep, 1 * MS);
	cr_assert_eq(assembler__add_sample(&a, smp, (const uint32_t[]){ 0x50 }, 1, -1), 0);
	e = ev(TID, 10, 2 * SEC, 2 * SEC + 2 * MS, 0, 0);
	st = assembler__complete(&a, &e);
	cr_assert_not_null(st);
	cr_expect_eq(st->n_stacks, 0, "an older interval's stack is not this one's");
	stall__free(st);
}

static struct ls_thread thread_busy(void)
{
	struct ls_thread t;

	memset(&t, 0, sizeof(t));
	t.seq = 7;
	t.busy_start = 1 * SEC;
	return t;
}

/* A session that ends while a loop is busy takes the held stack from the
 * map when BPF would have sent it with the stall. */
Test(stall, held_needed_when_time_has_no_sample)
{
	struct ls_thread t = thread_busy();
	uint64_t w = 1;

	cr_expect(assembler__held_needed(&t, 2 * SEC, &w), "no sample at all");
	cr_expect_eq(w, 0, "on the CPU throughout: no off-CPU time");
	t.n_samples = 3;
	cr_expect_not(assembler__held_needed(&t, 2 * SEC, &w), "sampled, all time given");
	t.carry_ns = 2 * MS;	/* short waits after the last sample */
	cr_expect(assembler__held_needed(&t, 2 * SEC, &w));
	cr_expect_eq(w, 2 * MS);
	t.off_start = 1 * SEC + 900 * MS;	/* off the CPU now, the wait held */
	cr_expect(assembler__held_needed(&t, 2 * SEC, &w));
	cr_expect_eq(w, 102 * MS, "the wait in progress counts until now");
	t.off_sampled = 1;	/* the wait in progress was sent: it gets the time */
	cr_expect_not(assembler__held_needed(&t, 2 * SEC, &w));
	t.off_sampled = 0;
	cr_expect(assembler__held_needed(&t, 1 * SEC + 900 * MS, &w), "no time yet in it");
	cr_expect_eq(w, 2 * MS);
}
