/* SPDX-License-Identifier: MIT */
/* The target's asyncio tasks, read from outside: every Task of every loop
 * (id, name, state, coroutine chain, who awaits it) and the task running
 * now on a thread. C `_asyncio` tasks only (asyncio's and uvloop's);
 * 3.11-3.13 through the C module's layout and `asyncio.tasks`' sets,
 * 3.14+ through the interpreter's own lists and `_AsyncioDebug` offsets.
 * Facts: docs/cpython-layouts.md ("asyncio tasks"). */
#ifndef LS_PYTASKS_H
#define LS_PYTASKS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "pyproc.h"

#define PYTASK_NAME_MAX		64	/* bytes of a task name, NUL included */
#define PYTASK_MAX_FRAMES	32	/* coroutines of one task's chain */
#define PYTASK_MAX_AWAITERS	16	/* tasks awaiting one task, kept */
#define PYTASKS_MAX		65536	/* tasks of one process looked at */

enum pytask_state {
	PYTASK_PENDING = 0,	/* fut_state, the same in 3.11-3.15 */
	PYTASK_CANCELLED = 1,
	PYTASK_DONE = 2,
};

/* One coroutine of a task's chain, as the frame walker gives frames: the
 * code object, its guard, the code unit the coroutine is suspended at
 * (pysym.h turns them into qualname, file, line). */
struct pytask_frame {
	uint64_t code;
	uint32_t guard;
	uint32_t lasti;
};

struct pytask {
	uint64_t id;			/* the Task object's address */
	uint64_t loop;			/* its loop object's address */
	uint64_t waits_on;		/* fut_waiter: the future it awaits, 0 */
	char name[PYTASK_NAME_MAX];	/* UTF-8, control characters as '?' */
	enum pytask_state state;
	uint32_t tid;			/* host TID running it now, 0: none */
	/* the coroutine chain, outermost (the task's coroutine) first */
	struct pytask_frame frames[PYTASK_MAX_FRAMES];
	uint16_t n_frames;
	bool frames_cut;		/* the chain went on past the last */
	/* tasks awaiting this one (ids), in no order */
	uint64_t awaited_by[PYTASK_MAX_AWAITERS];
	uint16_t n_awaited_by;
};

/* The per-version offsets of asyncio's objects (table in pytasks.c; the
 * task and thread-state ones from the target's _AsyncioDebug on 3.14+). */
struct py_task_offsets {
	/* FutureObj / TaskObj */
	uint32_t fut_loop, fut_callback0, fut_state;
	uint32_t task_fut_waiter, task_coro, task_name;
	/* 3.14+: the awaiters (a task, or a set of them), the list node */
	uint32_t task_awaited_by, task_awaited_by_is_set, task_node;
	/* generators and coroutines: the embedded frame, its state byte */
	uint32_t gen_iframe, gen_frame_state;
	int8_t state_yield_from, state_yield_from2, state_cleared;
	/* the awaited object on the frame's stack: 3.11-3.13 an int stacktop
	 * (slots from localsplus), 3.14+ a stack pointer, minus await_back */
	uint32_t frame_stack;
	uint32_t frame_localsplus;		/* 0: frame_stack is a pointer */
	uint32_t await_back;			/* bytes below the stack pointer */
	/* where a thread's running loop and task are: 3.11/3.12 the
	 * thread's dict (3.11 a holder, loop at holder_loop), 3.13 a field
	 * (loop only), 3.14+ fields and the task lists */
	uint32_t tstate_dict, holder_loop;
	uint32_t tstate_loop, tstate_task, tstate_tasks_head, interp_tasks_head;
	/* objects: set, weakref, list, bound method, type's tp_dictoffset,
	 * tp_base */
	uint32_t set_used, set_mask, set_table, weakref_obj;
	uint32_t list_size, list_items, method_self, type_dictoffset, type_base;
};

/* The _AsyncioDebug section's bytes (104 on 3.14 and 3.15) over o: 0, or
 * -EINVAL when they are no such offsets. Pure. */
int pytasks__parse_debug(struct py_task_offsets *o, const uint8_t *b, size_t len);

struct pytasks;

/* A reader of p's tasks (p must outlive it). NULL: ENOMEM, or -ENOTSUP
 * in *err when the version has no table entry. */
struct pytasks *pytasks__new(const struct pyproc *p, int *err);
void pytasks__free(struct pytasks *t);
/* Every task now, at most max, into out: their count (0: asyncio not
 * imported, or no tasks), or -errno. awaited_by filled, cycles kept. */
int pytasks__list(struct pytasks *t, struct pytask *out, int max);
/* The task running now on the thread whose state is tstate (host TID
 * tid): the current task of the loop running on it. 0, -ENOENT (no loop
 * running there, or no task), or -errno. */
int pytasks__running(struct pytasks *t, uint64_t tstate, uint32_t tid, struct pytask *out);

/* Await timing (probe/taskwatch.c): each task's suspension point now,
 * read cheaply (batched reads, no names, no awaiters), many times a
 * second. A task is a link chain, outermost (its coroutine) first: each
 * coroutine, where it is suspended and what it awaits there. */
#define PYTASK_WAIT_DEPTH	8

struct pytask_link {
	uint64_t coro;		/* the coroutine object */
	uint64_t code;
	uint64_t awaits;	/* the object awaited: the next link's
				   coroutine, or a future; 0 unknown */
	uint32_t lasti;		/* code unit it is suspended at */
};

struct pytask_wait {
	uint64_t id, type;	/* the task and its type: pytasks__ids() */
	uint64_t fut;		/* the future it awaited at the last read */
	bool read;		/* its chain was read once: kept while the
				   future it awaits stays the same */
	bool fresh;		/* its chain was read by the last call */
	bool ok;		/* read, pending, suspended (not running) */
	bool running;		/* not ok: running, its coroutine executing
				   at c[0]'s code and lasti (its last call) */
	bool gone;		/* done, freed or no longer a task */
	uint64_t gen;		/* a hash of its name's bytes: tells a new
				   task at a freed one's address (Task-N
				   counts up) */
	uint16_t n;
	struct pytask_link c[PYTASK_WAIT_DEPTH];
};

/* A snapshot begins: reads until pytasks__snapshot_end() come from the
 * target's pages as they are now, each page read once (pagecache.h).
 * pytasks__ids() and pytasks__waits() are called inside one. 0 or
 * -ENOMEM. */
int pytasks__snapshot(struct pytasks *t);
void pytasks__snapshot_end(struct pytasks *t);
/* Every task now (ids and types only) into out[0..max), sorted by id:
 * the count, or -errno. */
int pytasks__ids(struct pytasks *t, struct pytask_wait *out, int max);
/* The chains of w[0..n) (ids from pytasks__ids(); w as the last call
 * left it, for the tasks listed then) now: ok says which were read; a
 * task still awaiting the future it awaited at the last call keeps its
 * chain (fresh false), but for every fourth call or so. 0, or -ENOMEM. */
int pytasks__waits(struct pytasks *t, struct pytask_wait *w, int n);

#endif
