// SPDX-License-Identifier: MIT
/* attach and record as text: a loop found, a loop blocked and counting,
 * each stall (its waits, findings and trimmed stack), the summary. Every
 * line under 80 columns. */
#include <inttypes.h>
#include <string.h>
#include "fmt.h"
#include "live.h"
#include "rule.h"
#include "segments.h"
#include "syscalls.h"
#include "textcols.h"

void print_frame_line(FILE *f, const struct frame *fr, uint32_t reps, int indent,
		      int fn_width, int where_width)
{
	char fn[256], where[320], mod[288], times[24] = "";

	if (reps > 1)	/* recursion folded: "fib ×22" */
		snprintf(times, sizeof(times), " \u00d7%u", reps);
	if (fr->function)
		snprintf(fn, sizeof(fn), "%.200s%s", fr->function, times);
	else if (fr->addr)
		snprintf(fn, sizeof(fn), "0x%" PRIx64 "%s", fr->addr, times);
	else
		snprintf(fn, sizeof(fn), "?%s", times);
	if (fr->kind == FRAME_PYTHON && fr->line)
		snprintf(where, sizeof(where), "%s:%d", fmt_base(fr->file), fr->line);
	else if (fr->kind == FRAME_PYTHON)
		snprintf(where, sizeof(where), "%s", fmt_base(fr->file));
	else
		snprintf(where, sizeof(where), "[%s]",
			 fmt_module(fr->module, mod, sizeof(mod)));
	fprintf(f, "%*s%c ", indent, "", fr->kind == FRAME_PYTHON && fr->user ? '>' : ' ');
	cols_put(f, fn, fn_width, false, true);
	fputc(' ', f);
	cols_put(f, where, where_width, true, false);
	fputc('\n', f);
}

static void print_frame_text(FILE *f, const struct frame *fr, uint32_t reps, bool call_site)
{
	/* 9 + 2 + 40 + 1 + 27: under 80 columns */
	print_frame_line(f, fr, reps, 9, 40, 27);
	if (call_site && fr->code) {
		fprintf(f, "%13s", "");
		cols_put(f, fr->code, 66, false, false);
		fputc('\n', f);
	}
}

/* First line of a (multi-line) text, cut to width columns. */
static void put_first_line(FILE *f, const char *text, int width)
{
	char buf[256];
	size_t n = strcspn(text, "\n");

	snprintf(buf, sizeof(buf), "%.*s", (int)(n < sizeof(buf) - 1 ? n : sizeof(buf) - 1), text);
	cols_put(f, buf, width, false, false);
}

/* The Python stack of the thread holding the GIL, its user code first. */
static void print_gil_holder_text(FILE *f, const struct stall *s, const struct frames *frames)
{
	char who[PYTHREAD_NAME_MAX + 16];
	int shown = 0;

	snprintf(who, sizeof(who), "%s/%u", s->gil_thread, s->gil_tid);
	fprintf(f, "%11sGIL held by %s in:\n", "", who);
	for (uint32_t i = 0; frames && i < s->n_gil_frames && shown < 4; i++) {
		const struct frame *fr = frames__get(frames, s->gil_frames[i]);

		if (!fr || (!fr->user && i > 0))
			continue;
		print_frame_text(f, fr, 1, false);
		shown++;
	}
}

static void print_findings_text(FILE *f, const struct stall *s, const struct frames *frames)
{
	for (uint32_t i = 0; i < s->n_findings; i++) {
		const struct finding *fd = &s->findings[i];
		const struct rule *r = fd->rule;
		char head[200], where[200];

		snprintf(head, sizeof(head), "%s %s %s: %s", r->id,
			 rule_severity_name(r->severity), rule_category_name(r->category), r->name);
		fprintf(f, "%9s! ", "");
		cols_put(f, head, 68, false, false);
		fputc('\n', f);
		if (fd->file) {
			char d[32];

			snprintf(where, sizeof(where), "%s:%d in %s (%s, %.0f%%)",
				 fmt_base(fd->file), fd->line, fd->function ? fd->function : "?",
				 fmt_dur(fd->ns, d, sizeof(d)), fd->share * 100);
			fprintf(f, "%11sat ", "");
			cols_put(f, where, 63, false, false);
			fputc('\n', f);
			if (fd->code) {
				fprintf(f, "%14s", "");
				cols_put(f, fd->code, 64, false, false);
				fputc('\n', f);
			}
		}
		if (r->fix) {
			fprintf(f, "%11sfix: ", "");
			put_first_line(f, r->fix, 61);
			fputc('\n', f);
		}
		if (fd->loop_file) {
			snprintf(where, sizeof(where), "%s:%d in %s", fmt_base(fd->loop_file),
				 fd->loop_line, fd->loop_function ? fd->loop_function : "?");
			fprintf(f, "%11sloop waited at ", "");
			cols_put(f, where, 51, false, false);
			fputc('\n', f);
		}
		if (s->gil_tid && (r->category == CAT_GIL || r->gil_wait))
			print_gil_holder_text(f, s, frames);
	}
}

