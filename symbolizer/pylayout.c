// SPDX-License-Identifier: MIT
/* CPython layouts per version: a table for 3.11 and 3.12, the target's
 * _Py_DebugOffsets read and checked for 3.13+, and the code object read
 * the BPF frame walker does, redone in user space. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "pylayout.h"

/* 3.11 and 3.12: no debug offsets; checked on Debian 3.11.2 and 3.12.1. */
static const struct py_layout fixed[] = {
	{
		.minor = 11,
		.runtime_interp_head = 40, .interp_next = 0, .interp_threads_head = 16,
		.gil_runtime = 576,	/* gilstate.tstate_current */
		.tstate_next = 8, .tstate_native_tid = 160, .tstate_thread_id = 152,
		.code_filename = 112, .code_name = 120, .code_qualname = 128,
		.code_linetable = 136, .code_firstlineno = 72,
		.str_length = 16, .str_state = 32, .str_ascii_data = 48, .str_compact_data = 72,
		.bpf = {
			.tstate_frame = 56, .cframe_frame = 8, .frame_code = 32,
			.frame_previous = 48, .frame_instr = 56, .frame_owner = 69,
			.frame_is_entry = 68, .code_adaptive = 184,
			.owner_skip = 0xff, .code_tag_mask = 0,
		},
	},
	{
		.minor = 12,
		.runtime_interp_head = 40, .interp_next = 0, .interp_threads_head = 72,
		/* interp->_gil.last_holder: the main interpreter owns its GIL
		 * (offsetof() against 3.12.1's own headers: 1040 + 8) */
		.gil_interp = 1048,
		.tstate_next = 8, .tstate_native_tid = 144, .tstate_thread_id = 136,
		.code_filename = 112, .code_name = 120, .code_qualname = 128,
		.code_linetable = 136, .code_firstlineno = 68, .code_version = 92,
		.str_length = 16, .str_state = 32, .str_ascii_data = 40, .str_compact_data = 56,
		.bpf = {
			.tstate_frame = 56, .cframe_frame = 0, .frame_code = 0,
			.frame_previous = 8, .frame_instr = 56, .frame_owner = 70,
			.frame_is_entry = LS_NO_OFF, .code_adaptive = 192,
			.owner_skip = 3, .code_tag_mask = 0,
		},
	},
};

/* Objects (thread names), per version: all of it for 3.11 and 3.12; for
 * 3.13+ what _Py_DebugOffsets lacks, the rest read from it (dbg_obj_pos).
 * Checked on the same binaries, inside each interpreter with ctypes
 * (docs/cpython-layouts.md). */
#define OBJ_COMMON							\
	.ob_type = 8, .module_dict = 16, .type_flags = 168, .type_basicsize = 32, \
	.flag_managed_dict = 1 << 4, .dict_keys = 32, .dict_values = 40,	\
	.keys_log2_size = 8, .keys_log2_index_bytes = 9, .keys_kind = 10,	\
	.keys_nentries = 24, .keys_indices = 32, .attrs_dict = -24,		\
	.long_size = 16, .long_digits = 24, .type_name = 24,		\
	.type_dealloc = 48, .type_call = 128, .type_iternext = 224,	\
	.type_methods = 232, .type_new = 312, .cfunc_ml = 16,		\
	.cfunc_module = 32, .dict_used = 16
#define OBJ_INLINE							\
	.attrs = PY_ATTRS_INLINE, .flag_inline_values = 1 << 2,		\
	.values_header = true, .values_capacity = 0, .values_valid = 3,	\
	.values_data = 8, .long_tagged = true

