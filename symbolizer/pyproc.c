// SPDX-License-Identifier: MIT
/* The target's CPython read from outside with process_vm_readv: where
 * _PyRuntime is, its layout, the thread states and a frame walk. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include "elffile.h"
#include "maps.h"
#include "pyproc.h"

int pyproc__read(const struct pyproc *p, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n;

	if (!addr)
		return -EFAULT;
	n = process_vm_readv(p->pid, &local, 1, &remote, 1, 0);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

static int read_mem(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return pyproc__read(ctx, addr, buf, len);
}

static int read_u64(const struct pyproc *p, uint64_t addr, uint64_t *v)
{
	return pyproc__read(p, addr, v, sizeof(*v));
}

/* Load bias of the python object (py_path as mapped, file as opened) in
 * process pid. */
static int load_bias(int pid, const char *py_path, const char *file, uint64_t *bias)
{
	uint64_t first;
	struct maps m;
	int dyn, err;

	err = elf__load_info(file, &dyn, &first);
	if (err)
		return err;
	if (!dyn) {
		*bias = 0;
		return 0;
	}
	err = maps__load(&m, pid);
	if (err)
		return err;
	err = -ENOENT;
	for (unsigned int i = 0; i < m.n; i++) {
		if (m.v[i].pgoff == 0 && !strcmp(m.v[i].path, py_path)) {
			*bias = m.v[i].start - first;
			err = 0;
			break;
		}
	}
	maps__free(&m);
	return err;
}

/* The built-in types object reads check against. */
static void find_types(struct pyproc *p, const char *file, uint64_t bias)
{
	const struct {
		const char *name;
		uint64_t *addr;
	} t[] = {
		{ "PyUnicode_Type", &p->types.str }, { "PyLong_Type", &p->types.int_ },
		{ "PyDict_Type", &p->types.dict }, { "PyModule_Type", &p->types.module },
		{ "PyMethod_Type", &p->types.method }, { "PyType_Type", &p->types.type },
		{ "PyCFunction_Type", &p->types.cfunction },
	};
	uint64_t sym;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		*t[i].addr = elf__find_symbol(file, t[i].name, &sym, NULL) ? 0 : sym + bias;
}

void pyproc__obj(const struct pyproc *p, struct pyobj *o)
{
	*o = (struct pyobj){ .l = &p->layout, .read = read_mem, .ctx = (void *)p,
			     .types = p->types };
}

int pyproc__open(struct pyproc *p, int pid, const char *py_path, const char *py_file,
		 uint32_t py_version_hex, char *why, size_t len)
{
	uint64_t bias, sym;
	uint8_t dbg[1024];
	size_t dbg_len;
	unsigned int minor = (py_version_hex >> 16) & 0xff;
	int err;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	err = py_file ? load_bias(pid, py_path, py_file, &bias) : -ENOENT;
	if (err) {
		snprintf(why, len, "cannot find where %s is loaded: %s", py_path, strerror(-err));
		return err;
	}
	if (elf__find_symbol(py_file, "_PyRuntime", &sym, NULL)) {
		snprintf(why, len, "%s has no _PyRuntime symbol", py_path);
		return -ENOENT;
	}
	p->runtime = sym + bias;
	if (!elf__find_symbol(py_file, "PyCode_Type", &sym, NULL))
		p->code_type = sym + bias;
	if (!elf__find_symbol(py_file, "_Py_NoneStruct", &sym, NULL))
		p->none = sym + bias;
	find_types(p, py_file, bias);

	dbg_len = pylayout__debug_size(minor);
	if (dbg_len > sizeof(dbg))
		dbg_len = 0;
	if (dbg_len && (err = pyproc__read(p, p->runtime, dbg, dbg_len))) {
		snprintf(why, len, "cannot read _PyRuntime of PID %d: %s", pid, strerror(-err));
		return err;
	}
	return pylayout__init(&p->layout, minor, dbg_len ? dbg : NULL, dbg_len, why, len);
}

uint32_t pyproc__host_tid(int pid, uint32_t ns_tid)
{
	char path[64], line[256];
	struct dirent *d;
	uint32_t found = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while (!found && (d = readdir(dir))) {
		char p2[400];
		FILE *f;

		if (d->d_name[0] == '.')
			continue;
		snprintf(p2, sizeof(p2), "%s/%s/status", path, d->d_name);
		f = fopen(p2, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			char *last;

			if (strncmp(line, "NSpid:", 6))
				continue;
			/* host TID first, the innermost namespace's last */
			last = strrchr(line, '\t');
			if (last && strtoul(last + 1, NULL, 10) == ns_tid)
				found = strtoul(line + 6, NULL, 10);
			break;
		}
		fclose(f);
	}
	closedir(dir);
	return found;
}

