// SPDX-License-Identifier: MIT
/* The target's memory, read once per snapshot (pagecache.h), in blocks: a
 * hash of the pages held (tagged with the snapshot, so a new one starts
 * empty without clearing it), each with a page of room and masks of the
 * blocks asked for and read; each request's missing blocks sorted (radix),
 * a page asked for in many pieces completed, runs of adjacent blocks of a
 * page read as one region. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include "pagecache.h"

#define RUNS_MAX	1024	/* regions a call (IOV_MAX) */
#define DENSE_RUNS	4	/* pieces of a page that make it read whole */

/* The lowest and past the highest address a process maps (mmap_min_addr's
 * floor; 57-bit user addresses): others fail without a call. */
#define USER_MIN	4096ULL
#define USER_END	(1ULL << 56)

struct page_ref {
	uint64_t addr;
	uint32_t slot;		/* page slot in data */
	uint32_t tag;		/* this snapshot's: held */
	uint32_t asked, ok;	/* blocks, a bit each */
};

struct pagecache {
	int pid;
	unsigned int block, per;	/* bytes, a power of two; blocks a page */
	unsigned int max, n;		/* pages: room, held */
	uint32_t snap;			/* this snapshot's tag (from 1) */
	struct page_ref *h;		/* the pages held, hashed */
	unsigned int hmask;
	struct page_ref *last;		/* the page found last */
	uint8_t *data;			/* max pages */
	uint64_t *want, *tmp;		/* scratch: blocks asked, sorting */
	unsigned int wmax;		/* their room: max pages' blocks */
};

struct pagecache *pagecache__new(int pid, unsigned int block, unsigned int max_pages)
{
	struct pagecache *c;
	unsigned int hn = 64;

	if (block < PAGECACHE_PAGE / 32 || block > PAGECACHE_PAGE || (block & (block - 1)) ||
	    !max_pages || max_pages > (1u << 20))
		return NULL;
	if (!(c = calloc(1, sizeof(*c))))
		return NULL;
	while (hn < 2 * max_pages)
		hn *= 2;
	c->pid = pid;
	c->block = block;
	c->per = PAGECACHE_PAGE / block;
	c->max = max_pages;
	c->wmax = max_pages * c->per;
	c->snap = 1;
	c->hmask = hn - 1;
	c->h = calloc(hn, sizeof(*c->h));
	c->want = calloc(c->wmax, sizeof(*c->want));
	c->tmp = calloc(c->wmax, sizeof(*c->tmp));
	c->data = malloc((size_t)max_pages * PAGECACHE_PAGE);
	if (!c->h || !c->want || !c->tmp || !c->data) {
		pagecache__free(c);
		return NULL;
	}
	return c;
}

void pagecache__free(struct pagecache *c)
{
	if (!c)
		return;
	free(c->h);
	free(c->want);
	free(c->tmp);
	free(c->data);
	free(c);
}

void pagecache__clear(struct pagecache *c)
{
	c->n = 0;
	c->last = NULL;
	if (++c->snap == UINT32_MAX) {		/* tags wrapped: a clean table */
		memset(c->h, 0, (size_t)(c->hmask + 1) * sizeof(*c->h));
		c->snap = 1;
	}
}

/* The entry of page pg, or where it goes (its tag not this snapshot's). */
static struct page_ref *slot_of(struct pagecache *c, uint64_t pg)
{
	unsigned int i;

	if (c->last && c->last->addr == pg)
		return c->last;
	i = (unsigned int)(((pg >> 12) * 0x9e3779b97f4a7c15ULL) >> 32) & c->hmask;
	while (c->h[i].tag == c->snap && c->h[i].addr != pg)
		i = (i + 1) & c->hmask;
	return &c->h[i];
}

/* Page pg's entry, held from now (NULL: no room left). */
static struct page_ref *page_of(struct pagecache *c, uint64_t pg)
{
	struct page_ref *r = slot_of(c, pg);

	if (r->tag != c->snap) {
		if (c->n == c->max)
			return NULL;
		*r = (struct page_ref){ pg, c->n++, c->snap, 0, 0 };
	}
	return c->last = r;
}

