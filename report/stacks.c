// SPDX-License-Identifier: MIT
/* Stall time by stack: the distinct stacks of a report's stalls, and two
 * profile formats made of them: collapsed stacks (flamegraph.pl, one
 * "outer;…;inner microseconds" line per stack) and speedscope's sampled
 * profile (https://www.speedscope.app/file-format-schema.json); and each
 * stall's stacks with the time its segments give them (report__each_stack(),
 * what pprof.c labels). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "fmt.h"
#include "jsonw.h"
#include "live.h"
#include "report.h"
#include "textcols.h"

/* The time each stack of st stands for: its weight, or when the stall's
 * stacks carry none, the stall's duration shared by sample counts. */
static uint64_t stack_ns(const struct stall *st, const struct stack_count *sc)
{
	uint64_t weight = 0, count = 0;

	for (uint32_t i = 0; i < st->n_stacks; i++) {
		weight += st->stacks[i].weight_ns;
		count += st->stacks[i].count;
	}
	if (weight)
		return sc->weight_ns;
	return count ? st->duration_ns * sc->count / count : 0;
}

static const char *label_of(struct flat_stacks *s, const struct frames *frames, uint32_t id)
{
	const struct frame *fr = frames__get(frames, id);
	char buf[512];

	if (!fr || id >= s->n_labels)
		return NULL;
	if (!s->labels[id])
		s->labels[id] = strdup(fmt_frame_label(fr, buf, sizeof(buf)));
	return s->labels[id];
}

static int cmp_flat(const void *x, const void *y)
{
	const struct flat_stack *a = x, *b = y;

	for (uint32_t i = 0; i < a->n && i < b->n; i++) {
		int c = strcmp(a->labels[i], b->labels[i]);

		if (c)
			return c;
	}
	return a->n < b->n ? -1 : a->n > b->n;
}

static bool same_stack(const struct flat_stack *a, const struct flat_stack *b)
{
	return a->n == b->n && !cmp_flat(a, b);
}

int report__flat_stacks(const struct report *r, struct flat_stacks *s)
{
	static const char *no_stack = "[no stack]";
	const struct frames *frames = r->rec->frames;
	uint32_t n = 0, out = 0;

	memset(s, 0, sizeof(*s));
	for (uint32_t i = 0; i < r->n_stalls; i++)
		n += r->stalls[i]->n_stacks ? r->stalls[i]->n_stacks : 1;
	s->n_labels = frames ? frames__count(frames) : 0;
	s->labels = calloc(s->n_labels ? s->n_labels : 1, sizeof(*s->labels));
	s->v = calloc(n ? n : 1, sizeof(*s->v));
	if (!s->labels || !s->v)
		goto nomem;
	for (uint32_t i = 0; i < r->n_stalls; i++) {
		const struct stall *st = r->stalls[i];

		if (!st->n_stacks && st->duration_ns) {
			/* not sampled at all: its time still counts */
			struct flat_stack *fs = &s->v[s->n];

			fs->labels = calloc(1, sizeof(*fs->labels));
			fs->frames = calloc(1, sizeof(*fs->frames));
			if (!fs->labels || !fs->frames)
				goto nomem;
			fs->labels[fs->n++] = no_stack;
			fs->ns = st->duration_ns;
			s->total_ns += fs->ns;
			s->n++;
		}
		for (uint32_t k = 0; k < st->n_stacks; k++) {
			const struct stack_count *sc = &st->stacks[k];
			struct flat_stack *fs = &s->v[s->n];

			fs->ns = stack_ns(st, sc);
			if (!fs->ns)
				continue;
			fs->labels = calloc(sc->n_frames ? sc->n_frames : 1, sizeof(*fs->labels));
			fs->frames = calloc(sc->n_frames ? sc->n_frames : 1, sizeof(*fs->frames));
			if (!fs->labels || !fs->frames)
				goto nomem;
			for (uint32_t j = sc->n_frames; j-- > 0;) {
				const char *l = frames ? label_of(s, frames, sc->frames[j]) : NULL;

				if (l) {
					fs->frames[fs->n] = frames__get(frames, sc->frames[j]);
					fs->labels[fs->n++] = l;
				}
				else if (frames && frames__get(frames, sc->frames[j]))
					goto nomem;	/* strdup failed */
			}
			if (!fs->n)
				fs->labels[fs->n++] = no_stack;
			s->total_ns += fs->ns;
			s->n++;
		}
	}
	qsort(s->v, s->n, sizeof(*s->v), cmp_flat);
	/* equal stacks (frame by frame) add up */
	for (uint32_t i = 0; i < s->n; i++) {
		if (out && same_stack(&s->v[out - 1], &s->v[i])) {
			s->v[out - 1].ns += s->v[i].ns;
			free(s->v[i].labels);
			free(s->v[i].frames);
			continue;
		}
		s->v[out++] = s->v[i];
	}
	s->n = out;
	return 0;
nomem:
	if (s->v) {	/* the stack being built */
		free(s->v[s->n].labels);
		free(s->v[s->n].frames);
	}
	flat_stacks__free(s);
	return -ENOMEM;
}

