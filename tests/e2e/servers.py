# SPDX-License-Identifier: MIT
"""Real servers for the end-to-end tests, started and stopped by the tests
themselves (nothing of the machine's own is used):

- `postgres`: a throwaway PostgreSQL cluster (initdb in a scratch
  directory, run as the unprivileged `postgres` user, since PostgreSQL
  refuses root), listening only on a unix socket in that directory, with
  fsync off; trust authentication for user postgres.
- `redis_server`: redis-server on a unix socket in its own scratch
  directory, no TCP port, no persistence (no RDB, no AOF).
- `mariadb`: a MariaDB server (mariadb-install-db in a scratch directory,
  mariadbd as the unprivileged `mysql` user) on a unix socket only, no
  binary log; user root without a password.
- `slow_http`: an HTTP server on 127.0.0.1 (in the test process) that
  answers every GET after 200 ms.

Session-scoped pytest fixtures (conftest.py imports them), each torn down
at the end of the session whatever happened. A server whose Debian
package is missing (OPTIONAL in scripts/setup-deps) makes the tests using
it skip, saying which package. Scratch directories are
/tmp/loopstall-srv-<pytest pid>-*: removed at teardown; one left by a
session that was killed (its pid gone) is removed by the next session. The
servers get SIGTERM (setpriv --pdeathsig) should the test process die
without tearing down.

Also here: `Service`, a service process under test ("ready PID PORT" on
its stdout), and `get`, a plain HTTP GET.
"""
import glob
import http.client
import http.server
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

PREFIX = "loopstall-srv-"
SLOW_DELAY = 0.2


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def sweep_stale():
    """Remove the scratch directories of sessions that died."""
    for d in glob.glob(os.path.join(tempfile.gettempdir(), PREFIX + "*")):
        try:
            pid = int(os.path.basename(d)[len(PREFIX):].split("-")[0])
        except ValueError:
            continue
        if pid != os.getpid() and not _alive(pid):
            shutil.rmtree(d, ignore_errors=True)


def scratch(kind):
    sweep_stale()
    return tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-{kind}-")


def _wait_until(pred, what, proc, timeout=60):
    """Poll pred until it holds (a server's start-up: not a timed
    assertion, a deadline for a server that never comes up)."""
    end = time.monotonic() + timeout
    while not pred():
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        if time.monotonic() > end:
            raise RuntimeError(f"{what} did not start in {timeout} s")
        time.sleep(0.05)


def _stop(proc, sig=signal.SIGTERM, timeout=30):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _as_user(user, argv, sig="TERM"):
    """argv run as user (no supplementary groups), sent sig when this
    process dies; setpriv execs it (the pid is the server's)."""
    pw = pwd.getpwnam(user)
    return ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups",
            "--pdeathsig", sig, "--", *argv]


# --- PostgreSQL ---------------------------------------------------------

def pg_bindir():
    """The newest installed PostgreSQL's bin directory, or None."""
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                  key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return os.path.dirname(dirs[-1]) if dirs else None


class Postgres:
    """A PostgreSQL cluster of its own: `host` is the directory of its unix
    socket (libpq's host=, asyncpg's host=), user postgres, database
    postgres."""

    USER = "postgres"

    def __init__(self):
        bindir = pg_bindir()
        if not bindir:
            pytest.skip("PostgreSQL not installed (Debian package postgresql, "
                        "OPTIONAL in scripts/setup-deps)")
        try:
            pw = pwd.getpwnam(self.USER)
        except KeyError:
            pytest.skip(f"no user {self.USER} to run PostgreSQL as")
        self.dir = scratch("pg")
        self.host = self.dir
        self.data = os.path.join(self.dir, "data")
        self.proc = None
        os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        try:
            subprocess.run(_as_user(self.USER, [
                os.path.join(bindir, "initdb"), "-D", self.data, "-U", self.USER,
                "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"]),
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.dir)
            self.proc = subprocess.Popen(_as_user(self.USER, [
                os.path.join(bindir, "postgres"), "-D", self.data,
                "-k", self.dir, "-c", "listen_addresses=",
                "-c", "fsync=off", "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off", "-c", "shared_buffers=16MB",
                "-c", "max_connections=20", "-c", "logging_collector=off"], sig="INT"),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.dir)
            isready = [os.path.join(bindir, "pg_isready"), "-q", "-h", self.dir,
                       "-U", self.USER, "-d", "postgres"]
            _wait_until(lambda: subprocess.run(isready).returncode == 0, "postgres", self.proc)
        except BaseException:
            self.stop()
            raise

    def stop(self):
        if self.proc:
            _stop(self.proc, signal.SIGINT)      # fast shutdown
        shutil.rmtree(self.dir, ignore_errors=True)


