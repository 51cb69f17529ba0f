"""``orbitwin run``: run a scenario into a zarr store."""

from __future__ import annotations

import time
from pathlib import Path

import click

from twin_core.cli.common import build_plugin_manager, plugin_options
from twin_core.runner import load, run_to_store


class _Progress:
    """A rich progress bar with ETA on standard error, shown only once the run looks
    longer than about two seconds (short runs stay quiet)."""

    def __init__(self, label: str, enabled: bool = True):
        self.label, self.enabled = label, enabled
        self.t0 = time.perf_counter()
        self.bar = None
        self.task = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.t0
        if self.bar is None:
            if done < 2 or elapsed * total / done < 2.0:
                return
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("records"), TimeRemainingColumn(),
                                console=Console(stderr=True), transient=False)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total)
        self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--output", "-o", required=True, type=click.Path(), help="The zarr store to create (RUN.zarr).")
@click.option("--arch", type=click.Choice(["cpu", "gpu", "auto"]), default="cpu", show_default=True,
              help="Backend: gpu tries CUDA then Vulkan and falls back to the CPU with a notice.")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted run of the same scenario from its last checkpoint in OUTPUT.")
@click.option("--shards", type=click.IntRange(1), default=1, show_default=True,
              help="Split the constellation along orbital planes into this many dask tasks.")
@click.option("--workers", type=click.IntRange(1), default=None,
              help="Worker processes of the local dask cluster for --shards (default: one per core).")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Run the shards on the dask cluster at ADDRESS instead of a local one.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
@plugin_options
def run(scenario: str, output: str, arch: str, overwrite: bool, resume: bool, shards: int, workers: int | None,
        scheduler: str | None, quiet: bool, plugins: tuple[str, ...], disable: tuple[str, ...]) -> None:
    """Run SCENARIO and write every recorded variable to OUTPUT (zarr v3).

    The store's `complete` attribute is set only when the run finishes; open it with
    `xarray.open_zarr(OUTPUT, group="sat")`.
    """
    pm = build_plugin_manager(plugins, disable)
    sc = load(scenario, pm)
    if resume and overwrite:
        raise click.UsageError("--resume and --overwrite contradict each other")
    t0 = time.perf_counter()
    if shards > 1 or scheduler:
        from twin_core.shards import run_sharded

        progress = _Progress(f"{Path(scenario).name} ({shards} shards)", enabled=not quiet)
        try:
            results = run_sharded(sc, pm, output, shards=shards, plugins=plugins, disable=disable, workers=workers,
                                  scheduler=scheduler, arch=arch, overwrite=overwrite, resume=resume,
                                  progress=progress)
        finally:
            progress.close()
        if not quiet:
            click.echo(f"{output}: {len(results)} shards on {', '.join(sorted({r['backend'] for r in results}))} "
                       f"in {time.perf_counter() - t0:.1f} s", err=True)
        return
    progress = _Progress(Path(scenario).name, enabled=not quiet)
    try:
        engine = run_to_store(sc, pm, output, arch=arch, overwrite=overwrite, resume=resume, progress=progress)
    finally:
        progress.close()
    wall = time.perf_counter() - t0
    if not quiet:
        st = engine.stats
        rate = st["sat_steps"] / st["kernel_s"] if st["kernel_s"] > 0 else float("nan")
        click.echo(f"{output}: {engine.state.n_total} satellites, {sc.run.n_records} records on "
                   f"{engine.backend} in {wall:.1f} s ({rate / 1e6:.1f} M satellite-steps/s in the kernel)",
                   err=True)
