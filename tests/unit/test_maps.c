// SPDX-License-Identifier: MIT
/* Unit tests: symbolizer/maps.c (parse, find, file offsets). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "maps.h"

/* A /proc/PID/maps as a CPython process shows it: anonymous mappings
 * (with and without the trailing space the kernel writes), [heap], [vdso],
 * a path with spaces, a deleted file, and adjacent mappings. */
static const char MAPS[] =
	"55d4c8a00000-55d4c8a2e000 r--p 00000000 08:01 1311234                    /usr/bin/python3.11\n"
	"55d4c8a2e000-55d4c8d1f000 r-xp 0002e000 08:01 1311234                    /usr/bin/python3.11\n"
	"55d4c8d1f000-55d4c8ff2000 r--p 0031f000 08:01 1311234                    /usr/bin/python3.11\n"
	"55d4c8ff3000-55d4c9034000 rw-p 005f2000 08:01 1311234                    /usr/bin/python3.11\n"
	"55d4c9034000-55d4c9070000 rw-p 00000000 00:00 0 \n"
	"55d4ca1c5000-55d4ca3d1000 rw-p 00000000 00:00 0                          [heap]\n"
	"7f3b2c000000-7f3b2c021000 rw-p 00000000 00:00 0\n"
	"7f3b30a00000-7f3b30a22000 r--p 00000000 fd:02 1315000                    /home/u/my app/lib/lib foo.so\n"
	"7f3b30a22000-7f3b30b9a000 r-xp 00022000 fd:02 1315000                    /home/u/my app/lib/lib foo.so\n"
	"7f3b31000000-7f3b31010000 r-xp 00004000 00:1f 1316000                    /tmp/jit-1234.so (deleted)\n"
	"7ffd4b3c1000-7ffd4b3e2000 rw-p 00000000 00:00 0                          [stack]\n"
	"7ffd4b3f6000-7ffd4b3fa000 r--p 00000000 00:00 0                          [vvar]\n"
	"7ffd4b3fa000-7ffd4b3fc000 r-xp 00000000 00:00 0                          [vdso]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";	/* no final newline */

struct want_entry {
	uint64_t start, end, pgoff;
	const char *perms, *path;
};

static const struct want_entry WANT[] = {
	{ 0x55d4c8a00000, 0x55d4c8a2e000, 0x0, "r--p", "/usr/bin/python3.11" },
	{ 0x55d4c8a2e000, 0x55d4c8d1f000, 0x2e000, "r-xp", "/usr/bin/python3.11" },
	{ 0x55d4c8d1f000, 0x55d4c8ff2000, 0x31f000, "r--p", "/usr/bin/python3.11" },
	{ 0x55d4c8ff3000, 0x55d4c9034000, 0x5f2000, "rw-p", "/usr/bin/python3.11" },
	{ 0x55d4c9034000, 0x55d4c9070000, 0x0, "rw-p", "" },
	{ 0x55d4ca1c5000, 0x55d4ca3d1000, 0x0, "rw-p", "[heap]" },
	{ 0x7f3b2c000000, 0x7f3b2c021000, 0x0, "rw-p", "" },
	{ 0x7f3b30a00000, 0x7f3b30a22000, 0x0, "r--p", "/home/u/my app/lib/lib foo.so" },
	{ 0x7f3b30a22000, 0x7f3b30b9a000, 0x22000, "r-xp", "/home/u/my app/lib/lib foo.so" },
	{ 0x7f3b31000000, 0x7f3b31010000, 0x4000, "r-xp", "/tmp/jit-1234.so (deleted)" },
	{ 0x7ffd4b3c1000, 0x7ffd4b3e2000, 0x0, "rw-p", "[stack]" },
	{ 0x7ffd4b3f6000, 0x7ffd4b3fa000, 0x0, "r--p", "[vvar]" },
	{ 0x7ffd4b3fa000, 0x7ffd4b3fc000, 0x0, "r-xp", "[vdso]" },
	{ 0xffffffffff600000, 0xffffffffff601000, 0x0, "--xp", "[vsyscall]" },
};
#define NWANT (sizeof(WANT) / sizeof(WANT[0]))

static struct maps m;

static void parse_fixture(void)
{
	cr_assert_eq(maps__parse(&m, MAPS), 0);
}

