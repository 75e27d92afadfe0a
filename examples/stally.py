# SPDX-License-Identifier: MIT
"""stally: a small asyncio service that blocks its own event loop in the
ways real services do. The loopstall demo watches it.

    python3 examples/stally.py [--seconds N]

It serves HTTP on 127.0.0.1 (random port), sends itself requests for a few
seconds, then exits. Each endpoint has a known, deliberate mistake."""
import argparse
import asyncio
import hashlib
import json
import os
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    import requests
except ImportError:  # the demo still runs, with one mistake less
    requests = None

CONFIG_LOCK = threading.Lock()


class SlowBackend(BaseHTTPRequestHandler):
    """A sync HTTP backend that takes 120 ms to answer."""

    def do_GET(self):
        time.sleep(0.12)
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def rate_limit():
    time.sleep(0.1)                     # mistake: time.sleep on the loop


def fetch_profile(url):
    return requests.get(url).json()     # mistake: blocking HTTP, no timeout


def sign(payload):
    # mistake: CPU-bound key derivation on the loop
    return hashlib.pbkdf2_hmac("sha256", payload, b"salt", 150_000).hex()


def save_audit(record):
    # mistake: sync file I/O with fsync on the loop
    with tempfile.NamedTemporaryFile("wb", delete=True) as f:
        f.write(json.dumps(record).encode() * 20000)
        f.flush()
        os.fsync(f.fileno())


def reload_config():
    with CONFIG_LOCK:                   # mistake: a thread lock on the loop
        return {"reloaded": True}


def config_writer(stop):
    """A background thread that holds the config lock for 150 ms at a time."""
    while not stop.is_set():
        with CONFIG_LOCK:
            time.sleep(0.15)
        time.sleep(0.35)


async def handle(reader, writer, backend_url):
    line = (await reader.readline()).decode()
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    path = line.split()[1] if len(line.split()) > 1 else "/"
    if path == "/login":
        rate_limit()
        body = sign(b"user:alice")
    elif path == "/profile" and requests:
        body = json.dumps(fetch_profile(backend_url))
    elif path == "/audit":
        save_audit({"user": "alice", "action": "login"})
        body = "saved"
    elif path == "/config":
        body = json.dumps(reload_config())
    else:
        body = "ok"
    data = body.encode()
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(data) + data)
    await writer.drain()
    writer.close()


async def client(port, paths, until):
    while time.monotonic() < until:
        for path in paths:
            r, w = await asyncio.open_connection("127.0.0.1", port)
            w.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            await w.drain()
            await r.read()
            w.close()
            await asyncio.sleep(0.05)


async def main(seconds, warmup):
    backend = ThreadingHTTPServer(("127.0.0.1", 0), SlowBackend)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    backend_url = "http://127.0.0.1:%d/" % backend.server_address[1]
    stop = threading.Event()
    threading.Thread(target=config_writer, args=(stop,), daemon=True).start()

    server = await asyncio.start_server(
        lambda r, w: handle(r, w, backend_url), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"stally: pid {os.getpid()} serving on 127.0.0.1:{port}", flush=True)
    await asyncio.sleep(warmup)         # time for a tracer to attach
    until = time.monotonic() + seconds
    async with server:
        await asyncio.gather(
            client(port, ["/", "/login", "/profile"], until),
            client(port, ["/audit", "/", "/config"], until))
    stop.set()
    backend.shutdown()
    print("stally: done", flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--warmup", type=float, default=1.0)
    a = ap.parse_args()
    asyncio.run(main(a.seconds, a.warmup))
