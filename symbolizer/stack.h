/* SPDX-License-Identifier: MIT */
/* Frames people read: an interned table of Python and native frames, and
 * the merge of a sample's Python frames into its native stack. */
#ifndef LS_STACK_H
#define LS_STACK_H
#include <stdbool.h>
#include <stdint.h>

#define LS_MAX_STACK	256	/* merged frames kept per sample */

enum frame_kind { FRAME_PYTHON = 0, FRAME_NATIVE = 1 };

struct frame {
	uint8_t kind;		/* enum frame_kind */
	bool user;		/* Python: the user's code, not stdlib/site-packages */
	bool interp;		/* native: the interpreter's own machinery */
	bool eval;		/* native: runs Python frames (_PyEval_EvalFrameDefault) */
	int line;		/* 0: unknown */
	int firstline;		/* Python: co_firstlineno (the function's source) */
	char *function;		/* qualname or symbol; NULL: unknown */
	char *file;		/* co_filename, or a native source file */
	char *module;		/* native: the mapped file */
	char *code;		/* Python: the source line */
	uint64_t addr;		/* native without a symbol: the address */
};

struct frames;

struct frames *frames__new(void);
void frames__free(struct frames *t);
/* The id of a frame equal to f (strings copied); UINT32_MAX on ENOMEM. */
uint32_t frames__intern(struct frames *t, const struct frame *f);
const struct frame *frames__get(const struct frames *t, uint32_t id);
uint32_t frames__count(const struct frames *t);

/* True for a Python file of the user's own code. */
bool frame__user_file(const char *file);
/* True for native frames of the interpreter's own machinery. */
bool frame__interp_symbol(const char *function);

/*
 * Merge, innermost first: each native eval frame is replaced by the Python
 * frames it runs (py[] up to and including the next one whose py_entry is
 * set); Python frames left when the native stack ends (unwinding stopped
 * early) follow at the outer end. Returns the number of ids written.
 */
int stack__merge(const struct frames *t, const uint32_t *py, const bool *py_entry,
		 int n_py, const uint32_t *native, int n_native, uint32_t *out, int max);

#endif
