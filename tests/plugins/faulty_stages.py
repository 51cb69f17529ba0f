"""A toy plugin with one mistake per ``[faulty] case``, for the build checks of
``twin_core.stagecheck`` (`tests/test_stagecheck.py`). Loaded with ``--plugin
faulty_stages`` beside ``toy_counter`` (whose ``toy.rate`` parameter, ``toy.clock_s``
state and ``toy.double_s`` output it misuses), or beside the built-in plugins for
``pin_battery``.

Cases: ``declared_twice``, ``two_writers``, ``reads_nothing``, ``cycle``, ``signature``,
``not_a_taichi_func``, ``writes_undeclared`` (assigns ``toy.clock_s``, declared only as
read), ``writes_through_helper`` (the same, in a ``ti.func`` it calls),
``reads_undeclared``, ``reads_parameter`` (allowed), ``writes_parameter``,
``pin_battery`` (assigns ``battery.energy_j``: every battery pinned),
``compile_error`` (a name taichi cannot resolve) and ``fine``.
"""

import attrs
import taichi as ti

from twin_core import Stage, Variable, hookimpl

PLUGIN_NAME = "faulty"

CASES = ("declared_twice", "two_writers", "reads_nothing", "cycle", "signature", "not_a_taichi_func",
         "writes_undeclared", "writes_through_helper", "reads_undeclared", "reads_parameter", "writes_parameter",
         "pin_battery", "compile_error", "fine")


@attrs.frozen
class FaultyConfig:
    case: str = attrs.field(validator=attrs.validators.in_(CASES))


@hookimpl
def orbitwin_config_sections():
    return {"faulty": FaultyConfig}


@hookimpl
def orbitwin_variables(scenario):
    cfg = scenario.section("faulty") if scenario is not None else None
    if scenario is not None and cfg is None:
        return None
    out = [Variable("faulty.out_s", "s", "what the faulty stage writes", "output")]
    if cfg is not None and cfg.case == "declared_twice":
        out.append(Variable("toy.clock_s", "s", "a second declaration of the toy's clock", "state"))
    if cfg is not None and cfg.case == "cycle":
        out.append(Variable("faulty.other_s", "s", "written by the second stage of the cycle", "output"))
    return out


@hookimpl
def orbitwin_stages(scenario, state):
    cfg = scenario.section("faulty")
    if cfg is None:
        return None
    case = cfg.case
    out = state.field("faulty.out_s")

    if case == "cycle":
        other = state.field("faulty.other_s")

        @ti.func
        def first(i, k, t, dt):
            out[i] = other[i] + dt

        @ti.func
        def second(i, k, t, dt):
            other[i] = out[i] + dt

        return [Stage("faulty.first", first, writes=["faulty.out_s"], reads=["faulty.other_s"]),
                Stage("faulty.second", second, writes=["faulty.other_s"], reads=["faulty.out_s"])]

    if case == "signature":
        @ti.func
        def short(i, k):
            out[i] = 1.0

        return [Stage("faulty.short", short, writes=["faulty.out_s"])]

    if case == "not_a_taichi_func":
        def plain(i, k, t, dt):
            out[i] = t

        return [Stage("faulty.plain", plain, writes=["faulty.out_s"])]

    if case == "pin_battery":
        energy = state.field("battery.energy_j")

        @ti.func
        def pin(i, k, t, dt):
            energy[i] = 1.0e6
            out[i] = t

        return [Stage("faulty.pin", pin, writes=["faulty.out_s"])]

    if case == "compile_error":
        @ti.func
        def broken(i, k, t, dt):
            out[i] = t * undefined_in_taichi  # noqa: F821 - the mistake under test

        return [Stage("faulty.broken", broken, writes=["faulty.out_s"])]

    rate, clock, double = state.field("toy.rate"), state.field("toy.clock_s"), state.field("toy.double_s")

    @ti.func
    def reset_clock(i, k, t, dt):  # writes_undeclared, declared_twice
        clock[i] = 0.0
        out[i] = t

    @ti.func
    def bump(i):
        clock[i] += 1.0

    @ti.func
    def through_helper(i, k, t, dt):  # writes_through_helper
        bump(i)
        out[i] = t

    @ti.func
    def copy_clock(i, k, t, dt):  # reads_undeclared, two_writers, fine
        out[i] = clock[i]

    @ti.func
    def scaled(i, k, t, dt):  # reads_parameter
        out[i] = rate[i] * t

    @ti.func
    def set_rate(i, k, t, dt):  # writes_parameter
        rate[i] = 2.0
        out[i] = t

    @ti.func
    def time_only(i, k, t, dt):  # reads_nothing
        out[i] = t

    @ti.func
    def double_too(i, k, t, dt):
        double[i] = 3.0 * clock[i]

    func = {"writes_undeclared": reset_clock, "declared_twice": reset_clock, "writes_through_helper": through_helper,
            "reads_parameter": scaled, "writes_parameter": set_rate, "reads_nothing": time_only}.get(case, copy_clock)
    reads = {"writes_undeclared": ["toy.clock_s"], "writes_through_helper": ["toy.clock_s"],
             "reads_nothing": ["toy.nothing_s"], "fine": ["toy.clock_s"]}.get(case, [])
    stages = [Stage("faulty.step", func, writes=["faulty.out_s"], reads=reads)]
    if case == "two_writers":
        stages.append(Stage("faulty.double", double_too, writes=["toy.double_s"], reads=["toy.clock_s"]))
    return stages
