/* SPDX-License-Identifier: MIT */
/* `loopstall report FILE`: read a recording, keep the stalls asked for,
 * match them, print the format asked for (the model: report/report.h). */
#ifndef LS_REPORT_CMD_H
#define LS_REPORT_CMD_H
#include <stdbool.h>
#include <stdint.h>
#include "budget.h"
#include "report.h"

struct report_opts {
	const char *path;		/* the recording */
	enum report_format format;
	char **rules;			/* --rules files (rules_cmd__opt) */
	int n_rules;
	bool add_default;		/* --rules +FILE */
	uint64_t min_duration_ns;	/* --min-duration */
	const char *since, *until;	/* as given: parsed against the recording */
	const char *output;		/* -o; NULL or "-": stdout */
	bool force;			/* --force: another user's file too */
	const char *source_root;	/* SARIF: paths under it made relative */
	const char *version;		/* of this loopstall, for the outputs */
	int fail_on;			/* exit 1 at a finding this severe; -1: never */
	struct budgets budgets;		/* exit 1 when one is broken */
};

/* The whole command: read, filter, match, print. Returns the exit code;
 * every error is one `loopstall: error: …` line on stderr. */
int report__run(const struct report_opts *o);

#endif
