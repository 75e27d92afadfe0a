// SPDX-License-Identifier: MIT
/* Unit tests: symbolizer/pyobj.c (ints, strs, dicts and instance
 * attributes read out of another process's memory), on a fake target laid
 * out per version (fakepy.h); the e2e tests read real interpreters. */
#include "fakepy.h"

TestSuite(pyobj, .fini = fk_fini);

/* ---- ints ------------------------------------------------------------- */

/* The bytes of an int as 3.11 (ob_size) or 3.12+ (lv_tag) lays it out. */
static size_t long_bytes(uint8_t *b, bool tagged, int sign, unsigned int nd,
			 const uint32_t *digits)
{
	uint64_t w = tagged ? (uint64_t)nd << 3 | (sign > 0 ? 0 : sign ? 2 : 1)
			    : (uint64_t)(sign < 0 ? -(int64_t)nd : (int64_t)nd);

	memset(b, 0xee, 64);
	memcpy(b + 16, &w, 8);
	if (nd)			/* digits may be NULL then */
		memcpy(b + 24, digits, 4 * nd);
	return 24 + 4 * nd;
}

static void expect_long(const struct py_obj_offsets *o, int sign, unsigned int nd,
			const uint32_t *digits, int64_t want)
{
	uint8_t b[64];
	size_t len = long_bytes(b, o->long_tagged, sign, nd, digits);
	int64_t v = 12345;

	cr_assert_eq(pyobj__long_parse(o, b, len, &v), 0, "tagged %d, %u digits",
		     o->long_tagged, nd);
	cr_expect_eq(v, want, "tagged %d: %lld, not %lld", o->long_tagged, (long long)v,
		     (long long)want);
}

Test(pyobj, long_parse)
{
	static const uint32_t one[] = { 1 }, tid[] = { 4194303 };
	static const uint32_t two[] = { 5, 1 };			/* 2^30 + 5 */
	static const uint32_t ident[] = { 0x3ff0e0c0, 0x1fa7d };	/* a pthread_t */
	static const uint32_t max[] = { 0x3fffffff, 0x3fffffff, 7 };	/* 2^63 - 1 */

	for (unsigned int minor = 11; minor <= 12; minor++) {
		fk_init(minor);
		expect_long(&FL.obj, 0, 0, NULL, 0);
		expect_long(&FL.obj, 1, 1, one, 1);
		expect_long(&FL.obj, -1, 1, one, -1);
		expect_long(&FL.obj, 1, 1, tid, 4194303);
		expect_long(&FL.obj, 1, 2, two, (1LL << 30) + 5);
		expect_long(&FL.obj, 1, 2, ident, 0x1fa7dLL << 30 | 0x3ff0e0c0);
		expect_long(&FL.obj, 1, 3, max, INT64_MAX);
		expect_long(&FL.obj, -1, 3, max, -INT64_MAX);
	}
}

Test(pyobj, long_parse_refuses)
{
	static const uint32_t big[] = { 0, 0, 8 };		/* 2^63 */
	static const uint32_t four[] = { 1, 1, 1, 1 };
	static const uint32_t bad[] = { 1u << 30 };		/* not a 30-bit digit */
	uint8_t b[64];
	size_t len;
	int64_t v;

	for (unsigned int minor = 11; minor <= 12; minor++) {
		fk_init(minor);
		len = long_bytes(b, FL.obj.long_tagged, 1, 3, big);
		cr_expect_eq(pyobj__long_parse(&FL.obj, b, len, &v), -ERANGE);
		len = long_bytes(b, FL.obj.long_tagged, 1, 4, four);
		cr_expect_eq(pyobj__long_parse(&FL.obj, b, len, &v), -ERANGE);
		len = long_bytes(b, FL.obj.long_tagged, 1, 1, bad);
		cr_expect_eq(pyobj__long_parse(&FL.obj, b, len, &v), -EINVAL);
		/* digits past what was read; no header at all */
		len = long_bytes(b, FL.obj.long_tagged, 1, 2, four);
		cr_expect_eq(pyobj__long_parse(&FL.obj, b, len - 1, &v), -E2BIG);
		cr_expect_eq(pyobj__long_parse(&FL.obj, b, 20, &v), -EINVAL);
	}
	/* lv_tag: sign 3 does not exist; zero has no digits */
	fk_init(12);
	memset(b, 0, sizeof(b));
	b[16] = 1 << 3 | 3;
	cr_expect_eq(pyobj__long_parse(&FL.obj, b, 28, &v), -EINVAL);
	b[16] = 1 << 3 | 1;
	cr_expect_eq(pyobj__long_parse(&FL.obj, b, 28, &v), -EINVAL);
}

