"""``orbitwin sweep`` (issue 11, items 5 and 6): cases on a 2-worker LocalCluster give the
bytes of the same cases run one by one; a failed case is recorded and the sweep goes on;
a resume reruns only what was not committed; bad inputs are one line and exit 2; a tornado
ranks its keys and draws a PNG. Small cases (1-2 satellites, an hour or two at coarse
steps) keep the file near a minute on 2 cores: most of it is dask workers starting."""

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest
import zarr

from twin_core.errors import UserError
from twin_core.runner import load, parse, plugin_manager, run_to_store
from twin_core.sweep import design_sweep, run_sweep
from twin_core.sweepspec import apply, parse_vary, sampled_cases
from twin_core.sweepstore import DONE, FAILED, PENDING, run_path
from twin_core.tomlwrite import dumps

HERE = Path(__file__).parent
ROOT = HERE.parent
TOY_PLUGINS = (str(HERE / "plugins" / "toy_counter.py"), str(HERE / "plugins" / "toy_sweep.py"))
TOY_DISABLE = ("orbit", "environment")
TOY = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 1
step_s = 60
record_every_s = 600
[toy]
count = 2
planes = 1
"""
ORBIT = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 2
step_s = 60
record_every_s = 1200
[[orbit.shell]]
kind = "walker_delta"
total = 2
planes = 1
phasing = 0
altitude_km = 550
inclination = 53.0
"""
PHYSICS_OFF = ("solar", "battery", "power", "payload", "thermal")


def pm_of(plugins=TOY_PLUGINS, disable=TOY_DISABLE):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return plugin_manager(plugins, disable)


def toy_scenario(tmp_path, text=TOY):
    path = tmp_path / "toy.toml"
    path.write_text(text)
    pm = pm_of()
    return load(path, pm), pm


def arrays(path):
    """Every array of a run store, by path (checkpoints and attributes aside)."""
    root = zarr.open_group(str(path), mode="r")
    out = {}

    def walk(group, prefix):
        for name, a in group.arrays():
            out[prefix + name] = a[...]
        for name, g in group.groups():
            walk(g, prefix + name + "/")

    walk(root, "")
    return out


# -- the store on a local cluster ------------------------------------------------------------


@pytest.fixture(scope="module")
def toy_sweep(tmp_path_factory):
    """A factorial toy sweep on 2 workers: prices 100, 13 (its hook raises), -1 (refused
    by the scenario's validator) and 3000, times masses 1 and 3."""
    tmp = tmp_path_factory.mktemp("sweep")
    sc, pm = toy_scenario(tmp)
    design = design_sweep(sc, pm, ["toysweep.price_usd_per_kg=100,13,-1,3000", "toysweep.mass_kg=1:3:2"])
    out = tmp / "s.zarr"
    seen = []
    summary = run_sweep(design, pm, out, plugins=TOY_PLUGINS, disable=TOY_DISABLE, workers=2,
                        progress=lambda done, total: seen.append((done, total)))
    return out, design, summary, seen


def test_the_sweep_store_opens_with_xarray_with_a_case_dimension(toy_sweep):
    import xarray as xr

    out, design, summary, seen = toy_sweep
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # consolidated, and runs/ not listed
        ds = xr.open_zarr(out)
    assert ds.sizes["case"] == 8 and list(ds["case"].values) == list(range(8))
    assert list(ds["toysweep.price_usd_per_kg"].values) == [100, 100, 13, 13, -1, -1, 3000, 3000]
    assert list(ds["toysweep.mass_kg"].values) == [1, 3] * 4
    assert "toysweep.price_usd_per_kg" in ds.coords and "toysweep.mass_kg" in ds.coords
    # cost = price x mass x clock / 3600, clock = 2 satellites x 3600 s: by hand
    cost = ds["toysweep.cost_usd"].values
    done = ds["status"].values == DONE
    assert list(done) == [True, True, False, False, False, False, True, True]
    np.testing.assert_array_equal(cost[done], [200.0, 600.0, 6000.0, 18000.0])
    assert np.isnan(cost[~done]).all()
    assert ds["toysweep.cost_usd"].attrs["units"] == "USD" and ds["toysweep.cost_usd"].attrs["description"]
    assert ds["toy.total_clock"].dims == ("case", "time") and ds.sizes["time"] == 61
    assert ds["time"].values[0] == np.datetime64("2026-03-20T00:00:00")
    run0 = zarr.open_group(str(run_path(out, 0, 8)), mode="r")
    assert ds["time"].values[-1] - ds["time"].values[0] == np.timedelta64(3600, "s")
    assert run0["constellation"]["time"][...].tobytes() == zarr.open_group(str(out))["time"][...].tobytes()
    assert ds["toy.total_clock"].isel(case=0).values.tobytes() == run0["constellation"]["toy.total_clock"][...].tobytes()
    assert ds.attrs["complete"] is True and ds.attrs["cases_done"] == 4 and ds.attrs["cases_failed"] == 4
    assert seen[-1] == (8, 8) and summary["done"] == 4


