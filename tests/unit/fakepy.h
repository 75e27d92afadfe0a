/* SPDX-License-Identifier: MIT */
/* A fake target for unit tests of symbolizer/pyobj.c and pythreads.c: a
 * byte buffer at a fake base address holding CPython objects laid out as
 * pylayout says for 3.11, 3.12 and 3.13+ (strs, ints, dicts, heap types,
 * instances with their attributes kept each version's way). Garbage
 * everywhere nothing was put, as in a real heap. */
#ifndef LS_TEST_FAKEPY_H
#define LS_TEST_FAKEPY_H
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pylayout.h"
#include "pyobj.h"

#define FK_BASE		0x7f1200000000ULL
#define FK_SIZE		0x100000
#define FK_STR_TYPE	0x5566778899b0ULL	/* &PyUnicode_Type */
#define FK_INT_TYPE	0x5566778899c0ULL
#define FK_DICT_TYPE	0x5566778899d0ULL
#define FK_MODULE_TYPE	0x5566778899e0ULL
#define FK_TYPE_TYPE	0x5566778899f0ULL
#define FK_ST_COMPACT	0x20
#define FK_ST_ASCII	0x40

static uint8_t *fk_mem;
static uint64_t fk_brk;
static unsigned int fk_reads;
static struct py_layout FL;
static struct pyobj FO;

static inline int fk_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	(void)ctx;
	fk_reads++;
	if (addr < FK_BASE || addr - FK_BASE > FK_SIZE || len > FK_SIZE - (addr - FK_BASE))
		return -EFAULT;
	memcpy(buf, fk_mem + (addr - FK_BASE), len);
	return 0;
}

static inline void fk_put(uint64_t addr, const void *v, size_t len)
{
	cr_assert(addr >= FK_BASE && addr + len <= FK_BASE + FK_SIZE, "%#llx outside",
		  (unsigned long long)addr);
	memcpy(fk_mem + (addr - FK_BASE), v, len);
}

static inline void fk_put64(uint64_t addr, uint64_t v)
{
	fk_put(addr, &v, 8);
}

static inline void fk_put32(uint64_t addr, uint32_t v)
{
	fk_put(addr, &v, 4);
}

static inline void fk_put8(uint64_t addr, uint8_t v)
{
	fk_put(addr, &v, 1);
}

static inline uint64_t fk_get64(uint64_t addr)
{
	uint64_t v;

	cr_assert_eq(fk_read(NULL, addr, &v, 8), 0);
	return v;
}

static inline uint64_t fk_alloc(size_t len)
{
	uint64_t a = fk_brk;

	fk_brk += (len + 15) & ~(size_t)15;
	cr_assert_leq(fk_brk, FK_BASE + FK_SIZE, "fake memory full");
	return a;
}

/* The layout of 3.minor: the tables for 3.11 and 3.12; for 3.13+ those
 * of 3.12 with the object offsets of 3.13+ (the docs' tables; the real
 * _Py_DebugOffsets are checked in test_pylayout). */
static inline void fk_init(unsigned int minor)
{
	char why[128];

	free(fk_mem);
	fk_mem = malloc(FK_SIZE);
	cr_assert_not_null(fk_mem);
	for (size_t i = 0; i < FK_SIZE; i++)
		fk_mem[i] = (uint8_t)(i * 131 + 7);
	fk_brk = FK_BASE + 0x100;
	fk_reads = 0;
	cr_assert_eq(pylayout__init(&FL, minor < 13 ? minor : 12, NULL, 0, why, sizeof(why)), 0,
		     "%s", why);
	if (minor >= 13) {
		FL.minor = minor;
		FL.obj.attrs = PY_ATTRS_INLINE;
		FL.obj.flag_inline_values = 1 << 2;
		FL.obj.values_header = true;
		FL.obj.values_capacity = 0;
		FL.obj.values_valid = 3;
		FL.obj.values_data = 8;
		FL.obj.interp_modules = 7656;
		FL.obj.type_cached_keys = minor >= 15 ? 888 : 880;
	}
	FO = (struct pyobj){ .l = &FL, .read = fk_read, .ctx = NULL,
			     .types = { FK_STR_TYPE, FK_INT_TYPE, FK_DICT_TYPE, FK_MODULE_TYPE } };
}

