// SPDX-License-Identifier: MIT
/* `loopstall report`: read a recording, keep the stalls asked for, match
 * them against the rules in effect, build the report's model and hand it
 * to the printer of the format asked for. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "errors.h"
#include "findings.h"
#include "report.h"
#include "rules_cmd.h"
#include "source.h"

static const char *const format_names[REPORT__N] = {
	[REPORT_TEXT] = "text", [REPORT_JSON] = "json", [REPORT_COLLAPSED] = "collapsed",
	[REPORT_SPEEDSCOPE] = "speedscope", [REPORT_HTML] = "html", [REPORT_SARIF] = "sarif",
};

int report_format_parse(const char *s)
{
	for (int i = 0; i < REPORT__N; i++)
		if (!strcmp(s, format_names[i]))
			return i;
	return -1;
}

const char *report_format_name(enum report_format f)
{
	return f < REPORT__N ? format_names[f] : "?";
}

const char *report__base(const char *path)
{
	const char *b = path ? strrchr(path, '/') : NULL;

	return b ? b + 1 : path ? path : "?";
}

const char *report__module_name(const char *path, char *buf, size_t len)
{
	const char *b = report__base(path), *tag = strstr(b, ".cpython-");

	if (!tag)
		return b;
	snprintf(buf, len, "%.*s%s", (int)(tag - b), b, strstr(tag, ".so") ? ".so" : "");
	return buf;
}

const char *report__frame_label(const struct frame *fr, char *buf, size_t len)
{
	char mod[256];

	if (fr->kind == FRAME_PYTHON) {
		const char *fn = fr->function ? fr->function : "?";

		if (fr->line)
			snprintf(buf, len, "%s (%s:%d)", fn, report__base(fr->file), fr->line);
		else
			snprintf(buf, len, "%s (%s)", fn, report__base(fr->file));
	} else if (fr->function) {
		if (fr->module)
			snprintf(buf, len, "%s [%s]", fr->function,
				 report__module_name(fr->module, mod, sizeof(mod)));
		else
			snprintf(buf, len, "%s", fr->function);
	} else {
		snprintf(buf, len, "0x%" PRIx64 " [%s]", fr->addr,
			 fr->module ? report__module_name(fr->module, mod, sizeof(mod)) : "?");
	}
	return buf;
}

uint64_t report__percentile(const uint64_t *sorted, uint32_t n, double p)
{
	double rank;
	uint32_t i;

	if (!n)
		return 0;
	rank = ceil(p / 100.0 * n);
	i = rank < 1 ? 0 : (uint32_t)rank - 1;
	return sorted[i < n ? i : n - 1];
}

const char *report__fmt_time(uint64_t unix_ns, char *buf, size_t len)
{
	time_t secs = unix_ns / 1000000000ULL;
	struct tm tm;

	if (!localtime_r(&secs, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S %z", &tm))
		snprintf(buf, len, "@%" PRIu64, (uint64_t)secs);
	return buf;
}

const struct stall_finding *report__primary(const struct stall *st)
{
	const struct stall_finding *best = NULL;

	for (uint32_t i = 0; i < st->n_findings; i++)
		if (!best || st->findings[i].rule->severity > best->rule->severity)
			best = &st->findings[i];
	return best;
}

const struct frame *report__top_frame(const struct stall *st, const struct frames *frames)
{
	const struct stack_count *sc;
	const struct frame *py = NULL, *inner = NULL;

	if (!st->n_stacks || !frames)
		return NULL;
	sc = &st->stacks[0];
	for (uint32_t j = 0; j < sc->n_frames; j++) {
		const struct frame *fr = frames__get(frames, sc->frames[j]);

		if (!fr)
			continue;
		if (!inner)
			inner = fr;
		if (fr->kind != FRAME_PYTHON)
			continue;
		if (fr->user)
			return fr;
		if (!py)
			py = fr;
	}
	return py ? py : inner;
}

/* ---- the model ------------------------------------------------------- */

static bool keep(const struct stall *st, const struct report_filter *f)
{
	if (st->duration_ns < f->min_duration_ns)
		return false;
	if (f->since_unix_ns && st->start_unix_ns < f->since_unix_ns)
		return false;
	if (f->until_unix_ns && st->start_unix_ns >= f->until_unix_ns)
		return false;
	return true;
}

uint64_t report__recording_end(const struct recording *rec)
{
	uint64_t end = rec->meta.start_unix_ns;

	if (rec->meta.end_unix_ns)
		return rec->meta.end_unix_ns;
	for (uint32_t i = 0; i < rec->n_stalls; i++) {
		const struct stall *st = rec->stalls[i];

		if (st->start_unix_ns + st->duration_ns > end)
			end = st->start_unix_ns + st->duration_ns;
	}
	return end;
}

