"""Radiation environment: geomagnetic coordinates and total-ionizing-dose rate behind shielding.

Pure numpy, no taichi, no hooks (the plugin that wires it into the kernel is separate). Every
function is vectorised over satellites: positions are ``(..., 3)`` arrays in the Earth-fixed
frame (ECEF) [m].

Geomagnetic field: eccentric (offset, tilted) dipole
----------------------------------------------------
The degree-1 Gauss coefficients of IGRF-14 give the centred dipole; the degree-2 ones give the
offset of its centre (Bartels 1936; Fraser-Smith, Rev. Geophys. 25, 1987, eqs. 6-10)::

    B0^2 = g10^2 + g11^2 + h11^2
    L0 = 2 g10 g20 + sqrt(3) (g11 g21 + h11 h21)
    L1 = -g11 g20 + sqrt(3) (g10 g21 + g11 g22 + h11 h22)
    L2 = -h11 g20 + sqrt(3) (g10 h21 - h11 g22 + g11 h22)
    E  = (L0 g10 + L1 g11 + L2 h11) / (4 B0^2)
    offset = a / (3 B0^2) (L1 - g11 E, L2 - h11 E, L0 - g10 E)      (x to lon 0, z north)

with ``a = 6371.2 km`` the IGRF reference radius. For 2025.0 the centre sits ~605 km from the
Earth's centre towards the western Pacific (about 23 N, 135 E), so at a fixed altitude the field
is weakest on the opposite side, over the South Atlantic: the South Atlantic Anomaly (SAA). The
dipole puts the minimum of |B| at 500 km near 8 S, 46 W (18 500 nT); the full IGRF puts it
further south (~25 S): a degree-2 offset cannot move it more, and the proton weight inherits it.
Relative to that centre, with ``m`` the unit vector to the boreal geomagnetic pole
(``-(g11, h11, g10) / B0``) and ``lambda_m`` the dipole latitude (``sin lambda_m = m . r'/|r'|``)::

    |B| = B0 (a / |r'|)^3 sqrt(1 + 3 sin^2 lambda_m)
    L   = |r'| / (a cos^2 lambda_m)                       (McIlwain L of a dipole)
    B / B_eq = sqrt(1 + 3 sin^2 lambda_m) / cos^6 lambda_m (field over its value at the
                                                             field line's equator)

Coefficients: IGRF-14 at 2025.0 with its 2025-2030 secular variation, IAGA Working Group V-MOD
(Alken et al. 2025, doi:10.5281/zenodo.14012302; file ``igrf14coeffs.txt``, also shipped in the
``ppigrf`` 2.1.0 package as ``IGRF14.shc``). `dipole_coefficients` applies the secular variation
linearly to a decimal year; the SAA's drift is only that of these eight coefficients.

Dose rate behind shielding: parametric, calibrated to SHIELDOSE-2 tables
------------------------------------------------------------------------
An engineering approximation, not a flux model. The dose rate in silicon at the centre of an
aluminium sphere of radius ``x`` [mm] is::

    D(r, x) = A_p(x) w_p(r) + A_s(x) w_p(r) + A_h(x) w_h(r)          [rad(Si) s-1]

* ``w_p = exp(-(|B| - B_P) / DB_P)`` for ``L < L_P``: trapped protons (and inner-belt electrons,
  term ``A_s``) live where the field is weak at low L, i.e. in the SAA at LEO altitudes, and
  rise with altitude as |B| falls.
* ``w_h = exp(-((L - L_H) / S_H)^2 / 2)``: outer-belt electrons in the "horns",
  the footprints of L ~ 3-7 at high geomagnetic latitude.

The shapes' constants (`B_P_NT`, `DB_P_NT`, `L_P`, `L_H`, `S_H`) are ASSUMPTIONS, chosen by
hand so that the inclination dependence of the table below comes out (see docs/radiation.md).
The amplitudes are calibrated per tabulated thickness so that the long-term orbit average
(`orbit_average`) reproduces the table: ``A_p`` by a least-squares fit in log over the
inclinations with protons, ``A_s`` and ``A_h`` by non-negative least squares on the electron
(+ bremsstrahlung) doses. Between thicknesses the amplitudes are interpolated in log.

Table (``data/radiation_dose_depth_550km.csv``): SPENVIS 4.6.11, SHIELDOSE-2, centre of Al
spheres, Si target, AP-8 MIN and AE-8 MAX, 550 km circular, 5 years from 2023, inclinations
0-95 deg (runs published by Pfandzelter et al., github.com/pfandzelter/leo-edge-failure-models).
At 550 km and 55 deg behind 10 mm it gives 765 rad(Si) in 5 years, ~153 rad(Si)/yr, the same
order as Google's Suncatcher estimate (~750 rad(Si) for a 5-year mission, dawn-dusk SSO
~650 km, "Towards a future space-based, highly scalable AI infrastructure system design", 2025;
shielding not restated here: used only as a cross-check).

Solar particle events: a stated mean dose per year (`spe_dose_rate_rad_si_per_s`, default 0:
the table excludes solar protons, and no citable LEO value behind a stated shield was found;
ASSUMPTION, the user sets it) and a seeded Poisson process (`spe_events`).

Limits: one altitude is tabulated (550 km); other altitudes follow from ``|B|`` in the proton
weight and are an extrapolation (ASSUMPTION, sensible for ~400-800 km). AP-8 MIN / AE-8 MAX
(the conservative pair of the legacy models), not AP-9/AE-9; no solar-cycle modulation of the
atmospheric cutoff; no storm-time belts; SAA drift only through the IGRF secular variation;
dipole L, not a field-line-traced McIlwain L; 4 pi solid-sphere geometry, not a spacecraft model.

Validation: ``tests/test_radiation_env.py`` (closed-form dipole values, SAA location, orbit
averages against the table at its points, SAA contrast, seeded SPE draws).
"""

