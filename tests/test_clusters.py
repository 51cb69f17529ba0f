"""Formation-flying clusters (``kind = "cluster"``, orbitwin_plugins.clusters): the HCW
geometry, its mapping to mean elements checked with the orbit plugin's own propagator
(`propagate_numpy`) over one orbit and over seven days, the J2 along-track correction,
the closest-approach check, and every bad key named.

Numbers at 650 km sun-synchronous (the Suncatcher-like case), measured here:

- over the first orbit the relative motion follows the HCW closed form with the Keplerian
  n to <= 4.0 m for a 1.13 km cluster (J2 makes the relative motion turn at the
  anomalistic rate, 6.3e-4 slower than n, and the cross-track one at the nodal-frame
  rate, 1.2e-3 slower: 2 pi x 1.2e-3 x 1.13 km = 8.8 m at most); with those two rates
  in the closed form, to <= 0.05 m (<= 0.9 m where inclinations differ);
- orbit-averaged along-track drift over 7 days, worst satellite: planar 9 x 9 grid
  0.065 m without the correction (eccentricity enters the rates as e^2), 2e-6 m with it;
  a 9 x 3 x 3 grid whose cross-track offsets are given at the pole (mean_anomaly_deg =
  90, so they are inclination differences) 83.5 m without, 0.0006 m with;
- closest approach over 7 days (60 s samples): planar grid 100.0 m = spacing_m, with or
  without the correction; the 9 x 3 x 3 grid at the pole 67 m (0.67 spacing) with it,
  7 m without (day 4).
"""

from __future__ import annotations

import datetime as dt
import math
import textwrap

import numpy as np
import pytest

from orbitwin_plugins import clusters as cl
from orbitwin_plugins import constellations as cons
from orbitwin_plugins.constants import MU_EARTH_M3_S2, R_EARTH_M
from orbitwin_plugins.orbit import OrbitConfig, Shell, j2_secular_rates, mean_parameters, propagate_numpy
from twin_core.errors import ScenarioError
from twin_core.scenario import parse_scenario
from twin_core.validators import SpecValueError

UTC = dt.timezone.utc
EPOCH = dt.datetime(2027, 6, 21, tzinfo=UTC)
SECTIONS = {"orbit": (OrbitConfig, "orbit")}
HEAD = """
[scenario]
epoch = "2027-06-21T00:00:00Z"
duration_h = 1
step_s = 60
record_every_s = 600
"""
CLUSTER = """
[[orbit.shell]]
kind = "cluster"
altitude_km = 650
inclination = "sso"
ltan_h = 18.0
grid = [9, 9]
spacing_m = 100
"""
ALT = 650.0
INC = cons.sun_synchronous_inclination_deg(ALT)
A = R_EARTH_M + ALT * 1e3
N_KEPLER = math.sqrt(MU_EARTH_M3_S2 / A**3)
RAAN_DOT, ARGP_DOT, M_DOT = j2_secular_rates(A, 0.0, math.radians(INC))
DAY = 86400.0


def _relative_rtn(offsets, t, mean_anomaly_deg=0.0, j2_correction=True, raan_deg=30.0):
    """Propagated positions of the cluster's satellites relative to the reference orbit,
    in the reference's (radial, along-track, cross-track) frame [m], shape (k, N, 3)."""
    el = cl.cluster_elements(offsets, ALT, INC, raan_deg, mean_anomaly_deg, j2_correction)
    ref = cl.reference_elements(ALT, INC, raan_deg, mean_anomaly_deg)
    r, _ = propagate_numpy(mean_parameters(el), t)
    rc = propagate_numpy(mean_parameters(ref), t)[0][:, 0]
    node, i = math.radians(raan_deg) + RAAN_DOT * np.asarray(t), math.radians(INC)
    normal = np.stack([np.sin(i) * np.sin(node), -np.sin(i) * np.cos(node), np.full_like(node, np.cos(i))], -1)
    radial = rc / np.linalg.norm(rc, axis=-1, keepdims=True)
    frame = np.stack([radial, np.cross(normal, radial), normal], axis=1)  # (k, 3 axes, 3)
    return np.einsum("kaj,knj->kna", frame, r - rc[:, None])


