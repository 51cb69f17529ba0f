"""Cost of delivered compute in orbit and on the ground, the launch price at which they
meet, and satellite failures during a run (the ``[cost]`` table; ``orbitwin cost``).

Both sides are levelised the same way: capital is spread over its life with the capital
recovery factor and added to the yearly running costs; the annual cost is divided by the
compute delivered in a year::

    CRF(r, n) = r (1 + r)^n / ((1 + r)^n - 1)        (1 / n when r = 0)
    annual    = capital x CRF(r, n) + running costs per year
    USD / PFLOP-day = annual / delivered PFLOP-days per year

Space (`SpaceCost`, `space_cost`), for ``N`` satellites of dry mass ``m`` [kg] carrying
``k`` accelerators each::

    launch      = N m p                         p: launch price [USD/kg]
    bus         = N m b                         b: bus cost per kg of dry mass [USD/kg]
    accelerators= N k P (1 + h)                 P: unit price, h: host/server share
    ground seg. = G0 + N G1
    insurance   = i (launch + bus + accelerators)
    capital     = launch + bus + accelerators + ground seg. + insurance   (paid at launch)
    operations  = O0 + N O1  per year
    alive       = (1 - exp(-lambda L)) / (lambda L)      (1 when lambda = 0)
    USD/PFLOP-day = (capital CRF(r, L) + operations) / (D alive)

``D`` is the fleet's delivery with every satellite alive; ``alive`` is the mean fraction
of the fleet working over the life ``L`` when satellites fail at a constant rate
``lambda`` and are not replaced (a failed satellite delivers nothing; its running costs
are still paid). The cost is affine in ``p``, so the parity launch price is closed-form
(`parity_launch_price_usd_per_kg`).

Ground (`GroundCost`, `ground_cost`), for ``n`` accelerators drawing ``W`` of IT load
[W] with fleet peak ``F`` [PFLOP/s]::

    facility    = W / 1e6 x C_MW                (capital over the facility life)
    accelerators= n P (1 + h)                   (capital over the hardware life)
    electricity = W / 1e3 x PUE x 8766 h x availability x e    per year
    operations  = o x facility capital           per year
    delivered   = F x utilisation x availability x 365.25   [PFLOP-days per year]

Scenario table ``[cost]`` (`CostConfig`): the space prices (`SpaceCost` keys, flat) and
``simulate_failures``; the ground prices in ``[cost.ground]`` (`GroundCost` keys).
``launch_price_usd_per_kg`` left out means the launch plan's price per kg
(`orbitwin_plugins.launch.scenario_launch_plan`), or without a plan the `SpaceCost`
default. `space_config`, `ground_config` and `launch_pricing` give other plugins the
prices a scenario sets.

Failures in the run: with a ``[cost]`` table, ``failure_rate_per_year = lambda > 0`` and
``simulate_failures = true`` (the default), satellite ``j`` fails at::

    T_j = t0_j + E_j / lambda x 31,557,600 s      E_j ~ Exp(1), drawn for the whole
                                                    constellation by global index j

from a generator seeded by ``[scenario] seed`` (`failure_times_s`), so every shard of a
sharded run draws the same times. ``t0_j`` is the satellite's ``launch.active_from_s``
when the launch plugin declares it (the failure clock starts when the satellite is in
service), else the epoch (0). From ``t >= T_j`` on (right-point: a step labelled ``t``
is failed when ``T_j <= t``), stage ``cost.fail`` sets ``cost.failed = 1`` and
``cost.working_fraction = 0``, contributed to ``payload.available_fraction`` with
reason ``"failed"``: the satellite stays in the constellation (it is counted, its
running costs are paid) and delivers nothing. Metric ``constellation.failed_satellites``
counts them. Not replaced, no partial failures (one accelerator, a degraded array).

Every default below names its source; figures without one are marked ASSUMPTION with the
reason. All prices are constant US dollars (no learning curves, inflation, tax or
financing structure); see docs/costs.md. Validated in ``tests/test_costs.py`` (hand
calculations, parity on a case with a known answer, the failure draws and the failure
stage in a run) and ``tests/test_cost_cli.py`` (``orbitwin cost`` on a small run).
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from twin_core import CaseResult, Contribution, Metric, ScenarioError, Stage, Variable, hookimpl
from twin_core.validators import SpecValueError, in_range, non_negative, positive

#: Hours, days and seconds in a Julian year (the year used throughout).
HOURS_PER_YEAR = 8766.0
DAYS_PER_YEAR = 365.25
SECONDS_PER_YEAR = DAYS_PER_YEAR * 86400.0

_discount = in_range(-1.0, 10.0, lo_open=True)


# --------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------

@attrs.frozen
class SpaceCost:
    """Prices of an orbital data center: the space side of ``[cost]`` (`CostConfig`).

    Attributes:
        bus_cost_usd_per_kg: cost of the satellite less its accelerator servers, per kg
            of satellite dry mass [USD/kg]: structure, arrays, radiators, power, ADCS,
            comms, integration and test.
        accelerator_price_usd: unit price of one accelerator [USD].
        host_cost_fraction: cost of the rest of the server (CPUs, memory, NICs, board,
            switches) as a fraction of the accelerators' price [1].
        launch_price_usd_per_kg: launch price per kg of dry mass launched [USD/kg].
        ground_segment_fixed_usd: ground stations and mission control [USD].
        ground_segment_per_satellite_usd: ground segment cost growing with the fleet [USD].
        insurance_fraction: launch-plus-one-year premium, fraction of launch + satellite
            (bus and accelerators) cost [1].
        operations_fixed_usd_per_year: operations team, licences, spectrum [USD/year].
        operations_per_satellite_usd_per_year: per-satellite operations [USD/year].
        mission_life_years: life over which the capital is recovered [years].
        discount_rate_per_year: real discount rate [1/year], > -1.
        failure_rate_per_year: constant failure rate of a satellite [1/year]; failed
            satellites are not replaced.
    """

    # ASSUMPTION: between Starlink-class mass production (analyst estimates of USD 0.25-1 M
    # for 260-800 kg satellites, ~1-2 k USD/kg) and commercial smallsat buses (tens of
    # k USD/kg, SMAD 3rd ed. ch. 20 / USCM8 cost models); no published figure for a
    # mass-produced compute satellite.
    bus_cost_usd_per_kg: float = attrs.field(default=5_000.0, validator=non_negative)
    # Raymond James estimate reported by CNBC (Aug 2023): H100 USD 25,000-30,000 per GPU;
    # midpoint. No list price is published by NVIDIA.
    accelerator_price_usd: float = attrs.field(default=27_500.0, validator=non_negative)
    # ASSUMPTION: the non-GPU share of an 8-GPU HGX H100 server; industry estimates of a
    # whole server at USD 250-400 k against 8 x 27.5 k of GPUs give 0.15-0.8; 0.5 mid.
    host_cost_fraction: float = attrs.field(default=0.5, validator=in_range(0.0, 10.0))
    # ASSUMPTION, the commonly quoted ~3,000 USD/kg of a Falcon 9: its list price USD 69.75 M
    # (SpaceX Capabilities & Services page, standard mission, 2024) over its published
    # 22,800 kg to LEO (the expendable figure) is 3,060 USD/kg; over the ~17,500 kg it
    # lifts with booster recovery (plugins/launch.py), 3,990. Rideshare is ~6,000 USD/kg.
    launch_price_usd_per_kg: float = attrs.field(default=3_000.0, validator=non_negative)
    # ASSUMPTION: a few optical/RF ground stations (order USD 1-3 M each) plus a mission
    # control centre; no published figure for a compute constellation.
    ground_segment_fixed_usd: float = attrs.field(default=10e6, validator=non_negative)
    # ASSUMPTION: licensing, user-terminal/gateway capacity growing with the fleet.
    ground_segment_per_satellite_usd: float = attrs.field(default=50e3, validator=non_negative)
    # ASSUMPTION: launch-plus-one-year premium rates quoted in the trade press at
    # 5-10 % of insured value (2023-2024); mass-produced fleets often self-insure.
    insurance_fraction: float = attrs.field(default=0.05, validator=in_range(0.0, 1.0))
    # ASSUMPTION: a small operations team (~20 people at ~USD 250 k loaded cost).
    operations_fixed_usd_per_year: float = attrs.field(default=5e6, validator=non_negative)
    # ASSUMPTION: automated fleet operations, conjunction screening, per satellite.
    operations_per_satellite_usd_per_year: float = attrs.field(default=20e3, validator=non_negative)
    # Starlink design life ~5 years (SpaceX FCC filings, SAT-MOD-20200417-00037); also the
    # ~5-year life of AI accelerators on the ground (see GroundCost.hardware_life_years).
    mission_life_years: float = attrs.field(default=5.0, validator=positive)
    # ASSUMPTION: a real cost of capital of 8 %/year, typical of infrastructure WACC.
    discount_rate_per_year: float = attrs.field(default=0.08, validator=_discount)
    # ASSUMPTION: order of the 1-3 % of Starlink satellites reported failed early
    # (J. McDowell's Starlink statistics); no data for compute satellites.
    failure_rate_per_year: float = attrs.field(default=0.02, validator=non_negative)


@attrs.frozen
class GroundCost:
    """Prices of a terrestrial AI data center: ``[cost.ground]`` (`CostConfig.ground`).

    Attributes:
        facility_capex_usd_per_mw_it: facility capital cost per MW of IT (critical) load
            [USD/MW], IT equipment excluded.
        accelerator_price_usd: unit price of one accelerator [USD] (same as space).
        host_cost_fraction: server cost beyond the accelerators, fraction of their price [1].
        pue: power usage effectiveness, facility power / IT power [1], >= 1.
        electricity_price_usd_per_kwh: electricity price [USD/kWh].
        utilisation: fraction of available time the accelerators run at peak [1].
        availability: fraction of the year the accelerators are up [1].
        facility_life_years: life over which the facility is recovered [years].
        hardware_life_years: life over which the servers are recovered [years].
        operations_fraction_per_year: staff and maintenance per year, fraction of the
            facility capital [1/year].
        discount_rate_per_year: real discount rate [1/year], > -1.
    """

    # Cushman & Wakefield, Data Center Development Cost Guide 2025: USD 11.7 M per MW of
    # critical load, average of 19 US markets (9.3-15.0); land, soft costs and IT excluded.
    # JLL 2026 Global Data Center Outlook: USD 11.3 M/MW global average (2026 forecast).
    facility_capex_usd_per_mw_it: float = attrs.field(default=11.7e6, validator=non_negative)
    # Same source and figure as SpaceCost.accelerator_price_usd (CNBC/Raymond James, 2023).
    accelerator_price_usd: float = attrs.field(default=27_500.0, validator=non_negative)
    # Same ASSUMPTION as SpaceCost.host_cost_fraction.
    host_cost_fraction: float = attrs.field(default=0.5, validator=in_range(0.0, 10.0))
    # ASSUMPTION between Google's fleet-wide trailing-twelve-month PUE of 1.09-1.10
    # (Google Environmental Report 2024) and the industry average 1.56 (Uptime Institute
    # Global Data Center Survey 2024): 1.2 for a new liquid-cooled AI hall.
    pue: float = attrs.field(default=1.2, validator=in_range(1.0, 5.0))
    # EIA Electric Power Monthly, table 5.6.A: US industrial average retail price
    # ~8.1 cents/kWh (2024 annual average).
    electricity_price_usd_per_kwh: float = attrs.field(default=0.081, validator=non_negative)
    # ASSUMPTION: accelerators kept busy whenever up, the same duty the twin counts in
    # orbit (peak FLOP/s x time in the training state), so the comparison isolates the site.
    utilisation: float = attrs.field(default=1.0, validator=in_range(0.0, 1.0, lo_open=True))
    # ASSUMPTION: Tier III facility 99.982 % (Uptime Institute Tier Standard) less ~1 % of
    # node downtime for hardware faults and repair.
    availability: float = attrs.field(default=0.99, validator=in_range(0.0, 1.0, lo_open=True))
    # ASSUMPTION: 15 years, the shorter end of the 15-25-year lives of data-center
    # buildings and electrical/mechanical plant in operators' filings.
    facility_life_years: float = attrs.field(default=15.0, validator=positive)
    # Amazon 10-K 2024 (filed Feb 2025): useful life of some servers cut from 6 to 5
    # years for the pace of AI; Microsoft and Alphabet use 6.
    hardware_life_years: float = attrs.field(default=5.0, validator=positive)
    # ASSUMPTION: 3 %/year of facility capital for staff, maintenance and property costs,
    # a common rule of thumb; no published AI-specific figure.
    operations_fraction_per_year: float = attrs.field(default=0.03, validator=in_range(0.0, 1.0))
    # Same ASSUMPTION as SpaceCost.discount_rate_per_year.
    discount_rate_per_year: float = attrs.field(default=0.08, validator=_discount)


def _optional_non_negative(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None:
        non_negative(instance, attribute, value)


@attrs.frozen
class CostConfig(SpaceCost):
    # the docstring is SpaceCost's keys plus these, assembled below (one source per key)
    launch_price_usd_per_kg: float | None = attrs.field(default=None, validator=_optional_non_negative)
    simulate_failures: bool = True
    ground: GroundCost = attrs.Factory(GroundCost)


CostConfig.__doc__ = """Table ``[cost]``: the space side's prices (`SpaceCost`'s keys, flat), whether
    failures are simulated in the run, and the ground side's prices in ``[cost.ground]``
    (`GroundCost`'s keys). Without the table every key takes its default and no failure
    is simulated.

    Attributes:""" + SpaceCost.__doc__.split("Attributes:", 1)[1].rstrip().replace(
    "launch_price_usd_per_kg: launch price per kg of dry mass launched [USD/kg].",
    "launch_price_usd_per_kg: launch price per kg of dry mass launched [USD/kg]; left out:\n"
    "            the launch plan's (``[launch]``, total price / mass launched), or without a\n"
    "            ``[launch]`` table 3,000 (the commonly quoted Falcon 9 figure, `SpaceCost`).") + """
        simulate_failures: draw each satellite's failure time in the run (module
            docstring) when ``failure_rate_per_year > 0``; false leaves every satellite
            working in the run and applies the rate in the cost only.
        ground: ``[cost.ground]``, the terrestrial data center (`GroundCost`).
    """


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------

@attrs.frozen
class SpaceCostBreakdown:
    """Annualised costs of a fleet [USD/year] and the cost of what it delivers.

    Attributes:
        launch_usd_per_year, bus_usd_per_year, accelerators_usd_per_year,
        ground_segment_usd_per_year, insurance_usd_per_year: capital x CRF.
        operations_usd_per_year: running costs.
        total_usd_per_year: the sum of the six.
        capital_usd: undiscounted capital paid at launch.
        mean_alive_fraction: mean fraction of the fleet working over the life.
        delivered_pflop_days_per_year: delivery after failures.
        accelerator_hours_per_year: accelerator-hours after failures.
        usd_per_pflop_day, usd_per_accelerator_hour: total / delivery.
    """

    launch_usd_per_year: float
    bus_usd_per_year: float
    accelerators_usd_per_year: float
    ground_segment_usd_per_year: float
    insurance_usd_per_year: float
    operations_usd_per_year: float
    total_usd_per_year: float
    capital_usd: float
    mean_alive_fraction: float
    delivered_pflop_days_per_year: float
    accelerator_hours_per_year: float
    usd_per_pflop_day: float
    usd_per_accelerator_hour: float


@attrs.frozen
class GroundCostBreakdown:
    """Annualised costs of a terrestrial data center [USD/year] and the cost of what it
    delivers.

    Attributes:
        facility_usd_per_year, accelerators_usd_per_year: capital x CRF.
        electricity_usd_per_year, operations_usd_per_year: running costs.
        total_usd_per_year: the sum of the four.
        capital_usd: undiscounted capital (facility + servers).
        delivered_pflop_days_per_year: peak x utilisation x availability x 365.25.
        accelerator_hours_per_year: n x utilisation x availability x 8766.
        usd_per_pflop_day, usd_per_accelerator_hour: total / delivery.
    """

    facility_usd_per_year: float
    accelerators_usd_per_year: float
    electricity_usd_per_year: float
    operations_usd_per_year: float
    total_usd_per_year: float
    capital_usd: float
    delivered_pflop_days_per_year: float
    accelerator_hours_per_year: float
    usd_per_pflop_day: float
    usd_per_accelerator_hour: float


@attrs.frozen
class DeliveryEstimate:
    """Delivery of a whole mission extrapolated from a shorter run.

    Attributes:
        pflop_days_per_year: the run's mean rate, per year (feed this to `space_cost`).
        pflop_days_over_mission: the same rate over the mission.
        rule: the rule used, in words.
    """

    pflop_days_per_year: float
    pflop_days_over_mission: float
    rule: str


# --------------------------------------------------------------------------------------
# Arithmetic
# --------------------------------------------------------------------------------------

def _check_positive(key: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise SpecValueError(key, value, "a finite number > 0")
    return float(value)


def _check_non_negative(key: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise SpecValueError(key, value, "a finite number >= 0")
    return float(value)


def _check_count(key: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecValueError(key, value, "a whole number >= 1")
    return value


def capital_recovery_factor(discount_rate_per_year: float, life_years: float) -> float:
    """CRF(r, n) = r (1 + r)^n / ((1 + r)^n - 1), the constant yearly payment that repays
    one unit of capital over ``n`` years at rate ``r``; 1 / n when r = 0 [1/year].

    Raises `SpecValueError` when r <= -1 or n <= 0.
    """
    r, n = discount_rate_per_year, life_years
    if isinstance(r, bool) or not isinstance(r, (int, float)) or not math.isfinite(r) or r <= -1:
        raise SpecValueError("discount_rate_per_year", r, "a finite number > -1")
    _check_positive("life_years", n)
    if abs(r) < 1e-12:
        return 1.0 / n
    g = (1.0 + r) ** n
    return r * g / (g - 1.0)


def levelised_annual_cost_usd(capital_usd: float, discount_rate_per_year: float, life_years: float,
                              running_usd_per_year: float = 0.0) -> float:
    """capital x CRF(r, n) + running costs per year [USD/year]."""
    _check_non_negative("capital_usd", capital_usd)
    _check_non_negative("running_usd_per_year", running_usd_per_year)
    return capital_usd * capital_recovery_factor(discount_rate_per_year, life_years) + running_usd_per_year


def mean_alive_fraction(failure_rate_per_year: float, life_years: float) -> float:
    """(1 - exp(-lambda L)) / (lambda L): the mean over [0, L] of exp(-lambda t), the
    expected fraction of a fleet still working when failures are not replaced; 1 at
    lambda = 0."""
    lam = _check_non_negative("failure_rate_per_year", failure_rate_per_year)
    x = lam * _check_positive("life_years", life_years)
    if x < 1e-9:
        return 1.0 - x / 2.0
    return -math.expm1(-x) / x


def space_cost(cfg: SpaceCost, n_sats: int, sat_dry_mass_kg: float, accelerators_per_sat: int,
               delivered_pflop_days_per_year: float,
               accelerator_hours_per_year: float | None = None) -> SpaceCostBreakdown:
    """Annualised cost of ``n_sats`` satellites and their cost per PFLOP-day and per
    accelerator-hour (module docstring for the equations).

    Args:
        cfg: the prices.
        n_sats: satellites launched.
        sat_dry_mass_kg: dry mass of one satellite, servers included [kg]; the launched mass.
        accelerators_per_sat: accelerators on one satellite.
        delivered_pflop_days_per_year: the fleet's delivery with every satellite working
            [PFLOP-days/year] (e.g. `extrapolate_delivery` of a twin run).
        accelerator_hours_per_year: the fleet's accelerator-hours with every satellite
            working; default every accelerator all year (n_sats x k x 8766).

    Failures scale both deliveries by `mean_alive_fraction`.
    """
    n = _check_count("n_sats", n_sats)
    m = _check_positive("sat_dry_mass_kg", sat_dry_mass_kg)
    k = _check_count("accelerators_per_sat", accelerators_per_sat)
    d = _check_positive("delivered_pflop_days_per_year", delivered_pflop_days_per_year)
    _check_non_negative("launch_price_usd_per_kg", cfg.launch_price_usd_per_kg)  # None: resolve it (space_config)
    hours = (n * k * HOURS_PER_YEAR if accelerator_hours_per_year is None
             else _check_positive("accelerator_hours_per_year", accelerator_hours_per_year))

    crf = capital_recovery_factor(cfg.discount_rate_per_year, cfg.mission_life_years)
    launch = n * m * cfg.launch_price_usd_per_kg
    bus = n * m * cfg.bus_cost_usd_per_kg
    accel = n * k * cfg.accelerator_price_usd * (1.0 + cfg.host_cost_fraction)
    ground = cfg.ground_segment_fixed_usd + n * cfg.ground_segment_per_satellite_usd
    insurance = cfg.insurance_fraction * (launch + bus + accel)
    capital = launch + bus + accel + ground + insurance
    ops = cfg.operations_fixed_usd_per_year + n * cfg.operations_per_satellite_usd_per_year
    total = capital * crf + ops
    alive = mean_alive_fraction(cfg.failure_rate_per_year, cfg.mission_life_years)
    d_alive, h_alive = d * alive, hours * alive
    return SpaceCostBreakdown(
        launch_usd_per_year=launch * crf, bus_usd_per_year=bus * crf,
        accelerators_usd_per_year=accel * crf, ground_segment_usd_per_year=ground * crf,
        insurance_usd_per_year=insurance * crf, operations_usd_per_year=ops,
        total_usd_per_year=total, capital_usd=capital, mean_alive_fraction=alive,
        delivered_pflop_days_per_year=d_alive, accelerator_hours_per_year=h_alive,
        usd_per_pflop_day=total / d_alive, usd_per_accelerator_hour=total / h_alive)


def ground_cost(cfg: GroundCost, n_accelerators: int, it_power_w: float,
                peak_pflops: float) -> GroundCostBreakdown:
    """Annualised cost of a terrestrial data center and its cost per PFLOP-day and per
    accelerator-hour (module docstring for the equations).

    Args:
        cfg: the prices.
        n_accelerators: accelerators in the hall.
        it_power_w: IT load, accelerators and hosts at full power [W] (e.g. n x TDP x
            (1 + host_overhead_fraction) from the accelerator catalog); sizes the
            facility and, times PUE, the electricity drawn while up.
        peak_pflops: the fleet's peak [PFLOP/s] (n x peak_bf16_flops / 1e15).
    """
    n = _check_count("n_accelerators", n_accelerators)
    w = _check_positive("it_power_w", it_power_w)
    f = _check_positive("peak_pflops", peak_pflops)

    facility = w / 1e6 * cfg.facility_capex_usd_per_mw_it
    accel = n * cfg.accelerator_price_usd * (1.0 + cfg.host_cost_fraction)
    facility_y = facility * capital_recovery_factor(cfg.discount_rate_per_year, cfg.facility_life_years)
    accel_y = accel * capital_recovery_factor(cfg.discount_rate_per_year, cfg.hardware_life_years)
    energy_kwh = w / 1e3 * cfg.pue * HOURS_PER_YEAR * cfg.availability
    electricity_y = energy_kwh * cfg.electricity_price_usd_per_kwh
    ops_y = cfg.operations_fraction_per_year * facility
    total = facility_y + accel_y + electricity_y + ops_y
    duty = cfg.utilisation * cfg.availability
    delivered = f * duty * DAYS_PER_YEAR
    hours = n * duty * HOURS_PER_YEAR
    return GroundCostBreakdown(
        facility_usd_per_year=facility_y, accelerators_usd_per_year=accel_y,
        electricity_usd_per_year=electricity_y, operations_usd_per_year=ops_y,
        total_usd_per_year=total, capital_usd=facility + accel,
        delivered_pflop_days_per_year=delivered, accelerator_hours_per_year=hours,
        usd_per_pflop_day=total / delivered, usd_per_accelerator_hour=total / hours)


def parity_launch_price_usd_per_kg(space_cfg: SpaceCost, n_sats: int, sat_dry_mass_kg: float,
                                   accelerators_per_sat: int, delivered_pflop_days_per_year: float,
                                   ground_usd_per_pflop_day: float) -> float | None:
    """The launch price [USD/kg] at which the space cost per PFLOP-day equals
    ``ground_usd_per_pflop_day``; None when even a free launch costs more than the ground.

    The space cost per PFLOP-day is affine in the launch price p::

        c(p) = (A + B p) / D'       B = N m (1 + i) CRF(r, L),  D' = D x alive
        A    = annual cost at p = 0
        p*   = (g D' - A) / B        (None when p* < 0)

    All other prices are ``space_cfg``'s (its own launch price is ignored).
    """
    g = _check_positive("ground_usd_per_pflop_day", ground_usd_per_pflop_day)
    free = space_cost(attrs.evolve(space_cfg, launch_price_usd_per_kg=0.0), n_sats, sat_dry_mass_kg,
                      accelerators_per_sat, delivered_pflop_days_per_year)
    crf = capital_recovery_factor(space_cfg.discount_rate_per_year, space_cfg.mission_life_years)
    slope = n_sats * sat_dry_mass_kg * (1.0 + space_cfg.insurance_fraction) * crf
    p = (g * free.delivered_pflop_days_per_year - free.total_usd_per_year) / slope
    return p if p >= 0.0 else None


def extrapolate_delivery(delivered_pflop_days: float, run_days: float,
                         mission_years: float) -> DeliveryEstimate:
    """Extrapolate a run shorter than the mission by its mean delivery rate.

    Rule: rate = delivered / run_days [PFLOP-days per day]; per year = rate x 365.25;
    over the mission = per year x mission_years. The run should cover whole orbits and,
    for a mission with seasons (beta angle, eclipse seasons), a representative season
    or a year; failures are not applied here (`space_cost` applies them over the mission).
    For a run with a deployment ramp or simulated failures use
    `orbitwin_plugins.costreport.normalised_delivery`, which divides them out.
    """
    d = _check_non_negative("delivered_pflop_days", delivered_pflop_days)
    t = _check_positive("run_days", run_days)
    life = _check_positive("mission_years", mission_years)
    per_year = d / t * DAYS_PER_YEAR
    return DeliveryEstimate(
        pflop_days_per_year=per_year, pflop_days_over_mission=per_year * life,
        rule=f"mean rate of a {t:g}-day run ({d / t:.6g} PFLOP-days/day) scaled to "
             f"{DAYS_PER_YEAR} days/year and {life:g} years; no failures, no degradation")


# --------------------------------------------------------------------------------------
# The scenario's prices
# --------------------------------------------------------------------------------------

@attrs.frozen
class LaunchPricing:
    """The launch price a costing uses and where it comes from.

    Attributes:
        price_usd_per_kg: launch price per kg of satellite dry mass [USD/kg].
        source: where it comes from, in words.
        n_launches: launches of the launch plan (NaN without a plan).
        sat_mass_kg: the mass per satellite the plan launches [kg] (``[launch]
            sat_mass_kg`` when given, else the mass asked for; NaN without a plan).
    """

    price_usd_per_kg: float
    source: str
    n_launches: float
    sat_mass_kg: float


def cost_table(scenario: Any) -> CostConfig:
    """The scenario's ``[cost]`` table, or every default when it has none (or when the
    costs plugin is not loaded)."""
    cfg = scenario.section("cost") if scenario is not None else None
    return cfg if isinstance(cfg, CostConfig) else CostConfig()


#: Keys of ``[cost.ground]`` that follow the space side's when the table leaves them out:
#: the same accelerators and servers are compared on both sides.
SHARED_PRICES = ("accelerator_price_usd", "host_cost_fraction")


def ground_config(scenario: Any) -> GroundCost:
    """The ground side's prices: ``[cost.ground]``, defaults where absent, except the
    accelerator price and host share (`SHARED_PRICES`), which follow ``[cost]``'s unless
    ``[cost.ground]`` sets them: the same accelerators cost the same on both sides."""
    cfg = cost_table(scenario)
    raw = (getattr(scenario, "raw", None) or {}).get("cost", {})
    given = raw.get("ground", {}) if isinstance(raw, dict) else {}
    given = given if isinstance(given, dict) else {}
    follow = {k: getattr(cfg, k) for k in SHARED_PRICES if k not in given}
    return attrs.evolve(cfg.ground, **follow) if follow else cfg.ground


def _launch_plan(scenario: Any, sat_mass_kg: float) -> Any:
    """The launch plugin's plan for satellites of ``sat_mass_kg`` [kg]
    (`orbitwin_plugins.launch.scenario_launch_plan`); None when there is none (no such
    function, or no mass to plan for)."""
    from orbitwin_plugins import launch

    plan_for = getattr(launch, "scenario_launch_plan", None)
    if plan_for is None or scenario is None or not scenario.has_table("launch"):
        return None  # no [launch] table: no plan to price (a default plan's part-filled launches would)
    try:
        return plan_for(scenario, float(sat_mass_kg or 0.0))
    except ScenarioError:
        if sat_mass_kg and sat_mass_kg > 0:
            raise  # a vehicle that cannot lift the satellite: the user's to fix
        return None  # no mass, no [launch] sat_mass_kg: nothing to plan


def launch_pricing(scenario: Any, sat_mass_kg: float) -> LaunchPricing:
    """The launch price per kg for satellites of ``sat_mass_kg`` [kg]: ``[cost]
    launch_price_usd_per_kg`` when given; else the launch plan's total price / mass
    launched (`orbitwin_plugins.launch.scenario_launch_plan`); else the `SpaceCost`
    default (Falcon 9 list price per kg to LEO). Launches: the plan's, NaN without one."""
    given = cost_table(scenario).launch_price_usd_per_kg
    plan = _launch_plan(scenario, sat_mass_kg)
    launches = float(plan.n_launches) if plan is not None else math.nan
    mass = plan.delivered_kg / plan.sat_launch_index.shape[0] if plan is not None else math.nan
    if given is not None:
        return LaunchPricing(float(given), "[cost] launch_price_usd_per_kg", launches, mass)
    if plan is not None:
        return LaunchPricing(float(plan.cost_per_kg_usd),
                             f"launch plan: {plan.n_launches} x {plan.vehicle.name} at USD "
                             f"{plan.vehicle.price_usd:,.0f} for {plan.delivered_kg:,.0f} kg", launches, mass)
    default = attrs.fields(SpaceCost).launch_price_usd_per_kg.default
    return LaunchPricing(float(default), "default: Falcon 9 list price per kg to LEO (no [launch] table)",
                         launches, mass)


