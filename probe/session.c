// SPDX-License-Identifier: MIT
/* `loopstall attach` and `record`: the live session. Checks the inputs,
 * finds the target (or starts the command), starts the probes, then turns
 * ring-buffer events into stalls until the target exits, the duration
 * ends or a signal comes; each stall is matched, counted, recorded and
 * printed; the summary ends it. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "env.h"
#include "errors.h"
#include "events.h"
#include "fdkind.h"
#include "fmt.h"
#include "findings.h"
#include "segments.h"
#include "loopstall.skel.h"
#include "rules_cmd.h"
#include "session.h"
#include "version.h"

#define SCAN_INTERVAL_NS	100000000ULL	/* loop table scan: new loops, hangs */
#define MAX_SAMPLES_KEPT	20000		/* per busy interval */
#define TARGET_TRIES		2500		/* 2 ms apart: a started command */

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

uint64_t now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void attach__step(const struct attach_opts *o, const char *what)
{
	if (o->verbose)
		fprintf(stderr, "loopstall: %8.1f ms  %s\n", (now_mono() - o->exec_ns) / 1e6, what);
}

static void step(const struct session *s, const char *what)
{
	attach__step(s->o, what);
}

/* The stall's loop, thread name and wall time. 1: a loop's stall, 0: not
 * a loop (dropped), 2: its thread is not classified yet (held), -ENOMEM. */
static int session_account(struct session *s, struct stall *st)
{
	struct loop_state *l = loops__get(s, st->tid, LS_POLL_EPOLL, !st->ongoing);

	if (!l)
		return -ENOMEM;
	if (l->kind == LOOP_NOT)
		return 0;
	/* the name now (threads rename themselves), else as first seen */
	loops__thread_name(s, st->tid, st->thread, sizeof(st->thread));
	if (!strcmp(st->thread, "?"))
		pythread__copy_name(st->thread, sizeof(st->thread), l->info.thread);
	st->start_unix_ns = st->start_ns + s->mono_to_unix;
	st->before_attach = l->attach_seq && st->seq == l->attach_seq;
	return l->kind == LOOP_PENDING ? 2 : 1;
}

/* record: stalls are written as seen (rules apply at report time). A
 * failed write (disk full) leaves the file whole up to the last stall;
 * later ones are written when there is room again. */
static void session_record(struct session *s, const struct stall *st)
{
	struct session_out *out = &s->out;
	int err = recorder__stall(out->rec, st, s->res.frames, s->res.src);

	if (err && !out->rec_err)
		ls_warn("writing %s: %s; stalls are lost until there is room",
			s->o->output, strerror(-err));
	if (err)
		out->rec_lost++;
	else
		out->recorded++;
	if (!out->rec_err)
		out->rec_err = err;
}

/* A loop's stall, taken: recorded, matched, counted, printed. 0 or
 * -ENOMEM. */
static int session_publish(void *ctx, struct stall *st)
{
	struct session *s = ctx;
	int err = 0;

	if (s->out.rec)
		session_record(s, st);
	if (findings__match(&s->rules, st, s->res.frames, s->res.src) ||
	    summary__add(&s->out.sum, st))
		err = -ENOMEM;
	else if (!s->out.rec)
		print_stall(stdout, s->o->format, st, s->res.frames, s->o->full_stacks);
	stall__free(st);
	return err;
}

/* Held stalls of threads classified since: published, or dropped when
 * their thread runs no loop. all: those of threads never classified too
 * (the session ends). 0 or -ENOMEM. */
static int session_release(struct session *s, bool all)
{
	int err = 0;

	for (unsigned int i = 0; i < s->loops.n && !err && s->held.n; i++) {
		const struct loop_state *l = &s->loops.v[i];

		if (l->kind == LOOP_PENDING && !all)
			continue;
		if (l->kind == LOOP_NOT)
			held__drop(&s->held, l->info.tid);
		else
			err = held__release(&s->held, l->info.tid, session_publish, s);
	}
	return err;
}

