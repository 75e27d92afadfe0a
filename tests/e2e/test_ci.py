# SPDX-License-Identifier: MIT
"""Beside a load test and in CI (docs/ci.md): the loop lag (every busy
interval in a histogram: summary, JSON, recording, report), budgets
(--max-stall, --max-stalled, --max-p99: exit codes and their lines, on
attach, record and report), the live status line (drawn in a real terminal
under tmux, reports above it, gone at the end), --quiet, and the
Prometheus endpoint (scraped twice under a 20-second wrk load: counters only
grow, buckets add up, promtool accepts it). The host's Python: these are
loopstall's own outputs, the same on every Python."""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

from conftest import LOOPSTALL, Workload, beside, has_module

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "ci_workload.py")
PYTHON = "/usr/bin/python3"
GOLDEN = os.path.join(HERE, "..", "golden", "stally.lsr")
STATUS = re.compile(r"^\d+:\d\d 1 proc 1 loop \d+/s \| \d+ stalls? [\d.e+-]+% "
                    r"p50 [\d.]+m?s p99 [\d.]+m?s worst [\d.]+m?s")


def lag_workload(*args):
    return Workload("lag", cmd=([PYTHON, SCRIPT, "lag", *args], SCRIPT))


def summary(ls):
    out = [json.loads(l) for l in ls.lines if l.startswith('{"type":"summary"')]
    assert out, ls.lines[-5:]
    return out[0]


def check_lag(busy):
    """The lag workload's busy intervals: 200 spins of ~3 ms, 4 of them
    followed by a 120 ms sleep, and the short ones between (asyncio's
    zero-timeout polls end an interval too)."""
    b = busy["buckets"]
    assert busy["intervals"] == sum(x["count"] for x in b) >= 400, busy
    spins = sum(x["count"] for x in b if x["from_ms"] >= 2 and x["to_ms"] and x["to_ms"] <= 96)
    assert 190 <= spins <= 200, busy
    assert sum(x["count"] for x in b if x["from_ms"] >= 96) == 4, busy
    assert 120 <= busy["max_ms"] < 400, busy
    assert busy["p50_ms"] <= busy["p90_ms"] <= busy["p99_ms"] <= busy["max_ms"], busy
    assert busy["busy_ms"] >= 200 * 3 + 4 * 120, busy


def test_loop_lag_live_and_in_the_recording(tmp_path):
    out = str(tmp_path / "lag.lsr")
    w = lag_workload()
    ls = beside(w, "record", "-p", str(w.pid), "-o", out, "-f", "json")
    assert ls.rc == 0, ls.stderr
    s = summary(ls)
    check_lag(s["busy"])
    loop, = s["loops"]
    assert loop["busy"] == s["busy"], "one loop: its lag is all of it"
    rep = subprocess.run([LOOPSTALL, "report", out, "-f", "json"], capture_output=True,
                         text=True, timeout=60)
    assert rep.returncode == 0, rep.stderr
    r = json.loads(rep.stdout)["summary"]
    assert r["busy"] == s["busy"], "the recording keeps what attach counted"
    assert r["loops"][0]["busy"] == s["busy"]
    text = subprocess.run([LOOPSTALL, "report", out], capture_output=True, text=True,
                          timeout=60).stdout
    line, = [l for l in text.splitlines() if l.startswith("  busy ")]
    assert re.match(r"  busy +p50 .* p90 .* p99 .* max .* \(\d+/s\)$", line), line
    assert len(line) <= 80, line


def test_budgets_broken_and_kept(tmp_path):
    out = str(tmp_path / "b.lsr")
    w = lag_workload()
    ls = beside(w, "record", "-p", str(w.pid), "-o", out, "-f", "json", "--max-stall",
                "50ms", "--max-stalled", "90%", "--max-p99", "1s")
    assert ls.rc == 1, ls.stderr
    broken = [l for l in ls.stderr.splitlines() if l.startswith("loopstall: budget: ")]
    assert len(broken) == 1 and re.match(
        r"loopstall: budget: longest stall 1\d\d\.\d ms, limit 50\.0 ms$", broken[0]), \
        ls.stderr
    # the same judged later on the recording, and kept with wider limits
    def report(*args):
        return subprocess.run([LOOPSTALL, "report", out, *args], capture_output=True,
                              text=True, timeout=60)
    r = report("--max-stall", "50ms", "-f", "json")
    assert r.returncode == 1 and "longest stall" in r.stderr, r.stderr
    got = {b["budget"]: b for b in json.loads(r.stdout)["budgets"]}
    assert got["max_stall_ms"]["broken"] and got["max_stall_ms"]["limit"] == 50, got
    r = report("--max-stall", "1s", "--max-stalled", "50", "--max-p99", "500ms")
    assert r.returncode == 0 and "budget" not in r.stderr, r.stderr
    r = report("--max-p99", "1ms")
    assert r.returncode == 1 and "p99 of busy intervals" in r.stderr, r.stderr
    r = report("--max-stalled", "0.01%")
    assert r.returncode == 1 and re.search(r"stalled [\d.]+% of the time, limit 0.01%",
                                           r.stderr), r.stderr
    r = report("--fail-on", "error")      # LS020 is an error
    assert r.returncode == 1, r.stderr
    # CI formats carry the budgets: a JUnit test case each, an annotation
    # for one broken
    r = report("-f", "junit", "--max-stall", "50ms", "--max-p99", "1s")
    assert r.returncode == 1, r.stderr
    cases = re.findall(r'<testcase classname="loopstall.budgets" name="(\w+)"[^>]*>\n<([\w-]+)',
                       r.stdout)
    assert cases == [("max_stall_ms", "failure"), ("max_p99_ms", "system-out")], r.stdout
    r = report("-f", "github", "--max-stall", "50ms")
    assert re.search(r"^::error title=loopstall budget::longest stall 1\d\d\.\d ms, "
                     r"limit 50\.0 ms$", r.stdout, re.M), r.stdout


