/* SPDX-License-Identifier: MIT */
/*
 * Data structures shared between the BPF programs (loopstall.bpf.c) and user
 * space (probe/). Fixed-width types and fixed arrays only; nothing included.
 * User space checks the sizes with _Static_assert (probe/events.h).
 */
#ifndef LOOPSTALL_H
#define LOOPSTALL_H

#define LS_ABI_VERSION		1
#define LS_MAX_WAITS		8	/* distinct wait kinds kept per stall */
#define LS_MAX_USTACK		64	/* frame-pointer return addresses */
#define LS_STACK_BYTES		16384	/* raw user stack copied from sp up */
#define LS_MAX_PYFRAMES		128	/* Python frames (filled by the frame walker) */
#define LS_MAX_WALK		(LS_MAX_PYFRAMES + 64)	/* entry frames are skipped */
#define LS_MAX_PY_THREADS	4096	/* thread states known (BPF map "py_tstates") */
#define LS_MAX_LOOP_THREADS	1024
#define LS_MAX_PROCS		1024	/* processes watched at once (map "watched") */
#define LS_WATCH_FILTER		8192	/* bytes of the tgid prefilter (a power of 2) */
#define LS_TITLE_BYTES		64	/* of the command line kept with a stall */
#define LS_PIDNS_SCAN		8	/* PID namespace levels searched for loopstall's */

/* Pseudo syscall numbers for off-CPU time spent outside a syscall. */
#define LS_WAIT_RUNQ		(-2)	/* preempted: runnable, waiting for a CPU */
#define LS_WAIT_OTHER		(-3)	/* blocked outside a syscall (page fault…) */
#define LS_WAIT_STOPPED		(-4)	/* stopped: SIGSTOP, Ctrl-Z, a debugger */
#define LS_END_EXIT		(-5)	/* a stall's end: its thread exited (killed) */

/* The loop-wait syscall families. */
enum ls_poll_kind {
	LS_POLL_EPOLL	= 1,	/* epoll_wait, epoll_pwait, epoll_pwait2 */
	LS_POLL_POLL	= 2,	/* poll, ppoll (counted when nfds >= 2) */
	LS_POLL_SELECT	= 3,	/* select, pselect6 */
};

enum ls_event_type {
	LS_EV_STALL	= 1,	/* a busy interval at or above the threshold */
	LS_EV_SAMPLE	= 2,	/* a stack sample taken while a loop was busy */
	LS_EV_OFFCPU_END = 3,	/* the off-CPU interval of a sample ended */
	LS_EV_PROC	= 4,	/* a watched process forked, exec'd or exited */
};

/* Per watched process, BPF map "watched" (tgid -> ls_proc): set by user
 * space for the processes it is given, and by sched_process_fork for the
 * new processes of one with LS_PROC_FOLLOW (flags inherited). */
struct ls_proc {
	__u32 flags;		/* LS_PROC_* */
	__u32 parent;		/* the tgid it was forked from; 0: given */
};

/* ls_proc.flags */
#define LS_PROC_FOLLOW	1	/* its new processes are watched too */
#define LS_PROC_SKIP	2	/* runs no CPython: its threads are no loops
				   (cleared at exec: the new image may run one) */

/* ls_proc_event.what */
enum ls_proc_what {
	LS_PROC_FORK	= 1,	/* hdr.pid is new, forked by parent (hdr.tid
				   is the thread that forked) */
	LS_PROC_EXEC	= 2,	/* hdr.pid runs a new image: its layout was
				   dropped, its interpreter is to be found again */
	LS_PROC_EXIT	= 3,	/* hdr.pid's last thread exited */
};

enum ls_sample_kind {
	LS_SAMPLE_ONCPU		= 0,	/* perf_event cpu-clock tick */
	LS_SAMPLE_OFFCPU	= 1,	/* sched_switch away from a busy loop */
};

/* The loop lag: every busy interval of a loop counted in a histogram of
 * its duration, two buckets an octave from 1 ms: bucket 0 under 1 ms, then
 * [1, 1.5), [1.5, 2), [2, 3), [3, 4), [4, 6) … ms; the last one, from
 * 49.152 s, open. A power of 2: BPF masks the index. */
#define LS_BUSY_BUCKETS		32

struct ls_busy {
	__u64 count;		/* busy intervals ended */
	__u64 sum_ns;		/* their time */
	__u64 max_ns;		/* the longest */
	__u32 hist[LS_BUSY_BUCKETS];
};