def _closest_m(offsets, t, **kw) -> float:
    el = cl.cluster_elements(offsets, ALT, INC, 30.0, **kw)
    return float(cl.pair_distance_extremes_m(propagate_numpy(mean_parameters(el), t)[0])[0].min())


# -- geometry ----------------------------------------------------------------------------


def test_suncatcher_grid_geometry():
    """9 x 9 at 100 m: radial pitch 100 m, along-track 200 m, centred, the centre
    satellite the reference; neighbours 100 m apart at their closest, corners 1.13 km
    (= 2 x 400 sqrt 2 m) from the reference at their farthest."""
    off = cl.grid_offsets_m([9, 9], 100.0)
    assert off.shape == (81, 3) and np.all(off[:, 2] == 0.0)
    np.testing.assert_allclose(off.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_array_equal(off[40], 0.0)
    assert set(np.round(np.diff(np.unique(off[:, 0])), 9)) == {100.0}
    assert set(np.round(np.diff(np.unique(off[:, 1])), 9)) == {200.0}
    assert cl.closest_approach_m(off)[0] == pytest.approx(100.0)
    assert cl.max_radius_m(off) == pytest.approx(800.0 * math.sqrt(2.0))


def test_hcw_closed_form_solves_the_hcw_equations_and_is_centred():
    """x'' - 2n y' - 3n^2 x = 0, y'' + 2n x' = 0, z'' + n^2 z = 0 (central differences,
    1 s), starting at the offsets; the orbit average is the reference (centred)."""
    rng = np.random.default_rng(3)
    off = rng.uniform(-500.0, 500.0, size=(20, 3))
    h, t = 1.0, np.linspace(0.0, 6000.0, 41)
    p = [cl.hcw_positions_m(off, N_KEPLER, t + k * h) for k in (-1, 0, 1)]
    vel, acc = (p[2] - p[0]) / (2 * h), (p[2] - 2 * p[1] + p[0]) / h**2
    x, z = p[1][..., 0], p[1][..., 2]
    n = N_KEPLER
    scale = n * n * 500.0
    assert np.max(np.abs(acc[..., 0] - 2 * n * vel[..., 1] - 3 * n * n * x)) < 1e-6 * scale
    assert np.max(np.abs(acc[..., 1] + 2 * n * vel[..., 0])) < 1e-6 * scale
    assert np.max(np.abs(acc[..., 2] + n * n * z)) < 1e-6 * scale
    np.testing.assert_allclose(p[1][0], off, atol=1e-9)
    period = np.arange(360) * (2 * math.pi / n) / 360
    np.testing.assert_allclose(cl.hcw_positions_m(off, n, period).mean(axis=0), 0.0, atol=1e-9)


def test_closest_approach_matches_brute_force():
    """The sorted sweep finds the same pair distance as every pair's Gram minimum, and
    that minimum is the sampled one."""
    rng = np.random.default_rng(7)
    for trial in range(60):
        n = int(rng.integers(2, 120))
        off = rng.normal(size=(n, 3)) * rng.uniform(10.0, 800.0, size=3)
        if trial % 3 == 0:  # lattice-like, with ties along the sort axis
            off = np.round(off / 100.0) * 100.0 + rng.integers(0, 2, size=(n, 3)) * [0.0, 0.0, 50.0]
        d = off[None, :, :] - off[:, None, :]
        d2 = cl._gram_extremes(d)[0]
        d2[np.tril_indices(n)] = np.inf
        assert cl.closest_approach_m(off)[0] == pytest.approx(math.sqrt(d2.min()), abs=1e-9)
    off = rng.uniform(-300.0, 300.0, size=(6, 3))
    i, j = cl.closest_approach_m(off)[1:]
    sampled = cl.hcw_positions_m(off[[i, j]], 1.0, np.linspace(0.0, 2 * math.pi, 200001))
    assert np.linalg.norm(sampled[:, 0] - sampled[:, 1], axis=-1).min() == pytest.approx(
        cl.closest_approach_m(off)[0], rel=1e-6)


# -- against the propagator ----------------------------------------------------------


@pytest.mark.parametrize("grid, u0", [([9, 9], 0.0), ([9, 3, 3], 0.0), ([9, 3, 3], 90.0), ([5, 5, 5], 37.0)])
def test_first_orbit_follows_hcw(grid, u0):
    """Relative motion from the propagator against the HCW closed form over one orbit
    (60 s samples). With the Keplerian n it departs as J2 turns the relative motion at
    the anomalistic rate dM/dt (in plane) and the frame at du/dt (cross-track), 6.3e-4 and
    1.2e-3 below n: tolerance 2 pi (1 - (du/dt)/n) rho_max + 0.5 m (8.8 m at 1.13 km;
    measured 4.0 m). With those rates in the closed form: 0.1 m where the cross-track
    offsets are node differences (measured 0.05 m; the rest is second order, rho^2/a),
    1.5 m where they are inclination differences (nodes drifting apart; measured 0.9 m)."""
    off = cl.grid_offsets_m(grid, 100.0)
    t = np.arange(0.0, 2 * math.pi / N_KEPLER + 60.0, 60.0)
    rel = _relative_rtn(off, t, mean_anomaly_deg=u0)
    rho = cl.max_radius_m(off)
    kepler = np.linalg.norm(rel - cl.hcw_positions_m(off, N_KEPLER, t), axis=-1).max()
    assert kepler <= 2 * math.pi * (1 - (M_DOT + ARGP_DOT) / N_KEPLER) * rho + 0.5
    j2_rates = np.concatenate([cl.hcw_positions_m(off, M_DOT, t)[..., :2],
                               cl.hcw_positions_m(off, M_DOT + ARGP_DOT, t)[..., 2:]], axis=-1)
    node_only = u0 % 180.0 == 0.0
    assert np.linalg.norm(rel - j2_rates, axis=-1).max() <= (0.1 if node_only else 1.5)


def _mean_along_track_drift_m(off, u0, corrected):
    """Worst satellite's change of its orbit-averaged along-track offset over 7 days:
    averages over one anomalistic period (600 uniform samples: the 2:1 ellipse averages
    out exactly), at the epoch and 7 days later."""
    t = np.arange(600) * (2 * math.pi / M_DOT) / 600
    first = _relative_rtn(off, t, u0, corrected).mean(axis=0)
    last = _relative_rtn(off, t + 7 * DAY, u0, corrected).mean(axis=0)
    return float(np.abs(last[:, 1] - first[:, 1]).max())


def test_j2_correction_stops_the_along_track_drift():
    """Cross-track offsets given at the pole are inclination differences: 83.5 m of
    along-track drift in 7 days without the correction, 0.6 mm with it. The planar
    Suncatcher-like grid differs only in e, w and M and barely drifts either way (0.065 m
    without: e enters the rates as e^2; 2 um with)."""
    cube = cl.grid_offsets_m([9, 3, 3], 100.0)
    assert _mean_along_track_drift_m(cube, 90.0, False) > 50.0
    assert _mean_along_track_drift_m(cube, 90.0, True) < 0.005
    planar = cl.grid_offsets_m([9, 9], 100.0)
    assert _mean_along_track_drift_m(planar, 0.0, False) < 0.2
    assert _mean_along_track_drift_m(planar, 0.0, True) < 1e-4


def test_j2_correction_matches_the_rates_exactly_and_changes_a_by_centimetres():
    """The solved semi-major axes give every satellite the reference's mean-longitude
    rate to 1e-18 rad/s (rounding); the change is ~ -4.7 (k/n) sin i cos i a di_x, 8.6 cm
    for 100 m of inclination offset at 650 km SSO."""
    off = cl.grid_offsets_m([9, 3, 3], 100.0)
    el = cl.cluster_elements(off, ALT, INC, 0.0, 90.0, True)
    i_ref = math.radians(INC)
    rates = cl.along_track_rate_rad_s(el.semi_major_axis_m, el.eccentricity, el.inclination_rad, i_ref)
    target = cl.along_track_rate_rad_s(A, 0.0, i_ref, i_ref)
    assert np.max(np.abs(rates - target)) < 1e-18
    da = el.semi_major_axis_m - A
    k, s, c = cl.k_j2_rad_s(A), math.sin(i_ref), math.cos(i_ref)
    expected = -7 * k * s * c / (1.5 * N_KEPLER) * off[:, 2]  # di_x = z0 / a at u0 = 90 deg
    np.testing.assert_allclose(da, expected, atol=0.005)
    assert np.abs(da).max() == pytest.approx(0.086, abs=0.002)


def test_closest_approach_over_seven_days():
    """60 s samples: the planar grid keeps its neighbours exactly spacing_m apart at
    their closest (a J2-invariant formation in this model); the 9 x 3 x 3 grid with
    inclination offsets stays above 0.6 spacing_m with the correction and comes within
    0.1 spacing_m without it."""
    planar, cube = cl.grid_offsets_m([9, 9], 100.0), cl.grid_offsets_m([9, 3, 3], 100.0)
    closest = {}
    for name, off, u0 in (("planar", planar, 0.0), ("cube", cube, 90.0)):
        for corr in (True, False):
            closest[name, corr] = min(_closest_m(off, day * DAY + np.arange(0.0, DAY, 60.0),
                                                 mean_anomaly_deg=u0, j2_correction=corr) for day in range(7))
    assert closest["planar", True] == pytest.approx(100.0, abs=0.05)
    assert closest["planar", False] == pytest.approx(100.0, abs=0.05)
    assert closest["cube", True] > 60.0
    assert closest["cube", False] < 10.0


# -- the [orbit] table -------------------------------------------------------------------


def test_shell_builds_one_plane_and_counts_without_building():
    """Shell and OrbitConfig: 81 satellites in one plane index (after a Walker shell's),
    the centre one the circular reference at the sun-synchronous inclination with its
    node at 18:00 local mean time; count, orbit_shapes and max_eccentricity agree with
    the elements."""
    shell = Shell(kind="cluster", altitude_km=650.0, inclination="sso", ltan_h=18.0, grid=[9, 9], spacing_m=100.0)
    walker = Shell(kind="walker_delta", total=6, planes=3, altitude_km=550.0, inclination=53.0)
    cfg = OrbitConfig(shell=[walker, shell])
    el, group = cfg.elements(EPOCH)
    assert shell.count == 81 and cfg.count == el.count == 87
    np.testing.assert_array_equal(el.plane[6:], 3)
    np.testing.assert_array_equal(group[6:], 1)
    centre = 6 + 40
    assert el.eccentricity[centre] == 0.0 and el.semi_major_axis_m[centre] == pytest.approx(A, abs=1e-6)
    assert math.degrees(el.inclination_rad[centre]) == pytest.approx(INC, abs=1e-9)
    # the node in the J2 propagator's frame (the equator and equinox of the epoch)
    node = cons.raan_in_frame_deg(cons.ltan_raan_deg(18.0, EPOCH), cfg.frame(EPOCH))
    assert math.degrees(el.raan_rad[centre]) == pytest.approx(node, abs=1e-9)
    a, e, inc = shell.orbit_shapes()
    np.testing.assert_array_equal(a, el.semi_major_axis_m[6:])
    np.testing.assert_array_equal(e, el.eccentricity[6:])
    np.testing.assert_array_equal(inc, el.inclination_rad[6:])
    # the corners' eccentricity: their distance in (x, y/2), 400 sqrt 2 m, over a
    assert shell.max_eccentricity == e.max() == pytest.approx(400 * math.sqrt(2) / A, rel=1e-6)


def test_offsets_and_fixed_node_build_what_they_say():
    """offsets_m with raan0_deg and a numeric inclination; j2_correction = false keeps
    every semi-major axis the reference's."""
    off = [[0.0, 0.0, 0.0], [100.0, 0.0, 0.0], [0.0, 300.0, 0.0], [60.0, 0.0, 150.0]]
    shell = Shell(kind="cluster", altitude_km=700.0, inclination=53.0, raan0_deg=40.0, offsets_m=off,
                  j2_correction=False, mean_anomaly_deg=10.0)
    el = shell.elements(EPOCH)
    assert el.count == shell.count == 4 and np.all(el.plane == 0)
    np.testing.assert_array_equal(el.semi_major_axis_m, R_EARTH_M + 700e3)
    assert math.degrees(el.raan_rad[0]) == pytest.approx(40.0)
    assert math.degrees(el.mean_anomaly_rad[0]) == pytest.approx(10.0)


def test_shell_docstring_example_parses():
    """The cluster example in Shell's docstring is a valid table (docs kept honest)."""
    doc = Shell.__doc__.split("neighbours 100-200 m apart::\n", 1)[1].split("\n\n", 1)[0]
    cfg = parse_scenario(HEAD + textwrap.dedent(doc), "doc.toml", SECTIONS).section("orbit")
    assert cfg.count == 81 and cfg.shell[0].grid == [9, 9]


def test_scenario_cluster_is_the_suncatcher_like_grid():
    cfg = parse_scenario(HEAD + CLUSTER, "t.toml", SECTIONS).section("orbit")
    el, _ = cfg.elements(EPOCH)
    r, _ = propagate_numpy(mean_parameters(el), np.arange(0.0, 5900.0, 60.0))
    d = np.linalg.norm(r[:, :, None] - r[:, None], axis=-1)[:, ~np.eye(81, dtype=bool)]
    assert d.min() == pytest.approx(100.0, abs=0.1) and d.max() == pytest.approx(1600 * math.sqrt(2), abs=1.0)
    dmin, dmax = cl.pair_distance_extremes_m(r)
    np.testing.assert_allclose(dmin, d.min(axis=1), atol=1e-6)
    np.testing.assert_allclose(dmax, d.max(axis=1), atol=1e-6)


BAD = [
    (CLUSTER.replace("grid = [9, 9]", "grid = [9, 9]\noffsets_m = [[0, 0, 0]]"), "offsets_m", "exactly one"),
    (CLUSTER.replace("grid = [9, 9]\n", ""), "grid", "present, or else offsets_m"),
    (CLUSTER.replace("[9, 9]", "[9, 0]"), "grid", "1 to 3 whole numbers"),
    (CLUSTER.replace("[9, 9]", "[2, 2, 2, 2]"), "grid", "1 to 3 whole numbers"),
    (CLUSTER.replace("[9, 9]", "[]"), "grid", "1 to 3 whole numbers"),
    (CLUSTER.replace("[9, 9]", "[101, 100]"), "grid", "at most 10,000"),
    (CLUSTER.replace("[9, 9]", "[9, 9.5]"), "grid[1]", "whole number"),
    (CLUSTER.replace("spacing_m = 100", "spacing_m = 5"), "spacing_m", ">= 10 m"),
    (CLUSTER.replace("spacing_m = 100\n", ""), "spacing_m", "present with grid"),
    (CLUSTER.replace("spacing_m = 100", "spacing_m = 20000"), "grid", "within 50 km"),
    (CLUSTER.replace("[9, 9]", "[3, 3, 20]").replace("= 100", "= 20"), "spacing_m", "staggered cross-track"),
    (CLUSTER.replace("grid = [9, 9]\nspacing_m = 100", "offsets_m = [[0, 0, 0], [5, 0, 0]]"), "offsets_m",
     "satellites 0 and 1 come within 5.00 m"),
    (CLUSTER.replace("grid = [9, 9]\nspacing_m = 100", "offsets_m = [[0, 0, 0], [0, 0, 50]]"), "offsets_m",
     "come within 0.00 m"),
    (CLUSTER.replace("grid = [9, 9]\nspacing_m = 100", "offsets_m = [[0, 0, 0], [0, 0]]"), "offsets_m",
     "three numbers each"),
    (CLUSTER.replace("grid = [9, 9]\nspacing_m = 100", "offsets_m = [[0, 0, 0], [200000, 0, 0]]"), "offsets_m",
     "within 50 km"),
    (CLUSTER.replace("grid = [9, 9]", "offsets_m = [[0, 0, 0], [100, 0, 0]]"), "spacing_m", "absent with offsets_m"),
    (CLUSTER + "total = 81\n", "total", "absent when kind = 'cluster'"),
    (CLUSTER + "sets = [{altitude_km = 550, inclination_deg = 53}]\n", "sets", "a cluster"),
    (CLUSTER + 'j2_correction = "yes"\n', "j2_correction", "true or false"),
    (CLUSTER + "mean_anomaly_deg = nan\n", "mean_anomaly_deg", "finite"),
    (CLUSTER.replace("altitude_km = 650", "altitude_km = 50"), "altitude_km", "[100, 100000] km"),
    (CLUSTER.replace("ltan_h = 18.0\n", ""), "ltan_h", "present"),
    (CLUSTER.replace('inclination = "sso"\nltan_h = 18.0', "inclination = 0").replace(
        "[9, 9]", "[3, 3, 2]"), "inclination", "away from 0 and 180"),
    (CLUSTER.replace("altitude_km", "altitude_m"), "altitude_m", "did you mean 'altitude_km'"),
    (CLUSTER.replace("spacing_m", "spacing"), "spacing", "did you mean 'spacing_m'"),
    ('\n[[orbit.shell]]\nkind = "walker_delta"\ntotal = 4\nplanes = 2\naltitude_km = 550\ninclination = 53\n'
     "grid = [2, 2]\n", "grid", "absent unless kind = 'cluster'"),
    ('\n[[orbit.shell]]\nkind = "elements"\nsets = [{altitude_km = 550, inclination_deg = 53}]\n'
     "j2_correction = true\n", "j2_correction", "absent when kind = 'elements'"),
]


@pytest.mark.parametrize("snippet, key, fragment", BAD, ids=[b[1] + ":" + b[2] for b in BAD])
def test_bad_cluster_table_names_key(snippet, key, fragment):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(HEAD + snippet, "t.toml", SECTIONS)
    assert info.value.key == "orbit.shell[0]." + key, str(info.value)
    assert fragment in str(info.value), str(info.value)


def test_python_callers_get_the_key_too():
    with pytest.raises(SpecValueError) as info:
        Shell(kind="cluster", altitude_km=650.0, inclination=97.0, offsets_m=[[0.0, 0.0, 0.0]] * 2)
    assert info.value.key == "offsets_m"
    with pytest.raises(SpecValueError) as info:
        cl.check_offsets(np.zeros((cl.MAX_CLUSTER_SATELLITES + 1, 3)))
    assert info.value.key == "offsets_m" and "at most 10,000" in str(info.value)


def test_formation_summary_of_a_run_with_no_sample_yet_says_so_without_warnings():
    import warnings

    import numpy as np

    from orbitwin_plugins import formation

    nan = np.full(4, np.nan)
    store = {"constellation": {"formation.min_separation_m": nan, "formation.extent_m": nan,
                               "formation.too_close_count": nan}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert formation.orbitwin_summary(store) == [("cluster geometry", "no sample written yet")]
