// SPDX-License-Identifier: MIT
/* Unit tests: recordings (report/record_write.c, record_read.c, wire.c)
 * and the recorded sources of symbolizer/source.c. Run from the repo root (the
 * fixture is tests/unit/data/record-v1.lsr).
 *
 * LS_RECORD_FIXTURE=tests/unit/data/record-v1.lsr build/tests/test_record \
 *	--filter 'record/fixture_v1' rewrites the fixture. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "recording.h"
#include "wire.h"

#define MS 1000000ULL
#define SEC 1000000000ULL
#define FIXTURE "tests/unit/data/record-v1.lsr"

static char dir[64], path[128];
static struct frames *ft;	/* the live frame table */
static struct source *live;	/* the live source: answers from put data */

/* frame ids in ft */
static uint32_t F_SLEEP, F_TIME_SLEEP, F_EVAL, F_RAW, F_LOAD, F_HANDLE, F_RUN,
		F_UNICODE, F_STRING, F_PYSLEEP;

static uint32_t py(const char *fn, const char *file, int line, int firstline, bool user,
		   const char *code)
{
	struct frame f = { .kind = FRAME_PYTHON, .user = user, .line = line,
			   .firstline = firstline, .function = (char *)fn,
			   .file = (char *)file, .code = (char *)code };
	uint32_t id = frames__intern(ft, &f);

	cr_assert_neq(id, UINT32_MAX);
	return id;
}

static uint32_t nat(const char *fn, const char *file, int line, const char *module,
		    uint64_t addr, bool interp, bool eval)
{
	struct frame f = { .kind = FRAME_NATIVE, .interp = interp, .eval = eval,
			   .line = line, .function = (char *)fn, .file = (char *)file,
			   .module = (char *)module, .addr = addr };
	uint32_t id = frames__intern(ft, &f);

	cr_assert_neq(id, UINT32_MAX);
	return id;
}

static const char REPO_LOAD[] =
	"    def load(self):\n"
	"        # read the rows\n"
	"        rows = []\n"
	"        time.sleep(0.2)   \n"
	"        return rows\n";
static const char API_HANDLE[] =
	"@route('/rows')\n"
	"async def handle(req):\n"
	"    rows = Repository().load()\n";

static void setup(void)
{
	strcpy(dir, "/tmp/ls-record-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/run.lsr", dir);
	ft = frames__new();
	live = source__new_recorded();
	cr_assert(ft && live);
	F_SLEEP = nat("clock_nanosleep", NULL, 0, "/usr/lib/x86_64-linux-gnu/libc.so.6", 0,
		      false, false);
	F_TIME_SLEEP = nat("time_sleep", "../Modules/timemodule.c", 2162,
			   "/usr/bin/python3.11", 0, true, false);
	F_EVAL = nat("_PyEval_EvalFrameDefault", "../Python/ceval.c", 5201,
		     "/usr/bin/python3.11", 0, true, true);
	F_RAW = nat(NULL, NULL, 0, "/opt/lib/libfoo.so", 0x7f00deadbeefULL, false, false);
	F_LOAD = py("Repository.load", "/srv/app/repo.py", 41, 38, true, "time.sleep(0.2)");
	F_HANDLE = py("handle", "/srv/app/api.py", 12, 10, true, "rows = Repository().load()");
	F_RUN = py("BaseEventLoop._run_once", "/usr/lib/python3.11/asyncio/base_events.py",
		   1922, 1845, false, "handle._run()");
	F_UNICODE = py("fünf", "/srv/app/ü.py", 3, 1, true, "x = 'ß'");
	F_STRING = py("<module>", "<string>", 0, 0, true, NULL);
	F_PYSLEEP = py("Repository.load", "/srv/app/repo.py", 40, 38, true, "rows = []");
	source__put_function(live, "/srv/app/repo.py", 38, REPO_LOAD);
	source__put_function(live, "/srv/app/api.py", 10, API_HANDLE);
	source__put_function(live, "/usr/lib/python3.11/asyncio/base_events.py", 1845,
			     "    def _run_once(self):\n");
}

static void teardown(void)
{
	char cmd[128];

	frames__free(ft);
	source__free(live);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		cr_log_warn("could not remove %s", dir);
}

TestSuite(record, .init = setup, .fini = teardown);

static const struct recording_meta META = {
	.host = "staging-1", .command = "python3 -m app --port 8080", .python = "3.11.2",
	.loopstall = "0.1.0", .pid = 4242, .threshold_ns = 100 * MS,
	.start_unix_ns = 1795332450000000000ULL,
};
static const struct recording_meta END = {
	.end_unix_ns = 1795332510000000000ULL, .ended_by = "target exit",
	.lost_stalls = 3, .lost_samples = 1ULL << 40,
};

static uint32_t *ids_of(uint32_t n, const uint32_t *v)
{
	uint32_t *p = malloc((n ? n : 1) * sizeof(*p));

	cr_assert_not_null(p);
	if (n)			/* v may be NULL then (memcpy's UB, ASan says) */
		memcpy(p, v, n * sizeof(*p));
	return p;
}

#define IDS(...) ((const uint32_t[]){ __VA_ARGS__ })
#define NIDS(...) (sizeof((const uint32_t[]){ __VA_ARGS__ }) / sizeof(uint32_t))
#define STACK(sc, ...) ((sc)->n_frames = NIDS(__VA_ARGS__), \
			(sc)->frames = ids_of((sc)->n_frames, IDS(__VA_ARGS__)))

/* Stall i of the test recording: every field set, in three shapes. */
static struct stall *make_stall(int i)
{
	struct stall *st = calloc(1, sizeof(*st));
	struct stack_count *sc;

	cr_assert_not_null(st);
	st->pid = 4242;
	st->tid = 4250 + i;
	snprintf(st->thread, sizeof(st->thread), "%s", i == 2 ? "abcdefghijklmno" : "loop-b");
	st->seq = 7 + 100 * i;
	st->start_ns = 5000 * SEC + i * SEC;
	st->start_unix_ns = META.start_unix_ns + i * SEC + 123;
	st->duration_ns = 200 * MS + i;
	st->on_cpu_ns = 194000 + i;
	st->off_cpu_ns = st->duration_ns - st->on_cpu_ns;
	st->end_nr = i == 1 ? -1 : 232;
	st->ongoing = i == 1;
	st->n_waits = i == 2 ? LS_MAX_WAITS : 2;
	for (uint32_t w = 0; w < st->n_waits; w++) {
		st->waits[w].nr = w == 1 ? -2 : 230 + w;
		st->waits[w].count = w + 1;
		st->waits[w].ns = (100 - w) * MS;
	}
	st->samples_on = 3 + i;
	st->samples_off = 1;
	st->samples_sent = 5;
	st->samples_lost = i;
	st->first_sample_ns = 200000;
	st->last_sample_ns = 199 * MS;
	st->n_stacks = i == 2 ? 5 : 2;
	st->stacks = sc = calloc(st->n_stacks, sizeof(*sc));
	cr_assert_not_null(sc);
	sc[0] = (struct stack_count){ .kind = LS_SAMPLE_OFFCPU, .nr = 230, .fd_kind = -1,
		.args = { 0, 1, 0x7ffd12345678ULL }, .count = 3, .weight_ns = 180 * MS };
	STACK(&sc[0], F_SLEEP, F_TIME_SLEEP, F_LOAD, F_HANDLE, F_RUN);
	sc[1] = (struct stack_count){ .kind = LS_SAMPLE_ONCPU, .nr = -1, .fd_kind = -1,
		.count = 2, .weight_ns = 20 * MS };
	if (i == 1) {
		sc[1].args[0] = (uint64_t)-100;		/* AT_FDCWD */
		sc[1].args[5] = UINT64_MAX;
		sc[1].nr = 0;
		sc[1].fd_kind = 0;
		sc[1].n_frames = 0;			/* an empty stack */
		sc[1].frames = ids_of(0, NULL);
		st->gil_tid = 4251;
		snprintf(st->gil_thread, sizeof(st->gil_thread), "worker-1");
		st->n_gil_frames = 2;
		st->gil_frames = ids_of(2, IDS(F_UNICODE, F_STRING));
	} else {
		STACK(&sc[1], F_RAW, F_EVAL, F_PYSLEEP, F_HANDLE, F_RUN);
	}
	for (uint32_t k = 2; k < st->n_stacks; k++) {
		sc[k] = (struct stack_count){ .kind = k & 1, .nr = 7 + k, .fd_kind = k,
			.args = { k, k, k, k, k, k }, .count = 1, .weight_ns = k * MS };
		if (k < 4)	/* the same stack twice in a stall */
			STACK(&sc[k], F_EVAL, F_EVAL, F_UNICODE, F_RUN);
		else
			STACK(&sc[k], F_UNICODE, F_RUN);
	}
	return st;
}

static void write_recording(const char *p, int n_stalls, bool end)
{
	struct recorder *r = recorder__open(p, &META);

	cr_assert_not_null(r, "recorder__open: %s", strerror(errno));
	for (int i = 0; i < n_stalls; i++) {
		struct stall *st = make_stall(i % 3);

		cr_assert_eq(recorder__stall(r, st, ft, live), 0);
		stall__free(st);
	}
	cr_assert_eq(recorder__close(r, end ? &END : NULL), 0);
}

