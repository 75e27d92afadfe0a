# SPDX-License-Identifier: MIT
"""Faults around the target (docs/reliability.md): killed in the middle of
a stall, stopped by a signal, a ring buffer too small for a storm of
stalls. Each test writes the outcome it expects. The host's Python: these
are kernel-side and session-side paths, the same on every Python."""
import json
import os
import signal
import subprocess
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


def test_a_ring_buffer_overrun_is_counted_and_nothing_else_goes_wrong():
    """--ringbuf-mb 1 and 2 kHz sampling of a loop that stalls on-CPU all
    the time, 40 frames deep: samples are lost, each stall says how many
    of its own, the summary counts them, and every stall is still
    reported (or counted lost)."""
    code = ("await asyncio.sleep(1.5)\n"      # loopstall attached first
            "def deep(n, end):\n"
            "    if n: return deep(n - 1, end)\n"
            "    while time.perf_counter() < end: pass\n"
            "for _ in range(30):\n"
            "    deep(40, time.perf_counter() + 0.08)\n"
            "    await asyncio.sleep(0.005)")
    w = workload(code)
    rc, out, err = session(w, "--ringbuf-mb", "1", "-F", "2000")
    assert rc == 0, err
    stalls, summary = events(out, "stall"), events(out, "summary")[0]
    lost = summary["lost"]
    deep = [s for s in stalls if s["duration_ms"] >= 60]
    assert 30 <= len(stalls) + lost["stalls"] <= 31, (len(stalls), lost)   # 30, and
    assert len(deep) + lost["stalls"] == 30, (len(deep), lost)             # start-up
    per_stall = sum(s["samples"]["lost"] for s in stalls)
    assert lost["samples"] > 0 and per_stall > 0, (lost, per_stall)
    assert per_stall <= lost["samples"], (per_stall, lost)
