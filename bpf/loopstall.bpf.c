// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF side of loopstall: the stall detector. A loop thread is busy from
 * the return of its loop-wait syscall (epoll_wait & co.) to the next entry;
 * a busy interval at or above the threshold is a stall. While a loop is
 * busy, stacks are sampled on-CPU (perf_event cpu-clock) and off-CPU
 * (sched_switch). Samples carry the busy interval's sequence number; user
 * space keeps those of intervals that turn into stalls. Only loop threads of
 * watched processes get a "threads" entry; every other thread costs one
 * byte of the tgid prefilter (watch_filter), a lookup only when its byte is
 * set. The processes watched are the "watched" map: given by user space,
 * and followed through fork, exec and exit.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "loopstall.h"

/* Set by user space before load. */
const volatile __u64 threshold_ns = 50000000ULL;
const volatile __u64 period_ns = 5025125ULL;	/* 1 / sampling frequency */
/* A busy interval is sampled on-CPU from this age on (a tenth of the
 * threshold): the short iterations of a healthy loop cost no sample, no
 * ring-buffer event and no work in user space. The same for preemptions,
 * whose stack waits in the thread's slot. Blocking waits are sent from
 * their start whatever the age, while the code objects on their stack
 * still exist. */
const volatile __u64 min_age_ns = 5000000ULL;
/* loopstall's PID namespace, whose numbers its /proc, its user and so
 * every map key use: the inode of /proc/self/ns/pid, or 0 for the initial
 * namespace, whose numbers are the kernel's own (task->pid, ->tgid). Not 0
 * in a container sharing the target's (kubectl debug --target). */
const volatile __u32 pidns_ino = 0;

/* Samples are written while the ring holds less than this many bytes: the
 * rest (an eighth, set by user space) is kept for stalls and process
 * events, so a reader that falls behind loses samples, counted, never the
 * stall they belong to. 0: no limit. */
const volatile __u64 sample_room = 0;

/* The tgid prefilter: a tgid whose byte (tgid & (LS_WATCH_FILTER - 1)) is
 * 0 is not watched, found without a map lookup: the fast path of every
 * other process. Set by user space for the processes it adds and at fork
 * for the followed ones; never cleared while loaded (a byte set for a
 * process gone costs others a lookup, no more). Bytes, not bits: a plain
 * store sets one without a race. */
__u8 watch_filter[LS_WATCH_FILTER] = {};

/* Counted here, read by user space: nothing is dropped silently. */
__u64 lost_stalls = 0;
__u64 lost_samples = 0;
__u64 lost_threads = 0;
__u64 lost_procs = 0;		/* forks not followed (table full), events lost */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);	/* resized by user space */
} events SEC(".maps");

/* Room in the ring for one more sample, the stalls' share kept aside. */
static __always_inline bool sample_fits(void)
{
	return !sample_room || bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) < sample_room;
}

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LS_MAX_LOOP_THREADS);
	__type(key, __u32);
	__type(value, struct ls_thread);
} threads SEC(".maps");

/* The processes watched (tgid -> ls_proc). A thread has a "threads" entry
 * only while its process is watched (made at its first loop wait after a
 * lookup here, dropped at its exit or its process's exec), so the hot
 * paths look up "threads" alone. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LS_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct ls_proc);
} watched SEC(".maps");

/* Each watched process's CPython layout (tgid -> ls_py_layout), read by
 * the frame walker: processes may run different Pythons. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LS_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct ls_py_layout);
} py_layouts SEC(".maps");

/* Thread states of the watched threads (tid -> PyThreadState *), kept by
 * user space, which walks each interpreter's thread list; a forked child's
 * one thread gets the forking thread's (the child runs on with it). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LS_MAX_PY_THREADS);
	__type(key, __u32);
	__type(value, __u64);
} py_tstates SEC(".maps");

/* Held off-CPU stacks, one per loop thread: the latest wait of its busy
 * interval not sent at switch-out (the token bucket refused it, or a young
 * preemption). Sent at switch-in if the wait turns out long, or with the
 * stall if its off-CPU time has no other sample (send_held()); else
 * overwritten by the next one. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LS_MAX_LOOP_THREADS);
	__type(key, __u32);
	__type(value, struct ls_sample);
} offcpu_slots SEC(".maps");

/* The loop-lag histograms of threads gone (tid -> ls_busy), made at their
 * exit, read and deleted by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LS_MAX_LOOP_THREADS);
	__type(key, __u32);
	__type(value, struct ls_busy);
} gone_busy SEC(".maps");

/* A zeroed sample, to create slots from (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ls_sample);
} zero_sample SEC(".maps");

/* Threads that poll but run no asyncio/uvloop loop (user space decides). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LS_MAX_LOOP_THREADS);
	__type(key, __u32);
	__type(value, __u8);
} not_loops SEC(".maps");


/* The syscall a task is in, from its user registers, or -1. x86-64: the
 * entry code stores the number in orig_ax and -ENOSYS in ax, which stays
 * there until the syscall returns; exceptions leave orig_ax as an error
 * code and ax as the user's value, interrupts a negative orig_ax. */
static __always_inline __s32 syscall_in_progress(struct pt_regs *regs)
{
	long orig_ax = regs->orig_ax;
	long ax = regs->ax;

	return orig_ax >= 0 && ax == -38 /* -ENOSYS */ ? orig_ax : -1;
}

/* A struct pid's number in loopstall's namespace, 0 when it has none
 * there: looked for from the innermost level out, LS_PIDNS_SCAN levels at
 * most (a task nested deeper below loopstall's namespace is not seen). */
static __always_inline __u32 pid_nr_ours(struct pid *pid)
{
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid up;

	for (int i = 0; i < LS_PIDNS_SCAN && i <= level; i++) {
		if (bpf_core_read(&up, sizeof(up), &pid->numbers[level - i]))
			return 0;
		if (BPF_CORE_READ(up.ns, ns.inum) == pidns_ino)
			return up.nr;
	}
	return 0;
}

