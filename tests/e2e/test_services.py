# SPDX-License-Identifier: MIT
"""Whole services: real frameworks on real servers, under `loopstall attach
-p PID -f json` while the test sends them plain HTTP requests.

services_app.py is the service: FastAPI on uvicorn (uvloop, httptools, one
process), the same app under gunicorn with two UvicornWorker workers
(one `attach -p MASTER --subprocesses`: both workers, and the one gunicorn
forks when a worker is killed), an
aiohttp app (web.run_app) and a Tornado app. Its backends are real and
throwaway (servers.py): a PostgreSQL cluster made by initdb, a
redis-server, a MariaDB server, and a slow HTTP server (200 ms a GET) in
this process.

An endpoint that blocks the loop must be reported at its "# @marker" line
(file, line, function) with the rules the default pack means for it; a
healthy twin (asyncpg, redis.asyncio, aiomysql, httpx.AsyncClient, a plain `def`
endpoint FastAPI runs in its thread pool) must not stall the loop at all. Each request
of interest is followed by GET /mark (100 ms of time.sleep at @mark): the
stalls between two marks are that request's, so a twin is judged on what
its own request did, with no timed wait. Every service is started once per
module and warmed up (each endpoint once) before loopstall attaches: what
is judged is a service in its steady state.
"""
import importlib.util
import os
import shutil
import signal
import socket
import threading

import pytest
import yaml

from conftest import ROOT, Loopstall, count_type, markers
from servers import Service, get, optional

HERE = os.path.dirname(os.path.abspath(__file__))
APP = os.path.join(HERE, "services_app.py")
PY = "/usr/bin/python3"
M = markers(APP)
with open(os.path.join(ROOT, "rules", "default.yaml")) as _f:
    PACK = {r["id"]: r for r in yaml.safe_load(_f)["rules"]}

HTTP = ["LS001", "LS002", "LS003", "LS004", "LS005"]
TIMEOUT = ["LS010", "LS011", "LS012"]
MARK = "LS020"          # the rule of GET /mark's time.sleep

# endpoint: (the function at its marker, expected rules at the marker,
#            rules that must be absent, the backend it needs, modules)
FA = "fastapi_app.<locals>."
BLOCKING = {
    # libpq (psycopg2's engine) waits for the server in poll(fd, 1, -1) on
    # the unix socket: the driver's rule and the poll without a timeout
    "pg_sync": (FA + "pg_sync", ["LS061", "LS011"], ["LS006", "LS010", "LS012"] + HTTP,
                "postgres", ["psycopg2"]),
    # redis-py (socket_timeout None) blocks in recvfrom on the unix socket
    "redis_sync": (FA + "redis_sync", ["LS065", "LS010"], ["LS006", "LS011", "LS012"] + HTTP,
                   "redis_server", ["redis"]),
    # PyMySQL (read_timeout None) blocks in recvfrom on the unix socket
    "mysql_sync": (FA + "mysql_sync", ["LS063", "LS010"],
                   ["LS006", "LS011", "LS012", "LS064", "LS061"] + HTTP,
                   "mariadb", ["pymysql"]),
    # httpx's 5 s default timeout: poll(fd, 1, 5000), no timeout finding
    # (httpx.get makes a client for the call: LS112 may name that part)
    "httpx_sync": (FA + "httpx_sync", ["LS004"], TIMEOUT + ["LS006", "LS001", "LS005"],
                   "slow_http", ["httpx"]),
    # ~200 ms of backtracking in _sre, called straight from the handler
    "regex": (FA + "regex", ["LS071"], ["LS075"], None, []),
    # Jinja2: the template's own compiled Python, on-CPU. Rendered without
    # autoescape (Jinja2's default): with it, each Markup allocation counts
    # towards a collection (~170 young ones a page, 10-20% of the stall),
    # which LS095 names beside LS075 (the catch-all speaks for the rest:
    # docs/rules.md)
    "template": (FA + "template_render", ["LS075"], ["LS071", "LS070"], None, ["jinja2"]),
}

# healthy twins: (backend, modules)
HEALTHY = {
    "pg_async": ("postgres", ["asyncpg"]),
    "redis_async": ("redis_server", ["redis"]),
    "mysql_async": ("mariadb", ["aiomysql"]),
    "httpx_async": ("slow_http", ["httpx"]),
    "thread_sleep": (None, []),
}


