"""plugins/costs.py: levelised cost of delivered compute in orbit and on the ground, and
the parity launch price, against hand calculations."""

import math

import attrs
import numpy as np
import pytest

from orbitwin_plugins.costs import (DAYS_PER_YEAR, HOURS_PER_YEAR, GroundCost, SpaceCost, capital_recovery_factor,
                           extrapolate_delivery, ground_cost, levelised_annual_cost_usd,
                           mean_alive_fraction, parity_launch_price_usd_per_kg, space_cost)
from twin_core.validators import SpecValueError

SMALL = SpaceCost(bus_cost_usd_per_kg=1000.0, accelerator_price_usd=10_000.0, host_cost_fraction=0.5,
                  launch_price_usd_per_kg=2000.0, ground_segment_fixed_usd=1e6,
                  ground_segment_per_satellite_usd=1e5, insurance_fraction=0.1,
                  operations_fixed_usd_per_year=2e5, operations_per_satellite_usd_per_year=5e4,
                  mission_life_years=5.0, discount_rate_per_year=0.0, failure_rate_per_year=0.1)


def test_crf_against_hand_values():
    assert capital_recovery_factor(0.08, 5) == pytest.approx(0.25046, abs=5e-6)
    assert capital_recovery_factor(0.0, 4) == 0.25
    assert capital_recovery_factor(0.05, 1) == pytest.approx(1.05)
    # continuity at r = 0
    assert capital_recovery_factor(1e-9, 10) == pytest.approx(0.1, rel=1e-6)
    assert levelised_annual_cost_usd(1000.0, 0.0, 4, 50.0) == 300.0


def test_mean_alive_fraction():
    assert mean_alive_fraction(0.0, 5) == 1.0
    assert mean_alive_fraction(0.1, 5) == pytest.approx((1 - math.exp(-0.5)) / 0.5)
    assert mean_alive_fraction(1e-12, 5) == pytest.approx(1.0)


def test_space_breakdown_against_hand_calculation():
    """2 satellites of 100 kg, 4 accelerators each, r = 0, L = 5 (CRF = 0.2), lambda = 0.1:

    launch     = 2 x 100 x 2000          =   400,000 -> 80,000 /yr
    bus        = 2 x 100 x 1000          =   200,000 -> 40,000 /yr
    accel.     = 2 x 4 x 10,000 x 1.5    =   120,000 -> 24,000 /yr
    ground seg.= 1e6 + 2 x 1e5           = 1,200,000 -> 240,000 /yr
    insurance  = 0.1 x 720,000           =    72,000 -> 14,400 /yr
    operations = 2e5 + 2 x 5e4           =   300,000 /yr
    total      = 698,400 /yr; capital 1,992,000
    alive      = (1 - e^-0.5) / 0.5      = 0.78693868...
    delivered  = 1000 x alive PFLOP-days/yr -> 698,400 / (1000 alive) USD/PFLOP-day
    acc.-hours = 2 x 4 x 8766 x alive
    """
    b = space_cost(SMALL, 2, 100.0, 4, 1000.0)
    alive = (1 - math.exp(-0.5)) / 0.5
    assert b.launch_usd_per_year == pytest.approx(80_000)
    assert b.bus_usd_per_year == pytest.approx(40_000)
    assert b.accelerators_usd_per_year == pytest.approx(24_000)
    assert b.ground_segment_usd_per_year == pytest.approx(240_000)
    assert b.insurance_usd_per_year == pytest.approx(14_400)
    assert b.operations_usd_per_year == pytest.approx(300_000)
    assert b.total_usd_per_year == pytest.approx(698_400)
    assert b.capital_usd == pytest.approx(1_992_000)
    assert b.mean_alive_fraction == pytest.approx(alive)
    assert b.usd_per_pflop_day == pytest.approx(698_400 / (1000 * alive))
    assert b.usd_per_accelerator_hour == pytest.approx(698_400 / (8 * 8766 * alive))
    # the same with r = 8 %: capital x CRF(0.08, 5) + operations
    b8 = space_cost(attrs.evolve(SMALL, discount_rate_per_year=0.08), 2, 100.0, 4, 1000.0, 5000.0)
    assert b8.total_usd_per_year == pytest.approx(1_992_000 * 0.2504564545668364 + 300_000)
    assert b8.usd_per_accelerator_hour == pytest.approx(b8.total_usd_per_year / (5000 * alive))


