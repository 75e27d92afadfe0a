// SPDX-License-Identifier: MIT
/* What the kernel and our privileges allow: capabilities, BTF, tracefs. */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "env.h"

#define PROC_PID_INIT_INO 0xEFFFFFFCU	/* the initial PID namespace */

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

bool env__have_caps(char *missing, size_t len)
{
	static const struct { int cap; const char *name; } need[] = {
		{ CAP_BPF, "CAP_BPF" },
		{ CAP_PERFMON, "CAP_PERFMON" },
		{ CAP_SYS_PTRACE, "CAP_SYS_PTRACE" },
	};
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {};
	bool admin;

	missing[0] = 0;
	if (syscall(SYS_capget, &hdr, data)) {
		snprintf(missing, len, "capget: %s", strerror(errno));
		return false;
	}
#define HAS(c) (data[(c) / 32].effective & (1u << ((c) % 32)))
	admin = HAS(CAP_SYS_ADMIN);
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		/* CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON */
		if (HAS(need[i].cap) || (admin && need[i].cap != CAP_SYS_PTRACE))
			continue;
		if (missing[0])
			strncat(missing, ", ", len - strlen(missing) - 1);
		strncat(missing, need[i].name, len - strlen(missing) - 1);
	}
#undef HAS
	return !missing[0];
}

const char *env__btf(const char *override, char *why, size_t len)
{
	const char *path = override ? override : "/sys/kernel/btf/vmlinux";

	if (access(path, R_OK) == 0)
		return path;
	if (override)
		snprintf(why, len, "BTF file %s: %s; give a readable BTF file to --btf",
			 path, strerror(errno));
	else
		snprintf(why, len, "kernel BTF (%s) is missing; use a kernel built with "
			 "CONFIG_DEBUG_INFO_BTF=y, or give a BTF file with --btf", path);
	return NULL;
}

bool env__tracepoint(const char *group, const char *name)
{
	static const char *const roots[] = {
		"/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events",
	};
	char path[256];

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", roots[i], group, name);
		if (access(path, F_OK) == 0)
			return true;
	}
	return false;
}

bool env__tracefs(char *why, size_t len)
{
	if (env__tracepoint("syscalls", "sys_enter_epoll_wait"))
		return true;
	if (access("/sys/kernel/tracing", F_OK) == 0 &&
	    mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) && errno != EBUSY) {
		snprintf(why, len, "tracefs is not mounted and mounting it failed (%s); "
			 "mount -t tracefs nodev /sys/kernel/tracing", strerror(errno));
		return false;
	}
	if (env__tracepoint("syscalls", "sys_enter_epoll_wait"))
		return true;
	snprintf(why, len, "the syscall tracepoints (syscalls:sys_enter_epoll_wait) are "
		 "missing; use a kernel built with CONFIG_FTRACE_SYSCALLS=y");
	return false;
}

unsigned int env__pidns_ino(void)
{
	struct stat st;

	if (stat("/proc/self/ns/pid", &st) || st.st_ino == PROC_PID_INIT_INO)
		return 0;
	return (unsigned int)st.st_ino;
}
