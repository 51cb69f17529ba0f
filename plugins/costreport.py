"""The cost of a finished run's delivered compute, in orbit and on the ground
(`evaluate`), what moves it most (`sensitivity`), and the command ``orbitwin cost
RUN.zarr`` (added by the costs plugin's ``orbitwin_cli`` hook; no hooks here).

Inputs: the store's scenario text (parsed again with the plugins the run used,
`plugin_manager_for`), the satellite's dry mass from every plugin's mass budget
(`twin_core.budgets.satellite_mass_kg`), the payload's accelerators (``[payload]`` and the
catalog), the prices (``[cost]``, `orbitwin_plugins.costs`) and the delivered compute,
``constellation.delivered_pflops`` of the store's ``constellation`` group.

Delivery (`normalised_delivery`), the stated rule: the fleet's delivery rate with every
satellite deployed and working is::

    R = sum_j y_j (N / w_j) dt_j / sum_j dt_j       over samples j >= 1 with w_j > 0
    w_j = active_j - failed_j

with ``y_j`` the delivered PFLOP/s at sample ``j`` (right-point rule over the group's
own time coordinate, ``dt_j = t_j - t_j-1``: exact when metrics are kept every step,
first order when only at records), ``N`` the constellation's satellites,
``active_j`` the ``constellation.active_satellites`` count (``N`` when the store has
none: every satellite is deployed from the epoch) and ``failed_j`` the
``constellation.failed_satellites`` count (0 when the run drew no failures). A
satellite not yet deployed delivers nothing in the run but will over the mission, and
the cost model applies failures over the mission itself (``mean_alive_fraction``),
so the run's failures are divided out, not counted twice. The fleet delivers ``R x
365.25`` PFLOP-days a year, over the mission ``x mission_life_years``; samples with no
working satellite carry no information and are left out. The run should cover whole
orbits and a representative season.

Accelerator-hours are delivered accelerator-hours at peak (delivered FLOP / one
accelerator's rate in the training state), on both sides, so the space/ground ratio is
the same per PFLOP-day and per accelerator-hour. The ground data center holds the same
accelerators (``N k``), draws their training power with the host overhead as IT load,
and runs the same workload (``training_throughput``).

Sensitivity (`sensitivity`): each numeric price of ``[cost]`` and ``[cost.ground]``, the
satellite's mass and the run's delivery, one at a time, divided and multiplied by a
factor (2 by default; clipped to the key's valid range, the values used are shown),
ranked by the swing of the space/ground ratio (which moves with inputs of either side).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable

import attrs
import numpy as np

from orbitwin_plugins.costs import (DAYS_PER_YEAR, FAILED_COUNT, GroundCost, GroundCostBreakdown, SpaceCost,
                                    SpaceCostBreakdown, ground_config, ground_cost, launch_pricing,
                                    parity_launch_price_usd_per_kg, space_config, space_cost)
from twin_core import CaseResult, UserError
from twin_core.validators import SpecValueError

DELIVERED = "constellation.delivered_pflops"
ACTIVE_COUNT = "constellation.active_satellites"
#: Valid ranges of the bounded prices (their validators'), for the sensitivity's clipping.
_BOUNDS = {"insurance_fraction": (0.0, 1.0), "host_cost_fraction": (0.0, 10.0), "pue": (1.0, 5.0),
           "utilisation": (1e-9, 1.0), "availability": (1e-9, 1.0), "operations_fraction_per_year": (0.0, 1.0),
           "discount_rate_per_year": (-0.999, 10.0)}


# --------------------------------------------------------------------------------------
# The run's delivery
# --------------------------------------------------------------------------------------

@attrs.frozen
class RunDelivery:
    """The run's delivered compute and the fleet's, extrapolated (module docstring).

    Attributes:
        run_days: time covered by the samples used [days].
        delivered_pflop_days: what the run delivered [PFLOP-days] (PFLOP/s x days).
        pflop_days_per_year: the fleet's delivery, every satellite deployed and working
            [PFLOP-days/year].
        pflop_days_over_mission: the same over the mission life [PFLOP-days].
        normalised_by: ``"none"``, ``"active"``, ``"working"`` or ``"active and working"``.
        mean_working_fraction: time mean of w / N over the samples used [1].
        rule: the rule, in words.
    """

    run_days: float
    delivered_pflop_days: float
    pflop_days_per_year: float
    pflop_days_over_mission: float
    normalised_by: str
    mean_working_fraction: float
    rule: str


def normalised_delivery(times_s: Any, delivered_pflops: Any, n_sats: int, mission_years: float,
                        active: Any = None, failed: Any = None) -> RunDelivery:
    """The fleet's delivery from a run's samples (module docstring: the rule).

    Args:
        times_s: sample times [s since the epoch], increasing; sample 0 closes no step.
        delivered_pflops: delivered compute at each sample [PFLOP/s]; NaN (unwritten) skipped.
        n_sats: satellites in the constellation.
        mission_years: mission life [years].
        active: satellites deployed at each sample (None: all ``n_sats``).
        failed: satellites failed at each sample (None: none).
    """
    t = np.asarray(times_s, dtype=np.float64)
    y = np.asarray(delivered_pflops, dtype=np.float64)
    act = np.full(t.shape, float(n_sats)) if active is None else np.asarray(active, dtype=np.float64)
    bad = np.zeros(t.shape) if failed is None else np.asarray(failed, dtype=np.float64)
    working = act - np.nan_to_num(bad)
    dt = np.diff(t, prepend=t[0] if t.size else 0.0)
    use = np.isfinite(y) & np.isfinite(working) & (working > 0) & (dt > 0)
    if t.size:
        use[0] = False
    covered_s = float(dt[use].sum())
    if covered_s <= 0:
        raise UserError("the run has no time step with a working, deployed satellite: no delivery to cost")
    raw = float(np.sum(np.where(np.isfinite(y), y, 0.0)[1:] * dt[1:])) / 86400.0 if t.size > 1 else 0.0
    rate = float(np.sum(y[use] * n_sats / working[use] * dt[use])) / covered_s  # PFLOP/s, whole fleet
    per_year = rate * DAYS_PER_YEAR
    by = {(False, False): "none", (True, False): "active", (False, True): "working",
          (True, True): "active and working"}[(active is not None, failed is not None)]
    days = covered_s / 86400.0
    per = {"none": "", "active": " per deployed satellite", "working": " per working satellite",
           "active and working": " per deployed and working satellite"}[by]
    rule = (f"the run's mean delivery rate over {days:.4g} days{per}, for {n_sats} satellites "
            f"({rate:.6g} PFLOP/s), x {DAYS_PER_YEAR} days/year, x {mission_years:g} years"
            + ("" if by == "none" else
               "; satellites not yet deployed will deliver over the mission, and failures are applied by the "
               "cost model, not counted twice"))
    return RunDelivery(run_days=days, delivered_pflop_days=raw, pflop_days_per_year=per_year,
                       pflop_days_over_mission=per_year * mission_years, normalised_by=by,
                       mean_working_fraction=float(np.sum(working[use] * dt[use])) / covered_s / n_sats,
                       rule=rule)


def store_delivery(store: Any, n_sats: int, mission_years: float) -> RunDelivery:
    """`normalised_delivery` of a store's ``constellation`` group."""
    con = store["constellation"]
    names = set(con.array_keys())
    if DELIVERED not in names:
        raise UserError(f"{_where(store)}: the run recorded no delivered compute ({DELIVERED}): it had no "
                        "[payload] table, so there is nothing to cost")
    t = np.asarray(con["time"][:], dtype=np.float64) / 1000.0  # int64 ms since the epoch
    read = (lambda n: np.asarray(con[n][:], dtype=np.float64) if n in names else None)
    return normalised_delivery(t, read(DELIVERED), n_sats, mission_years, read(ACTIVE_COUNT), read(FAILED_COUNT))


