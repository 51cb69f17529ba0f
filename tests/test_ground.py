"""The ground plugin: Earth rotation against astropy's sidereal time and ITRS -> GCRS,
elevations and contact windows against astropy's AltAz (offline, IERS auto-download
off), the latitude-band index against a brute-force search (numpy and the taichi stage),
configuration errors through scenario parsing and `orbitwin validate`, the data
volume integrated only during contacts, and the inference output buffer (filling, the
downlink-limited cap, draining, discarding) against its numpy integration."""

from __future__ import annotations

import datetime as dt
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from orbitwin_plugins import ground
from orbitwin_plugins.constants import MU_EARTH_M3_S2, R_EARTH_M
from orbitwin_plugins.ground import (
    GroundConfig,
    StationSpec,
    StationTable,
    build_band_index,
    ecef_to_eci_matrix,
    gmst_rad,
    serve_indexed_numpy,
    serve_numpy,
)
from twin_core import ScenarioError, hookimpl
from twin_core.scenario import parse_scenario
from twin_core.testing import run_scenario

UTC = dt.timezone.utc
EPOCH = dt.datetime(2026, 3, 20, tzinfo=UTC)
SECTIONS = {"ground": (GroundConfig, "ground")}


def _parse(text: str):
    """A scenario parsed with every installed plugin's tables (the orbit's included)."""
    from twin_core.testing import plugin_manager

    return parse_scenario(text, "t.toml", plugin_manager().config_sections())
HEAD = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 3
step_s = 30
record_every_s = 30
"""
ORBIT = """
[[orbit.shell]]
kind = "walker_delta"
total = 6
planes = 2
altitude_km = 550
inclination = "sso"
ltan_h = 10.5

[[orbit.shell]]
kind = "walker_delta"
total = 2
planes = 2
altitude_km = 800
inclination = 53
"""
GROUND = """
[ground]
stations = ["svalbard", "kiruna", "izana-ogs", "troll", "mount-stromlo"]

