// SPDX-License-Identifier: MIT
/* Python objects read from the target: str, int, dict, instance
 * attributes. Offsets from pylayout (py_obj_offsets); bounds here. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include "pyobj.h"

/* Entries of a keys table, the same in 3.11-3.15: PyDictKeyEntry (hash,
 * key, value) in a general table, PyDictUnicodeEntry (key, value) in the
 * str-keyed and split ones. */
#define KIND_GENERAL	0
#define KIND_SPLIT	2
#define ENTRY_GENERAL	24
#define ENTRY_UNICODE	16
#define CHUNK		64		/* entries read at once */
#define MAX_BASICSIZE	(1 << 16)	/* tp_basicsize of a plain class */
/* str state (low byte): kind in bits 2-4, compact bit 5, ascii bit 6 */
#define ST_KIND(s)	(((s) >> 2) & 7)
#define ST_COMPACT	0x20
#define ST_ASCII	0x40

static int read_u64(const struct pyobj *o, uint64_t addr, uint64_t *v)
{
	*v = 0;
	return o->read(o->ctx, addr, v, sizeof(*v)) ? -EFAULT : 0;
}

int pyobj__type(const struct pyobj *o, uint64_t obj, uint64_t *type)
{
	return read_u64(o, obj + o->l->obj.ob_type, type);
}

/* Is the object at obj of the type at want (0: not checked)? */
static bool is_type(const struct pyobj *o, uint64_t obj, uint64_t want)
{
	uint64_t t;

	return !want || (!pyobj__type(o, obj, &t) && t == want);
}

/* log2 of the bytes of a keys table's indices, for 2^log2_size slots */
static unsigned int index_bytes_log2(unsigned int log2_size)
{
	if (log2_size < 8)
		return log2_size;
	if (log2_size < 16)
		return log2_size + 1;
	return log2_size < 32 ? log2_size + 2 : log2_size + 3;
}

int pyobj__keys_parse(const struct py_obj_offsets *o, const uint8_t *hdr, uint64_t addr,
		      struct pydict_keys *k)
{
	unsigned int log2_size = hdr[o->keys_log2_size];
	unsigned int log2_ib = hdr[o->keys_log2_index_bytes];
	unsigned int kind = hdr[o->keys_kind];
	int64_t n;

	memcpy(&n, hdr + o->keys_nentries, sizeof(n));
	/* PyDict_LOG_MINSIZE is 3; no table has 2^40 slots */
	if (kind > KIND_SPLIT || log2_size < 3 || log2_size > 40 ||
	    log2_ib != index_bytes_log2(log2_size))
		return -EINVAL;
	/* at most USABLE_FRACTION(size) entries are ever used */
	if (n < 0 || (uint64_t)n > ((1ULL << log2_size) << 1) / 3)
		return -EINVAL;
	k->kind = kind;
	k->esize = kind == KIND_GENERAL ? ENTRY_GENERAL : ENTRY_UNICODE;
	k->koff = kind == KIND_GENERAL ? 8 : 0;
	k->entries = addr + o->keys_indices + (1ULL << log2_ib);
	k->n = (uint64_t)n > PYOBJ_MAX_ENTRIES ? PYOBJ_MAX_ENTRIES : (uint32_t)n;
	return 0;
}

int pyobj__long_parse(const struct py_obj_offsets *o, const uint8_t *b, size_t len,
		      int64_t *v)
{
	uint64_t w, nd, mag = 0;
	bool neg;

	if ((size_t)o->long_size + 8 > len)
		return -EINVAL;
	memcpy(&w, b + o->long_size, 8);
	if (o->long_tagged) {
		/* lv_tag: digits << 3 | sign (0 positive, 1 zero, 2 negative) */
		if ((w & 3) == 3 || ((w & 3) == 1 && (w >> 3)))
			return -EINVAL;
		nd = w >> 3;
		neg = (w & 3) == 2;
	} else {
		/* ob_size: the digits, negative for a negative int */
		neg = (int64_t)w < 0;
		nd = neg ? -(w) : w;
	}
	if (nd > 3)
		return -ERANGE;		/* 30-bit digits: 3 hold 63 bits */
	if ((size_t)o->long_digits + nd * 4 > len)
		return -E2BIG;
	for (uint64_t i = 0; i < nd; i++) {
		uint32_t d;

		memcpy(&d, b + o->long_digits + 4 * i, 4);
		if (d >> 30)
			return -EINVAL;
		if (i == 2 && d >= 8)
			return -ERANGE;
		mag |= (uint64_t)d << (30 * i);
	}
	*v = neg ? -(int64_t)mag : (int64_t)mag;
	return 0;
}