/* The stack a finding was seen in: the heaviest with a frame at its call
 * site (file and line, else file and function), else the heaviest. */
const struct stack_count *report__site_stack(const struct stall *st,
					     const struct stall_finding *fd,
					     const struct frames *frames)
{
	for (int pass = 0; fd && fd->file && pass < 2; pass++)
		for (uint32_t i = 0; i < st->n_stacks; i++) {
			const struct stack_count *sc = &st->stacks[i];

			for (uint32_t j = 0; j < sc->n_frames; j++) {
				const struct frame *fr = frames__get(frames, sc->frames[j]);

				if (!fr || fr->kind != FRAME_PYTHON || !fr->file ||
				    strcmp(fr->file, fd->file))
					continue;
				if (pass == 0 ? fr->line == fd->line :
				    fr->function && fd->function &&
				    !strcmp(fr->function, fd->function))
					return sc;
			}
		}
	return st->n_stacks ? &st->stacks[0] : NULL;
}


static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

static int cmp_start(const void *x, const void *y)
{
	const struct stall *a = *(struct stall *const *)x, *b = *(struct stall *const *)y;

	if (a->start_unix_ns != b->start_unix_ns)
		return a->start_unix_ns < b->start_unix_ns ? -1 : 1;
	return a->tid < b->tid ? -1 : a->tid > b->tid;
}