/* tgid << 32 | tid of a task in loopstall's namespace (pidns_ino set), as
 * bpf_get_current_pid_tgid() gives them in the initial one; 0 for a task
 * outside it. A global function: verified once. */
__noinline __u64 task_ids_ns(__u64 task_addr)
{
	struct task_struct *task = (struct task_struct *)task_addr;
	__u32 tid, tgid;

	if (!task)
		return 0;
	tid = pid_nr_ours(BPF_CORE_READ(task, thread_pid));
	tgid = pid_nr_ours(BPF_CORE_READ(task, group_leader, thread_pid));
	return tid && tgid ? (__u64)tgid << 32 | tid : 0;
}

/* tgid << 32 | tid of a task as loopstall numbers them. */
static __always_inline __u64 task_ids(struct task_struct *task)
{
	if (!pidns_ino)
		return (__u64)BPF_CORE_READ(task, tgid) << 32 | (__u32)BPF_CORE_READ(task, pid);
	return task_ids_ns((__u64)task);
}

/* The same for the current task. */
static __always_inline __u64 current_ids(void)
{
	if (!pidns_ino)
		return bpf_get_current_pid_tgid();
	return task_ids_ns(bpf_get_current_task());
}

/* False: tgid is not watched (no lookup). True: it may be. 0: an idle
 * task, or one outside loopstall's PID namespace. */
static __always_inline bool maybe_watched(__u32 tgid)
{
	return tgid && watch_filter[tgid & (LS_WATCH_FILTER - 1)];
}

static __always_inline struct ls_proc *watched_proc(__u32 tgid)
{
	if (!maybe_watched(tgid))
		return NULL;
	return bpf_map_lookup_elem(&watched, &tgid);
}

static __always_inline void add_wait(struct ls_thread *t, __s32 nr, __u64 ns)
{
	__u32 n = t->n_waits;

	for (int i = 0; i < LS_MAX_WAITS; i++) {
		if (i >= n)
			break;
		if (t->waits[i].nr == nr) {
			t->waits[i].ns += ns;
			t->waits[i].count++;
			return;
		}
	}
	if (n < LS_MAX_WAITS) {
		t->waits[n].nr = nr;
		t->waits[n].ns = ns;
		t->waits[n].count = 1;
		t->n_waits = n + 1;
	} else {
		/* more kinds than slots: fold into the last one as "other" */
		t->waits[LS_MAX_WAITS - 1].nr = LS_WAIT_OTHER;
		t->waits[LS_MAX_WAITS - 1].ns += ns;
		t->waits[LS_MAX_WAITS - 1].count++;
	}
}

static __always_inline void set_hdr(struct ls_event_hdr *h, __u32 type, __u32 size,
				    __u32 tgid, __u32 tid, __u64 seq)
{
	h->type = type;
	h->size = size;
	h->pid = tgid;
	h->tid = tid;
	h->seq = seq;
}

/* Code objects a walk remembers the guard of (a power of 2). */
#define LS_WALK_SEEN 8

/* The walk reads the target into the sample's stack[], which fill_sample()
 * fills with the raw user stack only afterwards: frames at LS_AT_FRAMES,
 * up to LS_BULK bytes at a time (a thread's frames lie side by side in its
 * data stack, callers below callees: one read takes many), the code window
 * and co_qualname's at LS_AT_CODE and LS_AT_NAME. Fields are loaded
 * directly, their run-time offsets checked against the window's size. */
#define LS_BULK		4096
#define LS_AT_FRAMES	0
#define LS_AT_CODE	(LS_BULK + 128)
#define LS_AT_NAME	(LS_AT_CODE + 128)
#define LS_PAGE		4096ULL

/* The walk's state between steps. The frame count lives in the sample
 * (s->n_py), not here: read back from the sample it is a value the
 * verifier does not track, so it checks one step for every step instead
 * of one per possible count. */
struct walk_ctx {
	struct ls_sample *s;
	struct ls_py_offsets o;		/* the process's layout */
	__u64 frame;
	__u64 base;			/* target address of stack[LS_AT_FRAMES] */
	__u64 len;			/* bytes valid there */
	__u64 seen_code[LS_WALK_SEEN];	/* code objects met in this walk and */
	__u32 seen_guard[LS_WALK_SEEN];	/* their guards, by address hash */
};

/* Field off of a window of size win at buf (128 bytes at most). */
static __always_inline __u64 buf_u64(const __u8 *buf, __u32 off, __u32 win)
{
	return off <= win - 8 ? *(const __u64 *)(buf + (off & 127)) : 0;
}

static __always_inline __u32 buf_u32(const __u8 *buf, __u32 off, __u32 win)
{
	return off <= win - 4 ? *(const __u32 *)(buf + (off & 127)) : 0;
}

static __always_inline __u8 buf_u8(const __u8 *buf, __u32 off, __u32 win)
{
	return off < win ? buf[off & 127] : 0;
}

/* The guard of a code object (see ls_code_guard): one read on 3.12+, two
 * on 3.11 (co_qualname's bytes too), or none when
 * a frame further in ran the same code (recursion, wrappers, the loop's
 * own functions): a code object cannot change while a frame runs it. */
