// SPDX-License-Identifier: MIT
/* The one-line `loopstall: error:` and `warning:` messages. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
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

int ls_output_error(const char *path, int err)
{
	if (err == -ELOOP)
		return ls_error(LS_EXIT_USAGE, "%s is a symbolic link: loopstall does not write "
				"through one (another user may have put it there); give another "
				"path", path);
	if (err == -EPERM)
		return ls_error(LS_EXIT_USAGE, "%s belongs to another user: loopstall does not "
				"empty it; remove it, give another path, or --force", path);
	return ls_error(LS_EXIT_USAGE, "cannot write %s: %s; give a writable -o FILE", path,
			strerror(-err));
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
