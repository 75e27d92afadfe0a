// SPDX-License-Identifier: MIT
/* Unit tests: symbolizer/pysym.c (code objects and str objects read out of
 * another process's memory). The "process" is a byte buffer at a fake base
 * address holding objects laid out as pylayout says for 3.11 and 3.12+:
 * a test of a parser of bytes; the e2e tests read real interpreters. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pylayout.h"
#include "pysym.h"

#define BASE		0x7f1200000000ULL
#define MEM_SIZE	0x200000
#define CODE_TYPE	0x5566778899a0ULL	/* &PyCode_Type */
#define STR_TYPE	0x5566778899b0ULL
#define BYTES_TYPE	0x5566778899c0ULL

/* ---- a fake process --------------------------------------------------- */

static uint8_t *mem;
static uint64_t brk_;		/* next free byte, as an address */
static unsigned int n_reads;
static struct py_layout L;
static struct pysym *S;

static int fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	cr_assert_eq(ctx, (void *)&mem, "the callback's context is passed through");
	n_reads++;
	if (addr < BASE || addr - BASE > MEM_SIZE || len > MEM_SIZE - (addr - BASE))
		return -EFAULT;
	memcpy(buf, mem + (addr - BASE), len);
	return 0;
}

static uint8_t *at(uint64_t addr)
{
	cr_assert(addr >= BASE && addr - BASE < MEM_SIZE, "%#llx outside", (unsigned long long)addr);
	return mem + (addr - BASE);
}

static void put(uint64_t addr, const void *v, size_t len)
{
	cr_assert(addr >= BASE && addr + len <= BASE + MEM_SIZE);
	memcpy(at(addr), v, len);
}

static void put64(uint64_t addr, uint64_t v)
{
	put(addr, &v, 8);
}

static void put32(uint64_t addr, uint32_t v)
{
	put(addr, &v, 4);
}

static uint64_t alloc(size_t len)
{
	uint64_t a = brk_;

	brk_ += (len + 15) & ~(size_t)15;
	cr_assert_leq(brk_, BASE + MEM_SIZE, "fake memory full");
	return a;
}

static void init_layout(unsigned int minor)
{
	char why[128];

	free(mem);
	mem = calloc(1, MEM_SIZE);
	cr_assert_not_null(mem);
	/* garbage everywhere nothing was put, as in a real heap */
	for (size_t i = 0; i < MEM_SIZE; i++)
		mem[i] = (uint8_t)(i * 131 + 7);
	brk_ = BASE + 0x100;
	n_reads = 0;
	/* 3.13+ code and str offsets are those of 3.12 (docs/cpython-layouts.md) */
	cr_assert_eq(pylayout__init(&L, minor, NULL, 0, why, sizeof(why)), 0, "%s", why);
	pysym__free(S);
	S = pysym__new(&L, CODE_TYPE, fake_read, &mem);
	cr_assert_not_null(S);
}

static void fini(void)
{
	pysym__free(S);
	S = NULL;
	free(mem);
	mem = NULL;
}

TestSuite(pysym, .fini = fini);

/* state: kind in bits 2-4, compact bit 5, ascii bit 6; bits 0-1 (interned)
 * and 7 (statically allocated, 3.12+) vary; the bytes above are padding */
#define ST_COMPACT	0x20
#define ST_ASCII	0x40

/* A compact str of n code points of kind 1, 2 or 4; ascii when kind 1 and
 * all < 0x80 (unless force_latin1). */
static uint64_t put_str_cps(const uint32_t *cp, size_t n, unsigned int kind, uint8_t extra)
{
	bool ascii = kind == 1;
	uint64_t o, data;

	for (size_t i = 0; i < n; i++)
		if (cp[i] >= 0x80)
			ascii = false;
	o = alloc(L.str_compact_data + (n + 1) * kind);
	put64(o, 1);				/* refcount */
	put64(o + 8, STR_TYPE);
	put64(o + L.str_length, n);
	put32(o + L.str_state, 0xa5a5a500u | kind << 2 | ST_COMPACT | (ascii ? ST_ASCII : 0) |
			       extra);
	data = o + (ascii ? L.str_ascii_data : L.str_compact_data);
	for (size_t i = 0; i <= n; i++) {
		uint32_t c = i < n ? cp[i] : 0;

		put(data + i * kind, &c, kind);	/* little endian */
	}
	return o;
}

