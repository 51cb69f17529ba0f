"""Plugin ``radiation`` (table ``[radiation]``): the total ionizing dose each satellite
accumulates along its orbit, behind a stated shielding, in the fused kernel.

Model (`orbitwin_plugins.radiation_env`, whose docstring and ``docs/radiation.md`` give
the equations, the sources and the accuracy): at every step the satellite's ECEF position
``r_E = M^T r_ECI`` (``M``: GMST and IAU 1976 precession, the ground plugin's rotation
`ecef_to_eci_matrix`, a common series here) is placed in the IGRF-14 eccentric dipole of
the scenario's year (the dipole centre ``c``, its axis ``z_m``, strength ``B0``)::

    rho = |r_E - c|,  s = (r_E - c) . z_m / rho,  L = rho / (a cos^2) = rho / (a (1 - s^2))
    |B| = B0 (a / rho)^3 sqrt(1 + 3 s^2)
    w_p = exp(-(|B| - B_p) / dB_p)  where L < L_p, else 0      (the South Atlantic Anomaly)
    w_h = exp(-(L - L_h)^2 / (2 S_h^2))                        (the outer-belt horns)
    dose rate = (A_p + A_s) w_p + A_h w_h + SPE                [rad(Si) s-1]
    dose(t) = dose(t - dt) + dose rate(t) dt                   (right-point rule)

with the amplitudes ``A`` at the scenario's shielding fitted to the AP-8 MIN / AE-8 MAX
SHIELDOSE-2 dose-depth table (SPENVIS runs at 550 km; `radiation_env.amplitudes`) and
``SPE`` the stated mean solar-particle dose rate. Every quantity but the position is a
constant of the run, compiled into the stage; the slow secular drift of the field over a
mission is neglected (the dipole of the epoch's year is used throughout).

Limits (beyond the model's own, docs/radiation.md): not valid below ~20 deg inclination
(the dipole's weak-field spot sits north of the real one); altitudes other than 550 km
follow from |B| alone, unvalidated. Effects of the dose (solar-cell loss, accelerator
upsets and failures) are not wired yet (issue 12, next part).
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from orbitwin_plugins import radiation_env as env
from twin_core import CommonSeries, Metric, Stage, Variable, hookimpl
from twin_core.errors import ScenarioError
from twin_core.validators import SpecValueError, in_range, non_negative

#: Default shielding [mm Al]: ASSUMPTION, 10 mm, the thickness at which the table's
#: 5-year dose at 55 deg (765 rad(Si)) matches the ~750 rad(Si) Google reports behind
#: "shielding" for Suncatcher's 5-year mission (its thickness is not published).
SHIELDING_MM_AL = 10.0


@attrs.frozen
class RadiationConfig:
    """Table ``[radiation]``: the dose environment.

    Attributes:
        shielding_mm_al: aluminium-equivalent shielding around the electronics [mm], a
            solid sphere's radius in SHIELDOSE-2's sense; within the table's 1-20 mm.
        spe_rad_si_per_year: mean dose of solar particle events behind that shielding
            [rad(Si) per year], spread evenly (0: trapped particles only).
        year: year of the IGRF-14 field used (2020-2030); the epoch's year when absent.
    """

    shielding_mm_al: float = attrs.field(default=SHIELDING_MM_AL, validator=in_range(1.0, 20.0))
    spe_rad_si_per_year: float = attrs.field(default=0.0, validator=non_negative)
    year: float | None = attrs.field(default=None)

    def __attrs_post_init__(self) -> None:
        if self.year is not None:
            if isinstance(self.year, bool) or not isinstance(self.year, (int, float)) or not math.isfinite(self.year):
                raise SpecValueError("year", self.year, "a year (number)")
            lo, hi = env.IGRF_VALID_YEARS
            if not lo <= self.year <= hi:
                raise SpecValueError("year", self.year, f"in [{lo:g}, {hi:g}] (IGRF-14 and its secular variation)")


def _config(scenario: Any) -> RadiationConfig | None:
    return scenario.section("radiation") if scenario is not None and scenario.has_table("radiation") else None


def field_year(scenario: Any, cfg: RadiationConfig) -> float:
    """The IGRF year: ``[radiation] year``, else the epoch's (refused outside 2020-2030)."""
    if cfg.year is not None:
        return float(cfg.year)
    e = scenario.run.epoch
    year = e.year + (e.timetuple().tm_yday - 1) / 365.25
    lo, hi = env.IGRF_VALID_YEARS
    if not lo <= year <= hi:
        raise ScenarioError(scenario.path, "radiation.year", "the epoch is outside IGRF-14's years", round(year, 2),
                            f"an epoch in [{lo:g}, {hi:g}], or set [radiation] year")
    return year


_OUT = (("radiation.dose_rate_rad_si_s", "rad s-1", "f32", "output", "total ionizing dose rate behind the "
         "shielding (silicon): trapped protons and electrons, and solar particle events"),
        ("radiation.dose_rad_si", "rad", "f64", "state", "total ionizing dose (silicon) accumulated since the epoch"),
        ("radiation.l_shell", "1", "f32", "output", "McIlwain L of the eccentric dipole (large over the poles)"))


