"""The J2 propagator about the pole of date (`orbitwin_plugins.orbit_frames`): the
improvement against SGP4, the element rotation, the frame matrix, and the choice of a
fixed pole per run against an integration of the averaged J2 torque about the moving
pole.

Against SGP4 (no drag; TEME of date -> ECI with `frames.teme_to_eci`), epoch 2026-03-20,
7 days, at the two nodes where the J2000 and 2026 equators differ most in inclination
(RAAN 90 and 270 deg). Node rate fitted to the orbit normal's node over the 7 days,
error relative to SGP4's; along-track drift = orbit-mean difference in the last orbit
less that in the first. "floor": our J2 model against SGP4 in SGP4's own frame (both
about TEME's z axis, as tests/test_orbit.py compares), i.e. the J2^2 and J4 secular
terms a first-order model lacks. Seen (``pytest -s`` prints the table)::

    node-rate error [%]           J2000 pole       mean pole        true pole    floor
    ISS-like 51.6 deg, 420 km     +0.189, -0.076   +0.057, +0.054   +0.055       +0.055
    Starlink 53 deg, 550 km       +0.188, -0.125   +0.032, +0.029   +0.030       +0.029
    SSO 98.2 deg, 700 km          +2.046, -1.448   +0.308, +0.292   +0.300       +0.297
    near-polar 86.4 deg, 780 km   +3.768, -4.359   -0.277, -0.316   -0.297       -0.305

    along-track drift [km/week]   J2000 pole       mean pole        true pole    floor
    ISS-like                      -43.4, +55.8     +5.9, +6.4       +6.17        +6.15
    Starlink                      -40.6, +52.6     +5.7, +6.2       +5.98        +5.96
    SSO                           +4.8, -20.9      -8.1, -8.2       -8.17        -8.16
    near-polar                    -14.6, -3.5      -9.17, -9.11     -9.14        -9.14

Less the floor, the J2000 pole's node-rate error is theta_A |tan i - cot i| (0.13, 0.16,
1.75 and 4.1 %; the issue's "0.2-7 %" is this, 7 % near 88 deg) and its along-track
error 47-50, 47, 13 and 6 km per week; the true pole of the epoch leaves 0.008 % and
0.02 km per week, the mean pole 0.03 % and 0.3 km per week (the 9" of nutation in 2026).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from orbitwin_plugins import constellations as cons
from orbitwin_plugins import frames, orbit, orbit_frames
from orbitwin_plugins.constants import J2_EARTH, MU_EARTH_M3_S2, R_EARTH_M, SUN_MEAN_MOTION_RAD_S

DAY_S = 86400.0
YEAR_S = 365.25 * DAY_S
EPOCH = dt.datetime(2026, 3, 20, tzinfo=dt.timezone.utc)


def _elements(a_m, e, inc_deg, raan_deg, argp_deg=90.0, m_deg=10.0) -> cons.Elements:
    return cons.Elements(*(np.atleast_1d(np.asarray(x, dtype=np.float64)) for x in (
        a_m, e, np.radians(inc_deg), np.radians(raan_deg), np.radians(argp_deg), np.radians(m_deg))),
        plane=np.zeros(np.size(a_m), np.int32))


# -- element rotation and the frame matrix -----------------------------------------------


def test_frame_matrices():
    """j2000: identity; mean: the precession matrix of the epoch; true: with nutation.
    Their z rows are the poles of date."""
    np.testing.assert_array_equal(orbit_frames.j2_frame_matrix(EPOCH, "j2000"), np.eye(3))
    for pole, nut in (("mean", False), ("true", True)):
        m = orbit_frames.j2_frame_matrix(EPOCH, pole)
        np.testing.assert_allclose(m @ m.T, np.eye(3), atol=1e-15)
        np.testing.assert_allclose(m[2], frames.pole_of_date(0.0, EPOCH, nutation=nut), atol=1e-16)
    with pytest.raises(ValueError, match="pole"):
        orbit_frames.j2_frame_matrix(EPOCH, "of date")


@pytest.mark.parametrize("pole", ["mean", "true"])
def test_same_position_at_the_epoch_and_v_is_dr_dt(pole):
    """Turning the elements into F and the output back leaves the epoch's position as
    today's (to 1 um), whatever the orbit: inclined, eccentric, equatorial prograde and
    retrograde; the elements' round trip through m and m^T gives the same orbit (inclination to 1e-12
    rad, positions over a day to 1 um; equatorial orbits put the node into omega); the
    output velocity is the central difference of the position (1e-5 m/s)."""
    el = _elements([R_EARTH_M + 550e3, 8.0e6, 7.2e6, 7.3e6], [1e-3, 0.1, 0.0, 0.02], [53.0, 63.4, 0.0, 180.0],
                   [10.0, 200.0, 30.0, 300.0], [90.0, 270.0, 40.0, 12.0], [10.0, 359.0, 5.0, 77.0])
    r0, _ = orbit.propagate_numpy(orbit.mean_parameters(el), 0.0)
    r, _ = orbit_frames.propagate_numpy_pole_of_date(el, 0.0, EPOCH, pole=pole)
    assert np.abs(r - r0).max() < 1e-6
    m = orbit_frames.j2_frame_matrix(EPOCH, pole)
    back = orbit_frames.elements_to_frame(orbit_frames.elements_to_frame(el, m), m.T)
    np.testing.assert_allclose(back.inclination_rad, el.inclination_rad, atol=1e-12)
    np.testing.assert_allclose(np.cos(back.raan_rad[:2] - el.raan_rad[:2]), 1.0, atol=1e-12)
    tt = np.array([0.0, DAY_S])
    np.testing.assert_allclose(orbit.propagate_numpy(orbit.mean_parameters(back), tt)[0],
                               orbit.propagate_numpy(orbit.mean_parameters(el), tt)[0], atol=1e-6)
    t = np.array([100.0, 3 * DAY_S])
    h = 0.01
    _, v = orbit_frames.propagate_numpy_pole_of_date(el, t, EPOCH, pole=pole)
    fd = (orbit_frames.propagate_numpy_pole_of_date(el, t + h, EPOCH, pole=pole)[0]
          - orbit_frames.propagate_numpy_pole_of_date(el, t - h, EPOCH, pole=pole)[0]) / (2 * h)
    assert np.abs(v - fd).max() < 1e-5
    # tracking the pole: the same at the epoch, within the pole's motion later (~7 m in 3 days)
    r_fixed, _ = orbit_frames.propagate_numpy_pole_of_date(el, np.array([0.0, 3 * DAY_S]), EPOCH, pole=pole)
    r_track, _ = orbit_frames.propagate_numpy_pole_of_date(el, np.array([0.0, 3 * DAY_S]), EPOCH, pole=pole,
                                                           track_pole=True)
    assert r_track.shape == r_fixed.shape == (2, 4, 3)
    assert np.abs(r_track[0] - r_fixed[0]).max() < 1e-9
    assert 0.0 < np.abs(r_track[1] - r_fixed[1]).max() < 10.0
    assert orbit_frames.propagate_numpy_pole_of_date(el, 0.0, EPOCH, pole=pole, track_pole=True)[0].shape == (4, 3)


def test_j2000_pole_is_todays_model():
    el = _elements([R_EARTH_M + 550e3, 7.5e6], [1e-3, 0.05], [53.0, 97.0], [10.0, 250.0])
    t = np.linspace(0.0, 5 * DAY_S, 7)
    ref = orbit.propagate_numpy(orbit.mean_parameters(el), t)
    got = orbit_frames.propagate_numpy_pole_of_date(el, t, EPOCH, pole="j2000")
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])


def test_sun_synchronous_shell_needs_elements_of_date():
    """A sun-synchronous inclination is one relative to the Earth's axis: given relative to
    the equator of date (``given_in="of_date"``) the node follows the mean Sun exactly;
    taken relative to the J2000 equator and turned into F, the node rate is off by up to
    tan(i) x 0.145 deg = 1.8 % at 700 km (2026), 6.4 deg of LTAN drift a year."""
    a = R_EARTH_M + 700e3
    inc = cons.sun_synchronous_inclination_deg(700.0)
    m = orbit_frames.j2_frame_matrix(EPOCH, "mean")
    worst = 0.0
    for raan in (0.0, 90.0, 180.0, 270.0):
        el = _elements(a, 0.0, inc, raan)
        of_date = orbit.mean_parameters(el)["orbit.raan_rate_rad_s"][0]  # elements relative to F as given
        turned = orbit.mean_parameters(orbit_frames.elements_to_frame(el, m))["orbit.raan_rate_rad_s"][0]
        assert of_date == pytest.approx(SUN_MEAN_MOTION_RAD_S, rel=1e-12)
        worst = max(worst, abs(turned / SUN_MEAN_MOTION_RAD_S - 1.0))
    theta = frames.precession_angles_iau1976(frames.centuries(0.0, EPOCH))[1]
    assert worst == pytest.approx(theta * abs(np.tan(np.radians(inc))), rel=0.05)  # 1.77 % at 98.2 deg


# -- against SGP4 ------------------------------------------------------------------------


def _sgp4_case(epoch: dt.datetime, inc_deg: float, raan_deg: float, alt_km: float, e: float = 1e-3):
    """An SGP4 satellite without drag and our mean elements of the same orbit, in TEME of
    the epoch: the conversion of tests/test_orbit.py (Brouwer mean motion; J3's
    long-period terms folded into the eccentricity vector and the mean argument of
    latitude at the epoch)."""
    from sgp4.api import WGS84, Satrec

    sat = Satrec()
    xke = 60.0 / np.sqrt(6378.137**3 / 398600.5)
    no_kozai = xke * ((6378.137 + alt_km) / 6378.137) ** -1.5
    days_1950 = (epoch - dt.datetime(1949, 12, 31, tzinfo=dt.timezone.utc)).total_seconds() / DAY_S
    sat.sgp4init(WGS84, "i", 1, days_1950, 0.0, 0.0, 0.0, e, np.radians(90.0), np.radians(inc_deg),
                 np.radians(10.0), no_kozai, np.radians(raan_deg))
    n_brouwer = sat.xke * sat.a**-1.5 / 60.0
    a_m = (MU_EARTH_M3_S2 / n_brouwer**2) ** (1.0 / 3.0)
    ci, si = np.cos(sat.inclo), np.sin(sat.inclo)
    p_er = sat.a * (1.0 - e * e)
    ex = e * np.cos(sat.argpo)
    ey = e * np.sin(sat.argpo) - 0.5 * sat.j3oj2 * si / p_er
    u0 = sat.mo + sat.argpo - 0.25 * sat.j3oj2 * si * (3.0 + 5.0 * ci) / (1.0 + ci) * ex / p_er
    w0 = np.arctan2(ey, ex)
    el = _elements(a_m, np.hypot(ex, ey), np.degrees(sat.inclo), np.degrees(sat.nodeo), np.degrees(w0),
                   np.degrees(u0 - w0))
    return sat, el


def _node(r, v):
    h = np.cross(r, v)
    return np.unwrap(np.arctan2(h[:, 0], -h[:, 1]))


def _rtn_mean(r, rs, vs):
    rad = rs / np.linalg.norm(rs, axis=1)[:, None]
    nrm = np.cross(rs, vs)
    nrm /= np.linalg.norm(nrm, axis=1)[:, None]
    d = r - rs
    return np.array([np.mean(np.sum(d * x, axis=1)) for x in (rad, np.cross(nrm, rad), nrm)])


def _compare(r, v, rs, vs, t, n_orbit):
    """(node-rate error [%] fitted over 1 day, the same over 7 days, along-track and
    cross-track drift [km] from the first to the last orbit of the 7 days)."""
    out = []
    for days in (1, 7):
        sel = t <= days * DAY_S
        ref = np.polyfit(t[sel], _node(rs, vs)[sel], 1)[0]
        got = np.polyfit(t[sel], _node(r, v)[sel], 1)[0]
        out.append(100.0 * (got - ref) / abs(ref))
    drift = _rtn_mean(r[-n_orbit:], rs[-n_orbit:], vs[-n_orbit:]) - _rtn_mean(r[:n_orbit], rs[:n_orbit], vs[:n_orbit])
    return out[0], out[1], drift[1] / 1e3, drift[2] / 1e3


SSO_700 = cons.sun_synchronous_inclination_deg(700.0)
CASES = {"iss": (51.6, 420.0), "starlink": (53.0, 550.0), "sso": (SSO_700, 700.0), "polar": (86.4, 780.0)}


def _measure(name: str, raan_deg: float):
    inc, alt = CASES[name]
    sat, el_teme = _sgp4_case(EPOCH, inc, raan_deg, alt)
    t = np.arange(0.0, 7 * DAY_S + 1.0, 60.0)
    err, rs_teme, vs_teme = sat.sgp4_array(np.full(t.size, sat.jdsatepoch), sat.jdsatepochF + t / DAY_S)
    assert not err.any()
    rs_teme, vs_teme = rs_teme * 1e3, vs_teme * 1e3
    rs, vs = frames.teme_to_eci(rs_teme, vs_teme, t, EPOCH)  # TEME of date -> ECI
    el = orbit_frames.elements_to_frame(el_teme, frames.teme_to_eci_matrix(0.0, EPOCH))  # the epoch's elements in ECI
    period = 2 * np.pi / orbit.mean_parameters(el)["orbit.mean_anomaly_rate_rad_s"][0]
    n_orbit = int(round(period / 60.0))
    out = {}
    for pole in orbit_frames.POLES:
        r, v = orbit_frames.propagate_numpy_pole_of_date(el, t, EPOCH, pole=pole)
        out[pole] = _compare(r[:, 0], v[:, 0], rs, vs, t, n_orbit)
    r, v = orbit.propagate_numpy(orbit.mean_parameters(el_teme), t)  # both in SGP4's own frame
    out["floor"] = _compare(r[:, 0], v[:, 0], rs_teme, vs_teme, t, n_orbit)
    return out


def _predicted_node_error(inc_deg: float) -> float:
    """The J2000-pole model's node-rate error at RAAN 90 or 270 deg [%, magnitude]: with the
    pole of date tilted by theta_A towards RA 0, the physical inclination is i -+ theta_A
    and the node seen about the J2000 axis moves at (1 +- theta_A (tan i - cot i)) times
    the model's rate."""
    theta = frames.precession_angles_iau1976(frames.centuries(0.0, EPOCH))[1]
    i = np.radians(inc_deg)
    return 100.0 * theta * abs(np.tan(i) - 1.0 / np.tan(i))