static void free_fixture(void)
{
	maps__free(&m);
}

/* What a symbolizer computes: the offset of addr in the mapped file. */
static uint64_t file_offset(const struct map_entry *e, uint64_t addr)
{
	return addr - e->start + e->pgoff;
}

static void check_entries(const struct maps *mm, const struct want_entry *w, unsigned int n)
{
	cr_assert_eq(mm->n, n, "parsed %u entries, want %u", mm->n, n);
	for (unsigned int i = 0; i < n; i++) {
		const struct map_entry *e = &mm->v[i];

		cr_expect_eq(e->start, w[i].start, "entry %u start %#llx", i, (unsigned long long)e->start);
		cr_expect_eq(e->end, w[i].end, "entry %u end %#llx", i, (unsigned long long)e->end);
		cr_expect_eq(e->pgoff, w[i].pgoff, "entry %u pgoff %#llx", i, (unsigned long long)e->pgoff);
		cr_expect_str_eq(e->perms, w[i].perms, "entry %u perms", i);
		cr_assert_not_null(e->path, "entry %u path is NULL", i);
		cr_expect_str_eq(e->path, w[i].path, "entry %u path \"%s\", want \"%s\"",
				 i, e->path, w[i].path);
	}
}

Test(maps, parse_realistic, .init = parse_fixture, .fini = free_fixture)
{
	check_entries(&m, WANT, NWANT);
}

Test(maps, device_and_inode, .init = parse_fixture, .fini = free_fixture)
{
	cr_expect_eq(m.v[0].ino, 1311234);
	cr_expect_eq(m.v[0].dev_major, 8);
	cr_expect_eq(m.v[0].dev_minor, 1);
	cr_expect_eq(m.v[7].dev_major, 0xfd);
	cr_expect_eq(m.v[7].dev_minor, 2);
	cr_expect_eq(m.v[9].ino, 1316000);
	cr_expect_eq(m.v[9].dev_minor, 0x1f);
	cr_expect_eq(m.v[4].ino, 0);
}

Test(maps, parse_empty)
{
	struct maps e;

	memset(&e, 0xff, sizeof(e));
	cr_assert_eq(maps__parse(&e, ""), 0);
	cr_expect_eq(e.n, 0);
	cr_expect_null(maps__find(&e, 0x1000));
	maps__free(&e);
	cr_assert_eq(maps__parse(&e, "\n\n\n"), 0);
	cr_expect_eq(e.n, 0);
	maps__free(&e);
}

Test(maps, parse_many_lines_grows)
{
	/* more lines than the first allocation */
	size_t cap = 300 * 96;
	char *text = malloc(cap), *p = text;
	struct maps mm;

	cr_assert_not_null(text);
	for (unsigned int i = 0; i < 300; i++)
		p += snprintf(p, cap - (p - text), "%x000-%x000 r-xp %08x 08:01 %u /lib/l%u.so\n",
			      0x10 + 2 * i, 0x11 + 2 * i, i, i, i);
	cr_assert_eq(maps__parse(&mm, text), 0);
	cr_assert_eq(mm.n, 300);
	for (unsigned int i = 0; i < 300; i++) {
		char want[32];
		const struct map_entry *e = maps__find(&mm, (0x10ULL + 2 * i) * 0x1000 + 0x10);

		snprintf(want, sizeof(want), "/lib/l%u.so", i);
		cr_assert_not_null(e, "line %u not found", i);
		cr_assert_str_eq(e->path, want);
		cr_assert_eq(e->pgoff, i);
		cr_assert_null(maps__find(&mm, (0x11ULL + 2 * i) * 0x1000));	/* the gap */
	}
	maps__free(&mm);
	free(text);
}

