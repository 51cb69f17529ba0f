"""Power plugin: the bus's electrical balance and load shedding, and the bus's own loads
and structure.

One stage, ``power.shed``, in the per-step chain solar -> payload demand -> battery limits
-> shedding -> battery -> payload delivery -> thermal. It knows, from ``battery.limits``,
what the battery can give (``M_d``) and take (``M_c``) this step, and serves the loads
from the array's output ``G`` and that discharge. Priority: the bus first, then the
payload, which is disconnected when what is left cannot run it even idle::

    B = power.bus_demand_w (a Combined sum: this plugin's own loads plus any plugin's)
    D = payload.demand_w,  P_min = payload.min_power_w (idle power of the available accelerators)
    A = G + M_d                                    what can be served
    power.unserved_w       = max(B - A, 0)          bus demand left unserved
    power.bus_load_w       = B - power.unserved_w
    S = min(D, max(A - B, 0));  S = 0 if S < P_min  (disconnected: no energy it cannot use)
    power.payload_supply_w = S
    power.load_w           = power.bus_load_w + S
    X = G - power.load_w                           (+ to store, - to draw)
    power.curtailed_w      = max(X, 0) - min(max(X, 0), M_c)   generation neither used nor stored
    power.net_w            = X - power.curtailed_w  the battery's power at the bus (to battery.step)

The bus's own loads, ``avionics_w + attitude_control_w + heaters_w``, are this plugin's
contribution to ``power.bus_demand_w`` (the parameter ``power.bus_own_w``); any other
plugin adds its loads (a laser terminal, a pump) as a `Contribution` of its own without
owning anything here. Loads that scale with the payload (its power converters and pumps)
belong in the payload's demand. Without a payload plugin D = P_min = 0. With the battery's
bookkeeping this closes the balance of every step exactly (to float32 rounding)::

    power.generated_w = power.load_w + power.curtailed_w + battery.power_w

Nothing is silently dropped: a shortfall is shed payload (``payload_supply_w <
demand_w``) or unserved bus load (``power.unserved_w > 0``, counted by the metric
``constellation.unserved_fraction``; a real bus would brown out). Before the battery's
limits were known here (orbitwin <= 0.1 stores), a payload whose supply fell below idle
was marked off yet still "supplied" the battery's discharge, which was wasted; now it is
disconnected and the battery keeps that energy.

Heat: the bus's load (``power.bus_load_w``) ends as heat; the thermal plugin adds it to its
node unless ``[thermal] include_bus_heat = false``.

Mass: the structure, as a share of the satellite's total mass (`MassItem.fraction`),
lives here because the ``[power]`` table is where the bus is described.

Activation: the plugin runs when the scenario has a ``[power]`` or a ``[battery]`` table,
or both ``[solar]`` and ``[payload]`` (a payload must not draw unlimited power); it then
needs a writer of ``power.generated_w`` (the ``solar`` plugin) and a battery
(``[battery]``; ``capacity_wh = 0`` for none, allowed only without a payload). ``[solar]``
alone computes the array's output and nothing else.

Validation: ``tests/test_power.py`` (energy balance over a run, shedding priority, a
payload disconnected rather than fed below idle, metrics, configuration errors).
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from twin_core import Combined, Contribution, MassItem, Metric, PowerItem, ScenarioError, Stage, Variable, hookimpl
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


def shed_numpy(cfg: PowerConfig, generated_w: Any, max_discharge_w: Any, max_charge_w: Any, demand_w: Any = 0.0,
               min_power_w: Any = 0.0, bus_demand_w: Any = None) -> dict[str, np.ndarray]:
    """The outputs of ``power.shed`` in float64, by variable name (module docstring);
    ``bus_demand_w`` defaults to this plugin's own loads."""
    g = np.asarray(generated_w, np.float64)
    md, mc = np.asarray(max_discharge_w, np.float64), np.asarray(max_charge_w, np.float64)
    d, pmin = np.asarray(demand_w, np.float64), np.asarray(min_power_w, np.float64)
    bus = np.asarray(cfg.bus_demand_w if bus_demand_w is None else bus_demand_w, np.float64)
    avail = g + md
    unserved = np.maximum(bus - avail, 0.0)
    supply = np.minimum(d, np.maximum(avail - bus, 0.0))
    supply = np.where(supply < pmin, 0.0, supply)
    load = bus - unserved + supply
    x = g - load
    spare = np.maximum(x, 0.0)
    curtailed = spare - np.minimum(spare, mc)
    return {"power.payload_supply_w": supply, "power.unserved_w": unserved, "power.bus_load_w": bus - unserved,
            "power.curtailed_w": curtailed, "power.load_w": load, "power.net_w": x - curtailed}


