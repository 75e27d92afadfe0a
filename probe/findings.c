#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "findings.h"
#include "match.h"
#include "syscalls.h"

#define MAX_FINDINGS 32

bool findings__gil_wait(const struct stack_count *sc, const struct frames *frames)
{
	const char *name = syscall__name(sc->nr);

	if (!name || strcmp(name, "futex"))
		return false;
	for (uint32_t i = 0; i < sc->n_frames; i++) {
		const struct frame *f = frames__get(frames, sc->frames[i]);

		if (!f || f->kind != FRAME_NATIVE || !f->function)
			continue;
		/* CPython's locks wait on semaphores; its GIL on a condvar */
		if (!strcmp(f->function, "take_gil") ||
		    !fnmatch("*pthread_cond_*wait*", f->function, 0))
			return true;
		if (!fnmatch("sem_*wait*", f->function, 0) ||
		    !strcmp(f->function, "PyThread_acquire_lock_timed"))
			return false;
	}
	return false;
}

static const char *base(const char *path)
{
	const char *b = path ? strrchr(path, '/') : NULL;

	return b ? b + 1 : path;
}

int findings__match(const struct rule_pack *pack, struct stall *st,
		    const struct frames *frames, struct source *src)
{
	struct match_stack *stacks = NULL;
	struct match_frame *mf = NULL;
	char (*mods)[128] = NULL;
	struct finding found[MAX_FINDINGS];
	struct match_stall ms = {
		.duration_ns = st->duration_ns, .on_cpu_ns = st->on_cpu_ns,
		.off_cpu_ns = st->off_cpu_ns,
	};
	uint64_t total = 0;
	double gil_share = 0;
	uint32_t nf = 0;
	int n, err = -ENOMEM;

	for (uint32_t i = 0; i < st->n_stacks; i++) {
		total += st->stacks[i].weight_ns;
		nf += st->stacks[i].n_frames;
	}
	stacks = calloc(st->n_stacks ? st->n_stacks : 1, sizeof(*stacks));
	mf = calloc(nf ? nf : 1, sizeof(*mf));
	mods = calloc(nf ? nf : 1, sizeof(*mods));
	if (!stacks || !mf || !mods)
		goto cleanup;
	nf = 0;
	for (uint32_t i = 0; i < st->n_stacks; i++) {
		const struct stack_count *sc = &st->stacks[i];
		struct match_stack *ms_i = &stacks[i];
		unsigned int ints = syscall__int_args(sc->nr);

		ms_i->frames = &mf[nf];
		ms_i->share = total ? (double)sc->weight_ns / total : 0;
		ms_i->on_cpu = sc->kind == LS_SAMPLE_ONCPU;
		ms_i->nr = sc->nr;
		ms_i->fd_kind = sc->fd_kind;
		for (int a = 0; a < 6; a++)
			ms_i->args[a] = ints & (1u << a) ?
				(int64_t)(int32_t)sc->args[a] : (int64_t)sc->args[a];
		if (findings__gil_wait(sc, frames))
			gil_share += ms_i->share;
		for (uint32_t j = 0; j < sc->n_frames; j++) {
			const struct frame *f = frames__get(frames, sc->frames[j]);
			struct match_frame *m = &mf[nf];

			if (!f)
				continue;
			m->python = f->kind == FRAME_PYTHON;
			m->user = f->user;
			m->function = f->function;
			m->file = f->file;
			m->line = f->line;
			m->code = f->code;
			if (m->python) {
				m->module = match__module_of(f->file, mods[nf], sizeof(mods[nf]));
				m->source = f->firstline ?
					source__function(src, f->file, f->firstline) : NULL;
				m->source_line = f->firstline;
			} else {
				m->library = base(f->module);
			}
			nf++;
			ms_i->n++;
		}
	}
	ms.gil_wait = gil_share >= MATCH_MIN_SHARE;
	ms.stacks = stacks;
	ms.n = st->n_stacks;
	n = pack ? match__stall(pack, &ms, found, MAX_FINDINGS) : 0;
	if (!n) {	/* still reported, under "other" */
		match__other(&ms, &found[0]);
		n = 1;
	}
	st->findings = calloc(n ? n : 1, sizeof(*st->findings));
	if (!st->findings)
		goto cleanup;
	for (int i = 0; i < n; i++) {
		struct stall_finding *o = &st->findings[i];
		const struct match_stack *k = &stacks[found[i].stack];

		o->rule = found[i].rule;
		o->share = found[i].share;
		memcpy(o->evidence, found[i].evidence, sizeof(o->evidence));
		if (found[i].site >= 0) {
			const struct match_frame *m = &k->frames[found[i].site];
			const char *code = source__line(src, m->file, found[i].line);

			o->file = m->file ? strdup(m->file) : NULL;
			o->function = m->function ? strdup(m->function) : NULL;
			o->line = found[i].line;
			o->code = code ? strdup(code) : m->code ? strdup(m->code) : NULL;
		}
	}
	st->n_findings = n;
	/* GIL findings name the holder */
	for (int i = 0; i < n && st->gil_tid; i++) {
		struct stall_finding *o = &st->findings[i];
		size_t len = strlen(o->evidence);
		const struct frame *top = st->n_gil_frames ?
			frames__get(frames, st->gil_frames[0]) : NULL;

		if (o->rule->category != CAT_GIL && !o->rule->gil_wait)
			continue;
		snprintf(o->evidence + len, sizeof(o->evidence) - len,
			 "%sheld by thread %s (TID %u)%s%s%s%s%s", len ? "; " : "",
			 st->gil_thread, st->gil_tid, top ? " in " : "",
			 top && top->function ? top->function : "", top ? " (" : "",
			 top ? base(top->file) : "", top ? ")" : "");
	}
	err = 0;
cleanup:
	free(stacks);
	free(mf);
	free(mods);
	return err;
}
