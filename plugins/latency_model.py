"""Service latency: round-trip time from users on the ground to compute in orbit. Pure numpy,
no taichi, no hooks: the reference model. Runs use the kernels of
`orbitwin_plugins.latency_kernels`, which reproduce these functions to 1e-12 s
(``tests/test_latency_kernels.py``; ``docs/latency.md``, "Where it runs").

Users are the bundled agglomerations of ``data/user_locations.csv`` (UN DESA World
Urbanization Prospects 2018) or the scenario's own, ``[latency]`` (`LatencyConfig`)::

    [latency]
    locations = ["tokyo", "delhi"]      # bundled names; neither key given: every bundled location
    min_elevation_deg = 25              # user terminal mask
    [[latency.location]]
    name = "my-town"
    latitude_deg = 45.0
    longitude_deg = 7.0

Model
-----
Geometry as in `orbitwin_plugins.ground`: users on the WGS 84 ellipsoid (ECEF), satellites
taken from ECI with ``r_ECEF = M^T r_ECI`` (``M`` = ``ground.ecef_to_eci``), elevation
against the ellipsoid normal ``u``: ``sin(el) = (r - s) . u / |r - s|``. A satellite
serves a user when ``el >= min_elevation_deg``.

Round trips (``c`` in vacuum, ``v_f = c / n_g`` in fibre; each delay ``D`` counted once
per direction per node passed)::

    direct: RTT = 2 (rho_e / c + D_ut + D_sat)                    e: nearest visible satellite
    path:   RTT = min_e 2 (rho_e / c + D_ut + D_sat + T_e)        e: visible, T_e: links to the work
    ground: RTT = min_g,e 2 (k d_ug / v_f + D_gw + rho_ge / c + D_sat + T_e)
    fibre:  RTT = 2 k d / v_f                                      terrestrial data center

``T_e`` is the one-way time from satellite ``e`` to the nearest satellite holding the
work over the links up, each link costing ``L / c + D_sat`` (the next satellite's switch):
Bellman-Ford from the holders (`shortest_delay_s`). ``d`` is the great-circle distance on
the mean sphere, ``k`` the fibre route factor. No satellite in view (or no route): NaN,
"no service", never a number.
"""

from __future__ import annotations

import csv
import difflib
import functools
import re
from importlib import resources
from typing import Any

import attrs
import numpy as np

from orbitwin_plugins.ground import geodetic_to_ecef
from twin_core.validators import SpecValueError, in_range, non_negative

# --------------------------------------------------------------------------------------
# constants, each with its source
# --------------------------------------------------------------------------------------

#: Speed of light in vacuum [m s-1], exact (SI 1983; CODATA 2018).
SPEED_OF_LIGHT_M_S = 299792458.0
#: Group index of standard single-mode fibre at 1550 nm [1]: Corning SMF-28 Ultra product
#: information sheet, "effective group index of refraction" 1.4682 at 1550 nm (1.4676 at 1310 nm).
FIBRE_GROUP_INDEX = 1.4682
#: Signal speed in fibre [m s-1]: ``c / FIBRE_GROUP_INDEX`` (0.681 c, 4.90 us/km).
FIBRE_SPEED_M_S = SPEED_OF_LIGHT_M_S / FIBRE_GROUP_INDEX
#: Fibre route factor [1]: Internet latency ~ line-of-sight distance x 2.1 / speed in fibre,
#: the rule of thumb from measurement campaigns quoted by Bozkurt et al., "Dissecting Latency in
#: the Internet's Fiber Infrastructure", arXiv:1811.10737 (2018); the shortest paths through
#: the US long-haul conduits alone would give 1.3 (median over the 120 largest US population
#: centres, same paper). The measured 2.1 includes routing policy and router delays, so the
#: terrestrial legs carry no further per-hop delay.
ROUTE_FACTOR = 2.1
#: Mean Earth radius [m] for great-circle distances: IUGG mean radius R1 of GRS 80
#: (Moritz, "Geodetic Reference System 1980", J. Geodesy 74, 2000).
R_MEAN_M = 6371008.8
#: User terminal elevation mask [deg]: the 25 deg minimum elevation of SpaceX's Gen1 user
#: terminals, FCC Order and Authorization DA/FCC 21-48 (April 2021; also in the 2019 order
#: FCC 19-30 for the 550 km shell).
USER_MIN_ELEVATION_DEG = 25.0
#: Gateway elevation mask [deg]. ASSUMPTION: as the user terminals (the same FCC order lowered
#: the gateways' minimum elevation together with the users').
GATEWAY_MIN_ELEVATION_DEG = 25.0
#: Delay in the user terminal per direction [s]. ASSUMPTION: modem framing, FEC and access
#: scheduling of a broadband satellite terminal, of order 1 ms (frames of a few ms at DVB-S2
#: rates, partly pipelined); queuing is not modelled.
USER_TERMINAL_DELAY_S = 1.0e-3
#: Delay in each satellite passed, per direction [s]. ASSUMPTION: an on-board regenerative packet
#: switch, 0.1 ms (terrestrial core routers forward in tens of us; a radiation-tolerant
#: processor and the optical terminal's framing add some).
SATELLITE_SWITCH_DELAY_S = 1.0e-4
#: Delay in a ground gateway per direction [s]. ASSUMPTION: gateway modem and its point of
#: presence, 1 ms, as the user terminal.
GATEWAY_DELAY_S = 1.0e-3
#: Terrestrial data center for the comparison: Ashburn, Virginia (39.04 N, 77.49 W), the
#: largest data-center market (Northern Virginia). A choice, stated.
DATA_CENTER = ("ashburn", 39.04, -77.49)

