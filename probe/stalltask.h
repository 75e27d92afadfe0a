/* SPDX-License-Identifier: MIT */
/* The asyncio task a stall ran in: read once per busy interval, from its
 * first sample (the loop is still running that task), while the thread
 * stays in that interval; handed to the stall when it ends. */
#ifndef LS_STALLTASK_H
#define LS_STALLTASK_H
#include <stdint.h>

struct session;
struct proc;
struct stall;

/* A sample of busy interval seq of thread tid of p arrived: read the task
 * running on it, once for seq. 0, or -ENOMEM. */
int stalltask__sample(struct session *s, struct proc *p, uint32_t tid, uint64_t seq);
/* Loops of every process busy for half the threshold by now whose task
 * is not read yet (blocked in a wait: no sample comes before its end),
 * read now. 0, or -ENOMEM. */
int stalltask__busy(struct session *s, uint64_t now);
/* The task read for st's busy interval, if any, into st. */
void stalltask__to_stall(struct proc *p, struct stall *st);

#endif
