/* SPDX-License-Identifier: MIT */
/* The target's CPython from outside: runtime address, layout, thread
 * states, and a user-space frame walk. Reads only (process_vm_readv). */
#ifndef LS_PYPROC_H
#define LS_PYPROC_H
#include <stddef.h>
#include <stdint.h>
#include "pylayout.h"
#include "pyobj.h"

struct pyproc {
	int pid;
	struct py_layout layout;
	uint64_t runtime;	/* &_PyRuntime in the target */
	uint64_t code_type;	/* &PyCode_Type in the target */
	uint64_t none;		/* &_Py_NoneStruct */
	struct py_types types;	/* &PyUnicode_Type, … (0: not found) */
};

struct py_thread {
	uint32_t tid;		/* host TID */
	uint32_t ns_tid;	/* native_thread_id, in the target's PID namespace */
	uint64_t tstate;
};

/* The CPython of process pid: py_path is its python object (executable or
 * libpython) as mapped, py_file a path that opens that object from here
 * (NULL: none does), py_version_hex its PY_VERSION_HEX. 0, or -errno with
 * a reason (unsupported layout: -ENOTSUP). */
int pyproc__open(struct pyproc *p, int pid, const char *py_path, const char *py_file,
		 uint32_t py_version_hex, char *why, size_t len);
/* Read len bytes at addr; 0 or -errno (-EFAULT when unmapped). */
int pyproc__read(const struct pyproc *p, uint64_t addr, void *buf, size_t len);
/* A reader of the target's objects (pyobj.h), valid while p is. */
void pyproc__obj(const struct pyproc *p, struct pyobj *o);
/* The thread states of every interpreter, matched to host TIDs. Returns
 * the count (at most max) or -errno. */
int pyproc__threads(const struct pyproc *p, struct py_thread *out, int max);
/* Walk tstate's frame chain as the BPF walker does (for threads parked
 * in a poll: their chain is stable). Returns frames or -errno. */
int pyproc__walk(const struct pyproc *p, uint64_t tstate, struct ls_pyframe *out,
		 int max, uint32_t *py_flags);
/* The thread that holds (last took) the GIL: its host TID, and its thread
 * state in *tstate. 0 when unknown. */
uint32_t pyproc__gil_holder(const struct pyproc *p, uint64_t *tstate);
/* Host TID of a TID in the target's PID namespace, 0 if none. */
uint32_t pyproc__host_tid(int pid, uint32_t ns_tid);

#endif
