// SPDX-License-Identifier: MIT
/* Unit tests: `loopstall report -f pprof` (report/pprof.c) and the walk
 * it is made of (report__each_stack(), report/stacks.c). A recording is
 * built in code (four stalls: a sleep, a sleep then CPU work in two
 * segments with a rule each, a stall without a sample, a sleep with a
 * small folded "other" part); the profile is gunzipped and decoded here,
 * field by field, and checked: the string table, ids and references,
 * values adding up to the stalled time, frames innermost first, labels.
 * tests/e2e/test_pprof.py reads a real recording's with `go tool pprof`. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "report_fixture.h"
#include "rule.h"
#include "segments.h"
#include "syscalls.h"

static struct rule R_SLEEP = {
	.id = "LS020", .name = "time.sleep on the event loop",
	.category = CAT_SLEEP, .severity = SEV_ERROR, .fix = "await asyncio.sleep(seconds)",
};
static struct rule R_CPU = {
	.id = "LS072", .name = "hashing on the event loop",
	.category = CAT_CPU, .severity = SEV_WARNING, .fix = "asyncio.to_thread",
};

enum {
	F_NANOSLEEP, F_TIME_SLEEP, F_LOAD, F_HANDLE, F_RUN_ONCE, F_ENCODER, F_DUMPS,
	F_RENDER, F_HANDLE30, F_NOSYM, F_MODULE, F__N
};

static const struct frame FRAMES[F__N] = {
	[F_NANOSLEEP] = { .kind = FRAME_NATIVE, .function = "clock_nanosleep",
		.module = "/usr/lib/x86_64-linux-gnu/libc.so.6",
		.file = "../sysdeps/unix/sysv/linux/clock_nanosleep.c", .line = 48 },
	[F_TIME_SLEEP] = FX_TIME_SLEEP,
	[F_LOAD] = FX_LOAD,
	[F_HANDLE] = FX_HANDLE12,
	[F_RUN_ONCE] = FX_RUN_ONCE,
	[F_ENCODER] = FX_ENCODER,
	[F_DUMPS] = FX_DUMPS,
	[F_RENDER] = FX_RENDER,
	[F_HANDLE30] = FX_HANDLE30,
	[F_NOSYM] = { .kind = FRAME_NATIVE, .addr = 0x7f0000001234,
		.module = "/usr/lib/x86_64-linux-gnu/libcrypto.so.3" },
	[F_MODULE] = { .kind = FRAME_PYTHON, .user = true, .function = "<module>",
		.file = "/srv/app/main.py", .line = 5, .firstline = 1, .code = "main()" },
};

static const int SLEEP_STACK[] = { F_NANOSLEEP, F_TIME_SLEEP, F_LOAD, F_HANDLE, F_RUN_ONCE };
static const int CPU_STACK[] = { F_ENCODER, F_DUMPS, F_RENDER, F_HANDLE30, F_RUN_ONCE };
static const int OTHER_STACK[] = { F_NOSYM, F_MODULE };

static uint32_t ids[F__N];

/* Off-CPU samples sleep in clock_nanosleep. */
static void add_stack(struct stall *st, uint32_t kind, uint64_t ns, uint32_t count,
		      const int *fr, uint32_t n)
{
	fx_stack(st, kind, kind == LS_SAMPLE_ONCPU ? -1 : syscall__nr("clock_nanosleep"), ns,
		 count, ids, fr, n);
}

/* A finding of rule r for segment seg of st, with the segment's time. */
static void add_finding(struct stall *st, const struct rule *r, uint32_t seg, int site)
{
	fx_finding(st, r, seg, &FRAMES[site], NULL);
}

static struct stall *mk_stall(struct recording *rec, uint32_t pid, uint32_t tid,
			      const char *thread, uint64_t at, uint64_t dur, uint64_t on_cpu)
{
	struct stall *st = fx_stall(pid, tid, thread, at, dur, on_cpu);

	snprintf(st->process, sizeof(st->process), "%s",
		 pid == 4242 ? "python3 -m app" : "gunicorn: worker [app]");
	rec->stalls[rec->n_stalls++] = st;
	return st;
}