Test(maps, malformed_lines_skipped)
{
	static const char text[] =
		"garbage\n"
		"\n"
		"55d4c8a00000-55d4c8a2e000 r--p 00000000 08:01 1311234                    /usr/bin/python3.11\n"
		"7f00-\n"
		"zzzz-yyyy r-xp 00000000 08:01 1 /bad/hex\n"
		"1000-2000 r-xp\n"				/* no offset */
		"1000-2000 r-xp 00000000\n"			/* no device, inode */
		"1000-2000 r-xp 00000000 08:01\n"		/* no inode */
		"1000-2000 r-xp 00000000 08:01 x /bad/inode\n"
		"- r-xp 00000000 08:01 1 /bad\n"
		"7f3b30a22000-7f3b30b9a000 r-xp 00022000 fd:02 1315000                    /home/u/my app/lib/lib foo.so\n"
		"   \n";
	struct maps mm;

	cr_assert_eq(maps__parse(&mm, text), 0);
	cr_assert_eq(mm.n, 2, "kept %u entries, want 2", mm.n);
	cr_expect_eq(mm.v[0].start, 0x55d4c8a00000);
	cr_expect_str_eq(mm.v[0].path, "/usr/bin/python3.11");
	cr_expect_eq(mm.v[1].start, 0x7f3b30a22000);
	cr_expect_str_eq(mm.v[1].path, "/home/u/my app/lib/lib foo.so");
	maps__free(&mm);
}

Test(maps, overlong_line_skipped)
{
	/* a line longer than any real one (PATH_MAX + fields) is dropped,
	 * and parsing resumes at the next line */
	size_t n = 8192;
	char *text = malloc(n + 256);
	struct maps mm;

	cr_assert_not_null(text);
	strcpy(text, "1000-2000 r-xp 00000000 08:01 1 /");
	memset(text + strlen(text), 'a', n);
	strcpy(text + strlen("1000-2000 r-xp 00000000 08:01 1 /") + n,
	       "\n3000-4000 r-xp 00001000 08:01 2 /ok\n");
	cr_assert_eq(maps__parse(&mm, text), 0);
	cr_assert_eq(mm.n, 1);
	cr_expect_str_eq(mm.v[0].path, "/ok");
	cr_expect_eq(mm.v[0].pgoff, 0x1000);
	maps__free(&mm);
	free(text);
}

/* ---- maps__find ------------------------------------------------------ */

struct find_case {
	uint64_t addr;
	int entry;		/* index into WANT, -1: not mapped */
};

Test(maps, find_starts_ends_gaps, .init = parse_fixture, .fini = free_fixture)
{
	static const struct find_case cases[] = {
		{ 0, -1 },
		{ 0x55d4c89fffff, -1 },			/* just below the first */
		{ 0x55d4c8a00000, 0 },			/* first byte of the first */
		{ 0x55d4c8a2dfff, 0 },			/* its last byte */
		{ 0x55d4c8a2e000, 1 },			/* end is exclusive: next one */
		{ 0x55d4c8a2f234, 1 },
		{ 0x55d4c8d1efff, 1 },
		{ 0x55d4c8d1f000, 2 },
		{ 0x55d4c8ff1fff, 2 },
		{ 0x55d4c8ff2000, -1 },			/* one-page gap */
		{ 0x55d4c8ff2fff, -1 },
		{ 0x55d4c8ff3000, 3 },
		{ 0x55d4c9034000, 4 },			/* anonymous */
		{ 0x55d4c906ffff, 4 },
		{ 0x55d4c9070000, -1 },			/* end of anonymous, then a gap */
		{ 0x55d4ca1c4fff, -1 },
		{ 0x55d4ca1c5000, 5 },			/* [heap] */
		{ 0x7f3b2c020fff, 6 },
		{ 0x7f3b2c021000, -1 },
		{ 0x7f3b30a21fff, 7 },
		{ 0x7f3b30a22000, 8 },
		{ 0x7f3b30b99fff, 8 },
		{ 0x7f3b30b9a000, -1 },
		{ 0x7f3b31000000, 9 },			/* deleted */
		{ 0x7f3b3100ffff, 9 },
		{ 0x7f3b31010000, -1 },
		{ 0x7ffd4b3fa000, 12 },			/* [vdso] after [vvar] */
		{ 0x7ffd4b3f9fff, 11 },
		{ 0x7ffd4b3fbfff, 12 },
		{ 0x7ffd4b3fc000, -1 },
		{ 0xffffffffff5fffff, -1 },
		{ 0xffffffffff600000, 13 },
		{ 0xffffffffff600fff, 13 },
		{ 0xffffffffff601000, -1 },
		{ UINT64_MAX, -1 },
	};

	cr_assert_eq(m.n, NWANT);
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct map_entry *e = maps__find(&m, cases[i].addr);

		if (cases[i].entry < 0) {
			cr_expect_null(e, "%#llx should be unmapped, found [%#llx, %#llx)",
				       (unsigned long long)cases[i].addr,
				       e ? (unsigned long long)e->start : 0,
				       e ? (unsigned long long)e->end : 0);
		} else {
			cr_expect_eq(e, &m.v[cases[i].entry], "%#llx: got entry %ld, want %d",
				     (unsigned long long)cases[i].addr,
				     e ? (long)(e - m.v) : -1L, cases[i].entry);
		}
	}
}

