// SPDX-License-Identifier: MIT
/* Stalls held until their thread is classified (held.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "held.h"

int held__add(struct held *h, struct stall *st)
{
	if (h->n == HELD_MAX) {
		stall__free(h->v[0]);
		memmove(h->v, h->v + 1, --h->n * sizeof(*h->v));
		h->dropped++;
	}
	if (h->n == h->cap) {
		unsigned int cap = h->cap ? 2 * h->cap : 8;
		struct stall **v = realloc(h->v, cap * sizeof(*v));

		if (!v) {
			stall__free(st);
			return -ENOMEM;
		}
		h->v = v;
		h->cap = cap;
	}
	h->v[h->n++] = st;
	return 0;
}

/* Remove entry i, keeping the order. */
static struct stall *take(struct held *h, unsigned int i)
{
	struct stall *st = h->v[i];

	memmove(h->v + i, h->v + i + 1, (--h->n - i) * sizeof(*h->v));
	return st;
}

int held__release(struct held *h, uint32_t tid, int (*fn)(void *ctx, struct stall *st),
		  void *ctx)
{
	for (unsigned int i = 0; i < h->n;) {
		int err;

		if (h->v[i]->tid != tid) {
			i++;
			continue;
		}
		err = fn(ctx, take(h, i));
		if (err)
			return err;
	}
	return 0;
}

unsigned int held__drop(struct held *h, uint32_t tid)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < h->n;) {
		if (h->v[i]->tid != tid) {
			i++;
			continue;
		}
		stall__free(take(h, i));
		n++;
	}
	return n;
}

unsigned int held__count(const struct held *h, uint32_t tid)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < h->n; i++)
		n += h->v[i]->tid == tid;
	return n;
}

void held__free(struct held *h)
{
	for (unsigned int i = 0; i < h->n; i++)
		stall__free(h->v[i]);
	free(h->v);
	memset(h, 0, sizeof(*h));
}