# --------------------------------------------------------------------------------------
# Opening a store and its plugins
# --------------------------------------------------------------------------------------

def _where(store: Any) -> str:
    root = getattr(getattr(store, "store", None), "root", None)
    return str(root) if root is not None else "the store"


def open_store(path: str | Path) -> Any:
    """The root group of the complete orbitwin store at ``path`` (read-only); a
    `UserError` naming the path when it is none, or incomplete."""
    import zarr

    from twin_core.storedir import is_orbitwin_store

    p = Path(path)
    if not p.exists():
        raise UserError(f"{path}: no such store")
    if not is_orbitwin_store(p):
        raise UserError(f"{path}: not an orbitwin store (a folder `orbitwin run --output` wrote)")
    try:
        root = zarr.open_group(str(p), mode="r")
    except Exception as exc:  # noqa: BLE001 - any failure here means "not readable"
        raise UserError(f"{path}: not a readable orbitwin store ({type(exc).__name__}: {exc})") from None
    if "orbitwin_sweep" in root.attrs:
        raise UserError(f"{path}: a sweep store (orbitwin sweep): its cost.* arrays hold each case's costs; cost "
                        f"one case with orbitwin cost {Path(path) / 'runs' / 'case-0000.zarr'}")
    if not root.attrs.get("complete"):
        raise UserError(f"{path}: the run is incomplete ({root.attrs.get('records_written', 0)} of "
                        f"{root.attrs.get('n_records', '?')} records written); finish it with orbitwin run --resume")
    return root


