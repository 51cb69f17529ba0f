"""Orbit plugin: every satellite on mean Keplerian elements that drift under J2.

Provides ``orbit.r_eci_m`` and ``orbit.v_eci_m_s`` (twin_core.interfaces) for each
satellite at every step, from mean elements at the epoch built from the scenario's
``[[orbit.shell]]`` tables (`orbitwin_plugins.constellations`).

Model (Vallado, Fundamentals of Astrodynamics and Applications, 4th ed., 2013, eq. 9-41,
the first-order secular rates of Brouwer's theory)::

    n = sqrt(mu / a^3),  p = a (1 - e^2),  k = 1.5 n J2 (R_E / p)^2
    dRAAN/dt = -k cos i
    domega/dt = k (2 - 2.5 sin^2 i)                       [= 0.75 n J2 (R/p)^2 (4 - 5 sin^2 i)]
    dM/dt     = n + k sqrt(1 - e^2) (1 - 1.5 sin^2 i)     [= n (1 + 0.75 J2 (R/p)^2 sqrt(1-e^2) (2 - 3 sin^2 i))]

Each element is linear in time; Kepler's equation ``E - e sin E = M`` is solved by
Newton's method from ``E0 = M + e sin M`` with a fixed iteration count chosen when the run
is built: the fewest after which a further iteration would change E by < 1e-13 rad
(1 um) for the largest eccentricity in the constellation (1 up to e = 0.004, 2 up to
e = 0.1, 6 at e = 0.9; `newton_iterations`). sin E and cos E are carried from the last
iterate to the final E by a second-order Taylor step, with no further trig. Position in
the perifocal frame is ``a (cos E - e, sqrt(1-e^2) sin E)``, turned by omega in the
plane, then by i about the node line and by RAAN about the pole. The velocity is the exact time derivative of that
position (mean-anomaly, perigee and node rates included). Cost per satellite-step:
1 + 2 x iterations + 4 sin/cos calls (7 for near-circular orbits).

Assumptions and limits:
    - Secular J2 only. No short-period terms: SGP4's osculating radius differs from the
      mean one by ~(3/4) J2 R_E^2 / p |3 cos^2 i - 1| (4.5 km for a 550 km sun-synchronous
      orbit) plus ~1.5 km twice per orbit. No J3 (frozen eccentricity), J4, drag, Sun,
      Moon or radiation pressure; no decay. Against SGP4 without drag: 3 km (53 deg) to
      7 km (SSO) over a day, mostly those short-period terms.
    - ``a`` is the mean semi-major axis whose two-body mean motion is Brouwer's mean
      motion (SGP4's un-Kozai'd ``no``); altitude = a - R_E (equatorial).
    - The J2 axis is the J2000 pole of orbitwin's ECI (precession, 0.006 deg/yr, ignored).
    - 0 <= e < 1; e <= 0.1 is the main case (e up to 0.9 is tested for two-body Kepler).
      Times in float64 seconds: rounding of M0 + dM/dt t stays below 1e-10 rad (1 mm)
      over ten years.

Validated in ``tests/test_orbit.py``: against SGP4 (WGS 84, no drag) over one day for a
53 deg shell and a sun-synchronous one, the J2 nodal rate and SSO inclination against
closed forms, and the taichi stage against `propagate_numpy` to < 1 mm.
"""

from __future__ import annotations

import contextlib
import functools
import math
from typing import Any, Mapping

import numpy as np

from orbitwin_plugins import constellations as cons
from orbitwin_plugins import orbit_fast
from orbitwin_plugins.constellations import OrbitConfig, Shell  # noqa: F401 - the [orbit] table
from orbitwin_plugins.constants import J2_EARTH, MU_EARTH_M3_S2, R_EARTH_M
from orbitwin_plugins.ephemeris import SUN_FORMULAE_VALIDITY
from orbitwin_plugins import orbit_sgp4
from twin_core import SatelliteTable, ScenarioError, Stage, Variable, hookimpl
from twin_core.validators import SpecValueError
from twin_core.declarations import ValidRange

# -- physics ---------------------------------------------------------------------------

