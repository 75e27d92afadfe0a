// SPDX-License-Identifier: MIT
/* Unit tests: `loopstall report` (report/: the model and every format;
 * probe/report_cmd.c: the command). A fixed recording is built in code
 * (frames, six stalls on two loop threads, findings of three rules); its
 * text, collapsed and SARIF outputs are compared with
 * tests/golden/ (LS_UPDATE_GOLDEN=1 rewrites them), JSON, speedscope and
 * SARIF are parsed back with Python, the HTML page is rendered in headless
 * Chromium (skipped when it is not installed). Then --since/--until
 * parsing and edges, and the whole command on recordings written with
 * recorder__*: rules applied at report time, errors, -o. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "findings.h"
#include "segments.h"
#include "recording.h"
#include "report_cmd.h"
#include "report_fixture.h"
#include "rule.h"
#include "syscalls.h"

#define GOLDEN_DIR "tests/golden/"

TestSuite(report, .init = fx_utc);

/* ---- the fixed recording --------------------------------------------- */

static struct rule R_HTTP = {
	.id = "LS001", .name = "Blocking HTTP call on the event loop",
	.category = CAT_HTTP, .severity = SEV_ERROR,
	.description = "requests.get blocks the loop until the server answers.",
	.fix = "Use httpx.AsyncClient, or await asyncio.to_thread(requests.get, url) "
	       "so the loop keeps serving other requests while this one waits",
	.example_bad = "r = requests.get(url)\n",
	.example_good = "async with httpx.AsyncClient() as c:\n    r = await c.get(url)\n",
};
static struct rule R_TIMEOUT = {
	.id = "LS010", .name = "HTTP call without a timeout",
	.category = CAT_TIMEOUT, .severity = SEV_WARNING,
	.description = "A socket without a timeout waits as long as the peer wants.",
	.fix = "Pass timeout= to every call",
};
static struct rule R_SLEEP = {
	.id = "LS020", .name = "time.sleep on the event loop",
	.category = CAT_SLEEP, .severity = SEV_ERROR,
	.fix = "await asyncio.sleep(seconds)",
};

enum {
	F_NANOSLEEP, F_TIME_SLEEP, F_LOAD, F_HANDLE12, F_RUN_ONCE, F_RECV, F_SOCK_RECV,
	F_GETRESPONSE, F_BEGIN, F_REQUESTS_GET, F_FETCH_USER, F_HANDLE20, F_ENCODER,
	F_DUMPS, F_RENDER, F_HANDLE30, F__N
};

static const struct frame FRAMES[F__N] = {
	[F_NANOSLEEP] = { .kind = FRAME_NATIVE, .function = "clock_nanosleep",
		.module = "/usr/lib/x86_64-linux-gnu/libc.so.6" },
	[F_TIME_SLEEP] = FX_TIME_SLEEP,
	[F_LOAD] = FX_LOAD,
	[F_HANDLE12] = FX_HANDLE12,
	[F_RUN_ONCE] = FX_RUN_ONCE,
	[F_RECV] = { .kind = FRAME_NATIVE, .function = "recv",
		.module = "/usr/lib/x86_64-linux-gnu/libc.so.6" },
	[F_SOCK_RECV] = { .kind = FRAME_NATIVE, .function = "sock_recv_guts",
		.module = "/usr/lib/python3.11/lib-dynload/_socket.cpython-311-x86_64-linux-gnu.so" },
	[F_GETRESPONSE] = { .kind = FRAME_PYTHON, .function = "HTTPConnection.getresponse",
		.file = "/usr/lib/python3.11/http/client.py", .line = 1375 },
	[F_BEGIN] = { .kind = FRAME_PYTHON, .function = "HTTPResponse.begin",
		.file = "/usr/lib/python3.11/http/client.py", .line = 318 },
	[F_REQUESTS_GET] = { .kind = FRAME_PYTHON, .function = "get",
		.file = "/usr/lib/python3/dist-packages/requests/api.py", .line = 73 },
	[F_FETCH_USER] = { .kind = FRAME_PYTHON, .user = true, .function = "fetch_user",
		.file = "/srv/app/users.py", .line = 27, .firstline = 25,
		.code = "r = requests.get(url)" },
	[F_HANDLE20] = { .kind = FRAME_PYTHON, .user = true, .function = "handle",
		.file = "/srv/app/api.py", .line = 20, .firstline = 10,
		.code = "user = fetch_user(uid)" },
	[F_ENCODER] = FX_ENCODER,
	[F_DUMPS] = FX_DUMPS,
	[F_RENDER] = FX_RENDER,
	[F_HANDLE30] = FX_HANDLE30,
};

static const int SLEEP_STACK[] = { F_NANOSLEEP, F_TIME_SLEEP, F_LOAD, F_HANDLE12, F_RUN_ONCE };
static const int HTTP_STACK[] = {
	F_RECV, F_SOCK_RECV, F_GETRESPONSE, F_REQUESTS_GET, F_FETCH_USER, F_HANDLE20, F_RUN_ONCE
};
static const int HTTP_CPU_STACK[] = {
	F_BEGIN, F_GETRESPONSE, F_REQUESTS_GET, F_FETCH_USER, F_HANDLE20, F_RUN_ONCE
};
static const int CPU_STACK[] = { F_ENCODER, F_DUMPS, F_RENDER, F_HANDLE30, F_RUN_ONCE };

static uint32_t ids[F__N];

/* A stack in syscall (NULL: none), its samples counted in st's. */
static void add_stack(struct stall *st, uint32_t kind, const char *syscall, uint64_t ns,
		      uint32_t count, const int *fr, uint32_t n)
{
	fx_stack(st, kind, syscall ? syscall__nr(syscall) : -1, ns, count, ids, fr, n);
	if (kind == LS_SAMPLE_ONCPU)
		st->samples_on += count;
	else
		st->samples_off += count;
}

static void add_finding(struct stall *st, const struct rule *r, int site, const char *evidence)
{
	/* the fixture's stalls have one call site each: all of it */
	fx_finding(st, r, 0, &FRAMES[site], evidence);
}

static struct stall *mk_stall(uint32_t tid, const char *thread, uint64_t at, uint64_t dur,
			      uint64_t on_cpu, const char *wait)
{
	struct stall *st = fx_stall(4242, tid, thread, at, dur, on_cpu);

	st->end_nr = syscall__nr("epoll_wait");
	if (wait) {
		st->n_waits = 1;
		st->waits[0].nr = syscall__nr(wait);
		st->waits[0].ns = dur - on_cpu;
		st->waits[0].count = 1;
	}
	return st;
}

