"""Formation-flying clusters: satellites on bounded relative orbits around one reference
orbit, as mean Keplerian elements for the ``orbit`` plugin (``[[orbit.shell]]`` with
``kind = "cluster"``, `orbitwin_plugins.constellations.Shell`).

Project Suncatcher (Google, "Towards a future space-based, highly scalable AI
infrastructure system design", Nov 2025, the orbital-dynamics section and its Fig. 2)
proposes an illustrative *planar* cluster of 81 satellites, all in the orbital plane of a
dawn-dusk sun-synchronous orbit at a mean altitude of 650 km, arranged with the
Hill-Clohessy-Wiltshire equations, within ~1 km of the centre, neighbours 100-200 m apart,
held by "modest station-keeping". This module builds such clusters.

**1. Geometry: bounded Hill-Clohessy-Wiltshire motion.** In the reference's rotating
frame (x radial, y along-track, z cross-track; Clohessy & Wiltshire, J. Aerospace Sci.
27(9), 653-658, 1960; Vallado, Fundamentals of Astrodynamics and Applications, 4th ed.,
2013, sec. 6.8), for a circular reference of mean motion n::

    x'' - 2 n y' - 3 n^2 x = 0,    y'' + 2 n x' = 0,    z'' + n^2 z = 0

the along-track coordinate has the secular term ``-(6 n x0 + 3 y0') t``; it vanishes,
and the motion is bounded, iff ``y0' = -2 n x0`` (HCW's "no-drift" condition, energy
matching: equal semi-major axes). Every satellite starts at its offset (x0, y0, z0) [m]
at the epoch with the velocity that makes its relative orbit bounded *and centred* on the
reference (``x0' = n y0 / 2``: the centre of the 2:1 ellipse, ``y0 - 2 x0' / n``, is 0)
and its cross-track motion at an extreme (``z0' = 0``)::

    x(t) = x0 cos nt + (y0 / 2) sin nt
    y(t) = y0 cos nt - 2 x0 sin nt
    z(t) = z0 cos nt

In the plane the map is a rigid rotation of (x, y/2) at rate n: every satellite runs a
2:1 ellipse and the cluster turns as one body once an orbit, so two satellites a
distance d apart in (x, y/2) are between d and 2 d apart in space. This is Suncatcher's
"neighbours oscillating between ~100 and 200 m". Cross-track motion cannot be held
constant without thrust (z'' = -n^2 z): it passes through zero twice an orbit.

``grid = [n_r, n_t, n_c]`` (1 to 3 whole numbers, missing ones 1) places satellites at
radial pitch ``spacing_m``, along-track pitch ``2 spacing_m`` (square in (x, y/2)) and
cross-track pitch ``spacing_m``, centred on the reference. Cross-track layers cross each
other twice an orbit, so layer l is shifted in (x, y/2) by ``(l - (n_c - 1)/2) / n_c`` of
a pitch along both axes; its closest approach to the next layer is then about
``spacing_m sqrt(2) / n_c``. ``offsets_m`` lists the offsets instead.

**2. Relative orbital elements.** The bounded HCW motion is the first-order (in a
relative separation over a) image of small differences in *mean* elements; with
the relative orbital elements of D'Amico (Autonomous Formation Flying in Low Earth Orbit,
PhD thesis, TU Delft, 2010, ch. 2; D'Amico & Montenbruck, J. Guid. Control Dyn. 29(3),
554-563, 2006)::

    da = (a_d - a)/a,   dlambda = (u_d - u) + (RAAN_d - RAAN) cos i,
    de = e_d (cos w_d, sin w_d) - e (cos w, sin w),
    di = (i_d - i, (RAAN_d - RAAN) sin i),          u = w + M (mean argument of latitude)

    x/a = da - de_x cos u - de_y sin u
    y/a = dlambda - 1.5 da (u - u0) + 2 de_x sin u - 2 de_y cos u
    z/a = di_x sin u - di_y cos u

Equating with the HCW motion at the reference's argument of latitude ``u = u0 + nt``
gives, for every satellite (reference circular, ``w = 0``, ``M = u0``)::

    da = 0,  dlambda = 0,
    de_x = -(x0 cos u0 - (y0/2) sin u0) / a,   de_y = -(x0 sin u0 + (y0/2) cos u0) / a,
    di_x = z0 sin u0 / a,                       di_y = -z0 cos u0 / a

so ``e_d = |de|``, ``w_d = atan2(de_y, de_x)``, ``i_d = i + di_x``,
``RAAN_d = RAAN + di_y / sin i``, ``u_d = u0 - (RAAN_d - RAAN) cos i``, ``M_d = u_d - w_d``.
The neglected second-order terms are ~a e^2 and ~rho^2 / a (rho the distance to the
reference): 0.1 m for a 1 km cluster at 650 km.

**3. What J2 does to it in orbitwin's model.** The orbit plugin moves M, w and RAAN at the
first-order secular J2 rates of each satellite's own (a, e, i) (Vallado eq. 9-41;
`orbitwin_plugins.orbit.j2_secular_rates`). Differences in RAAN, w and M therefore never
change (Kulik, arXiv:1901.03392: such formations are J2-invariant), and differences in e
enter the rates only as e de (1e-14 rad/s at e ~ 1e-4). The satellites that drift are
those with ``di_x != 0``, i.e. cross-track motion that is not at its extreme at the nodes:
linearising the rates at e = 0 (``k = 1.5 n J2 (R_E/a)^2``, ``s = sin i``, ``c = cos i``)::

    d(dlambda)/dt = -(1.5 n + 3.5 k (2 - 3 s^2)) da - 7 k s c di_x      (along-track)
    d(di_y)/dt    = k s^2 di_x                                           (cross-track)

At 650 km sun-synchronous (``k/n = 1.34e-3``), ``a di_x`` = 100 m drifts 11.9 m/day
along-track with ``da = 0`` and grows the cross-track amplitude by 12.1 m/day.

**4. The J2 correction** (``j2_correction = true``, the default). Schaub & Alfriend
(Celest. Mech. Dyn. Astron. 79, 77-95, 2001) make relative orbits J2-invariant by
choosing the mean-element differences so that the secular rates of the argument of
latitude and of the node agree. For a near-circular reference the two conditions can
only both hold with ``di_x = 0``: the nodal one needs ``da/a = -(2/7) tan i di_x``, the
along-track one ``da/a ~ -4.7 (k/n) s c di_x``, and their third free difference, the
eccentricity's, enters the rates only as e de. The builder therefore matches the
along-track rate only, the one that lets satellites drift apart along the track: each
satellite's semi-major axis is solved (Newton, to < 1 nm) so that, in the propagator's
own rates,

    (dM/dt + dw/dt)(a_d, e_d, i_d) + cos i (dRAAN/dt)(a_d, e_d, i_d)
        = (dM/dt + dw/dt)(a, 0, i) + cos i (dRAAN/dt)(a, 0, i)

which is ``d(dlambda)/dt = 0`` exactly (``da`` = 0.09 m per 100 m of ``a di_x`` at
650 km SSO). The cross-track growth ``k s^2 di_x`` remains (no choice
of ``da`` removes it); a cluster whose cross-track motion has its extremes at the nodes
(``z0`` with the reference at a node at the epoch, ``mean_anomaly_deg`` 0 or 180, the
default 0) has ``di_x = 0`` and no drift at all. Without the correction ``da = 0``
(HCW's energy matching, Kepler only). Schweighart & Sedwick's modified no-drift
condition (J. Guid. Control Dyn. 25(6), 1073-1080, 2002) solves the same problem for
initial conditions given as a Cartesian state; here the mean elements are built directly,
which is what the propagator reads, so it is not needed.

**Checks** (`check_offsets`): at most `MAX_CLUSTER_SATELLITES`; every pair's closest
approach over an orbit of the HCW motion (exact: ``min_t |d(t)|^2`` is the smaller
eigenvalue of the 2x2 Gram matrix of d's cos and sin parts) at least
`MIN_SEPARATION_M`; every satellite within `MAX_RADIUS_M` of the reference (extent
100 km at most: there the linear theory's second-order terms, rho^2 / 2a, reach 180 m).

Assumptions and limits: the orbit plugin's (mean elements, secular J2 only, no
short-period terms, so the twice-per-orbit J2 oscillation of the relative motion is
absent); reference orbit circular; no differential drag or solar pressure (equal
ballistic coefficients assumed), no station-keeping, no collision avoidance: a cluster
whose satellites drift (``di_x != 0``) is not re-formed.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from orbitwin_plugins.constants import J2_EARTH, MU_EARTH_M3_S2, R_EARTH_M
from twin_core.validators import SpecValueError

#: Largest cluster accepted: `orbit_shapes` returns one (a, e, i) per satellite (the
#: orbit plugin asks for them before a run is planned).
MAX_CLUSTER_SATELLITES = 10_000
#: Smallest closest approach [m] of any two satellites over an orbit (HCW motion): below
#: ~10 m satellites with deployed arrays of tens of metres would touch.
MIN_SEPARATION_M = 10.0
#: Largest distance [m] of any satellite from the reference over an orbit (extent 100 km
#: at most). The first-order theory's error grows as rho^2 / 2a: 180 m at 50 km.
MAX_RADIUS_M = 50e3
#: Smallest sin i of a reference whose cluster has cross-track offsets: the node, whose
#: differences carry the cross-track motion, is undefined for equatorial orbits.
MIN_SIN_INCLINATION = 1e-3


# -- geometry --------------------------------------------------------------------------


def grid_offsets_m(grid: Sequence[int], spacing_m: float) -> np.ndarray:
    """Offsets (N, 3) [m] at the epoch of a ``grid = [n_r, n_t, n_c]`` cluster (module
    docstring, sec. 1): radial pitch ``spacing_m``, along-track ``2 spacing_m``,
    cross-track ``spacing_m``, centred, cross-track layers staggered. Satellites are
    numbered cross-track layer by layer, then along-track row by row, radial fastest."""
    n_r, n_t, n_c = (list(grid) + [1, 1])[:3]
    s = float(spacing_m)
    ic, it, ir = np.meshgrid(np.arange(n_c), np.arange(n_t), np.arange(n_r), indexing="ij")
    layer = ic.ravel() - (n_c - 1) / 2.0
    shift = layer / n_c if n_c > 1 else 0.0 * layer
    x = (ir.ravel() - (n_r - 1) / 2.0 + shift) * s
    y_half = (it.ravel() - (n_t - 1) / 2.0 + shift) * s
    return np.stack([x, 2.0 * y_half, layer * s], axis=-1)


def hcw_positions_m(offsets_m: Any, n_rad_s: float, t_s: Any) -> np.ndarray:
    """Bounded, centred HCW motion (module docstring, sec. 1) of satellites starting at
    ``offsets_m`` (N, 3): relative positions (radial, along-track, cross-track) [m],
    shape (k, N, 3) for times ``t_s`` (k,), (N, 3) for a scalar time."""
    r0 = np.asarray(offsets_m, dtype=np.float64)
    th = n_rad_s * np.asarray(t_s, dtype=np.float64)[..., None]
    c, s = np.cos(th), np.sin(th)
    x0, y0, z0 = r0[:, 0], r0[:, 1], r0[:, 2]
    return np.stack([x0 * c + 0.5 * y0 * s, y0 * c - 2.0 * x0 * s, z0 * c], axis=-1)


def _gram_extremes(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For relative offsets ``d`` (..., 3) moving as ``d(t) = A cos nt + B sin nt`` with
    ``A = d``, ``B = (d_y / 2, -2 d_x, 0)``: min and max over t of ``|d(t)|^2``, the
    eigenvalues of ``[[A.A, A.B], [A.B, B.B]]``."""
    dx, dy, dz = d[..., 0], d[..., 1], d[..., 2]
    aa = dx * dx + dy * dy + dz * dz
    bb = 0.25 * dy * dy + 4.0 * dx * dx
    ab = -1.5 * dx * dy
    mid, half = 0.5 * (aa + bb), np.hypot(0.5 * (aa - bb), ab)
    return np.maximum(mid - half, 0.0), mid + half


