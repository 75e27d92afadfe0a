// SPDX-License-Identifier: MIT
/* The tasks' waits (awaits.h): per await line a count, total, longest and
 * a histogram; sequences of one coroutine's waits; their findings. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "awaits.h"
#include "match.h"

void awaits__init(struct awaits *a)
{
	memset(a, 0, sizeof(*a));
}

void awaits__free(struct awaits *a)
{
	free(a->sites);
	free(a->seqs);
	free(a->findings);
	awaits__init(a);
}

void awaits__clear(struct awaits *a)
{
	a->n_sites = a->n_seqs = a->n_findings = 0;
}

static int grow(void **v, uint32_t n, uint32_t *cap, size_t sz)
{
	void *p;
	uint32_t c;

	if (n < *cap)
		return 0;
	c = *cap ? 2 * *cap : 16;
	if (!(p = realloc(*v, (size_t)c * sz)))
		return -ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

/* Two buckets an octave: [2^e, 1.5 * 2^e) and [1.5 * 2^e, 2^(e+1)) µs. */
static int bucket(uint64_t ns)
{
	uint64_t us = ns / 1000;
	int e, b;

	if (us < 2)
		return 0;
	e = 63 - __builtin_clzll(us);
	b = 2 * e + (int)((us >> (e - 1)) & 1);
	return b < AWAIT_BUCKETS ? b : AWAIT_BUCKETS - 1;
}

static uint64_t bucket_top(int b)
{
	int e = b / 2;

	if (!b)
		return 2000;		/* under 2 µs */
	return (b & 1 ? 2ULL << e : 3ULL << e >> 1) * 1000;
}

static struct await_site *site_of(struct awaits *a, uint32_t frame)
{
	for (uint32_t i = 0; i < a->n_sites; i++)
		if (a->sites[i].frame == frame)
			return &a->sites[i];
	if (grow((void **)&a->sites, a->n_sites, &a->cap_sites, sizeof(*a->sites)))
		return NULL;
	memset(&a->sites[a->n_sites], 0, sizeof(*a->sites));
	a->sites[a->n_sites].frame = frame;
	return &a->sites[a->n_sites++];
}

int awaits__wait(struct awaits *a, uint32_t frame, uint64_t ns)
{
	struct await_site *s = site_of(a, frame);

	if (!s)
		return -ENOMEM;
	s->count++;
	s->total_ns += ns;
	if (ns > s->max_ns)
		s->max_ns = ns;
	s->hist[bucket(ns)]++;
	return 0;
}

int awaits__add_site(struct awaits *a, const struct await_site *in)
{
	struct await_site *s = site_of(a, in->frame);

	if (!s)
		return -ENOMEM;
	s->count += in->count;
	s->total_ns += in->total_ns;
	if (in->max_ns > s->max_ns)
		s->max_ns = in->max_ns;
	for (int b = 0; b < AWAIT_BUCKETS; b++)
		s->hist[b] += in->hist[b];
	return 0;
}

const struct await_seq *awaits__seq(const struct awaits *a, const uint32_t *frames, uint32_t n)
{
	for (uint32_t i = 0; i < a->n_seqs; i++)
		if (a->seqs[i].n == n && !memcmp(a->seqs[i].frames, frames, n * sizeof(*frames)))
			return &a->seqs[i];
	return NULL;
}

int awaits__add_seq(struct awaits *a, const uint32_t *frames, const uint64_t *ns,
		    uint32_t n, uint32_t count)
{
	struct await_seq *q;

	if (n < 2 || n > AWAITSEQ_MAX)
		return -EINVAL;
	q = (struct await_seq *)awaits__seq(a, frames, n);
	if (!q) {
		if (grow((void **)&a->seqs, a->n_seqs, &a->cap_seqs, sizeof(*a->seqs)))
			return -ENOMEM;
		q = &a->seqs[a->n_seqs++];
		memset(q, 0, sizeof(*q));
		q->n = n;
		memcpy(q->frames, frames, n * sizeof(*frames));
	}
	q->count += count;
	for (uint32_t i = 0; i < n; i++)
		q->ns[i] += ns[i];
	return 0;
}

int awaits__merge(struct awaits *a, const struct awaits *b)
{
	for (uint32_t i = 0; i < b->n_sites; i++)
		if (awaits__add_site(a, &b->sites[i]))
			return -ENOMEM;
	for (uint32_t i = 0; i < b->n_seqs; i++) {
		const struct await_seq *q = &b->seqs[i];

		if (awaits__add_seq(a, q->frames, q->ns, q->n, q->count))
			return -ENOMEM;
	}
	return 0;
}

uint64_t awaits__quantile(const struct await_site *s, double q)
{
	uint64_t want = (uint64_t)(q * s->count + 0.999999), seen = 0;

	if (!s->count)
		return 0;
	for (int b = 0; b < AWAIT_BUCKETS; b++) {
		seen += s->hist[b];
		if (seen >= want && seen)
			return bucket_top(b) < s->max_ns ? bucket_top(b) : s->max_ns;
	}
	return s->max_ns;
}

static int by_total(const void *x, const void *y)
{
	const struct await_site *a = x, *b = y;

	if (a->total_ns != b->total_ns)
		return a->total_ns > b->total_ns ? -1 : 1;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return a->frame < b->frame ? -1 : a->frame > b->frame;
}

void awaits__sort(struct awaits *a)
{
	if (a->n_sites)
		qsort(a->sites, a->n_sites, sizeof(*a->sites), by_total);
}

/* The sequence's coroutine as the matcher sees it: its file and source. */
static bool seq_frame(const struct await_seq *q, const struct frames *fr, struct source *src,
		      struct match_frame *mf, int *lines)
{
	const struct frame *f0 = frames__get(fr, q->frames[0]);