int pyobj__long(const struct pyobj *o, uint64_t addr, int64_t *v)
{
	const struct py_obj_offsets *off = &o->l->obj;
	uint8_t b[64];
	size_t len = off->long_digits + 4;	/* an int of one digit */

	uint64_t type;
	int err;

	if (off->long_digits + 3 * 4 > sizeof(b) || off->ob_type + 8 > len)
		return -EINVAL;
	if (!addr || o->read(o->ctx, addr, b, len))
		return -EFAULT;
	memcpy(&type, b + off->ob_type, 8);
	if (o->types.int_ && type != o->types.int_)
		return -EINVAL;
	err = pyobj__long_parse(off, b, len, v);
	if (err != -E2BIG)
		return err;
	len = off->long_digits + 3 * 4;		/* more digits: read them all */
	if (o->read(o->ctx, addr, b, len))
		return -EFAULT;
	return pyobj__long_parse(off, b, len, v);
}

/* Append code point cp as UTF-8 if it fits before end (room for the NUL
 * kept); false when it does not. */
static bool put_utf8(char **o, const char *end, uint32_t cp)
{
	char b[4];
	int n;

	if (cp < 0x80) {
		b[0] = cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = 0xc0 | cp >> 6;
		b[1] = 0x80 | (cp & 0x3f);
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = 0xe0 | cp >> 12;
		b[1] = 0x80 | (cp >> 6 & 0x3f);
		b[2] = 0x80 | (cp & 0x3f);
		n = 3;
	} else {
		b[0] = 0xf0 | (cp >> 18 & 7);
		b[1] = 0x80 | (cp >> 12 & 0x3f);
		b[2] = 0x80 | (cp >> 6 & 0x3f);
		b[3] = 0x80 | (cp & 0x3f);
		n = 4;
	}
	if (*o + n >= end)
		return false;
	memcpy(*o, b, n);
	*o += n;
	return true;
}

int pyobj__str(const struct pyobj *o, uint64_t addr, char *out, size_t max)
{
	const struct py_layout *l = o->l;
	uint8_t hdr[64], state, raw[PYOBJ_MAX_STR * 4];
	uint64_t len, data, type;
	unsigned int kind;
	char *p = out, *end = out + max;
	/* the header up to the ASCII data: type, length, state in one read */
	size_t hlen = l->str_ascii_data;

	if (!max || hlen > sizeof(hdr) || l->str_length + 8 > hlen || l->str_state >= hlen ||
	    l->obj.ob_type + 8 > hlen)
		return -EINVAL;
	out[0] = 0;
	if (!addr || o->read(o->ctx, addr, hdr, hlen))
		return -EFAULT;
	memcpy(&len, hdr + l->str_length, 8);
	memcpy(&type, hdr + l->obj.ob_type, 8);
	state = hdr[l->str_state];
	kind = ST_KIND(state);
	if (!(state & ST_COMPACT) || (kind != 1 && kind != 2 && kind != 4) ||
	    (o->types.str && type != o->types.str))
		return -EINVAL;
	/* a character takes a byte at least: no more than fit are read */
	if (len > PYOBJ_MAX_STR)
		len = PYOBJ_MAX_STR;
	if (len > max - 1)
		len = max - 1;
	data = addr + ((state & ST_ASCII) ? l->str_ascii_data : l->str_compact_data);
	if (len && o->read(o->ctx, data, raw, len * kind))
		return -EFAULT;
	for (uint64_t i = 0; i < len; i++) {
		uint32_t cp;

		if (kind == 1)
			cp = raw[i];
		else if (kind == 2)
			cp = raw[2 * i] | raw[2 * i + 1] << 8;
		else
			cp = raw[4 * i] | raw[4 * i + 1] << 8 | raw[4 * i + 2] << 16 |
			     (uint32_t)raw[4 * i + 3] << 24;
		if (!put_utf8(&p, end, cp))
			break;
	}
	*p = 0;
	return 0;
}

/* Is the object at addr the compact ASCII str name? One read. */
static bool str_is(const struct pyobj *o, uint64_t addr, const char *name)
{
	const struct py_layout *l = o->l;
	size_t n = strnlen(name, PYKEY_MAX + 1);
	uint8_t b[256];
	uint64_t len, type;

	if (n > PYKEY_MAX || l->str_ascii_data + n > sizeof(b) ||
	    l->str_length + 8 > sizeof(b) || l->obj.ob_type + 8 > sizeof(b) ||
	    l->str_state >= sizeof(b) || o->read(o->ctx, addr, b, l->str_ascii_data + n))
		return false;
	memcpy(&len, b + l->str_length, 8);
	memcpy(&type, b + l->obj.ob_type, 8);
	return len == n && (b[l->str_state] & (ST_COMPACT | ST_ASCII)) == (ST_COMPACT | ST_ASCII) &&
	       (!o->types.str || type == o->types.str) &&
	       !memcmp(b + l->str_ascii_data, name, n);
}