static uint64_t put_ascii(const char *s)
{
	uint32_t cp[2048];
	size_t n = strlen(s);

	cr_assert_lt(n, 2048);
	for (size_t i = 0; i < n; i++)
		cp[i] = (unsigned char)s[i];
	return put_str_cps(cp, n, 1, 0);
}

static uint64_t put_bytes(const uint8_t *b, size_t n)
{
	uint64_t o = alloc(32 + n + 1);

	put64(o, 1);
	put64(o + 8, BYTES_TYPE);
	put64(o + 16, n);			/* ob_size */
	put64(o + 24, (uint64_t)-1);		/* ob_shash */
	put(o + 32, b, n);
	at(o + 32)[n] = 0;
	return o;
}

/* A location table for co_firstlineno 10: code units 0-1 on line 11,
 * 2-4 on line 14, 5 without a line, 6 on line 13. */
#define E(kind, units) (uint8_t)(0x80 | (kind) << 3 | ((units) - 1))
static const uint8_t linetable[] = {
	E(11, 2), 0x04, 0x09,	/* one-line form: line += 1 */
	E(13, 3), 0x06,		/* no columns: line += svarint 3 */
	E(15, 1),		/* no location */
	E(13, 1), 0x03,		/* line -= 1 */
};

struct code_def {
	uint64_t filename, name, qualname, linetable;
	int32_t firstlineno;
	uint32_t version;	/* co_version (3.12+); 0: the counter wrapped */
	uint64_t type;
};

static void put_code_at(uint64_t o, const struct code_def *d)
{
	put64(o, 1);
	put64(o + 8, d->type);
	put64(o + L.code_filename, d->filename);
	put64(o + L.code_name, d->name);
	put64(o + L.code_qualname, d->qualname);
	put64(o + L.code_linetable, d->linetable);
	put32(o + L.code_firstlineno, (uint32_t)d->firstlineno);
	if (L.code_version)
		put32(o + L.code_version, d->version);
}

static uint64_t put_code(const struct code_def *d)
{
	uint64_t o = alloc(L.bpf.code_adaptive + 64);

	put_code_at(o, d);
	return o;
}

/* The qualname part of the guard: its length and first 16 bytes, read
 * from LS_STR_WIN bytes at the str (none when those are unreadable). */
static uint32_t name_guard(uint64_t qualname)
{
	uint64_t len, w0, w1;

	if (qualname < BASE || qualname + LS_STR_WIN > BASE + MEM_SIZE)
		return 0;
	memcpy(&len, at(qualname + L.bpf.str_length), 8);
	memcpy(&w0, at(qualname + L.bpf.str_data), 8);
	memcpy(&w1, at(qualname + L.bpf.str_data + 8), 8);
	return ls_name_guard(len, w0, w1);
}

/* The guard from a code object's fields: co_version, where there is one
 * and it is not 0, stands for the qualname's bytes. */
static uint32_t guard_from(uint32_t first, uint64_t fn, uint64_t qn, uint64_t lt,
			   uint32_t version)
{
	return ls_code_guard(first, fn, qn, lt) ^
	       (L.code_version && version ? ls_version_guard(version) : name_guard(qn));
}

/* The guard of d as it is in memory now. */
static uint32_t guard_of(const struct code_def *d)
{
	return guard_from(d->firstlineno, d->filename, d->qualname, d->linetable,
			  d->version);
}

/* The code object of "async def handle(self)" in class Handler. */
static struct code_def handler_code(void)
{
	struct code_def d = {
		.filename = put_ascii("/srv/app/handlers.py"),
		.name = put_ascii("handle"),
		.qualname = put_ascii("Handler.handle"),
		.linetable = put_bytes(linetable, sizeof(linetable)),
		.firstlineno = 10,
		.type = CODE_TYPE,
	};

