// SPDX-License-Identifier: MIT
/* `loopstall report --format html`: one self-contained page (inline CSS,
 * SVG and a little JavaScript; nothing fetched) with the summary, a
 * timeline of the stalls, the findings and a flame graph of stall time.
 * Everything is drawn here, in C: the page shows all of it with scripts
 * off; the script only adds zoom to the flame graph. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fmt.h"
#include "jsonw.h"
#include "live.h"
#include "report.h"
#include "textcols.h"

#define TL_W		1100	/* timeline: SVG width */
#define TL_LABEL	150	/* its thread-name column */
#define TL_ROW		26
#define FG_W		1100	/* flame graph: SVG width */
#define FG_ROW		18
#define FG_MIN_SHARE	0.0005	/* frames narrower than this are left out */
#define MAX_STACK_SHOWN	16

/* One color per category (index CAT__N: no finding). */
static const char *const cat_colors[CAT__N + 1] = {
	[CAT_HTTP] = "#d9534f", [CAT_TIMEOUT] = "#b52b65", [CAT_SLEEP] = "#f0ad4e",
	[CAT_FILE] = "#8e6c3a", [CAT_SUBPROCESS] = "#6f42c1", [CAT_DNS] = "#e83e8c",
	[CAT_DB] = "#0d6efd", [CAT_CPU] = "#fd7e14", [CAT_LOCK] = "#20c997",
	[CAT_GIL] = "#198754", [CAT_GC] = "#6c757d", [CAT_CLIENT_PER_REQUEST] = "#0dcaf0",
	[CAT_IMPORT] = "#795548", [CAT_SEQUENTIAL_AWAIT] = "#6610f2", [CAT_OTHER] = "#adb5bd",
	[CAT__N] = "#9aa5b1",
};

static const char *cat_color(int cat)
{
	return cat >= 0 && cat < CAT__N ? cat_colors[cat] : cat_colors[CAT__N];
}

static const char *cat_name(int cat)
{
	return cat >= 0 && cat < CAT__N ? rule_category_name(cat) : "no finding";
}

/* Text for HTML content and attribute values. */
static void h(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* At most cols characters of s (UTF-8 aware), ".." when cut. */
static void h_cut(FILE *f, const char *s, int cols)
{
	char buf[1024];
	size_t i = 0;
	int n = 0;

	for (; s[i] && i < sizeof(buf) - 3; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && n++ == cols)
			break;
	}
	if (!s[i]) {
		h(f, s);
		return;
	}
	if (cols < 3)
		return;
	/* room for "..": back to a character boundary two characters earlier */
	for (int back = 0; i > 0 && back < 2; back++)
		while (i > 0 && ((unsigned char)s[--i] & 0xc0) == 0x80)
			;
	memcpy(buf, s, i);
	buf[i] = 0;
	h(f, buf);
	fputs("..", f);
}

static const char style[] =
"<style>\n"
":root{--fg:#1f2328;--mute:#59636e;--line:#d1d9e0;--bg:#fff;--soft:#f6f8fa}\n"
"*{box-sizing:border-box}\n"
"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);"
"background:var(--bg);margin:0 auto;max-width:1180px;padding:16px 20px 40px}\n"
"h1{font-size:22px;margin:4px 0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid "
"var(--line);padding-bottom:4px}h3{font-size:15px;margin:0 0 4px}\n"
".sub{color:var(--mute);margin:0}code,pre,.mono{font-family:ui-monospace,'SFMono-Regular',"
"Menlo,Consolas,monospace;font-size:12.5px}\n"
"pre{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:6px 10px;"
"margin:4px 0;white-space:pre-wrap;word-break:break-word}\n"
".cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}\n"
".card{border:1px solid var(--line);border-radius:8px;padding:8px 14px;min-width:110px}\n"
".card .v{font-size:20px;font-weight:600}.card .k{color:var(--mute);font-size:12px}\n"
"table{border-collapse:collapse}td,th{padding:3px 12px 3px 0;text-align:left;"
"vertical-align:top}th{color:var(--mute);font-weight:500}\n"
"td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
".sw{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:6px;"
"vertical-align:-1px}\n"
".catbar{display:flex;height:16px;border-radius:4px;overflow:hidden;margin:8px 0;"
"max-width:800px}\n"
".note{border-left:4px solid #d29922;background:#fff8c5;padding:6px 10px;margin:8px 0}\n"
".finding{border:1px solid var(--line);border-left:6px solid var(--c);border-radius:8px;"
"padding:10px 14px;margin:12px 0}\n"
".sev{font-size:12px;border-radius:10px;padding:1px 8px;color:#fff;margin:0 4px}\n"
".sev-error{background:#cf222e}.sev-warning{background:#bf8700}.sev-info{background:#0969da}\n"
".rule-id{font-family:ui-monospace,Menlo,Consolas,monospace}\n"
".stats,.site,.why{margin:2px 0}.why{color:var(--mute)}\n"
"ol.stack{list-style:none;padding:0;margin:4px 0;font-family:ui-monospace,Menlo,Consolas,"
"monospace;font-size:12.5px}ol.stack li{padding:1px 0}ol.stack .user{font-weight:600}\n"
"ol.stack .loc{color:var(--mute);margin-left:10px}\n"
"svg text{font:11px ui-monospace,Menlo,Consolas,monospace;pointer-events:none}\n"
"#timeline svg .bar{cursor:default}#timeline svg .bar:hover{stroke:#000;stroke-width:1}\n"
"#flame svg g.fr{cursor:pointer}#flame svg g.fr:hover rect{stroke:#000;stroke-width:.6}\n"
"#flame svg g.site rect{stroke:#cf222e;stroke-width:1.4}\n"
".legend span{margin-right:14px;white-space:nowrap}\n"
"footer{color:var(--mute);margin-top:30px;font-size:12px}\n"
"</style>\n";

