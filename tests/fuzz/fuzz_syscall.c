// SPDX-License-Identifier: MIT
/* The /proc/PID/task/TID/syscall parser (probe/snapshot.c: it needs no
 * BPF skeleton) on any text. */
#include "fuzz.h"	/* first: _GNU_SOURCE */
#include "snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size);
	struct thread_syscall sc;

	snapshot__parse_syscall(text, &sc);
	free(text);
	return 0;
}
