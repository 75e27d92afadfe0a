// SPDX-License-Identifier: MIT
/* The resolver: a BPF sample's raw Python frames and native stack made
 * into interned frames (qualname, file, line, source; symbol, module). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "maps.h"
#include "resolve.h"

#define MAX_NATIVE 128
#define LS_STR_(x)	#x
#define LS_STR(x)	LS_STR_(x)

static int read_mem(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return pyproc__read(ctx, addr, buf, len);
}

/* The process mapped a module the shared symbols lack: its own from now.
 * While it maps just what they hold, they stay (a pc in no module is in
 * none of its modules either). */
static void own_native(struct resolver *r)
{
	struct native *own = native__share(r->nat, r->pid);

	if (own) {
		native__free(own);	/* the reference just taken */
		return;
	}
	if (!(own = native__new(r->pid)))
		return;
	native__free(r->nat);
	r->nat = own;
	r->nat_shared = false;
}

int resolver__set_python(struct resolver *r, const struct pyproc *py, const char *py_path)
{
	r->py = py;
	r->py_path = py_path;
	pysym__free(r->sym);
	r->sym = NULL;
	cfuncs__free(r->cf);
	r->cf = NULL;
	r->cf_read_ns = 0;
	if (py && !(r->sym = pysym__new(&py->layout, py->code_type, read_mem, (void *)py)))
		return -ENOMEM;
	/* the modules mapped since: the interpreter, its libraries (shared
	 * ones are its parent's, the same) */
	if (r->nat && !r->nat_shared)
		native__refresh(r->nat);
	else if (!r->nat)
		r->nat = native__new(r->pid);
	return 0;
}

int resolver__warm_step(struct resolver *r)
{
	struct native_sym ns;

	if (!r->nat || r->nat_shared || r->warm_done)
		return 0;
	if (!r->warm_maps.v && maps__load(&r->warm_maps, r->pid)) {
		r->warm_done = true;
		return 0;
	}
	while (r->warm_i < r->warm_maps.n) {
		const struct map_entry *e = &r->warm_maps.v[r->warm_i++];

		if (e->perms[2] == 'x' && e->path[0] == '/') {
			native__symbolize(r->nat, e->start + 16, &ns);
			return 1;
		}
	}
	maps__free(&r->warm_maps);
	r->warm_done = true;
	return 0;
}

int resolver__init(struct resolver *r, int pid, struct frames *frames,
		   const struct resolver *like)
{
	memset(r, 0, sizeof(*r));
	r->pid = pid;
	r->frames = frames;
	r->src = source__new(pid);
	if (!r->src)
		return -ENOMEM;
	if (like && like->nat)
		r->nat = native__share(like->nat, pid);
	r->nat_shared = r->nat != NULL;
	if (!r->nat)
		r->nat = native__new(pid);	/* NULL: addresses only */
	return 0;
}

void resolver__free(struct resolver *r)
{
	pysym__free(r->sym);
	cfuncs__free(r->cf);
	maps__free(&r->warm_maps);
	native__free(r->nat);
	source__free(r->src);
	memset(r, 0, sizeof(*r));
}


int resolver__python(struct resolver *r, const struct ls_pyframe *pf, int n,
		     uint32_t *ids, bool *entry)
{
	for (int i = 0; i < n; i++) {
		const struct pycode *c = r->sym ? pysym__code(r->sym, pf[i].code, pf[i].guard) : NULL;
		struct frame f = { .kind = FRAME_PYTHON };

		if (c) {
			f.function = c->qualname;
			f.file = c->filename;
			f.line = pysym__line(c, pf[i].lasti);
			f.firstline = c->firstlineno;
			f.user = frame__user_file(c->filename);
			f.code = (char *)source__line(r->src, c->filename, f.line);
		}
		ids[i] = frames__intern(r->frames, &f);
		entry[i] = pf[i].flags & LS_PYF_ENTRY;
		if (ids[i] == UINT32_MAX)
			return -ENOMEM;
	}
	return n;
}

/* "time_sleep" for "time_sleep.lto_priv.0", "recv" for "recv@GLIBC_2.2.5" */
static char *clean_symbol(const char *name, char *buf, size_t len)
{
	static const char *const cuts[] = { "@", ".lto_priv.", ".isra.", ".constprop.",
					    ".part.", ".cold" };
	size_t n;

	if (!name)
		return NULL;
	n = strlen(name);
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		const char *c = strstr(name, cuts[i]);

		if (c && c > name && (size_t)(c - name) < n)
			n = c - name;
	}
	snprintf(buf, len, "%.*s", (int)n, name);
	return buf;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The name the interpreter's tables give the C function starting at
 * start (a native frame of the interpreter with no symbol: a stripped
 * build's static function; asked for the interpreter's frames only, so
 * that a libc or extension frame with no symbol, common where the
 * interpreter has its symbols, does not cost a first read of ~100 ms),
 * read again at most once a second when a module was imported since.
 * NULL when they give none. */
