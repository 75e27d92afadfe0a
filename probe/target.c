// SPDX-License-Identifier: MIT
/* The process loopstall watches, from /proc: is it there, which CPython
 * does it run (executable or libpython, version), is that one supported. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "elffile.h"
#include "maps.h"
#include "pylayout.h"
#include "rootfs.h"
#include "target.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static int read_small(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return 0;
}

void target__thread_name(int pid, int tid, char *buf, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
	if (read_small(path, buf, len))
		snprintf(buf, len, "?");
}

void target__version_str(uint32_t hex, char *buf, size_t len)
{
	static const char *const lvl[] = { "a", "b", "rc" };	/* 0xA, 0xB, 0xC */
	unsigned int major = hex >> 24, minor = (hex >> 16) & 0xff,
		     micro = (hex >> 8) & 0xff, level = (hex >> 4) & 0xf,
		     serial = hex & 0xf;

	if (level < 0xa || level > 0xc)
		snprintf(buf, len, "%u.%u.%u", major, minor, micro);
	else
		snprintf(buf, len, "%u.%u.%u%s%u", major, minor, micro,
			 lvl[level - 0xa], serial);
}

static bool is_python_name(const char *path, bool *shared)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (!strncmp(base, "libpython3", 10)) {
		*shared = true;
		return true;
	}
	if (!strncmp(base, "python", 6)) {
		*shared = false;
		return true;
	}
	return false;
}

int target__find_python(const char *maps_text, const char *exe, char *out,
			size_t len, bool *shared)
{
	struct maps m;
	int err = -ENOENT;

	if (maps__parse(&m, maps_text))
		return -ENOMEM;
	/* a libpython wins: an embedding exe or a python linked shared */
	for (unsigned int i = 0; i < m.n && err; i++) {
		bool sh;

		if (is_python_name(m.v[i].path, &sh) && sh) {
			snprintf(out, len, "%s", m.v[i].path);
			*shared = true;
			err = 0;
		}
	}
	for (unsigned int i = 0; i < m.n && err; i++) {
		if (exe && !strcmp(m.v[i].path, exe)) {
			snprintf(out, len, "%s", exe);
			*shared = false;
			err = 0;
		}
	}
	maps__free(&m);
	return err;
}

/* Is fd the file of the mapping e (same device and inode)? */
static bool is_mapped_file(int fd, const struct map_entry *e)
{
	struct stat st;

	return !fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_ino == e->ino &&
	       major(st.st_dev) == e->dev_major && minor(st.st_dev) == e->dev_minor;
}

/* The python object opened into t->py_fd: inside the target's root (its
 * symlinks resolved there, rootfs.h), else at the path as mapped (chroots,
 * whose maps show our paths) if that is the very file mapped. */
static void open_py_fd(struct target *t, const struct map_entry *e)
{
	int fd = rootfs__open(t->pid, t->py_path);

	if (fd < 0) {
		fd = open(t->py_path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && !is_mapped_file(fd, e)) {
			close(fd);
			fd = -1;
		}
	}
	t->py_fd = fd < 0 ? -1 : fd;
}

int target__py_file(struct target *t, char *out, size_t len)
{
	struct maps m;
	int err = -ENOENT;

	if (!maps__load(&m, t->pid)) {
		for (unsigned int i = 0; i < m.n && err; i++) {
			if (m.v[i].pgoff || strcmp(m.v[i].path, t->py_path))
				continue;
			snprintf(out, len, "/proc/%d/map_files/%llx-%llx", t->pid,
				 (unsigned long long)m.v[i].start, (unsigned long long)m.v[i].end);
			if (access(out, R_OK) == 0)
				err = 0;
			else if (t->py_fd < 0)
				open_py_fd(t, &m.v[i]);
		}
		maps__free(&m);
	}
	if (!err)
		return 0;
	/* the file opened: its own fd, no path resolved again */
	snprintf(out, len, "/proc/self/fd/%d", t->py_fd);
	return t->py_fd >= 0 ? 0 : -ENOENT;
}

/* The process itself: there, its comm, its executable (into exe). */
static enum target_err open_process(struct target *t, char *exe, size_t exe_len,
				    char *why, size_t len)
{
	char path[64];
	int pid = t->pid;
	ssize_t n;

	if (kill(pid, 0) && errno == ESRCH) {
		snprintf(why, len, "no process with PID %d; check the PID (pgrep -f your_app)", pid);
		return TARGET_NO_PROCESS;
	}
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (read_small(path, t->comm, sizeof(t->comm))) {
		snprintf(why, len, "no process with PID %d; check the PID (pgrep -f your_app)", pid);
		return TARGET_NO_PROCESS;
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe, exe_len - 1);
	if (n < 0) {
		if (errno == ENOENT) {
			snprintf(why, len, "PID %d (%s) is a kernel thread, not a CPython process", pid, t->comm);
			return TARGET_NOT_PYTHON;
		}
		snprintf(why, len, "cannot read /proc/%d/exe: %s; run as root or grant CAP_SYS_PTRACE",
			 pid, strerror(errno));
		return TARGET_NO_ACCESS;
	}
	exe[n] = 0;
	return TARGET_OK;
}

