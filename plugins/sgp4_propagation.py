"""SGP4 (near-Earth) as a taichi function: element sets to TEME position and velocity.

A library module (no hooks): the orbit plugin's SGP4 propagator calls `make_sgp4_func`
inside its stage; tests and benchmarks use `propagate_numpy` and `propagate_taichi`.

Model
-----
SGP4 as revised by Vallado, Crawford, Hujsak and Kelso, "Revisiting Spacetrack Report #3",
AIAA 2006-6753 (2006), itself the SGP4 of Hoots and Roehrich, Spacetrack Report #3 (1980).
The equation order is that of the near-Earth branch of ``sgp4()`` in the ``sgp4``
package's ``propagation.py`` (Brandon Rhodes' port of Vallado's C++), whose compiled
twin, ``sgp4.api.Satrec.sgp4``, is the reference of the tests. Per satellite and time
``t`` [min since the element set's epoch]:

1. Secular gravity (J2, J4) and drag. With Brouwer's mean motion ``n0'`` (``no_unkozai``)
   and the epoch elements ``M0, omega0, Omega0``::

       M_df = M0 + Mdot t,  omega_df = omega0 + omegadot t,  Omega_df = Omega0 + Omegadot t
       Omega = Omega_df + nodecf t^2
       tempa = 1 - C1 t,  tempe = B* C4 t,  templ = (3/2) C1 t^2

   unless the perigee is below 220 km (``isimp = 1``), also::

       dw = omgcof t,  dM = xmcof ((1 + eta cos M_df)^3 - delmo)
       M = M_df + dw + dM,  omega = omega_df - dw - dM
       tempa -= D2 t^2 + D3 t^3 + D4 t^4
       tempe += B* C5 (sin M - sin M0)
       templ += t3cof t^3 + t^4 (t4cof + t t5cof)

   then ``a = (k_e / n0')^(2/3) tempa^2``, ``n = k_e / a^(3/2)``, ``e = e0 - tempe``
   (error 2 if ``n0' <= 0``; error 1 if ``e >= 1`` or ``e < -0.001``; e floored at 1e-6),
   ``M += n0' templ``, ``L = M + omega + Omega``, and Omega, omega, L and
   ``M = L - omega - Omega`` reduced modulo 2 pi with C's ``fmod``.
2. Long-period periodics (J3), in Lyddane's non-singular variables::

       a_xN = e cos omega,  a_yN = e sin omega + aycof / (a (1 - e^2))
       L_T  = M + omega + Omega + xlcof a_xN / (a (1 - e^2))

   with ``aycof = -J3/J2 sin i0 / 2`` and
   ``xlcof = -J3/J2 sin i0 (3 + 5 cos i0) / (4 (1 + cos i0))`` from the initialization.
3. Kepler's equation for ``E + omega``: ``U = fmod(L_T - Omega, 2 pi)``, Newton steps from
   ``E_w = U``::

       dE = (U - a_yN cos E_w + a_xN sin E_w - E_w) / (1 - a_xN cos E_w - a_yN sin E_w)

   each clamped to |dE| <= 0.95, until |dE| < 1e-12 or after 10 steps; as in the reference,
   sin and cos of the last iterate *before* its final update are used afterwards.
4. Short-period periodics (J2) and the state vector::

       e cos E = a_xN cos E_w + a_yN sin E_w,  e sin E = a_xN sin E_w - a_yN cos E_w
       e_L^2 = a_xN^2 + a_yN^2,  p_L = a (1 - e_L^2)          (error 4 if p_L < 0)
       r = a (1 - e cos E),  rdot = sqrt(a) e sin E / r,  r fdot = sqrt(p_L) / r
       sin u, cos u from (a / r) (sin E_w - a_yN - a_xN esE/(1+beta_L)), ... ; u = atan2
       r_k = r (1 - 1.5 (J2/2) / p_L^2 beta_L con41) + 0.5 (J2/2)/p_L x1mth2 cos 2u
       u_k = u - 0.25 (J2/2)/p_L^2 x7thm1 sin 2u
       Omega_k = Omega + 1.5 (J2/2)/p_L^2 cos i sin 2u
       i_k = i + 1.5 (J2/2)/p_L^2 cos i sin i cos 2u
       rdot_k = rdot - n (J2/2)/p_L x1mth2 sin 2u / k_e
       r fdot_k = r fdot + n (J2/2)/p_L (x1mth2 cos 2u + 1.5 con41) / k_e

   with ``con41 = 3 cos^2 i0 - 1``, ``x1mth2 = 1 - cos^2 i0``, ``x7thm1 = 7 cos^2 i0 - 1``;
   ``U`` and ``V``, the unit vectors along the position and along the motion in the
   orbit plane, come from u_k, Omega_k and i_k, and::

       r [km] = r_k R_E U,   v [km/s] = (rdot_k U + r fdot_k V) R_E k_e / 60

   error 6 (decayed) if ``r_k < 1`` Earth radius.

The coefficients of step 1 (C1, C4, C5, D2-D4, eta, the secular rates...) depend only on
the element set; they are computed on the host by the ``sgp4`` package's own
``sgp4init`` (its pure-Python implementation, ``sgp4.model.Satrec``, which exposes them;
the compiled ``sgp4.api.Satrec`` hides them) and stored per satellite, field by field, in
`FIELDS`. ``sin i0`` and ``cos i0`` are stored too (near-Earth SGP4 never changes the
mean inclination, so the reference's per-call ``sin(inclm)``, ``cos(inclm)`` are the same
numbers). The ``sgp4`` package is therefore needed at run time to import element sets.

Assumptions and limits
----------------------
- WGS 72 constants (R_E = 6378.135 km, k_e = 60 / sqrt(R_E^3 / mu), mu = 398600.8 km^3/s^2,
  J2, J3, J4 of WGS 72), as SGP4 element sets are fitted with them; element sets
  initialized with other constants are refused.
- Output frame TEME (true equator, mean equinox of the element set's epoch); turning it
  into another frame is the caller's job.
- Near-Earth only: element sets with a period of 225 min or more (SGP4's ``method 'd'``)
  need the deep-space SDP4 terms (lunar-solar periodics, resonances), which are not in
  this kernel; `sgp4_parameters` refuses them with `DeepSpaceElementsError`. Element sets
  whose initialization fails (``satrec.error != 0``) are refused with
  `Sgp4InitializationError`.
- Errors during propagation (1: mean eccentricity out of range, 2: mean motion <= 0,
  4: semi-latus rectum < 0, 6: decayed) give NaN position and velocity and the code,
  never an exception. The compiled reference (``sgp4.api``) returns NaN for 1, 2 and 4;
  for 6 it returns the numbers it computed (a radius below one Earth radius), which are
  NaN here. After a satellite's first error SGP4's drag polynomials leave their domain:
  the library may report no error again later with positions of up to 1e10 km; this
  kernel reproduces them (to 1e-10 relative), they are not physical.
- NaN is written only as an output, never computed with inside the function, but a stage
  that reads the NaN position in the same fused kernel computes with it under taichi's
  fast math (LLVM may assume no NaN occurs): a caller that keeps going after a decay should
  test the returned error code instead.
- The ``fmod`` reductions are ``x - 2 pi trunc(x / 2 pi)`` in the kernel (taichi has no
  float ``fmod``), which differs from C's exact ``fmod`` by about 1e-16 |x| rad; the
  kernel is compiled with taichi's fast math. Both keep the kernel within a few
  micrometres of the reference over a week (tests/test_sgp4_propagation.py measures it).

Validated in ``tests/test_sgp4_propagation.py``: the taichi function and `propagate_numpy`
against ``sgp4.api.Satrec.sgp4`` every 10 min over 7 days for the near-Earth element sets
of Vallado's verification file (``SGP4-VER.TLE``, shipped with ``sgp4``), real element
sets quoted in the ``sgp4`` package, and element sets built to reach the branches the
file does not (perigee below 98 km and 156 km, e = 0, periods just under 225 min, ...);
errors where the library reports errors; the deep-space refusal. Measured there (26 sets,
1009 times each, before each satellite's first error): taichi within 1.6 um and 1.7 nm/s
of the library, numpy within 8 nm; the issue's standard is 1 m and 1 mm/s.
"""


