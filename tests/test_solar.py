"""The solar plugin: normal-incidence output against its formula, the cosine law for
body-fixed arrays (the dawn-dusk array facing the orbit normal gives sin(beta)), frames,
degradation, the taichi stage against the numpy reference, budgets and configuration
errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from orbitwin_plugins import solar
from orbitwin_plugins.constants import AU_M, SOLAR_CONSTANT_W_M2
from orbitwin_plugins.solar import SolarConfig, cos_incidence_numpy, degradation_numpy, generated_numpy
from twin_core import ScenarioError
from twin_core.runner import parse
from twin_core.testing import plugin_manager, run_scenario

HEAD = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 1.6
step_s = 60
record_every_s = 480
"""
WALKER = '[[orbit.shell]]\nkind = "walker_delta"\ntotal = 4\nplanes = 2\naltitude_km = 550\ninclination = 53\n'
# dawn-dusk SSO in the eclipse season (June solstice): beta ~ 58 deg, short eclipses
DAWN_DUSK = ('[[orbit.shell]]\nkind = "walker_star"\ntotal = 6\nplanes = 1\naltitude_km = 650\n'
             'inclination = "sso"\nltan_h = 18.0\n')


@pytest.fixture(scope="module")
def pm():
    return plugin_manager()


# --------------------------------------------------------------------------------------
# the formula (numpy reference)
# --------------------------------------------------------------------------------------


def test_normal_incidence_formula_by_hand() -> None:
    """At 1 AU in full sun, at the epoch: P = S0 A p eta f_asm (1 + gamma (T - T_ref))
    (1 - D)^y0, each factor typed in by hand; relative 1e-15."""
    cfg = SolarConfig(area_m2=12.5, efficiency_bol=0.3, packing_factor=0.9, assembly_factor=0.95,
                      temperature_coefficient_per_k=-0.002, reference_temperature_k=300.0,
                      operating_temperature_k=350.0, degradation_per_year=0.02, mission_years_at_epoch=2.0)
    expected = 1360.8 * 12.5 * 0.9 * 0.3 * 0.95 * (1.0 - 0.002 * 50.0) * 0.98**2
    got = generated_numpy(cfg, 0.0, 1.0, np.array([1.0, 0.0, 0.0]), AU_M)
    assert got == pytest.approx(expected, rel=1e-15)
    # the flux scales with the inverse square of the Sun's distance and with illumination
    assert generated_numpy(cfg, 0.0, 0.25, np.array([0.0, 1.0, 0.0]), 0.5 * AU_M) == pytest.approx(expected, rel=1e-15)
    assert SOLAR_CONSTANT_W_M2 == 1360.8


def test_degradation_compounds_per_julian_year() -> None:
    """f_deg = (1 - D)^(y0 + t / 365.25 d): 1 at BOL, (1 - D) after one Julian year,
    (1 - D)^2.5 half a year after a two-year-old epoch; relative 1e-14."""
    cfg = SolarConfig(area_m2=1.0, degradation_per_year=0.1)
    year = 365.25 * 86400.0
    np.testing.assert_allclose(degradation_numpy(cfg, [0.0, year, 3 * year]), [1.0, 0.9, 0.729], rtol=1e-14)
    old = SolarConfig(area_m2=1.0, degradation_per_year=0.1, mission_years_at_epoch=2.0)
    assert degradation_numpy(old, 0.5 * year) == pytest.approx(0.9**2.5, rel=1e-14)


@pytest.mark.parametrize("frame,normal", [("rsw", [1.0, 0.0, 0.0]), ("lvlh", [0.0, 0.0, -1.0]),
                                          ("eci", [1.0, 0.0, 0.0])])
def test_body_fixed_cosine_law(frame: str, normal: list[float]) -> None:
    """A normal along the radial direction (RSW R, LVLH -z, or ECI x for a satellite on
    the x axis) with the Sun at angle theta from it: cos(theta) for theta < 90 deg and 0
    behind the array; absolute 1e-15."""
    cfg = SolarConfig(area_m2=1.0, pointing="body_fixed", frame=frame, normal=normal)
    theta = np.radians(np.linspace(0.0, 180.0, 37))
    s = np.stack([np.cos(theta), np.sin(theta), np.zeros_like(theta)], axis=-1)
    r, v = np.array([7.0e6, 0.0, 0.0]), np.array([0.0, 7.5e3, 0.0])
    np.testing.assert_allclose(cos_incidence_numpy(cfg, s, r, v), np.maximum(np.cos(theta), 0.0), rtol=0, atol=1e-15)
    p0 = generated_numpy(cfg, 0.0, 1.0, s[0], AU_M, r, v)
    np.testing.assert_allclose(generated_numpy(cfg, 0.0, 1.0, s, AU_M, r, v), p0 * np.maximum(np.cos(theta), 0.0),
                               rtol=1e-14, atol=1e-12)


