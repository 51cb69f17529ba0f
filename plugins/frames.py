"""Reference frames of orbitwin and the rotations between them (pure numpy, no hooks).

Not a plugin: a library for the host, like `orbitwin_plugins.ephemeris`. It states what
orbitwin's "ECI" is, and converts SGP4's TEME frame to it (the SGP4 propagator and the
element-set importers need this), and gives the Earth's pole of date in ECI (the J2 axis
of `orbitwin_plugins.orbit_frames`).

Frames
------
``ECI`` (every ``*_eci*`` variable and description "ECI (mean J2000)")
    orbitwin's Earth-centred inertial frame is the **mean equator and mean equinox of
    J2000.0** (often "EME2000", the dynamical J2000 frame of the IAU 1976/1980 system that
    FK5 realises): origin the Earth's centre, z the mean celestial pole at J2000.0
    (2000-01-01 12:00 TT), x the mean vernal equinox at J2000.0, not rotating. Every
    plugin reaches it through the IAU 1976 precession (`ephemeris.precession_matrix`,
    Lieske et al. 1977): the Sun's direction (`ephemeris.sun_position_eci`), the Earth's
    rotation of the ground and radiation plugins (``P^T R3(-GMST)``, nutation left out
    there) and the mean Sun of sun-synchronous shells. It is the GCRS up to the *frame
    bias*, a fixed rotation of about 23 mas (IERS Conventions 2010, eq. 5.21:
    xi_0 = -16.617 mas, eta_0 = -6.819 mas, d alpha_0 = -14.6 mas), 0.8 m at 7,000 km;
    ``twin_core.interfaces`` calls it "the GCRS realised to low precision" in that sense.
    Interface vectors in this frame: ``orbit.r_eci_m``, ``orbit.v_eci_m_s`` (the velocity
    is d/dt of the position in this frame), ``environment.sun_dir_eci``; the rotation
    series ``ground.ecef_to_eci`` and ``radiation.ecef_to_eci`` map Earth-fixed vectors
    into it.

``MOD(t)``, mean of date
    mean equator and mean equinox of date: ``r_MOD = P(T) r_ECI``, ``P`` the IAU 1976
    precession ``R3(-z_A) R2(theta_A) R3(-zeta_A)`` (Vallado, Fundamentals of Astrodynamics
    and Applications, 4th ed., 2013, eq. 3-88; `ephemeris.precession_matrix`, reused here).
    Its z axis is the **mean pole of date**, `pole_of_date`.

``TOD(t)``, true of date
    true equator and true equinox of date: ``r_TOD = N(T) r_MOD`` with the IAU 1980
    nutation (Seidelmann 1982; Vallado 2013 sec. 3.7)::

        N = R1(-eps) R3(-dpsi) R1(eps_bar),    eps = eps_bar + deps

    ``eps_bar`` the IAU 1980 mean obliquity (Lieske et al. 1977; Vallado sec. 3.7)::

        eps_bar = 84381.448" - 46.8150" T - 0.00059" T^2 + 0.001813" T^3

    and ``dpsi, deps`` the 106-term series (``data/nutation_iau1980.csv``, with its
    source) in the Delaunay arguments of the Explanatory Supplement (1992) sec. 3.222
    (Vallado sec. 3.7). The whole series is the default (106 sines per time, on the
    host); ``terms`` truncates it (errors under Accuracy). Its z axis is the true pole
    of date, `pole_of_date` with ``nutation=True``.

``TEME(t)``, SGP4's frame
    true equator, mean equinox: the frame of two-line element sets and of SGP4's output
    (Vallado, Crawford, Hujsak & Kelso, "Revisiting Spacetrack Report #3", AIAA
    2006-6753; Vallado 2013 sec. 3.7). Its z axis is the true pole (as
    TOD); its x axis is the mean equinox projected on the true equator, i.e. TOD turned
    by the equation of the equinoxes about z::

        r_TOD = R3(-Eq_eq) r_TEME,     Eq_eq = dpsi cos(eps_bar)      (Vallado sec. 3.7)

    the IAU 1982 geometric term only, as Vallado's ``teme2eci`` (the 1994 kinematic terms
    0.00264" sin Omega + 0.000063" sin 2 Omega are left out of TEME; they would move a
    LEO position by at most 0.09 m). Hence::

        r_ECI = P(T)^T N(T)^T R3(-Eq_eq) r_TEME            (`teme_to_eci_matrix`)

    "of date": the matrix at the time of each SGP4 output, as Vallado recommends and
    astropy's ``TEME`` frame does (obstime = the time of the position); "of epoch" (the
    matrix at the element set's epoch) differs by the precession and nutation between
    the two times, ~1" (30 m) after a week. Velocities are turned by the same matrix: the
    frames turn relative to one another by < 1e-11 rad/s, < 1e-4 m/s at 7,000 km.

``R1(a), R2(a), R3(a)`` are frame rotations (a vector's components in axes turned by
``a`` about x, y, z): ``R3(a) = [[cos a, sin a, 0], [-sin a, cos a, 0], [0, 0, 1]]``.

Time: ``T`` is Julian centuries since J2000.0. Precession and nutation are functions of
TT; orbitwin uses UTC as TT (as `orbitwin_plugins.ephemeris`): the 69 s offset moves
precession by 0.1 mas and nutation by < 0.1 mas (its fastest large term, 0.2", has a
13.66-day period), far below everything else here.

Accuracy
--------
Against ERFA's IAU 1976/1980 routines (``pmat76``, ``obl80``, ``nut80``, ``nutm80``, and
``eqeq94`` less its kinematic terms), the same model in independent code: 1e-15 rad.

Against astropy, which realises TEME through GMST 1982 and the Earth's rotation and the
GCRS through IAU 2006 precession and IAU 2000A nutation with the frame bias, at seven
epochs 2000-2030 (``tests/test_frames.py``): ``TEME -> PrecessedGeocentric(equinox=
J2000)`` (the mean J2000 frame, bias removed) differs by 17 to 37 mas (0.6 to 1.3 m at
7,000 km); ``TEME -> GCRS`` by 20 to 53 mas (0.7 to 1.8 m). These are model differences,
not errors of this code:

- the pole (x, y components, growing from ~5 mas in 2000 to ~35 mas in 2030): the known
  rate error of the IAU 1976 precession (IAU 2000 corrected it by -0.2997"/century in
  longitude, about 1.2 mas/yr of pole motion); with the IAU 2006 precession put in place
  of ours, the pole components agree to within 8 mas at every epoch, the rest being
  IAU 1980 against IAU 2000A nutation;
- about z, 12 to 17 mas: TEME's x axis, which astropy gets through GMST 1982 and
  Earth rotation, this module through the 1980 equinox of date and the geometric
  equation of the equinoxes;
- against the GCRS the 23 mas frame bias adds (orbitwin's ECI is the mean J2000 frame).

Vallado's worked TEME -> J2000 example (2013 p. 234: Vanguard, TLE 00005, three days after
epoch) is reproduced to 0.5 mm with his 4-term nutation and TT (6 mm with UTC as TT);
with the full series the result lies 1.14 m from his, the effect of his truncation.

Truncating the nutation series (``terms``: the largest terms, `term_order`) rotates
the result by at most (2000-2040): 4 terms 131 mas (4.5 m at 7,000 km), 9 terms 41 mas
(1.4 m), 13 terms 20 mas (0.67 m), 20 terms 9 mas (0.31 m), 30 terms 5 mas (0.18 m), 50
terms 2 mas (0.07 m), 80 terms 0.5 mas (0.02 m). The default is the whole series.
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
from importlib import resources
from typing import Any

import numpy as np

from orbitwin_plugins.ephemeris import DAYS_PER_CENTURY, J2000, JD_J2000, days_since_j2000, precession_matrix

#: Arcseconds to radians.
ARCSEC = math.pi / (180.0 * 3600.0)
#: Nutation coefficient table (units 1e-4 arcsec), in ``orbitwin_plugins/data``.
NUTATION_FILE = "nutation_iau1980.csv"
_TWO_PI = 2.0 * math.pi
_J2000_NS = np.datetime64("2000-01-01T12:00:00", "ns")


# --------------------------------------------------------------------------------------
# time
# --------------------------------------------------------------------------------------


def centuries(t: Any, epoch: _dt.datetime | None = None) -> np.ndarray:
    """Julian centuries since J2000.0 (UTC used as TT, module docstring).

    Args:
        t: seconds since ``epoch`` (any shape) when ``epoch`` is given; otherwise UTC
            times: a `datetime.datetime` (naive means UTC) or ``numpy.datetime64`` values.
        epoch: the scenario epoch, or None.
    """
    if epoch is not None:
        return days_since_j2000(t, epoch) / DAYS_PER_CENTURY
    if isinstance(t, _dt.datetime):
        return days_since_j2000(0.0, t) / DAYS_PER_CENTURY
    dt = np.asarray(t).astype("datetime64[ns]") - _J2000_NS
    return dt.astype(np.float64) / (86400e9 * DAYS_PER_CENTURY)


def centuries_from_jd(jd: Any, fr: Any = 0.0) -> np.ndarray:
    """Julian centuries since J2000.0 from a two-part Julian date ``jd + fr`` (as the
    ``sgp4`` library gives ``jdsatepoch``, ``jdsatepochF``; UTC used as TT)."""
    return ((np.asarray(jd, dtype=np.float64) - JD_J2000) + np.asarray(fr, dtype=np.float64)) / DAYS_PER_CENTURY


# --------------------------------------------------------------------------------------
# elementary rotations (frame rotations, vectorised over the shape of the angle)
# --------------------------------------------------------------------------------------


def rot1(a: Any) -> np.ndarray:
    """``R1(a)``: frame rotation about x, shape ``a.shape + (3, 3)``."""
    a = np.asarray(a, dtype=np.float64)
    c, s = np.cos(a), np.sin(a)
    m = np.zeros(a.shape + (3, 3))
    m[..., 0, 0] = 1.0
    m[..., 1, 1], m[..., 1, 2], m[..., 2, 1], m[..., 2, 2] = c, s, -s, c
    return m


def rot3(a: Any) -> np.ndarray:
    """``R3(a)``: frame rotation about z, shape ``a.shape + (3, 3)``."""
    a = np.asarray(a, dtype=np.float64)
    c, s = np.cos(a), np.sin(a)
    m = np.zeros(a.shape + (3, 3))
    m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1] = c, s, -s, c
    m[..., 2, 2] = 1.0
    return m


def _t(m: np.ndarray) -> np.ndarray:
    return np.swapaxes(m, -1, -2)


# --------------------------------------------------------------------------------------
# precession (IAU 1976)
# --------------------------------------------------------------------------------------


def precession_angles_iau1976(T: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(zeta_A, theta_A, z_A)`` [rad], Lieske et al. (1977), A&A 58, 1-16, from J2000
    (Vallado sec. 3.7)::

        zeta_A  = 2306.2181" T + 0.30188" T^2 + 0.017998" T^3
        theta_A = 2004.3109" T - 0.42665" T^2 - 0.041833" T^3
        z_A     = 2306.2181" T + 1.09468" T^2 + 0.018203" T^3

    `ephemeris.precession_matrix` builds ``P = R3(-z_A) R2(theta_A) R3(-zeta_A)`` from
    the same polynomials (checked equal in the tests)."""
    T = np.asarray(T, dtype=np.float64)
    zeta = (2306.2181 * T + 0.30188 * T**2 + 0.017998 * T**3) * ARCSEC
    theta = (2004.3109 * T - 0.42665 * T**2 - 0.041833 * T**3) * ARCSEC
    z = (2306.2181 * T + 1.09468 * T**2 + 0.018203 * T**3) * ARCSEC
    return zeta, theta, z


