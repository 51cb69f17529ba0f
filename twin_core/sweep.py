"""Sweeps: one scenario run over many cases as dask.distributed tasks, into one store
with a ``case`` dimension (``orbitwin sweep``).

How it runs:

1. The coordinator (the ``orbitwin sweep`` process) turns the ``--vary`` options into
   cases (`twin_core.sweepspec`) and writes each case's scenario text: the base scenario
   as parsed, with the case's keys set, back out as TOML. Every case's text is parsed
   before anything runs: a key no plugin knows stops the sweep with one error naming the
   ``--vary`` option; a case whose values the scenario refuses (a negative area) is
   recorded as failed with the loader's message, and the others run.
2. It claims the output as a run does (`twin_core.storedir`: leftovers removed, an
   existing store replaced only with ``--overwrite``, the store created aside, renamed
   into place and locked until the sweep ends), connects to the cluster (a
   ``LocalCluster`` of ``--workers`` processes with one thread each, or ``--scheduler``,
   refused with the address within ``--scheduler-timeout``) and submits one task per
   case that is not finished.
3. Each task runs on a worker: taichi starts once per worker process
   (`twin_core.backend.start_taichi` keeps the first start; later cases on that worker
   reuse it, and the plugin manager too), the case runs in-process into its own run store
   ``SWEEP/runs/case-NNNN.zarr`` (`twin_core.runner.run_to_store`, replacing the partial
   store of a case killed half-way), and the hook ``orbitwin_case_results`` sums it up.
   A case that raises is returned as failed with its error, never raised, so the sweep
   goes on.
4. The coordinator commits each case as it completes (`twin_core.sweepstore.commit_case`:
   results and totals first, ``status`` last). ``--resume`` reruns only the cases whose
   status is still pending.

Per-case results do not depend on which worker ran the case, nor on how many there are:
each case is one ordinary run of its own scenario text (docs/reliability.md, Determinism).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import attrs
import numpy as np

from twin_core import __version__
from twin_core.errors import ScenarioError, UserError
from twin_core.scenario import Scenario
from twin_core.sweepspec import (
    Vary,
    apply,
    case_header,
    check_distinct,
    factorial_cases,
    is_unknown_key_error,
    parse_sample,
    parse_vary,
    sampled_cases,
    tornado_cases,
    baseline_value,
)


@attrs.frozen
class Case:
    """One case: its index, the keys it changes, its scenario text, and the error that
    refused it before it ran (``""`` when it parsed)."""

    index: int
    overrides: dict[str, Any]
    text: str
    path: str
    refused: str = ""
    run: Any = None  # the case's RunSpec, when it parsed


@attrs.frozen
class SweepDesign:
    """What a sweep runs: the base scenario, the ``--vary`` options, how cases are drawn
    (``factorial``, ``lhs:N``, ``mc:N`` or ``tornado``), the seed and the cases."""

    base: Scenario
    varies: tuple[Vary, ...]
    design: str
    seed: int
    cases: tuple[Case, ...]
    tags: tuple[tuple[str, str], ...] | None = None

    @property
    def keys(self) -> list[str]:
        return [v.key for v in self.varies]

    def coordinates(self) -> list[dict[str, Any]]:
        """Each case's value of every key (a tornado's unmoved keys at their baseline)."""
        if self.tags is None:
            return [c.overrides for c in self.cases]
        base = {k: baseline_value(self.base, k) for k in self.keys}
        return [base | c.overrides for c in self.cases]

    def identity(self) -> dict[str, Any]:
        """What a resume must find unchanged, as recorded in the store."""
        return {"vary": [[v.key, v.text] for v in self.varies], "design": self.design, "seed": self.seed,
                "cases_sha256": hashlib.sha256(json.dumps([c.text for c in self.cases]).encode()).hexdigest()}


def design_sweep(base: Scenario, pm: Any, vary: list[str], *, sample: str | None = None, seed: int = 0,
                 tornado: bool = False) -> SweepDesign:
    """Parse the ``--vary`` options, draw the cases and write and parse each case's
    scenario. A key no plugin knows is a `UserError` naming the ``--vary`` option."""
    from twin_core.runner import parse
    from twin_core.tomlwrite import dumps

    if not vary:
        raise UserError("give at least one --vary KEY=V1,V2,... (or KEY=START:STOP:NUM)")
    varies = [parse_vary(v) for v in vary]
    check_distinct(varies)
    drawn = parse_sample(sample)
    if tornado and drawn:
        raise UserError(f"--tornado and --sample {sample} contradict each other: a tornado moves each key alone")
    for v in varies:  # an unknown key: one error, before any case
        first = v.values[0] if v.values else v.low
        try:
            parse(dumps(apply(base.raw, {v.key: first}, base.path)), pm, base.path)
        except ScenarioError as exc:
            if is_unknown_key_error(exc, v.key):
                raise UserError(f"--vary {v.key}: {exc}") from None
    tags = None
    if tornado:
        overrides, tags = tornado_cases(varies)
        design = "tornado"
    elif drawn:
        overrides = sampled_cases(varies, drawn[0], drawn[1], seed)
        design = f"{drawn[0]}:{drawn[1]}"
    else:
        overrides = factorial_cases(varies)
        design = "factorial"
    cases = []
    for i, ov in enumerate(overrides):
        path = f"{base.path} (sweep case {i})"
        text = case_header(i, len(overrides), base.path, ov) + dumps(apply(base.raw, ov, base.path))
        try:
            sc = parse(text, pm, path)
        except ScenarioError as exc:
            cases.append(Case(i, ov, text, path, refused=str(exc)))
            continue
        cases.append(Case(i, ov, text, path, run=(sc.run, sc.output.metrics_every_step)))
    return SweepDesign(base, tuple(varies), design, seed if drawn else 0, tuple(cases),
                       tuple(tags) if tags else None)


def shared_time_axis(design: SweepDesign) -> tuple[np.ndarray, dict[str, Any]] | None:
    """The constellation totals' times (int64 ms since the epoch, with CF attributes)
    when every case that parsed has the same ones, else ``None`` (totals then stay in
    each run store only)."""
    from twin_core.store import TIME_UNITS_PREFIX

    axes = {(r.epoch, r.step_s, r.n_steps, r.record_every_s, every) for c in design.cases if c.run
            for r, every in [c.run]}
    if len(axes) != 1:
        return None
    (epoch, step_s, n_steps, record_s, every), = axes
    times = np.arange(n_steps + 1) * step_s if every else np.arange(n_steps // round(record_s / step_s) + 1) * record_s
    ms = np.round(times.astype(np.float64) * 1000.0).astype(np.int64)
    return ms, {"units": TIME_UNITS_PREFIX + epoch.strftime("%Y-%m-%dT%H:%M:%S"), "calendar": "proleptic_gregorian",
                "standard_name": "time", "description": "time of the constellation totals' samples (UTC)"}


# -- the task on a worker ------------------------------------------------------------------

_PMS: dict[tuple[tuple[str, ...], tuple[str, ...]], Any] = {}


def _worker_pm(plugins: tuple[str, ...], disable: tuple[str, ...]) -> Any:
    """The plugin manager of this worker process, built once per plugin set."""
    from twin_core.runner import plugin_manager

    key = (tuple(plugins), tuple(disable))
    if key not in _PMS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the coordinator already reported load problems
            _PMS[key] = plugin_manager(plugins, disable)
    return _PMS[key]


def _one_line(exc: BaseException) -> str:
    from twin_core.cli import documented_errors

    text = str(exc) if isinstance(exc, documented_errors()) else f"{type(exc).__name__}: {exc}"
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def case_results(scenario: Scenario, pm: Any, output: str | Path) -> list[tuple[str, float, str, str, str]]:
    """The case's results (hook ``orbitwin_case_results``) as ``(name, value, units,
    description, plugin)``; two plugins giving one name is an error."""
    import zarr

    root = zarr.open_group(str(output), mode="r")
    out: dict[str, tuple[str, float, str, str, str]] = {}
    for plugin, results in pm.call("orbitwin_case_results", scenario=scenario, store=root):
        for r in results or ():
            if r.name in out:
                raise UserError(f"plugins '{out[r.name][4]}' and '{plugin}' both give the case result '{r.name}'")
            out[r.name] = (r.name, float(r.value), r.units, r.description, plugin)
    return list(out.values())


def read_totals(output: str | Path) -> dict[str, tuple[np.ndarray, str, str]]:
    """Each constellation total of a run store: ``name -> (values, units, description)``."""
    import zarr

    grp = zarr.open_group(str(output), mode="r")["constellation"]
    return {name: (np.asarray(a[...]), str(a.attrs.get("units", "")), str(a.attrs.get("description", "")))
            for name, a in grp.arrays() if name != "time"}


def run_case(index: int, text: str, path: str, plugins: tuple[str, ...], disable: tuple[str, ...], output: str,
             arch: str = "cpu", threads: int = 0) -> dict[str, Any]:
    """Run one case into ``output`` and sum it up; on a dask worker, or in-process.
    Never raises for the case's own failure: returns ``status = "failed"`` and the error."""
    if threads:
        os.environ.setdefault("ORBITWIN_THREADS", str(threads))
    t0 = time.perf_counter()
    try:
        from twin_core.backend import start_taichi
        from twin_core.runner import parse, run_to_store

        pm = _worker_pm(plugins, disable)
        start_taichi(arch, threads or None, quiet=True)  # type: ignore[arg-type]  # once per process
        scenario = parse(text, pm, path)
        engine = run_to_store(scenario, pm, output, arch=arch, overwrite=True)
        return {"case": index, "status": "done", "results": case_results(scenario, pm, output),
                "totals": read_totals(output), "backend": engine.backend, "wall_s": time.perf_counter() - t0}
    except Exception as exc:  # noqa: BLE001 - recorded against the case; the sweep goes on
        return {"case": index, "status": "failed", "error": _one_line(exc), "wall_s": time.perf_counter() - t0}