/* fn(arg, index, key, value) for each entry of table k with a key, until
 * fn returns non-zero; value from values[index] when values (a split
 * table, whose values array holds cap), else from the entry. */
typedef int (*entry_fn)(void *arg, uint32_t i, uint64_t key, uint64_t value);

static int table_each(const struct pyobj *o, const struct pydict_keys *k, uint64_t values,
		      uint32_t cap, entry_fn fn, void *arg)
{
	uint8_t eb[CHUNK * ENTRY_GENERAL];
	uint64_t vb[CHUNK];
	uint32_t n = values && cap < k->n ? cap : k->n;

	for (uint32_t i = 0; i < n; i += CHUNK) {
		uint32_t m = n - i < CHUNK ? n - i : CHUNK;

		if (o->read(o->ctx, k->entries + (uint64_t)i * k->esize, eb, m * k->esize))
			return -EFAULT;
		if (values && o->read(o->ctx, values + o->l->obj.values_data + 8ULL * i, vb,
				      8 * m))
			return -EFAULT;
		for (uint32_t j = 0; j < m; j++) {
			const uint8_t *e = eb + j * k->esize + k->koff;
			uint64_t key, value;
			int rc;

			memcpy(&key, e, 8);
			if (values)
				value = vb[j];
			else
				memcpy(&value, e + 8, 8);
			if (key && (rc = fn(arg, i + j, key, value)))
				return rc;
		}
	}
	return 0;
}

/* The capacity of a split table's values array (3.13+ say it; before,
 * it holds every entry its keys can have). 0 or -EFAULT. */
static int values_cap(const struct pyobj *o, uint64_t values, uint32_t *cap)
{
	uint8_t c;

	*cap = PYOBJ_MAX_ENTRIES;
	if (!o->l->obj.values_header)
		return 0;
	if (o->read(o->ctx, values + o->l->obj.values_capacity, &c, 1))
		return -EFAULT;
	*cap = c;
	return 0;
}

/* The keys table at keys. 0, -EFAULT, -EINVAL. */
static int keys_read(const struct pyobj *o, uint64_t keys, struct pydict_keys *k)
{
	uint8_t hdr[64];
	uint32_t len = o->l->obj.keys_indices;

	if (len > sizeof(hdr) || o->l->obj.keys_nentries + 8 > len)
		return -EINVAL;
	if (!keys || o->read(o->ctx, keys, hdr, len))
		return -EFAULT;
	return pyobj__keys_parse(&o->l->obj, hdr, keys, k);
}

struct each_ctx {
	pyobj_item_fn fn;
	void *arg;
};

static int each_item(void *arg, uint32_t i, uint64_t key, uint64_t value)
{
	struct each_ctx *c = arg;

	(void)i;
	return value ? c->fn(c->arg, key, value) : 0;	/* no value: deleted */
}

int pyobj__dict_each(const struct pyobj *o, uint64_t dict, pyobj_item_fn fn, void *arg)
{
	const struct py_obj_offsets *off = &o->l->obj;
	struct each_ctx c = { fn, arg };
	struct pydict_keys k;
	uint64_t keys, values;
	uint32_t cap = 0;
	int err;

	if (!dict || !is_type(o, dict, o->types.dict))
		return dict ? -EINVAL : -EFAULT;
	if (read_u64(o, dict + off->dict_keys, &keys) ||
	    read_u64(o, dict + off->dict_values, &values))
		return -EFAULT;
	if ((err = keys_read(o, keys, &k)))
		return err;
	/* values apart exactly when the table is split */
	if ((k.kind == KIND_SPLIT) != !!values)
		return -EINVAL;
	if (values && (err = values_cap(o, values, &cap)))
		return err;
	return table_each(o, &k, values, cap, each_item, &c);
}

/* A key looked up: by address (the pykey's), or by text. */
struct find_ctx {
	const struct pyobj *o;
	struct pykey *k;
	bool by_text;
	uint32_t index;
	uint64_t value;
};

static int find_key(void *arg, uint32_t i, uint64_t key, uint64_t value)
{
	struct find_ctx *f = arg;

	if ((!f->by_text && key != f->k->addr) || !str_is(f->o, key, f->k->name))
		return 0;
	f->k->addr = key;
	f->index = i;
	f->value = value;
	return 1;
}

/* Entry of key k in table t (values as table_each's): 1 found (f->index,
 * f->value), 0 not, or -errno. Addresses first, then texts. */
