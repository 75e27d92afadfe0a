# SPDX-License-Identifier: MIT
"""Whole services: several processes in one session (-p A,B), a parent and
the workers it forks after loopstall attached (--subprocesses), a worker
killed and respawned under a new PID, the Python a shell starts
(record --subprocesses -- sh -c ...), children that run no CPython
skipped, and the error when no process is a CPython. Real processes
(procs_workload.py); each stall must name its process: PID and title."""
import json
import os
import re
import signal
import subprocess

import pytest

from conftest import LOOPSTALL, Loopstall, copy_into, markers, pythons

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "procs_workload.py")
IN_CHROOT = "/tmp/loopstall-tests/procs_workload.py"
M = markers(SCRIPT)
STALLS = 3          # procs_workload.STALLS
# the host's Python and one chroot's: the fork scenario on two Pythons
PYTHONS = [p for p in pythons() if p[0] == "3.11"][:1] + \
          [p for p in pythons() if p[1] != "/"][:1]


def cmd_of(scenario, python="/usr/bin/python3", root="/", *extra):
    if root == "/":
        return [python, SCRIPT, scenario, *extra]
    os.makedirs(root + os.path.dirname(IN_CHROOT), exist_ok=True)
    copy_into(SCRIPT, root + IN_CHROOT)
    return ["chroot", root, python, IN_CHROOT, scenario, *extra]


