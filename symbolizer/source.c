#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "source.h"

#define MAX_FILE	(8 << 20)
#define MAX_FILES	4096

struct func {
	int first;
	char *text;
};

struct file {
	char *path;
	char *text;		/* NULL: unreadable */
	struct func *funcs;	/* function sources cut so far */
	int n_funcs;
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
		for (int j = 0; j < s->v[i].n_funcs; j++)
			free(s->v[i].funcs[j].text);
		free(s->v[i].funcs);
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

static struct file *file_of(struct source *s, const char *path)
{
	struct file *f = NULL;

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
	return f;
}

const char *source__line(struct source *s, const char *path, int line)
{
	struct file *f;
	const char *l;
	size_t n;

	if (!path || line <= 0 || !(f = file_of(s, path)))
		return NULL;
	if (!f->text || line > f->n_lines)
		return NULL;
	l = f->lines[line - 1];
	l += strspn(l, " \t");
	n = strlen(l);
	while (n && (l[n - 1] == '\r' || l[n - 1] == ' '))
		((char *)l)[--n] = 0;
	return l;
}

static int indent_of(const char *l)
{
	int n = 0;

	for (; *l == ' ' || *l == '\t'; l++)
		n += *l == '\t' ? 8 - n % 8 : 1;
	return *l ? n : -1;	/* -1: a blank line */
}

const char *source__function(struct source *s, const char *path, int firstline)
{
	struct file *f;
	struct func *fn;
	int def = -1, ind, end, len = 0;
	char *text, *o;

	if (!path || firstline <= 0 || !(f = file_of(s, path)) || !f->text ||
	    firstline > f->n_lines)
		return NULL;
	for (int i = 0; i < f->n_funcs; i++)
		if (f->funcs[i].first == firstline)
			return f->funcs[i].text;
	/* the def line: decorators come first */
	for (int i = firstline - 1; i < f->n_lines && i < firstline + 40 && def < 0; i++) {
		const char *l = f->lines[i] + strspn(f->lines[i], " \t");

		if (!strncmp(l, "def ", 4) || !strncmp(l, "async def ", 10))
			def = i;
		else if (l[0] != '@' && l[0] != 0 && l[0] != '#' && i == firstline - 1)
			break;		/* module code, a lambda, a class body… */
	}
	if (def < 0) {
		/* one line: a lambda or a comprehension */
		def = firstline - 1;
		end = def + 1;
	} else {
		ind = indent_of(f->lines[def]);
		for (end = def + 1; end < f->n_lines && end < def + 400; end++) {
			int i2 = indent_of(f->lines[end]);

			if (i2 >= 0 && i2 <= ind)
				break;
		}
	}
	for (int i = firstline - 1; i < end; i++)
		len += strlen(f->lines[i]) + 1;
	text = malloc(len + 1);
	fn = realloc(f->funcs, (f->n_funcs + 1) * sizeof(*fn));
	if (!text || !fn) {
		free(text);
		if (fn)
			f->funcs = fn;
		return NULL;
	}
	f->funcs = fn;
	o = text;
	for (int i = firstline - 1; i < end; i++)
		o += sprintf(o, "%s\n", f->lines[i]);
	f->funcs[f->n_funcs].first = firstline;
	f->funcs[f->n_funcs].text = text;
	return f->funcs[f->n_funcs++].text;
}
