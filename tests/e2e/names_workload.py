# SPDX-License-Identifier: MIT
"""A loop starved of the GIL by a thread with a long Python name.

usage: python3 names_workload.py

Same protocol as workload.py: prints "ready PID" once its loop runs,
idles until SIGUSR1, runs and exits. A thread named "cache-warmer-with-a-
long-name" (threading.Thread(name=...), longer than an OS thread name's 15
bytes) spins in pure Python; with a switch interval of 0.3 s it keeps the
GIL that long each time the loop wakes from a short sleep and waits for
it: STALLS stalls of ~300 ms whose GIL holder is that thread. The loop
runs in the main thread: its Python name is MainThread. Both OS names are
set to something else, so that only a Python name can pass the tests.
"""
import asyncio
import ctypes
import os
import signal
import sys
import threading

NAME = "cache-warmer-with-a-long-name"
STALLS = 3
GO = threading.Event()
STOP = threading.Event()
_libc = ctypes.CDLL(None, use_errno=True)


def name_os_thread(name):
    _libc.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME


def warm():
    name_os_thread("os-name-warmer")   # 3.14+ set it from the Python name
    GO.wait()
    x = 0
    while not STOP.is_set():
        for i in range(20000):     # bytecode only: the GIL is never let go
            x += i


async def main():
    t = threading.Thread(target=warm, name=NAME, daemon=True)
    t.start()
    signal.signal(signal.SIGUSR1, lambda *a: GO.set())
    name_os_thread("os-name-loop")
    print("ready", os.getpid(), flush=True)
    while not GO.is_set():
        await asyncio.sleep(0.01)
    sys.setswitchinterval(0.3)
    for _ in range(STALLS):
        await asyncio.sleep(0.01)  # wakes, then waits up to 0.3 s for the GIL
    STOP.set()
    sys.setswitchinterval(0.005)
    await asyncio.to_thread(t.join)
    await asyncio.sleep(0.3)       # idle: the last stall ends


if __name__ == "__main__":
    asyncio.run(main())
