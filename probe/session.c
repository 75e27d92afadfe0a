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
#include "outfile.h"
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

/* The title p has now (kept when it cannot be read: it exited). */
static void proc_title(struct proc *p)
{
	char t[PROC_TITLE_MAX];

	if (!proctitle__read(p->pid, t, sizeof(t)))
		memcpy(p->title, t, sizeof(t));
}

/* The stall's loop, process, thread name and wall time. 1: a loop's
 * stall, 0: not a loop (dropped), 2: its thread is not classified yet
 * (held), -ENOMEM. */
static int session_account(struct session *s, struct proc *p, struct stall *st)
{
	struct loop_state *l = loops__get(s, p, st->tid, LS_POLL_EPOLL, !st->ongoing);
	char comm[sizeof(st->thread)];

	if (!l)
		return -ENOMEM;
	if (l->kind == LOOP_NOT)
		return 0;
	/* the names now (threads rename themselves; setproctitle); the
	 * thread's OS name at the stall when it is gone */
	memcpy(comm, st->thread, sizeof(comm));
	loops__thread_name(p, st->tid, st->thread, sizeof(st->thread));
	if (!strcmp(st->thread, "?"))
		pythread__copy_name(st->thread, sizeof(st->thread),
				    l->info.thread[0] ? l->info.thread : comm[0] ? comm : "?");
	if (st->process[0])	/* its title then, read by BPF */
		memcpy(p->title, st->process, sizeof(p->title));
	else
		proc_title(p);
	memcpy(st->process, p->title, sizeof(st->process));
	st->start_unix_ns = st->start_ns + s->mono_to_unix;
	st->before_attach = l->attach_seq && st->seq == l->attach_seq;
	return l->kind == LOOP_PENDING ? 2 : 1;
}

void session__proc_record(struct session *s, struct proc *p)
{
	struct recorded_process rp = {
		.pid = p->pid, .ppid = p->ppid, .python = p->tgt.py_version,
		.start_unix_ns = p->start_unix_ns, .end_unix_ns = p->end_unix_ns,
	};
	int err;

	/* the processes said to be watched: a fork that only execs another
	 * program (subprocess.run) is not recorded */
	if (!s->out.rec || !p->was_python || !p->announced ||
	    (p->recorded && !strcmp(p->rec_title, p->title) && p->rec_end == p->end_unix_ns))
		return;
	memcpy(rp.title, p->title, sizeof(rp.title));
	err = recorder__process(s->out.rec, &rp);
	if (err && !s->out.rec_err)
		s->out.rec_err = err;
	if (err)
		return;
	p->recorded = true;
	memcpy(p->rec_title, p->title, sizeof(p->title));
	p->rec_end = p->end_unix_ns;
}

/* record: stalls are written as seen (rules apply at report time). A
 * failed write (disk full) leaves the file whole up to the last stall;
 * later ones are written when there is room again. */
