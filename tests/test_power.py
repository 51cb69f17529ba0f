"""The power plugin and the whole chain solar -> payload demand -> battery limits ->
shedding -> battery: the energy balance closes over a run, the shedding priority, a
payload disconnected rather than fed below idle, contributions to the bus demand, metrics,
a bus without battery or payload, budgets, activation and configuration errors."""

from __future__ import annotations

import numpy as np
import pytest

from orbitwin_plugins.battery import BatteryConfig, limits_numpy
from orbitwin_plugins.power import PowerConfig, shed_numpy
from twin_core import ScenarioError
from twin_core.runner import parse
from twin_core.testing import plugin_manager, run_scenario

HEAD = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 1.6
step_s = 60
record_every_s = 60
[[orbit.shell]]
kind = "walker_delta"
total = 4
planes = 2
altitude_km = 550
inclination = 53
"""
DT = 60.0
SOLAR = "[solar]\narea_m2 = 6\n"
BATTERY = "[battery]\ncapacity_wh = 150\nmin_soc = 0.3\ninitial_soc = 0.6\nmax_charge_w = 400\nmax_discharge_w = 400\n"
PAYLOAD = "[toy_payload]\nhigh_w = 600\nlow_w = 50\nperiod_s = 1500\nstagger_s = 300\n"
F32 = float(np.finfo(np.float32).eps)


@pytest.fixture(scope="module")
def pm():
    return plugin_manager(["toy_payload"])


@pytest.fixture(scope="module")
def chain(pm):
    """One orbit of the full chain with every step (60 s) recorded."""
    return run_scenario(HEAD + SOLAR + BATTERY + PAYLOAD, pm=pm)


def _f64(res, name: str) -> np.ndarray:
    return res.sat[name].astype(np.float64)


def test_energy_balance_closes_over_the_run(chain) -> None:
    """Per step: generated = bus served + payload supply + curtailed + battery power (all
    float32 outputs of float64 arithmetic: within 4 float32 ulps of the sum of magnitudes).
    Over the run (right-point rule, steps 1..N): sum(generated dt) = sum((load + curtailed)
    dt) + (E_N - E_0) + losses, losses = sum(((1 - eta_c) c_in + (1/eta_d - 1) d_out) dt),
    to relative 1e-7 of the energy throughput (seen: 6e-11). Every regime occurred: charging,
    discharging, curtailment, payload shed, bus unserved."""
    res = chain
    gen, load, curt, bp = (_f64(res, n) for n in ("power.generated_w", "power.load_w", "power.curtailed_w",
                                                  "battery.power_w"))
    bus, supply = _f64(res, "power.bus_load_w"), _f64(res, "power.payload_supply_w")
    mag = gen + load + curt + np.abs(bp)
    assert np.all(np.abs(gen - (bus + supply + curt + bp)) <= 4 * F32 * mag + 1e-30)
    np.testing.assert_allclose(load, bus + supply, rtol=2 * F32)

    eta = np.sqrt(0.90)  # the battery's default efficiencies
    c_in, d_out = np.maximum(bp, 0.0), np.maximum(-bp, 0.0)
    steps = slice(1, None)
    losses = np.sum(((1 - eta) * c_in + (1 / eta - 1) * d_out)[steps]) * DT
    d_e = np.sum(res.sat["battery.energy_j"][-1] - res.sat["battery.energy_j"][0])
    lhs = np.sum(gen[steps]) * DT
    rhs = np.sum((load + curt)[steps]) * DT + d_e + losses
    assert abs(lhs - rhs) <= 1e-7 * np.sum(mag[steps]) * DT, (lhs, rhs)

    demand = _f64(res, "payload.demand_w")
    assert np.any(bp > 0) and np.any(bp < 0) and np.any(curt > 0)
    assert np.any(supply < demand) and np.any(_f64(res, "power.unserved_w") > 0)


def test_per_step_energy_change_is_the_battery_power(chain) -> None:
    """E_k - E_(k-1) = (eta_c c_in - d_out / eta_d) dt for every satellite and step (the
    float32 battery power: relative 1e-6 of |P| dt, plus 1e-9 J)."""
    res = chain
    eta = np.sqrt(0.90)
    bp = _f64(res, "battery.power_w")[1:]
    de = np.diff(res.sat["battery.energy_j"], axis=0)
    expected = (eta * np.maximum(bp, 0.0) - np.maximum(-bp, 0.0) / eta) * DT
    assert np.all(np.abs(de - expected) <= 1e-6 * np.abs(bp) * DT + 1e-9)


def test_shedding_priority(chain) -> None:
    """The bus is served first, then the payload, within what the array and the battery
    (its limits this step) can give; the stage equals `shed_numpy` fed the recorded
    inputs and `limits_numpy` of the previous energy (float32: relative 1e-6); bus served
    + unserved = the bus demand (150 W by default); the battery is asked for no more than
    it can give, so its shortfall is nil."""
    res, cfg = chain, PowerConfig()
    assert cfg.bus_demand_w == 150.0
    bat = BatteryConfig(capacity_wh=150.0, min_soc=0.3, initial_soc=0.6, max_charge_w=400.0, max_discharge_w=400.0)
    lim = limits_numpy(bat, np.vstack([res.sat["battery.energy_j"][:1], res.sat["battery.energy_j"][:-1]]), DT)
    lim = {k: np.vstack([limits_numpy(bat, res.sat["battery.energy_j"][0], 0.0)[k][None], v[1:]])
           for k, v in lim.items()}
    demand = _f64(res, "payload.demand_w")
    ref = shed_numpy(cfg, _f64(res, "power.generated_w"), lim["battery.max_discharge_w"],
                     lim["battery.max_charge_w"], demand)
    for name, expected in ref.items():
        np.testing.assert_allclose(_f64(res, name), expected, rtol=1e-6, atol=1e-3, err_msg=name)
    unserved, supply = _f64(res, "power.unserved_w"), _f64(res, "power.payload_supply_w")
    assert np.all(supply[unserved > 0] == 0.0)
    np.testing.assert_allclose(_f64(res, "power.bus_load_w") + unserved, 150.0, rtol=1e-7)
    partial = (supply > 0) & (supply < demand)  # rate-limited discharge: payload partly served
    assert partial.any()
    assert np.all(_f64(res, "battery.shortfall_w") <= 1e-3)


def test_shed_numpy_cases() -> None:
    """Hand cases of the priority, no generation, the battery able to give 150, 120, 80, 0
    W: all served; payload partly; payload off and part of the bus; nothing. A payload
    whose share falls below its minimum (idle) power is disconnected, the battery keeps
    what it would have wasted; a surplus beyond what the battery takes is curtailed."""
    cfg = PowerConfig(avionics_w=100.0, attitude_control_w=0.0, heaters_w=0.0)
    out = shed_numpy(cfg, 0.0, np.array([150.0, 120.0, 80.0, 0.0]), 0.0, 50.0)
    np.testing.assert_array_equal(out["power.payload_supply_w"], [50.0, 20.0, 0.0, 0.0])
    np.testing.assert_array_equal(out["power.unserved_w"], [0.0, 0.0, 20.0, 100.0])
    np.testing.assert_array_equal(out["power.bus_load_w"], [100.0, 100.0, 80.0, 0.0])
    np.testing.assert_array_equal(out["power.load_w"], [150.0, 120.0, 80.0, 0.0])
    np.testing.assert_array_equal(out["power.net_w"], [-150.0, -120.0, -80.0, 0.0])
    out = shed_numpy(cfg, 0.0, np.array([150.0, 120.0]), 0.0, 50.0, min_power_w=30.0)
    np.testing.assert_array_equal(out["power.payload_supply_w"], [50.0, 0.0])
    np.testing.assert_array_equal(out["power.net_w"], [-150.0, -100.0])
    out = shed_numpy(cfg, 500.0, 0.0, np.array([1000.0, 250.0, 0.0]), 50.0)
    np.testing.assert_array_equal(out["power.curtailed_w"], [0.0, 100.0, 350.0])
    np.testing.assert_array_equal(out["power.net_w"], [350.0, 250.0, 0.0])


WEAK_BATTERY = """
[solar]
area_m2 = 40
[battery]
capacity_wh = 20000
max_discharge_w = 200
[payload]
count = 8
accelerator = "H100-SXM"
"""


def test_a_payload_that_cannot_run_is_disconnected_not_fed() -> None:
    """Issue 9, item 2: the battery can give 200 W in umbra, the bus takes 150 W, and the
    50 W left cannot run eight H100 even idle: the payload is disconnected (supply 0,
    loss reason shed) and the battery gives the bus's 150 W only. Before the bus knew the
    battery's limits, the payload was "supplied" the 50 W (wasted, the state off) and the
    battery discharged 200 W."""
    pm = plugin_manager(disable=["thermal"])
    res = run_scenario(HEAD.replace("duration_h = 1.6", "duration_h = 1.0") + WEAK_BATTERY, pm=pm)
    dark = _f64(res, "power.generated_w") == 0.0
    dark[0] = False  # the epoch's evaluation changes no state
    assert dark.sum() > 20
    assert np.all(_f64(res, "power.payload_supply_w")[dark] == 0.0)
    assert np.all(_f64(res, "payload.power_w")[dark] == 0.0)
    assert np.all(res.sat["payload.loss_reason"][dark] == 3)
    np.testing.assert_allclose(_f64(res, "battery.power_w")[dark], -150.0, rtol=1e-6)
    np.testing.assert_allclose(_f64(res, "power.load_w")[dark], 150.0, rtol=1e-6)


def test_another_plugin_adds_a_load_to_the_bus_without_owning_it() -> None:
    """A contribution to ``power.bus_demand_w`` (a 200 W terminal of the toy plugin
    tests/plugins/toy_terminal.py) is served like the bus's own loads and its heat
    reaches the thermal node: bus load = 150 + 200 W in sunlight."""
    pm = plugin_manager(["toy_terminal"])
    text = (HEAD.replace("duration_h = 1.6", "duration_h = 0.5") + SOLAR.replace("6", "40") + BATTERY
            + "[toy_terminal]\npower_w = 200\n")
    res = run_scenario(text, pm=pm)
    lit = _f64(res, "power.generated_w") > 400.0
    assert lit.any()
    np.testing.assert_allclose(_f64(res, "power.bus_load_w")[lit], 350.0, rtol=1e-6)
    assert np.all(res.sat["toy_terminal.power_w"] == np.float32(200.0))


def test_metrics_are_the_sums(chain) -> None:
    """Constellation totals equal the sums over satellites at every record (relative 1e-6)."""
    res = chain
    m = res.metrics_at_records
    for metric, var in (("constellation.payload_supply_w", "power.payload_supply_w"),
                        ("constellation.load_w", "power.load_w"), ("constellation.curtailed_w", "power.curtailed_w"),
                        ("constellation.unserved_w", "power.unserved_w"),
                        ("constellation.generated_w", "power.generated_w")):
        np.testing.assert_allclose(m[metric], _f64(res, var).sum(axis=1), rtol=1e-6, atol=1e-6, err_msg=metric)
    np.testing.assert_allclose(m["constellation.unserved_fraction"], np.mean(_f64(res, "power.unserved_w") > 0, axis=1))


def test_bus_without_payload_or_battery(pm) -> None:
    """Capacity 0 and no payload: in umbra the whole bus demand is unserved, in sunlight
    the bus is served and the rest of the generation is curtailed; the state of charge is
    0 and the balance holds (float32: relative 1e-6)."""
    res = run_scenario(HEAD.replace("duration_h = 1.6", "duration_h = 1.0").replace("record_every_s = 60",
                                                                                    "record_every_s = 600")
                       + SOLAR + "[battery]\ncapacity_wh = 0\nmin_soc = 0\ninitial_soc = 0\n", pm=pm)
    gen, unserved = _f64(res, "power.generated_w"), _f64(res, "power.unserved_w")
    dark, lit = gen == 0.0, gen > 150.0
    assert dark.any() and lit.any()
    assert np.all(unserved[dark] == 150.0) and np.all(unserved[lit] == 0.0)
    np.testing.assert_allclose(_f64(res, "power.curtailed_w")[lit], gen[lit] - 150.0, rtol=1e-6)
    assert np.all(_f64(res, "power.payload_supply_w") == 0.0) and np.all(res.sat["battery.soc"] == 0.0)
    assert np.all(res.sat["battery.energy_j"] == 0.0)


# --------------------------------------------------------------------------------------
# budgets, activation and configuration
# --------------------------------------------------------------------------------------


def test_budgets(pm) -> None:
    """Structure is a fraction of the total: total = sum(fixed masses) / (1 - fraction)
    (MassItem); the bus loads are the power budget's negative items."""
    sc = parse(HEAD + SOLAR + BATTERY + "[power]\nstructure_fraction = 0.25\navionics_w = 70\n", pm)
    items = [i for _p, items in pm.call("orbitwin_mass_budget", scenario=sc) for i in items]
    [structure] = [i for i in items if i.name == "structure"]
    assert structure.fraction == 0.25 and structure.mass_kg == 0.0 and "SMAD" in structure.source
    fixed = sum(i.mass_kg for i in items)
    total = fixed / (1.0 - sum(i.fraction for i in items))
    assert total == pytest.approx(fixed / 0.75)
    power = [i for p, items in pm.call("orbitwin_power_budget", scenario=sc) if p == "power" for i in items]
    assert sum(i.power_w for i in power) == -(70.0 + 60.0 + 40.0)


