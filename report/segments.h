/* SPDX-License-Identifier: MIT */
/* A stall split by call site: its time-weighted samples grouped by the
 * line of the user's code they ran or waited under, so each cause of a
 * stall gets its own time, its own rules and its own line to fix. Pure:
 * stacks and frames in, segments out.
 *
 * The call site of a stack: its innermost user Python frame and line;
 * when that function is recursive and the sample is in its own code (not
 * in a call it makes: a sleep at the bottom of a recursion keeps its
 * line), the line that entered the recursion (the caller of its outermost
 * call, when that is user code); for a wait
 * on the GIL, the holder's innermost user frame. Without user frames: the
 * innermost Python frame, else the innermost frame.
 *
 * Weights: on-CPU samples stand for one sampling period, off-CPU samples
 * for the exact interval sched_switch measured (stack_count.weight_ns).
 * The on-CPU estimates are then scaled to the stall's on-CPU time (also
 * exact) when they fall short of it, or down when samples stand for more
 * than the stall lasted (every segment alike if that is not enough).
 * Segments plus the stall's unsampled_ns add up to its duration. */
#ifndef LS_SEGMENTS_H
#define LS_SEGMENTS_H
#include <stddef.h>
#include "stack.h"
#include "stall.h"

/* A call site owns a segment with findings of its own when it holds this
 * share of the stall, or this much time; at most SEG_MAX_OWN do (the
 * largest always does); the rest are folded into one "other" segment. */
#define SEG_MIN_SHARE	0.2
#define SEG_MIN_NS	25000000ULL
#define SEG_MAX_OWN	5

/* Split st into segments (st->segments, st->unsampled_ns). 0 or -ENOMEM
 * (st unchanged). */
int segments__build(struct stall *st, const struct frames *frames);
void segments__free(struct stall *st);

/* What segment seg of st does, in a few words: the first call on its
 * call site's line ("time.sleep", "hashlib.pbkdf2_hmac"), else its
 * function; "GIL held by THREAD"; "other". Into buf. */
const char *segments__what(const struct stall *st, uint32_t seg, const struct frames *frames,
			   char *buf, size_t len);
/* The call-site frame id of a stack (innermost first), UINT32_MAX when it
 * has no frame. */
uint32_t segments__site(const uint32_t *ids, uint32_t n, const struct frames *frames);
/* True when the stack waits for the GIL: in futex under the interpreter's
 * GIL wait (take_gil, or the condition variable it waits on). */
bool segments__gil_wait(const struct stack_count *sc, const struct frames *frames);

#endif