static void read_ok(struct recording *rec, const char *p)
{
	char why[256] = "";
	int err = recording__read(rec, p, why, sizeof(why));

	cr_assert_eq(err, 0, "recording__read: %d (%s)", err, why);
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static void expect_frame(const struct frames *got_t, uint32_t got, uint32_t want,
			 const char *what)
{
	const struct frame *g = frames__get(got_t, got), *w = frames__get(ft, want);

	cr_assert_not_null(g, "%s: frame id %u not in the recording", what, got);
	cr_assert_not_null(w);
	cr_expect_eq(g->kind, w->kind, "%s: kind", what);
	cr_expect_eq(g->user, w->user, "%s: user", what);
	cr_expect_eq(g->interp, w->interp, "%s: interp", what);
	cr_expect_eq(g->eval, w->eval, "%s: eval", what);
	cr_expect_eq(g->line, w->line, "%s: line", what);
	cr_expect_eq(g->firstline, w->firstline, "%s: firstline", what);
	cr_expect_eq(g->addr, w->addr, "%s: addr", what);
	cr_expect(str_eq(g->function, w->function), "%s: function %s, want %s", what,
		  g->function, w->function);
	cr_expect(str_eq(g->file, w->file), "%s: file %s, want %s", what, g->file, w->file);
	cr_expect(str_eq(g->module, w->module), "%s: module", what);
	cr_expect(str_eq(g->code, w->code), "%s: code %s, want %s", what, g->code, w->code);
}

/* got (from rec) equals want (built with ft), frames compared by content. */
static void expect_stall(const struct recording *rec, const struct stall *got,
			 const struct stall *want)
{
	char what[64];

	cr_expect_eq(got->pid, want->pid);
	cr_expect_eq(got->tid, want->tid);
	cr_expect_str_eq(got->thread, want->thread);
	cr_expect_eq(got->seq, want->seq);
	cr_expect_eq(got->start_ns, want->start_ns);
	cr_expect_eq(got->start_unix_ns, want->start_unix_ns);
	cr_expect_eq(got->duration_ns, want->duration_ns);
	cr_expect_eq(got->on_cpu_ns, want->on_cpu_ns);
	cr_expect_eq(got->off_cpu_ns, want->off_cpu_ns);
	cr_expect_eq(got->end_nr, want->end_nr);
	cr_expect_eq(got->ongoing, want->ongoing);
	cr_assert_eq(got->n_waits, want->n_waits);
	for (uint32_t w = 0; w < want->n_waits; w++) {
		cr_expect_eq(got->waits[w].nr, want->waits[w].nr, "wait %u", w);
		cr_expect_eq(got->waits[w].count, want->waits[w].count, "wait %u", w);
		cr_expect_eq(got->waits[w].ns, want->waits[w].ns, "wait %u", w);
	}
	cr_expect_eq(got->samples_on, want->samples_on);
	cr_expect_eq(got->samples_off, want->samples_off);
	cr_expect_eq(got->samples_sent, want->samples_sent);
	cr_expect_eq(got->samples_lost, want->samples_lost);
	cr_expect_eq(got->first_sample_ns, want->first_sample_ns);
	cr_expect_eq(got->last_sample_ns, want->last_sample_ns);
	cr_assert_eq(got->n_stacks, want->n_stacks);
	for (uint32_t i = 0; i < want->n_stacks; i++) {
		const struct stack_count *g = &got->stacks[i], *w = &want->stacks[i];

		cr_expect_eq(g->kind, w->kind, "stack %u", i);
		cr_expect_eq(g->nr, w->nr, "stack %u", i);
		cr_expect_eq(g->fd_kind, w->fd_kind, "stack %u", i);
		for (int a = 0; a < 6; a++)
			cr_expect_eq(g->args[a], w->args[a], "stack %u arg %d", i, a);
		cr_expect_eq(g->count, w->count, "stack %u", i);
		cr_expect_eq(g->weight_ns, w->weight_ns, "stack %u", i);
		cr_assert_eq(g->n_frames, w->n_frames, "stack %u", i);
		for (uint32_t k = 0; k < w->n_frames; k++) {
			snprintf(what, sizeof(what), "stall %lu stack %u frame %u",
				 (unsigned long)want->seq, i, k);
			expect_frame(rec->frames, g->frames[k], w->frames[k], what);
		}
	}
	cr_expect_eq(got->n_findings, 0);
	cr_expect_null(got->findings);
	cr_expect_eq(got->gil_tid, want->gil_tid);
	cr_expect_str_eq(got->gil_thread, want->gil_thread);
	cr_assert_eq(got->n_gil_frames, want->n_gil_frames);
	for (uint32_t k = 0; k < want->n_gil_frames; k++) {
		snprintf(what, sizeof(what), "gil frame %u", k);
		expect_frame(rec->frames, got->gil_frames[k], want->gil_frames[k], what);
	}
	cr_expect_eq(got->task_id, want->task_id);
	cr_expect_str_eq(got->task, want->task);
	cr_assert_eq(got->n_task_frames, want->n_task_frames);
	for (uint32_t k = 0; k < want->n_task_frames; k++) {
		snprintf(what, sizeof(what), "task frame %u", k);
		expect_frame(rec->frames, got->task_frames[k], want->task_frames[k], what);
	}
}

/* The first n stalls of rec are stalls 0, 1, 2, 0, 1, … */
static void expect_first_stalls(const struct recording *rec, uint32_t n)
{
	cr_assert_geq(rec->n_stalls, n, "%u stalls, want at least %u", rec->n_stalls, n);
	for (uint32_t i = 0; i < n; i++) {
		struct stall *want = make_stall(i % 3);

		expect_stall(rec, rec->stalls[i], want);
		stall__free(want);
	}
}

/* rec has stalls 0, 1, 2, 0, 1, … (n of them) */
static void expect_stalls(const struct recording *rec, uint32_t n)
{
	cr_assert_eq(rec->n_stalls, n, "%u stalls, want %u", rec->n_stalls, n);
	expect_first_stalls(rec, n);
}

static void expect_meta(const struct recording_meta *m, bool end)
{
	cr_expect_str_eq(m->host, META.host);
	cr_expect_str_eq(m->command, META.command);
	cr_expect_str_eq(m->python, META.python);
	cr_expect_str_eq(m->loopstall, META.loopstall);
	cr_expect_eq(m->pid, META.pid);
	cr_expect_eq(m->threshold_ns, META.threshold_ns);
	cr_expect_eq(m->start_unix_ns, META.start_unix_ns);
	if (end) {
		cr_expect_eq(m->end_unix_ns, END.end_unix_ns);
		cr_expect_str_eq(m->ended_by, END.ended_by);
		cr_expect_eq(m->lost_stalls, END.lost_stalls);
		cr_expect_eq(m->lost_samples, END.lost_samples);
	} else {
		cr_expect_eq(m->end_unix_ns, 0);
		cr_expect_null(m->ended_by);
		cr_expect_eq(m->lost_stalls, 0);
	}
}

/* The struct source report builds of a recording (probe/report_cmd.c). */
static struct source *source_of(const struct recording *rec)
{
	struct source *src = source__new_recorded();

	cr_assert_not_null(src);
	for (uint32_t i = 0; i < rec->n_sources; i++) {
		const struct recorded_source *s = &rec->sources[i];

		if (s->firstline)
			source__put_function(src, s->file, s->firstline, s->text);
		else
			source__put_line(src, s->file, s->line, s->text);
	}
	return src;
}

static void expect_sources(const struct recording *rec)
{
	struct source *src = source_of(rec);
	int n_funcs = 0;

	for (uint32_t i = 0; i < rec->n_sources; i++)
		n_funcs += rec->sources[i].firstline > 0;
	/* the user's functions only, each once: not base_events.py's, not
	 * ü.py's (no source), not <string>'s (no firstline) */
	cr_expect_eq(n_funcs, 2);
	cr_expect_str_eq(source__function(src, "/srv/app/repo.py", 38), REPO_LOAD);
	cr_expect_str_eq(source__function(src, "/srv/app/api.py", 10), API_HANDLE);
	cr_expect_null(source__function(src, "/usr/lib/python3.11/asyncio/base_events.py", 1845));
	/* lines: the frames' own, and any line of a recorded function */
	cr_expect_str_eq(source__line(src, "/srv/app/repo.py", 41), "time.sleep(0.2)");
	cr_expect_str_eq(source__line(src, "/srv/app/repo.py", 39), "# read the rows");
	cr_expect_str_eq(source__line(src, "/srv/app/repo.py", 42), "return rows");
	cr_expect_null(source__line(src, "/srv/app/repo.py", 43));
	cr_expect_str_eq(source__line(src, "/usr/lib/python3.11/asyncio/base_events.py", 1922),
			 "handle._run()");
	cr_expect_str_eq(source__line(src, "/srv/app/ü.py", 3), "x = 'ß'");
	source__free(src);
}

static size_t file_size(const char *p)
{
	struct stat sb;

	cr_assert_eq(stat(p, &sb), 0, "%s: %s", p, strerror(errno));
	return sb.st_size;
}

static uint8_t *slurp(const char *p, size_t *n)
{
	FILE *f = fopen(p, "rb");
	uint8_t *d;

	cr_assert_not_null(f, "%s: %s", p, strerror(errno));
	*n = file_size(p);
	d = malloc(*n + 1);
	cr_assert_not_null(d);
	cr_assert_eq(fread(d, 1, *n, f), *n);
	fclose(f);
	return d;
}

static void spill(const char *p, const void *d, size_t n)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	cr_assert_geq(fd, 0, "%s: %s", p, strerror(errno));
	cr_assert_eq(write(fd, d, n), (ssize_t)n);
	close(fd);
}

