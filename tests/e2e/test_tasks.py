# SPDX-License-Identifier: MIT
"""`loopstall tasks -p PID`: every asyncio task of a live process, read from
outside, on every test Python, with asyncio's loop and uvloop's: names,
states, who awaits whom (gather, TaskGroup, a chain of tasks, a cycle of two
tasks awaiting each other), the line each coroutine awaits at; on 3.14+
the same tasks, names and awaiters as `python3.1x -m asyncio ps PID`."""
import json
import os
import re
import signal
import subprocess

import pytest

from conftest import LOOPSTALL, has_module, pythons, script_workload

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "tasks_workload.py")
PYTHONS = pythons()
IDS = [v for v, _, _ in PYTHONS]


def markers():
    """MARK -> line number of the `# MARK` comments of the workload."""
    out = {}
    with open(SCRIPT) as f:
        for n, line in enumerate(f, 1):
            m = re.search(r"# ([A-Z-]+-LINE)", line)
            if m:
                out[m.group(1)] = n
    return out


def start(root, python, loop="asyncio"):
    w = script_workload("tasks", SCRIPT, root, python, loop)
    return w, w.path


def tasks_json(pid):
    r = subprocess.run([LOOPSTALL, "tasks", "-p", str(pid), "-f", "json"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def check_tree(d, path):
    mk = markers()
    tasks = d["tasks"]
    by_name = {t["name"]: t for t in tasks}
    names = set(by_name)
    want = ({f"g-{i}" for i in range(8)} | {f"tg-{i}" for i in range(8)} |
            {f"chain-{i}" for i in range(10)} | {f"sleeper-{i}" for i in range(20)} |
            {"cyc-a", "cyc-b", "tg-parent"})
    assert want <= names, want - names
    assert len(tasks) == 53, sorted(names)
    unnamed = [n for n in names if re.fullmatch(r"Task-\d+", n)]
    assert len(unnamed) == 4, unnamed          # main's and 3 sleepers
    assert all(t["state"] == "pending" for t in tasks)
    # uvloop.run() may wrap main() in a coroutine of its own
    main, = [t for t in tasks if any(f["function"] == "main" for f in t["coro_stack"])]
    assert [f["line"] for f in main["coro_stack"] if f["function"] == "main"] == \
        [mk["MAIN-LINE"]], main
    for i in range(8):
        g = by_name[f"g-{i}"]
        assert g["awaited_by"] == [main["id"]], g
        assert [(f["function"], f["line"]) for f in g["coro_stack"][-2:]] == \
            [("leaf", mk["LEAF-LINE"]), ("gathered", mk["GATHERED-LINE"])], g
        assert g["coro_stack"][-1]["file"] == path
        tg = by_name[f"tg-{i}"]
        assert tg["awaited_by"] == [by_name["tg-parent"]["id"]], tg
        assert tg["coro_stack"][-1]["line"] == mk["GROUP-LINE"], tg
    for i in range(9):
        nxt = by_name[f"chain-{i + 1}"]
        assert nxt["awaited_by"] == [by_name[f"chain-{i}"]["id"]], nxt
        assert by_name[f"chain-{i}"]["coro_stack"][0]["line"] == mk["CHAIN-LINE"]
    a, b = by_name["cyc-a"], by_name["cyc-b"]
    assert a["awaited_by"] == [b["id"]] and b["awaited_by"] == [a["id"]]
    assert a["cycle"] is not None and a["cycle"] == b["cycle"] and d["cycles"] == 1
    assert a["coro_stack"][0]["line"] == mk["CYCLE-LINE"]
    for i in range(20):
        assert by_name[f"sleeper-{i}"]["awaited_by"] == []


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@pytest.mark.parametrize("version,root,python", PYTHONS, ids=IDS)
def test_tasks_tree(version, root, python, loop):
    if loop == "uvloop" and not has_module(root, python, "uvloop"):
        pytest.skip(f"no uvloop for {version}")
    w, path = start(root, python, loop)
    try:
        d = tasks_json(w.pid)
        assert d["schema_version"] == 1 and d["pid"] == w.pid
        assert d["python"].startswith(version)
        check_tree(d, path)
        r = subprocess.run([LOOPSTALL, "tasks", "-p", str(w.pid)], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0].startswith(f"PID {w.pid} ") and "53 tasks" in lines[0]
        assert all(len(l) <= 79 for l in lines), max(lines, key=len)
        assert any("cyc-" in l and "(cycle: awaits back)" in l for l in lines)
    finally:
        w.kill()


@pytest.fixture
def proc_in(request):
    """/proc mounted in a chroot for the interpreter's own tools."""
    mounted = []

    def mount(root):
        if root != "/" and not os.path.ismount(root + "/proc"):
            subprocess.run(["mount", "--bind", "/proc", root + "/proc"], check=True)
            mounted.append(root + "/proc")
    yield mount
    for m in mounted:
        subprocess.run(["umount", m])


def asyncio_ps(root, python, pid):
    """{task id: (name, {awaiter ids})} from `python -m asyncio ps PID`."""
    cmd = [python, "-m", "asyncio", "ps", str(pid)]
    if root != "/":
        cmd = ["chroot", root] + cmd
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout
    tasks = {}
    for line in out.splitlines():
        m = re.match(r"\s*\d+\s+(0x[0-9a-f]+)\s+(\S+)\s.*\s(0x[0-9a-f]+)\s*$", line)
        if not m:
            continue
        tid, name, by = int(m.group(1), 16), m.group(2), int(m.group(3), 16)
        tasks.setdefault(tid, (name, set()))[1].update({by} - {0})
    return tasks


PS_PYTHONS = [p for p in PYTHONS if tuple(map(int, p[0].split("."))) >= (3, 14)]


@pytest.mark.parametrize("version,root,python", PS_PYTHONS, ids=[p[0] for p in PS_PYTHONS])
def test_tasks_match_asyncio_ps(version, root, python, proc_in):
    proc_in(root)
    w, _ = start(root, python)
    try:
        ps = asyncio_ps(root, python, w.pid)
        d = tasks_json(w.pid)
    finally:
        w.kill()
    assert len(ps) == 53, ps
    ours = {t["id"]: (t["name"], set(t["awaited_by"])) for t in d["tasks"]}
    assert ours == ps


def test_tasks_watch_prints_again_until_ctrl_c():
    w, _ = start("/", "/usr/bin/python3")
    try:
        p = subprocess.Popen([LOOPSTALL, "tasks", "-p", str(w.pid), "--watch", "0.2",
                              "-f", "json"], stdout=subprocess.PIPE, text=True)
        snaps = [json.loads(p.stdout.readline()) for _ in range(3)]
        p.send_signal(signal.SIGINT)
        assert p.wait(10) == 0
    finally:
        w.kill()
    assert [len(s["tasks"]) for s in snaps] == [53, 53, 53]


@pytest.mark.parametrize("args,rc,msg", [
    (["-p", "999999999"], 2, "bad value"),
    (["-p", "4194000"], 4, "no process"),
    ([], 2, "needs a process"),
    (["-p", "1", "--watch", "soon"], 2, "--watch"),
    (["-p", "1", "-f", "xml"], 2, "--format"),
])
def test_tasks_errors(args, rc, msg):
    r = subprocess.run([LOOPSTALL, "tasks", *args], capture_output=True, text=True)
    assert r.returncode == rc, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("loopstall: error: ") and msg in lines[0]
