"""Trig-free propagation of the orbit plugin's mean elements between kernel launches.

The same model as `orbitwin_plugins.orbit` (J2 secular rates, Kepler's equation), computed
without trigonometry on all but the first step of each launch. Taichi's CPU code calls
libm for every sin and cos (about 28 ns each in float64 here, DESIGN.md), and the exact
path needs seven per satellite-step; this path needs none after the anchor.

At the first step of a launch (``k == 0``, one launch per record) the stage evaluates the
angles exactly — mean anomaly M, argument of perigee omega and node RAAN from their
linear secular laws, each through cos and sin — and stores the three (cos, sin) pairs per
satellite. Each following step rotates each pair by its increment
``delta = rate * dt``::

    (c, s) <- (c cos delta - s sin delta,  s cos delta + c sin delta)

with cos delta and sin delta from their Taylor series through delta^10 and delta^9
(error below delta^11 / 11! = 2.5e-19 for delta <= 0.1 rad, the largest increment this
path accepts). Kepler's equation is solved for Delta = E - M by the fixed point
``Delta <- e sin(M + Delta)`` (angle addition with the same Taylor series, |Delta| <= e),
which contracts by a factor e per iteration; the iteration count is the fewest for which
e_max^(n+1) < 1e-13. The position and velocity then follow exactly the arithmetic of the
exact path.

Limits: used when every satellite has e <= `E_MAX` (0.02) and every increment is at most
0.1 rad (steps up to about 90 s in LEO); otherwise the plugin uses the exact path. The
rotation recurrence accumulates about 1e-16 rad of rounding per step and is re-anchored
exactly at every record, so the two paths agree to well under a millimetre
(tests/test_orbit.py). The three (cos, sin) pairs are kept per satellite as state
variables ``orbit.cos_mean_anomaly`` etc. (48 bytes), rewritten at every anchor, so a run
resumed from a checkpoint reproduces an uninterrupted one bit for bit.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from orbitwin_plugins.fastmath import make_cos_sin_small

#: Largest eccentricity the fixed-point Kepler solve is used for.
E_MAX = 0.02
#: Largest per-step angle increment [rad] the Taylor rotation is used for.
DELTA_MAX = 0.1

#: State variables of the recurrence: name -> description.
RECURRENCE = {
    "orbit.cos_mean_anomaly": "cos of the mean anomaly at the last step (recurrence cache)",
    "orbit.sin_mean_anomaly": "sin of the mean anomaly at the last step (recurrence cache)",
    "orbit.cos_arg_perigee": "cos of the argument of perigee at the last step (recurrence cache)",
    "orbit.sin_arg_perigee": "sin of the argument of perigee at the last step (recurrence cache)",
    "orbit.cos_raan": "cos of the right ascension of the node at the last step (recurrence cache)",
    "orbit.sin_raan": "sin of the right ascension of the node at the last step (recurrence cache)",
}


def fixed_point_iterations(e_max: float) -> int:
    """Iterations of ``Delta <- e sin(M + Delta)`` from ``Delta = e sin M`` that bring the
    error below 1e-13 rad for every e <= ``e_max``."""
    if e_max <= 0.0:
        return 0
    return max(1, math.ceil(-13.0 / math.log10(e_max)) - 1)


def applicable(e_max: float, max_rate_rad_s: float, dt_s: float) -> bool:
    """Whether the fast path holds for these orbits and this step."""
    return e_max <= E_MAX and max_rate_rad_s * dt_s <= DELTA_MAX


def make_state_vector(rotation: Any = None, circular: bool = False):
    """``state_vector(a, e, m_dot, wd, nd, ci, si, se, ce, cw, sw, cn, sn) -> (r, v)``: ECI
    position and velocity from the semi-major axis, eccentricity, the three secular rates
    and the (cos, sin) of inclination, eccentric anomaly, argument of perigee and node.
    Shared by the exact and the trig-free path of the orbit plugin, so the two differ only
    in how they get the angles. The velocity is the time derivative of the position with
    the secular rates of omega and RAAN included. With ``rotation`` (3x3, ``r_ECI =
    rotation r_F``), the elements are in the J2 frame F of date (`orbit_frames`) and both
    vectors are rotated to ECI, the nine entries compiled in. With ``circular`` (every
    satellite's e is exactly 0, known when the stage is built) the terms in e are left
    out: sqrt(1 - e^2) = 1 and 1 - e cos E = 1 exactly, so the result is the same to
    rounding (positions to the bit, velocities within 1e-16 relative, where fast math
    contracts the products differently), without a square root and a division per
    satellite-step."""
    import taichi as ti

    if rotation is not None:
        m00, m01, m02, m10, m11, m12, m20, m21, m22 = (float(x) for x in np.asarray(rotation, np.float64).ravel())
        unrotated = make_state_vector(circular=circular)

        @ti.func
        def turn(x):
            return ti.Vector([m00 * x[0] + m01 * x[1] + m02 * x[2], m10 * x[0] + m11 * x[1] + m12 * x[2],
                              m20 * x[0] + m21 * x[1] + m22 * x[2]])

        @ti.func
        def state_vector_rotated(a, e, m_dot, wd, nd, ci, si, se, ce, cw, sw, cn, sn):
            r, v = unrotated(a, e, m_dot, wd, nd, ci, si, se, ce, cw, sw, cn, sn)
            return turn(r), turn(v)

        return state_vector_rotated

    @ti.func
    def state_vector(a, e, m_dot, wd, nd, ci, si, se, ce, cw, sw, cn, sn):
        xp, yp, vxp, vyp = a * ce, a * se, -a * se * m_dot, a * ce * m_dot
        if ti.static(not circular):
            beta = ti.sqrt(1.0 - e * e)
            xp, yp = a * (ce - e), a * beta * se
            edot = m_dot / (1.0 - e * ce)
            vxp, vyp = -a * se * edot, a * beta * ce * edot
        x, y = cw * xp - sw * yp, sw * xp + cw * yp
        vx, vy = cw * vxp - sw * vyp - wd * y, sw * vxp + cw * vyp + wd * x
        rx, ry, rz = cn * x - sn * ci * y, sn * x + cn * ci * y, si * y
        return (ti.Vector([rx, ry, rz]),
                ti.Vector([cn * vx - sn * ci * vy - nd * ry, sn * vx + cn * ci * vy + nd * rx, si * vy]))

    return state_vector


def make_fast_stage_func(state: Any, n_fixed: int, rotation: Any = None,
                         uniform: dict[str, float] | None = None, step_s: float = 0.0) -> Any:
    """The trig-free ``ti.func`` (see module docstring) over ``state``'s fields. With
    ``uniform`` (the parameters every satellite shares, by name: one Walker shell,
    `orbitwin_plugins.orbit.uniform_parameters`) a, e, cos i, sin i and the rates are
    compiled in as literals instead of read per satellite-step, and the per-step
    rotations by rate x ``step_s`` are constants too (cos and sin from libm) instead of
    three series per satellite-step; a step of another length falls back to the series."""
    import taichi as ti

    g = state.field
    a_f, e_f = g("orbit.semi_major_axis_m"), g("orbit.eccentricity")
    ci_f, si_f = g("orbit.cos_inclination"), g("orbit.sin_inclination")
    n0_f, w0_f, m0_f = g("orbit.raan0_rad"), g("orbit.arg_perigee0_rad"), g("orbit.mean_anomaly0_rad")
    nd_f, wd_f, md_f = g("orbit.raan_rate_rad_s"), g("orbit.arg_perigee_rate_rad_s"), g("orbit.mean_anomaly_rate_rad_s")
    cm_f, sm_f = g("orbit.cos_mean_anomaly"), g("orbit.sin_mean_anomaly")
    cw_f, sw_f = g("orbit.cos_arg_perigee"), g("orbit.sin_arg_perigee")
    cn_f, sn_f = g("orbit.cos_raan"), g("orbit.sin_raan")
    r_f, v_f = g("orbit.r_eci_m"), g("orbit.v_eci_m_s")
    pi, two_pi = math.pi, 2.0 * math.pi

    cos_sin_small = make_cos_sin_small()
    circular = n_fixed == 0  # fixed_point_iterations: 0 exactly when every e is 0
    state_vector = make_state_vector(rotation, circular=circular)

    @ti.func
    def rotate(c, s, delta):
        cd, sd = cos_sin_small(delta)
        return c * cd - s * sd, s * cd + c * sd

    @ti.func
    def wrap(x):
        return x - two_pi * ti.floor((x + pi) / two_pi)

    shared = uniform is not None
    u = uniform or {}
    rates = tuple(u.get(n, 0.0) for n in ("orbit.mean_anomaly_rate_rad_s", "orbit.arg_perigee_rate_rad_s",
                                          "orbit.raan_rate_rad_s"))
    hoisted = shared and step_s > 0.0
    turns = [(math.cos(r * step_s), math.sin(r * step_s)) for r in rates]
    (cdm, sdm), (cdw, sdw), (cdn, sdn) = turns
    STEP = float(step_s)
    A, E, CI, SI = (float(u.get(n, 0.0)) for n in ("orbit.semi_major_axis_m", "orbit.eccentricity",
                                                  "orbit.cos_inclination", "orbit.sin_inclination"))
    MD, WD, ND = rates

    @ti.func
    def elements(i):  # (a, e, mean motion, omega rate, node rate, cos i, sin i)
        a, e, m_dot, wd, nd, ci, si = A, E, MD, WD, ND, CI, SI
        if ti.static(not shared):
            a, e, m_dot, wd, nd, ci, si = a_f[i], e_f[i], md_f[i], wd_f[i], nd_f[i], ci_f[i], si_f[i]
        return a, e, m_dot, wd, nd, ci, si

    @ti.func
    def orbit_propagate_fast(i, k, t, dt):
        a, e, m_dot, wd, nd, ci, si = elements(i)
        cm, sm, cw, sw, cn, sn = 1.0, 0.0, 1.0, 0.0, 1.0, 0.0
        if k == 0:
            m = wrap(m0_f[i] + m_dot * t)
            w = wrap(w0_f[i] + wd * t)
            node = wrap(n0_f[i] + nd * t)
            cm, sm, cw, sw, cn, sn = ti.cos(m), ti.sin(m), ti.cos(w), ti.sin(w), ti.cos(node), ti.sin(node)
        elif ti.static(hoisted) and dt == STEP:
            cm0, sm0, cw0, sw0, cn0, sn0 = cm_f[i], sm_f[i], cw_f[i], sw_f[i], cn_f[i], sn_f[i]
            cm, sm = cm0 * cdm - sm0 * sdm, sm0 * cdm + cm0 * sdm
            cw, sw = cw0 * cdw - sw0 * sdw, sw0 * cdw + cw0 * sdw
            cn, sn = cn0 * cdn - sn0 * sdn, sn0 * cdn + cn0 * sdn
        else:
            cm, sm = rotate(cm_f[i], sm_f[i], m_dot * dt)
            cw, sw = rotate(cw_f[i], sw_f[i], wd * dt)
            cn, sn = rotate(cn_f[i], sn_f[i], nd * dt)
        cm_f[i], sm_f[i], cw_f[i], sw_f[i], cn_f[i], sn_f[i] = cm, sm, cw, sw, cn, sn
        se, ce = sm, cm  # circular: E = M
        if ti.static(not circular):
            big_d = e * sm  # Delta = E - M
            for _ in ti.static(range(n_fixed)):
                c, s = cos_sin_small(big_d)
                big_d = e * (sm * c + cm * s)
            cd, sd = cos_sin_small(big_d)
            se, ce = sm * cd + cm * sd, cm * cd - sm * sd
        r_f[i], v_f[i] = state_vector(a, e, m_dot, wd, nd, ci, si, se, ce, cw, sw, cn, sn)

    return orbit_propagate_fast
