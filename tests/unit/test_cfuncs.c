// SPDX-License-Identifier: MIT
/* C functions named by the interpreter's tables (symbolizer/cfuncs.c),
 * read from a fake target: module functions, C types' methods and slots,
 * Python classes and shared slots left out, garbage skipped. The real
 * interpreters are tried in tests/e2e/test_pystacks.py. */
#include "fakepy.h"
#include "cfuncs.h"

#define FK_CFUNC_TYPE	0x556677889a00ULL	/* &PyCFunction_Type */
#define HEAP		(1ul << 9)
#define SUBTYPE_DEALLOC	0x499000ULL

static uint64_t cstr(const char *s)
{
	uint64_t a = fk_alloc(strlen(s) + 1);

	fk_put(a, s, strlen(s) + 1);
	return a;
}

/* A PyMethodDef array: names[i] at meths[i], then the sentinel. */
static uint64_t methods(const char *const *names, const uint64_t *meths, unsigned int n)
{
	uint64_t a = fk_alloc(32 * (n + 1));

	for (unsigned int i = 0; i <= n; i++) {
		fk_put64(a + 32 * i, i < n ? cstr(names[i]) : 0);
		fk_put64(a + 32 * i + 8, i < n ? meths[i] : 0);
		fk_put64(a + 32 * i + 16, 0);
		fk_put64(a + 32 * i + 24, 0);
	}
	return a;
}

static uint64_t ctype(const char *name, uint64_t flags, uint64_t dealloc, uint64_t call,
		      uint64_t meths, uint64_t new)
{
	uint64_t t = fk_alloc(400);

	for (unsigned int i = 0; i < 400; i += 8)
		fk_put64(t + i, 0);
	fk_put64(t, 1);
	fk_put64(t + FL.obj.ob_type, FK_TYPE_TYPE);
	fk_put64(t + FL.obj.type_name, cstr(name));
	fk_put64(t + FL.obj.type_flags, flags);
	fk_put64(t + FL.obj.type_dealloc, dealloc);
	fk_put64(t + FL.obj.type_call, call);
	fk_put64(t + FL.obj.type_methods, meths);
	fk_put64(t + FL.obj.type_new, new);
	return t;
}

static uint64_t cfunction(const char *name, uint64_t meth, const char *module)
{
	uint64_t f = fk_alloc(56), def = methods(&name, &meth, 1);

	fk_put64(f, 1);
	fk_put64(f + FL.obj.ob_type, FK_CFUNC_TYPE);
	fk_put64(f + FL.obj.cfunc_ml, def);
	fk_put64(f + 24, 0);
	fk_put64(f + FL.obj.cfunc_module, module ? fk_str(module) : 0);
	return f;
}

static uint64_t module(const char *const *names, const uint64_t *vals, unsigned int n)
{
	uint64_t m = fk_alloc(64);

	fk_put64(m, 1);
	fk_put64(m + FL.obj.ob_type, FK_MODULE_TYPE);
	fk_put64(m + FL.obj.module_dict, fk_str_dict(names, vals, n));
	return m;
}

static uint64_t modules_dict;

/* _PyRuntime of one interpreter whose sys.modules holds _json, re, abc,
 * app (a Python class), shared (two C types of one tp_new), junk, and
 * late (no module yet: "imported" by import_late()). */
static uint64_t target(void)
{
	static const char *const mnames[] = { "_json", "re", "abc", "app", "shared", "junk",
					      "late" };
	static const char *const json_names[] = { "scanstring", "make_scanner", "loads" };
	static const char *const re_meths[] = { "match", "search", "bad name" };
	static const char *const re_names[] = { "Pattern" };
	static const char *const abc_names[] = { "ABCMeta" };
	static const char *const app_names[] = { "Handler" };
	static const char *const sh_names[] = { "A", "B", "C" };
	static const char *const junk_names[] = { "x", "y" };
	uint64_t json[3], re[1], abc[1], app[1], sh[3], junk[2], mods[7], interp, rt;

	json[0] = cfunction("scanstring", 0x401000, "_json");
	json[1] = ctype("_json.Scanner", 0, 0x402f00, 0x402000, 0, 0x402800);
	json[2] = cfunction("loads", 0x401800, NULL);	/* no __module__: the module's */
	re[0] = ctype("re.Pattern", HEAP, 0x403f00, 0,
		      methods(re_meths, (uint64_t[]){ 0x403000, 0x403100, 0x403200 }, 3), 0);
	abc[0] = ctype("ABCMeta", HEAP, SUBTYPE_DEALLOC, 0x498000, 0, 0x498800);
	app[0] = ctype("Handler", HEAP, SUBTYPE_DEALLOC, 0x498000, 0, 0x498800);
	sh[0] = ctype("A", 0, 0x404f00, 0, 0, 0x497000);	/* a generic tp_new */
	sh[1] = ctype("B", 0, 0x405f00, 0, 0, 0x497000);
	sh[2] = ctype("C", 0, 0x406f00, 0x406000, 0, 0x497000);
	junk[0] = FK_BASE + 0x7;		/* garbage where an object should be */
	junk[1] = 0xdead0000;			/* outside the target */
	mods[0] = module(json_names, json, 3);
	mods[1] = module(re_names, re, 1);
	mods[2] = module(abc_names, abc, 1);
	mods[3] = module(app_names, app, 1);
	mods[4] = module(sh_names, sh, 3);
	mods[5] = module(junk_names, junk, 2);
	mods[6] = 0;				/* not imported yet */
	modules_dict = fk_str_dict(mnames, mods, 7);
	interp = fk_alloc(FL.obj.interp_modules + 64);
	fk_put64(interp + FL.interp_next, 0);
	fk_put64(interp + FL.obj.interp_modules, modules_dict);
	rt = fk_alloc(FL.runtime_interp_head + 8);
	fk_put64(rt + FL.runtime_interp_head, interp);
	return rt;
}

