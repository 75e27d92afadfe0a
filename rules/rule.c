// SPDX-License-Identifier: MIT
/* Names of the rule vocabulary (categories, severities, fd kinds), both
 * ways. Parsing ignores case, and '_' stands for '-' in categories. */
#include <stddef.h>
#include "rule.h"

static const char *const category_names[CAT__N] = {
	[CAT_HTTP] = "http",
	[CAT_TIMEOUT] = "timeout",
	[CAT_SLEEP] = "sleep",
	[CAT_FILE] = "file",
	[CAT_SUBPROCESS] = "subprocess",
	[CAT_DNS] = "dns",
	[CAT_DB] = "db",
	[CAT_CPU] = "cpu",
	[CAT_LOCK] = "lock",
	[CAT_GIL] = "gil",
	[CAT_GC] = "gc",
	[CAT_CLIENT_PER_REQUEST] = "client-per-request",
	[CAT_IMPORT] = "import",
	[CAT_SEQUENTIAL_AWAIT] = "sequential-await",
	[CAT_OTHER] = "other",
};

static const char *const severity_names[SEV__N] = {
	[SEV_INFO] = "info",
	[SEV_WARNING] = "warning",
	[SEV_ERROR] = "error",
};

static const char *const fd_names[FD__N] = {
	[FD_TCP] = "tcp",
	[FD_UDP] = "udp",
	[FD_UNIX] = "unix",
	[FD_FILE] = "file",
	[FD_PIPE] = "pipe",
	[FD_OTHER] = "other",
};

static const char *name_of(const char *const *names, int n, int v)
{
	return v >= 0 && v < n && names[v] ? names[v] : "?";
}

/* Case-insensitive, '_' equal to '-'. */
static int same_word(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a == '_' ? '-' : *a, y = *b == '_' ? '-' : *b;

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return 0;
	}
	return !*a && !*b;
}

static int parse_of(const char *const *names, int n, const char *s)
{
	if (!s)
		return -1;
	for (int i = 0; i < n; i++)
		if (same_word(names[i], s))
			return i;
	return -1;
}

const char *rule_category_name(enum rule_category c)
{
	return name_of(category_names, CAT__N, c);
}

int rule_category_parse(const char *s)
{
	return parse_of(category_names, CAT__N, s);
}

const char *rule_severity_name(enum rule_severity s)
{
	return name_of(severity_names, SEV__N, s);
}

int rule_severity_parse(const char *s)
{
	return parse_of(severity_names, SEV__N, s);
}

const char *fd_kind_name(enum fd_kind k)
{
	return name_of(fd_names, FD__N, k);
}

int fd_kind_parse(const char *s)
{
	return parse_of(fd_names, FD__N, s);
}

bool rule__has_source(const struct rule *r)
{
	return r->n_anti || r->n_required || r->n_suggested;
}
