// SPDX-License-Identifier: MIT
/* The await scanner (rules/awaitseq.c) on any function source, as a
 * recording from another machine carries it (LS120). Input: the count of
 * awaited lines (1 byte, at most AWAITSEQ_MAX + 2), the lines (2 bytes
 * each, little-endian, from firstline 1), then the source. */
#include "fuzz.h"	/* first: _GNU_SOURCE */
#include <string.h>
#include "awaitseq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int lines[AWAITSEQ_MAX + 2], runs[AWAITSEQ_MAX][2];
	size_t at;
	char *src;
	int n, k;

	if (!size)
		return 0;
	n = data[0] % (AWAITSEQ_MAX + 3);
	at = 1 + 2 * (size_t)n;
	if (size < at)
		return 0;
	for (int i = 0; i < n; i++)
		lines[i] = data[1 + 2 * i] | data[2 + 2 * i] << 8;
	src = fuzz_str(data + at, size - at);
	k = awaitseq__first_dependent(src, 1, lines, n);
	if (k != -1 && (k < 1 || k > n))
		abort();
	k = awaitseq__runs(src, 1, lines, n, runs, AWAITSEQ_MAX);
	for (int i = 0; i < k; i++)
		if (runs[i][0] < 0 || runs[i][1] > n || runs[i][1] - runs[i][0] < 2)
			abort();
	free(src);
	return 0;
}
