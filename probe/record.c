/* Recordings: the record file's writer and reader (recording.h). The
 * format is described in docs/record.md; the numbers below are its
 * record types and field numbers, and must not change meaning. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "recording.h"

#define MAGIC		"LOOPSTAL"
#define HDR_LEN		16
#define MAX_PAYLOAD	(64u << 20)	/* a longer record is damage */
#define MAX_IDS		(1u << 24)	/* frame and stack ids a file may use */

enum rec_type { REC_META = 1, REC_FRAME = 2, REC_SOURCE = 3, REC_STACK = 4,
		REC_STALL = 5, REC_END = 6 };
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
       ST_LAST_SAMPLE, ST_STACK, ST_GIL_TID, ST_GIL_THREAD, ST_GIL_FRAMES };
enum { W_NR = 1, W_COUNT, W_NS };
enum { SC_KIND = 1, SC_NR, SC_FD_KIND, SC_ARGS, SC_COUNT, SC_WEIGHT, SC_STACK };

/* ---- encoding ---- */

struct buf {
	uint8_t *p;
	size_t n, cap;
	bool oom;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *v;

		while (cap < b->n + n)
			cap *= 2;
		if (!(v = realloc(b->p, cap))) {
			b->oom = true;
			return;
		}
		b->p = v;
		b->cap = cap;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void reset(struct buf *b)
{
	b->n = 0;
	b->oom = false;
}

static void put_varint(struct buf *b, uint64_t v)
{
	uint8_t o[10];
	int n = 0;

	do {
		o[n++] = (v & 0x7f) | (v > 0x7f ? 0x80 : 0);
		v >>= 7;
	} while (v);
	put(b, o, n);
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static void put_tag(struct buf *b, unsigned int field, enum wire wt)
{
	put_varint(b, (uint64_t)field << 3 | wt);
}

/* Fields equal to 0 (or NULL) are left out: readers default to them. */
static void f_uint(struct buf *b, unsigned int field, uint64_t v)
{
	if (v) {
		put_tag(b, field, WT_VARINT);
		put_varint(b, v);
	}
}

static void f_sint(struct buf *b, unsigned int field, int64_t v)
{
	f_uint(b, field, zigzag(v));
}

static void f_bytes(struct buf *b, unsigned int field, const void *p, size_t n)
{
	put_tag(b, field, WT_BYTES);
	put_varint(b, n);
	put(b, p, n);
}

/* A nested message (or packed list) built in sub. */
static void f_sub(struct buf *b, unsigned int field, const struct buf *sub)
{
	if (sub->oom)
		b->oom = true;
	else
		f_bytes(b, field, sub->p, sub->n);
}

static void f_str(struct buf *b, unsigned int field, const char *s)
{
	if (s)
		f_bytes(b, field, s, strlen(s));
}

static void f_strn(struct buf *b, unsigned int field, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (n)
		f_bytes(b, field, s, n);
}

/* A record of payload pl appended to out: type, length, payload, CRC-32
 * of the three (little endian). */
static void put_record(struct buf *out, enum rec_type type, const struct buf *pl)
{
	size_t at = out->n;
	uint8_t t = type, crc[4];
	uint32_t c;

	if (pl->oom)
		out->oom = true;
	put(out, &t, 1);
	put_varint(out, pl->n);
	put(out, pl->p, pl->n);
	if (out->oom)
		return;
	c = crc32(0, out->p + at, out->n - at);
	for (int i = 0; i < 4; i++)
		crc[i] = c >> (8 * i);
	put(out, crc, 4);
}

/* ---- writing ---- */

struct stack_node {
	uint64_t hash;
	uint32_t id, n;
	uint32_t *ids;			/* file frame ids */
	struct stack_node *next;
};

struct source_node {
	char *file;
	int firstline;
	uint32_t seq;			/* in the order written */
	struct source_node *next;
};

#define STACK_BUCKETS	4096
#define SOURCE_BUCKETS	1024

struct recorder {
	int fd;
	uint64_t bytes;			/* the file: complete records only */
	int broken;			/* -errno: the file could not be cut back */
	const struct frames *frames;	/* the caller's table */
	uint32_t *fid;			/* caller's frame id -> file id, or UINT32_MAX */
	uint32_t n_fid;
	uint32_t n_frames;		/* file frame ids given */
	uint32_t n_stacks;		/* file stack ids given */
	uint32_t n_sources;
	struct stack_node *stacks[STACK_BUCKETS];
	struct source_node *sources[SOURCE_BUCKETS];
	struct buf out, pl, sub;	/* reused */
};

/* write(2) all of b->p, looping over short writes; 0 or -errno. */
static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		p += w;
		n -= w;
	}
	return 0;
}

/* Write r->out as one append: all of it, or (on error) nothing left in the
 * file. 0 or -errno. */
static int flush(struct recorder *r)
{
	int err;

	if (r->out.oom)
		return -ENOMEM;
	err = write_all(r->fd, r->out.p, r->out.n);
	if (!err) {
		r->bytes += r->out.n;
		return 0;
	}
	/* a partial write (disk full): cut it off, so the next append starts
	 * on a record boundary */
	if (ftruncate(r->fd, r->bytes) < 0)
		r->broken = err;
	return err;
}

