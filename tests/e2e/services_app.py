# SPDX-License-Identifier: MIT
"""Real services for tests/e2e/test_services.py: a FastAPI app (run by
uvicorn with uvloop and httptools, or by gunicorn's UvicornWorker), an
aiohttp app (web.run_app) and a Tornado app, each with endpoints that block
their event loop at a "# @marker" line and healthy twins that do not.

usage: python3 services_app.py uvicorn|aiohttp|tornado
       gunicorn -k uvicorn.workers.UvicornWorker services_app:app

Each process prints "ready PID PORT" once it serves (PORT 0 under
gunicorn, whose master owns the socket). The backends come from the
environment, each one optional (its endpoints answer 503 without it):
  LOOPSTALL_PG         directory of a PostgreSQL server's unix socket
  LOOPSTALL_REDIS      path of a redis-server's unix socket
  LOOPSTALL_MYSQL      path of a MariaDB (MySQL) server's unix socket
  LOOPSTALL_SLOW_URL   an HTTP URL that answers after a while
  LOOPSTALL_LISTEN_FD  the listening socket to serve on (else 127.0.0.1:0)

Every blocking call is prepared at start-up (connections, clients,
templates): a request runs only the call under test. Every endpoint
answers the PID that served it. GET /mark blocks the loop 100 ms in
time.sleep at @mark: the tests' marker between two requests of interest.
"""
import asyncio
import gc
import os
import re
import socket
import sys
import time

PG = os.environ.get("LOOPSTALL_PG")
REDIS = os.environ.get("LOOPSTALL_REDIS")
MYSQL = os.environ.get("LOOPSTALL_MYSQL")
SLOW_URL = os.environ.get("LOOPSTALL_SLOW_URL")


def ready(port):
    """Tell the test we serve; stdout then goes nowhere (no one reads the
    pipe any more: a full pipe would block the loop). Start-up objects are
    frozen out of the collector's sight, as LS095's fix says: a collection
    in a request then traverses that request's objects, not the heap of the
    whole app (40-50 ms here)."""
    gc.freeze()
    sys.stdout.write(f"ready {os.getpid()} {port}\n")
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


def listen_socket():
    fd = os.environ.get("LOOPSTALL_LISTEN_FD")
    if fd:
        return socket.socket(fileno=int(fd))
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def mark():
    time.sleep(0.1)                                             # @mark


class Row:
    """A row as an ORM gives it: attributes (a dict would make each of
    Jinja's r.id raise and catch an AttributeError first)."""
    __slots__ = ("id", "name", "price")

    def __init__(self, id, name, price):
        self.id, self.name, self.price = id, name, price


def served():
    """What every endpoint answers: the PID of the process that served it."""
    return str(os.getpid())


# --- the FastAPI app ------------------------------------------------------
# Everything but FastAPI itself is imported lazily: the aiohttp and Tornado
# apps run where FastAPI is missing too.

