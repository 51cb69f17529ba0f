"""The installed package: its entry points make both plugins appear in `orbitwin plugins`
beside the built-ins, and they load with them."""

import importlib.metadata as md

from reliability_helpers import orbitwin

import orbitwin_reliability


def test_entry_points_name_both_plugins():
    eps = {ep.name: ep for ep in md.entry_points(group="orbitwin")
           if ep.dist and ep.dist.name == "orbitwin-reliability"}
    assert {n: ep.value for n, ep in eps.items()} == {"failures": "orbitwin_reliability.failures",
                                                      "heater": "orbitwin_reliability.heater"}
    assert md.version("orbitwin-reliability") == orbitwin_reliability.__version__ == "0.1.0"


def test_plugin_manager_loads_both_after_the_builtins():
    from twin_core.testing import plugin_manager

    pm = plugin_manager()
    assert not pm.failed, pm.failed
    names = list(pm.infos)
    assert names.index("failures") > names.index("thermal") and names.index("heater") > names.index("failures")
    for name in ("failures", "heater"):
        info = pm.infos[name]
        assert info.version == "0.1.0"
        assert info.origin == "entry point of orbitwin-reliability"


def test_orbitwin_plugins_lists_both(tmp_path):
    r = orbitwin("plugins", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for text in ("failures", "[failures]", "failures.time_s", "failures.available",
                 "heater", "[heater]", "heater.power_w", "heater.delivered_w", "orbitwin-reliability"):
        assert text in out, f"{text!r} not in:\n{out}"
    assert "BROKEN" not in out


def test_validate_accepts_the_test_scenario(store_dir):
    r = orbitwin("validate", "sc.toml", cwd=store_dir)
    assert r.returncode == 0, r.stdout + r.stderr


def test_readme_scenario_is_the_tested_one():
    import re
    import tomllib
    from pathlib import Path

    from reliability_helpers import scenario

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    (block,) = re.findall(r"```toml\n(.*?)```", readme, re.S)
    tested = tomllib.loads(scenario())
    del tested["output"]
    assert tomllib.loads(block) == tested


def test_failures_needs_a_payload():
    import re

    import pytest
    from reliability_helpers import scenario

    from twin_core import UserError
    from twin_core.testing import run_scenario

    text = scenario().replace('[payload]\ncount = 8\naccelerator = "H100-SXM"\nworkload = "training"\n', "")
    text = re.sub(r'"payload\.[a-z_]+", ', "", text)
    with pytest.raises(UserError, match=r"key 'failures': the failures plugin needs a payload to fail"):
        run_scenario(text)