/* A stall ended (or is still going at the end), taken: published, held
 * until its thread is classified, or dropped. 0 or -ENOMEM. */
static int session_stall(struct session *s, struct stall *st)
{
	int err = session_account(s, st);

	if (err <= 0) {
		stall__free(st);
		return err;
	}
	loops__gil_to_stall(s, st);
	if (err == 2)
		return held__add(&s->held, st);
	err = session_publish(s, st);
	return err ? err : session_release(s, false);
}

static int session_add_sample(struct session *s, const struct ls_sample *smp)
{
	int n = resolver__sample(&s->res, smp, s->ids, LS_MAX_STACK);

	if (n < 0)
		return n;
	if (s->have_py && smp->kind == LS_SAMPLE_OFFCPU && n > 0) {
		struct stack_count sc = { .nr = smp->nr, .n_frames = n, .frames = s->ids };

		if (segments__gil_wait(&sc, s->res.frames) &&
		    loops__gil_holder(s, smp->hdr.tid, smp->hdr.seq))
			return -ENOMEM;
	}
	return assembler__add_sample(&s->as, smp, s->ids, n > 0 ? n : 0,
				     fdkind__of_sample(smp->fd_kind));
}

/* The ring buffer's callback: a negative return ends the poll with it. */
static int on_event(void *ctx, void *data, size_t size)
{
	struct session *s = ctx;
	const struct ls_event_hdr *h = data;
	struct stall *st;
	int err = 0;

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
		err = session_stall(s, st);
		break;
	}
	return err;
}

/* The stack the BPF program holds in the thread's slot (a wait not sent
 * at switch-out: sent when it or the stall ends): the session ends first,
 * so take it from the map, if it is of this interval and not sent yet,
 * with weight_ns (assembler__held_needed). 0 or -ENOMEM. */
static int session_take_slot(struct session *s, uint32_t tid, const struct ls_thread *t,
			     uint64_t weight_ns)
{
	struct ls_sample *smp = calloc(1, sizeof(*smp));
	int err = 0;

	if (!smp)
		return -ENOMEM;
	if (!bpf_map_lookup_elem(bpf_map__fd(s->bpf.skel->maps.offcpu_slots), &tid, smp) &&
	    smp->hdr.type == LS_EV_SAMPLE && smp->hdr.seq == t->seq) {
		smp->weight_ns = weight_ns;
		err = session_add_sample(s, smp) == -ENOMEM ? -ENOMEM : 0;
	}
	free(smp);
	return err;
}

/* Loops still blocked when the session ends are reported as such. */
static int session_flush_blocked(struct session *s)
{
	int fd = bpf_map__fd(s->bpf.skel->maps.threads);
	uint64_t now = now_mono();
	int err = 0;

	for (unsigned int i = 0; i < s->loops.n && !err; i++) {
		const struct loop_state *l = &s->loops.v[i];
		__u32 tid = l->info.tid;
		struct ls_thread t;
		struct stall *st;
		uint64_t held_ns;

		if (l->kind == LOOP_NOT || l->kind == LOOP_PENDING ||
		    bpf_map_lookup_elem(fd, &tid, &t) || !t.busy_start ||
		    now < t.busy_start || now - t.busy_start < s->o->threshold_ns)
			continue;
		/* off-CPU now: its sample's time runs until now; time no
		 * sample stands for goes to the held stack, as BPF does at
		 * the end of a stall */
		if (t.off_start && t.off_sampled && now > t.off_start)
			assembler__set_weight(&s->as, tid, t.seq, t.off_id,
					      t.carry_ns + now - t.off_start);
		else if (assembler__held_needed(&t, now, &held_ns) &&
			 session_take_slot(s, tid, &t, held_ns))
			return -ENOMEM;
		st = assembler__ongoing(&s->as, &t, s->tgt.pid, tid, now);
		if (!st)
			return -ENOMEM;
		err = session_stall(s, st);
	}
	return err;
}

