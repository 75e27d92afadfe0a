# SPDX-License-Identifier: MIT
"""Faults around the target (docs/reliability.md): killed in the middle of
a stall, stopped by a signal, a ring buffer too small for a storm of
stalls. Each test writes the outcome it expects. The host's Python: these
are kernel-side and session-side paths, the same on every Python."""
import json
import os
import signal
import subprocess
import tempfile
import time

from conftest import LOOPSTALL, Workload

PYTHON = "/usr/bin/python3"


def workload(code):
    """A Python program (ready PID, then code in an asyncio loop)."""
    src = ("import asyncio, os, sys, time\n"
           "print('ready', os.getpid(), flush=True)\n"
           "async def main():\n" + "".join(f"    {l}\n" for l in code.splitlines()) +
           "asyncio.run(main())\n")
    return Workload("fault", cmd=([PYTHON, "-c", src], "<string>"))


def session(w, *args, meanwhile=lambda: None):
    """`loopstall attach -f json ARGS` beside w, meanwhile() done to w, until
    it ends: its exit code, stdout, stderr."""
    ls = subprocess.Popen([LOOPSTALL, "attach", "-p", str(w.pid), "-f", "json", *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        meanwhile()
        out, err = ls.communicate(timeout=60)
    finally:
        w.kill()
        ls.kill()
    return ls.returncode, out, err


def signals(pid, *steps):
    """meanwhile: sleep, send a signal, … (seconds and signals in turn)."""
    def run():
        for step in steps:
            if isinstance(step, float):
                time.sleep(step)
            else:
                os.kill(pid, step)
    return run


def events(out, kind):
    return [e for e in map(json.loads, out.splitlines()) if e["type"] == kind]


def test_a_loop_killed_in_a_stall_gets_that_stall_cut_at_exit():
    """SIGKILL 1.5 s into a 5 s time.sleep on the loop: the session ends
    (target exit) with its summary, and the stall it was in is reported,
    ended by the exit, about 1.5 s long, named LS020."""
    w = workload("await asyncio.sleep(1.0)\ntime.sleep(5)")
    rc, out, err = session(w, meanwhile=signals(w.pid, 2.5, signal.SIGKILL))
    assert rc == 0, err
    stall, = events(out, "stall")
    assert stall["ended_by"] == "target exit" and not stall["ongoing"], stall
    assert 1000 <= stall["duration_ms"] <= 3000, stall
    assert [f["rule"] for f in stall["findings"]] == ["LS020"], stall["findings"]
    summary, = events(out, "summary")
    assert summary["ended_by"] == "target exit" and summary["stalls"] == 1, summary


def test_a_stopped_process_is_said_stopped_not_a_code_stall():
    """SIGSTOP for 2 s while the loop idles: one stall of ~2 s, its wait
    'stopped', said live as blocked in it, and named only LS099 (info),
    no code rule and no catch-all."""
    w = workload("for _ in range(500):\n    await asyncio.sleep(0.01)")
    rc, out, err = session(w, meanwhile=signals(w.pid, 1.5, signal.SIGSTOP, 2.0,
                                                signal.SIGCONT))
    assert rc == 0, err
    stall, = events(out, "stall")
    assert 1800 <= stall["duration_ms"] <= 3000, stall
    waits = {x["what"]: x["ms"] for x in stall["waits"]}
    assert waits.get("stopped (SIGSTOP, debugger)", 0) >= 1800, waits
    assert [(f["rule"], f["severity"]) for f in stall["findings"]] == [("LS099", "info")], \
        stall["findings"]
    blocked = events(out, "blocked")
    assert blocked and blocked[0]["in_syscall"] == "stopped (SIGSTOP, debugger)", blocked


def test_loopstall_stopped_and_continued_watches_on():
    """loopstall itself stopped for 1 s and continued (Ctrl-Z then fg, a
    debugger or strace attaching): its session goes on, the stall made
    while it was stopped is read then, and it ends at the target's exit.
    (epoll_wait returns EINTR after a stop: the session used to end there,
    as if interrupted, with no stall.)"""
    w = workload("for _ in range(3):\n    await asyncio.sleep(1.5)\n    time.sleep(0.2)")
    ls = subprocess.Popen([LOOPSTALL, "attach", "-p", str(w.pid), "-f", "json"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        ls.send_signal(signal.SIGSTOP)
        time.sleep(1.0)
        ls.send_signal(signal.SIGCONT)
        out, err = ls.communicate(timeout=60)
    finally:
        w.kill()
        ls.kill()
    assert ls.returncode == 0, err
    stalls = [s for s in events(out, "stall") if s["duration_ms"] >= 150]
    assert len(stalls) == 3, [s["duration_ms"] for s in events(out, "stall")]
    summary, = events(out, "summary")
    assert summary["ended_by"] == "target exit", summary


def test_a_ring_buffer_overrun_is_counted_and_nothing_else_goes_wrong():
    """--ringbuf-mb 1 and 2 kHz sampling of a loop that stalls on-CPU all
    the time, 40 frames deep: samples are lost, each stall says how many
    of its own, the summary counts them, and every stall is still
    reported: samples stop at 7/8 of the ring, the rest is the stalls'.
    --no-tasks: the reader wakes every 50 ms (not at the 100 Hz task
    reads), so the ring fills on a quiet machine too."""
    code = ("await asyncio.sleep(1.5)\n"      # loopstall attached first
            "def deep(n, end):\n"
            "    if n: return deep(n - 1, end)\n"
            "    while time.perf_counter() < end: pass\n"
            "for _ in range(30):\n"
            "    deep(40, time.perf_counter() + 0.08)\n"
            "    await asyncio.sleep(0.005)")
    w = workload(code)
    rc, out, err = session(w, "--ringbuf-mb", "1", "-F", "2000", "--no-tasks")
    assert rc == 0, err
    stalls, summary = events(out, "stall"), events(out, "summary")[0]
    lost = summary["lost"]
    deep = [s for s in stalls if s["duration_ms"] >= 60]
    assert lost["stalls"] == 0, lost
    assert 30 <= len(stalls) <= 31, len(stalls)     # 30, and start-up
    assert len(deep) == 30, [s["duration_ms"] for s in stalls]
    per_stall = sum(s["samples"]["lost"] for s in stalls)
    assert lost["samples"] > 0 and per_stall > 0, (lost, per_stall)
    assert per_stall <= lost["samples"], (per_stall, lost)


def findings_at(stalls):
    """(rule, function) of every stall's findings, in turn."""
    return [[(f["rule"], (f["call_site"]["function"] or "").split(".")[-1])
             for f in s["findings"]] for s in stalls]


def test_a_target_that_execs_python_is_followed_into_its_new_image():
    """A stall, then an exec of a new CPython that stalls: both reported,
    each at its own function; one loop in the summary (the same thread)."""
    after = ("import asyncio, time\n"
             "def after():\n    time.sleep(0.4)\n"
             "async def main():\n    await asyncio.sleep(1.0)\n    after()\n"
             "    await asyncio.sleep(0.3)\n"
             "asyncio.run(main())\n")
    w = workload("def before():\n    time.sleep(0.3)\n"
                 "await asyncio.sleep(1.0)\nbefore()\nawait asyncio.sleep(0.3)\n"
                 f"os.execv(sys.executable, [sys.executable, '-c', {after!r}])")
    rc, out, err = session(w)
    assert rc == 0, err
    stalls = events(out, "stall")
    assert findings_at(stalls) == [[("LS020", "before")], [("LS020", "after")]], stalls
    assert [s["pid"] for s in stalls] == [w.pid, w.pid]
    summary, = events(out, "summary")
    assert summary["ended_by"] == "target exit" and summary["stalls"] == 2, summary
    assert len(summary["loops"]) == 1 and summary["loops"][0]["stalls"] == 2, summary


def test_a_target_that_execs_another_program_is_said_and_watched_to_its_exit():
    """An exec of /bin/sleep: said on stderr once the new image is known to
    run no CPython; the stall before it kept; the session ends at its exit."""
    w = workload("await asyncio.sleep(1.0)\ntime.sleep(0.3)\nawait asyncio.sleep(0.3)\n"
                 "os.execv('/bin/sleep', ['/bin/sleep', '6'])")
    rc, out, err = session(w)
    assert rc == 0, err
    assert f"PID {w.pid} exec'd /bin/sleep 6, no CPython" in err, err
    stall, = events(out, "stall")
    assert findings_at([stall]) == [[("LS020", "main")]], stall
    summary, = events(out, "summary")
    assert summary["ended_by"] == "target exit" and summary["span_ms"] >= 6000, summary


def test_a_forked_child_is_not_watched_without_subprocesses():
    """The target forks a child that stalls in its own loop: only the
    parent's stalls are reported (its own, and its blocking waitpid)."""
    w = workload("def child_work():\n    time.sleep(0.2)\n"
                 "def parent_work():\n    time.sleep(0.15)\n"
                 "await asyncio.sleep(1.0)\n"
                 "pid = os.fork()\n"
                 "if pid == 0:\n"
                 "    async def child():\n"
                 "        for _ in range(3):\n"
                 "            child_work()\n"
                 "            await asyncio.sleep(0.1)\n"
                 "    asyncio.new_event_loop().run_until_complete(child())\n"
                 "    os._exit(0)\n"
                 "for _ in range(2):\n"
                 "    parent_work()\n"
                 "    await asyncio.sleep(0.1)\n"
                 "os.waitpid(pid, 0)")
    rc, out, err = session(w)
    assert rc == 0, err
    stalls = events(out, "stall")
    assert {(s["pid"], s["tid"]) for s in stalls} == {(w.pid, w.pid)}, stalls
    named = [f for s in findings_at(stalls) for f in s]
    assert named.count(("LS020", "parent_work")) == 2, named
    assert not any(fn == "child_work" for _, fn in named), named


def map_entries(ls_pid, name):
    """Entries of loopstall's BPF map called name (found by its fds)."""
    for fd in os.listdir(f"/proc/{ls_pid}/fdinfo"):
        try:
            with open(f"/proc/{ls_pid}/fdinfo/{fd}") as f:
                info = dict(l.split(":", 1) for l in f if ":" in l)
        except OSError:
            continue
        if "map_id" not in info:
            continue
        mid = info["map_id"].strip()
        show = json.loads(subprocess.run(["bpftool", "-j", "map", "show", "id", mid],
                                         capture_output=True, text=True).stdout or "{}")
        if show.get("name") == name:
            dump = subprocess.run(["bpftool", "-j", "map", "dump", "id", mid],
                                  capture_output=True, text=True).stdout
            return len(json.loads(dump or "[]"))
    raise AssertionError(f"no map {name} in PID {ls_pid}")


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def watched(w, measure_at):
    """`loopstall attach -f json` beside w until w ends; measure(ls_pid)
    at each of measure_at (seconds after the start): exit code, stdout,
    stderr, the measures."""
    # stdout to a file: a pipe read only at the end would fill and hold
    # loopstall up (its samples read late, their code objects freed)
    with tempfile.TemporaryFile("w+") as out:
        ls = subprocess.Popen([LOOPSTALL, "attach", "-p", str(w.pid), "-f", "json"],
                              stdout=out, stderr=subprocess.PIPE, text=True)
        seen, t0 = [], time.monotonic()
        try:
            for at in measure_at:
                time.sleep(max(0, at - (time.monotonic() - t0)))
                seen.append({"rss": rss_kb(ls.pid),
                             "tstates": map_entries(ls.pid, "py_tstates"),
                             "threads": map_entries(ls.pid, "threads")})
            _, err = ls.communicate(timeout=90)
        finally:
            w.kill()
            ls.kill()
        out.seek(0)
        return ls.returncode, out.read(), err, seen


def test_thread_churn_beside_the_loop():
    """2,000 short threads a second for 20 s beside a loop that stalls 20
    times: every stall the loop's, at its line; the BPF thread tables and
    loopstall's memory do not grow with the threads that came and went."""
    w = workload("import threading\n"
                 "started = [0]\n"
                 "def churn():\n"
                 "    end = time.monotonic() + 20\n"
                 "    while time.monotonic() < end:\n"
                 "        t0 = time.monotonic()\n"
                 "        ts = [threading.Thread(target=lambda: None) for _ in range(200)]\n"
                 "        for t in ts: t.start()\n"
                 "        for t in ts: t.join()\n"
                 "        started[0] += len(ts)\n"
                 "        time.sleep(max(0, 0.1 - (time.monotonic() - t0)))\n"
                 "def loop_work():\n    time.sleep(0.1)\n"
                 "threading.Thread(target=churn, name='churner').start()\n"
                 "for _ in range(20):\n"
                 "    await asyncio.sleep(0.9)\n"
                 "    loop_work()\n"
                 "print('threads', started[0], flush=True)")
    rc, out, err, seen = watched(w, (5, 18))
    assert rc == 0, err
    started = int(w.proc.stdout.read().split()[-1])
    assert started >= 20000, f"only {started} threads in 20 s: the churn did not happen"
    stalls = events(out, "stall")
    assert {s["tid"] for s in stalls} == {w.pid}, {s["tid"] for s in stalls}
    assert 19 <= len(stalls) <= 20, len(stalls)
    assert all(f == [("LS020", "loop_work")] for f in findings_at(stalls)), findings_at(stalls)
    for m in seen:      # the loop, the churner, a thread or two being born
        assert m["threads"] <= 4 and m["tstates"] <= 16, seen
    assert seen[1]["rss"] <= seen[0]["rss"] * 1.1 + 2048, seen


def test_ten_thousand_new_code_objects_a_second():
    """exec of 10,000 fresh functions a second for 20 s, a stall in a
    fresh one every second: each stall named by its own function and file,
    loopstall's memory bounded (code objects are cached per address, at
    most 65,536 of them). The function is freed microseconds after its
    stall ends (the next exec replaces it): a stall whose samples are read
    after that says no call site, never a wrong one."""
    w = workload("SRC = 'def fresh_{n}(x):\\n    return x + {n}\\n'\n"
                 "STALL = 'def stalls_{n}():\\n    time.sleep(0.08)\\n'\n"
                 "n, end = 0, time.monotonic() + 20\n"
                 "while time.monotonic() < end:\n"
                 "    t0 = time.monotonic()\n"
                 "    for _ in range(1000):\n"
                 "        ns = {}\n"
                 "        exec(SRC.format(n=n), ns)\n"
                 "        ns[f'fresh_{n}'](n)\n"
                 "        n += 1\n"
                 "    if n % 10000 == 0:\n"
                 "        ns = {'time': time}\n"
                 "        exec(compile(STALL.format(n=n), f'gen_{n}.py', 'exec'), ns)\n"
                 "        ns[f'stalls_{n}']()\n"
                 "    await asyncio.sleep(max(0, 0.1 - (time.monotonic() - t0)))\n"
                 "print('made', n, flush=True)")
    rc, out, err, seen = watched(w, (5, 18))
    assert rc == 0, err
    made = int(w.proc.stdout.read().split()[-1])
    assert made >= 100000, f"only {made} code objects in 20 s"
    stalls = [s for s in events(out, "stall") if s["duration_ms"] >= 70]
    assert len(stalls) >= made // 10000 - 1, (len(stalls), made)
    unnamed = 0
    for s in stalls:
        f = next(f for f in s["findings"] if f["rule"] == "LS020")
        if f["call_site"]["function"] is None:
            unnamed += 1    # freed before its sample was read: never misnamed
            continue
        n = int(f["call_site"]["function"].split("_")[1])
        assert f["call_site"] == {**f["call_site"], "function": f"stalls_{n}",
                                  "file": f"gen_{n}.py", "line": 2}, f
    assert unnamed <= len(stalls) // 10, (unnamed, len(stalls))
    assert seen[1]["rss"] <= seen[0]["rss"] * 1.15 + 2048, seen
