/* SPDX-License-Identifier: MIT */
/* Per-version CPython layouts behind one accessor. 3.11 and 3.12 come from a
 * table; 3.13+ from the target's own _Py_DebugOffsets, so a new patch
 * release needs no rebuild. Facts: docs/cpython-layouts.md. */
#ifndef LS_PYLAYOUT_H
#define LS_PYLAYOUT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "loopstall.h"

/* The CPython versions supported, 3.PY_MINOR_MIN to 3.PY_MINOR_MAX: one
 * layout each in pylayout.c. */
#define PY_MINOR_MIN	11
#define PY_MINOR_MAX	15

/* Interpreters of one process looked at (the list is the target's). */
#define PY_MAX_INTERPS	64

/* Where a plain class's instances keep their attributes (a type with
 * Py_TPFLAGS_MANAGED_DICT): per version, in words before or after the
 * object. Facts: docs/cpython-layouts.md. */
enum py_attrs {
	PY_ATTRS_VALUES_PTR = 1,	/* 3.11: a values pointer at obj + attrs_values,
					   the dict (once made) at obj + attrs_dict */
	PY_ATTRS_DICT_OR_VALUES,	/* 3.12: one word at obj + attrs_dict: the
					   values' address - 1 (low bit set), or the dict */
	PY_ATTRS_INLINE,		/* 3.13+: values at obj + tp_basicsize while
					   the type has INLINE_VALUES and they are valid,
					   else the dict at obj + attrs_dict */
};

/* Objects read for thread names (pyobj.c, pythreads.c): modules, types,
 * dicts and their keys, instance attributes, ints. */
struct py_obj_offsets {
	uint32_t interp_modules;		/* interp -> sys.modules (a dict) */
	uint32_t ob_type, module_dict;		/* PyObject.ob_type, module.md_dict */
	uint32_t type_flags, type_basicsize;	/* PyTypeObject */
	uint32_t type_cached_keys;		/* PyHeapTypeObject.ht_cached_keys */
	uint64_t flag_managed_dict, flag_inline_values;	/* tp_flags bits (0: none) */
	uint32_t dict_keys, dict_values;	/* PyDictObject.ma_keys, ma_values */
	/* PyDictKeysObject: u8 log2 size, u8 log2 index bytes, u8 kind,
	 * ssize nentries, then the indices and the entries */
	uint32_t keys_log2_size, keys_log2_index_bytes, keys_kind, keys_nentries;
	uint32_t keys_indices;
	/* PyDictValues: the pointers at values_data; from 3.13 a header of
	 * u8 capacity and u8 valid (values_header) */
	uint32_t values_data, values_capacity, values_valid;
	bool values_header;
	enum py_attrs attrs;
	int32_t attrs_dict, attrs_values;	/* from the object (negative: before it) */
	/* PyLongObject: ob_size (3.11) or lv_tag (3.12+, long_tagged), digits */
	uint32_t long_size, long_digits;
	bool long_tagged;
	/* C functions named from the interpreter's tables (cfuncs.c):
	 * PyTypeObject's tp_name, tp_dealloc, tp_call, tp_iternext,
	 * tp_methods, tp_new; PyCFunctionObject's m_ml and m_module;
	 * PyDictObject.ma_used */
	uint32_t type_name, type_dealloc, type_call, type_iternext;
	uint32_t type_methods, type_new, cfunc_ml, cfunc_module, dict_used;
};

struct py_layout {
	unsigned int minor;			/* PY_MINOR_MIN..PY_MINOR_MAX */
	/* runtime */
	uint32_t runtime_interp_head;		/* _PyRuntime -> interpreters.head */
	uint32_t interp_next;			/* interp -> next */
	uint32_t interp_threads_head;		/* interp -> threads.head */
	uint32_t tstate_next;
	uint32_t tstate_native_tid;		/* native_thread_id (gettid in its ns) */
	uint32_t tstate_thread_id;		/* thread_id (pthread_t: threading's ident) */
	/* the GIL's holder: a PyThreadState * at _PyRuntime + gil_runtime
	 * (3.11) or at interp + gil_interp (3.13+); 0 when unknown (3.12) */
	uint32_t gil_runtime, gil_interp;
	/* code objects */
	uint32_t code_filename, code_name, code_qualname, code_linetable;
	uint32_t code_firstlineno;
	uint32_t code_version;			/* co_version, 3.12+; 0: none */
	/* str objects */
	uint32_t str_length, str_state, str_ascii_data, str_compact_data;
	/* the frame walker's part */
	struct ls_py_offsets bpf;
	/* objects, for thread names */
	struct py_obj_offsets obj;
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
