#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "source.h"

#define MAX_FILE	(8 << 20)
#define MAX_FILES	4096

struct file {
	char *path;
	char *text;		/* NULL: unreadable */
	char **lines;		/* into text, NUL-terminated in place */
	int n_lines;
};

struct source {
	int pid;
	struct file *v;
	int n, cap;
};

struct source *source__new(int pid)
{
	struct source *s = calloc(1, sizeof(*s));

	if (s)
		s->pid = pid;
	return s;
}

void source__free(struct source *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n; i++) {
		free(s->v[i].path);
		free(s->v[i].text);
		free(s->v[i].lines);
	}
	free(s->v);
	free(s);
}

static void file_load(struct source *s, struct file *f)
{
	char path[PATH_MAX * 2 + 64];
	size_t len;
	FILE *fp;
	int cap = 0;

	if (f->path[0] == '/')
		snprintf(path, sizeof(path), "/proc/%d/root%s", s->pid, f->path);
	else if (f->path[0] != '<')	/* relative: from the target's cwd */
		snprintf(path, sizeof(path), "/proc/%d/cwd/%s", s->pid, f->path);
	else
		return;			/* <frozen …>, <string> */
	fp = fopen(path, "re");
	if (!fp)
		return;
	f->text = malloc(MAX_FILE + 1);
	if (!f->text) {
		fclose(fp);
		return;
	}
	len = fread(f->text, 1, MAX_FILE, fp);
	fclose(fp);
	f->text[len] = 0;
	{
		char *fit = realloc(f->text, len + 1);	/* keep what the file needs */

		if (fit)
			f->text = fit;
	}
	for (char *p = f->text; p && *p;) {
		char *nl = strchr(p, '\n');

		if (f->n_lines == cap) {
			char **v = realloc(f->lines, (cap = cap ? cap * 2 : 256) * sizeof(*v));

			if (!v)
				return;
			f->lines = v;
		}
		f->lines[f->n_lines++] = p;
		if (nl)
			*nl = 0;
		p = nl ? nl + 1 : NULL;
	}
}

const char *source__line(struct source *s, const char *path, int line)
{
	struct file *f = NULL;
	const char *l;
	size_t n;

	if (!path || line <= 0)
		return NULL;
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].path, path)) {
			f = &s->v[i];
			break;
		}
	if (!f) {
		if (s->n == MAX_FILES)
			return NULL;
		if (s->n == s->cap) {
			struct file *v = realloc(s->v, (s->cap = s->cap ? s->cap * 2 : 32) * sizeof(*v));

			if (!v)
				return NULL;
			s->v = v;
		}
		f = &s->v[s->n++];
		memset(f, 0, sizeof(*f));
		f->path = strdup(path);
		if (!f->path) {
			s->n--;
			return NULL;
		}
		file_load(s, f);
	}
	if (!f->text || line > f->n_lines)
		return NULL;
	l = f->lines[line - 1];
	l += strspn(l, " \t");
	n = strlen(l);
	while (n && (l[n - 1] == '\r' || l[n - 1] == ' '))
		((char *)l)[--n] = 0;
	return l;
}