@hookimpl
def orbitwin_config_sections() -> dict[str, type]:
    return {"radiation": RadiationConfig}


@hookimpl
def orbitwin_variables(scenario: Any) -> list[Variable] | None:
    if scenario is not None and _config(scenario) is None:
        return None
    return [Variable(n, u, d, role, dt, record=n != "radiation.l_shell") for n, u, dt, role, d in _OUT]


@hookimpl
def orbitwin_common_series(scenario: Any) -> list[CommonSeries] | None:
    if scenario is not None and _config(scenario) is None:
        return None
    from orbitwin_plugins.ground import RotationSeries

    epoch = scenario.run.epoch if scenario is not None else None
    return [CommonSeries("radiation.ecef_to_eci", "1", "rotation from the Earth-fixed frame to ECI (GMST, IAU 1976 "
                         "precession), row-major 3x3, for the geomagnetic position", compute=RotationSeries(epoch, 0.0),
                         shape=(9,), record=False)]


@hookimpl
def orbitwin_metrics(scenario: Any) -> list[Metric] | None:
    if _config(scenario) is None:
        return None
    return [Metric("constellation.mean_dose_rad_si", "radiation.dose_rad_si", "mean", "rad",
                   "mean total ionizing dose accumulated by a satellite"),
            Metric("constellation.max_dose_rad_si", "radiation.dose_rad_si", "max", "rad",
                   "largest total ionizing dose accumulated by a satellite")]


@hookimpl
def orbitwin_stages(scenario: Any, state: Any) -> list[Stage] | None:
    cfg = _config(scenario)
    if cfg is None:
        return None
    import taichi as ti

    try:
        a_p, a_s, a_h = (float(v) for v in env.amplitudes(cfg.shielding_mm_al))
    except SpecValueError as exc:
        raise ScenarioError(scenario.path, "radiation.shielding_mm_al", "bad value", exc.value, exc.expected) from None
    b0, axis, offset = env.eccentric_dipole(field_year(scenario, cfg))
    AX, AY, AZ = (float(v) for v in axis)
    CX, CY, CZ = (float(v) for v in offset)
    B0, A = float(b0), float(env.A_REF_M)
    A_PS, A_H = a_p + a_s, a_h
    B_P, DB_P, L_P, L_H, S_H = env.B_P_NT, env.DB_P_NT, env.L_P, env.L_H, env.S_H
    SPE = float(env.spe_dose_rate_rad_si_per_s(cfg.spe_rad_si_per_year))
    r_f, rot_f = state.field("orbit.r_eci_m"), state.common("radiation.ecef_to_eci")
    rate_f, dose_f, l_f = (state.field(n) for n, *_ in _OUT)

    @ti.func
    def dose(i, k, t, dt):
        m = rot_f[k]
        r = r_f[i]
        # r_ECEF = M^T r_ECI, relative to the dipole's centre
        x = m[0] * r[0] + m[3] * r[1] + m[6] * r[2] - CX
        y = m[1] * r[0] + m[4] * r[1] + m[7] * r[2] - CY
        z = m[2] * r[0] + m[5] * r[1] + m[8] * r[2] - CZ
        rho = ti.sqrt(x * x + y * y + z * z)
        s = ti.min(ti.max((x * AX + y * AY + z * AZ) / rho, -1.0), 1.0)
        c2 = ti.max(1.0 - s * s, 1e-12)
        ell = rho / (A * c2)
        b = B0 * (A / rho) ** 3 * ti.sqrt(1.0 + 3.0 * s * s)
        w_p = 0.0
        if ell < L_P:
            w_p = ti.exp(-(b - B_P) / DB_P)
        q = (ti.min(ell, 1e6) - L_H) / S_H
        rate = A_PS * w_p + A_H * ti.exp(-0.5 * q * q) + SPE
        rate_f[i] = ti.cast(rate, ti.f32)
        l_f[i] = ti.cast(ti.min(ell, 1e6), ti.f32)
        dose_f[i] += rate * dt

    return [Stage("radiation.dose", dose, writes=[n for n, *_ in _OUT],
                  reads=["orbit.r_eci_m", "radiation.ecef_to_eci"])]


@hookimpl
def orbitwin_summary(store: Any) -> list[tuple[str, str]] | None:
    if "sat" not in store or "radiation.dose_rad_si" not in store["sat"]:
        return None
    import numpy as np

    last = np.asarray(store["sat"]["radiation.dose_rad_si"][-1], dtype=np.float64)
    last = last[np.isfinite(last)]
    if not last.size:
        return None
    return [("total ionizing dose (end of run)", f"mean {last.mean():.4g} rad(Si), min {last.min():.4g}, "
             f"max {last.max():.4g} over satellites")]


__all__ = ["RadiationConfig", "SHIELDING_MM_AL", "field_year"]