#: Parameters set at the epoch: name -> (units, description).
PARAMETERS = {
    "orbit.semi_major_axis_m": ("m", "mean semi-major axis"),
    "orbit.eccentricity": ("1", "mean eccentricity"),
    "orbit.inclination_rad": ("rad", "mean inclination"),
    "orbit.cos_inclination": ("1", "cosine of the mean inclination (precomputed)"),
    "orbit.sin_inclination": ("1", "sine of the mean inclination (precomputed)"),
    "orbit.raan0_rad": ("rad", "right ascension of the ascending node at the epoch"),
    "orbit.arg_perigee0_rad": ("rad", "argument of perigee at the epoch"),
    "orbit.mean_anomaly0_rad": ("rad", "mean anomaly at the epoch"),
    "orbit.raan_rate_rad_s": ("rad s-1", "J2 secular rate of the node"),
    "orbit.arg_perigee_rate_rad_s": ("rad s-1", "J2 secular rate of the argument of perigee"),
    "orbit.mean_anomaly_rate_rad_s": ("rad s-1", "mean motion including its J2 secular term"),
}


def j2_secular_rates(a_m: Any, e: Any, i_rad: Any) -> tuple[Any, Any, Any]:
    """``(dRAAN/dt, domega/dt, dM/dt)`` [rad/s], Vallado 4th ed. eq. 9-41 (module docstring)."""
    n = np.sqrt(MU_EARTH_M3_S2 / np.power(a_m, 3))
    p = a_m * (1.0 - np.square(e))
    k = 1.5 * n * J2_EARTH * np.square(R_EARTH_M / p)
    s2 = np.square(np.sin(i_rad))
    return -k * np.cos(i_rad), k * (2.0 - 2.5 * s2), n + k * np.sqrt(1.0 - np.square(e)) * (1.0 - 1.5 * s2)


def mean_parameters(el: cons.Elements) -> dict[str, np.ndarray]:
    """The values of `PARAMETERS` for a set of elements (what the plugin stores)."""
    raan_dot, argp_dot, m_dot = j2_secular_rates(el.semi_major_axis_m, el.eccentricity, el.inclination_rad)
    return {
        "orbit.semi_major_axis_m": el.semi_major_axis_m, "orbit.eccentricity": el.eccentricity,
        "orbit.inclination_rad": el.inclination_rad, "orbit.cos_inclination": np.cos(el.inclination_rad),
        "orbit.sin_inclination": np.sin(el.inclination_rad), "orbit.raan0_rad": el.raan_rad,
        "orbit.arg_perigee0_rad": el.arg_perigee_rad, "orbit.mean_anomaly0_rad": el.mean_anomaly_rad,
        "orbit.raan_rate_rad_s": raan_dot, "orbit.arg_perigee_rate_rad_s": argp_dot,
        "orbit.mean_anomaly_rate_rad_s": m_dot,
    }


@functools.lru_cache(maxsize=64)
def newton_iterations(e_max: float) -> int:
    """Fewest Newton iterations (from ``E0 = M + e sin M``) after which, for every mean
    anomaly and every eccentricity up to ``e_max``, one more iteration would move E by
    less than 1e-13 rad (0.7 um at 7000 km) and the last correction ``d`` is small enough
    (``|d|^3 / 6 < 1e-15``) for the Taylor step of sin E and cos E."""
    if not 0.0 <= e_max < 1.0:
        raise ValueError(f"eccentricity must be in [0, 1): {e_max!r}")
    m = np.linspace(-np.pi, np.pi, 4001)[:, None]
    e = np.linspace(0.0, e_max, 21)[None, :]
    big_e = m + e * np.sin(m)
    step = lambda x: (m - x + e * np.sin(x)) / (1.0 - e * np.cos(x))  # noqa: E731
    for n in range(1, 51):
        d = step(big_e)
        big_e = big_e + d
        if np.max(np.abs(step(big_e))) < 1e-13 and np.max(np.abs(d)) ** 3 / 6.0 < 1e-15:
            return n
    raise ValueError(f"Kepler's equation does not converge in 50 iterations for e = {e_max!r}")


