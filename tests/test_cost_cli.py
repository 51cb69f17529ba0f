"""``orbitwin cost RUN.zarr`` on a small run (plugins/costreport.py), and the costs
plugin's ``orbitwin_case_results``: the report's numbers, ``--json``, ``--set``, and one
clear line with exit status 2 for a path that is no store, an incomplete store and a run
without payload. The runs go through the store in this process; the run with a payload
has the stages of tests/test_costs.py's failing run (rates and dates are parameters, not
compiled in), so taichi compiles its kernel once."""

from __future__ import annotations

import json
import math
import shutil

import pytest
from twin_core.testing import run_cli as orbitwin

ORBIT = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 12
step_s = 120
record_every_s = 1200
seed = 20

[[orbit.shell]]
kind = "walker_delta"
total = 4
planes = 2
altitude_km = 550
inclination = 53.0
"""
#: tests/test_costs.py's failing run at the default failure rate (2 %/year: none in 12 h).
COSTED = ORBIT + """
[solar]
area_m2 = 55.0

[battery]
capacity_wh = 25000

[power]

[payload]
count = 8

[thermal]
radiator_area_m2 = 13.0

[cost]

[launch]
launches_per_year = 1460
orbit_raising_days = 0.05
"""
NO_PAYLOAD = ORBIT.replace("duration_h = 12", "duration_h = 1")

#: The names a sweep keeps (``orbitwin sweep`` is written against exactly these).
CASE_NAMES = {"cost.space_usd_per_pflop_day", "cost.ground_usd_per_pflop_day", "cost.space_usd_per_accelerator_hour",
              "cost.ground_usd_per_accelerator_hour", "cost.space_to_ground_ratio",
              "cost.parity_launch_price_usd_per_kg", "cost.delivered_pflop_days_per_year", "cost.satellite_mass_kg",
              "cost.launches", "cost.launch_price_usd_per_kg"}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from twin_core.testing import run_scenario

    path = tmp_path_factory.mktemp("cost") / "run.zarr"
    run_scenario(COSTED, store=path)
    return path


@pytest.fixture(scope="module")
def report(store):
    from orbitwin_plugins.costreport import evaluate, open_store, plugin_manager_for
    from twin_core.runner import parse

    root = open_store(store)
    pm = plugin_manager_for(root)
    return evaluate(parse(root.attrs["scenario"], pm), pm, root)


def test_prints_space_and_ground_side_by_side(capsys, store, report):
    code, out, err = orbitwin(capsys, "cost", store)
    assert code == 0, err
    for text in ("USD per PFLOP-day", "USD per accelerator-hour", "where the money goes: space",
                 "where the money goes: ground", "which inputs move the result most", "space / ground:",
                 "parity launch price", "delivery:", "launch plan: 2 x Falcon 9"):
        assert text in out, text
    row = next(line for line in out.splitlines() if line.strip().startswith("USD per PFLOP-day"))
    assert f"{report.space.usd_per_pflop_day:,.0f}" in row and f"{report.ground.usd_per_pflop_day:,.3g}" in row
    if report.parity_usd_per_kg is None:
        assert "none: even a free launch costs more than the ground" in out


def test_report_is_consistent(report):
    """The space side over the run's delivery; launch = the plan's price; waterfalls add up."""
    from orbitwin_plugins.costs import mean_alive_fraction

    s, g = report.space, report.ground
    alive = mean_alive_fraction(report.space_cfg.failure_rate_per_year, report.space_cfg.mission_life_years)
    assert s.delivered_pflop_days_per_year == pytest.approx(report.delivery.pflop_days_per_year * alive)
    # a deployment ramp, and failures drawn (none in 12 h at 2 %/year)
    assert report.delivery.normalised_by == "active and working"
    assert report.n_launches == 2 and "launch plan" in report.launch_source
    assert sum(v for _c, v, _s in report.waterfall("space")) == pytest.approx(s.usd_per_pflop_day)
    assert sum(v for _c, v, _s in report.waterfall("ground")) == pytest.approx(g.usd_per_pflop_day)
    assert sum(sh for _c, _v, sh in report.waterfall("space")) == pytest.approx(1.0)
    # accelerator-hours at peak: the ratio is the same per PFLOP-day and per accelerator-hour
    assert s.usd_per_accelerator_hour / g.usd_per_accelerator_hour == pytest.approx(report.ratio)
    swings = [r.swing for r in report.sensitivity]
    assert swings == sorted(swings, reverse=True) and swings[0] > 0


def test_json_parses_with_the_case_results(capsys, store, report):
    code, out, err = orbitwin(capsys, "cost", store, "--json")
    assert code == 0, err
    d = json.loads(out)
    assert set(d["case_results"]) == CASE_NAMES
    assert d["case_results"]["cost.space_usd_per_pflop_day"] == pytest.approx(report.space.usd_per_pflop_day)
    assert d["space_to_ground_ratio"] == pytest.approx(report.ratio)
    assert d["case_results"]["cost.launches"] == 2
    assert d["sensitivity"]["factor"] == 2.0 and len(d["sensitivity"]["rows"]) == len(report.sensitivity)
    assert [w["component"] for w in d["ground"]["waterfall"]] == ["facility", "accelerators", "electricity",
                                                                 "operations"]


def test_parity_price_makes_space_cost_what_ground_does(capsys, store):
    """With cheap space prices (--set) parity exists; costing again at that launch price
    gives a ratio of 1."""
    cheap = ["--set", "bus_cost_usd_per_kg=0", "--set", "ground_segment_fixed_usd=0", "--set",
             "operations_fixed_usd_per_year=0", "--set", "ground.electricity_price_usd_per_kwh=5", "--json"]
    code, out, err = orbitwin(capsys, "cost", store, *cheap)
    assert code == 0, err
    parity = json.loads(out)["parity_launch_price_usd_per_kg"]
    assert parity is not None and parity > 0
    code, out, err = orbitwin(capsys, "cost", store, *cheap, "--set", f"launch_price_usd_per_kg={parity!r}")
    assert code == 0, err
    d = json.loads(out)
    assert d["space_to_ground_ratio"] == pytest.approx(1.0, rel=1e-9)
    assert d["launch"]["source"] == "--set launch_price_usd_per_kg"


def test_case_results_hook(store):
    import zarr

    from orbitwin_plugins.costreport import plugin_manager_for
    from twin_core.runner import parse

    root = zarr.open_group(str(store), mode="r")
    pm = plugin_manager_for(root)
    got = dict(pm.call("orbitwin_case_results", scenario=parse(root.attrs["scenario"], pm), store=root))
    results = {r.name: r for r in got["costs"]}
    assert set(results) == CASE_NAMES
    assert results["cost.satellite_mass_kg"].units == "kg"
    assert all(math.isfinite(r.value) or r.name == "cost.parity_launch_price_usd_per_kg" for r in results.values())


def _one_line_exit_2(capsys, *args) -> str:
    code, out, err = orbitwin(capsys, "cost", *args)
    assert code == 2 and "Traceback" not in err, err
    errors = [line for line in err.splitlines() if not line.startswith("orbitwin: warning:")]
    assert len(errors) == 1 and errors[0].startswith("orbitwin: error: "), err  # warnings: other plugins'
    return errors[0]


def test_not_a_store(capsys, tmp_path):
    assert "no such store" in _one_line_exit_2(capsys, tmp_path / "nothing.zarr")
    (tmp_path / "plain").mkdir()
    assert "not an orbitwin store" in _one_line_exit_2(capsys, tmp_path / "plain")


def test_incomplete_store(capsys, store, tmp_path):
    import zarr

    copy = tmp_path / "half.zarr"
    shutil.copytree(store, copy)
    zarr.open_group(str(copy), mode="r+").attrs.update({"complete": False, "records_written": 3})
    err = _one_line_exit_2(capsys, copy)
    assert "incomplete" in err and "3 of" in err and "--resume" in err


def test_bad_override(capsys, store):
    assert "bus_cost_usd_per_kilo" in _one_line_exit_2(capsys, store, "--set", "bus_cost_usd_per_kilo=3")
    assert "ground.pue" in _one_line_exit_2(capsys, store, "--set", "ground.pue=0.5")


def test_run_without_payload(capsys, tmp_path):
    import zarr

    from orbitwin_plugins.costreport import plugin_manager_for
    from twin_core.runner import parse
    from twin_core.testing import run_scenario

    path = tmp_path / "orbit.zarr"
    run_scenario(NO_PAYLOAD, store=path)
    assert "no [payload] table" in _one_line_exit_2(capsys, path)
    root = zarr.open_group(str(path), mode="r")
    pm = plugin_manager_for(root)
    assert "costs" not in dict(pm.call("orbitwin_case_results", scenario=parse(root.attrs["scenario"], pm),
                                       store=root))
