// SPDX-License-Identifier: MIT
/* Unit tests: symbolizer/pylayout.c (per-version CPython layouts). The
 * numbers are those of docs/cpython-layouts.md. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "elffile.h"
#include "pylayout.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char why[256];

static int init(struct py_layout *l, unsigned int minor, const uint8_t *dbg, size_t len)
{
	memset(why, 0, sizeof(why));
	return pylayout__init(l, minor, dbg, len, why, sizeof(why));
}

/* What a layout must hold, per version (the docs' tables). */
struct want {
	unsigned int minor;
	uint32_t interp_head, threads_head, ts_next, native_tid;
	uint32_t co_filename, co_name, co_qualname, co_linetable, co_firstlineno;
	uint32_t str_length, str_state, str_ascii, str_compact;
	uint16_t tstate_frame, cframe_frame, fr_code, fr_previous, fr_instr, fr_owner,
		 fr_is_entry, co_adaptive;
	uint8_t owner_skip, tag_mask;
};

static const struct want want311 = {
	11, 40, 16, 8, 160, 112, 120, 128, 136, 72, 16, 32, 48, 72,
	56, 8, 32, 48, 56, 69, 68, 184, 0xff, 0,
};
static const struct want want312 = {
	12, 40, 72, 8, 144, 112, 120, 128, 136, 68, 16, 32, 40, 56,
	56, 0, 0, 8, 56, 70, LS_NO_OFF, 192, 3, 0,
};
static const struct want want313 = {
	13, 632, 7344, 8, 160, 112, 120, 128, 136, 68, 16, 32, 40, 56,
	72, LS_NO_OFF, 0, 8, 56, 70, LS_NO_OFF, 200, 3, 0,
};
static const struct want want314 = {
	14, 808, 7344, 8, 160, 112, 120, 128, 136, 68, 16, 32, 40, 56,
	72, LS_NO_OFF, 0, 8, 56, 74, LS_NO_OFF, 208, 3, 3,
};
static const struct want want315 = {
	15, 936, 7336, 8, 184, 112, 120, 128, 136, 68, 16, 32, 40, 56,
	72, LS_NO_OFF, 0, 8, 56, 74, LS_NO_OFF, 208, 3, 3,
};

/* The object offsets (thread names), per version: the docs' tables. */
struct want_obj {
	uint32_t modules, cached_keys;
	enum py_attrs attrs;
};

static const struct want_obj obj311 = { 888, 872, PY_ATTRS_VALUES_PTR };
static const struct want_obj obj312 = { 944, 880, PY_ATTRS_DICT_OR_VALUES };
static const struct want_obj obj313 = { 7656, 880, PY_ATTRS_INLINE };
static const struct want_obj obj314 = { 7688, 880, PY_ATTRS_INLINE };
static const struct want_obj obj315 = { 7592, 888, PY_ATTRS_INLINE };

static void expect_obj(const struct py_layout *l, const struct want_obj *w)
{
	const struct py_obj_offsets *o = &l->obj;

	cr_expect_eq(o->interp_modules, w->modules, "3.%u modules %u", l->minor, o->interp_modules);
	cr_expect_eq(o->type_cached_keys, w->cached_keys, "3.%u ht_cached_keys %u", l->minor,
		     o->type_cached_keys);
	cr_expect_eq(o->attrs, w->attrs, "3.%u attrs %d", l->minor, o->attrs);
	/* the same in every version */
	cr_expect_eq(o->ob_type, 8);
	cr_expect_eq(o->module_dict, 16);
	cr_expect_eq(o->type_flags, 168);
	cr_expect_eq(o->type_basicsize, 32);
	cr_expect_eq(o->flag_managed_dict, 1 << 4);
	cr_expect_eq(o->dict_keys, 32);
	cr_expect_eq(o->dict_values, 40);
	cr_expect_eq(o->keys_log2_size, 8);
	cr_expect_eq(o->keys_log2_index_bytes, 9);
	cr_expect_eq(o->keys_kind, 10);
	cr_expect_eq(o->keys_nentries, 24);
	cr_expect_eq(o->keys_indices, 32);
	cr_expect_eq(o->attrs_dict, -24);
	cr_expect_eq(o->long_size, 16);
	cr_expect_eq(o->long_digits, 24);
	/* what changed */
	cr_expect_eq(o->attrs_values, l->minor == 11 ? -32 : 0);
	cr_expect_eq(o->long_tagged, l->minor >= 12, "3.%u lv_tag", l->minor);
	cr_expect_eq(o->flag_inline_values, l->minor >= 13 ? 1 << 2 : 0);
	cr_expect_eq(o->values_header, l->minor >= 13);
	cr_expect_eq(o->values_data, l->minor >= 13 ? 8 : 0);
	if (l->minor >= 13) {
		cr_expect_eq(o->values_capacity, 0);
		cr_expect_eq(o->values_valid, 3);
	}
}

