/* SPDX-License-Identifier: MIT */
/* Native (C-level) stacks of a live process: DWARF CFI unwinding of a stack
 * sample and symbolization of its pcs, with elfutils libdwfl.
 *
 * Files are opened through /proc/PID/root, so targets in containers work;
 * separate debug info is found by build-id or .gnu_debuglink under
 * /usr/lib/debug (the host's, then the target's). The target is only read:
 * never stopped, never written. x86-64 only. A struct native is for one
 * thread at a time (libdwfl state and the symbol cache are not locked). */
#ifndef LS_NATIVE_H
#define LS_NATIVE_H
#include <stdint.h>

/* Per target process: its modules (mapped ELF files and the vDSO), the
 * unwind state bound to its pid, and a pc -> symbol cache. */
struct native;

struct native_sym {
	const char *function;	/* NULL when no symbol covers the pc */
	const char *module;	/* path as in /proc/PID/maps, or "[vdso]" */
	const char *file;	/* source file (DWARF line info), or NULL */
	int line;		/* 0 without line info */
	uint64_t offset;	/* pc - function start; without a function,
				   the pc's link-time address in module */
	uint64_t start;		/* without a function: the address its function
				   starts at, by the unwind tables; 0 unknown */
};

/* Reports the modules mapped by pid now. NULL with errno set on failure
 * (ESRCH no such process, EACCES/EPERM no access, ENOEXEC not x86-64). */
struct native *native__new(int pid);
/* n for process pid too (a process forked from n's, before it maps
 * anything else): n, with one more reference, when pid maps the very
 * modules n has at the same addresses, so their symbols, debug info and
 * unwind tables, read once, serve both. NULL (errno ESTALE) when it maps
 * others, or with the errno of reading its maps. Memory past a sample's
 * copied stack is read from the sample's thread, so a shared n unwinds
 * either process's samples. */
struct native *native__share(struct native *n, int pid);
/* Drops a reference; the last frees n. */
void native__free(struct native *n);

/* Re-reads /proc/PID/maps and reports modules mapped or unmapped since (a C
 * extension imported later). One read of the maps file when nothing changed.
 * 1 when the modules changed, 0 when not, or -errno. A change empties the
 * symbol cache: strings from native__symbolize() before it are freed. */
int native__refresh(struct native *n);

/* Unwinds one stack sample of thread tid with DWARF CFI. regs: LS_NREGS
 * values in enum ls_reg order (bpf/loopstall.h); IP and SP are required, a
 * zero BP, BX or R12..R15 counts as unknown. stack: stack_len bytes copied
 * from regs[LS_REG_SP] upward; reads past it go to the live process.
 * Fills pcs[] innermost first: the sampled IP, then return addresses - 1
 * (the call instruction, for lookup). Returns the count (>= 1) or -errno.
 * A walk that ends at an address in no module refreshes the modules (at most
 * 4 times a second) and walks again: a library mapped since is found. */
int native__unwind(struct native *n, int tid, const uint64_t *regs,
		   const uint8_t *stack, uint32_t stack_len, uint64_t *pcs,
		   int max);

/* The same, falling back to ips[] (frame-pointer return addresses, as
 * bpf_get_stack gives them: ips[0] the IP) when that walk, cut at its first
 * address outside a mapped module, is longer than the DWARF one. */
int native__unwind_ips(struct native *n, int tid, const uint64_t *regs,
		       const uint8_t *stack, uint32_t stack_len,
		       const uint64_t *ips, uint32_t n_ips, uint64_t *pcs,
		       int max);

/* Symbol of pc (a pcs[] entry): 0, or -ENOENT when no symbol covers it
 * (function NULL; module set when pc is in one), -EINVAL, -ENOMEM. Results
 * are cached per pc. Names lose a "@VERSION" and ".lto_priv.N" suffixes.
 * The strings live until a refresh changes the modules (native__refresh(),
 * or a native__unwind*() that refreshes), or native__free(). */
int native__symbolize(struct native *n, uint64_t pc, struct native_sym *out);

#endif
