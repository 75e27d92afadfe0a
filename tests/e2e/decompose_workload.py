# SPDX-License-Identifier: MIT
"""Stalls with more than one cause, each cause on its own line and timed.

usage: python3 decompose_workload.py SCENARIO

Same protocol as workload.py: prints "ready PID" once its loop runs,
idles until SIGUSR1, runs SCENARIO RUNS times (a pause between), then
prints one line per cause: `cause MARKER MS`, the mean wall time the cause
took (time.perf_counter around its line), and exits. The work each cause
does is calibrated at start-up to last about its scripted time on this
machine. Each timed line carries a "# @name" marker.
"""
import asyncio
import gc
import hashlib
import http.server
import json
import os
import signal
import sys
import threading
import time
import urllib.request

GO = threading.Event()
RUNS = 3
# urllib's first opener builds a default SSL context on 3.12+ (~40 ms of
# CPU, LS110 at the urlopen line): build it here, not in a scripted stall
urllib.request.install_opener(urllib.request.build_opener())
TIMES = {}


def clock():
    return time.perf_counter()


def took(marker, t0):
    TIMES.setdefault(marker, []).append((clock() - t0) * 1000)


def cpu_clock():
    """This thread's CPU time: what calibration measures, so a machine
    busy with other work (CI) does not shrink the work (wall time would
    count the time this thread waited for a CPU as work done)."""
    return time.thread_time()


def calibrate(fn, want_s, n=1):
    """The n that makes fn(n) take about want_s of CPU (grows n tenfold
    until a run takes 20 ms, then scales: fn is linear in n)."""
    while True:
        t0 = cpu_clock()
        fn(n)
        dt = cpu_clock() - t0
        if dt > 0.02:
            return max(1, int(n * want_s / dt))
        n *= 10


# --- sleep 100 ms, then pbkdf2 ~50 ms ------------------------------------

def pbkdf2(n):
    hashlib.pbkdf2_hmac("sha256", b"password", b"salt", n)


async def sleep_hash(k):
    t0 = clock()
    time.sleep(0.1)                                             # @sh_sleep
    took("sh_sleep", t0)
    t0 = clock()
    hashlib.pbkdf2_hmac("sha256", b"password", b"salt", k)      # @sh_hash
    took("sh_hash", t0)


# --- blocking HTTP 150 ms, then json.loads of its body ~60 ms -------------

class Slow(http.server.BaseHTTPRequestHandler):
    body = b"[]"

    def do_GET(self):
        time.sleep(0.15)
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *a):
        pass


def big_doc(n):
    return json.dumps([{"id": i, "name": f"user-{i}", "tags": ["a", "b"], "score": i / 7}
                       for i in range(n)]).encode()


def json_size(want_s):
    """Records in a document json.loads takes about want_s to decode: a
    decode's cost per record varies twofold from one to the next (fresh
    memory, page faults), so the estimate is the median of three decodes,
    rescaled twice at the size it gives."""
    def decode(n):
        doc, times = big_doc(n), []
        for _ in range(3):
            t0 = cpu_clock()
            json.loads(doc)
            times.append(cpu_clock() - t0)
        return sorted(times)[1]

    n = 1000
    while (dt := decode(n)) <= 0.02 and n < 10 ** 8:
        n *= 10
    for _ in range(2):
        n = max(1, int(n * want_s / dt))
        dt = decode(n)
    return n


async def http_json(url):
    t0 = clock()
    body = urllib.request.urlopen(url).read()                   # @hj_http
    took("hj_http", t0)
    t0 = clock()
    json.loads(body)                                            # @hj_json
    took("hj_json", t0)


# --- a thread's lock 120 ms, then a Python loop ~80 ms ---------------------

LOCK = threading.Lock()


def hold_lock(held):
    with LOCK:
        held.set()
        time.sleep(0.14)


def count(n):
    acc = 0
    for i in range(n): acc += i
    return acc


async def lock_loop(n):
    held = threading.Event()
    threading.Thread(target=hold_lock, args=(held,)).start()
    while not held.is_set():
        await asyncio.sleep(0.001)
    t0 = clock()
    LOCK.acquire()                                              # @ll_lock
    took("ll_lock", t0)
    LOCK.release()
    t0 = clock()
    acc = 0
    for i in range(n): acc += i                                 # @ll_loop
    took("ll_loop", t0)


# --- a recursive function called from a handler --------------------------

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def fib_time(n):
    fib(n)


async def recursion(n):
    t0 = clock()
    fib(n)                                                      # @rec_call
    took("rec_call", t0)


# --- a named thread holding the GIL --------------------------------------

def hold_gil(started, data):
    started.append(True)
    sorted(data)                                                # @gil_hold


async def gil(data):
    started = []
    t = threading.Thread(target=hold_gil, args=(started, data),
                         name="gil-hog-with-a-long-name")
    t0 = clock()
    t.start()                                                   # @gil_start
    while not started: pass                                     # @gil_spin
    t.join(0)
    took("gil_hold", t0)
    await asyncio.to_thread(t.join)


def setup(scenario):
    """The scenario's coroutine and argument, calibrated."""
    if scenario == "sleep_hash":
        return sleep_hash, calibrate(pbkdf2, 0.05, 1000)
    if scenario == "http_json":
        Slow.body = big_doc(json_size(0.06))
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        return http_json, f"http://127.0.0.1:{srv.server_address[1]}/"
    if scenario == "lock_loop":
        return lock_loop, calibrate(count, 0.08, 1000)
    if scenario == "recursion":
        n = 15
        while True:
            t0 = cpu_clock()
            fib(n)
            if cpu_clock() - t0 > 0.15:
                return recursion, n
            n += 1
    if scenario == "gil":
        import random
        rnd = random.Random(7)
        n = calibrate(lambda k: sorted([rnd.random() for _ in range(k)]), 0.3, 10000)
        return gil, [rnd.random() for _ in range(n)]
    raise SystemExit(f"unknown scenario {scenario}")


async def main(scenario):
    fn, arg = setup(scenario)
    gc.disable()        # the scripted causes only: no collection among them
    loop = asyncio.get_running_loop()
    go = asyncio.Event()
    loop.add_signal_handler(signal.SIGUSR1, go.set)
    print(f"ready {os.getpid()}", flush=True)
    await go.wait()
    await asyncio.sleep(0.1)
    for _ in range(RUNS):
        await fn(arg)
        await asyncio.sleep(0.2)
    for marker, v in TIMES.items():
        print(f"cause {marker} {sum(v) / len(v):.3f}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
