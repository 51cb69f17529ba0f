"""The environment plugin: shadow geometry against closed forms, beta angle, IR and albedo
scaling, configuration errors, and the taichi stage against the numpy reference."""

from __future__ import annotations

import math

import numpy as np
import pytest

from orbitwin_plugins import environment, shadow
from orbitwin_plugins.constants import AU_M, MU_EARTH_M3_S2, R_EARTH_M, R_SUN_M, SOLAR_CONSTANT_W_M2
from orbitwin_plugins.environment import (
    EnvironmentConfig,
    albedo_numpy,
    beta_deg_numpy,
    earth_ir_numpy,
    environment_numpy,
)
from orbitwin_plugins.ephemeris import sun_position_eci
from orbitwin_plugins.shadow import illumination_numpy
from twin_core import ScenarioError, hookimpl
from twin_core.scenario import parse_scenario

SECTIONS = {"environment": (EnvironmentConfig, "environment")}
HEAD = '[scenario]\nepoch = "2026-03-20T00:00:00Z"\nduration_h = 1\nstep_s = 60\nrecord_every_s = 600\n'


def _ring(h_m: float, beta_deg: float, n: int, u: np.ndarray | None = None):
    """Points on a circular orbit in the x-y plane (normal +z, motion towards +u) and a
    Sun at elevation ``beta`` above that plane, in the x-z plane."""
    b = math.radians(beta_deg)
    s = np.array([math.cos(b), 0.0, math.sin(b)])
    if u is None:
        u = (np.arange(n) + 0.5) / n * 2.0 * math.pi
    r = (R_EARTH_M + h_m) * np.stack([np.cos(u), np.sin(u), np.zeros_like(u)], axis=-1)
    return r, s


def _period_s(h_m: float) -> float:
    return 2.0 * math.pi * math.sqrt((R_EARTH_M + h_m) ** 3 / MU_EARTH_M3_S2)


# --------------------------------------------------------------------------------------
# shadow geometry (numpy reference)
# --------------------------------------------------------------------------------------

CASES = [(400e3, 0.0), (550e3, 30.0), (550e3, 60.0), (1200e3, 45.0), (1200e3, 60.0)]


@pytest.mark.parametrize("h_m,beta_deg", CASES)
def test_cylindrical_eclipse_fraction_closed_form(h_m: float, beta_deg: float) -> None:
    """f = acos( sqrt(h^2 + 2 R h) / ((R + h) cos beta) ) / pi for |beta| < beta*, else 0
    (Vallado 2013 sec. 5.3; exact for a cylindrical shadow and a circular orbit). With N
    evenly spaced samples the fraction is exact to 1/N; tolerance 2/N."""
    n = 200_000
    r, s = _ring(h_m, beta_deg, n)
    f = np.mean(illumination_numpy(r, s, AU_M, "cylindrical") == 0.0)
    arg = math.sqrt(h_m**2 + 2.0 * R_EARTH_M * h_m) / ((R_EARTH_M + h_m) * math.cos(math.radians(beta_deg)))
    expected = math.acos(arg) / math.pi if arg < 1.0 else 0.0
    assert abs(f - expected) <= 2.0 / n


@pytest.mark.parametrize("h_m,beta_deg", CASES)
def test_conical_matches_cylindrical_on_average(h_m: float, beta_deg: float) -> None:
    """The cylinder lies midway between the umbra and penumbra cones, so per orbit
    (a) the sunlight lost, integral of (1 - illumination) dt, and (b) umbra time plus half
    the penumbra time both equal the cylindrical eclipse time within 0.5 s (seen: <= 0.18 s
    out of 15-37 min), and the penumbra lasts 5-30 s per crossing in LEO."""
    n = 200_000
    period = _period_s(h_m)
    r, s = _ring(h_m, beta_deg, n)
    cyl = 1.0 - illumination_numpy(r, s, AU_M, "cylindrical")
    con = 1.0 - illumination_numpy(r, s, AU_M, "conical")
    assert abs(con.mean() - cyl.mean()) * period < 0.5
    umbra = np.mean(con > 1.0 - environment.UMBRA_THRESHOLD)
    pen = np.mean((con > 0.0) & (con <= 1.0 - environment.UMBRA_THRESHOLD))
    assert abs(umbra + 0.5 * pen - cyl.mean()) * period < 0.5
    if cyl.mean() > 0:
        assert 5.0 < 0.5 * pen * period < 30.0