/* The bucket of a busy interval of ns (both sides: BPF counts, user
 * space names the bounds, ls_busy_bound_ns()). */
static inline __u32 ls_busy_bucket(__u64 ns)
{
	__u64 q = ns / 500000;	/* half milliseconds */
	__u32 e = 0, b;

	if (q < 2)
		return 0;
	if (q >> 32) { q >>= 32; e += 32; }
	if (q >> 16) { q >>= 16; e += 16; }
	if (q >> 8) { q >>= 8; e += 8; }
	if (q >> 4) { q >>= 4; e += 4; }
	if (q >> 2) { q >>= 2; e += 2; }
	if (q >> 1) { q >>= 1; e += 1; }
	/* e = floor(log2(half ms)) >= 1; the bit below the top one halves it */
	b = 1 + 2 * (e - 1) + (__u32)((ns / 500000 >> (e - 1)) & 1);
	return b < LS_BUSY_BUCKETS ? b : LS_BUSY_BUCKETS - 1;
}

/* The upper bound of bucket b (exclusive); the last one has none. */
static inline __u64 ls_busy_bound_ns(__u32 b)
{
	__u32 e = (b - 1) / 2 + 1;

	if (!b)
		return 1000000;
	return (__u64)((b - 1) & 1 ? 4 : 3) * 500000 << (e - 1);
}

struct ls_wait {
	__s32 nr;		/* syscall number, or LS_WAIT_* */
	__u32 count;		/* off-CPU intervals */
	__u64 ns;
};

/* Per loop thread state, BPF map "threads" (tid -> ls_thread). User space
 * reads it to report loops that are blocked right now. */
struct ls_thread {
	__u64 seq;		/* busy interval number, starts at 1 */
	__u64 busy_start;	/* ktime of the poll return; 0 while in poll */
	__u64 off_start;	/* ktime of the switch-out; 0 while on CPU */
	__u64 off_cpu_ns;	/* in this busy interval */
	__u64 carry_ns;		/* off-CPU time not yet given to a sample */
	__u32 off_id;		/* id of the last off-CPU sample sent */
	__u32 off_sampled;	/* the current off-CPU interval has sample off_id */
	__u32 tokens;		/* early off-CPU samples allowed now (bucket) */
	__u64 tokens_at;	/* ktime the bucket was last filled */
	__s32 off_nr;		/* what the current off-CPU interval waits in */
	__u32 tgid;		/* the thread's process */
	__u64 stack_top;	/* end of its stack (not the main thread's):
				   0 not looked up yet, 1 not found */
	__u32 poll_kind;	/* enum ls_poll_kind of this loop */
	__u32 in_poll;		/* 1 between loop-wait entry and exit */
	__u32 n_samples;	/* sent in this busy interval */
	__u32 n_lost;		/* samples the ring buffer had no room for */
	__u32 n_waits;
	__u32 flags;		/* LS_T_* */
	struct ls_wait waits[LS_MAX_WAITS];
	struct ls_busy busy;	/* every busy interval since it was made */
};

/* ls_thread.flags */
#define LS_T_ATTACHED_BUSY	1	/* made by user space at attach for a loop
					   found outside its poll: if the next
					   event is a poll's return, it was in
					   its poll after all */

/* Where the frame walker finds things in the target's CPython: byte
 * offsets, per version (symbolizer/pylayout.c; docs/cpython-layouts.md). */
#define LS_NO_OFF	0xffff
#define LS_FRAME_WIN	96	/* bytes read per frame */
#define LS_CODE_WIN	96	/* bytes read per code object, from code_win */

struct ls_py_offsets {
	__u16 tstate_frame;	/* tstate -> cframe (3.11, 3.12) or current_frame */
	__u16 cframe_frame;	/* cframe -> current_frame; LS_NO_OFF if none */
	__u16 frame_code;	/* f_code / f_executable */
	__u16 frame_previous;
	__u16 frame_instr;	/* prev_instr / instr_ptr */
	__u16 frame_owner;	/* u8 */
	__u16 frame_is_entry;	/* u8, 3.11; LS_NO_OFF after */
	__u16 code_adaptive;	/* co_code_adaptive: the first code unit */
	__u16 code_win;		/* start of the code window read for the guard */
	__u16 code_firstlineno;	/* these four: offsets from code_win */
	__u16 code_filename;
	__u16 code_qualname;
	__u16 code_linetable;
	__u8 owner_skip;	/* frames with owner >= this are not Python code */
	__u8 code_tag_mask;	/* low bits to clear in f_executable */
	__u16 str_length;	/* str -> length (of co_qualname) */
	__u16 str_data;		/* str -> data of a compact ASCII str */
	__u16 code_version;	/* co_version, from code_win; LS_NO_OFF (3.11) */
	__u16 _pad;
};

