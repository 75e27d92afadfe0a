// SPDX-License-Identifier: MIT
/* The BPF probes of a session: open the skeleton, configure it for the
 * target, load, attach the tracepoints and one cpu-clock perf event per
 * CPU, and open the ring buffer. */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "env.h"
#include "errors.h"
#include "events.h"
#include "loopstall.skel.h"
#include "session.h"

static bool verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	if (!verbose)
		return 0;	/* load failures are reported in one line of ours */
	return vfprintf(stderr, fmt, ap);
}

static int perf_open(unsigned int freq, int cpu)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.size = sizeof(attr),
		.freq = 1,
		.sample_freq = freq,
	};

	return syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

static int attach_perf(struct probes *p, unsigned int freq)
{
	int ncpu = libbpf_num_possible_cpus();

	if (ncpu <= 0)
		return ls_error(LS_EXIT_ENV, "cannot count CPUs: %s", strerror(-ncpu));
	p->perf_links = calloc(ncpu, sizeof(*p->perf_links));
	if (!p->perf_links)
		return ls_error(LS_EXIT_ENV, "out of memory");
	for (int cpu = 0; cpu < ncpu; cpu++) {
		int fd = perf_open(freq, cpu);

		if (fd < 0) {
			if (errno == ENODEV)	/* offline CPU */
				continue;
			return ls_error(LS_EXIT_ENV, "perf_event_open(cpu-clock, cpu %d): %s; "
					"check kernel.perf_event_paranoid and CAP_PERFMON "
					"(loopstall doctor)", cpu, strerror(errno));
		}
		p->perf_links[p->n_perf] = bpf_program__attach_perf_event(p->skel->progs.on_cpu, fd);
		if (!p->perf_links[p->n_perf]) {
			int e = errno;

			close(fd);
			return ls_error(LS_EXIT_ENV, "attaching the on-CPU sampler to cpu %d: %s",
					cpu, strerror(e));
		}
		p->n_perf++;
	}
	return 0;
}

#define STATS_LOG	4096	/* BPF_LOG_STATS output of one program */

/* -v: the verifier's figures of each program, asked for before load. */
static char *stats_ask(struct bpf_object *obj)
{
	struct bpf_program *prog;
	char *logs;
	int i = 0;

	bpf_object__for_each_program(prog, obj)
		i++;
	logs = calloc(i ? i : 1, STATS_LOG);
	i = 0;
	bpf_object__for_each_program(prog, obj) {
		if (!logs)
			break;
		bpf_program__set_log_level(prog, 4 /* BPF_LOG_STATS */);
		bpf_program__set_log_buf(prog, logs + STATS_LOG * i++, STATS_LOG);
	}
	return logs;
}

/* Instructions as loaded, as verified, and the verifier's time. */
static void stats_print(struct bpf_object *obj, const char *logs)
{
	struct bpf_program *prog;
	unsigned long total_us = 0;
	int i = 0;

	bpf_object__for_each_program(prog, obj) {
		const char *log = logs + STATS_LOG * i++, *t, *v;
		unsigned long us = 0, insns = 0;

		if (!bpf_program__autoload(prog))
			continue;
		if ((t = strstr(log, "verification time ")))
			us = strtoul(t + 18, NULL, 10);
		if ((v = strstr(log, "processed ")))
			insns = strtoul(v + 10, NULL, 10);
		total_us += us;
		fprintf(stderr, "loopstall: BPF %-20s %5zu insns loaded, %7lu verified, %6.1f ms\n",
			bpf_program__name(prog), bpf_program__insn_cnt(prog), insns, us / 1e3);
	}
	fprintf(stderr, "loopstall: BPF verification %.1f ms in all\n", total_us / 1e3);
}

static int load(struct probes *p, const struct attach_opts *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, oopts, .btf_custom_path = o->btf);
	char *logs = NULL;
	int err;

	p->skel = loopstall_bpf__open_opts(&oopts);
	if (!p->skel)
		return ls_error(LS_EXIT_ENV, "opening the BPF object: %s", strerror(errno));
	attach__step(o, "BPF object opened");
	p->skel->rodata->threshold_ns = o->threshold_ns;
	p->skel->rodata->period_ns = 1000000000ULL / o->frequency;
	p->skel->rodata->min_age_ns = o->threshold_ns / 10;
	p->skel->rodata->pidns_ino = env__pidns_ino();
	bpf_map__set_max_entries(p->skel->maps.events, o->ringbuf_mb << 20);
	p->skel->rodata->sample_room = (o->ringbuf_mb << 20) / 8 * 7;
	if (o->verbose)
		logs = stats_ask(p->skel->obj);
	err = loopstall_bpf__load(p->skel);
	attach__step(o, "BPF programs loaded (BTF, relocations, maps, verifier)");
	if (!err && logs)
		stats_print(p->skel->obj, logs);
	free(logs);
	if (err == -EPERM || err == -EACCES)
		return ls_error(LS_EXIT_ENV, "loading BPF programs: permission denied; "
				"run as root or grant CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE");
	if (err)
		return ls_error(LS_EXIT_ENV, "loading BPF programs: %s; run `loopstall doctor` "
				"(add -v for the verifier log)", strerror(-err));
	return 0;
}

int probes__load(struct probes *p, const struct attach_opts *o)
{
	verbose = o->verbose;
	libbpf_set_print(libbpf_print);
	return load(p, o);
}

int probes__attach(struct probes *p, const struct attach_opts *o,
		   int (*fn)(void *ctx, void *data, size_t size), void *ctx)
{
	char why[256];
	int err;

	if (!env__tracefs(why, sizeof(why)))
		return ls_error(LS_EXIT_ENV, "%s", why);
	err = loopstall_bpf__attach(p->skel);
	if (err)
		return ls_error(LS_EXIT_ENV, "attaching to the syscall and sched tracepoints: %s; "
				"run `loopstall doctor`", strerror(-err));
	attach__step(o, "tracepoints attached");
	err = attach_perf(p, o->frequency);
	if (err)
		return err;
	attach__step(o, "perf events attached");
	p->rb = ring_buffer__new(bpf_map__fd(p->skel->maps.events), fn, ctx, NULL);
	if (!p->rb)
		return ls_error(LS_EXIT_ENV, "creating the ring buffer: %s", strerror(errno));
	return 0;
}

int probes__watch(struct probes *p, uint32_t tgid, uint32_t flags)
{
	struct ls_proc v = { .flags = flags };
	__u32 key = tgid;

	if (bpf_map_update_elem(bpf_map__fd(p->skel->maps.watched), &key, &v, BPF_ANY))
		return -errno;
	p->skel->bss->watch_filter[tgid & (LS_WATCH_FILTER - 1)] = 1;
	return 0;
}

int probes__set_layout(struct probes *p, uint32_t tgid, const struct ls_py_offsets *off)
{
	struct ls_py_layout l = { .walk = off != NULL };
	__u32 key = tgid;

	if (off)
		l.off = *off;
	return bpf_map_update_elem(bpf_map__fd(p->skel->maps.py_layouts), &key, &l, BPF_ANY) ?
	       -errno : 0;
}

void probes__stop(struct probes *p)
{
	ring_buffer__free(p->rb);
	for (int i = 0; i < p->n_perf; i++)
		bpf_link__destroy(p->perf_links[i]);
	free(p->perf_links);
	loopstall_bpf__destroy(p->skel);
	memset(p, 0, sizeof(*p));
}