static inline void fk_fini(void)
{
	free(fk_mem);
	fk_mem = NULL;
}

/* A compact ASCII str. */
static inline uint64_t fk_str(const char *s)
{
	size_t n = strlen(s);
	uint64_t o = fk_alloc(FL.str_ascii_data + n + 1);

	fk_put64(o, 1);
	fk_put64(o + FL.obj.ob_type, FK_STR_TYPE);
	fk_put64(o + FL.str_length, n);
	fk_put32(o + FL.str_state, 0xa5a5a500u | 1 << 2 | FK_ST_COMPACT | FK_ST_ASCII);
	fk_put(o + FL.str_ascii_data, s, n + 1);
	return o;
}

/* An int of the layout's kind (30-bit digits). */
static inline uint64_t fk_int(int64_t v)
{
	uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v, o;
	unsigned int nd = 0;
	uint32_t d[3];

	for (uint64_t m = mag; m; m >>= 30)
		d[nd++] = m & ((1u << 30) - 1);
	o = fk_alloc(FL.obj.long_digits + 4 * (nd ? nd : 1));
	fk_put64(o, 1);
	fk_put64(o + FL.obj.ob_type, FK_INT_TYPE);
	if (FL.obj.long_tagged)
		fk_put64(o + FL.obj.long_size, (uint64_t)nd << 3 | (v > 0 ? 0 : v ? 2 : 1));
	else
		fk_put64(o + FL.obj.long_size, v < 0 ? -(int64_t)nd : nd);
	for (unsigned int i = 0; i < nd; i++)
		fk_put32(o + FL.obj.long_digits + 4 * i, d[i]);
	return o;
}

static inline unsigned int fk_index_log2(unsigned int log2_size)
{
	return log2_size < 8 ? log2_size : log2_size < 16 ? log2_size + 1 : log2_size + 2;
}

/* A keys table of kind (0 general, 1 str keys, 2 split) and 2^log2_size
 * slots, its n entries keys[i] -> vals[i] (vals NULL: none, split). */
static inline uint64_t fk_keys(unsigned int kind, unsigned int log2_size, const uint64_t *keys,
			       const uint64_t *vals, unsigned int n)
{
	unsigned int lib = fk_index_log2(log2_size), es = kind ? 16 : 24;
	unsigned int usable = ((1u << log2_size) << 1) / 3;
	uint64_t a, e;

	cr_assert_leq(n, usable);
	a = fk_alloc(FL.obj.keys_indices + (1u << lib) + usable * es);
	fk_put64(a, 1);
	fk_put8(a + FL.obj.keys_log2_size, log2_size);
	fk_put8(a + FL.obj.keys_log2_index_bytes, lib);
	fk_put8(a + FL.obj.keys_kind, kind);
	fk_put64(a + FL.obj.keys_nentries, n);
	e = a + FL.obj.keys_indices + (1u << lib);
	for (unsigned int i = 0; i < n; i++, e += es) {
		if (!kind)
			fk_put64(e, 0x1234567 * (i + 1));	/* hash */
		fk_put64(e + (kind ? 0 : 8), keys[i]);
		fk_put64(e + (kind ? 8 : 16), vals ? vals[i] : 0);
	}
	return a;
}

/* A values array (split tables, instances) of cap slots: from 3.13 with
 * its header (capacity, size, embedded, valid). */
