"""Limits checked before work (issue 8, items 6, 7, 8 and 13): memory from the scenario
alone before any per-satellite array exists, the store's size and the run's duration,
dates outside what the store and the models hold, and default chunking that lets every
bundled example run in shards as shipped.

Everything runs in this process, through the command line's entry point
(``twin_core.cli.main``) or the plan, without taichi and without allocating anything
per satellite: the "huge" scenarios are refused or sized from their tables.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import numpy as np
import pytest

from twin_core import plan as plan_mod
from twin_core.errors import BuildError
from twin_core.plan import (
    LARGE_STORE_BYTES,
    check_dates,
    check_output_fits,
    format_bytes,
    make_plan,
    preflight,
)
from twin_core.runner import load, parse, plugin_manager
from twin_core.testing import run_cli as orbitwin

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))
GIB = 2**30

HEAD = """[scenario]
epoch = "{epoch}"
duration_{unit} = {duration}
step_s = {step}
record_every_s = {record}
"""
WALKER = """
[[orbit.shell]]
kind = "walker_delta"
total = {total}
planes = {planes}
altitude_km = {altitude}
inclination = 53.0
"""
SSO = """
[[orbit.shell]]
kind = "walker_star"
total = 6
planes = 1
altitude_km = 650
inclination = "sso"
ltan_h = 18.0
"""
#: The store's time range, as the messages give it.
STORE_RANGE = ("a time from 1677-09-22 to 2262-04-11 UTC (the store's time coordinate, int64 ms since the "
               "epoch, decodes in xarray to datetime64[ns], which spans 1677-09-21 to 2262-04-11)")


def scenario_text(epoch="2026-03-20T00:00:00Z", unit="h", duration=1, step=30, record=600, shells=WALKER,
                  **shell):
    shell = {"total": 12, "planes": 3, "altitude": 550, **shell}
    return HEAD.format(epoch=epoch, unit=unit, duration=duration, step=step, record=record) + shells.format(**shell)


@pytest.fixture
def pm():
    return plugin_manager()


@pytest.fixture
def no_per_satellite_arrays(monkeypatch):
    """Make building any satellite's elements an error: what is checked before work must
    not need them."""
    from orbitwin_plugins import constellations

    def refuse(*_a, **_k):
        raise AssertionError("per-satellite elements were built")

    monkeypatch.setattr(constellations.Shell, "elements", refuse)
    monkeypatch.setattr(constellations.OrbitConfig, "elements", refuse)


@pytest.fixture
def memory_16_gib(monkeypatch):
    monkeypatch.setattr(plan_mod, "available_memory", lambda: 16 * GIB)


# -- item 6: memory, from the scenario alone ------------------------------------------


def test_validate_refuses_a_billion_satellites_at_once_with_the_size_it_needs(
        capsys, tmp_path, no_per_satellite_arrays, memory_16_gib):
    """Ten shells of 10^8: refused in well under 2 s, before any per-satellite array,
    with the memory it would need, per satellite, what is available and what to do."""
    path = tmp_path / "billion.toml"
    path.write_text(HEAD.format(epoch="2026-03-20T00:00:00Z", unit="h", duration=1, step=30, record=600)
                    + "".join(WALKER.format(total=10**8, planes=10**4, altitude=500 + 10 * k) for k in range(10)))
    t0 = time.perf_counter()
    code, out, err = orbitwin(capsys, "validate", path)
    elapsed = time.perf_counter() - t0
    assert code == 2 and "Traceback" not in err and out == ""
    m = re.fullmatch(r"orbitwin: error: 1,000,000,000 satellites need about ([\d,.]+) GiB here \(([\d,]+) bytes "
                     r"each: fields, record buffers and checkpoints\), and 16\.0 GiB is available; record fewer "
                     r"variables \(\[output\] variables\), smaller chunks \(\[output\] chunk_records\), or run it in "
                     r"shards on a cluster \(--shards with --scheduler\)\n", err)
    assert m, err
    assert float(m[1].replace(",", "")) > 1000 and int(m[2].replace(",", "")) > 500
    assert elapsed < 2.0, f"validate took {elapsed:.2f} s"


def test_make_plan_refuses_before_building_the_constellation(pm, no_per_satellite_arrays, memory_16_gib):
    sc = parse(scenario_text(total=10**8, planes=10**4), pm, "hundred_million.toml")
    with pytest.raises(BuildError, match=r"^100,000,000 satellites need about .* and 16\.0 GiB is available"):
        make_plan(sc, pm)
    # in shards, one process holds its share; a shard's own range is checked by its engine
    with pytest.raises(BuildError, match=r"^10,000,000 satellites \(one of 10 shards\) need about"):
        preflight(sc, pm, shards=10)
    sizing = preflight(sc, pm, shards=1000)
    assert sizing.n_total == 10**8 and sizing.memory_bytes(0, 10**5) < 16 * GIB
    assert preflight(sc, pm, shards=None).n_total == 10**8


def test_preflight_sizes_the_run_as_the_plan_does(pm):
    """The estimate made before the table exists is the one the engine checks after, plus
    what link slots add once the axes are known (none without links)."""
    for path in EXAMPLES:
        sc = load(path, pm)
        plan = make_plan(sc, pm)
        sizing = preflight(sc, pm)
        assert sizing.n_total == plan.n_total == plan.satellites.count
        fields, rec = plan.axis_bytes_per_sat()
        assert (fields > 0) == bool(plan.axes)
        assert plan.memory_estimate() == sizing.memory_bytes() + plan.n_total * (3 * fields + 3 * plan.chunk_records * rec)
        assert sizing.chunk_records == plan.chunk_records


def test_a_count_that_disagrees_with_the_table_is_refused(pm, monkeypatch):
    from orbitwin_plugins import orbit

    monkeypatch.setattr(orbit.OrbitConfig, "count", property(lambda self: 13))
    with pytest.raises(BuildError, match=r"counted 13 satellites \(orbitwin_satellite_count\) but built 12"):
        make_plan(parse(scenario_text(), pm, "x.toml"), pm)


# -- item 7: the store's size and the run's duration ------------------------------------


def test_validate_a_century_answers_at_once_with_store_size_records_and_time(capsys, tmp_path, pm):
    path = tmp_path / "century.toml"
    path.write_text((ROOT / "examples" / "walker_550km.toml").read_text().replace(
        "duration_days = 1 ", "duration_days = 36525 "))
    t0 = time.perf_counter()
    code, out, err = orbitwin(capsys, "validate", path)
    elapsed = time.perf_counter() - t0
    assert code == 0, err
    plan = make_plan(load(path, pm), pm)
    store = plan.store_bytes()
    assert store > 1e12 and plan.scenario.run.n_records == 10_519_201
    lines = out.splitlines()
    assert lines[0].startswith(f"{path}: valid (1584 satellites, 876600 h at 30 s steps, 10519201 records")
    assert lines[2].startswith(f"  store:  up to {format_bytes(store)}, uncompressed (10,519,201 records of 1,584 "
                               "satellites at ")
    hours = plan.sizing.sat_steps / 9e6 / 3600
    assert lines[3].startswith(f"  time:   about {hours:,.1f} h in the kernel (166,624,129,584 satellite-steps "
                               "at 9 M/s, the full default physics on 2 cores")
    assert (f"orbitwin: warning: {path}: the store may grow to {format_bytes(store)} (uncompressed upper bound, "
            "over 100.0 GiB)") in err
    assert elapsed < 2.0, f"validate took {elapsed:.2f} s"


def test_store_size_counts_every_array(pm):
    sc = parse(scenario_text(duration=2, step=30, record=600), pm, "x.toml")
    plan = make_plan(sc, pm)
    s = plan.sizing
    n, n_rec, n_met = 12, 13, 241
    assert s.n_metric_samples == n_met
    common = sum(8 * int(np.prod(c.shape, dtype=int)) for _p, c in plan.common if c.record)
    expected = (n * n_rec * s.record_bytes_per_sat + 12 * n + 8 * (3 * n_rec + n_met)
                + 8 * n_met * len(plan.metrics) + n_rec * common + 2 * n * s.state_bytes_per_sat)
    assert plan.store_bytes() == expected
    assert plan.store_bytes(n_shards=2) == expected + 8 * n_met * len(plan.metrics) * plan.n_chunks


def test_output_that_does_not_fit_the_disk_is_refused_with_the_override(pm, tmp_path, monkeypatch):
    plan = make_plan(parse(scenario_text(duration=2), pm, "x.toml"), pm)
    need = plan.store_bytes()
    monkeypatch.setattr(plan_mod.shutil, "disk_usage", lambda p: type("U", (), {"free": need - 1})())
    out = tmp_path / "not" / "yet" / "run.zarr"
    with pytest.raises(BuildError) as exc:
        check_output_fits(plan, out)
    text = str(exc.value)
    assert text.startswith(f"{out}: the store needs up to {format_bytes(need)} ({need:,} bytes, uncompressed: "
                           f"13 records of 12 satellites, ")
    assert f"and {tmp_path} has {format_bytes(need - 1)} ({need - 1:,} bytes) free" in text
    assert text.endswith("or pass --no-space-check to run anyway (compression makes the store smaller)")
    assert check_output_fits(plan, out, allow_large=True) is None
    monkeypatch.setattr(plan_mod.shutil, "disk_usage", lambda p: type("U", (), {"free": need})())
    assert check_output_fits(plan, out) is None


def test_a_store_beyond_100_gib_gets_a_warning(pm, tmp_path, monkeypatch):
    sc = parse(scenario_text(unit="days", duration=36525, step=60, record=60, total=1584, planes=72), pm, "x.toml")
    plan = make_plan(sc, pm)
    assert plan.store_bytes() > LARGE_STORE_BYTES
    monkeypatch.setattr(plan_mod.shutil, "disk_usage", lambda p: type("U", (), {"free": 2**60})())
    warning = check_output_fits(plan, tmp_path / "run.zarr")
    assert warning == (f"{tmp_path / 'run.zarr'} may grow to {format_bytes(plan.store_bytes())} (uncompressed upper "
                       "bound, over 100.0 GiB); record fewer variables ([output] variables) or less often "
                       "([scenario] record_every_s) unless you mean it")


# -- item 8: dates outside what the store and the models hold -------------------------


@pytest.mark.parametrize("epoch", ["0001-01-01T00:00:00Z", "2300-01-01T00:00:00Z", "9999-12-31T00:00:00Z",
                                   "1677-09-21T00:00:00Z"])
def test_epoch_the_store_cannot_decode_is_refused(capsys, tmp_path, epoch):
    path = tmp_path / "dates.toml"
    path.write_text(scenario_text(epoch=epoch))
    code, out, err = orbitwin(capsys, "validate", path)
    assert code == 2 and "Traceback" not in err
    assert (f"orbitwin: error: {path}: key 'scenario.epoch': bad value: got '{epoch}'; expected "
            f"{STORE_RANGE}") in err.splitlines()


def test_a_run_that_ends_past_the_store_range_names_its_duration(capsys, tmp_path):
    path = tmp_path / "late.toml"
    path.write_text(scenario_text(epoch="2262-04-01T00:00:00Z", unit="days", duration=20, step=60, record=3600))
    code, out, err = orbitwin(capsys, "validate", path)
    assert code == 2 and "Traceback" not in err
    assert (f"orbitwin: error: {path}: key 'scenario.duration_days': bad value: got 20.0; expected a run from "
            "2262-04-01 that ends by 2262-04-11 UTC (the store's time coordinate, int64 ms since the epoch, "
            "decodes in xarray to datetime64[ns], which spans 1677-09-21 to 2262-04-11)") in err.splitlines()


def test_the_store_range_is_what_xarray_decodes():
    """The bounds are inside datetime64[ns]'s span; a day beyond is not decodable."""
    xr = pytest.importorskip("xarray")
    from twin_core.scenario import STORE_TIME_MAX, STORE_TIME_MIN

    def decode(epoch: dt.datetime, ms: int):
        attrs = {"units": f"milliseconds since {epoch:%Y-%m-%dT%H:%M:%S}", "calendar": "proleptic_gregorian"}
        ds = xr.Dataset(coords={"time": ("time", np.array([0, ms], np.int64), attrs)})
        return xr.decode_cf(ds).time.values

    assert str(decode(STORE_TIME_MIN, 0)[0]).startswith("1677-09-22")
    assert str(decode(STORE_TIME_MAX - dt.timedelta(days=1), 86_400_000)[1]).startswith("2262-04-11")
    # beyond it xarray refuses, or (with cftime installed, as cf-units brings it) falls back
    # to cftime objects: either way no datetime64 time axis
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = decode(STORE_TIME_MAX + dt.timedelta(days=1), 0)
    except Exception as exc:  # noqa: BLE001 - what xarray raises varies with its version
        assert "unable to decode time" in str(exc)
    else:
        assert values.dtype.kind != "M"