def plugin_manager_for(store: Any, plugins: Iterable[str] = (), on_warning: Any = None) -> Any:
    """A plugin manager with the plugins the run used (the store's ``plugin_set``, as a
    resume compares it): installed ones it did not use are left out, ones it used that
    are not installed are loaded by module (``--plugin``), plus ``plugins``."""
    from twin_core.runner import plugin_set
    from twin_core.pluginmanager import make_plugin_manager

    attrs_ = store.attrs
    recorded = attrs_.get("plugin_set")
    if recorded is None:  # stores written before the plugin set was recorded
        recorded = {n: {"version": v, "module": n} for n, v in dict(attrs_.get("plugins", {})).items()}
    recorded = dict(recorded)
    quiet = on_warning or (lambda text: None)
    now = plugin_set(make_plugin_manager(on_warning=quiet))
    disable = sorted(set(now) - set(recorded))
    missing = sorted(set(recorded) - set(now))
    extra = [str(dict(recorded[n]).get("module", n)) for n in missing] + list(plugins)
    try:
        return make_plugin_manager(extra=extra, disable=disable, on_warning=quiet)
    except UserError as exc:
        raise UserError(f"{_where(store)}: the run used plugin(s) {', '.join(missing) or '-'} that cannot be "
                        f"loaded here: {exc}") from None


# --------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------

@attrs.frozen
class Fleet:
    """What is costed: ``n_sats`` satellites of ``sat_mass_kg`` with ``accelerators_per_sat``
    of ``accelerator``; the same accelerators on the ground (``it_power_w``, ``peak_pflops``)."""

    n_sats: int
    sat_mass_kg: float
    accelerators_per_sat: int
    accelerator: str
    pflops_per_accelerator: float  # in the training state [PFLOP/s]
    it_power_w: float  # all N k accelerators and hosts at training power [W]

    @property
    def n_accelerators(self) -> int:
        return self.n_sats * self.accelerators_per_sat

    @property
    def peak_pflops(self) -> float:
        return self.n_accelerators * self.pflops_per_accelerator


@attrs.frozen
class SensitivityRow:
    """One input divided and multiplied by the factor: values used and what they give."""

    name: str
    side: str
    base: float
    low: float
    high: float
    space_low: float
    space_high: float
    ratio_low: float
    ratio_high: float

    @property
    def swing(self) -> float:
        return abs(self.ratio_high - self.ratio_low)


