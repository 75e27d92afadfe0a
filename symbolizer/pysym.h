/* SPDX-License-Identifier: MIT */
/* Python code objects of a live process -> qualified name, file, line.
 * Cached by address and checked against the walker's guard, so a freed
 * code object whose address was reused is read anew, never misnamed. */
#ifndef LS_PYSYM_H
#define LS_PYSYM_H
#include <stddef.h>
#include <stdint.h>
#include "pylayout.h"

typedef py_read_fn mem_read_fn;

struct pycode {
	uint64_t addr;
	uint32_t guard;
	int firstlineno;
	char *qualname;
	char *filename;
	uint8_t *linetable;
	size_t linetable_len;
};

struct pysym;

/* code_type: &PyCode_Type in the target (0: not checked). */
struct pysym *pysym__new(const struct py_layout *l, uint64_t code_type,
			 mem_read_fn read, void *ctx);
void pysym__free(struct pysym *s);
/* The code object at addr as the walker saw it (guard 0: unchecked), or
 * NULL when it cannot be read or is no longer the same object. Valid until
 * the next pysym__code() of the same address. */
const struct pycode *pysym__code(struct pysym *s, uint64_t addr, uint32_t guard);
/* Line of code unit lasti, 0 if none. */
int pysym__line(const struct pycode *c, uint32_t lasti);
/* Read a str object as UTF-8 (at most max bytes); 0 or -errno. Exposed for
 * thread names and tests. */
int pysym__read_str(struct pysym *s, uint64_t addr, char *out, size_t max);

#endif
