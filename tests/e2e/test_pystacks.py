# SPDX-License-Identifier: MIT
"""Python stacks of stalls, exact to the line, on every test Python."""
import pytest

from conftest import attach_text, markers, pythons, watch

PYTHONS = pythons()
IDS = [v for v, _, _ in PYTHONS]
M = markers()


def py_frames(stack):
    return [f for f in stack["frames"] if f["kind"] == "python"]


def dominant(stall):
    return max(stall["stacks"], key=lambda s: s["ms"])


def inner(stall, n):
    """(function, line) of the n innermost Python frames of the stall."""
    return [(f["function"], f["line"]) for f in py_frames(dominant(stall))[:n]]


@pytest.mark.parametrize("version,root,python", PYTHONS, ids=IDS)
def test_each_stall_shows_the_exact_python_frames(version, root, python):
    ls = watch("stacks", python=python, root=root)
    assert ls.rc == 0, ls.stderr
    st = ls.events("stall")
    assert len(st) == 5, [s["duration_ms"] for s in st]
    helper, method, lam, nested, deep = st
    assert inner(helper, 4) == [("helper3", M["helper3"]), ("helper2", M["helper2"]),
                                ("helper1", M["helper1"]),
                                ("stacks_scenario", M["helper0"])]
    assert inner(method, 2) == [("Repository.load", M["method"]),
                                ("stacks_scenario", M["method_call"])]
    assert inner(lam, 2) == [("stacks_scenario.<locals>.<lambda>", M["lambda"]),
                             ("stacks_scenario", M["lambda"])]
    assert inner(nested, 2) == [("stacks_scenario.<locals>.nested", M["nested"]),
                                ("stacks_scenario", M["nested_call"])]
    frames = py_frames(dominant(deep))
    assert frames[0]["function"] == "recurse" and frames[0]["line"] == M["deep"]
    assert [f["line"] for f in frames[1:121]] == [M["recurse"]] * 120
    assert len(frames) >= 121
    # 128 Python frames are read; beyond, the stack says it was cut
    if len(frames) > 128:
        assert frames[128]["function"].startswith("[outer frames not read"), frames[127:]
    for s in st:
        top = py_frames(dominant(s))[0]
        assert top["file"] == ls.workload_path and top["user"] is True
        assert top["code"].startswith(("time.sleep(0.15)", "(lambda: time.sleep")), top
        # the C function the thread is in; libc's own internals below it
        # (__internal_syscall_cancel…) have no exported symbol to name
        natives = [f["function"] for f in dominant(s)["frames"] if f["kind"] == "native"]
        assert "clock_nanosleep" in natives[:3], natives[:3]


def test_native_frames_name_the_c_function():
    ls = watch("sleep")
    s = ls.events("stall")[0]
    names = [f["function"] for f in dominant(s)["frames"]]
    i = names.index("clock_nanosleep")
    assert "time_sleep" in names[i:i + 4], names[:8]
    assert names.index("time_sleep") < names.index("sleep_scenario")


CALLED = {  # the C function Python called: its symbol, else the table's name
    "json": {"scanner_call", "_json.Scanner.__call__"},
    "re": {"_sre_SRE_Pattern_match", "re.Pattern.match",
           "re.Pattern.prefixmatch"},         # 3.15: match is its alias
    "pickle": {"_pickle_dumps", "_pickle.dumps"},
}


@pytest.mark.parametrize("version,root,python", PYTHONS, ids=IDS)
def test_c_functions_python_called_are_named_on_stripped_builds(version, root, python):
    """json's scanner, a precompiled pattern's match and pickle.dumps run
    C with no Python frame of their module. Where the interpreter is
    stripped (the chroots) their static functions have no symbol: the
    function Python called is named by the interpreter's own tables (a
    method's PyMethodDef, a type's tp_call), found at the start the unwind
    tables give. Most samples of each stall hold that frame."""
    ls = watch("cfuncs", python=python, root=root)
    assert ls.rc == 0, ls.stderr
    calls = {"json": "scan(text, 0)", "re": "slug.match(", "pickle": "pickle.dumps(doc)"}
    for what, call in calls.items():
        st = [s for s in ls.events("stall")
              if (py_frames(dominant(s))[0].get("code") or "").startswith(call)]
        assert len(st) == 1, (what, [(s["duration_ms"], py_frames(dominant(s))[0])
                                     for s in ls.events("stall")])
        s, = st
        named = sum(x["ms"] for x in s["stacks"]
                    if CALLED[what] & {f["function"] for f in x["frames"]
                                       if f["kind"] == "native"})
        assert named >= 0.5 * s["duration_ms"], \
            (what, named, [[f["function"] for f in x["frames"] if f["kind"] == "native"][:8]
                           for x in s["stacks"][:3]])


@pytest.mark.parametrize("version,root,python", PYTHONS, ids=IDS)
def test_a_thread_with_its_own_selector_loop_never_stalls(version, root, python):
    ls = watch("own_selector", python=python, root=root)
    st = ls.events("stall")
    # only the marker stall of the asyncio loop; the selector thread spins
    # 200 ms between its polls three times, and is not an event loop
    assert [(s["tid"], inner(s, 1)[0][0]) for s in st] == \
        [(ls.workload_pid, "own_selector_scenario")], st
    assert [l["tid"] for l in ls.events("loop")] == [ls.workload_pid]


def test_text_shows_the_trimmed_stack_with_the_source_line():
    out, lines = attach_text("sleep")
    assert "> sleep_scenario" in out and f"workload.py:{M['sleep']}" in out, out
    assert "time.sleep(0.2)" in out
    assert "base_events.py" not in out, "asyncio internals are trimmed"
    assert all(len(l.rstrip("\n")) < 80 for l in lines), out
    full, _ = attach_text("sleep", "--full-stacks")
    assert "base_events.py" in full and "Py_RunMain" in full, full


@pytest.mark.parametrize("version,root,python", PYTHONS, ids=IDS)
def test_freed_code_objects_whose_memory_is_reused_are_named_right(version, root, python):
    ls = watch("reuse", python=python, root=root)
    st = ls.events("stall")
    got = [(inner(s, 1)[0][0], py_frames(dominant(s))[0]["file"]) for s in st]
    assert got == [(f"fn_{i}", f"<gen{i}>") for i in range(6)], got