/* The records of a file (test-side walk of the documented framing): their
 * types and end offsets, at most max. Returns the count. */
static int walk(const uint8_t *d, size_t n, uint8_t *types, size_t *ends, int max)
{
	size_t at = 16;
	int k = 0;

	while (at < n && k < max) {
		uint64_t len = 0;
		size_t p = at + 1;

		for (int shift = 0; p < n; shift += 7) {
			len |= (uint64_t)(d[p] & 0x7f) << shift;
			if (!(d[p++] & 0x80))
				break;
		}
		if (p + len + 4 > n)
			break;
		types[k] = d[at];
		ends[k++] = at = p + len + 4;
	}
	return k;
}

Test(record, round_trip)
{
	struct recording rec;
	struct recorder *r = recorder__open(path, &META);
	uint64_t before;

	cr_assert_not_null(r);
	cr_expect_eq(recorder__bytes(r), file_size(path));
	for (int i = 0; i < 3; i++) {
		struct stall *st = make_stall(i);

		before = recorder__bytes(r);
		cr_assert_eq(recorder__stall(r, st, ft, live), 0);
		cr_expect_gt(recorder__bytes(r), before);
		cr_expect_eq(recorder__bytes(r), file_size(path), "flushed after each stall");
		stall__free(st);
	}
	before = recorder__bytes(r);
	cr_assert_eq(recorder__close(r, &END), 0);
	cr_expect_gt(file_size(path), before);

	read_ok(&rec, path);
	expect_meta(&rec.meta, true);
	expect_stalls(&rec, 3);
	expect_sources(&rec);
	cr_expect_not(rec.truncated);
	cr_expect_null(rec.tail);
	cr_expect_eq(rec.good_bytes, file_size(path));
	cr_expect_eq(rec.file_bytes, file_size(path));
	cr_expect_eq(rec.dropped_stalls, 0);
	/* only the frames the stalls use */
	cr_expect_eq(frames__count(rec.frames), 10);
	recording__free(&rec);
}

/* Frames, stacks and sources go to the file once, before the first stall
 * that needs them. */
/* Thread names are Python's now: up to PYTHREAD_NAME_MAX - 1 bytes of
 * UTF-8, written and read back whole; a longer one (another writer's) is
 * cut on a character boundary. */
/* A stall's task (its id, name and coroutines) reads back; a stall
 * without one has none (fixture_v1: the fields are left out then). */
Test(record, task_round_trip)
{
	struct recorder *r = recorder__open(path, &META);
	struct stall *st = make_stall(0), *plain = make_stall(1);
	struct recording rec;

	cr_assert_not_null(r);
	st->task_id = 0x7f0012345678;
	snprintf(st->task, sizeof(st->task), "flush-cache");
	st->n_task_frames = 2;
	st->task_frames = ids_of(2, IDS(F_HANDLE, F_PYSLEEP));
	cr_assert_eq(recorder__stall(r, st, ft, live), 0);
	cr_assert_eq(recorder__stall(r, plain, ft, live), 0);
	cr_assert_eq(recorder__close(r, &END), 0);
	read_ok(&rec, path);
	cr_assert_eq(rec.n_stalls, 2);
	expect_stall(&rec, rec.stalls[0], st);
	expect_stall(&rec, rec.stalls[1], plain);
	cr_expect_eq(rec.stalls[1]->task_id, 0);
	recording__free(&rec);
	stall__free(st);
	stall__free(plain);
}

Test(record, long_thread_names)
{
	/* 62 bytes: 58 ASCII, then U+20AC (3 bytes) and '!' */
	static const char name[] = "cache-warmer-with-a-long-name-and-then-some-more-of-it-xyz"
				   "\xe2\x82\xac!";
	struct recorder *r = recorder__open(path, &META);
	struct stall *st = make_stall(1);
	struct recording rec;
	struct field f = { .wt = WT_BYTES, .p = (const uint8_t *)name };
	char cut[60];

	cr_assert_eq(strlen(name), PYTHREAD_NAME_MAX - 2);
	cr_assert_not_null(r);
	snprintf(st->thread, sizeof(st->thread), "%s", name);
	snprintf(st->gil_thread, sizeof(st->gil_thread), "%sZ", name);	/* 63 bytes */
	cr_assert_eq(recorder__stall(r, st, ft, live), 0);
	cr_assert_eq(recorder__close(r, &END), 0);
	read_ok(&rec, path);
	cr_assert_eq(rec.n_stalls, 1);
	cr_expect_str_eq(rec.stalls[0]->thread, name);
	cr_expect_str_eq(rec.stalls[0]->gil_thread, st->gil_thread);
	recording__free(&rec);
	stall__free(st);
	/* into 60 bytes: the euro sign would straddle the end, it goes whole */
	f.n = strlen(name);
	v_name(&f, cut, sizeof(cut));
	cr_expect_eq(strlen(cut), 58, "%s", cut);
	f.n = 59;
	v_name(&f, cut, sizeof(cut));
	cr_expect_eq(strlen(cut), 58);
	f.n = 10;
	v_name(&f, cut, sizeof(cut));
	cr_expect_str_eq(cut, "cache-warm");
}

Test(record, written_once)
{
	uint8_t types[64];
	size_t ends[64], n;
	uint8_t *d;
	int k, count[8] = { 0 };
	struct recording rec;

	write_recording(path, 6, true);
	d = slurp(path, &n);
	k = walk(d, n, types, ends, 64);
	cr_assert_eq(ends[k - 1], n);
	for (int i = 0; i < k; i++)
		count[types[i] < 8 ? types[i] : 0]++;
	cr_expect_eq(count[1], 1, "META");
	cr_expect_eq(count[2], 10, "FRAME: one per frame used");
	cr_expect_eq(count[3], 2, "SOURCE: one per user function with a source");
	cr_expect_eq(count[4], 5, "STACK: one per distinct stack");
	cr_expect_eq(count[5], 6, "STALL");
	cr_expect_eq(count[6], 1, "END");
	cr_expect_eq(types[0], 1);
	cr_expect_eq(types[k - 1], 6);
	/* the second round of stalls 0-2 is STALL records only */
	for (int i = k - 4; i < k - 1; i++)
		cr_expect_eq(types[i], 5, "record %d", i);
	free(d);
	read_ok(&rec, path);
	expect_stalls(&rec, 6);
	recording__free(&rec);
}

/* A live source reading the target's files: what record does. */
Test(record, live_source_files)
{
	char file[160];
	const char text[] = "import time\n\nasync def handle(req):\n    time.sleep(1)\n\nx = 1\n";
	struct source *src = source__new(getpid());
	struct recording rec;
	struct stall *st = make_stall(0);
	struct recorder *r;
	uint32_t id;

	snprintf(file, sizeof(file), "%s/app.py", dir);
	spill(file, text, strlen(text));
	id = py("handle", file, 4, 3, true, "time.sleep(1)");
	st->stacks[0].frames[2] = id;
	r = recorder__open(path, &META);
	cr_assert_not_null(r);
	cr_assert_eq(recorder__stall(r, st, ft, src), 0);
	cr_assert_eq(recorder__close(r, &END), 0);
	stall__free(st);
	source__free(src);

	read_ok(&rec, path);
	src = source_of(&rec);
	/* up to the next line indented no deeper than the def */
	cr_expect_str_eq(source__function(src, file, 3),
			 "async def handle(req):\n    time.sleep(1)\n\n");
	cr_expect_str_eq(source__line(src, file, 4), "time.sleep(1)");
	cr_expect_str_eq(source__line(src, file, 5), "");
	cr_expect_null(source__line(src, file, 6), "not recorded: outside the function");
	cr_expect_null(source__line(src, file, 1), "not recorded: outside the function");
	source__free(src);
	recording__free(&rec);
}

