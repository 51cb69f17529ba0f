"""Optical link budget and line of sight (orbitwin_plugins.linkbudget): monotone capacity,
the inverse-square regime by hand, presets against their published rate and range, the
near-field cap, validation naming the key, and line of sight against closed forms."""

from __future__ import annotations

import math

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orbitwin_plugins import linkbudget as lb
from orbitwin_plugins.constants import R_EARTH_M
from twin_core.validators import SpecValueError

SCOT80 = lb.PRESETS["tesat_scot80"]
SUNCATCHER = lb.PRESETS["suncatcher"]

terminals = st.builds(
    lb.OpticalTerminal,
    tx_power_w=st.floats(1e-4, 20.0), aperture_m=st.floats(0.005, 0.5), wavelength_nm=st.floats(800.0, 2000.0),
    pointing_loss_db=st.floats(0.0, 10.0), optics_loss_db=st.floats(0.0, 10.0),
    photons_per_bit=st.floats(1.0, 1e4), channels=st.integers(1, 64), channel_rate_bps=st.floats(1e6, 1e12),
    max_range_km=st.floats(0.1, 1e5))


@settings(max_examples=200, deadline=None)
@given(term=st.one_of(st.sampled_from(list(lb.PRESETS.values())), terminals),
       ranges=st.lists(st.floats(0.0, 2e8), min_size=2, max_size=50))
def test_capacity_monotone_and_zero_beyond_max_range(term, ranges):
    r = np.sort(np.asarray(ranges))
    c = lb.capacity_bps(term, r)
    assert np.all(np.diff(c) <= 0.0)
    assert np.all(c[r > term.max_range_m] == 0.0)
    assert np.all(c[r <= term.max_range_m] > 0.0)
    assert np.all(c <= term.modem_rate_bps)
    # the kernel's form: min(cap, k / R^2) up to the maximum range, 0 beyond
    k, cap, r_max = lb.capacity_coefficients(term)
    with np.errstate(divide="ignore", over="ignore"):
        expected = np.where(r <= r_max, np.minimum(cap, k / r**2), 0.0)
    np.testing.assert_allclose(c, expected, rtol=1e-15)


def test_inverse_square_regime_by_hand():
    """SCOT80 with its range limit lifted, at 15,000 km, where the photon limit binds:

    G      = (pi 0.08 / 1.55e-6)^2           = 2.6292e10   (104.20 dB, each end)
    L      = (1.55e-6 / (4 pi 1.5e7))^2      = 6.7618e-29  (-281.70 dB)
    eta    = 10^(-(2 + 4)/10)                = 0.25119
    P_rx   = 2 W x 0.25119 x G^2 x L         = 2.3481e-8 W
    E_ph   = h c / 1.55e-6                   = 1.28158e-19 J
    rate   = P_rx / (40 x E_ph)              = 4.5806e9 bit/s   (below the 10 Gbit/s modem)

    and it falls as R^-2: at 30,000 km a quarter of that."""
    far = attrs.evolve(SCOT80, max_range_km=40_000.0)
    np.testing.assert_allclose(lb.received_power_w(far, 1.5e7), 2.3481e-8, rtol=1e-4)
    np.testing.assert_allclose(lb.capacity_bps(far, 1.5e7), 4.5806e9, rtol=1e-4)
    np.testing.assert_allclose(lb.capacity_bps(far, 3.0e7), 4.5806e9 / 4.0, rtol=1e-4)
    k, cap, _ = lb.capacity_coefficients(far)
    assert cap == 10e9 and math.isclose(k / 1.5e7**2, 4.5806e9, rel_tol=1e-4)