# --- redis ------------------------------------------------------------------

class Redis:
    """redis-server on a unix socket (`path`), nothing saved."""

    def __init__(self):
        exe = shutil.which("redis-server")
        if not exe:
            pytest.skip("redis-server not installed (Debian package redis-server, "
                        "OPTIONAL in scripts/setup-deps)")
        self.dir = scratch("redis")
        self.path = os.path.join(self.dir, "redis.sock")
        self.proc = None
        try:
            self.proc = subprocess.Popen(
                ["setpriv", "--pdeathsig", "TERM", "--", exe, "--port", "0",
                 "--unixsocket", self.path, "--unixsocketperm", "700",
                 "--save", "", "--appendonly", "no", "--dir", self.dir,
                 "--daemonize", "no", "--logfile", "", "--loglevel", "warning"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.dir)
            _wait_until(self._pong, "redis-server", self.proc)
        except BaseException:
            self.stop()
            raise

    def _pong(self):
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(self.path)
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self):
        if self.proc:
            _stop(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


# --- MariaDB ------------------------------------------------------------------

class MariaDB:
    """A MariaDB server of its own (mariadb-install-db in a scratch
    directory, mariadbd as the unprivileged `mysql` user), on a unix socket
    (`path`) only, no binary log, InnoDB flushing once a second; user root
    without a password."""

    USER = "mysql"

    def __init__(self):
        install, server = shutil.which("mariadb-install-db"), "/usr/sbin/mariadbd"
        if not install or not os.access(server, os.X_OK):
            pytest.skip("MariaDB not installed (Debian package mariadb-server, "
                        "OPTIONAL in scripts/setup-deps)")
        try:
            pw = pwd.getpwnam(self.USER)
        except KeyError:
            pytest.skip(f"no user {self.USER} to run MariaDB as")
        self.dir = scratch("mariadb")
        self.path = os.path.join(self.dir, "mysqld.sock")
        data = os.path.join(self.dir, "data")
        self.proc = None
        os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        try:
            subprocess.run(_as_user(self.USER, [
                install, "--no-defaults", f"--datadir={data}", "--skip-test-db",
                "--auth-root-authentication-method=normal", "--skip-name-resolve"]),
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.dir)
            self.proc = subprocess.Popen(_as_user(self.USER, [
                server, "--no-defaults", f"--datadir={data}", f"--socket={self.path}",
                "--skip-networking", f"--pid-file={self.dir}/mysqld.pid",
                f"--log-error={self.dir}/error.log", "--skip-log-bin",
                "--innodb-buffer-pool-size=16M", "--innodb-flush-log-at-trx-commit=0",
                "--innodb-doublewrite=0"]),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.dir)
            _wait_until(self._up, "mariadbd", self.proc)
        except BaseException:
            self.stop()
            raise

    def _up(self):
        """The server's greeting on its socket."""
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(5)
                s.connect(self.path)
                return len(s.recv(4)) == 4
        except OSError:
            return False

    def stop(self):
        if self.proc:
            _stop(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


# --- a slow HTTP server -------------------------------------------------------

class _SlowHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        time.sleep(SLOW_DELAY)
        body = b"slow ok"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class SlowHTTP:
    """An HTTP server on 127.0.0.1 answering every GET after 200 ms, in a
    thread of the test process; `url`."""

    def __init__(self):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slow"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def postgres():
    pg = Postgres()
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture(scope="session")
def redis_server():
    r = Redis()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture(scope="session")
def mariadb():
    m = MariaDB()
    try:
        yield m
    finally:
        m.stop()


@pytest.fixture(scope="session")
def slow_http():
    s = SlowHTTP()
    try:
        yield s
    finally:
        s.stop()


def optional(request, fixture):
    """A session fixture's value, or None where it skips (the reason)."""
    try:
        return request.getfixturevalue(fixture), None
    except pytest.skip.Exception as e:
        return None, str(e)


# --- services under test -------------------------------------------------------

class Service:
    """A service process that prints "ready PID PORT" once it serves, one
    line per process (gunicorn's workers each print theirs): `pids`, `port`.
    Stopped with SIGTERM (then SIGKILL), its group too."""

    def __init__(self, cmd, env=None, ready=1, pass_fds=(), timeout=60):
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True,
                                     env=env, pass_fds=pass_fds, start_new_session=True)
        self.pids, self.port = [], None
        try:
            for _ in range(ready):
                line = self.proc.stdout.readline().split()
                assert line and line[0] == "ready", f"{cmd}: did not start: {line}"
                self.pids.append(int(line[1]))
                self.port = self.port or int(line[2])
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.proc.stdout.close()


def get(port, path, timeout=60):
    """GET http://127.0.0.1:PORT/PATH: (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    finally:
        conn.close()