def closest_approach_m(offsets_m: Any) -> tuple[float, int, int]:
    """Smallest distance [m] between any two satellites over an orbit of their HCW motion,
    and the pair (i < j); ``(inf, -1, -1)`` for fewer than two satellites.

    Exact, without visiting every pair: a pair's distance is never below its distance in
    (x, y/2), which the motion only rotates (``|(a, 2b)| >= |(a, b)|``). Satellites are
    sorted along the wider of those two axes and pairs k places apart in that order are
    visited for k = 1, 2, ... only while their separation along it is below the best
    distance found so far (~N sqrt(N) pairs for a square grid, not N^2 / 2)."""
    r0 = np.asarray(offsets_m, dtype=np.float64).reshape(-1, 3)
    n = r0.shape[0]
    if n < 2:
        return math.inf, -1, -1
    plane = np.stack([r0[:, 0], 0.5 * r0[:, 1]], axis=-1)
    axis = int(np.argmax(np.ptp(plane, axis=0)))
    order = np.argsort(plane[:, axis], kind="stable")
    key, pts = plane[order, axis], r0[order]
    best2, pair = math.inf, (-1, -1)
    idx = np.arange(n)
    for k in range(1, n):
        m = idx[: n - k]
        m = m[key[m + k] - key[m] < math.sqrt(best2)] if math.isfinite(best2) else m
        if m.size == 0:
            break
        d2 = _gram_extremes(pts[m + k] - pts[m])[0]
        j = int(np.argmin(d2))
        if d2[j] < best2:
            best2, pair = float(d2[j]), (int(order[m[j]]), int(order[m[j] + k]))
    i, j = sorted(pair)
    return math.sqrt(best2), i, j