/* kill -9 at any moment: the file is cut anywhere in the last write. */
Test(record, cut_at_every_byte)
{
	char cut[160];
	uint8_t types[64], *d;
	size_t ends[64], n;
	uint64_t last_stall;
	struct recorder *r = recorder__open(path, &META);
	int k;

	cr_assert_not_null(r);
	for (int i = 0; i < 3; i++) {
		struct stall *st = make_stall(i);

		cr_assert_eq(recorder__stall(r, st, ft, live), 0);
		stall__free(st);
	}
	last_stall = recorder__bytes(r);
	{
		/* the last write brings new frames and a new stack: a new
		 * thread's stack */
		struct stall *st = make_stall(0);

		st->stacks[0].frames[0] = nat("epoll_wait", NULL, 0, "libc.so.6", 0, false, false);
		st->stacks[0].frames[2] = py("spin", "/srv/app/spin.py", 9, 5, true, "while 1: pass");
		cr_assert_eq(recorder__stall(r, st, ft, live), 0);
		stall__free(st);
	}
	cr_assert_eq(recorder__close(r, &END), 0);
	d = slurp(path, &n);
	k = walk(d, n, types, ends, 64);
	cr_assert_eq(ends[k - 1], n);
	snprintf(cut, sizeof(cut), "%s/cut.lsr", dir);
	for (size_t len = 0; len <= n; len++) {
		struct recording rec;
		char why[256] = "";
		bool boundary = len == 16;
		size_t good = 16;
		int err;

		for (int i = 0; i < k; i++) {
			boundary |= ends[i] == len;
			if (ends[i] <= len)
				good = ends[i];
		}
		spill(cut, d, len);
		err = recording__read(&rec, cut, why, sizeof(why));
		if (len < 16) {
			cr_assert_eq(err, -EINVAL, "cut at %zu: %d", len, err);
			cr_assert_neq(why[0], 0);
			recording__free(&rec);
			continue;
		}
		cr_assert_eq(err, 0, "cut at %zu: %d (%s)", len, err, why);
		cr_assert_eq(rec.truncated, !boundary, "cut at %zu", len);
		cr_assert_eq(rec.good_bytes, good, "cut at %zu: good_bytes %lu, want %zu", len,
			     (unsigned long)rec.good_bytes, good);
		cr_assert_eq(rec.file_bytes, len);
		if (rec.truncated)
			cr_assert_not_null(rec.tail);
		if (len >= ends[0])
			expect_meta(&rec.meta, len == n);
		if (len >= last_stall) {
			/* every stall written before is there; the last one
			 * only when its STALL record is complete */
			uint32_t want = len >= ends[k - 2] ? 4 : 3;

			cr_assert_eq(rec.n_stalls, want, "cut at %zu: %u stalls", len, rec.n_stalls);
			expect_first_stalls(&rec, 3);
		}
		cr_assert_eq(rec.dropped_stalls, 0);
		recording__free(&rec);
	}
	free(d);
}

/* A real kill -9 of a recorder writing as fast as it can. */
Test(record, kill_9)
{
	struct recording rec;
	pid_t pid = fork();
	int status;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct recorder *r = recorder__open(path, &META);

		for (int i = 0; r; i++) {
			struct stall *st = make_stall(i % 3);

			if (recorder__stall(r, st, ft, live))
				_exit(1);
			stall__free(st);
		}
		_exit(1);
	}
	for (int i = 0; i < 10000; i++) {
		struct stat sb;

		if (stat(path, &sb) == 0 && sb.st_size > 256 * 1024)
			break;
		usleep(1000);
	}
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the recorder died early");
	read_ok(&rec, path);
	cr_expect_gt(rec.n_stalls, 100);
	expect_stalls(&rec, rec.n_stalls);
	expect_meta(&rec.meta, false);
	cr_expect_eq(rec.truncated, rec.good_bytes != rec.file_bytes);
	cr_expect_eq(rec.file_bytes, file_size(path));
	recording__free(&rec);
}

/* A damaged byte anywhere in a stall's records: reading stops there. */
Test(record, flipped_byte)
{
	char bad[160];
	uint8_t types[64], *d;
	size_t ends[64], n;
	int k, s1 = -1;

	write_recording(path, 3, true);
	d = slurp(path, &n);
	k = walk(d, n, types, ends, 64);
	/* the second STALL record */
	for (int i = 0, seen = 0; i < k; i++)
		if (types[i] == 5 && ++seen == 2)
			s1 = i;
	cr_assert_geq(s1, 1);
	snprintf(bad, sizeof(bad), "%s/bad.lsr", dir);
	for (size_t at = ends[s1 - 1]; at < ends[s1]; at++) {
		struct recording rec;

		d[at] ^= 0x10;
		spill(bad, d, n);
		d[at] ^= 0x10;
		read_ok(&rec, bad);
		cr_assert(rec.truncated, "flip at %zu", at);
		cr_assert_eq(rec.good_bytes, ends[s1 - 1], "flip at %zu", at);
		cr_assert_not_null(rec.tail);
		expect_stalls(&rec, 1);
		cr_expect_eq(rec.meta.end_unix_ns, 0, "nothing after the damage is read");
		recording__free(&rec);
	}
	free(d);
}

struct header_case {
	const char *name;
	const char *data;
	size_t len;
	int err;
	const char *why;	/* in the reason */
};

#define HC(name, data, err, why) { name, data, sizeof(data) - 1, err, why }

static const struct header_case header_cases[] = {
	HC("empty", "", -EINVAL, "empty"),
	HC("text", "hello world, this is not a recording\n", -EINVAL, "LOOPSTAL"),
	HC("short magic", "LOOP", -EINVAL, "cut short"),
	HC("short header", "LOOPSTAL\1\0\0\0", -EINVAL, "12 of 16"),
	HC("version 0", "LOOPSTAL\0\0\0\0\0\0\0\0", -EINVAL, "version 0"),
	HC("version 2", "LOOPSTAL\2\0\0\0\0\0\0\0", -EPROTONOSUPPORT,
	   "format 2; this loopstall reads formats up to 1: upgrade loopstall"),
	HC("version 513", "LOOPSTAL\1\2\0\0\0\0\0\0", -EPROTONOSUPPORT, "format 513"),
};

Test(record, bad_headers)
{
	for (size_t i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]); i++) {
		const struct header_case *c = &header_cases[i];
		struct recording rec;
		char why[256] = "";
		int err;

		spill(path, c->data, c->len);
		err = recording__read(&rec, path, why, sizeof(why));
		cr_expect_eq(err, c->err, "%s: %d, want %d (%s)", c->name, err, c->err, why);
		cr_expect(strstr(why, c->why), "%s: reason \"%s\" lacks \"%s\"", c->name, why, c->why);
		cr_expect_eq(rec.n_stalls, 0);
		recording__free(&rec);
	}
}

/* A whole recording with a newer version: refused, not half read. */
Test(record, newer_version)
{
	struct recording rec;
	char why[256] = "";
	uint8_t *d;
	size_t n;

	write_recording(path, 2, true);
	d = slurp(path, &n);
	d[8] = LS_RECORD_VERSION + 1;
	spill(path, d, n);
	free(d);
	cr_assert_eq(recording__read(&rec, path, why, sizeof(why)), -EPROTONOSUPPORT);
	cr_expect(strstr(why, "upgrade loopstall"), "%s", why);
	cr_expect_eq(rec.n_stalls, 0);
	recording__free(&rec);
}

Test(record, no_file)
{
	struct recording rec;
	char why[256] = "";

	cr_assert_eq(recording__read(&rec, "/nonexistent/run.lsr", why, sizeof(why)), -ENOENT);
	cr_expect_neq(why[0], 0);
	recording__free(&rec);
	cr_assert_eq(recording__read(&rec, dir, why, sizeof(why)), -EISDIR);
	recording__free(&rec);
}

Test(record, empty_recording)
{
	struct recording rec;

	write_recording(path, 0, true);
	read_ok(&rec, path);
	expect_meta(&rec.meta, true);
	cr_expect_eq(rec.n_stalls, 0);
	cr_expect_not(rec.truncated);
	cr_expect_eq(frames__count(rec.frames), 0);
	recording__free(&rec);

	write_recording(path, 0, false);	/* killed before any stall */
	read_ok(&rec, path);
	expect_meta(&rec.meta, false);
	cr_expect_eq(rec.n_stalls, 0);
	cr_expect_not(rec.truncated);
	recording__free(&rec);
}

/* Killed without the end record: every stall, not truncated, no end. */
Test(record, no_end_record)
{
	struct recording rec;

	write_recording(path, 4, false);
	read_ok(&rec, path);
	expect_meta(&rec.meta, false);
	expect_stalls(&rec, 4);
	cr_expect_not(rec.truncated);
	recording__free(&rec);
}

/* ---- a test-side encoder, for records of newer writers ---- */

static size_t varint(uint8_t *o, uint64_t v)
{
	size_t n = 0;

	do {
		o[n++] = (v & 0x7f) | (v > 0x7f ? 0x80 : 0);
		v >>= 7;
	} while (v);
	return n;
}

#include <zlib.h>

/* Insert record (type, payload) at offset at of d (n bytes): a new buffer. */
static uint8_t *insert_record(const uint8_t *d, size_t n, size_t at, uint8_t type,
			      const uint8_t *pl, size_t len, size_t *out_n)
{
	uint8_t *o = malloc(n + len + 16);
	size_t k = at;
	uint32_t c;

	cr_assert_not_null(o);
	memcpy(o, d, at);
	o[k++] = type;
	k += varint(o + k, len);
	memcpy(o + k, pl, len);
	k += len;
	c = crc32(0, o + at, k - at);
	for (int i = 0; i < 4; i++)
		o[k++] = c >> (8 * i);
	memcpy(o + k, d + at, n - at);
	*out_n = k + n - at;
	return o;
}

/* Minor additions of a newer writer (same format version): a record type
 * and fields of every wire type this one does not know are skipped. */
