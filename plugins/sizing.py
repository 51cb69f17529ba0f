"""Sizing a satellite from simulation: ``orbitwin size SCENARIO --deliver 0.99``.

Finds the smallest solar array (``[solar] area_m2``), battery (``[battery] capacity_wh``)
and radiator (``[thermal] radiator_area_m2``) with which the twin delivers the target share
of the installed compute over a window, and sets them beside the steady-state sizing for a
beta = 0 eclipse of the same orbit (`orbitwin_plugins.steady_sizing`), with the mass,
launches and cost of each. The command enters through the ``orbitwin_cli`` hook, as a
third-party plugin's would.

The sizing runs (`representative_raw`): one satellite of the constellation (``--sat``,
default the first) on its own mean elements, over the scenario's period from its epoch
(or ``--days``) at its step (or ``--step-s``), in memory, per-satellite records only at
the window's two ends (the constellation totals are kept every step). Tables that join
satellites or schedule them are left out, so that a one-satellite run is allowed and the
sizing does not depend on the network: ``[crosslinks]``, ``[ground]``, ``[formation]``,
``[launch]`` (a deployment ramp) and ``[cost]`` (failures). The bus loads their plugins
report in ``orbitwin_power_budget`` (the optical terminals) are added to ``[power]
avionics_w`` instead, so the power balance keeps them.

Delivered share (the payload plugin's summary integral, right-point rule)::

    share = sum_k delivered_k dt_k / sum_k (delivered_k + lost_k) dt_k

``constellation.delivered_pflops`` and ``constellation.lost_pflops`` (installed peak
minus delivered), every step.

Search, in factors of the beta = 0 sizing, for each size in turn with the other two held
generous (``--generous`` x, default 2): bracket (`bracket_down`: try 1, then halve while
the target is still met; or [1, generous] when 1 misses it), then narrow the bracket
(`refine`: regula falsi in log(factor) with a probe a tolerance beyond each point) until
the factors that pass and fail are within ``--tolerance`` (relative, default 1 %); the
answer is the smallest factor that passed. The three answers are then run together; if
interactions make the combination fall short (the losses each size allows add up), all
three are raised by one common factor, bracketed by doubling and narrowed the same way.
A target missed with every size at its generous factor, or with the common factor at
``--max-factor``, is an error. The command answers the lightest design (by the mass
budget) the twin found meeting the target: the search's, or the beta = 0 or the
scenario's own sizing when the twin finds it meets the target and weighs less.

Assumptions and limits: one satellite stands for the constellation (over a window of a
few days the planes of a Walker shell see different beta angles: pick ``--sat``, or run
a year, over which every plane sweeps every beta); the share is monotone in each size
(more array, battery or radiator never delivers less, which the models satisfy up to
float rounding); each run compiles its kernel anew (the sizes are compiled in), ~3-4 s.
Checked in ``tests/test_sizing.py``.
"""

from __future__ import annotations

import copy
import time
from typing import Any, Callable

import attrs
import numpy as np

from twin_core import hookimpl
from twin_core.errors import UserError
from twin_core.tomlwrite import dumps

#: The three sizes: (name, table, key, unit).
SIZES = (("array", "solar", "area_m2", "m2"), ("battery", "battery", "capacity_wh", "Wh"),
         ("radiator", "thermal", "radiator_area_m2", "m2"))
#: Tables left out of the sizing runs (module docstring).
DROPPED_TABLES = ("crosslinks", "ground", "formation", "launch", "cost")
#: Defaults of the search: relative tolerance, generous factor, largest common factor,
#: smallest factor tried (relative to the beta = 0 sizing). ASSUMPTIONS: 1 % is within
#: the models' own accuracy; 2x beta = 0 is generous for any orbit in sunlight >= 60 %.
TOLERANCE, GENEROUS, MAX_FACTOR, MIN_FACTOR = 0.01, 2.0, 8.0, 1.0 / 1024.0


# --------------------------------------------------------------------------------------
# the search
# --------------------------------------------------------------------------------------