/* Zoom on click: the clicked frame fills the width, its ancestors span
 * it, everything outside it hides; a click on the root resets. */
static const char script[] =
"<script>\n"
"(function(){\n"
"var fg=document.getElementById('fg');if(!fg)return;\n"
"var W=+fg.getAttribute('data-w'),nodes=fg.querySelectorAll('g.fr');\n"
"function fit(t,w){var n=Math.floor((w-6)/6.7);if(n<3)return '';"
"return t.length<=n?t:t.slice(0,n-2)+'..';}\n"
"function zoom(s,e,d){for(var i=0;i<nodes.length;i++){var g=nodes[i],"
"ns=+g.getAttribute('data-s'),ne=+g.getAttribute('data-e'),nd=+g.getAttribute('data-d');"
"var x,w;if(ne<=s||ns>=e){g.style.display='none';continue;}"
"if(nd<d){x=0;w=W;}else{x=(ns-s)/(e-s)*W;w=(ne-ns)/(e-s)*W;}"
"if(w<0.5){g.style.display='none';continue;}g.style.display='';"
"var r=g.querySelector('rect'),t=g.querySelector('text');r.setAttribute('x',x.toFixed(1));"
"r.setAttribute('width',Math.max(w-0.5,0.5).toFixed(1));if(t){t.setAttribute('x',(x+3).toFixed(1));"
"t.textContent=fit(g.getAttribute('data-n'),w);}}}\n"
"for(var i=0;i<nodes.length;i++)nodes[i].addEventListener('click',function(){"
"zoom(+this.getAttribute('data-s'),+this.getAttribute('data-e'),"
"+this.getAttribute('data-d'));});\n"
"})();\n"
"</script>\n";

static void html_head(FILE *f, const struct report *r)
{
	const struct recording_meta *m = &r->rec->meta;

	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>loopstall report: ", f);
	h(f, fmt_base(r->name));
	fputs("</title>\n", f);
	fputs(style, f);
	fputs("</head><body>\n<header><h1>loopstall report</h1><p class=\"sub\">", f);
	h(f, r->name);
	fputs(" &mdash; <code>", f);
	h(f, m->command ? m->command : "?");
	fprintf(f, "</code> (PID %u, Python ", m->pid);
	h(f, m->python ? m->python : "?");
	fputs(", host ", f);
	h(f, m->host ? m->host : "?");
	fputs(")</p></header>\n", f);
}

static void card(FILE *f, const char *k, const char *v, const char *id)
{
	fprintf(f, "<div class=\"card\"%s%s%s><div class=\"v\">", id ? " id=\"" : "",
		id ? id : "", id ? "\"" : "");
	h(f, v);
	fputs("</div><div class=\"k\">", f);
	h(f, k);
	fputs("</div></div>\n", f);
}

/* The processes (several) and the loops, rows of the summary's table. */
static void summary_loops(FILE *f, const struct report *r)
{
	char a[64], b[64];

	for (uint32_t i = 0; report__multi(r) && i < r->sum.n_procs; i++) {
		const struct proc_summary *p = &r->sum.procs[i];

		fputs(i ? "<tr><th></th><td>" : "<tr><th>processes</th><td>", f);
		fprintf(f, "PID %u <code>", p->pid);
		h(f, p->process);
		fprintf(f, "</code>: %u stall%s, %s, worst %s</td></tr>\n", p->stalls,
			p->stalls == 1 ? "" : "s", fmt_dur(p->stalled_ns, a, sizeof(a)),
			fmt_dur(p->worst_ns, b, sizeof(b)));
	}
	for (uint32_t i = 0; i < r->sum.n_loops; i++) {
		const struct loop_summary *t = &r->sum.loops[i];

		fputs(i ? "<tr><th></th><td>" : "<tr><th>loops</th><td>", f);
		h(f, t->thread);
		fprintf(f, "/%u", t->tid);
		if (report__multi(r))
			fprintf(f, " (PID %u)", t->pid);
		fprintf(f, ": %u stall%s, %s, worst %s</td></tr>\n", t->stalls,
			t->stalls == 1 ? "" : "s", fmt_dur(t->stalled_ns, a, sizeof(a)),
			fmt_dur(t->worst_ns, b, sizeof(b)));
	}
}

/* The stalled time by category: a bar and a table. */
static void summary_cats(FILE *f, const struct report *r)
{
	char a[64];

	fputs("<h3 style=\"margin-top:14px\">Stalled time by category</h3>\n<div class=\"catbar\">", f);
	for (uint32_t i = 0; i < r->sum.n_cats; i++)
		fprintf(f, "<div style=\"width:%.3f%%;background:%s\" title=\"%s\"></div>",
			r->sum.stalled_ns ? 100.0 * r->sum.cats[i].ns / r->sum.stalled_ns : 0.0,
			cat_color(r->sum.cats[i].category), cat_name(r->sum.cats[i].category));
	fputs("</div>\n<table class=\"cats\"><tr><th>category</th><th>stalls</th><th>time</th>"
	      "<th>share</th></tr>\n", f);
	for (uint32_t i = 0; i < r->sum.n_cats; i++) {
		const struct category_summary *c = &r->sum.cats[i];

		fprintf(f, "<tr><td><span class=\"sw\" style=\"background:%s\"></span>%s</td>"
			"<td class=\"n\">%u</td><td class=\"n\">%s</td><td class=\"n\">%.1f%%</td>"
			"</tr>\n", cat_color(c->category), cat_name(c->category), c->stalls,
			fmt_dur(c->ns, a, sizeof(a)),
			r->sum.stalled_ns ? 100.0 * c->ns / r->sum.stalled_ns : 0.0);
	}
	fputs("</table>\n<p class=\"sub\">Each stall counts once, under its most severe "
	      "finding.</p></section>\n", f);
}

