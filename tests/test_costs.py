"""plugins/costs.py: levelised cost of delivered compute in orbit and on the ground, and
the parity launch price, against hand calculations."""

import math

import attrs
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