static __always_inline __u32 code_guard(struct walk_ctx *c, __u64 code)
{
	__u32 h = (__u32)(code >> 4) & (LS_WALK_SEEN - 1);
	__u8 *cb = c->s->stack + LS_AT_CODE, *nb = c->s->stack + LS_AT_NAME;
	__u32 guard = 0, version;
	__u64 qn;

	if (c->seen_code[h] == code)
		return c->seen_guard[h];
	if (!bpf_probe_read_user(cb, LS_CODE_WIN, (void *)(code + c->o.code_win))) {
		qn = buf_u64(cb, c->o.code_qualname, LS_CODE_WIN);
		guard = ls_code_guard(buf_u32(cb, c->o.code_firstlineno, LS_CODE_WIN),
				      buf_u64(cb, c->o.code_filename, LS_CODE_WIN), qn,
				      buf_u64(cb, c->o.code_linetable, LS_CODE_WIN));
		version = buf_u32(cb, c->o.code_version, LS_CODE_WIN);
		if (version)
			guard ^= ls_version_guard(version);
		else if (!bpf_probe_read_user(nb, LS_STR_WIN, (void *)qn))
			guard ^= ls_name_guard(buf_u64(nb, c->o.str_length, LS_STR_WIN),
					       buf_u64(nb, c->o.str_data, LS_STR_WIN),
					       buf_u64(nb, c->o.str_data + 8, LS_STR_WIN));
	}
	c->seen_code[h] = code;
	c->seen_guard[h] = guard;
	return guard;
}

/* The frame's window in stack[]: from what the last read took when it is
 * there, else read from the frame's end down to LS_BULK bytes, not below
 * the frame's page (the page before may not be mapped), or the frame
 * alone when that fails. NULL when the frame cannot be read. */
static __always_inline __u8 *frame_window(struct walk_ctx *c)
{
	__u64 f = c->frame, start, off = f - c->base;
	__u8 *buf = c->s->stack + LS_AT_FRAMES;

	if (f < c->base || off + LS_FRAME_WIN > c->len) {
		start = f + LS_FRAME_WIN - LS_BULK;
		if (start > f || start < (f & ~(LS_PAGE - 1)))
			start = f & ~(LS_PAGE - 1);
		c->len = f + LS_FRAME_WIN - start;
		if (c->len > LS_BULK ||
		    bpf_probe_read_user(buf, c->len & (2 * LS_BULK - 1), (void *)start)) {
			start = f;
			c->len = LS_FRAME_WIN;
			if (bpf_probe_read_user(buf, LS_FRAME_WIN, (void *)f)) {
				c->len = 0;
				return NULL;
			}
		}
		c->base = start;
		off = f - start;
	}
	return buf + (off & (LS_BULK - 1));
}

/* One step of the frame walk (a bpf_loop callback): read the frame, skip
 * it if it runs no Python code (an entry/shim frame: then the frame before
 * it was the last of its eval-loop call), else record code object,
 * instruction offset and guard. Returns 1 to stop. */
static long walk_step(__u32 i, struct walk_ctx *c)
{
	struct ls_sample *s = c->s;
	struct ls_pyframe *pf;
	__u64 code, instr;
	__u32 n = s->n_py;
	__u8 *fb;

	if (!c->frame)
		return 1;
	fb = frame_window(c);
	if (!fb) {
		s->py_flags |= LS_PY_READ_ERR;
		return 1;
	}
	code = buf_u64(fb, c->o.frame_code, LS_FRAME_WIN) & ~(__u64)c->o.code_tag_mask;
	c->frame = buf_u64(fb, c->o.frame_previous, LS_FRAME_WIN);
	if (buf_u8(fb, c->o.frame_owner, LS_FRAME_WIN) >= c->o.owner_skip) {
		if (n > 0)
			s->py[(n - 1) & (LS_MAX_PYFRAMES - 1)].flags |= LS_PYF_ENTRY;
		return 0;
	}
	if (n >= LS_MAX_PYFRAMES) {
		s->py_flags |= LS_PY_TRUNCATED;
		return 1;
	}
	instr = buf_u64(fb, c->o.frame_instr, LS_FRAME_WIN);
	pf = &s->py[n & (LS_MAX_PYFRAMES - 1)];
	pf->code = code;
	pf->lasti = (instr - code - c->o.code_adaptive) / 2;
	pf->flags = c->o.frame_is_entry != LS_NO_OFF &&
		    buf_u8(fb, c->o.frame_is_entry, LS_FRAME_WIN) ? LS_PYF_ENTRY : 0;
	pf->_pad = 0;
	pf->guard = code_guard(c, code);
	s->n_py = n + 1;
	return 0;
}

/* Walk the thread's Python frame chain from its thread state (its
 * process's layout: none, no walk), innermost
 * first, up to LS_MAX_PYFRAMES frames (deeper stacks: LS_PY_TRUNCATED).
 * A global function: the verifier checks it once, not at every caller. */
__noinline int walk_python(struct ls_sample *s, __u32 tid, __u32 tgid)
{
	struct walk_ctx c = { .s = s };
	struct ls_py_layout *l;
	__u64 *tstate;

	if (!s)
		return 0;
	s->n_py = 0;
	l = bpf_map_lookup_elem(&py_layouts, &tgid);
	if (!l || !l->walk)
		return 0;
	tstate = bpf_map_lookup_elem(&py_tstates, &tid);
	if (!tstate) {
		s->py_flags |= LS_PY_NO_TSTATE;
		return 0;
	}
	c.o = l->off;
	if (bpf_probe_read_user(&c.frame, 8, (void *)(*tstate + c.o.tstate_frame)) ||
	    (c.o.cframe_frame != LS_NO_OFF && c.frame &&
	     bpf_probe_read_user(&c.frame, 8, (void *)(c.frame + c.o.cframe_frame)))) {
		s->py_flags |= LS_PY_READ_ERR;
		return 0;
	}
	bpf_loop(LS_MAX_WALK, walk_step, &c, 0);
	return 0;
}

/* include/uapi/linux/stat.h, socket.h, in.h: macros, not in vmlinux.h */
#define LS_S_IFMT	00170000
#define LS_S_IFSOCK	0140000
#define LS_S_IFREG	0100000
#define LS_S_IFBLK	0060000
#define LS_S_IFDIR	0040000
#define LS_S_IFCHR	0020000
#define LS_S_IFIFO	0010000
#define LS_AF_UNIX	1
#define LS_AF_INET	2
#define LS_AF_INET6	10
#define LS_IPPROTO_TCP	6
#define LS_IPPROTO_UDP	17
#define LS_IPPROTO_UDPLITE 136
#define LS_IPPROTO_MPTCP 262

