// SPDX-License-Identifier: MIT
/* `loopstall report --format github`: GitHub Actions workflow commands,
 * one annotation per finding group (rule and call site) and per
 * sequential-await finding, `::error file=F,line=L,title=T::message`
 * (::warning, ::notice by severity), on the repository's file when the
 * call site is under --source-root. docs/report.md. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "fmt.h"
#include "report.h"

static const char *command_of(enum rule_severity s)
{
	return s == SEV_ERROR ? "error" : s == SEV_WARNING ? "warning" : "notice";
}

/* n bytes of s as the runner reads them back: '%', CR and LF escaped in a
 * message; ':' and ',' too in a property's value (prop). */
static void gh_str(FILE *f, const char *s, size_t n, bool prop)
{
	for (size_t i = 0; s && i < n && s[i]; i++) {
		switch (s[i]) {
		case '%': fputs("%25", f); break;
		case '\r': fputs("%0D", f); break;
		case '\n': fputs("%0A", f); break;
		case ':': fputs(prop ? "%3A" : ":", f); break;
		case ',': fputs(prop ? "%2C" : ",", f); break;
		default: fputc(s[i], f);
		}
	}
}

static void gh_prop(FILE *f, const char *s)
{
	gh_str(f, s, s ? strlen(s) : 0, true);
}

/* One annotation of rule at file (relative to the source root when under
 * it), lines line to end, with msg[0..len) (its trailing blanks left out)
 * as its message. */
static void annotate(FILE *f, const struct report *r, const struct rule *rule,
		     const char *file, int line, int end, const char *msg, size_t len)
{
	while (len && strchr(" \t\r\n", msg[len - 1]))
		len--;
	fprintf(f, "::%s ", command_of(rule->severity));
	if (file && *file) {
		fputs("file=", f);
		gh_prop(f, fmt_relpath(file, r->source_root));
		if (line > 0)
			fprintf(f, ",line=%d", line);
		if (line > 0 && end > line)
			fprintf(f, ",endLine=%d", end);
		fputc(',', f);
	}
	fputs("title=", f);
	gh_prop(f, rule->id);
	if (rule->name && *rule->name) {
		fputc(' ', f);
		gh_prop(f, rule->name);
	}
	fputs("::", f);
	gh_str(f, msg, len, false);
	fputc('\n', f);
}

static void why_and_fix(FILE *m, const char *evidence, const struct rule *rule)
{
	if (evidence && *evidence)
		fprintf(m, "\nwhy: %s", evidence);
	if (rule->fix && *rule->fix)
		fprintf(m, "\nfix: %s", rule->fix);
}

/* A finding group's message: its stalls and time, where, why, the fix. */
static void group_message(FILE *m, const struct report *r, const struct finding_group *g)
{
	const struct finding *fd = report__worst_finding(r, g);
	const struct stall *worst = report__worst(r, g);
	char a[32], b[32];

	fprintf(m, "%u event-loop stall%s, %s in total, worst %s", g->count,
		g->count == 1 ? "" : "s", fmt_dur(g->total_ns, a, sizeof(a)),
		fmt_dur(g->worst_ns, b, sizeof(b)));
	if (g->function)
		fprintf(m, ", in %s", g->function);
	if (worst && report__multi(r)) {
		const struct recorded_process *p = report__proc(r, worst->pid);

		fprintf(m, "; the worst in PID %u (%s)", worst->pid,
			p ? p->title : worst->process);
	}
	if (fd && fd->loop_file)	/* a GIL wait: the code to change is the holder's */
		fprintf(m, "\nthe loop waited for the GIL at %s:%d in %s",
			fmt_relpath(fd->loop_file, r->source_root), fd->loop_line,
			fd->loop_function ? fd->loop_function : "?");
	why_and_fix(m, fd ? fd->evidence : NULL, g->rule);
}

/* A sequential-await finding's message: the awaits, the time they took in
 * turn and would take together, why, the fix. */
static void await_message(FILE *m, const struct report *r, const struct await_finding *w)
{
	const struct frame *fr = frames__get(r->sum.aw_frames, w->frame);
	char a[32], b[32], c[32];

	fprintf(m, "%d awaits in turn in %s, %s a call (%u call%s); together ~%s, saving ~%s "
		"a call", w->n, fr && fr->function ? fr->function : "?",
		fmt_dur(w->turn_ns, a, sizeof(a)), w->calls, w->calls == 1 ? "" : "s",
		fmt_dur(w->together_ns, b, sizeof(b)),
		fmt_dur(w->turn_ns - w->together_ns, c, sizeof(c)));
	why_and_fix(m, w->evidence, w->rule);
}

int report__github(FILE *f, const struct report *r)
{
	const struct summary *s = &r->sum;
	char *msg = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&msg, &len);
	int err = -ENOMEM;

	if (!m)
		goto cleanup;
	if (r->rec->truncated)
		fprintf(f, "::warning title=loopstall::recording cut short after %u stall%s: the "
			"recorder was killed or the disk was full\n", r->rec->n_stalls,
			r->rec->n_stalls == 1 ? "" : "s");
	for (uint32_t i = 0; i < s->n_groups; i++) {
		const struct finding_group *g = &s->groups[i];

		rewind(m);
		group_message(m, r, g);
		if (fflush(m))
			goto cleanup;
		annotate(f, r, g->rule, g->file, g->line, 0, msg, len);
	}
	for (uint32_t i = 0; i < s->aw.n_findings; i++) {
		const struct await_finding *w = &s->aw.findings[i];
		const struct frame *fr = frames__get(s->aw_frames, w->frame);

		rewind(m);
		await_message(m, r, w);
		if (fflush(m))
			goto cleanup;
		annotate(f, r, w->rule, fr ? fr->file : NULL, w->lines[0], w->lines[w->n - 1],
			 msg, len);
	}
	/* a budget broken: an annotation of the run, not of a line */
	for (int i = 0; i < r->n_budgets; i++)
		if (r->budgets[i].broken) {
			fputs("::error title=loopstall budget::", f);
			gh_str(f, r->budgets[i].line, strlen(r->budgets[i].line), false);
			fputc('\n', f);
		}
	err = ferror(f) ? -EIO : 0;
cleanup:
	if (m)
		fclose(m);
	free(msg);
	return err;
}
