"""Link lists in slot form (orbitwin_plugins.topology): the +Grid of Walker shells (degrees,
seams, no duplicates, geometry against propagated positions), links within range inside
groups and k-nearest links against brute force."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orbitwin_plugins import constellations as cons
from orbitwin_plugins import orbit
from orbitwin_plugins import topology as tp
from twin_core.validators import SpecValueError


def _undirected(slots):
    a, b = tp.pairs(slots)
    return {(min(x, y), max(x, y)) for x, y in zip(a.tolist(), b.tolist())}


def _check_clean(slots):
    """Each undirected link listed once, no self links, int64."""
    a, b = tp.pairs(slots)
    assert slots.dtype == np.int64 and a.dtype == np.int64 and b.dtype == np.int64
    assert np.all(a != b)
    assert len(_undirected(slots)) == a.size


def _positions(el):
    r, _ = orbit.propagate_numpy(orbit.mean_parameters(el), 0.0)
    return r


@pytest.mark.parametrize("total, planes, phasing", [(1584, 72, 1), (1584, 72, 39), (12, 3, 1), (40, 5, 0)])
def test_plus_grid_delta_degree_four_everywhere(total, planes, phasing):
    slots = tp.plus_grid(0, total, planes, phasing, False)
    assert slots.shape == (total, 2)
    _check_clean(slots)
    assert np.all(tp.degree(slots, total) == 4)
    assert np.all(slots >= 0)  # every satellite owns both its links, seam included


@pytest.mark.parametrize("total, planes, phasing", [(66, 6, 2), (720, 36, 5), (120, 6, 0)])
def test_plus_grid_star_seam_has_degree_three(total, planes, phasing):
    slots = tp.plus_grid(0, total, planes, phasing, True)
    _check_clean(slots)
    s = total // planes
    deg = tp.degree(slots, total).reshape(planes, s)
    assert np.all(deg[0] == 3) and np.all(deg[-1] == 3)
    assert np.all(deg[1:-1] == 4)
    assert np.all(slots[-s:, 1] == -1)  # no link across the counter-rotating seam


def test_plus_grid_seam_shift_by_phasing():
    """Delta 12/3/1 (S = 4): plane 2 slot k links to plane 0 slot (k + 1) mod 4, the
    satellite a 'plane 3' slot k would coincide with."""
    slots = tp.plus_grid(0, 12, 3, 1, False)
    np.testing.assert_array_equal(slots[8:, 1], [1, 2, 3, 0])
    np.testing.assert_array_equal(slots[:4, 0], [1, 2, 3, 0])
    np.testing.assert_array_equal(slots[:4, 1], [4, 5, 6, 7])


def test_plus_grid_first_offset_and_shift():
    base = tp.plus_grid(0, 40, 5, 2, False)
    moved = tp.plus_grid(100, 40, 5, 2, False)
    np.testing.assert_array_equal(moved, np.where(base >= 0, base + 100, -1))
    shifted = tp.plus_grid(0, 40, 5, 2, False, shift=-1)
    np.testing.assert_array_equal(shifted[0], [1, 8 + 7])
    assert np.all(tp.degree(shifted, 40) == 4)


@pytest.mark.parametrize("total, planes, phasing, star, expected", [
    (5, 5, 0, False, [2] * 5),      # S = 1: no in-plane links; a ring of planes
    (5, 5, 0, True, [1, 2, 2, 2, 1]),
    (6, 3, 1, False, [3] * 6),      # S = 2: one in-plane link per pair
    (8, 1, 0, False, [2] * 8),      # P = 1: no cross links
    (8, 2, 0, False, [3] * 8),      # delta P = 2, F = 0: one cross link per pair
    (8, 2, 1, False, [4] * 8),      # delta P = 2, F = 1: two distinct cross links
    (8, 2, 1, True, [3] * 8),       # star P = 2: both planes are seam planes
    (1, 1, 0, False, [0]),
])
def test_plus_grid_degenerate_shells(total, planes, phasing, star, expected):
    slots = tp.plus_grid(0, total, planes, phasing, star)
    _check_clean(slots)
    np.testing.assert_array_equal(tp.degree(slots, total), expected)


@settings(max_examples=150, deadline=None)
@given(planes=st.integers(1, 12), per_plane=st.integers(1, 12), data=st.data(), star=st.booleans(),
       shift=st.integers(-2, 2), first=st.integers(0, 1000))
def test_plus_grid_always_clean(planes, per_plane, data, star, shift, first):
    total = planes * per_plane
    phasing = data.draw(st.integers(0, planes - 1))
    slots = tp.plus_grid(first, total, planes, phasing, star, shift)
    a, b = tp.pairs(slots)
    assert np.all(a != b - first)
    assert np.all((b >= first) & (b < first + total))
    local = np.where(slots >= 0, slots - first, -1)
    _check_clean(local)
    assert tp.degree(local, total).max(initial=0) <= 4


def test_plus_grid_bad_walker_names_the_key():
    with pytest.raises(SpecValueError) as err:
        tp.plus_grid(0, 10, 3, 0, False)
    assert err.value.key == "planes"


@pytest.mark.parametrize("total, planes, phasing, star, inc, shift, ratio_max", [
    (1584, 72, 1, False, 53.0, 0, 1.0), (1584, 72, 39, False, 53.0, -1, 1.0), (120, 12, 5, False, 53.0, -1, 1.0),
    (1296, 36, 20, False, 42.0, None, 1.0),
    (720, 36, 5, True, 87.9, None, 1.0), (66, 6, 2, True, 86.4, 0, 1.2), (66, 6, 3, True, 86.4, -1, 1.2),
    (88, 8, 3, True, 80.0, None, 1.2)])
def test_plus_grid_cross_partner_is_nearest_in_adjacent_plane(total, planes, phasing, star, inc, shift, ratio_max):
    """Positions at t = 0 (orbit.propagate_numpy). With ``shift = nearest_cross_shift``,
    every satellite's cross-plane partner, seam included, is:
    - the nearest satellite of the adjacent plane (ratio 1 within 1e-9) for the delta
      shells and the 720/36/5 star shell; within 1.2 x the nearest for the small star
      shells, where near the poles another satellite of the converging plane passes
      closer for a moment (66/6/2 at 86.4 deg: 1.026; 88/8/3 at 80 deg: 1.156);
    - never farther than `cross_distance_max` (the pair's largest distance over an orbit,
      computed independently from two circular orbits) x the orbit radius, within 1e-4
      (its 0.5 deg sampling).
    The same slot (shift 0) would be up to 2.6 x farther than the nearest for 1584/72/39
    and 12 x for 120/12/5."""
    build = cons.walker_star if star else cons.walker_delta
    el = build(total, planes, phasing, 550.0, inc)
    r = _positions(el)
    a = el.semi_major_axis_m[0]
    s = total // planes
    best = tp.nearest_cross_shift(total, planes, phasing, inc, star)
    if shift is not None:
        assert best == shift

    def ratio_and_distance(slots):
        own = np.flatnonzero(slots[:, 1] >= 0)
        partner = slots[own, 1]
        cand = (partner // s)[:, None] * s + np.arange(s)[None, :]  # every satellite of that plane
        d_all = np.linalg.norm(r[cand] - r[own][:, None, :], axis=2)
        d = np.linalg.norm(r[partner] - r[own], axis=1)
        return float(np.max(d / d_all.min(axis=1))), float(d.max())

    ratio, d_max = ratio_and_distance(tp.plus_grid(0, total, planes, phasing, star, best))
    assert ratio <= ratio_max + 1e-9
    assert d_max <= tp.cross_distance_max(total, planes, phasing, inc, star, best) * a * (1.0 + 1e-4)
    if (total, planes, phasing) in ((1584, 72, 39), (120, 12, 5)):
        assert ratio_and_distance(tp.plus_grid(0, total, planes, phasing, star))[0] > 2.5
    # in-plane partner: the next slot, at the chord 2 a sin(pi / S)
    d_in = np.linalg.norm(r[tp.plus_grid(0, total, planes, phasing, star)[:, 0]] - r, axis=1)
    np.testing.assert_allclose(d_in, 2.0 * a * np.sin(np.pi / s), rtol=1e-9)


def test_cross_distance_max_starlink_like():
    """1584/72/1 at 53 deg: same-slot neighbours at most 0.0897 a apart (621 km at
    550 km); 1584/72/39: 0.105 a with shift -1 against 0.218 a with the same slot."""
    assert tp.cross_distance_max(1584, 72, 1, 53.0, False, 0) == pytest.approx(0.0897, abs=1e-4)
    assert tp.cross_distance_max(1584, 72, 39, 53.0, False, -1) == pytest.approx(0.1048, abs=1e-4)
    assert tp.cross_distance_max(1584, 72, 39, 53.0, False, 0) == pytest.approx(0.2182, abs=1e-4)


# -- within range, k nearest -------------------------------------------------------------------


def test_within_range_against_brute_force():
    rng = np.random.default_rng(3)
    n = 300
    x = rng.uniform(-1000.0, 1000.0, size=(n, 3))
    groups = rng.integers(0, 3, n)
    slots = tp.within_range(x, groups, 400.0)
    _check_clean(slots)
    a, b = tp.pairs(slots)
    assert np.all(a < b)  # owned by the lower index
    d = np.linalg.norm(x[:, None] - x[None, :], axis=2)
    i, j = np.nonzero((d < 400.0) & (groups[:, None] == groups[None, :]) & (np.arange(n)[:, None] < np.arange(n)))
    assert _undirected(slots) == set(zip(i.tolist(), j.tolist()))
    assert slots.shape[1] == np.bincount(i, minlength=n).max()


def test_within_range_edge_cases():
    x = np.array([[0.0, 0, 0], [100.0, 0, 0], [0.0, 0, 0]])
    s = tp.within_range(x, np.array([0, 0, 1]), 100.0)  # exactly at the range: not closer
    assert s.shape == (3, 1) and np.all(s == -1)
    s = tp.within_range(x, np.array([0, 0, 0]), 100.001)
    assert _undirected(s) == {(0, 1), (0, 2), (1, 2)}
    assert tp.within_range(np.zeros((0, 3)), np.zeros(0, int), 1.0).shape == (0, 1)


def test_within_range_refuses_a_huge_group():
    n = tp.MAX_GROUP + 1
    with pytest.raises(SpecValueError) as err:
        tp.within_range(np.zeros((n, 3)), np.zeros(n, int), 1.0)
    assert err.value.key == "topology" and isinstance(err.value, ValueError)
    # the same satellites split into two groups are fine
    x = np.random.default_rng(0).uniform(0, 1e6, (n, 3))
    tp.within_range(x, np.arange(n) % 2, 1.0)


@pytest.mark.parametrize("k", [1, 3, 6])
def test_k_nearest_against_brute_force(k):
    rng = np.random.default_rng(5 + k)
    n = 200
    x = rng.normal(size=(n, 3)) * 1e5
    slots = tp.k_nearest(x, k)
    assert slots.shape == (n, k)
    _check_clean(slots)
    d = np.linalg.norm(x[:, None] - x[None, :], axis=2)
    np.fill_diagonal(d, np.inf)
    near = np.argsort(d, axis=1)[:, :k]
    lists = [set(row.tolist()) for row in near]
    expected = set()
    for i in range(n):
        for j in lists[i]:
            expected.add((min(i, j), max(i, j)))
    assert _undirected(slots) == expected
    for i in range(n):  # who lists what: mutual pairs only in the lower index
        for s, j in enumerate(near[i]):
            mutual = i in lists[j]
            assert slots[i, s] == (-1 if mutual and i > j else j)


def test_k_nearest_small_and_coincident():
    assert np.all(tp.k_nearest(np.zeros((1, 3)), 2) == -1)
    s = tp.k_nearest(np.array([[0.0, 0, 0], [1.0, 0, 0], [5.0, 0, 0]]), 4)
    assert s.shape == (3, 4) and np.all(s[:, 2:] == -1)
    assert _undirected(s) == {(0, 1), (0, 2), (1, 2)}  # each has only 2 others: all pairs
    same = tp.k_nearest(np.zeros((5, 3)), 2)  # ties at distance 0: still no self links
    _check_clean(same)
    with pytest.raises(SpecValueError):
        tp.k_nearest(np.zeros((3, 3)), 0)


def test_pairs_degree_and_dedupe():
    slots = np.array([[1, 2], [0, -1], [2, 1]])
    clean = tp.dedupe(slots)
    # (1, 0) repeats (0, 1); (2, 2) is a self link; (2, 1) is new
    np.testing.assert_array_equal(clean, [[1, 2], [-1, -1], [-1, 1]])
    a, b = tp.pairs(clean)
    np.testing.assert_array_equal(a, [0, 0, 2])
    np.testing.assert_array_equal(b, [1, 2, 1])
    np.testing.assert_array_equal(tp.degree(clean, 4), [2, 2, 2, 0])