def test_illumination_monotone_through_penumbra() -> None:
    """Entering shadow, the visible fraction falls from 1 to 0 without rising, passing
    through intermediate values (a 1 ms grid across a +/-30 s window)."""
    h = 550e3
    period = _period_s(h)
    r0, s = _ring(h, 20.0, 0, u=np.linspace(0, 2 * math.pi, 100_001))
    cyl = illumination_numpy(r0, s, AU_M, "cylindrical")
    u_entry = np.linspace(0, 2 * math.pi, 100_001)[np.argmax(np.diff(cyl) < 0) + 1]
    u = u_entry + np.linspace(-30.0, 30.0, 60_001) * 2 * math.pi / period
    r, _ = _ring(h, 20.0, 0, u=u)
    nu = illumination_numpy(r, s, AU_M, "conical")
    assert nu[0] == 1.0 and nu[-1] == 0.0
    assert np.all(np.diff(nu) <= 1e-12)
    inside = (nu > 0) & (nu < 1)
    assert 5.0 < inside.sum() * 1e-3 < 30.0  # penumbra duration [s]
    # distinct intermediate values, not a step
    assert len(np.unique(np.round(nu[inside], 3))) > 100


def test_cone_shortcuts_agree_with_full_disc_model() -> None:
    """The two rational cone tests that skip the trigonometry decide exactly what the
    Montenbruck & Gill disc formula evaluated everywhere decides (tolerance 1e-9)."""
    rng = np.random.default_rng(1)
    m = 200_000
    # points behind the Earth, concentrated near the shadow edge, from LEO to beyond GEO
    x = -rng.uniform(0.0, 5e7, m)
    rho = R_EARTH_M + rng.normal(0.0, 2e5, m) + rng.uniform(-1, 1, m) * 5e-3 * np.abs(x)
    phi = rng.uniform(0, 2 * math.pi, m)
    r = np.stack([x, rho * np.cos(phi), rho * np.sin(phi)], axis=-1)
    r = r[np.linalg.norm(r, axis=1) > R_EARTH_M + 1e5]
    s = np.array([1.0, 0.0, 0.0])
    d = 1.0167 * AU_M
    fast = illumination_numpy(r, s, d, "conical")
    full = shadow._disc_overlap_numpy(r, np.broadcast_to(s, r.shape), np.full(len(r), d))
    assert np.abs(fast - full).max() < 1e-9
    assert 0.05 < np.mean((fast > 0) & (fast < 1)) < 0.9  # the sample really probes penumbra


def test_illumination_bounds_and_sunlit_side() -> None:
    rng = np.random.default_rng(2)
    r = rng.normal(size=(50_000, 3))
    r *= (R_EARTH_M + rng.uniform(1e5, 4e7, 50_000))[:, None] / np.linalg.norm(r, axis=1)[:, None]
    s = np.array([0.0, 0.6, 0.8])
    for model in shadow.MODELS:
        nu = illumination_numpy(r, s, AU_M, model)
        assert nu.shape == (50_000,) and np.all((nu >= 0.0) & (nu <= 1.0))
        assert np.all(nu[r @ s >= 0] == 1.0)
    with pytest.raises(ValueError, match="conical"):
        illumination_numpy(r, s, AU_M, "conicle")


def test_umbra_cone_length() -> None:
    """Behind the Earth on the axis, umbra ends at x_u = d R_E / (R_S - R_E) (1.38e6 km
    at 1 au), where the antumbra (annular eclipse, 1 - (b/a)^2) begins."""
    d = AU_M
    xu = d * R_EARTH_M / (R_SUN_M - R_EARTH_M)
    s = np.array([1.0, 0.0, 0.0])
    pts = np.array([[-0.99 * xu, 0, 0], [-1.01 * xu, 0, 0], [-1.5 * xu, 0, 0]])
    nu = illumination_numpy(pts, s, d, "conical")
    assert nu[0] == 0.0 and 0.0 < nu[1] < 0.05 and nu[1] < nu[2] < 1.0


# --------------------------------------------------------------------------------------
# beta angle, Earth IR, albedo
# --------------------------------------------------------------------------------------


