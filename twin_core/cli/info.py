"""``orbitwin info``: what a run's store holds and how far the run got, as text that
follows the terminal's width or as JSON for scripts (``--json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from twin_core.cli.common import plugin_option
from twin_core.errors import PluginError, UserError

GROUPS = ("sat", "constellation", "common")
GROUP_MEANING = {"sat": "per satellite, per record", "constellation": "totals over satellites",
                 "common": "one for all satellites, per record"}
COORDINATES = ("time", "sat", "plane", "shell")


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


def _sweep_summary(path: str, as_json: bool) -> None:
    """A sweep store (``orbitwin sweep``): its cases, their states, the varied keys and
    the range of each case result."""
    import numpy as np
    import zarr

    root = zarr.open_group(path, mode="r")
    a = dict(root.attrs)
    status = np.asarray(root["status"][...])
    keys = [k for k in a.get("vary_keys", []) if k in root]
    results = sorted(n for n, arr in root.arrays() if arr.shape == status.shape and n not in
                     {"case", "status", "error", "wall_s", "tornado_key", "tornado_side", *keys})
    d = {"store": path, "kind": "sweep", "n_cases": int(status.size), "done": int((status == 1).sum()),
         "failed": int((status == 2).sum()), "pending": int((status == 0).sum()), "complete": bool(a.get("complete")),
         "varied": {k: np.asarray(root[k][...]).tolist() for k in keys},
         "results": {}}
    for name in results:
        v = np.asarray(root[name][...], dtype=np.float64)[status == 1]
        v = v[np.isfinite(v)]
        d["results"][name] = {"units": root[name].attrs.get("units", ""), "min": float(v.min()) if v.size else None,
                              "max": float(v.max()) if v.size else None}
    if as_json:
        click.echo(json.dumps(d, indent=2))
        return
    click.echo(f"{path}: a sweep of {d['n_cases']} cases: {d['done']} done, {d['failed']} failed, {d['pending']} "
               f"pending ({'complete' if d['complete'] else 'INCOMPLETE: continue it with orbitwin sweep --resume'})")
    for k, vals in d["varied"].items():
        shown = ", ".join(f"{x:g}" if isinstance(x, float) else str(x) for x in vals[:8])
        click.echo(f"  varied {k}: {shown}" + (f", ... ({len(vals)} values)" if len(vals) > 8 else ""))
    for name, r in d["results"].items():
        span = "no finite value" if r["min"] is None else f"{r['min']:.6g} .. {r['max']:.6g} {r['units']}".rstrip()
        click.echo(f"  {name}: {span}")
    click.echo("  open it with xarray.open_zarr(...); each case's run store is runs/case-NNNN.zarr inside it "
               "(docs/sweeps.md)")


def _iso(t) -> str:
    """A numpy datetime as ISO 8601 to the second, or to the millisecond when it has them."""
    text = str(t.astype("datetime64[ms]"))
    return text[:-4] if text.endswith(".000") else text


def _time_span(attrs) -> dict[str, Any]:
    import numpy as np

    epoch = np.datetime64(attrs["epoch"][:19], "ms")
    n = int(attrs["n_records"])
    every = float(attrs["record_every_s"])
    end = epoch + np.timedelta64(int(round((n - 1) * every * 1000)), "ms")
    return {"start": _iso(epoch), "end": _iso(end), "n_records": n, "record_every_s": every,
            "step_s": float(attrs["step_s"])}


def _axis_groups(root) -> list[str]:
    """Groups of the axes plugins declared (``link``): they carry ``slots_per_sat``."""
    return sorted(name for name, grp in root.groups() if "slots_per_sat" in grp.attrs)


def _variables(root) -> list[dict[str, Any]]:
    """Every data array of the store with its group, plugin, dimensions, shape, units and
    description (coordinates left out)."""
    plugins = dict(root.attrs.get("plugins", {}))
    sat_owner = {n: str(a.attrs.get("plugin", "")) for n, a in root["sat"].arrays()} if "sat" in root else {}
    out = []
    for group in GROUPS + tuple(_axis_groups(root)):
        if group not in root:
            continue
        skip = set(COORDINATES) | {group, f"{group}_a", f"{group}_b"}
        for name, arr in sorted(root[group].arrays()):
            if name in skip:
                continue
            out.append({"group": group, "name": name, "plugin": _owner(name, arr.attrs, sat_owner, plugins),
                        "dims": list(arr.metadata.dimension_names or ()), "shape": list(arr.shape),
                        "units": str(arr.attrs.get("units", "")),
                        "description": str(arr.attrs.get("description", ""))})
    return out


def _owner(name: str, attrs, sat_owner: dict[str, str], plugins: dict[str, str]) -> str:
    """The plugin that declared an array: its ``plugin`` attribute (per-satellite
    variables), the plugin of the variable a constellation metric reduces, or the
    ``plugin.`` prefix of its name (common series)."""
    if attrs.get("plugin"):
        return str(attrs["plugin"])
    if sat_owner.get(str(attrs.get("variable", ""))):
        return sat_owner[str(attrs["variable"])]
    prefix = name.split(".", 1)[0]
    return prefix if prefix in plugins else ""


def _summary_rows(root, plugins: tuple[str, ...]) -> list[tuple[str, str]]:
    from twin_core.cli.common import build_plugin_manager

    pm = build_plugin_manager(plugins, ())
    try:
        return [(str(label), str(value)) for _p, rs in pm.call("orbitwin_summary", store=root) for label, value in rs]
    except PluginError as exc:
        click.echo(f"orbitwin: warning: summary rows left out: {exc}", err=True)
        return []


def describe(store: str, root, plugins: tuple[str, ...] = ()) -> dict[str, Any]:
    """What ``info`` reports about the store at ``store``, as a JSON-ready dict. Plugins
    are those that declared something in the store (with their versions); a plugin that
    was loaded but wrote nothing (the payload plugin without a [payload] table) is not
    one of them."""
    from twin_core.store import records_written
    from twin_core.storedir import lock_holder

    attrs = root.attrs
    holder = lock_holder(store)  # "pid N on HOST since T" while a run holds the store
    n_rec = int(attrs["n_records"])
    complete = bool(attrs.get("complete"))
    written = n_rec if complete else records_written(store, int(attrs.get("n_shards", 1)))
    variables = _variables(root)
    versions = dict(attrs.get("plugins", {}))
    declaring = {v["plugin"] for v in variables if v["plugin"]}
    declaring |= {name for name in versions if name in root}  # a plugin's own group (launch/)
    versions.setdefault("core", str(attrs.get("orbitwin_version", "?")))  # the engine's own (sat.active)
    return {
        "path": store, "title": str(attrs.get("title", "")), "complete": complete,
        "status": "complete" if complete else ("running" if holder else "incomplete"),
        "running": holder, "error": None if complete else attrs.get("error"),
        "records_written": written, "n_records": n_rec, "n_sats": int(attrs["n_sats"]),
        "n_shards": int(attrs.get("n_shards", 1)), "time": _time_span(attrs), "backend": attrs.get("backend"),
        "orbitwin_version": attrs.get("orbitwin_version"),
        "plugins": {name: versions.get(name, "?") for name in sorted(declaring)},
        "variables": variables,
        "summary": [{"quantity": q, "value": v} for q, v in _summary_rows(root, plugins)],
    }


@click.command()
@click.argument("store", type=click.Path())
@plugin_option
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object (path, status, records, satellites, time span, backend, versions, "
                   "plugins, variables, summary rows) for scripts.")
def info(store: str, plugins: tuple[str, ...], as_json: bool) -> None:
    """Summarise STORE, a run written by `orbitwin run`: dimensions, variables with units,
    time span, backend, whether it is complete, and each plugin's summary rows. Plugins
    given with --plugin add their summary rows."""
    import warnings

    from twin_core.sweepstore import is_sweep_store

    with warnings.catch_warnings():  # zarr names the lock and checkpoint files it lists but does not read
        warnings.filterwarnings("ignore", message=".*is not recognized as a component of a Zarr hierarchy.*")
        if Path(store).exists() and is_sweep_store(store):
            _sweep_summary(store, as_json)
            return
        d = describe(store, _open(store), plugins)
    if as_json:
        click.echo(json.dumps(d, indent=2))
        return
    _print(d)


def _status(d: dict[str, Any]) -> str:
    if d["complete"]:
        return "complete"
    if d["running"]:
        return (f"RUNNING: {d['records_written']} of {d['n_records']} records written so far, by the orbitwin run "
                f"holding it ({d['running']})")
    text = (f"INCOMPLETE: {d['records_written']} of {d['n_records']} records written; continue it with "
            "orbitwin run --resume")
    return text + (f" (stopped by {d['error']})" if d["error"] else "")


def _print(d: dict[str, Any]) -> None:
    """The report as text, as wide as the terminal: a row per fact, then the variables
    (description under the name, so that the table fits 80 columns), then the summary."""
    from rich.console import Group as RenderGroup
    from rich.markup import escape
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    from twin_core.cli.common import make_console, make_table

    con = make_console()
    t = d["time"]
    con.print(f"[bold]{escape(d['path'])}[/bold]: {escape(d['title'])}")
    facts = Table.grid()  # "  label:      value", a long value wrapping under itself
    facts.add_column(no_wrap=True)
    facts.add_column()
    for label, value in (
            ("status:", _status(d)),
            ("satellites:", str(d["n_sats"])),
            ("time:", f"{t['start']} to {t['end']} UTC, {t['n_records']} records every "
                      f"{t['record_every_s']:g} s (step {t['step_s']:g} s)"),
            ("backend:", f"{d['backend']}   orbitwin {d['orbitwin_version'] or '?'}"),
            ("plugins:", ", ".join(f"{k} {v}" for k, v in d["plugins"].items()) or "none declared a variable")):
        facts.add_row("  " + label.ljust(13), escape(value))
    con.print(facts)
    table = make_table("variables")
    table.add_column("name / description", ratio=1)
    table.add_column("dimensions")
    table.add_column("units")
    group = None
    for v in d["variables"]:
        if v["group"] != group:
            group = v["group"]
            meaning = GROUP_MEANING.get(group, f"per {group} slot ({group}_a to {group}_b), per record")
            table.add_row(f"[bold]{group}[/bold] [dim]({meaning})[/dim]")
        name = RenderGroup(Text(v["name"], overflow="fold"), Text(v["description"], style="dim"))
        dims = " x ".join(f"{dim} {n}" for dim, n in zip(v["dims"], v["shape"]))
        table.add_row(Padding(name, (0, 0, 0, 2)), Text(dims), Text(v["units"]))
    con.print(table)
    if d["summary"]:
        summary = make_table("summary")
        summary.add_column("quantity")
        summary.add_column("value")
        for row in d["summary"]:
            summary.add_row(escape(row["quantity"]), escape(row["value"]))
        con.print(summary)
