"""Earth's shadow: the fraction of the solar disc a satellite sees, two models.

Not a plugin: the geometry the ``environment`` plugin uses, as a numpy reference
(`illumination_numpy`, vectorised, used by tests and the numpy benchmark) and as a taichi
function (`make_illumination_func`) of the same arithmetic.

Notation: ``r`` satellite position [m], ``s`` unit vector Earth -> Sun, ``d`` Earth-Sun
distance [m], all ECI. ``x = r . s`` is the position along the shadow axis (negative behind
the Earth), ``rho^2 = |r|^2 - x^2`` the squared distance from it.

Cylindrical model (Vallado, Fundamentals of Astrodynamics and Applications, 4th ed.,
sec. 5.3, Algorithm 34, with the Sun at infinity)
    in shadow (illumination 0) when ``x < 0`` and ``rho < R_E``, else 1. No penumbra.

Conical model (Montenbruck & Gill, Satellite Orbits, 2000, sec. 3.4.2)
    From the satellite the Sun's disc has apparent radius ``a = asin(R_S / |d s - r|)``, the
    Earth's ``b = asin(R_E / |r|)``, and their centres are ``c = acos(-r.(d s - r) /
    (|r| |d s - r|))`` apart. The discs overlap when ``|a - b| < c < a + b``, over the area::

        A = a^2 acos(x_c / a) + b^2 acos((c - x_c) / b) - c y_c,
        x_c = (c^2 + a^2 - b^2) / (2 c),   y_c = sqrt(a^2 - x_c^2)

    and the illumination is ``1 - A / (pi a^2)``; it is 0 (umbra) for ``c <= b - a``, and
    ``1 - b^2 / a^2`` (annular, antumbra, farther than 1.4e6 km: never in practice) for
    ``c <= a - b``; 1 otherwise.

Cost. The disc formula needs five inverse trig calls. They are spent only in penumbra,
a band a few tens of km wide that a LEO satellite crosses in 5-25 s: before
it, two rational tests against the shadow cones decide full sun and umbra exactly.
The penumbra cone (tangent to Sun and Earth, crossing between them) has its apex at
``x_p = d R_E / (R_S + R_E)`` towards the Sun and ``sin(alpha_p) = (R_S + R_E) / d``; the
umbra cone its apex at ``x_u = d R_E / (R_S - R_E)`` behind the Earth and
``sin(alpha_u) = (R_S - R_E) / d``. A point is in full sun if ``x >= 0`` or ``rho^2 >=
(x_p - x)^2 tan^2(alpha_p)``, in umbra if ``rho^2 < (x_u + x)^2 tan^2(alpha_u)`` with
``x_u + x > 0``. The ``x >= 0`` test misses penumbra only within 70 m of the ground (the cone
meets the Earth at ``x = R_E sin(alpha_p)``, 30 km sunward).

Assumptions and limits: spherical Earth of the equatorial radius (the polar flattening,
21 km, is neglected, as is the atmosphere, whose refraction and extinction widen the real
shadow by a few tens of km); the Sun a uniform disc (no limb darkening), so the
illumination is the visible area fraction, not exactly the visible power fraction; the
Moon's shadow is neglected.

Validated in ``tests/test_environment.py``: eclipse fraction per orbit against the closed
form for the cylindrical model; umbra plus half the penumbra of the conical model against
the cylindrical duration; monotone illumination through penumbra; taichi against numpy.
"""

from __future__ import annotations

import math

import numpy as np

from orbitwin_plugins.constants import R_EARTH_M, R_SUN_M

MODELS = ("conical", "cylindrical")


def illumination_numpy(r: np.ndarray, sun_dir: np.ndarray, sun_dist: np.ndarray | float,
                       model: str = "conical") -> np.ndarray:
    """Illuminated fraction of the solar disc, vectorised (module docstring for the maths).

    Args:
        r: satellite positions [m], shape ``(..., 3)``, ECI.
        sun_dir: unit vectors Earth -> Sun, broadcastable to ``r``.
        sun_dist: Earth-Sun distance [m], broadcastable to ``r.shape[:-1]``.
        model: ``"conical"`` (umbra and penumbra) or ``"cylindrical"`` (0 or 1).

    Returns:
        float64 array of shape ``r.shape[:-1]`` in [0, 1].
    """
    if model not in MODELS:
        raise ValueError(f"shadow model must be one of {MODELS}: {model!r}")
    r = np.asarray(r, dtype=np.float64)
    s = np.asarray(sun_dir, dtype=np.float64)
    d = np.asarray(sun_dist, dtype=np.float64)
    x = np.sum(r * s, axis=-1)
    r2 = np.sum(r * r, axis=-1)
    rho2 = r2 - x * x
    if model == "cylindrical":
        return np.where((x < 0.0) & (rho2 < R_EARTH_M * R_EARTH_M), 0.0, 1.0)

    cones = cone_terms(d)
    lp = cones[..., 0] - x
    tp2 = cones[..., 1]
    lu = cones[..., 2] + x
    tu2 = cones[..., 3]
    sunlit = (x >= 0.0) | (rho2 >= lp * lp * tp2)
    umbra = ~sunlit & (lu > 0.0) & (rho2 < lu * lu * tu2)
    nu = np.where(umbra, 0.0, 1.0)
    pen = ~sunlit & ~umbra
    if np.any(pen):
        rp = np.broadcast_to(r, pen.shape + (3,))[pen]
        sp = np.broadcast_to(s, pen.shape + (3,))[pen]
        dp = np.broadcast_to(d, pen.shape)[pen]
        nu[pen] = _disc_overlap_numpy(rp, sp, dp)
    return nu


