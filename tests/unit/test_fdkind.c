// SPDX-License-Identifier: MIT
/* Unit tests: the fd kinds of the BPF ABI (bpf/loopstall.h, probe/fdkind.h):
 * their values against rules/rule.h, and which syscalls work on an fd. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>
#include "fdkind.h"
#include "syscalls.h"

struct kind_case {
	int32_t bpf;		/* ls_sample.fd_kind */
	int want;		/* enum fd_kind, -1 unknown */
	char name[8];		/* fd_kind_name(), "" when unknown */
};

ParameterizedTestParameters(fdkind, of_sample)
{
	static struct kind_case cases[] = {
		{ LS_FD_TCP, FD_TCP, "tcp" },
		{ LS_FD_UDP, FD_UDP, "udp" },
		{ LS_FD_UNIX, FD_UNIX, "unix" },
		{ LS_FD_FILE, FD_FILE, "file" },
		{ LS_FD_PIPE, FD_PIPE, "pipe" },
		{ LS_FD_OTHER, FD_OTHER, "other" },
		{ LS_FD_UNKNOWN, -1, "" },
		{ -2, -1, "" },
		{ LS_FD_OTHER + 1, -1, "" },
		{ 1000, -1, "" },
		{ INT32_MIN, -1, "" },
		{ INT32_MAX, -1, "" },
	};
	return cr_make_param_array(struct kind_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct kind_case *c, fdkind, of_sample)
{
	int k = fdkind__of_sample(c->bpf);

	cr_assert_eq(k, c->want, "fdkind__of_sample(%d) = %d, want %d", c->bpf, k, c->want);
	if (k >= 0) {
		cr_assert_str_eq(fd_kind_name(k), c->name);
		cr_assert_eq(fd_kind_parse(c->name), c->bpf);
	}
}

/* The syscalls whose first argument is the fd they work on: what
 * ls_fd_in_arg0() must say yes to, by name, and to nothing else. */
static const char *const on_fd[] = {
	"read", "write", "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev",
	"preadv2", "pwritev2", "recvfrom", "sendto", "recvmsg", "sendmsg", "recvmmsg",
	"sendmmsg", "connect", "accept", "accept4", "fsync", "fdatasync", "fstat",
	"ftruncate", "getdents64", "sendfile", "flock", "lseek", "ioctl", "fcntl", "splice",
};

static bool named_on_fd(const char *name)
{
	for (size_t i = 0; name && i < sizeof(on_fd) / sizeof(on_fd[0]); i++)
		if (!strcmp(name, on_fd[i]))
			return true;
	return false;
}

Test(fdkind, fd_in_arg0_by_name)
{
	for (size_t i = 0; i < sizeof(on_fd) / sizeof(on_fd[0]); i++) {
		int nr = syscall__nr(on_fd[i]);

		cr_assert_geq(nr, 0, "%s is not in this machine's syscall table", on_fd[i]);
		cr_expect(ls_fd_in_arg0(nr), "ls_fd_in_arg0(%d) is 0 for %s", nr, on_fd[i]);
	}
}

Test(fdkind, fd_in_arg0_nothing_else)
{
	int yes = 0;

	for (int nr = -3; nr < 1024; nr++) {
		const char *name = syscall__name(nr);

		if (ls_fd_in_arg0(nr))
			yes++;
		cr_expect_eq(!!ls_fd_in_arg0(nr), named_on_fd(name),
			     "ls_fd_in_arg0(%d) (%s) = %d", nr, name ? name : "?",
			     ls_fd_in_arg0(nr));
	}
	cr_expect_eq(yes, (int)(sizeof(on_fd) / sizeof(on_fd[0])));
	/* the loop waits, openat, futex: no fd of their own in args[0] */
	cr_expect_not(ls_fd_in_arg0(syscall__nr("poll")));
	cr_expect_not(ls_fd_in_arg0(syscall__nr("epoll_wait")));
	cr_expect_not(ls_fd_in_arg0(syscall__nr("openat")));
	cr_expect_not(ls_fd_in_arg0(syscall__nr("futex")));
	cr_expect_not(ls_fd_in_arg0(LS_WAIT_RUNQ));
}

Test(fdkind, poll_numbers)
{
	cr_expect_eq(LS_NR_POLL, syscall__nr("poll"));
	cr_expect_eq(LS_NR_PPOLL, syscall__nr("ppoll"));
}