@attrs.frozen
class CostReport:
    """Everything ``orbitwin cost`` prints (`evaluate`)."""

    fleet: Fleet
    delivery: RunDelivery
    space_cfg: SpaceCost
    ground_cfg: GroundCost
    launch_source: str
    n_launches: float
    space: SpaceCostBreakdown
    ground: GroundCostBreakdown
    parity_usd_per_kg: float | None
    sensitivity: tuple[SensitivityRow, ...]
    factor: float

    @property
    def ratio(self) -> float:
        return self.space.usd_per_pflop_day / self.ground.usd_per_pflop_day

    def waterfall(self, side: str) -> list[tuple[str, float, float]]:
        """``(component, USD per PFLOP-day, share)`` of one side, in order."""
        b = self.space if side == "space" else self.ground
        parts = (("launch", "bus", "accelerators", "ground_segment", "insurance", "operations") if side == "space"
                 else ("facility", "accelerators", "electricity", "operations"))
        d = b.delivered_pflop_days_per_year
        return [(p.replace("_", " "), getattr(b, f"{p}_usd_per_year") / d,
                 getattr(b, f"{p}_usd_per_year") / b.total_usd_per_year) for p in parts]

    def case_results(self) -> list[CaseResult]:
        """The numbers a sweep keeps (hook ``orbitwin_case_results``)."""
        parity = math.nan if self.parity_usd_per_kg is None else self.parity_usd_per_kg
        rows = (("space_usd_per_pflop_day", self.space.usd_per_pflop_day, "USD", "space cost per delivered PFLOP-day"),
                ("ground_usd_per_pflop_day", self.ground.usd_per_pflop_day, "USD",
                 "ground data center's cost per delivered PFLOP-day, same accelerators"),
                ("space_usd_per_accelerator_hour", self.space.usd_per_accelerator_hour, "USD",
                 "space cost per delivered accelerator-hour at peak"),
                ("ground_usd_per_accelerator_hour", self.ground.usd_per_accelerator_hour, "USD",
                 "ground cost per delivered accelerator-hour at peak"),
                ("space_to_ground_ratio", self.ratio, "1", "space cost per PFLOP-day / ground cost per PFLOP-day"),
                ("parity_launch_price_usd_per_kg", parity, "USD kg-1",
                 "launch price at which space and ground cost the same per PFLOP-day (NaN: none, even a free "
                 "launch costs more)"),
                ("delivered_pflop_days_per_year", self.space.delivered_pflop_days_per_year, "PFLOP s-1 d yr-1",
                 "fleet's delivered PFLOP-days per year over the mission, failures applied"),
                ("satellite_mass_kg", self.fleet.sat_mass_kg, "kg", "dry mass of one satellite (mass budget)"),
                ("launches", self.n_launches, "1", "launches of the launch plan (NaN without a [launch] table)"),
                ("launch_price_usd_per_kg", self.space_cfg.launch_price_usd_per_kg, "USD kg-1",
                 "launch price used: " + self.launch_source))
        return [CaseResult(f"cost.{n}", v, u, d) for n, v, u, d in rows]

    def to_json(self) -> dict[str, Any]:
        """The same numbers as one JSON-ready dict (NaN and None as null)."""
        def clean(x: Any) -> Any:
            if isinstance(x, float) and not math.isfinite(x):
                return None
            if isinstance(x, dict):
                return {k: clean(v) for k, v in x.items()}
            if isinstance(x, (list, tuple)):
                return [clean(v) for v in x]
            return x

        return clean({
            "fleet": {**attrs.asdict(self.fleet), "n_accelerators": self.fleet.n_accelerators,
                      "peak_pflops": self.fleet.peak_pflops},
            "delivery": attrs.asdict(self.delivery),
            "launch": {"price_usd_per_kg": self.space_cfg.launch_price_usd_per_kg, "source": self.launch_source,
                       "launches": self.n_launches},
            "inputs": {"space": attrs.asdict(self.space_cfg), "ground": attrs.asdict(self.ground_cfg)},
            "space": {**attrs.asdict(self.space),
                      "waterfall": [{"component": c, "usd_per_pflop_day": v, "share": s}
                                    for c, v, s in self.waterfall("space")]},
            "ground": {**attrs.asdict(self.ground),
                       "waterfall": [{"component": c, "usd_per_pflop_day": v, "share": s}
                                     for c, v, s in self.waterfall("ground")]},
            "space_to_ground_ratio": self.ratio,
            "parity_launch_price_usd_per_kg": self.parity_usd_per_kg,
            "sensitivity": {"factor": self.factor, "ranked_by": "swing of the space/ground ratio",
                            "rows": [{**attrs.asdict(r), "swing": r.swing} for r in self.sensitivity]},
            "case_results": {r.name: r.value for r in self.case_results()},
        })


