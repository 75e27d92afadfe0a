// SPDX-License-Identifier: MIT
/* The live printers (live.h): each hands its event to the variant of the
 * format asked for, and flushes, so a reader of the pipe sees it at once. */
#include "live.h"
#include "syscalls.h"

void print_session(FILE *f, enum out_format fmt, const struct session_start *s)
{
	if (!f)		/* --quiet */
		return;
	if (fmt == OUT_JSON)
		live_json__session(f, s);
	else
		live_text__session(f, s);
	fflush(f);
}

void print_stall(FILE *f, enum out_format fmt, const struct stall *s,
		 const struct frames *frames, unsigned int flags)
{
	if (!f)		/* --quiet */
		return;
	if (fmt == OUT_JSON) {
		live_json__stall(f, s, frames);
		fputc('\n', f);
	} else {
		live_text__stall(f, s, frames, flags);
	}
	fflush(f);
}

void print_blocked(FILE *f, enum out_format fmt, const struct proc_info *p, bool multi,
		   uint32_t tid, const char *thread, uint64_t now_unix_ns, uint64_t blocked_ns,
		   int32_t nr)
{
	char nrbuf[32];
	const char *in = syscall__is_wait(nr) ?
			 syscall__wait_label(nr, nrbuf, sizeof(nrbuf)) : NULL;

	if (!f)		/* --quiet */
		return;
	if (fmt == OUT_JSON)
		live_json__blocked(f, p, tid, thread, now_unix_ns, blocked_ns, in);
	else
		live_text__blocked(f, multi ? p : NULL, tid, thread, now_unix_ns, blocked_ns, in);
	fflush(f);
}

void print_loop(FILE *f, enum out_format fmt, const struct proc_info *p, bool multi,
		const struct loop_info *l)
{
	if (!f)		/* --quiet */
		return;
	if (fmt == OUT_JSON)
		live_json__loop(f, p, l);
	else
		live_text__loop(f, multi ? p : NULL, l);
	fflush(f);
}

void print_proc_start(FILE *f, enum out_format fmt, const struct proc_info *p)
{
	if (!f)		/* --quiet */
		return;
	if (fmt == OUT_JSON)
		live_json__proc(f, "start", p, NULL, 0);
	else
		live_text__proc_start(f, p);
	fflush(f);
}

void print_proc_exit(FILE *f, enum out_format fmt, const struct proc_info *p,
		     const struct proc_summary *ps, uint64_t threshold_ns, uint64_t now_unix_ns)
{
	static const struct proc_summary none;

	if (!f)		/* --quiet */
		return;
	if (fmt == OUT_JSON)
		live_json__proc(f, "exit", p, ps ? ps : &none, now_unix_ns);
	else
		live_text__proc_exit(f, p, ps ? ps : &none, threshold_ns);
	fflush(f);
}

void print_await(FILE *f, enum out_format fmt, const struct await_finding *g,
		 const struct frames *frames)
{
	if (!f)		/* --quiet */
		return;
	if (fmt == OUT_JSON)
		live_json__await(f, g, frames);
	else
		live_text__await(f, g, frames, "loopstall: ");
	fflush(f);
}

void print_summary(FILE *f, enum out_format fmt, const struct session_end *e)
{
	if (fmt == OUT_JSON)
		live_json__summary(f, e);
	else
		live_text__summary(f, e);
	fflush(f);
}