/* The code window: all four fields read by the walker fit in LS_CODE_WIN
 * bytes from code_win, and point where the layout says. */
static void expect_code_window(const struct py_layout *l)
{
	const struct ls_py_offsets *o = &l->bpf;

	cr_expect_eq(o->code_win % 8, 0, "code_win %u not 8-aligned", o->code_win);
	cr_expect_eq(o->code_win + o->code_firstlineno, l->code_firstlineno);
	cr_expect_eq(o->code_win + o->code_filename, l->code_filename);
	cr_expect_eq(o->code_win + o->code_qualname, l->code_qualname);
	cr_expect_eq(o->code_win + o->code_linetable, l->code_linetable);
	cr_expect_leq(o->code_firstlineno + 4, LS_CODE_WIN);
	cr_expect_leq(o->code_filename + 8, LS_CODE_WIN);
	cr_expect_leq(o->code_qualname + 8, LS_CODE_WIN);
	cr_expect_leq(o->code_linetable + 8, LS_CODE_WIN);
	/* the window starts at or before the first field */
	cr_expect_leq(o->code_win, l->code_firstlineno);
	cr_expect_gt(o->code_win + 8, l->code_firstlineno < l->code_filename ?
		     l->code_firstlineno : l->code_filename);
}

static void expect_layout(const struct py_layout *l, const struct want *w)
{
	const struct ls_py_offsets *o = &l->bpf;

	cr_expect_eq(l->minor, w->minor);
	cr_expect_eq(l->runtime_interp_head, w->interp_head, "interp head %u", l->runtime_interp_head);
	cr_expect_eq(l->interp_next, 0);
	cr_expect_eq(l->interp_threads_head, w->threads_head, "threads head %u",
		     l->interp_threads_head);
	cr_expect_eq(l->tstate_next, w->ts_next);
	cr_expect_eq(l->tstate_native_tid, w->native_tid, "native tid %u", l->tstate_native_tid);
	/* thread_id: 8 before native_thread_id in every version */
	cr_expect_eq(l->tstate_thread_id, w->native_tid - 8, "thread id %u", l->tstate_thread_id);
	cr_expect_eq(l->code_filename, w->co_filename);
	cr_expect_eq(l->code_name, w->co_name);
	cr_expect_eq(l->code_qualname, w->co_qualname);
	cr_expect_eq(l->code_linetable, w->co_linetable);
	cr_expect_eq(l->code_firstlineno, w->co_firstlineno, "firstlineno %u", l->code_firstlineno);
	cr_expect_eq(l->str_length, w->str_length);
	cr_expect_eq(l->str_state, w->str_state);
	cr_expect_eq(l->str_ascii_data, w->str_ascii, "ascii data %u", l->str_ascii_data);
	cr_expect_eq(l->str_compact_data, w->str_compact, "compact data %u", l->str_compact_data);
	cr_expect_eq(o->tstate_frame, w->tstate_frame, "tstate frame %u", o->tstate_frame);
	cr_expect_eq(o->cframe_frame, w->cframe_frame, "cframe frame %u", o->cframe_frame);
	cr_expect_eq(o->frame_code, w->fr_code);
	cr_expect_eq(o->frame_previous, w->fr_previous);
	cr_expect_eq(o->frame_instr, w->fr_instr);
	cr_expect_eq(o->frame_owner, w->fr_owner, "owner %u", o->frame_owner);
	cr_expect_eq(o->frame_is_entry, w->fr_is_entry);
	cr_expect_eq(o->code_adaptive, w->co_adaptive, "co_code_adaptive %u", o->code_adaptive);
	cr_expect_eq(o->owner_skip, w->owner_skip);
	cr_expect_eq(o->code_tag_mask, w->tag_mask);
	expect_code_window(l);
	/* the walker's read of co_qualname for the guard: length and the
	 * first 16 bytes of a compact ASCII str */
	cr_expect_eq(o->str_length, w->str_length);
	cr_expect_eq(o->str_data, w->str_ascii);
	cr_expect_leq(o->str_length + 8, LS_STR_WIN);
	cr_expect_leq(o->str_data + 16, LS_STR_WIN);
	/* frame fields inside what the walker reads of a frame */
	cr_expect_leq(o->frame_code + 8, LS_FRAME_WIN);
	cr_expect_leq(o->frame_previous + 8, LS_FRAME_WIN);
	cr_expect_leq(o->frame_instr + 8, LS_FRAME_WIN);
	cr_expect_lt(o->frame_owner, LS_FRAME_WIN);
}

