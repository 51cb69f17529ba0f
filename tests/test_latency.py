"""Service latency in a run (plugins/latency.py): the store's ``latency/`` group against
hand sums and the numpy model, no service as NaN, refusals before the run, links to the
satellite holding the work."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import zarr

from orbitwin_plugins import latency_model as lm
from orbitwin_plugins.ground import ecef_to_eci_matrix
from twin_core.errors import ScenarioError
from twin_core.runner import finish_store, parse
from twin_core.testing import plugin_manager, run_scenario

PLUGIN = "orbitwin_plugins.latency"
ONLY_LINKS = ("solar", "battery", "power", "payload", "thermal", "ground", "formation")
EPOCH = "2026-03-20T00:00:00Z"
HEAD = f"""
[scenario]
epoch = "{EPOCH}"
duration_h = 1
step_s = 60
record_every_s = 600
"""
#: One satellite on the equator at 550 km: at the epoch it is at (R_eq + 550 km, 0, 0) in ECI
#: (its elements taken in ECI itself: the J2000 pole).
ONE = """
[orbit]
j2_pole = "j2000"
[[orbit.shell]]
kind = "elements"
sets = [ {altitude_km = 550, inclination_deg = 0, raan_deg = 0, mean_anomaly_deg = 0} ]
"""
WALKER = """
[[orbit.shell]]
kind = "walker_delta"
total = 36
planes = 6
phasing = 1
altitude_km = 550
inclination = 53.0
[crosslinks]
topology = "plus_grid"
"""
WGS84_A, WGS84_F = 6378137.0, 1.0 / 298.257223563


def ecef_to_geodetic(r):
    """Geodetic latitude, longitude [deg] and height [m] of an ECEF point (WGS 84)."""
    x, y, z = r
    e2 = WGS84_F * (2.0 - WGS84_F)
    p = np.hypot(x, y)
    lat = np.arctan2(z, p * (1.0 - e2))
    for _ in range(20):
        n = WGS84_A / np.sqrt(1.0 - e2 * np.sin(lat) ** 2)
        h = p / np.cos(lat) - n
        lat = np.arctan2(z, p * (1.0 - e2 * n / (n + h)))
    n = WGS84_A / np.sqrt(1.0 - e2 * np.sin(lat) ** 2)
    return np.degrees(lat), np.degrees(np.arctan2(y, x)), p / np.cos(lat) - n


def _pm(disable=()):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return plugin_manager([PLUGIN], disable=disable)


def _run(text, path, disable=()):
    return run_scenario(text, pm=_pm(disable), store=path)


def _subpoint_at_epoch():
    r_eci = np.array([WGS84_A + 550e3, 0.0, 0.0])
    import datetime as dt
    m = ecef_to_eci_matrix(0.0, dt.datetime(2026, 3, 20, tzinfo=dt.timezone.utc))[0]
    return ecef_to_geodetic(r_eci @ m)


@pytest.fixture(scope="module")
def one_sat(tmp_path_factory):
    lat, lon, _h = _subpoint_at_epoch()
    text = HEAD + ONE + f"""