def test_ground_against_hand_calculation():
    """10 accelerators, 10 kW IT, 10 PFLOP/s peak, r = 0:

    facility    = 0.01 MW x 10e6 = 100,000 over 10 y -> 10,000 /yr
    servers     = 10 x 10,000 x 1.5 = 150,000 over 5 y -> 30,000 /yr
    electricity = 10 kW x 1.25 x 8766 h x 0.9 x 0.10 = 9,861.75 /yr
    operations  = 0.02 x 100,000 = 2,000 /yr           total 51,861.75 /yr
    delivered   = 10 x 0.8 x 0.9 x 365.25 = 2,629.8 PFLOP-days/yr
    acc.-hours  = 10 x 0.8 x 0.9 x 8766 = 63,115.2
    """
    cfg = GroundCost(facility_capex_usd_per_mw_it=10e6, accelerator_price_usd=10_000.0, host_cost_fraction=0.5,
                     pue=1.25, electricity_price_usd_per_kwh=0.10, utilisation=0.8, availability=0.9,
                     facility_life_years=10.0, hardware_life_years=5.0, operations_fraction_per_year=0.02,
                     discount_rate_per_year=0.0)
    g = ground_cost(cfg, 10, 10_000.0, 10.0)
    assert g.facility_usd_per_year == pytest.approx(10_000)
    assert g.accelerators_usd_per_year == pytest.approx(30_000)
    assert g.electricity_usd_per_year == pytest.approx(9_861.75)
    assert g.operations_usd_per_year == pytest.approx(2_000)
    assert g.total_usd_per_year == pytest.approx(51_861.75)
    assert g.capital_usd == pytest.approx(250_000)
    assert g.delivered_pflop_days_per_year == pytest.approx(2_629.8)
    assert g.usd_per_pflop_day == pytest.approx(51_861.75 / 2_629.8)
    assert g.usd_per_accelerator_hour == pytest.approx(51_861.75 / 63_115.2)


def _cheap_space():
    return SpaceCost(bus_cost_usd_per_kg=200.0, insurance_fraction=0.02, failure_rate_per_year=0.01,
                     ground_segment_fixed_usd=1e6, operations_fixed_usd_per_year=1e6)


@pytest.mark.parametrize("ground_usd_per_pflop_day", [60.0, 100.0, 400.0])
def test_parity_price_makes_the_costs_equal(ground_usd_per_pflop_day):
    cfg, args = _cheap_space(), (1000, 150.0, 8, 8 * 1000 * 0.9894 * 0.99 * DAYS_PER_YEAR)
    p = parity_launch_price_usd_per_kg(cfg, *args, ground_usd_per_pflop_day)
    assert p is not None and p > 0
    at_parity = space_cost(attrs.evolve(cfg, launch_price_usd_per_kg=p), *args)
    assert at_parity.usd_per_pflop_day == pytest.approx(ground_usd_per_pflop_day, rel=1e-9)


def test_parity_impossible_returns_none():
    cfg, args = _cheap_space(), (1000, 150.0, 8, 8 * 1000 * 0.9894 * 0.99 * DAYS_PER_YEAR)
    free = space_cost(attrs.evolve(cfg, launch_price_usd_per_kg=0.0), *args).usd_per_pflop_day
    assert parity_launch_price_usd_per_kg(cfg, *args, free * 0.999) is None
    assert parity_launch_price_usd_per_kg(cfg, *args, free * 1.001) == pytest.approx(0.0, abs=50.0)