DATA_FILE = "user_locations.csv"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


# --------------------------------------------------------------------------------------
# locations and configuration
# --------------------------------------------------------------------------------------


def _slug(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, str) or not _NAME.match(value):
        raise SpecValueError(attribute.name, value, "a name of lower-case letters, digits and '-'")


@attrs.frozen
class LocationSpec:
    """One user location: a ``[[latency.location]]`` table or a row of the bundled file.

    Attributes:
        name: unique key (lower case, digits, ``-``).
        latitude_deg: geodetic latitude, WGS 84 [deg], in [-90, 90].
        longitude_deg: longitude, east positive [deg], in [-180, 180].
        altitude_m: height above the ellipsoid [m] (default 0).
        population: persons (default 0: unknown; for weighting only).
    """

    name: str = attrs.field(validator=_slug)
    latitude_deg: float = attrs.field(validator=in_range(-90, 90))
    longitude_deg: float = attrs.field(validator=in_range(-180, 180))
    altitude_m: float = attrs.field(default=0.0, validator=in_range(-500, 9000))
    population: float = attrs.field(default=0.0, validator=non_negative)


class LocationFileError(ValueError):
    """A row of a location file does not validate: names the file, the line and the key."""

    def __init__(self, file: str, line: int, key: str, message: str):
        self.file, self.line, self.key = file, line, key
        super().__init__(f"{file}, line {line}: key '{key}': {message}")


def load_locations(text: str, file: str = DATA_FILE) -> dict[str, LocationSpec]:
    """Locations of a CSV text (``#`` lines are comments), by name in file order; every row
    validated (`LocationFileError` names the file, line and key)."""
    lines = text.splitlines()
    body = [(n, s) for n, s in enumerate(lines, 1) if s.strip() and not s.lstrip().startswith("#")]
    if not body:
        raise LocationFileError(file, 1, "name", "no header row")
    header_line = body[0][0]
    reader = csv.DictReader([s for _n, s in body])
    out: dict[str, LocationSpec] = {}
    for (line, _s), row in zip(body[1:], reader):
        key = "name"
        try:
            name = row["name"]
            values = {}
            for key in ("latitude_deg", "longitude_deg", "population"):
                values[key] = float(row[key])
            spec = LocationSpec(name=name, **values)
        except SpecValueError as exc:
            raise LocationFileError(file, line, exc.key, str(exc)) from None
        except (KeyError, TypeError, ValueError) as exc:
            raise LocationFileError(file, line, key, f"missing or not a number ({exc})") from None
        if name in out:
            raise LocationFileError(file, line, "name", f"'{name}' repeats an earlier row")
        out[name] = spec
    if not out:
        raise LocationFileError(file, header_line, "name", "no location rows")
    return out


