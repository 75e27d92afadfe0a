// SPDX-License-Identifier: MIT
/* Unit tests: symbolizer/pagecache.c, reading this process's own memory
 * with process_vm_readv (blocks, runs, unmapped pages, impossible
 * addresses, capacity, a snapshot's staleness). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "pagecache.h"

#define PAGE 4096

/* Three pages, the middle one unmapped, filled with a known pattern. */
static uint8_t *three_pages_hole(void)
{
	uint8_t *m = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(m, MAP_FAILED);
	for (int i = 0; i < 3 * PAGE; i++)
		m[i] = (uint8_t)(i * 7 + 3);
	cr_assert_eq(munmap(m + PAGE, PAGE), 0);
	return m;
}

Test(pagecache, reads_regions_across_blocks)
{
	static uint8_t data[8192] __attribute__((aligned(4096)));
	struct pagecache *c = pagecache__new(getpid(), 128, 256);
	uint64_t addr[3];
	uint8_t out[3][300];
	bool ok[3];

	cr_assert_not_null(c);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i ^ (i >> 8));
	addr[0] = (uintptr_t)data + 5;		/* inside a block and past it */
	addr[1] = (uintptr_t)data + 4000;	/* across the page */
	addr[2] = (uintptr_t)data + 7000;
	cr_assert_eq(pagecache__readv(c, addr, out, 300, 3, ok), 3);
	for (int i = 0; i < 3; i++) {
		cr_assert(ok[i]);
		cr_assert_arr_eq(out[i], (uint8_t *)(uintptr_t)addr[i], 300);
	}
	pagecache__free(c);
}

Test(pagecache, unmapped_page_fails_alone)
{
	uint8_t *m = three_pages_hole();
	struct pagecache *c = pagecache__new(getpid(), 256, 1024);
	/* a run over the hole, the hole, and the pages around it */
	uint64_t addr[4] = { (uintptr_t)m + 100, (uintptr_t)m + PAGE + 8,
			     (uintptr_t)m + 2 * PAGE + 64, (uintptr_t)m + PAGE - 50 };
	uint8_t out[4][100];
	bool ok[4];

	cr_assert_not_null(c);
	cr_assert_eq(pagecache__readv(c, addr, out, 100, 4, ok), 2);
	cr_assert(ok[0] && !ok[1] && ok[2] && !ok[3]);
	cr_assert_arr_eq(out[0], m + 100, 100);
	cr_assert_arr_eq(out[2], m + 2 * PAGE + 64, 100);
	/* held as unreadable: asked again, still not */
	cr_assert_eq(pagecache__readv(c, addr + 1, out[1], 100, 1, ok), 0);
	pagecache__free(c);
	munmap(m, PAGE);
	munmap(m + 2 * PAGE, PAGE);
}

Test(pagecache, impossible_addresses_fail)
{
	static uint64_t word = 42;
	struct pagecache *c = pagecache__new(getpid(), 4096, 16);
	uint64_t addr[4] = { 0, 8, 0xb406e8ee894cc000ULL, (uintptr_t)&word };
	uint64_t out[4];
	bool ok[4];

	cr_assert_not_null(c);
	cr_assert_eq(pagecache__readv(c, addr, out, 8, 4, ok), 1);
	cr_assert(!ok[0] && !ok[1] && !ok[2] && ok[3]);
	cr_assert_eq(out[3], 42);
	pagecache__free(c);
}

Test(pagecache, full_cache_reads_no_more)
{
	static uint8_t data[16 * PAGE] __attribute__((aligned(4096)));
	struct pagecache *c = pagecache__new(getpid(), 1024, 4);	/* 4 pages */
	uint64_t addr[8];
	uint8_t out[8][16];
	bool ok[8];
	int n;

	cr_assert_not_null(c);
	for (int i = 0; i < 8; i++)
		addr[i] = (uintptr_t)data + (uint64_t)i * 2 * PAGE;
	n = pagecache__readv(c, addr, out, 16, 8, ok);
	cr_assert_eq(n, 4, "%d read, 4 pages held", n);
	pagecache__free(c);
}

Test(pagecache, snapshot_until_cleared)
{
	static volatile uint64_t word = 1;
	struct pagecache *c = pagecache__new(getpid(), 128, 16);
	uint64_t addr = (uintptr_t)&word, v = 0;
	bool ok;

	cr_assert_not_null(c);
	cr_assert_eq(pagecache__readv(c, &addr, &v, 8, 1, &ok), 1);
	cr_assert_eq(v, 1);
	word = 2;
	pagecache__readv(c, &addr, &v, 8, 1, &ok);
	cr_assert_eq(v, 1, "the snapshot's value until cleared");
	pagecache__clear(c);
	pagecache__readv(c, &addr, &v, 8, 1, &ok);
	cr_assert_eq(v, 2);
	pagecache__free(c);
}

Test(pagecache, bad_block_sizes)
{
	cr_assert_null(pagecache__new(getpid(), 100, 16));
	cr_assert_null(pagecache__new(getpid(), 64, 16));
	cr_assert_null(pagecache__new(getpid(), 8192, 16));
	cr_assert_null(pagecache__new(getpid(), 128, 0));
}

Test(pagecache, many_unsorted_regions)
{
	static uint8_t data[1 << 20];
	struct pagecache *c = pagecache__new(getpid(), 128, 8192);
	static uint64_t addr[2000];
	static uint8_t out[2000][24];
	static bool ok[2000];
	uint64_t x = 88172645463325252ULL;

	cr_assert_not_null(c);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 31 + (i >> 11));
	for (int i = 0; i < 2000; i++) {	/* xorshift: scattered, unsorted */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		addr[i] = (uintptr_t)data + x % (sizeof(data) - 24);
	}
	cr_assert_eq(pagecache__readv(c, addr, out, 24, 2000, ok), 2000);
	for (int i = 0; i < 2000; i++)
		cr_assert_arr_eq(out[i], (uint8_t *)(uintptr_t)addr[i], 24, "region %d", i);
	pagecache__free(c);
}

/* A page asked for in four pieces is read whole; in two, only those. */
Test(pagecache, dense_page_read_whole)
{
	static volatile uint64_t page[2][512] __attribute__((aligned(4096)));
	struct pagecache *c = pagecache__new(getpid(), 128, 256);
	uint64_t dense[4], sparse[2], v[4], a;
	bool ok[4];

	cr_assert_not_null(c);
	for (int i = 0; i < 4; i++)
		dense[i] = (uintptr_t)&page[0][128 * i];
	for (int i = 0; i < 2; i++)
		sparse[i] = (uintptr_t)&page[1][256 * i];
	page[0][64] = page[1][64] = 1;
	cr_assert_eq(pagecache__readv(c, dense, v, 8, 4, ok), 4);
	cr_assert_eq(pagecache__readv(c, sparse, v, 8, 2, ok), 2);
	page[0][64] = page[1][64] = 2;
	a = (uintptr_t)&page[0][64];
	pagecache__readv(c, &a, v, 8, 1, ok);
	cr_assert_eq(v[0], 1, "the dense page was read whole");
	a = (uintptr_t)&page[1][64];
	pagecache__readv(c, &a, v, 8, 1, ok);
	cr_assert_eq(v[0], 2, "the sparse page was read in blocks");
	pagecache__free(c);
}
