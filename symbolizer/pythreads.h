/* SPDX-License-Identifier: MIT */
/* The target's Python thread names, read from outside: each interpreter's
 * threading._active (ident -> Thread, the main thread and dummy threads
 * included), each Thread's _name and _native_id (its TID), taken when a
 * thread state of that interpreter has the same TID and ident. Cached,
 * and read again at most once per refresh interval. */
#ifndef LS_PYTHREADS_H
#define LS_PYTHREADS_H
#include <stddef.h>
#include <stdint.h>
#include "pyobj.h"

#define PYTHREAD_NAME_MAX	64		/* bytes of a thread name, NUL included */
#define PYTHREADS_REFRESH_NS	1000000000ULL	/* names change rarely; a read
						   takes the target's mmap lock */

struct pythread {
	uint32_t tid;			/* host TID; 0 when no task has it */
	uint32_t ns_tid;		/* Thread._native_id: in the target's PID namespace */
	char name[PYTHREAD_NAME_MAX];	/* Thread._name: UTF-8, cut on a character
					   boundary, control characters as '?' */
};

struct pythreads;

/* o: how to read the target (copied; o->l must outlive the result);
 * runtime: &_PyRuntime there; pid: the target's host PID; refresh_ns: the
 * least time between two reads of the target's threads. NULL: ENOMEM. */
struct pythreads *pythreads__new(const struct pyobj *o, uint64_t runtime, int pid,
				 uint64_t refresh_ns);
void pythreads__free(struct pythreads *t);
/* Read now: the Python threads of every interpreter that has imported
 * threading, at most max, into out. Their count (0: none, or nothing
 * could be read of them), or -errno when _PyRuntime cannot be read. */
int pythreads__read(struct pythreads *t, struct pythread *out, int max);
/* The Python name of host TID tid into buf (len bytes, cut on a character
 * boundary), from the last read, made anew when refresh_ns old (a TID
 * not in it: when a tenth of that old, for threads started since). 0, or
 * -ENOENT: no Thread object has that TID, or its name could not be read. */
int pythreads__name(struct pythreads *t, uint32_t tid, char *buf, size_t len);
/* A thread name made safe to print, in place: C0 and C1 control
 * characters (and DEL) become '?'. Pure. */
void pythread__clean_name(char *s);
/* Copy UTF-8 src into dst (len bytes, NUL included), cut on a character
 * boundary. Pure. */
void pythread__copy_name(char *dst, size_t len, const char *src);

#endif