	return d;
}

/* The guard as the walker computes it: from the code window it read. */
static uint32_t walker_guard(uint64_t code)
{
	const struct ls_py_offsets *o = &L.bpf;
	const uint8_t *w = at(code + o->code_win);
	uint32_t first, version = 0;
	uint64_t fn, qn, lt;

	memcpy(&first, w + o->code_firstlineno, 4);
	memcpy(&fn, w + o->code_filename, 8);
	memcpy(&qn, w + o->code_qualname, 8);
	memcpy(&lt, w + o->code_linetable, 8);
	if (o->code_version != LS_NO_OFF)
		memcpy(&version, w + o->code_version, 4);
	return guard_from(first, fn, qn, lt, version);
}

/* ---- code objects ------------------------------------------------------ */

static void check_code(unsigned int minor)
{
	struct code_def d;
	const struct pycode *c;
	uint64_t code;

	init_layout(minor);
	d = handler_code();
	code = put_code(&d);
	cr_assert_eq(walker_guard(code), guard_of(&d));
	c = pysym__code(S, code, guard_of(&d));
	cr_assert_not_null(c, "3.%u: code object not read", minor);
	cr_expect_eq(c->addr, code);
	cr_expect_eq(c->guard, guard_of(&d));
	cr_expect_str_eq(c->qualname, "Handler.handle");
	cr_expect_str_eq(c->filename, "/srv/app/handlers.py");
	cr_expect_eq(c->firstlineno, 10);
	cr_assert_eq(c->linetable_len, sizeof(linetable));
	cr_expect_arr_eq(c->linetable, linetable, sizeof(linetable));
	cr_expect_eq(pysym__line(c, 0), 11);
	cr_expect_eq(pysym__line(c, 1), 11);
	cr_expect_eq(pysym__line(c, 2), 14);
	cr_expect_eq(pysym__line(c, 4), 14);
	cr_expect_eq(pysym__line(c, 5), 0);	/* no location */
	cr_expect_eq(pysym__line(c, 6), 13);
	cr_expect_eq(pysym__line(c, 7), 0);	/* past the end */
	cr_expect_eq(pysym__line(c, 100000), 0);
}

Test(pysym, code_311)
{
	check_code(11);
}

Test(pysym, code_312)
{
	check_code(12);
}

/* Unchecked guard (0) and unchecked type (code_type 0). */
Test(pysym, unchecked)
{
	struct code_def d;
	uint64_t code;
	const struct pycode *c;

	init_layout(12);
	d = handler_code();
	d.type = 0x1234;
	code = put_code(&d);
	cr_expect_null(pysym__code(S, code, 0), "a code object of another type");
	pysym__free(S);
	S = pysym__new(&L, 0, fake_read, &mem);
	cr_assert_not_null(S);
	c = pysym__code(S, code, 0);
	cr_assert_not_null(c, "type not checked: read");
	cr_expect_str_eq(c->qualname, "Handler.handle");
	cr_expect_eq(c->guard, guard_of(&d));
}

Test(pysym, cache_hit)
{
	struct code_def d;
	uint64_t code;
	const struct pycode *c, *c2;
	unsigned int reads;

	init_layout(11);
	d = handler_code();
	code = put_code(&d);
	c = pysym__code(S, code, guard_of(&d));
	cr_assert_not_null(c);
	reads = n_reads;
	cr_assert_gt(reads, 0);
	c2 = pysym__code(S, code, guard_of(&d));
	cr_expect_eq(c2, c);
	cr_expect_eq(pysym__code(S, code, 0), c, "guard 0 takes what is cached");
	cr_expect_eq(n_reads, reads, "a hit reads nothing");
	/* even when the memory is gone since */
	memset(at(code), 0, 64);
	cr_expect_eq(pysym__code(S, code, guard_of(&d)), c);
	cr_expect_str_eq(c->qualname, "Handler.handle");
}

