// SPDX-License-Identifier: MIT
/* The process-title parsers (symbolizer/proctitle.c) on any bytes: a
 * /proc/PID/cmdline, and an argument area of any stated length. The title
 * must be a NUL-terminated string within its buffer. */
#include "fuzz.h"	/* first: _GNU_SOURCE */
#include <string.h>
#include "proctitle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[PROC_TITLE_MAX], small[7];
	uint64_t args_len = 0;
	char *buf;

	buf = malloc(size ? size : 1);
	if (!buf)
		abort();
	memcpy(buf, data, size);
	proctitle__from_cmdline(buf, size, out, sizeof(out));
	if (strnlen(out, sizeof(out)) == sizeof(out))
		abort();
	proctitle__from_cmdline(buf, size, small, sizeof(small));
	if (strnlen(small, sizeof(small)) == sizeof(small))
		abort();
	if (size >= 8)
		memcpy(&args_len, data, 8);
	proctitle__from_args(buf, size, args_len, out, sizeof(out));
	if (strnlen(out, sizeof(out)) == sizeof(out))
		abort();
	proctitle__from_args(buf, size, size, out, sizeof(out));
	free(buf);
	return 0;
}