static void session_record(struct session *s, struct proc *p, const struct stall *st)
{
	struct session_out *out = &s->out;
	int err;

	memcpy(p->title, st->process, sizeof(p->title));	/* its title then */
	session__proc_record(s, p);
	err = recorder__stall(out->rec, st, s->frames, p->res_ready ? p->res.src : NULL);
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

/* record: the waits counted since the last write, at most once a second
 * (all: at the end). */
static void session_record_awaits(struct session *s, uint64_t now, bool all)
{
	struct session_out *out = &s->out;
	int err;

	if (!out->rec || (!all && now - out->aw_written_ns < 1000000000ULL) ||
	    (!out->aw_new.n_sites && !out->aw_new.n_seqs))
		return;
	out->aw_written_ns = now;
	err = recorder__awaits(out->rec, &out->aw_new, s->frames, s->aw_src);
	if (err && !out->rec_err)
		ls_warn("writing %s: %s; awaits are lost until there is room",
			s->o->output, strerror(-err));
	if (!out->rec_err)
		out->rec_err = err;
	awaits__clear(&out->aw_new);
}

static unsigned int print_flags(const struct session *s)
{
	return (s->o->full_stacks ? LIVE_FULL_STACKS : 0) | (s->multi ? LIVE_PROCESS : 0);
}

/* A loop's stall, taken: recorded, matched, counted, printed. 0 or
 * -ENOMEM. */
static int session_publish(void *ctx, struct stall *st)
{
	struct session *s = ctx;
	struct proc *p = procs__find_any(&s->procs, st->pid);
	struct source *src = p && p->res_ready ? p->res.src : NULL;
	int err = 0;

	if (p)
		session__announce(s, p);	/* its first stall, before any loop */
	if (s->out.rec && p)
		session_record(s, p, st);
	if (findings__match(&s->rules, st, s->frames, src) || summary__add(&s->out.sum, st) ||
	    (s->metrics.fd >= 0 && prom__count(&s->metrics.counts, st)))
		err = -ENOMEM;
	else if (!s->out.rec)
		print_stall(session__out(s), s->o->format, st, s->frames, print_flags(s));
	stall__free(st);
	return err;
}

/* The held stalls of p's threads: see session__release. */
static int release_proc(struct session *s, struct proc *p, bool all)
{
	int err = 0;

	for (unsigned int i = 0; i < p->loops.n && !err && s->held.n; i++) {
		const struct loop_state *l = &p->loops.v[i];

		if (l->kind == LOOP_PENDING && !all)
			continue;
		if (l->kind == LOOP_NOT)
			held__drop(&s->held, l->info.tid);
		else
			err = held__release(&s->held, l->info.tid, session_publish, s);
	}
	return err;
}

int session__release(struct session *s, struct proc *p, bool all)
{
	int err = 0;

	if (p)
		return release_proc(s, p, all);
	for (unsigned int i = 0; i < s->procs.n && !err; i++)
		err = release_proc(s, s->procs.v[i], all);
	return err;
}

/* A stall ended (or is still going at the end), taken: published, held
 * until its thread is classified, or dropped. 0 or -ENOMEM. */
static int session_stall(struct session *s, struct proc *p, struct stall *st)
{
	int err = session_account(s, p, st);

	if (err <= 0) {
		stall__free(st);
		return err;
	}
	loops__gil_to_stall(p, st);
	stalltask__to_stall(p, st);
	if (err == 2)
		return held__add(&s->held, st);
	err = session_publish(s, st);
	return err ? err : session__release(s, p, false);
}

static int session_add_sample(struct session *s, struct proc *p, const struct ls_sample *smp)
{
	int n;

	if (p->state == PROC_OTHER || p->state == PROC_GONE)
		return 0;
	/* a process whose interpreter is not found yet: native frames */
	if (!p->res_ready && resolver__init(&p->res, p->pid, s->frames, NULL))
		return -ENOMEM;
	p->res_ready = true;
	/* the task first: read while the loop still runs it */
	if (p->have_py && stalltask__sample(s, p, smp->hdr.tid, smp->hdr.seq))
		return -ENOMEM;
	n = resolver__sample(&p->res, smp, s->ids, LS_MAX_STACK);
	if (n < 0)
		return n;
	if (p->have_py && smp->kind == LS_SAMPLE_OFFCPU && n > 0) {
		struct stack_count sc = { .nr = smp->nr, .n_frames = n, .frames = s->ids };

		if (segments__gil_wait(&sc, s->frames) &&
		    loops__gil_holder(s, p, smp->hdr.tid, smp->hdr.seq))
			return -ENOMEM;
	}
	return assembler__add_sample(&s->as, smp, s->ids, n > 0 ? n : 0,
				     fdkind__of_sample(smp->fd_kind));
}

/* An event of a process the session does not watch (a late one of a
 * process gone, skipped, or a loop event of one not a CPython) is
 * dropped. */
static int on_proc_event(struct session *s, const struct ls_event_hdr *h, void *data,
			 size_t size)
{
	struct proc *p = procs__of_event(s, h->pid);
	struct stall *st;

	if (!p)
		return 0;
	switch (h->type) {
	case LS_EV_SAMPLE:
		if (size >= sizeof(struct ls_sample) &&
		    session_add_sample(s, p, data) == -ENOMEM)
			return -ENOMEM;
		break;
	case LS_EV_OFFCPU_END: {
		const struct ls_offcpu_end *e = data;

		if (size >= sizeof(*e))
			assembler__set_weight(&s->as, h->tid, h->seq, e->id, e->weight_ns);
		break;
	}
	case LS_EV_STALL:
		if (size < sizeof(struct ls_stall) || p->state == PROC_OTHER)
			break;
		st = assembler__complete(&s->as, data);
		if (!st)
			return -ENOMEM;
		return session_stall(s, p, st);
	}
	return 0;
}

/* What must be read from a target while its loop is still busy (the GIL
 * holder, the running task), at most every millisecond: also between the
 * events of a long batch, as the first stalls after attach or after new
 * code is imported take their tens of milliseconds a sample to symbolize
 * and the next stall may start and end behind them. 0 or -ENOMEM. */
static int session_read_busy(struct session *s)
{
	uint64_t now = now_mono();

	if (now - s->busy_read_ns < 1000000)
		return 0;
	s->busy_read_ns = now;
	return loops__gil_recheck(s) || stalltask__busy(s, now) ? -ENOMEM : 0;
}

/* The ring buffer's callback: a negative return ends the poll with it. */
static int on_event(void *ctx, void *data, size_t size)
{
	struct session *s = ctx;
	const struct ls_event_hdr *h = data;

	if (size < sizeof(*h))
		return 0;
	if (session_read_busy(s))
		return -ENOMEM;
	if (h->type == LS_EV_PROC)
		return size >= sizeof(struct ls_proc_event) ?
		       (procs__event(s, data) == -ENOMEM ? -ENOMEM : 0) : 0;
	return on_proc_event(s, h, data, size);
}

/* The stack the BPF program holds in the thread's slot (a wait not sent
 * at switch-out: sent when it or the stall ends): the session ends first,
 * so take it from the map, if it is of this interval and not sent yet,
 * with weight_ns (assembler__held_needed). 0 or -ENOMEM. */
static int session_take_slot(struct session *s, struct proc *p, uint32_t tid,
			     const struct ls_thread *t, uint64_t weight_ns)
{
	struct ls_sample *smp = calloc(1, sizeof(*smp));
	int err = 0;

	if (!smp)
		return -ENOMEM;
	if (!bpf_map_lookup_elem(bpf_map__fd(s->bpf.skel->maps.offcpu_slots), &tid, smp) &&
	    smp->hdr.type == LS_EV_SAMPLE && smp->hdr.seq == t->seq) {
		smp->weight_ns = weight_ns;
		err = session_add_sample(s, p, smp) == -ENOMEM ? -ENOMEM : 0;
	}
	free(smp);
	return err;
}

/* p's loops still blocked when the session ends are reported as such. */
static int flush_blocked(struct session *s, struct proc *p)
{
	int fd = bpf_map__fd(s->bpf.skel->maps.threads);
	uint64_t now = now_mono();
	int err = 0;

	for (unsigned int i = 0; i < p->loops.n && !err; i++) {
		const struct loop_state *l = &p->loops.v[i];
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
			 session_take_slot(s, p, tid, &t, held_ns))
			return -ENOMEM;
		st = assembler__ongoing(&s->as, &t, p->pid, tid, now);
		if (!st)
			return -ENOMEM;
		err = session_stall(s, p, st);
	}
	return err;
}