/* Code object PREFIX<i> (first line i + 1) at at (0: allocated), read
 * once through pysym; its address, its guard in *guard. */
static uint64_t numbered_code(const char *prefix, int i, uint64_t at, uint32_t *guard)
{
	char name[32];
	struct code_def d = handler_code();

	snprintf(name, sizeof(name), "%s%d", prefix, i);
	d.qualname = put_ascii(name);
	d.firstlineno = i + 1;
	if (at)
		put_code_at(at, &d);
	else
		at = put_code(&d);
	*guard = guard_of(&d);
	cr_assert_not_null(pysym__code(S, at, *guard));
	return at;
}

static void expect_numbered(const struct pycode *c, const char *prefix, int i)
{
	char name[32];

	snprintf(name, sizeof(name), "%s%d", prefix, i);
	cr_expect_str_eq(c->qualname, name);
}

/* Many code objects: each its own entry, all hits the second time. */
Test(pysym, many_code_objects)
{
	enum { MANY = 150 };
	uint64_t codes[MANY];
	uint32_t guards[MANY];
	unsigned int reads;

	init_layout(12);
	for (int i = 0; i < MANY; i++)
		codes[i] = numbered_code("f", i, 0, &guards[i]);
	reads = n_reads;
	for (int i = 0; i < MANY; i++) {
		const struct pycode *c = pysym__code(S, codes[i], guards[i]);

		cr_assert_not_null(c);
		expect_numbered(c, "f", i);
		cr_expect_eq(c->firstlineno, i + 1);
	}
	cr_expect_eq(n_reads, reads);
}

/* The cache is bounded: code objects past a bucket's share (addresses
 * 64 KiB apart share one) push out the oldest, which is read again when
 * asked for, still right; the newest stay hits. */
Test(pysym, bounded_per_bucket)
{
	enum { MANY = 20, STRIDE = 0x10000 };
	uint64_t far = BASE + 3 * STRIDE, codes[MANY];
	uint32_t guards[MANY];
	unsigned int reads;

	init_layout(12);
	for (int i = 0; i < MANY; i++)
		codes[i] = numbered_code("g", i, far + (uint64_t)i * STRIDE, &guards[i]);
	reads = n_reads;
	cr_expect_not_null(pysym__code(S, codes[MANY - 1], guards[MANY - 1]));
	cr_expect_eq(n_reads, reads, "the newest is kept");
	for (int i = 0; i < MANY; i++) {
		const struct pycode *c = pysym__code(S, codes[i], guards[i]);

		cr_assert_not_null(c);
		expect_numbered(c, "g", i);
	}
	cr_expect_gt(n_reads, reads, "the oldest was pushed out and read again");
}

/* A code object freed and its address reused by another: the walker's
 * guard is the new one's, and the symbolizer reads it anew. */
Test(pysym, address_reused)
{
	struct code_def a, b;
	uint64_t code;
	const struct pycode *c;
	unsigned int reads;

	init_layout(12);
	a = handler_code();
	code = put_code(&a);
	c = pysym__code(S, code, guard_of(&a));
	cr_assert_not_null(c);
	cr_expect_str_eq(c->qualname, "Handler.handle");

	b = a;
	b.qualname = put_ascii("<lambda>");
	b.filename = put_ascii("/srv/app/other.py");
	b.firstlineno = 99;
	put_code_at(code, &b);
	cr_assert_neq(guard_of(&a), guard_of(&b));
	cr_assert_eq(walker_guard(code), guard_of(&b));
	c = pysym__code(S, code, guard_of(&b));
	cr_assert_not_null(c, "the new code object at the same address");
	cr_expect_str_eq(c->qualname, "<lambda>");
	cr_expect_str_eq(c->filename, "/srv/app/other.py");
	cr_expect_eq(c->firstlineno, 99);
	cr_expect_eq(c->guard, guard_of(&b));
	/* now cached */
	reads = n_reads;
	cr_expect_eq(pysym__code(S, code, guard_of(&b)), c);
	cr_expect_eq(n_reads, reads);
	/* a late sample of the old one: memory holds the new one, no match */
	cr_expect_null(pysym__code(S, code, guard_of(&a)));
	/* and the cache still has the new one */
	c = pysym__code(S, code, guard_of(&b));
	cr_assert_not_null(c);
	cr_expect_str_eq(c->qualname, "<lambda>");
}

