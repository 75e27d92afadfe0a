// SPDX-License-Identifier: MIT
/* The /proc/PID/maps parser (symbolizer/maps.c) on any text, then lookups
 * of each entry's bounds. */
#include "fuzz.h"	/* first: _GNU_SOURCE */
#include "maps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size);
	struct maps m;

	if (!maps__parse(&m, text)) {
		for (unsigned int i = 0; i < m.n; i++) {
			maps__find(&m, m.v[i].start);
			maps__find(&m, m.v[i].end - 1);
			maps__find(&m, m.v[i].end);
		}
		maps__free(&m);
	}
	free(text);
	return 0;
}