def test_frames_map_their_axes() -> None:
    """For r along x and v along y (R = x, S = y, W = z): RSW (0,1,0) and LVLH (1,0,0) are
    along-track, RSW (0,0,1) and LVLH (0,-1,0) the orbit normal, LVLH (0,0,1) nadir."""
    r, v = np.array([7.0e6, 0.0, 0.0]), np.array([0.0, 7.5e3, 0.0])
    cases = [("rsw", [0, 1, 0], [0, 1, 0]), ("lvlh", [1, 0, 0], [0, 1, 0]), ("rsw", [0, 0, 2], [0, 0, 1]),
             ("lvlh", [0, -1, 0], [0, 0, 1]), ("lvlh", [0, 0, 1], [-1, 0, 0])]
    for frame, normal, eci in cases:
        cfg = SolarConfig(area_m2=1.0, pointing="body_fixed", frame=frame, normal=[float(x) for x in normal])
        assert cos_incidence_numpy(cfg, np.array(eci, float), r, v) == pytest.approx(1.0, abs=1e-15), (frame, normal)


# --------------------------------------------------------------------------------------
# the taichi stage in the engine
# --------------------------------------------------------------------------------------


def _check_against_reference(res, cfg: SolarConfig) -> np.ndarray:
    sdir, sdist = res.common["environment.sun_dir_eci"], res.common["environment.sun_distance_m"]
    np.testing.assert_allclose(res.common["solar.degradation"], degradation_numpy(cfg, res.times_s), rtol=1e-15)
    ref = generated_numpy(cfg, res.times_s[:, None], res.sat["environment.illumination"], sdir[:, None, :],
                          sdist[:, None], res.sat["orbit.r_eci_m"], res.sat["orbit.v_eci_m_s"])
    got = res.sat["power.generated_w"]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=2e-7, atol=1e-6)
    return ref


def test_sun_tracking_in_the_engine(pm) -> None:
    """Four satellites over one orbit, sun-tracking, an aged array: in full sun the output
    is S0 (AU/d)^2 A p eta f_asm f_T (1 - D)^(y0 + t/yr) (float32: relative 2e-7), zero in
    umbra; the stage equals `generated_numpy`; the constellation metric is the sum."""
    text = HEAD + WALKER + "[solar]\narea_m2 = 20\ndegradation_per_year = 0.05\nmission_years_at_epoch = 3\n"
    res = run_scenario(text, pm=pm)
    cfg = SolarConfig(area_m2=20.0, degradation_per_year=0.05, mission_years_at_epoch=3.0)
    _check_against_reference(res, cfg)
    nu = res.sat["environment.illumination"]
    lit, dark = nu == 1.0, nu == 0.0
    assert lit.any() and dark.any()
    d = res.common["environment.sun_distance_m"][:, None]
    f_deg = 0.95 ** (3.0 + res.times_s[:, None] / (365.25 * 86400.0))
    full = SOLAR_CONSTANT_W_M2 * (AU_M / d) ** 2 * 20.0 * cfg.packing_factor * cfg.efficiency_bol \
        * cfg.assembly_factor * cfg.temperature_factor * f_deg
    gen = res.sat["power.generated_w"].astype(np.float64)
    np.testing.assert_allclose(gen[lit], np.broadcast_to(full, gen.shape)[lit], rtol=2e-7)
    assert np.all(gen[dark] == 0.0)
    np.testing.assert_allclose(res.metrics_at_records["constellation.generated_w"], gen.sum(axis=1), rtol=1e-6)


