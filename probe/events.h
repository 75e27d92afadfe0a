/* SPDX-License-Identifier: MIT */
/* The BPF ABI header for user space, with its layout pinned. */
#ifndef LS_EVENTS_H
#define LS_EVENTS_H
#include <linux/types.h>
#include "loopstall.h"

_Static_assert(sizeof(struct ls_wait) == 16, "ls_wait layout");
_Static_assert(sizeof(struct ls_event_hdr) == 24, "ls_event_hdr layout");
_Static_assert(sizeof(struct ls_stall) == 88 + 16 * LS_MAX_WAITS + LS_TITLE_BYTES,
	       "ls_stall layout");
_Static_assert(sizeof(struct ls_pyframe) == 24, "ls_pyframe layout");
_Static_assert(sizeof(struct ls_offcpu_end) == 40, "ls_offcpu_end layout");
_Static_assert(sizeof(struct ls_proc) == 8, "ls_proc layout");
_Static_assert(sizeof(struct ls_proc_event) == 40, "ls_proc_event layout");
_Static_assert(sizeof(struct ls_py_offsets) == 36, "ls_py_offsets layout");
_Static_assert(sizeof(struct ls_py_layout) == 44, "ls_py_layout layout");
_Static_assert(sizeof(struct ls_busy) == 24 + 4 * LS_BUSY_BUCKETS, "ls_busy layout");
_Static_assert(sizeof(struct ls_thread) == 104 + 16 * LS_MAX_WAITS + sizeof(struct ls_busy),
	       "ls_thread layout");
_Static_assert(sizeof(struct ls_sample) ==
	       120 + 8 * LS_NREGS + 8 * LS_MAX_USTACK + 24 * LS_MAX_PYFRAMES + LS_STACK_BYTES,
	       "ls_sample layout");

#endif