Test(record, unknown_records_and_fields)
{
	uint8_t types[64], *d, *d2, *d3, pl[64];
	size_t ends[64], n, n2, n3, k = 0;
	struct recording rec;
	int nrec;

	write_recording(path, 3, true);
	d = slurp(path, &n);
	nrec = walk(d, n, types, ends, 64);
	cr_assert_geq(nrec, 2);
	/* type 99: field 1 varint, field 2 fixed64, field 3 bytes */
	pl[k++] = 1 << 3 | 0;
	k += varint(pl + k, 300);
	pl[k++] = 2 << 3 | 1;
	memcpy(pl + k, "\1\2\3\4\5\6\7\10", 8);
	k += 8;
	pl[k++] = 3 << 3 | 2;
	pl[k++] = 3;
	memcpy(pl + k, "abc", 3);
	k += 3;
	d2 = insert_record(d, n, ends[0], 99, pl, k, &n2);
	/* a META with a new field (40, bytes) and a known one */
	k = 0;
	k += varint(pl + k, 40 << 3 | 2);
	pl[k++] = 2;
	pl[k++] = 'x';
	pl[k++] = 'y';
	k += varint(pl + k, 41 << 3 | 1);
	memset(pl + k, 0xee, 8);
	k += 8;
	d3 = insert_record(d2, n2, ends[0], 1, pl, k, &n3);
	spill(path, d3, n3);
	read_ok(&rec, path);
	expect_meta(&rec.meta, true);
	expect_stalls(&rec, 3);
	cr_expect_not(rec.truncated);
	cr_expect_eq(rec.good_bytes, n3);
	recording__free(&rec);
	free(d);
	free(d2);
	free(d3);
}

/* A stall whose stack the file lacks (a STACK record cut out) is dropped
 * and counted; the others are read. */
Test(record, missing_stack)
{
	uint8_t types[64], *d;
	size_t ends[64], n, from = 0, to = 0;
	struct recording rec;
	int k, stacks = 0;

	write_recording(path, 3, true);
	d = slurp(path, &n);
	k = walk(d, n, types, ends, 64);
	/* the last STACK record: stall 2's F_EVAL, F_EVAL, F_UNICODE, F_RUN */
	for (int i = 1; i < k; i++)
		if (types[i] == 4) {
			from = ends[i - 1];
			to = ends[i];
			stacks++;
		}
	cr_assert_eq(stacks, 5);
	memmove(d + from, d + to, n - to);
	spill(path, d, n - (to - from));
	free(d);
	read_ok(&rec, path);
	cr_expect_eq(rec.n_stalls, 2);
	cr_expect_eq(rec.dropped_stalls, 1);
	cr_expect_not(rec.truncated);
	expect_stalls(&rec, 2);
	recording__free(&rec);
}

/* The disk fills up (here: the file size limit) in the middle of a stall:
 * -EFBIG, the file is cut back to the last complete stall, and the next
 * stall, once there is room, is complete with the frames the failed one
 * would have written. */
Test(record, disk_full)
{
	struct rlimit old, lim;
	struct recording rec;
	struct recorder *r;
	struct stall *st;
	uint64_t good;

	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	r = recorder__open(path, &META);
	cr_assert_not_null(r);
	st = make_stall(0);
	cr_assert_eq(recorder__stall(r, st, ft, live), 0);
	stall__free(st);
	good = recorder__bytes(r);
	st = make_stall(2);	/* new frames and stacks */
	for (uint64_t room = 0; room < 200; room += 37) {
		lim = old;
		lim.rlim_cur = good + room;
		cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
		cr_assert_eq(recorder__stall(r, st, ft, live), -EFBIG, "room %lu",
			     (unsigned long)room);
		cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
		cr_assert_eq(file_size(path), good, "cut back to the last stall");
		cr_assert_eq(recorder__bytes(r), good);
		read_ok(&rec, path);
		expect_stalls(&rec, 1);
		cr_expect_not(rec.truncated);
		recording__free(&rec);
	}
	/* room again */
	cr_assert_eq(recorder__stall(r, st, ft, live), 0);
	stall__free(st);
	cr_assert_eq(recorder__close(r, &END), 0);
	read_ok(&rec, path);
	cr_assert_eq(rec.n_stalls, 2);
	st = make_stall(2);
	expect_stall(&rec, rec.stalls[1], st);
	stall__free(st);
	expect_meta(&rec.meta, true);
	recording__free(&rec);
}

/* A full disk at the start: no recorder, errno says why. */
Test(record, open_full_disk)
{
	errno = 0;
	cr_assert_null(recorder__open("/dev/full", &META));
	cr_expect_eq(errno, ENOSPC);
	errno = 0;
	cr_assert_null(recorder__open("/nonexistent/run.lsr", &META));
	cr_expect_eq(errno, ENOENT);
}

Test(record, other_frame_table)
{
	struct recorder *r = recorder__open(path, &META);
	struct frames *other = frames__new();
	struct stall *st = make_stall(0);

	cr_assert_not_null(r);
	cr_assert_eq(recorder__stall(r, st, ft, NULL), 0);
	cr_expect_eq(recorder__stall(r, st, other, NULL), -EINVAL);
	cr_expect_eq(recorder__close(r, NULL), 0);
	stall__free(st);
	frames__free(other);
}

/* The committed fixture, written by format 1's first writer, still reads;
 * and today's writer writes the same bytes (a change there must be a
 * compatible addition, then regenerate the fixture, or bump
 * LS_RECORD_VERSION). */
Test(record, fixture_v1)
{
	const char *regen = getenv("LS_RECORD_FIXTURE");
	struct recording rec;
	uint8_t *a, *b;
	size_t na, nb;

	if (regen)
		write_recording(regen, 3, true);
	read_ok(&rec, FIXTURE);
	expect_meta(&rec.meta, true);
	expect_stalls(&rec, 3);
	expect_sources(&rec);
	cr_expect_not(rec.truncated);
	recording__free(&rec);

	write_recording(path, 3, true);
	a = slurp(path, &na);
	b = slurp(FIXTURE, &nb);
	cr_expect(na == nb && !memcmp(a, b, na),
		  "the writer's bytes differ from " FIXTURE " (%zu vs %zu bytes)", na, nb);
	free(a);
	free(b);
}

/* ---- processes: the PROCESS records, and recordings made before ---- */

/* Written by loopstall at 1d9a5b2 (main before processes were recorded):
 * `loopstall record -p PID` of tests/e2e/workload.py sleep, 3 stalls. */
#define FIXTURE_MAIN "tests/unit/data/record-main-1d9a5b2.lsr"

/* A recording written before PROCESS records reads with one process, its
 * META's: PID, command line as its title, Python; its stalls are it. */
Test(record, fixture_main_has_its_meta_process)
{
	struct recording rec;

	read_ok(&rec, FIXTURE_MAIN);
	cr_assert_eq(rec.n_stalls, 3);
	cr_expect_not(rec.truncated);
	cr_assert_eq(rec.n_procs, 1);
	cr_expect_eq(rec.procs[0].pid, rec.meta.pid);
	cr_expect_str_eq(rec.procs[0].title, "/usr/bin/python3 tests/e2e/workload.py sleep");
	cr_expect_str_eq(rec.procs[0].python, "3.11.2");
	cr_expect_eq(rec.procs[0].ppid, 0);
	cr_expect_eq(rec.procs[0].start_unix_ns, rec.meta.start_unix_ns);
	cr_expect_eq(rec.procs[0].end_unix_ns, 0);
	for (uint32_t i = 0; i < rec.n_stalls; i++) {
		cr_expect_eq(rec.stalls[i]->pid, rec.meta.pid);
		cr_expect_str_eq(rec.stalls[i]->process, rec.procs[0].title);
		cr_expect_str_eq(rec.stalls[i]->thread, "MainThread");
		cr_expect_gt(rec.stalls[i]->n_stacks, 0);
	}
	recording__free(&rec);
}

/* The first writer's fixture too (its META has a PID and command). */
Test(record, fixture_v1_has_its_meta_process)
{
	struct recording rec;

	read_ok(&rec, FIXTURE);
	cr_assert_eq(rec.n_procs, 1);
	cr_expect_eq(rec.procs[0].pid, 4242);
	cr_expect_str_eq(rec.procs[0].title, "python3 -m app --port 8080");
	for (uint32_t i = 0; i < rec.n_stalls; i++)
		cr_expect_str_eq(rec.stalls[i]->process, rec.stalls[i]->pid == 4242 ?
				 "python3 -m app --port 8080" : "");
	recording__free(&rec);
}

static struct recorded_process proc_rec(uint32_t pid, uint32_t ppid, const char *title,
					const char *python, uint64_t end)
{
	struct recorded_process p = { .pid = pid, .ppid = ppid, .python = (char *)python,
				      .start_unix_ns = META.start_unix_ns + pid, .end_unix_ns = end };

	snprintf(p.title, sizeof(p.title), "%s", title);
	return p;
}

/* One table, the latest record of a PID winning; a stall is named by its
 * PID's title as of the stall; a PID never recorded leaves the stall's
 * process empty; a META process no record describes is not added. */
