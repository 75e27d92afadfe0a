"""Asyncio programs that block their loop in the ways the default rule pack
(rules/default.yaml) names, and lookalikes that must not be blamed for it.

usage: python3 rules_workload.py SCENARIO

Same protocol as workload.py: prints "ready PID" once its loop runs (and the
local servers it needs listen), idles until SIGUSR1, runs SCENARIO and exits.
Each blocking line carries a "# @name" marker: the tests expect the finding's
call site there.

The network here is loopback only. HTTP goes to a server this process runs
on 127.0.0.1 (threads, not event loops) that answers after DELAY; the DNS
scenarios answer from a UDP server on 127.0.0.1:53 after DELAY, with
/etc/resolv.conf bind-mounted (in a mount namespace of this process only)
to point at it. Database drivers other than sqlite3 are not installed: the
fake_* scenarios import stand-ins written at start-up under a site-packages
directory, with the real drivers' module names and their way of blocking
(a socket read without a timeout); libpq (psycopg2's engine) is driven
through ctypes against a fake PostgreSQL server when libpq.so.5 exists.
"""
import asyncio
import ctypes
import ctypes.util
import gc
import os
import queue
import select
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

GO = threading.Event()
DELAY = 0.15
_libc = ctypes.CDLL(None, use_errno=True)
FAKE_SITE = os.path.join(tempfile.gettempdir(), "loopstall-rules-fake", "site-packages")
DNS_NAME = "slow.loopstall.test"

# third-party modules (or libraries) a scenario needs: the tests skip it
# on interpreters without them
NEEDS = {
    "http_requests": ["requests"], "http_requests_timeout": ["requests"],
    "http_requests_thread": ["requests"], "http_urllib3": ["urllib3"],
    "http_httpx": ["httpx"], "http_httpx_default": ["httpx"],
    "http_aiohttp": ["aiohttp"], "client_httpx": ["httpx"],
    "client_httpx_once": ["httpx"], "libpq": ["libpq"],
    "requests_json_after_thread": ["requests"], "sleep_uvloop": ["uvloop"],
}


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


def settle():
    """A pause on the loop between the blocking call and the end."""
    return asyncio.sleep(0.1)


# --- local servers ---------------------------------------------------------

class SlowTCP:
    """A TCP server on 127.0.0.1, one thread per connection: after each
    chunk it receives (a request ends with `end`), it waits `delay`, then
    sends `reply(request)`; closes after one answer when `once`."""

    def __init__(self, reply, end=b"", delay=DELAY, once=False, greeting=b""):
        self.reply, self.end, self.delay, self.once = reply, end, delay, once
        self.greeting = greeting
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        name_thread("tcp-server")
        while True:
            conn, _ = self.sock.accept()
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn:
            if self.greeting:
                conn.sendall(self.greeting)
            while True:
                data = b""
                while True:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                    if not self.end or self.end in data:
                        break
                time.sleep(self.delay)
                conn.sendall(self.reply(data))
                if self.once:
                    return


def http_server(delay=DELAY):
    """HTTP/1.1 answering every request with "ok" after delay."""
    body = b"ok"
    resp = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
    srv = SlowTCP(lambda req: resp, end=b"\r\n\r\n", delay=delay, once=True)
    srv.url = f"http://127.0.0.1:{srv.port}/slow"
    return srv


def postgres_server(delay=DELAY):
    """Enough of the PostgreSQL protocol for libpq: trust authentication,
    then every simple query answered (EmptyQueryResponse) after delay."""
    ready = b"Z\0\0\0\5I"
    state = {}

    def reply(data):
        if not state.get("started"):           # StartupMessage
            state["started"] = True
            return b"R\0\0\0\x08\0\0\0\0" + b"K\0\0\0\x0c\0\0\0\1\0\0\0\2" + ready
        return b"I\0\0\0\4" + ready           # Query: empty result

    srv = SlowTCP(reply, delay=0)
    orig = srv.reply

    def timed(data):
        if state.get("started"):
            time.sleep(delay)
        return orig(data)
    srv.reply = timed
    return srv