/* Per process CPython layout, BPF map "py_layouts" (tgid -> ls_py_layout),
 * set by user space once it knows the process's interpreter and copied to
 * a forked child from its parent (same image, same addresses); dropped at
 * exec. No entry, or walk 0: no Python frames. */
struct ls_py_layout {
	struct ls_py_offsets off;
	__u32 walk;		/* 1: walk Python frames */
	__u32 _pad;
};

#define LS_STR_WIN	64	/* bytes read of co_qualname for the guard */

/* The guard of a code object: what identifies it beyond its address. The
 * walker computes it from the code window; user space from its own read.
 * ls_name_guard() adds the length and first 16 characters of co_qualname:
 * a freed code object's address and its strings' addresses can all be
 * reused at once (code.replace() in a loop does it). */
static inline __u32 ls_code_guard(__u32 firstlineno, __u64 filename,
				  __u64 qualname, __u64 linetable)
{
	return firstlineno * 2654435761u ^ (__u32)(filename >> 3) ^
	       (__u32)(qualname >> 3) * 7u ^ (__u32)(linetable >> 3) * 13u;
}

/* 3.12+: co_version, numbered from a counter at every code object's
 * creation (0 once it wrapped), tells a reused address apart alone: then
 * co_qualname is not read. */
static inline __u32 ls_version_guard(__u32 version)
{
	return version * 0x85ebca6bu;
}

static inline __u32 ls_name_guard(__u64 len, __u64 w0, __u64 w1)
{
	/* only the string's own bytes: what follows it may change */
	if (len < 8) {
		w0 &= len ? ~0ULL >> (64 - 8 * len) : 0;
		w1 = 0;
	} else if (len < 16) {
		w1 &= len > 8 ? ~0ULL >> (64 - 8 * (len - 8)) : 0;
	}
	w0 ^= w1 * 0x9e3779b97f4a7c15ULL ^ len * 0xff51afd7ed558ccdULL;
	return (__u32)(w0 >> 32) ^ (__u32)w0;
}

struct ls_event_hdr {
	__u32 type;		/* enum ls_event_type */
	__u32 size;		/* of the whole event */
	__u32 pid;		/* tgid */
	__u32 tid;
	__u64 seq;		/* busy interval of tid this belongs to */
};

struct ls_stall {
	struct ls_event_hdr hdr;
	__u64 start_ns;		/* ktime (CLOCK_MONOTONIC) */
	__u64 end_ns;
	__u64 off_cpu_ns;
	__s32 end_nr;		/* the loop-wait syscall that ended it */
	__u32 n_samples;	/* samples sent for this interval */
	__u32 n_waits;
	__u32 n_lost;		/* samples lost to a full ring buffer */
	struct ls_wait waits[LS_MAX_WAITS];
	/* the process's command line then, its first LS_TITLE_BYTES bytes
	 * from mm->arg_start (the setproctitle title, or the arguments,
	 * NUL-separated): a process may be gone when user space reads it */
	__u32 title_len;	/* mm->arg_end - mm->arg_start */
	__u32 _pad;
	__u8 title[LS_TITLE_BYTES];
	char comm[16];		/* the thread's OS name then (TASK_COMM_LEN) */
};

/* A process of the session forked, exec'd or exited (enum ls_proc_what). */
struct ls_proc_event {
	struct ls_event_hdr hdr;	/* pid: the process; seq 0 */
	__u32 what;		/* enum ls_proc_what */
	__u32 parent;		/* LS_PROC_FORK: the parent's tgid */
	__u64 ts;		/* ktime */
};

/* User registers kept with a sample: what a DWARF unwinder needs to start
 * (the callee-saved ones included). x86-64. */
enum ls_reg {
	LS_REG_IP, LS_REG_SP, LS_REG_BP, LS_REG_BX,
	LS_REG_R12, LS_REG_R13, LS_REG_R14, LS_REG_R15,
	LS_NREGS
};