def space_config(scenario: Any, sat_mass_kg: float | None = None) -> SpaceCost:
    """The space side's prices of ``scenario`` as a `SpaceCost`, the launch price
    resolved by `launch_pricing` for satellites of ``sat_mass_kg`` [kg] (without a mass,
    the table's price or the default: no plan can be made)."""
    cfg = cost_table(scenario)
    fields = {a.name: getattr(cfg, a.name) for a in attrs.fields(SpaceCost)}
    fields["launch_price_usd_per_kg"] = launch_pricing(scenario, sat_mass_kg or 0.0).price_usd_per_kg
    return SpaceCost(**fields)


# --------------------------------------------------------------------------------------
# Failures in the run
# --------------------------------------------------------------------------------------

#: Second word of the failure generator's seed, so that another plugin seeded by the same
#: ``[scenario] seed`` draws an independent stream ("cost" in ASCII).
FAILURE_STREAM = 0x636F7374
FAILED = "cost.failed"
WORKING = "cost.working_fraction"
FAILURE_TIME = "cost.failure_time_s"
ACTIVE_FROM = "launch.active_from_s"
FAILED_COUNT = "constellation.failed_satellites"


def failure_times_s(seed: int, failure_rate_per_year: float, n_total: int,
                    sat_index: Any = None) -> np.ndarray:
    """Time from each satellite's start of service to its failure [s]:
    ``E_j / lambda x SECONDS_PER_YEAR`` with ``E_j ~ Exp(1)`` the ``j``-th draw of a
    PCG64 generator seeded by ``(seed, FAILURE_STREAM)``, for global satellite indices
    ``sat_index`` (default all ``n_total``). The draws are made for the whole
    constellation in index order, so any slice of satellites (a shard) gets the same
    times as a whole run; infinity where ``lambda = 0``."""
    lam = _check_non_negative("failure_rate_per_year", failure_rate_per_year)
    n = _check_count("n_total", n_total)
    idx = np.arange(n) if sat_index is None else np.asarray(sat_index, dtype=np.int64)
    if lam == 0.0:
        return np.full(idx.shape, np.inf)
    e = np.random.default_rng([int(seed), FAILURE_STREAM]).standard_exponential(n)
    return e[idx] / lam * SECONDS_PER_YEAR


