// SPDX-License-Identifier: MIT
/* attach -f json: one object per line for a loop found, a loop blocked,
 * each stall and the summary (docs/json.md). */
#include <inttypes.h>
#include "jsonw.h"
#include "live.h"
#include "rule.h"
#include "segments.h"
#include "syscalls.h"

static double ms(uint64_t ns)
{
	return ns / 1e6;
}

static void json_frame(FILE *f, const struct frame *fr)
{
	fprintf(f, "{\"kind\":\"%s\",\"function\":",
		fr->kind == FRAME_PYTHON ? "python" : "native");
	if (fr->function)
		json_str(f, fr->function);
	else
		fputs("null", f);
	fputs(",\"file\":", f);
	if (fr->file)
		json_str(f, fr->file);
	else
		fputs("null", f);
	if (fr->line)
		fprintf(f, ",\"line\":%d", fr->line);
	else
		fputs(",\"line\":null", f);
	if (fr->kind == FRAME_PYTHON) {
		fprintf(f, ",\"user\":%s", fr->user ? "true" : "false");
		if (fr->code) {
			fputs(",\"code\":", f);
			json_str(f, fr->code);
		}
	} else {
		fputs(",\"module\":", f);
		if (fr->module)
			json_str(f, fr->module);
		else
			fputs("null", f);
		if (fr->addr)
			fprintf(f, ",\"address\":\"0x%" PRIx64 "\"", fr->addr);
	}
	fputc('}', f);
}

static void json_finding(FILE *f, const struct finding *fd)
{
	const struct rule *r = fd->rule;

	fputs("{\"rule\":", f);
	json_str(f, r->id);
	fputs(",\"name\":", f);
	json_str(f, r->name);
	fprintf(f, ",\"category\":\"%s\",\"severity\":\"%s\",\"call_site\":{\"file\":",
		rule_category_name(r->category), rule_severity_name(r->severity));
	json_str_or_null(f, fd->file);
	if (fd->line)
		fprintf(f, ",\"line\":%d", fd->line);
	else
		fputs(",\"line\":null", f);
	fputs(",\"function\":", f);
	json_str_or_null(f, fd->function);
	fputs(",\"code\":", f);
	json_str_or_null(f, fd->code);
	fprintf(f, "},\"segment\":%u,\"ms\":%.3f,\"share\":%.3f,", fd->segment,
		ms(fd->ns), fd->share);
	if (fd->loop_file) {
		fputs("\"loop_site\":{\"file\":", f);
		json_str(f, fd->loop_file);
		fprintf(f, ",\"line\":%d,\"function\":", fd->loop_line);
		json_str_or_null(f, fd->loop_function);
		fputs("},", f);
	}
	fputs("\"evidence\":", f);
	json_str(f, fd->evidence);
	fputs(",\"fix\":", f);
	json_str_or_null(f, r->fix);
	fputs(",\"lint\":[", f);
	for (int i = 0; i < r->n_lints; i++) {
		if (i)
			fputc(',', f);
		json_str(f, r->lints[i]);
	}
	fputc(']', f);		/* the caller closes the object */
}

/* The thread holding the GIL the loop waited for: TID, name, its stack. */
static void json_holder(FILE *f, const struct stall *s, const struct frames *frames)
{
	fprintf(f, "{\"tid\":%u,\"thread\":", s->gil_tid);
	json_str(f, s->gil_thread);
	fputs(",\"frames\":[", f);
	for (uint32_t i = 0, n = 0; frames && i < s->n_gil_frames; i++) {
		const struct frame *fr = frames__get(frames, s->gil_frames[i]);

		if (!fr)
			continue;
		if (n++)
			fputc(',', f);
		json_frame(f, fr);
	}
	fputs("]}", f);
}

/* "task":{"id":…,"name":…,"coro_stack":[frames, innermost first]}: id
 * the Task's address, as `loopstall tasks` prints it */
