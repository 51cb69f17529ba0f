"""``orbitwin compare RUN.zarr TELEMETRY``: telemetry of real satellites against a
finished run (docs/telemetry.md). Reading, interpolation and residuals are
`orbitwin_plugins.telemetry`; this plugin adds the command (hook ``orbitwin_cli``) and a
line to ``orbitwin info`` for a store that holds residuals (hook ``orbitwin_summary``).

The residuals go to the group ``residuals/`` of the run's store (replacing one written
before; the store is locked while they are written, so a run cannot be writing it), or
with ``--output OUT.zarr`` to ``OUT.zarr/residuals/``, a zarr store of its own (created,
or replaced when an earlier ``orbitwin compare --output`` wrote it; anything else there is
refused).
"""

from __future__ import annotations

import math
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from twin_core import hookimpl
from twin_core.errors import UserError

#: Root attribute of a store that ``--output`` wrote (value: layout version).
MARKER = "orbitwin_residuals"


def open_run(path: str | Path) -> Any:
    """The root group of the complete run store at ``path`` (read-only), holding
    per-satellite records; a `UserError` naming the path otherwise."""
    import zarr

    from twin_core.storedir import is_orbitwin_store
    from twin_core.sweepstore import is_sweep_store

    p = Path(path)
    if not p.exists():
        raise UserError(f"{path}: no such store")
    if p.is_dir() and is_sweep_store(p):
        raise UserError(f"{path}: a sweep store (orbitwin sweep); compare one of its runs, e.g. "
                        f"{p / 'runs' / 'case-0000.zarr'}")
    if not is_orbitwin_store(p):
        raise UserError(f"{path}: not an orbitwin store (a folder `orbitwin run --output` wrote)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            root = zarr.open_group(str(p), mode="r")
    except Exception as exc:  # noqa: BLE001 - any failure here means "not readable"
        raise UserError(f"{path}: not a readable orbitwin store ({type(exc).__name__}: {exc})") from None
    if not root.attrs.get("complete"):
        from twin_core.storedir import lock_holder

        holder = lock_holder(p)
        if holder is not None:
            raise UserError(f"{path}: is in use by another orbitwin run ({holder}); compare it when that run "
                            "has finished")
        raise UserError(f"{path}: the run is incomplete ({root.attrs.get('records_written', 0)} of "
                        f"{root.attrs.get('n_records', '?')} records written); finish it with orbitwin run --resume "
                        "before comparing telemetry with it")
    if "sat" not in root or "time" not in root["sat"]:
        raise UserError(f"{path}: the store holds no per-satellite records (group sat/)")
    return root


def _consolidate(path: str | Path) -> None:
    import zarr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr: consolidated metadata is not yet in the v3 spec
        zarr.consolidate_metadata(str(path))


def write_to_run(store: str | Path, res: Any, attributes: dict[str, Any]) -> str:
    """Write ``res`` into the run's own store, locked; returns where."""
    import zarr

    from orbitwin_plugins.telemetry import GROUP, write_residuals
    from twin_core.storedir import StoreLock, StoreBusyError

    try:
        lock = StoreLock.acquire(store)
    except StoreBusyError:
        raise
    except UserError as exc:
        raise UserError(f"{exc}; write the residuals elsewhere with --output OUT.zarr") from None
    with lock:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            root = zarr.open_group(str(store), mode="r+", use_consolidated=False)
            write_residuals(root, res, attributes)
        _consolidate(store)
    return f"{store}/{GROUP}"


def write_to_output(output: str | Path, store: str | Path, res: Any, attributes: dict[str, Any]) -> str:
    """Write ``res`` to a store of its own at ``output`` (module docstring); returns where."""
    import json

    import zarr

    from orbitwin_plugins.telemetry import GROUP, write_residuals
    from twin_core.storedir import is_orbitwin_store

    out, run = Path(output), Path(store)
    if out.resolve() == run.resolve() or run.resolve() in out.resolve().parents:
        raise UserError(f"--output {output}: inside the run's store; leave --output out to write the residuals "
                        f"into {store}/{GROUP}")
    if out.exists() or out.is_symlink():
        if not out.is_dir() or out.is_symlink():
            raise UserError(f"--output {output}: exists and is not a folder; choose another path")
        try:
            ours = MARKER in json.loads((out / "zarr.json").read_text()).get("attributes", {})
        except (OSError, ValueError, AttributeError):
            ours = False
        if is_orbitwin_store(out):
            raise UserError(f"--output {output}: is a run's store; compare that run without --output to add "
                            "residuals to it, or choose another path")
        if not ours and any(out.iterdir()):
            raise UserError(f"--output {output}: exists and was not written by orbitwin compare; choose another "
                            "path (only an earlier compare's output is replaced)")
        shutil.rmtree(out)
    elif not out.resolve().parent.is_dir():
        raise UserError(f"--output {output}: the folder {out.resolve().parent} does not exist; create it first")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            root = zarr.open_group(str(out), mode="w", zarr_format=3)
            root.attrs.update({MARKER: 1, "run": str(run.resolve()), "title": f"residuals of {run.name}",
                               "epoch": str(res.run.epoch)})
            write_residuals(root, res, attributes)
    except OSError as exc:
        raise UserError(f"--output {output}: cannot write: {exc.strerror or exc}") from None
    _consolidate(out)
    return f"{output}/{GROUP}"


def _fmt(x: float) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x:,.4g}" if abs(x) < 1e6 else f"{x:.4g}"


