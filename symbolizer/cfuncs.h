/* SPDX-License-Identifier: MIT */
/* C functions of the target named by its interpreter's own tables.
 *
 * A stripped interpreter (Debian's 3.13-3.15 build _json, _sre, _pickle
 * and the built-in digests in) has no symbol for a static C function, so a
 * native frame in json's C scanner is an address. The interpreter knows
 * the names of the C functions Python calls: every C module's functions
 * (builtin_function_or_method objects: their PyMethodDef, ml_name and
 * ml_meth, and the module's name) and every C type's methods (tp_methods)
 * and slots (tp_call, tp_iternext, tp_new). Read from sys.modules of the
 * main interpreter, they name a frame whose function (from the unwind
 * tables: native.c's start) begins at one of those addresses:
 * "_json.Scanner.__call__", "re.Pattern.match", "_pickle.loads".
 *
 * Python classes (tp_dealloc is subtype_dealloc, that of abc.ABCMeta) are
 * left out: their slots are the interpreter's generic ones. A slot shared
 * by C types under different names (PyType_GenericNew) names nothing; a
 * method or module function wins over a slot. Every read is bounded and
 * anything that does not parse is skipped: the target is untrusted. */
#ifndef LS_CFUNCS_H
#define LS_CFUNCS_H
#include <stdint.h>
#include "pyobj.h"

#define CFUNCS_MAX_NAMES	(1u << 16)	/* functions kept */
#define CFUNCS_MAX_MODULES	4096		/* sys.modules entries looked at */
#define CFUNCS_MAX_METHODS	512		/* entries of one tp_methods */
#define CFUNCS_NAME_MAX		128		/* bytes of a name, NUL included */

struct cfuncs;

/* The tables of the CPython whose objects o reads, _PyRuntime at runtime.
 * Nothing is read until cfuncs__refresh(). NULL on ENOMEM. */
struct cfuncs *cfuncs__new(const struct pyobj *o, uint64_t runtime);
void cfuncs__free(struct cfuncs *c);

/* Reads the modules of sys.modules not read yet, when it holds another
 * number of modules than at the last call (a module imported since):
 * each module is read once (a dict changed after is not read again).
 * Pages are read whole, each once a call: the first call on a process of
 * 500 modules reads ~3,000 pages in ~100 ms (Debian's 3.13, 2 cores).
 * 1 when names were added, 0 when not, or -errno (names kept). */
int cfuncs__refresh(struct cfuncs *c);

/* The name of the C function that starts at addr, or NULL. Valid until
 * the next cfuncs__refresh() (names may move as more are added). */
const char *cfuncs__name(const struct cfuncs *c, uint64_t addr);

/* Entries found by the last read (names kept, after ambiguous ones went). */
unsigned int cfuncs__count(const struct cfuncs *c);

#endif