static const struct {
	unsigned int minor;
	struct py_obj_offsets o;
} obj_fixed[] = {
	{ 11, { OBJ_COMMON, .interp_modules = 888, .type_cached_keys = 872,
		.attrs = PY_ATTRS_VALUES_PTR, .attrs_values = -32 } },
	{ 12, { OBJ_COMMON, .interp_modules = 944, .type_cached_keys = 880,
		.attrs = PY_ATTRS_DICT_OR_VALUES, .long_tagged = true } },
	{ 13, { OBJ_COMMON, OBJ_INLINE, .type_cached_keys = 880 } },
	{ 14, { OBJ_COMMON, OBJ_INLINE, .type_cached_keys = 880 } },
	{ 15, { OBJ_COMMON, OBJ_INLINE } },
};

_Static_assert(sizeof(obj_fixed) / sizeof(obj_fixed[0]) == PY_MINOR_MAX - PY_MINOR_MIN + 1,
	       "object offsets for every supported version");

/* Positions of the object offsets inside _Py_DebugOffsets (0: not there). */
struct dbg_obj_pos {
	uint32_t modules, ob_type, tp_flags, tp_basicsize, cached_keys;
	uint32_t ma_keys, ma_values, lv_tag, ob_digit;
};

/* Positions of the fields we use inside _Py_DebugOffsets, per layout. */
struct dbg_pos {
	unsigned int minor;
	size_t size;
	uint32_t interp_head, threads_head, gil_holder, ts_next, ts_frame, ts_native_tid;
	uint32_t fr_previous, fr_executable, fr_instr, fr_owner;
	uint32_t co_filename, co_name, co_qualname, co_linetable, co_firstlineno,
		 co_adaptive;
	uint32_t str_state, str_length, str_ascii_size;
	uint32_t ts_thread_id;
	struct dbg_obj_pos obj;
};

static const struct dbg_pos dbg_layouts[] = {
	{ 13, 584, 40, 72, 144, 168, 184, 200, 232, 240, 248, 264,
	  280, 288, 296, 304, 312, 344, 544, 552, 560, .ts_thread_id = 192,
	  .obj = { .modules = 88, .ob_type = 360, .tp_flags = 392,
		   .ma_keys = 456, .ma_values = 464, .lv_tag = 496, .ob_digit = 504 } },
	{ 14, 760, 40, 72, 152, 192, 208, 224, 256, 264, 272, 288,
	  320, 328, 336, 344, 352, 384, 624, 632, 640, .ts_thread_id = 216,
	  .obj = { .modules = 96, .ob_type = 408, .tp_flags = 440,
		   .ma_keys = 536, .ma_values = 544, .lv_tag = 576, .ob_digit = 584 } },
	{ 15, 888, 40, 72, 152, 192, 208, 248, 320, 328, 336, 352,
	  384, 392, 400, 408, 416, 448, 720, 728, 736, .ts_thread_id = 240,
	  .obj = { .modules = 96, .ob_type = 472, .tp_flags = 504, .tp_basicsize = 512,
		   .cached_keys = 536, .ma_keys = 632, .ma_values = 640, .lv_tag = 672,
		   .ob_digit = 680 } },
};

_Static_assert(sizeof(fixed) / sizeof(fixed[0]) + sizeof(dbg_layouts) / sizeof(dbg_layouts[0]) ==
	       PY_MINOR_MAX - PY_MINOR_MIN + 1, "one layout per supported version");

static const struct dbg_pos *dbg_pos_of(unsigned int minor)
{
	for (size_t i = 0; i < sizeof(dbg_layouts) / sizeof(dbg_layouts[0]); i++)
		if (dbg_layouts[i].minor == minor)
			return &dbg_layouts[i];
	return NULL;
}

size_t pylayout__debug_size(unsigned int minor)
{
	const struct dbg_pos *p = dbg_pos_of(minor);

	return p ? p->size : 0;
}

/* Bound of the offsets read from _Py_DebugOffsets (see read_debug_offsets). */
#define MAX_OFF	(1u << 20)

static uint64_t u64_at(const uint8_t *b, uint32_t pos)
{
	uint64_t v;

	memcpy(&v, b + pos, sizeof(v));
	return v;
}

