// SPDX-License-Identifier: MIT
/* Process titles (proctitle.h): /proc/PID/cmdline made one printable line. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "proctitle.h"

#define CMDLINE_READ	4096	/* bytes read: far more than a title keeps */

/* Length of the valid UTF-8 character at p (at most n bytes), 0 if none. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
	uint32_t cp;

	if (p[0] < 0xc2 || p[0] > 0xf4 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	cp = len == 2 ? (p[0] & 0x1fu) << 6 | (p[1] & 0x3f) :
	     len == 3 ? (p[0] & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3f) :
	     (p[0] & 0x07u) << 18 | (p[1] & 0x3fu) << 12 | (p[2] & 0x3fu) << 6 | (p[3] & 0x3f);
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;	/* overlong, out of range, a surrogate */
	return len;
}

/* Append the k bytes at c to out (used of len) unless they do not fit:
 * false then. */
static bool put(char *out, size_t len, size_t *used, const void *c, size_t k)
{
	if (*used + k >= len)
		return false;
	memcpy(out + *used, c, k);
	*used += k;
	return true;
}

void proctitle__from_cmdline(const char *buf, size_t n, char *out, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t used = 0, i = 0, k;

	if (!len)
		return;
	while (n && !p[n - 1])
		n--;		/* setproctitle pads its title with NULs */
	while (i < n) {
		unsigned char c = p[i];
		bool fits;

		if (c < 0x80) {
			char o = !c ? ' ' : c < 0x20 || c == 0x7f ? '?' : (char)c;

			fits = put(out, len, &used, &o, 1);
			k = 1;
		} else if ((k = utf8_len(p + i, n - i)) == 0 || (c == 0xc2 && p[i + 1] <= 0x9f)) {
			fits = put(out, len, &used, "?", 1);	/* invalid, or C1 */
			k = k ? k : 1;
		} else {
			fits = put(out, len, &used, p + i, k);
		}
		if (!fits)
			break;
		i += k;
	}
	out[used] = 0;
}

void proctitle__from_args(const char *buf, size_t n, uint64_t args_len, char *out,
			  size_t len)
{
	if (args_len && args_len <= n && !buf[args_len - 1])
		n = args_len;
	else if (args_len && args_len <= n)
		n = strnlen(buf, n);	/* setproctitle's one string */
	proctitle__from_cmdline(buf, n, out, len);
}

static ssize_t read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len);
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

int proctitle__read(int pid, char *out, size_t len)
{
	char path[64], buf[CMDLINE_READ];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	n = read_file(path, buf, sizeof(buf));
	if (n > 0)
		proctitle__from_cmdline(buf, n, out, len);
	if (n > 0 && out[0])
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	n = read_file(path, buf, sizeof(buf));
	if (n > 0) {
		proctitle__from_cmdline(buf, buf[n - 1] == '\n' ? n - 1 : n, out, len);
		if (out[0])
			return 0;
	}
	snprintf(out, len, "?");
	return n < 0 ? (n == -ENOENT ? -ESRCH : (int)n) : -ENOENT;
}