def simulates_failures(scenario: Any) -> bool:
    """Whether the run draws failures: a ``[cost]`` table with ``simulate_failures``
    and ``failure_rate_per_year > 0``."""
    if scenario is None or not scenario.has_table("cost"):
        return False
    cfg = cost_table(scenario)
    return cfg.simulate_failures and cfg.failure_rate_per_year > 0


@hookimpl
def orbitwin_config_sections() -> dict[str, type]:
    return {"cost": CostConfig}


@hookimpl
def orbitwin_variables(scenario: Any) -> list[Variable] | None:
    if scenario is not None and not simulates_failures(scenario):
        return None
    return [Variable(FAILURE_TIME, "s", "time the satellite fails, since the epoch (drawn: [cost] "
                     "failure_rate_per_year)", "parameter", "f64", record=False),
            Variable(FAILED, "1", "whether the satellite has failed (1) and delivers nothing", "output", "i8",
                     flags={0: "working", 1: "failed"}),
            Variable(WORKING, "1", "share of the satellite's accelerators not failed (0 or 1)", "output", "f32",
                     record=False)]


@hookimpl
def orbitwin_contributions(scenario: Any) -> list[Contribution] | None:
    if not simulates_failures(scenario):
        return None
    return [Contribution("payload.available_fraction", WORKING, reason="failed")]