def _costs(space_cfg: SpaceCost, ground_cfg: GroundCost, fleet: Fleet,
           d_per_year: float) -> tuple[SpaceCostBreakdown, GroundCostBreakdown]:
    hours = d_per_year * 24.0 / fleet.pflops_per_accelerator  # delivered accelerator-hours at peak
    s = space_cost(space_cfg, fleet.n_sats, fleet.sat_mass_kg, fleet.accelerators_per_sat, d_per_year, hours)
    g = ground_cost(ground_cfg, fleet.n_accelerators, fleet.it_power_w, fleet.peak_pflops)
    return s, g


def _varied(cfg: Any, name: str, factor: float) -> tuple[Any, float, float]:
    base = float(getattr(cfg, name))
    lo_b, hi_b = _BOUNDS.get(name, (0.0, math.inf))
    low, high = max(base / factor, lo_b), min(base * factor, hi_b)
    return base, low, high


def sensitivity(space_cfg: SpaceCost, ground_cfg: GroundCost, fleet: Fleet, d_per_year: float,
                factor: float = 2.0) -> tuple[SensitivityRow, ...]:
    """Each input divided and multiplied by ``factor`` (clipped to its valid range), one
    at a time, ranked by the swing of the space/ground ratio (largest first)."""
    rows = []

    def row(name: str, side: str, base: float, low: float, high: float, make: Any) -> None:
        (s_lo, g_lo), (s_hi, g_hi) = make(low), make(high)
        rows.append(SensitivityRow(name, side, base, low, high, s_lo.usd_per_pflop_day, s_hi.usd_per_pflop_day,
                                   s_lo.usd_per_pflop_day / g_lo.usd_per_pflop_day,
                                   s_hi.usd_per_pflop_day / g_hi.usd_per_pflop_day))

    for side, cfg in (("space", space_cfg), ("ground", ground_cfg)):
        for a in attrs.fields(type(cfg)):
            base, low, high = _varied(cfg, a.name, factor)
            key = a.name if side == "space" else f"ground.{a.name}"

            def make(v: float, cfg: Any = cfg, a: Any = a, side: str = side) -> Any:
                new = attrs.evolve(cfg, **{a.name: v})
                return _costs(new, ground_cfg, fleet, d_per_year) if side == "space" else \
                    _costs(space_cfg, new, fleet, d_per_year)

            row(key, side, base, low, high, make)
    m = fleet.sat_mass_kg
    row("satellite mass (mass budget), kg", "space", m, m / factor, m * factor,
        lambda v: _costs(space_cfg, ground_cfg, attrs.evolve(fleet, sat_mass_kg=v), d_per_year))
    row("delivered compute (run), PFLOP-days/year", "space", d_per_year, d_per_year / factor, d_per_year * factor,
        lambda v: _costs(space_cfg, ground_cfg, fleet, v))
    return tuple(sorted(rows, key=lambda r: -r.swing))


def apply_overrides(space_cfg: SpaceCost, ground_cfg: GroundCost,
                    overrides: Iterable[str]) -> tuple[SpaceCost, GroundCost]:
    """``KEY=VALUE`` settings (``--set``): a `SpaceCost` key, or ``ground.KEY``."""
    for text in overrides:
        key, sep, value = text.partition("=")
        key = key.strip()
        key = key[len("cost."):] if key.startswith("cost.") else key  # as a scenario key path writes it
        ground = key.startswith("ground.")
        cls, name = (GroundCost, key[len("ground."):]) if ground else (SpaceCost, key)
        names = [a.name for a in attrs.fields(cls)]
        if not sep or name not in names:
            raise UserError(f"--set {text}: expected KEY=NUMBER with KEY one of {', '.join(names)}"
                            + ("" if ground else " or ground.<key>"))
        try:
            number = float(value)
        except ValueError:
            raise UserError(f"--set {text}: {value!r} is not a number") from None
        try:
            if ground:
                ground_cfg = attrs.evolve(ground_cfg, **{name: number})
            else:
                space_cfg = attrs.evolve(space_cfg, **{name: number})
        except SpecValueError as exc:
            raise UserError(f"--set {text}: expected {exc.expected}") from None
    return space_cfg, ground_cfg


