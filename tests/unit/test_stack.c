// SPDX-License-Identifier: MIT
/* Unit tests: symbolizer/stack.c (the frame table, the classifiers of
 * frames, and the merge of Python frames into the native stack). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stack.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- frames__intern ---------------------------------------------------- */

static struct frames *t;

static void setup(void)
{
	t = frames__new();
	cr_assert_not_null(t);
}

static void teardown(void)
{
	frames__free(t);
}

TestSuite(frames, .init = setup, .fini = teardown);

static uint32_t intern(const struct frame *f)
{
	uint32_t id = frames__intern(t, f);

	cr_assert_neq(id, UINT32_MAX, "frames__intern failed");
	return id;
}

static const struct frame py_frame = {
	.kind = FRAME_PYTHON, .user = true, .line = 42, .function = "Handler.handle",
	.file = "/srv/app/handlers.py", .code = "await self.fetch()",
};
static const struct frame nat_frame = {
	.kind = FRAME_NATIVE, .function = "time_sleep", .file = "./Modules/timemodule.c",
	.line = 2090, .module = "/usr/bin/python3.11",
};

Test(frames, empty_table)
{
	cr_expect_eq(frames__count(t), 0);
	cr_expect_null(frames__get(t, 0));
	cr_expect_null(frames__get(t, UINT32_MAX));
	frames__free(NULL);
}

Test(frames, same_content_same_id)
{
	struct frame copy = py_frame;
	char fn[64], file[64];
	uint32_t a = intern(&py_frame), b = intern(&nat_frame);

	cr_expect_eq(a, 0);
	cr_expect_eq(b, 1);
	/* equal strings at other addresses are the same frame */
	strcpy(fn, py_frame.function);
	strcpy(file, py_frame.file);
	copy.function = fn;
	copy.file = file;
	cr_expect_eq(intern(&copy), a);
	cr_expect_eq(intern(&nat_frame), b);
	cr_expect_eq(frames__count(t), 2);
}

Test(frames, all_unknown_is_one_frame)
{
	struct frame f = { .kind = FRAME_PYTHON };
	uint32_t a = intern(&f);
	const struct frame *g;

	cr_expect_eq(intern(&f), a);
	g = frames__get(t, a);
	cr_assert_not_null(g);
	cr_expect_null(g->function);
	cr_expect_null(g->file);
	cr_expect_null(g->module);
	cr_expect_null(g->code);
	f.kind = FRAME_NATIVE;
	cr_expect_neq(intern(&f), a);
}

/* Each field that identifies a frame, changed alone, makes another frame. */
Test(frames, any_identifying_field_differs_new_id)
{
	struct frame v[12];
	uint32_t ids[N(v)];

	for (size_t i = 0; i < N(v); i++)
		v[i] = nat_frame;
	v[1].kind = FRAME_PYTHON;
	v[2].line = 2091;
	v[3].line = 0;
	v[4].function = "time_sleep2";
	v[5].function = NULL;
	v[6].function = "";		/* empty is not unknown */
	v[7].file = "./Modules/timemodule.h";
	v[8].file = NULL;
	v[9].module = "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0";
	v[10].module = NULL;
	v[11].addr = 0x1234;
	for (size_t i = 0; i < N(v); i++) {
		ids[i] = intern(&v[i]);
		for (size_t j = 0; j < i; j++)
			cr_expect_neq(ids[i], ids[j], "frames %zu and %zu got one id", i, j);
	}
	cr_expect_eq(frames__count(t), N(v));
	/* and each comes back as itself */
	for (size_t i = 0; i < N(v); i++) {
		cr_expect_eq(intern(&v[i]), ids[i], "frame %zu", i);
		cr_expect_eq(frames__get(t, ids[i])->line, v[i].line);
		cr_expect_eq(frames__get(t, ids[i])->addr, v[i].addr);
	}
	/* native frames without a symbol differ by address */
	struct frame a = { .kind = FRAME_NATIVE, .addr = 0x7f0000001000, .module = "/lib/x.so" };
	struct frame b = a;

	b.addr++;
	cr_expect_neq(intern(&a), intern(&b));
}

/* The source line and the flags follow from file, line and function: they
 * do not make a frame different, the first interned copy stays. */