/* ---- 3.11 and 3.12: the tables ----------------------------------------- */

Test(pylayout, table_311)
{
	struct py_layout l;

	cr_assert_eq(init(&l, 11, NULL, 0), 0, "%s", why);
	expect_layout(&l, &want311);
	expect_obj(&l, &obj311);
	/* firstlineno 72 .. linetable 136+8: from 72 */
	cr_expect_eq(l.bpf.code_win, 72);
	cr_expect_eq(l.bpf.code_firstlineno, 0);
	cr_expect_eq(l.bpf.code_filename, 40);
	cr_expect_eq(l.bpf.code_qualname, 56);
	cr_expect_eq(l.bpf.code_linetable, 64);
}

Test(pylayout, table_312)
{
	struct py_layout l;

	cr_assert_eq(init(&l, 12, NULL, 0), 0, "%s", why);
	expect_layout(&l, &want312);
	expect_obj(&l, &obj312);
	/* firstlineno 68: the window starts at 64 */
	cr_expect_eq(l.bpf.code_win, 64);
	cr_expect_eq(l.bpf.code_firstlineno, 4);
	cr_expect_eq(l.bpf.code_filename, 48);
	cr_expect_eq(l.bpf.code_qualname, 64);
	cr_expect_eq(l.bpf.code_linetable, 72);
}

/* A blob given with a table version is not looked at. */
Test(pylayout, table_ignores_blob)
{
	static const uint8_t junk[16] = "not debug offs";
	struct py_layout l;

	cr_assert_eq(init(&l, 11, junk, sizeof(junk)), 0, "%s", why);
	expect_layout(&l, &want311);
}

Test(pylayout, debug_size)
{
	cr_expect_eq(pylayout__debug_size(10), 0);
	cr_expect_eq(pylayout__debug_size(11), 0);
	cr_expect_eq(pylayout__debug_size(12), 0);
	cr_expect_eq(pylayout__debug_size(13), 584);
	cr_expect_eq(pylayout__debug_size(14), 760);
	cr_expect_eq(pylayout__debug_size(15), 888);
	cr_expect_eq(pylayout__debug_size(16), 0);
}

/* ---- 3.13+: synthetic _Py_DebugOffsets --------------------------------- */

/* Where each value lives in the struct and the value the docs give, for
 * 3.13 / 3.14 / 3.15; 0 where the field does not exist. */
struct pos_val {
	uint32_t pos[3];
	uint64_t val[3];
};

