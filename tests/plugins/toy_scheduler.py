"""A toy external scheduler for ``[payload] policy = "external"``: satellite ``i`` asks for
state ``states[i % len(states)]`` (codes 0 off, 1 idle, 2 inference, 3 training) at every
step, as a real scheduling plugin would write ``payload.requested_state``."""

import attrs
import numpy as np
import taichi as ti

from twin_core import Stage, Variable, hookimpl

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
    return [Variable("toy_scheduler.plan", "1", "state each satellite asks for", "parameter", "i32", record=False),
            Variable("payload.requested_state", "1", "state the toy scheduler asks for", "output", "i8")]


@hookimpl
def orbitwin_initial_state(scenario, state):
    cfg = scenario.section("toy_scheduler")
    if cfg is not None:
        plan = np.asarray(cfg.states, dtype=np.int32)
        state.set("toy_scheduler.plan", plan[np.arange(state.n_total) % plan.size])


@hookimpl
def orbitwin_stages(scenario, state):
    if scenario.section("toy_scheduler") is None:
        return None
    plan_f, req_f = state.field("toy_scheduler.plan"), state.field("payload.requested_state")

    @ti.func
    def schedule(i, k, t, dt):
        req_f[i] = ti.cast(plan_f[i], ti.i8)

    return [Stage("toy_scheduler.schedule", schedule, writes=["payload.requested_state"])]
