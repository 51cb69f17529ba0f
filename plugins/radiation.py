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

The dose accumulates while the satellite is active (``sat.active``, when a plugin such as
``launch`` declares it): from the end of its orbit raising, not during it.

Effects (`orbitwin_plugins.radiation_effects` gives the equations, sources and
ASSUMPTIONS), in the same stage:

* accelerator failures: with a ``[payload]``, each satellite's ``N`` accelerators fail at
  lognormal doses drawn one at a time by a counter-based hash of (seed, satellite index
  in the whole constellation, j), reproducible run to run and under sharding. The stage
  keeps the failed count, the next failure dose and ``ln S`` per satellite;
* the healthy share ``(N - failed)/N`` is contributed to ``payload.available_fraction``
  with reason "radiation": failed accelerators neither draw power nor compute;
* upsets: the share of the delivered compute that is redone, ``min(1, J k dD_p/dt t_r)``
  (``radiation.upset_loss``). Redone work draws power like any other, so it does not
  lower the payload's power or ``payload.flops`` (the hardware rate, as the payload
  plugin defines it); stage ``radiation.upsets`` counts it, after the payload has run, in
  ``radiation.lost_flops = peak failed/N + payload.flops x loss``;
* solar cells: with a ``[solar]`` (and ``solar_cells = true``), a second dose behind the
  cells' thin shielding drives ``f_cell = (1 - r)^(y0 + D_c / D_ref)``, contributed to
  ``solar.cell_remaining_fraction``, which then replaces the solar plugin's yearly rate.