@pytest.mark.parametrize("frame,normal", [("rsw", "[0, 0, 1]"), ("lvlh", "[0.3, 0.5, -0.8]")])
def test_body_fixed_dawn_dusk_in_the_engine(pm, frame: str, normal: str) -> None:
    """A dawn-dusk group, body-fixed array: the stage equals the numpy reference on the
    recorded positions; facing the orbit normal (RSW W), the output is the full-sun output
    times sin(beta), beta the environment plugin's beta angle (float32 degrees: relative
    1e-5)."""
    text = HEAD.replace("2026-03-20", "2026-06-21").replace("duration_h = 1.6", "duration_h = 0.8") + DAWN_DUSK + (
        f'[solar]\narea_m2 = 8\npointing = "body_fixed"\nframe = "{frame}"\nnormal = {normal}\n')
    res = run_scenario(text, pm=pm)
    n = [float(x) for x in normal[1:-1].split(",")]
    cfg = SolarConfig(area_m2=8.0, pointing="body_fixed", frame=frame, normal=n)
    ref = _check_against_reference(res, cfg)
    assert np.any(ref > 0)
    if frame == "rsw":
        d = res.common["environment.sun_distance_m"][:, None]
        tracking = generated_numpy(SolarConfig(area_m2=8.0), res.times_s[:, None], res.sat["environment.illumination"],
                                   np.array([1.0, 0.0, 0.0]), d)
        beta = np.radians(res.sat["environment.beta_deg"].astype(np.float64))
        assert np.all(beta > math.radians(45.0))  # the array faces the Sun's side of the plane
        np.testing.assert_allclose(res.sat["power.generated_w"], tracking * np.sin(beta), rtol=1e-5, atol=1e-4)


# --------------------------------------------------------------------------------------
# budgets and configuration
# --------------------------------------------------------------------------------------


def test_budgets(pm) -> None:
    """Mass = rated power / specific power; the nominal power item is the full-sun output
    at the epoch (operating temperature and the epoch's degradation included)."""
    sc = parse(HEAD + WALKER + "[solar]\narea_m2 = 10\nspecific_power_w_kg = 50\n", pm)
    cfg = sc.section("solar")
    [(_, [mass])] = [r for r in pm.call("orbitwin_mass_budget", scenario=sc) if r[0] == "solar"]
    rated = SOLAR_CONSTANT_W_M2 * 10.0 * cfg.packing_factor * cfg.efficiency_bol * cfg.assembly_factor
    assert mass.mass_kg == pytest.approx(rated / 50.0, rel=1e-15) and mass.fraction == 0.0
    [(_, [item])] = [r for r in pm.call("orbitwin_power_budget", scenario=sc) if r[0] == "solar"]
    assert item.power_w == pytest.approx(rated * cfg.temperature_factor, rel=1e-15)


def test_inactive_without_its_table(pm) -> None:
    sc = parse(HEAD + WALKER, pm)
    assert sc.section("solar") is None
    assert solar.orbitwin_variables(sc) is None and solar.orbitwin_common_series(sc) is None


@pytest.mark.parametrize("body,key", [
    ("area_m2 = -3", "solar.area_m2"),
    ("area_m2 = 0", "solar.area_m2"),
    ("area_m2 = 1\nefficiency_bol = 1.2", "solar.efficiency_bol"),
    ("area_m2 = 1\npacking_factor = 0", "solar.packing_factor"),
    ("area_m2 = 1\ndegradation_per_year = 1", "solar.degradation_per_year"),
    ("area_m2 = 1\nmission_years_at_epoch = -1", "solar.mission_years_at_epoch"),
    ("area_m2 = 1\noperating_temperature_k = 900", "solar.operating_temperature_k"),
    ('area_m2 = 1\npointing = "nadir"', "solar.pointing"),
    ('area_m2 = 1\npointing = "body_fixed"\nnormal = [0, 0, 1]', "solar.frame"),
    ('area_m2 = 1\npointing = "body_fixed"\nframe = "rsw"', "solar.normal"),
    ('area_m2 = 1\npointing = "body_fixed"\nframe = "rsw"\nnormal = [0, 0, 0]', "solar.normal"),
    ('area_m2 = 1\npointing = "body_fixed"\nframe = "rsw"\nnormal = [0, 1]', "solar.normal"),
    ('area_m2 = 1\nframe = "rsw"', "solar.frame"),
    ('area_m2 = 1\nnormal = [1, 0, 0]', "solar.normal"),
    ('area_m2 = 1\nframe = "body"', "solar.frame"),
    ("efficiency_bol = 0.3", "solar.area_m2"),
    ('area_m2 = "big"', "solar.area_m2"),
])
def test_bad_values_name_the_key(pm, body: str, key: str) -> None:
    with pytest.raises(ScenarioError) as err:
        parse(HEAD + WALKER + "[solar]\n" + body + "\n", pm)
    assert err.value.key == key, str(err.value)
