"""Fail-soft loading (twin_core.pluginmanager): an installed plugin that is broken (fails to
import, a misspelt hook, a hook without @hookimpl, a hook asking for what its hook does
not pass) is reported once, naming it, the problem and the closest hook, and left out;
every command keeps working; a scenario using its table fails naming it. A module given
with --plugin is an error instead."""

import importlib.metadata as md
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from twin_core.errors import BuildError, ScenarioError
from twin_core.pluginmanager import GROUP, make_plugin_manager
from twin_core.scenario import parse_scenario

HERE = Path(__file__).parent
TOY = (HERE / "test_engine.py").read_text().split('TOY = """')[1].split('"""')[0]
TOY_ARGS = ["--plugin", "toy_counter", "--disable", "orbit", "--disable", "environment"]

MISSPELT = "function 'orbitwin_varaibles' (@hookimpl) matches no hook (did you mean 'orbitwin_variables'?)"
UNMARKED = ("function 'orbitwin_variables' lacks @hookimpl, so it would never be called (decorate it with "
            "twin_core.hookimpl); function 'orbitwn_metrics' lacks @hookimpl and is no hook, so it would never "
            "be called (did you mean 'orbitwin_metrics', decorated with twin_core.hookimpl?)")
WRONG_ARGUMENT = ("function 'orbitwin_variables' (@hookimpl) asks for argument 'state', which the hook does not pass "
                  "(it passes: scenario)")


def load_with_installed(monkeypatch, *extra: tuple[str, str], **kwargs):
    """A plugin manager whose installed plugins are the built-ins plus ``(entry-point
    name, module)`` pairs, as if packages providing them were installed; returns it and
    the load warnings."""
    real = md.entry_points
    eps = list(real(group=GROUP)) + [md.EntryPoint(name, value, GROUP) for name, value in extra]
    monkeypatch.setattr(md, "entry_points", lambda **kw: eps if kw.get("group") == GROUP else real(**kw))
    said: list[str] = []
    return make_plugin_manager(on_warning=said.append, **kwargs), said


@pytest.mark.parametrize("module, problem", [
    ("misspelt_hook", MISSPELT),
    ("unmarked_hook", UNMARKED),
    ("wrong_argument", WRONG_ARGUMENT),
])
def test_installed_plugin_with_a_hook_problem_is_left_out_with_one_warning(monkeypatch, module, problem):
    """Before, a misspelt hook or a wrong argument was a BuildError for every command,
    and a hook without @hookimpl went silently unused."""
    pm, said = load_with_installed(monkeypatch, ("tid", module))
    assert said == [f"orbitwin plugin 'tid' ({module}) is left out: {problem}"]
    assert pm.failed == {"tid": problem} and pm.get_plugin("tid") is None and "tid" not in pm.infos
    assert pm.get_plugin("orbit") is not None and pm.infos["orbit"].origin == "built-in"


def test_installed_plugins_can_be_given_as_a_list():
    said: list[str] = []
    pm = make_plugin_manager(installed=[md.EntryPoint("tid", "misspelt_hook", GROUP),
                                        md.EntryPoint("toy", "toy_counter", GROUP)], on_warning=said.append)
    assert [name for name, _ in pm.list_name_plugin()] == ["toy"] and pm.failed == {"tid": MISSPELT}
    assert len(said) == 1 and pm.infos["toy"].origin == "entry point of ?"


def test_a_table_of_a_broken_plugin_is_refused_naming_it(monkeypatch):
    pm, _ = load_with_installed(monkeypatch, ("tid", "misspelt_hook"))
    with pytest.raises(ScenarioError) as err:
        parse_scenario(TOY.replace("[toy]", "[tid]"), "s.toml", pm.config_sections(), pm.unavailable)
    assert str(err.value) == f"s.toml: key 'tid': this table belongs to plugin 'tid', which is not loaded: {MISSPELT}"


@pytest.mark.parametrize("module, problem", [
    ("misspelt_hook", MISSPELT),
    ("unmarked_hook", UNMARKED),
    ("wrong_argument", WRONG_ARGUMENT),
])
def test_plugin_module_given_by_name_with_a_hook_problem_is_an_error(module, problem):
    """--plugin is what the user asked for: an error naming it, the problem and the closest
    hook (before: pluggy's words with no suggestion, or nothing at all)."""
    with pytest.raises(BuildError) as err:
        make_plugin_manager(extra=[module], entry_points=False)
    assert str(err.value) == f"--plugin {module}: plugin '{module}': {problem}"


