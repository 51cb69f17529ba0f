"""``orbitwin compare`` on telemetry generated from a run with known perturbations: it must
find exactly the perturbed satellites and variables, with the residuals put in.

The telemetry: the three Vallado June-2006 sets (DELTA 1 DEB, CBERS 2, SL-12 DEB) run
with SGP4 and a small power system, recorded every 30 s (the "reality"), sampled every
60 s at times that never fall on a record of the compared run (records every 300 s):

- CBERS 2: position displaced along-track (T = N x R) by 2 km x t / 6 h, growing
  linearly from 0 at the epoch to 2 km at the end;
- SL-12 DEB: battery state of charge 0.05 low throughout;
- every value (all three satellites): Gaussian noise, seed 13: 10 m on each position
  component, 0.002 on the state of charge, 0.1 K on the temperature, 2 W on the
  generated power.

Each satellite is named differently: DELTA 1 DEB by index (#0), CBERS 2 by its name in
lower case, SL-12 DEB by catalog number.
"""

import json
import shutil
import warnings
from importlib import resources

import numpy as np
import pytest
import zarr

from twin_core.testing import run_scenario
from twin_core.testing import run_cli as orbitwin

TLE = str(resources.files("orbitwin_plugins") / "data" / "elements" / "vallado_near_earth.tle")
DISABLE = ("formation", "crosslinks", "ground", "launch", "costs", "sizing", "radiation", "latency")
DURATION_S = 6 * 3600.0
SCENARIO = f"""
[scenario]
epoch = "2006-06-27T00:00:00Z"
duration_h = 6
step_s = 30
record_every_s = {{record}}

[orbit]
propagator = "sgp4"

[[orbit.shell]]
kind = "tle"
file = "{TLE}"
catalog_numbers = [6251, 28057, 29238]

[solar]
area_m2 = 10.0
[battery]
capacity_wh = 5000
[power]
[payload]
count = 1
accelerator = "H100-SXM"
workload = "training"
[thermal]
radiator_area_m2 = 3.0
"""
IDS = ["#0", "cbers 2", "29238"]  # DELTA 1 DEB, CBERS 2, SL-12 DEB
ALONG_KM = 2.0
SOC_OFFSET = -0.05
NOISE = {"orbit.r_eci_m": 10.0, "battery.soc": 0.002, "thermal.temperature_k": 0.1, "power.generated_w": 2.0}
PLAIN = ("battery.soc", "thermal.temperature_k", "power.generated_w")


def _iso(t_s: float) -> str:
    import datetime as dt

    return (dt.datetime(2006, 6, 27) + dt.timedelta(seconds=float(t_s))).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_telemetry(path, truth, times_idx) -> None:
    """Telemetry = the 30 s run + the perturbations and noise of the module docstring."""
    rng = np.random.default_rng(13)
    t = truth.times_s[times_idx]
    r = truth.sat["orbit.r_eci_m"][times_idx].astype(np.float64)
    v = truth.sat["orbit.v_eci_m_s"][times_idx].astype(np.float64)
    rhat = r / np.linalg.norm(r, axis=-1, keepdims=True)
    n = np.cross(r, v)
    that = np.cross(n / np.linalg.norm(n, axis=-1, keepdims=True), rhat)
    r_tel = r + rng.normal(0.0, NOISE["orbit.r_eci_m"], r.shape)
    r_tel[:, 1] += (ALONG_KM * 1000.0 * t / DURATION_S)[:, None] * that[:, 1]
    plain = {}
    for name in PLAIN:
        x = truth.sat[name][times_idx].astype(np.float64)
        plain[name] = x + rng.normal(0.0, NOISE[name], x.shape)
    plain["battery.soc"][:, 2] += SOC_OFFSET
    lines = ["time,satellite,variable,value"]
    for k, tk in enumerate(t):
        when = _iso(tk)
        for s in range(3):
            lines += [f"{when},{IDS[s]},orbit.r_eci_m[{c}],{float(r_tel[k, s, c])!r}" for c in range(3)]
            lines += [f"{when},{IDS[s]},{name},{float(plain[name][k, s])!r}" for name in PLAIN]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def perturbed(tmp_path_factory):
    """(the compared run's store, the telemetry file, the 30 s run)."""
    tmp = tmp_path_factory.mktemp("compare")
    truth = run_scenario(SCENARIO.format(record=30), disable=DISABLE)
    store = tmp / "run.zarr"
    run_scenario(SCENARIO.format(record=300), disable=DISABLE, store=store)
    idx = np.arange(1, truth.n_records, 2)  # 30 s, 90 s, ...: never on a 300 s record
    tel = tmp / "telemetry.csv"
    write_telemetry(tel, truth, idx)
    return store, tel, truth


