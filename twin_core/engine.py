"""The engine: allocates a run's fields, fuses every stage into one taichi kernel, and
drives the time loop.

One kernel launch advances every satellite through all the steps between two records:

.. code-block:: text

    for b in range(n_blocks):             # parallel over blocks of satellites
        for k in range(nsteps):           # steps of this launch, the block's fields in L1/L2
            t = t0 + k * dt
            for stage in stages:          # unrolled at compile time, dependency order
                for i in block b:         # in index order
                    stage(i, k, t, dt)
            for i in block b:
                for fold in metric folds: # constellation totals, per block and step
                    fold(b, k, i)

so each satellite's fields come from main memory once per launch, whatever the number
of stages, and no Python runs per satellite or per step (`twin_core.kernel`). Before each launch the host fills
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

from twin_core import fieldpool
from twin_core.backend import kernel_shape, start_taichi
from twin_core.contributions import constants, core_stages
from twin_core.activity import ACTIVE
from twin_core.declarations import CommonSeries, Metric, Stage, Variable
from twin_core.errors import BuildError, NonFiniteError
from twin_core.axes import check_link_inputs, local_rows, localize, tainted
from twin_core.kernel import (build_combine_kernel, build_coupling_kernel, build_step_kernel,
                              build_step_kernel_simt)
from twin_core.metrics import fold_op, identity, make_accumulator
from twin_core.ordering import live_variables, order_all
from twin_core.plan import RunPlan, block_sats, check_fits, make_plan
from twin_core.pluginmanager import OrbitwinPluginManager
from twin_core.scenario import Scenario
from twin_core.stagecheck import check_axis_names, check_stages, compile_errors_named
from twin_core.state import State


@attrs.frozen
class RunLayout:
    """What a sink needs to know to lay out a run's output."""

    plan: RunPlan
    times_s: np.ndarray = attrs.field(eq=False)  # (n_records,) record times, s since epoch
    metric_times_s: np.ndarray = attrs.field(eq=False)  # (n_metric_samples,)
    variables: tuple[Variable, ...]
    common: tuple[CommonSeries, ...]
    sat_start: int
    sat_stop: int
    backend: str
    plugins: dict[str, str]  # plugin name -> version
    owners: dict[str, str]  # variable name -> plugin
    axis_variables: tuple[Variable, ...] = ()  # recorded variables on axes other than satellites

    @property
    def scenario(self) -> Scenario:
        return self.plan.scenario

    @property
    def metrics(self) -> tuple[Metric, ...]:
        return self.plan.metrics

    @property
    def n_records(self) -> int:
        return int(self.times_s.shape[0])

    @property
    def n_total(self) -> int:
        return self.plan.n_total

    @property
    def n(self) -> int:
        return self.sat_stop - self.sat_start


class Sink(Protocol):
    """Where a run's output goes (`twin_core.output.ZarrSink`, `twin_core.testing.MemorySink`).

    ``record`` receives one record of the per-satellite variables of this process's
    satellites, and a function returning the whole state for a checkpoint; ``metrics`` receives, per launch, each metric's chunk partials
    ``(n_chunks_here, n_samples)`` starting at metric sample ``first`` (combine them with
    `twin_core.metrics.finalize` once all chunks are present).
    """

    def begin(self, layout: RunLayout) -> None: ...

    def record(self, index: int, sat: dict[str, np.ndarray], common: dict[str, np.ndarray],
               snapshot: Callable[[], dict[str, np.ndarray]]) -> None: ...

    def metrics(self, first: int, partials: dict[str, np.ndarray]) -> None: ...

    def finish(self) -> None: ...

    def abort(self, error: BaseException, state: dict[str, np.ndarray] | None = None) -> None: ...