/* The stalls of the fixture, without findings (stalls[] keeps them). */
static void fixture_stalls(struct recording *rec)
{
	struct stall *st;

	rec->stalls = calloc(6, sizeof(*rec->stalls));
	cr_assert_not_null(rec->stalls);
	/* 1: time.sleep, 200 ms */
	st = mk_stall(4242, "python3", 1 * SEC, 200 * MS, MS / 2, "clock_nanosleep");
	add_stack(st, LS_SAMPLE_OFFCPU, "clock_nanosleep", 199500 * 1000, 1, SLEEP_STACK,
		  N(SLEEP_STACK));
	rec->stalls[rec->n_stalls++] = st;
	/* 2: requests.get without a timeout, 1.2 s */
	st = mk_stall(4242, "python3", 5250 * MS, 1200 * MS, 10 * MS, "recvfrom");
	add_stack(st, LS_SAMPLE_OFFCPU, "recvfrom", 1190 * MS, 3, HTTP_STACK, N(HTTP_STACK));
	add_stack(st, LS_SAMPLE_ONCPU, NULL, 10 * MS, 2, HTTP_CPU_STACK, N(HTTP_CPU_STACK));
	rec->stalls[rec->n_stalls++] = st;
	/* 3: time.sleep on the second loop, 210 ms */
	st = mk_stall(4250, "loop-b", 12500 * MS, 210 * MS, MS / 2, "clock_nanosleep");
	add_stack(st, LS_SAMPLE_OFFCPU, "clock_nanosleep", 209500 * 1000, 1, SLEEP_STACK,
		  N(SLEEP_STACK));
	rec->stalls[rec->n_stalls++] = st;
	/* 4: requests.get, 350 ms */
	st = mk_stall(4242, "python3", 20 * SEC, 350 * MS, 2 * MS, "recvfrom");
	add_stack(st, LS_SAMPLE_OFFCPU, "recvfrom", 348 * MS, 2, HTTP_STACK, N(HTTP_STACK));
	rec->stalls[rec->n_stalls++] = st;
	/* 5: json.dumps on the loop, 120 ms on-CPU: no rule for it here */
	st = mk_stall(4242, "python3", 31 * SEC, 120 * MS, 120 * MS, NULL);
	add_stack(st, LS_SAMPLE_ONCPU, NULL, 120 * MS, 24, CPU_STACK, N(CPU_STACK));
	rec->stalls[rec->n_stalls++] = st;
	/* 6: time.sleep, 190 ms */
	st = mk_stall(4242, "python3", 45 * SEC, 190 * MS, MS / 2, "clock_nanosleep");
	add_stack(st, LS_SAMPLE_OFFCPU, "clock_nanosleep", 189500 * 1000, 1, SLEEP_STACK,
		  N(SLEEP_STACK));
	rec->stalls[rec->n_stalls++] = st;
}

static void fixture_findings(struct recording *rec)
{
	for (uint32_t i = 0; i < rec->n_stalls; i++)
		cr_assert_eq(segments__build(rec->stalls[i], rec->frames), 0);
	add_finding(rec->stalls[0], &R_SLEEP, F_LOAD, "in clock_nanosleep");
	add_finding(rec->stalls[1], &R_HTTP, F_FETCH_USER, "requests.get; in recvfrom on a "
		    "TCP socket");
	add_finding(rec->stalls[1], &R_TIMEOUT, F_FETCH_USER, "recvfrom without a poll first: "
		    "the socket has no timeout");
	add_finding(rec->stalls[2], &R_SLEEP, F_LOAD, "in clock_nanosleep");
	add_finding(rec->stalls[3], &R_HTTP, F_FETCH_USER, "requests.get; in recvfrom on a "
		    "TCP socket");
	add_finding(rec->stalls[5], &R_SLEEP, F_LOAD, "in clock_nanosleep");
}

static void fixture(struct recording *rec, bool findings)
{
	fx_recording(rec, 4242, FRAMES, ids, F__N);
	fx_meta(rec, "python3 -m app --port 8080");
	fixture_stalls(rec);
	if (findings)
		fixture_findings(rec);
}

/* ---- output helpers -------------------------------------------------- */

static char *render(const struct report *r, enum report_format fmt)
{
	int (*print)(FILE *f, const struct report *r);

	switch (fmt) {
	case REPORT_JSON: print = report__json; break;
	case REPORT_COLLAPSED: print = report__collapsed; break;
	case REPORT_SPEEDSCOPE: print = report__speedscope; break;
	case REPORT_HTML: print = report__html; break;
	case REPORT_SARIF: print = report__sarif; break;
	default: print = report__text; break;
	}
	return fx_print(r, print, NULL);
}

/* The fixture's report in fmt, with its findings (or none), through f. */
static char *fixture_out(enum report_format fmt, const struct report_filter *f, bool findings)
{
	struct recording rec;
	struct report r;
	char *out;

	fixture(&rec, findings);
	fx_report(&r, &rec, f);
	out = render(&r, fmt);
	report__free(&r);
	recording__free(&rec);
	return out;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	char chunk[4096];
	size_t n;

	if (!f)
		return NULL;
	m = open_memstream(&buf, &len);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(f);
	fclose(m);
	return buf;
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

/* text equals tests/golden/name; LS_UPDATE_GOLDEN=1 rewrites the file. */
static void expect_golden(const char *name, const char *text)
{
	char path[256], actual[256];
	char *want;

	snprintf(path, sizeof(path), GOLDEN_DIR "%s", name);
	if (getenv("LS_UPDATE_GOLDEN")) {
		spit(path, text);
		return;
	}
	want = slurp(path);
	cr_assert_not_null(want, "no %s (run from the top of the tree; LS_UPDATE_GOLDEN=1 "
			   "writes it)", path);
	if (strcmp(want, text)) {
		mkdir("build", 0755);
		mkdir("build/golden", 0755);
		snprintf(actual, sizeof(actual), "build/golden/%s", name);
		spit(actual, text);
		cr_assert_fail("output differs from %s: diff -u %s %s (LS_UPDATE_GOLDEN=1 "
			       "accepts it)", path, path, actual);
	}
	free(want);
}

/* Every line ends in '\n' and is under 80 columns. */
static void expect_narrow(const char *text)
{
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t cols = 0;

		cr_assert_not_null(nl, "last line without a newline: %s", p);
		for (const char *c = p; c < nl; c++)
			cols += ((unsigned char)*c & 0xc0) != 0x80;
		cr_assert_lt(cols, 80, "line of %zu columns: %.*s", cols, (int)(nl - p), p);
		p = nl + 1;
	}
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static const char *python(void)
{
	return access("/usr/bin/python3", X_OK) ? NULL : "/usr/bin/python3";
}

/* Run a Python check on a document: the script gets its path as argv[1]
 * and exits non-zero (printing why) when something is wrong. */
static void python_check(const char *doc, const char *script)
{
	char dir[] = "/tmp/ls-report-XXXXXX", cmd[1024], docp[64], scp[64];
	int rc;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(docp, sizeof(docp), "%s/doc", dir);
	snprintf(scp, sizeof(scp), "%s/check.py", dir);
	spit(docp, doc);
	spit(scp, script);
	snprintf(cmd, sizeof(cmd), "%s %s %s", python(), scp, docp);
	rc = system(cmd);
	unlink(docp);
	unlink(scp);
	rmdir(dir);
	cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "python check failed: %s", script);
}

