// SPDX-License-Identifier: MIT
/* Test driver for symbolizer/native.c against a live process, without
 * stopping or writing it: takes the registers a blocked thread has in
 * /proc/PID/task/TID/syscall (sp and pc only), copies its stack with
 * process_vm_readv, unwinds and symbolizes like a BPF sample would be.
 *
 * usage: native_probe [-n REPEAT] [-w NR] PID TID
 * Prints one frame a line: "PC FUNCTION MODULE FILE:LINE" (- when unknown).
 * -n REPEAT also times REPEAT unwinds of the same sample (on stderr).
 * -w NR reports the process's modules first, prints "ready", then waits for
 * the thread to block in syscall NR: modules mapped meanwhile must be found
 * by the unwinder's own refresh. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include "loopstall.h"
#include "native.h"

static long parse_long(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0) {
		fprintf(stderr, "native_probe: bad %s: %s\n", what, s);
		exit(2);
	}
	return v;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* sp and pc of a blocked thread: "nr arg1..arg6 sp pc" ("-1 sp pc" when
 * blocked outside a syscall, "running" when on a CPU). */
static int blocked_regs(int pid, int tid, long *nr, uint64_t *sp, uint64_t *pc)
{
	char path[96], buf[256];
	uint64_t a[6];
	FILE *f;
	int k;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	k = fgets(buf, sizeof(buf), f) ? 0 : -EIO;
	fclose(f);
	if (k)
		return k;
	if (sscanf(buf, "%ld", nr) != 1)
		return -EAGAIN;	/* "running" */
	if (*nr == -1)
		k = sscanf(buf, "%ld %" SCNx64 " %" SCNx64, nr, sp, pc) == 3;
	else
		k = sscanf(buf, "%ld %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64
			   " %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64, nr,
			   &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], sp, pc) == 9;
	return k ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	static uint8_t stack[LS_STACK_BYTES];
	uint64_t regs[LS_NREGS] = { 0 }, pcs[128];
	long pid, tid, nr, wait_nr = -2, repeat = 0;
	struct native *n = NULL;
	struct iovec l, r;
	ssize_t got;
	int err, cnt, opt, ret = 1;
	double t0, t1, t2, t3;

	while ((opt = getopt(argc, argv, "n:w:")) != -1) {
		if (opt == 'n')
			repeat = parse_long(optarg, "REPEAT");
		else if (opt == 'w')
			wait_nr = parse_long(optarg, "NR");
		else
			goto usage;
	}
	if (argc - optind != 2) {
usage:
		fprintf(stderr, "usage: native_probe [-n REPEAT] [-w NR] PID TID\n");
		return 2;
	}
	pid = parse_long(argv[optind], "PID");
	tid = parse_long(argv[optind + 1], "TID");

	t0 = now_us();
	n = native__new(pid);
	if (!n) {
		fprintf(stderr, "native_probe: native__new: %s\n", strerror(errno));
		return 1;
	}
	t1 = now_us();
	if (wait_nr != -2) {
		printf("ready\n");
		fflush(stdout);
	}
	for (int tries = 0;; tries++) {
		err = blocked_regs(pid, tid, &nr, &regs[LS_REG_SP], &regs[LS_REG_IP]);
		if (wait_nr == -2 || (!err && nr == wait_nr) || tries == 1000)
			break;
		usleep(10000);
	}
	if (err || (wait_nr != -2 && nr != wait_nr)) {
		fprintf(stderr, "native_probe: %ld/%ld: no blocked registers: %s\n",
			pid, tid, err ? strerror(-err) : "other syscall");
		goto out;
	}
	/* up to LS_STACK_BYTES, less at the top of the stack mapping */
	l = (struct iovec){ stack, sizeof(stack) };
	r = (struct iovec){ (void *)(uintptr_t)regs[LS_REG_SP], sizeof(stack) };
	got = process_vm_readv(pid, &l, 1, &r, 1, 0);
	if (got <= 0) {
		fprintf(stderr, "native_probe: reading the stack: %s\n", strerror(errno));
		goto out;
	}

	t2 = now_us();
	cnt = native__unwind(n, tid, regs, stack, got, pcs, 128);
	t3 = now_us();
	if (cnt < 0) {
		fprintf(stderr, "native_probe: native__unwind: %s\n", strerror(-cnt));
		goto out;
	}
	for (int i = 0; i < cnt; i++) {
		struct native_sym s;

		native__symbolize(n, pcs[i], &s);
		printf("%#" PRIx64 " %s %s ", pcs[i], s.function ? s.function : "-",
		       s.module ? s.module : "-");
		if (s.file)
			printf("%s:%d\n", s.file, s.line);
		else
			printf("-\n");
	}
	fprintf(stderr, "native_probe: %d frames, stack %zd bytes; new %.0f us, "
		"first unwind %.0f us, symbolize %.0f us\n", cnt, got, t1 - t0,
		t3 - t2, now_us() - t3);
	if (repeat > 0) {
		double t = now_us();
		for (long i = 0; i < repeat; i++)
			if (native__unwind(n, tid, regs, stack, got, pcs, 128) != cnt) {
				fprintf(stderr, "native_probe: unwind %ld differs\n", i);
				goto out;
			}
		t = now_us() - t;
		fprintf(stderr, "native_probe: %ld unwinds: %.2f us each\n", repeat,
			t / repeat);
		t = now_us();
		for (long i = 0; i < repeat; i++)
			native__refresh(n);
		t = now_us() - t;
		fprintf(stderr, "native_probe: %ld refreshes (unchanged): %.2f us each\n",
			repeat, t / repeat);
	}
	fflush(stdout);
	ret = 0;
out:
	native__free(n);
	return ret;
}