from __future__ import annotations

import functools
import math
from importlib import resources
from typing import Any

import numpy as np

from orbitwin_plugins.constants import MU_EARTH_M3_S2, OMEGA_EARTH_RAD_S, R_EARTH_M
from twin_core.validators import SpecValueError

# -- geomagnetic field ------------------------------------------------------------------

#: IGRF reference radius [m] (IGRF-14); also the Earth radius in L.
A_REF_M = 6371.2e3
#: Epoch of the coefficients below [decimal year].
IGRF_EPOCH_YEAR = 2025.0
#: IGRF-14 Gauss coefficients at 2025.0 [nT] (igrf14coeffs.txt, column 2025.0).
IGRF_2025_NT = {"g10": -29350.0, "g11": -1410.3, "h11": 4545.5,
                "g20": -2556.2, "g21": 2950.9, "h21": -3133.6, "g22": 1648.7, "h22": -814.2}
#: IGRF-14 secular variation 2025-2030 [nT/yr] (the file's SV column: (2030.0 - 2025.0) / 5).
IGRF_SV_NT_PER_YR = {"g10": 12.6, "g11": 10.0, "h11": -21.5,
                     "g20": -11.2, "g21": -5.3, "h21": -27.3, "g22": -8.3, "h22": -11.1}
#: Years over which the secular variation is used (IGRF-14 predicts to 2030.0).
IGRF_VALID_YEARS = (2020.0, 2030.0)


def dipole_coefficients(year: float = IGRF_EPOCH_YEAR) -> dict[str, float]:
    """The eight coefficients [nT] at ``year``, linear secular variation from 2025.0."""
    if not IGRF_VALID_YEARS[0] <= year <= IGRF_VALID_YEARS[1]:
        raise SpecValueError("year", year, f"in [{IGRF_VALID_YEARS[0]:g}, {IGRF_VALID_YEARS[1]:g}]")
    dt = year - IGRF_EPOCH_YEAR
    return {k: v + IGRF_SV_NT_PER_YR[k] * dt for k, v in IGRF_2025_NT.items()}