@functools.lru_cache(maxsize=1)
def bundled_locations() -> dict[str, LocationSpec]:
    """The locations of ``data/user_locations.csv`` by name, in file order (largest first)."""
    text = resources.files("orbitwin_plugins").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    return load_locations(text, DATA_FILE)


def _compute_value(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """``compute``: ``"any"`` or a non-empty list of distinct satellite indices (>= 0)."""
    expected = "\"any\" or a non-empty list of distinct satellite indices (whole numbers >= 0)"
    if isinstance(value, str):
        if value != "any":
            raise SpecValueError(attribute.name, value, expected)
        return
    if not isinstance(value, (list, tuple)) or not value:
        raise SpecValueError(attribute.name, value, expected)
    for j, x in enumerate(value):
        if isinstance(x, bool) or not isinstance(x, int) or x < 0:
            raise SpecValueError(f"{attribute.name}[{j}]", x, "a satellite index (a whole number >= 0)")
    if len(set(value)) != len(value):
        raise SpecValueError(attribute.name, value, "distinct satellite indices (one repeats)")


@attrs.frozen
class LatencyConfig:
    """Table ``[latency]``: who the users are and the stated constants of the model.

    Attributes:
        locations: bundled location names (``data/user_locations.csv``), numbered first;
            with no ``locations`` and no ``location`` tables, every bundled location.
        location: the scenario's own locations (`LocationSpec`), numbered after.
        min_elevation_deg: user terminal mask [deg] (25, `USER_MIN_ELEVATION_DEG`).
        gateway_min_elevation_deg: gateway mask [deg] (25, an assumption).
        route_factor: fibre path length over great-circle distance [1] (2.1, `ROUTE_FACTOR`).
        user_terminal_delay_s, satellite_switch_delay_s, gateway_delay_s: per-node delays
            per direction [s] (assumptions, see the constants).
        data_center_latitude_deg, data_center_longitude_deg: the terrestrial data center of
            the comparison [deg] (Ashburn, Virginia).
        compute: which satellites hold the work: ``"any"`` (every satellite carries
            compute: a user's work runs on its entry satellite, the direct round trip) or a
            list of satellite indices (users reach the nearest of them over the links from
            their entry satellite, or through a ground station and fibre). The indices are
            checked against the constellation when a run starts.
    """

    locations: list[str] = attrs.field(factory=list)
    location: list[LocationSpec] = attrs.field(factory=list)
    min_elevation_deg: float = attrs.field(default=USER_MIN_ELEVATION_DEG, validator=in_range(0, 90, hi_open=True))
    gateway_min_elevation_deg: float = attrs.field(default=GATEWAY_MIN_ELEVATION_DEG,
                                                   validator=in_range(0, 90, hi_open=True))
    route_factor: float = attrs.field(default=ROUTE_FACTOR, validator=in_range(1, 10))
    user_terminal_delay_s: float = attrs.field(default=USER_TERMINAL_DELAY_S, validator=in_range(0, 1))
    satellite_switch_delay_s: float = attrs.field(default=SATELLITE_SWITCH_DELAY_S, validator=in_range(0, 1))
    gateway_delay_s: float = attrs.field(default=GATEWAY_DELAY_S, validator=in_range(0, 1))
    data_center_latitude_deg: float = attrs.field(default=DATA_CENTER[1], validator=in_range(-90, 90))
    data_center_longitude_deg: float = attrs.field(default=DATA_CENTER[2], validator=in_range(-180, 180))
    compute: Any = attrs.field(default="any", validator=_compute_value)

    @property
    def holders(self) -> list[int] | None:
        """The satellites holding the work (``compute``), or None for ``"any"``."""
        return None if isinstance(self.compute, str) else list(self.compute)

    def __attrs_post_init__(self) -> None:
        known = bundled_locations()
        for i, name in enumerate(self.locations):
            if name not in known:
                close = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.5)
                hint = f"did you mean '{close[0]}'? " if close else ""
                raise SpecValueError(f"locations[{i}]", name, f"a bundled location ({hint}see {DATA_FILE})")
        seen: set[str] = set()
        for key, spec in self.keyed_specs():
            if spec.name in seen:
                raise SpecValueError(key, spec.name, "a name not used by another location")
            seen.add(spec.name)

    def keyed_specs(self) -> list[tuple[str, LocationSpec]]:
        """Every location with the key naming it, in user order."""
        known = bundled_locations()
        if not self.locations and not self.location:
            return [(f"{DATA_FILE}:{n}", s) for n, s in known.items()]
        return ([(f"locations[{i}]", known[n]) for i, n in enumerate(self.locations)]
                + [(f"location[{j}].name", s) for j, s in enumerate(self.location)])

    def specs(self) -> list[LocationSpec]:
        return [s for _k, s in self.keyed_specs()]


