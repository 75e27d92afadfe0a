// SPDX-License-Identifier: MIT
/* Unit tests: the CI formats of `loopstall report` (report/junit.c,
 * report/github.c) and fmt_relpath(). A recording is built in code: four
 * stalls in two processes, findings of an error, a warning and an info
 * rule (one call site with a hostile file name: markup, quotes, ':' ',' '%'
 * control characters and a byte that is not UTF-8), and a sequential-await
 * finding. JUnit: structure, escaping, well-formedness and the schema of
 * tests/fixtures/junit.xsd (xmllint; skipped when it is not installed).
 * GitHub: every annotation line exactly, with its escaping. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fmt.h"
#include "report_fixture.h"
#include "segments.h"
#include "syscalls.h"

#define XSD "tests/fixtures/junit.xsd"

TestSuite(ci, .init = fx_utc);

/* ---- the recording ---------------------------------------------------- */

#define HOSTILE_FILE "/srv/app/we<ird> & \"q\" 'a',b:c%d\x01\x1b\xff.py"

static struct rule R_ERR = {
	.id = "LS001", .name = "Blocking HTTP call", .category = CAT_HTTP,
	.severity = SEV_ERROR,
	.fix = "Use httpx.AsyncClient,\nor await asyncio.to_thread(requests.get, url)\n",
};
static struct rule R_WARN = {
	.id = "LS010", .name = "A <warning> & \"rule\", with: 100% of it",
	.category = CAT_TIMEOUT, .severity = SEV_WARNING, .fix = "Pass timeout=",
};
static struct rule R_INFO = {
	.id = "LS090", .name = "Garbage collection", .category = CAT_GC,
	.severity = SEV_INFO, .fix = "gc.freeze() after start-up",
};
static struct rule R_AW = {
	.id = "LS120", .name = "Independent awaits in turn",
	.category = CAT_SEQUENTIAL_AWAIT, .severity = SEV_WARNING,
	.fix = "await asyncio.gather(a(), b(), c())",
};

enum { F_NATIVE, F_API, F_HOSTILE, F_GC, F_AWAIT, F__N };

static const struct frame FRAMES[F__N] = {
	[F_NATIVE] = { .kind = FRAME_NATIVE, .function = "clock_nanosleep",
		.module = "/usr/lib/x86_64-linux-gnu/libc.so.6" },
	[F_API] = { .kind = FRAME_PYTHON, .user = true, .function = "handle",
		.file = "/srv/app/svc/api.py", .line = 12, .firstline = 10,
		.code = "time.sleep(0.2)  # <b> & \"q\" 'a'" },
	[F_HOSTILE] = { .kind = FRAME_PYTHON, .user = true, .function = "f<T>&\"'",
		.file = HOSTILE_FILE, .line = 7, .firstline = 5,
		.code = "x = a < b and c > d\x07\tz" },
	[F_GC] = { .kind = FRAME_PYTHON, .user = true, .function = "gc_heavy",
		.file = "/opt/lib/gc.py", .line = 30, .firstline = 28, .code = "gc.collect()" },
	[F_AWAIT] = { .kind = FRAME_PYTHON, .user = true, .function = "gather_all",
		.file = "/srv/app/svc/api.py", .line = 40, .firstline = 38,
		.code = "a = await fetch_a()" },
};

static uint32_t ids[F__N];

/* A stall of dur in process pid, all of it under site, found by rule. */
static struct stall *mk_stall(const struct frames *fr, uint32_t pid, uint64_t at, uint64_t dur,
			      int site, const struct rule *rule, const char *evidence)
{
	struct stall *st = fx_stall(pid, pid, "MainThread", at, dur, 0);

	st->end_nr = syscall__nr("epoll_wait");
	fx_stack(st, LS_SAMPLE_OFFCPU, syscall__nr("clock_nanosleep"), dur, 1, ids,
		 (const int[]){ F_NATIVE, site }, 2);
	st->samples_off = 1;
	cr_assert_eq(segments__build(st, fr), 0);
	fx_finding(st, rule, 0, &FRAMES[site], evidence);
	return st;
}