static void html_summary(FILE *f, const struct report *r)
{
	const struct recording_meta *m = &r->rec->meta;
	uint32_t n_loops = r->sum.n_loops ? r->sum.n_loops : 1;
	char a[64], b[64], v[96];

	fputs("<section id=\"summary\"><h2>Summary</h2>\n<div class=\"cards\">\n", f);
	snprintf(v, sizeof(v), "%u", r->n_stalls);
	card(f, "stalls", v, "n-stalls");
	snprintf(v, sizeof(v), "%s", fmt_dur(r->sum.stalled_ns, a, sizeof(a)));
	snprintf(b, sizeof(b), "stalled (%.1f%%)",
		 r->span_ns ? 100.0 * r->sum.stalled_ns / ((double)r->span_ns * n_loops) : 0.0);
	card(f, b, v, NULL);
	card(f, "p50 stall", fmt_dur(r->sum.p50_ns, a, sizeof(a)), NULL);
	card(f, "p95 stall", fmt_dur(r->sum.p95_ns, a, sizeof(a)), NULL);
	card(f, "p99 stall", fmt_dur(r->sum.p99_ns, a, sizeof(a)), NULL);
	card(f, "worst stall", fmt_dur(r->sum.max_ns, a, sizeof(a)), NULL);
	snprintf(v, sizeof(v), "%u", r->sum.n_groups);
	card(f, "findings", v, "n-findings");
	fputs("</div>\n", f);
	if (r->rec->truncated)
		fprintf(f, "<p class=\"note\" id=\"truncated\">Recording cut short after %u "
			"stall%s: the recorder was killed or the disk was full.</p>\n",
			r->rec->n_stalls, r->rec->n_stalls == 1 ? "" : "s");
	fputs("<table class=\"meta\">\n<tr><th>recorded</th><td>", f);
	h(f, fmt_time(m->start_unix_ns, a, sizeof(a)));
	fputs(" to ", f);
	h(f, fmt_time(report__recording_end(r->rec), a, sizeof(a)));
	fprintf(f, " (%s)", fmt_dur(report__recording_end(r->rec) - m->start_unix_ns, b,
				    sizeof(b)));
	fputs(m->ended_by ? ", ended by " : "", f);
	h(f, m->ended_by ? m->ended_by : "");
	fprintf(f, "</td></tr>\n<tr><th>threshold</th><td>%s</td></tr>\n",
		fmt_dur(m->threshold_ns, a, sizeof(a)));
	if (r->filter.since_unix_ns || r->filter.until_unix_ns) {
		fputs("<tr><th>window</th><td>", f);
		h(f, fmt_time(r->from_unix_ns, a, sizeof(a)));
		fputs(" to ", f);
		h(f, fmt_time(r->to_unix_ns, a, sizeof(a)));
		fputs("</td></tr>\n", f);
	}
	if (r->filter.min_duration_ns)
		fprintf(f, "<tr><th>min duration</th><td>%s</td></tr>\n",
			fmt_dur(r->filter.min_duration_ns, a, sizeof(a)));
	fprintf(f, "<tr><th>stalls recorded</th><td>%u</td></tr>\n", r->rec->n_stalls);
	fprintf(f, "<tr><th>lost</th><td>%" PRIu64 " stalls, %" PRIu64 " samples</td></tr>\n",
		m->lost_stalls, m->lost_samples);
	summary_loops(f, r);
	fputs("</table>\n", f);
	if (!r->sum.n_cats) {
		fputs("</section>\n", f);
		return;
	}
	summary_cats(f, r);
}

/* ---- loop lag --------------------------------------------------------- */

/* The busy intervals of every loop (the whole recording): their
 * percentiles, and their histogram as bars, heights on a log scale (a
 * healthy loop's sub-millisecond intervals outnumber its stalls by
 * thousands), the threshold drawn across. */
