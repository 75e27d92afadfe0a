// SPDX-License-Identifier: MIT
/* The one-line `loopstall: error:` and `warning:` messages. */
#include <stdarg.h>
#include <stdio.h>
#include "errors.h"

int ls_error(int code, const char *fmt, ...)
{
	va_list ap;

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

	fputs("loopstall: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
