// SPDX-License-Identifier: MIT
/* A process's files opened inside its root (rootfs.h). */
#define _GNU_SOURCE		/* O_PATH */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "rootfs.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

static int openat2_in(int dirfd, const char *path, unsigned long long resolve)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC,
		.resolve = resolve | RESOLVE_NO_MAGICLINKS,
	};
	int fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

int rootfs__openat(int rootfd, const char *path)
{
	return openat2_in(rootfd, path, RESOLVE_IN_ROOT);
}

/* Is pid's root ours (a process in no chroot, no container)? */
static bool same_root(int pid)
{
	struct stat a, b;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/root/", pid);
	return !stat("/", &a) && !stat(path, &b) && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

int rootfs__open(int pid, const char *path)
{
	bool rel = path[0] != '/';
	char dir[64];
	int dfd, fd;

	snprintf(dir, sizeof(dir), "/proc/%d/%s", pid, rel ? "cwd" : "root");
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	/* a relative path: beneath the cwd (".." may not leave it; an
	 * absolute symlink fails rather than jump to another root) */
	fd = openat2_in(dfd, path, rel ? RESOLVE_BENEATH : RESOLVE_IN_ROOT);
	if ((fd == -ENOSYS || fd == -EPERM) && same_root(pid)) {
		fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
		fd = fd < 0 ? -errno : fd;
	}
	close(dfd);
	return fd;
}
