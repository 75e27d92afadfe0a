// SPDX-License-Identifier: MIT
/* C functions of the target named by its interpreter's own tables: module
 * functions and C types' methods and slots, read through sys.modules. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cfuncs.h"

#define MAX_VALUES	(1u << 18)	/* module dict values looked at, in all */
#define ARENA_MAX	(4u << 20)	/* bytes of names */
#define TYPE_READ	320		/* bytes of a PyTypeObject read (to tp_new) */
#define TP_FLAGS_HEAPTYPE	(1ul << 9)
#define PG_SIZE		4096
#define PAGES_MAX	4096		/* pages cached by a read (16 MiB) */
#define PG_SLOTS	(2 * PAGES_MAX)

struct cfunc {
	uint64_t addr;
	uint32_t name;		/* offset in the arena */
	bool strong;		/* a method or module function, not a slot */
};

struct cfuncs {
	struct pyobj o;		/* reads through the page cache while reading */
	py_read_fn read;	/* the target's own read */
	void *ctx;
	uint64_t runtime;
	int64_t modules_seen;	/* ma_used of sys.modules at the last read; -1 */
	struct cfunc *v;	/* settled: sorted by addr, one per addr */
	unsigned int n;
	struct cfunc *raw;	/* every name found, in the modules walked */
	unsigned int nraw, rawcap, values;
	char *arena;		/* their names */
	uint32_t arena_len, arena_cap;
	uint64_t *walked;	/* the modules walked, sorted */
	unsigned int nwalked;
	uint64_t *pg_addr;	/* the page cache of a read: PAGES_MAX pages */
	int32_t *pg_slot;	/* their data's index, -1 unreadable */
	uint8_t *pg_data;
	unsigned int npg, pg_cap;
	uint64_t subtype_dealloc;	/* Python classes' tp_dealloc; 0: unknown */
	char mod[CFUNCS_NAME_MAX];	/* the module walked */
	struct pykey k_abc, k_abcmeta;
};

struct cfuncs *cfuncs__new(const struct pyobj *o, uint64_t runtime)
{
	struct cfuncs *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->o = *o;
	c->read = o->read;
	c->ctx = o->ctx;
	c->runtime = runtime;
	c->modules_seen = -1;
	c->k_abc.name = "abc";
	c->k_abcmeta.name = "ABCMeta";
	return c;
}

void cfuncs__free(struct cfuncs *c)
{
	if (!c)
		return;
	free(c->v);
	free(c->raw);
	free(c->arena);
	free(c->walked);
	free(c);
}

/* ---- a read's page cache: the objects of sys.modules lie close together
 * (a few thousand reads, a few hundred pages): a page read once ---- */

static unsigned int pg_hash(uint64_t page)
{
	return (unsigned int)((page >> 12) * 0x9e3779b97f4a7c15ULL >> 40) & (PG_SLOTS - 1);
}

/* The cached page at page, read now if not yet: NULL when it cannot be
 * read (unmapped, or the cache full). */
static const uint8_t *pg_get(struct cfuncs *c, uint64_t page)
{
	unsigned int i = pg_hash(page);

	while (c->pg_addr[i] && c->pg_addr[i] != page)
		i = (i + 1) & (PG_SLOTS - 1);
	if (!c->pg_addr[i]) {
		if (c->npg == c->pg_cap) {	/* room for more: twice as many */
			unsigned int cap = c->pg_cap ? 2 * c->pg_cap : 64;
			uint8_t *d = cap <= PAGES_MAX ?
				     realloc(c->pg_data, (size_t)cap * PG_SIZE) : NULL;

			if (!d)
				return NULL;
			c->pg_data = d;
			c->pg_cap = cap;
		}
		c->pg_addr[i] = page;
		c->pg_slot[i] = c->read(c->ctx, page, c->pg_data + (size_t)c->npg * PG_SIZE,
					PG_SIZE) ? -1 : (int32_t)c->npg++;
	}
	return c->pg_slot[i] < 0 ? NULL : c->pg_data + (size_t)c->pg_slot[i] * PG_SIZE;
}

