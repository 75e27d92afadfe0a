/* SPDX-License-Identifier: MIT */
/* Source lines of the target's Python files, read inside its root
 * (/proc/PID/root, its symlinks resolved there: rootfs.h; so containers
 * work) and cached per file. */
#ifndef LS_SOURCE_H
#define LS_SOURCE_H

struct source;

struct source *source__new(int pid);
void source__free(struct source *s);
/* Line `line` of `path` (co_filename), without indentation or newline;
 * NULL when unreadable. Valid until source__free(). */
const char *source__line(struct source *s, const char *path, int line);

/* The source of the function whose code starts at firstline (decorators
 * included): its lines up to the last one indented deeper than its def,
 * at most 400. NULL for module code or when unreadable. Valid until
 * source__free(). */
const char *source__function(struct source *s, const char *path, int firstline);

/* A source that reads no file: it answers only from what was put in it
 * (a recording's function sources and lines; probe/recording.h). Put
 * data answers first on any source. */
struct source *source__new_recorded(void);
/* The source of the function of path starting at firstline (as
 * source__function() gave it): source__function() returns it, and on a
 * recorded source source__line() answers the lines it covers. */
void source__put_function(struct source *s, const char *path, int firstline,
			  const char *text);
/* Line `line` of path, as source__line() would give it. */
void source__put_line(struct source *s, const char *path, int line, const char *text);

#endif
