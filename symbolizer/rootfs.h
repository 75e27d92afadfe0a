/* SPDX-License-Identifier: MIT */
/* A process's files as it sees them: opened inside its root directory.
 * /proc/PID/root + path is not enough: the kernel resolves an absolute
 * symlink met on the way (and ".." past the root) from loopstall's own
 * root, so a container's /app/x.py -> /etc/shadow would open the host's. */
#ifndef LS_ROOTFS_H
#define LS_ROOTFS_H

/* Opens path (read-only, close-on-exec) under the directory rootfd as a
 * chroot there would: every symlink and ".." resolved inside it
 * (openat2 RESOLVE_IN_ROOT, no magic links). An fd or -errno. */
int rootfs__openat(int rootfd, const char *path);
/* Opens path as process pid sees it: an absolute one under its root
 * (/proc/PID/root), a relative one under its cwd (/proc/PID/cwd), never
 * leaving it (a relative path may not climb out of the cwd). Where openat2
 * is refused (kernels before 5.6, some seccomp filters) only a process
 * sharing loopstall's root is read (plain open: nothing to leave). An fd
 * or -errno. */
int rootfs__open(int pid, const char *path);

#endif
