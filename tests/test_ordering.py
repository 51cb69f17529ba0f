"""Stage ordering and the writer checks of twin_core.ordering."""

import pytest

from twin_core.declarations import Stage, Variable
from twin_core.errors import BuildError
from twin_core.ordering import order_stages


def V(name, role="output"):
    return Variable(name, "1", name, role)


def f(*a):  # stand-in for a ti.func: ordering never calls it
    return None


VARS = {v.name: v for v in [V("a.p", "parameter"), V("a.x"), V("b.y"), V("c.z", "state")]}
OWN = {"a.p": "a", "a.x": "a", "b.y": "b", "c.z": "c"}


def names(ordered):
    return [s.name for _p, s in ordered]


def test_orders_by_reads_regardless_of_listing():
    stages = [("c", Stage("c.s", f, writes=["c.z"], reads=["b.y"])),
              ("b", Stage("b.s", f, writes=["b.y"], reads=["a.x"])),
              ("a", Stage("a.s", f, writes=["a.x"], reads=["a.p"]))]
    assert names(order_stages(stages, VARS, OWN)) == ["a.s", "b.s", "c.s"]


def test_reads_previous_runs_before_the_writer_and_breaks_cycle():
    stages = [("a", Stage("a.s", f, writes=["a.x"], reads_previous=["c.z"])),
              ("b", Stage("b.s", f, writes=["b.y"], reads=["a.x"])),
              ("c", Stage("c.s", f, writes=["c.z"], reads=["b.y", "c.z"]))]
    assert names(order_stages(stages, VARS, OWN)) == ["a.s", "b.s", "c.s"]
    stages[0] = ("a", Stage("a.s", f, writes=["a.x"], reads=["c.z"]))
    with pytest.raises(BuildError, match="cycle"):
        order_stages(stages, VARS, OWN)


def test_after_and_unknown_after():
    stages = [("b", Stage("b.s", f, writes=["b.y"], after=["a.s"])), ("a", Stage("a.s", f, writes=["a.x"])),
              ("c", Stage("c.s", f, writes=["c.z"]))]
    assert names(order_stages(stages, VARS, OWN))[:2] == ["a.s", "b.s"]
    stages[0] = ("b", Stage("b.s", f, writes=["b.y"], after=["q.s"]))
    with pytest.raises(BuildError, match="q.s"):
        order_stages(stages, VARS, OWN)


def test_missing_writer_names_variable_and_plugin():
    stages = [("a", Stage("a.s", f, writes=["a.x"])), ("c", Stage("c.s", f, writes=["c.z"]))]
    with pytest.raises(BuildError, match=r"'b\.y' \(declared by plugin 'b'.*no stage"):
        order_stages(stages, VARS, OWN)


def test_two_writers_name_both_plugins():
    stages = [("a", Stage("a.s", f, writes=["a.x"])), ("b", Stage("b.s", f, writes=["b.y"])),
              ("c", Stage("c.s", f, writes=["c.z"])), ("d", Stage("d.s", f, writes=["b.y"]))]
    with pytest.raises(BuildError, match=r"'b\.y' has two writers.*'b'.*'d'"):
        order_stages(stages, VARS, OWN)


def test_read_of_undeclared_variable_and_write_of_parameter():
    base = [("a", Stage("a.s", f, writes=["a.x"])), ("b", Stage("b.s", f, writes=["b.y"]))]
    with pytest.raises(BuildError, match="reads 'power.w'"):
        order_stages(base + [("c", Stage("c.s", f, writes=["c.z"], reads=["power.w"]))], VARS, OWN)
    with pytest.raises(BuildError, match="parameter"):
        order_stages(base + [("c", Stage("c.s", f, writes=["c.z", "a.p"]))], VARS, OWN)


def test_live_variables_are_what_something_reads() -> None:
    """Recorded, reduced, states, and every stage's reads (current or previous step)
    are live; an output nothing reads is not."""
    from twin_core.ordering import live_variables

    variables = {n: V(n, role) for n, role in (("a.x", "output"), ("a.unread", "output"), ("b.s", "state"),
                                                    ("b.y", "output"), ("c.rec", "output"), ("c.sum", "output"),
                                                    ("c.prev", "output"))}
    stages = [Stage("b.step", f, writes=["b.s", "b.y"], reads=["a.x"], reads_previous=["c.prev"])]
    live = live_variables(stages, variables, recorded=["c.rec"], metric_inputs=["c.sum", "not.declared"])
    assert live == {"a.x", "b.s", "c.rec", "c.sum", "c.prev"}


def test_used_is_answered_only_once_the_stages_are_known() -> None:
    """Asked in the stage hook's own body, `State.used` says where to ask instead."""
    import numpy as np

    from twin_core.declarations import SatelliteTable
    from twin_core.state import State

    sats = SatelliteTable(2, np.zeros(2, np.int32), np.zeros(2, np.int32))
    state = State([("p", V("a.x", "output"))], [], sats, max_steps=1, rows=np.arange(2))
    with pytest.raises(BuildError, match=r"ti\.static"):
        state.used("a.x")
    with pytest.raises(BuildError, match="no variable 'a.y'"):
        state.used("a.y")
    state.set_used(["a.x"])
    assert state.used("a.x")