/* Only the qualname pointer changed (same file, same line): still a
 * different guard. */
Test(pysym, guard_covers_each_field)
{
	struct code_def a, b;

	init_layout(11);
	a = handler_code();
	b = a;
	b.qualname = a.name;
	cr_expect_neq(guard_of(&a), guard_of(&b), "qualname");
	b = a;
	b.filename = a.name;
	cr_expect_neq(guard_of(&a), guard_of(&b), "filename");
	b = a;
	b.linetable = a.name;
	cr_expect_neq(guard_of(&a), guard_of(&b), "linetable");
	b = a;
	b.firstlineno++;
	cr_expect_neq(guard_of(&a), guard_of(&b), "firstlineno");
}

/* code.replace() in a loop: the code object and its strs all freed and
 * reallocated at the same addresses. Only the qualname's text tells the
 * new object from the old. */
Test(pysym, address_and_strings_reused)
{
	struct code_def d;
	uint64_t code;
	uint32_t g1, g2;
	const struct pycode *c;

	init_layout(12);
	d = handler_code();
	code = put_code(&d);
	g1 = guard_of(&d);
	c = pysym__code(S, code, g1);
	cr_assert_not_null(c);
	cr_expect_str_eq(c->qualname, "Handler.handle");
	/* same pointers everywhere, another name of the same length */
	put(d.qualname + L.str_ascii_data, "Handler.hand1e", 14);
	g2 = guard_of(&d);
	cr_assert_neq(g1, g2);
	cr_assert_eq(walker_guard(code), g2);
	c = pysym__code(S, code, g2);
	cr_assert_not_null(c);
	cr_expect_str_eq(c->qualname, "Handler.hand1e");
	cr_expect_null(pysym__code(S, code, g1), "the old one is gone");
}

/* 3.12+: code.replace() in a loop gives every new object its own
 * co_version; that alone tells them apart, co_qualname is not read. */
Test(pysym, version_tells_reused_apart)
{
	struct code_def d;
	uint64_t code;
	uint32_t g1, g2;
	const struct pycode *c;

	init_layout(12);
	d = handler_code();
	d.version = 1041;
	code = put_code(&d);
	g1 = guard_of(&d);
	cr_assert_eq(walker_guard(code), g1);
	cr_assert_not_null(pysym__code(S, code, g1));
	/* the same pointers and name, the next version: another guard */
	d.version = 1043;
	put_code_at(code, &d);
	g2 = guard_of(&d);
	cr_assert_neq(g1, g2);
	cr_assert_eq(walker_guard(code), g2);
	cr_assert_not_null(c = pysym__code(S, code, g2));
	cr_expect_str_eq(c->qualname, "Handler.handle");
	cr_expect_null(pysym__code(S, code, g1), "the old one is gone");
	/* the name's bytes do not count while there is a version */
	put(d.qualname + L.str_ascii_data, "Handler.hand1e", 14);
	cr_expect_eq(guard_of(&d), g2);
	cr_expect_eq(walker_guard(code), g2);
	/* 3.11 has no co_version */
	init_layout(11);
	cr_expect_eq(L.bpf.code_version, LS_NO_OFF);
}

/* The name guard takes the string's own bytes only, whatever follows it;
 * the first 16 of them, and the length. */