static void json_task(FILE *f, const struct stall *s, const struct frames *frames)
{
	fprintf(f, "\"task\":{\"id\":%" PRIu64 ",\"name\":", s->task_id);
	json_str(f, s->task);
	fputs(",\"coro_stack\":[", f);
	for (uint32_t i = s->n_task_frames, n = 0; frames && i-- > 0;) {
		const struct frame *fr = frames__get(frames, s->task_frames[i]);

		if (!fr)
			continue;
		if (n++)
			fputc(',', f);
		json_frame(f, fr);
	}
	fputs("]},", f);
}

static void json_site(FILE *f, const struct frame *fr)
{
	if (!fr) {
		fputs("null", f);
		return;
	}
	fputs("{\"file\":", f);
	json_str_or_null(f, fr->file);
	fprintf(f, ",\"line\":%d,\"function\":", fr->line);
	json_str_or_null(f, fr->function);
	fputs(",\"code\":", f);
	json_str_or_null(f, fr->code);
	fputc('}', f);
}

/* The off-CPU time of segment g by what it waited in. */
static void json_segment_waits(FILE *f, const struct stall *s, const struct segment *g)
{
	char nrbuf[32];
	int shown = 0;

	for (uint32_t i = 0; i < g->n_stacks; i++) {
		const struct stack_count *sc = &s->stacks[g->stacks[i]];
		uint64_t ns = 0;
		bool seen = false;

		if (sc->kind == LS_SAMPLE_ONCPU)
			continue;
		for (uint32_t j = 0; j < i && !seen; j++) {
			const struct stack_count *o = &s->stacks[g->stacks[j]];

			seen = o->kind != LS_SAMPLE_ONCPU && o->nr == sc->nr &&
			       o->fd_kind == sc->fd_kind;
		}
		if (seen)
			continue;
		for (uint32_t j = i; j < g->n_stacks; j++) {
			const struct stack_count *o = &s->stacks[g->stacks[j]];

			if (o->kind != LS_SAMPLE_ONCPU && o->nr == sc->nr &&
			    o->fd_kind == sc->fd_kind)
				ns += o->weight_ns;
		}
		fputs(shown++ ? ",{\"what\":" : "{\"what\":", f);
		json_str(f, syscall__wait_label(sc->nr, nrbuf, sizeof(nrbuf)));
		fputs(",\"fd_kind\":", f);
		if (sc->fd_kind >= 0)
			json_str(f, fd_kind_name(sc->fd_kind));
		else
			fputs("null", f);
		fprintf(f, ",\"ms\":%.3f}", ms(ns));
	}
}

static void json_segments(FILE *f, const struct stall *s, const struct frames *frames)
{
	const char *why = stall__unsampled_why(s);
	char what[128];

	fputs("\"segments\":[", f);
	for (uint32_t i = 0; frames && i < s->n_segments; i++) {
		const struct segment *g = &s->segments[i];

		fprintf(f, "%s{\"ms\":%.3f,\"share\":%.3f,\"on_cpu_ms\":%.3f,"
			"\"off_cpu_ms\":%.3f,\"what\":", i ? "," : "", ms(g->ns),
			s->duration_ns ? (double)g->ns / s->duration_ns : 0, ms(g->on_ns),
			ms(g->off_ns));
		json_str(f, segments__what(s, i, frames, what, sizeof(what)));
		fprintf(f, ",\"other\":%s,\"gil\":%s,\"call_site\":",
			g->other ? "true" : "false", g->gil ? "true" : "false");
		json_site(f, g->other ? NULL : frames__get(frames, g->site));
		fputs(",\"waits\":[", f);
		json_segment_waits(f, s, g);
		fputs("],\"rules\":[", f);
		for (uint32_t k = 0, n = 0; k < s->n_findings; k++)
			if (s->findings[k].segment == i && !g->other) {
				fputs(n++ ? "," : "", f);
				json_str(f, s->findings[k].rule->id);
			}
		fputs("]}", f);
	}
	fprintf(f, "],\"unsampled_ms\":%.3f,", ms(s->unsampled_ns));
	if (why) {	/* no stack: why, as the text says it */
		fputs("\"unsampled_why\":", f);
		json_str(f, why);
		fputc(',', f);
	}
}

