"""Low-precision solar ephemeris in orbitwin's ECI frame (mean equator and equinox of
J2000.0, which is the GCRS to within 0.03 arcsec of frame bias).

Not a plugin: a numpy library used on the host by the ``environment`` plugin (the Sun's
direction as a common series) and by the ``orbit`` plugin (the right ascension of the
ascending node of a sun-synchronous orbit from its local time).

Model
-----
The Astronomical Almanac's low-precision formulae for the Sun (The Astronomical Almanac,
section C "Sun", "Low precision formulas for the Sun"; restated in
Vallado, Fundamentals of Astrodynamics and Applications, 4th ed., Algorithm 29), with
``n`` days since J2000.0 (2000-01-01 12:00 TT)::

    L = 280.460 deg + 0.9856474 deg n           mean longitude, aberration included
    g = 357.528 deg + 0.9856003 deg n           mean anomaly
    lambda = L + 1.915 deg sin g + 0.020 deg sin 2g    ecliptic longitude (beta = 0)
    R = 1.00014 - 0.01671 cos g - 0.00014 cos 2g       distance [au]
    eps = 23.439 deg - 0.0000004 deg n                 mean obliquity of date

The Almanac states a precision of 0.01 deg in direction for 1950-2050; ``R`` is given to
1e-5 au. The longitude refers to the *mean equinox and ecliptic of date* and includes
annual aberration (-20.5 arcsec), i.e. it is the apparent direction a geocentric observer
sees, which is also the axis of the Earth's shadow in a geocentric frame.

Because the formula is of date, the vector built from ``(lambda, eps)`` is in the mean
equator and equinox of date, and is rotated to J2000 by the transpose of the IAU 1976
precession matrix ``P = R3(-z_A) R2(theta_A) R3(-zeta_A)`` with Lieske et al. (1977),
A&A 58, 1-16, angles (Vallado 4th ed., eq. 3-88; Montenbruck & Gill, Satellite Orbits,
2000, eq. 5.27)::

    zeta_A  = 2306.2181" T + 0.30188" T^2 + 0.017998" T^3
    theta_A = 2004.3109" T - 0.42665" T^2 - 0.041833" T^3
    z_A     = 2306.2181" T + 1.09468" T^2 + 0.018203" T^3

Leaving this out would cost 1.4 deg per century of error (0.56 deg in 2040).

Assumptions and limits
----------------------
- Time scale: the scenario epoch is UTC and is used as if it were TT (TT - UTC = 69.184 s
  since 2017). The Sun moves 0.9856 deg per day, so this shifts it by 0.0008 deg, a tenth
  of the formula's own precision. UT1 does not enter (no Earth rotation here).
- Nutation (up to 17 arcsec in longitude, 9 arcsec in obliquity) is neglected: the result
  is a mean, not a true, position. Frame bias between J2000 and the GCRS (23 mas) is
  neglected.
- Validity: the Almanac states 0.01 deg for 1950-2050; outside that the error grows
  slowly (the coefficients are linear in time). Measured against astropy as below, over
  a year from 7 January of each year: 0.0095 deg in 1900, 0.0087 deg in 2100, 0.015 deg
  in 1800, 0.013 deg in 2200, 0.024 deg in 1680 and 2261 (distance within 1.8e-4
  relative). Decision: a run that leaves 1950-2050 is warned about, naming the key
  (``scenario.epoch``, or the duration when only its end leaves the range), by the
  plugins that use these formulae (hook ``orbitwin_validity``,
  `SUN_FORMULAE_VALIDITY` below), and not refused: the
  store's time coordinate already limits a run to 1677-09-22 .. 2262-04-11
  (`twin_core.scenario.STORE_TIME_MIN`, refused when the scenario is read), and over
  that whole span the error stays below 0.025 deg: about 0.4 s of eclipse timing in
  low orbit (0.025 deg of a 95-min orbit; more where an orbit grazes the shadow).

Validated in ``tests/test_ephemeris.py`` against astropy's ``get_sun`` (GCRS, ERFA's
VSOP87-based ``epv00``): direction within 0.01 deg and distance within 1e-4 relative over
2020-2040.
"""

from __future__ import annotations

import datetime as _dt

from typing import Any

import numpy as np

from orbitwin_plugins.constants import AU_M, DAY_S
from twin_core.declarations import ValidRange

#: Where the Astronomical Almanac's low-precision Sun formulae, which this module and
#: `orbitwin_plugins.constellations.mean_sun_ra_deg` use, hold their stated precision
#: (0.01 deg over 1950-2050), and what happens outside (measured against astropy, module
#: docstring). Warned about, not refused: over every date a store can
#: hold (1677-2262) the error stays below 0.025 deg. A plugin that uses these formulae
#: states this range in ``orbitwin_validity``.
SUN_FORMULAE_VALIDITY = ValidRange(
    model="Sun ephemeris (Astronomical Almanac low-precision formulae)",
    start=_dt.datetime(1950, 1, 1, tzinfo=_dt.timezone.utc),
    end=_dt.datetime(2050, 12, 31, 23, 59, 59, tzinfo=_dt.timezone.utc),
    holds="0.01 deg in direction (the Almanac's stated precision)",
    outside=("its error grows slowly (against astropy: 0.015 deg in 1800 and 0.013 deg in 2200, 0.024 deg "
             "in 1680 and 2261), about 0.4 s of eclipse timing in low orbit"))

#: The J2000.0 epoch, 2000-01-01 12:00 TT, taken as UTC here (see module docstring).
J2000 = _dt.datetime(2000, 1, 1, 12, 0, 0, tzinfo=_dt.timezone.utc)

