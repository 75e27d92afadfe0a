/* SPDX-License-Identifier: MIT */
/* Stalls of threads not yet told an event loop or not: held until their
 * thread is classified, then reported (a loop) or dropped (not one). */
#ifndef LS_HELD_H
#define LS_HELD_H
#include <stdint.h>
#include "stall.h"

#define HELD_MAX	256	/* held at most; beyond, the oldest is dropped */

struct held {
	struct stall **v;	/* oldest first */
	unsigned int n, cap;
	uint64_t dropped;	/* over HELD_MAX: lost */
};

/* Hold st (taken: freed by the container). 0 or -ENOMEM (st freed). */
int held__add(struct held *h, struct stall *st);
/* The held stalls of tid, oldest first, handed to fn, which takes each;
 * the first error of fn stops it (the rest stay held). 0 or that error. */
int held__release(struct held *h, uint32_t tid, int (*fn)(void *ctx, struct stall *st),
		  void *ctx);
/* Drop the held stalls of tid; how many. */
unsigned int held__drop(struct held *h, uint32_t tid);
/* Held stalls of tid. */
unsigned int held__count(const struct held *h, uint32_t tid);
void held__free(struct held *h);

#endif