void live_json__stall(FILE *f, const struct stall *s, const struct frames *frames)
{
	const struct finding *p;
	char nrbuf[32];

	fprintf(f, "{\"type\":\"stall\",\"schema_version\":%d,\"pid\":%u,\"process\":",
		LS_SCHEMA_VERSION, s->pid);
	json_str(f, s->process);
	fprintf(f, ",\"tid\":%u,\"thread\":", s->tid);
	json_str(f, s->thread);
	fprintf(f, ",\"start_unix_ns\":%" PRIu64 ",\"duration_ms\":%.3f,\"on_cpu_ms\":%.3f,"
		"\"off_cpu_ms\":%.3f,\"ongoing\":%s,\"before_attach\":%s,",
		s->start_unix_ns, ms(s->duration_ns), ms(s->on_cpu_ns), ms(s->off_cpu_ns),
		s->ongoing ? "true" : "false", s->before_attach ? "true" : "false");
	fputs(s->ongoing ? "\"in_syscall\":" : "\"ended_by\":", f);
	if (syscall__is_wait(s->end_nr))
		json_str(f, syscall__wait_label(s->end_nr, nrbuf, sizeof(nrbuf)));
	else
		fputs("null", f);
	fputs(",\"waits\":[", f);
	for (uint32_t i = 0; i < s->n_waits; i++) {
		fputs(i ? ",{\"what\":" : "{\"what\":", f);
		json_str(f, syscall__wait_label(s->waits[i].nr, nrbuf, sizeof(nrbuf)));
		fprintf(f, ",\"ms\":%.3f,\"count\":%u}", ms(s->waits[i].ns), s->waits[i].count);
	}
	fprintf(f, "],\"samples\":{\"on_cpu\":%u,\"off_cpu\":%u,\"first_ms\":%.3f,"
		"\"last_ms\":%.3f,\"lost\":%u},\"stacks\":[",
		s->samples_on, s->samples_off, ms(s->first_sample_ns), ms(s->last_sample_ns),
		s->samples_lost + (s->samples_sent > s->samples_on + s->samples_off ?
			s->samples_sent - s->samples_on - s->samples_off : 0));
	for (uint32_t i = 0; i < s->n_stacks; i++) {
		const struct stack_count *sc = &s->stacks[i];

		fprintf(f, "%s{\"count\":%u,\"ms\":%.3f,\"cpu\":\"%s\",\"syscall\":", i ? "," : "",
			sc->count, ms(sc->weight_ns),
			sc->kind == LS_SAMPLE_ONCPU ? "on" : "off");
		if (syscall__is_wait(sc->nr))
			json_str(f, syscall__wait_label(sc->nr, nrbuf, sizeof(nrbuf)));
		else
			fputs("null", f);
		fputs(",\"frames\":[", f);
		for (uint32_t j = 0, shown = 0; frames && j < sc->n_frames; j++) {
			const struct frame *fr = frames__get(frames, sc->frames[j]);

			if (!fr)	/* an id not interned (ENOMEM) */
				continue;
			if (shown++)
				fputc(',', f);
			json_frame(f, fr);
		}
		fputs("]}", f);
	}
	fputs("],", f);
	if (s->gil_tid) {
		fputs("\"gil_holder\":", f);
		json_holder(f, s, frames);
		fputc(',', f);
	}
	if (s->task_id)
		json_task(f, s, frames);
	else
		fputs("\"task\":null,", f);
	json_segments(f, s, frames);
	p = stall__primary(s);
	fprintf(f, "\"category\":\"%s\",\"findings\":[",
		rule_category_name(p ? p->rule->category : CAT_OTHER));
	for (uint32_t i = 0; i < s->n_findings; i++) {
		if (i)
			fputc(',', f);
		json_finding(f, &s->findings[i]);
		if (s->gil_tid && s->n_segments && s->segments[s->findings[i].segment].gil) {
			fputs(",\"holder\":", f);
			json_holder(f, s, frames);
		}
		fputc('}', f);
	}
	fputs("]}", f);
}