# --------------------------------------------------------------------------------------
# geometry
# --------------------------------------------------------------------------------------


def users_ecef(specs: list[LocationSpec]) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(u, 3)`` [m] and ellipsoid normals ``(u, 3)`` of the users (WGS 84)."""
    s, up = geodetic_to_ecef([x.latitude_deg for x in specs], [x.longitude_deg for x in specs],
                             [x.altitude_m for x in specs])
    return s.reshape(-1, 3), up.reshape(-1, 3)


def eci_to_ecef(r_eci_m: Any, ecef_to_eci: Any) -> np.ndarray:
    """``r_ECEF = M^T r_ECI`` for positions ``(..., 3)``; ``M`` as ``(3, 3)`` or the common
    series' row-major ``(9,)`` (`orbitwin_plugins.ground.ecef_to_eci_matrix`)."""
    m = np.asarray(ecef_to_eci, np.float64).reshape(3, 3)
    return np.asarray(r_eci_m, np.float64) @ m


def look(site_ecef_m: Any, site_up: Any, sat_ecef_m: Any) -> tuple[np.ndarray, np.ndarray]:
    """Slant range [m] and ``sin(elevation)`` of every satellite from every site: ``(u, s)``."""
    rho = np.asarray(sat_ecef_m, np.float64)[None, :, :] - np.asarray(site_ecef_m, np.float64)[:, None, :]
    rng = np.linalg.norm(rho, axis=-1)
    return rng, np.einsum("usk,uk->us", rho, np.asarray(site_up, np.float64)) / rng


def elevation_deg(sin_el: Any) -> np.ndarray:
    return np.degrees(np.arcsin(np.clip(np.asarray(sin_el, np.float64), -1.0, 1.0)))


def visible(sin_el: Any, min_elevation_deg: Any = USER_MIN_ELEVATION_DEG) -> np.ndarray:
    """Boolean ``(u, s)``: the satellite is at or above the mask (scalar or per site ``(u,)``)."""
    mask = np.sin(np.radians(np.asarray(min_elevation_deg, np.float64)))
    return np.asarray(sin_el) >= np.reshape(mask, (-1, 1)) if np.ndim(mask) else np.asarray(sin_el) >= mask


def great_circle_m(lat1_deg: Any, lon1_deg: Any, lat2_deg: Any, lon2_deg: Any) -> np.ndarray:
    """Great-circle distance on the mean sphere (`R_MEAN_M`), haversine, broadcasting [m]."""
    p1, p2 = np.radians(lat1_deg), np.radians(lat2_deg)
    dl = np.radians(np.asarray(lon2_deg, np.float64) - np.asarray(lon1_deg, np.float64))
    h = np.sin(0.5 * (p2 - p1)) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(0.5 * dl) ** 2
    return 2.0 * R_MEAN_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


# --------------------------------------------------------------------------------------
# the link graph: Bellman-Ford over an edge list
# --------------------------------------------------------------------------------------