@pytest.fixture(scope="module")
def compared(perturbed, tmp_path_factory):
    """``orbitwin compare --json`` on a copy of the store: (exit status, JSON, stderr, store)."""
    import subprocess
    import sys

    store, tel, _ = perturbed
    copy = tmp_path_factory.mktemp("compared") / "run.zarr"
    shutil.copytree(store, copy)
    p = subprocess.run([sys.executable, "-m", "twin_core", "compare", str(copy), str(tel), "--json", "--top", "5"],
                       capture_output=True, text=True, timeout=300)
    return p.returncode, (json.loads(p.stdout) if p.returncode == 0 else {}), p.stderr, copy


def _summary(d, name, variable):
    return next(s for s in d["summary"] if s["name"] == name and s["variable"] == variable)


def test_compare_finds_exactly_the_perturbed_satellites_and_variables(compared):
    code, d, err, _ = compared
    assert code == 0, err
    top = [(x["name"], x["variable"]) for x in d["divergences"]]
    # SOC: 0.05 / 0.01 = 5 scales; CBERS 2: RMS of a 0-2 km ramp, 1.155 km / 1 km
    assert top[:2] == [("SL-12 DEB", "battery.soc"), ("CBERS 2", "orbit.r_eci_m[norm]")]
    assert d["divergences"][0]["normalised_rms"] == pytest.approx(5.0, rel=0.06)
    assert d["divergences"][1]["normalised_rms"] == pytest.approx(2 / 3 ** 0.5, rel=0.01)
    # everything else is noise and interpolation: under half a scale, a tenth of the smaller perturbation
    assert d["divergences"][2]["normalised_rms"] < 0.5
    sats = [(x["name"], x["variable"]) for x in d["satellites"]]
    assert sats[:2] == top[:2] and d["satellites"][2]["normalised_rms"] < 0.5
    per_var = {v["variable"]: [s["name"] for s in v["satellites"]] for v in d["variables"]}
    assert per_var["battery.soc"][0] == "SL-12 DEB"
    for name in ("orbit.r_eci_m[norm]", "orbit.r_eci_m[along_track]", "orbit.r_eci_m[1]"):
        assert per_var[name][0] == "CBERS 2", name


def test_the_residual_sizes_are_the_perturbations(compared, perturbed):
    _, d, _, _ = compared
    truth = perturbed[2]
    t = truth.times_s[1::2]
    ramp = ALONG_KM * 1000.0 * t / DURATION_S
    along = _summary(d, "CBERS 2", "orbit.r_eci_m[along_track]")
    assert along["count"] == t.size
    assert along["mean"] == pytest.approx(ramp.mean(), abs=5.0)  # 1,000 m
    assert along["rms"] == pytest.approx(np.sqrt(np.mean(ramp ** 2)), abs=5.0)  # 1,155 m
    assert along["max_abs"] == pytest.approx(ramp.max(), abs=40.0)  # 1,997 m
    for part in ("radial", "cross_track"):  # the noise only (10 m per component)
        assert _summary(d, "CBERS 2", f"orbit.r_eci_m[{part}]")["rms"] < 20.0
    assert _summary(d, "CBERS 2", "orbit.r_eci_m[norm]")["rms"] == pytest.approx(np.sqrt(np.mean(ramp ** 2)), abs=5.0)
    soc = _summary(d, "SL-12 DEB", "battery.soc")
    assert soc["mean"] == pytest.approx(SOC_OFFSET, abs=0.002)
    assert soc["rms"] == pytest.approx(abs(SOC_OFFSET), abs=0.003)
    for name in ("DELTA 1 DEB", "SL-12 DEB"):  # unperturbed positions: noise and interpolation, ~10-20 m
        assert _summary(d, name, "orbit.r_eci_m[norm]")["rms"] < 40.0
    for name in ("DELTA 1 DEB", "CBERS 2"):
        assert abs(_summary(d, name, "battery.soc")["mean"]) < 0.002
    for s in d["summary"]:
        if s["variable"] == "thermal.temperature_k":
            assert s["rms"] < 0.2  # 0.1 K noise and the linear interpolation
    assert d["telemetry"]["rows_compared"] == d["telemetry"]["rows_read"] == t.size * 3 * 6


