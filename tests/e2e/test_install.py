# SPDX-License-Identifier: MIT
"""Installed like a system tool: `make install` puts the binary, the man
page, bash completion and the docs where they belong and `make uninstall`
takes them away; `make deb` makes a package that installs, with the
libraries it needs from Debian, into a fresh bookworm, where it runs.

make is run with `-o build/loopstall`: the binary as built, never rebuilt
by a test while other tests run it. The bookworm tree is made once per
machine with debootstrap (as scripts/setup-pythons makes its chroots),
cached in ${LOOPSTALL_PYTHONS:-/var/cache/loopstall/pythons}/bookworm-base,
and copied for each run: every run installs into a fresh tree."""
import fcntl
import glob
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import LOOPSTALL, ROOT

CACHE = os.environ.get("LOOPSTALL_PYTHONS", "/var/cache/loopstall/pythons")
MIRROR = os.environ.get("LOOPSTALL_MIRROR", "http://deb.debian.org/debian")
BASE = os.path.join(CACHE, "bookworm-base")
BASE_MARKER = ".loopstall-base"          # written last: the tree is complete
COMMANDS = ["attach", "record", "report", "tasks", "doctor", "rules list"]
REPORT_FORMATS = {"text", "json", "collapsed", "speedscope", "html", "sarif", "junit",
                  "github", "pprof"}


def version():
    with open(os.path.join(ROOT, "probe", "version.h")) as f:
        return re.search(r'LOOPSTALL_VERSION "([^"]+)"', f.read()).group(1)