/* late imported: its entry's value set, sys.modules's count changed. */
static void import_late(void)
{
	static const char *const names[] = { "late_fn" };
	uint64_t keys = fk_get64(modules_dict + FL.obj.dict_keys);
	uint64_t entry6 = keys + FL.obj.keys_indices + (1u << fk_index_log2(7)) + 6 * 16;

	fk_put64(entry6 + 8, module(names, (uint64_t[]){ cfunction("late_fn", 0x420000,
									  "late") }, 1));
	fk_put64(modules_dict + FL.obj.dict_used, 7);
}

static void check(unsigned int minor)
{
	struct cfuncs *c;
	unsigned int reads;
	uint64_t rt;

	fk_init(minor);
	FO.types.type = FK_TYPE_TYPE;
	FO.types.cfunction = FK_CFUNC_TYPE;
	rt = target();
	c = cfuncs__new(&FO, rt);
	cr_assert_not_null(c);
	cr_assert_null(cfuncs__name(c, 0x401000), "nothing before a read");
	cr_assert_eq(cfuncs__refresh(c), 1);
	cr_assert_str_eq(cfuncs__name(c, 0x401000), "_json.scanstring");
	cr_assert_str_eq(cfuncs__name(c, 0x401800), "_json.loads");
	cr_assert_str_eq(cfuncs__name(c, 0x402000), "_json.Scanner.__call__");
	cr_assert_str_eq(cfuncs__name(c, 0x402800), "_json.Scanner.__new__");
	cr_assert_str_eq(cfuncs__name(c, 0x403000), "re.Pattern.match");
	cr_assert_str_eq(cfuncs__name(c, 0x403100), "re.Pattern.search");
	cr_assert_null(cfuncs__name(c, 0x403200), "a name that is no identifier");
	cr_assert_null(cfuncs__name(c, 0x498000), "a Python class's slot_tp_call");
	cr_assert_null(cfuncs__name(c, 0x497000), "a tp_new three C types share");
	cr_assert_str_eq(cfuncs__name(c, 0x406000), "C.__call__");
	cr_assert_null(cfuncs__name(c, 0x402001), "only a function's start");
	cr_assert_eq(cfuncs__count(c), 7);
	cr_assert_eq(cfuncs__refresh(c), 0, "sys.modules unchanged: not read");
	fk_put64(modules_dict + FL.obj.dict_used, 6);
	reads = fk_reads;
	cr_assert_eq(cfuncs__refresh(c), 0, "the same modules: no new name");
	cr_assert_lt(fk_reads - reads, 60, "the modules walked are not walked again");
	import_late();
	cr_assert_eq(cfuncs__refresh(c), 1, "a module imported: its names added");
	cr_assert_str_eq(cfuncs__name(c, 0x420000), "late.late_fn");
	cr_assert_str_eq(cfuncs__name(c, 0x403000), "re.Pattern.match");
	cr_assert_eq(cfuncs__count(c), 8);
	cfuncs__free(c);
	fk_fini();
}

Test(cfuncs, module_functions_methods_and_slots_3_11) { check(11); }
Test(cfuncs, module_functions_methods_and_slots_3_12) { check(12); }
Test(cfuncs, module_functions_methods_and_slots_3_13) { check(13); }
Test(cfuncs, module_functions_methods_and_slots_3_15) { check(15); }

/* Without abc.ABCMeta, Python classes cannot be told from C heap types:
 * heap types are left out, static ones still named. */
Test(cfuncs, no_abc_leaves_heap_types_out)
{
	static const char *const mnames[] = { "m" };
	static const char *const names[] = { "Heap", "Static" };
	uint64_t v[2], mods[1], interp, rt;
	struct cfuncs *c;

	fk_init(12);
	FO.types.type = FK_TYPE_TYPE;
	FO.types.cfunction = FK_CFUNC_TYPE;
	v[0] = ctype("Heap", HEAP, 0x410f00, 0x410000, 0, 0);
	v[1] = ctype("Static", 0, 0x411f00, 0x411000, 0, 0);
	mods[0] = module(names, v, 2);
	interp = fk_alloc(FL.obj.interp_modules + 64);
	fk_put64(interp + FL.obj.interp_modules, fk_str_dict(mnames, mods, 1));
	rt = fk_alloc(FL.runtime_interp_head + 8);
	fk_put64(rt + FL.runtime_interp_head, interp);
	c = cfuncs__new(&FO, rt);
	cr_assert_eq(cfuncs__refresh(c), 1);
	cr_assert_null(cfuncs__name(c, 0x410000));
	cr_assert_str_eq(cfuncs__name(c, 0x411000), "Static.__call__");
	cfuncs__free(c);
	fk_fini();
}

/* A runtime pointing at garbage: an error, nothing named, no crash. */
Test(cfuncs, garbage_runtime)
{
	struct cfuncs *c;

	fk_init(13);
	FO.types.type = FK_TYPE_TYPE;
	FO.types.cfunction = FK_CFUNC_TYPE;
	c = cfuncs__new(&FO, FK_BASE + 0x1000);
	cr_assert_lt(cfuncs__refresh(c), 0);
	cr_assert_null(cfuncs__name(c, 0x401000));
	cfuncs__free(c);
	FO.types.cfunction = 0;
	c = cfuncs__new(&FO, FK_BASE + 0x1000);
	cr_assert_eq(cfuncs__refresh(c), -ENOTSUP, "PyCFunction_Type unknown");
	cfuncs__free(c);
	fk_fini();
}
