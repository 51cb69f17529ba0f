"""A toy owner of two `Combined` quantities, for the core's contribution tests:
``toy_owner.load_w`` (a sum starting at 10 W) and ``toy_owner.cap`` (a limit starting at
3, its reason in ``toy_owner.cap_reason``), plus its own limit ``toy_owner.rule``: 2 in
the first half hour, then 1 (reason "owner rule"). Needs the toy constellation
(``toy_counter``)."""

import taichi as ti

from twin_core import Combined, Contribution, Stage, Variable, hookimpl

PLUGIN_NAME = "toy_owner"


@hookimpl
def orbitwin_variables(scenario):
    return [Combined("toy_owner.load_w", "W", "bus load, contributed", "sum", start=10.0, dtype="f32"),
            Combined("toy_owner.cap", "1", "state cap, contributed", "min", start=3.0, dtype="i8",
                     reason="toy_owner.cap_reason"),
            Variable("toy_owner.cap_reason", "1", "which limit bound the cap", "output", "i8",
                     flags={0: "none", 1: "owner rule"}),
            Variable("toy_owner.rule", "1", "the owner's own limit", "output", "i8"),
            Variable("toy_owner.seen_w", "W", "the load as the owner reads it", "output", "f32")]


@hookimpl
def orbitwin_contributions(scenario):
    return [Contribution("toy_owner.cap", "toy_owner.rule", reason="owner rule")]


@hookimpl
def orbitwin_stages(scenario, state):
    rule, load, seen = state.field("toy_owner.rule"), state.field("toy_owner.load_w"), state.field("toy_owner.seen_w")

    @ti.func
    def own_rule(i, k, t, dt):
        rule[i] = ti.cast(2 if t < 1800.0 else 1, ti.i8)

    @ti.func
    def read_load(i, k, t, dt):
        seen[i] = load[i]

    return [Stage("toy_owner.rule", own_rule, writes=["toy_owner.rule"]),
            Stage("toy_owner.read", read_load, writes=["toy_owner.seen_w"], reads=["toy_owner.load_w"])]
