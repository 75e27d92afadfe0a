# SPDX-License-Identifier: MIT
"""Awaits measured at run time: while attached, the tasks' suspension
points are read 100 times a second; each wait of the user's coroutines is
counted at its line ("slowest awaits"), and independent awaits run in turn
are reported as LS120 (and as the user's PERF-037) with their lines and
measured waits, never with a stall. One run of awaits_workload.py per
Python and loop; each test checks one page of it."""
import json
import os
import re
import subprocess

import pytest

from conftest import LOOPSTALL, ROOT, beside, has_module, pythons, script_workload

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "awaits_workload.py")
SHARED = os.path.join(ROOT, "..", "shared", "seed-rules", "perf-async.yaml")
COPY = os.path.join(ROOT, "tests", "unit", "data", "rules", "perf-async.yaml")
SEED = SHARED if os.path.exists(SHARED) else COPY
PYTHONS = pythons()
# asyncio on every Python; uvloop on the host's and the newest
CASES = [(v, root, py, "asyncio") for v, root, py in PYTHONS] + \
        [(v, root, py, "uvloop") for v, root, py in (PYTHONS[0], PYTHONS[-1])]
RUNS = {}


def marks():
    out = {}
    with open(SCRIPT) as f:
        for n, line in enumerate(f, 1):
            m = re.search(r"# ([A-Z]+-\d)", line)
            if m:
                out[m.group(1)] = n
            if line.startswith("async def seed_page"):
                out["SEED-1"] = n + 1       # no marker: PERF-037's pattern
                                            # allows none after the call
    return out


def run(version, root, python, loop):
    """The summary of `attach -f json --rules +SEED` over one workload run
    (cached per case), the workload and loopstall's exit code."""
    key = (version, loop)
    if key in RUNS:
        return RUNS[key]
    if loop == "uvloop" and not has_module(root, python, "uvloop"):
        pytest.skip(f"uvloop not installed for Python {version}")
    w = script_workload("awaits", SCRIPT, root, python, loop)
    ls = beside(w, "attach", "-p", str(w.pid), "-f", "json", "--rules", "+" + SEED,
                "--fail-on", "warning")
    summary = ls.events("summary")
    assert summary, (ls.lines[-5:], ls.stderr)
    RUNS[key] = (summary[0], w, ls)
    return RUNS[key]


def found(summary, function, rule=None):
    return [f for f in summary["sequential_awaits"]
            if f["function"] == function and (rule is None or f["rule"] == rule)]


IDS = [f"{c[0]}-{c[3]}" for c in CASES]


@pytest.mark.parametrize("version,root,python,loop", CASES, ids=IDS)
def test_independent_awaits_in_turn_are_ls120_with_lines_and_waits(version, root, python, loop):
    s, w, ls = run(version, root, python, loop)
    m = marks()
    hits = found(s, "order_page", "LS120")
    assert len(hits) == 1, s["sequential_awaits"]
    f = hits[0]
    assert f["file"] == w.path
    assert f["lines"] == [m["SEQ-1"], m["SEQ-2"], m["SEQ-3"]], f
    assert f["calls"] >= 4, f            # 6 calls; a wait cut by a tick may split one
    assert all(70 <= ms <= 250 for ms in f["waits_ms"]), f
    assert 140 <= f["saves_ms"] <= 400, f
    assert f["severity"] == "warning" and f["category"] == "sequential-await"
    # a latency finding, not a stall's: --fail-on warning counts it
    assert ls.rc == 1, (ls.rc, ls.stderr)
    assert not any(g["rule"] == "LS120" for g in s["findings"]), s["findings"]
    # said while attached too, once its second call shows it
    live = [e for e in ls.events("sequential_await") if e["function"] == "order_page"]
    assert [e["lines"] for e in live] == [f["lines"]], live


@pytest.mark.parametrize("version,root,python,loop", CASES, ids=IDS)
def test_awaits_that_use_an_earlier_result_gathered_or_short_are_not(version, root, python,
                                                                      loop):
    s, w, ls = run(version, root, python, loop)
    for page in ("dependent_page", "gather_page", "taskgroup_page", "short_page"):
        assert not found(s, page), (page, s["sequential_awaits"])


