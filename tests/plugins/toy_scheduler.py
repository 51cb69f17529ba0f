"""A toy external scheduler for ``[payload] policy = "external"``: satellite ``i`` is
allowed state ``states[i % len(states)]`` (codes 0 off, 1 idle, 2 inference, 3 training)
at every step, contributed as a limit on ``payload.requested_state`` with the reason
"scheduler", as a real scheduling plugin would."""

import attrs
import numpy as np
import taichi as ti  # noqa: F401 - a real scheduler's stages would use it

from twin_core import Contribution, Variable, hookimpl

PLUGIN_NAME = "toy_scheduler"


@attrs.frozen
class ToySchedulerConfig:
    states: list[int]  # required: the plugin is active only with a [toy_scheduler] table


@hookimpl
def orbitwin_config_sections():
    return {"toy_scheduler": ToySchedulerConfig}


@hookimpl
def orbitwin_variables(scenario):
    if scenario is None or scenario.section("toy_scheduler") is None:
        return None
    return [Variable("toy_scheduler.plan", "1", "state each satellite is allowed", "parameter", "i32", record=False)]


@hookimpl
def orbitwin_contributions(scenario):
    if scenario.section("toy_scheduler") is None:
        return None
    return [Contribution("payload.requested_state", "toy_scheduler.plan", reason="scheduler")]


@hookimpl
def orbitwin_initial_state(scenario, state):
    cfg = scenario.section("toy_scheduler")
    if cfg is not None:
        plan = np.asarray(cfg.states, dtype=np.int32)
        state.set("toy_scheduler.plan", plan[np.arange(state.n_total) % plan.size])
