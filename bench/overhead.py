#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Overhead of `loopstall attach` as ratios measured within one run.

Runs a workload, and alternates windows without and with loopstall attached
(ROUNDS times), so machine noise hits both sides alike. Prints the median
throughput of each side and their ratio.

    sudo bench/overhead.py [--rounds 4] [--phase 3] [--only WORKLOAD]
    (LOOPSTALL=path/to/loopstall to measure another build; http: several,
    LOOPSTALL=A,B, each in its own window of every round, in turn;
    http, fastapi: --compare "ARGS" adds a window of the same build with
    ARGS added, e.g. --compare "--status --metrics 19464": the status line
    drawn and /metrics scraped every second while it runs)

Workloads:
  target  the traced process itself: an asyncio echo loop (~1 syscall per
          loop iteration round trip), with stalls sampled at 199 Hz
  stalls  the traced loop stalls all the time (60 ms of pure Python, 30
          frames deep, per iteration): sampled without pause, every sample
          walks its Python frames
  other   an untraced process making getppid() calls: what the system-wide
          syscall tracepoints cost everyone else
  http    a healthy service: an aiohttp hello-world server on CPU 0 under
          `wrk -t1 -c32` on CPU 1, loopstall on CPU 1 too; throughput, p99
          latency, the server's CPU time per request, and loopstall's own
          CPU (share of a core) and the run time of its BPF programs per
          request (kernel.bpf_stats_enabled, on while it runs). --python
          picks the server's interpreter (a `scripts/setup-pythons --list`
          version: 3.11, 3.15 ...).
  fastapi the same, for a FastAPI app (fastapi_app.py) under gunicorn with
          2 UvicornWorker workers (uvloop, httptools) on CPU 0, loopstall
          attached to the master with --subprocesses: both workers watched;
          the server's CPU is the master's and the workers' together
          (bookworm's python3 and gunicorn)
"""
import argparse
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LOOPSTALL = os.environ.get("LOOPSTALL", os.path.join(HERE, "..", "build", "loopstall"))
PY = "/usr/bin/python3"


def measure(workload, traced_pid_of, rounds, phase, ls_args=()):
    proc = subprocess.Popen([PY, os.path.join(HERE, workload), "0.25"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    samples = []                      # (unix time, rate)
    reader = threading.Thread(target=lambda: [samples.append(tuple(map(float, l.split())))
                                              for l in proc.stdout], daemon=True)
    reader.start()
    spans = {"off": [], "on": []}
    sleeper = None
    if traced_pid_of == "other":      # trace some other python loop
        sleeper = subprocess.Popen([PY, "-c", "import asyncio\nasync def m():\n"
                                    " while True: await asyncio.sleep(0.01)\nasyncio.run(m())"])
    target = proc.pid if traced_pid_of == "self" else sleeper.pid
    time.sleep(1.0)                   # warm up
    try:
        for _ in range(rounds):
            t0 = time.time()
            time.sleep(phase)
            spans["off"].append((t0 + 0.3, time.time()))
            ls = subprocess.Popen([LOOPSTALL, "attach", "-p", str(target), "-f", "json",
                                   *ls_args],
                                  stdout=subprocess.DEVNULL)
            time.sleep(0.7)           # load and attach
            t0 = time.time()
            time.sleep(phase)
            spans["on"].append((t0, time.time()))
            ls.send_signal(signal.SIGINT)
            ls.wait()
    finally:
        proc.kill()
        if sleeper:
            sleeper.kill()
    rates = {}
    for side, sp in spans.items():
        rates[side] = [r for (t, r) in samples if any(a <= t <= b for a, b in sp)]
    return {k: statistics.median(v) for k, v in rates.items()}, \
        {k: len(v) for k, v in rates.items()}


def cpu_seconds(pid):
    """CPU time of pid's threads, in seconds: their schedstat run times (ns;
    utime + stime count 10 ms ticks, too coarse for a 1% share of a core
    over a few seconds). A thread that ended is not counted."""
    ns = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                ns += int(f.read().split()[0])
        except OSError:
            pass
    return ns / 1e9


def wrk(port, seconds):
    """(requests/s, p99 ms, requests) of one wrk window."""
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c32", f"-d{int(seconds)}s",
                          "--latency", f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True)
    if "Requests/sec:" not in out.stdout:
        sys.exit(f"wrk failed: {out.stdout} {out.stderr}")
    out = out.stdout
    rate = float(out.split("Requests/sec:")[1].split()[0])
    p99 = out.split(" 99%")[1].split()[0]
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    unit = p99.lstrip("0123456789.")
    reqs = int(out.split(" requests in ")[0].split()[-1])
    return rate, float(p99[:-len(unit)]) * scale[unit], reqs


def server_cmd(version):
    script = os.path.join(HERE, "http_server.py")
    for line in subprocess.run([os.path.join(HERE, "..", "scripts", "setup-pythons"),
                                "--list"], capture_output=True, text=True).stdout.splitlines():
        v, root, py = line.split()
        if v != version:
            continue
        if root == "/":
            return [py, script]
        inside = "/tmp/loopstall-bench-http_server.py"
        with open(script) as f, open(root + inside, "w") as g:
            g.write(f.read())
        return ["chroot", root, py, inside]
    sys.exit(f"no Python {version} (scripts/setup-pythons --list)")


def bpf_run_ns(pid):
    """Run time (ns) of all the BPF programs process pid holds, from
    /proc/PID/fdinfo (kernel.bpf_stats_enabled must be on)."""
    total = 0
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                info = dict(l.split(":", 1) for l in f if ":" in l)
        except OSError:
            continue
        if "run_time_ns" in info and "prog_id" in info:
            total += int(info["run_time_ns"])
    return total


def service_seconds(pid):
    """CPU time of pid and its children (gunicorn's workers)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(k) for k in f.read().split()]
    except OSError:
        kids = []
    return cpu_seconds(pid) + sum(cpu_seconds(k) for k in kids)


def start_http(version):
    """The aiohttp server: (process, port, loopstall's extra options)."""
    srv = subprocess.Popen(["taskset", "-c", "0", *server_cmd(version)],
                           stdout=subprocess.PIPE, text=True)
    return srv, int(srv.stdout.readline().split()[1]), []


def start_fastapi(_version):
    """gunicorn, 2 UvicornWorker workers, listening on a socket made here."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    srv = subprocess.Popen(["taskset", "-c", "0", "gunicorn", "--workers", "2",
                            "--worker-class", "uvicorn.workers.UvicornWorker",
                            "--bind", f"fd://{sock.fileno()}", "--chdir", HERE,
                            "--log-level", "warning", "fastapi_app:app"],
                           pass_fds=[sock.fileno()])
    sock.close()
    for _ in range(100):              # both workers up: every answer comes
        try:
            wrk(port, 1)
            break
        except SystemExit:
            time.sleep(0.2)
    return srv, port, ["--subprocesses"]


def scrape_every_second(args, stop):
    """While stop is not set: GET /metrics of the --metrics port in args."""
    import urllib.request
    port = args[args.index("--metrics") + 1].rsplit(":", 1)[-1]
    while not stop.wait(1.0):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read()
        except OSError:
            pass


def measure_http(rounds, phase, ls_args, version, builds, start=start_http, name="http",
                 compare=None):
    """Median ratios with/without loopstall over alternated wrk windows:
    each round a window without, then one with each build, in turn (a
    build: a binary, or (binary, more args) for --compare)."""
    srv, port, more = start(version)
    ls_args = [*more, *ls_args]
    if compare:
        builds = [*builds, (builds[0], tuple(compare.split()))]
    wrk(port, 1)                      # warm up
    side = {b: [] for b in [None, *builds]}
    bpf = {b: [] for b in builds}     # ns of loopstall's programs per request
    with open("/proc/sys/kernel/bpf_stats_enabled") as f:
        stats_was = f.read().strip()
    with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
        f.write("1")
    try:
        for r in range(rounds):
            # the builds' order turns each round: none always goes first
            order = builds[r % len(builds):] + builds[:r % len(builds)]
            for b in [None, *order]:
                ls = None
                stop = threading.Event()
                if b:
                    exe, extra = b if isinstance(b, tuple) else (b, [])
                    ls = subprocess.Popen(["taskset", "-c", "1", exe, "attach", "-p",
                                           str(srv.pid), "-f", "json", *ls_args, *extra],
                                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                          text=True)
                    if "--metrics" in extra:
                        threading.Thread(target=scrape_every_second, args=(extra, stop),
                                         daemon=True).start()
                    # the session line says it is attached (a build without
                    # one: give it 3 s); then 1 s more, for it to read the
                    # native symbols, a one-off (bench/startup)
                    select.select([ls.stdout], [], [], 3.0)
                    time.sleep(1.0)
                    ls_t0 = cpu_seconds(ls.pid)
                    bpf_t0 = bpf_run_ns(ls.pid)
                t0, c0 = time.monotonic(), service_seconds(srv.pid)
                rate, p99, reqs = wrk(port, phase)
                cpu = service_seconds(srv.pid) - c0
                own = 0.0
                if ls:
                    own = (cpu_seconds(ls.pid) - ls_t0) / \
                        (time.monotonic() - t0)
                    bpf[b].append((bpf_run_ns(ls.pid) - bpf_t0) / reqs)
                    stop.set()
                    ls.send_signal(signal.SIGINT)
                    ls.communicate()
                side[b].append((rate, p99, cpu / reqs, own))
    finally:
        srv.terminate()
        try:
            srv.wait(10)
        except subprocess.TimeoutExpired:
            srv.kill()
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(stats_was)
    med = {k: [statistics.median(x[i] for x in v) for i in range(4)] for k, v in side.items()}
    off = med[None]
    for b in builds:
        on = med[b]
        which = f" {b}" if len(builds) > 1 and not isinstance(b, tuple) else \
            f" + {' '.join(b[1])}" if isinstance(b, tuple) else ""
        print(f"{name} ({version}, {rounds} rounds of {phase:.0f} s){which}: "
              f"throughput {on[0] / off[0]:.3f}x ({off[0]:.0f}/s without), p99 "
              f"{on[1] / off[1]:.3f}x ({off[1]:.2f} ms without), server CPU per request "
              f"{on[2] / off[2]:.3f}x, loopstall {100 * on[3]:.1f}% of a core, its BPF "
              f"programs {statistics.median(bpf[b]) / 1e3:.3f} us per request")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--phase", type=float, default=3.0)
    ap.add_argument("--only", choices=("target", "stalls", "other", "http", "fastapi"))
    ap.add_argument("--python", default="3.11", help="http: the server's Python")
    ap.add_argument("--compare", help="http, fastapi: also windows with these options "
                    "added (--metrics PORT: scraped every second)")
    ap.add_argument("ls_args", nargs="*", help="more loopstall attach options")
    a = ap.parse_args()
    if a.only == "http":
        measure_http(a.rounds, a.phase, a.ls_args, a.python, LOOPSTALL.split(","),
                     compare=a.compare)
        return 0
    if a.only == "fastapi":
        measure_http(a.rounds, a.phase, a.ls_args, "3.11", LOOPSTALL.split(","),
                     start=start_fastapi, name="fastapi, 2 gunicorn workers",
                     compare=a.compare)
        return 0
    print(f"{'workload':<10} {'without':>12} {'with':>12} {'ratio':>7}  windows")
    for name, wl, who in (("target", "echo_loop.py", "self"),
                          ("stalls", "stall_loop.py", "self"),
                          ("other", "syscall_spin.py", "other")):
        if a.only and a.only != name:
            continue
        med, n = measure(wl, who, a.rounds, a.phase, a.ls_args)
        print(f"{name:<10} {med['off']:>12.0f} {med['on']:>12.0f} "
              f"{med['on'] / med['off']:>7.3f}  {n['off']}/{n['on']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