Test(frames, derived_fields_do_not_identify)
{
	struct frame f = py_frame;
	uint32_t a = intern(&py_frame);

	f.code = "something else";
	f.user = false;
	f.interp = true;
	f.eval = true;
	cr_expect_eq(intern(&f), a);
	cr_expect_str_eq(frames__get(t, a)->code, py_frame.code);
	cr_expect(frames__get(t, a)->user);
	cr_expect(!frames__get(t, a)->eval);
}

Test(frames, strings_copied)
{
	char fn[32], file[32], mod[32], code[32];
	struct frame f = { .kind = FRAME_NATIVE, .function = fn, .file = file, .module = mod,
			   .code = code, .line = 7, .interp = true, .eval = true, .addr = 0 };
	const struct frame *g;
	uint32_t id;

	strcpy(fn, "fn");
	strcpy(file, "file.c");
	strcpy(mod, "/lib/mod.so");
	strcpy(code, "x = 1");
	id = intern(&f);
	memset(fn, 'X', sizeof(fn) - 1);
	memset(file, 'X', sizeof(file) - 1);
	memset(mod, 'X', sizeof(mod) - 1);
	memset(code, 'X', sizeof(code) - 1);
	g = frames__get(t, id);
	cr_assert_not_null(g);
	cr_expect_neq(g->function, fn);
	cr_expect_neq(g->file, file);
	cr_expect_neq(g->module, mod);
	cr_expect_neq(g->code, code);
	cr_expect_str_eq(g->function, "fn");
	cr_expect_str_eq(g->file, "file.c");
	cr_expect_str_eq(g->module, "/lib/mod.so");
	cr_expect_str_eq(g->code, "x = 1");
	cr_expect_eq(g->kind, FRAME_NATIVE);
	cr_expect_eq(g->line, 7);
	cr_expect(g->interp);
	cr_expect(g->eval);
}

/* Many frames: the table grows and the hash chains hold; ids are dense. */
Test(frames, many_frames)
{
	enum { MANY = 20000 };
	char name[32];
	struct frame f = { .kind = FRAME_PYTHON, .file = "/srv/app/gen.py" };

	for (uint32_t i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "f%u", i);
		f.function = name;
		f.line = i % 7;
		cr_assert_eq(intern(&f), i);
	}
	cr_expect_eq(frames__count(t), MANY);
	for (uint32_t i = 0; i < MANY; i += 37) {
		snprintf(name, sizeof(name), "f%u", i);
		f.function = name;
		f.line = i % 7;
		cr_assert_eq(intern(&f), i);
		cr_assert_str_eq(frames__get(t, i)->function, name);
	}
	cr_expect_eq(frames__count(t), MANY);
	cr_expect_null(frames__get(t, MANY));
}

/* ---- frame__user_file --------------------------------------------------- */

struct user_case {
	char file[96];
	bool null;
	bool want;
};

ParameterizedTestParameters(frames, user_file)
{
	static struct user_case cases[] = {
		{ "/usr/lib/python3.11/asyncio/events.py", false, false },
		{ "/usr/lib/python3.13/threading.py", false, false },
		{ "/usr/lib64/python3.12/json/encoder.py", false, false },
		{ "/usr/local/lib/python3.11/site-packages/httpx/_client.py", false, false },
		{ "/usr/lib/python3/dist-packages/tenacity/nap.py", false, false },
		{ "/home/u/.venv/lib/python3.12/site-packages/aiohttp/web.py", false, false },
		{ "/root/.pyenv/versions/3.12.1/lib/python3.12/asyncio/base_events.py", false, false },
		{ "/opt/app/vendor/site-packages/x.py", false, false },
		{ "<frozen importlib._bootstrap>", false, false },
		{ "<frozen runpy>", false, false },
		{ "<string>", false, false },
		{ "<stdin>", false, false },
		{ "", true, false },		/* NULL: unknown */
		{ "/srv/app/handlers.py", false, true },
		{ "app.py", false, true },
		{ "./app/main.py", false, true },
		{ "/home/u/project/server.py", false, true },
		{ "/home/u/mylib/python3stuff/x.py", false, true },	/* not /lib/python3 */
		{ "/opt/python3/app.py", false, true },
		{ "/tmp/pytest-of-root/pytest-0/test_a0/workload.py", false, true },
	};
	return cr_make_param_array(struct user_case, cases, N(cases));
}