static void print_stack_text(FILE *f, const struct stall *s, const struct frames *frames,
			     bool full)
{
	const struct stack_count *sc;
	struct stack_line lines[LS_MAX_STACK];
	bool site_shown = false;
	uint32_t total = s->samples_on + s->samples_off;
	int n;

	if (!s->n_stacks || !frames)
		return;
	/* the heaviest stack of the largest cause */
	sc = &s->stacks[s->n_segments ? s->segments[0].stacks[0] : 0];
	n = stack__lines(sc, frames, full, LS_MAX_STACK, lines);
	if (s->n_stacks > 1) {
		char d[32];

		fprintf(f, "%9swhere most of it went (%s, %u of %u samples):\n", "",
			fmt_dur(sc->weight_ns, d, sizeof(d)), sc->count, total);
	}
	for (int i = 0; i < n; i++) {
		const struct frame *fr = frames__get(frames, sc->frames[lines[i].idx]);
		bool site;

		if (lines[i].elided) {
			fprintf(f, "%11s... %u more frame%s\n", "", lines[i].elided,
				lines[i].elided == 1 ? "" : "s");
			continue;
		}
		if (!fr)	/* an id not interned (ENOMEM) */
			continue;
		site = !site_shown && fr->kind == FRAME_PYTHON && fr->user;
		print_frame_text(f, fr, lines[i].reps, site);
		site_shown |= site;
	}
}

/* The waits as "clock_nanosleep 200.1 ms, futex (lock/GIL) 3.0 ms",
 * cut to fit width. */
static void waits_line(const struct stall *s, char *out, size_t width)
{
	size_t used = 0;

	out[0] = 0;
	for (uint32_t i = 0; i < s->n_waits; i++) {
		char nrbuf[32], d[32], item[96];
		int n;

		n = snprintf(item, sizeof(item), "%s%s %s", i ? ", " : "",
			     syscall__wait_label(s->waits[i].nr, nrbuf, sizeof(nrbuf)),
			     fmt_dur(s->waits[i].ns, d, sizeof(d)));
		if (used + n > width) {
			if (used + 5 <= width)
				strcat(out, ", …");
			break;
		}
		strcat(out, item);
		used += n;
	}
}

/* One line of the breakdown: "+  43.1 ms  hashlib.pbkdf2_hmac  stally.py:52 LS072". */
static void print_part(FILE *f, bool first, uint64_t ns, const char *what,
		       const struct frame *site, const struct finding *p)
{
	char d[32], where[160];

	where[0] = 0;
	if (site && site->file)
		snprintf(where, sizeof(where), "%s:%d", fmt_base(site->file), site->line);
	fprintf(f, "%9s%c %9s  ", "", first ? '=' : '+', fmt_dur(ns, d, sizeof(d)));
	cols_put(f, what, 24, false, true);
	fputc(' ', f);
	cols_put(f, where, 22, true, !!p);
	if (p)
		fprintf(f, " %s", p->rule->id);
	fputc('\n', f);
}

/* The stall's time by cause, one line each, when it has more than one. */
static void print_breakdown(FILE *f, const struct stall *s, const struct frames *frames)
{
	uint64_t rest = s->unsampled_ns;
	uint32_t own = 0;
	char what[128];

	for (uint32_t i = 0; i < s->n_segments; i++)
		if (!s->segments[i].other)
			own++;
	for (uint32_t i = 0; i < s->n_segments; i++)
		if (s->segments[i].other)
			rest += s->segments[i].ns;
	if (own + (rest * 10 >= s->duration_ns && rest >= 5000000) < 2)
		return;
	for (uint32_t i = 0; i < s->n_segments; i++) {
		const struct segment *g = &s->segments[i];

		if (g->other)
			continue;
		print_part(f, i == 0, g->ns, segments__what(s, i, frames, what, sizeof(what)),
			   frames__get(frames, g->site), stall__segment_primary(s, i));
	}
	if (rest >= 1000000 || rest * 100 >= s->duration_ns)
		print_part(f, false, rest, "other", NULL, NULL);
}

