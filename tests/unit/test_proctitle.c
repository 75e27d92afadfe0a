// SPDX-License-Identifier: MIT
/* Unit tests: symbolizer/proctitle.c (a process's title from its cmdline). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "proctitle.h"

struct title_case {
	char in[96];		/* cmdline bytes */
	size_t n;		/* how many */
	size_t len;		/* out's size */
	char want[96];
};

#define C(s, len, want) { s, sizeof(s) - 1, len, want }

ParameterizedTestParameters(proctitle, from_cmdline)
{
	static struct title_case cases[] = {
		/* arguments joined by spaces */
		C("python3\0app.py\0", 64, "python3 app.py"),
		C("/usr/bin/python3\0-m\0uvicorn\0app:app\0", 64,
		  "/usr/bin/python3 -m uvicorn app:app"),
		/* setproctitle: one string, padded with NULs */
		C("gunicorn: worker [app:app]\0\0\0\0\0\0\0\0", 64, "gunicorn: worker [app:app]"),
		/* ... or not NUL-terminated at all (it overwrote the last NUL) */
		C("uvicorn", 64, "uvicorn"),
		/* an empty argument in the middle stays a space */
		C("a\0\0b\0", 64, "a  b"),
		/* nothing */
		C("", 64, ""),
		C("\0\0\0", 64, ""),
		/* control characters, DEL, C1 (U+009B, CSI) as ? */
		C("a\tb\x1b[31m\x7f\0", 64, "a?b?[31m?"),
		C("x\xc2\x9by\0", 64, "x?y"),
		/* UTF-8 kept, invalid bytes as ? */
		C("w\xc3\xa9rker\0", 64, "w\xc3\xa9rker"),
		C("\xe2\x9c\x93 ok\0", 64, "\xe2\x9c\x93 ok"),
		C("\xf0\x9f\x90\x8d\0", 64, "\xf0\x9f\x90\x8d"),
		C("a\xff" "b\0", 64, "a?b"),
		C("a\xc3\0", 64, "a?"),			/* cut character */
		C("\xc0\xaf\0", 64, "??"),		/* overlong */
		C("\xed\xa0\x80\0", 64, "???"),		/* a surrogate */
		/* bounded: cut to len - 1 bytes, on a character boundary */
		C("abcdefghij\0", 6, "abcde"),
		C("abcd\xc3\xa9" "f\0", 6, "abcd"),
		C("ab\xe2\x9c\x93" "cd\0", 6, "ab\xe2\x9c\x93"),
		C("ab\xe2\x9c\x93" "cd\0", 5, "ab"),
		C("python3\0app.py\0", 1, ""),
	};
	return cr_make_param_array(struct title_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct title_case *c, proctitle, from_cmdline)
{
	char out[96];

	memset(out, 'Z', sizeof(out));
	proctitle__from_cmdline(c->in, c->n, out, c->len);
	cr_assert_str_eq(out, c->want, "title of %zu bytes: \"%s\", want \"%s\"", c->n, out,
			 c->want);
	cr_assert(strlen(out) < c->len);
}

Test(proctitle, nothing_into_nothing)
{
	char out[1] = { 'Z' };

	proctitle__from_cmdline("abc", 3, out, 0);
	cr_assert_eq(out[0], 'Z');
}

Test(proctitle, reads_our_own_cmdline)
{
	char out[PROC_TITLE_MAX], want[PROC_TITLE_MAX], buf[4096];
	FILE *f = fopen("/proc/self/cmdline", "r");
	size_t n;

	cr_assert(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	proctitle__from_cmdline(buf, n, want, sizeof(want));
	cr_assert_eq(proctitle__read(getpid(), out, sizeof(out)), 0);
	cr_assert(out[0]);
	cr_assert_str_eq(out, want);	/* Criterion's worker: "boxfort-worker" */
}

Test(proctitle, a_kernel_thread_is_its_comm)
{
	char out[PROC_TITLE_MAX];

	cr_assert_eq(proctitle__read(2, out, sizeof(out)), 0);	/* kthreadd */
	cr_assert_str_eq(out, "kthreadd");
}

Test(proctitle, no_such_process)
{
	char out[PROC_TITLE_MAX];

	cr_assert_eq(proctitle__read(INT_MAX, out, sizeof(out)), -ESRCH);
	cr_assert_str_eq(out, "?");
}

struct args_case {
	char in[64];
	size_t n;		/* bytes read */
	uint64_t args_len;	/* arg_end - arg_start */
	char want[64];
};

ParameterizedTestParameters(proctitle, from_args)
{
	static struct args_case cases[] = {
		/* the area ends in a NUL: what follows is the environment */
		{ "python3\0app.py\0PATH=/usr/bin\0", 29, 15, "python3 app.py" },
		/* longer than what was read: all of it */
		{ "python3\0/a/very/long/path.py\0", 30, 400, "python3 /a/very/long/path.py" },
		/* setproctitle: one string, padded, the area's last NUL kept */
		{ "worker\0\0\0\0\0\0\0\0\0HOME=/\0", 22, 15, "worker" },
		/* setproctitle wrote on past the area's end (over the environment) */
		{ "gunicorn: worker [app:app]\0ME=/\0", 32, 9, "gunicorn: worker [app:app]" },
		/* nothing known of the area: as read */
		{ "a\0b\0", 4, 0, "a b" },
	};
	return cr_make_param_array(struct args_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct args_case *c, proctitle, from_args)
{
	char out[PROC_TITLE_MAX];

	proctitle__from_args(c->in, c->n, c->args_len, out, sizeof(out));
	cr_assert_str_eq(out, c->want);
}
