/* SPDX-License-Identifier: MIT */
/* What the fd of a sample's syscall is: tcp, udp, unix, file, pipe, other.
 * The BPF program names it when it takes the sample (fd_kind() in
 * bpf/loopstall.bpf.c): by the time user space reads the sample the
 * program may have closed the fd, or opened another one under its number. */
#ifndef LS_FDKIND_H
#define LS_FDKIND_H
#include <stdint.h>
#include "events.h"
#include "rule.h"

/* The ABI's kinds are enum fd_kind's values. */
_Static_assert(LS_FD_TCP == (int)FD_TCP && LS_FD_UDP == (int)FD_UDP &&
	       LS_FD_UNIX == (int)FD_UNIX && LS_FD_FILE == (int)FD_FILE &&
	       LS_FD_PIPE == (int)FD_PIPE && LS_FD_OTHER == (int)FD_OTHER &&
	       LS_FD_OTHER + 1 == (int)FD__N && LS_FD_UNKNOWN < 0,
	       "enum ls_fd_kind (bpf/loopstall.h) and enum fd_kind (rules/rule.h) differ");

/* enum fd_kind of ls_sample.fd_kind, -1 when unknown. */
static inline int fdkind__of_sample(int32_t bpf_kind)
{
	return bpf_kind >= 0 && bpf_kind < FD__N ? bpf_kind : -1;
}

#endif
