"""Plugin discovery and failure handling (twin_core.pluginmanager)."""

import importlib.metadata as md
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from twin_core import hookimpl
from twin_core.errors import BuildError, PluginError, UserError
from twin_core.pluginmanager import GROUP, OrbitwinPluginManager, PluginLoadWarning, make_plugin_manager
from twin_core.testing import run_scenario

HERE = Path(__file__).parent
TOY = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 1
step_s = 60
record_every_s = 600
[toy]
count = 3
"""

#: The least a plugin module holds: one hook (a module with none is refused).
HOOK = "from twin_core import hookimpl\n@hookimpl\ndef orbitwin_config_sections():\n    return {}\n"


def install_fake_distribution(root: Path, dist: str, module: str, ep_name: str, body: str) -> None:
    """Lay out a module plus its .dist-info as pip would, so importlib.metadata finds its
    entry point (an installed package without running pip)."""
    (root / f"{module}.py").write_text(textwrap.dedent(body))
    info = root / f"{dist}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[orbitwin]\n{ep_name} = {module}\n")


THIRD_PARTY = '''
    """A third party's plugin: one output derived from the toy clock."""
    import taichi as ti
    from twin_core import Stage, Variable, hookimpl

    @hookimpl
    def orbitwin_variables(scenario):
        return [Variable("extra.triple_s", "s", "three times the clock", "output")]

    @hookimpl
    def orbitwin_stages(scenario, state):
        clock, out = state.field("toy.clock_s"), state.field("extra.triple_s")

        @ti.func
        def triple(i, k, t, dt):
            out[i] = 3.0 * clock[i]

        return [Stage("extra.triple", triple, writes=["extra.triple_s"], reads=["toy.clock_s"])]
