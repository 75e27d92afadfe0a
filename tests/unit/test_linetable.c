// SPDX-License-Identifier: MIT
/* Unit tests: symbolizer/linetable.c (CPython 3.11+ location tables). */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "linetable.h"

/* ---- hand-made tables, one case per (table, lasti) --------------------- */

/* Entry-start bytes: bit 7, kind << 3, units - 1. */
#define E(kind, units) (uint8_t)(0x80 | (kind) << 3 | ((units) - 1))
#define SHORT(k, n) E(k, n), 0x00		/* kinds 0-9, 1 column byte */
#define ONE(d, n) E(10 + (d), n), 0x04, 0x09	/* line += d (0-2), 2 column bytes */
#define NOCOL(n) E(13, n)			/* followed by an svarint */
#define LONG(n) E(14, n)			/* svarint, then 3 varints */
#define NONE(n) E(15, n)
#define COLS 0x01, 0x05, 0x09			/* end line delta 1, columns 4 and 8 */

struct lt_case {
	char name[48];
	uint8_t table[40];
	unsigned int len;	/* bytes of table used: less than written = truncated */
	int first;		/* co_firstlineno */
	uint32_t lasti;
	int want;
};

ParameterizedTestParameters(linetable, table)
{
	static struct lt_case cases[] = {
		/* short forms: every kind 0-9, line == firstlineno */
		{ "short 0", { SHORT(0, 1) }, 2, 10, 0, 10 },
		{ "short 5", { SHORT(5, 1) }, 2, 10, 0, 10 },
		{ "short 9", { SHORT(9, 1) }, 2, 10, 0, 10 },
		{ "short column byte 0x7f", { E(3, 1), 0x7f }, 2, 10, 0, 10 },
		{ "short, 8 units, last", { SHORT(1, 8) }, 2, 7, 7, 7 },
		{ "short, 8 units, past end", { SHORT(1, 8) }, 2, 7, 8, -EINVAL },
		{ "second entry, first unit", { SHORT(0, 3), ONE(1, 2) }, 5, 7, 3, 8 },
		{ "first entry, last unit", { SHORT(0, 3), ONE(1, 2) }, 5, 7, 2, 7 },
		/* one-line forms 10-12: line += kind - 10, cumulative */
		{ "one-line +0", { ONE(0, 1) }, 3, 20, 0, 20 },
		{ "one-line +1", { ONE(1, 1) }, 3, 20, 0, 21 },
		{ "one-line +2", { ONE(2, 1) }, 3, 20, 0, 22 },
		{ "one-line cumulative", { ONE(1, 1), ONE(2, 2), ONE(2, 1) }, 9, 20, 3, 25 },
		{ "one-line then short", { ONE(2, 1), SHORT(4, 4) }, 5, 20, 4, 22 },
		/* no-column form 13: svarint delta */
		{ "no-column +3", { NOCOL(1), 0x06 }, 2, 30, 0, 33 },
		{ "no-column -3", { NOCOL(1), 0x07 }, 2, 30, 0, 27 },
		{ "no-column -0", { NOCOL(1), 0x01 }, 2, 30, 0, 30 },
		{ "no-column +31 (1 chunk)", { NOCOL(1), 0x3e }, 2, 30, 0, 61 },
		{ "no-column +100 (2 chunks)", { NOCOL(1), 0x48, 0x03 }, 3, 30, 0, 130 },
		{ "no-column -100 (2 chunks)", { NOCOL(1), 0x49, 0x03 }, 3, 200, 0, 100 },
		/* long form 14 */
		{ "long +5", { LONG(2), 0x0a, COLS }, 5, 40, 1, 45 },
		{ "long -5", { LONG(2), 0x0b, COLS }, 5, 40, 1, 35 },
		{ "long, multi-chunk columns",
		  { LONG(1), 0x04, 0x41, 0x05, 0x7f, 0x01, 0x41, 0x02 }, 8, 40, 0, 42 },
		{ "long after short", { SHORT(0, 2), LONG(1), 0x48, 0x03, COLS, SHORT(0, 1) },
		  10, 40, 2, 140 },
		{ "long, then short keeps line",
		  { LONG(1), 0x48, 0x03, COLS, SHORT(0, 1) }, 9, 40, 1, 140 },
		/* 6-chunk varint: +2000000000 == svarint 4000000000 */
		{ "long +2e9 (6 chunks)",
		  { LONG(1), 0x40, 0x60, 0x72, 0x5a, 0x6e, 0x03, COLS }, 10, 5, 0, 2000000005 },
		{ "and back -2e9",
		  { LONG(1), 0x40, 0x60, 0x72, 0x5a, 0x6e, 0x03, COLS,
		    NOCOL(1), 0x41, 0x60, 0x72, 0x5a, 0x6e, 0x03 }, 17, 5, 1, 5 },
		/* no location 15: line 0, running line unchanged */
		{ "none", { NONE(1) }, 1, 50, 0, 0 },
		{ "none, 8 units", { NONE(8) }, 1, 50, 7, 0 },
		{ "none between one-line",
		  { ONE(1, 1), NONE(2), ONE(1, 1) }, 7, 50, 2, 0 },
		{ "after none: delta from the line before",
		  { ONE(1, 1), NONE(2), ONE(1, 1) }, 7, 50, 3, 52 },
		{ "none first, then short", { NONE(1), SHORT(0, 1) }, 3, 50, 1, 50 },
		/* lines below 1 have no line: a module's RESUME is on line 0 */
		{ "module RESUME line 0", { LONG(1), 0x03, 0x01, 0x01, 0x01, ONE(1, 1) }, 8, 1, 0, 0 },
		{ "module, next line 1", { LONG(1), 0x03, 0x01, 0x01, 0x01, ONE(1, 1) }, 8, 1, 1, 1 },
		{ "negative line", { NOCOL(1), 0x15 }, 2, 3, 0, 0 },
		{ "back up from negative", { NOCOL(1), 0x15, NOCOL(1), 0x28 }, 4, 3, 1, 13 },
		{ "firstlineno 0", { SHORT(0, 1) }, 2, 0, 0, 0 },
		{ "firstlineno INT_MAX", { SHORT(0, 1) }, 2, INT_MAX, 0, INT_MAX },
		/* line leaves int */
		{ "line > INT_MAX", { NOCOL(1), 0x02 }, 2, INT_MAX, 0, -EINVAL },
		{ "line < INT_MIN", { NOCOL(1), 0x03 }, 2, INT_MIN, 0, -EINVAL },
		/* lasti past the end */
		{ "empty table", { 0 }, 0, 1, 0, -EINVAL },
		{ "lasti == units", { SHORT(0, 2), ONE(1, 3) }, 5, 1, 5, -EINVAL },
		{ "lasti UINT32_MAX", { SHORT(0, 8), SHORT(0, 8) }, 4, 1, UINT32_MAX, -EINVAL },
		/* malformed or truncated */
		{ "no entry-start bit", { 0x00, 0x00 }, 2, 1, 0, -EINVAL },
		{ "short without its byte", { E(0, 1) }, 1, 1, 0, -EINVAL },
		{ "one-line with 1 of 2 bytes", { E(11, 1), 0x01 }, 2, 1, 0, -EINVAL },
		{ "one-line with no bytes", { E(12, 1) }, 1, 1, 0, -EINVAL },
		{ "no-column without varint", { NOCOL(1) }, 1, 1, 0, -EINVAL },
		{ "varint cut after a chunk", { NOCOL(1), 0x48 }, 2, 1, 0, -EINVAL },
		{ "long without varints", { LONG(1) }, 1, 1, 0, -EINVAL },
		{ "long, last varint missing", { LONG(1), 0x02, 0x01, 0x05 }, 4, 1, 0, -EINVAL },
		{ "varint of 7 chunks",
		  { NOCOL(1), 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x00 }, 8, 1, 0, -EINVAL },
		{ "varint above 32 bits",
		  { NOCOL(1), 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x3f }, 7, 1, 0, -EINVAL },
		{ "entry start inside short", { E(0, 1), 0x80, 0x00 }, 3, 1, 0, -EINVAL },
		{ "entry start inside one-line", { E(10, 1), 0x01, 0x80 }, 3, 1, 0, -EINVAL },
		{ "entry start inside varint", { NOCOL(1), 0x48, 0x83 }, 3, 1, 0, -EINVAL },
		{ "bad entry before lasti", { SHORT(0, 1), 0x05, SHORT(0, 1) }, 5, 1, 1, -EINVAL },
		{ "truncated entry holding lasti", { SHORT(0, 2), LONG(1), 0x02 }, 4, 9, 2, -EINVAL },
		{ "units before it still decode", { SHORT(0, 2), LONG(1), 0x02 }, 4, 9, 1, 9 },
		/* nothing after the entry holding lasti is read */
		{ "garbage after lasti", { SHORT(0, 1), 0x05, 0x05 }, 4, 9, 0, 9 },
	};
	return cr_make_param_array(struct lt_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct lt_case *c, linetable, table)
{
	/* A heap copy of exactly len bytes: a read past it is a crash under
	 * ASan/valgrind, not a silent pass. */
	uint8_t *t = malloc(c->len ? c->len : 1);
	int got;

	cr_assert_not_null(t);
	memcpy(t, c->table, c->len);
	got = linetable__line(t, c->len, c->first, c->lasti);
	cr_expect_eq(got, c->want, "%s: linetable__line(len %u, first %d, lasti %u) = %d, want %d",
		     c->name, c->len, c->first, c->lasti, got, c->want);
	free(t);
}

Test(linetable, null_table)
{
	cr_expect_eq(linetable__line(NULL, 0, 1, 0), -EINVAL);
	cr_expect_eq(linetable__line(NULL, 16, 1, 0), -EINVAL);
}

/* Random bytes (seeded): any answer is -EINVAL or a line >= 0, and nothing
 * outside the buffer is read (run under valgrind/ASan to see that). */
Test(linetable, random_bytes)
{
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	unsigned int ok = 0;

	for (int round = 0; round < 20000; round++) {
		uint8_t *t;
		size_t len;
		int got;

		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		len = s % 64;
		t = malloc(len ? len : 1);
		cr_assert_not_null(t);
		for (size_t i = 0; i < len; i++) {
			s ^= s << 13, s ^= s >> 7, s ^= s << 17;
			/* mostly entry starts, so decoding gets somewhere */
			t[i] = (s & 0x300) ? (uint8_t)(s | 0x80) : (uint8_t)s;
		}
		got = linetable__line(t, len, (int)(s >> 40) - (1 << 23), (uint32_t)(s >> 32) % 12);
		cr_assert(got == -EINVAL || got >= 0, "random table gave %d", got);
		ok += got >= 0;
		free(t);
	}
	cr_log_info("random_bytes: %u of 20000 tables decoded to a line", ok);
}

/* ---- fixtures made from real code objects ------------------------------ */

/* tests/unit/data/linetable-3.X.txt (committed) and build/fixtures/ (made by
 * `make linetable-fixtures` from every interpreter there is), written by
 * scripts/gen-linetable-fixtures:
 *   CODE <co_firstlineno> <co_linetable hex, "-" if empty> <name>
 *   L <lasti> <line from co_positions(), 0 for None>     every code unit
 */

struct fixture_stats {
	unsigned long codes, units, mismatches;
};

static int unhex(const char *hex, uint8_t **buf, size_t *cap, size_t *len)
{
	size_t n = strlen(hex);

	if (!strcmp(hex, "-")) {
		*len = 0;
		return 0;
	}
	if (n % 2)
		return -EINVAL;
	if (n / 2 > *cap) {
		uint8_t *b = realloc(*buf, n / 2);

		if (!b)
			return -ENOMEM;
		*buf = b;
		*cap = n / 2;
	}
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		(*buf)[i] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

#define MAX_REPORTED 20

/* Checks at the end of one code object: the table covers exactly its code
 * units, and cutting its last byte makes the last unit undecodable. */
static void end_code(const char *path, const char *name, const uint8_t *t, size_t len,
		     int first, unsigned long units, struct fixture_stats *st)
{
	int past = linetable__line(t, len, first, (uint32_t)units);
	int cut = units && len ? linetable__line(t, len - 1, first, (uint32_t)(units - 1))
			       : -EINVAL;

	if (past != -EINVAL || cut != -EINVAL) {
		if (st->mismatches < MAX_REPORTED)
			cr_log_error("%s: %s: lasti %lu (past the end) gave %d, last unit with "
				     "the last byte cut gave %d; want %d", path, name, units,
				     past, cut, -EINVAL);
		st->mismatches++;
	}
}

static void check_fixture(const char *path, struct fixture_stats *st)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *name = NULL;
	size_t linecap = 0, cap = 0, len = 0;
	uint8_t *table = NULL;
	int first = 0, have_code = 0;
	unsigned long lineno = 0, units = 0;

	cr_assert_not_null(f, "cannot open %s", path);
	while (getline(&line, &linecap, f) >= 0) {
		unsigned long lasti;
		int want, got, n = 0;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (!strncmp(line, "CODE ", 5)) {
			char *hex;

			if (have_code)
				end_code(path, name, table, len, first, units, st);
			cr_assert_eq(sscanf(line, "CODE %d %n", &first, &n) >= 1 && n > 0, 1,
				     "%s:%lu: bad CODE line", path, lineno);
			hex = line + n;
			free(name);
			name = strdup(hex + strcspn(hex, " ") + (hex[strcspn(hex, " ")] ? 1 : 0));
			hex[strcspn(hex, " ")] = '\0';
			cr_assert_eq(unhex(hex, &table, &cap, &len), 0,
				     "%s:%lu: bad hex in CODE line", path, lineno);
			have_code = 1;
			units = 0;
			st->codes++;
			continue;
		}
		cr_assert(have_code && sscanf(line, "L %lu %d%n", &lasti, &want, &n) == 2 &&
			  line[n] == '\0' && lasti == units,
			  "%s:%lu: bad line '%s' (want 'L %lu <line>')", path, lineno, line, units);
		got = linetable__line(table, len, first, (uint32_t)lasti);
		if (got != want) {
			if (st->mismatches < MAX_REPORTED)
				cr_log_error("%s:%lu: %s: lasti %lu: got %d, want %d", path,
					     lineno, name, lasti, got, want);
			st->mismatches++;
		}
		units++;
		st->units++;
	}
	if (have_code)
		end_code(path, name, table, len, first, units, st);
	cr_assert(!ferror(f), "error reading %s", path);
	fclose(f);
	free(line);
	free(name);
	free(table);
}

Test(linetable, fixtures)
{
	static const char *const patterns[] = {
		"tests/unit/data/linetable-*.txt",
		"build/fixtures/linetable-*.txt",
	};
	unsigned long total_units = 0, total_bad = 0, files = 0;
	int have_311 = 0;

	for (size_t p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++) {
		glob_t g;
		int r = glob(patterns[p], 0, NULL, &g);

		cr_assert(r == 0 || r == GLOB_NOMATCH, "glob(%s) failed: %d", patterns[p], r);
		for (size_t i = 0; r == 0 && i < g.gl_pathc; i++) {
			struct fixture_stats st = { 0 };
			const char *path = g.gl_pathv[i];

			check_fixture(path, &st);
			cr_log_info("%s: %lu code objects, %lu code units, %lu mismatches", path,
				    st.codes, st.units, st.mismatches);
			cr_expect_gt(st.units, 0, "%s has no code units", path);
			if (!strcmp(path, "tests/unit/data/linetable-3.11.txt"))
				have_311 = 1;
			total_units += st.units;
			total_bad += st.mismatches;
			files++;
		}
		if (r == 0)
			globfree(&g);
	}
	cr_assert(have_311, "tests/unit/data/linetable-3.11.txt not found (run from the repo root)");
	cr_assert_eq(total_bad, 0, "%lu of %lu code units decoded wrong (%lu files)", total_bad,
		     total_units, files);
}