/* ---- the model ------------------------------------------------------- */

Test(report, summary_numbers)
{
	struct recording rec;
	struct report r;

	fixture(&rec, true);
	cr_assert_eq(report__build(&r, &rec, "run.lsr", &ALL, NULL, NULL), 0);
	cr_assert_eq(r.n_stalls, 6);
	cr_assert_eq(r.span_ns, 60 * SEC);
	cr_assert_eq(r.sum.stalled_ns, 2270 * MS);
	/* 120 190 200 210 350 1200, nearest rank */
	cr_assert_eq(r.sum.p50_ns, 200 * MS);
	cr_assert_eq(r.sum.p95_ns, 1200 * MS);
	cr_assert_eq(r.sum.p99_ns, 1200 * MS);
	cr_assert_eq(r.sum.max_ns, 1200 * MS);
	/* stall 2 counts under http (error), not timeout (warning) */
	cr_assert_eq(r.sum.n_cats, 3);
	cr_assert_eq(r.sum.cats[0].category, CAT_HTTP);
	cr_assert_eq(r.sum.cats[0].ns, 1550 * MS);
	cr_assert_eq(r.sum.cats[1].category, CAT_SLEEP);
	cr_assert_eq(r.sum.cats[1].stalls, 3);
	cr_assert_eq(r.sum.cats[2].category, -1);
	cr_assert_eq(r.sum.cats[2].ns, 120 * MS);
	cr_assert_eq(r.sum.n_loops, 2);
	cr_assert_eq(r.sum.loops[0].tid, 4242);
	cr_assert_eq(r.sum.loops[0].stalls, 5);
	/* worst total first: LS001 1.55 s, LS010 1.2 s, LS020 598.5 ms (the
	 * time its samples stand for: 0.5 ms of each sleep stall unsampled) */
	cr_assert_eq(r.sum.n_groups, 3);
	cr_assert_str_eq(r.sum.groups[0].rule->id, "LS001");
	cr_assert_eq(r.sum.groups[0].count, 2);
	cr_assert_eq(report__worst(&r, &r.sum.groups[0]), rec.stalls[1]);
	cr_assert_str_eq(r.sum.groups[1].rule->id, "LS010");
	cr_assert_str_eq(r.sum.groups[2].rule->id, "LS020");
	cr_assert_eq(r.sum.groups[2].total_ns, 598500 * 1000);
	cr_assert_eq(r.sum.groups[2].worst_ns, 209500 * 1000);
	cr_assert_eq(r.sum.groups[2].worst_stall, 2);
	cr_assert_eq(r.sum.sev_count[SEV_ERROR], 2);
	cr_assert_eq(r.sum.sev_count[SEV_WARNING], 1);
	report__free(&r);
	recording__free(&rec);
}

Test(report, percentile_nearest_rank)
{
	uint64_t v[100];

	for (int i = 0; i < 100; i++)
		v[i] = i + 1;
	cr_assert_eq(summary__percentile(v, 100, 50), 50);
	cr_assert_eq(summary__percentile(v, 100, 95), 95);
	cr_assert_eq(summary__percentile(v, 100, 99), 99);
	cr_assert_eq(summary__percentile(v, 100, 100), 100);
	cr_assert_eq(summary__percentile(v, 1, 99), 1);
	cr_assert_eq(summary__percentile(v, 0, 50), 0);
}

/* --since is inclusive, --until exclusive, both on a stall's start; a stall
 * that starts before --since is out even when it runs past it;
 * --min-duration keeps stalls of exactly that length. */
Test(report, filter_edges)
{
	struct recording rec;
	struct report r;
	struct report_filter f = {
		/* stall 2 starts at +5.25 s: in; stall 1 (+1 s, 200 ms) ends
		 * after +1.1 s but starts before: out */
		.since_unix_ns = T0 + 1100 * MS,
		/* stall 4 starts at +20 s exactly: out */
		.until_unix_ns = T0 + 20 * SEC,
	};

	fixture(&rec, true);
	cr_assert_eq(report__build(&r, &rec, "run.lsr", &f, NULL, NULL), 0);
	cr_assert_eq(r.n_stalls, 2);
	cr_assert_eq(r.stalls[0], rec.stalls[1]);
	cr_assert_eq(r.stalls[1], rec.stalls[2]);
	cr_assert_eq(r.from_unix_ns, T0 + 1100 * MS);
	cr_assert_eq(r.span_ns, 20 * SEC - 1100 * MS);
	report__free(&r);

	f = (struct report_filter){ .since_unix_ns = T0 + 5250 * MS };	/* exactly stall 2 */
	cr_assert_eq(report__build(&r, &rec, "run.lsr", &f, NULL, NULL), 0);
	cr_assert_eq(r.n_stalls, 5);
	cr_assert_eq(r.stalls[0], rec.stalls[1]);
	report__free(&r);

	f = (struct report_filter){ .until_unix_ns = T0 + 5250 * MS + 1 };
	cr_assert_eq(report__build(&r, &rec, "run.lsr", &f, NULL, NULL), 0);
	cr_assert_eq(r.n_stalls, 2);
	report__free(&r);

	f = (struct report_filter){ .min_duration_ns = 200 * MS };	/* 200 in, 190 out */
	cr_assert_eq(report__build(&r, &rec, "run.lsr", &f, NULL, NULL), 0);
	cr_assert_eq(r.n_stalls, 4);
	cr_assert_eq(r.stalls[0], rec.stalls[0]);
	cr_assert_eq(r.sum.n_groups, 3);
	cr_assert_eq(r.sum.groups[2].count, 2);	/* LS020 without the 190 ms one */
	report__free(&r);

	f = (struct report_filter){ .since_unix_ns = T0 + 61 * SEC };	/* past the end */
	cr_assert_eq(report__build(&r, &rec, "run.lsr", &f, NULL, NULL), 0);
	cr_assert_eq(r.n_stalls, 0);
	cr_assert_eq(r.span_ns, 0);
	cr_assert_eq(r.sum.n_groups, 0);
	report__free(&r);
	recording__free(&rec);
}

