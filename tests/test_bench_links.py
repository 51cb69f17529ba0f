"""The benchmark's numpy link pass (bench/numpy_physics.py `NumpyLinks`) agrees with the
engine's coupling pass, and the benchmark's link scenario is the +grid it claims.

The speed ratio of the coupling pass (``bench/run.py --links``) means something only if
the numpy pass computes what the crosslinks plugin's stages compute. A small +grid shell
of 3 planes of 10 satellites (planes 120 deg apart in node, so cross-plane links swing
from a few hundred km to beyond the Earth's limb and back) is run by the engine for
3 hours with links only, and the numpy pass is stepped through the same pass times from
the numpy orbit; every link and per-satellite link value must agree at every record.
The run goes through every link state but "unused" (in range and in sight, out of range,
Earth blocked, and acquiring again after a break); `test_the_run_exercises_every_state`
checks that it does.

Tolerances: range and capacity are float32 in both (relative 1e-6: the orbit's
trig-free recurrence moves positions by < 1 mm); status, up and degree exactly (no
link sits within a millimetre of a threshold in this deterministic run); per-satellite
capacity sums relative 1e-12 (float64 sums in another order).

No timing here: speed is measured by ``bench/run.py`` only.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for bench/

from bench.numpy_physics import NumpyLinks  # noqa: E402
from bench.scenario import LINKS, walker_scenario  # noqa: E402
from orbitwin_plugins import crosslinks, orbit, topology  # noqa: E402
from twin_core.engine import Engine  # noqa: E402
from twin_core.runner import parse  # noqa: E402
from twin_core.testing import MemorySink, plugin_manager  # noqa: E402

ONLY_LINKS = ("solar", "battery", "power", "payload", "thermal", "ground", "formation")
LINK_VARS = ("link.range_m", "link.capacity_bps", "link.up", "link.status")
SAT_VARS = ("link.degree", "link.capacity_total_bps", "link.capacity_min_bps", "link.terminal_power_w")


def _pm():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return plugin_manager((), ONLY_LINKS)


@pytest.fixture(scope="module")
def runs():
    text = walker_scenario(30, 3 * 3600.0, 10.0, 600.0, satellite="", recorded=LINK_VARS + SAT_VARS,
                           links=True, planes=3)
    pm = _pm()
    scenario = parse(text, pm, path="<bench links agreement>")
    engine = Engine(scenario, pm, arch="cpu")
    sink = MemorySink()
    try:
        engine.run(sink)
    finally:
        engine.close()
    run = scenario.run
    links = NumpyLinks.from_scenario(scenario)
    params = orbit.mean_parameters(orbit.scenario_elements(scenario)[0])
    cs, spr = run.coupling_steps, run.steps_per_record
    pass_dt = cs * run.step_s
    records = {name: [] for name in LINK_VARS + SAT_VARS}
    for p in range(run.n_steps // cs + 1):
        values = links.couple(orbit.propagate_numpy(params, p * pass_dt)[0], pass_dt if p else 0.0)
        if (p * cs) % spr == 0:
            for name in records:
                records[name].append(values[name])
    slots = crosslinks.link_targets(scenario)
    return dict(engine=sink.sat, numpy={k: np.stack(v) for k, v in records.items()}, slots=slots)


def test_the_benchmark_shells_are_plus_grids():
    """72 x 22 for 1,584 satellites; two slots per satellite, every satellite of degree 4."""
    pm = _pm()
    scenario = parse(walker_scenario(1584, 600.0, links=True, satellite=""), pm, path="<bench 1584>")
    assert scenario.section("orbit").shell[0].planes == 72
    slots = crosslinks.link_targets(scenario)
    assert slots.shape == (1584, 2) and np.all(slots >= 0)
    assert np.all(topology.degree(slots, 1584) == 4)
    assert LINKS in walker_scenario(10, 600.0, links=True) and LINKS not in walker_scenario(10, 600.0)


def test_link_values_agree_at_every_record(runs):
    eng, num, slots = runs["engine"], runs["numpy"], runs["slots"]
    used = slots.reshape(-1) >= 0  # the engine's columns are every slot; numpy's the used ones
    assert num["link.up"].shape[0] == eng["link.up"].shape[0]
    for name in LINK_VARS:
        e = eng[name][:, used]
        if e.dtype.kind in "iu":
            np.testing.assert_array_equal(num[name], e, err_msg=name)
        else:
            np.testing.assert_allclose(num[name], e, rtol=1e-6, atol=0.0, err_msg=name)


def test_per_satellite_values_agree_at_every_record(runs):
    eng, num = runs["engine"], runs["numpy"]
    np.testing.assert_array_equal(num["link.degree"], eng["link.degree"])
    for name in SAT_VARS[1:]:
        np.testing.assert_allclose(num[name], eng[name], rtol=1e-12, atol=0.0, err_msg=name)


def test_the_run_exercises_every_state(runs):
    status = set(np.unique(runs["engine"]["link.status"]).tolist())
    assert {1, 2, 3, 4} <= status, status
    assert len(set(np.unique(runs["engine"]["link.degree"]).tolist())) >= 2  # links come and go