Limits (beyond the model's own, docs/radiation.md): not valid below ~20 deg inclination
(the dipole's weak-field spot sits north of the real one); altitudes other than 550 km
follow from |B| alone, unvalidated; the upset loss is an expectation, not a draw; a job
spanning several satellites is charged at each satellite's own upset rate (exact when
they share an orbit, as a cluster does).
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from orbitwin_plugins import radiation_effects as fx
from orbitwin_plugins import radiation_env as env
from twin_core import CaseResult, CommonSeries, Contribution, Metric, Stage, Variable, hookimpl
from twin_core.errors import ScenarioError
from twin_core.validators import SpecValueError, in_range, int_range, non_negative, positive

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
        hard_failures: draw each accelerator's failure dose and stop failed accelerators
            (needs a ``[payload]``).
        failure_median_krad_si: median failure dose of an accelerator [krad(Si)].
        failure_sigma: standard deviation of ln(failure dose) [1].
        upsets_per_rad_si: upsets that stop a job, per accelerator per rad(Si) of proton
            dose [rad-1]; 0: no upset loss.
        upset_recovery_s: compute time a job loses per upset (work since its last
            checkpoint and the restart) [s].
        job_accelerators: accelerators one job spans, all stopped by an upset in any of
            them; default a satellite's ``[payload] count``.
        solar_cells: with a ``[solar]``: scale the cells' degradation by the dose behind
            ``cell_shielding_mm_al`` instead of the solar plugin's fixed yearly rate.
        cell_shielding_mm_al: aluminium-equivalent shielding in front of the cells [mm].
    """

    shielding_mm_al: float = attrs.field(default=SHIELDING_MM_AL, validator=in_range(1.0, 20.0))
    spe_rad_si_per_year: float = attrs.field(default=0.0, validator=non_negative)
    year: float | None = attrs.field(default=None)
    hard_failures: bool = True
    failure_median_krad_si: float = attrs.field(default=fx.FAILURE_MEDIAN_RAD_SI / 1e3, validator=in_range(0.001, 1e6))
    failure_sigma: float = attrs.field(default=fx.FAILURE_SIGMA, validator=in_range(0.01, 5.0))
    upsets_per_rad_si: float = attrs.field(default=fx.UPSETS_PER_RAD_SI, validator=in_range(0.0, 1e6))
    upset_recovery_s: float = attrs.field(default=fx.UPSET_RECOVERY_S, validator=in_range(0.0, 1e7))
    job_accelerators: int | None = attrs.field(default=None, validator=attrs.validators.optional(int_range(1, 10**9)))
    solar_cells: bool = True
    cell_shielding_mm_al: float = attrs.field(default=fx.CELL_SHIELDING_MM_AL, validator=in_range(1.0, 20.0))

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
        raise ScenarioError(scenario.path, "radiation.year", "the epoch is outside IGRF-14's years", round(year, 4),
                            f"an epoch in [{lo:g}, {hi:g}], or set [radiation] year")
    return year


_OUT = (("radiation.dose_rate_rad_si_s", "rad s-1", "f32", "output", "total ionizing dose rate behind the "
         "shielding (silicon): trapped protons and electrons, and solar particle events"),
        ("radiation.dose_rad_si", "rad", "f64", "state", "total ionizing dose (silicon) accumulated while active"),
        ("radiation.l_shell", "1", "f32", "output", "McIlwain L of the eccentric dipole (large over the poles)"))
# (name, units, dtype, role, description, recorded)
_ACCEL = (("radiation.draw_key", "1", "i32", "parameter", "key of the satellite's failure draws (hash of the seed "
           "and its index in the constellation)", False),
          ("radiation.failed_accelerators", "1", "i32", "state", "accelerators failed by total ionizing dose", True),
          ("radiation.next_failure_dose_rad_si", "rad", "f64", "state", "dose at which the next accelerator fails "
           "(1e30 when all have, or without failure draws)", False),
          ("radiation.failure_log_survival", "1", "f64", "state", "ln S of the last failure's order statistic "
           "(radiation_effects)", False),
          ("radiation.healthy_fraction", "1", "f32", "output", "share of the satellite's accelerators not failed "
           "by dose: contributed to payload.available_fraction", True),
          ("radiation.upset_loss", "1", "f32", "output", "share of the delivered compute redone after upsets", True),
          ("radiation.lost_flops", "FLOP s-1", "f32", "output", "compute lost to radiation: the installed peak of "
           "the failed accelerators plus the delivered compute redone after upsets", True),
          ("radiation.lost_flop", "FLOP", "f64", "state", "compute lost to radiation since the epoch, the time "
           "integral of radiation.lost_flops (exact whatever the record interval)", True))
_CELLS = (("radiation.cell_dose_rad_si", "rad", "f64", "state", "dose behind the solar cells' shielding "
           "(cell_shielding_mm_al), accumulated while active", True),
          ("radiation.cell_remaining_fraction", "1", "f32", "output", "solar cells' remaining maximum power after "
           "radiation damage: contributed to solar.cell_remaining_fraction", True))
REASON = "radiation"
#: "No further failure" [rad(Si)]: finite, since the engine stops a run on a non-finite
#: state, and beyond any dose.
NEVER_RAD_SI = 1.0e30
#: One PFLOP/s sustained for a day [FLOP].
PFLOP_DAY = 1e15 * 86400.0
CELL_TARGET = "solar.cell_remaining_fraction"


_ACCEL_KEYS = ("hard_failures", "failure_median_krad_si", "failure_sigma", "upsets_per_rad_si", "upset_recovery_s",
               "job_accelerators")


def _check_needs(scenario: Any, cfg: RadiationConfig) -> None:
    """Accelerator keys set (away from their defaults) without a ``[payload]``, or cell keys
    without a ``[solar]``, are refused: they would silently do nothing."""
    for keys, table in ((_ACCEL_KEYS, "payload"), (("cell_shielding_mm_al",), "solar")):
        if scenario.has_table(table):
            continue
        for key in keys:
            value = getattr(cfg, key)
            if value != attrs.fields_dict(RadiationConfig)[key].default:
                raise ScenarioError(scenario.path, f"radiation.{key}", f"it acts on the {table} and the scenario has "
                                    f"no [{table}] table", value, f"a [{table}] table, or leave the key out")


def _payload(scenario: Any) -> Any:
    """The ``[payload]`` table when the accelerator effects apply, else None."""
    cfg = _config(scenario)
    if cfg is None or scenario.section("payload") is None:
        return None
    if not cfg.hard_failures and cfg.upsets_per_rad_si == 0.0:
        return None
    return scenario.section("payload")


def _solar(scenario: Any) -> Any:
    """The ``[solar]`` table when the cell effect applies, else None."""
    cfg = _config(scenario)
    if cfg is None or not cfg.solar_cells or not scenario.has_table("solar"):
        return None
    solar = scenario.section("solar")
    return solar if hasattr(solar, "degradation_per_year") else None


def _vars(rows: tuple) -> list[Variable]:
    return [Variable(n, u, d, role, dt, record=rec) for n, u, dt, role, d, rec in rows]


@hookimpl
def orbitwin_config_sections() -> dict[str, type]:
    return {"radiation": RadiationConfig}


@hookimpl
def orbitwin_variables(scenario: Any) -> list[Variable] | None:
    if scenario is not None and _config(scenario) is None:
        return None
    if scenario is not None:
        _check_needs(scenario, _config(scenario))
    out = [Variable(n, u, d, role, dt, record=n != "radiation.l_shell") for n, u, dt, role, d in _OUT]
    if scenario is None or _payload(scenario) is not None:
        out += _vars(_ACCEL)
    if scenario is None or _solar(scenario) is not None:
        out += _vars(_CELLS)
    return out


@hookimpl
def orbitwin_contributions(scenario: Any) -> list[Contribution] | None:
    out = []
    if _payload(scenario) is not None:
        out.append(Contribution("payload.available_fraction", "radiation.healthy_fraction", reason=REASON))
    if _solar(scenario) is not None:
        out.append(Contribution(CELL_TARGET, "radiation.cell_remaining_fraction"))
    return out or None


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
    out = [Metric("constellation.mean_dose_rad_si", "radiation.dose_rad_si", "mean", "rad",
                  "mean total ionizing dose accumulated by a satellite"),
           Metric("constellation.max_dose_rad_si", "radiation.dose_rad_si", "max", "rad",
                  "largest total ionizing dose accumulated by a satellite")]
    if _payload(scenario) is not None:
        out += [Metric("constellation.failed_accelerators", "radiation.failed_accelerators", "sum", "1",
                       "accelerators failed by total ionizing dose"),
                Metric("constellation.healthy_accelerator_share", "radiation.healthy_fraction", "mean", "1",
                       "share of the accelerators not failed by dose (active satellites)"),
                Metric("constellation.radiation_lost_pflops", "radiation.lost_flops", "sum", "PFLOP s-1",
                       "compute lost to radiation (failed accelerators' peak, compute redone after upsets)",
                       scale=1e-15)]
    if _solar(scenario) is not None:
        out.append(Metric("constellation.min_cell_remaining_fraction", "radiation.cell_remaining_fraction", "min",
                          "1", "solar cells' remaining power after radiation damage, worst satellite"))
    return out


def _job_accelerators(cfg: RadiationConfig, payload: Any) -> int:
    return int(cfg.job_accelerators) if cfg.job_accelerators is not None else int(payload.count)


@hookimpl
def orbitwin_initial_state(scenario: Any, state: Any) -> None:
    """Each satellite's key and first failure dose (the smallest of its N draws)."""
    cfg, payload = _config(scenario), _payload(scenario)
    if payload is None or not state.has("radiation.draw_key"):
        return
    n = int(payload.count)
    keys = fx.draw_keys(scenario.run.seed, np.arange(state.n_total))
    state.set("radiation.draw_key", keys)
    if cfg.hard_failures:
        log_s = fx.next_log_survival(np.zeros(keys.shape), keys, 0, n)
        first = fx.dose_of_survival(log_s, cfg.failure_median_krad_si * 1e3, cfg.failure_sigma)
    else:
        log_s, first = np.zeros(keys.shape), np.full(keys.shape, NEVER_RAD_SI)
    state.set("radiation.failure_log_survival", log_s)
    state.set("radiation.next_failure_dose_rad_si", first)


def _amplitudes(scenario: Any, key: str, shielding_mm_al: float) -> tuple[float, float, float]:
    try:
        return tuple(float(v) for v in env.amplitudes(shielding_mm_al))  # type: ignore[return-value]
    except SpecValueError as exc:
        raise ScenarioError(scenario.path, key, "bad value", exc.value, exc.expected) from None


@hookimpl
def orbitwin_stages(scenario: Any, state: Any) -> list[Stage] | None:
    cfg = _config(scenario)
    if cfg is None:
        return None
    import taichi as ti

    a_p, a_s, a_h = _amplitudes(scenario, "radiation.shielding_mm_al", cfg.shielding_mm_al)
    year = field_year(scenario, cfg)
    b0, axis, offset = env.eccentric_dipole(year)
    AX, AY, AZ = (float(v) for v in axis)
    CX, CY, CZ = (float(v) for v in offset)
    B0, A = float(b0), float(env.A_REF_M)
    A_PS, A_H, A_P = a_p + a_s, a_h, a_p
    B_P, DB_P, L_P, L_H, S_H = env.B_P_NT, env.DB_P_NT, env.L_P, env.L_H, env.S_H
    SPE = float(env.spe_dose_rate_rad_si_per_s(cfg.spe_rad_si_per_year))
    r_f, rot_f = state.field("orbit.r_eci_m"), state.common("radiation.ecef_to_eci")
    rate_f, dose_f, l_f = (state.field(n) for n, *_ in _OUT)
    gated = state.has("sat.active")
    active_f = state.field("sat.active") if gated else None

    payload, solar = _payload(scenario), _solar(scenario)
    accel, cells = payload is not None, solar is not None
    writes = [n for n, *_ in _OUT]
    reads = ["orbit.r_eci_m", "radiation.ecef_to_eci"] + (["sat.active"] if gated else [])
    # accelerators (compiled in as literals; dummies when absent)
    N, HARD, MED, SIG, UPSET, PEAK = 1, False, 1.0, 1.0, 0.0, 0.0
    key_f = failed_f = next_f = logs_f = healthy_f = upset_f = lost_f = lost_total_f = flops_f = None
    if accel:
        from orbitwin_plugins.payload import _model

        N = int(payload.count)
        HARD, MED, SIG = bool(cfg.hard_failures), float(cfg.failure_median_krad_si * 1e3), float(cfg.failure_sigma)
        UPSET = float(_job_accelerators(cfg, payload) * cfg.upsets_per_rad_si * cfg.upset_recovery_s)
        PEAK = float(_model(scenario, payload).peak_flops)
        key_f, failed_f, next_f, logs_f, healthy_f, upset_f, lost_f, lost_total_f = (
            state.field(r[0]) for r in _ACCEL)
        flops_f = state.field("payload.flops")
        writes += [r[0] for r in _ACCEL[:-2] if r[3] != "parameter"]
        reads.append("radiation.draw_key")
    # solar cells
    C_PS = C_H = LN1R = Y0 = DREF = 0.0
    cdose_f = cell_f = None
    if cells:
        c_p, c_s, c_h = _amplitudes(scenario, "radiation.cell_shielding_mm_al", cfg.cell_shielding_mm_al)
        C_PS, C_H = c_p + c_s, c_h
        LN1R = math.log1p(-float(solar.degradation_per_year))
        Y0 = float(getattr(solar, "mission_years_at_epoch", 0.0) or 0.0)
        DREF = fx.reference_cell_dose_rad_si_per_year(cfg.cell_shielding_mm_al, year)
        cdose_f, cell_f = (state.field(r[0]) for r in _CELLS)
        writes += [r[0] for r in _CELLS]
    CA, CB, CC, CD = fx._A, fx._B, fx._C, fx._D
    NEVER = NEVER_RAD_SI
    P_LOW = fx.P_LOW
    M1, M2, GOLD = fx._M1, fx._M2, fx._GOLDEN

    @ti.func
    def h32(x):
        x ^= x >> ti.u32(16)
        x *= ti.u32(M1)
        x ^= x >> ti.u32(15)
        x *= ti.u32(M2)
        x ^= x >> ti.u32(16)
        return x

    @ti.func
    def uniform(key, j):
        k = ti.cast(key, ti.u32)
        j2 = ti.cast(j, ti.u32) * ti.u32(2)
        h1 = h32(k ^ h32(j2 + ti.u32(GOLD)))
        h2 = h32(k ^ h32(j2 + ti.u32(1) + ti.u32(GOLD)))
        return ((ti.cast(h1 >> ti.u32(5), ti.f64) * 67108864.0 + ti.cast(h2 >> ti.u32(6), ti.f64) + 0.5)
                / 9007199254740992.0)

    @ti.func
    def tail(q):  # Acklam's tail ratio
        num = ((((CC[0] * q + CC[1]) * q + CC[2]) * q + CC[3]) * q + CC[4]) * q + CC[5]
        den = (((CD[0] * q + CD[1]) * q + CD[2]) * q + CD[3]) * q + 1.0
        return num / den

    @ti.func
    def failure_dose(log_s):  # D_50 exp(sigma Phi^-1(1 - S)), radiation_effects.dose_of_survival
        L = ti.min(log_s, 0.0)
        p = 0.0
        if L > -1e-5:
            p = -(L + L * L / 2.0 + L * L * L / 6.0)
        else:
            p = 1.0 - ti.exp(L)
        z = 0.0
        if p < P_LOW:
            z = tail(ti.sqrt(-2.0 * ti.log(p)))
        elif p > 1.0 - P_LOW:
            z = -tail(ti.sqrt(-2.0 * L))
        else:
            q = p - 0.5
            r = q * q
            num = (((((CA[0] * r + CA[1]) * r + CA[2]) * r + CA[3]) * r + CA[4]) * r + CA[5]) * q
            den = ((((CB[0] * r + CB[1]) * r + CB[2]) * r + CB[3]) * r + CB[4]) * r + 1.0
            z = num / den
        return MED * ti.exp(SIG * z)

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
        w_h = ti.exp(-0.5 * q * q)
        rate = A_PS * w_p + A_H * w_h + SPE
        on = 1.0
        if ti.static(gated):
            on = ti.cast(active_f[i], ti.f64)
        rate_f[i] = ti.cast(rate, ti.f32)
        l_f[i] = ti.cast(ti.min(ell, 1e6), ti.f32)
        d = dose_f[i] + rate * dt * on
        dose_f[i] = d
        if ti.static(accel):
            failed = failed_f[i]
            if ti.static(HARD):
                nxt = next_f[i]
                if d >= nxt:
                    log_s = logs_f[i]
                    while d >= nxt and failed < N:
                        failed += 1
                        if failed < N:
                            log_s += ti.log(uniform(key_f[i], failed)) / ti.cast(N - failed, ti.f64)
                            nxt = failure_dose(log_s)
                        else:
                            nxt = NEVER
                    failed_f[i] = failed
                    next_f[i] = nxt
                    logs_f[i] = log_s
            healthy_f[i] = ti.cast(ti.cast(N - failed, ti.f64) / N, ti.f32)
            upset_f[i] = ti.cast(ti.min(1.0, UPSET * (A_P * w_p + SPE)), ti.f32)
        if ti.static(cells):
            cd = cdose_f[i] + (C_PS * w_p + C_H * w_h) * dt * on
            cdose_f[i] = cd
            cell_f[i] = ti.cast(ti.exp(LN1R * (Y0 + cd / DREF)), ti.f32)

    @ti.func
    def upsets(i, k, t, dt):
        # failed accelerators' peak + the delivered compute redone (it drew power all the same)
        failed = ti.cast(N, ti.f64) * (1.0 - ti.cast(healthy_f[i], ti.f64))
        lost = PEAK / N * failed + ti.cast(flops_f[i], ti.f64) * ti.cast(upset_f[i], ti.f64)
        lost_f[i] = ti.cast(lost, ti.f32)
        lost_total_f[i] += lost * dt

    stages = [Stage("radiation.dose", dose, writes=writes, reads=reads)]
    if accel:
        stages.append(Stage("radiation.upsets", upsets, writes=["radiation.lost_flops", "radiation.lost_flop"],
                            reads=["payload.flops", "radiation.healthy_fraction", "radiation.upset_loss"]))
    return stages


def _last(store: Any, name: str) -> Any:
    """The last record of ``name`` over the satellites active then (all without ``sat.active``)."""
    if "sat" not in store or name not in store["sat"]:
        return None
    last = np.asarray(store["sat"][name][-1], dtype=np.float64)
    if "sat.active" in store["sat"]:
        last = last[np.asarray(store["sat"]["sat.active"][-1]) != 0]
    last = last[np.isfinite(last)]
    return last if last.size else None


def _metric_integral(store: Any, name: str) -> tuple[float, float] | None:
    """(time integral of a constellation metric [its units x s], duration [s]) by the
    trapezoidal rule over the metric samples; None when it was not kept."""
    if "constellation" not in store or name not in store["constellation"]:
        return None
    grp = store["constellation"]
    y = np.asarray(grp[name][...], dtype=np.float64)
    t = np.asarray(grp["time"][...], dtype=np.float64) / 1000.0 if "time" in grp else None
    ok = np.isfinite(y)
    if t is None or t.shape != y.shape or ok.sum() < 2:
        return None
    t, y = t[ok], y[ok]
    return float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(t))), float(t[-1] - t[0])


