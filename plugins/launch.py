"""Launch vehicle catalog, launch planning and the deployment ramp: published figures, each
with its source; the ``[launch]`` table (`LaunchConfig`) makes the run honour the plan.

A `LaunchVehicle` is one variant of a vehicle (``"Falcon 9"`` reusable and expendable are two
entries of `VEHICLES`): payload to the reference orbit its source states, fairing, price per
launch and cadence. `payload_to_orbit_kg` carries the reference figure to a scenario's
circular orbit (model below); `plan_launches` packs satellites into launches, dates the
launches at the vehicle's cadence and says when each satellite is operational.

Payload model (`payload_to_orbit_kg`), stated and simple:

1. Altitude: the extra velocity from the reference altitude to the target is that of a
   Hohmann transfer between circular orbits (Vallado, Fundamentals of Astrodynamics, 4th
   ed., sec. 6.3.1). Below the reference altitude no credit is taken (the figure stays the
   reference one), so the model never promises more than the source.
2. Inclination: the Earth's rotation adds ``v_eq cos(i)`` to a direct ascent into
   inclination ``i`` (for ``i`` at or above the launch site latitude: the eastward component
   of the site velocity along the launch azimuth, ``sin(az) = cos(i) / cos(lat)``; Curtis,
   Orbital Mechanics for Engineering Students, 3rd ed., sec. 6.10), so going from the
   reference inclination ``i_ref`` to ``i > i_ref`` costs ``v_eq (cos i_ref - cos i)``, with
   ``v_eq`` = 465.1 m/s (WGS 84 radius x rotation rate). Where the source also gives a
   sun-synchronous (SSO) figure the model interpolates between the LEO and SSO figures
   (each carried to the target altitude) linearly in ``cos(i)``, which is the same physics
   calibrated by the source. Inclinations below ``i_ref`` (or above the SSO one) need a
   plane change at the target orbit, ``2 v sin(di / 2)`` (Vallado sec. 6.4): an upper bound
   on the cost, since a real mission blends it into the ascent.
3. Mass: the stack at the reference point (payload + upper-stage dry mass) spends the extra
   velocity with the upper stage's vacuum exhaust velocity (Tsiolkovsky): ``payload =
   (m_ref + m_dry) exp(-dv / (g0 Isp)) - m_dry``, floored at zero. The propellant the extra
   burn needs is taken from the payload, which is what a fixed-size stage does.

Limits: circular orbits only; no gravity or drag losses beyond what the reference figure
holds; reusable stages' recovery reserve is assumed to scale as in the reference mission;
launch-site latitude, range safety and dog-legs are not modelled (a vehicle's reference
inclination is taken as its lowest direct one). Prices are list or reported prices in the
year stated, not escalated. Nothing here depends on orbitwin's engine.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import math
from typing import Any, Optional

import attrs
import numpy as np

from twin_core import Contribution, Metric, Stage, Variable, hookimpl
from orbitwin_plugins.constants import MU_EARTH_M3_S2, OMEGA_EARTH_RAD_S, R_EARTH_M
from twin_core.validators import SpecValueError, in_range, non_negative, positive

#: Standard gravity [m s^-2]: the definition of Isp in seconds (CGPM 1901, exact).
G0_M_S2 = 9.80665

#: Equatorial surface speed of the Earth's rotation [m/s]: WGS 84 radius x rotation rate
#: (NIMA TR8350.2), 465.1 m/s.
V_EQUATOR_M_S = R_EARTH_M * OMEGA_EARTH_RAD_S

#: Days per year for cadence spacing [d]: Julian year (IAU).
DAYS_PER_YEAR = 365.25

#: Default days from launch to operational orbit. ASSUMPTION: 30 days. Starlink satellites,
#: released low (about 290 km since 2020, 440 km on the first 2019 batch), climb to 550 km on
#: Hall thrusters over weeks (SpaceX Starlink mission updates 2019-2021; Seradata, May 2019:
#: of the first 60, 45 had reached 550 km in the first weeks). A chemical apogee kick or a
#: direct insertion makes it days; a heavy electric-propulsion satellite, months.
ORBIT_RAISING_DAYS = 30.0

#: Fraction of the usable fairing volume that satellites fill when stacked. ASSUMPTION: 0.5;
#: no standard exists. Square boxes in a circle fill 2/pi = 0.64 of a cylinder's section,
#: less in the ogive and around the dispenser.
PACKING_FRACTION = 0.5


def _in_range_optional(lo: float, hi: float):
    check = in_range(lo, hi)

    def optional(instance, attribute, value) -> None:
        if value is not None:
            check(instance, attribute, value)

    return optional


def _positive_optional(instance, attribute, value) -> None:
    if value is not None:
        positive(instance, attribute, value)


@attrs.frozen
class LaunchVehicle:
    """One launch vehicle variant (module docstring for the payload model).

    Attributes:
        family: vehicle name as a scenario writes it (``"Falcon 9"``).
        reusable: whether this variant recovers its first stage (or more).
        payload_leo_kg: payload to the reference LEO [kg].
        leo_altitude_km: reference LEO altitude [km] (circular).
        leo_inclination_deg: reference LEO inclination [deg].
        price_usd: price per launch [USD, the year in ``source``].
        launches_per_year: cadence [1/yr], demonstrated or planned (``source`` says which).
        upper_stage_isp_s: upper-stage vacuum specific impulse [s].
        upper_stage_dry_kg: upper-stage dry mass [kg] (carried through the extra burn).
        fairing_diameter_m: usable (dynamic envelope) diameter [m].
        fairing_height_m: usable height [m], cylinder plus ogive.
        fairing_volume_m3: usable volume [m^3].
        payload_sso_kg: payload to SSO [kg], where the source gives it.
        sso_altitude_km: SSO reference altitude [km] (with ``payload_sso_kg``).
        sso_inclination_deg: SSO reference inclination [deg] (with ``payload_sso_kg``).
        source: where each figure comes from, assumptions marked ASSUMPTION.
    """

    family: str
    reusable: bool
    payload_leo_kg: float = attrs.field(validator=positive)
    leo_altitude_km: float = attrs.field(validator=in_range(100.0, 2000.0))
    leo_inclination_deg: float = attrs.field(validator=in_range(0.0, 180.0))
    price_usd: float = attrs.field(validator=positive)
    launches_per_year: float = attrs.field(validator=positive)
    upper_stage_isp_s: float = attrs.field(validator=in_range(100.0, 1000.0))
    upper_stage_dry_kg: float = attrs.field(validator=non_negative)
    fairing_diameter_m: float = attrs.field(validator=positive)
    fairing_height_m: float = attrs.field(validator=positive)
    fairing_volume_m3: float = attrs.field(validator=positive)
    payload_sso_kg: Optional[float] = attrs.field(default=None, validator=_positive_optional)
    sso_altitude_km: Optional[float] = attrs.field(default=None, validator=_in_range_optional(100.0, 2000.0))
    sso_inclination_deg: Optional[float] = attrs.field(default=None, validator=_in_range_optional(0.0, 180.0))
    source: str = "user-defined"

    def __attrs_post_init__(self) -> None:
        if not self.family:
            raise SpecValueError("family", self.family, "a non-empty name")
        sso = (self.payload_sso_kg, self.sso_altitude_km, self.sso_inclination_deg)
        if any(v is None for v in sso) and any(v is not None for v in sso):
            raise SpecValueError("payload_sso_kg", self.payload_sso_kg,
                                 "given together with sso_altitude_km and sso_inclination_deg (all or none)")
        if self.sso_inclination_deg is not None and self.sso_inclination_deg <= self.leo_inclination_deg:
            raise SpecValueError("sso_inclination_deg", self.sso_inclination_deg,
                                 f"> leo_inclination_deg = {self.leo_inclination_deg:g}")

    @property
    def name(self) -> str:
        """Catalog key: ``"<family> (reusable)"`` or ``"<family> (expendable)"``."""
        return f"{self.family} ({'reusable' if self.reusable else 'expendable'})"

    @property
    def exhaust_velocity_m_s(self) -> float:
        return self.upper_stage_isp_s * G0_M_S2


def _fairing_volume_m3(diameter_m: float, cylinder_m: float, total_m: float, tip_diameter_m: float) -> float:
    """Cylinder plus a frustum from ``diameter_m`` to ``tip_diameter_m`` (a stated
    approximation of a dynamic envelope drawing: the ogive taken as a cone frustum)."""
    r, r_tip, h_top = diameter_m / 2, tip_diameter_m / 2, total_m - cylinder_m
    return math.pi * r * r * cylinder_m + math.pi / 3 * h_top * (r * r + r * r_tip + r_tip * r_tip)


#: Falcon 9/Heavy standard fairing dynamic envelope, Falcon User's Guide (SpaceX, Sept 2021,
#: Fig. 5-1): 4.6 m diameter, 6.7 m cylinder, 11 m total, 1.45 m tip -> about 145 m^3.
_FALCON_FAIRING = (4.6, 11.0, _fairing_volume_m3(4.6, 6.7, 11.0, 1.45))
#: Merlin 1D Vacuum Isp 348 s (SpaceX Falcon 9 vehicle page; Falcon User's Guide 2021).
_MVAC_ISP_S = 348.0
#: Falcon second-stage dry mass. ASSUMPTION: 4,000 kg; SpaceX does not publish it, commonly
#: quoted estimates are 3,900-4,500 kg.
_F9_S2_DRY_KG = 4000.0
#: Reference LEO of SpaceX's figures: SpaceX states "LEO" only; 28.5 deg (Cape latitude) is
#: the inclination commonly attached to it; the 200 km altitude is an ASSUMPTION (the usual
#: reference for "LEO" capability figures).
_CAPE_LEO = dict(leo_altitude_km=200.0, leo_inclination_deg=28.5)

VEHICLES: dict[str, LaunchVehicle] = {
    v.name: v
    for v in (
        LaunchVehicle(
            family="Falcon 9", reusable=True, payload_leo_kg=17_500.0, **_CAPE_LEO,
            price_usd=69.75e6, launches_per_year=132.0,
            upper_stage_isp_s=_MVAC_ISP_S, upper_stage_dry_kg=_F9_S2_DRY_KG,
            fairing_diameter_m=_FALCON_FAIRING[0], fairing_height_m=_FALCON_FAIRING[1],
            fairing_volume_m3=_FALCON_FAIRING[2],
            source="Payload 17,500 kg with booster recovery: Payload Research (payloadspace.com, "
                   "2024), Starlink batches average 16,850 kg = 96 % of it; SpaceX publishes no "
                   "reusable LEO figure. Price $69.75M: SpaceX Capabilities & Services page, "
                   "standard mission (2024). Cadence 132 Falcon 9 launches in 2024, demonstrated "
                   "(134 Falcon-family incl. 2 Falcon Heavy; NASASpaceflight 2024 review). "
                   "Fairing: Falcon User's Guide (2021). Reference orbit 200 km x 28.5 deg: "
                   "ASSUMPTION. S2 dry 4 t: ASSUMPTION",
        ),
        LaunchVehicle(
            family="Falcon 9", reusable=False, payload_leo_kg=22_800.0, **_CAPE_LEO,
            price_usd=90.0e6, launches_per_year=132.0,
            upper_stage_isp_s=_MVAC_ISP_S, upper_stage_dry_kg=_F9_S2_DRY_KG,
            fairing_diameter_m=_FALCON_FAIRING[0], fairing_height_m=_FALCON_FAIRING[1],
            fairing_volume_m3=_FALCON_FAIRING[2],
            source="Payload 22,800 kg to LEO, expendable: SpaceX Falcon 9 vehicle page and "
                   "Capabilities & Services (2016-2024). Price ASSUMPTION $90M: SpaceX lists no "
                   "expendable price; the $69.75M list price plus a lost booster (of the order of "
                   "$20M). Cadence: shared Falcon 9 production and pads, 132 in 2024 (an upper "
                   "bound for expendable flights). Fairing: Falcon User's Guide (2021). Reference "
                   "orbit 200 km x 28.5 deg: ASSUMPTION. S2 dry 4 t: ASSUMPTION",
        ),
        LaunchVehicle(
            family="Falcon Heavy", reusable=False, payload_leo_kg=63_800.0, **_CAPE_LEO,
            price_usd=150.0e6, launches_per_year=5.0,
            upper_stage_isp_s=_MVAC_ISP_S, upper_stage_dry_kg=_F9_S2_DRY_KG,
            fairing_diameter_m=_FALCON_FAIRING[0], fairing_height_m=_FALCON_FAIRING[1],
            fairing_volume_m3=_FALCON_FAIRING[2],
            source="Payload 63,800 kg to LEO (28.5 deg), fully expendable: SpaceX Falcon Heavy "
                   "vehicle page (2018-2024). Price ASSUMPTION $150M: the $97M list price "
                   "(SpaceX Capabilities & Services, 2022-2024) is for the standard mission with "
                   "recovered side boosters, whose LEO figure is not published; an expendable "
                   "flight is priced like the USSF contracts (~$130-180M, 2019-2023). Cadence 5 "
                   "in 2023, demonstrated (SpaceX 2023: 91 F9 + 5 FH + 2 Starship). Fairing: "
                   "standard Falcon fairing, User's Guide (2021). Altitude 200 km: ASSUMPTION",
        ),
        LaunchVehicle(
            family="Starship", reusable=True, payload_leo_kg=100_000.0, **_CAPE_LEO,
            price_usd=90.0e6, launches_per_year=25.0,
            upper_stage_isp_s=380.0, upper_stage_dry_kg=120_000.0,
            fairing_diameter_m=8.0, fairing_height_m=17.24,
            fairing_volume_m3=_fairing_volume_m3(8.0, 8.0, 17.24, 1.0),
            source="Payload: SpaceX Starship page (2023-2024) gives 100-150 t to LEO fully "
                   "reusable; the catalog takes the low end, 100 t (not yet demonstrated). Price "
                   "ASSUMPTION $90M: a single reported contract (Starlab launch, 2024-2025 press), "
                   "not a list price; SpaceX statements of ~$2M marginal cost (Musk, Nov 2019) and "
                   "PayloadSpace's 2024 $90M build-cost estimate bracket it. Cadence ASSUMPTION "
                   "25/yr: the FAA 2025 environmental assessment ceiling for Starbase (planned, "
                   "not demonstrated). Payload envelope 8 m x 17.24 m (Starship User's Guide "
                   "rev. 1.0, 2020; volume: 8 m cylinder + frustum, derived). Raptor Vacuum Isp "
                   "380 s and ship dry mass 120 t: ASSUMPTIONS (SpaceX statements and "
                   "NextBigFuture/PayloadSpace 2024 estimates of 100-130 t). Reference orbit 200 "
                   "km x 28.5 deg: ASSUMPTION",
        ),
        LaunchVehicle(
            family="New Glenn", reusable=True, payload_leo_kg=45_000.0, **_CAPE_LEO,
            price_usd=110.0e6, launches_per_year=2.0,
            upper_stage_isp_s=445.0, upper_stage_dry_kg=20_000.0,
            fairing_diameter_m=6.35, fairing_height_m=21.9,
            fairing_volume_m3=_fairing_volume_m3(6.35, 13.0, 21.9, 1.5),
            source="Payload 45,000 kg to LEO with booster recovery: Blue Origin New Glenn "
                   "Payload User's Guide rev. C (2020) and New Glenn page. Fairing: 7 m outer; "
                   "usable 6.35 m x 21.9 m and the 13 m cylinder: ASSUMPTIONS read as the guide's "
                   "envelope, not verified here. Price ASSUMPTION $110M: Blue Origin publishes "
                   "none. Cadence 2 in 2025, demonstrated (NG-1 Jan 2025, NG-2 Nov 2025). BE-3U "
                   "Isp 445 s and GS2 dry mass 20 t: ASSUMPTIONS (not published). Reference orbit "
                   "200 km x 28.5 deg: ASSUMPTION",
        ),
    )
}


def lookup(family: str, reusable: Optional[bool] = True, key: str = "vehicle") -> LaunchVehicle:
    """The catalog variant of ``family`` (``reusable = None``: the reusable one where the
    catalog has it, else the only one); a `SpecValueError` naming ``key`` (with the closest
    spelling) for an unknown vehicle, or naming ``reusable`` for a missing variant."""
    variants = [v for v in VEHICLES.values() if v.family == family]
    if not variants:
        families = sorted({v.family for v in VEHICLES.values()})
        close = difflib.get_close_matches(family, families, n=1, cutoff=0.5)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise SpecValueError(key, family, "one of " + ", ".join(repr(f) for f in families) + hint)
    if reusable is None:
        return next((v for v in variants if v.reusable), variants[0])
    for v in variants:
        if v.reusable == reusable:
            return v
    raise SpecValueError("reusable", reusable,
                         f"{variants[0].reusable} (the catalog has only the "
                         f"{'reusable' if variants[0].reusable else 'expendable'} {family})")


def _v_circ(altitude_km: float) -> float:
    return math.sqrt(MU_EARTH_M3_S2 / (R_EARTH_M + altitude_km * 1e3))


def hohmann_dv_m_s(from_altitude_km: float, to_altitude_km: float) -> float:
    """Total delta-v [m/s] of a Hohmann transfer between circular orbits (either direction)."""
    r1, r2 = R_EARTH_M + from_altitude_km * 1e3, R_EARTH_M + to_altitude_km * 1e3
    mu = MU_EARTH_M3_S2
    a = (r1 + r2) / 2
    return abs(math.sqrt(mu * (2 / r1 - 1 / a)) - math.sqrt(mu / r1)) + abs(
        math.sqrt(mu / r2) - math.sqrt(mu * (2 / r2 - 1 / a)))


def _plane_change_dv(altitude_km: float, delta_deg: float) -> float:
    return 2 * _v_circ(altitude_km) * math.sin(math.radians(abs(delta_deg)) / 2)


def _carry(vehicle: LaunchVehicle, payload_kg: float, dv_m_s: float) -> float:
    """Payload left after spending ``dv_m_s`` more with the upper stage (rocket equation)."""
    dry = vehicle.upper_stage_dry_kg
    return max(0.0, (payload_kg + dry) * math.exp(-dv_m_s / vehicle.exhaust_velocity_m_s) - dry)


def _altitude_dv(ref_km: float, altitude_km: float) -> float:
    return hohmann_dv_m_s(ref_km, altitude_km) if altitude_km > ref_km else 0.0


def payload_to_orbit_kg(vehicle: LaunchVehicle, altitude_km: float, inclination_deg: float) -> float:
    """Payload [kg] to a circular orbit at ``altitude_km`` and ``inclination_deg`` (model in
    the module docstring). Equals ``vehicle.payload_leo_kg`` at the reference orbit."""
    if not (isinstance(altitude_km, (int, float)) and 100.0 <= altitude_km <= 2000.0):
        raise SpecValueError("altitude_km", altitude_km, "in [100, 2000] km (LEO)")
    if not (isinstance(inclination_deg, (int, float)) and 0.0 <= inclination_deg <= 180.0):
        raise SpecValueError("inclination_deg", inclination_deg, "in [0, 180] deg")
    v = vehicle
    i_ref = v.leo_inclination_deg
    leo = v.payload_leo_kg
    if inclination_deg < i_ref:
        dv = _altitude_dv(v.leo_altitude_km, altitude_km) + _plane_change_dv(altitude_km, i_ref - inclination_deg)
        return _carry(v, leo, dv)
    leo_h = _carry(v, leo, _altitude_dv(v.leo_altitude_km, altitude_km))
    if v.payload_sso_kg is None:
        dv_rot = V_EQUATOR_M_S * (math.cos(math.radians(i_ref)) - math.cos(math.radians(inclination_deg)))
        return _carry(v, leo, _altitude_dv(v.leo_altitude_km, altitude_km) + dv_rot)
    i_sso = v.sso_inclination_deg
    sso_h = _carry(v, v.payload_sso_kg, _altitude_dv(v.sso_altitude_km, altitude_km))
    if inclination_deg > i_sso:
        return _carry(v, sso_h, _plane_change_dv(altitude_km, inclination_deg - i_sso))
    c_ref, c_sso, c = (math.cos(math.radians(x)) for x in (i_ref, i_sso, inclination_deg))
    w = (c_ref - c) / (c_ref - c_sso)
    return (1 - w) * leo_h + w * sso_h


@attrs.frozen(eq=False)
class LaunchPlan:
    """Result of `plan_launches`. Arrays are per launch (``launch_dates``) or per satellite
    in index order (``sat_launch_index``, ``sat_launch_dates``, ``active_from``), as
    ``numpy.datetime64[s]`` (UTC, naive).

    Attributes:
        vehicle: the vehicle (price and cadence overrides applied).
        payload_capacity_kg: payload to the scenario's orbit [kg].
        sats_per_launch_mass: satellites per launch by mass.
        sats_per_launch_volume: by volume (None without ``sat_volume_m3``).
        sats_per_launch: the smaller of the two (0 when a satellite needs several
            launches: ``launches_per_satellite``).
        binding: ``"mass"`` or ``"volume"``, whichever sets ``sats_per_launch``.
        n_launches: launches needed.
        launches_per_year: cadence used [1/yr].
        launch_interval_days: days between launches.
        orbit_raising_days: days from launch to operational orbit.
        total_cost_usd: n_launches x price [USD].
        cost_per_kg_usd: total cost / satellite mass delivered [USD/kg].
        delivered_kg: n_sats x sat_mass_kg [kg].
        launches_per_satellite: launches one satellite needs (more than 1 only with
            ``in_orbit_assembly``).
    """

    vehicle: LaunchVehicle
    payload_capacity_kg: float
    sats_per_launch_mass: int
    sats_per_launch_volume: Optional[int]
    sats_per_launch: int
    binding: str
    n_launches: int
    launches_per_year: float
    launch_interval_days: float
    orbit_raising_days: float
    total_cost_usd: float
    cost_per_kg_usd: float
    delivered_kg: float
    launch_dates: np.ndarray
    sat_launch_index: np.ndarray
    sat_launch_dates: np.ndarray
    active_from: np.ndarray
    launches_per_satellite: int = 1


def _check_positive(key: str, value, whole: bool = False) -> None:
    if whole:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SpecValueError(key, value, "a whole number >= 1")
    elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise SpecValueError(key, value, "a finite number > 0")


def plan_launches(vehicle: LaunchVehicle, n_sats: int, sat_mass_kg: float, altitude_km: float,
                  inclination_deg: float, sat_volume_m3: Optional[float] = None, *,
                  start: _dt.datetime, plane_count: Optional[int] = None,
                  launches_per_year: Optional[float] = None, price_usd: Optional[float] = None,
                  orbit_raising_days: float = ORBIT_RAISING_DAYS,
                  packing_fraction: float = PACKING_FRACTION, in_orbit_assembly: bool = False) -> LaunchPlan:
    """Launches to deploy ``n_sats`` satellites of ``sat_mass_kg`` into one circular orbit.

    Rules: each launch carries ``min(floor(capacity / mass), floor(packing_fraction x
    fairing volume / sat volume))`` satellites; with ``plane_count`` each launch serves one
    plane (``n_sats / plane_count`` satellites, index-contiguous, per plane), otherwise
    satellites fill launches in index order. Launch ``k`` (from 0) flies at ``start + k x
    365.25 / launches_per_year`` days; a satellite is operational ``orbit_raising_days``
    after its launch. Raises `SpecValueError` naming ``launch.vehicle`` when the vehicle
    cannot lift one satellite (by mass or by volume), unless ``in_orbit_assembly``: then
    each satellite is launched in ``L = max(ceil(mass / capacity), ceil(volume /
    (packing x fairing)))`` launches of its own (its parts, assembled in orbit; the
    assembly's own mass and time are not modelled) and is operational
    ``orbit_raising_days`` after the last of them. In ``sat_launch_dates`` it is then
    dated by its first launch.
    """
    _check_positive("n_sats", n_sats, whole=True)
    _check_positive("sat_mass_kg", sat_mass_kg)
    if sat_volume_m3 is not None:
        _check_positive("sat_volume_m3", sat_volume_m3)
    if plane_count is not None:
        _check_positive("plane_count", plane_count, whole=True)
        if n_sats % plane_count:
            raise SpecValueError("plane_count", plane_count, f"a divisor of n_sats = {n_sats}")
    if launches_per_year is not None:
        _check_positive("launch.launches_per_year", launches_per_year)
        vehicle = attrs.evolve(vehicle, launches_per_year=float(launches_per_year))
    if price_usd is not None:
        _check_positive("launch.price_usd", price_usd)
        vehicle = attrs.evolve(vehicle, price_usd=float(price_usd))
    if isinstance(orbit_raising_days, bool) or not isinstance(orbit_raising_days, (int, float)) \
            or not 0 <= orbit_raising_days <= 3650:
        raise SpecValueError("launch.orbit_raising_days", orbit_raising_days, "in [0, 3650] days")
    if isinstance(packing_fraction, bool) or not isinstance(packing_fraction, (int, float)) \
            or not 0 < packing_fraction <= 1:
        raise SpecValueError("packing_fraction", packing_fraction, "in (0, 1]")
    if not isinstance(start, _dt.datetime):
        raise SpecValueError("start", start, "a datetime")

    capacity = payload_to_orbit_kg(vehicle, altitude_km, inclination_deg)
    by_mass = int(math.floor(capacity / sat_mass_kg + 1e-9))
    if in_orbit_assembly and capacity > 0:
        parts = math.ceil(sat_mass_kg / capacity - 1e-9)
        if sat_volume_m3 is not None:
            parts = max(parts, math.ceil(sat_volume_m3 / (packing_fraction * vehicle.fairing_volume_m3) - 1e-9))
        if parts > 1:
            return _assembled(vehicle, n_sats, sat_mass_kg, capacity, parts, start, orbit_raising_days)
    if by_mass < 1:
        raise SpecValueError("launch.vehicle", vehicle.name,
                             f"a vehicle that lifts one satellite: sat_mass_kg = {sat_mass_kg:g} kg > "
                             f"{capacity:,.0f} kg to {altitude_km:g} km x {inclination_deg:g} deg (or "
                             "in_orbit_assembly = true: each satellite in parts over several launches)")
    by_volume = None
    if sat_volume_m3 is not None:
        by_volume = int(math.floor(packing_fraction * vehicle.fairing_volume_m3 / sat_volume_m3 + 1e-9))
        if by_volume < 1:
            raise SpecValueError("launch.vehicle", vehicle.name,
                                 f"a vehicle whose fairing holds one satellite: sat_volume_m3 = "
                                 f"{sat_volume_m3:g} m^3 > {packing_fraction:g} x "
                                 f"{vehicle.fairing_volume_m3:,.0f} m^3")
    per_launch = by_mass if by_volume is None else min(by_mass, by_volume)
    binding = "volume" if by_volume is not None and by_volume < by_mass else "mass"

    idx = np.arange(n_sats)
    if plane_count is None:
        sat_launch = idx // per_launch
    else:
        per_plane = n_sats // plane_count
        launches_per_plane = -(-per_plane // per_launch)
        sat_launch = (idx // per_plane) * launches_per_plane + (idx % per_plane) // per_launch
    n_launches = int(sat_launch[-1]) + 1

    interval_days, launch_dates = _launch_dates(vehicle, n_launches, start)
    sat_dates = launch_dates[sat_launch]
    active = sat_dates + np.timedelta64(int(round(orbit_raising_days * 86400.0)), "s")
    total = n_launches * vehicle.price_usd
    delivered = n_sats * float(sat_mass_kg)
    return LaunchPlan(vehicle=vehicle, payload_capacity_kg=capacity, sats_per_launch_mass=by_mass,
                      sats_per_launch_volume=by_volume, sats_per_launch=per_launch, binding=binding,
                      n_launches=n_launches, launches_per_year=vehicle.launches_per_year,
                      launch_interval_days=interval_days, orbit_raising_days=float(orbit_raising_days),
                      total_cost_usd=total, cost_per_kg_usd=total / delivered, delivered_kg=delivered,
                      launch_dates=launch_dates, sat_launch_index=sat_launch, sat_launch_dates=sat_dates,
                      active_from=active)


def _first_launch(value):
    """``[launch] first_launch``: None (the scenario's epoch) or a UTC date-time."""
    if value is None:
        return None
    from twin_core.scenario import _parse_epoch

    try:
        return _parse_epoch(value)
    except SpecValueError as exc:
        raise SpecValueError("first_launch", exc.value, exc.expected) from None


def _launch_dates(vehicle: LaunchVehicle, n_launches: int, start: _dt.datetime) -> tuple[float, np.ndarray]:
    """(days between launches, the dates of launches 0 .. n-1): launch k flies at ``start + k
    x 365.25 / launches_per_year`` days, to the second, as UTC ``datetime64[s]``."""
    interval_days = DAYS_PER_YEAR / vehicle.launches_per_year
    t0 = np.datetime64(start.replace(tzinfo=None) if start.tzinfo is None
                       else start.astimezone(_dt.timezone.utc).replace(tzinfo=None), "s")
    offsets_s = np.round(np.arange(n_launches) * interval_days * 86400.0).astype("int64")
    return interval_days, t0 + offsets_s.astype("timedelta64[s]")


def _assembled(vehicle: LaunchVehicle, n_sats: int, sat_mass_kg: float, capacity: float, parts: int,
               start: _dt.datetime, orbit_raising_days: float) -> LaunchPlan:
    """`plan_launches` for satellites launched in ``parts`` launches each (in-orbit assembly)."""
    n_launches = n_sats * parts
    interval_days, launch_dates = _launch_dates(vehicle, n_launches, start)
    first = np.arange(n_sats) * parts
    raise_s = np.timedelta64(int(round(orbit_raising_days * 86400.0)), "s")
    total = n_launches * vehicle.price_usd
    delivered = n_sats * float(sat_mass_kg)
    return LaunchPlan(vehicle=vehicle, payload_capacity_kg=capacity, sats_per_launch_mass=0,
                      sats_per_launch_volume=None, sats_per_launch=0, binding="mass", n_launches=n_launches,
                      launches_per_year=vehicle.launches_per_year, launch_interval_days=interval_days,
                      orbit_raising_days=float(orbit_raising_days), total_cost_usd=total,
                      cost_per_kg_usd=total / delivered, delivered_kg=delivered, launch_dates=launch_dates,
                      sat_launch_index=first, sat_launch_dates=launch_dates[first],
                      active_from=launch_dates[first + parts - 1] + raise_s, launches_per_satellite=parts)


@attrs.frozen
class LaunchConfig:
    """Table ``[launch]``: the vehicle that deploys the constellation and when. With the
    table, the run honours the launch schedule: a satellite is inactive until its launch
    and orbit raising are done (`twin_core.activity`).

    Attributes:
        vehicle: vehicle family from `VEHICLES` (``"Falcon 9"``, ``"Falcon Heavy"``,
            ``"Starship"``, ``"New Glenn"``).
        reusable: the reusable (true) or expendable (false) variant; absent: the reusable
            one where the catalog has it (Falcon 9, Starship, New Glenn), else the only one
            (the expendable Falcon Heavy).
        launches_per_year: cadence override [1/yr]; the catalog's when absent.
        price_usd: price per launch override [USD]; the catalog's when absent.
        orbit_raising_days: days from launch to operational orbit [d].
        first_launch: date-time of the first launch (UTC); the scenario's epoch when
            absent. A date well before the epoch (e.g. a year) starts the run with the
            constellation deployed: the steady state a cost study wants.
        sat_volume_m3: stowed volume of one satellite [m^3]; when given, the fairing's
            volume may bind before the mass does (packing fraction `PACKING_FRACTION`).
        sat_mass_kg: launched mass of one satellite [kg]; the satellite's mass budget
            (every plugin's ``orbitwin_mass_budget``, ``orbitwin budget``) when absent.
        in_orbit_assembly: a satellite heavier (or bulkier) than one launch goes up in
            parts over several launches and is assembled in orbit (its launches are its
            own; the assembly's mass and time are not modelled); false refuses such a
            satellite, naming ``launch.vehicle``.
        one_plane_per_launch: each launch serves one orbital plane (true: a plane's
            satellites share a launch, as Starlink's do), or satellites fill launches in
            index order (false). Only where every plane has the same number of
            satellites; otherwise launches fill in index order.
    """

    vehicle: str = "Falcon 9"
    reusable: Optional[bool] = None
    launches_per_year: Optional[float] = attrs.field(default=None, validator=_in_range_optional(1e-3, 1e4))
    price_usd: Optional[float] = attrs.field(default=None, validator=_positive_optional)
    orbit_raising_days: float = attrs.field(default=ORBIT_RAISING_DAYS, validator=in_range(0.0, 3650.0))
    first_launch: Optional[_dt.datetime] = attrs.field(default=None, converter=_first_launch)
    sat_volume_m3: Optional[float] = attrs.field(default=None, validator=_positive_optional)
    sat_mass_kg: Optional[float] = attrs.field(default=None, validator=_positive_optional)
    in_orbit_assembly: bool = False
    one_plane_per_launch: bool = True

    def __attrs_post_init__(self) -> None:
        if self.reusable is not None and not isinstance(self.reusable, bool):
            raise SpecValueError("reusable", self.reusable, "true or false")
        for key in ("one_plane_per_launch", "in_orbit_assembly"):
            if not isinstance(getattr(self, key), bool):
                raise SpecValueError(key, getattr(self, key), "true or false")
        if not isinstance(self.vehicle, str):
            raise SpecValueError("vehicle", self.vehicle, "a vehicle name (string)")
        lookup(self.vehicle, self.reusable)

    def launch_vehicle(self) -> LaunchVehicle:
        """The catalog vehicle with this table's overrides applied."""
        v = lookup(self.vehicle, self.reusable)
        if self.launches_per_year is not None:
            v = attrs.evolve(v, launches_per_year=float(self.launches_per_year))
        if self.price_usd is not None:
            v = attrs.evolve(v, price_usd=float(self.price_usd))
        return v


# --------------------------------------------------------------------------------------
# The scenario's launch plan, and the hooks that make the run honour it
# --------------------------------------------------------------------------------------

def launch_config(scenario: Any) -> LaunchConfig:
    """The scenario's ``[launch]`` table, or the defaults (a reusable Falcon 9) without one."""
    cfg = scenario.section("launch") if scenario is not None else None
    return cfg if cfg is not None else LaunchConfig()


def _hardest_orbit(scenario: Any, vehicle: LaunchVehicle) -> tuple[float, float]:
    """(altitude_km, inclination_deg) of the constellation's orbit the vehicle lifts least
    to: every satellite is launched as if to that one (a mixed constellation is planned
    conservatively; each distinct orbit is tried, to 0.1 km and 0.01 deg)."""
    from orbitwin_plugins.orbit import scenario_elements

    el, _shell = scenario_elements(scenario)
    alt = np.round((el.semi_major_axis_m * (1.0 - el.eccentricity) - R_EARTH_M) / 1e3, 1)  # perigee [km]
    inc = np.round(np.degrees(el.inclination_rad), 2)
    pairs = np.unique(np.stack([alt, inc], axis=1), axis=0)
    caps = [payload_to_orbit_kg(vehicle, float(a), float(i)) for a, i in pairs]
    a, i = pairs[int(np.argmin(caps))]
    return float(a), float(i)


def scenario_launch_plan(scenario: Any, sat_mass_kg: float) -> LaunchPlan:
    """The launches that deploy ``scenario``'s constellation of satellites of
    ``sat_mass_kg`` [kg] (`twin_core.budgets.satellite_mass_kg`; ``[launch] sat_mass_kg``
    overrides it), with its ``[launch]`` table (defaults without one): `plan_launches` to
    the orbit the vehicle lifts least to.

    Raises `twin_core.ScenarioError` naming the ``[launch]`` key at fault (a vehicle that
    cannot lift one satellite, by mass or volume).
    """
    from twin_core.errors import ScenarioError

    cfg = launch_config(scenario)
    vehicle = cfg.launch_vehicle()
    if cfg.sat_mass_kg is not None:
        sat_mass_kg = cfg.sat_mass_kg
    try:
        altitude_km, inclination_deg = _hardest_orbit(scenario, vehicle)
        from orbitwin_plugins.orbit import scenario_elements

        el, _shell = scenario_elements(scenario)
        sizes = np.bincount(el.plane)
        sizes = sizes[sizes > 0]
        planes = int(sizes.size) if cfg.one_plane_per_launch and sizes.size > 1 and np.all(sizes == sizes[0]) \
            else None
        start = cfg.first_launch or scenario.run.epoch
        return plan_launches(vehicle, el.count, sat_mass_kg, altitude_km, inclination_deg, cfg.sat_volume_m3,
                             start=start, plane_count=planes, orbit_raising_days=cfg.orbit_raising_days,
                             in_orbit_assembly=cfg.in_orbit_assembly)
    except SpecValueError as exc:
        key = exc.key if exc.key.startswith("launch.") else f"launch.{exc.key}"
        if exc.key == "sat_mass_kg":
            raise ScenarioError(scenario.path, "launch.sat_mass_kg", "the satellite has no mass", exc.value,
                                hint="no plugin declares a mass budget (orbitwin budget SCENARIO): give "
                                     "[launch] sat_mass_kg") from None
        raise ScenarioError(scenario.path, key, "bad value", exc.value, exc.expected) from None


def _planned(scenario: Any) -> bool:
    return scenario is not None and scenario.has_table("launch")


#: Per-satellite variables of the deployment ramp.
_LAUNCH_S, _ACTIVE_S = "launch.launch_time_s", "launch.active_from_s"
_LAUNCHED, _RAISED = "launch.launched", "launch.in_orbit"
#: Reasons recorded in ``sat.inactive_reason`` and ``payload.loss_reason``.
NOT_LAUNCHED, ORBIT_RAISING, NOT_DEPLOYED = "not launched", "orbit raising", "not deployed"


@hookimpl
def orbitwin_config_sections() -> dict[str, type]:
    return {"launch": LaunchConfig}


@hookimpl
def orbitwin_variables(scenario: Any) -> list[Variable] | None:
    if scenario is not None and not _planned(scenario):
        return None
    return [Variable(_LAUNCH_S, "s", "launch of the satellite, seconds from the epoch (negative: before it)",
                     "parameter", "f64", record=False),
            Variable(_ACTIVE_S, "s", "end of the satellite's orbit raising, seconds from the epoch: it is "
                     "active from then on", "parameter", "f64", record=False),
            Variable(_LAUNCHED, "1", "1 once the satellite is launched", "output", "i8", record=False),
            Variable(_RAISED, "1", "1 once the satellite is launched and in its operational orbit", "output",
                     "i8", record=False)]


@hookimpl
def orbitwin_contributions(scenario: Any) -> list[Contribution] | None:
    """Not launched, then raising its orbit: the satellite is inactive, and its payload is
    unavailable (its own records show no compute)."""
    if not _planned(scenario):
        return None
    return [Contribution("sat.active", _LAUNCHED, reason=NOT_LAUNCHED),
            Contribution("sat.active", _RAISED, reason=ORBIT_RAISING),
            Contribution("payload.available_fraction", "sat.active", reason=NOT_DEPLOYED)]


@hookimpl
def orbitwin_metrics(scenario: Any) -> list[Metric] | None:
    if not _planned(scenario):
        return None
    return [Metric("constellation.launched_satellites", _LAUNCHED, "sum", "1",
                   "satellites launched (in orbit raising or active)", all_satellites=True)]


@hookimpl
def orbitwin_initial_state(scenario: Any, state: Any) -> None:
    if not _planned(scenario) or not state.has(_ACTIVE_S):
        return
    plan = scenario_launch_plan(scenario, state.satellite_mass_kg)
    epoch = np.datetime64(scenario.run.epoch.replace(tzinfo=None), "s")
    state.set(_LAUNCH_S, (plan.sat_launch_dates - epoch).astype(np.float64))
    state.set(_ACTIVE_S, (plan.active_from - epoch).astype(np.float64))


@hookimpl
def orbitwin_stages(scenario: Any, state: Any) -> list[Stage] | None:
    if not _planned(scenario):
        return None
    import taichi as ti

    launch_f, active_f = state.field(_LAUNCH_S), state.field(_ACTIVE_S)
    launched_f, raised_f = state.field(_LAUNCHED), state.field(_RAISED)

    @ti.func
    def deploy(i, k, t, dt):
        launched_f[i] = ti.cast(1 if t >= launch_f[i] else 0, ti.i8)
        raised_f[i] = ti.cast(1 if t >= active_f[i] else 0, ti.i8)

    return [Stage("launch.deploy", deploy, writes=[_LAUNCHED, _RAISED], reads=[_LAUNCH_S, _ACTIVE_S])]


@hookimpl
def orbitwin_finish_store(scenario: Any, store: Any) -> None:
    """The launch plan beside the run: group ``launch`` with the launch dates and, in its
    attributes, the vehicle, satellites per launch, launches and their cost."""
    if not _planned(scenario):
        return
    plan = scenario_launch_plan(scenario, float(store.attrs.get("satellite_mass_kg", 0.0)))
    grp = store.require_group("launch")
    ms = plan.launch_dates.astype("datetime64[ms]").astype(np.int64)
    epoch = scenario.run.epoch.strftime("%Y-%m-%dT%H:%M:%S")
    arr = grp.create_array("launch_time", shape=ms.shape, dtype="int64", overwrite=True,
                           dimension_names=("launch",))
    arr[:] = ms
    arr.attrs.update({"units": f"milliseconds since {epoch}", "calendar": "proleptic_gregorian",
                      "long_name": "date of each launch (UTC)"})
    grp.attrs.update(_plan_attrs(plan))


def _plan_attrs(plan: LaunchPlan) -> dict[str, Any]:
    return {"vehicle": plan.vehicle.name, "payload_capacity_kg": plan.payload_capacity_kg,
            "sats_per_launch": plan.sats_per_launch, "launches_per_satellite": plan.launches_per_satellite,
            "binding": plan.binding, "n_launches": plan.n_launches,
            "launches_per_year": plan.launches_per_year, "orbit_raising_days": plan.orbit_raising_days,
            "price_per_launch_usd": plan.vehicle.price_usd, "total_cost_usd": plan.total_cost_usd,
            "cost_per_kg_usd": plan.cost_per_kg_usd, "delivered_kg": plan.delivered_kg,
            "first_launch": str(plan.launch_dates[0]), "last_active": str(plan.active_from.max())}


@hookimpl
def orbitwin_summary(store: Any) -> list[tuple[str, str]] | None:
    if "launch" not in store:
        return None
    a = store["launch"].attrs
    per = (f"{a['sats_per_launch']} satellites per launch ({a['binding']}-limited)" if a["sats_per_launch"]
           else f"{a.get('launches_per_satellite', 1)} launches per satellite, assembled in orbit")
    return [("launch plan", f"{a['n_launches']} x {a['vehicle']}, {per}, USD {a['total_cost_usd'] / 1e6:,.1f} M "
             f"({a['cost_per_kg_usd']:,.0f} USD/kg)"),
            ("deployment", f"first launch {a['first_launch']}, whole constellation active from {a['last_active']}")]


__all__ = ["VEHICLES", "LaunchVehicle", "LaunchPlan", "LaunchConfig", "launch_config", "lookup",
           "payload_to_orbit_kg", "plan_launches", "hohmann_dv_m_s", "scenario_launch_plan", "ORBIT_RAISING_DAYS",
           "PACKING_FRACTION"]
