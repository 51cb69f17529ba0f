"""A run's plan: everything decided before taichi starts.

The plan asks the plugins who is in the constellation and what they declare, chooses
what is recorded, how the store is chunked, how satellites are grouped for reductions,
and how a constellation is split into shards. It allocates nothing, so the coordinator
of a sharded run can create the store from it and hand each shard its range.

Reduction hierarchy (what makes constellation totals exact and identical whether a run
is sharded or not): satellites -> kernel blocks (at most `block_sats` contiguous
satellites, summed sequentially by one thread) -> store chunks along ``sat`` (blocks
combined in order) -> the constellation (chunks combined in order). Shards are unions of
whole chunks, and chunks are whole planes when all planes have the same size, so a shard
is a set of whole orbital planes. The totals depend on the chunking (``[output]
chunk_sats``), never on the number of shards.

Limits before work: `preflight` works out what a run needs (memory, store size, time)
from the scenario and the plugins' declarations alone, with the satellites counted by
``orbitwin_satellite_count``, and refuses a run that cannot fit in memory before any
per-satellite array exists; `make_plan` calls it first, so every path (a run, a sharded
run's coordinator, ``orbitwin validate``) is protected. `check_output_fits` compares the
store's size with the free disk space of the output's file system.
"""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import attrs
import numpy as np

from twin_core import contributions
from twin_core.axes import check_axes
from twin_core import activity
from twin_core.budgets import satellite_mass_kg
from twin_core.declarations import Axis, Contribution, CommonSeries, Metric, SatelliteTable, Variable
from twin_core import interfaces
from twin_core.errors import BuildError, ScenarioError
from twin_core.pluginmanager import OrbitwinPluginManager
from twin_core.scenario import Scenario
from twin_core.units import check_declared_units

#: Satellites one CPU thread steps together and reduces in sequence: their fields (a few
#: hundred bytes each) stay in the core's cache across a launch's steps, and the partial
#: buffers stay small.
BLOCK_SATS = 256
#: Taichi's CPU backend hands a parallel loop to its threads in tasks of up to 512
#: iterations, so a kernel needs about 2 x 512 blocks to keep two cores busy; smaller
#: constellations get smaller blocks (down to `MIN_BLOCK_SATS`), decided from the whole
#: constellation's size so that every shard folds its totals over the same blocks.
PARALLEL_BLOCKS = 2048
MIN_BLOCK_SATS = 4