/* "pid":N,"process":"title" */
static void json_proc_ids(FILE *f, const struct proc_info *p)
{
	fprintf(f, "\"pid\":%u,\"process\":", p->pid);
	json_str(f, p->title ? p->title : "");
}

void live_json__blocked(FILE *f, const struct proc_info *p, uint32_t tid, const char *thread,
			uint64_t now_unix_ns, uint64_t blocked_ns, const char *in)
{
	fprintf(f, "{\"type\":\"blocked\",\"schema_version\":%d,", LS_SCHEMA_VERSION);
	json_proc_ids(f, p);
	fprintf(f, ",\"tid\":%u,\"thread\":", tid);
	json_str(f, thread);
	fprintf(f, ",\"now_unix_ns\":%" PRIu64 ",\"blocked_ms\":%.3f,\"in_syscall\":",
		now_unix_ns, ms(blocked_ns));
	json_str_or_null(f, in);
	fputs("}\n", f);
}

/* {"pid","ppid","process","python"} of p. */
static void json_proc(FILE *f, const struct proc_info *p)
{
	fputc('{', f);
	json_proc_ids(f, p);
	fprintf(f, ",\"ppid\":%u,\"python\":", p->ppid);
	json_str_or_null(f, p->py_version);
	fputc('}', f);
}

void live_json__session(FILE *f, const struct session_start *s)
{
	fprintf(f, "{\"type\":\"session\",\"schema_version\":%d,\"pid\":%u,\"process\":",
		LS_SCHEMA_VERSION, s->pid);
	json_str(f, s->comm);
	fputs(",\"python\":", f);
	json_str(f, s->py_version);
	fprintf(f, ",\"mode\":\"%s\",\"threshold_ms\":%.3f,\"attach_ms\":%.3f,"
		"\"subprocesses\":%s,\"processes\":[", s->recording ? "record" : "attach",
		ms(s->threshold_ns), ms(s->attach_ns), s->follow ? "true" : "false");
	for (uint32_t i = 0; i < s->n_procs; i++) {
		if (i)
			fputc(',', f);
		json_proc(f, &s->procs[i]);
	}
	fputs("]}\n", f);
}

void live_json__proc(FILE *f, const char *event, const struct proc_info *p,
		     const struct proc_summary *ps, uint64_t now_unix_ns)
{
	fprintf(f, "{\"type\":\"process\",\"schema_version\":%d,\"event\":\"%s\",",
		LS_SCHEMA_VERSION, event);
	json_proc_ids(f, p);
	fprintf(f, ",\"ppid\":%u,\"python\":", p->ppid);
	json_str_or_null(f, p->py_version);
	if (ps)
		fprintf(f, ",\"now_unix_ns\":%" PRIu64 ",\"stalls\":%u,\"stalled_ms\":%.3f,"
			"\"worst_ms\":%.3f", now_unix_ns, ps->stalls, ms(ps->stalled_ns),
			ms(ps->worst_ns));
	fputs("}\n", f);
}

void live_json__loop(FILE *f, const struct proc_info *p, const struct loop_info *l)
{
	fprintf(f, "{\"type\":\"loop\",\"schema_version\":%d,", LS_SCHEMA_VERSION);
	json_proc_ids(f, p);
	fprintf(f, ",\"tid\":%u,\"thread\":", l->tid);
	json_str(f, l->thread);
	fprintf(f, ",\"poll\":\"%s\"}\n", l->poll);
}

static void summary_loops(FILE *f, const struct session_end *e)
{
	for (uint32_t i = 0; i < e->n_loops; i++) {
		const struct loop_info *l = &e->loops[i];
		const struct loop_summary *ls = summary__loop(e->sum, l->pid, l->tid);

		fprintf(f, "%s{\"pid\":%u,\"tid\":%u,\"thread\":", i ? "," : "", l->pid, l->tid);
		json_str(f, l->thread);
		fprintf(f, ",\"poll\":\"%s\",\"stalls\":%u,\"stalled_ms\":%.3f,"
			"\"worst_ms\":%.3f", l->poll, ls->stalls, ms(ls->stalled_ns),
			ms(ls->worst_ns));
		live_json__lag(f, &ls->lag);
		fputc('}', f);
	}
}

