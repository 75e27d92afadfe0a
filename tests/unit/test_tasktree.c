// SPDX-License-Identifier: MIT
/* Unit tests: probe/tasktree.c (the await tree: children, cycles, text)
 * and pytasks__parse_debug (the _AsyncioDebug section's offsets). */
#include <criterion/criterion.h>
#include <errno.h>
#include <criterion/redirect.h>
#include <string.h>
#include "pytasks.h"
#include "tasktree.h"

#define MAXT 8

static struct pytask T[MAXT];
static struct task_row R[MAXT];
static struct task_frame F = { "work", "/srv/app/handlers/orders.py", 42 };

/* Task i, named, awaited by the tasks of ids by (0-terminated). */
static void task(int i, const char *name, const uint64_t *by)
{
	memset(&T[i], 0, sizeof(T[i]));
	T[i].id = 0x1000 + 0x100 * i;
	snprintf(T[i].name, sizeof(T[i].name), "%s", name);
	for (; by && *by; by++)
		T[i].awaited_by[T[i].n_awaited_by++] = *by;
	T[i].n_frames = 1;
	R[i] = (struct task_row){ &T[i], &F, 1 };
}

#define ID(i)	(0x1000 + 0x100 * (i))

Test(tasktree, children_and_no_cycle)
{
	struct tasktree tr;

	task(0, "main", NULL);
	task(1, "a", (uint64_t[]){ ID(0), 0 });
	task(2, "b", (uint64_t[]){ ID(0), 0 });
	task(3, "c", (uint64_t[]){ ID(1), 0x999, 0 });	/* 0x999: not a task */
	cr_assert_eq(tasktree__build(&tr, R, 4), 0);
	cr_expect_eq(tr.first[1] - tr.first[0], 2);
	cr_expect_eq(tr.first[2] - tr.first[1], 1);
	cr_expect_eq(tr.child[tr.first[1]], 3);
	cr_expect_eq(tr.n_cycles, 0);
	for (int i = 0; i < 4; i++)
		cr_expect_eq(tr.cycle[i], -1);
	tasktree__free(&tr);
}

Test(tasktree, cycles_found_once)
{
	struct tasktree tr;

	task(0, "a", (uint64_t[]){ ID(1), 0 });		/* a <-> b */
	task(1, "b", (uint64_t[]){ ID(0), 0 });
	task(2, "self", (uint64_t[]){ ID(2), 0 });	/* awaits itself */
	task(3, "x", (uint64_t[]){ ID(5), 0 });		/* x -> y -> z -> x */
	task(4, "y", (uint64_t[]){ ID(3), 0 });
	task(5, "z", (uint64_t[]){ ID(4), 0 });
	task(6, "free", (uint64_t[]){ ID(0), 0 });	/* awaited by a, in no cycle */
	cr_assert_eq(tasktree__build(&tr, R, 7), 0);
	cr_expect_eq(tr.n_cycles, 3);
	cr_expect_eq(tr.cycle[0], tr.cycle[1]);
	cr_expect_neq(tr.cycle[0], -1);
	cr_expect_neq(tr.cycle[2], -1);
	cr_expect_eq(tr.cycle[3], tr.cycle[4]);
	cr_expect_eq(tr.cycle[4], tr.cycle[5]);
	cr_expect_neq(tr.cycle[3], tr.cycle[0]);
	cr_expect_eq(tr.cycle[6], -1);
	tasktree__free(&tr);
}

