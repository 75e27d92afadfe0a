/* SPDX-License-Identifier: MIT */
/* An output file loopstall writes, often as root into a shared directory
 * (a recording, a report): made 0600; never opened through a symbolic link
 * (O_NOFOLLOW: one planted in /tmp by another user would point a root
 * write anywhere); a file of another user not truncated unless forced;
 * a FIFO or character device (/dev/null, a pipe) written as it is. */
#ifndef LS_OUTFILE_H
#define LS_OUTFILE_H
#include <stdbool.h>

/* path opened for writing, emptied when it is a regular file: an fd, or
 * -errno (-ELOOP a symbolic link, -EPERM another user's file and not
 * force, -EISDIR a directory). *created: it did not exist (only such a
 * file may be removed again on failure). */
int outfile__open(const char *path, bool force, bool *created);

#endif
