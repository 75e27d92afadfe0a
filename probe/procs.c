// SPDX-License-Identifier: MIT
/* The processes of a session: those given (-p, the command started),
 * their descendants with --subprocesses (found in /proc at the start,
 * followed through fork by BPF after it), each told a CPython or not;
 * an exec'd one looked at again; an exited one summed up. A forked
 * child of a CPython process is one at once: its parent's layout and
 * symbols serve it (same image, same addresses), nothing is re-read. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "errors.h"
#include "events.h"
#include "loopstall.skel.h"
#include "session.h"

#define PENDING_NS	5000000000ULL	/* an interpreter starting: found by then */
#define LS_STR_(x)	#x
#define LS_STR(x)	LS_STR_(x)
#define RESCANS		8		/* /proc passes at most, until nothing new */

/* ---- one process: a CPython or not ---------------------------------- */

/* Its interpreter read as its parent's: a fork runs the same image at the
 * same addresses (only the PID and the comm differ). */
static void like_parent(struct proc *p, const struct proc *parent)
{
	char comm[sizeof(p->tgt.comm)];

	p->tgt = parent->tgt;
	p->tgt.pid = p->pid;
	p->tgt.pidfd = -1;
	p->tgt.py_fd = -1;	/* the parent's own */
	target__thread_name(p->pid, p->pid, comm, sizeof(comm));
	if (strcmp(comm, "?"))
		memcpy(p->tgt.comm, comm, sizeof(comm));
	p->py = parent->py;
	p->py.pid = p->pid;
	p->have_py = parent->have_py;
}

/* Is it worth reading p's files again? Not while it runs the executable
 * already read and found no CPython, and maps no libpython: a shell
 * waiting for its child is looked at every few ms, its ELF symbols are
 * not read every time. */
static bool worth_a_look(struct proc *p)
{
	char path[64], line[512];
	bool lib = false;
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/exe", p->pid);
	if (stat(path, &st) || st.st_ino != p->plain_ino || st.st_dev != p->plain_dev)
		return true;
	snprintf(path, sizeof(path), "/proc/%u/maps", p->pid);
	if (!(f = fopen(path, "re")))
		return true;
	while (!lib && fgets(line, sizeof(line), f))
		lib = strstr(line, "/libpython3") != NULL;
	fclose(f);
	return lib;
}

static bool exe_of(const struct proc *p, struct stat *st)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%u/exe", p->pid);
	return !stat(path, st);
}

/* After a look that found no CPython in p's executable: remember it, if
 * that was the executable before the look (before: st) and still is (an
 * exec in between, a shell's into python, must not be taken for it). */
static void looked_at(struct proc *p, const struct stat *before)
{
	struct stat st;

	if (exe_of(p, &st) && st.st_ino == before->st_ino && st.st_dev == before->st_dev) {
		p->plain_ino = st.st_ino;
		p->plain_dev = st.st_dev;
	}
}

/* p's interpreter from its files. 1: found (have_py says if its frames
 * can be read), 0: not (why says), -ENOTSUP: a CPython not supported. */
static int read_python(struct proc *p, char *why, size_t len)
{
	char file[PATH_MAX + 32];
	struct py_thread t;
	enum target_err te;
	struct stat exe;
	int err;

	if (p->plain_ino && !worth_a_look(p)) {
		snprintf(why, len, "%s", p->why[0] ? p->why : "no CPython");
		return 0;
	}
	if (!exe_of(p, &exe))
		exe.st_ino = 0;
	te = target__open(&p->tgt, p->pid, why, len);
	p->open_err = te;
	if (te == TARGET_NOT_PYTHON && exe.st_ino) {
		looked_at(p, &exe);
		snprintf(p->why, sizeof(p->why), "%s", why);
	}
	if (te == TARGET_UNSUPPORTED)
		return -ENOTSUP;
	if (te != TARGET_OK)
		return 0;
	err = pyproc__open(&p->py, p->pid, p->tgt.py_path,
			   target__py_file(&p->tgt, file, sizeof(file)) ? NULL : file,
			   p->tgt.py_version_hex, why, len);
	if (err == -ENOTSUP)
		return -ENOTSUP;
	/* an interpreter starting: found once its first thread state is */
	if (p->wait_tstate && (err || pyproc__threads(&p->py, &t, 1) <= 0) &&
	    now_mono() < p->pending_until)
		return 0;
	if (err)
		ls_warn("no Python frames for PID %u: %s", p->pid, why);
	p->have_py = !err;
	return 1;
}