@pytest.mark.parametrize("name, range_km, rate_bps, margin_db", [
    # Via Satellite, 28 May 2024: 10 Gbit/s up to 8,000 km. The modem binds there: the
    # photon limit (16.1 Gbit/s) is 2.1 dB above it with the preset's assumed power,
    # losses and sensitivity.
    ("tesat_scot80", 8000.0, 10e9, (1.0, 3.0)),
    # Suncatcher: 800 Gbit/s each way between satellites within ~1 km. The budget is far
    # from binding (at 1 km the photon limit is 4e14 bit/s, 27 dB up): the link is in the
    # near field, the modem sets the rate.
    ("suncatcher", 1.0, 800e9, (20.0, 30.0)),
])
def test_presets_at_their_published_range(name, range_km, rate_bps, margin_db):
    """Each preset carries its published rate at its published range (equal: the modem
    cap binds, so the factor is 1), with a link margin in the stated band, not a budget
    that only closes by luck or one that is absurdly loose."""
    term = lb.PRESETS[name]
    r = range_km * 1e3
    assert lb.capacity_bps(term, r) == pytest.approx(rate_bps, rel=1e-12)
    k, _, _ = lb.capacity_coefficients(term)
    margin = 10.0 * math.log10(k / r**2 / rate_bps)
    assert margin_db[0] <= margin <= margin_db[1]
    assert term.max_range_m >= r


def test_preset_figures():
    """The sourced figures stay as published."""
    assert SCOT80.aperture_m == 0.08 and SCOT80.max_range_km == 8000.0 and SCOT80.mass_kg == 11.9
    assert SCOT80.modem_rate_bps == 10e9
    assert SUNCATCHER.modem_rate_bps == 800e9  # 800 Gbit/s each way, 1.6 Tbit/s total
    assert 2.0 * SUNCATCHER.modem_rate_bps == 1.6e12


def test_near_field_cap_and_rayleigh_distance():
    """D^2 / lambda: 4,129 m for 8 cm, 6,452 m for 10 cm at 1550 nm. The geometric factor
    never exceeds 1, reaching it at pi D^2 / (4 lambda) = 3,243 m for 8 cm; below that the
    received power is P_tx eta."""
    assert lb.rayleigh_distance_m(SCOT80) == pytest.approx(0.08**2 / 1.55e-6) == pytest.approx(4129.03, abs=0.01)
    assert lb.rayleigh_distance_m(SUNCATCHER) == pytest.approx(6451.61, abs=0.01)
    r = np.array([0.0, 1.0, 100.0, 3242.9, 3243.0, 1e4])
    g = lb.geometric_coupling(SCOT80, r)
    assert np.all(g <= 1.0) and np.all(g[:4] == 1.0) and g[-1] < 1.0
    np.testing.assert_allclose(lb.received_power_w(SCOT80, 0.0), 2.0 * 10**-0.6)
    # near-field photon ceiling in cap_bps when it is lower than the modem
    weak = attrs.evolve(SCOT80, tx_power_w=1e-9, max_range_km=1.0)
    _, cap, _ = lb.capacity_coefficients(weak)
    assert cap == pytest.approx(1e-9 * 10**-0.6 / (40.0 * weak.photon_energy_j))
    assert lb.capacity_bps(weak, 0.0) == cap


@settings(max_examples=100, deadline=None)
@given(term=terminals, frac=st.floats(1e-6, 1.0))
def test_range_at_capacity_inverts(term, frac):
    k, cap, r_max = lb.capacity_coefficients(term)
    q = frac * cap
    r = float(lb.range_at_capacity_m(term, q))
    assert 0.0 < r <= r_max
    assert lb.capacity_bps(term, r) >= q * (1.0 - 1e-12)
    if r < r_max:  # just beyond, less than q
        assert lb.capacity_bps(term, r * (1.0 + 1e-9)) < q
    assert lb.range_at_capacity_m(term, 2.0 * cap) == 0.0
    assert lb.range_at_capacity_m(term, 0.0) == r_max


@pytest.mark.parametrize("key, value", [("aperture_m", -0.08), ("tx_power_w", 0.0), ("wavelength_nm", float("nan")),
                                        ("pointing_loss_db", -1.0), ("optics_loss_db", -0.1),
                                        ("photons_per_bit", 0.0), ("channels", 0), ("channels", 2.5),
                                        ("channel_rate_bps", -1.0), ("max_range_km", 0.0), ("power_w", -5.0),
                                        ("standby_power_w", -1.0), ("mass_kg", -1.0), ("acquisition_s", -1.0)])
