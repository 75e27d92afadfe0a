/* SPDX-License-Identifier: MIT */
/* The live session of attach and record, by concern: the BPF probes
 * (probes.c), the target and its interpreter (target.c, symbolizer/), the
 * loop threads found (loops.c), and what is made of each stall (attach.c:
 * the summary, the recording, the printed stall). */
#ifndef LS_SESSION_H
#define LS_SESSION_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "assembler.h"
#include "attach.h"
#include "held.h"
#include "pyproc.h"
#include "pythreads.h"
#include "recording.h"
#include "resolve.h"
#include "snapshot.h"
#include "rule.h"
#include "summary.h"
#include "target.h"

/* The BPF side: the skeleton, the ring buffer, the on-CPU perf events. */
struct probes {
	struct loopstall_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link **perf_links;
	int n_perf;
};

enum loop_kind { LOOP_PENDING, LOOP_UNKNOWN, LOOP_ASYNCIO, LOOP_UVLOOP, LOOP_NOT };

struct loop_state {
	struct loop_info info;
	enum loop_kind kind;
	/* who held the GIL while this loop last waited for it */
	uint64_t gil_seq;
	bool gil_wait;			/* gil_seq waits for the GIL: who holds it
					   is read until it runs its own code */
	uint32_t gil_tid;
	bool gil_named;				/* gil_thread is its Python name */
	char gil_thread[PYTHREAD_NAME_MAX];	/* its name then */
	uint32_t n_gil_frames;
	uint32_t *gil_frames;
	uint64_t blocked_seq;		/* busy interval last reported as blocked */
	uint64_t blocked_secs;		/* whole seconds reported for it */
	unsigned int tries;		/* classifications that could not tell */
	/* found busy at attach: that interval began before it */
	uint64_t attach_seq;		/* 0: found in its poll, or by BPF */
	bool attach_off_cpu;		/* blocked in attach_sc, not running */
	struct thread_syscall attach_sc;
};

/* The polling threads seen, loops or not. */
struct loops {
	struct loop_state *v;
	unsigned int n;
	uint64_t tstates_at;		/* last thread-state refresh */
	unsigned int rediscover;	/* discoveries retried, no loop found */
};

/* What the session made of its stalls. */
struct session_out {
	struct summary sum;
	struct recorder *rec;		/* record: where stalls go */
	int rec_err;			/* first write error, e.g. -ENOSPC */
	uint32_t recorded, rec_lost;
};

struct session {
	const struct attach_opts *o;
	struct target tgt;
	struct pyproc py;
	bool have_py;
	struct pythreads *names;	/* Python thread names; NULL without py */
	pid_t child;			/* record -- CMD: our child, 0 otherwise */
	struct probes bpf;
	struct assembler as;
	struct resolver res;
	uint32_t *ids;			/* scratch: one sample's frames */
	uint64_t start_ns;		/* CLOCK_MONOTONIC */
	uint64_t live_ns;		/* when the probes were attached */
	uint64_t mono_to_unix;
	struct loops loops;
	struct held held;		/* stalls of threads not classified yet */
	struct rule_pack rules;
	struct session_out out;
};

/* probes.c: open → configure → load → attach the BPF programs for tgid,
 * the ring buffer calling fn(ctx) per event. 0 or an exit code, its error
 * line printed. */
int probes__start(struct probes *p, const struct attach_opts *o, int tgid,
		  int (*fn)(void *ctx, void *data, size_t size), void *ctx);
void probes__stop(struct probes *p);

/* loops.c */
/* Hand BPF the thread states of the target's threads. 0 or -ENOMEM. */
int loops__tstates(struct session *s);
/* The loop state of tid, created when first seen and classified while it
 * is in its poll; NULL only on -ENOMEM. */
struct loop_state *loops__get(struct session *s, uint32_t tid, uint32_t poll_kind,
			      bool in_poll);
struct loop_state *loops__find(struct session *s, uint32_t tid);
/* At attach: the target's asyncio and uvloop loops, told by their Python
 * stacks, handed to BPF at once: in their poll, or busy since before
 * attach (their interval counts from now; attach_seq says so). 0 or
 * -ENOMEM. */
int loops__discover(struct session *s);
/* The name of thread tid: its Python name, else its OS name, else "?";
 * made printable. True when it is its Python name. */
bool loops__thread_name(struct session *s, uint32_t tid, char *buf, size_t len);
/* The PyThreadState of tid, 0 when unknown. */
uint64_t loops__tstate(struct session *s, uint32_t tid);
/* New loop threads, and loops blocked long enough to say so now. 0 or
 * -ENOMEM. */
int loops__scan(struct session *s);
/* The loop waits for the GIL: note who holds it now. 0 or -ENOMEM. */
int loops__gil_holder(struct session *s, uint32_t tid, uint64_t seq);
/* Loops waiting for the GIL whose holder was read before its own code
 * ran (threading's bootstrap): read it again. 0 or -ENOMEM. */
int loops__gil_recheck(struct session *s);
/* Hand the stall what its loop saw of the GIL holder in that interval. */
void loops__gil_to_stall(struct session *s, struct stall *st);
void loops__free(struct loops *l);

/* spawn.c: record -- CMD: a child that execs argv once a byte arrives on
 * *go_fd. Its PID, or -errno. */
int spawn__waiting(char **argv, int *go_fd);

/* -v: "loopstall: 12.3 ms  WHAT": when a step of attaching ended, from
 * loopstall's start (bench/startup reads these lines). */
void attach__step(const struct attach_opts *o, const char *what);
uint64_t now_mono(void);
uint64_t now_real(void);

#endif
