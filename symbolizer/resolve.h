/* SPDX-License-Identifier: MIT */
/* From a BPF sample to the frames people read: Python frames (code object
 * -> qualname, file, line, source), native frames (unwound and symbolized)
 * and their merge, interned in one frame table. */
#ifndef LS_RESOLVE_H
#define LS_RESOLVE_H
#include <stdbool.h>
#include <linux/types.h>
#include "loopstall.h"
#include "cfuncs.h"
#include "maps.h"
#include "native.h"
#include "pyproc.h"
#include "pysym.h"
#include "source.h"
#include "stack.h"

struct resolver {
	int pid;
	const struct pyproc *py;	/* NULL: no Python frames */
	const char *py_path;		/* the python object's path (its frames are
					   the interpreter's) */
	struct pysym *sym;
	struct cfuncs *cf;		/* names of C functions a stripped build
					   has no symbol for; NULL until needed */
	uint64_t cf_read_ns;		/* its last refresh */
	struct native *nat;		/* NULL: native frames as raw addresses */
	bool nat_shared;		/* nat is another process's (native__share) */
	struct source *src;
	struct frames *frames;		/* the caller's (one per session) */
	uint64_t refreshed_ns;		/* last re-read of the target's maps */
	struct maps warm_maps;		/* resolver__warm_step(): what is left */
	unsigned int warm_i;
	bool warm_done;
};

/* The resolver of process pid, interning into frames (not owned: one
 * table serves every process of a session). like: the resolver of the
 * process pid was forked from, or NULL: its native symbols are shared
 * while pid maps the same modules (native__share), else read anew. No
 * Python frames until resolver__set_python(). 0 or -ENOMEM. */
int resolver__init(struct resolver *r, int pid, struct frames *frames,
		   const struct resolver *like);
void resolver__free(struct resolver *r);
/* Python frames from now on (the interpreter of a started command is
 * known only once it runs). 0 or -ENOMEM. */
int resolver__set_python(struct resolver *r, const struct pyproc *py, const char *py_path);
/* Load the symbols and debug info of one more executable mapping, so that
 * samples are not held up by it later (a late sample may find the code
 * objects on its stack freed). 1 while there are more, 0 when all are.
 * A step may take 100 ms (debug info): call it once the probes are live,
 * between reads of the ring buffer. */
int resolver__warm_step(struct resolver *r);
/* The merged frames of s, innermost first, into out (at most max ids).
 * Returns the count, or -ENOMEM. */
int resolver__sample(struct resolver *r, const struct ls_sample *s, uint32_t *out,
		     int max);
/* The Python frames only (for walks done in user space): n, or -ENOMEM. */
int resolver__python(struct resolver *r, const struct ls_pyframe *pf, int n,
		     uint32_t *ids, bool *entry);

#endif
