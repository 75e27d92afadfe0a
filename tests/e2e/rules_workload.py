# SPDX-License-Identifier: MIT
"""Asyncio programs that block their loop in the ways the default rule pack
(rules/default.yaml) names, and lookalikes that must not be blamed for it.

usage: python3 rules_workload.py SCENARIO [SERVER]

Same protocol as workload.py: prints "ready PID" once its loop runs (and the
servers it needs answer), idles until SIGUSR1, runs SCENARIO, prints
one line per cause it timed, `cause MARKER MS` (as decompose_workload.py
does), and exits. Each blocking line carries a "# @name" marker: the tests
expect the finding's call site there, and its time within 15% (or 10 ms)
of MS, the wall time time.perf_counter() measured around the blocking
call(s) at the marker as they ran in this process (summed over the calls
of a loop that repeats one).

The database scenarios (SERVERS) run real drivers against real servers,
Debian's, which the tests start once per session (tests/e2e/servers.py)
and name in SERVER: the directory of PostgreSQL's unix socket (libpq,
psycopg), the unix socket of MariaDB (mysqldb, pymysql_query) or of
redis-server (redis_blpop). The wait is the server's own: `SELECT
pg_sleep(0.2)`, `SELECT SLEEP(0.2)`, `BLPOP` of an empty list with a
0.2 s timeout. The drivers: libpq itself (psycopg2's engine, libpq5),
driven through ctypes; psycopg 3 (python3-psycopg, pure Python over
libpq.so.5); mysqlclient (MySQLdb, python3-mysqldb, over libmariadb);
PyMySQL (python3-pymysql) and redis-py (python3-redis), pure Python. The
tests skip a scenario whose server or driver is missing, naming the
package.

What cannot run here has stand-ins, in a child process on 127.0.0.1,
answering after DELAY: HTTP, a line echo, and DNS on UDP port 53 for the
dns_* scenarios, whose /etc/resolv.conf is bind-mounted (in a mount
namespace of this process only) to point at it: there is no other resolver
to reach here. MongoDB is not in Debian: fake_pymongo imports a stand-in
written at start-up under a site-packages directory, with pymongo's module
names and its way of blocking (a socket read without a timeout), against
the echo server.
"""
import asyncio
import ctypes
import ctypes.util
import gc
import json
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
DB_DELAY = 0.2      # the real servers' own wait (pg_sleep, SLEEP, BLPOP's timeout)
DNS_NAME = "slow.loopstall.test"
CAUSES = {}         # marker: ms its blocking call(s) took (took())

# third-party modules (or libraries) a scenario needs: the tests skip it
# on interpreters without them
NEEDS = {
    "http_requests": ["requests"], "http_requests_timeout": ["requests"],
    "http_requests_thread": ["requests"], "http_urllib3": ["urllib3"],
    "client_requests_session": ["requests"], "client_requests_session_once": ["requests"],
    "http_httpx": ["httpx"], "http_httpx_default": ["httpx"],
    "http_aiohttp": ["aiohttp"], "client_httpx": ["httpx"],
    "client_httpx_once": ["httpx"], "libpq": ["libpq"],
    "psycopg": ["psycopg"], "psycopg_thread": ["psycopg"],
    "mysqldb": ["MySQLdb"], "mysqldb_thread": ["MySQLdb"],
    "pymysql_query": ["pymysql"], "redis_blpop": ["redis"],
    "requests_json_after_thread": ["requests"], "sleep_uvloop": ["uvloop"],
}


# the real server a scenario runs against (a session fixture of
# tests/e2e/servers.py): its unix socket is argv[2] (PostgreSQL's: the
# directory, as libpq's host=)
SERVERS = {
    "libpq": "postgres", "psycopg": "postgres", "psycopg_thread": "postgres",
    "mysqldb": "mariadb", "mysqldb_thread": "mariadb", "pymysql_query": "mariadb",
    "redis_blpop": "redis_server",
}


def clock():
    return time.perf_counter()


def took(marker, t0):
    """The blocking call at "# @marker" ran from t0 until now: its time
    adds to its cause's, printed at exit."""
    CAUSES[marker] = CAUSES.get(marker, 0.0) + (clock() - t0) * 1000


def name_thread(name):
    _libc.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME


async def wait_go():
    while not GO.is_set():
        await asyncio.sleep(0.01)
    for _ in range(5):
        await asyncio.sleep(0.01)


def settle():
    """An idle pause after the scenario: its stall ends (the loop returns
    to its poll) before the process exits."""
    return asyncio.sleep(0.5)


# --- local servers ---------------------------------------------------------
# They run in a child process (a peer, as a real server is: no GIL hand-offs
# with the loop thread, no extra threads in the process under watch).