static void put_meta(struct buf *pl, const struct recording_meta *m)
{
	f_str(pl, META_HOST, m->host);
	f_str(pl, META_COMMAND, m->command);
	f_str(pl, META_PYTHON, m->python);
	f_str(pl, META_LOOPSTALL, m->loopstall);
	f_uint(pl, META_PID, m->pid);
	f_uint(pl, META_THRESHOLD, m->threshold_ns);
	f_uint(pl, META_START, m->start_unix_ns);
}

struct recorder *recorder__open(const char *path, const struct recording_meta *meta)
{
	struct recorder *r = calloc(1, sizeof(*r));
	uint8_t hdr[HDR_LEN] = MAGIC;
	int err;

	if (!r)
		return NULL;
	hdr[8] = LS_RECORD_VERSION & 0xff;
	hdr[9] = LS_RECORD_VERSION >> 8;
	r->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (r->fd < 0) {
		err = -errno;
		free(r);
		errno = -err;
		return NULL;
	}
	put(&r->out, hdr, sizeof(hdr));
	put_meta(&r->pl, meta);
	put_record(&r->out, REC_META, &r->pl);
	err = flush(r);
	if (err) {
		close(r->fd);
		free(r->out.p);
		free(r->pl.p);
		free(r);
		errno = -err;
		return NULL;
	}
	return r;
}

uint64_t recorder__bytes(const struct recorder *r)
{
	return r->bytes;
}

/* Marks made while a stall's records are built; undone if they are not
 * written. */
struct mark {
	uint32_t n_frames, n_stacks, n_sources;
};

static void undo(struct recorder *r, const struct mark *m)
{
	for (uint32_t i = 0; i < r->n_fid; i++)
		if (r->fid[i] != UINT32_MAX && r->fid[i] >= m->n_frames)
			r->fid[i] = UINT32_MAX;
	for (size_t i = 0; i < STACK_BUCKETS; i++)
		for (struct stack_node **p = &r->stacks[i], *n; (n = *p);)
			if (n->id >= m->n_stacks) {
				*p = n->next;
				free(n->ids);
				free(n);
			} else {
				p = &n->next;
			}
	for (size_t i = 0; i < SOURCE_BUCKETS; i++)
		for (struct source_node **p = &r->sources[i], *n; (n = *p);)
			if (n->seq >= m->n_sources) {
				*p = n->next;
				free(n->file);
				free(n);
			} else {
				p = &n->next;
			}
	r->n_frames = m->n_frames;
	r->n_stacks = m->n_stacks;
	r->n_sources = m->n_sources;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	for (const uint8_t *c = p; n--; c++)
		h = (h ^ *c) * 1099511628211ULL;
	return h;
}

/* Queue the SOURCE record of the function f runs in, once per function. */
static int want_source(struct recorder *r, const struct frame *f, struct source *src)
{
	uint64_t h = fnv(14695981039346656037ULL, f->file, strlen(f->file));
	struct source_node **b, *n;
	const char *text;

	h = fnv(h, &f->firstline, sizeof(f->firstline));
	b = &r->sources[h % SOURCE_BUCKETS];
	for (n = *b; n; n = n->next)
		if (n->firstline == f->firstline && !strcmp(n->file, f->file))
			return 0;
	/* remembered even when unreadable: not asked again */
	if (!(n = calloc(1, sizeof(*n))) || !(n->file = strdup(f->file))) {
		free(n);
		return -ENOMEM;
	}
	n->firstline = f->firstline;
	n->seq = r->n_sources++;
	n->next = *b;
	*b = n;
	text = source__function(src, f->file, f->firstline);
	if (!text)
		return 0;
	reset(&r->pl);
	f_str(&r->pl, SRC_FILE, f->file);
	f_uint(&r->pl, SRC_FIRSTLINE, f->firstline);
	f_str(&r->pl, SRC_TEXT, text);
	put_record(&r->out, REC_SOURCE, &r->pl);
	return 0;
}

/* The file id of the caller's frame id, queuing its FRAME record (and its
 * function's SOURCE record) the first time. UINT32_MAX: no such frame. */
