// SPDX-License-Identifier: MIT
/* The location-table decoder (symbolizer/linetable.c) on any bytes. The
 * format is one for 3.11 to 3.15 (linetable.h); the seeds are real tables
 * of each version. Input: co_firstlineno (int32, little-endian), lasti
 * (uint32), then the table. Beyond memory errors, the decoder's contract
 * is checked: a line >= 0 or -EINVAL, and the table cut anywhere gives the
 * same line or -EINVAL, never another line. */
#include "fuzz.h"	/* first: _GNU_SOURCE */
#include <errno.h>
#include <string.h>
#include "linetable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int32_t first;
	uint32_t lasti;
	uint8_t *t;
	size_t len;
	int line;

	if (size < 8)
		return 0;
	memcpy(&first, data, 4);
	memcpy(&lasti, data + 4, 4);
	len = size - 8;
	t = malloc(len ? len : 1);	/* a buffer of its own: reads past it are seen */
	if (!t)
		abort();
	memcpy(t, data + 8, len);
	line = linetable__line(t, len, first, lasti);
	if (line < 0 && line != -EINVAL)
		abort();
	for (size_t cut = 0; cut < len; cut += len / 16 + 1) {
		int l = linetable__line(t, cut, first, lasti);

		if (l != -EINVAL && l != line) {
			fprintf(stderr, "lasti %u: line %d from %zu bytes, %d from %zu\n",
				lasti, l, cut, line, len);
			abort();
		}
	}
	/* every code unit up to the first that does not decode */
	for (uint32_t u = 0; u < 4096 && linetable__line(t, len, first, u) != -EINVAL; u++)
		;
	free(t);
	return 0;
}