static int table_find(const struct pyobj *o, const struct pydict_keys *t, uint64_t values,
		      uint32_t cap, struct pykey *k, struct find_ctx *f)
{
	int rc = 0;

	*f = (struct find_ctx){ .o = o, .k = k };
	if (k->addr)
		rc = table_each(o, t, values, cap, find_key, f);
	if (rc)
		return rc;
	f->by_text = true;
	return table_each(o, t, values, cap, find_key, f);
}

int pyobj__dict_get(const struct pyobj *o, uint64_t dict, struct pykey *k, uint64_t *value)
{
	const struct py_obj_offsets *off = &o->l->obj;
	struct pydict_keys t;
	struct find_ctx f;
	uint64_t keys, values;
	uint32_t cap = 0;
	int rc;

	if (!dict || !is_type(o, dict, o->types.dict))
		return dict ? -EINVAL : -EFAULT;
	if (read_u64(o, dict + off->dict_keys, &keys) ||
	    read_u64(o, dict + off->dict_values, &values))
		return -EFAULT;
	if ((rc = keys_read(o, keys, &t)))
		return rc;
	if ((t.kind == KIND_SPLIT) != !!values)
		return -EINVAL;
	if (values && (rc = values_cap(o, values, &cap)))
		return rc;
	rc = table_find(o, &t, values, cap, k, &f);
	if (rc < 0)
		return rc;
	if (!rc || !f.value)
		return -ENOENT;
	*value = f.value;
	return 0;
}

/* Where the object at obj (of type tp, flags) keeps its attributes: its
 * values (0: none) or its dict (0: none). 0 or -errno. */
static int attrs_where(const struct pyobj *o, uint64_t obj, uint64_t tp, uint64_t flags,
		       uint64_t *values, uint64_t *dict)
{
	const struct py_obj_offsets *off = &o->l->obj;
	uint64_t w, basicsize;
	uint8_t valid;

	*values = *dict = 0;
	switch (off->attrs) {
	case PY_ATTRS_VALUES_PTR:
		if (read_u64(o, obj + (int64_t)off->attrs_values, values))
			return -EFAULT;
		return *values ? 0 : read_u64(o, obj + (int64_t)off->attrs_dict, dict);
	case PY_ATTRS_DICT_OR_VALUES:
		if (read_u64(o, obj + (int64_t)off->attrs_dict, &w))
			return -EFAULT;
		if (w & 1)
			*values = w + 1;	/* the values' address - 1 */
		else
			*dict = w;
		return 0;
	case PY_ATTRS_INLINE:
		if (read_u64(o, obj + (int64_t)off->attrs_dict, dict))
			return -EFAULT;
		if (!(flags & off->flag_inline_values))
			return 0;
		if (read_u64(o, tp + off->type_basicsize, &basicsize))
			return -EFAULT;
		if (basicsize < 16 || basicsize > MAX_BASICSIZE)
			return -EINVAL;
		if (o->read(o->ctx, obj + basicsize + off->values_valid, &valid, 1))
			return -EFAULT;
		if (valid)
			*values = obj + basicsize;
		return 0;
	}
	return -EINVAL;
}

/* Attribute k from the values at values, through the type's cached keys. */
static int values_get(const struct pyobj *o, uint64_t tp, uint64_t values, struct pykey *k,
		      uint64_t *value)
{
	struct pydict_keys t;
	struct find_ctx f;
	uint64_t keys;
	uint32_t cap;
	int rc;

	if (read_u64(o, tp + o->l->obj.type_cached_keys, &keys))
		return -EFAULT;
	if ((rc = keys_read(o, keys, &t)))
		return rc;
	if (t.kind != KIND_SPLIT)
		return -EINVAL;
	if ((rc = values_cap(o, values, &cap)))
		return rc;
	/* the keys' entries hold no values: find the index, then the value */
	rc = table_find(o, &t, 0, 0, k, &f);
	if (rc <= 0)
		return rc ? rc : -ENOENT;
	if (f.index >= cap ||
	    read_u64(o, values + o->l->obj.values_data + 8ULL * f.index, value))
		return f.index >= cap ? -ENOENT : -EFAULT;
	return *value ? 0 : -ENOENT;
}

int pyobj__attr(const struct pyobj *o, uint64_t obj, struct pykey *k, uint64_t *value)
{
	uint64_t tp, flags, values, dict;
	int err;

	if (!obj || pyobj__type(o, obj, &tp) ||
	    read_u64(o, tp + o->l->obj.type_flags, &flags))
		return -EFAULT;
	if (!o->l->obj.flag_managed_dict || !(flags & o->l->obj.flag_managed_dict))
		return -EINVAL;
	if ((err = attrs_where(o, obj, tp, flags, &values, &dict)))
		return err;
	if (values)
		return values_get(o, tp, values, k, value);
	if (dict)
		return pyobj__dict_get(o, dict, k, value);
	return -ENOENT;
}