static void fixture(struct recording *rec)
{
	struct stall *st;

	fx_recording(rec, 4242, FRAMES, ids, F__N);
	rec->stalls = calloc(4, sizeof(*rec->stalls));
	cr_assert_not_null(rec->stalls);

	/* 1: a sleep of 199.5 ms in a 200 ms stall: 0.5 ms unsampled */
	st = mk_stall(rec, 4242, 4242, "MainThread", 1 * SEC, 200 * MS, MS / 2);
	add_stack(st, LS_SAMPLE_OFFCPU, 199500 * 1000, 1, SLEEP_STACK, N(SLEEP_STACK));
	/* 2: a sleep, then 60 ms on the CPU that 10 samples put at 50 ms
	 * (scaled up to 60): two segments, a rule each */
	st = mk_stall(rec, 4242, 4242, "MainThread", 5 * SEC, 210 * MS, 60 * MS);
	add_stack(st, LS_SAMPLE_OFFCPU, 150 * MS, 1, SLEEP_STACK, N(SLEEP_STACK));
	add_stack(st, LS_SAMPLE_ONCPU, 50 * MS, 10, CPU_STACK, N(CPU_STACK));
	/* 3: another process, no sample, no finding */
	mk_stall(rec, 4300, 4300, "loop-b", 12 * SEC, 120 * MS, 120 * MS);
	/* 4: a sleep and a small part elsewhere (folded into "other") */
	st = mk_stall(rec, 4242, 4242, "MainThread", 20 * SEC, 100 * MS, 0);
	add_stack(st, LS_SAMPLE_OFFCPU, 95 * MS, 1, SLEEP_STACK, N(SLEEP_STACK));
	add_stack(st, LS_SAMPLE_OFFCPU, 5 * MS, 2, OTHER_STACK, N(OTHER_STACK));

	for (uint32_t i = 0; i < rec->n_stalls; i++)
		cr_assert_eq(segments__build(rec->stalls[i], rec->frames), 0);
	cr_assert_eq(rec->stalls[1]->n_segments, 2);
	cr_assert_eq(rec->stalls[3]->n_segments, 2);
	cr_assert(rec->stalls[3]->segments[1].other);
	add_finding(rec->stalls[0], &R_SLEEP, 0, F_LOAD);
	add_finding(rec->stalls[1], &R_SLEEP, 0, F_LOAD);
	add_finding(rec->stalls[1], &R_CPU, 1, F_RENDER);
	add_finding(rec->stalls[3], &R_SLEEP, 0, F_LOAD);
}

/* ---- the profile, decoded --------------------------------------------- */

#define MAXN 128

struct d_label { uint64_t key, str, num; };
struct d_sample {
	uint64_t locs[MAXN];
	uint32_t n_locs;
	int64_t val[4];
	uint32_t n_vals;
	struct d_label labels[16];
	uint32_t n_labels;
};
struct d_loc { uint64_t id, mapping, address, fn; int64_t line; uint32_t n_lines; };
struct d_fn { uint64_t id; int64_t name, sys, file, start; };
struct d_map { uint64_t id; int64_t file; bool fns, files, lines; };
struct d_vt { int64_t type, unit; };

struct d_prof {
	struct d_vt types[4];
	uint32_t n_types;
	struct d_sample samples[MAXN];
	uint32_t n_samples;
	struct d_map maps[MAXN];
	uint32_t n_maps;
	struct d_loc locs[MAXN];
	uint32_t n_locs;
	struct d_fn fns[MAXN];
	uint32_t n_fns;
	char *strs[4 * MAXN];
	uint32_t n_strs;
	int64_t time_nanos, duration_nanos, period, default_type, comment;
	struct d_vt period_type;
};