static unsigned int bit_of(const struct pagecache *c, uint64_t b)
{
	return (unsigned int)(b & (PAGECACHE_PAGE - 1)) / c->block;
}

/* Block b asked for: true when new (then held from now, not read yet). */
static bool ask(struct pagecache *c, uint64_t b)
{
	struct page_ref *r = page_of(c, b & ~(uint64_t)(PAGECACHE_PAGE - 1));
	uint32_t m = 1u << bit_of(c, b);

	if (!r || (r->asked & m))
		return false;
	r->asked |= m;
	return true;
}

/* v[0..k) sorted (LSD radix, a byte at a time, bytes all keys share
 * skipped; insertion sort when short). */
static void sort_u64(uint64_t *v, uint64_t *tmp, unsigned int k)
{
	uint64_t and = ~0ULL, or = 0, *out = v;

	if (k <= 32) {
		for (unsigned int i = 1; i < k; i++) {
			uint64_t x = v[i];
			unsigned int j = i;

			for (; j && v[j - 1] > x; j--)
				v[j] = v[j - 1];
			v[j] = x;
		}
		return;
	}
	for (unsigned int i = 0; i < k; i++) {
		and &= v[i];
		or |= v[i];
	}
	for (unsigned int sh = 0; sh < 64; sh += 8) {
		unsigned int count[257] = {};
		uint64_t *t;

		if (!(((and ^ or) >> sh) & 0xff))
			continue;		/* this byte is every key's */
		for (unsigned int i = 0; i < k; i++)
			count[((v[i] >> sh) & 0xff) + 1]++;
		for (int d = 0; d < 256; d++)
			count[d + 1] += count[d];
		for (unsigned int i = 0; i < k; i++)
			tmp[count[(v[i] >> sh) & 0xff]++] = v[i];
		t = v;
		v = tmp;
		tmp = t;
	}
	if (v != out)
		memcpy(out, v, (size_t)k * sizeof(*v));
}

/* Blocks want[0..k) (sorted, new): a page asked for in DENSE_RUNS pieces
 * or more is asked for whole (its blocks not held yet), as one region
 * costs the kernel about what copying a page does; sparse objects are
 * read as their blocks, whose cache lines the target's own CPU then keeps
 * (each line read is one it must fetch back before it writes there). The
 * new count; want sorted again. */
static unsigned int dense_pages(struct pagecache *c, unsigned int k)
{
	const uint64_t pmask = ~(uint64_t)(PAGECACHE_PAGE - 1);
	unsigned int end = k;

	if (c->per == 1)
		return k;
	for (unsigned int i = 0, j; i < end; i = j) {
		uint64_t pg = c->want[i] & pmask;
		unsigned int runs = 0;

		for (j = i; j < end && (c->want[j] & pmask) == pg; j++)
			runs += j == i || c->want[j] != c->want[j - 1] + c->block;
		if (runs < DENSE_RUNS)
			continue;
		for (uint64_t b = pg; b < pg + PAGECACHE_PAGE && k < c->wmax; b += c->block)
			if (ask(c, b))
				c->want[k++] = b;
	}
	if (k != end)
		sort_u64(c->want, c->tmp, k);
	return k;
}

/* Where block b goes in data. */
static uint8_t *dest(struct pagecache *c, uint64_t b)
{
	const struct page_ref *r = slot_of(c, b & ~(uint64_t)(PAGECACHE_PAGE - 1));

	return c->data + (size_t)r->slot * PAGECACHE_PAGE + (b & (PAGECACHE_PAGE - 1));
}

/* Block want[j] read. */
static void mark(struct pagecache *c, unsigned int j)
{
	struct page_ref *r = slot_of(c, c->want[j] & ~(uint64_t)(PAGECACHE_PAGE - 1));

	r->ok |= 1u << bit_of(c, c->want[j]);
}

/* Blocks want[s..e) one at a time (a region with an unmapped page). */
static void fetch_each(struct pagecache *c, unsigned int s, unsigned int e)
{
	for (unsigned int j = s; j < e; j++) {
		struct iovec l = { dest(c, c->want[j]), c->block };
		struct iovec r = { (void *)(uintptr_t)c->want[j], c->block };

		if (process_vm_readv(c->pid, &l, 1, &r, 1, 0) == (ssize_t)c->block)
			mark(c, j);
	}
}