def test_beta_angle_from_orbital_elements() -> None:
    """beta = asin( cos G sin O sin i - sin G cos e cos O sin i + sin G sin e cos i ) with G
    the Sun's ecliptic longitude, e the obliquity, O the RAAN, i the inclination
    (NASA/TM-2001-211221 sec. 2; Rickman, 'Introduction to orbital mechanics and spacecraft
    attitudes for thermal engineers', NASA TFAWS 2014): within 1e-9 deg of r x v."""
    rng = np.random.default_rng(3)
    m = 1000
    inc, raan, gam, u = (rng.uniform(0, math.pi, m), rng.uniform(0, 2 * math.pi, m),
                         rng.uniform(0, 2 * math.pi, m), rng.uniform(0, 2 * math.pi, m))
    eps = math.radians(23.44)
    p = np.stack([np.cos(raan), np.sin(raan), np.zeros(m)], -1)
    q = np.stack([-np.cos(inc) * np.sin(raan), np.cos(inc) * np.cos(raan), np.sin(inc)], -1)
    a, n = 7e6, 1.1e-3
    r = a * (np.cos(u)[:, None] * p + np.sin(u)[:, None] * q)
    v = a * n * (-np.sin(u)[:, None] * p + np.cos(u)[:, None] * q)
    s = np.stack([np.cos(gam), math.cos(eps) * np.sin(gam), math.sin(eps) * np.sin(gam)], -1)
    expected = np.degrees(np.arcsin(
        np.cos(gam) * np.sin(raan) * np.sin(inc) - np.sin(gam) * math.cos(eps) * np.cos(raan) * np.sin(inc)
        + np.sin(gam) * math.sin(eps) * np.cos(inc)))
    np.testing.assert_allclose(beta_deg_numpy(r, v, s), expected, rtol=0, atol=1e-9)


def test_earth_ir_and_albedo_scaling() -> None:
    """IR: OLR at the surface, (R/r)^2 above it. Albedo: a S (au/d)^2 (R/r)^2 cos(zenith),
    zero on the night side."""
    ir = earth_ir_numpy(np.array([[R_EARTH_M, 0, 0], [0, 2 * R_EARTH_M, 0], [0, 0, 3 * R_EARTH_M]]), 237.0)
    np.testing.assert_allclose(ir, [237.0, 237.0 / 4, 237.0 / 9], rtol=1e-12)
    s = np.array([1.0, 0.0, 0.0])
    c60 = [math.cos(math.radians(60)), math.sin(math.radians(60)), 0.0]
    r = R_EARTH_M * np.array([[1.0, 0, 0], [2.0, 0, 0], c60, [0, 1.0, 0], [-1.0, 0, 0]])
    top = 0.3 * SOLAR_CONSTANT_W_M2
    np.testing.assert_allclose(albedo_numpy(r, s, AU_M, 0.3), [top, top / 4, top / 2, 0.0, 0.0],
                               rtol=1e-12, atol=1e-9)
    # inverse square in the Sun's distance
    np.testing.assert_allclose(albedo_numpy(r[:1], s, 1.0167 * AU_M, 0.3), top / 1.0167**2, rtol=1e-12)


# --------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------


def test_config_defaults_when_table_absent() -> None:
    sc = parse_scenario(HEAD, "t.toml", SECTIONS)
    assert sc.section("environment") == EnvironmentConfig()
    assert sc.section("environment").shadow == "conical"


