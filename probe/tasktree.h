/* SPDX-License-Identifier: MIT */
/* Who awaits whom among a process's tasks, as a tree (`loopstall tasks`):
 * a task's children are the tasks it awaits; roots are awaited by no one;
 * tasks that await each other in a cycle are found, and printed once.
 * Pure: tasks in, text out. */
#ifndef LS_TASKTREE_H
#define LS_TASKTREE_H
#include <stdio.h>
#include "pytasks.h"

#define TASKTREE_WIDTH	79	/* columns of a text line */
#define TASKTREE_DEPTH	64	/* levels printed; deeper ones are cut */

/* One coroutine of a task, symbolized. */
struct task_frame {
	char function[128];
	char file[256];
	int line;
};

/* A task and its coroutines (outermost first). */
struct task_row {
	const struct pytask *t;
	const struct task_frame *frames;
	int n_frames;
};

struct tasktree {
	int n;
	const struct task_row *rows;
	int *first, *child;	/* children of i: child[first[i]..first[i+1]) */
	int *cycle;		/* cycle number of each task, -1: none */
	int n_cycles;
};

/* Build the tree of rows[0..n) (ids unique). 0 or -ENOMEM. */
int tasktree__build(struct tasktree *tr, const struct task_row *rows, int n);
void tasktree__free(struct tasktree *tr);
/* The tree as text, TASKTREE_WIDTH columns at most. */
void tasktree__print(FILE *f, const struct tasktree *tr);
/* s cut to width columns (UTF-8), its start replaced by "..." when cut
 * (a file path keeps its end). Into out (len bytes). Pure. */
void tasktree__cut_left(char *out, size_t len, const char *s, int width);

#endif
