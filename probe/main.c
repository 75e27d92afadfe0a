// SPDX-License-Identifier: MIT
/*
 * loopstall — what blocks your asyncio event loop, and why.
 * Command line: subcommands, each with an argp parser.
 */
#include <argp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "attach.h"
#include "doctor.h"
#include "errors.h"
#include "parse.h"
#include "report_cmd.h"
#include "rule.h"
#include "rules_cmd.h"
#include "tasks_cmd.h"
#include "version.h"

const char *argp_program_version = "loopstall " LOOPSTALL_VERSION;
const char *argp_program_bug_address = NULL;

#define LS_STR_(x)	#x
#define LS_STR(x)	LS_STR_(x)

static const char top_usage[] =
"Usage: loopstall COMMAND [OPTION...]\n"
"Find what blocks the asyncio event loop of a running Python process.\n"
"\n"
"Commands:\n"
"  attach   watch a live process and print each loop stall as it happens\n"
"  record   record the stalls of a process, or of a command it starts, to a file\n"
"  report   read a recording: text, JSON, flame graph, HTML, SARIF…\n"
"  tasks    the asyncio tasks of a process: who awaits whom, where each waits\n"
"  doctor   check kernel features, privileges and a target\n"
"  rules    list the rules stalls are matched against, or check rule files\n"
"\n"
"EXAMPLES:\n"
"  loopstall attach -p 4242              # stalls of 50 ms and more, live\n"
"  loopstall attach -p 4242 -t 100 -d 60 # >= 100 ms, for one minute\n"
"  loopstall attach -p 4242 -f json      # one JSON object per stall\n"
"  loopstall attach -p 4242 --subprocesses  # and its workers, new ones too\n"
"  loopstall record -p 4242 -o run.lsr   # record; Ctrl-C to stop\n"
"  loopstall record -o run.lsr -- python3 app.py  # from its first loop\n"
"  loopstall report run.lsr -f html -o run.html  # one page to share\n"
"  loopstall tasks -p 4242               # its tasks as an await tree\n"
"  loopstall doctor -p 4242              # what is missing, and the fix\n"
"  loopstall rules check my-rules.yaml   # errors at file:line:column\n"
"\n"
"`loopstall COMMAND --help` shows the options of a command.\n";

enum { OPT_BTF = 1000, OPT_BLOCKED, OPT_RINGBUF, OPT_FULL, OPT_RULES, OPT_FAIL_ON,
       OPT_SUBPROCESSES, OPT_NO_TASKS, OPT_TASK_HZ, OPT_STATUS, OPT_NO_STATUS,
       OPT_METRICS };

/* Parse state shared by the subcommand parsers. */
struct cli {
	struct attach_opts a;
	int bad;		/* an error line was printed */
	int last_next;		/* argv index after the last good option */
	char **files;		/* rules list --rules, rules check FILE… */
	int n_files;
	bool add_default;	/* rules list --rules +FILE */
	int doctor_pid;		/* doctor -p PID */
	struct report_opts rep;	/* report */
	struct budgets budgets;	/* attach, record, report: --max-* */
	struct tasks_opts tasks;	/* tasks */
};

static int bad_value(struct cli *c, const char *opt, const char *val, const char *want)
{
	ls_error(LS_EXIT_USAGE, "bad value '%s' for %s: %s", val, opt, want);
	c->bad = 1;
	return EINVAL;
}

enum { OPT_MAX_STALL = 1200, OPT_MAX_STALLED, OPT_MAX_P99, OPT_FAIL_ON_REPORT, OPT_FORCE };

/* CI budgets: options of attach, record and report (a child parser). */
static const struct argp_option budget_options[] = {
	{ "max-stall", OPT_MAX_STALL, "MS", 0, "Exit 1 when a stall lasts longer (units: "
	  "us, ms, s)", 0 },
	{ "max-stalled", OPT_MAX_STALLED, "PCT", 0, "Exit 1 when the loops are stalled more "
	  "of the time, e.g. 1%", 0 },
	{ "max-p99", OPT_MAX_P99, "MS", 0, "Exit 1 when the p99 of every busy interval "
	  "(stall or not) is longer", 0 },
	{},
};