static void print_lag(FILE *f, const struct report *r)
{
	const struct lag *l = &r->sum.lag;
	const int bw = 22, hmax = 120, top = 8, n = LS_BUSY_BUCKETS;
	double scale = 0;
	char a[32], b[32];

	if (!l->count)
		return;
	for (int i = 0; i < n; i++)
		if (l->hist[i] && log10(l->hist[i] + 1.0) > scale)
			scale = log10(l->hist[i] + 1.0);
	fprintf(f, "<section id=\"lag\"><h2>Loop lag</h2>\n<p class=\"sub\">Every busy "
		"interval of the loops (each run between two waits for events, stall or "
		"not): %" PRIu64 " in all; p50 %s, ", l->count,
		fmt_dur(lag__quantile(l, 0.5), a, sizeof(a)));
	fprintf(f, "p90 %s, ", fmt_dur(lag__quantile(l, 0.9), a, sizeof(a)));
	fprintf(f, "p99 %s, max %s. Bars on a log scale.</p>\n",
		fmt_dur(lag__quantile(l, 0.99), a, sizeof(a)), fmt_dur(l->max_ns, b, sizeof(b)));
	fprintf(f, "<svg id=\"lagbars\" viewBox=\"0 0 %d %d\" width=\"%d\" "
		"xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"loop lag\">\n",
		n * bw, hmax + top + 30, n * bw);
	for (int i = 0; i < n; i++) {
		uint64_t lo, hi;
		double hgt = l->hist[i] ? hmax * log10(l->hist[i] + 1.0) / scale : 0;
		bool stall = i && ls_busy_bound_ns(i - 1) >= r->rec->meta.threshold_ns;

		lag__bounds(i, &lo, &hi);
		fprintf(f, "<rect class=\"bar\" x=\"%d\" y=\"%.1f\" width=\"%d\" "
			"height=\"%.1f\" fill=\"%s\"><title>%s", i * bw + 1, top + hmax - hgt,
			bw - 2, hgt, stall ? "#cf222e" : "#8c959f", fmt_dur(lo, a, sizeof(a)));
		if (hi == UINT64_MAX)
			fputs(" and longer", f);
		else
			fprintf(f, " to %s", fmt_dur(hi, b, sizeof(b)));
		fprintf(f, ": %" PRIu64 "</title></rect>\n", l->hist[i]);
		if (i % 4 == 0)
			fprintf(f, "<text x=\"%d\" y=\"%d\">%s</text>\n", i * bw + 1,
				top + hmax + 16, fmt_dur(lo, a, sizeof(a)));
	}
	fputs("</svg>\n<div class=\"legend sub\">red: at or past the threshold "
	      "(stalls)</div></section>\n", f);
}

/* ---- timeline -------------------------------------------------------- */

/* A row of the timeline: a loop (loop: its index in r->sum.loops), or, in
 * a recording of several processes, a process's heading (loop -1) above
 * its loops. */
struct tl_row {
	int loop;
	uint32_t pid;
};

/* The rows, processes by stalled time, each's loops by theirs. How many
 * (into *out, freed by the caller), or -ENOMEM. */