import functools
import math
from typing import Any, Iterable, NamedTuple, Sequence

import numpy as np

#: SGP4's deep-space threshold on the period computed from Brouwer's mean motion [min].
DEEP_SPACE_PERIOD_MIN = 225.0

#: Kepler iteration of the reference: tolerance on the Newton step [rad] and most steps.
KEPLER_TOLERANCE = 1.0e-12
KEPLER_MAX_STEPS = 10

#: Per-satellite parameters read by the near-Earth propagation, in the order of the
#: arguments of the taichi function and of the columns of `parameter_matrix`:
#: name (the ``sgp4`` package's attribute name) -> (units, description). Distances are in
#: Earth radii (ER, WGS 72's 6378.135 km) and times in minutes, SGP4's internal units.
FIELDS: dict[str, tuple[str, str]] = {
    "isimp": ("1", "1.0 when the perigee is below 220 km: simplified drag (no D2-D4, omgcof, xmcof terms)"),
    "mo": ("rad", "mean anomaly at epoch"),
    "mdot": ("rad min-1", "secular rate of the mean anomaly (mean motion with J2, J4 terms)"),
    "argpo": ("rad", "argument of perigee at epoch"),
    "argpdot": ("rad min-1", "secular rate of the argument of perigee (J2, J4)"),
    "nodeo": ("rad", "right ascension of the ascending node at epoch (TEME)"),
    "nodedot": ("rad min-1", "secular rate of the node (J2, J4)"),
    "nodecf": ("rad min-2", "drag term of the node: Omega += nodecf t^2 (3.5 beta0^2 Omegadot_J2 C1)"),
    "cc1": ("min-1", "drag coefficient C1 = B* C2: tempa = 1 - C1 t - ..."),
    "cc4": ("ER min-1", "drag coefficient C4: e = e0 - B* C4 t - ..."),
    "cc5": ("ER", "drag coefficient C5: e -= B* C5 (sin M - sin M0)"),
    "bstar": ("ER-1", "B*, the drag term of the element set"),
    "t2cof": ("min-1", "1.5 C1: templ = t2cof t^2 + ..."),
    "t3cof": ("min-2", "D2 + 2 C1^2 (coefficient of t^3 in templ)"),
    "t4cof": ("min-3", "(3 D3 + C1 (12 D2 + 10 C1^2)) / 4 (coefficient of t^4 in templ)"),
    "t5cof": ("min-4", "(3 D4 + 12 C1 D3 + 6 D2^2 + 15 C1^2 (2 D2 + C1^2)) / 5 (coefficient of t^5)"),
    "omgcof": ("rad min-1", "B* C3 cos(omega0): drag rate of the argument of perigee"),
    "eta": ("1", "eta = a0 e0 / (a0 - s), s the atmosphere's density parameter"),
    "xmcof": ("rad", "-(2/3) (q0 - s)^4 xi^4 B* / (e0 eta), xi = 1/(a0 - s): drag term of M (0 if e0 <= 1e-4)"),
    "delmo": ("1", "(1 + eta cos M0)^3"),
    "sinmao": ("1", "sin M0"),
    "d2": ("min-2", "drag coefficient D2 of tempa"),
    "d3": ("min-3", "drag coefficient D3 of tempa"),
    "d4": ("min-4", "drag coefficient D4 of tempa"),
    "no_unkozai": ("rad min-1", "Brouwer mean motion n0'' (the element set's Kozai mean motion un-Kozai'd)"),
    "ecco": ("1", "mean eccentricity at epoch"),
    "inclo": ("rad", "mean inclination (TEME; constant in near-Earth SGP4)"),
    "sinio": ("1", "sin of inclo"),
    "cosio": ("1", "cos of inclo"),
    "aycof": ("ER", "-J3/J2 sin i0 / 2: long-period (J3) term of a_yN"),
    "xlcof": ("ER", "-J3/J2 sin i0 (3 + 5 cos i0) / (4 (1 + cos i0)): long-period term of L"),
    "con41": ("1", "3 cos^2 i0 - 1"),
    "x1mth2": ("1", "1 - cos^2 i0"),
    "x7thm1": ("1", "7 cos^2 i0 - 1"),
}

