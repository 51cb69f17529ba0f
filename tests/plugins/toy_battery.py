"""A toy power bus for payload and thermal tests (stands in for the battery and power
plugins): prescribed state of charge, a cap on the power given to the payload and a
constant bus load, optionally a prescribed temperature.

``battery.soc = clip(soc0 + soc_per_h * t_h + soc_per_sat * i, 0, 1)``,
``power.payload_supply_w = min(payload.demand_w, supply_w[i % len])`` (no cap when the list
is empty), ``power.bus_load_w = bus_load_w``; with ``temperature_k > 0`` also
``thermal.temperature_k = temperature_k + temp_per_h * t_h + temp_per_sat * i``.

Load it with ``disable=["battery", "power", "solar"]`` so the real plugins (when installed)
do not declare the same variables.
"""

import attrs
import numpy as np
import taichi as ti

from twin_core import Stage, Variable, hookimpl
from twin_core.validators import finite, non_negative

PLUGIN_NAME = "toy_battery"


@attrs.frozen
class ToyBatteryConfig:
    soc0: float = attrs.field(default=1.0, validator=finite)
    soc_per_h: float = attrs.field(default=0.0, validator=finite)
    soc_per_sat: float = attrs.field(default=0.0, validator=finite)
    supply_w: list[float] = attrs.Factory(list)
    bus_load_w: float = attrs.field(default=0.0, validator=non_negative)
    temperature_k: float = attrs.field(default=0.0, validator=non_negative)
    temp_per_h: float = attrs.field(default=0.0, validator=finite)
    temp_per_sat: float = attrs.field(default=0.0, validator=finite)


def _cfg(scenario):
    return scenario.section("toy_battery") if scenario is not None else None


@hookimpl
def orbitwin_config_sections():
    return {"toy_battery": ToyBatteryConfig}


@hookimpl
def orbitwin_variables(scenario):
    cfg = _cfg(scenario)
    if cfg is None:
        return None
    out = [Variable("toy_battery.soc0", "1", "soc at t=0", "parameter", record=False),
           Variable("toy_battery.cap_w", "W", "payload supply cap", "parameter", record=False),
           Variable("battery.soc", "1", "prescribed state of charge", "state"),
           Variable("power.payload_supply_w", "W", "power given to the payload", "output", "f32"),
           Variable("power.bus_load_w", "W", "bus load", "output", "f32")]
    if cfg.temperature_k > 0:
        out += [Variable("toy_battery.temp0_k", "K", "temperature at t=0", "parameter", record=False),
                Variable("thermal.temperature_k", "K", "prescribed temperature", "state")]
    return out


@hookimpl
def orbitwin_initial_state(scenario, state):
    cfg = _cfg(scenario)
    if cfg is None:
        return
    i = np.arange(state.n_total)
    soc0 = cfg.soc0 + cfg.soc_per_sat * i
    state.set("toy_battery.soc0", soc0)
    state.set("battery.soc", np.clip(soc0, 0.0, 1.0))
    caps = np.asarray(cfg.supply_w or [1e30], dtype=np.float64)
    state.set("toy_battery.cap_w", caps[i % caps.size])
    if cfg.temperature_k > 0:
        t0 = cfg.temperature_k + cfg.temp_per_sat * i
        state.set("toy_battery.temp0_k", t0)
        state.set("thermal.temperature_k", t0)


@hookimpl
def orbitwin_stages(scenario, state):
    cfg = _cfg(scenario)
    if cfg is None:
        return None
    soc0_f, cap_f, soc_f = state.field("toy_battery.soc0"), state.field("toy_battery.cap_w"), state.field("battery.soc")
    sup_f, bus_f, dem_f = (state.field("power.payload_supply_w"), state.field("power.bus_load_w"),
                           state.field("payload.demand_w"))
    soc_rate, bus = cfg.soc_per_h / 3600.0, cfg.bus_load_w

    @ti.func
    def toy_power(i, k, t, dt):
        soc_f[i] = ti.math.clamp(soc0_f[i] + soc_rate * t, 0.0, 1.0)
        sup_f[i] = ti.cast(ti.min(ti.cast(dem_f[i], ti.f64), cap_f[i]), ti.f32)
        bus_f[i] = ti.cast(bus, ti.f32)

    stages = [Stage("toy_battery.power", toy_power,
                    writes=["battery.soc", "power.payload_supply_w", "power.bus_load_w"],
                    reads=["payload.demand_w"])]
    if cfg.temperature_k > 0:
        t0_f, temp_f, temp_rate = state.field("toy_battery.temp0_k"), state.field("thermal.temperature_k"), \
            cfg.temp_per_h / 3600.0

        @ti.func
        def toy_temperature(i, k, t, dt):
            temp_f[i] = t0_f[i] + temp_rate * t

        stages.append(Stage("toy_battery.temperature", toy_temperature, writes=["thermal.temperature_k"],
                            reads=["payload.heat_w"]))
    return stages
