/* SPDX-License-Identifier: MIT */
/* Rules: what a stall is attributed to. A rule pack is a YAML file; its
 * rules name a cause (category, severity, fix) and the run-time evidence
 * that shows it (frames, syscall and its arguments, fd kind, on/off-CPU
 * share, duration), or, in the user's own format (async_rules:), source
 * patterns applied to the functions on the stall's stack.
 * Schema: docs/rules.md. */
#ifndef LS_RULE_H
#define LS_RULE_H
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

enum rule_severity { SEV_INFO, SEV_WARNING, SEV_ERROR, SEV__N };

enum rule_category {
	CAT_HTTP, CAT_TIMEOUT, CAT_SLEEP, CAT_FILE, CAT_SUBPROCESS, CAT_DNS, CAT_DB,
	CAT_CPU, CAT_LOCK, CAT_GIL, CAT_GC, CAT_CLIENT_PER_REQUEST, CAT_IMPORT,
	CAT_SEQUENTIAL_AWAIT, CAT_OTHER, CAT__N
};

/* "http", "client-per-request", … and back; -1 when unknown. */
const char *rule_category_name(enum rule_category c);
int rule_category_parse(const char *s);
const char *rule_severity_name(enum rule_severity s);
int rule_severity_parse(const char *s);

/* Matches one frame of a stall's stack. Every field set must match (glob
 * patterns, fnmatch(3) without FNM_PATHNAME; NULL = any). A condition with
 * module/qualname/file/code matches Python frames only; with
 * native/library, native frames only. One with alternatives (any) has
 * nothing else set: it matches a frame that one of them matches. */
struct frame_cond {
	char *module;		/* Python module, dotted: "requests", "requests.*" */
	char *qualname;		/* co_qualname: "Session.request", "*.get" */
	char *file;		/* co_filename glob, e.g. "*site-packages/requests*" */
	regex_t *code;		/* any matching the source line the frame runs; */
	char **code_src;	/* the innermost Python frame only (the line that */
	int n_code;		/* called the C code running, if any) */
	char *native;		/* native symbol: "sock_recv*", "take_gil" */
	char *library;		/* native module base name: "libssl.so*" */
	struct frame_cond *any;	/* alternatives, each without any of its own */
	int n_any;
};

enum arg_op { ARG_EQ, ARG_NE, ARG_LT, ARG_LE, ARG_GT, ARG_GE };

/* A condition on the syscall in progress in the stack that matched. */
struct syscall_cond {
	char **names;		/* any of: "poll", "recvfrom" … (NULL: any syscall) */
	int n_names;
	int arg;		/* argument index 0..5, -1: no argument condition */
	enum arg_op op;
	int64_t value;
	/* or the stack is in this frame instead (the call's own work around
	 * its syscall: a path converted, a result built); NULL: none */
	struct frame_cond *or_frame;
};

enum fd_kind { FD_TCP, FD_UDP, FD_UNIX, FD_FILE, FD_PIPE, FD_OTHER, FD__N };
const char *fd_kind_name(enum fd_kind k);
int fd_kind_parse(const char *s);

struct rule {
	char *id;
	char *name;
	enum rule_category category;
	enum rule_severity severity;
	char *description;
	char *fix;
	char *example_bad;
	char *example_good;
	char **lints;		/* anchor lint codes: "ruff ASYNC210", "bandit B113" */
	int n_lints;

	/* run-time conditions: all that are set must hold */
	struct frame_cond *frames;	/* each must match some frame of the stack */
	int n_frames;
	struct frame_cond *innermost;	/* must match the innermost Python frame */
	struct frame_cond *unless;	/* exclusions: no frame may match any */
	int n_unless;
	struct syscall_cond *syscall;	/* the stack's syscall in progress */
	uint32_t fd_kinds;		/* bit per enum fd_kind of its fd; 0: any */
	double min_on_cpu, max_on_cpu;	/* share of the stall on-CPU, 0..1 */
	uint64_t min_duration_ns;
	bool gil_wait;			/* the loop waits for the GIL held by another thread */

	/* source conditions (the user's format): on the source of the
	 * functions on the stack whose file matches file_pattern */
	char **file_globs;		/* file_pattern split at '|'; NULL: any file */
	int n_file_globs;
	regex_t *anti;			/* any match: finding */
	int n_anti;
	regex_t *required;		/* none matching (with context): finding */
	int n_required;
	regex_t *context;		/* required applies only where one matches */
	int n_context;
	regex_t *suggested;		/* none matching: finding */
	int n_suggested;
	char **anti_src, **required_src, **context_src, **suggested_src;

	/* where it was defined, for messages */
	char *pack;
	int line, column;
};

struct rule_pack {
	struct rule *v;
	int n;
};

/* One problem found in a rule file: "file:line:column: message". */
struct rule_diag {
	char *file;
	int line, column;
	bool warning;
	char *msg;
};

struct rule_diags {
	struct rule_diag *v;
	int n;
	int errors;		/* those not warnings */
};

/* Does r judge source (anti/required/suggested patterns)? */
bool rule__has_source(const struct rule *r);

/* Load a YAML rule pack (either format) and add its rules to pack. Every
 * problem goes to diags; returns 0, or -EINVAL when any is an error (the
 * pack then holds the rules that loaded). */
int rules__load(struct rule_pack *pack, const char *path, struct rule_diags *diags);
/* The default pack shipped with loopstall (built in). */
int rules__load_default(struct rule_pack *pack, struct rule_diags *diags);
void rules__free(struct rule_pack *pack);
void rule_diags__free(struct rule_diags *d);

#endif