def test_sun_ephemeris_outside_its_stated_range_warns_naming_the_key(capsys, tmp_path):
    path = tmp_path / "sso2100.toml"
    path.write_text(scenario_text(epoch="2100-06-01T00:00:00Z", shells=SSO))
    code, out, err = orbitwin(capsys, "validate", path, "--disable", "environment")
    assert code == 0, err
    assert (f"orbitwin: warning: {path}: key 'scenario.epoch': the run (2100-06-01) goes outside 1950-01-01 to "
            "2050-12-31, over which the Sun ephemeris (Astronomical Almanac low-precision formulae) (plugin "
            "'orbit') holds 0.01 deg in direction (the Almanac's stated precision); outside it, its error grows "
            "slowly (against astropy: 0.015 deg in 1800 and 0.013 deg in 2200, 0.024 deg in 1680 and 2261), about "
            "0.4 s of eclipse timing in low orbit") in err.splitlines()
    path.write_text(scenario_text(epoch="2030-06-01T00:00:00Z", shells=SSO))
    code, out, err = orbitwin(capsys, "validate", path, "--disable", "environment")
    assert code == 0 and "warning" not in err


def test_a_run_that_leaves_the_range_names_its_duration(pm):
    sc = parse(scenario_text(epoch="2050-12-01T00:00:00Z", unit="days", duration=60, step=60, record=3600,
                             shells=SSO), pm, "late.toml")
    (warning,) = check_dates(sc, pm)
    assert warning.startswith("late.toml: key 'scenario.duration_days': the run (2050-12-01 to 2051-01-30) goes "
                              "outside 1950-01-01 to 2050-12-31")