def max_radius_m(offsets_m: Any) -> float:
    """Largest distance [m] of any satellite from the reference over an orbit."""
    r0 = np.asarray(offsets_m, dtype=np.float64)
    return float(np.sqrt(_gram_extremes(r0)[1].max(initial=0.0)))


def check_offsets(offsets_m: Any, key: str = "offsets_m") -> np.ndarray:
    """The offsets as an (N, 3) float array, or `SpecValueError` naming ``key``: size,
    finite values, closest approach >= `MIN_SEPARATION_M`, radius <= `MAX_RADIUS_M`."""
    try:
        r0 = np.asarray(offsets_m, dtype=np.float64)
    except (TypeError, ValueError):
        r0 = np.empty((0, 0))
    if r0.ndim != 2 or r0.shape[1] != 3 or r0.shape[0] == 0:
        raise SpecValueError(key, offsets_m, "a non-empty list of [radial, along-track, cross-track] "
                             "offsets in metres, three numbers each")
    if r0.shape[0] > MAX_CLUSTER_SATELLITES:
        raise SpecValueError(key, f"[{r0.shape[0]} offsets]", f"at most {MAX_CLUSTER_SATELLITES:,} "
                             "satellites in one cluster")
    if not np.all(np.isfinite(r0)):
        raise SpecValueError(key, offsets_m, "finite numbers")
    radius = max_radius_m(r0)
    if radius > MAX_RADIUS_M:
        raise SpecValueError(key, f"[{r0.shape[0]} offsets]",
                             f"within {MAX_RADIUS_M / 1e3:g} km of the reference over an orbit, where "
                             f"linear (HCW) relative motion holds; the farthest reaches {radius / 1e3:.1f} km")
    dmin, i, j = closest_approach_m(r0)
    if dmin < MIN_SEPARATION_M:
        raise SpecValueError(key, f"[{r0.shape[0]} offsets]",
                             f"such that no two satellites come closer than {MIN_SEPARATION_M:g} m over an "
                             f"orbit; satellites {i} and {j} come within {dmin:.2f} m")
    return r0