def refine(share: Callable[[float], float], target: float, lo: float, s_lo: float, hi: float, s_hi: float,
           tol: float = TOLERANCE) -> tuple[float, float]:
    """Narrow a bracket, ``lo`` failing (``s_lo < target``) and ``hi`` passing, until
    ``(hi - lo) / hi <= tol``. Bisection (in log(factor)) while the bracket is wider than
    8 tolerances; then each step tries the factor where the share, interpolated
    linearly in log(factor) between the ends, meets the target (the Illinois variant of
    regula falsi: an end kept twice has its weight halved, so a saturated end does not
    stall it; the point is kept within the middle 80 % of the bracket), then the factor a
    tolerance beyond it on the other side, which closes the bracket when the
    interpolation was close. Returns ``(lo, hi)``."""
    f_lo, f_hi, side = s_lo - target, s_hi - target, 0
    while (hi - lo) / hi > tol:
        t = -f_lo / (f_hi - f_lo) if f_hi > f_lo and (hi - lo) / hi < 8.0 * tol else 0.5
        x = lo * (hi / lo) ** min(max(t, 0.1), 0.9)
        s = share(x)
        if s >= target:
            hi, f_hi, probe = x, s - target, x / (1.0 + tol)
            f_lo, side = (f_lo / 2.0 if side == 1 else f_lo), 1
        else:
            lo, f_lo, probe = x, s - target, x * (1.0 + tol)
            f_hi, side = (f_hi / 2.0 if side == -1 else f_hi), -1
        if lo < probe < hi and t != 0.5:
            s = share(probe)
            if s >= target:
                hi, f_hi = probe, s - target
            else:
                lo, f_lo = probe, s - target
    return lo, hi


def bracket_down(share: Callable[[float], float], target: float, hi: float, s_hi: float,
                 lo_min: float = MIN_FACTOR) -> tuple[float | None, float, float, float]:
    """From a passing factor ``hi``, halve until one fails. Returns ``(lo, s_lo, hi,
    s_hi)``; ``lo`` is ``None`` when ``lo_min`` still passes (``hi`` is then the last
    factor tried)."""
    while True:
        lo = hi / 2.0
        if lo < lo_min:
            return None, float("nan"), hi, s_hi
        s_lo = share(lo)
        if s_lo < target:
            return lo, s_lo, hi, s_hi
        hi, s_hi = lo, s_lo


# --------------------------------------------------------------------------------------
# the sizing runs
# --------------------------------------------------------------------------------------


def representative_raw(pm: Any, scenario: Any, sat: int = 0, days: float | None = None,
                       step_s: float | None = None) -> tuple[dict[str, Any], list[str]]:
    """The sizing runs' scenario as a dict (module docstring), and what was changed, in words."""
    raw = copy.deepcopy(scenario.raw)
    orbit = scenario.section("orbit")
    if orbit is None or not hasattr(orbit, "elements"):
        raise UserError(f"size: {scenario.path} has no [[orbit.shell]]; sizing takes one of its satellites")
    n = orbit.count
    if not 0 <= sat < n:
        raise UserError(f"size: --sat {sat} is not a satellite of {scenario.path} (0 to {n - 1})")
    el, _ = orbit.elements(scenario.run.epoch)
    deg = lambda x: float(np.rad2deg(x[sat]))  # noqa: E731
    raw["orbit"] = {"shell": [{"kind": "elements", "sets": [{
        "semi_major_axis_km": float(el.semi_major_axis_m[sat]) / 1e3, "eccentricity": float(el.eccentricity[sat]),
        "inclination_deg": deg(el.inclination_rad), "raan_deg": deg(el.raan_rad),
        "arg_perigee_deg": deg(el.arg_perigee_rad), "mean_anomaly_deg": deg(el.mean_anomaly_rad)}]}]}
    notes = [f"satellite {sat} of {n} on its own mean elements"]
    owners = pm.config_sections()
    dropped = [t for t in DROPPED_TABLES if t in raw]
    plugins = {owners[t][1] for t in dropped if t in owners}
    extra_w = -sum(i.power_w for p, items in pm.call("orbitwin_power_budget", scenario=scenario)
                   if p in plugins for i in items if i.power_w < 0.0)
    for t in dropped:
        del raw[t]
    if dropped:
        notes.append("left out: " + ", ".join(f"[{t}]" for t in dropped))
    if extra_w > 0.0:
        power = dict(raw.get("power", {}))
        power["avionics_w"] = float(scenario.section("power").avionics_w) + extra_w
        raw["power"] = power
        notes.append(f"their bus loads, {extra_w:g} W, added to [power] avionics_w")
    run = dict(raw["scenario"])
    duration_s = float(days) * 86400.0 if days is not None else scenario.run.duration_s
    step = float(step_s) if step_s is not None else scenario.run.step_s
    ratio = duration_s / step
    if abs(ratio - round(ratio)) > 1e-9 * ratio or round(ratio) < 1:
        raise UserError(f"size: the window ({duration_s:g} s) is not a whole number of steps of {step:g} s "
                        "(--days, --step-s)")
    for key in ("duration_h", "duration_days", "coupling_every_s"):
        run.pop(key, None)
    run.update(duration_h=duration_s / 3600.0, step_s=step, record_every_s=duration_s)
    raw["scenario"] = run
    raw["output"] = {"variables": ["battery.soc"], "metrics_every_step": True}
    notes.append(f"{duration_s / 86400.0:g} days from {scenario.run.epoch:%Y-%m-%d %H:%M} UTC at {step:g} s steps "
                 f"({round(ratio):,} steps)")
    return raw, notes