@pytest.mark.parametrize("body,key,needle", [
    ('shadow = "conicle"', "environment.shadow", "'conical', 'cylindrical'"),
    ("albedo = 1.5", "environment.albedo", "[0, 1]"),
    ("earth_ir_w_m2 = -1.0", "environment.earth_ir_w_m2", ">= 0"),
    ('albedo = "high"', "environment.albedo", "a number"),
    ('shadw = "conical"', "environment.shadw", "did you mean 'shadow'"),
])
def test_config_errors_name_the_key(body: str, key: str, needle: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(HEAD + "[environment]\n" + body + "\n", "t.toml", SECTIONS)
    assert info.value.key == key
    assert needle in str(info.value) and "t.toml" in str(info.value)


def test_config_accepts_cylindrical() -> None:
    sc = parse_scenario(HEAD + '[environment]\nshadow = "cylindrical"\nalbedo = 0.35\n', "t.toml", SECTIONS)
    assert sc.section("environment") == EnvironmentConfig(shadow="cylindrical", albedo=0.35)


# --------------------------------------------------------------------------------------
# the taichi stage, run by the engine, against the numpy reference
# --------------------------------------------------------------------------------------


class RingOrbit:
    """A stand-in for the orbit plugin: circular orbits in one plane, positions computed
    in closed form, so this file tests the environment stage alone. Satellites are
    placed at given arguments of latitude ``u0`` (rad) at the epoch."""

    def __init__(self, h_m: float, inc_deg: float, raan_deg: float, u0: np.ndarray):
        self.a = R_EARTH_M + h_m
        self.n = math.sqrt(MU_EARTH_M3_S2 / self.a**3)
        i, o = math.radians(inc_deg), math.radians(raan_deg)
        self.p = np.array([math.cos(o), math.sin(o), 0.0])
        self.q = np.array([-math.cos(i) * math.sin(o), math.cos(i) * math.cos(o), math.sin(i)])
        self.u0 = np.asarray(u0, dtype=np.float64)

    @hookimpl
    def orbitwin_satellites(self, scenario):
        from twin_core import SatelliteTable

        k = len(self.u0)
        return SatelliteTable(k, np.zeros(k, np.int32), np.zeros(k, np.int32))

    @hookimpl
    def orbitwin_variables(self, scenario):
        from twin_core import Variable

        return [
            Variable("ring.u0_rad", "rad", "argument of latitude at epoch", "parameter", record=False),
            Variable("orbit.r_eci_m", "m", "position", "output", shape=(3,)),
            Variable("orbit.v_eci_m_s", "m s-1", "velocity", "output", shape=(3,)),
        ]

    @hookimpl
    def orbitwin_initial_state(self, scenario, state):
        state.set("ring.u0_rad", self.u0)

    @hookimpl
    def orbitwin_stages(self, scenario, state):
        import taichi as ti

        from twin_core import Stage

        u0, r_f, v_f = state.field("ring.u0_rad"), state.field("orbit.r_eci_m"), state.field("orbit.v_eci_m_s")
        a, n = float(self.a), float(self.n)
        px, py, pz = (float(c) for c in self.p)
        qx, qy, qz = (float(c) for c in self.q)

        @ti.func
        def ring(i, k, t, dt):
            u = u0[i] + n * t
            cu, su = ti.cos(u), ti.sin(u)
            p = ti.Vector([px, py, pz])
            q = ti.Vector([qx, qy, qz])
            r_f[i] = a * (cu * p + su * q)
            v_f[i] = a * n * (-su * p + cu * q)

        return [Stage("ring.step", ring, writes=["orbit.r_eci_m", "orbit.v_eci_m_s"], reads=["ring.u0_rad"])]


def _run_with_ring(text: str, ring: RingOrbit):
    from twin_core.pluginmanager import make_plugin_manager
    from twin_core.testing import run_scenario

    pm = make_plugin_manager(entry_points=False)
    pm.register(environment, name="environment")
    pm.register(ring, name="ring")
    return run_scenario(text, pm=pm)


def _ring_for_penumbra(h_m: float, t_s: float, epoch, inc: float, raan: float, count: int) -> RingOrbit:
    """Satellites spread over the orbit, half of them clustered across the shadow entry
    the ring has at time ``t_s`` so that several are in penumbra."""
    probe = RingOrbit(h_m, inc, raan, np.zeros(1))
    s_dir, s_dist = sun_position_eci(np.array([t_s]), epoch)
    u = np.linspace(0, 2 * math.pi, 200_001)
    r = probe.a * (np.cos(u)[:, None] * probe.p + np.sin(u)[:, None] * probe.q)
    nu = illumination_numpy(r, s_dir[0], s_dist[0], "cylindrical")
    entry = u[np.argmax(np.diff(nu) < 0) + 1]
    half = count // 2
    u_now = np.concatenate([np.linspace(0, 2 * math.pi, half, endpoint=False),
                            entry + np.linspace(-0.03, 0.03, count - half)])
    return RingOrbit(h_m, inc, raan, u_now - probe.n * t_s)


@pytest.mark.parametrize("model", ["conical", "cylindrical"])
def test_taichi_stage_equals_numpy_reference(model: str) -> None:
    """Every output of the fused-kernel stage equals the numpy reference applied to the
    recorded positions and Sun (float32 outputs: relative 1e-6, absolute 1e-5 W m-2 and
    1e-5 deg), the common series equal the ephemeris at the record times, and the
    metrics equal their definitions."""
    text = HEAD.replace("duration_h = 1", "duration_h = 0.5") + f'[environment]\nshadow = "{model}"\n'
    sc = parse_scenario(text, "t.toml", SECTIONS)
    ring = _ring_for_penumbra(550e3, 600.0, sc.run.epoch, inc=53.0, raan=250.0, count=400)
    res = _run_with_ring(text, ring)
    n_rec = res.n_records
    assert n_rec == 4 and res.sat["environment.illumination"].dtype == np.float32

    sdir, sdist = sun_position_eci(res.times_s, sc.run.epoch)
    np.testing.assert_allclose(res.common["environment.sun_dir_eci"], sdir, rtol=0, atol=1e-15)
    np.testing.assert_allclose(res.common["environment.sun_distance_m"], sdist, rtol=1e-15)

    r, v = res.sat["orbit.r_eci_m"], res.sat["orbit.v_eci_m_s"]
    ref = environment_numpy(r, v, sdir[:, None, :], sdist[:, None], sc.section("environment"))
    for name, expected in ref.items():
        got = res.sat[name].astype(np.float64)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-5, err_msg=name)
    illum = res.sat["environment.illumination"]
    if model == "conical":
        assert np.count_nonzero((illum[1] > 0) & (illum[1] < 1)) >= 3  # penumbra was exercised
    assert np.any(illum == 0) and np.any(illum == 1)
    np.testing.assert_allclose(res.metrics_at_records["constellation.mean_illumination"],
                               illum.astype(np.float64).mean(axis=1), rtol=1e-12)
    np.testing.assert_array_equal(res.metrics_at_records["constellation.umbra_fraction"], np.mean(illum < 1e-6, axis=1))


