# SPDX-License-Identifier: MIT
"""Several processes for the end-to-end tests of whole services: a parent
(no event loop, like a gunicorn master) and the workers it forks, each
running an asyncio loop that blocks at a marked line.

usage: python3 procs_workload.py SCENARIO [--now]

Prints "ready PID", waits for SIGUSR1 (loopstall attached; --now: does not
wait, for `loopstall record -- CMD`), then:
  fork     forks 2 workers ("loopstall-worker-1", "-2"), each stalling
           STALLS times at @worker_block, then exits when both have.
  respawn  forks worker 1, kills it (SIGKILL) once it has stalled, forks
           its replacement ("loopstall-worker-1b"), which stalls and
           exits; then exits.
  solo     no fork: its own loop stalls STALLS times at @solo_block.
  shell    runs /bin/sleep 0.5 (a child that runs no CPython), then its
           own loop stalls at @solo_block (for --subprocesses).

A worker names itself with setproctitle (python3-setproctitle) when it is
installed, else as it does, by hand (the chroot Pythons): either way
/proc/PID/cmdline is the title.
"""
import asyncio
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time

STALLS = 3
GO = threading.Event()

try:
    from setproctitle import setproctitle
except ImportError:
    setproctitle = None

def set_title(title):
    """setproctitle's, else the same done by hand: the title written over
    the process's argument strings, NUL padded (/proc/PID/cmdline reads it
    back). The chroot Pythons have no /proc: the argument vector is found
    as setproctitle finds it, just before the environment's on the stack."""
    if setproctitle:
        setproctitle(title)
        return
    libc = ctypes.CDLL(None)
    envp = ctypes.c_void_p.in_dll(libc, "environ").value
    argc = len(sys.orig_argv)
    argv = (ctypes.c_char_p * (argc + 1)).from_address(envp - (argc + 1) * 8)
    assert argv[argc] is None and [a.decode() for a in argv[:argc]] == sys.orig_argv, \
        "the argument vector is not where it was"
    start = ctypes.cast(argv, ctypes.POINTER(ctypes.c_void_p))[0]
    end = ctypes.cast(argv, ctypes.POINTER(ctypes.c_void_p))[argc - 1] + len(argv[argc - 1]) + 1
    data = title.encode()[:end - start - 1]
    ctypes.memset(start, 0, end - start)
    ctypes.memmove(start, data, len(data))


async def worker_loop(stalls, tell=None):
    await asyncio.sleep(0.05)
    for i in range(stalls):
        time.sleep(0.2)          # the worker's blocking call  # @worker_block
        await asyncio.sleep(0.05)
        if tell is not None and i == 0:
            os.write(tell, b"s")     # its first stall ended: the parent may kill it
    await asyncio.sleep(0.05)


def worker(title, stalls, tell=None):
    """In a forked child: named, its own loop, then gone."""
    set_title(title)
    asyncio.run(worker_loop(stalls, tell))
    os._exit(0)


def fork_worker(title, stalls, tell=None):
    pid = os.fork()
    if pid == 0:
        worker(title, stalls, tell)
    return pid


def fork_scenario():
    pids = [fork_worker(f"loopstall-worker-{i}", STALLS) for i in (1, 2)]
    for pid in pids:
        os.waitpid(pid, 0)


def respawn_scenario():
    r, w = os.pipe()
    first = fork_worker("loopstall-worker-1", 1000, tell=w)
    os.read(r, 1)                # it stalled once
    os.kill(first, signal.SIGKILL)
    os.waitpid(first, 0)
    second = fork_worker("loopstall-worker-1b", STALLS)
    os.waitpid(second, 0)


async def solo_loop():
    await asyncio.sleep(0.05)
    for _ in range(STALLS):
        time.sleep(0.2)          # the process's own blocking call  # @solo_block
        await asyncio.sleep(0.05)


def main():
    scenario = sys.argv[1]
    signal.signal(signal.SIGUSR1, lambda *a: GO.set())
    print("ready", os.getpid(), flush=True)
    while "--now" not in sys.argv and not GO.wait(0.05):
        pass
    time.sleep(0.05)
    if scenario == "fork":
        fork_scenario()
    elif scenario == "respawn":
        respawn_scenario()
    elif scenario == "solo":
        asyncio.run(solo_loop())
    elif scenario == "shell":
        subprocess.run(["sleep", "0.5"], check=True)
        asyncio.run(solo_loop())
    else:
        sys.exit(f"unknown scenario {scenario}")


if __name__ == "__main__":
    main()
