# SPDX-License-Identifier: MIT
"""A loop that stalls all the time: each iteration spins 60 ms of pure
Python on the loop, so loopstall samples it without pause. Every WINDOW
seconds prints "<unix time> <spin steps per second>".

Usage: stall_loop.py [WINDOW] [recursive|distinct]: the 25 frames under
main() run one function (default) or 25 code objects, one per frame."""
import asyncio
import sys
import time
import types

WINDOW = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
DISTINCT = len(sys.argv) > 2 and sys.argv[2] == "distinct"


def work(depth, end):
    if depth:
        return CALLS[depth - 1](depth - 1, end)  # ~30 frames to walk
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


# the same function, or one code object per depth (named work_0 ...)
CALLS = [work] * 25
if DISTINCT:
    CALLS = [types.FunctionType(work.__code__.replace(co_name=f"work_{i}",
                                                      co_qualname=f"work_{i}"),
                                globals()) for i in range(25)]


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