/* The code window: the smallest 8-aligned start holding the guard fields. */
static int set_code_window(struct py_layout *l, char *why, size_t why_len)
{
	uint32_t lo = l->code_firstlineno, hi = l->code_firstlineno + 4;
	uint32_t f[] = { l->code_filename, l->code_qualname, l->code_linetable };

	if (l->code_version) {
		lo = l->code_version < lo ? l->code_version : lo;
		hi = l->code_version + 4 > hi ? l->code_version + 4 : hi;
	}
	for (size_t i = 0; i < 3; i++) {
		if (f[i] < lo)
			lo = f[i];
		if (f[i] + 8 > hi)
			hi = f[i] + 8;
	}
	lo &= ~7u;
	l->bpf.str_length = l->str_length;
	l->bpf.str_data = l->str_ascii_data;
	if (l->str_length + 8 > LS_STR_WIN || l->str_ascii_data + 16 > LS_STR_WIN) {
		snprintf(why, why_len, "str fields lie beyond the %u bytes the walker reads",
			 LS_STR_WIN);
		return -EINVAL;
	}
	if (hi - lo > LS_CODE_WIN) {
		snprintf(why, why_len, "code object fields span %u bytes, more than the "
			 "walker reads (%u)", hi - lo, LS_CODE_WIN);
		return -EINVAL;
	}
	l->bpf.code_win = lo;
	l->bpf.code_firstlineno = l->code_firstlineno - lo;
	l->bpf.code_filename = l->code_filename - lo;
	l->bpf.code_qualname = l->code_qualname - lo;
	l->bpf.code_linetable = l->code_linetable - lo;
	l->bpf.code_version = l->code_version ? l->code_version - lo : LS_NO_OFF;
	return 0;
}

static int check_frame_window(const struct ls_py_offsets *o, char *why, size_t why_len)
{
	uint16_t f[] = { o->frame_code, o->frame_previous, o->frame_instr };

	for (size_t i = 0; i < 3; i++)
		if (f[i] + 8 > LS_FRAME_WIN)
			goto bad;
	if (o->frame_owner >= LS_FRAME_WIN ||
	    (o->frame_is_entry != LS_NO_OFF && o->frame_is_entry >= LS_FRAME_WIN))
		goto bad;
	return 0;
bad:
	snprintf(why, why_len, "interpreter frame fields lie beyond the %u bytes the "
		 "walker reads", LS_FRAME_WIN);
	return -EINVAL;
}

/* Both windows the walker reads: 0, or -EINVAL with a reason. */
static int set_windows(struct py_layout *l, char *why, size_t why_len)
{
	if (set_code_window(l, why, why_len))
		return -EINVAL;
	return check_frame_window(&l->bpf, why, why_len);
}

/* The header of _Py_DebugOffsets: its cookie, its version (3.minor) and
 * the free-threaded flag. 0, -EINVAL or -ENOTSUP with a reason. */
static int check_debug_header(const struct dbg_pos *p, unsigned int minor,
			      const uint8_t *dbg, size_t dbg_len, char *why, size_t why_len)
{
	uint64_t version;

	if (!dbg || dbg_len < p->size || memcmp(dbg, "xdebugpy", 8)) {
		snprintf(why, why_len, "no _Py_DebugOffsets at the start of _PyRuntime "
			 "(cookie missing)");
		return -EINVAL;
	}
	version = u64_at(dbg, 8);
	if ((version >> 24) != 3 || ((version >> 16) & 0xff) != minor) {
		snprintf(why, why_len, "_Py_DebugOffsets is for version 0x%llx, not 3.%u",
			 (unsigned long long)version, minor);
		return -EINVAL;
	}
	if (u64_at(dbg, 16)) {
		snprintf(why, why_len, "free-threaded CPython 3.%u is not supported; use the "
			 "default (GIL) build", minor);
		return -ENOTSUP;
	}
	return 0;
}

/* The offsets we use, from _Py_DebugOffsets at positions p into l.
 * 0, or -EINVAL with a reason. */