static int cached_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct cfuncs *c = ctx;
	uint8_t *out = buf;

	if (addr + len < addr)
		return -EFAULT;		/* wraps: no such region */
	for (uint64_t a = addr, end = addr + len; a < end;) {
		uint64_t page = a & ~(uint64_t)(PG_SIZE - 1), n = page + PG_SIZE - a;
		const uint8_t *p = page ? pg_get(c, page) : NULL;

		if (!p)		/* a page it cannot read whole: as asked */
			return c->read(c->ctx, addr, buf, len);
		n = n < end - a ? n : end - a;
		memcpy(out + (a - addr), p + (a - page), n);
		a += n;
	}
	return 0;
}

static int pg_start(struct cfuncs *c)
{
	c->npg = c->pg_cap = 0;
	c->pg_data = NULL;
	c->pg_addr = calloc(PG_SLOTS, sizeof(*c->pg_addr));
	c->pg_slot = calloc(PG_SLOTS, sizeof(*c->pg_slot));
	if (!c->pg_addr || !c->pg_slot)
		return -ENOMEM;
	c->o.read = cached_read;
	c->o.ctx = c;
	return 0;
}

static void pg_end(struct cfuncs *c)
{
	free(c->pg_addr);
	free(c->pg_slot);
	free(c->pg_data);
	c->pg_addr = NULL;
	c->pg_slot = NULL;
	c->pg_data = NULL;
	c->o.read = c->read;
	c->o.ctx = c->ctx;
}

static int read_u64(const struct cfuncs *c, uint64_t addr, uint64_t *v)
{
	*v = 0;
	return c->o.read(c->o.ctx, addr, v, sizeof(*v)) ? -EFAULT : 0;
}

/* A C string of the target (a type's or method's name): printable ASCII
 * with no space, NUL-terminated within max bytes. 0 or -EINVAL/-EFAULT. */
static int read_cname(const struct cfuncs *c, uint64_t addr, char *out, size_t max)
{
	size_t i, len = 4096 - (addr & 4095);	/* not past its page */

	out[0] = 0;
	if (len > max - 1)
		len = max - 1;
	if (!addr || c->o.read(c->o.ctx, addr, out, len))
		return -EFAULT;
	out[len] = 0;
	for (i = 0; out[i]; i++)
		if (out[i] <= ' ' || out[i] > '~')
			return -EINVAL;
	return i ? 0 : -EINVAL;
}

