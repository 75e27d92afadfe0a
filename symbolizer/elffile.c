// SPDX-License-Identifier: MIT
/* ELF helpers with libelf: a symbol's value, data at a virtual address
 * and the load layout of a binary on disk. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>
#include <unistd.h>
#include "elffile.h"

static Elf *elf_open_path(const char *path, int *fd)
{
	Elf *e;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return NULL;
	e = elf_begin(*fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		if (e)
			elf_end(e);
		close(*fd);
		errno = ENOEXEC;
		return NULL;
	}
	return e;
}

static void elf_close(Elf *e, int fd)
{
	elf_end(e);
	close(fd);
}

int elf__find_symbol(const char *path, const char *name, uint64_t *value,
		     uint64_t *size)
{
	Elf_Scn *scn = NULL;
	int fd, err = -ENOENT;
	Elf *e;

	e = elf_open_path(path, &fd);
	if (!e)
		return -errno;
	while ((scn = elf_nextscn(e, scn)) && err == -ENOENT) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB) ||
		    !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *n;

			if (!gelf_getsym(data, i, &sym) || sym.st_shndx == SHN_UNDEF)
				continue;
			n = elf_strptr(e, sh.sh_link, sym.st_name);
			if (n && !strcmp(n, name)) {
				*value = sym.st_value;
				if (size)
					*size = sym.st_size;
				err = 0;
				break;
			}
		}
	}
	elf_close(e, fd);
	return err;
}

int elf__read_vaddr(const char *path, uint64_t vaddr, void *buf, size_t len)
{
	Elf_Scn *scn = NULL;
	int fd, err = -ENOENT;
	Elf *e;

	e = elf_open_path(path, &fd);
	if (!e)
		return -errno;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS ||
		    !(sh.sh_flags & SHF_ALLOC))
			continue;
		if (vaddr < sh.sh_addr || vaddr + len > sh.sh_addr + sh.sh_size)
			continue;
		if (pread(fd, buf, len, sh.sh_offset + (vaddr - sh.sh_addr)) == (ssize_t)len)
			err = 0;
		else
			err = -EIO;
		break;
	}
	elf_close(e, fd);
	return err;
}

int elf__load_info(const char *path, int *is_dyn, uint64_t *first_vaddr)
{
	GElf_Ehdr eh;
	size_t n;
	int fd, err = -ENOENT;
	Elf *e;

	e = elf_open_path(path, &fd);
	if (!e)
		return -errno;
	if (!gelf_getehdr(e, &eh) || elf_getphdrnum(e, &n)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	*is_dyn = eh.e_type == ET_DYN;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(e, i, &ph) && ph.p_type == PT_LOAD) {
			*first_vaddr = ph.p_vaddr & ~(uint64_t)0xfff;
			err = 0;
			break;
		}
	}
cleanup:
	elf_close(e, fd);
	return err;
}

int elf__find_section(const char *path, const char *name, uint64_t *vaddr,
		      uint64_t *size)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	int fd, err = -ENOENT;
	Elf *e;

	e = elf_open_path(path, &fd);
	if (!e)
		return -errno;
	if (elf_getshdrstrndx(e, &shstrndx)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		const char *n;

		if (!gelf_getshdr(scn, &sh))
			continue;
		n = elf_strptr(e, shstrndx, sh.sh_name);
		if (n && !strcmp(n, name)) {
			*vaddr = sh.sh_addr;
			*size = sh.sh_size;
			err = 0;
			break;
		}
	}
cleanup:
	elf_close(e, fd);
	return err;
}