static const struct pos_val fields[] = {
	/* runtime_state.interpreters_head */
	{ { 40, 40, 40 }, { 632, 808, 936 } },
	/* interpreter_state.threads_head */
	{ { 72, 72, 72 }, { 7344, 7344, 7336 } },
	/* interpreter_state.gil_runtime_state_holder */
	{ { 144, 152, 152 }, { 7760, 7792, 7744 } },
	/* thread_state.next / current_frame / thread_id / native_thread_id */
	{ { 168, 192, 192 }, { 8, 8, 8 } },
	{ { 184, 208, 208 }, { 72, 72, 72 } },
	{ { 192, 216, 240 }, { 152, 152, 176 } },
	{ { 200, 224, 248 }, { 160, 160, 184 } },
	/* thread_state.holds_gil (3.15) */
	{ { 0, 0, 272 }, { 0, 0, 36 } },
	/* interpreter_frame.previous / executable / instr_ptr / owner */
	{ { 232, 256, 320 }, { 8, 8, 8 } },
	{ { 240, 264, 328 }, { 0, 0, 0 } },
	{ { 248, 272, 336 }, { 56, 56, 56 } },
	{ { 264, 288, 352 }, { 70, 74, 74 } },
	/* code_object.filename / name / qualname / linetable */
	{ { 280, 320, 384 }, { 112, 112, 112 } },
	{ { 288, 328, 392 }, { 120, 120, 120 } },
	{ { 296, 336, 400 }, { 128, 128, 128 } },
	{ { 304, 344, 408 }, { 136, 136, 136 } },
	/* code_object.firstlineno / argcount / co_code_adaptive */
	{ { 312, 352, 416 }, { 68, 68, 68 } },
	{ { 320, 360, 424 }, { 52, 52, 52 } },
	{ { 344, 384, 448 }, { 200, 208, 208 } },
	/* unicode_object.state / length / asciiobject_size */
	{ { 544, 624, 720 }, { 32, 32, 32 } },
	{ { 552, 632, 728 }, { 16, 16, 16 } },
	{ { 560, 640, 736 }, { 40, 40, 40 } },
	/* unicode_object.compactunicodeobject_size (3.15) */
	{ { 0, 0, 744 }, { 0, 0, 56 } },
	/* interpreter_state.imports_modules */
	{ { 88, 96, 96 }, { 7656, 7688, 7592 } },
	/* pyobject.ob_type, type_object.tp_flags */
	{ { 360, 408, 472 }, { 8, 8, 8 } },
	{ { 392, 440, 504 }, { 168, 168, 168 } },
	/* type_object.tp_basicsize, heap_type_object.ht_cached_keys (3.15) */
	{ { 0, 0, 512 }, { 0, 0, 32 } },
	{ { 0, 0, 536 }, { 0, 0, 888 } },
	/* dict_object.ma_keys / ma_values */
	{ { 456, 536, 632 }, { 32, 32, 32 } },
	{ { 464, 544, 640 }, { 40, 40, 40 } },
	/* long_object.lv_tag / ob_digit */
	{ { 496, 576, 672 }, { 16, 16, 16 } },
	{ { 504, 584, 680 }, { 24, 24, 24 } },
};

static const uint64_t versions[3] = { 0x030d05f0, 0x030e0af0, 0x030f02f0 };
static const struct want *const wants[3] = { &want313, &want314, &want315 };
static const struct want_obj *const want_objs[3] = { &obj313, &obj314, &obj315 };

static void put64(uint8_t *b, uint32_t pos, uint64_t v)
{
	memcpy(b + pos, &v, 8);
}

/* A blob as the target's _PyRuntime starts, for 3.(13 + k). The bytes we
 * do not know are filled with a pattern, as real other fields would be. */
static uint8_t *blob_of(unsigned int k, size_t *len)
{
	size_t n = pylayout__debug_size(13 + k);
	uint8_t *b = malloc(n + 64);

	cr_assert_not_null(b);
	cr_assert_gt(n, 0);
	for (size_t i = 0; i < n + 64; i++)
		b[i] = (uint8_t)(0xa5 ^ i);
	memcpy(b, "xdebugpy", 8);
	put64(b, 8, versions[k]);
	put64(b, 16, 0);	/* free_threaded */
	for (size_t i = 0; i < N(fields); i++)
		if (fields[i].pos[k]) {
			cr_assert_lt(fields[i].pos[k] + 8, n + 1);
			put64(b, fields[i].pos[k], fields[i].val[k]);
		}
	*len = n;
	return b;
}