class SlowDNS:
    """A UDP DNS server on 127.0.0.1:53: A queries get 127.0.0.1, others
    an empty NOERROR answer, each after delay."""

    def __init__(self, delay=DELAY):
        self.delay = delay
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 53))
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        name_thread("dns-server")
        while True:
            data, peer = self.sock.recvfrom(512)
            threading.Timer(self.delay, self._answer, (data, peer)).start()

    def _answer(self, q, peer):
        qid, flags = struct.unpack("!HH", q[:4])
        end = 12
        while q[end]:
            end += q[end] + 1
        question = q[12:end + 5]
        qtype = struct.unpack("!H", q[end + 1:end + 3])[0]
        answers = b""
        if qtype == 1:
            answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
        head = struct.pack("!HHHHHH", qid, 0x8180 | (flags & 0x0100), 1,
                           1 if answers else 0, 0, 0)
        self.sock.sendto(head + question + answers, peer)


def private_resolv_conf():
    """Point this process's resolver at 127.0.0.1 in a mount namespace of
    its own. Must run before any thread starts (unshare refuses then)."""
    CLONE_NEWNS, MS_BIND, MS_REC, MS_PRIVATE = 0x20000, 0x1000, 0x4000, 0x40000
    if _libc.unshare(CLONE_NEWNS):
        sys.exit(f"unshare: {os.strerror(ctypes.get_errno())}")
    if _libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) and \
            os.environ.get("LOOPSTALL_PRIVATE_MOUNTS") != "1":
        # in a chroot "/" is no mount point: the caller must have made the
        # mounts private (unshare -m --propagation private), or the bind
        # mount below would show in the parent namespace
        sys.exit("dns scenarios need private mounts: run under "
                 "`unshare -m --propagation private` and LOOPSTALL_PRIVATE_MOUNTS=1")
    conf = os.path.join(tempfile.gettempdir(), f"loopstall-resolv-{os.getpid()}.conf")
    with open(conf, "w") as f:
        f.write("nameserver 127.0.0.1\noptions timeout:2 attempts:1\n")
    if _libc.mount(conf.encode(), b"/etc/resolv.conf", None, MS_BIND, None):
        sys.exit(f"bind mount of resolv.conf: {os.strerror(ctypes.get_errno())}")


# --- fake drivers (not installed here): their module names, their blocking

FAKE_DRIVERS = {
    "redis/__init__.py": "from .client import Redis\n",
    "redis/client.py": '''\
from .connection import Connection


class Redis:
    def __init__(self, host="localhost", port=6379, socket_timeout=None):
        self.connection = Connection(host, port, socket_timeout)

    def execute_command(self, *args):
        self.connection.send_command(*args)
        return self.connection.read_response()

    def get(self, name):
        return self.execute_command("GET", name)
''',
    "redis/connection.py": '''\
import socket


class Connection:
    def __init__(self, host, port, socket_timeout=None):
        self._sock = socket.create_connection((host, port))
        self._sock.settimeout(socket_timeout)     # None, as redis-py's default

    def send_command(self, *args):
        out = b"*%d\\r\\n" % len(args)
        for a in args:
            a = str(a).encode()
            out += b"$%d\\r\\n%s\\r\\n" % (len(a), a)
        self._sock.sendall(out)

    def read_response(self):
        return self._sock.recv(65536)
''',
    "pymysql/__init__.py": "from .connections import Connection as connect\n",
    "pymysql/connections.py": '''\
import socket
from .cursors import Cursor


class Connection:
    def __init__(self, host="localhost", port=3306, read_timeout=None, **kw):
        self._sock = socket.create_connection((host, port))
        self._sock.settimeout(read_timeout)        # None, as PyMySQL's default
        self._rfile = self._sock.makefile("rb")

    def cursor(self):
        return Cursor(self)

    def query(self, sql):
        self._sock.sendall(b"\\x03" + sql.encode())
        return self._read_packet()

    def _read_packet(self):
        return self._read_bytes(4)

    def _read_bytes(self, n):
        return self._rfile.read(n)
''',
    "pymysql/cursors.py": '''\
class Cursor:
    def __init__(self, connection):
        self.connection = connection

    def execute(self, query):
        return self.connection.query(query)
''',
    "pymongo/__init__.py": "from .mongo_client import MongoClient\n",
    "pymongo/mongo_client.py": '''\
from .collection import Collection


class MongoClient:
    def __init__(self, host="localhost", port=27017, socketTimeoutMS=None):
        self.address = (host, port)

    def __getitem__(self, name):
        return _Database(self, name)


class _Database:
    def __init__(self, client, name):
        self.client, self.name = client, name

    def __getitem__(self, name):
        return Collection(self, name)
''',
    "pymongo/collection.py": '''\
from . import network


class Collection:
    def __init__(self, database, name):
        self.database, self.name = database, name

    def find_one(self, filter=None):
        return network.command(self.database.client.address, b"find")
''',
    "pymongo/network.py": '''\
import socket


def command(address, body):
    sock = socket.create_connection(address)     # socketTimeoutMS=None
    sock.sendall(body)
    return receive_message(sock)


def receive_message(sock):
    return _receive_data_on_socket(sock, 16)


def _receive_data_on_socket(sock, length):
    buf = bytearray(length)
    sock.recv_into(buf)
    return bytes(buf)
''',
}


