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


# --------------------------------------------------------------------------------------
# effects: accelerator failures and upsets, solar cells
# --------------------------------------------------------------------------------------

EFFECTS = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 12
step_s = 60
record_every_s = 600
seed = 42

[[orbit.shell]]
kind = "walker_delta"
total = 4
planes = 2
phasing = 1
altitude_km = 650
inclination = 98.0

[solar]
area_m2 = 30.0

[payload]
count = 8
accelerator = "TPU-v6e"

[radiation]
shielding_mm_al = 2.0
failure_median_krad_si = 0.005  # 5 rad(Si): accelerators fail within hours, as a test wants
failure_sigma = 1.0
upsets_per_rad_si = 5.0
upset_recovery_s = 60.0
"""
FX_ONLY = ("battery", "power", "thermal", "formation", "crosslinks", "ground", "launch", "costs")
N_ACC, MEDIAN, SIGMA = 8, 5.0, 1.0


@pytest.fixture(scope="module")
def fx_run():
    return run_scenario(EFFECTS, disable=FX_ONLY)


def _ecef(run):
    m = ecef_to_eci_matrix(run.times_s, run.layout.plan.scenario.run.epoch)
    return np.einsum("tji,tsj->tsi", m, run.sat["orbit.r_eci_m"].astype(np.float64))


def test_the_kernel_fails_accelerators_at_the_doses_numpy_draws(fx_run):
    from orbitwin_plugins import radiation_effects as fx

    doses = fx.failure_doses(42, np.arange(4), N_ACC, MEDIAN, SIGMA)
    failed = fx_run.sat["radiation.failed_accelerators"]
    np.testing.assert_array_equal(failed, fx.failed_count(doses, fx_run.sat["radiation.dose_rad_si"]))
    assert 0 < failed[-1].sum() < 4 * N_ACC  # some failed, not all: the test sees both
    np.testing.assert_allclose(fx_run.sat["radiation.healthy_fraction"], (N_ACC - failed) / N_ACC, rtol=1e-7)


def test_failed_accelerators_stop_computing_with_reason_radiation(fx_run):
    from orbitwin_plugins.accelerators import lookup

    peak = N_ACC * lookup("TPU-v6e").peak_bf16_flops
    healthy = fx_run.sat["radiation.healthy_fraction"].astype(np.float64)
    np.testing.assert_allclose(fx_run.sat["payload.flops"], peak * healthy, rtol=1e-6)
    flags = fx_run.layout.plan.variable("payload.loss_reason").flags
    code = next(k for k, v in flags.items() if v == "radiation")
    reason = fx_run.sat["payload.loss_reason"]
    assert np.all((reason == code) == (healthy < 1.0))


def test_upsets_redo_delivered_compute_at_the_proton_dose_rate(fx_run):
    from orbitwin_plugins import radiation_effects as fx
    from orbitwin_plugins.accelerators import lookup

    protons, _ = env.trapped_dose_rates(_ecef(fx_run), 2.0, year=2026.0 + 78 / 365.25)
    want = fx.upset_loss(protons, N_ACC, 5.0, 60.0)
    got = fx_run.sat["radiation.upset_loss"].astype(np.float64)
    np.testing.assert_allclose(got, want, rtol=5e-4, atol=1e-7)
    assert got.max() > 0.01 and np.median(got) < 1e-3  # large in the SAA, small elsewhere
    peak = N_ACC * lookup("TPU-v6e").peak_bf16_flops
    failed = fx_run.sat["radiation.failed_accelerators"]
    lost = peak / N_ACC * failed + fx_run.sat["payload.flops"].astype(np.float64) * got
    np.testing.assert_allclose(fx_run.sat["radiation.lost_flops"], lost, rtol=1e-6, atol=1e3)
    np.testing.assert_allclose(fx_run.metrics_at_records["constellation.radiation_lost_pflops"],
                               lost.sum(axis=1) * 1e-15, rtol=1e-6)
    # the running integral: between records it grows by at least the failed accelerators'
    # peak of the earlier record (failures only accumulate) and at most the later one's
    # plus every delivered FLOP
    grown = np.diff(fx_run.sat["radiation.lost_flop"], axis=0)
    lo = peak / N_ACC * failed[:-1] * 600.0
    hi = (peak / N_ACC * failed[1:] + peak) * 600.0
    assert np.all(fx_run.sat["radiation.lost_flop"][0] == 0.0)
    assert np.all((grown >= lo * (1 - 1e-9)) & (grown <= hi))
    assert grown.sum() > lo.sum() * 1.001  # the upsets add to it


def test_the_cells_degrade_with_their_own_dose_and_the_array_follows(fx_run):
    from orbitwin_plugins import radiation_effects as fx
    from orbitwin_plugins.solar import DEGRADATION_PER_YEAR

    cell_dose = fx_run.sat["radiation.cell_dose_rad_si"]
    ref = fx.reference_cell_dose_rad_si_per_year(1.0, 2026.0 + 78 / 365.25)
    want = fx.cell_remaining_fraction(cell_dose, DEGRADATION_PER_YEAR, ref)
    got = fx_run.sat["radiation.cell_remaining_fraction"].astype(np.float64)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert got[-1].max() < 1.0
    # sun-tracking array in full sun: generated / (flux x per-flux power) is the cells' factor
    sc = fx_run.layout.plan.scenario
    per_flux = sc.section("solar").power_per_flux_m2
    d = fx_run.common["environment.sun_distance_m"]
    from orbitwin_plugins.constants import AU_M, SOLAR_CONSTANT_W_M2

    sun = fx_run.sat["environment.illumination"] == 1.0
    ratio = fx_run.sat["power.generated_w"] / (SOLAR_CONSTANT_W_M2 * (AU_M / d[:, None]) ** 2 * per_flux)
    np.testing.assert_allclose(ratio[sun], got[sun], rtol=2e-6)


def test_a_shard_draws_the_same_failures(fx_run):
    shard = run_scenario(EFFECTS, disable=FX_ONLY, sat_range=(1, 3))
    np.testing.assert_array_equal(shard.sat["radiation.failed_accelerators"][:, :2],
                                  fx_run.sat["radiation.failed_accelerators"][:, 1:3])


def test_dose_starts_when_the_satellite_is_deployed():
    text = EFFECTS.replace("[radiation]", """[launch]
