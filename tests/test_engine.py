"""The engine's step semantics, stage ordering at run time, shards and metrics, on the
toy plugin (tests/plugins/toy_counter.py)."""

import numpy as np
import pytest

from twin_core.errors import ScenarioError
from twin_core.testing import plugin_manager, run_scenario

TOY = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 1
step_s = 7.5
record_every_s = 450
[toy]
count = 6
planes = 3
"""


@pytest.fixture(scope="module")
def pm():
    return plugin_manager(["toy_counter"], disable=["orbit", "environment"])


def test_state_integrates_each_step_and_outputs_follow_in_order(pm):
    res = run_scenario(TOY, pm=pm)
    assert res.times_s[-1] == 3600.0 and res.n_records == 9
    # the clock integrates dt exactly: it equals the record time for every satellite
    np.testing.assert_allclose(res.sat["toy.clock_s"], np.repeat(res.times_s[:, None], 6, axis=1), rtol=1e-12)
    # the derived output was computed after the tick in the same step (not lagged)
    np.testing.assert_allclose(res.sat["toy.double_s"], 2 * res.sat["toy.clock_s"], rtol=1e-6)
    # constellation totals are kept at every step, reduced inside the kernel
    assert res.metric_times_s.shape == (481,)
    np.testing.assert_allclose(res.metrics["toy.total_clock"], 6 * res.metric_times_s, rtol=1e-12)
    assert res.stats["sat_steps"] == 6 * 480  # the first launch (the epoch, compiling) is timed apart


def test_shard_gives_the_same_rows(pm):
    text = TOY + "[output]\nchunk_sats = 2\n"
    whole = run_scenario(text, pm=pm)
    part = run_scenario(text, pm=pm, sat_range=(2, 4))
    assert part.sat["toy.clock_s"].shape == (9, 2)
    np.testing.assert_array_equal(part.sat["toy.clock_s"], whole.sat["toy.clock_s"][:, 2:4])


def test_output_selection_and_unknown_variable(pm):
    res = run_scenario(TOY + '[output]\nvariables = ["toy.double_s"]\n', pm=pm)
    assert list(res.sat) == ["toy.double_s"]
    with pytest.raises(ScenarioError, match=r"output.variables.*did you mean 'toy.double_s'"):
        run_scenario(TOY + '[output]\nvariables = ["toy.dubble_s"]\n', pm=pm)


def test_constellation_totals_from_shards_equal_the_whole_bitwise(pm):
    from twin_core.metrics import finalize

    text = TOY + "[output]\nchunk_sats = 2\n"
    whole = run_scenario(text, pm=pm)
    plan = whole.layout.plan
    shards = plan.shards(3)
    assert shards == [(0, 2), (2, 4), (4, 6)]
    parts = [run_scenario(text, pm=pm, sat_range=r).sink.partials for r in shards]
    for m in plan.metrics:
        combined = np.where(np.isnan(parts[0][m.name]), 0, parts[0][m.name])
        for p in parts[1:]:
            combined = np.where(np.isnan(p[m.name]), combined, p[m.name])
        np.testing.assert_array_equal(finalize(m, combined, plan.n_total), whole.metrics[m.name])


def test_metrics_per_record_only(pm):
    res = run_scenario(TOY + "[output]\nmetrics_every_step = false\n", pm=pm)
    np.testing.assert_array_equal(res.metric_times_s, res.times_s)
    np.testing.assert_allclose(res.metrics["toy.total_clock"], 6 * res.times_s, rtol=1e-12)


def test_metric_partials_handed_to_the_sink_hold_no_launch_buffer(pm, monkeypatch):
    """A sink may keep partials until it writes a chunk of records: each must be its own
    array, not a view keeping a launch's whole (metrics, chunks, steps) buffer alive (the
    memory of a long run with few records grew by that buffer every launch)."""
    from twin_core.testing import MemorySink

    kept = []
    original = MemorySink.metrics

    def keep(self, first, partials):
        kept.extend(partials.values())
        original(self, first, partials)

    monkeypatch.setattr(MemorySink, "metrics", keep)
    run_scenario(TOY + "[output]\nmetrics_every_step = false\n", pm=pm)
    assert kept and all(p.base is None for p in kept)


SIMT = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 1
step_s = 30
record_every_s = 600
[[orbit.shell]]
kind = "walker_delta"
total = 24
planes = 4
phasing = 1
altitude_km = 550
inclination = 53.0
[solar]
area_m2 = 20.0
[battery]
capacity_wh = 2000
[payload]
count = 2
accelerator = "H100-SXM"
[thermal]
radiator_area_m2 = 4.0
[crosslinks]
topology = "plus_grid"
"""


def test_the_gpu_shaped_kernel_gives_the_cpu_kernels_bits(monkeypatch):
    """The simt shape (a satellite per thread, totals folded per block in satellite
    order: `twin_core.kernel.build_step_kernel_simt`), selected on the CPU, gives every
    record, total and final state of the blocks shape, with a coupling pass (crosslinks)
    splitting launches: bit for bit, but for the rounding fast math may contract
    differently in the two compiled kernels (seen: the last bit of a velocity
    component, 1.2e-16 relative; allowed: 1e-15)."""
    runs = {}
    for shape in ("blocks", "simt"):
        monkeypatch.setenv("ORBITWIN_KERNEL_SHAPE", shape)
        runs[shape] = run_scenario(SIMT)
    a, b = runs["blocks"], runs["simt"]
    assert a.sat.keys() == b.sat.keys() and a.metrics.keys() == b.metrics.keys() and len(a.metrics) > 20
    rounded = []
    for group in ("sat", "metrics", "final"):
        for name, value in getattr(a, group).items():
            x, y = np.asarray(value), np.asarray(getattr(b, group)[name])
            if not np.array_equal(x, y, equal_nan=True):
                assert x.dtype.kind == "f", name
                np.testing.assert_allclose(y, x, rtol=1e-15, atol=0, err_msg=name)
                rounded.append(name)
    assert set(rounded) <= {"orbit.v_eci_m_s", "orbit.r_eci_m"}  # the totals come out to the bit


def test_an_unknown_kernel_shape_is_named(monkeypatch):
    from twin_core.backend import kernel_shape
    from twin_core.errors import UserError

    monkeypatch.setenv("ORBITWIN_KERNEL_SHAPE", "warp")
    with pytest.raises(UserError, match="ORBITWIN_KERNEL_SHAPE = 'warp': expected one of blocks, simt, auto"):
        kernel_shape(None, "cpu")
    monkeypatch.delenv("ORBITWIN_KERNEL_SHAPE")
    assert (kernel_shape(None, "cpu"), kernel_shape(None, "cuda"), kernel_shape(None, "vulkan")) == \
        ("blocks", "simt", "simt")
