#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Overhead of `loopstall attach` as ratios measured within one run.

Runs a workload, and alternates windows without and with loopstall attached
(ROUNDS times), so machine noise hits both sides alike. Prints the median
throughput of each side and their ratio.

    sudo bench/overhead.py [--rounds 4] [--phase 3]

Workloads:
  target  the traced process itself: an asyncio echo loop (~1 syscall per
          loop iteration round trip), with stalls sampled at 199 Hz
  stalls  the traced loop stalls all the time (60 ms of pure Python, 30
          frames deep, per iteration): sampled without pause, every sample
          walks its Python frames
  other   an untraced process making getppid() calls: what the system-wide
          syscall tracepoints cost everyone else
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LOOPSTALL = os.path.join(HERE, "..", "build", "loopstall")
PY = "/usr/bin/python3"


def measure(workload, traced_pid_of, rounds, phase, ls_args=()):
    proc = subprocess.Popen([PY, os.path.join(HERE, workload), "0.25"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    samples = []                      # (unix time, rate)
    reader = threading.Thread(target=lambda: [samples.append(tuple(map(float, l.split())))
                                              for l in proc.stdout], daemon=True)
    reader.start()
    spans = {"off": [], "on": []}
    sleeper = None
    if traced_pid_of == "other":      # trace some other python loop
        sleeper = subprocess.Popen([PY, "-c", "import asyncio\nasync def m():\n"
                                    " while True: await asyncio.sleep(0.01)\nasyncio.run(m())"])
    target = proc.pid if traced_pid_of == "self" else sleeper.pid
    time.sleep(1.0)                   # warm up
    try:
        for _ in range(rounds):
            t0 = time.time()
            time.sleep(phase)
            spans["off"].append((t0 + 0.3, time.time()))
            ls = subprocess.Popen([LOOPSTALL, "attach", "-p", str(target), "-f", "json",
                                   *ls_args],
                                  stdout=subprocess.DEVNULL)
            time.sleep(0.7)           # load and attach
            t0 = time.time()
            time.sleep(phase)
            spans["on"].append((t0, time.time()))
            ls.send_signal(signal.SIGINT)
            ls.wait()
    finally:
        proc.kill()
        if sleeper:
            sleeper.kill()
    rates = {}
    for side, sp in spans.items():
        rates[side] = [r for (t, r) in samples if any(a <= t <= b for a, b in sp)]
    return {k: statistics.median(v) for k, v in rates.items()}, \
        {k: len(v) for k, v in rates.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--phase", type=float, default=3.0)
    ap.add_argument("--only", choices=("target", "stalls", "other"))
    ap.add_argument("ls_args", nargs="*", help="more loopstall attach options")
    a = ap.parse_args()
    print(f"{'workload':<10} {'without':>12} {'with':>12} {'ratio':>7}  windows")
    for name, wl, who in (("target", "echo_loop.py", "self"),
                          ("stalls", "stall_loop.py", "self"),
                          ("other", "syscall_spin.py", "other")):
        if a.only and a.only != name:
            continue
        med, n = measure(wl, who, a.rounds, a.phase, a.ls_args)
        print(f"{name:<10} {med['off']:>12.0f} {med['on']:>12.0f} "
              f"{med['on'] / med['off']:>7.3f}  {n['off']}/{n['on']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