def make(*args, timeout=300):
    """make in the checkout, outside any make that runs the tests."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(["make", "-C", ROOT, "--no-print-directory",
                           "-o", "build/loopstall", *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


def help_text(command):
    p = subprocess.run([LOOPSTALL, *command.split(), "--help"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout


def long_options(command):
    """The long options `loopstall COMMAND --help` lists."""
    return set(re.findall(r"^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)", help_text(command),
                          re.M))


# ---- make install ------------------------------------------------------

@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """`make install DESTDIR=tmp PREFIX=/usr/local`: the DESTDIR."""
    dest = tmp_path_factory.mktemp("destdir")
    p = make("install", f"DESTDIR={dest}", "PREFIX=/usr/local")
    assert p.returncode == 0, p.stdout + p.stderr
    return str(dest)


def test_make_install_puts_each_file_in_its_place_and_uninstall_removes_them(installed):
    pre = installed + "/usr/local"
    docs = sorted(os.path.basename(d) for d in glob.glob(os.path.join(ROOT, "docs", "*.md")))
    want = {"bin/loopstall": 0o755,
            "share/man/man8/loopstall.8": 0o644,
            "share/bash-completion/completions/loopstall": 0o644,
            "share/doc/loopstall/README.md": 0o644}
    want.update({f"share/doc/loopstall/docs/{d}": 0o644 for d in docs})
    got = {}
    for d, _, files in os.walk(installed):
        for f in files:
            path = os.path.join(d, f)
            got[os.path.relpath(path, pre)] = os.stat(path).st_mode & 0o7777
    assert got == want

    with open(LOOPSTALL, "rb") as a, open(pre + "/bin/loopstall", "rb") as b:
        assert a.read() == b.read(), "the installed binary is not build/loopstall"
    with open(os.path.join(ROOT, "scripts", "loopstall.bash-completion")) as a, \
            open(pre + "/share/bash-completion/completions/loopstall") as b:
        assert a.read() == b.read()
    out = subprocess.run([pre + "/bin/loopstall", "--version"], capture_output=True,
                         text=True, timeout=30).stdout
    assert out == f"loopstall {version()}\n"

    # uninstall from a copy: the other tests read the installed tree
    copy = installed + ".copy"
    shutil.copytree(installed, copy, symlinks=True)
    try:
        p = make("uninstall", f"DESTDIR={copy}", "PREFIX=/usr/local")
        assert p.returncode == 0, p.stdout + p.stderr
        left = [os.path.join(d, f) for d, _, files in os.walk(copy) for f in files]
        assert left == []
        assert not os.path.exists(copy + "/usr/local/share/doc/loopstall")
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def man_text(path):
    """The page as man shows it (80 columns, no formatting): its text, and
    what man and groff said on stderr."""
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8", MANPAGER="cat", PAGER="cat")
    p = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", path],
                       capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == 0, p.stderr
    return re.sub(r".\x08", "", p.stdout), p.stderr


@pytest.mark.skipif(not shutil.which("groff") or not shutil.which("man"),
                    reason="groff or man missing (Debian packages groff-base, man-db)")
def test_the_man_page_renders_without_warnings(installed):
    page = installed + "/usr/local/share/man/man8/loopstall.8"
    p = subprocess.run(["groff", "-man", "-ww", "-z", page], capture_output=True,
                       text=True, timeout=60)
    assert (p.returncode, p.stderr) == (0, "")
    text, err = man_text(page)
    assert err == ""
    heads = [l for l in text.splitlines() if re.match(r"^[A-Z][A-Z ]+$", l)]
    assert heads == ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "EXAMPLES",
                     "OVERHEAD", "EXIT STATUS", "FILES", "SEE ALSO"]
    assert text.splitlines()[0].startswith("LOOPSTALL(8)")
    assert f"loopstall {version()}" in text.splitlines()[-1]
    assert "@VERSION@" not in text
    assert max(len(l) for l in text.splitlines()) <= 80


def man_sections(text):
    """OPTIONS' subsections of the rendered page: {"attach": text, ...}."""
    opts = text.split("\nOPTIONS\n", 1)[1].split("\nEXAMPLES\n", 1)[0]
    parts = re.split(r"^   (\S.*)$", opts, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


@pytest.mark.skipif(not shutil.which("man"), reason="man missing (Debian package man-db)")
def test_the_man_page_has_every_option_of_each_commands_help(installed):
    text, _ = man_text(installed + "/usr/local/share/man/man8/loopstall.8")
    sections = man_sections(text)
    assert sorted(sections) == sorted(COMMANDS + ["rules check"])
    attach = long_options("attach")
    for cmd in COMMANDS:
        opts = long_options(cmd)
        assert opts, cmd
        if cmd == "record":             # "Every option of attach, and: -o"
            assert attach < opts
            assert "Every option of attach" in sections[cmd]
            opts -= attach
        missing = sorted(o for o in opts if not re.search(rf"{o}(?![\w-])", sections[cmd]))
        assert missing == [], f"{cmd}: options of --help not in its man section"
    for fmt in REPORT_FORMATS:
        assert fmt in sections["report"]


# ---- bash completion ------------------------------------------------------

def complete(script, *words):
    """COMPREPLY of _loopstall for `loopstall WORDS` (the last word the one
    completed), script sourced into a bash without bash-completion."""
    words = ["loopstall", *words]
    line = " ".join(words)
    prog = "\n".join([
        f"source {shlex.quote(script)}",
        "COMP_WORDS=(" + " ".join(shlex.quote(w) for w in words) + ")",
        f"COMP_CWORD={len(words) - 1}",
        f"COMP_LINE={shlex.quote(line)}",
        "COMP_POINT=${#COMP_LINE}",
        f"_loopstall loopstall {shlex.quote(words[-1])} {shlex.quote(words[-2])}",
        'printf "%s\\n" "${COMPREPLY[@]}"',
    ])
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", prog], capture_output=True,
                       text=True, timeout=30)
    assert (p.returncode, p.stderr) == (0, ""), p.stderr
    return [l for l in p.stdout.splitlines() if l]


@pytest.fixture(scope="module")
def completion(installed):
    return installed + "/usr/local/share/bash-completion/completions/loopstall"


def test_the_completion_script_loads(completion):
    p = subprocess.run(["bash", "-n", completion], capture_output=True, text=True)
    assert (p.returncode, p.stderr) == (0, "")
    p = subprocess.run(["bash", "--norc", "-c", f"source {shlex.quote(completion)}; "
                        "complete -p loopstall"], capture_output=True, text=True)
    assert p.stdout.strip() == "complete -F _loopstall loopstall", p.stderr


