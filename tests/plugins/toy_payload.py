"""A toy payload for the power-chain tests: writes ``payload.demand_w`` as a square wave
(``[toy_payload]`` table; ``high_w`` is required, so the plugin is inactive without
the table), so the solar, battery and power tests do not depend on the real
payload plugin.

    demand = high_w  if frac((t + i * stagger_s) / period_s) < duty  else low_w

``i`` is the satellite index, so satellites are out of phase when ``stagger_s`` > 0.
"""

import attrs
import taichi as ti

from twin_core import Stage, Variable, hookimpl
from twin_core.validators import in_range, non_negative, positive

PLUGIN_NAME = "toy_payload"


@attrs.frozen
class ToyPayloadConfig:
    high_w: float = attrs.field(validator=non_negative)
    low_w: float = attrs.field(default=0.0, validator=non_negative)
    period_s: float = attrs.field(default=3000.0, validator=positive)
    duty: float = attrs.field(default=0.5, validator=in_range(0, 1))
    stagger_s: float = attrs.field(default=0.0, validator=non_negative)


@hookimpl
def orbitwin_config_sections():
    return {"toy_payload": ToyPayloadConfig}


@hookimpl
def orbitwin_variables(scenario):
    if scenario is not None and scenario.section("toy_payload") is None:
        return None
    return [Variable("payload.demand_w", "W", "power the toy payload asks for", "output", "f32")]


@hookimpl
def orbitwin_stages(scenario, state):
    cfg = scenario.section("toy_payload")
    if cfg is None:
        return None
    dem = state.field("payload.demand_w")
    hi, lo, per, duty, stag = (float(x) for x in (cfg.high_w, cfg.low_w, cfg.period_s, cfg.duty, cfg.stagger_s))

    @ti.func
    def square(i, k, t, dt):
        x = (t + ti.cast(i, ti.f64) * stag) / per
        dem[i] = ti.cast(ti.select(x - ti.floor(x) < duty, hi, lo), ti.f32)

    return [Stage("toy_payload.demand", square, writes=["payload.demand_w"])]
