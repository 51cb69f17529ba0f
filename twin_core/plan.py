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
"""

from __future__ import annotations

import difflib

import attrs
import numpy as np

from twin_core.declarations import CommonSeries, Metric, SatelliteTable, Variable
from twin_core import interfaces
from twin_core.errors import BuildError, ScenarioError
from twin_core.pluginmanager import OrbitwinPluginManager
from twin_core.scenario import Scenario

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
#: Satellites per store chunk aimed at when the scenario does not say (whole planes).
CHUNK_SATS_TARGET = 65536
#: Uncompressed bytes per store chunk aimed at.
CHUNK_TARGET_BYTES = 8 * 2**20


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

    @property
    def n_total(self) -> int:
        return self.satellites.count

    @property
    def n_chunks(self) -> int:
        return len(self.chunk_bounds) - 1

    def memory_estimate(self, start: int = 0, stop: int | None = None) -> int:
        """Bytes a process running satellites ``[start, stop)`` needs, roughly: every
        field, the buffers of up to three time chunks of records (one filling, two
        queued for the writer) and two checkpoint snapshots in flight."""
        n = (self.n_total if stop is None else stop) - start
        state = sum(v.numpy_dtype.itemsize * int(np.prod(v.shape, dtype=int)) for _p, v in self.variables)
        declared = {v.name: v for _p, v in self.variables}
        rec = sum(declared[r].numpy_dtype.itemsize * int(np.prod(declared[r].shape, dtype=int)) for r in self.recorded)
        steps = self.scenario.run.steps_per_record
        blocks = -(-n // block_sats(self.n_total))
        run = self.scenario.run
        times = 8 * (run.n_records + (run.n_steps + 1 if self.scenario.output.metrics_every_step else 0))
        return n * (3 * state + 3 * self.chunk_records * rec) + blocks * steps * 8 * len(self.metrics) + 2 * times

    def variable(self, name: str) -> Variable:
        for _p, v in self.variables:
            if v.name == name:
                return v
        raise KeyError(name)

    def shards(self, k: int) -> list[tuple[int, int]]:
        """Split into at most ``k`` shards of whole chunks, as even as the chunks allow."""
        if k < 1:
            raise BuildError(f"--shards must be >= 1: {k}")
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
    if requested:
        return min(requested, sats.count)
    sizes = np.bincount(sats.plane) if sats.count else np.array([1])
    sizes = sizes[sizes > 0]
    if sizes.size and np.all(sizes == sizes[0]):  # regular planes: chunks of whole planes
        per_plane = int(sizes[0])
        return min(sats.count, per_plane * max(1, CHUNK_SATS_TARGET // per_plane))
    return min(sats.count, CHUNK_SATS_TARGET)


def make_plan(scenario: Scenario, pm: OrbitwinPluginManager) -> RunPlan:
    """Ask the plugins and decide the plan (no taichi)."""
    sats = pm.call_first("orbitwin_satellites", scenario=scenario)
    if sats is None:
        raise BuildError("no plugin defines the constellation: the built-in 'orbit' plugin does so from "
                         "the scenario's [orbit] table; is it there and is the plugin enabled?")
    if sats.count < 1:
        raise ScenarioError(scenario.path, None, "the constellation has no satellites")
    variables = tuple((p, v) for p, vs in pm.call("orbitwin_variables", scenario=scenario) for v in vs)
    common = tuple((p, c) for p, cs in pm.call("orbitwin_common_series", scenario=scenario) for c in cs)
    _check_interfaces(variables)
    declared = {v.name: v for _p, v in variables}
    metrics = tuple(m for _p, ms in pm.call("orbitwin_metrics", scenario=scenario) for m in ms)
    _check_metrics(metrics, declared)
    recorded = _recorded(scenario, declared)
    cs = _chunk_sats(sats, scenario.output.chunk_sats)
    item = max([declared[n].numpy_dtype.itemsize * int(np.prod(declared[n].shape, dtype=int)) for n in recorded]
               or [8])
    cr = scenario.output.chunk_records or max(1, min(scenario.run.n_records, CHUNK_TARGET_BYTES // (cs * item)))
    bounds = np.append(np.arange(0, sats.count, cs), sats.count)
    return RunPlan(scenario, sats, variables, common, metrics, tuple(recorded), cs, cr, bounds)


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


def check_fits(plan: RunPlan, start: int = 0, stop: int | None = None) -> None:
    """Refuse, before allocating anything, a run that would not fit in memory."""
    need = plan.memory_estimate(start, stop)
    have = available_memory()
    if have is not None and need > 0.8 * have:
        n = (plan.n_total if stop is None else stop) - start
        raise BuildError(
            f"{n:,} satellites need about {need / 2**30:.1f} GiB here ({need / max(n, 1):,.0f} bytes each: "
            f"fields, record buffers and checkpoints), and {have / 2**30:.1f} GiB is available; record fewer "
            "variables ([output] variables), smaller chunks ([output] chunk_records), or run it in shards on "
            "a cluster (--shards with --scheduler)")


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