# --------------------------------------------------------------------------------------
# nutation (IAU 1980)
# --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def nutation_table() -> tuple[np.ndarray, np.ndarray]:
    """The IAU 1980 series: integer multipliers ``(106, 5)`` of (l, l', F, D, Omega) and
    coefficients ``(106, 4)`` (dpsi_sin, dpsi_sin_t, deps_cos, deps_cos_t) in 1e-4
    arcsec (and per century), read from ``data/nutation_iau1980.csv``."""
    text = resources.files("orbitwin_plugins").joinpath("data", NUTATION_FILE).read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    header = rows[0].split(",")
    if header != ["l", "lp", "F", "D", "om", "dpsi_sin", "dpsi_sin_t", "deps_cos", "deps_cos_t"]:
        raise ValueError(f"{NUTATION_FILE}: unexpected columns {header}")
    data = np.array([[float(x) for x in r.split(",")] for r in rows[1:]])
    if data.shape != (106, 9):
        raise ValueError(f"{NUTATION_FILE}: expected the 106 terms of IAU 1980, found {data.shape[0]}")
    mult = data[:, :5].astype(np.int64)
    mult.setflags(write=False)
    coef = data[:, 5:]
    coef.setflags(write=False)
    return mult, coef


def delaunay_arguments_iau1980(T: Any) -> np.ndarray:
    """The fundamental arguments (l, l', F, D, Omega) [rad] of IAU 1980 nutation,
    shape ``(5,) + T.shape`` (Explanatory Supplement 1992 sec. 3.222; Vallado sec. 3.7;
    ERFA ``nut80``), with whole revolutions per century taken apart for precision::

        l     = 485866.733" + (1325 r + 715922.633") T + 31.310" T^2 + 0.064" T^3
        l'    = 1287099.804" + (99 r + 1292581.224") T - 0.577" T^2 - 0.012" T^3
        F     = 335778.877" + (1342 r + 295263.137") T - 13.257" T^2 + 0.011" T^3
        D     = 1072261.307" + (1236 r + 1105601.328") T - 6.891" T^2 + 0.019" T^3
        Omega = 450160.280" + (-5 r - 482890.539") T + 7.455" T^2 + 0.008" T^3
    """
    T = np.asarray(T, dtype=np.float64)
    poly = (
        (485866.733, 715922.633, 31.310, 0.064, 1325.0),
        (1287099.804, 1292581.224, -0.577, -0.012, 99.0),
        (335778.877, 295263.137, -13.257, 0.011, 1342.0),
        (1072261.307, 1105601.328, -6.891, 0.019, 1236.0),
        (450160.280, -482890.539, 7.455, 0.008, -5.0),
    )
    out = [np.mod((c0 + (c1 + (c2 + c3 * T) * T) * T) * ARCSEC + np.mod(rev * T, 1.0) * _TWO_PI, _TWO_PI)
           for c0, c1, c2, c3, rev in poly]
    return np.stack(out)