Test(pysym, name_guard_own_bytes)
{
	static const char *const names[] = { "", "f", "seven77", "eight888", "fifteen15151515",
					     "sixteen161616161", "a much longer qualified.name" };

	init_layout(12);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct code_def d = handler_code();
		size_t n = strlen(names[i]);
		uint32_t g;

		d.qualname = put_ascii(names[i]);
		g = guard_of(&d);
		/* what follows the string changes: same guard */
		memset(at(d.qualname + L.str_ascii_data + n), 0x5c, 24);
		cr_expect_eq(guard_of(&d), g, "\"%s\": bytes after it counted", names[i]);
		/* a character within the first 16 changes: another guard */
		if (n) {
			at(d.qualname + L.str_ascii_data)[(n < 16 ? n : 16) - 1] ^= 1;
			cr_expect_neq(guard_of(&d), g, "\"%s\": last byte not counted", names[i]);
			at(d.qualname + L.str_ascii_data)[(n < 16 ? n : 16) - 1] ^= 1;
		}
		/* the length changes: another guard */
		put64(d.qualname + L.str_length, n + 1);
		cr_expect_neq(guard_of(&d), g, "\"%s\": length not counted", names[i]);
		put64(d.qualname + L.str_length, n);
		/* and pysym agrees with the walker */
		cr_assert_not_null(pysym__code(S, put_code(&d), g), "\"%s\"", names[i]);
	}
}

Test(pysym, guard_matching_neither)
{
	struct code_def d;
	uint64_t code;
	const struct pycode *c;

	init_layout(12);
	d = handler_code();
	code = put_code(&d);
	/* not cached yet: read, no match, nothing kept */
	cr_expect_null(pysym__code(S, code, guard_of(&d) ^ 0x5a5a5a5a));
	c = pysym__code(S, code, guard_of(&d));
	cr_assert_not_null(c);
	/* cached: a guard of neither the cached nor the current object */
	cr_expect_null(pysym__code(S, code, guard_of(&d) + 1));
	cr_expect_eq(pysym__code(S, code, guard_of(&d)), c, "the cached entry stays");
	cr_expect_str_eq(c->qualname, "Handler.handle");
}

Test(pysym, wrong_type)
{
	struct code_def d;
	uint64_t code;

	init_layout(12);
	d = handler_code();
	d.type = STR_TYPE;
	code = put_code(&d);
	cr_expect_null(pysym__code(S, code, guard_of(&d)));
	cr_expect_null(pysym__code(S, code, 0));
	/* becomes a code object: read now (nothing negative was cached) */
	d.type = CODE_TYPE;
	put_code_at(code, &d);
	cr_expect_not_null(pysym__code(S, code, guard_of(&d)));
}

Test(pysym, unreadable)
{
	struct code_def d;
	uint64_t code;

	init_layout(12);
	d = handler_code();
	cr_expect_null(pysym__code(S, 0, 0), "NULL");
	cr_expect_null(pysym__code(S, 0x1000, 0), "unmapped");
	cr_expect_null(pysym__code(S, BASE + MEM_SIZE + 0x1000, 0), "unmapped");
	/* the object runs off the end of the mapping */
	code = BASE + MEM_SIZE - L.code_linetable - 4;
	put64(code + 8, CODE_TYPE);
	put64(code + L.code_filename, d.filename);
	put64(code + L.code_qualname, d.qualname);
	cr_expect_null(pysym__code(S, code, 0), "cut by the end of memory");
	/* its strings unreadable */
	d.qualname = 0xdead0000;
	code = put_code(&d);
	cr_expect_null(pysym__code(S, code, guard_of(&d)), "qualname unreadable");
	d = handler_code();
	d.filename = 0;
	code = put_code(&d);
	cr_expect_null(pysym__code(S, code, guard_of(&d)), "filename NULL");
	/* a filename that is not a compact str */
	d = handler_code();
	code = put_code(&d);
	put32(d.filename + L.str_state, 0x04);	/* kind 1, not compact */
	cr_expect_null(pysym__code(S, code, guard_of(&d)), "legacy str");
}

