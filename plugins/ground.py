"""Ground plugin: which ground station each satellite can downlink to, and how much it sends.

Written as a third-party plugin would be: it reads only ``orbit.r_eci_m`` (the interface
the orbit plugin provides) and the scenario table ``[ground]``; the plugin is inactive
when the scenario has no such table.

Scenario table ``[ground]``::

    [ground]
    stations = ["svalbard", "izana-ogs"]    # bundled stations (data/ground_stations.csv)
    ut1_minus_utc_s = 0.0                   # optional: UT1 - UTC from IERS Bulletin A
    inference_output_bps = 0.0              # optional: results per satellite while inferring (0: off)
    buffer_bits = 8.0e12                    # optional: on-board storage for results (1 TB)

    [[ground.station]]                      # custom stations, any number
    name = "my-site"
    latitude_deg = 45.0                     # geodetic, WGS 84
    longitude_deg = 7.0                     # east positive
    altitude_m = 300                        # above the WGS 84 ellipsoid
    min_elevation_deg = 10                  # optional: 5 (rf) or 15 (optical)
    terminal = "optical"                    # "rf" (default) or "optical"
    rate_bps = 1.0e10                       # optional: 5.6e8 (rf) or 1e10 (optical)
    clear_sky_fraction = 0.6                # required for optical: the site's cloud-free share

Stations are numbered in the order given: the bundled ones of ``stations``, then the
``[[ground.station]]`` tables.

Model
-----
Frames. Satellites are in orbitwin's ECI frame, the mean equator and equinox of J2000
(`orbitwin_plugins.ephemeris`). Stations are fixed in the Earth-fixed frame (ECEF, WGS 84).
The rotation from ECEF to ECI is a common series, computed on the host for every step::

    r_ECI = P(T)^T R3(-GMST) r_ECEF          ground.ecef_to_eci (row-major 3x3)

``GMST`` is the IAU 1982 Greenwich mean sidereal time (Aoki et al. 1982; Vallado,
Fundamentals of Astrodynamics and Applications, 4th ed., 2013, eq. 3-47), in seconds of
time with ``T`` Julian centuries of UT1 since J2000.0::

    GMST = 67310.54841 s + (876600 h + 8640184.812866 s) T + 0.093104 s T^2 - 6.2e-6 s T^3

``P = R3(-z_A) R2(theta_A) R3(-zeta_A)`` is the IAU 1976 precession from J2000 to the mean
equator and equinox of date (Lieske et al. 1977; Vallado eq. 3-88), the same matrix the
solar ephemeris uses. ``R3(a)`` is the frame rotation about z by ``a``.

Station position (WGS 84, NIMA TR8350.2 eq. 4-14; Vallado eq. 3-7), geodetic latitude
``phi``, longitude ``lam``, ellipsoidal height ``h``, ``N = a / sqrt(1 - e^2 sin^2 phi)``::

    s = ((N + h) cos phi cos lam, (N + h) cos phi sin lam, (N (1 - e^2) + h) sin phi)
    u = (cos phi cos lam, cos phi sin lam, sin phi)       the ellipsoid normal (local up)

Elevation of a satellite at ``r`` (ECEF) above the station's horizon, with respect to
the ellipsoid normal (Vallado sec. 4.4, the SEZ frame)::

    rho = r - s,   sin(el) = rho . u / |rho|

The satellite is visible from the station when ``el >= min_elevation_deg``. Of the visible
stations, the satellite is served by the one with the highest expected rate
``rate_bps x clear_sky_fraction`` (1 for rf), ties broken by the highest elevation, then
the lowest index. Outputs per satellite and step:

``ground.station`` (i32)
    index of the serving station, -1 when none is visible.
``ground.elevation_deg`` (f32, degree)
    elevation of the serving station, -90 when none.
``ground.downlink_bps`` (f64, bit s-1)
    ``rate_bps x clear_sky_fraction`` of the serving station, 0 when none: the expected
    rate, cloud outages averaged over (the link is either up at the full rate or down).
``ground.downlinked_bits`` (f64, bit, state)
    ``bits(t) = bits(t - dt) + downlink_bps(t) dt``: the right-point rule of the step
    convention (a step labelled t covers (t - dt, t]); unchanged at the epoch (dt = 0).

Metrics (every step): ``ground.total_downlink_bps`` (sum of the rates),
``ground.contact_fraction`` (share of satellites served) and, per station,
``ground.served_fraction_<name>`` (share served by it; its rate is that share x
satellites x its expected rate). ``orbitwin info`` shows the volume per day (TB/day), the
share of satellite-time in contact and each station's share and volume. See
``docs/ground.md``.

Inference output (store and forward; off unless ``inference_output_bps > 0``, which needs
the payload plugin). Inference results must come down to the ground: each satellite keeps
them in an on-board buffer of ``buffer_bits`` (`BUFFER_BITS` by default) until a station
takes them. Stage ``ground.buffer`` (after ``ground.contact``, before the payload's
stages), per satellite and step of length ``dt``::

    produced = inference_output_bps x f x dt,    f = clip(flops' / F_inf, 0, 1) if state' <= 2, else 0
    drained  = min(B(t - dt) + produced, downlink_bps(t) dt)
    B(t)     = min(B(t - dt) + produced - drained, buffer_bits)        ground.buffer_bits (state)
    dropped += max(B(t - dt) + produced - drained - buffer_bits, 0)     ground.dropped_bits (state)
    delivered += drained                                                ground.delivered_bits (state)
    payload_cap = 1 (idle) if B(t) >= buffer_bits - inference_output_bps x step_s, else 3

``state'`` and ``flops'`` are ``payload.state`` and ``payload.flops`` of the PREVIOUS step
(``reads_previous``): a ONE-STEP LAG, the output of the step ending at ``t - dt`` enters
the buffer in the step ending at ``t`` (so the last step's output of a run is never
counted). ``F_inf = count x peak x inference_throughput`` is the full inference
throughput (`inference_flops`); ``f`` scales the output with the compute delivered:
fewer accelerators available, or a power-capped step between idle and inference, give
less. Training (state 3) produces nothing to downlink: its results (weights,
checkpoints) stay in orbit or go over the crosslinks. A power-capped training step that
the payload records as state 2 counts as inference (the recorded state is what counts;
its ``f`` is then 1 or the available share). ``f`` carries the float32 rounding of
``payload.flops`` (1e-7). ``drained`` is taken from what is stored with the output
entering this step: output can leave in the step it enters the buffer.

The cap: ``ground.payload_cap`` is contributed to ``payload.requested_state`` (a min, reason
"downlink-limited") when the buffer is on and ``[payload] workload = "inference"``; it
holds the payload at idle while less than one step's output (at full throughput, a
``step_s`` step) is free, so with the cap the buffer never overflows. The state codes are
ordered off < idle < inference < training and the limit is a minimum, so no cap can
forbid inference and still allow training: with ``workload = "training"`` the cap is
not contributed (it is still written, and counted by ``ground.buffer_full_fraction``),
and output of steps the payload infers in anyway (the default policy stepping down for
the battery or temperature, another plugin's limit) fills the buffer and then is
discarded, counted in ``ground.dropped_bits``. Metrics: ``ground.buffered_bits`` (sum of
the buffers) and ``ground.buffer_full_fraction`` (share of satellites with
``payload_cap = 1``). ``ground.downlinked_bits`` stays the volume the link offers (it
also carries telemetry and anything else); the results' share of it is
``ground.delivered_bits``. Limits: no priority between satellites at a station (each
gets the station's full rate, as above), no data ageing or deadline (results wait as long
as it takes, first-in-first-out is not tracked), no compression or on-board filtering
beyond ``inference_output_bps``, the same rate for every inference job, no forwarding
over crosslinks to a satellite in contact, and the cap works at step granularity (the
payload idles a whole step, then infers a whole step, around a full buffer in contact).

The coarse index (latitude bands). Testing every station for every satellite costs
stations x satellites per step. Instead, on the host, the stations are put in bands of
geocentric latitude of width ``W`` (`BandIndex`), and a satellite tests only the stations
of its own band and of the bands within its reach. A station can only see a satellite
whose geocentric direction lies within the visibility half-angle (Earth central angle)

    lambda(r) = acos(rho_min cos(e_c) / r) - e_c

of its own, with ``rho_min`` the smallest geocentric radius of the stations, ``e_c`` the
lowest minimum elevation less 0.2 deg (the geodetic normal and the geocentric radius
differ by at most 0.1924 deg, at 45 deg latitude) and ``r`` the satellite's radius;
lambda grows with ``r`` and falls with ``rho`` and ``e_c``, so it bounds every station.
Latitudes differ by no more than the central angle, so a satellite in band ``b`` needs
only bands ``b - m .. b + m`` with ``m W >= lambda(r)``. ``W`` is chosen from the
highest apogee of the constellation (from ``orbit.semi_major_axis_m`` and
``orbit.eccentricity`` when the orbit plugin provides them, else 2,000 km altitude):
``W = 180 deg / floor(180 deg / lambda(r_max))`` >= lambda(r_max), so ``m = 1``, the own
and the adjacent bands. A satellite higher than that widens its reach (``m = 2, 3, ...``
above precomputed radii): the index never misses a station, whatever the orbits. Band
and reach are found by comparisons with precomputed sines and radii (no trigonometry
per satellite-step). 550 km and a 5 deg mask give lambda = 19.1 deg, nine bands of
20 deg: a satellite tests about a third of the stations, fewer where stations cluster
by latitude. Longitude is not indexed: within the bands, each candidate costs one dot
product and a square root.

The station table is compiled into the kernel as constants (unrolled per band), since
a plugin cannot allocate fields of its own: code size and compile time grow with the
number of stations (hundreds are fine; thousands would want a field-based table).

Assumptions and limits
----------------------
- Earth orientation: nutation (up to 17 arcsec in longitude, 9 arcsec in obliquity) and
  polar motion (< 0.5 arcsec) are ignored: the pole is tilted by up to about 10 arcsec
  (0.003 deg; the equation of the equinoxes and nutation's rotation about the pole
  mostly cancel). The station then sits up to about 0.3 km from its true place in ECI,
  which moves the elevation by up to about 0.3 km / range: 0.03 deg for a satellite
  550 km overhead, 0.01 deg near a 10 deg horizon (range ~1,800 km). Frame bias (23
  mas) and the IAU 2006 precession update (mas) are negligible.
- Time: the scenario's UTC is used as UT1 plus ``ut1_minus_utc_s`` (default 0). With
  leap seconds |UT1 - UTC| < 0.9 s (1972 to 2035; from 2035 the difference is to grow,
  CGPM 2022 Resolution 4): 0.9 s is 0.0038 deg of Earth rotation, up to 0.4 km at the
  equator, so up to 0.04 deg of elevation overhead at 550 km and about 0.1 s of contact
  timing. UTC as TT in the precession: 69 s of precession, nothing.
- Station heights are ellipsoidal; sources usually give heights above sea level (the
  geoid differs by < 110 m): < 0.01 deg of elevation.
- Geometry only: no refraction (which raises a satellite near the horizon by about
  0.5 deg at 0 deg, 0.1 deg at 5 deg), no terrain mask beyond ``min_elevation_deg``,
  no link budget (the rate does not fall with range or elevation), no slew or
  acquisition time, no Sun-exclusion for optical stations.
- Cloud: an optical station's availability is its long-run clear-sky share, applied as
  an expected rate at every step; real outages last hours and are correlated between
  nearby sites, so the variance of the daily volume is not modelled.
- Capacity: a station serves any number of satellites at once (no antenna count).
  A per-station ``antennas`` limit would couple satellites to each other within a step
  (who gets the antenna), which a per-satellite stage cannot do; with many satellites
  per station the downlink is overestimated. The satellite's own terminal is always
  free and ``downlink_bps`` is what the link offers, whatever is stored (the inference
  output buffer above takes only what it holds).

Validation: ``tests/test_ground.py`` (GMST and the rotation against astropy's sidereal
time and ITRS -> GCRS; elevation and contact windows against astropy's AltAz; the band
index against a brute-force search; configuration errors; the integrated volume; the
output buffer's fill time, downlink-limited cap, draining and discarding against its
numpy integration, `buffer_numpy`).
"""

