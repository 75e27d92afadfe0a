// SPDX-License-Identifier: MIT
/* The recording reader (report/record_read.c) on any bytes, as `report`
 * reads a file from another machine: read, then a report built with the
 * default pack and printed in every format to /dev/null. Each record's
 * CRC-32 is mended first (wire.c's framing: type, varint length, payload,
 * CRC of the three), else a mutated payload would end the file as a
 * damaged record and never reach the decoders; bad checksums are
 * test_record's (flipped_byte). */
#include "fuzz.h"	/* first: _GNU_SOURCE */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "recording.h"
#include "report.h"
#include "rule.h"
#include "source.h"
#include "wire.h"

static struct rule_pack pack;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct rule_diags d = {};

	(void)argc;
	(void)argv;
	if (rules__load_default(&pack, &d)) {
		fprintf(stderr, "fuzz_record: the default pack does not load\n");
		abort();
	}
	rule_diags__free(&d);
	return 0;
}

/* Each complete record of p's data (after the header) with its right CRC. */
static void mend_crcs(uint8_t *p, size_t n)
{
	for (size_t at = HDR_LEN; at < n;) {
		struct dec d = { p + at + 1, p + n };
		uint64_t len;
		size_t body;
		uint32_t c;

		if (!get_varint(&d, &len) || len > (uint64_t)(d.end - d.p) ||
		    (size_t)(d.end - d.p) - len < 4)
			return;
		body = d.p - (p + at) + len;
		c = crc32(0, p + at, body);
		for (int i = 0; i < 4; i++)
			p[at + body + i] = c >> (8 * i);
		at += body + 4;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int (*const print[])(FILE *, const struct report *) = {
		report__text, report__json, report__collapsed, report__speedscope,
		report__html, report__sarif, report__junit, report__github, report__pprof,
	};
	struct report_filter f = {};
	struct recording rec;
	struct report r = {};
	struct source *src;
	char why[256];
	uint8_t *copy = malloc(size ? size : 1);
	const char *path;

	if (!copy)
		abort();
	memcpy(copy, data, size);
	mend_crcs(copy, size);
	path = fuzz_file(copy, size);
	free(copy);
	if (recording__read(&rec, path, why, sizeof(why))) {
		recording__free(&rec);
		return 0;
	}
	src = recording__source(&rec);
	if (src && !report__build(&r, &rec, "fuzz.lsr", &f, &pack, src)) {
		r.version = "fuzz";
		for (size_t i = 0; i < sizeof(print) / sizeof(print[0]); i++)
			print[i](fuzz_null(), &r);
	}
	report__free(&r);
	source__free(src);
	recording__free(&rec);
	return 0;
}
