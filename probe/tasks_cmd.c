// SPDX-License-Identifier: MIT
/* `loopstall tasks`: open the target's CPython, read its tasks
 * (symbolizer/pytasks.c), name their coroutines (pysym.c) and print a
 * tree (tasktree.c) or one JSON object, once or every --watch seconds. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "errors.h"
#include "jsonw.h"
#include "pysym.h"
#include "pytasks.h"
#include "target.h"
#include "tasks_cmd.h"
#include "tasktree.h"

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

static int read_mem(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return pyproc__read(ctx, addr, buf, len);
}

/* What one snapshot needs, made once. */
struct snap {
	struct target tgt;
	struct pyproc py;
	struct pytasks *tasks;
	struct pysym *sym;
	struct pytask *v;
	struct task_frame *frames;	/* PYTASK_MAX_FRAMES per task */
	struct task_row *rows;
};

/* The target and its CPython; an exit code on failure. */
static int snap_open(struct snap *s, int pid)
{
	char why[PATH_MAX + 256], file[PATH_MAX + 32];
	int err;

	switch (target__open(&s->tgt, pid, why, sizeof(why))) {
	case TARGET_OK:
		break;
	case TARGET_NO_ACCESS:
		return ls_error(LS_EXIT_ENV, "%s", why);
	default:
		return ls_error(LS_EXIT_TARGET, "%s", why);
	}
	err = pyproc__open(&s->py, pid, s->tgt.py_path,
			   target__py_file(&s->tgt, file, sizeof(file)) ? NULL : file,
			   s->tgt.py_version_hex, why, sizeof(why));
	if (err)
		return ls_error(err == -EPERM ? LS_EXIT_ENV : LS_EXIT_TARGET,
				"cannot read the CPython of PID %d: %s", pid, why);
	s->tasks = pytasks__new(&s->py, &err);
	if (!s->tasks)
		return ls_error(LS_EXIT_TARGET, "cannot read the tasks of CPython %s: %s",
				s->tgt.py_version, err == -ENOTSUP ? "not supported" : "out of memory");
	s->sym = pysym__new(&s->py.layout, s->py.code_type, read_mem, &s->py);
	s->v = calloc(TASKS_CMD_MAX, sizeof(*s->v));
	s->frames = calloc((size_t)TASKS_CMD_MAX * PYTASK_MAX_FRAMES, sizeof(*s->frames));
	s->rows = calloc(TASKS_CMD_MAX, sizeof(*s->rows));
	if (!s->sym || !s->v || !s->frames || !s->rows)
		return ls_error(LS_EXIT_ENV, "out of memory");
	return 0;
}

static void snap_close(struct snap *s)
{
	pytasks__free(s->tasks);
	pysym__free(s->sym);
	free(s->v);
	free(s->frames);
	free(s->rows);
	if (s->tgt.pid)
		target__close(&s->tgt);
}

/* Task i's coroutines named: qualname, file, line ("?" when unreadable). */
static void name_frames(struct snap *s, int i)
{
	const struct pytask *t = &s->v[i];
	struct task_frame *fr = &s->frames[(size_t)i * PYTASK_MAX_FRAMES];

	for (int k = 0; k < t->n_frames; k++) {
		const struct pycode *c = pysym__code(s->sym, t->frames[k].code,
						     t->frames[k].guard);

		snprintf(fr[k].function, sizeof(fr[k].function), "%s",
			 c && c->qualname ? c->qualname : "?");
		snprintf(fr[k].file, sizeof(fr[k].file), "%s",
			 c && c->filename ? c->filename : "?");
		fr[k].line = c ? pysym__line(c, t->frames[k].lasti) : 0;
	}
	s->rows[i] = (struct task_row){ t, fr, t->n_frames };
}

static void put_json_task(FILE *f, const struct tasktree *tr, int i)
{
	const struct task_row *r = &tr->rows[i];
	const struct pytask *t = r->t;
	static const char *const states[] = { "pending", "cancelled", "done" };

	fprintf(f, "%s{\"id\": %" PRIu64 ", \"name\": ", i ? ", " : "", t->id);
	json_str(f, t->name);
	fprintf(f, ", \"state\": \"%s\", \"loop\": %" PRIu64 ", \"tid\": ", states[t->state],
		t->loop);
	if (t->tid)
		fprintf(f, "%u", t->tid);
	else
		fputs("null", f);
	fputs(", \"coro_stack\": [", f);
	for (int k = r->n_frames - 1; k >= 0; k--) {
		fputs(k == r->n_frames - 1 ? "{\"function\": " : ", {\"function\": ", f);
		json_str(f, r->frames[k].function);
		fputs(", \"file\": ", f);
		json_str(f, r->frames[k].file);
		fprintf(f, ", \"line\": %d}", r->frames[k].line);
	}
	fputs("], \"awaited_by\": [", f);
	for (int k = 0; k < t->n_awaited_by; k++)
		fprintf(f, "%s%" PRIu64, k ? ", " : "", t->awaited_by[k]);
	fputs("], \"cycle\": ", f);
	if (tr->cycle[i] >= 0)
		fprintf(f, "%d}", tr->cycle[i]);
	else
		fputs("null}", f);
}

static void put_json(FILE *f, const struct snap *s, const struct tasktree *tr)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	fprintf(f, "{\"schema_version\": 1, \"type\": \"tasks\", \"pid\": %d, \"python\": ",
		s->tgt.pid);
	json_str(f, s->tgt.py_version);
	fprintf(f, ", \"time_unix_ns\": %" PRIu64 ", \"tasks\": [",
		(uint64_t)(now.tv_sec * 1000000000LL + now.tv_nsec));
	for (int i = 0; i < tr->n; i++)
		put_json_task(f, tr, i);
	fprintf(f, "], \"cycles\": %d}\n", tr->n_cycles);
}

/* Read and print the tasks once; an exit code. */
static int snapshot(struct snap *s, const struct tasks_opts *o)
{
	struct tasktree tr;
	int n = pytasks__list(s->tasks, s->v, TASKS_CMD_MAX);

	if (n < 0)
		return ls_error(LS_EXIT_TARGET, "cannot read the tasks of PID %d: %s",
				o->pid, strerror(-n));
	for (int i = 0; i < n; i++)
		name_frames(s, i);
	if (tasktree__build(&tr, s->rows, n))
		return ls_error(LS_EXIT_ENV, "out of memory");
	if (o->json) {
		put_json(stdout, s, &tr);
	} else {
		printf("PID %d (%s, %s): %d task%s", o->pid, s->tgt.comm,
		       s->tgt.py_version, n, n == 1 ? "" : "s");
		if (tr.n_cycles)
			printf(", %d await cycle%s", tr.n_cycles,
			       tr.n_cycles == 1 ? "" : "s");
		printf("\n");
		tasktree__print(stdout, &tr);
	}
	fflush(stdout);
	tasktree__free(&tr);
	return 0;
}

int tasks_cmd__run(const struct tasks_opts *o)
{
	struct snap s = {};
	int rc = snap_open(&s, o->pid);

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!rc) {
		struct timespec ts = { o->watch_ns / 1000000000ULL, o->watch_ns % 1000000000ULL };

		rc = snapshot(&s, o);
		if (rc || !o->watch_ns)
			break;
		if (nanosleep(&ts, NULL) || exiting || !target__alive(&s.tgt))
			break;
		if (!o->json)
			printf("\n");
	}
	snap_close(&s);
	return rc;
}
