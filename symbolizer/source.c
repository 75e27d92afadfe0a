// SPDX-License-Identifier: MIT
/* Source lines and whole functions of the target's Python files, read
 * inside the target's root (rootfs.h) and cached, or given back from a recording. */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "rootfs.h"
#include "source.h"

#define MAX_FILE	(4 << 20)	/* bytes of a file read: the rest unknown */
#define MAX_LINE	4096		/* bytes of a line kept: the rest cut */
#define MAX_FILES	4096

struct func {
	int first;
	char *text;
};

struct pline {
	int line;
	char *text;
};

struct file {
	char *path;
	char *text;		/* NULL: unreadable */
	struct func *funcs;	/* function sources cut or put so far */
	int n_funcs;
	char **lines;		/* into text, NUL-terminated in place */
	int n_lines;
	struct pline *plines;	/* lines put, or cut from put functions */
	int n_plines;
};

struct source {
	int pid;
	bool recorded;		/* no files: only what was put */
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

struct source *source__new_recorded(void)
{
	struct source *s = source__new(-1);

	if (s)
		s->recorded = true;
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
		for (int j = 0; j < s->v[i].n_plines; j++)
			free(s->v[i].plines[j].text);
		free(s->v[i].plines);
		free(s->v[i].path);
		free(s->v[i].text);
		free(s->v[i].lines);
	}
	free(s->v);
	free(s);
}

static void file_load(struct source *s, struct file *f)
{
	size_t len;
	FILE *fp;
	int cap = 0, fd;

	if (f->path[0] == '<')
		return;			/* <frozen …>, <string> */
	/* inside the target's root; a relative path from its cwd */
	fd = rootfs__open(s->pid, f->path);
	if (fd < 0)
		return;
	fp = fdopen(fd, "r");
	if (!fp) {
		close(fd);
		return;
	}
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
		if ((nl ? (size_t)(nl - p) : strlen(p)) > MAX_LINE)
			p[MAX_LINE] = 0;
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
		if (!s->recorded)
			file_load(s, f);
	}
	return f;
}

static const char *pline_of(const struct file *f, int line)
{
	for (int i = 0; i < f->n_plines; i++)
		if (f->plines[i].line == line)
			return f->plines[i].text;
	return NULL;
}

/* Keep text (n bytes) as line `line` of f; the copy, or NULL. */
static const char *pline_add(struct file *f, int line, const char *text, size_t n)
{
	struct pline *v = realloc(f->plines, (f->n_plines + 1) * sizeof(*v));
	char *t;

	if (!v)
		return NULL;
	f->plines = v;
	t = strndup(text, n);
	if (!t)
		return NULL;
	v[f->n_plines].line = line;
	v[f->n_plines].text = t;
	return v[f->n_plines++].text;
}

/* Line `line` cut from a function put on f that covers it, stripped as
 * source__line() strips. */
static const char *line_from_funcs(struct file *f, int line)
{
	for (int i = 0; i < f->n_funcs; i++) {
		const char *p = f->funcs[i].text;
		size_t n;

		if (f->funcs[i].first <= 0 || f->funcs[i].first > line)
			continue;
		for (int l = f->funcs[i].first; l < line && p; l++)
			if ((p = strchr(p, '\n')))
				p++;
		if (!p || !*p)
			continue;
		p += strspn(p, " \t");
		n = strcspn(p, "\n");
		while (n && (p[n - 1] == '\r' || p[n - 1] == ' '))
			n--;
		return pline_add(f, line, p, n);
	}
	return NULL;
}

const char *source__line(struct source *s, const char *path, int line)
{
	struct file *f;
	const char *l;
	size_t n;

	if (!path || line <= 0 || !(f = file_of(s, path)))
		return NULL;
	if ((l = pline_of(f, line)))
		return l;
	if (s->recorded)
		return line_from_funcs(f, line);
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

	if (!path || firstline <= 0 || !(f = file_of(s, path)))
		return NULL;
	for (int i = 0; i < f->n_funcs; i++)
		if (f->funcs[i].first == firstline)
			return f->funcs[i].text;
	if (!f->text || firstline > f->n_lines)
		return NULL;
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

void source__put_function(struct source *s, const char *path, int firstline,
			  const char *text)
{
	struct file *f;
	struct func *fn;
	char *t;

	if (!path || !text || firstline <= 0 || !(f = file_of(s, path)))
		return;
	for (int i = 0; i < f->n_funcs; i++)
		if (f->funcs[i].first == firstline)
			return;
	fn = realloc(f->funcs, (f->n_funcs + 1) * sizeof(*fn));
	if (!fn)
		return;
	f->funcs = fn;
	if (!(t = strdup(text)))
		return;
	fn[f->n_funcs].first = firstline;
	fn[f->n_funcs++].text = t;
}

void source__put_line(struct source *s, const char *path, int line, const char *text)
{
	struct file *f;

	if (!path || !text || line <= 0 || !(f = file_of(s, path)) || pline_of(f, line))
		return;
	pline_add(f, line, text, strlen(text));
}