static void summary_groups(FILE *f, const struct summary *s)
{
	for (uint32_t i = 0; i < s->n_groups; i++) {
		const struct finding_group *g = &s->groups[i];

		fprintf(f, "%s{\"rule\":", i ? "," : "");
		json_str(f, g->rule->id);
		fprintf(f, ",\"category\":\"%s\",\"severity\":\"%s\",\"call_site\":{\"file\":",
			rule_category_name(g->rule->category),
			rule_severity_name(g->rule->severity));
		json_str_or_null(f, g->file);
		fprintf(f, ",\"line\":%d,\"function\":", g->line);
		json_str_or_null(f, g->function);
		fputs(",\"code\":", f);
		json_str_or_null(f, g->code);
		fprintf(f, "},\"count\":%u,\"total_ms\":%.3f,\"worst_ms\":%.3f}",
			g->count, ms(g->total_ns), ms(g->worst_ns));
	}
}

void live_json__summary(FILE *f, const struct session_end *e)
{
	const struct summary *s = e->sum;

	fprintf(f, "{\"type\":\"summary\",\"schema_version\":%d,\"pid\":%u,"
		"\"python\":", LS_SCHEMA_VERSION, e->pid);
	json_str(f, e->py_version);
	fputs(",\"ended_by\":", f);
	json_str(f, e->ended_by);
	fprintf(f, ",\"span_ms\":%.3f,\"threshold_ms\":%.3f,\"stalls\":%u,"
		"\"stalled_ms\":%.3f,\"worst_ms\":%.3f,\"loops\":[",
		ms(e->span_ns), ms(e->threshold_ns), s->stalls, ms(s->stalled_ns),
		ms(s->max_ns));
	summary_loops(f, e);
	fputc(']', f);
	live_json__lag(f, &s->lag);
	fputs(",\"processes\":[", f);
	for (uint32_t i = 0; i < e->n_procs; i++) {
		const struct proc_summary *ps = summary__proc(e->sum, e->procs[i].pid);

		fputs(i ? ",{" : "{", f);
		json_proc_ids(f, &e->procs[i]);
		fprintf(f, ",\"ppid\":%u,\"python\":", e->procs[i].ppid);
		json_str_or_null(f, e->procs[i].py_version);
		fprintf(f, ",\"stalls\":%u,\"stalled_ms\":%.3f,\"worst_ms\":%.3f}", ps->stalls,
			ms(ps->stalled_ns), ms(ps->worst_ns));
	}
	fprintf(f, "],\"lost\":{\"stalls\":%" PRIu64 ",\"samples\":%" PRIu64
		",\"threads\":%" PRIu64 ",\"samples_over_cap\":%" PRIu64 ",\"processes\":%"
		PRIu64 "},\"findings\":[", e->lost_stalls, e->lost_samples, e->lost_threads,
		e->dropped_samples, e->lost_procs);
	summary_groups(f, s);
	fprintf(f, "],\"task_reads\":{\"hz\":%u,\"reads\":%" PRIu64 ",\"per_s\":%.1f,"
		"\"tasks_max\":%u}", e->task_hz, e->task_ticks,
		e->task_span_ns && e->task_ticks > 1 ?
		(e->task_ticks - 1) * 1e9 / e->task_span_ns : 0.0, e->tasks_max);
	live_json__awaits(f, s);
	live_json__budgets(f, e->budgets, e->n_budgets);
	fputs("}\n", f);
}

