// SPDX-License-Identifier: MIT
/* Unit tests: symbolizer/pythreads.c (Python thread names from
 * threading._active), on a fake target laid out per version (fakepy.h):
 * _PyRuntime -> interpreter -> sys.modules -> threading -> _active ->
 * Thread objects. The fake threads' TIDs are this test process's, so that
 * the host TIDs map; the e2e tests read real interpreters. */
#define _GNU_SOURCE
#include <unistd.h>
#include "fakepy.h"
#include "pythreads.h"

TestSuite(pythreads, .fini = fk_fini);

#define HOUR_NS		(3600ULL * 1000000000ULL)
#define NO_TASK		0x3ffffff0	/* a TID no task has */

static const char *const tnames[] = { "_target", "_name", "_args", "_native_id", "_ident" };

/* A Thread: attributes in its values, or in its dict. */
static uint64_t thread(const char *name, int64_t native_id, bool as_dict, uint64_t *type)
{
	uint64_t vals[5] = { fk_int(0), name ? fk_str(name) : fk_int(7), fk_int(1),
			     native_id ? fk_int(native_id) : 0, fk_int(99) };

	if (!native_id)		/* None until the thread runs: any non-int */
		vals[3] = fk_str("None");
	return fk_instance(tnames, vals, 5, as_dict, type);
}

#define IDENT(i)	(140000000000000LL + 4096 * (i))	/* a pthread_t */

/* A list of thread states, (native_thread_id, thread_id) each. */
static uint64_t tstates(const int64_t *native, const int64_t *ident, unsigned int n)
{
	uint64_t head = 0;

	for (unsigned int i = n; i-- > 0;) {
		uint64_t ts = fk_alloc(FL.tstate_native_tid + 8);

		fk_put64(ts + FL.tstate_next, head);
		fk_put64(ts + FL.tstate_native_tid, native[i]);
		fk_put64(ts + FL.tstate_thread_id, ident[i]);
		head = ts;
	}
	return head;
}

/* _PyRuntime of one interpreter whose threading._active holds threads
 * (keyed IDENT(i)); the thread states: native[i] (0: none) and IDENT(i). */
static uint64_t runtime_with(const uint64_t *threads, const int64_t *native, unsigned int n,
			     bool with_threading)
{
	static const char *const mnames[] = { "sys", "builtins", "threading", "os" };
	static const char *const gnames[] = { "_limbo", "_active", "_dangling" };
	uint64_t idents[16], globals[3], mods[4], module, rt, interp;
	int64_t ts_native[16], ts_ident[16];
	unsigned int n_ts = 0;

	cr_assert_leq(n, 16);
	for (unsigned int i = 0; i < n; i++) {
		idents[i] = fk_int(IDENT(i));
		if (native[i]) {
			ts_native[n_ts] = native[i];
			ts_ident[n_ts++] = IDENT(i);
		}
	}
	globals[0] = fk_str_dict(NULL, NULL, 0);
	globals[1] = fk_dict(fk_keys(0, 5, idents, threads, n), 0);
	globals[2] = fk_int(3);
	module = fk_alloc(64);
	fk_put64(module + FL.obj.ob_type, FK_MODULE_TYPE);
	fk_put64(module + FL.obj.module_dict, fk_str_dict(gnames, globals, 3));
	mods[0] = mods[1] = mods[3] = fk_alloc(64);
	mods[2] = module;
	interp = fk_alloc(FL.obj.interp_modules + 64);
	fk_put64(interp + FL.interp_next, 0);
	fk_put64(interp + FL.interp_threads_head, tstates(ts_native, ts_ident, n_ts));
	fk_put64(interp + FL.obj.interp_modules,
		 fk_str_dict(mnames, mods, with_threading ? 4 : 2));
	rt = fk_alloc(FL.runtime_interp_head + 8);
	fk_put64(rt + FL.runtime_interp_head, interp);
	return rt;
}

