"""The run's zarr v3 store and the writer thread that fills it.

Layout (read with ``xarray.open_zarr(path, group=...)``, no orbitwin import needed)::

    run.zarr/
      time                     (time,)          CF-encoded: int64 ms since the epoch
      sat/time, sat/sat        coordinates; sat/plane, sat/shell (sat,) coordinates
      sat/<variable>           (time, sat) or (time, sat, xyz)
      constellation/<metric>   (time,)
      common/<series>          (time,) or (time, xyz)   quantities shared by all satellites
      attrs: orbitwin_version, scenario (the TOML text), scenario_path, plugins, backend,
             seed, n_records, records_written, complete

Every array has ``dimension_names``, ``units`` and ``description``. Every array is sized
for the whole run when the store is created and filled with NaN (floats) or the code
``-1`` (integers), so a reader of an unfinished run sees missing values, never stale ones;
``records_written`` says how far it got and ``complete`` is set to true only after the
last chunk is on disk.

Records are buffered into chunks of ``chunk_records`` along time; a full chunk goes to a
writer thread through a queue of depth two, so the kernel computes the next chunk while
the previous one is compressed and written (double buffering). An error on the writer
thread (disk full, permission denied) is raised in the run's thread at the next record.
"""

from __future__ import annotations

import json
import queue
import threading
from pathlib import Path
from typing import Any

import numpy as np

from twin_core.engine import RunLayout
from twin_core.errors import UserError
from twin_core.metrics import finalize

TIME_UNITS_PREFIX = "milliseconds since "


def _fill_for(dtype: np.dtype) -> Any:
    return np.nan if dtype.kind == "f" else -1


def time_attrs(layout: RunLayout) -> dict[str, Any]:
    epoch = layout.scenario.run.epoch.strftime("%Y-%m-%dT%H:%M:%S")
    return {"units": TIME_UNITS_PREFIX + epoch, "calendar": "proleptic_gregorian",
            "standard_name": "time", "description": "time of the record (UTC)"}