def test_a_failed_case_is_recorded_with_its_error_and_the_sweep_goes_on(toy_sweep):
    out, _design, summary, _seen = toy_sweep
    root = zarr.open_group(str(out), mode="r")
    status, error = root["status"][...], root["error"][...]
    assert status[2] == FAILED and "plugin 'toysweep' failed in hook 'orbitwin_case_results'" in error[2]
    assert "unlucky price" in error[2]
    assert status[4] == FAILED and "key 'toysweep.price_usd_per_kg'" in error[4] and "got -1.0" in error[4]
    assert "sweep case 4" in error[4]
    assert not run_path(out, 4, 8).exists()  # refused before it ran
    assert error[0] == "" and status[6] == DONE
    assert [i for i, _e in summary["failed"]] == [2, 3, 4, 5]


def test_each_case_store_records_its_own_scenario_text(toy_sweep):
    out, design, _s, _seen = toy_sweep
    run = zarr.open_group(str(run_path(out, 7, 8)), mode="r")
    text = run.attrs["scenario"]
    assert text == design.cases[7].text and text.startswith("# orbitwin sweep: case 7 of 8")
    assert tomllib.loads(text)["toysweep"] == {"price_usd_per_kg": 3000, "mass_kg": 3}
    assert run.attrs["complete"] is True


def test_resume_reruns_only_what_was_not_committed(toy_sweep, tmp_path):
    """Case 6 is set back to pending with its run store left half-written, as a kill
    between its run and its commit leaves it: the resume reruns case 6 alone, replacing
    its partial store; committed cases (done or failed) keep their stores untouched."""
    src, design, _s, _seen = toy_sweep
    out = tmp_path / "s.zarr"
    shutil.copytree(src, out)
    root = zarr.open_group(str(out), mode="r+", use_consolidated=False)
    root["status"][6] = PENDING
    root.attrs["complete"] = False
    partial = zarr.open_group(str(run_path(out, 6, 8)), mode="r+")
    partial.attrs["complete"] = False
    partial["constellation"]["toy.total_clock"][...] = np.nan
    stamp = {i: os.stat(run_path(out, i, 8) / "zarr.json").st_mtime_ns for i in (0, 1, 7)}
    pm = pm_of()
    summary = run_sweep(design, pm, out, plugins=TOY_PLUGINS, disable=TOY_DISABLE, workers=1, resume=True)
    assert summary["ran"] == 1
    assert {i: os.stat(run_path(out, i, 8) / "zarr.json").st_mtime_ns for i in (0, 1, 7)} == stamp
    after = zarr.open_group(str(out), mode="r")
    assert after["status"][6] == DONE and after["toysweep.cost_usd"][6] == 6000.0
    assert after.attrs["complete"] is True
    assert zarr.open_group(str(run_path(out, 6, 8)), mode="r").attrs["complete"] is True
    with pytest.raises(UserError, match="already complete"):
        run_sweep(design, pm, out, plugins=TOY_PLUGINS, disable=TOY_DISABLE, resume=True)