Test(pyobj, long_read)
{
	static const int64_t vals[] = { 0, 7, -7, 123456, 1LL << 40, 0x7f41f43ff0e0c0LL };

	for (unsigned int minor = 11; minor <= 13; minor++) {
		fk_init(minor);
		for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
			int64_t v = -1;

			cr_assert_eq(pyobj__long(&FO, fk_int(vals[i]), &v), 0, "3.%u %lld", minor,
				     (long long)vals[i]);
			cr_expect_eq(v, vals[i]);
		}
		/* a str is no int */
		cr_expect_eq(pyobj__long(&FO, fk_str("12"), &(int64_t){ 0 }), -EINVAL);
		cr_expect_eq(pyobj__long(&FO, 0, &(int64_t){ 0 }), -EFAULT);
	}
}

/* An int of one digit at the very end of readable memory: only what it
 * has is read. */
Test(pyobj, long_read_at_the_end_of_memory)
{
	uint64_t o;
	int64_t v;

	fk_init(12);
	o = FK_BASE + FK_SIZE - 28;
	fk_put64(o + 8, FK_INT_TYPE);
	fk_put64(o + 16, 1 << 3);
	fk_put32(o + 24, 4242);
	cr_assert_eq(pyobj__long(&FO, o, &v), 0);
	cr_expect_eq(v, 4242);
}

/* ---- strs (the decoder's cases are test_pysym's) ---------------------- */