static uint32_t file_frame(struct recorder *r, uint32_t id, struct source *src, int *err)
{
	const struct frame *f = frames__get(r->frames, id);

	if (!f)
		return UINT32_MAX;
	if (id >= r->n_fid) {
		uint32_t n = frames__count(r->frames), *v;

		if (id >= n)
			return UINT32_MAX;
		if (!(v = realloc(r->fid, n * sizeof(*v)))) {
			*err = -ENOMEM;
			return UINT32_MAX;
		}
		for (uint32_t i = r->n_fid; i < n; i++)
			v[i] = UINT32_MAX;
		r->fid = v;
		r->n_fid = n;
	}
	if (r->fid[id] != UINT32_MAX)
		return r->fid[id];
	if (src && f->kind == FRAME_PYTHON && f->user && f->file && f->firstline > 0) {
		int e = want_source(r, f, src);

		if (e) {
			*err = e;
			return UINT32_MAX;
		}
	}
	r->fid[id] = r->n_frames++;
	reset(&r->pl);
	f_uint(&r->pl, FR_ID, r->fid[id]);
	f_uint(&r->pl, FR_KIND, f->kind);
	f_uint(&r->pl, FR_FLAGS, (f->user ? FR_USER : 0) | (f->interp ? FR_INTERP : 0) |
				 (f->eval ? FR_EVAL : 0));
	f_str(&r->pl, FR_FUNCTION, f->function);
	f_str(&r->pl, FR_FILE, f->file);
	f_sint(&r->pl, FR_LINE, f->line);
	f_sint(&r->pl, FR_FIRSTLINE, f->firstline);
	f_str(&r->pl, FR_MODULE, f->module);
	f_str(&r->pl, FR_CODE, f->code);
	f_uint(&r->pl, FR_ADDR, f->addr);
	put_record(&r->out, REC_FRAME, &r->pl);
	return r->fid[id];
}

/* Caller's frame ids -> file ids (into ids; frames the table lacks are
 * left out). Returns the count, or -errno. */
static int file_frames(struct recorder *r, const uint32_t *in, uint32_t n, uint32_t *ids,
		       struct source *src)
{
	int err = 0, k = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t id = file_frame(r, in[i], src, &err);

		if (err)
			return err;
		if (id != UINT32_MAX)
			ids[k++] = id;
	}
	return k;
}

static void f_ids(struct buf *b, unsigned int field, const uint32_t *ids, uint32_t n,
		  struct buf *sub)
{
	reset(sub);
	for (uint32_t i = 0; i < n; i++)
		put_varint(sub, ids[i]);
	f_sub(b, field, sub);
}

/* The file id of the stack of file frame ids, queuing its STACK record the
 * first time; UINT32_MAX on ENOMEM. */
static uint32_t file_stack(struct recorder *r, const uint32_t *ids, uint32_t n)
{
	uint64_t h = fnv(14695981039346656037ULL, ids, n * sizeof(*ids));
	struct stack_node **b = &r->stacks[h % STACK_BUCKETS], *s;

	for (s = *b; s; s = s->next)
		if (s->hash == h && s->n == n && !memcmp(s->ids, ids, n * sizeof(*ids)))
			return s->id;
	if (!(s = calloc(1, sizeof(*s))) || !(s->ids = malloc((n ? n : 1) * sizeof(*ids)))) {
		free(s);
		return UINT32_MAX;
	}
	memcpy(s->ids, ids, n * sizeof(*ids));
	s->hash = h;
	s->n = n;
	s->id = r->n_stacks++;
	s->next = *b;
	*b = s;
	reset(&r->pl);
	f_uint(&r->pl, STK_ID, s->id);
	f_ids(&r->pl, STK_FRAMES, ids, n, &r->sub);
	put_record(&r->out, REC_STACK, &r->pl);
	return s->id;
}

int recorder__stall(struct recorder *r, const struct stall *st, const struct frames *frames,
		    struct source *src)
{
	struct mark m = { r->n_frames, r->n_stacks, r->n_sources };
	uint32_t *sid = NULL, *ids = NULL, n_ids = 0, n_gil = 0;
	struct buf *pl = &r->pl, *sub = &r->sub;
	int err = 0;