static int strcmp_null(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int cmp_group(const void *x, const void *y)
{
	const struct report_group *a = x, *b = y;
	int c;

	if (a->g.total_ns != b->g.total_ns)
		return a->g.total_ns < b->g.total_ns ? 1 : -1;
	if (a->g.count != b->g.count)
		return a->g.count < b->g.count ? 1 : -1;
	if (a->g.rule->severity != b->g.rule->severity)
		return a->g.rule->severity < b->g.rule->severity ? 1 : -1;
	if ((c = strcmp(a->g.rule->id, b->g.rule->id)))
		return c;
	if ((c = strcmp_null(a->g.file, b->g.file)))
		return c;
	return a->g.line - b->g.line;
}

static int cmp_cat(const void *x, const void *y)
{
	const struct report_category *a = x, *b = y;

	if ((a->category < 0) != (b->category < 0))
		return a->category < 0 ? 1 : -1;	/* "no finding" last */
	if (a->ns != b->ns)
		return a->ns < b->ns ? 1 : -1;
	return a->category - b->category;
}

static int cmp_thread(const void *x, const void *y)
{
	const struct report_thread *a = x, *b = y;

	if (a->stalled_ns != b->stalled_ns)
		return a->stalled_ns < b->stalled_ns ? 1 : -1;
	return a->tid < b->tid ? -1 : a->tid > b->tid;
}

static int add_group(struct report *r, const struct stall *st, uint32_t index,
		     const struct stall_finding *fd)
{
	struct report_group *g = NULL;

	for (uint32_t j = 0; j < r->n_groups && !g; j++)
		if (r->groups[j].g.rule == fd->rule && r->groups[j].g.line == fd->line &&
		    !strcmp_null(r->groups[j].g.file, fd->file))
			g = &r->groups[j];
	if (!g) {
		g = realloc(r->groups, (r->n_groups + 1) * sizeof(*g));
		if (!g)
			return -ENOMEM;
		r->groups = g;
		g = &r->groups[r->n_groups++];
		memset(g, 0, sizeof(*g));
		g->g.rule = fd->rule;
		g->g.line = fd->line;
		g->g.file = fd->file;		/* the stall's: the report points into */
		g->g.function = fd->function;
		g->g.code = fd->code;
	}
	g->g.count++;
	g->g.total_ns += st->duration_ns;
	if (!g->worst || st->duration_ns > g->g.worst_ns) {
		g->g.worst_ns = st->duration_ns;
		g->worst = st;
		g->finding = fd;
		g->worst_index = index;
	}
	return 0;
}

static int add_thread(struct report *r, const struct stall *st)
{
	struct report_thread *t = NULL;

	for (uint32_t j = 0; j < r->n_threads && !t; j++)
		if (r->threads[j].tid == st->tid)
			t = &r->threads[j];
	if (!t) {
		t = realloc(r->threads, (r->n_threads + 1) * sizeof(*t));
		if (!t)
			return -ENOMEM;
		r->threads = t;
		t = &r->threads[r->n_threads++];
		memset(t, 0, sizeof(*t));
		t->tid = st->tid;
		memcpy(t->thread, st->thread, sizeof(t->thread));
		t->thread[sizeof(t->thread) - 1] = 0;
	}
	t->stalls++;
	t->stalled_ns += st->duration_ns;
	if (st->duration_ns > t->worst_ns)
		t->worst_ns = st->duration_ns;
	return 0;
}

static int summarize(struct report *r)
{
	struct report_category cats[CAT__N + 1];
	uint64_t *durs = calloc(r->n_stalls ? r->n_stalls : 1, sizeof(*durs));

	if (!durs)
		return -ENOMEM;
	for (int c = 0; c <= CAT__N; c++)
		cats[c] = (struct report_category){ .category = c < CAT__N ? c : -1 };
	for (uint32_t i = 0; i < r->n_stalls; i++) {
		const struct stall *st = r->stalls[i];
		const struct stall_finding *p = report__primary(st);
		struct report_category *c = &cats[p ? (int)p->rule->category : CAT__N];

		durs[i] = st->duration_ns;
		r->stalled_ns += st->duration_ns;
		c->stalls++;
		c->ns += st->duration_ns;
		if (add_thread(r, st))
			goto nomem;
		for (uint32_t k = 0; k < st->n_findings; k++)
			if (add_group(r, st, i, &st->findings[k]))
				goto nomem;
	}
	qsort(durs, r->n_stalls, sizeof(*durs), cmp_u64);
	r->p50_ns = report__percentile(durs, r->n_stalls, 50);
	r->p95_ns = report__percentile(durs, r->n_stalls, 95);
	r->p99_ns = report__percentile(durs, r->n_stalls, 99);
	r->max_ns = r->n_stalls ? durs[r->n_stalls - 1] : 0;
	free(durs);

	r->cats = calloc(CAT__N + 1, sizeof(*r->cats));
	if (!r->cats)
		return -ENOMEM;
	for (int c = 0; c <= CAT__N; c++)
		if (cats[c].stalls)
			r->cats[r->n_cats++] = cats[c];
	qsort(r->cats, r->n_cats, sizeof(*r->cats), cmp_cat);
	if (r->n_threads)	/* NULL without any */
		qsort(r->threads, r->n_threads, sizeof(*r->threads), cmp_thread);
	if (r->n_groups)
		qsort(r->groups, r->n_groups, sizeof(*r->groups), cmp_group);
	for (uint32_t i = 0; i < r->n_groups; i++)
		r->sev_count[r->groups[i].g.rule->severity]++;
	return 0;
nomem:
	free(durs);
	return -ENOMEM;
}

int report__build(struct report *r, const struct recording *rec, const char *name,
		  const struct report_filter *f, const struct rule_pack *pack,
		  struct source *src)
{
	uint64_t end = report__recording_end(rec);

	memset(r, 0, sizeof(*r));
	r->rec = rec;
	r->name = name;
	r->filter = *f;
	r->stalls = calloc(rec->n_stalls ? rec->n_stalls : 1, sizeof(*r->stalls));
	if (!r->stalls)
		return -ENOMEM;
	for (uint32_t i = 0; i < rec->n_stalls; i++)
		if (keep(rec->stalls[i], f))
			r->stalls[r->n_stalls++] = rec->stalls[i];
	qsort(r->stalls, r->n_stalls, sizeof(*r->stalls), cmp_start);
	for (uint32_t i = 0; pack && i < r->n_stalls; i++)
		if (!r->stalls[i]->findings &&
		    findings__match(pack, r->stalls[i], rec->frames, src)) {
			report__free(r);
			return -ENOMEM;
		}

	r->from_unix_ns = rec->meta.start_unix_ns;
	if (f->since_unix_ns > r->from_unix_ns)
		r->from_unix_ns = f->since_unix_ns;
	r->to_unix_ns = end;
	if (f->until_unix_ns && f->until_unix_ns < r->to_unix_ns)
		r->to_unix_ns = f->until_unix_ns;
	if (r->to_unix_ns < r->from_unix_ns)
		r->to_unix_ns = r->from_unix_ns;
	r->span_ns = r->to_unix_ns - r->from_unix_ns;
	if (summarize(r)) {
		report__free(r);
		return -ENOMEM;
	}
	return 0;
}

void report__free(struct report *r)
{
	free(r->stalls);
	free(r->cats);
	free(r->threads);
	free(r->groups);
	memset(r, 0, sizeof(*r));
}

/* ---- the command ----------------------------------------------------- */

/* The recording's function sources and lines, for the rules. */
static struct source *recorded_source(const struct recording *rec)
{
	struct source *src = source__new_recorded();

	for (uint32_t i = 0; src && i < rec->n_sources; i++) {
		const struct recorded_source *s = &rec->sources[i];

		if (!s->file || !s->text)
			continue;
		if (s->firstline)
			source__put_function(src, s->file, s->firstline, s->text);
		else
			source__put_line(src, s->file, s->line, s->text);
	}
	return src;
}

static int read_error(const char *path, int err, const char *why)
{
	switch (err) {
	case -ENOENT:
		return ls_error(LS_EXIT_USAGE, "no recording at %s; give the file "
				"`loopstall record -o FILE` wrote", path);
	case -EINVAL:
		return ls_error(LS_EXIT_USAGE, "%s is not a loopstall recording: %s; give the "
				"file `loopstall record -o FILE` wrote", path,
				why[0] ? why : "bad header");
	case -EPROTONOSUPPORT:
		return ls_error(LS_EXIT_USAGE, "%s was written by a newer loopstall: %s", path,
				why[0] ? why : "upgrade loopstall");
	case -ENOMEM:
		return ls_error(LS_EXIT_ENV, "out of memory reading %s", path);
	default:
		return ls_error(LS_EXIT_USAGE, "cannot read recording %s: %s; check the path "
				"and its permissions", path, strerror(-err));
	}
}

static int print_report(FILE *f, enum report_format fmt, const struct report *r)
{
	switch (fmt) {
	case REPORT_JSON:
		return report__json(f, r);
	case REPORT_COLLAPSED:
		return report__collapsed(f, r);
	case REPORT_SPEEDSCOPE:
		return report__speedscope(f, r);
	case REPORT_HTML:
		return report__html(f, r);
	case REPORT_SARIF:
		return report__sarif(f, r);
	default:
		return report__text(f, r);
	}
}

static void warn_window(const struct recording *rec, const struct report_filter *f)
{
	uint64_t end = report__recording_end(rec);
	char a[40], b[40];

	if ((f->since_unix_ns && f->since_unix_ns >= end) ||
	    (f->until_unix_ns && f->until_unix_ns <= rec->meta.start_unix_ns))
		ls_warn("the --since/--until window is outside the recording (%s to %s): "
			"no stalls to report", report__fmt_time(rec->meta.start_unix_ns, a, sizeof(a)),
			report__fmt_time(end, b, sizeof(b)));
}

int report__run(const struct report_opts *o)
{
	struct recording rec = {};
	struct rule_pack pack = {};
	struct report_filter f = { .min_duration_ns = o->min_duration_ns };
	struct report r = {};
	struct source *src = NULL;
	bool to_file = o->output && strcmp(o->output, "-");
	FILE *out = stdout;
	char why[256] = "";
	int err, rc = LS_EXIT_USAGE;

	err = recording__read(&rec, o->path, why, sizeof(why));
	if (err)
		return read_error(o->path, err, why);
	if (o->since && report_time_parse(o->since, rec.meta.start_unix_ns, &f.since_unix_ns)) {
		ls_error(LS_EXIT_USAGE, "bad value '%s' for --since: see `loopstall report "
			 "--help` for the forms", o->since);
		goto cleanup;
	}
	if (o->until && report_time_parse(o->until, rec.meta.start_unix_ns, &f.until_unix_ns)) {
		ls_error(LS_EXIT_USAGE, "bad value '%s' for --until: see `loopstall report "
			 "--help` for the forms", o->until);
		goto cleanup;
	}
	if (f.since_unix_ns && f.until_unix_ns && f.since_unix_ns >= f.until_unix_ns) {
		ls_error(LS_EXIT_USAGE, "--since '%s' is not before --until '%s'; give a "
			 "window that ends after it starts", o->since, o->until);
		goto cleanup;
	}
	if (o->until && !f.until_unix_ns)
		f.until_unix_ns = 1;	/* --until 0: before anything (0 is "no bound") */
	warn_window(&rec, &f);
	if (rules_cmd__load(&pack, o->rules, o->n_rules, o->add_default))
		goto cleanup;
	src = recorded_source(&rec);
	if (!src || report__build(&r, &rec, o->path, &f, &pack, src)) {
		ls_error(LS_EXIT_ENV, "out of memory reading %s", o->path);
		rc = LS_EXIT_ENV;
		goto cleanup;
	}
	r.version = o->version;
	r.source_root = o->source_root;
	if (rec.truncated && (o->format == REPORT_COLLAPSED || o->format == REPORT_SPEEDSCOPE))
		ls_warn("recording cut short after %u stalls: the recorder was killed or the "
			"disk was full", rec.n_stalls);
	if (to_file && !(out = fopen(o->output, "w"))) {
		ls_error(LS_EXIT_USAGE, "cannot write %s: %s; choose a writable path with -o",
			 o->output, strerror(errno));
		goto cleanup;
	}
	errno = 0;
	err = print_report(out, o->format, &r);
	if ((fflush(out) || ferror(out)) && !err)
		err = errno ? -errno : -EIO;
	if (to_file && fclose(out) && !err)
		err = errno ? -errno : -EIO;
	if (err) {
		ls_error(LS_EXIT_USAGE, "cannot write the report to %s: %s; check the space "
			 "left there", to_file ? o->output : "stdout", strerror(-err));
		if (to_file)
			unlink(o->output);
		goto cleanup;
	}
	rc = LS_EXIT_OK;
cleanup:
	report__free(&r);
	source__free(src);
	rules__free(&pack);
	recording__free(&rec);
	return rc;
}
