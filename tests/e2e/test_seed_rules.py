# SPDX-License-Identifier: MIT
"""The user's own rule file (shared/seed-rules/perf-async.yaml) loads and
works: its source patterns fire on the code that actually stalled."""
import os
import subprocess

import pytest

from conftest import LOOPSTALL, ROOT, Loopstall, count_type

APP = os.path.join(ROOT, "tests", "e2e", "seed_app")
SHARED = os.path.join(ROOT, "..", "shared", "seed-rules", "perf-async.yaml")
COPY = os.path.join(ROOT, "tests", "unit", "data", "rules", "perf-async.yaml")
SEED = SHARED if os.path.exists(SHARED) else COPY


def marker(name):
    for path in os.listdir(APP):
        with open(os.path.join(APP, path)) as f:
            for i, line in enumerate(f, 1):
                if f"# @{name}" in line:
                    return os.path.join(APP, path), i
    raise KeyError(name)


def findings(stall):
    return {f["rule"]: f for f in stall["findings"]}


@pytest.fixture(scope="module")
def run():
    w = subprocess.Popen(["/usr/bin/python3", os.path.join(APP, "seed_workload.py")],
                         stdout=subprocess.PIPE, text=True)
    pid = int(w.stdout.readline().split()[1])
    ls = Loopstall("attach", "-p", str(pid), "-f", "json", "--rules", "+" + SEED)
    try:
        assert ls.wait_for(count_type("loop", 1))
        os.kill(pid, 10)
        w.wait(30)
        assert ls.finish() == 0, ls.stderr
    finally:
        w.kill()
        ls.kill()
    return ls.events("stall")


def test_seed_file_checks_with_only_the_backslash_warnings():
    p = subprocess.run([LOOPSTALL, "rules", "check", SEED], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    lines = p.stdout.strip().splitlines()
    assert lines[-1] == "10 rules, 0 errors, 4 warnings", lines
    assert all(": warning: '\\\\" in l for l in lines[:-1]), lines


def test_blocking_get_without_timeout_in_a_client_module(run):
    s = run[0]
    f = findings(s)
    file, line = marker("seed_get")
    for rule in ("PERF-039", "PERF-040"):
        assert rule in f, list(f)
        assert f[rule]["call_site"]["file"] == file
        assert f[rule]["call_site"]["line"] == line
        assert f[rule]["call_site"]["function"] == "fetch_data"
    assert f["PERF-040"]["severity"] == "error"
    # the default pack sees the same stall at run time
    assert any(r.startswith("LS") for r in f), list(f)


def test_the_same_call_with_a_timeout_and_a_session_gets_neither(run):
    s = run[1]
    f = findings(s)
    file, line = marker("seed_get_timeout")
    assert s["stacks"][0]["frames"] and "PERF-039" not in f and "PERF-040" not in f, f


def test_sequential_awaits_are_not_a_stalls_cause(run):
    """PERF-037 names awaits in turn: judged on the tasks' waits
    (test_awaits.py), never attached to a stall, as such code never
    blocks a loop; the stall in the same coroutine is its time.sleep."""
    s = run[2]
    f = findings(s)
    file, line = marker("seed_sequential")
    assert "PERF-037" not in f, list(f)
    assert any(x["category"] == "sleep" and x["call_site"]["line"] == line
               for x in s["findings"]), s["findings"]