# -- the coordinator --------------------------------------------------------------------------


def _check_resumable(output: str | Path, design: SweepDesign, pm: Any, retry_failed: bool) -> dict[str, Any]:
    import zarr

    from twin_core.runner import _plugin_difference, plugin_set
    from twin_core.sweepstore import FAILED, is_sweep_store, statuses

    if not is_sweep_store(output):
        raise UserError(f"--resume: {output} is not an orbitwin sweep store")
    attrs_ = dict(zarr.open_group(str(output), mode="r").attrs)
    now = design.identity()
    diffs = []
    if attrs_.get("base_scenario") != design.base.text:
        diffs.append(f"the scenario differs (the sweep's text is not that of {design.base.path})")
    if attrs_.get("vary") != now["vary"]:
        was = " ".join(f"--vary {k}={t}" for k, t in attrs_.get("vary", []))
        diffs.append(f"the --vary options differ (the sweep ran {was})")
    if attrs_.get("design") != now["design"] or attrs_.get("seed") != now["seed"]:
        diffs.append(f"the cases are drawn otherwise (the sweep ran {attrs_.get('design')} with seed "
                     f"{attrs_.get('seed')}, now {now['design']} with seed {now['seed']})")
    if not diffs and attrs_.get("cases_sha256") != now["cases_sha256"]:
        diffs.append("the cases' scenario texts differ (another orbitwin or numpy wrote the cases)")
    if attrs_.get("orbitwin_version") != __version__:
        diffs.append(f"it was made by orbitwin {attrs_.get('orbitwin_version')}, this is {__version__}")
    diffs += _plugin_difference(dict(attrs_.get("plugin_set", {})), plugin_set(pm))
    if diffs:
        raise UserError(f"--resume: {output} was made from other inputs: " + "; ".join(diffs)
                        + "; run without --resume, with --overwrite, to start again")
    if attrs_.get("complete") and not (retry_failed and (statuses(output) == FAILED).any()):
        raise UserError(f"--resume: {output} is already complete" +
                        ("" if retry_failed else " (--retry-failed reruns its failed cases)"))
    return attrs_