int pyproc__threads(const struct pyproc *p, struct py_thread *out, int max)
{
	const struct py_layout *l = &p->layout;
	uint64_t interp, ts;
	int n = 0, ni = 0;

	if (read_u64(p, p->runtime + l->runtime_interp_head, &interp))
		return -EFAULT;
	for (; interp && ni < PY_MAX_INTERPS; ni++) {
		int nt = 0;

		if (read_u64(p, interp + l->interp_threads_head, &ts))
			return -EFAULT;
		for (; ts && nt < LS_MAX_PY_THREADS && n < max; nt++) {
			uint64_t native = 0;

			if (read_u64(p, ts + l->tstate_native_tid, &native))
				break;
			out[n].ns_tid = native;
			out[n].tid = native;
			out[n].tstate = ts;
			n++;
			if (read_u64(p, ts + l->tstate_next, &ts))
				break;
		}
		if (read_u64(p, interp + l->interp_next, &interp))
			break;
	}
	/* inside a PID namespace the TIDs differ: match them through NSpid */
	for (int i = 0; i < n; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/task/%u", p->pid, out[i].tid);
		if (out[i].tid && access(path, F_OK) == 0 &&
		    pyproc__host_tid(p->pid, out[i].ns_tid) == out[i].tid)
			continue;
		out[i].tid = pyproc__host_tid(p->pid, out[i].ns_tid);
	}
	return n;
}

int pyproc__walk(const struct pyproc *p, uint64_t tstate, struct ls_pyframe *out,
		 int max, uint32_t *py_flags)
{
	const struct ls_py_offsets *o = &p->layout.bpf;
	uint8_t fb[LS_FRAME_WIN];
	struct py_code_id id;
	uint64_t frame;
	int n = 0;

	*py_flags = 0;
	if (read_u64(p, tstate + o->tstate_frame, &frame))
		return -EFAULT;
	if (o->cframe_frame != LS_NO_OFF && frame &&
	    read_u64(p, frame + o->cframe_frame, &frame))
		return -EFAULT;
	for (int i = 0; frame && i < LS_MAX_WALK; i++) {
		uint64_t code, prev, instr;

		if (pyproc__read(p, frame, fb, sizeof(fb))) {
			*py_flags |= LS_PY_READ_ERR;
			break;
		}
		memcpy(&code, fb + o->frame_code, 8);
		memcpy(&prev, fb + o->frame_previous, 8);
		memcpy(&instr, fb + o->frame_instr, 8);
		code &= ~(uint64_t)o->code_tag_mask;
		if (fb[o->frame_owner] >= o->owner_skip) {
			if (n)
				out[n - 1].flags |= LS_PYF_ENTRY;
			frame = prev;
			continue;
		}
		if (n == max) {
			*py_flags |= LS_PY_TRUNCATED;
			break;
		}
		memset(&out[n], 0, sizeof(out[n]));
		out[n].code = code;
		out[n].lasti = (instr - code - o->code_adaptive) / 2;
		if (o->frame_is_entry != LS_NO_OFF && fb[o->frame_is_entry])
			out[n].flags |= LS_PYF_ENTRY;
		if (!pylayout__code_id(&p->layout, read_mem, (void *)p, code, &id))
			out[n].guard = id.guard;
		n++;
		frame = prev;
	}
	return n;
}

uint32_t pyproc__gil_holder(const struct pyproc *p, uint64_t *tstate)
{
	const struct py_layout *l = &p->layout;
	uint64_t ts = 0, interp, native = 0;

	if (l->gil_runtime) {
		if (read_u64(p, p->runtime + l->gil_runtime, &ts))
			return 0;
	} else if (l->gil_interp) {
		if (read_u64(p, p->runtime + l->runtime_interp_head, &interp) || !interp ||
		    read_u64(p, interp + l->gil_interp, &ts))
			return 0;
	}
	if (!ts || read_u64(p, ts + l->tstate_native_tid, &native) || !native)
		return 0;
	*tstate = ts;
	return pyproc__host_tid(p->pid, native);
}
