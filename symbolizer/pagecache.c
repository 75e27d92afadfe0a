// SPDX-License-Identifier: MIT
/* The target's pages, read once per snapshot (pagecache.h): an index of
 * the pages held, sorted by address; each request's missing pages are
 * sorted, runs of adjacent pages read as one region. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include "pagecache.h"

#define RUNS_MAX	1024	/* regions a call (IOV_MAX) */

struct page_ref {
	uint64_t addr;
	uint32_t slot;		/* in data */
	bool ok;		/* read */
};

struct pagecache {
	int pid;
	unsigned int max;
	struct page_ref *idx, *tmp;	/* held, sorted by addr; scratch */
	unsigned int n;
	uint8_t *data;			/* max pages */
	uint64_t *want;			/* scratch: pages asked */
	unsigned int last;		/* the index entry found last */
};

struct pagecache *pagecache__new(int pid, unsigned int max_pages)
{
	struct pagecache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->pid = pid;
	c->max = max_pages;
	c->idx = calloc(max_pages, sizeof(*c->idx));
	c->tmp = calloc(max_pages, sizeof(*c->tmp));
	c->want = calloc(max_pages, sizeof(*c->want));
	c->data = malloc((size_t)max_pages * PAGECACHE_PAGE);
	if (!c->idx || !c->tmp || !c->want || !c->data) {
		pagecache__free(c);
		return NULL;
	}
	return c;
}

void pagecache__free(struct pagecache *c)
{
	if (!c)
		return;
	free(c->idx);
	free(c->tmp);
	free(c->want);
	free(c->data);
	free(c);
}

void pagecache__clear(struct pagecache *c)
{
	c->n = 0;
}

static const struct page_ref *find(struct pagecache *c, uint64_t page)
{
	unsigned int lo = 0, hi = c->n;

	/* regions come in address order, mostly: the last page, or the next */
	if (c->last < c->n && c->idx[c->last].addr == page)
		return &c->idx[c->last];
	if (c->last + 1 < c->n && c->idx[c->last + 1].addr == page)
		return &c->idx[++c->last];

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (c->idx[mid].addr < page)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < c->n && c->idx[lo].addr == page) {
		c->last = lo;
		return &c->idx[lo];
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Pages want[s..e) one at a time (a region with an unmapped page). */
static void fetch_each(struct pagecache *c, unsigned int s, unsigned int e)
{
	for (unsigned int j = s; j < e; j++) {
		struct iovec l = { c->data + (size_t)(c->n + j) * PAGECACHE_PAGE, PAGECACHE_PAGE };
		struct iovec r = { (void *)(uintptr_t)c->want[j], PAGECACHE_PAGE };

		c->tmp[j].ok = process_vm_readv(c->pid, &l, 1, &r, 1, 0) == PAGECACHE_PAGE;
	}
}

/* Pages want[0..k) (sorted, new) read into slots n.. and marked in
 * tmp[0..k): runs of adjacent pages as one region, up to RUNS_MAX regions
 * a call; a region that fails (the call stops there) page by page, then
 * on with the next. */
static void fetch(struct pagecache *c, unsigned int k)
{
	struct iovec local[RUNS_MAX], remote[RUNS_MAX];
	unsigned int start[RUNS_MAX + 1], i = 0;

	for (unsigned int j = 0; j < k; j++)
		c->tmp[j] = (struct page_ref){ c->want[j], c->n + j, false };
	while (i < k) {
		unsigned int runs = 0;
		ssize_t got;

		for (; i < k && runs < RUNS_MAX; runs++) {
			start[runs] = i;
			while (i + 1 < k && c->want[i + 1] == c->want[i] + PAGECACHE_PAGE)
				i++;
			i++;
			local[runs] = (struct iovec){ c->data + (size_t)(c->n + start[runs]) *
						      PAGECACHE_PAGE,
						      (size_t)(i - start[runs]) * PAGECACHE_PAGE };
			remote[runs] = (struct iovec){ (void *)(uintptr_t)c->want[start[runs]],
						       local[runs].iov_len };
		}
		start[runs] = i;
		got = process_vm_readv(c->pid, local, runs, remote, runs, 0);
		for (unsigned int r = 0; r < runs; r++) {
			if (got >= (ssize_t)local[r].iov_len) {
				got -= local[r].iov_len;
				for (unsigned int j = start[r]; j < start[r + 1]; j++)
					c->tmp[j].ok = true;
				continue;
			}
			fetch_each(c, start[r], start[r + 1]);
			i = start[r + 1];	/* the call stopped here */
			break;
		}
	}
}

/* tmp[0..k) merged into the index. */
static void merge(struct pagecache *c, unsigned int k)
{
	unsigned int i = c->n, j = k, o = c->n + k;

	while (j) {
		if (i && c->idx[i - 1].addr > c->tmp[j - 1].addr)
			c->idx[--o] = c->idx[--i];
		else
			c->idx[--o] = c->tmp[--j];
	}
	c->n += k;
}

/* The pages of the regions not held yet, fetched. */
static void fill(struct pagecache *c, const uint64_t *addr, size_t len, int n)
{
	unsigned int k = 0;
	bool sorted = true;

	for (int i = 0; i < n; i++) {
		if (!addr[i] || addr[i] + len < addr[i])
			continue;
		for (uint64_t pg = addr[i] & ~(uint64_t)(PAGECACHE_PAGE - 1);
		     pg < addr[i] + len && k < c->max - c->n; pg += PAGECACHE_PAGE)
			if ((!k || c->want[k - 1] != pg) && !find(c, pg)) {
				sorted = sorted && (!k || c->want[k - 1] < pg);
				c->want[k++] = pg;
			}
	}
	if (!k)
		return;
	if (!sorted)
		qsort(c->want, k, sizeof(*c->want), cmp_u64);
	for (unsigned int i = 1, u = 1; i <= k; i++) {	/* unique */
		if (i == k) {
			k = u;
			break;
		}
		if (c->want[i] != c->want[u - 1])
			c->want[u++] = c->want[i];
	}
	fetch(c, k);
	merge(c, k);
}

static bool copy_out(struct pagecache *c, uint64_t addr, uint8_t *out, size_t len)
{
	while (len) {
		uint64_t pg = addr & ~(uint64_t)(PAGECACHE_PAGE - 1);
		size_t off = addr - pg, m = PAGECACHE_PAGE - off;
		const struct page_ref *r = find(c, pg);

		if (!r || !r->ok)
			return false;
		m = m < len ? m : len;
		memcpy(out, c->data + (size_t)r->slot * PAGECACHE_PAGE + off, m);
		out += m;
		addr += m;
		len -= m;
	}
	return true;
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