/* The python object the process maps (a libpython, else exe): into
 * t->py_path and t->py_shared. */
static enum target_err find_python_object(struct target *t, const char *exe,
					  char *why, size_t len)
{
	char path[64], *maps = NULL;
	size_t maps_len = 0;
	int pid = t->pid, c, err;
	FILE *f, *mem;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	mem = open_memstream(&maps, &maps_len);
	if (!f || !mem) {
		int e = errno;

		if (f)
			fclose(f);
		if (mem)
			fclose(mem);
		free(maps);
		snprintf(why, len, "cannot read %s: %s; run as root or grant CAP_SYS_PTRACE",
			 path, strerror(e));
		return e == ENOENT ? TARGET_NO_PROCESS : TARGET_NO_ACCESS;
	}
	while ((c = getc(f)) != EOF)
		putc(c, mem);
	fclose(f);
	fclose(mem);
	err = target__find_python(maps, exe, t->py_path, sizeof(t->py_path), &t->py_shared);
	free(maps);
	if (err) {
		snprintf(why, len, "PID %d (%s) is not a CPython process: no python executable or libpython is mapped",
			 pid, t->comm);
		return TARGET_NOT_PYTHON;
	}
	return TARGET_OK;
}

/* The CPython in t->py_path: its _PyRuntime, its Py_Version into
 * t->py_version_hex and t->py_version, inside 3.PY_MINOR_MIN to
 * 3.PY_MINOR_MAX. */
static enum target_err read_version(struct target *t, char *why, size_t len)
{
	char file[PATH_MAX + 32];
	uint64_t sym, ver = 0;
	int pid = t->pid;

	if (target__py_file(t, file, sizeof(file))) {
		snprintf(why, len, "cannot open %s of PID %d; run as root", t->py_path, pid);
		return TARGET_NO_ACCESS;
	}
	if (elf__find_symbol(file, "_PyRuntime", &sym, NULL)) {
		snprintf(why, len, "PID %d (%s) is not a CPython process: %s has no _PyRuntime symbol",
			 pid, t->comm, t->py_path);
		return TARGET_NOT_PYTHON;
	}
	if (elf__find_symbol(file, "Py_Version", &sym, NULL) ||
	    elf__read_vaddr(file, sym, &ver, sizeof(ver))) {
		snprintf(why, len, "PID %d (%s) runs a CPython older than 3.%d (%s has no Py_Version); loopstall supports 3.%d to 3.%d",
			 pid, t->comm, PY_MINOR_MIN, t->py_path, PY_MINOR_MIN, PY_MINOR_MAX);
		return TARGET_UNSUPPORTED;
	}
	t->py_version_hex = (uint32_t)ver;
	target__version_str(t->py_version_hex, t->py_version, sizeof(t->py_version));
	if ((ver >> 24) != 3 || ((ver >> 16) & 0xff) < PY_MINOR_MIN ||
	    ((ver >> 16) & 0xff) > PY_MINOR_MAX) {
		snprintf(why, len, "PID %d (%s) runs CPython %s; loopstall supports 3.%d to 3.%d",
			 pid, t->comm, t->py_version, PY_MINOR_MIN, PY_MINOR_MAX);
		return TARGET_UNSUPPORTED;
	}
	return TARGET_OK;
}

/* Free-threaded builds are named python3.13t, libpython3.13t.so: not
 * supported. */
static enum target_err check_gil_build(const struct target *t, char *why, size_t len)
{
	const char *base = strrchr(t->py_path, '/');
	char tag[16];

	snprintf(tag, sizeof(tag), "3.%u%c", (unsigned int)((t->py_version_hex >> 16) & 0xff), 't');
	if (strstr(base ? base : t->py_path, tag)) {
		snprintf(why, len, "PID %d (%s) runs a free-threaded CPython %s, which loopstall does not support; use the default (GIL) build",
			 t->pid, t->comm, t->py_version);
		return TARGET_UNSUPPORTED;
	}
	return TARGET_OK;
}

enum target_err target__open(struct target *t, int pid, char *why, size_t len)
{
	char exe[PATH_MAX];
	enum target_err e;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->pidfd = -1;
	t->py_fd = -1;
	e = open_process(t, exe, sizeof(exe), why, len);
	if (!e)
		e = find_python_object(t, exe, why, len);
	if (!e)
		e = read_version(t, why, len);
	if (!e)
		e = check_gil_build(t, why, len);
	if (e) {
		target__close(t);
		return e;
	}
	t->pidfd = syscall(SYS_pidfd_open, pid, 0);
	return TARGET_OK;
}

void target__close(struct target *t)
{
	if (t->pidfd >= 0)
		close(t->pidfd);
	t->pidfd = -1;
	if (t->py_fd >= 0)
		close(t->py_fd);
	t->py_fd = -1;
}

bool target__alive(const struct target *t)
{
	if (t->pidfd >= 0) {
		struct pollfd p = { .fd = t->pidfd, .events = POLLIN };

		return poll(&p, 1, 0) == 0;
	}
	return !(kill(t->pid, 0) && errno == ESRCH);
}
