"""``orbitwin sweep``: run a scenario over many cases on dask, into one store with a
``case`` dimension; ``--tornado`` ranks the inputs by their effect on one result."""

from __future__ import annotations

import math
from pathlib import Path

import click

from twin_core.cli.common import build_plugin_manager, make_console, make_table, plugin_options
from twin_core.errors import UserError
from twin_core.runner import load
from twin_core.tornado import figure_path

#: Most cases listed in the summary table (the store holds them all).
SHOWN_CASES = 40


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--vary", "vary", multiple=True, metavar="KEY=VALUES",
              help="A scenario key and its values (repeatable): KEY=V1,V2,... or KEY=START:STOP:NUM, or "
                   "KEY=START:STOP with --sample. KEY is a dotted path (solar.area_m2, "
                   "orbit.shell.0.altitude_km: a number picks one of an array of tables, from 0).")
@click.option("--output", "-o", required=True, type=click.Path(), help="The sweep store to create (SWEEP.zarr).")
@click.option("--sample", metavar="lhs:N|mc:N", default=None,
              help="Draw N cases (Latin hypercube or Monte Carlo) instead of every combination.")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True, help="Seed of --sample.")
@click.option("--tornado", is_flag=True,
              help="Move each --vary KEY=LOW,HIGH alone around the scenario, rank the keys by the swing of --metric, "
                   "print the table and draw SWEEP-tornado.png.")
@click.option("--metric", default="cost.space_usd_per_pflop_day", show_default=True, metavar="NAME",
              help="The case result --tornado ranks by (and the summary shows).")
@click.option("--figure", type=click.Path(dir_okay=False), default=None,
              help="Where --tornado draws its PNG (default: beside OUTPUT, SWEEP-tornado.png).")
@click.option("--workers", type=click.IntRange(1), default=None,
              help="Worker processes of the local dask cluster, one thread each (default: one per core, at most "
                   "one per case).")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Run the cases on the dask cluster at ADDRESS (tcp://HOST:PORT) instead of a local one; its "
                   "workers must see OUTPUT at the same path.")
@click.option("--scheduler-timeout", "scheduler_timeout_s", type=click.FloatRange(0.1), default=10.0,
              show_default=True, metavar="SECONDS", help="How long to wait for --scheduler to answer.")
@click.option("--arch", type=click.Choice(["cpu", "gpu", "auto"]), default="cpu", show_default=True,
              help="Backend of every case.")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it is an orbitwin store (or an empty folder).")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted sweep of the same scenario, --vary options and plugins: only cases not "
                   "yet committed run.")