#: The parameter table's dtype: one float64 per field.
PARAMS_DTYPE = np.dtype([(name, np.float64) for name in FIELDS])

#: Error codes of SGP4's propagation (as ``sgp4.api`` returns them); 0 is success.
ERRORS = {
    1: "mean eccentricity out of range (e >= 1 or e < -0.001)",
    2: "mean motion less than or equal to zero",
    3: "perturbed eccentricity out of range (deep space only)",
    4: "semi-latus rectum less than zero",
    5: "epoch elements are sub-orbital",
    6: "satellite has decayed (radius below one Earth radius)",
}


class Sgp4ElementsError(ValueError):
    """An element set the near-Earth SGP4 kernel cannot take; the message names it.

    Attributes:
        index: the set's position in the sets given (`sgp4_parameters`,
            `sgp4_parameters_from_elements`), or None.
    """

    index: int | None = None


class DeepSpaceElementsError(Sgp4ElementsError):
    """A deep-space element set (period >= 225 min): SGP4 would use its SDP4 branch."""


class Sgp4InitializationError(Sgp4ElementsError):
    """An element set whose SGP4 initialization reports an error."""


class Sgp4Result(NamedTuple):
    """Positions [km] and velocities [km/s] in TEME, and SGP4 error codes (0: none).

    Shapes (n, 3), (n, 3), (n,) for a scalar time; (k, n, 3), (k, n, 3), (k, n) for k times.
    Position and velocity are NaN wherever the error code is not 0."""

    r_km: np.ndarray
    v_km_s: np.ndarray
    error: np.ndarray


