// SPDX-License-Identifier: MIT
/* Output files opened safely (outfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>
#include "outfile.h"

int outfile__open(const char *path, bool force, bool *created)
{
	const int flags = O_WRONLY | O_NOFOLLOW | O_CLOEXEC;
	struct stat st;
	int fd, err;

	*created = true;
	fd = open(path, flags | O_CREAT | O_EXCL, 0600);
	if (fd < 0 && errno == EEXIST) {
		*created = false;
		fd = open(path, flags | O_NONBLOCK);	/* a FIFO: no wait */
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		goto fail;
	errno = EPERM;
	if (S_ISREG(st.st_mode) && st.st_uid != geteuid() && !force)
		goto fail;
	errno = 0;
	if (S_ISREG(st.st_mode) && ftruncate(fd, 0) < 0)
		goto fail;
	/* written as usual: blocking */
	if (!*created && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		goto fail;
	return fd;
fail:
	err = errno ? -errno : -EIO;
	close(fd);
	return err;
}
