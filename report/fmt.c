// SPDX-License-Identifier: MIT
/* Numbers, times, paths and frames as people read them: "201.4 ms",
 * "12:00:01.250", "_socket.so", "handle (app.py:41)". */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "fmt.h"

const char *fmt_dur(uint64_t ns, char *buf, size_t len)
{
	if (ns >= 9995000000ULL)	/* what rounds to 10.0 s */
		snprintf(buf, len, "%.1f s", ns / 1e9);
	else if (ns >= 999950000ULL)	/* what rounds to 1.00 s */
		snprintf(buf, len, "%.2f s", ns / 1e9);
	else
		snprintf(buf, len, "%.1f ms", ns / 1e6);
	return buf;
}

const char *fmt_clock(uint64_t unix_ns, char *buf, size_t len)
{
	time_t secs = unix_ns / 1000000000ULL;
	struct tm tm;

	localtime_r(&secs, &tm);
	snprintf(buf, len, "%02d:%02d:%02d.%03u", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned int)(unix_ns % 1000000000ULL / 1000000));
	return buf;
}

const char *fmt_time(uint64_t unix_ns, char *buf, size_t len)
{
	time_t secs = unix_ns / 1000000000ULL;
	struct tm tm;

	if (!localtime_r(&secs, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S %z", &tm))
		snprintf(buf, len, "@%" PRIu64, (uint64_t)secs);
	return buf;
}

const char *fmt_base(const char *path)
{
	const char *b = path ? strrchr(path, '/') : NULL;

	return b ? b + 1 : path ? path : "?";
}

const char *fmt_relpath(const char *path, const char *root)
{
	size_t n = root ? strlen(root) : 0;

	if (!path || !n || path[0] != '/' || root[0] != '/')
		return path;
	while (n && root[n - 1] == '/')
		n--;
	if (strncmp(path, root, n) || path[n] != '/' || !path[n + 1])
		return path;
	return path + n + 1;
}

const char *fmt_module(const char *path, char *buf, size_t len)
{
	const char *b = fmt_base(path), *tag = strstr(b, ".cpython-");

	if (!tag)
		return b;
	snprintf(buf, len, "%.*s%s", (int)(tag - b), b, strstr(tag, ".so") ? ".so" : "");
	return buf;
}

const char *fmt_frame_label(const struct frame *fr, char *buf, size_t len)
{
	char mod[256];

	if (fr->kind == FRAME_PYTHON) {
		const char *fn = fr->function ? fr->function : "?";

		if (fr->line)
			snprintf(buf, len, "%s (%s:%d)", fn, fmt_base(fr->file), fr->line);
		else
			snprintf(buf, len, "%s (%s)", fn, fmt_base(fr->file));
	} else if (fr->function) {
		if (fr->module)
			snprintf(buf, len, "%s [%s]", fr->function,
				 fmt_module(fr->module, mod, sizeof(mod)));
		else
			snprintf(buf, len, "%s", fr->function);
	} else {
		snprintf(buf, len, "0x%" PRIx64 " [%s]", fr->addr,
			 fr->module ? fmt_module(fr->module, mod, sizeof(mod)) : "?");
	}
	return buf;
}

/* "name/tid" in at most width columns: the name gives way, the TID never. */
const char *fmt_who(const char *thread, uint32_t tid, char *buf, size_t len,
			   int width)
{
	char t[16];
	int n = snprintf(t, sizeof(t), "/%u", tid);
	int room = width - n;

	snprintf(buf, len, "%.*s%s", room > 0 ? room : 0, thread, t);
	return buf;
}
