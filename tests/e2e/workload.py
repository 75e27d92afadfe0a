# SPDX-License-Identifier: MIT
"""Asyncio programs that stall in known ways, for the end-to-end tests.

usage: python3 workload.py SCENARIO

Prints "ready PID" once its loops run, then idles (short asyncio sleeps) until
SIGUSR1, runs SCENARIO and exits. Thread names are set with prctl so the
tests can check them.
"""
import asyncio
import ctypes
import os
import selectors
import signal
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

GO = threading.Event()
_libc = ctypes.CDLL(None, use_errno=True)


def name_thread(name):
    _libc.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME


def spin(seconds):
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


async def wait_go():
    while not GO.is_set():
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)


async def sleep_scenario():
    await wait_go()
    for _ in range(3):
        time.sleep(0.2)          # blocks the loop 200 ms, off-CPU  # @sleep
        await asyncio.sleep(0.1)


async def cpu_scenario():
    await wait_go()
    spin(0.3)                    # 300 ms on-CPU
    await asyncio.sleep(0.1)


async def mixed_scenario():
    await wait_go()
    time.sleep(0.1)
    spin(0.1)
    await asyncio.sleep(0.1)


async def short_scenario():
    await wait_go()
    for _ in range(5):
        time.sleep(0.02)         # 20 ms: below a 50 ms threshold
        await asyncio.sleep(0.02)


async def hang_scenario():
    await wait_go()
    time.sleep(2.5)              # blocks the loop 2.5 s  # @hang
    await asyncio.sleep(0.1)


async def first_scenario():
    """Stalls 200 ms, 300 ms after SIGUSR1, then every 300 ms: sent the
    signal as loopstall starts, every stall must be seen, the first too."""
    while not GO.is_set():
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)
    for _ in range(4):
        time.sleep(0.2)          # @first
        await asyncio.sleep(0.1)


async def lock_scenario():
    lock = threading.Lock()
    held = threading.Event()

    def holder():
        name_thread("holder")
        with lock:
            held.set()
            time.sleep(0.3)

    await wait_go()
    threading.Thread(target=holder).start()
    held.wait()
    with lock:                   # waits ~300 ms in futex
        pass
    await asyncio.sleep(0.1)


def never_polls():
    name_thread("busy-worker")
    GO.wait()
    spin(0.3)
    time.sleep(0.3)


async def pool_scenario():
    pool = ThreadPoolExecutor(2, thread_name_prefix="pool")
    loop = asyncio.get_running_loop()
    threading.Thread(target=never_polls, daemon=True).start()
    await wait_go()
    await asyncio.gather(loop.run_in_executor(pool, time.sleep, 0.3),
                         loop.run_in_executor(pool, spin, 0.3))
    await asyncio.to_thread(time.sleep, 0.2)
    time.sleep(0.15)             # the one stall of this scenario
    await asyncio.sleep(0.1)
    pool.shutdown()


# Stacks: the tests find each blocking line by its "# @name" marker.
class Repository:
    def load(self):
        time.sleep(0.15)                                  # @method


def helper3():
    time.sleep(0.15)                                      # @helper3


def helper2():
    helper3()                                             # @helper2


def helper1():
    helper2()                                             # @helper1


def recurse(n):
    if n == 0:
        time.sleep(0.15)                                  # @deep
        return
    recurse(n - 1)                                        # @recurse


async def stacks_scenario():
    await wait_go()
    helper1()                                             # @helper0
    await asyncio.sleep(0.05)
    Repository().load()                                   # @method_call
    await asyncio.sleep(0.05)
    (lambda: time.sleep(0.15))()                          # @lambda
    await asyncio.sleep(0.05)

    def nested():
        time.sleep(0.15)                                  # @nested
    nested()                                              # @nested_call
    await asyncio.sleep(0.05)
    recurse(120)
    await asyncio.sleep(0.05)


async def reuse_scenario():
    """Code objects made, run and freed one after another: their memory is
    reused, and each stall must still name its own function."""
    import types
    base = compile("def fn():\n    time.sleep(0.12)\n", "<gen>", "exec").co_consts[0]
    await wait_go()
    for i in range(6):
        code = base.replace(co_name=f"fn_{i}", co_qualname=f"fn_{i}",
                            co_filename=f"<gen{i}>")
        types.FunctionType(code, {"time": time})()
        del code                  # the next replace() gets the same address
        await asyncio.sleep(0.05)


