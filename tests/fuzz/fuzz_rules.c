// SPDX-License-Identifier: MIT
/* The rule loader (rules/load.c) on any YAML text of a pack, in either
 * format (`rules:`, `async_rules:`): every pack that loads, in part or
 * whole, is freed with its diagnostics. */
#include "fuzz.h"	/* first: _GNU_SOURCE */
#include "rule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rule_pack pack = {};
	struct rule_diags d = {};

	rules__load(&pack, fuzz_file(data, size), &d);
	rules__free(&pack);
	rule_diags__free(&d);
	return 0;
}