def test_an_idle_loop_is_judged_on_its_busy_intervals(tmp_path):
    """A recording of a loop that never stalled keeps its busy intervals
    (a LAG record even then): --max-p99 judges it, not refused."""
    out = str(tmp_path / "idle.lsr")
    w = lag_workload()
    ls = beside(w, "record", "-p", str(w.pid), "-o", out, "-f", "json", "-t", "1s")
    assert ls.rc == 0 and summary(ls)["stalls"] == 0, ls.stderr
    r = subprocess.run([LOOPSTALL, "report", out, "--max-p99", "1s"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and "busy " in r.stdout, r.stderr


def test_budget_errors_before_anything_starts(tmp_path):
    for args, what in ((["--max-stall", "0"], "--max-stall"),
                       (["--max-stalled", "150%"], "--max-stalled"),
                       (["--max-p99", "soon"], "--max-p99")):
        out = str(tmp_path / "x.lsr")
        r = subprocess.run([LOOPSTALL, "record", "-o", out, *args, "--", PYTHON, "-c",
                            "open('/tmp/loopstall-budget-ran', 'w')"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 2, r.stderr
        err = r.stderr.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"loopstall: error: bad value") and \
            what in err[0], r.stderr
        assert not os.path.exists(out) and not os.path.exists("/tmp/loopstall-budget-ran")
    # a recording without busy intervals cannot be judged on them
    r = subprocess.run([LOOPSTALL, "report", GOLDEN, "--max-p99", "10ms"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and r.stdout == "", r.stderr
    assert r.stderr.startswith("loopstall: error: --max-p99:") and \
        r.stderr.count("\n") == 1, r.stderr


def test_quiet_prints_only_the_summary():
    w = lag_workload("--now")
    r = subprocess.run([LOOPSTALL, "attach", "-p", str(w.pid), "-q"], capture_output=True,
                       text=True, timeout=60)
    w.kill()
    assert r.returncode == 0, r.stderr
    text = r.stdout
    assert text.startswith("\nloopstall: python3"), text[:200]
    assert "time.sleep" not in text.split("findings, worst first")[0], text
    assert re.search(r"4 stalls >= 50.0 ms in 1 loop", text), text


def tmux(*args):
    return subprocess.run(["tmux", "-L", "loopstall-test", *args], capture_output=True,
                          text=True, timeout=20)


@pytest.mark.skipif(not shutil.which("tmux"), reason="tmux missing (scripts/setup-deps)")
def test_status_line_in_a_terminal(tmp_path):
    """attach in a real terminal: the status line drawn on the last line,
    stall reports printed above it, and gone at the end."""
    script = tmp_path / "run.sh"
    script.write_text(f"{PYTHON} {SCRIPT} lag --now >/dev/null & sleep 0.2\n"
                      f"{LOOPSTALL} attach -p $! ; echo exit=$?; sleep 60\n")
    tmux("kill-server")
    tmux("new-session", "-d", "-s", "t", "-x", "100", "-y", "50", f"bash {script}")
    seen, stalls_above = None, False
    try:
        end = time.monotonic() + 40
        while time.monotonic() < end:
            pane = tmux("capture-pane", "-p", "-t", "t").stdout.rstrip("\n").splitlines()
            lines = [l for l in pane if l.strip()]
            if any(l.startswith("exit=") for l in lines):
                break
            if lines and STATUS.match(lines[-1]):
                seen = lines[-1]
                stalls_above = stalls_above or any(" stall " in l for l in lines[:-1])
            time.sleep(0.1)
        assert seen, f"no status line: {lines}"
        assert stalls_above, f"no stall report above the status line: {lines}"
        assert len(seen) < 100 and "LS020 ci_workload.py:" in seen, seen
        assert lines[-1] == "exit=0", lines[-6:]
        assert not any(STATUS.match(l) for l in lines), "the status line stays at the end"
        assert any(l.startswith("loopstall: python3") and "ended by target exit" in l
                   for l in lines), lines[-12:]
    finally:
        tmux("kill-server")


def test_no_status_line_when_not_a_terminal():
    w = lag_workload()
    ls = beside(w, "attach", "-p", str(w.pid), "-f", "json")
    assert ls.rc == 0 and "\r" not in ls.stderr and "\033[" not in ls.stderr, ls.stderr
    w = lag_workload()
    ls = beside(w, "attach", "-p", str(w.pid), "-f", "json", "--status")
    # (text mode reads a carriage return as a newline)
    assert ls.rc == 0 and "\033[K" in ls.stderr and "1 proc 1 loop" in ls.stderr, \
        ls.stderr[-300:]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_metrics(text):
    """{(name, labels): value} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^(\w+)(\{.*\})? (\S+)$', line)
        assert m, line
        out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def check_histograms(m):
    series = {}
    for (name, labels), v in m.items():
        if name == "loopstall_busy_seconds_bucket":
            base = re.sub(r',le="[^"]*"', "", labels)
            le = re.search(r'le="([^"]*)"', labels).group(1)
            series.setdefault(base, []).append((float("inf") if le == "+Inf" else float(le), v))
    assert series, m
    for base, buckets in series.items():
        counts = [v for _, v in sorted(buckets)]
        assert counts == sorted(counts), f"buckets not cumulative: {buckets}"
        assert counts[-1] == m[("loopstall_busy_seconds_count", base)], base
    return series


@pytest.mark.skipif(not shutil.which("wrk"), reason="wrk missing (scripts/setup-deps)")
@pytest.mark.skipif(not has_module("/", PYTHON, "aiohttp"),
                    reason="aiohttp missing (scripts/setup-deps)")
def test_metrics_scraped_under_load(tmp_path):
    port = free_port()
    w = Workload("serve", cmd=([PYTHON, SCRIPT, "serve"], SCRIPT))
    app_port = int(w.ready[2])
    ls = None
    try:
        ls = subprocess.Popen([LOOPSTALL, "attach", "-p", str(w.pid), "-f", "json",
                               "--metrics", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        url = f"http://127.0.0.1:{port}/metrics"
        first = None
        for _ in range(100):
            try:
                first = urllib.request.urlopen(url, timeout=5).read().decode()
                break
            except OSError:
                time.sleep(0.1)
        assert first is not None, "the metrics endpoint never answered"
        # bound to loopback only; nothing but /metrics
        listen = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True,
                                text=True).stdout
        assert [l.split()[3] for l in listen.splitlines()] == [f"127.0.0.1:{port}"], listen
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
            assert False, "/ answered"
        except urllib.error.HTTPError as e:
            assert e.code == 404
        load = subprocess.Popen(["wrk", "-t1", "-c8", "-d20s",
                                 f"http://127.0.0.1:{app_port}/"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(8)
        a = urllib.request.urlopen(url, timeout=5).read().decode()
        load.wait(40)
        b = urllib.request.urlopen(url, timeout=5).read().decode()
        for text in (a, b):
            p = subprocess.run(["promtool", "check", "metrics"], input=text,
                               capture_output=True, text=True)
            assert p.returncode == 0, p.stdout + p.stderr
        ma, mb = parse_metrics(a), parse_metrics(b)
        for key, v in ma.items():
            if key[0].endswith(("_total", "_bucket", "_count", "_sum")):
                assert mb.get(key, -1) >= v, f"{key} went from {v} to {mb.get(key)}"
        check_histograms(ma)
        series = check_histograms(mb)
        stalls = {k: v for k, v in mb.items() if k[0] == "loopstall_stalls_total"}
        assert any('rule="LS020"' in k[1] and f'pid="{w.pid}"' in k[1] and v >= 5
                   for k, v in stalls.items()), stalls
        base, = series
        assert mb[("loopstall_busy_seconds_count", base)] > 10000, "every request's interval"
        stalled = [v for k, v in mb.items() if k[0] == "loopstall_stalled_seconds_total"]
        assert stalled and stalled[0] >= 0.05 * 5, stalled
    finally:
        w.kill()
        if ls:
            ls.kill()
            ls.wait()


def test_metrics_port_in_use_is_a_usage_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        w = lag_workload()
        try:
            r = subprocess.run([LOOPSTALL, "attach", "-p", str(w.pid), "--metrics",
                                f"127.0.0.1:{port}"], capture_output=True, text=True,
                               timeout=30)
        finally:
            w.kill()
    assert r.returncode == 2 and r.stdout == "", r.stdout
    assert r.stderr.startswith("loopstall: error: cannot serve metrics on") and \
        r.stderr.count("\n") == 1, r.stderr
    r = subprocess.run([LOOPSTALL, "attach", "-p", "1", "--metrics", "localhost:x"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "--metrics" in r.stderr, r.stderr
