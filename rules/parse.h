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

#endif
