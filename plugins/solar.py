"""Solar plugin: the electrical power a satellite's solar array delivers to the bus.

Writes ``power.generated_w`` (twin_core.interfaces) for every satellite at every step.

Model (the sizing relation of Wertz & Larson, Space Mission Analysis and Design, 3rd ed.,
1999, sec. 11.4, with the temperature and lifetime factors written out)::

    P = G * A * p * eta_BOL * f_asm * f_T * f_deg(t) * cos(theta)
    G      = S0 (AU / d)^2 * nu                 irradiance on the array [W m-2]
    f_T    = 1 + gamma (T_op - T_ref)          linear temperature derating of the cells
    f_deg  = (1 - D)^(y0 + t / 1 Julian year)   compounded radiation degradation (SMAD sec. 11.4)

with S0 the solar constant (`constants.SOLAR_CONSTANT_W_M2`), d the Earth-Sun distance
(``environment.sun_distance_m``), nu the visible fraction of the solar disc
(``environment.illumination``, penumbra included), A the array area, p the packing factor
(cell area / panel area), eta_BOL the cells' efficiency at the reference temperature,
f_asm the remaining assembly losses (wiring, mismatch, diodes), gamma the relative
temperature coefficient of maximum power, T_op the array's operating temperature,
D the yearly degradation, y0 the years already spent in orbit at the scenario epoch
(``mission_years_at_epoch``) and t the time since the epoch. f_deg is the same for every
satellite, so it is a common series (``solar.degradation``), evaluated on the host.

Radiation damage from another plugin: the plugin declares ``solar.cell_remaining_fraction``
(a `Combined` ``min`` starting at 1, twin_core.contributions). When any plugin contributes
to it (the radiation plugin does, from each satellite's dose), it replaces f_deg
satellite by satellite: that plugin's model of the cells' damage then takes the place of
the fixed yearly rate, so planes and altitudes degrade differently.

Pointing (``pointing``):

``"sun_tracking"``
    ideal two-axis tracking: cos(theta) = 1 whenever the Sun is visible.
``"body_fixed"``
    the array's normal n is fixed in the frame ``frame`` and cos(theta) = max(0, n . s),
    s the unit vector to the Sun (``environment.sun_dir_eci``). Frames: ``"rsw"``
    (Vallado 2013 sec. 3.3: R = r/|r| radial, W = (r x v)/|r x v| orbit normal, S = W x R
    along-track), ``"lvlh"`` (CCSDS: x = S, y = -W, z = -R, i.e. z to nadir) and ``"eci"``
    (inertially fixed). A dawn-dusk satellite whose array faces the orbit normal is
    ``frame = "rsw"``, ``normal = [0, 0, 1]``: then cos(theta) = sin(beta), beta the
    angle of ``environment.beta_deg``.

Assumptions and limits: the array temperature is a fixed operating temperature (no
transient: a cold array just out of eclipse briefly delivers a few percent more); the
back of the array generates nothing; Earth albedo on the array is neglected (a few percent
of the direct flux at most for a body-fixed array facing Earth); the Sun's direction from
the satellite is taken as the direction from the Earth's centre (parallax r/d < 5e-5 rad);
the efficiency, rated at AM0 (1353-1367 W m-2), is applied unchanged at any irradiance;
maximum-power-point tracking is ideal.

Validation: ``tests/test_solar.py`` (normal-incidence output against the formula above,
the cosine law for body-fixed arrays including the dawn-dusk sin(beta) case, degradation,
the taichi stage against `generated_numpy`, configuration errors).
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from orbitwin_plugins.constants import AU_M, SOLAR_CONSTANT_W_M2
from twin_core import Combined, CommonSeries, MassItem, Metric, PowerItem, Stage, Variable, hookimpl
from twin_core.validators import SpecValueError, in_range, non_negative, one_of, positive

#: BOL efficiency of GaInP/GaAs/Ge triple-junction cells at AM0 and 28 degC: Spectrolab XTJ
#: production average 29.8 % (Fetzer et al., "Production ready 30% efficient triple junction
#: space solar cells", IEEE PVSC 2008).
EFFICIENCY_BOL = 0.298
#: Reference temperature of the rated efficiency [K]: the 28 degC of the AM0 test condition.
REFERENCE_TEMPERATURE_K = 301.15
#: Relative temperature coefficient of maximum power [1/K], from the temperature gradients
#: of the AZUR SPACE 3G30C-Advanced datasheet (Vmp -6.7 mV/K at 2.41 V, Jmp +0.009 mA/cm2/K
#: at 16.7 mA/cm2: -0.28 %/K + 0.05 %/K).
TEMPERATURE_COEFFICIENT_PER_K = -0.0022
#: Operating temperature [K]: 60 degC, an assumption within the 20-60 K rise above 28 degC
#: that deployed LEO panels typically show; set it from the array's thermal analysis.
OPERATING_TEMPERATURE_K = 333.15
#: Cell area / panel area for rigid panels of large cells: assumption (typical 0.85-0.92).
PACKING_FACTOR = 0.90
#: Wiring, mismatch and diode losses: SMAD 3rd ed. Table 11-35's "design and assembly"
#: factor 0.85 divided by `PACKING_FACTOR`, so that packing x assembly = 0.85.
ASSEMBLY_FACTOR = 0.85 / PACKING_FACTOR
#: Yearly radiation degradation [1/yr]: SMAD 3rd ed. sec. 11.4 gives 2.75 %/yr for GaAs
#: cells (the closest tabulated technology; XTJ keeps 89 % of Pmp after 5e14 1-MeV e/cm2,
#: Fetzer et al. 2008, so the true figure depends on the orbit's fluence and shielding).
DEGRADATION_PER_YEAR = 0.0275
#: Array specific power at BOL [W/kg]: Redwire iROSA, about 20 kW for about 340 kg per wing.
SPECIFIC_POWER_W_KG = 60.0

JULIAN_YEAR_S = 365.25 * 86400.0
#: The per-satellite degradation factor other plugins may contribute (module docstring).
CELL_REMAINING = "solar.cell_remaining_fraction"
POINTINGS = ("sun_tracking", "body_fixed")
FRAMES = ("rsw", "lvlh", "eci")


@attrs.frozen
class SolarConfig:
    """Table ``[solar]``: one array per satellite, the same on every satellite.

    Attributes:
        area_m2: array (panel) area [m2]; required.
        efficiency_bol: cell efficiency at the reference temperature, beginning of life [1].
        packing_factor: cell area / panel area [1].
        assembly_factor: wiring, mismatch and diode losses [1].
        temperature_coefficient_per_k: relative change of maximum power per kelvin [1/K].
        reference_temperature_k: temperature at which efficiency_bol is rated [K].
        operating_temperature_k: the array's temperature in sunlight [K].
        degradation_per_year: radiation degradation, compounded yearly [1/yr].
        mission_years_at_epoch: years the array has already spent in orbit at the epoch [yr].
        pointing: "sun_tracking" (normal incidence) or "body_fixed".
        frame: frame of normal for a body-fixed array: "rsw", "lvlh" or "eci".
        normal: the array's normal in frame, three numbers (body-fixed arrays only).
        specific_power_w_kg: array mass = rated power / this [W/kg].
    """

    area_m2: float = attrs.field(validator=positive)
    efficiency_bol: float = attrs.field(default=EFFICIENCY_BOL, validator=in_range(0, 1, lo_open=True))
    packing_factor: float = attrs.field(default=PACKING_FACTOR, validator=in_range(0, 1, lo_open=True))
    assembly_factor: float = attrs.field(default=ASSEMBLY_FACTOR, validator=in_range(0, 1, lo_open=True))
    temperature_coefficient_per_k: float = attrs.field(default=TEMPERATURE_COEFFICIENT_PER_K,
                                                       validator=in_range(-0.05, 0.05))
    reference_temperature_k: float = attrs.field(default=REFERENCE_TEMPERATURE_K, validator=positive)
    operating_temperature_k: float = attrs.field(default=OPERATING_TEMPERATURE_K, validator=positive)
    degradation_per_year: float = attrs.field(default=DEGRADATION_PER_YEAR, validator=in_range(0, 1, hi_open=True))
    mission_years_at_epoch: float = attrs.field(default=0.0, validator=non_negative)
    pointing: str = attrs.field(default="sun_tracking", validator=one_of(POINTINGS))
    frame: str | None = attrs.field(default=None, validator=attrs.validators.optional(one_of(FRAMES)))
    normal: list[float] | None = None
    specific_power_w_kg: float = attrs.field(default=SPECIFIC_POWER_W_KG, validator=positive)

    def __attrs_post_init__(self) -> None:
        if self.temperature_factor <= 0.0:
            raise SpecValueError("operating_temperature_k", self.operating_temperature_k,
                                 "a temperature at which 1 + temperature_coefficient_per_k * (T - "
                                 "reference_temperature_k) > 0")
        if self.pointing == "sun_tracking":
            for key in ("frame", "normal"):
                if getattr(self, key) is not None:
                    raise SpecValueError(key, getattr(self, key), "absent: it is used only with "
                                         "pointing = 'body_fixed'")
            return
        if self.frame is None:
            raise SpecValueError("frame", None, "one of " + ", ".join(repr(f) for f in FRAMES)
                                 + " with pointing = 'body_fixed'")
        n = self.normal
        if n is None or len(n) != 3 or not all(map(np.isfinite, n)) or float(np.linalg.norm(n)) == 0.0:
            raise SpecValueError("normal", n, "three finite numbers, not all zero, with pointing = 'body_fixed'")

    @property
    def temperature_factor(self) -> float:
        """f_T = 1 + gamma (T_op - T_ref)."""
        return 1.0 + self.temperature_coefficient_per_k * (self.operating_temperature_k - self.reference_temperature_k)

    @property
    def power_per_flux_m2(self) -> float:
        """P / (G f_deg cos theta) = A p eta f_asm f_T [m2]."""
        return (self.area_m2 * self.packing_factor * self.efficiency_bol * self.assembly_factor
                * self.temperature_factor)

    @property
    def rated_power_w(self) -> float:
        """Nameplate: 1 AU, normal incidence, reference temperature, no degradation [W]."""
        return SOLAR_CONSTANT_W_M2 * self.area_m2 * self.packing_factor * self.efficiency_bol * self.assembly_factor

    def normal_rsw(self) -> tuple[float, float, float]:
        """The unit normal as (R, S, W) components (frames ``rsw`` and ``lvlh``)."""
        x, y, z = np.asarray(self.normal, dtype=np.float64) / np.linalg.norm(self.normal)
        return (float(x), float(y), float(z)) if self.frame == "rsw" else (float(-z), float(x), float(-y))


# --------------------------------------------------------------------------------------
# numpy reference of the stage (tests, numpy benchmark)
# --------------------------------------------------------------------------------------


def degradation_numpy(cfg: SolarConfig, t_s: Any) -> np.ndarray:
    """f_deg = (1 - D)^(y0 + t / 1 Julian year)."""
    years = cfg.mission_years_at_epoch + np.asarray(t_s, dtype=np.float64) / JULIAN_YEAR_S
    return np.power(1.0 - cfg.degradation_per_year, years)


def cos_incidence_numpy(cfg: SolarConfig, sun_dir: np.ndarray, r: np.ndarray | None = None,
                        v: np.ndarray | None = None) -> np.ndarray:
    """cos(theta) clipped at 0; shapes ``(..., 3)`` broadcast together."""
    s = np.asarray(sun_dir, dtype=np.float64)
    if cfg.pointing == "sun_tracking":
        return np.ones(s.shape[:-1])
    if cfg.frame == "eci":
        n = np.asarray(cfg.normal, dtype=np.float64) / np.linalg.norm(cfg.normal)
    else:
        big_r = r / np.linalg.norm(r, axis=-1, keepdims=True)
        h = np.cross(r, v)
        w = h / np.linalg.norm(h, axis=-1, keepdims=True)
        a, b, c = cfg.normal_rsw()
        n = a * big_r + b * np.cross(w, big_r) + c * w
    return np.maximum(np.sum(n * s, axis=-1), 0.0)


def generated_numpy(cfg: SolarConfig, t_s: Any, illumination: np.ndarray, sun_dir: np.ndarray,
                    sun_distance_m: Any, r: np.ndarray | None = None, v: np.ndarray | None = None) -> np.ndarray:
    """``power.generated_w`` [W] in float64 (module docstring); arrays broadcast over
    ``(..., sat)`` with vectors in a last axis of 3."""
    flux = SOLAR_CONSTANT_W_M2 * (AU_M / np.asarray(sun_distance_m, dtype=np.float64)) ** 2
    cos_t = cos_incidence_numpy(cfg, sun_dir, r, v)
    return flux * np.asarray(illumination, np.float64) * cos_t * cfg.power_per_flux_m2 * degradation_numpy(cfg, t_s)


# --------------------------------------------------------------------------------------
# hooks
# --------------------------------------------------------------------------------------


@hookimpl
def orbitwin_config_sections() -> dict[str, type]:
    return {"solar": SolarConfig}


@hookimpl
def orbitwin_variables(scenario: Any) -> list[Variable] | None:
    if scenario is not None and scenario.section("solar") is None:
        return None
    return [Variable("power.generated_w", "W", "electrical power delivered by the solar array", "output", "f32"),
            Combined(CELL_REMAINING, "1", "solar cells' remaining maximum power after radiation damage, as "
                     "another plugin models it; replaces the yearly degradation when contributed to", "min",
                     start=1.0, dtype="f32", record=False)]


@hookimpl
def orbitwin_common_series(scenario: Any) -> list[CommonSeries] | None:
    cfg = scenario.section("solar") if scenario is not None else SolarConfig(area_m2=1.0)
    if cfg is None:
        return None
    return [CommonSeries("solar.degradation", "1", "radiation degradation factor of the array's output, "
                         "(1 - degradation_per_year)^years in orbit", compute=lambda t: degradation_numpy(cfg, t))]


@hookimpl
def orbitwin_metrics(scenario: Any) -> list[Metric] | None:
    if scenario.section("solar") is None:
        return None
    return [Metric("constellation.generated_w", "power.generated_w", "sum", "W",
                   "electrical power delivered by all solar arrays")]


@hookimpl
def orbitwin_stages(scenario: Any, state: Any) -> list[Stage] | None:
    cfg = scenario.section("solar")
    if cfg is None:
        return None
    import taichi as ti

    gen_f, illum_f = state.field("power.generated_w"), state.field("environment.illumination")
    sun_dir_f, sun_dist_f = state.common("environment.sun_dir_eci"), state.common("environment.sun_distance_m")
    deg_f = state.common("solar.degradation")
    per_sat = state.constant(CELL_REMAINING) is None  # someone models the cells' damage
    cell_f = state.field(CELL_REMAINING) if per_sat else None
    K = float(SOLAR_CONSTANT_W_M2 * AU_M**2 * cfg.power_per_flux_m2)  # P d^2 / (nu f_deg cos theta)
    # the environment's per-step flux S (AU / d)^2, where it publishes one: a division per satellite-step fewer
    has_flux = state.has("environment.solar_flux_w_m2")
    flux_f = state.common("environment.solar_flux_w_m2") if has_flux else sun_dist_f
    KF = float(cfg.power_per_flux_m2)
    tracking, eci = cfg.pointing == "sun_tracking", cfg.frame == "eci"
    reads = ["environment.illumination", "environment.sun_dir_eci", "environment.sun_distance_m", "solar.degradation",
             CELL_REMAINING] + (["environment.solar_flux_w_m2"] if has_flux else [])
    if tracking:
        n0 = (0.0, 0.0, 0.0)
    elif eci:
        n0 = tuple(float(x) for x in np.asarray(cfg.normal, np.float64) / np.linalg.norm(cfg.normal))
    else:
        n0 = cfg.normal_rsw()
        reads += ["orbit.r_eci_m", "orbit.v_eci_m_s"]
    r_f = state.field("orbit.r_eci_m") if not (tracking or eci) else None
    v_f = state.field("orbit.v_eci_m_s") if not (tracking or eci) else None
    a, b, c = n0

    @ti.func
    def solar_generate(i, k, t, dt):
        scale = 0.0  # W per unit of illumination x cos x degradation
        if ti.static(has_flux):
            scale = KF * flux_f[k]
        else:
            d = sun_dist_f[k]
            scale = K / (d * d)
        cos_t = 1.0
        if ti.static(not tracking):
            s = sun_dir_f[k]
            n = ti.Vector([a, b, c])
            if ti.static(not eci):
                r, v = r_f[i], v_f[i]
                big_r = r.normalized()
                w = r.cross(v).normalized()
                n = a * big_r + b * w.cross(big_r) + c * w
            cos_t = ti.max(n.dot(s), 0.0)
        deg = 0.0
        if ti.static(per_sat):
            deg = ti.cast(cell_f[i], ti.f64)
        else:
            deg = deg_f[k]
        gen_f[i] = ti.cast(scale * illum_f[i] * cos_t * deg, ti.f32)

    return [Stage("solar.generate", solar_generate, writes=["power.generated_w"], reads=reads)]


@hookimpl
def orbitwin_mass_budget(scenario: Any) -> list[MassItem] | None:
    cfg = scenario.section("solar")
    if cfg is None:
        return None
    origin = ("Redwire iROSA, ~20 kW for ~340 kg per wing" if cfg.specific_power_w_kg == SPECIFIC_POWER_W_KG
              else "the scenario's [solar] specific_power_w_kg")
    return [MassItem("solar array", cfg.rated_power_w / cfg.specific_power_w_kg,
                     f"rated power {cfg.rated_power_w:.0f} W at {cfg.specific_power_w_kg:g} W/kg ({origin})")]


@hookimpl
def orbitwin_power_budget(scenario: Any) -> list[PowerItem] | None:
    cfg = scenario.section("solar")
    if cfg is None:
        return None
    p = SOLAR_CONSTANT_W_M2 * cfg.power_per_flux_m2 * float(degradation_numpy(cfg, 0.0))
    return [PowerItem("solar array, full sun at 1 AU, normal incidence, operating temperature, epoch", p,
                      "plugin solar: S0 A p eta f_asm f_T f_deg (SMAD 3rd ed. sec. 11.4)")]
