// SPDX-License-Identifier: MIT
/* The recording's reader (recording.h): every complete record up to a cut
 * or damaged tail; stalls whose frames the file lacks are dropped. */
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
#include "wire.h"

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
	uint32_t cap_stalls, cap_sources, cap_procs;
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
	struct dec d;
	uint64_t id;

	*n = 0;
	if (f->wt != WT_BYTES)
		return 0;	/* f->p is NULL: no d of it */
	d = (struct dec){ f->p, f->p + f->n };
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
	if (sc->n_frames)	/* a stack of no frames may have no ids */
		memcpy(sc->frames, rd->stacks[id].ids, sc->n_frames * sizeof(*sc->frames));
	return 0;
}

/* The table's entry of pid, or NULL. */
static struct recorded_process *proc_of(struct recording *rec, uint32_t pid)
{
	for (uint32_t i = rec->n_procs; i-- > 0;)
		if (rec->procs[i].pid == pid)
			return &rec->procs[i];
	return NULL;
}

static struct recorded_process *new_proc(struct reader *rd, uint32_t pid)
{
	struct recording *rec = rd->rec;
	struct recorded_process *p;

	if (rec->n_procs == rd->cap_procs) {
		uint32_t cap = rd->cap_procs ? rd->cap_procs * 2 : 16;

		if (!(p = realloc(rec->procs, cap * sizeof(*p))))
			return NULL;
		rec->procs = p;
		rd->cap_procs = cap;
	}
	p = &rec->procs[rec->n_procs++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	return p;
}

/* A PROCESS record: the entry of its PID made, or brought up to date. */
static int read_process(struct reader *rd, struct dec *d)
{
	struct recorded_process v = { 0 }, *p;
	struct field f;
	int r, err = 0;

	while (!err && (r = next_field(d, &f)) > 0)
		switch (f.num) {
		case PR_PID: v.pid = v_uint(&f, 0); break;
		case PR_PPID: v.ppid = v_uint(&f, 0); break;
		case PR_TITLE: v_name(&f, v.title, sizeof(v.title)); break;
		case PR_PYTHON: free(v.python); err = v_str(&f, &v.python); break;
		case PR_START: v.start_unix_ns = v_uint(&f, 0); break;
		case PR_END: v.end_unix_ns = v_uint(&f, 0); break;
		}
	if (!err && r < 0)
		err = BAD;
	if (!err && v.pid && !(p = proc_of(rd->rec, v.pid)) && !(p = new_proc(rd, v.pid)))
		err = -ENOMEM;
	if (err || !v.pid) {
		free(v.python);
		return err;
	}
	free(p->python);
	*p = v;
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
		case ST_BEFORE_ATTACH: st->before_attach = v_uint(&f, 0); break;
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
		case ST_TASK_ID: st->task_id = v_uint(&f, 0); break;
		case ST_TASK_NAME: v_name(&f, st->task, sizeof(st->task)); break;
		case ST_TASK_FRAMES:
			free(st->task_frames);
			st->task_frames = NULL;
			err = map_ids(rd, &f, &st->task_frames, &st->n_task_frames);
			break;
		}
	if (!err && r < 0)
		err = BAD;
	if (!err) {
		const struct recorded_process *p = proc_of(rd->rec, st->pid);

		if (p)	/* its title as of this stall */
			memcpy(st->process, p->title, sizeof(st->process));
		err = add_stall(rd, st);
	}
	if (err) {
		stall__free(st);
		if (err == -ENOENT) {	/* a frame or stack the file lacks */
			rd->rec->dropped_stalls++;
			err = 0;
		}
	}
	return err;
}

/* Packed varints into v[0..max): how many, or BAD. */
static int packed(const struct field *f, uint64_t *v, int max)
{
	struct dec a;
	int k = 0;

	if (f->wt != WT_BYTES)
		return 0;	/* f->p is NULL: no a of it */
	a = (struct dec){ f->p, f->p + f->n };
	while (a.p < a.end && k < max)
		if (!get_varint(&a, &v[k++]))
			return BAD;
	return k;
}

static int read_await_site(struct reader *rd, const struct field *f)
{
	struct dec d = { f->p, f->p + f->n };
	struct await_site s = {};
	uint64_t id = 0, h[2 * AWAIT_BUCKETS] = {};	/* id 0 is left out */
	int nh = 0;
	struct field g;
	int r;

	while ((r = next_field(&d, &g)) > 0)
		switch (g.num) {
		case AS_FRAME: id = v_uint(&g, 0); break;
		case AS_COUNT: s.count = v_uint(&g, 0); break;
		case AS_TOTAL: s.total_ns = v_uint(&g, 0); break;
		case AS_MAX: s.max_ns = v_uint(&g, 0); break;
		case AS_HIST:	/* pairs: bucket, count */
			if ((nh = packed(&g, h, 2 * AWAIT_BUCKETS)) < 0)
				return BAD;
			break;
		}
	if (r < 0)
		return BAD;
	if (id >= rd->n_fmap || rd->fmap[id] == UINT32_MAX)
		return -ENOENT;
	s.frame = rd->fmap[id];
	for (int k = 0; k + 1 < nh; k += 2)
		if (h[k] < AWAIT_BUCKETS)
			s.hist[h[k]] += (uint32_t)h[k + 1];
	return awaits__add_site(&rd->rec->aw, &s);
}

