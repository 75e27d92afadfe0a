// SPDX-License-Identifier: MIT
/* The readers of the target's objects (symbolizer/pysym.c: code objects;
 * pyobj.c: str, int, dict, instance attributes; pylayout.c: the 3.13+
 * _Py_DebugOffsets; pytasks.c: the _AsyncioDebug section; cfuncs.c: the
 * C functions of sys.modules, with the code type standing for PyType_Type
 * and the int type for PyCFunction_Type) on a fake
 * address space made of the input, read through the same callback
 * (py_read_fn) process_vm_readv serves in a live session.
 *
 * Input (little-endian; tests/fuzz/README.md):
 *   u8  version: 3.(11 + v % 5)
 *   u8  flags: bit 0 check the types below, bits 1-2 the key looked up
 *   u32 lasti: the code unit whose line is asked
 *   u64 _PyRuntime (3.13+: _Py_DebugOffsets read there), code object, str,
 *       int, dict, instance: the addresses read
 *   u64 types: str, int, dict, module, code
 *   then regions, each u64 address, u32 length, the bytes (cut at the
 *   input's end), at most MAX_REGIONS: the target's memory, nothing else */
#include "fuzz.h"	/* first: _GNU_SOURCE */
#include <errno.h>
#include <string.h>
#include "pylayout.h"
#include "cfuncs.h"
#include "pyobj.h"
#include "pysym.h"
#include "pytasks.h"

#define MAX_REGIONS	256
#define HDR		(2 + 4 + 6 * 8 + 5 * 8)

struct region {
	uint64_t addr;
	size_t len;
	const uint8_t *b;
};

struct space {
	struct region r[MAX_REGIONS];
	unsigned int n;
	unsigned long reads;
};

static int space_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct space *s = ctx;

	s->reads++;
	for (unsigned int i = 0; i < s->n; i++) {
		const struct region *r = &s->r[i];

		if (addr >= r->addr && len <= r->len && addr - r->addr <= r->len - len) {
			memcpy(buf, r->b + (addr - r->addr), len);
			return 0;
		}
	}
	return -EFAULT;
}

static uint64_t u64_at(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* The layout of 3.minor: the table's (3.11, 3.12), else the target's
 * _Py_DebugOffsets at runtime; when they do not parse, those of 3.12
 * with the 3.13+ object offsets (as tests/unit/fakepy.h). */
static void layout(struct py_layout *l, unsigned int minor, struct space *s, uint64_t runtime)
{
	uint8_t dbg[1024];
	size_t len = pylayout__debug_size(minor);
	char why[256];

	if (len <= sizeof(dbg) && !space_read(s, runtime, dbg, len) &&
	    !pylayout__init(l, minor, dbg, len, why, sizeof(why)))
		return;
	if (!pylayout__init(l, minor, NULL, 0, why, sizeof(why)))
		return;
	if (pylayout__init(l, 12, NULL, 0, why, sizeof(why)))
		abort();
	l->minor = minor;
	l->obj.attrs = PY_ATTRS_INLINE;
	l->obj.flag_inline_values = 1 << 2;
	l->obj.values_header = true;
	l->obj.values_capacity = 0;
	l->obj.values_valid = 3;
	l->obj.values_data = 8;
	l->obj.long_tagged = true;
}

static int count_item(void *arg, uint64_t key, uint64_t value)
{
	(void)key;
	(void)value;
	return ++*(unsigned int *)arg > PYOBJ_MAX_ENTRIES;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "_name", "_native_id", "name", "__dict__" };
	static struct space s;
	struct py_task_offsets to;
	struct py_layout l;
	struct pyobj o;
	struct pykey k;
	struct pysym *sym;
	struct cfuncs *cf;
	const struct pycode *c;
	uint64_t a[6], types[5], v;
	unsigned int minor, items = 0;
	uint32_t lasti;
	char out[PYOBJ_MAX_STR * 4 + 1], small[6];
	int64_t iv;
	size_t at;

	if (size < HDR)
		return 0;
	minor = PY_MINOR_MIN + data[0] % (PY_MINOR_MAX - PY_MINOR_MIN + 1);
	memcpy(&lasti, data + 2, 4);
	for (int i = 0; i < 6; i++)
		a[i] = u64_at(data + 6 + 8 * i);
	for (int i = 0; i < 5; i++)
		types[i] = data[1] & 1 ? u64_at(data + 54 + 8 * i) : 0;
	s.n = 0;
	s.reads = 0;
	for (at = HDR; at + 12 <= size && s.n < MAX_REGIONS;) {
		uint32_t len;

		memcpy(&len, data + at + 8, 4);
		s.r[s.n].addr = u64_at(data + at);
		at += 12;
		s.r[s.n].len = len < size - at ? len : size - at;
		s.r[s.n].b = data + at;
		at += s.r[s.n++].len;
	}
	layout(&l, minor, &s, a[0]);

	/* code objects, as resolve.c reads them */
	sym = pysym__new(&l, types[4], space_read, &s);
	if (!sym)
		abort();
	c = pysym__code(sym, a[1], 0);
	if (c) {
		uint32_t guard = c->guard;

		pysym__line(c, lasti);
		c = pysym__code(sym, a[1], guard);
		if (!c)
			abort();	/* the same memory: the cached entry */
		pysym__line(c, lasti);
	}
	pysym__read_str(sym, a[2], small, sizeof(small));
	pysym__free(sym);

	/* objects, as pythreads.c and pytasks.c read them */
	o = (struct pyobj){ .l = &l, .read = space_read, .ctx = &s,
			    .types = { types[0], types[1], types[2], types[3] } };
	if (!pyobj__str(&o, a[2], out, sizeof(out)) && strnlen(out, sizeof(out)) == sizeof(out))
		abort();
	pyobj__str(&o, a[2], small, sizeof(small));
	pyobj__long(&o, a[3], &iv);
	pyobj__type(&o, a[4], &v);
	pyobj__dict_each(&o, a[4], count_item, &items);
	k = (struct pykey){ .name = keys[data[1] >> 1 & 3] };
	pyobj__dict_get(&o, a[4], &k, &v);
	pyobj__dict_get(&o, a[4], &k, &v);	/* again, by the key's address */
	k = (struct pykey){ .name = keys[data[1] >> 1 & 3] };
	pyobj__attr(&o, a[5], &k, &v);

	/* C functions named from sys.modules, as resolve.c reads them */
	o.types.type = types[4];
	o.types.cfunction = types[1];
	cf = cfuncs__new(&o, a[0]);
	if (!cf)
		abort();
	if (cfuncs__refresh(cf) == 1) {
		const char *name = cfuncs__name(cf, a[5]);

		if (name && strlen(name) >= CFUNCS_NAME_MAX)
			abort();
		if (cfuncs__count(cf) > CFUNCS_MAX_NAMES || cfuncs__refresh(cf) != 0)
			abort();	/* the same memory: not read again */
	}
	cfuncs__free(cf);

	/* the _AsyncioDebug section, as its bytes come from the binary: the
	 * task's fields accepted lie inside its size (the section's first
	 * word) */
	if (s.n && !pytasks__parse_debug(&to, s.r[0].b, s.r[0].len)) {
		uint64_t tsize = u64_at(s.r[0].b);
		const uint64_t f[] = { to.task_name, to.task_awaited_by, to.task_coro,
				       to.task_node };

		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
			if (f[i] > tsize - 8) {
				fprintf(stderr, "task field %zu at %#llx, past the task's "
					"%llu bytes\n", i, (unsigned long long)f[i],
					(unsigned long long)tsize);
				abort();
			}
	}
	return 0;
}
