# SPDX-License-Identifier: MIT
"""End-to-end harness: a real workload process, the real loopstall binary,
real BPF programs in this kernel."""
import json
import os
import queue
import signal
import subprocess
import threading
import time

import pytest

# real servers the tests start and stop (session fixtures: postgres,
# redis_server, mariadb, slow_http)
from servers import mariadb, postgres, redis_server, slow_http  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# LOOPSTALL=path: another build (make test SANITIZE=1: build/san/loopstall)
LOOPSTALL = os.environ.get("LOOPSTALL", os.path.join(ROOT, "build", "loopstall"))
GOLDEN = os.path.join(ROOT, "tests", "golden")
WORKLOAD = os.path.join(ROOT, "tests", "e2e", "workload.py")
PYTHON = os.environ.get("LOOPSTALL_TEST_PYTHON", "/usr/bin/python3")


def pythons():
    """The test interpreters: [(version, root, python)], host first; the
    chroots come from scripts/setup-pythons, pyenv's 3.12 when present."""
    out = subprocess.run([os.path.join(ROOT, "scripts", "setup-pythons"), "--list"],
                         capture_output=True, text=True).stdout
    found = [tuple(l.split()) for l in out.splitlines() if len(l.split()) == 3]
    pyenv312 = "/root/.pyenv/versions/3.12.1/bin/python3.12"
    if os.access(pyenv312, os.X_OK) and not any(v == "3.12" for v, _, _ in found):
        found.append(("3.12", "/", pyenv312))
    return sorted(found, key=lambda t: tuple(map(int, t[0].split("."))))


def copy_into(src, dst):
    """Copy src to dst atomically: a loopstall reading dst (the source of
    a running workload, through /proc/PID/root) never sees it half
    written by the next test's copy."""
    tmp = f"{dst}.{os.getpid()}.tmp"
    with open(src, "rb") as f, open(tmp, "wb") as g:
        g.write(f.read())
    os.replace(tmp, dst)


def has_module(root, python, module):
    """Does python, inside root, import module?"""
    cmd = [python, "-c", f"import {module}"]
    if root != "/":
        cmd = ["chroot", root] + cmd
    return subprocess.run(cmd, capture_output=True).returncode == 0


def script_workload(name, script, root, python, *args):
    """A workload script of tests/e2e run by python inside root (copied
    into it under /tmp/loopstall-tests when root is not /)."""
    if root == "/":
        return Workload(name, cmd=([python, script, *args], script))
    inside = "/tmp/loopstall-tests/" + os.path.basename(script)
    os.makedirs(root + os.path.dirname(inside), exist_ok=True)
    copy_into(script, root + inside)
    return Workload(name, cmd=(["chroot", root, python, inside, *args], inside))


def beside(w, *args, wait=120):
    """`loopstall ARGS` (attach or record, -p the workload's PID given in
    args) until its loop is found, then the workload let go and both ended:
    the Loopstall, finished."""
    ls = Loopstall(*args)
    try:
        assert ls.wait_for(count_type("loop", 1), timeout=40), ls.lines
        w.go()
        w.wait(wait)
        ls.finish(30)
    finally:
        ls.kill()
        w.kill()
    return ls


def workload_cmd(scenario, python=PYTHON, root="/"):
    """The command running workload.py under python, inside root."""
    if root == "/":
        return [python, WORKLOAD, scenario], WORKLOAD
    inside = "/tmp/loopstall-tests/workload.py"
    os.makedirs(root + os.path.dirname(inside), exist_ok=True)
    copy_into(WORKLOAD, root + inside)
    return ["chroot", root, python, inside, scenario], inside


