/* SPDX-License-Identifier: MIT */
/* A recording: what `record` writes and `report` reads (docs/record.md).
 * Self-contained: stalls with their stacks symbolized at record time, the
 * source lines and function sources of the Python frames involved, thread
 * names, the Python version, command line, threshold, host, start and end,
 * so a report needs neither the target nor its machine. Rules are applied
 * at report time. */
#ifndef LS_RECORDING_H
#define LS_RECORDING_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "awaits.h"
#include "lag.h"
#include "proctitle.h"
#include "source.h"
#include "stack.h"
#include "stall.h"

#define LS_RECORD_VERSION 1

struct recording_meta {
	char *host;
	char *command;		/* the target's command line */
	char *python;		/* "3.11.2" */
	char *loopstall;	/* version that recorded */
	uint32_t pid;
	uint64_t threshold_ns;
	uint64_t start_unix_ns;
	uint64_t end_unix_ns;	/* 0: the recording did not end cleanly */
	char *ended_by;		/* "target exit", "signal", "duration"; NULL if cut */
	uint64_t lost_stalls, lost_samples;
};

/* A process of the recording: PROCESS records, written when a process is
 * found, when its title changes and when it exits, the latest of its PID
 * before a stall naming it. Recordings made before have none: their table
 * is the one process of their META (recording__read()). */
struct recorded_process {
	uint32_t pid;
	uint32_t ppid;			/* forked by (followed); 0: given */
	char title[PROC_TITLE_MAX];	/* proctitle.h */
	char *python;			/* "3.11.2"; NULL: unknown */
	uint64_t start_unix_ns;		/* found */
	uint64_t end_unix_ns;		/* exited; 0: not while recorded */
};

/* Function sources and source lines, as recorded: report builds a struct
 * source of them (source__new_recorded(), source__put_function() and
 * source__put_line()) for findings__match(). */
struct recorded_source {
	char *file;
	int firstline;		/* 0: a single line `line` */
	int line;
	char *text;
};

/* A loop's busy intervals, as counted when last written. */
struct recorded_lag {
	uint32_t pid, tid;
	char thread[PYTHREAD_NAME_MAX];
	struct lag lag;
};

struct recording {
	struct recording_meta meta;	/* end fields 0/NULL: no end record */
	struct frames *frames;		/* every frame the stalls reference */
	struct stall **stalls;		/* in time order; findings not set */
	uint32_t n_stalls;
	/* the function sources of the user's Python frames, then the
	 * Python frames' source lines, in file order */
	struct recorded_source *sources;
	uint32_t n_sources;
	/* every process, in the order first recorded (a PID recorded again
	 * after a stall of it: a new entry, its title then) */
	struct recorded_process *procs;
	uint32_t n_procs;
	/* what the file's end looked like */
	bool truncated;			/* a partial or damaged last record */
	const char *tail;		/* why, when truncated (static text) */
	uint64_t good_bytes;		/* length of the readable part */
	uint64_t file_bytes;		/* length of the file */
	uint32_t dropped_stalls;	/* referencing frames the file lacks */
	struct awaits aw;		/* the tasks' waits, AWAITS records added */
	/* each loop's busy intervals (LAG records: the last of a loop) */
	struct recorded_lag *lags;
	uint32_t n_lags;
};

struct recorder;

/* Start a recording at path (outfile.h: made 0600, emptied, not through a
 * symlink, not another user's): writes the header and the meta record (its
 * end fields are ignored). NULL with errno. */
struct recorder *recorder__open(const char *path, const struct recording_meta *meta);
/* The same on fd, open for writing and empty (outfile__open()); fd is
 * the recorder's from now on, closed with it or on failure. */
struct recorder *recorder__open_fd(int fd, const struct recording_meta *meta);
/* Append one stall (its frames, stacks and sources as needed first); each
 * call ends with complete records flushed to the file in one write(2), so a
 * kill -9 loses at most the stall being written. frames: the same table on
 * every call (-EINVAL otherwise). src: where the function sources of the
 * user's Python frames come from (NULL: none recorded). 0 or -errno
 * (-ENOSPC disk full, -EFBIG): the file is then cut back to the last
 * complete stall, and later calls may succeed. */
int recorder__stall(struct recorder *r, const struct stall *st, const struct frames *frames,
		    struct source *src);
/* Record process p (found, renamed, exited): one PROCESS record, written
 * at once. 0 or -errno, as recorder__stall(). */
int recorder__process(struct recorder *r, const struct recorded_process *p);
/* Write the end record (end time, ended_by, lost counters; end NULL: none,
 * as if the recorder had been killed) and close; r is freed whatever
 * happens. 0 or -errno. */
int recorder__close(struct recorder *r, const struct recording_meta *end);
/* Append the tasks' waits counted since the last call (an AWAITS record,
 * their frames and their functions' sources first), in one write. 0 or
 * -errno, as recorder__stall(). */
int recorder__awaits(struct recorder *r, const struct awaits *a, const struct frames *frames,
		     struct source *src);
/* Loop tid's busy intervals so far (a LAG record; a later one of the same
 * loop replaces it). 0 or -errno, as recorder__stall(). */
int recorder__lag(struct recorder *r, uint32_t pid, uint32_t tid, const char *thread,
		  const struct lag *l);
uint64_t recorder__bytes(const struct recorder *r);

/* Read a recording. 0, or -errno with a short reason in why (the path is
 * not in it):
 * -ENOENT no file (or another open/read errno), -EINVAL not a recording /
 * corrupt header, -EPROTONOSUPPORT written by a newer loopstall (format
 * version). A cut or corrupt tail is not an error: rec->truncated says so,
 * and everything before it is read. rec is cleared first; free it with
 * recording__free() whatever the result. */
int recording__read(struct recording *rec, const char *path, char *why, size_t len);
void recording__free(struct recording *rec);
/* rec's function sources and lines as a source table for the rules (the
 * recorder saved them: not the files of the machine reading it). NULL
 * when out of memory; free with source__free(). */
struct source *recording__source(const struct recording *rec);

#endif
