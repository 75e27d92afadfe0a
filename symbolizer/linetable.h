/* SPDX-License-Identifier: MIT */
/* CPython 3.11+ location tables (code.co_linetable): code-unit offset -> line.
 *
 * The table is a list of entries, each covering 1..8 code units (2-byte
 * units of co_code, CACHE entries included). An entry starts with a byte
 * with bit 7 set: bits 3-6 are the kind, bits 0-2 the number of code units
 * minus one; the bytes that follow have bit 7 clear. Kinds (CPython
 * Objects/locations.md):
 *   0-9   short form: line unchanged, 1 byte of columns
 *   10-12 one-line form: line += kind - 10, 2 bytes (start, end column)
 *   13    no columns: line += svarint
 *   14    long form: line += svarint, then 3 varints (end line delta,
 *         start column + 1, end column + 1)
 *   15    no location: the code units have no line; the running line is
 *         left as it is for the entries that follow
 * varint: 6-bit chunks, least significant first, 0x40 = more chunks follow;
 * svarint: a varint v holding v >> 1, negated when v & 1.
 * The running line starts at co_firstlineno. The format is the same in
 * 3.11 to 3.15.
 */
#ifndef LS_LINETABLE_H
#define LS_LINETABLE_H
#include <stddef.h>
#include <stdint.h>

/* Line of the instruction at code-unit offset lasti (0-based, in 2-byte
 * code units), given the code object's co_linetable bytes and
 * co_firstlineno. Returns the line (> 0); 0 when the instruction has no
 * line (kind 15, or a line below 1 such as the line 0 of a module's
 * RESUME); -EINVAL when the table is malformed or truncated before the
 * entry holding lasti is complete, or lasti is past its end.
 * Reads nothing outside table[0, len): safe on bytes copied from another
 * process. Time is linear in the bytes before the entry holding lasti. */
int linetable__line(const uint8_t *table, size_t len, int firstlineno, uint32_t lasti);

#endif
