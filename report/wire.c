// SPDX-License-Identifier: MIT
/* The record file's field encoding (wire.h): varints, zigzag integers,
 * tagged fields, nested messages, CRC-framed records; and their decoding. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "wire.h"

void buf_put(struct buf *b, const void *p, size_t n)
{
	if (b->oom || !n)
		return;		/* (p may be NULL when n is 0: memcpy's UB) */
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

void buf_reset(struct buf *b)
{
	b->n = 0;
	b->oom = false;
}

void put_varint(struct buf *b, uint64_t v)
{
	uint8_t o[10];
	int n = 0;

	do {
		o[n++] = (v & 0x7f) | (v > 0x7f ? 0x80 : 0);
		v >>= 7;
	} while (v);
	buf_put(b, o, n);
}

uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

void put_tag(struct buf *b, unsigned int field, enum wire wt)
{
	put_varint(b, (uint64_t)field << 3 | wt);
}

/* Fields equal to 0 (or NULL) are left out: readers default to them. */
void f_uint(struct buf *b, unsigned int field, uint64_t v)
{
	if (v) {
		put_tag(b, field, WT_VARINT);
		put_varint(b, v);
	}
}

void f_sint(struct buf *b, unsigned int field, int64_t v)
{
	f_uint(b, field, zigzag(v));
}

void f_bytes(struct buf *b, unsigned int field, const void *p, size_t n)
{
	put_tag(b, field, WT_BYTES);
	put_varint(b, n);
	buf_put(b, p, n);
}

/* A nested message (or packed list) built in sub. */
void f_sub(struct buf *b, unsigned int field, const struct buf *sub)
{
	if (sub->oom)
		b->oom = true;
	else
		f_bytes(b, field, sub->p, sub->n);
}

void f_str(struct buf *b, unsigned int field, const char *s)
{
	if (s)
		f_bytes(b, field, s, strlen(s));
}

void f_strn(struct buf *b, unsigned int field, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (n)
		f_bytes(b, field, s, n);
}

/* A record of payload pl appended to out: type, length, payload, CRC-32
 * of the three (little endian). */
void put_record(struct buf *out, enum rec_type type, const struct buf *pl)
{
	size_t at = out->n;
	uint8_t t = type, crc[4];
	uint32_t c;

	if (pl->oom)
		out->oom = true;
	buf_put(out, &t, 1);
	put_varint(out, pl->n);
	buf_put(out, pl->p, pl->n);
	if (out->oom)
		return;
	c = crc32(0, out->p + at, out->n - at);
	for (int i = 0; i < 4; i++)
		crc[i] = c >> (8 * i);
	buf_put(out, crc, 4);
}

bool get_varint(struct dec *d, uint64_t *v)
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

/* The next field of d: 1, 0 at the end, -1 malformed. */
int next_field(struct dec *d, struct field *f)
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
uint64_t v_uint(const struct field *f, uint64_t def)
{
	return f->wt == WT_VARINT ? f->u : def;
}

int64_t v_sint(const struct field *f, int64_t def)
{
	return f->wt == WT_VARINT ? unzigzag(f->u) : def;
}

int v_str(const struct field *f, char **s)
{
	if (f->wt != WT_BYTES)
		return 0;
	free(*s);
	*s = strndup((const char *)f->p, f->n);
	return *s ? 0 : -ENOMEM;
}

/* Drop a last character of s (n bytes) that its end cuts short: a
 * longer name (another writer's) or a damaged one. */
static void utf8_cut(char *s, size_t n)
{
	size_t at = n, need;
	unsigned char lead;

	while (at && ((unsigned char)s[at - 1] & 0xc0) == 0x80 && n - at < 3)
		at--;
	if (!at)
		return;
	lead = s[at - 1];
	need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
	if (at - 1 + need > n)
		s[at - 1] = 0;
}

void v_name(const struct field *f, char *name, size_t len)
{
	size_t n;

	if (f->wt != WT_BYTES)
		return;
	memset(name, 0, len);
	n = f->n < len - 1 ? f->n : len - 1;
	memcpy(name, f->p, n);
	utf8_cut(name, n);
}

int v_int(const struct field *f, int def)
{
	int64_t v = v_sint(f, def);

	return v < INT_MIN || v > INT_MAX ? def : (int)v;
}
