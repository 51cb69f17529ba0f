"""The thermal plugin: closed-form equilibrium and transient, stability at any step, the
energy balance of every step in orbit, absorbed environment heat against the numpy
reference, the edge-on Earth view factor against numerical integration, and
configuration errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from orbitwin_plugins import thermal
from orbitwin_plugins.constants import R_EARTH_M, STEFAN_BOLTZMANN_W_M2_K4
from orbitwin_plugins.payload import PayloadConfig
from orbitwin_plugins.thermal import (
    ThermalConfig,
    absorbed_numpy,
    edge_on_earth_view_factor,
    equilibrium_temperature_k,
    implicit_step_numpy,
)
from twin_core import ScenarioError
from twin_core.scenario import parse_scenario
from twin_core.testing import plugin_manager, run_scenario

TOY = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = {hours}
step_s = 30
record_every_s = {record}
[toy]
count = 2
[toy_battery]
bus_load_w = 500
[payload]
count = 8
max_temperature_k = 500
"""
K10 = 0.91 * STEFAN_BOLTZMANN_W_M2_K4 * 10.0  # eps sigma A of a 5 m2 two-sided radiator


def test_settles_at_the_closed_form_equilibrium() -> None:
    """8 H100 training (10,200 W) + 500 W bus, no environment heat: T -> (Q / eps sigma A)^(1/4)
    = 379.47 K. Backward Euler's fixed point is the equilibrium itself, and 2 h is 80 time
    constants (tau = C / 4 eps sigma A T^3 = 89 s), so the tolerance is 1e-6 K. The epoch
    record keeps the initial temperature."""
    pm = plugin_manager(["toy_counter", "toy_battery"], disable=["orbit", "environment", "battery", "power", "solar"])
    text = TOY.format(hours=2, record=3600) + "[thermal]\nradiator_area_m2 = 5.0\nheat_capacity_j_k = 1e4\n"
    res = run_scenario(text, pm=pm)
    temp = res.sat["thermal.temperature_k"]
    assert np.all(temp[0] == 293.15)
    expected = float(equilibrium_temperature_k(10_700.0, 0.91, 10.0))
    assert expected == pytest.approx(379.4746, abs=1e-4)
    np.testing.assert_allclose(temp[-1], expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(res.sat["thermal.radiated_w"][-1], 10_700.0, rtol=1e-6)
    m = res.metrics_at_records
    np.testing.assert_allclose(m["constellation.mean_temperature_k"], temp.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(m["constellation.max_temperature_k"], temp.max(axis=1), rtol=1e-12)


def _closed_form_time_s(temp: np.ndarray, t0: float, q: float, c: float, k: float) -> np.ndarray:
    """Time to heat from t0 to temp under C dT/dt = Q - k T^4 (T < a = (Q/k)^(1/4)):
    t = C / (4 k a^3) [ln((a+T)/(a-T)) + 2 atan(T/a)] from t0 (Gilmore 2002, transient
    of an isolated radiating node)."""
    a = (q / k) ** 0.25
    f = lambda x: np.log((a + x) / (a - x)) + 2.0 * np.arctan(x / a)  # noqa: E731
    return c / (4.0 * k * a**3) * (f(np.asarray(temp)) - f(t0))


def _march(dt: float, t_end: float, t0: float, q: float, c: float, k: float) -> tuple[np.ndarray, np.ndarray]:
    n = int(round(t_end / dt))
    temps = [t0]
    for _ in range(n):
        temps.append(float(implicit_step_numpy(temps[-1], q, dt, c, k)))
    return np.arange(n + 1) * dt, np.array(temps)


def test_transient_against_the_closed_form_is_first_order() -> None:
    """Heating from 200 K over 20 min (tau ~ 440 s): the backward-Euler error against the
    closed-form transient stays below 0.05 K at dt = 1 s and halves with the step."""
    q, c, t0 = 10_700.0, 5e4, 200.0
    a = (q / K10) ** 0.25
    errors = []
    for dt in (2.0, 1.0):
        t, temp = _march(dt, 1200.0, t0, q, c, K10)
        # invert the closed form t(T) by bisection at every sample time
        lo, hi = np.full_like(t, t0), np.full_like(t, a - 1e-12)
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            late = _closed_form_time_s(mid, t0, q, c, K10) > t
            hi, lo = np.where(late, mid, hi), np.where(late, lo, mid)
        errors.append(np.max(np.abs(temp - 0.5 * (lo + hi))))
    assert errors[1] < 0.05
    assert 1.8 < errors[0] / errors[1] < 2.2


def test_stable_and_monotone_for_a_tiny_capacitance() -> None:
    """C = 1 J/K with 30 s steps (dt / tau ~ 3000, where explicit Euler diverges): no
    overshoot, and within 1e-4 K of equilibrium after two steps."""
    eq = float(equilibrium_temperature_k(10_700.0, 0.91, 10.0))
    _, temp = _march(30.0, 300.0, 293.15, 10_700.0, 1.0, K10)
    assert np.all(np.diff(temp) >= 0) and np.all(temp <= eq + 1e-9)
    assert abs(temp[2] - eq) < 1e-4
    _, cooling = _march(30.0, 300.0, 500.0, 10_700.0, 1.0, K10)
    assert np.all(np.diff(cooling) <= 0) and np.all(cooling >= eq - 1e-9)
    assert implicit_step_numpy(350.0, 10_700.0, 0.0, 1.0, K10) == 350.0  # dt = 0 changes nothing


ORBIT = """
[scenario]
epoch = "2026-06-21T00:00:00Z"
duration_h = 1
step_s = 60
record_every_s = 60
[[orbit.shell]]
kind = "walker_delta"
total = 4
planes = 2
altitude_km = 550
inclination = 53
[toy_battery]
bus_load_w = 300
[payload]
count = 8
max_temperature_k = 500
[thermal]
radiator_area_m2 = 10.0
absorptivity = 0.3
sun_incidence_factor = 0.5
"""


@pytest.fixture(scope="module")
def in_orbit():
    pm = plugin_manager(["toy_battery"], disable=["battery", "power", "solar"])
    return run_scenario(ORBIT, pm=pm)


def test_absorbed_environment_heat_matches_the_reference(in_orbit) -> None:
    s, cfg = in_orbit.sat, ThermalConfig(radiator_area_m2=10.0, absorptivity=0.3, sun_incidence_factor=0.5)
    ref = absorbed_numpy(cfg, s["environment.illumination"], s["environment.earth_ir_w_m2"],
                         s["environment.albedo_w_m2"], in_orbit.common["environment.sun_distance_m"][:, None])
    np.testing.assert_allclose(s["thermal.absorbed_w"], ref, rtol=1e-5)
    lit = s["environment.illumination"] > 0.5
    assert lit.any() and (~lit).any()  # the run crosses the shadow
    # in sunlight: 0.3 x 0.5 x 20 m2 x ~1317 W/m2 (June: 1.0167 AU) = ~3.95 kW of sunlight
    assert np.all(s["thermal.absorbed_w"][lit] > 3.9e3)


def test_energy_balance_of_every_step_and_the_reference_step(in_orbit) -> None:
    """C (T_k - T_k-1) = dt (Q_k + absorbed_k - eps sigma A T_k^4) to 1e-6 of the step's
    heat, with the default capacitance (130.45 kg of servers + 70 kg of radiator) x 900;
    and the taichi stage equals `step_numpy` to 1e-7 K (seen: 1e-8 K)."""
    s = in_orbit.sat
    c = (130.45 + 70.0) * 900.0
    k = 0.91 * STEFAN_BOLTZMANN_W_M2_K4 * 20.0
    temp = s["thermal.temperature_k"]
    q = s["payload.heat_w"].astype(float) + s["power.bus_load_w"].astype(float) + s["thermal.absorbed_w"].astype(float)
    lhs = c * np.diff(temp, axis=0)
    rhs = 60.0 * (q[1:] - k * temp[1:] ** 4)
    np.testing.assert_allclose(lhs, rhs, rtol=0, atol=1e-6 * 60.0 * q[1:].max())
    np.testing.assert_allclose(temp[1:], implicit_step_numpy(temp[:-1], q[1:], 60.0, c, k), rtol=0, atol=1e-7)
    cfg = ThermalConfig(radiator_area_m2=10.0, absorptivity=0.3, sun_incidence_factor=0.5)
    env = {"illumination": s["environment.illumination"][1:], "earth_ir_w_m2": s["environment.earth_ir_w_m2"][1:],
           "albedo_w_m2": s["environment.albedo_w_m2"][1:],
           "sun_distance_m": in_orbit.common["environment.sun_distance_m"][1:, None]}
    ref = thermal.step_numpy(cfg, temp[:-1], 60.0, c, (q - s["thermal.absorbed_w"].astype(float))[1:], **env)
    np.testing.assert_allclose(temp[1:], ref["thermal.temperature_k"], rtol=0, atol=1e-7)
    np.testing.assert_allclose(s["thermal.radiated_w"][1:], ref["thermal.radiated_w"], rtol=1e-5)


@pytest.mark.parametrize("altitude_km", [400.0, 550.0, 1200.0])
def test_edge_on_view_factor_against_numerical_integration(altitude_km: float) -> None:
    """F = (1/pi) integral of cos(theta) over the directions that hit the Earth, on a
    midpoint grid of the hemisphere (tolerance 0.2 %): for a face perpendicular to the
    horizon, and for a nadir face against the exact (R_E / r)^2."""
    h = (R_EARTH_M + altitude_km * 1e3) / R_EARTH_M
    half_angle = math.asin(1.0 / h)
    nt, nphi = 1200, 2400
    theta = (np.arange(nt) + 0.5) * (math.pi / 2) / nt
    phi = (np.arange(nphi) + 0.5) * 2 * math.pi / nphi
    th, ph = np.meshgrid(theta, phi, indexing="ij")
    d = np.stack([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)], axis=-1)
    weight = np.cos(th) * np.sin(th) * (math.pi / 2 / nt) * (2 * math.pi / nphi) / math.pi

    def view_factor(earth_dir: np.ndarray) -> float:
        return float(np.sum(weight * (d @ earth_dir >= math.cos(half_angle))))

    f_nadir, f_perp = view_factor(np.array([0.0, 0.0, 1.0])), view_factor(np.array([1.0, 0.0, 0.0]))
    assert f_nadir == pytest.approx(1.0 / h**2, rel=2e-3)
    assert float(edge_on_earth_view_factor(altitude_km * 1e3)) == pytest.approx(f_perp * h**2, rel=2e-3)


def test_default_capacitance_uses_the_payload_servers() -> None:
    text = ('[scenario]\nepoch = "2026-03-20T00:00:00Z"\nduration_h = 1\nstep_s = 60\nrecord_every_s = 600\n'
            "[payload]\ncount = 8\n[thermal]\nradiator_area_m2 = 10.0\n")
    sc = parse_scenario(text, "s.toml", {"payload": (PayloadConfig, "payload"), "thermal": (ThermalConfig, "thermal")})
    assert thermal._payload_mass_kg(sc) == pytest.approx(130.45)
    assert sc.section("thermal").capacitance_j_k(130.45) == pytest.approx((130.45 + 70.0) * 900.0)
    (item,) = thermal.orbitwin_mass_budget(sc)
    assert item.mass_kg == 70.0 and "kg/m2" in item.source


@pytest.mark.parametrize("body,key", [
    ("radiator_area_m2 = 3.0\nemissivity = 1.2", "thermal.emissivity"),
    ("radiator_area_m2 = 3.0\nemissivity = 0.0", "thermal.emissivity"),
    ("radiator_area_m2 = 3.0\nsides = 3", "thermal.sides"),
    ("radiator_area_m2 = -3.0", "thermal.radiator_area_m2"),
    ("sides = 2", "thermal.radiator_area_m2"),
    ("radiator_area_m2 = 3.0\nabsorptivity = -0.1", "thermal.absorptivity"),
    ("radiator_area_m2 = 3.0\nheat_capacity_j_k = 0", "thermal.heat_capacity_j_k"),
    ("radiator_area_m2 = 3.0\nradiator_area = 3.0", "thermal.radiator_area"),
])
def test_bad_values_name_the_key(body: str, key: str) -> None:
    text = '[scenario]\nepoch = "2026-03-20T00:00:00Z"\nduration_h = 1\nstep_s = 60\nrecord_every_s = 600\n'
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text + "[thermal]\n" + body + "\n", "s.toml", {"thermal": (ThermalConfig, "thermal")})
    assert err.value.key == key, str(err.value)