[[ground.station]]
name = "My Site"
latitude_deg = 45.0
longitude_deg = 7.0
altitude_m = 300
min_elevation_deg = 10
terminal = "optical"
rate_bps = 1.0e9
clear_sky_fraction = 0.6
"""
SCENARIO = HEAD + ORBIT + GROUND
#: Elevation against astropy: ours leaves out nutation (the pole is off by up to ~10
#: arcsec, the station by up to ~0.3 km): 0.03 deg overhead at 550 km (seen: 0.030).
ELEVATION_TOL_DEG = 0.05


def _astropy():
    pytest.importorskip("astropy")
    from astropy.utils import iers

    iers.conf.auto_download = False
    import astropy.units as u
    from astropy.coordinates import GCRS, ITRS, AltAz, CartesianRepresentation, EarthLocation
    from astropy.time import Time

    return u, Time, GCRS, ITRS, AltAz, CartesianRepresentation, EarthLocation


def _times(epoch: dt.datetime, t_s: np.ndarray, dut1_s: float = 0.0):
    u, Time, *_ = _astropy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ERFA's "dubious year" for leap seconds after its table
        tt = Time(epoch) + np.asarray(t_s) * u.s
        tt.delta_ut1_utc = np.full(np.shape(t_s), dut1_s)  # UT1 without the IERS tables
    return tt


def _astropy_elevation_deg(r_eci: np.ndarray, t_s: np.ndarray, specs: list[StationSpec]) -> np.ndarray:
    """Elevation [deg] of positions ``(T, N, 3)`` (GCRS taken for orbitwin's J2000 ECI)
    from each station, ``(T, N, n)``: astropy's GCRS -> ITRS, then topocentric ITRS ->
    AltAz (geometric, no refraction), as astropy documents for nearby objects."""
    u, Time, GCRS, ITRS, AltAz, Cart, EarthLocation = _astropy()
    T, N, _ = r_eci.shape
    tt = _times(EPOCH, np.repeat(np.asarray(t_s)[:, None], N, axis=1).ravel())
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ERFA's "dubious year"; polar motion beyond the bundled table
        itrs = GCRS(Cart(r_eci.reshape(-1, 3).T * u.m), obstime=tt).transform_to(ITRS(obstime=tt))
        for s in specs:
            loc = EarthLocation.from_geodetic(s.longitude_deg * u.deg, s.latitude_deg * u.deg, s.altitude_m * u.m)
            topo = itrs.cartesian.without_differentials() - loc.get_itrs().cartesian
            aa = ITRS(topo, obstime=tt, location=loc).transform_to(AltAz(obstime=tt, location=loc))
            out.append(aa.alt.to_value(u.deg).reshape(T, N))
    return np.stack(out, axis=-1)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Eight satellites (two SSO planes, two at 53 deg), six stations, 3 h at 30 s,
    every step recorded, through the zarr store as `orbitwin run` writes it (the
    environment plugin left out: nothing here reads it)."""
    return run_scenario(SCENARIO, store=tmp_path_factory.mktemp("ground") / "run.zarr", disable=["environment"])


def _specs() -> list[StationSpec]:
    return _parse(SCENARIO).section("ground").specs()


# --------------------------------------------------------------------------------------
# Earth rotation
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("epoch,dut1_s", [(EPOCH, 0.0), (dt.datetime(2001, 7, 1, 3, tzinfo=UTC), 0.35),
                                          (dt.datetime(2049, 12, 31, 18, tzinfo=UTC), -0.6)])
def test_gmst_matches_astropy_iau1982(epoch, dut1_s):
    """GMST (IAU 1982, Vallado eq. 3-47) equals astropy's (ERFA ``gmst82``) to 1e-4
    arcsec over three days (seen: 2e-6, float64 rounding), UT1 = UTC + ut1_minus_utc_s
    in both."""
    u, *_ = _astropy()
    t_s = np.linspace(0.0, 3 * 86400.0, 97)
    tt = _times(epoch, t_s, dut1_s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = tt.sidereal_time("mean", "greenwich", model="IAU1982").to_value(u.rad)
    diff = np.angle(np.exp(1j * (ref - gmst_rad(t_s, epoch, dut1_s))))
    assert np.degrees(np.abs(diff)).max() * 3600 < 1e-4


def test_rotation_matches_astropy_itrs_to_gcrs():
    """The ECEF -> ECI matrix is a rotation, and carries the ITRS axes to where astropy's
    ITRS -> GCRS (IAU 2006/2000A, with nutation) puts them within 15 arcsec: nutation
    tilts the pole by up to ~10 arcsec (seen: 9.8) and we leave it out."""
    u, Time, GCRS, ITRS, AltAz, Cart, _ = _astropy()
    t_s = np.linspace(0.0, 2 * 86400.0, 9)
    m = ecef_to_eci_matrix(t_s, EPOCH)
    np.testing.assert_allclose(np.einsum("kij,kil->kjl", m, m), np.broadcast_to(np.eye(3), m.shape), atol=1e-14)
    np.testing.assert_allclose(np.linalg.det(m), 1.0, atol=1e-14)
    tt = _times(EPOCH, t_s)
    for k in range(len(t_s)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            axes = ITRS(Cart(np.eye(3) * R_EARTH_M * u.m), obstime=tt[k]).transform_to(GCRS(obstime=tt[k]))
        ref = axes.cartesian.xyz.to_value(u.m).T / R_EARTH_M  # row c: ITRS axis c in GCRS
        cos = np.clip(np.sum(ref * m[k].T, axis=1), -1.0, 1.0)
        assert np.degrees(np.arccos(cos)).max() * 3600 < 15.0


def test_rotation_series_is_recorded(run):
    """The common series the stage reads is `ecef_to_eci_matrix` at the record times."""
    m = ecef_to_eci_matrix(run.times_s, EPOCH).reshape(-1, 9)
    np.testing.assert_allclose(run.common["ground.ecef_to_eci"], m, rtol=0, atol=1e-15)


# --------------------------------------------------------------------------------------
# elevations and contacts against astropy
# --------------------------------------------------------------------------------------


def test_elevation_and_contacts_match_astropy(run):
    """Against astropy's AltAz of the recorded positions: the serving station's
    elevation within 0.05 deg; the serving station astropy's elevations imply (same
    rule: visible, highest rate x clear sky, then highest elevation) equal to ours except
    at steps next to a change of visibility in astropy's (a contact start or end within
    one step); and every satellite has contacts."""
    specs = _specs()
    table = StationTable.from_specs(specs)
    r = run.sat["orbit.r_eci_m"]
    els = _astropy_elevation_deg(r, run.times_s, specs)
    st, el = run.sat["ground.station"], run.sat["ground.elevation_deg"].astype(np.float64)
    served = st >= 0
    assert served.any(axis=0).all() and (~served).any()
    ref_el = np.take_along_axis(els, np.maximum(st, 0)[..., None], axis=-1)[..., 0]
    assert np.abs(el - ref_el)[served].max() < ELEVATION_TOL_DEG
    assert np.all(el[~served] == -90.0)

    visible = els >= table.min_elevation_deg
    score = np.where(visible, table.expected_rate_bps, -np.inf)
    tied = visible & (score == score.max(axis=-1, keepdims=True))
    pick = np.where(tied, els, -np.inf)
    ref_st = np.where(visible.any(axis=-1), np.argmax(pick, axis=-1), -1)
    flips = np.zeros(visible.shape[:2], bool)  # visibility changes between k-1 and k
    flips[1:] = (visible[1:] != visible[:-1]).any(axis=-1)
    near = flips | np.roll(flips, -1, axis=0)
    near[-1] |= flips[-1]
    wrong = st != ref_st
    assert not (wrong & ~near).any(), np.argwhere(wrong & ~near)[:5]
    assert wrong.sum() <= 0.02 * wrong.size
    # contact windows per satellite: the same number of starts, each within one step
    for i in range(r.shape[1]):
        ours = np.flatnonzero(np.diff(served[:, i].astype(int)) != 0)
        theirs = np.flatnonzero(np.diff((ref_st[:, i] >= 0).astype(int)) != 0)
        assert len(ours) == len(theirs) and np.abs(ours - theirs).max(initial=0) <= 1


# --------------------------------------------------------------------------------------
# the latitude-band index
# --------------------------------------------------------------------------------------


def _random_stations(rng, n: int) -> list[StationSpec]:
    lat = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n)))
    return [StationSpec(name=f"s{j}", latitude_deg=float(lat[j]), longitude_deg=float(rng.uniform(-180, 180)),
                        altitude_m=float(rng.uniform(-400, 5000)), min_elevation_deg=float(rng.uniform(0, 30)),
                        terminal="rf", rate_bps=float(rng.choice([1e8, 5e8, 2e9])),
                        clear_sky_fraction=float(rng.choice([1.0, 0.5])))
            for j in range(n)]