Test(record, processes_round_trip)
{
	struct recorded_process master = proc_rec(4242, 0, "gunicorn: master [app:app]",
						  "3.11.2", 0);
	struct recorded_process w1 = proc_rec(4300, 4242, "python3 -m app", "3.11.2", 0);
	struct recorded_process w2 = proc_rec(4301, 4242, "gunicorn: worker [app:app]",
					      "3.13.1", 0);
	struct recording rec;
	struct recorder *r = recorder__open(path, &META);
	struct stall *st;

	cr_assert_not_null(r);
	cr_assert_eq(recorder__process(r, &master), 0);
	cr_assert_eq(recorder__process(r, &w1), 0);
	st = make_stall(0);
	st->pid = 4300;
	cr_assert_eq(recorder__stall(r, st, ft, live), 0);	/* w1 as first named */
	stall__free(st);
	snprintf(w1.title, sizeof(w1.title), "gunicorn: worker [app:app]");
	cr_assert_eq(recorder__process(r, &w1), 0);		/* setproctitle since */
	cr_assert_eq(recorder__process(r, &w2), 0);
	for (int i = 0; i < 2; i++) {
		st = make_stall(1 + i);
		st->pid = i ? 4999 : 4300;
		cr_assert_eq(recorder__stall(r, st, ft, live), 0);
		stall__free(st);
	}
	w1.end_unix_ns = END.end_unix_ns - 1;
	cr_assert_eq(recorder__process(r, &w1), 0);		/* it exited */
	cr_assert_eq(recorder__close(r, &END), 0);

	read_ok(&rec, path);
	cr_assert_eq(rec.n_stalls, 3);
	cr_assert_eq(rec.n_procs, 3);
	cr_expect_eq(rec.procs[0].pid, 4242);
	cr_expect_str_eq(rec.procs[0].title, "gunicorn: master [app:app]");
	cr_expect_eq(rec.procs[1].pid, 4300);
	cr_expect_eq(rec.procs[1].ppid, 4242);
	cr_expect_str_eq(rec.procs[1].title, "gunicorn: worker [app:app]");
	cr_expect_eq(rec.procs[1].end_unix_ns, END.end_unix_ns - 1);
	cr_expect_eq(rec.procs[1].start_unix_ns, META.start_unix_ns + 4300);
	cr_expect_str_eq(rec.procs[2].python, "3.13.1");
	cr_expect_str_eq(rec.stalls[0]->process, "python3 -m app");
	cr_expect_str_eq(rec.stalls[1]->process, "gunicorn: worker [app:app]");
	cr_expect_str_eq(rec.stalls[2]->process, "");
	recording__free(&rec);
}

/* A command's recording (record -- CMD): META has no Python; the first
 * process recorded gives it. */
Test(record, meta_python_from_the_processes)
{
	struct recording_meta m = META;
	struct recorded_process p = proc_rec(4300, 4242, "python3 app.py", "3.14.0", 0);
	struct recording rec;
	struct recorder *r;

	m.python = NULL;
	r = recorder__open(path, &m);
	cr_assert_not_null(r);
	cr_assert_eq(recorder__process(r, &p), 0);
	cr_assert_eq(recorder__close(r, &END), 0);
	read_ok(&rec, path);
	cr_expect_str_eq(rec.meta.python, "3.14.0");
	cr_assert_eq(rec.n_procs, 1);
	cr_expect_eq(rec.procs[0].pid, 4300);
	recording__free(&rec);
}

/* Titles are bounded and cut on a character boundary when read back. */
Test(record, process_title_bounded)
{
	struct recorded_process p = proc_rec(4300, 0, "", NULL, 0);
	struct recording rec;
	struct recorder *r = recorder__open(path, &META);

	memset(p.title, 'x', sizeof(p.title) - 3);
	memcpy(p.title + sizeof(p.title) - 3, "\xc3\xa9", 3);	/* 63 bytes, é last */
	cr_assert_not_null(r);
	cr_assert_eq(recorder__process(r, &p), 0);
	cr_assert_eq(recorder__close(r, NULL), 0);
	read_ok(&rec, path);
	cr_assert_eq(rec.n_procs, 1);
	cr_expect_eq(strlen(rec.procs[0].title), sizeof(p.title) - 1);
	cr_expect_null(rec.procs[0].python);
	recording__free(&rec);
}

/* ---- compactness: an hour of a busy service ---- */

static unsigned int rnd_state = 12345;

static unsigned int rnd(unsigned int n)
{
	rnd_state = rnd_state * 1103515245 + 12345;
	return (rnd_state >> 8) % n;
}

/* 3600 stalls (one a second for an hour) of 8 stacks of 30 frames each,
 * from a pool of frames shared across stalls: `distinct` stack shapes in
 * all (0: every stack of every stall new). Returns the file size. */
static size_t hour(unsigned int distinct, bool print)
{
	enum { N_FRAMES = 600, DEPTH = 30, STACKS = 8, STALLS = 3600 };
	static uint32_t pool[N_FRAMES];
	uint32_t (*shapes)[DEPTH] = calloc(distinct ? distinct : 1, sizeof(*shapes));
	struct recorder *r = recorder__open(path, &META);
	size_t size;

	cr_assert(r && shapes);
	for (int i = 0; i < N_FRAMES; i++) {
		char fn[64], file[96], code[96];

		snprintf(fn, sizeof(fn), "Service%d.handler_%d", i % 40, i);
		snprintf(file, sizeof(file), i < 400 ? "/srv/app/service/module_%d.py" :
			 "/usr/lib/python3.11/asyncio/mod_%d.py", i % 25);
		snprintf(code, sizeof(code), "result = await self.client.fetch(item_%d, timeout=5)", i);
		if (i % 3 == 2)
			pool[i] = nat(i % 2 ? "_PyEval_EvalFrameDefault" : fn, "../Python/ceval.c",
				      100 + i, "/usr/bin/python3.11", 0, true, i % 2);
		else
			pool[i] = py(fn, file, 100 + i, 90 + i, i < 400, code);
		if (i < 400 && i % 3 != 2) {
			/* a function of ~12 lines */
			char text[512];

			snprintf(text, sizeof(text), "    async def handler_%d(self, request):\n"
				 "        item = request.match_info['item']\n"
				 "        if not item:\n            raise web.HTTPBadRequest()\n"
				 "        async with self.lock:\n"
				 "            cached = self.cache.get(item)\n"
				 "        if cached is not None:\n            return cached\n"
				 "        %s\n        self.cache[item] = result\n"
				 "        return web.json_response(result)\n", i, code);
			source__put_function(live, file, 90 + i, text);
		}
	}
	/* the outer frames (the loop) are the same everywhere */
	for (unsigned int s = 0; s < distinct; s++)
		for (int k = 0; k < DEPTH; k++)
			shapes[s][k] = k >= 20 ? pool[k] : pool[rnd(N_FRAMES)];
	for (int i = 0; i < STALLS; i++) {
		struct stall *st = make_stall(0);

		for (uint32_t k = 0; k < st->n_stacks; k++)
			free(st->stacks[k].frames);
		free(st->stacks);
		st->n_stacks = STACKS;
		st->stacks = calloc(STACKS, sizeof(*st->stacks));
		st->seq = 1000 + 3 * i;
		st->start_ns = 5000 * SEC + i * SEC + rnd(SEC / 2);
		st->start_unix_ns = META.start_unix_ns + i * SEC + rnd(SEC / 2);
		st->duration_ns = 100 * MS + rnd(400 * MS);
		st->on_cpu_ns = rnd(st->duration_ns);
		st->off_cpu_ns = st->duration_ns - st->on_cpu_ns;
		st->samples_on = rnd(100);
		st->samples_off = rnd(30);
		st->samples_sent = st->samples_on + st->samples_off;
		st->first_sample_ns = rnd(MS);
		st->last_sample_ns = st->duration_ns - rnd(MS);
		for (int k = 0; k < STACKS; k++) {
			struct stack_count *sc = &st->stacks[k];

			sc->kind = k & 1;
			sc->nr = k & 1 ? 0 : -1;	/* off-CPU in read(2) */
			sc->fd_kind = k & 1 ? 2 : -1;
			if (k & 1) {
				sc->args[0] = 7 + rnd(50);
				sc->args[1] = 0x7f3a00000000ULL + rnd(1 << 30);
				sc->args[2] = 65536;
			}
			sc->count = 1 + rnd(20);
			sc->weight_ns = rnd(50 * MS);
			sc->n_frames = DEPTH;
			sc->frames = malloc(DEPTH * sizeof(*sc->frames));
			cr_assert_not_null(sc->frames);
			if (distinct)
				memcpy(sc->frames, shapes[rnd(distinct)], sizeof(shapes[0]));
			else
				for (int f = 0; f < DEPTH; f++)
					sc->frames[f] = f >= 20 ? pool[f] : pool[rnd(N_FRAMES)];
		}
		cr_assert_eq(recorder__stall(r, st, ft, live), 0);
		stall__free(st);
	}
	cr_assert_eq(recorder__close(r, &END), 0);
	size = file_size(path);
	if (print) {
		static const char *names[] = { "?", "META", "FRAME", "SOURCE", "STACK",
					       "STALL", "END" };
		size_t n, *ends = malloc(40000 * sizeof(*ends)), bytes[7] = { 0 }, count[7] = { 0 };
		uint8_t *d = slurp(path, &n), *types = malloc(40000);
		int k = walk(d, n, types, ends, 40000);

		fprintf(stderr, "record: %u stalls/h, 8 stacks x 30 frames, %s: %zu bytes "
			"(%.0f bytes/stall, %.2f MB/hour at 1 stall/s)\n", STALLS,
			distinct ? "stacks from a set of shapes" : "every stack new", size,
			(double)size / STALLS, size / 1e6);
		for (int i = 0; i < k; i++) {
			bytes[types[i] < 7 ? types[i] : 0] += ends[i] - (i ? ends[i - 1] : 16);
			count[types[i] < 7 ? types[i] : 0]++;
		}
		for (int t = 1; t < 7; t++)
			fprintf(stderr, "  %-6s %6zu records %9zu bytes (%.0f each)\n", names[t],
				count[t], bytes[t], count[t] ? (double)bytes[t] / count[t] : 0);
		free(d);
		free(ends);
		free(types);
	}
	free(shapes);
	return size;
}