def check_grid(grid: Any, spacing_m: Any) -> np.ndarray:
    """The offsets of ``grid`` at ``spacing_m`` (`grid_offsets_m`), or `SpecValueError`
    naming ``grid`` or ``spacing_m``."""
    if (not isinstance(grid, (list, tuple)) or not 1 <= len(grid) <= 3
            or any(isinstance(g, bool) or not isinstance(g, int) or g < 1 for g in grid)):
        raise SpecValueError("grid", grid, "a list of 1 to 3 whole numbers >= 1 (radial, along-track, "
                             "cross-track)")
    if math.prod(grid) > MAX_CLUSTER_SATELLITES:
        raise SpecValueError("grid", grid, f"at most {MAX_CLUSTER_SATELLITES:,} satellites in one cluster "
                             f"(here {math.prod(grid):,})")
    if spacing_m is None:
        raise SpecValueError("spacing_m", None, "present with grid (the radial pitch, metres)")
    if isinstance(spacing_m, bool) or not isinstance(spacing_m, (int, float)) or not spacing_m >= MIN_SEPARATION_M:
        raise SpecValueError("spacing_m", spacing_m, f">= {MIN_SEPARATION_M:g} m (closer satellites would touch)")
    r0 = grid_offsets_m(grid, spacing_m)
    radius = max_radius_m(r0)
    if radius > MAX_RADIUS_M:
        raise SpecValueError("grid", grid, f"within {MAX_RADIUS_M / 1e3:g} km of the reference over an orbit at "
                             f"spacing_m = {spacing_m:g}, where linear (HCW) relative motion holds; its "
                             f"corners reach {radius / 1e3:.1f} km")
    dmin, _, _ = closest_approach_m(r0)
    r0_layers = (list(grid) + [1, 1])[2]
    if dmin < MIN_SEPARATION_M:
        raise SpecValueError("spacing_m", spacing_m, f"large enough that no two satellites come closer than "
                             f"{MIN_SEPARATION_M:g} m over an orbit; with {r0_layers} staggered cross-track "
                             f"layers they come within {dmin:.2f} m (about spacing_m sqrt(2) / layers)")
    return r0