vehicle = "Falcon 9"
first_launch = "2026-03-20T06:00:00Z"
orbit_raising_days = 0
one_plane_per_launch = false

[radiation]""")
    res = run_scenario(text, disable=("battery", "power", "thermal", "formation", "crosslinks", "ground", "costs"))
    before = res.times_s < 6 * 3600
    assert np.all(res.sat["radiation.dose_rad_si"][before] == 0.0)
    assert np.all(res.sat["radiation.failed_accelerators"][before] == 0)
    assert np.all(res.sat["radiation.dose_rad_si"][-1] > 0.0)


@pytest.mark.parametrize("line, key", [
    ("failure_sigma = 0", "radiation.failure_sigma"),
    ("failure_sigma = 1.0\njob_accelerators = 0", "radiation.job_accelerators"),
    ("failure_sigma = 1.0\njob_accelerators = 2.5", "radiation.job_accelerators"),
    ("failure_sigma = 1.0\nupset_recovery_s = -5\n#", "radiation.upset_recovery_s"),
    ("failure_sigma = 1.0\ncell_shielding_mm_al = 0.1", "radiation.cell_shielding_mm_al"),
    ("failure_sigma = 1.0\nhard_failures = \"yes\"", "radiation.hard_failures"),
])
def test_bad_effect_values_name_their_key(line, key):
    pm = plugin_manager(disable=FX_ONLY)
    with pytest.raises(ScenarioError) as info:
        text = EFFECTS.replace("upset_recovery_s = 60.0", "") if "upset_recovery_s" in line else EFFECTS
        parse(text.replace("failure_sigma = 1.0", line), pm, "fx.toml")
    assert info.value.key == key


def test_a_seed_that_is_not_an_integer_is_refused_naming_it():
    pm = plugin_manager(disable=FX_ONLY)
    with pytest.raises(ScenarioError) as info:
        parse(EFFECTS.replace("seed = 42", "seed = 4.2"), pm, "fx.toml")
    assert info.value.key == "scenario.seed"


def test_a_satellite_whose_accelerators_all_failed_keeps_running():
    text = (EFFECTS.replace("count = 8", "count = 2")
            .replace("failure_median_krad_si = 0.005 ", "failure_median_krad_si = 0.001 ")
            .replace("failure_sigma = 1.0", "failure_sigma = 0.01"))
    res = run_scenario(text, disable=FX_ONLY)
    assert np.all(res.sat["radiation.failed_accelerators"][-1] == 2)
    assert np.all(res.sat["payload.flops"][-1] == 0.0)
    assert np.all(res.final["radiation.next_failure_dose_rad_si"] == 1e30)  # finite: "no further failure"


def test_without_failure_draws_nothing_fails_and_upsets_still_count():
    res = run_scenario(EFFECTS.replace("failure_sigma = 1.0", "failure_sigma = 1.0\nhard_failures = false"),
                       disable=FX_ONLY)
    assert np.all(res.sat["radiation.failed_accelerators"] == 0)
    assert res.sat["radiation.upset_loss"].max() > 0.0


@pytest.mark.parametrize("line, key", [("upsets_per_rad_si = 5.0", "radiation.upsets_per_rad_si"),
                                       ("failure_sigma = 1.0", "radiation.failure_sigma")])
def test_accelerator_keys_without_a_payload_are_refused(line, key):
    pm = plugin_manager(disable=FX_ONLY)
    text = EFFECTS.replace("[payload]\ncount = 8\naccelerator = \"TPU-v6e\"\n", "")
    sc = parse(text, pm, "fx.toml")
    from twin_core.plan import make_plan

    with pytest.raises(ScenarioError) as info:
        make_plan(sc, pm)
    assert info.value.key in ("radiation.failure_median_krad_si", key)
    assert "[payload]" in str(info.value)
