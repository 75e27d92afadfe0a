/* Stall assembly: samples wait per thread until their busy interval turns
 * into a stall (kept) or ends below the threshold (dropped). */
#ifndef LS_STALL_H
#define LS_STALL_H
#include <stdbool.h>
#include <stdint.h>
#include "events.h"

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
struct stall_finding {
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
	struct stall_finding *findings;	/* in rule order */
	/* the thread holding the GIL the loop waited for, if it did */
	uint32_t gil_tid;
	char gil_thread[16];
	uint32_t n_gil_frames;
	uint32_t *gil_frames;		/* its Python stack, innermost first */
};

struct pending;

struct assembler {
	struct pending *v;
	unsigned int n, cap;
	unsigned int max_samples;	/* kept per busy interval */
	uint64_t samples_dropped;	/* beyond max_samples */
};

void assembler__init(struct assembler *a, unsigned int max_samples);
void assembler__free(struct assembler *a);
/* Keep a sample for its (tid, seq), with its resolved frames and the kind
 * of the fd its syscall works on (enum fd_kind, -1 unknown); drops the
 * samples of older intervals of tid. */
int assembler__add_sample(struct assembler *a, const struct ls_sample *s,
			  const uint32_t *frames, uint32_t n_frames, int fd_kind);
/* The weight of off-CPU sample id of (tid, seq), known when the thread
 * came back on CPU. 0, or -ENOENT when that sample is not kept. */
int assembler__set_weight(struct assembler *a, uint32_t tid, uint64_t seq,
			  uint32_t id, uint64_t weight_ns);
/* Build the stall of a BPF stall event, taking its samples. Caller fills
 * thread name and wall time and frees with stall__free(). */
struct stall *assembler__complete(struct assembler *a, const struct ls_stall *e);
/* A stall still in progress at tid, from its kept samples (for a session
 * that ends while a loop is blocked). */
struct stall *assembler__ongoing(struct assembler *a, const struct ls_thread *t,
				 uint32_t pid, uint32_t tid, uint64_t now_ns);
void stall__free(struct stall *s);

#endif