	if (r->broken)
		return r->broken;
	if (!r->frames)
		r->frames = frames;
	else if (r->frames != frames)
		return -EINVAL;
	for (uint32_t i = 0; i < st->n_stacks; i++)
		n_ids = st->stacks[i].n_frames > n_ids ? st->stacks[i].n_frames : n_ids;
	n_ids = st->n_gil_frames > n_ids ? st->n_gil_frames : n_ids;
	sid = calloc(st->n_stacks ? st->n_stacks : 1, sizeof(*sid));
	ids = calloc(n_ids ? n_ids : 1, sizeof(*ids));
	if (!sid || !ids) {
		err = -ENOMEM;
		goto cleanup;
	}
	reset(&r->out);
	for (uint32_t i = 0; i < st->n_stacks; i++) {
		const struct stack_count *sc = &st->stacks[i];
		int n = file_frames(r, sc->frames, sc->n_frames, ids, src);

		if (n < 0) {
			err = n;
			goto cleanup;
		}
		if ((sid[i] = file_stack(r, ids, n)) == UINT32_MAX) {
			err = -ENOMEM;
			goto cleanup;
		}
	}
	if (st->n_gil_frames) {
		int n = file_frames(r, st->gil_frames, st->n_gil_frames, ids, src);

		if (n < 0) {
			err = n;
			goto cleanup;
		}
		n_gil = n;
	}
	reset(pl);
	f_uint(pl, ST_PID, st->pid);
	f_uint(pl, ST_TID, st->tid);
	f_strn(pl, ST_THREAD, st->thread, sizeof(st->thread));
	f_uint(pl, ST_SEQ, st->seq);
	f_uint(pl, ST_START, st->start_ns);
	f_uint(pl, ST_START_UNIX, st->start_unix_ns);
	f_uint(pl, ST_DURATION, st->duration_ns);
	f_uint(pl, ST_ON_CPU, st->on_cpu_ns);
	f_uint(pl, ST_OFF_CPU, st->off_cpu_ns);
	f_sint(pl, ST_END_NR, st->end_nr);
	f_uint(pl, ST_ONGOING, st->ongoing);
	for (uint32_t i = 0; i < st->n_waits && i < LS_MAX_WAITS; i++) {
		reset(sub);
		f_sint(sub, W_NR, st->waits[i].nr);
		f_uint(sub, W_COUNT, st->waits[i].count);
		f_uint(sub, W_NS, st->waits[i].ns);
		f_sub(pl, ST_WAIT, sub);
	}
	f_uint(pl, ST_SAMPLES_ON, st->samples_on);
	f_uint(pl, ST_SAMPLES_OFF, st->samples_off);
	f_uint(pl, ST_SAMPLES_SENT, st->samples_sent);
	f_uint(pl, ST_SAMPLES_LOST, st->samples_lost);
	f_uint(pl, ST_FIRST_SAMPLE, st->first_sample_ns);
	f_uint(pl, ST_LAST_SAMPLE, st->last_sample_ns);
	for (uint32_t i = 0; i < st->n_stacks; i++) {
		const struct stack_count *sc = &st->stacks[i];
		int n_args = 6;

		reset(sub);
		f_uint(sub, SC_KIND, sc->kind);
		f_sint(sub, SC_NR, sc->nr);
		f_sint(sub, SC_FD_KIND, sc->fd_kind);
		while (n_args && !sc->args[n_args - 1])
			n_args--;
		if (n_args) {
			/* packed; as signed, so small negative values stay short */
			uint8_t a[60];
			struct buf ab = { a, 0, sizeof(a), false };

			for (int k = 0; k < n_args; k++)
				put_varint(&ab, zigzag((int64_t)sc->args[k]));
			f_bytes(sub, SC_ARGS, a, ab.n);
		}
		f_uint(sub, SC_COUNT, sc->count);
		f_uint(sub, SC_WEIGHT, sc->weight_ns);
		f_uint(sub, SC_STACK, sid[i]);
		f_sub(pl, ST_STACK, sub);
	}
	f_uint(pl, ST_GIL_TID, st->gil_tid);
	f_strn(pl, ST_GIL_THREAD, st->gil_thread, sizeof(st->gil_thread));
	if (n_gil)
		f_ids(pl, ST_GIL_FRAMES, ids, n_gil, sub);
	put_record(&r->out, REC_STALL, pl);
	err = flush(r);
cleanup:
	if (err)
		undo(r, &m);
	free(sid);
	free(ids);
	return err;
}

int recorder__close(struct recorder *r, const struct recording_meta *end)
{
	int err;

	if (!r)
		return -EINVAL;
	err = r->broken;
	if (!err && end) {
		reset(&r->out);
		reset(&r->pl);
		f_uint(&r->pl, END_TIME, end->end_unix_ns);
		f_str(&r->pl, END_BY, end->ended_by);
		f_uint(&r->pl, END_LOST_STALLS, end->lost_stalls);
		f_uint(&r->pl, END_LOST_SAMPLES, end->lost_samples);
		put_record(&r->out, REC_END, &r->pl);
		err = flush(r);
	}
	if (fsync(r->fd) < 0 && !err && errno != EINVAL)
		err = -errno;
	if (close(r->fd) < 0 && !err)
		err = -errno;
	for (size_t i = 0; i < STACK_BUCKETS; i++)
		for (struct stack_node *n = r->stacks[i], *next; n; n = next) {
			next = n->next;
			free(n->ids);
			free(n);
		}
	for (size_t i = 0; i < SOURCE_BUCKETS; i++)
		for (struct source_node *n = r->sources[i], *next; n; n = next) {
			next = n->next;
			free(n->file);
			free(n);
		}
	free(r->fid);
	free(r->out.p);
	free(r->pl.p);
	free(r->sub.p);
	free(r);
	return err;
}

/* ---- reading ---- */

struct dec {
	const uint8_t *p, *end;
};

static bool get_varint(struct dec *d, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (d->p == d->end)
			return false;
		*v |= (uint64_t)(*d->p & 0x7f) << shift;
		if (!(*d->p++ & 0x80))
			return true;
	}
	return false;
}

struct field {
	unsigned int num;
	enum wire wt;
	uint64_t u;			/* varint, fixed64 */
	const uint8_t *p;		/* bytes */
	size_t n;
};

/* The next field of d: 1, 0 at the end, -1 malformed. */
static int next_field(struct dec *d, struct field *f)
{
	uint64_t tag;

	if (d->p == d->end)
		return 0;
	if (!get_varint(d, &tag) || tag >> 3 > UINT_MAX)
		return -1;
	f->num = tag >> 3;
	f->wt = tag & 7;
	f->u = 0;
	f->p = NULL;
	f->n = 0;
	switch (f->wt) {
	case WT_VARINT:
		return get_varint(d, &f->u) ? 1 : -1;
	case WT_FIXED64:
		if (d->end - d->p < 8)
			return -1;
		for (int i = 0; i < 8; i++)
			f->u |= (uint64_t)d->p[i] << (8 * i);
		d->p += 8;
		return 1;
	case WT_BYTES:
		if (!get_varint(d, &f->u) || f->u > (uint64_t)(d->end - d->p))
			return -1;
		f->p = d->p;
		f->n = f->u;
		d->p += f->n;
		return 1;
	}
	return -1;
}