def install_fake_drivers():
    for rel, text in FAKE_DRIVERS.items():
        path = os.path.join(FAKE_SITE, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    sys.dont_write_bytecode = True
    sys.path.insert(0, FAKE_SITE)


# --- scenarios: HTTP ------------------------------------------------------
# Each scenario is a coroutine function taking its setup (servers, data
# made before GO so that only the blocking call is on the stall path).

async def http_requests(ctx):
    import requests
    await wait_go()
    requests.get(ctx["http"].url)                               # @http_requests
    await settle()


async def http_requests_timeout(ctx):
    import requests
    await wait_go()
    requests.get(ctx["http"].url, timeout=5)                    # @http_requests_timeout
    await settle()


async def http_requests_thread(ctx):
    import requests
    await wait_go()
    await asyncio.to_thread(requests.get, ctx["http"].url, timeout=5)
    await settle()


async def http_urllib(ctx):
    import urllib.request
    await wait_go()
    urllib.request.urlopen(ctx["http"].url).read()              # @http_urllib
    await settle()


async def http_urllib_timeout(ctx):
    import urllib.request
    await wait_go()
    urllib.request.urlopen(ctx["http"].url, timeout=5).read()   # @http_urllib_timeout
    await settle()


async def http_urllib_thread(ctx):
    import urllib.request

    def fetch():
        with urllib.request.urlopen(ctx["http"].url, timeout=5) as r:
            return r.read()
    await wait_go()
    await asyncio.get_running_loop().run_in_executor(None, fetch)
    await settle()


async def http_urllib3(ctx):
    import urllib3
    pool = urllib3.PoolManager()
    await wait_go()
    pool.request("GET", ctx["http"].url)                        # @http_urllib3
    await settle()


async def http_client(ctx):
    import http.client
    await wait_go()
    conn = http.client.HTTPConnection("127.0.0.1", ctx["http"].port)
    conn.request("GET", "/slow")
    conn.getresponse().read()                                   # @http_client
    await settle()


async def http_httpx(ctx):
    import httpx
    client = httpx.Client(timeout=None)
    await wait_go()
    client.get(ctx["http"].url)                                 # @http_httpx
    await settle()


async def http_httpx_default(ctx):
    import httpx
    client = httpx.Client()                                     # 5 s timeouts
    await wait_go()
    client.get(ctx["http"].url)                                 # @http_httpx_default
    await settle()


async def http_aiohttp(ctx):
    import aiohttp
    async with aiohttp.ClientSession() as session:
        await wait_go()
        async with session.get(ctx["http"].url) as resp:
            await resp.read()
    await settle()


async def requests_json_after_thread(ctx):
    """The fetch runs in a thread; only decoding is on the loop: CPU-bound
    JSON, not blocking HTTP."""
    import requests
    big = SlowTCP(lambda req: b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                  b"Connection: close\r\n\r\n%s" % (len(ctx["json"]), ctx["json"]),
                  end=b"\r\n\r\n", delay=0, once=True)
    await wait_go()
    resp = await asyncio.to_thread(requests.get, f"http://127.0.0.1:{big.port}/", timeout=5)
    resp.json()                                                 # @requests_json
    await settle()


# --- missing timeouts (socket-level evidence) -----------------------------

async def socket_no_timeout(ctx):
    sock = socket.create_connection(("127.0.0.1", ctx["echo"].port))
    await wait_go()
    sock.sendall(b"ping")
    sock.recv(100)                                              # @socket_no_timeout
    await settle()


async def socket_timeout(ctx):
    sock = socket.create_connection(("127.0.0.1", ctx["echo"].port), timeout=5)
    await wait_go()
    sock.sendall(b"ping")
    sock.recv(100)                                              # @socket_timeout
    await settle()


async def poll_forever(ctx):
    sock = socket.create_connection(("127.0.0.1", ctx["echo"].port))
    sock.setblocking(False)
    p = select.poll()
    p.register(sock, select.POLLIN)
    await wait_go()
    sock.send(b"ping")
    p.poll()                                                    # @poll_forever
    await settle()


async def poll_bounded(ctx):
    sock = socket.create_connection(("127.0.0.1", ctx["echo"].port))
    sock.setblocking(False)
    p = select.poll()
    p.register(sock, select.POLLIN)
    await wait_go()
    sock.send(b"ping")
    p.poll(5000)                                                # @poll_bounded
    await settle()


# --- sleep ----------------------------------------------------------------

async def sleep(ctx):
    await wait_go()
    time.sleep(0.2)                                             # @sleep
    await settle()


async def sleep_executor(ctx):
    await wait_go()
    await asyncio.get_running_loop().run_in_executor(None, time.sleep, 0.2)
    await settle()


async def sleep_uvloop(ctx):
    await wait_go()
    time.sleep(0.2)                                             # @sleep_uvloop
    await settle()


# --- file I/O -------------------------------------------------------------

async def file_read(ctx):
    await wait_go()
    with open(ctx["bigfile"], "rb") as f:
        f.read()                                                # @file_read
    await settle()


async def file_read_thread(ctx):
    def read():
        with open(ctx["bigfile"], "rb") as f:
            return len(f.read())
    await wait_go()
    await asyncio.to_thread(read)
    await settle()


async def file_fsync(ctx):
    fd = os.open(ctx["scratch"], os.O_RDWR)     # written, not yet on disk
    await wait_go()
    os.fsync(fd)                                                # @file_fsync
    os.close(fd)
    await settle()


async def file_stat(ctx):
    paths = ctx["paths"]
    await wait_go()
    for p in paths * 3:
        os.stat(p)                                              # @file_stat
    await settle()


async def file_stat_thread(ctx):
    paths = ctx["paths"]
    await wait_go()
    await asyncio.to_thread(lambda: [os.stat(p) for p in paths * 3])
    await settle()


# --- subprocess -----------------------------------------------------------

async def subprocess_run(ctx):
    import subprocess
    await wait_go()
    subprocess.run(["sleep", "0.2"])                            # @subprocess_run
    await settle()


async def os_system(ctx):
    await wait_go()
    os.system("sleep 0.2")                                      # @os_system
    await settle()


async def subprocess_async(ctx):
    await wait_go()
    proc = await asyncio.create_subprocess_exec("sleep", "0.2")
    await proc.wait()
    await settle()


# --- DNS ------------------------------------------------------------------

async def dns_getaddrinfo(ctx):
    await wait_go()
    socket.getaddrinfo(DNS_NAME, 80)                            # @dns_getaddrinfo
    await settle()


async def dns_gethostbyname(ctx):
    await wait_go()
    socket.gethostbyname(DNS_NAME)                              # @dns_gethostbyname
    await settle()


async def dns_loop_getaddrinfo(ctx):
    await wait_go()
    await asyncio.get_running_loop().getaddrinfo(DNS_NAME, 80)
    await settle()


async def dns_numeric(ctx):
    await wait_go()
    for _ in range(1000):
        socket.getaddrinfo("127.0.0.1", 80)                     # numeric: no lookup
    await settle()


# --- databases ------------------------------------------------------------

SLOW_SQL = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
            "WHERE x < 1000000) SELECT sum(x) FROM c")


