"""What `info`, `plugins` and `budget` print (issue 8, item 12): the terminal's width
rather than a fixed 140 columns, `info --json` for scripts, only the plugins that wrote
something, table names that survive rich markup, and a budget that says why it is
empty."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parent
TOY = (HERE / "test_engine.py").read_text().split('TOY = """')[1].split('"""')[0]
TOY_ARGS = ["--plugin", "toy_counter", "--disable", "orbit", "--disable", "environment"]
BASE_ENV = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
BASE_ENV["PYTHONPATH"] = str(HERE / "plugins")


def orbitwin(*args, columns=None):
    """The command with its output in a pipe (no terminal); ``columns`` sets COLUMNS."""
    env = dict(BASE_ENV, **({"COLUMNS": str(columns)} if columns else {}))
    return subprocess.run([sys.executable, "-m", "twin_core", *args], env=env, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)


def widest(text: str) -> int:
    return max(len(line.rstrip()) for line in text.splitlines())


@pytest.fixture(scope="module")
def toy_store(tmp_path_factory):
    """The toy run (6 satellites, 9 records), with every built-in plugin but orbit and
    environment loaded: battery, payload, power, solar and thermal declare nothing
    without their tables, so only 'toy' wrote variables."""
    d = tmp_path_factory.mktemp("store")
    (d / "toy.toml").write_text(TOY)
    out = d / "run.zarr"
    r = orbitwin("run", str(d / "toy.toml"), "-o", str(out), "-q", *TOY_ARGS)
    assert r.returncode == 0, r.stderr
    return out


def test_info_fits_80_columns_with_whole_variable_names(toy_store):
    """Before, info drew 140 columns whatever the terminal (lines wrapped into a mess)."""
    r = orbitwin("info", str(toy_store), columns=80)
    assert r.returncode == 0, r.stderr
    assert widest(r.stdout) <= 80
    lines = [line.strip() for line in r.stdout.splitlines()]
    for name in ("toy.clock_s", "toy.double_s", "toy.total_clock"):
        assert any(line.startswith(name + " ") for line in lines), name
    assert "backend:     cpu" in r.stdout


def test_info_in_a_pipe_is_120_columns_wide(toy_store):
    """No terminal and no COLUMNS: 120 columns, so the time span (97 characters) stays on
    one line for grep, and nothing is wider."""
    r = orbitwin("info", str(toy_store))
    assert r.returncode == 0, r.stderr
    assert widest(r.stdout) <= 120
    assert any(line.strip().startswith("time:") and line.rstrip().endswith("(step 7.5 s)")
               for line in r.stdout.splitlines())


def test_info_lists_only_plugins_that_wrote_variables(toy_store):
    """Before, every loaded plugin was listed, payload and thermal included, though the
    scenario had no [payload] or [thermal] and they declared nothing."""
    r = orbitwin("info", str(toy_store), columns=200)
    plugins_line = next(line for line in r.stdout.splitlines() if line.strip().startswith("plugins:"))
    assert plugins_line.split(":", 1)[1].split() == ["toy", "unknown"]


def test_info_json(toy_store):
    r = orbitwin("info", str(toy_store), "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["path"] == str(toy_store) and d["title"] == "toy"
    assert d["complete"] is True and d["status"] == "complete"
    assert (d["records_written"], d["n_records"], d["n_sats"]) == (9, 9, 6)
    assert d["time"] == {"start": "2026-03-20T00:00:00", "end": "2026-03-20T01:00:00", "n_records": 9,
                         "record_every_s": 450.0, "step_s": 7.5}
    assert d["backend"] == "cpu" and d["orbitwin_version"]
    assert d["plugins"] == {"toy": "unknown"}
    by_name = {v["name"]: v for v in d["variables"]}
    assert by_name["toy.clock_s"] == {"group": "sat", "name": "toy.clock_s", "plugin": "toy", "dims": ["time", "sat"],
                                      "shape": [9, 6], "units": "s", "description": "integrated clock"}
    assert by_name["toy.total_clock"]["group"] == "constellation" and by_name["toy.total_clock"]["plugin"] == "toy"
    assert "sat" not in by_name and "time" not in by_name  # coordinates are not variables
    assert isinstance(d["summary"], list)


def test_plugins_shows_tables_and_fits_80_columns():
    """Before, the tables column was empty: rich took "[battery]" for markup."""
    r = orbitwin("plugins", *TOY_ARGS[:2], columns=80)
    assert r.returncode == 0, r.stderr
    assert widest(r.stdout) <= 80
    for table in ("[battery]", "[orbit]", "[environment]", "[toy]"):
        assert table in r.stdout, table
    lines = [line.strip() for line in r.stdout.splitlines()]
    for name in ("orbit.r_eci_m", "environment.sun_distance_m", "toy.double_s"):
        assert any(line.endswith(name) for line in lines), name


def test_budget_of_an_orbit_only_scenario_says_why_it_is_empty():
    """Before: "0.0 kg" and "net +0" with no word on why."""
    r = orbitwin("budget", str(ROOT / "examples" / "dawn_dusk_650km.toml"), columns=200)
    assert r.returncode == 0, r.stderr
    assert "0.0 kg" not in r.stdout and "net +0" not in r.stdout
    assert "no plugin enabled for this scenario declares mass items" in r.stdout
    assert "no plugin enabled for this scenario declares power items" in r.stdout
    for plugin in ("battery", "payload", "power", "solar", "thermal"):
        assert f"{plugin} (no [{plugin}] table)" in r.stdout, plugin


def test_budget_names_a_plugin_that_added_nothing(tmp_path):
    text = (ROOT / "examples" / "walker_550km.toml").read_text()
    scen = tmp_path / "no_thermal.toml"
    scen.write_text(text[:text.index("[thermal]")])
    r = orbitwin("budget", str(scen), columns=200)
    assert r.returncode == 0, r.stderr
    assert "mass budget of one satellite:" in r.stdout and "thermal (no [thermal] table)" in r.stdout