def _disc_overlap_numpy(r: np.ndarray, s: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Montenbruck & Gill's disc-overlap illumination for points (k, 3)."""
    rs = d[:, None] * s - r
    drs = np.sqrt(np.sum(rs * rs, axis=-1))
    rn = np.sqrt(np.sum(r * r, axis=-1))
    a = np.arcsin(R_SUN_M / drs)
    b = np.arcsin(R_EARTH_M / rn)
    c = np.arccos(np.clip(-np.sum(r * rs, axis=-1) / (rn * drs), -1.0, 1.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        xc = (c * c + a * a - b * b) / (2.0 * c)
        yc = np.sqrt(np.maximum(a * a - xc * xc, 0.0))
        area = (a * a * np.arccos(np.clip(xc / a, -1.0, 1.0))
                + b * b * np.arccos(np.clip((c - xc) / b, -1.0, 1.0)) - c * yc)
        partial = 1.0 - area / (math.pi * a * a)
    nu = np.where(c >= a + b, 1.0,
                  np.where(c <= b - a, 0.0,
                           np.where(c <= a - b, 1.0 - (b * b) / (a * a), partial)))
    return np.clip(nu, 0.0, 1.0)


def cone_terms(sun_dist: np.ndarray | float) -> np.ndarray:
    """The shadow cones' constants for Earth-Sun distances ``sun_dist`` [m], shape
    ``(..., 4)``: ``x_p``, ``tan^2(alpha_p)``, ``x_u``, ``tan^2(alpha_u)`` (module
    docstring). They depend on the distance alone, so the environment computes them once
    per step for every satellite (four divisions per satellite-step fewer in the kernel)."""
    d = np.asarray(sun_dist, dtype=np.float64)
    kp = (R_SUN_M + R_EARTH_M) / d
    ku = (R_SUN_M - R_EARTH_M) / d
    return np.stack([R_EARTH_M / kp, kp * kp / (1.0 - kp * kp), R_EARTH_M / ku, ku * ku / (1.0 - ku * ku)], axis=-1)


def make_illumination_func(model: str):
    """A ``taichi.func`` ``illumination(r, s, d, apex, tan2) -> f64`` computing exactly
    what `illumination_numpy` does for one satellite (``r``, ``s`` 3-vectors, ``d``
    scalar; ``apex`` and ``tan2`` the 2-vectors ``cone_terms(d)[0::2]`` and ``[1::2]``).

    Taichi is imported here, not at module import, so that loading the plugin stays cheap.
    """
    if model not in MODELS:
        raise ValueError(f"shadow model must be one of {MODELS}: {model!r}")
    import taichi as ti

    R_E = float(R_EARTH_M)
    R_S = float(R_SUN_M)
    PI = math.pi

    if model == "cylindrical":

        @ti.func
        def cylindrical(r, s, d, apex, tan2):
            x = r.dot(s)
            rho2 = r.dot(r) - x * x
            nu = 1.0
            if x < 0.0 and rho2 < R_E * R_E:
                nu = 0.0
            return nu

        return cylindrical

    @ti.func
    def conical(r, s, d, apex, tan2):
        nu = 1.0
        x = r.dot(s)
        if x < 0.0:
            r2 = r.dot(r)
            rho2 = r2 - x * x
            lp = apex[0] - x
            if rho2 < lp * lp * tan2[0]:  # inside the penumbra cone
                lu = apex[1] + x
                if lu > 0.0 and rho2 < lu * lu * tan2[1]:
                    nu = 0.0  # umbra
                else:  # penumbra: the only place trig is spent
                    rs = d * s - r
                    drs = ti.sqrt(rs.dot(rs))
                    rn = ti.sqrt(r2)
                    a = ti.asin(R_S / drs)
                    b = ti.asin(R_E / rn)
                    c = ti.acos(ti.math.clamp(-r.dot(rs) / (rn * drs), -1.0, 1.0))
                    if c >= a + b:
                        nu = 1.0
                    elif c <= b - a:
                        nu = 0.0
                    elif c <= a - b:
                        nu = 1.0 - (b * b) / (a * a)
                    else:
                        xc = (c * c + a * a - b * b) / (2.0 * c)
                        yc = ti.sqrt(ti.max(a * a - xc * xc, 0.0))
                        area = (a * a * ti.acos(ti.math.clamp(xc / a, -1.0, 1.0))
                                + b * b * ti.acos(ti.math.clamp((c - xc) / b, -1.0, 1.0)) - c * yc)
                        nu = 1.0 - area / (PI * a * a)
                    nu = ti.math.clamp(nu, 0.0, 1.0)
        return nu

    return conical


__all__ = ["MODELS", "illumination_numpy", "make_illumination_func"]