/* ---- --since / --until values ---------------------------------------- */

/* Arrays, not pointers: Criterion copies parameters into its children. */
struct time_case {
	char in[48];
	char tz[32];		/* "": UTC */
	uint64_t want;		/* unix ns; 0: must fail */
};


ParameterizedTestParameters(report, time_parse)
{
	static struct time_case cases[] = {
		{ "2023-11-14T22:13:20Z", "", T0 },
		{ "2023-11-14t22:13:20z", "", T0 },
		{ "2023-11-14T22:13:20.5Z", "", T0 + 500 * MS },
		{ "2023-11-14T22:13:20.123456789123Z", "", T0 + 123456789 },
		{ "2023-11-14T23:13:20+01:00", "", T0 },
		{ "2023-11-14T17:13:20-05:00", "", T0 },
		{ "2023-11-14 22:13:20Z", "", T0 },
		{ "2023-11-14 22:13:20", "", T0 },			/* local: UTC here */
		{ "2023-11-14 17:13:20", "EST5EDT,M3.2.0,M11.1.0", T0 },	/* local: EST */
		{ "2023-07-14 18:13:20", "EST5EDT,M3.2.0,M11.1.0", 1689372800ULL * SEC }, /* EDT */
		{ "2023-11-14T22:13:20", "", T0 },			/* 'T', no zone: local */
		{ "1700000000", "", T0 },
		{ "1700000000.25", "", T0 + 250 * MS },
		{ "+30s", "", T0 + 30 * SEC },			/* from the start: T0 */
		{ "+30", "", T0 + 30 * SEC },
		{ "+1.5m", "", T0 + 90 * SEC },
		{ "+2h", "", T0 + 7200 * SEC },
		{ "+500ms", "", T0 + 500 * MS },
		{ "+0", "", T0 },
		{ "2024-02-29 00:00:00Z", "", 1709164800ULL * SEC },	/* a leap day */
		/* refused */
		{ "", "", 0 },
		{ "+", "", 0 },
		{ "+-5s", "", 0 },
		{ "+5d", "", 0 },
		{ "+h", "", 0 },
		{ "-30s", "", 0 },
		{ "now", "", 0 },
		{ "12:00:00", "", 0 },
		{ "2023-11-14", "", 0 },
		{ "2023-02-29 00:00:00", "", 0 },			/* not a leap year */
		{ "2023-02-30T00:00:00Z", "", 0 },
		{ "2023-13-01T00:00:00Z", "", 0 },
		{ "2023-11-14T24:00:00Z", "", 0 },
		{ "2023-11-14T22:13:20+0100", "", 0 },		/* RFC 3339 wants the colon */
		{ "2023-11-14T22:13:20Zjunk", "", 0 },
		{ "2023-11-14T22:13:20.Z", "", 0 },
		{ "1969-12-31 23:59:59Z", "", 0 },
		{ "1700000000x", "", 0 },
		{ "1700000000.", "", 0 },
		{ "99999999999", "", 0 },				/* past 2286 */
	};

	return cr_make_param_array(struct time_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct time_case *c, report, time_parse)
{
	uint64_t got = 0;
	int err;

	if (c->tz[0]) {
		setenv("TZ", c->tz, 1);
		tzset();
	}
	err = report_time_parse(c->in, T0, &got);
	if (c->want)
		cr_assert(!err && got == c->want, "'%s': err %d, got %llu, want %llu", c->in,
			  err, (unsigned long long)got, (unsigned long long)c->want);
	else
		cr_assert_eq(err, -EINVAL, "'%s' accepted as %llu", c->in,
			     (unsigned long long)got);
}

/* ---- text ------------------------------------------------------------ */

Test(report, text_golden)
{
	char *out = fixture_out(REPORT_TEXT, &ALL, true);

	expect_narrow(out);
	expect_golden("report.txt", out);
	free(out);
}

Test(report, text_window_and_no_findings)
{
	struct report_filter f = {
		.since_unix_ns = T0 + 30 * SEC, .until_unix_ns = T0 + 40 * SEC,
		.min_duration_ns = 100 * MS,
	};
	char *out = fixture_out(REPORT_TEXT, &f, true);

	expect_narrow(out);
	cr_assert(strstr(out, "  window    2023-11-14 22:13:50 +0000 to 22:14:00 +0000 "
			 "(10.0 s)\n"), "%s", out);
	cr_assert(strstr(out, "  stalls    1 of 6, threshold 50.0 ms, min-duration "
			 "100.0 ms\n"), "%s", out);
	cr_assert(strstr(out, "  no finding               1 stall   120.0 ms  100.0%\n"),
		  "%s", out);
	cr_assert(strstr(out, "\nNo findings: no rule matched these stalls."), "%s", out);
	free(out);

	f = (struct report_filter){ .since_unix_ns = T0 + 50 * SEC };
	out = fixture_out(REPORT_TEXT, &f, true);
	expect_narrow(out);
	cr_assert(strstr(out, "  stalls    0 of 6,"), "%s", out);
	cr_assert(strstr(out, "\nNo stalls in the window and duration asked for.\n"), "%s", out);
	free(out);
}

/* A recording cut short (kill -9, disk full) is read up to its last
 * complete stall, and says so in the summary: not an error. */
Test(report, truncated_recording_noted)
{
	struct recording rec;
	struct report r;
	char *out;

	fixture(&rec, true);
	rec.truncated = true;
	rec.meta.end_unix_ns = 0;
	free(rec.meta.ended_by);
	rec.meta.ended_by = NULL;
	cr_assert_eq(report__build(&r, &rec, "run.lsr", &ALL, NULL, NULL), 0);
	/* no end record: the recording ends with its last stall */
	cr_assert_eq(r.to_unix_ns, T0 + 45 * SEC + 190 * MS);
	out = render(&r, REPORT_TEXT);
	expect_narrow(out);
	cr_assert(strstr(out, "  recorded  45.2 s from 2023-11-14 22:13:20 +0000, cut short\n"),
		  "%s", out);
	cr_assert(strstr(out, "  NOTE      recording cut short after 6 stalls: the recorder "
			 "was killed or the\n            disk was full\n"), "%s", out);
	free(out);
	out = render(&r, REPORT_JSON);
	cr_assert(strstr(out, "\"note\":\"recording cut short after 6 stalls: the recorder "
			 "was killed or the disk was full\""), "%s", out);
	cr_assert(strstr(out, "\"truncated\":true"));
	free(out);
	out = render(&r, REPORT_SARIF);
	cr_assert(strstr(out, "\"toolExecutionNotifications\":[{\"level\":\"warning\","
			 "\"message\":{\"text\":\"recording cut short after 6 stalls"), "%s", out);
	free(out);
	out = render(&r, REPORT_HTML);
	cr_assert(strstr(out, "id=\"truncated\">Recording cut short after 6 stalls"));
	free(out);
	report__free(&r);
	recording__free(&rec);
}

/* ---- collapsed and speedscope ---------------------------------------- */

Test(report, collapsed_golden)
{
	char *out = fixture_out(REPORT_COLLAPSED, &ALL, true);

	expect_golden("report.collapsed", out);
	/* outermost first, microseconds of stall time, one line per stack:
	 * the three sleep stalls add up */
	cr_assert(strstr(out, "BaseEventLoop._run_once (base_events.py:1922);handle (api.py:12);"
			 "Repository.load (repo.py:41);time_sleep [python3.11];"
			 "clock_nanosleep [libc.so.6] 598500\n"), "%s", out);
	cr_assert_eq(count(out, "\n"), 4);
	free(out);
}

Test(report, collapsed_escapes_separators)
{
	static const struct frame odd = {
		.kind = FRAME_PYTHON, .user = true, .function = "a;b\nc", .file = "/x.py",
		.line = 1,
	};
	struct recording rec;
	struct report r;
	char *out;
	int fr[1];

	fixture(&rec, false);
	fr[0] = 0;
	ids[0] = frames__intern(rec.frames, &odd);
	add_stack(rec.stalls[4], LS_SAMPLE_ONCPU, NULL, 7 * 1000, 1, fr, 1);
	cr_assert_eq(report__build(&r, &rec, "run.lsr", &ALL, NULL, NULL), 0);
	out = render(&r, REPORT_COLLAPSED);
	cr_assert(strstr(out, "\na:b c (x.py:1) 7\n"), "%s", out);
	free(out);
	report__free(&r);
	recording__free(&rec);
}

/* A stall with no sample still counts, all of it, as [no stack]. */
Test(report, collapsed_unsampled_stall)
{
	struct recording rec;
	struct report r;
	struct stall *st;
	char *out;

	fixture(&rec, false);
	st = rec.stalls[5];
	for (uint32_t i = 0; i < st->n_stacks; i++)
		free(st->stacks[i].frames);
	free(st->stacks);
	st->stacks = NULL;
	st->n_stacks = 0;
	cr_assert_eq(report__build(&r, &rec, "run.lsr", &ALL, NULL, NULL), 0);
	out = render(&r, REPORT_COLLAPSED);
	cr_assert(strstr(out, "\n[no stack] 190000\n"), "%s", out);
	free(out);
	out = render(&r, REPORT_HTML);
	cr_assert(strstr(out, "data-n=\"[no stack]\""));
	free(out);
	report__free(&r);
	recording__free(&rec);
}

/* Every format copes with a report without stalls. */
Test(report, empty_report_every_format)
{
	static const char check[] =
		"import json, sys\n"
		"d = json.load(open(sys.argv[1]))\n"
		"assert d.get('stalls', []) == [] and d.get('findings', []) == []"
		" or d.get('runs', [{}])[0].get('results') == []"
		" or all(p['samples'] == [] for p in d.get('profiles', [1]))\n";
	struct report_filter f = { .since_unix_ns = T0 + 3600 * SEC };

	for (int fmt = 0; fmt < REPORT__N; fmt++) {
		char *out = fixture_out(fmt, &f, true);

		cr_assert_not_null(out);
		if (fmt == REPORT_TEXT)
			expect_narrow(out);
		if (fmt == REPORT_COLLAPSED)
			cr_assert_str_eq(out, "");
		if (fmt == REPORT_HTML)
			cr_assert_eq(count(out, "<rect class=\"bar\""), 0);
		if ((fmt == REPORT_JSON || fmt == REPORT_SARIF || fmt == REPORT_SPEEDSCOPE) &&
		    python())
			python_check(out, check);
		free(out);
	}
}

static const char speedscope_check[] =
"import json, sys\n"
"d = json.load(open(sys.argv[1]))\n"
"assert d['$schema'] == 'https://www.speedscope.app/file-format-schema.json'\n"
"frames = d['shared']['frames']\n"
"assert all(isinstance(f['name'], str) for f in frames)\n"
"assert len(d['profiles']) == 2, d['profiles']\n"
"for p in d['profiles']:\n"
"    assert p['type'] == 'sampled' and p['unit'] == 'microseconds'\n"
"    assert len(p['samples']) == len(p['weights']) > 0\n"
"    assert all(0 <= i < len(frames) for s in p['samples'] for i in s)\n"
"    assert p['endValue'] - p['startValue'] == sum(p['weights'])\n"
"main = d['profiles'][0]\n"
"assert main['name'] == 'python3/4242', main['name']\n"
"assert sum(main['weights']) == 2057000, sum(main['weights'])\n"
"first = [frames[i]['name'] for i in main['samples'][0]]\n"
"assert first[0] == 'BaseEventLoop._run_once (base_events.py:1922)', first\n"
"assert first[-1] == 'clock_nanosleep [libc.so.6]', first\n"
"load = [f for f in frames if f['name'].startswith('Repository.load')][0]\n"
"assert load['file'] == '/srv/app/repo.py' and load['line'] == 41\n";

Test(report, speedscope_parses)
{
	char *out = fixture_out(REPORT_SPEEDSCOPE, &ALL, true);

	if (!python())
		cr_skip_test("/usr/bin/python3 not installed");
	python_check(out, speedscope_check);
	free(out);
}

/* ---- JSON ------------------------------------------------------------ */

static const char json_check[] =
"import json, sys\n"
"d = json.load(open(sys.argv[1]))\n"
"assert d['type'] == 'report' and d['schema_version'] == 1\n"
"s = d['summary']\n"
"assert s['stalls'] == 6 and s['stalled_ms'] == 2270.0, s\n"
"assert s['duration_ms'] == {'p50': 200.0, 'p95': 1200.0, 'p99': 1200.0, 'max': 1200.0}\n"
"assert [c['category'] for c in s['categories']] == ['http', 'sleep', None]\n"
"assert d['recording']['host'] == 'web-1' and d['recording']['truncated'] is False\n"
"assert d['window'] == {'since_unix_ns': None, 'until_unix_ns': None,"
" 'min_duration_ms': 0.0}\n"
"assert len(d['stalls']) == 6\n"
"for st in d['stalls']:\n"
"    assert st['type'] == 'stall'\n"
"    for k in ('duration_ms', 'on_cpu_ms', 'off_cpu_ms', 'thread', 'stacks', 'findings'):\n"
"        assert k in st, k\n"
"    assert all('count' in sc and sc['frames'] for sc in st['stacks'])\n"
"    for f in st['findings']:\n"
"        assert set(f['call_site']) >= {'file', 'line', 'function'}\n"
"        assert f['rule'] and f['category'] and f['severity']\n"
"assert [f['rule'] for f in d['stalls'][1]['findings']] == ['LS001', 'LS010']\n"
"assert d['stalls'][2]['thread'] == 'loop-b'\n"
"g = d['findings']\n"
"assert [x['rule'] for x in g] == ['LS001', 'LS010', 'LS020'], g\n"
"assert g[0]['call_site'] == {'file': '/srv/app/users.py', 'line': 27,"
" 'function': 'fetch_user', 'code': 'r = requests.get(url)'}\n"
"assert g[0]['count'] == 2 and g[0]['total_ms'] == 1548.0 and g[0]['worst_ms'] == 1200.0\n"
"assert g[2]['worst_stall'] == 2 and g[2]['severity'] == 'error'\n"
"assert g[1]['fix'] == 'Pass timeout= to every call'\n";

Test(report, json_parses)
{
	char *out = fixture_out(REPORT_JSON, &ALL, true);

	cr_assert(strstr(out, "\"stalls\":[\n{\"type\":\"stall\",\"schema_version\":1,"
			 "\"pid\":4242,\"process\":\"\",\"tid\":4242,\"thread\":\"python3\","),
		  "%s", out);
	if (!python())
		cr_skip_test("/usr/bin/python3 not installed");
	python_check(out, json_check);
	free(out);
}

/* ---- SARIF ----------------------------------------------------------- */

static const char sarif_check[] =
"import json, sys\n"
"d = json.load(open(sys.argv[1]))\n"
"assert d['version'] == '2.1.0' and 'sarif-schema-2.1.0' in d['$schema']\n"
"run, = d['runs']\n"
"drv = run['tool']['driver']\n"
"assert drv['name'] == 'loopstall'\n"
"assert drv['informationUri'] == 'file:///usr/share/doc/loopstall/'\n"
"ids = [r['id'] for r in drv['rules']]\n"
"assert ids == ['LS001', 'LS010', 'LS020'], ids\n"
"for r in drv['rules']:\n"
"    for k in ('name', 'shortDescription', 'fullDescription', 'help'):\n"
"        assert k in r, k\n"
"    assert r['defaultConfiguration']['level'] in ('error', 'warning', 'note')\n"
"assert drv['rules'][1]['defaultConfiguration']['level'] == 'warning'\n"
"res = run['results']\n"
"assert len(res) == 3\n"
"for x in res:\n"
"    assert drv['rules'][x['ruleIndex']]['id'] == x['ruleId']\n"
"    assert x['level'] in ('error', 'warning', 'note') and x['message']['text']\n"
"    loc = x['locations'][0]['physicalLocation']\n"
"    assert loc['region']['startLine'] > 0\n"
"u = res[0]['locations'][0]['physicalLocation']\n"
"assert u['artifactLocation'] == {'uri': 'file:///srv/app/users.py'}, u\n"
"assert u['region']['startLine'] == 27\n"
"assert res[2]['ruleId'] == 'LS020' and res[2]['level'] == 'error'\n";

Test(report, sarif_golden)
{
	char *out = fixture_out(REPORT_SARIF, &ALL, true);

	expect_golden("report.sarif", out);
	if (!python())
		cr_skip_test("/usr/bin/python3 not installed");
	python_check(out, sarif_check);
	free(out);
}

/* --source-root: files under it relative, with SRCROOT; others absolute. */
Test(report, sarif_source_root)
{
	struct recording rec;
	struct report r;
	char *out;

	fixture(&rec, true);
	free(rec.stalls[0]->findings[0].file);
	rec.stalls[0]->findings[0].file = strdup("/opt/lib dir/x#y.py");
	cr_assert_eq(report__build(&r, &rec, "run.lsr", &ALL, NULL, NULL), 0);
	r.source_root = "/srv/app/";
	out = render(&r, REPORT_SARIF);
	cr_assert(strstr(out, "\"originalUriBaseIds\":{\"SRCROOT\":{\"uri\":"
			 "\"file:///srv/app/\"}}"), "%s", out);
	cr_assert(strstr(out, "\"artifactLocation\":{\"uri\":\"users.py\",\"uriBaseId\":"
			 "\"SRCROOT\"}"), "%s", out);
	cr_assert(strstr(out, "\"artifactLocation\":{\"uri\":"
			 "\"file:///opt/lib%20dir/x%23y.py\"}"), "%s", out);
	free(out);
	report__free(&r);
	recording__free(&rec);
}

/* ---- HTML ------------------------------------------------------------ */

Test(report, html_self_contained)
{
	char *out = fixture_out(REPORT_HTML, &ALL, true);

	cr_assert(!strncmp(out, "<!DOCTYPE html>", 15));
	/* nothing to fetch: no external scripts, styles, images or fonts */
	cr_assert_null(strstr(out, "src="));
	cr_assert_null(strstr(out, "<link"));
	cr_assert_null(strstr(out, "url("));
	cr_assert_null(strstr(out, "@import"));
	cr_assert_eq(count(out, "https://"), 0);
	cr_assert_eq(count(out, "http://"), count(out, "xmlns=\"http://www.w3.org/2000/svg\""));
	cr_assert_eq(count(out, "<rect class=\"bar\""), 6);
	cr_assert_eq(count(out, "<article class=\"finding\""), 3);
	cr_assert(strstr(out, "data-n=\"Repository.load (repo.py:41)\""));
	free(out);
}

static const char *chromium(void)
{
	static const char *const paths[] = {
		"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome",
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (!access(paths[i], X_OK))
			return paths[i];
	return NULL;
}

/* Run headless Chromium on file://page with extra arguments; its stdout
 * into out (NULL: discarded). */
static int run_chromium(const char *dir, const char *page, const char *args, const char *out)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd),
		 "timeout 120 %s --headless --no-sandbox --disable-gpu --disable-quic "
		 "--no-first-run --disable-background-networking --disable-component-update "
		 "--disable-sync --user-data-dir=%s/profile %s file://%s >%s 2>/dev/null",
		 chromium(), dir, args, page, out ? out : "/dev/null");
	return system(cmd);
}

