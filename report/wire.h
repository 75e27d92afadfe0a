/* SPDX-License-Identifier: MIT */
/* The record file's wire format (docs/record.md), for its writer
 * (record_write.c) and reader (record_read.c): its magic, record types and
 * field numbers, which must not change meaning, and the varint/tagged-field
 * encoding of the record file, which pprof.c's protobuf shares. */
#ifndef LS_WIRE_H
#define LS_WIRE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAGIC		"LOOPSTAL"
#define HDR_LEN		16
#define MAX_PAYLOAD	(64u << 20)	/* a longer record is damage */
#define MAX_IDS		(1u << 24)	/* frame and stack ids a file may use */

enum rec_type { REC_META = 1, REC_FRAME = 2, REC_SOURCE = 3, REC_STACK = 4,
		REC_STALL = 5, REC_END = 6, REC_PROCESS = 7, REC_AWAITS = 8,
		REC_LAG = 9 };
enum wire { WT_VARINT = 0, WT_FIXED64 = 1, WT_BYTES = 2 };

enum { META_HOST = 1, META_COMMAND, META_PYTHON, META_LOOPSTALL, META_PID,
       META_THRESHOLD, META_START };
enum { END_TIME = 1, END_BY, END_LOST_STALLS, END_LOST_SAMPLES };
enum { FR_ID = 1, FR_KIND, FR_FLAGS, FR_FUNCTION, FR_FILE, FR_LINE, FR_FIRSTLINE,
       FR_MODULE, FR_CODE, FR_ADDR };
enum { FR_USER = 1, FR_INTERP = 2, FR_EVAL = 4 };
enum { SRC_FILE = 1, SRC_FIRSTLINE, SRC_TEXT };
enum { STK_ID = 1, STK_FRAMES };
enum { ST_PID = 1, ST_TID, ST_THREAD, ST_SEQ, ST_START, ST_START_UNIX, ST_DURATION,
       ST_ON_CPU, ST_OFF_CPU, ST_END_NR, ST_ONGOING, ST_WAIT, ST_SAMPLES_ON,
       ST_SAMPLES_OFF, ST_SAMPLES_SENT, ST_SAMPLES_LOST, ST_FIRST_SAMPLE,
       ST_LAST_SAMPLE, ST_STACK, ST_GIL_TID, ST_GIL_THREAD, ST_GIL_FRAMES,
       ST_BEFORE_ATTACH, ST_TASK_ID, ST_TASK_NAME, ST_TASK_FRAMES };
enum { W_NR = 1, W_COUNT, W_NS };
enum { PR_PID = 1, PR_PPID, PR_TITLE, PR_PYTHON, PR_START, PR_END };
enum { AW_SITE = 1, AW_SEQ };
enum { LG_PID = 1, LG_TID, LG_THREAD, LG_COUNT, LG_SUM, LG_MAX, LG_HIST };
enum { AS_FRAME = 1, AS_COUNT, AS_TOTAL, AS_MAX, AS_HIST };
enum { AQ_FRAMES = 1, AQ_NS, AQ_COUNT };
enum { SC_KIND = 1, SC_NR, SC_FD_KIND, SC_ARGS, SC_COUNT, SC_WEIGHT, SC_STACK };

struct buf {
	uint8_t *p;
	size_t n, cap;
	bool oom;
};

struct dec {
	const uint8_t *p, *end;
};

struct field {
	unsigned int num;
	enum wire wt;
	uint64_t u;			/* varint, fixed64 */
	const uint8_t *p;		/* bytes */
	size_t n;
};

/* Encoding into a growing buffer (an allocation failure is remembered in
 * the buffer and reported when it is written). */
void buf_put(struct buf *b, const void *p, size_t n);
void buf_reset(struct buf *b);
void put_varint(struct buf *b, uint64_t v);
uint64_t zigzag(int64_t v);
int64_t unzigzag(uint64_t v);
void put_tag(struct buf *b, unsigned int field, enum wire wt);
void f_uint(struct buf *b, unsigned int field, uint64_t v);
void f_sint(struct buf *b, unsigned int field, int64_t v);
void f_bytes(struct buf *b, unsigned int field, const void *p, size_t n);
void f_sub(struct buf *b, unsigned int field, const struct buf *sub);
void f_str(struct buf *b, unsigned int field, const char *s);
void f_strn(struct buf *b, unsigned int field, const char *s, size_t max);
void put_record(struct buf *out, enum rec_type type, const struct buf *pl);

/* Decoding: fields of a record's payload, values by wire type. */
bool get_varint(struct dec *d, uint64_t *v);
int next_field(struct dec *d, struct field *f);
uint64_t v_uint(const struct field *f, uint64_t def);
int64_t v_sint(const struct field *f, int64_t def);
int v_str(const struct field *f, char **s);
/* A bytes field into a fixed buffer, NUL-terminated, cut on a UTF-8
 * character boundary when longer. */
void v_name(const struct field *f, char *name, size_t len);
int v_int(const struct field *f, int def);

#endif
