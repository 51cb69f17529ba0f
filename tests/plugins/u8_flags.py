"""A toy plugin with a ``u8`` output (for the store test: its fill value must fit the
dtype). Runs beside ``toy_counter``: the code is 1 once the toy clock passed half an
hour, 0 before."""

import taichi as ti

from twin_core import Stage, Variable, hookimpl

PLUGIN_NAME = "u8_flags"


@hookimpl
def orbitwin_variables(scenario):
    return [Variable("u8_flags.late", "1", "whether the clock passed half an hour", "output", "u8",
                     flags={0: "early", 1: "late"})]


@hookimpl
def orbitwin_stages(scenario, state):
    clock, late = state.field("toy.clock_s"), state.field("u8_flags.late")

    @ti.func
    def mark(i, k, t, dt):
        late[i] = ti.cast(1 if clock[i] > 1800.0 else 0, ti.u8)

    return [Stage("u8_flags.mark", mark, writes=["u8_flags.late"], reads=["toy.clock_s"])]