/* The page in a browser: the findings' rule ids, one timeline bar per
 * stall, the flame graph's frames, and zoom on click; a screenshot to look
 * at, in build/report-screenshot.png. */
Test(report, html_in_chromium, .timeout = 300)
{
	char dir[] = "/tmp/ls-report-html-XXXXXX", page[128], dom[128], shot[128];
	char zpage[128], zdom[128], args[256], *out, *d, *z;
	const char *zoom_js =
		"<script>var g=document.querySelector('#fg g.fr[data-n=\"Repository.load "
		"(repo.py:41)\"]');g.dispatchEvent(new MouseEvent('click'));"
		"var a=document.querySelector('#fg g.fr[data-d=\"0\"] rect');"
		"document.body.setAttribute('data-zoomed',g.querySelector('rect')"
		".getAttribute('width')+' '+a.getAttribute('width')+' '+"
		"document.querySelectorAll('#fg g.fr[style*=\"none\"]').length);</script>";
	struct stat sb;
	int rc;

	if (!chromium())
		cr_skip_test("chromium not installed (apt-get install chromium)");
	out = fixture_out(REPORT_HTML, &ALL, true);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(page, sizeof(page), "%s/report.html", dir);
	snprintf(dom, sizeof(dom), "%s/dom.html", dir);
	snprintf(shot, sizeof(shot), "%s/report.png", dir);
	spit(page, out);

	rc = run_chromium(dir, page, "--dump-dom", dom);
	cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "chromium --dump-dom failed: %d", rc);
	d = slurp(dom);
	cr_assert_not_null(d);
	for (const char *id = "LS001\0LS010\0LS020\0"; *id; id += strlen(id) + 1) {
		char want[64];

		snprintf(want, sizeof(want), "<span class=\"rule-id\">%s</span>", id);
		cr_assert(strstr(d, want), "no %s in the page", want);
	}
	cr_assert_eq(count(d, "class=\"bar\""), 6, "timeline bars != stalls");
	cr_assert(strstr(d, "data-n=\"Repository.load (repo.py:41)\""));
	cr_assert(strstr(d, "data-n=\"fetch_user (users.py:27)\""));
	cr_assert(strstr(d, "data-n=\"all stall time\""));
	cr_assert_geq(count(d, "<g class=\"fr"), 15);
	cr_assert(strstr(d, "<div class=\"v\">6</div><div class=\"k\">stalls</div>"));
	free(d);

	/* zoom: the clicked frame fills the width, its ancestors span it */
	d = strstr(out, "</body>");
	cr_assert_not_null(d);
	snprintf(zpage, sizeof(zpage), "%s/zoom.html", dir);
	snprintf(zdom, sizeof(zdom), "%s/zoom-dom.html", dir);
	{
		FILE *f = fopen(zpage, "w");

		cr_assert_not_null(f);
		fprintf(f, "%.*s%s%s", (int)(d - out), out, zoom_js, d);
		fclose(f);
	}
	rc = run_chromium(dir, zpage, "--dump-dom", zdom);
	cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
	z = slurp(zdom);
	cr_assert_not_null(z);
	cr_assert(strstr(z, "data-zoomed=\"1099.5 1099.5 "), "zoom did not fill the width");
	cr_assert_null(strstr(z, "data-zoomed=\"1099.5 1099.5 0\""), "zoom hid nothing");
	free(z);

	snprintf(args, sizeof(args), "--hide-scrollbars --window-size=1200,1600 "
		 "--screenshot=%s", shot);
	rc = run_chromium(dir, page, args, NULL);
	cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "chromium --screenshot failed");
	cr_assert_eq(stat(shot, &sb), 0, "no screenshot at %s", shot);
	cr_assert_gt(sb.st_size, 10000);
	mkdir("build", 0755);
	{
		char cmd[512];

		char where[4096];

		snprintf(cmd, sizeof(cmd), "cp %s build/report-screenshot.png && rm -rf %s",
			 shot, dir);
		cr_assert_eq(system(cmd), 0);
		fprintf(stderr, "report: HTML screenshot: %s/build/report-screenshot.png\n",
			getcwd(where, sizeof(where)) ? where : ".");
	}
	free(out);
}