def test_with_orbit_plugin_walker_shell() -> None:
    """End to end with the built-in orbit plugin (ephemeris + orbit + shadow): the taichi
    outputs equal the numpy reference on the recorded positions (as above), and each
    satellite's eclipse fraction over one orbit (umbra plus half the penumbra, sampled
    every 10 s) matches the closed form for its altitude and mean beta angle within three
    samples (two edges, each within one step, plus the beta drift over the orbit)."""
    text = HEAD.replace("duration_h = 1", "duration_h = 1.6").replace("step_s = 60", "step_s = 10").replace(
        "record_every_s = 600", "record_every_s = 10") + (
        '[[orbit.shell]]\nkind = "walker_delta"\ntotal = 24\nplanes = 6\nphasing = 1\n'
        "altitude_km = 550\ninclination = 53\n")
    from twin_core.testing import run_scenario

    res = run_scenario(text)
    r, v = res.sat["orbit.r_eci_m"], res.sat["orbit.v_eci_m_s"]
    sdir, sdist = res.common["environment.sun_dir_eci"], res.common["environment.sun_distance_m"]
    ref = environment_numpy(r, v, sdir[:, None, :], sdist[:, None])
    for name, expected in ref.items():
        np.testing.assert_allclose(res.sat[name].astype(np.float64), expected, rtol=1e-6, atol=1e-5, err_msg=name)

    h = np.linalg.norm(r, axis=-1).mean() - R_EARTH_M
    period = _period_s(h)
    one = res.times_s < period
    nu = res.sat["environment.illumination"][one].astype(np.float64)
    measured = np.mean(np.where(nu < environment.UMBRA_THRESHOLD, 1.0, np.where(nu < 1.0, 0.5, 0.0)), axis=0)
    beta = np.radians(res.sat["environment.beta_deg"][one].astype(np.float64).mean(axis=0))
    arg = math.sqrt(h**2 + 2 * R_EARTH_M * h) / ((R_EARTH_M + h) * np.cos(beta))
    expected = np.where(arg < 1.0, np.arccos(np.minimum(arg, 1.0)) / math.pi, 0.0)
    assert np.abs(measured - expected).max() <= 3.0 / one.sum()
    assert np.all(expected > 0.3)  # this shell at this epoch does see eclipses
    np.testing.assert_allclose(res.metrics_at_records["constellation.umbra_fraction"],
                               np.mean(res.sat["environment.illumination"] < 1e-6, axis=1), rtol=0, atol=0)


def test_unread_outputs_are_not_computed() -> None:
    """`State.used`: a run that neither records nor reads beta, Earth IR or albedo leaves
    them uncomputed (their fields keep their starting zeros), and what it does record is
    bit-identical to a run that computes everything."""
    from twin_core.testing import run_scenario

    text = HEAD + ('[[orbit.shell]]\nkind = "walker_delta"\ntotal = 6\nplanes = 2\nphasing = 1\n'
                   "altitude_km = 550\ninclination = 53\n")
    everything = run_scenario(text)
    lean = run_scenario(text + '[output]\nvariables = ["environment.illumination"]\n')
    np.testing.assert_array_equal(lean.sat["environment.illumination"], everything.sat["environment.illumination"])
    assert np.all(everything.final["environment.beta_deg"] != 0.0)
    for name in ("environment.beta_deg", "environment.earth_ir_w_m2", "environment.albedo_w_m2"):
        assert not np.any(lean.final[name]), name
    assert np.any(lean.final["orbit.v_eci_m_s"])  # read by the stage (declared), so computed
