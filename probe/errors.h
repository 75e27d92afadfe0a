/* SPDX-License-Identifier: MIT */
/* Exit codes and the one-line error users rely on (README.md, "Exit
 * status"): every error is one `loopstall: error: ...` line on stderr. */
#ifndef LS_ERRORS_H
#define LS_ERRORS_H

enum ls_exit {
	LS_EXIT_OK	= 0,	/* nothing wrong */
	LS_EXIT_FINDINGS = 1,	/* findings at or above --fail-on, a budget broken */
	LS_EXIT_USAGE	= 2,	/* bad command line */
	LS_EXIT_ENV	= 3,	/* no BPF, BTF, tracepoint or capability */
	LS_EXIT_TARGET	= 4,	/* no such process, not CPython, unsupported */
};

/* Print "loopstall: error: <fmt>" on one line; returns code. */
int ls_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "loopstall: warning: <fmt>". */
void ls_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The error line of an output file that could not be opened (outfile.h:
 * err from outfile__open()); returns LS_EXIT_USAGE. */
int ls_output_error(const char *path, int err);
/* fn runs before each message (the status line clears itself); NULL: none. */
void ls_before_message(void (*fn)(void));

#endif
