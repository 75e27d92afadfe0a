// SPDX-License-Identifier: MIT
/* The stall model's own questions: which finding a stall counts under,
 * where it was, which stack a finding was seen in, which frames of a
 * stack are worth showing; and freeing a stall. */
#include <stdlib.h>
#include <string.h>
#include "rule.h"
#include "stall.h"

void stall__free(struct stall *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->n_stacks; i++)
		free(s->stacks[i].frames);
	free(s->stacks);
	free(s->task_frames);
	for (uint32_t i = 0; i < s->n_findings; i++) {
		free(s->findings[i].file);
		free(s->findings[i].function);
		free(s->findings[i].code);
		free(s->findings[i].loop_file);
		free(s->findings[i].loop_function);
	}
	free(s->findings);
	for (uint32_t i = 0; i < s->n_segments; i++)
		free(s->segments[i].stacks);
	free(s->segments);
	free(s->gil_frames);
	free(s);
}

static bool outranks(const struct finding *a, const struct finding *b)
{
	if (!b || a->rule->severity != b->rule->severity)
		return !b || a->rule->severity > b->rule->severity;
	return a->ns > b->ns;
}

const struct finding *stall__primary(const struct stall *st)
{
	const struct finding *best = NULL;

	for (uint32_t i = 0; i < st->n_findings; i++)
		if (outranks(&st->findings[i], best))
			best = &st->findings[i];
	return best;
}

const struct finding *stall__segment_primary(const struct stall *st, uint32_t seg)
{
	const struct finding *best = NULL;

	for (uint32_t i = 0; i < st->n_findings; i++)
		if (st->findings[i].segment == seg && outranks(&st->findings[i], best))
			best = &st->findings[i];
	return best;
}

int stack__fold_runs(const uint32_t *ids, uint32_t *idx, uint32_t *reps, int n)
{
	int k = 0;

	for (int i = 0; i < n; i++) {
		if (k && ids[idx[i]] == ids[idx[k - 1]]) {
			reps[k - 1]++;
			continue;
		}
		idx[k] = idx[i];
		reps[k++] = 1;
	}
	return k;
}

const char *stall__unsampled_why(const struct stall *st)
{
	if (st->n_stacks || st->samples_on + st->samples_off)
		return NULL;
	if (st->samples_lost || st->samples_sent > st->samples_on + st->samples_off)
		return "its samples were lost (ring buffer full)";
	if (!st->off_cpu_ns)
		return "on the CPU throughout, between two sampling ticks";
	return "no stack of it was kept";
}

const struct frame *stall__top_frame(const struct stall *st, const struct frames *frames)
{
	const struct stack_count *sc;
	const struct frame *py = NULL, *inner = NULL;

	if (!st->n_stacks || !frames)
		return NULL;
	sc = &st->stacks[0];
	for (uint32_t j = 0; j < sc->n_frames; j++) {
		const struct frame *fr = frames__get(frames, sc->frames[j]);

		if (!fr)
			continue;
		if (!inner)
			inner = fr;
		if (fr->kind != FRAME_PYTHON)
			continue;
		if (fr->user)
			return fr;
		if (!py)
			py = fr;
	}
	return py ? py : inner;
}

const struct stack_count *stall__site_stack(const struct stall *st,
					     const struct finding *fd,
					     const struct frames *frames)
{
	for (int pass = 0; fd && fd->file && pass < 2; pass++)
		for (uint32_t i = 0; i < st->n_stacks; i++) {
			const struct stack_count *sc = &st->stacks[i];

			for (uint32_t j = 0; j < sc->n_frames; j++) {
				const struct frame *fr = frames__get(frames, sc->frames[j]);

				if (!fr || fr->kind != FRAME_PYTHON || !fr->file ||
				    strcmp(fr->file, fd->file))
					continue;
				if (pass == 0 ? fr->line == fd->line :
				    fr->function && fd->function &&
				    !strcmp(fr->function, fd->function))
					return sc;
			}
		}
	return st->n_stacks ? &st->stacks[0] : NULL;
}

int stack__trim(const struct stack_count *sc, const struct frames *frames,
		uint32_t *idx, int max)
{
	int first_py = -1, inner_user = -1, n = 0;

	for (uint32_t j = 0; j < sc->n_frames; j++) {
		const struct frame *fr = frames__get(frames, sc->frames[j]);

		if (!fr || fr->kind != FRAME_PYTHON)
			continue;
		if (first_py < 0)
			first_py = j;
		if (fr->user && inner_user < 0)
			inner_user = j;
	}
	for (uint32_t j = 0; j < sc->n_frames && n < max; j++) {
		const struct frame *fr = frames__get(frames, sc->frames[j]);

		if (!fr)
			continue;
		if (first_py < 0) {		/* native only: the innermost few */
			if (!fr->interp && !fr->eval && n < 8)
				idx[n++] = j;
			continue;
		}
		if ((int)j < first_py) {	/* what the C code was doing */
			if (!fr->interp && !fr->eval)
				idx[n++] = j;
		} else if (inner_user < 0 || (int)j <= inner_user) {
			/* down to the blocking call: library and user frames */
			if (fr->kind == FRAME_PYTHON ||
			    (!fr->interp && !fr->eval && fr->function))
				idx[n++] = j;
		} else if (fr->kind == FRAME_PYTHON && fr->user) {
			idx[n++] = j;		/* outer user code only */
		}
	}
	return n;
}

static bool user_frame(const struct frames *frames, uint32_t id)
{
	const struct frame *fr = frames__get(frames, id);

	return fr && fr->kind == FRAME_PYTHON && fr->user;
}

/* Mark what must be shown of n folded entries within max lines: every
 * user frame, then the innermost entries while room is left. */
static void keep_marks(const struct stack_count *sc, const struct frames *frames,
		       const uint32_t *idx, int n, int max, bool *keep)
{
	int room = max;

	for (int i = 0; i < n; i++) {
		keep[i] = user_frame(frames, sc->frames[idx[i]]);
		room -= keep[i];
	}
	for (int i = 0; i < n && room > 1; i++)	/* one line for "… N more" */
		if (!keep[i]) {
			keep[i] = true;
			room--;
		}
}

int stack__lines(const struct stack_count *sc, const struct frames *frames, bool full,
		 int max, struct stack_line *out)
{
	uint32_t idx[LS_MAX_STACK], reps[LS_MAX_STACK];
	bool keep[LS_MAX_STACK];
	int n = 0, k = 0;

	if (full)
		for (uint32_t j = 0; j < sc->n_frames && n < LS_MAX_STACK; j++)
			idx[n++] = j;
	else
		n = stack__trim(sc, frames, idx, LS_MAX_STACK);
	n = stack__fold_runs(sc->frames, idx, reps, n);
	if (n <= max) {
		for (int i = 0; i < n; i++)
			out[k++] = (struct stack_line){ .idx = idx[i], .reps = reps[i] };
		return k;
	}
	keep_marks(sc, frames, idx, n, max, keep);
	for (int i = 0; i < n; i++) {
		if (keep[i])
			out[k++] = (struct stack_line){ .idx = idx[i], .reps = reps[i] };
		else if (k && out[k - 1].elided)
			out[k - 1].elided += reps[i];
		else
			out[k++] = (struct stack_line){ .elided = reps[i] };
	}
	return k;
}
