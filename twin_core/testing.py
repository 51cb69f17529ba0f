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
from twin_core.pluginmanager import OrbitwinPluginManager, make_plugin_manager
from twin_core.runner import parse


class MemorySink:
    """A sink that keeps every record in numpy arrays (for tests and notebooks)."""

    def begin(self, layout: RunLayout) -> None:
        self.layout = layout
        n_rec = layout.n_records
        self.sat = {v.name: np.empty((n_rec, layout.n) + tuple(v.shape), v.numpy_dtype) for v in layout.variables}
        self.common = {c.name: np.empty((n_rec,) + tuple(c.shape)) for c in layout.common}
        self.metrics = {m.name: np.full(n_rec, np.nan) for m in layout.metrics}
        self.records = 0
        self.complete = False

    def record(self, index: int, sat: dict[str, np.ndarray], common: dict[str, np.ndarray],
               metrics: dict[str, float]) -> None:
        for k, v in sat.items():
            self.sat[k][index] = v
        for k, v in common.items():
            self.common[k][index] = v
        for k, v in metrics.items():
            self.metrics[k][index] = v
        self.records = index + 1

    def finish(self) -> None:
        self.complete = True

    def abort(self, error: BaseException) -> None:
        self.error = error


@attrs.frozen
class Result:
    """What `run_scenario` returns: arrays by name, times, and the built engine's
    layout and timing."""

    times_s: np.ndarray
    sat: dict[str, np.ndarray]
    common: dict[str, np.ndarray]
    metrics: dict[str, np.ndarray]
    layout: RunLayout
    stats: dict[str, float]
    final: dict[str, np.ndarray]  # every variable's value at the end of the run

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
    return Result(times_s=lay.times_s, sat=sink.sat, common=sink.common, metrics=sink.metrics,
                  layout=lay, stats=dict(engine.stats), final=final)
