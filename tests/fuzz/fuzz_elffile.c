// SPDX-License-Identifier: MIT
/* The ELF reader (symbolizer/elffile.c) on any file: the lookups target.c
 * and pyproc.c make of a python binary or libpython (a symbol and the
 * bytes at it, a section, the load layout). Build-id and debuglink are
 * libdwfl's (native.c), which needs a process: not here. */
#include "fuzz.h"	/* first: _GNU_SOURCE */
#include "elffile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const syms[] = { "_PyRuntime", "PyUnicode_Type", "main" };
	const char *path = fuzz_file(data, size);
	uint64_t value, vsize, first;
	uint8_t buf[64];
	int is_dyn;

	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		if (elf__find_symbol(path, syms[i], &value, &vsize))
			continue;
		elf__read_vaddr(path, value, buf, vsize < sizeof(buf) ? vsize : sizeof(buf));
		elf__find_symbol(path, syms[i], &value, NULL);
	}
	if (!elf__find_section(path, ".AsyncioDebug", &value, &vsize))
		elf__read_vaddr(path, value, buf, vsize < sizeof(buf) ? vsize : sizeof(buf));
	elf__find_section(path, ".text", &value, &vsize);
	elf__load_info(path, &is_dyn, &first);
	return 0;
}
