# SPDX-License-Identifier: MIT
"""Reports held to their consumers' own validators: SARIF to Microsoft's
SARIF multitool (`validate`: no error and no warning) and to the SARIF
2.1.0 schema it ships (ajv: the multitool says nothing at all of a document
with a value outside an enum, a result's "level": "info" say), speedscope
to the JSON schema the speedscope package ships (ajv, in the draft the
schema declares) and to what speedscope's importer needs beyond it. Of the
committed recording (with and without --source-root), one cut short, and
fresh recordings of workload.py and of sequential awaits; and broken
documents, which each validator must reject.

The validators are the npm packages tests/validators/package-lock.json pins,
installed by scripts/setup-deps (`npm ci --prefix tests/validators`). Without
them (no node or npm, the npm registry not reached) every test here skips,
and says why in a warning too."""
import copy
import functools
import itertools
import json
import os
import platform
import shutil
import subprocess
import warnings

import pytest

from conftest import LOOPSTALL, ROOT, beside, pythons, run_text, script_workload

GOLDEN = os.path.join(ROOT, "tests", "golden")
VALIDATORS = os.path.join(ROOT, "tests", "validators")
MULTITOOL_PKG = "node_modules/@microsoft/sarif-multitool-linux"
MULTITOOL = os.path.join(VALIDATORS, MULTITOOL_PKG, "Sarif.Multitool")
SARIF_SCHEMA = os.path.join(VALIDATORS, MULTITOOL_PKG, "sarif-2.1.0.json")
SCHEMA = os.path.join(VALIDATORS, "node_modules", "speedscope", "dist", "release",
                      "file-format-schema.json")
VALIDATE_JSON = os.path.join(VALIDATORS, "validate-json.js")
AWAITS = os.path.join(ROOT, "tests", "e2e", "awaits_workload.py")
ENV = dict(os.environ, TZ="UTC")
DOCS = itertools.count()            # the documents a test hands a validator: doc0, doc1…


@functools.lru_cache(None)
def unavailable():
    """Why the validators cannot run here, or None."""
    if not shutil.which("node"):
        return ("node is not installed: scripts/setup-deps installs the validators "
                "(npm ci --prefix tests/validators) where node and npm are")
    with open(os.path.join(VALIDATORS, "package-lock.json")) as f:
        lock = json.load(f)["packages"]
    for key in (MULTITOOL_PKG, "node_modules/speedscope", "node_modules/ajv",
                "node_modules/ajv-formats"):
        try:
            with open(os.path.join(VALIDATORS, key, "package.json")) as f:
                have = json.load(f)["version"]
        except OSError:
            return f"tests/validators/{key} is not installed: {why_not_installed()}"
        if have != lock[key]["version"]:
            return (f"tests/validators/{key} is {have}, package-lock.json pins "
                    f"{lock[key]['version']}: run scripts/setup-deps")
    return None


def why_not_installed():
    if not shutil.which("npm"):
        return "npm is not installed (scripts/setup-deps runs npm ci where it is)"
    try:
        p = subprocess.run(["npm", "ping", "--fetch-retries=0", "--fetch-timeout=15000"],
                           capture_output=True, text=True, timeout=60)
        # its one line with the reason ("FetchError: request to … failed,
        # reason: …"), else its error code
        lines = p.stderr.splitlines()
        said = next((l for l in lines if "reason:" in l), None) or \
            next((l for l in lines if " code " in l), "exit %d" % p.returncode)
        ok, said = p.returncode == 0, said.replace("npm error ", "").replace("npm ERR! ", "")
    except subprocess.TimeoutExpired:
        ok, said = False, "no answer in 60 s"
    if not ok:
        return f"the npm registry was not reached (npm ping: {said})"
    return "run scripts/setup-deps (npm ci --prefix tests/validators)"


def need_validators():
    reason = unavailable()
    if reason:
        warnings.warn(f"test_validators: skipped: {reason}")
        pytest.skip(reason)


@pytest.fixture
def multitool():
    need_validators()
    if platform.machine() != "x86_64":
        pytest.skip("@microsoft/sarif-multitool-linux ships an x86-64 binary only")
    return MULTITOOL


@pytest.fixture
def sarif_schema():
    need_validators()
    return SARIF_SCHEMA


