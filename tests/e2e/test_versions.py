# SPDX-License-Identifier: MIT
"""Versions and builds loopstall refuses, clearly (exit 4), and targets in
containers (another PID namespace, another root)."""
import os
import shutil
import subprocess

import pytest

from conftest import LOOPSTALL, Loopstall, count_type, markers, pythons, workload_cmd


def refuse(python):
    p = subprocess.Popen([python, "-c", "import time; print('up', flush=True); time.sleep(30)"],
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "up"
        r = subprocess.run([LOOPSTALL, "attach", "-p", str(p.pid)], capture_output=True,
                           text=True, timeout=30)
    finally:
        p.kill()
        p.wait()
    return r


OLD = [p for p in ("/root/.pyenv/versions/3.10.13/bin/python3.10",
                   "/root/.pyenv/versions/3.9.18/bin/python3.9") if os.access(p, os.X_OK)]


@pytest.mark.skipif(not OLD, reason="no CPython older than 3.11 on this machine")
@pytest.mark.parametrize("python", OLD)
def test_python_older_than_3_11_is_refused(python):
    r = refuse(python)
    assert r.returncode == 4, r.stderr
    line, = r.stderr.strip().splitlines()
    assert line.startswith("loopstall: error: ") and "3.11 to 3.15" in line


@pytest.mark.skipif(not shutil.which("unshare"), reason="unshare (util-linux) missing")
def test_a_target_in_its_own_pid_namespace_and_root():
    """Like a container: TIDs inside differ from the host's, files are seen
    through /proc/PID/root."""
    chroots = [(v, r, p) for v, r, p in pythons() if r != "/"]
    if not chroots:
        pytest.skip("no chroot Python (scripts/setup-pythons)")
    version, root, python = chroots[0]
    cmd, path = workload_cmd("sleep", python, root)
    p = subprocess.Popen(["unshare", "--pid", "--fork", "--kill-child", *cmd],
                         stdout=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline().split()
        assert line[0] == "ready" and int(line[1]) < 10, line   # PID inside
        # the host PID of the python process: the child of unshare
        kids = open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()
        host_pid = int(kids[0])
        ls = Loopstall("attach", "-p", str(host_pid), "-f", "json")
        assert ls.wait_for(count_type("loop", 1))
        os.kill(host_pid, 10)   # SIGUSR1
        p.wait(30)
        assert ls.finish() == 0, ls.stderr
    finally:
        p.kill()
    st = ls.events("stall")
    assert len(st) == 3 and all(s["tid"] == host_pid for s in st)
    top = [f for f in st[0]["stacks"][0]["frames"] if f["kind"] == "python"][0]
    assert (top["function"], top["file"], top["line"]) == \
        ("sleep_scenario", path, markers()["sleep"])
    assert top["code"].startswith("time.sleep(0.2)")