def evaluate(scenario: Any, pm: Any, store: Any, *, overrides: Iterable[str] = (),
             factor: float = 2.0) -> CostReport:
    """The cost of the compute the run in ``store`` delivered (module docstring), with
    the plugins of ``pm`` (for the mass budget) and the prices of ``scenario``'s
    ``[cost]`` table, ``overrides`` (``KEY=VALUE``) applied last."""
    from twin_core.budgets import satellite_mass_kg

    where = _where(store)
    payload = scenario.section("payload")
    if payload is None:
        raise UserError(f"{where}: the run has no [payload] table: no delivered compute to cost")
    n_sats = int(store.attrs["n_sats"])
    pricing = launch_pricing(scenario, satellite_mass_kg(pm, scenario))
    mass = pricing.sat_mass_kg if math.isfinite(pricing.sat_mass_kg) else satellite_mass_kg(pm, scenario)
    if not mass > 0:
        raise UserError(f"{where}: no plugin declares a mass for the satellite (orbitwin budget shows the mass "
                        "budget): the launch and bus costs need it")
    hw = payload.hardware
    pflops_acc = hw.peak_bf16_flops * payload.training_throughput / 1e15
    if not pflops_acc > 0:
        raise UserError(f"{where}: [payload] training_throughput = 0: the accelerators deliver nothing")
    fleet = Fleet(n_sats=n_sats, sat_mass_kg=mass, accelerators_per_sat=payload.count, accelerator=hw.name,
                  pflops_per_accelerator=pflops_acc,
                  it_power_w=n_sats * payload.count * hw.tdp_w * payload.training_power_fraction
                  * (1.0 + payload.overhead))
    space_cfg, ground_cfg = apply_overrides(space_config(scenario, mass), ground_config(scenario), overrides)
    source = pricing.source
    if any(o.partition("=")[0].strip() == "launch_price_usd_per_kg" for o in overrides):
        source = "--set launch_price_usd_per_kg"
    try:
        delivery = store_delivery(store, n_sats, space_cfg.mission_life_years)
    except UserError as exc:
        raise UserError(f"{where}: {exc}") from None
    if not delivery.pflop_days_per_year > 0:
        raise UserError(f"{where}: the run delivered no compute (every satellite shed, off or failed): "
                        "nothing to cost")
    d = delivery.pflop_days_per_year
    space, ground = _costs(space_cfg, ground_cfg, fleet, d)
    parity = parity_launch_price_usd_per_kg(space_cfg, n_sats, mass, payload.count, d, ground.usd_per_pflop_day)
    return CostReport(fleet=fleet, delivery=delivery, space_cfg=space_cfg, ground_cfg=ground_cfg,
                      launch_source=source, n_launches=pricing.n_launches, space=space, ground=ground,
                      parity_usd_per_kg=parity, sensitivity=sensitivity(space_cfg, ground_cfg, fleet, d, factor),
                      factor=factor)


# --------------------------------------------------------------------------------------
# orbitwin cost
# --------------------------------------------------------------------------------------

def _cost_command() -> Any:
    import click

    from twin_core.cli.common import plugin_option

    @click.command("cost")
    @click.argument("store", type=click.Path())
    @click.option("--json", "as_json", is_flag=True, help="Print the same numbers as one JSON object.")
    @click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                  help="Override a [cost] price (repeatable): a key of [cost], or ground.KEY of [cost.ground], "
                       "e.g. --set launch_price_usd_per_kg=200.")
    @click.option("--factor", type=click.FloatRange(min=1.0, min_open=True), default=2.0, show_default=True,
                  help="Sensitivity: each input divided and multiplied by this, one at a time.")
    @plugin_option
    def cost(store: str, as_json: bool, overrides: tuple[str, ...], factor: float, plugins: tuple[str, ...]) -> None:
        """Cost of the compute the run in STORE delivered, in orbit and in a ground data
        center with the same accelerators: USD per PFLOP-day and per accelerator-hour side
        by side, where the money goes, the launch price per kg at which they meet, and
        which inputs move the result most. Prices from the scenario's [cost] table."""
        import json

        from twin_core.runner import parse

        root = open_store(store)
        pm = plugin_manager_for(root, plugins, on_warning=lambda t: click.echo(f"orbitwin: warning: {t}", err=True))
        scenario = parse(str(root.attrs["scenario"]), pm, path=str(root.attrs.get("scenario_path", store)))
        report = evaluate(scenario, pm, root, overrides=overrides, factor=factor)
        if as_json:
            click.echo(json.dumps({"store": store, **report.to_json()}, indent=2))
        else:
            print_report(store, root, report)

    return cost


