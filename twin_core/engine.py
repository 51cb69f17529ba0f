"""The engine: builds a run from the scenario and the plugins, fuses every stage into one
taichi kernel, and drives the time loop.

One kernel launch advances every satellite through all the steps between two records:

.. code-block:: text

    for i in range(n):              # parallel over satellites
        for k in range(nsteps):     # steps of this launch, in registers and L1
            t = t0 + k * dt
            for stage in stages:    # unrolled at compile time, in dependency order
                stage(i, k, t, dt)

so each satellite's fields are touched in memory once per launch, whatever the number of
stages, and no Python runs per satellite or per step. Before each launch the host fills
the common series (the Sun) for the launch's steps; after it, the recorded variables are
copied out and handed to the sink, which writes them on its own thread while the next
launch runs.

The run starts with one launch at the epoch with ``dt = 0``: every output is evaluated at
``t = 0`` and no state changes, which gives the first record.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Protocol

import attrs
import numpy as np

from twin_core import interfaces
from twin_core.backend import start_taichi
from twin_core.declarations import CommonSeries, Metric, Stage, Variable
from twin_core.errors import BuildError, ScenarioError
from twin_core.kernel import build_step_kernel
from twin_core.metrics import reduce_metric
from twin_core.ordering import order_stages
from twin_core.pluginmanager import OrbitwinPluginManager
from twin_core.scenario import Scenario
from twin_core.state import State


@attrs.frozen
class RunLayout:
    """What a sink needs to know to lay out a run's output."""

    scenario: Scenario
    times_s: np.ndarray = attrs.field(eq=False)  # (n_records,) float64 s since epoch
    variables: tuple[Variable, ...]
    common: tuple[CommonSeries, ...]
    metrics: tuple[Metric, ...]
    n_total: int
    sat_start: int
    sat_stop: int
    plane: np.ndarray = attrs.field(eq=False)
    shell: np.ndarray = attrs.field(eq=False)
    backend: str
    plugins: dict[str, str]  # plugin name -> version
    owners: dict[str, str]  # variable name -> plugin

    @property
    def n_records(self) -> int:
        return int(self.times_s.shape[0])

    @property
    def n(self) -> int:
        return self.sat_stop - self.sat_start


class Sink(Protocol):
    """Where records go (`twin_core.output.ZarrSink`, `twin_core.testing.MemorySink`)."""

    def begin(self, layout: RunLayout) -> None: ...

    def record(self, index: int, sat: dict[str, np.ndarray], common: dict[str, np.ndarray],
               metrics: dict[str, float]) -> None: ...

    def finish(self) -> None: ...

    def abort(self, error: BaseException) -> None: ...