'''


@pytest.fixture
def fake_site(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_entry_point_plugin_is_found_and_runs(fake_site):
    install_fake_distribution(fake_site, "orbitwin_extra", "orbitwin_extra", "extra", THIRD_PARTY)
    pm = make_plugin_manager(extra=["toy_counter"], disable=["environment"])
    assert pm.infos["extra"].version == "1.2.3" and "orbitwin_extra" in pm.infos["extra"].origin
    assert pm.infos["orbit"].origin == "built-in"
    res = run_scenario(TOY, pm=pm)
    assert res.sat["extra.triple_s"][-1, 0] == pytest.approx(3 * 3600.0)


def test_broken_plugin_warns_by_name_and_run_goes_on(fake_site):
    install_fake_distribution(fake_site, "orbitwin_bad", "orbitwin_bad", "bad",
                              "raise ImportError('broken on purpose')\n")
    with pytest.warns(PluginLoadWarning, match="'bad'.*broken on purpose"):
        pm = make_plugin_manager(extra=["toy_counter"], disable=["environment"])
    assert "bad" in pm.failed
    assert run_scenario(TOY, pm=pm).sat["toy.clock_s"][-1, 0] == 3600.0


def test_misspelt_hook_is_an_error():
    with pytest.raises(BuildError, match="orbitwin_varaibles"):
        make_plugin_manager(extra=["misspelt_hook"], entry_points=False)


def test_raising_hook_names_plugin_and_hook():
    pm = make_plugin_manager(extra=["toy_counter", "raising_hook"], disable=["environment"])
    with pytest.raises(PluginError, match="'raising_hook'.*'orbitwin_metrics'.*metrics exploded"):
        run_scenario(TOY, pm=pm)


def test_disable_leaves_a_plugin_out():
    pm = make_plugin_manager(disable=["environment"])
    assert pm.get_plugin("environment") is None and pm.infos["environment"].origin == "disabled"


def test_cli_plugins_lists_entry_point_and_builtins(fake_site):
    install_fake_distribution(fake_site, "orbitwin_extra", "orbitwin_extra", "extra", THIRD_PARTY)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(fake_site), str(HERE / "plugins")]))
    out = subprocess.run([sys.executable, "-m", "twin_core", "plugins"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for word in ("orbit", "environment", "extra", "extra.triple_s", "built-in", "orbit.r_eci_m"):
        assert word in out.stdout


# -- --disable: a typo is refused, a disabled plugin's table is explained ------------------


def test_disable_of_a_name_no_plugin_has_is_refused_with_the_closest():
    """Before, `--disable orbt` was silently ignored and the orbit plugin ran."""
    with pytest.raises(UserError, match=r"--disable orbt: no plugin is named 'orbt'; did you mean 'orbit'\?"):
        make_plugin_manager(disable=["orbt"])
    with pytest.raises(UserError, match="no plugin is named 'zzz'; plugins: battery, "):
        make_plugin_manager(disable=["zzz"])


def test_disable_with_plugin_of_the_same_name_replaces_the_installed_one():
    """`--disable orbit --plugin my_orbit.py` (a module named orbit) is how one tries a
    modified copy of an installed plugin: the installed one is left out, the module
    given runs under that name."""
    pm = make_plugin_manager(extra=["toy_counter"], disable=["toy", "orbit"])
    assert pm.get_plugin("toy") is not None and set(pm.disabled) == {"orbit"}
    assert pm.infos["toy"].origin == "--plugin"


def test_a_table_of_a_disabled_plugin_is_explained_by_the_scenario_loader():
    """`pm.unavailable` (failed and disabled plugins) is what the scenario loader needs
    to say why [orbit] is not known; `pm.failed` keeps only real load failures."""
    from twin_core.errors import ScenarioError
    from twin_core.scenario import parse_scenario

    pm = make_plugin_manager(disable=["orbit"])
    assert "orbit" not in pm.failed and "--disable orbit" in pm.unavailable["orbit"]
    text = TOY.replace("[toy]\ncount = 3\n", "[[orbit.shell]]\ntotal = 4\n")
    with pytest.raises(ScenarioError, match=r"key 'orbit': .*plugin 'orbit'.*--disable orbit"):
        parse_scenario(text, "s.toml", pm.config_sections(), pm.unavailable)


# -- --plugin: by file path, or by module name without the working directory first ------------


@pytest.fixture
def clean_path(monkeypatch):
    """sys.path as pytest has it minus the working directory, restored afterwards; the
    modules the test imports are forgotten afterwards."""
    before = set(sys.modules)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", os.getcwd())])
    yield
    for name in set(sys.modules) - before:
        if "_xq" in name:
            del sys.modules[name]


def test_plugin_module_never_imports_a_stray_from_the_working_directory(tmp_path, monkeypatch, clean_path):
    """A plugin importing a library must get the library, not a same-named file in the
    working directory (before the fix the working directory went first on sys.path)."""
    lib, cwd = tmp_path / "lib", tmp_path / "cwd"
    lib.mkdir(), cwd.mkdir()
    (lib / "shadow_lib_xq.py").write_text("REAL = True\n")
    (lib / "uses_shadow_xq.py").write_text("import shadow_lib_xq\nassert shadow_lib_xq.REAL\n" + HOOK)
    (cwd / "shadow_lib_xq.py").write_text("raise ImportError('stray shadow_lib_xq.py imported')\n")
    monkeypatch.syspath_prepend(str(lib))
    monkeypatch.chdir(cwd)
    pm = make_plugin_manager(extra=["uses_shadow_xq"], entry_points=False)
    assert pm.get_plugin("uses_shadow_xq") is not None
    assert str(cwd) not in sys.path


def test_plugin_module_only_in_the_working_directory_is_found_last(tmp_path, monkeypatch, clean_path):
    (tmp_path / "only_here_xq.py").write_text("PLUGIN_NAME = 'only_here'\n" + HOOK)
    monkeypatch.chdir(tmp_path)
    pm = make_plugin_manager(extra=["only_here_xq"], entry_points=False)
    assert pm.get_plugin("only_here") is not None and sys.path[-1] == str(tmp_path)


def test_plugin_file_is_loaded_by_path_under_a_module_name_of_its_own(tmp_path, clean_path):
    """`--plugin dir/cattrs.py` is that file, as plugin 'cattrs', and leaves the cattrs
    library alone; loading it twice gives one module."""
    import cattrs

    (tmp_path / "cattrs.py").write_text("'''a plugin file that happens to be called cattrs'''\nMARK_XQ = 1\n" + HOOK)
    pm = make_plugin_manager(extra=[str(tmp_path / "cattrs.py")], entry_points=False)
    plugin = pm.get_plugin("cattrs")
    assert plugin.MARK_XQ == 1 and sys.modules["cattrs"] is cattrs
    assert pm.infos["cattrs"].module == str((tmp_path / "cattrs.py").resolve())
    again = make_plugin_manager(extra=[str(tmp_path / "cattrs.py")], entry_points=False)
    assert again.get_plugin("cattrs") is plugin
    with pytest.raises(UserError, match="--plugin .*missing.py: no such file"):
        make_plugin_manager(extra=[str(tmp_path / "missing.py")], entry_points=False)


# -- hook order: built-ins first, then other installed plugins by name, then --plugin ---------

ORBIT_ONLY = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 0.5
step_s = 60
record_every_s = 900
[[orbit.shell]]
kind = "walker_delta"
total = 4
planes = 2
phasing = 1
altitude_km = 550
inclination = 53
"""
BUILTIN_ORDER = ["orbit", "environment", "solar", "battery", "power", "payload", "thermal", "formation", "crosslinks",
                 "ground", "launch", "costs", "sizing", "radiation",
                 "latency", "compare"]  # as documented
NOT_ORBIT = BUILTIN_ORDER[1:]


def installed_as(monkeypatch, *extra: tuple[str, str]) -> None:
    """Make `importlib.metadata` list the built-ins (in reverse, so that nothing hangs on
    the order they are found in) plus ``(entry-point name, value)`` pairs, as if those
    were installed packages' plugins."""
    real = md.entry_points
    eps = list(reversed(list(real(group=GROUP)))) + [md.EntryPoint(n, v, GROUP) for n, v in extra]
    monkeypatch.setattr(md, "entry_points", lambda **kw: eps if kw.get("group") == GROUP else real(**kw))


class Probe:
    def __init__(self, name):
        self.name = name

    @hookimpl
    def orbitwin_summary(self, store):
        return self.name


class FirstProbe(Probe):
    @hookimpl(tryfirst=True)
    def orbitwin_summary(self, store):
        return self.name


class LastProbe(Probe):
    @hookimpl(trylast=True)
    def orbitwin_summary(self, store):
        return self.name


def test_hooks_are_called_in_registration_order_with_tryfirst_and_trylast():
    """pluggy lists implementations in registration order and calls them backwards; the
    core called them in reverse of that reverse, LIFO again: the last plugin ran first."""
    pm = OrbitwinPluginManager()
    for probe in (LastProbe("late"), Probe("a"), FirstProbe("eager"), Probe("b"), LastProbe("later"),
                  FirstProbe("eager2")):
        pm.register(probe, name=probe.name)
    assert [name for name, _ in pm.call("orbitwin_summary", store=None)] == [
        "eager", "eager2", "a", "b", "late", "later"]


def test_builtins_register_first_in_their_order_then_installed_by_name_then_plugin_modules(monkeypatch):
    installed_as(monkeypatch, ("zeta", "orbit_reader"), ("alpha", "u8_flags"))
    pm = make_plugin_manager(extra=["toy_counter", "raising_hook"])
    order = [name for name, _ in pm.list_name_plugin()]
    assert order == [*BUILTIN_ORDER, "alpha", "zeta", "toy", "raising_hook"]
    callers = [name for name, _ in pm.call("orbitwin_variables", scenario=None)]
    assert callers == [n for n in order if n in callers] and callers[0] == "orbit"


def test_a_third_party_initial_state_sees_what_the_orbit_set(monkeypatch):
    """'a_reader' sorts before every built-in by name and still runs after the orbit:
    before, it ran first and read a semi-major axis of zero (altitude -6378 km)."""
    installed_as(monkeypatch, ("a_reader", "orbit_reader"))
    pm = make_plugin_manager(disable=NOT_ORBIT)
    res = run_scenario(ORBIT_ONLY, pm=pm)
    assert res.final["orbit_reader.altitude_m"] == pytest.approx(np.full(4, 550e3), rel=1e-3)


def test_a_second_constellation_is_refused_naming_both_unless_marked_tryfirst(monkeypatch):
    """Before, the third-party table silently replaced the orbit's (it was called first)."""
    from twin_core.plan import make_plan
    from twin_core.runner import parse

    installed_as(monkeypatch, ("rival", "rival_constellation"))
    pm = make_plugin_manager(disable=NOT_ORBIT)
    with pytest.raises(BuildError) as err:
        make_plan(parse(ORBIT_ONLY, pm), pm)
    assert str(err.value) == (
        "plugins 'orbit' and 'rival' both define the constellation (orbitwin_satellites); disable one with "
        "--disable, or mark the hook of the one meant to win @hookimpl(tryfirst=True)")
    installed_as(monkeypatch, ("override", "rival_constellation:override"))
    pm = make_plugin_manager(disable=NOT_ORBIT)
    plan = make_plan(parse(ORBIT_ONLY, pm), pm)
    assert plan.satellites.count == 4 and not plan.satellites.plane.any()  # the override's table


def test_cli_second_constellation_is_exit_2_naming_both_without_traceback(tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text(ORBIT_ONLY)
    env = dict(os.environ, PYTHONPATH=str(HERE / "plugins"))
    out = subprocess.run([sys.executable, "-m", "twin_core", "validate", str(scenario),
                          "--plugin", "rival_constellation"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1] == (
        "orbitwin: error: plugins 'orbit' and 'rival_constellation' both define the constellation "
        "(orbitwin_satellites); disable one with --disable, or mark the hook of the one meant to win "
        "@hookimpl(tryfirst=True)")


def test_a_plugin_module_with_no_hooks_is_refused():
    """`--plugin cattrs` (a library, not a plugin) was accepted silently and recorded in
    the store's plugin set."""
    with pytest.raises(UserError, match="--plugin cattrs: the module .* implements no orbitwin hook"):
        make_plugin_manager(extra=["cattrs"])