struct rd {
	const uint8_t *p, *end;
};

static uint64_t rd_varint(struct rd *r)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		cr_assert_lt(r->p, r->end, "varint runs past its message");
		v |= (uint64_t)(*r->p & 0x7f) << shift;
		if (!(*r->p++ & 0x80))
			return v;
	}
	cr_assert_fail("varint longer than 10 bytes");
	return 0;
}

/* The next field: its number, and its value (varint) or its bytes (sub). */
static bool rd_field(struct rd *r, uint32_t *num, uint64_t *v, struct rd *sub)
{
	uint64_t key;

	if (r->p >= r->end)
		return false;
	key = rd_varint(r);
	*num = (uint32_t)(key >> 3);
	cr_assert_gt(*num, 0, "field number 0");
	switch (key & 7) {
	case 0:
		*v = rd_varint(r);
		sub->p = sub->end = NULL;
		return true;
	case 2:
		*v = rd_varint(r);
		cr_assert_leq(*v, (uint64_t)(r->end - r->p), "field %u runs past its message",
			      *num);
		sub->p = r->p;
		sub->end = r->p + *v;
		r->p += *v;
		return true;
	}
	cr_assert_fail("field %u: wire type %d (the writer uses 0 and 2 only)", *num,
		       (int)(key & 7));
	return false;
}

/* A repeated varint: packed (sub set) or one value. */
static void rd_repeated(uint64_t v, struct rd *sub, uint64_t *out, uint32_t *n, uint32_t max)
{
	if (!sub->p) {
		cr_assert_lt(*n, max);
		out[(*n)++] = v;
		return;
	}
	while (sub->p < sub->end) {
		cr_assert_lt(*n, max);
		out[(*n)++] = rd_varint(sub);
	}
}

/* The varint fields of a message by number, v[1] to v[n - 1] (0 when
 * absent, the last when repeated); fields numbered n or more skipped. */
static void rd_varints(struct rd r, uint64_t *v, uint32_t n)
{
	uint32_t num;
	uint64_t x;
	struct rd sub;

	memset(v, 0, n * sizeof(*v));
	while (rd_field(&r, &num, &x, &sub))
		if (num < n)
			v[num] = x;
}

static void d_value_type(struct rd r, struct d_vt *vt)
{
	uint64_t v[3];

	rd_varints(r, v, 3);
	*vt = (struct d_vt){ .type = (int64_t)v[1], .unit = (int64_t)v[2] };
}

static void d_sample(struct rd r, struct d_sample *s)
{
	uint32_t num;
	uint64_t v, vals[4];
	struct rd sub;

	memset(s, 0, sizeof(*s));
	while (rd_field(&r, &num, &v, &sub)) {
		if (num == 1)
			rd_repeated(v, &sub, s->locs, &s->n_locs, MAXN);
		else if (num == 2) {
			uint32_t n = 0;

			rd_repeated(v, &sub, vals, &n, 4);
			for (uint32_t i = 0; i < n; i++)
				s->val[s->n_vals++] = (int64_t)vals[i];
		} else if (num == 3) {
			uint64_t l[4];

			cr_assert_lt(s->n_labels, 16);
			rd_varints(sub, l, 4);
			s->labels[s->n_labels++] = (struct d_label){ .key = l[1], .str = l[2],
								     .num = l[3] };
		}
	}
}

static void d_location(struct rd r, struct d_loc *loc)
{
	uint32_t num, ln;
	uint64_t v, lv;
	struct rd sub, x;

	memset(loc, 0, sizeof(*loc));
	while (rd_field(&r, &num, &v, &sub)) {
		if (num == 1)
			loc->id = v;
		else if (num == 2)
			loc->mapping = v;
		else if (num == 3)
			loc->address = v;
		else if (num == 4) {
			loc->n_lines++;
			while (rd_field(&sub, &ln, &lv, &x))
				if (ln == 1)
					loc->fn = lv;
				else if (ln == 2)
					loc->line = (int64_t)lv;
		}
	}
}

