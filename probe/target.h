/* SPDX-License-Identifier: MIT */
/* The process loopstall watches: existence, CPython detection, threads. */
#ifndef LS_TARGET_H
#define LS_TARGET_H
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

struct target {
	int pid;
	int pidfd;			/* readable when the process exits; -1 */
	int py_fd;			/* py_path opened (target__py_file); -1 */
	char comm[16];
	char py_path[PATH_MAX];		/* object holding the interpreter */
	bool py_shared;			/* py_path is a libpython, not the exe */
	uint32_t py_version_hex;	/* PY_VERSION_HEX, e.g. 0x030b02f0 */
	char py_version[16];		/* "3.11.2" */
};

enum target_err {
	TARGET_OK = 0,
	TARGET_NO_PROCESS,	/* no such pid */
	TARGET_NO_ACCESS,	/* /proc/PID unreadable: privileges */
	TARGET_NOT_PYTHON,	/* no python executable or libpython mapped */
	TARGET_UNSUPPORTED,	/* CPython outside 3.PY_MINOR_MIN–3.PY_MINOR_MAX
				   (pylayout.h), or free-threaded */
};

/* Fill t for pid. On failure returns the reason and writes a one-line
 * explanation into why. */
enum target_err target__open(struct target *t, int pid, char *why, size_t len);
void target__close(struct target *t);
/* True while the process lives. */
bool target__alive(const struct target *t);
/* /proc/pid/task/tid/comm, or "?" */
void target__thread_name(int pid, int tid, char *buf, size_t len);
/* The mapped python object of a process, from its maps text (exe or a
 * libpython): writes the path, returns 0, or -ENOENT. Pure, for tests. */
int target__find_python(const char *maps_text, const char *exe, char *out,
			size_t len, bool *shared);
/* A path that opens the target's python object from here: its
 * /proc/PID/map_files entry (exact, any namespace, even deleted; needs
 * CAP_SYS_ADMIN), else /proc/self/fd/N of the file opened once and kept
 * (t->py_fd): inside the target's root (containers; its symlinks resolved
 * there, never to our files), else at the path as mapped if that is the
 * very file mapped, same device and inode (chroots, whose maps show our
 * paths). 0 or -ENOENT. */
int target__py_file(struct target *t, char *out, size_t len);
/* "3.11.2" from a PY_VERSION_HEX. */
void target__version_str(uint32_t hex, char *buf, size_t len);

#endif