static bool can_lend(const struct proc *q, const struct proc *p)
{
	return q && q != p && q->state == PROC_PYTHON && q->res_ready &&
	       !strcmp(q->tgt.py_path, p->tgt.py_path);
}

/* Whose native modules p may share (symbols, debug info, unwind tables:
 * read once): its parent's, else those of the last CPython with its
 * interpreter found before it (workers forked before attach map what
 * their master, or their siblings, map). NULL: none to try. */
static const struct resolver *native_like(struct session *s, const struct proc *p)
{
	struct proc *parent = p->ppid ? procs__find(&s->procs, p->ppid) : NULL;
	const struct resolver *r = NULL;

	if (can_lend(parent, p))
		r = &parent->res;
	for (unsigned int i = s->procs.n; !r && i-- > 0;)
		if (can_lend(s->procs.v[i], p))
			r = &s->procs.v[i]->res;
	return r;
}

/* p is a CPython: its symbols, thread names; PROC_PYTHON. 0 or -ENOMEM. */
static int became_python(struct session *s, struct proc *p, const struct proc *parent)
{
	struct pyobj o;

	if (!p->res_ready &&
	    resolver__init(&p->res, p->pid, s->frames,
			   parent && parent->res_ready ? &parent->res : native_like(s, p)))
		return -ENOMEM;
	p->res_ready = true;
	if (resolver__set_python(&p->res, p->have_py ? &p->py : NULL, p->tgt.py_path))
		return -ENOMEM;
	if (p->have_py) {
		pyproc__obj(&p->py, &o);
		p->names = pythreads__new(&o, p->py.runtime, p->pid, PYTHREADS_REFRESH_NS);
		if (!p->names)
			return -ENOMEM;
	}
	p->state = PROC_PYTHON;
	p->was_python = true;
	proctitle__read(p->pid, p->title, sizeof(p->title));
	return 0;
}

/* A process found once the session runs could not be put in BPF's maps
 * (more than LS_MAX_PROCS): said, not fatal. 0 or -ENOMEM. */
static int watch_failed(struct session *s, struct proc *p, int err)
{
	if (!err || err == -ENOMEM)
		return err;
	ls_warn("PID %u (%s) is not watched: %s", p->pid, p->title,
		err == -E2BIG ? "too many processes (" LS_STR(LS_MAX_PROCS) ")" : strerror(-err));
	return 0;
}

static int watch(struct session *s, struct proc *p);

/* p runs no CPython (a shell, sleep), or one not supported: skipped, its
 * children still followed; BPF makes no loop of its threads. 0 or
 * -ENOMEM. */
static int became_other(struct session *s, struct proc *p, const char *why)
{
	int err = 0;

	p->state = PROC_OTHER;
	snprintf(p->why, sizeof(p->why), "%s", why);
	if (p->was_python && !p->ppid)	/* one given exec'd: say so */
		fprintf(stderr, "loopstall: PID %u exec'd %s, no CPython; watched until it "
			"exits\n", p->pid, p->title);
	if (s->o->verbose)
		fprintf(stderr, "loopstall: PID %u (%s) skipped: %s\n", p->pid, p->title, why);
	if (s->live) {
		err = watch_failed(s, p, watch(s, p));
		loops__forget(s, p);
	}
	return err;
}