class Parent:
    """A procs_workload.py scenario: `ready PID`, SIGUSR1 starts it."""

    def __init__(self, scenario, python="/usr/bin/python3", root="/"):
        self.proc = subprocess.Popen(cmd_of(scenario, python, root), stdout=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline().split()
        assert line and line[0] == "ready", line
        self.pid = int(line[1])

    def go(self):
        os.kill(self.pid, signal.SIGUSR1)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def attach(parents, *args):
    """`loopstall attach -f json ARGS` on the parents, started once it has
    attached; the finished Loopstall."""
    ls = Loopstall("attach", *args, "-f", "json")
    try:
        assert ls.wait_for(lambda lines: any('"type":"session"' in l for l in lines), 40), \
            (ls.lines, ls.proc.poll())
        for p in parents:
            p.go()
        for p in parents:
            assert p.proc.wait(60) == 0
        ls.finish(60)
    finally:
        for p in parents:
            p.kill()
        ls.kill()
    return ls


def top_user_line(stall):
    for f in stall["stacks"][0]["frames"]:
        if f["kind"] == "python" and f.get("user"):
            return f["line"]
    return None


def at(stalls, marker):
    """The stalls of the blocking call at marker (a loaded machine may add
    one at a process's start: the counts are of these)."""
    return [s for s in stalls if top_user_line(s) == M[marker]]


def by_pid(stalls):
    out = {}
    for s in stalls:
        out.setdefault(s["pid"], []).append(s)
    return out


@pytest.mark.parametrize("version,root,python", PYTHONS, ids=[v for v, _, _ in PYTHONS])
def test_workers_forked_after_attach_are_followed(version, root, python):
    parent = Parent("fork", python, root)
    ls = attach([parent], "-p", str(parent.pid), "--subprocesses")
    assert ls.rc == 0, ls.stderr
    assert ls.stderr == "", ls.stderr
    session, = ls.events("session")
    assert session["subprocesses"] is True
    assert [p["pid"] for p in session["processes"]] == [parent.pid]
    starts = [e for e in ls.events("process") if e["event"] == "start"]
    titles = {e["pid"]: e["process"] for e in starts}
    assert sorted(titles.values()) == ["loopstall-worker-1", "loopstall-worker-2"], starts
    assert all(e["ppid"] == parent.pid and e["python"].startswith(version) for e in starts)
    stalls = by_pid(ls.events("stall"))
    assert set(stalls) == set(titles), (set(stalls), titles)
    for pid, ss in stalls.items():
        assert len(at(ss, "worker_block")) == STALLS, [s["duration_ms"] for s in ss]
        for s in ss:
            assert s["process"] == titles[pid], (s["process"], titles[pid])
            assert s["tid"] == pid
        for s in at(ss, "worker_block"):
            assert any(f["rule"] == "LS020" and f["call_site"]["line"] == M["worker_block"]
                       for f in s["findings"]), s["findings"]
    exits = {e["pid"]: e for e in ls.events("process") if e["event"] == "exit"}
    for pid in titles:
        assert exits[pid]["stalls"] == len(stalls[pid]) and exits[pid]["process"] == titles[pid]
    summary, = ls.events("summary")
    assert summary["ended_by"] == "target exit"
    assert summary["stalls"] == len(ls.events("stall"))
    per = {p["pid"]: p for p in summary["processes"]}
    assert per[parent.pid]["stalls"] == 0
    assert all(per[pid]["stalls"] == len(stalls[pid]) and per[pid]["process"] == titles[pid]
               for pid in titles), per
    assert {l["pid"] for l in summary["loops"]} == set(titles)


def test_workers_in_text_each_stall_names_its_process():
    parent = Parent("fork")
    ls = Loopstall("attach", "-p", str(parent.pid), "--subprocesses")
    try:
        assert ls.wait_for(lambda lines: any("reporting stalls" in l for l in lines), 40)
        parent.go()
        assert parent.proc.wait(60) == 0
        assert ls.finish(60) == 0, ls.stderr
    finally:
        parent.kill()
        ls.kill()
    text = "".join(ls.lines)
    assert all(len(l.rstrip("\n")) < 80 for l in ls.lines), text
    assert "and every process they start (--subprocesses)" in text
    for n in (1, 2):
        title = f"loopstall-worker-{n}"
        watching = [l for l in ls.lines if l.startswith("loopstall: watching PID") and title in l]
        assert len(watching) == 1, text
        pid = int(watching[0].split()[3])
        assert sum(f"in PID {pid} ({title})" in l for l in ls.lines) >= STALLS, text
        assert any(l.startswith(f"loopstall: PID {pid} ({title}) exited") for l in ls.lines)
        assert any(l.startswith(f"  PID {pid}") and title in l and " stalls " in l
                   for l in ls.lines), text
    assert f"loopstall: 3 processes ended by target exit" in text


def test_a_worker_killed_and_respawned_is_followed_under_its_new_pid():
    parent = Parent("respawn")
    ls = attach([parent], "-p", str(parent.pid), "--subprocesses")
    assert ls.rc == 0, ls.stderr
    stalls = by_pid(ls.events("stall"))
    titles = {pid: {s["process"] for s in ss} for pid, ss in stalls.items()}
    first = [pid for pid, t in titles.items() if t == {"loopstall-worker-1"}]
    second = [pid for pid, t in titles.items() if t == {"loopstall-worker-1b"}]
    assert len(first) == 1 and len(second) == 1, titles
    assert first[0] != second[0]
    assert len(stalls[first[0]]) >= 1
    assert len(at(stalls[second[0]], "worker_block")) == STALLS
    exits = {e["pid"]: e for e in ls.events("process") if e["event"] == "exit"}
    assert exits[first[0]]["stalls"] == len(stalls[first[0]])
    assert exits[second[0]]["stalls"] == len(stalls[second[0]])
    assert at(stalls[first[0]], "worker_block")


def test_two_unrelated_processes_in_one_session():
    a, b = Parent("solo"), Parent("solo")
    ls = attach([a, b], "-p", f"{a.pid},{b.pid}")
    assert ls.rc == 0, ls.stderr
    session, = ls.events("session")
    assert session["subprocesses"] is False
    assert sorted(p["pid"] for p in session["processes"]) == sorted([a.pid, b.pid])
    stalls = by_pid(ls.events("stall"))
    assert sorted(stalls) == sorted([a.pid, b.pid])
    for pid, ss in stalls.items():
        assert len(at(ss, "solo_block")) == STALLS
        title = " ".join(cmd_of("solo"))[:63]     # bounded: PROC_TITLE_MAX - 1 bytes
        assert all(s["process"] == title for s in ss), (ss[0]["process"], title)
    summary, = ls.events("summary")
    assert sorted(p["pid"] for p in summary["processes"]) == sorted([a.pid, b.pid])
    assert summary["stalls"] == len(ls.events("stall"))


def test_a_child_running_no_python_is_skipped_silently():
    parent = Parent("shell")           # runs `sleep 0.5`, then stalls itself
    ls = attach([parent], "-p", str(parent.pid), "--subprocesses")
    assert ls.rc == 0, ls.stderr
    assert ls.stderr == "", ls.stderr
    assert {s["pid"] for s in ls.events("stall")} == {parent.pid}
    assert len(at(ls.events("stall"), "solo_block")) == STALLS
    assert [e for e in ls.events("process") if e["pid"] != parent.pid] == []
    summary, = ls.events("summary")
    assert [p["pid"] for p in summary["processes"]] == [parent.pid]


def test_a_skipped_child_is_listed_with_v(tmp_path):
    parent = Parent("shell")
    with open(tmp_path / "err", "w+") as err:       # -v says much: not a pipe
        ls = subprocess.Popen([LOOPSTALL, "attach", "-p", str(parent.pid), "--subprocesses",
                               "-v", "-f", "json"], stdout=subprocess.PIPE, stderr=err,
                              text=True)
        try:
            for line in ls.stdout:              # the session's line: attached
                if '"type":"session"' in line:
                    break
            parent.go()
            assert parent.proc.wait(60) == 0
            ls.communicate(timeout=60)
        finally:
            parent.kill()
            if ls.poll() is None:
                ls.kill()
                ls.wait()
        err.seek(0)
        text = err.read()
    assert ls.returncode == 0, text[-2000:]
    skipped = [l for l in text.splitlines() if "skipped" in l]
    assert len(skipped) == 1 and "(sleep 0.5)" in skipped[0], skipped


def report(path, *args):
    p = subprocess.run([LOOPSTALL, "report", path, *args], capture_output=True, text=True,
                       env=dict(os.environ, TZ="UTC"), timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.mark.parametrize("shell", ["python3 {s} solo --now; true",      # sh forks python
                                   "python3 {s} solo --now"],           # sh may exec it
                         ids=["fork", "exec"])
def test_record_the_python_a_shell_starts_then_report(tmp_path, shell):
    out = str(tmp_path / "sh.lsr")
    cmd = shell.format(s=SCRIPT)
    p = subprocess.run([LOOPSTALL, "record", "-o", out, "--subprocesses", "--", "sh", "-c",
                        cmd], capture_output=True, text=True, timeout=90,
                       env=dict(os.environ, PATH="/usr/bin:/bin"))
    assert p.returncode == 0, p.stderr
    assert "wrote " in p.stdout, p.stdout
    doc = json.loads(report(out, "-f", "json"))
    stalls = doc["stalls"]
    assert len(at(stalls, "solo_block")) == STALLS
    pid, = {s["pid"] for s in stalls}
    title = f"python3 {SCRIPT} solo --now"
    assert all(s["process"] == title for s in stalls), stalls[0]["process"]
    procs = {x["pid"]: x for x in doc["processes"]}
    assert procs[pid]["process"] == title and procs[pid]["python"].startswith("3.")
    assert procs[pid]["end_unix_ns"] > procs[pid]["start_unix_ns"] > 0
    text = report(out)
    assert all(len(l) < 80 for l in text.splitlines()), text
    assert re.search(rf"^  processes PID {pid} +python3 ", text, re.M), text


def run(*args):
    p = subprocess.run([LOOPSTALL, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def one_error_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("loopstall: error: "), err
    return lines[0]


def test_no_cpython_among_the_pids_is_a_target_error():
    a, b = subprocess.Popen(["sleep", "30"]), subprocess.Popen(["sleep", "30"])
    try:
        rc, out, err = run("attach", "-p", f"{a.pid},{b.pid}")
        assert rc == 4 and out == ""
        line = one_error_line(err)
        assert f"no CPython process among PID {a.pid},{b.pid}" in line and "pgrep" in line
        rc, out, err = run("attach", "-p", str(a.pid), "--subprocesses")
        assert rc == 4 and "no CPython process among" in one_error_line(err)
    finally:
        for p in (a, b):
            p.kill()
            p.wait()


def test_a_pid_that_does_not_exist_is_refused_before_anything_starts():
    s = subprocess.Popen(["sleep", "30"])
    pid = 4000000
    while os.path.exists(f"/proc/{pid}"):
        pid += 1
    try:
        rc, out, err = run("attach", "-p", f"{s.pid},{pid}")
    finally:
        s.kill()
        s.wait()
    assert rc == 4 and f"no process with PID {pid}" in one_error_line(err)


@pytest.mark.parametrize("follow", [[], ["--subprocesses"]], ids=["alone", "subprocesses"])
def test_a_command_that_runs_no_cpython_is_a_target_error(tmp_path, follow):
    out = str(tmp_path / "none.lsr")
    rc, stdout, err = run("record", "-o", out, *follow, "--", "sh", "-c", "sleep 0.2; true")
    assert rc == 4
    line = one_error_line(err)
    assert "ran no CPython" in line
    assert ("--subprocesses" in line) == (not follow), line


@pytest.mark.parametrize("arg", ["1,", ",1", "1,,2", "1 2", "0", "4194305", "x"])
def test_a_bad_pid_list_is_a_usage_error(arg):
    rc, out, err = run("attach", "-p", arg)
    assert rc == 2 and "--pid" in one_error_line(err)
