// SPDX-License-Identifier: MIT
/* The await tree of a process's tasks: children by awaited_by, cycles by
 * a depth-first search with an explicit stack, and the text tree. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "tasktree.h"

static const char *const state_names[] = { "pending", "cancelled", "done" };

struct by_id {
	uint64_t id;
	int i;
};

static int cmp_by_id(const void *a, const void *b)
{
	uint64_t x = ((const struct by_id *)a)->id, y = ((const struct by_id *)b)->id;

	return x < y ? -1 : x > y;
}

static int lookup(const struct by_id *ix, int n, uint64_t id)
{
	struct by_id key = { id, 0 };
	const struct by_id *hit = bsearch(&key, ix, n, sizeof(*ix), cmp_by_id);

	return hit ? hit->i : -1;
}

/* Children lists (CSR) from each task's awaiters. */
static int link_children(struct tasktree *tr, const struct by_id *ix)
{
	int n = tr->n, *fill = calloc(n + 1, sizeof(int));

	if (!fill)
		return -ENOMEM;
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < n; i++) {
			const struct pytask *t = tr->rows[i].t;

			for (int k = 0; k < t->n_awaited_by; k++) {
				int p = lookup(ix, n, t->awaited_by[k]);

				if (p < 0)
					continue;
				if (pass)
					tr->child[fill[p]++] = i;
				else
					tr->first[p + 1]++;
			}
		}
		if (!pass) {
			for (int i = 0; i < n; i++)
				tr->first[i + 1] += tr->first[i];
			memcpy(fill, tr->first, n * sizeof(int));
		}
	}
	free(fill);
	return 0;
}

/* Mark the tasks of every cycle: an edge back to a task on the search's
 * stack closes one (its tasks: those above it on the stack). */
static int find_cycles(struct tasktree *tr)
{
	int n = tr->n, sp = 0, err = -ENOMEM;
	int *stack = malloc((n + 1) * sizeof(int)), *pos = malloc((n + 1) * sizeof(int));
	char *color = calloc(n + 1, 1);		/* 0 new, 1 on the stack, 2 done */

	if (!stack || !pos || !color)
		goto cleanup;
	for (int s = 0; s < n; s++) {
		if (color[s])
			continue;
		stack[sp] = s, pos[sp++] = tr->first[s], color[s] = 1;
		while (sp) {
			int u = stack[sp - 1];

			if (pos[sp - 1] == tr->first[u + 1]) {
				color[u] = 2, sp--;
				continue;
			}
			int v = tr->child[pos[sp - 1]++];

			if (!color[v]) {
				stack[sp] = v, pos[sp++] = tr->first[v], color[v] = 1;
			} else if (color[v] == 1) {
				int c = tr->cycle[v] >= 0 ? tr->cycle[v] : tr->n_cycles++;

				for (int k = sp - 1; k >= 0; k--) {
					tr->cycle[stack[k]] = c;
					if (stack[k] == v)
						break;
				}
			}
		}
	}
	err = 0;
cleanup:
	free(stack);
	free(pos);
	free(color);
	return err;
}

int tasktree__build(struct tasktree *tr, const struct task_row *rows, int n)
{
	struct by_id *ix = malloc((n + 1) * sizeof(*ix));
	int err = -ENOMEM, m = 0;

	memset(tr, 0, sizeof(*tr));
	tr->n = n;
	tr->rows = rows;
	for (int i = 0; i < n; i++)
		m += rows[i].t->n_awaited_by;
	tr->first = calloc(n + 1, sizeof(int));
	tr->child = calloc(m + 1, sizeof(int));
	tr->cycle = malloc((n + 1) * sizeof(int));
	if (!ix || !tr->first || !tr->child || !tr->cycle)
		goto cleanup;
	for (int i = 0; i < n; i++) {
		ix[i] = (struct by_id){ rows[i].t->id, i };
		tr->cycle[i] = -1;
	}
	qsort(ix, n, sizeof(*ix), cmp_by_id);
	if ((err = link_children(tr, ix)) || (err = find_cycles(tr)))
		goto cleanup;
cleanup:
	free(ix);
	if (err)
		tasktree__free(tr);
	return err;
}

void tasktree__free(struct tasktree *tr)
{
	free(tr->first);
	free(tr->child);
	free(tr->cycle);
	tr->first = tr->child = tr->cycle = NULL;
}

