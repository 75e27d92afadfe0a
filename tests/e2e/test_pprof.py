# SPDX-License-Identifier: MIT
"""`report -f pprof`: the committed recording (tests/golden/stally.lsr) as a
pprof profile, read by `go tool pprof` (Debian golang-go): the total is the
stalled time, the user's lines of the text report (tests/golden/stally.txt)
are there with their findings' time, the rules' and categories' time is the
summary's, labels (-tags), traces leaf first, functions with their files,
lines and first lines (-raw)."""
import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import LOOPSTALL, ROOT

GOLDEN = os.path.join(ROOT, "tests", "golden")
GO = shutil.which("go")
MS = 0.15       # text shows 0.1 ms, pprof 0.01 ms: both rounded

pytestmark = pytest.mark.skipif(
    GO is None, reason="no `go` command: install golang-go (scripts/setup-deps does) "
    "for `go tool pprof`")


def loopstall_report(*args, text=True):
    p = subprocess.run([LOOPSTALL, "report", "stally.lsr", *args], capture_output=True,
                       text=text, env=dict(os.environ, TZ="UTC"), timeout=60, cwd=GOLDEN)
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.fixture(scope="module")
def prof(tmp_path_factory):
    """The profile's path, and an environment for go: its own HOME, no
    network, no toolchain download."""
    d = tmp_path_factory.mktemp("pprof")
    path = d / "stally.pb.gz"
    loopstall_report("-f", "pprof", "-o", str(path))
    env = dict(os.environ, HOME=str(d), GOCACHE=str(d / "gocache"), GOPROXY="off",
               GOTOOLCHAIN="local", GOFLAGS="-mod=mod", PPROF_TMPDIR=str(d))
    return str(path), env