/* Blocks want[0..k) (sorted, new) read: runs of adjacent blocks of a
 * page as one region, up to RUNS_MAX regions a call. A call stops at the
 * first page it cannot read: the regions before it are read; a region of
 * one block that failed is unmapped, a longer one is read block by block
 * (a call may stop at a region's start whichever of its pages failed);
 * then on with the next region. */
static void fetch(struct pagecache *c, unsigned int k)
{
	const uint64_t pmask = ~(uint64_t)(PAGECACHE_PAGE - 1);
	struct iovec local[RUNS_MAX], remote[RUNS_MAX];
	unsigned int start[RUNS_MAX + 1], i = 0;

	while (i < k) {
		unsigned int runs = 0;
		ssize_t got;

		for (; i < k && runs < RUNS_MAX; runs++) {
			start[runs] = i;
			while (i + 1 < k && c->want[i + 1] == c->want[i] + c->block &&
			       (c->want[i + 1] & pmask) == (c->want[i] & pmask))
				i++;
			i++;
			local[runs] = (struct iovec){ dest(c, c->want[start[runs]]),
						      (size_t)(i - start[runs]) * c->block };
			remote[runs] = (struct iovec){ (void *)(uintptr_t)c->want[start[runs]],
						       local[runs].iov_len };
		}
		start[runs] = i;
		got = process_vm_readv(c->pid, local, runs, remote, runs, 0);
		for (unsigned int r = 0; r < runs; r++) {
			unsigned int s = start[r], e = start[r + 1];

			if (got >= (ssize_t)local[r].iov_len) {
				got -= local[r].iov_len;
				for (unsigned int j = s; j < e; j++)
					mark(c, j);
				continue;
			}
			if (e - s > 1)		/* which block failed: one by one */
				fetch_each(c, s, e);
			i = e;			/* the call stopped in region r */
			break;
		}
	}
}

/* The blocks of the regions not held yet, fetched. */
static void fill(struct pagecache *c, const uint64_t *addr, size_t len, int n)
{
	unsigned int k = 0;
	bool sorted = true;

	for (int i = 0; i < n; i++) {
		if (addr[i] < USER_MIN || addr[i] >= USER_END - len)
			continue;
		for (uint64_t b = addr[i] & ~(uint64_t)(c->block - 1);
		     b < addr[i] + len && k < c->wmax; b += c->block)
			if (ask(c, b)) {
				sorted = sorted && (!k || c->want[k - 1] < b);
				c->want[k++] = b;
			}
	}
	if (!k)
		return;
	if (!sorted)
		sort_u64(c->want, c->tmp, k);
	k = dense_pages(c, k);
	fetch(c, k);
}

static bool copy_out(struct pagecache *c, uint64_t addr, uint8_t *out, size_t len)
{
	while (len) {
		uint64_t b = addr & ~(uint64_t)(c->block - 1);
		size_t off = addr - b, m = c->block - off;
		const struct page_ref *r = slot_of(c, b & ~(uint64_t)(PAGECACHE_PAGE - 1));

		if (r->tag != c->snap || !(r->ok & (1u << bit_of(c, b))))
			return false;
		m = m < len ? m : len;
		memcpy(out, c->data + (size_t)r->slot * PAGECACHE_PAGE +
		       (b & (PAGECACHE_PAGE - 1)) + off, m);	/* r found: no second lookup */
		out += m;
		addr += m;
		len -= m;
	}
	return true;
}

void pagecache__fetch(struct pagecache *c, const uint64_t *addr, size_t len, int n)
{
	fill(c, addr, len, n);
}

int pagecache__readv(struct pagecache *c, const uint64_t *addr, void *bufs, size_t len,
		     int n, bool *ok)
{
	int done = 0;

	fill(c, addr, len, n);
	for (int i = 0; i < n; i++) {
		ok[i] = addr[i] && copy_out(c, addr[i], (uint8_t *)bufs + (size_t)i * len, len);
		done += ok[i];
	}
	return done;
}