#: Julian date of J2000.0 [d]. IAU definition.
JD_J2000 = 2451545.0

#: Days per Julian century [d].
DAYS_PER_CENTURY = 36525.0

_ARCSEC = np.pi / (180.0 * 3600.0)
_DEG = np.pi / 180.0


def _as_utc(epoch: _dt.datetime) -> _dt.datetime:
    if epoch.tzinfo is None:
        return epoch.replace(tzinfo=_dt.timezone.utc)
    return epoch.astimezone(_dt.timezone.utc)


def days_since_j2000(t_s: np.ndarray | float, epoch: _dt.datetime) -> np.ndarray:
    """Days since J2000.0 of the times ``epoch + t_s``.

    Args:
        t_s: seconds since ``epoch`` (any shape), float64.
        epoch: a datetime; naive means UTC.

    Returns:
        float64 array of the shape of ``t_s``: days since 2000-01-01 12:00, with UTC used
        as TT (an error of 69 s, see the module docstring). The epoch offset is taken
        exactly (integer microseconds) before the float addition, so the result resolves
        about 1e-9 d (0.1 ms) for dates near 2000-2100.
    """
    delta = _as_utc(epoch) - J2000
    d0 = delta.days + (delta.seconds + delta.microseconds * 1e-6) / DAY_S
    return d0 + np.asarray(t_s, dtype=np.float64) / DAY_S


def julian_date(t_s: np.ndarray | float, epoch: _dt.datetime) -> np.ndarray:
    """Julian date (UTC used as TT) of ``epoch + t_s``; see `days_since_j2000`."""
    return JD_J2000 + days_since_j2000(t_s, epoch)


def precession_matrix(T: Any) -> np.ndarray:
    """IAU 1976 precession ``P = R3(-z) R2(theta) R3(-zeta)`` (Vallado eq. 3-88; Montenbruck
    & Gill eq. 5.27 written out), from the mean equator and equinox of J2000 to that of
    date, ``T`` Julian centuries (TT) since J2000; shape ``T.shape + (3, 3)``."""
    T = np.asarray(T, dtype=np.float64)
    zeta = (2306.2181 * T + 0.30188 * T**2 + 0.017998 * T**3) * _ARCSEC
    theta = (2004.3109 * T - 0.42665 * T**2 - 0.041833 * T**3) * _ARCSEC
    z = (2306.2181 * T + 1.09468 * T**2 + 0.018203 * T**3) * _ARCSEC
    cz, sz = np.cos(zeta), np.sin(zeta)
    ct, st = np.cos(theta), np.sin(theta)
    cZ, sZ = np.cos(z), np.sin(z)
    p = np.empty(T.shape + (3, 3))
    p[..., 0, 0] = cZ * ct * cz - sZ * sz
    p[..., 0, 1] = -cZ * ct * sz - sZ * cz
    p[..., 0, 2] = -cZ * st
    p[..., 1, 0] = sZ * ct * cz + cZ * sz
    p[..., 1, 1] = -sZ * ct * sz + cZ * cz
    p[..., 1, 2] = -sZ * st
    p[..., 2, 0] = st * cz
    p[..., 2, 1] = -st * sz
    p[..., 2, 2] = ct
    return p


def _precession_to_j2000(vec: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Rotate vectors (k, 3) from the mean equator and equinox of date (Julian centuries
    ``T`` since J2000) to that of J2000: ``v_J2000 = P(T)^T v_date`` (`precession_matrix`)."""
    p = precession_matrix(T)
    # v_J2000 = P^T v_date
    return np.einsum("kji,kj->ki", p, vec)


def sun_position_eci(t_s: np.ndarray | float, epoch: _dt.datetime) -> tuple[np.ndarray, np.ndarray]:
    """Direction and distance of the Sun from the Earth's centre.

    Args:
        t_s: seconds since ``epoch``, shape ``(k,)`` (a scalar is treated as ``(1,)``).
        epoch: the scenario epoch (UTC; a naive datetime is taken as UTC).

    Returns:
        ``(sun_dir, sun_dist_m)``: unit vectors of shape ``(k, 3)`` in the mean equator
        and equinox of J2000 (orbitwin's ECI), and Earth-Sun distances of shape ``(k,)``
        in metres. Apparent direction (annual aberration included), mean (no nutation);
        precision 0.01 deg and 1e-4 relative in distance for 1950-2050 (module docstring).
    """
    t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
    n = days_since_j2000(t, epoch)
    L = np.deg2rad(np.mod(280.460 + 0.9856474 * n, 360.0))
    g = np.deg2rad(np.mod(357.528 + 0.9856003 * n, 360.0))
    lam = L + np.deg2rad(1.915 * np.sin(g) + 0.020 * np.sin(2.0 * g))
    eps = np.deg2rad(23.439 - 0.0000004 * n)
    dist_au = 1.00014 - 0.01671 * np.cos(g) - 0.00014 * np.cos(2.0 * g)

    cl, sl = np.cos(lam), np.sin(lam)
    vec_date = np.stack([cl, np.cos(eps) * sl, np.sin(eps) * sl], axis=-1)
    vec = _precession_to_j2000(vec_date, n / DAYS_PER_CENTURY)
    vec /= np.linalg.norm(vec, axis=-1, keepdims=True)
    return vec, dist_au * AU_M


__all__ = ["J2000", "JD_J2000", "days_since_j2000", "julian_date", "sun_position_eci"]
