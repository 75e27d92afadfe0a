/* SPDX-License-Identifier: MIT */
/* `loopstall tasks -p PID`: every asyncio task of a live process, who
 * awaits whom and where each waits, read from outside (docs/tasks.md). */
#ifndef LS_TASKS_CMD_H
#define LS_TASKS_CMD_H
#include <stdint.h>

#define TASKS_CMD_MAX	16384	/* tasks shown of one process */

struct tasks_opts {
	int pid;
	uint64_t watch_ns;	/* 0: once; else print again this often */
	int json;		/* one JSON object per snapshot */
};

/* Exit code: 0, 3 (privileges), 4 (no such process, not CPython). */
int tasks_cmd__run(const struct tasks_opts *o);

#endif
