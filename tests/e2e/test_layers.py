# SPDX-License-Identifier: MIT
"""scripts/check-layers on small synthetic trees, and on the real one.
Needs neither root nor BPF nor build/."""
import os
import subprocess
import sys

import pytest

from conftest import ROOT

CHECK = os.path.join(ROOT, "scripts", "check-layers")


@pytest.fixture(autouse=True)
def built():
    """Overrides conftest's: these tests need no binary and no root."""


def tree(tmp_path, files):
    """Write {path: text} under tmp_path; each text is a list of include lines."""
    for path, lines in files.items():
        p = tmp_path / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("".join(l + "\n" for l in lines))
    return tmp_path


def check(root):
    p = subprocess.run([sys.executable, CHECK, "--root", str(root)],
                       capture_output=True, text=True)
    return p.returncode, p.stdout.splitlines()


CLEAN = {
    "bpf/loopstall.h": [],
    "bpf/loopstall.bpf.c": ['#include "vmlinux.h"', '#include "loopstall.h"'],
    "symbolizer/stack.h": ['#include "loopstall.h"', "#include <stdint.h>"],
    "symbolizer/stack.c": ['#include "stack.h"   /* its own header */'],
    "rules/rule.h": [],
    "rules/load.c": ['#include "rule.h"', '#include "default_rules.h"\t/* generated */',
                     '#include "syscall_names.h"'],
    "report/stall.h": ['#include "stack.h"', '#include "rule.h"'],
    "report/stall.c": ['#include "report/stall.h"'],
    "probe/main.c": ['#include "stall.h"', '#include "loopstall.skel.h"',
                     '#include "loopstall.h"', '#include <stdio.h>'],
}


def test_a_clean_tree_passes(tmp_path):
    rc, out = check(tree(tmp_path, CLEAN))
    assert rc == 0, out
    assert out == ["check-layers: 9 files, 13 includes, 5 layers: one-way, no cycles"]


def test_a_missing_folder_is_skipped(tmp_path):
    rc, out = check(tree(tmp_path, {k: v for k, v in CLEAN.items()
                                    if not k.startswith("report/")} |
                               {"probe/main.c": ['#include "stack.h"']}))
    assert rc == 0 and "4 layers" in out[0], out


def test_rules_including_a_probe_header_fails(tmp_path):
    rc, out = check(tree(tmp_path, CLEAN | {
        "probe/events.h": [],
        "rules/match.c": ['#include "rule.h"', "", '#include "events.h"  // for fd kinds']}))
    assert rc == 1
    assert len(out) == 1 and out[0].startswith("check-layers: rules/match.c:3: "), out
    assert "probe/events.h" in out[0] and "move what it needs" in out[0]


def test_rules_including_symbolizer_fails(tmp_path):
    rc, out = check(tree(tmp_path, CLEAN | {"rules/match.c": ['#include "stack.h"']}))
    assert rc == 1
    assert len(out) == 1 and out[0].startswith("check-layers: rules/match.c:1: "), out
    assert "peers" in out[0] and "symbolizer/stack.h" in out[0]


def test_a_cycle_of_three_modules_fails_and_is_printed(tmp_path):
    rc, out = check(tree(tmp_path, CLEAN | {
        "report/a.h": ['#include "b.h"'], "report/a.c": ['#include "a.h"'],
        "report/b.h": [], "report/b.c": ['#include "b.h"', '#include "c.h"'],
        "report/c.h": [], "report/c.c": ['#include "a.h"']}))
    assert rc == 1
    assert len(out) == 1, out
    assert out[0].startswith("check-layers: report/c.c:1: include cycle"), out
    assert "in report/: a → b → c → a" in out[0]


def test_an_unknown_header_fails(tmp_path):
    rc, out = check(tree(tmp_path, CLEAN | {"probe/main.c": ['#include "nowhere.h"']}))
    assert rc == 1
    assert len(out) == 1 and out[0].startswith("check-layers: probe/main.c:1: "), out
    assert '"nowhere.h"' in out[0]


def test_a_generated_header_outside_its_folder_fails(tmp_path):
    rc, out = check(tree(tmp_path, CLEAN | {"report/stall.c": ['#include "vmlinux.h"']}))
    assert rc == 1 and len(out) == 1 and "report/stall.c:1: " in out[0], out


def test_a_duplicated_basename_fails(tmp_path):
    rc, out = check(tree(tmp_path, CLEAN | {"probe/rule.h": []}))
    assert rc == 1
    assert len(out) == 1 and "probe/rule.h" in out[0] and "rules/rule.h" in out[0], out


def test_the_real_tree_is_one_way():
    rc, out = check(ROOT)
    assert rc == 0, "\n".join(out)
