"""Steady-state sizing for the worst eclipse of a circular orbit (beta = 0): the closed form
that ``orbitwin size`` (`orbitwin_plugins.sizing`) sets beside the twin's own sizing. Pure
functions, no hooks.

Orbit (Wertz & Larson, Space Mission Analysis and Design, 3rd ed., 1999, sec. 5.1,
eq. 5-4 with a cylindrical shadow; Vallado 2013 sec. 5.3)::

    T   = 2 pi sqrt(a^3 / mu),  a = R_E + h
    f   = asin(R_E / a) / pi          eclipse fraction at beta = 0 (the longest eclipse)
    T_e = f T,  T_d = (1 - f) T

Loads: ``P`` = the payload in its workload state (training or inference power of
`orbitwin_plugins.payload_stages.PayloadModel`) + the bus (every plugin's loads in
``orbitwin_power_budget`` but the payload's), the same in sunlight and eclipse, since the
goal is to deliver everything.

Array (SMAD sec. 11.4, eq. 11-5, ``P_sa = (P_e T_e / X_e + P_d T_d / X_d) / T_d``). The
twin's bus has no regulator losses, so the path efficiencies are the battery's own:
``X_e = eta_c eta_d`` (charge and discharge efficiencies of ``[battery]``), ``X_d = 1``::

    P_sa = P + P_c,   P_c = P T_e / (eta_c eta_d T_d)     (recharge power at the bus)
    A    = P_sa / (G_min p eta_BOL f_asm f_T f_deg c)

with the ``[solar]`` packing, efficiency, assembly and temperature factors of
`orbitwin_plugins.solar`, ``G_min`` the lowest irradiance of the sizing window (the Sun
farthest, 1.0167 AU at aphelion), ``f_deg`` the degradation at the window's end, and ``c``
the mean cosine of incidence over the sunlit arc at beta = 0 (1 for a sun-tracking array;
for an array fixed in the ``rsw``/``lvlh`` frame the mean of ``max(0, n . s)`` with the
Sun in the orbit plane; an ``eci``-fixed array has no beta = 0 answer).

Battery (SMAD sec. 11.4, eq. 11-6, ``C = P_e T_e / (DOD eta)``), with the depth of
discharge the payload's policy actually allows while it keeps running its workload: from
full to the state of charge below which the default policy steps the workload down
(``[payload] min_soc_training``, default ``[battery] min_soc`` + 0.2); discharging to
``min_soc`` itself would cost compute. The pack's C-rate limits (`orbitwin_plugins.battery`:
1C discharge, C/2 charge, when not set in watts) bound it too::

    C = max(P T_e / (eta_d (1 - soc_run)),  P / c_d,  P_c / c_c)     [Wh, with T in h]

Radiator: hot case in steady state (Gilmore, Spacecraft Thermal Control Handbook, Vol. I,
2nd ed., 2002, ch. 2 and 6: a radiator is sized to reject the largest heat load at the
highest allowed temperature in the hottest environment). The node must stay at or below
the temperature up to which the policy runs the workload (``[payload] max_temperature_k``
minus ``training_margin_k``, or ``inference_margin_k``). Heat and environment as
`orbitwin_plugins.thermal` models them, at the subsolar point (albedo at its peak) with
the Sun nearest in the window::

    Q     = P_payload + P_bus (with include_bus_heat) + (1 - eta_c) P_c   (charge loss)
    q_net = eps sigma T^4 - eps F_E q_IR - alpha F_E q_alb - alpha s_inc G_max   per face
    q_IR  = OLR (R_E/a)^2,   q_alb = albedo G_max (R_E/a)^2
    A_rad = Q / (sides q_net)

Assumptions and limits: a circular orbit at the satellite's mean semi-major axis; a sharp
cylindrical shadow (no penumbra: the twin's conical shadow eclipses ~1 % less); loads
constant (no transients); the battery full at every eclipse entry; the radiator's steady
state at the hot instant (the node's heat capacity, which the twin integrates, only helps).
Checked in ``tests/test_sizing.py`` against a hand calculation, the eclipse fraction against
the shadow model, and a twin run at beta ~ 0 with this sizing delivering ~100 %.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from orbitwin_plugins.battery import MAX_CHARGE_C_RATE, MAX_DISCHARGE_C_RATE  # the pack's default C-rates
from orbitwin_plugins.constants import AU_M, MU_EARTH_M3_S2, R_EARTH_M, SOLAR_CONSTANT_W_M2, STEFAN_BOLTZMANN_W_M2_K4
from twin_core.errors import UserError

#: Joules per watt-hour.
WH_J = 3600.0


def eclipse_fraction(altitude_km: float) -> float:
    """Share of a circular orbit in a cylindrical shadow at beta = 0: asin(R_E / a) / pi."""
    return math.asin(R_EARTH_M / (R_EARTH_M + altitude_km * 1e3)) / math.pi


def orbit_period_s(altitude_km: float) -> float:
    """Two-body period of a circular orbit [s]."""
    a = R_EARTH_M + altitude_km * 1e3
    return 2.0 * math.pi * math.sqrt(a**3 / MU_EARTH_M3_S2)


def mean_cosine_beta0(solar: Any, eclipse_frac: float, n: int = 3601) -> float:
    """Mean of cos(incidence) over the sunlit arc at beta = 0 (module docstring)."""
    if solar.pointing == "sun_tracking":
        return 1.0
    if solar.frame == "eci":
        raise UserError("size: the beta = 0 sizing needs a sun-tracking array or one fixed in the orbit frame "
                        "([solar] frame = 'rsw' or 'lvlh'); an ECI-fixed array's output at beta = 0 depends on "
                        "its orientation to the orbit plane")
    r, s, _w = solar.normal_rsw()
    half = math.pi * (1.0 - eclipse_frac)
    u = np.linspace(-half, half, n)  # Sun's angle from the radial direction, in the orbit plane
    return float(np.mean(np.maximum(r * np.cos(u) - s * np.sin(u), 0.0)))


@attrs.frozen
class Beta0Sizing:
    """The steady-state sizing (module docstring) and the figures behind it (SI, W, Wh, m2)."""

    altitude_km: float
    period_s: float
    eclipse_fraction: float
    payload_w: float
    bus_w: float
    charge_w: float
    array_power_w: float
    array_area_m2: float
    battery_energy_wh: float
    soc_run: float
    battery_capacity_wh: float
    battery_binding: str
    radiator_heat_w: float
    radiator_temperature_k: float
    radiator_net_flux_w_m2: float
    radiator_area_m2: float
    notes: tuple[str, ...] = ()

    @property
    def load_w(self) -> float:
        return self.payload_w + self.bus_w


def beta0_sizing(*, altitude_km: float, payload_w: float, bus_w: float, solar: Any, battery: Any, thermal: Any,
                 soc_run: float, temperature_k: float, irradiance_min_w_m2: float = SOLAR_CONSTANT_W_M2,
                 irradiance_max_w_m2: float = SOLAR_CONSTANT_W_M2, degradation: float = 1.0,
                 earth_ir_w_m2: float = 237.0, albedo: float = 0.30) -> Beta0Sizing:
    """The closed form of the module docstring, from the plugins' own configuration
    objects (``[solar]``, ``[battery]``, ``[thermal]``); the sizes in them are ignored."""
    notes: list[str] = []
    f = eclipse_fraction(altitude_km)
    period = orbit_period_s(altitude_km)
    t_e, t_d = f * period, (1.0 - f) * period
    load = payload_w + bus_w
    eta_c, eta_d = battery.charge_efficiency, battery.discharge_efficiency
    charge_w = load * t_e / (eta_c * eta_d * t_d)
    p_sa = load + charge_w
    cos_mean = mean_cosine_beta0(solar, f)
    if cos_mean <= 0.0:
        raise UserError("size: the array's normal never faces the Sun at beta = 0; no beta = 0 sizing exists")
    per_m2 = (irradiance_min_w_m2 * solar.packing_factor * solar.efficiency_bol * solar.assembly_factor
              * solar.temperature_factor * degradation * cos_mean)
    area = p_sa / per_m2

    depth = 1.0 - soc_run
    if depth <= 0.0:
        raise UserError(f"size: the payload runs its workload only at a state of charge >= {soc_run:g}; "
                        "no battery can carry it through an eclipse")
    e_stored_wh = load * t_e / eta_d / WH_J
    need = {"energy": e_stored_wh / depth}
    if battery.max_discharge_w is None:
        need["discharge rate (1C)"] = load / MAX_DISCHARGE_C_RATE
    elif battery.max_discharge_w < load:
        notes.append(f"[battery] max_discharge_w = {battery.max_discharge_w:g} W is below the eclipse load "
                     f"{load:.0f} W: no capacity carries the payload through an eclipse")
    if battery.max_charge_w is None:
        need["charge rate (C/2)"] = charge_w / MAX_CHARGE_C_RATE
    elif battery.max_charge_w < charge_w:
        notes.append(f"[battery] max_charge_w = {battery.max_charge_w:g} W is below the recharge power "
                     f"{charge_w:.0f} W")
    binding = max(need, key=need.get)
    capacity = need[binding]

    a_m = R_EARTH_M + altitude_km * 1e3
    view = (R_EARTH_M / a_m) ** 2
    heat = payload_w + (bus_w if thermal.include_bus_heat else 0.0) + (1.0 - eta_c) * charge_w
    eps, alpha, fe = thermal.emissivity, thermal.absorptivity, thermal.earth_view_factor
    q_net = (eps * STEFAN_BOLTZMANN_W_M2_K4 * temperature_k**4 - eps * fe * earth_ir_w_m2 * view
             - alpha * fe * albedo * irradiance_max_w_m2 * view - alpha * thermal.sun_incidence_factor
             * irradiance_max_w_m2)
    if q_net <= 0.0:
        raise UserError(f"size: at {temperature_k:.1f} K the radiator absorbs more than it emits in the hot case; "
                        "no radiator area keeps the node that cool")
    return Beta0Sizing(altitude_km=altitude_km, period_s=period, eclipse_fraction=f, payload_w=payload_w,
                       bus_w=bus_w, charge_w=charge_w, array_power_w=p_sa, array_area_m2=area,
                       battery_energy_wh=e_stored_wh, soc_run=soc_run, battery_capacity_wh=capacity,
                       battery_binding=binding, radiator_heat_w=heat, radiator_temperature_k=temperature_k,
                       radiator_net_flux_w_m2=q_net, radiator_area_m2=heat / (thermal.sides * q_net),
                       notes=tuple(notes))


# --------------------------------------------------------------------------------------
# from a scenario
# --------------------------------------------------------------------------------------


def bus_load_w(pm: Any, scenario: Any, skip: tuple[str, ...] = ("payload", "solar")) -> float:
    """The bus's loads [W]: every load (negative item) of ``orbitwin_power_budget`` but
    those of the plugins in ``skip`` (the payload is counted in its workload state)."""
    return -sum(item.power_w for plugin, items in pm.call("orbitwin_power_budget", scenario=scenario)
                if plugin not in skip for item in items if item.power_w < 0.0)


def payload_model(scenario: Any) -> Any:
    """The payload's resolved `PayloadModel` (thresholds from ``[battery] min_soc``)."""
    from orbitwin_plugins.payload_stages import PayloadModel

    floor = float(getattr(scenario.section("battery"), "min_soc", 0.0) or 0.0)
    return PayloadModel.from_config(scenario.section("payload"), floor)


