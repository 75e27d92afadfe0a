#include <inttypes.h>
#include <string.h>
#include <time.h>
#include "output.h"
#include "report.h"
#include "rule.h"
#include "textcols.h"
#include "syscalls.h"

const char *fmt_dur(uint64_t ns, char *buf, size_t len)
{
	if (ns >= 9995000000ULL)	/* what rounds to 10.0 s */
		snprintf(buf, len, "%.1f s", ns / 1e9);
	else if (ns >= 999950000ULL)	/* what rounds to 1.00 s */
		snprintf(buf, len, "%.2f s", ns / 1e9);
	else
		snprintf(buf, len, "%.1f ms", ns / 1e6);
	return buf;
}

const char *fmt_clock(uint64_t unix_ns, char *buf, size_t len)
{
	time_t secs = unix_ns / 1000000000ULL;
	struct tm tm;

	localtime_r(&secs, &tm);
	snprintf(buf, len, "%02d:%02d:%02d.%03u", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned int)(unix_ns % 1000000000ULL / 1000000));
	return buf;
}

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* "name/tid" in at most width columns: the name gives way, the TID never. */
static const char *fmt_who(const char *thread, uint32_t tid, char *buf, size_t len,
			   int width)
{
	char t[16];
	int n = snprintf(t, sizeof(t), "/%u", tid);
	int room = width - n;

	snprintf(buf, len, "%.*s%s", room > 0 ? room : 0, thread, t);
	return buf;
}

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

void json_str_or_null(FILE *f, const char *s)
{
	if (s)
		json_str(f, s);
	else
		fputs("null", f);
}

static void json_finding(FILE *f, const struct stall_finding *fd)
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
	fprintf(f, "},\"share\":%.3f,\"evidence\":", fd->share);
	json_str(f, fd->evidence);
	fputs(",\"fix\":", f);
	json_str_or_null(f, r->fix);
	fputs(",\"lint\":[", f);
	for (int i = 0; i < r->n_lints; i++) {
		if (i)
			fputc(',', f);
		json_str(f, r->lints[i]);
	}
	fputs("]}", f);
}

static void print_stall_json(FILE *f, const struct stall *s, const struct frames *frames)
{
	const struct stall_finding *p;
	char nrbuf[32];

	fprintf(f, "{\"type\":\"stall\",\"schema_version\":%d,\"pid\":%u,\"tid\":%u,\"thread\":",
		LS_SCHEMA_VERSION, s->pid, s->tid);
	json_str(f, s->thread);
	fprintf(f, ",\"start_unix_ns\":%" PRIu64 ",\"duration_ms\":%.3f,\"on_cpu_ms\":%.3f,"
		"\"off_cpu_ms\":%.3f,\"ongoing\":%s,",
		s->start_unix_ns, ms(s->duration_ns), ms(s->on_cpu_ns), ms(s->off_cpu_ns),
		s->ongoing ? "true" : "false");
	fputs(s->ongoing ? "\"in_syscall\":" : "\"ended_by\":", f);
	if (s->end_nr >= 0 || s->end_nr == LS_WAIT_RUNQ || s->end_nr == LS_WAIT_OTHER)
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
		if (sc->nr >= 0 || sc->nr == LS_WAIT_RUNQ || sc->nr == LS_WAIT_OTHER)
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
		fprintf(f, "\"gil_holder\":{\"tid\":%u,\"thread\":", s->gil_tid);
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
		fputs("]},", f);
	}
	p = report__primary(s);
	fprintf(f, "\"category\":\"%s\",\"findings\":[",
		rule_category_name(p ? p->rule->category : CAT_OTHER));
	for (uint32_t i = 0; i < s->n_findings; i++) {
		if (i)
			fputc(',', f);
		json_finding(f, &s->findings[i]);
	}
	fputs("]}\n", f);
}

