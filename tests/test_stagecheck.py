"""Build checks of the plugins' stages (`twin_core.stagecheck`, issue 9 items 5 and 6):
``orbitwin validate`` makes every check a run makes without allocating or compiling, and
a stage that is wrong (signature, a field it touches undeclared, taichi code that does not
compile) is reported naming its plugin and stage, exit status 3, no traceback.

The toy plugin ``faulty_stages`` (tests/plugins) holds one mistake per ``[faulty] case``.
"""

import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from twin_core.errors import BuildError, PluginError, StageError
from twin_core.plan import make_plan
from twin_core.runner import parse, plugin_manager
from twin_core.stagecheck import check_stages, compile_errors_named, taichi_message

HERE = Path(__file__).parent
ROOT = HERE.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))
FAULTY = HERE / "plugins" / "faulty_stages.py"
ENV = dict(os.environ, PYTHONPATH=str(HERE / "plugins"))
TOY = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 1
step_s = 7.5
record_every_s = 450
[toy]
count = 6
planes = 3
"""
TOY_ARGS = ["--plugin", "toy_counter", "--plugin", "faulty_stages", "--disable", "orbit", "--disable", "environment"]


def orbitwin(*args):
    return subprocess.run([sys.executable, "-m", "twin_core", *args], env=ENV, capture_output=True, text=True,
                          timeout=300)


def faulty(tmp_path, case, base=TOY):
    p = tmp_path / f"{case}.toml"
    p.write_text(base + f'\n[faulty]\ncase = "{case}"\n')
    return p


def line_of(text, path=FAULTY):
    """The line number of ``text`` in ``path`` (for taichi's source locations)."""
    return next(no for no, line in enumerate(path.read_text().splitlines(), 1) if text in line)


# -- every built-in plugin with every example passes ------------------------------------


@pytest.fixture(scope="module")
def default_pm():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return plugin_manager()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_passes_every_build_check(default_pm, path):
    """`check_build` with the engine's own stages, as ``orbitwin validate`` calls it."""
    from twin_core.cli.validate import checked_stages

    plan = make_plan(parse(path.read_text(), default_pm, str(path)), default_pm)
    ordered = checked_stages(plan, default_pm)
    names = [s.name for _p, s in ordered]
    assert names[0] in ("orbit.propagate", "payload.policy") and "environment.step" in names
    assert len(names) == len(set(names))
    assert {p for p, _s in ordered} <= set(default_pm.infos) | {"core"}


def test_the_engine_s_real_fields_pass_the_same_checks(default_pm):
    """`check_stages` over a built engine's real taichi fields (what the engine runs
    before the store exists) finds every field each built-in stage touches."""
    from twin_core.engine import Engine
    from twin_core.stagecheck import field_use, python_function

    path = ROOT / "examples" / "starcloud.toml"
    engine = Engine(parse(path.read_text(), default_pm, str(path)), default_pm)
    try:
        check_stages(engine.stages, engine.state)
        names = engine.state.field_names()
        by_name = {s.name: s for _p, s in engine.stages}
        use = field_use(python_function(by_name["battery.step"].func), names)
        assert {n for _k, n in use.written} == set(by_name["battery.step"].writes)
        assert {n for _k, n in use.touched - use.written} == {"power.net_w", "battery.max_discharge_w", "battery.max_charge_w"}
    finally:
        engine.close()


def test_check_build_allocates_nothing_and_never_starts_taichi():
    code = (
        "import taichi.lang.impl as impl\n"
        "import twin_core.fieldpool as fp\n"
        "from twin_core.cli.validate import checked_stages\n"
        "from twin_core.runner import plugin_manager, load\n"
        "from twin_core.plan import make_plan\n"
        "from twin_core.state import DryField\n"
        "pm = plugin_manager()\n"
        f"plan = make_plan(load({str(ROOT / 'examples' / 'walker_550km.toml')!r}, pm), pm)\n"
        "ordered = checked_stages(plan, pm)\n"
        "assert impl.get_runtime().prog is None, 'taichi was started'\n"
        "assert fp._POOL == {}, 'fields were allocated'\n"
        "by_name = {s.name: s for _p, s in ordered}\n"
        "cell = dict(zip(by_name['battery.step'].func.__wrapped__.__code__.co_freevars,\n"
        "                by_name['battery.step'].func.__wrapped__.__closure__))\n"
        "assert any(isinstance(c.cell_contents, DryField) for c in cell.values())\n"
        "print(len(ordered))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) >= 10 and "[Taichi]" not in r.stdout


def test_dry_state_checks_names_and_shapes_and_keeps_what_is_set():
    from twin_core.state import DryField, DryState

    pm = plugin_manager(["toy_counter"], ["orbit", "environment"])
    plan = make_plan(parse(TOY, pm, "toy.toml"), pm)
    st = DryState(plan.variables, plan.common, plan.satellites, 2, 4)
    assert isinstance(st.field("toy.clock_s"), DryField) and st.field("toy.clock_s").name == "toy.clock_s"
    st.set("toy.rate", np.arange(6.0))
    assert st.get("toy.rate").tolist() == [2.0, 3.0]
    assert st.get("toy.clock_s").tolist() == [0.0, 0.0]
    with pytest.raises(BuildError, match="no variable 'toy.clock' is declared by any loaded plugin .*'toy.clock_s'"):
        st.set("toy.clock", 1.0)
    with pytest.raises(ValueError):
        st.set("toy.rate", np.zeros(5))
    with pytest.raises(BuildError, match="no variable 'toy.nothing'"):
        st.field("toy.nothing")


class _Field:
    """Stands for a field in `test_field_use_follows_globals_containers_and_helpers`."""


GLOBAL_FIELD = _Field()


def test_field_use_follows_globals_containers_and_helpers():
    """What a stage touches: closure cells, module globals it loads, fields in tuples and
    dicts, ti.funcs it calls; what it assigns: ``f[i] =``, ``f[i][0] +=``, tuple targets,
    ``ti.static(fs)[j][i] =``, ``ti.atomic_add(f[i], ...)``, in helpers too."""
    import taichi as ti

    from twin_core.stagecheck import field_use, python_function

    a, b, c, d, e, g = (_Field() for _ in range(6))
    fs, table = (c, d), {"e": e}
    names = {id(f): ("variable", n) for f, n in
             ((a, "x.a"), (b, "x.b"), (c, "x.c"), (d, "x.d"), (e, "x.e"), (g, "x.g"), (GLOBAL_FIELD, "x.glob"))}

    @ti.func
    def helper(i):
        ti.atomic_add(g[i], 1.0)
        return table["e"][i]

    @ti.func
    def stage(i, k, t, dt):
        a[i][0] += GLOBAL_FIELD[i] + helper(i)
        for j in ti.static(range(2)):
            ti.static(fs)[j][i] = b[i]

    use = field_use(python_function(stage), names)
    assert sorted(n for _k, n in use.touched) == ["x.a", "x.b", "x.c", "x.d", "x.e", "x.g", "x.glob"]
    assert sorted(n for _k, n in use.written) == ["x.a", "x.c", "x.d", "x.g"]
    assert use.unread == []


# -- orbitwin validate runs every build check ---------------------------------------------


#: What validate says of the declaration and ordering mistakes (messages of
#: `twin_core.state`, `twin_core.contributions` and `twin_core.ordering`): exit 2, one line
#: naming what these words name, in any order.
BUILD_ERRORS = {
    "declared_twice": ["variable 'toy.clock_s' is declared by both plugins", "'faulty'", "'toy'"],
    "two_writers": ["variable 'toy.double_s' has two writers", "stage 'faulty.double' of plugin 'faulty'",
                    "stage 'toy.derive' of plugin 'toy'"],
    "reads_nothing": ["stage 'faulty.step' of plugin 'faulty' reads 'toy.nothing_s', which no loaded plugin "
                      "provides"],
    "cycle": ["stages depend on each other in a cycle: faulty.first, faulty.second"],
}

#: What a run and validate say of a wrong stage (`twin_core.stagecheck`): exit 3, exactly.
STAGE_ERRORS = {
    "signature": "plugin 'faulty', stage 'faulty.short': its function takes (i, k) but a stage function takes "
                 "(i, k, t, dt)",
    "not_a_taichi_func": "plugin 'faulty', stage 'faulty.plain': its function 'plain' is not a taichi function: "
                         "decorate it with @ti.func",
    "writes_undeclared": "plugin 'faulty', stage 'faulty.step': writes 'toy.clock_s' (state of plugin 'toy') "
                         "without declaring it in writes; stage 'toy.tick' of plugin 'toy' writes it, and a "
                         "variable has exactly one writer",
    "writes_through_helper": "plugin 'faulty', stage 'faulty.step': writes 'toy.clock_s' (state of plugin 'toy') "
                             "without declaring it in writes; stage 'toy.tick' of plugin 'toy' writes it, and a "
                             "variable has exactly one writer",
    "reads_undeclared": "plugin 'faulty', stage 'faulty.step': uses 'toy.clock_s' (state of plugin 'toy') "
                        "without declaring it: add it to the stage's reads (its value at this step) or "
                        "reads_previous (its value at the previous step); a field its function refers to "
                        "counts even in code ti.static leaves out, so fetch it only where used",
    "writes_parameter": "plugin 'faulty', stage 'faulty.step': writes 'toy.rate', a parameter of plugin 'toy' "
                        "(constant during the run): no stage may write it",
}


@pytest.mark.parametrize("case", sorted(BUILD_ERRORS))
def test_validate_refuses_declarations_and_orders_a_run_refuses(tmp_path, case):
    r = orbitwin("validate", str(faulty(tmp_path, case)), *TOY_ARGS)
    assert r.returncode == 2 and r.stdout == "", r.stderr
    assert r.stderr.startswith("orbitwin: error: ") and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    for words in BUILD_ERRORS[case]:
        assert words in r.stderr


@pytest.mark.parametrize("case", sorted(STAGE_ERRORS))
def test_validate_names_the_plugin_and_stage_of_a_wrong_stage(tmp_path, case):
    r = orbitwin("validate", str(faulty(tmp_path, case)), *TOY_ARGS)
    assert (r.returncode, r.stderr, r.stdout) == (3, f"orbitwin: error: {STAGE_ERRORS[case]}\n", "")


@pytest.mark.parametrize("case", ["reads_parameter", "fine", "compile_error"])
def test_validate_accepts_undeclared_parameter_reads_and_does_not_compile(tmp_path, case):
    """A parameter has no writer, so reading it undeclared orders nothing (the built-in
    plugins declare theirs anyway); validate compiles nothing, so taichi code that does
    not compile passes it (the run names the stage, below)."""
    r = orbitwin("validate", str(faulty(tmp_path, case)), *TOY_ARGS)
    assert r.returncode == 0, r.stderr
    m = re.search(r"^  stages: 3 checked, from 2 plugins; they run in this order: (.+)$", r.stdout, re.M)
    assert m, r.stdout
    order = m[1].split(", ")
    mine = "faulty.broken" if case == "compile_error" else "faulty.step"
    assert sorted(order) == sorted(["toy.tick", "toy.derive", mine])
    assert order.index("toy.tick") < order.index("toy.derive")
    if case == "fine":  # reads toy.clock_s
        assert order.index("toy.tick") < order.index("faulty.step")
    assert "[Taichi]" not in r.stdout + r.stderr


def test_validate_refuses_a_stage_pinning_every_battery(tmp_path):
    """The issue's case: a plugin assigning ``battery.energy_j`` (declared and written by
    the battery plugin) from a stage that does not declare it."""
    base = (ROOT / "examples" / "starcloud.toml").read_text()
    r = orbitwin("validate", str(faulty(tmp_path, "pin_battery", base)), "--plugin", "faulty_stages")
    assert r.returncode == 3 and r.stdout == ""
    assert r.stderr == ("orbitwin: error: plugin 'faulty', stage 'faulty.pin': writes 'battery.energy_j' (state of "
                        "plugin 'battery') without declaring it in writes; stage 'battery.step' of plugin 'battery' "
                        "writes it, and a variable has exactly one writer\n")


def test_validate_refuses_an_external_policy_with_no_writer(tmp_path):
    base = (ROOT / "examples" / "starcloud.toml").read_text()
    assert "\n[payload]\n" in base
    p = tmp_path / "external.toml"
    p.write_text(base.replace("\n[payload]\n", '\n[payload]\npolicy = "external"\n'))
    r = orbitwin("validate", str(p))
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr
    assert r.stderr.startswith("orbitwin: error: ") and r.stderr.count("\n") == 1
    assert "policy = 'external'" in r.stderr and "'payload.requested_state'" in r.stderr


# -- a run names the stage -----------------------------------------------------------------


def test_a_run_refuses_an_undeclared_write_before_the_store_exists(tmp_path):
    out = tmp_path / "run.zarr"
    r = orbitwin("run", str(faulty(tmp_path, "writes_undeclared")), "-o", str(out), "-q", *TOY_ARGS)
    assert (r.returncode, r.stderr) == (3, f"orbitwin: error: {STAGE_ERRORS['writes_undeclared']}\n")
    assert not out.exists()


def test_a_stage_that_does_not_compile_is_named_with_taichi_s_message(tmp_path):
    out = tmp_path / "run.zarr"
    r = orbitwin("run", str(faulty(tmp_path, "compile_error")), "-o", str(out), "-q", *TOY_ARGS)
    n = line_of("out[i] = t * undefined_in_taichi")
    assert r.returncode == 3, r.stderr
    m = re.fullmatch(r"orbitwin: error: plugin 'faulty', stage 'faulty\.broken': File \"(.+)\", line (\d+), in "
                     r"broken: out\[i\] = t \* undefined_in_taichi.*; Name \"undefined_in_taichi\" is not defined\n",
                     r.stderr)
    assert m, r.stderr
    assert Path(m[1]).resolve() == FAULTY.resolve() and int(m[2]) == n
    assert "Traceback" not in r.stderr and "kernel.py" not in r.stderr
    assert not out.exists()  # the kernel is compiled before the store is created


# -- compile errors, in process --------------------------------------------------------------


def _fused(funcs):
    """A fused kernel of ``funcs`` as the engine builds it, over a few small fields."""
    import taichi as ti

    from twin_core.kernel import build_step_kernel

    lo, hi = ti.field(ti.i32, shape=1), ti.field(ti.i32, shape=1)
    bad, acc = ti.field(ti.i32, shape=(1, 2)), ti.field(ti.f64, shape=(1, 1, 1))
    return build_step_kernel(tuple(funcs), (), acc, (), lo, hi, bad)


def _stages():
    """Four stages over one field: ``fine``; ``helper_user`` calling ``helper`` (which
    does not compile); two from one factory, only the second broken."""
    import taichi as ti

    from twin_core import Stage

    a = ti.field(ti.f64, shape=8)

    @ti.func
    def fine(i, k, t, dt):
        a[i] = t

    @ti.func
    def helper(i):
        return a[i] + missing_in_helper  # noqa: F821

    @ti.func
    def helper_user(i, k, t, dt):
        a[i] = helper(i)

    def make(broken):
        @ti.func
        def made(i, k, t, dt):
            if ti.static(broken):
                a[i] = missing_in_made  # noqa: F821
            else:
                a[i] = dt
        return made

    return {"fine": ("p", Stage("p.fine", fine, writes=["p.x"])),
            "helper_user": ("q", Stage("q.user", helper_user, writes=["q.x"])),
            "made_ok": ("r", Stage("r.ok", make(False), writes=["r.x"])),
            "made_broken": ("s", Stage("s.broken", make(True), writes=["s.x"]))}


def _compile(stages):
    kernel = _fused([s.func for _p, s in stages])
    with pytest.raises(StageError) as info:
        with compile_errors_named(stages):
            kernel(0.0, 0.0, 1, 0)
    return info.value


def test_a_compile_error_in_a_helper_names_the_stage_that_calls_it():
    st = _stages()
    err = _compile([st["fine"], st["helper_user"]])
    here = Path(__file__).resolve()
    assert (err.plugin, err.stage, err.exit_code) == ("q", "q.user", 3)
    lines = str(err).splitlines()
    assert lines[0] == (f"plugin 'q', stage 'q.user': File \"{here}\", line {line_of('a[i] = helper(i)', here)}, "
                        "in helper_user: a[i] = helper(i)")
    assert lines[1] == (f"File \"{here}\", line {line_of('+ missing_in_helper', here)}, in helper: return a[i] + "
                        "missing_in_helper  # noqa: F821")
    assert lines[2:] == ['Name "missing_in_helper" is not defined']
    assert isinstance(err, PluginError) and err.__cause__ is not None


def test_stages_sharing_code_are_told_apart_by_compiling_each_alone():
    st = _stages()
    err = _compile([st["made_ok"], st["made_broken"], st["fine"]])
    assert (err.plugin, err.stage) == ("s", "s.broken")
    assert str(err).endswith('Name "missing_in_made" is not defined')
    assert "twin_core/kernel.py" not in str(err) and "twin_core/stagecheck.py" not in str(err)


def test_a_compile_error_no_stage_explains_is_raised_as_it_is():
    from taichi.lang.exception import TaichiCompilationError

    from twin_core.kernel import build_step_kernel
    import taichi as ti

    st = _stages()
    lo, hi = ti.field(ti.i32, shape=1), ti.field(ti.i32, shape=1)
    bad, acc = ti.field(ti.i32, shape=(1, 2)), ti.field(ti.f64, shape=(1, 1, 1))

    @ti.func
    def broken_fold(acc_, i):
        return acc_ + nothing_here  # noqa: F821

    kernel = build_step_kernel((st["fine"][1].func,), ((broken_fold, 0.0),), acc, (), lo, hi, bad)
    with pytest.raises(TaichiCompilationError, match="nothing_here"):
        with compile_errors_named([st["fine"]]):
            kernel(0.0, 0.0, 1, 0, 0)


def test_taichi_message_drops_python_tracebacks_and_carets():
    text = ('\nFile "/x/twin_core/kernel.py", line 67, in advance:\n            stage(i, k, t, dt)\n'
            '            ^^^^^^^^^^^^^^^^^^\nFile "/p/plug.py", line 30, in bad:\n        a[i] = ti.static({}["x"])\n'
            '                         ^^^^^^^\nTraceback (most recent call last):\n  File "/t/ast.py", line 27, '
            'in __call__\n    return method(ctx, node)\n           ^^^^^^\nKeyError: \'x\'\n')
    assert taichi_message(Exception(text)) == ('File "/p/plug.py", line 30, in bad: a[i] = ti.static({}["x"])\n'
                                               "KeyError: 'x'")


def test_stage_error_is_documented_and_pickles():
    from twin_core.cli import documented_errors

    assert StageError in documented_errors() and StageError.exit_code == 3
    e = pickle.loads(pickle.dumps(StageError("p", "p.s", "its function takes (i)")))
    assert (e.plugin, e.stage, str(e)) == ("p", "p.s", "plugin 'p', stage 'p.s': its function takes (i)")
