/* SPDX-License-Identifier: MIT */
/* A stall through the rules: its stacks as the matcher sees them, and the
 * findings resolved for output. */
#ifndef LS_FINDINGS_H
#define LS_FINDINGS_H
#include "rule.h"
#include "source.h"
#include "stack.h"
#include "stall.h"

/* Split st by call site (segments.h) and match each part that owns its
 * time against pack; attach the segments and findings to st. 0 or
 * -ENOMEM. */
int findings__match(const struct rule_pack *pack, struct stall *st,
		    const struct frames *frames, struct source *src);
#endif
