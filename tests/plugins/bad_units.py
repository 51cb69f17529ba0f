"""A plugin declaring units that UDUNITS-2 misreads or cannot read: a total ionizing
dose in ``krad`` (kilo-radians, an angle, to every CF tool) and a metric in ``Wh``
(UDUNITS-2 spells it ``W h``). Runs beside ``toy_counter``."""

import taichi as ti

from twin_core import Metric, Stage, Variable, hookimpl

PLUGIN_NAME = "bad_units"


@hookimpl
def orbitwin_variables(scenario):
    return [Variable("bad_units.dose", "krad", "total ionizing dose", "output")]


@hookimpl
def orbitwin_metrics(scenario):
    return [Metric("constellation.dose_energy", "bad_units.dose", "sum", "Wh", "not an energy at all")]


@hookimpl
def orbitwin_stages(scenario, state):
    clock, dose = state.field("toy.clock_s"), state.field("bad_units.dose")

    @ti.func
    def accumulate(i, k, t, dt):
        dose[i] = 1e-6 * clock[i]

    return [Stage("bad_units.accumulate", accumulate, writes=["bad_units.dose"], reads=["toy.clock_s"])]
