# SPDX-License-Identifier: MIT
"""A stall names its asyncio task: the Task running when the loop stalled,
its name (the code's, or Task-N) and its coroutine chain from the task's
own coroutine inward, in JSON (`task`), text and a recording's report, on
every test Python, with asyncio's loop and uvloop's."""
import json
import os
import re
import subprocess

import pytest

from conftest import (LOOPSTALL, Loopstall, count_type, has_module, pythons,
                      script_workload)

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "stalltask_workload.py")
PYTHONS = pythons()


def lines():
    out = {}
    with open(SCRIPT) as f:
        for n, line in enumerate(f, 1):
            m = re.search(r"# ([A-Z]+-LINE)", line)
            if m:
                out[m.group(1)] = n
    return out


def start(root, python, *args):
    return script_workload("stalltask", SCRIPT, root, python, *args)


def watched(root, python, *args, extra=()):
    """The workload's stalls under `attach -f json`, and the workload."""
    w = start(root, python, *args)
    ls = Loopstall("attach", "-p", str(w.pid), "-f", "json", *extra)
    try:
        assert ls.wait_for(count_type("loop", 1), timeout=40), ls.lines
        w.go()
        w.wait(60)
        ls.finish(30)
    finally:
        ls.kill()
        w.kill()
    return [e for e in ls.events("stall")], w


CASES = [(v, root, py, loop) for v, root, py in PYTHONS for loop in ("asyncio", "uvloop")]


@pytest.mark.parametrize("version,root,python,loop", CASES,
                         ids=[f"{c[0]}-{c[3]}" for c in CASES])
def test_a_stall_in_a_named_task_names_it_and_its_chain(version, root, python, loop):
    if loop == "uvloop" and not has_module(root, python, "uvloop"):
        pytest.skip(f"uvloop not installed for Python {version}")
    stalls, w = watched(root, python, "named", loop)
    at = [s for s in stalls if any(f["call_site"].get("line") == lines()["BLOCK-LINE"]
                                   for f in s["findings"])]
    assert len(at) == 3, [(s["duration_ms"], s["task"]) for s in stalls]
    for s in at:
        assert s["task"] is not None, s
        assert s["task"]["name"] == "flush-cache", s["task"]
        assert isinstance(s["task"]["id"], int) and s["task"]["id"] > 0
        chain = [(f["function"], f["file"]) for f in s["task"]["coro_stack"]]
        assert chain == [("fetch_profile", w.path), ("handle", w.path),
                         ("flush", w.path)], chain
    assert len({s["task"]["id"] for s in at}) == 1


@pytest.mark.parametrize("version,root,python", PYTHONS, ids=[v for v, _, _ in PYTHONS])
def test_a_stall_in_an_aiohttp_handler_names_its_task(version, root, python):
    if not has_module(root, python, "aiohttp"):
        pytest.skip(f"aiohttp not installed for Python {version}")
    stalls, w = watched(root, python, "aiohttp")
    at = [s for s in stalls if any(f["call_site"].get("line") == lines()["HANDLER-LINE"]
                                   for f in s["findings"])]
    assert len(at) == 3, [(s["duration_ms"], s["task"]) for s in stalls]
    for s in at:
        assert s["task"] and re.fullmatch(r"Task-\d+", s["task"]["name"]), \
            [(x["duration_ms"], x["samples"], x["task"]) for x in at]
        funcs = [f["function"] for f in s["task"]["coro_stack"]]
        # the user's handler, in aiohttp's request handling
        assert funcs[0].endswith("slow_handler"), funcs
        assert any("_handle_request" in f or "start" in f for f in funcs[1:]), funcs


def test_no_tasks_names_none_and_text_and_report_say_the_task(tmp_path):
    v, root, python = PYTHONS[0]
    stalls, _ = watched(root, python, "named", extra=["--no-tasks"])
    assert stalls and all(s["task"] is None for s in stalls)
    w = start(root, python, "named")
    out = str(tmp_path / "run.lsr")
    ls = Loopstall("record", "-p", str(w.pid), "-o", out)
    try:
        assert ls.wait_for(lambda l: any("watching event loop" in x for x in l), timeout=40)
        w.go()
        w.wait(60)
        assert ls.finish(60) == 0, ls.stderr
    finally:
        w.kill()
        ls.kill()
    text = subprocess.run([LOOPSTALL, "report", out], capture_output=True,
                          text=True).stdout
    assert re.search(r"^  tasks +flush-cache \(flush\) +3 stalls", text, re.M), text
    doc = json.loads(subprocess.run([LOOPSTALL, "report", out, "-f", "json"],
                                    capture_output=True, text=True).stdout)
    named = [s for s in doc["stalls"] if s["task"] and s["task"]["name"] == "flush-cache"]
    assert len(named) == 3, [s["task"] for s in doc["stalls"]]
