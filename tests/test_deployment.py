"""The deployment ramp: with a ``[launch]`` table a satellite is inactive until its launch
and orbit raising are done; inactive satellites deliver nothing and count in no total but
the deployment counts (``twin_core.activity``). Checked against the launch plan computed
independently (`plan_launches` with the catalog's figures), step by step."""

import datetime as dt
import warnings

import numpy as np
import pytest
import zarr

from orbitwin_plugins.launch import lookup, payload_to_orbit_kg, plan_launches, scenario_launch_plan
from twin_core.budgets import satellite_mass_kg
from twin_core.errors import ScenarioError
from twin_core.runner import parse, plugin_manager, run_to_store
from twin_core.testing import run_scenario

EPOCH = dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)

# 8 satellites in 4 planes; one launch per plane every 6 h (1461 a year), 6 h of orbit
# raising: satellites of plane p are active from (p + 1) x 6 h, all of them from 24 h.
RAMP = """
[scenario]
epoch = "2027-01-01T00:00:00Z"
duration_h = 30
step_s = 600
record_every_s = 3600

[[orbit.shell]]
kind = "walker_delta"
total = 8
planes = 4
phasing = 1
altitude_km = 550
inclination = 53

[solar]
area_m2 = 40.0

[battery]
capacity_wh = 20000

[power]

[payload]
count = 4
accelerator = "H100-SXM"

[thermal]
radiator_area_m2 = 20.0

[launch]
vehicle = "Falcon 9"
launches_per_year = 1461
orbit_raising_days = 0.25
"""


@pytest.fixture(scope="module")
def ramp(tmp_path_factory):
    return run_scenario(RAMP, store=tmp_path_factory.mktemp("ramp") / "ramp.zarr")


def test_active_satellites_equal_satellites_launched_and_raised_at_every_step(ramp):
    pm = plugin_manager()
    sc = parse(RAMP, pm, "ramp.toml")
    mass = satellite_mass_kg(pm, sc)
    plan = plan_launches(lookup("Falcon 9"), 8, mass, 550.0, 53.0, start=EPOCH, plane_count=4,
                         launches_per_year=1461, orbit_raising_days=0.25)
    epoch = np.datetime64("2027-01-01T00:00:00", "s")
    active_from = (plan.active_from - epoch).astype(float)
    launched_at = (plan.sat_launch_dates - epoch).astype(float)
    t = ramp.metric_times_s
    assert np.array_equal(ramp.metrics["constellation.active_satellites"],
                          (active_from[None, :] <= t[:, None]).sum(axis=1))
    assert np.array_equal(ramp.metrics["constellation.launched_satellites"],
                          (launched_at[None, :] <= t[:, None]).sum(axis=1))
    # the schedule as stated: plane p launched at p x 6 h, active 6 h later
    assert np.allclose(active_from, np.repeat([6, 12, 18, 24], 2) * 3600.0)
    assert ramp.metrics["constellation.active_satellites"][0] == 0
    assert ramp.metrics["constellation.active_satellites"][-1] == 8


def test_inactive_satellites_deliver_nothing_and_count_in_no_total(ramp):
    active = ramp.sat["sat.active"]
    flops = ramp.sat["payload.flops"].astype(np.float64)
    assert active.min() == 0 and active.max() == 1
    assert np.all(flops[active == 0] == 0.0)
    m = ramp.metrics_at_records
    # totals fold only the active satellites (metrics kept every step; compared at records)
    assert np.allclose(m["constellation.delivered_pflops"], (flops * active).sum(axis=1) / 1e15, rtol=1e-6)
    soc = ramp.sat["battery.soc"].astype(np.float64)
    n_active = active.sum(axis=1)
    with np.errstate(invalid="ignore"):
        mean_soc = (soc * active).sum(axis=1) / n_active
    assert np.all(np.isnan(m["constellation.mean_soc"][n_active == 0]))
    assert np.allclose(m["constellation.mean_soc"][n_active > 0], mean_soc[n_active > 0], rtol=1e-6)
    # an inactive satellite's reason says which stage of deployment it is in
    reason = ramp.sat["sat.inactive_reason"]
    flags = dict(zip(ramp.attrs["sat.inactive_reason"]["flag_values"],
                     ramp.attrs["sat.inactive_reason"]["flag_meanings"].split()))
    assert set(flags.values()) == {"active", "not_launched", "orbit_raising"}
    assert np.all((reason == 0) == (active == 1))


