# SPDX-License-Identifier: MIT
"""record and report: round trips on real workloads, a recorder killed with
SIGKILL, `record -- CMD`, and golden reports of a committed recording."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import GOLDEN, LOOPSTALL, Loopstall, Workload, expect_golden, markers, run_text

ENV = dict(os.environ, TZ="UTC")


def report(path, *args, cwd=None):
    p = subprocess.run([LOOPSTALL, "report", path, *args], capture_output=True,
                       text=True, env=ENV, timeout=60, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def record_workload(tmp_path, scenario, *args):
    out = str(tmp_path / "run.lsr")
    return out, run_text("record", scenario, "-o", out, *args)


def test_round_trip_keeps_stalls_stacks_and_findings(tmp_path):
    out, ls = record_workload(tmp_path, "stacks")
    assert any("wrote 5 stalls" in l for l in ls.lines), ls.lines
    rc, text, err = report(out, "-f", "json")
    assert rc == 0, err
    doc = json.loads(text)
    assert doc["schema_version"] == 1
    st = doc["stalls"]
    assert len(st) == 5
    m = markers()
    top = [[f for f in s["stacks"][0]["frames"] if f["kind"] == "python"][0] for s in st]
    assert [(f["function"], f["line"]) for f in top] == [
        ("helper3", m["helper3"]), ("Repository.load", m["method"]),
        ("stacks_scenario.<locals>.<lambda>", m["lambda"]),
        ("stacks_scenario.<locals>.nested", m["nested"]), ("recurse", m["deep"])]
    assert top[0]["code"].startswith("time.sleep(0.15)")
    # rules applied at report time: time.sleep found, at the exact line
    for s, f in zip(st, top):
        sleep = [x for x in s["findings"] if x["category"] == "sleep"]
        assert sleep and sleep[0]["call_site"]["line"] == f["line"], s["findings"]
    assert doc["summary"]["stalls"] == 5


def test_a_recorder_killed_with_sigkill_leaves_a_readable_file(tmp_path):
    out = str(tmp_path / "killed.lsr")
    w = Workload("hang")
    ls = Loopstall("record", "-p", str(w.pid), "-o", out, "-t", "20ms")
    try:
        assert ls.wait_for(lambda l: any("watching event loop" in x for x in l))
        w.go()
        time.sleep(0.3)
        ls.proc.send_signal(signal.SIGKILL)
        ls.proc.wait()
    finally:
        w.kill()
        ls.kill()
    rc, text, err = report(out)
    assert rc == 0, err
    # no stall had ended: an empty, unfinished recording, said as such
    assert "ended by" not in text.splitlines()[2], text
    rc, text, err = report(out, "-f", "json")
    assert rc == 0 and json.loads(text)["stalls"] == []


def test_sigkill_after_stalls_keeps_every_completed_stall(tmp_path):
    out = str(tmp_path / "killed2.lsr")
    w = Workload("short")
    ls = Loopstall("record", "-p", str(w.pid), "-o", out, "-t", "10ms")
    try:
        assert ls.wait_for(lambda l: any("watching event loop" in x for x in l))
        w.go()
        w.wait()
        time.sleep(0.3)
        ls.proc.send_signal(signal.SIGKILL)
        ls.proc.wait()
    finally:
        w.kill()
        ls.kill()
    rc, text, err = report(out, "-f", "json")
    assert rc == 0, err
    doc = json.loads(text)
    assert len(doc["stalls"]) == 5, [s["duration_ms"] for s in doc["stalls"]]


def test_record_a_command_from_its_first_loop_iteration(tmp_path):
    out = str(tmp_path / "cmd.lsr")
    p = subprocess.run([LOOPSTALL, "record", "-o", out, "--", "/usr/bin/python3", "-c",
                        "import asyncio, time\n"
                        "async def main():\n"
                        "    time.sleep(0.12)\n"
                        "asyncio.run(main())\n"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    rc, text, err = report(out, "-f", "json")
    stalls = json.loads(text)["stalls"]
    assert f"wrote {len(stalls)} stall" in p.stdout, p.stdout
    # the sleep; on a loaded machine asyncio's first imports on the loop
    # may take 50 ms too: a stall of their own, an import's, or the
    # collection their allocations set off (63 ms "gc" seen sanitized)
    sleep = [s for s in stalls if any(f["category"] == "sleep" for f in s["findings"])]
    assert len(sleep) == 1 and 115 <= sleep[0]["duration_ms"] < 200, stalls
    assert all(s in sleep or {f["category"] for f in s["findings"]} <= {"import", "gc"}
               for s in stalls), [(s["duration_ms"], s["findings"]) for s in stalls]


@pytest.mark.parametrize("fmt,name", [("text", "stally.txt"), ("collapsed", "stally.collapsed"),
                                      ("sarif", "stally.sarif")])
def test_golden_reports_of_a_committed_recording(fmt, name):
    # by a relative name: the report names the file it read
    rc, out, err = report("stally.lsr", "-f", fmt, cwd=GOLDEN)
    assert rc == 0, err
    expect_golden(name, out, f"report -f {fmt}")
    if fmt == "text":
        assert all(len(l) < 80 for l in out.splitlines())