static int session_flush_blocked(struct session *s)
{
	for (unsigned int i = 0; i < s->procs.n; i++)
		if (s->procs.v[i]->state == PROC_PYTHON && flush_blocked(s, s->procs.v[i]))
			return -ENOMEM;
	return 0;
}

/* A loop blocked in a syscall since before attach switched out before any
 * probe was there: take its sample now, from user space (sample 1 of its
 * interval; BPF gives it its time when the loop runs again), and say at
 * once that it is blocked, with its stack and findings. */
static int session_blocked_at_attach(struct session *s, struct proc *p,
				     const struct loop_state *l)
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
	snapshot__sample(&p->py, tid, loops__tstate(s, p, tid), &l->attach_sc, smp);
	now = now_mono();
	smp->hdr.seq = l->attach_seq;
	smp->id = 1;
	smp->ts = now;
	if (session_add_sample(s, p, smp) == -ENOMEM)
		goto cleanup;
	err = 0;
	if (s->out.rec || bpf_map_lookup_elem(fd, &tid, &t) || t.seq != l->attach_seq ||
	    !t.off_start)
		goto cleanup;	/* recording, or it ran since: its stall comes */
	assembler__set_weight(&s->as, tid, t.seq, 1, now - t.off_start);
	st = assembler__peek(&s->as, &t, p->pid, tid, now);
	err = -ENOMEM;
	if (!st || session_account(s, p, st) < 0 ||
	    findings__match(&s->rules, st, s->frames, p->res.src))
		goto cleanup;
	print_stall(session__out(s), s->o->format, st, s->frames, print_flags(s));
	err = 0;