from __future__ import annotations

import csv
import datetime as _dt
import difflib
import functools
import math
import re
from importlib import resources
from typing import Any

import attrs
import numpy as np

from orbitwin_plugins.constants import R_EARTH_M
from orbitwin_plugins.ephemeris import DAYS_PER_CENTURY, days_since_j2000, precession_matrix
from twin_core import CommonSeries, Contribution, Metric, ScenarioError, Stage, ValidRange, Variable, hookimpl
from twin_core.validators import SpecValueError, in_range, non_negative, one_of, positive

# --------------------------------------------------------------------------------------
# constants, each with its source
# --------------------------------------------------------------------------------------

#: WGS 84 flattening [1] (NIMA TR8350.2, 3rd ed., 2000); the semi-major axis is
#: `orbitwin_plugins.constants.R_EARTH_M`.
WGS84_F = 1.0 / 298.257223563
#: WGS 84 first eccentricity squared [1], ``f (2 - f)``.
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)

#: Downlink rate of an RF (X-band) station [bit s-1]: Sentinel-2's payload downlink, two
#: 280 Mbit/s X-band streams (ESA, GSC Sentinel-2 PDGS Operations Concept Document,
#: GMES-GSEG-EOPG-TN-09-0008, 2010). A Ka-band link reaches a few Gbit/s; set ``rate_bps``.
RF_RATE_BPS = 5.6e8
#: Downlink rate of an optical station [bit s-1]: the "up to 10 Gbps" of current optical
#: terminals (del Portillo, Sanchez, Cameron & Crawley, "Architecting the ground segment
#: of an optical space communication network", IEEE Aerospace Conference 2016); NASA's
#: TBIRD reached 200 Gbit/s bursts to OCTL in 2023, so this is a conservative class value.
OPTICAL_RATE_BPS = 1.0e10
#: Elevation mask of an RF station [deg]. ASSUMPTION: a typical X-band acquisition mask
#: over an open horizon; real masks are 0-10 deg and vary with azimuth.
RF_MIN_ELEVATION_DEG = 5.0
#: Elevation mask of an optical station [deg]. ASSUMPTION: air mass and turbulence grow
#: fast near the horizon; NICT's Koganei OGS tracks from 10 deg, and LEO optical links are
#: usually planned above 15-20 deg.
OPTICAL_MIN_ELEVATION_DEG = 15.0
#: Altitude of the orbit used to size the latitude bands when no orbit elements are
#: available [m]: the top of low Earth orbit (a sizing choice; higher satellites widen
#: their reach, so nothing is missed).
DESIGN_ALTITUDE_M = 2.0e6
#: Margin between the geodetic normal and the geocentric radius [deg]: their largest
#: difference is 0.1924 deg, at 45 deg latitude (WGS 84).
NORMAL_MARGIN_DEG = 0.2
#: Extra margin on the visibility half-angle against rounding in the band tests [deg].
ANGLE_MARGIN_DEG = 0.05