# -- gravity constants -----------------------------------------------------------------


def _wgs72():
    from sgp4.earth_gravity import wgs72

    return wgs72


@functools.lru_cache(maxsize=1)
def gravity() -> tuple[float, float, float]:
    """``(radiusearthkm, xke, j2)`` of WGS 72 as the ``sgp4`` package defines them."""
    g = _wgs72()
    return float(g.radiusearthkm), float(g.xke), float(g.j2)


# -- host-side initialization ----------------------------------------------------------


def _describe(name: str | None, satnum: Any) -> str:
    return f"{name} (catalog number {satnum})" if name else f"catalog number {satnum}"


def _python_satrec(s: Any, who_name: str | None) -> Any:
    """A ``sgp4.model.Satrec`` (the pure-Python one, whose coefficients are readable)
    initialized with WGS 72 from the mean elements of ``s`` (either Satrec class)."""
    from sgp4.model import WGS72, Satrec as PySatrec

    rad, xke, j2 = gravity()
    if abs(float(s.radiusearthkm) - rad) > 1e-9 or abs(float(s.j2) - j2) > 1e-15 or abs(float(s.xke) - xke) > 1e-15:
        raise Sgp4ElementsError(
            f"{_describe(who_name, s.satnum)}: initialized with R_E = {s.radiusearthkm} km, J2 = {s.j2}, "
            f"k_e = {s.xke}; "
            "SGP4 element sets are fitted with WGS 72 constants (R_E = 6378.135 km), which the kernel uses"
        )
    if isinstance(s, PySatrec) and getattr(s, "init", "n") == "n" and hasattr(s, "cc1"):
        return s
    p = PySatrec()
    epoch = (float(s.jdsatepoch) - 2433281.5) + float(s.jdsatepochF)
    p.sgp4init(WGS72, "i", int(s.satnum), epoch, float(s.bstar), float(s.ndot), float(s.nddot),
               float(s.ecco), float(s.argpo), float(s.inclo), float(s.mo), float(s.no_kozai), float(s.nodeo))
    return p


def check_near_earth(p: Any, name: str | None = None) -> None:
    """Raise `DeepSpaceElementsError` or `Sgp4InitializationError` for an initialized
    ``sgp4.model.Satrec`` the near-Earth kernel cannot propagate."""
    who = _describe(name, p.satnum)
    if p.error != 0:
        why = getattr(p, "error_message", None) or ERRORS.get(int(p.error), "unknown error")
        raise Sgp4InitializationError(f"{who}: SGP4 initialization failed with error {p.error}: {why}")
    if p.method == "d":
        period = 2.0 * math.pi / p.no_unkozai
        raise DeepSpaceElementsError(
            f"{who}: period {period:.1f} min is at or above SGP4's deep-space limit of "
            f"{DEEP_SPACE_PERIOD_MIN:.0f} min; its SDP4 terms (lunar-solar periodics, 12 h and 24 h "
            "resonances) are not in the taichi SGP4 kernel, so this element set is refused "
            "(propagate it with the sgp4 library, or leave it out)"
        )


def is_deep_space(satrec: Any) -> bool:
    """Whether SGP4 propagates this element set (either Satrec class) with its deep-space
    branch: period from Brouwer's mean motion of 225 min or more (``sgp4init``'s rule).
    Lets a reader of a catalog leave such sets out before calling `sgp4_parameters`."""
    from sgp4.model import Satrec as PySatrec

    if isinstance(satrec, PySatrec) and hasattr(satrec, "method"):
        return satrec.method == "d"
    return _python_satrec(satrec, None).method == "d"


def _row(p: Any) -> tuple[float, ...]:
    extra = {"sinio": math.sin(p.inclo), "cosio": math.cos(p.inclo), "isimp": float(p.isimp)}
    return tuple(float(extra[k]) if k in extra else float(getattr(p, k)) for k in FIELDS)


def sgp4_parameters(element_sets: Iterable[Any], names: Sequence[str | None] | None = None) -> np.ndarray:
    """The parameter table (structured array of `PARAMS_DTYPE`, one row per set) of
    element sets, after the ``sgp4`` package's ``sgp4init`` with WGS 72.

    Args:
        element_sets: ``sgp4.api.Satrec`` or ``sgp4.model.Satrec`` objects (their mean
            elements are re-initialized with the pure-Python ``sgp4init``), or
            ``(line1, line2)`` pairs of a two-line element set.
        names: optional satellite names, used in error messages.

    Raises:
        DeepSpaceElementsError: a set with a period of 225 min or more.
        Sgp4InitializationError: a set whose initialization reports an error.
        Sgp4ElementsError: a set initialized with constants other than WGS 72.
    """
    from sgp4.api import WGS72, Satrec

    rows = []
    for k, s in enumerate(element_sets):
        name = names[k] if names is not None else None
        if isinstance(s, (tuple, list)):
            s = Satrec.twoline2rv(s[0], s[1], WGS72)
        try:
            p = _python_satrec(s, name)
            check_near_earth(p, name)
        except Sgp4ElementsError as exc:
            exc.index = k
            raise
        rows.append(_row(p))
    return np.array(rows, dtype=PARAMS_DTYPE) if rows else np.zeros(0, PARAMS_DTYPE)


