"""The radiation plugin in the kernel: the dose rate it computes at each satellite's
position equals the numpy model (`orbitwin_plugins.radiation_env`) at the recorded
positions, the dose accumulates it, and bad values name their key."""

import numpy as np
import pytest

from orbitwin_plugins import radiation_env as env
from orbitwin_plugins.ground import ecef_to_eci_matrix
from twin_core.errors import ScenarioError
from twin_core.runner import parse, plugin_manager
from twin_core.testing import run_scenario

SCENARIO = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 12
step_s = 60
record_every_s = 600

[[orbit.shell]]
kind = "walker_delta"
total = 4
planes = 2
phasing = 1
altitude_km = 550
inclination = 55.0

[radiation]
shielding_mm_al = 4.0
"""

ONLY = ("solar", "battery", "power", "payload", "thermal", "formation", "crosslinks", "ground", "launch", "costs")


@pytest.fixture(scope="module")
def run():
    return run_scenario(SCENARIO, disable=ONLY)


def test_the_kernel_s_dose_rate_is_the_model_s_at_every_record(run):
    r_eci = run.sat["orbit.r_eci_m"].astype(np.float64)  # (records, sats, 3)
    m = ecef_to_eci_matrix(run.times_s, run.layout.plan.scenario.run.epoch)  # r_ECI = M r_ECEF
    r_ecef = np.einsum("tji,tsj->tsi", m, r_eci)
    want = env.dose_rate_rad_si_per_s(r_ecef, 4.0, year=2026.0 + 78 / 365.25)
    got = run.sat["radiation.dose_rate_rad_si_s"].astype(np.float64)
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-12 * want.max())
    assert got.max() > 10 * np.median(got)  # the belts (SAA, horns) stand out along the orbits


def test_dose_accumulates_the_rate_and_the_totals_follow(run):
    dose = run.sat["radiation.dose_rad_si"]
    assert np.all(dose[0] == 0.0) and np.all(np.diff(dose, axis=0) >= 0.0)
    # half a day covers the orbit unevenly: its mean rate is the long-term average's order
    mean_rate = dose[-1] / run.times_s[-1]
    avg = env.orbit_average(550.0, 55.0, 4.0)["total"]
    assert np.all((0.1 * avg < mean_rate) & (mean_rate < 10.0 * avg))
    m = run.metrics_at_records
    np.testing.assert_allclose(m["constellation.mean_dose_rad_si"], dose.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(m["constellation.max_dose_rad_si"], dose.max(axis=1), rtol=1e-12)


@pytest.mark.parametrize("line, key", [
    ("shielding_mm_al = -1.0", "radiation.shielding_mm_al"),
    ("shielding_mm_al = 40.0", "radiation.shielding_mm_al"),
    ("year = 2040", "radiation.year"),
])
def test_bad_values_name_their_key(line, key):
    pm = plugin_manager(disable=ONLY)
    with pytest.raises(ScenarioError) as info:
        parse(SCENARIO.replace("shielding_mm_al = 4.0", line), pm, "rad.toml")
    assert info.value.key == key


def test_an_epoch_outside_the_field_model_s_years_names_radiation_year():
    from orbitwin_plugins.radiation import field_year

    pm = plugin_manager(disable=ONLY)
    sc = parse(SCENARIO.replace("2026-03-20", "2036-03-20"), pm, "rad.toml")
    with pytest.raises(ScenarioError) as info:
        field_year(sc, sc.section("radiation"))
    assert info.value.key == "radiation.year"
