// SPDX-License-Identifier: MIT
/* Unit tests: stalls held until their thread is classified (probe/held.c):
 * released in order to the thread's verdict, dropped when it runs no loop,
 * other threads' stalls untouched, the oldest dropped past HELD_MAX. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include "held.h"

static struct stall *mk(uint32_t tid, uint64_t seq)
{
	struct stall *st = calloc(1, sizeof(*st));

	cr_assert_not_null(st);
	st->tid = tid;
	st->seq = seq;
	return st;
}

struct got {
	uint64_t seq[HELD_MAX + 8];
	int n;
	int fail_at;		/* fn fails on this call (1-based); 0 never */
};

static int take(void *ctx, struct stall *st)
{
	struct got *g = ctx;

	if (g->fail_at && g->n + 1 == g->fail_at) {
		stall__free(st);
		return -ENOMEM;
	}
	g->seq[g->n++] = st->seq;
	stall__free(st);
	return 0;
}

Test(held, released_in_order_per_thread)
{
	struct held h = {};
	struct got g = {};

	cr_assert_eq(held__add(&h, mk(10, 1)), 0);
	cr_assert_eq(held__add(&h, mk(20, 1)), 0);
	cr_assert_eq(held__add(&h, mk(10, 2)), 0);
	cr_assert_eq(held__add(&h, mk(10, 3)), 0);
	cr_assert_eq(held__count(&h, 10), 3);
	cr_assert_eq(held__release(&h, 10, take, &g), 0);
	cr_assert_eq(g.n, 3);
	cr_assert_eq(g.seq[0], 1);
	cr_assert_eq(g.seq[1], 2);
	cr_assert_eq(g.seq[2], 3);
	cr_assert_eq(held__count(&h, 10), 0);
	cr_assert_eq(held__count(&h, 20), 1);	/* another thread's: still held */
	cr_assert_eq(held__release(&h, 99, take, &g), 0);
	cr_assert_eq(g.n, 3);
	held__free(&h);
}

Test(held, dropped_when_no_loop)
{
	struct held h = {};
	struct got g = {};

	held__add(&h, mk(10, 1));
	held__add(&h, mk(20, 1));
	held__add(&h, mk(10, 2));
	cr_assert_eq(held__drop(&h, 10), 2);
	cr_assert_eq(h.dropped, 0);	/* no loop's stalls: not lost */
	cr_assert_eq(held__count(&h, 10), 0);
	cr_assert_eq(held__release(&h, 20, take, &g), 0);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(h.n, 0);
	held__free(&h);
}

/* An error stops the release: what was not handed over stays held. */
Test(held, release_stops_at_an_error)
{
	struct held h = {};
	struct got g = { .fail_at = 2 };

	for (uint64_t i = 1; i <= 3; i++)
		held__add(&h, mk(10, i));
	cr_assert_eq(held__release(&h, 10, take, &g), -ENOMEM);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(held__count(&h, 10), 1);
	g.fail_at = 0;
	cr_assert_eq(held__release(&h, 10, take, &g), 0);
	cr_assert_eq(g.seq[1], 3);
	held__free(&h);
}

Test(held, oldest_dropped_past_the_cap)
{
	struct held h = {};
	struct got g = {};

	for (uint64_t i = 1; i <= HELD_MAX + 2; i++)
		cr_assert_eq(held__add(&h, mk(10, i)), 0);
	cr_assert_eq(h.n, HELD_MAX);
	cr_assert_eq(h.dropped, 2);
	cr_assert_eq(held__release(&h, 10, take, &g), 0);
	cr_assert_eq(g.seq[0], 3);
	cr_assert_eq(g.seq[HELD_MAX - 1], HELD_MAX + 2);
	held__free(&h);
}