def test_resume_refuses_other_vary_lists_or_scenario_naming_what_differs(toy_sweep, tmp_path):
    src, design, _s, _seen = toy_sweep
    out = tmp_path / "s.zarr"
    shutil.copytree(src, out)
    zarr.open_group(str(out), mode="r+", use_consolidated=False).attrs["complete"] = False
    pm = pm_of()
    other = design_sweep(design.base, pm, ["toysweep.price_usd_per_kg=100,13,-1,3000", "toysweep.mass_kg=1:3:3"])
    with pytest.raises(UserError, match=r"--vary options differ \(the sweep ran .*toysweep.mass_kg=1:3:2\)"):
        run_sweep(other, pm, out, plugins=TOY_PLUGINS, disable=TOY_DISABLE, resume=True)
    sc2, _ = toy_scenario(tmp_path, TOY.replace("count = 2", "count = 3"))
    moved = design_sweep(sc2, pm, ["toysweep.price_usd_per_kg=100,13,-1,3000", "toysweep.mass_kg=1:3:2"])
    with pytest.raises(UserError, match="the scenario differs"):
        run_sweep(moved, pm, out, plugins=TOY_PLUGINS, disable=TOY_DISABLE, resume=True)


def payload_scenario(tmp_path):
    """The bundled Walker example's satellite (full physics, an 8-GPU server, the [cost]
    plugin's defaults) as 2 satellites for 2 hours, without links and ground stations."""
    raw = tomllib.loads((ROOT / "examples" / "walker_550km.toml").read_text())
    for table in ("crosslinks", "ground"):
        raw.pop(table, None)
    del raw["scenario"]["duration_days"]
    raw["scenario"].update(duration_h=2, step_s=60, record_every_s=1200)
    raw["orbit"]["shell"][0].update(total=2, planes=1, phasing=0)
    path = tmp_path / "payload.toml"
    path.write_text(dumps(raw))
    return path


def test_two_workers_give_the_bytes_of_the_cases_run_one_by_one_and_cost_falls_with_launch_price(tmp_path):
    """Full physics and the real cost plugin, launch price from 3,000 to 100 $/kg (issue
    11, Done when): on 2 workers, every array of every case's run store and the case
    results are byte for byte those of run_to_store in this process, and the space cost
    per PFLOP-day falls as the launch price falls."""
    pm = pm_of((), ())
    design = design_sweep(load(payload_scenario(tmp_path), pm), pm,
                          ["cost.launch_price_usd_per_kg=3000,1000,500,200,100"])
    out = tmp_path / "s.zarr"
    run_sweep(design, pm, out, workers=2)
    root = zarr.open_group(str(out), mode="r")
    assert list(root["status"][...]) == [DONE] * 5, list(root["error"][...])
    cost = root["cost.space_usd_per_pflop_day"][...]
    assert np.all(np.diff(cost) < 0) and root["cost.space_usd_per_pflop_day"].attrs["units"]
    np.testing.assert_array_equal(root["cost.launch_price_usd_per_kg"][...], [3000, 1000, 500, 200, 100])
    umbra = root["constellation.umbra_fraction"][...]
    from twin_core.sweep import case_results

    for case in design.cases:
        alone = tmp_path / f"alone-{case.index}.zarr"
        scenario = parse(case.text, pm, case.path)
        run_to_store(scenario, pm, alone)
        one, swept = arrays(alone), arrays(run_path(out, case.index, 5))
        assert set(one) == set(swept) and "sat/payload.flops" in one
        for name in one:
            assert one[name].tobytes() == swept[name].tobytes(), (case.index, name)
        assert umbra[case.index].tobytes() == one["constellation/constellation.umbra_fraction"].tobytes()
        for name, value, *_ in case_results(scenario, pm, alone):
            if name in design.keys:  # the varied input itself: a coordinate, kept as typed
                continue
            assert np.float64(value).tobytes() == root[name][case.index].tobytes() or (
                np.isnan(value) and np.isnan(root[name][case.index])), (case.index, name)


# -- the command line ------------------------------------------------------------------------------