def _warn(text: str) -> None:
    import click

    click.echo(f"orbitwin: warning: {text}", err=True)


def _command() -> Any:
    import click

    @click.command("compare")
    @click.argument("store", type=click.Path())
    @click.argument("telemetry", type=click.Path())
    @click.option("--output", "-o", type=click.Path(), default=None, metavar="OUT.zarr",
                  help="Write the residuals to OUT.zarr/residuals instead of the run's store (an earlier "
                       "compare's output there is replaced, nothing else).")
    @click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON object.")
    @click.option("--top", type=click.IntRange(min=1), default=10, show_default=True,
                  help="Rows in each table (and in each list of the JSON).")
    def compare(store: str, telemetry: str, output: str | None, as_json: bool, top: int) -> None:
        """Compare TELEMETRY (CSV, or Parquet with pyarrow; columns time or time_s,
        satellite, variable, value) with the run in STORE: residuals, telemetry minus the
        run's prediction interpolated to the telemetry's times, per satellite and
        variable, with the satellites that diverge most. Writes STORE/residuals (or
        --output). Format and rules: docs/telemetry.md."""
        import json

        from orbitwin_plugins import telemetry as tm
        from twin_core import telemetry as tr
        from twin_core.telemetry import _iso
        from twin_core import __version__

        root = open_run(store)
        run = tr.run_view(root, store)
        tel = tr.read_telemetry(telemetry, run)
        if tel.skipped_outside:
            line, when = tel.outside_first
            _warn(f"{telemetry}: {tel.skipped_outside} of {tel.n_rows} rows lie outside the run "
                  f"({_iso(run.epoch, run.times_s[0])} to {_iso(run.epoch, run.times_s[-1])} UTC) and are "
                  f"skipped (first: {tel.where_word} {line}, {when})")
        res = tm.compute_residuals(run, tel)
        for reason, what in (("inactive", "whose satellite is not active (sat.active 0) around them"),
                             ("no_prediction", "whose prediction is not finite")):
            if res.skipped[reason]:
                _warn(f"{telemetry}: {res.skipped[reason]} rows {what} are skipped")
        for note in res.notes:
            _warn(note)
        import datetime as dt

        attributes = {"run": str(Path(store).resolve()), "orbitwin_version": __version__,
                      "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        where = (write_to_output(output, store, res, attributes) if output
                 else write_to_run(store, res, attributes))
        if as_json:
            click.echo(json.dumps({"store": store, "written": where, **tm.to_json(res, top)}, indent=2))
        else:
            print_report(store, res, where, top)

    return compare


