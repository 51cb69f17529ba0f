"""Helpers for testing orbitwin and plugins (as pytest ships ``pytester``).

``run_scenario`` runs a scenario text in this process on the CPU and returns every
recorded array in memory::

    from twin_core.testing import run_scenario

    res = run_scenario(SCENARIO_TOML, plugins=["my_plugin"])
    assert res.sat["power.generated_w"].shape == (res.n_records, res.n_sats)

Keep test constellations small (tens of satellites) and durations short: each distinct
set of stages compiles one kernel (about a second; taichi's offline cache makes repeats
cheaper).
"""

from __future__ import annotations

from typing import Any, Iterable

import attrs
import numpy as np

from twin_core.engine import Engine, RunLayout
from twin_core.metrics import finalize
from twin_core.pluginmanager import OrbitwinPluginManager, make_plugin_manager
from twin_core.runner import parse


class MemorySink:
    """A sink that keeps every record in numpy arrays (for tests and notebooks)."""

    def begin(self, layout: RunLayout) -> None:
        self.layout = layout
        n_rec = layout.n_records
        self.sat = {v.name: np.empty((n_rec, layout.n) + tuple(v.shape), v.numpy_dtype) for v in layout.variables}
        self.common = {c.name: np.empty((n_rec,) + tuple(c.shape)) for c in layout.common}
        n_met = layout.metric_times_s.shape[0]
        self.partials = {m.name: np.full((layout.plan.n_chunks, n_met), np.nan) for m in layout.metrics}
        self._chunks = slice(int(np.searchsorted(layout.plan.chunk_bounds, layout.sat_start)),
                             int(np.searchsorted(layout.plan.chunk_bounds, layout.sat_stop)))
        self.records = 0
        self.complete = False

    def record(self, index: int, sat: dict[str, np.ndarray], common: dict[str, np.ndarray],
               snapshot: Any = None) -> None:
        for k, v in sat.items():
            self.sat[k][index] = v
        for k, v in common.items():
            self.common[k][index] = v
        self.records = index + 1

    def metrics(self, first: int, partials: dict[str, np.ndarray]) -> None:
        for k, v in partials.items():
            self.partials[k][self._chunks, first:first + v.shape[1]] = v

    def metric_values(self) -> dict[str, np.ndarray]:
        """Each metric's values, combined over all chunks (a shard's sink holds only its
        own chunks: combine the partials of all shards first)."""
        lay = self.layout
        return {m.name: finalize(m, self.partials[m.name], lay.n_total) for m in lay.metrics}

    def finish(self) -> None:
        self.complete = True

    def abort(self, error: BaseException, state: dict[str, np.ndarray] | None = None) -> None:
        self.error = error
        self.failure_state = state


@attrs.frozen
class Result:
    """What `run_scenario` returns: arrays by name, times, and the built engine's
    layout and timing."""

    times_s: np.ndarray
    metric_times_s: np.ndarray
    sat: dict[str, np.ndarray]
    common: dict[str, np.ndarray]
    metrics: dict[str, np.ndarray]
    layout: RunLayout
    stats: dict[str, float]
    final: dict[str, np.ndarray]  # every variable's value at the end of the run
    sink: MemorySink  # with the metrics' chunk partials (``sink.partials``)

    @property
    def metrics_at_records(self) -> dict[str, np.ndarray]:
        """Each metric sampled at the record times (metrics may be kept every step)."""
        idx = np.searchsorted(self.metric_times_s, self.times_s)
        return {k: v[idx] for k, v in self.metrics.items()}

    @property
    def n_records(self) -> int:
        return int(self.times_s.shape[0])

    @property
    def n_sats(self) -> int:
        return self.layout.n


def plugin_manager(plugins: Iterable[Any] = (), entry_points: bool = True,
                   disable: Iterable[str] = ()) -> OrbitwinPluginManager:
    """A plugin manager with the installed plugins plus ``plugins`` (module names)."""
    return make_plugin_manager(extra=list(plugins), disable=disable, entry_points=entry_points)


def run_scenario(text: str, plugins: Iterable[str] | None = None, disable: Iterable[str] = (),
                 pm: OrbitwinPluginManager | None = None, sat_range: tuple[int, int] | None = None) -> Result:
    """Run scenario ``text`` on the CPU with the installed plugins plus ``plugins`` and
    return everything recorded. All variables are recorded unless the scenario's
    ``[output]`` table says otherwise."""
    pm = pm or plugin_manager(plugins or (), disable=disable)
    scenario = parse(text, pm, path="<test scenario>")
    engine = Engine(scenario, pm, arch="cpu", sat_range=sat_range)
    sink = MemorySink()
    try:
        engine.run(sink)
        final = {name: engine.state.get(name) for name in engine.state.variables}
    finally:
        engine.close()
    lay = sink.layout
    metrics = sink.metric_values() if sat_range is None else {}
    return Result(times_s=lay.times_s, metric_times_s=lay.metric_times_s, sat=sink.sat, common=sink.common,
                  metrics=metrics,
                  layout=lay, stats=dict(engine.stats), final=final, sink=sink)
