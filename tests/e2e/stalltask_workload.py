# SPDX-License-Identifier: MIT
"""Stalls inside asyncio tasks, for test_stall_task.py. argv: SCENARIO
[LOOP], LOOP asyncio (default) or uvloop. Prints "ready PID" once its loop
runs, starts on SIGUSR1, then exits.

  named   a task created with name="flush-cache" runs flush > handle >
          fetch_profile, which blocks in time.sleep 3 times
  aiohttp an aiohttp server whose handler blocks; the workload requests
          it 3 times from a thread of its own
"""
import asyncio
import os
import signal
import sys
import threading
import time

GO = threading.Event()


async def fetch_profile():
    time.sleep(0.15)                                    # BLOCK-LINE


async def handle():
    await fetch_profile()


async def flush():
    for _ in range(3):
        await handle()
        await asyncio.sleep(0.1)


async def named():
    await asyncio.create_task(flush(), name="flush-cache")


async def aiohttp_app():
    from aiohttp import web     # imported before "ready" (see __main__)
    import urllib.request

    async def slow_handler(request):
        time.sleep(0.15)                                # HANDLER-LINE
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", slow_handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]

    def client():
        for _ in range(3):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read()
            time.sleep(0.1)
    done = asyncio.get_running_loop().run_in_executor(None, client)
    await done
    await runner.cleanup()


async def main(scenario):
    while not GO.is_set():
        await asyncio.sleep(0.01)
    await {"named": named, "aiohttp": aiohttp_app}[scenario]()
    await asyncio.sleep(0.3)


if __name__ == "__main__":
    signal.signal(signal.SIGUSR1, lambda *a: GO.set())
    scenario = sys.argv[1]
    if scenario == "aiohttp":
        # a service imports its framework at start: the stall an import
        # of aiohttp is (0.2 s, thousands of new frames for loopstall to
        # symbolize) is not the one tested
        import aiohttp.web       # noqa: F401
    if len(sys.argv) > 2 and sys.argv[2] == "uvloop":
        import uvloop
        uvloop.install()
    print("ready", os.getpid(), flush=True)
    asyncio.run(main(scenario))