[latency]
[[latency.location]]
name = "overhead"
latitude_deg = {float(lat)!r}
longitude_deg = {float(lon)!r}
[[latency.location]]
name = "north"
latitude_deg = 60.0
longitude_deg = {float(lon)!r}
"""
    path = tmp_path_factory.mktemp("lat") / "one.zarr"
    _run(text, path)
    return path, text


def test_satellite_overhead_gives_2h_over_c_plus_delays(one_sat):
    path, _text = one_sat
    g = zarr.open_group(str(path), mode="r")
    lat = g["latency"]
    assert list(lat["user"][...]) == ["overhead", "north"]
    rtt = np.asarray(lat["latency.rtt_s"][...])
    assert rtt.shape == (7, 2)
    r0 = np.asarray(g["sat"]["orbit.r_eci_m"][0, 0])
    np.testing.assert_allclose(r0, [WGS84_A + 550e3, 0, 0], rtol=0, atol=1e-3)
    _lat, _lon, h = _subpoint_at_epoch()
    assert h == pytest.approx(550e3, rel=1e-3)  # geodetic height over the equator
    expected = 2 * h / lm.SPEED_OF_LIGHT_M_S + 2 * (lm.USER_TERMINAL_DELAY_S + lm.SATELLITE_SWITCH_DELAY_S)
    assert rtt[0, 0] == pytest.approx(expected, rel=1e-9)
    assert rtt[0, 0] == pytest.approx(5.87e-3, abs=0.01e-3)  # docs/latency.md's figure
    a = lat["latency.rtt_s"]
    assert a.metadata.dimension_names == ("time", "user")
    assert a.attrs["units"] == "s"
    assert np.array_equal(np.asarray(lat["time"][...]), np.asarray(g["sat"]["time"][...]))


def test_no_satellite_in_view_is_nan_and_no_service(one_sat):
    path, _text = one_sat
    lat = zarr.open_group(str(path), mode="r")["latency"]
    rtt = np.asarray(lat["latency.rtt_s"][...])
    assert np.isnan(rtt[:, 1]).all()  # 60 N never sees an equatorial satellite at 550 km
    share = np.asarray(lat["latency.user_service_share"][...])
    assert share[1] == 0.0
    assert share[0] == pytest.approx(np.mean(np.isfinite(rtt[:, 0])))
    np.testing.assert_array_equal(np.asarray(lat["latency.service_share"][...]), np.isfinite(rtt).mean(axis=1))
    assert np.asarray(lat["latency.service_share"][0]) == 0.5


def test_finish_store_again_gives_the_same_bytes(one_sat):
    """A resumed run calls finish_store again: it overwrites with the same values."""
    path, text = one_sat
    before = np.asarray(zarr.open_group(str(path), mode="r")["latency"]["latency.rtt_s"][...])
    pm = _pm()
    finish_store(parse(text, pm, path="<test scenario>"), pm, path)
    after = np.asarray(zarr.open_group(str(path), mode="r")["latency"]["latency.rtt_s"][...])
    np.testing.assert_array_equal(before, after)


@pytest.fixture(scope="module")
def walker(tmp_path_factory):
    text = HEAD + WALKER + "[latency]\ncompute = [0]\n"
    path = tmp_path_factory.mktemp("lat") / "walker.zarr"
    _run(text, path, disable=ONLY_LINKS)
    return path


def test_percentiles_and_summary_equal_numpy(walker):
    lat = zarr.open_group(str(walker), mode="r")["latency"]
    rtt = np.asarray(lat["latency.rtt_s"][...])
    assert rtt.shape == (7, 50)
    assert np.isfinite(rtt).any() and np.isnan(rtt).any()
    for q in (50, 90, 99):
        stored = np.asarray(lat[f"latency.rtt_p{q}_s"][...])
        for k, row in enumerate(rtt):
            row = row[np.isfinite(row)]
            want = np.percentile(row, q) if row.size else np.nan
            np.testing.assert_allclose(stored[k], want, rtol=1e-12, equal_nan=True)
    from orbitwin_plugins import latency
    rows = dict(latency.orbitwin_summary(zarr.open_group(str(walker), mode="r")))
    p = np.percentile(rtt[np.isfinite(rtt)], (50, 90, 99)) * 1e3
    assert rows["latency (round trip)"].startswith(" / ".join(f"{v:,.1f}" for v in p))
    assert rows["service"].startswith(f"{100 * np.isfinite(rtt).mean():.1f} %")
    assert "terrestrial comparison" in rows


def test_users_reach_satellite_zero_over_links(walker):
    g = zarr.open_group(str(walker), mode="r")
    rtt = np.asarray(g["latency"]["latency.rtt_s"][...])
    r = np.asarray(g["sat"]["orbit.r_eci_m"][...])
    rot = np.asarray(g["common"]["ground.ecef_to_eci"][...]) if "ground.ecef_to_eci" in g["common"] else None
    t_s = np.asarray(g["sat"]["time"][...]) / 1000.0
    import datetime as dt
    rot = ecef_to_eci_matrix(t_s, dt.datetime(2026, 3, 20, tzinfo=dt.timezone.utc)) if rot is None else rot
    s, up = lm.users_ecef(lm.LatencyConfig().specs())
    via_links = 0
    for k in range(len(t_s)):
        sat = lm.eci_to_ecef(r[k], rot[k])
        slant, sin_el = lm.look(s, up, sat)
        direct = lm.direct_rtt_s(slant, sin_el)
        sees_zero = lm.visible(sin_el)[:, 0]
        ok = np.isfinite(rtt[k])
        assert np.all(rtt[k][ok] >= direct[ok] - 1e-15)  # never faster than the nearest satellite
        far = ok & ~sees_zero
        via_links += int(far.sum())
        assert np.all(rtt[k][far] > direct[far])  # over links to satellite 0: longer than direct
        # a served user's RTT is at least the light time to satellite 0 and back
        assert np.all(rtt[k][ok] >= 2 * np.linalg.norm(sat[0] - s[ok], axis=1) / lm.SPEED_OF_LIGHT_M_S - 1e-12)
    assert via_links > 0


@pytest.mark.parametrize("extra", ["", "[ground]\nstations = [\"kiruna\", \"santiago\"]\n"])
@pytest.mark.parametrize("compute", ["[0]", "[3, 20]", "\"any\""])
def test_kernels_equal_the_numpy_reference_on_the_store(walker, compute, extra):
    """latency_of_store's kernels (the default) against its numpy reference, record by
    record, on the Walker store: over the links, through ground stations and direct."""
    from orbitwin_plugins import latency

    scenario = parse(HEAD + WALKER + f"[latency]\ncompute = {compute}\n" + extra, _pm(), path="<test scenario>")
    store = zarr.open_group(str(walker), mode="r")
    got = latency.latency_of_store(scenario, store)
    want = latency.latency_of_store(scenario, store, method="numpy")
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert np.isfinite(want).any()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    if compute == "[0]" and not extra:  # what the run stored is the kernels' result
        np.testing.assert_array_equal(np.asarray(store["latency"]["latency.rtt_s"][...]), got)


@pytest.mark.parametrize("table, key", [
    ("[latency]\n[[latency.location]]\nname = \"x\"\nlatitude_deg = 100.0\nlongitude_deg = 0.0\n",
     "latency.location[0].latitude_deg"),
    ("[latency]\ncompute = \"all\"\n", "latency.compute"),
    ("[latency]\ncompute = [0, -1]\n", "latency.compute[1]"),
])
def test_bad_latency_table_names_the_key(table, key):
    with pytest.raises(ScenarioError) as err:
        parse(HEAD + ONE + table, _pm(), path="<test scenario>")
    assert err.value.key == key


def test_compute_index_out_of_range_is_refused_before_the_store(tmp_path):
    path = tmp_path / "bad.zarr"
    with pytest.raises(ScenarioError) as err:
        _run(HEAD + ONE + "[latency]\nlocations = [\"tokyo\"]\ncompute = [1]\n", path)
    assert err.value.key == "latency.compute"
    assert "1 satellites" in str(err.value)
    assert not path.exists()


@pytest.mark.parametrize("output, key", [
    ("[output]\nvariables = [\"orbit.v_eci_m_s\"]\n", "output.variables"),
    ("[output]\nexclude = [\"orbit.r_eci_m\"]\n", "output.exclude"),
])
def test_positions_not_recorded_is_refused_before_the_run(tmp_path, output, key):
    path = tmp_path / "bad.zarr"
    with pytest.raises(ScenarioError) as err:
        _run(HEAD + ONE + "[latency]\nlocations = [\"tokyo\"]\n" + output, path)
    assert err.value.key == key
    assert "orbit.r_eci_m" in str(err.value)
    assert not path.exists()