Test(pylayout, debug_offsets_313_314_315)
{
	for (unsigned int k = 0; k < 3; k++) {
		struct py_layout l;
		size_t len;
		uint8_t *b = blob_of(k, &len);

		cr_assert_eq(init(&l, 13 + k, b, len), 0, "3.%u: %s", 13 + k, why);
		expect_layout(&l, wants[k]);
		expect_obj(&l, want_objs[k]);
		/* firstlineno 68 .. linetable 136 + 8 */
		cr_expect_eq(l.bpf.code_win, 64);
		cr_expect_eq(l.bpf.code_firstlineno, 4);
		cr_expect_eq(l.bpf.code_filename, 48);
		cr_expect_eq(l.bpf.code_qualname, 64);
		cr_expect_eq(l.bpf.code_linetable, 72);
		/* a longer buffer is fine */
		cr_expect_eq(init(&l, 13 + k, b, len + 64), 0, "3.%u longer: %s", 13 + k, why);
		free(b);
	}
}

/* The values come from the blob, not from a table: other numbers at the
 * same positions give another layout. */
Test(pylayout, debug_offsets_values_are_read)
{
	struct py_layout l;
	size_t len;
	uint8_t *b = blob_of(1, &len);

	put64(b, 40, 4096);		/* interpreters_head */
	put64(b, 208, 80);		/* current_frame */
	put64(b, 288, 76);		/* owner */
	put64(b, 352, 60);		/* firstlineno */
	put64(b, 384, 216);		/* co_code_adaptive */
	put64(b, 640, 48);		/* asciiobject_size */
	cr_assert_eq(init(&l, 14, b, len), 0, "%s", why);
	cr_expect_eq(l.runtime_interp_head, 4096);
	cr_expect_eq(l.bpf.tstate_frame, 80);
	cr_expect_eq(l.bpf.frame_owner, 76);
	cr_expect_eq(l.code_firstlineno, 60);
	cr_expect_eq(l.bpf.code_adaptive, 216);
	cr_expect_eq(l.str_ascii_data, 48);
	cr_expect_eq(l.str_compact_data, 64);
	/* firstlineno 60 .. linetable 144: from 56, 88 bytes */
	cr_expect_eq(l.bpf.code_win, 56);
	cr_expect_eq(l.bpf.code_firstlineno, 4);
	cr_expect_eq(l.bpf.code_linetable, 80);
	expect_code_window(&l);
	free(b);
}

/* The object offsets _Py_DebugOffsets has come from it; the others from
 * the table (3.15 has ht_cached_keys and tp_basicsize, 3.13/3.14 do not). */
Test(pylayout, debug_obj_offsets_values_are_read)
{
	struct py_layout l;
	size_t len;
	uint8_t *b = blob_of(2, &len);	/* 3.15 */

	put64(b, 96, 8000);		/* imports_modules */
	put64(b, 536, 896);		/* ht_cached_keys */
	put64(b, 512, 40);		/* tp_basicsize */
	put64(b, 632, 48);		/* ma_keys */
	put64(b, 680, 32);		/* ob_digit */
	cr_assert_eq(init(&l, 15, b, len), 0, "%s", why);
	cr_expect_eq(l.obj.interp_modules, 8000);
	cr_expect_eq(l.obj.type_cached_keys, 896);
	cr_expect_eq(l.obj.type_basicsize, 40);
	cr_expect_eq(l.obj.dict_keys, 48);
	cr_expect_eq(l.obj.long_digits, 32);
	free(b);

	b = blob_of(1, &len);		/* 3.14: no ht_cached_keys in it */
	put64(b, 96, 7000);
	cr_assert_eq(init(&l, 14, b, len), 0, "%s", why);
	cr_expect_eq(l.obj.interp_modules, 7000);
	cr_expect_eq(l.obj.type_cached_keys, 880, "from the table");
	free(b);

	/* no offset of a struct is that big: foreign offsets, refused */
	b = blob_of(0, &len);
	put64(b, 88, 1ULL << 40);
	cr_expect_eq(init(&l, 13, b, len), -EINVAL);
	cr_expect(strstr(why, "at 88"), "%s", why);
	free(b);
}

/* ---- errors ------------------------------------------------------------ */

