# SPDX-License-Identifier: MIT
"""A loop-heavy asyncio workload for the overhead bench: a client and an
echo server on loopback, one round trip after another. Every WINDOW seconds
it prints "<unix time> <round trips per second>"."""
import asyncio
import sys
import time

WINDOW = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5


async def echo(reader, writer):
    while data := await reader.read(64):
        writer.write(data)
        await writer.drain()


async def main():
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    r, w = await asyncio.open_connection("127.0.0.1", port)
    print("ready", flush=True)
    n, t0 = 0, time.monotonic()
    while True:
        w.write(b"x" * 32)
        await r.readexactly(32)
        n += 1
        now = time.monotonic()
        if now - t0 >= WINDOW:
            print(f"{time.time():.3f} {n / (now - t0):.1f}", flush=True)
            n, t0 = 0, now


asyncio.run(main())