def selector_thread():
    """A thread with a selectors loop of its own: not an event loop."""
    name_thread("own-selector")
    a, b = socket.socketpair()
    sel = selectors.DefaultSelector()
    sel.register(a, selectors.EVENT_READ)
    sel.register(b, selectors.EVENT_READ)
    GO.wait()
    for _ in range(3):
        sel.select(0.01)
        spin(0.2)                                         # busy between polls


async def own_selector_scenario():
    t = threading.Thread(target=selector_thread)
    t.start()
    await wait_go()
    time.sleep(0.1)                                       # @marker
    await asyncio.to_thread(t.join)


async def tick_scenario():
    """A 2 ms stall at every iteration, for 12 s: most of them go off the
    CPU once, in a wait the token bucket does not sample at switch-out."""
    await wait_go()
    end = time.monotonic() + 12
    while time.monotonic() < end:
        time.sleep(0.002)                                 # @tick
        await asyncio.sleep(0)


async def overrun_scenario():
    await wait_go()
    spin(1.5)
    await asyncio.sleep(0.1)


def run_loop_thread(name, coro_fn):
    def body():
        name_thread(name)
        asyncio.run(coro_fn())
    t = threading.Thread(target=body, name=name)
    t.start()
    return t


async def stall_for(seconds):
    await wait_go()
    time.sleep(seconds)
    await asyncio.sleep(0.1)


async def serve_and(coro):
    # a listening socket gives poll/select loops a second fd to wait on
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    async with server:
        await coro


async def cfuncs_scenario():
    """C code Python calls with no Python frame of its module: json's
    scanner, a precompiled pattern, the C pickler, each ~250 ms."""
    import json.scanner, pickle, re
    scan = json.scanner.c_make_scanner(json.JSONDecoder())
    slug = re.compile(r"^(a+)+$")
    doc = [{"k": i, "v": [i] * 5} for i in range(20000)]
    text = json.dumps(doc)
    await asyncio.sleep(0.3)        # the set-up above: a stall of its own
    end = time.perf_counter() + 0.25
    while time.perf_counter() < end:
        scan(text, 0)
    await asyncio.sleep(0.1)
    end = time.perf_counter() + 0.25
    while time.perf_counter() < end:
        slug.match("a" * 20 + "!")
    await asyncio.sleep(0.1)
    end = time.perf_counter() + 0.25
    while time.perf_counter() < end:
        pickle.dumps(doc)
    await asyncio.sleep(0.1)


SCENARIOS = {
    "sleep": sleep_scenario, "cpu": cpu_scenario, "mixed": mixed_scenario,
    "short": short_scenario, "hang": hang_scenario, "lock": lock_scenario,
    "pool": pool_scenario, "overrun": overrun_scenario, "stacks": stacks_scenario,
    "own_selector": own_selector_scenario, "reuse": reuse_scenario,
    "first": first_scenario, "tick": tick_scenario, "cfuncs": cfuncs_scenario,
}


def main():
    scenario = sys.argv[1]
    signal.signal(signal.SIGUSR1, lambda *a: GO.set())
    print("ready", os.getpid(), flush=True)
    if scenario == "twoloops":
        name_thread("main-waits")
        a = run_loop_thread("loop-a", lambda: stall_for(0.15))
        b = run_loop_thread("loop-b", lambda: stall_for(0.25))
        a.join()
        b.join()
    elif scenario == "uvloop":
        import uvloop
        name_thread("uv-main")
        uvloop.install()
        asyncio.run(stall_for(0.2))
    elif scenario in ("select", "poll"):
        name_thread(scenario + "-main")
        sel = selectors.SelectSelector() if scenario == "select" else selectors.PollSelector()
        loop = asyncio.SelectorEventLoop(sel)
        loop.run_until_complete(serve_and(stall_for(0.2)))
        loop.close()
    else:
        name_thread("loop-main")
        if scenario.endswith("+uvloop"):      # the same scenario under uvloop
            import uvloop
            uvloop.install()
            scenario = scenario[:-len("+uvloop")]
        asyncio.run(SCENARIOS[scenario]())


if __name__ == "__main__":
    main()