cleanup:
	stall__free(st);
	free(smp);
	return err;
}

/* p's loops; those blocked since before attach, said at once. */
static int session_discover(struct session *s, struct proc *p)
{
	unsigned int first = p->loops.n;
	int err = loops__discover(s, p);

	for (unsigned int i = first; i < p->loops.n && !err; i++)
		if (p->loops.v[i].attach_off_cpu)
			err = session_blocked_at_attach(s, p, &p->loops.v[i]);
	return err;
}

/* A loop found: the same thread found again (its process exec'd a new
 * CPython) keeps its one entry, the summary's loops being per thread. */
int session__loop_found(struct session *s, const struct loop_info *l)
{
	struct loop_info *v;

	for (unsigned int i = 0; i < s->n_found; i++)
		if (s->found[i].pid == l->pid && s->found[i].tid == l->tid) {
			s->found[i] = *l;
			return 0;
		}
	if (!(v = realloc(s->found, (s->n_found + 1) * sizeof(*v))))
		return -ENOMEM;
	s->found = v;
	s->found[s->n_found++] = *l;
	return 0;
}

/* The recording's META: the command started, else the first CPython
 * process; its PID and Python. */
static void session_meta(struct session *s, struct recording_meta *m, const char *ended_by)
{
	static char host[256], cmd[4096];
	struct proc *p = procs__first_python(s);
	uint32_t pid = s->child ? (uint32_t)s->child : p ? p->pid : 0;
	size_t n = 0;

	memset(m, 0, sizeof(*m));
	gethostname(host, sizeof(host) - 1);
	cmd[0] = 0;
	for (char **a = s->o->command; a && *a && n < sizeof(cmd) - 1; a++)
		n += snprintf(cmd + n, sizeof(cmd) - n, "%s%s", a == s->o->command ? "" : " ", *a);
	if (!s->child && p) {
		char path[64];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
		if ((f = fopen(path, "re"))) {
			n = fread(cmd, 1, sizeof(cmd) - 1, f);
			fclose(f);
			cmd[n] = 0;
			for (size_t i = 0; n && i < n - 1; i++)
				if (!cmd[i])
					cmd[i] = ' ';
		}
	}
	m->host = host;
	m->command = cmd;
	m->python = p && p->pid == pid && p->tgt.py_version[0] ? p->tgt.py_version : NULL;
	m->loopstall = LOOPSTALL_VERSION;
	m->pid = pid;
	m->threshold_ns = s->o->threshold_ns;
	m->start_unix_ns = s->start_ns + s->mono_to_unix;
	if (ended_by) {
		m->end_unix_ns = now_real();
		m->ended_by = (char *)ended_by;
		m->lost_stalls = s->bpf.skel->bss->lost_stalls;
		m->lost_samples = s->bpf.skel->bss->lost_samples;
	}
}