def test_band_index_equals_brute_force_numpy():
    """Over 300 random stations (masks 0-30 deg, heights -400 to 5,000 m) and 40,000
    positions from 150 km to GEO, with the bands sized for 1,200 km: the same serving
    station, elevation and rate as the search over every station; with bands sized for
    600 km, a satellite below that tests under half of the stations."""
    rng = np.random.default_rng(7)
    table = StationTable.from_specs(_random_stations(rng, 300))
    index = build_band_index(table, R_EARTH_M + 1.2e6)
    leo = build_band_index(table, R_EARTH_M + 6e5)
    assert index.n_bands >= 4 and len(index.reach_radii_m) >= 1
    seen = tested = 0.0
    for _chunk in range(8):
        m = 5000
        d = rng.normal(size=(m, 3))
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        alt = np.concatenate([rng.uniform(1.5e5, 2e6, m // 2), rng.uniform(2e6, 3.6e7, m - m // 2)])
        r = d * (R_EARTH_M + alt)[:, None]
        brute = serve_numpy(r, table)
        for fast in (serve_indexed_numpy(r, table, index), serve_indexed_numpy(r, table, leo)):
            for a, b in zip(fast, brute):
                np.testing.assert_array_equal(a, b)
        seen += (brute[0] >= 0).mean() / 8
        tested += leo.candidates(r[alt < 6e5], len(table)).mean() / 8
    assert seen > 0.3 and tested < 0.5


def test_band_index_sizes():
    """550 km and a 5 deg mask: a 19.1 deg half-angle, nine bands of 20 deg; a GEO
    constellation gets two bands of 90 deg."""
    table = StationTable.from_specs([StationSpec(name="a", latitude_deg=0.0, longitude_deg=0.0,
                                                 min_elevation_deg=5.0),
                                     StationSpec(name="b", latitude_deg=89.9, longitude_deg=0.0)])
    assert build_band_index(table, R_EARTH_M + 5.5e5).n_bands == 9
    assert build_band_index(table, R_EARTH_M + 3.5786e7).n_bands == 2


class Circles:
    """A stand-in for the orbit plugin: circular orbits of given radius, inclination,
    node and phase, and no orbital elements in the state, so the ground plugin sizes its
    bands for 2,000 km and the satellites above that widen their reach."""

    def __init__(self, a_m, inc_deg, raan_deg, u0_rad):
        self.p = {"a": np.asarray(a_m, float), "i": np.radians(inc_deg), "o": np.radians(raan_deg),
                  "u": np.asarray(u0_rad, float)}

    @hookimpl
    def orbitwin_satellites(self, scenario):
        from twin_core import SatelliteTable

        n = len(self.p["a"])
        return SatelliteTable(n, np.arange(n, dtype=np.int32), np.zeros(n, np.int32))

    @hookimpl
    def orbitwin_variables(self, scenario):
        from twin_core import Variable

        return [Variable(f"circ.{k}", "1", k, "parameter", record=False) for k in "aiou"] + [
            Variable("orbit.r_eci_m", "m", "position", "output", shape=(3,))]

    @hookimpl
    def orbitwin_initial_state(self, scenario, state):
        for k, v in self.p.items():
            state.set(f"circ.{k}", v)

    @hookimpl
    def orbitwin_stages(self, scenario, state):
        import taichi as ti

        from twin_core import Stage

        a_f, i_f, o_f, u_f = (state.field(f"circ.{k}") for k in "aiou")
        r_f = state.field("orbit.r_eci_m")
        mu = float(MU_EARTH_M3_S2)

        @ti.func
        def circles(i, k, t, dt):
            a = a_f[i]
            u = u_f[i] + ti.sqrt(mu / (a * a * a)) * t
            ci, si, co, so = ti.cos(i_f[i]), ti.sin(i_f[i]), ti.cos(o_f[i]), ti.sin(o_f[i])
            cu, su = ti.cos(u), ti.sin(u)
            r_f[i] = a * ti.Vector([co * cu - so * ci * su, so * cu + co * ci * su, si * su])

        return [Stage("circ.step", circles, writes=["orbit.r_eci_m"])]


def test_taichi_stage_equals_brute_force():
    """The fused-kernel stage over 24 random stations and 30 satellites from 300 km to
    8,000 km (beyond the 2,000 km the bands are sized for): the station equals the
    brute-force search on the recorded positions and rotation, the rate too, the
    elevation to float32 rounding, and the bits integrate the rate."""
    from twin_core.pluginmanager import make_plugin_manager

    rng = np.random.default_rng(3)
    specs = _random_stations(rng, 24)
    n = 30
    circles = Circles(R_EARTH_M + rng.uniform(3e5, 8e6, n), rng.uniform(0, 180, n), rng.uniform(0, 360, n),
                      rng.uniform(0, 2 * math.pi, n))
    tables = "".join(f"""
[[ground.station]]
name = "{s.name}"
latitude_deg = {s.latitude_deg!r}
longitude_deg = {s.longitude_deg!r}
altitude_m = {s.altitude_m!r}
min_elevation_deg = {s.min_elevation_deg!r}
rate_bps = {s.rate_bps!r}
clear_sky_fraction = {s.clear_sky_fraction!r}
""" for s in specs)
    text = HEAD.replace("duration_h = 3", "duration_h = 2").replace("step_s = 30", "step_s = 60").replace(
        "record_every_s = 30", "record_every_s = 60") + "[ground]\n" + tables
    pm = make_plugin_manager(entry_points=False)
    pm.register(ground, name="ground")
    pm.register(circles, name="circ")
    res = run_scenario(text, pm=pm)
    table = StationTable.from_specs(specs)
    m = res.common["ground.ecef_to_eci"].reshape(-1, 3, 3)
    r_ecef = np.einsum("tji,tnj->tni", m, res.sat["orbit.r_eci_m"])
    st, el, rate = serve_numpy(r_ecef, table)
    np.testing.assert_array_equal(res.sat["ground.station"], st)
    np.testing.assert_array_equal(res.sat["ground.downlink_bps"], rate)
    np.testing.assert_allclose(res.sat["ground.elevation_deg"], el, rtol=0, atol=2e-5)
    assert (st >= 0).mean() > 0.2 and (st < 0).any()
    index = build_band_index(table, R_EARTH_M + ground.DESIGN_ALTITUDE_M)
    assert (index.reach(np.linalg.norm(r_ecef, axis=-1)) > 1).any()  # wider reach exercised
    bits = res.sat["ground.downlinked_bits"]
    np.testing.assert_allclose(np.diff(bits, axis=0), rate[1:] * 60.0, rtol=1e-12)


# --------------------------------------------------------------------------------------
# the run: volume, metrics, summary
# --------------------------------------------------------------------------------------


def test_bits_grow_only_during_contacts(run):
    """``downlinked_bits`` starts at 0, grows by ``downlink_bps x dt`` (right-point rule)
    in each step whose end is in contact and stays flat otherwise; the rate is the
    serving station's rate x clear-sky share."""
    bits, rate, st = run.sat["ground.downlinked_bits"], run.sat["ground.downlink_bps"], run.sat["ground.station"]
    assert np.all(bits[0] == 0.0)
    step = np.diff(bits, axis=0)
    np.testing.assert_allclose(step, rate[1:] * 30.0, rtol=1e-12)
    assert np.all(step[st[1:] < 0] == 0.0) and np.all(step[st[1:] >= 0] > 0.0)
    expected = np.array([s.expected_rate_bps for s in _specs()])
    np.testing.assert_array_equal(rate, np.where(st >= 0, expected[np.maximum(st, 0)], 0.0))
    assert expected[-1] == 0.6e9 and expected[2] == pytest.approx(0.686e10, rel=1e-15)


def test_metrics_and_store_attributes(run):
    """The totals equal their definitions; the stations' shares add up to the share in
    contact, and share x satellites x rate up to the total rate; the store carries the
    units."""
    st, rate = run.sat["ground.station"], run.sat["ground.downlink_bps"]
    met = run.metrics_at_records
    np.testing.assert_allclose(met["ground.total_downlink_bps"], rate.sum(axis=1), rtol=1e-12)
    np.testing.assert_array_equal(met["ground.contact_fraction"], (st >= 0).mean(axis=1))
    shares = total = 0.0
    for j, s in enumerate(_specs()):
        share = met[f"ground.served_fraction_{ground.sanitize(s.name)}"]
        np.testing.assert_array_equal(share, (st == j).mean(axis=1))
        shares, total = shares + share, total + share * run.n_sats * s.expected_rate_bps
    np.testing.assert_allclose(shares, met["ground.contact_fraction"], rtol=1e-12)
    np.testing.assert_allclose(total, met["ground.total_downlink_bps"], rtol=1e-12)
    assert "ground.served_fraction_my_site" in met
    assert run.attrs["ground.downlink_bps"]["units"] == "bit s-1"
    assert run.attrs["ground.downlinked_bits"]["plugin"] == "ground"


def test_summary_rows(run):
    """`orbitwin info`'s rows: the volume per day, the time in contact, and each
    station's share and volume, in station order."""
    import zarr

    rows = ground.orbitwin_summary(zarr.open_group(str(run.store), mode="r"))
    labels = [label for label, _ in rows]
    assert labels == ["ground downlink", "time in ground contact"] + [
        f"station {ground.sanitize(s.name)}" for s in _specs()]
    rows = dict(rows)
    volume = run.metrics["ground.total_downlink_bps"].mean() * 86400 / 8 / 1e12
    assert rows["ground downlink"].startswith(f"{volume:.3f} TB/day")
    assert rows["time in ground contact"].startswith(f"{100 * run.metrics['ground.contact_fraction'].mean():.2f} %")
    share = run.metrics["ground.served_fraction_my_site"].mean()
    assert rows["station my_site"] == (f"{100 * share:.2f} % of satellite-time, "
                                       f"{share * run.n_sats * 0.6e9 * 86400 / 8 / 1e12:.3f} TB/day")


def test_inactive_without_table():
    from twin_core.testing import plugin_manager

    sc = _parse(HEAD + ORBIT)
    assert ground.orbitwin_variables(sc) is None and ground.orbitwin_metrics(sc) is None
    assert ground.orbitwin_common_series(sc) is None and ground.orbitwin_stages(sc, None) is None
    assert "ground" in plugin_manager().config_sections()


# --------------------------------------------------------------------------------------
# configuration errors
# --------------------------------------------------------------------------------------

CUSTOM = '[ground]\n[[ground.station]]\nname = "x"\nlatitude_deg = 45.0\nlongitude_deg = 7.0\n'


@pytest.mark.parametrize("body,key,needle", [
    (CUSTOM.replace("45.0", "120.0"), "ground.station[0].latitude_deg", "in [-90, 90]"),
    (CUSTOM + "min_elevation_deg = 95\n", "ground.station[0].min_elevation_deg", "in [0, 90)"),
    (CUSTOM + 'terminal = "optical"\n', "ground.station[0].clear_sky_fraction", "optical terminal"),
    (CUSTOM + 'terminal = "laser"\n', "ground.station[0].terminal", "'rf', 'optical'"),
    (CUSTOM + "rate_bps = 0\n", "ground.station[0].rate_bps", "> 0"),
    (CUSTOM + "clear_sky_fraction = 1.5\n", "ground.station[0].clear_sky_fraction", "[0, 1]"),
    (CUSTOM + "latitude = 3\n", "ground.station[0].latitude", "did you mean 'latitude_deg'"),
    ('[ground]\nstations = ["svalbard", "izana_ogs"]\n', "ground.stations[1]", "did you mean 'izana-ogs'"),
    ('[ground]\nstations = ["svalbard"]\n' + CUSTOM.replace("[ground]\n", "").replace('"x"', '"SvalBard"'),
     "ground.station[0].name", "not used by another station"),
    ("[ground]\nut1_minus_utc_s = 100\n", "ground.ut1_minus_utc_s", "[-60, 60]"),
    ("[ground]\ninference_output_bps = -1.0\n", "ground.inference_output_bps", ">= 0"),
    ("[ground]\nbuffer_bits = 0\n", "ground.buffer_bits", "> 0"),
])
def test_config_errors_name_the_key(body, key, needle):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(HEAD + body, "t.toml", SECTIONS)
    assert info.value.key == key, str(info.value)
    assert needle in str(info.value) and "t.toml" in str(info.value)


def test_defaults_by_terminal():
    sc = parse_scenario(HEAD + CUSTOM + '\n[[ground.station]]\nname = "y"\nlatitude_deg = 0\nlongitude_deg = 0\n'
                        'terminal = "optical"\nclear_sky_fraction = 0.5\n', "t.toml", SECTIONS)
    rf, opt = sc.section("ground").specs()
    assert (rf.rate, rf.elevation_mask_deg, rf.availability) == (ground.RF_RATE_BPS, 5.0, 1.0)
    assert (opt.rate, opt.elevation_mask_deg, opt.expected_rate_bps) == (1e10, 15.0, 5e9)


def test_bundled_file_cites_every_station():
    known = ground.bundled_stations()
    assert 10 <= len(known) <= 15
    for s in known.values():
        assert len(s.source) > 40 and (s.terminal == "rf") == (s.clear_sky_fraction == 1.0)
        assert s.name == ground.sanitize(s.name).replace("_", "-")


def _orbitwin(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return subprocess.run([sys.executable, "-P", "-m", "twin_core", "validate", str(path)], capture_output=True,
                          text=True, timeout=300, env=dict(os.environ))


def test_cli_validate_names_the_key(tmp_path):
    """`orbitwin validate`: exit status 2, one line naming the file and the key."""
    bad = SCENARIO.replace("latitude_deg = 45.0", "latitude_deg = 120.0")
    out = _orbitwin(tmp_path, bad)
    assert out.returncode == 2, out.stderr
    assert "key 'ground.station[0].latitude_deg': bad value: got 120.0; expected in [-90, 90]" in out.stderr
    assert "Traceback" not in out.stderr
    out = _orbitwin(tmp_path, HEAD + ORBIT + "[ground]\n")
    assert out.returncode == 2 and "key 'ground': no ground station" in out.stderr, out.stderr


# --------------------------------------------------------------------------------------
# the inference output buffer
# --------------------------------------------------------------------------------------

#: Two satellites at 20 deg inclination (latitudes within 20 + 19 deg of visibility) and
#: one station at 80 deg north: never in contact. One accelerator, 60 s steps.
NO_CONTACT = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 0.25
step_s = 60
record_every_s = 60

[[orbit.shell]]
kind = "walker_delta"
total = 2
planes = 2
altitude_km = 550
inclination = 20

[ground]
inference_output_bps = 1.0e9
buffer_bits = 3.3e11
[[ground.station]]
name = "north"
latitude_deg = 80.0
longitude_deg = 0.0

[payload]
count = 1
workload = "{workload}"
"""
PAYLOAD_INFERENCE = '\n[payload]\ncount = 1\nworkload = "inference"\n'


def _reason_code(res, label: str) -> int:
    return {v: k for k, v in res.layout.plan.variable("payload.loss_reason").flags.items()}[label]


def _produced_bits(res, out_bps: float, dt: float) -> np.ndarray:
    """Output produced over each step after the first (the previous step's state, full
    inference throughput = 1)."""
    f_inf = ground.inference_flops(res.layout.plan.scenario.section("payload"))
    st, fl = res.sat["payload.state"][:-1], res.sat["payload.flops"][:-1].astype(np.float64)
    return out_bps * dt * np.where(st <= 2, np.clip(fl / f_inf, 0.0, 1.0), 0.0)


def test_full_buffer_stops_inference_as_downlink_limited():
    """No station in view: the buffer grows by one step's output a step (the previous
    step's inference) until less than one step's output is free, then the payload idles
    with loss reason downlink-limited, at the step buffer_bits / inference_output_bps
    predicts (the first step k with k r dt >= buffer_bits - r dt); nothing is dropped or
    delivered, and the metrics count the buffered bits and the full buffers."""
    res = run_scenario(NO_CONTACT.format(workload="inference"), disable=["environment"])
    r, cap, dt = 1.0e9, 3.3e11, 60.0
    st, why, buf = res.sat["payload.state"], res.sat["payload.loss_reason"], res.sat["ground.buffer_bits"]
    k_pred = math.ceil(cap / (r * dt)) - 1  # 5.5 steps of output fill it: idle from step 5
    t_fill = cap / r
    idle = st == 1
    first = np.argmax(idle, axis=0)
    assert np.all(first == k_pred) and np.all(np.abs(res.times_s[first] - t_fill) <= 2 * dt)
    assert np.all(st[:k_pred] == 2) and np.all(idle[k_pred:])
    assert np.all(why[k_pred:] == _reason_code(res, "downlink-limited")) and np.all(why[:k_pred] == 0)
    np.testing.assert_allclose(buf[: k_pred + 1], np.arange(k_pred + 1)[:, None] * r * dt * np.ones((1, 2)),
                               rtol=1e-6)
    assert np.all(buf[k_pred:] == buf[k_pred]) and buf.max() <= cap
    assert np.all(res.final["ground.dropped_bits"] == 0) and np.all(res.final["ground.delivered_bits"] == 0)
    met = res.metrics_at_records
    np.testing.assert_allclose(met["ground.buffered_bits"], buf.sum(axis=1), rtol=1e-12)
    np.testing.assert_array_equal(met["ground.buffer_full_fraction"], (buf >= cap - r * dt).mean(axis=1))
    assert np.all(met["constellation.downlink_limited_fraction"][k_pred:] == 1.0)


def test_buffer_drains_at_the_downlink_rate():
    """Eight satellites and six stations over 2 h, 200 Mbit/s of output into a 200 Gbit
    buffer: the recorded buffer equals its numpy integration from the recorded payload
    states, flops and downlink rates; in contact with more stored than the link carries
    in a step, it falls by exactly downlink_bps x dt less the output; the cap binds
    exactly when less than one step's output is free; nothing is dropped, and output =
    delivered + stored."""
    out, cap, dt = 2.0e8, 2.0e11, 30.0
    text = (SCENARIO.replace("duration_h = 3", "duration_h = 2").replace(
        "[ground]\n", f"[ground]\ninference_output_bps = {out!r}\nbuffer_bits = {cap!r}\n") + PAYLOAD_INFERENCE)
    res = run_scenario(text, disable=["environment"])
    buf, rate = res.sat["ground.buffer_bits"], res.sat["ground.downlink_bps"]
    f_inf = ground.inference_flops(res.layout.plan.scenario.section("payload"))
    ref_b, ref_del, ref_drop = ground.buffer_numpy(out, cap, f_inf, res.sat["payload.state"][:-1],
                                                   res.sat["payload.flops"][:-1], rate[1:], dt)
    np.testing.assert_allclose(buf[1:], ref_b, rtol=1e-12, atol=1e-3)
    np.testing.assert_allclose(res.sat["ground.delivered_bits"][1:], ref_del, rtol=1e-12, atol=1e-3)
    np.testing.assert_array_equal(res.sat["ground.dropped_bits"], 0.0)
    produced = _produced_bits(res, out, dt)
    draining = (rate[1:] > 0) & (buf[:-1] + produced > rate[1:] * dt)
    assert draining.sum() > 20
    np.testing.assert_allclose((buf[1:] - buf[:-1])[draining], (produced - rate[1:] * dt)[draining], rtol=1e-9)
    limited = res.sat["payload.loss_reason"] == _reason_code(res, "downlink-limited")
    full = buf >= ground.full_threshold_bits(res.layout.plan.scenario.section("ground"), dt)
    assert full.any() and (~full).any()
    np.testing.assert_array_equal(limited, full)
    np.testing.assert_allclose(produced.sum(axis=0), res.final["ground.delivered_bits"] + buf[-1], rtol=1e-9)


class _InferenceCap:
    """A stand-in policy: the payload never runs above inference."""

    @hookimpl
    def orbitwin_variables(self, scenario):
        from twin_core import Variable

        return [Variable("stub.cap", "1", "inference at most", "parameter", dtype="i8", record=False)]

    @hookimpl
    def orbitwin_initial_state(self, scenario, state):
        state.set("stub.cap", np.full(state.n_total, 2, dtype=np.int8))

    @hookimpl
    def orbitwin_contributions(self, scenario):
        from twin_core import Contribution

        return [Contribution("payload.requested_state", "stub.cap", reason="stub")]


def test_training_workload_is_not_capped_and_discards_output():
    """Workload training: no downlink-limited cap (a cap cannot forbid inference and keep
    training). With another limit holding the payload at inference, the buffer fills
    to buffer_bits and what does not fit is counted as dropped, one step's output a
    step; training (state 3) produces nothing (numpy reference)."""
    from twin_core.testing import plugin_manager

    pm = plugin_manager(disable=["environment"])
    pm.register(_InferenceCap(), name="stub")
    res = run_scenario(NO_CONTACT.format(workload="training"), pm=pm)
    r, cap, dt = 1.0e9, 3.3e11, 60.0
    assert "downlink-limited" not in res.layout.plan.variable("payload.loss_reason").flags.values()
    assert np.all(res.sat["payload.state"] == 2)
    buf, drop = res.sat["ground.buffer_bits"], res.sat["ground.dropped_bits"]
    ref_b, _d, ref_drop = ground.buffer_numpy(r, cap, ground.inference_flops(res.layout.plan.scenario.section(
        "payload")), res.sat["payload.state"][:-1], res.sat["payload.flops"][:-1], np.zeros(buf[1:].shape), dt)
    np.testing.assert_allclose(buf[1:], ref_b, rtol=1e-12)
    np.testing.assert_allclose(drop[1:], ref_drop, rtol=1e-12)
    assert np.all(buf[6:] == cap) and drop[-1].min() > 8 * r * dt * 0.99
    assert np.all(ref_drop[:5] == 0)
    b, _d, dropped = ground.buffer_numpy(r, cap, 1.0, np.full((3, 1), 3), np.ones((3, 1)), np.zeros((3, 1)), dt)
    assert np.all(b == 0) and np.all(dropped == 0)


def test_buffer_off_by_default_and_needs_a_payload():
    """Without inference_output_bps the plugin declares, contributes and measures
    nothing new; with it and no [payload] the key is named."""
    sc = _parse(SCENARIO + PAYLOAD_INFERENCE)
    names = {v.name for v in ground.orbitwin_variables(sc)}
    assert "ground.buffer_bits" not in names and "ground.payload_cap" not in names
    assert ground.orbitwin_contributions(sc) is None
    assert "ground.buffered_bits" not in {m.name for m in ground.orbitwin_metrics(sc)}
    assert sc.section("ground").buffer_bits == ground.BUFFER_BITS == 8e12
    on = SCENARIO.replace("[ground]\n", "[ground]\ninference_output_bps = 1e6\n")
    assert ground.orbitwin_contributions(_parse(on + PAYLOAD_INFERENCE))[0].reason == "downlink-limited"
    assert ground.orbitwin_contributions(_parse(on + PAYLOAD_INFERENCE.replace("inference", "training"))) is None
    with pytest.raises(ScenarioError) as info:
        ground.orbitwin_variables(_parse(on))
    assert info.value.key == "ground.inference_output_bps"


def test_existing_run_has_no_buffer(run):
    assert "ground.buffer_bits" not in run.sat and "ground.buffered_bits" not in run.metrics