def sgp4_parameters_from_elements(satnum: Any, epoch_days: Any, bstar: Any, ndot: Any, nddot: Any, ecco: Any,
                                  argpo: Any, inclo: Any, mo: Any, no_kozai: Any, nodeo: Any,
                                  names: Sequence[str | None] | None = None) -> np.ndarray:
    """`sgp4_parameters` from arrays (or scalars, broadcast) of SGP4 mean elements, the
    arguments of ``sgp4init``: catalog numbers, epochs [days since 1949 December 31
    00:00 UT], B* [1/ER], ndot [rad/min^2] and nddot [rad/min^3] (kept by ``sgp4init``,
    unused by SGP4), e, omega [rad], i [rad], M [rad], Kozai mean motion [rad/min], RAAN
    [rad] (TEME)."""
    from sgp4.model import WGS72, Satrec as PySatrec

    cols = [np.atleast_1d(np.asarray(x)) for x in (satnum, epoch_days, bstar, ndot, nddot, ecco, argpo, inclo, mo,
                                                  no_kozai, nodeo)]
    n = max(len(c) for c in cols)
    cols = [np.broadcast_to(c, (n,)) for c in cols]
    rows = []
    for k in range(n):
        p = PySatrec()
        p.sgp4init(WGS72, "i", int(cols[0][k]), *(float(c[k]) for c in cols[1:]))
        try:
            check_near_earth(p, names[k] if names is not None else None)
        except Sgp4ElementsError as exc:
            exc.index = k
            raise
        rows.append(_row(p))
    return np.array(rows, dtype=PARAMS_DTYPE) if rows else np.zeros(0, PARAMS_DTYPE)


def parameter_matrix(params: np.ndarray) -> np.ndarray:
    """The table as a C-contiguous float64 array (n, len(FIELDS)), columns in `FIELDS` order."""
    return np.ascontiguousarray(np.stack([np.asarray(params[k], np.float64) for k in FIELDS], axis=-1))


# -- numpy reference -------------------------------------------------------------------