@pytest.mark.parametrize("raan_deg", [90.0, 270.0])
@pytest.mark.parametrize("name", list(CASES))
def test_sgp4_improvement(name, raan_deg):
    """The pole of date removes the frame error against SGP4 (numbers in the module
    docstring). With the J2000 pole the node-rate error less the floor is the predicted
    theta_A |tan i - cot i| (to 12 %, fitted over 1 day) and the along-track drift less
    the floor exceeds 4 km in a week; with the true pole of the epoch both are the
    floor's to 0.015 % and 0.1 km (SGP4's own axis), with the mean pole to 0.05 % and
    1 km."""
    res = _measure(name, raan_deg)
    print(f"\n{name:9s} RAAN {raan_deg:5.1f}: node-rate error 1 d / 7 d [%], along-track, cross-track drift over "
          "7 d [km]: " + "; ".join(f"{k} {res[k][0]:+.3f} / {res[k][1]:+.3f}, {res[k][2]:+.2f}, {res[k][3]:+.3f}"
                                   for k in ("j2000", "mean", "true", "floor")))
    floor = res["floor"]
    assert abs(floor[1]) < 0.4  # J2^2, J4: 0.03 % (53 deg) to 0.31 % (near-polar)
    before = abs(res["j2000"][0] - floor[0])
    assert before == pytest.approx(_predicted_node_error(CASES[name][0]), rel=0.12)
    assert abs(res["j2000"][2] - floor[2]) > 4.0
    for k in ("true", "mean"):
        tol_rate, tol_km = (0.015, 0.1) if k == "true" else (0.05, 1.0)
        assert abs(res[k][0] - floor[0]) < tol_rate, k
        assert abs(res[k][1] - floor[1]) < tol_rate, k
        assert abs(res[k][2] - floor[2]) < tol_km, k
        assert abs(res[k][3] - floor[3]) < 0.05, k