def test_completion_of_commands_options_and_values(completion, tmp_path):
    assert complete(completion, "rep") == ["report"]
    assert set(complete(completion, "")) >= {"attach", "record", "report", "tasks",
                                              "doctor", "rules"}
    assert complete(completion, "rules", "") == ["list", "check", "--help"]
    # every long option of each command's --help
    for cmd in COMMANDS:
        got = set(complete(completion, *cmd.split(), "--"))
        missing = sorted(long_options(cmd) - got)
        assert missing == [], f"{cmd}: not completed"
    # -f: each command's formats
    assert set(complete(completion, "report", "-f", "")) == REPORT_FORMATS
    assert set(complete(completion, "attach", "--format", "")) == {"text", "json"}
    assert set(complete(completion, "record", "-f", "")) == {"text", "json"}
    assert set(complete(completion, "tasks", "-f", "")) == {"text", "json"}
    assert complete(completion, "report", "--format", "=", "sp") == ["speedscope"]
    assert complete(completion, "attach", "--fail-on", "w") == ["warning"]
    # files: report's recording, -o, --rules (+FILE adds to the built-in pack)
    (tmp_path / "run.lsr").write_text("")
    (tmp_path / "mine.yaml").write_text("")
    assert complete(completion, "report", f"{tmp_path}/r") == [f"{tmp_path}/run.lsr"]
    assert complete(completion, "record", "-o", f"{tmp_path}/r") == [f"{tmp_path}/run.lsr"]
    assert complete(completion, "attach", "--rules", f"+{tmp_path}/m") == \
        [f"+{tmp_path}/mine.yaml"]
    assert complete(completion, "rules", "check", f"{tmp_path}/m") == \
        [f"{tmp_path}/mine.yaml"]


def test_completion_of_pids_offers_python_processes_only(completion):
    py = subprocess.Popen(["/usr/bin/python3", "-c", "import time; time.sleep(60)"])
    other = subprocess.Popen(["sleep", "60"])
    try:
        end = time.monotonic() + 10         # python3 has exec'd and mapped itself
        while str(py.pid) not in complete(completion, "attach", "-p", ""):
            assert time.monotonic() < end, "the python process is not offered"
            time.sleep(0.1)
        pids = complete(completion, "attach", "-p", "")
        assert str(other.pid) not in pids
        assert str(os.getpid()) in pids                 # pytest runs in python3
        assert str(py.pid) in complete(completion, "tasks", "--pid", "")
        # attach and record take PID,PID,...
        assert f"1,{py.pid}" in complete(completion, "record", "-p", "1,")
    finally:
        for p in (py, other):
            p.kill()
            p.wait()


# ---- make deb, installed into a fresh bookworm --------------------------

def needed_packages(binary):
    """The Debian packages of the libraries binary links directly."""
    out = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True,
                         check=True).stdout
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    pkgs = set()
    for lib in re.findall(r"\(NEEDED\)\s+Shared library: \[(.+)\]", out):
        path = re.search(rf"^\s*{re.escape(lib)} => (\S+)", ldd, re.M).group(1)
        real = os.path.realpath(path)
        # dpkg knows a file by the path its package ships (/lib or /usr/lib)
        for p in (path, real, re.sub(r"^/usr/", "/", real), "/usr" + path):
            owner = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
            if owner.returncode == 0:
                pkgs.add(owner.stdout.split(":")[0])
                break
        else:
            raise AssertionError(f"no package owns {path}")
    return pkgs


def test_make_deb_declares_what_the_binary_needs():
    p = make("deb")
    assert p.returncode == 0, p.stdout + p.stderr
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                          text=True).stdout.strip()
    deb = os.path.join(ROOT, "build", f"loopstall_{version()}_{arch}.deb")
    fields = {}
    for f in ("Package", "Version", "Architecture", "Section", "Priority", "Depends",
              "Maintainer", "Description"):
        fields[f] = subprocess.run(["dpkg-deb", "-f", deb, f], capture_output=True,
                                   text=True, check=True).stdout.strip()
    assert fields["Package"] == "loopstall"
    assert fields["Version"] == version()
    assert fields["Architecture"] == arch
    assert (fields["Section"], fields["Priority"]) == ("admin", "optional")
    assert fields["Maintainer"] and fields["Description"]
    depends = {d.split()[0] for d in fields["Depends"].split(", ")}
    assert depends == needed_packages(LOOPSTALL)
    assert depends >= {"libbpf1", "libelf1", "libdw1", "zlib1g", "libyaml-0-2", "libc6"}
    files = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True,
                           check=True).stdout
    for f in ("./usr/bin/loopstall", "./usr/share/man/man8/loopstall.8.gz",
              "./usr/share/bash-completion/completions/loopstall",
              "./usr/share/doc/loopstall/copyright", "./usr/share/doc/loopstall/README.md.gz"):
        assert re.search(rf"^-\S+ root/root .* {re.escape(f)}$", files, re.M), f