Test(tasktree, print_marks_cycles_and_fits, .init = cr_redirect_stdout)
{
	struct tasktree tr;

	task(0, "cyc-a", (uint64_t[]){ ID(1), 0 });
	task(1, "cyc-b", (uint64_t[]){ ID(0), 0 });
	task(2, "root", NULL);
	task(3, "child-with-a-name-long-enough-to-fill-most-of-a-line-of-text",
	     (uint64_t[]){ ID(2), 0 });
	cr_assert_eq(tasktree__build(&tr, R, 4), 0);
	tasktree__print(stdout, &tr);
	fflush(stdout);
	tasktree__free(&tr);
	cr_assert_stdout_eq_str(
		"root [pending] 0x1200\n"
		"  work  /srv/app/handlers/orders.py:42\n"
		"  └── child-with-a-name-long-enough-to-fill-most-of-a-line-of-text [pending] 0x\n"
		"      work  /srv/app/handlers/orders.py:42\n"
		"cyc-a [pending] 0x1000  (in a cycle)\n"
		"  work  /srv/app/handlers/orders.py:42\n"
		"  └── cyc-b [pending] 0x1100  (in a cycle)\n"
		"      work  /srv/app/handlers/orders.py:42\n"
		"      └── cyc-a [pending] 0x1000  (cycle: awaits back)\n");
}

Test(tasktree, cut_left_keeps_the_end)
{
	char out[64];

	tasktree__cut_left(out, sizeof(out), "/srv/app/handlers/orders.py", 16);
	cr_expect_str_eq(out, "...ers/orders.py");
	tasktree__cut_left(out, sizeof(out), "short.py", 16);
	cr_expect_str_eq(out, "short.py");
	tasktree__cut_left(out, sizeof(out), "/é/é/é/é/é/éé.py", 10);
	cr_expect_str_eq(out, "...é/éé.py");
}

Test(pytasks, parse_debug)
{
	/* 3.14.10's _AsyncioDebug, as read from _asyncio.cpython-314-*.so */
	const uint64_t v14[13] = { 168, 136, 96, 108, 109, 128, 152,
				   225864, 10880, 936, 864, 872, 880 };
	struct py_task_offsets o = {};
	uint64_t bad[13];

	cr_assert_eq(pytasks__parse_debug(&o, (const uint8_t *)v14, sizeof(v14)), 0);
	cr_expect_eq(o.task_name, 136);
	cr_expect_eq(o.task_coro, 128);
	cr_expect_eq(o.task_node, 152);
	cr_expect_eq(o.task_awaited_by_is_set, 109);
	cr_expect_eq(o.interp_tasks_head, 10880);
	cr_expect_eq(o.tstate_task, 872);
	cr_expect_eq(o.tstate_tasks_head, 880);
	cr_expect_eq(pytasks__parse_debug(&o, (const uint8_t *)v14, 96), -EINVAL);
	memcpy(bad, v14, sizeof(bad));
	bad[5] = 4096;			/* coro past the task's size */
	cr_expect_eq(pytasks__parse_debug(&o, (const uint8_t *)bad, sizeof(bad)), -EINVAL);
	memcpy(bad, v14, sizeof(bad));
	bad[12] = 5000;			/* tstate field past the tstate */
	cr_expect_eq(pytasks__parse_debug(&o, (const uint8_t *)bad, sizeof(bad)), -EINVAL);
	/* found by tests/fuzz (fuzz_pyobj): an offset whose + 8 wraps to a
	 * small number passed the size check, cut to 32 bits (0xfffffff8) */
	memcpy(bad, v14, sizeof(bad));
	bad[1] = UINT64_MAX - 7;	/* task_name */
	cr_expect_eq(pytasks__parse_debug(&o, (const uint8_t *)bad, sizeof(bad)), -EINVAL);
	memcpy(bad, v14, sizeof(bad));
	bad[4] = 1ULL << 40;		/* awaited_by_is_set: was never checked */
	cr_expect_eq(pytasks__parse_debug(&o, (const uint8_t *)bad, sizeof(bad)), -EINVAL);
	memcpy(bad, v14, sizeof(bad));
	bad[10] = 1ULL << 33;		/* tstate's running loop: was never checked */
	cr_expect_eq(pytasks__parse_debug(&o, (const uint8_t *)bad, sizeof(bad)), -EINVAL);
}