/* One look at a PROC_PENDING p. 0, -ENOMEM. */
static int try_proc(struct session *s, struct proc *p)
{
	char why[256] = "";
	int found = read_python(p, why, sizeof(why));

	if (found == 1)
		return became_python(s, p, NULL) ? -ENOMEM : s->live ? procs__start(s, p) : 0;
	if (found == -ENOTSUP)
		return became_other(s, p, why);
	if (now_mono() >= p->pending_until)
		return became_other(s, p, why[0] ? why : "no CPython");
	return 0;
}

/* ---- the processes given, and their descendants --------------------- */

/* The parent of pid from /proc/PID/stat, 0 when gone. */
static uint32_t ppid_of(uint32_t pid)
{
	char path[64], buf[512], *close;
	unsigned int ppid = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	if (!(f = fopen(path, "re")))
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	close = strrchr(buf, ')');	/* the comm may hold anything */
	if (!close || sscanf(close + 1, " %*c %u", &ppid) != 1)
		return 0;
	return ppid;
}

/* One pass over /proc: processes whose parent is watched, added. How
 * many, or -ENOMEM. */
static int scan_children(struct session *s)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int added = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		uint32_t pid, ppid;
		struct proc *parent, *p;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid = strtoul(e->d_name, NULL, 10);
		if (procs__find(&s->procs, pid) || !(ppid = ppid_of(pid)) ||
		    !(parent = procs__find(&s->procs, ppid)))
			continue;
		if (!(p = procs__add(&s->procs, pid, ppid))) {
			closedir(d);
			return -ENOMEM;
		}
		p->flags = parent->flags;
		added++;
	}
	closedir(d);
	return added;
}

/* Descendants of the processes known: passes until one finds nothing new
 * (a child forked during a pass is found by the next). */
static int scan_descendants(struct session *s)
{
	for (int i = 0; i < RESCANS; i++) {
		int n = scan_children(s);

		if (n <= 0)
			return n;
	}
	return 0;
}

/* The error line when no process given runs a CPython. */
static int none_is_python(struct session *s)
{
	const struct attach_opts *o = s->o;
	struct proc *p = s->procs.v[0];
	char list[96] = "";

	if (!s->multi)
		return ls_error(p->open_err == TARGET_NO_ACCESS ? LS_EXIT_ENV : LS_EXIT_TARGET,
				"%s", p->why);
	for (uint32_t i = 0, n = 0; i < o->n_pids && n < sizeof(list) - 16; i++)
		n += snprintf(list + n, sizeof(list) - n, "%s%u", i ? "," : "", o->pids[i]);
	return ls_error(LS_EXIT_TARGET, "no CPython process among PID %s%s (%s); give the "
			"PID of a Python process (pgrep -f your_app)", list,
			o->follow ? " and their subprocesses" : "", p->why);
}

/* A process given: it must exist; a CPython or not. 0 or an exit code. */
static int open_given(struct session *s, uint32_t pid)
{
	struct proc *p;

	if (procs__find(&s->procs, pid))
		return 0;
	if (kill(pid, 0) && errno == ESRCH)
		return ls_error(LS_EXIT_TARGET, "no process with PID %u; check the PID "
				"(pgrep -f your_app)", pid);
	if (!(p = procs__add(&s->procs, pid, 0)))
		return ls_error(LS_EXIT_ENV, "out of memory");
	p->flags = s->o->follow ? LS_PROC_FOLLOW : 0;
	return 0;
}

