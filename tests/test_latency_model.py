"""The service-latency model (orbitwin_plugins.latency_model): an overhead satellite gives
2h/c plus the stated delays, no satellite in view gives NaN, Bellman-Ford equals Dijkstra,
bad locations name the key, and the bundled locations load."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import shortest_path

from orbitwin_plugins import latency_model as lm
from orbitwin_plugins.constants import R_EARTH_M
from orbitwin_plugins.ground import ecef_to_eci_matrix
from twin_core import ScenarioError
from twin_core.scenario import structure_section

C = lm.SPEED_OF_LIGHT_M_S
D = 2.0 * (lm.USER_TERMINAL_DELAY_S + lm.SATELLITE_SWITCH_DELAY_S)
EQUATOR_USER = [lm.LocationSpec(name="u", latitude_deg=0.0, longitude_deg=0.0)]


def _sat_over(lat_deg: float, lon_deg: float, h_m: float) -> np.ndarray:
    """ECEF of a point at geocentric (lat, lon), radius R_E + h."""
    p, q = math.radians(lat_deg), math.radians(lon_deg)
    r = R_EARTH_M + h_m
    return np.array([r * math.cos(p) * math.cos(q), r * math.cos(p) * math.sin(q), r * math.sin(p)])


@pytest.mark.parametrize("h_m", [550e3, 1200e3])
def test_overhead_rtt_is_2h_over_c_plus_delays(h_m):
    s, up = lm.users_ecef(EQUATOR_USER)
    # the satellite given in ECI at some instant, rotated back with the ground plugin's matrix
    m = ecef_to_eci_matrix(1234.5, dt.datetime(2030, 3, 20, tzinfo=dt.timezone.utc))[0]
    r_eci = m @ _sat_over(0.0, 0.0, h_m)
    sat = lm.eci_to_ecef(r_eci[None, :], m)
    rng, sin_el = lm.look(s, up, sat)
    assert lm.elevation_deg(sin_el)[0, 0] == pytest.approx(90.0, abs=1e-6)
    expect = 2.0 * h_m / C + D
    assert lm.direct_rtt_s(rng, sin_el)[0] == pytest.approx(expect, rel=1e-9)
    # the work on that same satellite over the path route: the same round trip
    t, _ = lm.shortest_delay_s(1, [], [], [], [], holders=0)
    assert lm.path_rtt_s(rng, sin_el, t)[0] == pytest.approx(expect, rel=1e-9)


def test_no_satellite_above_the_mask_is_no_service():
    s, up = lm.users_ecef(EQUATOR_USER + [lm.LocationSpec(name="v", latitude_deg=0.0, longitude_deg=90.0)])
    # one satellite on the far side of the Earth from u, one ~20 deg up from u (below 25)
    low = _sat_over(0.0, 11.0, 550e3)
    sats = np.stack([_sat_over(0.0, 180.0, 550e3), low])
    rng, sin_el = lm.look(s, up, sats)
    assert 15.0 < lm.elevation_deg(sin_el)[0, 1] < 25.0
    rtt = lm.direct_rtt_s(rng, sin_el)
    assert np.isnan(rtt).all()
    t = np.zeros(2)
    assert np.isnan(lm.path_rtt_s(rng, sin_el, t)).all()
    # a lower mask serves u and not v
    rtt10 = lm.direct_rtt_s(rng, sin_el, min_elevation_deg=10.0)
    assert np.isfinite(rtt10[0]) and np.isnan(rtt10[1])
    assert lm.percentiles(rtt10, q=(50,))[0] == pytest.approx(rtt10[0])
    assert np.isnan(lm.percentiles(rtt, q=(50, 90))).all()
    np.testing.assert_array_equal(lm.service_share(np.stack([rtt10, rtt])), [0.5, 0.0])


def test_path_through_links_and_ground_route():
    """A chain 0 - 1 - 2 of links, work on 2; the user sees only 0."""
    h, L = 550e3, 1.0e6
    s, up = lm.users_ecef(EQUATOR_USER)
    sats = np.stack([_sat_over(0.0, 0.0, h), _sat_over(0.0, 60.0, h), _sat_over(0.0, 120.0, h)])
    rng, sin_el = lm.look(s, up, sats)
    t, sweeps = lm.shortest_delay_s(3, [0, 1], [1, 2], [L, L], [True, True], holders=[2])
    assert sweeps <= 3 and t[2] == 0.0
    sw = lm.SATELLITE_SWITCH_DELAY_S
    assert lm.path_rtt_s(rng, sin_el, t)[0] == pytest.approx(2 * h / C + D + 2 * 2 * (L / C + sw), rel=1e-9)
    # link 1-2 down: no route, no service (NaN), never inf
    t2, _ = lm.shortest_delay_s(3, [0, 1], [1, 2], [L, L], [True, False], holders=[2])
    assert np.isinf(t2[:2]).all()
    assert np.isnan(lm.path_rtt_s(rng, sin_el, t2)).all()
    # the ground route: fibre from a user at lon 118 to a gateway under satellite 2
    g = lm.ground_rtt_s([0.0], [118.0], [0.0], [120.0], 0.0, sats, t2)
    d = lm.great_circle_m(0.0, 118.0, 0.0, 120.0)
    expect = 2 * (lm.ROUTE_FACTOR * d / lm.FIBRE_SPEED_M_S + lm.GATEWAY_DELAY_S + sw + h / C)
    assert g[0] == pytest.approx(expect, rel=1e-9)
    best = lm.best_rtt_s(lm.path_rtt_s(rng, sin_el, t2), g)
    assert best[0] == pytest.approx(expect, rel=1e-9)


def test_bellman_ford_equals_dijkstra():
    rng = np.random.default_rng(7)
    n, m = 90, 200
    a = rng.integers(0, 80, m)  # satellites 80..89 have no link: unreachable
    b = rng.integers(0, 80, m)
    keep = a != b
    a, b = a[keep], b[keep]
    length = rng.uniform(1e5, 5e6, a.size)
    up = rng.random(a.size) < 0.8
    holders = np.zeros(n, bool)
    holders[[3, 40]] = True
    t, sweeps = lm.shortest_delay_s(n, a, b, length, up, holders)
    w = length / C + lm.SATELLITE_SWITCH_DELAY_S
    # scipy: a dense-safe graph, keeping the shortest of parallel edges
    best = {}
    for i, j, x in zip(a[up], b[up], w[up]):
        k = (min(i, j), max(i, j))
        best[k] = min(best.get(k, np.inf), x)
    ii, jj = np.array([k[0] for k in best]), np.array([k[1] for k in best])
    g = coo_matrix((np.array(list(best.values())), (ii, jj)), shape=(n, n)).tocsr()
    ref = shortest_path(g, method="D", directed=False, indices=[3, 40]).min(axis=0)
    np.testing.assert_allclose(t, ref, rtol=1e-12, atol=0)
    assert np.array_equal(np.isinf(t), np.isinf(ref)) and np.isinf(t).any()
    assert sweeps < n


def test_latitude_100_names_the_key():
    data = {"location": [{"name": "x", "latitude_deg": 100.0, "longitude_deg": 0.0}]}
    with pytest.raises(ScenarioError) as info:
        structure_section(data, lm.LatencyConfig, "t.toml", "latency")
    assert info.value.key == "latency.location[0].latitude_deg", str(info.value)
    assert "[-90, 90]" in str(info.value) and "t.toml" in str(info.value)
    with pytest.raises(ScenarioError) as info:
        structure_section({"locations": ["tokio"]}, lm.LatencyConfig, "t.toml", "latency")
    assert info.value.key == "latency.locations[0]" and "tokyo" in str(info.value)


def test_bad_row_in_a_location_file_names_file_line_and_key():
    text = "# comment\nname,latitude_deg,longitude_deg,population\na,10,20,5\nb,100,20,5\n"
    with pytest.raises(lm.LocationFileError) as info:
        lm.load_locations(text, "mine.csv")
    assert (info.value.file, info.value.line, info.value.key) == ("mine.csv", 4, "latitude_deg")
    assert "mine.csv, line 4: key 'latitude_deg'" in str(info.value)
    with pytest.raises(lm.LocationFileError, match="key 'longitude_deg'"):
        lm.load_locations(text.replace("b,100,20", "b,1,200"), "mine.csv")


def test_bundled_locations_load_and_validate():
    locs = lm.bundled_locations()
    assert 30 <= len(locs) <= 50
    assert list(locs)[0] == "tokyo"
    pops = [s.population for s in locs.values()]
    assert all(p > 0 for p in pops) and pops == sorted(pops, reverse=True)
    cfg = structure_section({}, lm.LatencyConfig, "t.toml", "latency")
    assert [s.name for s in cfg.specs()] == list(locs)
    cfg = structure_section({"locations": ["london"], "location": [{"name": "x", "latitude_deg": 1.0,
                                                                     "longitude_deg": 2.0}]},
                            lm.LatencyConfig, "t.toml", "latency")
    assert [s.name for s in cfg.specs()] == ["london", "x"]


def test_terrestrial_rtt():
    # a quarter of the equator
    d = lm.R_MEAN_M * math.pi / 2
    rtt = lm.terrestrial_rtt_s(np.array([0.0]), np.array([0.0]), 0.0, 90.0)
    assert rtt[0] == pytest.approx(2 * lm.ROUTE_FACTOR * d / lm.FIBRE_SPEED_M_S, rel=1e-12)
    # London to Ashburn: 5,900 km, about 2 x 2.1 x 5.9e6 / 2.04e8 = 121 ms
    lon = lm.bundled_locations()["london"]
    assert 0.10 < lm.terrestrial_rtt_s(lon.latitude_deg, lon.longitude_deg) < 0.14