static int add(struct cfuncs *c, uint64_t addr, const char *a, const char *b, bool strong)
{
	size_t len = strlen(a) + 1 + strlen(b) + 1;

	if (!addr || len > CFUNCS_NAME_MAX || c->nraw >= CFUNCS_MAX_NAMES ||
	    c->arena_len + len > ARENA_MAX)
		return 0;	/* full: the names so far serve */
	if (c->nraw == c->rawcap) {
		unsigned int cap = c->rawcap ? 2 * c->rawcap : 256;
		struct cfunc *nv = realloc(c->raw, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		c->raw = nv;
		c->rawcap = cap;
	}
	if (c->arena_len + len > c->arena_cap) {
		uint32_t cap = c->arena_cap ? 2 * c->arena_cap : 16384;
		char *na = realloc(c->arena, cap);

		if (!na)
			return -ENOMEM;
		c->arena = na;
		c->arena_cap = cap;
	}
	c->raw[c->nraw++] = (struct cfunc){ .addr = addr, .name = c->arena_len, .strong = strong };
	c->arena_len += snprintf(c->arena + c->arena_len, len, "%s.%s", a, b) + 1;
	return 0;
}

/* A builtin_function_or_method: "module.name" at its ml_meth. */
static int add_cfunction(struct cfuncs *c, uint64_t obj)
{
	const struct py_obj_offsets *f = &c->o.l->obj;
	char name[CFUNCS_NAME_MAX], mod[CFUNCS_NAME_MAX];
	uint64_t ml, def[2], m;

	if (read_u64(c, obj + f->cfunc_ml, &ml) || !ml ||
	    c->o.read(c->o.ctx, ml, def, sizeof(def)) ||
	    read_cname(c, def[0], name, sizeof(name)))
		return 0;
	/* its __module__ (a str), else the module whose dict holds it */
	if (read_u64(c, obj + f->cfunc_module, &m) || !m ||
	    pyobj__str(&c->o, m, mod, sizeof(mod)) || !mod[0])
		snprintf(mod, sizeof(mod), "%s", c->mod);
	return add(c, def[1], mod, name, true);
}

/* A C type: "tp_name.method" for each of tp_methods, and its slots. */
static int add_type(struct cfuncs *c, uint64_t tp)
{
	const struct py_obj_offsets *f = &c->o.l->obj;
	uint64_t t[TYPE_READ / 8], defs[32 * 4];
	char tname[CFUNCS_NAME_MAX], name[CFUNCS_NAME_MAX];
	uint64_t methods;
	int err = 0;

	if (c->o.read(c->o.ctx, tp, t, sizeof(t)))
		return 0;
	if ((t[f->type_flags / 8] & TP_FLAGS_HEAPTYPE) &&
	    (!c->subtype_dealloc || t[f->type_dealloc / 8] == c->subtype_dealloc))
		return 0;	/* a Python class (or none known: heap types left out) */
	if (read_cname(c, t[f->type_name / 8], tname, sizeof(tname)))
		return 0;
	if ((err = add(c, t[f->type_call / 8], tname, "__call__", false)) ||
	    (err = add(c, t[f->type_iternext / 8], tname, "__next__", false)) ||
	    (err = add(c, t[f->type_new / 8], tname, "__new__", false)))
		return err;
	methods = t[f->type_methods / 8];
	for (unsigned int i = 0; methods && i < CFUNCS_MAX_METHODS; i += 32) {
		if (c->o.read(c->o.ctx, methods + i * 32, defs, sizeof(defs)))
			return 0;
		for (unsigned int j = 0; j < 32; j++) {
			if (!defs[j * 4])
				return 0;	/* the sentinel */
			if (!read_cname(c, defs[j * 4], name, sizeof(name)) &&
			    (err = add(c, defs[j * 4 + 1], tname, name, true)))
				return err;
		}
	}
	return 0;
}

static int each_value(void *arg, uint64_t key, uint64_t value)
{
	struct cfuncs *c = arg;
	uint64_t type;

	(void)key;
	if (++c->values > MAX_VALUES)
		return 1;
	if (!value || pyobj__type(&c->o, value, &type))
		return 0;
	if (type == c->o.types.cfunction)
		return add_cfunction(c, value);
	if (type == c->o.types.type)
		return add_type(c, value);
	return 0;
}

/* Where module m goes in walked[] (sorted); *seen when it is there. */
static unsigned int walked_at(const struct cfuncs *c, uint64_t m, bool *seen)
{
	unsigned int lo = 0, hi = c->nwalked;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (c->walked[mid] < m)
			lo = mid + 1;
		else
			hi = mid;
	}
	*seen = lo < c->nwalked && c->walked[lo] == m;
	return lo;
}

/* Each module not walked yet: its dict's functions and types. */
static int each_module(void *arg, uint64_t key, uint64_t value)
{
	struct cfuncs *c = arg;
	uint64_t type, md;
	unsigned int at;
	bool seen;
	int err;

	if (c->values > MAX_VALUES || c->nwalked == CFUNCS_MAX_MODULES)
		return 1;
	at = walked_at(c, value, &seen);
	if (seen || !value || pyobj__type(&c->o, value, &type) || type != c->o.types.module ||
	    read_u64(c, value + c->o.l->obj.module_dict, &md) || !md)
		return 0;
	memmove(c->walked + at + 1, c->walked + at, (c->nwalked++ - at) * sizeof(*c->walked));
	c->walked[at] = value;
	if (pyobj__str(&c->o, key, c->mod, sizeof(c->mod)))
		snprintf(c->mod, sizeof(c->mod), "?");
	err = pyobj__dict_each(&c->o, md, each_value, c);
	return err < 0 && err != -EFAULT && err != -EINVAL ? err : 0;
}

