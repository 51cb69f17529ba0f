"""The run's zarr v3 store: its layout, creation, checkpoints and completion.

Layout (read with ``xarray.open_zarr(path, group=...)``, no orbitwin import needed)::

    run.zarr/
      time                     (time,)       CF-encoded: int64 ms since the epoch
      sat/time, sat/sat        coordinates; sat/plane, sat/shell (sat,) coordinates
      sat/<variable>           (time, sat) or (time, sat, xyz)
      constellation/time       every step (or every record: [output] metrics_every_step)
      constellation/<metric>   (time,)
      common/<series>          (time,) or (time, xyz): quantities shared by all satellites
      <axis>/link, link_a, link_b  (link,) a link axis's slots and their endpoints
                               (satellite indices, -1 for an unused slot; `twin_core.Axis`)
      <axis>/<variable>        (time, link), chunked as the satellites' chunks times slots
      partials/<metric>        (time, chunk) per-chunk partial totals (sharded runs only)
      checkpoint/shard-K-a.npz, checkpoint/shard-K-b.npz
                               the full state of shard K at its last two checkpoints
      checkpoint-shard-K.json  which slot holds shard K's last consistent checkpoint
      .orbitwin.lock           the running run's lock (`twin_core.storedir`)
      attrs: orbitwin_store (marker), orbitwin_version, scenario (the TOML text),
             scenario_path, plugins, plugin_set, backend, seed, n_records,
             records_written, complete, ...

Every array is sized for the whole run when the store is created and filled with NaN
(floats), -1 (signed integers) or the largest value of an unsigned type (255 for ``u8``),
each array's zarr ``fill_value``, so a reader of an unfinished run sees missing values,
never stale ones. ``complete`` becomes true only after the last chunk is written.

Crash safety: zarr's local store writes every chunk to a temporary file and renames it
into place, so a chunk on disk is either old or new, never torn. A checkpoint is written
after the data chunks it covers, into the slot that does not hold the current checkpoint,
and is committed by atomically replacing the small pointer file
``checkpoint-shard-K.json``. A crash at any instant therefore leaves the previous
consistent checkpoint or the new one. (No ``fsync``: this protects against a killed or
pre-empted process, not against the host losing power.)
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from twin_core.engine import RunLayout
from twin_core.errors import UserError
from twin_core.storedir import MARKER, STORE_LAYOUT_VERSION

TIME_UNITS_PREFIX = "milliseconds since "
POINTER = "checkpoint-shard-{:03d}.json"


def _fill_for(dtype: np.dtype) -> Any:
    """The value of a record not written yet: NaN for floats, -1 for signed integer
    codes, and for unsigned ones, which have no -1, their largest value (255 for ``u8``).

    It is the zarr array's own ``fill_value`` (xarray keeps it in ``.encoding``) and is
    not repeated as a CF ``_FillValue`` attribute: xarray would then decode every integer
    code (``payload.state``) to floats with NaN, where readers compare codes as integers.
    """
    if dtype.kind == "f":
        return np.nan
    if dtype.kind == "u":
        return int(np.iinfo(dtype).max)
    return -1


def time_attrs(layout: RunLayout) -> dict[str, Any]:
    epoch = layout.scenario.run.epoch.strftime("%Y-%m-%dT%H:%M:%S")
    return {"units": TIME_UNITS_PREFIX + epoch, "calendar": "proleptic_gregorian",
            "standard_name": "time", "description": "time of the sample (UTC)"}


def metric_chunk(layout: RunLayout) -> int:
    """Samples per chunk of the constellation arrays."""
    return int(min(layout.metric_times_s.shape[0], 1 << 16))


def create_store(path: str | Path, layout: RunLayout, *, n_shards: int = 1,
                 attrs: dict[str, Any] | None = None) -> Any:
    """Create the store for the whole constellation of ``layout`` at ``path`` (an empty
    or new directory: runs create it aside and rename it into place, `twin_core.storedir`)
    and return its root group. Coordinates and times are written; every data array is
    empty (fill values)."""
    import zarr

    path = Path(path)
    plan, run = layout.plan, layout.scenario.run
    n_rec, n_tot = layout.n_records, layout.n_total
    cr, cs = plan.chunk_records, plan.chunk_sats
    if (path / "zarr.json").exists():
        raise UserError(f"{path} already holds a zarr store")
    try:  # "a", not "w-": the fresh directory already holds the creating run's lock file
        root = zarr.open_group(str(path), mode="a", zarr_format=3)
    except OSError as exc:
        raise UserError(f"cannot create {path}: {exc.strerror or exc}") from None
    root.attrs.update({
        MARKER: STORE_LAYOUT_VERSION,
        "title": run.name or Path(layout.scenario.path).stem,
        "description": run.description,
        "scenario": layout.scenario.text,
        "scenario_path": str(layout.scenario.path),
        "epoch": run.epoch.isoformat(),
        "step_s": run.step_s,
        "record_every_s": run.record_every_s,
        "seed": run.seed,
        "satellite_mass_kg": layout.plan.satellite_mass_kg,
        "backend": layout.backend,
        "plugins": layout.plugins,
        "n_sats": n_tot,
        "n_records": n_rec,
        "n_shards": n_shards,
        "records_written": 0,
        "complete": False,
        **(attrs or {}),
    })
    tattrs = time_attrs(layout)
    time_ms = np.round(layout.times_s * 1000.0).astype(np.int64)
    metric_ms = np.round(layout.metric_times_s * 1000.0).astype(np.int64)
    for group_path in ("", "sat", "constellation", "common"):
        grp = root if not group_path else root.create_group(group_path)
        grp.create_array("time", data=metric_ms if group_path == "constellation" else time_ms,
                         dimension_names=("time",), attributes=tattrs, fill_value=np.iinfo(np.int64).min)
    sat = root["sat"]
    sats = plan.satellites
    for name, data, desc in (("sat", np.arange(n_tot, dtype=np.int32), "satellite index in the constellation"),
                             ("plane", sats.plane.astype(np.int32), "orbital plane index"),
                             ("shell", sats.shell.astype(np.int32), "shell or group index")):
        sat.create_array(name, data=data, dimension_names=("sat",), attributes={"units": "1", "description": desc})
    if sats.catalog_number is not None:
        sat.create_array("catalog_number", data=np.asarray(sats.catalog_number, np.int64), dimension_names=("sat",),
                         attributes={"units": "1", "description": "NORAD catalog number (-1: none)"})
    if sats.name is not None:
        names = sat.create_array("name", shape=(n_tot,), dtype=str, chunks=(max(1, n_tot),),
                                 dimension_names=("sat",), attributes={"units": "1", "description": "satellite name"})
        names[:] = np.asarray(sats.name, dtype=object)
    for v in layout.variables:
        dims = ("time", "sat") + (("xyz",) if v.shape else ())
        attrs_ = {"units": v.units, "description": v.description, "long_name": v.description,
                  "plugin": layout.owners.get(v.name, ""), "coordinates": "plane shell"}
        if v.flags:
            attrs_["flag_values"] = [int(k) for k in v.flags]
            attrs_["flag_meanings"] = " ".join(s.replace(" ", "_") for s in v.flags.values())
        sat.create_array(v.name, shape=(n_rec, n_tot) + tuple(v.shape), dtype=v.numpy_dtype,
                         chunks=(cr, cs) + tuple(v.shape), fill_value=_fill_for(v.numpy_dtype),
                         dimension_names=dims, attributes=attrs_)
    for ax_plugin, ax in plan.axes:
        grp = root.create_group(ax.name)
        grp.attrs.update({"description": ax.description, "slots_per_sat": ax.slots, "plugin": ax_plugin})
        grp.create_array("time", data=time_ms, dimension_names=("time",), attributes=tattrs,
                         fill_value=np.iinfo(np.int64).min)
        k = ax.slots
        owner = np.repeat(np.arange(n_tot, dtype=np.int64), k)
        far = ax.targets.reshape(-1)
        for name, data, desc in (
                (ax.name, np.arange(ax.length, dtype=np.int64), f"{ax.name} slot index (satellite index x {k} + slot)"),
                (f"{ax.name}_a", np.where(far >= 0, owner, -1), "satellite owning the slot (-1: unused slot)"),
                (f"{ax.name}_b", far, "satellite at the far end (-1: unused slot)")):
            grp.create_array(name, data=data, chunks=(cs * k,), dimension_names=(ax.name,),
                             attributes={"units": "1", "description": desc})
    for v in layout.axis_variables:
        k = plan.axis(v.axis).slots
        dims = ("time", v.axis) + (("xyz",) if v.shape else ())
        attrs_ = {"units": v.units, "description": v.description, "long_name": v.description,
                  "plugin": layout.owners.get(v.name, ""), "coordinates": f"{v.axis}_a {v.axis}_b"}
        if v.flags:
            attrs_["flag_values"] = [int(key) for key in v.flags]
            attrs_["flag_meanings"] = " ".join(m.replace(" ", "_") for m in v.flags.values())
        root[v.axis].create_array(v.name, shape=(n_rec, n_tot * k) + tuple(v.shape), dtype=v.numpy_dtype,
                                  chunks=(cr, cs * k) + tuple(v.shape), fill_value=_fill_for(v.numpy_dtype),
                                  dimension_names=dims, attributes=attrs_)
    n_met, mc = layout.metric_times_s.shape[0], metric_chunk(layout)
    for m in layout.metrics:
        root["constellation"].create_array(
            m.name, shape=(n_met,), dtype=np.float64, chunks=(mc,), fill_value=np.nan, dimension_names=("time",),
            attributes={"units": m.units, "description": m.description, "reduce": m.reduce,
                        "variable": m.variable})
        if n_shards > 1:
            root.require_group("partials").create_array(
                m.name, shape=(n_met, plan.n_chunks), dtype=np.float64, chunks=(mc, 1), fill_value=np.nan,
                dimension_names=("time", "chunk"), attributes={"description": f"per-chunk partial of {m.name}"})
    for c in layout.common:
        root["common"].create_array(
            c.name, shape=(n_rec,) + tuple(c.shape), dtype=np.float64, chunks=(max(cr, 1024),) + tuple(c.shape),
            fill_value=np.nan, dimension_names=("time",) + (("xyz",) if c.shape else ()),
            attributes={"units": c.units, "description": c.description})
    (path / "checkpoint").mkdir()
    return root


# -- checkpoints ----------------------------------------------------------------------


def read_pointer(path: str | Path, shard: int) -> dict[str, Any] | None:
    """Shard ``shard``'s last committed checkpoint (``{"record": R, "slot": "a"}``), or None."""
    p = Path(path) / POINTER.format(shard)
    try:
        return json.loads(p.read_text())
    except FileNotFoundError:
        return None


def write_pointer(path: str | Path, shard: int, pointer: dict[str, Any]) -> None:
    """Commit a checkpoint: write the pointer to a temporary file and rename it in place."""
    p = Path(path) / POINTER.format(shard)
    tmp = p.with_suffix(".json.partial")
    tmp.write_text(json.dumps(pointer))
    os.replace(tmp, p)


def records_written(path: str | Path, n_shards: int) -> int:
    """Records every shard has committed (0 before the first checkpoint)."""
    got = []
    for k in range(n_shards):
        ptr = read_pointer(path, k)
        got.append(0 if ptr is None else int(ptr["record"]) + 1)
    return min(got) if got else 0


def mark_complete(path: str | Path, backend: str | None = None) -> None:
    """Set ``complete`` (after every chunk is on disk) and write consolidated metadata."""
    import zarr

    root = zarr.open_group(str(path), mode="r+")
    updates: dict[str, Any] = {"complete": True, "records_written": int(root.attrs["n_records"])}
    if backend:
        updates["backend"] = backend
    root.attrs.update(updates)
    if "error" in root.attrs:
        del root.attrs["error"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr: consolidated metadata is not yet in the v3 spec
        zarr.consolidate_metadata(str(path))
