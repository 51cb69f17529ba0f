"""Battery plugin: a lithium-ion battery that absorbs or supplies the bus's net power.

Two stages around the power bus's load shedding. ``battery.limits`` (before the bus
sheds, from the energy at the start of the step) writes what the battery can give and
take this step, so that the bus sheds knowing it::

    battery.max_discharge_w = min(P_d,max, (E - E_min) eta_d / dt)
    battery.max_charge_w    = min(P_c,max, (E_max - E) / (eta_c dt))

``battery.step`` then reads ``power.net_w`` (what the bus puts into the battery after
shedding and curtailment, written by the ``power`` plugin) and integrates the stored
energy ``battery.energy_j`` (a state, float64) over the step; it writes ``battery.soc``,
``battery.power_w``, ``battery.shortfall_w``, ``battery.surplus_w`` (twin_core.interfaces)
and ``battery.loss_w``, the heat of charging and discharging, contributed to the thermal
node (``thermal.heat_in_w``).

Model (an energy bucket with efficiencies and rate limits, as in SMAD 3rd ed. sec. 11.4;
right-point rule: the step labelled t covers (t - dt, t] at the rates of time t)::

    E_max = capacity,  E_min = min_soc * capacity
    want_c = max(net, 0),  want_d = max(-net, 0)
    c_in  = min(want_c, P_c,max, (E_max - E) / (eta_c dt))      charge accepted at the bus
    d_out = min(want_d, P_d,max, (E - E_min) eta_d / dt)        discharge given to the bus
    E'    = clamp(E + (eta_c c_in - d_out / eta_d) dt, E_min, E_max)
    battery.power_w = c_in - d_out          (+ charging, - discharging, at the bus)
    battery.surplus_w = want_c - c_in       (what the bus could not store: curtailed)
    battery.shortfall_w = want_d - d_out    (what the bus asked and did not get: to be shed)
    battery.soc = E' / capacity

The final clamp only absorbs floating-point rounding (at most one ulp of E), so the energy
never leaves [E_min, E_max], exactly, in float64. ``battery.soc`` is E'/capacity to
rounding: taichi's fast math may compute it as E' x (1/capacity), so a full battery may
read 1 - 1e-16. With dt = 0 (the evaluation at the epoch)
the energy limits are open when the battery is strictly inside its range and zero at a
limit, and E does not change. Losses, ``battery.loss_w = (1 - eta_c) c_in + (1/eta_d - 1)
d_out``, leave as heat into the thermal node (an assumption: the battery shares the
payload's thermal loop; a battery on its own radiator would not heat it). Since the bus
sheds within ``battery.max_discharge_w``, ``battery.shortfall_w`` is zero but for float32
rounding of ``power.net_w`` (it stays as a check).

Assumptions and limits: no voltage, current or internal-resistance model (constant
efficiencies, independent of rate, state of charge and temperature); no self-discharge
(a few percent per month, negligible over a run); no capacity fade with cycles or
calendar age; rate limits are constant (default: C-rates of the nameplate capacity).

Validation: ``tests/test_battery.py`` (bounds and bookkeeping of `step_numpy` under
hypothesis, the taichi stage replayed against `step_numpy`, configuration errors) and
``tests/test_power.py`` (the energy balance of the whole chain over a run).
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from twin_core import Anchor, Contribution, MassItem, Metric, ScenarioError, Stage, Variable, hookimpl
from twin_core.validators import SpecValueError, in_range, non_negative, positive

#: Charge and discharge efficiencies [1]: sqrt(0.90) each, a round-trip energy efficiency of
#: 90 % (Li-ion round-trip efficiency is commonly quoted at 85-95 %; e.g. the Tesla
#: Powerwall 2 rating of 90 %).
CHARGE_EFFICIENCY = math.sqrt(0.90)
DISCHARGE_EFFICIENCY = math.sqrt(0.90)
#: Default charge limit [1/h of capacity]: C/2, the standard charge rate of Li-ion cells
#: (e.g. Panasonic NCR18650B datasheet: standard charge 1625 mA for 3250 mAh).
MAX_CHARGE_C_RATE = 0.5
#: Default discharge limit [1/h of capacity]: 1C, an assumption (a conservative continuous
#: rate for space Li-ion packs; set max_discharge_w from the pack's datasheet).
MAX_DISCHARGE_C_RATE = 1.0
#: Floor of the state of charge [1]: 0.6, i.e. 40 % depth of discharge, an assumption in the
#: 20-40 % range LEO Li-ion batteries are held to for multi-year life at ~5,500 cycles a year.
MIN_SOC = 0.6
#: State of charge at the epoch [1]: an assumption, fully charged.
INITIAL_SOC = 1.0
#: Pack specific energy [Wh/kg]: Saft's Li-ion battery for the STENTOR satellite, 45 V x 80 Ah
#: (3.6 kWh) per pack of under 37 kg including electronics (qualification paper, 1999-2000):
#: 97 Wh/kg, a heritage figure (modern packs reach 130-160 Wh/kg).
SPECIFIC_ENERGY_WH_KG = 97.0

WH_J = 3600.0
#: Stand-in for "no limit" inside the kernel [W] (with dt = 0).
_OPEN = 1e300


@attrs.frozen
class BatteryConfig:
    """Table ``[battery]``: one battery per satellite, the same on every satellite.

    Attributes:
        capacity_wh: nameplate energy capacity [Wh]; required. 0 means no battery, allowed
            only when no payload draws power.
        charge_efficiency: stored energy / energy accepted at the bus [1].
        discharge_efficiency: energy given to the bus / stored energy spent [1].
        max_charge_w: largest charge power accepted at the bus [W]; default C/2.
        max_discharge_w: largest discharge power given to the bus [W]; default 1C.
        min_soc: state of charge below which the battery is never discharged [1].
        initial_soc: state of charge at the epoch [1].
        specific_energy_wh_kg: battery mass = capacity / this [Wh/kg].
    """

    capacity_wh: float = attrs.field(validator=non_negative)
    charge_efficiency: float = attrs.field(default=CHARGE_EFFICIENCY, validator=in_range(0, 1, lo_open=True))
    discharge_efficiency: float = attrs.field(default=DISCHARGE_EFFICIENCY, validator=in_range(0, 1, lo_open=True))
    max_charge_w: float | None = attrs.field(default=None, validator=attrs.validators.optional(positive))
    max_discharge_w: float | None = attrs.field(default=None, validator=attrs.validators.optional(positive))
    min_soc: float = attrs.field(default=MIN_SOC, validator=in_range(0, 1, hi_open=True))
    initial_soc: float = attrs.field(default=INITIAL_SOC, validator=in_range(0, 1))
    specific_energy_wh_kg: float = attrs.field(default=SPECIFIC_ENERGY_WH_KG, validator=positive)

    def __attrs_post_init__(self) -> None:
        if self.initial_soc < self.min_soc:
            raise SpecValueError("initial_soc", self.initial_soc, f">= min_soc = {self.min_soc:g}")

    @property
    def capacity_j(self) -> float:
        return self.capacity_wh * WH_J

    @property
    def floor_j(self) -> float:
        return self.min_soc * self.capacity_j

    @property
    def charge_limit_w(self) -> float:
        return self.max_charge_w if self.max_charge_w is not None else MAX_CHARGE_C_RATE * self.capacity_wh

    @property
    def discharge_limit_w(self) -> float:
        return self.max_discharge_w if self.max_discharge_w is not None else MAX_DISCHARGE_C_RATE * self.capacity_wh


def limits_numpy(cfg: BatteryConfig, energy_j: Any, dt: float) -> dict[str, np.ndarray]:
    """``battery.max_discharge_w`` and ``battery.max_charge_w`` (the ``battery.limits``
    stage) from the energy at the start of the step, float64."""
    e = np.asarray(energy_j, dtype=np.float64)
    room, avail = cfg.capacity_j - e, e - cfg.floor_j
    if dt > 0:
        lim_c, lim_d = room / (cfg.charge_efficiency * dt), avail * cfg.discharge_efficiency / dt
    else:
        lim_c, lim_d = np.where(room > 0, _OPEN, 0.0), np.where(avail > 0, _OPEN, 0.0)
    return {"battery.max_discharge_w": np.minimum(cfg.discharge_limit_w, lim_d),
            "battery.max_charge_w": np.minimum(cfg.charge_limit_w, lim_c)}


def step_numpy(cfg: BatteryConfig, energy_j: Any, net_w: Any, dt: float) -> dict[str, np.ndarray]:
    """One step of the model (module docstring) in float64, elementwise; the reference of
    the ``battery.step`` stage. Returns the new ``battery.*`` values by variable name."""
    e = np.asarray(energy_j, dtype=np.float64)
    net = np.asarray(net_w, dtype=np.float64)
    cap, floor = cfg.capacity_j, cfg.floor_j
    eta_c, eta_d = cfg.charge_efficiency, cfg.discharge_efficiency
    want_c, want_d = np.maximum(net, 0.0), np.maximum(-net, 0.0)
    room, avail = cap - e, e - floor
    if dt > 0:
        lim_c, lim_d = room / (eta_c * dt), avail * eta_d / dt
    else:
        lim_c, lim_d = np.where(room > 0, _OPEN, 0.0), np.where(avail > 0, _OPEN, 0.0)
    c_in = np.minimum(want_c, np.minimum(cfg.charge_limit_w, lim_c))
    d_out = np.minimum(want_d, np.minimum(cfg.discharge_limit_w, lim_d))
    e_new = np.minimum(np.maximum(e + (eta_c * c_in - d_out / eta_d) * dt, floor), cap)
    return {"battery.energy_j": e_new, "battery.soc": e_new / cap if cap > 0 else np.zeros_like(e_new),
            "battery.power_w": c_in - d_out, "battery.shortfall_w": want_d - d_out,
            "battery.surplus_w": want_c - c_in, "battery.loss_w": (1.0 - eta_c) * c_in + (1.0 / eta_d - 1.0) * d_out}


# --------------------------------------------------------------------------------------
# hooks
# --------------------------------------------------------------------------------------

_OUT = (
    ("battery.soc", "1", "battery state of charge, energy / capacity", "f64"),
    ("battery.power_w", "W", "power into the battery at the bus, positive charging, negative discharging", "f32"),
    ("battery.shortfall_w", "W", "discharge asked of the battery that it could not give (floor or rate "
     "limit): the load to shed", "f32"),
    ("battery.surplus_w", "W", "charge offered to the battery that it could not take (full or rate limit)", "f32"),
    ("battery.loss_w", "W", "heat of charging and discharging, (1 - eta_c) charge + (1/eta_d - 1) discharge",
     "f32"),
)
_LIMITS = (("battery.max_discharge_w", "W", "most the battery can give the bus this step (rate and energy)"),
           ("battery.max_charge_w", "W", "most the battery can take from the bus this step (rate and room)"))


@hookimpl
def orbitwin_config_sections() -> dict[str, type]:
    return {"battery": BatteryConfig}


@hookimpl
def orbitwin_variables(scenario: Any) -> list[Variable] | None:
    if scenario is not None and scenario.section("battery") is None:
        return None
    return [Variable("battery.energy_j", "J", "energy stored in the battery", "state", "f64")] + [
        Variable(name, units, text, "output", dtype) for name, units, text, dtype in _OUT] + [
        Variable(name, units, text, "output", "f64", record=False) for name, units, text in _LIMITS]


@hookimpl
def orbitwin_contributions(scenario: Any) -> list[Contribution] | None:
    """Charge and discharge losses heat the thermal node (module docstring)."""
    if scenario.section("battery") is None:
        return None
    return [Contribution("thermal.heat_in_w", "battery.loss_w")]


@hookimpl
def orbitwin_observed_state(scenario: Any, variable: str) -> Anchor | None:
    """A run started from telemetry: an observed state of charge (or stored energy) sets
    the stored energy, within what the model allows ([min_soc, 1] of the capacity)."""
    cfg = scenario.section("battery")
    if cfg is None or cfg.capacity_j <= 0.0 or variable not in ("battery.soc", "battery.energy_j"):
        return None
    cap = cfg.capacity_j
    if variable == "battery.soc":
        return Anchor({"battery.energy_j": lambda soc: soc * cap, "battery.soc": lambda soc: soc},
                      valid=(cfg.min_soc, 1.0),
                      expected=f"a state of charge from [battery] min_soc = {cfg.min_soc:g} to 1 (the model never "
                               "discharges below min_soc: lower it if the battery really is there)")
    return Anchor({"battery.energy_j": lambda e: e, "battery.soc": lambda e: e / cap},
                  valid=(cfg.floor_j, cap),
                  expected=f"an energy from min_soc x capacity = {cfg.floor_j:g} J to the capacity, {cap:g} J")


@hookimpl
def orbitwin_initial_state(scenario: Any, state: Any) -> None:
    cfg = scenario.section("battery")
    if cfg is not None:
        state.set("battery.energy_j", cfg.initial_soc * cfg.capacity_j)
        # the payload's policy reads the previous step's state of charge, at the epoch too
        state.set("battery.soc", cfg.initial_soc)


@hookimpl
def orbitwin_metrics(scenario: Any) -> list[Metric] | None:
    if scenario.section("battery") is None:
        return None
    return [
        Metric("constellation.min_soc", "battery.soc", "min", "1", "lowest battery state of charge"),
        Metric("constellation.mean_soc", "battery.soc", "mean", "1", "mean battery state of charge"),
        Metric("constellation.stored_energy_j", "battery.energy_j", "sum", "J", "energy stored in all batteries"),
        Metric("constellation.battery_shortfall_fraction", "battery.shortfall_w", "fraction_above", "1",
               "share of satellites whose battery could not give all the discharge asked", threshold=0.0),
    ]


@hookimpl
def orbitwin_stages(scenario: Any, state: Any) -> list[Stage] | None:
    cfg = scenario.section("battery")
    if cfg is None:
        return None
    if cfg.capacity_wh == 0.0 and state.has("payload.demand_w"):
        raise ScenarioError(scenario.path, "battery.capacity_wh", "bad value", cfg.capacity_wh,
                            "> 0 while a payload draws power (its policy reads the state of charge)")
    import taichi as ti

    net_f, e_f = state.field("power.net_w"), state.field("battery.energy_j")
    soc_f, p_f = state.field("battery.soc"), state.field("battery.power_w")
    short_f, surp_f = state.field("battery.shortfall_w"), state.field("battery.surplus_w")
    loss_f, maxd_f, maxc_f = (state.field(n) for n in ("battery.loss_w", "battery.max_discharge_w",
                                                        "battery.max_charge_w"))
    CAP, FLOOR = float(cfg.capacity_j), float(cfg.floor_j)
    ETA_C, ETA_D = float(cfg.charge_efficiency), float(cfg.discharge_efficiency)
    PC, PD = float(cfg.charge_limit_w), float(cfg.discharge_limit_w)
    has_capacity = CAP > 0.0
    INV_ETA_D, INV_CAP = 1.0 / ETA_D, (1.0 / CAP if has_capacity else 0.0)  # a division per satellite-step fewer each

    @ti.func
    def battery_limits(i, k, t, dt):
        e = e_f[i]
        room, avail = CAP - e, e - FLOOR
        lim_c = ti.select(room > 0.0, _OPEN, 0.0)
        lim_d = ti.select(avail > 0.0, _OPEN, 0.0)
        if dt > 0.0:  # reciprocals of the step, the same for every satellite: computed once per loop
            lim_c = room * (1.0 / (ETA_C * dt))
            lim_d = avail * (ETA_D / dt)
        maxd_f[i] = ti.min(PD, lim_d)
        maxc_f[i] = ti.min(PC, lim_c)

    @ti.func
    def battery_step(i, k, t, dt):  # the limits of this step, from the same energy: battery.limits
        net = ti.cast(net_f[i], ti.f64)
        e = e_f[i]
        want_c, want_d = ti.max(net, 0.0), ti.max(-net, 0.0)
        c_in = ti.min(want_c, maxc_f[i])
        d_out = ti.min(want_d, maxd_f[i])
        e_new = ti.min(ti.max(e + (ETA_C * c_in - d_out * INV_ETA_D) * dt, FLOOR), CAP)
        e_f[i] = e_new
        soc = 0.0
        if ti.static(has_capacity):
            soc = e_new * INV_CAP
        soc_f[i] = soc
        if ti.static(state.used("battery.power_w")):  # outputs nothing reads are not stored
            p_f[i] = ti.cast(c_in - d_out, ti.f32)
        if ti.static(state.used("battery.shortfall_w")):
            short_f[i] = ti.cast(want_d - d_out, ti.f32)
        if ti.static(state.used("battery.surplus_w")):
            surp_f[i] = ti.cast(want_c - c_in, ti.f32)
        if ti.static(state.used("battery.loss_w")):
            loss_f[i] = ti.cast((1.0 - ETA_C) * c_in + (1.0 / ETA_D - 1.0) * d_out, ti.f32)

    return [Stage("battery.limits", battery_limits, writes=["battery.max_discharge_w", "battery.max_charge_w"],
                  reads_previous=["battery.energy_j"]),
            Stage("battery.step", battery_step,
                  reads=["power.net_w", "battery.max_discharge_w", "battery.max_charge_w"],
                  writes=["battery.energy_j", "battery.soc", "battery.power_w", "battery.shortfall_w",
                          "battery.surplus_w", "battery.loss_w"])]


@hookimpl
def orbitwin_mass_budget(scenario: Any) -> list[MassItem] | None:
    cfg = scenario.section("battery")
    if cfg is None:
        return None
    origin = ("Saft Li-ion pack of the STENTOR satellite, 3.6 kWh in under 37 kg"
              if cfg.specific_energy_wh_kg == SPECIFIC_ENERGY_WH_KG else "the scenario's [battery] specific_energy_wh_kg")
    return [MassItem("battery", cfg.capacity_wh / cfg.specific_energy_wh_kg,
                     f"{cfg.capacity_wh:g} Wh at {cfg.specific_energy_wh_kg:g} Wh/kg ({origin})")]