Test(record, compact)
{
	struct recording rec;
	size_t repeated = hour(200, true), fresh;

	cr_expect_lt(repeated, 3600 * 400, "an hour of stalls with repeated stacks: %zu bytes",
		     repeated);
	read_ok(&rec, path);
	cr_expect_eq(rec.n_stalls, 3600);
	cr_expect_not(rec.truncated);
	recording__free(&rec);
	fresh = hour(0, true);
	cr_expect_lt(fresh, 3600 * 900, "an hour of stalls, every stack new: %zu bytes",
		     fresh);
}

/* ---- recorded sources (symbolizer/source.c) ---- */

Test(recorded_source, answers_from_put_data)
{
	struct source *s = source__new_recorded();

	cr_assert_not_null(s);
	cr_expect_null(source__function(s, "/a.py", 1));
	cr_expect_null(source__line(s, "/a.py", 1));
	source__put_function(s, "/a.py", 10, "def f():\r\n    x = 1   \n\n\tif x:\n");
	cr_expect_str_eq(source__function(s, "/a.py", 10), "def f():\r\n    x = 1   \n\n\tif x:\n");
	cr_expect_null(source__function(s, "/a.py", 11));
	cr_expect_null(source__function(s, "/b.py", 10));
	cr_expect_str_eq(source__line(s, "/a.py", 10), "def f():");
	cr_expect_str_eq(source__line(s, "/a.py", 11), "x = 1");
	cr_expect_str_eq(source__line(s, "/a.py", 12), "");
	cr_expect_str_eq(source__line(s, "/a.py", 13), "if x:");
	cr_expect_null(source__line(s, "/a.py", 14));
	cr_expect_null(source__line(s, "/a.py", 9));
	/* a put line answers first; a second put of the same line is ignored */
	source__put_line(s, "/a.py", 20, "y = 2");
	source__put_line(s, "/a.py", 20, "z = 3");
	cr_expect_str_eq(source__line(s, "/a.py", 20), "y = 2");
	source__put_function(s, "/a.py", 10, "other");
	cr_expect_str_eq(source__function(s, "/a.py", 10), "def f():\r\n    x = 1   \n\n\tif x:\n");
	/* no NULLs taken in */
	source__put_function(s, NULL, 1, "x");
	source__put_function(s, "/c.py", 1, NULL);
	source__put_line(s, "/c.py", 0, "x");
	cr_expect_null(source__line(s, "/c.py", 1));
	source__free(s);
}

/* A recorded source never reads a file, even one that exists. */
Test(recorded_source, reads_no_files)
{
	char dir2[] = "/tmp/ls-recsrc-XXXXXX", file[64];
	struct source *s = source__new_recorded();
	FILE *f;

	cr_assert_not_null(mkdtemp(dir2));
	snprintf(file, sizeof(file), "%s/x.py", dir2);
	f = fopen(file, "w");
	cr_assert_not_null(f);
	fputs("def g():\n    pass\n", f);
	fclose(f);
	cr_expect_null(source__line(s, file, 1));
	cr_expect_null(source__function(s, file, 1));
	source__free(s);
	unlink(file);
	rmdir(dir2);
}

/* ---- the tasks' waits (AWAITS records) ---- */

#define SVC "/srv/app/svc.py"

/* file lines 10..14 */
static const char ORDER_PAGE[] =
	"async def order_page(s):\n"
	"    user = await get_user(s)\n"
	"    await asyncio.sleep(0.1)\n"
	"    items = await get_items(s)\n"
	"    return user, items\n";

/* The await frames of order_page (lines 11, 12, 13) into t. */
static void await_frames(struct frames *t, uint32_t *f)
{
	static const char *const code[] = {
		"user = await get_user(s)", "await asyncio.sleep(0.1)",
		"items = await get_items(s)",
	};

	for (int i = 0; i < 3; i++) {
		struct frame fr = { .kind = FRAME_PYTHON, .user = true, .line = 11 + i,
				    .firstline = 10, .function = "order_page", .file = SVC,
				    .code = (char *)code[i] };

		f[i] = frames__intern(t, &fr);
		cr_assert_neq(f[i], UINT32_MAX);
	}
}

/* Frame got of the recording is order_page's at line. */
static void expect_await_frame(const struct recording *rec, uint32_t got, int line)
{
	const struct frame *g = frames__get(rec->frames, got);

	cr_assert_not_null(g, "frame id %u not in the recording", got);
	cr_expect_eq(g->kind, FRAME_PYTHON);
	cr_expect(g->user);
	cr_expect_str_eq(g->function, "order_page");
	cr_expect_str_eq(g->file, SVC);
	cr_expect_eq(g->line, line, "line %d, want %d", g->line, line);
	cr_expect_eq(g->firstline, 10);
}

static void expect_site(const struct await_site *got, const struct await_site *want)
{
	cr_expect_eq(got->count, want->count);
	cr_expect_eq(got->total_ns, want->total_ns);
	cr_expect_eq(got->max_ns, want->max_ns);
	for (int b = 0; b < AWAIT_BUCKETS; b++)
		cr_expect_eq(got->hist[b], want->hist[b], "bucket %d: %u, want %u", b,
			     got->hist[b], want->hist[b]);
}

/* rec's function source of order_page, or NULL; how many into *n. */
static const char *order_page_source(const struct recording *rec, int *n)
{
	const char *text = NULL;

	*n = 0;
	for (uint32_t i = 0; i < rec->n_sources; i++)
		if (rec->sources[i].firstline == 10 && !strcmp(rec->sources[i].file, SVC)) {
			text = rec->sources[i].text;
			++*n;
		}
	return text;
}

static int count_type(const uint8_t *types, int k, uint8_t type)
{
	int n = 0;

	for (int i = 0; i < k; i++)
		n += types[i] == type;
	return n;
}

/* Two sites, one on the first frame interned (its file frame id 0 too:
 * the AWAITS record is the first to name frames, and a zero field is left
 * out of the file), and a sequence of three frames; the function's
 * source from a recorded source. */
Test(record, awaits_round_trip)
{
	struct frames *aft = frames__new();
	struct source *asrc = source__new_recorded();
	struct recording rec;
	struct recorder *r;
	struct awaits a;
	uint32_t f[3];
	int n_src;

	cr_assert(aft && asrc);
	await_frames(aft, f);
	cr_assert_eq(f[0], 0, "the first frame interned");
	source__put_function(asrc, SVC, 10, ORDER_PAGE);
	awaits__init(&a);
	for (int i = 0; i < 3; i++)
		awaits__wait(&a, f[0], 10 * MS);
	awaits__wait(&a, f[0], 1 * SEC);
	awaits__wait(&a, f[0], 1500);		/* 1.5 µs: bucket 0 */
	awaits__wait(&a, f[2], 2 * MS);
	awaits__wait(&a, f[2], 5 * MS);
	cr_assert_eq(a.n_sites, 2);
	cr_assert_eq(awaits__add_seq(&a, f, (const uint64_t[]){ 900 * MS, 990 * MS, 870 * MS },
				     3, 3), 0);

	r = recorder__open(path, &META);
	cr_assert_not_null(r);
	cr_assert_eq(recorder__awaits(r, &a, aft, asrc), 0);
	cr_expect_eq(recorder__bytes(r), file_size(path), "flushed");
	cr_assert_eq(recorder__close(r, &END), 0);

	read_ok(&rec, path);
	cr_expect_not(rec.truncated);
	cr_expect_eq(rec.n_stalls, 0);
	expect_meta(&rec.meta, true);
	cr_assert_eq(rec.aw.n_sites, 2, "%u sites", rec.aw.n_sites);
	expect_await_frame(&rec, rec.aw.sites[0].frame, 11);
	expect_site(&rec.aw.sites[0], &a.sites[0]);
	expect_await_frame(&rec, rec.aw.sites[1].frame, 13);
	expect_site(&rec.aw.sites[1], &a.sites[1]);
	cr_expect_eq(awaits__quantile(&rec.aw.sites[0], 0.5), 12288 * 1000ULL);
	cr_expect_eq(awaits__quantile(&rec.aw.sites[0], 1.0), 1 * SEC);

	cr_assert_eq(rec.aw.n_seqs, 1);
	cr_assert_eq(rec.aw.seqs[0].n, 3);
	cr_expect_eq(rec.aw.seqs[0].count, 3);
	for (int i = 0; i < 3; i++) {
		expect_await_frame(&rec, rec.aw.seqs[0].frames[i], 11 + i);
		cr_expect_eq(rec.aw.seqs[0].ns[i], a.seqs[0].ns[i], "ns[%d]", i);
	}
	/* the sites' frames are the sequence's (one table) */
	cr_expect_eq(rec.aw.seqs[0].frames[0], rec.aw.sites[0].frame);
	cr_expect_eq(rec.aw.seqs[0].frames[2], rec.aw.sites[1].frame);

	cr_expect_str_eq(order_page_source(&rec, &n_src), ORDER_PAGE);
	cr_expect_eq(n_src, 1, "the function's source once");

	/* what report makes of it: LS120 on the three awaits */
	struct rule_pack pack = {};
	struct rule_diags d = {};
	struct source *src = source_of(&rec);

	cr_assert_eq(rules__load_default(&pack, &d), 0);
	cr_expect_eq(awaits__match(&rec.aw, &pack, rec.frames, src), SEV_WARNING);
	cr_assert_eq(rec.aw.n_findings, 1);
	cr_expect_str_eq(rec.aw.findings[0].rule->id, "LS120");
	cr_expect_eq(rec.aw.findings[0].n, 3);
	cr_expect_eq(rec.aw.findings[0].calls, 3);
	cr_expect_eq(rec.aw.findings[0].turn_ns, 920 * MS);
	rules__free(&pack);
	rule_diags__free(&d);
	source__free(src);

	recording__free(&rec);
	awaits__free(&a);
	frames__free(aft);
	source__free(asrc);
}