ParameterizedTest(struct user_case *c, frames, user_file)
{
	const char *file = c->null ? NULL : c->file;

	cr_expect_eq(frame__user_file(file), c->want, "frame__user_file(\"%s\") = %d",
		     file ? file : "(null)", !c->want);
}

/* ---- frame__interp_symbol ----------------------------------------------- */

struct interp_case {
	char fn[48];
	bool null;
	bool want;
};

ParameterizedTestParameters(frames, interp_symbol)
{
	static struct interp_case cases[] = {
		{ "_PyEval_EvalFrameDefault", false, true },
		{ "PyEval_EvalCode", false, true },
		{ "_PyObject_MakeTpCall", false, true },
		{ "PyObject_Vectorcall", false, true },
		{ "_PyFunction_Vectorcall", false, true },
		{ "cfunction_vectorcall_O", false, true },
		{ "cfunction_call", false, true },
		{ "method_vectorcall_NOARGS", false, true },
		{ "slot_tp_call", false, true },
		{ "context_run", false, true },
		{ "task_step", false, true },
		{ "task_step_impl", false, true },
		{ "_asyncio_Task___step", false, true },
		{ "TaskStepMethWrapper_call", false, true },
		{ "gen_send_ex2", false, true },
		{ "pymain_run_python", false, true },
		{ "Py_RunMain", false, true },
		{ "Py_BytesMain", false, true },
		{ "__libc_start_call_main", false, true },
		{ "_start", false, true },
		{ "start_thread", false, true },
		{ "clone3", false, true },
		{ "thread_run", false, true },
		{ "clock_nanosleep", false, false },
		{ "time_sleep", false, false },
		{ "epoll_wait", false, false },
		{ "sock_recv", false, false },
		{ "encoder_listencode_obj", false, false },
		{ "main", false, false },
		{ "PyList_Append", false, false },
		{ "", false, false },
		{ "", true, false },		/* NULL: unknown */
	};
	return cr_make_param_array(struct interp_case, cases, N(cases));
}

ParameterizedTest(struct interp_case *c, frames, interp_symbol)
{
	const char *fn = c->null ? NULL : c->fn;

	cr_expect_eq(frame__interp_symbol(fn), c->want, "frame__interp_symbol(\"%s\") = %d",
		     fn ? fn : "(null)", !c->want);
}

/* ---- stack__merge ------------------------------------------------------- */

enum {
	SLEEP, CALL, EVAL, MAIN, EXT,	/* native */
	P1, P2, P3, P4, P5, P6,		/* python, innermost first */
	NKIND
};
static const char *const names[NKIND] = {
	"clock_nanosleep", "PyObject_Call", "_PyEval_EvalFrameDefault", "main", "ext_fn",
	"p1", "p2", "p3", "p4", "p5", "p6",
};
static uint32_t fid[NKIND];

TestSuite(merge, .init = setup, .fini = teardown);

static void build(void)
{
	for (int i = 0; i < NKIND; i++) {
		struct frame f = { .kind = i >= P1 ? FRAME_PYTHON : FRAME_NATIVE,
				   .function = (char *)names[i] };

		f.eval = i == EVAL;
		f.interp = i == CALL || i == EVAL;
		if (f.kind == FRAME_PYTHON)
			f.file = "/srv/app/x.py";
		/* interned out of order: ids are not the enum */
		fid[i] = intern(&f);
	}
}

/* Merge symbolic stacks (enum values) and compare with want. */
static void check_merge(const int *py, const bool *entry, int n_py, const int *nat,
			int n_nat, int max, const int *want, int n_want, const char *what)
{
	uint32_t pyv[64], natv[64], out[64];
	char got_s[512] = "", want_s[512] = "";
	int n;

	for (int i = 0; i < n_py; i++)
		pyv[i] = fid[py[i]];
	for (int i = 0; i < n_nat; i++)
		natv[i] = fid[nat[i]];
	for (int i = 0; i < 64; i++)
		out[i] = 0xdeadbeef;
	n = stack__merge(t, pyv, entry, n_py, natv, n_nat, out, max);
	for (int i = 0; i < n && i < 64; i++) {
		const struct frame *f = frames__get(t, out[i]);

		strcat(got_s, f ? f->function : "?");
		strcat(got_s, " ");
	}
	for (int i = 0; i < n_want; i++) {
		strcat(want_s, names[want[i]]);
		strcat(want_s, " ");
	}
	cr_assert_eq(n, n_want, "%s: %d frames, want %d\n got:  %s\n want: %s", what, n,
		     n_want, got_s, want_s);
	for (int i = 0; i < n; i++)
		cr_expect_eq(out[i], fid[want[i]], "%s: frame %d\n got:  %s\n want: %s", what, i,
			     got_s, want_s);
	for (int i = n; i < 64; i++)
		cr_assert_eq(out[i], 0xdeadbeef, "%s: wrote past its count at %d", what, i);
}

