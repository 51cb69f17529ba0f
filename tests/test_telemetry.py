"""The telemetry reader's rules and errors, and the interpolation of the prediction
(`orbitwin_plugins.telemetry`), on a run described in memory (no store needed)."""

import importlib.util
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orbitwin_plugins import telemetry as tm
from twin_core import telemetry as tr
from orbitwin_plugins.constants import MU_EARTH_M3_S2
from twin_core.errors import UserError

EPOCH = "2006-06-27T00:00:00+00:00"
VARIABLES = {v.name: v for v in (
    tr.StoreVariable("orbit.r_eci_m", 3, "m", True), tr.StoreVariable("orbit.v_eci_m_s", 3, "m s-1", True),
    tr.StoreVariable("battery.soc", 0, "1", True), tr.StoreVariable("thermal.temperature_k", 0, "K", True),
    tr.StoreVariable("power.generated_w", 0, "W", True), tr.StoreVariable("payload.state", 0, "1", False))}


def view(names=("DELTA 1 DEB", "CBERS 2", "SL-12 DEB", "SL-12 DEB"), catalog=(6251, 28057, 29238, 29239),
         records=73, every_s=300.0):
    n = len(names) if names is not None else len(catalog) if catalog is not None else 4
    return tr.RunView(path="run.zarr", epoch=EPOCH, times_s=np.arange(records) * every_s, n_sats=n,
                      names=None if names is None else tuple(names),
                      catalog_numbers=None if catalog is None else np.asarray(catalog, dtype=np.int64),
                      variables=VARIABLES, sat_group=None)


def read(tmp_path, text, run=None, name="t.csv"):
    p = tmp_path / name
    p.write_text(text)
    return tr.read_telemetry(p, run or view())


HEAD = "time,satellite,variable,value\n"


# -- matching satellites and variables ---------------------------------------------------

def test_satellites_match_by_name_catalog_number_and_index():
    got = tr.match_satellites(["cbers  2", "CBERS 2", "28057", "#0", "6251", "29239"], view())
    assert got == {"cbers  2": 1, "CBERS 2": 1, "28057": 1, "#0": 0, "6251": 0, "29239": 3}


def test_ambiguous_and_unknown_satellites_say_why():
    got = tr.match_satellites(["SL-12 DEB", "CBERS-2", "#9", "12345", "#x"], view())
    assert "fits several satellites" in got["SL-12 DEB"] and "#2" in got["SL-12 DEB"] and "#3" in got["SL-12 DEB"]
    assert "closest names: 'CBERS 2'" in got["CBERS-2"]
    assert "the run has #0 to #3" in got["#9"]
    assert "no satellite of the run has that catalog number" in got["12345"]
    assert "is not an index" in got["#x"]
    bare = tr.match_satellites(["CBERS 2"], view(names=None, catalog=None))
    assert "have no names" in bare["CBERS 2"] and "nor catalog numbers" in bare["CBERS 2"]


def test_a_name_wins_over_a_catalog_number():
    run = view(names=("6251", "other"), catalog=(1, 6251))
    assert tr.match_satellites(["6251"], run) == {"6251": 0}


@pytest.mark.parametrize("text, want", [
    ("orbit.r_eci_m[0]", ("orbit.r_eci_m", 0)), ("orbit.v_eci_m_s[2]", ("orbit.v_eci_m_s", 2)),
    ("battery.soc", ("battery.soc", -1)), (" battery.soc ", ("battery.soc", -1)),
    ("orbit.r_eci_m.x", "write orbit.r_eci_m[0]"), ("orbit.r_eci_m[y]", "write orbit.r_eci_m[1]"),
    ("orbit.r_eci_m", "is a vector"), ("orbit.r_eci_m[3]", "has no component [3]"),
    ("battery.soc[0]", "is a scalar"), ("payload.state", "integer code"),
    ("battery.socc", "closest: battery.soc"), ("nonsense", "is no variable the run recorded"),
])
def test_variable_names_and_the_component_convention(text, want):
    got = tr.parse_variable(text, view())
    if isinstance(want, tuple):
        assert got == want
    else:
        assert isinstance(got, str) and want in got, got


