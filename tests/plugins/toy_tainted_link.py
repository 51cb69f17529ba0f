"""A link stage that reads the battery's state of charge, which depends (through the bus's
terminal power) on coupled link values: the engine must refuse it."""

import taichi as ti

from twin_core import Stage, Variable, hookimpl


@hookimpl
def orbitwin_variables(scenario):
    return [Variable("toylink.soc_seen", "1", "the far end's state of charge", "output", axis="link")]


@hookimpl
def orbitwin_stages(scenario, state):
    soc = state.field("battery.soc")
    seen = state.field("toylink.soc_seen")
    _a, b = state.endpoints("link")

    @ti.func
    def look(l, k, t, dt):
        seen[l] = soc[b[l]] if b[l] >= 0 else 0.0

    return [Stage("toylink.look", look, writes=("toylink.soc_seen",), reads=("battery.soc",), over="link")]