/* ls_sample.fd_kind: what the fd of the syscall in progress is, looked up
 * when the sample is taken (the program may close it before user space
 * reads the sample). The values are those of enum fd_kind (rules/rule.h);
 * probe/fdkind.h asserts it. */
enum ls_fd_kind {
	LS_FD_UNKNOWN	= -1,	/* no syscall on an fd, fd not open, unreadable */
	LS_FD_TCP	= 0,
	LS_FD_UDP	= 1,
	LS_FD_UNIX	= 2,
	LS_FD_FILE	= 3,	/* regular file, directory, device: a path */
	LS_FD_PIPE	= 4,	/* pipe or FIFO */
	LS_FD_OTHER	= 5,	/* other sockets; eventfd, epoll, timerfd… */
};

/* x86-64 syscall numbers (asm/unistd_64.h; tests/unit/test_fdkind.c checks
 * them against the names). poll and ppoll work on one fd when nfds is 1:
 * the first int of the pollfd array. */
#define LS_NR_POLL	7
#define LS_NR_PPOLL	271

/* Does syscall nr work on the fd in its first argument? */
static inline int ls_fd_in_arg0(long nr)
{
	switch (nr) {
	case 0:		/* read */
	case 1:		/* write */
	case 5:		/* fstat */
	case 8:		/* lseek */
	case 16:	/* ioctl */
	case 17:	/* pread64 */
	case 18:	/* pwrite64 */
	case 19:	/* readv */
	case 20:	/* writev */
	case 40:	/* sendfile (out_fd) */
	case 42:	/* connect */
	case 43:	/* accept */
	case 44:	/* sendto */
	case 45:	/* recvfrom */
	case 46:	/* sendmsg */
	case 47:	/* recvmsg */
	case 72:	/* fcntl */
	case 73:	/* flock */
	case 74:	/* fsync */
	case 75:	/* fdatasync */
	case 77:	/* ftruncate */
	case 217:	/* getdents64 */
	case 275:	/* splice (fd_in) */
	case 288:	/* accept4 */
	case 295:	/* preadv */
	case 296:	/* pwritev */
	case 299:	/* recvmmsg */
	case 307:	/* sendmmsg */
	case 327:	/* preadv2 */
	case 328:	/* pwritev2 */
		return 1;
	}
	return 0;
}

/* ls_pyframe.flags */
#define LS_PYF_ENTRY	1	/* last frame run by one C-level eval call */

/* ls_sample.py_flags */
#define LS_PY_TRUNCATED	1	/* deeper than LS_MAX_PYFRAMES */
#define LS_PY_NO_TSTATE	2	/* no thread state known for the thread */
#define LS_PY_READ_ERR	4	/* a frame could not be read */

/* Off-CPU samples are sent when the loop goes off-CPU (so user space reads
 * the code objects while they still exist); their weight, the off-CPU
 * time, follows when it comes back. */
struct ls_offcpu_end {
	struct ls_event_hdr hdr;
	__u32 id;		/* ls_sample.id */
	__s32 nr;		/* what it waited in */
	__u64 weight_ns;	/* the interval, plus unsampled ones before it */
};

/* One Python frame, as the frame walker reads it. */
struct ls_pyframe {
	__u64 code;		/* PyCodeObject * */
	__u32 lasti;		/* instruction offset in code units */
	__u32 guard;		/* address-reuse guard read from the code object */
	__u32 flags;		/* LS_PYF_* */
	__u32 _pad;
};

struct ls_sample {
	struct ls_event_hdr hdr;
	__u64 ts;		/* ktime of the sample */
	__u64 weight_ns;	/* time this sample stands for */
	__u32 kind;		/* enum ls_sample_kind */
	__s32 nr;		/* syscall in progress, -1 if none */
	__u64 args[6];		/* its arguments */
	__u64 regs[LS_NREGS];	/* user registers at the sample (enum ls_reg) */
	__u32 n_ips;		/* valid entries of ips[] */
	__u32 stack_len;	/* valid bytes of stack[] (copied from sp) */
	__u32 n_py;		/* valid entries of py[] */
	__u32 py_flags;
	__u32 id;		/* off-CPU: per thread, for its LS_EV_OFFCPU_END */
	__s32 fd_kind;		/* enum ls_fd_kind of the fd nr works on */
	__u64 ips[LS_MAX_USTACK];
	struct ls_pyframe py[LS_MAX_PYFRAMES];
	__u8 stack[LS_STACK_BYTES];
};

#endif /* LOOPSTALL_H */
