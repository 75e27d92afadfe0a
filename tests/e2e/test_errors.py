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


# --- output files (written as root, often into /tmp) -----------------------

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden",
                      "stally.lsr")


def test_an_output_through_a_symlink_is_refused_before_anything_runs(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    link = tmp_path / "out.lsr"
    link.symlink_to(victim)
    ran = tmp_path / "ran"
    rc, _, err = run("record", "-o", str(link), "--", "/usr/bin/python3", "-c",
                     f"open({str(ran)!r}, 'w')")
    assert rc == 2, err
    assert one_error_line(err).startswith(f"loopstall: error: {link} is a symbolic link"), err
    assert victim.read_text() == "keep" and not ran.exists()
    rc, _, err = run("report", GOLDEN, "-o", str(link))
    assert rc == 2 and "is a symbolic link" in one_error_line(err), err
    assert victim.read_text() == "keep"


def test_another_users_file_is_not_emptied_without_force(tmp_path):
    theirs = tmp_path / "theirs.txt"
    theirs.write_text("theirs")
    os.chown(theirs, 65534, 65534)
    rc, _, err = run("report", GOLDEN, "-o", str(theirs))
    assert rc == 2, err
    assert "belongs to another user" in one_error_line(err) and "--force" in err
    assert theirs.read_text() == "theirs"
    rc, _, err = run("report", GOLDEN, "-o", str(theirs), "--force")
    assert rc == 0, err
    assert theirs.read_text().startswith("loopstall report of")


def test_outputs_are_made_0600_and_a_device_is_never_removed(tmp_path):
    out = tmp_path / "r.txt"
    assert run("report", GOLDEN, "-o", str(out))[0] == 0
    assert oct(os.stat(out).st_mode & 0o777) == "0o600"
    # a record that fails (no CPython) removes the file it made, and only
    # that: /dev/null stays
    made = tmp_path / "made.lsr"
    assert run("record", "-o", str(made), "--", "/bin/true")[0] == 4
    assert not made.exists()
    assert run("record", "-o", "/dev/null", "--", "/bin/true")[0] == 4
    st = os.stat("/dev/null")
    assert (st.st_mode & 0o170000) == 0o020000, "/dev/null is still a character device"


def test_stdout_closed_early_ends_quietly_with_0():
    """`| head -1`: no SIGPIPE death (exit 141), no error line."""
    r = subprocess.run(["bash", "-c", f"{LOOPSTALL} report {GOLDEN} | head -1 >/dev/null;"
                        " exit ${PIPESTATUS[0]}"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stderr == "", (r.returncode, r.stderr)
    w = Workload("sleep")
    try:
        r = subprocess.run(["bash", "-c", f"{LOOPSTALL} attach -p {w.pid} -f json | head -1"
                            " >/dev/null; exit ${PIPESTATUS[0]}"], capture_output=True,
                           text=True, timeout=30)
    finally:
        w.kill()
    assert r.returncode == 0 and r.stderr == "", (r.returncode, r.stderr)
