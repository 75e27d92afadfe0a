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
#include "proc.h"
#include "prom.h"
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

/* The live status line (status.c). */
struct status {
	bool on, drawn;
	int width;			/* the terminal's columns */
	uint64_t next_ns;		/* the next redraw */
	uint64_t last_ns, last_count;	/* busy intervals counted then */
	double rate;			/* busy intervals a second */
	char line[256];
};

/* --metrics: the listening socket (-1: none), the stalls by rule. */
struct metrics {
	int fd;
	struct prom_counts counts;
};

/* What the session made of its stalls. */
struct session_out {
	struct summary sum;
	struct recorder *rec;		/* record: where stalls go */
	int rec_err;			/* first write error, e.g. -ENOSPC */
	uint32_t recorded, rec_lost;
	bool created;			/* the recording's file did not exist */
	struct awaits aw_new;		/* record: waits not written yet */
	uint64_t aw_written_ns;		/* when they last were */
	uint64_t lag_written_ns;	/* the loop lag, last written */
};

struct session {
	const struct attach_opts *o;
	bool multi;			/* several processes may be watched: name them */
	struct procs procs;		/* every process watched, by PID */
	pid_t child;			/* record -- CMD: our child, 0 otherwise */
	struct probes bpf;
	bool live;			/* probes attached */
	struct assembler as;
	struct frames *frames;		/* every process's frames, interned */
	uint32_t *ids;			/* scratch: one sample's frames */
	uint64_t start_ns;		/* CLOCK_MONOTONIC */
	uint64_t busy_read_ns;		/* last session_read_busy() */
	uint64_t lag_read_ns;		/* last looplag__read() */
	uint64_t tw_next_ns, tw_last_ns;	/* taskwatch.c's ticks */
	uint64_t tw_first_ns;
	uint64_t tw_cost;		/* a tick's cost, averaged (ns) */
	uint64_t *said;			/* sequential awaits said (hashes) */
	uint32_t n_said;
	uint64_t tw_ticks;		/* how many, and the most tasks a tick */
	uint32_t tw_tasks_max;
	struct source *aw_src;		/* the functions of the sequences of
					   awaits seen (taskwatch.c), kept past
					   their process */
	uint64_t live_ns;		/* when the probes were attached */
	uint64_t mono_to_unix;
	bool starting;			/* session_start() runs */
	bool banner;			/* the session's start said */
	struct loop_info *found;	/* every loop found, in that order */
	unsigned int n_found;
	struct held held;		/* stalls of threads not classified yet */
	struct rule_pack rules;
	struct session_out out;
	struct status status;
	struct metrics metrics;
};

/* probes.c: open → configure → load the BPF programs (then the processes
 * are put in their maps: probes__watch), then attach them, the ring buffer
 * calling fn(ctx) per event. 0 or an exit code, its error line printed. */
int probes__load(struct probes *p, const struct attach_opts *o);
int probes__attach(struct probes *p, const struct attach_opts *o,
		   int (*fn)(void *ctx, void *data, size_t size), void *ctx);
void probes__stop(struct probes *p);
/* Watch process tgid (flags: LS_PROC_*), its prefilter byte set. 0 or
 * -errno (-E2BIG: LS_MAX_PROCS watched already). */
int probes__watch(struct probes *p, uint32_t tgid, uint32_t flags);
/* The frame walker's layout for tgid's Python frames (NULL: no walk). 0
 * or -errno. */
int probes__set_layout(struct probes *p, uint32_t tgid, const struct ls_py_offsets *off);

/* loops.c: the loop threads of process p */
/* Hand BPF the thread states of p's threads. 0 or -ENOMEM. */
int loops__tstates(struct session *s, struct proc *p);
/* The loop state of tid, created when first seen and classified while it
 * is in its poll; NULL only on -ENOMEM. */
struct loop_state *loops__get(struct session *s, struct proc *p, uint32_t tid,
			      uint32_t poll_kind, bool in_poll);
