"""The low-precision solar ephemeris against astropy (offline) and against itself."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pytest

from orbitwin_plugins.constants import AU_M
from orbitwin_plugins.ephemeris import days_since_j2000, julian_date, sun_position_eci

UTC = dt.timezone.utc


def _astropy_sun(epoch: dt.datetime, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pytest.importorskip("astropy")
    from astropy.utils import iers

    iers.conf.auto_download = False
    import astropy.units as u
    from astropy.coordinates import get_sun
    from astropy.time import Time

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ERFA's "dubious year" for leap seconds after the table
        sun = get_sun(Time(epoch) + t_s * u.s)  # GCRS, apparent, VSOP87-based
        xyz = sun.cartesian.xyz.to_value(u.m).T
    dist = np.linalg.norm(xyz, axis=1)
    return xyz / dist[:, None], dist


@pytest.mark.parametrize("year", [2020, 2024, 2026, 2030, 2035, 2040])
def test_matches_astropy_gcrs(year: int) -> None:
    """Direction within 0.015 deg (Almanac precision 0.01 deg; worst seen 0.0101) and
    distance within 1e-4 relative (worst seen 8.2e-5), sampled over one year."""
    epoch = dt.datetime(year, 1, 7, 5, 30, tzinfo=UTC)
    t_s = np.linspace(0.0, 365.25 * 86400.0, 61)
    sun_dir, sun_dist = sun_position_eci(t_s, epoch)
    ref_dir, ref_dist = _astropy_sun(epoch, t_s)
    angle_deg = np.degrees(np.arccos(np.clip(np.sum(sun_dir * ref_dir, axis=1), -1.0, 1.0)))
    assert angle_deg.max() < 0.015
    assert np.abs(sun_dist / ref_dist - 1.0).max() < 1e-4


def test_shapes_and_unit_vectors() -> None:
    epoch = dt.datetime(2026, 3, 20, tzinfo=UTC)
    d, r = sun_position_eci(np.arange(5.0) * 3600.0, epoch)
    assert d.shape == (5, 3) and r.shape == (5,)
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0, rtol=0, atol=1e-15)
    assert np.all((r > 0.98 * AU_M) & (r < 1.02 * AU_M))
    d1, r1 = sun_position_eci(7200.0, epoch)  # scalar time -> one row
    np.testing.assert_allclose(d1[0], d[2], atol=1e-15)


def test_equinox_and_solstice() -> None:
    """Near the March 2026 equinox (2026-03-20 14:46 UTC) the Sun crosses the equator
    going north at right ascension ~0 (J2000 axes: 0.36 deg of precession away from the
    equinox of date); at the June solstice its declination is ~ +23.44 deg."""
    epoch = dt.datetime(2026, 3, 20, 14, 46, tzinfo=UTC)
    d, _ = sun_position_eci(np.array([0.0, 92.75 * 86400.0]), epoch)
    dec0 = np.degrees(np.arcsin(d[0, 2]))
    assert abs(dec0) < 0.2  # z of J2000 differs from z of date by ~0.16 deg of tilt
    assert abs(np.degrees(np.arcsin(d[1, 2])) - 23.44) < 0.02


def test_julian_date() -> None:
    assert julian_date(0.0, dt.datetime(2000, 1, 1, 12, tzinfo=UTC)) == 2451545.0
    # Naive datetimes are UTC; offsets are honoured.
    naive = dt.datetime(2026, 3, 20)
    aware = dt.datetime(2026, 3, 20, 2, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert days_since_j2000(0.0, naive) == days_since_j2000(0.0, aware)
    # 2026-03-20T00:00Z is JD 2461119.5 (USNO Julian date converter).
    assert julian_date(0.0, naive) == pytest.approx(2461119.5, abs=1e-9)
    np.testing.assert_allclose(julian_date(np.array([0.0, 86400.0]), naive) - 2461119.5, [0.0, 1.0],
                               atol=1e-9)
