"""The battery plugin: bounds and bookkeeping of the step (hypothesis, on the numpy
reference), closed-form charge and discharge times, the taichi stage replayed against the
reference in an engine run, budgets and configuration errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orbitwin_plugins.battery import BatteryConfig, step_numpy
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
[solar]
area_m2 = 6
"""

EPS = np.finfo(np.float64).eps


@pytest.fixture(scope="module")
def pm():
    return plugin_manager(["toy_payload"])


# --------------------------------------------------------------------------------------
# the step (numpy reference) under hypothesis
# --------------------------------------------------------------------------------------

configs = st.builds(
    lambda cap, eta_c, eta_d, pc, pd, floor, init: BatteryConfig(
        capacity_wh=cap, charge_efficiency=eta_c, discharge_efficiency=eta_d, max_charge_w=pc,
        max_discharge_w=pd, min_soc=floor, initial_soc=max(floor, floor + init * (1.0 - floor))),
    cap=st.one_of(st.just(0.0), st.floats(1e-3, 1e6)),
    eta_c=st.floats(0.5, 1.0), eta_d=st.floats(0.5, 1.0),
    pc=st.one_of(st.none(), st.floats(1e-3, 1e6)), pd=st.one_of(st.none(), st.floats(1e-3, 1e6)),
    floor=st.floats(0.0, 0.95, allow_subnormal=False), init=st.floats(0.0, 1.0),
)
nets = st.lists(st.floats(-1e7, 1e7), min_size=1, max_size=60)


@settings(max_examples=300, deadline=None)
@given(cfg=configs, net=nets, dt=st.one_of(st.just(0.0), st.floats(1e-3, 3600.0)))
def test_step_never_leaves_floor_and_capacity(cfg: BatteryConfig, net: list[float], dt: float) -> None:
    """For any battery, any sequence of net powers and any step (dt = 0 included):
    floor <= E <= capacity exactly; the clamp only absorbs rounding (the unclamped update
    is within 8 ulp of the range); rates respect their limits; the step's bookkeeping holds:
    net = battery power + surplus - shortfall, and E' - E = (eta_c c_in - d_out/eta_d) dt
    (up to that rounding); with dt = 0 nothing changes."""
    e = np.array(cfg.initial_soc * cfg.capacity_j)
    cap, floor = cfg.capacity_j, cfg.floor_j
    for p in net:
        out = step_numpy(cfg, e, p, dt)
        e_new = out["battery.energy_j"]
        assert floor <= e_new <= cap
        c_in, d_out = max(out["battery.power_w"], 0.0), max(-out["battery.power_w"], 0.0)
        assert c_in <= cfg.charge_limit_w and d_out <= cfg.discharge_limit_w
        assert out["battery.shortfall_w"] >= 0.0 and out["battery.surplus_w"] >= 0.0
        assert out["battery.shortfall_w"] == 0.0 or out["battery.surplus_w"] == 0.0
        scale = abs(p) + 1.0
        booked = out["battery.power_w"] + out["battery.surplus_w"] - out["battery.shortfall_w"]
        assert abs(booked - p) <= 4 * EPS * scale
        unclamped = e + (cfg.charge_efficiency * c_in - d_out / cfg.discharge_efficiency) * dt
        assert floor - 8 * EPS * cap <= unclamped <= cap + 8 * EPS * cap
        assert abs(e_new - unclamped) <= 8 * EPS * max(cap, 1.0)
        if dt == 0.0:
            assert e_new == e
        if cap > 0:
            assert out["battery.soc"] == e_new / cap
        e = e_new


def test_charge_and_discharge_times_closed_form() -> None:
    """From the floor at constant charge P (below the rate limit), the battery is full
    after (E_max - E_min) / (eta_c P), and from full at constant discharge after
    (E_max - E_min) eta_d / P; stepped at dt = 1 s, the full/floor step is the closed-form
    time rounded up, and the surplus/shortfall then equals P."""
    cfg = BatteryConfig(capacity_wh=100.0, charge_efficiency=0.9, discharge_efficiency=0.8, min_soc=0.25,
                        initial_soc=0.25, max_charge_w=1e4, max_discharge_w=1e4)
    p, span = 500.0, cfg.capacity_j - cfg.floor_j
    for sign, eta, start in ((+1, 0.9, cfg.floor_j), (-1, 1 / 0.8, cfg.capacity_j)):
        t_full = span / (eta * p)
        e, k = start, 0
        while True:
            k += 1
            out = step_numpy(cfg, e, sign * p, 1.0)
            e = out["battery.energy_j"]
            if e in (cfg.capacity_j, cfg.floor_j) and e != start:
                break
        assert k == int(np.ceil(t_full))
        nxt = step_numpy(cfg, e, sign * p, 1.0)
        assert nxt[("battery.surplus_w" if sign > 0 else "battery.shortfall_w")] == p


