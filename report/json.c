// SPDX-License-Identifier: MIT
/* `loopstall report --format json`: one document (docs/report.md) with the
 * recording, the summary, every stall as attach's JSON stall object
 * (docs/json.md) and the findings grouped as in text. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "jsonw.h"
#include "live.h"
#include "report.h"

static double ms(uint64_t ns)
{
	return ns / 1e6;
}

static void u64_or_null(FILE *f, uint64_t v)
{
	if (v)
		fprintf(f, "%" PRIu64, v);
	else
		fputs("null", f);
}

static void print_recording(FILE *f, const struct report *r)
{
	const struct recording_meta *m = &r->rec->meta;

	fputs("\"recording\":{\"file\":", f);
	json_str_or_null(f, r->name);
	fputs(",\"host\":", f);
	json_str_or_null(f, m->host);
	fputs(",\"command\":", f);
	json_str_or_null(f, m->command);
	fputs(",\"python\":", f);
	json_str_or_null(f, m->python);
	fprintf(f, ",\"pid\":%u,\"loopstall\":", m->pid);
	json_str_or_null(f, m->loopstall);
	fprintf(f, ",\"threshold_ms\":%.3f,\"start_unix_ns\":%" PRIu64 ",\"end_unix_ns\":",
		ms(m->threshold_ns), m->start_unix_ns);
	u64_or_null(f, m->end_unix_ns);
	fputs(",\"ended_by\":", f);
	json_str_or_null(f, m->ended_by);
	fprintf(f, ",\"stalls\":%u,\"truncated\":%s,\"lost\":{\"stalls\":%" PRIu64
		",\"samples\":%" PRIu64 "}},\n", r->rec->n_stalls,
		r->rec->truncated ? "true" : "false", m->lost_stalls, m->lost_samples);
}

static void print_window(FILE *f, const struct report *r)
{
	fputs("\"window\":{\"since_unix_ns\":", f);
	u64_or_null(f, r->filter.since_unix_ns);
	fputs(",\"until_unix_ns\":", f);
	u64_or_null(f, r->filter.until_unix_ns);
	fprintf(f, ",\"min_duration_ms\":%.3f},\n", ms(r->filter.min_duration_ns));
}

static void print_summary_obj(FILE *f, const struct report *r)
{
	uint32_t n_loops = r->sum.n_loops ? r->sum.n_loops : 1;

	fprintf(f, "\"summary\":{\"from_unix_ns\":%" PRIu64 ",\"to_unix_ns\":%" PRIu64
		",\"span_ms\":%.3f,\"stalls\":%u,\"stalled_ms\":%.3f,\"stalled_share\":%.4f,"
		"\"duration_ms\":{\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f,\"max\":%.3f},"
		"\"categories\":[",
		r->from_unix_ns, r->to_unix_ns, ms(r->span_ns), r->n_stalls, ms(r->sum.stalled_ns),
		r->span_ns ? (double)r->sum.stalled_ns / ((double)r->span_ns * n_loops) : 0.0,
		ms(r->sum.p50_ns), ms(r->sum.p95_ns), ms(r->sum.p99_ns), ms(r->sum.max_ns));
	for (uint32_t i = 0; i < r->sum.n_cats; i++) {
		const struct category_summary *c = &r->sum.cats[i];

		fputs(i ? ",{\"category\":" : "{\"category\":", f);
		json_str_or_null(f, c->category < 0 ? NULL : rule_category_name(c->category));
		fprintf(f, ",\"stalls\":%u,\"ms\":%.3f,\"share\":%.4f}", c->stalls, ms(c->ns),
			r->sum.stalled_ns ? (double)c->ns / r->sum.stalled_ns : 0.0);
	}
	fputs("],\"loops\":[", f);
	for (uint32_t i = 0; i < r->sum.n_loops; i++) {
		const struct loop_summary *t = &r->sum.loops[i];

		fprintf(f, "%s{\"pid\":%u,\"tid\":%u,\"thread\":", i ? "," : "", t->pid, t->tid);
		json_str(f, t->thread);
		fprintf(f, ",\"stalls\":%u,\"stalled_ms\":%.3f,\"stalled_share\":%.4f,"
			"\"worst_ms\":%.3f", t->stalls, ms(t->stalled_ns),
			r->span_ns ? (double)t->stalled_ns / r->span_ns : 0.0, ms(t->worst_ns));
		if (t->lag.count)
			live_json__lag(f, &t->lag);
		fputc('}', f);
	}
	fputc(']', f);
	if (r->sum.lag.count)
		live_json__lag(f, &r->sum.lag);
	fputs(",\"note\":", f);
	if (r->rec->truncated) {
		char note[160];

		snprintf(note, sizeof(note), "recording cut short after %u stall%s: the recorder "
			 "was killed or the disk was full", r->rec->n_stalls,
			 r->rec->n_stalls == 1 ? "" : "s");
		json_str(f, note);
	} else {
		fputs("null", f);
	}
	fputs("},\n", f);
}

/* The recording's processes, each with its stalls in the report. */
static void print_processes(FILE *f, const struct report *r)
{
	fputs("\"processes\":[", f);
	for (uint32_t i = 0; i < r->rec->n_procs; i++) {
		const struct recorded_process *p = &r->rec->procs[i];
		const struct proc_summary *ps = summary__proc(&r->sum, p->pid);

		fprintf(f, "%s{\"pid\":%u,\"process\":", i ? ",\n" : "\n", p->pid);
		json_str(f, p->title);
		fprintf(f, ",\"ppid\":%u,\"python\":", p->ppid);
		json_str_or_null(f, p->python);
		fputs(",\"start_unix_ns\":", f);
		u64_or_null(f, p->start_unix_ns);
		fputs(",\"end_unix_ns\":", f);
		u64_or_null(f, p->end_unix_ns);
		fprintf(f, ",\"stalls\":%u,\"stalled_ms\":%.3f,\"worst_ms\":%.3f}", ps->stalls,
			ms(ps->stalled_ns), ms(ps->worst_ns));
	}
	fputs("],\n", f);
}