def test_cost_falls_with_launch_price():
    costs = [space_cost(attrs.evolve(SMALL, launch_price_usd_per_kg=p), 2, 100.0, 4, 1000.0).usd_per_pflop_day
             for p in (10_000.0, 3_000.0, 1_000.0, 100.0, 0.0)]
    assert all(a > b for a, b in zip(costs, costs[1:]))


def test_extrapolate_delivery_scales_the_mean_rate():
    e = extrapolate_delivery(10.0, 2.0, 5.0)
    assert e.pflop_days_per_year == pytest.approx(5.0 * DAYS_PER_YEAR)
    assert e.pflop_days_over_mission == pytest.approx(5.0 * DAYS_PER_YEAR * 5)
    assert "mean rate" in e.rule
    assert HOURS_PER_YEAR == 24 * DAYS_PER_YEAR


@pytest.mark.parametrize("make, key", [
    (lambda: SpaceCost(launch_price_usd_per_kg=-1.0), "launch_price_usd_per_kg"),
    (lambda: SpaceCost(discount_rate_per_year=-1.0), "discount_rate_per_year"),
    (lambda: SpaceCost(mission_life_years=0.0), "mission_life_years"),
    (lambda: SpaceCost(insurance_fraction=1.5), "insurance_fraction"),
    (lambda: GroundCost(electricity_price_usd_per_kwh=-0.1), "electricity_price_usd_per_kwh"),
    (lambda: GroundCost(pue=0.9), "pue"),
    (lambda: GroundCost(facility_life_years=0.0), "facility_life_years"),
    (lambda: GroundCost(discount_rate_per_year=-2.0), "discount_rate_per_year"),
    (lambda: capital_recovery_factor(-1.0, 5), "discount_rate_per_year"),
    (lambda: capital_recovery_factor(0.08, 0), "life_years"),
    (lambda: space_cost(SpaceCost(), 0, 100.0, 8, 1.0), "n_sats"),
    (lambda: space_cost(SpaceCost(), 1, -5.0, 8, 1.0), "sat_dry_mass_kg"),
    (lambda: ground_cost(GroundCost(), 8, 0.0, 1.0), "it_power_w"),
    (lambda: extrapolate_delivery(1.0, 0.0, 5.0), "run_days"),
    (lambda: parity_launch_price_usd_per_kg(SpaceCost(), 1, 100.0, 8, 1.0, -3.0), "ground_usd_per_pflop_day"),
])
def test_bad_values_name_the_key(make, key):
    with pytest.raises(SpecValueError) as err:
        make()
    assert err.value.key == key


# --------------------------------------------------------------------------------------
# Parity on a case with a known answer
# --------------------------------------------------------------------------------------

def _bare(**kw):
    """One 100 kg satellite, one free accelerator, r = 0 and L = 1 (CRF = 1), nothing
    else priced unless given: the annual cost is 100 p (1 + i) + operations."""
    base = dict(bus_cost_usd_per_kg=0.0, accelerator_price_usd=0.0, host_cost_fraction=0.0,
                ground_segment_fixed_usd=0.0, ground_segment_per_satellite_usd=0.0, insurance_fraction=0.0,
                operations_fixed_usd_per_year=0.0, operations_per_satellite_usd_per_year=0.0,
                mission_life_years=1.0, discount_rate_per_year=0.0, failure_rate_per_year=0.0)
    return SpaceCost(**{**base, **kw})


@pytest.mark.parametrize("kw, expected", [
    ({}, 5.0),                                   # c(p) = 100 p / 10 = 10 p = 50  ->  p = 5
    ({"insurance_fraction": 0.25}, 4.0),         # 125 p / 10 = 50                ->  p = 4
    ({"insurance_fraction": 0.25, "operations_fixed_usd_per_year": 100.0}, 3.2),  # (100 + 125 p) / 10 = 50
])
def test_parity_known_answer(kw, expected):
    """Delivery 10 PFLOP-days a year, ground 50 USD/PFLOP-day: parity solved by hand."""
    assert parity_launch_price_usd_per_kg(_bare(**kw), 1, 100.0, 1, 10.0, 50.0) == pytest.approx(expected)