def fastapi_app():
    import jinja2
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import PlainTextResponse

    app = FastAPI()
    ctx = {}
    # a page of 60 000 rows: ~250 ms of Python in the template's code.
    # Jinja2's default Environment (no autoescape): escaping makes a Markup
    # object per value, and their allocations start a collection every
    # ~700 of them (170 a page, 10-20% of the stall): see test_services.py
    template = jinja2.Environment().from_string(
        "<table>{% for r in rows %}<tr class=\"{{ loop.cycle('odd', 'even') }}\">"
        "<td>{{ loop.index }}</td><td>{{ r.id }}</td><td>{{ r.name|upper }}</td>"
        "<td>{{ '%.2f'|format(r.price) }}</td>"
        "<td>{% if r.price > 100 %}dear{% else %}cheap{% endif %}</td>"
        "</tr>{% endfor %}</table>")
    rows = [Row(i, f"item <{i}>", i * 1.5) for i in range(60000)]

    def need(key):
        if key not in ctx:
            raise HTTPException(503, f"{key}: no such backend here")
        return ctx[key]

    @app.on_event("startup")
    async def connect():
        import httpx
        if PG:
            try:
                import psycopg2
                ctx["psycopg2"] = psycopg2.connect(host=PG, user="postgres", dbname="postgres")
                ctx["psycopg2"].autocommit = True
            except ImportError:
                pass
            try:
                import asyncpg
                ctx["asyncpg"] = await asyncpg.connect(host=PG, user="postgres",
                                                       database="postgres")
            except ImportError:
                pass
        if REDIS:
            try:
                import redis
                import redis.asyncio
                ctx["redis"] = redis.Redis(unix_socket_path=REDIS)   # socket_timeout=None
                ctx["redis"].ping()
                ctx["aredis"] = redis.asyncio.Redis(unix_socket_path=REDIS)
                await ctx["aredis"].ping()
            except ImportError:
                pass
        if MYSQL:
            try:
                import pymysql
                ctx["pymysql"] = pymysql.connect(unix_socket=MYSQL, user="root",
                                                 autocommit=True)   # read_timeout=None
            except ImportError:
                pass
            try:
                import aiomysql
                ctx["aiomysql"] = await aiomysql.connect(unix_socket=MYSQL, user="root",
                                                         autocommit=True)
            except ImportError:
                pass
        if SLOW_URL:
            ctx["httpx"] = httpx.AsyncClient()          # one client, made once
        ready(ctx.get("port", 0))

    # --- blocking the loop: each at its marker ------------------------------

    @app.get("/pg_sync", response_class=PlainTextResponse)
    async def pg_sync():
        with need("psycopg2").cursor() as cur:
            cur.execute("SELECT pg_sleep(0.2)")                 # @pg_sync
        return served()

    @app.get("/redis_sync", response_class=PlainTextResponse)
    async def redis_sync():
        need("redis").blpop("loopstall:empty", timeout=0.2)     # @redis_sync
        return served()

    @app.get("/mysql_sync", response_class=PlainTextResponse)
    async def mysql_sync():
        with need("pymysql").cursor() as cur:
            cur.execute("SELECT SLEEP(0.2)")                    # @mysql_sync
        return served()

    @app.get("/httpx_sync", response_class=PlainTextResponse)
    async def httpx_sync():
        import httpx
        httpx.get(need_url())                                   # @httpx_sync
        return served()

    @app.get("/regex", response_class=PlainTextResponse)
    async def regex():
        text = "a" * 22 + "b"
        re.compile(r"^(a+)+$").match(text)                      # @regex
        return served()

    @app.get("/template", response_class=PlainTextResponse)
    async def template_render():
        template.render(rows=rows)                              # @template
        return served()

    # --- healthy twins: the loop waits in epoll meanwhile -------------------

    @app.get("/pg_async", response_class=PlainTextResponse)
    async def pg_async():
        await need("asyncpg").fetchval("SELECT pg_sleep(0.2)")
        return served()

    @app.get("/redis_async", response_class=PlainTextResponse)
    async def redis_async():
        await need("aredis").blpop("loopstall:empty", timeout=0.2)
        return served()

    @app.get("/mysql_async", response_class=PlainTextResponse)
    async def mysql_async():
        async with need("aiomysql").cursor() as cur:
            await cur.execute("SELECT SLEEP(0.2)")
        return served()

    @app.get("/httpx_async", response_class=PlainTextResponse)
    async def httpx_async():
        await need("httpx").get(need_url())
        return served()

    @app.get("/thread_sleep", response_class=PlainTextResponse)
    def thread_sleep():             # a plain def: FastAPI runs it in its thread pool
        time.sleep(0.2)
        return served()

    @app.get("/mark", response_class=PlainTextResponse)
    async def mark_endpoint():
        mark()
        return served()

    def need_url():
        if not SLOW_URL:
            raise HTTPException(503, "no slow HTTP server here")
        return SLOW_URL

    app.state.ctx = ctx
    return app


def run_uvicorn():
    import uvicorn
    sock = listen_socket()
    app.state.ctx["port"] = sock.getsockname()[1]
    config = uvicorn.Config(app, loop="uvloop", http="httptools", workers=1,
                            lifespan="on", access_log=False, log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])


# --- aiohttp ----------------------------------------------------------------

def run_aiohttp():
    from aiohttp import web

    async def sleep_handler(request):
        time.sleep(0.2)                                         # @aiohttp_sleep
        return web.Response(text=served())

    async def mark_handler(request):
        mark()
        return web.Response(text=served())

    async def started(app):
        ready(sock.getsockname()[1])

    sock = listen_socket()
    web_app = web.Application()
    web_app.add_routes([web.get("/sleep", sleep_handler), web.get("/mark", mark_handler)])
    web_app.on_startup.append(started)
    web.run_app(web_app, sock=sock, print=None, access_log=None)


# --- Tornado (on asyncio) ---------------------------------------------------

def run_tornado():
    import requests
    import tornado.httpserver
    import tornado.web

    class RequestsHandler(tornado.web.RequestHandler):
        async def get(self):
            requests.get(SLOW_URL, timeout=5)                   # @tornado_requests
            self.write(served())

    class MarkHandler(tornado.web.RequestHandler):
        async def get(self):
            mark()
            self.write(served())

    async def main():
        sock = listen_socket()
        sock.setblocking(False)
        application = tornado.web.Application([(r"/requests", RequestsHandler),
                                               (r"/mark", MarkHandler)])
        server = tornado.httpserver.HTTPServer(application)
        server.add_sockets([sock])
        ready(sock.getsockname()[1])
        await asyncio.Event().wait()

    asyncio.run(main())


if __name__ == "__main__":
    kind = sys.argv[1] if len(sys.argv) > 1 else ""
    if kind == "uvicorn":
        app = fastapi_app()
        run_uvicorn()
    elif kind == "aiohttp":
        run_aiohttp()
    elif kind == "tornado":
        run_tornado()
    else:
        sys.exit(__doc__)
else:                                   # imported: gunicorn services_app:app
    app = fastapi_app()
