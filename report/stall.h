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
	double share;			/* of the stall the rule holds on */
	char evidence[256];
};

struct stall {
	uint32_t pid, tid;
	char thread[16];
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
	uint32_t n_findings;
	struct finding *findings;	/* in rule order */
	/* the thread holding the GIL the loop waited for, if it did */
	uint32_t gil_tid;
	char gil_thread[16];
	uint32_t n_gil_frames;
	uint32_t *gil_frames;		/* its Python stack, innermost first */
};

void stall__free(struct stall *s);

/* The finding a stall's time counts under: its most severe, the first in
 * rule order among equals. NULL when it has none. */
const struct finding *stall__primary(const struct stall *st);
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

#endif
