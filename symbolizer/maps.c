// SPDX-License-Identifier: MIT
/* A process's /proc/PID/maps parsed into entries (in address order, as
 * /proc lists them), and the lookup of the mapping holding an address. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "maps.h"

static int parse_line(const char *line, struct map_entry *e)
{
	int path_at = 0;

	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64 " %n",
		   &e->start, &e->end, e->perms, &e->pgoff, &e->dev_major, &e->dev_minor,
		   &e->ino, &path_at) < 7 || !path_at)
		return -EINVAL;
	while (line[path_at] == ' ')
		path_at++;
	e->path = strdup(line + path_at);
	return e->path ? 0 : -ENOMEM;
}

int maps__parse(struct maps *m, const char *text)
{
	unsigned int cap = 0;
	const char *p = text;

	memset(m, 0, sizeof(*m));
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[4352];
		int err;

		if (len && len < sizeof(line)) {
			memcpy(line, p, len);
			line[len] = 0;
			if (m->n == cap) {
				struct map_entry *v;

				cap = cap ? cap * 2 : 64;
				v = realloc(m->v, cap * sizeof(*v));
				if (!v) {
					maps__free(m);
					return -ENOMEM;
				}
				m->v = v;
			}
			err = parse_line(line, &m->v[m->n]);
			if (err == -ENOMEM) {
				maps__free(m);
				return err;
			}
			if (!err)
				m->n++;
		}
		p += len + (nl ? 1 : 0);
	}
	return 0;
}

int maps__load(struct maps *m, int pid)
{
	char path[64], *text = NULL;
	size_t len = 0;
	FILE *f, *out;
	int err, c;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	out = open_memstream(&text, &len);
	if (!out) {
		fclose(f);
		return -ENOMEM;
	}
	while ((c = getc(f)) != EOF)
		putc(c, out);
	fclose(f);
	fclose(out);
	err = maps__parse(m, text);
	free(text);
	return err;
}

const struct map_entry *maps__find(const struct maps *m, uint64_t addr)
{
	unsigned int lo = 0, hi = m->n;

	/* /proc lists mappings in address order */
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (addr < m->v[mid].start)
			hi = mid;
		else if (addr >= m->v[mid].end)
			lo = mid + 1;
		else
			return &m->v[mid];
	}
	return NULL;
}

void maps__free(struct maps *m)
{
	for (unsigned int i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	memset(m, 0, sizeof(*m));
}
