// SPDX-License-Identifier: MIT
/* The one-line `loopstall: error:` and `warning:` messages. */
#include <stdarg.h>
#include <stdio.h>
#include "errors.h"

static void (*before_message)(void);

void ls_before_message(void (*fn)(void))
{
	before_message = fn;
}

int ls_error(int code, const char *fmt, ...)
{
	va_list ap;

	if (before_message)
		before_message();
	fputs("loopstall: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

void ls_warn(const char *fmt, ...)
{
	va_list ap;

	if (before_message)
		before_message();
	fputs("loopstall: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