/* enum ls_fd_kind of a socket: its family and protocol (sk_protocol is a
 * bitfield before Linux 5.6; SOCK_STREAM is not always TCP). */
static __always_inline __s32 socket_kind(struct file *file)
{
	struct socket *sock = BPF_CORE_READ(file, private_data);
	struct sock *sk;
	__u16 family;
	__u32 proto;

	/* a socket's file, or a socket's path opened with O_PATH */
	if (!sock || BPF_CORE_READ(sock, file) != file)
		return LS_FD_FILE;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return LS_FD_UNKNOWN;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family == LS_AF_UNIX)
		return LS_FD_UNIX;
	if (family != LS_AF_INET && family != LS_AF_INET6)
		return LS_FD_OTHER;
	proto = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
	if (proto == LS_IPPROTO_TCP || proto == LS_IPPROTO_MPTCP)
		return LS_FD_TCP;
	if (proto == LS_IPPROTO_UDP || proto == LS_IPPROTO_UDPLITE)
		return LS_FD_UDP;
	return LS_FD_OTHER;
}

/* enum ls_fd_kind of the fd a syscall works on, now: read from
 * /proc/PID/fd when user space gets the sample, it is often closed, or
 * another file has its number. The kinds follow what /proc/PID/fd shows: a
 * socket listed in /proc/PID/net/{tcp,udp,unix}, "pipe:", a path (file),
 * anything else: anon inodes, pidfds, nsfs…, whose /proc link the
 * filesystem's d_dname makes up (nsfs inodes are S_IFREG). */
__noinline int fd_kind(__s32 nr, __u64 arg0, __u64 arg1)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct file **fds, *file = NULL;
	struct fdtable *fdt;
	struct inode *inode;
	__u16 mode = 0;
	__s32 fd;

	if (ls_fd_in_arg0(nr)) {
		fd = (__s32)arg0;
	} else if ((nr == LS_NR_POLL || nr == LS_NR_PPOLL) && arg1 == 1) {
		/* struct pollfd { int fd; short events, revents; } */
		if (bpf_probe_read_user(&fd, sizeof(fd), (void *)arg0))
			return LS_FD_UNKNOWN;
	} else {
		return LS_FD_UNKNOWN;
	}
	fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || fd < 0 || (__u32)fd >= BPF_CORE_READ(fdt, max_fds))
		return LS_FD_UNKNOWN;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_core_read(&file, sizeof(file), fds + fd) || !file)
		return LS_FD_UNKNOWN;
	inode = BPF_CORE_READ(file, f_inode);
	if (!inode || bpf_core_read(&mode, sizeof(mode), &inode->i_mode))
		return LS_FD_UNKNOWN;
	switch (mode & LS_S_IFMT) {
	case LS_S_IFSOCK:
		return socket_kind(file);
	case LS_S_IFIFO:
		return LS_FD_PIPE;
	case LS_S_IFREG:
	case LS_S_IFDIR:
	case LS_S_IFBLK:
	case LS_S_IFCHR:
		if (BPF_CORE_READ(file, f_path.dentry, d_op, d_dname))
			return LS_FD_OTHER;
		return LS_FD_FILE;
	}
	return LS_FD_OTHER;
}

static long vma_end(struct task_struct *task, struct vm_area_struct *vma, void *top)
{
	*(__u64 *)top = vma->vm_end;
	return 0;
}

/* Copy the raw user stack from sp up to the thread's first frame, at most
 * LS_STACK_BYTES: the main thread's stack starts at mm->start_stack;
 * another's ends with the mapping holding its sp, looked up once into
 * *top. Elsewhere (a stack of its own: sigaltstack, greenlets, deeper than
 * LS_STACK_BYTES) as much as can be read of LS_STACK_BYTES, 4 KiB, 256.
 * True when the whole stack was copied. */
static __always_inline bool copy_stack(struct ls_sample *s, struct task_struct *task,
				       __u32 tid, __u32 tgid, __u64 *top)
{
	__u64 sp = s->regs[LS_REG_SP], end = 0, len;

	if (tid == tgid) {
		end = task->mm->start_stack;
	} else if (top) {
		if (!*top)	/* the callback's context must be on the stack */
			*top = bpf_find_vma(task, sp, vma_end, &end, 0) ? 1 : end;
		end = *top;
	}
	len = end - sp;
	s->stack_len = 0;
	if (end > sp && len < LS_STACK_BYTES) {
		len &= LS_STACK_BYTES - 1;
		if (!bpf_probe_read_user(s->stack, len, (void *)sp)) {
			s->stack_len = len;
			return true;
		}
	}
	if (!bpf_probe_read_user(s->stack, LS_STACK_BYTES, (void *)sp))
		s->stack_len = LS_STACK_BYTES;
	else if (!bpf_probe_read_user(s->stack, LS_STACK_BYTES / 4, (void *)sp))
		s->stack_len = LS_STACK_BYTES / 4;
	else if (!bpf_probe_read_user(s->stack, 256, (void *)sp))
		s->stack_len = 256;
	return false;
}

/* Fill a sample from the current task: registers, syscall, fd kind,
 * Python frames and a copy of the raw user stack for unwinding in user
 * space (the header, time and kind are the caller's; so is the
 * frame-pointer stack: take_sample()). top: the thread's ls_thread
 * stack_top. 1 when the whole raw stack was copied, else 0. A global
 * function: verified once. */
