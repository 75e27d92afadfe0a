// SPDX-License-Identifier: MIT
/* Python code objects read from the target: qualname, file, first line
 * and location table, cached by address behind the walker's guard. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "linetable.h"
#include "pyobj.h"
#include "pysym.h"

#define NBUCKETS	4096
#define BUCKET_MAX	16	/* code objects kept per bucket: 65,536 in all */
#define MAX_LINETABLE	(1 << 20)

struct entry {
	struct pycode c;
	struct entry *next;
};

struct pysym {
	struct py_layout l;
	uint64_t code_type;
	mem_read_fn read;
	void *ctx;
	struct entry *buckets[NBUCKETS];
};

struct pysym *pysym__new(const struct py_layout *l, uint64_t code_type,
			 mem_read_fn read, void *ctx)
{
	struct pysym *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->l = *l;
	s->code_type = code_type;
	s->read = read;
	s->ctx = ctx;
	return s;
}

static void pycode_clear(struct pycode *c)
{
	free(c->qualname);
	free(c->filename);
	free(c->linetable);
	memset(c, 0, sizeof(*c));
}

void pysym__free(struct pysym *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < NBUCKETS; i++) {
		struct entry *e = s->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			pycode_clear(&e->c);
			free(e);
		}
	}
	free(s);
}

int pysym__read_str(struct pysym *s, uint64_t addr, char *out, size_t max)
{
	/* no type check: a code object's fields are strs */
	struct pyobj o = { .l = &s->l, .read = s->read, .ctx = s->ctx };

	return pyobj__str(&o, addr, out, max);
}

static char *read_str_dup(struct pysym *s, uint64_t addr)
{
	char buf[PYOBJ_MAX_STR * 4 + 1];

	return pysym__read_str(s, addr, buf, sizeof(buf)) ? NULL : strdup(buf);
}

/* Read the code object at addr into c; 0 or -errno. */
static int read_code(struct pysym *s, uint64_t addr, struct pycode *c)
{
	const struct py_layout *l = &s->l;
	struct py_code_id id;
	uint64_t type, lt_len;

	if (s->code_type && (s->read(s->ctx, addr + 8, &type, 8) || type != s->code_type))
		return -EINVAL;
	if (pylayout__code_id(l, s->read, s->ctx, addr, &id))
		return -EFAULT;
	memset(c, 0, sizeof(*c));
	c->addr = addr;
	c->guard = id.guard;
	c->firstlineno = id.firstlineno;
	c->qualname = read_str_dup(s, id.qualname);
	c->filename = read_str_dup(s, id.filename);
	/* bytes object: ob_size at 16, data at 32 */
	if (!s->read(s->ctx, id.linetable + 16, &lt_len, 8) && lt_len <= MAX_LINETABLE) {
		c->linetable = malloc(lt_len ? lt_len : 1);
		if (c->linetable && !s->read(s->ctx, id.linetable + 32, c->linetable, lt_len))
			c->linetable_len = lt_len;
	}
	if (!c->qualname || !c->filename) {
		pycode_clear(c);
		return -EFAULT;
	}
	return 0;
}

const struct pycode *pysym__code(struct pysym *s, uint64_t addr, uint32_t guard)
{
	struct entry **b = &s->buckets[(addr >> 4) % NBUCKETS], *e = NULL, **tail = NULL;
	struct pycode fresh;
	int n = 0;

	for (struct entry **pp = b; *pp; tail = pp, pp = &(*pp)->next, n++)
		if ((*pp)->c.addr == addr) {
			e = *pp;
			break;
		}
	if (e && (!guard || e->c.guard == guard))
		return &e->c;
	/* not seen, or the address now holds another code object */
	if (read_code(s, addr, &fresh))
		return NULL;
	if (guard && fresh.guard != guard) {
		pycode_clear(&fresh);	/* changed since the sample: unknown */
		return NULL;
	}
	if (!e && n >= BUCKET_MAX) {	/* bounded: the oldest goes */
		e = *tail;
		*tail = NULL;
		pycode_clear(&e->c);
		e->next = *b;
		*b = e;
	} else if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e) {
			pycode_clear(&fresh);
			return NULL;
		}
		e->next = *b;
		*b = e;
	} else {
		pycode_clear(&e->c);
	}
	e->c = fresh;
	return &e->c;
}

int pysym__line(const struct pycode *c, uint32_t lasti)
{
	int line;

	if (!c->linetable_len)
		return 0;
	line = linetable__line(c->linetable, c->linetable_len, c->firstlineno, lasti);
	return line > 0 ? line : 0;
}