async def sqlite(ctx):
    import sqlite3
    db = sqlite3.connect(":memory:")
    await wait_go()
    db.execute(SLOW_SQL).fetchone()                             # @sqlite
    await settle()


async def sqlite_thread(ctx):
    import sqlite3

    def query():
        db = sqlite3.connect(":memory:")
        return db.execute(SLOW_SQL).fetchone()
    await wait_go()
    await asyncio.to_thread(query)
    await settle()


async def fake_redis(ctx):
    import redis
    r = redis.Redis("127.0.0.1", ctx["echo"].port)
    await wait_go()
    r.get("key")                                                # @fake_redis
    await settle()


async def fake_pymysql(ctx):
    import pymysql
    conn = pymysql.connect(host="127.0.0.1", port=ctx["echo"].port)
    await wait_go()
    conn.cursor().execute("SELECT 1")                           # @fake_pymysql
    await settle()


async def fake_pymongo(ctx):
    import pymongo
    coll = pymongo.MongoClient("127.0.0.1", ctx["echo"].port)["db"]["items"]
    await wait_go()
    coll.find_one({})                                           # @fake_pymongo
    await settle()


async def libpq(ctx):
    pq = ctx["libpq"]
    conn = ctx["pgconn"]
    await wait_go()
    res = pq.PQexec(conn, b"SELECT pg_sleep(0.15)")             # @libpq
    pq.PQclear(res)
    await settle()