def propagate_numpy(params: np.ndarray, tsince_min: Any) -> Sgp4Result:
    """Near-Earth SGP4 for every satellite of ``params`` at ``tsince_min`` [min since each
    set's epoch; scalar, (k,), or (k, n)], vectorized: the arithmetic of the taichi
    function, step by step (module docstring), with numpy's exact ``fmod``."""
    rad, xke, j2 = gravity()
    f = {k: np.asarray(params[k], np.float64) for k in FIELDS}
    t = np.asarray(tsince_min, np.float64)
    t = t[:, None] if t.ndim == 1 else t
    twopi = 2.0 * np.pi
    x2o3 = 2.0 / 3.0
    with np.errstate(all="ignore"):
        # 1. secular gravity and drag
        xmdf = f["mo"] + f["mdot"] * t
        argpdf = f["argpo"] + f["argpdot"] * t
        nodedf = f["nodeo"] + f["nodedot"] * t
        t2 = t * t
        nodem = nodedf + f["nodecf"] * t2
        tempa = 1.0 - f["cc1"] * t
        tempe = f["bstar"] * f["cc4"] * t
        templ = f["t2cof"] * t2
        full = f["isimp"] != 1.0
        delomg = f["omgcof"] * t
        delmtemp = 1.0 + f["eta"] * np.cos(xmdf)
        delm = f["xmcof"] * (delmtemp * delmtemp * delmtemp - f["delmo"])
        temp = delomg + delm
        mm = np.where(full, xmdf + temp, xmdf)
        argpm = np.where(full, argpdf - temp, argpdf)
        t3 = t2 * t
        t4 = t3 * t
        tempa = np.where(full, tempa - f["d2"] * t2 - f["d3"] * t3 - f["d4"] * t4, tempa)
        tempe = np.where(full, tempe + f["bstar"] * f["cc5"] * (np.sin(mm) - f["sinmao"]), tempe)
        templ = np.where(full, templ + f["t3cof"] * t3 + t4 * (f["t4cof"] + t * f["t5cof"]), templ)
        nm = f["no_unkozai"] + 0.0 * t
        err = np.where(nm <= 0.0, 2, 0)
        am = np.power(xke / nm, x2o3) * tempa * tempa
        nm = xke / np.power(am, 1.5)
        em = f["ecco"] - tempe
        err = np.where((err == 0) & ((em >= 1.0) | (em < -0.001)), 1, err)
        em = np.where(em < 1.0e-6, 1.0e-6, em)
        mm = mm + f["no_unkozai"] * templ
        xlm = mm + argpm + nodem
        nodem = np.fmod(nodem, twopi)
        argpm = np.fmod(argpm, twopi)
        xlm = np.fmod(xlm, twopi)
        mm = np.fmod(xlm - argpm - nodem, twopi)
        # 2. long-period periodics
        axnl = em * np.cos(argpm)
        temp = 1.0 / (am * (1.0 - em * em))
        aynl = em * np.sin(argpm) + temp * f["aycof"]
        xl = mm + argpm + nodem + temp * f["xlcof"] * axnl
        # 3. Kepler's equation (each element stops when its own step is below tolerance)
        u = np.fmod(xl - nodem, twopi)
        eo1 = u.copy()
        tem5 = np.full_like(u, 9999.9)
        sineo1 = np.zeros_like(u)
        coseo1 = np.zeros_like(u)
        for _ in range(KEPLER_MAX_STEPS):
            go = np.abs(tem5) >= KEPLER_TOLERANCE
            if not go.any():
                break
            s, c = np.sin(eo1), np.cos(eo1)
            d = (u - aynl * c + axnl * s - eo1) / (1.0 - c * axnl - s * aynl)
            d = np.clip(d, -0.95, 0.95)
            sineo1 = np.where(go, s, sineo1)
            coseo1 = np.where(go, c, coseo1)
            tem5 = np.where(go, d, tem5)
            eo1 = np.where(go, eo1 + d, eo1)
        # 4. short-period periodics
        ecose = axnl * coseo1 + aynl * sineo1
        esine = axnl * sineo1 - aynl * coseo1
        el2 = axnl * axnl + aynl * aynl
        pl = am * (1.0 - el2)
        err = np.where((err == 0) & (pl < 0.0), 4, err)
        rl = am * (1.0 - ecose)
        rdotl = np.sqrt(am) * esine / rl
        rvdotl = np.sqrt(pl) / rl
        betal = np.sqrt(1.0 - el2)
        temp = esine / (1.0 + betal)
        sinu = am / rl * (sineo1 - aynl - axnl * temp)
        cosu = am / rl * (coseo1 - axnl + aynl * temp)
        su = np.arctan2(sinu, cosu)
        sin2u = (cosu + cosu) * sinu
        cos2u = 1.0 - 2.0 * sinu * sinu
        temp = 1.0 / pl
        temp1 = 0.5 * j2 * temp
        temp2 = temp1 * temp
        cosip, sinip = f["cosio"], f["sinio"]
        mrt = rl * (1.0 - 1.5 * temp2 * betal * f["con41"]) + 0.5 * temp1 * f["x1mth2"] * cos2u
        su = su - 0.25 * temp2 * f["x7thm1"] * sin2u
        xnode = nodem + 1.5 * temp2 * cosip * sin2u
        xinc = f["inclo"] + 1.5 * temp2 * cosip * sinip * cos2u
        mvt = rdotl - nm * temp1 * f["x1mth2"] * sin2u / xke
        rvdot = rvdotl + nm * temp1 * (f["x1mth2"] * cos2u + 1.5 * f["con41"]) / xke
        sinsu, cossu = np.sin(su), np.cos(su)
        snod, cnod = np.sin(xnode), np.cos(xnode)
        sini, cosi = np.sin(xinc), np.cos(xinc)
        xmx, xmy = -snod * cosi, cnod * cosi
        ux, uy, uz = xmx * sinsu + cnod * cossu, xmy * sinsu + snod * cossu, sini * sinsu
        vx, vy, vz = xmx * cossu - cnod * sinsu, xmy * cossu - snod * sinsu, sini * cossu
        err = np.where((err == 0) & (mrt < 1.0), 6, err)
        vkmpersec = rad * xke / 60.0
        mr = mrt * rad
        r = np.stack([mr * ux, mr * uy, mr * uz], axis=-1)
        v = np.stack([(mvt * ux + rvdot * vx) * vkmpersec, (mvt * uy + rvdot * vy) * vkmpersec,
                      (mvt * uz + rvdot * vz) * vkmpersec], axis=-1)
    bad = (err != 0)[..., None]
    r = np.where(bad, np.nan, r)
    v = np.where(bad, np.nan, v)
    return Sgp4Result(r, v, err.astype(np.int32))