def _usd(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}"


def print_report(path: str, root: Any, r: CostReport) -> None:
    """The report as rich tables (house style of ``orbitwin budget``)."""
    from rich.markup import escape
    from rich.table import Table

    from twin_core.cli.common import make_console, make_table

    con = make_console()
    f, dl = r.fleet, r.delivery
    con.print(f"[bold]{escape(path)}[/bold]: {f.n_sats} satellites x {f.accelerators_per_sat} {escape(f.accelerator)}"
              f", {f.sat_mass_kg:,.1f} kg each; a run of {dl.run_days:.4g} days delivered "
              f"{dl.delivered_pflop_days:.4g} PFLOP-days")
    facts = Table.grid()  # "  label:    value", a long value wrapping under itself
    facts.add_column(no_wrap=True)
    facts.add_column()
    for label, value in (("delivery:", dl.rule),
                         ("launch:", f"USD {_usd(r.space_cfg.launch_price_usd_per_kg)}/kg ({r.launch_source})")):
        facts.add_row("  " + label.ljust(11), escape(value))
    con.print(facts)
    t = make_table("cost of delivered compute")
    for col in ("", "space", "ground"):
        t.add_column(col, justify="left" if not col else "right")
    s, g = r.space, r.ground
    for label, a, b in (("USD per PFLOP-day", s.usd_per_pflop_day, g.usd_per_pflop_day),
                        ("USD per accelerator-hour", s.usd_per_accelerator_hour, g.usd_per_accelerator_hour),
                        ("total USD per year", s.total_usd_per_year, g.total_usd_per_year),
                        ("capital USD", s.capital_usd, g.capital_usd),
                        ("delivered PFLOP-days per year", s.delivered_pflop_days_per_year,
                         g.delivered_pflop_days_per_year),
                        ("accelerator-hours per year", s.accelerator_hours_per_year, g.accelerator_hours_per_year)):
        t.add_row(label, _usd(a), _usd(b))
    t.add_row("mean share working (space) / up (ground)", f"{s.mean_alive_fraction:.3f}",
              f"{r.ground_cfg.availability:.3f}")
    con.print(t)
    con.print(f"  space / ground: [bold]{r.ratio:.3g}[/bold] x per PFLOP-day")
    if r.parity_usd_per_kg is None:
        con.print("  parity launch price: [bold]none[/bold]: even a free launch costs more than the ground")
    else:
        con.print(f"  parity launch price: [bold]USD {_usd(r.parity_usd_per_kg)}/kg[/bold] (the launch price at "
                  "which space costs what the ground does per PFLOP-day)")
    con.print()
    for side in ("space", "ground"):
        w = make_table(f"where the money goes: {side}")
        for col in ("component", "USD/PFLOP-day", "share", "cumulative"):
            w.add_column(col, justify="left" if col == "component" else "right")
        running = 0.0
        for comp, v, share in r.waterfall(side):
            running += v
            w.add_row(comp, _usd(v), f"{share:.1%}", _usd(running))
        con.print(w)
    k = r.factor
    st = make_table(f"which inputs move the result most: each / {k:g} and x {k:g} (clipped to its range), "
                    "ranked by the swing of space/ground")
    for col in ("input", "base", "low / high", "space USD/PFLOP-day", "space/ground", "swing"):
        st.add_column(col, justify="left" if col == "input" else "right", overflow="fold")
    for row in r.sensitivity[:12]:
        st.add_row(escape(row.name), f"{row.base:,.4g}", f"{row.low:,.4g} / {row.high:,.4g}",
                   f"{_usd(row.space_low)} / {_usd(row.space_high)}", f"{row.ratio_low:.3g} / {row.ratio_high:.3g}",
                   f"{row.swing:.3g}")
    con.print(st)
    rest = len(r.sensitivity) - 12
    if rest > 0:
        con.print(f"  {rest} more inputs move it less (--json lists every one)")


cost_command = _cost_command()

__all__ = ["CostReport", "Fleet", "RunDelivery", "SensitivityRow", "apply_overrides", "cost_command", "evaluate",
           "normalised_delivery", "open_store", "plugin_manager_for", "print_report", "sensitivity",
           "store_delivery"]