int stack__trim(const struct stack_count *sc, const struct frames *frames,
		uint32_t *idx, int max)
{
	int first_py = -1, inner_user = -1, n = 0;

	for (uint32_t j = 0; j < sc->n_frames; j++) {
		const struct frame *fr = frames__get(frames, sc->frames[j]);

		if (!fr || fr->kind != FRAME_PYTHON)
			continue;
		if (first_py < 0)
			first_py = j;
		if (fr->user && inner_user < 0)
			inner_user = j;
	}
	for (uint32_t j = 0; j < sc->n_frames && n < max; j++) {
		const struct frame *fr = frames__get(frames, sc->frames[j]);

		if (!fr)
			continue;
		if (first_py < 0) {		/* native only: the innermost few */
			if (!fr->interp && !fr->eval && n < 8)
				idx[n++] = j;
			continue;
		}
		if ((int)j < first_py) {	/* what the C code was doing */
			if (!fr->interp && !fr->eval)
				idx[n++] = j;
		} else if (inner_user < 0 || (int)j <= inner_user) {
			/* down to the blocking call: library and user frames */
			if (fr->kind == FRAME_PYTHON ||
			    (!fr->interp && !fr->eval && fr->function))
				idx[n++] = j;
		} else if (fr->kind == FRAME_PYTHON && fr->user) {
			idx[n++] = j;		/* outer user code only */
		}
	}
	return n;
}

void print_frame_line(FILE *f, const struct frame *fr, int indent, int fn_width,
		      int where_width)
{
	char fn[256], where[320], mod[288];

	if (fr->function)
		snprintf(fn, sizeof(fn), "%s", fr->function);
	else if (fr->addr)
		snprintf(fn, sizeof(fn), "0x%" PRIx64, fr->addr);
	else
		snprintf(fn, sizeof(fn), "?");
	if (fr->kind == FRAME_PYTHON && fr->line)
		snprintf(where, sizeof(where), "%s:%d", report__base(fr->file), fr->line);
	else if (fr->kind == FRAME_PYTHON)
		snprintf(where, sizeof(where), "%s", report__base(fr->file));
	else
		snprintf(where, sizeof(where), "[%s]",
			 report__module_name(fr->module, mod, sizeof(mod)));
	fprintf(f, "%*s%c ", indent, "", fr->kind == FRAME_PYTHON && fr->user ? '>' : ' ');
	cols_put(f, fn, fn_width, false, true);
	fputc(' ', f);
	cols_put(f, where, where_width, true, false);
	fputc('\n', f);
}

static void print_frame_text(FILE *f, const struct frame *fr, bool call_site)
{
	/* 9 + 2 + 40 + 1 + 27: under 80 columns */
	print_frame_line(f, fr, 9, 40, 27);
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
	char who[64];
	int shown = 0;

	snprintf(who, sizeof(who), "%s/%u", s->gil_thread, s->gil_tid);
	fprintf(f, "%11sGIL held by %s in:\n", "", who);
	for (uint32_t i = 0; frames && i < s->n_gil_frames && shown < 4; i++) {
		const struct frame *fr = frames__get(frames, s->gil_frames[i]);

		if (!fr || (!fr->user && i > 0))
			continue;
		print_frame_text(f, fr, false);
		shown++;
	}
}