def shortest_delay_s(n: int, a: Any, b: Any, length_m: Any, up: Any, holders: Any,
                     switch_delay_s: float = SATELLITE_SWITCH_DELAY_S,
                     max_iter: int | None = None) -> tuple[np.ndarray, int]:
    """One-way time [s] from each satellite to the nearest holder of the work over the links
    up (undirected; a link costs ``length / c + switch_delay_s``): ``(T (n,), sweeps)``,
    ``inf`` where no route. ``holders``: index, indices or boolean mask ``(n,)``.

    Bellman-Ford, Jacobi form: each sweep relaxes every link both ways from the previous
    sweep's times (a scatter-min, ``np.minimum.at``; in taichi, one kernel over the link
    slots with ``ti.atomic_min`` into a second buffer and a changed flag), repeated until
    nothing changes: at most ``n - 1`` sweeps, in practice the hop depth of the
    shortest-path tree. Deterministic: min is exact and order-free.
    """
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    on = np.asarray(up, bool)
    a, b = a[on], b[on]
    w = np.asarray(length_m, np.float64)[on] / SPEED_OF_LIGHT_M_S + switch_delay_s
    h = np.asarray(holders)
    t = np.full(n, np.inf)
    if h.dtype == bool:
        t[h] = 0.0
    else:
        t[np.atleast_1d(h).astype(np.int64)] = 0.0
    limit = max(n - 1, 0) if max_iter is None else max_iter
    sweeps = 0
    while sweeps < limit:
        new = t.copy()
        np.minimum.at(new, b, t[a] + w)
        np.minimum.at(new, a, t[b] + w)
        sweeps += 1
        if np.array_equal(new, t):
            break
        t = new
    return t, sweeps


# --------------------------------------------------------------------------------------
# round trips
# --------------------------------------------------------------------------------------


def _nan_min(x: np.ndarray, axis: int) -> np.ndarray:
    """Min along ``axis`` with inf (no route) as NaN (no service)."""
    m = np.min(x, axis=axis) if x.shape[axis] else np.full(np.delete(x.shape, axis), np.inf)
    return np.where(np.isfinite(m), m, np.nan)


def direct_rtt_s(slant_m: Any, sin_el: Any, min_elevation_deg: Any = USER_MIN_ELEVATION_DEG,
                 user_terminal_delay_s: float = USER_TERMINAL_DELAY_S,
                 switch_delay_s: float = SATELLITE_SWITCH_DELAY_S) -> np.ndarray:
    """RTT [s] per user ``(u,)`` to compute on the nearest visible satellite:
    ``2 (rho / c + D_ut + D_sat)``; NaN with none in view."""
    rho = np.where(visible(sin_el, min_elevation_deg), np.asarray(slant_m, np.float64), np.inf)
    return 2.0 * (_nan_min(rho, 1) / SPEED_OF_LIGHT_M_S + user_terminal_delay_s + switch_delay_s)


def path_rtt_s(slant_m: Any, sin_el: Any, delay_to_work_s: Any, min_elevation_deg: Any = USER_MIN_ELEVATION_DEG,
               user_terminal_delay_s: float = USER_TERMINAL_DELAY_S,
               switch_delay_s: float = SATELLITE_SWITCH_DELAY_S) -> np.ndarray:
    """RTT [s] per user via the best entry satellite and the links: ``min_e 2 (rho_e / c +
    D_ut + D_sat + T_e)`` over visible ``e`` (``T`` from `shortest_delay_s`); NaN when no
    satellite is in view or none in view has a route."""
    one = (np.asarray(slant_m, np.float64) / SPEED_OF_LIGHT_M_S + np.asarray(delay_to_work_s, np.float64)[None, :])
    one = np.where(visible(sin_el, min_elevation_deg), one, np.inf)
    return 2.0 * (_nan_min(one, 1) + user_terminal_delay_s + switch_delay_s)