/* ---- the whole command ----------------------------------------------- */

/* The fixture (without findings) written as a recording file. */
static void write_recording(const char *path)
{
	struct recording rec;
	struct recorder *w;
	struct recording_meta end;

	fixture(&rec, false);
	w = recorder__open(path, &rec.meta);
	cr_assert_not_null(w, "recorder__open: %s", strerror(errno));
	for (uint32_t i = 0; i < rec.n_stalls; i++)
		cr_assert_eq(recorder__stall(w, rec.stalls[i], rec.frames, NULL), 0);
	end = rec.meta;
	cr_assert_eq(recorder__close(w, &end), 0);
	recording__free(&rec);
}

static char *stderr_text(void)
{
	FILE *f = cr_get_redirected_stderr();
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	char chunk[1024];
	size_t n;

	fflush(stderr);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(m);
	return buf;
}

static int run_report(const char *path, enum report_format fmt, const char *out,
		      char **rules, int n_rules)
{
	struct report_opts o = {
		.path = path, .format = fmt, .output = out, .rules = rules,
		.n_rules = n_rules, .version = "0.1.0", .fail_on = -1,
	};

	return report__run(&o);
}

/* Rules apply at report time: the built-in pack names the sleep stalls
 * LS020, a pack of one's own renames them, on the same file. */
