# SPDX-License-Identifier: MIT
"""A loop that stalls all the time: each iteration spins 60 ms of pure
Python on the loop, so loopstall samples it without pause. Every WINDOW
seconds prints "<unix time> <spin steps per second>".

Usage: stall_loop.py [WINDOW] [recursive|distinct|coroutines]: the 25
frames under main() run one function (default), 25 code objects, one per
frame, or 25 coroutines awaiting each other (frames in their own heap
objects, not side by side on the thread's data stack)."""
import asyncio
import sys
import time
import types

WINDOW = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
MODE = sys.argv[2] if len(sys.argv) > 2 else "recursive"
DISTINCT = MODE in ("distinct", "coroutines")


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


async def awork(depth, end):
    if depth:
        return await ACALLS[depth - 1](depth - 1, end)
    return work(0, end)


ACALLS = [types.FunctionType(awork.__code__.replace(co_name=f"awork_{i}",
                                                    co_qualname=f"awork_{i}"),
                             globals()) for i in range(25)]


async def main():
    print("ready", flush=True)
    n, t0 = 0, time.monotonic()
    while True:
        end = time.perf_counter() + 0.06
        n += await awork(25, end) if MODE == "coroutines" else work(25, end)
        await asyncio.sleep(0)
        now = time.monotonic()
        if now - t0 >= WINDOW:
            print(f"{time.time():.3f} {n / (now - t0):.1f}", flush=True)
            n, t0 = 0, now


asyncio.run(main())