# -- taichi ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def make_sgp4_func() -> Any:
    """The taichi function ``sgp4_near_earth(<FIELDS in order>, tsince_min) -> (r_km,
    v_km_s, error)``: near-Earth SGP4 for one satellite at one time (module docstring),
    float64 throughout. ``r_km`` and ``v_km_s`` are 3-vectors in TEME [km, km/s], NaN
    when ``error`` (i32, the library's codes) is not 0. Taichi must be started."""
    import taichi as ti

    rad, xke, j2 = gravity()
    twopi = 2.0 * math.pi
    x2o3 = 2.0 / 3.0
    vkmpersec = rad * xke / 60.0
    tol, max_steps = KEPLER_TOLERANCE, KEPLER_MAX_STEPS

    @ti.func
    def fmod2pi(x):
        """C's fmod(x, 2 pi): remainder with the sign of x."""
        q = x / twopi
        return x - twopi * ti.select(q >= 0.0, ti.floor(q), ti.ceil(q))

    @ti.func
    def sgp4_near_earth(isimp, mo, mdot, argpo, argpdot, nodeo, nodedot, nodecf, cc1, cc4, cc5, bstar,
                        t2cof, t3cof, t4cof, t5cof, omgcof, eta, xmcof, delmo, sinmao, d2, d3, d4,
                        no_unkozai, ecco, inclo, sinio, cosio, aycof, xlcof, con41, x1mth2, x7thm1, tsince_min):
        t = tsince_min
        # 1. secular gravity and drag: linear secular laws, drag polynomials in t
        xmdf = mo + mdot * t
        argpdf = argpo + argpdot * t
        nodedf = nodeo + nodedot * t
        argpm = argpdf
        mm = xmdf
        t2 = t * t
        nodem = nodedf + nodecf * t2
        tempa = 1.0 - cc1 * t
        tempe = bstar * cc4 * t
        templ = t2cof * t2
        if isimp != 1.0:  # full drag (perigee >= 220 km): omega and M drag terms, D2..D4
            delomg = omgcof * t
            delmtemp = 1.0 + eta * ti.cos(xmdf)
            delm = xmcof * (delmtemp * delmtemp * delmtemp - delmo)
            temp = delomg + delm
            mm = xmdf + temp
            argpm = argpdf - temp
            t3 = t2 * t
            t4 = t3 * t
            tempa = tempa - d2 * t2 - d3 * t3 - d4 * t4
            tempe = tempe + bstar * cc5 * (ti.sin(mm) - sinmao)
            templ = templ + t3cof * t3 + t4 * (t4cof + t * t5cof)
        err = 0
        nm = no_unkozai
        if nm <= 0.0:
            err = 2
        # a = (k_e / n0'')^(2/3) tempa^2, n = k_e / a^(3/2), e = e0 - tempe
        am = ti.pow(xke / nm, x2o3) * tempa * tempa
        nm = xke / ti.pow(am, 1.5)
        em = ecco - tempe
        if err == 0 and (em >= 1.0 or em < -0.001):
            err = 1
        if em < 1.0e-6:
            em = 1.0e-6
        mm = mm + no_unkozai * templ
        xlm = mm + argpm + nodem
        nodem = fmod2pi(nodem)
        argpm = fmod2pi(argpm)
        xlm = fmod2pi(xlm)
        mm = fmod2pi(xlm - argpm - nodem)
        # 2. long-period periodics (J3) in Lyddane's variables a_xN, a_yN, L_T
        axnl = em * ti.cos(argpm)
        temp = 1.0 / (am * (1.0 - em * em))
        aynl = em * ti.sin(argpm) + temp * aycof
        xl = mm + argpm + nodem + temp * xlcof * axnl
        # 3. Kepler's equation for E + omega: clamped Newton steps from U
        u = fmod2pi(xl - nodem)
        eo1 = u
        tem5 = 9999.9
        sineo1 = 0.0
        coseo1 = 1.0
        ktr = 1
        while ktr <= max_steps:
            if not (ti.abs(tem5) >= tol):
                break
            sineo1 = ti.sin(eo1)
            coseo1 = ti.cos(eo1)
            tem5 = (u - aynl * coseo1 + axnl * sineo1 - eo1) / (1.0 - coseo1 * axnl - sineo1 * aynl)
            tem5 = ti.min(ti.max(tem5, -0.95), 0.95)
            eo1 = eo1 + tem5
            ktr += 1
        # 4. short-period periodics (J2) and the TEME state vector
        ecose = axnl * coseo1 + aynl * sineo1
        esine = axnl * sineo1 - aynl * coseo1
        el2 = axnl * axnl + aynl * aynl
        pl = am * (1.0 - el2)
        if err == 0 and pl < 0.0:
            err = 4
        rl = am * (1.0 - ecose)
        rdotl = ti.sqrt(am) * esine / rl
        rvdotl = ti.sqrt(pl) / rl
        betal = ti.sqrt(1.0 - el2)
        temp = esine / (1.0 + betal)
        sinu = am / rl * (sineo1 - aynl - axnl * temp)
        cosu = am / rl * (coseo1 - axnl + aynl * temp)
        su = ti.atan2(sinu, cosu)
        sin2u = (cosu + cosu) * sinu
        cos2u = 1.0 - 2.0 * sinu * sinu
        temp = 1.0 / pl
        temp1 = 0.5 * j2 * temp
        temp2 = temp1 * temp
        mrt = rl * (1.0 - 1.5 * temp2 * betal * con41) + 0.5 * temp1 * x1mth2 * cos2u
        su = su - 0.25 * temp2 * x7thm1 * sin2u
        xnode = nodem + 1.5 * temp2 * cosio * sin2u
        xinc = inclo + 1.5 * temp2 * cosio * sinio * cos2u
        mvt = rdotl - nm * temp1 * x1mth2 * sin2u / xke
        rvdot = rvdotl + nm * temp1 * (x1mth2 * cos2u + 1.5 * con41) / xke
        sinsu, cossu = ti.sin(su), ti.cos(su)
        snod, cnod = ti.sin(xnode), ti.cos(xnode)
        sini, cosi = ti.sin(xinc), ti.cos(xinc)
        xmx, xmy = -snod * cosi, cnod * cosi
        uvec = ti.Vector([xmx * sinsu + cnod * cossu, xmy * sinsu + snod * cossu, sini * sinsu])
        vvec = ti.Vector([xmx * cossu - cnod * sinsu, xmy * cossu - snod * sinsu, sini * cossu])
        if err == 0 and mrt < 1.0:
            err = 6
        r = (mrt * rad) * uvec
        v = (mvt * uvec + rvdot * vvec) * vkmpersec
        if err != 0:
            r = ti.Vector([ti.math.nan, ti.math.nan, ti.math.nan])
            v = ti.Vector([ti.math.nan, ti.math.nan, ti.math.nan])
        return r, v, err

    return sgp4_near_earth


