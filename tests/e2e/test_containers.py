# SPDX-License-Identifier: MIT
"""Containers, with real namespaces: the target runs in a new PID namespace
and a new mount namespace whose root is the trixie chroot, pivoted into as a
container runtime does (the host's paths are gone; its files are reachable
only through /proc/PID/root). loopstall attaches from the host, or from
inside the target's PID namespace with the host's files (the Kubernetes
pattern: `kubectl debug --target APP`, an ephemeral container sharing the
app's PID namespace, not its files)."""
import json
import os
import queue
import shlex
import shutil
import subprocess
import threading
import time

import pytest

from conftest import LOOPSTALL, ROOT, WORKLOAD, Loopstall, count_type, copy_into, pythons

APP_DIR = "/opt/loopstall-ns-app"       # a path only the container has
REAL_DIR = "/tmp/loopstall-ns-real"     # the container's and, a decoy, the host's
APP = os.path.join(ROOT, "tests", "e2e", "containers_app.py")
DECOY = "# HOST FILE: the container's symlink led loopstall out of its root\n"

# In a new mount namespace (private): the root bound on itself, pivoted
# into, the old root detached, the namespace's own /proc; then argv.
PIVOT = ('mount --bind "$0" "$0" && cd "$0" && pivot_root . mnt && cd / && '
         'mount -t proc proc /proc && umount -l /mnt && exec "$@"')


def chroot_313():
    for version, root, python in pythons():
        if version == "3.13" and root != "/":
            return root, python
    return None, None


ROOT313, PY313 = chroot_313()


def _missing():
    if os.geteuid():
        return "needs root (namespaces)"
    for tool in ("unshare", "pivot_root"):
        if not shutil.which(tool):
            return f"{tool} not installed (util-linux)"
    if not ROOT313:
        return "no 3.13 chroot: run scripts/setup-pythons"
    for tool in ("/usr/bin/mount", "/usr/bin/umount", "/usr/sbin/pivot_root"):
        if not os.access(ROOT313 + tool, os.X_OK):
            return f"the chroot lacks {tool}"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=_missing() or "")


def container(argv, pidns=True):
    """argv in a container rooted at the 3.13 chroot: its own mount
    namespace, and its own PID namespace unless pidns is False."""
    pid = ["--pid", "--fork"] if pidns else []
    return ["unshare", *pid, "--mount", "--propagation", "private",
            "sh", "-c", PIVOT, ROOT313, *argv]


@pytest.fixture
def app_files():
    """workload.py at REAL_DIR in the container, reached by the app as
    APP_DIR/app.py, an absolute symlink; the host's REAL_DIR holds a decoy
    that loopstall must never show."""
    os.makedirs(ROOT313 + APP_DIR, exist_ok=True)
    os.makedirs(ROOT313 + REAL_DIR, exist_ok=True)
    os.makedirs(REAL_DIR, exist_ok=True)
    copy_into(WORKLOAD, ROOT313 + REAL_DIR + "/workload.py")
    copy_into(APP, ROOT313 + APP_DIR + "/containers_app.py")
    with open(REAL_DIR + "/workload.py", "w") as f:
        f.write(DECOY * 400)
    link = ROOT313 + APP_DIR + "/app.py"
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(REAL_DIR + "/workload.py", link)
    assert not os.path.exists(APP_DIR), f"{APP_DIR} exists on the host"
    yield APP_DIR + "/app.py"
    shutil.rmtree(REAL_DIR, ignore_errors=True)


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