__noinline int fill_sample(struct ls_sample *s, __u32 tid, __u32 tgid, __u64 *top)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);

	if (!s)
		return 0;
	s->weight_ns = period_ns;
	s->nr = syscall_in_progress(regs);
	s->regs[LS_REG_IP] = regs->ip;
	s->regs[LS_REG_SP] = regs->sp;
	s->regs[LS_REG_BP] = regs->bp;
	s->regs[LS_REG_BX] = regs->bx;
	s->regs[LS_REG_R12] = regs->r12;
	s->regs[LS_REG_R13] = regs->r13;
	s->regs[LS_REG_R14] = regs->r14;
	s->regs[LS_REG_R15] = regs->r15;
	s->args[0] = regs->di;
	s->args[1] = regs->si;
	s->args[2] = regs->dx;
	s->args[3] = regs->r10;
	s->args[4] = regs->r8;
	s->args[5] = regs->r9;
	s->fd_kind = fd_kind(s->nr, s->args[0], s->args[1]);
	s->py_flags = 0;
	s->id = 0;
	walk_python(s, tid, tgid);	/* first: it uses stack[] as scratch */
	return copy_stack(s, task, tid, tgid, top);
}

/* A whole sample: header, time and kind, fill_sample(), and, when the raw
 * stack was cut short, the frame-pointer return addresses, which may reach
 * further (bpf_get_stack() needs the program's context, which a global
 * function does not get). A whole raw stack unwinds to the thread's first
 * frame in user space: there the frame-pointer walk (a µs) adds nothing but
 * across code without unwind tables (perf trampolines, JIT code). */
static __always_inline void take_sample(void *ctx, struct ls_sample *s, struct ls_thread *t,
					__u32 tgid, __u32 tid, __u32 kind, __u64 now)
{
	long n = 0;

	set_hdr(&s->hdr, LS_EV_SAMPLE, sizeof(*s), tgid, tid, t->seq);
	s->ts = now;
	s->kind = kind;
	if (fill_sample(s, tid, tgid, &t->stack_top) != 1)
		n = bpf_get_stack(ctx, s->ips, sizeof(s->ips), BPF_F_USER_STACK);
	s->n_ips = n > 0 ? n / sizeof(__u64) : 0;
}

/* An off-CPU sample reports what the interval waits in, which is not the
 * syscall in progress when the task was preempted: the fd kind goes with
 * the syscall. */
static __always_inline void set_nr(struct ls_sample *s, __s32 nr)
{
	if (nr != s->nr)
		s->fd_kind = LS_FD_UNKNOWN;
	s->nr = nr;
}

/* Early off-CPU samples: a bucket of LS_OFF_BURST, refilled at two per
 * sampling period, so bursts (a GIL hand-off, then a long sleep) are all
 * sampled early while a storm of tiny waits is held to the rate. */
#define LS_OFF_BURST 8

static __always_inline bool take_token(struct ls_thread *t, __u64 now)
{
	__u64 half = period_ns / 2 ? period_ns / 2 : 1;
	__u64 add = (now - t->tokens_at) / half;

	if (add) {
		t->tokens = t->tokens + add > LS_OFF_BURST ? LS_OFF_BURST : t->tokens + add;
		t->tokens_at = now;
	}
	if (!t->tokens)
		return false;
	t->tokens--;
	return true;
}

/* Send the thread's held off-CPU sample, the stack of its latest off-CPU
 * interval that was not sent at switch-out (no token, or a young
 * preemption), if it belongs to the current busy interval and was not sent
 * yet: it stands for the off-CPU time no sent sample stands for yet
 * (carry_ns: that interval, plus unsampled ones before and after it). Sent
 * at switch-in when its wait was long, and when a stall ends with no
 * sample of its own. A global function: verified once for both callers.
 * 1 if sent. */
__noinline int send_held(struct ls_thread *t, __u32 tid)
{
	struct ls_sample *slot;

	if (!t)
		return 0;
	slot = bpf_map_lookup_elem(&offcpu_slots, &tid);
	if (!slot || slot->hdr.type != LS_EV_SAMPLE || slot->hdr.seq != t->seq)
		return 0;
	slot->weight_ns = t->carry_ns;
	slot->id = ++t->off_id;
	if (!sample_fits() || bpf_ringbuf_output(&events, slot, sizeof(*slot), 0)) {
		__sync_fetch_and_add(&lost_samples, 1);
		t->n_lost++;
		return 0;
	}
	slot->hdr.type = 0;	/* sent: not again */
	t->n_samples++;
	t->carry_ns = 0;
	return 1;
}

/* The command line of the current process, as much as title[] holds
 * (past arg_end too: setproctitle may write a longer title on into the
 * environment's room; user space cuts it as /proc/PID/cmdline would). */
static __always_inline void read_title(struct ls_stall *e)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 start = task->mm->arg_start, end = task->mm->arg_end;

	e->title_len = end > start ? end - start : 0;
	if (!bpf_probe_read_user(e->title, sizeof(e->title), (void *)start))
		return;
	e->title[0] = 0;
	if (e->title_len && e->title_len < sizeof(e->title))
		bpf_probe_read_user(e->title, e->title_len & (sizeof(e->title) - 1),
				    (void *)start);
}

static __always_inline void emit_stall(struct ls_thread *t, __u32 tgid, __u32 tid,
				       __s32 end_nr, __u64 now)
{
	struct ls_stall *e;

	/* Off-CPU time no sent sample stands for (a stall with no sample
	 * at all, or short waits after the last one) goes to the held stack
	 * of the latest such wait, sent first (the ring buffer keeps the
	 * order): every stall the loop left the CPU in has a stack of its
	 * own. On-CPU throughout with no tick past min_age, it has none. */
	if (t->carry_ns || !t->n_samples)
		send_held(t, tid);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost_stalls, 1);
		return;
	}
	set_hdr(&e->hdr, LS_EV_STALL, sizeof(*e), tgid, tid, t->seq);
	e->start_ns = t->busy_start;
	e->end_ns = now;
	e->off_cpu_ns = t->off_cpu_ns;
	e->end_nr = end_nr;
	e->n_samples = t->n_samples;
	e->n_waits = t->n_waits;
	e->n_lost = t->n_lost;
	__builtin_memcpy(e->waits, t->waits, sizeof(e->waits));
	e->_pad = 0;
	read_title(e);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* A stall wakes user space at once. On-CPU samples wake no one (user
	 * space reads them at the latest when its poll times out, 50 ms): a
	 * wakeup at every tick cost more than the sample. Off-CPU samples
	 * wake it as before, so it reads their code objects while they live. */
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
}