def layout_for(plan: RunPlan, pm: OrbitwinPluginManager, backend: str,
               sat_range: tuple[int, int] | None = None) -> RunLayout:
    """The layout of a run or shard, from its plan (no taichi needed)."""
    run = plan.scenario.run
    times = np.arange(run.n_records, dtype=np.float64) * run.record_every_s
    every_step = plan.scenario.output.metrics_every_step
    mtimes = np.arange(run.n_steps + 1, dtype=np.float64) * run.step_s if every_step else times
    start, stop = sat_range if sat_range is not None else (0, plan.n_total)
    declared = {v.name: v for _p, v in plan.variables}
    owners = {v.name: p for p, v in plan.variables} | {c.name: p for p, c in plan.common}
    return RunLayout(
        plan=plan, times_s=times, metric_times_s=mtimes, variables=tuple(declared[n] for n in plan.sat_recorded),
        common=tuple(c for _p, c in plan.common if c.record), sat_start=start, sat_stop=stop, backend=backend,
        plugins={name: info.version for name, info in pm.infos.items() if info.origin != "disabled"},
        owners=owners, axis_variables=plan.axis_recorded,
    )


class Engine:
    """A built run: fields allocated, stages ordered, kernel composed.

    Args:
        scenario: the loaded scenario.
        pm: the plugin manager (`twin_core.pluginmanager.make_plugin_manager`).
        arch: ``cpu``, ``gpu`` or ``auto`` (`twin_core.backend.start_taichi`).
        sat_range: ``(start, stop)`` to simulate one shard (whole store chunks).
        plan: a plan made earlier (a sharded run's coordinator passes it).
        shape: the fused kernel's shape: ``"blocks"`` (a block of satellites per thread,
            `twin_core.kernel.build_step_kernel`: the CPU's), ``"simt"`` (a satellite per
            thread, `twin_core.kernel.build_step_kernel_simt`: a GPU's) or ``"auto"``
            (simt on CUDA and Vulkan, blocks on the CPU); None reads the environment
            variable ``ORBITWIN_KERNEL_SHAPE`` (default ``auto``). Both give the same
            results on the CPU: the totals to the bit, the states to the bit or to the
            last bit where fast math rounds the two compiled kernels differently
            (tests/test_engine.py).
    """

    def __init__(self, scenario: Scenario, pm: OrbitwinPluginManager, arch: str = "cpu",
                 sat_range: tuple[int, int] | None = None, plan: RunPlan | None = None,
                 shape: str | None = None):
        self.scenario = scenario
        self.pm = pm
        self.plan = plan or make_plan(scenario, pm, shards=None if sat_range is not None else 1)
        self.backend = start_taichi(arch)  # type: ignore[arg-type]
        self.shape = kernel_shape(shape, self.backend)
        run = scenario.run
        start, stop = sat_range if sat_range is not None else (0, self.plan.n_total)
        check_fits(self.plan, start, stop)
        axes = [ax for _p, ax in self.plan.axes]
        rows = local_rows(axes, start, stop)
        self.state = State(self.plan.variables, self.plan.common, self.plan.satellites, start, stop,
                           max_steps=run.steps_per_record, axes=[localize(ax, rows, start, stop) for ax in axes],
                           rows=rows)
        self.recorded = [self.state.variables[n] for n in self.plan.recorded]
        blocks, self.chunk_first_block = self.plan.blocks(start, stop)
        n_halo = self.state.n - self.state.n_own
        if n_halo:  # the halo's satellites are stepped in blocks of their own, never folded into totals
            edges = np.linspace(0, n_halo, -(-n_halo // block_sats(self.plan.n_total)) + 1).round().astype(np.int32)
            halo = np.stack([edges[:-1], edges[1:]]) + self.state.n_own
            blocks = np.concatenate([blocks, halo.astype(np.int32)], axis=1)
        self.n_blocks = blocks.shape[1]
        self.metrics = self.plan.metrics
        self._allocate_and_build(blocks)
        self.stats: dict[str, float] = {"kernel_s": 0.0, "record_s": 0.0, "metrics_s": 0.0, "sat_steps": 0.0,
                                        "first_launch_s": 0.0, "compile_s": 0.0}
        self._compiled = False
        self._common_values: dict[str, np.ndarray] = {}
        self._common_scatter: Any = None

    def _allocate_and_build(self, blocks: np.ndarray) -> None:
        import taichi as ti

        t0 = time.perf_counter()
        st = self.state
        n_chunks = len(self.chunk_first_block) - 1
        self.n_chunks = n_chunks
        n_m = max(len(self.metrics), 1)
        caps = (fieldpool.capacity(self.n_blocks, 8), fieldpool.capacity(n_chunks + 1, 2),
                fieldpool.capacity(n_m, 1), fieldpool.capacity(st.max_steps, 1))
        nb_cap, nc_cap, m_cap, s_cap = caps

        def place(fb: Any) -> tuple[dict[str, Any], int]:
            f = {name: ti.field(ti.i32) for name in ("block_lo", "block_hi", "chunk_first", "metric_ops", "bad")}
            f.update({name: ti.field(ti.f64) for name in ("block_acc", "chunk_acc")})
            fb.dense(ti.i, nb_cap).place(f["block_lo"], f["block_hi"])
            fb.dense(ti.ij, (nb_cap, 2)).place(f["bad"])  # per block: first non-finite satellite, its variable
            fb.dense(ti.i, nc_cap).place(f["chunk_first"])
            fb.dense(ti.i, m_cap).place(f["metric_ops"])
            fb.dense(ti.ijk, (m_cap, nb_cap, s_cap)).place(f["block_acc"])  # (metric, block, step)
            fb.dense(ti.ijk, (m_cap, nc_cap, s_cap)).place(f["chunk_acc"])  # read back in one copy
            return f, 8 * m_cap * s_cap * (nb_cap + nc_cap)

        self._engine_alloc = fieldpool.acquire(("engine",) + caps, place)
        ef = self._engine_alloc.fields
        self.block_lo, self.block_hi, self.bad = ef["block_lo"], ef["block_hi"], ef["bad"]
        self.chunk_first, self.metric_ops = ef["chunk_first"], ef["metric_ops"]
        self.block_acc, self.chunk_acc = ef["block_acc"], ef["chunk_acc"]
        lo, hi = np.zeros(nb_cap, np.int32), np.zeros(nb_cap, np.int32)
        lo[:self.n_blocks], hi[:self.n_blocks] = blocks[0], blocks[1]
        self.block_lo.from_numpy(lo)
        self.block_hi.from_numpy(hi)
        first = np.zeros(nc_cap, np.int32)
        first[:n_chunks + 1] = self.chunk_first_block
        self.chunk_first.from_numpy(first)
        codes = {"sum": 0, "min": 1, "max": 2}
        ops = np.zeros(m_cap, np.int32)
        ops[:len(self.metrics)] = [codes[fold_op(m)] for m in self.metrics]
        self.metric_ops.from_numpy(ops)
        st.allocate()
        st.satellite_mass_kg = self.plan.satellite_mass_kg
        self.pm.call("orbitwin_initial_state", scenario=self.scenario, state=st)
        if self.scenario.observed is not None:  # orbitwin run --from-telemetry
            from twin_core.observed import apply_observed

            apply_observed(self.scenario.observed, st)
        st.flush()  # the initial values into their fields, in one launch
        st.constants = constants(self.plan)
        stages = [(p, s) for p, ss in self.pm.call("orbitwin_stages", scenario=self.scenario, state=st) for s in ss]
        stages += core_stages(self.plan, st)
        step, over, coupling = order_all(stages, st.variables, st.owners, st.common_series)
        check_axis_names(over, st)
        check_link_inputs(step, over + coupling, st.variables)
        self.stages: list[tuple[str, Stage]] = step
        self.coupling_stages: list[tuple[str, Stage]] = over + coupling
        check_stages(step + over + coupling, st)  # signatures, and every field a stage touches is declared
        metric_inputs = [m.variable for m in self.metrics] + [m.where_variable for m in self.metrics
                                                              if m.where_variable]
        st.set_used(live_variables([s for _p, s in step + over + coupling], st.variables, self.plan.recorded,
                                   metric_inputs + ([ACTIVE] if ACTIVE in st.variables else [])))
        active = st.field(ACTIVE) if ACTIVE in st.variables else None
        folds = tuple(
            (make_accumulator(m, st.field(m.variable), st.field(m.where_variable) if m.where_variable else None,
                              active), identity(m))
            for m in self.metrics)
        self.checked = [v for v in st.variables.values() if v.dtype in ("f32", "f64") and v.axis == "sat"]
        checks = tuple((st.field(v.name), v.shape[0] if v.shape else 0) for v in self.checked)
        self.combine = build_combine_kernel(self.metric_ops, self.block_acc, self.chunk_acc, self.chunk_first)
        self.axis_names = tuple(st.axes)
        self.couple, split = None, None
        build = self._step_builder(hi, n_m, st)
        if self.coupling_stages:
            # a coupling pass's step is split: the stages that do not depend on coupled values
            # (positions) as the last step of the launch, the pass, then the others (kernel_after),
            # so that step sees the pass's values
            per_axis = tuple(tuple(s.func for _p, s in over if s.over == name) for name in self.axis_names)
            self.couple = build_coupling_kernel(per_axis, tuple(s.func for _p, s in coupling))
            coupled = {w for _p, c in over + coupling for w in c.writes if st.variables[w].axis == "sat"}
            bad = tainted(step, coupled)
            split = tuple(any(n in bad for n in s.reads + s.reads_previous) for _p, s in step)
            self.after_stages = [ps for ps, a in zip(step, split) if a]
            self.kernel_after = build(tuple(s.func for _p, s in self.after_stages), folds, checks, None)
        self.kernel = build(tuple(s.func for _p, s in step), folds, checks, split)
        self._gather_recorded = st.gatherer([v.name for v in self.recorded], own=True)
        self._gather_all = st.gatherer(list(st.variables))
        self.build_s = time.perf_counter() - t0

    # -- running ----------------------------------------------------------------------

    @property
    def metrics_every_step(self) -> bool:
        return self.scenario.output.metrics_every_step

    def layout(self) -> RunLayout:
        return layout_for(self.plan, self.pm, self.backend, (self.state.sat_start, self.state.sat_stop))

    def _fill_common(self, t_s: np.ndarray) -> None:
        """Every common series at the launch's step times, into its field: one launch of
        a scatter kernel for all of them (`twin_core.kernel.build_scatter_kernel`), and a
        host copy for the records."""
        from twin_core.kernel import build_scatter_kernel

        m = self.state.steps_capacity
        series_all = self.state.common_series
        if not series_all:
            return
        for name, series in series_all.items():
            values = np.asarray(series.compute(t_s), dtype=np.float64)
            expect = (len(t_s),) + series.shape
            if values.shape != expect:
                raise BuildError(f"common series '{name}' returned shape {values.shape}, expected {expect}")
            if len(t_s) < m:
                values = np.concatenate([values, np.repeat(values[-1:], m - len(t_s), axis=0)])
            self._common_values[name] = values  # the host's copy, for records (fields are float64 too)
        if self._common_scatter is None:
            self._common_scatter = build_scatter_kernel(
                tuple((self.state.common(n), s.shape[0] if s.shape else 0) for n, s in series_all.items()))
        kernel, ncols = self._common_scatter
        buf = np.concatenate([self._common_values[n].reshape(m, -1) for n in series_all], axis=1)
        kernel(np.ascontiguousarray(buf), m)

    def _step_builder(self, hi: np.ndarray, n_m: int, st: State) -> Callable[..., Any]:
        """``build(funcs, folds, checks, split)`` of the fused step kernel in this run's
        shape (`shape`); the simt shape gets its contributions' field here."""
        if self.shape == "blocks":
            def build_blocks(funcs: Any, folds: Any, checks: Any, split: Any) -> Any:
                return build_step_kernel(funcs, folds, self.block_acc, checks, self.block_lo, self.block_hi,
                                         self.bad, split_last=split)
            return build_blocks
        import taichi as ti

        m_cap, n_cap = fieldpool.capacity(n_m, 1), fieldpool.capacity(max(st.n, 1), 64)

        def place(fb: Any) -> tuple[dict[str, Any], int]:
            f = {"contrib": ti.field(ti.f64)}
            fb.dense(ti.ij, (m_cap, n_cap)).place(f["contrib"])
            return f, 8 * m_cap * n_cap

        self._simt_alloc = fieldpool.acquire(("simt", m_cap, n_cap), place)
        contrib = self._simt_alloc.fields["contrib"]
        codes = {"sum": 0, "min": 1, "max": 2}
        ops = tuple(codes[fold_op(m)] for m in self.metrics)
        ends = np.concatenate([[0], hi[:self.n_blocks]]).astype(np.int64)

        def build_simt(funcs: Any, folds: Any, checks: Any, split: Any) -> Any:
            return build_step_kernel_simt(funcs, folds, ops, self.block_acc, checks, self.block_lo, self.block_hi,
                                          self.bad, contrib, lambda nb: int(ends[nb]), split_last=split)
        return build_simt

    def _kernels(self) -> list[tuple[Any, list[tuple[str, Stage]]]]:
        out = [(self.kernel, self.stages)]
        if self.couple is not None:
            out.append((self.kernel_after, self.after_stages))
        return out

    def compile(self) -> None:
        """Compile the fused kernels now, by launching them over no satellites, so that a
        stage taichi refuses is reported (`twin_core.stagecheck.compile_errors_named`)
        before the run's store exists. Taichi's offline cache makes this quick after a
        first run."""
        import taichi as ti

        if self._compiled:
            return
        tic = time.perf_counter()
        for kernel, stages in self._kernels():
            with compile_errors_named(stages):
                kernel(0.0, 0.0, 1, 0, 0)
        if self.couple is not None:
            with compile_errors_named(self.coupling_stages):
                self.couple(0, 0.0, 0.0, 0, 0, 0, 0, 0)
        ti.sync()
        self.stats["compile_s"] = time.perf_counter() - tic
        self._compiled = True

    def _launch(self, t0: float, dt: float, nsteps: int) -> None:
        """Steps ``t0, t0 + dt, ...`` (``nsteps``: a record's) of every satellite, in the
        fused kernel. With coupling stages the record's steps run in launches of
        ``coupling_steps``, each launch's last step split around the coupling pass; the
        step index ``k`` runs on across them (the common series are filled once per
        record, and a stage that re-anchors a recurrence at ``k == 0`` does so once per
        record)."""
        self._fill_common(t0 + np.arange(nsteps, dtype=np.float64) * dt)
        if not self._compiled:
            tic = time.perf_counter()
            self.compile()  # the first launch compiles the kernels (or loads them from taichi's cache)
            self.stats["first_launch_s"] = time.perf_counter() - tic
        if self.couple is None:
            self._run(self.kernel, t0, dt, nsteps, 0)
            return
        cs = min(self.scenario.run.coupling_steps, nsteps)
        for k0 in range(0, nsteps, cs):
            self._run(self.kernel, t0 + k0 * dt, dt, cs, k0)  # the last step without what is coupled
            k_last = k0 + cs - 1
            t_last = t0 + k_last * dt
            self._couple(t_last, dt * cs, k_last)
            self._run(self.kernel_after, t_last, dt, 1, k_last, count=False)

    def _run(self, kernel: Any, t0: float, dt: float, nsteps: int, k0: int, count: bool = True) -> None:
        import taichi as ti

        self.state.flush()  # values set since (a plugin's, a restore's): no-op when none
        tic = time.perf_counter()
        kernel(t0, dt, nsteps, self.n_blocks, k0)
        ti.sync()
        if dt > 0:  # the evaluation at the epoch is not a step
            self.stats["kernel_s"] += time.perf_counter() - tic
            if count:
                self.stats["sat_steps"] += float(nsteps) * self.state.n_own
        bad = self.bad.to_numpy()[:self.n_blocks]
        if np.any(bad[:, 0] >= 0):
            b = int(np.argmax(bad[:, 0] >= 0))
            var = self.checked[int(bad[b, 1])]
            t_end = t0 + (nsteps - 1) * dt
            raise NonFiniteError(var.name, self.state.owners[var.name], int(self.state.rows[int(bad[b, 0])]),
                                 t_end, self.scenario.run.epoch)

    def _couple(self, t: float, dt: float, k: int) -> None:
        """The coupling pass at time ``t`` (the last launch's step ``k``), ``dt`` after the
        previous one."""
        import taichi as ti

        if self.couple is None:
            return
        tic = time.perf_counter()
        lengths = [self.state.axes[name].n for name in self.axis_names] + [0] * (4 - len(self.axis_names))
        self.couple(k, t, dt, *lengths, self.state.n_own)
        ti.sync()
        self.stats["coupling_s"] = self.stats.get("coupling_s", 0.0) + time.perf_counter() - tic

    def _emit_metrics(self, sink: Sink, first_step: int, nsteps: int, record: int) -> None:
        if not self.metrics:
            return
        tic = time.perf_counter()
        cols = slice(0, nsteps) if self.metrics_every_step else slice(nsteps - 1, nsteps)
        first = first_step if self.metrics_every_step else record
        self.combine(nsteps, len(self.metrics), self.n_chunks)
        packed = self.chunk_acc.to_numpy()[:, :self.n_chunks]
        # copies, not views: a view would keep the whole (metrics, chunks, max_steps)
        # buffer of every launch alive until the sink writes its chunk of records (the
        # 5-year example grew by 6 MB a launch that way, 11 GB in all)
        partials = {m.name: packed[j, :, cols].copy() for j, m in enumerate(self.metrics)}
        sink.metrics(first, partials)
        self.stats["metrics_s"] += time.perf_counter() - tic

    def snapshot(self) -> dict[str, np.ndarray]:
        """Every variable of this shard, as numpy arrays (a checkpoint's content)."""
        return self._gather_all()

    def restore(self, values: dict[str, np.ndarray]) -> None:
        """Load a snapshot taken by `snapshot` (resume from a checkpoint)."""
        missing = set(self.state.variables) - set(values)
        if missing:
            raise BuildError("the checkpoint lacks variables " + ", ".join(sorted(missing))
                             + "; was the store written with other plugins?")
        for name in self.state.variables:
            self.state.load(name, values[name])
        self.state.flush()

    def _check_axes(self, values: dict[str, np.ndarray], index: int) -> None:
        """NaN or infinity in a recorded variable of another axis (the fused kernel checks
        the satellites' own): found at the record."""
        st = self.state
        for v in self.recorded:
            if v.axis == "sat" or v.dtype not in ("f32", "f64"):
                continue
            bad = ~np.isfinite(values[v.name])
            if bad.any():
                slot = int(np.argmax(bad.reshape(bad.shape[0], -1).any(axis=1)))
                k = st.axes[v.axis].slots
                raise NonFiniteError(v.name, st.owners[v.name], st.sat_start * k + slot,
                                     index * self.scenario.run.record_every_s, self.scenario.run.epoch, axis=v.axis)

    def _record(self, sink: Sink, index: int) -> None:
        tic = time.perf_counter()
        st = self.state
        sat = self._gather_recorded()
        self._check_axes(sat, index)
        common = {c.name: self._common_values[c.name][self._last_k].copy() for c in st.common_series.values()
                  if c.record}
        sink.record(index, sat, common, self.snapshot)
        self.stats["record_s"] += time.perf_counter() - tic

    def run(self, sink: Sink, progress: Callable[[int, int], None] | None = None,
            start_record: int = 0) -> None:
        """Run from record ``start_record`` (0: from the epoch) to the end, handing every
        record to ``sink``; the sink is finished on success and aborted (and the error
        re-raised) on failure."""
        run = self.scenario.run
        spr, dt = run.steps_per_record, run.step_s
        n_rec = run.n_records
        sink.begin(self.layout())
        try:
            if start_record == 0:
                self._last_k = 0
                self._launch(0.0, 0.0, 1)
                self._emit_metrics(sink, 0, 1, 0)
                self._record(sink, 0)
                start_record = 1
                if progress:
                    progress(1, n_rec)
            self._last_k = spr - 1
            for rec in range(start_record, n_rec):
                first_step = (rec - 1) * spr + 1
                self._launch(first_step * dt, dt, spr)
                self._emit_metrics(sink, first_step, spr, rec)
                self._record(sink, rec)
                if progress:
                    progress(rec + 1, n_rec)
        except NonFiniteError as exc:
            sink.abort(exc, self.snapshot())
            raise
        except BaseException as exc:
            sink.abort(exc)
            raise
        sink.finish()

    def close(self) -> None:
        """Free the taichi fields of this run."""
        self.state.free()
        for name in ("_engine_alloc", "_simt_alloc"):
            if getattr(self, name, None) is not None:
                fieldpool.release(getattr(self, name))
                setattr(self, name, None)
