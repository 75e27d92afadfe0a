// SPDX-License-Identifier: MIT
/* The model of a report (report.h): the stalls of a recording that pass
 * the filter, matched against the rules, in time order, summarized. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "findings.h"
#include "report.h"

static const char *const format_names[REPORT__N] = {
	[REPORT_TEXT] = "text", [REPORT_JSON] = "json", [REPORT_COLLAPSED] = "collapsed",
	[REPORT_SPEEDSCOPE] = "speedscope", [REPORT_HTML] = "html", [REPORT_SARIF] = "sarif",
	[REPORT_JUNIT] = "junit", [REPORT_GITHUB] = "github", [REPORT_PPROF] = "pprof",
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

static int cmp_start(const void *x, const void *y)
{
	const struct stall *a = *(struct stall *const *)x, *b = *(struct stall *const *)y;

	if (a->start_unix_ns != b->start_unix_ns)
		return a->start_unix_ns < b->start_unix_ns ? -1 : 1;
	return a->tid < b->tid ? -1 : a->tid > b->tid;
}

int report__build(struct report *r, const struct recording *rec, const char *name,
		  const struct report_filter *f, const struct rule_pack *pack,
		  struct source *src)
{
	uint64_t end = report__recording_end(rec);

	memset(r, 0, sizeof(*r));
	summary__init(&r->sum);
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
		    findings__match(pack, r->stalls[i], rec->frames, src))
			goto nomem;

	r->from_unix_ns = rec->meta.start_unix_ns;
	if (f->since_unix_ns > r->from_unix_ns)
		r->from_unix_ns = f->since_unix_ns;
	r->to_unix_ns = end;
	if (f->until_unix_ns && f->until_unix_ns < r->to_unix_ns)
		r->to_unix_ns = f->until_unix_ns;
	if (r->to_unix_ns < r->from_unix_ns)
		r->to_unix_ns = r->from_unix_ns;
	r->span_ns = r->to_unix_ns - r->from_unix_ns;
	for (uint32_t i = 0; i < r->n_stalls; i++)
		if (summary__add(&r->sum, r->stalls[i]))
			goto nomem;
	/* the loops' busy intervals: the whole recording's, not windowed */
	for (uint32_t i = 0; i < rec->n_lags; i++)
		if (summary__lag(&r->sum, rec->lags[i].pid, rec->lags[i].tid,
				 rec->lags[i].thread, &rec->lags[i].lag))
			goto nomem;
	if (summary__finish(&r->sum) || awaits__merge(&r->sum.aw, &rec->aw) ||
	    summary__awaits(&r->sum, pack, rec->frames, src))
		goto nomem;
	return 0;
nomem:
	report__free(r);
	return -ENOMEM;
}

void report__free(struct report *r)
{
	free(r->stalls);
	summary__free(&r->sum);
	memset(r, 0, sizeof(*r));
	summary__init(&r->sum);
}

bool report__multi(const struct report *r)
{
	const struct recording *rec = r->rec;

	return rec->n_procs > 1 || r->sum.n_procs > 1 ||
	       (rec->n_procs == 1 && rec->procs[0].pid != rec->meta.pid);
}

const struct recorded_process *report__proc(const struct report *r, uint32_t pid)
{
	for (uint32_t i = 0; i < r->rec->n_procs; i++)
		if (r->rec->procs[i].pid == pid)
			return &r->rec->procs[i];
	return NULL;
}

const struct stall *report__worst(const struct report *r, const struct finding_group *g)
{
	return g->worst_stall < r->n_stalls ? r->stalls[g->worst_stall] : NULL;
}

const struct finding *report__worst_finding(const struct report *r,
					    const struct finding_group *g)
{
	const struct stall *st = report__worst(r, g);

	return st && g->worst_finding < st->n_findings ? &st->findings[g->worst_finding] : NULL;
}

const struct stack_count *report__worst_stack(const struct report *r,
					      const struct finding_group *g)
{
	const struct stall *st = report__worst(r, g);

	return st ? stall__site_stack(st, report__worst_finding(r, g), r->rec->frames) : NULL;
}