def shell_offsets_m(grid: Any, spacing_m: Any, offsets_m: Any, check: bool = True) -> np.ndarray:
    """The (N, 3) offsets of a ``kind = "cluster"`` shell: from ``grid`` and ``spacing_m``
    or from ``offsets_m`` (exactly one), checked unless ``check`` is false."""
    if grid is None and offsets_m is None:
        raise SpecValueError("grid", None, "present, or else offsets_m (a cluster takes exactly one)")
    if grid is not None and offsets_m is not None:
        raise SpecValueError("offsets_m", "[...]", "absent when grid is given (a cluster takes exactly one)")
    if offsets_m is not None:
        if spacing_m is not None:
            raise SpecValueError("spacing_m", spacing_m, "absent with offsets_m (the offsets set the spacing)")
        return check_offsets(offsets_m) if check else np.asarray(offsets_m, dtype=np.float64).reshape(-1, 3)
    return check_grid(grid, spacing_m) if check else grid_offsets_m(grid, spacing_m)


def pair_distance_extremes_m(r_m: Any) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest distance [m] between any two of the positions ``r_m`` (k, N, 3)
    at each of the k times: the cluster's closest pair and its extent. Computed from the
    centroid (``|a - b|^2 = |a|^2 + |b|^2 - 2 a.b`` on metre-sized vectors, not 7,000 km
    ones: rounding ~1e-10 m for a km-sized cluster)."""
    q = np.asarray(r_m, dtype=np.float64)
    q = q - q.mean(axis=-2, keepdims=True)
    sq = np.einsum("...ni,...ni->...n", q, q)
    d2 = sq[..., :, None] + sq[..., None, :] - 2.0 * (q @ np.swapaxes(q, -1, -2))
    n = q.shape[-2]
    d2[..., np.arange(n), np.arange(n)] = np.inf
    dmin = np.sqrt(np.maximum(d2.min(axis=(-2, -1)), 0.0))
    d2[..., np.arange(n), np.arange(n)] = -np.inf
    return dmin, np.sqrt(np.maximum(d2.max(axis=(-2, -1)), 0.0))


# -- elements --------------------------------------------------------------------------


def relative_elements(offsets_m: np.ndarray, a_m: float, u0_rad: float) -> dict[str, np.ndarray]:
    """Relative orbital elements (module docstring, sec. 2) of satellites at ``offsets_m``
    (N, 3) around a circular reference of semi-major axis ``a_m`` at argument of latitude
    ``u0_rad`` at the epoch: dimensionless ``da, dlambda, de_x, de_y, di_x, di_y``."""
    x0, y0, z0 = (offsets_m[:, k] / a_m for k in range(3))
    cu, su = math.cos(u0_rad), math.sin(u0_rad)
    zero = np.zeros_like(x0)
    return {"da": zero, "dlambda": zero.copy(),
            "de_x": -(x0 * cu - 0.5 * y0 * su), "de_y": -(x0 * su + 0.5 * y0 * cu),
            "di_x": z0 * su, "di_y": -z0 * cu}


def along_track_rate_rad_s(a_m: Any, e: Any, i_rad: Any, i_ref_rad: float) -> Any:
    """``dM/dt + dw/dt + cos(i_ref) dRAAN/dt`` [rad/s], the secular rate of the mean
    longitude that ``dlambda`` measures, from the propagator's J2 rates."""
    from orbitwin_plugins.orbit import j2_secular_rates  # lazy: orbit imports constellations

    raan_dot, argp_dot, m_dot = j2_secular_rates(a_m, e, i_rad)
    return m_dot + argp_dot + math.cos(i_ref_rad) * raan_dot