/* A thread of a watched process polls for the first time: its entry.
 * NULL when its process is not watched, runs no CPython, or the thread is
 * known to be no loop. */
static __always_inline struct ls_thread *new_thread(__u32 tgid, __u32 tid, __u32 kind)
{
	struct ls_thread fresh = { .poll_kind = kind, .off_nr = -1, .tgid = tgid };
	struct ls_proc *p = watched_proc(tgid);
	struct ls_thread *t;

	if (!p || (p->flags & LS_PROC_SKIP) || bpf_map_lookup_elem(&not_loops, &tid))
		return NULL;
	if (bpf_map_update_elem(&threads, &tid, &fresh, BPF_NOEXIST)) {
		__sync_fetch_and_add(&lost_threads, 1);
		return NULL;
	}
	t = bpf_map_lookup_elem(&threads, &tid);
	return t;
}

/* ls_busy_bucket() as a global function: verified once, not on every path
 * of each loop-wait program (its branches multiplied their states 6x). */
__noinline __u32 busy_bucket(__u64 ns)
{
	return ls_busy_bucket(ns);
}

/* A busy interval ended: into its thread's loop-lag histogram (a few
 * instructions on the thread's own entry: every loop iteration pays it). */
static __always_inline void count_busy(struct ls_busy *b, __u64 ns)
{
	__u32 i = busy_bucket(ns);

	b->count++;
	b->sum_ns += ns;
	if (ns > b->max_ns)
		b->max_ns = ns;
	b->hist[i & (LS_BUSY_BUCKETS - 1)]++;	/* the verifier sees i < 32 */
}

/* Entry of a loop-wait syscall: the busy interval, if any, ends here. */
static __always_inline int loop_wait_enter(__u32 kind, long nr, __u64 nfds)
{
	__u64 pid_tgid = current_ids();
	__u32 tid = (__u32)pid_tgid, tgid = pid_tgid >> 32;
	struct ls_thread *t;

	if (!maybe_watched(tgid))
		return 0;
	if (kind == LS_POLL_POLL && nfds < 2)
		return 0;	/* poll on one fd: a socket timeout, not a loop */
	t = bpf_map_lookup_elem(&threads, &tid);
	if (!t) {
		t = new_thread(tgid, tid, kind);
		if (!t)
			return 0;
	}
	/* An epoll loop ends its iterations in epoll only. */
	if (t->poll_kind == LS_POLL_EPOLL && kind != LS_POLL_EPOLL)
		return 0;
	if (t->busy_start) {
		__u64 now = bpf_ktime_get_ns();

		if (now - t->busy_start >= threshold_ns)
			emit_stall(t, tgid, tid, nr, now);
		count_busy(&t->busy, now - t->busy_start);	/* after: fewer paths */
	}
	t->poll_kind = kind;
	t->busy_start = 0;
	t->in_poll = 1;
	t->flags = 0;
	return 0;
}

/* Return from a loop-wait syscall: a new busy interval starts. A thread
 * first seen here was in this wait when the probes were attached (an idle
 * loop blocked in its poll, discovered later, once the symbols are read):
 * its entry is made now, so that its first busy interval counts (not for
 * poll(2), whose fd count tells a loop from a socket timeout only at
 * entry). */
static __always_inline int loop_wait_exit(__u32 kind)
{
	__u64 pid_tgid = current_ids();
	__u32 tid = (__u32)pid_tgid;
	struct ls_thread *t;

	if (!maybe_watched(pid_tgid >> 32))
		return 0;
	t = bpf_map_lookup_elem(&threads, &tid);
	if (!t && kind != LS_POLL_POLL && (t = new_thread(pid_tgid >> 32, tid, kind)))
		t->in_poll = 1;
	if (!t || !(t->in_poll || (t->flags & LS_T_ATTACHED_BUSY)))
		return 0;
	t->in_poll = 0;
	t->flags = 0;
	t->seq++;
	t->off_cpu_ns = 0;
	t->carry_ns = 0;
	t->off_sampled = 0;
	t->n_samples = 0;
	t->n_lost = 0;
	t->n_waits = 0;
	t->off_start = 0;
	t->busy_start = bpf_ktime_get_ns();
	return 0;
}

/* The previous task leaves the CPU. If it is a busy loop, its stack is sent
 * now, while the code objects on it exist; the time follows at switch-in.
 * At most two samples per sampling period are sent early; otherwise (or
 * when the ring buffer is full) the stack waits in the thread's slot, sent
 * only if the wait turns out long or the stall needs it (send_held()). */