/* Field values by wire type: a field of another wire type than expected is
 * skipped like an unknown one (the default stays). */
static uint64_t v_uint(const struct field *f, uint64_t def)
{
	return f->wt == WT_VARINT ? f->u : def;
}

static int64_t v_sint(const struct field *f, int64_t def)
{
	return f->wt == WT_VARINT ? unzigzag(f->u) : def;
}

static int v_str(const struct field *f, char **s)
{
	if (f->wt != WT_BYTES)
		return 0;
	free(*s);
	*s = strndup((const char *)f->p, f->n);
	return *s ? 0 : -ENOMEM;
}

static void v_name(const struct field *f, char *name, size_t len)
{
	if (f->wt != WT_BYTES)
		return;
	memset(name, 0, len);
	memcpy(name, f->p, f->n < len - 1 ? f->n : len - 1);
}

static int v_int(const struct field *f, int def)
{
	int64_t v = v_sint(f, def);

	return v < INT_MIN || v > INT_MAX ? def : (int)v;
}

struct rd_stack {
	uint32_t n;
	uint32_t *ids;			/* ids in rec->frames */
	bool known;
};

struct reader {
	struct recording *rec;
	uint32_t *fmap;			/* file frame id -> rec->frames id */
	uint32_t n_fmap;
	struct rd_stack *stacks;	/* by file stack id */
	uint32_t n_stacks;
	uint32_t cap_stalls, cap_sources;
};

/* Decoding results: 0, -EBADMSG malformed, -ENOMEM. */
#define BAD	(-EBADMSG)

static int read_meta(struct recording_meta *m, struct dec *d)
{
	struct field f;
	int r, err = 0;

	while (!err && (r = next_field(d, &f)) > 0)
		switch (f.num) {
		case META_HOST: err = v_str(&f, &m->host); break;
		case META_COMMAND: err = v_str(&f, &m->command); break;
		case META_PYTHON: err = v_str(&f, &m->python); break;
		case META_LOOPSTALL: err = v_str(&f, &m->loopstall); break;
		case META_PID: m->pid = v_uint(&f, m->pid); break;
		case META_THRESHOLD: m->threshold_ns = v_uint(&f, m->threshold_ns); break;
		case META_START: m->start_unix_ns = v_uint(&f, m->start_unix_ns); break;
		}
	return err ? err : r < 0 ? BAD : 0;
}

static int read_end(struct recording_meta *m, struct dec *d)
{
	struct field f;
	int r, err = 0;

	m->end_unix_ns = 0;
	while (!err && (r = next_field(d, &f)) > 0)
		switch (f.num) {
		case END_TIME: m->end_unix_ns = v_uint(&f, 0); break;
		case END_BY: err = v_str(&f, &m->ended_by); break;
		case END_LOST_STALLS: m->lost_stalls = v_uint(&f, 0); break;
		case END_LOST_SAMPLES: m->lost_samples = v_uint(&f, 0); break;
		}
	return err ? err : r < 0 ? BAD : 0;
}

/* Make room for id in a table of n entries of size sz, new entries set
 * to fill (one byte, repeated). */
static int grow(void **v, uint32_t *n, uint64_t id, size_t sz, int fill)
{
	uint32_t cap;
	uint8_t *p;

	if (id < *n)
		return 0;
	if (id >= MAX_IDS)
		return BAD;
	cap = *n ? *n : 256;
	while (cap <= id)
		cap *= 2;
	if (!(p = realloc(*v, (size_t)cap * sz)))
		return -ENOMEM;
	memset(p + (size_t)*n * sz, fill, (size_t)(cap - *n) * sz);
	*v = p;
	*n = cap;
	return 0;
}

/* Keep a function source (firstline > 0) or a line; takes file and text. */
static int add_source(struct reader *rd, char *file, int firstline, int line, char *text)
{
	struct recording *rec = rd->rec;
	struct recorded_source *s;

	if (!file || !text) {
		free(file);
		free(text);
		return 0;
	}
	if (rec->n_sources == rd->cap_sources) {
		uint32_t cap = rd->cap_sources ? rd->cap_sources * 2 : 256;
		struct recorded_source *v = realloc(rec->sources, cap * sizeof(*v));

		if (!v) {
			free(file);
			free(text);
			return -ENOMEM;
		}
		rec->sources = v;
		rd->cap_sources = cap;
	}
	s = &rec->sources[rec->n_sources++];
	s->file = file;
	s->firstline = firstline;
	s->line = line;
	s->text = text;
	return 0;
}

