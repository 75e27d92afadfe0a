#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fdkind.h"
#include "rule.h"
#include "syscalls.h"

/* Is socket inode ino listed in /proc/pid/net/<table>? */
static int in_table(int pid, const char *table, unsigned long ino)
{
	char path[64], line[512];
	int found = 0, col = table[0] == 'u' && table[1] == 'n' ? 6 : 9;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/net/%s", pid, table);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(line, sizeof(line), f)) {	/* header */
		fclose(f);
		return 0;
	}
	while (!found && fgets(line, sizeof(line), f)) {
		char *tok, *save = NULL;
		int i = 0;

		for (tok = strtok_r(line, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save))
			if (i++ == col) {
				found = strtoul(tok, NULL, 10) == ino;
				break;
			}
	}
	fclose(f);
	return found;
}

int fdkind__of(int pid, int fd)
{
	char path[64], link[256];
	unsigned long ino;
	ssize_t n;

	if (fd < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return -1;
	link[n] = 0;
	if (link[0] == '/')
		return FD_FILE;
	if (!strncmp(link, "pipe:", 5))
		return FD_PIPE;
	if (sscanf(link, "socket:[%lu]", &ino) != 1)
		return FD_OTHER;
	if (in_table(pid, "tcp", ino) || in_table(pid, "tcp6", ino))
		return FD_TCP;
	if (in_table(pid, "udp", ino) || in_table(pid, "udp6", ino))
		return FD_UDP;
	if (in_table(pid, "unix", ino))
		return FD_UNIX;
	return FD_OTHER;
}

int fdkind__fd_of(int nr, const uint64_t *args, int (*read)(void *ctx, uint64_t addr,
		  void *buf, unsigned long len), void *ctx)
{
	static const char *const on_fd[] = {
		"read", "write", "pread64", "pwrite64", "readv", "writev", "recvfrom",
		"sendto", "recvmsg", "sendmsg", "connect", "accept", "accept4", "fsync",
		"fdatasync", "fstat", "ftruncate", "getdents64", "sendfile", "flock",
		"lseek", "ioctl", "fcntl", "splice",
	};
	const char *name = syscall__name(nr);
	int32_t fd;

	if (!name)
		return -1;
	if ((!strcmp(name, "poll") || !strcmp(name, "ppoll")) && args[1] == 1 && read) {
		/* struct pollfd { int fd; short events, revents; } */
		if (read(ctx, args[0], &fd, sizeof(fd)))
			return -1;
		return fd;
	}
	for (size_t i = 0; i < sizeof(on_fd) / sizeof(on_fd[0]); i++)
		if (!strcmp(name, on_fd[i]))
			return (int)args[0];
	return -1;
}
