/* What a file descriptor of the target is: tcp, udp, unix, file, pipe. */
#ifndef LS_FDKIND_H
#define LS_FDKIND_H
#include <stdint.h>

/* enum fd_kind (rules/rule.h) of fd in pid, -1 when unknown (closed). */
int fdkind__of(int pid, int fd);
/* The fd a syscall works on, from its arguments: args[0] for read,
 * recvfrom, connect, fsync …; for poll/ppoll on one fd, that pollfd's fd
 * (read from the target through read_fd_at). -1 when none. */
int fdkind__fd_of(int nr, const uint64_t *args, int (*read)(void *ctx, uint64_t addr,
		  void *buf, unsigned long len), void *ctx);

#endif