@hookimpl
def orbitwin_metrics(scenario: Any) -> list[Metric] | None:
    if not simulates_failures(scenario):
        return None
    return [Metric(FAILED_COUNT, FAILED, "sum", "1", "satellites failed (still in the constellation, "
                   "delivering nothing)")]


@hookimpl
def orbitwin_initial_state(scenario: Any, state: Any) -> None:
    """Each satellite's failure time: its draw from its start of service
    (``launch.active_from_s`` when declared, else the epoch)."""
    if not simulates_failures(scenario) or not state.has(FAILURE_TIME):
        return
    times = failure_times_s(scenario.run.seed, cost_table(scenario).failure_rate_per_year, state.n_total)
    if state.has(ACTIVE_FROM):
        times[state.rows] += np.asarray(state.get(ACTIVE_FROM), dtype=np.float64)
    state.set(FAILURE_TIME, times)


@hookimpl
def orbitwin_stages(scenario: Any, state: Any) -> list[Stage] | None:
    if not simulates_failures(scenario):
        return None
    import taichi as ti

    fail_t, failed, working = state.field(FAILURE_TIME), state.field(FAILED), state.field(WORKING)

    @ti.func
    def fail(i, k, t, dt):
        gone = 0
        if t >= fail_t[i]:
            gone = 1
        failed[i] = ti.cast(gone, ti.i8)
        working[i] = ti.cast(1 - gone, ti.f32)

    return [Stage("cost.fail", fail, writes=[FAILED, WORKING])]