/* A loop blocked in a syscall since before attach switched out before any
 * probe was there: take its sample now, from user space (sample 1 of its
 * interval; BPF gives it its time when the loop runs again), and say at
 * once that it is blocked, with its stack and findings. */
static int session_blocked_at_attach(struct session *s, const struct loop_state *l)
{
	int fd = bpf_map__fd(s->bpf.skel->maps.threads);
	uint32_t tid = l->info.tid;
	struct ls_sample *smp = calloc(1, sizeof(*smp));
	struct ls_thread t;
	struct stall *st = NULL;
	uint64_t now;
	int err = -ENOMEM;

	if (!smp)
		return -ENOMEM;
	snapshot__sample(&s->py, tid, loops__tstate(s, tid), &l->attach_sc, smp);
	now = now_mono();
	smp->hdr.seq = l->attach_seq;
	smp->id = 1;
	smp->ts = now;
	if (session_add_sample(s, smp) == -ENOMEM)
		goto cleanup;
	err = 0;
	if (s->out.rec || bpf_map_lookup_elem(fd, &tid, &t) || t.seq != l->attach_seq ||
	    !t.off_start)
		goto cleanup;	/* recording, or it ran since: its stall comes */
	assembler__set_weight(&s->as, tid, t.seq, 1, now - t.off_start);
	st = assembler__peek(&s->as, &t, s->tgt.pid, tid, now);
	err = -ENOMEM;
	if (!st || session_account(s, st) < 0 ||
	    findings__match(&s->rules, st, s->res.frames, s->res.src))
		goto cleanup;
	print_stall(stdout, s->o->format, st, s->res.frames, s->o->full_stacks);
	err = 0;
cleanup:
	stall__free(st);
	free(smp);
	return err;
}

/* Loops found at attach; those blocked since before it, said at once. */
static int session_discover(struct session *s)
{
	int err = loops__discover(s);

	for (unsigned int i = 0; i < s->loops.n && !err; i++)
		if (s->loops.v[i].attach_off_cpu)
			err = session_blocked_at_attach(s, &s->loops.v[i]);
	return err;
}

/* The process: now (attach), or once the started command runs a CPython
 * (record -- CMD; polled while events wait in the ring buffer). */
static int session_open_target(struct session *s)
{
	const struct attach_opts *o = s->o;
	char why[512];

	for (int tries = 0;; tries++) {
		enum target_err te = target__open(&s->tgt, s->child ? s->child : o->pid,
						   why, sizeof(why));

		if (te == TARGET_OK)
			return 0;
		if (s->child && tries < TARGET_TRIES &&
		    (te == TARGET_NOT_PYTHON || te == TARGET_NO_PROCESS) &&
		    kill(s->child, 0) == 0 && waitpid(s->child, NULL, WNOHANG) == 0) {
			usleep(2000);	/* not exec'd or not loaded yet */
			continue;
		}
		if (s->child && te != TARGET_NO_ACCESS && te != TARGET_UNSUPPORTED)
			return ls_error(LS_EXIT_TARGET, "the command %s (PID %d) ran no CPython "
					"(%s); record -- needs a command that is the python "
					"process (python3 app.py, or a script that execs python)",
					o->command[0], s->child, why);
		return ls_error(te == TARGET_NO_ACCESS ? LS_EXIT_ENV : LS_EXIT_TARGET, "%s", why);
	}
}

/* Its interpreter: a started one is waited for until its first thread
 * state exists. 0, -errno with why, or -ENOTSUP (an unsupported layout). */
