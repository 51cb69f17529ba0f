"""Helpers for testing orbitwin and plugins (as pytest ships ``pytester``).

``run_scenario`` runs a scenario text in this process on the CPU and returns every
recorded array in memory::

    from twin_core.testing import run_scenario

    res = run_scenario(SCENARIO_TOML, plugins=["my_plugin"])
    assert res.sat["power.generated_w"].shape == (res.n_records, res.n_sats)

With ``store=``, the same run goes through the real zarr store, as ``orbitwin run``
writes it (`twin_core.runner.run_to_store`), and every array of the `Result` is read back
from there: a test then also sees what only the store does (an integer variable's fill
value, the units and flag attributes in ``res.attrs``, the store's ``complete`` flag)::

    res = run_scenario(SCENARIO_TOML, plugins=["my_plugin"], store=tmp_path / "run.zarr")
    assert res.attrs["my_plugin.power_w"]["units"] == "W"

Keep test constellations small (tens of satellites) and durations short: each distinct
set of stages compiles one kernel (about a second; taichi's offline cache makes repeats
cheaper).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import attrs
import numpy as np

from twin_core.engine import Engine, RunLayout
from twin_core.metrics import finalize_all
from twin_core.pluginmanager import OrbitwinPluginManager, make_plugin_manager
from twin_core.runner import parse


class MemorySink:
    """A sink that keeps every record in numpy arrays (for tests and notebooks).

    After a run it holds ``sat`` and ``common`` (arrays by name, as in `Result`),
    ``partials`` (each metric's per-chunk partial totals), ``records`` (how many were
    received) and ``complete`` (the run finished).
    """

    def begin(self, layout: RunLayout) -> None:
        """Allocate the arrays of ``layout`` (called by the engine as a run starts)."""
        self.layout = layout
        n_rec = layout.n_records
        self.sat = {v.name: np.empty((n_rec, layout.n) + tuple(v.shape), v.numpy_dtype) for v in layout.variables}
        for v in layout.axis_variables:  # (time, link): this process's link slots
            slots = layout.plan.axis(v.axis).slots
            self.sat[v.name] = np.empty((n_rec, layout.n * slots) + tuple(v.shape), v.numpy_dtype)
        self.common = {c.name: np.empty((n_rec,) + tuple(c.shape)) for c in layout.common}
        n_met = layout.metric_times_s.shape[0]
        self.partials = {m.name: np.full((layout.plan.n_chunks, n_met), np.nan) for m in layout.metrics}
        self._chunks = slice(int(np.searchsorted(layout.plan.chunk_bounds, layout.sat_start)),
                             int(np.searchsorted(layout.plan.chunk_bounds, layout.sat_stop)))
        self.records = 0
        self.complete = False

    def record(self, index: int, sat: dict[str, np.ndarray], common: dict[str, np.ndarray],
               snapshot: Any = None) -> None:
        """Keep record ``index`` (called by the engine after each record's steps)."""
        for k, v in sat.items():
            self.sat[k][index] = v
        for k, v in common.items():
            self.common[k][index] = v
        self.records = index + 1

    def metrics(self, first: int, partials: dict[str, np.ndarray]) -> None:
        """Keep the metrics' chunk partials of the samples from ``first`` on."""
        for k, v in partials.items():
            self.partials[k][self._chunks, first:first + v.shape[1]] = v

    def metric_values(self) -> dict[str, np.ndarray]:
        """Each metric's values, combined over all chunks (a shard's sink holds only its
        own chunks: combine the partials of all shards first)."""
        lay = self.layout
        return finalize_all(lay.metrics, {m.name: self.partials[m.name] for m in lay.metrics}, lay.n_total)

    def finish(self) -> None:
        """Mark the run complete."""
        self.complete = True

    def abort(self, error: BaseException, state: dict[str, np.ndarray] | None = None) -> None:
        """Keep the error (``error``) and the state at the failure (``failure_state``)."""
        self.error = error
        self.failure_state = state


@attrs.frozen
class Result:
    """What `run_scenario` returns: arrays by name, times, and the built engine's
    layout and timing.

    Attributes:
        times_s: record times [s since the epoch], shape ``(n_records,)``.
        metric_times_s: times of the metric samples [s since the epoch] (every step, or
            every record with ``[output] metrics_every_step = false``).
        sat: each recorded per-satellite variable, shape ``(n_records, n_sats) + shape``,
            in its declared dtype; and each recorded variable on another axis, shape
            ``(n_records, n_sats * slots) + shape`` (the axis's slots, `twin_core.Axis`).
        common: each recorded common series, shape ``(n_records,) + shape``.
        metrics: each constellation metric, shape ``metric_times_s.shape``.
        layout: the run's `twin_core.engine.RunLayout` (variables, plugins, owners).
        stats: the engine's timings (``kernel_s``, ``first_launch_s``, ...).
        final: every variable's value at the end of the run, recorded or not (through a
            store: its last checkpoint).
        sink: the `MemorySink` that received the run, with the metrics' chunk partials
            (``sink.partials``); through a store, one filled from the store (its
            ``complete`` is the store's flag; its partials are NaN, since an unsharded
            store keeps only the totals).
        store: the zarr store the run went through, or ``None`` for a run in memory.
        attrs: through a store, each array's attributes as stored, by name (``units``,
            ``description``, ``plugin``, ``flag_values``, ``flag_meanings``, ...) plus
            ``fill_value``; empty for a run in memory.
    """

    times_s: np.ndarray
    metric_times_s: np.ndarray
    sat: dict[str, np.ndarray]
    common: dict[str, np.ndarray]
    metrics: dict[str, np.ndarray]
    layout: RunLayout
    stats: dict[str, float]
    final: dict[str, np.ndarray]
    sink: MemorySink
    store: Path | None = None
    attrs: dict[str, dict[str, Any]] = attrs.Factory(dict)

    @property
    def metrics_at_records(self) -> dict[str, np.ndarray]:
        """Each metric sampled at the record times (metrics may be kept every step)."""
        idx = np.searchsorted(self.metric_times_s, self.times_s)
        return {k: v[idx] for k, v in self.metrics.items()}

    @property
    def n_records(self) -> int:
        """Number of records (``times_s.shape[0]``)."""
        return int(self.times_s.shape[0])

    @property
    def n_sats(self) -> int:
        """Number of satellites run (of the shard, with ``sat_range``)."""
        return self.layout.n


def plugin_manager(plugins: Iterable[Any] = (), entry_points: bool = True,
                   disable: Iterable[str] = ()) -> OrbitwinPluginManager:
    """A plugin manager with the installed plugins plus ``plugins`` (module names)."""
    return make_plugin_manager(extra=list(plugins), disable=disable, entry_points=entry_points)


def run_scenario(text: str, plugins: Iterable[str] | None = None, disable: Iterable[str] = (),
                 pm: OrbitwinPluginManager | None = None, sat_range: tuple[int, int] | None = None,
                 store: str | Path | None = None) -> Result:
    """Run scenario ``text`` on the CPU with the installed plugins plus ``plugins`` and
    return everything recorded: the variables declared with ``record=True`` (the
    default), or those the scenario's ``[output] variables`` lists (name an unrecorded
    one there to see it; ``Result.final`` holds every variable at the end).

    Args:
        text: the scenario, as TOML text.
        plugins: module names (or ``.py`` paths) to load beside the installed plugins, as
            ``--plugin`` does.
        disable: plugin names to leave out, as ``--disable`` does.
        pm: a plugin manager to use instead (`plugin_manager`); ``plugins`` and
            ``disable`` are then ignored.
        sat_range: ``(start, stop)``: run only these satellites, as one shard of a
            sharded run does (in memory only; ``metrics`` is then empty).
        store: run through the zarr store at this path, as ``orbitwin run -o store
            --overwrite`` does (`twin_core.runner.run_to_store`), and read every array of
            the result back from it. The store is left in place for the test to open.
    """
    pm = pm or plugin_manager(plugins or (), disable=disable)
    scenario = parse(text, pm, path="<test scenario>")
    if store is not None:
        if sat_range is not None:
            raise ValueError("run_scenario: sat_range runs one shard in memory; it cannot be combined with store")
        return _run_through_store(scenario, pm, Path(store))
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


def _run_through_store(scenario: Any, pm: OrbitwinPluginManager, path: Path) -> Result:
    """`run_scenario` through the store at ``path``: run with `run_to_store`, then read
    the arrays, attributes and final state back from the store."""
    import zarr

    from twin_core.engine import layout_for
    from twin_core.output import load_checkpoint
    from twin_core.runner import run_to_store

    engine = run_to_store(scenario, pm, path, arch="cpu", overwrite=True)
    lay = layout_for(engine.plan, pm, engine.backend)
    root = zarr.open_group(str(path), mode="r")
    if not root.attrs.get("complete") or int(root.attrs["records_written"]) != lay.n_records:
        raise AssertionError(f"{path}: the run finished but the store is not marked complete "
                             f"(records_written = {root.attrs.get('records_written')} of {lay.n_records})")

    def read(group: str, name: str) -> np.ndarray:
        arr = root[group][name]
        attrs_[name] = {**dict(arr.attrs), "fill_value": arr.fill_value}
        return np.asarray(arr[...])

    attrs_: dict[str, dict[str, Any]] = {}
    sat = {v.name: read("sat", v.name) for v in lay.variables}
    sat.update({v.name: read(v.axis, v.name) for v in lay.axis_variables})
    common = {c.name: read("common", c.name) for c in lay.common}
    metrics = {m.name: read("constellation", m.name) for m in lay.metrics}
    times_s = np.asarray(root["sat"]["time"][...], dtype=np.float64) / 1000.0
    metric_times_s = np.asarray(root["constellation"]["time"][...], dtype=np.float64) / 1000.0
    ckpt = load_checkpoint(path, 0)
    if ckpt is None or ckpt[0] != lay.n_records - 1:
        raise AssertionError(f"{path}: no checkpoint at the last record")
    sink = MemorySink()
    sink.begin(lay)
    sink.sat, sink.common = sat, common
    sink.records, sink.complete = lay.n_records, bool(root.attrs["complete"])
    return Result(times_s=times_s, metric_times_s=metric_times_s, sat=sat, common=common, metrics=metrics,
                  layout=lay, stats=dict(engine.stats), final=dict(ckpt[1]), sink=sink, store=path,
                  attrs=attrs_)


def run_cli(capsys: Any, *args: Any) -> tuple[int, str, str]:
    """Run the ``orbitwin`` command line in this process with pytest's ``capsys``:
    ``(exit status, stdout, stderr)``, as a user would see them."""
    from twin_core.cli import main

    capsys.readouterr()
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err
