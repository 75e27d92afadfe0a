# SPDX-License-Identifier: MIT
"""A loop that stalls all the time: each iteration spins 60 ms of pure
Python on the loop, so loopstall samples it without pause. Every WINDOW
seconds prints "<unix time> <spin steps per second>"."""
import asyncio
import sys
import time

WINDOW = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5


def work(depth, end):
    if depth:
        return work(depth - 1, end)      # a stack of ~30 frames to walk
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


async def main():
    print("ready", flush=True)
    n, t0 = 0, time.monotonic()
    while True:
        n += work(25, time.perf_counter() + 0.06)
        await asyncio.sleep(0)
        now = time.monotonic()
        if now - t0 >= WINDOW:
            print(f"{time.time():.3f} {n / (now - t0):.1f}", flush=True)
            n, t0 = 0, now


asyncio.run(main())