def test_store_carries_the_launch_plan(ramp):
    root = zarr.open_group(str(ramp.store), mode="r")
    a = root["launch"].attrs
    assert a["n_launches"] == 4 and a["vehicle"] == "Falcon 9 (reusable)"
    assert root["launch"]["launch_time"].shape == (4,)
    assert np.allclose(np.diff(root["launch"]["launch_time"][...]), 6 * 3600 * 1000)
    assert root.attrs["satellite_mass_kg"] > 0


def test_a_run_without_a_launch_table_declares_no_activity():
    pm = plugin_manager()
    res = run_scenario(RAMP.replace("[launch]", "[not_launch]").split("[not_launch]")[0], pm=pm)
    assert "sat.active" not in res.layout.plugins and "sat.active" not in res.sat
    assert "constellation.active_satellites" not in res.metrics


def _error(text):
    pm = plugin_manager()
    sc = parse(text, pm, "bad.toml")
    with pytest.raises(ScenarioError) as info:
        scenario_launch_plan(sc, satellite_mass_kg(pm, sc))
    return str(info.value)


def test_a_vehicle_that_cannot_lift_one_satellite_is_named():
    msg = _error(RAMP.replace("count = 4", "count = 4000"))
    assert "key 'launch.vehicle'" in msg and "Falcon 9 (reusable)" in msg and "lifts one satellite" in msg


def test_a_negative_price_is_refused_at_load():
    pm = plugin_manager()
    with pytest.raises(ScenarioError) as info:
        parse(RAMP.replace('vehicle = "Falcon 9"', 'vehicle = "Falcon 9"\nprice_usd = -5'), pm, "bad.toml")
    assert "launch.price_usd" in str(info.value) and "-5" in str(info.value)


def test_an_unknown_vehicle_suggests_the_catalog():
    pm = plugin_manager()
    with pytest.raises(ScenarioError) as info:
        parse(RAMP.replace('"Falcon 9"', '"Falcon 10"'), pm, "bad.toml")
    assert "launch.vehicle" in str(info.value) and "Falcon 9" in str(info.value)


def test_plan_uses_the_orbit_the_vehicle_lifts_least_to():
    pm = plugin_manager()
    sc = parse(RAMP, pm, "ramp.toml")
    plan = scenario_launch_plan(sc, 1000.0)
    assert plan.payload_capacity_kg == pytest.approx(payload_to_orbit_kg(lookup("Falcon 9"), 550.0, 53.0), rel=1e-3)


