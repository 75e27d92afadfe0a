// SPDX-License-Identifier: MIT
/* Number and duration parsers (parse.h): strtoull / strtod with errno and
 * the end pointer checked, so signs, spaces and trailing junk are refused. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "parse.h"

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')	/* strtoull skips spaces, takes signs */
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || *end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_duration(const char *s, uint64_t unit_ns, uint64_t *out_ns)
{
	static const struct { const char *sfx; double ns; } units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 }, { "m", 60e9 },
	};
	double v, mult = unit_ns;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || strspn(s, "0123456789.") != (size_t)(end - s))
		return -EINVAL;
	if (*end) {
		size_t i;

		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (!strcmp(end, units[i].sfx))
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
		mult = units[i].ns;
	}
	v *= mult;
	if (v < 0 || v > 1e18)
		return -ERANGE;
	*out_ns = (uint64_t)(v + 0.5);
	return 0;
}

int parse_pid_list(const char *s, uint32_t *pids, uint32_t *n, uint32_t max)
{
	uint32_t k = *n;
	char item[16];

	if (!s || !*s)
		return -EINVAL;
	for (;;) {
		size_t len = strcspn(s, ",");
		uint64_t v;
		uint32_t i;
		int err;

		if (!len || len >= sizeof(item))
			return len ? -ERANGE : -EINVAL;
		memcpy(item, s, len);
		item[len] = 0;
		err = parse_u64(item, 1, PARSE_PID_MAX, &v);
		if (err)
			return err;
		for (i = 0; i < k && pids[i] != v; i++)
			;
		if (i == k) {
			if (k == max)
				return -E2BIG;
			pids[k++] = v;
		}
		if (!s[len])
			break;
		s += len + 1;
	}
	*n = k;
	return 0;
}