# --------------------------------------------------------------------------------------
# hooks
# --------------------------------------------------------------------------------------

_OUT = (
    ("power.net_w", "the battery's power at the bus after shedding and curtailment (+ charge, - discharge)"),
    ("power.payload_supply_w", "power the bus delivers to the payload after load shedding"),
    ("power.bus_load_w", "power delivered to the bus (avionics, attitude control, heaters)"),
    ("power.unserved_w", "bus demand that could not be served after shedding the whole payload"),
    ("power.curtailed_w", "generation neither used nor stored (battery full or charge-rate limit)"),
    ("power.load_w", "electrical power delivered to the bus and payload after load shedding"),
)


def _active(scenario: Any) -> bool:
    """Whether the scenario uses this plugin (module docstring, Activation)."""
    if scenario.has_table("power") or scenario.section("battery") is not None:
        return True
    return scenario.section("solar") is not None and scenario.section("payload") is not None


@hookimpl
def orbitwin_config_sections() -> dict[str, type]:
    return {"power": PowerConfig}


@hookimpl
def orbitwin_variables(scenario: Any) -> list[Variable] | None:
    if scenario is not None and not _active(scenario):
        return None
    return [Variable(name, "W", text, "output", "f32") for name, text in _OUT] + [
        Variable("power.bus_own_w", "W", "the bus's own loads: avionics, attitude control, heaters", "parameter",
                 "f32", record=False),
        Combined("power.bus_demand_w", "W", "bus demand: the bus's own loads and every plugin's contribution "
                 "(terminals, pumps); served before the payload", "sum", dtype="f32")]


@hookimpl
def orbitwin_contributions(scenario: Any) -> list[Contribution] | None:
    """The bus's own loads are one contribution to its demand, beside any plugin's."""
    if not _active(scenario):
        return None
    return [Contribution("power.bus_demand_w", "power.bus_own_w")]


@hookimpl
def orbitwin_initial_state(scenario: Any, state: Any) -> None:
    if state.has("power.bus_own_w"):
        state.set("power.bus_own_w", scenario.section("power").bus_demand_w)


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
                              ("battery.max_discharge_w", "battery", "add [battery] (capacity_wh = 0 for none)")):
        if not state.has(name):
            raise ScenarioError(scenario.path, table, "required table is missing",
                                hint=f"the power plugin balances the array's output against the loads "
                                     f"through the battery; {hint}")
    import taichi as ti

    payload = state.has("payload.demand_w")
    has_min = state.has("payload.min_power_w")
    gen_f, bus_dem_f = state.field("power.generated_w"), state.field("power.bus_demand_w")
    maxd_f, maxc_f = state.field("battery.max_discharge_w"), state.field("battery.max_charge_w")
    dem_f = state.field("payload.demand_w") if payload else None
    pmin_f = state.field("payload.min_power_w") if has_min else None
    out = {name: state.field(name) for name, _ in _OUT}
    net_f, supply_f, bus_f = out["power.net_w"], out["power.payload_supply_w"], out["power.bus_load_w"]
    unserved_f, curt_f, load_f = out["power.unserved_w"], out["power.curtailed_w"], out["power.load_w"]

    @ti.func
    def power_shed(i, k, t, dt):
        g, bus = ti.cast(gen_f[i], ti.f64), ti.cast(bus_dem_f[i], ti.f64)
        d, pmin = 0.0, 0.0
        if ti.static(payload):
            d = ti.cast(dem_f[i], ti.f64)
        if ti.static(has_min):
            pmin = ti.cast(pmin_f[i], ti.f64)
        avail = g + maxd_f[i]
        unserved = ti.max(bus - avail, 0.0)
        supply = ti.min(d, ti.max(avail - bus, 0.0))
        if supply < pmin:
            supply = 0.0
        load = bus - unserved + supply
        x = g - load
        spare = ti.max(x, 0.0)
        curtailed = spare - ti.min(spare, maxc_f[i])
        supply_f[i] = ti.cast(supply, ti.f32)
        unserved_f[i] = ti.cast(unserved, ti.f32)
        bus_f[i] = ti.cast(bus - unserved, ti.f32)
        curt_f[i] = ti.cast(curtailed, ti.f32)
        load_f[i] = ti.cast(load, ti.f32)
        net_f[i] = ti.cast(x - curtailed, ti.f32)

    extra = (["payload.demand_w"] if payload else []) + (["payload.min_power_w"] if has_min else [])
    return [Stage("power.shed", power_shed, writes=[name for name, _ in _OUT],
                  reads=["power.generated_w", "power.bus_demand_w", "battery.max_discharge_w",
                         "battery.max_charge_w"] + extra)]


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
