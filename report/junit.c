// SPDX-License-Identifier: MIT
/* `loopstall report --format junit`: JUnit XML, as Jenkins' JUnit plugin,
 * GitLab's unit test reports and GitHub's test report actions read it.
 * One test suite, "loopstall"; one test case per finding group (rule and
 * call site) and per sequential-await finding: those of severity error or
 * warning fail, info ones pass with their text as output. Test classes are
 * the call sites' files as module names (docs/report.md says why). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fmt.h"
#include "report.h"
#include "textcols.h"

#define BAD_CHAR	0xffffffffu
#define PROCS_SHOWN	4	/* processes named in a test case's text */

/* ---- XML text -------------------------------------------------------- */

/* The code point UTF-8 s starts with, its length in *n; BAD_CHAR (*n 1)
 * for bytes that are not one (cut, overlong, a surrogate, past U+10FFFF). */
static uint32_t utf8_char(const unsigned char *s, int *n)
{
	static const uint32_t least[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	uint32_t c = s[0];
	int k = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 :
		(c & 0xf8) == 0xf0 ? 4 : 0;

	*n = 1;
	if (k <= 1)
		return k ? c : BAD_CHAR;
	c &= 0x7f >> k;
	for (int i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return BAD_CHAR;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < least[k] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return BAD_CHAR;
	*n = k;
	return c;
}

/* A character XML 1.0 can hold (its Char production). */
static bool xml_char(uint32_t c)
{
	return c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff) ||
	       (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

/* s as XML character data, or as an attribute value (attr: one line, its
 * tabs and line breaks as spaces). Markup characters as references, a
 * carriage return as &#13; (a parser would make it a line feed); what XML
 * 1.0 cannot hold (control characters, bytes that are not UTF-8) as
 * U+FFFD. */
static void xml_str(FILE *f, const char *s, bool attr)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	int n;

	for (; *p; p += n) {
		uint32_t c = utf8_char(p, &n);

		if (attr && (c == '\t' || c == '\n' || c == '\r'))
			fputc(' ', f);
		else if (c == '&')
			fputs("&amp;", f);
		else if (c == '<')
			fputs("&lt;", f);
		else if (c == '>')
			fputs("&gt;", f);
		else if (attr && c == '"')
			fputs("&quot;", f);
		else if (attr && c == '\'')
			fputs("&apos;", f);
		else if (c == '\r')
			fputs("&#13;", f);
		else if (!xml_char(c))
			fputs("\xef\xbf\xbd", f);	/* U+FFFD */
		else
			fwrite(p, 1, n, f);
	}
}

/* ` name="value"` */
static void xml_attr(FILE *f, const char *name, const char *value)
{
	fprintf(f, " %s=\"", name);
	xml_str(f, value, true);
	fputc('"', f);
}

/* ---- the test suite -------------------------------------------------- */

static bool fails(const struct rule *rule)
{
	return rule->severity == SEV_ERROR || rule->severity == SEV_WARNING;
}

static void property(FILE *f, const char *name, const char *value)
{
	if (!value)
		return;
	fputs("<property", f);
	xml_attr(f, "name", name);
	xml_attr(f, "value", value);
	fputs("/>\n", f);
}

/* The root, the suite and its properties: the recording. The suite's time
 * is the stalled time; its timestamp the recording's start, in UTC. */
static void suite_head(FILE *f, const struct report *r, uint32_t tests, uint32_t failures)
{
	const struct recording_meta *m = &r->rec->meta;
	time_t secs = m->start_unix_ns / 1000000000ULL;
	char ts[32] = "1970-01-01T00:00:00", num[160];
	double time = r->sum.stalled_ns / 1e9;
	struct tm tm;

	if (gmtime_r(&secs, &tm))
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"loopstall\" "
		"tests=\"%u\" failures=\"%u\" errors=\"0\" time=\"%.3f\">\n<testsuite "
		"name=\"loopstall\" tests=\"%u\" failures=\"%u\" errors=\"0\" skipped=\"0\" "
		"time=\"%.3f\" timestamp=\"%s\"", tests, failures, time, tests, failures, time, ts);
	xml_attr(f, "hostname", m->host && *m->host ? m->host : "localhost");
	fputs(">\n<properties>\n", f);
	property(f, "recording", r->name);
	property(f, "command", m->command);
	property(f, "python", m->python);
	snprintf(num, sizeof(num), "%.3f", m->threshold_ns / 1e6);
	property(f, "threshold_ms", num);
	snprintf(num, sizeof(num), "%u", r->n_stalls);
	property(f, "stalls", num);
	property(f, "loopstall", r->version);
	if (r->rec->truncated) {
		snprintf(num, sizeof(num), "recording cut short after %u stall%s: the recorder "
			 "was killed or the disk was full", r->rec->n_stalls,
			 r->rec->n_stalls == 1 ? "" : "s");
		property(f, "note", num);
	}
	fputs("</properties>\n", f);
}

/* The test class of a file (relative to the source root when under it):
 * its path as a Python module name, "app/api.py" -> "app.api", the names'
 * own dots as '_', so reporters that split class names at dots group test
 * cases by directory, then file (Jenkins: package, class; GitLab shows it
 * as the suite). No file: "loopstall". */
static void class_attr(FILE *f, const char *rel)
{
	char c[4096];
	size_t n;

	snprintf(c, sizeof(c), "%s", rel ? rel + strspn(rel, "/") : "");
	n = strlen(c);
	if (n > 3 && !strcmp(c + n - 3, ".py"))
		c[n - 3] = 0;
	for (char *p = c; *p; p++)
		*p = *p == '/' ? '.' : *p == '.' ? '_' : *p;
	xml_attr(f, "classname", *c ? c : "loopstall");
}

/* One test case: rule at file:line in function, secs long; a failure of
 * msg (one line) and text, or text as its output when rule is info. */
static void testcase(FILE *f, const struct report *r, const struct rule *rule,
		     const char *file, int line, const char *function, double secs,
		     const char *msg, const char *text)
{
	const char *rel = file && *file ? fmt_relpath(file, r->source_root) : NULL;

	fputs("<testcase", f);
	class_attr(f, rel);
	fputs(" name=\"", f);
	xml_str(f, rule->id, true);
	fputc(' ', f);
	xml_str(f, rel ? rel : "(no call site)", true);
	if (rel && line > 0)
		fprintf(f, ":%d", line);
	fputc(' ', f);
	xml_str(f, function ? function : "?", true);
	fputc('"', f);
	if (rel)
		xml_attr(f, "file", rel);
	if (rel && line > 0)
		fprintf(f, " line=\"%d\"", line);
	fprintf(f, " time=\"%.3f\">\n", secs);
	if (fails(rule)) {
		fprintf(f, "<failure type=\"%s\"", rule_severity_name(rule->severity));
		xml_attr(f, "message", msg);
		fputc('>', f);
		xml_str(f, text, false);
		fputs("</failure>\n", f);
	} else {
		fputs("<system-out>", f);
		xml_str(f, text, false);
		fputs("</system-out>\n", f);
	}
	fputs("</testcase>\n", f);
}

/* ---- a test case's text ---------------------------------------------- */

struct proc_stalls {
	uint32_t pid, stalls;
};

/* Does st have a finding of g (its rule, at its call site)? */
static bool in_group(const struct stall *st, const struct finding_group *g)
{
	for (uint32_t i = 0; i < st->n_findings; i++) {
		const struct finding *fd = &st->findings[i];

		if (fd->rule == g->rule && fd->line == g->line &&
		    (fd->file && g->file ? !strcmp(fd->file, g->file) : fd->file == g->file))
			return true;
	}
	return false;
}

static int cmp_proc_stalls(const void *x, const void *y)
{
	const struct proc_stalls *a = x, *b = y;

	if (a->stalls != b->stalls)
		return a->stalls > b->stalls ? -1 : 1;
	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

/* "in PID 4260 gunicorn: worker [app:app], 2 stalls": the processes of
 * g's stalls, most stalls first. 0 or -ENOMEM. */
static int group_procs(FILE *t, const struct report *r, const struct finding_group *g)
{
	struct proc_stalls *v = calloc(r->n_stalls ? r->n_stalls : 1, sizeof(*v));
	uint32_t n = 0;

	if (!v)
		return -ENOMEM;
	for (uint32_t i = 0; i < r->n_stalls; i++) {
		const struct stall *st = r->stalls[i];
		uint32_t k = 0;

		if (!in_group(st, g))
			continue;
		while (k < n && v[k].pid != st->pid)
			k++;
		if (k == n)
			v[n++].pid = st->pid;
		v[k].stalls++;
	}
	qsort(v, n, sizeof(*v), cmp_proc_stalls);
	for (uint32_t k = 0; k < n && k < PROCS_SHOWN; k++) {
		const struct recorded_process *p = report__proc(r, v[k].pid);
		const struct proc_summary *ps = summary__proc(&r->sum, v[k].pid);

		fprintf(t, "in PID %u ", v[k].pid);
		cols_put(t, p ? p->title : ps->process, 50, false, false);
		fprintf(t, ", %u stall%s\n", v[k].stalls, v[k].stalls == 1 ? "" : "s");
	}
	if (n > PROCS_SHOWN)
		fprintf(t, "and %u more processes\n", n - PROCS_SHOWN);
	free(v);
	return 0;
}

/* "why: …" and "fix: …", wrapped under 80 columns. */
static void why_and_fix(FILE *t, const char *evidence, const struct rule *rule)
{
	if (evidence && *evidence) {
		fputs("why: ", t);
		cols_wrap(t, evidence, 5, 74);
	}
	if (rule->fix && *rule->fix) {
		fputs("fix: ", t);
		cols_wrap(t, rule->fix, 5, 74);
	}
}

/* "LS001 error http: Blocking HTTP call on the event loop" */
static void rule_head(FILE *t, const struct rule *rule)
{
	char head[320];

	snprintf(head, sizeof(head), "%s %s %s: %s", rule->id, rule_severity_name(rule->severity),
		 rule_category_name(rule->category), rule->name ? rule->name : "");
	cols_put(t, head, 79, false, false);
	fputc('\n', t);
}

/* A finding group: its message m (one line) and text t. 0 or -ENOMEM. */
static int group_text(FILE *m, FILE *t, const struct report *r, const struct finding_group *g)
{
	const struct finding *fd = report__worst_finding(r, g);
	const struct stall *worst = report__worst(r, g);
	const char *rel = g->file ? fmt_relpath(g->file, r->source_root) : NULL;
	const char *fn = g->function ? g->function : "?";
	char where[4200], a[32], b[32], clk[16];

	fprintf(m, "%s: %u stall%s, %s in total, worst %s", g->rule->name ? g->rule->name :
		g->rule->id, g->count, g->count == 1 ? "" : "s",
		fmt_dur(g->total_ns, a, sizeof(a)), fmt_dur(g->worst_ns, b, sizeof(b)));
	if (rel)
		fprintf(m, ", at %s:%d in %s", rel, g->line, fn);
	rule_head(t, g->rule);
	if (rel) {
		snprintf(where, sizeof(where), "at %s:%d in %s", rel, g->line, fn);
		cols_put(t, where, 79, true, false);
		fputc('\n', t);
	}
	if (rel && g->code) {
		fputs("    ", t);
		cols_put(t, g->code, 75, false, false);
		fputc('\n', t);
	}
	fprintf(t, "%u stall%s, %s in total, worst %s", g->count, g->count == 1 ? "" : "s", a, b);
	if (worst)
		fprintf(t, " (at %s)",
			fmt_clock(worst->start_unix_ns, clk, sizeof(clk)));
	fputc('\n', t);
	if (report__multi(r) && group_procs(t, r, g))
		return -ENOMEM;
	if (fd && fd->loop_file) {	/* a GIL wait: the code to change is the holder's */
		snprintf(where, sizeof(where), "the loop waited at %s:%d in %s",
			 fmt_relpath(fd->loop_file, r->source_root), fd->loop_line,
			 fd->loop_function ? fd->loop_function : "?");
		cols_put(t, where, 79, true, false);
		fputc('\n', t);
	}
	why_and_fix(t, fd ? fd->evidence : NULL, g->rule);
	return 0;
}

/* A sequential-await finding: its message m and text t. 0. */
static int await_text(FILE *m, FILE *t, const struct report *r, const struct await_finding *w)
{
	const struct frame *fr = frames__get(r->sum.aw_frames, w->frame);
	const char *fn = fr && fr->function ? fr->function : "?";
	const char *rel = fr && fr->file ? fmt_relpath(fr->file, r->source_root) : "?";
	char where[4200], a[32], b[32], c[32];

	fmt_dur(w->turn_ns, a, sizeof(a));
	fmt_dur(w->together_ns, b, sizeof(b));
	fmt_dur(w->turn_ns - w->together_ns, c, sizeof(c));
	fprintf(m, "%s: %d awaits in turn, %s a call (%u call%s), together ~%s, at %s:%d in %s",
		w->rule->name ? w->rule->name : w->rule->id, w->n, a, w->calls,
		w->calls == 1 ? "" : "s", b, rel, w->lines[0], fn);
	rule_head(t, w->rule);
	snprintf(where, sizeof(where), "at %s:%d in %s", rel, w->lines[0], fn);
	cols_put(t, where, 79, true, false);
	fputs("\nawaits in turn, a call's wait at each:\n", t);
	for (int i = 0; i < w->n; i++)
		fprintf(t, "  line %d: %.1f ms\n", w->lines[i], w->ns[i] / 1e6);
	fprintf(t, "%s a call in turn, %u call%s; together ~%s, saving ~%s a call\n", a,
		w->calls, w->calls == 1 ? "" : "s", b, c);
	why_and_fix(t, w->evidence, w->rule);
	return 0;
}

/* The test case of a finding group g, or of a sequential-await finding w.
 * 0 or -ENOMEM. */
static int print_case(FILE *f, const struct report *r, const struct finding_group *g,
		      const struct await_finding *w)
{
	char *msg = NULL, *text = NULL;
	size_t ml = 0, tl = 0;
	FILE *m = open_memstream(&msg, &ml), *t = open_memstream(&text, &tl);
	int err = -ENOMEM;

	if (!m || !t)
		goto cleanup;
	err = g ? group_text(m, t, r, g) : await_text(m, t, r, w);
	if (err || fflush(m) || fflush(t)) {
		err = -ENOMEM;
		goto cleanup;
	}
	if (g) {
		testcase(f, r, g->rule, g->file, g->line, g->function, g->total_ns / 1e9, msg,
			 text);
	} else {
		const struct frame *fr = frames__get(r->sum.aw_frames, w->frame);

		/* its time: what the calls waited in turn */
		testcase(f, r, w->rule, fr ? fr->file : NULL, w->lines[0],
			 fr ? fr->function : NULL, w->calls * (w->turn_ns / 1e9), msg, text);
	}
cleanup:
	if (m)
		fclose(m);
	if (t)
		fclose(t);
	free(msg);
	free(text);
	return err;
}

/* The test case of a budget (--max-stall …): failed when broken. */
static void budget_case(FILE *f, const struct budget_result *b)
{
	fputs("<testcase classname=\"loopstall.budgets\"", f);
	xml_attr(f, "name", b->name);
	fputs(" time=\"0\">\n", f);
	if (b->broken) {
		fputs("<failure type=\"budget\"", f);
		xml_attr(f, "message", b->line);
		fputc('>', f);
		xml_str(f, b->line, false);
		fputs("</failure>\n", f);
	} else {
		fputs("<system-out>", f);
		xml_str(f, b->line, false);
		fputs("</system-out>\n", f);
	}
	fputs("</testcase>\n", f);
}

int report__junit(FILE *f, const struct report *r)
{
	const struct summary *s = &r->sum;
	uint32_t failures = 0;
	int err = 0;

	for (uint32_t i = 0; i < s->n_groups; i++)
		failures += fails(s->groups[i].rule);
	for (uint32_t i = 0; i < s->aw.n_findings; i++)
		failures += fails(s->aw.findings[i].rule);
	for (int i = 0; i < r->n_budgets; i++)
		failures += r->budgets[i].broken;
	suite_head(f, r, s->n_groups + s->aw.n_findings + r->n_budgets, failures);
	for (uint32_t i = 0; i < s->n_groups && !err; i++)
		err = print_case(f, r, &s->groups[i], NULL);
	for (uint32_t i = 0; i < s->aw.n_findings && !err; i++)
		err = print_case(f, r, NULL, &s->aw.findings[i]);
	if (err)
		goto cleanup;
	for (int i = 0; i < r->n_budgets; i++)
		budget_case(f, &r->budgets[i]);
	fputs("</testsuite>\n</testsuites>\n", f);
cleanup:
	return err ? err : ferror(f) ? -EIO : 0;
}