def test_validation_names_the_key(key, value):
    with pytest.raises(SpecValueError) as err:
        attrs.evolve(SCOT80, **{key: value})
    assert err.value.key == key and key in str(err.value)


def test_unknown_preset_names_the_key():
    with pytest.raises(SpecValueError) as err:
        lb.from_preset("scot81")
    assert err.value.key == "preset"
    assert lb.from_preset("suncatcher", max_range_km=2.0).max_range_km == 2.0


def test_negative_range_is_refused():
    with pytest.raises(ValueError):
        lb.capacity_bps(SCOT80, [-1.0])


# -- line of sight -----------------------------------------------------------------------


def _random_rotations(rng, n):
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = q.T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1)], 1)


def test_line_of_sight_equal_altitudes_closed_form():
    """Two satellites at altitude h, central angle theta apart: the chord's midpoint is
    its closest point to the centre, at (R + h) cos(theta / 2); blocked iff that is below
    R_g. 20,000 random pairs in random orientations; pairs within 1 m of grazing (where
    rounding of the rotated coordinates, ~1e-9 m, could not matter anyway, but the
    condition is a tie) are left out: tolerance 1 m."""
    rng = np.random.default_rng(7)
    n = 20_000
    h = rng.uniform(150e3, 2000e3, n)
    theta = rng.uniform(0.0, np.pi, n)
    a = R_EARTH_M + h
    p1 = np.stack([a, np.zeros(n), np.zeros(n)], -1)
    p2 = np.stack([a * np.cos(theta), a * np.sin(theta), np.zeros(n)], -1)
    rot = _random_rotations(rng, n)
    r1, r2 = np.einsum("nij,nj->ni", rot, p1), np.einsum("nij,nj->ni", rot, p2)
    rg = lb.GRAZING_RADIUS_M
    clear = a * np.cos(theta / 2.0) >= rg
    tie = np.abs(a * np.cos(theta / 2.0) - rg) < 1.0
    got = lb.line_of_sight(r1, r2, rg)
    assert got.shape == (n,)
    np.testing.assert_array_equal(got[~tie], clear[~tie])
    assert 0.2 < clear.mean() < 0.8  # both outcomes well represented


def test_line_of_sight_matches_max_los_range():
    """For satellites above the grazing sphere, clear iff their distance is at most
    sqrt(r1^2 - R_g^2) + sqrt(r2^2 - R_g^2); random radii 6,500-8,500 km, tolerance 1 m
    on that distance."""
    rng = np.random.default_rng(11)
    n = 20_000
    u = rng.normal(size=(2, n, 3))
    u /= np.linalg.norm(u, axis=2, keepdims=True)
    rad = rng.uniform(6500e3, 8500e3, size=(2, n))
    r1, r2 = u[0] * rad[0][:, None], u[1] * rad[1][:, None]
    dist = np.linalg.norm(r1 - r2, axis=1)
    limit = lb.max_los_range_m(rad[0], rad[1])
    tie = np.abs(dist - limit) < 1.0
    np.testing.assert_array_equal(lb.line_of_sight(r1, r2)[~tie], (dist <= limit)[~tie])


def test_line_of_sight_edge_cases_and_broadcasting():
    rg = lb.GRAZING_RADIUS_M
    a = np.array([R_EARTH_M + 550e3, 0.0, 0.0])
    assert lb.line_of_sight(a, a)  # coincident points above the sphere
    assert not lb.line_of_sight(-a, a)  # through the Earth
    assert lb.line_of_sight(a, 2.0 * a)  # radial, outward: closest point is r1
    inside = np.array([rg - 1.0, 0.0, 0.0])
    assert not lb.line_of_sight(inside, a)
    many = np.tile(a, (4, 5, 1))
    assert lb.line_of_sight(many, a).shape == (4, 5)
    assert lb.max_los_range_m(rg - 1.0, 7e6) == 0.0
    # 550 km: 2 sqrt((R_E + 550 km)^2 - (R_E + 80 km)^2) = 5,016.6 km
    assert lb.max_los_range_m(R_EARTH_M + 550e3, R_EARTH_M + 550e3) == pytest.approx(5016.59e3, abs=10.0)