/* No line table: the names are still worth having; lines are 0. */
Test(pysym, linetable_unreadable)
{
	struct code_def d;
	uint64_t code;
	const struct pycode *c;

	init_layout(12);
	d = handler_code();
	d.linetable = 0xdead0000;
	code = put_code(&d);
	c = pysym__code(S, code, guard_of(&d));
	cr_assert_not_null(c);
	cr_expect_str_eq(c->qualname, "Handler.handle");
	cr_expect_eq(c->linetable_len, 0);
	cr_expect_eq(pysym__line(c, 0), 0);

	/* absurd size */
	d = handler_code();
	put64(d.linetable + 16, 1ULL << 40);
	code = put_code(&d);
	c = pysym__code(S, code, guard_of(&d));
	cr_assert_not_null(c);
	cr_expect_eq(c->linetable_len, 0);
	cr_expect_eq(pysym__line(c, 0), 0);

	/* empty */
	d = handler_code();
	d.linetable = put_bytes(linetable, 0);
	code = put_code(&d);
	c = pysym__code(S, code, guard_of(&d));
	cr_assert_not_null(c);
	cr_expect_eq(c->linetable_len, 0);
	cr_expect_eq(pysym__line(c, 0), 0);
}

/* ---- str objects ------------------------------------------------------ */

static void expect_str(uint64_t addr, const char *want, const char *what)
{
	char out[8192];

	memset(out, 'Z', sizeof(out));
	cr_assert_eq(pysym__read_str(S, addr, out, sizeof(out)), 0, "%s: not read", what);
	cr_expect_str_eq(out, want, "%s", what);
}

static void check_strs(unsigned int minor)
{
	static const uint32_t latin1[] = { 'c', 'a', 'f', 0xe9 };		/* café */
	static const uint32_t ucs2[] = { 0x3a9, 'm', 'e', 'g', 'a', ' ', 0x20ac };	/* Ωmega € */
	static const uint32_t ucs4[] = { 's', 'n', 'a', 'k', 'e', ' ', 0x1f40d };	/* 🐍 */
	static const uint32_t maxes[] = { 0x7f, 0x80, 0x7ff, 0x800, 0xffff, 0x10000, 0x10ffff };

	init_layout(minor);
	expect_str(put_ascii("Handler.handle"), "Handler.handle", "ascii");
	expect_str(put_ascii(""), "", "empty");
	expect_str(put_str_cps(latin1, 4, 1, 0), "caf\xc3\xa9", "latin1");
	expect_str(put_str_cps(ucs2, 7, 2, 0), "\xce\xa9mega \xe2\x82\xac", "UCS2");
	expect_str(put_str_cps(ucs4, 7, 4, 0), "snake \xf0\x9f\x90\x8d", "UCS4");
	/* the other state bits do not matter: interned, statically allocated */
	expect_str(put_str_cps(latin1, 4, 1, 0x83), "caf\xc3\xa9", "latin1, other bits");
	expect_str(put_str_cps(ucs4, 7, 4, 0x81), "snake \xf0\x9f\x90\x8d", "UCS4, other bits");
	/* an ASCII str stored as UCS2 (legal, if unusual) */
	expect_str(put_str_cps((const uint32_t[]){ 'o', 'k' }, 2, 2, 0), "ok", "ascii in UCS2");
	/* the UTF-8 length boundaries */
	expect_str(put_str_cps(maxes, 7, 4, 0),
		   "\x7f" "\xc2\x80" "\xdf\xbf" "\xe0\xa0\x80" "\xef\xbf\xbf" "\xf0\x90\x80\x80"
		   "\xf4\x8f\xbf\xbf", "boundaries");
}

Test(pysym, str_311)
{
	check_strs(11);
}

Test(pysym, str_312)
{
	check_strs(12);
}