def mean_obliquity_iau1980(T: Any) -> np.ndarray:
    """Mean obliquity of the ecliptic of date [rad], IAU 1980 (Lieske et al. 1977;
    Vallado sec. 3.7; ERFA ``obl80``)."""
    T = np.asarray(T, dtype=np.float64)
    return (84381.448 + (-46.8150 + (-0.00059 + 0.001813 * T) * T) * T) * ARCSEC


def term_order() -> np.ndarray:
    """Indices of the 106 terms by decreasing amplitude ``|dpsi_sin| + |deps_cos|`` (ties
    in table order): ``terms = k`` keeps the first ``k`` of these."""
    _, coef = nutation_table()
    return np.argsort(-(np.abs(coef[:, 0]) + np.abs(coef[:, 2])), kind="stable")


def nutation_iau1980(T: Any, terms: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(dpsi, deps)`` [rad]: nutation in longitude and obliquity, IAU 1980, shape of
    ``T``: the full 106-term series, or its ``terms`` largest terms (`term_order`;
    truncation errors in the module docstring)."""
    T = np.asarray(T, dtype=np.float64)
    mult, coef = nutation_table()
    if terms is not None:
        if not 1 <= terms <= len(coef):
            raise ValueError(f"terms must be in [1, {len(coef)}]: {terms!r}")
        keep = term_order()[:terms]
        mult, coef = mult[keep], coef[keep]
    args = np.tensordot(mult.astype(np.float64), delaunay_arguments_iau1980(T), axes=(1, 0))  # (n,) + T.shape
    tt = T[None, ...]
    expand = (slice(None),) + (None,) * T.ndim
    dpsi = np.sum((coef[:, 0][expand] + coef[:, 1][expand] * tt) * np.sin(args), axis=0)
    deps = np.sum((coef[:, 2][expand] + coef[:, 3][expand] * tt) * np.cos(args), axis=0)
    return dpsi * 1e-4 * ARCSEC, deps * 1e-4 * ARCSEC


def nutation_matrix(T: Any, terms: int | None = None) -> np.ndarray:
    """``N`` with ``r_TOD = N r_MOD``: ``R1(-eps) R3(-dpsi) R1(eps_bar)``, shape
    ``T.shape + (3, 3)``."""
    eps_bar = mean_obliquity_iau1980(T)
    dpsi, deps = nutation_iau1980(T, terms)
    return rot1(-(eps_bar + deps)) @ rot3(-dpsi) @ rot1(eps_bar)


def equation_of_equinoxes(T: Any, terms: int | None = None) -> np.ndarray:
    """``Eq_eq = dpsi cos(eps_bar)`` [rad], the IAU 1982 geometric equation of the
    equinoxes that separates TEME's x axis from the true equinox (module docstring)."""
    dpsi, _ = nutation_iau1980(T, terms)
    return dpsi * np.cos(mean_obliquity_iau1980(T))


# --------------------------------------------------------------------------------------
# TEME <-> ECI, the pole of date
# --------------------------------------------------------------------------------------


def teme_to_eci_matrix_centuries(T: Any, terms: int | None = None) -> np.ndarray:
    """``M`` with ``r_ECI = M r_TEME``: ``P^T N^T R3(-Eq_eq)``, shape ``T.shape + (3, 3)``;
    ``terms`` truncates the nutation series (`nutation_iau1980`)."""
    T = np.asarray(T, dtype=np.float64)
    eps_bar = mean_obliquity_iau1980(T)
    dpsi, deps = nutation_iau1980(T, terms)
    n = rot1(-(eps_bar + deps)) @ rot3(-dpsi) @ rot1(eps_bar)
    teme_to_tod = rot3(-dpsi * np.cos(eps_bar))
    return _t(precession_matrix(T)) @ _t(n) @ teme_to_tod


def teme_to_eci_matrix(t: Any, epoch: _dt.datetime | None = None, terms: int | None = None) -> np.ndarray:
    """Rotation from TEME (of date) to orbitwin's ECI, ``r_ECI = M r_TEME``.

    Args:
        t: seconds since ``epoch`` (any shape), or UTC datetimes when ``epoch`` is None
            (`centuries`).
        epoch: the scenario epoch (naive means UTC), or None.
        terms: keep only this many nutation terms (default: all 106).

    Returns:
        ``t.shape + (3, 3)``: one matrix per time (``(3, 3)`` for a scalar).
    """
    return teme_to_eci_matrix_centuries(centuries(t, epoch), terms)


def eci_to_teme_matrix(t: Any, epoch: _dt.datetime | None = None) -> np.ndarray:
    """``r_TEME = M r_ECI``: the transpose of `teme_to_eci_matrix`."""
    return _t(teme_to_eci_matrix(t, epoch))


def teme_to_eci(r: np.ndarray, v: np.ndarray | None, t: Any, epoch: _dt.datetime | None = None):
    """Turn TEME positions (and velocities) ``(..., 3)`` given at times ``t`` (shape
    ``r.shape[:-1]`` or broadcastable to it) into ECI. Returns ``r`` or ``(r, v)``."""
    m = teme_to_eci_matrix(t, epoch)
    r_eci = np.einsum("...ij,...j->...i", m, np.asarray(r, dtype=np.float64))
    if v is None:
        return r_eci
    return r_eci, np.einsum("...ij,...j->...i", m, np.asarray(v, dtype=np.float64))


def eci_to_teme(r: np.ndarray, v: np.ndarray | None, t: Any, epoch: _dt.datetime | None = None):
    """The inverse of `teme_to_eci`."""
    m = eci_to_teme_matrix(t, epoch)
    r_teme = np.einsum("...ij,...j->...i", m, np.asarray(r, dtype=np.float64))
    if v is None:
        return r_teme
    return r_teme, np.einsum("...ij,...j->...i", m, np.asarray(v, dtype=np.float64))


def mod_matrix_centuries(T: Any, nutation: bool = False) -> np.ndarray:
    """``r_date = M r_ECI``: ``P`` (mean equator and equinox of date), or ``N P`` (true
    equator and equinox of date) with ``nutation``; shape ``T.shape + (3, 3)``."""
    p = precession_matrix(np.asarray(T, dtype=np.float64))
    return nutation_matrix(T) @ p if nutation else p


def pole_of_date(t: Any, epoch: _dt.datetime | None = None, nutation: bool = False) -> np.ndarray:
    """Unit vector of the Earth's pole of date in orbitwin's ECI, shape ``t.shape + (3,)``.

    The mean pole (precession only, IAU 1976) is the third row of ``P``:
    ``(sin theta_A cos zeta_A, -sin theta_A sin zeta_A, cos theta_A)``, 0.145 deg from the
    J2000 pole at the start of 2026 and moving 20.04"/yr (0.0056 deg/yr) towards RA
    ``-zeta_A`` (about 0 h). With ``nutation`` the true pole (the z axis of TOD and TEME;
    within 0.5" of the Earth's axis of figure, polar motion), up to ~11" from the mean
    one with the 18.6-year period of the lunar node.
    """
    m = mod_matrix_centuries(centuries(t, epoch), nutation)
    return np.array(m[..., 2, :])


__all__ = [
    "ARCSEC", "J2000", "centuries", "centuries_from_jd", "delaunay_arguments_iau1980", "eci_to_teme",
    "eci_to_teme_matrix", "equation_of_equinoxes", "mean_obliquity_iau1980", "mod_matrix_centuries",
    "nutation_iau1980", "nutation_matrix", "nutation_table", "pole_of_date", "precession_angles_iau1976",
    "precession_matrix", "rot1", "rot3", "term_order", "teme_to_eci", "teme_to_eci_matrix",
    "teme_to_eci_matrix_centuries",
]