# --- CPU-bound ------------------------------------------------------------

async def cpu_json(ctx):
    import json
    data = ctx["doc"]
    await wait_go()
    json.dumps(data)                                            # @cpu_json
    await settle()


async def cpu_json_thread(ctx):
    import json
    await wait_go()
    # off the loop thread: the loop idles in epoll_wait meanwhile
    with ThreadPoolExecutor(1) as pool:
        await asyncio.get_running_loop().run_in_executor(pool, json.dumps, ctx["doc"])
    await settle()


async def cpu_re(ctx):
    import re
    await wait_go()
    re.match(r"(a+)+$", "a" * 24 + "b")                         # @cpu_re
    await settle()


async def cpu_hash(ctx):
    import hashlib
    await wait_go()
    hashlib.pbkdf2_hmac("sha256", b"secret", b"salt", 1500000)  # @cpu_hash
    await settle()


async def cpu_hash_thread(ctx):
    import hashlib
    await wait_go()
    await asyncio.to_thread(hashlib.pbkdf2_hmac, "sha256", b"secret", b"salt", 1500000)
    await settle()


async def cpu_zlib(ctx):
    import zlib
    blob = ctx["blob"]
    await wait_go()
    zlib.compress(blob, 9)                                      # @cpu_zlib
    await settle()


async def cpu_pickle(ctx):
    import pickle
    data = ctx["doc"]
    await wait_go()
    pickle.loads(pickle.dumps(data))                            # @cpu_pickle
    await settle()


async def cpu_python(ctx):
    await wait_go()
    spin(0.3)                                                   # @cpu_python
    await settle()


# --- locks and waiting for threads ----------------------------------------

async def lock_wait(ctx):
    lock = threading.Lock()
    held = threading.Event()

    def holder():
        name_thread("holder")
        with lock:
            held.set()
            time.sleep(0.3)
    await wait_go()
    threading.Thread(target=holder).start()
    await asyncio.to_thread(held.wait)
    with lock:                                                  # @lock_wait
        pass
    await settle()


async def lock_uncontended(ctx):
    lock = threading.Lock()
    await wait_go()
    for _ in range(100000):
        with lock:
            pass
    await settle()


async def event_wait(ctx):
    ev = threading.Event()
    await wait_go()
    threading.Timer(0.25, ev.set).start()
    ev.wait()                                                   # @event_wait
    await settle()


async def queue_get(ctx):
    q = queue.Queue()
    await wait_go()
    threading.Timer(0.25, q.put, (1,)).start()
    q.get()                                                     # @queue_get
    await settle()


async def queue_get_thread(ctx):
    q = queue.Queue()
    await wait_go()
    threading.Timer(0.25, q.put, (1,)).start()
    await asyncio.to_thread(q.get)
    await settle()


async def future_result(ctx):
    pool = ThreadPoolExecutor(1)
    await wait_go()
    fut = pool.submit(time.sleep, 0.25)
    fut.result()                                                # @future_result
    await settle()


async def future_wrapped(ctx):
    pool = ThreadPoolExecutor(1)
    await wait_go()
    fut = pool.submit(time.sleep, 0.25)
    await asyncio.wrap_future(fut)
    await settle()


async def thread_join(ctx):
    await wait_go()
    t = threading.Thread(target=time.sleep, args=(0.25,))
    t.start()
    t.join()                                                    # @thread_join
    await settle()


# --- GIL ------------------------------------------------------------------

def hold_gil(started, data):
    """list.sort in C never lets the GIL go: the holder of the GIL."""
    name_thread("gil-holder")
    started.append(True)
    sorted(data)


async def gil(ctx):
    started = []
    t = threading.Thread(target=hold_gil, args=(started, ctx["unsorted"]))
    await wait_go()
    # Thread.start waits for the thread to run, and by then it holds the
    # GIL: the loop waits for the GIL in start(), or (if the holder was
    # descheduled before sorting) on the next line
    t.start()                                                   # @gil
    while not started:                                          # @gil_spin
        pass
    await settle()