# -- a fixed pole per run against the moving pole ------------------------------------------


def test_fixed_pole_of_the_epoch_against_the_moving_pole():
    """The orbit normal under the averaged J2 torque about the moving mean pole of date,
    dh/dt = w (h.k(t)) k(t) x h (w = -1.5 n J2 (R/p)^2; RK4, 6 h steps), against the
    model's node turning at w cos i about the epoch's pole held fixed, for 53 deg
    (550 km), sun-synchronous (550 km) and 86.4 deg (780 km) orbits, as angles x 7,000 km.

    The fixed pole is off by about the angle the pole has moved (9.72e-5 rad/yr) plus the
    response of a slowly turning node to the pole's motion (oscillating with the node's
    period). Seen: 2-6 m after a week, 0.07-0.10 km after a month, up to 1.7 km within
    two years at 53 deg and SSO, 7.7 km after a year at 86.4 deg (node period 2 years).
    Tracking the pole (`pole_drift_matrix`) helps only after a node period (< 0.1 km
    after 1 and 2 years at 53 deg and SSO; 14 m after a week, worse than fixed). The
    J2000 pole is off by 5-16 km after a week and 540-830 km after a year."""
    epoch = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    inc = np.radians([53.0, cons.sun_synchronous_inclination_deg(550.0), 86.4])
    raan = np.radians([90.0, 270.0, 90.0])
    a = R_EARTH_M + np.array([550e3, 550e3, 780e3])
    w = -1.5 * np.sqrt(MU_EARTH_M3_S2 / a**3) * J2_EARTH * (R_EARTH_M / a) ** 2
    m = orbit_frames.j2_frame_matrix(epoch, "mean")
    h_f0 = np.stack([np.sin(inc) * np.sin(raan), -np.sin(inc) * np.cos(raan), np.cos(inc)], axis=1)  # in F
    h0 = h_f0 @ m  # ECI
    step = 6 * 3600.0
    n = int(round(2 * YEAR_S / step))
    k = frames.pole_of_date(np.arange(2 * n + 1) * step / 2, epoch)

    def f(h, kk):
        return (w * (h @ kk))[:, None] * np.cross(kk[None, :], h)

    h, out = h0.copy(), [h0]
    for j in range(n):
        k1 = f(h, k[2 * j])
        k2 = f(h + 0.5 * step * k1, k[2 * j + 1])
        k3 = f(h + 0.5 * step * k2, k[2 * j + 1])
        k4 = f(h + step * k3, k[2 * j + 2])
        h = h + step / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        out.append(h / np.linalg.norm(h, axis=1)[:, None])
    truth = np.array(out)
    t = np.arange(n + 1) * step

    def about_z(h_start, rate):
        ang = rate[None, :] * t[:, None]
        c, s = np.cos(ang), np.sin(ang)
        return np.stack([c * h_start[:, 0] - s * h_start[:, 1], s * h_start[:, 0] + c * h_start[:, 1],
                         np.broadcast_to(h_start[:, 2], c.shape)], axis=-1)

    fixed = about_z(h_f0, w * np.cos(inc)) @ m
    tracked = np.einsum("kij,knj->kni", orbit_frames.pole_drift_matrix(t, epoch, "mean"), fixed)
    j2000 = about_z(h0, w * h0[:, 2])  # today's model: the same orbit, node about the J2000 axis

    def err_km(model, years):
        j = int(round(years * YEAR_S / step))
        return np.arccos(np.clip(np.sum(truth[j] * model[j], axis=1), -1, 1)) * 7.0e3

    horizons = (7 / 365.25, 30 / 365.25, 0.25, 0.5, 1.0, 2.0)
    print("\nplane error [km at 7,000 km] (53 deg, SSO, 86.4 deg) after 1 week, 1 month, 0.25, 0.5, 1, 2 years")
    for name, model in (("fixed pole", fixed), ("tracked", tracked), ("J2000 pole", j2000)):
        print(f"  {name:10s}", "; ".join(np.array2string(err_km(model, y), precision=3) for y in horizons))
    assert err_km(fixed, 7 / 365.25).max() < 0.01
    assert err_km(fixed, 30 / 365.25).max() < 0.15
    for years in (0.25, 0.5, 1.0, 2.0):
        assert err_km(fixed, years)[:2].max() < 1.8, years
    assert err_km(fixed, 1.0)[2] < 9.0
    assert err_km(tracked, 1.0)[:2].max() < 0.1 and err_km(tracked, 2.0)[:2].max() < 0.1
    assert err_km(j2000, 7 / 365.25).min() > 5.0
    assert err_km(j2000, 1.0).min() > 500.0
