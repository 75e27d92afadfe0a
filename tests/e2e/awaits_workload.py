# SPDX-License-Identifier: MIT
"""Awaits measured at run time, for test_awaits.py. argv: [LOOP], LOOP
asyncio (default) or uvloop. A slow HTTP server (a thread: 100 ms a
request) is started, then "ready PID" is printed; on SIGUSR1 each page
below is requested CALLS times, each call a task of its own as a server's
request would be, one after another; then it exits. The client is aiohttp
where the Python has it, else a plain asyncio stream (a real wait either
way). No page blocks the loop: none is a stall.

  order_page      three independent awaits of ~100 ms each, in turn
  dependent_page  the same, each using the result of the one before
  gather_page     the three under asyncio.gather
  taskgroup_page  the three in a TaskGroup
  short_page      three awaits of 1 ms in turn
  seed_page       three bare awaits in a row (the pattern of PERF-037)
  busy_page       one await in a loop, 30 ms of work (no stall) between
"""
import asyncio
import http.server
import os
import signal
import sys
import threading
import time

GO = threading.Event()
CALLS = 6

try:
    import aiohttp
except ImportError:
    aiohttp = None


class Slow(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(0.1)
        body = b"u42"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def slow_server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return "http://127.0.0.1:%d" % srv.server_address[1]


async def fetch(session, url):
    if session is not None:
        async with session.get(url) as r:
            return await r.text()
    host, port = url.split("//")[1].split("/")[0].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET / HTTP/1.0\r\n\r\n")
    data = await reader.read()
    writer.close()
    return data.decode().split("\r\n\r\n")[-1]


async def pause():
    await asyncio.sleep(0.1)


async def order_page(session, base):
    user = await fetch(session, base + "/user")          # SEQ-1
    await asyncio.sleep(0.1)                             # SEQ-2
    items = await fetch(session, base + "/items")        # SEQ-3
    return user, items


async def dependent_page(session, base):
    user = await fetch(session, base + "/user")          # DEP-1
    items = await fetch(session, base + "/items/" + user)   # DEP-2
    return await asyncio.sleep(0.1, items)               # DEP-3


async def gather_page(session, base):
    return await asyncio.gather(                         # GATHER-1
        fetch(session, base + "/user"), asyncio.sleep(0.1), fetch(session, base + "/items"))


async def taskgroup_page(session, base):
    async with asyncio.TaskGroup() as tg:                # GROUP-1
        a = tg.create_task(fetch(session, base + "/user"))
        tg.create_task(asyncio.sleep(0.1))
        b = tg.create_task(fetch(session, base + "/items"))
    return a.result(), b.result()


async def short_page(session, base):
    await asyncio.sleep(0.001)                           # SHORT-1
    await asyncio.sleep(0.001)
    await asyncio.sleep(0.001)


async def seed_page(session, base):
    await fetch(session, base + "/user")
    await pause()
    await fetch(session, base + "/items")


async def busy_page(session, base):
    for _ in range(3):
        await asyncio.sleep(0.1)                         # BUSY-1
        time.sleep(0.03)    # work between two waits at one line, no stall


async def main(base):
    while not GO.is_set():
        await asyncio.sleep(0.01)
    session = aiohttp.ClientSession() if aiohttp else None
    pages = [order_page, dependent_page, gather_page, taskgroup_page, seed_page,
             busy_page]
    for page in pages:
        for _ in range(CALLS):
            await asyncio.create_task(page(session, base))
    for _ in range(10 * CALLS):
        await asyncio.create_task(short_page(session, base))
    if session is not None:
        await session.close()
    await asyncio.sleep(0.3)


if __name__ == "__main__":
    signal.signal(signal.SIGUSR1, lambda *a: GO.set())
    if len(sys.argv) > 1 and sys.argv[1] == "uvloop":
        import uvloop
        uvloop.install()
    base = slow_server()
    print("ready", os.getpid(), flush=True)
    asyncio.run(main(base))