def delivered_share(metrics: dict[str, np.ndarray], times_s: np.ndarray) -> float:
    """Delivered / installed compute over the run (module docstring)."""
    w = np.diff(times_s)
    d = np.asarray(metrics["constellation.delivered_pflops"], np.float64)[1:]
    lost = np.asarray(metrics["constellation.lost_pflops"], np.float64)[1:]
    total = float(np.sum((d + lost) * w))
    return float(np.sum(d * w)) / total if total > 0 else 0.0


@attrs.define
class SizingRuns:
    """Runs the twin on the sizing scenario with given sizes, in this process, counting
    the runs and their time; results are kept by sizes."""

    pm: Any
    raw: dict[str, Any]
    path: str
    arch: str = "cpu"
    on_run: Callable[[tuple[float, float, float], float], None] | None = None
    results: dict[tuple[float, float, float], float] = attrs.Factory(dict)
    wall_s: float = 0.0

    def scenario(self, sizes: tuple[float, float, float]) -> Any:
        from twin_core.runner import parse

        raw = copy.deepcopy(self.raw)
        for (_n, table, key, _u), v in zip(SIZES, sizes):
            raw[table][key] = float(v)
        return parse(dumps(raw), self.pm, path=f"{self.path} (sizing run)")

    def share(self, sizes: tuple[float, float, float]) -> float:
        sizes = tuple(float(v) for v in sizes)
        if sizes not in self.results:
            from twin_core.engine import Engine
            from twin_core.testing import MemorySink

            t0 = time.perf_counter()
            engine = Engine(self.scenario(sizes), self.pm, arch=self.arch)
            sink = MemorySink()
            try:
                engine.run(sink)
            finally:
                engine.close()
            self.results[sizes] = delivered_share(sink.metric_values(), sink.layout.metric_times_s)
            self.wall_s += time.perf_counter() - t0
            if self.on_run is not None:
                self.on_run(sizes, self.results[sizes])
        return self.results[sizes]

    @property
    def n_runs(self) -> int:
        return len(self.results)


@attrs.frozen
class SimulatedSizing:
    """Result of `size_by_simulation`: sizes in the units of `SIZES`, factors relative to
    the beta = 0 sizing, the share each reached, and whether a size met its lower bound."""

    sizes: tuple[float, float, float]
    factors: tuple[float, float, float]
    share: float
    common_factor: float
    at_lower_bound: tuple[bool, bool, bool]