@click.option("--retry-failed", is_flag=True, help="With --resume: run the failed cases again too.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
@plugin_options
def sweep(scenario: str, vary: tuple[str, ...], output: str, sample: str | None, seed: int, tornado: bool,
          metric: str, figure: str | None, workers: int | None, scheduler: str | None, scheduler_timeout_s: float,
          arch: str, overwrite: bool, resume: bool, retry_failed: bool, quiet: bool, plugins: tuple[str, ...],
          disable: tuple[str, ...]) -> None:
    """Run SCENARIO once per case into the sweep store OUTPUT (zarr v3).

    Every combination of the --vary values runs (or --sample draws, or --tornado moves
    one key at a time), each case a dask task. `xarray.open_zarr(OUTPUT)` gives each case
    result, each run's constellation totals and each case's status along `case`, with the
    varied values as coordinates; each case's run store is OUTPUT/runs/case-NNNN.zarr.
    """
    from twin_core.cli.run import _Progress
    from twin_core.sweep import design_sweep, run_sweep

    if resume and overwrite:
        raise click.UsageError("--resume and --overwrite contradict each other")
    if retry_failed and not resume:
        raise click.UsageError("--retry-failed goes with --resume")
    if workers is not None and scheduler is not None:
        raise click.UsageError("--workers is for the local cluster; with --scheduler the cluster has its own workers")
    if tornado:
        _check_figure(figure or str(figure_path(output)), given=figure is not None)
        if resume and _complete_tornado(output):  # the cases are there: rank and draw again (another --metric)
            _tornado(output, metric, figure, quiet)
            return
    pm = build_plugin_manager(plugins, disable)
    sc = load(scenario, pm)
    design = design_sweep(sc, pm, list(vary), sample=sample, seed=seed, tornado=tornado)

    def notice(text: str) -> None:
        click.echo(f"orbitwin: {text}", err=True)

    progress = _Progress(f"{Path(scenario).name} sweep", enabled=not quiet, unit="cases",
                         starting="starting the dask workers, which build and compile the kernels")
    try:
        summary = run_sweep(design, pm, output, plugins=plugins, disable=disable, workers=workers,
                            scheduler=scheduler, scheduler_timeout_s=scheduler_timeout_s, arch=arch,
                            overwrite=overwrite, resume=resume, retry_failed=retry_failed, progress=progress,
                            notice=notice)
    finally:
        progress.close()
    for index, error in summary["failed"][:10]:
        click.echo(f"orbitwin: case {index} failed: {error}", err=True)
    if len(summary["failed"]) > 10:
        click.echo(f"orbitwin: ... and {len(summary['failed']) - 10} more failed cases (see `error` in {output})",
                   err=True)
    if summary["cases"] and len(summary["failed"]) == summary["cases"]:
        raise UserError(f"every case of the sweep failed (the first: case {summary['failed'][0][0]}: "
                        f"{summary['failed'][0][1]}); {output} records each error")
    if tornado:
        _tornado(output, metric, figure, quiet)
    elif not quiet:
        _cases_table(output, design, metric)
    if not quiet:
        n = summary["workers"]
        where = f"the cluster at {scheduler}" if scheduler else f"{n} worker{'s' if n != 1 else ''}"
        click.echo(f"{output}: {summary['cases']} cases ({summary['done']} done, {len(summary['failed'])} failed; "
                   f"{summary['ran']} run now on {where}) in {summary['wall_s']:.1f} s", err=True)


def _cases_table(output: str, design, metric: str) -> None:
    """The cases with their varied values, status and one result (``--metric`` if the
    cases give it, else the first result), at most `SHOWN_CASES` rows."""
    import zarr

    from twin_core.tornado import result_names

    root = zarr.open_group(str(output), mode="r")
    names = result_names(root)
    shown = metric if metric in names else (names[0] if names else None)
    table = make_table()
    table.add_column("case", justify="right")
    for key in design.keys:
        table.add_column(key, justify="right")
    table.add_column("status")
    if shown:
        table.add_column(f"{shown} [{root[shown].attrs.get('units', '')}]", justify="right")
    status = root["status"][...]
    values = root[shown][...] if shown else None
    meaning = {0: "pending", 1: "done", 2: "failed"}
    for c in design.cases[:SHOWN_CASES]:
        row = [str(c.index)] + [_fmt(c.overrides.get(k)) for k in design.keys] + [meaning.get(int(status[c.index]), "?")]
        if shown:
            row.append(_fmt(float(values[c.index])))
        table.add_row(*row)
    console = make_console()
    console.print(table)
    if len(design.cases) > SHOWN_CASES:
        console.print(f"... {len(design.cases) - SHOWN_CASES} more cases in {output}")


def _check_figure(path: str, given: bool) -> None:
    """Refuse, before any case runs, a tornado figure that could not be written."""
    import os

    parent = Path(path).absolute().parent
    what = f"--figure {path}" if given else f"the tornado figure {path} (choose another with --figure)"
    if not parent.is_dir():
        raise UserError(f"{what}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise UserError(f"{what}: the folder {parent} is not writable")
    if Path(path).is_dir():
        raise UserError(f"{what}: is a folder; give a .png file name")


def _complete_tornado(output: str) -> bool:
    """Whether ``output`` is a finished tornado sweep (``--resume --tornado`` then only
    ranks and draws it again)."""
    from twin_core.sweepstore import is_sweep_store

    if not Path(output).exists() or not is_sweep_store(output):
        return False
    import zarr

    root = zarr.open_group(output, mode="r")
    return bool(root.attrs.get("complete")) and "tornado_key" in root


def _tornado(output: str, metric: str, figure: str | None, quiet: bool) -> None:
    from twin_core.tornado import draw, figure_path, tornado

    base, units, rows = tornado(output, metric)
    path = draw(base, units, rows, metric, figure or figure_path(output))
    table = make_table(f"{metric} [{units}]: baseline {_fmt(base)}, one input at a time, largest swing first")
    for col in ("rank", "key", "low", "high", "at low", "at high", "swing"):
        table.add_column(col, justify="left" if col == "key" else "right")
    for i, r in enumerate(rows, 1):
        table.add_row(str(i), r.key, _fmt(r.low), _fmt(r.high), _fmt(r.at_low), _fmt(r.at_high), _fmt(r.swing))
    make_console().print(table)
    if not quiet:
        click.echo(f"orbitwin: tornado figure: {path}", err=True)


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return "failed" if math.isnan(v) else f"{v:.6g}"
    return str(v)