class ZarrSink:
    """Write a run into a new zarr v3 store (see module docstring).

    Args:
        path: the store directory.
        overwrite: replace an existing store; without it an existing path is an error.
        versions: extra root attributes (orbitwin and plugin versions are added by the
            caller).
    """

    def __init__(self, path: str | Path, overwrite: bool = False, attrs: dict[str, Any] | None = None):
        self.path = Path(path)
        self.overwrite = overwrite
        self.extra_attrs = attrs or {}
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._buffers: dict[str, dict[str, np.ndarray]] = {}
        self._chunk_start = 0
        self._filled = 0

    # -- creation ---------------------------------------------------------------------

    def begin(self, layout: RunLayout) -> None:
        import zarr

        if self.path.exists() and not self.overwrite:
            raise UserError(f"{self.path} exists; pass --overwrite to replace it")
        self.layout = layout
        run = layout.scenario.run
        plan = layout.plan
        n_rec, n_tot = layout.n_records, layout.n_total
        cr, cs = plan.chunk_records, plan.chunk_sats
        self.chunk_records = cr
        try:
            root = zarr.open_group(str(self.path), mode="w" if self.overwrite else "w-", zarr_format=3)
        except (FileExistsError, zarr.errors.ContainsGroupError, zarr.errors.ContainsArrayError):
            raise UserError(f"{self.path} exists; pass --overwrite to replace it") from None
        except OSError as exc:
            raise UserError(f"cannot create {self.path}: {exc.strerror or exc}") from None
        self.root = root
        root.attrs.update({
            "title": run.name or Path(layout.scenario.path).stem,
            "description": run.description,
            "scenario": layout.scenario.text,
            "scenario_path": str(layout.scenario.path),
            "epoch": run.epoch.isoformat(),
            "step_s": run.step_s,
            "record_every_s": run.record_every_s,
            "seed": run.seed,
            "backend": layout.backend,
            "plugins": layout.plugins,
            "n_sats": n_tot,
            "n_records": n_rec,
            "records_written": 0,
            "complete": False,
            **self.extra_attrs,
        })
        time_ms = np.round(layout.times_s * 1000.0).astype(np.int64)
        tattrs = time_attrs(layout)
        metric_ms = np.round(layout.metric_times_s * 1000.0).astype(np.int64)
        for group_path in ("", "sat", "constellation", "common"):
            grp = root if not group_path else root.create_group(group_path)
            grp.create_array("time", data=metric_ms if group_path == "constellation" else time_ms,
                             dimension_names=("time",), attributes=tattrs, fill_value=np.iinfo(np.int64).min)
        sat = root["sat"]
        sat.create_array("sat", data=np.arange(n_tot, dtype=np.int32), dimension_names=("sat",),
                         attributes={"units": "1", "description": "satellite index in the constellation"})
        sat.create_array("plane", data=layout.plan.satellites.plane.astype(np.int32), dimension_names=("sat",),
                         attributes={"units": "1", "description": "orbital plane index"})
        sat.create_array("shell", data=layout.plan.satellites.shell.astype(np.int32), dimension_names=("sat",),
                         attributes={"units": "1", "description": "shell or group index"})
        self.arrays: dict[str, Any] = {}
        for v in layout.variables:
            shape = (n_rec, n_tot) + tuple(v.shape)
            dims = ("time", "sat") + (("xyz",) if v.shape else ())
            attrs_ = {"units": v.units, "description": v.description, "long_name": v.description,
                      "plugin": layout.owners.get(v.name, ""), "coordinates": "plane shell"}
            if v.flags:
                attrs_["flag_values"] = [int(k) for k in v.flags]
                attrs_["flag_meanings"] = " ".join(s.replace(" ", "_") for s in v.flags.values())
            self.arrays[f"sat/{v.name}"] = sat.create_array(
                v.name, shape=shape, dtype=v.numpy_dtype, chunks=(cr, cs) + tuple(v.shape),
                fill_value=_fill_for(v.numpy_dtype), dimension_names=dims, attributes=attrs_)
        n_met = layout.metric_times_s.shape[0]
        for m in layout.metrics:
            self.arrays[f"constellation/{m.name}"] = root["constellation"].create_array(
                m.name, shape=(n_met,), dtype=np.float64, chunks=(min(n_met, 1 << 16),), fill_value=np.nan,
                dimension_names=("time",),
                attributes={"units": m.units, "description": m.description, "reduce": m.reduce,
                            "variable": m.variable})
        for c in layout.common:
            dims = ("time",) + (("xyz",) if c.shape else ())
            self.arrays[f"common/{c.name}"] = root["common"].create_array(
                c.name, shape=(n_rec,) + tuple(c.shape), dtype=np.float64,
                chunks=(max(cr, 1024),) + tuple(c.shape), fill_value=np.nan, dimension_names=dims,
                attributes={"units": c.units, "description": c.description})
        self._new_buffers()
        self._thread = threading.Thread(target=self._writer, name="orbitwin-writer", daemon=True)
        self._thread.start()

    def _new_buffers(self) -> None:
        lay, cr = self.layout, self.chunk_records
        self._buffers = {
            "sat": {v.name: np.empty((cr, lay.n) + tuple(v.shape), v.numpy_dtype) for v in lay.variables},
            "common": {c.name: np.empty((cr,) + tuple(c.shape)) for c in lay.common},
        }
        self._metric_parts: list[tuple[int, dict[str, np.ndarray]]] = []
        self._filled = 0

    # -- recording --------------------------------------------------------------------

    def metrics(self, first: int, partials: dict[str, np.ndarray]) -> None:
        self._metric_parts.append((first, partials))

    def record(self, index: int, sat: dict[str, np.ndarray], common: dict[str, np.ndarray]) -> None:
        if self._error is not None:
            raise self._wrap(self._error)
        if self._filled == 0:
            self._chunk_start = index
        j = self._filled
        for name, arr in sat.items():
            self._buffers["sat"][name][j] = arr
        for name, val in common.items():
            self._buffers["common"][name][j] = val
        self._filled += 1
        if self._filled == self.chunk_records:
            self._flush()

    def _flush(self) -> None:
        if self._filled == 0:
            return
        self._queue.put((self._chunk_start, self._filled, self._buffers, self._metric_parts))
        self._new_buffers()

    def _writer(self) -> None:
        lay = self.layout
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is not None:
                continue
            start, count, bufs, metric_parts = item
            try:
                self._write_metrics(metric_parts)
                for group, arrays in bufs.items():
                    for name, data in arrays.items():
                        arr = self.arrays[f"{group}/{name}"]
                        if group == "sat":
                            arr[start:start + count, lay.sat_start:lay.sat_stop] = data[:count]
                        else:
                            arr[start:start + count] = data[:count]
                self.root.attrs["records_written"] = start + count
            except BaseException as exc:  # reported in the run's thread
                self._error = exc

    def _write_metrics(self, parts: list[tuple[int, dict[str, np.ndarray]]]) -> None:
        """Combine the chunk partials of a run that holds every chunk, and write them."""
        if not parts:
            return
        first = parts[0][0]
        for m in self.layout.metrics:
            values = np.concatenate([finalize(m, p[m.name], self.layout.n_total) for _f, p in parts])
            self.arrays[f"constellation/{m.name}"][first:first + values.shape[0]] = values

    def _wrap(self, exc: BaseException) -> BaseException:
        if isinstance(exc, OSError):
            return UserError(f"writing {self.path} failed: {exc.strerror or exc}; the store is incomplete "
                             f"({self.root.attrs.get('records_written', 0)} records on disk)")
        return exc

    def _stop_writer(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def finish(self) -> None:
        self._flush()
        self._stop_writer()
        if self._error is not None:
            raise self._wrap(self._error)
        self.root.attrs["complete"] = True
        _consolidate(self.path)

    def abort(self, error: BaseException) -> None:
        """Write what is buffered, stop the writer, leave ``complete`` false."""
        try:
            self._flush()
        finally:
            self._stop_writer()
            try:
                self.root.attrs["error"] = f"{type(error).__name__}: {error}"
            except Exception:  # noqa: BLE001 - the store itself may be what failed
                pass


def _consolidate(path: Path) -> None:
    """Write consolidated metadata so readers open the finished store in one read
    (zarr warns that this is not yet part of the v3 specification; readers that ignore it
    read the arrays' own metadata)."""
    import warnings

    import zarr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zarr.consolidate_metadata(str(path))


def read_summary(path: str | Path) -> dict[str, Any]:
    """Root attributes and array shapes of a run, for ``orbitwin info``."""
    import zarr

    root = zarr.open_group(str(path), mode="r")
    return {"attrs": dict(root.attrs), "root": root}


def dumps_attrs(attrs: dict[str, Any]) -> str:
    return json.dumps(attrs, indent=2, default=str)