static int read_frame(struct reader *rd, struct dec *d)
{
	struct frame fr = { 0 };
	uint64_t id = 0, flags = 0;
	struct field f;
	int r, err = 0;

	while (!err && (r = next_field(d, &f)) > 0)
		switch (f.num) {
		case FR_ID: id = v_uint(&f, id); break;
		case FR_KIND: fr.kind = v_uint(&f, 0) ? FRAME_NATIVE : FRAME_PYTHON; break;
		case FR_FLAGS: flags = v_uint(&f, 0); break;
		case FR_FUNCTION: err = v_str(&f, &fr.function); break;
		case FR_FILE: err = v_str(&f, &fr.file); break;
		case FR_LINE: fr.line = v_int(&f, 0); break;
		case FR_FIRSTLINE: fr.firstline = v_int(&f, 0); break;
		case FR_MODULE: err = v_str(&f, &fr.module); break;
		case FR_CODE: err = v_str(&f, &fr.code); break;
		case FR_ADDR: fr.addr = v_uint(&f, 0); break;
		}
	if (!err && r < 0)
		err = BAD;
	if (!err)
		err = grow((void **)&rd->fmap, &rd->n_fmap, id, sizeof(*rd->fmap), 0xff);
	if (!err) {
		uint32_t nid;

		fr.user = flags & FR_USER;
		fr.interp = flags & FR_INTERP;
		fr.eval = flags & FR_EVAL;
		nid = frames__intern(rd->rec->frames, &fr);
		if (nid == UINT32_MAX)
			err = -ENOMEM;
		rd->fmap[id] = nid;
		if (!err && fr.kind == FRAME_PYTHON && fr.file && fr.code && fr.line > 0) {
			char *file = strdup(fr.file), *code = strdup(fr.code);

			err = file && code ? add_source(rd, file, 0, fr.line, code) : -ENOMEM;
			if (err) {
				free(file);
				free(code);
			}
		}
	}
	free(fr.function);
	free(fr.file);
	free(fr.module);
	free(fr.code);
	return err;
}

static int read_source(struct reader *rd, struct dec *d)
{
	char *file = NULL, *text = NULL;
	int firstline = 0, r, err = 0;
	struct field f;

	while (!err && (r = next_field(d, &f)) > 0)
		switch (f.num) {
		case SRC_FILE: err = v_str(&f, &file); break;
		case SRC_FIRSTLINE: firstline = v_uint(&f, 0) > INT_MAX ? 0 : v_uint(&f, 0); break;
		case SRC_TEXT: err = v_str(&f, &text); break;
		}
	if (!err && r < 0)
		err = BAD;
	if (!err && firstline > 0)
		return add_source(rd, file, firstline, 0, text);
	free(file);
	free(text);
	return err;
}

/* Packed varint frame ids of the file, mapped into out (of max); false if
 * one is unknown or malformed. */
static int map_ids(struct reader *rd, const struct field *f, uint32_t **out, uint32_t *n)
{
	struct dec d = { f->p, f->p + f->n };
	uint64_t id;

	*n = 0;
	if (f->wt != WT_BYTES)
		return 0;
	if (!(*out = malloc((f->n ? f->n : 1) * sizeof(**out))))
		return -ENOMEM;
	while (d.p < d.end) {
		if (!get_varint(&d, &id))
			return BAD;
		if (id >= rd->n_fmap || rd->fmap[id] == UINT32_MAX)
			return -ENOENT;
		(*out)[(*n)++] = rd->fmap[id];
	}
	return 0;
}

static int read_stack(struct reader *rd, struct dec *d)
{
	struct rd_stack s = { 0 };
	uint64_t id = 0;
	struct field f;
	int r, err = 0;

	while (!err && (r = next_field(d, &f)) > 0)
		switch (f.num) {
		case STK_ID: id = v_uint(&f, 0); break;
		case STK_FRAMES:
			free(s.ids);
			s.ids = NULL;
			err = map_ids(rd, &f, &s.ids, &s.n);
			break;
		}
	if (!err && r < 0)
		err = BAD;
	s.known = !err;
	if (err == -ENOENT)	/* a frame the file lacks: its stalls are dropped */
		err = 0;
	if (!err)
		err = grow((void **)&rd->stacks, &rd->n_stacks, id, sizeof(*rd->stacks), 0);
	if (err) {
		free(s.ids);
		return err;
	}
	free(rd->stacks[id].ids);
	rd->stacks[id] = s;
	return 0;
}

static int read_wait(struct ls_wait *w, const struct field *f)
{
	struct dec d = { f->p, f->p + f->n };
	struct field g;
	int r;

	memset(w, 0, sizeof(*w));
	while ((r = next_field(&d, &g)) > 0)
		switch (g.num) {
		case W_NR: w->nr = v_int(&g, 0); break;
		case W_COUNT: w->count = v_uint(&g, 0); break;
		case W_NS: w->ns = v_uint(&g, 0); break;
		}
	return r < 0 ? BAD : 0;
}

