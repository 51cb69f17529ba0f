"""A plugin that makes one satellite's variable NaN after a given time, on purpose:
``[nan_maker] satellite = 3, after_s = 1800``."""

import attrs
import taichi as ti

from twin_core import Stage, Variable, hookimpl
from twin_core.validators import int_range, non_negative


@attrs.frozen
class NanConfig:
    satellite: int = attrs.field(default=3, validator=int_range(0, 10**9))
    after_s: float = attrs.field(default=1800.0, validator=non_negative)


@hookimpl
def orbitwin_config_sections():
    return {"nan_maker": NanConfig}


@hookimpl
def orbitwin_variables(scenario):
    if scenario is not None and scenario.section("nan_maker") is None:
        return None
    return [Variable("nan_maker.value", "1", "finite until it is not", "output")]


@hookimpl
def orbitwin_stages(scenario, state):
    cfg = scenario.section("nan_maker")
    out = state.field("nan_maker.value")
    sat, after = cfg.satellite - state.sat_start, cfg.after_s

    @ti.func
    def poison(i, k, t, dt):
        v = 1.0
        if i == sat and t > after:
            v = ti.sqrt(-1.0 - t * 0.0)
        out[i] = v

    return [Stage("nan_maker.poison", poison, writes=["nan_maker.value"])]