def nspid(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("NSpid:"):
                return [int(x) for x in line.split()[1:]]
    return []


def line_of(text, path=WORKLOAD):
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if text in line:
                return i, line.strip()
    raise AssertionError(f"{text!r} not in {path}")


class Piped(Loopstall):
    """Any command whose stdout carries loopstall's JSON lines (and the
    app's "ready N"), read as Loopstall reads its own."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = []
        self._q = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()


def check_stalls(ls, host_pid, app_path):
    """Both loops' stalls: at the blocking line of workload.py as the
    container names it, its code from the container's file, in the thread
    that stalled (its name and TID as loopstall's PID namespace numbers
    it, host_pid's own task)."""
    line, code = line_of("time.sleep(seconds)")
    stalls = ls.events("stall")
    by_thread = {s["thread"]: s for s in stalls}
    assert set(by_thread) >= {"loop-a", "loop-b"}, [s["thread"] for s in stalls]
    for name, ms in (("loop-a", 150), ("loop-b", 250)):
        s = by_thread[name]
        assert s["pid"] == host_pid
        assert s["tid"] != host_pid
        assert ms * 0.9 <= s["duration_ms"] < ms * 2, s["duration_ms"]
        sites = [f["call_site"] for f in s["findings"] if f["rule"] == "LS020"]
        assert sites, s["findings"]
        assert sites[0]["file"] == app_path
        assert sites[0]["line"] == line
        assert sites[0]["code"] == code
    assert "HOST FILE" not in "".join(ls.lines)
    return by_thread


def test_attach_from_the_host(app_files):
    """The target in its own PID and mount namespaces, loopstall on the
    host: the PIDs and TIDs reported are the host's (as /proc and py-spy
    show them); threads named, stalls at the line, the container's files
    (read inside its root, its symlink resolved there)."""
    app = subprocess.Popen(container([PY313, app_files, "twoloops"]),
                           stdout=subprocess.PIPE, text=True)
    ls = None
    try:
        ready = app.stdout.readline().split()
        assert ready and ready[0] == "ready", ready
        kids = children(app.pid)
        assert len(kids) == 1, kids
        host_pid = kids[0]
        assert nspid(host_pid) == [host_pid, int(ready[1])]
        ls = Loopstall("attach", "-p", str(host_pid), "-f", "json")
        assert ls.wait_for(count_type("loop", 2), timeout=40), ls.lines
        tasks = {int(t) for t in os.listdir(f"/proc/{host_pid}/task")}
        loops = {e["thread"]: e for e in ls.events("loop")}
        assert set(loops) == {"loop-a", "loop-b"}, loops
        assert {e["tid"] for e in loops.values()} <= tasks
        os.kill(host_pid, 10)   # SIGUSR1
        app.wait(30)
        assert ls.finish(30) == 0, ls.stderr
    finally:
        app.kill()
        if ls:
            ls.kill()
    session = ls.events("session")[0]
    assert session["pid"] == host_pid
    stalls = check_stalls(ls, host_pid, app_files)
    assert {s["tid"] for s in stalls.values()} <= tasks


def test_kubectl_debug_pattern(app_files, tmp_path):
    """loopstall inside the target's PID namespace with its own files (the
    host's), the app in another mount namespace: `kubectl debug --target`.
    The PIDs reported are the namespace's, as loopstall's /proc and its user
    see them; BPF numbers tasks the same way."""
    out = tmp_path / "app.out"
    inner = shlex.join(container([PY313, app_files, "twoloops"], pidns=False))
    script = (f'{inner} > {out} & '
              f'while ! grep -q ready {out}; do sleep 0.05; done; '
              f'exec {LOOPSTALL} attach -f json -p $!')
    pod = Piped(["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", script])
    try:
        assert pod.wait_for(count_type("loop", 2), timeout=40), (pod.lines, pod.proc.poll())
        ns_pid = int(out.read_text().split()[1])
        (pid1,) = children(pod.proc.pid)             # loopstall, PID 1
        (host_pid,) = children(pid1)                 # the app
        assert nspid(pid1)[1:] == [1]
        assert nspid(host_pid) == [host_pid, ns_pid]
        assert {e["thread"] for e in pod.events("loop")} == {"loop-a", "loop-b"}
        os.kill(host_pid, 10)
        assert pod.finish(40) == 0, pod.stderr
    finally:
        pod.kill()
    assert pod.events("session")[0]["pid"] == ns_pid
    stalls = check_stalls(pod, ns_pid, app_files)
    assert all(s["tid"] < 100 for s in stalls.values()), stalls   # the pod's TIDs


def test_record_a_containerised_command(app_files, tmp_path):
    """`record --subprocesses -- unshare … python3 app.py`: the container's
    python, a child of unshare, is followed and recorded."""
    out = tmp_path / "c.lsr"
    app = APP_DIR + "/containers_app.py"
    rec = subprocess.run([LOOPSTALL, "record", "-o", str(out), "--subprocesses", "--",
                          *container([PY313, app])], capture_output=True, text=True,
                         timeout=60)
    assert rec.returncode == 0, rec.stderr
    rep = subprocess.run([LOOPSTALL, "report", str(out), "-f", "json"],
                         capture_output=True, text=True, timeout=30)
    assert rep.returncode == 0, rep.stderr
    stalls = json.loads(rep.stdout)["stalls"]
    line, code = line_of("# @auto", APP)
    sites = [f["call_site"] for s in stalls for f in s["findings"] if f["rule"] == "LS020"]
    assert len(sites) >= 3, stalls
    assert all((c["file"], c["line"], c["code"]) == (app, line, code) for c in sites), sites