# -- item 13: the bundled examples shard as shipped ----------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_bundled_example_runs_in_two_shards_as_shipped(pm, path):
    plan = make_plan(load(path, pm), pm)
    ranges = plan.shards(2)
    assert len(ranges) == 2 and ranges[0][0] == 0 and ranges[-1][1] == plan.n_total
    assert ranges[0][1] == ranges[1][0]
    plan.blocks(*ranges[0]), plan.blocks(*ranges[1])  # whole chunks, kernel blocks inside them


def test_default_chunks_are_whole_planes_and_at_least_eight(pm):
    plan = make_plan(parse(scenario_text(total=1584, planes=72), pm, "w.toml"), pm)
    assert plan.chunk_sats == 198 and plan.n_chunks == 8  # 9 planes of 22 per chunk
    assert len(plan.shards(8)) == 8
    from twin_core.declarations import SatelliteTable

    plane = np.repeat(np.arange(1000, dtype=np.int32), 1000)  # 10^6 in 1,000 planes
    big = SatelliteTable(10**6, plane, np.zeros_like(plane))
    assert plan_mod._chunk_sats(big, 0) == 65_000  # at most 65,536 satellites, whole planes: 16 chunks
    assert plan_mod._chunk_sats(big, 1234) == 1234


def test_more_shards_than_satellites_says_so(pm):
    plan = make_plan(parse(scenario_text(total=4, planes=1), pm, "four.toml"), pm)
    assert plan.n_chunks == 4
    with pytest.raises(BuildError, match=r"^--shards 8: the constellation has 4 satellite\(s\), and a shard holds "
                                         r"at least one; use at most --shards 4$"):
        plan.shards(8)


def test_a_model_that_refuses_outside_its_range_stops_the_plan_first(pm, no_per_satellite_arrays):
    from twin_core import hookimpl
    from twin_core.declarations import ValidRange
    from twin_core.errors import ScenarioError

    class Strict:
        @hookimpl
        def orbitwin_validity(self, scenario):
            utc = dt.timezone.utc
            return [ValidRange("tide model", dt.datetime(2000, 1, 1, tzinfo=utc), dt.datetime(2030, 1, 1, tzinfo=utc),
                               "1 cm", "it is meaningless", refuse=True)]

    pm.register(Strict(), name="strict")
    with pytest.raises(ScenarioError) as exc:
        make_plan(parse(scenario_text(epoch="2031-01-01T00:00:00Z"), pm, "tide.toml"), pm)
    assert str(exc.value) == ("tide.toml: key 'scenario.epoch': the run (2031-01-01) goes outside 2000-01-01 to "
                              "2030-01-01, over which the tide model (plugin 'strict') holds 1 cm; outside it, it is "
                              "meaningless")
