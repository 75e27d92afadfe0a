/* SPDX-License-Identifier: MIT */
/* `loopstall attach` and `record`: their options, and the session that
 * runs them (probe/session.c). */
#ifndef LS_ATTACH_H
#define LS_ATTACH_H
#include <stdbool.h>
#include <stdint.h>
#include "budget.h"
#include "live.h"

#define ATTACH_MAX_PIDS	256	/* PIDs given with -p, at most */

struct attach_opts {
	uint32_t pids[ATTACH_MAX_PIDS];	/* -p PID (repeatable, or PID,PID) */
	uint32_t n_pids;
	bool follow;			/* --subprocesses: and their descendants,
					   those started later too */
	uint64_t threshold_ns;		/* a busy interval this long is a stall */
	uint64_t duration_ns;		/* 0: until Ctrl-C or the target exits */
	uint64_t blocked_report_ns;	/* report a loop blocked this long, live */
	uint32_t frequency;		/* on-CPU samples per second */
	uint32_t ringbuf_mb;
	enum out_format format;
	const char *btf;		/* BTF file instead of the kernel's */
	bool full_stacks;		/* every frame, not the trimmed stack */
	bool tasks;			/* read asyncio tasks (--no-tasks: not) */
	uint32_t task_hz;		/* await timing: task reads a second */
	char **rules;			/* --rules files (replace the default pack) */
	int n_rules;
	bool add_default;		/* --rules +FILE: add to the default pack */
	int fail_on;			/* exit 1 at a finding this severe; -1: never */
	struct budgets budgets;		/* exit 1 when one is broken */
	const char *output;		/* record: the recording to write */
	bool force;			/* record --force: another user's file too */
	char **command;			/* record -- CMD ARGS: start and watch it */
	bool verbose;
	int status;			/* the status line: 1 on, 0 off, -1 when
					   stderr is a terminal */
	bool quiet;			/* print only the summary */
	const char *metrics;		/* --metrics ADDR:PORT; NULL: none */
	uint64_t exec_ns;		/* CLOCK_MONOTONIC when loopstall started */
};

/* Runs the session; returns the exit code (enum ls_exit). */
int attach__run(const struct attach_opts *o);

#endif
