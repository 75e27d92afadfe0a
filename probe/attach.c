#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "env.h"
#include "errors.h"
#include "events.h"
#include "loopstall.skel.h"
#include "fdkind.h"
#include "findings.h"
#include "pyproc.h"
#include "recording.h"
#include "resolve.h"
#include "rule.h"
#include "rules_cmd.h"
#include "stall.h"
#include "syscalls.h"
#include "target.h"

#define SCAN_INTERVAL_NS	100000000ULL	/* loop table scan: new loops, hangs */
#define TSTATE_INTERVAL_NS	2000000000ULL	/* thread-state refresh */
#define MAX_SAMPLES_KEPT	20000		/* per busy interval */
#define MAX_PY_THREADS		4096

enum loop_kind { LOOP_PENDING, LOOP_UNKNOWN, LOOP_ASYNCIO, LOOP_UVLOOP, LOOP_NOT };

struct loop_state {
	struct loop_info info;
	enum loop_kind kind;
	/* who held the GIL while this loop last waited for it */
	uint64_t gil_seq;
	uint32_t gil_tid;
	uint32_t n_gil_frames;
	uint32_t *gil_frames;
	uint64_t blocked_seq;		/* busy interval last reported as blocked */
	uint64_t blocked_secs;		/* whole seconds reported for it */
};

struct session {
	const struct attach_opts *o;
	struct target tgt;
	struct loopstall_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link **perf_links;
	int n_perf;
	struct assembler as;
	struct pyproc py;
	bool have_py;
	struct resolver res;
	uint32_t *ids;			/* scratch: one sample's frames */
	uint64_t tstates_at;		/* last thread-state refresh */
	uint64_t mono_to_unix;
	uint64_t start_ns;
	struct loop_state *loops;
	unsigned int n_loops;
	uint32_t stalls;
	uint64_t stalled_ns, worst_ns;
	struct rule_pack rules;
	struct finding_group *groups;
	uint32_t n_groups;
	int worst_severity;		/* of every finding, -1 none */
	struct recorder *rec;		/* record: where stalls go */
	int rec_err;			/* first write error, e.g. -ENOSPC */
	uint32_t recorded, rec_lost;
	pid_t child;			/* record -- CMD: our child, 0 otherwise */
	int err;			/* from a callback */
};

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

static bool verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!verbose && level != LIBBPF_WARN)
		return 0;
	if (!verbose)
		return 0;	/* load failures are reported in one line of ours */
	return vfprintf(stderr, fmt, ap);
}

static uint64_t now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Hand BPF the thread states of the target's threads. */
static void session_tstates(struct session *s)
{
	struct py_thread *v;
	int fd, n;

	s->tstates_at = now_mono();
	if (!s->have_py)
		return;
	v = calloc(MAX_PY_THREADS, sizeof(*v));
	if (!v)
		return;
	n = pyproc__threads(&s->py, v, MAX_PY_THREADS);
	fd = bpf_map__fd(s->skel->maps.py_tstates);
	for (int i = 0; i < n; i++) {
		__u64 ts = v[i].tstate;

		if (v[i].tid)
			bpf_map_update_elem(fd, &v[i].tid, &ts, BPF_ANY);
	}
	/* threads gone: their thread states are freed, their TIDs reusable */
	if (n >= 0) {
		__u32 key, next, *prev = NULL;

		while (!bpf_map_get_next_key(fd, prev, &next)) {
			bool live = false;

			key = next;
			for (int i = 0; i < n && !live; i++)
				live = v[i].tid == key;
			if (!live && !bpf_map_delete_elem(fd, &key))
				continue;	/* deleted: next key from the same place */
			prev = &key;
		}
	}
	free(v);
}