static void d_function(struct rd r, struct d_fn *fn)
{
	uint64_t v[6];

	rd_varints(r, v, 6);
	*fn = (struct d_fn){ .id = v[1], .name = (int64_t)v[2], .sys = (int64_t)v[3],
			     .file = (int64_t)v[4], .start = (int64_t)v[5] };
}

static void d_mapping(struct rd r, struct d_map *m)
{
	uint64_t v[10];

	rd_varints(r, v, 10);
	*m = (struct d_map){ .id = v[1], .file = (int64_t)v[5], .fns = v[7], .files = v[8],
			     .lines = v[9] };
}

static void d_field(struct d_prof *d, uint32_t num, uint64_t v, struct rd sub)
{
	switch (num) {
	case 1: cr_assert_lt(d->n_types, 4); d_value_type(sub, &d->types[d->n_types++]); break;
	case 2: cr_assert_lt(d->n_samples, MAXN); d_sample(sub, &d->samples[d->n_samples++]); break;
	case 3: cr_assert_lt(d->n_maps, MAXN); d_mapping(sub, &d->maps[d->n_maps++]); break;
	case 4: cr_assert_lt(d->n_locs, MAXN); d_location(sub, &d->locs[d->n_locs++]); break;
	case 5: cr_assert_lt(d->n_fns, MAXN); d_function(sub, &d->fns[d->n_fns++]); break;
	case 6:
		cr_assert_lt(d->n_strs, 4 * MAXN);
		d->strs[d->n_strs++] = strndup((const char *)sub.p, sub.end - sub.p);
		break;
	case 9: d->time_nanos = (int64_t)v; break;
	case 10: d->duration_nanos = (int64_t)v; break;
	case 11: d_value_type(sub, &d->period_type); break;
	case 12: d->period = (int64_t)v; break;
	case 13: d->comment = (int64_t)v; break;
	case 14: d->default_type = (int64_t)v; break;
	default: cr_assert_fail("unexpected Profile field %u", num);
	}
}

