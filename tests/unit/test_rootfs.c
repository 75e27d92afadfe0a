// SPDX-License-Identifier: MIT
/* Unit tests: symbolizer/rootfs.c — a container's symlinks and ".." stay
 * inside its root (a directory made here stands for it). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "rootfs.h"

static char top[] = "/tmp/ls-rootfs-XXXXXX";
static char root[256], outside[256];
static int rootfd = -1;

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

static void link_in(const char *target, const char *name)
{
	char p[PATH_MAX + 300];

	snprintf(p, sizeof(p), "%s/%s", root, name);
	cr_assert_eq(symlink(target, p), 0, "%s: %s", p, strerror(errno));
}

/* top/outside.txt (the "host's"), top/root/{inside.txt, app/...} */
static void setup(void)
{
	char p[PATH_MAX + 300];

	cr_assert(mkdtemp(top));
	snprintf(root, sizeof(root), "%s/root", top);
	snprintf(outside, sizeof(outside), "%s/outside.txt", top);
	cr_assert_eq(mkdir(root, 0755), 0);
	snprintf(p, sizeof(p), "%s/app", root);
	cr_assert_eq(mkdir(p, 0755), 0);
	put(outside, "host secret\n");
	snprintf(p, sizeof(p), "%s/inside.txt", root);
	put(p, "inside\n");
	link_in("/inside.txt", "app/abs");			/* absolute, inside */
	link_in("../../../../../../inside.txt", "app/up");	/* ".." past the root */
	link_in(outside, "app/host");				/* the host's path */
	link_in("/", "app/slash");				/* the root itself */
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(rootfd, 0);
}

static void teardown(void)
{
	char cmd[PATH_MAX + 16];

	if (rootfd >= 0)
		close(rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	cr_assert_eq(system(cmd), 0);
}

static const char *read_fd(int fd)
{
	static char buf[64];
	ssize_t n;

	cr_assert_geq(fd, 0, "open: %s", strerror(-fd));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

TestSuite(rootfs, .init = setup, .fini = teardown);

Test(rootfs, absolute_symlink_resolves_inside_the_root)
{
	cr_assert_str_eq(read_fd(rootfs__openat(rootfd, "/app/abs")), "inside\n");
	cr_assert_str_eq(read_fd(rootfs__openat(rootfd, "app/slash/inside.txt")), "inside\n");
}

Test(rootfs, dotdot_stops_at_the_root)
{
	cr_assert_str_eq(read_fd(rootfs__openat(rootfd, "/app/up")), "inside\n");
	cr_assert_str_eq(read_fd(rootfs__openat(rootfd, "/../../../inside.txt")), "inside\n");
}

Test(rootfs, a_host_path_is_not_reached)
{
	cr_assert_eq(rootfs__openat(rootfd, "/app/host"), -ENOENT);
	cr_assert_eq(rootfs__openat(rootfd, outside), -ENOENT);
	cr_assert_eq(rootfs__openat(rootfd, "/../outside.txt"), -ENOENT);
}

Test(rootfs, relative_paths_stay_beneath_the_cwd)
{
	char cwd[PATH_MAX];

	cr_assert(getcwd(cwd, sizeof(cwd)));
	cr_assert_eq(chdir(root), 0);
	cr_assert_str_eq(read_fd(rootfs__open(getpid(), "app/../inside.txt")), "inside\n");
	cr_assert_lt(rootfs__open(getpid(), "../outside.txt"), 0);
	cr_assert_lt(rootfs__open(getpid(), "app/host"), 0);
	cr_assert_eq(chdir(cwd), 0);
}

Test(rootfs, our_own_root_reads_as_ever)
{
	cr_assert_str_eq(read_fd(rootfs__open(getpid(), outside)), "host secret\n");
}
