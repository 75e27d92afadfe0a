// SPDX-License-Identifier: MIT
/* The recording's writer (recording.h): a header, the meta record, then
 * each stall with the frames, stacks and sources it needs first, each
 * flushed whole in one write(2); the end record at close. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "outfile.h"
#include "recording.h"
#include "wire.h"

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
	bool created;
	int fd = outfile__open(path, false, &created);

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	return recorder__open_fd(fd, meta);
}

struct recorder *recorder__open_fd(int fd, const struct recording_meta *meta)
{
	struct recorder *r = calloc(1, sizeof(*r));
	uint8_t hdr[HDR_LEN] = MAGIC;
	int err;

	if (!r) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	hdr[8] = LS_RECORD_VERSION & 0xff;
	hdr[9] = LS_RECORD_VERSION >> 8;
	r->fd = fd;
	/* appended: a write after the file is cut back to its last whole
	 * stall goes at its new end */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_APPEND) < 0) {
		err = -errno;
		close(fd);
		free(r);
		errno = -err;
		return NULL;
	}
	buf_put(&r->out, hdr, sizeof(hdr));
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
	buf_reset(&r->pl);
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
	buf_reset(&r->pl);
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
	buf_reset(sub);
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
	buf_reset(&r->pl);
	f_uint(&r->pl, STK_ID, s->id);
	f_ids(&r->pl, STK_FRAMES, ids, n, &r->sub);
	put_record(&r->out, REC_STACK, &r->pl);
	return s->id;
}

/* The frames and stacks st references, into the file first; its stack
 * ids into sid, its GIL holder's frame ids into ids (*n_gil of them), its
 * task's into tids (*n_task). */
static int stall_refs(struct recorder *r, const struct stall *st, struct source *src,
		      uint32_t *sid, uint32_t *ids, uint32_t *n_gil, uint32_t *tids,
		      uint32_t *n_task)
{
	for (uint32_t i = 0; i < st->n_stacks; i++) {
		const struct stack_count *sc = &st->stacks[i];
		int n = file_frames(r, sc->frames, sc->n_frames, ids, src);

		if (n < 0)
			return n;
		if ((sid[i] = file_stack(r, ids, n)) == UINT32_MAX)
			return -ENOMEM;
	}
	if (st->n_gil_frames) {
		int n = file_frames(r, st->gil_frames, st->n_gil_frames, ids, src);

		if (n < 0)
			return n;
		*n_gil = n;
	}
	if (st->n_task_frames) {
		int n = file_frames(r, st->task_frames, st->n_task_frames, tids, src);

		if (n < 0)
			return n;
		*n_task = n;
	}
	return 0;
}

static void put_stack_count(struct buf *sub, const struct stack_count *sc, uint32_t sid)
{
	int n_args = 6;

	buf_reset(sub);
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
	f_uint(sub, SC_STACK, sid);
}

/* The stall record's payload. */
static void put_stall(struct recorder *r, const struct stall *st, const uint32_t *sid,
		      const uint32_t *gil_ids, uint32_t n_gil, const uint32_t *task_ids,
		      uint32_t n_task)
{
	struct buf *pl = &r->pl, *sub = &r->sub;

	buf_reset(pl);
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
	f_uint(pl, ST_BEFORE_ATTACH, st->before_attach);
	for (uint32_t i = 0; i < st->n_waits && i < LS_MAX_WAITS; i++) {
		buf_reset(sub);
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
		put_stack_count(sub, &st->stacks[i], sid[i]);
		f_sub(pl, ST_STACK, sub);
	}
	f_uint(pl, ST_GIL_TID, st->gil_tid);
	f_strn(pl, ST_GIL_THREAD, st->gil_thread, sizeof(st->gil_thread));
	if (n_gil)
		f_ids(pl, ST_GIL_FRAMES, gil_ids, n_gil, sub);
	if (st->task_id) {
		f_uint(pl, ST_TASK_ID, st->task_id);
		f_strn(pl, ST_TASK_NAME, st->task, sizeof(st->task));
	}
	if (n_task)
		f_ids(pl, ST_TASK_FRAMES, task_ids, n_task, sub);
}

/* r writes broken no more, and its frames are these (the same table on
 * every call). 0, r's write error, or -EINVAL. */
static int uses_frames(struct recorder *r, const struct frames *frames)
{
	if (r->broken)
		return r->broken;
	if (!r->frames)
		r->frames = frames;
	else if (r->frames != frames)
		return -EINVAL;
	return 0;
}

int recorder__stall(struct recorder *r, const struct stall *st, const struct frames *frames,
		    struct source *src)
{
	struct mark m = { r->n_frames, r->n_stacks, r->n_sources };
	uint32_t *sid = NULL, *ids = NULL, *tids = NULL, n_ids = 0, n_gil = 0, n_task = 0;
	int err = -ENOMEM;

	if ((err = uses_frames(r, frames)))
		return err;
	err = -ENOMEM;
	for (uint32_t i = 0; i < st->n_stacks; i++)
		n_ids = st->stacks[i].n_frames > n_ids ? st->stacks[i].n_frames : n_ids;
	n_ids = st->n_gil_frames > n_ids ? st->n_gil_frames : n_ids;
	sid = calloc(st->n_stacks ? st->n_stacks : 1, sizeof(*sid));
	ids = calloc(n_ids ? n_ids : 1, sizeof(*ids));
	tids = calloc(st->n_task_frames ? st->n_task_frames : 1, sizeof(*tids));
	if (!sid || !ids || !tids)
		goto cleanup;
	buf_reset(&r->out);
	err = stall_refs(r, st, src, sid, ids, &n_gil, tids, &n_task);
	if (err)
		goto cleanup;
	put_stall(r, st, sid, ids, n_gil, tids, n_task);
	put_record(&r->out, REC_STALL, &r->pl);
	err = flush(r);
cleanup:
	if (err)
		undo(r, &m);
	free(sid);
	free(ids);
	free(tids);
	return err;
}

