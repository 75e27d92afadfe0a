// SPDX-License-Identifier: MIT
/* Stall time as a pprof profile: profile.proto (github.com/google/pprof,
 * proto/profile.proto), gzipped, for `go tool pprof`, Pyroscope and
 * Parca. docs/report.md says what is in it.
 *
 * Each stack of each stall (report__each_stack(): the time it stands for,
 * the stall's unsampled time as "[no stack]") becomes a sample labelled
 * with the rule and category its time counts under, the process, PID,
 * thread and TID; equal stacks with equal labels are one sample. Frames
 * become locations with one line each (innermost first, as pprof wants),
 * without addresses: a Python frame is its function (qualname, file, first
 * line) at its line, a native one its symbol in a mapping named after its
 * module. Ids are numbered 1, 2, … in table order (Parca wants that). The
 * message is built in memory, then deflated to the stream. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "fmt.h"
#include "report.h"
#include "wire.h"

/* ---- the protobuf encoding: the record file's (wire.h) --------------- */

/* A sub-message (or packed list) built in m, as field of b; m emptied for
 * the next, its failure kept in b. */
static void put_msg(struct buf *b, unsigned int field, struct buf *m)
{
	f_sub(b, field, m);
	buf_reset(m);
}

/* ---- keys interned: each new one gets the next index ----------------- */

struct ikey {
	char *p;			/* a copy, NUL-terminated */
	uint32_t len;
};

struct itab {
	struct ikey *v;
	uint32_t n, cap;
	uint32_t *slots;		/* index + 1; 0: empty */
	uint32_t n_slots;		/* a power of two, over twice n */
};

