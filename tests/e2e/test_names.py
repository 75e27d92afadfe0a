# SPDX-License-Identifier: MIT
"""Threads are named by their Python names (threading.Thread(name=...),
MainThread), read from the target, on every test Python: the loop thread
and the thread holding the GIL, in JSON, in text, and through a recording.

names_workload.py gives both threads OS names of their own
("os-name-loop", "os-name-warmer"), and the warmer's Python name is longer
than an OS name can be: only a name read from the target's threading
module passes.
"""
import json
import os
import subprocess

import pytest

from conftest import LOOPSTALL, Loopstall, Workload, copy_into, pythons, watch

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "names_workload.py")
IN_CHROOT = "/tmp/loopstall-tests/names_workload.py"
NAME = "cache-warmer-with-a-long-name"
PYTHONS = pythons()
IDS = [v for v, _, _ in PYTHONS]
# where loopstall reads the GIL's holder (docs/cpython-layouts.md): every version
GIL_HOLDER = {"3.11", "3.12", "3.13", "3.14", "3.15"}


def workload_cmd(python, root):
    if root == "/":
        return [python, SCRIPT], SCRIPT
    os.makedirs(root + os.path.dirname(IN_CHROOT), exist_ok=True)
    copy_into(SCRIPT, root + IN_CHROOT)
    return ["chroot", root, python, IN_CHROOT], IN_CHROOT


def gil_stalls(stalls):
    return [s for s in stalls if s.get("gil_holder")]


@pytest.mark.parametrize("version,root,python", PYTHONS, ids=IDS)
def test_json_names_the_loop_and_the_gil_holder_by_their_python_names(version, root, python):
    ls = watch("names", python=python, root=root, cmd=workload_cmd(python, root))
    assert ls.rc == 0, ls.stderr
    loop, = ls.events("loop")
    assert loop["tid"] == ls.workload_pid and loop["thread"] == "MainThread", loop
    stalls = ls.events("stall")
    assert stalls, ls.lines
    assert all(s["thread"] == "MainThread" for s in stalls), [s["thread"] for s in stalls]
    assert [l["thread"] for l in ls.events("summary")[0]["loops"]] == ["MainThread"]
    if version not in GIL_HOLDER:
        return
    held = gil_stalls(stalls)
    assert len(held) >= 2, [(s["duration_ms"], s.get("gil_holder")) for s in stalls]
    for s in held:
        h = s["gil_holder"]
        assert h["thread"] == NAME and h["tid"] != ls.workload_pid, h
        assert any(f["function"] == "warm" for f in h["frames"]), h["frames"]
        gil = [f for f in s["findings"] if f["rule"] == "LS090"]
        assert gil and f"held by thread {NAME} (TID {h['tid']})" in gil[0]["evidence"], \
            s["findings"]


@pytest.mark.parametrize("version,root,python", PYTHONS, ids=IDS)
def test_text_names_the_loop_and_the_gil_holder_by_their_python_names(version, root, python):
    w = Workload("names", cmd=workload_cmd(python, root))
    ls = Loopstall("attach", "-p", str(w.pid))
    try:
        assert ls.wait_for(lambda l: any("watching event loop" in x for x in l), timeout=40), \
            ls.lines
        w.go()
        w.wait(60)
        assert ls.finish(60) == 0, ls.stderr
    finally:
        w.kill()
        ls.kill()
    text = "".join(ls.lines)
    assert f"watching event loop in thread MainThread (TID {w.pid}," in text, text
    assert f"MainThread/{w.pid}" in text, text
    # the OS names: the process's may show (the banner), no thread's
    assert "os-name-warmer" not in text and "os-name-loop/" not in text, text
    if version in GIL_HOLDER:
        assert f"GIL held by {NAME}/" in text, text


def test_a_recording_keeps_the_python_names(tmp_path):
    out = str(tmp_path / "names.lsr")
    w = Workload("names", cmd=workload_cmd("/usr/bin/python3", "/"))
    ls = Loopstall("record", "-p", str(w.pid), "-o", out)
    try:
        assert ls.wait_for(lambda l: any("watching event loop" in x for x in l), timeout=40)
        w.go()
        w.wait(60)
        assert ls.finish(60) == 0, ls.stderr
    finally:
        w.kill()
        ls.kill()
    p = subprocess.run([LOOPSTALL, "report", out, "-f", "json"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["stalls"] and all(s["thread"] == "MainThread" for s in doc["stalls"])
    held = gil_stalls(doc["stalls"])
    assert held and all(s["gil_holder"]["thread"] == NAME for s in held), doc["stalls"]


@pytest.mark.parametrize("version,root,python", PYTHONS, ids=IDS)
def test_doctor_lists_threads_by_their_python_names(version, root, python):
    w = Workload("names", cmd=workload_cmd(python, root))
    try:
        p = subprocess.run([LOOPSTALL, "doctor", "-p", str(w.pid)], capture_output=True,
                           text=True, timeout=60)
    finally:
        w.kill()
    assert p.returncode == 0, p.stdout + p.stderr
    threads = [l.split()[1] for l in p.stdout.splitlines() if l.split()[:1] == ["thread"]]
    assert f"MainThread/{w.pid}" in threads, p.stdout
    assert any(t.startswith(NAME + "/") for t in threads), p.stdout