static int read_await_seq(struct reader *rd, const struct field *f)
{
	struct dec d = { f->p, f->p + f->n };
	uint64_t ns[AWAITSEQ_MAX] = {}, count = 0;
	uint32_t *ids = NULL, n = 0;
	struct field g;
	int r, err = 0;

	while (!err && (r = next_field(&d, &g)) > 0)
		switch (g.num) {
		case AQ_FRAMES:
			free(ids);
			ids = NULL;
			err = map_ids(rd, &g, &ids, &n);
			break;
		case AQ_NS: err = packed(&g, ns, AWAITSEQ_MAX) < 0 ? BAD : 0; break;
		case AQ_COUNT: count = v_uint(&g, 0); break;
		}
	if (!err && r < 0)
		err = BAD;
	if (!err && n >= 2 && n <= AWAITSEQ_MAX && count)
		err = awaits__add_seq(&rd->rec->aw, ids, ns, n, (uint32_t)count);
	free(ids);
	return err;
}

/* AWAITS: waits counted since the last, added to the recording's. */
static int read_awaits(struct reader *rd, struct dec *d)
{
	struct field f;
	int r, err = 0;

	/* an entry naming a frame the file lacks is left out, alone */
	while ((!err || err == -ENOENT) && (r = next_field(d, &f)) > 0)
		if (f.num == AW_SITE && f.wt == WT_BYTES)
			err = read_await_site(rd, &f);
		else if (f.num == AW_SEQ && f.wt == WT_BYTES)
			err = read_await_seq(rd, &f);
	return err && err != -ENOENT ? err : r < 0 ? BAD : 0;
}

#define LAG_MAX	(LS_MAX_PROCS * 4)

static struct recorded_lag *lag_of(struct recording *rec, uint32_t pid, uint32_t tid)
{
	struct recorded_lag *v;

	for (uint32_t i = 0; i < rec->n_lags; i++)
		if (rec->lags[i].pid == pid && rec->lags[i].tid == tid)
			return &rec->lags[i];
	if (rec->n_lags >= LAG_MAX)
		return NULL;
	v = realloc(rec->lags, (rec->n_lags + 1) * sizeof(*v));
	if (!v)
		return NULL;
	rec->lags = v;
	v = &v[rec->n_lags++];
	memset(v, 0, sizeof(*v));
	v->pid = pid;
	v->tid = tid;
	return v;
}

static int read_lag(struct reader *rd, struct dec *d)
{
	struct recorded_lag v = {}, *to;
	uint64_t h[2 * LS_BUSY_BUCKETS];
	struct field f;
	int r, nh = 0;

	while ((r = next_field(d, &f)) > 0)
		switch (f.num) {
		case LG_PID: v.pid = v_uint(&f, 0); break;
		case LG_TID: v.tid = v_uint(&f, 0); break;
		case LG_THREAD: v_name(&f, v.thread, sizeof(v.thread)); break;
		case LG_COUNT: v.lag.count = v_uint(&f, 0); break;
		case LG_SUM: v.lag.sum_ns = v_uint(&f, 0); break;
		case LG_MAX: v.lag.max_ns = v_uint(&f, 0); break;
		case LG_HIST:	/* pairs: bucket, count */
			if ((nh = packed(&f, h, 2 * LS_BUSY_BUCKETS)) < 0)
				return BAD;
			break;
		}
	if (r < 0)
		return BAD;
	for (int k = 0; k + 1 < nh; k += 2)
		if (h[k] < LS_BUSY_BUCKETS)
			v.lag.hist[h[k]] += h[k + 1];
	if (!v.pid || !v.tid)
		return 0;
	/* more loops than a session can watch: damage, left out */
	if (!(to = lag_of(rd->rec, v.pid, v.tid)))
		return rd->rec->n_lags >= LAG_MAX ? 0 : -ENOMEM;
	*to = v;
	return 0;
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
	case REC_PROCESS: return read_process(rd, &d);
	case REC_AWAITS: return read_awaits(rd, &d);
	case REC_LAG: return read_lag(rd, &d);
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

/* A recording made before PROCESS records (or one whose META names a
 * process none describes): META's process is its table, its stalls that
 * process's. Where META lacks the Python version (a command started), the
 * first process's. 0 or -ENOMEM. */
static int procs_from_meta(struct reader *rd)
{
	struct recording *rec = rd->rec;
	struct recording_meta *m = &rec->meta;
	struct recorded_process *p;

	if (!rec->n_procs && m->pid) {
		if (!(p = new_proc(rd, m->pid)))
			return -ENOMEM;
		if (m->command)
			proctitle__from_cmdline(m->command, strlen(m->command), p->title,
						sizeof(p->title));
		if (m->python && !(p->python = strdup(m->python)))
			return -ENOMEM;
		p->start_unix_ns = m->start_unix_ns;
		for (uint32_t i = 0; i < rec->n_stalls; i++)
			if (rec->stalls[i]->pid == p->pid && !rec->stalls[i]->process[0])
				memcpy(rec->stalls[i]->process, p->title, sizeof(p->title));
	}
	for (uint32_t i = 0; !m->python && i < rec->n_procs; i++)
		if (rec->procs[i].python && !(m->python = strdup(rec->procs[i].python)))
			return -ENOMEM;
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
		if (!err)
			err = procs_from_meta(&rd);
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

struct source *recording__source(const struct recording *rec)
{
	struct source *src = source__new_recorded();

	for (uint32_t i = 0; src && i < rec->n_sources; i++) {
		const struct recorded_source *s = &rec->sources[i];

		if (!s->file || !s->text)
			continue;
		if (s->firstline)
			source__put_function(src, s->file, s->firstline, s->text);
		else
			source__put_line(src, s->file, s->line, s->text);
	}
	return src;
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
	for (uint32_t i = 0; i < rec->n_procs; i++)
		free(rec->procs[i].python);
	free(rec->procs);
	free(rec->lags);
	awaits__free(&rec->aw);
	memset(rec, 0, sizeof(*rec));
}
