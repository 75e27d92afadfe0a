/* SPDX-License-Identifier: MIT */
/* ELF helpers: symbols and data of a binary on disk (libelf). */
#ifndef LS_ELF_H
#define LS_ELF_H
#include <stddef.h>
#include <stdint.h>

/* Value (vaddr) and size of a symbol from .dynsym or .symtab: 0 or -errno
 * (-ENOENT when the file has no such symbol). */
int elf__find_symbol(const char *path, const char *name, uint64_t *value,
		     uint64_t *size);
/* Read len bytes at link-time address vaddr from the file's sections. */
int elf__read_vaddr(const char *path, uint64_t vaddr, void *buf, size_t len);
/* Link-time address and size of the section called name (".AsyncioDebug"):
 * 0, or -errno (-ENOENT: no such section). */
int elf__find_section(const char *path, const char *name, uint64_t *vaddr,
		      uint64_t *size);



/* The file's type and the page-aligned vaddr of its first PT_LOAD, from
 * which a process's load bias follows: 0 for ET_EXEC, else the address of
 * the mapping at file offset 0 minus first_vaddr. */
int elf__load_info(const char *path, int *is_dyn, uint64_t *first_vaddr);
#endif
