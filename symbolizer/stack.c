// SPDX-License-Identifier: MIT
/* The interned frame table and the merge of Python frames into a
 * native stack. */
#include <stdlib.h>
#include <string.h>
#include "stack.h"

#define NBUCKETS 8192

struct node {
	uint32_t id;
	struct node *next;
};

struct frames {
	struct frame *v;
	uint32_t n, cap;
	struct node *buckets[NBUCKETS];
};

struct frames *frames__new(void)
{
	return calloc(1, sizeof(struct frames));
}

static void frame_clear(struct frame *f)
{
	free(f->function);
	free(f->file);
	free(f->module);
	free(f->code);
}

void frames__free(struct frames *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; i < t->n; i++)
		frame_clear(&t->v[i]);
	for (size_t i = 0; i < NBUCKETS; i++)
		for (struct node *n = t->buckets[i], *next; n; n = next) {
			next = n->next;
			free(n);
		}
	free(t->v);
	free(t);
}

static uint64_t hash_str(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (h ^ 0xff) * 1099511628211ULL;
}

static uint64_t frame_hash(const struct frame *f)
{
	uint64_t h = 14695981039346656037ULL ^ f->kind;

	h = hash_str(h, f->function);
	h = hash_str(h, f->file);
	h = hash_str(h, f->module);
	h = (h ^ (uint64_t)f->line) * 1099511628211ULL;
	return (h ^ f->addr) * 1099511628211ULL;
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool frame_eq(const struct frame *a, const struct frame *b)
{
	return a->kind == b->kind && a->line == b->line && a->addr == b->addr &&
	       str_eq(a->function, b->function) && str_eq(a->file, b->file) &&
	       str_eq(a->module, b->module);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

uint32_t frames__intern(struct frames *t, const struct frame *f)
{
	struct node **b = &t->buckets[frame_hash(f) % NBUCKETS], *n;
	struct frame *c;

	for (n = *b; n; n = n->next)
		if (frame_eq(&t->v[n->id], f))
			return n->id;
	if (t->n == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 256;
		struct frame *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return UINT32_MAX;
		t->v = v;
		t->cap = cap;
	}
	n = malloc(sizeof(*n));
	if (!n)
		return UINT32_MAX;
	c = &t->v[t->n];
	*c = *f;
	c->function = dup_or_null(f->function);
	c->file = dup_or_null(f->file);
	c->module = dup_or_null(f->module);
	c->code = dup_or_null(f->code);
	n->id = t->n++;
	n->next = *b;
	*b = n;
	return n->id;
}

const struct frame *frames__get(const struct frames *t, uint32_t id)
{
	return id < t->n ? &t->v[id] : NULL;
}

uint32_t frames__count(const struct frames *t)
{
	return t->n;
}

bool frame__user_file(const char *file)
{
	static const char *const lib[] = {
		"/lib/python3", "/site-packages/", "/dist-packages/", "/lib64/python3",
	};

	if (!file || file[0] == '<')	/* <frozen …>, <string> */
		return false;
	for (size_t i = 0; i < sizeof(lib) / sizeof(lib[0]); i++)
		if (strstr(file, lib[i]))
			return false;
	return true;
}

bool frame__interp_symbol(const char *function)
{
	static const char *const prefixes[] = {
		"_PyEval_", "PyEval_", "_PyObject_", "PyObject_", "_PyFunction_",
		"PyVectorcall_", "_PyVectorcall_", "method_vectorcall", "cfunction_",
		"_Py", "slot_tp_", "vectorcall_", "context_run", "task_step", "cfunction_call",
		"pymain_", "Py_RunMain", "Py_BytesMain", "__libc_start",
		"_start", "gen_send", "PyIter_", "builtin_exec", "exec_code", "PyRun_",
		"pyrun_", "thread_run", "start_thread", "clone", "method_vectorcall_",
		"task_wakeup", "TaskStepMethWrapper", "_asyncio_",
	};

	if (!function)
		return false;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(function, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

int stack__merge(const struct frames *t, const uint32_t *py, const bool *py_entry,
		 int n_py, const uint32_t *native, int n_native, uint32_t *out, int max)
{
	int n = 0, p = 0;

	for (int i = 0; i < n_native && n < max; i++) {
		const struct frame *f = frames__get(t, native[i]);

		if (f && f->eval && p < n_py) {
			/* this eval call runs py[p] .. the next entry frame */
			while (p < n_py && n < max) {
				bool last = py_entry[p];

				out[n++] = py[p++];
				if (last)
					break;
			}
			continue;
		}
		out[n++] = native[i];
	}
	while (p < n_py && n < max)
		out[n++] = py[p++];
	return n;
}