def j2_matched_semi_major_axis_m(a_ref_m: float, i_ref_rad: float, e: np.ndarray, i_rad: np.ndarray) -> np.ndarray:
    """Semi-major axes [m] at which satellites of eccentricities ``e`` and inclinations
    ``i_rad`` keep the reference's mean-longitude rate (module docstring, sec. 4).

    Newton's method on ``f(a) = rate(a) - rate_ref`` with the exact derivative of the
    propagator's rate law (``n ~ a^-1.5``, the J2 terms ~ ``a^-3.5``): quadratic
    convergence from ``a_ref``, stopped when the step is below 1e-9 m."""
    target = along_track_rate_rad_s(a_ref_m, 0.0, i_ref_rad, i_ref_rad)
    a = np.full_like(np.asarray(e, dtype=np.float64), a_ref_m)
    for _ in range(20):
        rate = along_track_rate_rad_s(a, e, i_rad, i_ref_rad)
        n = np.sqrt(MU_EARTH_M3_S2 / a**3)
        slope = (-1.5 * n - 3.5 * (rate - n)) / a
        step = (rate - target) / slope
        a = a - step
        if np.max(np.abs(step), initial=0.0) < 1e-9:
            return a
    raise ArithmeticError("the J2 along-track matching did not converge")  # pragma: no cover


def cluster_elements(offsets_m: Any, altitude_km: float, inclination_deg: float, raan_deg: float = 0.0,
                     mean_anomaly_deg: float = 0.0, j2_correction: bool = True):
    """Mean elements (`orbitwin_plugins.constellations.Elements`, all in plane 0) of a
    cluster of satellites at ``offsets_m`` (N, 3) [m] (radial, along-track, cross-track at
    the epoch) around a circular reference at ``altitude_km``, ``inclination_deg``,
    ``raan_deg``, argument of latitude ``mean_anomaly_deg`` at the epoch (module
    docstring, secs. 1, 2 and 4). The offsets are not checked here (`check_offsets`)."""
    from orbitwin_plugins.constellations import Elements

    r0 = np.asarray(offsets_m, dtype=np.float64).reshape(-1, 3)
    a_ref = R_EARTH_M + altitude_km * 1e3
    i_ref, raan_ref, u0 = (math.radians(v) for v in (inclination_deg, raan_deg, mean_anomaly_deg))
    roe = relative_elements(r0, a_ref, u0)
    if np.any(roe["di_y"] != 0.0) and abs(math.sin(i_ref)) < MIN_SIN_INCLINATION:
        raise SpecValueError("inclination", inclination_deg, "away from 0 and 180 deg for a cluster with "
                             "cross-track offsets (the node, which carries them, is undefined)")
    e = np.hypot(roe["de_x"], roe["de_y"])
    argp = np.where(e > 0.0, np.arctan2(roe["de_y"], roe["de_x"]), 0.0)
    inc = i_ref + roe["di_x"]
    d_raan = roe["di_y"] / math.sin(i_ref) if np.any(roe["di_y"] != 0.0) else np.zeros_like(e)
    u = u0 + roe["dlambda"] - d_raan * math.cos(i_ref)
    a = j2_matched_semi_major_axis_m(a_ref, i_ref, e, inc) if j2_correction else a_ref * (1.0 + roe["da"])
    two_pi = 2.0 * math.pi
    return Elements(a, e, inc, np.mod(raan_ref + d_raan, two_pi), np.mod(argp, two_pi), np.mod(u - argp, two_pi),
                    np.zeros(r0.shape[0], np.int32))


def reference_elements(altitude_km: float, inclination_deg: float, raan_deg: float = 0.0,
                       mean_anomaly_deg: float = 0.0):
    """The reference orbit itself (one satellite at offset 0), for comparisons."""
    return cluster_elements(np.zeros((1, 3)), altitude_km, inclination_deg, raan_deg, mean_anomaly_deg,
                            j2_correction=False)


def k_j2_rad_s(a_m: float) -> float:
    """``k = 1.5 n J2 (R_E / a)^2`` [rad/s] of a circular orbit (the scale of the J2 rates)."""
    return 1.5 * math.sqrt(MU_EARTH_M3_S2 / a_m**3) * J2_EARTH * (R_EARTH_M / a_m) ** 2
