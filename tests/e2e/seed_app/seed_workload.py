# SPDX-License-Identifier: MIT
"""Stalls in code the user's own rules speak of (perf-async.yaml): a
blocking requests.get without timeout in a *client* module (PERF-039,
PERF-040), the same call with a timeout and a session (neither), and a
coroutine with awaits in turn (PERF-037's pattern, 10 ms each: too short
to be judged) that stalls in time.sleep (the stall's cause, not PERF-037).

usage: seed_workload.py  -- prints "ready PID", waits for SIGUSR1."""
import asyncio
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import service_client  # noqa: E402

GO = threading.Event()


class Slow(BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(0.15)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


async def get_user(uid):
    await asyncio.sleep(0.01)


async def get_orders(uid):
    await asyncio.sleep(0.01)


async def get_preferences(uid):
    await asyncio.sleep(0.01)


async def load_profile(uid):
    await get_user(uid)
    await get_orders(uid)
    await get_preferences(uid)
    time.sleep(0.12)                            # @seed_sequential


async def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/" % server.server_address[1]
    while not GO.is_set():
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    service_client.fetch_data(url)
    await asyncio.sleep(0.05)
    service_client.fetch_data_with_timeout(url)
    await asyncio.sleep(0.05)
    await load_profile(1)
    await asyncio.sleep(0.05)
    server.shutdown()


signal.signal(signal.SIGUSR1, lambda *a: GO.set())
print("ready", os.getpid(), flush=True)
asyncio.run(main())