def block_sats(n_total: int) -> int:
    """Satellites per kernel block for a constellation of ``n_total``."""
    return max(MIN_BLOCK_SATS, min(BLOCK_SATS, n_total // PARALLEL_BLOCKS))


#: Most satellites per store chunk when the scenario does not say (whole planes).
CHUNK_SATS_TARGET = 65536
#: Fewest chunks along ``sat`` when the scenario does not say: a shard is whole chunks,
#: so any constellation of 8 satellites or more can run in up to 8 shards as written
#: (the bundled examples included), while chunks stay large enough to write efficiently.
#: Fixed, not the machine's core count: the chunking decides the totals' last bits, and
#: the same scenario must give the same bytes everywhere.
DEFAULT_CHUNKS = 8
#: Uncompressed bytes per store chunk aimed at.
CHUNK_TARGET_BYTES = 8 * 2**20
#: Most records per store chunk when the scenario does not say. A run checkpoints at each
#: full time chunk, so a small constellation over a long run would otherwise write one
#: chunk and no checkpoint before its end (3 satellites at 300 s records: 58 days in one
#: chunk), and a killed run would resume from the start.
MAX_CHUNK_RECORDS = 256
#: Satellite-steps per second used to estimate a run's duration: the full default physics
#: (orbit, environment, solar, power, battery, thermal, payload) in the kernel on a
#: 2-core machine. Source: docs/performance.md, "Results": 9.44 M sat-steps/s at 10^6
#: satellites on 1.93 cores (205 ns of CPU per satellite-step), 9.50 M at 10^5; smaller
#: constellations and a busy machine are slower, a GPU or more cores faster.
SAT_STEPS_PER_S = 9e6
#: Store size (uncompressed) beyond which a run is warned about.
LARGE_STORE_BYTES = 100 * 2**30
#: Share of the available memory a run may plan to use.
MEMORY_SHARE = 0.8


def _item_bytes(v: Variable) -> int:
    """Bytes of one satellite's value of ``v``."""
    return v.numpy_dtype.itemsize * int(np.prod(v.shape, dtype=int))


def format_bytes(n: float) -> str:
    """``n`` bytes in binary units (``1.2 TiB``), for messages."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024:
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} PiB"


@attrs.frozen
class Sizing:
    """What a run needs, worked out from the scenario and the plugins' declarations
    alone: nothing here depends on a per-satellite array, so it is known in a moment
    whatever the constellation's size (`preflight`).

    Attributes:
        scenario: the loaded scenario.
        n_total: satellites in the constellation (``orbitwin_satellite_count``).
        variables, common, metrics, recorded: as in `RunPlan`.
        combined: the `Combined` quantities with their contributions in folding order
            (`twin_core.contributions`).
        dropped: contributions to quantities no loaded plugin declares.
    """

    scenario: Scenario
    n_total: int
    variables: tuple[tuple[str, Variable], ...]
    common: tuple[tuple[str, CommonSeries], ...]
    metrics: tuple[Metric, ...]
    recorded: tuple[str, ...]
    combined: tuple[contributions.ResolvedCombined, ...] = ()
    dropped: tuple[tuple[str, Contribution], ...] = ()

    @property
    def state_bytes_per_sat(self) -> int:
        """Bytes of one satellite's fields: every declared variable."""
        return sum(_item_bytes(v) for _p, v in self.variables)

    @property
    def record_bytes_per_sat(self) -> int:
        """Bytes one record of one satellite adds to the store: the recorded variables."""
        declared = {v.name: v for _p, v in self.variables}
        return sum(_item_bytes(declared[n]) for n in self.recorded)

    @property
    def chunk_records(self) -> int:
        """Records per store chunk along ``time``: ``[output] chunk_records``, or as many
        as keep the largest recorded variable near `CHUNK_TARGET_BYTES` across
        ``chunk_sats`` satellites, by default across up to `CHUNK_SATS_TARGET` (not across
        the default chunk, which is smaller: that would make a run buffer more records),
        and at most `MAX_CHUNK_RECORDS` (a checkpoint at least every that many records)."""
        out, run = self.scenario.output, self.scenario.run
        if out.chunk_records:
            return out.chunk_records
        declared = {v.name: v for _p, v in self.variables}
        item = max([_item_bytes(declared[n]) for n in self.recorded] or [8])
        span = min(self.n_total, out.chunk_sats or CHUNK_SATS_TARGET)
        return max(1, min(run.n_records, MAX_CHUNK_RECORDS, CHUNK_TARGET_BYTES // (span * item)))

    @property
    def n_metric_samples(self) -> int:
        """Samples of each constellation total: every step and the epoch, or every record."""
        run = self.scenario.run
        return run.n_steps + 1 if self.scenario.output.metrics_every_step else run.n_records

    def memory_bytes(self, start: int = 0, stop: int | None = None) -> int:
        """Bytes a process running satellites ``[start, stop)`` needs, roughly: every
        field, the buffers of up to three time chunks of records (one filling, two
        queued for the writer) and two checkpoint snapshots in flight."""
        n = (self.n_total if stop is None else stop) - start
        run = self.scenario.run
        blocks = -(-n // block_sats(self.n_total))
        times = 8 * (run.n_records + (run.n_steps + 1 if self.scenario.output.metrics_every_step else 0))
        return (n * (3 * self.state_bytes_per_sat + 3 * self.chunk_records * self.record_bytes_per_sat)
                + blocks * run.steps_per_record * 8 * len(self.metrics) + 2 * times)

    def store_bytes(self, n_shards: int = 1, n_chunks: int = 1) -> int:
        """Upper bound of the store's size on disk, uncompressed: the recorded variables,
        coordinates and times, the constellation totals (with one column per chunk of
        partial totals when sharded), the common series and two checkpoints. Compression
        (zstd) makes it smaller, by how much depends on the data."""
        run = self.scenario.run
        n, n_rec, n_met = self.n_total, run.n_records, self.n_metric_samples
        common = sum(8 * int(np.prod(c.shape, dtype=int)) for _p, c in self.common if c.record)
        partials = n_chunks if n_shards > 1 else 0
        return (n * n_rec * self.record_bytes_per_sat  # sat/<variable>
                + 12 * n + 8 * (3 * n_rec + n_met)  # sat, plane, shell; the time coordinates
                + 8 * n_met * len(self.metrics) * (1 + partials)  # constellation/, partials/
                + n_rec * common  # common/
                + 2 * n * self.state_bytes_per_sat)  # checkpoint/, two slots

    @property
    def sat_steps(self) -> int:
        """Satellite-steps of the run, the epoch's evaluation included."""
        return self.n_total * (self.scenario.run.n_steps + 1)

    @property
    def run_time_s(self) -> float:
        """Kernel time at `SAT_STEPS_PER_S` (writing the store comes on top)."""
        return self.sat_steps / SAT_STEPS_PER_S


@attrs.frozen
class RunPlan:
    """What a run will do, decided without allocating anything.

    Attributes:
        scenario: the loaded scenario.
        satellites: the constellation (`SatelliteTable`).
        variables: ``(plugin, Variable)`` in declaration order.
        common: ``(plugin, CommonSeries)``.
        metrics: every `Metric`.
        recorded: names of the per-satellite variables recorded.
        chunk_sats, chunk_records: the store's chunk shape along ``sat`` and ``time``.
        chunk_bounds: satellite index where each chunk starts, plus the total at the end.
        sizing: what the run needs (`Sizing`), as `preflight` worked it out (with the
            combined quantities and their contributions: ``sizing.combined``).
        warnings: one-line warnings to show before the run (`check_dates`).
        axes: ``(plugin, Axis)`` of every axis other than satellites (``orbitwin_axes``).
        satellite_mass_kg: dry mass of one satellite from every plugin's mass budget
            (`twin_core.budgets`; 0 when none declares one) [kg].
    """

    scenario: Scenario
    satellites: SatelliteTable
    variables: tuple[tuple[str, Variable], ...]
    common: tuple[tuple[str, CommonSeries], ...]
    metrics: tuple[Metric, ...]
    recorded: tuple[str, ...]
    chunk_sats: int
    chunk_records: int
    chunk_bounds: np.ndarray = attrs.field(eq=False)
    sizing: Sizing = attrs.field(eq=False)
    warnings: tuple[str, ...] = ()
    axes: tuple[tuple[str, Axis], ...] = attrs.field(default=(), eq=False)
    satellite_mass_kg: float = 0.0

    def axis(self, name: str) -> Axis:
        for _p, ax in self.axes:
            if ax.name == name:
                return ax
        raise KeyError(name)

    @property
    def axis_recorded(self) -> tuple[Variable, ...]:
        """The recorded variables on axes other than satellites."""
        declared = {v.name: v for _p, v in self.variables}
        return tuple(declared[n] for n in self.recorded if declared[n].axis != "sat")

    @property
    def sat_recorded(self) -> tuple[str, ...]:
        """The recorded per-satellite variables."""
        declared = {v.name: v for _p, v in self.variables}
        return tuple(n for n in self.recorded if declared[n].axis == "sat")

    @property
    def n_total(self) -> int:
        return self.satellites.count

    @property
    def n_chunks(self) -> int:
        return len(self.chunk_bounds) - 1

    def axis_bytes_per_sat(self) -> tuple[int, int]:
        """Bytes per satellite that its link slots add beyond what `Sizing` counts (one
        value per satellite for each variable on an axis): ``(fields, one record)``. The
        fields include the axis structure (endpoints and incidence, 16 bytes a slot); a
        shard's halo is not counted."""
        fields = rec = 0
        for _p, v in self.variables:
            if v.axis == "sat":
                continue
            extra = _item_bytes(v) * (self.axis(v.axis).slots - 1)
            fields += extra
            rec += extra if v.name in self.recorded else 0
        fields += sum(16 * ax.slots + 4 for _p, ax in self.axes)
        return fields, rec

    def memory_estimate(self, start: int = 0, stop: int | None = None) -> int:
        """Bytes a process running satellites ``[start, stop)`` needs (`Sizing.memory_bytes`,
        plus the link slots: `axis_bytes_per_sat`)."""
        n = (self.n_total if stop is None else stop) - start
        fields, rec = self.axis_bytes_per_sat()
        return self.sizing.memory_bytes(start, stop) + n * (3 * fields + 3 * self.chunk_records * rec)

    def store_bytes(self, n_shards: int = 1) -> int:
        """Upper bound of the store's size, uncompressed (`Sizing.store_bytes`, plus the
        link slots' records and checkpoints)."""
        fields, rec = self.axis_bytes_per_sat()
        n_rec = self.scenario.run.n_records
        return self.sizing.store_bytes(n_shards, self.n_chunks) + self.n_total * (n_rec * rec + 2 * fields)

    def variable(self, name: str) -> Variable:
        for _p, v in self.variables:
            if v.name == name:
                return v
        raise KeyError(name)

    def shards(self, k: int) -> list[tuple[int, int]]:
        """Split into at most ``k`` shards of whole chunks, as even as the chunks allow."""
        if k < 1:
            raise BuildError(f"--shards must be >= 1: {k}")
        if k > self.n_total:
            raise BuildError(f"--shards {k}: the constellation has {self.n_total} satellite(s), and a shard holds "
                             f"at least one; use at most --shards {self.n_total}")
        if k > self.n_chunks:
            raise BuildError(
                f"--shards {k}: the constellation is stored in {self.n_chunks} chunk(s) of {self.chunk_sats} "
                f"satellites and a shard is whole chunks; set [output] chunk_sats to at most "
                f"{-(-self.n_total // k)} (constellation totals are exact for a given chunk_sats)")
        cuts = np.round(np.linspace(0, self.n_chunks, k + 1)).astype(int)
        return [(int(self.chunk_bounds[a]), int(self.chunk_bounds[b])) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]

    def blocks(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Kernel blocks of the satellites ``[start, stop)`` (which must be whole chunks):
        block start and stop indices relative to ``start``, and for each chunk in the range
        the index of its first block (plus the block count at the end)."""
        lo, hi, firsts = [], [], []
        for c in range(self.n_chunks):
            a, b = int(self.chunk_bounds[c]), int(self.chunk_bounds[c + 1])
            if a < start or b > stop:
                continue
            firsts.append(len(lo))
            nb = -(-(b - a) // block_sats(self.n_total))
            edges = np.linspace(a, b, nb + 1).round().astype(int)
            lo.extend(edges[:-1] - start)
            hi.extend(edges[1:] - start)
        if not lo or lo[0] != 0 or hi[-1] != stop - start:
            raise BuildError(f"satellites [{start}, {stop}) are not whole store chunks")
        firsts.append(len(lo))
        return np.array([lo, hi], dtype=np.int32), np.array(firsts, dtype=np.int64)


def _chunk_sats(sats: SatelliteTable, requested: int) -> int:
    """``[output] chunk_sats``, or the default: a `DEFAULT_CHUNKS`-th of the
    constellation, rounded down (at most `CHUNK_SATS_TARGET`, at least one satellite), and
    down again to whole planes when every plane has the same size and one fits, so that a
    shard is whole planes. Planes larger than that (a one-plane cluster) are split, so
    that every constellation of 8 satellites or more has at least 8 chunks."""
    if requested:
        return min(requested, sats.count)
    target = max(1, min(CHUNK_SATS_TARGET, sats.count // DEFAULT_CHUNKS))
    sizes = np.bincount(sats.plane) if sats.count else np.array([1])
    sizes = sizes[sizes > 0]
    if sizes.size and np.all(sizes == sizes[0]) and sizes[0] <= target:  # chunks of whole planes
        return int(sizes[0]) * (target // int(sizes[0]))
    return target


def satellite_count(scenario: Scenario, pm: OrbitwinPluginManager) -> int | None:
    """How many satellites the constellation has, from ``orbitwin_satellite_count``
    (nothing per satellite is built), or None where no plugin counts them that way."""
    n = pm.call_first("orbitwin_satellite_count", scenario=scenario)
    return None if n is None else int(n)


def _satellite_table(scenario: Scenario, pm: OrbitwinPluginManager) -> SatelliteTable:
    sats = pm.call_first("orbitwin_satellites", scenario=scenario)
    if sats is None:
        raise BuildError("no plugin defines the constellation: the built-in 'orbit' plugin does so from "
                         "the scenario's [orbit] table; is it there and is the plugin enabled?")
    return sats


def _preflight(scenario: Scenario, pm: OrbitwinPluginManager,
               shards: int | None) -> tuple[Sizing, SatelliteTable | None]:
    """`preflight`, and the satellite table where it had to be built to count them."""
    n = satellite_count(scenario, pm)
    sats = None
    if n is None:  # no plugin counts cheaply: the table is built (by a plugin that then owns the cost)
        sats = _satellite_table(scenario, pm)
        n = sats.count
    if n < 1:
        raise ScenarioError(scenario.path, None, "the constellation has no satellites")
    raw = tuple((p, v) for p, vs in pm.call("orbitwin_variables", scenario=scenario) for v in vs)
    offered = tuple((p, c) for p, cs in pm.call("orbitwin_contributions", scenario=scenario) for c in cs)
    if activity.wanted(offered):  # some plugin makes satellites inactive: the core declares sat.active
        raw = raw + activity.declarations()
    variables, combined, dropped = contributions.resolve(raw, offered)
    contributions.check_required(combined)
    common = tuple((p, c) for p, cs in pm.call("orbitwin_common_series", scenario=scenario) for c in cs)
    _check_interfaces(variables)
    declared = {v.name: v for _p, v in variables}
    metric_pairs = tuple((p, m) for p, ms in pm.call("orbitwin_metrics", scenario=scenario) for m in ms)
    if activity.ACTIVE in declared:
        metric_pairs = (("core", activity.count_metric()),) + metric_pairs
    inactive_only = frozenset(c.reason for rc in combined for _p, c, _code in rc.parts
                              if c.variable == activity.ACTIVE and c.reason)
    metrics = contributions.expand_metrics(tuple(m for _p, m in metric_pairs), declared, inactive_only)
    check_declared_units(raw, common, metric_pairs)
    _check_metrics(metrics, declared)
    recorded = tuple(_recorded(scenario, declared))
    sizing = Sizing(scenario, n, variables, common, metrics, recorded, combined, dropped)
    if shards is not None:
        share = -(-n // max(1, shards))
        _refuse_unless_fits(share, sizing.memory_bytes(0, share), shards)
    return sizing, sats


def preflight(scenario: Scenario, pm: OrbitwinPluginManager, *, shards: int | None = 1) -> Sizing:
    """What the run of ``scenario`` needs (`Sizing`), from the satellite count and the
    plugins' declarations, refusing (`BuildError`) a run that would not fit in memory
    before any per-satellite array exists.

    Args:
        scenario: the loaded scenario.
        pm: the plugin manager.
        shards: the run's shard count: one process holds the largest share, about
            ``n / shards`` satellites (1: the whole constellation in this process; None:
            memory not checked here, as for a shard whose engine checks its own range
            with `check_fits`).
    """
    return _preflight(scenario, pm, shards)[0]


def make_plan(scenario: Scenario, pm: OrbitwinPluginManager, *, shards: int | None = 1) -> RunPlan:
    """Ask the plugins and decide the plan (no taichi). `preflight` and `check_dates`
    come first, so a run too large for this machine, or at dates a model refuses, is
    refused before the satellite table is built; ``shards`` is as in `preflight`."""
    sizing, sats = _preflight(scenario, pm, shards)
    warnings = tuple(check_dates(scenario, pm))
    if sats is None:
        sats = _satellite_table(scenario, pm)
        if sats.count != sizing.n_total:
            raise BuildError(f"the plugin that defines the constellation counted {sizing.n_total:,} satellites "
                             f"(orbitwin_satellite_count) but built {sats.count:,} (orbitwin_satellites); "
                             "the two hooks must agree")
    cs = _chunk_sats(sats, scenario.output.chunk_sats)
    bounds = np.append(np.arange(0, sats.count, cs), sats.count)
    axes = tuple((p, ax) for p, got in pm.call("orbitwin_axes", scenario=scenario) for ax in (got or ()))
    check_axes(axes, sats.count, sizing.variables)
    return RunPlan(scenario, sats, sizing.variables, sizing.common, sizing.metrics, sizing.recorded, cs,
                   sizing.chunk_records, bounds, sizing, warnings, axes, satellite_mass_kg(pm, scenario))


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux ``MemAvailable``), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _refuse_unless_fits(n: int, need: int, shards: int | None = 1) -> None:
    """A `BuildError` when ``n`` satellites needing ``need`` bytes would not fit in memory."""
    have = available_memory()
    if have is None or need <= MEMORY_SHARE * have:
        return
    share = f" (one of {shards} shards)" if shards and shards > 1 else ""
    raise BuildError(
        f"{n:,} satellites{share} need about {need / 2**30:,.1f} GiB here ({need / max(n, 1):,.0f} bytes each: "
        f"fields, record buffers and checkpoints), and {have / 2**30:.1f} GiB is available; record fewer "
        "variables ([output] variables), smaller chunks ([output] chunk_records), or run it in shards on "
        "a cluster (--shards with --scheduler)")


def check_fits(plan: RunPlan, start: int = 0, stop: int | None = None) -> None:
    """Refuse, before allocating anything, a run that would not fit in memory."""
    _refuse_unless_fits((plan.n_total if stop is None else stop) - start, plan.memory_estimate(start, stop))


def _free_bytes(output: str | Path) -> tuple[Path, int]:
    """The nearest existing directory at or above ``output`` and its file system's free bytes."""
    p = Path(output).absolute()
    while not p.is_dir() and p != p.parent:
        p = p.parent
    return p, shutil.disk_usage(p).free


def check_output_fits(plan: RunPlan | Sizing, output: str | Path, *, n_shards: int = 1,
                      allow_large: bool = False) -> str | None:
    """Refuse a run whose store would not fit the free space of the file system that will
    hold ``output``; warn about a large one.

    The size is `Sizing.store_bytes`, an uncompressed upper bound, so a store that would
    fit once compressed may be refused: ``allow_large`` (``--no-space-check``) skips the
    refusal. A store that ``output`` replaces (``--overwrite``) or continues (``--resume``)
    is not counted as free.

    Args:
        plan: the run's plan (or its `Sizing`: then partial totals count one chunk).
        output: the store's path (it need not exist).
        n_shards: shards of the run (a sharded store also holds per-chunk partial totals).
        allow_large: do not refuse (the user passed ``--no-space-check``).

    Returns:
        A one-line warning when the store may exceed `LARGE_STORE_BYTES`, else None.

    Raises:
        BuildError: naming the path, the bytes needed and free, and ``--no-space-check``.
    """
    need = plan.store_bytes(n_shards)
    sizing = plan.sizing if isinstance(plan, RunPlan) else plan
    what = (f"{sizing.scenario.run.n_records:,} records of {sizing.n_total:,} satellites, "
            f"{sizing.record_bytes_per_sat:,} bytes per satellite-record")
    if not allow_large:
        where, free = _free_bytes(output)
        if need > free:
            raise BuildError(
                f"{output}: the store needs up to {format_bytes(need)} ({need:,} bytes, uncompressed: {what}) "
                f"and {where} has {format_bytes(free)} ({free:,} bytes) free; free some space, choose another "
                "--output, record fewer variables ([output] variables) or less often ([scenario] "
                "record_every_s), or pass --no-space-check to run anyway (compression makes the store smaller)")
    return store_size_warning(need, str(output)) if need > LARGE_STORE_BYTES else None


def store_size_warning(need: int, what: str = "the store") -> str:
    """The warning for a store of ``need`` bytes beyond `LARGE_STORE_BYTES`."""
    return (f"{what} may grow to {format_bytes(need)} (uncompressed upper bound, over "
            f"{format_bytes(LARGE_STORE_BYTES)}); record fewer variables ([output] variables) or less often "
            "([scenario] record_every_s) unless you mean it")


def check_dates(scenario: Scenario, pm: OrbitwinPluginManager) -> list[str]:
    """Compare the run's span with the ranges the plugins' models are stated for
    (``orbitwin_validity``): one warning per model the run leaves, naming the file and
    key; a `ScenarioError` for a model that refuses outside its range.

    (The store's own range, what its time coordinate can encode, is refused when the
    scenario is read: `twin_core.scenario.STORE_TIME_MIN`.)"""
    run = scenario.run
    start, end = run.epoch, run.end
    warnings, seen = [], set()
    for plugin, ranges in pm.call("orbitwin_validity", scenario=scenario):
        for r in ranges:
            if r.model in seen or (r.start <= start and end <= r.end):
                continue
            seen.add(r.model)
            key = "scenario.epoch" if not r.start <= start <= r.end else (
                "scenario.duration_h" if run.duration_h is not None else "scenario.duration_days")
            span = f"{start:%Y-%m-%d}" + (f" to {end:%Y-%m-%d}" if end.date() != start.date() else "")
            problem = (f"the run ({span}) goes outside {r.start:%Y-%m-%d} to {r.end:%Y-%m-%d}, over which the "
                       f"{r.model} (plugin '{plugin}') holds {r.holds}; outside it, {r.outside}")
            if r.refuse:
                raise ScenarioError(scenario.path, key, problem)
            warnings.append(f"{scenario.path}: key '{key}': {problem}")
    return warnings


def _recorded(scenario: Scenario, declared: dict[str, Variable]) -> list[str]:
    out = scenario.output
    for key, names in (("output.variables", out.variables), ("output.exclude", out.exclude)):
        for name in names:
            if name not in declared:
                close = difflib.get_close_matches(name, list(declared), n=1)
                raise ScenarioError(scenario.path, key, "no loaded plugin declares this variable", name,
                                    hint=f"did you mean '{close[0]}'?" if close
                                    else "`orbitwin plugins` lists the variables")
    names = out.variables or [n for n, v in declared.items() if v.record]
    return [n for n in names if n not in set(out.exclude)]


def _check_metrics(metrics: tuple[Metric, ...], declared: dict[str, Variable]) -> None:
    seen: set[str] = set()
    for m in metrics:
        if m.name in seen:
            raise BuildError(f"metric '{m.name}' is declared twice")
        seen.add(m.name)
        var = declared.get(m.variable)
        if var is None:
            raise BuildError(f"metric '{m.name}' reduces '{m.variable}', which no loaded plugin declares")
        if var.shape:
            raise BuildError(f"metric '{m.name}' reduces the vector '{m.variable}'; reduce a scalar")
        if m.where_variable is not None and m.where_variable not in declared:
            raise BuildError(f"metric '{m.name}' is conditioned on '{m.where_variable}', which no loaded "
                             "plugin declares")


def _check_interfaces(variables: tuple[tuple[str, Variable], ...]) -> None:
    for plugin, var in variables:
        iface = interfaces.ALL.get(var.name)
        if iface is None:
            continue
        if var.units != iface.units or tuple(var.shape) != iface.shape:
            raise BuildError(
                f"plugin '{plugin}' declares interface variable '{var.name}' with units '{var.units}' and "
                f"shape {tuple(var.shape)}; the interface fixes units '{iface.units}' and shape {iface.shape}")