static inline uint64_t fk_values_at(uint64_t a, const uint64_t *vals, unsigned int n,
				    unsigned int cap, bool valid)
{
	if (FL.obj.values_header) {
		fk_put8(a + FL.obj.values_capacity, cap);
		fk_put8(a + 1, n);
		fk_put8(a + 2, 1);
		fk_put8(a + FL.obj.values_valid, valid);
	}
	for (unsigned int i = 0; i < cap; i++)
		fk_put64(a + FL.obj.values_data + 8 * i, i < n ? vals[i] : 0);
	return a;
}

static inline uint64_t fk_values(const uint64_t *vals, unsigned int n, unsigned int cap)
{
	return fk_values_at(fk_alloc(FL.obj.values_data + 8 * cap), vals, n, cap, true);
}

static inline uint64_t fk_dict(uint64_t keys, uint64_t values)
{
	uint64_t d = fk_alloc(48);

	fk_put64(d, 1);
	fk_put64(d + FL.obj.ob_type, FK_DICT_TYPE);
	fk_put64(d + 16, 0);
	fk_put64(d + FL.obj.dict_keys, keys);
	fk_put64(d + FL.obj.dict_values, values);
	return d;
}

/* A dict of str keys names[i] -> vals[i] (a combined str-keyed table). */
static inline uint64_t fk_str_dict(const char *const *names, const uint64_t *vals,
				   unsigned int n)
{
	uint64_t keys[64];

	cr_assert_leq(n, 64);
	for (unsigned int i = 0; i < n; i++)
		keys[i] = fk_str(names[i]);
	return fk_dict(fk_keys(1, 7, keys, vals, n), 0);
}

/* A heap type: flags, basicsize, and its cached keys (attribute names). */
static inline uint64_t fk_type(uint64_t flags, uint64_t basicsize, uint64_t cached_keys)
{
	uint64_t t = fk_alloc(1024);

	fk_put64(t, 1);
	fk_put64(t + FL.obj.ob_type, FK_TYPE_TYPE);
	fk_put64(t + FL.obj.type_flags, flags);
	fk_put64(t + FL.obj.type_basicsize, basicsize);
	fk_put64(t + FL.obj.type_cached_keys, cached_keys);
	return t;
}

/* An instance of a plain class (type of flags managed dict, + inline
 * values on 3.13+) whose attributes are names[i] = vals[i]: in values
 * through the type's cached keys (as_dict false), or in a dict made of
 * them (as_dict: as after obj.__dict__ on 3.11/3.12, or once the values
 * were invalidated on 3.13+). *type_out: its type (shared when given). */
static inline uint64_t fk_instance(const char *const *names, const uint64_t *vals,
				   unsigned int n, bool as_dict, uint64_t *type)
{
	const struct py_obj_offsets *o = &FL.obj;
	uint64_t flags = o->flag_managed_dict | o->flag_inline_values | (1 << 9);
	uint64_t a, obj, values = 0, dict = 0;
	unsigned int cap = 30;

	if (!*type) {
		uint64_t keys[64];

		cr_assert_leq(n, 64);
		for (unsigned int i = 0; i < n; i++)
			keys[i] = fk_str(names[i]);
		*type = fk_type(flags, 16, fk_keys(2, 6, keys, NULL, n));
	}
	a = fk_alloc(32 + 16 + o->values_data + 8 * cap);
	obj = a + 32;			/* the pre-header: two words and GC */
	fk_put64(obj, 1);
	fk_put64(obj + o->ob_type, *type);
	if (as_dict)
		dict = fk_str_dict(names, vals, n);
	if (o->attrs == PY_ATTRS_INLINE) {
		fk_values_at(obj + 16, vals, n, cap, !as_dict);
		fk_put64(obj + o->attrs_dict, dict);
		return obj;
	}
	if (!as_dict)
		values = fk_values(vals, n, cap);
	if (o->attrs == PY_ATTRS_VALUES_PTR) {
		fk_put64(obj + o->attrs_values, values);
		fk_put64(obj + o->attrs_dict, dict);
	} else {
		fk_put64(obj + o->attrs_dict, values ? values - 1 : dict);
	}
	return obj;
}

#endif