def propagate_numpy(p: Mapping[str, np.ndarray], t_s: Any, n_iter: int | None = None,
                    rotation: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised reference of the stage: the same arithmetic in numpy.

    Args:
        p: `PARAMETERS` values, arrays (n,) (`mean_parameters`, or a run's final state).
        t_s: seconds since the epoch, scalar or (k,).
        n_iter: Newton iterations (default `newton_iterations` of the largest e).
        rotation: ``r_ECI = rotation r_F`` when the elements are in the J2 frame of date
            (`eci_rotation`); None: they are in ECI.

    Returns:
        ``(r_eci_m, v_eci_m_s)`` of shape (n, 3) for a scalar time, else (k, n, 3).
    """
    e = np.asarray(p["orbit.eccentricity"])
    n_iter = n_iter or newton_iterations(float(e.max(initial=0.0)))
    t = np.asarray(t_s, dtype=np.float64)[..., None]
    a = np.asarray(p["orbit.semi_major_axis_m"])
    m_dot = p["orbit.mean_anomaly_rate_rad_s"]
    m = p["orbit.mean_anomaly0_rad"] + m_dot * t
    m = m - 2.0 * np.pi * np.floor((m + np.pi) / (2.0 * np.pi))
    big_e = m + e * np.sin(m)
    for _ in range(n_iter):
        se, ce = np.sin(big_e), np.cos(big_e)
        d = (m - big_e + e * se) / (1.0 - e * ce)
        big_e = big_e + d
    se, ce = se + ce * d - 0.5 * se * d * d, ce - se * d - 0.5 * ce * d * d
    beta = np.sqrt(1.0 - e * e)
    w = p["orbit.arg_perigee0_rad"] + p["orbit.arg_perigee_rate_rad_s"] * t
    node = p["orbit.raan0_rad"] + p["orbit.raan_rate_rad_s"] * t
    cw, sw, cn, sn = np.cos(w), np.sin(w), np.cos(node), np.sin(node)
    ci, si = p["orbit.cos_inclination"], p["orbit.sin_inclination"]
    xp, yp = a * (ce - e), a * beta * se
    edot = m_dot / (1.0 - e * ce)
    vxp, vyp = -a * se * edot, a * beta * ce * edot
    wd = p["orbit.arg_perigee_rate_rad_s"]
    x, y = cw * xp - sw * yp, sw * xp + cw * yp
    vx, vy = cw * vxp - sw * vyp - wd * y, sw * vxp + cw * vyp + wd * x
    nd = p["orbit.raan_rate_rad_s"]
    rx, ry, rz = cn * x - sn * ci * y, sn * x + cn * ci * y, si * y
    v = np.stack([cn * vx - sn * ci * vy - nd * ry, sn * vx + cn * ci * vy + nd * rx, si * vy], axis=-1)
    r = np.stack([rx, ry, rz], axis=-1)
    if rotation is not None:
        m = np.asarray(rotation, np.float64)
        r, v = r @ m.T, v @ m.T
    return r, v


def make_stage_func(state: Any, n_iter: int, rotation: Any = None) -> Any:
    """The ``ti.func`` of `propagate_numpy`'s arithmetic over ``state``'s fields."""
    import taichi as ti

    f = {name: state.field(name) for name in PARAMETERS}
    a_f, e_f = f["orbit.semi_major_axis_m"], f["orbit.eccentricity"]
    ci_f, si_f = f["orbit.cos_inclination"], f["orbit.sin_inclination"]
    n0_f, w0_f, m0_f = f["orbit.raan0_rad"], f["orbit.arg_perigee0_rad"], f["orbit.mean_anomaly0_rad"]
    nd_f, wd_f, md_f = f["orbit.raan_rate_rad_s"], f["orbit.arg_perigee_rate_rad_s"], f["orbit.mean_anomaly_rate_rad_s"]
    r_f, v_f = state.field("orbit.r_eci_m"), state.field("orbit.v_eci_m_s")
    pi, two_pi = math.pi, 2.0 * math.pi
    state_vector = orbit_fast.make_state_vector(rotation)

    @ti.func
    def orbit_propagate(i, k, t, dt):
        a, e, m_dot = a_f[i], e_f[i], md_f[i]
        m = m0_f[i] + m_dot * t
        m = m - two_pi * ti.floor((m + pi) / two_pi)
        big_e = m + e * ti.sin(m)
        se, ce, d = 0.0, 1.0, 0.0
        for _ in ti.static(range(n_iter)):
            se = ti.sin(big_e)
            ce = ti.cos(big_e)
            d = (m - big_e + e * se) / (1.0 - e * ce)
            big_e = big_e + d
        se1 = se + ce * d - 0.5 * se * d * d
        ce1 = ce - se * d - 0.5 * ce * d * d
        wd, nd = wd_f[i], nd_f[i]
        w = w0_f[i] + wd * t
        node = n0_f[i] + nd * t
        cw, sw, cn, sn = ti.cos(w), ti.sin(w), ti.cos(node), ti.sin(node)
        r_f[i], v_f[i] = state_vector(a, e, m_dot, wd, nd, ci_f[i], si_f[i], se1, ce1, cw, sw, cn, sn)

    return orbit_propagate


# -- hooks -----------------------------------------------------------------------------


_ELEMENTS_CACHE: dict[int, tuple[Any, tuple[cons.Elements, np.ndarray]]] = {}


def scenario_elements(scenario: Any) -> tuple[cons.Elements, np.ndarray]:
    """The constellation's elements and shell indices, built once per scenario object
    (hooks ask for them several times; at 10^6 satellites building them takes a while)."""
    key = id(scenario)
    hit = _ELEMENTS_CACHE.get(key)
    if hit is None or hit[0] is not scenario:
        _ELEMENTS_CACHE.clear()
        with _named(scenario):
            hit = (scenario, scenario.section("orbit").elements(scenario.run.epoch))
        _ELEMENTS_CACHE[key] = hit
    return hit[1]


@contextlib.contextmanager
def _named(scenario: Any):
    """A shell's problem found with the epoch (an imported set too far from it) as a
    `ScenarioError` on ``orbit.shell``."""
    try:
        yield
    except SpecValueError as exc:
        where = ""
        for k, shell in enumerate(scenario.section("orbit").shell):  # the shell whose set it names
            if any(s.source == exc.value for s in getattr(shell, "imported_sets", ())):
                where = f"[{k}]"
                break
        raise ScenarioError(scenario.path, f"orbit.shell{where}.{exc.key}", "bad value", exc.value,
                            exc.expected) from None


def eci_rotation(scenario: Any) -> np.ndarray | None:
    """``r_ECI = M r_F`` for the J2 propagator's frame (``[orbit] j2_pole``): None for
    the J2000 pole (no rotation, the elements are in ECI)."""
    frame = scenario.section("orbit").frame(scenario.run.epoch)
    return None if frame is None else np.asarray(frame).T


def uses_fast_path(scenario: Any) -> bool:
    """Whether the trig-free path (`orbitwin_plugins.orbit_fast`) holds for this scenario.

    Decided from each shell's distinct orbits (`Shell.orbit_shapes`), not from arrays per
    satellite: ``orbitwin_variables`` asks it, and declarations must cost nothing per
    satellite so that a run too large for the machine is refused at once
    (`twin_core.plan.preflight`)."""
    shapes = [s.orbit_shapes() for s in scenario.section("orbit").shell]
    a, e, inc = (np.concatenate(col) for col in zip(*shapes))
    _, _, m_dot = j2_secular_rates(a, e, inc)
    return orbit_fast.applicable(float(np.max(e)), float(np.max(np.abs(m_dot))), scenario.run.step_s)


def uniform_parameters(scenario: Any) -> dict[str, float] | None:
    """The values of `PARAMETERS` that every satellite shares, by name, when the
    constellation is Walker shells of one altitude, eccentricity and inclination (built
    shells give each satellite the shell's a, e and i exactly, so `mean_parameters` gives
    each the same a, e, i, cos i, sin i and rates; only the angles at the epoch differ);
    None otherwise. Decided for the whole constellation, so shards agree."""
    shells = scenario.section("orbit").shell
    if any(s.kind not in ("walker_delta", "walker_star") for s in shells):
        return None
    shapes = [s.orbit_shapes() for s in shells]
    a, e, inc = (np.concatenate(col) for col in zip(*shapes))
    if not (np.all(a == a[0]) and np.all(e == e[0]) and np.all(inc == inc[0])):
        return None
    zero = np.zeros(1)
    one = mean_parameters(cons.Elements(a[:1], e[:1], inc[:1], zero, zero, zero, np.zeros(1, np.int32)))
    return {name: float(one[name][0]) for name in (
        "orbit.semi_major_axis_m", "orbit.eccentricity", "orbit.inclination_rad", "orbit.cos_inclination",
        "orbit.sin_inclination", "orbit.raan_rate_rad_s", "orbit.arg_perigee_rate_rad_s",
        "orbit.mean_anomaly_rate_rad_s")}


@hookimpl
def orbitwin_config_sections() -> dict[str, type]:
    return {"orbit": OrbitConfig}


@hookimpl
def orbitwin_satellite_count(scenario: Any) -> int | None:
    cfg = scenario.section("orbit")
    return None if cfg is None else cfg.count


@hookimpl
def orbitwin_validity(scenario: Any) -> list[ValidRange] | None:
    """A sun-synchronous shell places its nodes from the mean Sun (`ltan_raan_deg`): the
    Almanac's formulae, with their stated range."""
    cfg = scenario.section("orbit")
    if cfg is None or not any(s.inclination == "sso" for s in cfg.shell):
        return None
    return [SUN_FORMULAE_VALIDITY]


@hookimpl
def orbitwin_satellites(scenario: Any) -> SatelliteTable | None:
    cfg = scenario.section("orbit")
    if cfg is None:
        return None
    el, shell = scenario_elements(scenario)
    names = catalog = None
    if any(sh.imported_sets for sh in cfg.shell):  # real satellites: their names and numbers
        names, catalog = np.full(el.count, "", dtype=object), np.full(el.count, -1, np.int64)
        k = 0
        for sh in cfg.shell:
            for s in sh.imported_sets:
                names[k], catalog[k] = s.name or "", s.catalog_number
                k += 1
            k += 0 if sh.imported_sets else sh.count
    return SatelliteTable(count=el.count, plane=el.plane, shell=shell, name=names, catalog_number=catalog)


@hookimpl
def orbitwin_variables(scenario: Any) -> list[Variable] | None:
    if scenario is not None and scenario.section("orbit") is None:  # None: `orbitwin plugins` lists all
        return None
    out = [Variable("orbit.r_eci_m", "m", "position in ECI (mean J2000)", "output", "f64", (3,)),
           Variable("orbit.v_eci_m_s", "m s-1", "velocity in ECI (mean J2000), dr/dt of the position",
                    "output", "f64", (3,))]
    if orbit_sgp4.uses_sgp4(scenario):
        return out + orbit_sgp4.variables()
    out += [Variable(name, units, desc, "parameter", "f64", (), record=False)
            for name, (units, desc) in PARAMETERS.items()]
    if scenario is None or uses_fast_path(scenario):
        out += [Variable(name, "1", desc, "state", "f64", (), record=False)
                for name, desc in orbit_fast.RECURRENCE.items()]
    return out


@hookimpl
def orbitwin_contributions(scenario: Any) -> list | None:
    """With SGP4: a satellite SGP4 cannot propagate any more is inactive ("decayed")."""
    return orbit_sgp4.contributions() if orbit_sgp4.uses_sgp4(scenario) else None


@hookimpl
def orbitwin_common_series(scenario: Any) -> list | None:
    return orbit_sgp4.common_series(scenario.run.epoch) if orbit_sgp4.uses_sgp4(scenario) else None


@hookimpl
def orbitwin_observed_state(scenario: Any, variable: str) -> str | None:
    """A run started from telemetry takes no orbit state from it: positions and
    velocities follow from the element sets (a measured position alone does not fix an
    orbit, and a fitted one is an orbit determination, not done here)."""
    if scenario.section("orbit") is None or not variable.startswith("orbit."):
        return None
    return ("the orbit comes from the scenario's element sets, not from telemetry: to start from today's orbits, "
            "import fresh ones ([[orbit.shell]] kind = \"tle\" or \"omm\", docs/orbits.md)")


@hookimpl
def orbitwin_initial_state(scenario: Any, state: Any) -> None:
    cfg = scenario.section("orbit")
    if cfg is None:
        return
    if orbit_sgp4.uses_sgp4(scenario):
        with _named(scenario):
            orbit_sgp4.set_initial_state(scenario, state)
        return
    el, _ = scenario_elements(scenario)
    for name, values in mean_parameters(el).items():
        state.set(name, values)
    if uses_fast_path(scenario):
        for name in orbit_fast.RECURRENCE:
            state.set(name, 0.0)  # rewritten at the first step of every launch


@hookimpl
def orbitwin_stages(scenario: Any, state: Any) -> list[Stage] | None:
    cfg = scenario.section("orbit")
    if cfg is None:
        return None
    if orbit_sgp4.uses_sgp4(scenario):
        return orbit_sgp4.stages(state)
    e_max = max(s.max_eccentricity for s in cfg.shell)  # whole constellation: shards agree
    rotation = eci_rotation(scenario)
    if uses_fast_path(scenario):
        func = orbit_fast.make_fast_stage_func(state, orbit_fast.fixed_point_iterations(e_max), rotation,
                                               uniform=uniform_parameters(scenario), step_s=scenario.run.step_s)
        return [Stage("orbit.propagate", func, writes=("orbit.r_eci_m", "orbit.v_eci_m_s") + tuple(orbit_fast.RECURRENCE),
                      reads=tuple(PARAMETERS))]
    return [Stage("orbit.propagate", make_stage_func(state, newton_iterations(e_max), rotation),
                  writes=("orbit.r_eci_m", "orbit.v_eci_m_s"), reads=tuple(PARAMETERS))]