Test(report, run_applies_rules_at_report_time)
{
	char dir[] = "/tmp/ls-report-run-XXXXXX", lsr[128], txt[128], yaml[128];
	char *rules[1] = { yaml }, *out;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(lsr, sizeof(lsr), "%s/run.lsr", dir);
	snprintf(txt, sizeof(txt), "%s/out.txt", dir);
	snprintf(yaml, sizeof(yaml), "%s/mine.yaml", dir);
	write_recording(lsr);

	cr_assert_eq(run_report(lsr, REPORT_TEXT, txt, NULL, 0), 0);
	out = slurp(txt);
	expect_narrow(out);
	cr_assert(strstr(out, ". LS020 error sleep: time.sleep on the event loop\n"
			 "     3 stalls, 598.5 ms in total, worst 209.5 ms\n"
			 "     at /srv/app/repo.py:41 in Repository.load\n"), "%s", out);
	free(out);

	spit(yaml, "rules:\n"
		   "  - id: MINE-1\n"
		   "    name: \"sleeping on the loop (my words)\"\n"
		   "    category: sleep\n"
		   "    severity: warning\n"
		   "    fix: \"use asyncio.sleep\"\n"
		   "    syscall:\n"
		   "      name: [clock_nanosleep]\n");
	cr_assert_eq(run_report(lsr, REPORT_TEXT, txt, rules, 1), 0);
	out = slurp(txt);
	/* the pack replaced: the sleeps are its, the rest no rule names */
	cr_assert(strstr(out, "  2. MINE-1 warning sleep: sleeping on the loop (my words)\n"),
		  "%s", out);
	cr_assert(strstr(out, "  1. LS000 info other: stall no rule names\n"
			      "     2 stalls, 1.55 s in total, worst 1.20 s\n"
			      "     at /srv/app/users.py:27 in fetch_user\n"), "%s", out);
	cr_assert(strstr(out, "  other                    3 stalls    1.67 s   73.6%\n"), "%s", out);
	cr_assert_null(strstr(out, "LS020"));
	free(out);

	cr_assert_eq(run_report(lsr, REPORT_HTML, txt, rules, 1), 0);
	out = slurp(txt);
	cr_assert(strstr(out, "<span class=\"rule-id\">MINE-1</span>"));
	free(out);
	unlink(lsr);
	unlink(txt);
	unlink(yaml);
	rmdir(dir);
}