def pprof(prof, *args):
    path, env = prof
    p = subprocess.run([GO, "tool", "pprof", "-unit=ms", *args, path], capture_output=True,
                       text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout


def ms(v, unit):
    return float(v) * {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def top_lines(prof, *args):
    """`-top -lines`: {"function file:line": cum ms}."""
    out = {}
    for line in pprof(prof, "-top", "-lines", "-nodefraction=0", *args).splitlines():
        m = re.match(r"\s*[\d.]+\w*\s+[\d.]+%\s+[\d.]+%\s+([\d.]+)(\w+)\s+[\d.]+%\s+(.+)$",
                     line)
        if m:
            out[m.group(3)] = ms(m.group(1), m.group(2))
    return out


def tags(prof):
    """`-tags`: {key: {value: ms}}."""
    out, key = {}, None
    for line in pprof(prof, "-tags").splitlines():
        m = re.match(r"\s*(\w+): Total", line)
        if m:
            key = m.group(1)
            out[key] = {}
            continue
        m = re.match(r"\s*([\d.]+)(\w+) \(\s*[\d.]+%\): (.*)$", line)
        if m and key:
            out[key][m.group(3)] = ms(m.group(1), m.group(2))
    return out


def text_findings():
    """The findings of the text report: (rule, file, line, function, ms)."""
    with open(os.path.join(GOLDEN, "stally.txt")) as f:
        text = f.read()
    found = re.findall(r"\d+\. (LS\d+) .*\n\s+\d+ stalls?, ([\d.]+) (ms|s) in total.*\n"
                       r"\s+at (\S+):(\d+) in (\S+)", text)
    assert found, "no findings in stally.txt"
    return [(r, f, int(l), fn, ms(v, u)) for r, v, u, f, l, fn in found]


def test_the_total_is_the_stalled_time(prof):
    doc = json.loads(loopstall_report("-f", "json"))
    stalled = sum(s["duration_ms"] for s in doc["stalls"])
    head = pprof(prof, "-top")
    m = re.search(r"Total samples = ([\d.]+)ms", head)
    assert m, head
    assert abs(float(m.group(1)) - stalled) < 0.01, (head, stalled)
    assert "Type: stall" in head           # the default sample type
    assert "loopstall" in head and "stally.lsr" in head    # the comment


def test_stdout_is_the_same_profile(prof):
    out = loopstall_report("-f", "pprof", text=False)
    assert out[:2] == b"\x1f\x8b"
    with open(prof[0], "rb") as f:
        assert out == f.read()


def test_user_lines_with_their_findings_time(prof):
    """Each finding's line, as the text report names it, in the profile
    with its time: focused on the rule its time counts under (its part's
    first finding: LS010 shares LS001's part), the line's time is the
    finding's, plus at most what else of those stalls counts under the rule
    (their other parts, their unsampled time)."""
    t = tags(prof)
    rules = t["rule"]
    findings = text_findings()
    lines = top_lines(prof)
    for rule, file, line, fn, total in findings:
        key = f"{fn} {file}:{line}"
        assert lines.get(key, 0) >= total - MS, (key, lines.get(key), total)
        under = rule if rule in rules else [
            r for r, f, l, _, _ in findings if (f, l) == (file, line) and r in rules][0]
        slack = rules[under] - sum(x[4] for x in findings if x[0] == under)
        cum = top_lines(prof, f"-tagfocus=rule={under}").get(key)
        assert cum is not None, (key, under)
        assert total - MS <= cum <= total + max(slack, 0) + MS, (key, under, cum, total, slack)
    # the lines of the report, by name
    assert {("rate_limit", 43), ("fetch_profile", 47), ("sign", 52), ("reload_config", 64),
            ("main", 128)} <= {(fn, line) for _, _, line, fn, _ in findings}


def test_rule_and_category_time_is_the_summary_s(prof):
    t = tags(prof)
    doc = json.loads(loopstall_report("-f", "json"))
    total = sum(s["duration_ms"] for s in doc["stalls"])
    for c in doc["summary"]["categories"]:
        assert abs(t["category"][c["category"]] - c["ms"]) < 0.1, (c, t["category"])
    assert abs(sum(t["category"].values()) - total) < 0.5
    assert abs(sum(t["rule"].values()) - total) < 0.5
    assert set(t["rule"]) <= {f[0] for f in text_findings()}
    assert t["rule"]["LS020"] == pytest.approx(600.6, abs=MS)   # stally.txt: sleep 600.6 ms


def test_labels(prof):
    t = tags(prof)
    assert {"rule", "category", "process", "pid", "thread", "tid"} <= set(t), t
    assert list(t["pid"]) == ["15037"] and list(t["tid"]) == ["15037"]
    assert list(t["thread"]) == ["python3"]
    assert all(p.startswith("/usr/bin/python3 /work/main/examples/stally.py")
               for p in t["process"]), t["process"]
    assert {"sleep", "http", "lock", "cpu"} == set(t["category"])


def test_traces_leaf_first_with_labels(prof):
    out = pprof(prof, "-traces")
    traces = out.split("-----------+-------------------------------------------------------")
    sleep = [tr for tr in traces if re.search(r"rule:\s+LS020", tr)]
    assert len(sleep) == 1, out
    tr = sleep[0]
    assert re.search(r"category:\s+sleep", tr) and re.search(r"thread:\s+python3", tr)
    m = re.search(r"([\d.]+)ms\s+clock_nanosleep", tr)     # the leaf, first
    assert m and float(m.group(1)) == pytest.approx(600.6, abs=MS), tr
    frames = [l.split()[-1] for l in tr.splitlines() if l.startswith(" " * 13)]
    order = [frames.index(f) for f in ("time_sleep", "rate_limit", "handle", "<module>")]
    assert order == sorted(order), frames


def test_raw_functions_files_lines_and_mappings(prof):
    out = pprof(prof, "-raw")
    assert "PeriodType: stall nanoseconds" in out
    assert re.search(r"M=1 rate_limit /work/main/examples/stally\.py:43 s=\d+", out), out
    assert re.search(r"M=1 <module> /work/main/examples/stally\.py:137 s=1\b", out), out
    assert re.search(r"M=\d+ clock_nanosleep \S*clock_nanosleep\.c:\d+", out), out
    maps = out.split("Mappings")[1]
    assert re.search(r"^1: 0x0/0x0/0x0 \[python\]\s+\[FN\]\[FL\]\[LN\]", maps.strip()), maps
    assert "/usr/lib/x86_64-linux-gnu/libc.so.6" in maps