int procs__open(struct session *s)
{
	const struct attach_opts *o = s->o;
	int err = 0;

	for (uint32_t i = 0; i < o->n_pids && !err; i++)
		err = open_given(s, o->pids[i]);
	if (!err && o->follow && scan_descendants(s) < 0)
		err = ls_error(LS_EXIT_ENV, "out of memory");
	for (unsigned int i = 0; i < s->procs.n && !err; i++) {
		struct proc *p = s->procs.v[i];

		p->pending_until = now_mono();
		if (try_proc(s, p))
			err = ls_error(LS_EXIT_ENV, "out of memory");
		else if (p->state == PROC_OTHER && !p->why[0])
			snprintf(p->why, sizeof(p->why), "PID %u runs no CPython", p->pid);
	}
	if (err)
		return err;
	if (!procs__count(&s->procs, PROC_PYTHON))
		return none_is_python(s);
	return 0;
}

/* ---- in BPF ---------------------------------------------------------- */

static int watch(struct session *s, struct proc *p)
{
	const struct ls_py_offsets *off = p->have_py ? &p->py.layout.bpf : NULL;
	int err;

	if (p->state == PROC_OTHER)
		p->flags |= LS_PROC_SKIP;
	err = probes__watch(&s->bpf, p->pid, p->flags);
	if (!err && p->state == PROC_PYTHON)
		err = probes__set_layout(&s->bpf, p->pid, off);
	return err;
}

int procs__watch_all(struct session *s)
{
	for (unsigned int i = 0; i < s->procs.n; i++) {
		struct proc *p = s->procs.v[i];
		int err = p->state == PROC_GONE ? 0 : watch(s, p);

		if (err == -E2BIG)
			return ls_error(LS_EXIT_ENV, "more than %d processes to watch; watch "
					"fewer", LS_MAX_PROCS);
		if (err)
			return ls_error(LS_EXIT_ENV, "watching PID %u: %s", p->pid,
					strerror(-err));
	}
	return 0;
}

int procs__rescan(struct session *s)
{
	unsigned int first = s->procs.n;

	if (!s->o->follow || scan_descendants(s) < 0)
		return s->o->follow ? -ENOMEM : 0;
	for (unsigned int i = first; i < s->procs.n; i++) {
		struct proc *p = s->procs.v[i];

		p->pending_until = now_mono();
		if (try_proc(s, p))	/* watched: found a CPython or not */
			return -ENOMEM;
	}
	return 0;
}

int procs__start(struct session *s, struct proc *p)
{
	if (watch_failed(s, p, watch(s, p)) || loops__tstates(s, p))
		return -ENOMEM;
	return session__found(s, p);
}

struct proc *procs__first_python(struct session *s)
{
	for (unsigned int i = 0; i < s->procs.n; i++)
		if (s->procs.v[i]->was_python)
			return s->procs.v[i];
	return NULL;
}

/* ---- followed: fork, exec, exit -------------------------------------- */

/* A process BPF watches now: forked by parent (0: unknown). */
static int forked(struct session *s, uint32_t pid, uint32_t ppid)
{
	struct proc *parent = ppid ? procs__find(&s->procs, ppid) : NULL;
	struct proc *p;

	if (procs__find(&s->procs, pid))
		return 0;	/* found in /proc first */
	if (!(p = procs__add(&s->procs, pid, ppid)))
		return -ENOMEM;
	p->flags = parent ? parent->flags : s->o->follow ? LS_PROC_FOLLOW : 0;
	p->pending_until = now_mono() + PENDING_NS;
	if (!parent) {
		p->wait_tstate = true;
		return try_proc(s, p);
	}
	switch (parent->state) {
	case PROC_PYTHON:
		like_parent(p, parent);
		return became_python(s, p, parent) ? -ENOMEM : procs__start(s, p);
	case PROC_PENDING:
		p->pending_until = parent->pending_until;
		p->wait_tstate = parent->wait_tstate;
		return 0;
	default:	/* BPF gave it its parent's LS_PROC_SKIP */
		p->state = PROC_OTHER;
		snprintf(p->why, sizeof(p->why), "forked by PID %u, which runs no CPython", ppid);
		return 0;
	}
}

/* p runs a new image: what was known of its interpreter goes; looked for
 * again (BPF dropped its layout and cleared LS_PROC_SKIP). */