Test(report, run_missing_recording, .init = cr_redirect_stderr)
{
	char *err;

	cr_assert_eq(run_report("/nonexistent/run.lsr", REPORT_TEXT, NULL, NULL, 0), 2);
	err = stderr_text();
	cr_assert_str_eq(err, "loopstall: error: no recording at /nonexistent/run.lsr; give "
			 "the file `loopstall record -o FILE` wrote\n");
	free(err);
}

Test(report, run_not_a_recording, .init = cr_redirect_stderr)
{
	char path[] = "/tmp/ls-report-bad-XXXXXX";
	int fd = mkstemp(path);
	char *err;

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "hello\n", 6), 6);
	close(fd);
	cr_assert_eq(run_report(path, REPORT_TEXT, NULL, NULL, 0), 2);
	err = stderr_text();
	cr_assert(strstr(err, "loopstall: error: "), "%s", err);
	cr_assert(strstr(err, " is not a loopstall recording: "), "%s", err);
	cr_assert_eq(count(err, "\n"), 1, "%s", err);
	free(err);
	unlink(path);
}

Test(report, run_newer_recording, .init = cr_redirect_stderr)
{
	char dir[] = "/tmp/ls-report-new-XXXXXX", lsr[128];
	unsigned char v = 0xff;
	char *err;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(lsr, sizeof(lsr), "%s/run.lsr", dir);
	write_recording(lsr);
	f = fopen(lsr, "r+");
	cr_assert_not_null(f);
	fseek(f, 8, SEEK_SET);		/* the format version, little-endian */
	fwrite(&v, 1, 1, f);
	fclose(f);
	cr_assert_eq(run_report(lsr, REPORT_TEXT, NULL, NULL, 0), 2);
	err = stderr_text();
	cr_assert(strstr(err, "loopstall: error: "), "%s", err);
	cr_assert(strstr(err, " was written by a newer loopstall: "), "%s", err);
	cr_assert_eq(count(err, "\n"), 1, "%s", err);
	free(err);
	unlink(lsr);
	rmdir(dir);
}

Test(report, run_bad_window_and_output, .init = cr_redirect_stderr)
{
	char dir[] = "/tmp/ls-report-win-XXXXXX", lsr[128];
	struct report_opts o = { .format = REPORT_TEXT, .since = "+30s", .until = "+10s" };
	char *err;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(lsr, sizeof(lsr), "%s/run.lsr", dir);
	write_recording(lsr);
	o.path = lsr;
	cr_assert_eq(report__run(&o), 2);
	o.since = o.until = NULL;
	o.output = "/nonexistent/dir/out.txt";
	cr_assert_eq(report__run(&o), 2);
	err = stderr_text();
	cr_assert(strstr(err, "loopstall: error: --since '+30s' is not before --until "
			 "'+10s'; give a window that ends after it starts\n"), "%s", err);
	cr_assert(strstr(err, "loopstall: error: cannot write /nonexistent/dir/out.txt: No "
			 "such file or directory; choose a writable path with -o\n"), "%s", err);
	cr_assert_eq(count(err, "\n"), 2, "%s", err);
	free(err);
	unlink(lsr);
	rmdir(dir);
}

/* A recording cut short is reported, not refused. */
Test(report, run_truncated_file, .init = cr_redirect_stderr)
{
	char dir[] = "/tmp/ls-report-cut-XXXXXX", lsr[128], txt[128];
	struct stat sb;
	char *out;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(lsr, sizeof(lsr), "%s/run.lsr", dir);
	snprintf(txt, sizeof(txt), "%s/out.txt", dir);
	write_recording(lsr);
	cr_assert_eq(stat(lsr, &sb), 0);
	cr_assert_eq(truncate(lsr, sb.st_size - 40), 0);
	cr_assert_eq(run_report(lsr, REPORT_TEXT, txt, NULL, 0), 0);
	out = slurp(txt);
	expect_narrow(out);
	cr_assert(strstr(out, "  NOTE      recording cut short after "), "%s", out);
	free(out);
	unlink(lsr);
	unlink(txt);
	rmdir(dir);
}