class Workload:
    """A workload scenario; `ready PID` on stdout, SIGUSR1 starts it."""

    def __init__(self, scenario, python=PYTHON, root="/", cmd=None, env=None):
        """cmd (and its script's path): another workload script, whose
        argv is cmd[0] ready-made; env: its environment."""
        cmd, self.path = cmd or workload_cmd(scenario, python, root)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
        line = self.proc.stdout.readline().split()
        if not (line and line[0] == "ready"):
            self.kill()
        assert line and line[0] == "ready", f"{scenario}: workload did not start: {line}"
        self.pid = int(line[1])
        self.ready = line           # "ready PID [more]"

    def go(self):
        os.kill(self.pid, signal.SIGUSR1)

    def wait(self, timeout=30):
        return self.proc.wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Loopstall:
    """`loopstall ARGS` with stdout read line by line as it comes."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([LOOPSTALL, *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = []
        self._q = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self._q.put(line)
        self._q.put(None)

    def _drain(self, timeout):
        try:
            line = self._q.get(timeout=timeout)
        except queue.Empty:
            return False
        if line is None:
            self._q.put(None)
            return None
        self.lines.append(line)
        return True

    def wait_for(self, pred, timeout=15):
        """Read until pred(lines) holds; False on timeout or exit."""
        end = time.monotonic() + timeout
        while not pred(self.lines):
            left = end - time.monotonic()
            if left <= 0 or self._drain(min(left, 0.2)) is None:
                return pred(self.lines)
        return True

    def finish(self, timeout=30):
        rc = self.proc.wait(timeout)
        self._reader.join(5)
        while self._drain(0) is True:
            pass
        self.stderr = self.proc.stderr.read()
        self.rc = rc
        return rc

    def events(self, type_=None):
        out = [json.loads(l) for l in self.lines if l.startswith("{")]
        return [e for e in out if type_ is None or e["type"] == type_]

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def count_type(t, n):
    return lambda lines: sum(1 for l in lines if f'"type":"{t}"' in l) >= n


def watch(scenario, *args, loops=1, python=PYTHON, root="/", timeout=30, cmd=None,
          env=None, output=False):
    """Run scenario under `loopstall attach -f json ARGS`: the finished
    Loopstall (events, rc, stderr) with the workload's PID, path and exit
    code (workload_rc). cmd, env: as Workload's. output: also what the
    workload printed after "ready" (workload_out), read to its end: for
    workloads whose children do not outlive them."""
    w = Workload(scenario, python, root, cmd, env)
    ls = Loopstall("attach", "-p", str(w.pid), "-f", "json", *args)
    try:
        assert ls.wait_for(count_type("loop", loops), timeout=40), \
            f"loopstall saw no loop: {ls.lines} {ls.proc.poll()}"
        w.go()
        if output:
            ls.workload_out, _ = w.proc.communicate(timeout=timeout)
            ls.workload_rc = w.proc.returncode
        else:
            ls.workload_rc = w.wait(timeout)
        ls.finish(timeout)
    finally:
        w.kill()
        ls.kill()
    ls.workload_pid = w.pid
    ls.workload_path = w.path
    return ls


def expect_golden(name, out, what):
    """Assert that out is tests/golden/NAME's text (LS_UPDATE_GOLDEN=1
    first rewrites the file with it); what names the command that printed
    it, for the message."""
    path = os.path.join(GOLDEN, name)
    if os.environ.get("LS_UPDATE_GOLDEN"):
        with open(path, "w") as f:
            f.write(out)
    with open(path) as f:
        assert out == f.read(), f"{what} differs from {path}"


def markers(path=None):
    """Line numbers of the "# @name" markers in path (workload.py)."""
    out = {}
    with open(path or WORKLOAD) as f:
        for i, line in enumerate(f, 1):
            if "# @" in line:
                out[line.rsplit("# @", 1)[1].strip()] = i
    return out


@pytest.fixture(scope="session", autouse=True)
def built():
    assert os.access(LOOPSTALL, os.X_OK), "build/loopstall missing: run make"
    assert os.geteuid() == 0, "the end-to-end tests load BPF programs: run as root"


def run_text(command, scenario, *args):
    """Run scenario under text-mode `loopstall COMMAND -p PID ARGS` (attach
    or record) until it exits; the finished Loopstall."""
    w = Workload(scenario)
    ls = Loopstall(command, "-p", str(w.pid), *args)
    try:
        assert ls.wait_for(lambda l: any("watching event loop" in x for x in l))
        w.go()
        w.wait()
        assert ls.finish() == 0, ls.stderr
    finally:
        w.kill()
        ls.kill()
    return ls


def attach_text(scenario, *args):
    """Run scenario under text-mode `loopstall attach`; its output."""
    ls = run_text("attach", scenario, *args)
    return "".join(ls.lines), ls.lines