static void add_proc(struct recording *rec, uint32_t pid, const char *title)
{
	struct recorded_process *p = fx_append((void **)&rec->procs, &rec->n_procs, sizeof(*p));

	p->pid = pid;
	snprintf(p->title, sizeof(p->title), "%s", title);
	p->python = strdup("3.11.2");
	p->start_unix_ns = T0;
}

/* multi: the stalls of LS010 and LS090 in a second process. */
static void fixture(struct recording *rec, bool multi)
{
	uint32_t other = multi ? 200 : 100;

	fx_recording(rec, 100, FRAMES, ids, F__N);
	fx_meta(rec, "gunicorn app:app");
	rec->stalls = calloc(4, sizeof(*rec->stalls));
	cr_assert_not_null(rec->stalls);
	rec->stalls[rec->n_stalls++] = mk_stall(rec->frames, 100, 1 * SEC, 300 * MS, F_API,
						&R_ERR, "requests.get; in recvfrom");
	rec->stalls[rec->n_stalls++] = mk_stall(rec->frames, 100, 5 * SEC, 200 * MS, F_API,
						&R_ERR, "requests.get; in recvfrom");
	rec->stalls[rec->n_stalls++] = mk_stall(rec->frames, other, 9 * SEC, 150 * MS,
						F_HOSTILE, &R_WARN, "in futex\x02 <&>");
	rec->stalls[rec->n_stalls++] = mk_stall(rec->frames, other, 20 * SEC, 80 * MS, F_GC,
						&R_INFO, "gc.collect on the stack");
	if (multi) {
		add_proc(rec, 100, "gunicorn: worker [app:app]");
		add_proc(rec, 200, "gunicorn: worker <2> & co");
	}
}

/* The report of rec, with one sequential-await finding in gather_all. */
static void build(struct report *r, struct recording *rec, const char *root)
{
	struct await_finding *w;

	fx_report(r, rec, &ALL);
	r->source_root = root;
	r->sum.aw_frames = rec->frames;
	r->sum.aw.findings = w = calloc(1, sizeof(*w));
	cr_assert_not_null(w);
	r->sum.aw.n_findings = r->sum.aw.cap_findings = 1;
	w->rule = &R_AW;
	w->frame = ids[F_AWAIT];
	w->n = 3;
	memcpy(w->lines, (int[]){ 40, 41, 42 }, 3 * sizeof(int));
	memcpy(w->ns, (uint64_t[]){ 40 * MS, 30 * MS, 20 * MS }, 3 * sizeof(uint64_t));
	w->calls = 10;
	w->turn_ns = 90 * MS;
	w->together_ns = 40 * MS;
	snprintf(w->evidence, sizeof(w->evidence), "3 awaits in turn, none using an earlier "
		 "one's result");
}

static char *render(const struct report *r, bool junit)
{
	return fx_print(r, junit ? report__junit : report__github, NULL);
}

/* The report of the fixture (multi or not, cut short or not) in JUnit or
 * GitHub's format, files relative to root. */
static char *fixture_out(bool junit, bool multi, bool truncated, const char *root)
{
	struct recording rec;
	struct report r;
	char *out;

	fixture(&rec, multi);
	rec.truncated = truncated;
	build(&r, &rec, root);
	out = render(&r, junit);
	report__free(&r);
	recording__free(&rec);
	return out;
}

static bool has(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* xmllint on doc: well-formed (xsd NULL) or valid against it. -1 when
 * xmllint is not installed, else its exit status. */
static int xmllint(const char *doc, const char *xsd)
{
	char path[] = "/tmp/ls-junit-XXXXXX", cmd[512];
	int fd, rc;

	if (access("/usr/bin/xmllint", X_OK))
		return -1;
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, doc, strlen(doc)), (ssize_t)strlen(doc));
	close(fd);
	snprintf(cmd, sizeof(cmd), "/usr/bin/xmllint --noout %s%s %s >/dev/null 2>&1",
		 xsd ? "--schema " : "", xsd ? xsd : "", path);
	rc = system(cmd);
	unlink(path);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

/* ---- JUnit ------------------------------------------------------------ */