@functools.lru_cache(maxsize=1)
def _kernel() -> Any:
    """The driver kernel, compiled once per process (ndarray arguments)."""
    import taichi as ti

    func = make_sgp4_func()
    nf = len(FIELDS)
    f64_2, f64_1 = ti.types.ndarray(dtype=ti.f64, ndim=2), ti.types.ndarray(dtype=ti.f64, ndim=1)
    f64_3, i32_2 = ti.types.ndarray(dtype=ti.f64, ndim=3), ti.types.ndarray(dtype=ti.i32, ndim=2)

    @ti.kernel
    def sgp4_all(p: f64_2, t: f64_1, r: f64_3, v: f64_3, err: i32_2):
        for i in range(p.shape[0]):
            row = ti.Vector([p[i, c] for c in ti.static(range(nf))])
            for j in range(t.shape[0]):
                rr, vv, e = func(*[row[c] for c in ti.static(range(nf))], t[j])
                for c in ti.static(range(3)):
                    r[j, i, c] = rr[c]
                    v[j, i, c] = vv[c]
                err[j, i] = e

    return sgp4_all


def propagate_taichi(params: np.ndarray, tsince_min: Any) -> Sgp4Result:
    """`propagate_numpy`'s result from the taichi function: every satellite of ``params``
    (a table of `PARAMS_DTYPE`, or already a `parameter_matrix`) at each time of
    ``tsince_min`` [min since each set's epoch; scalar or (k,)]. Starts taichi (CPU) with
    `twin_core.backend.start_taichi` unless it runs already; the kernel compiles once."""
    from twin_core.backend import start_taichi

    start_taichi("cpu", quiet=True)
    m = parameter_matrix(params) if params.dtype == PARAMS_DTYPE else np.ascontiguousarray(params, np.float64)
    if m.ndim != 2 or m.shape[1] != len(FIELDS):
        raise ValueError(f"parameters must be a table of PARAMS_DTYPE or an array (n, {len(FIELDS)}): shape {m.shape}")
    t = np.asarray(tsince_min, np.float64)
    t1 = np.ascontiguousarray(np.atleast_1d(t))
    k, n = len(t1), m.shape[0]
    r = np.empty((k, n, 3))
    v = np.empty((k, n, 3))
    err = np.empty((k, n), np.int32)
    if k and n:
        _kernel()(m, t1, r, v, err)
    if t.ndim == 0:
        return Sgp4Result(r[0], v[0], err[0])
    return Sgp4Result(r, v, err)