class Engine:
    """A built run: fields allocated, stages ordered, kernel composed.

    Args:
        scenario: the loaded scenario.
        pm: the plugin manager (`twin_core.pluginmanager.make_plugin_manager`).
        arch: ``cpu``, ``gpu`` or ``auto`` (`twin_core.backend.start_taichi`).
        sat_range: ``(start, stop)`` to simulate one shard of the constellation.
    """

    def __init__(self, scenario: Scenario, pm: OrbitwinPluginManager, arch: str = "cpu",
                 sat_range: tuple[int, int] | None = None):
        self.scenario = scenario
        self.pm = pm
        self.backend = start_taichi(arch)  # type: ignore[arg-type]
        run = scenario.run

        sats = pm.call_first("orbitwin_satellites", scenario=scenario)
        if sats is None:
            raise BuildError("no plugin defines the constellation: the built-in 'orbit' plugin does so from "
                             "the scenario's [orbit] table; is it there and is the plugin enabled?")
        variables = [(p, v) for p, vs in pm.call("orbitwin_variables", scenario=scenario) for v in vs]
        common = [(p, c) for p, cs in pm.call("orbitwin_common_series", scenario=scenario) for c in cs]
        _check_interfaces(variables)
        start, stop = sat_range if sat_range is not None else (0, sats.count)
        self.state = State(variables, common, sats, start, stop, max_steps=run.steps_per_record)
        self.metrics: list[Metric] = [m for _p, ms in pm.call("orbitwin_metrics", scenario=scenario) for m in ms]
        self.recorded = self._recorded_variables()
        self._check_metrics()

        self.state.allocate()
        pm.call("orbitwin_initial_state", scenario=scenario, state=self.state)
        stages = [(p, s) for p, ss in pm.call("orbitwin_stages", scenario=scenario, state=self.state) for s in ss]
        self.stages: list[tuple[str, Stage]] = order_stages(
            stages, self.state.variables, self.state.owners, self.state.common_series)
        t0 = time.perf_counter()
        self.kernel = build_step_kernel(tuple(s.func for _p, s in self.stages), self.state.n)
        self.stats: dict[str, float] = {"build_s": time.perf_counter() - t0, "kernel_s": 0.0,
                                        "record_s": 0.0, "sat_steps": 0.0}

    # -- checks -----------------------------------------------------------------------

    def _recorded_variables(self) -> list[Variable]:
        out = self.scenario.output
        declared = self.state.variables
        for key, names in (("output.variables", out.variables), ("output.exclude", out.exclude)):
            for name in names:
                if name not in declared:
                    import difflib

                    close = difflib.get_close_matches(name, list(declared), n=1)
                    raise ScenarioError(self.scenario.path, key, "no loaded plugin declares this variable",
                                        name, hint=f"did you mean '{close[0]}'?" if close else
                                        "`orbitwin plugins` lists the variables")
        names = out.variables or [n for n, v in declared.items() if v.record]
        return [declared[n] for n in names if n not in set(out.exclude)]

    def _check_metrics(self) -> None:
        for m in self.metrics:
            var = self.state.variables.get(m.variable)
            if var is None:
                raise BuildError(f"metric '{m.name}' reduces '{m.variable}', which no loaded plugin declares")
            if var.shape:
                raise BuildError(f"metric '{m.name}' reduces the vector '{m.variable}'; reduce a scalar")
            if m.where_variable is not None and m.where_variable not in self.state.variables:
                raise BuildError(f"metric '{m.name}' is conditioned on '{m.where_variable}', which no loaded "
                                 "plugin declares")

    # -- running ----------------------------------------------------------------------

    def layout(self) -> RunLayout:
        run = self.scenario.run
        times = np.arange(run.n_records, dtype=np.float64) * run.record_every_s
        st = self.state
        return RunLayout(
            scenario=self.scenario, times_s=times, variables=tuple(self.recorded),
            common=tuple(c for c in st.common_series.values() if c.record), metrics=tuple(self.metrics),
            n_total=st.n_total, sat_start=st.sat_start, sat_stop=st.sat_stop,
            plane=st.satellites.plane, shell=st.satellites.shell, backend=self.backend,
            plugins={name: info.version for name, info in self.pm.infos.items() if info.origin != "disabled"},
            owners=dict(st.owners),
        )

    def _fill_common(self, t_s: np.ndarray) -> None:
        m = self.state.max_steps
        for name, series in self.state.common_series.items():
            values = np.asarray(series.compute(t_s), dtype=np.float64)
            expect = (len(t_s),) + series.shape
            if values.shape != expect:
                raise BuildError(f"common series '{name}' returned shape {values.shape}, expected {expect}")
            if len(t_s) < m:
                pad = np.repeat(values[-1:], m - len(t_s), axis=0)
                values = np.concatenate([values, pad])
            self.state.common(name).from_numpy(values)

    def _launch(self, t0: float, dt: float, nsteps: int) -> None:
        import taichi as ti

        times = t0 + np.arange(nsteps, dtype=np.float64) * dt
        self._fill_common(times)
        tic = time.perf_counter()
        self.kernel(t0, dt, nsteps)
        ti.sync()
        self.stats["kernel_s"] += time.perf_counter() - tic
        self.stats["sat_steps"] += float(nsteps) * self.state.n

    def _record(self, sink: Sink, index: int) -> None:
        tic = time.perf_counter()
        st = self.state
        snap = {v.name: st.get(v.name) for v in self.recorded}
        for m in self.metrics:
            for name in (m.variable, m.where_variable):
                if name is not None and name not in snap:
                    snap[name] = st.get(name)
        metrics = {m.name: reduce_metric(m, snap[m.variable], snap.get(m.where_variable or ""))
                   for m in self.metrics}
        common = {c.name: st.get(c.name)[self._last_k] for c in st.common_series.values() if c.record}
        sink.record(index, {v.name: snap[v.name] for v in self.recorded}, common, metrics)
        self.stats["record_s"] += time.perf_counter() - tic

    def run(self, sink: Sink, progress: Callable[[int, int], None] | None = None,
            start_record: int = 0) -> None:
        """Run the scenario from record ``start_record`` (0: from the epoch) to the end,
        handing every record to ``sink``. The sink is finished on success and aborted (and
        the error re-raised) on failure."""
        run = self.scenario.run
        spr, dt = run.steps_per_record, run.step_s
        n_rec = run.n_records
        sink.begin(self.layout())
        try:
            if start_record == 0:
                self._last_k = 0
                self._launch(0.0, 0.0, 1)
                self._record(sink, 0)
                start_record = 1
                if progress:
                    progress(1, n_rec)
            self._last_k = spr - 1
            for rec in range(start_record, n_rec):
                first_step = (rec - 1) * spr + 1
                self._launch(first_step * dt, dt, spr)
                self._record(sink, rec)
                if progress:
                    progress(rec + 1, n_rec)
        except BaseException as exc:
            sink.abort(exc)
            raise
        sink.finish()

    def close(self) -> None:
        """Free the taichi fields of this run."""
        self.state.free()


def _check_interfaces(variables: list[tuple[str, Variable]]) -> None:
    for plugin, var in variables:
        iface = interfaces.ALL.get(var.name)
        if iface is None:
            continue
        if var.units != iface.units or tuple(var.shape) != iface.shape:
            raise BuildError(
                f"plugin '{plugin}' declares interface variable '{var.name}' with units '{var.units}' and "
                f"shape {tuple(var.shape)}; the interface fixes units '{iface.units}' and shape {iface.shape}")
