"""The J2 mean-element propagator about the Earth's pole of date (numpy reference).

Not a plugin and not wired in yet: the reference the ``orbit`` plugin's kernel is to
reproduce once the option is wired (`WIRING` below says how). Pure numpy.

Why
---
`orbitwin_plugins.orbit` takes node and inclination relative to the z axis of orbitwin's
ECI, the mean pole of J2000 (`orbitwin_plugins.frames`), and makes the node precess
about that axis. The Earth's equatorial bulge turns orbits about the Earth's axis of
date, which precession has moved theta_A = 0.145 deg from the J2000 pole by 2026
(20.04"/yr, 0.0056 deg/yr, towards right ascension 0 h). Two errors follow, both growing
with the years since 2000:

- the inclination that sets the J2 rates is the one relative to the J2000 equator, off
  from the physical one by up to theta_A depending on the node (most at RAAN 90 and
  270 deg): the node rate ``-1.5 n J2 (R/p)^2 cos i`` is off by ``tan i x theta_A``
  relative, and the along-track rate (``~ n J2 (R/p)^2 (3 - 4 sin^2 i)``) by
  ``~8 n J2 (R/p)^2 sin i cos i x theta_A``;
- the node turns about the wrong axis: seen about the J2000 axis, the true node moves
  at ``(1 -+ theta_A cot i)`` times the rate about its own.

Together the node rate seen in ECI is off by ``theta_A |tan i - cot i|`` at the worst
node. Measured against SGP4 at 2026-03-20 (``tests/test_orbit_frames.py``, 7 days, less
the J2^2/J4 "floor" that any first-order model has): 0.13 % (51.6 deg, 420 km), 0.16 %
(53 deg, 550 km), 1.75 % (sun-synchronous, 700 km), 4.1 % (86.4 deg, 780 km), and
along-track drifts of 47-50, 47, 13 and 6 km per week. With the pole of date the node
rate is the floor's to 0.01 % (true pole) or 0.03 % (mean pole) and the along-track
drift to 0.02 km or 0.3 km per week.

Model
-----
The J2 frame ``F`` is the mean equator and equinox of the run's epoch ``t0``
(``pole = "mean"``: ``r_F = P(t0) r_ECI``, IAU 1976 precession) or the true equator and
equinox of ``t0`` (``pole = "true"``: ``r_F = N(t0) P(t0) r_ECI``, IAU 1980 nutation too;
the z axis of SGP4's TEME at the epoch, and within polar motion (< 0.5") of the Earth's
axis of figure, which is what J2 turns orbits about). ``R = j2_frame_matrix(epoch,
pole)`` is one constant 3x3 rotation per run. Then:

1. the elements at the epoch are turned into ``F`` (`elements_to_frame`: the same orbit,
   the perifocal triad ``R3(RAAN) R1(i) R3(omega)`` premultiplied by ``R``; a, e and M
   unchanged), unless they are already given relative to the equator of date
   (``given_in = "of_date"``, see below);
2. the existing propagator runs unchanged on them (`orbit.mean_parameters`, then
   `orbit.propagate_numpy`): J2 rates from the inclination relative to F's equator, node
   about F's z axis;
3. its output is turned back: ``r_ECI = R^T r_F``, ``v_ECI = R^T v_F`` (R constant, so the
   velocity is still exactly dr/dt).

At the epoch the position is today's (``given_in = "eci"``); the secular motion changes.

``pole = "true"`` is the better axis and the recommended default: nutation tilts the
pole by up to ~11" from the mean one (18.6-year period); with the mean pole that tilt
enters the rates as the 0.145 deg does in the J2000 model, ~100 times smaller (0.03 %,
0.3 km per week against SGP4). ``"mean"`` (precession only) is kept as the minimal fix.

Fixed pole per run (decided), not a time-varying one
----------------------------------------------------
The pole of the epoch is held fixed for the whole run. The pole of date moves 9.72e-5
rad (20") per year; within a run of days the orbit plane does not follow it (it follows
only over a node period, weeks to years), so a fixed axis is the better model, and over
longer runs its error stays small next to what the first-order J2 model lacks anyway
(SGP4's J2^2 and J4 terms part by 6-9 km per week along-track). Measured against an
integration of the averaged J2 torque about the moving pole (tests), as plane error at
7,000 km: 6 m after a week, 0.1 km after a month, up to 1.7 km within two years for
53 deg and sun-synchronous orbits, 7.7 km after a year at 86.4 deg (whose node takes two
years to turn: a slow node responds to the pole's motion); the J2000 pole is off by
5-16 km after a week and 540-830 km after a year. `pole_drift_matrix` (``track_pole``)
rotates the fixed model's output onto the pole of date (twist-free): it cuts the 1-2
year error at 53 deg and SSO to < 0.1 km but is worse within a node period (14 m after
a week) and does nothing for slow nodes; it is offered for multi-year studies in numpy
only. In a kernel it would be one 3x3 per record, a common series like
``ground.ecef_to_eci``.

What the elements mean
----------------------
``given_in = "eci"`` (default): elements relative to orbitwin's ECI (mean J2000), as the
``elements`` shell documents them today; they are turned into F, so the inclination
relative to the Earth's equator of date is not the one typed (it differs by up to
0.145 deg, with the node). ``given_in = "of_date"``: the elements are already relative
to F (the equator and equinox of the epoch): what a Walker or sun-synchronous shell's
"53 deg" or "sso" physically means. The sun-synchronous condition holds only relative
to the Earth's actual axis: an SSO inclination taken relative to the J2000 equator and
turned into F has a node rate off by up to ``tan i x 0.145 deg`` = 1.8 % at 700 km
(2026), 6.4 deg of LTAN drift a year (tests). For a shell placed by LTAN, the RAAN of
date is the mean Sun's right ascension of date, ``280.460 + 0.9856474 d`` deg (the
Almanac's mean longitude, ``d`` days from J2000), i.e. `constellations.ltan_raan_deg`
plus the ``1.3972 deg x d / 36525`` of precession that `constellations.mean_sun_ra_deg`
removes (for the mean pole; the true pole's equinox differs by the equation of the
equinoxes, < 1.2", negligible).

How the orbit plugin uses it
----------------------------
1. ``[orbit] j2_pole = "true" | "mean" | "j2000"``, default ``"true"``
   (`constellations.OrbitConfig`); ``"j2000"`` reproduces runs made before the pole of
   date was the default, bit for bit.
2. Per run: ``R = j2_frame_matrix(scenario.run.epoch, pole)``
   (`constellations.OrbitConfig.frame`).
3. Built shells (Walker, sun-synchronous, clusters) are taken as of date: their
   inclination and node are relative to F's equator, and a node placed by LTAN is the
   mean Sun's direction in F. ``kind = "elements"`` sets are taken as given, relative to
   F (the equator and equinox of the epoch, which is what an inclination relative to the
   Earth's equator means); ``j2_pole = "j2000"`` takes them relative to the J2000 equator
   instead. Imported TLE/OMM sets are rotated from TEME into F
   (`imported_orbits.j2_elements`).
4. The stage rotates the state vector by ``R^T`` after `orbit_fast.make_state_vector`
   (nine compile-time constants, 18 multiply-adds per satellite-step), on the exact and
   the trig-free path alike; ``orbit.propagate_numpy(..., rotation=orbit.eci_rotation(sc))``
   is its reference.
5. ``uses_fast_path`` stays on the shells' nominal inclinations (the rotation moves the
   mean motion by < 1e-5 relative).

Shards and resumed runs share the epoch, hence R; the `orbit_fast` recurrence works in F
unchanged. The interface vectors ``orbit.r_eci_m`` and ``orbit.v_eci_m_s`` stay in ECI
(mean J2000, `orbitwin_plugins.frames`).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Mapping

import numpy as np

from orbitwin_plugins import constellations as cons
from orbitwin_plugins import frames, orbit

#: Choices of the J2 axis: the J2000 pole (today's model), the mean pole of the run's
#: epoch (precession), the true pole of the run's epoch (precession and nutation).
POLES = ("j2000", "mean", "true")
#: Speed of the mean pole [rad per Julian year]: d theta_A / dT = 2004.3109"/century.
POLE_RATE_RAD_PER_YEAR = 2004.3109 / 100.0 * frames.ARCSEC


def j2_frame_matrix(epoch: _dt.datetime, pole: str = "true") -> np.ndarray:
    """``R`` (3, 3) with ``r_F = R r_ECI``: the identity (``"j2000"``), ``P(t0)``
    (``"mean"``) or ``N(t0) P(t0)`` (``"true"``) at the run's epoch ``t0``."""
    if pole not in POLES:
        raise ValueError(f"pole must be one of {POLES}: {pole!r}")
    if pole == "j2000":
        return np.eye(3)
    return frames.mod_matrix_centuries(frames.centuries(0.0, epoch), nutation=pole == "true")