class SlowTCP:
    """A TCP server on 127.0.0.1, one thread per connection: after each
    request it receives (a chunk, or up to `end`), it waits `delay`, then
    sends `reply(request)`; it closes after one answer when `once`."""

    def __init__(self, reply, end=b"", delay=DELAY, once=False):
        self.reply, self.end, self.delay, self.once = reply, end, delay, once
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            conn, _ = self.sock.accept()
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn:
            try:
                while self._answer(conn) and not self.once:
                    pass
            except OSError:         # the client went away
                pass

    def _answer(self, conn):
        data = b""
        while not data or (self.end and self.end not in data):
            chunk = conn.recv(65536)
            if not chunk:
                return False
            data += chunk
        time.sleep(self.delay)
        conn.sendall(self.reply(data))
        return True


def http_server(body=b"ok", delay=DELAY):
    """HTTP/1.1 answering every request with body after delay."""
    resp = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
    return SlowTCP(lambda req: resp, end=b"\r\n\r\n", delay=delay, once=True)


class SlowDNS:
    """A UDP DNS server on 127.0.0.1:53: A queries get 127.0.0.1, others
    an empty NOERROR answer, each after delay."""
    port = 53

    def __init__(self, delay=DELAY):
        self.delay = delay
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 53))
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
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


class Endpoint:
    def __init__(self, port):
        self.port = port
        self.url = f"http://127.0.0.1:{port}/slow"


