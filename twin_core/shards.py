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
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

from twin_core import __version__
from twin_core.declarations import Metric
from twin_core.errors import UserError
from twin_core.metrics import finalize
from twin_core.scenario import Scenario


def _shard_task(text: str, path: str, plugins: tuple[str, ...], disable: tuple[str, ...], output: str,
                shard: int, n_shards: int, sat_range: tuple[int, int], arch: str, resume: bool,
                threads: int) -> dict[str, Any]:
    """Run one shard inside a dask worker; returns the backend and timing."""
    os.environ.setdefault("ORBITWIN_THREADS", str(threads))
    from twin_core.runner import parse, plugin_manager, run_shard

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the coordinator already reported load problems
        pm = plugin_manager(plugins, disable)
    scenario = parse(text, pm, path)
    engine = run_shard(scenario, pm, output, shard, n_shards, sat_range, arch=arch, resume=resume)
    return {"shard": shard, "backend": engine.backend, **engine.stats}


def combine_partials(output: str | Path, metrics: tuple[Metric, ...], n_total: int) -> None:
    """Fold every metric's per-chunk partials into ``constellation/<metric>``, one
    stored chunk of samples at a time so memory stays bounded."""
    import zarr

    root = zarr.open_group(str(output), mode="r+")
    for m in metrics:
        part, out = root["partials"][m.name], root["constellation"][m.name]
        step = out.chunks[0]
        for a in range(0, out.shape[0], step):
            block = part[a:a + step]  # (samples, chunks)
            out[a:a + block.shape[0]] = finalize(m, block.T, n_total)


def run_sharded(scenario: Scenario, pm: Any, output: str | Path, *, shards: int, plugins: tuple[str, ...] = (),
                disable: tuple[str, ...] = (), workers: int | None = None, scheduler: str | None = None,
                arch: str = "cpu", overwrite: bool = False, resume: bool = False,
                progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
    """Run ``scenario`` in ``shards`` dask tasks on a local cluster of ``workers``
    processes (or the cluster at ``scheduler``) and mark the store complete."""
    from dask.distributed import Client, LocalCluster, as_completed

    from twin_core.engine import layout_for
    from twin_core.plan import make_plan
    from twin_core.runner import check_resumable
    from twin_core.store import create_store, mark_complete

    plan = make_plan(scenario, pm)
    ranges = plan.shards(shards)
    if resume:
        attrs = check_resumable(output, scenario)
        if int(attrs.get("n_shards", 1)) != len(ranges):
            raise UserError(f"--resume: {output} was run in {attrs.get('n_shards', 1)} shards, not {len(ranges)}")
    else:
        if Path(output).exists() and not overwrite:
            raise UserError(f"{output} exists; pass --overwrite to replace it, or --resume to continue it")
        create_store(output, layout_for(plan, pm, "pending"), overwrite=overwrite, n_shards=len(ranges),
                     attrs={"orbitwin_version": __version__})
    n_workers = workers or min(len(ranges), os.cpu_count() or 1)
    threads = max(1, (os.cpu_count() or 1) // n_workers)
    cluster = None
    try:
        if scheduler:
            client = Client(scheduler)
        else:
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=50)
            client = Client(cluster)
    except OSError as exc:
        raise UserError(f"cannot reach the dask scheduler {scheduler or '(local)'}: {exc}") from None
    try:
        futures = [client.submit(_shard_task, scenario.text, scenario.path, tuple(plugins), tuple(disable),
                                 str(Path(output).resolve()), k, len(ranges), r, arch, resume, threads, pure=False)
                   for k, r in enumerate(ranges)]
        results = []
        for done, fut in enumerate(as_completed(futures), start=1):
            results.append(fut.result())
            if progress:
                progress(done, len(ranges))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    if len(ranges) > 1:
        combine_partials(output, plan.metrics, plan.n_total)
    backends = sorted({r["backend"] for r in results})
    mark_complete(output, ",".join(backends))
    return sorted(results, key=lambda r: r["shard"])