struct loop_state *loops__find(struct proc *p, uint32_t tid);
/* At attach (or when p is found): p's asyncio and uvloop loops, told by
 * their Python stacks, handed to BPF at once: in their poll, or busy
 * since before (their interval counts from now; attach_seq says so). 0 or
 * -ENOMEM. */
int loops__discover(struct session *s, struct proc *p);
/* The name of thread tid: its Python name, else its OS name, else "?";
 * made printable. True when it is its Python name. */
bool loops__thread_name(struct proc *p, uint32_t tid, char *buf, size_t len);
/* The PyThreadState of tid, 0 when unknown. */
uint64_t loops__tstate(struct session *s, struct proc *p, uint32_t tid);
/* New loop threads of every process, and loops blocked long enough to
 * say so now. 0 or -ENOMEM. */
int loops__scan(struct session *s);
/* The loop waits for the GIL: note who holds it now. 0 or -ENOMEM. */
int loops__gil_holder(struct session *s, struct proc *p, uint32_t tid, uint64_t seq);
/* Loops waiting for the GIL whose holder was read before its own code
 * ran (threading's bootstrap): read it again. 0 or -ENOMEM. */
int loops__gil_recheck(struct session *s);
/* Hand the stall what its loop saw of the GIL holder in that interval. */
void loops__gil_to_stall(struct proc *p, struct stall *st);
/* p runs no loop: its threads' BPF entries dropped (BPF makes no more:
 * LS_PROC_SKIP), its held stalls too. */
void loops__forget(struct session *s, struct proc *p);

/* procs.c: the processes, found and followed */
/* Before the probes: the processes given (-p), and with --subprocesses
 * their descendants; each a CPython or not. 0 or an exit code, its error
 * line printed: a PID that does not exist, or no CPython among them. */
int procs__open(struct session *s);
/* Once the probes are loaded: watch every process known (BPF's watched
 * map, the layouts). 0 or an exit code. */
int procs__watch_all(struct session *s);
/* Once attached, with --subprocesses: descendants started meanwhile. 0
 * or -ENOMEM. */
int procs__rescan(struct session *s);
/* A process of the session forked, exec'd or exited (LS_EV_PROC). 0 or
 * -ENOMEM. */
int procs__event(struct session *s, const struct ls_proc_event *e);
/* The entry of an event's process, made when BPF watches a process the
 * session was not told of (its fork event lost). NULL when not watched. */
struct proc *procs__of_event(struct session *s, uint32_t pid);
/* Processes waiting for their interpreter: another look; those that
 * exited without saying so. 0, -ENOMEM, or an exit code (record -- CMD
 * that runs no CPython). */
int procs__poll(struct session *s);
/* True while a process waits for its interpreter (poll sooner). */
bool procs__pending(const struct session *s);
/* p is a CPython: its thread states, loops, "watching" line, once the
 * probes are live. 0 or -ENOMEM. */
int procs__start(struct session *s, struct proc *p);
/* p exited: its held stalls out, its summary said, its state freed. 0 or
 * -ENOMEM. */
int procs__exit(struct session *s, struct proc *p);
/* The first CPython process found (the recording's and banner's). */
struct proc *procs__first_python(struct session *s);

/* session.c, for procs.c and loops.c */
/* p is a CPython, its probes set: said (the banner, or its own line),
 * recorded, its loops looked for. 0 or -ENOMEM. */
int session__found(struct session *s, struct proc *p);
/* p is said to be watched ("watching PID", a JSON "process" start) once:
 * a process forked is said with its first loop, by then named as its
 * users know it (setproctitle). */
void session__announce(struct session *s, struct proc *p);
/* Held stalls of p's threads classified since (all: those not yet too, p
 * ends) published, or dropped when not loops; p NULL: every process's.
 * 0 or -ENOMEM. */