def test_activation(pm) -> None:
    """[solar] alone computes the array only; [battery] or [power] bring the power stages;
    they need a [solar] table (or another writer of power.generated_w), named in the error."""
    from orbitwin_plugins import power

    assert power.orbitwin_variables(parse(HEAD + SOLAR, pm)) is None
    assert power.orbitwin_variables(parse(HEAD + SOLAR + BATTERY, pm))
    for extra in ("[power]\n", BATTERY):
        with pytest.raises(ScenarioError) as err:
            run_scenario(HEAD + extra, pm=pm)
        assert err.value.key == "solar", str(err.value)
    with pytest.raises(ScenarioError) as err:
        run_scenario(HEAD + SOLAR + "[power]\n", pm=pm)
    assert err.value.key == "battery"


@pytest.mark.parametrize("body,key", [
    ("avionics_w = -1", "power.avionics_w"),
    ("heaters_w = \"lots\"", "power.heaters_w"),
    ("structure_fraction = 1", "power.structure_fraction"),
    ("bus_w = 100", "power.bus_w"),
])
def test_bad_values_name_the_key(pm, body: str, key: str) -> None:
    with pytest.raises(ScenarioError) as err:
        parse(HEAD + SOLAR + BATTERY + "[power]\n" + body + "\n", pm)
    assert err.value.key == key, str(err.value)
