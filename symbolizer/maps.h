/* SPDX-License-Identifier: MIT */
/* A process's memory map (/proc/PID/maps): address -> file + offset. */
#ifndef LS_MAPS_H
#define LS_MAPS_H
#include <stdint.h>

struct map_entry {
	uint64_t start, end, pgoff;
	uint64_t ino;		/* of the file mapped; 0 for anonymous mappings */
	unsigned int dev_major, dev_minor;	/* its device */
	char perms[5];
	char *path;		/* "" for anonymous mappings */
};

struct maps {
	struct map_entry *v;
	unsigned int n;
};

/* Parse the text of a maps file; 0 or -errno. */
int maps__parse(struct maps *m, const char *text);
/* Read /proc/pid/maps; 0 or -errno. */
int maps__load(struct maps *m, int pid);
/* The entry holding addr, or NULL. */
const struct map_entry *maps__find(const struct maps *m, uint64_t addr);
void maps__free(struct maps *m);

#endif