@functools.lru_cache(maxsize=16)
def eccentric_dipole(year: float = IGRF_EPOCH_YEAR) -> tuple[float, np.ndarray, np.ndarray]:
    """``(B0 [nT], axis, offset_m)``: the dipole moment's strength as an equatorial surface
    field, the unit vector (ECEF) to the boreal geomagnetic pole, and the dipole centre (ECEF)
    [m] (Fraser-Smith 1987; module docstring)."""
    c = dipole_coefficients(year)
    g10, g11, h11 = c["g10"], c["g11"], c["h11"]
    b0sq = g10 * g10 + g11 * g11 + h11 * h11
    s3 = math.sqrt(3.0)
    l0 = 2.0 * g10 * c["g20"] + s3 * (g11 * c["g21"] + h11 * c["h21"])
    l1 = -g11 * c["g20"] + s3 * (g10 * c["g21"] + g11 * c["g22"] + h11 * c["h22"])
    l2 = -h11 * c["g20"] + s3 * (g10 * c["h21"] - h11 * c["g22"] + g11 * c["h22"])
    e = (l0 * g10 + l1 * g11 + l2 * h11) / (4.0 * b0sq)
    offset = A_REF_M / (3.0 * b0sq) * np.array([l1 - g11 * e, l2 - h11 * e, l0 - g10 * e])
    b0 = math.sqrt(b0sq)
    axis = -np.array([g11, h11, g10]) / b0
    return b0, axis, offset


def _dipole_frame(r_ecef_m: Any, year: float, eccentric: bool) -> tuple[np.ndarray, np.ndarray, float]:
    r = np.asarray(r_ecef_m, dtype=np.float64)
    if r.shape[-1:] != (3,):
        raise SpecValueError("r_ecef_m", r.shape, "an array of shape (..., 3)")
    b0, axis, offset = eccentric_dipole(float(year))
    rel = r - offset if eccentric else r
    rho = np.linalg.norm(rel, axis=-1)
    sin_lat = np.clip(np.einsum("...i,i->...", rel, axis) / rho, -1.0, 1.0)
    return rho, sin_lat, b0


