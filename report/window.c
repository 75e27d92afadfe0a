// SPDX-License-Identifier: MIT
/* --since/--until values of `loopstall report`: absolute times in three
 * spellings, or an offset from the recording's start. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "parse.h"
#include "report.h"

#define NS 1000000000ULL

/* n digits at *p into *v, advancing *p. */
static bool digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return false;
		*v = *v * 10 + (**p - '0');
	}
	return true;
}

/* ".123456789" (any number of digits; those past nanoseconds ignored). */
static bool fraction(const char **p, uint64_t *ns)
{
	uint64_t scale = NS / 10;

	*ns = 0;
	if (**p != '.')
		return true;
	(*p)++;
	if (**p < '0' || **p > '9')
		return false;
	for (; **p >= '0' && **p <= '9'; (*p)++, scale /= 10)
		*ns += (uint64_t)(**p - '0') * scale;
	return true;
}

/* "+30s", "+1.5m", "+2h", "+90" (seconds) from start. */
static int parse_offset(const char *s, uint64_t start, uint64_t *out)
{
	size_t n = strlen(s);
	uint64_t d;

	if (n && s[n - 1] == 'h') {
		char num[64];

		if (n - 1 >= sizeof(num))
			return -EINVAL;
		memcpy(num, s, n - 1);
		num[n - 1] = 0;
		if (parse_duration(num, 3600 * NS, &d) || strspn(num, "0123456789.") != n - 1)
			return -EINVAL;
	} else if (parse_duration(s, NS, &d)) {
		return -EINVAL;
	}
	*out = start + d;
	return 0;
}

/* "1714564800" or "1714564800.25". */
static int parse_unix(const char *s, uint64_t *out)
{
	const char *p = s;
	uint64_t secs = 0, frac;

	for (; *p >= '0' && *p <= '9'; p++) {
		secs = secs * 10 + (*p - '0');
		if (secs > 9999999999ULL)	/* year 2286: past what u64 ns hold */
			return -EINVAL;
	}
	if (p == s || !fraction(&p, &frac) || *p)
		return -EINVAL;
	*out = secs * NS + frac;
	return 0;
}

/* "YYYY-MM-DD[T ]HH:MM:SS[.frac][Z|±HH:MM]": with a zone, RFC 3339;
 * without, local time. */
static int parse_datetime(const char *s, uint64_t *out)
{
	const char *p = s;
	struct tm tm = {}, chk;
	int y, mo, d, h, mi, se, zh = 0, zm = 0, sign = 0;
	uint64_t frac;
	time_t t;

	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d))
		return -EINVAL;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -EINVAL;
	p++;
	if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
	    !digits(&p, 2, &se) || !fraction(&p, &frac))
		return -EINVAL;
	if (*p == 'Z' || *p == 'z') {
		sign = 1;
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (!digits(&p, 2, &zh) || *p++ != ':' || !digits(&p, 2, &zm) ||
		    zh > 23 || zm > 59)
			return -EINVAL;
	}
	if (*p || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    se > 60)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	/* a day the month does not have (02-30) comes back normalized */
	chk = tm;
	timegm(&chk);
	if (chk.tm_mday != d)
		return -EINVAL;
	if (sign) {
		t = timegm(&tm) - sign * (zh * 3600 + zm * 60);
	} else {
		tm.tm_isdst = -1;
		t = mktime(&tm);
	}
	if (t < 0)
		return -EINVAL;
	*out = (uint64_t)t * NS + frac;
	return 0;
}

int report_time_parse(const char *s, uint64_t start_unix_ns, uint64_t *out)
{
	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '+')
		return parse_offset(s + 1, start_unix_ns, out);
	if (strchr(s, '-'))
		return parse_datetime(s, out);
	return parse_unix(s, out);
}