	if (!f0 || !f0->file || !f0->firstline)
		return false;
	for (uint32_t i = 0; i < q->n; i++) {
		const struct frame *f = frames__get(fr, q->frames[i]);

		if (!f || !f->file || strcmp(f->file, f0->file) || f->firstline != f0->firstline)
			return false;
		lines[i] = f->line;
	}
	*mf = (struct match_frame){ .python = true, .user = f0->user, .function = f0->function,
				    .file = f0->file, .line = lines[0],
				    .source_line = f0->firstline };
	mf->source = src ? source__function(src, f0->file, f0->firstline) : NULL;
	return mf->source != NULL;
}

static bool same_function(const struct frames *fr, uint32_t a, uint32_t b)
{
	const struct frame *x = frames__get(fr, a), *y = frames__get(fr, b);

	return x && y && x->firstline == y->firstline && x->file && y->file &&
	       !strcmp(x->file, y->file);
}

/* Is every line of a among b's? */
static bool lines_in(const struct await_finding *a, const struct await_finding *b)
{
	for (int i = 0, j = 0; i < a->n; i++) {
		while (j < b->n && b->lines[j] < a->lines[i])
			j++;
		if (j == b->n || b->lines[j] != a->lines[i])
			return false;
	}
	return true;
}

/* Findings of the same rule and function on the same lines merged (their
 * calls added, their waits averaged over all), those on a part of
 * another's lines dropped. */
static void merge_findings(struct awaits *a, const struct frames *fr)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < a->n_findings; i++) {
		struct await_finding *f = &a->findings[i];
		bool drop = false;

		for (uint32_t j = 0; j < a->n_findings && !drop; j++) {
			struct await_finding *g = &a->findings[j];

			if (i == j || g->rule != f->rule || !g->calls ||
			    !same_function(fr, f->frame, g->frame) || !lines_in(f, g))
				continue;
			if (g->n > f->n || j < i) {
				drop = true;	/* g holds these lines, or is the
						   first with them: f goes */
				if (g->n == f->n) {
					for (int l = 0; l < g->n; l++)
						g->ns[l] = (g->ns[l] * g->calls + f->ns[l] * f->calls) /
							   (g->calls + f->calls);
					g->calls += f->calls;
				}
			}
		}
		if (drop)
			f->calls = 0;
	}
	for (uint32_t i = 0; i < a->n_findings; i++)
		if (a->findings[i].calls)
			a->findings[k++] = a->findings[i];
	a->n_findings = k;
	for (uint32_t i = 0; i < k; i++) {
		struct await_finding *f = &a->findings[i];

		f->turn_ns = f->together_ns = 0;
		for (int l = 0; l < f->n; l++) {
			f->turn_ns += f->ns[l];
			f->together_ns = f->ns[l] > f->together_ns ? f->ns[l] : f->together_ns;
		}
	}
}

static int add_finding(struct awaits *a, const struct rule *r, const struct await_seq *q,
		       const int *lines, int start, int end, const char *why)
{
	struct await_finding *f;

	if (grow((void **)&a->findings, a->n_findings, &a->cap_findings, sizeof(*f)))
		return -ENOMEM;
	f = &a->findings[a->n_findings++];
	memset(f, 0, sizeof(*f));
	f->rule = r;
	f->frame = q->frames[start];
	f->calls = q->count;
	for (int i = start; i < end; i++) {
		f->lines[f->n] = lines[i];
		f->ns[f->n++] = q->ns[i] / (q->count ? q->count : 1);
	}
	if (*why) {
		snprintf(f->evidence, sizeof(f->evidence), "%s", why);
		return 0;
	}
	snprintf(f->evidence, sizeof(f->evidence), "%d awaits in turn, none using an "
		 "earlier one's result", end - start);
	return 0;
}

static int by_saving(const void *x, const void *y)
{
	const struct await_finding *a = x, *b = y;
	uint64_t sa = (a->turn_ns - a->together_ns) * a->calls;
	uint64_t sb = (b->turn_ns - b->together_ns) * b->calls;

	if (sa != sb)
		return sa > sb ? -1 : 1;
	if (a->frame != b->frame)
		return a->frame < b->frame ? -1 : 1;
	return strcmp(a->rule->id, b->rule->id);
}

int awaits__match(struct awaits *a, const struct rule_pack *p, const struct frames *fr,
		  struct source *src)
{
	int worst = -1;

	a->n_findings = 0;
	for (uint32_t i = 0; i < a->n_seqs; i++) {
		const struct await_seq *q = &a->seqs[i];
		int lines[AWAITSEQ_MAX], runs[AWAIT_RUNS][2], n;
		struct match_frame mf;

		if (!seq_frame(q, fr, src, &mf, lines))
			continue;
		n = awaitseq__runs(mf.source, mf.source_line, lines, q->n, runs, AWAIT_RUNS);
		for (int k = 0; k < n; k++)
			for (int r = 0; p && r < p->n; r++) {
				const struct rule *rule = &p->v[r];
				char why[160];

				if (!match__sequence(rule, &mf, lines[runs[k][0]],
						     lines[runs[k][1] - 1], why, sizeof(why)))
					continue;
				if (add_finding(a, rule, q, lines, runs[k][0], runs[k][1], why))
					return -2;
				if ((int)rule->severity > worst)
					worst = rule->severity;
			}
	}
	merge_findings(a, fr);
	if (a->n_findings)
		qsort(a->findings, a->n_findings, sizeof(*a->findings), by_saving);
	return worst;
}
