// SPDX-License-Identifier: MIT
/* Native stacks with elfutils libdwfl: one Dwfl per target process holds
 * its modules (reported from /proc/PID/maps, opened through /proc/PID/root)
 * and, attached once with our own thread callbacks, unwinds stack samples:
 * registers and stack bytes come from the sample being unwound (n->cur),
 * memory past the copied stack from the live process (read only). */
#define _GNU_SOURCE
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include "loopstall.h"
#include "native.h"
#include "rootfs.h"

/* DWARF register numbers of x86-64 (System V psABI). */
enum { DW_RBX = 3, DW_RBP = 6, DW_RSP = 7, DW_R12 = 12, DW_RIP = 16 };

/* One mapped ELF file (all its mappings), or the vDSO. */
struct nmod {
	char *path;		/* as in maps; "[vdso]" */
	uint64_t low, high;	/* of all its mappings */
	uint64_t first_end;	/* end of the first mapping (map_files name) */
	uint64_t ino;
	unsigned int dev_major, dev_minor;
	bool exec;		/* has an executable mapping */
};

struct sym_entry {
	uint64_t pc;		/* 0: free slot */
	const char *function, *module, *file;
	char *own;		/* function, when trimmed into a copy */
	int line, err;
	uint64_t offset;
	uint64_t start;		/* without a function: its start (unwind tables) */
};

/* The sample being unwound, for the thread callbacks. */
struct sample {
	int tid;
	const uint64_t *regs;
	const uint8_t *stack;
	uint64_t sp;
	uint32_t stack_len;
	uint64_t *pcs;
	int max, n;
	uint64_t last_sp;
};

struct native {
	int pid;
	unsigned int refs;	/* native__share()s not yet freed */
	Dwfl *dwfl;
	Dwfl_Callbacks cb;	/* dwfl keeps a pointer to it */
	char *debuginfo_path;	/* and to this */
	int exe_fd;
	Elf *exe;		/* gives dwfl the architecture */
	struct nmod *mods;
	unsigned int n_mods;
	void **images;		/* vDSO copies, alive while dwfl may use them */
	unsigned int n_images;
	const struct sample *cur;
	uint64_t auto_refresh_ns;	/* last refresh for an unknown pc */
	struct sym_entry *cache;
	unsigned int cache_bits, cache_n;
};

/* ---- reading the target ---- */

static char *read_text(const char *path)
{
	size_t len = 0, cap = 16384;
	char *buf = malloc(cap);
	ssize_t r;
	int fd;

	if (!buf)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	for (;;) {
		if (cap - len < 4096) {
			char *b = realloc(buf, cap * 2);

			if (!b) {
				errno = ENOMEM;
				break;
			}
			buf = b;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0) {
				buf[len] = 0;
				close(fd);
				return buf;
			}
			break;
		}
		len += r;
	}
	r = errno;
	close(fd);
	free(buf);
	errno = r;
	return NULL;
}

static bool read_remote(int pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };

	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

static void mods_free(struct nmod *v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

/* The ELF files with executable mappings and the vDSO, from maps text. */
static int mods_parse(const char *text, struct nmod **out, unsigned int *out_n)
{
	struct nmod *v = NULL, *last = NULL;
	unsigned int n = 0, cap = 0, keep = 0;
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		uint64_t start, end, off, ino;
		unsigned int maj, min;
		char perms[5], line[4352];
		const char *path;
		int at = 0;

		if (len >= sizeof(line))
			goto next;
		memcpy(line, p, len);
		line[len] = 0;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64 " %n",
			   &start, &end, perms, &off, &maj, &min, &ino, &at) < 7 || !at)
			goto next;
		path = line + at;
		while (*path == ' ')
			path++;
		if (strcmp(path, "[vdso]") && (path[0] != '/' || !ino))
			goto next;
		if (last && path[0] == '/' && last->ino == ino && last->dev_major == maj &&
		    last->dev_minor == min && !strcmp(last->path, path)) {
			last->high = end;
			last->exec |= perms[2] == 'x';
			goto next;
		}
		if (n == cap) {
			struct nmod *nv;

			cap = cap ? cap * 2 : 32;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				goto nomem;
			v = nv;
		}
		last = &v[n];
		*last = (struct nmod){ .path = strdup(path), .low = start, .high = end,
				       .first_end = end, .ino = ino, .dev_major = maj,
				       .dev_minor = min, .exec = perms[2] == 'x' };
		if (!last->path)
			goto nomem;
		n++;