static int exec_d(struct session *s, struct proc *p)
{
	int err = session__release(s, p, true);

	assembler__drop_pid(&s->as, p->pid);
	proc__drop_python(p);
	p->flags &= ~LS_PROC_SKIP;
	p->plain_ino = 0;	/* a new image: to be read */
	p->state = PROC_PENDING;
	p->wait_tstate = true;
	p->pending_until = now_mono() + PENDING_NS;
	p->announced = false;
	proctitle__read(p->pid, p->title, sizeof(p->title));
	return err ? err : try_proc(s, p);
}

int procs__exit(struct session *s, struct proc *p)
{
	int err = session__release(s, p, true);

	if (p->state == PROC_PENDING && s->o->verbose)
		fprintf(stderr, "loopstall: PID %u (%s) skipped: exited, no CPython found\n",
			p->pid, p->title);

	if (p->state == PROC_PYTHON && s->multi && p->announced) {
		struct proc_info pi;

		proc__info(p, &pi);
		print_proc_exit(session__out(s), s->o->format, &pi, summary__proc(&s->out.sum, p->pid),
				s->o->threshold_ns, now_real());
	}
	assembler__drop_pid(&s->as, p->pid);
	p->end_unix_ns = now_real();
	session__proc_record(s, p);
	if (taskwatch__end(s, p))
		err = -ENOMEM;
	proc__drop_python(p);
	p->state = PROC_GONE;
	return err;
}

struct proc *procs__of_event(struct session *s, uint32_t pid)
{
	struct proc *p = procs__find(&s->procs, pid);
	struct ls_proc w;
	__u32 key = pid;

	if (p || procs__find_any(&s->procs, pid))
		return p;	/* known, or gone: a late event */
	if (bpf_map_lookup_elem(bpf_map__fd(s->bpf.skel->maps.watched), &key, &w) ||
	    forked(s, pid, w.parent))
		return NULL;
	return procs__find(&s->procs, pid);
}

int procs__event(struct session *s, const struct ls_proc_event *e)
{
	struct proc *p;

	switch (e->what) {
	case LS_PROC_FORK:
		return forked(s, e->hdr.pid, e->parent);
	case LS_PROC_EXEC:
		p = procs__find(&s->procs, e->hdr.pid);
		return p ? exec_d(s, p) : forked(s, e->hdr.pid, 0);
	case LS_PROC_EXIT:
		p = procs__find(&s->procs, e->hdr.pid);
		return p ? procs__exit(s, p) : 0;
	}
	return 0;
}

bool procs__pending(const struct session *s)
{
	return procs__count(&s->procs, PROC_PENDING) > 0;
}

/* record -- CMD without --subprocesses: the command must be the CPython. */
static int command_not_python(struct session *s, struct proc *p)
{
	return ls_error(LS_EXIT_TARGET, "the command %s (PID %u) ran no CPython (%s); record "
			"-- needs a command that is the python process (python3 app.py, or a "
			"script that execs python), or --subprocesses for one it starts",
			s->o->command[0], p->pid, p->why[0] ? p->why : "it exited");
}

int procs__poll(struct session *s)
{
	for (unsigned int i = 0; i < s->procs.n; i++) {
		struct proc *p = s->procs.v[i];

		if (p->state == PROC_PENDING && try_proc(s, p))
			return -ENOMEM;
		if (p->state != PROC_GONE && !proc__alive(p)) {
			/* its exit event lost (ring buffer full): said now */
			if (ring_buffer__consume(s->bpf.rb) == -ENOMEM ||
			    (p->state != PROC_GONE && procs__exit(s, p)))
				return -ENOMEM;
		}
		if (s->child && p->pid == (uint32_t)s->child && !s->o->follow &&
		    !p->was_python && (p->state == PROC_OTHER || p->state == PROC_GONE))
			return command_not_python(s, p);
	}
	return 0;
}