/* Columns of UTF-8 text (one per character). */
static int cols(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

void tasktree__cut_left(char *out, size_t len, const char *s, int width)
{
	int n = cols(s);

	if (!len)
		return;
	if (n <= width || width < 4) {
		snprintf(out, len, "%s", s);
		return;
	}
	/* skip n - (width - 3) characters */
	for (int skip = n - (width - 3); *s && skip; s++)
		if (((unsigned char)s[1] & 0xc0) != 0x80)
			skip--;
	snprintf(out, len, "...%s", s);
}

struct printer {
	FILE *f;
	const struct tasktree *tr;
	bool *printed, *on_path;
};

/* prefix + text, text cut to the columns left. */
static void put_line(FILE *f, const char *prefix, const char *text)
{
	char buf[512];
	int left = TASKTREE_WIDTH - cols(prefix);

	tasktree__cut_left(buf, sizeof(buf), text, left < 8 ? 8 : left);
	fprintf(f, "%s%s\n", prefix, buf);
}

/* s cut at width columns, on a character boundary, in place. */
static void cut_right(char *s, int width)
{
	for (int n = 0; *s; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80 && n++ == width) {
			*s = 0;
			return;
		}
	}
}

static void put_task(struct printer *p, int i, const char *lead, const char *note)
{
	const struct pytask *t = p->tr->rows[i].t;
	char line[256], tid[32] = "";

	if (t->tid)
		snprintf(tid, sizeof(tid), "  running (TID %u)", t->tid);
	snprintf(line, sizeof(line), "%s [%s] 0x%" PRIx64 "%s%s", t->name,
		 state_names[t->state], t->id, tid, note);
	cut_right(line, TASKTREE_WIDTH - cols(lead));
	fprintf(p->f, "%s%s\n", lead, line);
}

static void put_frames(struct printer *p, int i, const char *prefix)
{
	const struct task_row *r = &p->tr->rows[i];
	char text[512];

	/* innermost (where it waits) first, as Python tracebacks end */
	for (int k = r->n_frames - 1; k >= 0; k--) {
		const struct task_frame *fr = &r->frames[k];

		char file[300];
		int room = TASKTREE_WIDTH - cols(prefix) - cols(fr->function) - 10;

		/* the function whole, the file's end */
		tasktree__cut_left(file, sizeof(file), fr->file, room < 12 ? 12 : room);
		snprintf(text, sizeof(text), "%s  %s:%d", fr->function, file, fr->line);
		put_line(p->f, prefix, text);
	}
	if (r->t->frames_cut)
		put_line(p->f, prefix, "... (more coroutines)");
}

static void put_subtree(struct printer *p, int i, char *prefix, size_t plen, int depth)
{
	const struct tasktree *tr = p->tr;
	size_t at = strlen(prefix);

	p->printed[i] = p->on_path[i] = true;
	for (int c = tr->first[i]; c < tr->first[i + 1]; c++) {
		int k = tr->child[c];
		bool last = c == tr->first[i + 1] - 1;
		char lead[600];

		snprintf(lead, sizeof(lead), "%s%s", prefix, last ? "└── " : "├── ");
		if (p->on_path[k]) {
			put_task(p, k, lead, "  (cycle: awaits back)");
			continue;
		}
		if (p->printed[k] || depth >= TASKTREE_DEPTH) {
			put_task(p, k, lead, p->printed[k] ? "  (shown above)" : "  (deeper: cut)");
			continue;
		}
		put_task(p, k, lead, tr->cycle[k] >= 0 ? "  (in a cycle)" : "");
		snprintf(prefix + at, plen - at, "%s", last ? "    " : "│   ");
		put_frames(p, k, prefix);
		put_subtree(p, k, prefix, plen, depth + 1);
		prefix[at] = 0;
	}
	p->on_path[i] = false;
}

static void put_root(struct printer *p, int i)
{
	char prefix[TASKTREE_DEPTH * 12 + 16] = "  ";

	put_task(p, i, "", p->tr->cycle[i] >= 0 ? "  (in a cycle)" : "");
	put_frames(p, i, prefix);
	put_subtree(p, i, prefix, sizeof(prefix), 1);
}

void tasktree__print(FILE *f, const struct tasktree *tr)
{
	struct printer p = { f, tr, calloc(tr->n + 1, 1), calloc(tr->n + 1, 1) };
	bool *awaited = calloc(tr->n + 1, 1);

	if (!p.printed || !p.on_path || !awaited) {
		fprintf(f, "(out of memory)\n");
		goto cleanup;
	}
	for (int i = 0; i < tr->first[tr->n]; i++)
		awaited[tr->child[i]] = true;
	/* roots first, then what only cycles reach */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < tr->n; i++)
			if (!p.printed[i] && (pass || !awaited[i]))
				put_root(&p, i);
cleanup:
	free(p.printed);
	free(p.on_path);
	free(awaited);
}