next:
		p += len + (nl ? 1 : 0);
	}
	for (unsigned int i = 0; i < n; i++) {
		if (v[i].exec || !strcmp(v[i].path, "[vdso]"))
			v[keep++] = v[i];
		else
			free(v[i].path);
	}
	*out = v;
	*out_n = keep;
	return 0;
nomem:
	mods_free(v, n);
	return -ENOMEM;
}

static bool mods_equal(const struct nmod *a, unsigned int na,
		       const struct nmod *b, unsigned int nb)
{
	if (na != nb)
		return false;
	for (unsigned int i = 0; i < na; i++)
		if (a[i].low != b[i].low || a[i].high != b[i].high || a[i].ino != b[i].ino ||
		    a[i].dev_major != b[i].dev_major || a[i].dev_minor != b[i].dev_minor ||
		    strcmp(a[i].path, b[i].path))
			return false;
	return true;
}

/* ---- Dwfl_Callbacks ---- */

static const struct nmod *mod_of(struct native *n, const char *name, uint64_t low)
{
	for (unsigned int i = 0; i < n->n_mods; i++)
		if (n->mods[i].low == low && !strcmp(n->mods[i].path, name))
			return &n->mods[i];
	return NULL;
}

/* Opens the file mapped as m: inside the target's root when that is the
 * very file mapped (same inode), else through /proc/PID/map_files (exact
 * even when deleted or replaced; needs CAP_SYS_ADMIN), else the root path
 * all the same (overlay file systems show other inode numbers) unless the
 * mapped file is deleted: a file there now is another one (an upgrade). */