void live_text__proc_name(FILE *f, const struct proc_info *p, int width)
{
	char pid[24];
	int n = snprintf(pid, sizeof(pid), "PID %u (", p->pid);

	fputs(pid, f);
	cols_put(f, p->title && *p->title ? p->title : "?", width - n - 1 > 1 ? width - n - 1 : 1,
		 false, false);
	fputc(')', f);
}

/* "         in PID 4260 (gunicorn: worker [app:app])": whose a stall is. */
static void print_in_proc(FILE *f, uint32_t pid, const char *title)
{
	struct proc_info p = { .pid = pid, .title = title };

	fprintf(f, "%9sin ", "");
	live_text__proc_name(f, &p, 67);
	fputc('\n', f);
}

/* "in task NAME: outer > … > inner" in 79 columns: the innermost
 * coroutines kept, those cut said with "…". */
static void print_task(FILE *f, const struct stall *s, const struct frames *frames)
{
	char line[256], chain[200] = "";
	int room = 70 - 10 - (int)strlen(s->task);	/* "in task " and ": " */
	size_t len = 0;

	for (uint32_t i = s->n_task_frames; frames && room > 8 && i-- > 0;) {
		const struct frame *fr = frames__get(frames, s->task_frames[i]);
		const char *fn = fr && fr->function ? fr->function : "?";
		size_t n = strlen(fn) + (len ? 3 : 0);
		char tmp[200];

		if (len + n > (size_t)room) {
			snprintf(tmp, sizeof(tmp), "... > %s", chain);
			memcpy(chain, tmp, sizeof(chain));
			break;
		}
		snprintf(tmp, sizeof(tmp), "%s%s%s", fn, len ? " > " : "", chain);
		memcpy(chain, tmp, sizeof(chain));
		len = strlen(chain);
	}
	snprintf(line, sizeof(line), "in task %s%s%s", s->task, chain[0] ? ": " : "", chain);
	fprintf(f, "%9s", "");
	cols_put(f, line, 70, false, false);
	fputc('\n', f);
}

void live_text__stall(FILE *f, const struct stall *s, const struct frames *frames,
		      unsigned int flags)
{
	char clk[16], d[32], on[32], off[32], who[40], waits[128];
	const char *why = stall__unsampled_why(s);
	bool full = flags & LIVE_FULL_STACKS;

	fprintf(f, "%.8s %-20s stall %8s  on-CPU %8s  off %8s\n",
		fmt_clock(s->start_unix_ns, clk, sizeof(clk)),
		fmt_who(s->thread, s->tid, who, sizeof(who), 20),
		fmt_dur(s->duration_ns, d, sizeof(d)),
		fmt_dur(s->on_cpu_ns, on, sizeof(on)),
		fmt_dur(s->off_cpu_ns, off, sizeof(off)));
	if (flags & LIVE_PROCESS)
		print_in_proc(f, s->pid, s->process);
	if (s->task_id)
		print_task(f, s, frames);
	waits_line(s, waits, 60);
	if (waits[0])
		fprintf(f, "%9swaited in %s\n", "", waits);
	if (s->samples_on + s->samples_off && s->first_sample_ns >= 2000000)
		fprintf(f, "%9snot sampled: its first %s\n", "",
			fmt_dur(s->first_sample_ns, d, sizeof(d)));
	else if (why)
		fprintf(f, "%9snot sampled: %s\n", "", why);
	if (s->before_attach)
		fprintf(f, "%9sbegan before loopstall attached%s\n", "",
			s->ongoing ? "; still blocked" : ": it lasted longer");
	else if (s->ongoing)
		fprintf(f, "%9sstill blocked when the session ended\n", "");
	if (frames)
		print_breakdown(f, s, frames);
	print_findings_text(f, s, frames);
	print_stack_text(f, s, frames, full);
}