int session__release(struct session *s, struct proc *p, bool all);
/* record: p's PROCESS record, when new to the recording or changed. */
void session__proc_record(struct session *s, struct proc *p);
/* A loop was found (for the summary). 0 or -ENOMEM. */
int session__loop_found(struct session *s, const struct loop_info *l);

/* stalltask.c: the asyncio task a stall ran in: read once per busy
 * interval, from its first sample (the loop is still running that task),
 * while the thread stays in that interval; handed to the stall when it
 * ends. */
/* A sample of busy interval seq of thread tid of p arrived: read the task
 * running on it, once for seq. 0, or -ENOMEM. */
int stalltask__sample(struct session *s, struct proc *p, uint32_t tid, uint64_t seq);
/* Loops of every process busy for half the threshold by now whose task
 * is not read yet (blocked in a wait: no sample comes before its end),
 * read now. 0, or -ENOMEM. */
int stalltask__busy(struct session *s, uint64_t now);
/* The task read for st's busy interval, if any, into st. */
void stalltask__to_stall(struct proc *p, struct stall *st);

/* taskwatch.c: await timing (docs/awaits.md). Every --task-hz (100 by
 * default) the suspension points of every task of every process with a
 * loop are read (memory reads only: symbolizer/pytasks.h), so that each
 * coroutine's life becomes a sequence of "waited N ms at line L". The
 * waits of the user's coroutines go to the session's awaits
 * (report/awaits.h), per line and as sequences of one call's waits in
 * turn. Its own cost is kept under TASKWATCH_BUDGET of a core: a tick that
 * costs more spaces the next ones out. */
#define TASKWATCH_BUDGET	0.03	/* of a core, at most */
#define TASKWATCH_IDS_EVERY	10	/* ticks between two task lists */

/* Nanoseconds until the next tick is due (0: now; UINT64_MAX: off). */
uint64_t taskwatch__due(const struct session *s, uint64_t now);
/* A tick, when due: every process's tasks read, their waits followed.
 * 0 or -ENOMEM. */
int taskwatch__tick(struct session *s, uint64_t now);
/* p ends (or the session): its coroutine calls' sequences handed over
 * (a wait still going on is not counted), its state freed. 0 or -ENOMEM. */
int taskwatch__end(struct session *s, struct proc *p);

/* looplag.c: the loops' busy intervals from BPF into the summary (at most
 * every 200 ms; all: now), 0 or -ENOMEM; and into the recording (every
 * 10 s; all: now; an error warned once and kept in out.rec_err). */
int looplag__read(struct session *s, uint64_t now, bool all);
void looplag__record(struct session *s, uint64_t now, bool all);

/* status.c: the status line on stderr, on when want > 0, or when want < 0
 * and stderr is a terminal; redrawn by tick at most 4 times a second;
 * cleared before any message and by clear (session__out()); end clears
 * it for good. */
void status__init(struct status *st, int want);
void status__tick(struct status *st, const struct session *s, uint64_t now);
void status__clear(struct status *st);
void status__end(struct status *st);
/* Where the session's live lines go: stdout, the status line cleared
 * first; NULL with --quiet (only the summary is printed). */
FILE *session__out(struct session *s);

/* metrics.c: --metrics ADDR:PORT (NULL: none) bound now, or an exit code
 * with its error line; poll answers the requests waiting; close. */
int metrics__open(struct metrics *m, const char *addr);
void metrics__poll(struct session *s);
void metrics__close(struct metrics *m);

/* spawn.c: record -- CMD: a child that execs argv once a byte arrives on
 * *go_fd. Its PID, or -errno. */
int spawn__waiting(char **argv, int *go_fd);

/* -v: "loopstall: 12.3 ms  WHAT": when a step of attaching ended, from
 * loopstall's start (bench/startup reads these lines). */
void attach__step(const struct attach_opts *o, const char *what);
uint64_t now_mono(void);
uint64_t now_real(void);

#endif
