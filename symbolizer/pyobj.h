/* SPDX-License-Identifier: MIT */
/* Python objects of the target read from outside: str, int, dict (its
 * items, a value by str key) and instance attributes, per version through
 * pylayout's object offsets. The target's memory is untrusted: every
 * length and loop is bounded, every type checked where its address is
 * known, and anything that does not parse is an error, never a guess. */
#ifndef LS_PYOBJ_H
#define LS_PYOBJ_H
#include <stddef.h>
#include <stdint.h>
#include "pylayout.h"

#define PYOBJ_MAX_ENTRIES	(1u << 16)	/* entries of one dict looked at */
#define PYOBJ_MAX_STR		1024		/* characters of one str read */
#define PYKEY_MAX		32		/* bytes of a key's name */

/* The target's built-in types, by address; 0: not checked. */
struct py_types {
	uint64_t str, int_, dict, module;
	uint64_t method;	/* PyMethod_Type: bound methods (task callbacks) */
	uint64_t type, cfunction;	/* PyType_Type, PyCFunction_Type */
};

/* How to read the target's objects: its layout, a read of its memory. */
struct pyobj {
	const struct py_layout *l;
	py_read_fn read;
	void *ctx;
	struct py_types types;
};

/* A str key looked up by name (ASCII, at most PYKEY_MAX bytes), and the
 * target's str object of that text once found: lookups compare addresses
 * first, then the text of the one that matched (or of every key, when
 * none did). Identifiers are interned: one object serves every lookup. */
struct pykey {
	const char *name;
	uint64_t addr;		/* 0 until found */
};

/* A dict's keys table (PyDictKeysObject), from its header. */
struct pydict_keys {
	uint64_t entries;	/* address of entry 0 */
	uint32_t n;		/* entries to look at: dk_nentries, at most
				   PYOBJ_MAX_ENTRIES */
	uint32_t esize;		/* bytes an entry: 24 (general), 16 (str keys) */
	uint32_t koff;		/* of the key in an entry: 8, 0 (value after it) */
	uint8_t kind;		/* 0 general, 1 str keys, 2 split (values apart) */
};

/* The keys table at addr from its header (hdr: the first keys_indices
 * bytes). 0, or -EINVAL when they are no keys table. Pure. */
int pyobj__keys_parse(const struct py_obj_offsets *o, const uint8_t *hdr, uint64_t addr,
		      struct pydict_keys *k);
/* The value of an int from the first len bytes of its PyLongObject. 0,
 * -EINVAL (not an int of this layout), -ERANGE (beyond int64) or -E2BIG
 * (its digits run past len). Pure. */
int pyobj__long_parse(const struct py_obj_offsets *o, const uint8_t *b, size_t len,
		      int64_t *v);

/* The type of the object at obj; 0 or -EFAULT. */
int pyobj__type(const struct pyobj *o, uint64_t obj, uint64_t *type);
/* The compact str at addr as UTF-8 into out (max bytes, NUL included; cut
 * on a character boundary, at most PYOBJ_MAX_STR characters). 0, -EFAULT,
 * -EINVAL (not a str, or not compact); out is "" on error. */
int pyobj__str(const struct pyobj *o, uint64_t addr, char *out, size_t max);
/* The int at addr. 0, -EFAULT, -EINVAL, -ERANGE. */
int pyobj__long(const struct pyobj *o, uint64_t addr, int64_t *v);

/* fn(arg, key, value) for each item of the dict at dict, in table order,
 * until fn returns non-zero, which is returned. 0 at the end, or -errno. */
typedef int (*pyobj_item_fn)(void *arg, uint64_t key, uint64_t value);
int pyobj__dict_each(const struct pyobj *o, uint64_t dict, pyobj_item_fn fn, void *arg);
/* The value of str key k in the dict at dict. 0, -ENOENT, or -errno. */
int pyobj__dict_get(const struct pyobj *o, uint64_t dict, struct pykey *k, uint64_t *value);
/* Instance attribute k of the object at obj, whose type keeps a managed
 * dict: from its values (3.11 pointer, 3.12 tagged word, 3.13+ inline)
 * through the type's cached keys, else from its dict. 0, -ENOENT, -EINVAL
 * (no managed dict), or -errno. */
int pyobj__attr(const struct pyobj *o, uint64_t obj, struct pykey *k, uint64_t *value);

#endif
