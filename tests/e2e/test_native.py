# SPDX-License-Identifier: MIT
"""Native stacks (symbolizer/native.c) of live Python processes, through
build/tests/native_probe: DWARF CFI unwinding from the registers and stack
of a thread blocked in a syscall, then symbolization. The target is never
stopped."""
import os
import struct
import subprocess
import time
from collections import namedtuple

import pytest

from conftest import PYTHON, ROOT

PROBE = os.path.join(ROOT, "build", "tests", "native_probe")
NR_READ, NR_RECVFROM, NR_FUTEX, NR_CLOCK_NANOSLEEP = 0, 45, 202, 230  # x86-64

Frame = namedtuple("Frame", "pc function module source")


def elf_info(path):
    """(build-id hex or None, has .symtab) of an ELF64 little-endian file."""
    with open(path, "rb") as f:
        data = f.read()
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    secs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
            for i in range(shnum)]
    strtab = secs[shstrndx]
    bid, symtab = None, False
    for name, typ, _, _, off, size, *_ in secs:
        end = data.index(b"\0", strtab[4] + name)
        sname = data[strtab[4] + name:end].decode()
        symtab |= sname == ".symtab"
        if sname == ".note.gnu.build-id":
            namesz, descsz, _ = struct.unpack_from("<III", data, off)
            start = off + 12 + (namesz + 3) // 4 * 4
            bid = data[start:start + descsz].hex()
    return bid, symtab


def has_symbols(path):
    """Static functions can be named: a .symtab, or debug info installed."""
    bid, symtab = elf_info(os.path.realpath(path))
    return symtab or bool(bid) and os.path.exists(
        f"/usr/lib/debug/.build-id/{bid[:2]}/{bid[2:]}.debug")


def blocked(code, nr, thread=False, timeout=10):
    """Starts PYTHON running code; returns (proc, pid, tid) once the thread
    (the main one, or the one whose native id code prints) is blocked in
    syscall nr."""
    proc = subprocess.Popen([PYTHON, "-c", code], stdout=subprocess.PIPE,
                            text=True)
    tid = int(proc.stdout.readline()) if thread else proc.pid
    path = f"/proc/{proc.pid}/task/{tid}/syscall"
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with open(path) as f:
            if f.read().split()[0] == str(nr):
                return proc, proc.pid, tid
        time.sleep(0.02)
    proc.kill()
    pytest.fail(f"thread {tid} not blocked in syscall {nr}")


def parse(out):
    frames = []
    for line in out.splitlines():
        if line == "ready":
            continue
        pc, function, rest = line.split(" ", 2)
        module, source = rest.rsplit(" ", 1)
        frames.append(Frame(int(pc, 16), function, module, source))
    return frames


def probe(pid, tid, *opts):
    r = subprocess.run([PROBE, *opts, str(pid), str(tid)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    frames = parse(r.stdout)
    assert frames, r.stderr
    return frames, r.stderr


def run(code, nr, thread=False, *opts):
    proc, pid, tid = blocked(code, nr, thread)
    try:
        return probe(pid, tid, *opts)
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module", autouse=True)
def probe_built():
    assert os.access(PROBE, os.X_OK), \
        "build/tests/native_probe missing: make build/tests/native_probe"


def names(frames):
    return [f.function for f in frames]


def python_module(frames):
    exe = os.path.realpath(PYTHON)
    return [f for f in frames if os.path.realpath(f.module) == exe]


def test_time_sleep_unwinds_from_libc_through_eval_to_start():
    frames, _ = run("import time; time.sleep(60)", NR_CLOCK_NANOSLEEP)
    fn = names(frames)
    assert "clock_nanosleep" in fn[0], frames
    assert "libc.so" in frames[0].module, frames
    # exported functions of the interpreter are named even when stripped
    assert "_PyEval_EvalFrameDefault" in fn, frames
    assert "Py_BytesMain" in fn, frames
    # the walk ends where CFI says the stack ends
    assert fn[-1] == "_start", frames
    assert len(python_module(frames)) >= 8, frames
    if has_symbols(PYTHON):
        assert "time_sleep" in fn or "pysleep" in fn, frames
        ev = [f for f in frames if f.function == "_PyEval_EvalFrameDefault"][0]
        assert ev.source.split(":")[0].endswith("ceval.c"), ev


def test_socket_recv_in_a_coroutine():
    code = ("import asyncio, socket\n"
            "a, b = socket.socketpair()\n"
            "async def main():\n"
            "    a.recv(10)\n"
            "asyncio.run(main())\n")
    frames, _ = run(code, NR_RECVFROM)
    fn = names(frames)
    assert fn[0] in ("recv", "__recv", "__libc_recv", "recvfrom"), frames
    assert "libc.so" in frames[0].module, frames
    assert fn.count("_PyEval_EvalFrameDefault") >= 2, frames
    assert fn[-1] == "_start", frames
    if has_symbols(PYTHON):
        assert "sock_recv" in fn, frames
        assert "sock_call_ex" in fn or "sock_call" in fn, frames
        assert "context_run" in fn, frames


def test_worker_thread_ends_in_clone():
    code = ("import threading, time\n"
            "t = threading.Thread(target=time.sleep, args=(60,))\n"
            "t.start()\n"
            "print(t.native_id, flush=True)\n"
            "t.join()\n")
    frames, _ = run(code, NR_CLOCK_NANOSLEEP, True)
    fn = names(frames)
    assert "clock_nanosleep" in fn[0], frames
    assert frames[-1].module == frames[0].module, frames    # libc's clone
    if has_symbols(frames[0].module):
        assert "start_thread" in fn and "clone" in fn[-1], frames
    if has_symbols(PYTHON):
        assert "thread_run" in fn, frames


def test_repeated_unwinds_agree():
    # the probe checks that 300 unwinds of the same sample find as many
    # frames as the first, and times them
    _, err = run("import time; time.sleep(60)", NR_CLOCK_NANOSLEEP, False,
                 "-n", "300")
    assert "300 unwinds" in err, err


def test_module_mapped_after_start_is_found():
    # the probe reports the modules while the target waits on stdin; the
    # target then imports _queue (lib-dynload) and blocks inside it: the
    # unwinder meets an address in no module, refreshes and goes on
    code = ("import sys\n"
            "sys.stdin.readline()\n"
            "import _queue\n"
            "_queue.SimpleQueue().get()\n")
    target = subprocess.Popen([PYTHON, "-c", code], stdin=subprocess.PIPE,
                              text=True)
    try:
        blocked_path = f"/proc/{target.pid}/syscall"
        end = time.monotonic() + 10
        while open(blocked_path).read().split()[0] != str(NR_READ):
            assert time.monotonic() < end, "target not reading stdin"
            time.sleep(0.02)
        pr = subprocess.Popen([PROBE, "-w", str(NR_FUTEX), str(target.pid),
                               str(target.pid)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        assert pr.stdout.readline() == "ready\n"
        target.stdin.write("go\n")
        target.stdin.flush()
        out, err = pr.communicate(timeout=60)
        assert pr.returncode == 0, err
    finally:
        target.kill()
        target.wait()
    frames = parse(out)
    mods = [f.module for f in frames]
    assert any("/_queue." in m for m in mods), frames
    assert frames[-1].function == "_start", frames
