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

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOOPSTALL = os.path.join(ROOT, "build", "loopstall")
WORKLOAD = os.path.join(ROOT, "tests", "e2e", "workload.py")
PYTHON = os.environ.get("LOOPSTALL_TEST_PYTHON", "/usr/bin/python3")


class Workload:
    """A workload scenario; `ready PID` on stdout, SIGUSR1 starts it."""

    def __init__(self, scenario, python=PYTHON):
        self.proc = subprocess.Popen([python, WORKLOAD, scenario],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        assert line and line[0] == "ready", f"workload did not start: {line}"
        self.pid = int(line[1])

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


def watch(scenario, *args, loops=1, python=PYTHON, timeout=30):
    """Run scenario under `loopstall attach -f json`; returns the finished
    Loopstall (events, rc, stderr) and the workload's exit code."""
    w = Workload(scenario, python)
    ls = Loopstall("attach", "-p", str(w.pid), "-f", "json", *args)
    try:
        assert ls.wait_for(count_type("loop", loops)), \
            f"loopstall saw no loop: {ls.lines}"
        w.go()
        w.wait(timeout)
        ls.finish(timeout)
    finally:
        w.kill()
        ls.kill()
    ls.workload_pid = w.pid
    return ls


@pytest.fixture(scope="session", autouse=True)
def built():
    assert os.access(LOOPSTALL, os.X_OK), "build/loopstall missing: run make"
    assert os.geteuid() == 0, "the end-to-end tests load BPF programs: run as root"
