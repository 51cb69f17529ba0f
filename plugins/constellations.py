"""Constellation builders: Walker shells, sun-synchronous shells and explicit element sets,
as arrays of mean Keplerian elements at the scenario epoch. Pure numpy, no hooks; the
``orbit`` plugin propagates what these return.

Walker patterns ``i: T/P/F`` (Walker, J. Brit. Interplanet. Soc. 37, 559-572, 1984;
Wertz & Larson, Space Mission Analysis and Design, 3rd ed., 1999, sec. 7.6): ``T``
satellites in ``P`` circular planes of ``S = T/P`` each, phasing ``F`` in ``0..P-1``.
Plane ``j``, slot ``k``::

    RAAN_j = raan0 + j * 360 deg / P     (delta: nodes spread over 360 deg)
    RAAN_j = raan0 + j * 180 deg / P     (star: over 180 deg, the polar "streets")
    u_jk   = k * 360 deg / S + j * F * 360 deg / T    (argument of latitude; e = 0, so the
                                                       mean anomaly with omega = 0)

Sun-synchronous inclination: the J2 nodal rate (Vallado, Fundamentals of Astrodynamics
and Applications, 4th ed., 2013, eq. 9-41) equals the mean Sun's motion ``n_sun``
(sec. 11.4.1; Boain, AAS 04-108, 2004)::

    cos i = -n_sun / (1.5 n J2 (R_E / p)^2),   n = sqrt(mu / a^3),  p = a (1 - e^2)

with no solution (an error) where the right side is below -1, i.e. above about 5,970 km
for a circular orbit. Local time of the ascending node ``ltan_h`` sets
``RAAN = alpha_mean_sun(epoch) + (ltan_h - 12 h) * 15 deg/h``: local *mean* solar time,
the usual meaning of LTAN (`mean_sun_ra_deg`); the apparent Sun is off by the equation
of time, up to 16 min.

Formation-flying clusters (``kind = "cluster"``, `orbitwin_plugins.clusters`): N
satellites on bounded Hill-Clohessy-Wiltshire relative orbits around one circular
reference orbit (Clohessy & Wiltshire 1960), built as mean-element differences (D'Amico
2010) with each satellite's semi-major axis matched so that its J2 secular along-track
rate equals the reference's (Schaub & Alfriend 2001); all in one plane index (a cluster
is simulated in one shard); at most 10,000 satellites. Equations, sources and limits in
that module; keys in `Shell`.

Altitudes are mean semi-major axis minus the WGS 84 equatorial radius. Every check raises
`SpecValueError` naming the scenario key, so the same checks serve Python callers and
scenario files.

Scenario table ``[orbit]`` (`OrbitConfig`): one or more shells, numbered in file order;
satellites are numbered shell by shell and plane by plane, and plane indices are unique
across shells::

    [[orbit.shell]]
    kind = "walker_delta"        # or "walker_star"
    total = 1584                 # T
    planes = 72                  # P, divides T
    phasing = 39                 # F, 0 <= F < P (default 0)
    altitude_km = 550
    inclination = 53.0           # degrees, or "sso" (then ltan_h instead of raan0_deg)
    raan0_deg = 0.0              # first plane's RAAN (default 0)

    [[orbit.shell]]
    kind = "walker_delta"
    total = 8
    planes = 2
    altitude_km = 650
    inclination = "sso"
    ltan_h = 18.0                # dawn-dusk

    [[orbit.shell]]
    kind = "elements"            # explicit satellites, one inline table each (`ElementSet`)
    sets = [
      {altitude_km = 700, inclination_deg = 98.2, raan_deg = 10, mean_anomaly_deg = 0},
      {semi_major_axis_km = 7200, eccentricity = 0.01, inclination_deg = 45, raan_deg = 90, arg_perigee_deg = 270},
    ]                            # (TOML 1.0: each inline table on one line)
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any, Sequence

import attrs
import numpy as np

from orbitwin_plugins.constants import J2_EARTH, MU_EARTH_M3_S2, R_EARTH_M, SUN_MEAN_MOTION_RAD_S
from twin_core.validators import SpecValueError, finite, in_range, one_of

#: Lowest altitude [km] accepted (perigee, for eccentric orbits): the Karman line (FAI's
#: edge of space). Real orbits below ~200 km decay within days; this model has no drag.
MIN_ALTITUDE_KM = 100.0
#: Highest altitude [km]: a bound against typos, not a validity claim. J2's acceleration
#: falls as r^-4 while the Moon's and Sun's tidal ones grow as r; from about GEO outward
#: those (not modelled) dominate, so the model is meant for LEO to MEO.
MAX_ALTITUDE_KM = 100_000.0


@attrs.frozen(eq=False)
class Elements:
    """Mean Keplerian elements of ``count`` satellites at the epoch, SI units.

    Attributes:
        semi_major_axis_m, eccentricity, inclination_rad, raan_rad, arg_perigee_rad,
        mean_anomaly_rad: float64 arrays (count,).
        plane: int32 array (count,), plane index within this group, contiguous.
    """

    semi_major_axis_m: np.ndarray
    eccentricity: np.ndarray
    inclination_rad: np.ndarray
    raan_rad: np.ndarray
    arg_perigee_rad: np.ndarray
    mean_anomaly_rad: np.ndarray
    plane: np.ndarray

    @property
    def count(self) -> int:
        return int(self.plane.shape[0])

    @staticmethod
    def concatenate(parts: Sequence["Elements"]) -> tuple["Elements", np.ndarray]:
        """Join groups; plane indices are renumbered to stay unique. Returns the joined
        elements and the group index (int32) of every satellite."""
        offsets = np.cumsum([0] + [int(p.plane.max()) + 1 if p.count else 0 for p in parts])
        cols = {f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in attrs.fields(Elements)}
        cols["plane"] = np.concatenate([p.plane + off for p, off in zip(parts, offsets)]).astype(np.int32)
        group = np.concatenate([np.full(p.count, g, np.int32) for g, p in enumerate(parts)])
        return Elements(**cols), group


def _elements(a_m, e, inc_deg, raan_deg, argp_deg, m_deg, plane) -> Elements:
    n = len(plane)
    f = lambda x: np.broadcast_to(np.asarray(x, dtype=np.float64), (n,)).copy()  # noqa: E731
    return Elements(f(a_m), f(e), np.deg2rad(f(inc_deg)), np.deg2rad(np.mod(f(raan_deg), 360.0)),
                    np.deg2rad(np.mod(f(argp_deg), 360.0)), np.deg2rad(np.mod(f(m_deg), 360.0)),
                    np.asarray(plane, dtype=np.int32))


def check_altitude(key: str, altitude_km: float) -> None:
    if not MIN_ALTITUDE_KM <= altitude_km <= MAX_ALTITUDE_KM:
        raise SpecValueError(key, altitude_km, f"in [{MIN_ALTITUDE_KM:g}, {MAX_ALTITUDE_KM:g}] km")


def check_walker(total: int, planes: int, phasing: int) -> None:
    """The Walker triple T/P/F: P divides T, 0 <= F < P."""
    if total < 1 or total > MAX_SATELLITES:
        raise SpecValueError("total", total, f"a whole number in [1, {MAX_SATELLITES:,}]")
    if planes < 1 or total % planes:
        raise SpecValueError("planes", planes, f"a whole number >= 1 that divides total = {total}")
    if not 0 <= phasing < planes:
        raise SpecValueError("phasing", phasing, f"a whole number in [0, planes - 1 = {planes - 1}]")


def _walker(spread_deg: float, total: int, planes: int, phasing: int, altitude_km: float,
            inclination_deg: float, raan0_deg: float) -> Elements:
    check_walker(total, planes, phasing)
    check_altitude("altitude_km", altitude_km)
    if not 0.0 <= inclination_deg <= 180.0:
        raise SpecValueError("inclination", inclination_deg, "in [0, 180] degrees or 'sso'")
    per_plane = total // planes
    plane = np.repeat(np.arange(planes), per_plane)
    slot = np.tile(np.arange(per_plane), planes)
    raan = raan0_deg + plane * (spread_deg / planes)
    u = slot * (360.0 / per_plane) + plane * (phasing * 360.0 / total)
    return _elements(R_EARTH_M + altitude_km * 1e3, 0.0, inclination_deg, raan, 0.0, u, plane)


def walker_delta(total: int, planes: int, phasing: int, altitude_km: float, inclination_deg: float,
                 raan0_deg: float = 0.0) -> Elements:
    """Walker delta ``i: T/P/F``: circular planes with nodes spread over 360 degrees."""
    return _walker(360.0, total, planes, phasing, altitude_km, inclination_deg, raan0_deg)


def walker_star(total: int, planes: int, phasing: int, altitude_km: float, inclination_deg: float,
                raan0_deg: float = 0.0) -> Elements:
    """Walker star ``i: T/P/F``: circular planes with nodes spread over 180 degrees."""
    return _walker(180.0, total, planes, phasing, altitude_km, inclination_deg, raan0_deg)


def sun_synchronous_inclination_deg(altitude_km: float, eccentricity: float = 0.0) -> float:
    """Inclination [deg] whose J2 nodal rate follows the mean Sun (module docstring).

    Raises `SpecValueError` (key ``altitude_km``) where no sun-synchronous orbit exists.
    """
    check_altitude("altitude_km", altitude_km)
    a = R_EARTH_M + altitude_km * 1e3
    p = a * (1.0 - eccentricity**2)
    n = math.sqrt(MU_EARTH_M3_S2 / a**3)
    cos_i = -SUN_MEAN_MOTION_RAD_S / (1.5 * n * J2_EARTH * (R_EARTH_M / p) ** 2)
    if cos_i < -1.0:
        raise SpecValueError("altitude_km", altitude_km,
                             "low enough for a sun-synchronous orbit to exist (J2 cannot turn the "
                             "node by 360 deg a year above about 5,970 km)")
    return math.degrees(math.acos(cos_i))


def mean_sun_ra_deg(epoch: _dt.datetime) -> float:
    """Right ascension [deg] of the mean Sun at ``epoch`` in orbitwin's ECI (mean J2000).

    The mean Sun moves uniformly along the equator; its right ascension is the Sun's mean
    longitude L = 280.460 + 0.9856474 d deg (d days from J2000.0; Astronomical Almanac
    low-precision formulae, also Vallado 4th ed. Alg. 29), referred to the mean equinox of
    date, brought to J2000 by removing the general precession 1.3972 deg per Julian
    century (Montenbruck & Gill 2000, eq. 3.43 note). Local mean solar time, the usual
    meaning of LTAN, is measured from it; the apparent Sun differs by the equation of
    time (up to 16 min, 4 deg).
    """
    from orbitwin_plugins.ephemeris import days_since_j2000  # lazy: numpy-only library

    d = float(np.asarray(days_since_j2000(np.zeros(1), epoch)).ravel()[0])
    return (280.460 + 0.9856474 * d - 1.3972 * d / 36525.0) % 360.0


def ltan_raan_deg(ltan_h: float, epoch: _dt.datetime) -> float:
    """RAAN [deg] that puts the ascending node at local mean solar time ``ltan_h`` at
    ``epoch``: ``RAAN = alpha_mean_sun + (ltan_h - 12 h) * 15 deg/h``."""
    if not 0.0 <= ltan_h < 24.0:
        raise SpecValueError("ltan_h", ltan_h, "in [0, 24) hours")
    return (mean_sun_ra_deg(epoch) + (ltan_h - 12.0) * 15.0) % 360.0


def raan_in_frame_deg(raan_deg: float, frame: np.ndarray | None) -> float:
    """A node direction given in ECI (J2000 equator and equinox), as a right ascension in
    the frame ``r_F = frame r_ECI`` (the J2 propagator's equator of date: `j2_pole`);
    unchanged without a frame."""
    if frame is None:
        return raan_deg
    node = np.asarray(frame) @ np.array([math.cos(math.radians(raan_deg)), math.sin(math.radians(raan_deg)), 0.0])
    return math.degrees(math.atan2(node[1], node[0])) % 360.0


def sun_synchronous(total: int, planes: int, phasing: int, altitude_km: float, ltan_h: float,
                    epoch: _dt.datetime, star: bool = False, frame: np.ndarray | None = None) -> Elements:
    """A Walker shell at the sun-synchronous inclination whose first plane crosses the
    equator northbound at local solar time ``ltan_h`` at ``epoch`` (its node expressed in
    ``frame`` when given: `raan_in_frame_deg`)."""
    inc = sun_synchronous_inclination_deg(altitude_km)
    build = walker_star if star else walker_delta
    return build(total, planes, phasing, altitude_km, inc, raan_in_frame_deg(ltan_raan_deg(ltan_h, epoch), frame))


@attrs.frozen
class ElementSet:
    """One satellite's mean elements at the epoch (one entry of ``sets``).

    Give exactly one of ``altitude_km`` (mean semi-major axis minus the equatorial radius)
    or ``semi_major_axis_km``. Angles in degrees; all but inclination default to 0.

    Attributes:
        inclination_deg: mean inclination [deg], 0 to 180.
        altitude_km: mean semi-major axis minus the WGS 84 equatorial radius [km].
        semi_major_axis_km: mean semi-major axis [km] (instead of altitude_km).
        eccentricity: mean eccentricity, 0 <= e < 1.
        raan_deg: right ascension of the ascending node at the epoch [deg].
        arg_perigee_deg: argument of perigee at the epoch [deg].
        mean_anomaly_deg: mean anomaly at the epoch [deg].
    """

    inclination_deg: float
    altitude_km: float | None = None
    semi_major_axis_km: float | None = None
    eccentricity: float = 0.0
    raan_deg: float = 0.0
    arg_perigee_deg: float = 0.0
    mean_anomaly_deg: float = 0.0

    def __attrs_post_init__(self) -> None:
        if self.altitude_km is None and self.semi_major_axis_km is None:
            raise SpecValueError("altitude_km", None, "present, or else semi_major_axis_km (exactly one)")
        if self.altitude_km is not None and self.semi_major_axis_km is not None:
            raise SpecValueError("semi_major_axis_km", self.semi_major_axis_km,
                                 "absent when altitude_km is given (exactly one of the two)")
        if not 0.0 <= self.inclination_deg <= 180.0:
            raise SpecValueError("inclination_deg", self.inclination_deg, "in [0, 180]")
        if not 0.0 <= self.eccentricity < 1.0:
            raise SpecValueError("eccentricity", self.eccentricity,
                                 "in [0, 1) (a closed orbit; 1 or more does not return)")
        if self.altitude_km is not None:
            check_altitude("altitude_km", self.altitude_km)
        elif not MIN_ALTITUDE_KM <= self.semi_major_axis_km - R_EARTH_M / 1e3 <= MAX_ALTITUDE_KM:
            raise SpecValueError("semi_major_axis_km", self.semi_major_axis_km,
                                 f"such that a - R_E (R_E = {R_EARTH_M / 1e3} km) is in "
                                 f"[{MIN_ALTITUDE_KM:g}, {MAX_ALTITUDE_KM:g}] km")
        perigee_km = (self.semi_major_axis_m * (1.0 - self.eccentricity) - R_EARTH_M) / 1e3
        if perigee_km < MIN_ALTITUDE_KM:
            raise SpecValueError("eccentricity", self.eccentricity,
                                 f"small enough that the perigee altitude a(1 - e) - R_E (here "
                                 f"{perigee_km:.1f} km) is >= {MIN_ALTITUDE_KM:g} km")

    @property
    def semi_major_axis_m(self) -> float:
        if self.semi_major_axis_km is not None:
            return self.semi_major_axis_km * 1e3
        return R_EARTH_M + (self.altitude_km or 0.0) * 1e3


def element_sets(sets: Sequence[ElementSet]) -> Elements:
    """Explicit satellites. Consecutive sets with equal inclination and RAAN share a plane
    index (a new plane starts wherever either changes)."""
    if not sets:
        raise SpecValueError("sets", list(sets), "a non-empty list of element sets")
    plane = np.zeros(len(sets), np.int32)
    for k in range(1, len(sets)):
        same = (sets[k].inclination_deg, sets[k].raan_deg) == (sets[k - 1].inclination_deg, sets[k - 1].raan_deg)
        plane[k] = plane[k - 1] + (0 if same else 1)
    col = lambda name: [getattr(s, name) for s in sets]  # noqa: E731
    return _elements(col("semi_major_axis_m"), col("eccentricity"), col("inclination_deg"), col("raan_deg"),
                     col("arg_perigee_deg"), col("mean_anomaly_deg"), plane)


# -- scenario table [orbit] -----------------------------------------------------------

KINDS = ("walker_delta", "walker_star", "elements", "cluster", "tle", "omm")
#: Kinds read from element-set files (`orbitwin_plugins.imported_orbits`).
IMPORTED = ("tle", "omm")
#: Keys only those kinds take.
_IMPORT_KEYS = ("file", "names", "catalog_numbers")
#: Largest shell accepted (a typo of three zeros should not start allocating); whether a
#: run of this size fits the machine is checked from the shells' counts (`Shell.count`)
#: before anything per satellite is built (`twin_core.plan.preflight`).
MAX_SATELLITES = 100_000_000

_WALKER_KEYS = ("total", "planes", "phasing", "altitude_km", "inclination", "raan0_deg", "ltan_h")
#: Keys only a ``kind = "cluster"`` shell takes.
_CLUSTER_KEYS = ("grid", "offsets_m", "spacing_m", "j2_correction", "mean_anomaly_deg")
_opt = attrs.validators.optional


@attrs.frozen
class Shell:
    """One ``[[orbit.shell]]`` table (module docstring). Walker kinds need ``total``,
    ``planes``, ``altitude_km`` and ``inclination`` (degrees or ``"sso"`` with ``ltan_h``
    [h]); ``phasing`` and ``raan0_deg`` default to 0. ``kind = "elements"`` takes only
    ``sets``, a list of `ElementSet` tables.

    ``kind = "cluster"`` (`orbitwin_plugins.clusters`) needs ``altitude_km`` and
    ``inclination`` (with ``ltan_h`` or ``raan0_deg``, as a Walker shell) of the circular
    reference orbit, and either ``grid`` with ``spacing_m`` or ``offsets_m``. Every
    satellite starts at its offset from the reference, in the reference's frame (radial,
    along-track, cross-track) at the epoch, on the bounded, centred HCW relative orbit
    through it: in the orbital plane a 2:1 ellipse, the cluster turning as one body once
    an orbit, so neighbours ``spacing_m`` apart radially are ``2 spacing_m`` apart a
    quarter orbit later. A Suncatcher-like cluster, 81 satellites in the orbital plane,
    neighbours 100-200 m apart::

        [[orbit.shell]]
        kind = "cluster"
        altitude_km = 650
        inclination = "sso"
        ltan_h = 18.0
        grid = [9, 9]            # 9 radial x 9 along-track
        spacing_m = 100          # radial pitch; along-track pitch 200 m

    Checked: 1 to 10,000 satellites; no two closer than 10 m over an orbit (exactly, for
    the HCW motion); none farther than 50 km from the reference (linear theory).

    Attributes:
        kind: ``"walker_delta"`` (planes over 360 deg of node), ``"walker_star"`` (over
            180 deg), ``"elements"`` (explicit element sets) or ``"cluster"`` (a
            formation-flying cluster around one reference orbit).
        total: satellites in the shell (Walker T), at most 100,000,000.
        planes: orbital planes (Walker P), dividing total.
        phasing: Walker phasing F, 0 <= F < P: plane p+1 is ahead by 360 F / T deg.
        altitude_km: mean altitude above the equatorial radius [km] (of a cluster's
            reference orbit).
        inclination: degrees, or ``"sso"`` for the sun-synchronous inclination of the
            altitude (J2 nodal rate = the mean Sun's motion).
        raan0_deg: node of the first plane (a cluster's reference) at the epoch [deg]
            (not with ``"sso"``).
        ltan_h: local time of the ascending node [h], with ``inclination = "sso"``.
        sets: the element sets, with ``kind = "elements"``.
        grid: cluster only: ``[n_radial, n_along_track, n_cross_track]``, 1 to 3 whole
            numbers >= 1 (missing ones 1), at most 10,000 satellites, centred on the
            reference; radial pitch ``spacing_m``, along-track ``2 spacing_m`` (square
            in (radial, along-track / 2), the plane in which the cluster turns rigidly),
            cross-track ``spacing_m``, cross-track layers staggered in that plane by
            1/n_cross_track of a pitch each (they cross twice an orbit).
        offsets_m: cluster only, instead of grid: each satellite's ``[radial,
            along-track, cross-track]`` offset [m] from the reference at the epoch.
        spacing_m: cluster grid pitch [m] (with ``grid``): the closest neighbours'
            distance over an orbit for a one-layer grid; >= 10.
        j2_correction: cluster only (default true): solve each satellite's semi-major
            axis so that its J2 secular along-track rate equals the reference's (Schaub &
            Alfriend 2001); false keeps HCW's equal semi-major axes (Kepler only).
        mean_anomaly_deg: cluster only (default 0): the reference's argument of
            latitude at the epoch [deg] (circular, perigee at the node). Cross-track
            offsets given at 0 or 180 deg (at a node) are J2-invariant; elsewhere they
            need inclination differences, whose node drift the correction cannot stop.
        file: ``kind = "tle"`` or ``"omm"`` only: the element-set file (TLE, or CCSDS OMM
            in KVN, XML or JSON), relative to the scenario file's folder
            (`orbitwin_plugins.imported_orbits`).
        names: with ``file``: keep the sets whose name matches one of these fnmatch
            patterns (case-insensitive).
        catalog_numbers: with ``file``: keep the sets with these catalog numbers (with
            ``names`` too: a set matching either is kept).
    """

    kind: str = attrs.field(validator=one_of(KINDS))
    total: int | None = None
    planes: int | None = None
    phasing: int | None = None
    altitude_km: float | None = None
    inclination: Any = None
    raan0_deg: float | None = attrs.field(default=None, validator=_opt(finite))
    ltan_h: float | None = attrs.field(default=None, validator=_opt(in_range(0, 24, hi_open=True)))
    sets: list[ElementSet] | None = None
    grid: list[int] | None = None
    offsets_m: list[list[float]] | None = None
    spacing_m: float | None = attrs.field(default=None, validator=_opt(finite))
    j2_correction: bool | None = None
    mean_anomaly_deg: float | None = attrs.field(default=None, validator=_opt(finite))
    file: str | None = None
    names: list[str] | None = None
    catalog_numbers: list[int] | None = None
    _imported: tuple = attrs.field(default=(), init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        imported = self.kind in IMPORTED
        if not imported:
            for key in _IMPORT_KEYS:
                if getattr(self, key) is not None:
                    raise SpecValueError(key, getattr(self, key), "absent unless kind = 'tle' or 'omm'")
        else:
            for key in _WALKER_KEYS + _CLUSTER_KEYS + ("sets",):
                if getattr(self, key) is not None:
                    raise SpecValueError(key, getattr(self, key), f"absent when kind = '{self.kind}' (the "
                                         "satellites come from the element sets in 'file')")
            if not isinstance(self.file, str) or not self.file:
                raise SpecValueError("file", self.file, "the path of an element-set file (TLE or CCSDS OMM)")
            from orbitwin_plugins import imported_orbits

            object.__setattr__(self, "_imported", imported_orbits.read_sets(self.file, self.names,
                                                                            self.catalog_numbers, kind=self.kind))
            return
        if self.kind == "elements":
            for key in _WALKER_KEYS + _CLUSTER_KEYS:
                if getattr(self, key) is not None:
                    raise SpecValueError(key, getattr(self, key), "absent when kind = 'elements' "
                                         "(give each satellite's elements in 'sets')")
            if not self.sets:
                raise SpecValueError("sets", self.sets, "a non-empty list of element sets when kind = 'elements'")
            return
        cluster = self.kind == "cluster"
        if self.sets is not None:
            raise SpecValueError("sets", "[...]", f"absent when kind = '{self.kind}' "
                                 + ("(a cluster: give grid or offsets_m)" if cluster else "(a Walker shell)"))
        if cluster:
            for key in ("total", "planes", "phasing"):
                if getattr(self, key) is not None:
                    raise SpecValueError(key, getattr(self, key), "absent when kind = 'cluster' "
                                         "(give grid or offsets_m)")
        else:
            for key in _CLUSTER_KEYS:
                if getattr(self, key) is not None:
                    raise SpecValueError(key, getattr(self, key), "absent unless kind = 'cluster'")
        required = ("altitude_km", "inclination") if cluster else ("total", "planes", "altitude_km", "inclination")
        for key in required:
            if getattr(self, key) is None:
                raise SpecValueError(key, None, f"present (required when kind = '{self.kind}')")
        if not cluster:
            check_walker(self.total, self.planes, self.phasing or 0)
        check_altitude("altitude_km", self.altitude_km)
        if self.inclination == "sso":
            if self.ltan_h is None:
                raise SpecValueError("ltan_h", None, "present when inclination = 'sso' (local solar "
                                     "time of the ascending node, hours)")
            if self.raan0_deg is not None:
                raise SpecValueError("raan0_deg", self.raan0_deg, "absent when inclination = 'sso' "
                                     "(ltan_h places the first plane's node)")
            sun_synchronous_inclination_deg(self.altitude_km)
        else:
            inc = self.inclination
            if isinstance(inc, bool) or not isinstance(inc, (int, float)) or not 0 <= inc <= 180:
                raise SpecValueError("inclination", inc, "a number of degrees in [0, 180] or the string 'sso'")
            if self.ltan_h is not None:
                raise SpecValueError("ltan_h", self.ltan_h, "absent unless inclination = 'sso' "
                                     "(a shell of given inclination starts at raan0_deg)")
        if cluster:
            from orbitwin_plugins import clusters

            offsets = clusters.shell_offsets_m(self.grid, self.spacing_m, self.offsets_m)
            if np.any(offsets[:, 2] != 0.0) and abs(math.sin(math.radians(self._inclination_deg()))) < \
                    clusters.MIN_SIN_INCLINATION:
                raise SpecValueError("inclination", self.inclination, "away from 0 and 180 deg for a cluster "
                                     "with cross-track offsets (the node, which carries them, is undefined)")

    def _inclination_deg(self) -> float:
        return (sun_synchronous_inclination_deg(self.altitude_km) if self.inclination == "sso"
                else float(self.inclination))

    def _cluster(self, raan_deg: float) -> Elements:
        from orbitwin_plugins import clusters

        offsets = clusters.shell_offsets_m(self.grid, self.spacing_m, self.offsets_m, check=False)
        return clusters.cluster_elements(offsets, self.altitude_km, self._inclination_deg(), raan_deg,
                                         self.mean_anomaly_deg or 0.0,
                                         True if self.j2_correction is None else self.j2_correction)

    @property
    def imported_sets(self) -> tuple:
        """``kind = "tle"``/``"omm"``: the element sets read from ``file``
        (`orbitwin_plugins.elements_io.MeanElements`); empty for other kinds."""
        return self._imported

    def elements(self, epoch: _dt.datetime, frame: np.ndarray | None = None) -> Elements:
        """This shell's satellites (mean elements at ``epoch``) in the J2 propagator's frame
        ``r_F = frame r_ECI`` (`OrbitConfig.j2_pole`; ECI itself when None): a built
        shell's inclination and node are taken in that frame (its equator is the one J2
        acts about), a sun-synchronous node placed from the mean Sun's direction in it;
        imported sets are rotated into it."""
        if self.kind in IMPORTED:
            from orbitwin_plugins import imported_orbits

            imported_orbits.check_epochs(self._imported, epoch)
            return imported_orbits.j2_elements(self._imported, epoch, frame)
        if self.kind == "elements":
            return element_sets(self.sets)
        if self.kind == "cluster":
            raan = (raan_in_frame_deg(ltan_raan_deg(self.ltan_h, epoch), frame) if self.inclination == "sso"
                    else (self.raan0_deg or 0.0))
            return self._cluster(raan)
        star = self.kind == "walker_star"
        if self.inclination == "sso":
            return sun_synchronous(self.total, self.planes, self.phasing or 0, self.altitude_km,
                                   self.ltan_h, epoch, star=star, frame=frame)
        build = walker_star if star else walker_delta
        return build(self.total, self.planes, self.phasing or 0, self.altitude_km, float(self.inclination),
                     self.raan0_deg or 0.0)

    @property
    def max_eccentricity(self) -> float:
        if self.kind == "cluster":
            return float(self._cluster(0.0).eccentricity.max())
        if self.kind in IMPORTED:
            return max(s.eccentricity for s in self._imported)
        return max((s.eccentricity for s in self.sets), default=0.0) if self.kind == "elements" else 0.0

    @property
    def count(self) -> int:
        """Satellites in this shell, without building them."""
        if self.kind == "cluster":
            return math.prod(self.grid) if self.grid is not None else len(self.offsets_m)
        if self.kind in IMPORTED:
            return len(self._imported)
        return len(self.sets) if self.kind == "elements" else int(self.total)

    def orbit_shapes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(a [m], e, i [rad])`` of this shell's distinct orbits, one per element set or
        one for a whole Walker shell, with the values `elements` gives its satellites: what
        the J2 rates depend on, known without an array per satellite. A cluster's
        satellites differ in all three (at most 10,000 of them): one per satellite."""
        if self.kind == "cluster":
            el = self._cluster(0.0)  # the node does not enter a, e or i
            return el.semi_major_axis_m, el.eccentricity, el.inclination_rad
        if self.kind in IMPORTED:
            from orbitwin_plugins import imported_orbits

            el = imported_orbits.j2_elements(self._imported, self._imported[0].epoch.replace(tzinfo=None))
            return el.semi_major_axis_m, el.eccentricity, el.inclination_rad
        if self.kind == "elements":
            a, e, inc = ([getattr(s, k) for s in self.sets]
                         for k in ("semi_major_axis_m", "eccentricity", "inclination_deg"))
        else:
            a, e, inc = [R_EARTH_M + self.altitude_km * 1e3], [0.0], [self._inclination_deg()]
        return (np.asarray(a, dtype=np.float64), np.asarray(e, dtype=np.float64),
                np.deg2rad(np.asarray(inc, dtype=np.float64)))


