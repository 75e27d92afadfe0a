// SPDX-License-Identifier: MIT
/* `loopstall doctor`: kernel features, privileges and a target checked one
 * by one, each with what to do when it is missing. */
#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "doctor.h"
#include "env.h"
#include "errors.h"
#include "events.h"
#include "loopstall.skel.h"
#include "pyproc.h"
#include "pythreads.h"
#include "syscalls.h"
#include "target.h"

static int check(int ok, const char *what, const char *detail)
{
	printf("  %-8s %-14s %s\n", ok ? "ok" : "MISSING", what, detail);
	return ok;
}

static int quiet_print(enum libbpf_print_level l, const char *f, va_list ap)
{
	(void)l; (void)f; (void)ap;
	return 0;
}

/* Load and attach the real programs (watching nothing), then detach. */
static int check_bpf(const char *btf, char *why, size_t len)
{
	LIBBPF_OPTS(bpf_object_open_opts, oopts, .btf_custom_path = btf);
	struct loopstall_bpf *skel;
	int err;

	skel = loopstall_bpf__open_opts(&oopts);
	if (!skel) {
		snprintf(why, len, "cannot open the BPF object: %s", strerror(errno));
		return 0;
	}
	bpf_map__set_max_entries(skel->maps.events, 1 << 20);
	err = loopstall_bpf__load(skel);
	if (err) {
		snprintf(why, len, "programs do not load: %s", strerror(-err));
		goto cleanup;
	}
	err = loopstall_bpf__attach(skel);
	if (err) {
		snprintf(why, len, "tracepoints do not attach: %s", strerror(-err));
		goto cleanup;
	}
	snprintf(why, len, "programs load and attach (syscall and sched tracepoints)");
cleanup:
	loopstall_bpf__destroy(skel);
	return !err;
}

static int check_perf(char *why, size_t len)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE, .config = PERF_COUNT_SW_CPU_CLOCK,
		.size = sizeof(attr), .freq = 1, .sample_freq = 99,
	};
	int fd = syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);

	if (fd < 0) {
		snprintf(why, len, "perf_event_open(cpu-clock): %s", strerror(errno));
		return 0;
	}
	close(fd);
	snprintf(why, len, "cpu-clock sampling events open");
	return 1;
}

/* The target's Python thread names; NULL when they cannot be read. */
static struct pythreads *open_names(struct target *t, struct pyproc *py)
{
	char file[PATH_MAX + 32], why[256];
	struct pyobj o;

	if (pyproc__open(py, t->pid, t->py_path,
			 target__py_file(t, file, sizeof(file)) ? NULL : file,
			 t->py_version_hex, why, sizeof(why)))
		return NULL;
	pyproc__obj(py, &o);
	return pythreads__new(&o, py->runtime, t->pid, PYTHREADS_REFRESH_NS);
}

/* Each thread: its Python name (else its OS name), what it waits in. */
static void list_threads(struct target *t)
{
	struct pythreads *names;
	struct pyproc py;
	int pid = t->pid;
	char path[64];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return;
	names = open_names(t, &py);
	while ((d = readdir(dir))) {
		char name[PYTHREAD_NAME_MAX], sc[128], nrbuf[32], p[300];
		const char *what = "running";
		FILE *f;
		int tid = atoi(d->d_name), nr = -1;

		if (tid <= 0)
			continue;
		if (pythreads__name(names, tid, name, sizeof(name))) {
			target__thread_name(pid, tid, name, sizeof(name));
			pythread__clean_name(name);
		}
		snprintf(p, sizeof(p), "/proc/%d/task/%d/syscall", pid, tid);
		f = fopen(p, "re");
		if (f && fgets(sc, sizeof(sc), f) && sscanf(sc, "%d", &nr) == 1 && nr >= 0)
			what = syscall__wait_label(nr, nrbuf, sizeof(nrbuf));
		if (f)
			fclose(f);
		printf("  %-8s %-14s %s/%d in %s%s\n", "", "thread", name, tid, what,
		       nr >= 0 && strstr(what, "epoll") ? " (an event loop, idle)" : "");
	}
	closedir(dir);
	pythreads__free(names);
}

int doctor__run(int pid, const char *btf, int verbose)
{
	char why[PATH_MAX + 512], missing[256];
	int env_ok = 1, target_rc = 0;
	struct target t;
	struct utsname u;
	const char *btf_path;

	(void)verbose;
	libbpf_set_print(quiet_print);
	printf("loopstall doctor\n");
	uname(&u);
	snprintf(why, sizeof(why), "%s %s", u.release, u.machine);
	check(1, "kernel", why);

	btf_path = env__btf(btf, why, sizeof(why));
	env_ok &= check(btf_path != NULL, "BTF", btf_path ? btf_path : why);

	if (env__have_caps(missing, sizeof(missing))) {
		check(1, "privileges", "CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE");
	} else {
		snprintf(why, sizeof(why), "no %s: run as root or grant them", missing);
		env_ok &= check(0, "privileges", why);
	}
	if (env__tracefs(why, sizeof(why)))
		snprintf(why, sizeof(why), "syscalls:sys_{enter,exit}_{epoll_wait,poll,select,…}");
	env_ok &= check(env__tracepoint("syscalls", "sys_enter_epoll_wait"), "tracepoints", why);

	if (btf_path && env__tracepoint("syscalls", "sys_enter_epoll_wait")) {
		int ok = check_bpf(btf, why, sizeof(why));

		env_ok &= check(ok, "BPF", why);
	}
	env_ok &= check(check_perf(why, sizeof(why)), "perf events", why);

	if (pid) {
		switch (target__open(&t, pid, why, sizeof(why))) {
		case TARGET_OK:
			snprintf(why, sizeof(why), "PID %d (%s): CPython %s in %s (%s)", pid,
				 t.comm, t.py_version, t.py_path,
				 t.py_shared ? "shared libpython" : "static");
			check(1, "target", why);
			list_threads(&t);
			target__close(&t);
			break;
		case TARGET_NO_ACCESS:
			env_ok &= check(0, "target", why);
			break;
		default:
			check(0, "target", why);
			target_rc = LS_EXIT_TARGET;
			break;
		}
	}
	if (!env_ok)
		return LS_EXIT_ENV;
	return target_rc;
}