static __always_inline void loop_switch_out(void *ctx, bool preempt, struct task_struct *prev,
					    __u32 tgid, __u32 tid, __u64 now)
{
	struct ls_thread *t = bpf_map_lookup_elem(&threads, &tid);
	struct ls_sample *s = NULL, *slot;
	long state;
	struct pt_regs *regs;
	bool preempted_young, lost = false;
	__u32 zero = 0;
	__s32 nr;

	if (!t || !t->busy_start)
		return;
	state = BPF_CORE_READ(prev, __state);
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	nr = syscall_in_progress(regs);
	t->off_start = now;
	if (preempt || state == 0 /* TASK_RUNNING */)
		t->off_nr = LS_WAIT_RUNQ;
	else if (state & (0x4 | 0x8))	/* __TASK_STOPPED, __TASK_TRACED */
		t->off_nr = LS_WAIT_STOPPED;
	else
		t->off_nr = nr >= 0 ? nr : LS_WAIT_OTHER;
	t->off_sampled = 0;
	/* preempted in a young interval: a healthy loop's commonest switch;
	 * it waits in the slot (sent if the wait turns out long) */
	preempted_young = t->off_nr == LS_WAIT_RUNQ && now - t->busy_start < min_age_ns;
	if (!preempted_young && take_token(t, now)) {
		s = sample_fits() ? bpf_ringbuf_reserve(&events, sizeof(*s), 0) : NULL;
		if (!s) {
			/* counted lost; its stack is held instead */
			__sync_fetch_and_add(&lost_samples, 1);
			t->n_lost++;
			lost = true;
		}
	}
	if (s) {
		take_sample(ctx, s, t, tgid, tid, LS_SAMPLE_OFFCPU, now);
		s->weight_ns = 0;
		set_nr(s, t->off_nr);
		s->id = ++t->off_id;
		bpf_ringbuf_submit(s, 0);
		t->n_samples++;
		t->off_sampled = 1;
		return;
	}
	/* held: one bounded copy into the thread's slot, overwriting the
	 * last one; sent only if this wait or the stall turns out long */
	slot = bpf_map_lookup_elem(&offcpu_slots, &tid);
	if (!slot) {
		struct ls_sample *z = bpf_map_lookup_elem(&zero_sample, &zero);

		if (z)
			bpf_map_update_elem(&offcpu_slots, &tid, z, BPF_ANY);
		slot = bpf_map_lookup_elem(&offcpu_slots, &tid);
	}
	if (slot) {
		take_sample(ctx, slot, t, tgid, tid, LS_SAMPLE_OFFCPU, now);
		set_nr(slot, t->off_nr);
	} else if (!lost) {
		__sync_fetch_and_add(&lost_samples, 1);	/* no slot */
		t->n_lost++;
	}
}

/* The next task comes back on the CPU. If it is a busy loop that went
 * off-CPU, its off-CPU time is counted, and given to the sample sent at
 * switch-out (LS_EV_OFFCPU_END) or to the slot's stack, sent now if the
 * interval was long; short unsampled intervals carry their time over. */
static __always_inline void loop_switch_in(__u32 tgid, __u32 tid, __u64 now)
{
	struct ls_thread *t = bpf_map_lookup_elem(&threads, &tid);
	struct ls_offcpu_end *e;
	__u64 delta;

	if (!t || !t->off_start)
		return;
	delta = now - t->off_start;
	t->off_start = 0;
	if (!t->busy_start)
		return;
	t->off_cpu_ns += delta;
	add_wait(t, t->off_nr, delta);
	t->carry_ns += delta;
	if (!t->off_sampled) {
		/* short: held; its time goes to the next sample, or to
		 * the held stack if the stall ends with no sample */
		if (delta >= period_ns / 2)
			send_held(t, tid);
		return;
	}
	t->off_sampled = 0;
	e = sample_fits() ? bpf_ringbuf_reserve(&events, sizeof(*e), 0) : NULL;
	if (!e) {
		__sync_fetch_and_add(&lost_samples, 1);
		return;
	}
	set_hdr(&e->hdr, LS_EV_OFFCPU_END, sizeof(*e), tgid, tid, t->seq);
	e->id = t->off_id;
	e->nr = t->off_nr;
	e->weight_ns = t->carry_ns;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	t->carry_ns = 0;
}

/* Off-CPU time of loop threads: a watched task leaving the CPU, then one
 * coming back (both, when one loop thread follows another). Any other
 * switch costs two bytes of the prefilter. */
SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	__u64 prev_ids, next_ids, now;
	bool out, in;

	if (pidns_ino) {
		prev_ids = task_ids_ns((__u64)prev);
		next_ids = task_ids_ns((__u64)next);
	} else {	/* the TIDs only once a tgid may be watched */
		prev_ids = (__u64)BPF_CORE_READ(prev, tgid) << 32;
		next_ids = (__u64)BPF_CORE_READ(next, tgid) << 32;
	}
	out = maybe_watched(prev_ids >> 32);
	in = maybe_watched(next_ids >> 32);
	if (!out && !in)
		return 0;
	if (!pidns_ino) {
		prev_ids |= out ? (__u32)BPF_CORE_READ(prev, pid) : 0;
		next_ids |= in ? (__u32)BPF_CORE_READ(next, pid) : 0;
	}
	now = bpf_ktime_get_ns();
	if (out)
		loop_switch_out(ctx, preempt, prev, prev_ids >> 32, (__u32)prev_ids, now);
	if (in)
		loop_switch_in(next_ids >> 32, (__u32)next_ids, now);
	return 0;
}

/* One tracepoint pair per loop-wait syscall: only these syscalls run BPF
 * code; every other syscall of every process runs none. Defined after
 * sched_switch, so attached after it (the skeleton attaches in this
 * order): no busy interval begins while its off-CPU time goes unseen. */