def missing_modules(mods):
    return [m for m in mods if importlib.util.find_spec(m) is None]


class Watched:
    """A service under one `loopstall attach -p PID -f json ARGS`: `loops`
    loops found before it is used (gunicorn: the master with
    --subprocesses, its two workers' loops)."""

    def __init__(self, service, args=(), loops=1):
        self.service = service
        self.seen = 0
        self.ls = Loopstall("attach", "-p", str(service.proc.pid if args else service.pids[0]),
                            "-f", "json", *args)
        try:
            assert self.ls.wait_for(count_type("loop", loops), timeout=40), \
                f"loopstall saw no {loops} loops: {self.ls.lines} {self.ls.proc.poll()}"
        except BaseException:
            self.stop()
            raise

    def stop(self):
        self.service.stop()
        try:
            self.ls.finish(30)
        finally:
            self.ls.kill()

    def stalls(self, pid=None):
        return [s for s in self.ls.events("stall") if pid is None or s["pid"] == pid]

    def window(self, path):
        """GET path, then GET /mark: the stalls after the previous mark and
        before this one."""
        status, body = get(self.service.port, path)
        assert status == 200, (path, status, body)
        status, _ = get(self.service.port, "/mark")
        assert status == 200
        start = self.seen

        def end(_=None):
            """The first mark since the previous window's: this one's."""
            return next((i for i, s in enumerate(self.stalls())
                         if i >= start and is_mark(s)), None)
        ok = self.ls.wait_for(lambda _: end() is not None, timeout=60)
        stalls = self.stalls()
        assert ok, f"GET /mark gave no stall: {show(stalls[start:])}"
        self.seen = end() + 1
        return stalls[start:self.seen - 1]


def is_mark(stall):
    return any(f["rule"] == MARK and f["call_site"].get("line") == M["mark"]
               for f in stall.get("findings", []))


def findings(stalls, rule=None):
    return [(s, f) for s in stalls for f in s.get("findings", [])
            if rule is None or f["rule"] == rule]


def show(stalls):
    """The stalls, briefly, for assertion messages."""
    out = []
    for s in stalls:
        top = s["stacks"][0] if s["stacks"] else {}
        py = [f"{f['function']}:{f['line']}" for f in top.get("frames", [])
              if f["kind"] == "python"][:4]
        out.append(f"pid {s['pid']} {s['duration_ms']:.0f} ms on={s['on_cpu_ms']:.0f} "
                   f"{top.get('syscall')} {py} findings="
                   f"{[(f['rule'], f['call_site'].get('function'), f['call_site'].get('line'), round(f.get('ms', 0))) for f in s.get('findings', [])]}")
    return out or ["no stall"]


def check_found(stalls, rules, absent, marker, function, path=APP):
    """Each rule has a finding at marker's line in function; no rule of
    absent has one."""
    for rule in rules:
        got = findings(stalls, rule)
        assert got, f"no {rule} finding: {show(stalls)}"
        _, f = got[0]
        want = PACK[rule]
        assert (f["category"], f["severity"]) == (want["category"], want["severity"]), f
        assert f["fix"] == want["fix"].strip(), f
        site = f["call_site"]
        assert (site["file"], site["line"]) == (path, M[marker]), \
            f"{rule}: call site {site}, want {path}:{M[marker]}: {show(stalls)}"
        assert site["function"] == function, site
        with open(path) as src:
            text = src.read().splitlines()[site["line"] - 1]
        assert site["code"] and text.split("  #")[0].strip() in site["code"], site
    wrong = sorted({f["rule"] for _, f in findings(stalls) if f["rule"] in absent})
    assert not wrong, f"{wrong} must not fire: {show(stalls)}"


def app_env(request, backends):
    """The environment of services_app.py: the backends that could start
    (their skip reasons for the others)."""
    env, why = dict(os.environ), {}
    for name, var, attr in (("postgres", "LOOPSTALL_PG", "host"),
                            ("redis_server", "LOOPSTALL_REDIS", "path"),
                            ("mariadb", "LOOPSTALL_MYSQL", "path"),
                            ("slow_http", "LOOPSTALL_SLOW_URL", "url")):
        if name not in backends:
            continue
        srv, reason = optional(request, name)
        if srv:
            env[var] = getattr(srv, attr)
        else:
            why[name] = reason
    return env, why


