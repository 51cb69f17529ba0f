"""The core's second kind of axis (`twin_core.axes`): link slots, the coupling pass, its
lag, the halo of a shard, and the build checks, on the toy ring plugin
(``tests/plugins/toy_ring.py``: each satellite linked to the same slot of the next plane)."""

import warnings

import numpy as np
import pytest

from twin_core import Axis
from twin_core.axes import local_rows, localize
from twin_core.errors import BuildError, ScenarioError, StageError
from twin_core.runner import parse, plugin_manager
from twin_core.testing import run_scenario

OTHERS = ("solar", "battery", "power", "payload", "thermal", "formation", "crosslinks", "ground")
RING = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 1
step_s = 30
record_every_s = 600
{extra}
[[orbit.shell]]
kind = "walker_delta"
total = 48
planes = 6
phasing = 1
altitude_km = 550
inclination = 53.0
[output]
chunk_sats = 8
"""


def pm(*plugins):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return plugin_manager(plugins, OTHERS)


@pytest.fixture(scope="module")
def ring():
    return run_scenario(RING.format(extra=""), pm=pm("toy_ring"))


def test_links_are_evaluated_on_the_positions_of_the_record(ring):
    r = ring.sat["orbit.r_eci_m"]
    far = (np.arange(48) + 8) % 48
    expect = np.linalg.norm(r[:, far] - r, axis=-1)
    np.testing.assert_allclose(ring.sat["ring.range_m"], expect, rtol=1e-12)
    assert np.all(ring.sat["ring.degree"] == 2)  # its own link and the one from the previous plane
    np.testing.assert_allclose(ring.sat["ring.sum_range_m"], expect + expect[:, (np.arange(48) - 8) % 48],
                               rtol=1e-12)


def test_step_stages_see_coupled_values_of_the_last_pass(ring):
    """A pass's step sees the pass (records fall on passes: consistent); the steps between
    passes see the last one (held: a lag of at most coupling_every_s, here 60 s)."""
    assert np.array_equal(ring.sat["ring.echo_m"], ring.sat["ring.sum_range_m"])
    m = ring.metrics["ring.total_range_m"]  # every 30 s step; passes at 0, 60, 120 s ...
    assert m[0] == m[1] and m[2] == m[3] and m[4] == m[5]
    assert m[1] != m[2] and m[3] != m[4]


def test_coupling_every_step_removes_the_lag():
    res = run_scenario(RING.format(extra="coupling_every_s = 30"), pm=pm("toy_ring"))
    m = res.metrics["ring.total_range_m"]
    assert len(set(m[0:6].tolist())) == 6


def test_a_shard_with_its_halo_records_the_whole_runs_bytes(ring):
    part = run_scenario(RING.format(extra=""), pm=pm("toy_ring"), sat_range=(16, 24))
    for name, arr in part.sat.items():
        assert arr.tobytes() == ring.sat[name][:, 16:24].tobytes(), name


def test_local_rows_and_incidence_of_a_shard():
    targets = ((np.arange(48) + 8) % 48).reshape(48, 1)
    ax = Axis("ring", "toy", targets)
    rows = local_rows([ax], 16, 24)
    assert rows[:8].tolist() == list(range(16, 24)) and sorted(rows[8:].tolist()) == list(range(8, 16)) + \
        list(range(24, 32))
    loc = localize(ax, rows, 16, 24)
    assert loc.n_own == 8 and loc.n == 16  # its 8 slots and the 8 links of plane 1 ending in plane 2
    for r in range(8):  # every own satellite: two links, in order
        links = loc.incident[loc.offsets[r]:loc.offsets[r + 1]]
        assert len(links) == 2 and list(links) == sorted(links)


@pytest.mark.parametrize("targets, match", [
    (np.arange(48).reshape(48, 1), "links a satellite to itself"),
    (np.full((48, 1), 48), "outside 0..47"),
    (np.full((47, 1), -1), "targets for 47 satellites"),
])
def test_bad_axes_are_refused(targets, match, monkeypatch):
    import toy_ring

    monkeypatch.setattr(toy_ring, "_targets", lambda scenario: targets)
    p = pm("toy_ring")
    sc = parse(RING.format(extra=""), p, "ring.toml")
    from twin_core.plan import make_plan

    with pytest.raises(BuildError, match=match):
        make_plan(sc, p)


def test_a_stage_over_an_undeclared_axis_is_named(monkeypatch):
    import toy_ring

    from twin_core import hookimpl

    orig = toy_ring.orbitwin_stages

    @hookimpl
    def stages(scenario, state):
        out = orig(scenario, state)
        return [s if s.name != "ring.range" else type(s)(s.name, s.func, s.writes, s.reads, over="rings")
                for s in out]

    monkeypatch.setattr(toy_ring, "orbitwin_stages", stages)
    from twin_core.engine import Engine

    p = pm("toy_ring")
    sc = parse(RING.format(extra=""), p, "ring.toml")
    with pytest.raises((BuildError, StageError), match="rings"):
        Engine(sc, p)


@pytest.mark.parametrize("value", [45, 90, 1200, 0])
def test_coupling_every_s_must_divide_the_record_interval(value):
    with pytest.raises(ScenarioError, match="coupling_every_s"):
        parse(RING.format(extra=f"coupling_every_s = {value}"), pm(), "ring.toml")


def test_axis_names_of_the_store_are_refused():
    with pytest.raises(ValueError, match="taken"):
        Axis("sat", "no", np.zeros((2, 1)))


def test_a_long_coupling_interval_may_be_set_for_long_studies():
    """Up to the record interval (a multi-year run couples hourly or less often)."""
    sc = parse(RING.format(extra="coupling_every_s = 600"), pm(), "ring.toml")
    assert sc.run.coupling_steps == 20
