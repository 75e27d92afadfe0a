// SPDX-License-Identifier: MIT
/* The option parsers that are pure functions, on any text: numbers,
 * durations and PID lists (rules/parse.c), --since/--until
 * (report/window.c), report formats, syscall names (rules/syscalls.c).
 * The first byte picks the parser, the rest is the argument. */
#include "fuzz.h"	/* first: _GNU_SOURCE */
#include <errno.h>
#include "parse.h"
#include "report.h"
#include "syscalls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t pids[8] = {}, n = 0;
	uint64_t v = 0;
	char *s;

	if (!size)
		return 0;
	s = fuzz_str(data + 1, size - 1);
	switch (data[0] % 6) {
	case 0:
		if (!parse_u64(s, 1, 1000000, &v) && (v < 1 || v > 1000000))
			abort();
		parse_u64(s, 0, UINT64_MAX, &v);
		break;
	case 1:
		if (!parse_duration(s, 1000000, &v) && v > 1000000000000000000ULL)
			abort();
		parse_duration(s, 1, &v);
		break;
	case 2:
		if (!parse_pid_list(s, pids, &n, 8) && (!n || n > 8))
			abort();
		break;
	case 3:
		report_time_parse(s, 1714564800ULL * 1000000000ULL, &v);
		report_time_parse(s, 0, &v);
		break;
	case 4:
		report_format_parse(s);
		break;
	case 5:
		syscall__nr(s);
		break;
	}
	free(s);
	return 0;
}