def remove_tree(d):
    """Unmount what is mounted under d, then remove it (not across mounts)."""
    if not os.path.isdir(d):
        return
    with open("/proc/self/mounts") as f:
        mounts = [l.split()[1] for l in f]
    for m in sorted((m for m in mounts if m.startswith(d.rstrip("/") + "/")), reverse=True):
        if subprocess.run(["umount", m], capture_output=True).returncode:
            subprocess.run(["umount", "-l", m], capture_output=True)
    subprocess.run(["rm", "-rf", "--one-file-system", d], check=True)


def make_devices(root):
    """The device nodes of setup-pythons' make_devices: debootstrap's /dev
    is a tmpfs in containers, gone afterwards."""
    for name, major, minor in (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7),
                               ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)):
        path = f"{root}/dev/{name}"
        if not os.path.exists(path):
            os.mknod(path, 0o666 | 0o020000, os.makedev(major, minor))
            os.chmod(path, 0o666)
    if not os.path.lexists(f"{root}/dev/fd"):
        os.symlink("/proc/self/fd", f"{root}/dev/fd")
    os.makedirs(f"{root}/dev/shm", mode=0o1777, exist_ok=True)


def in_chroot(root, *cmd, timeout=300):
    p = subprocess.run(["chroot", root, "/usr/bin/env", "-i",
                        "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive",
                        "LC_ALL=C.UTF-8", *cmd], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def bookworm_base():
    """The cached minbase bookworm tree, made now when missing (one maker at
    a time; built beside it and renamed into place once complete)."""
    if os.path.exists(os.path.join(BASE, BASE_MARKER)):
        return BASE
    if not shutil.which("debootstrap"):
        pytest.skip("debootstrap missing (Debian package debootstrap): no bookworm tree")
    os.makedirs(CACHE, exist_ok=True)
    with open(os.path.join(CACHE, ".bookworm-base.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(BASE, BASE_MARKER)):
            return BASE
        for stale in glob.glob(os.path.join(CACHE, ".bookworm-base.tmp.*")):
            remove_tree(stale)                          # a killed run's
        tmp = tempfile.mkdtemp(dir=CACHE, prefix=".bookworm-base.tmp.")
        os.chmod(tmp, 0o755)
        log = os.path.join(CACHE, ".bookworm-base.log")
        try:
            with open(log, "w") as f:
                rc = subprocess.run(["debootstrap", "--variant=minbase", "bookworm", tmp,
                                     MIRROR], stdout=f, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, timeout=1200).returncode
            if rc:
                with open(log) as f:
                    tail = " | ".join(f.read().strip().splitlines()[-3:])
                pytest.skip(f"debootstrap bookworm from {MIRROR} failed here ({tail}; "
                            f"log: {log}): no bookworm tree to install into")
            make_devices(tmp)
            in_chroot(tmp, "apt-get", "clean")
            for lists in glob.glob(f"{tmp}/var/lib/apt/lists/*_*"):
                os.remove(lists)                        # stale by the next run
            os.replace(log, os.path.join(tmp, ".build.log"))
            with open(os.path.join(tmp, BASE_MARKER), "w") as f:
                f.write(f"debootstrap --variant=minbase bookworm {MIRROR}\n")
            remove_tree(BASE)                           # an incomplete leftover
            os.rename(tmp, BASE)
            tmp = None
        finally:
            if tmp:
                remove_tree(tmp)
    return BASE


@pytest.fixture
def bookworm():
    """A fresh copy of the bookworm tree with /proc mounted; unmounted and
    removed afterwards, whatever happened."""
    base = bookworm_base()
    for stale in glob.glob(os.path.join(CACHE, ".install-test.*")):
        pid = stale.split(".")[-2]                   # .install-test.PID.XXXX
        if not os.path.exists(f"/proc/{pid}"):
            remove_tree(stale)
    root = tempfile.mkdtemp(dir=CACHE, prefix=f".install-test.{os.getpid()}.")
    os.chmod(root, 0o755)
    try:
        subprocess.run(["cp", "-a", base + "/.", root], check=True)
        shutil.copyfile("/etc/resolv.conf", root + "/etc/resolv.conf.new")
        os.replace(root + "/etc/resolv.conf.new", root + "/etc/resolv.conf")
        subprocess.run(["mount", "-t", "proc", "proc", root + "/proc"], check=True)
        yield root
    finally:
        subprocess.run(["umount", root + "/proc"], capture_output=True)
        remove_tree(root)


def test_the_deb_installs_into_a_fresh_bookworm_and_runs(bookworm):
    p = make("deb")
    assert p.returncode == 0, p.stdout + p.stderr
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                          text=True).stdout.strip()
    name = f"loopstall_{version()}_{arch}.deb"
    shutil.copy(os.path.join(ROOT, "build", name), f"{bookworm}/tmp/{name}")

    # the libraries are not in minbase: dpkg names what is missing ...
    rc, out, err = in_chroot(bookworm, "dpkg", "-i", f"/tmp/{name}")
    assert rc == 1 and "libbpf1" in out + err, out + err
    # ... and apt installs it from Debian's mirror
    rc, out, err = in_chroot(bookworm, "apt-get", "update", "-q")
    if rc:
        tail = " | ".join((out + err).strip().splitlines()[-2:])
        pytest.skip(f"apt-get update in the bookworm tree failed ({tail}): "
                    f"no way to {MIRROR} from here")
    rc, out, err = in_chroot(bookworm, "apt-get", "-f", "install", "-y", "-q",
                             "--no-install-recommends")
    assert rc == 0, out + err
    rc, out, _ = in_chroot(bookworm, "dpkg-query", "-W", "-f=${Status} ${Version}",
                           "loopstall")
    assert out == f"install ok installed {version()}"
    rc, out, _ = in_chroot(bookworm, "ldd", "/usr/bin/loopstall")
    assert rc == 0 and "not found" not in out, out
    for f in ("/usr/share/man/man8/loopstall.8.gz",
              "/usr/share/bash-completion/completions/loopstall",
              "/usr/share/doc/loopstall/copyright"):
        assert os.path.isfile(bookworm + f), f

    rc, out, err = in_chroot(bookworm, "loopstall", "--version")
    assert (rc, out) == (0, f"loopstall {version()}\n"), err

    # doctor runs its checks; /sys is not mounted in the tree: no BTF,
    # no tracepoints, so exit 3 (environment), as documented
    rc, out, err = in_chroot(bookworm, "loopstall", "doctor", timeout=60)
    lines = out.splitlines()
    assert lines[0] == "loopstall doctor", out + err
    checks = {l.split()[1]: l.split()[0] for l in lines[1:]}
    for check in ("kernel", "BTF", "privileges", "tracepoints", "perf"):
        assert check in checks, out
    assert checks["kernel"] == "ok"
    if not os.path.exists(bookworm + "/sys/kernel/btf/vmlinux"):
        assert checks["BTF"] == "MISSING"
        assert rc == 3, out + err
    else:
        assert rc in (0, 3), out + err

    # the built-in rules, as build/loopstall lists them
    rc, out, err = in_chroot(bookworm, "loopstall", "rules", "list", timeout=60)
    assert rc == 0, err
    want = subprocess.run([LOOPSTALL, "rules", "list"], capture_output=True, text=True,
                          timeout=60).stdout
    assert out == want
    ids = [l.split()[0] for l in out.splitlines()[1:]]
    with open(os.path.join(ROOT, "rules", "default.yaml")) as f:
        assert len(ids) == len(re.findall(r"^\s*- id: LS\d+", f.read(), re.M))
    assert "LS020" in ids

    rc, out, err = in_chroot(bookworm, "dpkg", "--purge", "loopstall")
    assert rc == 0, out + err
    assert not os.path.exists(bookworm + "/usr/bin/loopstall")