Test(pyobj, str_type_checked)
{
	char out[64];
	uint64_t s;

	fk_init(12);
	s = fk_str("cache-warmer");
	cr_assert_eq(pyobj__str(&FO, s, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "cache-warmer");
	fk_put64(s + 8, FK_INT_TYPE);
	strcpy(out, "junk");
	cr_expect_eq(pyobj__str(&FO, s, out, sizeof(out)), -EINVAL);
	cr_expect_str_eq(out, "");
	/* no type known: not checked (code objects' fields) */
	FO.types.str = 0;
	cr_expect_eq(pyobj__str(&FO, s, out, sizeof(out)), 0);
	cr_expect_eq(pyobj__str(&FO, s, out, 0), -EINVAL);
}

/* A long str is read only as far as fits: max - 1 characters at most. */
Test(pyobj, str_reads_what_fits)
{
	static char big[1000];
	char out[8];
	uint64_t s;
	unsigned int before;

	fk_init(12);
	memset(big, 'x', sizeof(big) - 1);
	/* its data ends at the end of memory: reading all it claims would fail */
	s = FK_BASE + FK_SIZE - (FL.str_ascii_data + 999);
	fk_put64(s + 8, FK_STR_TYPE);
	fk_put64(s + FL.str_length, 1u << 20);
	fk_put32(s + FL.str_state, 1 << 2 | FK_ST_COMPACT | FK_ST_ASCII);
	fk_put(s + FL.str_ascii_data, big, 999);
	before = fk_reads;
	cr_assert_eq(pyobj__str(&FO, s, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "xxxxxxx");
	cr_expect_leq(fk_reads - before, 4);
}

/* ---- keys tables ------------------------------------------------------ */

static uint8_t hdr[32];

static void set_hdr(unsigned int log2_size, unsigned int lib, unsigned int kind, int64_t n)
{
	memset(hdr, 0x5a, sizeof(hdr));
	hdr[8] = log2_size;
	hdr[9] = lib;
	hdr[10] = kind;
	memcpy(hdr + 24, &n, 8);
}

Test(pyobj, keys_parse)
{
	struct pydict_keys k;

	fk_init(12);
	set_hdr(3, 3, 1, 5);
	cr_assert_eq(pyobj__keys_parse(&FL.obj, hdr, 0x1000, &k), 0);
	cr_expect_eq(k.kind, 1);
	cr_expect_eq(k.n, 5);
	cr_expect_eq(k.esize, 16);
	cr_expect_eq(k.koff, 0);
	cr_expect_eq(k.entries, 0x1000 + 32 + 8);
	set_hdr(8, 9, 0, 100);				/* 2-byte indices */
	cr_assert_eq(pyobj__keys_parse(&FL.obj, hdr, 0x1000, &k), 0);
	cr_expect_eq(k.esize, 24);
	cr_expect_eq(k.koff, 8);
	cr_expect_eq(k.entries, 0x1000 + 32 + 512);
	set_hdr(16, 18, 2, 0);				/* 4-byte indices */
	cr_assert_eq(pyobj__keys_parse(&FL.obj, hdr, 0x1000, &k), 0);
	cr_expect_eq(k.entries, 0x1000 + 32 + (1 << 18));
	/* a huge table: only the first PYOBJ_MAX_ENTRIES are looked at */
	set_hdr(30, 32, 1, 700000000);
	cr_assert_eq(pyobj__keys_parse(&FL.obj, hdr, 0x1000, &k), 0);
	cr_expect_eq(k.n, PYOBJ_MAX_ENTRIES);
}

Test(pyobj, keys_parse_refuses)
{
	static const struct { unsigned int log2, lib, kind; int64_t n; } bad[] = {
		{ 3, 3, 3, 1 },		/* no kind 3 */
		{ 3, 4, 1, 1 },		/* index bytes do not fit the size */
		{ 8, 8, 1, 1 },
		{ 2, 2, 1, 1 },		/* smaller than the smallest table */
		{ 41, 44, 1, 1 },	/* larger than any */
		{ 3, 3, 1, 6 },		/* more entries than usable (5 of 8) */
		{ 3, 3, 1, -1 },
	};
	struct pydict_keys k;

	fk_init(11);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set_hdr(bad[i].log2, bad[i].lib, bad[i].kind, bad[i].n);
		cr_expect_eq(pyobj__keys_parse(&FL.obj, hdr, 0x1000, &k), -EINVAL, "case %zu", i);
	}
}

/* ---- dicts ------------------------------------------------------------ */

static const char *const mods[] = { "sys", "builtins", "asyncio", "threading", "os" };

Test(pyobj, dict_get_by_str_key)
{
	uint64_t vals[5] = { 11, 22, 33, 44, 55 }, v = 0, d;
	struct pykey k = { "threading" };
	unsigned int first, again;

	for (unsigned int minor = 11; minor <= 15; minor++) {
		fk_init(minor);
		d = fk_str_dict(mods, vals, 5);
		k.addr = 0;
		fk_reads = 0;
		cr_assert_eq(pyobj__dict_get(&FO, d, &k, &v), 0, "3.%u", minor);
		cr_expect_eq(v, 44);
		cr_expect_neq(k.addr, 0, "the key's address is kept");
		first = fk_reads;
		fk_reads = 0;
		cr_assert_eq(pyobj__dict_get(&FO, d, &k, &v), 0);
		again = fk_reads;
		cr_expect_eq(v, 44);
		cr_expect_lt(again, first, "3.%u: %u reads again, %u first", minor, again, first);
		/* one read of the entries, one of the key's text */
		cr_expect_leq(again, 6, "3.%u: %u reads", minor, again);
	}
}

Test(pyobj, dict_get_missing_and_stale)
{
	uint64_t vals[5] = { 11, 22, 33, 44, 55 }, v = 0, d, keys, e;
	struct pykey k = { "threading" }, nope = { "_active" };

	fk_init(13);
	d = fk_str_dict(mods, vals, 5);
	cr_expect_eq(pyobj__dict_get(&FO, d, &nope, &v), -ENOENT);
	cr_expect_eq(nope.addr, 0);
	cr_assert_eq(pyobj__dict_get(&FO, d, &k, &v), 0);
	/* the key object is replaced by another of the same text: found by text */
	keys = fk_get64(d + FL.obj.dict_keys);
	e = keys + FL.obj.keys_indices + (1 << 7) + 3 * 16;
	fk_put64(e, fk_str("threading"));
	cr_assert_eq(pyobj__dict_get(&FO, d, &k, &v), 0);
	cr_expect_eq(k.addr, fk_get64(e), "the new address is kept");
	/* the kept address now holds another text: not taken for the key */
	fk_put(k.addr + FL.str_ascii_data, "threadinG", 9);
	cr_expect_eq(pyobj__dict_get(&FO, d, &k, &v), -ENOENT);
	/* a key of the right text but not a str */
	fk_put(k.addr + FL.str_ascii_data, "threading", 9);
	fk_put64(k.addr + 8, FK_INT_TYPE);
	k.addr = 0;
	cr_expect_eq(pyobj__dict_get(&FO, d, &k, &v), -ENOENT);
	/* deleted: no value */
	cr_assert_eq(pyobj__dict_get(&FO, d, &(struct pykey){ "asyncio" }, &v), 0);
	fk_put64(e - 16 + 8, 0);
	cr_expect_eq(pyobj__dict_get(&FO, d, &(struct pykey){ "asyncio" }, &v), -ENOENT);
}

struct items {
	uint64_t k[8], v[8];
	unsigned int n, stop_at;
};

static int collect(void *arg, uint64_t key, uint64_t value)
{
	struct items *it = arg;

	cr_assert_lt(it->n, 8);
	it->k[it->n] = key;
	it->v[it->n++] = value;
	return it->n == it->stop_at ? 77 : 0;
}

/* threading._active: int keys, a general table; deleted entries skipped. */
Test(pyobj, dict_each_general)
{
	uint64_t keys[4], vals[4] = { 0xa0, 0xb0, 0xc0, 0xd0 }, d, kt;

	for (unsigned int minor = 11; minor <= 15; minor += 2) {
		struct items it = { 0 };

		fk_init(minor);
		for (int i = 0; i < 4; i++)
			keys[i] = fk_int(140000000000000LL + i);
		kt = fk_keys(0, 3, keys, vals, 4);
		d = fk_dict(kt, 0);
		/* entry 1 deleted: no key, no value */
		fk_put64(kt + 32 + 8 + 24 + 8, 0);
		fk_put64(kt + 32 + 8 + 24 + 16, 0);
		cr_assert_eq(pyobj__dict_each(&FO, d, collect, &it), 0);
		cr_assert_eq(it.n, 3, "3.%u: %u items", minor, it.n);
		cr_expect_eq(it.k[0], keys[0]);
		cr_expect_eq(it.v[1], 0xc0);
		cr_expect_eq(it.k[2], keys[3]);
		/* fn stops the walk: its value is returned */
		it = (struct items){ .stop_at = 2 };
		cr_expect_eq(pyobj__dict_each(&FO, d, collect, &it), 77);
		cr_expect_eq(it.n, 2);
	}
}

/* A split dict: keys in the table, values apart (3.13+: their capacity
 * bounds the index). */
Test(pyobj, dict_split)
{
	static const char *const names[] = { "_target", "_name", "_args", "_native_id" };
	uint64_t keys[4], vals[4] = { 0x10, 0x20, 0x30, 0x40 }, v, d, kt;

	for (unsigned int minor = 11; minor <= 13; minor++) {
		struct items it = { 0 };

		fk_init(minor);
		for (int i = 0; i < 4; i++)
			keys[i] = fk_str(names[i]);
		kt = fk_keys(2, 3, keys, NULL, 4);
		d = fk_dict(kt, fk_values(vals, 4, 4));
		cr_assert_eq(pyobj__dict_get(&FO, d, &(struct pykey){ "_native_id" }, &v), 0,
			     "3.%u", minor);
		cr_expect_eq(v, 0x40);
		cr_assert_eq(pyobj__dict_each(&FO, d, collect, &it), 0);
		cr_expect_eq(it.n, 4);
		/* a split table without values, values without a split table */
		cr_expect_eq(pyobj__dict_each(&FO, fk_dict(kt, 0), collect, &it), -EINVAL);
		cr_expect_eq(pyobj__dict_get(&FO, fk_dict(fk_keys(1, 3, keys, vals, 4),
							  fk_values(vals, 4, 4)),
					     &(struct pykey){ "_name" }, &v), -EINVAL);
	}
	/* 3.13+: an index at or past the values' capacity has no value */
	fk_init(14);
	for (int i = 0; i < 4; i++)
		keys[i] = fk_str(names[i]);
	d = fk_dict(fk_keys(2, 3, keys, NULL, 4), fk_values(vals, 3, 3));
	cr_expect_eq(pyobj__dict_get(&FO, d, &(struct pykey){ "_native_id" }, &v), -ENOENT);
	cr_expect_eq(pyobj__dict_get(&FO, d, &(struct pykey){ "_args" }, &v), 0);
}

/* Whatever the target holds, a walk ends: a table claiming hundreds of
 * millions of entries is cut to PYOBJ_MAX_ENTRIES, and its reads fail at
 * the end of memory. */
Test(pyobj, dict_hostile)
{
	uint64_t kt, d, v;
	struct items it = { 0 };

	fk_init(12);
	kt = fk_keys(1, 3, NULL, NULL, 0);
	fk_put8(kt + 8, 30);
	fk_put8(kt + 9, 32);
	fk_put64(kt + 24, 700000000);
	d = fk_dict(kt, 0);
	fk_reads = 0;
	cr_expect_eq(pyobj__dict_each(&FO, d, collect, &it), -EFAULT);
	cr_expect_leq(fk_reads, 10);
	/* a dict whose keys are garbage, or nowhere; no dict at all */
	fk_put64(d + FL.obj.dict_keys, fk_alloc(64));
	cr_expect_eq(pyobj__dict_get(&FO, d, &(struct pykey){ "x" }, &v), -EINVAL);
	fk_put64(d + FL.obj.dict_keys, 0x10);
	cr_expect_eq(pyobj__dict_get(&FO, d, &(struct pykey){ "x" }, &v), -EFAULT);
	cr_expect_eq(pyobj__dict_get(&FO, 0, &(struct pykey){ "x" }, &v), -EFAULT);
	fk_put64(d + 8, FK_STR_TYPE);
	cr_expect_eq(pyobj__dict_each(&FO, d, collect, &it), -EINVAL);
	/* a key name too long to be one */
	cr_expect_eq(pyobj__dict_get(&FO, fk_str_dict(mods, (uint64_t[]){ 1, 2, 3, 4, 5 }, 5),
				     &(struct pykey){ "a-key-name-longer-than-32-bytes-x" }, &v),
		     -ENOENT);
}

/* ---- instance attributes ---------------------------------------------- */

static const char *const tnames[] = { "_target", "_name", "_args", "_kwargs", "_daemonic",
				      "_ident", "_native_id", "_started" };

/* A Thread-like instance of 3.minor: _name and _native_id from its values
 * and, once its dict is made, from its dict. */
static void check_attrs(unsigned int minor)
{
	uint64_t vals[8], type = 0, obj, v;
	struct pykey name = { "_name" }, nid = { "_native_id" }, none = { "_nope" };
	char out[64];
	int64_t tid;

	fk_init(minor);
	for (int i = 0; i < 8; i++)
		vals[i] = fk_int(1000 + i);
	vals[1] = fk_str("cache-warmer-with-a-long-name");
	vals[6] = fk_int(23931);
	for (int as_dict = 0; as_dict < 2; as_dict++) {
		obj = fk_instance(tnames, vals, 8, as_dict, &type);
		cr_assert_eq(pyobj__attr(&FO, obj, &name, &v), 0, "3.%u %s", minor,
			     as_dict ? "dict" : "values");
		cr_assert_eq(pyobj__str(&FO, v, out, sizeof(out)), 0);
		cr_expect_str_eq(out, "cache-warmer-with-a-long-name");
		cr_assert_eq(pyobj__attr(&FO, obj, &nid, &v), 0, "3.%u", minor);
		cr_assert_eq(pyobj__long(&FO, v, &tid), 0);
		cr_expect_eq(tid, 23931);
		cr_expect_eq(pyobj__attr(&FO, obj, &none, &v), -ENOENT);
	}
}

Test(pyobj, attrs_311)
{
	check_attrs(11);
}

Test(pyobj, attrs_312)
{
	check_attrs(12);
}

Test(pyobj, attrs_313)
{
	check_attrs(13);
}

Test(pyobj, attrs_315)
{
	check_attrs(15);
}

/* 3.11/3.12 after obj.__dict__: a split dict sharing the cached keys. */
Test(pyobj, attrs_split_dict_311)
{
	uint64_t vals[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, type = 0, obj, v, keys, dict;

	fk_init(11);
	vals[1] = fk_str("worker");
	obj = fk_instance(tnames, vals, 8, false, &type);
	keys = fk_get64(type + FL.obj.type_cached_keys);
	dict = fk_dict(keys, fk_get64(obj + FL.obj.attrs_values));
	fk_put64(obj + FL.obj.attrs_values, 0);
	fk_put64(obj + FL.obj.attrs_dict, dict);
	cr_assert_eq(pyobj__attr(&FO, obj, &(struct pykey){ "_name" }, &v), 0);
	cr_expect_eq(v, vals[1]);
}

/* An attribute deleted from the values; a type without a managed dict;
 * an absurd basicsize (3.13+); cached keys that are not split. */
Test(pyobj, attrs_refused)
{
	uint64_t vals[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, type = 0, obj, v;
	uint64_t flags;

	fk_init(13);
	obj = fk_instance(tnames, vals, 8, false, &type);
	fk_put64(obj + 16 + FL.obj.values_data + 8 * 1, 0);
	cr_expect_eq(pyobj__attr(&FO, obj, &(struct pykey){ "_name" }, &v), -ENOENT);
	cr_expect_eq(pyobj__attr(&FO, obj, &(struct pykey){ "_args" }, &v), 0);
	flags = fk_get64(type + FL.obj.type_flags);
	fk_put64(type + FL.obj.type_basicsize, 1 << 20);
	cr_expect_eq(pyobj__attr(&FO, obj, &(struct pykey){ "_args" }, &v), -EINVAL);
	fk_put64(type + FL.obj.type_basicsize, 16);
	fk_put8(fk_get64(type + FL.obj.type_cached_keys) + FL.obj.keys_kind, 1);
	cr_expect_eq(pyobj__attr(&FO, obj, &(struct pykey){ "_args" }, &v), -EINVAL);
	fk_put64(type + FL.obj.type_flags, flags & ~FL.obj.flag_managed_dict);
	cr_expect_eq(pyobj__attr(&FO, obj, &(struct pykey){ "_args" }, &v), -EINVAL);
	cr_expect_eq(pyobj__attr(&FO, 0, &(struct pykey){ "_args" }, &v), -EFAULT);
}