def orbitwin(*args, cwd=None):
    return subprocess.run([sys.executable, "-P", "-m", "twin_core", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


TOY_ARGS = ["--plugin", TOY_PLUGINS[0], "--plugin", TOY_PLUGINS[1], "--disable", "orbit", "--disable", "environment"]


@pytest.mark.parametrize("vary, extra, expected", [
    (["toysweep.price_usd_per_kgg=1,2"], [], r"--vary toysweep.price_usd_per_kgg: .*unknown key.*did you mean 'price_usd_per_kg'"),
    (["toysweeep.price_usd_per_kg=1,2"], [], r"--vary toysweeep.price_usd_per_kg: .*unknown table.*did you mean 'toysweep'"),
    (["toysweep.price_usd_per_kg=1:2:0"], [], r"--vary 'toysweep.price_usd_per_kg=1:2:0': NUM in '1:2:0' must be"),
    (["toysweep.price_usd_per_kg=1:x:3"], [], r"--vary 'toysweep.price_usd_per_kg=1:x:3': '1:x:3' is not a range"),
    (["toysweep.price_usd_per_kg=1:5"], [], r"a range without NUM is for --sample"),
    (["toysweep.price_usd_per_kg=1,2"], ["--sample", "lhs:0"], r"--sample 'lhs:0': expected lhs:N"),
    (["toy.count.0=1"], [], r"--vary toy.count.0: toy.count in .* is a value \(2\), not a table"),
    (["toysweep.price_usd_per_kg=1,2"], ["--scheduler", "tcp://127.0.0.1:9", "--scheduler-timeout", "1"],
     r"cannot reach the dask scheduler at tcp://127.0.0.1:9|scheduler at tcp://127.0.0.1:9 did not answer"),
    (["toysweep.price_usd_per_kg=1,2"], ["--tornado", "--figure", "/nonexistent-orbitwin/x.png"],
     r"--figure /nonexistent-orbitwin/x.png: the folder /nonexistent-orbitwin does not exist"),
])
def test_bad_inputs_are_one_line_and_exit_2_quickly(tmp_path, vary, extra, expected):
    import re

    (tmp_path / "toy.toml").write_text(TOY)
    args = [a for v in vary for a in ("--vary", v)]
    t0 = time.perf_counter()
    r = orbitwin("sweep", str(tmp_path / "toy.toml"), *args, "-o", str(tmp_path / "s.zarr"), *extra, *TOY_ARGS)
    assert time.perf_counter() - t0 < 60  # never a hang (a scheduler that does not answer included)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert re.search(expected, lines[0]), lines[0]
    assert not (tmp_path / "s.zarr").exists()


def test_tornado_ranks_the_keys_and_draws_a_png(tmp_path):
    (tmp_path / "toy.toml").write_text(TOY)
    out = tmp_path / "t.zarr"
    r = orbitwin("sweep", str(tmp_path / "toy.toml"), "--vary", "toysweep.mass_kg=1.5,2.5",
                 "--vary", "toysweep.price_usd_per_kg=500,3000", "-o", str(out), "--tornado",
                 "--metric", "toysweep.cost_usd", "--workers", "2", *TOY_ARGS)
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines() if line.strip()[:1].isdigit()]
    # baseline price 1000, mass 2: cost = price x mass x 2 (clock 2 h); swings 5000 and 2000
    assert [row[1] for row in rows] == ["toysweep.price_usd_per_kg", "toysweep.mass_kg"]
    assert rows[0][4:] == ["2000", "12000", "10000"] and rows[1][4:] == ["3000", "5000", "2000"]
    assert "baseline 4000" in r.stdout
    png = tmp_path / "t-tornado.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a finished tornado ranks again by another result without running a case
    again = orbitwin("sweep", str(tmp_path / "toy.toml"), "--vary", "toysweep.mass_kg=1.5,2.5",
                     "--vary", "toysweep.price_usd_per_kg=500,3000", "-o", str(out), "--tornado", "--resume",
                     "--metric", "toysweep.nosuch", *TOY_ARGS)
    assert again.returncode == 2 and "--metric toysweep.nosuch: no case result" in again.stderr
    assert "rank them again with --resume --tornado --metric NAME" in again.stderr
    root = zarr.open_group(str(out), mode="r")
    assert list(root["tornado_side"][...]) == ["baseline", "low", "high", "low", "high"]
    np.testing.assert_array_equal(root["toysweep.mass_kg"][...], [2.0, 1.5, 2.5, 2.0, 2.0])


# -- the pieces --------------------------------------------------------------------------------


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.toml")), ids=lambda p: p.name)
def test_toml_writer_reads_back_every_example(example):
    data = tomllib.loads(example.read_text())
    assert tomllib.loads(dumps(data)) == data


def test_toml_writer_reads_back_awkward_values():
    data = {"a b": {"s": 'q"\\\n\t\x01é', "f": [1.0, 1e300, -0.0, 2.2250738585072014e-308, 0.1], "i": -(2**63), "t": True,
                    "d": dt.datetime(2026, 3, 20, tzinfo=dt.timezone.utc), "day": dt.date(2026, 1, 1),
                    "mixed": [{"k": 1}, [2, "x"]], "empty": {}, "none": [],
                    "shell": [{"x": 1, "sub": {"y": [{"z": 2}]}}, {}]}}
    text = dumps(data)
    assert tomllib.loads(text) == data


def test_vary_values_and_ranges():
    assert parse_vary("solar.area_m2=40,60.5,80").values == (40, 60.5, 80)
    assert parse_vary("environment.shadow=conical, cylindrical").values == ("conical", "cylindrical")
    assert parse_vary('a.b="x,y",true').values == ("x,y", True)
    assert parse_vary("orbit.shell[0].total=4:8:3").values == (4, 6, 8)
    assert parse_vary("orbit.shell[0].total=4:8:3").key == "orbit.shell.0.total"
    assert parse_vary("a.b=0:1:3").values == (0.0, 0.5, 1.0)
    assert parse_vary("a.b=1:2:2").values == (1, 2)
    r = parse_vary("a.b=100:3000")
    assert r.is_range and (r.low, r.high, r.whole) == (100.0, 3000.0, True)
    assert parse_vary("scenario.epoch=2026-03-20T00:00:00Z").values == (
        dt.datetime(2026, 3, 20, tzinfo=dt.timezone.utc),)
    for bad, match in [("a.b", "expected KEY="), ("a..b=1", "not a dotted key"), ("a.b=", "no values"),
                       ("a.b=3:1", "empty"), ("a.b=1:2:1.5", "NUM")]:
        with pytest.raises(UserError, match=match):
            parse_vary(bad)


def test_latin_hypercube_uses_each_stratum_once_and_repeats_with_its_seed():
    varies = [parse_vary("a.x=0.0:10.0"), parse_vary("a.n=1:4"), parse_vary("a.s=p,q")]
    cases = sampled_cases(varies, "lhs", 8, seed=3)
    x = np.array([c["a.x"] for c in cases])
    assert sorted(np.floor(x / 10.0 * 8).astype(int)) == list(range(8))  # one per stratum
    assert sorted(c["a.n"] for c in cases) == [1, 1, 2, 2, 3, 3, 4, 4]  # whole numbers, inclusive
    assert sorted(c["a.s"] for c in cases) == ["p"] * 4 + ["q"] * 4
    assert cases == sampled_cases(varies, "lhs", 8, seed=3)
    assert cases != sampled_cases(varies, "lhs", 8, seed=4)
    mc = sampled_cases(varies, "mc", 50, seed=1)
    assert all(0.0 <= c["a.x"] <= 10.0 and 1 <= c["a.n"] <= 4 for c in mc)


def test_overrides_index_arrays_of_tables_and_name_what_is_wrong():
    raw = tomllib.loads(ORBIT)
    assert apply(raw, {"orbit.shell.0.altitude_km": 600}, "o.toml")["orbit"]["shell"][0]["altitude_km"] == 600
    assert raw["orbit"]["shell"][0]["altitude_km"] == 550  # a copy
    assert apply(raw, {"cost.launch_price_usd_per_kg": 100.0}, "o.toml")["cost"] == {"launch_price_usd_per_kg": 100.0}
    with pytest.raises(UserError, match=r"--vary orbit.shell.1.altitude_km: orbit.shell in o.toml has 1 table"):
        apply(raw, {"orbit.shell.1.altitude_km": 600}, "o.toml")
    with pytest.raises(UserError, match=r"--vary orbit.shell.altitude_km: orbit.shell in o.toml is an array"):
        apply(raw, {"orbit.shell.altitude_km": 600}, "o.toml")
    with pytest.raises(UserError, match="is a table, not a value"):
        apply(raw, {"orbit.shell": 600}, "o.toml")


def test_a_sweep_in_which_every_case_fails_exits_2_naming_the_first_error(tmp_path):
    (tmp_path / "toy.toml").write_text(TOY)
    out = tmp_path / "all-failed.zarr"
    r = orbitwin("sweep", str(tmp_path / "toy.toml"), "--vary", "toy.count=abc,def", "-o", str(out),
                 "--workers", "1", "-q", *TOY_ARGS)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "every case of the sweep failed (the first: case 0:" in r.stderr and "toy.count" in r.stderr
    root = zarr.open_group(str(out), mode="r")
    assert list(root["status"][...]) == [2, 2] and all(root["error"][...])