static int tl_rows(const struct report *r, struct tl_row **out)
{
	bool multi = report__multi(r);
	uint32_t n = 0, np = multi ? r->sum.n_procs : 1;

	*out = calloc(r->sum.n_loops + r->sum.n_procs + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (uint32_t p = 0; p < np; p++) {
		uint32_t pid = multi ? r->sum.procs[p].pid : 0;

		if (multi)
			(*out)[n++] = (struct tl_row){ .loop = -1, .pid = pid };
		for (uint32_t i = 0; i < r->sum.n_loops; i++)
			if (!multi || r->sum.loops[i].pid == pid)
				(*out)[n++] = (struct tl_row){ .loop = i, .pid = r->sum.loops[i].pid };
	}
	return n;
}

static int thread_row(const struct report *r, const struct tl_row *rows, int n,
		      const struct stall *st)
{
	for (int i = 0; i < n; i++)
		if (rows[i].loop >= 0 && r->sum.loops[rows[i].loop].tid == st->tid &&
		    rows[i].pid == st->pid)
			return i;
	return 0;
}

/* A row's label: "thread/tid", or "PID n title" for a process. */
static void row_label(FILE *f, const struct report *r, const struct tl_row *row, int y)
{
	char who[PYTHREAD_NAME_MAX + PROC_TITLE_MAX + 24];

	if (row->loop >= 0) {
		const struct loop_summary *t = &r->sum.loops[row->loop];

		snprintf(who, sizeof(who), "%s/%u", t->thread, t->tid);
		fprintf(f, "<text x=\"%d\" y=\"%d\">", report__multi(r) ? 8 : 0, y + 15);
		h_cut(f, who, report__multi(r) ? 19 : 20);
	} else {
		const struct proc_summary *ps = summary__proc(&r->sum, row->pid);

		snprintf(who, sizeof(who), "PID %u %s", row->pid, ps->process);
		/* a heading row has no bar: its label runs over the plot */
		fprintf(f, "<text class=\"proc\" x=\"0\" y=\"%d\" font-weight=\"bold\">",
			y + 15);
		h_cut(f, who, 90);
		fputs("<title>", f);
		h(f, who);
		fputs("</title>", f);
	}
	fputs("</text>\n", f);
}

/* "+10 s", "+500 ms", "+2 min", "+1 h" */
static const char *fmt_tick(uint64_t ns, char *buf, size_t len)
{
	if (ns >= 3600000000000ULL && ns % 3600000000000ULL == 0)
		snprintf(buf, len, "+%" PRIu64 " h", (uint64_t)(ns / 3600000000000ULL));
	else if (ns >= 60000000000ULL && ns % 60000000000ULL == 0)
		snprintf(buf, len, "+%" PRIu64 " min", (uint64_t)(ns / 60000000000ULL));
	else if (ns >= 1000000000ULL || !ns)
		snprintf(buf, len, "+%g s", ns / 1e9);
	else
		snprintf(buf, len, "+%g ms", ns / 1e6);
	return buf;
}

/* A round step for about n ticks over span ns. */
static uint64_t tick_step(uint64_t span, int n)
{
	static const uint64_t steps[] = {
		1000000ULL, 2000000ULL, 5000000ULL, 10000000ULL, 20000000ULL, 50000000ULL,
		100000000ULL, 200000000ULL, 500000000ULL, 1000000000ULL, 2000000000ULL,
		5000000000ULL, 10000000000ULL, 15000000000ULL, 30000000000ULL, 60000000000ULL,
		120000000000ULL, 300000000000ULL, 600000000000ULL, 900000000000ULL,
		1800000000000ULL, 3600000000000ULL, 7200000000000ULL, 21600000000000ULL,
		43200000000000ULL, 86400000000000ULL,
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (span / steps[i] <= (uint64_t)n)
			return steps[i];
	return span / n + 1;
}

/* Stall i's bar in the timeline, in the row at y. */
static void timeline_bar(FILE *f, const struct report *r, uint32_t i, int y)
{
	const double plot = TL_W - TL_LABEL - 10;
	const struct stall *st = r->stalls[i];
	const struct finding *p = stall__primary(st);
	const struct frame *top = stall__top_frame(st, r->rec->frames);
	uint64_t span = r->span_ns ? r->span_ns : 1;
	uint64_t off = st->start_unix_ns > r->from_unix_ns ? st->start_unix_ns - r->from_unix_ns : 0;
	double x = TL_LABEL + off / (double)span * plot;
	double w = st->duration_ns / (double)span * plot;
	char label[512], d[32], clk[16];

	if (w < 2)
		w = 2;
	if (x + w > TL_W)
		w = TL_W - x;
	fprintf(f, "<rect class=\"bar\" data-i=\"%u\" x=\"%.2f\" y=\"%d\" width=\"%.2f\" "
		"height=\"%d\" fill=\"%s\"><title>", i, x, y + 1, w, TL_ROW - 6,
		cat_color(p ? (int)p->rule->category : -1));
	fprintf(f, "%s ", fmt_clock(st->start_unix_ns, clk, sizeof(clk)));
	if (report__multi(r)) {
		fprintf(f, "PID %u ", st->pid);
		h(f, st->process);
		fputs(", ", f);
	}
	h(f, st->thread);
	fprintf(f, "/%u: stall %s", st->tid, fmt_dur(st->duration_ns, d, sizeof(d)));
	if (st->task_id) {
		fputs("\nin task ", f);
		h(f, st->task);
	}
	if (p) {
		fputs("\n", f);
		h(f, p->rule->id);
		fprintf(f, " %s: ", rule_category_name(p->rule->category));
		h(f, p->rule->name);
	}
	if (top) {
		fputs("\nat ", f);
		h(f, fmt_frame_label(top, label, sizeof(label)));
	}
	fputs("</title></rect>\n", f);
}

static void print_timeline(FILE *f, const struct report *r)
{
	const double plot = TL_W - TL_LABEL - 10;
	struct tl_row *row;
	int n_rows = tl_rows(r, &row);
	uint32_t rows = n_rows > 0 ? n_rows : 1;
	int height = 24 + rows * TL_ROW + 6;
	uint64_t span = r->span_ns ? r->span_ns : 1, step = tick_step(span, 8);
	char a[64];

	if (n_rows < 0)
		return;
	fputs("<section id=\"timeline\"><h2>Timeline of stalls</h2>\n", f);
	fprintf(f, "<p class=\"sub\">Each bar is a stall: where it starts, as long as it "
		"lasts (at least 2 px), colored by category. Hover for details. From ");
	h(f, fmt_time(r->from_unix_ns, a, sizeof(a)));
	fprintf(f, ", %s.</p>\n", fmt_dur(r->span_ns, a, sizeof(a)));
	fprintf(f, "<svg id=\"tl\" viewBox=\"0 0 %d %d\" width=\"100%%\" "
		"xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"timeline\">\n",
		TL_W, height);
	for (uint64_t t = 0; t <= span; t += step) {
		double x = TL_LABEL + t / (double)span * plot;

		fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"16\" y2=\"%d\" stroke=\"#e5e9ee\"/>"
			"<text x=\"%.1f\" y=\"11\" fill=\"#59636e\" text-anchor=\"%s\">%s</text>\n",
			x, x, height - 4, x, !t ? "start" : x > TL_W - 40 ? "end" : "middle",
			fmt_tick(t, a, sizeof(a)));
		if (t + step < t)
			break;
	}
	for (uint32_t i = 0; i < rows; i++) {
		int y = 20 + i * TL_ROW;

		if (n_rows && row[i].loop < 0) {	/* a process's heading */
			row_label(f, r, &row[i], y);
			continue;
		}
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%d\" fill=\"#f6f8fa\"/>\n",
			TL_LABEL, y, plot, TL_ROW - 4);
		if (n_rows)
			row_label(f, r, &row[i], y);
	}
	for (uint32_t i = 0; i < r->n_stalls; i++)
		timeline_bar(f, r, i, 20 + thread_row(r, row, n_rows, r->stalls[i]) * TL_ROW);
	free(row);
	fputs("</svg>\n<div class=\"legend sub\">", f);
	for (uint32_t i = 0; i < r->sum.n_cats; i++)
		fprintf(f, "<span><span class=\"sw\" style=\"background:%s\"></span>%s</span>",
			cat_color(r->sum.cats[i].category), cat_name(r->sum.cats[i].category));
	fputs("</div></section>\n", f);
}

/* ---- findings -------------------------------------------------------- */

