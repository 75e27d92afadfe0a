// SPDX-License-Identifier: MIT
/* `loopstall report FILE`: read the recording, check the window asked
 * for, load the rules, build the report and print it where asked; every
 * problem as one `loopstall: error:` line and its exit code. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "outfile.h"
#include "errors.h"
#include "fmt.h"
#include "live.h"
#include "report_cmd.h"
#include "rules_cmd.h"
#include "source.h"

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
	case REPORT_JUNIT:
		return report__junit(f, r);
	case REPORT_GITHUB:
		return report__github(f, r);
	case REPORT_PPROF:
		return report__pprof(f, r);
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
			"no stalls to report", fmt_time(rec->meta.start_unix_ns, a, sizeof(a)),
			fmt_time(end, b, sizeof(b)));
}

/* -o FILE opened as outfile.h says, as a stream. 0 or -errno. */
static int open_output(const struct report_opts *o, FILE **out, bool *created)
{
	int fd = outfile__open(o->output, o->force, created);

	if (fd < 0)
		return fd;
	if (!(*out = fdopen(fd, "w"))) {
		int err = -errno;

		close(fd);
		if (*created)
			unlink(o->output);
		return err;
	}
	return 0;
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
	bool created = false;
	struct budget_result br[BUDGET__N];
	int err, nb = 0, rc = LS_EXIT_USAGE;

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
	src = recording__source(&rec);
	if (!src || report__build(&r, &rec, o->path, &f, &pack, src)) {
		ls_error(LS_EXIT_ENV, "out of memory reading %s", o->path);
		rc = LS_EXIT_ENV;
		goto cleanup;
	}
	r.version = o->version;
	r.source_root = o->source_root;
	/* a file with stalls but no LAG record: written before there were */
	if (o->budgets.max_p99_ns && !rec.n_lags && rec.n_stalls) {
		ls_error(LS_EXIT_USAGE, "--max-p99: %s has no busy intervals (recorded by an "
			 "older loopstall); record it again, or leave --max-p99 out", o->path);
		goto cleanup;
	}
	nb = budgets__judge(&o->budgets, &r.sum, r.span_ns, r.sum.n_loops, br);
	r.budgets = br;
	r.n_budgets = nb;
	if (rec.truncated && (o->format == REPORT_COLLAPSED || o->format == REPORT_SPEEDSCOPE))
		ls_warn("recording cut short after %u stalls: the recorder was killed or the "
			"disk was full", rec.n_stalls);
	if (to_file && (err = open_output(o, &out, &created))) {
		if (err == -ELOOP || err == -EPERM)
			ls_output_error(o->output, err);
		else
			ls_error(LS_EXIT_USAGE, "cannot write %s: %s; choose a writable path "
				 "with -o", o->output, strerror(-err));
		goto cleanup;
	}
	errno = 0;
	err = print_report(out, o->format, &r);
	if ((fflush(out) || ferror(out)) && !err)
		err = errno ? -errno : -EIO;
	if (to_file && fclose(out) && !err)
		err = errno ? -errno : -EIO;
	if (err == -EPIPE && !to_file) {
		rc = LS_EXIT_OK;	/* its reader stopped reading (| head) */
		goto cleanup;
	}
	if (err) {
		ls_error(LS_EXIT_USAGE, "cannot write the report to %s: %s; check the space "
			 "left there", to_file ? o->output : "stdout", strerror(-err));
		if (to_file && created)		/* never /dev/null, never another's */
			unlink(o->output);
		goto cleanup;
	}
	live_text__budgets(stderr, br, nb);
	rc = LS_EXIT_OK;
	for (int i = 0; i < nb; i++)
		if (br[i].broken)
			rc = LS_EXIT_FINDINGS;
	if (o->fail_on >= 0 && r.sum.worst_severity >= o->fail_on)
		rc = LS_EXIT_FINDINGS;
cleanup:
	report__free(&r);
	source__free(src);
	rules__free(&pack);
	recording__free(&rec);
	return rc;
}