@attrs.frozen
class OrbitConfig:
    """Table ``[orbit]``: a list of shells, ``[[orbit.shell]]``, satellites numbered shell
    by shell, plane by plane.

    Attributes:
        shell: the shells, one ``[[orbit.shell]]`` table each.
        propagator: ``"j2"`` (mean elements under secular J2, `orbitwin_plugins.orbit`)
            or ``"sgp4"`` (SGP4 in the kernel, for shells of ``kind = "tle"`` or
            ``"omm"`` only: `orbitwin_plugins.imported_orbits`).
        j2_pole: the axis J2 acts about in the J2 propagator: ``"true"`` (the default:
            the true pole of the run's epoch, precession and nutation, Earth's real axis
            and SGP4's), ``"mean"`` (the mean pole of the epoch: precession only) or
            ``"j2000"`` (the J2000 pole of orbitwin's ECI, 0.15 deg from the pole of 2026:
            what orbitwin did before, kept to reproduce old runs). Built shells'
            inclinations and nodes are relative to that pole's equator, and positions are
            rotated to ECI (`orbitwin_plugins.orbit_frames`); with the pole of date the
            node-rate error against SGP4 falls from 0.13-4 % to the J2 model's own floor
            (`tests/test_orbit_frames.py`). Not allowed with ``propagator = "sgp4"``.
    """

    shell: list[Shell]
    propagator: str = attrs.field(default="j2", validator=one_of(("j2", "sgp4")))
    j2_pole: str | None = attrs.field(default=None, validator=attrs.validators.optional(
        one_of(("true", "mean", "j2000"))))

    def __attrs_post_init__(self) -> None:
        if not self.shell:
            raise SpecValueError("shell", self.shell, "at least one [[orbit.shell]] table")
        if self.propagator == "sgp4" and self.j2_pole is not None:
            raise SpecValueError("j2_pole", self.j2_pole, "absent with propagator = 'sgp4' (it sets the J2 "
                                 "propagator's axis; SGP4 works in TEME of date)")
        if self.propagator == "sgp4":
            for k, sh in enumerate(self.shell):
                if sh.kind not in IMPORTED:
                    raise SpecValueError("propagator", self.propagator, "shells of kind 'tle' or 'omm' only "
                                         f"(orbit.shell[{k}] is kind '{sh.kind}': SGP4 propagates published "
                                         "element sets; use propagator = 'j2' for built shells)")
            from orbitwin_plugins import imported_orbits

            imported_orbits.check_near_earth(self.imported_sets)

    @property
    def imported_sets(self) -> tuple:
        """Every imported element set, in satellite order (``propagator = "sgp4"``)."""
        return tuple(s for sh in self.shell for s in sh.imported_sets)

    @property
    def pole(self) -> str:
        """The J2 propagator's pole (`j2_pole`, ``"true"`` when not given)."""
        return self.j2_pole or "true"

    def frame(self, epoch: _dt.datetime) -> np.ndarray | None:
        """``R`` with ``r_F = R r_ECI`` for the J2 propagator's frame (`pole`), None for
        ECI itself (the J2000 pole, or SGP4, which has its own frame)."""
        if self.propagator == "sgp4" or self.pole == "j2000":
            return None
        from orbitwin_plugins.orbit_frames import j2_frame_matrix

        return j2_frame_matrix(epoch.replace(tzinfo=None), self.pole)

    def elements(self, epoch: _dt.datetime) -> tuple[Elements, np.ndarray]:
        """Every satellite's mean elements (in the J2 propagator's frame, `frame`), and
        each one's shell index."""
        frame = self.frame(epoch)
        return Elements.concatenate([s.elements(epoch, frame) for s in self.shell])

    @property
    def count(self) -> int:
        """Satellites in the constellation, without building them."""
        return sum(s.count for s in self.shell)
