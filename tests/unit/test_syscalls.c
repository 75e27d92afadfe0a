// SPDX-License-Identifier: MIT
/* Unit tests: rules/syscalls.c (names, numbers, wait labels). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include "events.h"
#include "syscalls.h"

/* Parameters are copied into a fresh process: strings inline. */
struct nr_case {
	char name[32];
	int nr;
};

ParameterizedTestParameters(syscalls, roundtrip)
{
	static struct nr_case cases[] = {
#ifdef SYS_epoll_wait	/* not on arm64 */
		{ "epoll_wait", SYS_epoll_wait },
#endif
		{ "epoll_pwait", SYS_epoll_pwait },
		{ "epoll_pwait2", SYS_epoll_pwait2 },
		{ "futex", SYS_futex },
		{ "futex_waitv", SYS_futex_waitv },
		{ "clock_nanosleep", SYS_clock_nanosleep },
#ifdef SYS_poll
		{ "poll", SYS_poll },
		{ "select", SYS_select },
#endif
		{ "ppoll", SYS_ppoll },
		{ "pselect6", SYS_pselect6 },
		{ "read", SYS_read },
	};
	return cr_make_param_array(struct nr_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct nr_case *c, syscalls, roundtrip)
{
	const char *name = syscall__name(c->nr);

	cr_assert_not_null(name, "syscall__name(%d) is NULL, want %s", c->nr, c->name);
	cr_assert_str_eq(name, c->name, "syscall__name(%d) = %s, want %s", c->nr, name, c->name);
	cr_assert_eq(syscall__nr(c->name), c->nr, "syscall__nr(%s) = %d, want %d",
		     c->name, syscall__nr(c->name), c->nr);
	cr_assert_eq(syscall__nr(syscall__name(c->nr)), c->nr);
}

Test(syscalls, name_out_of_range)
{
	cr_expect_null(syscall__name(-1));
	cr_expect_null(syscall__name(LS_WAIT_RUNQ));
	cr_expect_null(syscall__name(LS_WAIT_OTHER));
	cr_expect_null(syscall__name(-2147483647 - 1));
	cr_expect_null(syscall__name(100000));
	cr_expect_null(syscall__name(2147483647));
}

Test(syscalls, name_table_has_no_off_by_one)
{
	/* The highest number the table knows maps back to itself, and the
	 * first number past it has no name. */
	int top = -1;

	for (int nr = 0; nr < 4096; nr++)
		if (syscall__name(nr))
			top = nr;
	cr_assert_geq(top, SYS_epoll_pwait2, "table ends at %d", top);
	cr_expect_eq(syscall__nr(syscall__name(top)), top);
	cr_expect_null(syscall__name(top + 1));
}

Test(syscalls, nr_unknown_name)
{
	cr_expect_eq(syscall__nr("no_such_syscall"), -1);
	cr_expect_eq(syscall__nr(""), -1);
	cr_expect_eq(syscall__nr("epoll"), -1);		/* no prefix match */
	cr_expect_eq(syscall__nr("epoll_wait2"), -1);
	cr_expect_eq(syscall__nr("FUTEX"), -1);		/* case sensitive */
}

Test(syscalls, names_are_unique)
{
	for (int nr = 0; nr < 4096; nr++) {
		const char *name = syscall__name(nr);

		if (name)
			cr_expect_eq(syscall__nr(name), nr, "%s maps back to %d, not %d",
				     name, syscall__nr(name), nr);
	}
}

/* ---- wait labels ----------------------------------------------------- */

struct label_case {
	int nr;
	char want[40];
};

ParameterizedTestParameters(syscalls, wait_label)
{
	static struct label_case cases[] = {
		{ SYS_futex, "futex (lock/GIL)" },
		{ SYS_futex_waitv, "futex (lock/GIL)" },
		{ LS_WAIT_RUNQ, "runqueue (CPU busy)" },
		{ LS_WAIT_OTHER, "other (page fault)" },
		{ SYS_clock_nanosleep, "clock_nanosleep" },
		{ SYS_epoll_pwait, "epoll_pwait" },
		{ SYS_read, "read" },
		{ 100000, "syscall 100000" },
		{ -1, "syscall -1" },
		{ LS_WAIT_STOPPED, "stopped (SIGSTOP, debugger)" },
		{ LS_END_EXIT, "target exit" },
		{ -6, "syscall -6" },
	};
	return cr_make_param_array(struct label_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct label_case *c, syscalls, wait_label)
{
	char buf[32];
	const char *got;

	memset(buf, 'X', sizeof(buf));
	got = syscall__wait_label(c->nr, buf, sizeof(buf));
	cr_assert_not_null(got);
	cr_assert_str_eq(got, c->want, "wait label of %d = \"%s\", want \"%s\"",
			 c->nr, got, c->want);
}

Test(syscalls, wait_label_hole_in_table)
{
	/* x86_64 and arm64 both leave numbers unassigned below the top;
	 * any such hole must be labelled by number. */
	char buf[32], want[32];
	int hole = -1;

	for (int nr = 0; nr < SYS_epoll_pwait2; nr++)
		if (!syscall__name(nr)) {
			hole = nr;
			break;
		}
	cr_assert_neq(hole, -1, "no unassigned syscall number below epoll_pwait2");
	snprintf(want, sizeof(want), "syscall %d", hole);
	cr_assert_str_eq(syscall__wait_label(hole, buf, sizeof(buf)), want);
}

Test(syscalls, wait_label_small_buffer)
{
	char buf[8];
	const char *got = syscall__wait_label(123456, buf, sizeof(buf));

	cr_assert_eq(got, buf);
	cr_assert_str_eq(got, "syscall");	/* truncated, still terminated */
	/* fixed labels do not need the buffer */
	cr_assert_str_eq(syscall__wait_label(SYS_futex, buf, 1), "futex (lock/GIL)");
}