def _claim(output: str | Path, design: SweepDesign, pm: Any, overwrite: bool, resume: bool, retry_failed: bool,
           notice: Callable[[str], None]) -> tuple[Any, bool, bool]:
    """Leftovers removed, then the output checked (or, for a resume, locked and checked);
    returns ``(lock or None, resume, overwrite)``."""
    from twin_core.runner import nothing_to_resume
    from twin_core.storedir import StoreLock, check_output, clean_leftovers

    clean_leftovers(output)
    if resume and nothing_to_resume(output):
        notice(f"{output} holds no sweep (it stopped before its store was created); starting it")
        resume, overwrite = False, Path(output).exists()
    if not resume:
        check_output(output, overwrite=overwrite, scenario_path=design.base.path)
        return None, resume, overwrite
    lock = StoreLock.acquire(output)
    try:
        _check_resumable(output, design, pm, retry_failed)
    except BaseException:
        lock.release()
        raise
    return lock, resume, overwrite


def _create(output: str | Path, design: SweepDesign, pm: Any, overwrite: bool) -> Any:
    from twin_core.runner import plugin_set
    from twin_core.storedir import creating
    from twin_core.sweepstore import create_sweep_store

    axis = shared_time_axis(design)
    attrs_ = {"title": design.base.run.name or Path(design.base.path).stem,
              "description": f"orbitwin sweep of {design.base.path}: {design.design}, {len(design.cases)} cases",
              "base_scenario": design.base.text, "scenario_path": str(design.base.path),
              "orbitwin_version": __version__, "plugin_set": plugin_set(pm), **design.identity(),
              "totals": "per case on the time axis" if axis else
              "the cases have different time axes: each run's totals are in its own store (runs/)"}
    with creating(output, overwrite=overwrite, scenario_path=design.base.path) as (tmp, lock):
        create_sweep_store(tmp, keys=design.keys, cases=design.coordinates(), attrs=attrs_,
                           time_ms=axis[0] if axis else None, time_attrs=axis[1] if axis else None,
                           tags=list(design.tags) if design.tags else None)
        (Path(tmp) / "runs").mkdir()
    return lock


