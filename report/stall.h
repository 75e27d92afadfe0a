/* SPDX-License-Identifier: MIT */
/* The stall model: a loop's busy interval past the threshold, with its
 * stacks, waits and findings. What the session assembles, the recording
 * stores, the rules judge and every output prints. */
#ifndef LS_STALL_H
#define LS_STALL_H
#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include "loopstall.h"
#include "proctitle.h"
#include "pythreads.h"
#include "stack.h"

struct stack_count {
	uint32_t kind;			/* enum ls_sample_kind */
	int32_t nr;			/* syscall at the sample, -1 none */
	int32_t fd_kind;		/* of the fd it works on, -1 unknown */
	uint64_t args[6];		/* the syscall's arguments (first sample's) */
	uint32_t count;			/* samples */
	uint64_t weight_ns;		/* time they stand for */
	uint32_t n_frames;
	uint32_t *frames;		/* frame ids (symbolizer/stack.h), innermost first */
};

struct rule;

/* A finding, resolved for output: the rule, where, and why. */
struct finding {
	const struct rule *rule;
	char *file;			/* call site */
	int line;
	char *function;
	char *code;			/* its source line, or NULL */
	uint32_t segment;		/* the part of the stall it was found in */
	uint64_t ns;			/* the time it stands for */
	double share;			/* of the stall: ns / duration */
	/* a GIL wait: the call site is the holder's; where the loop waited */
	char *loop_file;
	int loop_line;
	char *loop_function;
	char evidence[256];
};

/* A part of a stall: the samples under one call site (report/segments.h),
 * or, folded together, those of call sites too small to judge alone. */
struct segment {
	uint32_t site;			/* frame id of the call site; UINT32_MAX:
					   none (other, or no frame) */
	uint32_t loop_site;		/* a GIL wait: the loop's own call site */
	bool gil;			/* the loop waited for the GIL */
	bool other;			/* small call sites folded together */
	uint64_t ns, on_ns, off_ns;	/* time, on and off CPU */
	uint32_t n_stacks;
	uint32_t *stacks;		/* indexes into the stall's stacks */
};

#define STALL_TASK_MAX	64	/* bytes of a task's name, NUL included */

struct stall {
	uint32_t pid, tid;
	char process[PROC_TITLE_MAX];	/* its process's title then (proctitle.h);
					   "" when unknown */
	char thread[PYTHREAD_NAME_MAX];	/* its Python name, else its OS name */
	uint64_t seq;
	uint64_t start_ns;		/* CLOCK_MONOTONIC */
	uint64_t start_unix_ns;
	uint64_t duration_ns;
	uint64_t on_cpu_ns, off_cpu_ns;
	int32_t end_nr;			/* loop-wait syscall that ended it */
	bool ongoing;			/* still blocked when reported */
	bool before_attach;		/* began before loopstall attached: it
					   lasted longer than measured */
	uint32_t n_waits;
	struct ls_wait waits[LS_MAX_WAITS];	/* sorted, longest first */
	uint32_t samples_on, samples_off;
	uint32_t samples_sent;		/* BPF's count of samples sent */
	uint32_t samples_lost;		/* ring buffer full, or over the cap */
	uint64_t first_sample_ns;	/* earliest sample, from start_ns */
	uint64_t last_sample_ns;	/* latest sample, from start_ns */
	uint32_t n_stacks;
	struct stack_count *stacks;	/* sorted, heaviest first */
	uint32_t n_segments;
	struct segment *segments;	/* largest first, "other" last */
	uint64_t unsampled_ns;		/* time no sample stands for */
	uint32_t n_findings;
	struct finding *findings;	/* by segment, then in rule order */
	/* the thread holding the GIL the loop waited for, if it did */
	uint32_t gil_tid;
	char gil_thread[PYTHREAD_NAME_MAX];
	uint32_t n_gil_frames;
	uint32_t *gil_frames;		/* its Python stack, innermost first */
	/* the asyncio task the loop ran in the stall, when one was read */
	uint64_t task_id;		/* its Task object's address; 0: none */
	char task[STALL_TASK_MAX];	/* its name (`Task-42`, or the code's) */
	uint32_t n_task_frames;
	uint32_t *task_frames;		/* its coroutines, outermost first */
};

void stall__free(struct stall *s);

/* The finding a stall's time counts under: its most severe, the one with
 * the most time among equals, then the first. NULL when it has none. */
const struct finding *stall__primary(const struct stall *st);
/* The same among the findings of segment seg. */
const struct finding *stall__segment_primary(const struct stall *st, uint32_t seg);
/* The frame that says where a stall was: the innermost user Python frame
 * of its heaviest stack, else its innermost Python frame, else its
 * innermost frame. NULL when it has no stack. */
const struct frame *stall__top_frame(const struct stall *st, const struct frames *frames);
/* The stack a finding was seen in: the heaviest with a frame at its call
 * site (file and line, else file and function), else the heaviest. NULL
 * when the stall has no stack. */
const struct stack_count *stall__site_stack(const struct stall *st, const struct finding *fd,
					    const struct frames *frames);
/* Why a stall has no stack, said to the reader ("not sampled: …"); NULL
 * when it has one. A loop that left the CPU during a stall always has the
 * stack of a wait (bpf/README.md): what remains is a ring buffer with no
 * room, or a stall on the CPU throughout that no sampling tick fell in
 * (on-CPU ticks come every 1/F s, from a tenth of the threshold in). */
const char *stall__unsampled_why(const struct stall *st);
/* The frames of a stack worth showing: innermost native frames until the
 * first Python frame, then Python frames out to the outermost user frame
 * (native frames between them only when not the interpreter's own).
 * Writes indexes into sc->frames; returns how many. */
int stack__trim(const struct stack_count *sc, const struct frames *frames,
		uint32_t *idx, int max);
/* Recursion folded for printing: runs of the same frame (function, file
 * and line) among ids[idx[0..n)] become one entry. idx is compacted in
 * place, reps[k] gets each run's length; returns the new count. */
int stack__fold_runs(const uint32_t *ids, uint32_t *idx, uint32_t *reps, int n);

/* A line of a printed stack: a frame (its index in the stack) repeated
 * reps times, or, when elided is not 0, that many frames left out. */
struct stack_line {
	uint32_t idx;
	uint32_t reps;
	uint32_t elided;
};

/* The lines to print of stack sc: trimmed (stack__trim) unless full,
 * recursion folded, and at most max lines, cutting library frames from
 * the middle: the innermost frames (what blocked) and every user frame
 * stay, even past max. Returns the count written to out (LS_MAX_STACK
 * entries are enough). */
int stack__lines(const struct stack_count *sc, const struct frames *frames, bool full,
		 int max, struct stack_line *out);

#endif
