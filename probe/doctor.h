/* SPDX-License-Identifier: MIT */
/* `loopstall doctor`: what this machine and the target allow, and the fix. */
#ifndef LS_DOCTOR_H
#define LS_DOCTOR_H

/* pid 0: no target. Returns the exit code (0 when all is fine). */
int doctor__run(int pid, const char *btf, int verbose);

#endif
