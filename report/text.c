// SPDX-License-Identifier: MIT
/* `loopstall report` as text: a summary, the stalled time by category,
 * then the findings grouped by rule and call site, worst first. Every
 * line under 80 columns. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include "fmt.h"
#include "live.h"
#include "report.h"
#include "textcols.h"

#define MAX_SHOWN_FRAMES 12

static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

/* "22:14:20 +0000" when a and b share their date, else all of b. */
static const char *fmt_end(uint64_t a, uint64_t b, char *buf, size_t len)
{
	char da[40];

	fmt_time(a, da, sizeof(da));
	fmt_time(b, buf, len);
	if (!strncmp(da, buf, 11))
		memmove(buf, buf + 11, strlen(buf + 11) + 1);
	return buf;
}

/* One line, cut to 79 columns (a name or a number longer than planned
 * never makes it wider). */
static void __attribute__((format(printf, 2, 3))) line(FILE *f, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	cols_put(f, buf, 79, false, false);
	fputc('\n', f);
}

/* A recording of several processes: each, with its stalls, most stalled
 * first (those without a stall after, in the order recorded). */
static void print_processes(FILE *f, const struct report *r)
{
	const struct recording *rec = r->rec;
	uint32_t shown = 0;
	char a[32];

	if (!report__multi(r))
		return;
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t i = 0; i < (pass ? rec->n_procs : r->sum.n_procs); i++) {
			uint32_t pid = pass ? rec->procs[i].pid : r->sum.procs[i].pid;
			const struct proc_summary *ps = summary__proc(&r->sum, pid);
			const struct recorded_process *p = report__proc(r, pid);
			char who[24];

			if (pass && ps->stalls)
				continue;	/* shown in the first pass */
			snprintf(who, sizeof(who), "PID %u", pid);
			fprintf(f, "  %-9s %-11s ", shown++ ? "" : "processes", who);
			cols_put(f, p ? p->title : ps->process, 30, false, true);
			line(f, " %5u stall%s %9s", ps->stalls, ps->stalls == 1 ? " " : "s",
			     fmt_dur(ps->stalled_ns, a, sizeof(a)));
		}
}

#define TASKS_SHOWN 5

struct task_sum {
	const char *name, *coro;	/* its name, its outermost coroutine */
	uint32_t stalls;
	uint64_t ns;
};

/* The tasks the stalls ran in, by stalled time: name and coroutine. */
static uint32_t task_sums(const struct report *r, struct task_sum *v, uint32_t max)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < r->n_stalls; i++) {
		const struct stall *st = r->stalls[i];
		const struct frame *fr = st->n_task_frames ?
			frames__get(r->rec->frames, st->task_frames[0]) : NULL;
		const char *coro = fr && fr->function ? fr->function : "?";
		uint32_t k = 0;

		if (!st->task_id)
			continue;
		while (k < n && (strcmp(v[k].name, st->task) || strcmp(v[k].coro, coro)))
			k++;
		if (k == n) {
			if (n == max)
				continue;
			v[n++] = (struct task_sum){ st->task, coro, 0, 0 };
		}
		v[k].stalls++;
		v[k].ns += st->duration_ns;
	}
	for (uint32_t i = 1; i < n; i++)	/* a few: insertion sort */
		for (uint32_t j = i; j > 0 && v[j].ns > v[j - 1].ns; j--) {
			struct task_sum t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n;
}

/* "tasks     flush-cache (flush)       3 stalls   450 ms" */
static void print_tasks(FILE *f, const struct report *r)
{
	struct task_sum v[64];
	uint32_t n = task_sums(r, v, 64);
	char who[96], a[32];

	for (uint32_t i = 0; i < n && i < TASKS_SHOWN; i++) {
		snprintf(who, sizeof(who), "%s (%s)", v[i].name, v[i].coro);
		fprintf(f, "  %-9s ", i ? "" : "tasks");
		cols_put(f, who, 20, false, true);
		line(f, " %5u stall%s %9s", v[i].stalls, v[i].stalls == 1 ? " " : "s",
		     fmt_dur(v[i].ns, a, sizeof(a)));
	}
	if (n > TASKS_SHOWN)
		line(f, "  %-9s and %u more", "", n - TASKS_SHOWN);
}