# -- reading ---------------------------------------------------------------------------

def test_a_good_file_reads_in_order_with_lines_and_seconds(tmp_path):
    tel = read(tmp_path, HEAD + "2006-06-27T00:05:00Z, CBERS 2 ,battery.soc,0.5\n\n"
               "2006-06-27T01:05:00+01:00,#0,orbit.r_eci_m[1],7e6\n"
               "2006-06-27 00:10:00.5,28057,BATTERY.SOC,0.25\n")
    np.testing.assert_allclose(tel.time_s, [300.0, 300.0, 600.5])
    np.testing.assert_array_equal(tel.sat, [1, 0, 1])
    np.testing.assert_array_equal(tel.line, [2, 4, 5])  # the blank line 3 counted, not read
    assert [tel.var_names[v] for v in tel.var] == ["battery.soc", "orbit.r_eci_m[1]", "battery.soc"]
    assert tel.n_rows == 3 and tel.format == "csv" and len(tel.sha256) == 64


def test_time_s_instead_of_time(tmp_path):
    tel = read(tmp_path, "time_s,satellite,variable,value\n30.5,#1,battery.soc,0.5\n")
    assert tel.time_s.tolist() == [30.5]


@pytest.mark.parametrize("text, want", [
    ("time,satelite,variable,value\n", ["no column 'satellite'", "'satelite' for 'satellite'?", "line 1"]),
    ("time,time_s,satellite,variable,value\n", ["both a 'time' and a 'time_s' column"]),
    (HEAD, ["has a header but no rows"]),
    ("", ["is empty"]),
    (HEAD + "yesterday,#1,battery.soc,0.5\n", ["line 2, column 'time': 'yesterday' is not a time", "ISO 8601"]),
    (HEAD + "2006-06-27T00:05:00Z,#1,battery.soc,nan\n2006-06-27T00:06:00Z,#1,battery.soc,\n",
     ["line 2, column 'value': 'nan' is not a finite number", "(1 more row like it)"]),
    (HEAD + "2006-06-27T00:05:00Z,Cbers,battery.soc,0.5\n", ["line 2, column 'satellite'", "closest names: 'CBERS 2'"]),
    (HEAD + "2006-06-27T00:05:00Z,#1,orbit.r_eci_m.z,0.5\n", ["column 'variable'", "write orbit.r_eci_m[2]"]),
    (HEAD + "2006-06-27T00:05:00Z,#1,battery.soc,0.5,extra\n", ["line 2: has 5 fields", "the header's 4"]),
    (HEAD + "2006-06-27T00:05:00Z,#1,battery.soc,0.5\n2006-06-27T00:05:00Z,#1,battery.soc,0.5,x\n",
     ["line 3: has 5 fields"]),
    (HEAD + "2007-06-27T00:05:00Z,#1,battery.soc,0.5\n", ["every row (1) lies outside the run", "line 2"]),
])
def test_errors_name_the_file_line_column_value_and_what_was_expected(tmp_path, text, want):
    with pytest.raises(tr.TelemetryError) as exc:
        read(tmp_path, text)
    msg = str(exc.value)
    assert msg.startswith(str(tmp_path / "t.csv"))
    for w in want:
        assert w in msg, (w, msg)
    assert isinstance(exc.value, UserError)


def test_a_missing_file_and_a_folder(tmp_path):
    with pytest.raises(tr.TelemetryError, match="no such file"):
        tr.read_telemetry(tmp_path / "none.csv", view())
    with pytest.raises(tr.TelemetryError, match="is a folder"):
        tr.read_telemetry(tmp_path, view())


def test_rows_outside_the_run_are_skipped_and_counted(tmp_path):
    tel = read(tmp_path, "time_s,satellite,variable,value\n-1,#1,battery.soc,0.5\n0,#1,battery.soc,0.5\n"
               "21600,#1,battery.soc,0.5\n21600.5,#1,battery.soc,0.5\n")
    assert tel.skipped_outside == 2 and tel.outside_first == (2, "-1 s")
    np.testing.assert_array_equal(tel.line, [3, 4])


