# SPDX-License-Identifier: MIT
"""report -f junit and -f github, the CI formats: golden outputs of the
committed recording (tests/golden/stally.lsr; LS_UPDATE_GOLDEN=1 rewrites
them); its JUnit XML valid against tests/fixtures/junit.xsd (xmllint); in
both formats one test case or annotation per finding group of the JSON
report, on its call site; and a recording of a script whose file name is
hostile to both formats (markup, quotes, ':' ',' '%', a control
character), escaped so that it reads back as it is."""
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from conftest import GOLDEN, LOOPSTALL, ROOT, expect_golden

XSD = os.path.join(ROOT, "tests", "fixtures", "junit.xsd")
ENV = dict(os.environ, TZ="UTC")
# where stally.lsr's target ran from (its files are /work/main/examples/…,
# wherever this checkout is)
STALLY_ROOT = "/work/main"
HOSTILE = "we<ird> & \"q\" 'a',b:c%d\x01.py"


def report(path, *args, cwd=None):
    p = subprocess.run([LOOPSTALL, "report", path, *args], capture_output=True,
                       text=True, env=ENV, timeout=60, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def xmllint(path, *args):
    if not shutil.which("xmllint"):
        pytest.skip("xmllint not installed (libxml2-utils: scripts/setup-deps)")
    return subprocess.run(["xmllint", "--noout", *args, path], capture_output=True,
                          text=True, timeout=60)


def gh_unescape(s, prop):
    """A workflow command's value as the runner reads it back."""
    codes = [("%0D", "\r"), ("%0A", "\n")] + ([("%3A", ":"), ("%2C", ",")] if prop else [])
    for code, c in codes + [("%25", "%")]:
        s = s.replace(code, c)
    return s


def annotations(text):
    """[(command, {property: value}, message)] of GitHub's output."""
    out = []
    for line in text.splitlines():
        m = re.fullmatch(r"::(error|warning|notice) ([^:]*)::(.*)", line)
        assert m, f"not a workflow command: {line!r}"
        props = dict(p.split("=", 1) for p in m.group(2).split(","))
        out.append((m.group(1), {k: gh_unescape(v, True) for k, v in props.items()},
                    gh_unescape(m.group(3), False)))
    return out


@pytest.mark.parametrize("fmt,name", [("junit", "stally.junit.xml"), ("github", "stally.github")])
def test_golden_reports_of_a_committed_recording(fmt, name):
    rc, out, err = report("stally.lsr", "-f", fmt, "--source-root", STALLY_ROOT, cwd=GOLDEN)
    assert rc == 0, err
    assert err == ""
    expect_golden(name, out, f"report -f {fmt}")


def findings_of_stally():
    rc, out, err = report(os.path.join(GOLDEN, "stally.lsr"), "-f", "json")
    assert rc == 0, err
    return json.loads(out)["findings"]


def test_junit_is_valid_and_has_a_test_case_per_finding_group(tmp_path):
    out = str(tmp_path / "stally.xml")
    rc, _, err = report(os.path.join(GOLDEN, "stally.lsr"), "-f", "junit", "--source-root",
                        STALLY_ROOT, "-o", out)
    assert rc == 0, err
    v = xmllint(out, "--schema", XSD)
    assert v.returncode == 0, v.stderr
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites"
    suite, = root
    cases = suite.findall("testcase")
    fails = [c.find("failure") for c in cases if c.find("failure") is not None]
    assert suite.get("name") == "loopstall"
    assert int(suite.get("tests")) == len(cases) and int(suite.get("failures")) == len(fails)
    findings = findings_of_stally()
    assert len(cases) == len(findings) == 6
    for c, f in zip(cases, findings):
        site = f["call_site"]
        rel = os.path.relpath(site["file"], STALLY_ROOT)
        assert c.get("name") == f"{f['rule']} {rel}:{site['line']} {site['function']}"
        assert c.get("classname") == "examples.stally" and c.get("file") == rel
        assert int(c.get("line")) == site["line"]
        assert float(c.get("time")) == pytest.approx(f["total_ms"] / 1000, abs=0.001)
        fail = c.find("failure")
        assert (fail is not None) == (f["severity"] in ("error", "warning"))
        assert fail.get("type") == f["severity"] and "\n" not in fail.get("message")
        assert f"at {rel}:{site['line']} in {site['function']}\n" in fail.text
        assert f"{f['count']} stall" in fail.text and "fix: " in fail.text
    assert float(suite.get("time")) == pytest.approx(2.311, abs=0.001)


def test_github_annotates_each_finding_group_on_the_repository_file():
    findings = findings_of_stally()
    for root, file in ((STALLY_ROOT, "examples/stally.py"),
                       (None, "/work/main/examples/stally.py")):
        args = ["--source-root", root] if root else []
        rc, out, err = report(os.path.join(GOLDEN, "stally.lsr"), "-f", "github", *args)
        assert rc == 0, err
        notes = annotations(out)
        assert len(notes) == len(findings)
        for (cmd, props, msg), f in zip(notes, findings):
            want = {"error": "error", "warning": "warning", "info": "notice"}[f["severity"]]
            assert cmd == want
            assert props["file"] == file and int(props["line"]) == f["call_site"]["line"]
            assert props["title"].startswith(f["rule"] + " ")
            assert msg.startswith(f"{f['count']} event-loop stall") and "\nfix: " in msg


def record_hostile(tmp_path):
    """A recording of a script named HOSTILE that sleeps on its loop (once
    it runs: a call site read in the loop's first iteration may lack its
    coroutine's frame): the script's path and the line of the sleep."""
    script = tmp_path / HOSTILE
    script.write_text("import asyncio, time\n"
                      "\n"
                      "async def main():\n"
                      "    await asyncio.sleep(0.3)\n"
                      "    for _ in range(3):\n"
                      "        time.sleep(0.15)  # <b> & \"q\" 'a' %, : ]]>\n"
                      "        await asyncio.sleep(0.05)\n"
                      "\n"
                      "asyncio.run(main())\n")
    out = str(tmp_path / "hostile.lsr")
    p = subprocess.run([LOOPSTALL, "record", "-o", out, "--", "/usr/bin/python3",
                        str(script)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return out, str(script), 6


def test_hostile_file_name_escaped_in_junit_and_github(tmp_path):
    rec, script, line = record_hostile(tmp_path)
    root = str(tmp_path)
    xml = str(tmp_path / "hostile.xml")
    rc, _, err = report(rec, "-f", "junit", "--source-root", root, "-o", xml)
    assert rc == 0, err
    v = xmllint(xml, "--schema", XSD)
    assert v.returncode == 0, v.stderr
    cases = ET.parse(xml).getroot().findall("testsuite/testcase")
    shown = HOSTILE.replace("\x01", "\ufffd")     # XML 1.0 cannot hold it
    sleep, = [c for c in cases if c.get("name") == f"LS020 {shown}:{line} main"]
    assert sleep.get("file") == shown and int(sleep.get("line")) == line
    assert sleep.get("classname") == shown[:-3].replace(".", "_")
    fail = sleep.find("failure")
    assert fail.get("type") == "error"
    assert f"at {shown}:{line} in main\n" in fail.text
    assert "time.sleep(0.15)  # <b> & \"q\" 'a' %, : ]]>\n" in fail.text

    rc, out, err = report(rec, "-f", "github", "--source-root", root)
    assert rc == 0, err
    cmd, props, msg = [a for a in annotations(out) if a[1]["title"].startswith("LS020 ") and
                       a[1]["line"] == str(line)][0]
    assert cmd == "error" and props["file"] == HOSTILE
    assert re.match(r"\d event-loop stalls?, .*, in main\nwhy: ", msg), msg
    rc, out, err = report(rec, "-f", "github")
    assert rc == 0, err
    assert any(a[1]["file"] == script for a in annotations(out))