static void print_head(FILE *f, const struct report *r)
{
	const struct recording_meta *m = &r->rec->meta;
	char a[48], b[48], c[48], d[48], who[40], span[160];
	uint64_t rec_span = report__recording_end(r->rec) - m->start_unix_ns;
	uint32_t n_loops = r->sum.n_loops ? r->sum.n_loops : 1;
	const struct report_filter *fl = &r->filter;

	fputs("loopstall report of ", f);
	cols_put(f, r->name ? r->name : "?", 59, true, false);
	fputs("\n  target    ", f);
	cols_put(f, m->command && *m->command ? m->command : "?", 67, false, false);
	fputc('\n', f);
	line(f, "%12sPID %u, Python %s, host %s", "", m->pid, m->python ? m->python : "?",
	     m->host ? m->host : "?");
	line(f, "  recorded  %s from %s, %s%s", fmt_dur(rec_span, a, sizeof(a)),
	     fmt_time(m->start_unix_ns, b, sizeof(b)),
	     m->ended_by ? "ended by " : r->rec->truncated ? "cut short" : "end not recorded",
	     m->ended_by ? m->ended_by : "");
	if (fl->since_unix_ns || fl->until_unix_ns)
		line(f, "  window    %s to %s (%s)", fmt_time(r->from_unix_ns, a, sizeof(a)),
		     fmt_end(r->from_unix_ns, r->to_unix_ns, b, sizeof(b)),
		     fmt_dur(r->span_ns, c, sizeof(c)));
	snprintf(span, sizeof(span), " of %u", r->rec->n_stalls);
	if (fl->min_duration_ns)
		snprintf(d, sizeof(d), ", min-duration %s",
			 fmt_dur(fl->min_duration_ns, c, sizeof(c)));
	line(f, "  stalls    %u%s, threshold %s%s", r->n_stalls,
	     r->n_stalls != r->rec->n_stalls ? span : "", fmt_dur(m->threshold_ns, a, sizeof(a)),
	     fl->min_duration_ns ? d : "");
	if (r->n_stalls) {
		double share = r->span_ns ? 100.0 * r->sum.stalled_ns / ((double)r->span_ns * n_loops) : 0;

		if (n_loops > 1)
			line(f, "  stalled   %s in %u loops, %.1f%% of their time",
			     fmt_dur(r->sum.stalled_ns, a, sizeof(a)), n_loops, share);
		else
			line(f, "  stalled   %s, %.1f%% of the time",
			     fmt_dur(r->sum.stalled_ns, a, sizeof(a)), share);
		line(f, "  durations p50 %s  p95 %s  p99 %s  max %s",
		     fmt_dur(r->sum.p50_ns, a, sizeof(a)), fmt_dur(r->sum.p95_ns, b, sizeof(b)),
		     fmt_dur(r->sum.p99_ns, c, sizeof(c)), fmt_dur(r->sum.max_ns, d, sizeof(d)));
	}
	/* the busy intervals: the whole recording's */
	live_text__lag(f, "  ", &r->sum.lag,
		       report__recording_end(r->rec) - r->rec->meta.start_unix_ns);
	print_processes(f, r);
	for (uint32_t i = 0; i < r->sum.n_loops; i++) {
		const struct loop_summary *t = &r->sum.loops[i];
		char tid[16];
		int room;

		snprintf(tid, sizeof(tid), "/%u", t->tid);
		room = 20 - (int)strlen(tid);
		snprintf(who, sizeof(who), "%.*s%s", room > 0 ? room : 0, t->thread, tid);
		line(f, "  %-9s %-20s %5u stall%s %9s %5.1f%%  worst %s",
		     i ? "" : "loops", who, t->stalls, t->stalls == 1 ? " " : "s",
		     fmt_dur(t->stalled_ns, a, sizeof(a)),
		     r->span_ns ? 100.0 * t->stalled_ns / r->span_ns : 0.0,
		     fmt_dur(t->worst_ns, d, sizeof(d)));
	}
	print_tasks(f, r);
	if (m->lost_stalls || m->lost_samples)
		line(f, "  lost      %" PRIu64 " stall%s, %" PRIu64 " sample%s (ring buffer full)",
		     m->lost_stalls, plural(m->lost_stalls), m->lost_samples,
		     plural(m->lost_samples));
	else
		line(f, "  lost      none");
	if (r->rec->truncated) {
		char note[160];

		snprintf(note, sizeof(note), "recording cut short after %u stall%s: the recorder "
			 "was killed or the disk was full", r->rec->n_stalls,
			 plural(r->rec->n_stalls));
		fputs("  NOTE      ", f);
		cols_wrap(f, note, 12, 66);
	}
}

static void print_categories(FILE *f, const struct report *r)
{
	char a[32];

	if (!r->n_stalls)
		return;
	fputs("\nStalled time by category (each cause under its finding's; a stall\n"
	      "counts under its most severe finding):\n", f);
	for (uint32_t i = 0; i < r->sum.n_cats; i++) {
		const struct category_summary *c = &r->sum.cats[i];
		char n[24] = "";

		/* a category may have time but no stall counted under it */
		if (c->stalls)
			snprintf(n, sizeof(n), "%5u stall%s", c->stalls, c->stalls == 1 ? " " : "s");
		line(f, "  %-20s %-12s %9s %6.1f%%",
		     c->category < 0 ? "no finding" : rule_category_name(c->category), n,
		     fmt_dur(c->ns, a, sizeof(a)),
		     r->sum.stalled_ns ? 100.0 * c->ns / r->sum.stalled_ns : 0.0);
	}
}

static void print_frame(FILE *f, const struct frame *fr, uint32_t reps)
{
	/* 7 + 2 + 38 + 1 + 30: under 80 columns */
	print_frame_line(f, fr, reps, 7, 38, 30);
}