SHARDED = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 2
step_s = 30
record_every_s = 600
[[orbit.shell]]
kind = "walker_delta"
total = 48
planes = 6
phasing = 1
altitude_km = 550
inclination = 53.0
[launch]
sat_mass_kg = 500
launches_per_year = 10000
orbit_raising_days = 0
[output]
chunk_sats = 24
chunk_records = 4
"""


def test_a_sharded_ramp_equals_one_process(tmp_path):
    from twin_core.shards import run_sharded

    disable = ("solar", "battery", "power", "payload", "thermal")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm = plugin_manager(disable=disable)
    sc = parse(SHARDED, pm, "sharded.toml")
    run_to_store(sc, pm, tmp_path / "one.zarr")
    run_sharded(sc, pm, tmp_path / "two.zarr", shards=2, workers=2, disable=disable)
    one, two = (zarr.open_group(str(tmp_path / p), mode="r") for p in ("one.zarr", "two.zarr"))
    counts = one["constellation"]["constellation.active_satellites"][...]
    assert counts[0] == 8 and counts[-1] == 24 and np.all(np.diff(counts) >= 0)  # a ramp, plane by plane
    for g in ("sat", "constellation"):
        for name, arr in one[g].arrays():
            assert arr[...].tobytes() == two[g][name][...].tobytes(), name


def test_links_to_a_satellite_not_yet_deployed_are_down():
    """A +grid whose planes are launched one by one: a link is up only once both ends are
    active (status "end inactive" before), and totals count only the active ones' links."""
    from test_crosslinks import SHELL, quiet_pm

    text = SHELL.format(output="", hours=2, total=48, planes=6) + """
[launch]
sat_mass_kg = 500
launches_per_year = 10000
orbit_raising_days = 0
"""
    res = run_scenario(text, pm=quiet_pm())
    k = res.layout.plan.axis("link").slots
    b = res.layout.plan.axis("link").targets.reshape(-1)
    a = np.repeat(np.arange(48), k)
    used = b >= 0
    active = res.sat["sat.active"]
    for t in range(res.n_records):
        both = (active[t, a] == 1) & (active[t, np.where(used, b, 0)] == 1) & used
        status = res.sat["link.status"][t]
        assert np.all(status[used & ~both] == 5)
        assert np.all(res.sat["link.up"][t][~both] == 0)
        assert np.all(res.sat["link.degree"][t][active[t] == 0] == 0)
    assert (res.sat["link.status"] == 5).any() and (res.sat["link.up"] == 1).any()


def test_a_satellite_not_yet_deployed_has_no_ground_contact():
    text = RAMP + '\n[ground]\nstations = ["svalbard", "kiruna", "troll", "mount-stromlo"]\n'
    res = run_scenario(text.replace("step_s = 600", "step_s = 60"))
    active, station = res.sat["sat.active"], res.sat["ground.station"]
    assert np.all(station[active == 0] == -1)
    assert np.all(res.sat["ground.downlink_bps"][active == 0] == 0)
    bits = res.sat["ground.downlinked_bits"]  # cumulative: nothing before deployment
    assert np.all(bits[active == 0] == 0) and (bits[-1] > 0).any()


def test_falcon_heavy_without_reusable_is_the_catalog_s_only_variant():
    from orbitwin_plugins.launch import LaunchConfig

    assert LaunchConfig(vehicle="Falcon Heavy").launch_vehicle().reusable is False
    assert LaunchConfig(vehicle="Falcon 9").launch_vehicle().reusable is True


def test_no_total_counts_a_reason_only_inactive_satellites_have(ramp):
    """'not deployed' binds only on an inactive satellite, which no total folds: no
    constellation.lost_pflops_not_deployed (it would always be 0)."""
    assert "constellation.lost_pflops_power_limited" in ramp.metrics
    assert not any("not_deployed" in name for name in ramp.metrics)


def test_a_misspelt_sat_active_is_refused_naming_it(tmp_path):
    from twin_core.errors import BuildError
    from twin_core.plan import make_plan

    plugin = tmp_path / "typo_retire.py"
    plugin.write_text("from twin_core import Contribution, Variable, hookimpl\n"
                      "@hookimpl\ndef orbitwin_variables(scenario):\n"
                      "    return [Variable('retire.in_orbit', '1', 'x', 'parameter', 'i8')]\n"
                      "@hookimpl\ndef orbitwin_contributions(scenario):\n"
                      "    return [Contribution('sat.actve', 'retire.in_orbit', reason='retired')]\n")
    pm = plugin_manager([str(plugin)])
    sc = parse(RAMP, pm, "ramp.toml")
    with pytest.raises(BuildError, match="did you mean 'sat.active'"):
        make_plan(sc, pm)