def test_the_residuals_are_in_the_store_and_open_with_xarray(compared):
    import xarray as xr

    _, d, _, store = compared
    rows = xr.open_zarr(store, group="residuals/rows")
    assert rows.sizes["row"] == d["telemetry"]["rows_compared"]
    np.testing.assert_allclose(rows.residual.values, rows.telemetry.values - rows.prediction.values)
    assert str(rows.time.values[0])[:19] == "2006-06-27T00:00:30"
    summary = xr.open_zarr(store, group="residuals/summary")
    assert float(summary.rms.sel(sat=2, variable="battery.soc")) == pytest.approx(
        _summary(d, "SL-12 DEB", "battery.soc")["rms"])
    ranking = xr.open_zarr(store, group="residuals/ranking")
    assert int(ranking.satellite.sel(variable="orbit.r_eci_m[norm]")[0]) == 1
    vec = xr.open_zarr(store, group="residuals/vectors")
    assert set(np.unique(vec.variable.values)) == {"orbit.r_eci_m"}
    root = zarr.open_group(str(store), mode="r")
    assert root.attrs["complete"] and root["residuals"].attrs["complete"]
    assert root["residuals"].attrs["rows_skipped"] == {"outside_run": 0, "inactive": 0, "no_prediction": 0}


def test_the_interpolation_error_is_stated_and_small_against_the_perturbations(compared):
    _, d, _, _ = compared
    v = {x["variable"]: x for x in d["variables"]}
    for c in range(3):  # SGP4 records (docs/telemetry.md): metres at 300 s records
        x = v[f"orbit.r_eci_m[{c}]"]
        assert x["interpolation"] == "hermite_gravity"
        assert 0.0 < x["interpolation_error"] < 20.0
    assert v["battery.soc"]["interpolation"] == "linear" and v["battery.soc"]["interpolation_error"] < 0.02


def test_the_tables_name_the_perturbed_satellites_first(perturbed, capsys, tmp_path):
    store, tel, _ = perturbed
    out = tmp_path / "res.zarr"
    code, text, err = orbitwin(capsys, "compare", store, tel, "--output", out, "--top", "3")
    assert code == 0, err
    assert "Traceback" not in err
    first = text.split("satellites that diverge most")[1].splitlines()
    body = [line for line in first if "#" in line]
    assert body[0].split()[:2] == ["SL-12", "DEB"] and "battery.soc" in body[0]
    assert "CBERS 2" in body[1] and "orbit.r_eci_m[norm]" in body[1]
    assert (out / "residuals" / "rows").is_dir()
    assert "residuals" not in zarr.open_group(str(store), mode="r")  # --output leaves the run alone
    code, _, err = orbitwin(capsys, "compare", store, tel, "--output", out)  # its own output: replaced
    assert code == 0, err


def test_output_refuses_what_compare_did_not_write(perturbed, capsys, tmp_path):
    store, tel, _ = perturbed
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    code, _, err = orbitwin(capsys, "compare", store, tel, "--output", tmp_path / "mine")
    assert code == 2 and "not written by orbitwin compare" in err
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"
    code, _, err = orbitwin(capsys, "compare", store, tel, "--output", store / "inside")
    assert code == 2 and "inside the run's store" in err


def test_incomplete_and_busy_stores_are_refused(perturbed, capsys, tmp_path):
    from twin_core.storedir import StoreLock

    store, tel, _ = perturbed
    copy = tmp_path / "run.zarr"
    shutil.copytree(store, copy)
    with StoreLock.acquire(copy):
        code, _, err = orbitwin(capsys, "compare", copy, tel)
    assert code == 2 and "in use by another orbitwin run" in err
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr on the lock and checkpoint files, and consolidated metadata
        root = zarr.open_group(str(copy), mode="r+", use_consolidated=False)
        root.attrs["complete"] = False
        zarr.consolidate_metadata(str(copy))
    code, _, err = orbitwin(capsys, "compare", copy, tel)
    assert code == 2 and "incomplete" in err and "Traceback" not in err
    code, _, err = orbitwin(capsys, "compare", tmp_path / "nothing.zarr", tel)
    assert code == 2 and "no such store" in err


