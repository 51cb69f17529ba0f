"""Sharded runs: one constellation split along orbital planes into dask tasks that write
their own regions of the same store.

How it works:

1. The coordinator makes the run's plan (no taichi) and creates the store for the whole
   constellation. Shards are unions of whole store chunks along ``sat``, and chunks are
   whole orbital planes when the planes are of equal size (`twin_core.plan`), so no two
   shards ever write the same chunk.
2. Each shard is one dask task. It loads the plugins and the scenario text itself, builds
   an engine for its satellites only, and writes its per-satellite chunks, its chunks'
   partial constellation totals (``partials/<metric>``, one column per chunk) and its own
   checkpoints. Taichi starts once per worker process with the worker's share of cores.
3. When every shard is done, the coordinator folds the partials chunk by chunk in
   constellation order (`twin_core.metrics.finalize`), exactly as an unsharded run folds
   them, writes ``constellation/<metric>`` and marks the store complete. Per-satellite
   results are bitwise those of an unsharded run; so are the totals.

Coupling between satellites (crosslinks): a shard will see its neighbouring planes through
a halo. A link model's kernel needs the positions of the satellites a link can reach;
the plan will give each shard, besides its own planes, read-only copies of the adjacent
planes (the halo, ``halo_planes`` wide, chosen by the link model from its maximum range),
propagated by the same orbit stage at the same times, so every quantity of a link between
two shards is computed identically by both and owned (written) by the shard of the lower
satellite index. Values that depend on another satellite already lag one step in the
single-process design (DESIGN.md), so the halo is refreshed once per step, never inside
one. Constellation totals of link variables fold per chunk like any other metric.
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path
from typing import Any, Callable

import attrs

from twin_core.declarations import Metric
from twin_core.errors import UserError
from twin_core.metrics import finalize_all
from twin_core.scenario import Scenario


def _shard_task(text: str, path: str, plugins: tuple[str, ...], disable: tuple[str, ...], output: str,
                shard: int, n_shards: int, sat_range: tuple[int, int], arch: str, resume: bool,
                threads: int, observed: Any = None) -> dict[str, Any]:
    """Run one shard inside a dask worker; returns the backend and timing. ``observed``:
    the states to set from telemetry (`twin_core.observed.Observed`), read once by the
    coordinator."""
    os.environ.setdefault("ORBITWIN_THREADS", str(threads))
    from twin_core.runner import parse, plugin_manager, run_shard

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the coordinator already reported load problems
        pm = plugin_manager(plugins, disable)
    scenario = parse(text, pm, path)
    if observed is not None:
        scenario = attrs.evolve(scenario, observed=observed)
    engine = run_shard(scenario, pm, output, shard, n_shards, sat_range, arch=arch, resume=resume)
    return {"shard": shard, "backend": engine.backend, **engine.stats}


def combine_partials(output: str | Path, metrics: tuple[Metric, ...], n_total: int) -> None:
    """Fold every metric's per-chunk partials into ``constellation/<metric>``, one
    stored chunk of samples at a time so memory stays bounded."""
    import zarr

    root = zarr.open_group(str(output), mode="r+")
    if not metrics:
        return
    outs = {m.name: root["constellation"][m.name] for m in metrics}
    first = outs[metrics[0].name]
    step, n = first.chunks[0], first.shape[0]
    for a in range(0, n, step):
        blocks = {m.name: root["partials"][m.name][a:a + step].T for m in metrics}  # (chunks, samples)
        values = finalize_all(metrics, blocks, n_total)
        for m in metrics:
            outs[m.name][a:a + values[m.name].shape[0]] = values[m.name]


def _connect(scheduler: str | None, n_workers: int, timeout_s: float) -> tuple[Any, Any]:
    """A dask client on the cluster at ``scheduler`` or on a new local cluster, or a
    `UserError` naming the address and what went wrong (within ``timeout_s``)."""
    from dask.distributed import Client, LocalCluster

    if scheduler is not None and not scheduler.strip():
        raise UserError("--scheduler is empty; give the dask scheduler's address (tcp://HOST:PORT), or leave the "
                        "option out to run on a local cluster")
    if scheduler is None:
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=50)
        return Client(cluster), cluster
    from distributed.comm import parse_address

    try:
        parse_address(scheduler, strict=True)
    except (ValueError, TypeError) as exc:
        raise UserError(f"--scheduler {scheduler!r} is not a dask scheduler address ({exc}); expected "
                        "PROTOCOL://HOST:PORT, e.g. tcp://10.0.0.5:8786") from None
    return _client_within(scheduler, timeout_s), None


def _client_within(scheduler: str, timeout_s: float) -> Any:
    """``Client(scheduler)`` in a helper thread with a hard deadline: dask's own timeout
    covers the connection, not a peer that accepts it and then says nothing (or answers
    as something other than a dask scheduler, which dask may read as a frame of some
    exabytes); whatever goes wrong, the user gets one line naming the address."""
    from dask.distributed import Client

    got: dict[str, Any] = {}

    def connect() -> None:
        try:
            got["client"] = Client(scheduler, timeout=timeout_s)
        except BaseException as exc:  # noqa: BLE001 - reported below, in the caller's thread
            got["error"] = exc

    worker = threading.Thread(target=connect, name="orbitwin-dask-connect", daemon=True)
    worker.start()
    worker.join(timeout_s + 2.0)
    hint = "is a dask scheduler running there? (--scheduler-timeout sets the wait)"
    if worker.is_alive():
        raise UserError(f"the dask scheduler at {scheduler} did not answer within {timeout_s:g} s; {hint}")
    if "error" in got:
        exc = got["error"]
        text = " ".join(str(exc).split())[:200]
        raise UserError(f"cannot reach the dask scheduler at {scheduler} within {timeout_s:g} s "
                        f"({type(exc).__name__}: {text}); {hint}")
    return got["client"]


def _poll(futures: list, output: str | Path, n_records: int, progress: Callable[[int, int], None] | None,
          interval_s: float = 0.5) -> list[dict[str, Any]]:
    """Wait for every shard, reporting records written across shards (the mean over
    shards, from their committed checkpoints) and keeping the store's
    ``records_written`` attribute current."""
    import zarr
    from dask.distributed import wait

    from twin_core.store import read_pointer

    root = zarr.open_group(str(output), mode="r+")
    n_shards, shown = len(futures), -1
    while True:
        try:
            wait(futures, timeout=interval_s, return_when="ALL_COMPLETED")
        except TimeoutError:  # dask's wait raises when the time is up; that is the polling tick
            pass
        done = [f for f in futures if f.done()]
        for f in futures:
            if f.status == "error":
                f.result()  # raises the shard's error here
        per_shard = [0 if (p := read_pointer(output, k)) is None else int(p["record"]) + 1 for k in range(n_shards)]
        if min(per_shard) != root.attrs.get("records_written"):
            root.attrs["records_written"] = min(per_shard)
        mean = sum(per_shard) // n_shards
        if progress and mean != shown:
            progress(mean, n_records)
            shown = mean
        if len(done) == n_shards:
            return [f.result() for f in futures]


def run_sharded(scenario: Scenario, pm: Any, output: str | Path, *, shards: int, plugins: tuple[str, ...] = (),
                disable: tuple[str, ...] = (), workers: int | None = None, scheduler: str | None = None,
                scheduler_timeout_s: float = 10.0, arch: str = "cpu", overwrite: bool = False,
                resume: bool = False, progress: Callable[[int, int], None] | None = None,
                notice: Callable[[str], None] | None = None, no_space_check: bool = False) -> list[dict[str, Any]]:
    """Run ``scenario`` in ``shards`` dask tasks on a local cluster of ``workers``
    processes (or the cluster at ``scheduler``) and mark the store complete.

    As for an unsharded run, everything is checked before the store exists: the output,
    the plan and shards, the engine build (on the first store chunk only, so the
    coordinator allocates little, and compiles the kernel so that a stage taichi refuses
    is named here) and the connection to the cluster (`twin_core.runner.OutputClaim`).
    The coordinator holds the store's lock for the whole run.
    """
    from twin_core.engine import Engine, layout_for
    from twin_core.plan import make_plan
    from twin_core.runner import OutputClaim, finish_store
    from twin_core.store import mark_complete

    with OutputClaim(output, scenario, pm, overwrite=overwrite, resume=resume, notice=notice) as claim:
        plan = make_plan(scenario, pm, shards=shards)
        ranges = plan.shards(shards)
        claim.check(plan, n_shards=len(ranges), no_space_check=no_space_check)
        first_chunk = (int(plan.chunk_bounds[0]), int(plan.chunk_bounds[1]))
        probe = Engine(scenario, pm, arch=arch, sat_range=first_chunk, plan=plan)  # the build checks
        try:
            probe.compile()  # and the compiler's, before the store exists
        finally:
            probe.close()
        n_workers = workers or min(len(ranges), os.cpu_count() or 1)
        threads = max(1, (os.cpu_count() or 1) // n_workers)
        client, cluster = _connect(scheduler, n_workers, scheduler_timeout_s)
        try:
            claim.create(layout_for(plan, pm, "pending"), n_shards=len(ranges))
            futures = [client.submit(_shard_task, scenario.text, scenario.path, tuple(plugins), tuple(disable),
                                     str(Path(output).resolve()), k, len(ranges), r, arch, claim.resume, threads,
                                     scenario.observed, pure=False)
                       for k, r in enumerate(ranges)]
            results = _poll(futures, output, scenario.run.n_records, progress)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        if len(ranges) > 1:
            combine_partials(output, plan.metrics, plan.n_total)
        finish_store(scenario, pm, output)
        backends = sorted({r["backend"] for r in results})
        mark_complete(output, ",".join(backends))
        return sorted(results, key=lambda r: r["shard"])