Test(ci, junit_suite_and_counts)
{
	char *out = fixture_out(true, false, false, "/srv/app");

	cr_assert(starts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "
			 "name=\"loopstall\" tests=\"4\" failures=\"3\" errors=\"0\" "
			 "time=\"0.730\">\n"), "%s", out);
	cr_assert(has(out, "<testsuite name=\"loopstall\" tests=\"4\" failures=\"3\" errors=\"0\" "
		      "skipped=\"0\" time=\"0.730\" timestamp=\"2023-11-14T22:13:20\" "
		      "hostname=\"web-1\">\n"), "%s", out);
	cr_assert(has(out, "<property name=\"recording\" value=\"run.lsr\"/>\n"), "%s", out);
	cr_assert(has(out, "<property name=\"threshold_ms\" value=\"50.000\"/>\n"), "%s", out);
	cr_assert(!has(out, "name=\"note\""), "%s", out);
	cr_assert_eq(count(out, "<testcase "), 4);
	cr_assert_eq(count(out, "</testcase>"), 4);
	cr_assert_eq(count(out, "<failure "), 3);
	cr_assert_eq(count(out, "<system-out>"), 1);
	cr_assert(has(out, "</testsuite>\n</testsuites>\n"), "%s", out);
	free(out);
}

Test(ci, junit_error_case)
{
	char *out = fixture_out(true, false, false, "/srv/app/");

	cr_assert(has(out, "<testcase classname=\"svc.api\" name=\"LS001 svc/api.py:12 handle\" "
		      "file=\"svc/api.py\" line=\"12\" time=\"0.500\">\n<failure type=\"error\" "
		      "message=\"Blocking HTTP call: 2 stalls, 500.0 ms in total, worst 300.0 ms, "
		      "at svc/api.py:12 in handle\">LS001 error http: Blocking HTTP call\n"
		      "at svc/api.py:12 in handle\n"
		      "    time.sleep(0.2)  # &lt;b&gt; &amp; \"q\" 'a'\n"
		      "2 stalls, 500.0 ms in total, worst 300.0 ms (at 22:13:21.000)\n"
		      "why: requests.get; in recvfrom\n"
		      "fix: Use httpx.AsyncClient,\n"
		      "     or await asyncio.to_thread(requests.get, url)\n"
		      "</failure>\n</testcase>\n"), "%s", out);
	cr_assert(!has(out, "in PID"), "one process: not named\n%s", out);
	free(out);
}

/* An info finding passes: its text is the test case's output. Files
 * outside the source root keep their path. */
Test(ci, junit_info_case_passes)
{
	char *out = fixture_out(true, false, false, "/srv/app");
	char *tc = strstr(out, "<testcase classname=\"opt.lib.gc\" name=\"LS090 "
			  "/opt/lib/gc.py:30 gc_heavy\" file=\"/opt/lib/gc.py\" line=\"30\" "
			  "time=\"0.080\">\n<system-out>LS090 info gc: Garbage collection\n");
	char *end = tc ? strstr(tc, "</testcase>\n") : NULL;

	cr_assert(tc && end, "%s", out);
	*end = 0;
	cr_assert(!has(tc, "<failure"), "%s", tc);
	cr_assert(has(tc, "fix: gc.freeze() after start-up\n</system-out>\n"), "%s", tc);
	free(out);
}

Test(ci, junit_sequential_await_case)
{
	char *out = fixture_out(true, false, false, "/srv/app");

	cr_assert(has(out, "<testcase classname=\"svc.api\" name=\"LS120 svc/api.py:40 "
		      "gather_all\" file=\"svc/api.py\" line=\"40\" time=\"0.900\">\n"
		      "<failure type=\"warning\" message=\"Independent awaits in turn: 3 awaits in "
		      "turn, 90.0 ms a call (10 calls), together ~40.0 ms, at svc/api.py:40 in "
		      "gather_all\">LS120 warning sequential-await: Independent awaits in turn\n"
		      "at svc/api.py:40 in gather_all\n"
		      "awaits in turn, a call's wait at each:\n"
		      "  line 40: 40.0 ms\n  line 41: 30.0 ms\n  line 42: 20.0 ms\n"
		      "90.0 ms a call in turn, 10 calls; together ~40.0 ms, saving ~50.0 ms a "
		      "call\n"), "%s", out);
	free(out);
}

