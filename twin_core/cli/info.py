"""``orbitwin info``: what a run's store holds and how far the run got."""

from __future__ import annotations

from pathlib import Path

import click

from twin_core.errors import PluginError, UserError


def _open(path: str):
    import zarr

    if not Path(path).exists():
        raise UserError(f"{path}: no such store")
    try:
        root = zarr.open_group(path, mode="r")
    except Exception as exc:  # noqa: BLE001 - any failure here means "not a store"
        raise UserError(f"{path}: not a zarr store ({type(exc).__name__}: {exc})") from None
    if "n_records" not in root.attrs or "sat" not in root:
        raise UserError(f"{path}: a zarr store, but not one written by orbitwin run")
    return root


def _span(root) -> str:
    import numpy as np

    attrs = root.attrs
    epoch = np.datetime64(attrs["epoch"][:19])
    n = int(attrs["n_records"])
    end = epoch + np.timedelta64(int(round((n - 1) * float(attrs["record_every_s"]) * 1000)), "ms")
    return f"{epoch} to {end} UTC, {n} records every {float(attrs['record_every_s']):g} s (step {float(attrs['step_s']):g} s)"


@click.command()
@click.argument("store", type=click.Path())
@click.option("--plugin", "plugins", multiple=True, metavar="MODULE", help="Also load this plugin for summary rows.")
def info(store: str, plugins: tuple[str, ...]) -> None:
    """Summarise STORE, a run written by `orbitwin run`: dimensions, variables with units,
    time span, backend, whether it is complete, and each plugin's summary rows."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from twin_core.cli.common import build_plugin_manager

    root = _open(store)
    attrs = root.attrs
    con = Console(width=140)
    from twin_core.store import records_written

    n_rec = int(attrs["n_records"])
    written = n_rec if attrs.get("complete") else records_written(store, int(attrs.get("n_shards", 1)))
    status = "complete" if attrs.get("complete") else (
        f"INCOMPLETE: {written} of {n_rec} records written; continue it with orbitwin run --resume")
    if not attrs.get("complete") and attrs.get("error"):
        status += f" (stopped by {attrs['error']})"
    con.print(f"[bold]{store}[/bold]: {attrs.get('title', '')}")
    con.print(f"  status:      {status}")
    con.print(f"  satellites:  {attrs['n_sats']}")
    con.print(f"  time:        {_span(root)}")
    con.print(f"  backend:     {attrs.get('backend')}   orbitwin {attrs.get('orbitwin_version', '?')}")
    con.print("  plugins:     " + ", ".join(f"{k} {v}" for k, v in dict(attrs.get("plugins", {})).items()))
    table = Table(title="variables")
    for col in ("group", "name", "dimensions", "shape", "units", "description"):
        table.add_column(col, overflow="fold")
    for group in ("sat", "constellation", "common"):
        if group not in root:
            continue
        for name, arr in sorted(root[group].arrays()):
            if name in ("time", "sat", "plane", "shell"):
                continue
            dims = ", ".join(arr.metadata.dimension_names or ())
            table.add_row(group, name, dims, str(arr.shape), str(arr.attrs.get("units", "")),
                          escape(str(arr.attrs.get("description", ""))))
    con.print(table)
    pm = build_plugin_manager(plugins, ())
    try:
        rows = [row for _p, rs in pm.call("orbitwin_summary", store=root) for row in rs]
    except PluginError as exc:
        click.echo(f"orbitwin: warning: {exc}", err=True)
        rows = []
    if rows:
        summary = Table(title="summary")
        summary.add_column("quantity")
        summary.add_column("value")
        from rich.markup import escape

        for label, value in rows:
            summary.add_row(escape(label), escape(value))
        con.print(summary)
