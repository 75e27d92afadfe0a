/* SPDX-License-Identifier: MIT */
/* The report of a recording: its stalls filtered, matched against the
 * rules in effect (rules apply at report time, so a recording can be
 * re-read with new or edited rules), summarized, and printed as text,
 * JSON, collapsed stacks, speedscope, HTML or SARIF. docs/report.md.
 *
 * model.c builds the model (struct report); each format has its own file:
 * text.c, json.c, stacks.c (collapsed, speedscope), html.c, sarif.c;
 * window.c parses --since/--until. The command is probe/report_cmd.c. */
#ifndef LS_REPORT_H
#define LS_REPORT_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "budget.h"
#include "recording.h"
#include "rule.h"
#include "source.h"
#include "stack.h"
#include "stall.h"
#include "summary.h"


enum report_format {
	REPORT_TEXT, REPORT_JSON, REPORT_COLLAPSED, REPORT_SPEEDSCOPE, REPORT_HTML,
	REPORT_SARIF, REPORT_JUNIT, REPORT_GITHUB, REPORT_PPROF, REPORT__N
};

/* "text", "json", "collapsed", "speedscope", "html", "sarif", "junit",
 * "github", "pprof"; -1 unknown. */
int report_format_parse(const char *s);
const char *report_format_name(enum report_format f);

/* A --since/--until value: RFC 3339 ("2024-05-01T12:00:00Z", with an
 * offset, fractions allowed), "YYYY-MM-DD HH:MM:SS" local time (also with
 * a 'T'), a Unix time in seconds ("1714564800", "1714564800.25"), or an
 * offset from the recording's start "+30s" (units ns, us, ms, s, m, h;
 * none: seconds). Unix nanoseconds into *out; 0 or -EINVAL. */
int report_time_parse(const char *s, uint64_t start_unix_ns, uint64_t *out);

/* Which stalls a report covers: duration >= min_duration_ns, and start in
 * [since, until) (a stall that starts before since is left out even when
 * it runs past it). 0 for since or until: no bound. */
struct report_filter {
	uint64_t min_duration_ns;
	uint64_t since_unix_ns;
	uint64_t until_unix_ns;
};

struct report {
	const struct recording *rec;
	const char *name;		/* the recording's path, as given */
	const char *version;		/* of this loopstall */
	const char *source_root;	/* SARIF, or NULL */
	struct report_filter filter;
	struct stall **stalls;		/* those kept, in time order */
	uint32_t n_stalls;
	uint64_t from_unix_ns, to_unix_ns;	/* the window the report covers */
	uint64_t span_ns;
	struct summary sum;		/* of the stalls kept, finished */
	const struct budget_result *budgets;	/* judged, for JSON; NULL: none */
	int n_budgets;
};

/* The model of rec's stalls that pass f. With a pack, those stalls are
 * matched against it first (those without findings; src: the recording's
 * sources); without, the findings they carry are used as they are. The
 * report points into rec. 0 or -ENOMEM. */
int report__build(struct report *r, const struct recording *rec, const char *name,
		  const struct report_filter *f, const struct rule_pack *pack,
		  struct source *src);
void report__free(struct report *r);

/* The recording is of several processes (or of one other than its META's,
 * a command's child): its reports name the process of each stall. */
bool report__multi(const struct report *r);
/* The recording's process pid, or NULL. */
const struct recorded_process *report__proc(const struct report *r, uint32_t pid);

/* When the recording ended: its end record, else the end of its last
 * stall (a recording cut short), else its start. */
uint64_t report__recording_end(const struct recording *rec);
/* The worst stall of a finding group, and the group's finding in it. */
const struct stall *report__worst(const struct report *r, const struct finding_group *g);
const struct finding *report__worst_finding(const struct report *r,
					    const struct finding_group *g);
/* The stack the group's finding was seen in, in its worst stall. */
const struct stack_count *report__worst_stack(const struct report *r,
					      const struct finding_group *g);

/* Distinct stacks over the report's stalls, outermost frame first, with
 * the stall time they stand for; sorted frame by frame, so stacks sharing
 * outer frames are adjacent (what flame graphs merge). */
struct flat_stack {
	const char **labels;		/* fmt_frame_label() of each frame */
	const struct frame **frames;	/* each frame (NULL: "[no stack]") */
	uint32_t n;
	uint64_t ns;
};

struct flat_stacks {
	struct flat_stack *v;
	uint32_t n;
	uint64_t total_ns;
	char **labels;			/* owned: one per frame id */
	uint32_t n_labels;
};

int report__flat_stacks(const struct report *r, struct flat_stacks *out);
void flat_stacks__free(struct flat_stacks *s);

/* One stack of one stall and the time it stands for (report__each_stack). */
struct stall_stack {
	const struct stall *st;
	const struct stack_count *sc;	/* NULL: the time no sample stands for */
	int32_t seg;			/* its segment in st; -1: none */
	uint64_t ns;
};

/* Each stack of each of r's stalls, in time order, with the time it
 * stands for as the segments count it (segments.h: on- and off-CPU times
 * fitted to the stall's measured ones), shared among a segment's stacks by
 * weight, then the stall's unsampled time (sc NULL): a stall's parts add
 * up to its duration. A stall without segments or weights: the stacks'
 * own time, as report__flat_stacks() has it. Parts of no time are left
 * out. A non-zero return of fn stops the walk and is returned. */
int report__each_stack(const struct report *r,
		       int (*fn)(const struct stall_stack *s, void *ctx), void *ctx);

/* The printers. Each writes one complete document to f; 0, or -errno. */
int report__text(FILE *f, const struct report *r);
int report__json(FILE *f, const struct report *r);
int report__collapsed(FILE *f, const struct report *r);
int report__speedscope(FILE *f, const struct report *r);
int report__html(FILE *f, const struct report *r);
int report__sarif(FILE *f, const struct report *r);
/* JUnit XML: one test case per rule and call site (junit.c). */
int report__junit(FILE *f, const struct report *r);
/* GitHub Actions workflow commands: one annotation per call site (github.c). */
int report__github(FILE *f, const struct report *r);
/* pprof's profile.proto, gzipped: stall time by stack (pprof.c). */
int report__pprof(FILE *f, const struct report *r);

#endif