/* The AWAITS payload into r->pl, over file ids fids (sites first, then
 * each sequence's frames). */
static void put_awaits(struct recorder *r, const struct awaits *a, const uint32_t *fids)
{
	struct buf sub = {}, ids = {};
	uint32_t k = a->n_sites;

	buf_reset(&r->pl);
	for (uint32_t i = 0; i < a->n_sites; i++) {
		const struct await_site *s = &a->sites[i];

		buf_reset(&sub);
		f_uint(&sub, AS_FRAME, fids[i]);
		f_uint(&sub, AS_COUNT, s->count);
		f_uint(&sub, AS_TOTAL, s->total_ns);
		f_uint(&sub, AS_MAX, s->max_ns);
		buf_reset(&ids);	/* the buckets used: bucket, count */
		for (int b = 0; b < AWAIT_BUCKETS; b++)
			if (s->hist[b]) {
				put_varint(&ids, b);
				put_varint(&ids, s->hist[b]);
			}
		f_sub(&sub, AS_HIST, &ids);
		f_sub(&r->pl, AW_SITE, &sub);
	}
	for (uint32_t i = 0; i < a->n_seqs; i++) {
		const struct await_seq *q = &a->seqs[i];

		buf_reset(&sub);
		f_ids(&sub, AQ_FRAMES, fids + k, q->n, &ids);
		k += q->n;
		buf_reset(&ids);
		for (uint32_t j = 0; j < q->n; j++)
			put_varint(&ids, q->ns[j]);
		f_sub(&sub, AQ_NS, &ids);
		f_uint(&sub, AQ_COUNT, q->count);
		f_sub(&r->pl, AW_SEQ, &sub);
	}
	if (sub.oom || ids.oom)
		r->pl.oom = true;
	free(sub.p);
	free(ids.p);
}

int recorder__awaits(struct recorder *r, const struct awaits *a, const struct frames *frames,
		     struct source *src)
{
	struct mark m = { r->n_frames, r->n_stacks, r->n_sources };
	uint32_t n = a->n_sites, *fids, k = 0;
	int err = 0;

	if ((err = uses_frames(r, frames)))
		return err;
	if (!a->n_sites && !a->n_seqs)
		return 0;
	for (uint32_t i = 0; i < a->n_seqs; i++)
		n += a->seqs[i].n;
	if (!(fids = calloc(n, sizeof(*fids))))
		return -ENOMEM;
	buf_reset(&r->out);
	for (uint32_t i = 0; i < a->n_sites && !err; i++)
		fids[k++] = file_frame(r, a->sites[i].frame, src, &err);
	for (uint32_t i = 0; i < a->n_seqs && !err; i++)
		for (uint32_t j = 0; j < a->seqs[i].n && !err; j++)
			fids[k++] = file_frame(r, a->seqs[i].frames[j], src, &err);
	for (uint32_t i = 0; i < k && !err; i++)
		if (fids[i] == UINT32_MAX)
			err = -EINVAL;		/* a frame the table lacks */
	if (!err) {
		put_awaits(r, a, fids);
		put_record(&r->out, REC_AWAITS, &r->pl);
		err = flush(r);
	}
	if (err)
		undo(r, &m);
	free(fids);
	return err;
}

int recorder__process(struct recorder *r, const struct recorded_process *p)
{
	if (r->broken)
		return r->broken;
	buf_reset(&r->out);
	buf_reset(&r->pl);
	f_uint(&r->pl, PR_PID, p->pid);
	f_uint(&r->pl, PR_PPID, p->ppid);
	f_strn(&r->pl, PR_TITLE, p->title, sizeof(p->title));
	f_str(&r->pl, PR_PYTHON, p->python);
	f_uint(&r->pl, PR_START, p->start_unix_ns);
	f_uint(&r->pl, PR_END, p->end_unix_ns);
	put_record(&r->out, REC_PROCESS, &r->pl);
	return flush(r);
}

int recorder__lag(struct recorder *r, uint32_t pid, uint32_t tid, const char *thread,
		  const struct lag *l)
{
	struct buf pairs = {};

	if (r->broken)
		return r->broken;
	buf_reset(&r->out);
	buf_reset(&r->pl);
	f_uint(&r->pl, LG_PID, pid);
	f_uint(&r->pl, LG_TID, tid);
	f_strn(&r->pl, LG_THREAD, thread, PYTHREAD_NAME_MAX);
	f_uint(&r->pl, LG_COUNT, l->count);
	f_uint(&r->pl, LG_SUM, l->sum_ns);
	f_uint(&r->pl, LG_MAX, l->max_ns);
	for (uint32_t b = 0; b < LS_BUSY_BUCKETS; b++)	/* the buckets used */
		if (l->hist[b]) {
			put_varint(&pairs, b);
			put_varint(&pairs, l->hist[b]);
		}
	f_sub(&r->pl, LG_HIST, &pairs);
	free(pairs.p);
	put_record(&r->out, REC_LAG, &r->pl);
	return flush(r);
}

int recorder__close(struct recorder *r, const struct recording_meta *end)
{
	int err;

	if (!r)
		return -EINVAL;
	err = r->broken;
	if (!err && end) {
		buf_reset(&r->out);
		buf_reset(&r->pl);
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