@pytest.mark.parametrize("version,root,python,loop", CASES, ids=IDS)
def test_the_users_perf_037_fires_on_the_same_evidence(version, root, python, loop):
    s, w, ls = run(version, root, python, loop)
    m = marks()
    hits = found(s, "seed_page", "PERF-037")
    assert len(hits) == 1, s["sequential_awaits"]
    assert hits[0]["lines"][0] == m["SEED-1"], hits[0]
    assert "anti-pattern" in hits[0]["evidence"]
    # its pattern does not match order_page (it assigns results)
    assert not found(s, "order_page", "PERF-037")
    assert found(s, "seed_page", "LS120")


@pytest.mark.parametrize("version,root,python,loop", CASES, ids=IDS)
def test_slowest_awaits_count_each_line(version, root, python, loop):
    s, w, ls = run(version, root, python, loop)
    m = marks()
    at = {(a["function"], a["line"]): a for a in s["awaits"] if a["file"] == w.path}
    seq1 = at.get(("order_page", m["SEQ-1"]))
    assert seq1, sorted(at)
    assert 5 <= seq1["count"] <= 7, seq1
    assert 70 <= seq1["p99_ms"] <= 250 and seq1["max_ms"] >= seq1["p99_ms"], seq1
    assert 0.4 * 6 * 100 <= seq1["total_ms"] <= 6 * 250, seq1
    assert ("gather_page", m["GATHER-1"]) in at, sorted(at)   # one wait, counted
    # one await in a loop, the task running 30 ms between two waits: each
    # wait its own (they were one, as long as the loop, when the task was
    # back at the same line before the next read)
    # (merged, 3 waits were one of ~390 ms a call; two, ~230 ms; a read
    # late at the start may cut a call's first wait)
    busy = at.get(("busy_page", m["BUSY-1"]))
    assert busy and 2 * 6 <= busy["count"] <= 3 * 6, busy
    assert busy["max_ms"] <= 200, busy


def test_no_tasks_and_task_hz_0_time_nothing():
    version, root, python = PYTHONS[0][:3]
    for extra in (["--no-tasks"], ["--task-hz", "0"]):
        w = script_workload("awaits", SCRIPT, root, python)
        ls = beside(w, "attach", "-p", str(w.pid), "-f", "json", *extra)
        s = ls.events("summary")[0]
        assert s["awaits"] == [] and s["sequential_awaits"] == [], extra


def test_a_recording_reports_them(tmp_path):
    version, root, python = PYTHONS[0][:3]
    out = tmp_path / "awaits.lsr"
    w = script_workload("awaits", SCRIPT, root, python)
    beside(w, "record", "-p", str(w.pid), "-o", str(out), "-f", "json")
    m = marks()
    rep = subprocess.run([LOOPSTALL, "report", str(out), "-f", "json"], capture_output=True,
                         text=True, timeout=60)
    assert rep.returncode == 0, rep.stderr
    r = json.loads(rep.stdout)
    hits = [f for f in r["sequential_awaits"] if f["function"] == "order_page"]
    assert hits and hits[0]["lines"] == [m["SEQ-1"], m["SEQ-2"], m["SEQ-3"]], hits
    text = subprocess.run([LOOPSTALL, "report", str(out)], capture_output=True, text=True,
                          timeout=60).stdout
    assert "slowest awaits" in text and "LS120 sequential-await" in text, text
    assert f":{m['SEQ-1']}-{m['SEQ-3']} in order_page" in text, text
    assert max(len(l) for l in text.splitlines()) <= 80
    sarif = json.loads(subprocess.run([LOOPSTALL, "report", str(out), "-f", "sarif"],
                                      capture_output=True, text=True, timeout=60).stdout)
    res = [x for x in sarif["runs"][0]["results"] if x["ruleId"] == "LS120" and
           x["locations"][0]["physicalLocation"]["region"]["startLine"] == m["SEQ-1"]]
    assert res and res[0]["locations"][0]["physicalLocation"]["region"]["endLine"] == \
        m["SEQ-3"], sarif["runs"][0]["results"]
    html = subprocess.run([LOOPSTALL, "report", str(out), "-f", "html"], capture_output=True,
                          text=True, timeout=60).stdout
    assert 'id="awaits"' in html
    assert f":{m['SEQ-1']}-{m['SEQ-3']}</code> in <code>order_page</code>" in html