def ground_rtt_s(user_lat_deg: Any, user_lon_deg: Any, station_lat_deg: Any, station_lon_deg: Any,
                 station_alt_m: Any, sat_ecef_m: Any, delay_to_work_s: Any,
                 min_elevation_deg: Any = GATEWAY_MIN_ELEVATION_DEG, route_factor: float = ROUTE_FACTOR,
                 gateway_delay_s: float = GATEWAY_DELAY_S,
                 switch_delay_s: float = SATELLITE_SWITCH_DELAY_S) -> np.ndarray:
    """RTT [s] per user over terrestrial fibre to a ground station, up to a satellite it
    sees and over the links to the work: ``min_g,e 2 (k d_ug / v_f + D_gw + rho_ge / c +
    D_sat + T_e)``; NaN when no station has a route. ``T_e = 0`` on the holders (with no
    links: ``delay_to_work_s`` 0 on the holders, inf elsewhere)."""
    s, up = geodetic_to_ecef(np.atleast_1d(station_lat_deg), np.atleast_1d(station_lon_deg),
                             np.broadcast_to(station_alt_m, np.shape(np.atleast_1d(station_lat_deg))))
    rng, sin_el = look(s.reshape(-1, 3), up.reshape(-1, 3), sat_ecef_m)
    leg = rng / SPEED_OF_LIGHT_M_S + np.asarray(delay_to_work_s, np.float64)[None, :]
    best_up = np.min(np.where(visible(sin_el, min_elevation_deg), leg, np.inf), axis=1, initial=np.inf)  # (g,)
    d = great_circle_m(np.asarray(user_lat_deg, np.float64)[:, None], np.asarray(user_lon_deg, np.float64)[:, None],
                       np.atleast_1d(station_lat_deg)[None, :], np.atleast_1d(station_lon_deg)[None, :])
    one = route_factor * d / FIBRE_SPEED_M_S + gateway_delay_s + switch_delay_s + best_up[None, :]
    return 2.0 * _nan_min(one, 1)


def terrestrial_rtt_s(user_lat_deg: Any, user_lon_deg: Any, data_center_lat_deg: float = DATA_CENTER[1],
                      data_center_lon_deg: float = DATA_CENTER[2], route_factor: float = ROUTE_FACTOR) -> np.ndarray:
    """RTT [s] over terrestrial fibre to a data center: ``2 k d / v_f`` (router delays are in
    the measured route factor)."""
    d = great_circle_m(user_lat_deg, user_lon_deg, data_center_lat_deg, data_center_lon_deg)
    return 2.0 * route_factor * d / FIBRE_SPEED_M_S


def best_rtt_s(*routes: Any) -> np.ndarray:
    """Per user, the fastest of the routes given (arrays of equal shape); NaN where none serves."""
    return functools.reduce(np.fmin, [np.asarray(r, np.float64) for r in routes])


# --------------------------------------------------------------------------------------
# totals
# --------------------------------------------------------------------------------------


def percentiles(rtt_s: Any, q: Any = (50, 90, 99), axis: int | None = None) -> np.ndarray:
    """Percentiles of the RTTs with no-service (NaN) left out: over every entry (``axis``
    None: users, or users x steps pooled) or along ``axis``; NaN where nothing is served."""
    x = np.asarray(rtt_s, np.float64)
    qs = np.asarray(q, np.float64)
    if axis is None:
        x = x[np.isfinite(x)]
        return np.percentile(x, qs) if x.size else np.full(qs.shape, np.nan)
    ok = np.isfinite(x).any(axis=axis)
    filled = np.where(np.isfinite(x), x, np.nan)
    safe = np.where(np.expand_dims(ok, axis), filled, 0.0)
    return np.where(ok, np.nanpercentile(safe, qs, axis=axis), np.nan)


def service_share(rtt_s: Any, axis: int = 0) -> np.ndarray:
    """Share of entries along ``axis`` (steps, by default axis 0 of ``(time, user)``) with
    service (a finite RTT), per user."""
    return np.mean(np.isfinite(np.asarray(rtt_s, np.float64)), axis=axis)


__all__ = [
    "DATA_CENTER", "FIBRE_GROUP_INDEX", "FIBRE_SPEED_M_S", "GATEWAY_DELAY_S", "GATEWAY_MIN_ELEVATION_DEG",
    "LatencyConfig", "LocationFileError", "LocationSpec", "R_MEAN_M", "ROUTE_FACTOR", "SATELLITE_SWITCH_DELAY_S",
    "SPEED_OF_LIGHT_M_S", "USER_MIN_ELEVATION_DEG", "USER_TERMINAL_DELAY_S", "best_rtt_s", "bundled_locations",
    "direct_rtt_s", "eci_to_ecef", "elevation_deg", "great_circle_m", "ground_rtt_s", "load_locations", "look",
    "path_rtt_s", "percentiles", "service_share", "shortest_delay_s", "terrestrial_rtt_s", "users_ecef", "visible",
]
