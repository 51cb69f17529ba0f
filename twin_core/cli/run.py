"""``orbitwin run``: run a scenario into a zarr store."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import click

from twin_core.cli.common import build_plugin_manager, plugin_options
from twin_core.runner import load, run_to_store


#: Seconds without a first record after which the user is told the kernels are compiling.
COMPILE_NOTICE_AFTER_S = 1.5


class _Progress:
    """A rich progress bar with ETA on standard error, shown only once the run looks
    longer than about two seconds (short runs stay quiet).

    Taichi compiles the fused kernel at the first launch (about 6 s on a cold cache,
    well under one when taichi's offline cache has it), so when no record has arrived
    `COMPILE_NOTICE_AFTER_S` after the bar was armed, one line says so.
    """

    def __init__(self, label: str, enabled: bool = True, unit: str = "records",
                 starting: str = "building and compiling kernels"):
        self.label, self.enabled, self.unit, self.starting = label, enabled, unit, starting
        self.t0 = time.perf_counter()
        self.bar = None
        self.task = None
        self._first = threading.Event()
        self._timer: threading.Timer | None = None
        if enabled:
            self._timer = threading.Timer(COMPILE_NOTICE_AFTER_S, self._compile_notice)
            self._timer.daemon = True
            self._timer.start()

    def _compile_notice(self) -> None:
        if not self._first.is_set():
            click.echo(f"orbitwin: {self.starting} (slow on a first run only; later runs load the kernels "
                       "from taichi's offline cache)...", err=True)

    def __call__(self, done: int, total: int) -> None:
        if done >= 1:
            self._first.set()
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.t0
        if self.bar is None:
            if done < 2 or elapsed * total / done < 2.0:
                return
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn(self.unit), TimeRemainingColumn(),
                                console=Console(stderr=True), transient=False)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total)
        self.bar.update(self.task, completed=done)

    def close(self) -> None:
        self._first.set()
        if self._timer is not None:
            self._timer.cancel()
        if self.bar is not None:
            self.bar.stop()


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--output", "-o", required=True, type=click.Path(), help="The zarr store to create (RUN.zarr).")
@click.option("--arch", type=click.Choice(["cpu", "gpu", "auto"]), default="cpu", show_default=True,
              help="Backend: gpu tries CUDA then Vulkan and falls back to the CPU with a notice.")
@click.option("--overwrite", is_flag=True,
              help="Replace OUTPUT if it is an orbitwin store (or an empty folder); anything else is left untouched.")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted run of the same scenario and plugins from its last checkpoint in OUTPUT "
                   "(starts it when OUTPUT does not exist).")
@click.option("--shards", type=click.IntRange(1), default=1, show_default=True,
              help="Split the constellation along orbital planes into this many dask tasks.")
@click.option("--workers", type=click.IntRange(1), default=None,
              help="Worker processes of the local dask cluster for --shards (default: one per core).")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Run the shards on the dask cluster at ADDRESS (tcp://HOST:PORT) instead of a local one.")
@click.option("--scheduler-timeout", "scheduler_timeout_s", type=click.FloatRange(0.1), default=10.0,
              show_default=True, metavar="SECONDS", help="How long to wait for --scheduler to answer.")
@click.option("--from-telemetry", "from_telemetry", type=click.Path(), default=None, metavar="TELEMETRY",
              help="Start from the latest telemetry at or before the epoch (CSV or Parquet, the format of orbitwin "
                   "compare): the states it gives (battery.soc, thermal.temperature_k, ...) replace the scenario's "
                   "initial values for the satellites it names. docs/telemetry.md.")
@click.option("--no-space-check", is_flag=True,
              help="Run even when the store's size (uncompressed, an upper bound) exceeds the free disk space.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
@plugin_options
def run(scenario: str, output: str, arch: str, overwrite: bool, resume: bool, shards: int, workers: int | None,
        scheduler: str | None, scheduler_timeout_s: float, from_telemetry: str | None, no_space_check: bool,
        quiet: bool, plugins: tuple[str, ...], disable: tuple[str, ...]) -> None:
    """Run SCENARIO and write every recorded variable to OUTPUT (zarr v3).

    The store's `complete` attribute is set only when the run finishes; open it with
    `xarray.open_zarr(OUTPUT, group="sat")`.
    """
    pm = build_plugin_manager(plugins, disable)
    sc = load(scenario, pm)
    if resume and overwrite:
        raise click.UsageError("--resume and --overwrite contradict each other")
    t0 = time.perf_counter()

    def notice(text: str) -> None:
        click.echo(f"orbitwin: {text}", err=True)

    plan = None
    if from_telemetry is not None:
        import attrs

        from twin_core.observed import read_observed
        from twin_core.plan import make_plan

        plan = make_plan(sc, pm)
        observed = read_observed(from_telemetry, plan, pm)
        sc = attrs.evolve(sc, observed=observed)
        if not quiet:
            for line in observed.summary(plan.n_total):
                notice(f"{from_telemetry}: {line}")
        for line in observed.stale():
            notice(f"warning: {from_telemetry}: {line}")

    if shards > 1 or scheduler is not None:
        from twin_core.shards import run_sharded

        progress = _Progress(f"{Path(scenario).name} ({shards} shards)", enabled=not quiet,
                             unit="records (mean over shards)",
                             starting="starting the dask workers, which build and compile the kernels")
        try:
            results = run_sharded(sc, pm, output, shards=shards, plugins=plugins, disable=disable, workers=workers,
                                  scheduler=scheduler, scheduler_timeout_s=scheduler_timeout_s, arch=arch,
                                  overwrite=overwrite, resume=resume, progress=progress, notice=notice,
                                  no_space_check=no_space_check)
        finally:
            progress.close()
        if not quiet:
            click.echo(f"{output}: {len(results)} shards on {', '.join(sorted({r['backend'] for r in results}))} "
                       f"in {time.perf_counter() - t0:.1f} s", err=True)
        return
    progress = _Progress(Path(scenario).name, enabled=not quiet)
    try:
        engine = run_to_store(sc, pm, output, arch=arch, overwrite=overwrite, resume=resume, progress=progress,
                              notice=notice, no_space_check=no_space_check, plan=plan)
    finally:
        progress.close()
    wall = time.perf_counter() - t0
    if not quiet:
        st = engine.stats
        rate = st["sat_steps"] / st["kernel_s"] if st["kernel_s"] > 0 else float("nan")
        click.echo(f"{output}: {engine.state.n_total} satellites, {sc.run.n_records} records on "
                   f"{engine.backend} in {wall:.1f} s ({rate / 1e6:.1f} M satellite-steps/s in the kernel)",
                   err=True)