def test_rate_limits_and_no_battery() -> None:
    """Rate limits cap the battery power and the rest becomes surplus or shortfall; the C-rate
    defaults are C/2 charge and 1C discharge; capacity 0 passes everything through."""
    cfg = BatteryConfig(capacity_wh=100.0, min_soc=0.0, initial_soc=0.5)
    assert cfg.charge_limit_w == 50.0 and cfg.discharge_limit_w == 100.0
    out = step_numpy(cfg, 0.5 * cfg.capacity_j, 80.0, 1.0)
    assert out["battery.power_w"] == 50.0 and out["battery.surplus_w"] == 30.0
    out = step_numpy(cfg, 0.5 * cfg.capacity_j, -130.0, 1.0)
    assert out["battery.power_w"] == -100.0 and out["battery.shortfall_w"] == 30.0
    none = BatteryConfig(capacity_wh=0.0, min_soc=0.0, initial_soc=0.0)
    out = step_numpy(none, 0.0, np.array([-40.0, 25.0]), 30.0)
    np.testing.assert_array_equal(out["battery.shortfall_w"], [40.0, 0.0])
    np.testing.assert_array_equal(out["battery.surplus_w"], [0.0, 25.0])
    np.testing.assert_array_equal(out["battery.soc"], [0.0, 0.0])


# --------------------------------------------------------------------------------------
# the taichi stage in the engine
# --------------------------------------------------------------------------------------

BATTERY = "[battery]\ncapacity_wh = 150\nmin_soc = 0.3\ninitial_soc = 0.6\nmax_charge_w = 400\nmax_discharge_w = 400\n"
PAYLOAD = "[toy_payload]\nhigh_w = 600\nlow_w = 50\nperiod_s = 1500\nstagger_s = 300\n"


def test_engine_matches_reference_and_stays_in_bounds(pm) -> None:
    """One orbit, every step recorded: the stored energy never leaves [floor, capacity]
    (exactly), both limits are reached, the taichi stage replayed with `step_numpy` on
    the recorded net power gives the same energy (relative 1e-12) and outputs (float32:
    relative 1e-6 + 1e-3 W), and at the epoch (dt = 0) the energy is the initial one."""
    res = run_scenario(HEAD + BATTERY + PAYLOAD, pm=pm)
    cfg = BatteryConfig(capacity_wh=150.0, min_soc=0.3, initial_soc=0.6, max_charge_w=400.0, max_discharge_w=400.0)
    e = res.sat["battery.energy_j"]
    assert e.dtype == np.float64
    assert np.all(e >= cfg.floor_j) and np.all(e <= cfg.capacity_j)
    assert np.any(e == cfg.floor_j) and np.any(e == cfg.capacity_j)
    np.testing.assert_array_equal(e[0], cfg.initial_soc * cfg.capacity_j)
    soc = res.sat["battery.soc"]
    assert np.all(soc <= 1.0) and np.all(soc >= cfg.min_soc * (1 - 4 * EPS))
    net = res.sat["power.net_w"]
    replay = e[0].copy()
    for k in range(1, res.n_records):
        out = step_numpy(cfg, replay, net[k], 60.0)
        replay = out["battery.energy_j"]
        np.testing.assert_allclose(e[k], replay, rtol=1e-12)
        for name in ("battery.power_w", "battery.shortfall_w", "battery.surplus_w"):
            np.testing.assert_allclose(res.sat[name][k], out[name], rtol=1e-6, atol=1e-3, err_msg=name)
        replay = e[k]  # do not let rounding differences accumulate
    np.testing.assert_allclose(res.metrics_at_records["constellation.min_soc"], soc.min(axis=1), rtol=1e-12)


def test_zero_capacity_with_a_payload_is_an_error(pm) -> None:
    with pytest.raises(ScenarioError) as err:
        run_scenario(HEAD + "[battery]\ncapacity_wh = 0\nmin_soc = 0\ninitial_soc = 0\n" + PAYLOAD, pm=pm)
    assert err.value.key == "battery.capacity_wh" and "payload" in str(err.value)


# --------------------------------------------------------------------------------------
# budgets and configuration
# --------------------------------------------------------------------------------------


def test_mass_budget(pm) -> None:
    sc = parse(HEAD + "[battery]\ncapacity_wh = 5000\nspecific_energy_wh_kg = 125\n", pm)
    [(_, [item])] = [r for r in pm.call("orbitwin_mass_budget", scenario=sc) if r[0] == "battery"]
    assert item.mass_kg == 40.0


@pytest.mark.parametrize("body,key", [
    ("capacity_wh = -1", "battery.capacity_wh"),
    ("min_soc = 0.2", "battery.capacity_wh"),
    ("capacity_wh = 10\nmin_soc = 1.2", "battery.min_soc"),
    ("capacity_wh = 10\nmin_soc = 1", "battery.min_soc"),
    ("capacity_wh = 10\nmin_soc = 0.5\ninitial_soc = 0.4", "battery.initial_soc"),
    ("capacity_wh = 10\ninitial_soc = 1.1", "battery.initial_soc"),
    ("capacity_wh = 10\ncharge_efficiency = 0", "battery.charge_efficiency"),
    ("capacity_wh = 10\ndischarge_efficiency = 1.05", "battery.discharge_efficiency"),
    ("capacity_wh = 10\nmax_charge_w = 0", "battery.max_charge_w"),
    ("capacity_wh = 10\nmax_discharge_w = -5", "battery.max_discharge_w"),
    ("capacity_wh = 10\nspecific_energy_wh_kg = 0", "battery.specific_energy_wh_kg"),
    ("capacity_wh = 10\ncapacity_j = 5", "battery.capacity_j"),
])
def test_bad_values_name_the_key(pm, body: str, key: str) -> None:
    with pytest.raises(ScenarioError) as err:
        parse(HEAD + "[battery]\n" + body + "\n", pm)
    assert err.value.key == key, str(err.value)