async def gil_released(ctx):
    import hashlib
    started = threading.Event()

    def hasher():
        name_thread("hasher")
        started.set()
        hashlib.sha256(ctx["data"]).digest()       # releases the GIL
    await wait_go()
    t = threading.Thread(target=hasher)
    t.start()
    await asyncio.to_thread(t.join)
    await settle()


# --- GC -------------------------------------------------------------------

def make_cycles(n):
    out = []
    for i in range(n):
        a, b = [i], [i]
        a.append(b)
        b.append(a)
        out.append(a)
    return out


async def gc_pause(ctx):
    await wait_go()
    gc.collect()                                                # @gc_pause
    await settle()


async def gc_frozen(ctx):
    gc.freeze()
    await wait_go()
    gc.collect()
    await settle()


# --- import on the loop ---------------------------------------------------

def write_heavy_module(name, funcs=6000):
    d = os.path.join(tempfile.gettempdir(), f"loopstall-rules-mods-{os.getpid()}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name + ".py"), "w") as f:
        for i in range(funcs):
            f.write(f"def f{i}(a, b=1, *c, **d):\n    x = [a + b * {i} for _ in c]\n"
                    f"    return {{'k{i}': x, 'd': d}}\n")
    if d not in sys.path:
        sys.path.insert(0, d)
    sys.dont_write_bytecode = True


async def import_heavy(ctx):
    await wait_go()
    import loopstall_heavy_mod                                  # @import_heavy
    await settle()


async def import_thread(ctx):
    import importlib
    await wait_go()
    await asyncio.to_thread(importlib.import_module, "loopstall_heavy_mod")
    await settle()


# --- a client (or TLS context) per request ---------------------------------

async def client_ssl(ctx):
    import ssl
    await wait_go()
    for _ in range(8):
        ssl.create_default_context()                            # @client_ssl
    await settle()


async def client_ssl_once(ctx):
    import ssl
    context = ssl.create_default_context()
    await wait_go()
    for _ in range(8):
        await asyncio.to_thread(context.cert_store_stats)
    await settle()


async def client_httpx(ctx):
    import httpx
    await wait_go()
    for _ in range(6):
        httpx.Client()                                          # @client_httpx
    await settle()


async def client_httpx_once(ctx):
    import httpx
    client = httpx.Client(timeout=5)
    await wait_go()
    await asyncio.to_thread(client.get, ctx["http"].url)
    await settle()


# --- sequential awaits ----------------------------------------------------

async def get_user(uid):
    time.sleep(DELAY)                                           # @seq_blocking
    return {"id": uid}


async def get_orders(uid):
    await asyncio.sleep(0.01)
    return []


async def get_preferences(uid):
    await asyncio.sleep(0.01)
    return {}


async def load_profile(uid):
    user = await get_user(uid)                                  # @seq_await
    orders = await get_orders(uid)
    preferences = await get_preferences(uid)
    return user, orders, preferences


async def load_profile_gathered(uid):
    return await asyncio.gather(get_user(uid), get_orders(uid),  # @gathered
                                get_preferences(uid))


async def seq_await(ctx):
    await wait_go()
    profile = load_profile(1)
    await profile


async def seq_gathered(ctx):
    await wait_go()
    profile = load_profile_gathered(1)
    await profile


SCENARIOS = {f.__name__: f for f in [
    http_requests, http_requests_timeout, http_requests_thread, http_urllib,
    http_urllib_timeout, http_urllib_thread, http_urllib3, http_client,
    http_httpx, http_httpx_default, http_aiohttp, requests_json_after_thread,
    socket_no_timeout, socket_timeout, poll_forever, poll_bounded,
    sleep, sleep_executor, sleep_uvloop,
    file_read, file_read_thread, file_fsync, file_stat, file_stat_thread,
    subprocess_run, os_system, subprocess_async,
    dns_getaddrinfo, dns_gethostbyname, dns_loop_getaddrinfo, dns_numeric,
    sqlite, sqlite_thread, fake_redis, fake_pymysql, fake_pymongo, libpq,
    cpu_json, cpu_json_thread, cpu_re, cpu_hash, cpu_hash_thread, cpu_zlib,
    cpu_pickle, cpu_python,
    lock_wait, lock_uncontended, event_wait, queue_get, queue_get_thread,
    future_result, future_wrapped, thread_join,
    gil, gil_released, gc_pause, gc_frozen, import_heavy, import_thread,
    client_ssl, client_ssl_once, client_httpx, client_httpx_once,
    seq_await, seq_gathered,
]}


def setup(scenario):
    """What a scenario needs, made before "ready": servers, data, files."""
    ctx = {}
    if scenario.startswith("dns_"):
        private_resolv_conf()         # before any thread
        ctx["dns"] = SlowDNS()
    if scenario.startswith(("http_", "client_httpx")):
        ctx["http"] = http_server()
    if scenario in ("socket_no_timeout", "socket_timeout", "poll_forever",
                    "poll_bounded") or scenario.startswith("fake_"):
        ctx["echo"] = SlowTCP(lambda req: b"+OK\r\n" + b"\0" * 16)
    if scenario.startswith("fake_"):
        install_fake_drivers()
    if scenario == "libpq":
        name = ctypes.util.find_library("pq") or "libpq.so.5"
        pq = ctypes.CDLL(name)
        pq.PQconnectdb.restype = ctypes.c_void_p
        pq.PQconnectdb.argtypes = [ctypes.c_char_p]
        pq.PQstatus.argtypes = [ctypes.c_void_p]
        pq.PQexec.restype = ctypes.c_void_p
        pq.PQexec.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        pq.PQclear.argtypes = [ctypes.c_void_p]
        srv = postgres_server()
        conn = pq.PQconnectdb(b"host=127.0.0.1 port=%d user=u dbname=d sslmode=disable "
                              b"gssencmode=disable" % srv.port)
        if pq.PQstatus(conn) != 0:
            sys.exit("libpq: could not connect to the fake server")
        ctx.update(libpq=pq, pgconn=conn, pg=srv)
    if scenario in ("cpu_json", "cpu_json_thread", "cpu_pickle",
                    "requests_json_after_thread"):
        doc = [{"id": i, "name": f"item {i}", "tags": ["a", "b", "c"], "score": i / 7}
               for i in range(180000)]
        ctx["doc"] = doc
        if scenario == "requests_json_after_thread":
            import json
            ctx["json"] = json.dumps(doc).encode()
    if scenario in ("file_read", "file_read_thread"):
        path = os.path.join(tempfile.gettempdir(), "loopstall-rules-big.bin")
        if not os.path.exists(path) or os.path.getsize(path) != 96 << 20:
            with open(path, "wb") as f:
                for _ in range(96):
                    f.write(os.urandom(1 << 20))
        with open(path, "rb") as f:          # into the page cache
            while f.read(16 << 20):
                pass
        ctx["bigfile"] = path
    if scenario == "cpu_zlib":
        ctx["blob"] = b"".join(str(i).encode() for i in range(500000))
    if scenario == "gil_released":
        ctx["data"] = os.urandom(128 << 20)
    if scenario == "file_fsync":
        ctx["scratch"] = os.path.join(tempfile.gettempdir(), f"loopstall-rules-{os.getpid()}.bin")
        with open(ctx["scratch"], "wb") as f:      # dirty pages, no fsync
            for _ in range(64):
                f.write(os.urandom(1 << 20))
    if scenario in ("file_stat", "file_stat_thread"):
        d = os.path.join(tempfile.gettempdir(), "loopstall-rules-tree")
        os.makedirs(d, exist_ok=True)
        paths = [os.path.join(d, f"f{i}") for i in range(20000)]
        for p in paths:
            if not os.path.exists(p):
                open(p, "w").close()
        ctx["paths"] = paths
    if scenario in ("gc_pause", "gc_frozen"):
        gc.disable()
        ctx["cycles"] = make_cycles(250000)
        gc.collect()
        ctx["cycles2"] = make_cycles(250000)
    if scenario in ("import_heavy", "import_thread"):
        write_heavy_module("loopstall_heavy_mod")
    if scenario == "gil":
        import random
        ctx["unsorted"] = [random.random() for _ in range(2000000)]
    return ctx


def main():
    scenario = sys.argv[1]
    ctx = setup(scenario)
    signal.signal(signal.SIGUSR1, lambda *a: GO.set())
    print("ready", os.getpid(), flush=True)
    name_thread("loop-main")
    if scenario == "sleep_uvloop":
        import uvloop
        uvloop.install()
    asyncio.run(SCENARIOS[scenario](ctx))
    for k in ("scratch",):
        if k in ctx and os.path.exists(ctx[k]):
            os.unlink(ctx[k])


if __name__ == "__main__":
    main()
