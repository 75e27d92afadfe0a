// SPDX-License-Identifier: MIT
/* Decoder of CPython 3.11+ location tables; format in linetable.h. */
#include <errno.h>
#include <limits.h>
#include "linetable.h"

enum {
	KIND_SHORT_LAST = 9,	/* 0-9: short forms */
	KIND_ONE_LINE0 = 10,	/* 10-12: one-line forms, line delta 0-2 */
	KIND_ONE_LINE2 = 12,
	KIND_NO_COLUMNS = 13,
	KIND_LONG = 14,
	KIND_NONE = 15,
};

/* A CPython varint holds an unsigned int: at most 6 chunks of 6 bits. */
#define VARINT_MAX_CHUNKS 6

/* Read one unsigned varint at table[*pos]; 0 or -EINVAL (runs past len,
 * hits an entry-start byte, more than 32 bits). */
static int read_varint(const uint8_t *table, size_t len, size_t *pos, uint32_t *out)
{
	uint64_t val = 0;

	for (unsigned int shift = 0, i = 0; i < VARINT_MAX_CHUNKS; i++, shift += 6) {
		uint8_t b;

		if (*pos >= len)
			return -EINVAL;
		b = table[(*pos)++];
		if (b & 0x80)
			return -EINVAL;
		val |= (uint64_t)(b & 0x3f) << shift;
		if (!(b & 0x40)) {
			if (val > UINT32_MAX)
				return -EINVAL;
			*out = (uint32_t)val;
			return 0;
		}
	}
	return -EINVAL;
}

static int read_svarint(const uint8_t *table, size_t len, size_t *pos, int64_t *out)
{
	uint32_t u;
	int err = read_varint(table, len, pos, &u);

	if (err)
		return err;
	*out = (u & 1) ? -(int64_t)(u >> 1) : (int64_t)(u >> 1);
	return 0;
}

/* Skip n plain bytes (bit 7 clear) of the current entry. */
static int skip_bytes(const uint8_t *table, size_t len, size_t *pos, unsigned int n)
{
	for (; n; n--) {
		if (*pos >= len || (table[*pos] & 0x80))
			return -EINVAL;
		(*pos)++;
	}
	return 0;
}

int linetable__line(const uint8_t *table, size_t len, int firstlineno, uint32_t lasti)
{
	int64_t line = firstlineno;
	uint64_t start = 0;	/* first code unit of the current entry */
	size_t pos = 0;

	if (!table)
		return -EINVAL;
	/* Each pass consumes at least one byte: at most len passes. */
	while (pos < len) {
		uint8_t head = table[pos++];
		unsigned int kind = (head >> 3) & 15;
		unsigned int units = (head & 7) + 1;
		int64_t delta = 0;
		uint32_t skip;
		int err = 0;

		if (!(head & 0x80))
			return -EINVAL;
		if (kind <= KIND_SHORT_LAST) {
			err = skip_bytes(table, len, &pos, 1);
		} else if (kind <= KIND_ONE_LINE2) {
			delta = kind - KIND_ONE_LINE0;
			err = skip_bytes(table, len, &pos, 2);
		} else if (kind == KIND_NO_COLUMNS) {
			err = read_svarint(table, len, &pos, &delta);
		} else if (kind == KIND_LONG) {
			err = read_svarint(table, len, &pos, &delta);
			for (int i = 0; !err && i < 3; i++)
				err = read_varint(table, len, &pos, &skip);
		}
		if (err)
			return err;
		line += delta;
		if (line < INT_MIN || line > INT_MAX)
			return -EINVAL;
		if (lasti < start + units) {
			if (kind == KIND_NONE || line < 1)
				return 0;
			return (int)line;
		}
		start += units;
	}
	return -EINVAL;
}