def test_a_units_column_converts_or_refuses(tmp_path):
    tel = read(tmp_path, "time_s,satellite,variable,value,units\n0,#1,orbit.r_eci_m[0],7000,km\n"
               "0,#1,thermal.temperature_k,20,degC\n0,#1,battery.soc,0.5,\n0,#1,power.generated_w,1.5,kW\n")
    np.testing.assert_allclose(tel.value, [7.0e6, 293.15, 0.5, 1500.0])
    with pytest.raises(tr.TelemetryError, match=r"line 2, column 'units': 's' is not a unit convertible to"):
        read(tmp_path, "time_s,satellite,variable,value,units\n0,#1,orbit.r_eci_m[0],7000,s\n")


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is not None, reason="pyarrow is installed")
def test_parquet_without_pyarrow_is_a_clear_error(tmp_path):
    (tmp_path / "t.parquet").write_bytes(b"PAR1")
    with pytest.raises(tr.TelemetryError, match="Parquet telemetry needs pyarrow"):
        tr.read_telemetry(tmp_path / "t.parquet", view())


def test_parquet_reads_as_csv_does(tmp_path):
    pytest.importorskip("pyarrow")
    import pandas as pd

    pd.DataFrame({"time": ["2006-06-27T00:05:00Z"], "satellite": [28057], "variable": ["battery.soc"],
                  "value": [0.5]}).to_parquet(tmp_path / "t.parquet")
    tel = tr.read_telemetry(tmp_path / "t.parquet", view())
    assert tel.sat.tolist() == [1] and tel.time_s.tolist() == [300.0] and tel.line.tolist() == [1]


_CELL = st.text(alphabet=st.sampled_from(list("abc#0129.,-:TZ []\"xe ")), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(_CELL, min_size=1, max_size=5), max_size=4),
       header=st.sampled_from([HEAD, "time_s,satellite,variable,value\n", "time,satellite,value\n"]))
def test_any_file_is_read_or_refused_with_a_telemetry_error(tmp_path, rows, header):
    text = header + "\n".join(",".join(r) for r in rows) + "\n"
    try:
        read(tmp_path, text, name="fuzz.csv")
    except tr.TelemetryError:
        pass


# -- interpolation -----------------------------------------------------------------------

def test_hermite_through_four_nodes_is_exact_for_degree_7():
    rng = np.random.default_rng(1)
    c = rng.normal(size=8)
    f = np.polynomial.Polynomial(c)
    x = np.array([[-1.0, 0.0, 1.0, 2.0]])
    xq = np.linspace(-1, 2, 13)
    for q in xq:
        p, dp = tm.hermite(x, f(x)[..., None], f.deriv()(x)[..., None], np.array([q]))
        assert p[0, 0] == pytest.approx(f(q), rel=1e-10, abs=1e-10)
        assert dp[0, 0] == pytest.approx(f.deriv()(q), rel=1e-9, abs=1e-9)


def test_the_propagator_chooses_the_orbit_interpolation():
    assert tm.orbit_method("sgp4") == "hermite_gravity"
    assert tm.orbit_method("j2") == tm.orbit_method("anything else") == "hermite"
    assert tr._propagator('[orbit]\npropagator = "sgp4"\n') == "sgp4"
    assert tr._propagator("[scenario]\n") == tr._propagator("not toml [") == "j2"


def _integrate(r0, v0, dt, n, sub=60):
    """RK4 under `gravity_m_s2` (self-consistent records: no SGP4 kinematics)."""
    acc = tm.gravity_m_s2
    r, v = np.array(r0, float), np.array(v0, float)
    R, V = [r.copy()], [v.copy()]
    h = dt / sub
    for _ in range(n - 1):
        for _ in range(sub):
            k1r, k1v = v, acc(r)
            k2r, k2v = v + 0.5 * h * k1v, acc(r + 0.5 * h * k1r)
            k3r, k3v = v + 0.5 * h * k2v, acc(r + 0.5 * h * k2r)
            k4r, k4v = v + h * k3v, acc(r + h * k3r)
            r = r + h / 6 * (k1r + 2 * k2r + 2 * k3r + k4r)
            v = v + h / 6 * (k1v + 2 * k2v + 2 * k3v + k4v)
        R.append(r.copy())
        V.append(v.copy())
    return np.array(R), np.array(V)