def test_builtins_and_toy_plugins_have_no_hook_problems():
    from twin_core.pluginmanager import OrbitwinPluginManager, hook_problems

    pm = make_plugin_manager(extra=["toy_counter", "toy_battery", "toy_payload", "toy_scheduler", "u8_flags",
                                    "orbit_reader", "bad_units", "raising_hook"])
    assert not pm.failed
    fresh = OrbitwinPluginManager()
    assert {name: hook_problems(fresh, plugin) for name, plugin in pm.list_name_plugin()
            if hook_problems(fresh, plugin)} == {}


def test_hook_problems_of_a_plugin_object_name_each_function():
    """A wrapper would be called as a plain function (a generator, never run); a function
    in the hooks' namespace is refused; a helper of similar words is left alone."""
    from twin_core import hookimpl
    from twin_core.pluginmanager import OrbitwinPluginManager, hook_problems

    class Plugin:
        @hookimpl(wrapper=True)
        def orbitwin_metrics(self, scenario):
            yield

        def orbitwin_helper(self):
            pass

        def orbit_metrics(self):
            pass

    assert hook_problems(OrbitwinPluginManager(), Plugin()) == [
        "function 'orbitwin_helper' is named like a hook but no hook has that name, and it lacks @hookimpl "
        "(names starting with 'orbitwin_' are kept for hooks; rename it)",
        "function 'orbitwin_metrics' (@hookimpl) is a wrapper (wrapper=True or hookwrapper=True), which orbitwin "
        "does not support"]


# -- end to end: a broken package installed beside orbitwin ------------------------------------


def install_broken_package(root: Path) -> None:
    """A distribution as pip lays it out, with three plugins: a misspelt hook and a hook
    without @hookimpl in one module (entry point 'tid'), a module that fails to import
    ('lidar')."""
    (root / "broken_tid_xq.py").write_text(textwrap.dedent('''
        from twin_core import hookimpl

        @hookimpl
        def orbitwin_varaibles(scenario):
            return []

        def orbitwin_metrics(scenario):
            return []
    '''))
    (root / "broken_lidar_xq.py").write_text("raise ImportError('needs a library that is not installed')\n")
    info = root / "orbitwin_broken-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: orbitwin-broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[orbitwin]\ntid = broken_tid_xq\nlidar = broken_lidar_xq\n")


TID_WHY = ("function 'orbitwin_metrics' lacks @hookimpl, so it would never be called (decorate it with "
           f"twin_core.hookimpl); {MISSPELT}")
WARNINGS = [
    "orbitwin: warning: orbitwin plugin 'lidar' (broken_lidar_xq) failed to load and is left out: "
    "ImportError: needs a library that is not installed",
    f"orbitwin: warning: orbitwin plugin 'tid' (broken_tid_xq) is left out: {TID_WHY}",
]


def test_broken_installed_package_leaves_plugins_and_runs_working(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    install_broken_package(site)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(HERE / "plugins"), str(HERE.parent)]),
               COLUMNS="200")

    def orbitwin(*args):
        return subprocess.run([sys.executable, "-m", "twin_core", *args], env=env, capture_output=True, text=True,
                              timeout=300, cwd=tmp_path)

    listing = orbitwin("plugins")
    assert listing.returncode == 0 and listing.stderr.splitlines() == WARNINGS
    rows = {line.split()[0]: line for line in listing.stdout.splitlines() if line.strip()}
    assert "BROKEN: left out" in rows["tid"] and "orbitwin_metrics' lacks @hookimpl" in rows["tid"]
    assert "BROKEN: left out" in rows["lidar"] and "ImportError: needs a library" in rows["lidar"]
    assert "built-in" in rows["orbit"]

    (tmp_path / "toy.toml").write_text(TOY)
    run = orbitwin("run", "toy.toml", "-o", "toy.zarr", "-q", *TOY_ARGS)
    assert run.returncode == 0 and run.stderr.splitlines() == WARNINGS

    (tmp_path / "tid.toml").write_text(TOY + "[tid]\nrate = 1\n")
    refused = orbitwin("run", "tid.toml", "-o", "tid.zarr", "-q", *TOY_ARGS)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.splitlines() == WARNINGS + [
        f"orbitwin: error: tid.toml: key 'tid': this table belongs to plugin 'tid', which is not loaded: {TID_WHY}"]
    assert not (tmp_path / "tid.zarr").exists()
