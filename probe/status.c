// SPDX-License-Identifier: MIT
/* The live status line of attach and record (docs/ci.md): one line on
 * stderr, redrawn at most 4 times a second, what the session prints
 * written above it (session__out() clears it first, and the error and
 * warning lines do too), the way cargo and pv draw theirs:
 *
 *   1:02 2 procs 3 loops 412/s | 5 stalls 1.2% p50 0.5ms p99 48ms worst 1.20s | LS020 app.py:43
 *
 * elapsed, processes and loops watched, busy intervals a second (the
 * last second or two), stalls and the stalled share, the p50 and p99 of
 * busy intervals,
 * the worst stall, lost events when any, and the rule and call site with
 * the most stalled time. Cut to the terminal's width. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "errors.h"
#include "fmt.h"
#include "loopstall.skel.h"
#include "textcols.h"
#include "session.h"

#define STATUS_EVERY_NS	250000000ULL

static struct status *drawn;	/* the line now on the terminal, if any */

static void clear_drawn(void)
{
	if (drawn && drawn->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		drawn->drawn = false;
	}
}

void status__init(struct status *st, int want)
{
	struct winsize ws;

	memset(st, 0, sizeof(*st));
	st->on = want > 0 || (want < 0 && isatty(STDERR_FILENO));
	st->width = 80;
	if (st->on && !ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) && ws.ws_col >= 20)
		st->width = ws.ws_col;
	if (st->on) {
		drawn = st;
		ls_before_message(clear_drawn);
	}
}

void status__clear(struct status *st)
{
	if (st->drawn)
		clear_drawn();
}

/* A duration in few columns: "0.5ms", "48ms", "1.20s". */
static const char *short_dur(uint64_t ns, char *buf, size_t len)
{
	double ms = ns / 1e6;

	if (ms < 10)
		snprintf(buf, len, "%.1fms", ms);
	else if (ms < 1000)
		snprintf(buf, len, "%.0fms", ms);
	else
		snprintf(buf, len, "%.2fs", ms / 1000);
	return buf;
}

/* The finding group with the most time so far (the summary is not
 * sorted while the session runs). */
static const struct finding_group *top_group(const struct summary *sum)
{
	const struct finding_group *top = NULL;

	for (uint32_t i = 0; i < sum->n_groups; i++)
		if (sum->groups[i].count && (!top || sum->groups[i].total_ns > top->total_ns))
			top = &sum->groups[i];
	return top;
}

static unsigned int python_procs(const struct session *s)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < s->procs.n; i++)
		n += s->procs.v[i]->was_python && s->procs.v[i]->state != PROC_GONE;
	return n;
}

/* The line, into st->line (not cut). */
static void compose(struct status *st, const struct session *s, uint64_t now, struct lag *all)
{
	const struct summary *sum = &s->out.sum;
	const struct finding_group *g = top_group(sum);
	uint64_t el = (now - s->start_ns) / 1000000000ULL, lost, worst_ns = 0;
	double loop_ns = (double)(now - s->start_ns) * (s->n_found ? s->n_found : 1);
	char p50[32], p99[32], worst[32];
	size_t k;

	lost = s->bpf.skel->bss->lost_stalls + s->bpf.skel->bss->lost_samples;
	for (uint32_t i = 0; i < sum->n_loops; i++)	/* max_ns: at the end */
		if (sum->loops[i].worst_ns > worst_ns)
			worst_ns = sum->loops[i].worst_ns;
	k = snprintf(st->line, sizeof(st->line), "%" PRIu64 ":%02" PRIu64 " %u proc%s %u loop%s "
		     "%.0f/s | %u stall%s %.3g%% p50 %s p99 %s worst %s", el / 60, el % 60,
		     python_procs(s), python_procs(s) == 1 ? "" : "s", s->n_found,
		     s->n_found == 1 ? "" : "s", st->rate, sum->stalls, sum->stalls == 1 ? "" : "s",
		     loop_ns > 0 ? 100.0 * sum->stalled_ns / loop_ns : 0.0,
		     short_dur(lag__quantile(all, 0.5), p50, sizeof(p50)),
		     short_dur(lag__quantile(all, 0.99), p99, sizeof(p99)),
		     short_dur(worst_ns, worst, sizeof(worst)));
	if (lost && k < sizeof(st->line))
		k += snprintf(st->line + k, sizeof(st->line) - k, " LOST %" PRIu64, lost);
	if (g && k < sizeof(st->line))
		snprintf(st->line + k, sizeof(st->line) - k, " | %s %s:%d", g->rule->id,
			 fmt_base(g->file), g->line);
}

void status__tick(struct status *st, const struct session *s, uint64_t now)
{
	struct lag all = {};

	if (!st->on || now < st->next_ns)
		return;
	st->next_ns = now + STATUS_EVERY_NS;
	for (uint32_t i = 0; i < s->out.sum.n_loops; i++)
		lag__add(&all, &s->out.sum.loops[i].lag);
	if (st->last_ns && now > st->last_ns && all.count >= st->last_count)
		st->rate = (all.count - st->last_count) * 1e9 / (now - st->last_ns);
	if (!st->last_ns || now - st->last_ns >= 1000000000ULL) {
		st->last_ns = now;
		st->last_count = all.count;
	}
	compose(st, s, now, &all);
	fputs("\r\033[K", stderr);
	cols_put(stderr, st->line, st->width - 1, false, false);
	fflush(stderr);
	st->drawn = true;
}

void status__end(struct status *st)
{
	status__clear(st);
	if (drawn == st) {
		drawn = NULL;
		ls_before_message(NULL);
	}
}
