// SPDX-License-Identifier: MIT
/* Unit tests: rules/parse.c (parse_u64, parse_duration, parse_pid_list). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "parse.h"

#define SENTINEL 0xdeadbeefcafef00dULL

/* Criterion runs each parameter in a fresh process and copies the
 * parameter bytes there: keep strings inline. "\x7f" stands for NULL. */
#define NUL_ARG "\x7f"

static const char *arg(const char *s)
{
	return strcmp(s, NUL_ARG) ? s : NULL;
}

static const char *show(const char *s)
{
	return s ? s : "(NULL)";
}

/* ---- parse_u64 ------------------------------------------------------- */

struct u64_case {
	char in[32];
	uint64_t min, max;
	int ret;		/* 0, -EINVAL, -ERANGE */
	uint64_t out;		/* when ret == 0 */
};

ParameterizedTestParameters(parse_u64, table)
{
	static struct u64_case cases[] = {
		/* in range, including both bounds */
		{ "0", 0, UINT64_MAX, 0, 0 },
		{ "1", 1, 10, 0, 1 },
		{ "10", 1, 10, 0, 10 },
		{ "5", 5, 5, 0, 5 },
		{ "4194304", 1, 4194304, 0, 4194304 },
		{ "007", 0, 10, 0, 7 },
		{ "18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX },
		/* out of [min, max] */
		{ "0", 1, 10, -ERANGE, 0 },
		{ "11", 1, 10, -ERANGE, 0 },
		{ "4194305", 1, 4194304, -ERANGE, 0 },
		{ "4", 5, 5, -ERANGE, 0 },
		/* does not fit 64 bits */
		{ "18446744073709551616", 0, UINT64_MAX, -ERANGE, 0 },
		{ "99999999999999999999999999", 0, UINT64_MAX, -ERANGE, 0 },
		/* empty, NULL */
		{ "", 0, UINT64_MAX, -EINVAL, 0 },
		{ NUL_ARG, 0, UINT64_MAX, -EINVAL, 0 },
		/* signs */
		{ "-1", 0, UINT64_MAX, -EINVAL, 0 },
		{ "-0", 0, UINT64_MAX, -EINVAL, 0 },
		{ "+1", 0, UINT64_MAX, -EINVAL, 0 },
		{ "+0", 0, UINT64_MAX, -EINVAL, 0 },
		/* leading white space (strtoull would skip it, and would
		 * turn " -1" into UINT64_MAX) */
		{ " 5", 0, UINT64_MAX, -EINVAL, 0 },
		{ "\t5", 0, UINT64_MAX, -EINVAL, 0 },
		{ " -1", 0, UINT64_MAX, -EINVAL, 0 },
		{ "\n+1", 0, UINT64_MAX, -EINVAL, 0 },
		/* garbage */
		{ "abc", 0, UINT64_MAX, -EINVAL, 0 },
		{ "12abc", 0, UINT64_MAX, -EINVAL, 0 },
		{ "12 ", 0, UINT64_MAX, -EINVAL, 0 },
		{ "1 2", 0, UINT64_MAX, -EINVAL, 0 },
		{ "1.5", 0, UINT64_MAX, -EINVAL, 0 },
		{ "1e3", 0, UINT64_MAX, -EINVAL, 0 },
		{ "0x10", 0, UINT64_MAX, -EINVAL, 0 },
		{ "10k", 0, UINT64_MAX, -EINVAL, 0 },
	};
	return cr_make_param_array(struct u64_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct u64_case *c, parse_u64, table)
{
	uint64_t out = SENTINEL;
	int ret = parse_u64(arg(c->in), c->min, c->max, &out);

	cr_assert_eq(ret, c->ret, "parse_u64(\"%s\", %llu, %llu) returned %d, want %d (out %llu)",
		     show(arg(c->in)), (unsigned long long)c->min, (unsigned long long)c->max,
		     ret, c->ret, (unsigned long long)out);
	if (c->ret == 0)
		cr_assert_eq(out, c->out, "parse_u64(\"%s\") gave %llu, want %llu",
			     show(arg(c->in)), (unsigned long long)out, (unsigned long long)c->out);
	else
		cr_assert_eq(out, SENTINEL, "parse_u64(\"%s\") wrote *out on failure",
			     show(arg(c->in)));
}

/* ---- parse_duration -------------------------------------------------- */

struct dur_case {
	char in[32];
	uint64_t unit_ns;	/* the default unit */
	int ret;
	uint64_t out_ns;
};

#define NS 1ULL
#define US 1000ULL
#define MS 1000000ULL
#define SEC 1000000000ULL

ParameterizedTestParameters(parse_duration, table)
{
	static struct dur_case cases[] = {
		/* no suffix: the default unit */
		{ "50", MS, 0, 50 * MS },
		{ "50", SEC, 0, 50 * SEC },
		{ "50", NS, 0, 50 },
		{ "0", MS, 0, 0 },
		{ "2.5", MS, 0, 2500 * US },
		/* each suffix, whatever the default unit */
		{ "7ns", SEC, 0, 7 },
		{ "7us", SEC, 0, 7 * US },
		{ "7ms", SEC, 0, 7 * MS },
		{ "7s", MS, 0, 7 * SEC },
		{ "7m", MS, 0, 7 * 60 * SEC },
		{ "200ms", MS, 0, 200 * MS },
		/* fractions */
		{ "0.5s", MS, 0, 500 * MS },
		{ ".5s", MS, 0, 500 * MS },
		{ "1.5m", MS, 0, 90 * SEC },
		{ "0.25ms", SEC, 0, 250 * US },
		{ "1.5ns", SEC, 0, 2 },		/* rounded to nearest */
		{ "1.4ns", SEC, 0, 1 },
		{ "0.001", SEC, 0, 1 * MS },
		{ "3600s", MS, 0, 3600 * SEC },
		/* range: at most 1e18 ns */
		{ "1000000000s", MS, 0, 1000000000 * SEC },
		{ "1000000001s", MS, -ERANGE, 0 },
		{ "100000000000000000000", MS, -ERANGE, 0 },
		/* bad suffix */
		{ "5h", MS, -EINVAL, 0 },
		{ "5S", MS, -EINVAL, 0 },
		{ "5MS", MS, -EINVAL, 0 },
		{ "5sec", MS, -EINVAL, 0 },
		{ "5mss", MS, -EINVAL, 0 },
		{ "5 ms", MS, -EINVAL, 0 },
		{ "5ms ", MS, -EINVAL, 0 },
		{ "5.", MS, 0, 5 * MS },
		{ "5..", MS, -EINVAL, 0 },
		{ "ms", MS, -EINVAL, 0 },
		{ "s", MS, -EINVAL, 0 },
		{ ".", MS, -EINVAL, 0 },
		{ "abc", MS, -EINVAL, 0 },
		/* negative, signs, white space */
		{ "-1", MS, -EINVAL, 0 },
		{ "-0.5s", MS, -EINVAL, 0 },
		{ "+1", MS, -EINVAL, 0 },
		{ " 1", MS, -EINVAL, 0 },
		{ "\t1", MS, -EINVAL, 0 },
		{ "\t-1", MS, -EINVAL, 0 },
		/* not plain decimal */
		{ "0x10", MS, -EINVAL, 0 },
		{ "0x1p4s", MS, -EINVAL, 0 },
		/* nan, inf, out of double range */
		{ "nan", MS, -EINVAL, 0 },
		{ "NaN", MS, -EINVAL, 0 },
		{ "nans", MS, -EINVAL, 0 },
		{ "inf", MS, -EINVAL, 0 },
		{ "infinity", MS, -EINVAL, 0 },
		{ "INFs", MS, -EINVAL, 0 },
		{ "1e999", MS, -EINVAL, 0 },
		/* empty, NULL */
		{ "", MS, -EINVAL, 0 },
		{ NUL_ARG, MS, -EINVAL, 0 },
	};
	return cr_make_param_array(struct dur_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct dur_case *c, parse_duration, table)
{
	uint64_t out = SENTINEL;
	int ret = parse_duration(arg(c->in), c->unit_ns, &out);

	cr_assert_eq(ret, c->ret, "parse_duration(\"%s\", %llu) returned %d, want %d (out %llu)",
		     show(arg(c->in)), (unsigned long long)c->unit_ns, ret, c->ret,
		     (unsigned long long)out);
	if (c->ret == 0)
		cr_assert_eq(out, c->out_ns, "parse_duration(\"%s\", %llu) gave %llu ns, want %llu",
			     show(arg(c->in)), (unsigned long long)c->unit_ns,
			     (unsigned long long)out, (unsigned long long)c->out_ns);
	else
		cr_assert_eq(out, SENTINEL, "parse_duration(\"%s\") wrote *out on failure",
			     show(arg(c->in)));
}

/* ---- parse_pid_list -------------------------------------------------- */

struct pids_case {
	char in[48];
	uint32_t before;	/* pids already there: 7, 8, … */
	int ret;
	uint32_t n;		/* count after */
	uint32_t last;		/* pids[n - 1] after */
};

#define PIDS_MAX 4

ParameterizedTestParameters(parse_pid_list, table)
{
	static struct pids_case cases[] = {
		{ "4242", 0, 0, 1, 4242 },
		{ "4242,4250", 0, 0, 2, 4250 },
		{ "1,4194304", 0, 0, 2, 4194304 },
		{ "4242", 1, 0, 2, 4242 },		/* -p 7 -p 4242 */
		{ "7", 1, 0, 1, 7 },			/* already there */
		{ "4242,4242", 0, 0, 1, 4242 },		/* said twice */
		{ "9,10", 2, 0, 4, 10 },		/* exactly max */
		{ "9,10,11", 2, -E2BIG, 2, 8 },		/* one over: nothing added */
		{ "8,9,10", 2, 0, 4, 10 },		/* a duplicate does not count */
		{ "", 0, -EINVAL, 0, 0 },
		{ NUL_ARG, 0, -EINVAL, 0, 0 },
		{ ",", 0, -EINVAL, 0, 0 },
		{ "4242,", 0, -EINVAL, 0, 0 },
		{ ",4242", 0, -EINVAL, 0, 0 },
		{ "4242,,4250", 0, -EINVAL, 0, 0 },
		{ "4242 4250", 0, -EINVAL, 0, 0 },
		{ "4242, 4250", 0, -EINVAL, 0, 0 },
		{ "-4242", 0, -EINVAL, 0, 0 },
		{ "+4242", 0, -EINVAL, 0, 0 },
		{ "0x10", 0, -EINVAL, 0, 0 },
		{ "abc", 0, -EINVAL, 0, 0 },
		{ "0", 0, -ERANGE, 0, 0 },
		{ "4194305", 0, -ERANGE, 0, 0 },
		{ "4242,0", 1, -ERANGE, 1, 7 },		/* nothing added */
		{ "123456789012345678901", 0, -ERANGE, 0, 0 },
	};
	return cr_make_param_array(struct pids_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct pids_case *c, parse_pid_list, table)
{
	uint32_t pids[PIDS_MAX] = { 0 }, n = c->before;
	int ret;

	for (uint32_t i = 0; i < c->before; i++)
		pids[i] = 7 + i;
	ret = parse_pid_list(arg(c->in), pids, &n, PIDS_MAX);
	cr_assert_eq(ret, c->ret, "parse_pid_list(\"%s\") returned %d, want %d",
		     show(arg(c->in)), ret, c->ret);
	cr_assert_eq(n, c->n, "parse_pid_list(\"%s\"): %u pids, want %u", show(arg(c->in)),
		     n, c->n);
	if (n)
		cr_assert_eq(pids[n - 1], c->last, "parse_pid_list(\"%s\"): last %u, want %u",
			     show(arg(c->in)), pids[n - 1], c->last);
	for (uint32_t i = 0; i < c->before; i++)
		cr_assert_eq(pids[i], 7 + i, "parse_pid_list(\"%s\") changed pids[%u]",
			     show(arg(c->in)), i);
}