#define LOOP_WAIT(name, kind, nfds_arg)						\
SEC("tracepoint/syscalls/sys_enter_" #name)					\
int enter_##name(struct trace_event_raw_sys_enter *ctx)				\
{										\
	return loop_wait_enter(kind, ctx->id, ctx->args[nfds_arg]);		\
}										\
SEC("tracepoint/syscalls/sys_exit_" #name)					\
int exit_##name(struct trace_event_raw_sys_exit *ctx)				\
{										\
	return loop_wait_exit(kind);						\
}

LOOP_WAIT(epoll_wait, LS_POLL_EPOLL, 2)
LOOP_WAIT(epoll_pwait, LS_POLL_EPOLL, 2)
LOOP_WAIT(epoll_pwait2, LS_POLL_EPOLL, 2)
LOOP_WAIT(poll, LS_POLL_POLL, 1)
LOOP_WAIT(ppoll, LS_POLL_POLL, 1)
LOOP_WAIT(select, LS_POLL_SELECT, 0)
LOOP_WAIT(pselect6, LS_POLL_SELECT, 0)

SEC("perf_event")
int on_cpu(struct bpf_perf_event_data *ctx)
{
	__u64 pid_tgid = current_ids();
	__u32 tid = (__u32)pid_tgid, tgid = pid_tgid >> 32;
	struct ls_thread *t;
	struct ls_sample *s;
	__u64 now;

	if (!maybe_watched(tgid))
		return 0;
	t = bpf_map_lookup_elem(&threads, &tid);
	if (!t || !t->busy_start)
		return 0;
	now = bpf_ktime_get_ns();
	if (now - t->busy_start < min_age_ns)
		return 0;	/* young: most likely a healthy iteration */
	s = sample_fits() ? bpf_ringbuf_reserve(&events, sizeof(*s), 0) : NULL;
	if (!s) {
		__sync_fetch_and_add(&lost_samples, 1);
		t->n_lost++;
		return 0;
	}
	take_sample(ctx, s, t, tgid, tid, LS_SAMPLE_ONCPU, now);
	bpf_ringbuf_submit(s, BPF_RB_NO_WAKEUP);
	t->n_samples++;
	return 0;
}

/* Whatever was kept of a thread: it exited, or exec'd (its TID is
 * reusable; the new image's threads start afresh). */
static __always_inline void forget_thread(__u32 tid)
{
	struct ls_thread *t = bpf_map_lookup_elem(&threads, &tid);

	/* its loop lag outlives it, until user space has read it */
	if (t && t->busy.count &&
	    bpf_map_update_elem(&gone_busy, &tid, &t->busy, BPF_ANY))
		__sync_fetch_and_add(&lost_threads, 1);
	bpf_map_delete_elem(&threads, &tid);
	bpf_map_delete_elem(&offcpu_slots, &tid);
	bpf_map_delete_elem(&py_tstates, &tid);
	bpf_map_delete_elem(&not_loops, &tid);
}

static __always_inline void send_proc(__u32 what, __u32 tgid, __u32 tid, __u32 parent)
{
	struct ls_proc_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&lost_procs, 1);
		return;
	}
	set_hdr(&e->hdr, LS_EV_PROC, sizeof(*e), tgid, tid, 0);
	e->what = what;
	e->parent = parent;
	e->ts = bpf_ktime_get_ns();
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
}

/* A new task. A thread (same tgid) is no new process. A process forked by
 * one followed is watched at once, before it runs: its flags, its parent's
 * layout (the same image at the same addresses) and, for its one thread,
 * the forking thread's PyThreadState, which it runs on with. */
SEC("raw_tp/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	__u64 pids = task_ids(parent), cids = task_ids(child);
	__u32 ptgid = pids >> 32, tgid = cids >> 32, ptid = (__u32)pids;
	struct ls_proc *pp, np = {};
	struct ls_py_layout *l;
	__u64 *ts;

	if (tgid == ptgid)
		return 0;
	pp = watched_proc(ptgid);
	if (!pp || !(pp->flags & LS_PROC_FOLLOW))
		return 0;
	np.flags = pp->flags;
	np.parent = ptgid;
	if (bpf_map_update_elem(&watched, &tgid, &np, BPF_ANY)) {
		__sync_fetch_and_add(&lost_procs, 1);
		return 0;
	}
	watch_filter[tgid & (LS_WATCH_FILTER - 1)] = 1;
	l = bpf_map_lookup_elem(&py_layouts, &ptgid);
	if (l)
		bpf_map_update_elem(&py_layouts, &tgid, l, BPF_ANY);
	ts = bpf_map_lookup_elem(&py_tstates, &ptid);
	if (ts)
		bpf_map_update_elem(&py_tstates, &tgid, ts, BPF_ANY);
	send_proc(LS_PROC_FORK, tgid, ptid, ptgid);
	return 0;
}

/* A watched process runs a new image: its layout and its threads' state
 * are dropped (the exec'ing thread takes the tgid as its TID), and it may
 * run a CPython now (LS_PROC_SKIP cleared). */
SEC("raw_tp/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	__u64 ids = task_ids(p);
	__u32 tgid = ids >> 32, tid = (__u32)ids;
	struct ls_proc *w = watched_proc(tgid);

	if (!w)
		return 0;
	w->flags &= ~LS_PROC_SKIP;
	bpf_map_delete_elem(&py_layouts, &tgid);
	forget_thread(tid);
	/* old_pid is the kernel's number: only ours in the initial namespace */
	if (!pidns_ino && (__u32)old_pid != tid)
		forget_thread(old_pid);
	send_proc(LS_PROC_EXEC, tgid, tid, 0);
	return 0;
}

/* A thread of a watched process exits: its state goes; with the last one
 * (the group's live count at 0), the process's, and user space is told.
 * Two threads ending at once may both see 0: told twice. */
SEC("raw_tp/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *p)
{
	__u64 pid_tgid = current_ids();
	__u32 tid = (__u32)pid_tgid, tgid = pid_tgid >> 32;

	struct ls_thread *t;

	if (!watched_proc(tgid))
		return 0;
	/* a loop killed in a stall (SIGKILL, a crash: exit_code holds the
	 * signal): the stall it was in, cut where it ends. Not a normal exit:
	 * the interpreter's shutdown after its loop has returned is no stall */
	t = bpf_map_lookup_elem(&threads, &tid);
	if (t && t->busy_start && (BPF_CORE_READ(p, exit_code) & 0x7f)) {
		__u64 now = bpf_ktime_get_ns();

		if (now - t->busy_start >= threshold_ns)
			emit_stall(t, tgid, tid, LS_END_EXIT, now);
	}
	forget_thread(tid);
	if (BPF_CORE_READ(p, signal, live.counter))
		return 0;
	bpf_map_delete_elem(&watched, &tgid);
	bpf_map_delete_elem(&py_layouts, &tgid);
	send_proc(LS_PROC_EXIT, tgid, tid, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