static uint64_t hash_of(const void *key, uint32_t len)
{
	const uint8_t *p = key;
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */

	for (uint32_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static uint32_t *itab__slot(const struct itab *t, const void *key, uint32_t len)
{
	uint32_t mask = t->n_slots - 1, i = (uint32_t)hash_of(key, len) & mask;

	for (;; i = (i + 1) & mask) {
		const struct ikey *k = t->slots[i] ? &t->v[t->slots[i] - 1] : NULL;

		if (!k || (k->len == len && !memcmp(k->p, key, len)))
			return &t->slots[i];
	}
}

static int itab__grow(struct itab *t)
{
	uint32_t n = t->n_slots ? 2 * t->n_slots : 64;
	uint32_t *old = t->slots, old_n = t->n_slots;

	t->slots = calloc(n, sizeof(*t->slots));
	if (!t->slots) {
		t->slots = old;
		return -ENOMEM;
	}
	t->n_slots = n;
	for (uint32_t i = 0; i < old_n; i++)
		if (old[i])
			*itab__slot(t, t->v[old[i] - 1].p, t->v[old[i] - 1].len) = old[i];
	free(old);
	return 0;
}

/* The index of key (added when new), or -ENOMEM. */
static int64_t itab__get(struct itab *t, const void *key, uint32_t len)
{
	uint32_t *slot;
	struct ikey *k;

	if (2 * (t->n + 1) > t->n_slots && itab__grow(t))
		return -ENOMEM;
	slot = itab__slot(t, key, len);
	if (*slot)
		return *slot - 1;
	if (t->n == t->cap) {
		uint32_t cap = t->cap ? 2 * t->cap : 64;

		k = realloc(t->v, cap * sizeof(*k));
		if (!k)
			return -ENOMEM;
		t->v = k;
		t->cap = cap;
	}
	k = &t->v[t->n];
	k->p = malloc(len + 1);
	if (!k->p)
		return -ENOMEM;
	memcpy(k->p, key, len);
	k->p[len] = '\0';
	k->len = len;
	*slot = ++t->n;
	return t->n - 1;
}

static void itab__free(struct itab *t)
{
	for (uint32_t i = 0; i < t->n; i++)
		free(t->v[i].p);
	free(t->v);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/* Room for n elements of size sz in *v (capacity *cap), zeroed. */
static int reserve(void **v, uint32_t *cap, uint32_t n, size_t sz)
{
	uint32_t c = *cap ? *cap : 64;
	void *p;

	if (n <= *cap)
		return 0;
	while (c < n)
		c *= 2;
	p = realloc(*v, c * sz);
	if (!p)
		return -ENOMEM;
	memset((char *)p + *cap * sz, 0, (c - *cap) * sz);
	*v = p;
	*cap = c;
	return 0;
}

/* ---- the profile's tables -------------------------------------------- */

/* The labels of a sample, in this order; their values are string ids. */
enum { L_RULE, L_CATEGORY, L_PROCESS, L_PID, L_THREAD, L_TID, L__N };
static const char *const label_keys[L__N] = {
	[L_RULE] = "rule", [L_CATEGORY] = "category", [L_PROCESS] = "process",
	[L_PID] = "pid", [L_THREAD] = "thread", [L_TID] = "tid",
};

/* The mapping of every Python frame: the first (pprof's "main binary"),
 * virtual as "[vdso]" is. */
#define PYTHON_MAPPING "[python]"

struct pp_fn { int64_t name, system_name, file, start_line; };
struct pp_loc { uint32_t fn, map; int64_t line; };	/* fn, map: index + 1 */
struct pp_val { uint64_t count, ns; };

struct pprof {
	const struct report *r;
	struct itab strs;		/* the string table */
	struct itab fns;		/* functions, by their fields */
	struct itab maps;		/* mappings, by module path */
	struct itab samples;		/* by labels and locations */
	struct pp_fn *fn;		/* per fns key */
	uint32_t fn_cap;
	int64_t *map_file;		/* per maps key: its file's string */
	uint32_t map_cap;
	struct pp_loc *loc;
	uint32_t n_loc, loc_cap;
	uint32_t *loc_of;		/* per frame id: location index + 1 */
	uint32_t n_frames;
	uint32_t no_stack;		/* the "[no stack]" location + 1 */
	struct pp_val *val;		/* per samples key */
	uint32_t val_cap;
	uint32_t *key;			/* a sample's key being built */
	uint32_t key_cap;
	int64_t label_key[L__N];
};

static int64_t pprof__str(struct pprof *pp, const char *s)
{
	return itab__get(&pp->strs, s ? s : "", s ? (uint32_t)strlen(s) : 0);
}

/* The mapping of a native module: index + 1, 0 for none, -ENOMEM. */
static int64_t pprof__map(struct pprof *pp, const char *module)
{
	int64_t m, file;

	if (!module)
		return 0;
	m = itab__get(&pp->maps, module, (uint32_t)strlen(module));
	if (m < 0 || reserve((void **)&pp->map_file, &pp->map_cap, pp->maps.n,
			     sizeof(*pp->map_file)))
		return -ENOMEM;
	if (!pp->map_file[m]) {
		if ((file = pprof__str(pp, module)) < 0)
			return -ENOMEM;
		pp->map_file[m] = file;
	}
	return m + 1;
}

/* The function of a frame: index + 1, or -ENOMEM. Python: its qualname
 * in its file from its first line, without a system name (pprof would
 * take "<module>" for a C++ template and demangle it away); native: its
 * symbol, as system name too (pprof demangles C++), or its address and
 * module, in its source file when known. */
static int64_t pprof__fn(struct pprof *pp, const struct frame *fr)
{
	struct pp_fn f = { .start_line = fr->kind == FRAME_PYTHON ? fr->firstline : 0 };
	char buf[512];
	const char *name = fr->function ? fr->function : "?";
	int64_t i;

	if (fr->kind == FRAME_NATIVE && !fr->function)
		name = fmt_frame_label(fr, buf, sizeof(buf));
	f.name = pprof__str(pp, name);
	f.system_name = fr->kind == FRAME_NATIVE ? f.name : 0;
	f.file = pprof__str(pp, fr->file);
	if (f.name < 0 || f.file < 0)
		return -ENOMEM;
	i = itab__get(&pp->fns, &f, sizeof(f));
	if (i < 0 || reserve((void **)&pp->fn, &pp->fn_cap, pp->fns.n, sizeof(*pp->fn)))
		return -ENOMEM;
	pp->fn[i] = f;
	return i + 1;
}

static int pprof__new_loc(struct pprof *pp, int64_t fn, int64_t map, int64_t line)
{
	if (reserve((void **)&pp->loc, &pp->loc_cap, pp->n_loc + 1, sizeof(*pp->loc)))
		return -ENOMEM;
	pp->loc[pp->n_loc++] = (struct pp_loc){ .fn = (uint32_t)fn, .map = (uint32_t)map,
						.line = line };
	return 0;
}

/* The location of frame id: index + 1; 0 when the frame is unknown,
 * -ENOMEM. One per frame: frames are interned, equal ones share an id. */
static int64_t pprof__loc(struct pprof *pp, uint32_t id)
{
	const struct frame *fr = frames__get(pp->r->rec->frames, id);
	int64_t fn, map;

	if (!fr || id >= pp->n_frames)
		return 0;
	if (pp->loc_of[id])
		return pp->loc_of[id];
	fn = pprof__fn(pp, fr);
	map = pprof__map(pp, fr->kind == FRAME_NATIVE ? fr->module : PYTHON_MAPPING);
	if (fn < 0 || map < 0 || pprof__new_loc(pp, fn, map, fr->line > 0 ? fr->line : 0))
		return -ENOMEM;
	return pp->loc_of[id] = pp->n_loc;
}

static int64_t pprof__no_stack(struct pprof *pp)
{
	static const struct frame none = { .kind = FRAME_PYTHON, .function = "[no stack]" };
	int64_t fn;

	if (pp->no_stack)
		return pp->no_stack;
	fn = pprof__fn(pp, &none);
	if (fn < 0 || pprof__new_loc(pp, fn, 0, 0))
		return -ENOMEM;
	return pp->no_stack = pp->n_loc;
}

/* ---- samples ---------------------------------------------------------- */

/* The finding a part of a stall counts under: its segment's primary
 * finding, else the stall's (as the summary's categories count it). */
static const struct finding *finding_of(const struct stall_stack *s)
{
	const struct finding *fd = NULL;

	if (s->seg >= 0)
		fd = stall__segment_primary(s->st, (uint32_t)s->seg);
	return fd ? fd : stall__primary(s->st);
}

static int pprof__labels(struct pprof *pp, const struct stall_stack *s, uint32_t *l)
{
	const struct finding *fd = finding_of(s);
	const struct stall *st = s->st;
	char pid[16], tid[16];
	const char *v[L__N] = {
		[L_RULE] = fd ? fd->rule->id : NULL,
		[L_CATEGORY] = fd ? rule_category_name(fd->rule->category) : NULL,
		[L_PROCESS] = st->process[0] ? st->process : NULL,
		[L_PID] = pid, [L_THREAD] = st->thread[0] ? st->thread : NULL, [L_TID] = tid,
	};

	snprintf(pid, sizeof(pid), "%u", st->pid);
	snprintf(tid, sizeof(tid), "%u", st->tid);
	for (int i = 0; i < L__N; i++) {
		int64_t id = v[i] ? pprof__str(pp, v[i]) : 0;

		if (id < 0)
			return -ENOMEM;
		l[i] = (uint32_t)id;	/* 0 (""): no such label */
	}
	return 0;
}

/* report__each_stack()'s callback: a part of a stall into its sample,
 * keyed by its labels and locations (innermost first). */
static int pprof__add(const struct stall_stack *s, void *ctx)
{
	struct pprof *pp = ctx;
	uint32_t n_frames = s->sc ? s->sc->n_frames : 0, n = L__N;
	int64_t i;

	if (reserve((void **)&pp->key, &pp->key_cap, L__N + n_frames + 1, sizeof(*pp->key)) ||
	    pprof__labels(pp, s, pp->key))
		return -ENOMEM;
	for (uint32_t j = 0; j < n_frames; j++) {
		int64_t loc = pprof__loc(pp, s->sc->frames[j]);

		if (loc < 0)
			return -ENOMEM;
		if (loc)
			pp->key[n++] = (uint32_t)loc;
	}
	if (n == L__N) {
		int64_t loc = pprof__no_stack(pp);

		if (loc < 0)
			return -ENOMEM;
		pp->key[n++] = (uint32_t)loc;
	}
	i = itab__get(&pp->samples, pp->key, n * sizeof(*pp->key));
	if (i < 0 || reserve((void **)&pp->val, &pp->val_cap, pp->samples.n, sizeof(*pp->val)))
		return -ENOMEM;
	pp->val[i].count += s->sc ? s->sc->count : 0;
	pp->val[i].ns += s->ns;
	return 0;
}

/* ---- the message ------------------------------------------------------ */

/* The strings every profile names, interned first (pprof__init()): their
 * ids are fixed. */
enum { S_SAMPLES = 1, S_COUNT, S_STALL, S_NANOSECONDS, S__N };
static const char *const fixed_strs[S__N] = {
	[S_SAMPLES] = "samples", [S_COUNT] = "count", [S_STALL] = "stall",
	[S_NANOSECONDS] = "nanoseconds",
};

/* Scratch buffers for nested messages: m for a table entry, s for a
 * message or packed list inside it. */
struct scratch {
	struct buf m, s;
};

static void put_value_type(struct buf *b, struct buf *m, unsigned int field, int64_t type,
			   int64_t unit)
{
	f_uint(m, 1, (uint64_t)type);
	f_uint(m, 2, (uint64_t)unit);
	put_msg(b, field, m);
}

/* Sample i: its locations (innermost first) and values, packed lists,
 * and its labels. */
static void put_sample(struct buf *b, struct scratch *x, const struct pprof *pp, uint32_t i)
{
	const struct ikey *k = &pp->samples.v[i];
	const uint32_t *key = (const uint32_t *)k->p;
	uint32_t n = k->len / sizeof(*key);

	for (uint32_t j = L__N; j < n; j++)
		put_varint(&x->s, key[j]);
	put_msg(&x->m, 1, &x->s);
	put_varint(&x->s, pp->val[i].count);
	put_varint(&x->s, pp->val[i].ns);
	put_msg(&x->m, 2, &x->s);
	for (int j = 0; j < L__N; j++) {
		if (!key[j])
			continue;
		f_uint(&x->s, 1, (uint64_t)pp->label_key[j]);
		f_uint(&x->s, 2, key[j]);
		put_msg(&x->m, 3, &x->s);
	}
	put_msg(b, 2, &x->m);
}

static void put_tables(struct buf *b, struct scratch *x, const struct pprof *pp)
{
	for (uint32_t i = 0; i < pp->maps.n; i++) {
		f_uint(&x->m, 1, i + 1);
		f_uint(&x->m, 5, (uint64_t)pp->map_file[i]);
		f_uint(&x->m, 7, 1);	/* has_functions, filenames, line numbers */
		f_uint(&x->m, 8, 1);
		f_uint(&x->m, 9, 1);
		put_msg(b, 3, &x->m);
	}
	for (uint32_t i = 0; i < pp->n_loc; i++) {
		f_uint(&x->m, 1, i + 1);
		f_uint(&x->m, 2, pp->loc[i].map);
		f_uint(&x->s, 1, pp->loc[i].fn);
		f_uint(&x->s, 2, (uint64_t)pp->loc[i].line);
		put_msg(&x->m, 4, &x->s);
		put_msg(b, 4, &x->m);
	}
	for (uint32_t i = 0; i < pp->fns.n; i++) {
		f_uint(&x->m, 1, i + 1);
		f_uint(&x->m, 2, (uint64_t)pp->fn[i].name);
		f_uint(&x->m, 3, (uint64_t)pp->fn[i].system_name);
		f_uint(&x->m, 4, (uint64_t)pp->fn[i].file);
		f_uint(&x->m, 5, (uint64_t)pp->fn[i].start_line);
		put_msg(b, 5, &x->m);
	}
	for (uint32_t i = 0; i < pp->strs.n; i++)
		f_bytes(b, 6, pp->strs.v[i].p, pp->strs.v[i].len);
}

/* The Profile message into b. Every string it names is interned already
 * (pprof__init(), pprof__add()). */
static int pprof__encode(const struct pprof *pp, struct buf *b, int64_t comment)
{
	struct scratch x = {};

	put_value_type(b, &x.m, 1, S_SAMPLES, S_COUNT);
	put_value_type(b, &x.m, 1, S_STALL, S_NANOSECONDS);
	for (uint32_t i = 0; i < pp->samples.n; i++)
		put_sample(b, &x, pp, i);
	put_tables(b, &x, pp);
	f_uint(b, 9, pp->r->from_unix_ns);
	f_uint(b, 10, pp->r->span_ns);
	/* period: one nanosecond, values are times measured, not counts */
	put_value_type(b, &x.m, 11, S_STALL, S_NANOSECONDS);
	f_uint(b, 12, 1);
	f_uint(b, 13, (uint64_t)comment);
	f_uint(b, 14, S_STALL);		/* the default sample type */
	free(x.m.p);
	free(x.s.p);
	return b->oom ? -ENOMEM : 0;
}

/* ---- the whole -------------------------------------------------------- */

static void pprof__free(struct pprof *pp)
{
	itab__free(&pp->strs);
	itab__free(&pp->fns);
	itab__free(&pp->maps);
	itab__free(&pp->samples);
	free(pp->fn);
	free(pp->map_file);
	free(pp->loc);
	free(pp->loc_of);
	free(pp->val);
	free(pp->key);
	memset(pp, 0, sizeof(*pp));
}

/* The string table's fixed part: "", fixed_strs[], the label keys and
 * the comment (its id into *comment). */
static int pprof__init(struct pprof *pp, const struct report *r, int64_t *comment)
{
	const struct frames *frames = r->rec->frames;
	char buf[512];

	memset(pp, 0, sizeof(*pp));
	pp->r = r;
	pp->n_frames = frames ? frames__count(frames) : 0;
	pp->loc_of = calloc(pp->n_frames ? pp->n_frames : 1, sizeof(*pp->loc_of));
	if (!pp->loc_of || pprof__str(pp, "") != 0)
		return -ENOMEM;
	for (int i = S_SAMPLES; i < S__N; i++)
		if (pprof__str(pp, fixed_strs[i]) != i)
			return -ENOMEM;
	for (int i = 0; i < L__N; i++)
		if ((pp->label_key[i] = pprof__str(pp, label_keys[i])) < 0)
			return -ENOMEM;
	if (pprof__map(pp, PYTHON_MAPPING) != 1)
		return -ENOMEM;
	snprintf(buf, sizeof(buf), "loopstall %s: stall time of %s", r->version ? r->version : "",
		 fmt_base(r->name));
	*comment = pprof__str(pp, buf);
	return *comment < 0 ? -ENOMEM : 0;
}

/* len bytes of p, gzipped, to f. */
static int gzip_write(FILE *f, const uint8_t *p, size_t len)
{
	z_stream z = {};
	uint8_t out[16384];
	int zr, err = 0;

	if (len > UINT32_MAX)
		return -EFBIG;
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)p;
	z.avail_in = (uInt)len;
	do {
		size_t n;

		z.next_out = out;
		z.avail_out = sizeof(out);
		zr = deflate(&z, Z_FINISH);
		if (zr == Z_STREAM_ERROR) {
			err = -EIO;
			goto cleanup;
		}
		n = sizeof(out) - z.avail_out;
		if (fwrite(out, 1, n, f) != n) {
			err = -EIO;
			goto cleanup;
		}
	} while (zr != Z_STREAM_END);
cleanup:
	deflateEnd(&z);
	return err;
}

int report__pprof(FILE *f, const struct report *r)
{
	struct pprof pp;
	struct buf b = {};
	int64_t comment;
	int err;

	err = pprof__init(&pp, r, &comment);
	if (err)
		goto cleanup;
	err = report__each_stack(r, pprof__add, &pp);
	if (err)
		goto cleanup;
	err = pprof__encode(&pp, &b, comment);
	if (err)
		goto cleanup;
	err = gzip_write(f, b.p, b.n);
	if (!err && ferror(f))
		err = -EIO;
cleanup:
	pprof__free(&pp);
	free(b.p);
	return err;
}
