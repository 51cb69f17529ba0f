"""Plugin discovery and failure handling (twin_core.pluginmanager)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from twin_core.errors import BuildError, PluginError
from twin_core.pluginmanager import PluginLoadWarning, make_plugin_manager
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