static void check_read(unsigned int minor)
{
	uint64_t type = 0, th[3], rt;
	struct pythread out[8];
	struct pythreads *t;
	char name[PYTHREAD_NAME_MAX];
	int n;

	fk_init(minor);
	th[0] = thread("MainThread", getpid(), false, &type);
	th[1] = thread("cache-warmer-with-a-long-name", NO_TASK, true, &type);
	th[2] = thread("not-started", 0, false, &type);
	rt = runtime_with(th, (int64_t[]){ getpid(), NO_TASK, 0 }, 3, true);
	t = pythreads__new(&FO, rt, getpid(), HOUR_NS);
	cr_assert_not_null(t);
	n = pythreads__read(t, out, 8);
	cr_assert_eq(n, 2, "3.%u: %d threads", minor, n);
	cr_expect_str_eq(out[0].name, "MainThread");
	cr_expect_eq(out[0].ns_tid, (uint32_t)getpid());
	cr_expect_eq(out[0].tid, (uint32_t)getpid(), "our namespace: the same TID");
	cr_expect_str_eq(out[1].name, "cache-warmer-with-a-long-name");
	cr_expect_eq(out[1].ns_tid, NO_TASK);
	cr_expect_eq(out[1].tid, 0, "no task has it");
	/* at most max */
	cr_expect_eq(pythreads__read(t, out, 1), 1);
	/* by TID */
	cr_assert_eq(pythreads__name(t, getpid(), name, sizeof(name)), 0);
	cr_expect_str_eq(name, "MainThread");
	cr_expect_eq(pythreads__name(t, NO_TASK, name, sizeof(name)), -ENOENT);
	cr_expect_eq(pythreads__name(t, 0, name, sizeof(name)), -ENOENT);
	pythreads__free(t);
}

Test(pythreads, read_311)
{
	check_read(11);
}

Test(pythreads, read_312)
{
	check_read(12);
}

Test(pythreads, read_313)
{
	check_read(13);
}

Test(pythreads, read_315)
{
	check_read(15);
}

/* Names are read again only once the refresh interval has passed. */
Test(pythreads, cached)
{
	uint64_t type = 0, th, rt, name_obj;
	struct pythreads *t, *t0;
	char name[PYTHREAD_NAME_MAX];
	unsigned int reads;

	fk_init(12);
	th = thread("before", getpid(), false, &type);
	rt = runtime_with(&th, (int64_t[]){ getpid() }, 1, true);
	t = pythreads__new(&FO, rt, getpid(), HOUR_NS);
	t0 = pythreads__new(&FO, rt, getpid(), 0);
	cr_assert(t && t0);
	cr_assert_eq(pythreads__name(t, getpid(), name, sizeof(name)), 0);
	cr_expect_str_eq(name, "before");
	/* renamed: t.name = "after" (3.12: values at the tagged word + 1) */
	name_obj = fk_str("after");
	fk_put64(fk_get64(th + FL.obj.attrs_dict) + 1 + FL.obj.values_data + 8, name_obj);
	reads = fk_reads;
	cr_assert_eq(pythreads__name(t, getpid(), name, sizeof(name)), 0);
	cr_expect_str_eq(name, "before", "the cache's, within the interval");
	cr_expect_eq(fk_reads, reads, "no read of the target within the interval");
	cr_assert_eq(pythreads__name(t0, getpid(), name, sizeof(name)), 0);
	cr_expect_str_eq(name, "after");
	cr_expect_gt(fk_reads, reads);
	pythreads__free(t);
	pythreads__free(t0);
}

/* No threading module; names that are not strs; an empty name; control
 * characters in a name; a runtime that cannot be read. */
