"""The latency kernels (orbitwin_plugins.latency_kernels) against the numpy reference
(`latency.record_rtt_numpy`, built from latency_model's functions), record by record, on
small random geometries: users, satellites (some inactive), link slots up or down with
isolated satellites and unreachable holders, holders or ``compute = "any"``, ground
stations or none. Tolerance: 1e-12 s (1 ps) of round trip, and the same no-service (NaN)
entries; docs/latency.md, "Where it runs"."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from orbitwin_plugins import latency_model as lm
from orbitwin_plugins.constants import R_EARTH_M
from orbitwin_plugins.ground import ecef_to_eci_matrix
from orbitwin_plugins.latency import record_rtt_numpy
from orbitwin_plugins.latency_kernels import LatencyBlocks

#: Largest difference allowed between the kernels and numpy [s].
TOL_S = 1e-12
EPOCH = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
#: Measured by the cases below (the largest difference seen), for the report at the end.
MEASURED: list[float] = []


def _case(seed: int, holders_kind: str, n_stations: int, n_rec: int = 5, n_sats: int = 40, n_users: int = 12):
    rng = np.random.default_rng(seed)
    users = [lm.LocationSpec(name=f"u{j}", latitude_deg=float(rng.uniform(-75, 75)),
                             longitude_deg=float(rng.uniform(-180, 180)), altitude_m=float(rng.uniform(0, 2000)))
             for j in range(n_users - 1)]
    users.append(lm.LocationSpec(name="pole", latitude_deg=90.0, longitude_deg=0.0))  # no 53 deg shell reaches it
    # satellites: random directions within 45 deg of the equator (the pole goes unserved), 400-1,500 km up
    p = np.radians(rng.uniform(-45, 45, (n_rec, n_sats)))
    q = np.radians(rng.uniform(-180, 180, (n_rec, n_sats)))
    d = np.stack([np.cos(p) * np.cos(q), np.cos(p) * np.sin(q), np.sin(p)], axis=-1)
    r_eci = d * (R_EARTH_M + rng.uniform(400e3, 1500e3, size=(n_rec, n_sats, 1)))
    rot = ecef_to_eci_matrix(rng.uniform(0, 86400, n_rec), EPOCH)
    active = rng.random((n_rec, n_sats)) < 0.85
    # links: a random graph on the first 3/4 of the satellites (the rest isolated), some up
    n_links = 2 * n_sats
    a = rng.integers(0, 3 * n_sats // 4, n_links)
    b = (a + rng.integers(1, 3 * n_sats // 4, n_links)) % (3 * n_sats // 4)
    up = (rng.random((n_rec, n_links)) < 0.6).astype(np.uint8)
    length = np.linalg.norm(r_eci[:, a] - r_eci[:, b], axis=-1)
    if holders_kind == "any":
        compute = "any"
    elif holders_kind == "isolated":
        compute = [n_sats - 1]  # a holder with no link: served only directly
    else:
        compute = sorted({int(x) for x in rng.integers(0, n_sats, 3)})
    cfg = lm.LatencyConfig(locations=["tokyo"], compute=compute, min_elevation_deg=float(rng.uniform(5, 30)),
                           gateway_min_elevation_deg=float(rng.uniform(5, 30)))
    st = None
    if n_stations:
        st = (rng.uniform(-60, 60, n_stations), rng.uniform(-180, 180, n_stations), rng.uniform(0, 3000, n_stations))
    s, u = lm.users_ecef(users)
    lat = np.array([x.latitude_deg for x in users])
    lon = np.array([x.longitude_deg for x in users])
    return dict(cfg=cfg, n_sats=n_sats, s=s, u=u, lat=lat, lon=lon, r=r_eci, rot=rot, active=active,
                links=(a, b, up, length), stations=st)


def _numpy(c, links: bool) -> np.ndarray:
    a, b, up, length = c["links"]
    return np.stack([record_rtt_numpy(c["cfg"], c["n_sats"], c["s"], c["u"], c["lat"], c["lon"], c["r"][k], c["rot"][k],
                                      c["active"][k], (a, b, up[k] == 1, length[k]) if links else None, c["stations"])
                     for k in range(c["r"].shape[0])])


def _kernel(c, links: bool, capacity: int | None = None) -> np.ndarray:
    a, b, up, length = c["links"]
    blocks = LatencyBlocks(c["n_sats"], capacity or c["r"].shape[0], c["s"], c["u"], c["lat"], c["lon"],
                           c["cfg"].holders, a if links else None, b if links else None, c["stations"], c["cfg"])
    return blocks.rtt_s(c["r"], c["rot"], c["active"], up if links else None, length if links else None)


def _same(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = np.isfinite(want)
    diff = float(np.max(np.abs(got[ok] - want[ok]), initial=0.0))
    MEASURED.append(diff)
    assert diff <= TOL_S, diff


@pytest.mark.parametrize("holders_kind", ["any", "some", "isolated"])
@pytest.mark.parametrize("n_stations", [0, 3])
@pytest.mark.parametrize("links", [True, False])
def test_kernels_equal_numpy_on_random_geometries(holders_kind, n_stations, links):
    served, unserved = 0, 0
    for seed in range(3):
        c = _case(100 * seed + 7 * n_stations + len(holders_kind), holders_kind, n_stations)
        want = _numpy(c, links)
        _same(_kernel(c, links), want)
        served += int(np.isfinite(want).sum())
        unserved += int(np.isnan(want).sum())
    assert served and unserved  # both kinds of entry are compared
    if not n_stations:  # the pole sees no satellite (with stations, fibre may serve it)
        assert np.isnan(want[:, -1]).all()


def test_links_and_ground_routes_are_exercised():
    """Over the links the path is longer than the direct hop for some users; through the
    ground stations some users are served who see no holder; both match numpy."""
    c = _case(11, "some", 3, n_rec=6, n_sats=60, n_users=20)
    direct = _kernel(dict(c, cfg=lm.LatencyConfig(locations=["tokyo"], compute="any",
                                                  min_elevation_deg=c["cfg"].min_elevation_deg,
                                                  gateway_min_elevation_deg=c["cfg"].gateway_min_elevation_deg),
                          stations=None), False)
    path = _kernel(dict(c, stations=None), True)
    _same(path, _numpy(dict(c, stations=None), True))
    both = np.isfinite(path) & np.isfinite(direct)
    assert (path[both] > direct[both]).any()  # over links to a holder
    full = _kernel(c, True)
    _same(full, _numpy(c, True))
    assert (np.isfinite(full) & np.isnan(path)).any()  # served only through a ground station


def test_disconnected_graph_and_no_service_are_nan():
    c = _case(5, "some", 0)
    a, b, up, length = c["links"]
    # every link down: only users who see an active holder directly are served
    c_down = dict(c, links=(a, b, np.zeros_like(up), length))
    got = _kernel(c_down, True)
    _same(got, _numpy(c_down, True))
    holders_only = _kernel(c, False)  # no link graph at all: the same thing
    np.testing.assert_array_equal(got, holders_only)
    # every satellite inactive: nobody is served, with or without stations
    c_off = dict(c, active=np.zeros_like(c["active"]), stations=(np.array([0.0]), np.array([0.0]), np.array([0.0])))
    assert np.isnan(_kernel(c_off, True)).all()
    assert np.isnan(_numpy(c_off, True)).all()


def test_blocks_are_reused_and_kernels_compile_once():
    """One object serves blocks shorter than its capacity; another store's sizes reuse the
    compiled kernels (no recompilation per call or per store)."""
    from orbitwin_plugins import latency_kernels as lk

    c = _case(3, "some", 2, n_rec=6)
    whole = _kernel(c, True)
    a, b, up, length = c["links"]
    blocks = LatencyBlocks(c["n_sats"], 8, c["s"], c["u"], c["lat"], c["lon"], c["cfg"].holders, a, b,
                           c["stations"], c["cfg"])
    parts = [blocks.rtt_s(c["r"][k:k + 4], c["rot"][k:k + 4], c["active"][k:k + 4], up[k:k + 4], length[k:k + 4])
             for k in (0, 4)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    small = LatencyBlocks(c["n_sats"], 4, c["s"], c["u"], c["lat"], c["lon"], c["cfg"].holders, a, b,
                          c["stations"], c["cfg"])
    np.testing.assert_array_equal(small.rtt_s(c["r"], c["rot"], c["active"], up, length), whole)  # in pieces
    other = _case(4, "any", 0, n_rec=2, n_sats=17, n_users=3)
    _same(_kernel(other, False), _numpy(other, False))
    for kernel in (lk._prepare, lk._sweep, lk._routes):
        assert len(kernel._primal.compiled_kernels) == 1, kernel


def test_bellman_ford_sweeps_match_the_reference():
    """The sweeps taken (the longest record's, its change-free last one included) equal
    numpy's, and a chain needs one sweep per hop."""
    n = 12
    a, b = np.arange(n - 1), np.arange(1, n)
    cfg = lm.LatencyConfig(locations=["tokyo"], compute=[0])
    s, u = lm.users_ecef([lm.LocationSpec(name="u", latitude_deg=0.0, longitude_deg=0.0)])
    blocks = LatencyBlocks(n, 1, s, u, [0.0], [0.0], [0], a, b, None, cfg)
    r = np.zeros((1, n, 3))
    r[0, :, 0] = R_EARTH_M + 550e3 + 1e3 * np.arange(n)
    blocks.rtt_s(r, np.eye(3)[None], None, np.ones((1, n - 1), np.uint8), np.full((1, n - 1), 1e6))
    _t, sweeps = lm.shortest_delay_s(n, a, b, np.full(n - 1, 1e6), np.ones(n - 1, bool), 0)
    assert blocks.sweeps == sweeps == n - 1  # the cap: n - 1 sweeps, the last one still changing
    assert max(MEASURED, default=0.0) <= TOL_S