@pytest.fixture
def schema():
    need_validators()
    return SCHEMA


def report(path, *args, cwd=None):
    p = subprocess.run([LOOPSTALL, "report", path, *args], capture_output=True, text=True,
                       env=ENV, timeout=60, cwd=cwd)
    assert p.returncode == 0, p.stderr
    return p.stdout


def sarif_problems(multitool, tmp_path, doc):
    """`Sarif.Multitool validate` of doc (text): its results of level error
    or warning as sorted (level, rule) pairs (a result without a level is a
    warning), and its console lines of them."""
    name = f"doc{next(DOCS)}"
    src, log = tmp_path / f"{name}.sarif", tmp_path / f"{name}.validation.sarif"
    src.write_text(doc)
    p = subprocess.run([multitool, "validate", str(src), "-o", str(log),
                        "--log", "ForceOverwrite"], capture_output=True, text=True, timeout=300)
    # it exits 0 whatever it finds: its own log says what it found
    assert p.returncode == 0 and log.exists(), (p.returncode, p.stdout, p.stderr)
    run, = json.loads(log.read_text())["runs"]
    inv, = run["invocations"]
    assert inv["executionSuccessful"] and not [
        n for n in inv.get("toolExecutionNotifications", []) if n.get("level") == "error"], inv
    found = sorted((r.get("level", "warning"), r["ruleId"]) for r in run.get("results", [])
                   if r.get("level", "warning") in ("error", "warning"))
    lines = [l for l in p.stdout.splitlines() if ": error " in l or ": warning " in l]
    assert len(lines) == len(found), (p.stdout, found)
    return found, lines


