/* SPDX-License-Identifier: MIT */
/* The matcher: a stall, as the rules see it, to findings. Pure: no I/O. */
#ifndef LS_MATCH_H
#define LS_MATCH_H
#include <stdbool.h>
#include <stdint.h>
#include "rule.h"

struct match_frame {
	bool python;
	bool user;		/* Python: the user's own code */
	const char *function;	/* qualname or native symbol; NULL unknown */
	const char *file;	/* co_filename (Python) */
	const char *module;	/* Python: dotted module ("requests.api") */
	const char *library;	/* native: module base name ("libssl.so.3") */
	int line;
	const char *code;	/* Python: the source line */
	const char *source;	/* Python: the whole function's source, or NULL */
	int source_line;	/* line of source's first line */
};

struct match_stack {
	const struct match_frame *frames;	/* innermost first */
	int n;
	double share;		/* of the stall's time, 0..1 */
	bool on_cpu;
	int32_t nr;		/* syscall in progress, -1 none */
	int64_t args[6];	/* its arguments (as far as known) */
	int fd_kind;		/* enum fd_kind of args[0] when an fd, -1 unknown */
};

struct match_stall {
	uint64_t duration_ns, on_cpu_ns, off_cpu_ns;
	const struct match_stack *stacks;	/* heaviest first */
	int n;
	bool gil_wait;		/* waits for the GIL another thread holds */
};

struct match_hit {
	const struct rule *rule;
	int stack;		/* index of the stack that matched */
	int site;		/* frame of the call site: the innermost user
				   frame of that stack, else its innermost
				   Python frame; -1 none */
	int line;		/* the call site's line: a source pattern's
				   match, else the frame's line */
	double share;		/* of the stall, over every stack the
				   rule holds on */
	char evidence[256];	/* what matched, for people */
};

/* A rule that holds on the heaviest stack of a stall matches; one that
 * holds on lighter stacks only, when they add up to this share of the
 * stall (less is noise). */
#define MATCH_MIN_SHARE 0.2

/* Findings of stall s under the rules of p, at most max, in rule order
 * (one per rule). Returns the count. */
int match__stall(const struct rule_pack *p, const struct match_stall *s,
		 struct match_hit *out, int max);

/* The share of s that hits[0..n) account for: every stack at least one
 * of its rules naming something (a frame, syscall, fd kind, source, GIL
 * wait) holds on, and the rest a catch-all speaks for. A rule of the pack
 * that is no hit (it holds on too little of s: noise) names none of it:
 * the hits' time is scaled up to this share. */
double match__named_share(const struct match_hit *hits, int n, const struct match_stall *s);

/* Does rule r (category sequential-await) hold on awaits at lines
 * first..last of function f (file, source)? Its file pattern, and its
 * source conditions on f's source: an anti-pattern must match from a line
 * in first..last; required, context and suggested patterns as on stalls.
 * A rule without source conditions holds on any. why: what matched. */
bool match__sequence(const struct rule *r, const struct match_frame *f, int first, int last,
		     char *why, size_t len);

/* The rule of stalls no rule of a pack holds on: LS000, category other,
 * severity info. */
extern const struct rule match__unmatched;
/* Its finding for s: the call site on the heaviest stack, and what that
 * stack was doing. */
void match__other(const struct match_stall *s, struct match_hit *out);

/* "requests.api" for ".../dist-packages/requests/api.py", "json" for
 * ".../python3.11/json/__init__.py", "app.handlers" for a user file
 * relative to nothing: its base name without .py. Into buf. */
const char *match__module_of(const char *file, char *buf, unsigned long len);

#endif
