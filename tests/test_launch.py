"""Launch catalog, payload model and launch planning (plugins/launch.py)."""

from __future__ import annotations

import datetime as dt
import math

import attrs
import numpy as np
import pytest

from orbitwin_plugins.launch import (VEHICLES, LaunchConfig, LaunchVehicle, hohmann_dv_m_s, lookup,
                            payload_to_orbit_kg, plan_launches)
from twin_core.validators import SpecValueError

START = dt.datetime(2030, 1, 1)


def _vehicle(**kw) -> LaunchVehicle:
    base = dict(family="Test", reusable=True, payload_leo_kg=20_000.0, leo_altitude_km=200.0,
                leo_inclination_deg=28.5, price_usd=50e6, launches_per_year=12.0,
                upper_stage_isp_s=350.0, upper_stage_dry_kg=4000.0, fairing_diameter_m=4.6,
                fairing_height_m=11.0, fairing_volume_m3=100.0, source="test")
    base.update(kw)
    return LaunchVehicle(**base)


def test_catalog_has_required_vehicles_with_sources():
    names = set(VEHICLES)
    for n in ("Falcon 9 (reusable)", "Falcon 9 (expendable)", "Falcon Heavy (expendable)",
              "Starship (reusable)", "New Glenn (reusable)"):
        assert n in names
    for v in VEHICLES.values():
        assert v.source and len(v.source) > 40
    assert VEHICLES["Falcon 9 (reusable)"].price_usd == 69.75e6
    assert VEHICLES["Falcon 9 (expendable)"].payload_leo_kg == 22_800.0
    assert "ASSUMPTION" in VEHICLES["Starship (reusable)"].source


@pytest.mark.parametrize("name", sorted(VEHICLES))
def test_payload_at_reference_orbit_equals_catalog(name):
    v = VEHICLES[name]
    assert payload_to_orbit_kg(v, v.leo_altitude_km, v.leo_inclination_deg) == pytest.approx(v.payload_leo_kg)


def test_payload_decreases_with_altitude_and_inclination():
    v = VEHICLES["Falcon 9 (reusable)"]
    alts = [payload_to_orbit_kg(v, h, 53.0) for h in (200, 300, 550, 800, 1200)]
    assert all(a > b for a, b in zip(alts, alts[1:]))
    incs = [payload_to_orbit_kg(v, 550.0, i) for i in (28.5, 40, 53, 70, 97.6, 120)]
    assert all(a > b for a, b in zip(incs, incs[1:]))
    below = [payload_to_orbit_kg(v, 550.0, i) for i in (28.5, 20, 10, 0)]
    assert all(a > b for a, b in zip(below, below[1:]))
    # below the reference altitude no credit is taken
    assert payload_to_orbit_kg(v, 150.0, 28.5) == pytest.approx(v.payload_leo_kg)


def test_payload_rocket_equation_by_hand():
    v = _vehicle(upper_stage_dry_kg=0.0)
    dv = hohmann_dv_m_s(200.0, 550.0)
    assert 190.0 < dv < 210.0  # ~ 200 m/s for 200 -> 550 km
    expect = 20_000.0 * math.exp(-dv / (350.0 * 9.80665))
    assert payload_to_orbit_kg(v, 550.0, 28.5) == pytest.approx(expect)


def test_sso_interpolation_hits_both_figures():
    v = _vehicle(payload_sso_kg=15_000.0, sso_altitude_km=500.0, sso_inclination_deg=97.4)
    assert payload_to_orbit_kg(v, 500.0, 97.4) == pytest.approx(15_000.0)
    mid = payload_to_orbit_kg(v, 500.0, 60.0)
    assert payload_to_orbit_kg(v, 500.0, 97.4) < mid < payload_to_orbit_kg(v, 500.0, 28.5)
    assert payload_to_orbit_kg(v, 500.0, 110.0) < 15_000.0


def test_plan_arithmetic_by_hand():
    v = _vehicle()  # 20,000 kg at its reference orbit
    p = plan_launches(v, 81, 2000.0, 200.0, 28.5, start=START)
    assert (p.sats_per_launch, p.n_launches, p.binding) == (10, 9, "mass")
    assert p.total_cost_usd == 9 * 50e6
    assert p.cost_per_kg_usd == pytest.approx(9 * 50e6 / (81 * 2000.0))
    step = np.diff(p.launch_dates).astype("int64")
    assert np.all(np.abs(step - 365.25 / 12 * 86400) <= 1)
    assert p.launch_dates[0] == np.datetime64("2030-01-01T00:00:00")
    assert list(p.sat_launch_index[:11]) == [0] * 10 + [1]
    assert p.sat_launch_index[-1] == 8
    assert np.all(p.active_from - p.sat_launch_dates == np.timedelta64(30 * 86400, "s"))