static void print_group_stack(FILE *f, const struct report *r, const struct finding_group *g)
{
	const struct frames *frames = r->rec->frames;
	const struct stall *worst = report__worst(r, g);
	const struct stack_count *sc = report__worst_stack(r, g);
	struct stack_line lines[LS_MAX_STACK];
	char clk[16], d[32];
	int n;

	if (!sc || !frames)
		return;
	n = stack__lines(sc, frames, false, MAX_SHOWN_FRAMES, lines);
	if (report__multi(r))
		line(f, "     stack of the worst stall (%s at %s, PID %u):",
		     fmt_dur(worst->duration_ns, d, sizeof(d)),
		     fmt_clock(worst->start_unix_ns, clk, sizeof(clk)), worst->pid);
	else
		line(f, "     stack of the worst stall (%s at %s):",
		     fmt_dur(worst->duration_ns, d, sizeof(d)),
		     fmt_clock(worst->start_unix_ns, clk, sizeof(clk)));
	for (int i = 0; i < n; i++) {
		const struct frame *fr = frames__get(frames, sc->frames[lines[i].idx]);

		if (lines[i].elided)
			fprintf(f, "%9s... %u more frame%s\n", "", lines[i].elided,
				plural(lines[i].elided));
		else if (fr)
			print_frame(f, fr, lines[i].reps);
	}
}

static void print_group(FILE *f, const struct report *r, uint32_t i)
{
	const struct finding_group *g = &r->sum.groups[i];
	const struct finding *fd = report__worst_finding(r, g);
	const struct rule *rule = g->rule;
	char head[320], where[4200], a[32], b[32];
	int n;

	snprintf(head, sizeof(head), "%s %s %s: %s", rule->id, rule_severity_name(rule->severity),
		 rule_category_name(rule->category), rule->name ? rule->name : "");
	n = fprintf(f, "\n%3u. ", i + 1) - 1;
	cols_put(f, head, 79 - n, false, false);
	fputc('\n', f);
	line(f, "     %u stall%s, %s in total, worst %s", g->count, plural(g->count),
	     fmt_dur(g->total_ns, a, sizeof(a)), fmt_dur(g->worst_ns, b, sizeof(b)));
	if (g->file) {
		snprintf(where, sizeof(where), "%s:%d in %s", g->file, g->line,
			 g->function ? g->function : "?");
		fputs("     at ", f);
		cols_put(f, where, 72, true, false);
		fputc('\n', f);
		if (g->code) {
			fputs("        ", f);
			cols_put(f, g->code, 71, false, false);
			fputc('\n', f);
		}
	}
	if (fd && fd->loop_file) {	/* a GIL wait: the code to change is the holder's */
		snprintf(where, sizeof(where), "%s:%d in %s", fd->loop_file, fd->loop_line,
			 fd->loop_function ? fd->loop_function : "?");
		fputs("     loop waited at ", f);
		cols_put(f, where, 60, true, false);
		fputc('\n', f);
	}
	if (fd && fd->evidence[0]) {
		fputs("     why: ", f);
		cols_wrap(f, fd->evidence, 10, 69);
	}
	print_group_stack(f, r, g);
	if (rule->fix && *rule->fix) {
		fputs("     fix: ", f);
		cols_wrap(f, rule->fix, 10, 69);
	}
}

/* The stalls' part: categories and findings, or why there are none. */
static void print_stalls(FILE *f, const struct report *r)
{
	const struct report_filter *fl = &r->filter;

	if (!r->n_stalls) {
		if (r->rec->n_stalls && (fl->since_unix_ns || fl->until_unix_ns ||
					 fl->min_duration_ns))
			fputs("\nNo stalls in the window and duration asked for.\n", f);
		else
			fputs("\nNo stalls: the loop never stayed busy past the threshold.\n", f);
		return;
	}
	print_categories(f, r);
	if (!r->sum.n_groups) {
		fputs("\nNo findings: no rule matched these stalls. `loopstall rules list`\n"
		      "shows the rules in effect; --rules +FILE adds your own.\n", f);
		return;
	}
	fputc('\n', f);
	line(f, "Findings by rule and call site, worst first (%u error%s, %u warning%s, "
	     "%u info):", r->sum.sev_count[SEV_ERROR], plural(r->sum.sev_count[SEV_ERROR]),
	     r->sum.sev_count[SEV_WARNING], plural(r->sum.sev_count[SEV_WARNING]),
	     r->sum.sev_count[SEV_INFO]);
	for (uint32_t i = 0; i < r->sum.n_groups; i++)
		print_group(f, r, i);
}

int report__text(FILE *f, const struct report *r)
{
	print_head(f, r);
	print_stalls(f, r);
	if (r->sum.aw.n_sites || r->sum.aw.n_findings) {
		fputs("\nThe tasks' waits (whole recording):\n", f);
		live_text__awaits(f, &r->sum, 0);
	}
	return ferror(f) ? -EIO : 0;
}