static void print_stack(FILE *f, const struct report *r, const struct finding_group *g)
{
	const struct frames *frames = r->rec->frames;
	const struct stall *worst = report__worst(r, g);
	const struct stack_count *sc = report__worst_stack(r, g);
	struct stack_line lines[LS_MAX_STACK];
	char d[32], clk[16];
	int n;

	if (!sc || !frames)
		return;
	n = stack__lines(sc, frames, false, MAX_STACK_SHOWN, lines);
	fprintf(f, "<details open><summary>stack of the worst stall (%s at %s), innermost "
		"first</summary>\n<ol class=\"stack\">\n",
		fmt_dur(worst->duration_ns, d, sizeof(d)),
		fmt_clock(worst->start_unix_ns, clk, sizeof(clk)));
	for (int i = 0; i < n; i++) {
		const struct frame *fr = frames__get(frames, sc->frames[lines[i].idx]);
		char loc[320], mod[256];

		if (lines[i].elided) {
			fprintf(f, "<li class=\"loc\">&hellip; %u more</li>\n", lines[i].elided);
			continue;
		}
		if (!fr)
			continue;
		fprintf(f, "<li%s>", fr->kind == FRAME_PYTHON && fr->user ? " class=\"user\"" : "");
		h(f, fr->function ? fr->function : "?");
		if (lines[i].reps > 1)
			fprintf(f, " &times;%u", lines[i].reps);
		if (fr->kind == FRAME_PYTHON)
			snprintf(loc, sizeof(loc), "%s:%d", fr->file ? fr->file : "?", fr->line);
		else
			snprintf(loc, sizeof(loc), "[%s]",
				 fmt_module(fr->module, mod, sizeof(mod)));
		fputs("<span class=\"loc\">", f);
		h(f, loc);
		fputs("</span></li>\n", f);
	}
	fputs("</ol></details>\n", f);
}

static void print_findings(FILE *f, const struct report *r)
{
	char a[32], b[32];

	fputs("<section id=\"findings\"><h2>Findings</h2>\n", f);
	if (!r->sum.n_groups)
		fputs("<p>No findings: no rule matched these stalls. <code>loopstall rules "
		      "list</code> shows the rules in effect; <code>--rules +FILE</code> adds "
		      "your own.</p>\n", f);
	else
		fputs("<p class=\"sub\">By rule and call site, worst (total stall time) "
		      "first.</p>\n", f);
	for (uint32_t i = 0; i < r->sum.n_groups; i++) {
		const struct finding_group *g = &r->sum.groups[i];
		const struct finding *fd = report__worst_finding(r, g);
		const struct rule *rule = g->rule;
		const char *sev = rule_severity_name(rule->severity);

		fprintf(f, "<article class=\"finding\" id=\"finding-%u\" style=\"--c:%s\">\n"
			"<h3><span class=\"rule-id\">", i + 1, cat_color(rule->category));
		h(f, rule->id);
		fprintf(f, "</span><span class=\"sev sev-%s\">%s</span><span class=\"cat\">%s"
			"</span> &middot; ", sev, sev, rule_category_name(rule->category));
		h(f, rule->name);
		fprintf(f, "</h3>\n<p class=\"stats\">%u stall%s, %s in total (%.0f%% of the "
			"stalled time), worst %s</p>\n",
			g->count, g->count == 1 ? "" : "s", fmt_dur(g->total_ns, a, sizeof(a)),
			r->sum.stalled_ns ? 100.0 * g->total_ns / r->sum.stalled_ns : 0,
			fmt_dur(g->worst_ns, b, sizeof(b)));
		if (g->file) {
			fputs("<p class=\"site\">at <code>", f);
			h(f, g->file);
			fprintf(f, ":%d</code> in <code>", g->line);
			h(f, g->function ? g->function : "?");
			fputs("</code></p>\n", f);
			if (g->code) {
				fputs("<pre class=\"code\">", f);
				h(f, g->code);
				fputs("</pre>\n", f);
			}
		}
		if (fd && fd->loop_file) {	/* a GIL wait: the loop's side too */
			fputs("<p class=\"site\">the loop waited at <code>", f);
			h(f, fd->loop_file);
			fprintf(f, ":%d</code> in <code>", fd->loop_line);
			h(f, fd->loop_function ? fd->loop_function : "?");
			fputs("</code></p>\n", f);
		}
		if (fd && fd->evidence[0]) {
			fputs("<p class=\"why\">why: ", f);
			h(f, fd->evidence);
			fputs("</p>\n", f);
		}
		print_stack(f, r, g);
		if (rule->fix) {
			fputs("<div class=\"fix\"><b>Fix</b><pre>", f);
			h(f, rule->fix);
			fputs("</pre></div>\n", f);
		}
		fputs("</article>\n", f);
	}
	fputs("</section>\n", f);
}

/* ---- the tasks' waits ------------------------------------------------- */

/* The waits of a sequential-await finding as a picture: each in turn, one
 * after the other on one row, and on the row below the longest alone (what
 * running them together would take). */