Test(maps, find_every_entry_bounds, .init = parse_fixture, .fini = free_fixture)
{
	for (unsigned int i = 0; i < m.n; i++) {
		const struct map_entry *e = &m.v[i];

		cr_expect_eq(maps__find(&m, e->start), e, "start of %u", i);
		cr_expect_eq(maps__find(&m, e->end - 1), e, "last byte of %u", i);
		cr_expect_neq(maps__find(&m, e->end), e, "end of %u is exclusive", i);
		cr_expect_eq(maps__find(&m, e->start + (e->end - e->start) / 2), e, "middle of %u", i);
	}
}

Test(maps, find_in_empty)
{
	struct maps e = { 0 };

	cr_expect_null(maps__find(&e, 0));
	cr_expect_null(maps__find(&e, 0x55d4c8a00000));
}

/* ---- file offsets ---------------------------------------------------- */

struct off_case {
	uint64_t addr;
	const char *path;
	uint64_t offset;
};

Test(maps, file_offset, .init = parse_fixture, .fini = free_fixture)
{
	static const struct off_case cases[] = {
		{ 0x55d4c8a00000, "/usr/bin/python3.11", 0x0 },
		{ 0x55d4c8a00123, "/usr/bin/python3.11", 0x123 },
		{ 0x55d4c8a2e000, "/usr/bin/python3.11", 0x2e000 },	/* text segment */
		{ 0x55d4c8a2f234, "/usr/bin/python3.11", 0x2f234 },
		{ 0x55d4c8d1f010, "/usr/bin/python3.11", 0x31f010 },
		{ 0x55d4c8ff3008, "/usr/bin/python3.11", 0x5f2008 },
		{ 0x7f3b30a22abc, "/home/u/my app/lib/lib foo.so", 0x22abc },
		{ 0x7f3b30b99fff, "/home/u/my app/lib/lib foo.so", 0x199fff },
		{ 0x7f3b31000010, "/tmp/jit-1234.so (deleted)", 0x4010 },
	};

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct map_entry *e = maps__find(&m, cases[i].addr);

		cr_assert_not_null(e, "%#llx not found", (unsigned long long)cases[i].addr);
		cr_expect_str_eq(e->path, cases[i].path);
		cr_expect_eq(file_offset(e, cases[i].addr), cases[i].offset,
			     "%#llx: offset %#llx, want %#llx", (unsigned long long)cases[i].addr,
			     (unsigned long long)file_offset(e, cases[i].addr),
			     (unsigned long long)cases[i].offset);
	}
}

/* ---- maps__load ------------------------------------------------------ */

Test(maps, load_self)
{
	struct maps mm;
	const struct map_entry *e;
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	cr_assert_gt(n, 0);
	exe[n] = 0;
	cr_assert_eq(maps__load(&mm, getpid()), 0);
	cr_assert_gt(mm.n, 3);
	for (unsigned int i = 1; i < mm.n; i++)
		cr_expect_geq(mm.v[i].start, mm.v[i - 1].end, "entries out of order at %u", i);
	e = maps__find(&mm, (uint64_t)(uintptr_t)&maps__find);
	cr_assert_not_null(e, "own code is not mapped");
	cr_expect_str_eq(e->path, exe);
	cr_expect_eq(e->perms[2], 'x');
	maps__free(&mm);
	cr_expect_eq(mm.n, 0);
	cr_expect_null(mm.v);
}

Test(maps, load_no_such_process)
{
	struct maps mm;

	cr_expect_eq(maps__load(&mm, 0x7ffffff0), -ENOENT);
}