# --------------------------------------------------------------------------------------
# The run's delivery: extrapolation with active and failed satellites
# --------------------------------------------------------------------------------------

def test_normalised_delivery_by_active_and_working_satellites():
    """4 satellites, samples 10 s apart: delivered 2, 4, 4 PFLOP/s with 2, 4, 4 deployed
    and 0, 0, 1 failed, so working 2, 4, 3; per fleet of 4: 2x4/2 = 4, 4x4/4 = 4,
    4x4/3 = 16/3; mean rate (4 + 4 + 16/3) / 3 = 40/9 PFLOP/s."""
    from orbitwin_plugins.costreport import normalised_delivery

    d = normalised_delivery([0, 10, 20, 30], [0, 2, 4, 4], 4, 5.0, active=[0, 2, 4, 4], failed=[0, 0, 0, 1])
    assert d.pflop_days_per_year == pytest.approx(40 / 9 * DAYS_PER_YEAR)
    assert d.pflop_days_over_mission == pytest.approx(40 / 9 * DAYS_PER_YEAR * 5)
    assert d.delivered_pflop_days == pytest.approx((2 + 4 + 4) * 10 / 86400)
    assert d.run_days == pytest.approx(30 / 86400)
    assert d.normalised_by == "active and working"
    assert d.mean_working_fraction == pytest.approx((2 + 4 + 3) / 3 / 4)
    # no one working: the sample says nothing (left out); without counts: the plain mean rate
    d = normalised_delivery([0, 10, 20], [0, 0, 3], 4, 5.0, active=[0, 0, 4])
    assert d.pflop_days_per_year == pytest.approx(3 * DAYS_PER_YEAR) and d.run_days == pytest.approx(10 / 86400)
    plain = normalised_delivery([0, 10, 30], [9, 2, 5], 4, 1.0)
    assert plain.pflop_days_per_year == pytest.approx((2 * 10 + 5 * 20) / 30 * DAYS_PER_YEAR)
    assert plain.normalised_by == "none"
    assert plain.pflop_days_per_year == pytest.approx(
        extrapolate_delivery(plain.delivered_pflop_days, plain.run_days, 1.0).pflop_days_per_year)


def test_normalised_delivery_needs_a_working_satellite():
    from orbitwin_plugins.costreport import normalised_delivery
    from twin_core import UserError

    with pytest.raises(UserError, match="no time step with a working"):
        normalised_delivery([0, 10], [0, 0], 2, 5.0, active=[0, 0])


# --------------------------------------------------------------------------------------
# The [cost] table and the launch price
# --------------------------------------------------------------------------------------

HEAD = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 6
step_s = 120
record_every_s = 1200
seed = 11

[[orbit.shell]]
kind = "walker_delta"
total = 4
planes = 2
altitude_km = 550
inclination = 53.0

[solar]
area_m2 = 55.0

[battery]
capacity_wh = 25000

[power]

[payload]
count = 8

