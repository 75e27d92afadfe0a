/* SPDX-License-Identifier: MIT */
/* Builders of the recordings the report tests make in code (test_report.c,
 * test_pprof.c, test_ci_formats.c): a recording from T0 with its frames
 * interned, stalls, their stacks and findings, and the report printed into
 * memory. Each test keeps its own frames, rules and stalls; the frames of
 * an app that sleeps in Repository.load (repo.py:41) and encodes JSON in
 * render_report (report.py:88), under handle (api.py:12 and :30), are
 * here for their FRAMES[] tables. */
#ifndef LS_TEST_REPORT_FIXTURE_H
#define LS_TEST_REPORT_FIXTURE_H
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "recording.h"
#include "report.h"

#define MS 1000000ULL
#define SEC 1000000000ULL
#define T0 (1700000000ULL * SEC)	/* 2023-11-14 22:13:20 UTC */
#define N(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

#define FX_TIME_SLEEP { .kind = FRAME_NATIVE, .function = "time_sleep", \
		.module = "/usr/bin/python3.11" }
#define FX_LOAD { .kind = FRAME_PYTHON, .user = true, .function = "Repository.load", \
		.file = "/srv/app/repo.py", .line = 41, .firstline = 38, \
		.code = "time.sleep(0.2)" }
#define FX_HANDLE12 { .kind = FRAME_PYTHON, .user = true, .function = "handle", \
		.file = "/srv/app/api.py", .line = 12, .firstline = 10, \
		.code = "rows = Repository().load()" }
#define FX_RUN_ONCE { .kind = FRAME_PYTHON, .function = "BaseEventLoop._run_once", \
		.file = "/usr/lib/python3.11/asyncio/base_events.py", .line = 1922 }
#define FX_ENCODER { .kind = FRAME_NATIVE, .function = "encoder_listencode_list", \
		.module = "/usr/lib/python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so" }
#define FX_DUMPS { .kind = FRAME_PYTHON, .function = "dumps", \
		.file = "/usr/lib/python3.11/json/__init__.py", .line = 231 }
#define FX_RENDER { .kind = FRAME_PYTHON, .user = true, .function = "render_report", \
		.file = "/srv/app/report.py", .line = 88, .firstline = 80, \
		.code = "body = json.dumps(rows)" }
#define FX_HANDLE30 { .kind = FRAME_PYTHON, .user = true, .function = "handle", \
		.file = "/srv/app/api.py", .line = 30, .firstline = 10, \
		.code = "return render_report(rows)" }

static const struct report_filter ALL = {};

/* A test suite's .init: times printed in UTC. */
static inline void fx_utc(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
}

/* A zeroed element appended to *v, an array of *n elements of size sz. */
static inline void *fx_append(void **v, uint32_t *n, size_t sz)
{
	char *p = realloc(*v, (*n + 1) * sz);

	cr_assert_not_null(p);
	*v = p;
	p += (*n)++ * sz;
	memset(p, 0, sz);
	return p;
}

/* rec, empty but for pid's recording of 60 s from T0 (threshold 50 ms)
 * and frames[0..n) interned, their ids into ids[]. */
static inline void fx_recording(struct recording *rec, uint32_t pid, const struct frame *frames,
				uint32_t *ids, int n)
{
	memset(rec, 0, sizeof(*rec));
	rec->meta.pid = pid;
	rec->meta.threshold_ns = 50 * MS;
	rec->meta.start_unix_ns = T0;
	rec->meta.end_unix_ns = T0 + 60 * SEC;
	rec->frames = frames__new();
	cr_assert_not_null(rec->frames);
	for (int i = 0; i < n; i++)
		cr_assert_neq(ids[i] = frames__intern(rec->frames, &frames[i]), UINT32_MAX);
}

/* The rest of the header a recorder writes: host, command, versions, end. */
static inline void fx_meta(struct recording *rec, const char *command)
{
	rec->meta.host = strdup("web-1");
	rec->meta.command = strdup(command);
	rec->meta.python = strdup("3.11.2");
	rec->meta.loopstall = strdup("0.1.0");
	rec->meta.ended_by = strdup("target exit");
}

/* A stall of dur (on_cpu of it on the CPU) at T0 + at, without stacks. */
static inline struct stall *fx_stall(uint32_t pid, uint32_t tid, const char *thread, uint64_t at,
				     uint64_t dur, uint64_t on_cpu)
{
	struct stall *st = calloc(1, sizeof(*st));

	cr_assert_not_null(st);
	st->pid = pid;
	st->tid = tid;
	snprintf(st->thread, sizeof(st->thread), "%s", thread);
	st->start_unix_ns = T0 + at;
	st->start_ns = 1000 * SEC + at;
	st->duration_ns = dur;
	st->on_cpu_ns = on_cpu;
	st->off_cpu_ns = dur - on_cpu;
	return st;
}

/* A stack of st: count samples of kind in syscall nr (-1: none) standing
 * for ns, frames ids[fr[0]] (innermost) to ids[fr[n - 1]]. */
static inline struct stack_count *fx_stack(struct stall *st, uint32_t kind, int32_t nr,
					   uint64_t ns, uint32_t count, const uint32_t *ids,
					   const int *fr, uint32_t n)
{
	struct stack_count *sc = fx_append((void **)&st->stacks, &st->n_stacks, sizeof(*sc));

	sc->kind = kind;
	sc->nr = nr;
	sc->fd_kind = -1;
	sc->count = count;
	sc->weight_ns = ns;
	sc->n_frames = n;
	sc->frames = calloc(n, sizeof(*sc->frames));
	cr_assert_not_null(sc->frames);
	for (uint32_t i = 0; i < n; i++)
		sc->frames[i] = ids[fr[i]];
	return sc;
}

/* A finding of rule r at site for segment seg of st, with the segment's
 * time; evidence NULL: without it and without the site's code. */
static inline struct finding *fx_finding(struct stall *st, const struct rule *r, uint32_t seg,
					 const struct frame *site, const char *evidence)
{
	struct finding *fd;

	cr_assert_lt(seg, st->n_segments);
	fd = fx_append((void **)&st->findings, &st->n_findings, sizeof(*fd));
	fd->rule = r;
	fd->file = strdup(site->file);
	fd->line = site->line;
	fd->function = strdup(site->function);
	fd->segment = seg;
	fd->ns = st->segments[seg].ns;
	fd->share = (double)fd->ns / st->duration_ns;
	if (evidence) {
		fd->code = strdup(site->code);
		snprintf(fd->evidence, sizeof(fd->evidence), "%s", evidence);
	}
	return fd;
}

/* The report of rec, filtered by f, as the fixtures print it: of
 * "run.lsr", by loopstall 0.1.0. */
static inline void fx_report(struct report *r, const struct recording *rec,
			     const struct report_filter *f)
{
	cr_assert_eq(report__build(r, rec, "run.lsr", f, NULL, NULL), 0);
	r->version = "0.1.0";
}

/* What print writes of r, NUL-terminated; its length into *len unless
 * len is NULL. */
static inline char *fx_print(const struct report *r,
			     int (*print)(FILE *f, const struct report *r), size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	int err;

	cr_assert_not_null(f);
	err = print(f, r);
	cr_assert_eq(err, 0, "printer: %s", strerror(-err));
	cr_assert_eq(fclose(f), 0);
	if (len)
		*len = n;
	return buf;
}

#endif
