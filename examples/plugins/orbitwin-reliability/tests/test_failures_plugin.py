"""The failures plugin: the draw, its reproducibility (run to run, split by satellite
range, sharded on the command line), no compute after a failure, and the loss reason
"failure" in the totals, the store and `orbitwin info`."""

import math

import numpy as np
import pytest
import zarr
from reliability_helpers import N_SATS, flags_of, orbitwin, scenario

from orbitwin_reliability.failures import (
    NEVER_S,
    RATE_PER_SATELLITE_YEAR,
    SECONDS_PER_YEAR,
    available_numpy,
    draw_failure_times,
)

SEED, RATE = 7, 3000.0


# -- the draw ----------------------------------------------------------------------------


def test_draw_follows_the_exponential_law():
    t = draw_failure_times(123, 200_000, 2.0)[:, 0] / SECONDS_PER_YEAR
    # mean 1/lambda and P(T > 1/lambda) = 1/e, within ~5 standard errors
    assert t.mean() == pytest.approx(0.5, rel=5 / math.sqrt(200_000))
    assert (t > 0.5).mean() == pytest.approx(math.exp(-1.0), abs=5 * math.sqrt(0.23 / 200_000))


def test_draw_is_reproducible_and_prefix_stable():
    a = draw_failure_times(SEED, 100, RATE)
    assert np.array_equal(a, draw_failure_times(SEED, 100, RATE))
    # satellite i's time does not depend on how many satellites there are
    assert np.array_equal(a[:37], draw_failure_times(SEED, 37, RATE))
    assert not np.array_equal(a, draw_failure_times(SEED + 1, 100, RATE))
    # the rate scales the times and nothing else
    assert np.allclose(draw_failure_times(SEED, 100, RATE / 2), 2 * a, rtol=1e-15)


def test_draw_partial_rows_sorted_at_rate_per_accelerator():
    t = draw_failure_times(5, 50_000, 1.0, accelerators=8)
    assert t.shape == (50_000, 8) and np.all(np.diff(t, axis=1) >= 0)
    # the first of 8 failures at rate 1/8 each comes at rate 1: mean 1 year
    assert t[:, 0].mean() / SECONDS_PER_YEAR == pytest.approx(1.0, rel=5 / math.sqrt(50_000))
    assert available_numpy(t[:2], [0.0, 1e300]).tolist() == [[1.0, 1.0], [0.0, 0.0]]


def test_zero_rate_never_fails():
    assert np.all(draw_failure_times(1, 10, 0.0) == NEVER_S)


def test_default_rate_is_the_documented_figure():
    # 58.7 % of 419 interruptions, on 16,384 GPUs in 8-GPU hosts, in 54 days (module docstring)
    assert RATE_PER_SATELLITE_YEAR == pytest.approx(round(0.587 * 419) / (16384 / 8) / 54 * 365.25, abs=0.005)


# -- in a run ------------------------------------------------------------------------------


def test_times_in_a_run_are_the_draw(run_default):
    expected = draw_failure_times(SEED, N_SATS, RATE)[:, 0]
    assert np.array_equal(run_default.final["failures.time_s"], expected)
    assert np.array_equal(run_default.sat["failures.time_s"][0], expected)  # recorded as a parameter
    end = run_default.times_s[-1]
    failed = expected <= end
    assert 0 < failed.sum() < N_SATS, "the test scenario should fail some payloads, not all"


def test_split_by_satellite_range_draws_the_same_times(run_default):
    from twin_core.testing import run_scenario

    part = run_scenario(scenario(), sat_range=(4, 8))
    assert np.array_equal(part.final["failures.time_s"], run_default.final["failures.time_s"][4:8])
    assert np.array_equal(part.sat["failures.available"], run_default.sat["failures.available"][:, 4:8])
    assert np.array_equal(part.sat["payload.flops"], run_default.sat["payload.flops"][:, 4:8])


def test_available_switches_at_the_failure_time(run_default):
    t = run_default.times_s
    times = run_default.final["failures.time_s"]
    assert np.array_equal(run_default.sat["failures.available"], available_numpy(times[:, None], t).astype(np.float32))


def test_a_failed_satellite_delivers_nothing_and_says_why(run_default):
    s = run_default.sat
    flags = flags_of(run_default.layout.variables, "payload.loss_reason")
    code = next(c for c, meaning in flags.items() if meaning == "failure")
    assert code not in (0, 1, 2, 3, 4)  # assigned by the engine after the payload's own codes
    after = run_default.times_s[:, None] >= run_default.final["failures.time_s"][None, :]
    assert after.any()
    assert np.all(s["payload.flops"][after] == 0)
    assert np.all(s["payload.power_w"][after] == 0)
    assert np.all(s["payload.loss_reason"][after] == code)
    # and the reason appears nowhere else
    assert not np.any(s["payload.loss_reason"][~after] == code)
    assert np.any(s["payload.flops"][~after] > 0)