[thermal]
radiator_area_m2 = 13.0
"""


@pytest.fixture(scope="module")
def pm():
    from twin_core.testing import plugin_manager

    return plugin_manager()


def _parse(text, pm):
    from twin_core.runner import parse

    return parse(text, pm, path="cost.toml")


def test_cost_table_flat_and_ground_subtable(pm):
    from orbitwin_plugins.costs import cost_table, ground_config, simulates_failures

    sc = _parse(HEAD + "[cost]\nbus_cost_usd_per_kg = 2000\nsimulate_failures = false\n"
                "[cost.ground]\npue = 1.1\n", pm)
    assert cost_table(sc).bus_cost_usd_per_kg == 2000.0 and cost_table(sc).launch_price_usd_per_kg is None
    assert ground_config(sc) == GroundCost(pue=1.1)
    assert not simulates_failures(sc)
    bare = _parse(HEAD, pm)
    assert cost_table(bare) == cost_table(bare).__class__() and ground_config(bare) == GroundCost()
    assert not simulates_failures(bare)  # no [cost] table: nothing drawn
    assert simulates_failures(_parse(HEAD + "[cost]\n", pm))  # the default rate, 2 %/year


@pytest.mark.parametrize("extra, key", [
    ("[cost]\n[cost.ground]\npue = 0.5\n", "cost.ground.pue"),
    ("[cost]\nlaunch_price_usd_per_kg = -3\n", "cost.launch_price_usd_per_kg"),
    ("[cost]\nbus_cost_usd_per_kilo = 3\n", "cost.bus_cost_usd_per_kilo"),
    ("[cost]\nsimulate_failures = 1\n", "cost.simulate_failures"),
])
def test_cost_table_errors_name_the_key(pm, extra, key):
    from twin_core import ScenarioError

    with pytest.raises(ScenarioError) as err:
        _parse(HEAD + extra, pm)
    assert err.value.key == key and "cost.toml" in str(err.value)


def test_launch_price_from_the_plan_or_the_table(pm):
    from orbitwin_plugins.costs import launch_pricing, space_config
    from orbitwin_plugins.launch import scenario_launch_plan

    # without a [launch] table: the sourced default, no plan
    bare = _parse(HEAD + "[cost]\n", pm)
    assert launch_pricing(bare, 1000.0).price_usd_per_kg == 3000.0
    assert math.isnan(launch_pricing(bare, 1000.0).n_launches)
    sc = _parse(HEAD + "[cost]\n[launch]\n", pm)
    plan = scenario_launch_plan(sc, 1000.0)
    got = launch_pricing(sc, 1000.0)
    assert got.price_usd_per_kg == pytest.approx(plan.total_cost_usd / (4 * 1000.0))
    assert got.n_launches == plan.n_launches and "launch plan" in got.source
    assert space_config(sc, 1000.0).launch_price_usd_per_kg == got.price_usd_per_kg
    # launch cost in the space cost = the plan's total price
    b = space_cost(attrs.evolve(space_config(sc, 1000.0), discount_rate_per_year=0.0, mission_life_years=1.0),
                   4, 1000.0, 8, 100.0)
    assert b.launch_usd_per_year == pytest.approx(plan.total_cost_usd)
    fixed = _parse(HEAD + "[cost]\nlaunch_price_usd_per_kg = 1500\n[launch]\n", pm)
    assert launch_pricing(fixed, 1000.0).price_usd_per_kg == 1500.0
    assert launch_pricing(fixed, 1000.0).n_launches == plan.n_launches
    # no mass to plan for: the table's price, or the sourced default
    assert space_config(fixed).launch_price_usd_per_kg == 1500.0
    assert space_config(sc).launch_price_usd_per_kg == 3000.0


def test_ground_accelerators_cost_what_the_space_side_says_unless_set(pm):
    from orbitwin_plugins.costs import ground_config

    sc = _parse(HEAD + "[cost]\naccelerator_price_usd = 12000\nhost_cost_fraction = 0.3\n", pm)
    g = ground_config(sc)
    assert g.accelerator_price_usd == 12000.0 and g.host_cost_fraction == 0.3
    own = _parse(HEAD + "[cost]\naccelerator_price_usd = 12000\n[cost.ground]\naccelerator_price_usd = 9000\n", pm)
    assert ground_config(own).accelerator_price_usd == 9000.0


def test_space_cost_refuses_an_unresolved_launch_price():
    from orbitwin_plugins.costs import CostConfig

    with pytest.raises(SpecValueError) as err:
        space_cost(CostConfig(), 1, 100.0, 8, 1.0)
    assert err.value.key == "launch_price_usd_per_kg"


# --------------------------------------------------------------------------------------
# Failures
# --------------------------------------------------------------------------------------

def test_failure_draws_are_the_same_for_any_slice():
    from orbitwin_plugins.costs import SECONDS_PER_YEAR, failure_times_s

    whole = failure_times_s(3, 0.5, 1000)
    for lo, hi in ((0, 250), (250, 600), (600, 1000), (999, 1000)):
        np.testing.assert_array_equal(failure_times_s(3, 0.5, 1000, np.arange(lo, hi)), whole[lo:hi])
    # a longer constellation keeps the draws of the first satellites (prefix-stable)
    np.testing.assert_array_equal(failure_times_s(3, 0.5, 2000)[:1000], whole)
    assert not np.array_equal(failure_times_s(4, 0.5, 1000), whole)  # the seed matters
    np.testing.assert_allclose(failure_times_s(3, 2.0, 1000), whole / 4)  # T = E / lambda
    assert np.all(np.isinf(failure_times_s(3, 0.0, 5)))
    # exponential with mean 1 / lambda years: 200,000 draws, standard error 0.22 %
    many = failure_times_s(1, 0.5, 200_000) / SECONDS_PER_YEAR
    assert many.mean() == pytest.approx(2.0, rel=0.01)
    assert np.mean(many < 2.0) == pytest.approx(1 - math.exp(-1), abs=0.005)


#: A high rate (mean life 0.01 years, 3.7 days, so that with seed 20 two of 4 satellites
#: fail in the 12 h, one of each launch, and two do not) and a deployment ramp: two
#: launches 6 h apart, each in service 1.2 h after it flies.
FAILING = HEAD.replace("duration_h = 6", "duration_h = 12").replace("seed = 11", "seed = 20") + """
[cost]
failure_rate_per_year = 100.0