def start_servers(makers):
    """Start servers ({name: factory}) in a child process that dies with
    this one; their endpoints. Call before any thread starts."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            _libc.prctl(1, signal.SIGKILL)      # PR_SET_PDEATHSIG
            name_thread("rules-servers")
            ports = {name: make().port for name, make in makers.items()}
            os.write(w, (json.dumps(ports) + "\n").encode())
            while True:
                time.sleep(3600)
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        line = f.readline()
    if not line:
        sys.exit("the servers did not start")
    return {name: Endpoint(port) for name, port in json.loads(line).items()}


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
    return conf


# --- a fake pymongo (no MongoDB in Debian): its module names, its blocking

FAKE_DRIVERS = {
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

_pool = {}


def command(address, body):
    sock = _pool.get(address)
    if sock is None:                             # socketTimeoutMS=None
        sock = _pool[address] = socket.create_connection(address)
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
# Each scenario is a coroutine function run once GO is set, given what
# setup() made before "ready" (servers, clients, data): only the blocking
# call is on the stall path.

async def http_requests(ctx):
    import requests
    t0 = clock()
    requests.get(ctx["http"].url)                               # @http_requests
    took("http_requests", t0)


async def http_requests_timeout(ctx):
    import requests
    t0 = clock()
    requests.get(ctx["http"].url, timeout=5)                    # @http_requests_timeout
    took("http_requests_timeout", t0)


async def http_requests_thread(ctx):
    import requests
    await asyncio.to_thread(requests.get, ctx["http"].url, timeout=5)


async def http_urllib(ctx):
    import urllib.request
    t0 = clock()
    urllib.request.urlopen(ctx["http"].url).read()              # @http_urllib
    took("http_urllib", t0)


async def http_urllib_timeout(ctx):
    import urllib.request
    t0 = clock()
    urllib.request.urlopen(ctx["http"].url, timeout=5).read()   # @http_urllib_timeout
    took("http_urllib_timeout", t0)


async def http_urllib_thread(ctx):
    import urllib.request

    def fetch():
        with urllib.request.urlopen(ctx["http"].url, timeout=5) as r:
            return r.read()
    await asyncio.get_running_loop().run_in_executor(None, fetch)


async def http_urllib3(ctx):
    import urllib3
    pool = urllib3.PoolManager()
    t0 = clock()
    pool.request("GET", ctx["http"].url)                        # @http_urllib3
    took("http_urllib3", t0)


async def http_client(ctx):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", ctx["http"].port)
    conn.request("GET", "/slow")
    t0 = clock()
    conn.getresponse().read()                                   # @http_client
    took("http_client", t0)


async def http_httpx(ctx):
    client = ctx["httpx"]                                       # timeout=None
    t0 = clock()
    client.get(ctx["http"].url)                                 # @http_httpx
    took("http_httpx", t0)


async def http_httpx_default(ctx):
    client = ctx["httpx"]                                       # 5 s timeouts
    t0 = clock()
    client.get(ctx["http"].url)                                 # @http_httpx_default
    took("http_httpx_default", t0)


async def http_aiohttp(ctx):
    import aiohttp
    async with aiohttp.ClientSession() as session:
        async with session.get(ctx["http"].url) as resp:
            await resp.read()


async def requests_json_after_thread(ctx):
    """The fetch runs in a thread; only decoding is on the loop: CPU-bound
    JSON, not blocking HTTP."""
    import requests
    resp = await asyncio.to_thread(requests.get, ctx["json"].url, timeout=5)
    t0 = clock()
    resp.json()                                                 # @requests_json
    took("requests_json", t0)


# --- missing timeouts (socket-level evidence) -----------------------------

# The fd's kind (tcp, unix …) is named by the BPF program when it takes
# the sample (tests/e2e/test_fdkind.py closes each fd right after its
# wait); the scenarios keep theirs in ctx as a client's pool would.

async def socket_no_timeout(ctx):
    sock = ctx["keep"] = socket.create_connection(("127.0.0.1", ctx["echo"].port))
    sock.sendall(b"ping")
    t0 = clock()
    sock.recv(100)                                              # @socket_no_timeout
    took("socket_no_timeout", t0)


async def socket_timeout(ctx):
    sock = ctx["keep"] = socket.create_connection(("127.0.0.1", ctx["echo"].port), timeout=5)
    sock.sendall(b"ping")
    t0 = clock()
    sock.recv(100)                                              # @socket_timeout
    took("socket_timeout", t0)


async def socket_unix_no_timeout(ctx):
    a, b = ctx["keep"] = socket.socketpair()

    def answer():
        name_thread("unix-peer")
        b.recv(100)
        time.sleep(DELAY)
        b.sendall(b"pong")
    threading.Thread(target=answer, daemon=True).start()
    a.sendall(b"ping")
    t0 = clock()
    a.recv(100)                                                 # @socket_unix_no_timeout
    took("socket_unix_no_timeout", t0)


async def poll_forever(ctx):
    sock = ctx["keep"] = socket.create_connection(("127.0.0.1", ctx["echo"].port))
    sock.setblocking(False)
    p = select.poll()
    p.register(sock, select.POLLIN)
    sock.send(b"ping")
    t0 = clock()
    p.poll()                                                    # @poll_forever
    took("poll_forever", t0)


async def poll_bounded(ctx):
    sock = ctx["keep"] = socket.create_connection(("127.0.0.1", ctx["echo"].port))
    sock.setblocking(False)
    p = select.poll()
    p.register(sock, select.POLLIN)
    sock.send(b"ping")
    t0 = clock()
    p.poll(5000)                                                # @poll_bounded
    took("poll_bounded", t0)


# --- sleep ----------------------------------------------------------------

async def sleep(ctx):
    t0 = clock()
    time.sleep(0.2)                                             # @sleep
    took("sleep", t0)


async def sleep_executor(ctx):
    await asyncio.get_running_loop().run_in_executor(None, time.sleep, 0.2)


async def sleep_uvloop(ctx):
    t0 = clock()
    time.sleep(0.2)                                             # @sleep_uvloop
    took("sleep_uvloop", t0)


# --- file I/O -------------------------------------------------------------

async def file_read(ctx):
    f = ctx["keep"] = open(ctx["bigfile"], "rb")
    t0 = clock()
    f.read()                                                    # @file_read
    took("file_read", t0)


async def file_read_thread(ctx):
    def read():
        with open(ctx["bigfile"], "rb") as f:
            return len(f.read())
    await asyncio.to_thread(read)


async def file_fsync(ctx):
    """An append-only log that syncs every record: each fsync is short
    here (a fast virtual disk), a few hundred of them are not."""
    records = [b"%08d record\n" % i for i in range(3000)]
    with open(ctx["scratch"], "ab") as f:
        deadline = time.perf_counter() + 0.2
        for rec in records:
            f.write(rec)
            f.flush()
            t0 = clock()
            os.fsync(f.fileno())                                # @file_fsync
            took("file_fsync", t0)
            if time.perf_counter() > deadline:
                break


async def file_stat(ctx):
    # one line: the loop's own time (up to 12% of it here) is the line's,
    # and the cause is timed as a whole (a stat is a few µs: timing each
    # one would cost as much as the call)
    paths = ctx["paths"] * 3
    t0 = clock()
    for p in paths: os.stat(p)                                  # @file_stat
    took("file_stat", t0)


async def file_stat_thread(ctx):
    paths = ctx["paths"]
    await asyncio.to_thread(lambda: [os.stat(p) for p in paths * 3])


# --- subprocess -----------------------------------------------------------

async def subprocess_run(ctx):
    import subprocess
    t0 = clock()
    subprocess.run(["sleep", "0.2"])                            # @subprocess_run
    took("subprocess_run", t0)


async def os_system(ctx):
    t0 = clock()
    os.system("sleep 0.2")                                      # @os_system
    took("os_system", t0)


async def subprocess_async(ctx):
    proc = await asyncio.create_subprocess_exec("sleep", "0.2")
    await proc.wait()


# --- DNS ------------------------------------------------------------------

async def dns_getaddrinfo(ctx):
    t0 = clock()
    socket.getaddrinfo(DNS_NAME, 80)                            # @dns_getaddrinfo
    took("dns_getaddrinfo", t0)


async def dns_gethostbyname(ctx):
    t0 = clock()
    socket.gethostbyname(DNS_NAME)                              # @dns_gethostbyname
    took("dns_gethostbyname", t0)


async def dns_loop_getaddrinfo(ctx):
    await asyncio.get_running_loop().getaddrinfo(DNS_NAME, 80)


async def dns_numeric(ctx):
    for _ in range(1000):
        socket.getaddrinfo("127.0.0.1", 80)                     # numeric: no lookup


# --- databases ------------------------------------------------------------

SLOW_SQL = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
            "WHERE x < 1000000) SELECT sum(x) FROM c")


async def sqlite(ctx):
    import sqlite3
    db = sqlite3.connect(":memory:")
    t0 = clock()
    db.execute(SLOW_SQL).fetchone()                             # @sqlite
    took("sqlite", t0)


async def sqlite_thread(ctx):
    import sqlite3

    def query():
        db = sqlite3.connect(":memory:")
        return db.execute(SLOW_SQL).fetchone()
    await asyncio.to_thread(query)


async def fake_pymongo(ctx):
    import pymongo
    coll = pymongo.MongoClient("127.0.0.1", ctx["echo"].port)["db"]["items"]
    t0 = clock()
    coll.find_one({})                                           # @fake_pymongo
    took("fake_pymongo", t0)


# The real drivers against the real servers, connected at start-up (a
# pool's connection): the server itself waits DB_DELAY before it answers.

async def libpq(ctx):
    pq = ctx["libpq"]
    conn = ctx["pgconn"]
    t0 = clock()
    res = pq.PQexec(conn, b"SELECT pg_sleep(0.2)")              # @libpq
    took("libpq", t0)
    pq.PQclear(res)


async def psycopg(ctx):
    conn = ctx["psycopg"]               # psycopg.Connection, autocommit off
    t0 = clock()
    conn.execute("SELECT pg_sleep(0.2)").fetchone()             # @psycopg
    took("psycopg", t0)


async def psycopg_thread(ctx):
    conn = ctx["psycopg"]
    await asyncio.to_thread(lambda: conn.execute("SELECT pg_sleep(0.2)").fetchone())


async def mysqldb(ctx):
    cur = ctx["mysqldb"].cursor()       # MySQLdb.connect(...)
    t0 = clock()
    cur.execute("SELECT SLEEP(0.2)")                            # @mysqldb
    took("mysqldb", t0)


async def mysqldb_thread(ctx):
    cur = ctx["mysqldb"].cursor()
    await asyncio.to_thread(cur.execute, "SELECT SLEEP(0.2)")


async def pymysql_query(ctx):
    cur = ctx["pymysql"].cursor()       # pymysql.connect(...): no read_timeout
    t0 = clock()
    cur.execute("SELECT SLEEP(0.2)")                            # @pymysql_query
    took("pymysql_query", t0)


async def redis_blpop(ctx):
    r = ctx["redis"]                    # redis.Redis(...): no socket_timeout
    t0 = clock()
    r.blpop(ctx["key"], DB_DELAY)                               # @redis_blpop
    took("redis_blpop", t0)


# --- CPU-bound ------------------------------------------------------------

async def cpu_json(ctx):
    import json
    data = ctx["doc"]
    t0 = clock()
    json.dumps(data)                                            # @cpu_json
    took("cpu_json", t0)


async def cpu_json_thread(ctx):
    import json
    # off the loop thread: the loop idles in epoll_wait meanwhile
    # (a new worker thread starts, and holds the GIL in the C encoder: the
    # loop may wait for the GIL in Thread.start, a GIL stall, not JSON's)
    with ThreadPoolExecutor(1) as pool:
        await asyncio.get_running_loop().run_in_executor(pool, json.dumps, ctx["doc"])  # @cpu_json_thread


async def cpu_re(ctx):
    import re
    t0 = clock()
    re.match(r"(a+)+$", "a" * 24 + "b")                         # @cpu_re
    took("cpu_re", t0)


async def cpu_hash(ctx):
    import hashlib
    t0 = clock()
    hashlib.pbkdf2_hmac("sha256", b"secret", b"salt", 1500000)  # @cpu_hash
    took("cpu_hash", t0)


async def cpu_hash_thread(ctx):
    import hashlib
    await asyncio.to_thread(hashlib.pbkdf2_hmac, "sha256", b"secret", b"salt", 1500000)


async def cpu_zlib(ctx):
    import zlib
    blob = ctx["blob"]
    t0 = clock()
    zlib.compress(blob, 9)                                      # @cpu_zlib
    took("cpu_zlib", t0)


async def cpu_pickle(ctx):
    import pickle
    data = ctx["doc"]
    t0 = clock()
    pickle.loads(pickle.dumps(data))                            # @cpu_pickle
    took("cpu_pickle", t0)


async def cpu_python(ctx):
    end, n = time.perf_counter() + 0.3, 0
    t0 = clock()
    while time.perf_counter() < end: n += 1                     # @cpu_python
    took("cpu_python", t0)


# C-accelerated paths called straight from the user's line: no Python frame
# of re, json, hashlib or pickle between that line and the C code, which
# is built into the interpreter on some versions (static functions:
# unnamed where the interpreter is stripped) and a module of its own on
# others (docs/rules.md, rules/default.yaml)

async def cpu_re_match(ctx):
    slug = ctx["pattern"]                    # re.compile(r"^(a+)+$") at start-up
    t0 = clock()
    slug.match(ctx["text"])                                     # @cpu_re_match
    took("cpu_re_match", t0)


async def cpu_re_search(ctx):
    pat = ctx["pattern"]                     # re.compile(r"(a+)+$")
    t0 = clock()
    pat.search(ctx["text"])                                     # @cpu_re_search
    took("cpu_re_search", t0)


async def cpu_re_sub(ctx):
    pat = ctx["pattern"]
    t0 = clock()
    pat.sub("", ctx["text"])                                    # @cpu_re_sub
    took("cpu_re_sub", t0)


async def cpu_json_loads(ctx):
    import json
    t0 = clock()
    json.loads(ctx["text"])                                     # @cpu_json_loads
    took("cpu_json_loads", t0)


async def cpu_json_scanner(ctx):
    scan = ctx["scanner"]                    # make_scanner(): _json.c_make_scanner
    t0 = clock()
    scan(ctx["text"], 0)                                        # @cpu_json_scanner
    took("cpu_json_scanner", t0)


async def cpu_hash_sha256(ctx):
    import hashlib
    t0 = clock()
    hashlib.sha256(ctx["data"]).hexdigest()                     # @cpu_hash_sha256
    took("cpu_hash_sha256", t0)


async def cpu_pickle_dumps(ctx):
    import pickle
    t0 = clock()
    pickle.dumps(ctx["doc"])                                    # @cpu_pickle_dumps
    took("cpu_pickle_dumps", t0)


async def cpu_pickle_loads(ctx):
    import pickle
    t0 = clock()
    pickle.loads(ctx["blob"])                                   # @cpu_pickle_loads
    took("cpu_pickle_loads", t0)


async def cpu_hash_blake2(ctx):
    import hashlib
    t0 = clock()
    hashlib.blake2b(ctx["data"]).hexdigest()                    # @cpu_hash_blake2
    took("cpu_hash_blake2", t0)


# --- locks and waiting for threads ----------------------------------------

async def lock_wait(ctx):
    lock = threading.Lock()
    held = threading.Event()

    def holder():
        name_thread("holder")
        with lock:
            held.set()
            time.sleep(0.3)
    threading.Thread(target=holder).start()
    await asyncio.to_thread(held.wait)
    t0 = clock()
    with lock:                                                  # @lock_wait
        pass
    took("lock_wait", t0)


async def lock_uncontended(ctx):
    lock = threading.Lock()
    for _ in range(100000):
        with lock:
            pass


async def event_wait(ctx):
    ev = threading.Event()
    threading.Timer(0.25, ev.set).start()
    t0 = clock()
    ev.wait()                                                   # @event_wait
    took("event_wait", t0)


async def queue_get(ctx):
    q = queue.Queue()
    threading.Timer(0.25, q.put, (1,)).start()
    t0 = clock()
    q.get()                                                     # @queue_get
    took("queue_get", t0)


async def queue_get_thread(ctx):
    q = queue.Queue()
    threading.Timer(0.25, q.put, (1,)).start()
    await asyncio.to_thread(q.get)


async def future_result(ctx):
    pool = ThreadPoolExecutor(1)
    fut = pool.submit(time.sleep, 0.25)
    t0 = clock()
    fut.result()                                                # @future_result
    took("future_result", t0)


async def future_wrapped(ctx):
    pool = ThreadPoolExecutor(1)
    fut = pool.submit(time.sleep, 0.25)
    await asyncio.wrap_future(fut)


async def thread_join(ctx):
    t = threading.Thread(target=time.sleep, args=(0.25,))
    t.start()
    t0 = clock()
    t.join()                                                    # @thread_join
    took("thread_join", t0)


# --- GIL ------------------------------------------------------------------

def hold_gil(started, data):
    """list.sort in C never lets the GIL go: the holder of the GIL."""
    name_thread("gil-holder")
    started.append(True)
    sorted(data)                                                # @gil_holder


async def gil(ctx):
    started = []
    t = threading.Thread(target=hold_gil, args=(started, ctx["unsorted"]))
    # Thread.start waits for the thread to run, and by then it holds the
    # GIL: the loop waits for the GIL in start(), or (if the holder was
    # descheduled before sorting) on the next line
    t0 = clock()                # the loop's wait for the holder's GIL
    t.start()                                                   # @gil
    while not started: pass                                     # @gil_spin
    took("gil_holder", t0)


async def gil_released(ctx):
    import hashlib

    def hasher():
        name_thread("hasher")
        hashlib.sha256(ctx["data"]).digest()       # releases the GIL
    t = threading.Thread(target=hasher)
    t.start()
    await asyncio.to_thread(t.join)


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
    t0 = clock()
    gc.collect()                                                # @gc_pause
    took("gc_pause", t0)


async def gc_frozen(ctx):
    gc.freeze()
    gc.collect()


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
    return d


async def import_heavy(ctx):
    t0 = clock()
    import loopstall_heavy_mod  # noqa: F401                    # @import_heavy
    took("import_heavy", t0)


async def import_cached(ctx):
    for _ in range(1000):       # imported at start-up: sys.modules hits
        import loopstall_heavy_mod  # noqa: F401,F811


# --- a client (or TLS context) per request ---------------------------------

async def client_ssl(ctx):
    """A TLS context per request, for a batch of requests (a context costs
    3 to 20 ms with these OpenSSL versions: the batch runs 200 ms)."""
    import ssl
    deadline = time.perf_counter() + 0.2
    while time.perf_counter() < deadline:
        t0 = clock()
        ssl.create_default_context()                            # @client_ssl
        took("client_ssl", t0)


async def client_ssl_once(ctx):
    context = ctx["ssl"]                # made once, at start-up
    for _ in range(40):
        context.cert_store_stats()


async def client_ssl_verify(ctx):
    """The CA bundle loaded again for every connection, into a shared
    context (as urllib3 1.x's ssl_wrap_socket(ca_certs=…) did)."""
    context, cafile = ctx["ssl"], ctx["cafile"]
    deadline = time.perf_counter() + 0.2
    while time.perf_counter() < deadline:
        t0 = clock()
        context.load_verify_locations(cafile)                   # @client_ssl_verify
        took("client_ssl_verify", t0)


async def client_httpx(ctx):
    import httpx
    deadline = time.perf_counter() + 0.2
    while time.perf_counter() < deadline:
        t0 = clock()
        httpx.Client()                                          # @client_httpx
        took("client_httpx", t0)


async def client_httpx_once(ctx):
    client = ctx["httpx"]               # made once, at start-up
    await asyncio.to_thread(client.get, ctx["http"].url)


async def client_requests_session(ctx):
    import requests
    with requests.Session() as s:
        t0 = clock()
        s.get(ctx["http"].url, timeout=5)                       # @client_requests_session
        took("client_requests_session", t0)


async def client_requests_session_once(ctx):
    t0 = clock()
    ctx["session"].get(ctx["http"].url, timeout=5)              # @client_requests_session_once
    took("client_requests_session_once", t0)


# --- no rule --------------------------------------------------------------

async def other_sigwait(ctx):
    # a wait no rule names: reported as LS000 (other), with its call site
    t0 = clock()
    signal.sigtimedwait([signal.SIGUSR2], DELAY)                # @other_sigwait
    took("other_sigwait", t0)


# --- sequential awaits ----------------------------------------------------

async def get_user(uid):
    t0 = clock()
    time.sleep(DELAY)                                           # @seq_blocking
    took("seq_blocking", t0)
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
    await load_profile(1)


async def seq_gathered(ctx):
    await load_profile_gathered(1)


SCENARIOS = {f.__name__: f for f in [
    http_requests, http_requests_timeout, http_requests_thread, http_urllib,
    http_urllib_timeout, http_urllib_thread, http_urllib3, http_client,
    http_httpx, http_httpx_default, http_aiohttp, requests_json_after_thread,
    socket_no_timeout, socket_timeout, socket_unix_no_timeout, poll_forever, poll_bounded,
    sleep, sleep_executor, sleep_uvloop,
    file_read, file_read_thread, file_fsync, file_stat, file_stat_thread,
    subprocess_run, os_system, subprocess_async,
    dns_getaddrinfo, dns_gethostbyname, dns_loop_getaddrinfo, dns_numeric,
    sqlite, sqlite_thread, fake_pymongo, libpq, psycopg, psycopg_thread,
    mysqldb, mysqldb_thread, pymysql_query, redis_blpop,
    cpu_json, cpu_json_thread, cpu_re, cpu_hash, cpu_hash_thread, cpu_zlib,
    cpu_pickle, cpu_python,
    cpu_re_match, cpu_re_search, cpu_re_sub, cpu_json_loads, cpu_json_scanner,
    cpu_hash_sha256, cpu_pickle_dumps, cpu_pickle_loads, cpu_hash_blake2,
    lock_wait, lock_uncontended, event_wait, queue_get, queue_get_thread,
    future_result, future_wrapped, thread_join,
    gil, gil_released, gc_pause, gc_frozen, import_heavy, import_cached,
    client_ssl, client_ssl_once, client_ssl_verify, client_httpx, client_httpx_once,
    client_requests_session, client_requests_session_once, other_sigwait,
    seq_await, seq_gathered,
]}


# modules a scenario imports, imported before "ready": a first import on
# the loop would be a stall of its own
PREIMPORT = {
    "http_requests": "requests", "http_requests_timeout": "requests",
    "http_requests_thread": "requests", "requests_json_after_thread": "requests",
    "http_urllib": "urllib.request", "http_urllib_timeout": "urllib.request",
    "http_urllib_thread": "urllib.request", "http_urllib3": "urllib3",
    "http_client": "http.client", "http_httpx": "httpx", "http_httpx_default": "httpx",
    "client_httpx": "httpx", "client_httpx_once": "httpx", "http_aiohttp": "aiohttp",
    "client_requests_session": "requests", "client_requests_session_once": "requests",
    "subprocess_run": "subprocess", "sqlite": "sqlite3", "sqlite_thread": "sqlite3",
    "redis_blpop": "redis", "pymysql_query": "pymysql", "fake_pymongo": "pymongo",
    "psycopg": "psycopg", "psycopg_thread": "psycopg",
    "mysqldb": "MySQLdb", "mysqldb_thread": "MySQLdb",
    "cpu_json": "json", "cpu_json_thread": "json", "cpu_re": "re", "cpu_hash": "hashlib",
    "cpu_hash_thread": "hashlib", "cpu_zlib": "zlib", "cpu_pickle": "pickle",
    "gil_released": "hashlib", "client_ssl": "ssl", "client_ssl_verify": "ssl",
    "import_cached": "loopstall_heavy_mod", "sleep_uvloop": "uvloop",
}


def setup(scenario, server=None):
    """What a scenario needs, made before "ready": servers, data, files;
    server: the unix socket of the real server it runs against (SERVERS)."""
    if scenario in SERVERS and not server:
        sys.exit(f"{scenario}: name the unix socket of its {SERVERS[scenario]} "
                 f"(rules_workload.py SCENARIO SERVER)")
    ctx = {"cleanup": []}            # files to remove at exit
    servers = {}
    if scenario.startswith("dns_"):
        ctx["cleanup"].append(private_resolv_conf())    # before any thread
        servers["dns"] = SlowDNS
        # a str host is encoded with the idna codec: its first use imports
        # encodings.idna (stringprep, unicodedata, a regex), 72-192 ms
        # inside socket.getaddrinfo/gethostbyname on a cold CI machine,
        # rightly LS100 (+ LS050); the scenarios are about the resolver,
        # so it is imported here
        "127.0.0.1".encode("idna")
    if scenario.startswith(("http_", "client_httpx", "client_requests")):
        servers["http"] = http_server
    if scenario in ("socket_no_timeout", "socket_timeout", "poll_forever",
                    "poll_bounded", "fake_pymongo"):
        servers["echo"] = lambda: SlowTCP(lambda req: b"+OK\r\n" + b"\0" * 16)
    if scenario in ("cpu_json", "cpu_json_thread", "cpu_pickle",
                    "requests_json_after_thread"):
        ctx["doc"] = [{"id": i, "name": f"item {i}", "tags": ["a", "b", "c"], "score": i / 7}
                      for i in range(180000)]
    if scenario == "requests_json_after_thread":
        body = json.dumps(ctx["doc"]).encode()
        servers["json"] = lambda: http_server(body, delay=0)
    if servers:
        ctx.update(start_servers(servers))
    if scenario == "fake_pymongo":
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
        conn = pq.PQconnectdb(b"host=%s user=postgres dbname=postgres" % server.encode())
        if pq.PQstatus(conn) != 0:
            sys.exit(f"libpq: could not connect to PostgreSQL at {server}")
        ctx.update(libpq=pq, pgconn=conn)
    if scenario in ("file_read", "file_read_thread"):
        path = os.path.join(tempfile.gettempdir(), "loopstall-rules-big.bin")
        if not os.path.exists(path) or os.path.getsize(path) != 256 << 20:
            with open(path, "wb") as f:
                for _ in range(256):
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
        ctx["scratch"] = os.path.join(tempfile.gettempdir(), f"loopstall-rules-{os.getpid()}.log")
        ctx["cleanup"].append(ctx["scratch"])
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
    if scenario in ("import_heavy", "import_cached"):
        ctx["cleanup"].append(write_heavy_module("loopstall_heavy_mod"))
    if scenario == "gil":
        import random
        ctx["unsorted"] = [random.random() for _ in range(2000000)]
    if scenario.startswith(("cpu_re_", "cpu_json_", "cpu_hash_", "cpu_pickle_")):
        setup_cpu(scenario, ctx)
    if scenario in PREIMPORT:
        import importlib
        importlib.import_module(PREIMPORT[scenario])
    if scenario in ("psycopg", "psycopg_thread"):
        import psycopg as pg
        ctx["psycopg"] = pg.connect(host=server, user="postgres", dbname="postgres")
    if scenario in ("mysqldb", "mysqldb_thread"):
        import MySQLdb
        ctx["mysqldb"] = MySQLdb.connect(unix_socket=server, user="root")
    if scenario == "pymysql_query":
        import pymysql
        ctx["pymysql"] = pymysql.connect(unix_socket=server, user="root")
    if scenario == "redis_blpop":
        import redis
        ctx["redis"] = redis.Redis(unix_socket_path=server)
        ctx["redis"].ping()             # connected now, not on the loop
        ctx["key"] = f"loopstall-empty-{os.getpid()}"   # a list nobody pushes to
    if scenario in ("http_httpx", "http_httpx_default", "client_httpx_once"):
        import httpx
        ctx["httpx"] = httpx.Client(timeout=None if scenario == "http_httpx" else 5)
    if scenario == "client_requests_session_once":
        import requests
        ctx["session"] = requests.Session()
    if scenario == "client_ssl_once":
        import ssl
        ctx["ssl"] = ssl.create_default_context()
    if scenario == "client_ssl_verify":
        import ssl
        ctx["ssl"] = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx["cafile"] = ssl.get_default_verify_paths().openssl_cafile
    return ctx


def setup_cpu(scenario, ctx):
    """The inputs of the C-path scenarios, each about 300-600 ms of C on
    these machines, and the modules they use, imported."""
    import hashlib  # noqa: F401
    import pickle
    import re
    doc = [{"id": i, "name": f"item {i}", "tags": ["a", "b", "c"], "score": i / 7}
           for i in range(180000 if scenario.startswith(("cpu_json_", "cpu_pickle_")) else 0)]
    if scenario == "cpu_re_match":
        ctx["pattern"], ctx["text"] = re.compile(r"^(a+)+$"), "a" * 24 + "b"
    elif scenario.startswith("cpu_re_"):
        ctx["pattern"], ctx["text"] = re.compile(r"(a+)+$"), "a" * 22 + "b"
    elif scenario.startswith("cpu_json_"):
        ctx["text"] = json.dumps(doc)
        ctx["scanner"] = json.scanner.make_scanner(json.JSONDecoder())
    elif scenario.startswith("cpu_hash_"):
        ctx["data"] = b"x" * (256 << 20)
    elif scenario == "cpu_pickle_dumps":
        ctx["doc"] = doc
    elif scenario == "cpu_pickle_loads":
        ctx["blob"] = pickle.dumps(doc)


async def runner(scenario, ctx):
    """Wait for GO, run the scenario, then idle a moment so that its stall
    ends. (Its awaits take no call on their line: LS120 looks for two
    awaited calls in a row, and this function is on every stack.)"""
    go = wait_go()
    await go
    body = SCENARIOS[scenario](ctx)
    await body
    pause = settle()
    await pause


def main():
    scenario = sys.argv[1]
    ctx = setup(scenario, sys.argv[2] if len(sys.argv) > 2 else None)
    signal.signal(signal.SIGUSR1, lambda *a: GO.set())
    print("ready", os.getpid(), flush=True)
    name_thread("loop-main")
    if scenario == "sleep_uvloop":
        import uvloop
        uvloop.install()
    try:
        asyncio.run(runner(scenario, ctx))
        for marker, ms in CAUSES.items():
            print(f"cause {marker} {ms:.3f}", flush=True)
    finally:
        import shutil
        for path in ctx["cleanup"]:
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.exists(path):
                os.unlink(path)


if __name__ == "__main__":
    main()
