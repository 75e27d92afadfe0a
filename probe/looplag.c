// SPDX-License-Identifier: MIT
/* The loop lag (report/lag.h): the histogram of busy intervals BPF keeps on
 * each loop thread's entry, read into the session's summary (every
 * LAG_READ_NS, and at the end), and written to the recording (every
 * LAG_WRITE_NS, and at the end). A thread that exited left its histogram
 * in the map gone_busy: read once, then deleted. */
#include <bpf/bpf.h>
#include <errno.h>
#include <string.h>
#include "errors.h"
#include "events.h"
#include "loopstall.skel.h"
#include "session.h"

#define LAG_READ_NS	200000000ULL	/* 5 times a second: the status line */
#define LAG_WRITE_NS	10000000000ULL

static const struct loop_info *found_tid(const struct session *s, uint32_t tid)
{
	for (unsigned int i = 0; i < s->n_found; i++)
		if (s->found[i].tid == tid)
			return &s->found[i];
	return NULL;
}

/* The histograms of threads gone: each found loop's is its last. */
static int drain_gone(struct session *s)
{
	int fd = bpf_map__fd(s->bpf.skel->maps.gone_busy);
	__u32 key, next;
	struct ls_busy b;
	struct lag l;
	int err = 0;

	while (!err && !bpf_map_get_next_key(fd, NULL, &next)) {
		const struct loop_info *li = found_tid(s, next);

		key = next;
		if (li && !bpf_map_lookup_elem(fd, &key, &b)) {
			lag__set(&l, &b);
			err = summary__lag(&s->out.sum, li->pid, li->tid, li->thread, &l);
		}
		bpf_map_delete_elem(fd, &key);
	}
	return err;
}

int looplag__read(struct session *s, uint64_t now, bool all)
{
	int fd = bpf_map__fd(s->bpf.skel->maps.threads);
	struct ls_thread t;
	struct lag l;

	if (!s->live || (!all && now - s->lag_read_ns < LAG_READ_NS))
		return 0;
	s->lag_read_ns = now;
	for (unsigned int i = 0; i < s->n_found; i++) {
		const struct loop_info *li = &s->found[i];

		if (bpf_map_lookup_elem(fd, &li->tid, &t) || t.tgid != li->pid)
			continue;	/* gone: its last count is in gone_busy */
		lag__set(&l, &t.busy);
		if (summary__lag(&s->out.sum, li->pid, li->tid, li->thread, &l))
			return -ENOMEM;
	}
	return drain_gone(s);
}

void looplag__record(struct session *s, uint64_t now, bool all)
{
	struct session_out *out = &s->out;
	int err = 0;

	if (!out->rec || (!all && now - out->lag_written_ns < LAG_WRITE_NS))
		return;
	out->lag_written_ns = now;
	/* every loop, an idle one too (no interval: its p99 is judged 0) */
	for (uint32_t i = 0; !err && i < out->sum.n_loops; i++) {
		const struct loop_summary *l = &out->sum.loops[i];

		err = recorder__lag(out->rec, l->pid, l->tid, l->thread, &l->lag);
	}
	if (err && !out->rec_err)
		ls_warn("writing %s: %s; the loop lag is lost until there is room",
			s->o->output, strerror(-err));
	if (!out->rec_err)
		out->rec_err = err;
}