def run_sweep(design: SweepDesign, pm: Any, output: str | Path, *, plugins: tuple[str, ...] = (),
              disable: tuple[str, ...] = (), workers: int | None = None, scheduler: str | None = None,
              scheduler_timeout_s: float = 10.0, arch: str = "cpu", overwrite: bool = False, resume: bool = False,
              retry_failed: bool = False, progress: Callable[[int, int], None] | None = None,
              notice: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run every case of ``design`` that is not finished into the sweep store ``output``
    and mark it complete; returns counts and timing.

    The output is checked, and the cluster reached, before the store exists; the store is
    locked for the whole sweep. An interrupted sweep (Ctrl-C, a killed coordinator)
    leaves the committed cases in place for ``resume``.
    """
    from twin_core.shards import _connect
    from twin_core.sweepstore import DONE, FAILED, PENDING, commit_case, statuses, update_counts

    say = notice or (lambda text: None)
    t0 = time.perf_counter()
    lock, resume, overwrite = _claim(output, design, pm, overwrite, resume, retry_failed, say)
    n = len(design.cases)
    client = cluster = None
    try:
        if resume:
            st = statuses(output)
            wanted = {PENDING, FAILED} if retry_failed else {PENDING}
            todo = [c for c in design.cases if st[c.index] in wanted]
        else:
            todo = list(design.cases)
        runnable = [c for c in todo if not c.refused]
        n_workers = workers or max(1, min(len(runnable), os.cpu_count() or 1))
        threads = max(1, (os.cpu_count() or 1) // n_workers) if scheduler is None else 0
        if runnable:
            client, cluster = _connect(scheduler, n_workers, scheduler_timeout_s)
        if lock is None:
            lock = _create(output, design, pm, overwrite)
        finished = n - len(todo)
        if progress:
            progress(finished, n)
        for c in todo:
            if c.refused:
                commit_case(output, c.index, {"status": "failed", "error": c.refused})
                finished += 1
        if runnable:
            finished = _gather(client, runnable, output, n, plugins, disable, arch, threads, finished, progress)
        counts = update_counts(output, complete=bool((statuses(output) != PENDING).all()))
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        if lock is not None:
            lock.release()
    st = statuses(output)
    failed = [(c.index, _error_of(output, c.index)) for c in design.cases if st[c.index] == FAILED]
    return {"cases": n, "ran": len(todo), "done": int((st == DONE).sum()), "failed": failed,
            "workers": n_workers, "wall_s": time.perf_counter() - t0, **counts}


def _gather(client: Any, cases: list[Case], output: str | Path, n: int, plugins: tuple[str, ...],
            disable: tuple[str, ...], arch: str, threads: int, finished: int,
            progress: Callable[[int, int], None] | None) -> int:
    """Submit one task per case and commit each as it completes."""
    from dask.distributed import as_completed

    from twin_core.sweepstore import commit_case, run_path

    root = str(Path(output).resolve())
    futures = {client.submit(run_case, c.index, c.text, c.path, tuple(plugins), tuple(disable),
                             str(run_path(root, c.index, n)), arch, threads, pure=False): c.index for c in cases}
    for fut in as_completed(futures):
        index = futures[fut]
        try:
            outcome = fut.result()
        except Exception as exc:  # noqa: BLE001 - a worker that died, a task dask gave up on
            outcome = {"status": "failed", "error": f"the task did not finish: {type(exc).__name__}: {exc}"}
        commit_case(output, index, outcome)
        finished += 1
        if progress:
            progress(finished, n)
    return finished


def _error_of(output: str | Path, case: int) -> str:
    import zarr

    return str(zarr.open_group(str(output), mode="r")["error"][case])
