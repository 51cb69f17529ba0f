"""Plugin ``heater``: a thermostat-controlled heater on the payload's thermal node
(table ``[heater]``).

Model
-----
A bang-bang thermostat: the heater asks the bus for ``power_w`` while the node's
temperature at the previous step was below ``setpoint_k``, and for nothing otherwise::

    heater.power_w(t)     = power_w  if thermal.temperature_k(t - dt) < setpoint_k  else 0
    heater.delivered_w(t) = heater.power_w(t) x power.bus_load_w(t) / power.bus_demand_w(t)

The previous step's temperature (``reads_previous``) breaks the loop heater -> bus ->
thermal node -> heater: the thermal plugin's stage runs after the bus. There is no
deadband: with the step as the only delay, a heater that can hold the node cycles on
and off from step to step around the setpoint (its time average is what matters to the
energy balance; a real thermostat's hysteresis would make the cycles longer).

Power: ``heater.power_w`` is a contribution to ``power.bus_demand_w`` (a `Combined` sum
the power plugin owns). The power plugin serves the bus's demand *before* the payload:
in eclipse, with the battery near its floor, the heater's power comes out of what the
payload would have had, and may shed it (loss reason "shed" or "power-limited"), or
leave part of the bus demand unserved once the payload is off (``power.unserved_w``).
``heater.delivered_w`` is the heater's share of what the bus actually delivered,
assuming the bus's shortfall falls on all its loads in proportion (the power plugin does
not say which bus load goes unserved); it equals ``heater.power_w`` whenever
``power.unserved_w`` is 0.

Heat: all the electrical power the heater is given ends as heat in the node. The
thermal plugin already adds the whole delivered bus load (``power.bus_load_w``, of which
the heater's delivered power is part) to the node's heat unless ``[thermal]
include_bus_heat = false``; so this plugin contributes ``heater.delivered_w`` to
``thermal.heat_in_w`` only in that case, and the heater's heat is counted exactly once
either way (contributing it as well would count it twice).

Defaults and sources:
    setpoint_k = 278.15 K (5 C): the lower end of the 5-30 C operating temperature range
        of NVIDIA's DGX H100 (DGX H100 datasheet), the server the built-in catalog's H100
        payload is modelled on. That range is for the server's inlet air; applying it to
        the lumped node (cold plates, coolant and radiator at one temperature) is an
        ASSUMPTION.
    power_w = 200 W: ASSUMPTION, a payload keep-warm heater five times the power plugin's
        40 W orbit-average bus heaters. It slows the cooling of an idle or failed payload
        but, in orbitwin's one-node model, cannot hold a large radiator at the setpoint:
        holding it takes ``eps sigma A T_set^4 - Q_env - Q_bus``, about 6 kW for the 26 m2
        radiating area of examples/walker_550km.toml. A real design isolates the radiator
        (loop bypass, louvers) and heats only the payload, which one node cannot
        represent; size ``power_w`` from your own thermal design.

Activation: the table ``[heater]``; it needs the thermal plugin (``[thermal]``, for the
temperature) and the power plugin (the bus).

Validation: ``tests/test_heater_plugin.py`` of this package (thermostat law, the heater in the
bus load, the energy balance of the bus and of the thermal node, heat counted once).
"""

from __future__ import annotations

from typing import Any

import attrs

from orbitwin_reliability import __version__  # noqa: F401  (shown by `orbitwin plugins`)
from twin_core import Contribution, Metric, ScenarioError, Stage, Variable, hookimpl
from twin_core.validators import non_negative, positive

TABLE = "heater"
#: Thermostat setpoint [K]: 5 C, the low end of the DGX H100's operating range (module docstring).
SETPOINT_K = 278.15
#: Heater power when on [W]: ASSUMPTION (module docstring).
POWER_W = 200.0


@attrs.frozen
class HeaterConfig:
    """Table ``[heater]`` (every key optional; the table's presence enables the plugin).

    Attributes:
        power_w: power drawn from the bus while the heater is on [W]; default 200 W
            (ASSUMPTION, module docstring).
        setpoint_k: the heater is on while the node was colder than this at the
            previous step [K]; default 278.15 K, 5 C.
    """

    power_w: float = attrs.field(default=POWER_W, validator=non_negative)
    setpoint_k: float = attrs.field(default=SETPOINT_K, validator=positive)