void flat_stacks__free(struct flat_stacks *s)
{
	for (uint32_t i = 0; s->v && i < s->n; i++) {
		free(s->v[i].labels);
		free(s->v[i].frames);
	}
	free(s->v);
	for (uint32_t i = 0; s->labels && i < s->n_labels; i++)
		free(s->labels[i]);
	free(s->labels);
	memset(s, 0, sizeof(*s));
}

/* ---- each stack of each stall, with its time -------------------------- */

typedef int (*stall_stack_fn)(const struct stall_stack *s, void *ctx);

static bool weighed(const struct stall *st)
{
	for (uint32_t i = 0; i < st->n_stacks; i++)
		if (st->stacks[i].weight_ns)
			return true;
	return false;
}

/* The on-CPU (on) or off-CPU stacks of segment g, sharing its fitted time
 * by weight: each gets its running share, so together they get all of it. */
static int each_in_segment(const struct stall *st, uint32_t g, bool on, stall_stack_fn fn,
			   void *ctx)
{
	const struct segment *seg = &st->segments[g];
	uint64_t want = on ? seg->on_ns : seg->off_ns, raw = 0, cum = 0, given = 0;
	struct stall_stack s = { .st = st, .seg = (int32_t)g };
	int err;

	for (uint32_t i = 0; i < seg->n_stacks; i++)
		if ((st->stacks[seg->stacks[i]].kind == LS_SAMPLE_ONCPU) == on)
			raw += st->stacks[seg->stacks[i]].weight_ns;
	for (uint32_t i = 0; raw && i < seg->n_stacks; i++) {
		uint64_t upto;

		s.sc = &st->stacks[seg->stacks[i]];
		if ((s.sc->kind == LS_SAMPLE_ONCPU) != on)
			continue;
		cum += s.sc->weight_ns;
		upto = (uint64_t)((double)cum / raw * want);
		s.ns = upto > given ? upto - given : 0;
		given = upto;
		if (s.ns && (err = fn(&s, ctx)))
			return err;
	}
	return 0;
}

static int each_of_stall(const struct stall *st, stall_stack_fn fn, void *ctx)
{
	struct stall_stack s = { .st = st, .seg = -1 };
	int err;

	if (st->n_segments && weighed(st)) {
		for (uint32_t g = 0; g < st->n_segments; g++)
			if ((err = each_in_segment(st, g, true, fn, ctx)) ||
			    (err = each_in_segment(st, g, false, fn, ctx)))
				return err;
		s.ns = st->unsampled_ns;
	} else {
		for (uint32_t k = 0; k < st->n_stacks; k++) {
			s.sc = &st->stacks[k];
			s.ns = stack_ns(st, s.sc);
			if (s.ns && (err = fn(&s, ctx)))
				return err;
		}
		s.sc = NULL;
		s.ns = st->n_stacks ? 0 : st->duration_ns;
	}
	return s.ns ? fn(&s, ctx) : 0;
}

int report__each_stack(const struct report *r, stall_stack_fn fn, void *ctx)
{
	int err;

	for (uint32_t i = 0; i < r->n_stalls; i++)
		if ((err = each_of_stall(r->stalls[i], fn, ctx)))
			return err;
	return 0;
}

/* A label as one collapsed-stack frame: no ';' (the separator) and no
 * line breaks. */
static void put_collapsed_frame(FILE *f, const char *l)
{
	for (; *l; l++)
		fputc(*l == ';' ? ':' : *l == '\n' || *l == '\r' ? ' ' : *l, f);
}

int report__collapsed(FILE *f, const struct report *r)
{
	struct flat_stacks s;

	if (report__flat_stacks(r, &s))
		return -ENOMEM;
	for (uint32_t i = 0; i < s.n; i++) {
		uint64_t us = (s.v[i].ns + 500) / 1000;

		if (!us)
			continue;
		for (uint32_t j = 0; j < s.v[i].n; j++) {
			if (j)
				fputc(';', f);
			put_collapsed_frame(f, s.v[i].labels[j]);
		}
		fprintf(f, " %" PRIu64 "\n", us);
	}
	flat_stacks__free(&s);
	return ferror(f) ? -EIO : 0;
}