@hookimpl
def orbitwin_summary(store: Any) -> list[tuple[str, str]] | None:
    last = _last(store, "radiation.dose_rad_si")
    if last is None:
        return None
    rows = [("total ionizing dose (end of run)", f"mean {last.mean():.4g} rad(Si), min {last.min():.4g}, "
             f"max {last.max():.4g} over the active satellites")]
    healthy = _last(store, "radiation.healthy_fraction")
    failed = _last(store, "radiation.failed_accelerators")
    if healthy is not None and failed is not None:
        rows.append(("accelerators working (end of run)", f"{100 * healthy.mean():.4g} % "
                     f"({int(failed.sum())} failed by dose)"))
    lost = _last(store, "radiation.lost_flop")
    delivered = _metric_integral(store, "constellation.delivered_pflops")
    all_lost = _metric_integral(store, "constellation.lost_pflops")
    if lost is not None:
        pflop_days = float(lost.sum()) / PFLOP_DAY
        text = (f"{pflop_days:.4g} PFLOP/s-days: failed accelerators' peak, and compute redone after upsets "
                "(which the delivered compute above includes)")
        if delivered is not None and all_lost is not None and delivered[0] + all_lost[0] > 0:
            text += (f", {100 * pflop_days * 86400.0 / (delivered[0] + all_lost[0]):.3g} % of the active satellites' "
                     "installed peak")
        rows.append(("compute lost to radiation", text))
    cell = _last(store, "radiation.cell_remaining_fraction")
    if cell is not None:
        rows.append(("solar cells after radiation (end of run)", f"{100 * cell.mean():.4g} % of beginning-of-life "
                     f"power (worst satellite {100 * cell.min():.4g} %)"))
    return rows


@hookimpl
def orbitwin_case_results(scenario: Any, store: Any) -> list[CaseResult] | None:
    """End-of-run dose, working accelerators and compute lost to radiation, for sweeps."""
    if _config(scenario) is None:
        return None
    out = []
    last = _last(store, "radiation.dose_rad_si")
    if last is not None:
        out.append(CaseResult("radiation.mean_dose_rad_si", float(last.mean()), "rad",
                              "mean total ionizing dose at the end of the run"))
    healthy = _last(store, "radiation.healthy_fraction")
    if healthy is not None:
        out.append(CaseResult("radiation.healthy_accelerator_share", float(healthy.mean()), "1",
                              "share of accelerators not failed by dose at the end of the run"))
    lost = _last(store, "radiation.lost_flop")
    if lost is not None:
        out.append(CaseResult("radiation.lost_pflop_days", float(lost.sum()) / PFLOP_DAY, "PFLOP s-1 day",
                              "compute lost to radiation over the run (failed accelerators' peak, compute redone)"))
    return out or None


__all__ = ["REASON", "RadiationConfig", "SHIELDING_MM_AL", "field_year"]
