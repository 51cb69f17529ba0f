"""The sink that writes a run (or one shard of it) into its zarr store, on a writer thread.

Records are buffered into chunks of ``chunk_records`` along time. A full chunk, the
constellation totals of its steps, and a snapshot of the whole simulation state taken at
the chunk's last record go to a writer thread through a queue of depth two, so the kernel
computes the next chunk while this one is compressed and written (double buffering). The
writer writes the data first, then the checkpoint, then commits the checkpoint by
replacing its pointer file (`twin_core.store`), so a crash at any instant leaves a
consistent checkpoint to resume from.

An error on the writer thread (disk full, permission denied) is raised in the run's thread
at the next record as a `UserError`; the store stays incomplete and resumable from its last
checkpoint.
"""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path
from typing import Any, Callable

import numpy as np

from twin_core.engine import RunLayout
from twin_core.errors import UserError
from twin_core.metrics import finalize_all
from twin_core.store import read_pointer, write_pointer


class ZarrSink:
    """Write this process's satellites into an existing store (`twin_core.store.create_store`).

    Args:
        path: the store.
        shard: index of this shard (0 for an unsharded run).
        n_shards: number of shards; with one, constellation totals are combined and written
            here, with more, each shard writes its chunks' partials and the coordinator
            combines them at the end.
    """

    def __init__(self, path: str | Path, shard: int = 0, n_shards: int = 1):
        self.path = Path(path)
        self.shard, self.n_shards = shard, n_shards
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._filled = 0
        self._chunk_start = 0

    def begin(self, layout: RunLayout) -> None:
        import zarr

        self.layout = layout
        self.chunk_records = layout.plan.chunk_records
        try:
            self.root = zarr.open_group(str(self.path), mode="r+")
        except Exception as exc:  # noqa: BLE001 - any failure to open is the user's path
            raise UserError(f"cannot open {self.path} for writing: {exc}") from None
        self.sat_arrays = {v.name: self.root["sat"][v.name] for v in layout.variables}
        self.axis_cols = {}
        for v in layout.axis_variables:
            k = layout.plan.axis(v.axis).slots
            self.sat_arrays[v.name] = self.root[v.axis][v.name]
            self.axis_cols[v.name] = (slice(layout.sat_start * k, layout.sat_stop * k), k)
        self.common_arrays = {c.name: self.root["common"][c.name] for c in layout.common}
        group = "constellation" if self.n_shards == 1 else "partials"
        self.metric_arrays = {m.name: self.root[group][m.name] for m in layout.metrics}
        bounds = layout.plan.chunk_bounds
        self.chunk_cols = slice(int(np.searchsorted(bounds, layout.sat_start)),
                                int(np.searchsorted(bounds, layout.sat_stop)))
        ptr = read_pointer(self.path, self.shard)
        self.slot = "a" if ptr is None or ptr["slot"] == "b" else "b"
        self._new_buffers()
        self._thread = threading.Thread(target=self._writer, name=f"orbitwin-writer-{self.shard}", daemon=True)
        self._thread.start()

    def _new_buffers(self) -> None:
        lay, cr = self.layout, self.chunk_records
        self._sat = {v.name: np.empty((cr, lay.n) + tuple(v.shape), v.numpy_dtype) for v in lay.variables}
        for v in lay.axis_variables:
            self._sat[v.name] = np.empty((cr, lay.n * self.axis_cols[v.name][1]) + tuple(v.shape), v.numpy_dtype)
        self._common = {c.name: np.empty((cr,) + tuple(c.shape)) for c in lay.common}
        self._metric_parts: list[tuple[int, dict[str, np.ndarray]]] = []
        self._filled = 0

    # -- called by the engine -----------------------------------------------------------

    def metrics(self, first: int, partials: dict[str, np.ndarray]) -> None:
        self._metric_parts.append((first, partials))

    def record(self, index: int, sat: dict[str, np.ndarray], common: dict[str, np.ndarray],
               snapshot: Callable[[], dict[str, np.ndarray]] | None = None) -> None:
        if self._error is not None:
            raise self._wrap(self._error)
        if self._filled == 0:
            self._chunk_start = index
        j = self._filled
        for name, arr in sat.items():
            self._sat[name][j] = arr
        for name, val in common.items():
            self._common[name][j] = val
        self._filled += 1
        last = index == self.layout.n_records - 1
        if self._filled == self.chunk_records or last:
            self._flush(index, snapshot() if snapshot is not None else None)

    def _flush(self, index: int, snapshot: dict[str, np.ndarray] | None) -> None:
        item = (self._chunk_start, self._filled, self._sat, self._common, self._metric_parts, index, snapshot)
        self._queue.put(item)
        self._new_buffers()

    # -- the writer thread --------------------------------------------------------------

    def _writer(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is not None:
                continue
            try:
                self._write(*item)
            except BaseException as exc:  # reported in the run's thread
                self._error = exc

    def _write(self, start: int, count: int, sat: dict, common: dict, metric_parts: list, index: int,
               snapshot: dict[str, np.ndarray] | None) -> None:
        lay = self.layout
        rows = slice(start, start + count)
        for name, data in sat.items():
            cols = self.axis_cols[name][0] if name in self.axis_cols else slice(lay.sat_start, lay.sat_stop)
            self.sat_arrays[name][rows, cols] = data[:count]
        if self.shard == 0:
            for name, data in common.items():
                self.common_arrays[name][rows] = data[:count]
        if metric_parts:
            first = metric_parts[0][0]
            parts = {m.name: np.concatenate([p[m.name] for _f, p in metric_parts], axis=1)  # (chunks, samples)
                     for m in lay.metrics}
            values = finalize_all(lay.metrics, parts, lay.n_total) if self.n_shards == 1 else None
            for m in lay.metrics:
                span = slice(first, first + parts[m.name].shape[1])
                if values is not None:
                    self.metric_arrays[m.name][span] = values[m.name]
                else:
                    self.metric_arrays[m.name][span, self.chunk_cols] = parts[m.name].T
        if snapshot is not None:
            self._write_checkpoint(index, snapshot)

    def _write_checkpoint(self, index: int, snapshot: dict[str, np.ndarray]) -> None:
        path = checkpoint_file(self.path, self.shard, self.slot)
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(path.name + ".partial")
        with open(tmp, "wb") as f:
            np.savez(f, **snapshot)
        os.replace(tmp, path)
        write_pointer(self.path, self.shard, {"record": index, "slot": self.slot,
                                              "sat_start": self.layout.sat_start, "sat_stop": self.layout.sat_stop})
        self.slot = "b" if self.slot == "a" else "a"
        if self.n_shards == 1:  # a sharded run's coordinator keeps it current from the pointers
            self.root.attrs["records_written"] = index + 1

    def _wrap(self, exc: BaseException) -> BaseException:
        if isinstance(exc, OSError):
            return UserError(f"writing {self.path} failed: {exc.strerror or exc}; the store is incomplete and "
                             "can be resumed with --resume once the cause is fixed")
        return exc

    def _stop_writer(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def finish(self) -> None:
        self._stop_writer()
        if self._error is not None:
            raise self._wrap(self._error)

    def abort(self, error: BaseException, state: dict[str, np.ndarray] | None = None) -> None:
        """Stop the writer after what is queued; the store stays incomplete and resumable
        from its last checkpoint. ``state`` (the whole state when a variable went
        non-finite) is saved under ``failure/shard-K`` for inspection."""
        self._stop_writer()
        try:
            if self.n_shards == 1:
                self.root.attrs["error"] = f"{type(error).__name__}: {error}"
            if state is not None:
                grp = self.root.require_group("failure").require_group(f"shard-{self.shard:03d}")
                for name, data in state.items():
                    grp.create_array(name, data=data, chunks=data.shape or (1,), overwrite=True)
        except Exception:  # noqa: BLE001 - the store itself may be what failed
            pass


def checkpoint_file(path: str | Path, shard: int, slot: str) -> Path:
    """Where slot ``slot`` of shard ``shard``'s checkpoint lives (a numpy ``.npz`` of every
    variable, written to a temporary name and renamed)."""
    return Path(path) / "checkpoint" / f"shard-{shard:03d}-{slot}.npz"


def load_checkpoint(path: str | Path, shard: int) -> tuple[int, dict[str, np.ndarray]] | None:
    """``(record, {variable: values})`` of shard ``shard``'s last committed checkpoint."""
    ptr = read_pointer(path, shard)
    if ptr is None:
        return None
    with np.load(checkpoint_file(path, shard, ptr["slot"]), allow_pickle=False) as data:
        return int(ptr["record"]), {name: data[name] for name in data.files}