def irradiance_range_w_m2(epoch: Any, duration_s: float) -> tuple[float, float]:
    """Lowest and highest solar irradiance over ``[epoch, epoch + duration]`` (hourly
    samples of the environment plugin's ephemeris) [W m-2]."""
    from orbitwin_plugins.ephemeris import sun_position_eci

    t = np.linspace(0.0, duration_s, max(2, int(duration_s // 3600.0) + 2))
    _dir, dist = sun_position_eci(t, epoch)
    g = SOLAR_CONSTANT_W_M2 * (AU_M / dist) ** 2
    return float(g.min()), float(g.max())


def scenario_beta0_sizing(pm: Any, scenario: Any, semi_major_axis_m: float, duration_s: float) -> Beta0Sizing:
    """`beta0_sizing` with every parameter from ``scenario``: the orbit of one satellite
    (its mean semi-major axis), the window from the epoch over ``duration_s``."""
    from orbitwin_plugins.solar import degradation_numpy

    solar, battery, thermal = (scenario.section(k) for k in ("solar", "battery", "thermal"))
    env = scenario.section("environment")
    model = payload_model(scenario)
    top = model.top_state
    g_min, g_max = irradiance_range_w_m2(scenario.run.epoch, duration_s)
    return beta0_sizing(
        altitude_km=(semi_major_axis_m - R_EARTH_M) / 1e3, payload_w=model.power_w[top],
        bus_w=bus_load_w(pm, scenario), solar=solar, battery=battery, thermal=thermal,
        soc_run=model.min_soc[top - 1],
        temperature_k=model.training_max_k if top == 3 else model.inference_max_k,
        irradiance_min_w_m2=g_min, irradiance_max_w_m2=g_max,
        degradation=float(degradation_numpy(solar, duration_s)),
        earth_ir_w_m2=getattr(env, "earth_ir_w_m2", 237.0), albedo=getattr(env, "albedo", 0.30))


__all__ = ["Beta0Sizing", "beta0_sizing", "bus_load_w", "eclipse_fraction", "irradiance_range_w_m2",
           "mean_cosine_beta0", "orbit_period_s", "payload_model", "scenario_beta0_sizing"]
