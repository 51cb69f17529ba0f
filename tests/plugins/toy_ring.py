"""A toy link axis for the core's tests: each satellite links to the satellite of the same
slot in the next plane (a ring across planes, so a shard's links reach other shards)."""

import numpy as np
import taichi as ti

from twin_core import Axis, Metric, Stage, Variable, hookimpl


def _targets(scenario):
    shell = scenario.section("orbit").shell[0]
    n, per = shell.total, shell.total // shell.planes
    return ((np.arange(n) + per) % n).reshape(n, 1)


@hookimpl
def orbitwin_axes(scenario):
    return [Axis("ring", "toy link to the next plane", _targets(scenario))]


@hookimpl
def orbitwin_variables(scenario):
    return [Variable("ring.range_m", "m", "distance between the ends", "output", axis="ring"),
            Variable("ring.sum_range_m", "m", "sum of the ranges of this satellite's links", "output"),
            Variable("ring.degree", "1", "links touching this satellite", "output", "i32"),
            Variable("ring.echo_m", "m", "ring.sum_range_m as a step stage reads it", "output")]


@hookimpl
def orbitwin_metrics(scenario):
    return [Metric("ring.total_range_m", "ring.sum_range_m", "sum", "m", "sum over satellites")]


@hookimpl
def orbitwin_stages(scenario, state):
    r = state.field("orbit.r_eci_m")
    rng = state.field("ring.range_m")
    a, b = state.endpoints("ring")
    off, inc = state.incidence("ring")
    total, deg, echo = state.field("ring.sum_range_m"), state.field("ring.degree"), state.field("ring.echo_m")

    @ti.func
    def link_range(l, k, t, dt):
        rng[l] = (r[a[l]] - r[b[l]]).norm() if b[l] >= 0 else 0.0

    @ti.func
    def gather(i, k, t, dt):
        s, d = 0.0, 0
        for p in range(off[i], off[i + 1]):
            s += rng[inc[p]]
            d += 1
        total[i] = s
        deg[i] = d

    @ti.func
    def copy(i, k, t, dt):
        echo[i] = total[i]

    return [Stage("ring.range", link_range, writes=("ring.range_m",), reads=("orbit.r_eci_m",), over="ring"),
            Stage("ring.gather", gather, writes=("ring.sum_range_m", "ring.degree"), reads=("ring.range_m",),
                  phase="coupling"),
            Stage("ring.echo", copy, writes=("ring.echo_m",), reads=("ring.sum_range_m",))]
