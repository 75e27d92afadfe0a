/* SPDX-License-Identifier: MIT */
/* What the kernel and our privileges allow. */
#ifndef LS_ENV_H
#define LS_ENV_H
#include <stdbool.h>
#include <stddef.h>

/* True when the effective set has everything attach needs; else lists the
 * missing capabilities ("CAP_BPF, CAP_PERFMON") in missing. */
bool env__have_caps(char *missing, size_t len);
/* The kernel BTF to use: override, or /sys/kernel/btf/vmlinux. NULL and a
 * reason when absent. */
const char *env__btf(const char *override, char *why, size_t len);
/* Make sure tracefs is mounted (mounting it at /sys/kernel/tracing if
 * needed): libbpf finds tracepoint IDs there. False and a reason if not. */
bool env__tracefs(char *why, size_t len);
/* True when tracefs or debugfs shows the tracepoint group/name. */
bool env__tracepoint(const char *group, const char *name);
/* loopstall's PID namespace for the BPF side (its numbers are those of our
 * /proc): the inode of /proc/self/ns/pid, 0 for the initial namespace
 * (PROC_PID_INIT_INO), whose numbers the kernel uses itself; 0 when
 * unknown. */
unsigned int env__pidns_ino(void);

#endif
