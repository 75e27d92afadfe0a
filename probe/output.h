/* Printers: every one has a text and a JSON variant. */
#ifndef LS_OUTPUT_H
#define LS_OUTPUT_H
#include <stdio.h>
#include "stack.h"
#include "stall.h"

#define LS_SCHEMA_VERSION 1

enum out_format { OUT_TEXT, OUT_JSON };

struct loop_info {
	uint32_t tid;
	char thread[16];
	const char *poll;		/* "epoll", "poll", "select" */
	uint32_t stalls;
	uint64_t stalled_ns;
	uint64_t worst_ns;
};

/* Findings with the same rule and call site, over a session. */
struct finding_group {
	const struct rule *rule;
	char *file, *function, *code;
	int line;
	uint32_t count;
	uint64_t total_ns, worst_ns;
};

struct summary {
	uint32_t pid;
	const char *comm;
	const char *py_version;
	const char *ended_by;		/* "target exit", "signal", "duration" */
	uint64_t span_ns;
	uint64_t threshold_ns;
	uint32_t stalls;
	uint64_t stalled_ns;
	uint64_t worst_ns;
	uint32_t n_loops;
	const struct loop_info *loops;
	uint64_t lost_stalls, lost_samples, lost_threads, dropped_samples;
	uint32_t n_groups;
	const struct finding_group *groups;	/* worst (total) first */
};

/* "201.4 ms", "3.02 s", "0.3 ms" into buf. */
const char *fmt_dur(uint64_t ns, char *buf, size_t len);
/* "HH:MM:SS.mmm" local time of a unix ns timestamp. */
const char *fmt_clock(uint64_t unix_ns, char *buf, size_t len);
/* A JSON string literal, escaped. */
void json_str(FILE *f, const char *s);
/* The same, or null for NULL. */
void json_str_or_null(FILE *f, const char *s);

/* A stall; frames resolves its stacks' frame ids. Text shows the dominant
 * stack trimmed to what matters (full: every frame); JSON every stack. */
void print_stall(FILE *f, enum out_format fmt, const struct stall *s,
		 const struct frames *frames, bool full);
/* One frame as a line: '>' for user code, the function in fn_width
 * columns, then file:line or [module] in where_width (its tail kept). */
void print_frame_line(FILE *f, const struct frame *fr, int indent, int fn_width,
		      int where_width);
/* The frames of a stack worth showing: innermost native frames until the
 * first Python frame, then Python frames out to the outermost user frame
 * (native frames between them only when not the interpreter's own).
 * Writes indexes into sc->frames; returns how many. */
int stack__trim(const struct stack_count *sc, const struct frames *frames,
		uint32_t *idx, int max);
void print_blocked(FILE *f, enum out_format fmt, uint32_t pid, uint32_t tid,
		   const char *thread, uint64_t now_unix_ns, uint64_t blocked_ns,
		   int32_t nr);
void print_loop(FILE *f, enum out_format fmt, uint32_t pid,
		const struct loop_info *l);
void print_summary(FILE *f, enum out_format fmt, const struct summary *s);

#endif