/* A non-ASCII qualname and filename come out as UTF-8. */
Test(pysym, code_non_ascii_names)
{
	static const uint32_t qn[] = { 'C', 'a', 'f', 0xe9, '.', 0x3a9, 0x1f40d };
	struct code_def d;
	const struct pycode *c;
	uint64_t code;

	init_layout(11);
	d = handler_code();
	d.qualname = put_str_cps(qn, 7, 4, 0);
	d.filename = put_str_cps((const uint32_t[]){ '/', 0xe9, '.', 'p', 'y' }, 5, 1, 0);
	code = put_code(&d);
	c = pysym__code(S, code, guard_of(&d));
	cr_assert_not_null(c);
	cr_expect_str_eq(c->qualname, "Caf\xc3\xa9.\xce\xa9\xf0\x9f\x90\x8d");
	cr_expect_str_eq(c->filename, "/\xc3\xa9.py");
}

Test(pysym, str_errors)
{
	char out[64];
	uint64_t s;

	init_layout(12);
	strcpy(out, "junk");
	cr_expect_eq(pysym__read_str(S, 0, out, sizeof(out)), -EFAULT);
	cr_expect_str_eq(out, "", "cleared on error");
	cr_expect_eq(pysym__read_str(S, 0x1000, out, sizeof(out)), -EFAULT);
	/* not compact (a legacy str) */
	s = put_ascii("abc");
	put32(s + L.str_state, 0x44);
	cr_expect_eq(pysym__read_str(S, s, out, sizeof(out)), -EINVAL);
	/* kinds other than 1, 2, 4 */
	put32(s + L.str_state, 0 << 2 | ST_COMPACT);
	cr_expect_eq(pysym__read_str(S, s, out, sizeof(out)), -EINVAL);
	put32(s + L.str_state, 3 << 2 | ST_COMPACT);
	cr_expect_eq(pysym__read_str(S, s, out, sizeof(out)), -EINVAL);
	put32(s + L.str_state, 7 << 2 | ST_COMPACT);
	cr_expect_eq(pysym__read_str(S, s, out, sizeof(out)), -EINVAL);
	/* data beyond readable memory */
	s = BASE + MEM_SIZE - L.str_ascii_data - 2;
	put64(s + L.str_length, 100);
	put32(s + L.str_state, 1 << 2 | ST_COMPACT | ST_ASCII);
	cr_expect_eq(pysym__read_str(S, s, out, sizeof(out)), -EFAULT);
}

/* Output is cut to max bytes on a character boundary, NUL included. */
Test(pysym, str_cut_to_max)
{
	static const uint32_t cps[] = { 'c', 'a', 'f', 0xe9, 0x1f40d };
	uint64_t s;
	char out[32];

	init_layout(12);
	s = put_str_cps(cps, 5, 4, 0);	/* "café🐍": 3 + 2 + 4 bytes */
	memset(out, 'Z', sizeof(out));
	cr_assert_eq(pysym__read_str(S, s, out, 10), 0);
	cr_expect_str_eq(out, "caf\xc3\xa9\xf0\x9f\x90\x8d");
	memset(out, 'Z', sizeof(out));
	cr_assert_eq(pysym__read_str(S, s, out, 9), 0);
	cr_expect_str_eq(out, "caf\xc3\xa9", "no room for the emoji and the NUL");
	cr_expect_eq(out[9], 'Z', "wrote past max");
	cr_assert_eq(pysym__read_str(S, s, out, 5), 0);
	cr_expect_str_eq(out, "caf", "no half character");
	cr_assert_eq(pysym__read_str(S, s, out, 1), 0);
	cr_expect_str_eq(out, "");
}

/* At most 1024 characters are read of a long str. */
Test(pysym, str_long_cut)
{
	static char big[2000];
	char out[4200];
	uint64_t s;

	init_layout(12);
	memset(big, 'x', sizeof(big) - 1);
	s = put_ascii(big);
	cr_assert_eq(pysym__read_str(S, s, out, sizeof(out)), 0);
	cr_expect_eq(strlen(out), 1024);
	/* and a huge length is not trusted */
	put64(s + L.str_length, 1ULL << 62);
	cr_assert_eq(pysym__read_str(S, s, out, sizeof(out)), 0);
	cr_expect_eq(strlen(out), 1024);
}

Test(pysym, free_null)
{
	pysym__free(NULL);
}