static int read_stack_count(struct reader *rd, struct stack_count *sc, const struct field *f)
{
	struct dec d = { f->p, f->p + f->n };
	uint64_t id = 0;
	struct field g;
	int r;

	memset(sc, 0, sizeof(*sc));
	while ((r = next_field(&d, &g)) > 0)
		switch (g.num) {
		case SC_KIND: sc->kind = v_uint(&g, 0); break;
		case SC_NR: sc->nr = v_int(&g, 0); break;
		case SC_FD_KIND: sc->fd_kind = v_int(&g, 0); break;
		case SC_ARGS:
			if (g.wt == WT_BYTES) {
				struct dec a = { g.p, g.p + g.n };
				uint64_t v;

				for (int k = 0; k < 6 && a.p < a.end; k++) {
					if (!get_varint(&a, &v))
						return BAD;
					sc->args[k] = (uint64_t)unzigzag(v);
				}
			}
			break;
		case SC_COUNT: sc->count = v_uint(&g, 0); break;
		case SC_WEIGHT: sc->weight_ns = v_uint(&g, 0); break;
		case SC_STACK: id = v_uint(&g, 0); break;
		}
	if (r < 0)
		return BAD;
	if (id >= rd->n_stacks || !rd->stacks[id].known)
		return -ENOENT;
	sc->n_frames = rd->stacks[id].n;
	sc->frames = malloc((sc->n_frames ? sc->n_frames : 1) * sizeof(*sc->frames));
	if (!sc->frames)
		return -ENOMEM;
	memcpy(sc->frames, rd->stacks[id].ids, sc->n_frames * sizeof(*sc->frames));
	return 0;
}

