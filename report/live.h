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
#include "stack.h"
#include "stall.h"
#include "summary.h"

#define LS_SCHEMA_VERSION 1

enum out_format { OUT_TEXT, OUT_JSON };

/* A loop thread, as found. */
struct loop_info {
	uint32_t tid;
	char thread[PYTHREAD_NAME_MAX];
	const char *poll;		/* "epoll", "poll", "select", "uvloop" */
};

/* A session's start: what it watches, and how long attaching took. */
struct session_start {
	uint32_t pid;
	const char *comm;
	const char *py_version;
	bool recording;			/* record, not attach */
	uint64_t threshold_ns;
	uint64_t attach_ns;		/* from loopstall's start to probes live */
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
	uint64_t lost_stalls, lost_samples, lost_threads, dropped_samples;
	const struct summary *sum;	/* finished: summary__finish() */
};

void print_session(FILE *f, enum out_format fmt, const struct session_start *s);
/* A stall; frames resolves its stacks' frame ids. Text shows the dominant
 * stack trimmed to what matters (full: every frame); JSON every stack. */
void print_stall(FILE *f, enum out_format fmt, const struct stall *s,
		 const struct frames *frames, bool full);
void print_blocked(FILE *f, enum out_format fmt, uint32_t pid, uint32_t tid,
		   const char *thread, uint64_t now_unix_ns, uint64_t blocked_ns,
		   int32_t nr);
void print_loop(FILE *f, enum out_format fmt, uint32_t pid,
		const struct loop_info *l);
void print_summary(FILE *f, enum out_format fmt, const struct session_end *e);

/* One frame as a line: '>' for user code, the function in fn_width
 * columns, then file:line or [module] in where_width (its tail kept). */
void print_frame_line(FILE *f, const struct frame *fr, uint32_t reps, int indent, int fn_width,
		      int where_width);

/* The variants. The JSON stall is one object without a newline (report's
 * JSON document holds them in an array). */
void live_text__stall(FILE *f, const struct stall *s, const struct frames *frames,
		      bool full);
void live_text__blocked(FILE *f, uint32_t tid, const char *thread, uint64_t now_unix_ns,
			uint64_t blocked_ns, const char *in);
void live_text__loop(FILE *f, const struct loop_info *l);
void live_text__session(FILE *f, const struct session_start *s);
void live_text__summary(FILE *f, const struct session_end *e);
void live_json__stall(FILE *f, const struct stall *s, const struct frames *frames);
void live_json__blocked(FILE *f, uint32_t pid, uint32_t tid, const char *thread,
			uint64_t now_unix_ns, uint64_t blocked_ns, const char *in);
void live_json__loop(FILE *f, uint32_t pid, const struct loop_info *l);
void live_json__session(FILE *f, const struct session_start *s);
void live_json__summary(FILE *f, const struct session_end *e);

#endif
