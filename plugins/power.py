"""Power plugin: the bus's electrical balance and load shedding, and the bus's own loads
and structure.

Two stages around the battery, in the per-step chain solar -> payload demand -> balance ->
battery -> shedding -> payload delivery -> thermal:

``power.balance`` (after the array and the payload's demand, before the battery)::

    power.net_w = power.generated_w - B - payload.demand_w

``power.shed`` (after the battery) serves the loads with what generation and battery
give. Priority: the payload is shed first, the bus only once the whole payload is off::

    S = battery.shortfall_w,  D = payload.demand_w
    power.payload_supply_w = max(D - S, 0)
    power.unserved_w       = min(max(S - D, 0), B)      bus demand left unserved
    power.bus_load_w       = B - power.unserved_w
    power.curtailed_w      = battery.surplus_w          generation neither used nor stored
    power.load_w           = power.bus_load_w + power.payload_supply_w

B is the bus demand, the sum of ``avionics_w``, ``attitude_control_w`` and ``heaters_w``
(constant; loads that scale with the payload, such as its power converters and pumps,
belong in the payload's demand at the bus). Without a payload plugin (no
``payload.demand_w``), D = 0. With the battery's bookkeeping this closes the balance of
every step exactly (to rounding)::

    power.generated_w = power.load_w + power.curtailed_w + battery.power_w

Nothing is silently dropped: a shortfall is either shed payload (``payload_supply_w <
demand_w``) or unserved bus load (``power.unserved_w > 0``, counted by the metric
``constellation.unserved_fraction``; a real bus would brown out).

Mass: the structure, as a share of the satellite's total mass (`MassItem.fraction`),
lives here because the ``[power]`` table is where the bus is described.

Activation: the plugin runs when the scenario has a ``[power]`` or a ``[battery]`` table,
or both ``[solar]`` and ``[payload]`` (a payload must not draw unlimited power); it then
needs a writer of ``power.generated_w`` (the ``solar`` plugin) and a battery
(``[battery]``; ``capacity_wh = 0`` for none, allowed only without a payload). ``[solar]``
alone computes the array's output and nothing else.

Validation: ``tests/test_power.py`` (energy balance over a run, shedding priority,
metrics, configuration errors).
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from twin_core import MassItem, Metric, PowerItem, ScenarioError, Stage, Variable, hookimpl
from twin_core.validators import in_range, non_negative

# Bus loads of a ~500 kg-class bus in sunlit operation. Assumptions, built up from typical
# units; set them from your bus's power budget.
#: Flight computer, S-band TT&C transceiver, GNSS receiver [W].
AVIONICS_W = 50.0
#: Four reaction wheels at steady speed, magnetorquers, star trackers [W].
ATTITUDE_CONTROL_W = 60.0
#: Orbit-average survival and battery heaters [W].
HEATERS_W = 40.0
#: Structure as a share of the satellite's (dry) mass: within the 20-25 % of SMAD 3rd ed.
#: (Wertz & Larson 1999) Table 10-8, average subsystem mass as a percentage of dry mass.
STRUCTURE_FRACTION = 0.22


@attrs.frozen
class PowerConfig:
    """Table ``[power]``: the bus's own loads and structure (all keys optional).

    Attributes:
        avionics_w: flight computer, radio and navigation [W].
        attitude_control_w: reaction wheels, magnetorquers and attitude sensors [W].
        heaters_w: orbit-average heater power [W].
        structure_fraction: structure mass as a share of the satellite's total mass [1].
    """

    avionics_w: float = attrs.field(default=AVIONICS_W, validator=non_negative)
    attitude_control_w: float = attrs.field(default=ATTITUDE_CONTROL_W, validator=non_negative)
    heaters_w: float = attrs.field(default=HEATERS_W, validator=non_negative)
    structure_fraction: float = attrs.field(default=STRUCTURE_FRACTION, validator=in_range(0, 1, hi_open=True))

    @property
    def bus_demand_w(self) -> float:
        return self.avionics_w + self.attitude_control_w + self.heaters_w


def balance_numpy(cfg: PowerConfig, generated_w: Any, demand_w: Any = 0.0) -> np.ndarray:
    """``power.net_w`` in float64 (reference of ``power.balance``)."""
    return np.asarray(generated_w, np.float64) - cfg.bus_demand_w - np.asarray(demand_w, np.float64)


def shed_numpy(cfg: PowerConfig, shortfall_w: Any, surplus_w: Any, demand_w: Any = 0.0) -> dict[str, np.ndarray]:
    """The outputs of ``power.shed`` in float64, by variable name."""
    s, d = np.asarray(shortfall_w, np.float64), np.asarray(demand_w, np.float64)
    bus = cfg.bus_demand_w
    supply = np.maximum(d - s, 0.0)
    unserved = np.minimum(np.maximum(s - d, 0.0), bus)
    return {"power.payload_supply_w": supply, "power.unserved_w": unserved, "power.bus_load_w": bus - unserved,
            "power.curtailed_w": np.asarray(surplus_w, np.float64),
            "power.load_w": bus - unserved + supply}


# --------------------------------------------------------------------------------------
# hooks
# --------------------------------------------------------------------------------------

_OUT = (
    ("power.net_w", "generated - bus demand - payload demand: asked of the battery (+ charge, - discharge)"),
    ("power.payload_supply_w", "power the bus delivers to the payload after load shedding"),
    ("power.bus_load_w", "power delivered to the bus (avionics, attitude control, heaters)"),
    ("power.unserved_w", "bus demand that could not be served after shedding the whole payload"),
    ("power.curtailed_w", "generation neither used nor stored (battery full or charge-rate limit)"),
    ("power.load_w", "electrical power delivered to the bus and payload after load shedding"),
)


def _active(scenario: Any) -> bool:
    """Whether the scenario uses this plugin (module docstring, Activation)."""
    if "power" in scenario.raw or scenario.section("battery") is not None:
        return True
    return scenario.section("solar") is not None and scenario.section("payload") is not None


@hookimpl
def orbitwin_config_sections() -> dict[str, type]:
    return {"power": PowerConfig}


@hookimpl
def orbitwin_variables(scenario: Any) -> list[Variable] | None:
    if scenario is not None and not _active(scenario):
        return None
    return [Variable(name, "W", text, "output", "f32") for name, text in _OUT]


@hookimpl
def orbitwin_metrics(scenario: Any) -> list[Metric] | None:
    if not _active(scenario):
        return None
    return [
        Metric("constellation.payload_supply_w", "power.payload_supply_w", "sum", "W",
               "power delivered to all payloads after load shedding"),
        Metric("constellation.load_w", "power.load_w", "sum", "W", "power delivered to all buses and payloads"),
        Metric("constellation.curtailed_w", "power.curtailed_w", "sum", "W", "generation neither used nor stored"),
        Metric("constellation.unserved_w", "power.unserved_w", "sum", "W", "bus demand left unserved"),
        Metric("constellation.unserved_fraction", "power.unserved_w", "fraction_above", "1",
               "share of satellites whose bus demand was not fully served", threshold=0.0),
    ]


@hookimpl
def orbitwin_stages(scenario: Any, state: Any) -> list[Stage] | None:
    if not _active(scenario):
        return None
    for name, table, hint in (("power.generated_w", "solar", "add [solar] with area_m2"),
                              ("battery.shortfall_w", "battery", "add [battery] (capacity_wh = 0 for none)")):
        if not state.has(name):
            raise ScenarioError(scenario.path, table, "required table is missing",
                                hint=f"the power plugin balances the array's output against the loads "
                                     f"through the battery; {hint}")
    import taichi as ti

    cfg = scenario.section("power")
    BUS = float(cfg.bus_demand_w)
    payload = state.has("payload.demand_w")
    gen_f, net_f = state.field("power.generated_w"), state.field("power.net_w")
    dem_f = state.field("payload.demand_w") if payload else None
    short_f, surp_f = state.field("battery.shortfall_w"), state.field("battery.surplus_w")
    out = {name: state.field(name) for name, _ in _OUT[1:]}
    supply_f, bus_f, unserved_f = out["power.payload_supply_w"], out["power.bus_load_w"], out["power.unserved_w"]
    curt_f, load_f = out["power.curtailed_w"], out["power.load_w"]

    @ti.func
    def demand(i):
        d = 0.0
        if ti.static(payload):
            d = ti.cast(dem_f[i], ti.f64)
        return d

    @ti.func
    def power_balance(i, k, t, dt):
        net_f[i] = ti.cast(ti.cast(gen_f[i], ti.f64) - BUS - demand(i), ti.f32)

    @ti.func
    def power_shed(i, k, t, dt):
        s, d = ti.cast(short_f[i], ti.f64), demand(i)
        supply = ti.max(d - s, 0.0)
        unserved = ti.min(ti.max(s - d, 0.0), BUS)
        supply_f[i] = ti.cast(supply, ti.f32)
        unserved_f[i] = ti.cast(unserved, ti.f32)
        bus_f[i] = ti.cast(BUS - unserved, ti.f32)
        curt_f[i] = surp_f[i]
        load_f[i] = ti.cast(BUS - unserved + supply, ti.f32)

    extra = ["payload.demand_w"] if payload else []
    return [
        Stage("power.balance", power_balance, writes=["power.net_w"], reads=["power.generated_w"] + extra),
        Stage("power.shed", power_shed, writes=[name for name, _ in _OUT[1:]],
              reads=["battery.shortfall_w", "battery.surplus_w"] + extra),
    ]


@hookimpl
def orbitwin_mass_budget(scenario: Any) -> list[MassItem] | None:
    if not _active(scenario):
        return None
    cfg = scenario.section("power")
    return [MassItem("structure", 0.0, "share of total mass; default within the 20-25 % of SMAD 3rd ed. "
                     "Table 10-8", fraction=cfg.structure_fraction)]


@hookimpl
def orbitwin_power_budget(scenario: Any) -> list[PowerItem] | None:
    if not _active(scenario):
        return None
    cfg = scenario.section("power")
    src = "[power] table (defaults: assumptions for a ~500 kg-class bus, plugin power)"
    return [PowerItem("avionics", -cfg.avionics_w, src), PowerItem("attitude control", -cfg.attitude_control_w, src),
            PowerItem("heaters", -cfg.heaters_w, src)]