void live_text__blocked(FILE *f, const struct proc_info *p, uint32_t tid, const char *thread,
			uint64_t now_unix_ns, uint64_t blocked_ns, const char *in)
{
	char clk[16], who[40];

	fprintf(f, "%.8s %-20s blocked %.1f s and counting%s%s\n",
		fmt_clock(now_unix_ns, clk, sizeof(clk)),
		fmt_who(thread, tid, who, sizeof(who), 20), blocked_ns / 1e9,
		in ? " in " : "", in ? in : "");
	if (p)
		print_in_proc(f, p->pid, p->title);
}

/* "loopstall: watching PID 4260 (title), CPython 3.11.2" in 79 columns
 * (its parent: JSON's ppid). */
static void watching_line(FILE *f, const struct proc_info *p)
{
	char tail[96];

	snprintf(tail, sizeof(tail), ", CPython %s", p->py_version ? p->py_version : "?");
	fputs("loopstall: watching ", f);
	live_text__proc_name(f, p, 79 - 20 - cols_width(tail));
	fputs(tail, f);
	fputc('\n', f);
}

void live_text__proc_start(FILE *f, const struct proc_info *p)
{
	watching_line(f, p);
}

void live_text__proc_exit(FILE *f, const struct proc_info *p, const struct proc_summary *ps,
			  uint64_t threshold_ns)
{
	char a[32], b[32], c[32];

	fputs("loopstall: ", f);
	live_text__proc_name(f, p, 79 - 11 - 7);
	fputs(" exited\n", f);
	if (!ps->stalls)
		fprintf(f, "%11sno stall >= %s\n", "", fmt_dur(threshold_ns, a, sizeof(a)));
	else
		fprintf(f, "%11s%u stall%s >= %s, stalled %s, worst %s\n", "", ps->stalls,
			ps->stalls == 1 ? "" : "s", fmt_dur(threshold_ns, a, sizeof(a)),
			fmt_dur(ps->stalled_ns, b, sizeof(b)), fmt_dur(ps->worst_ns, c, sizeof(c)));
}

void live_text__session(FILE *f, const struct session_start *s)
{
	char d[32];

	if (!s->multi)
		fprintf(f, "loopstall: %s PID %u (%s), CPython %s\n",
			s->recording ? "recording" : "watching", s->pid, s->comm, s->py_version);
	for (uint32_t i = 0; s->multi && i < s->n_procs; i++)
		watching_line(f, &s->procs[i]);
	if (s->multi && s->follow)
		fprintf(f, "loopstall: and every process they start (--subprocesses)\n");
	fprintf(f, "loopstall: %s stalls >= %s; attached in %.2f s; Ctrl-C to stop\n",
		s->recording ? "recording" : "reporting",
		fmt_dur(s->threshold_ns, d, sizeof(d)), s->attach_ns / 1e9);
}

void live_text__loop(FILE *f, const struct proc_info *p, const struct loop_info *l)
{
	char who[40];

	if (p)	/* 11 + 20 + 24 + 9 + 15: under 80 columns */
		fprintf(f, "loopstall: watching event loop %s (%s) in PID %u\n",
			fmt_who(l->thread, l->tid, who, sizeof(who), 24), l->poll, p->pid);
	else
		fprintf(f, "loopstall: watching event loop in thread %s (TID %u, %s)\n",
			l->thread, l->tid, l->poll);
}

/* The loops of process pid (any: 0), indented by indent more. */
static void summary_loops(FILE *f, const struct session_end *e, uint32_t pid, int indent)
{
	char a[32], b[32], who[40];

	for (uint32_t i = 0; i < e->n_loops; i++) {
		const struct loop_info *l = &e->loops[i];
		const struct loop_summary *ls = summary__loop(e->sum, l->pid, l->tid);

		if (pid && l->pid != pid)
			continue;
		fprintf(f, "  %*s%-*s %-6s %4u stall%s %9s  worst %s\n", indent, "", 24 - indent,
			fmt_who(l->thread, l->tid, who, sizeof(who), 24 - indent), l->poll,
			ls->stalls, ls->stalls == 1 ? " " : "s",
			fmt_dur(ls->stalled_ns, a, sizeof(a)), fmt_dur(ls->worst_ns, b, sizeof(b)));
	}
}