@pytest.mark.parametrize("method, within_m, within_m_s", [("hermite", 0.05, 1e-3), ("hermite_gravity", 0.5, 5e-3)])
def test_the_orbit_between_300_s_records_of_a_leo_orbit(method, within_m, within_m_s):
    """Self-consistent records (integrated under `gravity_m_s2`): docs/telemetry.md's
    0.02 m for ``hermite`` and the quintic's truncation for ``hermite_gravity``."""
    a = 6928e3
    vc = np.sqrt(MU_EARTH_M3_S2 / a)
    incl = np.radians(53.0)
    R, V = _integrate([a, 0, 0], [0, vc * np.cos(incl), vc * np.sin(incl)], 30.0, 101)  # 50 min, every 30 s
    fine_t = np.arange(101) * 30.0
    coarse = slice(None, None, 10)
    t = fine_t[coarse]
    q = np.arange(101)[np.arange(101) % 10 != 0]
    q = q[q < 100]
    k = q // 10
    s = np.zeros_like(k)
    r, v = tm.orbit_state(R[coarse][:, None], V[coarse][:, None], t, k, s, fine_t[q], method)
    err_r = np.abs(r - R[q]).max()
    assert err_r < within_m and np.abs(v - V[q]).max() < within_m_s
    est, at_2h = tm.interpolation_error_orbit(t, R[coarse][:, None], V[coarse][:, None], "r", 0, method)
    assert err_r <= est < at_2h  # the stated error bounds the actual one
    lin = tm.interpolate_linear(R[coarse][:, None, 0], t, k, s, fine_t[q], 1000.0)
    assert np.abs(lin.value - R[q, 0]).max() > 50e3  # why positions are not interpolated linearly


def test_a_jump_between_records_is_bracketed_not_interpolated():
    t = np.arange(6) * 300.0
    P = np.array([3000.0, 3001.0, 3002.0, 0.0, 0.0, 0.0])[:, None]  # eclipse entry between records 2 and 3
    k = np.array([1, 2, 2, 2, 3])
    s = np.zeros(5, dtype=int)
    tq = np.array([450.0, 650.0, 750.0, 850.0, 1000.0])
    ip = tm.interpolate_linear(P, t, k, s, tq, 30.0)
    np.testing.assert_array_equal(ip.jump, [False, True, True, True, False])
    tel = np.array([3001.5, 3002.0, 0.0, 1500.0, 5.0])
    np.testing.assert_allclose(tel - ip.against(tel), [0.0, 0.0, 0.0, 0.0, 5.0])
    assert tm.METHODS[int(ip.method[1])] == "bracket"
    smooth = tm.interpolate_linear(np.linspace(0, 5, 6)[:, None] ** 2, t, k, s, tq, 1.0)
    assert not smooth.jump.any()


def test_the_linear_interpolation_error_is_measured_at_twice_the_interval():
    t = np.arange(9) * 100.0
    P = (t / 100.0)[:, None] ** 2  # x^2 between x0 and x0 + 2: the chord is 1 above at the middle
    est, at_2h = tm.interpolation_error_linear(t, P, 1.0)
    assert at_2h == pytest.approx(1.0) and est == pytest.approx(0.5)
    assert all(math.isnan(x) for x in tm.interpolation_error_linear(t[:2], P[:2], 1.0))  # too few records


def test_a_truncated_compressed_file_is_named_not_taken_for_an_interrupt(tmp_path):
    from twin_core.telemetry import TelemetryError, _read_frame

    bad = tmp_path / "tel.csv.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03")
    with pytest.raises(TelemetryError, match="truncated or corrupt"):
        _read_frame(bad, "csv")
    fake = tmp_path / "fake.csv.gz"
    fake.write_text("not gzip at all\n")
    with pytest.raises(TelemetryError, match="fake.csv.gz"):
        _read_frame(fake, "csv")