#define MERGE(py, entry, nat, max, want, what) \
	check_merge(py, entry, N(py), nat, N(nat), max, want, N(want), what)

/* 3.11: one eval call per C-level entry; the walker flags the outermost
 * Python frame of each segment (is_entry). */
Test(merge, eval_frames_take_their_segments)
{
	static const int py[] = { P1, P2, P3, P4, P5 };
	static const bool entry[] = { false, true, false, false, true };
	static const int nat[] = { SLEEP, CALL, EVAL, CALL, EXT, EVAL, MAIN };
	static const int want[] = { SLEEP, CALL, P1, P2, CALL, EXT, P3, P4, P5, MAIN };

	build();
	MERGE(py, entry, nat, 64, want, "two segments");
}

Test(merge, one_frame_segments)
{
	static const int py[] = { P1, P2, P3 };
	static const bool entry[] = { true, true, true };
	static const int nat[] = { EVAL, CALL, EVAL, CALL, EVAL, MAIN };
	static const int want[] = { P1, CALL, P2, CALL, P3, MAIN };

	build();
	MERGE(py, entry, nat, 64, want, "one frame each");
}

/* Unwinding stopped early: fewer eval frames than segments. What is left
 * of the Python stack follows at the outer end, in order. */
Test(merge, fewer_eval_frames_than_segments)
{
	static const int py[] = { P1, P2, P3, P4, P5, P6 };
	static const bool entry[] = { true, false, true, false, false, true };
	static const int nat[] = { SLEEP, EVAL, CALL };
	static const int want[] = { SLEEP, P1, CALL, P2, P3, P4, P5, P6 };

	build();
	MERGE(py, entry, nat, 64, want, "leftovers outermost");
}

/* More eval frames than Python frames: the extra ones stay as they are. */
Test(merge, more_eval_frames_than_python)
{
	static const int py[] = { P1 };
	static const bool entry[] = { true };
	static const int nat[] = { EVAL, CALL, EVAL, MAIN };
	static const int want[] = { P1, CALL, EVAL, MAIN };

	build();
	MERGE(py, entry, nat, 64, want, "extra eval");
}

/* No entry flag at all (3.12+ without shim frames seen): the first eval
 * frame takes every Python frame. */
Test(merge, no_entry_flags)
{
	static const int py[] = { P1, P2, P3 };
	static const bool entry[] = { false, false, false };
	static const int nat[] = { SLEEP, EVAL, CALL, EVAL, MAIN };
	static const int want[] = { SLEEP, P1, P2, P3, CALL, EVAL, MAIN };

	build();
	MERGE(py, entry, nat, 64, want, "no flags");
}

Test(merge, python_only)
{
	static const int py[] = { P1, P2, P3, P4 };
	static const bool entry[] = { false, true, false, true };
	static const int want[] = { P1, P2, P3, P4 };
	uint32_t pyv[4], out[8];

	build();
	for (int i = 0; i < 4; i++)
		pyv[i] = fid[py[i]];
	cr_assert_eq(stack__merge(t, pyv, entry, 4, NULL, 0, out, 8), 4);
	for (int i = 0; i < 4; i++)
		cr_expect_eq(out[i], fid[want[i]], "frame %d", i);
}

Test(merge, native_only)
{
	static const int nat[] = { SLEEP, CALL, EVAL, EXT, EVAL, MAIN };
	uint32_t natv[N(nat)], out[8];

	build();
	for (size_t i = 0; i < N(nat); i++)
		natv[i] = fid[nat[i]];
	cr_assert_eq(stack__merge(t, NULL, NULL, 0, natv, N(nat), out, 8), (int)N(nat));
	for (size_t i = 0; i < N(nat); i++)
		cr_expect_eq(out[i], natv[i], "frame %zu", i);
	cr_expect_eq(stack__merge(t, NULL, NULL, 0, NULL, 0, out, 8), 0);
}