/* Each process, its stalled time, then its loops. */
static void summary_procs(FILE *f, const struct session_end *e)
{
	char a[32];

	for (uint32_t i = 0; i < e->n_procs; i++) {
		const struct proc_info *p = &e->procs[i];
		const struct proc_summary *ps = summary__proc(e->sum, p->pid);
		char pid[24];

		snprintf(pid, sizeof(pid), "PID %u", p->pid);
		fprintf(f, "  %-11s ", pid);
		cols_put(f, p->title && *p->title ? p->title : "?", 42, false, true);
		fprintf(f, " %4u stall%s %9s\n", ps->stalls, ps->stalls == 1 ? " " : "s",
			fmt_dur(ps->stalled_ns, a, sizeof(a)));
		summary_loops(f, e, p->pid, 2);
	}
}

static void summary_groups(FILE *f, const struct summary *s)
{
	char a[32], b[32];

	if (s->n_groups)
		fprintf(f, "  findings, worst first:\n");
	for (uint32_t i = 0; i < s->n_groups && i < 20; i++) {
		const struct finding_group *g = &s->groups[i];
		char head[160], where[200];

		snprintf(head, sizeof(head), "%s %s: %s", g->rule->id,
			 rule_severity_name(g->rule->severity), g->rule->name);
		fprintf(f, "  %4u x %9s (worst %s)  ", g->count,
			fmt_dur(g->total_ns, a, sizeof(a)), fmt_dur(g->worst_ns, b, sizeof(b)));
		cols_put(f, head, 38, false, false);
		fputc('\n', f);
		snprintf(where, sizeof(where), "%s:%d in %s", fmt_base(g->file), g->line,
			 g->function ? g->function : "?");
		fprintf(f, "%13s", "");
		cols_put(f, where, 64, false, false);
		fputc('\n', f);
	}
}

void live_text__summary(FILE *f, const struct session_end *e)
{
	const struct summary *s = e->sum;
	char a[32], b[32], c[32];
	/* several processes: the share of their loops' time */
	double loops = e->multi && e->n_loops > 1 ? e->n_loops : 1;
	double share = e->span_ns ? 100.0 * s->stalled_ns / (e->span_ns * loops) : 0;

	if (e->multi)
		fprintf(f, "\nloopstall: %u process%s ended by %s after %s\n", e->n_procs,
			e->n_procs == 1 ? "" : "es", e->ended_by, fmt_dur(e->span_ns, a, sizeof(a)));
	else
		fprintf(f, "\nloopstall: %s%s%s%s ended by %s after %s\n", e->comm,
			e->py_version[0] ? " (" : "", e->py_version, e->py_version[0] ? ")" : "",
			e->ended_by, fmt_dur(e->span_ns, a, sizeof(a)));
	fprintf(f, "  %u stall%s >= %s in %u loop%s; stalled %s (%.1f%%), worst %s\n",
		s->stalls, s->stalls == 1 ? "" : "s", fmt_dur(e->threshold_ns, b, sizeof(b)),
		e->n_loops, e->n_loops == 1 ? "" : "s", fmt_dur(s->stalled_ns, a, sizeof(a)),
		share, fmt_dur(s->max_ns, c, sizeof(c)));
	live_text__lag(f, "  ", &s->lag, e->span_ns);
	if (e->multi)
		summary_procs(f, e);
	else
		summary_loops(f, e, 0, 0);
	summary_groups(f, s);
	live_text__awaits(f, s, e->task_hz && e->task_span_ns && e->task_ticks > 1 ?
			  (uint32_t)((e->task_ticks - 1) * 1e9 / e->task_span_ns + 0.5) : 0);
	if (e->lost_stalls || e->lost_samples || e->lost_threads || e->dropped_samples)
		fprintf(f, "  LOST: %" PRIu64 " stalls, %" PRIu64 " samples (ring buffer full);\n"
			"        %" PRIu64 " loop threads (table full), %" PRIu64 " samples over cap\n",
			e->lost_stalls, e->lost_samples, e->lost_threads, e->dropped_samples);
	else if (!e->lost_procs)
		fprintf(f, "  no events lost\n");
	if (e->lost_procs)
		fprintf(f, "  LOST: %" PRIu64 " process events (new processes not followed:\n"
			"        ring buffer or process table full)\n", e->lost_procs);
}

