# SPDX-License-Identifier: MIT
"""Bad input: one line `loopstall: error: …`, the documented exit code."""
import os
import shutil
import subprocess

import pytest

from conftest import LOOPSTALL, Workload


def run(*args, prefix=()):
    p = subprocess.run([*prefix, LOOPSTALL, *args], capture_output=True, text=True,
                       timeout=30)
    return p.returncode, p.stdout, p.stderr


def one_error_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("loopstall: error: "), err
    return lines[0]


def free_pid():
    pid = 4000000
    while os.path.exists(f"/proc/{pid}"):
        pid += 1
    return pid


def test_no_such_pid_is_a_target_error():
    rc, out, err = run("attach", "-p", str(free_pid()))
    assert rc == 4
    assert "no process with PID" in one_error_line(err)


def test_a_process_that_is_not_cpython_is_refused():
    p = subprocess.Popen(["sleep", "30"])
    try:
        rc, out, err = run("attach", "-p", str(p.pid))
    finally:
        p.kill()
        p.wait()
    assert rc == 4
    assert "is not a CPython process" in one_error_line(err)


def test_a_kernel_thread_is_refused():
    rc, out, err = run("attach", "-p", "2")   # kthreadd
    assert rc == 4
    assert "not a CPython process" in one_error_line(err)


@pytest.mark.skipif(not shutil.which("setpriv"), reason="setpriv (util-linux) missing")
def test_missing_privileges_are_an_environment_error():
    w = Workload("sleep")
    try:
        drop = ("setpriv", "--bounding-set=-bpf,-perfmon,-sys_admin", "--inh-caps=-all")
        rc, out, err = run("attach", "-p", str(w.pid), prefix=drop)
        line = one_error_line(err)
        assert rc == 3, err
        assert "missing privileges" in line and "CAP_BPF" in line and "CAP_PERFMON" in line
        # the doctor says the same, and exits 3
        rc, out, err = run("doctor", "-p", str(w.pid), prefix=drop)
        assert rc == 3
        assert "MISSING  privileges" in out and "CAP_BPF" in out
    finally:
        w.kill()


def test_missing_btf_is_an_environment_error():
    w = Workload("sleep")
    try:
        rc, out, err = run("attach", "-p", str(w.pid), "--btf", "/nonexistent/vmlinux")
    finally:
        w.kill()
    assert rc == 3
    assert "--btf" in one_error_line(err)


@pytest.mark.parametrize("args,what", [
    (("attach",), "-p PID"),
    (("attach", "-p", "abc"), "--pid"),
    (("attach", "-p", "0"), "--pid"),
    (("attach", "-p", "1", "-t", "fast"), "--threshold"),
    (("attach", "-p", "1", "-t", "0"), "--threshold"),
    (("attach", "-p", "1", "-t", "-5"), "--threshold"),
    (("attach", "-p", "1", "-t", "10parsecs"), "--threshold"),
    (("attach", "-p", "1", "-d", "0"), "--duration"),
    (("attach", "-p", "1", "-F", "0"), "--frequency"),
    (("attach", "-p", "1", "-F", "99999"), "--frequency"),
    (("attach", "-p", "1", "-f", "xml"), "--format"),
    (("attach", "-p", "1", "--ringbuf-mb", "3"), "--ringbuf-mb"),
    (("attach", "-p", "1", "--bogus"), "--bogus"),
    (("attach", "-p", "1", "extra"), "extra"),
    (("frobnicate",), "unknown command"),
    ((), "no command"),
])
def test_bad_command_lines_exit_2(args, what):
    rc, out, err = run(*args)
    assert rc == 2, (args, err)
    assert what in one_error_line(err)


def test_help_and_version_exit_0():
    for args in (("--help",), ("attach", "--help"), ("doctor", "--help"), ("--version",)):
        rc, out, err = run(*args)
        assert rc == 0 and out and not err, args
    rc, out, _ = run("attach", "--help")
    assert "EXAMPLES" in out and "--threshold" in out


def test_doctor_checks_the_machine_and_the_target():
    w = Workload("sleep")
    try:
        rc, out, err = run("doctor", "-p", str(w.pid))
    finally:
        w.kill()
    assert rc == 0, out + err
    for check in ("BTF", "privileges", "BPF", "perf events", "target"):
        assert any(l.split()[:1] == ["ok"] and check in l for l in out.splitlines()), out
    assert "CPython 3." in out and "(an event loop, idle)" in out
    rc, out, err = run("doctor", "-p", str(free_pid()))
    assert rc == 4 and "MISSING  target" in out