#: On-board storage for inference results awaiting downlink [bit]. ASSUMPTION: 1 TB, within
#: the 440 GB to 4.5 TB of current space-grade NAND-flash data recorders (Mercury Systems'
#: 3U VPX space data recorders, white paper "Advancing Signal and Data Processing for Space
#: Payloads", Mercury Systems and Micron); set ``buffer_bits`` for your recorder.
BUFFER_BITS = 8.0e12
#: Label of the limit on ``payload.requested_state`` while the output buffer is full.
DOWNLINK_LIMITED = "downlink-limited"
#: Payload state codes (`orbitwin_plugins.payload`): idle, inference, training.
_IDLE, _INFERENCE, _TRAINING = 1, 2, 3

TERMINALS = ("rf", "optical")
DATA_FILE = "ground_stations.csv"

_DEG = math.pi / 180.0


def sanitize(name: str) -> str:
    """A station name as it appears in metric names: lower case, runs of anything but
    ``a-z0-9`` as one ``_``, no leading or trailing ``_`` (``"izana-ogs"`` -> ``izana_ogs``)."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _opt(check):
    def wrapped(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value is not None:
            check(instance, attribute, value)
    return wrapped


def _station_name(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, str) or not sanitize(value):
        raise SpecValueError(attribute.name, value, "a name with at least one letter or digit")


# --------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------


@attrs.frozen
class StationSpec:
    """One ground station: a ``[[ground.station]]`` table, or a row of the bundled file.

    Attributes:
        name: unique name; metric names use it in lower case with ``_`` for anything
            but letters and digits.
        latitude_deg: geodetic latitude, WGS 84 [deg].
        longitude_deg: longitude, east positive [deg].
        altitude_m: height above the WGS 84 ellipsoid [m] (default 0).
        min_elevation_deg: elevation mask [deg]; default 5 for ``rf``
            (`RF_MIN_ELEVATION_DEG`), 15 for ``optical`` (`OPTICAL_MIN_ELEVATION_DEG`),
            both assumptions.
        terminal: ``"rf"`` or ``"optical"``.
        rate_bps: downlink rate while in contact [bit/s]; default 5.6e8 for ``rf``
            (`RF_RATE_BPS`, Sentinel-2's X-band), 1e10 for ``optical`` (`OPTICAL_RATE_BPS`).
        clear_sky_fraction: share of the time the sky is clear enough for the link [1];
            required for ``optical`` (from a cloud climatology of the site), default 1
            for ``rf`` (set it below 1 for rain fade at Ka-band).
        source: where the figures come from (free text; the bundled file cites each).
    """

    name: str = attrs.field(validator=_station_name)
    latitude_deg: float = attrs.field(validator=in_range(-90, 90))
    longitude_deg: float = attrs.field(validator=in_range(-180, 180))
    altitude_m: float = attrs.field(default=0.0, validator=in_range(-500, 9000))
    min_elevation_deg: float | None = attrs.field(default=None, validator=_opt(in_range(0, 90, hi_open=True)))
    terminal: str = attrs.field(default="rf", validator=one_of(TERMINALS))
    rate_bps: float | None = attrs.field(default=None, validator=_opt(positive))
    clear_sky_fraction: float | None = attrs.field(default=None, validator=_opt(in_range(0, 1)))
    source: str = ""

    def __attrs_post_init__(self) -> None:
        if self.terminal == "optical" and self.clear_sky_fraction is None:
            raise SpecValueError("clear_sky_fraction", None,
                                 "a share in [0, 1] for an optical terminal: the site's cloud-free share "
                                 "from a cloud climatology (Izaña: 0.686)")

    @property
    def elevation_mask_deg(self) -> float:
        """The elevation mask with its default applied [deg]."""
        if self.min_elevation_deg is not None:
            return float(self.min_elevation_deg)
        return RF_MIN_ELEVATION_DEG if self.terminal == "rf" else OPTICAL_MIN_ELEVATION_DEG

    @property
    def rate(self) -> float:
        """The rate with its default applied [bit/s]."""
        if self.rate_bps is not None:
            return float(self.rate_bps)
        return RF_RATE_BPS if self.terminal == "rf" else OPTICAL_RATE_BPS

    @property
    def availability(self) -> float:
        """The clear-sky share with its default applied [1]."""
        return 1.0 if self.clear_sky_fraction is None else float(self.clear_sky_fraction)

    @property
    def expected_rate_bps(self) -> float:
        """``rate x availability`` [bit/s]: what a satellite served by it downlinks."""
        return self.rate * self.availability


@functools.lru_cache(maxsize=1)
def bundled_stations() -> dict[str, StationSpec]:
    """The stations of ``data/ground_stations.csv`` by name, in file order."""
    text = resources.files("orbitwin_plugins").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    out: dict[str, StationSpec] = {}
    for row in csv.DictReader(text.splitlines()):
        out[row["name"]] = StationSpec(
            name=row["name"], latitude_deg=float(row["latitude_deg"]), longitude_deg=float(row["longitude_deg"]),
            altitude_m=float(row["altitude_m"]), min_elevation_deg=float(row["min_elevation_deg"]),
            terminal=row["terminal"], rate_bps=float(row["rate_bps"]),
            clear_sky_fraction=float(row["clear_sky_fraction"]), source=row["source"])
    return out


@attrs.frozen
class GroundConfig:
    """Table ``[ground]``: the ground stations the satellites downlink to (the plugin is
    inactive without this table; it needs at least one station).

    Attributes:
        stations: names of bundled stations (``data/ground_stations.csv``: svalbard,
            kiruna, fairbanks, wallops, santiago, malargue, troll, izana-ogs, octl,
            mount-stromlo), numbered first.
        station: custom stations, one ``[[ground.station]]`` table each (`StationSpec`),
            numbered after the bundled ones.
        ut1_minus_utc_s: UT1 - UTC [s] for the Earth's rotation, constant over the run
            (IERS Bulletin A gives it); default 0, UTC taken as UT1 (an error below 0.9 s
            while leap seconds keep it there, 1972-2035).
        inference_output_bps: results a satellite produces while it runs inference at
            full inference throughput [bit/s], stored on board until downlinked; default
            0, no output buffer (the module docstring's "Inference output").
        buffer_bits: on-board storage for results awaiting downlink [bit]; default 8e12
            (1 TB, `BUFFER_BITS`, an assumption).
    """

    stations: list[str] = attrs.field(factory=list)
    station: list[StationSpec] = attrs.field(factory=list)
    ut1_minus_utc_s: float = attrs.field(default=0.0, validator=in_range(-60, 60))
    inference_output_bps: float = attrs.field(default=0.0, validator=non_negative)
    buffer_bits: float = attrs.field(default=BUFFER_BITS, validator=positive)

    def __attrs_post_init__(self) -> None:
        known = bundled_stations()
        for i, name in enumerate(self.stations):
            if name not in known:
                close = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.5)
                hint = f"did you mean '{close[0]}'? " if close else ""
                raise SpecValueError(f"stations[{i}]", name,
                                     f"a bundled station ({hint}known: {', '.join(known)})")
        seen: dict[str, str] = {}
        for key, spec in self.keyed_specs():
            other = seen.get(sanitize(spec.name))
            if other is not None:
                raise SpecValueError(key, spec.name, f"a name not used by another station (as {other})")
            seen[sanitize(spec.name)] = key

    def keyed_specs(self) -> list[tuple[str, StationSpec]]:
        """Every station with the key that names it in the scenario, in station order."""
        known = bundled_stations()
        return ([(f"stations[{i}]", known[n]) for i, n in enumerate(self.stations)]
                + [(f"station[{j}].name", s) for j, s in enumerate(self.station)])

    def specs(self) -> list[StationSpec]:
        """Every station, in station order (bundled, then custom)."""
        return [s for _k, s in self.keyed_specs()]


# --------------------------------------------------------------------------------------
# Earth orientation (host, numpy)
# --------------------------------------------------------------------------------------


def gmst_rad(t_s: Any, epoch: _dt.datetime, ut1_minus_utc_s: float = 0.0) -> np.ndarray:
    """Greenwich mean sidereal time, IAU 1982 (Vallado 4th ed. eq. 3-47), in [0, 2 pi).

    ``t_s`` are seconds since the UTC ``epoch``; UT1 = UTC + ``ut1_minus_utc_s``. The
    ``876600 h T`` term is ``86400 s x d`` (``d`` UT1 days since J2000.0), so only the
    fraction of ``d`` enters it, which keeps float64 at 0.1 ms of time.
    """
    d = days_since_j2000(np.asarray(t_s, dtype=np.float64) + ut1_minus_utc_s, epoch)
    T = d / DAYS_PER_CENTURY
    sec = 67310.54841 + 86400.0 * np.mod(d, 1.0) + 8640184.812866 * T + 0.093104 * T**2 - 6.2e-6 * T**3
    return np.mod(sec, 86400.0) * (2.0 * math.pi / 86400.0)


def ecef_to_eci_matrix(t_s: Any, epoch: _dt.datetime, ut1_minus_utc_s: float = 0.0) -> np.ndarray:
    """``M`` with ``r_ECI = M r_ECEF``: ``P(T)^T R3(-GMST)`` (module docstring), shape
    ``(k, 3, 3)`` for ``k`` times (seconds since ``epoch``)."""
    t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
    th = gmst_rad(t, epoch, ut1_minus_utc_s)
    c, s = np.cos(th), np.sin(th)
    rot = np.zeros(t.shape + (3, 3))
    rot[..., 0, 0], rot[..., 0, 1] = c, -s
    rot[..., 1, 0], rot[..., 1, 1] = s, c
    rot[..., 2, 2] = 1.0
    p = precession_matrix(days_since_j2000(t, epoch) / DAYS_PER_CENTURY)
    return np.einsum("kji,kjl->kil", p, rot)


class RotationSeries:
    """The common series ``ground.ecef_to_eci``: ``compute(t_s)`` -> ``(k, 9)``."""

    def __init__(self, epoch: _dt.datetime | None, ut1_minus_utc_s: float = 0.0):
        self.epoch, self.dut1 = epoch, ut1_minus_utc_s

    def __call__(self, t_s: np.ndarray) -> np.ndarray:
        if self.epoch is None:
            raise RuntimeError("ground: the rotation series was declared without a scenario (no epoch)")
        m = ecef_to_eci_matrix(t_s, self.epoch, self.dut1)
        return m.reshape(m.shape[0], 9)


# --------------------------------------------------------------------------------------
# stations, elevation, serving station (numpy reference)
# --------------------------------------------------------------------------------------


def geodetic_to_ecef(lat_deg: Any, lon_deg: Any, h_m: Any) -> tuple[np.ndarray, np.ndarray]:
    """WGS 84 position ``s`` [m] and unit normal ``u`` (local up), shapes ``(..., 3)``."""
    phi, lam = np.radians(np.asarray(lat_deg, np.float64)), np.radians(np.asarray(lon_deg, np.float64))
    h = np.asarray(h_m, np.float64)
    n = R_EARTH_M / np.sqrt(1.0 - WGS84_E2 * np.sin(phi) ** 2)
    s = np.stack([(n + h) * np.cos(phi) * np.cos(lam), (n + h) * np.cos(phi) * np.sin(lam),
                  (n * (1.0 - WGS84_E2) + h) * np.sin(phi)], axis=-1)
    u = np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=-1)
    return s, u


@attrs.frozen
class StationTable:
    """The run's stations as arrays (station order)."""

    names: tuple[str, ...]
    ecef_m: np.ndarray          # (n, 3)
    up: np.ndarray              # (n, 3)
    sin_min_elevation: np.ndarray  # (n,)
    min_elevation_deg: np.ndarray  # (n,)
    expected_rate_bps: np.ndarray  # (n,) rate x availability

    @classmethod
    def from_specs(cls, specs: list[StationSpec]) -> "StationTable":
        s, u = geodetic_to_ecef([x.latitude_deg for x in specs], [x.longitude_deg for x in specs],
                                [x.altitude_m for x in specs])
        el = np.array([x.elevation_mask_deg for x in specs], dtype=np.float64)
        return cls(names=tuple(x.name for x in specs), ecef_m=s.reshape(-1, 3), up=u.reshape(-1, 3),
                   sin_min_elevation=np.sin(np.radians(el)), min_elevation_deg=el,
                   expected_rate_bps=np.array([x.expected_rate_bps for x in specs], dtype=np.float64))

    def __len__(self) -> int:
        return len(self.names)


def sin_elevation_numpy(r_ecef: np.ndarray, table: StationTable) -> np.ndarray:
    """``sin(el)`` of each position (``(..., 3)``, ECEF) from each station: ``(..., n)``."""
    rho = np.asarray(r_ecef, np.float64)[..., None, :] - table.ecef_m
    return np.sum(rho * table.up, axis=-1) / np.linalg.norm(rho, axis=-1)


def serve_numpy(r_ecef: np.ndarray, table: StationTable,
                candidates: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The serving station by brute force over every station (or only where the boolean
    ``candidates`` mask, shape ``(..., n)``, is true): ``(station, elevation_deg,
    downlink_bps)`` with -1, -90 and 0 where none is visible."""
    r = np.asarray(r_ecef, np.float64)
    rho = r[..., None, :] - table.ecef_m
    dn = np.sum(rho * table.up, axis=-1)
    dist = np.linalg.norm(rho, axis=-1)
    visible = dn >= table.sin_min_elevation * dist
    if candidates is not None:
        visible &= candidates
    sin_el = dn / dist
    n = len(table)
    # order: highest expected rate, then highest elevation, then lowest index
    score = np.where(visible, table.expected_rate_bps, -np.inf)
    best_score = score.max(axis=-1, keepdims=True)
    tied = visible & (score == best_score)
    sel = np.where(tied, sin_el, -np.inf)
    best_sin = sel.max(axis=-1, keepdims=True)
    final = tied & (sel == best_sin)
    idx = np.where(final.any(axis=-1), np.argmax(final, axis=-1), -1).astype(np.int32)
    any_vis = idx >= 0
    safe = np.where(any_vis, idx, 0)
    s_best = np.take_along_axis(sin_el, safe[..., None], axis=-1)[..., 0]
    elev = np.where(any_vis, np.degrees(np.arcsin(np.clip(s_best, -1.0, 1.0))), -90.0)
    rate = np.where(any_vis, table.expected_rate_bps[safe] if n else 0.0, 0.0)
    return idx, elev, rate


# --------------------------------------------------------------------------------------
# the latitude-band index
# --------------------------------------------------------------------------------------


def visibility_half_angle_rad(r_m: Any, rho_m: float, elevation_rad: float) -> np.ndarray:
    """Earth central angle from a station at geocentric radius ``rho_m`` to a satellite at
    radius ``r_m`` seen at elevation ``elevation_rad`` above the geocentric horizon:
    ``acos(rho cos(e) / r) - e`` (Vallado sec. 11.3; Wertz & Larson, SMAD 3rd ed., eq. 5-15
    written for a station on a sphere)."""
    x = np.clip(rho_m * math.cos(elevation_rad) / np.asarray(r_m, np.float64), -1.0, 1.0)
    return np.arccos(x) - elevation_rad


@attrs.frozen
class BandIndex:
    """Stations bucketed by geocentric latitude (module docstring).

    Attributes:
        n_bands: number of bands; band ``b`` covers latitudes
            ``[-90 + b W, -90 + (b + 1) W)`` (the last one includes +90).
        width_deg: ``W = 180 / n_bands`` [deg].
        sin_bounds: sines of the ``n_bands - 1`` inner boundaries, ascending: a point's
            band is the number of them at or below the sine of its latitude.
        members: station indices of each band, ascending.
        reach_radii_m: ``r_q`` for ``q = 1, 2, ...``: a satellite farther than ``r_q``
            from the Earth's centre needs ``q + 1`` bands on each side (``m = 1 +`` the
            count of radii below its radius); radii that would need a reach beyond the
            poles are left out.
    """

    n_bands: int
    width_deg: float
    sin_bounds: tuple[float, ...]
    members: tuple[tuple[int, ...], ...]
    reach_radii_m: tuple[float, ...]

    def band(self, sin_lat: Any) -> np.ndarray:
        """The band of each point with geocentric latitude sine ``sin_lat``."""
        return np.searchsorted(np.asarray(self.sin_bounds), np.asarray(sin_lat), side="right").astype(np.int32)

    def reach(self, r_m: Any) -> np.ndarray:
        """Bands to scan on each side, ``m``, of satellites at radius ``r_m``."""
        r = np.asarray(r_m, np.float64)
        return 1 + np.sum(r[..., None] > np.asarray(self.reach_radii_m), axis=-1)

    def candidates(self, r_ecef: np.ndarray, n_stations: int) -> np.ndarray:
        """Boolean mask ``(..., n_stations)``: the stations a satellite at ``r_ecef`` tests."""
        r = np.asarray(r_ecef, np.float64)
        rn = np.linalg.norm(r, axis=-1)
        b, m = self.band(r[..., 2] / rn), self.reach(rn)
        station_band = np.empty(n_stations, np.int32)
        for k, mem in enumerate(self.members):
            station_band[list(mem)] = k
        return np.abs(station_band - b[..., None]) <= m[..., None]


def build_band_index(table: StationTable, r_design_m: float) -> BandIndex:
    """The latitude bands for ``table``, sized for satellites up to ``r_design_m``."""
    rho = np.linalg.norm(table.ecef_m, axis=-1)
    rho_min = float(rho.min())
    e_c = math.radians(float(table.min_elevation_deg.min()) - NORMAL_MARGIN_DEG)
    margin = math.radians(ANGLE_MARGIN_DEG)
    lam = float(visibility_half_angle_rad(max(r_design_m, rho_min), rho_min, e_c)) + margin
    n_bands = max(1, int(math.floor(math.pi / max(lam, 1e-3))))
    w = math.pi / n_bands
    sin_bounds = tuple(math.sin(-0.5 * math.pi + w * k) for k in range(1, n_bands))
    sin_lat = table.ecef_m[:, 2] / rho
    band = np.searchsorted(np.asarray(sin_bounds), sin_lat, side="right")
    members = tuple(tuple(int(j) for j in np.flatnonzero(band == b)) for b in range(n_bands))
    radii = []
    for q in range(1, n_bands):
        a = q * w - margin + e_c  # lambda(r_q) + margin = q W
        if a >= 0.5 * math.pi:
            break
        radii.append(rho_min * math.cos(e_c) / math.cos(a))
    return BandIndex(n_bands=n_bands, width_deg=math.degrees(w), sin_bounds=sin_bounds, members=members,
                     reach_radii_m=tuple(radii))


def serve_indexed_numpy(r_ecef: np.ndarray, table: StationTable,
                        index: BandIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`serve_numpy` over only the candidates of the band index (what the stage does)."""
    return serve_numpy(r_ecef, table, index.candidates(r_ecef, len(table)))


def design_radius_m(state: Any) -> float:
    """The highest apogee radius of the satellites of this process when the orbit plugin
    provides its elements (``orbit.semi_major_axis_m``, ``orbit.eccentricity``), else
    `DESIGN_ALTITUDE_M` above the equatorial radius. Only sizes the bands."""
    fallback = R_EARTH_M + DESIGN_ALTITUDE_M
    if not (state.has("orbit.semi_major_axis_m") and state.has("orbit.eccentricity")):
        return fallback
    a = np.asarray(state.get("orbit.semi_major_axis_m"), np.float64)
    e = np.asarray(state.get("orbit.eccentricity"), np.float64)
    r = a * (1.0 + e)
    r = r[np.isfinite(r)]
    if r.size == 0 or r.max() <= R_EARTH_M:  # placeholders (orbitwin validate)
        return fallback
    return float(r.max())


# --------------------------------------------------------------------------------------
# hooks
# --------------------------------------------------------------------------------------

_VARIABLES = (
    Variable("ground.station", "1", "index of the ground station serving the satellite (the visible one with "
             "the highest rate x clear-sky share), -1 when none is visible", "output", dtype="i32"),
    Variable("ground.elevation_deg", "degree", "elevation of the satellite above the serving station's horizon "
             "(ellipsoid normal), -90 when none", "output", dtype="f32"),
    Variable("ground.downlink_bps", "bit s-1", "expected downlink rate: the serving station's rate x its "
             "clear-sky share, 0 when none", "output", dtype="f64"),
    Variable("ground.downlinked_bits", "bit", "data downlinked since the epoch (ground.downlink_bps integrated "
             "over each step)", "state", dtype="f64"),
)


_BUFFER_VARIABLES = (
    Variable("ground.buffer_bits", "bit", "inference results stored on board awaiting downlink (0 to "
             "[ground] buffer_bits)", "state", dtype="f64"),
    Variable("ground.delivered_bits", "bit", "inference results downlinked since the epoch", "state", dtype="f64"),
    Variable("ground.dropped_bits", "bit", "inference results discarded since the epoch because the buffer was "
             "full", "state", dtype="f64"),
    Variable("ground.payload_cap", "1", "highest payload state the output buffer allows: 1 (idle) when it is full "
             "(less than one step's output free), else 3 (no limit); a limit only with workload = 'inference'",
             "output", dtype="i8", record=False),
)


def _active(scenario: Any) -> bool:
    return scenario is not None and scenario.has_table("ground")


def _config(scenario: Any) -> GroundConfig:
    cfg = scenario.section("ground")
    if not cfg.specs():
        raise ScenarioError(scenario.path, "ground", "no ground station",
                            hint="name bundled stations in ground.stations (" + ", ".join(bundled_stations())
                                 + ") or add [[ground.station]] tables")
    if cfg.inference_output_bps > 0 and scenario.section("payload") is None:
        raise ScenarioError(scenario.path, "ground.inference_output_bps", "inference output needs a payload that "
                            "infers, and the scenario has no [payload] table", cfg.inference_output_bps,
                            hint="add [payload], or leave inference_output_bps at 0")
    return cfg


def _buffered(scenario: Any) -> bool:
    """Whether the output buffer is on: ``[ground] inference_output_bps > 0``."""
    return _active(scenario) and _config(scenario).inference_output_bps > 0


def _capping(scenario: Any) -> bool:
    """Whether a full buffer limits the payload: the buffer is on and the workload is
    inference (a cap cannot forbid inference and allow training; module docstring)."""
    return _buffered(scenario) and getattr(scenario.section("payload"), "workload", None) == "inference"


def inference_flops(payload_cfg: Any) -> float:
    """Full inference throughput of one satellite [FLOP/s]: ``count x peak x
    inference_throughput``, what ``payload.flops`` is in the inference state with every
    accelerator available (`orbitwin_plugins.payload`)."""
    return float(payload_cfg.count * payload_cfg.hardware.peak_bf16_flops * payload_cfg.inference_throughput)


def full_threshold_bits(cfg: GroundConfig, step_s: float) -> float:
    """The buffer is full at or above ``buffer_bits - inference_output_bps x step_s``: one
    more step of inference would not fit."""
    return cfg.buffer_bits - cfg.inference_output_bps * step_s


def buffer_numpy(out_bps: float, buffer_bits: float, f_inf: float, state_prev: Any, flops_prev: Any,
                 downlink_bps: Any, dt: float, b0: Any = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The output buffer over steps (axis 0) in numpy, as the stage integrates it: from
    the payload's state and flops of the previous step and the downlink rate of this
    one, ``(buffer, delivered, dropped)`` after each step (cumulative), starting from
    ``b0``."""
    s = np.asarray(state_prev)
    if f_inf > 0:
        frac = np.where(s <= _INFERENCE, np.clip(np.asarray(flops_prev, np.float64) / f_inf, 0.0, 1.0), 0.0)
    else:
        frac = (s == _INFERENCE).astype(np.float64)
    rate = np.asarray(downlink_bps, np.float64)
    b = np.broadcast_to(np.asarray(b0, np.float64), frac.shape[1:]).copy()
    out_b, out_del, out_drop = (np.zeros(frac.shape) for _ in range(3))
    delivered, dropped = np.zeros_like(b), np.zeros_like(b)
    for k in range(frac.shape[0]):
        have = b + out_bps * frac[k] * dt
        drained = np.minimum(have, rate[k] * dt)
        b = have - drained
        dropped = dropped + np.maximum(b - buffer_bits, 0.0)
        b = np.minimum(b, buffer_bits)
        delivered = delivered + drained
        out_b[k], out_del[k], out_drop[k] = b, delivered, dropped
    return out_b, out_del, out_drop


@hookimpl
def orbitwin_config_sections() -> dict[str, type]:
    return {"ground": GroundConfig}


@hookimpl
def orbitwin_variables(scenario: Any) -> list[Variable] | None:
    if scenario is not None and not _active(scenario):
        return None
    if scenario is not None:
        _config(scenario)
    if scenario is None or _buffered(scenario):
        return list(_VARIABLES + _BUFFER_VARIABLES)
    return list(_VARIABLES)


@hookimpl
def orbitwin_contributions(scenario: Any) -> list[Contribution] | None:
    """A full output buffer limits ``payload.requested_state`` to idle (reason
    "downlink-limited"), only with ``inference_output_bps > 0`` and the inference workload."""
    if not _capping(scenario):
        return None
    return [Contribution("payload.requested_state", "ground.payload_cap", reason=DOWNLINK_LIMITED)]


@hookimpl
def orbitwin_common_series(scenario: Any) -> list[CommonSeries] | None:
    if scenario is not None and not _active(scenario):
        return None
    epoch = scenario.run.epoch if scenario is not None else None
    dut1 = scenario.section("ground").ut1_minus_utc_s if scenario is not None else 0.0
    return [CommonSeries("ground.ecef_to_eci", "1", "rotation from the Earth-fixed frame (WGS 84) to ECI (mean "
                         "J2000): GMST (IAU 1982) and IAU 1976 precession, row-major 3x3",
                         compute=RotationSeries(epoch, dut1), shape=(9,))]


@hookimpl
def orbitwin_metrics(scenario: Any) -> list[Metric] | None:
    if not _active(scenario):
        return None
    out = [
        Metric("ground.total_downlink_bps", "ground.downlink_bps", "sum", "bit s-1",
               "expected downlink rate of all satellites to the ground"),
        Metric("ground.contact_fraction", "ground.station", "fraction_above", "1",
               "share of satellites with a ground station in view", threshold=-0.5),
    ]
    for j, spec in enumerate(_config(scenario).specs()):
        # one metric per station: each is compiled into the kernel, so compile time grows
        # with their number; the rate into a station is this share x satellites x its rate
        out.append(Metric(f"ground.served_fraction_{sanitize(spec.name)}", "ground.station", "fraction_equal", "1",
                          f"share of satellites served by station {spec.name} (in view and chosen; each "
                          f"downlinks {spec.expected_rate_bps:.4g} bit/s to it)", threshold=float(j)))
    if _buffered(scenario):
        out += [Metric("ground.buffered_bits", "ground.buffer_bits", "sum", "bit",
                       "inference results stored on board awaiting downlink, all satellites"),
                Metric("ground.buffer_full_fraction", "ground.payload_cap", "fraction_below", "1",
                       "share of satellites whose output buffer is full (less than one step's output free)",
                       threshold=1.5)]
    return out


@hookimpl
def orbitwin_validity(scenario: Any) -> list[ValidRange] | None:
    """UTC stands for UT1 (plus ``ut1_minus_utc_s``): |UT1 - UTC| < 0.9 s only while leap
    seconds keep it there (from 1972; the CGPM decided in 2022 to let it grow from 2035)."""
    if not _active(scenario):
        return None
    return [ValidRange(
        model="Earth rotation with UTC taken as UT1",
        start=_dt.datetime(1972, 1, 1, tzinfo=_dt.timezone.utc),
        end=_dt.datetime(2035, 12, 31, 23, 59, 59, tzinfo=_dt.timezone.utc),
        holds="|UT1 - UTC| < 0.9 s (IERS leap seconds): under 0.004 deg of Earth rotation, 0.04 deg of elevation",
        outside="UT1 - UTC is not kept under 0.9 s (no leap seconds before 1972 nor, by CGPM 2022 Resolution 4, "
                "after 2035): set ground.ut1_minus_utc_s")]


@hookimpl
def orbitwin_initial_state(scenario: Any, state: Any) -> None:
    if not _active(scenario):
        return
    for name in ("ground.downlinked_bits", "ground.buffer_bits", "ground.delivered_bits", "ground.dropped_bits"):
        if state.has(name):
            state.set(name, np.zeros(state.n_total))


@hookimpl
def orbitwin_stages(scenario: Any, state: Any) -> list[Stage] | None:
    if not _active(scenario):
        return None
    import taichi as ti

    table = StationTable.from_specs(_config(scenario).specs())
    index = build_band_index(table, design_radius_m(state))
    r_f = state.field("orbit.r_eci_m")
    rot_f = state.common("ground.ecef_to_eci")
    st_f, el_f = state.field("ground.station"), state.field("ground.elevation_deg")
    rate_f, bits_f = state.field("ground.downlink_bps"), state.field("ground.downlinked_bits")

    # constants compiled into the kernel (Python floats, unrolled per band)
    SX, SY, SZ = ([float(v) for v in table.ecef_m[:, c]] for c in range(3))
    UX, UY, UZ = ([float(v) for v in table.up[:, c]] for c in range(3))
    SINMIN = [float(v) for v in table.sin_min_elevation]
    SCORE = [float(v) for v in table.expected_rate_bps]
    BOUNDS = [float(v) for v in index.sin_bounds]
    RADII = [float(v) for v in index.reach_radii_m]
    MEMBERS = index.members
    NB = index.n_bands
    RAD2DEG = 180.0 / math.pi
    gated = state.has("sat.active")  # a satellite not yet deployed (twin_core.activity) has no contact
    active_f = state.field("sat.active") if gated else st_f

    @ti.func
    def ground_step(i, k, t, dt):
        m = rot_f[k]
        r = r_f[i]
        # r_ECEF = M^T r_ECI
        x = m[0] * r[0] + m[3] * r[1] + m[6] * r[2]
        y = m[1] * r[0] + m[4] * r[1] + m[7] * r[2]
        z = m[2] * r[0] + m[5] * r[1] + m[8] * r[2]
        rn = ti.sqrt(x * x + y * y + z * z)
        sin_lat = z / rn
        b = 0
        for q in ti.static(range(len(BOUNDS))):
            if sin_lat >= BOUNDS[q]:
                b += 1
        reach = 1
        for q in ti.static(range(len(RADII))):
            if rn > RADII[q]:
                reach += 1
        lo, hi = b - reach, b + reach
        best = -1
        best_score = -1.0
        best_sin = -2.0
        for bb in ti.static(range(NB)):
            if lo <= bb and bb <= hi:
                for j in ti.static(MEMBERS[bb]):
                    dx, dy, dz = x - SX[j], y - SY[j], z - SZ[j]
                    dn = dx * UX[j] + dy * UY[j] + dz * UZ[j]
                    dist = ti.sqrt(dx * dx + dy * dy + dz * dz)
                    if dn >= SINMIN[j] * dist:
                        s = dn / dist
                        if SCORE[j] > best_score or (SCORE[j] == best_score and (
                                s > best_sin or (s == best_sin and j < best))):
                            best, best_score, best_sin = j, SCORE[j], s
        rate = 0.0
        elev = -90.0
        if ti.static(gated):
            if active_f[i] == 0:
                best = -1
        if best >= 0:
            rate = best_score
            elev = ti.asin(ti.min(ti.max(best_sin, -1.0), 1.0)) * RAD2DEG
        st_f[i] = best
        el_f[i] = ti.cast(elev, ti.f32)
        rate_f[i] = rate
        bits_f[i] += rate * dt

    stages = [Stage("ground.contact", ground_step,
                    writes=["ground.station", "ground.elevation_deg", "ground.downlink_bps", "ground.downlinked_bits"],
                    reads=["orbit.r_eci_m", "ground.ecef_to_eci"] + (["sat.active"] if gated else []))]
    if _buffered(scenario):
        stages.append(_buffer_stage(scenario, state))
    return stages


def _buffer_stage(scenario: Any, state: Any) -> Stage:
    """The output buffer (module docstring, "Inference output")."""
    import taichi as ti

    cfg = _config(scenario)
    if not (state.has("payload.state") and state.has("payload.flops")):
        raise ScenarioError(scenario.path, "ground.inference_output_bps", "inference output needs the payload "
                            "plugin's payload.state and payload.flops, and it is not loaded",
                            cfg.inference_output_bps, hint="load the payload plugin, or leave inference_output_bps at 0")
    OUT = float(cfg.inference_output_bps)
    CAP = float(cfg.buffer_bits)
    FULL = float(full_threshold_bits(cfg, scenario.run.step_s))
    F_INF = inference_flops(scenario.section("payload"))
    INF = _INFERENCE
    ps_f, pf_f = state.field("payload.state"), state.field("payload.flops")
    rate_f = state.field("ground.downlink_bps")
    buf_f, del_f = state.field("ground.buffer_bits"), state.field("ground.delivered_bits")
    drop_f, cap_f = state.field("ground.dropped_bits"), state.field("ground.payload_cap")

    @ti.func
    def ground_buffer(i, k, t, dt):
        s = ti.cast(ps_f[i], ti.i32)  # previous step's
        frac = 0.0
        if ti.static(F_INF > 0.0):
            if s <= INF:  # training produces nothing to downlink
                frac = ti.math.clamp(ti.cast(pf_f[i], ti.f64) / F_INF, 0.0, 1.0)
        else:
            if s == INF:
                frac = 1.0
        have = buf_f[i] + OUT * frac * dt
        drained = ti.min(have, rate_f[i] * dt)
        b = have - drained
        drop_f[i] += ti.max(b - CAP, 0.0)
        b = ti.min(b, CAP)
        buf_f[i] = b
        del_f[i] += drained
        cap_f[i] = ti.cast(1 if b >= FULL else 3, ti.i8)

    return Stage("ground.buffer", ground_buffer,
                 writes=["ground.buffer_bits", "ground.delivered_bits", "ground.dropped_bits", "ground.payload_cap"],
                 reads=["ground.downlink_bps"], reads_previous=["payload.state", "payload.flops"])


def _stations_of_store(store: Any) -> list[StationSpec] | None:
    """The stations of the run in ``store``, from the scenario text it keeps; None when
    that cannot be read."""
    import tomllib

    from twin_core.scenario import structure

    try:
        raw = tomllib.loads(str(store.attrs["scenario"]))
        return structure(raw.get("ground", {}), GroundConfig).specs()
    except Exception:  # an older or foreign store: the shares alone are still shown
        return None


@hookimpl
def orbitwin_summary(store: Any) -> list[tuple[str, str]] | None:
    """Downlink volume per day, share of satellite-time in contact and each station's
    share and volume, from the constellation group (means over its samples, unwritten
    ones left out); a station's volume is its share x satellites x its expected rate,
    with the stations read back from the scenario the store keeps."""
    con = store["constellation"] if "constellation" in store else None
    if con is None or "ground.total_downlink_bps" not in con:
        return None

    def mean(name: str) -> float:
        y = np.asarray(con[name][:], dtype=np.float64)
        return float(np.nanmean(y)) if np.isfinite(y).any() else float("nan")

    to_tb_day = 86400.0 / 8.0 / 1e12
    rows = [("ground downlink", f"{mean('ground.total_downlink_bps') * to_tb_day:.3f} TB/day (expected, mean "
                                "over the run)"),
            ("time in ground contact", f"{100.0 * mean('ground.contact_fraction'):.2f} % (mean over satellites)")]
    prefix = "ground.served_fraction_"
    specs = _stations_of_store(store)
    n_sats = float(store.attrs.get("n_sats", "nan"))
    if specs is not None:
        listed = [(sanitize(s.name), s.expected_rate_bps) for s in specs]
    else:
        listed = [(k[len(prefix):], float("nan")) for k in sorted(con.array_keys()) if k.startswith(prefix)]
    for tag, rate in listed:
        if prefix + tag not in con:
            continue
        share = mean(prefix + tag)
        text = f"{100.0 * share:.2f} % of satellite-time"
        if math.isfinite(rate * n_sats):
            text += f", {share * n_sats * rate * to_tb_day:.3f} TB/day"
        rows.append((f"station {tag}", text))
    return rows


__all__ = [
    "BandIndex", "GroundConfig", "OPTICAL_MIN_ELEVATION_DEG", "OPTICAL_RATE_BPS", "RF_MIN_ELEVATION_DEG",
    "RF_RATE_BPS", "RotationSeries", "StationSpec", "StationTable", "build_band_index", "bundled_stations",
    "BUFFER_BITS", "DOWNLINK_LIMITED", "buffer_numpy", "design_radius_m", "ecef_to_eci_matrix",
    "full_threshold_bits", "inference_flops", "geodetic_to_ecef", "gmst_rad", "precession_matrix", "sanitize",
    "serve_indexed_numpy", "serve_numpy", "sin_elevation_numpy", "visibility_half_angle_rad",
]