/* Markup and quotes as references; control characters (but tabs and line
 * breaks in text) and bytes that are not UTF-8 as U+FFFD; attributes on
 * one line. */
Test(ci, junit_escapes_everything)
{
	char *out = fixture_out(true, true, false, "/srv/app");
	const char *esc = "we&lt;ird&gt; &amp; &quot;q&quot; &apos;a&apos;,b:c%d"
			  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd";
	char want[512];

	snprintf(want, sizeof(want), "<testcase classname=\"%s\" name=\"LS010 %s.py:7 "
		 "f&lt;T&gt;&amp;&quot;&apos;\" file=\"%s.py\" line=\"7\" time=\"0.150\">\n"
		 "<failure type=\"warning\" message=\"A &lt;warning&gt; &amp; &quot;rule&quot;, "
		 "with: 100%% of it: 1 stall,", esc, esc, esc);
	cr_assert(has(out, want), "%s\n---\n%s", want, out);
	cr_assert(has(out, "\n    x = a &lt; b and c &gt; d\xef\xbf\xbd\tz\n"), "%s", out);
	cr_assert(has(out, "why: in futex\xef\xbf\xbd &lt;&amp;&gt;\n"), "%s", out);
	cr_assert(has(out, "in PID 200 gunicorn: worker &lt;2&gt; &amp; co, 1 stall\n"), "%s",
		  out);
	for (const unsigned char *p = (const unsigned char *)out; *p; p++)
		cr_assert(*p >= 0x20 || *p == '\n' || *p == '\t', "byte 0x%02x at %zu", *p,
			  (size_t)(p - (const unsigned char *)out));
	cr_assert(!strchr(out, '\xff'));
	if (xmllint(out, NULL) < 0)
		cr_skip_test("xmllint not installed (apt-get install libxml2-utils)");
	cr_assert_eq(xmllint(out, NULL), 0, "not well-formed:\n%s", out);
	free(out);
}

Test(ci, junit_names_processes_when_several)
{
	char *out = fixture_out(true, true, false, "/srv/app");

	cr_assert(has(out, "(at 22:13:21.000)\nin PID 100 gunicorn: worker [app:app], 2 stalls\n"
		      "why: "), "%s", out);
	cr_assert_eq(count(out, "in PID "), 3, "%s", out);
	free(out);
}

/* At most PROCS_SHOWN processes named, most stalls first, then by PID;
 * a process the recording has no PROCESS record of goes by its stalls'
 * title. */
Test(ci, junit_names_four_processes_at_most)
{
	struct recording rec;
	struct report r;
	char *out;

	fixture(&rec, true);
	rec.stalls = realloc(rec.stalls, 9 * sizeof(*rec.stalls));
	cr_assert_not_null(rec.stalls);
	for (uint32_t pid = 305; pid > 300; pid--) {
		struct stall *st = mk_stall(rec.frames, pid, (30 + pid - 300) * SEC, 60 * MS,
					    F_API, &R_ERR, "requests.get; in recvfrom");

		snprintf(st->process, sizeof(st->process), "worker %u", pid);
		rec.stalls[rec.n_stalls++] = st;
	}
	build(&r, &rec, "/srv/app");
	out = render(&r, true);
	cr_assert(has(out, "(at 22:13:21.000)\n"
		      "in PID 100 gunicorn: worker [app:app], 2 stalls\n"
		      "in PID 301 worker 301, 1 stall\n"
		      "in PID 302 worker 302, 1 stall\n"
		      "in PID 303 worker 303, 1 stall\n"
		      "and 2 more processes\n"
		      "why: "), "%s", out);
	free(out);
	report__free(&r);
	recording__free(&rec);
}

Test(ci, junit_cut_short_noted)
{
	char *out = fixture_out(true, false, true, NULL);

	cr_assert(has(out, "<property name=\"note\" value=\"recording cut short after 4 stalls: "
		      "the recorder was killed or the disk was full\"/>\n"), "%s", out);
	/* no source root: paths as recorded */
	cr_assert(has(out, "<testcase classname=\"srv.app.svc.api\" name=\"LS001 "
		      "/srv/app/svc/api.py:12 handle\" file=\"/srv/app/svc/api.py\""), "%s", out);
	free(out);
}

