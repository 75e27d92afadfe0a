/* `loopstall report FILE`: a recording read back, its stalls filtered,
 * matched against the rules in effect (rules apply at report time, so a
 * recording can be re-read with new or edited rules) and printed as text,
 * JSON, collapsed stacks, speedscope, HTML or SARIF. docs/report.md.
 *
 * report.c builds the model (struct report); each format has its own file:
 * report_text.c, report_json.c, report_stacks.c (collapsed, speedscope),
 * report_html.c, report_sarif.c; report_time.c parses --since/--until. */
#ifndef LS_REPORT_H
#define LS_REPORT_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "output.h"
#include "recording.h"
#include "rule.h"
#include "source.h"
#include "stack.h"
#include "stall.h"


enum report_format {
	REPORT_TEXT, REPORT_JSON, REPORT_COLLAPSED, REPORT_SPEEDSCOPE, REPORT_HTML,
	REPORT_SARIF, REPORT__N
};

/* "text", "json", "collapsed", "speedscope", "html", "sarif"; -1 unknown. */
int report_format_parse(const char *s);
const char *report_format_name(enum report_format f);

struct report_opts {
	const char *path;		/* the recording */
	enum report_format format;
	char **rules;			/* --rules files (rules_cmd__opt) */
	int n_rules;
	bool add_default;		/* --rules +FILE */
	uint64_t min_duration_ns;	/* --min-duration */
	const char *since, *until;	/* as given: parsed against the recording */
	const char *output;		/* -o; NULL or "-": stdout */
	const char *source_root;	/* SARIF: paths under it made relative */
	const char *version;		/* of this loopstall, for the outputs */
};

/* The whole command: read, filter, match, print. Returns the exit code;
 * every error is one `loopstall: error: …` line on stderr. */
int report__run(const struct report_opts *o);

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

/* Findings with the same rule and call site (output.h's finding_group), and
 * the stall they were worst in. */
struct report_group {
	struct finding_group g;
	const struct stall *worst;
	const struct stall_finding *finding;	/* the group's finding in worst */
	uint32_t worst_index;			/* of worst in report.stalls */
};

/* Stalled time of one loop thread. */
struct report_thread {
	uint32_t tid;
	char thread[16];
	uint32_t stalls;
	uint64_t stalled_ns, worst_ns;
};

/* Stalled time under one category: each stall counts once, under the
 * category of its primary finding (report__primary). */
struct report_category {
	int category;			/* enum rule_category; -1: no finding */
	uint32_t stalls;
	uint64_t ns;
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
	uint64_t stalled_ns;
	uint64_t p50_ns, p95_ns, p99_ns, max_ns;	/* of stall durations */
	struct report_category *cats;	/* most time first, "no finding" last */
	uint32_t n_cats;
	struct report_thread *threads;	/* most stalled time first */
	uint32_t n_threads;
	struct report_group *groups;	/* worst (total) first */
	uint32_t n_groups;
	uint32_t sev_count[SEV__N];	/* finding groups per severity */
};

/* The model of rec's stalls that pass f. With a pack, those stalls are
 * matched against it first (those without findings; src: the recording's
 * sources); without, the findings they carry are used as they are. The
 * report points into rec. 0 or -ENOMEM. */
int report__build(struct report *r, const struct recording *rec, const char *name,
		  const struct report_filter *f, const struct rule_pack *pack,
		  struct source *src);
void report__free(struct report *r);

/* The finding a stall's time counts under: its most severe, the first in
 * rule order among equals. NULL when it has none. */
const struct stall_finding *report__primary(const struct stall *st);
/* The frame that says where a stall was: the innermost user Python frame
 * of its heaviest stack, else its innermost Python frame, else its
 * innermost frame. NULL when it has no stack. */
const struct frame *report__top_frame(const struct stall *st, const struct frames *frames);
/* The stack a finding was seen in: the heaviest with a frame at its call
 * site (file and line, else file and function), else the heaviest. NULL
 * when the stall has no stack. */
const struct stack_count *report__site_stack(const struct stall *st,
					     const struct stall_finding *fd,
					     const struct frames *frames);
/* When the recording ended: its end record, else the end of its last
 * stall (a recording cut short), else its start. */
uint64_t report__recording_end(const struct recording *rec);
/* A frame as one label: "qualname (file.py:41)", "symbol [libc.so.6]". */
const char *report__frame_label(const struct frame *fr, char *buf, size_t len);
/* "_socket.so" for ".../_socket.cpython-311-x86_64-linux-gnu.so", else
 * the base name. Into buf, or the path's own base. */
const char *report__module_name(const char *path, char *buf, size_t len);
/* The last component of a path ("?" for NULL). */
const char *report__base(const char *path);
/* Percentile p (0..100) of sorted values, nearest rank. */
uint64_t report__percentile(const uint64_t *sorted, uint32_t n, double p);
/* "2024-05-01 12:00:00 +0000" (local time) into buf. */
const char *report__fmt_time(uint64_t unix_ns, char *buf, size_t len);

/* Distinct stacks over the report's stalls, outermost frame first, with
 * the stall time they stand for; sorted frame by frame, so stacks sharing
 * outer frames are adjacent (what flame graphs merge). */
struct flat_stack {
	const char **labels;		/* report__frame_label of each frame */
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

/* The printers. Each writes one complete document to f; 0, or -errno. */
int report__text(FILE *f, const struct report *r);
int report__json(FILE *f, const struct report *r);
int report__collapsed(FILE *f, const struct report *r);
int report__speedscope(FILE *f, const struct report *r);
int report__html(FILE *f, const struct report *r);
int report__sarif(FILE *f, const struct report *r);

#endif
