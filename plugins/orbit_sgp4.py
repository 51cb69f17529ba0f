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

SGP4's error codes (decayed, eccentricity out of range, ...) do not stop a run: from
its first error on, the satellite keeps its last position and velocity,
``orbit.sgp4_error`` keeps that first code and ``orbit.sgp4_ok`` (a state: 0 for good) is
contributed to ``sat.active`` with the reason "decayed", so the satellite leaves every
total and every plugin that honours activity. It stays out: after a first error the
library may report none again at later times (a decaying orbit dips below the surface
only near perigee), with positions that mean nothing. A set that fails at the epoch or
anywhere in the orbit before it (65 samples over one period) is refused before the run
(`check_at_epoch`): it has decayed already.
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
            Variable(OK, "1", "1 until SGP4's first error for the satellite, 0 from then on (contributed to "
                     "sat.active)", "state", "i8", record=False)]
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


#: Samples over the orbit before the epoch that `check_at_epoch` propagates.
PRE_EPOCH_SAMPLES = 65


def check_at_epoch(params: np.ndarray, offsets: np.ndarray, sets: Any) -> None:
    """Refuse a set SGP4 cannot propagate at the scenario epoch or at any of
    `PRE_EPOCH_SAMPLES` times over the orbital period before it: it has decayed (a
    decaying orbit errs near perigee only, so the epoch alone may look fine)."""
    offsets = np.asarray(offsets, np.float64).reshape(-1)
    period_min = 2.0 * np.pi / np.asarray(params["no_unkozai"], np.float64)
    back = np.linspace(1.0, 0.0, PRE_EPOCH_SAMPLES)[:, None] * period_min[None, :]
    res = sp.propagate_numpy(params, offsets[None, :] - back)
    err = np.asarray(res.error)
    bad = np.flatnonzero((err != 0).any(axis=0))
    if bad.size:
        k = int(bad[0])
        j = int(np.argmax(err[:, k] != 0))
        code = int(err[j, k])
        s = sets[k]
        when = (offsets[k] - back[j, k]) / 1440.0
        raise SpecValueError("file", s.source, f"element sets SGP4 propagates through the orbit before the scenario "
                             f"epoch ({s.name or s.catalog_number}: {ERROR_FLAGS.get(code, code)} at "
                             f"{when:+.2f} days from its epoch, within one period of the scenario's: it has "
                             "decayed by then; leave it out, or start earlier)")


def set_initial_state(scenario: Any, state: Any) -> None:
    params, offsets = table(scenario)
    check_at_epoch(params, offsets, scenario.section("orbit").imported_sets)
    for name in sp.FIELDS:
        state.set(PREFIX + name, params[name])
    state.set(OFFSET, offsets)
    state.set(OK, 1)


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
        if ok_f[i] == 0:  # decayed at an earlier step: stays so, whatever SGP4 says now
            err = -1
        if err == 0:
            m = rot_f[k]
            r_f[i] = 1000.0 * ti.Vector([m[0] * r[0] + m[1] * r[1] + m[2] * r[2],
                                         m[3] * r[0] + m[4] * r[1] + m[5] * r[2],
                                         m[6] * r[0] + m[7] * r[1] + m[8] * r[2]])
            v_f[i] = 1000.0 * ti.Vector([m[0] * v[0] + m[1] * v[1] + m[2] * v[2],
                                         m[3] * v[0] + m[4] * v[1] + m[5] * v[2],
                                         m[6] * v[0] + m[7] * v[1] + m[8] * v[2]])
        if err >= 0:  # the first error's code is kept
            err_f[i] = ti.cast(err, ti.i8)
        ok_f[i] = ti.cast(1 if err == 0 else 0, ti.i8)

    reads = tuple(PREFIX + name for name in sp.FIELDS) + (OFFSET, ROTATION)
    return [Stage("orbit.propagate", orbit_sgp4, writes=("orbit.r_eci_m", "orbit.v_eci_m_s", ERROR, OK),
                  reads=reads)]


__all__ = ["ERROR", "OK", "ROTATION", "check_at_epoch", "common_series", "contributions", "set_initial_state",
           "stages", "table", "uses_sgp4", "variables"]
