# SPDX-License-Identifier: MIT
"""An asyncio program whose loop blocks on an fd of each kind loopstall
names (tcp, udp, unix, pipe, file, other), then closes the fd at once and
opens another file under its number: the kind must be the one the fd had
while the loop waited (tests/e2e/test_fdkind.py).

usage: python3 fdkind_workload.py

Same protocol as workload.py: prints "ready PID" once its loop runs, idles
until SIGUSR1, runs every stall in STALLS (each once plainly and once after
many short waits) and exits. The peer that answers after DELAY is a child
process: no GIL hand-offs with the loop thread.

After many short waits in one busy interval the BPF program has no early
off-CPU sample left to send: the long wait's stack is kept and sent only
when the wait ends, that is right before the fd is closed here. A kind
read from /proc/PID/fd by then names the file that took the number.
"""
import asyncio
import ctypes
import os
import signal
import socket
import sys
import tempfile
import threading
import time

DELAY = 0.15
GO = threading.Event()
FILE_MB = 16


class Peer:
    """A child process that answers one request per command byte."""

    def __init__(self):
        self.ctl, child_ctl = socket.socketpair()
        self.unix, child_unix = socket.socketpair()
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.port = self.tcp.getsockname()[1]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp_addr = self.udp.getsockname()
        req_r, self.req_w = os.pipe()
        self.resp_r, resp_w = os.pipe()
        self.efd = os.eventfd(0)
        self.pid = os.fork()
        if self.pid == 0:
            try:
                # gone with the workload, and with no copy of its ends (a
                # later peer inherits those of an earlier one)
                ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
                for fd in (self.ctl, self.unix):
                    fd.close()
                for fd in (self.req_w, self.resp_r):
                    os.close(fd)
                self._serve(child_ctl, child_unix, req_r, resp_w)
            finally:
                os._exit(0)
        for fd in (child_ctl, child_unix):
            fd.close()
        for fd in (req_r, resp_w):
            os.close(fd)
        self.tcp.close()
        self.udp.close()

    def _serve(self, ctl, unix, req_r, resp_w):
        while True:
            cmd = ctl.recv(1)
            if not cmd or cmd == b"q":
                return
            if cmd == b"t":
                conn, _ = self.tcp.accept()
                time.sleep(DELAY)
                conn.sendall(b"T")
                conn.close()
            elif cmd == b"u":
                _, addr = self.udp.recvfrom(16)
                time.sleep(DELAY)
                self.udp.sendto(b"U", addr)
            elif cmd == b"x":
                time.sleep(DELAY)
                unix.sendall(b"X")
            elif cmd == b"p":
                os.read(req_r, 1)
                time.sleep(DELAY)
                os.write(resp_w, b"P")
            elif cmd == b"e":
                time.sleep(DELAY)
                os.eventfd_write(self.efd, 1)

    def ask(self, cmd):
        self.ctl.sendall(cmd)

    def stop(self):
        self.ask(b"q")
        os.waitpid(self.pid, 0)


KEEP = []


def reuse(close, path):
    """Close an fd, and at once open path: it takes the lowest free number,
    the one just closed."""
    close()
    KEEP.append(open(path, "rb"))


# --- the stalls: each blocks about DELAY on one kind of fd ---------------

def on_tcp(ctx):
    sock = socket.create_connection(("127.0.0.1", ctx["peer"].port))
    ctx["peer"].ask(b"t")
    sock.recv(1)                        # recvfrom on tcp
    reuse(sock.close, ctx["file"])


def on_tcp_poll(ctx):
    sock = socket.create_connection(("127.0.0.1", ctx["peer"].port), timeout=5)
    ctx["peer"].ask(b"t")
    sock.recv(1)                        # poll(fd, 1, 5000) on tcp
    reuse(sock.close, ctx["file"])


def on_udp(ctx):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.sendto(b"u", ctx["peer"].udp_addr)
    ctx["peer"].ask(b"u")
    sock.recv(16)                       # recvfrom on udp
    reuse(sock.close, ctx["file"])


def on_unix(ctx):
    peer = ctx["peer"]
    peer.ask(b"x")
    peer.unix.recv(1)                   # recvfrom on unix
    reuse(peer.unix.close, ctx["file"])


def on_pipe(ctx):
    peer = ctx["peer"]
    os.write(peer.req_w, b"p")
    peer.ask(b"p")
    os.read(peer.resp_r, 1)             # read on a pipe
    reuse(lambda: os.close(peer.resp_r), ctx["file"])


def on_eventfd(ctx):
    peer = ctx["peer"]
    peer.ask(b"e")
    os.eventfd_read(peer.efd)           # read on an anon inode: other
    reuse(lambda: os.close(peer.efd), ctx["file"])


def on_file(ctx):
    buf = bytearray(1 << 20)
    f = open(ctx["file"], "rb", buffering=0)
    end = time.monotonic() + DELAY
    while time.monotonic() < end:       # read on a file, on-CPU
        if not f.readinto(buf):
            f.seek(0)
    f.close()
    KEEP.extend(os.pipe())              # the number goes to a pipe


STALLS = [on_tcp, on_tcp_poll, on_udp, on_unix, on_pipe, on_eventfd, on_file]


async def plain(stall, ctx):
    stall(ctx)


async def after_short_waits(stall, ctx):
    for _ in range(40):
        time.sleep(0.0002)
    stall(ctx)


async def runner(ctx, peers):
    while not GO.is_set():
        await asyncio.sleep(0.01)
    # a stall closes its channel of the peer: a peer per round
    for how, peer in zip((plain, after_short_waits), peers):
        ctx["peer"] = peer
        for stall in STALLS:
            await how(stall, ctx)
            await asyncio.sleep(0.3)    # the loop idles: the stall ends
    await asyncio.sleep(0.5)


def main():
    fd, path = tempfile.mkstemp(prefix="loopstall-fdkind-")
    with os.fdopen(fd, "wb") as f:
        f.write(os.urandom(1 << 20) * FILE_MB)
    peers = [Peer(), Peer()]
    # socket.create_connection imports encodings.idna the first time (its
    # regexes compiled on the loop, 50 ms on a loaded machine): an on-CPU
    # part of the first stall that these tests do not look for
    "127.0.0.1".encode("idna")
    try:
        signal.signal(signal.SIGUSR1, lambda *a: GO.set())
        print("ready", os.getpid(), flush=True)
        asyncio.run(runner({"file": path}, peers))
    finally:
        for peer in peers:
            peer.stop()
        os.unlink(path)
        for f in KEEP:
            if isinstance(f, int):
                os.close(f)
            else:
                f.close()


if __name__ == "__main__":
    sys.exit(main())