static void await_bars(FILE *f, const struct await_finding *g)
{
	const int w = 640, x0 = 70;
	double scale = g->turn_ns ? (double)(w - x0 - 10) / g->turn_ns : 0;
	double x = x0;
	char a[32];

	fprintf(f, "<svg width=\"%d\" height=\"48\" role=\"img\">"
		"<text x=\"0\" y=\"15\">in turn</text><text x=\"0\" y=\"37\">together"
		"</text>\n", w);
	for (int i = 0; i < g->n; i++) {
		double bw = g->ns[i] * scale;

		fprintf(f, "<rect x=\"%.1f\" y=\"3\" width=\"%.1f\" height=\"16\" "
			"fill=\"%s\" stroke=\"#fff\"><title>line %d: %s</title></rect>",
			x, bw, i % 2 ? "#8c6bd6" : "#b197fc", g->lines[i],
			fmt_dur(g->ns[i], a, sizeof(a)));
		if (bw > 60)
			fprintf(f, "<text x=\"%.1f\" y=\"15\">:%d %s</text>", x + 3, g->lines[i], a);
		x += bw;
	}
	fprintf(f, "\n<rect x=\"%d\" y=\"25\" width=\"%.1f\" height=\"16\" fill=\"#1a7f37\">"
		"<title>together: %s</title></rect></svg>\n", x0, g->together_ns * scale,
		fmt_dur(g->together_ns, a, sizeof(a)));
}

static void print_await_finding(FILE *f, const struct report *r, const struct await_finding *g,
				uint32_t i)
{
	const struct frame *fr = frames__get(r->sum.aw_frames, g->frame);
	const char *sev = rule_severity_name(g->rule->severity);
	char a[32], b[32], c[32];

	fprintf(f, "<article class=\"finding\" id=\"await-%u\" style=\"--c:%s\">\n"
		"<h3><span class=\"rule-id\">", i + 1, cat_color(g->rule->category));
	h(f, g->rule->id);
	fprintf(f, "</span><span class=\"sev sev-%s\">%s</span><span class=\"cat\">%s"
		"</span> &middot; ", sev, sev, rule_category_name(g->rule->category));
	h(f, g->rule->name);
	fprintf(f, "</h3>\n<p class=\"stats\">%u call%s, %s a call in turn; together ~%s, "
		"saving ~%s a call</p>\n", g->calls, g->calls == 1 ? "" : "s",
		fmt_dur(g->turn_ns, a, sizeof(a)), fmt_dur(g->together_ns, b, sizeof(b)),
		fmt_dur(g->turn_ns - g->together_ns, c, sizeof(c)));
	fputs("<p class=\"site\">at <code>", f);
	h(f, fr && fr->file ? fr->file : "?");
	fprintf(f, ":%d-%d</code> in <code>", g->lines[0], g->lines[g->n - 1]);
	h(f, fr && fr->function ? fr->function : "?");
	fputs("</code></p>\n", f);
	await_bars(f, g);
	fputs("<p class=\"why\">why: ", f);
	h(f, g->evidence);
	fputs("</p>\n", f);
	if (g->rule->fix) {
		fputs("<div class=\"fix\"><b>Fix</b><pre>", f);
		h(f, g->rule->fix);
		fputs("</pre></div>\n", f);
	}
	fputs("</article>\n", f);
}

static void print_awaits(FILE *f, const struct report *r)
{
	const struct awaits *a = &r->sum.aw;
	char t[32], p[32];

	if (!a->n_sites && !a->n_findings)
		return;
	fputs("<section id=\"awaits\"><h2>The tasks' waits</h2>\n<p class=\"sub\">Where the "
	      "user's coroutines waited (the whole recording), and awaits run one after "
	      "another that could run together. They add latency; they do not stall the "
	      "loop.</p>\n", f);
	for (uint32_t i = 0; i < a->n_findings; i++)
		print_await_finding(f, r, &a->findings[i], i);
	fputs("<h3>Slowest awaits</h3>\n<table><tr><th>count</th><th>total</th><th>p99</th>"
	      "<th>where</th></tr>\n", f);
	for (uint32_t i = 0; i < a->n_sites && i < 20; i++) {
		const struct await_site *w = &a->sites[i];
		const struct frame *fr = frames__get(r->sum.aw_frames, w->frame);

		fprintf(f, "<tr><td class=\"n\">%u</td><td class=\"n\">%s</td><td class=\"n\">"
			"%s</td><td><code>", w->count, fmt_dur(w->total_ns, t, sizeof(t)),
			fmt_dur(awaits__quantile(w, 0.99), p, sizeof(p)));
		h(f, fr && fr->file ? fmt_base(fr->file) : "?");
		fprintf(f, ":%d</code> in <code>", fr ? fr->line : 0);
		h(f, fr && fr->function ? fr->function : "?");
		fputs("</code></td></tr>\n", f);
	}
	fputs("</table></section>\n", f);
}

/* ---- flame graph ----------------------------------------------------- */

struct fg_node {
	const char *label;
	const struct frame *fr;
	uint64_t s, e;
	int depth;
};

struct fg {
	struct fg_node *v;
	size_t n, cap;
	int max_depth;
	uint64_t total;
};

static int fg_add(struct fg *g, const char *label, const struct frame *fr, uint64_t s,
		  uint64_t e, int depth)
{
	if ((double)(e - s) < FG_MIN_SHARE * g->total)
		return 0;
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 256;
		struct fg_node *v = realloc(g->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		g->v = v;
		g->cap = cap;
	}
	g->v[g->n++] = (struct fg_node){ label, fr, s, e, depth };
	if (depth > g->max_depth)
		g->max_depth = depth;
	return 0;
}

/* flamegraph.pl's merge: over stacks sorted frame by frame, a frame stays
 * open while the next stack shares it and everything outside it. */