static void print_findings_text(FILE *f, const struct stall *s, const struct frames *frames)
{
	for (uint32_t i = 0; i < s->n_findings; i++) {
		const struct stall_finding *fd = &s->findings[i];
		const struct rule *r = fd->rule;
		char head[200], where[200];

		snprintf(head, sizeof(head), "%s %s %s: %s", r->id,
			 rule_severity_name(r->severity), rule_category_name(r->category), r->name);
		fprintf(f, "%9s! ", "");
		cols_put(f, head, 68, false, false);
		fputc('\n', f);
		if (fd->file) {
			snprintf(where, sizeof(where), "%s:%d in %s", report__base(fd->file), fd->line,
				 fd->function ? fd->function : "?");
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
		if (s->gil_tid && (r->category == CAT_GIL || r->gil_wait))
			print_gil_holder_text(f, s, frames);
	}
}

static void print_stack_text(FILE *f, const struct stall *s, const struct frames *frames,
			     bool full)
{
	const struct stack_count *sc;
	uint32_t idx[LS_MAX_STACK];
	bool site_shown = false;
	uint32_t total = s->samples_on + s->samples_off;
	int n;

	if (!s->n_stacks || !frames)
		return;
	sc = &s->stacks[0];
	if (full) {
		n = 0;
		for (uint32_t j = 0; j < sc->n_frames && n < LS_MAX_STACK; j++)
			idx[n++] = j;
	} else {
		n = stack__trim(sc, frames, idx, LS_MAX_STACK);
	}
	if (s->n_stacks > 1) {
		char d[32];

		fprintf(f, "%9swhere most of it went (%s, %u of %u samples):\n", "",
			fmt_dur(sc->weight_ns, d, sizeof(d)), sc->count, total);
	}
	for (int i = 0; i < n; i++) {
		const struct frame *fr = frames__get(frames, sc->frames[idx[i]]);
		bool site;

		if (!fr)	/* an id not interned (ENOMEM) */
			continue;
		site = !site_shown && fr->kind == FRAME_PYTHON && fr->user;

		print_frame_text(f, fr, site);
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

void print_stall(FILE *f, enum out_format fmt, const struct stall *s,
		 const struct frames *frames, bool full)
{
	char clk[16], d[32], on[32], off[32], who[40], waits[128];

	if (fmt == OUT_JSON) {
		print_stall_json(f, s, frames);
		fflush(f);
		return;
	}
	fprintf(f, "%.8s %-20s stall %8s  on-CPU %8s  off %8s\n",
		fmt_clock(s->start_unix_ns, clk, sizeof(clk)),
		fmt_who(s->thread, s->tid, who, sizeof(who), 20),
		fmt_dur(s->duration_ns, d, sizeof(d)),
		fmt_dur(s->on_cpu_ns, on, sizeof(on)),
		fmt_dur(s->off_cpu_ns, off, sizeof(off)));
	waits_line(s, waits, 60);
	if (waits[0])
		fprintf(f, "%9swaited in %s\n", "", waits);
	if (s->ongoing)
		fprintf(f, "%9sstill blocked when the session ended\n", "");
	print_findings_text(f, s, frames);
	print_stack_text(f, s, frames, full);
	fflush(f);
}

void print_blocked(FILE *f, enum out_format fmt, uint32_t pid, uint32_t tid,
		   const char *thread, uint64_t now_unix_ns, uint64_t blocked_ns,
		   int32_t nr)
{
	char clk[16], nrbuf[32], who[40];
	const char *in = nr >= 0 || nr == LS_WAIT_RUNQ || nr == LS_WAIT_OTHER ?
			 syscall__wait_label(nr, nrbuf, sizeof(nrbuf)) : NULL;

	if (fmt == OUT_JSON) {
		fprintf(f, "{\"type\":\"blocked\",\"schema_version\":%d,\"pid\":%u,\"tid\":%u,"
			"\"thread\":", LS_SCHEMA_VERSION, pid, tid);
		json_str(f, thread);
		fprintf(f, ",\"now_unix_ns\":%" PRIu64 ",\"blocked_ms\":%.3f,\"in_syscall\":",
			now_unix_ns, ms(blocked_ns));
		if (in)
			json_str(f, in);
		else
			fputs("null", f);
		fputs("}\n", f);
	} else {
		fprintf(f, "%.8s %-20s blocked %.1f s and counting%s%s\n",
			fmt_clock(now_unix_ns, clk, sizeof(clk)),
			fmt_who(thread, tid, who, sizeof(who), 20), blocked_ns / 1e9,
			in ? " in " : "", in ? in : "");
	}
	fflush(f);
}

void print_loop(FILE *f, enum out_format fmt, uint32_t pid, const struct loop_info *l)
{
	if (fmt == OUT_JSON) {
		fprintf(f, "{\"type\":\"loop\",\"schema_version\":%d,\"pid\":%u,\"tid\":%u,"
			"\"thread\":", LS_SCHEMA_VERSION, pid, l->tid);
		json_str(f, l->thread);
		fprintf(f, ",\"poll\":\"%s\"}\n", l->poll);
	} else {
		fprintf(f, "loopstall: watching event loop in thread %s (TID %u, %s)\n",
			l->thread, l->tid, l->poll);
	}
	fflush(f);
}

void print_summary(FILE *f, enum out_format fmt, const struct summary *s)
{
	char a[32], b[32], c[32];
	double share = s->span_ns ? 100.0 * s->stalled_ns / s->span_ns : 0;

	if (fmt == OUT_JSON) {
		fprintf(f, "{\"type\":\"summary\",\"schema_version\":%d,\"pid\":%u,"
			"\"python\":", LS_SCHEMA_VERSION, s->pid);
		json_str(f, s->py_version);
		fputs(",\"ended_by\":", f);
		json_str(f, s->ended_by);
		fprintf(f, ",\"span_ms\":%.3f,\"threshold_ms\":%.3f,\"stalls\":%u,"
			"\"stalled_ms\":%.3f,\"worst_ms\":%.3f,\"loops\":[",
			ms(s->span_ns), ms(s->threshold_ns), s->stalls, ms(s->stalled_ns),
			ms(s->worst_ns));
		for (uint32_t i = 0; i < s->n_loops; i++) {
			const struct loop_info *l = &s->loops[i];

			fprintf(f, "%s{\"tid\":%u,\"thread\":", i ? "," : "", l->tid);
			json_str(f, l->thread);
			fprintf(f, ",\"poll\":\"%s\",\"stalls\":%u,\"stalled_ms\":%.3f,"
				"\"worst_ms\":%.3f}", l->poll, l->stalls, ms(l->stalled_ns),
				ms(l->worst_ns));
		}
		fprintf(f, "],\"lost\":{\"stalls\":%" PRIu64 ",\"samples\":%" PRIu64
			",\"threads\":%" PRIu64 ",\"samples_over_cap\":%" PRIu64 "},\"findings\":[",
			s->lost_stalls, s->lost_samples, s->lost_threads, s->dropped_samples);
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
		fputs("]}\n", f);
		fflush(f);
		return;
	}
	fprintf(f, "\nloopstall: %s (%s) ended by %s after %s\n", s->comm,
		s->py_version, s->ended_by, fmt_dur(s->span_ns, a, sizeof(a)));
	fprintf(f, "  %u stall%s >= %s in %u loop%s; stalled %s (%.1f%%), worst %s\n",
		s->stalls, s->stalls == 1 ? "" : "s", fmt_dur(s->threshold_ns, b, sizeof(b)),
		s->n_loops, s->n_loops == 1 ? "" : "s", fmt_dur(s->stalled_ns, a, sizeof(a)),
		share, fmt_dur(s->worst_ns, c, sizeof(c)));
	for (uint32_t i = 0; i < s->n_loops; i++) {
		const struct loop_info *l = &s->loops[i];
		char who[40];

		fprintf(f, "  %-24s %-6s %4u stall%s %9s  worst %s\n",
			fmt_who(l->thread, l->tid, who, sizeof(who), 24), l->poll,
			l->stalls, l->stalls == 1 ? " " : "s",
			fmt_dur(l->stalled_ns, a, sizeof(a)), fmt_dur(l->worst_ns, b, sizeof(b)));
	}
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
		snprintf(where, sizeof(where), "%s:%d in %s", report__base(g->file), g->line,
			 g->function ? g->function : "?");
		fprintf(f, "%13s", "");
		cols_put(f, where, 64, false, false);
		fputc('\n', f);
	}
	if (s->lost_stalls || s->lost_samples || s->lost_threads || s->dropped_samples)
		fprintf(f, "  LOST: %" PRIu64 " stalls, %" PRIu64 " samples (ring buffer full);\n"
			"        %" PRIu64 " loop threads (table full), %" PRIu64 " samples over cap\n",
			s->lost_stalls, s->lost_samples, s->lost_threads, s->dropped_samples);
	else
		fprintf(f, "  no events lost\n");
	fflush(f);
}