# --------------------------------------------------------------------------------------
# After a run: the numbers a sweep keeps, and `orbitwin cost`
# --------------------------------------------------------------------------------------

@hookimpl
def orbitwin_case_results(scenario: Any, store: Any) -> list[CaseResult] | None:
    """The cost of the run's delivered compute (`orbitwin_plugins.costreport.evaluate`),
    or None when the scenario has no payload."""
    if scenario.section("payload") is None:
        return None
    from orbitwin_plugins import costreport

    return costreport.evaluate(scenario, costreport.plugin_manager_for(store), store).case_results()


@hookimpl
def orbitwin_cli(group: Any) -> None:
    from orbitwin_plugins.costreport import cost_command

    group.add_command(cost_command)


__all__ = ["DAYS_PER_YEAR", "HOURS_PER_YEAR", "SECONDS_PER_YEAR", "CostConfig", "DeliveryEstimate", "GroundCost",
           "GroundCostBreakdown", "LaunchPricing", "SpaceCost", "SpaceCostBreakdown", "capital_recovery_factor",
           "cost_table", "extrapolate_delivery", "failure_times_s", "ground_config", "ground_cost",
           "launch_pricing", "levelised_annual_cost_usd", "mean_alive_fraction",
           "parity_launch_price_usd_per_kg", "simulates_failures", "space_config", "space_cost"]