static int session_open_python(struct session *s, char *why, size_t len)
{
	char file[PATH_MAX + 32];
	int err;

	for (int tries = 0;; tries++) {
		struct py_thread t;

		err = pyproc__open(&s->py, s->tgt.pid, s->tgt.py_path,
				   target__py_file(&s->tgt, file, sizeof(file)) ? NULL : file,
				   s->tgt.py_version_hex, why, len);
		if (err == -ENOTSUP || (!err && (!s->child || tries > TARGET_TRIES ||
						 pyproc__threads(&s->py, &t, 1) > 0)))
			return err;
		if (err && (!s->child || tries > TARGET_TRIES))
			return err;
		usleep(2000);
	}
}

static int session_target(struct session *s)
{
	char why[512];
	int err = session_open_target(s);

	if (err)
		return err;
	err = session_open_python(s, why, sizeof(why));
	if (err == -ENOTSUP)
		return ls_error(LS_EXIT_TARGET, "PID %d: %s", s->tgt.pid, why);
	if (err)
		ls_warn("no Python frames for PID %d: %s", s->tgt.pid, why);
	s->have_py = !err;
	if (resolver__set_python(&s->res, s->have_py ? &s->py : NULL, s->tgt.py_path))
		return ls_error(LS_EXIT_ENV, "out of memory");
	if (s->have_py) {
		struct pyobj o;

		pyproc__obj(&s->py, &o);
		s->names = pythreads__new(&o, s->py.runtime, s->tgt.pid, PYTHREADS_REFRESH_NS);
		if (!s->names)
			return ls_error(LS_EXIT_ENV, "out of memory");
	}
	if (s->have_py && s->bpf.skel) {
		/* the walker's layout: set now that the interpreter is known
		 * (a started command: after the probes were attached) */
		s->bpf.skel->bss->pyoff = s->py.layout.bpf;
		s->bpf.skel->bss->py_walk = true;
	}
	return 0;
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
	m->loopstall = LOOPSTALL_VERSION;
	m->pid = s->tgt.pid;
	m->threshold_ns = s->o->threshold_ns;
	m->start_unix_ns = s->start_ns + s->mono_to_unix;
	if (ended_by) {
		m->end_unix_ns = now_real();
		m->ended_by = (char *)ended_by;
		m->lost_stalls = s->bpf.skel->bss->lost_stalls;
		m->lost_samples = s->bpf.skel->bss->lost_samples;
	}
}

static int session_summary(struct session *s, const char *ended_by)
{
	struct loop_info *infos = calloc(s->loops.n + 1, sizeof(*infos));
	struct session_end e = {
		.pid = s->tgt.pid, .comm = s->tgt.comm, .py_version = s->tgt.py_version,
		.ended_by = ended_by, .span_ns = now_mono() - s->start_ns,
		.threshold_ns = s->o->threshold_ns, .loops = infos,
		.lost_stalls = s->bpf.skel->bss->lost_stalls,
		.lost_samples = s->bpf.skel->bss->lost_samples,
		.lost_threads = s->bpf.skel->bss->lost_threads,
		.dropped_samples = s->as.samples_dropped, .sum = &s->out.sum,
	};

	if (!infos || summary__finish(&s->out.sum)) {
		free(infos);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < s->loops.n; i++)
		if (s->loops.v[i].kind != LOOP_NOT && s->loops.v[i].kind != LOOP_PENDING)
			infos[e.n_loops++] = s->loops.v[i].info;
	print_summary(stdout, s->o->format, &e);
	free(infos);
	return 0;
}

/* Before anything starts: the rules, privileges, BTF; then the command
 * (waiting for its go) and a resolver of native frames. */
