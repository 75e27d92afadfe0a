# SPDX-License-Identifier: MIT
"""The kind of the fd a stalled loop waits on (tcp, udp, unix, pipe, file,
other), named by the BPF program when it takes the sample.

fdkind_workload.py blocks its loop about 150 ms on an fd of each kind, then
closes the fd and opens a file under its number, once plainly and once
after many short waits (the long wait's stack is then sent only when the
wait ends). A rule pack with one rule per kind (`fd: tcp` …) shows the kind
in the findings of each stall: exactly the rule of the fd's kind holds.
"""
import os

import pytest

from conftest import PYTHON, watch

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "fdkind_workload.py")
KINDS = ["tcp", "udp", "unix", "file", "pipe", "other"]

# the workload's stall function: (fd kind, the stack's syscall)
EXPECT = {
    "on_tcp": ("tcp", "recvfrom"),
    "on_tcp_poll": ("tcp", "poll"),
    "on_udp": ("udp", "recvfrom"),
    "on_unix": ("unix", "recvfrom"),
    "on_pipe": ("pipe", "read"),
    "on_eventfd": ("other", "read"),
    "on_file": ("file", "read"),
}
ROUNDS = ["plain", "after_short_waits"]

PACK = "rules:\n" + "".join(
    f"  - id: FD-{k.upper()}\n"
    f"    name: \"a wait on a {k} fd\"\n"
    f"    category: other\n"
    f"    severity: info\n"
    f"    fd: {k}\n" for k in KINDS)


@pytest.fixture(scope="module")
def stalls(tmp_path_factory):
    pack = tmp_path_factory.mktemp("fdkind") / "fdkind.yaml"
    pack.write_text(PACK)
    ls = watch("fdkind", "--rules", str(pack), timeout=60, cmd=([PYTHON, SCRIPT], SCRIPT))
    assert ls.workload_rc == 0 and ls.rc == 0, ls.stderr
    out = {}
    for st in ls.events("stall"):
        names = {f["function"] for s in st["stacks"] for f in s["frames"]
                 if f["kind"] == "python"}
        which = [n for n in EXPECT if n in names]
        how = [n for n in ROUNDS if n in names]
        if len(which) == 1 and len(how) == 1:
            out.setdefault((which[0], how[0]), []).append(st)
    return out


def brief(st):
    return (f"{st['duration_ms']:.0f} ms, stacks "
            f"{[(s['syscall'], s['cpu'], s['ms']) for s in st['stacks'][:4]]}, "
            f"findings {[(f['rule'], f['evidence']) for f in st.get('findings', [])]}")


@pytest.mark.parametrize("how", ROUNDS)
@pytest.mark.parametrize("stall", list(EXPECT))
def test_fd_kind(stalls, stall, how):
    kind, syscall = EXPECT[stall]
    found = stalls.get((stall, how))
    assert found and len(found) == 1, f"{stall} ({how}): stalls {found}"
    st = found[0]
    assert st["duration_ms"] >= 100, brief(st)
    rules = {f["rule"]: f["evidence"] for f in st.get("findings", [])}
    assert set(rules) == {f"FD-{kind.upper()}"}, brief(st)
    # the evidence names the syscall and the kind: "in recvfrom on a tcp socket"
    assert f"in {syscall} on a {kind}" in rules[f"FD-{kind.upper()}"], brief(st)