static int add_stall(struct reader *rd, struct stall *st)
{
	struct recording *rec = rd->rec;

	if (rec->n_stalls == rd->cap_stalls) {
		uint32_t cap = rd->cap_stalls ? rd->cap_stalls * 2 : 256;
		struct stall **v = realloc(rec->stalls, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		rec->stalls = v;
		rd->cap_stalls = cap;
	}
	rec->stalls[rec->n_stalls++] = st;
	return 0;
}

static int read_stall(struct reader *rd, struct dec *d)
{
	struct stall *st = calloc(1, sizeof(*st));
	uint32_t cap_stacks = 0;
	struct field f;
	int r, err = 0;

	if (!st)
		return -ENOMEM;
	while (!err && (r = next_field(d, &f)) > 0)
		switch (f.num) {
		case ST_PID: st->pid = v_uint(&f, 0); break;
		case ST_TID: st->tid = v_uint(&f, 0); break;
		case ST_THREAD: v_name(&f, st->thread, sizeof(st->thread)); break;
		case ST_SEQ: st->seq = v_uint(&f, 0); break;
		case ST_START: st->start_ns = v_uint(&f, 0); break;
		case ST_START_UNIX: st->start_unix_ns = v_uint(&f, 0); break;
		case ST_DURATION: st->duration_ns = v_uint(&f, 0); break;
		case ST_ON_CPU: st->on_cpu_ns = v_uint(&f, 0); break;
		case ST_OFF_CPU: st->off_cpu_ns = v_uint(&f, 0); break;
		case ST_END_NR: st->end_nr = v_int(&f, 0); break;
		case ST_ONGOING: st->ongoing = v_uint(&f, 0); break;
		case ST_WAIT:
			if (f.wt == WT_BYTES && st->n_waits < LS_MAX_WAITS)
				err = read_wait(&st->waits[st->n_waits++], &f);
			break;
		case ST_SAMPLES_ON: st->samples_on = v_uint(&f, 0); break;
		case ST_SAMPLES_OFF: st->samples_off = v_uint(&f, 0); break;
		case ST_SAMPLES_SENT: st->samples_sent = v_uint(&f, 0); break;
		case ST_SAMPLES_LOST: st->samples_lost = v_uint(&f, 0); break;
		case ST_FIRST_SAMPLE: st->first_sample_ns = v_uint(&f, 0); break;
		case ST_LAST_SAMPLE: st->last_sample_ns = v_uint(&f, 0); break;
		case ST_STACK:
			if (f.wt != WT_BYTES)
				break;
			if (st->n_stacks == cap_stacks) {
				uint32_t cap = cap_stacks ? cap_stacks * 2 : 8;
				struct stack_count *v = realloc(st->stacks, cap * sizeof(*v));

				if (!v) {
					err = -ENOMEM;
					break;
				}
				st->stacks = v;
				cap_stacks = cap;
			}
			err = read_stack_count(rd, &st->stacks[st->n_stacks], &f);
			if (!err)
				st->n_stacks++;
			break;
		case ST_GIL_TID: st->gil_tid = v_uint(&f, 0); break;
		case ST_GIL_THREAD: v_name(&f, st->gil_thread, sizeof(st->gil_thread)); break;
		case ST_GIL_FRAMES:
			free(st->gil_frames);
			st->gil_frames = NULL;
			err = map_ids(rd, &f, &st->gil_frames, &st->n_gil_frames);
			break;
		}
	if (!err && r < 0)
		err = BAD;
	if (!err)
		err = add_stall(rd, st);
	if (err) {
		stall__free(st);
		if (err == -ENOENT) {	/* a frame or stack the file lacks */
			rd->rec->dropped_stalls++;
			err = 0;
		}
	}
	return err;
}

static int read_record(struct reader *rd, uint8_t type, const uint8_t *p, size_t n)
{
	struct dec d = { p, p + n };

	switch (type) {
	case REC_META: return read_meta(&rd->rec->meta, &d);
	case REC_FRAME: return read_frame(rd, &d);
	case REC_SOURCE: return read_source(rd, &d);
	case REC_STACK: return read_stack(rd, &d);
	case REC_STALL: return read_stall(rd, &d);
	case REC_END: return read_end(&rd->rec->meta, &d);
	}
	return 0;		/* a newer kind of record: skipped */
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The records of the file's data p (n bytes, after the header). */
static int read_records(struct reader *rd, const uint8_t *p, size_t n)
{
	struct recording *rec = rd->rec;
	size_t at = 0;

	while (at < n) {
		struct dec d = { p + at + 1, p + n };
		uint64_t len;
		size_t body;
		int err;

		if (!get_varint(&d, &len) || len > (uint64_t)(d.end - d.p) ||
		    d.end - d.p - len < 4) {
			/* cut short: the end of the file, or a garbled length */
			rec->truncated = true;
			rec->tail = len > MAX_PAYLOAD && d.p < d.end ?
				"a damaged record (impossible length)" :
				"the last record is cut short (the recorder was killed, or the disk was full)";
			return 0;
		}
		body = d.p - (p + at) + len;
		if (len > MAX_PAYLOAD || crc32(0, p + at, body) != le32(p + at + body)) {
			rec->truncated = true;
			rec->tail = "a damaged record (bad checksum)";
			return 0;
		}
		err = read_record(rd, p[at], d.p, len);
		if (err == BAD) {
			rec->truncated = true;
			rec->tail = "a malformed record";
			return 0;
		}
		if (err)
			return err;
		at += body + 4;
		rec->good_bytes += body + 4;
	}
	return 0;
}

static int read_file(const char *path, uint8_t **data, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0, cap = 1 << 16;
	uint8_t *p = NULL;
	struct stat sb;
	int err = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0)
		err = -errno;
	else if (S_ISDIR(sb.st_mode))
		err = -EISDIR;
	else if (S_ISREG(sb.st_mode) && sb.st_size > 0)
		cap = sb.st_size + 1;
	while (!err) {
		ssize_t r;

		if (n == cap || !p) {
			uint8_t *v = realloc(p, n == cap ? (cap *= 2) : cap);

			if (!v) {
				err = -ENOMEM;
				break;
			}
			p = v;
		}
		r = read(fd, p + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			err = -errno;
		if (r <= 0)
			break;
		n += r;
	}
	close(fd);
	if (err) {
		free(p);
		return err;
	}
	*data = p;
	*len = n;
	return 0;
}

int recording__read(struct recording *rec, const char *path, char *why, size_t len)
{
	struct reader rd = { .rec = rec };
	uint8_t *data = NULL;
	unsigned int version;
	size_t n = 0;
	int err;

	memset(rec, 0, sizeof(*rec));
	err = read_file(path, &data, &n);
	if (err) {
		snprintf(why, len, "%s", strerror(-err));
		return err;
	}
	rec->file_bytes = n;
	if (n == 0) {
		snprintf(why, len, "an empty file");
		err = -EINVAL;
		goto cleanup;
	}
	if (memcmp(data, MAGIC, n < 8 ? n : 8)) {
		snprintf(why, len, "it does not start with \"" MAGIC "\"");
		err = -EINVAL;
		goto cleanup;
	}
	if (n < HDR_LEN) {
		snprintf(why, len, "its header is cut short: %zu of %d bytes", n, HDR_LEN);
		err = -EINVAL;
		goto cleanup;
	}
	version = data[8] | data[9] << 8;
	if (version == 0) {
		snprintf(why, len, "corrupt header: format version 0");
		err = -EINVAL;
		goto cleanup;
	}
	if (version > LS_RECORD_VERSION) {
		snprintf(why, len, "record format %u; this loopstall reads formats up to %d: "
			 "upgrade loopstall", version, LS_RECORD_VERSION);
		err = -EPROTONOSUPPORT;
		goto cleanup;
	}
	rec->frames = frames__new();
	if (!rec->frames) {
		err = -ENOMEM;
	} else {
		rec->good_bytes = HDR_LEN;
		err = read_records(&rd, data + HDR_LEN, n - HDR_LEN);
	}
	if (err)
		snprintf(why, len, "%s", strerror(-err));
cleanup:
	for (uint32_t i = 0; i < rd.n_stacks; i++)
		free(rd.stacks[i].ids);
	free(rd.stacks);
	free(rd.fmap);
	free(data);
	return err;
}

void recording__free(struct recording *rec)
{
	free(rec->meta.host);
	free(rec->meta.command);
	free(rec->meta.python);
	free(rec->meta.loopstall);
	free(rec->meta.ended_by);
	frames__free(rec->frames);
	for (uint32_t i = 0; i < rec->n_stalls; i++)
		stall__free(rec->stalls[i]);
	free(rec->stalls);
	for (uint32_t i = 0; i < rec->n_sources; i++) {
		free(rec->sources[i].file);
		free(rec->sources[i].text);
	}
	free(rec->sources);
	memset(rec, 0, sizeof(*rec));
}
