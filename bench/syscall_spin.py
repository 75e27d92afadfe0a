# SPDX-License-Identifier: MIT
"""A process that is NOT traced, making cheap syscalls: every WINDOW
seconds prints "<unix time> <syscalls per second>". Measures what
loopstall's system-wide syscall tracepoints cost other processes."""
import os
import sys
import time

WINDOW = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
print("ready", flush=True)
n, t0 = 0, time.monotonic()
while True:
    for _ in range(1000):
        os.getppid()
    n += 1000
    now = time.monotonic()
    if now - t0 >= WINDOW:
        print(f"{time.time():.3f} {n / (now - t0):.1f}", flush=True)
        n, t0 = 0, now
