/* SPDX-License-Identifier: MIT */
/* The title of a process, as its users know it: /proc/PID/cmdline, which
 * setproctitle() rewrites ("gunicorn: worker [app:app]"), its arguments
 * joined by spaces otherwise ("python3 app.py"). Made printable and
 * bounded for every output. */
#ifndef LS_PROCTITLE_H
#define LS_PROCTITLE_H
#include <stddef.h>
#include <stdint.h>

#define PROC_TITLE_MAX	64	/* bytes of a title, NUL included */

/* The title of cmdline bytes buf[0..n) into out (len bytes, NUL
 * included): NUL-separated arguments joined by one space each (the NULs
 * setproctitle() pads with, at the end, dropped); invalid UTF-8 and
 * control characters (C0, DEL, C1) as '?'; cut on a character boundary.
 * Empty when buf holds nothing printable. Pure. */
void proctitle__from_cmdline(const char *buf, size_t n, char *out, size_t len);
/* The title of the first n bytes of a process's argument area (buf, read
 * from mm->arg_start) whose length is args_len (mm->arg_end - arg_start),
 * as /proc/PID/cmdline gives it: args_len bytes when the area ends in a
 * NUL; else (setproctitle wrote over it, maybe on past its end) up to the
 * first NUL. Then as proctitle__from_cmdline(). Pure. */
void proctitle__from_args(const char *buf, size_t n, uint64_t args_len, char *out,
			  size_t len);
/* Process pid's title now; its comm ("[kworker]" style names of no
 * cmdline: a kernel thread, a zombie) when its cmdline is empty. 0, or
 * -errno (-ESRCH: no such process) with out "?". */
int proctitle__read(int pid, char *out, size_t len);

#endif
