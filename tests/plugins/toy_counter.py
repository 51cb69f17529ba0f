"""A toy plugin for core tests: its own constellation of ``[toy] count`` satellites, a
clock state integrated each step and an output derived from it.

``toy.clock_s`` integrates dt (so it must equal the record time), ``toy.double_s`` is
twice the clock at the same step: together they check step semantics and stage order.
"""

import numpy as np
import attrs
import taichi as ti

from twin_core import Metric, SatelliteTable, Stage, Variable, hookimpl
from twin_core.validators import int_range

PLUGIN_NAME = "toy"


@attrs.frozen
class ToyConfig:
    count: int = attrs.field(default=4, validator=int_range(1, 10**6))
    planes: int = attrs.field(default=2, validator=int_range(1, 10**6))


@hookimpl
def orbitwin_config_sections():
    return {"toy": ToyConfig}


@hookimpl
def orbitwin_satellites(scenario):
    cfg = scenario.section("toy")
    if cfg is None:
        return None
    plane = (np.arange(cfg.count) * cfg.planes // cfg.count).astype(np.int32)
    return SatelliteTable(cfg.count, plane, np.zeros(cfg.count, np.int32))


@hookimpl
def orbitwin_variables(scenario):
    return [
        Variable("toy.rate", "1", "clock rate", "parameter", record=False),
        Variable("toy.clock_s", "s", "integrated clock", "state"),
        Variable("toy.double_s", "s", "twice the clock", "output", dtype="f32"),
    ]


@hookimpl
def orbitwin_initial_state(scenario, state):
    state.set("toy.rate", np.ones(state.n_total))
    state.set("toy.clock_s", 0.0)


@hookimpl
def orbitwin_metrics(scenario):
    return [Metric("toy.total_clock", "toy.clock_s", "sum", "s", "sum of clocks")]


@hookimpl
def orbitwin_stages(scenario, state):
    rate, clock, double = state.field("toy.rate"), state.field("toy.clock_s"), state.field("toy.double_s")

    @ti.func
    def tick(i, k, t, dt):
        clock[i] += rate[i] * dt

    @ti.func
    def derive(i, k, t, dt):
        double[i] = 2.0 * clock[i]

    # listed in the wrong order on purpose: the engine must sort them
    return [
        Stage("toy.derive", derive, writes=["toy.double_s"], reads=["toy.clock_s"]),
        Stage("toy.tick", tick, writes=["toy.clock_s"], reads=["toy.rate"]),
    ]
