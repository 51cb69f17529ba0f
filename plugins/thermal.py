"""Thermal plugin: one lumped thermal node (payload, cold plates, coolant and radiator at
one temperature) per satellite, heated by the payload, the bus and the environment and
cooled by its radiator.

Scenario table ``[thermal]`` (`ThermalConfig`; only ``radiator_area_m2`` is required)::

    [thermal]
    radiator_area_m2 = 12.0      # panel area (one face)
    sides = 2                    # faces that radiate: 2 for a free-standing panel

Model (the lumped-capacitance energy balance of Gilmore, Spacecraft Thermal Control
Handbook, Vol. I, 2nd ed., 2002, ch. 2 and 6), with ``A = sides x radiator_area_m2``::

    C dT/dt = Q_payload + Q_bus + Q_sun + Q_IR + Q_albedo - eps sigma A T^4
    Q_sun    = alpha  s_inc A S (AU/d)^2 illumination      (S: solar constant, d: Sun distance)
    Q_IR     = eps    F_E   A q_IR                          (q_IR, q_alb: nadir-plate fluxes of the
    Q_albedo = alpha  F_E   A q_alb                          environment plugin, altitude included)

``Q_payload + Q_bus`` is ``thermal.heat_in_w``, a `Combined` sum of what plugins dissipate
into the node: the payload's heat (``payload.heat_w``, contributed by the payload plugin),
the bus's load (``power.bus_load_w``, contributed here unless ``include_bus_heat = false``
puts the bus elsewhere: all electrical power ends as heat), the battery's charge and
discharge losses (``battery.loss_w``) and any other plugin's. Absent environment inputs
count as zero (no environment plugin: deep space).

Orientation enters through two factors averaged over the radiating faces.
``sun_incidence_factor`` ``s_inc``, the mean of max(0, cos Sun incidence): 0 for a panel
kept edge-on to the Sun (the usual design: in a dawn-dusk orbit a panel whose normal lies
along the velocity sees neither the Sun nor, face-on, the Earth), 0.5 for a two-sided panel
with one face normal to the Sun. ``earth_view_factor`` ``F_E``, a face's view factor to the
Earth over a nadir-facing plate's ``(R_E/r)^2``: 1 facing nadir, 0 facing zenith, and for a
face perpendicular to the local horizontal ``[atan(1/sqrt(H^2-1)) - sqrt(H^2-1)/H^2] H^2 / pi``,
``H = r/R_E`` (Howell, A Catalog of Radiation Heat Transfer Configuration Factors,
differential plane to sphere): 0.33 at 400 km, 0.30 at 550 km, 0.25 at 1,200 km
(`edge_on_earth_view_factor`). Albedo uses the IR view factor, a first estimate (the albedo
view factor also depends on the Sun's position; Gilmore 2002 ch. 2).

Defaults and sources: emissivity 0.91 and solar absorptivity 0.15 of AZ-93 white inorganic
paint at beginning of life (AZ Technology data: 0.91 +/- 0.02, 0.15 +/- 0.02; finishes in
Gilmore 2002 ch. 4; absorptivity rises towards 0.2-0.3 over years of UV and atomic
oxygen). ``C`` = (payload server mass, from ``[payload]``, + radiator mass) x 900 J/(kg K),
aluminium (Incropera et al., Fundamentals of Heat and Mass Transfer, 7th ed., Table A.1:
903 at 300 K). Radiator 7 kg/m2, a conventional aluminium-ammonia heat-pipe panel (NASA SBIR
91-1 09.08, Thermacore: "a conventional radiator's weight of 7 kg/m2" against its 0.43).

Integration: backward Euler (rates at the end of the step, the engine's right-point
convention), ``C (T1 - T0) = dt (Q - eps sigma A T1^4)``, solved by Newton's method
started from the previous temperature ``T0``. The residual is convex and increasing for
T > 0, so the first iterate lies at or above the root (a convex function lies above its
tangent) and the later ones fall monotonically to it (to 1e-9 K, at most 40 iterations).
T0 is within the step's change of the root, so two or three iterations do (a start from
above the equilibrium temperature, as before, took more while the node heats). A Newton
step under the tolerance is not taken: at equilibrium it is rounding, and taking it moved
the temperature by one ulp back and forth. Unconditionally stable for any step and capacitance, exact at equilibrium
(its fixed point is ``(Q / eps sigma A)^(1/4)``), first order in time: the error is about
dt/5 times the heating rate (0.04 K at dt = 1 s for a node heating at 0.2 K/s, so ~1 K at
30 s), and vanishes as the node settles. With ``dt = 0`` the temperature does not change.

Limits: one isothermal node (the chips run hotter than ``T`` by their cold-plate and loop
resistances; no fin efficiency, no conduction to the bus), the environment plugin's
orbit-average Earth IR and albedo. Validated in ``tests/test_thermal.py``: closed-form
equilibrium and transient, the energy balance of every step, the edge-on view factor
against numerical integration, the stage against `step_numpy`.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from orbitwin_plugins.constants import AU_M, SOLAR_CONSTANT_W_M2, STEFAN_BOLTZMANN_W_M2_K4
from twin_core import Combined, Contribution, MassItem, Metric, Stage, Variable, hookimpl
from twin_core.validators import in_range, int_range, non_negative, positive

#: Specific heat of aluminium at 300 K [J kg-1 K-1] (Incropera 7th ed., Table A.1).
SPECIFIC_HEAT_J_KG_K = 900.0
#: Areal density of a conventional heat-pipe radiator panel [kg m-2] (module docstring).
RADIATOR_KG_M2 = 7.0
#: Newton iterations: tolerance [K] and cap.
TOL_K, MAX_ITER = 1e-9, 40


@attrs.frozen
class ThermalConfig:
    """Table ``[thermal]`` (module docstring for the model and each default's source).

    Attributes:
        radiator_area_m2: radiator panel area, one face [m2].
        sides: radiating faces, 1 or 2 (a free-standing panel radiates from both).
        emissivity: infrared emissivity, in (0, 1]; default 0.91, white paint AZ-93.
        absorptivity: solar absorptivity, in [0, 1]; default 0.15, AZ-93 at beginning of life.
        earth_view_factor: a face's view factor to the Earth over a nadir plate's [1];
            default 0.30, a face perpendicular to the horizon at 550 km.
        sun_incidence_factor: mean over the faces of max(0, cos Sun incidence) [1]; default
            0, a panel kept edge-on to the Sun.
        heat_capacity_j_k: thermal capacitance of the node [J/K]; default (payload server
            mass + radiator mass) x specific heat.
        specific_heat_j_kg_k: for the default capacitance [J/(kg K)]; default aluminium.
        radiator_areal_density_kg_m2: radiator mass per panel area [kg/m2].
        initial_temperature_k: node temperature at the epoch [K].
        include_bus_heat: add ``power.bus_load_w`` to the node's heat.
    """

    radiator_area_m2: float = attrs.field(validator=positive)
    sides: int = attrs.field(default=2, validator=int_range(1, 2))
    emissivity: float = attrs.field(default=0.91, validator=in_range(0.0, 1.0, lo_open=True))
    absorptivity: float = attrs.field(default=0.15, validator=in_range(0.0, 1.0))
    earth_view_factor: float = attrs.field(default=0.30, validator=in_range(0.0, 1.0))
    sun_incidence_factor: float = attrs.field(default=0.0, validator=in_range(0.0, 1.0))
    heat_capacity_j_k: float | None = attrs.field(default=None,
                                                  validator=attrs.validators.optional(positive))
    specific_heat_j_kg_k: float = attrs.field(default=SPECIFIC_HEAT_J_KG_K, validator=positive)
    radiator_areal_density_kg_m2: float = attrs.field(default=RADIATOR_KG_M2, validator=non_negative)
    initial_temperature_k: float = attrs.field(default=293.15, validator=positive)
    include_bus_heat: bool = True

    @property
    def radiating_area_m2(self) -> float:
        return self.sides * self.radiator_area_m2

    @property
    def radiator_mass_kg(self) -> float:
        return self.radiator_area_m2 * self.radiator_areal_density_kg_m2

    @property
    def conductance_w_k4(self) -> float:
        """``eps sigma A`` [W K-4]."""
        return self.emissivity * STEFAN_BOLTZMANN_W_M2_K4 * self.radiating_area_m2

    def capacitance_j_k(self, payload_mass_kg: float = 0.0) -> float:
        if self.heat_capacity_j_k is not None:
            return self.heat_capacity_j_k
        return (payload_mass_kg + self.radiator_mass_kg) * self.specific_heat_j_kg_k


# --------------------------------------------------------------------------------------
# numpy references
# --------------------------------------------------------------------------------------


def equilibrium_temperature_k(heat_w: Any, emissivity: float, radiating_area_m2: float) -> np.ndarray:
    """``T = (Q / (eps sigma A))^(1/4)``: where the node settles under a constant heat [K]."""
    return (np.asarray(heat_w, dtype=np.float64) / (emissivity * STEFAN_BOLTZMANN_W_M2_K4
                                                    * radiating_area_m2)) ** 0.25


def edge_on_earth_view_factor(altitude_m: Any, r_earth_m: float = 6378137.0) -> np.ndarray:
    """View factor of a face perpendicular to the local horizontal, divided by that of a
    nadir-facing plate (``earth_view_factor`` of an edge-on panel) [1]."""
    h = (r_earth_m + np.asarray(altitude_m, dtype=np.float64)) / r_earth_m
    s = np.sqrt(h * h - 1.0)
    return (np.arctan(1.0 / s) - s / (h * h)) / math.pi * h * h


def absorbed_numpy(cfg: ThermalConfig, illumination: Any = 0.0, earth_ir_w_m2: Any = 0.0,
                   albedo_w_m2: Any = 0.0, sun_distance_m: Any = AU_M) -> np.ndarray:
    """Environment heat absorbed by the radiator, ``Q_sun + Q_IR + Q_albedo`` [W]."""
    a = cfg.radiating_area_m2
    sun = SOLAR_CONSTANT_W_M2 * (AU_M / np.asarray(sun_distance_m, dtype=np.float64)) ** 2
    return (cfg.absorptivity * cfg.sun_incidence_factor * a * sun * np.asarray(illumination)
            + cfg.emissivity * cfg.earth_view_factor * a * np.asarray(earth_ir_w_m2)
            + cfg.absorptivity * cfg.earth_view_factor * a * np.asarray(albedo_w_m2))


def implicit_step_numpy(t0_k: Any, heat_w: Any, dt_s: float, capacitance_j_k: float,
                        conductance_w_k4: float) -> np.ndarray:
    """Backward-Euler step ``C (T1 - T0) = dt (Q - k T1^4)`` by Newton's method from ``T0`` (module docstring)."""
    t0 = np.asarray(t0_k, dtype=np.float64)
    if dt_s == 0.0:
        return t0.copy()
    q = np.maximum(np.asarray(heat_w, dtype=np.float64), 0.0)
    c, k = capacitance_j_k, conductance_w_k4
    t = t0.copy()
    going = np.ones(t.shape, dtype=bool)  # per element, as the stage: stop at the first step under TOL_K
    for _ in range(MAX_ITER):
        step = (c * (t - t0) + dt_s * (k * t**4 - q)) / (c + 4.0 * dt_s * k * t**3)
        going &= np.abs(step) >= TOL_K
        if not going.any():
            break
        t = np.where(going, t - step, t)
    return t


def step_numpy(cfg: ThermalConfig, t0_k: Any, dt_s: float, capacitance_j_k: float, heat_w: Any = 0.0,
               **environment: Any) -> dict[str, np.ndarray]:
    """Every output of ``thermal.step`` by variable name: ``heat_w`` is payload + bus heat,
    ``environment`` the keyword arguments of `absorbed_numpy`."""
    absorbed = absorbed_numpy(cfg, **environment)
    t1 = implicit_step_numpy(t0_k, np.asarray(heat_w) + absorbed, dt_s, capacitance_j_k, cfg.conductance_w_k4)
    return {"thermal.temperature_k": t1, "thermal.absorbed_w": absorbed,
            "thermal.radiated_w": cfg.conductance_w_k4 * t1**4}


# --------------------------------------------------------------------------------------
# hooks
# --------------------------------------------------------------------------------------


def _config(scenario: Any) -> ThermalConfig | None:
    return scenario.section("thermal") if scenario is not None else None


def _payload_mass_kg(scenario: Any) -> float:
    """Server mass of the ``[payload]`` section (any plugin's section exposing
    ``server_mass_kg``), 0 without one."""
    return float(getattr(scenario.section("payload"), "server_mass_kg", 0.0) or 0.0)


@hookimpl
def orbitwin_config_sections() -> dict[str, type]:
    return {"thermal": ThermalConfig}


@hookimpl
def orbitwin_variables(scenario: Any) -> list[Variable] | None:
    if scenario is not None and _config(scenario) is None:
        return None
    return [Combined("thermal.heat_in_w", "W", "heat dissipated into the node by the payload, the bus and other "
                     "plugins (their contributions)", "sum", record=False),
            Variable("thermal.temperature_k", "K", "temperature of the payload's thermal node", "state"),
            Variable("thermal.absorbed_w", "W", "sunlight, Earth IR and albedo absorbed by the radiator",
                     "output", "f32"),
            Variable("thermal.radiated_w", "W", "heat radiated to space, eps sigma A T^4", "output", "f32")]


@hookimpl
def orbitwin_contributions(scenario: Any) -> list[Contribution] | None:
    """The bus's electrical load ends as heat in the node (module docstring), when the
    power plugin runs."""
    cfg = _config(scenario)
    if cfg is None or not cfg.include_bus_heat:
        return None
    return [Contribution("thermal.heat_in_w", "power.bus_load_w", optional=True)]


@hookimpl
def orbitwin_initial_state(scenario: Any, state: Any) -> None:
    cfg = _config(scenario)
    if cfg is not None:
        state.set("thermal.temperature_k", cfg.initial_temperature_k)


@hookimpl
def orbitwin_metrics(scenario: Any) -> list[Metric] | None:
    if _config(scenario) is None:
        return None
    return [Metric("constellation.mean_temperature_k", "thermal.temperature_k", "mean", "K",
                   "mean thermal-node temperature over satellites"),
            Metric("constellation.max_temperature_k", "thermal.temperature_k", "max", "K",
                   "hottest thermal node in the constellation")]


@hookimpl
def orbitwin_mass_budget(scenario: Any) -> list[MassItem] | None:
    cfg = _config(scenario)
    if cfg is None:
        return None
    return [MassItem(f"radiator: {cfg.radiator_area_m2:g} m2 at {cfg.radiator_areal_density_kg_m2:g} kg/m2",
                     cfg.radiator_mass_kg, "conventional aluminium-ammonia heat-pipe radiator, 7 kg/m2 "
                     "(NASA SBIR 91-1 09.08, Thermacore) unless set in [thermal]")]


@hookimpl
def orbitwin_stages(scenario: Any, state: Any) -> list[Stage] | None:
    import taichi as ti

    cfg = _config(scenario)
    if cfg is None:
        return None
    c, k = float(cfg.capacitance_j_k(_payload_mass_kg(scenario))), float(cfg.conductance_w_k4)
    a = cfg.radiating_area_m2
    sun_k = cfg.absorptivity * cfg.sun_incidence_factor * a * SOLAR_CONSTANT_W_M2 * AU_M**2
    ir_k, alb_k = cfg.emissivity * cfg.earth_view_factor * a, cfg.absorptivity * cfg.earth_view_factor * a
    names = ("thermal.heat_in_w", "environment.illumination", "environment.earth_ir_w_m2",
             "environment.albedo_w_m2", "environment.sun_distance_m")
    fld = {n: (state.common(n) if n.endswith("sun_distance_m") else state.field(n)) for n in names
           if state.has(n)}  # absent inputs count as 0
    heat_f, illum_f, ir_f, alb_f, dist_f = (fld.get(n) for n in names)
    use_sun = illum_f is not None and dist_f is not None and sun_k > 0.0
    has_flux = use_sun and state.has("environment.solar_flux_w_m2")  # S (AU / d)^2 per step: no division
    flux_f = state.common("environment.solar_flux_w_m2") if has_flux else None
    sun_kf = cfg.absorptivity * cfg.sun_incidence_factor * a
    use_ir, use_alb = ir_f is not None and ir_k > 0.0, alb_f is not None and alb_k > 0.0
    temp_f, abs_f, rad_f = (state.field(n) for n in ("thermal.temperature_k", "thermal.absorbed_w",
                                                      "thermal.radiated_w"))

    @ti.func
    def thermal_step(i, kk, t, dt):
        absorbed, q = 0.0, 0.0
        if ti.static(has_flux):
            absorbed += sun_kf * flux_f[kk] * ti.cast(illum_f[i], ti.f64)
        elif ti.static(use_sun):
            d = dist_f[kk]
            absorbed += sun_k / (d * d) * ti.cast(illum_f[i], ti.f64)
        if ti.static(use_ir):
            absorbed += ir_k * ti.cast(ir_f[i], ti.f64)
        if ti.static(use_alb):
            absorbed += alb_k * ti.cast(alb_f[i], ti.f64)
        q += heat_f[i]
        q = ti.max(q + absorbed, 0.0)
        t0 = temp_f[i]
        temp = t0
        if dt > 0.0:
            for _ in range(MAX_ITER):
                step = (c * (temp - t0) + dt * (k * temp**4 - q)) / (c + 4.0 * dt * k * temp**3)
                if ti.abs(step) < TOL_K:  # converged: a step this small is rounding (none at equilibrium)
                    break
                temp -= step
        temp_f[i] = temp
        if ti.static(state.used("thermal.absorbed_w")):
            abs_f[i] = ti.cast(absorbed, ti.f32)
        if ti.static(state.used("thermal.radiated_w")):
            rad_f[i] = ti.cast(k * temp**4, ti.f32)

    return [Stage("thermal.step", thermal_step, writes=["thermal.temperature_k", "thermal.absorbed_w",
                                                        "thermal.radiated_w"],
                  reads=list(fld) + (["environment.solar_flux_w_m2"] if has_flux else []))]


__all__ = ["ThermalConfig", "absorbed_numpy", "edge_on_earth_view_factor", "equilibrium_temperature_k",
           "implicit_step_numpy", "step_numpy"]