Test(pythreads, degraded)
{
	uint64_t type = 0, th[3], rt;
	struct pythread out[4];
	struct pythreads *t;

	fk_init(13);
	th[0] = thread("x", getpid(), false, &type);
	t = pythreads__new(&FO, runtime_with(th, (int64_t[]){ getpid() }, 1, false), getpid(), 0);
	cr_expect_eq(pythreads__read(t, out, 4), 0, "no threading: no names");
	pythreads__free(t);

	th[0] = thread(NULL, getpid(), false, &type);		/* _name an int */
	th[1] = thread("", getpid(), false, &type);
	/* ESC, LF, U+009B (CSI) */
	th[2] = thread("evil\x1b[2J\nname\x9b" "1m", getpid(), false, &type);
	rt = runtime_with(th, (int64_t[]){ getpid(), getpid(), getpid() }, 3, true);
	t = pythreads__new(&FO, rt, getpid(), 0);
	cr_assert_eq(pythreads__read(t, out, 4), 1);
	cr_expect_str_eq(out[0].name, "evil?[2J?name?1m");
	pythreads__free(t);

	t = pythreads__new(&FO, 0x10, getpid(), 0);
	cr_expect_eq(pythreads__read(t, out, 4), -EFAULT);
	cr_expect_eq(pythreads__name(t, getpid(), out[0].name, 8), -ENOENT);
	pythreads__free(t);
	pythreads__free(NULL);
}

/* A Thread is named only when a thread state has its TID and ident: a
 * dummy thread left in _active after its thread ended (3.11/3.12) does not
 * name a later thread that took its TID. */
Test(pythreads, stale_thread_objects)
{
	uint64_t type = 0, th[3], rt, ts;
	struct pythread out[4];
	struct pythreads *t;
	int n;

	fk_init(12);
	th[0] = thread("Dummy-1", getpid(), false, &type);	/* its thread ended */
	th[1] = thread("worker", getpid(), false, &type);	/* took the TID */
	th[2] = thread("other-ident", getpid(), false, &type);
	rt = runtime_with(th, (int64_t[]){ 0, getpid(), getpid() }, 3, true);
	/* the third thread state's ident is not its Thread's */
	ts = fk_get64(fk_get64(fk_get64(rt + FL.runtime_interp_head) + FL.interp_threads_head) +
		      FL.tstate_next);
	fk_put64(ts + FL.tstate_thread_id, IDENT(7));
	t = pythreads__new(&FO, rt, getpid(), 0);
	n = pythreads__read(t, out, 4);
	cr_assert_eq(n, 1, "%d threads", n);
	cr_expect_str_eq(out[0].name, "worker");
	pythreads__free(t);
}

/* A cycle of interpreters ends: at most PY_MAX_INTERPS are looked at. */
Test(pythreads, interpreter_cycle)
{
	uint64_t type = 0, th, rt, interp;
	struct pythread out[PY_MAX_INTERPS + 10];
	struct pythreads *t;

	fk_init(12);
	th = thread("w", getpid(), false, &type);
	rt = runtime_with(&th, (int64_t[]){ getpid() }, 1, true);
	interp = fk_get64(rt + FL.runtime_interp_head);
	fk_put64(interp + FL.interp_next, interp);
	t = pythreads__new(&FO, rt, getpid(), 0);
	cr_expect_eq(pythreads__read(t, out, PY_MAX_INTERPS + 10), PY_MAX_INTERPS,
		     "the same thread once per interpreter looked at");
	cr_expect_eq(pythreads__read(t, out, 4), 4, "at most max");
	pythreads__free(t);
}

Test(pythreads, clean_and_copy)
{
	char s[64], d[8];

	strcpy(s, "ok name \xe2\x82\xac");
	pythread__clean_name(s);
	cr_expect_str_eq(s, "ok name \xe2\x82\xac", "printable UTF-8 kept");
	strcpy(s, "a\tb\x7f" "c\xc2\x80\xc2\xa0");
	pythread__clean_name(s);
	cr_expect_str_eq(s, "a?b?c?\xc2\xa0", "C0, DEL, C1 (U+0080) replaced; U+00A0 kept");
	pythread__copy_name(d, sizeof(d), "abc");
	cr_expect_str_eq(d, "abc");
	pythread__copy_name(d, sizeof(d), "abcdefghij");
	cr_expect_str_eq(d, "abcdefg");
	pythread__copy_name(d, sizeof(d), "abcde\xe2\x82\xac");	/* € would straddle the end */
	cr_expect_str_eq(d, "abcde");
	pythread__copy_name(d, sizeof(d), "abcd\xe2\x82\xac");	/* fits exactly */
	cr_expect_str_eq(d, "abcd\xe2\x82\xac");
	pythread__copy_name(d, 1, "abc");
	cr_expect_str_eq(d, "");
}
