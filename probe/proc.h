/* SPDX-License-Identifier: MIT */
/* The processes of a session: one entry per process watched, keyed by
 * its PID (tgid), holding all that is its own — the target, its
 * interpreter, thread names, symbols, loop threads. Events go to the
 * entry of their hdr.pid. Entries live in the heap (their parts point
 * into them) and stay after their process exits, for the summary. */
#ifndef LS_PROC_H
#define LS_PROC_H
#include <stdbool.h>
#include <stdint.h>
#include "live.h"
#include "proctitle.h"
#include "pyproc.h"
#include "pytasks.h"
#include "pythreads.h"
#include "resolve.h"
#include "snapshot.h"
#include "stall.h"
#include "target.h"

/* A process's await timing (taskwatch.c), freed with its interpreter. */
struct taskwatch;
void taskwatch__free(struct taskwatch *w);

enum loop_kind { LOOP_PENDING, LOOP_UNKNOWN, LOOP_ASYNCIO, LOOP_UVLOOP, LOOP_NOT };

#define LOOP_TASKS	4	/* busy intervals whose task is kept */

struct loop_task {
	uint64_t seq;			/* busy interval */
	uint64_t id;			/* the Task's address; 0: none read */
	char name[STALL_TASK_MAX];
	uint32_t n_frames;
	uint32_t *frames;		/* its coroutines, outermost first */
};

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
	/* the asyncio tasks run in its last busy intervals (stalltask.c):
	 * a stall is taken after the next intervals may have begun */
	struct loop_task tasks[LOOP_TASKS];
	uint64_t task_seq;		/* the last interval read */
};

/* The polling threads seen, loops or not. */
struct loops {
	struct loop_state *v;
	unsigned int n;
	uint64_t tstates_at;		/* last thread-state refresh */
	unsigned int rediscover;	/* discoveries retried, no loop found */
};

enum proc_state {
	PROC_PENDING,	/* its CPython not found yet: just started or exec'd */
	PROC_PYTHON,	/* a CPython: its loops watched */
	PROC_OTHER,	/* no CPython (a shell, sleep), or one not supported:
			   skipped; followed, its children are watched */
	PROC_GONE,	/* exited */
};

struct proc {
	uint32_t pid;
	uint32_t ppid;			/* forked by (followed); 0: given */
	enum proc_state state;
	uint32_t flags;			/* LS_PROC_* it is watched with */
	char title[PROC_TITLE_MAX];	/* proctitle.h, read again at each stall */
	int pidfd;			/* readable once it exits; -1 */
	struct target tgt;		/* PROC_PYTHON: its interpreter's object */
	struct pyproc py;
	bool have_py;			/* py is usable: Python frames */
	struct pythreads *names;	/* Python thread names; NULL without py */
	struct pytasks *tasks;		/* its asyncio tasks (stalltask.c); NULL */
	bool tasks_tried;		/* tasks made, or could not be */
	struct taskwatch *tw;		/* its await timing (taskwatch.c); NULL */
	struct resolver res;
	bool res_ready;			/* res initialized */
	struct loops loops;
	uint32_t *tids;			/* thread states handed to BPF */
	uint32_t n_tids;
	uint64_t pending_until;		/* PROC_PENDING: CLOCK_MONOTONIC it gives up */
	bool wait_tstate;		/* PROC_PENDING: found only with a thread state
					   (an interpreter starting) */
	bool announced;			/* its "watching" said */
	bool was_python;		/* it ran a CPython at some point */
	uint64_t start_unix_ns, end_unix_ns;
	char why[256];			/* PROC_OTHER: why */
	int open_err;			/* enum target_err of its last look */
	uint64_t plain_ino, plain_dev;	/* its executable, looked at: no CPython */
	char rec_title[PROC_TITLE_MAX];	/* its title in the recording */
	uint64_t rec_end;		/* its end there */
	bool recorded;
};

/* The table, in the order processes were added. */
struct procs {
	struct proc **v;
	unsigned int n;
	struct proc *last;		/* the last one found (a lookup cache) */
};

/* The entry of pid not gone (the newest with that PID), or NULL. */
struct proc *procs__find(struct procs *t, uint32_t pid);
/* The newest entry of pid, gone or not, or NULL. */
struct proc *procs__find_any(struct procs *t, uint32_t pid);
/* A new PROC_PENDING entry for pid, its pidfd open. NULL on ENOMEM. */
struct proc *procs__add(struct procs *t, uint32_t pid, uint32_t ppid);
/* How many entries are in state st. */
unsigned int procs__count(const struct procs *t, enum proc_state st);
void procs__free(struct procs *t);

/* True while its process lives. */
bool proc__alive(const struct proc *p);
/* Its interpreter, names, symbols and loops dropped (exec, exit). */
void proc__drop_python(struct proc *p);
/* As the printers name it. */
void proc__info(const struct proc *p, struct proc_info *out);
void loops__free(struct loops *l);

#endif