def test_lost_compute_splits_by_reason(run_default):
    m, t = run_default.metrics, run_default.metric_times_s
    w = np.diff(t, prepend=t[0])  # right-point rule, as the payload's summary integrates

    def integral(name):
        return float(np.sum(m[name] * w))

    lost, delivered = integral("constellation.lost_pflops"), integral("constellation.delivered_pflops")
    prefix = "constellation.lost_pflops_"
    parts = {k[len(prefix):]: integral(k) for k in m if k.startswith(prefix)}
    assert "failure" in parts and parts["failure"] > 0
    assert sum(parts.values()) <= lost * (1 + 1e-6)
    # the failed satellites lose their whole peak from their failure step on
    peak = float(run_default.sat["payload.lost_flops"][-1].max()) * 1e-15
    times = run_default.final["failures.time_s"]
    expected = sum(peak * np.sum(w[t >= ti]) for ti in times)
    assert parts["failure"] == pytest.approx(expected, rel=1e-5)
    share = parts["failure"] / (lost + delivered)
    print(f"\ncompute lost to failures: {100 * share:.1f} % of installed, "
          f"{100 * parts['failure'] / lost:.1f} % of all lost compute")


def test_failed_fraction_metric(run_default):
    m = run_default.metrics["constellation.payload_failed_fraction"]
    times = run_default.final["failures.time_s"]
    expected = (run_default.metric_times_s[:, None] >= times[None, :]).mean(axis=1)
    assert np.allclose(m, expected)
    assert np.allclose(run_default.metrics["constellation.accelerators_working"], 1.0 - expected)


def test_partial_failures_take_one_accelerator_at_a_time():
    from twin_core.testing import run_scenario

    extra = "partial = true\n"
    res = run_scenario(scenario(failures_extra=extra, variables=(
        "failures.available", "failures.time_s", "payload.flops", "payload.loss_reason", "payload.lost_flops")))
    times = draw_failure_times(SEED, N_SATS, RATE, accelerators=8)
    assert np.array_equal(res.final["failures.accelerator_times_s"], times)
    assert np.array_equal(res.final["failures.time_s"], times[:, 0])
    avail = res.sat["failures.available"]
    assert np.array_equal(avail, available_numpy(times, res.times_s).astype(np.float32))
    assert set(np.unique(avail * 8).round(6)) > {8.0}  # some accelerators fail, not all at once
    # a satellite running on k of 8 accelerators delivers at most k/8 of its peak
    peak = float(res.sat["payload.flops"].max())
    assert np.all(res.sat["payload.flops"] <= avail * peak * (1 + 1e-6))
    flags = flags_of(res.layout.variables, "payload.loss_reason")
    assert "failure" in flags.values()


# -- on the command line ------------------------------------------------------------------------


def test_store_attributes_and_info_name_the_failure_reason(cli_store, run_default):
    root = zarr.open_group(str(cli_store), mode="r")
    arr = root["sat"]["payload.loss_reason"]
    meanings = dict(zip(arr.attrs["flag_values"], arr.attrs["flag_meanings"].split()))
    code = next(c for c, m in meanings.items() if m == "failure")
    # the store holds what the in-process run computed: same failure times, same reasons
    assert np.array_equal(root["sat"]["failures.time_s"][0], run_default.final["failures.time_s"])
    assert np.array_equal(arr[:], run_default.sat["payload.loss_reason"])
    assert np.any(arr[:] == code)
    r = orbitwin("info", cli_store.name, cwd=cli_store.parent)
    assert r.returncode == 0, r.stderr
    rows = [line for line in r.stdout.splitlines() if "lost compute: failure" in line]
    assert rows and "% of lost" in rows[0], r.stdout
    assert float(rows[0].split("lost compute: failure")[1].split("%")[0]) > 0
    assert "payloads failed by the end" in r.stdout


def test_sharded_run_draws_the_same_times(cli_store, store_dir):
    r = orbitwin("run", "sc.toml", "-o", "two.zarr", "-q", "--shards", "2", "--workers", "1", cwd=store_dir)
    assert r.returncode == 0, r.stdout + r.stderr
    one = zarr.open_group(str(cli_store), mode="r")["sat"]
    two = zarr.open_group(str(store_dir / "two.zarr"), mode="r")
    assert int(two.attrs["n_shards"]) == 2
    for name in ("failures.time_s", "failures.available", "payload.flops", "payload.loss_reason", "heater.power_w"):
        assert np.array_equal(one[name][:], two["sat"][name][:]), name