static int read_debug_offsets(struct py_layout *l, const struct dbg_pos *p,
			      const uint8_t *dbg, char *why, size_t why_len)
{
	/* Every value is an offset into a struct: the largest,
	 * PyInterpreterState, is ~190 KiB; the walker's are 16-bit.
	 * Anything bigger means foreign or corrupt offsets, not to be
	 * cut down to a plausible number. */
	const struct {
		uint32_t pos, max;
		uint32_t *u32;
		__u16 *u16;
	} get[] = {
		{ p->interp_head, MAX_OFF, &l->runtime_interp_head },
		{ p->threads_head, MAX_OFF, &l->interp_threads_head },
		{ p->gil_holder, MAX_OFF, &l->gil_interp },
		{ p->ts_next, MAX_OFF, &l->tstate_next },
		{ p->ts_native_tid, MAX_OFF, &l->tstate_native_tid },
		{ p->ts_thread_id, MAX_OFF, &l->tstate_thread_id },
		{ p->co_filename, MAX_OFF, &l->code_filename },
		{ p->co_name, MAX_OFF, &l->code_name },
		{ p->co_qualname, MAX_OFF, &l->code_qualname },
		{ p->co_linetable, MAX_OFF, &l->code_linetable },
		{ p->co_firstlineno, MAX_OFF, &l->code_firstlineno },
		{ p->str_state, MAX_OFF, &l->str_state },
		{ p->str_length, MAX_OFF, &l->str_length },
		{ p->str_ascii_size, MAX_OFF, &l->str_ascii_data },
		{ p->ts_frame, LS_NO_OFF, NULL, &l->bpf.tstate_frame },
		{ p->fr_previous, LS_NO_OFF, NULL, &l->bpf.frame_previous },
		{ p->fr_executable, LS_NO_OFF, NULL, &l->bpf.frame_code },
		{ p->fr_instr, LS_NO_OFF, NULL, &l->bpf.frame_instr },
		{ p->fr_owner, LS_NO_OFF, NULL, &l->bpf.frame_owner },
		{ p->co_adaptive, LS_NO_OFF, NULL, &l->bpf.code_adaptive },
	};

	for (size_t i = 0; i < sizeof(get) / sizeof(get[0]); i++) {
		uint64_t v = u64_at(dbg, get[i].pos);

		if (v >= get[i].max) {
			snprintf(why, why_len, "_Py_DebugOffsets holds 0x%llx at %u, not "
				 "an offset", (unsigned long long)v, get[i].pos);
			return -EINVAL;
		}
		if (get[i].u32)
			*get[i].u32 = v;
		else
			*get[i].u16 = v;
	}
	return 0;
}

/* The object offsets _Py_DebugOffsets has (positions p) over the table's
 * (o). 0, or -EINVAL with a reason. */
static int read_debug_obj_offsets(struct py_obj_offsets *o, const struct dbg_obj_pos *p,
				  const uint8_t *dbg, char *why, size_t why_len)
{
	const struct {
		uint32_t pos;
		uint32_t *to;
	} get[] = {
		{ p->modules, &o->interp_modules }, { p->ob_type, &o->ob_type },
		{ p->tp_flags, &o->type_flags }, { p->tp_basicsize, &o->type_basicsize },
		{ p->cached_keys, &o->type_cached_keys }, { p->ma_keys, &o->dict_keys },
		{ p->ma_values, &o->dict_values }, { p->lv_tag, &o->long_size },
		{ p->ob_digit, &o->long_digits },
	};

	for (size_t i = 0; i < sizeof(get) / sizeof(get[0]); i++) {
		uint64_t v;

		if (!get[i].pos)
			continue;
		v = u64_at(dbg, get[i].pos);
		if (v >= MAX_OFF) {
			snprintf(why, why_len, "_Py_DebugOffsets holds 0x%llx at %u, not "
				 "an offset", (unsigned long long)v, get[i].pos);
			return -EINVAL;
		}
		*get[i].to = v;
	}
	return 0;
}

