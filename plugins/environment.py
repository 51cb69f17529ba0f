"""Environment plugin: sunlight, Earth's shadow, beta angle, Earth IR and albedo.

Provides the Environment interface (``twin_core.interfaces.ENVIRONMENT``) for every
satellite at every step, from the position and velocity the orbit plugin writes.

Scenario table ``[environment]`` (optional; every key has a default)::

    [environment]
    shadow = "conical"        # or "cylindrical"
    earth_ir_w_m2 = 237.0     # Earth's mean outgoing longwave flux at the top of the atmosphere
    albedo = 0.30             # Earth's mean Bond albedo

Outputs
-------
Common series (same for all satellites, computed on the host for each kernel launch's steps):
``environment.sun_dir_eci`` [1] and ``environment.sun_distance_m`` [m], from the
low-precision solar ephemeris of `orbitwin_plugins.ephemeris` (0.01 deg, 1e-4);
``environment.solar_flux_w_m2`` [W m-2], the irradiance ``S (AU / d)^2`` at that
distance, which the solar and thermal plugins read instead of dividing by ``d^2`` for
every satellite; and, not recorded, the shadow cones' apexes and squared half-angle
tangents (`orbitwin_plugins.shadow.cone_terms`), which depend on ``d`` alone.

Per satellite (float32):

``environment.illumination`` [1]
    Visible fraction of the solar disc, by the shadow model chosen (`orbitwin_plugins.shadow`:
    cylindrical, Vallado 2013 Alg. 34; or conical with penumbra, Montenbruck & Gill 2000
    sec. 3.4.2).
``environment.beta_deg`` [degree]
    ``beta = asin(s . h / |h|)``, ``h = r x v``: the Sun's elevation above the osculating
    orbit plane, positive towards the orbit normal (Vallado 2013 sec. 5.3; Anderson, Justus &
    Batts, NASA/TM-2001-211221). One ``asin`` per satellite-step.
``environment.earth_ir_w_m2`` [W m-2]
    ``q_IR = OLR (R_E / r)^2``: the flux on a flat plate facing nadir from a uniformly
    emitting spherical Earth of radius R_E; ``(R_E / r)^2`` is the exact view factor of a
    plate whose normal points at the centre of a sphere (Gilmore, Spacecraft Thermal Control
    Handbook, Vol. I, 2nd ed., 2002, ch. 2; Howell, A Catalog of Radiation Heat Transfer
    Configuration Factors, differential plate to sphere). The OLR is taken as leaving a
    sphere of radius R_E (the top of the atmosphere, ~30 km higher, would raise the flux by
    1 %, well inside the OLR's own spread).
``environment.albedo_w_m2`` [W m-2]
    ``q_alb = a S (AU / d)^2 (R_E / r)^2 max(0, cos theta_s)``, ``cos theta_s = r . s / |r|``
    the cosine of the Sun's zenith angle at the sub-satellite point; ``S`` the solar constant
    (`constants.SOLAR_CONSTANT_W_M2`). This is the standard first estimate (Gilmore 2002
    ch. 2; Wertz & Larson, SMAD 3rd ed., sec. 11.5).

Assumptions and limits: Earth IR and albedo are global annual means, uniform over the
globe and constant in time (real orbit-average values vary by about +/-10 % with latitude,
cloud cover and season; NASA/TM-2001-211221 gives hot and cold design cases). The albedo
term is the usual first estimate: it reaches zero at the sub-satellite terminator although a
plate there still sees a lit crescent, so it is off by tens of percent of an already small
flux near the terminator (exact albedo view factors: Gilmore 2002 ch. 2). The plates face nadir; a plugin with another attitude scales
these fluxes by its own view factors. Per-step trigonometry: none outside penumbra (beta's
asin is a polynomial, `orbitwin_plugins.fastmath`, < 1e-7 deg), five inverse trig calls
for satellites in penumbra.

Validation: ``tests/test_environment.py`` (closed-form eclipse fraction, beta angle from
orbital elements, flux scaling, taichi stage against the numpy reference).
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from orbitwin_plugins.constants import AU_M, R_EARTH_M, SOLAR_CONSTANT_W_M2
from orbitwin_plugins.ephemeris import SUN_FORMULAE_VALIDITY, sun_position_eci
from orbitwin_plugins.fastmath import make_asin
from orbitwin_plugins.shadow import MODELS, cone_terms, illumination_numpy, make_illumination_func
from twin_core import CommonSeries, Metric, Stage, ValidRange, Variable, hookimpl
from twin_core.validators import in_range, non_negative, one_of

#: Earth's mean outgoing longwave radiation at the top of the atmosphere [W m-2]: the
#: orbit-average design value of Gilmore (2002) ch. 2 and SMAD (3rd ed.) sec. 11.5,
#: consistent with the ERBE/CERES global annual mean 238.5 W m-2 (Trenberth, Fasullo &
#: Kiehl 2009, BAMS 90, 311-323).
EARTH_IR_W_M2 = 237.0

#: Earth's mean Bond albedo [1]: Gilmore (2002) ch. 2 and SMAD sec. 11.5 use 0.30;
#: Trenberth et al. (2009) give 101.9 / 341.3 = 0.299.
ALBEDO = 0.30

#: Illumination below which a satellite counts as in umbra for the metrics [1].
UMBRA_THRESHOLD = 1e-6


@attrs.frozen
class EnvironmentConfig:
    """Table ``[environment]`` (all keys optional).

    Attributes:
        shadow: ``"conical"`` (umbra and penumbra, default) or ``"cylindrical"``
            (sharp-edged shadow, cheaper, no penumbra).
        earth_ir_w_m2: Earth's outgoing longwave flux at its surface radius [W m-2]
            (default `EARTH_IR_W_M2`, a global annual mean).
        albedo: Earth's Bond albedo [1] (default `ALBEDO`).
    """

    shadow: str = attrs.field(default="conical", validator=one_of(MODELS))
    earth_ir_w_m2: float = attrs.field(default=EARTH_IR_W_M2, validator=non_negative)
    albedo: float = attrs.field(default=ALBEDO, validator=in_range(0.0, 1.0))


# --------------------------------------------------------------------------------------
# numpy reference of the per-satellite physics (tests, numpy benchmark)
# --------------------------------------------------------------------------------------


def beta_deg_numpy(r: np.ndarray, v: np.ndarray, sun_dir: np.ndarray) -> np.ndarray:
    """Beta angle [deg]: ``asin(s . (r x v) / |r x v|)``; shapes ``(..., 3)``."""
    h = np.cross(r, v)
    sb = np.sum(h * sun_dir, axis=-1) / np.linalg.norm(h, axis=-1)
    return np.degrees(np.arcsin(np.clip(sb, -1.0, 1.0)))


def earth_ir_numpy(r: np.ndarray, earth_ir_w_m2: float = EARTH_IR_W_M2) -> np.ndarray:
    """Earth IR on a nadir-facing plate [W m-2]: ``OLR (R_E / |r|)^2``."""
    return earth_ir_w_m2 * R_EARTH_M**2 / np.sum(np.asarray(r) ** 2, axis=-1)


def albedo_numpy(r: np.ndarray, sun_dir: np.ndarray, sun_dist: np.ndarray | float,
                 albedo: float = ALBEDO) -> np.ndarray:
    """Albedo flux on a nadir-facing plate [W m-2]:
    ``a S (AU/d)^2 (R_E/|r|)^2 max(0, r.s/|r|)``."""
    r = np.asarray(r, dtype=np.float64)
    r2 = np.sum(r * r, axis=-1)
    cos_z = np.sum(r * sun_dir, axis=-1) / np.sqrt(r2)
    flux = albedo * SOLAR_CONSTANT_W_M2 * (AU_M / np.asarray(sun_dist)) ** 2
    return flux * R_EARTH_M**2 / r2 * np.maximum(cos_z, 0.0)


def environment_numpy(r: np.ndarray, v: np.ndarray, sun_dir: np.ndarray, sun_dist: np.ndarray | float,
                      config: EnvironmentConfig | None = None) -> dict[str, np.ndarray]:
    """Every per-satellite output of the stage, in float64, keyed by variable name."""
    cfg = config or EnvironmentConfig()
    return {
        "environment.illumination": illumination_numpy(r, sun_dir, sun_dist, cfg.shadow),
        "environment.beta_deg": beta_deg_numpy(r, v, sun_dir),
        "environment.earth_ir_w_m2": earth_ir_numpy(r, cfg.earth_ir_w_m2),
        "environment.albedo_w_m2": albedo_numpy(r, sun_dir, sun_dist, cfg.albedo),
    }


class SunSeries:
    """The Sun's direction and distance for one epoch, computed once per launch's times
    and shared by the two common series (the engine asks for each with the same times)."""

    def __init__(self, epoch: Any):
        self.epoch = epoch  # None when the hook is asked for declarations only (no scenario)
        self._t: np.ndarray | None = None
        self._value: tuple[np.ndarray, np.ndarray] | None = None

    def _get(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.asarray(t_s, dtype=np.float64)
        if self._t is None or self._t.shape != t.shape or not np.array_equal(self._t, t):
            if self.epoch is None:
                raise RuntimeError("environment: the Sun's series were declared without a scenario "
                                   "(no epoch) and cannot be computed")
            self._value = sun_position_eci(t, self.epoch)
            self._t = t.copy()
        return self._value  # type: ignore[return-value]

    def direction(self, t_s: np.ndarray) -> np.ndarray:
        return self._get(t_s)[0]

    def distance(self, t_s: np.ndarray) -> np.ndarray:
        return self._get(t_s)[1]

    def flux(self, t_s: np.ndarray) -> np.ndarray:
        return SOLAR_CONSTANT_W_M2 * (AU_M / self._get(t_s)[1]) ** 2

    def apexes(self, t_s: np.ndarray) -> np.ndarray:
        return cone_terms(self._get(t_s)[1])[..., 0::2]

    def tan2(self, t_s: np.ndarray) -> np.ndarray:
        return cone_terms(self._get(t_s)[1])[..., 1::2]


# --------------------------------------------------------------------------------------
# hooks
# --------------------------------------------------------------------------------------

_OUT = (
    ("environment.illumination", "1", "fraction of the solar disc visible (0 umbra, 1 full sun)"),
    ("environment.beta_deg", "degree", "Sun elevation above the orbit plane, positive towards r x v"),
    ("environment.earth_ir_w_m2", "W m-2", "Earth infrared flux incident on a nadir-facing plate"),
    ("environment.albedo_w_m2", "W m-2", "Earth-reflected sunlight incident on a nadir-facing plate"),
)


def _config(scenario: Any) -> EnvironmentConfig:
    return scenario.section("environment") or EnvironmentConfig()


@hookimpl
def orbitwin_config_sections() -> dict[str, type]:
    return {"environment": EnvironmentConfig}


@hookimpl
def orbitwin_common_series(scenario: Any) -> list[CommonSeries]:
    sun = SunSeries(scenario.run.epoch if scenario is not None else None)
    return [
        CommonSeries("environment.sun_dir_eci", "1", "unit vector from the Earth's centre to the Sun, ECI "
                     "(J2000 axes)", compute=sun.direction, shape=(3,)),
        CommonSeries("environment.sun_distance_m", "m", "distance from the Earth's centre to the Sun",
                     compute=sun.distance),
        CommonSeries("environment.solar_flux_w_m2", "W m-2", "solar irradiance at the Earth's distance from "
                     "the Sun, S (AU / d)^2", compute=sun.flux),
        CommonSeries("environment.shadow_cone_apex_m", "m", "distances from the Earth's centre to the apexes "
                     "of the penumbra cone (sunward) and the umbra cone (behind the Earth) at this Sun distance "
                     "(orbitwin_plugins.shadow.cone_terms)", compute=sun.apexes, shape=(2,), record=False),
        CommonSeries("environment.shadow_cone_tan2", "1", "squared tangents of the penumbra and umbra cones' "
                     "half-angles at this Sun distance (orbitwin_plugins.shadow.cone_terms)",
                     compute=sun.tan2, shape=(2,), record=False),
    ]


@hookimpl
def orbitwin_variables(scenario: Any) -> list[Variable]:
    return [Variable(name, units, text, role="output", dtype="f32") for name, units, text in _OUT]


@hookimpl
def orbitwin_metrics(scenario: Any) -> list[Metric]:
    return [
        Metric("constellation.mean_illumination", "environment.illumination", "mean", "1",
               "mean over satellites of the visible fraction of the solar disc"),
        Metric("constellation.umbra_fraction", "environment.illumination", "fraction_below", "1",
               f"share of satellites in umbra (illumination < {UMBRA_THRESHOLD:g})",
               threshold=UMBRA_THRESHOLD),
        Metric("constellation.full_sun_fraction", "environment.illumination", "fraction_above", "1",
               f"share of satellites in full sun (illumination > 1 - {UMBRA_THRESHOLD:g}); the rest "
               "of those not in umbra are in penumbra", threshold=1.0 - UMBRA_THRESHOLD),
    ]


@hookimpl
def orbitwin_stages(scenario: Any, state: Any) -> list[Stage]:
    import taichi as ti

    cfg = _config(scenario)
    illumination = make_illumination_func(cfg.shadow)
    asin = make_asin()  # polynomial, < 1e-7 deg: libm's asin would cost more than the rest of the step
    r_f = state.field("orbit.r_eci_m")
    v_f = state.field("orbit.v_eci_m_s")
    sun_dir_f = state.common("environment.sun_dir_eci")
    sun_dist_f = state.common("environment.sun_distance_m")
    apex_f, tan2_f = state.common("environment.shadow_cone_apex_m"), state.common("environment.shadow_cone_tan2")
    flux_f = state.common("environment.solar_flux_w_m2")
    illum_f = state.field("environment.illumination")
    beta_f = state.field("environment.beta_deg")
    ir_f = state.field("environment.earth_ir_w_m2")
    alb_f = state.field("environment.albedo_w_m2")

    R_E2 = float(R_EARTH_M) ** 2
    IR = float(cfg.earth_ir_w_m2) * R_E2  # OLR R_E^2, divided by r^2 per step
    ALB = float(cfg.albedo) * R_E2  # times the step's solar flux, over r^2
    RAD2DEG = 180.0 / math.pi

    @ti.func
    def environment_step(i, k, t, dt):
        r = r_f[i]
        s = sun_dir_f[k]
        d = sun_dist_f[k]
        r2 = r.dot(r)
        illum_f[i] = ti.cast(illumination(r, s, d, apex_f[k], tan2_f[k]), ti.f32)
        if ti.static(state.used("environment.beta_deg")):  # a third of the stage's cost: skipped when unread
            h = r.cross(v_f[i])
            sin_beta = s.dot(h) / ti.sqrt(h.dot(h))
            beta_f[i] = ti.cast(asin(sin_beta) * RAD2DEG, ti.f32)
        inv_r2 = 1.0 / r2
        if ti.static(state.used("environment.earth_ir_w_m2")):
            ir_f[i] = ti.cast(IR * inv_r2, ti.f32)
        if ti.static(state.used("environment.albedo_w_m2")):
            cos_z = r.dot(s) * ti.sqrt(inv_r2)
            alb_f[i] = ti.cast(ALB * flux_f[k] * inv_r2 * ti.max(cos_z, 0.0), ti.f32)

    return [
        Stage(
            "environment.step",
            environment_step,
            writes=[name for name, _, _ in _OUT],
            reads=["orbit.r_eci_m", "orbit.v_eci_m_s", "environment.sun_dir_eci", "environment.sun_distance_m",
                   "environment.shadow_cone_apex_m", "environment.shadow_cone_tan2", "environment.solar_flux_w_m2"],
        )
    ]


@hookimpl
def orbitwin_summary(store: Any) -> list[tuple[str, str]] | None:
    """Mean share of time in umbra and in full sun over satellites and samples (the
    constellation group's samples, every step by default; unwritten samples left out)."""
    con = store["constellation"] if "constellation" in store else None
    if con is None or "constellation.umbra_fraction" not in con:
        return None
    rows = []
    for name, label in (("constellation.umbra_fraction", "time in Earth's umbra"),
                        ("constellation.full_sun_fraction", "time in full sunlight")):
        if name in con:
            y = np.asarray(con[name][:], dtype=np.float64)
            if np.isfinite(y).any():
                rows.append((label, f"{100.0 * float(np.nanmean(y)):.2f} % (mean over satellites)"))
    return rows


__all__ = [
    "ALBEDO",
    "EARTH_IR_W_M2",
    "EnvironmentConfig",
    "SunSeries",
    "albedo_numpy",
    "beta_deg_numpy",
    "earth_ir_numpy",
    "environment_numpy",
    "illumination_numpy",
]


@hookimpl
def orbitwin_validity(scenario: Any) -> list[ValidRange] | None:
    """The Sun's direction and distance come from the Almanac's low-precision formulae
    (`orbitwin_plugins.ephemeris`), stated for 1950-2050."""
    return [SUN_FORMULAE_VALIDITY]
