# SPDX-License-Identifier: MIT
"""An aiohttp hello-world server for the overhead bench: a healthy loop
that is busy almost all the time in short intervals under wrk. Prints
"ready PORT" once it listens."""
import asyncio
import socket

from aiohttp import web


async def hello(request):
    return web.Response(text="Hello, world")


async def main():
    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock)
    await site.start()
    print("ready", sock.getsockname()[1], flush=True)
    await asyncio.Event().wait()


asyncio.run(main())