def test_user_mistakes_are_one_line_each(perturbed, capsys, tmp_path):
    store, _, _ = perturbed
    cases = {
        "time,satellite,variable,value\n2006-06-27T01:00:00Z,CBERS-2,battery.soc,0.5\n":
            ["line 2", "column 'satellite'", "'CBERS-2'", "closest names: 'CBERS 2'"],
        "time,satellite,variable,value\n2006-06-27T01:00:00Z,#1,battery.charge,0.5\n":
            ["line 2", "column 'variable'", "closest: battery.", "expected"],
        "time,satellite,variable,value\n\n2006-06-27T01:00:00Z,#1,battery.soc,half\n":
            ["line 3", "column 'value'", "'half'", "not a finite number"],
        "time,satellite,variable,value\n2006-06-27T01:00:00Z,#1,orbit.r_eci_m.x,7e6\n":
            ["write orbit.r_eci_m[0]"],
        "time,sat,variable,value\n2006-06-27T01:00:00Z,#1,battery.soc,0.5\n":
            ["no column 'satellite'", "'sat' for 'satellite'?"],
        "time,satellite,variable,value\n2007-01-01T00:00:00Z,#1,battery.soc,0.5\n":
            ["every row (1) lies outside the run"],
    }
    for k, (text, want) in enumerate(cases.items()):
        path = tmp_path / f"t{k}.csv"
        path.write_text(text)
        code, _, err = orbitwin(capsys, "compare", store, path, "--output", tmp_path / f"o{k}.zarr")
        assert code == 2, (text, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        for w in want:
            assert w in err, (w, err)


def test_rows_outside_the_run_are_skipped_with_a_warning(perturbed, capsys, tmp_path):
    store, _, _ = perturbed
    path = tmp_path / "t.csv"
    path.write_text("time_s,satellite,variable,value\n-60,#1,battery.soc,0.5\n600,#1,battery.soc,0.5\n"
                    "99999,#2,battery.soc,0.5\n")
    code, text, err = orbitwin(capsys, "compare", store, path, "--output", tmp_path / "o.zarr", "--json")
    assert code == 0, err
    assert "2 of 3 rows lie outside the run" in err and "line 2" in err
    d = json.loads(text)
    assert d["telemetry"]["rows_skipped"]["outside_run"] == 2 and d["telemetry"]["rows_compared"] == 1


def test_a_store_without_the_variable_says_so(tmp_path, capsys):
    """A run without the battery plugin: battery.soc is no variable of it."""
    store = tmp_path / "orbit.zarr"
    text = SCENARIO.format(record=600).split("[solar]")[0]
    run_scenario(text, disable=DISABLE + ("environment", "solar", "battery", "power", "payload", "thermal"),
                 store=store)
    path = tmp_path / "t.csv"
    path.write_text("time,satellite,variable,value\n2006-06-27T01:00:00Z,CBERS 2,battery.soc,0.5\n")
    code, _, err = orbitwin(capsys, "compare", store, path)
    assert code == 2 and "'battery.soc' is no variable the run recorded per satellite" in err
    assert "residuals" not in zarr.open_group(str(store), mode="r")


def test_positions_of_a_j2_run_interpolate_to_centimetres(tmp_path):
    """The J2 propagator's records are self-consistent: ``hermite`` (docs/telemetry.md)
    puts telemetry that is the run itself, sampled between records, within 0.1 m."""
    from orbitwin_plugins import telemetry as tm
    from twin_core import telemetry as tr

    text = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 2
step_s = 30
record_every_s = {record}
[[orbit.shell]]
kind = "walker_delta"
total = 4
planes = 2
phasing = 1
altitude_km = 550
inclination = 53
"""
    only = DISABLE + ("environment", "solar", "battery", "power", "payload", "thermal")
    truth = run_scenario(text.format(record=30), disable=only)
    store = tmp_path / "j2.zarr"
    run_scenario(text.format(record=300), disable=only, store=store)
    lines = ["time_s,satellite,variable,value"]
    r = truth.sat["orbit.r_eci_m"]
    for k in range(1, truth.n_records, 3):
        lines += [f"{truth.times_s[k]},#{s},orbit.r_eci_m[{c}],{float(r[k, s, c])!r}"
                  for s in range(4) for c in range(3)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    run = tr.run_view(zarr.open_group(str(store), mode="r"), str(store))
    res = tm.compute_residuals(run, tr.read_telemetry(tmp_path / "t.csv", run))
    assert run.propagator == "j2" and set(res.interpolation[:3]) == {"hermite"}
    assert np.nanmax(res.max_abs) < 0.1