static uint64_t session_tstate_of(struct session *s, uint32_t tid)
{
	__u64 ts = 0;
	int fd = bpf_map__fd(s->skel->maps.py_tstates);

	if (bpf_map_lookup_elem(fd, &tid, &ts)) {
		session_tstates(s);
		if (bpf_map_lookup_elem(fd, &tid, &ts))
			return 0;
	}
	return ts;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = s ? strlen(s) : 0, b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* Is this polling thread an asyncio or uvloop event loop? Its Python
 * stack says: asyncio's run loop, or uvloop, is on it. */
static enum loop_kind session_classify(struct session *s, uint32_t tid)
{
	struct ls_pyframe pf[LS_MAX_PYFRAMES];
	uint32_t ids[LS_MAX_PYFRAMES], flags;
	bool entry[LS_MAX_PYFRAMES];
	uint64_t ts;
	int n;

	if (!s->have_py || !(ts = session_tstate_of(s, tid)))
		return LOOP_UNKNOWN;
	n = pyproc__walk(&s->py, ts, pf, LS_MAX_PYFRAMES, &flags);
	if (n <= 0)
		return LOOP_UNKNOWN;
	resolver__python(&s->res, pf, n, ids, entry);
	for (int i = 0; i < n; i++) {
		const struct frame *f = frames__get(s->res.frames, ids[i]);
		const char *file = f ? f->file : NULL;

		if (file && strstr(file, "uvloop"))
			return LOOP_UVLOOP;
		if (ends_with(file, "asyncio/base_events.py") ||
		    ends_with(file, "asyncio/runners.py"))
			return LOOP_ASYNCIO;
	}
	return (flags & (LS_PY_READ_ERR | LS_PY_TRUNCATED)) ? LOOP_UNKNOWN : LOOP_NOT;
}

static const char *poll_name(uint32_t kind)
{
	switch (kind) {
	case LS_POLL_EPOLL: return "epoll";
	case LS_POLL_POLL: return "poll";
	case LS_POLL_SELECT: return "select";
	default: return "?";
	}
}

static struct loop_state *session_find(struct session *s, uint32_t tid)
{
	for (unsigned int i = 0; i < s->n_loops; i++)
		if (s->loops[i].info.tid == tid)
			return &s->loops[i];
	return NULL;
}

/* The loop state of tid, created when first seen, and classified by its
 * Python stack while it is in its poll (in_poll: now, or at a stall's end,
 * which is a poll's entry): then the stack shows what runs the poll. A
 * polling thread that is no event loop is dropped from BPF's table and
 * never looked at again. */
static struct loop_state *session_loop(struct session *s, uint32_t tid, uint32_t poll_kind,
				       bool in_poll)
{
	struct loop_state *l = session_find(s, tid);

	if (!l) {
		l = realloc(s->loops, (s->n_loops + 1) * sizeof(*l));
		if (!l)
			return NULL;
		s->loops = l;
		l = &s->loops[s->n_loops++];
		memset(l, 0, sizeof(*l));
		l->info.tid = tid;
		l->info.poll = poll_name(poll_kind);
		l->kind = LOOP_PENDING;
	}
	if (l->kind != LOOP_PENDING || !in_poll)
		return l;
	target__thread_name(s->tgt.pid, tid, l->info.thread, sizeof(l->info.thread));
	l->kind = session_classify(s, tid);
	if (l->kind == LOOP_NOT) {
		__u8 one = 1;

		bpf_map_update_elem(bpf_map__fd(s->skel->maps.not_loops), &tid, &one, BPF_ANY);
		bpf_map_delete_elem(bpf_map__fd(s->skel->maps.threads), &tid);
		if (s->o->verbose)
			fprintf(stderr, "loopstall: thread %s (TID %u) polls but runs no "
				"asyncio or uvloop loop: ignored\n", l->info.thread, tid);
		return l;
	}
	if (l->kind == LOOP_UVLOOP)
		l->info.poll = "uvloop";
	print_loop(stdout, s->o->format, s->tgt.pid, &l->info);
	return l;
}

static bool session_account(struct session *s, struct stall *st)
{
	struct loop_state *l = session_loop(s, st->tid, LS_POLL_EPOLL, !st->ongoing);

	if (l && l->kind == LOOP_NOT)
		return false;
	/* the name now (threads rename themselves), else as first seen */
	target__thread_name(st->pid, st->tid, st->thread, sizeof(st->thread));
	if (l && !strcmp(st->thread, "?"))
		snprintf(st->thread, sizeof(st->thread), "%s", l->info.thread);
	st->start_unix_ns = st->start_ns + s->mono_to_unix;
	s->stalls++;
	s->stalled_ns += st->duration_ns;
	if (st->duration_ns > s->worst_ns)
		s->worst_ns = st->duration_ns;
	if (l) {
		l->info.stalls++;
		l->info.stalled_ns += st->duration_ns;
		if (st->duration_ns > l->info.worst_ns)
			l->info.worst_ns = st->duration_ns;
	}
	return true;
}

/* The loop waits for the GIL: note who holds it, and that thread's Python
 * stack, now, while it still holds it. */
static void session_gil_holder(struct session *s, uint32_t tid, uint64_t seq)
{
	struct loop_state *l = session_find(s, tid);
	struct ls_pyframe pf[LS_MAX_PYFRAMES];
	bool entry[LS_MAX_PYFRAMES];
	uint64_t ts = 0;
	uint32_t holder, flags;
	int n;

	if (!l || (l->gil_seq == seq && l->gil_tid))
		return;
	holder = pyproc__gil_holder(&s->py, &ts);
	if (!holder || holder == tid)
		return;
	n = pyproc__walk(&s->py, ts, pf, LS_MAX_PYFRAMES, &flags);
	free(l->gil_frames);
	l->gil_frames = calloc(n > 0 ? n : 1, sizeof(*l->gil_frames));
	l->n_gil_frames = 0;
	if (l->gil_frames && n > 0)
		l->n_gil_frames = resolver__python(&s->res, pf, n, l->gil_frames, entry);
	l->gil_seq = seq;
	l->gil_tid = holder;
}

/* Hand the stall what its loop saw of the GIL holder in that interval. */
static void session_gil_to_stall(struct session *s, struct stall *st)
{
	struct loop_state *l = session_find(s, st->tid);

	if (!l || l->gil_seq != st->seq || !l->gil_tid)
		return;
	st->gil_tid = l->gil_tid;
	target__thread_name(st->pid, l->gil_tid, st->gil_thread, sizeof(st->gil_thread));
	st->gil_frames = l->gil_frames;
	st->n_gil_frames = l->n_gil_frames;
	l->gil_frames = NULL;
	l->n_gil_frames = 0;
	l->gil_tid = 0;
}

/* Findings with the same rule and call site add up in one group. */
static void session_group(struct session *s, const struct stall *st)
{
	for (uint32_t i = 0; i < st->n_findings; i++) {
		const struct stall_finding *fd = &st->findings[i];
		struct finding_group *g = NULL;

		if ((int)fd->rule->severity > s->worst_severity)
			s->worst_severity = fd->rule->severity;
		for (uint32_t j = 0; j < s->n_groups && !g; j++)
			if (s->groups[j].rule == fd->rule && s->groups[j].line == fd->line &&
			    !strcmp(s->groups[j].file ? s->groups[j].file : "",
				    fd->file ? fd->file : ""))
				g = &s->groups[j];
		if (!g) {
			g = realloc(s->groups, (s->n_groups + 1) * sizeof(*g));
			if (!g)
				return;
			s->groups = g;
			g = &s->groups[s->n_groups++];
			memset(g, 0, sizeof(*g));
			g->rule = fd->rule;
			g->line = fd->line;
			g->file = fd->file ? strdup(fd->file) : NULL;
			g->function = fd->function ? strdup(fd->function) : NULL;
			g->code = fd->code ? strdup(fd->code) : NULL;
		}
		g->count++;
		g->total_ns += st->duration_ns;
		if (st->duration_ns > g->worst_ns)
			g->worst_ns = st->duration_ns;
	}
}

static int cmp_group(const void *x, const void *y)
{
	const struct finding_group *a = x, *b = y;

	return a->total_ns < b->total_ns ? 1 : a->total_ns > b->total_ns ? -1 : 0;
}

static void session_report(struct session *s, struct stall *st)
{
	if (!session_account(s, st))
		return;
	session_gil_to_stall(s, st);
	if (s->rec) {
		/* recorded as seen: rules apply at report time. A failed write
		 * (disk full) leaves the file whole up to the last stall; later
		 * ones are written when there is room again. */
		int err = recorder__stall(s->rec, st, s->res.frames, s->res.src);

		if (err && !s->rec_err)
			ls_warn("writing %s: %s; stalls are lost until there is room",
				s->o->output, strerror(-err));
		if (err)
			s->rec_lost++;
		else
			s->recorded++;
		if (!s->rec_err)
			s->rec_err = err;
	}
	findings__match(&s->rules, st, s->res.frames, s->res.src);
	session_group(s, st);
	if (!s->rec)
		print_stall(stdout, s->o->format, st, s->res.frames, s->o->full_stacks);
}

static int session_add_sample(struct session *s, const struct ls_sample *smp)
{
	int n = resolver__sample(&s->res, smp, s->ids, LS_MAX_STACK);

	if (s->have_py && smp->kind == LS_SAMPLE_OFFCPU && n > 0) {
		struct stack_count sc = { .nr = smp->nr, .n_frames = n, .frames = s->ids };

		if (findings__gil_wait(&sc, s->res.frames))
			session_gil_holder(s, smp->hdr.tid, smp->hdr.seq);
	}

	return assembler__add_sample(&s->as, smp, s->ids, n > 0 ? n : 0,
				     fdkind__of_sample(smp->fd_kind));
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct session *s = ctx;
	const struct ls_event_hdr *h = data;
	struct stall *st;

	if (size < sizeof(*h))
		return 0;
	switch (h->type) {
	case LS_EV_SAMPLE:
		if (size >= sizeof(struct ls_sample) &&
		    session_add_sample(s, data) == -ENOMEM)
			return -ENOMEM;
		break;
	case LS_EV_OFFCPU_END: {
		const struct ls_offcpu_end *e = data;

		if (size >= sizeof(*e))
			assembler__set_weight(&s->as, h->tid, h->seq, e->id, e->weight_ns);
		break;
	}
	case LS_EV_STALL:
		if (size < sizeof(struct ls_stall))
			break;
		st = assembler__complete(&s->as, data);
		if (!st)
			return -ENOMEM;
		session_report(s, st);
		stall__free(st);
		break;
	}
	return 0;
}

/* New loop threads, and loops blocked long enough to say so now. */
static void session_scan(struct session *s)
{
	int fd = bpf_map__fd(s->skel->maps.threads);
	uint64_t now = now_mono();
	__u32 key, next, *prev = NULL;
	struct ls_thread t;

	if (now - s->tstates_at >= TSTATE_INTERVAL_NS)
		session_tstates(s);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct loop_state *l;
		uint64_t blocked, secs;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &t))
			continue;
		l = session_loop(s, key, t.poll_kind, t.in_poll);
		if (!l || l->kind == LOOP_NOT || l->kind == LOOP_PENDING ||
		    !t.busy_start || now < t.busy_start)
			continue;
		blocked = now - t.busy_start;
		if (blocked < s->o->blocked_report_ns || blocked < s->o->threshold_ns)
			continue;
		secs = blocked / 1000000000ULL;
		if (l->blocked_seq == t.seq && l->blocked_secs >= secs)
			continue;
		l->blocked_seq = t.seq;
		l->blocked_secs = secs;
		print_blocked(stdout, s->o->format, s->tgt.pid, key, l->info.thread,
			      now + s->mono_to_unix, blocked, t.off_start ? t.off_nr : -1);
	}
}