Test(pylayout, unsupported_minor)
{
	static const unsigned int minors[] = { 0, 9, 10, 16, 17, 99 };
	struct py_layout l;
	size_t len;
	uint8_t *b = blob_of(2, &len);

	for (size_t i = 0; i < N(minors); i++) {
		cr_expect_eq(init(&l, minors[i], NULL, 0), -ENOTSUP, "3.%u", minors[i]);
		cr_expect(why[0], "3.%u: no reason given", minors[i]);
		cr_expect_eq(init(&l, minors[i], b, len), -ENOTSUP, "3.%u with a blob", minors[i]);
	}
	free(b);
}

Test(pylayout, bad_cookie)
{
	struct py_layout l;
	size_t len;
	uint8_t *b = blob_of(0, &len);

	b[7] = 'Y';
	cr_expect_eq(init(&l, 13, b, len), -EINVAL);
	cr_expect(why[0]);
	memset(b, 0, 8);
	cr_expect_eq(init(&l, 13, b, len), -EINVAL);
	free(b);
}

Test(pylayout, no_blob)
{
	struct py_layout l;

	for (unsigned int m = 13; m <= 15; m++) {
		cr_expect_eq(init(&l, m, NULL, 0), -EINVAL, "3.%u", m);
		cr_expect(why[0]);
	}
}

Test(pylayout, too_short)
{
	struct py_layout l;

	for (unsigned int k = 0; k < 3; k++) {
		size_t len;
		uint8_t *b = blob_of(k, &len);

		cr_expect_eq(init(&l, 13 + k, b, len - 1), -EINVAL, "3.%u", 13 + k);
		cr_expect(why[0]);
		cr_expect_eq(init(&l, 13 + k, b, 8), -EINVAL, "3.%u: cookie only", 13 + k);
		cr_expect_eq(init(&l, 13 + k, b, 0), -EINVAL, "3.%u: empty", 13 + k);
		free(b);
	}
}

Test(pylayout, version_mismatch)
{
	struct py_layout l;
	size_t len;
	uint8_t *b = blob_of(1, &len);	/* 3.14 */

	/* a 3.14 blob is long enough for 3.13 but of another version */
	cr_expect_eq(init(&l, 13, b, len), -EINVAL);
	cr_expect(strstr(why, "30e0af0"), "%s", why);
	put64(b, 8, 0x040e0af0);	/* 4.14 */
	cr_expect_eq(init(&l, 14, b, len), -EINVAL);
	put64(b, 8, 0x020e0af0);	/* 2.14 */
	cr_expect_eq(init(&l, 14, b, len), -EINVAL);
	put64(b, 8, 0);
	cr_expect_eq(init(&l, 14, b, len), -EINVAL);
	put64(b, 8, 0x030e00a1);	/* 3.14.0a1: any release of 3.14 */
	cr_expect_eq(init(&l, 14, b, len), 0, "%s", why);
	free(b);
}

Test(pylayout, free_threaded)
{
	struct py_layout l;

	for (unsigned int k = 0; k < 3; k++) {
		size_t len;
		uint8_t *b = blob_of(k, &len);

		put64(b, 16, 1);
		cr_expect_eq(init(&l, 13 + k, b, len), -ENOTSUP, "3.%u", 13 + k);
		cr_expect(strstr(why, "free-threaded"), "%s", why);
		free(b);
	}
}

/* Offsets that the walker could not read with its fixed windows. */
Test(pylayout, fields_outside_windows)
{
	struct py_layout l;
	size_t len;
	uint8_t *b = blob_of(1, &len);

	put64(b, 320, 112 + LS_CODE_WIN);	/* filename far from the others */
	cr_expect_eq(init(&l, 14, b, len), -EINVAL);
	cr_expect(strstr(why, "code object"), "%s", why);
	free(b);

	b = blob_of(1, &len);
	put64(b, 640, LS_STR_WIN - 8);		/* asciiobject_size */
	cr_expect_eq(init(&l, 14, b, len), -EINVAL);
	cr_expect(strstr(why, "str"), "%s", why);
	put64(b, 640, 40);
	put64(b, 632, LS_STR_WIN - 4);		/* str length */
	cr_expect_eq(init(&l, 14, b, len), -EINVAL);
	free(b);

	b = blob_of(1, &len);
	put64(b, 288, LS_FRAME_WIN);		/* owner */
	cr_expect_eq(init(&l, 14, b, len), -EINVAL);
	cr_expect(strstr(why, "frame"), "%s", why);
	put64(b, 288, 74);
	put64(b, 272, LS_FRAME_WIN - 4);	/* instr_ptr straddles the end */
	cr_expect_eq(init(&l, 14, b, len), -EINVAL);
	free(b);
}