static void print_group_obj(FILE *f, const struct report *r, const struct finding_group *g)
{
	const struct finding *fd = report__worst_finding(r, g);
	const struct rule *rule = g->rule;

	fputs("{\"rule\":", f);
	json_str(f, rule->id);
	fputs(",\"name\":", f);
	json_str_or_null(f, rule->name);
	fprintf(f, ",\"category\":\"%s\",\"severity\":\"%s\",\"call_site\":{\"file\":",
		rule_category_name(rule->category), rule_severity_name(rule->severity));
	json_str_or_null(f, g->file);
	if (g->line)
		fprintf(f, ",\"line\":%d", g->line);
	else
		fputs(",\"line\":null", f);
	fputs(",\"function\":", f);
	json_str_or_null(f, g->function);
	fputs(",\"code\":", f);
	json_str_or_null(f, g->code);
	fprintf(f, "},\"count\":%u,\"total_ms\":%.3f,\"worst_ms\":%.3f,\"worst_stall\":%u,"
		"\"evidence\":", g->count, ms(g->total_ns), ms(g->worst_ns), g->worst_stall);
	json_str_or_null(f, fd ? fd->evidence : NULL);
	fputs(",\"fix\":", f);
	json_str_or_null(f, rule->fix);
	fputc('}', f);
}

int report__json(FILE *f, const struct report *r)
{
	fprintf(f, "{\"type\":\"report\",\"schema_version\":%d,\"loopstall\":",
		LS_SCHEMA_VERSION);
	json_str_or_null(f, r->version);
	fputs(",\n", f);
	print_recording(f, r);
	print_window(f, r);
	print_summary_obj(f, r);
	print_processes(f, r);
	fputs("\"stalls\":[", f);
	for (uint32_t i = 0; i < r->n_stalls; i++) {
		fputs(i ? ",\n" : "\n", f);
		live_json__stall(f, r->stalls[i], r->rec->frames);
	}
	fputs("],\n\"findings\":[", f);
	for (uint32_t i = 0; i < r->sum.n_groups; i++) {
		fputs(i ? ",\n" : "\n", f);
		print_group_obj(f, r, &r->sum.groups[i]);
	}
	fputs("]", f);
	live_json__awaits(f, &r->sum);
	if (r->n_budgets)
		live_json__budgets(f, r->budgets, r->n_budgets);
	fputs("}\n", f);
	return ferror(f) ? -EIO : 0;
}