void live_text__lag(FILE *f, const char *lead, const struct lag *l, uint64_t span_ns)
{
	char a[32], b[32], c[32], d[32];

	if (!l->count)
		return;
	fprintf(f, "%sbusy      p50 %s  p90 %s  p99 %s  max %s  (%.0f/s)\n", lead,
		fmt_dur(lag__quantile(l, 0.5), a, sizeof(a)),
		fmt_dur(lag__quantile(l, 0.9), b, sizeof(b)),
		fmt_dur(lag__quantile(l, 0.99), c, sizeof(c)), fmt_dur(l->max_ns, d, sizeof(d)),
		span_ns ? l->count * 1e9 / span_ns : 0.0);
}

void live_text__budgets(FILE *f, const struct budget_result *b, int n)
{
	for (int i = 0; i < n; i++)
		if (b[i].broken)
			fprintf(f, "loopstall: budget: %s\n", b[i].line);
}

/* "80-82" for lines in a row, else "80,83,90". */
static void run_lines(const struct await_finding *g, char *out, size_t len)
{
	bool in_row = true;
	size_t k = 0;

	for (int i = 1; i < g->n; i++)
		in_row = in_row && g->lines[i] == g->lines[i - 1] + 1;
	if (in_row) {
		snprintf(out, len, "%d-%d", g->lines[0], g->lines[g->n - 1]);
		return;
	}
	out[0] = 0;
	for (int i = 0; i < g->n && k < len; i++)
		k += snprintf(out + k, len - k, "%s%d", i ? "," : "", g->lines[i]);
}

void live_text__await(FILE *f, const struct await_finding *g, const struct frames *frames,
		      const char *lead)
{
	const struct frame *fr = frames__get(frames, g->frame);
	char head[200], lines[64], ms[160], t[32], p[32];
	size_t k = 0;

	run_lines(g, lines, sizeof(lines));
	for (int j = 0; j < g->n && k < sizeof(ms); j++)
		k += snprintf(ms + k, sizeof(ms) - k, "%s%.0f", j ? " + " : "", g->ns[j] / 1e6);
	snprintf(head, sizeof(head), "%s %s %s:%s in %s", g->rule->id,
		 rule_category_name(g->rule->category), fmt_base(fr ? fr->file : "?"), lines,
		 fr && fr->function ? fr->function : "?");
	fputs(lead, f);
	cols_put(f, head, 80 - (int)strlen(lead), false, false);
	fprintf(f, "\n      %s ms in turn, %u call%s\n", ms, g->calls, g->calls == 1 ? "" : "s");
	fprintf(f, "      together (asyncio.gather): ~%s, saves ~%s a call\n",
		fmt_dur(g->together_ns, t, sizeof(t)),
		fmt_dur(g->turn_ns - g->together_ns, p, sizeof(p)));
}

void live_text__awaits(FILE *f, const struct summary *s, uint32_t hz)
{
	const struct awaits *a = &s->aw;
	char t[32], p[32];

	if (a->n_sites && hz)
		fprintf(f, "  slowest awaits (the user's coroutines, read %u times a second):\n",
			hz);
	else if (a->n_sites)
		fprintf(f, "  slowest awaits (the user's coroutines):\n");
	if (a->n_sites)
		fprintf(f, "     count      total        p99  where\n");
	for (uint32_t i = 0; i < a->n_sites && i < 10; i++) {
		const struct await_site *w = &a->sites[i];
		const struct frame *fr = frames__get(s->aw_frames, w->frame);
		char where[200];

		snprintf(where, sizeof(where), "%s:%d in %s", fmt_base(fr ? fr->file : "?"),
			 fr ? fr->line : 0, fr && fr->function ? fr->function : "?");
		fprintf(f, "  %8u %10s %10s  ", w->count, fmt_dur(w->total_ns, t, sizeof(t)),
			fmt_dur(awaits__quantile(w, 0.99), p, sizeof(p)));
		cols_put(f, where, 42, false, false);
		fputc('\n', f);
	}
	if (a->n_findings)
		fprintf(f, "  sequential awaits (they could run together):\n");
	for (uint32_t i = 0; i < a->n_findings && i < 10; i++)
		live_text__await(f, &a->findings[i], s->aw_frames, "    ");
}