static int session_open(struct session *s, int *go_fd)
{
	const struct attach_opts *o = s->o;
	char why[512];
	int err;

	err = rules_cmd__load(&s->rules, o->rules, o->n_rules, !o->n_rules || o->add_default);
	if (err)
		return err;
	if (!env__have_caps(why, sizeof(why)))
		return ls_error(LS_EXIT_ENV, "missing privileges (%s); run as root, or grant "
				"CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE", why);
	if (!env__btf(o->btf, why, sizeof(why)))
		return ls_error(LS_EXIT_ENV, "%s", why);
	s->ids = calloc(LS_MAX_STACK, sizeof(*s->ids));
	if (!s->ids)
		return ls_error(LS_EXIT_ENV, "out of memory");
	if (o->command) {
		err = spawn__waiting(o->command, go_fd);
		if (err < 0)
			return ls_error(LS_EXIT_TARGET, "cannot start %s: %s", o->command[0],
					strerror(-err));
		s->child = err;
	}
	/* frames before the interpreter is known: native only */
	if (resolver__init(&s->res, s->child ? s->child : o->pid, NULL, NULL))
		return ls_error(LS_EXIT_ENV, "out of memory");
	if (s->child)
		return 0;
	err = session_target(s);
	step(s, "target and interpreter found");
	return err;
}

static void print_banner(const struct session *s)
{
	struct session_start b = {
		.pid = s->tgt.pid, .comm = s->tgt.comm, .py_version = s->tgt.py_version,
		.recording = s->out.rec, .threshold_ns = s->o->threshold_ns,
		.attach_ns = s->live_ns - s->o->exec_ns,
	};

	print_session(stdout, s->o->format, &b);
}

static int nomem(void)
{
	return ls_error(LS_EXIT_ENV, "out of memory: the session stopped; watch fewer "
			"threads or lower -F");
}

/* The probes, then the started command, its interpreter, the thread
 * states, the recording. */