def _triad(raan: np.ndarray, inc: np.ndarray, argp: np.ndarray) -> np.ndarray:
    """``R3v(RAAN) R1v(i) R3v(omega)`` (vector rotations), (n, 3, 3): columns are the
    perigee direction, the in-plane normal to it and the orbit normal."""
    cO, sO, ci, si, cw, sw = np.cos(raan), np.sin(raan), np.cos(inc), np.sin(inc), np.cos(argp), np.sin(argp)
    q = np.empty(np.shape(raan) + (3, 3))
    q[..., 0, 0] = cO * cw - sO * ci * sw
    q[..., 0, 1] = -cO * sw - sO * ci * cw
    q[..., 0, 2] = sO * si
    q[..., 1, 0] = sO * cw + cO * ci * sw
    q[..., 1, 1] = -sO * sw + cO * ci * cw
    q[..., 1, 2] = -cO * si
    q[..., 2, 0] = si * sw
    q[..., 2, 1] = si * cw
    q[..., 2, 2] = ci
    return q


def rotate_angles(m: np.ndarray, raan: Any, inc: Any, argp: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (RAAN, i, omega) [rad] in frame B of an orbit with (RAAN, i, omega) in frame A,
    ``r_B = m r_A``. Equatorial results (sin i < 1e-12) put the node at 0 and the whole
    angle in omega."""
    raan, inc, argp = (np.asarray(x, dtype=np.float64) for x in (raan, inc, argp))
    q = np.asarray(m, dtype=np.float64) @ _triad(raan, inc, argp)
    cos_i = q[..., 2, 2]
    inc_b = np.arctan2(np.hypot(q[..., 0, 2], q[..., 1, 2]), cos_i)
    node = np.arctan2(q[..., 0, 2], -q[..., 1, 2])
    w = np.arctan2(q[..., 2, 0], q[..., 2, 1])
    flat = np.hypot(q[..., 0, 2], q[..., 1, 2]) < 1e-12
    w_flat = np.where(cos_i > 0.0, np.arctan2(q[..., 1, 0], q[..., 0, 0]), np.arctan2(-q[..., 1, 0], q[..., 0, 0]))
    node, w = np.where(flat, 0.0, node), np.where(flat, w_flat, w)
    two_pi = 2.0 * np.pi
    return np.mod(node, two_pi), inc_b, np.mod(w, two_pi)


def elements_to_frame(el: cons.Elements, m: np.ndarray) -> cons.Elements:
    """The same orbits' elements in frame B, given elements in frame A and ``r_B = m r_A``
    (a, e, M and the plane indices unchanged). Also serves element sets in TEME (m =
    the TEME -> F rotation) for importers."""
    node, inc, w = rotate_angles(m, el.raan_rad, el.inclination_rad, el.arg_perigee_rad)
    return cons.Elements(el.semi_major_axis_m.copy(), el.eccentricity.copy(), inc, node, w,
                         el.mean_anomaly_rad.copy(), el.plane.copy())


def propagate_numpy_in_frame(p: Mapping[str, np.ndarray], t_s: Any, m: np.ndarray,
                             n_iter: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """What the wired kernel computes: `orbit.propagate_numpy` on parameters relative to
    frame F (``r_F = m r_ECI``), turned back to ECI: ``r = m^T r_F``, ``v = m^T v_F``.
    Shapes as `orbit.propagate_numpy`."""
    r_f, v_f = orbit.propagate_numpy(p, t_s, n_iter)
    m = np.asarray(m, dtype=np.float64)
    return r_f @ m, v_f @ m  # row vectors: (m^T r)^T = r^T m


def pole_drift_matrix(t_s: Any, epoch: _dt.datetime, pole: str = "true") -> np.ndarray:
    """``Q(t)``, shape ``t.shape + (3, 3)``: the rotation without twist (about the axis
    ``k0 x k(t)``) that carries the pole of the epoch ``k0`` to the pole of date ``k(t)``,
    both in ECI (`frames.pole_of_date`; ``nutation`` with ``pole = "true"``). Identity
    for ``"j2000"``. Over decades it differs from transporting the frame along the pole's
    path by the area between path and chord, < 1e-8 rad."""
    t = np.asarray(t_s, dtype=np.float64)
    if pole not in POLES:
        raise ValueError(f"pole must be one of {POLES}: {pole!r}")
    if pole == "j2000":
        return np.broadcast_to(np.eye(3), t.shape + (3, 3)).copy()
    nut = pole == "true"
    k0 = frames.pole_of_date(0.0, epoch, nutation=nut)
    k = frames.pole_of_date(t, epoch, nutation=nut)
    v = np.cross(k0, k)
    c = k @ k0
    vx = np.zeros(t.shape + (3, 3))
    vx[..., 0, 1], vx[..., 0, 2], vx[..., 1, 2] = -v[..., 2], v[..., 1], -v[..., 0]
    vx[..., 1, 0], vx[..., 2, 0], vx[..., 2, 1] = v[..., 2], -v[..., 1], v[..., 0]
    return np.eye(3) + vx + (vx @ vx) / (1.0 + c)[..., None, None]


def propagate_numpy_pole_of_date(el: cons.Elements, t_s: Any, epoch: _dt.datetime, pole: str = "true",
                                 given_in: str = "eci", track_pole: bool = False,
                                 n_iter: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """J2 mean-element propagation about the pole of the run's epoch, output in ECI.

    Args:
        el: mean elements at ``epoch``, relative to ECI (``given_in = "eci"``) or to the
            J2 frame F (``"of_date"``; module docstring).
        t_s: seconds since ``epoch``, scalar or (k,).
        epoch: the run's epoch (naive means UTC).
        pole: ``"true"`` (precession and nutation of the epoch, recommended), ``"mean"``
            (precession only) or ``"j2000"`` (today's model: `orbit.propagate_numpy` bit
            for bit).
        track_pole: apply `pole_drift_matrix` too (multi-year runs; not in the kernel).
        n_iter: Newton iterations, as `orbit.propagate_numpy`.

    Returns:
        ``(r_eci_m, v_eci_m_s)``, shapes as `orbit.propagate_numpy`. With ``track_pole``
        the velocity leaves out dQ/dt r (< 3e-12 rad/s x r, 2e-5 m/s).
    """
    if given_in not in ("eci", "of_date"):
        raise ValueError(f"given_in must be 'eci' or 'of_date': {given_in!r}")
    m = j2_frame_matrix(epoch, pole)
    if pole == "j2000":  # today's model, bit for bit
        return orbit.propagate_numpy(orbit.mean_parameters(el), t_s, n_iter)
    el_f = elements_to_frame(el, m) if given_in == "eci" else el
    r, v = propagate_numpy_in_frame(orbit.mean_parameters(el_f), t_s, m, n_iter)
    if track_pole:
        q = pole_drift_matrix(t_s, epoch, pole)
        q = q[..., None, :, :] if np.ndim(t_s) else q
        r = np.einsum("...ij,...j->...i", q, r)
        v = np.einsum("...ij,...j->...i", q, v)
    return r, v


__all__ = ["POLES", "POLE_RATE_RAD_PER_YEAR", "elements_to_frame", "j2_frame_matrix", "pole_drift_matrix",
           "propagate_numpy_in_frame", "propagate_numpy_pole_of_date", "rotate_angles"]
