// SPDX-License-Identifier: MIT
/* Unit tests: probe/target.c, the pure parts (python detection from maps
 * text, version strings). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "target.h"

#define LIBC \
	"7f1e2a400000-7f1e2a428000 r--p 00000000 08:01 2621  /usr/lib/x86_64-linux-gnu/libc.so.6\n" \
	"7f1e2a428000-7f1e2a5bd000 r-xp 00028000 08:01 2621  /usr/lib/x86_64-linux-gnu/libc.so.6\n"
#define ANON_HEAP \
	"55d4c9034000-55d4c9070000 rw-p 00000000 00:00 0 \n" \
	"55d4ca1c5000-55d4ca3d1000 rw-p 00000000 00:00 0                          [heap]\n"
#define VDSO \
	"7ffd4b3fa000-7ffd4b3fc000 r-xp 00000000 00:00 0                          [vdso]\n"
#define ASYNCIO_EXT \
	"7f1e29e00000-7f1e29e08000 r-xp 00000000 08:01 3001  /usr/lib/python3.11/lib-dynload/_asyncio.cpython-311-x86_64-linux-gnu.so\n"

struct fp_result {
	int ret;
	char out[256];
	bool shared;
};

static struct fp_result find(const char *maps, const char *exe)
{
	struct fp_result r;

	memset(&r, 0, sizeof(r));
	strcpy(r.out, "untouched");
	r.shared = true;	/* must be written on success */
	r.ret = target__find_python(maps, exe, r.out, sizeof(r.out), &r.shared);
	return r;
}

Test(find_python, static_exe_only)
{
	static const char maps[] =
		"55d4c8a00000-55d4c8a2e000 r--p 00000000 08:01 1311234  /usr/bin/python3.11\n"
		"55d4c8a2e000-55d4c8d1f000 r-xp 0002e000 08:01 1311234  /usr/bin/python3.11\n"
		ANON_HEAP ASYNCIO_EXT LIBC VDSO;
	struct fp_result r = find(maps, "/usr/bin/python3.11");

	cr_assert_eq(r.ret, 0);
	cr_expect_str_eq(r.out, "/usr/bin/python3.11");
	cr_expect_eq(r.shared, false);
}

Test(find_python, static_exe_with_odd_name)
{
	/* a statically linked interpreter under another name (embedded or
	 * renamed): the exe itself is the candidate */
	static const char maps[] =
		"563100000000-563100200000 r-xp 00000000 08:01 77  /opt/app/bin/my app\n"
		ANON_HEAP LIBC;
	struct fp_result r = find(maps, "/opt/app/bin/my app");

	cr_assert_eq(r.ret, 0);
	cr_expect_str_eq(r.out, "/opt/app/bin/my app");
	cr_expect_eq(r.shared, false);
}

Test(find_python, libpython_wins_over_exe)
{
	/* python linked against libpython: exe listed first */
	static const char maps[] =
		"55d4c8a00000-55d4c8a01000 r--p 00000000 08:01 1311234  /usr/bin/python3.11\n"
		"55d4c8a01000-55d4c8a02000 r-xp 00001000 08:01 1311234  /usr/bin/python3.11\n"
		ANON_HEAP
		"7f1e2a000000-7f1e2a100000 r--p 00000000 08:01 4242  /usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0\n"
		"7f1e2a100000-7f1e2a300000 r-xp 00100000 08:01 4242  /usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0\n"
		LIBC VDSO;
	struct fp_result r = find(maps, "/usr/bin/python3.11");

	cr_assert_eq(r.ret, 0);
	cr_expect_str_eq(r.out, "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0");
	cr_expect_eq(r.shared, true);
}

Test(find_python, libpython_in_embedding_exe)
{
	static const char maps[] =
		"55d4c8a00000-55d4c8a01000 r-xp 00000000 08:01 99  /usr/sbin/uwsgi\n"
		LIBC
		"7f1e2a100000-7f1e2a300000 r-xp 00100000 08:01 4242  /opt/py/lib/libpython3.13.so.1.0\n";
	struct fp_result r = find(maps, "/usr/sbin/uwsgi");

	cr_assert_eq(r.ret, 0);
	cr_expect_str_eq(r.out, "/opt/py/lib/libpython3.13.so.1.0");
	cr_expect_eq(r.shared, true);
}

Test(find_python, python_directory_is_not_libpython)
{
	/* extension modules under .../python3.11/ are neither */
	static const char maps[] = ASYNCIO_EXT LIBC;
	struct fp_result r = find(maps, NULL);

	cr_expect_eq(r.ret, -ENOENT);
	cr_expect_str_eq(r.out, "untouched");
}

Test(find_python, no_python_at_all)
{
	static const char maps[] = ANON_HEAP LIBC VDSO;
	struct fp_result r;

	/* exe not mapped (e.g. a kernel thread has none) */
	r = find(maps, NULL);
	cr_expect_eq(r.ret, -ENOENT);
	cr_expect_str_eq(r.out, "untouched");
	r = find(maps, "/usr/bin/python3.11");
	cr_expect_eq(r.ret, -ENOENT);
	cr_expect_str_eq(r.out, "untouched");
	r = find("", "/usr/bin/python3.11");
	cr_expect_eq(r.ret, -ENOENT);
	/* no libpython3 (a python 2 library does not count) */
	r = find("7f1e2a100000-7f1e2a300000 r-xp 00100000 08:01 1  /usr/lib/libpython2.7.so.1.0\n",
		 "/usr/bin/bash");
	cr_expect_eq(r.ret, -ENOENT);
}

Test(find_python, exe_match_is_exact)
{
	static const char maps[] =
		"55d4c8a00000-55d4c8a01000 r-xp 00000000 08:01 1  /usr/bin/python3.11\n" LIBC;
	struct fp_result r;

	r = find(maps, "/usr/bin/python3");		/* a prefix is not the exe */
	cr_expect_eq(r.ret, -ENOENT);
	r = find(maps, "/usr/bin/python3.11x");
	cr_expect_eq(r.ret, -ENOENT);
}

/* ---- version strings ------------------------------------------------- */

struct ver_case {
	uint32_t hex;
	char want[16];
};

ParameterizedTestParameters(version_str, table)
{
	static struct ver_case cases[] = {
		{ 0x030b02f0, "3.11.2" },
		{ 0x030b00f0, "3.11.0" },
		{ 0x030c07f0, "3.12.7" },
		{ 0x030d0000, "3.13.0" },	/* level 0: shown as a release */
		{ 0x030f00a1, "3.15.0a1" },
		{ 0x030d00b3, "3.13.0b3" },
		/* CPython itself writes a release candidate as "3.14.0rc2"
		 * (PY_VERSION, sys.version); loopstall writes "c". */
		{ 0x030e00c2, "3.14.0rc2" },
		{ 0x0a0b0cf0, "10.11.12" },
		{ 0x030b1ff0, "3.11.31" },
	};
	return cr_make_param_array(struct ver_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct ver_case *c, version_str, table)
{
	char buf[16];

	memset(buf, 'X', sizeof(buf));
	target__version_str(c->hex, buf, sizeof(buf));
	cr_assert_str_eq(buf, c->want, "version of %#010x = \"%s\", want \"%s\"",
			 c->hex, buf, c->want);
}

Test(version_str, truncates_to_buffer)
{
	char buf[5];

	target__version_str(0x030b02f0, buf, sizeof(buf));
	cr_assert_str_eq(buf, "3.11");
}
