"""Tests of orbitwin_plugins.radiation_env (pure numpy model; docs/radiation.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import orbitwin_plugins.radiation_env as rad
from orbitwin_plugins.constants import R_EARTH_M
from twin_core.validators import SpecValueError


def _ecef(lat_deg, lon_deg, alt_km):
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    r = R_EARTH_M + np.asarray(alt_km) * 1e3
    return np.stack(np.broadcast_arrays(r * np.cos(lat) * np.cos(lon), r * np.cos(lat) * np.sin(lon),
                                        r * np.sin(lat)), axis=-1)


def _dipole_point(mag_lat_deg, rho_m, year=rad.IGRF_EPOCH_YEAR):
    """A point at dipole latitude ``mag_lat_deg`` and distance ``rho_m`` from the dipole centre."""
    _, axis, offset = rad.eccentric_dipole(year)
    perp = np.cross(axis, [0.0, 0.0, 1.0])
    perp /= np.linalg.norm(perp)
    lat = math.radians(mag_lat_deg)
    return offset + rho_m * (math.cos(lat) * perp + math.sin(lat) * axis)


# -- dipole, closed form ----------------------------------------------------------------

def test_dipole_pole_and_strength_match_igrf14():
    b0, axis, offset = rad.eccentric_dipole()
    # IGRF-14 2025.0 boreal geomagnetic pole: 80.8 N, 72.8 W; B0 = 29 733 nT
    assert math.degrees(math.asin(axis[2])) == pytest.approx(80.79, abs=0.01)
    assert math.degrees(math.atan2(axis[1], axis[0])) == pytest.approx(-72.76, abs=0.01)
    assert b0 == pytest.approx(math.sqrt(29350.0**2 + 1410.3**2 + 4545.5**2))
    # offset of a few hundred km, towards the western Pacific (northern hemisphere, lon ~ 135-150 E)
    assert 450e3 < np.linalg.norm(offset) < 700e3
    assert 120.0 < math.degrees(math.atan2(offset[1], offset[0])) < 160.0 and offset[2] > 0


@pytest.mark.parametrize("rho_re", [1.05, 1.5, 4.0])
def test_dipole_equator_closed_form(rho_re):
    p = _dipole_point(0.0, rho_re * rad.A_REF_M)
    l_shell, b_ratio = rad.geomagnetic(p)
    assert l_shell == pytest.approx(rho_re, rel=1e-12)
    assert b_ratio == pytest.approx(1.0, rel=1e-12)
    assert rad.field_magnitude_nt(p) == pytest.approx(rad.eccentric_dipole()[0] / rho_re**3, rel=1e-12)


@pytest.mark.parametrize("lat", [20.0, -45.0, 60.0])
def test_dipole_field_line_closed_form(lat):
    rho = 1.1 * rad.A_REF_M
    l_shell, b_ratio = rad.geomagnetic(_dipole_point(lat, rho))
    c = math.cos(math.radians(lat))
    assert l_shell == pytest.approx(1.1 / c**2, rel=1e-12)
    assert b_ratio == pytest.approx(math.sqrt(1 + 3 * math.sin(math.radians(lat)) ** 2) / c**6, rel=1e-12)


def test_dipole_poles():
    rho = 1.2 * rad.A_REF_M
    pole = _dipole_point(90.0, rho)
    l_shell, b_ratio = rad.geomagnetic(pole)
    assert l_shell > 1e6 and b_ratio > 1e12  # on the axis (inf up to rounding of the unit vector)
    b_eq = rad.field_magnitude_nt(_dipole_point(0.0, rho))
    assert rad.field_magnitude_nt(pole) == pytest.approx(2.0 * b_eq, rel=1e-12)
    assert rad.field_magnitude_nt(_dipole_point(-90.0, rho)) == pytest.approx(2.0 * b_eq, rel=1e-12)


def test_centred_dipole_option_and_secular_variation():
    p = _ecef(0.0, 0.0, 500.0)
    assert rad.geomagnetic(p, eccentric=False)[0] != rad.geomagnetic(p)[0]
    # the dipole weakens by ~12.6 nT/yr in g10: B0 falls between 2025 and 2030
    assert rad.eccentric_dipole(2030.0)[0] < rad.eccentric_dipole(2025.0)[0]
    with pytest.raises(SpecValueError, match="'year'"):
        rad.dipole_coefficients(2040.0)


def test_weak_field_over_south_atlantic():
    lat, lon = np.meshgrid(np.arange(-89.0, 90.0), np.arange(-180.0, 180.0), indexing="ij")
    b = rad.field_magnitude_nt(_ecef(lat, lon, 500.0))
    i = np.unravel_index(np.argmin(b), b.shape)
    # the eccentric dipole puts the minimum at ~8 S 46 W (the full IGRF: ~25 S; docs/radiation.md)
    assert -60.0 <= lon[i] <= 0.0
    assert -40.0 <= lat[i] <= -5.0
    # the centred dipole has no such minimum: |B| at the equator is the same at every longitude
    bc = rad.field_magnitude_nt(_ecef(0.0 * lon[0], lon[0], 500.0), eccentric=False)
    assert np.ptp(bc) / bc.mean() < 0.1


# -- dose rate vs the table ---------------------------------------------------------------

TABLE = rad.dose_table()
POINTS = [(float(i), float(x)) for i, x in zip(TABLE["inclination_deg"], TABLE["al_mm"]) if i >= 30.0]


@pytest.mark.parametrize("inc,x", POINTS)
def test_orbit_average_reproduces_table(inc, x):
    sel = (TABLE["inclination_deg"] == inc) & (TABLE["al_mm"] == x)
    p_tab, e_tab = TABLE["protons"][sel][0], TABLE["electrons"][sel][0]
    o = rad.orbit_average(rad.TABLE_ALTITUDE_KM, inc, x)
    # stated tolerances (docs/radiation.md): protons 45 % below 4 mm Al and 15 % from 4 mm;
    # electrons (with bremsstrahlung) 35 %; total 20 %
    assert o["protons"] == pytest.approx(p_tab, rel=0.45 if x < 4 else 0.15)
    assert o["electrons"] == pytest.approx(e_tab, rel=0.35)
    assert o["total"] == pytest.approx(p_tab + e_tab, rel=0.20)


def test_table_units_match_spenvis_totals():
    # 550 km, 55 deg, 10 mm: 764.84 rad(Si) total over the 1825-day mission
    sel = (TABLE["inclination_deg"] == 55) & (TABLE["al_mm"] == 10)
    total = (TABLE["protons"][sel][0] + TABLE["electrons"][sel][0]) * rad.TABLE_DURATION_S
    assert total == pytest.approx(764.84, rel=1e-4)


def test_one_day_track_matches_long_term_average():
    """Propagate circular 550 km, 55 deg orbits for a day (numpy Kepler + Earth rotation) at
    several nodes: the time average matches the grid average within 10 %."""
    t = np.arange(0.0, 86400.0, 20.0)
    tracks = np.concatenate([rad.circular_orbit_track_ecef(550.0, 55.0, t, raan) for raan in (0, 90, 180, 270)])
    d = rad.dose_rate_rad_si_per_s(tracks, 4.0)
    assert d.mean() == pytest.approx(rad.orbit_average(550.0, 55.0, 4.0)["total"], rel=0.10)


def test_saa_dominates_behind_thick_shielding():
    lat, lon = np.meshgrid(np.arange(-60.0, 61.0, 2.0), np.arange(-180.0, 180.0, 2.0), indexing="ij")
    d = rad.dose_rate_rad_si_per_s(_ecef(lat, lon, 550.0), 10.0)
    saa = (lon > -70) & (lon < -10) & (lat > -35) & (lat < 5)
    pacific = (lon > 150) & (lat > -30) & (lat < 30)
    assert d[saa].max() > 100.0 * np.median(d[pacific])
    i = np.unravel_index(np.argmax(d), d.shape)
    assert saa[i]


def test_horns_at_high_latitude_behind_thin_shielding():
    d_horn = rad.dose_rate_rad_si_per_s(_ecef(60.0, 90.0, 550.0), 2.0)    # Siberia, L ~ 4
    d_mid = rad.dose_rate_rad_si_per_s(_ecef(30.0, 90.0, 550.0), 2.0)     # India, L ~ 1.2
    _, e_horn = rad.trapped_dose_rates(_ecef(60.0, 90.0, 550.0), 2.0)
    assert d_horn > 30.0 * d_mid and e_horn > 0.9 * d_horn


def test_dose_rises_with_altitude_and_falls_with_shielding():
    sso = [rad.orbit_average(h, 97.6, 10.0)["total"] for h in (400.0, 550.0, 650.0, 800.0)]
    assert np.all(np.diff(sso) > 0)
    thick = [rad.orbit_average(550.0, 55.0, x)["total"] for x in (1.0, 2.5, 5.0, 10.0, 20.0)]
    assert np.all(np.diff(thick) < 0)


def test_vectorised_over_satellites_and_shielding():
    r = _ecef(np.array([-25.0, 0.0, 60.0]), np.array([-45.0, 100.0, 90.0]), 550.0)
    each = [float(rad.dose_rate_rad_si_per_s(r[k], x)) for k, x in enumerate((3.0, 5.0, 12.0))]
    assert rad.dose_rate_rad_si_per_s(r, np.array([3.0, 5.0, 12.0])) == pytest.approx(each, rel=1e-12)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), 0.5, 25.0])
def test_bad_shielding_names_the_key(bad):
    with pytest.raises(SpecValueError, match="'shielding_mm_al'"):
        rad.dose_rate_rad_si_per_s(_ecef(0.0, 0.0, 550.0), bad)


# -- solar particle events -----------------------------------------------------------------

def test_spe_mean_rate_and_errors():
    assert rad.spe_dose_rate_rad_si_per_s(10.0) * rad.SECONDS_PER_YEAR == pytest.approx(10.0)
    base = rad.dose_rate_rad_si_per_s(_ecef(0.0, 100.0, 550.0), 5.0)
    with_spe = rad.dose_rate_rad_si_per_s(_ecef(0.0, 100.0, 550.0), 5.0, spe_rad_si_per_year=10.0)
    assert with_spe - base == pytest.approx(10.0 / rad.SECONDS_PER_YEAR)
    with pytest.raises(SpecValueError, match="'spe_rad_si_per_year'"):
        rad.spe_dose_rate_rad_si_per_s(-1.0)


def test_spe_events_are_seeded_and_poisson():
    five_years = 5 * rad.SECONDS_PER_YEAR
    a = rad.spe_events(7, five_years, 4.0, 2.0)
    b = rad.spe_events(7, five_years, 4.0, 2.0)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert np.all(np.diff(a[0]) >= 0) and np.all((a[0] >= 0) & (a[0] < five_years))
    counts = [len(rad.spe_events(s, five_years, 4.0, 2.0)[0]) for s in range(200)]
    assert np.mean(counts) == pytest.approx(20.0, rel=0.1)
    with pytest.raises(SpecValueError, match="'seed'"):
        rad.spe_events(1.5, five_years, 4.0, 2.0)