/* Each recorder__awaits() writes the waits since the last (a delta): they
 * add up on reading; frames and sources are written once. */
Test(record, awaits_deltas_add_up)
{
	struct recording rec;
	struct recorder *r;
	struct awaits a, want;
	uint8_t types[64], *d;
	size_t ends[64], n;
	uint32_t f[3];
	uint64_t ns1[3] = { 30 * MS, 20 * MS, 10 * MS }, ns2[3] = { 60 * MS, 40 * MS, 20 * MS };
	int k, n_src;

	await_frames(ft, f);
	source__put_function(live, SVC, 10, ORDER_PAGE);
	awaits__init(&a);
	awaits__init(&want);
	r = recorder__open(path, &META);
	cr_assert_not_null(r);

	awaits__wait(&a, f[0], 10 * MS);
	awaits__wait(&a, f[0], 20 * MS);
	awaits__add_seq(&a, f, ns1, 3, 1);
	cr_assert_eq(recorder__awaits(r, &a, ft, live), 0);
	cr_assert_eq(awaits__merge(&want, &a), 0);
	awaits__clear(&a);
	/* nothing since: nothing written */
	uint64_t before = recorder__bytes(r);

	cr_assert_eq(recorder__awaits(r, &a, ft, live), 0);
	cr_expect_eq(recorder__bytes(r), before);

	awaits__wait(&a, f[0], 1 * SEC);
	awaits__wait(&a, f[2], 3 * MS);
	awaits__add_seq(&a, f, ns2, 3, 2);
	cr_assert_eq(recorder__awaits(r, &a, ft, live), 0);
	cr_assert_eq(awaits__merge(&want, &a), 0);
	cr_assert_eq(recorder__close(r, &END), 0);

	d = slurp(path, &n);
	k = walk(d, n, types, ends, 64);
	cr_expect_eq(ends[k - 1], n);
	cr_expect_eq(count_type(types, k, 8), 2, "two AWAITS records");	/* REC_AWAITS */
	cr_expect_eq(count_type(types, k, 2), 3, "each frame once");	/* REC_FRAME */
	free(d);

	read_ok(&rec, path);
	cr_expect_not(rec.truncated);
	cr_assert_eq(rec.aw.n_sites, 2);
	expect_await_frame(&rec, rec.aw.sites[0].frame, 11);
	expect_site(&rec.aw.sites[0], &want.sites[0]);
	cr_expect_eq(rec.aw.sites[0].count, 3);
	cr_expect_eq(rec.aw.sites[0].total_ns, 1030 * MS);
	cr_expect_eq(rec.aw.sites[0].max_ns, 1 * SEC);
	expect_await_frame(&rec, rec.aw.sites[1].frame, 13);
	expect_site(&rec.aw.sites[1], &want.sites[1]);
	cr_assert_eq(rec.aw.n_seqs, 1, "the same frames: one sequence");
	cr_expect_eq(rec.aw.seqs[0].count, 3);
	cr_expect_eq(rec.aw.seqs[0].ns[0], 90 * MS);
	cr_expect_eq(rec.aw.seqs[0].ns[1], 60 * MS);
	cr_expect_eq(rec.aw.seqs[0].ns[2], 30 * MS);
	cr_expect_str_eq(order_page_source(&rec, &n_src), ORDER_PAGE);
	cr_expect_eq(n_src, 1);
	recording__free(&rec);
	awaits__free(&a);
	awaits__free(&want);
}

/* Stalls, then the waits: a file cut anywhere in the AWAITS record reads,
 * truncated, with every stall before it and no waits. */
Test(record, awaits_cut_short)
{
	char cut[160];
	struct recorder *r;
	struct awaits a;
	uint8_t types[64], *d;
	size_t ends[64], n, start = 0, end = 0;
	uint32_t f[3];
	int k;

	await_frames(ft, f);
	source__put_function(live, SVC, 10, ORDER_PAGE);
	awaits__init(&a);
	awaits__wait(&a, f[0], 10 * MS);
	awaits__wait(&a, f[1], 100 * MS);
	awaits__add_seq(&a, f, (const uint64_t[]){ 1, 2, 3 }, 3, 1);
	r = recorder__open(path, &META);
	cr_assert_not_null(r);
	for (int i = 0; i < 2; i++) {
		struct stall *st = make_stall(i);

		cr_assert_eq(recorder__stall(r, st, ft, live), 0);
		stall__free(st);
	}
	cr_assert_eq(recorder__awaits(r, &a, ft, live), 0);
	cr_assert_eq(recorder__close(r, &END), 0);
	awaits__free(&a);

	d = slurp(path, &n);
	k = walk(d, n, types, ends, 64);
	cr_assert_eq(ends[k - 1], n);
	for (int i = 1; i < k; i++)
		if (types[i] == 8) {		/* REC_AWAITS */
			start = ends[i - 1];
			end = ends[i];
		}
	cr_assert_gt(end, start, "an AWAITS record");
	snprintf(cut, sizeof(cut), "%s/cut.lsr", dir);

	/* whole: the waits are there */
	struct recording rec;

	read_ok(&rec, path);
	cr_expect_eq(rec.aw.n_sites, 2);
	cr_expect_eq(rec.aw.n_seqs, 1);
	expect_stalls(&rec, 2);
	recording__free(&rec);

	for (size_t len = start + 1; len < end; len++) {
		spill(cut, d, len);
		read_ok(&rec, cut);
		cr_assert(rec.truncated, "cut at %zu", len);
		cr_assert_not_null(rec.tail);
		cr_assert_eq(rec.good_bytes, start, "cut at %zu", len);
		expect_stalls(&rec, 2);
		cr_assert_eq(rec.aw.n_sites, 0, "cut at %zu", len);
		cr_assert_eq(rec.aw.n_seqs, 0, "cut at %zu", len);
		expect_meta(&rec.meta, false);
		recording__free(&rec);
	}
	free(d);
}

/* A frame the table lacks: -EINVAL, nothing written; later waits are. */
Test(record, awaits_unknown_frame_writes_nothing)
{
	struct recording rec;
	struct recorder *r;
	struct awaits a;
	struct frames *other = frames__new();
	uint32_t f[3];
	uint64_t before;

	await_frames(ft, f);
	awaits__init(&a);
	r = recorder__open(path, &META);
	cr_assert_not_null(r);
	before = recorder__bytes(r);
	awaits__wait(&a, f[0], 10 * MS);
	awaits__wait(&a, 99999, 10 * MS);
	cr_expect_eq(recorder__awaits(r, &a, ft, live), -EINVAL);
	cr_expect_eq(recorder__bytes(r), before);
	cr_expect_eq(file_size(path), before);
	awaits__clear(&a);
	awaits__add_seq(&a, (const uint32_t[]){ f[1], 99999 }, (const uint64_t[]){ 1, 2 }, 2, 1);
	cr_expect_eq(recorder__awaits(r, &a, ft, live), -EINVAL);
	cr_expect_eq(recorder__bytes(r), before);
	/* another table than the first call's */
	cr_expect_eq(recorder__awaits(r, &a, other, live), -EINVAL);
	awaits__clear(&a);
	awaits__wait(&a, f[2], 7 * MS);
	cr_assert_eq(recorder__awaits(r, &a, ft, live), 0);
	cr_assert_eq(recorder__close(r, NULL), 0);

	read_ok(&rec, path);
	cr_expect_not(rec.truncated);
	cr_assert_eq(rec.aw.n_sites, 1);
	expect_await_frame(&rec, rec.aw.sites[0].frame, 13);
	cr_expect_eq(rec.aw.sites[0].total_ns, 7 * MS);
	cr_expect_eq(rec.aw.n_seqs, 0);
	cr_expect_eq(frames__count(rec.frames), 1, "only the frame of the waits written");
	recording__free(&rec);
	awaits__free(&a);
	frames__free(other);
}