/* tp_dealloc of abc.ABCMeta, a Python class: every Python class's. */
static uint64_t python_class_dealloc(struct cfuncs *c, uint64_t modules)
{
	uint64_t abc, md, meta, d;

	if (pyobj__dict_get(&c->o, modules, &c->k_abc, &abc) ||
	    read_u64(c, abc + c->o.l->obj.module_dict, &md) ||
	    pyobj__dict_get(&c->o, md, &c->k_abcmeta, &meta) ||
	    read_u64(c, meta + c->o.l->obj.type_dealloc, &d))
		return 0;
	return d;
}

static int by_addr(const void *a, const void *b)
{
	const struct cfunc *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return (int)y->strong - (int)x->strong;	/* strong first */
}

/* v: one entry per address of raw: its first strong name; else its slot
 * name when every slot there has that name; else none (a generic slot). */
static int settle(struct cfuncs *c)
{
	struct cfunc *v = malloc((c->nraw ? c->nraw : 1) * sizeof(*v));
	unsigned int out = 0;

	if (!v)
		return -ENOMEM;
	memcpy(v, c->raw, c->nraw * sizeof(*v));
	qsort(v, c->nraw, sizeof(*v), by_addr);
	for (unsigned int i = 0, j; i < c->nraw; i = j) {
		bool same = true;

		for (j = i + 1; j < c->nraw && v[j].addr == v[i].addr; j++)
			same = same && !strcmp(c->arena + v[j].name, c->arena + v[i].name);
		if (v[i].strong || same)
			v[out++] = v[i];
	}
	free(c->v);
	c->v = v;
	c->n = out;
	return 0;
}

/* The modules of sys.modules at modules not walked yet, walked. */
static int walk(struct cfuncs *c, uint64_t modules)
{
	int err;

	if (!c->walked && !(c->walked = malloc(CFUNCS_MAX_MODULES * sizeof(*c->walked))))
		return -ENOMEM;
	if ((err = pg_start(c)))
		goto cleanup;
	c->values = 0;
	if (!c->subtype_dealloc)
		c->subtype_dealloc = python_class_dealloc(c, modules);
	err = pyobj__dict_each(&c->o, modules, each_module, c);
cleanup:
	pg_end(c);
	return err < 0 ? err : 0;
}

int cfuncs__refresh(struct cfuncs *c)
{
	const struct py_layout *l = c->o.l;
	uint64_t interp, modules, used;
	unsigned int before = c->nraw;
	int err;

	if (!c->o.types.module || !c->o.types.type || !c->o.types.cfunction)
		return -ENOTSUP;
	if (read_u64(c, c->runtime + l->runtime_interp_head, &interp) ||
	    read_u64(c, interp + l->obj.interp_modules, &modules) ||
	    read_u64(c, modules + l->obj.dict_used, &used))
		return -EFAULT;
	if ((int64_t)used == c->modules_seen)
		return 0;
	if ((err = walk(c, modules)))
		return err;
	c->modules_seen = used;
	if (c->nraw == before && c->v)
		return 0;
	return settle(c) ? -ENOMEM : 1;
}

const char *cfuncs__name(const struct cfuncs *c, uint64_t addr)
{
	unsigned int lo = 0, hi = c ? c->n : 0;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (c->v[mid].addr == addr)
			return c->arena + c->v[mid].name;
		if (c->v[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

unsigned int cfuncs__count(const struct cfuncs *c)
{
	return c ? c->n : 0;
}
