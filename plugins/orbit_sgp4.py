"""The orbit plugin's SGP4 propagator (``[orbit] propagator = "sgp4"``): imported element
sets propagated by SGP4 in the fused kernel, written as the same interface variables as
the J2 propagator (``orbit.r_eci_m``, ``orbit.v_eci_m_s``). No hooks: `orbitwin_plugins.orbit`
calls these when the scenario asks for SGP4.

Per satellite, at every step ``t`` [s] since the scenario epoch::

    tsince = offset + t / 60                              [min] since the set's own epoch
    (r, v)_TEME, error = SGP4(coefficients, tsince)       (orbitwin_plugins.sgp4_propagation)
    r_ECI = 1000 M(t) r_TEME,  v_ECI = 1000 M(t) v_TEME    M: TEME of date -> ECI (frames)

``M(t)`` is one matrix per step shared by every satellite (common series
``orbit.teme_to_eci``: IAU 1980 nutation with the equation of the equinoxes, IAU 1976
precession; `orbitwin_plugins.frames`). Its rate (precession, ~1e-11 rad/s) is left out
of the velocity: ~1e-4 m/s at 7,000 km.

SGP4's error codes (decayed, eccentricity out of range, ...) do not stop a run: the
satellite keeps its last position and velocity, ``orbit.sgp4_error`` records the code
and ``orbit.sgp4_ok`` (0) is contributed to ``sat.active`` with the reason "decayed", so
the satellite leaves every total and every plugin that honours activity. A set that
fails already at the epoch is refused before the run (`check_at_epoch`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from orbitwin_plugins import imported_orbits, sgp4_propagation as sp
from twin_core import CommonSeries, Contribution, Stage, Variable
from twin_core.validators import SpecValueError

PREFIX = "orbit.sgp4_"
OFFSET = "orbit.sgp4_epoch_offset_min"
ERROR = "orbit.sgp4_error"
OK = "orbit.sgp4_ok"
ROTATION = "orbit.teme_to_eci"
ERROR_FLAGS = {0: "none", 1: "eccentricity out of range", 2: "mean motion negative", 3: "perturbed eccentricity "
               "out of range", 4: "semi-latus rectum negative", 6: "decayed"}


def uses_sgp4(scenario: Any) -> bool:
    cfg = scenario.section("orbit") if scenario is not None else None
    return cfg is not None and getattr(cfg, "propagator", "j2") == "sgp4"


def variables() -> list[Variable]:
    out = [Variable(PREFIX + name, units, desc, "parameter", "f64", (), record=False)
           for name, (units, desc) in sp.FIELDS.items()]
    out += [Variable(OFFSET, "min", "time from the element set's epoch to the scenario's", "parameter", "f64", (),
                     record=False),
            Variable(ERROR, "1", "SGP4's error code (0: none); the satellite holds its last state", "output", "i8",
                     flags=dict(ERROR_FLAGS)),
            Variable(OK, "1", "1 while SGP4 propagates the satellite without error (contributed to sat.active)",
                     "output", "i8", record=False)]
    return out


def contributions() -> list[Contribution]:
    return [Contribution("sat.active", OK, reason="decayed")]


def common_series(epoch: Any) -> list[CommonSeries]:
    from orbitwin_plugins.frames import teme_to_eci_matrix

    def rotation(t_s: Any) -> np.ndarray:
        return teme_to_eci_matrix(np.asarray(t_s, np.float64), epoch).reshape(-1, 9)

    return [CommonSeries(ROTATION, "1", "rotation from TEME of date to ECI (IAU 1980 nutation, IAU 1976 "
                         "precession), row-major 3x3", compute=rotation, shape=(9,), record=False)]


def table(scenario: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(coefficients, offsets [min])`` of every satellite, in satellite order."""
    cfg = scenario.section("orbit")
    sets = cfg.imported_sets
    imported_orbits.check_epochs(sets, scenario.run.epoch)
    return imported_orbits.sgp4_table(sets), imported_orbits.epoch_offsets_min(sets, scenario.run.epoch)


def check_at_epoch(params: np.ndarray, offsets: np.ndarray, sets: Any) -> None:
    """Refuse a set SGP4 cannot propagate at the scenario epoch."""
    res = sp.propagate_numpy(params, offsets[None, :] if offsets.ndim == 1 else offsets)
    err = np.asarray(res.error).reshape(-1)
    bad = np.flatnonzero(err != 0)
    if bad.size:
        k = int(bad[0])
        s = sets[k]
        raise SpecValueError("file", s.source, f"element sets SGP4 propagates at the scenario epoch "
                             f"({s.name or s.catalog_number}: {ERROR_FLAGS.get(int(err[k]), int(err[k]))} at "
                             f"{offsets[k] / 1440.0:+.1f} days from its epoch)")


def set_initial_state(scenario: Any, state: Any) -> None:
    params, offsets = table(scenario)
    check_at_epoch(params, offsets, scenario.section("orbit").imported_sets)
    for name in sp.FIELDS:
        state.set(PREFIX + name, params[name])
    state.set(OFFSET, offsets)


def stages(state: Any) -> list[Stage]:
    import taichi as ti

    fields = tuple(state.field(PREFIX + name) for name in sp.FIELDS)
    off_f, err_f, ok_f = state.field(OFFSET), state.field(ERROR), state.field(OK)
    r_f, v_f, rot_f = state.field("orbit.r_eci_m"), state.field("orbit.v_eci_m_s"), state.common(ROTATION)
    sgp4 = sp.make_sgp4_func()
    n_fields = len(fields)

    @ti.func
    def orbit_sgp4(i, k, t, dt):
        row = ti.Vector([fields[c][i] for c in ti.static(range(n_fields))])
        r, v, err = sgp4(*[row[c] for c in ti.static(range(n_fields))], off_f[i] + t / 60.0)
        if err == 0:
            m = rot_f[k]
            r_f[i] = 1000.0 * ti.Vector([m[0] * r[0] + m[1] * r[1] + m[2] * r[2],
                                         m[3] * r[0] + m[4] * r[1] + m[5] * r[2],
                                         m[6] * r[0] + m[7] * r[1] + m[8] * r[2]])
            v_f[i] = 1000.0 * ti.Vector([m[0] * v[0] + m[1] * v[1] + m[2] * v[2],
                                         m[3] * v[0] + m[4] * v[1] + m[5] * v[2],
                                         m[6] * v[0] + m[7] * v[1] + m[8] * v[2]])
        err_f[i] = ti.cast(err, ti.i8)
        ok_f[i] = ti.cast(1 if err == 0 else 0, ti.i8)

    reads = tuple(PREFIX + name for name in sp.FIELDS) + (OFFSET, ROTATION)
    return [Stage("orbit.propagate", orbit_sgp4, writes=("orbit.r_eci_m", "orbit.v_eci_m_s", ERROR, OK),
                  reads=reads)]


__all__ = ["ERROR", "OK", "ROTATION", "check_at_epoch", "common_series", "contributions", "set_initial_state",
           "stages", "table", "uses_sgp4", "variables"]