/* ---- speedscope ------------------------------------------------------ */

static void speedscope_frame(FILE *f, const struct frame *fr)
{
	char buf[512];

	fputs("{\"name\":", f);
	json_str(f, fmt_frame_label(fr, buf, sizeof(buf)));
	if (fr->kind == FRAME_PYTHON ? fr->file != NULL : fr->module != NULL) {
		fputs(",\"file\":", f);
		json_str(f, fr->kind == FRAME_PYTHON ? fr->file : fr->module);
	}
	if (fr->kind == FRAME_PYTHON && fr->line)
		fprintf(f, ",\"line\":%d", fr->line);
	fputc('}', f);
}

/* One sampled profile: the stacks of tid's stalls in time order, each
 * weighted with the microseconds it stands for. */
static void speedscope_profile(FILE *f, const struct report *r, const struct loop_summary *t,
			       const int64_t *index)
{
	const struct frames *frames = r->rec->frames;
	uint64_t total = 0;
	bool first = true;
	char name[PYTHREAD_NAME_MAX + 16];

	fputs("{\"type\":\"sampled\",\"name\":", f);
	snprintf(name, sizeof(name), "%s/%u", t->thread, t->tid);
	json_str(f, name);
	fputs(",\"unit\":\"microseconds\",\"startValue\":0,\"samples\":[", f);
	for (uint32_t i = 0; i < r->n_stalls; i++) {
		const struct stall *st = r->stalls[i];

		for (uint32_t k = 0; st->tid == t->tid && k < st->n_stacks; k++) {
			const struct stack_count *sc = &st->stacks[k];
			uint64_t us = (stack_ns(st, sc) + 500) / 1000;
			bool any = false;

			if (!us)
				continue;
			fputs(first ? "\n[" : ",\n[", f);
			first = false;
			for (uint32_t j = sc->n_frames; frames && j-- > 0;) {
				if (sc->frames[j] >= frames__count(frames) ||
				    index[sc->frames[j]] < 0)
					continue;
				fprintf(f, "%s%" PRId64, any ? "," : "", index[sc->frames[j]]);
				any = true;
			}
			fputc(']', f);
		}
	}
	fputs("],\"weights\":[", f);
	first = true;
	for (uint32_t i = 0; i < r->n_stalls; i++) {
		const struct stall *st = r->stalls[i];

		for (uint32_t k = 0; st->tid == t->tid && k < st->n_stacks; k++) {
			uint64_t us = (stack_ns(st, &st->stacks[k]) + 500) / 1000;

			if (!us)
				continue;
			fprintf(f, "%s%" PRIu64, first ? "" : ",", us);
			first = false;
			total += us;
		}
	}
	fprintf(f, "],\"endValue\":%" PRIu64 "}", total);
}

int report__speedscope(FILE *f, const struct report *r)
{
	const struct frames *frames = r->rec->frames;
	uint32_t n_ids = frames ? frames__count(frames) : 0;
	int64_t *index = calloc(n_ids ? n_ids : 1, sizeof(*index));
	int64_t next = 0;
	char name[512];

	if (!index)
		return -ENOMEM;
	/* the frames the kept stalls use, in first-use order */
	for (uint32_t i = 0; i < n_ids; i++)
		index[i] = -1;
	fputs("{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\","
	      "\n\"shared\":{\"frames\":[", f);
	for (uint32_t i = 0; i < r->n_stalls; i++)
		for (uint32_t k = 0; k < r->stalls[i]->n_stacks; k++) {
			const struct stack_count *sc = &r->stalls[i]->stacks[k];

			for (uint32_t j = sc->n_frames; frames && j-- > 0;) {
				uint32_t id = sc->frames[j];
				const struct frame *fr = frames__get(frames, id);

				if (!fr || id >= n_ids || index[id] >= 0)
					continue;
				index[id] = next;
				fputs(next++ ? ",\n" : "\n", f);
				speedscope_frame(f, fr);
			}
		}
	fputs("]},\n\"profiles\":[", f);
	for (uint32_t i = 0; i < r->sum.n_loops; i++) {
		fputs(i ? ",\n" : "\n", f);
		speedscope_profile(f, r, &r->sum.loops[i], index);
	}
	snprintf(name, sizeof(name), "loopstall: stall time of %s", fmt_base(r->name));
	fputs("],\n\"name\":", f);
	json_str(f, name);
	fprintf(f, ",\"activeProfileIndex\":0,\"exporter\":\"loopstall %s\"}\n",
		r->version ? r->version : "");
	free(index);
	return ferror(f) ? -EIO : 0;
}
