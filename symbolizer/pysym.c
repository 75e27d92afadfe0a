// SPDX-License-Identifier: MIT
/* Python code objects read from the target: qualname, file, first line
 * and location table, cached by address behind the walker's guard. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "linetable.h"
#include "pysym.h"

#define NBUCKETS	4096
#define MAX_STR		1024		/* characters */
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

static void put_utf8(char **o, char *end, uint32_t cp)
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
	if (*o + n < end) {
		memcpy(*o, b, n);
		*o += n;
	}
}

int pysym__read_str(struct pysym *s, uint64_t addr, char *out, size_t max)
{
	const struct py_layout *l = &s->l;
	uint8_t state, raw[MAX_STR * 4];
	uint64_t len;
	unsigned int kind;
	char *o = out, *end = out + max;
	uint64_t data;

	out[0] = 0;
	if (!addr || s->read(s->ctx, addr + l->str_length, &len, 8) ||
	    s->read(s->ctx, addr + l->str_state, &state, 1))
		return -EFAULT;
	kind = (state >> 2) & 7;
	if (!(state & 0x20) || (kind != 1 && kind != 2 && kind != 4))
		return -EINVAL;		/* not compact: not a code object's str */
	if (len > MAX_STR)
		len = MAX_STR;
	data = addr + ((state & 0x40) ? l->str_ascii_data : l->str_compact_data);
	if (len && s->read(s->ctx, data, raw, len * kind))
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
		put_utf8(&o, end, cp);
	}
	*o = 0;
	return 0;
}

static char *read_str_dup(struct pysym *s, uint64_t addr)
{
	char buf[MAX_STR * 4 + 1];

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
	struct entry **b = &s->buckets[(addr >> 4) % NBUCKETS], *e;
	struct pycode fresh;

	for (e = *b; e; e = e->next)
		if (e->c.addr == addr)
			break;
	if (e && (!guard || e->c.guard == guard))
		return &e->c;
	/* not seen, or the address now holds another code object */
	if (read_code(s, addr, &fresh))
		return NULL;
	if (guard && fresh.guard != guard) {
		pycode_clear(&fresh);	/* changed since the sample: unknown */
		return NULL;
	}
	if (!e) {
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