def needs(why, backend, mods):
    if backend in why:
        pytest.skip(why[backend])
    gone = missing_modules(mods)
    if gone:
        pytest.skip(f"Python module(s) {', '.join(gone)} missing (scripts/setup-deps)")


def warm_up(port, why):
    """Each endpoint once, before loopstall attaches."""
    for ep, (_, _, _, backend, mods) in BLOCKING.items():
        if backend not in why and not missing_modules(mods):
            assert get(port, "/" + ep)[0] == 200, ep
    for ep, (backend, mods) in HEALTHY.items():
        if backend not in why and not missing_modules(mods):
            assert get(port, "/" + ep)[0] == 200, ep
    get(port, "/mark")


def watched(cmd, env, warm):
    """Start the service cmd, warm(port) it up, then attach: Watched (the
    service stopped if any of it fails)."""
    service = Service(cmd, env=env)
    try:
        warm(service.port)
    except BaseException:
        service.stop()
        raise
    return Watched(service)


# --- FastAPI on uvicorn ---------------------------------------------------------

@pytest.fixture(scope="module")
def fastapi(request):
    missing = missing_modules(["fastapi", "uvicorn", "uvloop", "httptools"])
    if missing:
        pytest.skip(f"Python module(s) {', '.join(missing)} missing (scripts/setup-deps)")
    env, why = app_env(request, ("postgres", "redis_server", "mariadb", "slow_http"))
    w = watched([PY, APP, "uvicorn"], env, lambda port: warm_up(port, why))
    w.why = why
    yield w
    w.stop()


@pytest.mark.parametrize("endpoint", list(BLOCKING))
def test_fastapi_blocking(fastapi, endpoint):
    function, rules, absent, backend, mods = BLOCKING[endpoint]
    needs(fastapi.why, backend, mods)
    stalls = fastapi.window("/" + endpoint)
    check_found(stalls, rules, absent, endpoint, function)


@pytest.mark.parametrize("endpoint", list(HEALTHY))
def test_fastapi_healthy(fastapi, endpoint):
    backend, mods = HEALTHY[endpoint]
    needs(fastapi.why, backend, mods)
    stalls = fastapi.window("/" + endpoint)
    # nothing at all: the loop waits in epoll while the work is elsewhere
    # (no LS000 either: a stall no rule names is still a stall)
    assert not stalls, f"a healthy endpoint stalled the loop: {show(stalls)}"


# --- aiohttp and Tornado ----------------------------------------------------------

@pytest.fixture(scope="module")
def aiohttp_app():
    if missing_modules(["aiohttp"]):
        pytest.skip("Python module aiohttp missing (scripts/setup-deps)")
    w = watched([PY, APP, "aiohttp"], None, lambda port: get(port, "/sleep"))
    yield w
    w.stop()


def test_aiohttp_run_app_sleep(aiohttp_app):
    stalls = aiohttp_app.window("/sleep")
    check_found(stalls, ["LS020"], HTTP + TIMEOUT, "aiohttp_sleep",
                "run_aiohttp.<locals>.sleep_handler")


@pytest.fixture(scope="module")
def tornado_app(request):
    if missing_modules(["tornado", "requests"]):
        pytest.skip("Python module tornado or requests missing (scripts/setup-deps)")
    env, why = app_env(request, ("slow_http",))
    w = watched([PY, APP, "tornado"], env, lambda port: get(port, "/requests"))
    yield w
    w.stop()


def test_tornado_requests_with_timeout(tornado_app):
    stalls = tornado_app.window("/requests")
    # requests with timeout=5: poll(fd, 1, 5000), the blocking call only
    check_found(stalls, ["LS001"], TIMEOUT + ["LS006", "LS005", "LS003"],
                "tornado_requests", "run_tornado.<locals>.RequestsHandler.get")


# --- the same FastAPI app under gunicorn, two UvicornWorker workers --------------

def children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return sorted(int(p) for p in f.read().split())