static const char *cfunc_name(struct resolver *r, uint64_t start)
{
	const char *name;
	uint64_t now;

	if (!r->py || !start)
		return NULL;
	if (!r->cf) {
		struct pyobj o;

		pyproc__obj(r->py, &o);
		if (!(r->cf = cfuncs__new(&o, r->py->runtime)))
			return NULL;
	}
	if ((name = cfuncs__name(r->cf, start)))
		return name;
	now = mono_ns();
	if (r->cf_read_ns && now - r->cf_read_ns < 1000000000ULL)
		return NULL;
	r->cf_read_ns = now;
	return cfuncs__refresh(r->cf) > 0 ? cfuncs__name(r->cf, start) : NULL;
}

/* An address in no known module: a library loaded since, or memory no
 * file backs (JIT code, trampolines). Re-reading the maps takes the
 * target's mmap lock: at most once a second. */
static bool may_refresh(struct resolver *r)
{
	uint64_t now = mono_ns();

	if (r->refreshed_ns && now - r->refreshed_ns < 1000000000ULL)
		return false;
	r->refreshed_ns = now;
	return true;
}

/* Modules mapped since: re-read, or, when shared with the process this
 * one was forked from, this process's own from now. 1 when they changed. */
static int refresh(struct resolver *r)
{
	if (!r->nat_shared)
		return native__refresh(r->nat);
	own_native(r);
	return !r->nat_shared;
}

static bool same_file(const char *module, const char *path)
{
	return module && path && !strcmp(module, path);
}

static int resolve_native(struct resolver *r, const struct ls_sample *s, uint32_t *ids)
{
	uint64_t pcs[MAX_NATIVE];
	int n = 0;

	if (r->nat)
		n = native__unwind_ips(r->nat, s->hdr.tid, (const uint64_t *)s->regs,
				       s->stack, s->stack_len,
				       (const uint64_t *)s->ips, s->n_ips, pcs, MAX_NATIVE);
	if (n <= 0) {
		n = s->n_ips < MAX_NATIVE ? s->n_ips : MAX_NATIVE;
		memcpy(pcs, s->ips, n * sizeof(pcs[0]));
	}
	for (int i = 0; i < n; i++) {
		struct native_sym ns = {};
		struct frame f = { .kind = FRAME_NATIVE };
		char name[256];

		if (r->nat && native__symbolize(r->nat, pcs[i], &ns) == -ENOENT && !ns.module &&
		    may_refresh(r) && refresh(r) > 0)
			native__symbolize(r->nat, pcs[i], &ns);	/* a new module */
		f.function = clean_symbol(ns.function, name, sizeof(name));
		if (!f.function && same_file(ns.module, r->py_path))
			f.function = (char *)cfunc_name(r, ns.start);
		f.module = (char *)ns.module;
		f.file = (char *)ns.file;
		f.line = ns.line;
		if (!f.function)
			f.addr = pcs[i];
		f.eval = f.function && !strcmp(f.function, "_PyEval_EvalFrameDefault");
		f.interp = f.eval || (same_file(ns.module, r->py_path) &&
				      frame__interp_symbol(f.function));
		ids[i] = frames__intern(r->frames, &f);
		if (ids[i] == UINT32_MAX)
			return -ENOMEM;
	}
	return n;
}

int resolver__sample(struct resolver *r, const struct ls_sample *s, uint32_t *out, int max)
{
	uint32_t py[LS_MAX_PYFRAMES + 1], nat[MAX_NATIVE];
	bool entry[LS_MAX_PYFRAMES + 1];
	int n_py = s->n_py > LS_MAX_PYFRAMES ? LS_MAX_PYFRAMES : s->n_py;
	int n_nat;

	n_py = resolver__python(r, s->py, n_py, py, entry);
	if (n_py < 0)
		return n_py;
	if (s->py_flags & LS_PY_TRUNCATED) {
		/* say where the walk stopped instead of ending silently */
		static const struct frame cut = {
			.kind = FRAME_PYTHON,
			.function = "[outer frames not read: deeper than "
				    LS_STR(LS_MAX_PYFRAMES) "]",
		};

		py[n_py] = frames__intern(r->frames, &cut);
		if (py[n_py] == UINT32_MAX)
			return -ENOMEM;
		entry[n_py++] = false;
	}
	n_nat = resolve_native(r, s, nat);
	if (n_nat < 0)
		return n_nat;
	return stack__merge(r->frames, py, entry, n_py, nat, n_nat, out, max);
}