def size_by_simulation(runs: SizingRuns, base: tuple[float, float, float], target: float, *,
                       tol: float = TOLERANCE, generous: float = GENEROUS,
                       max_factor: float = MAX_FACTOR) -> SimulatedSizing:
    """The search of the module docstring, in factors of ``base`` (the beta = 0 sizes)."""
    def sizes(f: Any) -> tuple[float, float, float]:
        return tuple(b * x for b, x in zip(base, f))  # type: ignore[return-value]

    full = (generous,) * 3
    best = runs.share(sizes(full))
    if best < target:
        raise UserError(f"size: --deliver {target:g} is not reached even with every size at {generous:g} x the "
                        f"beta = 0 sizing (delivered {best:.4f}); lower the target or raise --generous")
    factors, low = [], []
    for i in range(3):
        def share(x: float, i: int = i) -> float:
            f = list(full)
            f[i] = x
            return runs.share(sizes(f))

        x0 = min(1.0, generous)
        s0 = share(x0)
        if s0 >= target:
            lo, s_lo, hi, s_hi = bracket_down(share, target, x0, s0)
        else:
            lo, s_lo, hi, s_hi = x0, s0, generous, best
        if lo is not None:
            lo, hi = refine(share, target, lo, s_lo, hi, s_hi, tol)
        factors.append(hi)
        low.append(lo is None)
    common = 1.0
    s_c = runs.share(sizes(factors))
    if s_c < target:
        def share_c(c: float) -> float:
            return runs.share(sizes([c * x for x in factors]))

        lo, s_lo, hi = 1.0, s_c, 2.0
        s_hi = share_c(hi)
        while s_hi < target:
            if hi * 2.0 > max_factor:
                raise UserError(f"size: --deliver {target:g} is not reached with the three sizes raised together "
                                f"up to {hi:g} x (--max-factor {max_factor:g}); delivered {s_hi:.4f}")
            lo, s_lo, hi = hi, s_hi, hi * 2.0
            s_hi = share_c(hi)
        common = refine(share_c, target, lo, s_lo, hi, s_hi, tol)[1]
    final = tuple(common * x for x in factors)
    return SimulatedSizing(sizes=sizes(final), factors=final, share=runs.share(sizes(final)),
                           common_factor=common, at_lower_bound=tuple(low))


# --------------------------------------------------------------------------------------
# the command
# --------------------------------------------------------------------------------------


def with_sizes(scenario: Any, sizes: tuple[float, float, float]) -> Any:
    """``scenario`` with the three sizes set in its sections (for the mass budget)."""
    sections = dict(scenario.sections)
    for (_n, table, key, _u), v in zip(SIZES, sizes):
        sections[table] = attrs.evolve(sections[table], **{key: float(v)})
    return attrs.evolve(scenario, sections=sections)


def economics(pm: Any, scenario: Any, sizes: tuple[float, float, float], share: float) -> dict[str, Any]:
    """Mass of one satellite, launches and cost of the fleet with ``sizes``, delivering
    ``share`` of its installed compute (`twin_core.budgets`, `orbitwin_plugins.launch`,
    `orbitwin_plugins.costs`; launch planning or a scenario's cost table where those
    modules provide them, their defaults otherwise)."""
    from orbitwin_plugins import costs, launch
    from orbitwin_plugins.steady_sizing import payload_model
    from twin_core.budgets import satellite_mass_kg

    sized = with_sizes(scenario, sizes)
    mass = satellite_mass_kg(pm, sized)
    out: dict[str, Any] = {"mass_kg": mass, "launches": None, "launch_usd": None}
    cfg = costs.space_config(sized, mass)  # the launch price the cost uses: [cost], else the plan's, else default
    n_sats = scenario.section("orbit").count
    launches = launch.scenario_launch_plan(sized, mass).n_launches if scenario.has_table("launch") else None
    out.update(launches=launches, launch_usd=cfg.launch_price_usd_per_kg * mass * n_sats)
    per_sat = scenario.section("payload").count
    pflop_days = share * payload_model(scenario).peak_flops * 1e-15 * n_sats * costs.DAYS_PER_YEAR
    if pflop_days > 0:
        c = costs.space_cost(cfg, n_sats, mass, per_sat, pflop_days)
        out.update(capital_usd=c.capital_usd, usd_per_pflop_day=c.usd_per_pflop_day)
    return out


def _check(scenario: Any, deliver: float) -> None:
    if not 0.0 < deliver <= 1.0:
        raise UserError(f"size: --deliver must be a share of the installed compute in (0, 1]: {deliver:g}")
    if scenario.section("payload") is None:
        raise UserError(f"size: {scenario.path} has no [payload] table: there is no compute to deliver")
    missing = [f"[{t}]" for _n, t, _k, _u in SIZES if scenario.section(t) is None]
    if missing:
        raise UserError(f"size: {scenario.path} has no " + ", ".join(missing) + " table: sizing sets "
                        + ", ".join(f"[{t}] {k}" for _n, t, k, _u in SIZES))