@pytest.fixture(scope="module")
def gunicorn(request):
    missing = missing_modules(["gunicorn", "fastapi", "uvicorn", "uvloop", "httptools"])
    if missing or not shutil.which("gunicorn"):
        pytest.skip(f"gunicorn or Python module(s) {', '.join(missing)} missing "
                    "(scripts/setup-deps)")
    env, why = app_env(request, ("postgres", "redis_server", "mariadb", "slow_http"))
    # the master gets its listening socket from here: its port is known
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    try:
        service = Service(["gunicorn", "--workers", "2",
                           "--worker-class", "uvicorn.workers.UvicornWorker",
                           "--bind", f"fd://{sock.fileno()}", "--chdir", HERE,
                           "--graceful-timeout", "5", "--log-level", "warning",
                           "services_app:app"],
                          env=env, ready=2, pass_fds=[sock.fileno()])
    finally:
        port = sock.getsockname()[1]
        sock.close()
    service.port = port
    try:
        # the workers that said "ready" are the master's children
        assert sorted(service.pids) == children(service.proc.pid), service.pids
    except BaseException:
        service.stop()
        raise
    # one loopstall for the whole service: the master and what it forks
    w = Watched(service, ["--subprocesses"], loops=2)
    w.why = why
    yield w
    w.stop()


def both_workers(port, path, workers, rounds=10):
    """GET path until each worker has served it: a second request goes out
    while the first one blocks its worker's loop, so the other worker
    accepts it. The PIDs that served."""
    served = set()
    for _ in range(rounds):
        answers = []
        first = threading.Thread(target=lambda: answers.append(get(port, path)))
        first.start()
        first.join(0.05)        # let its worker take it (and block) first
        answers.append(get(port, path))
        first.join()
        for status, body in answers:
            assert status == 200, (path, status, body)
            served.add(int(body))
        if served >= set(workers):
            break
    return served


def check_workers(gunicorn, endpoint, workers):
    """Each of workers served endpoint, and its stalls name the rules at
    its line, under its own PID."""
    function, rules, absent, backend, mods = BLOCKING[endpoint]
    served = both_workers(gunicorn.service.port, "/" + endpoint, workers)
    assert served == set(workers), f"only {served} of {workers} served /{endpoint}"

    def at_line(pid):
        return [s for s in gunicorn.stalls(pid)
                if any(f["call_site"].get("line") == M[endpoint] for f in s["findings"])]
    for pid in workers:
        ok = gunicorn.ls.wait_for(lambda _: all(findings(at_line(pid), r) for r in rules),
                                  timeout=60)
        stalls = at_line(pid)
        assert ok, f"worker {pid}: no {rules} at {endpoint}: {show(gunicorn.stalls(pid))}"
        check_found(stalls, rules, absent, endpoint, function)


def test_gunicorn_attach_to_master_finds_both_workers(gunicorn):
    session = gunicorn.ls.events("session")[0]
    assert session["subprocesses"] is True, session
    procs = {p["pid"]: p for p in session["processes"]}
    # the master runs CPython too (no loop): watched, named by its title
    assert set(procs) == {gunicorn.service.proc.pid, *gunicorn.service.pids}, procs
    for pid in gunicorn.service.pids:
        assert procs[pid]["ppid"] == gunicorn.service.proc.pid, procs[pid]
        assert "gunicorn" in procs[pid]["process"], procs[pid]
    loops = {l["pid"] for l in gunicorn.ls.events("loop")}
    assert set(gunicorn.service.pids) <= loops, loops


@pytest.mark.parametrize("endpoint", list(BLOCKING))
def test_gunicorn_workers_blocking(gunicorn, endpoint):
    needs(gunicorn.why, BLOCKING[endpoint][3], BLOCKING[endpoint][4])
    check_workers(gunicorn, endpoint, gunicorn.service.pids)


def test_gunicorn_worker_killed_and_respawned_is_followed(gunicorn):
    """gunicorn replaces a worker killed under it: the new one, forked by
    the master after attach, is watched under its own PID."""
    service = gunicorn.service
    gone = service.pids[0]
    os.kill(gone, signal.SIGKILL)
    line = service.proc.stdout.readline().split()      # the new worker's "ready"
    assert line and line[0] == "ready", line
    new = int(line[1])
    service.pids = [new, *service.pids[1:]]
    assert new in children(service.proc.pid)

    def event(kind, pid):
        return [e for e in gunicorn.ls.events("process") if e["event"] == kind and e["pid"] == pid]
    assert gunicorn.ls.wait_for(lambda _: event("exit", gone), timeout=30), gunicorn.ls.lines[-5:]
    assert gunicorn.ls.wait_for(lambda _: any(l["pid"] == new for l in gunicorn.ls.events("loop")),
                                timeout=30), gunicorn.ls.lines[-5:]
    start, = event("start", new)
    assert start["ppid"] == service.proc.pid and "gunicorn" in start["process"], start
    check_workers(gunicorn, "regex", service.pids)