static int fg_build(struct fg *g, const struct flat_stacks *s)
{
	struct { const char *label; const struct frame *fr; uint64_t start; } open[LS_MAX_STACK + 1];
	uint32_t depth = 0;
	uint64_t x = 0;

	g->total = s->total_ns;
	for (uint32_t i = 0; i < s->n; i++) {
		const struct flat_stack *fs = &s->v[i];
		uint32_t common = 0, n = fs->n < LS_MAX_STACK ? fs->n : LS_MAX_STACK;

		while (common < depth && common < n && !strcmp(open[common].label, fs->labels[common]))
			common++;
		while (depth > common) {
			depth--;
			if (fg_add(g, open[depth].label, open[depth].fr, open[depth].start, x, depth + 1))
				return -ENOMEM;
		}
		for (; depth < n; depth++) {
			open[depth].label = fs->labels[depth];
			open[depth].fr = fs->frames[depth];
			open[depth].start = x;
		}
		x += fs->ns;
	}
	while (depth > 0) {
		depth--;
		if (fg_add(g, open[depth].label, open[depth].fr, open[depth].start, x, depth + 1))
			return -ENOMEM;
	}
	return fg_add(g, "all stall time", NULL, 0, x, 0);
}

/* Colors vary a little by name, the same name the same color. */
static const char *fg_color(const struct frame *fr, const char *label)
{
	uint32_t salt = 2166136261u;

	for (; *label; label++)
		salt = (salt ^ (unsigned char)*label) * 16777619u;
	static const char *const user[] = { "#f4a259", "#f59e4c", "#f2b06b" };
	static const char *const lib[] = { "#f6d186", "#f3cd7a", "#f7da96" };
	static const char *const native[] = { "#a9c6e3", "#9fbfdf", "#b3cde8" };

	if (!fr)
		return "#c9d1d9";
	if (fr->kind == FRAME_PYTHON)
		return fr->user ? user[salt % 3] : lib[salt % 3];
	return native[salt % 3];
}

static bool is_site(const struct report *r, const struct frame *fr)
{
	if (!fr || fr->kind != FRAME_PYTHON || !fr->file)
		return false;
	for (uint32_t i = 0; i < r->sum.n_groups; i++)
		if (r->sum.groups[i].file && r->sum.groups[i].line == fr->line &&
		    !strcmp(r->sum.groups[i].file, fr->file))
			return true;
	return false;
}

static void print_flame(FILE *f, const struct report *r)
{
	struct flat_stacks s;
	struct fg g = {};
	int height;

	fputs("<section id=\"flame\"><h2>Flame graph of stall time</h2>\n", f);
	if (report__flat_stacks(r, &s) || fg_build(&g, &s)) {
		fputs("<p>Out of memory drawing the flame graph.</p></section>\n", f);
		free(g.v);
		flat_stacks__free(&s);
		return;
	}
	if (!s.total_ns) {
		fputs("<p>No sampled stacks.</p></section>\n", f);
		free(g.v);
		flat_stacks__free(&s);
		return;
	}
	fputs("<p class=\"sub\">Where the stalled time went, outermost frame at the top, "
	      "each frame as wide as the time under it. Orange: your code; yellow: "
	      "libraries; blue: native code; red outline: a finding's call site. "
	      "Click a frame to zoom, the top bar to reset.</p>\n", f);
	height = (g.max_depth + 1) * FG_ROW + 4;
	fprintf(f, "<svg id=\"fg\" data-w=\"%d\" viewBox=\"0 0 %d %d\" width=\"100%%\" "
		"xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"flame graph\">\n",
		FG_W, FG_W, height);
	for (size_t i = 0; i < g.n; i++) {
		const struct fg_node *n = &g.v[i];
		double x = n->s / (double)g.total * FG_W, w = (n->e - n->s) / (double)g.total * FG_W;
		int chars = (int)((w - 6) / 6.7);
		char d[32];

		fprintf(f, "<g class=\"fr%s\" data-s=\"%" PRIu64 "\" data-e=\"%" PRIu64 "\" "
			"data-d=\"%d\" data-n=\"", is_site(r, n->fr) ? " site" : "", n->s, n->e,
			n->depth);
		h(f, n->label);
		fputs("\"><title>", f);
		h(f, n->label);
		fprintf(f, "\n%s, %.1f%% of stall time</title><rect x=\"%.1f\" y=\"%d\" "
			"width=\"%.1f\" height=\"%d\" rx=\"2\" fill=\"%s\"/>",
			fmt_dur(n->e - n->s, d, sizeof(d)), 100.0 * (n->e - n->s) / g.total, x,
			n->depth * FG_ROW, w > 1 ? w - 0.5 : 0.5, FG_ROW - 1,
			fg_color(n->fr, n->label));
		fprintf(f, "<text x=\"%.1f\" y=\"%d\">", x + 3, n->depth * FG_ROW + 12);
		if (chars >= 3)
			h_cut(f, n->label, chars);
		fputs("</text></g>\n", f);
	}
	fputs("</svg></section>\n", f);
	free(g.v);
	flat_stacks__free(&s);
}

int report__html(FILE *f, const struct report *r)
{
	html_head(f, r);
	html_summary(f, r);
	print_lag(f, r);
	print_timeline(f, r);
	print_findings(f, r);
	print_awaits(f, r);
	print_flame(f, r);
	fputs("<footer>Generated by loopstall", f);
	if (r->version) {
		fputc(' ', f);
		h(f, r->version);
	}
	fputs(" from ", f);
	h(f, r->name);
	fputs(". Self-contained: this page loads nothing from the network.</footer>\n", f);
	fputs(script, f);
	fputs("</body></html>\n", f);
	return ferror(f) ? -EIO : 0;
}