/* The CPython processes of the session, in the order found, for the
 * printers (into *out, freed by the caller). How many, or -ENOMEM. */
static int python_procs(struct session *s, struct proc_info **out)
{
	int n = 0;

	*out = calloc(s->procs.n + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (unsigned int i = 0; i < s->procs.n; i++)
		if (s->procs.v[i]->was_python && s->procs.v[i]->announced)
			proc__info(s->procs.v[i], &(*out)[n++]);
	return n;
}

FILE *session__out(struct session *s)
{
	status__clear(&s->status);
	return s->o->quiet ? NULL : stdout;
}

static int session_summary(struct session *s, const char *ended_by,
			   const struct budget_result *br, int nb)
{
	struct proc *first = procs__first_python(s);
	struct session_end e = {
		.pid = first ? first->pid : 0, .comm = first ? first->tgt.comm : "?",
		.py_version = first ? first->tgt.py_version : "?",
		.ended_by = ended_by, .span_ns = now_mono() - s->start_ns,
		.threshold_ns = s->o->threshold_ns, .loops = s->found, .n_loops = s->n_found,
		.lost_stalls = s->bpf.skel->bss->lost_stalls,
		.lost_samples = s->bpf.skel->bss->lost_samples,
		.lost_threads = s->bpf.skel->bss->lost_threads,
		.lost_procs = s->bpf.skel->bss->lost_procs,
		.dropped_samples = s->as.samples_dropped, .sum = &s->out.sum, .multi = s->multi,
		.task_hz = s->o->tasks ? s->o->task_hz : 0,
		.task_ticks = s->tw_ticks, .tasks_max = s->tw_tasks_max,
		.task_span_ns = s->tw_last_ns - s->tw_first_ns,
		.budgets = br, .n_budgets = nb,
	};
	struct proc_info *procs;
	int n = python_procs(s, &procs);

	if (n < 0 || summary__finish(&s->out.sum)) {
		free(procs);
		return -ENOMEM;
	}
	e.procs = procs;
	e.n_procs = n;
	print_summary(stdout, s->o->format, &e);
	free(procs);
	return 0;
}

/* record -- CMD: the command, waiting for its go, a process of the
 * session from the start (found a CPython once it execs one). 0 or an
 * exit code. */
static int session_command(struct session *s, int *go_fd)
{
	const struct attach_opts *o = s->o;
	struct proc *p;
	int err = spawn__waiting(o->command, go_fd);

	if (err < 0)
		return ls_error(LS_EXIT_TARGET, "cannot start %s: %s", o->command[0],
				strerror(-err));
	s->child = err;
	if (!(p = procs__add(&s->procs, s->child, 0)))
		return ls_error(LS_EXIT_ENV, "out of memory");
	p->flags = o->follow ? LS_PROC_FOLLOW : 0;
	p->pending_until = UINT64_MAX;	/* not before its go */
	p->wait_tstate = true;
	return 0;
}

/* Before anything starts: the rules, privileges, BTF, the output; then the
 * processes given (each must exist; one at least a CPython), or the
 * command (waiting for its go). */
static int session_open(struct session *s, int *go_fd)
{
	const struct attach_opts *o = s->o;
	char why[512];
	int err;

	err = rules_cmd__load(&s->rules, o->rules, o->n_rules, !o->n_rules || o->add_default);
	if (!err)
		err = metrics__open(&s->metrics, o->metrics);
	if (err)
		return err;
	if (!env__have_caps(why, sizeof(why)))
		return ls_error(LS_EXIT_ENV, "missing privileges (%s); run as root, or grant "
				"CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE", why);
	if (!env__btf(o->btf, why, sizeof(why)))
		return ls_error(LS_EXIT_ENV, "%s", why);
	s->ids = calloc(LS_MAX_STACK, sizeof(*s->ids));
	s->frames = frames__new();
	if (!s->ids || !s->frames)
		return ls_error(LS_EXIT_ENV, "out of memory");
	s->multi = o->follow || o->n_pids > 1;
	if (o->command)
		return session_command(s, go_fd);
	err = procs__open(s);
	step(s, "target and interpreter found");
	return err;
}

static void print_banner(struct session *s)
{
	struct proc *first = procs__first_python(s);
	struct session_start b = {
		.pid = first->pid, .comm = first->tgt.comm, .py_version = first->tgt.py_version,
		.recording = s->out.rec, .threshold_ns = s->o->threshold_ns,
		.attach_ns = s->live_ns - s->o->exec_ns, .multi = s->multi,
		.follow = s->o->follow,
	};
	struct proc_info *procs = NULL;
	int n;

	for (unsigned int i = 0; i < s->procs.n; i++)
		if (s->procs.v[i]->state == PROC_PYTHON)
			s->procs.v[i]->announced = true;
	n = python_procs(s, &procs);
	b.n_procs = n > 0 ? n : 0;
	b.procs = procs;
	print_session(session__out(s), s->o->format, &b);
	free(procs);
	s->banner = true;
}

void session__announce(struct session *s, struct proc *p)
{
	struct proc_info pi;

	if (p->announced || !s->banner)
		return;
	p->announced = true;
	proc_title(p);
	proc__info(p, &pi);
	if (s->multi)
		print_proc_start(session__out(s), s->o->format, &pi);
	session__proc_record(s, p);
}

int session__found(struct session *s, struct proc *p)
{
	p->start_unix_ns = now_real();
	if (s->starting)
		return 0;	/* session_start() says them all */
	if (!s->banner)
		print_banner(s);	/* the first CPython of a command */
	else if (!p->ppid)
		session__announce(s, p);	/* a forked one: with its first loop */
	session__proc_record(s, p);
	return session_discover(s, p);
}

static int nomem(void)
{
	return ls_error(LS_EXIT_ENV, "out of memory: the session stopped; watch fewer "
			"threads or lower -F");
}

/* The recording, from the start: its META names the command or the first
 * CPython process. 0 or an exit code. */
static int session_recording(struct session *s)
{
	struct recording_meta m;

	int fd = outfile__open(s->o->output, s->o->force, &s->out.created);

	if (fd < 0)
		return ls_output_error(s->o->output, fd);
	session_meta(s, &m, NULL);
	s->out.rec = recorder__open_fd(fd, &m);
	if (!s->out.rec)
		return ls_output_error(s->o->output, -errno);
	return 0;
}

/* The probes: loaded, every process put in their maps, attached; then,
 * with --subprocesses, the descendants started meanwhile. */
static int session_probes(struct session *s)
{
	const struct attach_opts *o = s->o;
	struct sigaction sa = { .sa_handler = on_signal };
	int err;

	err = probes__load(&s->bpf, o);
	if (!err)
		err = procs__watch_all(s);
	if (!err)
		err = probes__attach(&s->bpf, o, on_event, s);
	if (err)
		return err;
	s->live = true;
	s->live_ns = now_mono();
	step(s, "probes live");
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	s->start_ns = now_mono();
	s->mono_to_unix = now_real() - s->start_ns;
	return procs__rescan(s) ? nomem() : 0;
}

/* Let the started command run: the probes are in place. */
static int session_go(struct session *s, int *go_fd)
{
	struct proc *p = procs__find(&s->procs, s->child);

	if (write(*go_fd, "g", 1) != 1)
		return ls_error(LS_EXIT_TARGET, "cannot start %s", s->o->command[0]);
	close(*go_fd);
	*go_fd = -1;
	if (p)
		p->pending_until = now_mono() + 5000000000ULL;
	return 0;
}

/* The probes, the recording, then the started command; the thread states
 * of every CPython process, the banner, their symbols, their loops. */
static int session_start(struct session *s, int *go_fd)
{
	int err;

	s->starting = true;
	err = session_probes(s);
	if (!err && s->o->output)
		err = session_recording(s);
	if (!err && s->child)
		err = session_go(s, go_fd);
	if (err)
		return err;
	for (unsigned int i = 0; i < s->procs.n; i++)
		if (s->procs.v[i]->state == PROC_PYTHON && loops__tstates(s, s->procs.v[i]))
			return nomem();
	step(s, "thread states read");
	if (procs__first_python(s))
		print_banner(s);
	/* native symbols, a module at a time, the events that come meanwhile
	 * read between modules; then the loops, announced once every sample
	 * can be read at once */
	for (unsigned int i = 0; i < s->procs.n; i++)
		while (s->procs.v[i]->res_ready && resolver__warm_step(&s->procs.v[i]->res))
			if (ring_buffer__consume(s->bpf.rb) == -ENOMEM)
				return nomem();
	step(s, "native symbols read");
	s->starting = false;
	for (unsigned int i = 0; i < s->procs.n; i++) {
		struct proc *p = s->procs.v[i];

		if (p->state != PROC_PYTHON)
			continue;
		session__proc_record(s, p);
		if (session_discover(s, p))
			return nomem();
	}
	step(s, "loops found");
	status__init(&s->status, s->o->status);
	return 0;
}

/* Every process watched has exited: those skipped are not watched, but
 * for their children (--subprocesses: a shell's python). */
static bool all_gone(const struct session *s)
{
	for (unsigned int i = 0; i < s->procs.n; i++) {
		const struct proc *p = s->procs.v[i];

		if (p->state != PROC_GONE &&
		    (p->state != PROC_OTHER || (p->flags & LS_PROC_FOLLOW)))
			return false;
	}
	return true;
}

/* stdout is a pipe whose reader has gone: nothing more can be said. */
static bool stdout_closed(void)
{
	return ferror(stdout) || (fflush(stdout) == EOF && errno == EPIPE);
}

/* Events until the end; *ended_by says which. 0 or an exit code. */
static int session_run(struct session *s, const char **ended_by)
{
	uint64_t next_scan = 0;

	*ended_by = "signal";
	while (!exiting) {
		uint64_t now = now_mono(), due = taskwatch__due(s, now);
		int wait = procs__pending(s) ? 5 : 50;
		int err;

		/* rounded up: a poll of 0 ms would spin until the tick */
		if (due < (uint64_t)wait * 1000000)
			wait = (int)((due + 999999) / 1000000);
		err = ring_buffer__poll(s->bpf.rb, wait);

		/* samples sent without a wakeup (on-CPU ones, and any behind
		 * them) wait for the stall's end unless drained: a GIL
		 * holder must be read while it still holds the GIL */
		if (err == 0)
			err = ring_buffer__consume(s->bpf.rb);
		/* a stop and continue (Ctrl-Z, a debugger) interrupts the
		 * wait too: only a signal that set `exiting` ends it */
		if (err == -EINTR)
			continue;
		if (err == -ENOMEM)
			return nomem();
		if (err < 0)
			return ls_error(LS_EXIT_ENV, "reading the ring buffer: %s", strerror(-err));
		now = now_mono();
		err = procs__poll(s);
		if (err)
			return err < 0 ? nomem() : err;
		if (session_read_busy(s) || taskwatch__tick(s, now))
			return nomem();
		session_record_awaits(s, now, false);
		if (looplag__read(s, now, false))
			return nomem();
		looplag__record(s, now, false);
		status__tick(&s->status, s, now);
		metrics__poll(s);
		if (now >= next_scan) {
			if (loops__scan(s) || session__release(s, NULL, false))
				return nomem();
			next_scan = now + SCAN_INTERVAL_NS;
		}
		if (s->o->duration_ns && now - s->start_ns >= s->o->duration_ns) {
			*ended_by = "duration";
			break;
		}
		if (all_gone(s)) {
			*ended_by = "target exit";
			break;
		}
		if (stdout_closed()) {	/* its reader stopped reading (| head) */
			*ended_by = "output closed";
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

/* The command and its subprocesses ended, none a CPython. */
static int no_python_ran(struct session *s)
{
	return ls_error(LS_EXIT_TARGET, "the command %s (PID %d) and its subprocesses ran no "
			"CPython; give a command that runs python (python3 app.py)",
			s->o->command[0], s->child);
}

/* The end: loops still blocked, our command stopped, the recording
 * closed, the summary. The exit code. */
static int session_finish(struct session *s, const char *ended_by)
{
	const struct attach_opts *o = s->o;
	bool target_gone = !strcmp(ended_by, "target exit"), broken = false;
	struct budget_result br[BUDGET__N];
	int nb;

	if (!procs__first_python(s))
		return no_python_ran(s);
	if ((!target_gone && session_flush_blocked(s)) || session__release(s, NULL, true))
		return nomem();
	if (s->child && !target_gone)
		kill(s->child, SIGINT);	/* our command: stop it as Ctrl-C would */
	for (unsigned int i = 0; i < s->procs.n; i++)
		if (taskwatch__end(s, s->procs.v[i]))
			return nomem();
	session_record_awaits(s, now_mono(), true);
	if (looplag__read(s, now_mono(), true))
		return nomem();
	looplag__record(s, now_mono(), true);
	if (s->out.rec)
		session_close_recording(s, ended_by);
	if (summary__awaits(&s->out.sum, &s->rules, s->frames, s->aw_src))
		return nomem();
	if (s->held.dropped)
		ls_warn("%" PRIu64 " stalls of threads not yet told a loop or not were dropped "
			"(over %d held)", s->held.dropped, HELD_MAX);
	if (summary__finish(&s->out.sum))
		return nomem();
	nb = budgets__judge(&o->budgets, &s->out.sum, now_mono() - s->start_ns, s->n_found, br);
	status__end(&s->status);
	if (session_summary(s, ended_by, br, nb))
		return nomem();
	live_text__budgets(stderr, br, nb);
	for (int i = 0; i < nb; i++)
		broken = broken || br[i].broken;
	return broken || (o->fail_on >= 0 && s->out.sum.worst_severity >= o->fail_on) ?
	       LS_EXIT_FINDINGS : LS_EXIT_OK;
}

static void session_destroy(struct session *s)
{
	status__end(&s->status);
	metrics__close(&s->metrics);
	probes__stop(&s->bpf);
	assembler__free(&s->as);
	if (s->out.rec)
		recorder__close(s->out.rec, NULL);	/* an error path: no end record */
	summary__free(&s->out.sum);
	awaits__free(&s->out.aw_new);
	held__free(&s->held);
	procs__free(&s->procs);
	frames__free(s->frames);
	source__free(s->aw_src);
	free(s->said);
	free(s->found);
	free(s->ids);
	rules__free(&s->rules);
}

int attach__run(const struct attach_opts *o)
{
	struct session s = { .o = o, .metrics.fd = -1 };
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
	if (err && s.out.rec && !s.out.recorded) {
		/* a session that failed (no CPython ran): no empty recording
		 * left, if it made the file (never /dev/null, never another's) */
		recorder__close(s.out.rec, NULL);
		s.out.rec = NULL;
		if (s.out.created)
			unlink(o->output);
	}
	if (go_fd >= 0)
		close(go_fd);	/* the child gives up */
	if (s.child && err && kill(s.child, 0) == 0)
		kill(s.child, SIGTERM);	/* the session failed: not left running */
	if (s.child)
		waitpid(s.child, NULL, 0);
	session_destroy(&s);
	return err;
}