def print_report(store: str, res: Any, where: str, top: int) -> None:
    """The rich tables of ``orbitwin compare`` (house style of ``orbitwin cost``)."""
    from rich.markup import escape

    from orbitwin_plugins.telemetry import METHODS
    from twin_core.telemetry import _iso
    from twin_core.cli.common import make_console, make_table

    con = make_console()
    run, tel = res.run, res.telemetry
    h = float(np.median(np.diff(run.times_s)))
    skipped = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in res.skipped.items() if n)
    con.print(f"[bold]{escape(store)}[/bold]: {run.n_sats} satellites, records every {h:g} s, "
              f"{_iso(run.epoch, run.times_s[0])} to {_iso(run.epoch, run.times_s[-1])} UTC")
    con.print(f"[bold]{escape(tel.path)}[/bold]: {tel.n_rows:,} rows, {res.residual.size:,} compared"
              + (f" ({escape(skipped)} skipped)" if skipped else "")
              + f", {res.sats.size} satellites, {len(tel.var_names)} variables")
    label = lambda i: escape(run.sat_label(int(res.sats[i])))  # noqa: E731
    nr = res.normalised_rms

    t = make_table("satellites that diverge most: largest RMS / scale over their variables")
    for col in ("satellite", "variable", "RMS / scale", "RMS", "units"):
        t.add_column(col, justify="left" if col in ("satellite", "variable", "units") else "right",
                     no_wrap=col == "variable")
    for i, j, v in res.satellites()[:top]:
        t.add_row(label(i), escape(res.names[j]), _fmt(v), _fmt(res.rms[i, j]), escape(res.units[j]))
    con.print(t)

    t = make_table("largest divergences by satellite and variable (RMS / scale; vectors by their norm)")
    for col in ("satellite", "variable", "count", "mean", "RMS", "max |r|", "units", "RMS / scale"):
        t.add_column(col, justify="left" if col in ("satellite", "variable", "units") else "right",
                     no_wrap=col == "variable")
    for i, j in res.divergences()[:top]:
        t.add_row(label(i), escape(res.names[j]), f"{int(res.count[i, j]):,}", _fmt(res.mean[i, j]),
                  _fmt(res.rms[i, j]), _fmt(res.max_abs[i, j]), escape(res.units[j]), _fmt(nr[i, j]))
    con.print(t)

    t = make_table("per variable: the satellites that diverge most, by RMS; the interpolation and its "
                   "error at the record interval (an upper estimate)")
    for col in ("variable", "units", "scale", "interpolation", "error", "satellites: RMS"):
        t.add_column(col, justify="right" if col in ("scale", "error") else "left", overflow="fold",
                     no_wrap=col == "variable")
    short = lambda i: escape(run.names[int(res.sats[i])] if run.names and run.names[int(res.sats[i])]  # noqa: E731
                             else f"#{int(res.sats[i])}")
    for j, name in enumerate(res.names):
        ranked = res.ranking(j)
        sats = ", ".join(f"{short(i)}: {_fmt(res.rms[i, j])}" for i in ranked[:3])
        if len(ranked) > 3:
            sats += f", +{len(ranked) - 3}"
        t.add_row(escape(name), escape(res.units[j]), _fmt(res.scale[j]), res.interpolation[j],
                  "<= " + _fmt(res.interp_error[j]) if math.isfinite(res.interp_error[j]) else "-", sats)
    con.print(t)

    t = make_table("largest residuals (|residual| / scale)")
    for col in ("time (UTC)", "satellite", "variable", "telemetry", "prediction", "residual", "method",
                tel.where_word):
        t.add_column(col, justify="left" if col in ("time (UTC)", "satellite", "variable", "method") else "right",
                     no_wrap=col == "variable")
    for r in res.largest_rows(top):
        i = int(np.searchsorted(res.sats, res.sat[r]))
        t.add_row(_iso(run.epoch, res.time_s[r]), label(i), escape(res.names[res.var[r]]),
                  _fmt(res.telemetry_value[r]), _fmt(res.prediction[r]), _fmt(res.residual[r]),
                  METHODS[int(res.method[r])], str(int(res.line[r])))
    con.print(t)
    con.print(f"  written: {escape(where)} (rows, vectors, summary, ranking; docs/telemetry.md)")


@hookimpl
def orbitwin_cli(group: Any) -> None:
    group.add_command(_command())


@hookimpl
def orbitwin_summary(store: Any) -> list[tuple[str, str]] | None:
    """One line for ``orbitwin info`` when the store holds residuals."""
    from orbitwin_plugins.telemetry import GROUP

    if GROUP not in store:
        return None
    a = store[GROUP].attrs
    if not a.get("complete"):
        return [("residuals", "incomplete (orbitwin compare was interrupted; run it again)")]
    name = Path(str(a.get("telemetry", "?"))).name
    return [("residuals", f"{int(a.get('rows_compared', 0)):,} telemetry rows of {name} compared (orbitwin compare; "
             "group residuals/)")]


__all__ = ["MARKER", "open_run", "print_report", "write_to_output", "write_to_run"]
