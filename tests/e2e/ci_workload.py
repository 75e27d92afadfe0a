# SPDX-License-Identifier: MIT
"""Workloads for the CI-facing features (test_ci.py): the loop lag, budgets,
the status line and the metrics endpoint.

usage: python3 ci_workload.py lag [--now]
       python3 ci_workload.py serve

lag: prints "ready PID", idles in 50 ms sleeps until SIGUSR1 (--now: for
1.5 s), then runs 200 busy intervals of about 3 ms of CPU each, every
50th followed by a 120 ms time.sleep on the loop (4 stalls), and exits.
serve: an aiohttp app on a free port of 127.0.0.1, "ready PID PORT"; GET /
answers "ok", every 100th request after a 60 ms time.sleep on the loop.
"""
import asyncio
import os
import signal
import sys
import threading
import time

GO = threading.Event()


def spin(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


async def lag(now):
    end = time.monotonic() + 1.5
    while not GO.is_set() and not (now and time.monotonic() > end):
        await asyncio.sleep(0.05)
    for i in range(200):
        spin(0.003)                                             # @lag_spin
        if i % 50 == 49:
            time.sleep(0.12)                                    # @lag_stall
        await asyncio.sleep(0.002)


def serve():
    from aiohttp import web

    n = 0

    async def index(request):
        nonlocal n
        n += 1
        if n % 100 == 0:
            time.sleep(0.06)                                    # @serve_stall
        return web.Response(text="ok")

    async def main():
        app = web.Application()
        app.router.add_get("/", index)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        print("ready", os.getpid(), port, flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def main():
    signal.signal(signal.SIGUSR1, lambda *_: GO.set())
    if sys.argv[1] == "serve":
        serve()
        return
    print("ready", os.getpid(), flush=True)
    asyncio.run(lag("--now" in sys.argv))


if __name__ == "__main__":
    main()
