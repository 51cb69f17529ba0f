"""A link variable that becomes NaN on link slot 7: the engine must name the slot."""

import taichi as ti

from twin_core import Stage, Variable, hookimpl


@hookimpl
def orbitwin_variables(scenario):
    return [Variable("toylink.bad_m", "m", "NaN on slot 7", "output", axis="link")]


@hookimpl
def orbitwin_stages(scenario, state):
    bad = state.field("toylink.bad_m")

    @ti.func
    def poison(l, k, t, dt):
        bad[l] = ti.math.nan if l == 7 else 0.0

    return [Stage("toylink.poison", poison, writes=("toylink.bad_m",), over="link")]
