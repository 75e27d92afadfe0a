/* SPDX-License-Identifier: MIT */
/* Number and duration parsers for command-line options and rule files:
 * strict, no atoi. 0 on success, -EINVAL/-ERANGE. */
#ifndef LS_PARSE_H
#define LS_PARSE_H
#include <stdint.h>

/* An unsigned integer in [min, max]. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* A duration: plain number in the default unit, or with a suffix
 * ns, us, ms, s, m (e.g. "50", "0.5s", "200ms"). Result in nanoseconds. */
int parse_duration(const char *s, uint64_t unit_ns, uint64_t *out_ns);
/* Process IDs, "4242" or "4242,4250,…" (1 to PARSE_PID_MAX each), added to
 * pids[0..*n) unless already there, at most max in all. 0, -EINVAL (empty,
 * an empty item, not a number), -ERANGE (a PID out of range) or -E2BIG
 * (more than max): then pids and *n are as they were. */
#define PARSE_PID_MAX	4194304		/* the kernel's PID_MAX_LIMIT */
int parse_pid_list(const char *s, uint32_t *pids, uint32_t *n, uint32_t max);

#endif
