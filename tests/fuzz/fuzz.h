/* SPDX-License-Identifier: MIT */
/* Helpers of the libFuzzer targets (tests/fuzz/README.md): the input as a
 * file for parsers that take a path, and a sink for printers. */
#ifndef LS_FUZZ_H
#define LS_FUZZ_H
#define _GNU_SOURCE		/* memfd_create(): include this header first */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a file: one memfd per process, emptied and rewritten for
 * each input; its path (/proc/self/fd/N) opens it anew from byte 0. */
static inline const char *fuzz_file(const uint8_t *data, size_t size)
{
	static char path[64];
	static int fd = -1;

	if (fd < 0) {
		fd = memfd_create("fuzz-input", MFD_CLOEXEC);
		if (fd < 0) {
			perror("memfd_create");
			abort();
		}
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) {
		perror("memfd write");
		abort();
	}
	return path;
}

/* A stream the printers write to and nobody reads. */
static inline FILE *fuzz_null(void)
{
	static FILE *f;

	if (!f && !(f = fopen("/dev/null", "w"))) {
		perror("/dev/null");
		abort();
	}
	return f;
}

/* The input NUL-terminated, in a buffer of its own (ASan sees reads past
 * the end). free() it. */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	for (size_t i = 0; i < size; i++)
		s[i] = (char)data[i];
	s[size] = 0;
	return s;
}

#endif
