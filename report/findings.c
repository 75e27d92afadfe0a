// SPDX-License-Identifier: MIT
/* A stall through the rules: its stacks as the matcher sees them, and the
 * matcher's hits turned into the findings people read. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "findings.h"
#include "fmt.h"
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

/* A stall's stacks as the matcher sees them; its arrays, one allocation
 * each, freed by view_free(). */
struct view {
	struct match_stall ms;
	struct match_stack *stacks;
	struct match_frame *mf;
	char (*mods)[128];
};

static void view_free(struct view *v)
{
	free(v->stacks);
	free(v->mf);
	free(v->mods);
}

static void view_frame(struct view *v, uint32_t k, const struct frame *f, struct source *src)
{
	struct match_frame *m = &v->mf[k];

	m->python = f->kind == FRAME_PYTHON;
	m->user = f->user;
	m->function = f->function;
	m->file = f->file;
	m->line = f->line;
	m->code = f->code;
	if (m->python) {
		m->module = match__module_of(f->file, v->mods[k], sizeof(v->mods[k]));
		m->source = f->firstline ? source__function(src, f->file, f->firstline) : NULL;
		m->source_line = f->firstline;
	} else {
		m->library = base(f->module);
	}
}

/* Stack i of st, its frames from mf[*nf] on. Returns its share of the
 * GIL wait (0 when it does not wait for the GIL). */
static double view_stack(struct view *v, const struct stall *st, uint32_t i, uint64_t total,
			 uint32_t *nf, const struct frames *frames, struct source *src)
{
	const struct stack_count *sc = &st->stacks[i];
	struct match_stack *k = &v->stacks[i];
	unsigned int ints = syscall__int_args(sc->nr);

	k->frames = &v->mf[*nf];
	k->share = total ? (double)sc->weight_ns / total : 0;
	k->on_cpu = sc->kind == LS_SAMPLE_ONCPU;
	k->nr = sc->nr;
	k->fd_kind = sc->fd_kind;
	for (int a = 0; a < 6; a++)
		k->args[a] = ints & (1u << a) ?
			(int64_t)(int32_t)sc->args[a] : (int64_t)sc->args[a];
	for (uint32_t j = 0; j < sc->n_frames; j++) {
		const struct frame *f = frames__get(frames, sc->frames[j]);

		if (!f)
			continue;
		view_frame(v, (*nf)++, f, src);
		k->n++;
	}
	return findings__gil_wait(sc, frames) ? k->share : 0;
}

static int view_build(struct view *v, const struct stall *st, const struct frames *frames,
		      struct source *src)
{
	uint64_t total = 0;
	double gil_share = 0;
	uint32_t nf = 0;

	memset(v, 0, sizeof(*v));
	for (uint32_t i = 0; i < st->n_stacks; i++) {
		total += st->stacks[i].weight_ns;
		nf += st->stacks[i].n_frames;
	}
	v->stacks = calloc(st->n_stacks ? st->n_stacks : 1, sizeof(*v->stacks));
	v->mf = calloc(nf ? nf : 1, sizeof(*v->mf));
	v->mods = calloc(nf ? nf : 1, sizeof(*v->mods));
	if (!v->stacks || !v->mf || !v->mods)
		return -ENOMEM;
	nf = 0;
	for (uint32_t i = 0; i < st->n_stacks; i++)
		gil_share += view_stack(v, st, i, total, &nf, frames, src);
	v->ms = (struct match_stall){
		.duration_ns = st->duration_ns, .on_cpu_ns = st->on_cpu_ns,
		.off_cpu_ns = st->off_cpu_ns, .stacks = v->stacks, .n = st->n_stacks,
		.gil_wait = gil_share >= MATCH_MIN_SHARE,
	};
	return 0;
}

/* A matcher's hit as the finding people read: its call site's strings. */
static int finding_of(struct finding *o, const struct match_hit *hit, const struct view *v,
		      struct source *src)
{
	const struct match_frame *m;
	const char *code;

	o->rule = hit->rule;
	o->share = hit->share;
	memcpy(o->evidence, hit->evidence, sizeof(o->evidence));
	if (hit->site < 0)
		return 0;
	m = &v->stacks[hit->stack].frames[hit->site];
	code = source__line(src, m->file, hit->line);
	o->line = hit->line;
	o->file = m->file ? strdup(m->file) : NULL;
	o->function = m->function ? strdup(m->function) : NULL;
	o->code = code ? strdup(code) : m->code ? strdup(m->code) : NULL;
	if ((m->file && !o->file) || (m->function && !o->function) ||
	    ((code || m->code) && !o->code))
		return -ENOMEM;
	return 0;
}

/* GIL findings name the holder. */
static void gil_evidence(struct stall *st, const struct frames *frames)
{
	const struct frame *top = st->n_gil_frames ? frames__get(frames, st->gil_frames[0]) : NULL;

	for (uint32_t i = 0; i < st->n_findings && st->gil_tid; i++) {
		struct finding *o = &st->findings[i];
		size_t len = strlen(o->evidence);

		if (o->rule->category != CAT_GIL && !o->rule->gil_wait)
			continue;
		snprintf(o->evidence + len, sizeof(o->evidence) - len,
			 "%sheld by thread %s (TID %u)%s%s%s%s%s", len ? "; " : "",
			 st->gil_thread, st->gil_tid, top ? " in " : "",
			 top && top->function ? top->function : "", top ? " (" : "",
			 top ? base(top->file) : "", top ? ")" : "");
	}
}

int findings__match(const struct rule_pack *pack, struct stall *st,
		    const struct frames *frames, struct source *src)
{
	struct match_hit found[MAX_FINDINGS];
	struct view v;
	int n, err = -ENOMEM;

	if (view_build(&v, st, frames, src))
		goto cleanup;
	n = pack ? match__stall(pack, &v.ms, found, MAX_FINDINGS) : 0;
	if (!n) {	/* still reported, under "other" */
		match__other(&v.ms, &found[0]);
		n = 1;
	}
	st->findings = calloc(n, sizeof(*st->findings));
	if (!st->findings)
		goto cleanup;
	st->n_findings = n;
	for (int i = 0; i < n; i++)
		if (finding_of(&st->findings[i], &found[i], &v, src))
			goto cleanup;
	gil_evidence(st, frames);
	err = 0;
cleanup:
	view_free(&v);
	return err;
}
