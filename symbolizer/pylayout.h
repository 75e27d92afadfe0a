/* SPDX-License-Identifier: MIT */
/* Per-version CPython layouts behind one accessor. 3.11 and 3.12 come from a
 * table; 3.13+ from the target's own _Py_DebugOffsets, so a new patch
 * release needs no rebuild. Facts: docs/cpython-layouts.md. */
#ifndef LS_PYLAYOUT_H
#define LS_PYLAYOUT_H
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "loopstall.h"

/* The CPython versions supported, 3.PY_MINOR_MIN to 3.PY_MINOR_MAX: one
 * layout each in pylayout.c. */
#define PY_MINOR_MIN	11
#define PY_MINOR_MAX	15

struct py_layout {
	unsigned int minor;			/* PY_MINOR_MIN..PY_MINOR_MAX */
	/* runtime */
	uint32_t runtime_interp_head;		/* _PyRuntime -> interpreters.head */
	uint32_t interp_next;			/* interp -> next */
	uint32_t interp_threads_head;		/* interp -> threads.head */
	uint32_t tstate_next;
	uint32_t tstate_native_tid;		/* native_thread_id (gettid in its ns) */
	/* the GIL's holder: a PyThreadState * at _PyRuntime + gil_runtime
	 * (3.11) or at interp + gil_interp (3.13+); 0 when unknown (3.12) */
	uint32_t gil_runtime, gil_interp;
	/* code objects */
	uint32_t code_filename, code_name, code_qualname, code_linetable;
	uint32_t code_firstlineno;
	/* str objects */
	uint32_t str_length, str_state, str_ascii_data, str_compact_data;
	/* the frame walker's part */
	struct ls_py_offsets bpf;
};

/* Fill l for CPython 3.minor. For 3.13+, dbg is the target's
 * _Py_DebugOffsets (at least dbg_len bytes, from the start of _PyRuntime).
 * 0, or -ENOTSUP (version) / -EINVAL (bad or foreign debug offsets) with a
 * reason in why. */
int pylayout__init(struct py_layout *l, unsigned int minor, const uint8_t *dbg,
		   size_t dbg_len, char *why, size_t why_len);

/* Bytes of _Py_DebugOffsets to read for 3.minor (0 before 3.13). */
size_t pylayout__debug_size(unsigned int minor);

/* What a code object is read as by the frame walker: the fields of its
 * code window, and its guard (ls_code_guard ^ ls_name_guard). */
struct py_code_id {
	uint64_t filename, qualname, linetable;
	int32_t firstlineno;
	uint32_t guard;
};

typedef int (*py_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

/* Read the code object at code as the BPF walker does; 0 or -EFAULT. */
int pylayout__code_id(const struct py_layout *l, py_read_fn read, void *ctx,
		      uint64_t code, struct py_code_id *id);

#endif
