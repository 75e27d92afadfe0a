/* SPDX-License-Identifier: MIT */
/* Stall assembly: samples wait per thread until their busy interval turns
 * into a stall (kept) or ends below the threshold (dropped). */
#ifndef LS_ASSEMBLER_H
#define LS_ASSEMBLER_H
#include <stdbool.h>
#include <stdint.h>
#include "events.h"
#include "stall.h"

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
/* Drop every sample kept of process pid (it exited, or exec'd: its TIDs
 * start new intervals). */
void assembler__drop_pid(struct assembler *a, uint32_t pid);
/* The weight of off-CPU sample id of (tid, seq), known when the thread
 * came back on CPU. 0, or -ENOENT when that sample is not kept. */
int assembler__set_weight(struct assembler *a, uint32_t tid, uint64_t seq,
			  uint32_t id, uint64_t weight_ns);
/* The thread's held off-CPU stack (BPF map "offcpu_slots": the latest
 * wait of its busy interval not sent at switch-out) is part of the stall
 * cut at now_ns, a session ending while the loop is busy, as BPF makes it
 * part of a stall that ends (send_held()): true when the off-CPU time no
 * sent sample stands for is not zero, or the interval has no sample at
 * all; *weight_ns is that time, the wait in progress included. False when
 * the wait in progress has a sent sample: that sample gets its time
 * (assembler__set_weight). */
bool assembler__held_needed(const struct ls_thread *t, uint64_t now_ns, uint64_t *weight_ns);
/* Build the stall of a BPF stall event, taking its samples. Caller fills
 * thread name and wall time and frees with stall__free(). */
struct stall *assembler__complete(struct assembler *a, const struct ls_stall *e);
/* A stall still in progress at tid, from its kept samples (for a session
 * that ends while a loop is blocked). */
struct stall *assembler__ongoing(struct assembler *a, const struct ls_thread *t,
				 uint32_t pid, uint32_t tid, uint64_t now_ns);
/* The same, its samples copied, not taken: the interval goes on. */
struct stall *assembler__peek(struct assembler *a, const struct ls_thread *t,
			      uint32_t pid, uint32_t tid, uint64_t now_ns);

#endif
