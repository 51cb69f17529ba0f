"""The heater plugin with the full default physics: the thermostat law, the heater in
the bus's load, the energy balance of every satellite at every step (bus, battery,
thermal node), and its heat counted exactly once whether or not the thermal plugin
counts the bus's load."""

import numpy as np
import pytest
from reliability_helpers import (
    BUS_OWN_W,
    CAPACITANCE_J_K,
    ETA_C,
    ETA_D,
    HEATER_W,
    SETPOINT_K,
    STEP_S,
    f32_tol,
    scenario,
)


def f64(res, name):
    return res.sat[name].astype(np.float64)


def test_thermostat_follows_the_previous_step_temperature(run_default):
    temp = f64(run_default, "thermal.temperature_k")
    prev = np.vstack([np.full((1, temp.shape[1]), 293.15), temp[:-1]])  # [thermal] initial_temperature_k default
    expected = np.where(prev < SETPOINT_K, HEATER_W, 0.0)
    assert np.array_equal(f64(run_default, "heater.power_w"), expected)
    on = expected > 0
    assert on.any() and (~on).any(), "the test scenario should have the heater both on and off"


def test_heater_is_a_load_on_the_bus(run_default):
    heater = f64(run_default, "heater.power_w")
    assert np.array_equal(f64(run_default, "power.bus_demand_w"), BUS_OWN_W + heater)
    unserved = f64(run_default, "power.unserved_w")
    served = unserved == 0
    assert served.all(), "no brownout in the test scenario: bus load = 150 W + heater exactly"
    assert np.array_equal(f64(run_default, "power.bus_load_w"), BUS_OWN_W + heater)
    assert np.array_equal(f64(run_default, "heater.delivered_w"), heater)


def test_energy_balances_per_satellite_per_step(run_default):
    g, load, curt, batt = (f64(run_default, n) for n in ("power.generated_w", "power.load_w", "power.curtailed_w",
                                                          "battery.power_w"))
    bus, supply = f64(run_default, "power.bus_load_w"), f64(run_default, "power.payload_supply_w")
    # generated = load + battery + curtailed, and load = bus + payload, to float32 rounding
    assert np.all(np.abs(g - (load + curt + batt)) <= f32_tol(g, load, curt, batt))
    assert np.all(np.abs(load - (bus + supply)) <= f32_tol(load, bus, supply))
    assert np.array_equal(f64(run_default, "payload.power_w"), supply)


def test_battery_losses_and_stored_energy(run_default):
    p, loss = f64(run_default, "battery.power_w"), f64(run_default, "battery.loss_w")
    c_in, d_out = np.maximum(p, 0.0), np.maximum(-p, 0.0)
    expected_loss = (1 - ETA_C) * c_in + (1 / ETA_D - 1) * d_out
    assert np.all(np.abs(loss - expected_loss) <= f32_tol(p, loss, ulps=8))
    # bus power = stored power + losses: E(t) - E(t - dt) = dt (battery.power_w - battery.loss_w)
    e = f64(run_default, "battery.energy_j")
    de = np.diff(e, axis=0)
    stored = STEP_S * (ETA_C * c_in - d_out / ETA_D)[1:]
    assert np.all(np.abs(de - stored) <= STEP_S * f32_tol(p[1:], ulps=8) + 4 * np.spacing(e[1:]))
    assert np.allclose(STEP_S * (p - loss)[1:], stored, rtol=0, atol=1e-2)
    g, load, curt = (f64(run_default, n) for n in ("power.generated_w", "power.load_w", "power.curtailed_w"))
    # generated = load + charge into storage + losses + curtailed
    assert np.all(np.abs(g[1:] - (load[1:] + de / STEP_S + loss[1:] + curt[1:]))
                  <= f32_tol(g, load, curt, p, ulps=16)[1:] + 1e-3)


def test_thermal_node_heat_counts_the_heater_once(run_default):
    heat_in = f64(run_default, "thermal.heat_in_w")
    parts = [f64(run_default, n) for n in ("payload.heat_w", "power.bus_load_w", "battery.loss_w")]
    # the thermal plugin counts the bus's load, heater included: the heater adds nothing more
    assert np.all(np.abs(heat_in - sum(parts)) <= f32_tol(heat_in, *parts))
    _check_node_energy(run_default, heat_in)


def test_heat_added_by_the_heater_when_the_bus_heats_elsewhere():
    """With ``[thermal] include_bus_heat = false`` the bus's load heats the bus, not the
    node: the heater then contributes its delivered power to the node itself."""
    from twin_core.testing import run_scenario

    res = run_scenario(scenario(thermal_extra="include_bus_heat = false"))
    heat_in = f64(res, "thermal.heat_in_w")
    parts = [f64(res, n) for n in ("payload.heat_w", "battery.loss_w", "heater.delivered_w")]
    assert np.all(np.abs(heat_in - sum(parts)) <= f32_tol(heat_in, *parts))
    assert np.any(f64(res, "heater.delivered_w") > 0)
    _check_node_energy(res, heat_in)


def _check_node_energy(res, heat_in):
    """Backward Euler of the thermal node: C (T1 - T0) = dt (Q_in + absorbed - radiated)."""
    temp = f64(res, "thermal.temperature_k")
    absorbed, radiated = f64(res, "thermal.absorbed_w"), f64(res, "thermal.radiated_w")
    lhs = CAPACITANCE_J_K * np.diff(temp, axis=0) / STEP_S
    rhs = (heat_in + absorbed - radiated)[1:]
    assert np.all(np.abs(lhs - rhs) <= f32_tol(heat_in, absorbed, radiated, ulps=8)[1:] + 1e-3)


def test_heater_needs_the_thermal_node():
    from twin_core import UserError
    from twin_core.testing import run_scenario

    text = scenario().replace("[thermal]\nradiator_area_m2 = 13.0\nheat_capacity_j_k = 200000.0\n", "")
    with pytest.raises(UserError, match=r"heater plugin needs \[thermal\]"):
        run_scenario(text.replace('"thermal.temperature_k", "thermal.heat_in_w", "thermal.absorbed_w", '
                                  '"thermal.radiated_w", ', ""))