def assert_valid_sarif(multitool, tmp_path, doc):
    found, lines = sarif_problems(multitool, tmp_path, doc)
    assert found == [], "\n".join(lines)
    assert schema_check(SARIF_SCHEMA, tmp_path, doc) == (0, ["valid"])
    d = json.loads(doc)
    # what GitHub code scanning reads of each result
    rules = d["runs"][0]["tool"]["driver"]["rules"]
    for r in d["runs"][0]["results"]:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"] and r["message"]["text"], r
        assert r.get("locations"), r
        loc = r["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] and loc["region"]["startLine"] >= 1, r
    return d


def schema_check(schema, tmp_path, doc):
    """validate-json.js (ajv) on doc (text) against the JSON schema file
    schema: (exit code, its lines)."""
    path = tmp_path / f"doc{next(DOCS)}.json"
    path.write_text(doc)
    p = subprocess.run(["node", VALIDATE_JSON, schema, str(path)], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode in (0, 1), (p.returncode, p.stdout, p.stderr)
    return p.returncode, p.stdout.splitlines()


def importer_problems(d):
    """What speedscope's importer (importSpeedscopeProfile) needs of a
    sampled profile and the schema does not say: as many weights as
    samples (it throws otherwise), frame indices into shared.frames; and
    what loopstall states: weights >= 0 adding up to endValue - startValue,
    an activeProfileIndex that is a profile."""
    out, n = [], len(d["shared"]["frames"])
    for i, p in enumerate(d["profiles"]):
        if len(p["samples"]) != len(p["weights"]):
            out.append(f"profiles[{i}]: {len(p['samples'])} samples, "
                       f"{len(p['weights'])} weights")
        if not all(isinstance(x, int) and 0 <= x < n for s in p["samples"] for x in s):
            out.append(f"profiles[{i}]: a frame index not in shared.frames ({n})")
        if any(w < 0 for w in p["weights"]):
            out.append(f"profiles[{i}]: a negative weight")
        if p["endValue"] - p["startValue"] != sum(p["weights"]):
            out.append(f"profiles[{i}]: endValue - startValue != the weights' sum")
    if d["profiles"] and not 0 <= d.get("activeProfileIndex", 0) < len(d["profiles"]):
        out.append("activeProfileIndex is not a profile")
    return out


def assert_valid_speedscope(schema, tmp_path, doc):
    rc, lines = schema_check(schema, tmp_path, doc)
    assert (rc, lines) == (0, ["valid"])
    d = json.loads(doc)
    assert importer_problems(d) == []
    return d


def stally_root():
    """The directory the committed recording's target ran from (its
    examples/stally.py is under it)."""
    doc = json.loads(report("stally.lsr", "-f", "json", cwd=GOLDEN))
    f = doc["findings"][0]["call_site"]["file"]
    assert f.endswith("/examples/stally.py"), f
    return f[:-len("/examples/stally.py")]


def uris(d):
    return {loc["physicalLocation"]["artifactLocation"].get("uriBaseId", "") + ":" +
            loc["physicalLocation"]["artifactLocation"]["uri"]
            for r in d["runs"][0]["results"] for loc in r.get("locations", [])}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A small recording of workload.py's stacks scenario (5 stalls)."""
    out = str(tmp_path_factory.mktemp("fresh") / "run.lsr")
    ls = run_text("record", "stacks", "-o", out)
    assert any("wrote 5 stalls" in l for l in ls.lines), ls.lines
    return out


@pytest.fixture(scope="module")
def awaits(tmp_path_factory):
    """A recording of sequential awaits (awaits_workload.py: LS120)."""
    version, root, python = pythons()[0][:3]
    out = str(tmp_path_factory.mktemp("awaits") / "awaits.lsr")
    w = script_workload("awaits", AWAITS, root, python)
    beside(w, "record", "-p", str(w.pid), "-o", out, "-f", "json")
    return out


# ---- SARIF ------------------------------------------------------------

@pytest.mark.parametrize("source_root", [False, True], ids=["absolute", "source-root"])
def test_sarif_of_the_committed_recording_validates(multitool, tmp_path, source_root):
    args = ["--source-root", stally_root()] if source_root else []
    d = assert_valid_sarif(multitool, tmp_path,
                           report("stally.lsr", "-f", "sarif", *args, cwd=GOLDEN))
    run = d["runs"][0]
    assert run["tool"]["driver"]["informationUri"] == "file:///usr/share/doc/loopstall/"
    assert len(run["results"]) == 6
    if source_root:     # relative to SRCROOT, as code scanning wants them
        assert uris(d) == {"SRCROOT:examples/stally.py"}
        assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == \
            "file://" + stally_root() + "/"
    else:
        assert uris(d) == {":file://" + stally_root() + "/examples/stally.py"}


@pytest.mark.parametrize("name", ["stally.sarif", "report.sarif"])
def test_the_golden_sarif_files_validate(multitool, tmp_path, name):
    with open(os.path.join(GOLDEN, name)) as f:
        assert_valid_sarif(multitool, tmp_path, f.read())


def test_sarif_of_a_recording_cut_short_validates(multitool, tmp_path):
    with open(os.path.join(GOLDEN, "stally.lsr"), "rb") as f:
        data = f.read()
    cut = tmp_path / "cut.lsr"
    cut.write_bytes(data[:-100])
    d = assert_valid_sarif(multitool, tmp_path, report(str(cut), "-f", "sarif"))
    note, = d["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "warning" and "cut short" in note["message"]["text"]


@pytest.mark.parametrize("source_root", [False, True], ids=["absolute", "source-root"])
def test_sarif_of_a_fresh_recording_validates(multitool, tmp_path, fresh, source_root):
    args = ["--source-root", ROOT] if source_root else []
    d = assert_valid_sarif(multitool, tmp_path, report(fresh, "-f", "sarif", *args))
    assert {r["ruleId"] for r in d["runs"][0]["results"]} >= {"LS020"}
    if source_root:
        assert "SRCROOT:tests/e2e/workload.py" in uris(d), uris(d)


def test_sarif_of_sequential_awaits_validates(multitool, tmp_path, awaits):
    d = assert_valid_sarif(multitool, tmp_path, report(awaits, "-f", "sarif"))
    seq = [r for r in d["runs"][0]["results"] if r["ruleId"] == "LS120"]
    assert seq and all("endLine" in r["locations"][0]["physicalLocation"]["region"]
                       for r in seq), d["runs"][0]["results"]


def test_the_multitool_rejects_broken_sarif(multitool, tmp_path):
    good = json.loads(report("stally.lsr", "-f", "sarif", cwd=GOLDEN))

    def problems(edit):
        d = copy.deepcopy(good)
        edit(d["runs"][0])
        return sarif_problems(multitool, tmp_path, json.dumps(d))[0]

    # not SARIF by its schema: a tool without a name
    p = problems(lambda run: run["tool"]["driver"].pop("name"))
    assert p == [("error", "JSON1002")], p
    # SARIF by the schema, not by the rules: a result's rule not in the run
    p = problems(lambda run: run["results"][0].update(
        ruleIndex=len(run["tool"]["driver"]["rules"])))
    assert p == [("error", "SARIF1009")], p
    # a warning (the multitool exits 0 on it too): no informationUri
    p = problems(lambda run: run["tool"]["driver"].pop("informationUri"))
    assert p == [("warning", "SARIF2005")], p


def test_the_sarif_schema_rejects_broken_sarif(sarif_schema, tmp_path):
    d = json.loads(report("stally.lsr", "-f", "sarif", cwd=GOLDEN))
    d["runs"][0]["results"][0]["level"] = "info"       # SARIF's is "note"
    d["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    d["runs"][0]["tool"]["driver"]["informationUri"] = "no uri"
    rc, lines = schema_check(sarif_schema, tmp_path, json.dumps(d))
    assert rc == 1 and len(lines) == 3, lines
    for want in ("/runs/0/results/0/level must be equal to one of the allowed values",
                 "/runs/0/results/1/locations/0/physicalLocation/region/startLine must be >= 1",
                 '/runs/0/tool/driver/informationUri must match format "uri"'):
        assert any(want in l for l in lines), (want, lines)


# ---- speedscope -------------------------------------------------------

def test_the_schema_is_the_one_the_output_names(schema):
    with open(schema) as f:
        s = json.load(f)
    assert s["$schema"] == "http://json-schema.org/draft-07/schema#"
    named = s["definitions"]["FileFormat.File"]["properties"]["$schema"]["const"]
    d = json.loads(report("stally.lsr", "-f", "speedscope", cwd=GOLDEN))
    assert d["$schema"] == named == "https://www.speedscope.app/file-format-schema.json"


def test_speedscope_of_the_committed_recording_validates(schema, tmp_path):
    d = assert_valid_speedscope(schema, tmp_path,
                                report("stally.lsr", "-f", "speedscope", cwd=GOLDEN))
    assert d["profiles"] and all(p["type"] == "sampled" and p["unit"] == "microseconds"
                                 and p["samples"] for p in d["profiles"])


def test_speedscope_of_a_fresh_recording_validates(schema, tmp_path, fresh):
    d = assert_valid_speedscope(schema, tmp_path, report(fresh, "-f", "speedscope"))
    names = {f["name"] for f in d["shared"]["frames"]}
    assert any(n.startswith("recurse (workload.py:") for n in names), sorted(names)


def test_speedscope_of_a_recording_cut_short_validates(schema, tmp_path):
    with open(os.path.join(GOLDEN, "stally.lsr"), "rb") as f:
        data = f.read()
    cut = tmp_path / "cut.lsr"
    cut.write_bytes(data[:-100])
    assert_valid_speedscope(schema, tmp_path, report(str(cut), "-f", "speedscope"))


def test_the_schema_and_the_importer_checks_reject_broken_speedscope(schema, tmp_path):
    good = json.loads(report("stally.lsr", "-f", "speedscope", cwd=GOLDEN))
    d = copy.deepcopy(good)
    d["profiles"][0]["unit"] = "ms"
    del d["shared"]["frames"][0]["name"]
    rc, lines = schema_check(schema, tmp_path, json.dumps(d))
    assert rc == 1
    assert any("/profiles/0/unit must be equal to one of the allowed values" in l
               for l in lines), lines
    assert any("/shared/frames/0 must have required property 'name'" in l
               for l in lines), lines
    rc, lines = schema_check(schema, tmp_path, "{not json")
    assert rc == 1 and "not JSON" in lines[0], lines
    # valid by the schema, not for the importer
    d = copy.deepcopy(good)
    d["profiles"][0]["weights"].pop()
    d["profiles"][0]["samples"][0].append(len(d["shared"]["frames"]))
    assert schema_check(schema, tmp_path, json.dumps(d)) == (0, ["valid"])
    p = importer_problems(d)
    assert len(p) == 3 and "samples" in p[0] and "frame index" in p[1] and \
        "endValue" in p[2], p
