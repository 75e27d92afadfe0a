# SPDX-License-Identifier: MIT
"""Attaching fast, and missing nothing while attaching: the first stall
after loopstall starts is reported (no test sleep between starting
loopstall and the target's first stall), and a loop already blocked when
loopstall attaches is said at once, with its stack and findings, on every
test Python, under asyncio and uvloop."""
import subprocess
import time

import pytest

from conftest import Loopstall, Workload, markers, pythons, workload_cmd


def loops_of(version, root, python):
    """(python, root, scenario suffix) of each event loop kind it has."""
    out = [("", "asyncio")]
    has_uv = subprocess.run(["chroot", root, python, "-c", "import uvloop"] if root != "/"
                            else [python, "-c", "import uvloop"],
                            capture_output=True).returncode == 0
    if has_uv:
        out.append(("+uvloop", "uvloop"))
    return out


CASES = [pytest.param(py, suffix, id=f"{v}-{kind}")
         for v, root, python in pythons() for py in [(v, root, python)]
         for suffix, kind in loops_of(v, root, python)]


def start(py, scenario):
    version, root, python = py
    cmd, path = workload_cmd(scenario, python, root)
    return Workload(scenario, cmd=(cmd, path))


def site_lines(stall):
    return {f.get("line") for s in stall["stacks"] for f in s["frames"]
            if f["kind"] == "python"}


@pytest.mark.parametrize("py,suffix", CASES)
def test_the_first_stall_after_starting_is_reported(py, suffix):
    w = start(py, "first" + suffix)
    ls = Loopstall("attach", "-p", str(w.pid), "-f", "json")
    w.go()      # its first stall comes 300 ms from now: no wait for loopstall
    try:
        w.wait(30)
        assert ls.finish(30) == 0, ls.stderr
    finally:
        w.kill()
        ls.kill()
    # a stall under way when the loops are found (a loaded machine) is
    # said at once (ongoing), then counted when it ends, from then on
    stalls = [s for s in ls.events("stall") if not s["ongoing"]]
    line = markers()["first"]
    assert len(stalls) == 4, [(s["duration_ms"], s["before_attach"]) for s in stalls]
    for s in stalls:
        assert s["duration_ms"] <= 700 and (s["before_attach"] or s["duration_ms"] >= 150), \
            (s["duration_ms"], s["before_attach"])
        assert line in site_lines(s), site_lines(s)
    session, = ls.events("session")
    assert 0 < session["attach_ms"] < 5000


@pytest.mark.parametrize("py,suffix", CASES)
def test_a_loop_blocked_before_attach_is_said_at_once(py, suffix):
    w = start(py, "hang" + suffix)
    w.go()
    time.sleep(0.6)         # the loop is now in its 2.5 s time.sleep
    t0 = time.monotonic()
    ls = Loopstall("attach", "-p", str(w.pid), "-f", "json")
    try:
        assert ls.wait_for(lambda l: any('"before_attach":true' in x for x in l), 10), \
            ls.lines
        said = time.monotonic() - t0
        w.wait(30)
        assert ls.finish(30) == 0, ls.stderr
    finally:
        w.kill()
        ls.kill()
    line = markers()["hang"]
    first, last = ls.events("stall")
    assert first["ongoing"] and first["before_attach"], first
    assert said < 1.5, f"said {said:.2f} s after starting loopstall"
    assert [f["rule"] for f in first["findings"]][:1] == ["LS020"], first["findings"]
    assert line in site_lines(first), site_lines(first)
    assert not last["ongoing"] and last["before_attach"], last
    assert last["duration_ms"] >= 1000, last["duration_ms"]
    assert "LS020" in [f["rule"] for f in last["findings"]]
    summary, = ls.events("summary")
    assert summary["stalls"] == 1