def geomagnetic(r_ecef_m: Any, year: float = IGRF_EPOCH_YEAR, eccentric: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(L, B/B_eq)`` of the (eccentric) dipole at ECEF positions ``(..., 3)`` [m].

    ``L`` in units of `A_REF_M` (inf over the dipole poles); ``B/B_eq`` >= 1, the field over
    its value where the same field line crosses the dipole equator."""
    rho, s, _ = _dipole_frame(r_ecef_m, year, eccentric)
    c2 = 1.0 - s * s
    with np.errstate(divide="ignore"):
        l_shell = np.where(c2 > 0.0, rho / (A_REF_M * np.maximum(c2, 1e-300)), np.inf)
        b_ratio = np.where(c2 > 0.0, np.sqrt(1.0 + 3.0 * s * s) / np.maximum(c2, 1e-300) ** 3, np.inf)
    return l_shell, b_ratio


def field_magnitude_nt(r_ecef_m: Any, year: float = IGRF_EPOCH_YEAR, eccentric: bool = True) -> np.ndarray:
    """``|B|`` [nT] of the (eccentric) dipole at ECEF positions ``(..., 3)`` [m]."""
    rho, s, b0 = _dipole_frame(r_ecef_m, year, eccentric)
    return b0 * (A_REF_M / rho) ** 3 * np.sqrt(1.0 + 3.0 * s * s)


# -- spatial weights (shapes) -------------------------------------------------------------

#: Proton weight reference field [nT]: ASSUMPTION, of the order of |B| at the SAA's edge at
#: 550 km in this dipole; it only sets the scale of the weight (the amplitude absorbs it).
B_P_NT = 25000.0
#: Proton weight e-folding in |B| [nT]: ASSUMPTION, chosen so the orbit-averaged proton dose
#: at 550 km falls with inclination as in the table (30 deg : 95 deg ~ 2.2 behind 10 mm).
DB_P_NT = 1400.0
#: Inner-belt bound for the proton weight [1]: ASSUMPTION (AP-8 proton fluxes above a few MeV
#: sit at L < ~2.5 at LEO altitudes).
L_P = 2.5
#: Centre and width of the horn electron weight in L [1]: ASSUMPTION, the AE-8 outer belt
#: peaks near L ~ 4-5 and spans ~3-7.
L_H = 4.5
S_H = 1.0


def weights(r_ecef_m: Any, year: float = IGRF_EPOCH_YEAR) -> tuple[np.ndarray, np.ndarray]:
    """``(w_p, w_h)`` [1]: the SAA (proton) and horn (electron) spatial weights."""
    l_shell, _ = geomagnetic(r_ecef_m, year)
    b = field_magnitude_nt(r_ecef_m, year)
    w_p = np.where(l_shell < L_P, np.exp(-(b - B_P_NT) / DB_P_NT), 0.0)
    w_h = np.exp(-0.5 * np.square((np.minimum(l_shell, 1e6) - L_H) / S_H))
    return w_p, w_h


# -- orbit averages -----------------------------------------------------------------------

#: Grid of the long-term orbit average: argument of latitude x Earth-fixed node longitude.
N_U, N_NODE = 240, 120


def circular_orbit_ecef(altitude_km: float, inclination_deg: float, n_u: int = N_U, n_node: int = N_NODE) -> np.ndarray:
    """ECEF points ``(n_node * n_u, 3)`` [m] covering a circular orbit uniformly in argument of
    latitude and in the Earth-fixed longitude of the node: over days the node drifts through
    all longitudes (Earth's rotation), so a mean over these points is the long-term orbit
    average."""
    r = R_EARTH_M + altitude_km * 1e3
    u = (np.arange(n_u) + 0.5) * (2.0 * np.pi / n_u)
    node = (np.arange(n_node) + 0.25) * (2.0 * np.pi / n_node)
    inc = math.radians(inclination_deg)
    cu, su = np.cos(u)[None, :], np.sin(u)[None, :]
    cn, sn = np.cos(node)[:, None], np.sin(node)[:, None]
    x = r * (cn * cu - sn * su * math.cos(inc))
    y = r * (sn * cu + cn * su * math.cos(inc))
    z = r * np.broadcast_to(su * math.sin(inc), x.shape)
    return np.stack([x, y, z], axis=-1).reshape(-1, 3)


@functools.lru_cache(maxsize=64)
def mean_weights(altitude_km: float, inclination_deg: float, year: float = IGRF_EPOCH_YEAR) -> tuple[float, float]:
    """Long-term orbit averages of ``(w_p, w_h)`` for a circular orbit."""
    w_p, w_h = weights(circular_orbit_ecef(altitude_km, inclination_deg), year)
    return float(w_p.mean()), float(w_h.mean())


# -- the table and the calibration --------------------------------------------------------

DATA_FILE = "radiation_dose_depth_550km.csv"
TABLE_ALTITUDE_KM = 550.0
#: Mission length of the table's runs [s] (SPENVIS: 1825.00 days).
TABLE_DURATION_S = 1825.0 * 86400.0
SECONDS_PER_YEAR = 365.25 * 86400.0


@functools.lru_cache(maxsize=1)
def dose_table() -> dict[str, np.ndarray]:
    """The bundled table: columns ``inclination_deg, al_mm, electrons, protons`` with doses as
    mean rates [rad(Si) s-1] (electrons include their bremsstrahlung)."""
    text = resources.files("orbitwin_plugins").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    rows = [ln.split(",") for ln in text.splitlines() if ln and not ln.startswith("#")]
    a = np.array([[float(v) for v in row] for row in rows[1:]])
    return {"inclination_deg": a[:, 0], "al_mm": a[:, 1],
            "electrons": (a[:, 2] + a[:, 3]) / TABLE_DURATION_S, "protons": a[:, 4] / TABLE_DURATION_S}


def _nnls2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Non-negative least squares for two unknowns (enumerate the active sets)."""
    best, best_res = np.zeros(2), float(np.sum(b * b))
    for cols in ((0, 1), (0,), (1,)):
        sol, *_ = np.linalg.lstsq(a[:, cols], b, rcond=None)
        if np.all(sol >= 0.0):
            x = np.zeros(2)
            x[list(cols)] = sol
            res = float(np.sum((a @ x - b) ** 2))
            if res < best_res:
                best, best_res = x, res
    return best


@functools.lru_cache(maxsize=1)
def calibration() -> dict[str, np.ndarray]:
    """Per tabulated thickness: amplitudes ``A_p, A_s, A_h`` [rad(Si) s-1] (module docstring)."""
    t = dose_table()
    thick = np.unique(t["al_mm"])
    incs = np.unique(t["inclination_deg"])
    w = np.array([mean_weights(TABLE_ALTITUDE_KM, float(i)) for i in incs])
    a_p, a_s, a_h = [], [], []
    for x in thick:
        sel = t["al_mm"] == x
        p = np.array([t["protons"][sel & (t["inclination_deg"] == i)][0] for i in incs])
        e = np.array([t["electrons"][sel & (t["inclination_deg"] == i)][0] for i in incs])
        has = (p > 0.0) & (w[:, 0] > 0.0)
        a_p.append(float(np.exp(np.mean(np.log(p[has] / w[has, 0])))))
        # electrons: relative least squares, so each inclination counts alike
        scale = 1.0 / np.maximum(e, 1e-30)
        rows = e > 1e-3 * e.max()
        coef = _nnls2(w[rows] * scale[rows, None], np.ones(rows.sum()))
        a_s.append(coef[0])
        a_h.append(coef[1])
    return {"al_mm": thick, "A_p": np.array(a_p), "A_s": np.array(a_s), "A_h": np.array(a_h)}


def _check_shielding(shielding_mm_al: Any) -> np.ndarray:
    x = np.asarray(shielding_mm_al, dtype=np.float64)
    lo, hi = (float(v) for v in calibration()["al_mm"][[0, -1]])
    if np.any(~np.isfinite(x)) or np.any(x < 0.0):
        raise SpecValueError("shielding_mm_al", shielding_mm_al, ">= 0")
    if np.any(x < lo) or np.any(x > hi):
        raise SpecValueError("shielding_mm_al", shielding_mm_al, f"in [{lo:g}, {hi:g}] mm (the tabulated range)")
    return x


def amplitudes(shielding_mm_al: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(A_p, A_s, A_h)`` [rad(Si) s-1] at ``shielding_mm_al`` [mm], log-interpolated."""
    x = _check_shielding(shielding_mm_al)
    c = calibration()
    tiny = 1e-40
    return tuple(np.exp(np.interp(x, c["al_mm"], np.log(c[k] + tiny))) for k in ("A_p", "A_s", "A_h"))


# -- dose rate ----------------------------------------------------------------------------

def trapped_dose_rates(r_ecef_m: Any, shielding_mm_al: Any, year: float = IGRF_EPOCH_YEAR) -> tuple[np.ndarray, np.ndarray]:
    """``(protons, electrons)`` dose rates [rad(Si) s-1] at ECEF positions ``(..., 3)`` [m]
    behind ``shielding_mm_al`` [mm] (scalar or broadcastable to ``(...)``)."""
    a_p, a_s, a_h = amplitudes(shielding_mm_al)
    w_p, w_h = weights(r_ecef_m, year)
    return a_p * w_p, a_s * w_p + a_h * w_h


def dose_rate_rad_si_per_s(r_ecef_m: Any, shielding_mm_al: Any, year: float = IGRF_EPOCH_YEAR,
                           spe_rad_si_per_year: float = 0.0) -> np.ndarray:
    """Total dose rate [rad(Si) s-1]: trapped protons + trapped electrons + the mean solar
    particle event rate ``spe_rad_si_per_year`` [rad(Si) yr-1] (module docstring)."""
    p, e = trapped_dose_rates(r_ecef_m, shielding_mm_al, year)
    return p + e + spe_dose_rate_rad_si_per_s(spe_rad_si_per_year)


def orbit_average(altitude_km: float, inclination_deg: float, shielding_mm_al: float,
                  year: float = IGRF_EPOCH_YEAR) -> dict[str, float]:
    """Long-term mean dose rates [rad(Si) s-1] of a circular orbit: ``protons``,
    ``electrons`` and ``total`` (trapped only)."""
    a_p, a_s, a_h = (float(v) for v in amplitudes(shielding_mm_al))
    m_p, m_h = mean_weights(float(altitude_km), float(inclination_deg), float(year))
    p, e = a_p * m_p, a_s * m_p + a_h * m_h
    return {"protons": p, "electrons": e, "total": p + e}


# -- solar particle events ----------------------------------------------------------------

def spe_dose_rate_rad_si_per_s(spe_rad_si_per_year: float) -> float:
    """A stated mean SPE dose per year [rad(Si) yr-1] as a rate [rad(Si) s-1]."""
    if isinstance(spe_rad_si_per_year, bool) or not np.isfinite(spe_rad_si_per_year) or spe_rad_si_per_year < 0:
        raise SpecValueError("spe_rad_si_per_year", spe_rad_si_per_year, "a number >= 0")
    return float(spe_rad_si_per_year) / SECONDS_PER_YEAR


def spe_events(seed: int, duration_s: float, events_per_year: float, mean_dose_rad_si: float) -> tuple[np.ndarray, np.ndarray]:
    """A seeded Poisson process of SPEs: ``(times_s, doses_rad_si)``, sorted by time.

    Event count ~ Poisson(``events_per_year`` x years), times uniform over ``[0, duration_s)``,
    doses exponential with mean ``mean_dose_rad_si``; the same seed gives the same events.
    Rate and mean dose are the caller's (ASSUMPTION until a cited value is wired)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise SpecValueError("seed", seed, "an integer")
    for key, v in (("duration_s", duration_s), ("events_per_year", events_per_year),
                   ("mean_dose_rad_si", mean_dose_rad_si)):
        if isinstance(v, bool) or not np.isfinite(v) or v < 0:
            raise SpecValueError(key, v, "a number >= 0")
    rng = np.random.default_rng(int(seed))
    n = rng.poisson(events_per_year * duration_s / SECONDS_PER_YEAR)
    times = np.sort(rng.uniform(0.0, duration_s, n))
    return times, rng.exponential(mean_dose_rad_si, n)


def circular_orbit_track_ecef(altitude_km: float, inclination_deg: float, t_s: Any, raan_deg: float = 0.0) -> np.ndarray:
    """ECEF track ``(k, 3)`` [m] of a circular Kepler orbit at times ``t_s`` (Earth rotating at
    `OMEGA_EARTH_RAD_S`, Greenwich at the node's longitude ``raan_deg`` at t = 0): a simple
    propagator for tests and examples."""
    t = np.asarray(t_s, dtype=np.float64)
    r = R_EARTH_M + altitude_km * 1e3
    u = math.sqrt(MU_EARTH_M3_S2 / r**3) * t
    node = math.radians(raan_deg) - OMEGA_EARTH_RAD_S * t
    inc = math.radians(inclination_deg)
    cu, su, cn, sn = np.cos(u), np.sin(u), np.cos(node), np.sin(node)
    return r * np.stack([cn * cu - sn * su * math.cos(inc), sn * cu + cn * su * math.cos(inc),
                         su * math.sin(inc)], axis=-1)