static error_t budget_parse(int key, char *arg, struct argp_state *state)
{
	struct cli *c = state->input;
	struct budgets *b = &c->budgets;
	uint64_t v;

	switch (key) {
	case OPT_MAX_STALL:
		if (parse_duration(arg, 1000000, &v) || !v)
			return bad_value(c, "--max-stall", arg, "give milliseconds, e.g. 200 or 1s");
		b->max_stall_ns = v;
		break;
	case OPT_MAX_STALLED:
		if (budgets__parse_pct(arg, &b->max_stalled_pct))
			return bad_value(c, "--max-stalled", arg, "give a share of the time "
					 "from 0 to 100%, e.g. 1% or 0.5");
		b->stalled_set = true;
		break;
	case OPT_MAX_P99:
		if (parse_duration(arg, 1000000, &v) || !v)
			return bad_value(c, "--max-p99", arg, "give milliseconds, e.g. 20 or 0.5ms");
		b->max_p99_ns = v;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	c->last_next = state->next;
	return 0;
}

static const struct argp budget_argp = { budget_options, budget_parse, NULL, NULL };
static const struct argp_child budget_kids[] = {
	{ &budget_argp, 0, "Budgets (CI):", 0 }, {},
};

static const struct argp_option attach_options[] = {
	{ "pid", 'p', "PID", 0, "Process to watch (required; repeatable, or PID,PID,...)", 0 },
	{ "subprocesses", OPT_SUBPROCESSES, NULL, 0, "Also watch their descendants, those "
	  "started later too (record -- CMD: the command's)", 0 },
	{ "threshold", 't', "MS", 0, "Report busy intervals this long (default 50; "
	  "units: us, ms, s)", 0 },
	{ "duration", 'd', "S", 0, "Stop after this long (default: until Ctrl-C or the "
	  "target exits; units: ms, s, m)", 0 },
	{ "frequency", 'F', "HZ", 0, "On-CPU samples per second while a loop is busy "
	  "(default 199)", 0 },
	{ "format", 'f', "FMT", 0, "text (default) or json (one object per line)", 0 },
	{ "rules", OPT_RULES, "FILE", 0, "Rule pack instead of the default one (repeatable; "
	  "+FILE adds to the default pack)", 0 },
	{ "fail-on", OPT_FAIL_ON, "SEVERITY", 0, "Exit 1 when a finding is this severe or worse: "
	  "info, warning, error", 0 },
	{ "status", OPT_STATUS, NULL, 0, "Draw the live status line on stderr (default: "
	  "when stderr is a terminal)", 0 },
	{ "no-status", OPT_NO_STATUS, NULL, 0, "Do not draw the status line", 0 },
	{ "quiet", 'q', NULL, 0, "Print only the summary at the end", 0 },
	{ "metrics", OPT_METRICS, "ADDR:PORT", 0, "Serve Prometheus metrics at "
	  "http://ADDR:PORT/metrics while attached (ADDR: 127.0.0.1 unless given)", 0 },
	{ "full-stacks", OPT_FULL, NULL, 0, "Show every frame of a stall's stack, not only "
	  "the user code and the calls down to what blocked", 0 },
	{ "no-tasks", OPT_NO_TASKS, NULL, 0, "Do not read the target's asyncio tasks (a "
	  "stall then names no task, and awaits are not timed)", 0 },
	{ "task-hz", OPT_TASK_HZ, "HZ", 0, "Await timing: the tasks' suspension points read "
	  "this many times a second (default 100; 0: not timed)", 0 },
	{ "blocked-after", OPT_BLOCKED, "S", 0, "Say a loop is blocked while it still is, "
	  "after this long (default 1 s)", 0 },
	{ "btf", OPT_BTF, "FILE", 0, "Kernel BTF file, for kernels without "
	  "/sys/kernel/btf/vmlinux", 0 },
	{ "ringbuf-mb", OPT_RINGBUF, "MB", 0, "Ring buffer size, a power of 2 (default 16)", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's messages", 0 },
	{},
};

/* --rules FILE (repeatable); +FILE adds to the default pack. */
static int add_rules(struct attach_opts *a, char *arg)
{
	char **v = realloc(a->rules, (a->n_rules + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	a->rules = v;
	if (arg[0] == '+') {
		a->add_default = true;
		arg++;
	}
	a->rules[a->n_rules++] = arg;
	return 0;
}

static error_t attach_parse(int key, char *arg, struct argp_state *state)
{
	struct cli *c = state->input;
	struct attach_opts *a = &c->a;
	uint64_t v;

	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = state->input;	/* the budgets */
		return 0;
	case 'p': {
		int err = parse_pid_list(arg, a->pids, &a->n_pids, ATTACH_MAX_PIDS);

		if (err == -E2BIG)
			return bad_value(c, "--pid", arg, "at most " LS_STR(ATTACH_MAX_PIDS)
					 " processes; use --subprocesses for a process tree");
		if (err)
			return bad_value(c, "--pid", arg, "give a process ID, or several "
					 "separated by commas (4242,4250)");
		break;
	}
	case OPT_SUBPROCESSES:
		a->follow = true;
		break;
	case 't':
		if (parse_duration(arg, 1000000, &v) || v < 1000000 || v > 3600000000000ULL)
			return bad_value(c, "--threshold", arg,
					 "give milliseconds from 1 to 3600000, e.g. 50 or 0.2s");
		a->threshold_ns = v;
		break;
	case 'd':
		if (parse_duration(arg, 1000000000, &v) || !v)
			return bad_value(c, "--duration", arg, "give seconds, e.g. 30 or 500ms");
		a->duration_ns = v;
		break;
	case 'F':
		if (parse_u64(arg, 1, 10000, &v))
			return bad_value(c, "--frequency", arg, "give a rate from 1 to 10000 Hz");
		a->frequency = v;
		break;
	case 'f':
		if (!strcmp(arg, "text"))
			a->format = OUT_TEXT;
		else if (!strcmp(arg, "json"))
			a->format = OUT_JSON;
		else
			return bad_value(c, "--format", arg, "use text or json");
		break;
	case OPT_BLOCKED:
		if (parse_duration(arg, 1000000000, &v) || !v)
			return bad_value(c, "--blocked-after", arg, "give seconds, e.g. 1 or 500ms");
		a->blocked_report_ns = v;
		break;
	case OPT_BTF:
		a->btf = arg;
		break;
	case OPT_FULL:
		a->full_stacks = true;
		break;
	case OPT_STATUS:
	case OPT_NO_STATUS:
		a->status = key == OPT_STATUS;
		break;
	case 'q':
		a->quiet = true;
		break;
	case OPT_METRICS:
		a->metrics = arg;
		break;
	case OPT_NO_TASKS:
		a->tasks = false;
		break;
	case OPT_TASK_HZ:
		if (parse_u64(arg, 0, 1000, &v))
			return bad_value(c, "--task-hz", arg, "give a rate from 0 to 1000 Hz");
		a->task_hz = v;
		break;
	case OPT_RULES:
		if (add_rules(a, arg))
			return ENOMEM;
		break;
	case OPT_FAIL_ON:
		a->fail_on = rule_severity_parse(arg);
		if (a->fail_on < 0)
			return bad_value(c, "--fail-on", arg, "use info, warning or error");
		break;
	case OPT_RINGBUF:
		if (parse_u64(arg, 1, 1024, &v) || (v & (v - 1)))
			return bad_value(c, "--ringbuf-mb", arg, "give a power of 2 from 1 to 1024");
		a->ringbuf_mb = v;
		break;
	case 'v':
		a->verbose = true;
		break;
	case ARGP_KEY_ARG:
		ls_error(LS_EXIT_USAGE, "unexpected argument '%s'; see `loopstall %s --help`",
			 arg, state->name);
		c->bad = 1;
		return EINVAL;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	c->last_next = state->next;
	return 0;
}

static const struct argp_option record_only_options[] = {
	{ "output", 'o', "FILE", 0, "The recording to write (required)", 0 },
	{ "force", OPT_FORCE, NULL, 0, "Empty FILE even when another user owns it", 0 },
	{},
};

static error_t record_parse(int key, char *arg, struct argp_state *state)
{
	struct cli *c = state->input;

	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = state->input;	/* the attach options */
		break;
	case 'o':
		c->a.output = arg;
		break;
	case OPT_FORCE:
		c->a.force = true;
		break;
	case ARGP_KEY_ARG:
		/* the command to start and record, with all that follows */
		(void)arg;
		c->a.command = state->argv + state->next - 1;
		state->next = state->argc;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	c->last_next = state->next;
	return 0;
}

static const char record_doc[] =
"Record the loop stalls of a live process, or of a command it starts, to a file\n"
"for `loopstall report` (here or on another machine).\n"
"\n"
"USAGE: loopstall record -p PID[,PID...] -o FILE [--subprocesses] [options]\n"
"       loopstall record -o FILE [--subprocesses] [options] -- CMD [ARGS...]\n"
"\n"
"EXAMPLES:\n"
"  loopstall record -p 4242 -o run.lsr        # until Ctrl-C or exit\n"
"  loopstall record -p 4242 -o run.lsr -d 600 # ten minutes\n"
"  loopstall record -o run.lsr -- python3 app.py  # from its first loop\n"
"  loopstall record -o run.lsr --subprocesses -- sh -c 'python3 app.py'\n"
"                                             # the Python the shell starts\n"
"\vExit status: 0 ok, 1 findings at --fail-on or a budget broken, 2 usage,\n"
"3 environment, 4 target (no CPython process found).";

static const char attach_doc[] =
"Watch a live asyncio process and print each event-loop stall as it happens.\n"
"\n"
"USAGE: loopstall attach -p PID[,PID...] [--subprocesses] [-t MS] [-d S]\n"
"                        [-F HZ] [-f text|json] [-q] [--metrics PORT]\n"
"\n"
"Several processes (-p A -p B, -p A,B; --subprocesses: and every process they\n"
"start, before or after attach) are one session: each stall names its\n"
"process; processes running no CPython (a shell, a wrapper) are skipped\n"
"(-v lists them). It ends when all have exited, or at Ctrl-C or -d.\n"
"\n"
"EXAMPLES:\n"
"  loopstall attach -p 4242              # stalls of 50 ms and more\n"
"  loopstall attach -p 4242 -t 20ms      # stalls of 20 ms and more\n"
"  loopstall attach -p 4242 -d 30        # stop after 30 seconds\n"
"  loopstall attach -p 4242 -f json | jq # one JSON object per line\n"
"  loopstall attach -p 4242 --fail-on warning  # exit 1 on findings (CI)\n"
"  loopstall attach -p 4242,4250         # two processes, one session\n"
"  loopstall attach -p $(pgrep -o gunicorn) --subprocesses  # master, workers\n"
"\vExit status: 0 ok, 1 findings at --fail-on or a budget broken, 2 usage,\n"
"3 environment or privileges, 4 target (no such process; no CPython process\n"
"among them).";

static const struct argp_option doctor_options[] = {
	{ "pid", 'p', "PID", 0, "Also check this process", 0 },
	{ "btf", OPT_BTF, "FILE", 0, "Kernel BTF file to check", 0 },
	{ "verbose", 'v', NULL, 0, "More detail", 0 },
	{},
};

static error_t doctor_parse(int key, char *arg, struct argp_state *state)
{
	struct cli *c = state->input;
	uint64_t v;

	switch (key) {
	case 'p':
		if (parse_u64(arg, 1, PARSE_PID_MAX, &v))
			return bad_value(c, "--pid", arg, "give a process ID");
		c->doctor_pid = v;
		break;
	case OPT_BTF:
		c->a.btf = arg;
		break;
	case 'v':
		c->a.verbose = true;
		break;
	case ARGP_KEY_ARG:
		ls_error(LS_EXIT_USAGE, "unexpected argument '%s'; see `loopstall doctor --help`", arg);
		c->bad = 1;
		return EINVAL;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	c->last_next = state->next;
	return 0;
}

static const char doctor_doc[] =
"Check kernel features, privileges and (with -p) a target, and say what is missing.\n"
"\n"
"USAGE: loopstall doctor [-p PID]\n"
"\n"
"EXAMPLES:\n"
"  loopstall doctor          # can this machine run loopstall?\n"
"  loopstall doctor -p 4242  # and can it watch PID 4242?\n"
"\vExit status: 0 all fine, 3 environment or privileges, 4 target.";

static const struct argp_option tasks_options[] = {
	{ "pid", 'p', "PID", 0, "Process whose tasks to show (required)", 0 },
	{ "watch", 'w', "S", 0, "Show them again every S seconds, until Ctrl-C or the "
	  "process exits (units: ms, s, m)", 0 },
	{ "format", 'f', "FMT", 0, "text (default: a tree) or json (one object per "
	  "snapshot)", 0 },
	{},
};

static error_t tasks_parse(int key, char *arg, struct argp_state *state)
{
	struct cli *c = state->input;
	uint64_t v;

	switch (key) {
	case 'p':
		if (parse_u64(arg, 1, PARSE_PID_MAX, &v))
			return bad_value(c, "--pid", arg, "give a process ID");
		c->tasks.pid = v;
		break;
	case 'w':
		if (parse_duration(arg, 1000000000, &v) || v < 10000000ULL ||
		    v > 86400000000000ULL)
			return bad_value(c, "--watch", arg, "give seconds from 0.01 to 86400, "
					 "e.g. 2 or 500ms");
		c->tasks.watch_ns = v;
		break;
	case 'f':
		if (strcmp(arg, "text") && strcmp(arg, "json"))
			return bad_value(c, "--format", arg, "use text or json");
		c->tasks.json = !strcmp(arg, "json");
		break;
	case ARGP_KEY_ARG:
		ls_error(LS_EXIT_USAGE, "unexpected argument '%s'; see `loopstall tasks --help`", arg);
		c->bad = 1;
		return EINVAL;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	c->last_next = state->next;
	return 0;
}

static const char tasks_doc[] =
"Show every asyncio task of a live process: its name, state and id, where it\n"
"waits (its coroutines, innermost first, with the line each awaits at) and who\n"
"awaits whom, as a tree. Read from outside: the process is never stopped.\n"
"\n"
"USAGE: loopstall tasks -p PID [--watch S] [-f text|json]\n"
"\n"
"EXAMPLES:\n"
"  loopstall tasks -p 4242               # the await tree, once\n"
"  loopstall tasks -p 4242 --watch 2     # again every 2 s, until Ctrl-C\n"
"  loopstall tasks -p 4242 -f json | jq '.tasks[].name'  # for scripts\n"
"\vExit status: 0 ok, 2 usage, 3 privileges, 4 target (no such process, not\n"
"CPython 3.11-3.15). JSON fields: docs/tasks.md.";

static const char rules_usage[] =
"Usage: loopstall rules list [--rules [+]FILE]...\n"
"       loopstall rules check FILE...\n"
"List the rules stalls are matched against, or check rule files.\n"
"\n"
"  list     the rules in effect: the built-in pack, or the --rules files\n"
"  check    load rule files (not the built-in pack); print each problem as\n"
"           FILE:LINE:COLUMN: message, then a count. Exit 2 on any error\n"
"\n"
"EXAMPLES:\n"
"  loopstall rules list                     # the built-in rules\n"
"  loopstall rules list --rules +mine.yaml  # built-in and mine\n"
"  loopstall rules check mine.yaml          # problems in mine.yaml\n"
"\n"
"Schema: docs/rules.md. `loopstall rules list --help` shows its options.\n";

static const struct argp_option rules_list_options[] = {
	{ "rules", OPT_RULES, "FILE", 0, "Rule pack instead of the built-in one (repeatable; "
	  "+FILE adds to the built-in pack)", 0 },
	{},
};

static error_t rules_list_parse(int key, char *arg, struct argp_state *state)
{
	struct cli *c = state->input;

	switch (key) {
	case OPT_RULES:
		if (rules_cmd__opt(&c->files, &c->n_files, &c->add_default, arg))
			return ENOMEM;
		break;
	case ARGP_KEY_ARG:
		ls_error(LS_EXIT_USAGE, "unexpected argument '%s'; rule files go with --rules "
			 "(see `loopstall rules list --help`)", arg);
		c->bad = 1;
		return EINVAL;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	c->last_next = state->next;
	return 0;
}

static const char rules_list_doc[] =
"List the rules in effect: ID, severity, category and name, one per line.\n"
"\n"
"USAGE: loopstall rules list [--rules [+]FILE]...\n"
"\n"
"EXAMPLES:\n"
"  loopstall rules list                     # the built-in pack\n"
"  loopstall rules list --rules mine.yaml   # only the rules of mine.yaml\n"
"  loopstall rules list --rules +mine.yaml  # the built-in pack and mine.yaml\n"
"\vExit status: 0 ok, 2 usage or errors in the rules.";

static error_t rules_check_parse(int key, char *arg, struct argp_state *state)
{
	struct cli *c = state->input;

	switch (key) {
	case ARGP_KEY_ARG: {
		char **v = realloc(c->files, (c->n_files + 1) * sizeof(*v));

		if (!v)
			return ENOMEM;
		c->files = v;
		c->files[c->n_files++] = arg;
		break;
	}
	default:
		return ARGP_ERR_UNKNOWN;
	}
	c->last_next = state->next;
	return 0;
}

static const char rules_check_doc[] =
"Check rule files: print each problem as FILE:LINE:COLUMN: message (warnings as\n"
"FILE:LINE:COLUMN: warning: message), then \"N rules, E errors, W warnings\".\n"
"\n"
"USAGE: loopstall rules check FILE...\n"
"\n"
"EXAMPLES:\n"
"  loopstall rules check mine.yaml          # one pack\n"
"  loopstall rules check a.yaml b.yaml      # two packs, ids unique in both\n"
"\vExit status: 0 no errors (warnings allowed), 2 errors or usage.";

enum { OPT_SINCE = 1100, OPT_UNTIL, OPT_MIN_DURATION, OPT_SOURCE_ROOT };

static const struct argp_option report_options[] = {
	{ "format", 'f', "FMT", 0, "text (default), json, collapsed (flamegraph.pl), "
	  "speedscope, html, sarif, junit, github (annotations) or pprof", 0 },
	{ "output", 'o', "FILE", 0, "Write the report to FILE (default: stdout)", 0 },
	{ "force", OPT_FORCE, NULL, 0, "Empty FILE even when another user owns it", 0 },
	{ "rules", OPT_RULES, "FILE", 0, "Rule pack instead of the built-in one (repeatable; "
	  "+FILE adds to the built-in pack)", 0 },
	{ "min-duration", OPT_MIN_DURATION, "MS", 0, "Leave out stalls shorter than this "
	  "(units: us, ms, s)", 0 },
	{ "since", OPT_SINCE, "TIME", 0, "Only stalls that start at TIME or later", 0 },
	{ "until", OPT_UNTIL, "TIME", 0, "Only stalls that start before TIME", 0 },
	{ "fail-on", OPT_FAIL_ON_REPORT, "SEVERITY", 0, "Exit 1 when a finding is this severe "
	  "or worse: info, warning, error", 0 },
	{ "source-root", OPT_SOURCE_ROOT, "DIR", 0, "SARIF: name files under DIR relative "
	  "to it (the repository's root), for code scanning", 0 },
	{},
};

static error_t report_parse(int key, char *arg, struct argp_state *state)
{
	struct cli *c = state->input;
	struct report_opts *o = &c->rep;
	uint64_t v;
	int fmt;

	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = state->input;	/* the budgets */
		return 0;
	case OPT_FAIL_ON_REPORT:
		o->fail_on = rule_severity_parse(arg);
		if (o->fail_on < 0)
			return bad_value(c, "--fail-on", arg, "use info, warning or error");
		break;
	case 'f':
		if ((fmt = report_format_parse(arg)) < 0)
			return bad_value(c, "--format", arg, "use text, json, collapsed, "
					 "speedscope, html, sarif, junit, github or pprof");
		o->format = fmt;
		break;
	case 'o':
		o->output = arg;
		break;
	case OPT_FORCE:
		o->force = true;
		break;
	case OPT_RULES:
		if (rules_cmd__opt(&o->rules, &o->n_rules, &o->add_default, arg))
			return ENOMEM;
		break;
	case OPT_MIN_DURATION:
		if (parse_duration(arg, 1000000, &v))
			return bad_value(c, "--min-duration", arg, "give milliseconds, e.g. 100 "
					 "or 0.5s");
		o->min_duration_ns = v;
		break;
	case OPT_SINCE:
	case OPT_UNTIL:
		if (report_time_parse(arg, 0, &v))
			return bad_value(c, key == OPT_SINCE ? "--since" : "--until", arg,
					 "give \"2024-05-01T12:00:00Z\", \"2024-05-01 12:00:00\" "
					 "(local), Unix seconds, or +30s from the recording's start");
		*(key == OPT_SINCE ? &o->since : &o->until) = arg;
		break;
	case OPT_SOURCE_ROOT:
		if (arg[0] != '/')
			return bad_value(c, "--source-root", arg, "give the absolute directory "
					 "the target's files are under, e.g. /srv/app");
		o->source_root = arg;
		break;
	case ARGP_KEY_ARG:
		if (o->path) {
			ls_error(LS_EXIT_USAGE, "one recording at a time: '%s' after '%s'; "
				 "see `loopstall report --help`", arg, o->path);
			c->bad = 1;
			return EINVAL;
		}
		o->path = arg;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	c->last_next = state->next;
	return 0;
}

static const char report_doc[] =
"Read a recording and report its stalls, with the rules applied now (so new or\n"
"edited rules apply to old recordings).\n"
"\n"
"USAGE: loopstall report FILE [-f FMT] [-o OUT] [--rules [+]FILE]...\n"
"                        [--min-duration MS] [--since TIME] [--until TIME]\n"
"\n"
"TIME: 2024-05-01T12:00:00Z (RFC 3339), \"2024-05-01 12:00:00\" (local time),\n"
"1714564800 (Unix seconds), or +30s / +5m / +1h from the recording's start.\n"
"\n"
"EXAMPLES:\n"
"  loopstall report run.lsr                      # summary and findings\n"
"  loopstall report run.lsr -f html -o run.html  # one self-contained page\n"
"  loopstall report run.lsr -f collapsed | flamegraph.pl > stalls.svg\n"
"  loopstall report run.lsr -f sarif --source-root /srv/app > app.sarif\n"
"  loopstall report run.lsr --since +60s --until +120s --min-duration 100\n"
"\vExit status: 0 ok, 1 findings at --fail-on or a budget broken, 2 usage,\n"
"unreadable recording or output, 3 out of memory. docs/report.md.";

static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") ||
		    !strcmp(argv[i], "-?") || !strcmp(argv[i], "--usage"))
			return true;
	}
	return false;
}

/* Parse a subcommand's options; 0 or an exit code. */
static int parse_cmd(const struct argp *argp, int argc, char **argv, struct cli *c)
{
	error_t err;

	if (wants_help(argc, argv)) {
		argp_help(argp, stdout, ARGP_HELP_STD_HELP, argv[0]);
		return -1;
	}
	c->last_next = 1;
	err = argp_parse(argp, argc, argv, ARGP_NO_EXIT | ARGP_NO_ERRS | ARGP_NO_HELP,
			 NULL, c);
	if (err && !c->bad) {
		const char *near = c->last_next < argc ? argv[c->last_next] : argv[argc - 1];

		return ls_error(LS_EXIT_USAGE, "unknown option or missing value at '%s'; "
				"see `%s --help`", near, argv[0]);
	}
	return err ? LS_EXIT_USAGE : 0;
}

/* `loopstall rules list|check`: argv[0] is "loopstall rules". */
static int rules_main(int argc, char **argv, struct cli *c)
{
	static const struct argp list_argp = {
		rules_list_options, rules_list_parse, NULL, rules_list_doc };
	static const struct argp check_argp = {
		NULL, rules_check_parse, "FILE...", rules_check_doc };
	char name[64];
	int rc;

	if (argc < 2)
		return ls_error(LS_EXIT_USAGE, "rules needs a subcommand: list or check "
				"(loopstall rules --help)");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(rules_usage, stdout);
		return 0;
	}
	snprintf(name, sizeof(name), "loopstall rules %s", argv[1]);
	argv[1] = name;
	if (!strcmp(argv[1] + 16, "list")) {
		rc = parse_cmd(&list_argp, argc - 1, argv + 1, c);
		if (!rc)
			rc = rules_cmd__list(c->files, c->n_files, c->add_default);
	} else if (!strcmp(argv[1] + 16, "check")) {
		rc = parse_cmd(&check_argp, argc - 1, argv + 1, c);
		if (!rc && !c->n_files)
			rc = ls_error(LS_EXIT_USAGE, "rules check needs a FILE "
				      "(loopstall rules check --help)");
		else if (!rc)
			rc = rules_cmd__check(c->files, c->n_files);
	} else {
		rc = ls_error(LS_EXIT_USAGE, "unknown rules subcommand '%s'; use list or check "
			      "(loopstall rules --help)", argv[1] + 16);
	}
	free(c->files);
	return rc < 0 ? 0 : rc;
}

static const struct argp attach_argp = {
	attach_options, attach_parse, NULL, attach_doc, budget_kids,
};
/* The same options under record (without attach's text). */
static const struct argp attach_opts_argp = {
	attach_options, attach_parse, NULL, NULL, budget_kids,
};

static int record_main(int argc, char **argv, struct cli *c)
{
	static const struct argp_child kids[] = {
		{ &attach_opts_argp, 0, "Options shared with attach:", 0 }, {},
	};
	static const struct argp record_argp = {
		record_only_options, record_parse, NULL, record_doc, kids,
	};
	int rc = parse_cmd(&record_argp, argc, argv, c);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (!c->a.output)
		return ls_error(LS_EXIT_USAGE, "record needs a file to write: -o FILE");
	if (!c->a.n_pids == !c->a.command)
		return ls_error(LS_EXIT_USAGE, "record needs processes (-p PID) or a "
				"command (-- CMD ARGS), one of the two");
	c->a.budgets = c->budgets;
	return attach__run(&c->a);
}

static int report_main(int argc, char **argv, struct cli *c)
{
	static const struct argp report_argp = {
		report_options, report_parse, "FILE", report_doc, budget_kids };
	int rc;

	c->rep.version = LOOPSTALL_VERSION;
	rc = parse_cmd(&report_argp, argc, argv, c);
	c->rep.budgets = c->budgets;
	if (!rc && !c->rep.path)
		rc = ls_error(LS_EXIT_USAGE, "report needs a recording: loopstall "
			      "report FILE (see `loopstall report --help`)");
	else if (!rc)
		rc = report__run(&c->rep);
	free(c->rep.rules);
	return rc < 0 ? 0 : rc;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static const struct argp doctor_argp = { doctor_options, doctor_parse, NULL, doctor_doc };
	static const struct argp tasks_argp = { tasks_options, tasks_parse, NULL, tasks_doc };
	struct cli c = {
		.a = {
			.threshold_ns = 50000000ULL,
			.blocked_report_ns = 1000000000ULL,
			.frequency = 199,
			.tasks = true,
			.task_hz = 100,
			.ringbuf_mb = 16,
			.format = OUT_TEXT,
			.fail_on = -1,
			.status = -1,
		},
		.rep = { .fail_on = -1 },
	};
	char name[64];
	int rc;

	c.a.exec_ns = mono_ns();
	/* stdout closed early (`| head -1`): writes fail with EPIPE and the
	 * command ends quietly with 0, instead of dying of SIGPIPE */
	signal(SIGPIPE, SIG_IGN);

	if (argc < 2)
		return ls_error(LS_EXIT_USAGE, "no command; try `loopstall attach -p PID` "
				"or `loopstall --help`");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(top_usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		puts(argp_program_version);
		return 0;
	}
	snprintf(name, sizeof(name), "loopstall %s", argv[1]);
	argv[1] = name;

	if (!strcmp(argv[1] + 10, "attach")) {
		rc = parse_cmd(&attach_argp, argc - 1, argv + 1, &c);
		if (rc)
			return rc < 0 ? 0 : rc;
		if (!c.a.n_pids)
			return ls_error(LS_EXIT_USAGE, "attach needs a process: -p PID");
		c.a.budgets = c.budgets;
		return attach__run(&c.a);
	}
	if (!strcmp(argv[1] + 10, "record"))
		return record_main(argc - 1, argv + 1, &c);
	if (!strcmp(argv[1] + 10, "report"))
		return report_main(argc - 1, argv + 1, &c);
	if (!strcmp(argv[1] + 10, "doctor")) {
		rc = parse_cmd(&doctor_argp, argc - 1, argv + 1, &c);
		if (rc)
			return rc < 0 ? 0 : rc;
		return doctor__run(c.doctor_pid, c.a.btf, c.a.verbose);
	}
	if (!strcmp(argv[1] + 10, "rules"))
		return rules_main(argc - 1, argv + 1, &c);
	if (!strcmp(argv[1] + 10, "tasks")) {
		rc = parse_cmd(&tasks_argp, argc - 1, argv + 1, &c);
		if (rc)
			return rc < 0 ? 0 : rc;
		if (!c.tasks.pid)
			return ls_error(LS_EXIT_USAGE, "tasks needs a process: -p PID");
		return tasks_cmd__run(&c.tasks);
	}
	return ls_error(LS_EXIT_USAGE, "unknown command '%s'; commands: attach, record, "
			"report, tasks, doctor, rules (loopstall --help)", argv[1] + 10);
}