/* A sequential-await finding's members, from "rule" on. */
static void json_await_members(FILE *f, const struct await_finding *g,
			       const struct frames *frames)
{
	const struct frame *fr = frames__get(frames, g->frame);

	fputs("\"rule\":", f);
	json_str(f, g->rule->id);
	fputs(",\"name\":", f);
	json_str(f, g->rule->name);
	fprintf(f, ",\"severity\":\"%s\",\"category\":\"%s\",\"function\":",
		rule_severity_name(g->rule->severity),
		rule_category_name(g->rule->category));
	json_str_or_null(f, fr ? fr->function : NULL);
	fputs(",\"file\":", f);
	json_str_or_null(f, fr ? fr->file : NULL);
	fputs(",\"lines\":[", f);
	for (int j = 0; j < g->n; j++)
		fprintf(f, "%s%d", j ? "," : "", g->lines[j]);
	fputs("],\"waits_ms\":[", f);
	for (int j = 0; j < g->n; j++)
		fprintf(f, "%s%.3f", j ? "," : "", ms(g->ns[j]));
	fprintf(f, "],\"calls\":%u,\"in_turn_ms\":%.3f,\"together_ms\":%.3f,"
		"\"saves_ms\":%.3f,\"evidence\":", g->calls, ms(g->turn_ns),
		ms(g->together_ns), ms(g->turn_ns - g->together_ns));
	json_str(f, g->evidence);
	fputs(",\"fix\":", f);
	json_str_or_null(f, g->rule->fix);
}

static void json_await(FILE *f, const struct await_finding *g, const struct frames *frames)
{
	fputc('{', f);
	json_await_members(f, g, frames);
	fputc('}', f);
}

void live_json__await(FILE *f, const struct await_finding *g, const struct frames *frames)
{
	fprintf(f, "{\"type\":\"sequential_await\",\"schema_version\":%d,", LS_SCHEMA_VERSION);
	json_await_members(f, g, frames);
	fputs("}\n", f);
}

void live_json__lag(FILE *f, const struct lag *l)
{
	bool first = true;

	fprintf(f, ",\"busy\":{\"intervals\":%" PRIu64 ",\"busy_ms\":%.3f,\"p50_ms\":%.3f,"
		"\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"buckets\":[", l->count,
		ms(l->sum_ns), ms(lag__quantile(l, 0.5)), ms(lag__quantile(l, 0.9)),
		ms(lag__quantile(l, 0.99)), ms(l->max_ns));
	for (uint32_t b = 0; b < LS_BUSY_BUCKETS; b++) {
		uint64_t lo, hi;

		if (!l->hist[b])
			continue;
		lag__bounds(b, &lo, &hi);
		fprintf(f, "%s{\"from_ms\":%g,\"to_ms\":", first ? "" : ",", lo / 1e6);
		if (hi == UINT64_MAX)
			fputs("null", f);
		else
			fprintf(f, "%g", hi / 1e6);
		fprintf(f, ",\"count\":%" PRIu64 "}", l->hist[b]);
		first = false;
	}
	fputs("]}", f);
}

void live_json__budgets(FILE *f, const struct budget_result *b, int n)
{
	fputs(",\"budgets\":[", f);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s{\"budget\":\"%s\",\"value\":%.3f,\"limit\":%.3f,"
			"\"broken\":%s}", i ? "," : "", b[i].name, b[i].value, b[i].limit,
			b[i].broken ? "true" : "false");
	fputc(']', f);
}

void live_json__awaits(FILE *f, const struct summary *s)
{
	const struct awaits *a = &s->aw;

	fputs(",\"awaits\":[", f);
	for (uint32_t i = 0; i < a->n_sites; i++) {
		const struct await_site *w = &a->sites[i];
		const struct frame *fr = frames__get(s->aw_frames, w->frame);

		fputs(i ? ",{\"function\":" : "{\"function\":", f);
		json_str_or_null(f, fr ? fr->function : NULL);
		fputs(",\"file\":", f);
		json_str_or_null(f, fr ? fr->file : NULL);
		fprintf(f, ",\"line\":%d,\"count\":%u,\"total_ms\":%.3f,\"p99_ms\":%.3f,"
			"\"max_ms\":%.3f}", fr ? fr->line : 0, w->count, ms(w->total_ns),
			ms(awaits__quantile(w, 0.99)), ms(w->max_ns));
	}
	fputs("],\"sequential_awaits\":[", f);
	for (uint32_t i = 0; i < a->n_findings; i++) {
		fputs(i ? "," : "", f);
		json_await(f, &a->findings[i], s->aw_frames);
	}
	fputc(']', f);
}
