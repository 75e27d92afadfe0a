/* SPDX-License-Identifier: MIT */
/* What attach and record print as a session runs: a loop found, a loop
 * blocked and counting, each stall, the summary at the end. Every printer
 * has a text variant (live_text.c) and a JSON one (live_json.c, one object
 * per line: docs/json.md). */
#ifndef LS_LIVE_H
#define LS_LIVE_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "budget.h"
#include "stack.h"
#include "stall.h"
#include "summary.h"

#define LS_SCHEMA_VERSION 1

enum out_format { OUT_TEXT, OUT_JSON };

/* A loop thread, as found. */
struct loop_info {
	uint32_t pid, tid;
	char thread[PYTHREAD_NAME_MAX];
	const char *poll;		/* "epoll", "poll", "select", "uvloop" */
};

/* A process of the session, as the printers name it. */
struct proc_info {
	uint32_t pid;
	uint32_t ppid;			/* the process it was forked by, followed;
					   0: given (-p, the command) */
	const char *title;		/* proctitle.h: its setproctitle title, or
					   its arguments */
	const char *comm;
	const char *py_version;		/* "3.11.2" */
};

/* A session's start: what it watches, and how long attaching took. */
struct session_start {
	uint32_t pid;			/* the first CPython process */
	const char *comm;
	const char *py_version;
	bool recording;			/* record, not attach */
	uint64_t threshold_ns;
	uint64_t attach_ns;		/* from loopstall's start to probes live */
	/* a session of several processes (-p A,B), or following them
	 * (--subprocesses): they are named wherever a stall is */
	bool multi;
	bool follow;			/* --subprocesses */
	uint32_t n_procs;
	const struct proc_info *procs;	/* the CPython processes found so far */
};

/* How a session ended, and what it saw. */
struct session_end {
	uint32_t pid;
	const char *comm;
	const char *py_version;
	const char *ended_by;		/* "target exit", "signal", "duration" */
	uint64_t span_ns;
	uint64_t threshold_ns;
	uint32_t n_loops;
	const struct loop_info *loops;	/* in the order they were found */
	bool multi;			/* as session_start's */
	uint32_t n_procs;
	const struct proc_info *procs;	/* every CPython process watched, in the
					   order found */
	uint64_t lost_stalls, lost_samples, lost_threads, dropped_samples;
	uint64_t lost_procs;		/* new processes not followed, process events */
	const struct summary *sum;	/* finished: summary__finish() */
	uint32_t task_hz;		/* await timing's rate asked; 0: off */
	uint64_t task_ticks;		/* the task reads made */
	uint64_t task_span_ns;		/* from the first to the last */
	uint32_t tasks_max;		/* the most tasks one read saw */
	const struct budget_result *budgets;	/* judged (budget.h) */
	int n_budgets;
};

/* print_stall() flags */
#define LIVE_FULL_STACKS	1	/* every frame, not the trimmed stack */
#define LIVE_PROCESS		2	/* text: name the stall's process (multi) */

void print_session(FILE *f, enum out_format fmt, const struct session_start *s);
/* A stall; frames resolves its stacks' frame ids. Text shows the dominant
 * stack trimmed to what matters (LIVE_FULL_STACKS: every frame); JSON
 * every stack. */
void print_stall(FILE *f, enum out_format fmt, const struct stall *s,
		 const struct frames *frames, unsigned int flags);
/* p: the loop's process; multi: name it in text. */
void print_blocked(FILE *f, enum out_format fmt, const struct proc_info *p, bool multi,
		   uint32_t tid, const char *thread, uint64_t now_unix_ns, uint64_t blocked_ns,
		   int32_t nr);
void print_loop(FILE *f, enum out_format fmt, const struct proc_info *p, bool multi,
		const struct loop_info *l);
/* A process found once the session runs (forked, exec'd into a CPython,
 * started) and one that exited, with what it saw (NULL: none); a session
 * of several processes only. */
void print_proc_start(FILE *f, enum out_format fmt, const struct proc_info *p);
void print_proc_exit(FILE *f, enum out_format fmt, const struct proc_info *p,
		     const struct proc_summary *ps, uint64_t threshold_ns, uint64_t now_unix_ns);
void print_summary(FILE *f, enum out_format fmt, const struct session_end *e);

/* One frame as a line: '>' for user code, the function in fn_width
 * columns, then file:line or [module] in where_width (its tail kept). */
void print_frame_line(FILE *f, const struct frame *fr, uint32_t reps, int indent, int fn_width,
		      int where_width);

/* The variants. The JSON stall is one object without a newline (report's
 * JSON document holds them in an array). */
void live_text__stall(FILE *f, const struct stall *s, const struct frames *frames,
		      unsigned int flags);
void live_text__blocked(FILE *f, const struct proc_info *p, uint32_t tid, const char *thread,
			uint64_t now_unix_ns, uint64_t blocked_ns, const char *in);
void live_text__loop(FILE *f, const struct proc_info *p, const struct loop_info *l);
void live_text__session(FILE *f, const struct session_start *s);
void live_text__proc_start(FILE *f, const struct proc_info *p);
void live_text__proc_exit(FILE *f, const struct proc_info *p, const struct proc_summary *ps,
			  uint64_t threshold_ns);
void live_text__summary(FILE *f, const struct session_end *e);
/* The tasks' waits of s: the slowest await lines, the sequential awaits
 * found (hz: the rate they were read at). */
void live_text__awaits(FILE *f, const struct summary *s, uint32_t hz);
/* The same as JSON members: ,"awaits":[…],"sequential_awaits":[…] */
void live_json__awaits(FILE *f, const struct summary *s);
/* The loop lag l (every busy interval, over span_ns): one line, lead
 * first, "busy      p50 0.4 ms  p90 2.1 ms  p99 31.0 ms  max 1.20 s
 * (412/s)"; nothing when none was counted. */
void live_text__lag(FILE *f, const char *lead, const struct lag *l, uint64_t span_ns);
/* The same as a JSON member: ,"busy":{"intervals":…,"buckets":[…]} */
void live_json__lag(FILE *f, const struct lag *l);
/* The budgets judged: each broken one as a line "loopstall: budget: …"
 * (text, to stderr), or as a JSON member ,"budgets":[…] (every one). */
void live_text__budgets(FILE *f, const struct budget_result *b, int n);
void live_json__budgets(FILE *f, const struct budget_result *b, int n);
/* A sequential-await finding as it is first seen: text (its three lines,
 * the first after lead) or a JSON event "sequential_await". */
void print_await(FILE *f, enum out_format fmt, const struct await_finding *g,
		 const struct frames *frames);
void live_text__await(FILE *f, const struct await_finding *g, const struct frames *frames,
		      const char *lead);
void live_json__await(FILE *f, const struct await_finding *g, const struct frames *frames);
void live_json__stall(FILE *f, const struct stall *s, const struct frames *frames);
void live_json__blocked(FILE *f, const struct proc_info *p, uint32_t tid, const char *thread,
			uint64_t now_unix_ns, uint64_t blocked_ns, const char *in);
void live_json__loop(FILE *f, const struct proc_info *p, const struct loop_info *l);
void live_json__session(FILE *f, const struct session_start *s);
void live_json__proc(FILE *f, const char *event, const struct proc_info *p,
		     const struct proc_summary *ps, uint64_t now_unix_ns);
void live_json__summary(FILE *f, const struct session_end *e);
/* "PID 4260 (title)" in at most width columns: the title gives way. */
void live_text__proc_name(FILE *f, const struct proc_info *p, int width);

#endif