static int open_mapped(struct native *n, const struct nmod *m, char **file_name)
{
	char root[4200], mf[96];
	const char *del = strstr(m->path, " (deleted)");
	int plen = del ? (int)(del - m->path) : (int)strlen(m->path);
	struct stat st;
	int fd, fd2;

	snprintf(root, sizeof(root), "/proc/%d/root%.*s", n->pid, plen, m->path);
	/* the path inside the root: its symlinks too (rootfs.h) */
	fd = rootfs__open(n->pid, root + strlen(root) - plen);
	if (fd >= 0 && (fstat(fd, &st) || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	if (fd >= 0 && st.st_ino == m->ino)
		goto out;
	snprintf(mf, sizeof(mf), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, n->pid,
		 m->low, m->first_end);
	fd2 = open(mf, O_RDONLY | O_CLOEXEC);
	if (fd2 >= 0) {
		if (fd >= 0)
			close(fd);
		fd = fd2;
		snprintf(root, sizeof(root), "%s", mf);
	} else if (del && fd >= 0) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		return -1;
out:
	*file_name = strdup(root);
	if (!*file_name) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The vDSO has no file: copy the target's (two pages or so). */
static Elf *vdso_elf(struct native *n, const struct nmod *m)
{
	size_t len = m->high - m->low;
	void **v, *img;
	Elf *e;

	if (len > (1u << 20))
		return NULL;
	v = realloc(n->images, (n->n_images + 1) * sizeof(*v));
	if (!v)
		return NULL;
	n->images = v;
	img = malloc(len);
	if (!img)
		return NULL;
	if (!read_remote(n->pid, m->low, img, len) || !(e = elf_memory(img, len))) {
		free(img);
		return NULL;
	}
	n->images[n->n_images++] = img;
	return e;
}

static int find_elf(Dwfl_Module *mod, void **userdata, const char *name,
		    Dwarf_Addr base, char **file_name, Elf **elfp)
{
	struct native *n = *userdata;
	const struct nmod *m;

	(void)mod;
	if (!n || !(m = mod_of(n, name, base)))
		return -1;
	if (!strcmp(name, "[vdso]")) {
		*file_name = NULL;
		*elfp = vdso_elf(n, m);
		return -1;
	}
	return open_mapped(n, m, file_name);
}

/* ---- Dwfl_Thread_Callbacks: the sample in n->cur is the thread ---- */

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct native *n = arg;

	(void)dwfl;
	if (*thread_argp || !n->cur)
		return 0;
	*thread_argp = n;
	return n->cur->tid;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	struct native *n = arg;

	(void)dwfl;
	if (!n->cur || n->cur->tid != tid)
		return false;
	*thread_argp = n;
	return true;
}

static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct native *n = arg;
	const struct sample *s = n->cur;

	(void)dwfl;
	if (!s || addr + sizeof(*result) < addr)
		return false;
	if (addr >= s->sp && addr + sizeof(*result) <= s->sp + s->stack_len) {
		memcpy(result, s->stack + (addr - s->sp), sizeof(*result));
		return true;
	}
	/* the sample's own thread: n may serve a forked child too */
	return read_remote(s->tid, addr, result, sizeof(*result));
}

static bool set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	static const struct { int ls, dw; } map[] = {
		{ LS_REG_BX, DW_RBX }, { LS_REG_BP, DW_RBP }, { LS_REG_SP, DW_RSP },
		{ LS_REG_R12, DW_R12 }, { LS_REG_R13, DW_R12 + 1 },
		{ LS_REG_R14, DW_R12 + 2 }, { LS_REG_R15, DW_R12 + 3 },
		{ LS_REG_IP, DW_RIP },
	};
	struct native *n = arg;
	const uint64_t *r = n->cur->regs;

	for (unsigned int i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		Dwarf_Word v = r[map[i].ls];

		/* unknown registers stay unset: CFI needing them ends the walk */
		if (!v)
			continue;
		if (!dwfl_thread_state_registers(thread, map[i].dw, 1, &v))
			return false;
	}
	return true;
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

/* Symbol strings belong to modules: gone when they go. */
static void cache_clear(struct native *n)
{
	for (unsigned int i = 0; n->cache && i < (1u << n->cache_bits); i++)
		free(n->cache[i].own);
	if (n->cache)
		memset(n->cache, 0, sizeof(*n->cache) << n->cache_bits);
	n->cache_n = 0;
}

/* ---- lifecycle ---- */

static bool same_root(int pid)
{
	struct stat a, b;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/root/", pid);
	return !stat("/", &a) && !stat(path, &b) && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

struct native *native__new(int pid)
{
	struct native *n;
	char path[64];
	GElf_Ehdr eh;
	int err;

	if (pid <= 0) {
		errno = EINVAL;
		return NULL;
	}
	elf_version(EV_CURRENT);
	n = calloc(1, sizeof(*n));
	if (!n) {
		errno = ENOMEM;
		return NULL;
	}
	n->pid = pid;
	n->exe_fd = -1;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n->exe_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (n->exe_fd < 0) {
		err = errno == ENOENT ? ESRCH : errno;
		goto fail;
	}
	n->exe = elf_begin(n->exe_fd, ELF_C_READ_MMAP, NULL);
	if (!n->exe || !gelf_getehdr(n->exe, &eh) || eh.e_machine != EM_X86_64 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64) {
		err = ENOEXEC;
		goto fail;
	}
	/* build-id and debuglink lookups: the host's /usr/lib/debug, then the
	 * target's when it has another root (a container) */
	if (asprintf(&n->debuginfo_path, same_root(pid) ? ":.debug:/usr/lib/debug" :
		     ":.debug:/usr/lib/debug:/proc/%d/root/usr/lib/debug", pid) < 0) {
		n->debuginfo_path = NULL;
		err = ENOMEM;
		goto fail;
	}
	n->cb.find_elf = find_elf;
	n->cb.find_debuginfo = dwfl_standard_find_debuginfo;
	n->cb.debuginfo_path = &n->debuginfo_path;
	n->dwfl = dwfl_begin(&n->cb);
	if (!n->dwfl) {
		err = ENOMEM;
		goto fail;
	}
	if (!dwfl_attach_state(n->dwfl, n->exe, pid, &thread_callbacks, n)) {
		err = EINVAL;
		goto fail;
	}
	err = native__refresh(n);
	if (err < 0) {
		err = -err;
		goto fail;
	}
	return n;
fail:
	native__free(n);
	errno = err;
	return NULL;
}

/* The modules pid maps now, parsed. 0 or -errno. */
static int mods_of(int pid, struct nmod **mods, unsigned int *n_mods)
{
	char path[64], *text;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	text = read_text(path);
	if (!text)
		return errno == ENOENT ? -ESRCH : -errno;
	err = mods_parse(text, mods, n_mods);
	free(text);
	return err;
}

struct native *native__share(struct native *n, int pid)
{
	struct nmod *mods;
	unsigned int n_mods;
	bool same;
	int err;

	if (!n) {
		errno = EINVAL;
		return NULL;
	}
	err = mods_of(pid, &mods, &n_mods);
	if (err) {
		errno = -err;
		return NULL;
	}
	same = n_mods && mods_equal(mods, n_mods, n->mods, n->n_mods);
	mods_free(mods, n_mods);
	if (!same) {
		errno = ESTALE;
		return NULL;
	}
	n->refs++;
	return n;
}

void native__free(struct native *n)
{
	if (!n)
		return;
	if (n->refs) {
		n->refs--;
		return;
	}
	if (n->dwfl)
		dwfl_end(n->dwfl);
	if (n->exe)
		elf_end(n->exe);
	if (n->exe_fd >= 0)
		close(n->exe_fd);
	for (unsigned int i = 0; i < n->n_images; i++)
		free(n->images[i]);
	free(n->images);
	mods_free(n->mods, n->n_mods);
	cache_clear(n);
	free(n->cache);
	free(n->debuginfo_path);
	free(n);
}

int native__refresh(struct native *n)
{
	struct nmod *mods;
	unsigned int n_mods;
	int err;

	err = mods_of(n->pid, &mods, &n_mods);
	if (err)
		return err;
	if (n_mods == 0) {
		/* an exited process's maps read as empty */
		mods_free(mods, n_mods);
		return -ESRCH;
	}
	if (mods_equal(mods, n_mods, n->mods, n->n_mods)) {
		mods_free(mods, n_mods);
		return 0;
	}
	mods_free(n->mods, n->n_mods);
	n->mods = mods;
	n->n_mods = n_mods;
	cache_clear(n);

	dwfl_report_begin(n->dwfl);
	for (unsigned int i = 0; i < n_mods; i++) {
		Dwfl_Module *mod;
		void **userdata;

		/* an unchanged module is kept, with its loaded files and caches */
		mod = dwfl_report_module(n->dwfl, mods[i].path, mods[i].low, mods[i].high);
		if (!mod)
			continue;
		dwfl_module_info(mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
		*userdata = n;
	}
	if (dwfl_report_end(n->dwfl, NULL, NULL))
		return -ENOMEM;
	return 1;
}

/* ---- unwinding ---- */

static int frame_cb(Dwfl_Frame *frame, void *arg)
{
	struct sample *s = arg;
	Dwarf_Addr pc;
	Dwarf_Word sp;
	bool activation;

	if (!dwfl_frame_pc(frame, &pc, &activation) || !pc)
		return DWARF_CB_ABORT;
	/* a caller's stack pointer is above its callee's; anything else is a
	 * wrong turn (signal frames on another stack excepted) */
	if (dwfl_frame_reg(frame, DW_RSP, &sp) == 0) {
		if (s->n && !activation && sp <= s->last_sp)
			return DWARF_CB_ABORT;
		s->last_sp = sp;
	}
	s->pcs[s->n++] = activation ? pc : pc - 1;
	return s->n < s->max ? DWARF_CB_OK : DWARF_CB_ABORT;
}

/* Length of the frame-pointer walk in ips[] up to its first address that no
 * module holds. */
static int fp_len(struct native *n, const uint64_t *ips, uint32_t n_ips, int max)
{
	int k = 0;

	while (k < max && (uint32_t)k < n_ips && ips[k] && dwfl_addrmodule(n->dwfl, ips[k]))
		k++;
	return k;
}

/* A walk that ends in no module may have met one mapped since the last
 * refresh (a C extension imported since): refresh then, at most 4 times a
 * second, as JIT code or a wrong turn would ask for it on every sample. */
static bool refresh_for_unknown(struct native *n, uint64_t pc)
{
	struct timespec ts;
	uint64_t now;

	if (dwfl_addrmodule(n->dwfl, pc))
		return false;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000000000ull + ts.tv_nsec;
	if (n->auto_refresh_ns && now - n->auto_refresh_ns < 250000000)
		return false;
	n->auto_refresh_ns = now;
	return native__refresh(n) > 0;
}

static int walk(struct native *n, struct sample *s)
{
	s->n = 0;
	s->last_sp = 0;
	n->cur = s;
	dwfl_getthread_frames(n->dwfl, s->tid, frame_cb, s);
	n->cur = NULL;
	return s->n;
}

int native__unwind_ips(struct native *n, int tid, const uint64_t *regs,
		       const uint8_t *stack, uint32_t stack_len,
		       const uint64_t *ips, uint32_t n_ips, uint64_t *pcs,
		       int max)
{
	struct sample s = {
		.tid = tid, .regs = regs, .stack = stack, .stack_len = stack ? stack_len : 0,
		.pcs = pcs, .max = max,
	};
	int k;

	if (!n || !regs || !pcs || max <= 0 || tid <= 0 ||
	    !regs[LS_REG_IP] || !regs[LS_REG_SP])
		return -EINVAL;
	s.sp = regs[LS_REG_SP];
	walk(n, &s);
	if (s.n < max && refresh_for_unknown(n, s.n ? pcs[s.n - 1] : regs[LS_REG_IP]))
		walk(n, &s);
	if (s.n == 0)
		pcs[s.n++] = regs[LS_REG_IP];
	k = ips ? fp_len(n, ips, n_ips, max) : 0;
	if (k > s.n) {
		for (int i = 0; i < k; i++)
			pcs[i] = i ? ips[i] - 1 : ips[i];
		s.n = k;
	}
	return s.n;
}

int native__unwind(struct native *n, int tid, const uint64_t *regs,
		   const uint8_t *stack, uint32_t stack_len, uint64_t *pcs, int max)
{
	return native__unwind_ips(n, tid, regs, stack, stack_len, NULL, 0, pcs, max);
}

/* ---- symbols ---- */

static unsigned int slot_of(uint64_t pc, unsigned int bits)
{
	return (unsigned int)((pc * 0x9e3779b97f4a7c15ull) >> (64 - bits));
}

static struct sym_entry *cache_slot(struct native *n, uint64_t pc)
{
	unsigned int mask = (1u << n->cache_bits) - 1, i = slot_of(pc, n->cache_bits);

	while (n->cache[i].pc && n->cache[i].pc != pc)
		i = (i + 1) & mask;
	return &n->cache[i];
}

/* Keeps the load under one half. */
static int cache_grow(struct native *n)
{
	struct sym_entry *old = n->cache;
	unsigned int old_bits = n->cache_bits;

	if (old && (n->cache_n + 1) * 2 <= (1u << old_bits))
		return 0;
	n->cache_bits = old ? old_bits + 1 : 10;
	n->cache = calloc(1u << n->cache_bits, sizeof(*n->cache));
	if (!n->cache) {
		n->cache = old;
		n->cache_bits = old_bits;
		return -ENOMEM;
	}
	for (unsigned int i = 0; old && i < (1u << old_bits); i++)
		if (old[i].pc)
			*cache_slot(n, old[i].pc) = old[i];
	free(old);
	return 0;
}

/* "clock_nanosleep@GLIBC_2.2.5" and "time_sleep.lto_priv.0" are
 * clock_nanosleep and time_sleep to a reader; NULL when name is clean. */
static char *trim_name(const char *name)
{
	size_t len = strcspn(name, "@");

	/* trailing .lto_priv.N, maybe more than one, before any @version */
	for (;;) {
		size_t d = len;

		while (d && name[d - 1] >= '0' && name[d - 1] <= '9')
			d--;
		if (d == len || d < 10 || memcmp(name + d - 10, ".lto_priv.", 10))
			break;
		len = d - 10;
	}
	return len && name[len] ? strndup(name, len) : NULL;
}

/* The greatest function start <= at (link-time) in the .eh_frame_hdr
 * search table of e (version 1, a udata4 count, datarel sdata4 pairs: what
 * every x86-64 toolchain writes); 0 without one. */
static uint64_t hdr_start(Elf *e, uint64_t at)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(e, &shstrndx))
		return 0;
	while ((scn = elf_nextscn(e, scn))) {
		const uint8_t *d;
		GElf_Shdr sh;
		Elf_Data *data;
		const char *name;
		uint32_t count, lo = 0, hi;
		int32_t loc;

		if (!gelf_getshdr(scn, &sh) ||
		    !(name = elf_strptr(e, shstrndx, sh.sh_name)) ||
		    strcmp(name, ".eh_frame_hdr"))
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf || data->d_size < 12)
			return 0;
		d = data->d_buf;
		if (d[0] != 1 || d[1] != 0x1b || d[2] != 0x03 || d[3] != 0x3b)
			return 0;	/* another encoding: not read */
		memcpy(&count, d + 8, 4);
		if (count > (data->d_size - 12) / 8)
			return 0;
		hi = count;
		while (lo < hi) {	/* first entry past at */
			uint32_t mid = lo + (hi - lo) / 2;

			memcpy(&loc, d + 12 + 8 * (size_t)mid, 4);
			if (sh.sh_addr + (int64_t)loc <= at)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (!lo)
			return 0;
		memcpy(&loc, d + 12 + 8 * (size_t)(lo - 1), 4);
		return sh.sh_addr + (int64_t)loc;
	}
	return 0;
}

/* Where the function holding pc starts, by the unwind tables (a stripped
 * object keeps them): the start of the entry covering pc. 0 when none
 * does. */
static uint64_t cfi_start(Dwfl_Module *mod, uint64_t pc)
{
	Dwarf_Addr bias, ebias;
	Dwarf_CFI *cfi = dwfl_module_eh_cfi(mod, &bias);
	Dwarf_Frame *fr = NULL;
	Elf *e;
	uint64_t at;

	if (!cfi || dwarf_cfi_addrframe(cfi, pc - bias, &fr))
		return 0;	/* no entry covers pc */
	free(fr);
	e = dwfl_module_getelf(mod, &ebias);
	if (!e || ebias != bias)
		return 0;
	at = hdr_start(e, pc - bias);
	return at ? at + bias : 0;
}

static void resolve(struct native *n, uint64_t pc, struct sym_entry *e)
{
	Dwfl_Module *mod = dwfl_addrmodule(n->dwfl, pc);
	Dwarf_Addr low, bias;
	GElf_Off off;
	GElf_Sym sym;
	Dwfl_Line *l;

	e->pc = pc;
	e->err = -ENOENT;
	if (!mod)
		return;
	e->module = dwfl_module_info(mod, NULL, &low, NULL, NULL, NULL, NULL, NULL);
	e->function = dwfl_module_addrinfo(mod, pc, &off, &sym, NULL, NULL, NULL);
	if (e->function) {
		e->own = trim_name(e->function);
		if (e->own)
			e->function = e->own;
		e->err = 0;
		e->offset = off;
	} else {
		e->offset = dwfl_module_getelf(mod, &bias) ? pc - bias : pc - low;
		e->start = cfi_start(mod, pc);
	}
	l = dwfl_module_getsrc(mod, pc);
	if (l)
		e->file = dwfl_lineinfo(l, NULL, &e->line, NULL, NULL, NULL);
	if (!e->file)
		e->line = 0;
}

int native__symbolize(struct native *n, uint64_t pc, struct native_sym *out)
{
	struct sym_entry *e;

	if (!n || !out || !pc)
		return -EINVAL;
	if (cache_grow(n))
		return -ENOMEM;
	e = cache_slot(n, pc);
	if (!e->pc) {
		resolve(n, pc, e);
		n->cache_n++;
	}
	*out = (struct native_sym){ .function = e->function, .module = e->module,
				    .file = e->file, .line = e->line, .offset = e->offset,
				    .start = e->start };
	return e->err;
}