static int session_start(struct session *s, int *go_fd)
{
	const struct attach_opts *o = s->o;
	struct sigaction sa = { .sa_handler = on_signal };
	int err;

	err = probes__start(&s->bpf, o, s->child ? s->child : o->pid, on_event, s);
	if (err)
		return err;
	s->live_ns = now_mono();
	step(s, "probes live");
	if (s->have_py) {
		s->bpf.skel->bss->pyoff = s->py.layout.bpf;
		s->bpf.skel->bss->py_walk = true;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	s->start_ns = now_mono();
	s->mono_to_unix = now_real() - s->start_ns;
	if (s->child) {
		/* the probes are in place: let the command run */
		if (write(*go_fd, "g", 1) != 1)
			return ls_error(LS_EXIT_TARGET, "cannot start %s", o->command[0]);
		close(*go_fd);
		*go_fd = -1;
		if ((err = session_target(s)))
			return err;
	}
	if (loops__tstates(s))
		return ls_error(LS_EXIT_ENV, "out of memory");
	step(s, "thread states read");
	if (o->output) {
		struct recording_meta m;

		session_meta(s, &m, NULL);
		s->out.rec = recorder__open(o->output, &m);
		if (!s->out.rec)
			return ls_error(LS_EXIT_USAGE, "cannot write %s: %s; give a writable -o FILE",
					o->output, strerror(errno));
	}
	print_banner(s);
	/* native symbols, a module at a time, the events that come meanwhile
	 * read between modules; then the loops, announced once every sample
	 * can be read at once */
	while (resolver__warm_step(&s->res))
		if (ring_buffer__consume(s->bpf.rb) == -ENOMEM)
			return nomem();
	step(s, "native symbols read");
	if (session_discover(s))
		return nomem();
	step(s, "loops found");
	return 0;
}

/* Events until the end; *ended_by says which. 0 or an exit code. */
static int session_run(struct session *s, const char **ended_by)
{
	uint64_t next_scan = 0;

	*ended_by = "signal";
	while (!exiting) {
		uint64_t now;
		int err = ring_buffer__poll(s->bpf.rb, 50);

		/* samples sent without a wakeup (on-CPU ones, and any behind
		 * them) wait for the stall's end unless drained: a GIL
		 * holder must be read while it still holds the GIL */
		if (err == 0)
			err = ring_buffer__consume(s->bpf.rb);
		if (err == -EINTR)
			break;
		if (err == -ENOMEM)
			return nomem();
		if (err < 0)
			return ls_error(LS_EXIT_ENV, "reading the ring buffer: %s", strerror(-err));
		now = now_mono();
		if (loops__gil_recheck(s))
			return nomem();
		if (now >= next_scan) {
			if (loops__scan(s) || session_release(s, false))
				return nomem();
			next_scan = now + SCAN_INTERVAL_NS;
		}
		if (s->o->duration_ns && now - s->start_ns >= s->o->duration_ns) {
			*ended_by = "duration";
			break;
		}
		if (!target__alive(&s->tgt)) {
			*ended_by = "target exit";
			break;
		}
	}
	return ring_buffer__consume(s->bpf.rb) == -ENOMEM ? nomem() : 0;
}

/* record: the end record, and what was written. */
static void session_close_recording(struct session *s, const char *ended_by)
{
	const char *path = s->o->output;
	struct recording_meta m;
	struct stat sb;
	uint64_t bytes;
	int err;

	session_meta(s, &m, ended_by);
	err = recorder__close(s->out.rec, &m);	/* frees it */
	s->out.rec = NULL;
	bytes = stat(path, &sb) ? 0 : (uint64_t)sb.st_size;
	if (s->o->format == OUT_TEXT)
		printf("loopstall: wrote %u stall%s (%.1f KiB) to %s\n", s->out.recorded,
		       s->out.recorded == 1 ? "" : "s", bytes / 1024.0, path);
	if (s->out.rec_lost)
		ls_warn("%u stall%s could not be written to %s (%s)", s->out.rec_lost,
			s->out.rec_lost == 1 ? "" : "s", path, strerror(-s->out.rec_err));
	if (err)
		ls_warn("closing %s: %s", path, strerror(-err));
}

/* The end: loops still blocked, our command stopped, the recording
 * closed, the summary. The exit code. */
static int session_finish(struct session *s, const char *ended_by)
{
	const struct attach_opts *o = s->o;
	bool target_gone = !strcmp(ended_by, "target exit");

	if ((!target_gone && session_flush_blocked(s)) || session_release(s, true))
		return nomem();
	if (s->child && !target_gone)
		kill(s->child, SIGINT);	/* our command: stop it as Ctrl-C would */
	if (s->out.rec)
		session_close_recording(s, ended_by);
	if (s->held.dropped)
		ls_warn("%" PRIu64 " stalls of threads not yet told a loop or not were dropped "
			"(over %d held)", s->held.dropped, HELD_MAX);
	if (session_summary(s, ended_by))
		return nomem();
	return o->fail_on >= 0 && s->out.sum.worst_severity >= o->fail_on ?
	       LS_EXIT_FINDINGS : LS_EXIT_OK;
}

static void session_destroy(struct session *s)
{
	probes__stop(&s->bpf);
	assembler__free(&s->as);
	if (s->out.rec)
		recorder__close(s->out.rec, NULL);	/* an error path: no end record */
	summary__free(&s->out.sum);
	held__free(&s->held);
	resolver__free(&s->res);
	pythreads__free(s->names);
	free(s->ids);
	rules__free(&s->rules);
	loops__free(&s->loops);
	target__close(&s->tgt);
}

int attach__run(const struct attach_opts *o)
{
	struct session s = { .o = o };
	const char *ended_by;
	int go_fd = -1;
	int err;

	summary__init(&s.out.sum);
	assembler__init(&s.as, MAX_SAMPLES_KEPT);
	err = session_open(&s, &go_fd);
	if (!err)
		err = session_start(&s, &go_fd);
	if (!err)
		err = session_run(&s, &ended_by);
	if (!err)
		err = session_finish(&s, ended_by);
	if (go_fd >= 0)
		close(go_fd);	/* the child gives up */
	if (s.child)
		waitpid(s.child, NULL, 0);
	session_destroy(&s);
	return err;
}
