/* SPDX-License-Identifier: MIT */
/* A stall through the rules: its stacks as the matcher sees them, and the
 * findings resolved for output. */
#ifndef LS_FINDINGS_H
#define LS_FINDINGS_H
#include "rule.h"
#include "source.h"
#include "stack.h"
#include "stall.h"

/* Match st against pack and attach the findings to st (st->findings).
 * 0 or -ENOMEM. */
int findings__match(const struct rule_pack *pack, struct stall *st,
		    const struct frames *frames, struct source *src);
/* True when the stack waits for the GIL: in futex under the interpreter's
 * GIL wait (take_gil, or the condition variable it waits on). */
bool findings__gil_wait(const struct stack_count *sc, const struct frames *frames);

#endif
