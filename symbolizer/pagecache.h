/* SPDX-License-Identifier: MIT */
/* The target's memory, read once per snapshot: many small objects (a
 * thousand tasks, their coroutines) are read as the blocks that hold them
 * (a page when it is asked for in many pieces), adjacent blocks in one
 * region, all regions missing in one process_vm_readv, instead of one
 * call each. Addresses no process maps (NULL, non-canonical) fail without
 * a call, and an unmapped page is asked for once a snapshot. */
#ifndef LS_PAGECACHE_H
#define LS_PAGECACHE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAGECACHE_PAGE	4096

struct pagecache;

/* A cache of process pid read in blocks of block bytes (a power of two,
 * PAGECACHE_PAGE / 32 to PAGECACHE_PAGE), at most max_pages pages. NULL:
 * ENOMEM or a bad size. */
struct pagecache *pagecache__new(int pid, unsigned int block, unsigned int max_pages);
void pagecache__free(struct pagecache *c);
/* A new snapshot: every block is read again when asked. */
void pagecache__clear(struct pagecache *c);
/* The blocks of the regions [addr[i], addr[i] + len) not cached yet read,
 * nothing copied: the reads that follow find them. */
void pagecache__fetch(struct pagecache *c, const uint64_t *addr, size_t len, int n);
/* The regions [addr[i], addr[i] + len) (addr[i] 0: none) into bufs +
 * i * len: the blocks not cached yet read first, in one call for all of
 * them; ok[i] says which regions were read whole (a page unmapped, or no
 * room left in the cache: not). Returns how many were. */
int pagecache__readv(struct pagecache *c, const uint64_t *addr, void *bufs, size_t len,
		     int n, bool *ok);

#endif