/* The schema test: every variant of the fixture, and an empty report. */
Test(ci, junit_valid_against_xsd)
{
	static const struct report_filter none = { .since_unix_ns = T0 + 3600 * SEC };
	struct recording rec;
	struct report r;
	char *out;

	if (xmllint("<x/>", NULL) < 0)
		cr_skip_test("xmllint not installed (apt-get install libxml2-utils)");
	for (int v = 0; v < 4; v++) {
		out = fixture_out(true, v & 1, v & 2, v & 1 ? "/srv/app" : NULL);
		cr_assert_eq(xmllint(out, XSD), 0, "not valid against " XSD ":\n%s", out);
		free(out);
	}
	fixture(&rec, false);
	cr_assert_eq(report__build(&r, &rec, "run.lsr", &none, NULL, NULL), 0);
	out = render(&r, true);
	cr_assert(has(out, "tests=\"0\" failures=\"0\""), "%s", out);
	cr_assert_eq(count(out, "<testcase"), 0);
	cr_assert_eq(xmllint(out, XSD), 0, "not valid against " XSD ":\n%s", out);
	free(out);
	report__free(&r);
	recording__free(&rec);
}

/* The schema is not a formality: it refuses what a reporter would. */
Test(ci, xsd_refuses_broken_junit)
{
	static const char *const bad[] = {
		"<testsuites><testsuite tests=\"1\"><testcase classname=\"a\" name=\"b\"/>"
		"</testsuite></testsuites>",				/* suite name */
		"<testsuites><testsuite name=\"s\" tests=\"1\"><testcase classname=\"a\"/>"
		"</testsuite></testsuites>",				/* case name */
		"<testsuites><testsuite name=\"s\" tests=\"-1\"></testsuite></testsuites>",
		"<testsuites><testsuite name=\"s\" tests=\"1\"><testcase classname=\"a\" "
		"name=\"b\" time=\"soon\"/></testsuite></testsuites>",
		"<testsuites><testsuite name=\"s\" tests=\"1\"><testcase classname=\"a\" "
		"name=\"b\"><system-out/><failure/></testcase></testsuite></testsuites>",
		"<testsuites><testsuite name=\"s\" tests=\"0\" timestamp=\"yesterday\"/>"
		"</testsuites>",
		"<testsuites><testcase classname=\"a\" name=\"b\"/></testsuites>",
	};

	if (xmllint("<x/>", NULL) < 0)
		cr_skip_test("xmllint not installed (apt-get install libxml2-utils)");
	cr_assert_eq(xmllint("<testsuites><testsuite name=\"s\" tests=\"1\"><testcase "
			     "classname=\"a\" name=\"b\"><failure type=\"error\" message=\"m\">t"
			     "</failure><system-out>o</system-out></testcase></testsuite>"
			     "</testsuites>", XSD), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_neq(xmllint(bad[i], XSD), 0, "accepted: %s", bad[i]);
}

/* ---- GitHub ----------------------------------------------------------- */

static const char GH_ERROR[] =
	"::error file=svc/api.py,line=12,title=LS001 Blocking HTTP call::2 event-loop stalls, "
	"500.0 ms in total, worst 300.0 ms, in handle%0Awhy: requests.get; in recvfrom%0Afix: "
	"Use httpx.AsyncClient,%0Aor await asyncio.to_thread(requests.get, url)\n";
static const char GH_WARNING[] =
	"::warning file=we<ird> & \"q\" 'a'%2Cb%3Ac%25d\x01\x1b\xff.py,line=7,title=LS010 "
	"A <warning> & \"rule\"%2C with%3A 100%25 of it::1 event-loop stall, 150.0 ms in total, "
	"worst 150.0 ms, in f<T>&\"'%0Awhy: in futex\x02 <&>%0Afix: Pass timeout=\n";
static const char GH_NOTICE[] =
	"::notice file=/opt/lib/gc.py,line=30,title=LS090 Garbage collection::1 event-loop "
	"stall, 80.0 ms in total, worst 80.0 ms, in gc_heavy%0Awhy: gc.collect on the stack%0A"
	"fix: gc.freeze() after start-up\n";
static const char GH_AWAIT[] =
	"::warning file=svc/api.py,line=40,endLine=42,title=LS120 Independent awaits in turn::"
	"3 awaits in turn in gather_all, 90.0 ms a call (10 calls); together ~40.0 ms, saving "
	"~50.0 ms a call%0Awhy: 3 awaits in turn, none using an earlier one's result%0Afix: "
	"await asyncio.gather(a(), b(), c())\n";

/* Every line, exactly: a shorter message after a longer one keeps none of
 * it. */
Test(ci, github_annotations)
{
	char *out = fixture_out(false, false, false, "/srv/app");
	char want[2048];

	snprintf(want, sizeof(want), "%s%s%s%s", GH_ERROR, GH_WARNING, GH_NOTICE, GH_AWAIT);
	cr_assert_str_eq(out, want);
	free(out);
}

Test(ci, github_paths_without_source_root)
{
	char *out = fixture_out(false, false, false, NULL);

	cr_assert(starts(out, "::error file=/srv/app/svc/api.py,line=12,title=LS001 "), "%s",
		  out);
	cr_assert(has(out, "::warning file=/srv/app/we<ird>"), "%s", out);
	cr_assert(has(out, "::warning file=/srv/app/svc/api.py,line=40,endLine=42,"), "%s", out);
	free(out);
}

Test(ci, github_names_the_worst_process_and_cut_short)
{
	char *out = fixture_out(false, true, true, "/srv/app");

	cr_assert(starts(out, "::warning title=loopstall::recording cut short after 4 stalls: "
			 "the recorder was killed or the disk was full\n::error "), "%s", out);
	cr_assert(has(out, ", in handle; the worst in PID 100 (gunicorn: worker [app:app])%0A"),
		  "%s", out);
	cr_assert(has(out, ", in f<T>&\"'; the worst in PID 200 (gunicorn: worker <2> & co)%0A"),
		  "%s", out);
	cr_assert_eq(count(out, "\n"), 5);
	free(out);
}

Test(ci, github_empty_report)
{
	static const struct report_filter none = { .since_unix_ns = T0 + 3600 * SEC };
	struct recording rec;
	struct report r;
	char *out;

	fixture(&rec, false);
	cr_assert_eq(report__build(&r, &rec, "run.lsr", &none, NULL, NULL), 0);
	out = render(&r, false);
	cr_assert_str_eq(out, "");
	free(out);
	report__free(&r);
	recording__free(&rec);
}

/* ---- fmt_relpath ------------------------------------------------------ */

/* Arrays, not pointers: Criterion copies the cases into each test's own
 * process. */
struct rel_case {
	char path[40], root[16];
	bool no_root;		/* NULL */
	char want[40];
};

ParameterizedTestParameters(ci, relpath)
{
	static struct rel_case cases[] = {
		{ "/srv/app/api.py", "/srv/app", false, "api.py" },
		{ "/srv/app/api.py", "/srv/app/", false, "api.py" },
		{ "/srv/app/svc/api.py", "/srv/app//", false, "svc/api.py" },
		{ "/srv/application.py", "/srv/app", false, "/srv/application.py" },
		{ "/srv/app", "/srv/app", false, "/srv/app" },
		{ "/srv/app/", "/srv/app", false, "/srv/app/" },
		{ "/usr/lib/python3.11/x.py", "/srv/app", false, "/usr/lib/python3.11/x.py" },
		{ "/x.py", "/", false, "x.py" },
		{ "app.py", "/srv/app", false, "app.py" },
		{ "/srv/app/api.py", "", false, "/srv/app/api.py" },
		{ "/srv/app/api.py", "", true, "/srv/app/api.py" },
		{ "/srv/app/api.py", "srv/app", false, "/srv/app/api.py" },
	};

	return cr_make_param_array(struct rel_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct rel_case *c, ci, relpath)
{
	cr_assert_str_eq(fmt_relpath(c->path, c->no_root ? NULL : c->root), c->want,
			 "%s under %s", c->path, c->no_root ? "NULL" : c->root);
}