def _config(scenario: Any) -> HeaterConfig | None:
    """The table when the scenario has one (presence read from the raw TOML: with every
    key defaulted, the core builds the section even without the table)."""
    if scenario is None or TABLE not in scenario.raw:
        return None
    return scenario.section(TABLE)


def _heat_separately(scenario: Any) -> bool:
    """Whether this plugin must add its heat to the node itself: only when the thermal
    plugin does not already count the bus's load (module docstring, Heat)."""
    return getattr(scenario.section("thermal"), "include_bus_heat", True) is False


def power_numpy(previous_temperature_k: Any, cfg: HeaterConfig) -> Any:
    """``heater.power_w`` from the previous step's node temperature (float64)."""
    import numpy as np

    return np.where(np.asarray(previous_temperature_k, dtype=np.float64) < cfg.setpoint_k, cfg.power_w, 0.0)


# --------------------------------------------------------------------------------------
# hooks
# --------------------------------------------------------------------------------------


@hookimpl
def orbitwin_config_sections() -> dict[str, type]:
    return {TABLE: HeaterConfig}


@hookimpl
def orbitwin_variables(scenario: Any) -> list[Variable] | None:
    if scenario is not None and _config(scenario) is None:
        return None
    return [Variable("heater.power_w", "W", "power the heater asks of the bus: its rating while the node is "
                     "below the setpoint, else 0", "output", "f32"),
            Variable("heater.delivered_w", "W", "the heater's share of the bus load actually delivered "
                     "(= heater.power_w unless the bus browns out); all of it ends as heat in the node",
                     "output", "f32")]


@hookimpl
def orbitwin_contributions(scenario: Any) -> list[Contribution] | None:
    if _config(scenario) is None:
        return None
    out = [Contribution("power.bus_demand_w", "heater.power_w")]
    if _heat_separately(scenario):
        out.append(Contribution("thermal.heat_in_w", "heater.delivered_w"))
    return out


@hookimpl
def orbitwin_metrics(scenario: Any) -> list[Metric] | None:
    if _config(scenario) is None:
        return None
    return [Metric("constellation.heater_power_w", "heater.delivered_w", "sum", "W",
                   "power delivered to all payload heaters"),
            Metric("constellation.heater_on_fraction", "heater.power_w", "fraction_above", "1",
                   "share of satellites whose heater is on", threshold=0.0)]


@hookimpl
def orbitwin_stages(scenario: Any, state: Any) -> list[Stage] | None:
    cfg = _config(scenario)
    if cfg is None:
        return None
    for name, table, why in (("thermal.temperature_k", "thermal", "its thermostat reads the node's temperature"),
                             ("power.bus_load_w", "power", "it draws its power from the bus")):
        if not state.has(name):
            raise ScenarioError(scenario.path, table, "required table is missing",
                                hint=f"the heater plugin needs [{table}]: {why}")
    import taichi as ti

    temp_f, power_f, deliv_f = (state.field(n) for n in ("thermal.temperature_k", "heater.power_w",
                                                          "heater.delivered_w"))
    load_f, demand_f = state.field("power.bus_load_w"), state.field("power.bus_demand_w")
    on_w, setpoint = float(cfg.power_w), float(cfg.setpoint_k)

    @ti.func
    def heater_control(i, k, t, dt):
        p = 0.0
        if temp_f[i] < setpoint:
            p = on_w
        power_f[i] = ti.cast(p, ti.f32)

    @ti.func
    def heater_deliver(i, k, t, dt):
        demand = ti.cast(demand_f[i], ti.f64)
        share = 1.0
        if demand > 0.0:
            share = ti.min(ti.cast(load_f[i], ti.f64) / demand, 1.0)
        deliv_f[i] = ti.cast(ti.cast(power_f[i], ti.f64) * share, ti.f32)

    return [Stage("heater.control", heater_control, writes=["heater.power_w"],
                  reads_previous=["thermal.temperature_k"]),
            Stage("heater.deliver", heater_deliver, writes=["heater.delivered_w"],
                  reads=["heater.power_w", "power.bus_load_w", "power.bus_demand_w"])]


__all__ = ["HeaterConfig", "power_numpy"]