def _command() -> Any:
    import click
    from rich.markup import escape

    from twin_core.cli.common import build_plugin_manager, make_console, make_table, plugin_options

    @click.command("size")
    @click.argument("scenario", type=click.Path(dir_okay=False))
    @click.option("--deliver", type=float, required=True, metavar="SHARE",
                  help="Share of the installed compute to deliver over the window, in (0, 1].")
    @click.option("--days", type=click.FloatRange(0.0, min_open=True), default=None,
                  help="Window from the scenario's epoch [days] (default: the scenario's duration).")
    @click.option("--step-s", type=click.FloatRange(0.0, min_open=True), default=None,
                  help="Step of the sizing runs [s] (default: the scenario's).")
    @click.option("--sat", type=int, default=0, show_default=True, help="The satellite simulated (index).")
    @click.option("--tolerance", type=click.FloatRange(0.0, 0.5, min_open=True), default=TOLERANCE,
                  show_default=True, help="Relative tolerance of each size.")
    @click.option("--generous", type=click.FloatRange(1.0), default=GENEROUS, show_default=True,
                  help="Upper bound of each size, x the beta = 0 sizing.")
    @click.option("--max-factor", type=click.FloatRange(1.0), default=MAX_FACTOR, show_default=True,
                  help="Most the three sizes are raised together when their combination falls short.")
    @click.option("--arch", type=click.Choice(["cpu", "gpu", "auto"]), default="cpu", show_default=True)
    @click.option("--quiet", "-q", is_flag=True, help="No progress.")
    @plugin_options
    def size(scenario: str, deliver: float, days: float | None, step_s: float | None, sat: int, tolerance: float,
             generous: float, max_factor: float, arch: str, quiet: bool, plugins: tuple[str, ...],
             disable: tuple[str, ...]) -> None:
        """Smallest solar array, battery and radiator with which SCENARIO delivers the share
        --deliver of its installed compute, found by running the twin on one satellite, beside
        the steady-state sizing for a beta = 0 eclipse of the same orbit."""
        from orbitwin_plugins.steady_sizing import scenario_beta0_sizing
        from twin_core.runner import load

        t0 = time.perf_counter()
        pm = build_plugin_manager(plugins, disable)
        sc = load(scenario, pm)
        _check(sc, deliver)
        raw, notes = representative_raw(pm, sc, sat, days, step_s)
        el, _ = sc.section("orbit").elements(sc.run.epoch)
        b0 = scenario_beta0_sizing(pm, sc, float(el.semi_major_axis_m[sat]), raw["scenario"]["duration_h"] * 3600.0)
        base = (b0.array_area_m2, b0.battery_capacity_wh, b0.radiator_area_m2)
        own = tuple(float(getattr(sc.section(t), k)) for _n, t, k, _u in SIZES)
        console = make_console(stderr=True)

        def on_run(sizes: tuple[float, float, float], share: float) -> None:
            if not quiet:
                f = " ".join(f"{n} x{v / b:.3f}" for (n, *_), v, b in zip(SIZES, sizes, base))
                console.print(f"run {runs.n_runs:3d} ({runs.wall_s:6.1f} s): {f} -> {100 * share:.2f} %")

        runs = SizingRuns(pm, raw, sc.path, arch=arch, on_run=on_run)
        share_own, share_b0 = runs.share(own), runs.share(base)
        sim = size_by_simulation(runs, base, deliver, tol=tolerance, generous=generous, max_factor=max_factor)
        # the answer is the lightest design known to meet the target: the search's, or the beta = 0 or
        # the scenario's own sizing where the twin found that one meets it and weighs less (the
        # search narrows one size at a time, and raising the three together may overshoot them)
        known = {"scenario": (own, share_own), "beta = 0": (base, share_b0), "search": (sim.sizes, sim.share)}
        eco_of = {k: economics(pm, sc, sz, sh) for k, (sz, sh) in known.items()}
        passing = [k for k, (_sz, sh) in known.items() if sh >= deliver] or ["search"]
        chosen = min(passing, key=lambda k: (eco_of[k]["mass_kg"], k != "search"))
        rows = {"scenario": known["scenario"], "beta = 0": known["beta = 0"], "simulated": known[chosen]}
        eco = {"scenario": eco_of["scenario"], "beta = 0": eco_of["beta = 0"], "simulated": eco_of[chosen]}

        table = make_table(f"Sizing of {sc.path} for {100 * deliver:g} % delivered")
        for col in ("", "scenario", "beta = 0", "simulated", "simulated / beta = 0"):
            table.add_column(col, justify="left" if not col else "right")
        scale = {"Wh": (1e-3, "kWh")}
        for i, (name, t, k, unit) in enumerate(SIZES):
            mul, u = scale.get(unit, (1.0, unit))
            vals = [rows[c][0][i] for c in rows]
            table.add_row(escape(f"{name} ([{t}] {k}) [{u}]"), *(f"{v * mul:,.4g}" for v in vals), f"{vals[2] / vals[1]:.3f}")
        shares = [rows[c][1] for c in rows]
        table.add_row(f"delivered share (twin, satellite {sat})", *(f"{100 * s:.2f} %" for s in shares), "")

        def money(key: str, mul: float, fmt: str) -> list[str]:
            vals = [eco[c].get(key) for c in rows]
            cells = [fmt.format(v * mul) if v is not None else "n/a" for v in vals]
            ok = vals[1] not in (None, 0) and vals[2] is not None
            return cells + [f"{vals[2] / vals[1]:.3f}" if ok else ""]

        table.add_row(escape("mass per satellite [kg]"), *money("mass_kg", 1.0, "{:,.0f}"))
        table.add_row("launches", *money("launches", 1.0, "{:,.0f}"))
        table.add_row(escape("launch cost [M USD]"), *money("launch_usd", 1e-6, "{:,.1f}"))
        table.add_row(escape("capital [M USD]"), *money("capital_usd", 1e-6, "{:,.1f}"))
        table.add_row(escape("cost per PFLOP-day [USD]"), *money("usd_per_pflop_day", 1.0, "{:,.0f}"))
        out = make_console()
        out.print(table)
        say = lambda text: out.print(text, markup=False, highlight=False)  # noqa: E731
        if chosen != "search":
            say(f"the search's combination ({eco_of['search']['mass_kg']:,.0f} kg) weighs more than the {chosen} sizing, "
                "which the twin finds already delivers the target: that sizing is the answer.")
        if share_b0 >= deliver:
            said = [f"{n} {abs(1 - s / b) * 100:.0f} % {'over-bought' if s < b else 'under the twin'}"
                    for (n, *_), s, b in zip(SIZES, rows['simulated'][0], base)]
            verdict = f"meets the target in the twin ({100 * share_b0:.2f} % delivered)"
        else:
            said = [f"{n} {abs(1 - s / b) * 100:.0f} % {'over-bought' if s < b else 'short'}"
                    for (n, *_), s, b in zip(SIZES, rows['simulated'][0], base)]
            verdict = f"misses the target in the twin ({100 * share_b0:.2f} % delivered)"
        say(f"beta = 0 sizing {verdict}; against the twin's: {', '.join(said)}; mass per satellite "
            f"{eco['beta = 0']['mass_kg'] - eco['simulated']['mass_kg']:+,.0f} kg at beta = 0.")
        say(f"beta = 0: {b0.altitude_km:.0f} km, eclipse {100 * b0.eclipse_fraction:.1f} % of a "
                  f"{b0.period_s / 60:.1f}-min orbit, load {b0.load_w:,.0f} W, array {b0.array_power_w:,.0f} W, "
                  f"battery set by {b0.battery_binding} (runs down to state of charge {b0.soc_run:.2f}), radiator "
                  f"at {b0.radiator_temperature_k:.1f} K rejecting {b0.radiator_heat_w:,.0f} W"
                  + "".join(f"; {n}" for n in b0.notes))
        low = [n for (n, *_), lb in zip(SIZES, sim.at_lower_bound) if lb]
        say("twin: " + "; ".join(notes) + f"; tolerance {100 * tolerance:g} %"
                  + (f"; sizes raised together x{sim.common_factor:.3f}" if sim.common_factor > 1 else "")
                  + (f"; at the lower bound ({MIN_FACTOR:g} x beta = 0): {', '.join(low)}" if low else ""))
        say(f"{runs.n_runs} runs in {runs.wall_s:.1f} s ({time.perf_counter() - t0:.1f} s in all)")

    return size


@hookimpl
def orbitwin_cli(group: Any) -> None:
    group.add_command(_command())


__all__ = ["SIZES", "SimulatedSizing", "SizingRuns", "bracket_down", "delivered_share", "economics", "refine",
           "representative_raw", "size_by_simulation", "with_sizes"]