/* Loops still blocked when the session ends are reported as such. */
static void session_flush_blocked(struct session *s)
{
	int fd = bpf_map__fd(s->skel->maps.threads);
	uint64_t now = now_mono();

	for (unsigned int i = 0; i < s->n_loops; i++) {
		__u32 tid = s->loops[i].info.tid;
		struct ls_thread t;
		struct stall *st;

		if (s->loops[i].kind == LOOP_NOT || s->loops[i].kind == LOOP_PENDING ||
		    bpf_map_lookup_elem(fd, &tid, &t) || !t.busy_start ||
		    now < t.busy_start || now - t.busy_start < s->o->threshold_ns)
			continue;
		/* off-CPU now: its sample's time runs until now */
		if (t.off_start && t.off_sampled && now > t.off_start)
			assembler__set_weight(&s->as, tid, t.seq, t.off_id,
					      t.carry_ns + now - t.off_start);
		st = assembler__ongoing(&s->as, &t, s->tgt.pid, tid, now);
		if (!st)
			continue;
		session_report(s, st);
		stall__free(st);
	}
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

static int session_attach_perf(struct session *s)
{
	int ncpu = libbpf_num_possible_cpus();

	if (ncpu <= 0)
		return ls_error(LS_EXIT_ENV, "cannot count CPUs: %s", strerror(-ncpu));
	s->perf_links = calloc(ncpu, sizeof(*s->perf_links));
	if (!s->perf_links)
		return ls_error(LS_EXIT_ENV, "out of memory");
	for (int cpu = 0; cpu < ncpu; cpu++) {
		int fd = perf_open(s->o->frequency, cpu);

		if (fd < 0) {
			if (errno == ENODEV)	/* offline CPU */
				continue;
			return ls_error(LS_EXIT_ENV, "perf_event_open(cpu-clock, cpu %d): %s; "
					"check kernel.perf_event_paranoid and CAP_PERFMON "
					"(loopstall doctor)", cpu, strerror(errno));
		}
		s->perf_links[s->n_perf] = bpf_program__attach_perf_event(s->skel->progs.on_cpu, fd);
		if (!s->perf_links[s->n_perf]) {
			int e = errno;

			close(fd);
			return ls_error(LS_EXIT_ENV, "attaching the on-CPU sampler to cpu %d: %s",
					cpu, strerror(e));
		}
		s->n_perf++;
	}
	return 0;
}

static int session_load(struct session *s)
{
	LIBBPF_OPTS(bpf_object_open_opts, oopts, .btf_custom_path = s->o->btf);
	const struct attach_opts *o = s->o;
	char why[256];
	int err;

	s->skel = loopstall_bpf__open_opts(&oopts);
	if (!s->skel)
		return ls_error(LS_EXIT_ENV, "opening the BPF object: %s", strerror(errno));
	s->skel->rodata->targ_tgid = s->child ? s->child : o->pid;
	s->skel->rodata->threshold_ns = o->threshold_ns;
	s->skel->rodata->period_ns = 1000000000ULL / o->frequency;
	bpf_map__set_max_entries(s->skel->maps.events, o->ringbuf_mb << 20);

	err = loopstall_bpf__load(s->skel);
	if (err) {
		if (err == -EPERM || err == -EACCES)
			return ls_error(LS_EXIT_ENV, "loading BPF programs: permission denied; "
					"run as root or grant CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE");
		return ls_error(LS_EXIT_ENV, "loading BPF programs: %s; run `loopstall doctor` "
				"(add -v for the verifier log)", strerror(-err));
	}
	if (!env__tracefs(why, sizeof(why)))
		return ls_error(LS_EXIT_ENV, "%s", why);
	err = loopstall_bpf__attach(s->skel);
	if (err)
		return ls_error(LS_EXIT_ENV, "attaching to the syscall and sched tracepoints: %s; "
				"run `loopstall doctor`", strerror(-err));
	err = session_attach_perf(s);
	if (err)
		return err;
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_event, s, NULL);
	if (!s->rb)
		return ls_error(LS_EXIT_ENV, "creating the ring buffer: %s", strerror(errno));
	return 0;
}

