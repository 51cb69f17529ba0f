"""The benchmark's numpy physics (bench/numpy_physics.py) agrees with the engine.

The benchmark's speed ratio means something only if the numpy program computes the same
thing as the fused kernel. One small run of the full default plugin set, 24 satellites
in a Walker shell for 6 hours at 30 s steps with a record every 5 minutes (so the orbit's
trig-free recurrence runs 9 steps between re-anchorings), is stepped by both, and every
recorded per-satellite variable, every constellation total at every step, and every
variable's final value must agree.

The satellite is sized to be tight (a 2 kWh battery that gives at most 4 kW, an 8 m2
radiator), so the run goes through the payload's branches and not only the cheap ones:
training, inference, idle and off; power-limited (the policy's step-down and the
capped supply of a battery at its discharge limit), thermal-limited and off; battery
shortfall, curtailment and unserved bus load; umbra, penumbra and full sun.
`test_the_run_exercises_the_branches` checks that it does, so that a change of defaults
cannot quietly make the agreement test trivial.

Tolerances, and why:

- float outputs (float32 in the engine): relative 1e-5, plus an absolute 1e-5 of the
  variable's largest magnitude in the run for values that pass near zero (net power,
  battery power, beta). Float32 resolves 6e-8; the remaining differences are the
  orbit's recurrence (< 1e-9 relative in position) and float64 rounding order, which
  change a float32 value by at most an ulp or two.
- float64 states (battery energy, temperature): the same relative 1e-5 (seen: 4e-10,
  the float32 ulps of the powers integrated over the run).
- position < 1 mm, velocity < 1 um/s (seen: 4e-8 m and 4e-11 m/s).
- integer codes (payload state, loss reason, requested state, policy reason): exactly.
  A code could flip only if a float input sat within ~1e-9 of a policy threshold at
  some step; this run is deterministic and has none, so any flip is a real
  disagreement.
- constellation totals: relative 1e-5 plus 1e-5 of the total's largest magnitude;
  fractions (counts / 24) exactly, to 1e-12.

No timing here: speed is measured by ``bench/run.py`` only.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for bench/

from bench.numpy_physics import NumpyTwin, initial_state_numpy  # noqa: E402
from bench.scenario import walker_scenario  # noqa: E402
from orbitwin_plugins import orbit_fast  # noqa: E402
from twin_core.engine import Engine  # noqa: E402
from twin_core.plan import make_plan  # noqa: E402
from twin_core.runner import parse  # noqa: E402
from twin_core.testing import MemorySink, plugin_manager  # noqa: E402

TIGHT_SATELLITE = """\
[environment]
shadow = "conical"

[solar]
area_m2 = 60.0

[battery]
capacity_wh = 2000.0
max_discharge_w = 4000.0

[power]

[payload]
count = 8
accelerator = "H100-SXM"