static void gunzip(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
	z_stream z = {};
	size_t cap = 1 << 16;
	int zr;

	cr_assert_geq(len, 18, "not gzip: %zu bytes", len);
	cr_assert(in[0] == 0x1f && in[1] == 0x8b, "no gzip magic");
	cr_assert_eq(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
	*out = malloc(cap);
	*out_len = 0;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	do {
		if (*out_len == cap)
			cr_assert_not_null(*out = realloc(*out, cap *= 2));
		z.next_out = *out + *out_len;
		z.avail_out = (uInt)(cap - *out_len);
		zr = inflate(&z, Z_NO_FLUSH);
		cr_assert(zr == Z_OK || zr == Z_STREAM_END, "inflate: %d", zr);
		*out_len = cap - z.avail_out;
	} while (zr != Z_STREAM_END);
	cr_assert_eq(z.avail_in, 0, "bytes after the gzip stream");
	inflateEnd(&z);
}

static void decode(const uint8_t *gz, size_t len, struct d_prof *d)
{
	uint8_t *pb;
	size_t n;
	struct rd r, sub;
	uint32_t num;
	uint64_t v;

	memset(d, 0, sizeof(*d));
	gunzip(gz, len, &pb, &n);
	r = (struct rd){ pb, pb + n };
	while (rd_field(&r, &num, &v, &sub))
		d_field(d, num, v, sub);
	free(pb);
}

static void d_free(struct d_prof *d)
{
	for (uint32_t i = 0; i < d->n_strs; i++)
		free(d->strs[i]);
}

static const char *str(const struct d_prof *d, int64_t i)
{
	cr_assert(i >= 0 && (uint64_t)i < d->n_strs, "string index %lld of %u", (long long)i,
		  d->n_strs);
	return d->strs[i];
}

/* The report's pprof output, decoded. */
static void profile_of(const struct report *r, struct d_prof *d)
{
	size_t len;
	char *buf = fx_print(r, report__pprof, &len);

	decode((const uint8_t *)buf, len, d);
	free(buf);
}

static void with_fixture(void (*check)(const struct report *r, struct d_prof *d))
{
	struct recording rec;
	struct report r;
	static struct d_prof d;

	fixture(&rec);
	fx_report(&r, &rec, &ALL);
	profile_of(&r, &d);
	check(&r, &d);
	d_free(&d);
	report__free(&r);
	recording__free(&rec);
}

static const struct d_fn *fn_of(const struct d_prof *d, uint64_t loc_id)
{
	return &d->fns[d->locs[loc_id - 1].fn - 1];
}

/* The value of label key on s, or NULL. */
static const char *label(const struct d_prof *d, const struct d_sample *s, const char *key)
{
	for (uint32_t i = 0; i < s->n_labels; i++)
		if (!strcmp(str(d, (int64_t)s->labels[i].key), key))
			return str(d, (int64_t)s->labels[i].str);
	return NULL;
}

/* The one sample whose leaf function is leaf and rule label rule (NULL:
 * none). */
static const struct d_sample *sample(const struct d_prof *d, const char *leaf, const char *rule)
{
	const struct d_sample *found = NULL;

	for (uint32_t i = 0; i < d->n_samples; i++) {
		const struct d_sample *s = &d->samples[i];
		const char *r = label(d, s, "rule");

		if (strcmp(str(d, fn_of(d, s->locs[0])->name), leaf) ||
		    (rule ? !r || strcmp(r, rule) : r != NULL))
			continue;
		cr_assert_null(found, "two samples of %s under %s: not merged", leaf, rule);
		found = s;
	}
	cr_assert_not_null(found, "no sample of %s under %s", leaf, rule ? rule : "no rule");
	return found;
}

/* ---- the structure ------------------------------------------------------- */

static void check_structure(const struct report *r, struct d_prof *d)
{
	(void)r;
	cr_assert_gt(d->n_strs, 0);
	cr_assert_str_eq(d->strs[0], "", "string_table[0] must be \"\"");
	for (uint32_t i = 1; i < d->n_strs; i++)
		for (uint32_t j = i + 1; j < d->n_strs; j++)
			cr_assert_str_neq(d->strs[i], d->strs[j], "string %u twice", i);
	cr_assert_eq(d->n_types, 2);
	cr_assert_str_eq(str(d, d->types[0].type), "samples");
	cr_assert_str_eq(str(d, d->types[0].unit), "count");
	cr_assert_str_eq(str(d, d->types[1].type), "stall");
	cr_assert_str_eq(str(d, d->types[1].unit), "nanoseconds");
	cr_assert_str_eq(str(d, d->default_type), "stall");
	cr_assert_str_eq(str(d, d->period_type.type), "stall");
	cr_assert_str_eq(str(d, d->period_type.unit), "nanoseconds");
	cr_assert_eq(d->period, 1);
	cr_assert_str_eq(str(d, d->comment), "loopstall 0.1.0: stall time of run.lsr");
	/* ids: 1, 2, … in table order (Parca's rule), every reference exists */
	for (uint32_t i = 0; i < d->n_maps; i++) {
		cr_assert_eq(d->maps[i].id, i + 1);
		str(d, d->maps[i].file);
		cr_assert(d->maps[i].fns && d->maps[i].files && d->maps[i].lines);
	}
	for (uint32_t i = 0; i < d->n_fns; i++) {
		cr_assert_eq(d->fns[i].id, i + 1);
		cr_assert_neq(d->fns[i].name, 0, "function %u without a name", i + 1);
		str(d, d->fns[i].name);
		str(d, d->fns[i].sys);
		str(d, d->fns[i].file);
	}
	for (uint32_t i = 0; i < d->n_locs; i++) {
		cr_assert_eq(d->locs[i].id, i + 1);
		cr_assert_eq(d->locs[i].address, 0);
		cr_assert_leq(d->locs[i].mapping, d->n_maps);
		cr_assert_eq(d->locs[i].n_lines, 1);
		cr_assert(d->locs[i].fn >= 1 && d->locs[i].fn <= d->n_fns);
	}
	for (uint32_t i = 0; i < d->n_samples; i++) {
		const struct d_sample *s = &d->samples[i];

		cr_assert_eq(s->n_vals, 2);
		cr_assert_gt(s->n_locs, 0);
		for (uint32_t j = 0; j < s->n_locs; j++)
			cr_assert(s->locs[j] >= 1 && s->locs[j] <= d->n_locs,
				  "sample %u: location %llu of %u", i,
				  (unsigned long long)s->locs[j], d->n_locs);
		for (uint32_t j = 0; j < s->n_labels; j++) {
			cr_assert_neq(s->labels[j].key, 0);
			str(d, (int64_t)s->labels[j].key);
			cr_assert_neq(s->labels[j].str, 0, "string labels only");
			str(d, (int64_t)s->labels[j].str);
		}
	}
	cr_assert_eq(d->time_nanos, (int64_t)T0);
	cr_assert_eq(d->duration_nanos, (int64_t)(60 * SEC));
}

Test(pprof, structure_and_references)
{
	with_fixture(check_structure);
}

/* ---- values --------------------------------------------------------------- */

static void check_values(const struct report *r, struct d_prof *d)
{
	uint64_t ns = 0, count = 0;
	const struct d_sample *s;

	for (uint32_t i = 0; i < d->n_samples; i++) {
		count += (uint64_t)d->samples[i].val[0];
		ns += (uint64_t)d->samples[i].val[1];
	}
	cr_assert_eq(r->sum.stalled_ns, 630 * MS);
	cr_assert_eq(ns, r->sum.stalled_ns, "values add up to %llu ns, stalled %llu",
		     (unsigned long long)ns, (unsigned long long)r->sum.stalled_ns);
	cr_assert_eq(count, 1 + 1 + 10 + 1 + 2, "every sample counted once");
	/* equal stacks, equal labels: one sample (stalls 1, 2 and 4) */
	s = sample(d, "clock_nanosleep", "LS020");
	cr_assert_eq(s->val[0], 3);
	cr_assert_eq(s->val[1], (int64_t)(199500 * 1000 + 150 * MS + 95 * MS));
	/* on-CPU samples scaled to the measured on-CPU time, as segments do */
	s = sample(d, "encoder_listencode_list", "LS072");
	cr_assert_eq(s->val[0], 10);
	cr_assert_eq(s->val[1], (int64_t)(60 * MS));
	/* unsampled time (stall 1) and a stall without a sample (3) */
	s = sample(d, "[no stack]", "LS020");
	cr_assert_eq(s->val[0], 0);
	cr_assert_eq(s->val[1], (int64_t)(MS / 2));
	cr_assert_eq(s->n_locs, 1);
	s = sample(d, "[no stack]", NULL);
	cr_assert_eq(s->val[1], (int64_t)(120 * MS));
}

Test(pprof, values_add_up_to_the_stalled_time)
{
	with_fixture(check_values);
}

/* ---- frames --------------------------------------------------------------- */

static void check_frames(const struct report *r, struct d_prof *d)
{
	const struct d_sample *s = sample(d, "clock_nanosleep", "LS020");
	const char *want[] = { "clock_nanosleep", "time_sleep", "Repository.load", "handle",
			       "BaseEventLoop._run_once" };
	const struct d_fn *fn;
	const struct d_loc *loc;

	(void)r;
	cr_assert_eq(s->n_locs, 5);
	for (uint32_t i = 0; i < 5; i++)	/* the leaf first */
		cr_assert_str_eq(str(d, fn_of(d, s->locs[i])->name), want[i]);
	/* a Python frame: qualname, file, first line; its line; no system name
	 * (pprof would demangle "<module>" to nothing), the Python mapping */
	loc = &d->locs[s->locs[2] - 1];
	fn = fn_of(d, s->locs[2]);
	cr_assert_str_eq(str(d, fn->file), "/srv/app/repo.py");
	cr_assert_eq(fn->start, 38);
	cr_assert_eq(loc->line, 41);
	cr_assert_eq(fn->sys, 0);
	cr_assert_str_eq(str(d, d->maps[loc->mapping - 1].file), "[python]");
	cr_assert_eq(loc->mapping, 1, "the Python mapping first: pprof's main binary");
	/* a native frame: its module as the mapping, its source line if known */
	loc = &d->locs[s->locs[0] - 1];
	fn = fn_of(d, s->locs[0]);
	cr_assert_str_eq(str(d, d->maps[loc->mapping - 1].file),
			 "/usr/lib/x86_64-linux-gnu/libc.so.6");
	cr_assert_str_eq(str(d, fn->sys), "clock_nanosleep");
	cr_assert_str_eq(str(d, fn->file), "../sysdeps/unix/sysv/linux/clock_nanosleep.c");
	cr_assert_eq(loc->line, 48);
	/* a native frame without a symbol: its address and module as its name */
	s = sample(d, "0x7f0000001234 [libcrypto.so.3]", "LS020");
	cr_assert_str_eq(str(d, fn_of(d, s->locs[1])->name), "<module>");
	cr_assert_eq(s->val[1], (int64_t)(5 * MS));
	/* handle at two lines: two Locations, one Function; a frame on two
	 * stacks: one Location */
	s = sample(d, "encoder_listencode_list", "LS072");
	loc = &d->locs[s->locs[3] - 1];
	cr_assert_eq(loc->line, 30);
	cr_assert_neq(s->locs[3], sample(d, "clock_nanosleep", "LS020")->locs[3]);
	cr_assert_eq(loc->fn, d->locs[sample(d, "clock_nanosleep", "LS020")->locs[3] - 1].fn);
	cr_assert_eq(s->locs[4], sample(d, "clock_nanosleep", "LS020")->locs[4]);
}

Test(pprof, frames_innermost_first_with_files_and_lines)
{
	with_fixture(check_frames);
}

/* ---- labels --------------------------------------------------------------- */

static void check_labels(const struct report *r, struct d_prof *d)
{
	const struct d_sample *s = sample(d, "clock_nanosleep", "LS020");

	(void)r;
	cr_assert_str_eq(label(d, s, "category"), "sleep");
	cr_assert_str_eq(label(d, s, "process"), "python3 -m app");
	cr_assert_str_eq(label(d, s, "pid"), "4242");
	cr_assert_str_eq(label(d, s, "thread"), "MainThread");
	cr_assert_str_eq(label(d, s, "tid"), "4242");
	/* a segment's rule: the CPU part of stall 2 under its own finding's,
	 * not the stall's (LS020, more severe) */
	s = sample(d, "encoder_listencode_list", "LS072");
	cr_assert_str_eq(label(d, s, "category"), "cpu");
	/* no finding: no rule, no category; its own process */
	s = sample(d, "[no stack]", NULL);
	cr_assert_null(label(d, s, "category"));
	cr_assert_str_eq(label(d, s, "process"), "gunicorn: worker [app]");
	cr_assert_str_eq(label(d, s, "pid"), "4300");
	cr_assert_str_eq(label(d, s, "thread"), "loop-b");
}

Test(pprof, labels_per_segment)
{
	with_fixture(check_labels);
}

/* ---- the walk ------------------------------------------------------------- */

struct walk {
	uint64_t ns[8];
	uint32_t parts[8];
	const struct report *r;
};

static int walk_part(const struct stall_stack *s, void *ctx)
{
	struct walk *w = ctx;
	uint32_t i = 0;

	while (w->r->stalls[i] != s->st)
		i++;
	cr_assert_gt(s->ns, 0, "parts of no time are left out");
	cr_assert(s->sc || s->seg == -1);
	w->ns[i] += s->ns;
	w->parts[i]++;
	return 0;
}

static int stop_at_first(const struct stall_stack *s, void *ctx)
{
	(void)s;
	++*(int *)ctx;
	return -ECANCELED;
}

Test(pprof, each_stack_adds_up_to_each_stall)
{
	struct recording rec;
	struct report r;
	struct walk w = {};
	int calls = 0;

	fixture(&rec);
	cr_assert_eq(report__build(&r, &rec, "run.lsr", &ALL, NULL, NULL), 0);
	w.r = &r;
	cr_assert_eq(report__each_stack(&r, walk_part, &w), 0);
	for (uint32_t i = 0; i < r.n_stalls; i++)
		cr_assert_eq(w.ns[i], r.stalls[i]->duration_ns, "stall %u: %llu of %llu ns", i,
			     (unsigned long long)w.ns[i],
			     (unsigned long long)r.stalls[i]->duration_ns);
	cr_assert_eq(w.parts[0], 2);	/* the sleep, its unsampled 0.5 ms */
	cr_assert_eq(w.parts[2], 1);	/* all of it unsampled */
	cr_assert_eq(report__each_stack(&r, stop_at_first, &calls), -ECANCELED);
	cr_assert_eq(calls, 1);
	report__free(&r);
	recording__free(&rec);
}

/* Without segments (stalls never judged): the stacks' own weights, as the
 * collapsed stacks count them. */
Test(pprof, each_stack_without_segments)
{
	struct recording rec;
	struct report r;
	struct walk w = {};

	fixture(&rec);
	for (uint32_t i = 0; i < rec.n_stalls; i++) {
		struct stall *st = rec.stalls[i];

		for (uint32_t k = 0; k < st->n_findings; k++) {
			free(st->findings[k].file);
			free(st->findings[k].function);
		}
		free(st->findings);
		st->findings = NULL;
		st->n_findings = 0;
		segments__free(st);
	}
	cr_assert_eq(report__build(&r, &rec, "run.lsr", &ALL, NULL, NULL), 0);
	w.r = &r;
	cr_assert_eq(report__each_stack(&r, walk_part, &w), 0);
	cr_assert_eq(w.ns[0], 199500 * 1000);		/* no unsampled part */
	cr_assert_eq(w.ns[1], 200 * MS);		/* 150 + 50, not scaled */
	cr_assert_eq(w.ns[2], 120 * MS);
	report__free(&r);
	recording__free(&rec);
}

/* ---- edges ---------------------------------------------------------------- */

Test(pprof, empty_report)
{
	struct recording rec;
	struct report r;
	static struct d_prof d;
	const struct report_filter none = { .min_duration_ns = 10 * SEC };

	fixture(&rec);
	cr_assert_eq(report__build(&r, &rec, "run.lsr", &none, NULL, NULL), 0);
	cr_assert_eq(r.n_stalls, 0);
	profile_of(&r, &d);
	cr_assert_eq(d.n_samples, 0);
	cr_assert_eq(d.n_locs, 0);
	cr_assert_str_eq(d.strs[0], "");
	cr_assert_eq(d.n_types, 2);
	d_free(&d);
	report__free(&r);
	recording__free(&rec);
}

Test(pprof, write_error_is_eio)
{
	struct recording rec;
	struct report r;
	FILE *f = fopen("/dev/full", "w");

	cr_assert_not_null(f);
	setvbuf(f, NULL, _IONBF, 0);
	fixture(&rec);
	cr_assert_eq(report__build(&r, &rec, "run.lsr", &ALL, NULL, NULL), 0);
	cr_assert_eq(report__pprof(f, &r), -EIO);
	fclose(f);
	report__free(&r);
	recording__free(&rec);
}