[launch]
launches_per_year = 1460
orbit_raising_days = 0.05
"""


@pytest.fixture(scope="module")
def failing_run():
    from twin_core.testing import run_scenario

    return run_scenario(FAILING)


def test_failed_satellites_match_the_drawn_times(failing_run):
    from orbitwin_plugins.costs import failure_times_s

    res = failing_run
    start = res.final["launch.active_from_s"]
    fail_t = start + failure_times_s(20, 100.0, 4)
    np.testing.assert_array_equal(res.final["cost.failure_time_s"], fail_t)  # the clock starts in service
    expected = (res.times_s[:, None] >= fail_t[None, :]).astype(np.int8)
    np.testing.assert_array_equal(res.sat["cost.failed"], expected)
    assert expected[-1].tolist() == [0, 1, 1, 0], "seed 20 fails satellites 1 and 2 (one of each launch)"
    counted = res.metrics["constellation.failed_satellites"]
    np.testing.assert_array_equal(counted, (res.metric_times_s[:, None] >= fail_t[None, :]).sum(axis=1))


def test_failed_satellites_deliver_nothing(failing_run):
    res = failing_run
    failed = res.sat["cost.failed"] == 1
    assert failed.any()
    assert np.all(res.sat["payload.flops"][failed] == 0)
    flags = next(v.flags for v in res.layout.variables if v.name == "payload.loss_reason")
    code = next(k for k, m in flags.items() if m == "failed")
    working_active = ~failed & (res.sat["payload.flops"] > 0)
    assert np.all(res.sat["payload.loss_reason"][failed & (res.sat["sat.active"] == 1)] == code)
    assert working_active.any()


def test_a_shard_draws_the_same_failure_times(failing_run):
    """Satellites 2 and 3 run as one shard get the whole run's failure times."""
    from twin_core.testing import run_scenario

    shard = run_scenario(FAILING, sat_range=(2, 4))
    np.testing.assert_array_equal(shard.final["cost.failure_time_s"][:2], failing_run.final["cost.failure_time_s"][2:])
    np.testing.assert_array_equal(shard.sat["cost.failed"][:, :2], failing_run.sat["cost.failed"][:, 2:])