def test_plan_overrides_and_planes():
    v = _vehicle()
    p = plan_launches(v, 24, 2000.0, 200.0, 28.5, start=START, plane_count=2,
                      launches_per_year=365.25, price_usd=10e6, orbit_raising_days=0.0)
    # 12 per plane, 10 per launch -> 2 launches per plane, one plane per launch
    assert p.n_launches == 4 and p.total_cost_usd == 40e6
    assert list(p.sat_launch_index) == [0] * 10 + [1] * 2 + [2] * 10 + [3] * 2
    assert p.launch_dates[1] - p.launch_dates[0] == np.timedelta64(86400, "s")
    assert np.all(p.active_from == p.sat_launch_dates)
    with pytest.raises(SpecValueError) as e:
        plan_launches(v, 25, 2000.0, 200.0, 28.5, start=START, plane_count=2)
    assert e.value.key == "plane_count"


def test_volume_binding():
    v = _vehicle(fairing_volume_m3=100.0)
    # mass allows 10; volume 0.5 x 100 / 8 = 6.25 -> 6
    p = plan_launches(v, 30, 2000.0, 200.0, 28.5, sat_volume_m3=8.0, start=START)
    assert (p.sats_per_launch_mass, p.sats_per_launch_volume) == (10, 6)
    assert (p.sats_per_launch, p.binding, p.n_launches) == (6, "volume", 5)
    p = plan_launches(v, 30, 2000.0, 200.0, 28.5, sat_volume_m3=1.0, start=START)
    assert p.binding == "mass" and p.sats_per_launch == 10


def test_cannot_lift_one_satellite():
    v = _vehicle()
    with pytest.raises(SpecValueError) as e:
        plan_launches(v, 5, 25_000.0, 200.0, 28.5, start=START)
    assert e.value.key == "launch.vehicle" and "sat_mass_kg" in str(e.value)
    with pytest.raises(SpecValueError) as e:
        plan_launches(v, 5, 100.0, 200.0, 28.5, sat_volume_m3=500.0, start=START)
    assert e.value.key == "launch.vehicle"


def test_bad_figures_name_their_key():
    with pytest.raises(SpecValueError) as e:
        _vehicle(price_usd=-1.0)
    assert e.value.key == "price_usd"
    with pytest.raises(SpecValueError) as e:
        LaunchConfig(price_usd=-5.0)
    assert e.value.key == "price_usd"
    with pytest.raises(SpecValueError) as e:
        plan_launches(_vehicle(), 5, 100.0, 200.0, 28.5, start=START, price_usd=-1.0)
    assert e.value.key == "launch.price_usd"
    with pytest.raises(SpecValueError) as e:
        _vehicle(payload_sso_kg=1000.0)
    assert e.value.key == "payload_sso_kg"


def test_config_lookup_and_spelling():
    c = LaunchConfig(vehicle="Falcon 9", reusable=False, launches_per_year=50.0, price_usd=80e6)
    v = c.launch_vehicle()
    assert v.payload_leo_kg == 22_800.0 and v.launches_per_year == 50.0 and v.price_usd == 80e6
    assert attrs.evolve(c, price_usd=None).launch_vehicle().price_usd == VEHICLES["Falcon 9 (expendable)"].price_usd
    with pytest.raises(SpecValueError) as e:
        LaunchConfig(vehicle="Falcon9")
    assert e.value.key == "vehicle" and "did you mean 'Falcon 9'" in str(e.value)
    with pytest.raises(SpecValueError) as e:
        LaunchConfig(vehicle="Starship", reusable=False)
    assert e.value.key == "reusable"
    with pytest.raises(SpecValueError) as e:
        LaunchConfig(orbit_raising_days=-1.0)
    assert e.value.key == "orbit_raising_days"
    assert lookup("New Glenn").payload_leo_kg == 45_000.0


def test_in_orbit_assembly_launches_a_heavy_satellite_in_parts():
    """300 t satellites on a 100 t-class vehicle: refused by default, else ceil(300 t /
    capacity) launches each, the satellite operational after its last part plus orbit
    raising."""
    import datetime as _dt

    from orbitwin_plugins.launch import plan_launches

    v = lookup("Starship")
    start = _dt.datetime(2027, 1, 1, tzinfo=_dt.timezone.utc)
    with pytest.raises(SpecValueError, match="in_orbit_assembly"):
        plan_launches(v, 4, 300_000.0, 650.0, 97.99, start=start)
    plan = plan_launches(v, 4, 300_000.0, 650.0, 97.99, start=start, in_orbit_assembly=True)
    cap = payload_to_orbit_kg(v, 650.0, 97.99)
    parts = int(np.ceil(300_000.0 / cap))
    assert plan.launches_per_satellite == parts and plan.n_launches == 4 * parts
    assert plan.total_cost_usd == pytest.approx(4 * parts * v.price_usd)
    step = np.timedelta64(int(round(365.25 / v.launches_per_year * 86400)), "s")
    raise_s = np.timedelta64(30 * 86400, "s")
    assert plan.active_from[1] - plan.launch_dates[0] == (2 * parts - 1) * step + raise_s
    # a satellite that fits is planned as before, assembly or not
    light = plan_launches(v, 4, 1000.0, 650.0, 97.99, start=start, in_orbit_assembly=True)
    assert light.launches_per_satellite == 1 and light.sats_per_launch >= 4