/* Ids the table does not know (UINT32_MAX from a failed intern) pass
 * through as native frames; they are not eval frames. */
Test(merge, unknown_native_ids_pass_through)
{
	uint32_t pyv[1], natv[3], out[8];
	bool entry[1] = { true };

	build();
	pyv[0] = fid[P1];
	natv[0] = UINT32_MAX;
	natv[1] = fid[EVAL];
	natv[2] = 999999;
	cr_assert_eq(stack__merge(t, pyv, entry, 1, natv, 3, out, 8), 3);
	cr_expect_eq(out[0], UINT32_MAX);
	cr_expect_eq(out[1], fid[P1]);
	cr_expect_eq(out[2], 999999);
}

Test(merge, max_truncates)
{
	static const int py[] = { P1, P2, P3, P4, P5 };
	static const bool entry[] = { false, true, false, false, true };
	static const int nat[] = { SLEEP, CALL, EVAL, CALL, EXT, EVAL, MAIN };
	/* the full merge: SLEEP CALL P1 P2 CALL EXT P3 P4 P5 MAIN */
	static const int w0[] = { 0 }, w1[] = { SLEEP }, w3[] = { SLEEP, CALL, P1 },
			 w5[] = { SLEEP, CALL, P1, P2, CALL },
			 w7[] = { SLEEP, CALL, P1, P2, CALL, EXT, P3 },
			 w9[] = { SLEEP, CALL, P1, P2, CALL, EXT, P3, P4, P5 },
			 w10[] = { SLEEP, CALL, P1, P2, CALL, EXT, P3, P4, P5, MAIN };

	build();
	check_merge(py, entry, N(py), nat, N(nat), 0, w0, 0, "max 0");
	MERGE(py, entry, nat, 1, w1, "max 1");
	MERGE(py, entry, nat, 3, w3, "max 3: in a segment");
	MERGE(py, entry, nat, 5, w5, "max 5");
	MERGE(py, entry, nat, 7, w7, "max 7: in the second segment");
	MERGE(py, entry, nat, 9, w9, "max 9: at the end of a segment");
	MERGE(py, entry, nat, 10, w10, "max 10: exactly");
	MERGE(py, entry, nat, 11, w10, "max 11");
}

Test(merge, max_truncates_leftovers)
{
	static const int py[] = { P1, P2, P3, P4 };
	static const bool entry[] = { true, false, false, false };
	static const int nat[] = { SLEEP, EVAL };
	static const int w4[] = { SLEEP, P1, P2, P3 };
	static const int py2[] = { P1, P2, P3, P4, P5, P6 };
	static const bool entry2[] = { false, false, false, false, false, false };
	static const int nat2[] = { EVAL };
	static const int w2[] = { P1, P2 };

	build();
	MERGE(py, entry, nat, 4, w4, "leftovers cut");
	MERGE(py2, entry2, nat2, 2, w2, "one long segment cut");
}

/* A deep stack: LS_MAX_STACK bounds what a caller keeps. */
Test(merge, deep_stack_bounded)
{
	static uint32_t pyv[300], natv[300], out[LS_MAX_STACK + 8];
	static bool entry[300];
	int n;

	build();
	for (int i = 0; i < 300; i++) {
		pyv[i] = fid[P1 + i % 6];
		entry[i] = i % 3 == 2;
		natv[i] = fid[i % 2 ? EVAL : CALL];
	}
	for (int i = 0; i < LS_MAX_STACK + 8; i++)
		out[i] = 0xdeadbeef;
	n = stack__merge(t, pyv, entry, 300, natv, 300, out, LS_MAX_STACK);
	cr_expect_eq(n, LS_MAX_STACK);
	for (int i = LS_MAX_STACK; i < LS_MAX_STACK + 8; i++)
		cr_expect_eq(out[i], 0xdeadbeef);
	/* CALL, then the 3 Python frames of the first eval call, ... */
	cr_expect_eq(out[0], fid[CALL]);
	cr_expect_eq(out[1], fid[P1]);
	cr_expect_eq(out[2], fid[P2]);
	cr_expect_eq(out[3], fid[P3]);
	cr_expect_eq(out[4], fid[CALL]);
	cr_expect_eq(out[5], fid[P4]);
}