/* The object offsets of 3.minor from the table; 0 or -ENOTSUP. */
static int set_obj_offsets(struct py_layout *l, unsigned int minor)
{
	for (size_t i = 0; i < sizeof(obj_fixed) / sizeof(obj_fixed[0]); i++) {
		if (obj_fixed[i].minor == minor) {
			l->obj = obj_fixed[i].o;
			return 0;
		}
	}
	return -ENOTSUP;
}

/* What _Py_DebugOffsets does not say, the same on every 3.13+. */
static void set_debug_constants(struct py_layout *l, unsigned int minor)
{
	l->minor = minor;
	l->interp_next = 0;
	/* compact non-ASCII data follows PyCompactUnicodeObject: 56 on 3.12+ */
	l->str_compact_data = l->str_ascii_data + 16;
	l->bpf.cframe_frame = LS_NO_OFF;
	l->bpf.frame_is_entry = LS_NO_OFF;
	l->bpf.owner_skip = 3;			/* INTERPRETER / CSTACK */
	l->bpf.code_tag_mask = minor >= 14 ? 3 : 0;	/* _PyStackRef tag bits */
	/* co_version follows co_firstlineno and five ints (checked on 3.13.5,
	 * 3.14.10, 3.15.2: distinct for every code object, replace()'s too) */
	l->code_version = l->code_firstlineno + 24;
}

int pylayout__init(struct py_layout *l, unsigned int minor, const uint8_t *dbg,
		   size_t dbg_len, char *why, size_t why_len)
{
	const struct dbg_pos *p;
	int err;

	memset(l, 0, sizeof(*l));
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (fixed[i].minor == minor) {
			*l = fixed[i];
			set_obj_offsets(l, minor);
			return set_windows(l, why, why_len);
		}
	}
	p = dbg_pos_of(minor);
	if (!p) {
		snprintf(why, why_len, "CPython 3.%u is not supported (3.%d to 3.%d are)", minor,
			 PY_MINOR_MIN, PY_MINOR_MAX);
		return -ENOTSUP;
	}
	err = check_debug_header(p, minor, dbg, dbg_len, why, why_len);
	if (!err)
		err = read_debug_offsets(l, p, dbg, why, why_len);
	if (!err)
		err = set_obj_offsets(l, minor);
	if (!err)
		err = read_debug_obj_offsets(&l->obj, &p->obj, dbg, why, why_len);
	if (err)
		return err;
	set_debug_constants(l, minor);
	return set_windows(l, why, why_len);
}

int pylayout__code_id(const struct py_layout *l, py_read_fn read, void *ctx,
		      uint64_t code, struct py_code_id *id)
{
	const struct ls_py_offsets *o = &l->bpf;
	uint8_t cw[LS_CODE_WIN], nw[LS_STR_WIN];
	uint32_t version = 0;

	if (read(ctx, code + o->code_win, cw, sizeof(cw)))
		return -EFAULT;
	memcpy(&id->firstlineno, cw + o->code_firstlineno, 4);
	memcpy(&id->filename, cw + o->code_filename, 8);
	memcpy(&id->qualname, cw + o->code_qualname, 8);
	memcpy(&id->linetable, cw + o->code_linetable, 8);
	id->guard = ls_code_guard(id->firstlineno, id->filename, id->qualname, id->linetable);
	if (o->code_version != LS_NO_OFF)
		memcpy(&version, cw + o->code_version, 4);
	if (version) {
		id->guard ^= ls_version_guard(version);
	} else if (!read(ctx, id->qualname, nw, sizeof(nw))) {
		uint64_t len, w0, w1;

		memcpy(&len, nw + o->str_length, 8);
		memcpy(&w0, nw + o->str_data, 8);
		memcpy(&w1, nw + o->str_data + 8, 8);
		id->guard ^= ls_name_guard(len, w0, w1);
	}
	return 0;
}