/* Values that do not fit the offsets' types are foreign, not offsets: they
 * must not be cut to 16 or 32 bits and pass. */
Test(pylayout, absurd_values_rejected)
{
	static const struct { uint32_t pos; uint64_t val; const char *what; } cases[] = {
		{ 208, 0x10000 + 72, "current_frame" },
		{ 288, 0x10000 + 74, "owner" },
		{ 256, 0x100000000ULL + 8, "previous" },
		{ 384, 0x10000 + 208, "co_code_adaptive" },
		{ 320, 0xfffffffcULL, "co_filename" },
		{ 352, 0x100000000ULL + 68, "co_firstlineno" },
		{ 40, 0x100000000ULL + 808, "interpreters_head" },
		{ 640, UINT64_MAX, "asciiobject_size" },
	};
	struct py_layout l;

	for (size_t i = 0; i < N(cases); i++) {
		size_t len;
		uint8_t *b = blob_of(1, &len);

		put64(b, cases[i].pos, cases[i].val);
		cr_expect_eq(init(&l, 14, b, len), -EINVAL, "%s = %#llx accepted", cases[i].what,
			     (unsigned long long)cases[i].val);
		free(b);
	}
}

/* ---- the real interpreters, when their chroots are there --------------- */

#define PYTHONS "/var/cache/loopstall/pythons"

/* Read the _Py_DebugOffsets at the start of the binary's _PyRuntime. */
static void check_real(const char *path, unsigned int minor, const struct want *w)
{
	struct py_layout l;
	uint64_t addr, size;
	size_t len = pylayout__debug_size(minor);
	uint8_t *b;
	int err;

	if (access(path, R_OK))
		cr_skip_test("%s not installed (scripts/setup-pythons)", path);
	err = elf__find_symbol(path, "_PyRuntime", &addr, &size);
	cr_assert_eq(err, 0, "%s: no _PyRuntime (%d)", path, err);
	cr_assert_geq(size, len, "%s: _PyRuntime of %llu bytes", path, (unsigned long long)size);
	b = malloc(len);
	cr_assert_not_null(b);
	err = elf__read_vaddr(path, addr, b, len);
	cr_assert_eq(err, 0, "%s: reading _PyRuntime at %#llx: %d", path,
		     (unsigned long long)addr, err);
	cr_assert_eq(init(&l, minor, b, len), 0, "%s: %s", path, why);
	expect_layout(&l, w);
	expect_obj(&l, minor == 13 ? &obj313 : minor == 14 ? &obj314 : &obj315);
	free(b);
}

Test(pylayout, real_313_trixie)
{
	check_real(PYTHONS "/trixie/usr/bin/python3.13", 13, &want313);
}

Test(pylayout, real_314_sid)
{
	check_real(PYTHONS "/sid/usr/bin/python3.14", 14, &want314);
}

Test(pylayout, real_315_sid)
{
	check_real(PYTHONS "/sid/usr/bin/python3.15", 15, &want315);
}

/* Each real blob only fits its own version. */
Test(pylayout, real_blob_of_other_version)
{
	static const char path[] = PYTHONS "/sid/usr/bin/python3.14";
	struct py_layout l;
	uint64_t addr, size;
	uint8_t b[1024];

	if (access(path, R_OK))
		cr_skip_test("%s not installed (scripts/setup-pythons)", path);
	cr_assert_eq(elf__find_symbol(path, "_PyRuntime", &addr, &size), 0);
	cr_assert_eq(elf__read_vaddr(path, addr, b, pylayout__debug_size(15)), 0);
	cr_expect_eq(init(&l, 13, b, pylayout__debug_size(15)), -EINVAL);
	cr_expect_eq(init(&l, 15, b, pylayout__debug_size(15)), -EINVAL);
	cr_expect_eq(init(&l, 14, b, pylayout__debug_size(14)), 0, "%s", why);
}