static void session_destroy(struct session *s)
{
	ring_buffer__free(s->rb);
	for (int i = 0; i < s->n_perf; i++)
		bpf_link__destroy(s->perf_links[i]);
	free(s->perf_links);
	loopstall_bpf__destroy(s->skel);
	assembler__free(&s->as);
	if (s->rec)
		recorder__close(s->rec, NULL);	/* an error path: no end record */
	resolver__free(&s->res);
	free(s->ids);
	rules__free(&s->rules);
	for (uint32_t i = 0; i < s->n_groups; i++) {
		free(s->groups[i].file);
		free(s->groups[i].function);
		free(s->groups[i].code);
	}
	free(s->groups);
	for (unsigned int i = 0; i < s->n_loops; i++)
		free(s->loops[i].gil_frames);
	free(s->loops);
	target__close(&s->tgt);
}

/* record -- CMD: fork a child that waits until the probes are attached to
 * it, then execs CMD; so the recording sees it from its first loop
 * iteration. Returns the child's PID, or -errno. */
static int spawn_waiting(char **argv, int *go_fd)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (pid == 0) {
		char c;

		close(fds[1]);
		if (read(fds[0], &c, 1) != 1)
			_exit(127);	/* loopstall gave up */
		execvp(argv[0], argv);
		fprintf(stderr, "loopstall: error: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[0]);
	*go_fd = fds[1];
	return pid;
}

/* Open the target: now (attach), or once the started command runs a
 * CPython whose runtime is up (record -- CMD; polled, events keep flowing). */
static int session_target(struct session *s)
{
	const struct attach_opts *o = s->o;
	char why[512];
	int err;

	for (int tries = 0;; tries++) {
		enum target_err te = target__open(&s->tgt, s->child ? s->child : o->pid,
						   why, sizeof(why));

		if (te == TARGET_OK)
			break;
		if (s->child && tries < 2500 && (te == TARGET_NOT_PYTHON || te == TARGET_NO_PROCESS) &&
		    kill(s->child, 0) == 0 && waitpid(s->child, NULL, WNOHANG) == 0) {
			/* not exec'd or not loaded yet: look again soon; events
			 * wait in the ring buffer meanwhile */
			usleep(2000);
			continue;
		}
		if (s->child && te != TARGET_NO_ACCESS && te != TARGET_UNSUPPORTED)
			return ls_error(LS_EXIT_TARGET, "the command %s (PID %d) ran no CPython "
					"(%s); record -- needs a command that is the python "
					"process (python3 app.py, or a script that execs python)",
					o->command[0], s->child, why);
		return ls_error(te == TARGET_NO_ACCESS ? LS_EXIT_ENV : LS_EXIT_TARGET, "%s", why);
	}
	for (int tries = 0;; tries++) {
		err = pyproc__open(&s->py, &s->tgt, why, sizeof(why));
		if (err == -ENOTSUP)
			return ls_error(LS_EXIT_TARGET, "PID %d: %s", s->tgt.pid, why);
		if (!err) {
			struct py_thread t;

			/* a started interpreter: wait for its first thread state */
			if (!s->child || pyproc__threads(&s->py, &t, 1) > 0 || tries > 2500)
				break;
		} else if (!s->child || tries > 2500) {
			break;
		}
		usleep(2000);
	}
	if (err)
		ls_warn("no Python frames for PID %d: %s", s->tgt.pid, why);
	s->have_py = !err;
	if (resolver__set_python(&s->res, s->have_py ? &s->py : NULL, s->tgt.py_path))
		return ls_error(LS_EXIT_ENV, "out of memory");
	if (s->have_py && s->skel) {
		/* the walker's layout: set now that the interpreter is known
		 * (a started command: after the probes were attached) */
		s->skel->bss->pyoff = s->py.layout.bpf;
		s->skel->bss->py_walk = true;
	}
	return 0;
}

static void session_summary(struct session *s, const char *ended_by)
{
	const struct attach_opts *o = s->o;
	struct loop_info *infos = calloc(s->n_loops + 1, sizeof(*infos));
	struct summary sum = {
		.pid = s->tgt.pid, .comm = s->tgt.comm, .py_version = s->tgt.py_version,
		.ended_by = ended_by, .span_ns = now_mono() - s->start_ns,
		.threshold_ns = o->threshold_ns, .stalls = s->stalls,
		.stalled_ns = s->stalled_ns, .worst_ns = s->worst_ns,
		.loops = infos,
		.lost_stalls = s->skel->bss->lost_stalls,
		.lost_samples = s->skel->bss->lost_samples,
		.lost_threads = s->skel->bss->lost_threads,
		.dropped_samples = s->as.samples_dropped,
		.n_groups = s->n_groups, .groups = s->groups,
	};

	for (unsigned int i = 0; infos && i < s->n_loops; i++)
		if (s->loops[i].kind != LOOP_NOT && s->loops[i].kind != LOOP_PENDING)
			infos[sum.n_loops++] = s->loops[i].info;
	qsort(s->groups, s->n_groups, sizeof(*s->groups), cmp_group);
	print_summary(stdout, o->format, &sum);
	free(infos);
}

static void session_meta(struct session *s, struct recording_meta *m, const char *ended_by)
{
	static char host[256], cmd[4096];
	char path[64];
	FILE *f;
	size_t n;

	memset(m, 0, sizeof(*m));
	gethostname(host, sizeof(host) - 1);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", s->tgt.pid);
	cmd[0] = 0;
	if ((f = fopen(path, "re"))) {
		n = fread(cmd, 1, sizeof(cmd) - 1, f);
		fclose(f);
		cmd[n] = 0;
		for (size_t i = 0; n && i < n - 1; i++)
			if (!cmd[i])
				cmd[i] = ' ';
	}
	m->host = host;
	m->command = cmd;
	m->python = s->tgt.py_version;
	m->loopstall = "0.1.0";
	m->pid = s->tgt.pid;
	m->threshold_ns = s->o->threshold_ns;
	m->start_unix_ns = s->start_ns + s->mono_to_unix;
	if (ended_by) {
		m->end_unix_ns = now_real();
		m->ended_by = (char *)ended_by;
		m->lost_stalls = s->skel->bss->lost_stalls;
		m->lost_samples = s->skel->bss->lost_samples;
	}
}

int attach__run(const struct attach_opts *o)
{
	struct session s = { .o = o, .worst_severity = -1 };
	struct sigaction sa = { .sa_handler = on_signal };
	const char *ended_by = "signal";
	int go_fd = -1;
	char why[512];
	int err;

	verbose = o->verbose;
	libbpf_set_print(libbpf_print);
	assembler__init(&s.as, MAX_SAMPLES_KEPT);

	err = rules_cmd__load(&s.rules, o->rules, o->n_rules, !o->n_rules || o->add_default);
	if (err)
		goto cleanup;
	if (!env__have_caps(why, sizeof(why))) {
		err = ls_error(LS_EXIT_ENV, "missing privileges (%s); run as root, or grant "
			       "CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE", why);
		goto cleanup;
	}
	if (!env__btf(o->btf, why, sizeof(why))) {
		err = ls_error(LS_EXIT_ENV, "%s", why);
		goto cleanup;
	}
	s.ids = calloc(LS_MAX_STACK, sizeof(*s.ids));
	if (!s.ids) {
		err = ls_error(LS_EXIT_ENV, "out of memory");
		goto cleanup;
	}
	if (o->command) {
		err = spawn_waiting(o->command, &go_fd);
		if (err < 0) {
			err = ls_error(LS_EXIT_TARGET, "cannot start %s: %s", o->command[0],
				       strerror(-err));
			goto cleanup;
		}
		s.child = err;
	}
	/* frames before the interpreter is known: native only */
	if (resolver__init(&s.res, s.child ? s.child : o->pid, NULL, NULL)) {
		err = ls_error(LS_EXIT_ENV, "out of memory");
		goto cleanup;
	}
	if (!s.child) {
		err = session_target(&s);
		if (err)
			goto cleanup;
	}

	err = session_load(&s);
	if (err)
		goto cleanup;
	if (s.have_py) {
		s.skel->bss->pyoff = s.py.layout.bpf;
		s.skel->bss->py_walk = true;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	s.start_ns = now_mono();
	s.mono_to_unix = now_real() - s.start_ns;
	if (s.child) {
		/* the probes are in place: let the command run, then find its
		 * interpreter */
		if (write(go_fd, "g", 1) != 1) {
			err = ls_error(LS_EXIT_TARGET, "cannot start %s", o->command[0]);
			goto cleanup;
		}
		close(go_fd);
		go_fd = -1;
		err = session_target(&s);
		if (err)
			goto cleanup;
	}
	session_tstates(&s);
	if (o->output) {
		struct recording_meta m;

		session_meta(&s, &m, NULL);
		s.rec = recorder__open(o->output, &m);
		if (!s.rec) {
			err = ls_error(LS_EXIT_USAGE, "cannot write %s: %s; give a writable -o FILE",
				       o->output, strerror(errno));
			goto cleanup;
		}
	}
	if (o->format == OUT_TEXT) {
		char d[32];

		printf("loopstall: %s PID %d (%s), CPython %s\n"
		       "loopstall: %s stalls >= %s; Ctrl-C to stop\n",
		       s.rec ? "recording" : "watching", s.tgt.pid, s.tgt.comm,
		       s.tgt.py_version, s.rec ? "recording" : "reporting",
		       fmt_dur(o->threshold_ns, d, sizeof(d)));
		fflush(stdout);
	}

	for (uint64_t next_scan = 0; !exiting;) {
		uint64_t now;

		err = ring_buffer__poll(s.rb, 50);
		if (err == -EINTR)
			break;
		if (err < 0) {
			err = ls_error(LS_EXIT_ENV, "reading the ring buffer: %s", strerror(-err));
			goto cleanup;
		}
		now = now_mono();
		if (now >= next_scan) {
			session_scan(&s);
			next_scan = now + SCAN_INTERVAL_NS;
		}
		if (o->duration_ns && now - s.start_ns >= o->duration_ns) {
			ended_by = "duration";
			break;
		}
		if (!target__alive(&s.tgt)) {
			ended_by = "target exit";
			break;
		}
	}
	ring_buffer__consume(s.rb);
	if (strcmp(ended_by, "target exit"))
		session_flush_blocked(&s);
	if (s.child && strcmp(ended_by, "target exit")) {
		/* our command: stop it as Ctrl-C would */
		kill(s.child, SIGINT);
	}
	if (s.rec) {
		struct recording_meta m;
		uint64_t bytes;
		int cerr;

		session_meta(&s, &m, ended_by);
		cerr = recorder__close(s.rec, &m);	/* frees it */
		s.rec = NULL;
		{
			struct stat sb;

			bytes = stat(o->output, &sb) ? 0 : (uint64_t)sb.st_size;
		}
		if (o->format == OUT_TEXT)
			printf("loopstall: wrote %u stall%s (%.1f KiB) to %s\n", s.recorded,
			       s.recorded == 1 ? "" : "s", bytes / 1024.0, o->output);
		if (s.rec_lost)
			ls_warn("%u stall%s could not be written to %s (%s)", s.rec_lost,
				s.rec_lost == 1 ? "" : "s", o->output, strerror(-s.rec_err));
		if (cerr)
			ls_warn("closing %s: %s", o->output, strerror(-cerr));
	}
	session_summary(&s, ended_by);
	err = o->fail_on >= 0 && s.worst_severity >= o->fail_on ? LS_EXIT_FINDINGS : LS_EXIT_OK;
cleanup:
	if (go_fd >= 0)
		close(go_fd);	/* the child gives up */
	if (s.child)
		waitpid(s.child, NULL, 0);
	session_destroy(&s);
	return err;
}
