/* SPDX-License-Identifier: MIT */
/* The target's pages, read once per snapshot: many small objects (a
 * thousand tasks, their coroutines) are read as the few pages that hold
 * them, adjacent pages in one piece, instead of one region each — a
 * process_vm_readv costs per region about what it costs to copy a page. */
#ifndef LS_PAGECACHE_H
#define LS_PAGECACHE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAGECACHE_PAGE	4096

struct pagecache;

/* A cache of at most max_pages pages of process pid. NULL: ENOMEM. */
struct pagecache *pagecache__new(int pid, unsigned int max_pages);
void pagecache__free(struct pagecache *c);
/* A new snapshot: every page is read again when asked. */
void pagecache__clear(struct pagecache *c);
/* The regions [addr[i], addr[i] + len) (addr[i] 0: none) into bufs +
 * i * len: the pages not cached yet read first, in one call for all of
 * them; ok[i] says which regions were read whole (a page unmapped, or no
 * room left in the cache: not). Returns how many were. */
int pagecache__readv(struct pagecache *c, const uint64_t *addr, void *bufs, size_t len,
		     int n, bool *ok);

#endif