[thermal]
radiator_area_m2 = 8.0
"""
SATS, HOURS, STEP_S, RECORD_S = 24, 6.0, 30.0, 300.0
REL = 1e-5
POSITION_M, VELOCITY_M_S = 1e-3, 1e-6
#: engine-only variables: the trig-free orbit path's cos/sin cache (bench/numpy_physics.py
#: propagates with the exact path, which needs no cache)
ENGINE_ONLY = tuple(orbit_fast.RECURRENCE)


@pytest.fixture(scope="module")
def runs():
    """The engine's and the numpy physics' runs of the same scenario from the same state."""
    text = walker_scenario(SATS, HOURS * 3600.0, STEP_S, RECORD_S, satellite=TIGHT_SATELLITE, recorded=None)
    pm = plugin_manager()
    scenario = parse(text, pm, path="<bench agreement>")
    plan = make_plan(scenario, pm)
    initial = initial_state_numpy(plan, pm)

    engine = Engine(scenario, pm, arch="cpu", plan=plan)
    sink = MemorySink()
    try:
        engine_initial = engine.snapshot()
        engine.run(sink)
        final = engine.snapshot()
    finally:
        engine.close()

    twin = NumpyTwin.from_plan(plan, initial)
    run = scenario.run
    records = {name: np.empty_like(a) for name, a in sink.sat.items()}
    totals = {m.name: np.empty(run.n_steps + 1) for m in plan.metrics}

    def on_record(index: int, tw: NumpyTwin) -> None:
        for name in records:
            records[name][index] = tw.values[name]

    def on_step(step: int, tw: NumpyTwin) -> None:
        for name, value in tw.last_metrics.items():
            totals[name][step] = value

    twin.run(run.n_records, run.steps_per_record, run.step_s, on_record=on_record, on_step=on_step)
    return dict(plan=plan, initial=initial, engine_initial=engine_initial, engine_sat=sink.sat,
                engine_totals=sink.metric_values(), engine_final=final, numpy_sat=records, numpy_totals=totals,
                numpy_final=twin.values)


def _assert_close(name: str, engine: np.ndarray, numpy_: np.ndarray) -> None:
    assert engine.shape == numpy_.shape, name
    if engine.dtype.kind in "iu":
        flips = np.argwhere(engine != numpy_)
        assert flips.size == 0, f"{name}: {len(flips)} codes differ, first at (record, sat) {flips[:5].tolist()}"
        return
    a, b = engine.astype(np.float64), numpy_.astype(np.float64)
    if name == "orbit.r_eci_m":
        atol, rtol = POSITION_M, 0.0
    elif name == "orbit.v_eci_m_s":
        atol, rtol = VELOCITY_M_S, 0.0
    else:
        atol, rtol = REL * float(np.max(np.abs(a), initial=0.0)), REL
    np.testing.assert_allclose(b, a, rtol=rtol, atol=atol, err_msg=name)


def test_initial_state_is_the_engines(runs) -> None:
    """`initial_state_numpy` (no taichi) gives the state the engine starts from."""
    for name, value in runs["engine_initial"].items():
        np.testing.assert_array_equal(runs["initial"][name], value, err_msg=name)


def test_every_recorded_variable_agrees(runs) -> None:
    engine, numpy_ = runs["engine_sat"], runs["numpy_sat"]
    assert len(engine) >= 25  # every variable recorded by default: the whole chain is compared
    for name in engine:
        _assert_close(name, engine[name], numpy_[name])


def test_every_final_value_agrees(runs) -> None:
    """The variables not recorded by default (parameters, the policy's reason) too."""
    for name, value in runs["engine_final"].items():
        if name not in ENGINE_ONLY:
            _assert_close(name, value, runs["numpy_final"][name])


def test_every_constellation_total_agrees_at_every_step(runs) -> None:
    plan = runs["plan"]
    for metric in plan.metrics:
        a, b = runs["engine_totals"][metric.name], runs["numpy_totals"][metric.name]
        if metric.reduce.startswith("fraction"):
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-12, err_msg=metric.name)
        else:
            np.testing.assert_allclose(b, a, rtol=REL, atol=REL * float(np.nanmax(np.abs(a))), err_msg=metric.name)


def test_the_run_exercises_the_branches(runs) -> None:
    sat = runs["engine_sat"]
    states = set(np.unique(sat["payload.state"]).tolist())
    reasons = set(np.unique(sat["payload.loss_reason"]).tolist())
    assert states == {0, 1, 2, 3}, states
    assert {0, 1, 2, 4} <= reasons, reasons
    illum = sat["environment.illumination"]
    assert np.any(illum == 0.0) and np.any(illum == 1.0) and np.any((illum > 0.0) & (illum < 1.0))
    for name in ("battery.shortfall_w", "power.curtailed_w", "power.unserved_w"):
        assert np.any(sat[name] > 0.0), name
    # the capped supply: power-limited below the requested state
    capped = (sat["payload.loss_reason"] == 1) & (sat["payload.state"] < sat["payload.requested_state"])
    assert np.any(capped)
