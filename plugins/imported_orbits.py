"""Constellations from published element sets: ``[[orbit.shell]]`` with ``kind = "tle"``
or ``kind = "omm"`` (no hooks; `orbitwin_plugins.constellations` builds the shell, the
orbit plugin propagates it).

::

    [[orbit.shell]]
    kind = "tle"                          # or "omm": CCSDS OMM in KVN, XML or JSON
    file = "starlink.tle"                 # relative to the scenario file's folder
    names = ["STARLINK-1*"]               # optional: fnmatch patterns, case-insensitive
    catalog_numbers = [44713, 44714]      # optional (a set is kept if it matches either filter)

The files are read by `orbitwin_plugins.elements_io` (its errors name the file, the line
or record, and the field). The element sets are SGP4 mean elements in TEME with Kozai
mean motion, each at its own epoch, which may differ from the scenario's.

Two propagators use them (``[orbit] propagator``):

``"sgp4"``
    SGP4 itself, in the kernel (`orbitwin_plugins.sgp4_propagation`): each satellite's
    initialized coefficients (the ``sgp4`` package's ``sgp4init``, WGS 72) and the time
    from its set's epoch to the scenario's; the output, in TEME of date, is rotated to
    orbitwin's ECI at every step (`orbitwin_plugins.frames.teme_to_eci_matrix`).
    Near-Earth sets only (period < 225 min): a deep-space set is refused.
``"j2"`` (the default)
    the J2 mean-element propagator, from elements converted here (`j2_elements`)::

        n0 = n_Kozai / (1 + delta_0)          un-Kozai'd (Brouwer) mean motion, as sgp4init
                                              computes it (Hoots & Roehrich, Spacetrack
                                              Report #3, 1980; WGS 72 J2 and ke)
        a  = (mu / n0^2)^(1/3)                the plugin's a: its two-body mean motion is n0
        (i, RAAN, omega)_ECI = rotation of the TEME-of-epoch orbit plane to ECI
        (RAAN, omega, M)(t0) = value at the set's epoch + J2 secular rate x (t0 - epoch)

    e and M are SGP4's mean values unchanged. The J2 propagator has no drag and no
    short-period terms, so it parts from SGP4 by the short-period amplitude (a few km)
    at once and by drag over days (tests/test_imported_orbits.py measures it for the
    shipped sets over a day).
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any, Sequence

import numpy as np

from orbitwin_plugins import elements_io as eio
from twin_core.validators import SpecValueError

#: Epoch offset beyond which a set is refused for a scenario [days]: SGP4's accuracy
#: degrades by kilometres a day away from the epoch in LEO (drag); 5 years is the
#: readers' own sanity limit for "an epoch in the future by years".
MAX_EPOCH_OFFSET_DAYS = 5 * 365.25


def read_sets(file: str, names: Sequence[str] | None = None,
              catalog_numbers: Sequence[int] | None = None, kind: str | None = None) -> tuple[eio.MeanElements, ...]:
    """The shell's element sets, ``file`` resolved against the scenario's folder
    (`twin_core.scenario.resolve_path`); a reader's error becomes a `SpecValueError` on
    ``file`` carrying its message (file, line or record, field). With ``kind`` (the
    shell's ``"tle"`` or ``"omm"``), a file that reads as the other kind is refused: the
    kind says what the user expects the file to be (a file that does not read is the
    reader's error, whatever the kind)."""
    from twin_core.scenario import resolve_path

    path = resolve_path(file)
    if path.is_dir():
        raise SpecValueError("file", file, f"an element-set file, not a folder ({path})")
    if not path.is_file():
        raise SpecValueError("file", file, f"an existing element-set file (looked for {path})")
    try:
        sets = eio.read_elements(path, names=names, catalog_numbers=catalog_numbers)
    except eio.ElementsError as exc:
        raise SpecValueError("file", file, f"readable element sets: {exc}") from None
    except OSError as exc:
        raise SpecValueError("file", file, f"a readable file ({exc.strerror or exc})") from None
    if kind is not None:
        try:
            with open(path, "rb") as fh:
                head = fh.read(65536).decode("utf-8-sig", errors="replace")
        except OSError as exc:
            raise SpecValueError("file", file, f"a readable file ({exc.strerror or exc})") from None
        fmt = eio.format_of(head)
        if fmt.split("-")[0] != kind:
            what = {"tle": "two-line element sets", "omm-xml": "OMM as XML", "omm-json": "OMM as JSON",
                    "omm-kvn": "OMM as KVN"}[fmt]
            raise SpecValueError("file", file, f"a file of kind '{kind}' (it holds {what}: set kind = "
                                 f"\"{fmt.split('-')[0]}\")")
    if not sets:
        raise SpecValueError("file", file, "at least one element set")
    return tuple(sets)


def check_epochs(sets: Sequence[eio.MeanElements], epoch: _dt.datetime) -> None:
    """Refuse sets whose epoch is more than `MAX_EPOCH_OFFSET_DAYS` from the scenario's."""
    t0 = epoch if epoch.tzinfo is not None else epoch.replace(tzinfo=_dt.timezone.utc)
    for s in sets:
        off = abs((s.epoch - t0).total_seconds()) / 86400.0
        if off > MAX_EPOCH_OFFSET_DAYS:
            raise SpecValueError("file", s.source, f"element sets within {MAX_EPOCH_OFFSET_DAYS / 365.25:g} years of "
                                 f"the scenario's epoch ({s.name or s.catalog_number}: {s.epoch:%Y-%m-%d}, "
                                 f"{off / 365.25:.1f} years away)")


def check_near_earth(sets: Sequence[eio.MeanElements]) -> None:
    """Refuse deep-space sets (un-Kozai'd period of 225 min or more, SGP4's own test) for
    the kernel's SGP4, naming the first."""
    from orbitwin_plugins.sgp4_propagation import DEEP_SPACE_PERIOD_MIN

    for s in sets:
        n0 = float(unkozai_mean_motion_rad_min(s.mean_motion_rev_per_day * 2.0 * math.pi / 1440.0, s.eccentricity,
                                               math.radians(s.inclination_deg)))
        period = 2.0 * math.pi / n0
        if period >= DEEP_SPACE_PERIOD_MIN:
            raise SpecValueError("propagator", "sgp4", f"near-Earth element sets only: {s.name or s.catalog_number} "
                                 f"({s.source}) has a period of {period:.0f} min, deep space (>= "
                                 f"{DEEP_SPACE_PERIOD_MIN:g} min), whose SDP4 terms the kernel does not have; use "
                                 "propagator = 'j2' or leave the set out (names, catalog_numbers)")


def sgp4_table(sets: Sequence[eio.MeanElements]) -> np.ndarray:
    """`orbitwin_plugins.sgp4_propagation` parameters of the sets (``sgp4init``, WGS 72);
    a deep-space or failing set becomes a `SpecValueError` on ``file``."""
    from orbitwin_plugins import sgp4_propagation as sp

    two_pi = 2.0 * math.pi
    col = lambda f: np.array([f(s) for s in sets], dtype=np.float64)  # noqa: E731
    try:
        return sp.sgp4_parameters_from_elements(
            np.array([s.catalog_number for s in sets]), col(lambda s: s.epoch_sgp4_days),
            col(lambda s: s.bstar_per_earth_radius),
            col(lambda s: s.ndot_rev_per_day2 * two_pi / 1440.0**2),
            col(lambda s: s.nddot_rev_per_day3 * two_pi / 1440.0**3),
            col(lambda s: s.eccentricity), np.deg2rad(col(lambda s: s.argp_deg)),
            np.deg2rad(col(lambda s: s.inclination_deg)), np.deg2rad(col(lambda s: s.mean_anomaly_deg)),
            col(lambda s: s.mean_motion_rev_per_day * two_pi / 1440.0), np.deg2rad(col(lambda s: s.raan_deg)),
            names=[s.name or str(s.catalog_number) for s in sets])
    except sp.Sgp4ElementsError as exc:
        s = sets[exc.index if exc.index is not None else 0]
        raise SpecValueError("file", s.source, f"element sets SGP4 can propagate in the kernel: {exc}") from None


def epoch_offsets_min(sets: Sequence[eio.MeanElements], epoch: _dt.datetime) -> np.ndarray:
    """Minutes from each set's epoch to the scenario epoch (SGP4's ``tsince`` at t = 0)."""
    t0 = epoch if epoch.tzinfo is not None else epoch.replace(tzinfo=_dt.timezone.utc)
    return np.array([(t0 - s.epoch).total_seconds() / 60.0 for s in sets], dtype=np.float64)


def unkozai_mean_motion_rad_min(n_kozai_rad_min: Any, e: Any, i_rad: Any) -> np.ndarray:
    """Brouwer's mean motion from the Kozai mean motion of a TLE [rad/min], as SGP4's
    initialization does (Spacetrack Report #3; WGS 72 ``xke`` and ``J2``)."""
    from orbitwin_plugins.sgp4_propagation import gravity

    _rad, xke, j2 = gravity()
    n = np.asarray(n_kozai_rad_min, np.float64)
    cosi = np.cos(np.asarray(i_rad, np.float64))
    beta3 = np.power(1.0 - np.square(np.asarray(e, np.float64)), 1.5)
    a1 = np.power(xke / n, 2.0 / 3.0)
    d1 = 0.75 * j2 * (3.0 * cosi * cosi - 1.0) / beta3 / (a1 * a1)
    a0 = a1 * (1.0 - d1 / 3.0 - d1 * d1 - 134.0 / 81.0 * d1 * d1 * d1)
    d0 = d1 * a1 * a1 / (a0 * a0)
    return n / (1.0 + d0)


def j2_elements(sets: Sequence[eio.MeanElements], epoch: _dt.datetime, frame: np.ndarray | None = None) -> Any:
    """The J2 propagator's mean elements at ``epoch`` (module docstring), one plane each,
    in ECI or, given ``frame`` (``r_F = frame r_ECI``), in the J2 propagator's frame of
    date (`constellations.OrbitConfig.j2_pole`)."""
    from orbitwin_plugins import constellations as cons
    from orbitwin_plugins.constants import MU_EARTH_M3_S2
    from orbitwin_plugins.frames import teme_to_eci_matrix
    from orbitwin_plugins.orbit import j2_secular_rates
    from orbitwin_plugins.orbit_frames import rotate_angles

    col = lambda f: np.array([f(s) for s in sets], dtype=np.float64)  # noqa: E731
    e = col(lambda s: s.eccentricity)
    inc_teme = np.deg2rad(col(lambda s: s.inclination_deg))
    n0 = unkozai_mean_motion_rad_min(col(lambda s: s.mean_motion_rev_per_day) * 2.0 * math.pi / 1440.0, e, inc_teme)
    a = np.cbrt(MU_EARTH_M3_S2 / np.square(n0 / 60.0))
    m_rot = np.stack([teme_to_eci_matrix(s.epoch.replace(tzinfo=None)) for s in sets])
    if frame is not None:
        m_rot = np.asarray(frame) @ m_rot
    raan = np.empty(len(sets))
    inc = np.empty(len(sets))
    argp = np.empty(len(sets))
    for k, s in enumerate(sets):  # one rotation per set: its own epoch's TEME
        r, i_k, w = rotate_angles(m_rot[k], np.deg2rad([s.raan_deg]), inc_teme[k:k + 1], np.deg2rad([s.argp_deg]))
        raan[k], inc[k], argp[k] = float(r[0]), float(i_k[0]), float(w[0])
    dt_s = epoch_offsets_min(sets, epoch) * 60.0  # from each set's epoch to the scenario's
    raan_dot, argp_dot, m_dot = j2_secular_rates(a, e, inc)
    m = np.deg2rad(col(lambda s: s.mean_anomaly_deg)) + m_dot * dt_s
    two_pi = 2.0 * math.pi
    return cons.Elements(a, e, inc, np.mod(raan + raan_dot * dt_s, two_pi), np.mod(argp + argp_dot * dt_s, two_pi),
                         np.mod(m, two_pi), np.arange(len(sets), dtype=np.int32))


__all__ = ["MAX_EPOCH_OFFSET_DAYS", "check_epochs", "check_near_earth", "epoch_offsets_min", "j2_elements", "read_sets", "sgp4_table",
           "unkozai_mean_motion_rad_min"]
